//! "Change email" from the top screen: a verification link goes to the new address (opening it
//! switches the address), and the old address is told of the change at once, so a member whose
//! account is misused learns of it where they still read mail.

use axum::extract::State;

use crate::api::{ChangeEmailRequest, EmailChangeStarted, ErrorCode, Lang, Step};
use crate::domain::AuditAction;
use crate::domain::EmailAddress;
use crate::mail::templates::{Recipient, Validity};
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow};
use crate::server::{AppState, mail_queue, secrets};
use crate::store::{EmailToken, Member, NewMail, QueuedMail};

use super::attempts::take_mail_quota;
use super::member_audit;
use super::step_up::require_step_up;

/// Starts changing the member's address.
#[utoipa::path(post, path = "/api/v1/home/email", tag = "home", security(("flow" = [])),
    request_body = ChangeEmailRequest,
    responses((status = 200, body = EmailChangeStarted),
        (status = 403, description = "step_up_required: prove it is you again (POST /api/v1/step-up) when the last proof is older than the step-up window", body = crate::api::ApiError),
        (status = 429, description = "resend_cooldown: the mail quota (cooldown, daily cap) is spent; wait retry_after_secs", body = crate::api::ApiError),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 409, description = "out_of_order (not at the top screen)", body = crate::api::ApiError),
        (status = 422, description = "invalid_email (rule `same` for the current address), bad_request", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 502, description = "mail_failed: the link cannot be delivered to the new address at all", body = crate::api::ApiError)))]
pub async fn change_email(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<ChangeEmailRequest>,
) -> Result<ApiJson<EmailChangeStarted>, AppError> {
    let here = cur.step();
    change(&state, &cur, req).await.map_err(|e| e.or_step(here))
}

async fn change(
    state: &AppState,
    cur: &CurrentFlow,
    req: ChangeEmailRequest,
) -> Result<ApiJson<EmailChangeStarted>, AppError> {
    if cur.step() != Step::Home {
        return Err(AppError::out_of_order(cur.step()));
    }
    let address = EmailAddress::parse(&req.email)
        .map_err(|e| AppError::field(ErrorCode::InvalidEmail, "email", None, &e.to_string()))?;
    let member = &cur.member;
    // Only the letter case differs: the same mailbox (see `EmailAddress::same_mailbox`).
    if address.same_mailbox(&member.email) {
        return Err(AppError::field(
            ErrorCode::InvalidEmail,
            "email",
            Some("same"),
            "That is already your address",
        ));
    }
    require_step_up(state, cur).await?;
    let now = state.clock.now();
    take_mail_quota(state, member, now).await?;
    let lang = Lang::from_code(&cur.flow.lang).unwrap_or_default();
    let (token, verification) = address_link(state, member, lang, &address, "email_change", now)?;
    let notice = mail_queue::queued(
        state,
        "email_change_notice",
        state.settings.mail_templates.email_change_notice(
            &Recipient {
                lang,
                to: &member.email,
                name: &member.name,
            },
            address.as_str(),
        ),
    )?;
    let mails = [verification, notice];
    let ids = state
        .store
        .start_email_change(
            &token,
            &mails,
            state.settings.mail_queue.claim_until(now),
            &member_audit(
                now,
                member,
                AuditAction::EmailChangeRequested,
                format!("from {} to {}", member.email, address.as_str()),
            ),
            // Sessions follow assurance: the member's other flows end with it.
            Some(&cur.flow.token_hash),
        )
        .await?;
    let mut deliveries = Vec::with_capacity(ids.len());
    for (id, mail) in ids.into_iter().zip(mails) {
        let queued = QueuedMail {
            id,
            attempts: 0,
            mail,
        };
        deliveries.push(mail_queue::attempt(state, &queued).await?);
    }
    // The link (the first mail) decides the answer; the notice is retried like any mail.
    if deliveries.first() == Some(&mail_queue::Delivery::GivenUp) {
        return Err(AppError::api(
            ErrorCode::MailFailed,
            "The confirmation mail cannot be delivered to the new address",
        ));
    }
    Ok(ApiJson(EmailChangeStarted {
        pending_email: address.as_str().to_owned(),
        flow: cur.view(state),
    }))
}

/// A verification link for `address` and its mail (queued as `kind`), to that address: the
/// member's own change of address, and the helpdesk's change and resend.
pub(super) fn address_link(
    state: &AppState,
    member: &Member,
    lang: Lang,
    address: &EmailAddress,
    kind: &str,
    now: i64,
) -> Result<(EmailToken, NewMail), AppError> {
    let ttl = state.settings.email_link_ttl_secs;
    let (token, token_hash) = secrets::new_token()?;
    let link = format!(
        "{}/verify/{token}",
        state.settings.public_url.trim_end_matches('/')
    );
    let mail = mail_queue::queued(
        state,
        kind,
        state.settings.mail_templates.verification(
            &Recipient {
                lang,
                to: address.as_str(),
                name: &member.name,
            },
            &link,
            Validity {
                sent_at: now,
                ttl_secs: ttl,
            },
        ),
    )?;
    let token = EmailToken {
        token_hash,
        member_id: member.id,
        email: address.as_str().to_owned(),
        lang: lang.code().to_owned(),
        created_at: now,
        expires_at: now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
    };
    Ok((token, mail))
}
