//! Passkeys as the staff's second factor: chosen instead of the authenticator app at the
//! enrolment, and asked for after the password at sign-in. The WebAuthn ceremony is the
//! members' (`routes::passkey`, webauthn-rs) with the staff member's own credentials, user
//! handle and ceremony table; a refused answer counts against the login like a wrong code,
//! its attempt reserved before the check.

use axum::extract::State;
use webauthn_rs::prelude::{Passkey, PasskeyAuthentication, PasskeyRegistration, WebauthnError};
use zeroize::Zeroizing;

use crate::api::staff::{StaffMe, StaffPasskeyEnrolmentFinish, StaffPhase};
use crate::api::{
    ApiError, ErrorCode, PasskeyAuthenticationFinish, PasskeyAuthenticationStart,
    PasskeyRegistrationStart,
};
use crate::domain::passkey::CEREMONY_TTL_SECS;
use crate::domain::totp::device_name;
use crate::domain::{AuditAction, password};
use crate::server::AppState;
use crate::server::client_addr::ClientAddr;
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::passkey::{credential_key, staff_user_handle};
use crate::server::staff_auth::{AnyStaffSession, StaffSession, me_of};
use crate::store::{
    CeremonyKind, StaffAccount, StaffPasskeyCeremony, StaffPasskeyCredential,
    StaffPasskeyEnrolment, StaffPasskeyUse, StaffSessionRecord, StoreError,
};

use super::super::attempts::Attempt;
use super::super::passkey::{ceremony_expired, corrupt, rejected, relying_party};
use super::{failed, reserve, staff_audit};

/// The default name of a staff member's passkey.
const DEFAULT_PASSKEY_NAME: &str = "passkey";

/// Refuses unless the session is in `phase`.
fn require_phase(cur: &StaffSession, phase: StaffPhase, what: &str) -> Result<(), AppError> {
    if cur.session.phase == phase {
        Ok(())
    } else {
        Err(AppError::api(ErrorCode::OutOfOrder, what))
    }
}

/// The staff member's passkeys, read back into webauthn-rs's type.
async fn stored(
    state: &AppState,
    account: &StaffAccount,
) -> Result<Vec<(StaffPasskeyCredential, Passkey)>, AppError> {
    state
        .store
        .staff_passkeys(account.id)
        .await?
        .into_iter()
        .map(|c| {
            let pk: Passkey =
                serde_json::from_str(&c.passkey).map_err(|e| corrupt("passkey", e))?;
            Ok((c, pk))
        })
        .collect()
}

/// Keeps a ceremony's server half with the session until its second request.
async fn save_ceremony(
    state: &AppState,
    cur: &StaffSession,
    kind: CeremonyKind,
    ceremony: &impl serde::Serialize,
) -> Result<(), AppError> {
    let now = state.clock.now();
    state
        .store
        .save_staff_passkey_ceremony(&StaffPasskeyCeremony {
            token_hash: cur.session.token_hash.clone(),
            kind,
            staff_id: cur.account.id,
            state: serde_json::to_string(ceremony).map_err(|e| corrupt("ceremony", e))?,
            created_at: now,
            expires_at: now.saturating_add(CEREMONY_TTL_SECS),
        })
        .await?;
    Ok(())
}

/// Takes the session's open ceremony of `kind` out (it is finished once).
async fn take_ceremony<T: serde::de::DeserializeOwned>(
    state: &AppState,
    cur: &StaffSession,
    kind: CeremonyKind,
) -> Result<T, AppError> {
    let ceremony = state
        .store
        .take_staff_passkey_ceremony(&cur.session.token_hash, kind, state.clock.now())
        .await?
        .ok_or_else(ceremony_expired)?;
    serde_json::from_str(&ceremony.state).map_err(|e| corrupt("ceremony", e))
}

/// Leaves a refused answer's reserved attempt counted (and audited); one that brings the login
/// to the hold ends its sessions and answers `too_many_attempts`.
async fn refuse(
    state: &AppState,
    attempt: Attempt,
    account: &StaffAccount,
    e: &WebauthnError,
    why: &str,
) -> AppError {
    match failed(state, attempt, Some(account), why, state.clock.now()).await {
        Ok(true) => AppError::too_many_attempts().without_step(),
        Ok(false) => rejected(e),
        Err(err) => err,
    }
}

/// Enrolment with a passkey instead of an authenticator app: the options for the
/// authenticator (after `POST /api/v1/staff/enrolment`, with its token).
#[utoipa::path(post, path = "/api/v1/staff/enrolment/passkey", tag = "staff", security(("staff" = [])),
    responses(
        (status = 200, body = PasskeyRegistrationStart),
        (status = 401, description = "staff_session_expired", body = ApiError),
        (status = 409, description = "out_of_order: this session is not an enrolment", body = ApiError),
        (status = 503, description = "passkey_unavailable", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn enrol_start(
    State(state): State<AppState>,
    AnyStaffSession(cur): AnyStaffSession,
) -> Result<ApiJson<PasskeyRegistrationStart>, AppError> {
    require_phase(
        &cur,
        StaffPhase::Enrolling,
        "This staff session is not an enrolment",
    )?;
    let rp = relying_party(&state)?;
    let login = &cur.account.login;
    let (options, reg) = rp
        .start_passkey_registration(staff_user_handle(cur.account.id), login, login, None)
        .map_err(|e| AppError::Internal(format!("staff passkey registration start: {e}")))?;
    save_ceremony(&state, &cur, CeremonyKind::Registration, &reg).await?;
    Ok(ApiJson(PasskeyRegistrationStart {
        options,
        expires_in_secs: CEREMONY_TTL_SECS as u64,
    }))
}

/// Finishes an enrolment with a passkey: the new password and the authenticator's answer. The
/// enrolment code is used up, the passkey registered and the session signed in, all at once.
#[utoipa::path(post, path = "/api/v1/staff/enrolment/passkey/finish", tag = "staff", security(("staff" = [])),
    request_body = StaffPasskeyEnrolmentFinish,
    responses(
        (status = 200, description = "enrolled and signed in", body = StaffMe),
        (status = 401, description = "staff_session_expired; invalid_enrolment_code (the code was used or expired meanwhile)", body = ApiError),
        (status = 403, description = "too_many_attempts: the login is now held and the enrolment ended", body = ApiError),
        (status = 409, description = "out_of_order, ceremony_expired, passkey_taken", body = ApiError),
        (status = 422, description = "weak_password, invalid_device_name, passkey_rejected, bad_request", body = ApiError),
        (status = 423, description = "account_held", body = ApiError),
        (status = 429, description = "rate_limited", body = ApiError),
        (status = 503, description = "passkey_unavailable; server_busy", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn enrol_finish(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    AnyStaffSession(cur): AnyStaffSession,
    ApiJson(req): ApiJson<StaffPasskeyEnrolmentFinish>,
) -> Result<ApiJson<StaffMe>, AppError> {
    require_phase(
        &cur,
        StaffPhase::Enrolling,
        "This staff session is not an enrolment",
    )?;
    let rp = relying_party(&state)?;
    let new_password = Zeroizing::new(req.password);
    password::check(&new_password)?;
    let name = device_name(
        req.name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(DEFAULT_PASSKEY_NAME),
    )?;
    let reg: PasskeyRegistration = take_ceremony(&state, &cur, CeremonyKind::Registration).await?;
    let now = state.clock.now();
    let account = &cur.account;
    let attempt = reserve(&state, &addr, &account.login, now).await?;
    let passkey = match rp.finish_passkey_registration(&req.credential, &reg) {
        Ok(p) => p,
        Err(e) => {
            let why = format!("refused passkey at staff enrolment from {addr}");
            return Err(refuse(&state, attempt, account, &e, &why).await);
        }
    };
    let password_hash = state.hasher.hash(new_password.to_string()).await?;
    let expires_at = state
        .settings
        .staff
        .idle_expiry(cur.session.absolute_expires_at, now);
    let enrolment = StaffPasskeyEnrolment {
        token_hash: cur.session.token_hash.clone(),
        password_hash,
        name: name.clone(),
        credential_id: credential_key(&passkey),
        passkey: serde_json::to_string(&passkey).map_err(|e| corrupt("passkey", e))?,
        expires_at,
        at: now,
        audit: staff_audit(
            now,
            account,
            AuditAction::StaffEnrolled,
            format!("from {addr}; passkey {name:?}"),
        ),
    };
    let done = state.store.finish_staff_enrolment_passkey(&enrolment).await;
    attempt.succeeded(&state).await?;
    let account = match done {
        Ok(account) => account,
        Err(StoreError::NoEnrollment) => return Err(AppError::invalid_enrolment_code()),
        Err(e) => return Err(e.into()),
    };
    let session = StaffSessionRecord {
        phase: StaffPhase::Active,
        pending_secret: None,
        last_seen_at: now,
        expires_at,
        ..cur.session
    };
    Ok(ApiJson(me_of(&account, &session, &state)))
}

/// Staff sign-in with a passkey after the password: the options for the authenticator (the
/// staff member's own passkeys only).
#[utoipa::path(post, path = "/api/v1/staff/sign-in/passkey", tag = "staff", security(("staff" = [])),
    responses(
        (status = 200, body = PasskeyAuthenticationStart),
        (status = 401, description = "staff_session_expired", body = ApiError),
        (status = 409, description = "out_of_order: this session is not waiting for a second factor; no_passkey", body = ApiError),
        (status = 503, description = "passkey_unavailable", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn sign_in_start(
    State(state): State<AppState>,
    AnyStaffSession(cur): AnyStaffSession,
) -> Result<ApiJson<PasskeyAuthenticationStart>, AppError> {
    require_phase(
        &cur,
        StaffPhase::SecondFactor,
        "This staff session is not waiting for a second factor",
    )?;
    let rp = relying_party(&state)?;
    let passkeys: Vec<Passkey> = stored(&state, &cur.account)
        .await?
        .into_iter()
        .map(|(_, pk)| pk)
        .collect();
    if passkeys.is_empty() {
        return Err(AppError::api(
            ErrorCode::NoPasskey,
            "You have no passkey; use your authenticator app",
        ));
    }
    let (options, auth) = rp
        .start_passkey_authentication(&passkeys)
        .map_err(|e| AppError::Internal(format!("staff passkey authentication start: {e}")))?;
    save_ceremony(&state, &cur, CeremonyKind::Authentication, &auth).await?;
    Ok(ApiJson(PasskeyAuthenticationStart {
        options,
        expires_in_secs: CEREMONY_TTL_SECS as u64,
    }))
}

/// Finishes the staff sign-in with the authenticator's answer: the session is signed in for
/// the shift. A refused answer counts against the login.
#[utoipa::path(post, path = "/api/v1/staff/sign-in/passkey/finish", tag = "staff", security(("staff" = [])),
    request_body = PasskeyAuthenticationFinish,
    responses(
        (status = 200, description = "signed in", body = StaffMe),
        (status = 401, description = "staff_session_expired", body = ApiError),
        (status = 403, description = "too_many_attempts: the login is now held and the session ended", body = ApiError),
        (status = 409, description = "out_of_order, ceremony_expired", body = ApiError),
        (status = 422, description = "passkey_rejected, bad_request", body = ApiError),
        (status = 423, description = "account_held", body = ApiError),
        (status = 429, description = "rate_limited", body = ApiError),
        (status = 503, description = "passkey_unavailable", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn sign_in_finish(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    AnyStaffSession(cur): AnyStaffSession,
    ApiJson(req): ApiJson<PasskeyAuthenticationFinish>,
) -> Result<ApiJson<StaffMe>, AppError> {
    require_phase(
        &cur,
        StaffPhase::SecondFactor,
        "This staff session is not waiting for a second factor",
    )?;
    let rp = relying_party(&state)?;
    let auth: PasskeyAuthentication =
        take_ceremony(&state, &cur, CeremonyKind::Authentication).await?;
    let now = state.clock.now();
    let account = &cur.account;
    let attempt = reserve(&state, &addr, &account.login, now).await?;
    let why = format!("refused passkey at staff sign-in from {addr}");
    let result = match rp.finish_passkey_authentication(&req.credential, &auth) {
        Ok(r) => r,
        Err(e) => return Err(refuse(&state, attempt, account, &e, &why).await),
    };
    let Some((cred, mut passkey)) = stored(&state, account)
        .await?
        .into_iter()
        .find(|(_, pk)| pk.cred_id() == result.cred_id())
    else {
        // Removed (a reset) between the two requests.
        let e = WebauthnError::CredentialNotFound;
        return Err(refuse(&state, attempt, account, &e, &why).await);
    };
    let changed = passkey.update_credential(&result) == Some(true);
    let expires_at = state
        .settings
        .staff
        .idle_expiry(cur.session.absolute_expires_at, now);
    let used = StaffPasskeyUse {
        token_hash: cur.session.token_hash.clone(),
        credential: cred.id,
        passkey: changed
            .then(|| serde_json::to_string(&passkey))
            .transpose()
            .map_err(|e| corrupt("passkey", e))?,
        expires_at,
        at: now,
        audit: staff_audit(
            now,
            account,
            AuditAction::StaffSignIn,
            format!("from {addr} with passkey {:?}", cred.name),
        ),
    };
    let passed = state.store.pass_staff_passkey(&used).await?;
    attempt.succeeded(&state).await?;
    if !passed {
        // Another request finished this sign-in a moment ago.
        return Err(AppError::api(
            ErrorCode::OutOfOrder,
            "This staff session is not waiting for a second factor",
        ));
    }
    let session = StaffSessionRecord {
        phase: StaffPhase::Active,
        last_seen_at: now,
        expires_at,
        ..cur.session.clone()
    };
    Ok(ApiJson(me_of(account, &session, &state)))
}
