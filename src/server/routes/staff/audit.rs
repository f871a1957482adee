//! The audit log for the console (`GET /api/v1/staff/audit`): per member and overall,
//! filtered by staff member, action and time, newest first, a page at a time.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::helpdesk::AuditPage;
use crate::api::{ApiError, ErrorCode};
use crate::domain::staff::normalize_login;
use crate::domain::{Actor, AuditAction};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::staff_auth::StaffSession;
use crate::store::{AuditFilter, AuditPageRequest};

use super::case::{audit_rows, find_member};
use super::search::{parse_page, query_rejected};

/// Entries per page.
pub const AUDIT_PAGE: u32 = 50;

/// The audit view's filters; every one given must match.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// About this member (user ID, any case).
    #[serde(default)]
    member: Option<String>,
    /// By this staff member (login).
    #[serde(default)]
    staff: Option<String>,
    /// This action (its stable name, such as `sign_in` or `account.hold_lifted`).
    #[serde(default)]
    action: Option<String>,
    /// At or after: Unix seconds, or a date `YYYY-MM-DD` (from its start, UTC).
    #[serde(default)]
    since: Option<String>,
    /// Before: Unix seconds, or a date `YYYY-MM-DD` (through its end, UTC).
    #[serde(default)]
    until: Option<String>,
    /// The page, from 0.
    #[serde(default)]
    page: Option<String>,
}

/// Audit entries matching the filters, newest first: staff named by login, members by user ID.
#[utoipa::path(get, path = "/api/v1/staff/audit", tag = "helpdesk",
    security(("staff" = [])), params(AuditParams),
    responses(
        (status = 200, body = AuditPage),
        (status = 401, description = "staff_session_expired: no live staff session (none, a member's token, timed out or ended)", body = ApiError),
        (status = 404, description = "not_found: no member has that user ID, or no staff account that login", body = ApiError),
        (status = 422, description = "bad_request: an unknown action, a time that is neither Unix seconds nor YYYY-MM-DD, or a page that is not a number from 0 to 200 (`field` names it)", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn audit(
    State(state): State<AppState>,
    _staff: StaffSession,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<ApiJson<AuditPage>, AppError> {
    let Query(params) = params.map_err(query_rejected)?;
    let page = parse_page(params.page.as_deref())?;
    let mut filter = AuditFilter::default();
    if let Some(typed) = given(&params.member) {
        filter.member_id = Some(find_member(&state, typed).await?.id);
    }
    if let Some(login) = given(&params.staff) {
        let account = state
            .store
            .staff_by_login(&normalize_login(login))
            .await?
            .ok_or_else(|| AppError::api(ErrorCode::NotFound, "No staff account has that login"))?;
        filter.actor = Some(Actor::Staff(account.id).to_string());
    }
    if let Some(action) = given(&params.action) {
        let known = AuditAction::from_name(action).ok_or_else(|| {
            AppError::field(
                ErrorCode::BadRequest,
                "action",
                None,
                "No audit action has that name",
            )
        })?;
        filter.action = Some(known.as_str().to_owned());
    }
    filter.since = given(&params.since)
        .map(|s| parse_time(s, "since", false))
        .transpose()?;
    filter.until = given(&params.until)
        .map(|s| parse_time(s, "until", true))
        .transpose()?;

    let mut request = AuditPageRequest {
        after: None,
        limit: AUDIT_PAGE,
    };
    let mut found = state.store.audit_page(&filter, &request).await?;
    for _ in 0..page {
        let Some(next) = found.next else {
            found.records.clear();
            break;
        };
        request.after = Some(next);
        found = state.store.audit_page(&filter, &request).await?;
    }
    let entries: Vec<_> = found.records.into_iter().map(|r| r.entry).collect();
    Ok(ApiJson(AuditPage {
        rows: audit_rows(&state, &entries).await?,
        page,
        more: found.next.is_some(),
    }))
}

/// A filter that was given (not blank).
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Unix seconds, or a `YYYY-MM-DD` date: its start, or for `end` the start of the next day
/// (so `until=2026-11-25` takes in all of that day).
fn parse_time(s: &str, field: &str, end: bool) -> Result<i64, AppError> {
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(s, &format).map_err(|_| {
        AppError::field(
            ErrorCode::BadRequest,
            field,
            Some("format"),
            "Give a time as Unix seconds or a date as YYYY-MM-DD",
        )
    })?;
    let start = date.midnight().assume_utc().unix_timestamp();
    Ok(if end { start + 86_400 } else { start })
}
