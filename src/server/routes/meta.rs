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

/// Readiness for a load balancer: 200 when the database answers, else 503 `not_ready` (the
/// process is alive — see `/healthz` — but should get no traffic).
#[utoipa::path(get, path = "/readyz", tag = "meta",
    responses((status = 200, body = Health),
        (status = 503, description = "not_ready: the database does not answer", body = crate::api::ApiError)))]
pub async fn readyz(State(state): State<AppState>) -> Result<ApiJson<Health>, AppError> {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "not ready: the database does not answer");
        return Err(AppError::api(
            ErrorCode::NotReady,
            "Not ready: the database does not answer",
        ));
    }
    Ok(ApiJson(Health {
        status: "ready".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }))
}

/// Prometheus metrics (text format 0.0.4) of this process, behind the bearer token of
/// `[metrics] token` / `TOBIRA_METRICS_TOKEN`; 404 when no token is configured.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String),
        (status = 401, description = "unauthorized: no or another bearer token", body = crate::api::ApiError),
        (status = 404, description = "not_found: metrics are off", body = crate::api::ApiError)))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let Some(token) = &state.settings.metrics_token else {
        return Err(not_found().await);
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !token.admits(given) {
        let mut refused =
            AppError::api(ErrorCode::Unauthorized, "A bearer token is needed").into_response();
        refused.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        return Ok(refused);
    }
    // The queue's counts come from the database; without it the process's own counters
    // still tell what happened.
    let queue = match state.store.mail_queue_report(0).await {
        Ok(q) => Some(q),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read the mail queue");
            None
        }
    };
    let text = state.metrics.render(
        state.hasher.stats(),
        state.hasher.wait_histogram(),
        queue.as_ref(),
    );
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
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
