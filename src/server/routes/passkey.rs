//! Passkeys (生体認証): registration at method set-up or from the top screen, and sign-in with
//! a passkey after the password. Each ceremony is two requests; its server half waits in the
//! store between them, bound to the flow, for [`CEREMONY_TTL_SECS`].

use axum::extract::State;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{Passkey, PasskeyAuthentication, PasskeyRegistration, WebauthnError};

use crate::api::{
    ErrorCode, FlowView, Method, PasskeyAuthenticationFinish, PasskeyAuthenticationStart,
    PasskeyRegistrationFinish, PasskeyRegistrationStart, Step,
};
use crate::domain::AuditAction;
use crate::domain::passkey::{CEREMONY_TTL_SECS, MAX_PASSKEYS};
use crate::domain::totp::device_name;
use crate::domain::{Action, flow::transition};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow, view_of};
use crate::server::passkey::{credential_key, user_handle};
use crate::store::{
    CeremonyKind, Member, PasskeyCeremony, PasskeyEnrollment, PasskeyUse, StoreError,
};

use super::attempts::{Attempt, reserve_for_member};
use super::member_audit;
use super::step_up::require_step_up;
use super::totp::check_lockout;
use crate::server::client_addr::ClientAddr;

pub(super) fn relying_party(state: &AppState) -> Result<&Webauthn, AppError> {
    state.passkeys.as_ref().as_ref().map_err(|e| {
        AppError::api(
            ErrorCode::PasskeyUnavailable,
            &format!("Passkeys are not available on this server: {e}"),
        )
    })
}

pub(super) fn ceremony_expired() -> AppError {
    AppError::api(
        ErrorCode::CeremonyExpired,
        "The passkey request timed out or was already used; start again",
    )
}

pub(super) fn corrupt(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("stored {what} unreadable: {e}"))
}

/// Whether this flow may register a passkey: at method set-up with passkeys chosen, or at the
/// top screen once this flow's second factor is proved. Returns the step change, if any.
fn registration_allowed(cur: &CurrentFlow) -> Result<Option<(Step, Step)>, AppError> {
    match cur.step() {
        Step::MethodSetup if cur.member.method == Some(Method::Passkey) => {
            let to = transition(Step::MethodSetup, Action::MethodEnrolled)
                .map_err(|e| AppError::out_of_order(e.current))?;
            Ok(Some((Step::MethodSetup, to)))
        }
        Step::Home => Ok(None),
        other => Err(AppError::out_of_order(other)),
    }
}

/// The member's passkeys, read back into webauthn-rs's type.
async fn stored_passkeys(
    state: &AppState,
    member: &Member,
) -> Result<Vec<(crate::store::PasskeyCredential, Passkey)>, AppError> {
    state
        .store
        .passkeys(member.id)
        .await?
        .into_iter()
        .map(|c| {
            let pk: Passkey =
                serde_json::from_str(&c.passkey).map_err(|e| corrupt("passkey", e))?;
            Ok((c, pk))
        })
        .collect()
}

/// A refused authenticator answer: says why in English for logs (never the answer itself).
pub(super) fn rejected(e: &WebauthnError) -> AppError {
    let why = match e {
        WebauthnError::InvalidRPOrigin => "the passkey was made for another site (wrong origin)",
        WebauthnError::UserNotVerified => {
            "the authenticator did not verify the user (PIN or biometric)"
        }
        WebauthnError::MismatchedChallenge => "the answer is for another request",
        WebauthnError::CredentialExcludedFromRequest => "that passkey is already registered",
        _ => "the authenticator's answer was refused",
    };
    tracing::info!(error = %e, "passkey answer refused");
    AppError::api(ErrorCode::PasskeyRejected, why)
}

/// Starts registering a passkey: the options for the authenticator. The member's existing
/// passkeys are excluded, so one authenticator does not register twice.
#[utoipa::path(post, path = "/api/v1/passkey/registration", tag = "second-factor",
    security(("flow" = [])),
    responses((status = 200, body = PasskeyRegistrationStart),
        (status = 403, description = "step_up_required: prove it is you again (POST /api/v1/step-up) when the last proof is older than the step-up window", body = crate::api::ApiError),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 503, description = "passkey_unavailable", body = crate::api::ApiError),
        (status = 409, description = "out_of_order, too_many_devices", body = crate::api::ApiError)))]
pub async fn start_registration(
    State(state): State<AppState>,
    cur: CurrentFlow,
) -> Result<ApiJson<PasskeyRegistrationStart>, AppError> {
    let here = cur.step();
    begin_registration(&state, &cur)
        .await
        .map_err(|e| e.or_step(here))
}

async fn begin_registration(
    state: &AppState,
    cur: &CurrentFlow,
) -> Result<ApiJson<PasskeyRegistrationStart>, AppError> {
    registration_allowed(cur)?;
    require_step_up(state, cur).await?;
    let rp = relying_party(state)?;
    let existing = stored_passkeys(state, &cur.member).await?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(StoreError::TooManyDevices.into());
    }
    let exclude = existing
        .iter()
        .map(|(_, pk)| pk.cred_id().clone())
        .collect();
    let user = &cur.member.user_id;
    let (options, reg) = rp
        .start_passkey_registration(user_handle(cur.member.id), user, user, Some(exclude))
        .map_err(|e| AppError::Internal(format!("passkey registration start: {e}")))?;
    let now = state.clock.now();
    state
        .store
        .save_passkey_ceremony(&PasskeyCeremony {
            flow_token_hash: cur.flow.token_hash.clone(),
            kind: CeremonyKind::Registration,
            member_id: cur.member.id,
            state: serde_json::to_string(&reg).map_err(|e| corrupt("ceremony", e))?,
            created_at: now,
            expires_at: now.saturating_add(CEREMONY_TTL_SECS),
        })
        .await?;
    Ok(ApiJson(PasskeyRegistrationStart {
        options,
        expires_in_secs: CEREMONY_TTL_SECS as u64,
    }))
}

/// Finishes registering: checks the authenticator's answer against the open ceremony and stores
/// the passkey under its name. At method set-up the member reaches the top screen.
#[utoipa::path(post, path = "/api/v1/passkey/registration/finish", tag = "second-factor",
    security(("flow" = [])), request_body = PasskeyRegistrationFinish,
    responses((status = 200, description = "step home", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 503, description = "passkey_unavailable", body = crate::api::ApiError),
        (status = 422, description = "passkey_rejected, invalid_device_name, bad_request", body = crate::api::ApiError),
        (status = 409, description = "ceremony_expired, passkey_taken, device_name_taken, too_many_devices, out_of_order", body = crate::api::ApiError)))]
pub async fn finish_registration(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<PasskeyRegistrationFinish>,
) -> Result<ApiJson<FlowView>, AppError> {
    let here = cur.step();
    complete_registration(&state, &cur, req)
        .await
        .map_err(|e| e.or_step(here))
}

async fn complete_registration(
    state: &AppState,
    cur: &CurrentFlow,
    req: PasskeyRegistrationFinish,
) -> Result<ApiJson<FlowView>, AppError> {
    let step_change = registration_allowed(cur)?;
    let rp = relying_party(state)?;
    // The name is checked before the ceremony is used up, so a typo does not cost a new touch
    // (the store checks uniqueness again inside its transaction).
    let name = device_name(&req.name).map_err(AppError::from)?;
    let taken = stored_passkeys(state, &cur.member)
        .await?
        .iter()
        .any(|(c, _)| c.name.to_lowercase() == name.to_lowercase());
    if taken {
        return Err(StoreError::DeviceNameTaken.into());
    }
    let now = state.clock.now();
    let ceremony = state
        .store
        .take_passkey_ceremony(&cur.flow.token_hash, CeremonyKind::Registration, now)
        .await?
        .ok_or_else(ceremony_expired)?;
    let reg: PasskeyRegistration =
        serde_json::from_str(&ceremony.state).map_err(|e| corrupt("ceremony", e))?;
    let passkey = rp
        .finish_passkey_registration(&req.credential, &reg)
        .map_err(|e| rejected(&e))?;
    let (member, _) = state
        .store
        .add_passkey(&PasskeyEnrollment {
            member_id: cur.member.id,
            name: name.clone(),
            credential_id: credential_key(&passkey),
            passkey: serde_json::to_string(&passkey).map_err(|e| corrupt("passkey", e))?,
            max_passkeys: MAX_PASSKEYS,
            step_change,
            audit: member_audit(
                now,
                &cur.member,
                AuditAction::PasskeyEnrolled,
                format!("passkey {name:?}"),
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

/// Starts signing in with a passkey after the password (step `second_factor`).
#[utoipa::path(post, path = "/api/v1/passkey/authentication", tag = "second-factor",
    security(("flow" = [])),
    responses((status = 200, body = PasskeyAuthenticationStart),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 503, description = "passkey_unavailable", body = crate::api::ApiError),
        (status = 409, description = "out_of_order, no_passkey", body = crate::api::ApiError),
        (status = 429, description = "rate_limited", body = crate::api::ApiError),
        (status = 403, description = "too_many_attempts (the flow ended)", body = crate::api::ApiError)))]
pub async fn start_authentication(
    State(state): State<AppState>,
    cur: CurrentFlow,
) -> Result<ApiJson<PasskeyAuthenticationStart>, AppError> {
    let here = cur.step();
    begin_authentication(&state, &cur)
        .await
        .map_err(|e| e.or_step(here))
}

async fn begin_authentication(
    state: &AppState,
    cur: &CurrentFlow,
) -> Result<ApiJson<PasskeyAuthenticationStart>, AppError> {
    if cur.step() != Step::SecondFactor {
        return Err(AppError::out_of_order(cur.step()));
    }
    let rp = relying_party(state)?;
    let now = state.clock.now();
    check_lockout(state, cur, now).await?;
    let passkeys: Vec<Passkey> = stored_passkeys(state, &cur.member)
        .await?
        .into_iter()
        .map(|(_, pk)| pk)
        .collect();
    if passkeys.is_empty() {
        return Err(AppError::api(
            ErrorCode::NoPasskey,
            "You have no passkey; use another second factor",
        ));
    }
    let (options, auth) = rp
        .start_passkey_authentication(&passkeys)
        .map_err(|e| AppError::Internal(format!("passkey authentication start: {e}")))?;
    state
        .store
        .save_passkey_ceremony(&PasskeyCeremony {
            flow_token_hash: cur.flow.token_hash.clone(),
            kind: CeremonyKind::Authentication,
            member_id: cur.member.id,
            state: serde_json::to_string(&auth).map_err(|e| corrupt("ceremony", e))?,
            created_at: now,
            expires_at: now.saturating_add(CEREMONY_TTL_SECS),
        })
        .await?;
    Ok(ApiJson(PasskeyAuthenticationStart {
        options,
        expires_in_secs: CEREMONY_TTL_SECS as u64,
    }))
}

/// Finishes signing in with a passkey: a refused answer counts towards the account lockout;
/// an accepted one updates the passkey's counter and backup state and leads to `home`.
#[utoipa::path(post, path = "/api/v1/passkey/authentication/finish", tag = "second-factor",
    security(("flow" = [])), request_body = PasskeyAuthenticationFinish,
    responses((status = 200, description = "step home", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 503, description = "passkey_unavailable", body = crate::api::ApiError),
        (status = 422, description = "passkey_rejected, bad_request", body = crate::api::ApiError),
        (status = 409, description = "ceremony_expired, out_of_order", body = crate::api::ApiError),
        (status = 429, description = "rate_limited", body = crate::api::ApiError),
        (status = 403, description = "too_many_attempts (the flow ended)", body = crate::api::ApiError)))]
pub async fn finish_authentication(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<PasskeyAuthenticationFinish>,
) -> Result<ApiJson<FlowView>, AppError> {
    let here = cur.step();
    complete_authentication(&state, &addr, &cur, req)
        .await
        .map_err(|e| e.or_step(here))
}

async fn complete_authentication(
    state: &AppState,
    addr: &str,
    cur: &CurrentFlow,
    req: PasskeyAuthenticationFinish,
) -> Result<ApiJson<FlowView>, AppError> {
    if cur.step() != Step::SecondFactor {
        return Err(AppError::out_of_order(cur.step()));
    }
    let rp = relying_party(state)?;
    let now = state.clock.now();
    let ceremony = state
        .store
        .take_passkey_ceremony(&cur.flow.token_hash, CeremonyKind::Authentication, now)
        .await?
        .ok_or_else(ceremony_expired)?;
    let auth: PasskeyAuthentication =
        serde_json::from_str(&ceremony.state).map_err(|e| corrupt("ceremony", e))?;
    let attempt = reserve_for_member(state, cur, addr, now, "passkey").await?;
    let result = match rp.finish_passkey_authentication(&req.credential, &auth) {
        Ok(r) => r,
        Err(e) => return Err(refuse(state, cur, attempt, &e).await),
    };
    let stored = stored_passkeys(state, &cur.member).await?;
    let Some((cred, mut passkey)) = stored
        .into_iter()
        .find(|(_, pk)| pk.cred_id() == result.cred_id())
    else {
        // Removed between the two requests.
        return Err(refuse(state, cur, attempt, &WebauthnError::CredentialNotFound).await);
    };
    attempt.succeeded(state).await?;
    let changed = passkey.update_credential(&result) == Some(true);
    state
        .store
        .use_passkey(&PasskeyUse {
            member_id: cur.member.id,
            id: cred.id,
            passkey: changed
                .then(|| serde_json::to_string(&passkey))
                .transpose()
                .map_err(|e| corrupt("passkey", e))?,
            flow_token_hash: cur.flow.token_hash.clone(),
            audit: member_audit(
                now,
                &cur.member,
                AuditAction::PasskeyVerified,
                format!("passkey {:?}", cred.name),
            ),
            at: now,
        })
        .await?;
    let shown = transition(Step::SecondFactor, Action::PassSecondFactor)
        .map_err(|e| AppError::out_of_order(e.current))?;
    Ok(ApiJson(view_of(
        shown,
        &cur.member,
        state.settings.flow_idle_timeout_secs,
    )))
}

/// Leaves a refused passkey's reserved attempt counted (a hold ends every flow of the member).
async fn refuse(
    state: &AppState,
    cur: &CurrentFlow,
    attempt: Attempt,
    e: &WebauthnError,
) -> AppError {
    match attempt
        .failed(state, Some(&cur.member), "refused passkeys")
        .await
    {
        Ok(true) => AppError::too_many_attempts(),
        Ok(false) => rejected(e),
        Err(err) => err,
    }
}
