//! The top screen: the member's summary and second factors (authenticator apps and passkeys);
//! renaming and removing them.

use axum::extract::{Path, RawQuery, State};

use crate::api::{HomeView, MemberSummary, Method, RenameRequest, SecondFactor, Step};
use crate::domain::AuditAction;
use crate::domain::totp::{self, MAX_DEVICES};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow};
use crate::store::{CredentialId, StoreError};

use super::member_audit;
use super::step_up::require_step_up;

/// Only a member at the top screen who has proved their second factor in this flow.
fn require_home(cur: &CurrentFlow) -> Result<(), AppError> {
    match cur.step() {
        Step::Home => Ok(()),
        other => Err(AppError::out_of_order(other)),
    }
}

fn no_such_device(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => AppError::api(crate::api::ErrorCode::NotFound, "No such device"),
        other => other.into(),
    }
}

/// A malformed id names no device (a JSON error, not the router's plain-text rejection).
fn device_id(raw: &str) -> Result<CredentialId, AppError> {
    raw.parse()
        .map_err(|_| no_such_device(StoreError::NotFound))
}

/// Which kind of second factor `?method=` names: ids are per kind (the email method's one entry
/// is id 0), and the authenticator apps are the default (the routes predate the other kinds).
fn method_of(query: Option<&str>) -> Result<Method, AppError> {
    let Some(query) = query else {
        return Ok(Method::TotpApp);
    };
    let mut method = Method::TotpApp;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k == "method" {
            method = match Method::from_name(&v) {
                Some(m) => m,
                _ => return Err(no_such_device(StoreError::NotFound)),
            };
        }
    }
    Ok(method)
}

/// The top screen's contents for this flow.
pub(super) async fn home_view(state: &AppState, cur: &CurrentFlow) -> Result<HomeView, AppError> {
    let credentials = state.store.totp_credentials(cur.member.id).await?;
    let passkeys = state.store.passkeys(cur.member.id).await?;
    let pending = state.store.totp_enrollment(cur.member.id).await?;
    let email_factor = state.store.email_factor(cur.member.id).await?;
    let mut second_factors: Vec<SecondFactor> = credentials
        .into_iter()
        .map(|c| SecondFactor {
            id: c.id,
            method: Method::TotpApp,
            name: c.name,
            created_at: c.created_at,
            last_used_at: c.last_used_at,
        })
        .chain(passkeys.into_iter().map(|p| SecondFactor {
            id: p.id,
            method: Method::Passkey,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }))
        .collect();
    // issue 5: the email method is one entry named by the address; it has no device id (0).
    if let Some(f) = email_factor {
        second_factors.push(SecondFactor {
            id: 0,
            method: Method::EmailOtp,
            name: cur.member.email.clone(),
            created_at: f.created_at,
            last_used_at: f.last_used_at,
        });
    }
    Ok(HomeView {
        flow: cur.view(state),
        member: MemberSummary {
            name: cur.member.name.clone(),
            user_id: cur.member.user_id.clone(),
            email: cur.member.email.clone(),
        },
        second_factors,
        max_totp_devices: u32::try_from(MAX_DEVICES).unwrap_or(u32::MAX),
        enrollment_pending: pending.is_some(),
        step_up_secs_left: super::step_up::step_up_secs_left(state, cur).await?,
    })
}

/// The top screen's contents.
#[utoipa::path(get, path = "/api/v1/home", tag = "home", security(("flow" = [])),
    responses((status = 200, body = HomeView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 409, description = "out_of_order (not at the top screen)", body = crate::api::ApiError)))]
pub async fn home(
    State(state): State<AppState>,
    cur: CurrentFlow,
) -> Result<ApiJson<HomeView>, AppError> {
    require_home(&cur)?;
    Ok(ApiJson(home_view(&state, &cur).await?))
}

/// Renames one of the member's devices.
#[utoipa::path(patch, path = "/api/v1/home/second-factors/{id}", tag = "home",
    security(("flow" = [])), request_body = RenameRequest,
    params(("id" = i64, Path, description = "The second factor's id"),
        ("method" = Option<Method>, Query, description = "`totp_app` (default) or `passkey`")),
    responses((status = 200, body = HomeView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 422, description = "invalid_device_name, bad_request", body = crate::api::ApiError),
        (status = 409, description = "device_name_taken, out_of_order", body = crate::api::ApiError),
        (status = 404, description = "not_found", body = crate::api::ApiError)))]
pub async fn rename(
    State(state): State<AppState>,
    cur: CurrentFlow,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    ApiJson(req): ApiJson<RenameRequest>,
) -> Result<ApiJson<HomeView>, AppError> {
    require_home(&cur)?;
    let id = device_id(&id)?;
    let method = method_of(query.as_deref())?;
    let name = totp::device_name(&req.name)?;
    let now = state.clock.now();
    let detail = format!("device {id} to {name:?}");
    let store = &state.store;
    let renamed = if method == Method::Passkey {
        let entry = member_audit(now, &cur.member, AuditAction::PasskeyRenamed, detail);
        store
            .rename_passkey(cur.member.id, id, &name, &entry)
            .await
            .map(drop)
    } else {
        let entry = member_audit(now, &cur.member, AuditAction::TotpRenamed, detail);
        store
            .rename_totp_credential(cur.member.id, id, &name, &entry)
            .await
            .map(drop)
    };
    renamed.map_err(no_such_device)?;
    Ok(ApiJson(home_view(&state, &cur).await?))
}

/// Removes one of the member's devices — never the last second factor.
#[utoipa::path(delete, path = "/api/v1/home/second-factors/{id}", tag = "home",
    security(("flow" = [])),
    params(("id" = i64, Path, description = "The second factor's id"),
        ("method" = Option<Method>, Query, description = "`totp_app` (default), `passkey` or `email_otp` (id 0)")),
    responses((status = 200, body = HomeView),
        (status = 403, description = "step_up_required: prove it is you again (POST /api/v1/step-up) when the last proof is older than the step-up window", body = crate::api::ApiError),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 409, description = "last_second_factor, out_of_order", body = crate::api::ApiError),
        (status = 404, description = "not_found", body = crate::api::ApiError)))]
pub async fn remove(
    State(state): State<AppState>,
    cur: CurrentFlow,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<ApiJson<HomeView>, AppError> {
    require_home(&cur)?;
    let id = device_id(&id)?;
    let method = method_of(query.as_deref())?;
    let now = state.clock.now();
    // Id 0 is the email method's one entry (row ids start at 1).
    let method = if id == 0 { Method::EmailOtp } else { method };
    let detail = format!("device {id}");
    require_step_up(&state, &cur).await?;
    let (action, detail) = match method {
        Method::Passkey => (AuditAction::PasskeyRemoved, detail),
        Method::EmailOtp => (AuditAction::EmailOtpRemoved, String::new()),
        Method::TotpApp => (AuditAction::TotpRemoved, detail),
    };
    // A member removes their own factors, never the last (see `domain::factors::may_remove`);
    // the member's other flows end with it, in its transaction (sessions follow assurance).
    let ended = state
        .store
        .remove_own_factor(
            cur.member.id,
            method,
            id,
            &cur.flow.token_hash,
            &member_audit(now, &cur.member, action, detail),
            now,
        )
        .await
        .map_err(no_such_device)?;
    tracing::info!(
        member = cur.member.id,
        ended,
        "factor removed: other flows ended"
    );
    Ok(ApiJson(home_view(&state, &cur).await?))
}

// issue 13
/// Seconds a code shown on the member's own screen for the helpdesk lives.
pub const SCREEN_CODE_TTL_SECS: u64 = 300;

/// A one-time code for the member's own screen: the member, on the phone with the helpdesk,
/// reads it out, and the staff member types it to verify the caller. A new code replaces the
/// last one.
#[utoipa::path(post, path = "/api/v1/home/helpdesk-code", tag = "home", security(("flow" = [])),
    responses((status = 200, body = crate::api::helpdesk::HelpdeskCode),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 409, description = "out_of_order (not at the top screen)", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn helpdesk_code(
    State(state): State<AppState>,
    cur: CurrentFlow,
) -> Result<ApiJson<crate::api::helpdesk::HelpdeskCode>, AppError> {
    use crate::server::email_code::{code_hash, new_code};
    use crate::store::{CodeIssue, CodePurpose, NewEmailCode};
    let here = cur.step();
    require_home(&cur).map_err(|e| e.or_step(here))?;
    let now = state.clock.now();
    let member = &cur.member;
    let code = new_code()?;
    let ttl = i64::try_from(SCREEN_CODE_TTL_SECS).unwrap_or(i64::MAX);
    let record = NewEmailCode {
        member_id: member.id,
        purpose: CodePurpose::HelpdeskScreen,
        code_hash: code_hash(
            &state.secret_key,
            member.id,
            CodePurpose::HelpdeskScreen,
            &code,
        ),
        created_at: now,
        expires_at: now.saturating_add(ttl),
        cooldown_secs: 0,
    };
    let audit = member_audit(now, member, AuditAction::MemberScreenCodeShown, "");
    match state.store.issue_screen_code(&record, &audit).await? {
        CodeIssue::Issued(_) => Ok(ApiJson(crate::api::helpdesk::HelpdeskCode {
            code: code.to_string(),
            expires_in_secs: SCREEN_CODE_TTL_SECS,
        })),
        CodeIssue::Cooldown { retry_after_secs } => {
            Err(AppError::resend_cooldown(retry_after_secs).or_step(here))
        }
    }
}
