//! The staff routes (`/api/v1/staff/…`): enrolment with the one-time code, sign-in with the
//! password and an authenticator code or a passkey, sign-out, the signed-in staff member, the account
//! list for admins, and the helpdesk console's reads (search, a member's case and its live
//! events, the audit log). Staff guesses are throttled like members' (reserved before the check) under
//! a key of their own (`staff`, the login as typed).

pub(super) mod actions;
pub(super) mod audit;
pub(crate) mod case;
pub(super) mod enrol;
pub(super) mod events;
pub(super) mod passkey;
pub(super) mod search;
pub(super) mod session;
pub(super) mod sign_in;
pub(super) mod verify;

use crate::domain::totp::{self, CodeCheck};
use crate::domain::{Actor, AuditAction};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::totp::{open_staff_secret, unix};
use crate::store::{AuditEntry, StaffAccount, StaffTotpCredential};

use super::attempts::{self, Attempt, Refused};

/// An audit entry of `action` about the staff account `account`, by that staff member.
fn staff_audit(
    now: i64,
    account: &StaffAccount,
    action: AuditAction,
    detail: impl AsRef<str>,
) -> AuditEntry {
    AuditEntry::new(
        now,
        Actor::Staff(account.id),
        action,
        None,
        format!("{}: {}", account.login, detail.as_ref()),
    )
}

/// Reserves one attempt of a staff guess for `login` from `addr`: a delay answers
/// `rate_limited`, a held login `account_held` (whoever asks, known login or not).
async fn reserve(state: &AppState, addr: &str, login: &str, now: i64) -> Result<Attempt, AppError> {
    let keys = attempts::staff_keys(state, addr, login);
    match attempts::reserve(state, &keys, now).await {
        Ok(attempt) => Ok(attempt),
        Err(Refused::Delayed {
            retry_after_secs, ..
        }) => Err(AppError::rate_limited(retry_after_secs)),
        Err(Refused::Held(crate::store::ThrottleScope::Address)) => Err(AppError::rate_limited(
            state.settings.lockout.address.max_delay_secs,
        )),
        Err(Refused::Held(_)) => Err(AppError::account_held().without_step()),
        Err(Refused::Store(e)) => Err(e.into()),
    }
}

/// A wrong staff guess: the attempt stays counted and the failure is audited; when it brings
/// the login to the hold, every session of the account ends (audited). `Ok(true)` then.
async fn failed(
    state: &AppState,
    attempt: Attempt,
    account: Option<&StaffAccount>,
    why: &str,
    now: i64,
) -> Result<bool, AppError> {
    let held = attempt.reaches_hold(state);
    attempt.failed(state, None, why).await?;
    let entry = match account {
        Some(a) => staff_audit(now, a, AuditAction::StaffSignInFailed, why),
        None => AuditEntry::new(
            now,
            Actor::System,
            AuditAction::StaffSignInFailed,
            None,
            format!("unknown staff login: {why}"),
        ),
    };
    match account {
        Some(a) if held => {
            // The failure, the hold and the sessions it ends, in one transaction.
            let lock = staff_audit(now, a, AuditAction::StaffLocked, why);
            state
                .store
                .end_staff_sessions_audited(a.id, &[entry, lock])
                .await?;
            Ok(true)
        }
        _ => {
            state.store.append_audit(&entry).await?;
            Ok(false)
        }
    }
}

/// Checks `code` against every authenticator app of a staff member, inside the accepted window
/// only: an accepted code and its device, or why not. Codes outside the window are simply wrong
/// for staff (no "expired" or "clock" hint, so no step ahead is ever tested).
fn check_staff_code<'a>(
    state: &AppState,
    credentials: &'a [StaffTotpCredential],
    code: &str,
    now: i64,
) -> Result<(CodeCheck, Option<&'a StaffTotpCredential>), AppError> {
    let mut best: (CodeCheck, Option<&StaffTotpCredential>) = (CodeCheck::Wrong, None);
    if credentials.is_empty() {
        return Ok(best);
    }
    let mut any_shape = false;
    for cred in credentials {
        let secret = open_staff_secret(&state.secret_key, cred.staff_id, &cred.sealed_secret)?;
        let outcome = totp::check_window(
            &state.settings.totp,
            &cred.params,
            &secret,
            code,
            unix(now),
            cred.last_used_step,
        )?
        .unwrap_or(CodeCheck::Wrong);
        any_shape |= outcome != CodeCheck::Malformed;
        if outcome.best(best.0) == outcome && outcome != best.0 {
            best = (outcome, Some(cred));
        }
    }
    if !any_shape {
        return Ok((CodeCheck::Malformed, None));
    }
    Ok(best)
}

/// Settles the attempt of a refused authenticator code and says why it was refused: a code of
/// the wrong shape checked nothing (the attempt is given back); any other refusal counts, and
/// one that brings the login to the hold answers `too_many_attempts`.
async fn refuse_code(
    state: &AppState,
    attempt: Attempt,
    account: &StaffAccount,
    outcome: CodeCheck,
    why: &str,
    now: i64,
) -> AppError {
    let settled = if outcome == CodeCheck::Malformed {
        attempt.succeeded(state).await.map(|()| false)
    } else {
        failed(state, attempt, Some(account), why, now).await
    };
    match settled {
        Ok(true) => AppError::too_many_attempts().without_step(),
        Ok(false) => code_error(outcome),
        Err(e) => e,
    }
}

/// The answer for a refused authenticator code.
fn code_error(outcome: CodeCheck) -> AppError {
    use crate::api::ErrorCode;
    match outcome {
        CodeCheck::Replayed => AppError::field(
            ErrorCode::CodeUsed,
            "code",
            None,
            "That code was already used; wait for the next one",
        ),
        CodeCheck::Malformed => AppError::field(
            ErrorCode::WrongCode,
            "code",
            Some("format"),
            "Enter the 6-digit code your authenticator app shows",
        ),
        _ => AppError::field(
            ErrorCode::WrongCode,
            "code",
            None,
            "The code is wrong; enter the one your authenticator app shows now",
        ),
    }
}
