//! The signed-in staff member: who they are, signing out, and (admins only) the staff accounts.

use axum::extract::State;

use crate::api::ApiError;
use crate::api::staff::{StaffAccounts, StaffMe, StaffRole, StaffSignedOut};
use crate::domain::AuditAction;
use crate::server::AppState;
use crate::server::client_addr::ClientAddr;
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::staff_auth::{AnyStaffSession, StaffSession, account_views};

use super::staff_audit;

/// The signed-in staff member and the session's lifetimes (using it extends the idle timeout,
/// never past the end of the shift).
#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff", security(("staff" = [])),
    responses(
        (status = 200, body = StaffMe),
        (status = 401, description = "staff_session_expired: no staff token, a member's token, a half-done sign-in, or the session timed out, ended or reached the end of the shift", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn me(State(state): State<AppState>, cur: StaffSession) -> ApiJson<StaffMe> {
    ApiJson(cur.me(&state))
}

/// Ends the staff session (or the half-done sign-in or enrolment) of the token.
#[utoipa::path(post, path = "/api/v1/staff/sign-out", tag = "staff", security(("staff" = [])),
    responses(
        (status = 200, body = StaffSignedOut),
        (status = 401, description = "staff_session_expired: no live staff session", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn sign_out(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    AnyStaffSession(cur): AnyStaffSession,
) -> Result<ApiJson<StaffSignedOut>, AppError> {
    let now = state.clock.now();
    let audit = staff_audit(
        now,
        &cur.account,
        AuditAction::StaffSignOut,
        format!("from {addr}"),
    );
    state
        .store
        .end_staff_session(&cur.session.token_hash, Some(&audit))
        .await?;
    Ok(ApiJson(StaffSignedOut { signed_out: true }))
}

/// Every staff account (admins only): login, name, role, status, how many authenticator apps.
/// Never a hash, a secret or a code.
#[utoipa::path(get, path = "/api/v1/staff/accounts", tag = "staff", security(("staff" = [])),
    responses(
        (status = 200, body = StaffAccounts),
        (status = 401, description = "staff_session_expired", body = ApiError),
        (status = 403, description = "insufficient_role: only admins see staff accounts", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn accounts(
    State(state): State<AppState>,
    cur: StaffSession,
) -> Result<ApiJson<StaffAccounts>, AppError> {
    cur.require(StaffRole::Admin)?;
    let accounts = account_views(state.store.as_ref()).await?;
    Ok(ApiJson(StaffAccounts { accounts }))
}
