//! The routes, declared once for both the router and the OpenAPI description.

mod change_email;
mod email_otp;
mod flow;
mod home;
mod meta;
mod passkey;
mod password;
mod recover;
mod sign_in;
mod totp;
mod verify;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::openapi::ApiDoc;

/// Every route; the OpenAPI document is built from the same declarations, so it cannot drift.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::terms))
        .routes(routes!(sign_in::sign_in))
        .routes(routes!(flow::current))
        .routes(routes!(flow::status))
        .routes(routes!(flow::birth_date))
        .routes(routes!(flow::terms))
        .routes(routes!(flow::email))
        .routes(routes!(flow::resend_email))
        .routes(routes!(flow::back))
        .routes(routes!(flow::method))
        .routes(routes!(flow::credentials))
        .routes(routes!(flow::sign_out))
        .routes(routes!(totp::start_enrollment))
        .routes(routes!(totp::confirm_enrollment))
        .routes(routes!(totp::verify))
        .routes(routes!(passkey::start_registration))
        .routes(routes!(passkey::finish_registration))
        .routes(routes!(passkey::start_authentication))
        .routes(routes!(passkey::finish_authentication))
        .routes(routes!(home::home))
        .routes(routes!(home::rename, home::remove))
        .routes(routes!(password::change_password))
        .routes(routes!(verify::open_link))
        // issue 5
        .routes(routes!(email_otp::send))
        .routes(routes!(email_otp::verify))
        .routes(routes!(recover::forgot_user_id))
        .routes(routes!(recover::forgot_password))
        .routes(routes!(recover::reset_password))
        .routes(routes!(change_email::change_email))
        .fallback(meta::not_found)
}

/// An audit entry of `action` by the member themselves about their own account: what almost
/// every member route writes.
fn member_audit(
    now: i64,
    member: &crate::store::Member,
    action: crate::domain::AuditAction,
    detail: impl Into<String>,
) -> crate::store::AuditEntry {
    use crate::domain::Actor;
    crate::store::AuditEntry::new(
        now,
        Actor::Member(member.id),
        action,
        Some(member.id),
        detail,
    )
}
