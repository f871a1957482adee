//! The routes, declared once for both the router and the OpenAPI description.

mod attempts;
mod change_email;
mod email_otp;
mod flow;
mod home;
mod meta;
mod passkey;
mod password;
mod recover;
mod sign_in;
mod staff;
mod step_up;
mod totp;
mod verify;

use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::openapi::ApiDoc;

/// The largest request body of most routes: the biggest JSON request (a password change, an
/// email address) is well under 1 KiB.
pub const BODY_LIMIT: usize = 16 * 1024;
/// The largest body of the passkey routes: an attestation with its certificate chain.
pub const PASSKEY_BODY_LIMIT: usize = 64 * 1024;

/// Every route; the OpenAPI document is built from the same declarations, so it cannot drift.
pub fn router() -> OpenApiRouter<AppState> {
    // Bodies past the limit are refused (413) before they are read whole.
    let passkey = OpenApiRouter::new()
        .routes(routes!(passkey::start_registration))
        .routes(routes!(passkey::finish_registration))
        .routes(routes!(passkey::start_authentication))
        .routes(routes!(passkey::finish_authentication))
        .routes(routes!(staff::passkey::enrol_start))
        .routes(routes!(staff::passkey::enrol_finish))
        .routes(routes!(staff::passkey::sign_in_start))
        .routes(routes!(staff::passkey::sign_in_finish))
        .layer(DefaultBodyLimit::max(PASSKEY_BODY_LIMIT));
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::terms))
        .routes(routes!(meta::portal))
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
        .routes(routes!(home::home))
        .routes(routes!(home::rename, home::remove))
        .routes(routes!(password::change_password))
        .routes(routes!(step_up::step_up))
        .routes(routes!(verify::open_link, verify::confirm_link))
        // issue 5
        .routes(routes!(email_otp::send))
        .routes(routes!(email_otp::verify))
        .routes(routes!(recover::forgot_user_id))
        .routes(routes!(recover::forgot_password))
        .routes(routes!(recover::reset_password))
        .routes(routes!(change_email::change_email))
        // issue 13
        .routes(routes!(staff::enrol::start))
        .routes(routes!(staff::enrol::finish))
        .routes(routes!(staff::sign_in::sign_in))
        .routes(routes!(staff::sign_in::verify))
        .routes(routes!(staff::session::sign_out))
        .routes(routes!(staff::session::me))
        .routes(routes!(staff::session::accounts))
        .routes(routes!(staff::search::search))
        .routes(routes!(staff::case::member_case))
        .routes(routes!(staff::verify::verify))
        .routes(routes!(staff::actions::act))
        .routes(routes!(home::helpdesk_code))
        .routes(routes!(staff::events::member_events))
        .routes(routes!(staff::audit::audit))
        // issue 17
        .routes(routes!(meta::readyz))
        .routes(routes!(meta::metrics))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .merge(passkey)
        .fallback(meta::not_found);
    describe_body_limits(router.get_openapi_mut());
    crate::api::constraints::apply(
        router.get_openapi_mut(),
        &crate::api::constraints::Context::now(),
    );
    router
}

/// Every operation that takes a body can answer 413: say so in the description.
fn describe_body_limits(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            if op.request_body.is_none() {
                continue;
            }
            let too_large = ResponseBuilder::new()
                .description("payload_too_large: the body is over the route's limit")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ApiError")))
                        .build(),
                )
                .build();
            op.responses
                .responses
                .entry("413".to_owned())
                .or_insert(too_large.into());
        }
    }
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
