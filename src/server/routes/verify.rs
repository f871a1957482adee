//! 【6】 The verification link's web page, opened on the member's phone.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::api::Lang;
use crate::server::AppState;
use crate::server::pages::{self, LinkPage};
use crate::server::secrets;
use crate::store::EmailTokenOutcome;

/// Opens a verification link: shows the page with the Confirm button and changes nothing, so
/// a mail scanner or link preview that fetches the link does not verify the address.
#[utoipa::path(get, path = "/verify/{token}", tag = "first-login",
    params(("token" = String, Path, description = "the token from the mail")),
    responses(
        (status = 200, description = "the confirm page (HTML): its button posts to the same URL", content_type = "text/html")))]
pub async fn open_link(
    State(state): State<AppState>,
    Path(_token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = browser_lang(&headers).unwrap_or_default();
    page(&state, StatusCode::OK, LinkPage::Confirm, lang)
}

/// Confirms a verification link (the page's button): verifies the address once, and says
/// what happened in the browser's language (Accept-Language), else the language of the mail.
#[utoipa::path(post, path = "/verify/{token}", tag = "first-login",
    params(("token" = String, Path, description = "the token from the mail")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "the confirm page's form (empty; anything sent is ignored)"),
    responses(
        (status = 200, description = "verified (HTML)", content_type = "text/html"),
        (status = 404, description = "unknown or replaced link (HTML)", content_type = "text/html"),
        (status = 410, description = "used or expired link (HTML)", content_type = "text/html"),
        (status = 500, description = "the server failed (HTML)", content_type = "text/html")))]
pub async fn confirm_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let browser = browser_lang(&headers);
    let outcome = state
        .store
        .consume_email_token(&secrets::hash_token(&token), state.clock.now())
        .await;
    let mail_lang = |l: &str| Lang::from_code(l).unwrap_or_default();
    let (status, answer, lang) = match outcome {
        Ok(EmailTokenOutcome::Verified { lang, member }) => {
            tracing::info!(member = member.id, "email verified");
            (StatusCode::OK, LinkPage::Verified, mail_lang(&lang))
        }
        Ok(EmailTokenOutcome::AlreadyUsed { lang }) => {
            (StatusCode::GONE, LinkPage::Used, mail_lang(&lang))
        }
        Ok(EmailTokenOutcome::Expired { lang }) => {
            (StatusCode::GONE, LinkPage::Expired, mail_lang(&lang))
        }
        Ok(EmailTokenOutcome::Unknown) => (StatusCode::NOT_FOUND, LinkPage::Unknown, Lang::Ja),
        Err(e) => {
            tracing::error!(error = %e, "verification link failed");
            (StatusCode::INTERNAL_SERVER_ERROR, LinkPage::Error, Lang::Ja)
        }
    };
    page(&state, status, answer, browser.unwrap_or(lang))
}

/// The browser's preferred language of ours (Accept-Language).
fn browser_lang(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(pages::negotiate)
}

/// A link page with the headers every one of them needs.
fn page(state: &AppState, status: StatusCode, page: LinkPage, lang: Lang) -> Response {
    let mut resp = (
        status,
        Html(pages::link_page(page, lang, state.settings.portal())),
    )
        .into_response();
    // The URL carries a secret: keep it out of caches and other sites' Referer headers.
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_LANGUAGE,
        header::HeaderValue::from_static(lang.code()),
    );
    resp
}
