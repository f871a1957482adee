//! Email one-time passwords (the manual's section 2-5): set-up at method set-up (or added from
//! the top screen), and the second factor at sign-in. A code is 6 digits, works for
//! `[email_code] ttl_secs`, once, for at most `max_attempts` wrong tries; a new one can be asked
//! for after `resend_cooldown_secs`. Wrong codes count towards the account lockout like wrong
//! authenticator codes.

use axum::extract::State;

use crate::api::{EmailCodeRequest, EmailCodeSent, ErrorCode, FlowView, Lang, Method, Step};
use crate::domain::AuditAction;
use crate::domain::email_code::{mask_address, normalize};
use crate::domain::{Action, flow::transition};
use crate::mail::templates::{Recipient, Validity};
use crate::server::email_code::{code_hash, issue};
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow, view_of};
use crate::server::{AppState, mail_queue};
use crate::store::{CodeCheckOutcome, CodeIssue, CodeIssueAudit, CodePurpose, QueuedMail};

use super::attempts::reserve_for_member;
use super::member_audit;
use crate::server::client_addr::ClientAddr;

/// What a code of this flow is for.
enum Use {
    /// Setting the method up: at method set-up with email codes chosen (the step change to
    /// the top screen), or adding it from the top screen (none).
    Setup(Option<(Step, Step)>),
    /// The second factor after the password.
    SignIn,
}

async fn use_of(state: &AppState, cur: &CurrentFlow) -> Result<Use, AppError> {
    match cur.step() {
        Step::MethodSetup if cur.member.method == Some(Method::EmailOtp) => {
            let to = transition(Step::MethodSetup, Action::MethodEnrolled)
                .map_err(|e| AppError::out_of_order(e.current))?;
            Ok(Use::Setup(Some((Step::MethodSetup, to))))
        }
        Step::Home if state.store.email_factor(cur.member.id).await?.is_none() => {
            Ok(Use::Setup(None))
        }
        Step::SecondFactor if state.store.email_factor(cur.member.id).await?.is_some() => {
            Ok(Use::SignIn)
        }
        other => Err(AppError::out_of_order(other)),
    }
}

/// Mails a one-time password to the member's verified address (again, after the cooldown:
/// the earlier code stops working).
#[utoipa::path(post, path = "/api/v1/email-otp/send", tag = "second-factor", security(("flow" = [])),
    responses((status = 200, body = EmailCodeSent),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 409, description = "out_of_order (not at the email method's set-up or second factor)", body = crate::api::ApiError),
        (status = 429, description = "resend_cooldown: wait retry_after_secs", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError),
        (status = 502, description = "mail_failed: the mail cannot be delivered at all (a server that is down only delays it)", body = crate::api::ApiError)))]
pub async fn send(
    State(state): State<AppState>,
    cur: CurrentFlow,
) -> Result<ApiJson<EmailCodeSent>, AppError> {
    let here = cur.step();
    send_code(&state, &cur).await.map_err(|e| e.or_step(here))
}

async fn send_code(
    state: &AppState,
    cur: &CurrentFlow,
) -> Result<ApiJson<EmailCodeSent>, AppError> {
    use_of(state, cur).await?;
    let policy = state.settings.email_code;
    let now = state.clock.now();
    let member = &cur.member;
    let (code, record) = issue(
        &state.secret_key,
        &policy,
        member.id,
        CodePurpose::SecondFactor,
        now,
    )?;
    let lang = Lang::from_code(&cur.flow.lang).unwrap_or_default();
    let mail = mail_queue::queued(
        state,
        "email_code",
        state.settings.mail_templates.email_code(
            &Recipient {
                lang,
                to: &member.email,
                name: &member.name,
            },
            &code,
            Validity {
                sent_at: now,
                ttl_secs: policy.ttl_secs,
            },
        ),
    )?;
    let issued = state
        .store
        .issue_email_code_audited(
            &record,
            &mail,
            state.settings.mail_queue.claim_until(now),
            &CodeIssueAudit {
                issued: member_audit(now, member, AuditAction::EmailOtpSent, ""),
                cooldown: None,
            },
        )
        .await?;
    let id = match issued {
        CodeIssue::Issued(id) => id,
        CodeIssue::Cooldown { retry_after_secs } => {
            return Err(AppError::resend_cooldown(retry_after_secs));
        }
    };
    let queued = QueuedMail {
        id,
        attempts: 0,
        mail,
    };
    if mail_queue::attempt(state, &queued).await? == mail_queue::Delivery::GivenUp {
        return Err(AppError::api(
            ErrorCode::MailFailed,
            "The one-time password mail cannot be delivered to the address on file",
        ));
    }
    Ok(ApiJson(EmailCodeSent {
        email: mask_address(&member.email),
        expires_in_secs: policy.ttl_secs,
        resend_after_secs: policy.resend_cooldown_secs,
        flow: cur.view(state),
    }))
}

/// Checks the mailed one-time password: at method set-up this completes stage 2, from the top
/// screen it adds the method, at the second factor it signs the member in (step `home`).
#[utoipa::path(post, path = "/api/v1/email-otp/verify", tag = "second-factor", security(("flow" = [])),
    request_body = EmailCodeRequest,
    responses((status = 200, description = "step home", body = FlowView),
        (status = 401, description = "unauthorized (no token), flow_expired", body = crate::api::ApiError),
        (status = 403, description = "too_many_attempts (the flow ended)", body = crate::api::ApiError),
        (status = 409, description = "out_of_order", body = crate::api::ApiError),
        (status = 422, description = "wrong_code, code_expired (expired, used, tried too often or never sent: send a new one), bad_request", body = crate::api::ApiError),
        (status = 429, description = "rate_limited", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn verify(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<EmailCodeRequest>,
) -> Result<ApiJson<FlowView>, AppError> {
    let here = cur.step();
    verify_code(&state, &addr, &cur, req)
        .await
        .map_err(|e| e.or_step(here))
}

async fn verify_code(
    state: &AppState,
    addr: &str,
    cur: &CurrentFlow,
    req: EmailCodeRequest,
) -> Result<ApiJson<FlowView>, AppError> {
    let usage = use_of(state, cur).await?;
    let typed = zeroize::Zeroizing::new(req.code);
    let Some(code) = normalize(&typed).map(zeroize::Zeroizing::new) else {
        return Err(AppError::field(
            ErrorCode::WrongCode,
            "code",
            Some("format"),
            "The one-time password is the 6 digits in the mail",
        ));
    };
    let now = state.clock.now();
    let attempt = reserve_for_member(state, cur, addr, now, "emailed one-time password").await?;
    let member = &cur.member;
    let hash = code_hash(
        &state.secret_key,
        member.id,
        CodePurpose::SecondFactor,
        &code,
    );
    let policy = state.settings.email_code;
    let outcome = state
        .store
        .check_email_code(
            member.id,
            CodePurpose::SecondFactor,
            &hash,
            policy.max_attempts,
            now,
        )
        .await?;
    match outcome {
        CodeCheckOutcome::Accepted => attempt.succeeded(state).await?,
        CodeCheckOutcome::Wrong { attempts_left } => {
            let why = "wrong emailed one-time passwords";
            if attempt.failed(state, Some(member), why).await? {
                return Err(AppError::too_many_attempts());
            }
            let mut e = crate::api::ApiError::new(
                if attempts_left == 0 {
                    ErrorCode::CodeExpired
                } else {
                    ErrorCode::WrongCode
                },
                if attempts_left == 0 {
                    "Wrong one-time password, tried too often: send a new one"
                } else {
                    "The one-time password is wrong"
                },
            );
            e.field = Some("code".to_owned());
            return Err(AppError::Api(e));
        }
        CodeCheckOutcome::Expired | CodeCheckOutcome::NoCode => {
            // No live code was guessed at: the attempt does not count.
            attempt.succeeded(state).await?;
            return Err(AppError::field(
                ErrorCode::CodeExpired,
                "code",
                None,
                "This one-time password no longer works (expired, used or tried too often): send a new one",
            ));
        }
    }
    let member = match usage {
        // The member's other flows end with it (sessions follow assurance).
        Use::Setup(step_change) => {
            state
                .store
                .enable_email_factor(
                    member.id,
                    step_change,
                    &cur.flow.token_hash,
                    &member_audit(now, member, AuditAction::EmailOtpEnrolled, ""),
                    now,
                )
                .await?
        }
        Use::SignIn => {
            state
                .store
                .pass_email_factor(
                    member.id,
                    &cur.flow.token_hash,
                    &member_audit(now, member, AuditAction::EmailOtpVerified, ""),
                    now,
                )
                .await?;
            transition(Step::SecondFactor, Action::PassSecondFactor)
                .map_err(|e| AppError::out_of_order(e.current))?;
            member.clone()
        }
    };
    Ok(ApiJson(view_of(
        Step::Home,
        &member,
        state.settings.flow_idle_timeout_secs,
    )))
}
