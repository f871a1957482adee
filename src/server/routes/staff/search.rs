//! Finding a caller (`GET /api/v1/staff/members?q=…&page=N`): the console's one search field
//! over user IDs (prefix), names (any part), cards and addresses, a page at a time. What the
//! string means is read by [`crate::domain::member_search`]; the store's index answers it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::helpdesk::{MemberHit, MemberSearchPage};
use crate::api::{ApiError, ErrorCode};
use crate::domain::helpdesk::mask_email;
use crate::domain::{MatchKind, SearchQuery, SearchQueryError};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::staff_auth::StaffSession;
use crate::store::{PageRequest, SearchPage};

/// Members per page.
pub const SEARCH_PAGE: u32 = 20;
/// The last page number a list can be asked for (pages are walked from the first).
pub const MAX_PAGE: u32 = crate::api::constraints::PAGE_MAX;

/// The search's query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What staff typed: a user ID (its beginning), a name (any part, Japanese included), a
    /// card (`12-3456789`, `12 3456789` or the digits together) or an address (its beginning).
    #[serde(default)]
    q: Option<String>,
    /// The page, from 0.
    #[serde(default)]
    page: Option<String>,
}

/// Members matching what staff typed, best first, a page at a time; no match is an empty
/// page, not an error.
#[utoipa::path(get, path = "/api/v1/staff/members", tag = "helpdesk",
    security(("staff" = [])), params(SearchParams),
    responses(
        (status = 200, body = MemberSearchPage),
        (status = 401, description = "staff_session_expired: no live staff session (none, a member's token, timed out or ended)", body = ApiError),
        (status = 422, description = "bad_request: an empty or over-long query (field `q`), or a page that is not a number from 0 to 200 (field `page`)", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn search(
    State(state): State<AppState>,
    _staff: StaffSession,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<ApiJson<MemberSearchPage>, AppError> {
    let Query(params) = params.map_err(query_rejected)?;
    let page = parse_page(params.page.as_deref())?;
    let query = SearchQuery::parse(params.q.as_deref().unwrap_or("")).map_err(query_error)?;
    let mut request = PageRequest::first(SEARCH_PAGE);
    let mut found = state.store.search_members(&query, &request).await?;
    for _ in 0..page {
        let Some(next) = found.next.take() else {
            found = SearchPage {
                hits: Vec::new(),
                next: None,
            };
            break;
        };
        request.after = Some(next);
        found = state.store.search_members(&query, &request).await?;
    }
    let read_as = found
        .hits
        .first()
        .map_or_else(|| query_kind(&query), |h| kind_name(h.matched));
    let hits = found
        .hits
        .into_iter()
        .map(|h| MemberHit {
            user_id: h.user_id,
            name: h.name,
            card: format!("{}-{}", h.card.symbol, h.card.number),
            masked_email: mask_email(&h.email_masked),
            step: h.step,
            started: h.started,
        })
        .collect();
    Ok(ApiJson(MemberSearchPage {
        read_as: read_as.to_owned(),
        hits,
        page,
        more: found.next.is_some(),
    }))
}

/// How the protocol names the kind of match (both card passes are `card`).
fn kind_name(kind: MatchKind) -> &'static str {
    match kind {
        MatchKind::CardExact | MatchKind::CardNumber => "card",
        MatchKind::UserId => "user_id",
        MatchKind::Email => "email",
        MatchKind::Name => "name",
    }
}

/// What a query that found nothing was read as.
fn query_kind(query: &SearchQuery) -> &'static str {
    match query {
        SearchQuery::Digits(_) | SearchQuery::Card { .. } => "card",
        SearchQuery::Email(_) => "email",
        SearchQuery::Text { .. } => "name",
    }
}

/// A refused search string, on the field `q`.
fn query_error(e: SearchQueryError) -> AppError {
    let rule = match e {
        SearchQueryError::Empty => "empty",
        SearchQueryError::TooLong => "length",
        SearchQueryError::Characters => "characters",
    };
    AppError::field(ErrorCode::BadRequest, "q", Some(rule), &e.to_string())
}

/// A query string that cannot be read (a parameter given twice, say), as the JSON error every
/// other refusal is.
pub fn query_rejected(e: QueryRejection) -> AppError {
    AppError::field(ErrorCode::BadRequest, "query", None, &e.body_text())
}

/// The `page` parameter: absent is the first page.
pub fn parse_page(raw: Option<&str>) -> Result<u32, AppError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(0),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|p| *p <= MAX_PAGE)
            .ok_or_else(|| {
                AppError::field(
                    ErrorCode::BadRequest,
                    "page",
                    None,
                    "The page must be a number from 0 to 200",
                )
            }),
    }
}
