//! Staff enrolment: the one-time code an admin handed over opens an enrolment; the staff member
//! then sets a password and adds an authenticator app (a code from it confirms it), and the
//! enrolment becomes the signed-in session. The code is used up only when all of it succeeded.

use axum::extract::State;
use zeroize::Zeroizing;

use crate::api::staff::{
    StaffEnrolmentFinishRequest, StaffEnrolmentRequest, StaffEnrolmentStarted, StaffMe, StaffPhase,
};
use crate::api::{ApiError, TotpEnrollment};
use crate::domain::email_code::hashes_match;
use crate::domain::staff::{self, EnrolmentCodeState, normalize_enrolment_code, normalize_login};
use crate::domain::totp::{self, CodeCheck};
use crate::domain::{AuditAction, TotpSecret, password};
use crate::server::AppState;
use crate::server::client_addr::ClientAddr;
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::staff_auth::{AnyStaffSession, me_of, new_staff_token};
use crate::server::staff_enrolment::code_hash;
use crate::server::totp::{open_staff_secret, staff_seal_context, unix};
use crate::store::{StaffEnrolment, StaffSessionRecord, StoreError};

use super::{failed, refuse_code, reserve, staff_audit};

/// The default name of a staff member's authenticator app.
const DEFAULT_DEVICE_NAME: &str = "authenticator";

/// Opens an enrolment with the login and the one-time code from `tobira admin staff add` or
/// `reset`, and starts adding an authenticator app. A wrong, used or expired code and an
/// unknown login get the same answer; each try counts against the login like a wrong password.
#[utoipa::path(post, path = "/api/v1/staff/enrolment", tag = "staff", request_body = StaffEnrolmentRequest,
    responses(
        (status = 200, description = "the enrolment token and the authenticator app to set up", body = StaffEnrolmentStarted),
        (status = 401, description = "invalid_enrolment_code (unknown login; wrong, used or expired code; a disabled account)", body = ApiError),
        (status = 422, description = "bad_request", body = ApiError),
        (status = 423, description = "account_held", body = ApiError),
        (status = 429, description = "rate_limited", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn start(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<StaffEnrolmentRequest>,
) -> Result<ApiJson<StaffEnrolmentStarted>, AppError> {
    let now = state.clock.now();
    let store = &state.store;
    let login = normalize_login(&req.login);
    let typed = Zeroizing::new(req.enrolment_code);
    let attempt = reserve(&state, &addr, &login, now).await?;
    let account = store.staff_by_login(&login).await?;
    let mut usable_until = None;
    if let (Some(a), Some(code)) = (
        &account,
        normalize_enrolment_code(&typed).map(Zeroizing::new),
    ) && let Some(record) = store.staff_enrolment_code(a.id).await?
    {
        let status = staff::status(
            a.enabled,
            a.password_hash.is_some(),
            store.staff_factor_count(a.id).await?,
        );
        let right = hashes_match(
            &record.code_hash,
            &code_hash(&state.secret_key, &login, &code),
        );
        let live = staff::enrolment_code_state(record.expires_at, record.used_at, now)
            == EnrolmentCodeState::Usable;
        if right && live && staff::may_enrol(status) {
            usable_until = Some(record.expires_at);
        }
    }
    let (Some(account), Some(code_expires_at)) = (account.clone(), usable_until) else {
        let why = format!("wrong enrolment code from {addr}");
        failed(&state, attempt, account.as_ref(), &why, now).await?;
        return Err(AppError::invalid_enrolment_code());
    };
    attempt.succeeded(&state).await?;

    let policy = &state.settings.totp;
    let params = policy.params();
    let secret = TotpSecret::from_bytes(totp_rs::Secret::generate().as_bytes().to_vec());
    let sealed = state
        .secret_key
        .seal(secret.as_bytes(), &staff_seal_context(account.id))?;
    let sessions = state.settings.staff;
    let absolute = sessions.absolute_end(now);
    let (token, token_hash) = new_staff_token()?;
    let session = StaffSessionRecord {
        token_hash,
        staff_id: account.id,
        phase: StaffPhase::Enrolling,
        pending_secret: Some(sealed),
        created_at: now,
        last_seen_at: now,
        expires_at: sessions.pending_expiry(now, absolute.min(code_expires_at)),
        absolute_expires_at: absolute,
    };
    let audit = staff_audit(
        now,
        &account,
        AuditAction::StaffEnrolmentStarted,
        format!("from {addr}"),
    );
    store.start_staff_enrolment(&session, &audit).await?;
    let otpauth_uri = totp::otpauth_uri(&params, &secret, &policy.issuer, &account.login)?;
    Ok(ApiJson(StaffEnrolmentStarted {
        token,
        totp: TotpEnrollment {
            otpauth_uri,
            secret: secret.to_base32(),
            issuer: policy.issuer.clone(),
            account: account.login.clone(),
            algorithm: params.algorithm,
            digits: params.digits,
            period_secs: params.period_secs,
        },
        expires_in_secs: u64::try_from(session.expires_at - now).unwrap_or(0),
    }))
}

/// Finishes the enrolment: the password (the members' rules) and a code from the new
/// authenticator app. The code is used up, the app registered and the session signed in, all
/// at once; a wrong app code counts against the login.
#[utoipa::path(post, path = "/api/v1/staff/enrolment/finish", tag = "staff", security(("staff" = [])),
    request_body = StaffEnrolmentFinishRequest,
    responses(
        (status = 200, description = "enrolled and signed in", body = StaffMe),
        (status = 401, description = "staff_session_expired (no enrolment token, or it timed out); invalid_enrolment_code (the code was used or expired meanwhile)", body = ApiError),
        (status = 403, description = "too_many_attempts: the login is now held and the enrolment ended", body = ApiError),
        (status = 409, description = "out_of_order: this session is not an enrolment", body = ApiError),
        (status = 422, description = "weak_password, invalid_device_name, wrong_code, bad_request", body = ApiError),
        (status = 423, description = "account_held", body = ApiError),
        (status = 429, description = "rate_limited", body = ApiError),
        (status = 503, description = "server_busy: every password worker is busy", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn finish(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    AnyStaffSession(cur): AnyStaffSession,
    ApiJson(req): ApiJson<StaffEnrolmentFinishRequest>,
) -> Result<ApiJson<StaffMe>, AppError> {
    let Some(sealed) = cur
        .session
        .pending_secret
        .clone()
        .filter(|_| cur.session.phase == StaffPhase::Enrolling)
    else {
        return Err(AppError::api(
            crate::api::ErrorCode::OutOfOrder,
            "This staff session is not an enrolment",
        ));
    };
    let new_password = Zeroizing::new(req.password);
    password::check(&new_password)?;
    let device_name = totp::device_name(
        req.device_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(DEFAULT_DEVICE_NAME),
    )?;
    let code = Zeroizing::new(req.code);
    let now = state.clock.now();
    let account = &cur.account;
    let attempt = reserve(&state, &addr, &account.login, now).await?;
    let secret = open_staff_secret(&state.secret_key, account.id, &sealed)?;
    let params = state.settings.totp.params();
    let outcome = totp::check_window(
        &state.settings.totp,
        &params,
        &secret,
        &code,
        unix(now),
        None,
    )?
    .unwrap_or(CodeCheck::Wrong);
    let CodeCheck::Accepted { step } = outcome else {
        let why = format!("wrong authenticator code at staff enrolment from {addr}");
        return Err(refuse_code(&state, attempt, account, outcome, &why, now).await);
    };
    let password_hash = state.hasher.hash(new_password.to_string()).await?;
    let expires_at = state
        .settings
        .staff
        .idle_expiry(cur.session.absolute_expires_at, now);
    let enrolment = StaffEnrolment {
        token_hash: cur.session.token_hash.clone(),
        password_hash,
        device_name: device_name.clone(),
        sealed_secret: sealed,
        params,
        step,
        expires_at,
        at: now,
        audit: staff_audit(
            now,
            account,
            AuditAction::StaffEnrolled,
            format!("from {addr}; authenticator {device_name:?}"),
        ),
    };
    let account = match state.store.finish_staff_enrolment(&enrolment).await {
        Ok(account) => account,
        Err(StoreError::NoEnrollment) => {
            attempt.succeeded(&state).await?;
            return Err(AppError::invalid_enrolment_code());
        }
        Err(e) => return Err(e.into()),
    };
    attempt.succeeded(&state).await?;
    let session = StaffSessionRecord {
        phase: StaffPhase::Active,
        pending_secret: None,
        last_seen_at: now,
        expires_at,
        ..cur.session
    };
    Ok(ApiJson(me_of(&account, &session, &state)))
}
