//! 【6】 The verification link's web page, opened on the member's phone.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::api::Lang;
use crate::server::AppState;
use crate::server::pages::{self, LinkPage};
use crate::server::secrets;
use crate::store::EmailTokenOutcome;

/// Opens a verification link: verifies the address once, and says what happened in the
/// browser's language (Accept-Language), else the language of the mail.
#[utoipa::path(get, path = "/verify/{token}", tag = "first-login",
    params(("token" = String, Path, description = "the token from the mail")),
    responses(
        (status = 200, description = "verified (HTML)", content_type = "text/html"),
        (status = 404, description = "unknown or replaced link (HTML)", content_type = "text/html"),
        (status = 410, description = "used or expired link (HTML)", content_type = "text/html"),
        (status = 500, description = "the server failed (HTML)", content_type = "text/html")))]
pub async fn open_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let browser = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(pages::negotiate);
    let outcome = state
        .store
        .consume_email_token(&secrets::hash_token(&token), state.clock.now())
        .await;
    let mail_lang = |l: &str| Lang::from_code(l).unwrap_or_default();
    let (status, page, lang) = match outcome {
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
    let lang = browser.unwrap_or(lang);
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
