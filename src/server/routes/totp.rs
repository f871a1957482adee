//! Authenticator apps (TOTP): enrollment at method set-up or from the top screen, and the code
//! asked for after the password at sign-in.

use axum::extract::State;

use crate::api::{
    ErrorCode, FlowView, Method, Step, TotpConfirmRequest, TotpEnrollment, TotpVerifyRequest,
};
use crate::domain::AuditAction;
use crate::domain::totp::{self, CodeCheck, MAX_DEVICES};
use crate::domain::{Action, TotpSecret, Verdict, flow::transition};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow, view_of};
use crate::server::totp::{check_devices, open_secret, seal_context, unix};
use crate::store::{PendingTotp, ThrottleScope, TotpConfirmation, TotpUse};

use super::attempts::{Attempt, reserve_for_member};
use super::member_audit;
use super::step_up::require_step_up;
use crate::server::client_addr::ClientAddr;

/// Whether this flow may enroll a device: at method set-up with the app chosen, or at the top
/// screen once the second factor of this flow has been proved. Returns the step change, if any.
fn enrollment_allowed(cur: &CurrentFlow) -> Result<Option<(Step, Step)>, AppError> {
    match cur.step() {
        Step::MethodSetup if cur.member.method == Some(Method::TotpApp) => {
            let to = transition(Step::MethodSetup, Action::MethodEnrolled)
                .map_err(|e| AppError::out_of_order(e.current))?;
            Ok(Some((Step::MethodSetup, to)))
        }
        Step::Home => Ok(None),
        other => Err(AppError::out_of_order(other)),
    }
}

/// Starts adding an authenticator app, or shows the one already being added (the same secret
/// until it is confirmed, so leaving and re-entering the screen shows the same QR code).
#[utoipa::path(post, path = "/api/v1/totp/enrollment", tag = "second-factor", security(("flow" = [])),
    responses((status = 200, body = TotpEnrollment),
        (status = 403, description = "step_up_required: prove it is you again (POST /api/v1/step-up) when the last proof is older than the step-up window", body = crate::api::ApiError),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 409, description = "out_of_order, too_many_devices", body = crate::api::ApiError)))]
pub async fn start_enrollment(
    State(state): State<AppState>,
    cur: CurrentFlow,
) -> Result<ApiJson<TotpEnrollment>, AppError> {
    enrollment_allowed(&cur)?;
    require_step_up(&state, &cur).await?;
    let store = &state.store;
    if store.totp_credentials(cur.member.id).await?.len() >= MAX_DEVICES {
        return Err(crate::store::StoreError::TooManyDevices.into());
    }
    let policy = &state.settings.totp;
    let now = state.clock.now();
    let fresh = TotpSecret::from_bytes(totp_rs::Secret::generate().as_bytes().to_vec());
    let candidate = PendingTotp {
        member_id: cur.member.id,
        sealed_secret: state
            .secret_key
            .seal(fresh.as_bytes(), &seal_context(cur.member.id))?,
        params: policy.params(),
        created_at: now,
    };
    // Audited only when this request started it, in the same transaction.
    let pending = store
        .start_totp_enrollment_audited(
            &candidate,
            &member_audit(now, &cur.member, AuditAction::TotpEnrollmentStarted, ""),
        )
        .await?;
    let secret = open_secret(&state.secret_key, cur.member.id, &pending.sealed_secret)?;
    let account = cur.member.user_id.clone();
    let otpauth_uri = totp::otpauth_uri(&pending.params, &secret, &policy.issuer, &account)?;
    Ok(ApiJson(TotpEnrollment {
        otpauth_uri,
        secret: secret.to_base32(),
        issuer: policy.issuer.clone(),
        account,
        algorithm: pending.params.algorithm,
        digits: pending.params.digits,
        period_secs: pending.params.period_secs,
    }))
}

/// Confirms the app being added with a code it shows and a device name. At method set-up this
/// completes stage 2 (step `home`); from the top screen it adds another device.
#[utoipa::path(post, path = "/api/v1/totp/enrollment/confirm", tag = "second-factor",
    security(("flow" = [])), request_body = TotpConfirmRequest,
    responses((status = 200, description = "step home", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 422, description = "wrong_code, code_expired, clock_skew, invalid_device_name, bad_request", body = crate::api::ApiError),
        (status = 409, description = "device_name_taken, too_many_devices, out_of_order", body = crate::api::ApiError),
        (status = 429, description = "rate_limited", body = crate::api::ApiError),
        (status = 403, description = "too_many_attempts (the flow ended), step_up_required (at the top screen, when the last proof is older than the step-up window)", body = crate::api::ApiError)))]
pub async fn confirm_enrollment(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<TotpConfirmRequest>,
) -> Result<ApiJson<FlowView>, AppError> {
    let here = cur.step();
    confirm(state, addr, cur, req)
        .await
        .map_err(|e| e.or_step(here))
}

async fn confirm(
    state: AppState,
    addr: String,
    cur: CurrentFlow,
    req: TotpConfirmRequest,
) -> Result<ApiJson<FlowView>, AppError> {
    let step_change = enrollment_allowed(&cur)?;
    require_step_up(&state, &cur).await?;
    let name = totp::device_name(&req.device_name)?;
    let code = zeroize::Zeroizing::new(req.code);
    let now = state.clock.now();
    let pending = state
        .store
        .totp_enrollment(cur.member.id)
        .await?
        .ok_or(crate::store::StoreError::NoEnrollment)?;
    let secret = open_secret(&state.secret_key, cur.member.id, &pending.sealed_secret)?;
    let attempt = reserve_for_member(&state, &cur, &addr, now, "one-time password").await?;
    let outcome = totp::check_code(
        &state.settings.totp,
        &pending.params,
        &secret,
        &code,
        unix(now),
        None,
    )?;
    let CodeCheck::Accepted { step } = outcome else {
        return Err(refuse(&state, &cur, attempt, outcome).await);
    };
    attempt.succeeded(&state).await?;
    let (member, _) = state
        .store
        .confirm_totp_enrollment(&TotpConfirmation {
            member_id: cur.member.id,
            sealed_secret: pending.sealed_secret,
            name: name.clone(),
            step,
            max_devices: MAX_DEVICES,
            step_change,
            audit: member_audit(
                now,
                &cur.member,
                AuditAction::TotpEnrolled,
                format!("device {name:?}"),
            ),
            at: now,
            // Sessions follow assurance: the member's other flows end with it.
            keep_flow: Some(cur.flow.token_hash.clone()),
        })
        .await?;
    Ok(ApiJson(view_of(
        Step::Home,
        &member,
        state.settings.flow_idle_timeout_secs,
    )))
}

/// The second factor at sign-in (step `second_factor`): a code from any of the member's
/// authenticator apps. Each code works once.
#[utoipa::path(post, path = "/api/v1/totp/verify", tag = "second-factor", security(("flow" = [])),
    request_body = TotpVerifyRequest,
    responses((status = 200, description = "step home", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 422, description = "wrong_code, code_expired, clock_skew (a code of a step ahead of the window: that step is burnt and never accepted later), code_used, bad_request", body = crate::api::ApiError),
        (status = 409, description = "out_of_order", body = crate::api::ApiError),
        (status = 429, description = "rate_limited", body = crate::api::ApiError),
        (status = 403, description = "too_many_attempts (the flow ended)", body = crate::api::ApiError)))]
pub async fn verify(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<TotpVerifyRequest>,
) -> Result<ApiJson<FlowView>, AppError> {
    let here = cur.step();
    verify_code(state, addr, cur, req)
        .await
        .map_err(|e| e.or_step(here))
}

async fn verify_code(
    state: AppState,
    addr: String,
    cur: CurrentFlow,
    req: TotpVerifyRequest,
) -> Result<ApiJson<FlowView>, AppError> {
    if cur.step() != Step::SecondFactor {
        return Err(AppError::out_of_order(cur.step()));
    }
    let code = zeroize::Zeroizing::new(req.code);
    let now = state.clock.now();
    let attempt = reserve_for_member(&state, &cur, &addr, now, "one-time password").await?;
    let credentials = state.store.totp_credentials(cur.member.id).await?;
    let (outcome, matched) = check_devices(
        &state.secret_key,
        &state.settings.totp,
        &credentials,
        &code,
        now,
    )?;
    if let (CodeCheck::Accepted { step }, Some(cred)) = (outcome, matched) {
        if state.store.totp_step_burnt(cred.id, step).await? {
            // Seen ahead of the window before: a match then was no proof, nor is it now.
            return Err(refuse(&state, &cur, attempt, CodeCheck::Replayed).await);
        }
        let accepted = state
            .store
            .use_totp_step(&TotpUse {
                member_id: cur.member.id,
                credential_id: cred.id,
                step,
                flow_token_hash: Some(cur.flow.token_hash.clone()),
                audit: member_audit(
                    now,
                    &cur.member,
                    AuditAction::TotpVerified,
                    format!("device {:?}", cred.name),
                ),
                at: now,
            })
            .await?;
        if accepted {
            attempt.succeeded(&state).await?;
            let shown = transition(Step::SecondFactor, Action::PassSecondFactor)
                .map_err(|e| AppError::out_of_order(e.current))?;
            return Ok(ApiJson(view_of(
                shown,
                &cur.member,
                state.settings.flow_idle_timeout_secs,
            )));
        }
        // Another request used this step a moment ago.
        return Err(refuse(&state, &cur, attempt, CodeCheck::Replayed).await);
    }
    if let (CodeCheck::Early { steps_ahead }, Some(cred)) = (outcome, matched) {
        // Refused with the clock hint, and burnt: otherwise each guess would test the codes of
        // every step ahead (an oracle), and a match would be accepted when its time came.
        let step = cred.params.step_at(unix(now)).saturating_add(steps_ahead);
        state
            .store
            .burn_totp_step(cur.member.id, cred.id, step)
            .await?;
    }
    Err(refuse(&state, &cur, attempt, outcome).await)
}

/// Refuses a request while the account is delayed or held, without reserving an attempt (for
/// requests that check no guess, such as starting a passkey ceremony).
pub(super) async fn check_lockout(
    state: &AppState,
    cur: &CurrentFlow,
    now: i64,
) -> Result<(), AppError> {
    let key = cur.member.id.to_string();
    let record = state.store.failures(ThrottleScope::Account, &key).await?;
    match state.settings.lockout.account.verdict(record, now) {
        Verdict::Allowed => Ok(()),
        Verdict::Delayed { retry_after_secs } => Err(AppError::rate_limited(retry_after_secs)),
        Verdict::Locked => {
            // Held since this flow began (by failures elsewhere): end every flow of the member.
            state
                .store
                .end_member_flows(
                    cur.member.id,
                    &member_audit(
                        now,
                        &cur.member,
                        AuditAction::AccountHeld,
                        "one-time password refused",
                    ),
                )
                .await?;
            Err(AppError::too_many_attempts())
        }
    }
}

/// Settles the code's reserved attempt (a failure stays counted; a hold ends every flow of the
/// member) and says what was wrong with the code.
async fn refuse(
    state: &AppState,
    cur: &CurrentFlow,
    attempt: Attempt,
    outcome: CodeCheck,
) -> AppError {
    let settled = if outcome.is_failure() {
        attempt
            .failed(state, Some(&cur.member), "wrong one-time passwords")
            .await
    } else {
        attempt.succeeded(state).await.map(|()| false)
    };
    match settled {
        Ok(true) => return AppError::too_many_attempts(),
        Ok(false) => {}
        Err(e) => return e,
    }
    let (code, message) = match outcome {
        CodeCheck::Expired { .. } => (
            ErrorCode::CodeExpired,
            "That code has expired; enter the one shown right after it changes",
        ),
        CodeCheck::Early { .. } => (
            ErrorCode::ClockSkew,
            "That code is not valid yet; the phone's clock is off (turn on automatic time)",
        ),
        CodeCheck::Replayed => (
            ErrorCode::CodeUsed,
            "That code was already used; wait for the next one",
        ),
        CodeCheck::Wrong | CodeCheck::Malformed | CodeCheck::Accepted { .. } => (
            ErrorCode::WrongCode,
            "The one-time password is wrong; check which device you chose",
        ),
    };
    let rule = matches!(outcome, CodeCheck::Malformed).then_some("format");
    AppError::field(code, "code", rule, message)
}
