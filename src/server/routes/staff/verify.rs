//! Verifying the caller (`POST /api/v1/staff/members/{user_id}/verify`): the caller proves on
//! the phone that they are the member — a code from their authenticator app, a code mailed to
//! their verified address, a code their own signed-in screen shows, or (for the low-risk
//! actions only) their date of birth and card number. Every answer is a guess: its attempt is
//! reserved first on the member and on the staff session ([`caller_keys`]), so neither a
//! member's codes nor one staff session can be tried without limit, and a wrong answer never
//! holds the member's own sign-in.

use axum::extract::{Path, State};

use crate::api::helpdesk::{CallerVerificationView, VerifyCallerAnswer, VerifyCallerRequest};
use crate::api::{ApiError, ErrorCode};
use crate::domain::helpdesk::{CallerProof, VerificationPolicy, mask_email};
use crate::domain::totp::CodeCheck;
use crate::domain::{AuditAction, BirthDate, InsuranceCard, StaffRole, email_code};
use crate::mail::templates::{Recipient, Validity};
use crate::server::email_code::{code_hash, issue};
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::secrets::secrets_equal;
use crate::server::staff_auth::StaffSession;
use crate::server::totp::{check_devices, unix};
use crate::server::{AppState, mail_queue};
use crate::store::{
    AuditEntry, CodeCheckOutcome, CodeIssue, CodeIssueAudit, CodePurpose, Member,
    NewCallerVerification, QueuedMail, ThrottleKey, ThrottleScope, TotpUse,
};

use super::super::attempts::{self, Attempt, Refused, take_mail_quota};
use super::case::find_member;

/// Verifies the caller as the member, for this staff session (15 minutes).
#[utoipa::path(post, path = "/api/v1/staff/members/{user_id}/verify", tag = "helpdesk",
    security(("staff" = [])),
    params(("user_id" = String, Path, description = "The member's user ID (any case)")),
    request_body = VerifyCallerRequest,
    responses(
        (status = 200, description = "verified, or (send_mailed_code) code_sent", body = VerifyCallerAnswer),
        (status = 401, description = "staff_session_expired: no live staff session (none, a member's token, timed out or ended)", body = ApiError),
        (status = 403, description = "too_many_attempts: the member's or this session's answers are held", body = ApiError),
        (status = 404, description = "not_found: no member has that user ID", body = ApiError),
        (status = 409, description = "out_of_order: no verified address to mail a code to, or no authenticator app", body = ApiError),
        (status = 422, description = "wrong_code, code_expired (mailed or screen code expired, used or never sent), code_used, clock_skew, wrong_birth_date, invalid_birth_date, bad_request", body = ApiError),
        (status = 429, description = "rate_limited: wrong answers delay the next (retry_after_secs); resend_cooldown: the mail quota or code cooldown", body = ApiError),
        (status = 500, description = "internal", body = ApiError),
        (status = 502, description = "mail_failed: the code cannot be delivered to the address on file", body = ApiError)))]
pub async fn verify(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(typed): Path<String>,
    ApiJson(req): ApiJson<VerifyCallerRequest>,
) -> Result<ApiJson<VerifyCallerAnswer>, AppError> {
    staff.require(StaffRole::Helpdesk)?;
    let member = find_member(&state, &typed).await?;
    verify_caller(&state, &staff, &member, req)
        .await
        .map(ApiJson)
        .map_err(AppError::without_step)
}

async fn verify_caller(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
    req: VerifyCallerRequest,
) -> Result<VerifyCallerAnswer, AppError> {
    let now = state.clock.now();
    let proof = match req {
        VerifyCallerRequest::SendMailedCode => return send_code(state, staff, member, now).await,
        VerifyCallerRequest::AppCode { code } => {
            let code = zeroize::Zeroizing::new(code);
            app_code(state, staff, member, &code, now).await?;
            CallerProof::AppCode
        }
        VerifyCallerRequest::MailedCode { code } => {
            let code = zeroize::Zeroizing::new(code);
            let hash_input = session_bound(staff, &normalized(&code)?);
            stored_code(
                state,
                staff,
                member,
                CodePurpose::HelpdeskMailed,
                &hash_input,
                now,
            )
            .await?;
            CallerProof::MailedCode
        }
        VerifyCallerRequest::MemberScreenCode { code } => {
            let code = zeroize::Zeroizing::new(code);
            let typed = normalized(&code)?;
            stored_code(
                state,
                staff,
                member,
                CodePurpose::HelpdeskScreen,
                &typed,
                now,
            )
            .await?;
            CallerProof::MemberScreenCode
        }
        VerifyCallerRequest::Knowledge {
            birth_date,
            card_number,
        } => {
            knowledge(state, staff, member, &birth_date, &card_number, now).await?;
            CallerProof::Knowledge
        }
    };
    let id = state
        .store
        .verify_caller(
            &NewCallerVerification {
                staff_id: staff.account.id,
                staff_session_hash: staff.session.token_hash.clone(),
                member_id: member.id,
                proof,
                at: now,
            },
            &staff_entry(
                staff,
                member,
                AuditAction::CallerVerified,
                "caller verified",
                now,
            ),
        )
        .await?;
    let policy = VerificationPolicy::default();
    Ok(VerifyCallerAnswer::Verified {
        verification: CallerVerificationView {
            id,
            proof,
            at: now,
            remaining_secs: policy.window_secs,
            low_risk_only: !proof.is_possession(),
        },
    })
}

/// An audit entry by the staff member about the member.
pub(super) fn staff_entry(
    staff: &StaffSession,
    member: &Member,
    action: AuditAction,
    detail: impl AsRef<str>,
    now: i64,
) -> AuditEntry {
    AuditEntry::new(
        now,
        staff.actor(),
        action,
        Some(member.id),
        format!("{}: {}", staff.account.login, detail.as_ref()),
    )
}

/// The keys a caller's answer is counted on: the member (whoever asks) and the staff session
/// (whichever member it asks about), both under the account policy.
fn caller_keys(state: &AppState, staff: &StaffSession, member: &Member) -> Vec<ThrottleKey> {
    let policy = state.settings.lockout.account;
    vec![
        ThrottleKey {
            scope: ThrottleScope::Caller,
            key: format!("member:{}", member.id),
            policy,
        },
        ThrottleKey {
            scope: ThrottleScope::Caller,
            key: format!("session:{}", staff.session.token_hash),
            policy,
        },
    ]
}

/// Reserves the attempt of one answer.
async fn reserve(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
    now: i64,
) -> Result<Attempt, AppError> {
    match attempts::reserve(state, &caller_keys(state, staff, member), now).await {
        Ok(a) => Ok(a),
        Err(Refused::Delayed {
            retry_after_secs, ..
        }) => Err(AppError::rate_limited(retry_after_secs)),
        Err(Refused::Held(_)) => Err(AppError::too_many_attempts()),
        Err(Refused::Store(e)) => Err(e.into()),
    }
}

/// A wrong answer: the attempt stays counted and the failure is audited.
async fn wrong(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
    attempt: Attempt,
    why: &str,
    now: i64,
) -> Result<(), AppError> {
    let held = attempt.reaches_hold(state);
    attempt.failed(state, None, why).await?;
    state
        .store
        .append_audit(&staff_entry(
            staff,
            member,
            AuditAction::CallerVerificationFailed,
            why,
            now,
        ))
        .await?;
    if held {
        return Err(AppError::too_many_attempts());
    }
    Ok(())
}

/// A code as typed, or the format error (no attempt spent).
fn normalized(typed: &str) -> Result<zeroize::Zeroizing<String>, AppError> {
    email_code::normalize(typed)
        .map(zeroize::Zeroizing::new)
        .ok_or_else(|| {
            AppError::field(
                ErrorCode::WrongCode,
                "code",
                Some("format"),
                "The code is 6 digits",
            )
        })
}

/// A mailed code is bound to the staff session that asked for it.
fn session_bound(staff: &StaffSession, code: &str) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(format!("{}/{code}", staff.session.token_hash))
}

/// The caller reads a code from one of the member's authenticator apps: checked like the
/// member's own sign-in code (the window, the replay guard, steps seen ahead burnt).
async fn app_code(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
    code: &str,
    now: i64,
) -> Result<(), AppError> {
    let credentials = state.store.totp_credentials(member.id).await?;
    if credentials.is_empty() {
        return Err(AppError::api(
            ErrorCode::OutOfOrder,
            "The member has no authenticator app; use another way",
        ));
    }
    let attempt = reserve(state, staff, member, now).await?;
    let (outcome, matched) = check_devices(
        &state.secret_key,
        &state.settings.totp,
        &credentials,
        code,
        now,
    )?;
    let refused = match (outcome, matched) {
        (CodeCheck::Accepted { step }, Some(cred)) => {
            let burnt = state.store.totp_step_burnt(cred.id, step).await?;
            let accepted = !burnt
                && state
                    .store
                    .use_totp_step(&TotpUse {
                        member_id: member.id,
                        credential_id: cred.id,
                        step,
                        flow_token_hash: None,
                        audit: staff_entry(
                            staff,
                            member,
                            AuditAction::TotpVerified,
                            format!("the caller read a code of device {:?}", cred.name),
                            now,
                        ),
                        at: now,
                    })
                    .await?;
            if accepted {
                attempt.succeeded(state).await?;
                return Ok(());
            }
            CodeCheck::Replayed
        }
        (CodeCheck::Early { steps_ahead }, Some(cred)) => {
            let step = cred.params.step_at(unix(now)).saturating_add(steps_ahead);
            state.store.burn_totp_step(member.id, cred.id, step).await?;
            outcome
        }
        _ => outcome,
    };
    if refused == CodeCheck::Malformed {
        attempt.succeeded(state).await?;
    } else {
        wrong(
            state,
            staff,
            member,
            attempt,
            "wrong authenticator code",
            now,
        )
        .await?;
    }
    Err(super::code_error(refused))
}

/// The caller reads back a code the server keeps (mailed, or shown on the member's screen).
async fn stored_code(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
    purpose: CodePurpose,
    typed: &str,
    now: i64,
) -> Result<(), AppError> {
    let attempt = reserve(state, staff, member, now).await?;
    let hash = code_hash(&state.secret_key, member.id, purpose, typed);
    let policy = state.settings.email_code;
    let outcome = state
        .store
        .check_email_code(member.id, purpose, &hash, policy.max_attempts, now)
        .await?;
    match outcome {
        CodeCheckOutcome::Accepted => attempt.succeeded(state).await,
        CodeCheckOutcome::Wrong { attempts_left } => {
            wrong(state, staff, member, attempt, "wrong code", now).await?;
            let mut e = ApiError::new(
                if attempts_left == 0 {
                    ErrorCode::CodeExpired
                } else {
                    ErrorCode::WrongCode
                },
                if attempts_left == 0 {
                    "Wrong code, tried too often: ask for a new one"
                } else {
                    "The code is wrong"
                },
            );
            e.field = Some("code".to_owned());
            Err(AppError::Api(e))
        }
        CodeCheckOutcome::Expired | CodeCheckOutcome::NoCode => {
            // No live code was guessed at: the attempt does not count.
            attempt.succeeded(state).await?;
            Err(AppError::field(
                ErrorCode::CodeExpired,
                "code",
                None,
                "This code no longer works (expired, used, tried too often or never sent): ask for a new one",
            ))
        }
    }
}

/// Date of birth and card number.
async fn knowledge(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
    birth_date: &str,
    card_number: &str,
    now: i64,
) -> Result<(), AppError> {
    let given = BirthDate::parse(birth_date).map_err(|e| {
        AppError::field(
            ErrorCode::InvalidBirthDate,
            "birth_date",
            None,
            &e.to_string(),
        )
    })?;
    let number = InsuranceCard::parse(&member.card.symbol, card_number)
        .map(|c| c.number)
        .map_err(|_| {
            AppError::field(
                ErrorCode::BadRequest,
                "card_number",
                Some("format"),
                "The card number is the digits of 番号 on the insurance card",
            )
        })?;
    let attempt = reserve(state, staff, member, now).await?;
    let date_ok = given == member.birth_date;
    let number_ok = secrets_equal(&number, &member.card.number);
    if date_ok && number_ok {
        return attempt.succeeded(state).await;
    }
    wrong(
        state,
        staff,
        member,
        attempt,
        "wrong date of birth or card number",
        now,
    )
    .await?;
    Err(AppError::api(
        ErrorCode::WrongBirthDate,
        "The date of birth or the card number does not match",
    ))
}

/// Mails a 6-digit code to the member's verified address (under the member's mail quota).
async fn send_code(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
    now: i64,
) -> Result<VerifyCallerAnswer, AppError> {
    if member.email_verified_at.is_none() {
        return Err(AppError::api(
            ErrorCode::OutOfOrder,
            "The member has no verified address to mail a code to; use another way",
        ));
    }
    take_mail_quota(state, member, now).await?;
    let policy = state.settings.email_code;
    let (code, mut record) = issue(
        &state.secret_key,
        &policy,
        member.id,
        CodePurpose::HelpdeskMailed,
        now,
    )?;
    record.code_hash = code_hash(
        &state.secret_key,
        member.id,
        CodePurpose::HelpdeskMailed,
        &session_bound(staff, &code),
    );
    let mail = mail_queue::queued(
        state,
        "helpdesk_code",
        state.settings.mail_templates.helpdesk_code(
            &Recipient {
                lang: super::actions::member_lang(member),
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
    let audit = CodeIssueAudit {
        issued: staff_entry(
            staff,
            member,
            AuditAction::CallerCodeMailed,
            format!("to {}", mask_email(&member.email)),
            now,
        ),
        cooldown: None,
    };
    let id = match state
        .store
        .issue_email_code_audited(
            &record,
            &mail,
            state.settings.mail_queue.claim_until(now),
            &audit,
        )
        .await?
    {
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
            "The code cannot be delivered to the address on file",
        ));
    }
    Ok(VerifyCallerAnswer::CodeSent {
        to: mask_email(&member.email),
        expires_in_secs: policy.ttl_secs,
    })
}
