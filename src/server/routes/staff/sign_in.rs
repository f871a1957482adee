//! Staff sign-in: the login and password, then a code from the staff member's authenticator app.
//! The password opens a half-done session that only the code can finish.

use axum::extract::State;
use zeroize::Zeroizing;

use crate::api::ApiError;
use crate::api::staff::{
    StaffCodeRequest, StaffFactorKind, StaffMe, StaffPhase, StaffSignInRequest, StaffSignInResponse,
};
use crate::domain::AuditAction;
use crate::domain::staff::{self, normalize_login};
use crate::domain::totp::CodeCheck;
use crate::server::AppState;
use crate::server::client_addr::ClientAddr;
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::staff_auth::{AnyStaffSession, me_of, new_staff_token};
use crate::store::{StaffSecondFactor, StaffSessionRecord, ThrottleScope};

use super::{check_staff_code, failed, refuse_code, reserve, staff_audit};

/// Staff sign-in, first half: the login and password. An unknown login, a wrong password, a
/// disabled account and one that has not finished its enrolment all get the same answer.
#[utoipa::path(post, path = "/api/v1/staff/sign-in", tag = "staff", request_body = StaffSignInRequest,
    responses(
        (status = 200, description = "phase second_factor: send a code to /api/v1/staff/sign-in/verify with this token", body = StaffSignInResponse),
        (status = 401, description = "invalid_credentials (unknown login, wrong password, disabled or not enrolled)", body = ApiError),
        (status = 422, description = "bad_request", body = ApiError),
        (status = 423, description = "account_held: held after repeated failures (`[lockout.account] lock_after`); `tobira admin staff reset` lifts it", body = ApiError),
        (status = 429, description = "rate_limited: too many failures for this login or from this address", body = ApiError),
        (status = 503, description = "server_busy: every password worker is busy", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<StaffSignInRequest>,
) -> Result<ApiJson<StaffSignInResponse>, AppError> {
    let now = state.clock.now();
    let store = &state.store;
    let login = normalize_login(&req.login);
    let attempt = reserve(&state, &addr, &login, now).await?;
    let account = store.staff_by_login(&login).await?;
    let status = match &account {
        Some(a) => Some(staff::status(
            a.enabled,
            a.password_hash.is_some(),
            store.staff_factor_count(a.id).await?,
        )),
        None => None,
    };
    let hash = match (&account, status) {
        (Some(a), Some(s)) if staff::may_sign_in(s) => a.password_hash.clone(),
        _ => None,
    };
    // Every refusal costs one argon2 check, so timing does not tell which kind it was.
    let (phc, real) = match hash {
        Some(phc) => (phc, true),
        None => (state.decoy_hash().await?, false),
    };
    let matches = state.hasher.verify(req.password, phc).await? && real;
    let account = match account {
        Some(a) if matches => a,
        other => {
            let why = format!("wrong password at staff sign-in from {addr}");
            failed(&state, attempt, other.as_ref(), &why, now).await?;
            return Err(AppError::invalid_credentials().without_step());
        }
    };
    attempt.succeeded(&state).await?;
    // Held by failures at the code: told only to whoever knows the password.
    if state
        .settings
        .lockout
        .account
        .locks(store.failures(ThrottleScope::Staff, &login).await?)
    {
        return Err(AppError::account_held().without_step());
    }
    let policy = state.settings.staff;
    let absolute = policy.absolute_end(now);
    let (token, token_hash) = new_staff_token()?;
    let session = StaffSessionRecord {
        token_hash,
        staff_id: account.id,
        phase: StaffPhase::SecondFactor,
        pending_secret: None,
        created_at: now,
        last_seen_at: now,
        expires_at: policy.pending_expiry(now, absolute),
        absolute_expires_at: absolute,
    };
    let audit = staff_audit(
        now,
        &account,
        AuditAction::StaffPasswordAccepted,
        format!("from {addr}; second factor owed"),
    );
    store.start_staff_session(&session, &audit).await?;
    let mut second_factors = Vec::new();
    if !store.staff_totp_credentials(account.id).await?.is_empty() {
        second_factors.push(StaffFactorKind::AuthenticatorApp);
    }
    if !store.staff_passkeys(account.id).await?.is_empty() {
        second_factors.push(StaffFactorKind::Passkey);
    }
    Ok(ApiJson(StaffSignInResponse {
        token,
        phase: StaffPhase::SecondFactor,
        expires_in_secs: u64::try_from(session.expires_at - now).unwrap_or(0),
        second_factors,
    }))
}

/// Staff sign-in, second half: a code from the staff member's authenticator app. Each code
/// works once; the session is then signed in for the shift.
#[utoipa::path(post, path = "/api/v1/staff/sign-in/verify", tag = "staff", security(("staff" = [])),
    request_body = StaffCodeRequest,
    responses(
        (status = 200, description = "signed in", body = StaffMe),
        (status = 401, description = "staff_session_expired: no staff token, a member's token, or the half-done sign-in timed out", body = ApiError),
        (status = 403, description = "too_many_attempts: the login is now held and the session ended", body = ApiError),
        (status = 409, description = "out_of_order: this session is not waiting for a code", body = ApiError),
        (status = 422, description = "wrong_code, code_used, bad_request", body = ApiError),
        (status = 423, description = "account_held", body = ApiError),
        (status = 429, description = "rate_limited", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn verify(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    AnyStaffSession(cur): AnyStaffSession,
    ApiJson(req): ApiJson<StaffCodeRequest>,
) -> Result<ApiJson<StaffMe>, AppError> {
    if cur.session.phase != StaffPhase::SecondFactor {
        return Err(AppError::api(
            crate::api::ErrorCode::OutOfOrder,
            "This staff session is not waiting for an authenticator code",
        ));
    }
    let code = Zeroizing::new(req.code);
    let now = state.clock.now();
    let account = &cur.account;
    let attempt = reserve(&state, &addr, &account.login, now).await?;
    let credentials = state.store.staff_totp_credentials(account.id).await?;
    let (outcome, matched) = check_staff_code(&state, &credentials, &code, now)?;
    let outcome = match (outcome, matched) {
        (CodeCheck::Accepted { step }, Some(cred)) => {
            let expires_at = state
                .settings
                .staff
                .idle_expiry(cur.session.absolute_expires_at, now);
            let pass = StaffSecondFactor {
                token_hash: cur.session.token_hash.clone(),
                credential_id: cred.id,
                step,
                expires_at,
                at: now,
                audit: staff_audit(
                    now,
                    account,
                    AuditAction::StaffSignIn,
                    format!("from {addr} with authenticator {:?}", cred.name),
                ),
            };
            if state.store.pass_staff_second_factor(&pass).await? {
                attempt.succeeded(&state).await?;
                let session = StaffSessionRecord {
                    phase: StaffPhase::Active,
                    last_seen_at: now,
                    expires_at,
                    ..cur.session.clone()
                };
                return Ok(ApiJson(me_of(account, &session, &state)));
            }
            // Another request used this step a moment ago.
            CodeCheck::Replayed
        }
        (other, _) => other,
    };
    let why = format!("wrong authenticator code at staff sign-in from {addr}");
    Err(refuse_code(&state, attempt, account, outcome, &why, now).await)
}
