//! Health, the terms of use, and the JSON 404.

use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::{ErrorCode, Health, Lang, PortalInfo, TermsDocument};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, body = Health), (status = 500, body = crate::api::ApiError)))]
pub async fn healthz(State(state): State<AppState>) -> Result<ApiJson<Health>, AppError> {
    state.store.ping().await?;
    Ok(ApiJson(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }))
}

/// The `lang` query parameter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// `ja` (default) or `en`.
    #[serde(default)]
    lang: Option<String>,
}

/// 【4】 The terms of use in the requested language.
#[utoipa::path(get, path = "/api/v1/terms", tag = "first-login", params(LangQuery),
    responses((status = 200, body = TermsDocument)))]
pub async fn terms(
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
) -> ApiJson<TermsDocument> {
    let lang = q
        .lang
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or_default();
    ApiJson(TermsDocument {
        lang,
        text: state.settings.terms(lang).to_owned(),
    })
}

/// The operator's portal: its names in both languages (for the screens' header and the
/// "call us" notices) and the time zone times are shown in.
#[utoipa::path(get, path = "/api/v1/portal", tag = "meta",
    responses((status = 200, body = PortalInfo)))]
pub async fn portal(State(state): State<AppState>) -> ApiJson<PortalInfo> {
    ApiJson(state.settings.portal().info())
}

/// Unknown routes answer in the API's error shape.
pub async fn not_found() -> AppError {
    AppError::api(ErrorCode::NotFound, "No such route")
}
