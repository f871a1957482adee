//! The recovery entries of the sign-in screen: "Forgot your user ID?" and "Forgot your
//! password?". Both answer the same whether or not the request matched a member, so they cannot
//! be used to find out who is a member; every request counts towards the client address's
//! throttle, and what is mailed goes only to the address on file.

use axum::extract::State;

use crate::api::{
    ErrorCode, ForgotPasswordRequest, ForgotUserIdRequest, RecoveryAccepted, ResetPasswordRequest,
    Step,
};
use crate::domain::email_code::normalize;
use crate::domain::{self, BirthDate, CardError, InsuranceCard, user_id};
use crate::domain::{Actor, AuditAction};
use crate::mail::templates::{Recipient, Validity};
use crate::server::email_code::{code_hash, issue};
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::{AppState, mail_queue, secrets};
use crate::store::{
    AuditEntry, CodeCheckOutcome, CodeIssueAudit, CodePurpose, Member, ThrottleScope,
};

use super::attempts::{self, Refused};
use super::member_audit;
use crate::server::client_addr::ClientAddr;

/// By the member when the request named one, else by the system (nobody matched).
fn audit(now: i64, member: Option<&Member>, action: AuditAction, detail: &str) -> AuditEntry {
    match member {
        Some(m) => member_audit(now, m, action, detail),
        None => AuditEntry::new(now, Actor::System, action, None, detail),
    }
}

/// Refuses a client address that is delayed or held, like the sign-in does.
fn address_refused(state: &AppState, refused: Refused) -> AppError {
    match refused {
        Refused::Delayed {
            retry_after_secs, ..
        } => AppError::rate_limited(retry_after_secs).or_step(Step::SignIn),
        Refused::Held(_) => AppError::rate_limited(state.settings.lockout.address.max_delay_secs)
            .or_step(Step::SignIn),
        Refused::Store(e) => e.into(),
    }
}

/// Counts a request towards the client address (before anything is looked up), refused while
/// the address is delayed.
async fn count_address(state: &AppState, addr: &str, now: i64) -> Result<(), AppError> {
    let keys = attempts::keys(state, addr, None);
    match attempts::reserve(state, &keys, now).await {
        // Every request counts, matched or not: the reservation is never given back.
        Ok(_counted) => Ok(()),
        Err(refused) => Err(address_refused(state, refused)),
    }
}

fn birth_date(raw: &str, state: &AppState) -> Result<BirthDate, AppError> {
    BirthDate::parse(raw)
        .and_then(|d| d.not_after(state.clock.today()))
        .map_err(|e| {
            AppError::field(
                ErrorCode::InvalidBirthDate,
                "birth_date",
                None,
                &e.to_string(),
            )
        })
}

fn accepted(state: &AppState) -> ApiJson<RecoveryAccepted> {
    ApiJson(RecoveryAccepted {
        step: Step::SignIn,
        code_expires_in_secs: state.settings.email_code.ttl_secs,
    })
}

/// "Forgot your user ID?": when the card and date of birth match a member, the user ID is
/// mailed to the address on file. The answer is the same either way.
#[utoipa::path(post, path = "/api/v1/recover/user-id", tag = "recovery",
    request_body = ForgotUserIdRequest,
    responses((status = 200, description = "accepted (whether or not it matched)", body = RecoveryAccepted),
        (status = 422, description = "bad_request (symbol or number not digits), invalid_birth_date", body = crate::api::ApiError),
        (status = 429, description = "rate_limited: too many requests from this address", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn forgot_user_id(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<ForgotUserIdRequest>,
) -> Result<ApiJson<RecoveryAccepted>, AppError> {
    let now = state.clock.now();
    let card = InsuranceCard::parse(&req.symbol, &req.number).map_err(|e| {
        // Each half of the card is named on its own, with its own message.
        let field = match e {
            CardError::Symbol => "symbol",
            CardError::Number => "number",
        };
        AppError::field(ErrorCode::BadRequest, field, Some("card"), &e.to_string())
    })?;
    let born = birth_date(&req.birth_date, &state)?;
    count_address(&state, &addr, now).await?;
    let member = state
        .store
        .member_by_card(&card)
        .await?
        .filter(|m| m.birth_date == born);
    match member {
        Some(m) => {
            let mail = state.settings.mail_templates.user_id_reminder(
                &Recipient {
                    lang: req.lang,
                    to: &m.email,
                    name: &m.name,
                },
                &m.user_id,
            );
            let queued = mail_queue::queued(&state, "user_id", mail)?;
            // Left to the delivery worker (due now), so a match answers as fast as a miss;
            // queued with its audit entry.
            state
                .store
                .enqueue_mail_audited(
                    &queued,
                    now,
                    now,
                    &audit(now, Some(&m), AuditAction::RecoverUserIdMailed, ""),
                )
                .await?;
        }
        None => {
            state
                .store
                .append_audit(&audit(
                    now,
                    None,
                    AuditAction::RecoverUserIdUnmatched,
                    &addr,
                ))
                .await?;
        }
    }
    Ok(accepted(&state))
}

/// "Forgot your password?": when the user ID and date of birth match a member, a 6-digit code
/// is mailed to the address on file (at most one per cooldown). The answer is the same either
/// way.
#[utoipa::path(post, path = "/api/v1/recover/password", tag = "recovery",
    request_body = ForgotPasswordRequest,
    responses((status = 200, description = "accepted (whether or not it matched)", body = RecoveryAccepted),
        (status = 422, description = "invalid_birth_date", body = crate::api::ApiError),
        (status = 429, description = "rate_limited: too many requests from this address", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<ForgotPasswordRequest>,
) -> Result<ApiJson<RecoveryAccepted>, AppError> {
    let now = state.clock.now();
    let born = birth_date(&req.birth_date, &state)?;
    count_address(&state, &addr, now).await?;
    let member = state
        .store
        .member_by_user_id(&user_id::normalize(&req.user_id))
        .await?
        .filter(|m| m.birth_date == born);
    let Some(m) = member else {
        state
            .store
            .append_audit(&audit(
                now,
                None,
                AuditAction::RecoverPasswordUnmatched,
                &addr,
            ))
            .await?;
        return Ok(accepted(&state));
    };
    let policy = state.settings.email_code;
    let (code, record) = issue(
        &state.secret_key,
        &policy,
        m.id,
        CodePurpose::PasswordReset,
        now,
    )?;
    let mail = state.settings.mail_templates.password_reset(
        &Recipient {
            lang: req.lang,
            to: &m.email,
            name: &m.name,
        },
        &code,
        Validity {
            sent_at: now,
            ttl_secs: policy.ttl_secs,
        },
    );
    let requested = |detail| audit(now, Some(&m), AuditAction::RecoverPasswordRequested, detail);
    // Either way audited with it; within the cooldown the member is told nothing (the answer
    // must not differ).
    state
        .store
        .issue_email_code_audited(
            &record,
            &mail_queue::queued(&state, "password_reset", mail)?,
            // Due now: the delivery worker sends it, so a match answers as fast as a miss.
            now,
            &CodeIssueAudit {
                issued: requested("with the reset code"),
                cooldown: Some(requested("within the cooldown: no new code")),
            },
        )
        .await?;
    Ok(accepted(&state))
}

/// "Forgot your password?", second part: the mailed code and a new password under the policy.
/// Every session of the member ends; a member still in the first login goes on with it at the
/// next sign-in (with the new password instead of the initial one).
#[utoipa::path(post, path = "/api/v1/recover/password/reset", tag = "recovery",
    request_body = ResetPasswordRequest,
    responses((status = 200, description = "the password is changed; sign in again", body = RecoveryAccepted),
        (status = 422, description = "wrong_code (also for an unknown user ID or when no code was issued: the same answer, and neither counts against the user ID), code_expired, weak_password", body = crate::api::ApiError),
        (status = 429, description = "rate_limited: too many wrong codes for this user ID as typed, or requests from this address", body = crate::api::ApiError),
        (status = 503, description = "server_busy: every password worker is busy; Retry-After says when to try again", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<ResetPasswordRequest>,
) -> Result<ApiJson<RecoveryAccepted>, AppError> {
    let now = state.clock.now();
    let password = zeroize::Zeroizing::new(req.new_password);
    domain::password::check(&password)?;
    // Hashed before anything else: a full admission queue (503) then costs the member nothing
    // (the code is used up only when accepted), and known and unknown user IDs do the same work.
    let new_hash = state.hasher.hash(password.to_string()).await?;
    let typed = zeroize::Zeroizing::new(req.code);
    let wrong = || AppError::field(ErrorCode::WrongCode, "code", None, "The code is wrong");
    let Some(code) = normalize(&typed).map(zeroize::Zeroizing::new) else {
        return Err(AppError::field(
            ErrorCode::WrongCode,
            "code",
            Some("format"),
            "The code is the 6 digits in the mail",
        ));
    };
    let typed = user_id::normalize(&req.user_id);
    let keys = attempts::typed_id_keys(&state, &addr, &typed);
    let attempt = match attempts::reserve(&state, &keys, now).await {
        Ok(attempt) => attempt,
        // Counted per ID as typed, known or not, so the delay tells nothing.
        Err(Refused::Delayed {
            scope: ThrottleScope::UserId,
            retry_after_secs,
        }) => return Err(AppError::rate_limited(retry_after_secs)),
        Err(Refused::Held(ThrottleScope::UserId)) => return Err(wrong()),
        Err(refused) => return Err(address_refused(&state, refused)),
    };
    let member = state.store.member_by_user_id(&typed).await?;
    let held = match &member {
        Some(m) => state.settings.lockout.account.locks(
            state
                .store
                .failures(ThrottleScope::Account, &m.id.to_string())
                .await?,
        ),
        None => false,
    };
    let Some(m) = member.filter(|_| !held) else {
        // No code was guessed at (nobody has the ID, or it is held for the helpdesk): the
        // request counts for the address only, and answers what a wrong code answers.
        attempt.release_all_but_address(&state).await?;
        return Err(wrong());
    };
    // Before the code is used up, so a refused password does not cost the member their code.
    let initial = zeroize::Zeroizing::new(domain::initial_password(&m.card, &m.birth_date));
    if secrets::secrets_equal(&password, &initial) {
        attempt.succeeded(&state).await?;
        return Err(AppError::field(
            ErrorCode::WeakPassword,
            "new_password",
            Some("initial"),
            "The new password must differ from the initial password",
        ));
    }
    let hash = code_hash(&state.secret_key, m.id, CodePurpose::PasswordReset, &code);
    let outcome = state
        .store
        .check_email_code(
            m.id,
            CodePurpose::PasswordReset,
            &hash,
            state.settings.email_code.max_attempts,
            now,
        )
        .await?;
    match outcome {
        CodeCheckOutcome::Accepted => attempt.succeeded(&state).await?,
        CodeCheckOutcome::Wrong { .. } => {
            attempt
                .failed(&state, Some(&m), "wrong reset codes")
                .await?;
            return Err(wrong());
        }
        // Without an issued code nothing is guessed: the account is not charged, so nobody
        // can hold it by posting codes no mail ever carried.
        CodeCheckOutcome::NoCode => {
            attempt.release_all_but_address(&state).await?;
            return Err(wrong());
        }
        CodeCheckOutcome::Expired => {
            attempt.succeeded(&state).await?;
            return Err(AppError::field(
                ErrorCode::CodeExpired,
                "code",
                None,
                "The code no longer works (expired or tried too often): ask for a new one",
            ));
        }
    }
    state
        .store
        .reset_password(
            m.id,
            &new_hash,
            &audit(
                now,
                Some(&m),
                AuditAction::RecoverPasswordReset,
                "every session ended",
            ),
            now,
        )
        .await?;
    Ok(accepted(&state))
}
