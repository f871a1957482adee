//! 【3】–【11】 The first-login flow: identity check, terms, email, method, new credentials.

use axum::extract::State;
use axum::http::StatusCode;

use crate::api::{
    BirthDateRequest, CredentialsRequest, EmailRequest, ErrorCode, FlowView, Lang, MethodRequest,
    Step, TermsDecision,
};
use crate::domain::{self, Action, BirthDate, EmailAddress, UserId, Verdict, flow::transition};
use crate::mail::templates;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow, view_of};
use crate::server::{AppState, secrets};
use crate::store::{AuditEntry, EmailToken, Member, MemberChanges, ThrottleScope, Transition};

type FlowResult = Result<ApiJson<FlowView>, AppError>;

fn audit(now: i64, member: &Member, action: &str, detail: impl Into<String>) -> AuditEntry {
    AuditEntry {
        at: now,
        actor: format!("member:{}", member.id),
        member_id: Some(member.id),
        action: action.to_owned(),
        detail: detail.into(),
    }
}

/// Refuses every stage-1 request until the identity check of this flow has passed.
fn require_identity(cur: &CurrentFlow) -> Result<(), AppError> {
    if cur.member.step.in_first_login() && !cur.flow.birth_verified {
        return Err(AppError::out_of_order(Step::BirthDate));
    }
    Ok(())
}

/// Computes the member's next step for `action`, or the out-of-order error.
fn next_step(cur: &CurrentFlow, action: Action) -> Result<Step, AppError> {
    require_identity(cur)?;
    transition(cur.member.step, action).map_err(|e| AppError::out_of_order(e.current))
}

fn simple(
    cur: &CurrentFlow,
    to: Step,
    now: i64,
    changes: MemberChanges,
    audit: AuditEntry,
) -> Transition {
    Transition {
        member_id: cur.member.id,
        from: cur.member.step,
        to,
        changes,
        email_token: None,
        end_flows: false,
        audit,
        at: now,
    }
}

/// Where the member is now.
#[utoipa::path(get, path = "/api/v1/flow", tag = "first-login", security(("flow" = [])),
    responses((status = 200, body = FlowView), (status = 401, body = crate::api::ApiError)))]
pub async fn current(State(state): State<AppState>, cur: CurrentFlow) -> FlowResult {
    Ok(ApiJson(cur.view(&state)))
}

/// 【3】 The identity check. A wrong date counts as a failed sign-in attempt.
#[utoipa::path(post, path = "/api/v1/flow/birth-date", tag = "first-login", security(("flow" = [])),
    request_body = BirthDateRequest,
    responses((status = 200, body = FlowView),
        (status = 422, description = "wrong_birth_date, invalid_birth_date", body = crate::api::ApiError),
        (status = 403, description = "too_many_attempts (the flow ended)", body = crate::api::ApiError),
        (status = 409, description = "out_of_order", body = crate::api::ApiError)))]
pub async fn birth_date(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<BirthDateRequest>,
) -> FlowResult {
    if !cur.member.step.in_first_login() || cur.flow.birth_verified {
        return Err(AppError::out_of_order(cur.view(&state).step));
    }
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
    let policy = state.settings.lockout.account;
    let key = cur.member.id.to_string();
    match policy.verdict(
        state.store.failures(ThrottleScope::Account, &key).await?,
        now,
    ) {
        Verdict::Allowed => {}
        Verdict::Delayed { retry_after_secs } => {
            return Err(AppError::rate_limited(retry_after_secs));
        }
        Verdict::Locked => return Err(too_many_attempts(&state, &cur).await),
    }
    if given != cur.member.birth_date {
        let record = state
            .store
            .record_failure(ThrottleScope::Account, &key, now)
            .await?;
        if policy.verdict(record, now) == Verdict::Locked {
            return Err(too_many_attempts(&state, &cur).await);
        }
        return Err(AppError::field(
            ErrorCode::WrongBirthDate,
            "birth_date",
            None,
            "The date of birth does not match our records",
        ));
    }
    state
        .store
        .pass_birth_date(
            &cur.flow.token_hash,
            &audit(now, &cur.member, "identity.checked", ""),
        )
        .await?;
    let flow = crate::store::Flow {
        birth_verified: true,
        ..cur.flow
    };
    Ok(ApiJson(view_of(
        &flow,
        &cur.member,
        state.settings.flow_idle_timeout_secs,
    )))
}

/// Ends the flow of a member whose account is now held, and says so.
async fn too_many_attempts(state: &AppState, cur: &CurrentFlow) -> AppError {
    if let Err(e) = state.store.end_flow(&cur.flow.token_hash).await {
        return e.into();
    }
    let _ = state
        .store
        .append_audit(&audit(
            state.clock.now(),
            &cur.member,
            "account.locked",
            "identity check",
        ))
        .await;
    AppError::api(
        ErrorCode::TooManyAttempts,
        "Too many wrong answers; the account is held. Contact the helpdesk.",
    )
}

/// 【4】 Agree to the terms, or decline them (which signs the member out).
#[utoipa::path(post, path = "/api/v1/flow/terms", tag = "first-login", security(("flow" = [])),
    request_body = TermsDecision,
    responses((status = 200, description = "step email, or sign_in after declining", body = FlowView),
        (status = 409, description = "out_of_order", body = crate::api::ApiError)))]
pub async fn terms(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<TermsDecision>,
) -> FlowResult {
    let now = state.clock.now();
    if req.accept {
        let to = next_step(&cur, Action::AcceptTerms)?;
        let changes = MemberChanges {
            terms_accepted_at: Some(now),
            ..Default::default()
        };
        let member = state
            .store
            .apply(&simple(
                &cur,
                to,
                now,
                changes,
                audit(now, &cur.member, "terms.accepted", ""),
            ))
            .await?;
        Ok(ApiJson(view_of(
            &cur.flow,
            &member,
            state.settings.flow_idle_timeout_secs,
        )))
    } else {
        let to = next_step(&cur, Action::DeclineTerms)?;
        let mut t = simple(
            &cur,
            to,
            now,
            MemberChanges::default(),
            audit(now, &cur.member, "terms.declined", ""),
        );
        t.end_flows = true;
        let member = state.store.apply(&t).await?;
        let mut view = view_of(&cur.flow, &member, state.settings.flow_idle_timeout_secs);
        view.step = Step::SignIn;
        Ok(ApiJson(view))
    }
}

/// 【5】 Confirm the address on file or change it; the verification mail 【6】 goes out.
#[utoipa::path(post, path = "/api/v1/flow/email", tag = "first-login", security(("flow" = [])),
    request_body = EmailRequest,
    responses((status = 200, description = "step awaiting_verification", body = FlowView),
        (status = 422, description = "invalid_email", body = crate::api::ApiError),
        (status = 502, description = "mail_failed (the step moved on; resend)", body = crate::api::ApiError),
        (status = 409, description = "out_of_order", body = crate::api::ApiError)))]
pub async fn email(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<EmailRequest>,
) -> FlowResult {
    let to = next_step(&cur, Action::SubmitEmail)?;
    let raw = req.email.as_deref().unwrap_or(&cur.member.email);
    let address = EmailAddress::parse(raw)
        .map_err(|e| AppError::field(ErrorCode::InvalidEmail, "email", None, &e.to_string()))?;
    let detail = if address.as_str() == cur.member.email {
        "confirmed"
    } else {
        "changed"
    };
    send_verification(&state, &cur, to, address, "email.submitted", detail).await
}

/// 【7】 Sends a new verification link to the same address (the previous link stops working).
#[utoipa::path(post, path = "/api/v1/flow/email/resend", tag = "first-login", security(("flow" = [])),
    responses((status = 200, body = FlowView),
        (status = 409, description = "out_of_order", body = crate::api::ApiError)))]
pub async fn resend_email(State(state): State<AppState>, cur: CurrentFlow) -> FlowResult {
    require_identity(&cur)?;
    if cur.member.step != Step::AwaitingVerification {
        return Err(AppError::out_of_order(cur.member.step));
    }
    let address = EmailAddress::parse(&cur.member.email)
        .map_err(|e| AppError::field(ErrorCode::InvalidEmail, "email", None, &e.to_string()))?;
    send_verification(
        &state,
        &cur,
        Step::AwaitingVerification,
        address,
        "email.resent",
        "",
    )
    .await
}

/// Stores a new link (replacing older ones) with the step change, then mails it.
async fn send_verification(
    state: &AppState,
    cur: &CurrentFlow,
    to: Step,
    address: EmailAddress,
    action: &str,
    detail: &str,
) -> FlowResult {
    let now = state.clock.now();
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
    let mut t = simple(
        cur,
        to,
        now,
        changes,
        audit(now, &cur.member, action, detail),
    );
    t.email_token = Some(email_token);
    let member = state.store.apply(&t).await?;

    let link = format!(
        "{}/verify/{token}",
        state.settings.public_url.trim_end_matches('/')
    );
    let mail = templates::verification(
        lang,
        address.as_str(),
        &member.name,
        &link,
        ttl.div_ceil(60),
    );
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::error!(error = %e, member = member.id, "verification mail not sent");
        return Err(AppError::api(
            ErrorCode::MailFailed,
            "The verification mail could not be sent; try Resend in a moment",
        ));
    }
    Ok(ApiJson(view_of(
        &cur.flow,
        &member,
        state.settings.flow_idle_timeout_secs,
    )))
}

/// Goes back one step where the journey allows it: from waiting for the mail to the address,
/// or from the new credentials to the method choice.
#[utoipa::path(post, path = "/api/v1/flow/back", tag = "first-login", security(("flow" = [])),
    responses((status = 200, body = FlowView),
        (status = 409, description = "out_of_order: nothing to go back to", body = crate::api::ApiError)))]
pub async fn back(State(state): State<AppState>, cur: CurrentFlow) -> FlowResult {
    let action = match cur.member.step {
        Step::AwaitingVerification => Action::ChangeEmail,
        Step::NewCredentials => Action::BackToMethod,
        other => return Err(AppError::out_of_order(other)),
    };
    let to = next_step(&cur, action)?;
    let now = state.clock.now();
    let member = state
        .store
        .apply(&simple(
            &cur,
            to,
            now,
            MemberChanges::default(),
            audit(now, &cur.member, "flow.back", to.as_str()),
        ))
        .await?;
    Ok(ApiJson(view_of(
        &cur.flow,
        &member,
        state.settings.flow_idle_timeout_secs,
    )))
}

/// 【8】 Chooses the second-factor method.
#[utoipa::path(post, path = "/api/v1/flow/method", tag = "first-login", security(("flow" = [])),
    request_body = MethodRequest,
    responses((status = 200, description = "step new_credentials", body = FlowView),
        (status = 409, description = "out_of_order", body = crate::api::ApiError)))]
pub async fn method(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<MethodRequest>,
) -> FlowResult {
    let to = next_step(&cur, Action::ChooseMethod(req.method))?;
    let now = state.clock.now();
    let changes = MemberChanges {
        method: Some(req.method),
        ..Default::default()
    };
    let member = state
        .store
        .apply(&simple(
            &cur,
            to,
            now,
            changes,
            audit(now, &cur.member, "method.chosen", req.method.as_str()),
        ))
        .await?;
    Ok(ApiJson(view_of(
        &cur.flow,
        &member,
        state.settings.flow_idle_timeout_secs,
    )))
}

/// 【9】–【11】 Sets the new password (and optionally user ID); the first login completes and
/// the member is signed out, to sign in again and set up the chosen method.
#[utoipa::path(post, path = "/api/v1/flow/credentials", tag = "first-login", security(("flow" = [])),
    request_body = CredentialsRequest,
    responses((status = 200, description = "step complete; the flow has ended", body = FlowView),
        (status = 422, description = "weak_password, invalid_user_id", body = crate::api::ApiError),
        (status = 409, description = "user_id_taken, out_of_order", body = crate::api::ApiError)))]
pub async fn credentials(
    State(state): State<AppState>,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<CredentialsRequest>,
) -> FlowResult {
    let to = next_step(&cur, Action::SetCredentials)?;
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
    let new_user_id = match req
        .new_user_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => Some(UserId::parse(raw)?).filter(|id| id.as_str() != cur.member.user_id),
        None => None,
    };
    let hash = state.settings.hashing.hash(password.to_string()).await?;
    let now = state.clock.now();
    let detail = match &new_user_id {
        Some(id) => format!("user ID changed from {} to {id}", cur.member.user_id),
        None => String::new(),
    };
    let changes = MemberChanges {
        password_hash: Some(hash),
        user_id: new_user_id.map(String::from),
        ..Default::default()
    };
    let mut t = simple(
        &cur,
        to,
        now,
        changes,
        audit(now, &cur.member, "first_login.completed", detail),
    );
    t.end_flows = true;
    let member = state.store.apply(&t).await?;
    let mut view = view_of(&cur.flow, &member, state.settings.flow_idle_timeout_secs);
    view.step = Step::Complete;
    Ok(ApiJson(view))
}

/// Signs out: the flow ends.
#[utoipa::path(post, path = "/api/v1/flow/sign-out", tag = "first-login", security(("flow" = [])),
    responses((status = 204, description = "signed out"), (status = 401, body = crate::api::ApiError)))]
pub async fn sign_out(
    State(state): State<AppState>,
    cur: CurrentFlow,
) -> Result<StatusCode, AppError> {
    state.store.end_flow(&cur.flow.token_hash).await?;
    let now = state.clock.now();
    state
        .store
        .append_audit(&audit(now, &cur.member, "sign_out", ""))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
