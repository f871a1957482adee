//! The top screen: the member's summary and second factors; renaming and removing devices.

use axum::extract::{Path, State};

use crate::api::{HomeView, MemberSummary, Method, RenameRequest, SecondFactor, Step};
use crate::domain::totp::{self, MAX_DEVICES};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow};
use crate::store::{AuditEntry, CredentialId, StoreError};

fn audit(now: i64, cur: &CurrentFlow, action: &str, detail: String) -> AuditEntry {
    AuditEntry {
        at: now,
        actor: format!("member:{}", cur.member.id),
        member_id: Some(cur.member.id),
        action: action.to_owned(),
        detail,
    }
}

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

/// The top screen's contents for this flow.
pub(super) async fn home_view(state: &AppState, cur: &CurrentFlow) -> Result<HomeView, AppError> {
    let credentials = state.store.totp_credentials(cur.member.id).await?;
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
    params(("id" = i64, Path, description = "The second factor's id")),
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
    ApiJson(req): ApiJson<RenameRequest>,
) -> Result<ApiJson<HomeView>, AppError> {
    require_home(&cur)?;
    let id = device_id(&id)?;
    let name = totp::device_name(&req.name)?;
    let now = state.clock.now();
    state
        .store
        .rename_totp_credential(
            cur.member.id,
            id,
            &name,
            &audit(
                now,
                &cur,
                "totp.renamed",
                format!("device {id} to {name:?}"),
            ),
        )
        .await
        .map_err(no_such_device)?;
    Ok(ApiJson(home_view(&state, &cur).await?))
}

/// Removes one of the member's devices — never the last second factor.
#[utoipa::path(delete, path = "/api/v1/home/second-factors/{id}", tag = "home",
    security(("flow" = [])),
    params(("id" = i64, Path, description = "The second factor's id")),
    responses((status = 200, body = HomeView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 409, description = "last_second_factor, out_of_order", body = crate::api::ApiError),
        (status = 404, description = "not_found", body = crate::api::ApiError)))]
pub async fn remove(
    State(state): State<AppState>,
    cur: CurrentFlow,
    Path(id): Path<String>,
) -> Result<ApiJson<HomeView>, AppError> {
    require_home(&cur)?;
    let id = device_id(&id)?;
    let now = state.clock.now();
    if id == 0 {
        // issue 5: the email method's entry.
        state
            .store
            .remove_email_factor(
                cur.member.id,
                &audit(now, &cur, "email_otp.removed", String::new()),
                now,
            )
            .await
            .map_err(no_such_device)?;
        return Ok(ApiJson(home_view(&state, &cur).await?));
    }
    state
        .store
        .remove_totp_credential(
            cur.member.id,
            id,
            &audit(now, &cur, "totp.removed", format!("device {id}")),
        )
        .await
        .map_err(no_such_device)?;
    Ok(ApiJson(home_view(&state, &cur).await?))
}
