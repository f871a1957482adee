//! 【3】–【11】 The first-login flow: identity check, terms, email, method, new credentials.
//!
//! Every handler asks [`transition`] for the step its request leads to, so the order of the
//! journey is decided in one pure function; errors carry the step the member is at.

use axum::extract::State;

use crate::api::{
    BirthDateRequest, CredentialsRequest, EmailRequest, ErrorCode, FlowView, Lang, MethodRequest,
    Step, TermsDecision,
};
use crate::domain::AuditAction;
use crate::domain::flow::{ends_flow, resting_after, transition};
use crate::domain::{self, Action, BirthDate, EmailAddress, UserId};
use crate::mail::templates::{Recipient, Validity};
use crate::server::client_addr::ClientAddr;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow, PeekedFlow, view_of};
use crate::server::{AppState, mail_queue, secrets};
use crate::store::{AuditEntry, EmailToken, Member, MemberChanges, Transition};

use super::attempts::{reserve_for_member, take_mail_quota};
use super::member_audit;

type FlowResult = Result<ApiJson<FlowView>, AppError>;

/// The step `action` leads to from where the member is, or the out-of-order error. A flow
/// opened with an enrolment pass sets the new password or signs out, nothing else (going back
/// to the method choice would move a member who rests elsewhere).
fn next_step(cur: &CurrentFlow, action: Action) -> Result<Step, AppError> {
    if cur.password_owed && !matches!(action, Action::SetCredentials | Action::SignOut) {
        return Err(AppError::out_of_order(cur.step()));
    }
    transition(cur.step(), action).map_err(|e| AppError::out_of_order(e.current))
}

/// The store's change for reaching `shown`: the resting step afterwards, and whether the
/// member's flows end, both as the domain says.
fn change(
    cur: &CurrentFlow,
    shown: Step,
    now: i64,
    changes: MemberChanges,
    audit: AuditEntry,
) -> Transition {
    Transition {
        member_id: cur.member.id,
        from: cur.member.step,
        to: resting_after(cur.member.step, shown),
        changes,
        email_token: None,
        end_flows: ends_flow(shown),
        audit,
        at: now,
    }
}

/// The answer for a member who is shown `shown` next.
fn answer(state: &AppState, member: &Member, shown: Step) -> FlowResult {
    Ok(ApiJson(view_of(
        shown,
        member,
        state.settings.flow_idle_timeout_secs,
    )))
}

/// Where the member is now.
#[utoipa::path(get, path = "/api/v1/flow", tag = "first-login", security(("flow" = [])),
    responses((status = 200, body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn current(State(state): State<AppState>, cur: CurrentFlow) -> FlowResult {
    let view = cur.view(&state);
    Ok(ApiJson(
        crate::server::flow_auth::with_second_factors(&state, &cur.member, view).await?,
    ))
}

/// Where the member is now, without extending the flow's idle timeout: for checks the member
/// did not ask for (the waiting screen's automatic check), which must not keep an unattended
/// flow alive.
#[utoipa::path(get, path = "/api/v1/flow/status", tag = "first-login", security(("flow" = [])),
    responses((status = 200, body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn status(State(state): State<AppState>, cur: PeekedFlow) -> FlowResult {
    Ok(ApiJson(cur.0.view(&state)))
}

/// 【3】 The identity check. A wrong date counts as a failed sign-in attempt, for the account
/// and for the client address.
#[utoipa::path(post, path = "/api/v1/flow/birth-date", tag = "first-login", security(("flow" = [])),
    request_body = BirthDateRequest,
    responses((status = 200, description = "the member's resting step", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 403, description = "too_many_attempts (the account is held; its flows ended)", body = crate::api::ApiError),
        (status = 409, description = "out_of_order", body = crate::api::ApiError),
        (status = 422, description = "wrong_birth_date, invalid_birth_date, bad_request", body = crate::api::ApiError),
        (status = 429, description = "rate_limited: wait retry_after_secs after repeated wrong dates", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn birth_date(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<BirthDateRequest>,
) -> FlowResult {
    let here = cur.step();
    check_birth_date(&state, addr, &cur, &req)
        .await
        .map_err(|e| e.or_step(here))
}

async fn check_birth_date(
    state: &AppState,
    addr: String,
    cur: &CurrentFlow,
    req: &BirthDateRequest,
) -> FlowResult {
    let shown = next_step(
        cur,
        Action::PassIdentityCheck {
            resting: cur.member.step,
        },
    )?;
    let now = state.clock.now();
    let given = BirthDate::parse(&req.birth_date)
        .and_then(|d| d.not_after(state.clock.today()))
        .map_err(|e| {
            AppError::field(
                ErrorCode::InvalidBirthDate,
                "birth_date",
                None,
                &e.to_string(),
            )
        })?;
    let attempt = reserve_for_member(state, cur, &addr, now, "identity check").await?;
    if given != cur.member.birth_date {
        if attempt
            .failed(state, Some(&cur.member), "wrong date of birth")
            .await?
        {
            return Err(AppError::too_many_attempts());
        }
        return Err(AppError::field(
            ErrorCode::WrongBirthDate,
            "birth_date",
            None,
            "The date of birth does not match our records",
        ));
    }
    attempt.succeeded(state).await?;
    state
        .store
        .pass_birth_date(
            &cur.flow.token_hash,
            &member_audit(now, &cur.member, AuditAction::IdentityChecked, ""),
        )
        .await?;
    answer(state, &cur.member, shown)
}

/// 【4】 Agree to the terms, or decline them (which signs the member out).
#[utoipa::path(post, path = "/api/v1/flow/terms", tag = "first-login", security(("flow" = [])),
    request_body = TermsDecision,
    responses((status = 200, description = "step email, or sign_in after declining", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 409, description = "out_of_order", body = crate::api::ApiError),
        (status = 422, description = "bad_request", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn terms(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<TermsDecision>,
) -> FlowResult {
    let now = state.clock.now();
    let (action, changes, name) = if req.accept {
        let changes = MemberChanges {
            terms_accepted_at: Some(now),
            ..Default::default()
        };
        (Action::AcceptTerms, changes, AuditAction::TermsAccepted)
    } else {
        (
            Action::DeclineTerms,
            MemberChanges::default(),
            AuditAction::TermsDeclined,
        )
    };
    let shown = next_step(&cur, action)?;
    let member = state
        .store
        .apply(&change(
            &cur,
            shown,
            now,
            changes,
            member_audit(now, &cur.member, name, ""),
        ))
        .await?;
    answer(&state, &member, shown)
}

/// 【5】 Confirm the address on file or change it; the verification mail 【6】 goes out.
#[utoipa::path(post, path = "/api/v1/flow/email", tag = "first-login", security(("flow" = [])),
    request_body = EmailRequest,
    responses((status = 200, description = "step awaiting_verification", body = FlowView),
        (status = 429, description = "resend_cooldown: the mail quota (cooldown, daily cap) is spent; wait retry_after_secs", body = crate::api::ApiError),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 409, description = "out_of_order", body = crate::api::ApiError),
        (status = 422, description = "invalid_email, bad_request", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 502, description = "mail_failed: the mail cannot be delivered at all (a server that is down only delays it: it stays queued); the step moved on to awaiting_verification", body = crate::api::ApiError)))]
pub async fn email(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<EmailRequest>,
) -> FlowResult {
    let here = cur.step();
    async {
        let shown = next_step(&cur, Action::SubmitEmail)?;
        let raw = req.email.as_deref().unwrap_or(&cur.member.email);
        let address = EmailAddress::parse(raw)
            .map_err(|e| AppError::field(ErrorCode::InvalidEmail, "email", None, &e.to_string()))?;
        let detail = if address.as_str() == cur.member.email {
            "confirmed"
        } else {
            "changed"
        };
        send_verification(
            &state,
            &cur,
            shown,
            address,
            AuditAction::EmailSubmitted,
            detail,
        )
        .await
    }
    .await
    .map_err(|e| e.or_step(here))
}

/// 【7】 Sends a new verification link to the same address (the previous link stops working).
#[utoipa::path(post, path = "/api/v1/flow/email/resend", tag = "first-login", security(("flow" = [])),
    responses((status = 200, description = "step awaiting_verification", body = FlowView),
        (status = 429, description = "resend_cooldown: the mail quota (cooldown, daily cap) is spent; wait retry_after_secs", body = crate::api::ApiError),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 409, description = "out_of_order", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 502, description = "mail_failed: the mail cannot be delivered at all (still awaiting_verification)", body = crate::api::ApiError)))]
pub async fn resend_email(State(state): State<AppState>, cur: CurrentFlow) -> FlowResult {
    let shown = next_step(&cur, Action::ResendEmail)?;
    let address = EmailAddress::parse(&cur.member.email)
        .map_err(|e| AppError::Internal(format!("stored address unusable: {e}")))?;
    send_verification(&state, &cur, shown, address, AuditAction::EmailResent, "").await
}

/// Stores a new link (replacing older ones) with the step change, then mails it.
async fn send_verification(
    state: &AppState,
    cur: &CurrentFlow,
    shown: Step,
    address: EmailAddress,
    action: AuditAction,
    detail: &str,
) -> FlowResult {
    let now = state.clock.now();
    take_mail_quota(state, &cur.member, now).await?;
    let (token, token_hash) = secrets::new_token()?;
    let lang = Lang::from_code(&cur.flow.lang).unwrap_or_default();
    let ttl = state.settings.email_link_ttl_secs;
    let email_token = EmailToken {
        token_hash,
        member_id: cur.member.id,
        email: address.as_str().to_owned(),
        lang: lang.code().to_owned(),
        created_at: now,
        expires_at: now.saturating_add(ttl as i64),
    };
    let changes = MemberChanges {
        email: Some(address.as_str().to_owned()),
        ..Default::default()
    };
    let mut t = change(
        cur,
        shown,
        now,
        changes,
        member_audit(now, &cur.member, action, detail),
    );
    t.email_token = Some(email_token);
    let link = format!(
        "{}/verify/{token}",
        state.settings.public_url.trim_end_matches('/')
    );
    let mail = state.settings.mail_templates.verification(
        &Recipient {
            lang,
            to: address.as_str(),
            name: &cur.member.name,
        },
        &link,
        Validity {
            sent_at: now,
            ttl_secs: ttl,
        },
    );
    // Queued with the step change: a mail server that is down delays the mail, it does not
    // lose it, and a crash leaves either both or neither.
    let queued = mail_queue::queued(state, "verification", mail)?;
    let (member, id) = state
        .store
        .apply_with_mail(&t, &queued, state.settings.mail_queue.claim_until(now))
        .await?;
    let delivery = mail_queue::try_now(state, id, queued).await?;
    if delivery == mail_queue::Delivery::GivenUp {
        // The step change is committed: the member waits for a mail that can be resent.
        return Err(AppError::mail_failed());
    }
    answer(state, &member, shown)
}

/// Goes back one step where the journey allows it: from waiting for the mail to the address,
/// or from the new credentials to the method choice.
#[utoipa::path(post, path = "/api/v1/flow/back", tag = "first-login", security(("flow" = [])),
    responses((status = 200, description = "step email or choose_method", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 409, description = "out_of_order: nothing to go back to", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn back(State(state): State<AppState>, cur: CurrentFlow) -> FlowResult {
    let shown = next_step(&cur, Action::Back)?;
    let now = state.clock.now();
    let member = state
        .store
        .apply(&change(
            &cur,
            shown,
            now,
            MemberChanges::default(),
            member_audit(now, &cur.member, AuditAction::FlowBack, shown.as_str()),
        ))
        .await?;
    answer(&state, &member, shown)
}

/// 【8】 Chooses the second-factor method; at method set-up, another one for a member who cannot
/// finish the first (no security key, no phone).
#[utoipa::path(post, path = "/api/v1/flow/method", tag = "first-login", security(("flow" = [])),
    request_body = MethodRequest,
    responses((status = 200, description = "step new_credentials (from choose_method or new_credentials), or method_setup with the new method (from method_set-up)", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 409, description = "out_of_order", body = crate::api::ApiError),
        (status = 422, description = "bad_request (for example an unknown method)", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn method(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<MethodRequest>,
) -> FlowResult {
    let shown = next_step(&cur, Action::ChooseMethod(req.method))?;
    let now = state.clock.now();
    let changes = MemberChanges {
        method: Some(req.method),
        ..Default::default()
    };
    let member = state
        .store
        .apply(&change(
            &cur,
            shown,
            now,
            changes,
            member_audit(
                now,
                &cur.member,
                AuditAction::MethodChosen,
                req.method.as_str(),
            ),
        ))
        .await?;
    answer(&state, &member, shown)
}

/// 【9】–【11】 Sets the new password (and optionally user ID); the first login completes and
/// the member is signed out, to sign in again and set up the chosen method.
#[utoipa::path(post, path = "/api/v1/flow/credentials", tag = "first-login", security(("flow" = [])),
    request_body = CredentialsRequest,
    responses((status = 200, description = "step complete; the flow has ended", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 409, description = "user_id_taken, out_of_order", body = crate::api::ApiError),
        (status = 422, description = "weak_password, invalid_user_id, bad_request", body = crate::api::ApiError),
        (status = 503, description = "server_busy: every password worker is busy; Retry-After says when to try again", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn credentials(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<CredentialsRequest>,
) -> FlowResult {
    let here = cur.step();
    set_credentials(&state, &cur, req)
        .await
        .map_err(|e| e.or_step(here))
}

async fn set_credentials(
    state: &AppState,
    cur: &CurrentFlow,
    req: CredentialsRequest,
) -> FlowResult {
    let shown = next_step(cur, Action::SetCredentials)?;
    let password = zeroize::Zeroizing::new(req.password);
    domain::password::check(&password)?;
    let initial = zeroize::Zeroizing::new(domain::initial_password(
        &cur.member.card,
        &cur.member.birth_date,
    ));
    if secrets::secrets_equal(&password, &initial) {
        return Err(AppError::field(
            ErrorCode::WeakPassword,
            "password",
            Some("initial"),
            "The new password must differ from the initial password",
        ));
    }
    if cur.password_owed {
        return password_after_pass(state, cur, password, req.new_user_id.as_deref(), shown).await;
    }
    let new_user_id = match req
        .new_user_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => Some(UserId::parse(raw)?).filter(|id| id.as_str() != cur.member.user_id),
        None => None,
    };
    let hash = state.hasher.hash(password.to_string()).await?;
    let now = state.clock.now();
    let detail = match &new_user_id {
        Some(id) => format!("user ID changed from {} to {id}", cur.member.user_id),
        None => String::new(),
    };
    let changes = MemberChanges {
        password_hash: Some(hash),
        user_id: new_user_id.clone().map(String::from),
        ..Default::default()
    };
    let t = change(
        cur,
        shown,
        now,
        changes,
        member_audit(now, &cur.member, AuditAction::FirstLoginCompleted, detail),
    );
    let member = match &new_user_id {
        // A new user ID is confirmed in writing, queued with the change (the old ID stops
        // working now); a mail server that is down delays the mail.
        Some(id) => {
            let lang = Lang::from_code(&cur.flow.lang).unwrap_or_default();
            let mail = state.settings.mail_templates.user_id_changed(
                &Recipient {
                    lang,
                    to: &cur.member.email,
                    name: &cur.member.name,
                },
                id.as_str(),
            );
            let queued = mail_queue::queued(state, "user_id_changed", mail)?;
            let (member, mail_id) = state
                .store
                .apply_with_mail(&t, &queued, state.settings.mail_queue.claim_until(now))
                .await?;
            mail_queue::try_now(state, mail_id, queued).await?;
            member
        }
        None => state.store.apply(&t).await?,
    };
    answer(state, &member, shown)
}

/// The new password owed after signing in with an enrolment pass: set like a forgotten one
/// (every flow ends, this one too, the failures are cleared), the member stays where they
/// rest, and signs in again with it (a member left with no factor then sets a method up).
async fn password_after_pass(
    state: &AppState,
    cur: &CurrentFlow,
    password: zeroize::Zeroizing<String>,
    new_user_id: Option<&str>,
    shown: Step,
) -> FlowResult {
    if new_user_id.is_some_and(|id| {
        let id = id.trim();
        !id.is_empty() && domain::user_id::normalize(id) != cur.member.user_id
    }) {
        return Err(AppError::field(
            ErrorCode::InvalidUserId,
            "new_user_id",
            Some("pass"),
            "A new user ID cannot be chosen when signing in with an enrolment pass",
        ));
    }
    let hash = state.hasher.hash(password.to_string()).await?;
    let now = state.clock.now();
    let member = state
        .store
        .reset_password(
            cur.member.id,
            &hash,
            &member_audit(
                now,
                &cur.member,
                AuditAction::PasswordChanged,
                "new password after the enrolment pass",
            ),
            now,
        )
        .await?;
    answer(state, &member, shown)
}

/// Signs out: this flow ends and the member stays where they rest; the answer's step is
/// `sign_in`.
#[utoipa::path(post, path = "/api/v1/flow/sign-out", tag = "first-login", security(("flow" = [])),
    responses((status = 200, description = "signed out: step sign_in", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn sign_out(State(state): State<AppState>, cur: CurrentFlow) -> FlowResult {
    let shown = next_step(&cur, Action::SignOut)?;
    let now = state.clock.now();
    state
        .store
        .end_flow(
            &cur.flow.token_hash,
            Some(&member_audit(now, &cur.member, AuditAction::SignOut, "")),
        )
        .await?;
    answer(&state, &cur.member, shown)
}
