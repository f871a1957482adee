//! Step-up: the member proves it is them again (password or an authenticator-app code) before
//! a sensitive action on the top screen, when the last proof of this flow is older than the
//! configured window.

use axum::extract::State;

use crate::api::{ErrorCode, FlowView, Step, StepUpRequest};
use crate::domain::totp::CodeCheck;
use crate::domain::{AuditAction, step_up};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow, view_of};
use crate::server::totp::check_devices;
use crate::store::TotpUse;

use super::attempts::reserve_for_member;
use super::member_audit;
use crate::server::client_addr::ClientAddr;

/// Seconds this flow's last proof of the member (its sign-in with a second factor, or a
/// step-up) still lets sensitive top-screen actions go ahead; 0: the next one asks.
pub(super) async fn step_up_secs_left(
    state: &AppState,
    cur: &CurrentFlow,
) -> Result<u64, AppError> {
    let signed_in = (!cur.flow.second_factor_pending).then_some(cur.flow.created_at);
    let stepped_up = state.store.stepped_up_at(&cur.flow.token_hash).await?;
    let proved = stepped_up.max(signed_in);
    Ok(step_up::secs_left(
        state.settings.step_up_window_secs,
        proved,
        state.clock.now(),
    ))
}

/// Refuses a sensitive top-screen action with `step_up_required` unless this flow proved the
/// member (its sign-in with a second factor, or a step-up) within the window.
pub(super) async fn require_step_up(state: &AppState, cur: &CurrentFlow) -> Result<(), AppError> {
    if cur.step() != Step::Home {
        // Set-up during the first login or method set-up follows the sign-in directly.
        return Ok(());
    }
    if step_up_secs_left(state, cur).await? > 0 {
        return Ok(());
    }
    Err(AppError::api(
        ErrorCode::StepUpRequired,
        "Prove it is you again (password or a one-time password) with POST /api/v1/step-up",
    )
    .or_step(Step::Home))
}

/// Proves the member again for sensitive actions on the top screen: the password, or a code
/// from one of their authenticator apps. Counts against the account like any guess.
#[utoipa::path(post, path = "/api/v1/step-up", tag = "home", security(("flow" = [])),
    request_body = StepUpRequest,
    responses((status = 200, description = "proved: sensitive actions go ahead for the step-up window", body = FlowView),
        (status = 401, description = "invalid_credentials (wrong password or code), unauthorized, flow_expired", body = crate::api::ApiError),
        (status = 403, description = "too_many_attempts (the flow ended)", body = crate::api::ApiError),
        (status = 409, description = "out_of_order (not at the top screen)", body = crate::api::ApiError),
        (status = 422, description = "bad_request (neither password nor code)", body = crate::api::ApiError),
        (status = 429, description = "rate_limited", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 503, description = "server_busy: every password worker is busy; Retry-After says when to try again", body = crate::api::ApiError)))]
pub async fn step_up(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<StepUpRequest>,
) -> Result<ApiJson<FlowView>, AppError> {
    if cur.step() != Step::Home {
        return Err(AppError::out_of_order(cur.step()));
    }
    let password = req.password.map(zeroize::Zeroizing::new);
    let code = req.code.map(zeroize::Zeroizing::new);
    if password.is_none() && code.is_none() {
        return Err(AppError::field(
            ErrorCode::BadRequest,
            "password",
            Some("required"),
            "Enter the password or a one-time password",
        ));
    }
    let now = state.clock.now();
    let attempt = reserve_for_member(&state, &cur.member, &addr, now, "step-up").await?;
    let proved = match (password, code) {
        (Some(pw), _) => match cur.member.password_hash.clone() {
            Some(phc) => state.hasher.verify(pw.to_string(), phc).await?,
            None => false,
        },
        (None, Some(code)) => {
            let credentials = state.store.totp_credentials(cur.member.id).await?;
            let (outcome, matched) = check_devices(
                &state.secret_key,
                &state.settings.totp,
                &credentials,
                &code,
                now,
            )?;
            match (outcome, matched) {
                (CodeCheck::Accepted { step }, Some(cred))
                    if !state.store.totp_step_burnt(cred.id, step).await? =>
                {
                    let used = TotpUse {
                        member_id: cur.member.id,
                        credential_id: cred.id,
                        step,
                        flow_token_hash: None,
                        audit: member_audit(
                            now,
                            &cur.member,
                            AuditAction::TotpVerified,
                            format!("step-up, device {:?}", cred.name),
                        ),
                        at: now,
                    };
                    state.store.use_totp_step(&used).await?
                }
                _ => false,
            }
        }
        (None, None) => false,
    };
    if !proved {
        let why = "wrong step-up proofs";
        if attempt.failed(&state, Some(&cur.member), why).await? {
            return Err(AppError::too_many_attempts());
        }
        return Err(AppError::field(
            ErrorCode::InvalidCredentials,
            "password",
            None,
            "That does not prove it is you",
        ));
    }
    attempt.succeeded(&state).await?;
    state
        .store
        .record_step_up(&cur.flow.token_hash, now)
        .await?;
    Ok(ApiJson(view_of(
        Step::Home,
        &cur.member,
        state.settings.flow_idle_timeout_secs,
    )))
}
