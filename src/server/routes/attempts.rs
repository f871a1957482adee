//! Attempts reserved before a guess is checked: every route that checks a password, a code, a
//! passkey or a date of birth takes one attempt on the client address (and the account, when
//! the request names one) before the expensive check, and gives it back only when the guess was
//! right. A burst of parallel guesses therefore gets no more checks than the policy allows one
//! after another.

use crate::domain::{AuditAction, Refusal};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::CurrentFlow;
use crate::store::{
    AttemptReservation, Member, ReservedKey, StoreError, ThrottleKey, ThrottleScope,
};

use super::member_audit;

/// One reserved attempt: counted as a failure until [`Attempt::succeeded`] gives it back.
#[must_use = "a reserved attempt is released on success or settled on failure"]
pub(super) struct Attempt {
    reserved: Vec<ReservedKey>,
    at: i64,
}

/// Why no attempt could be reserved.
#[derive(Debug)]
pub(super) enum Refused {
    /// A key is in its delay (`scope` says which).
    Delayed {
        /// The refusing key's kind.
        scope: ThrottleScope,
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The account (or the address, when its policy holds) is held for the helpdesk.
    Held(ThrottleScope),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The keys of an attempt by `addr`, naming `account` when the request names a member.
pub(super) fn keys(state: &AppState, addr: &str, account: Option<String>) -> Vec<ThrottleKey> {
    let policy = state.settings.lockout;
    let mut keys = vec![ThrottleKey {
        scope: ThrottleScope::Address,
        key: addr.to_owned(),
        policy: policy.address,
    }];
    if let Some(key) = account {
        keys.push(ThrottleKey {
            scope: ThrottleScope::Account,
            key,
            policy: policy.account,
        });
    }
    keys
}

/// The keys of a guess at the password of the user ID `typed` (normalised) from `addr`: the
/// address and the user ID as typed, whether or not a member has it, so unknown IDs are
/// delayed exactly like known ones.
pub(super) fn typed_id_keys(state: &AppState, addr: &str, typed: &str) -> Vec<ThrottleKey> {
    let mut keys = keys(state, addr, None);
    keys.push(ThrottleKey {
        scope: ThrottleScope::UserId,
        key: typed.to_owned(),
        policy: state.settings.lockout.account,
    });
    keys
}

/// The keys of a staff guess (a password, an authenticator or enrolment code) for the login
/// `login` (normalised) from `addr`: the address and the login, known or not, under the
/// account policy. Staff logins have a scope of their own, so they never share a member's count.
pub(super) fn staff_keys(state: &AppState, addr: &str, login: &str) -> Vec<ThrottleKey> {
    let mut keys = keys(state, addr, None);
    keys.push(ThrottleKey {
        scope: ThrottleScope::Staff,
        key: login.to_owned(),
        policy: state.settings.lockout.account,
    });
    keys
}

/// Reserves one attempt on `keys` at `now`.
pub(super) async fn reserve(
    state: &AppState,
    keys: &[ThrottleKey],
    now: i64,
) -> Result<Attempt, Refused> {
    let reservation = state.store.reserve_attempt(keys, now).await?;
    settle_reservation(state, reservation, now)
}

/// The attempt a reservation took, or why it was refused (counted in the metrics).
fn settle_reservation(
    state: &AppState,
    reservation: AttemptReservation,
    now: i64,
) -> Result<Attempt, Refused> {
    match reservation {
        AttemptReservation::Reserved(reserved) => Ok(Attempt { reserved, at: now }),
        AttemptReservation::Refused { scope, refusal } => Err(match refusal {
            Refusal::Delayed { retry_after_secs } => {
                state.metrics.throttled(scope.as_str(), "delayed");
                Refused::Delayed {
                    scope,
                    retry_after_secs,
                }
            }
            Refusal::Locked => {
                state.metrics.throttled(scope.as_str(), "held");
                Refused::Held(scope)
            }
        }),
    }
}

/// Reserves one attempt on `keys` at `now` and reads the member with the user ID `typed`
/// (normalised) in the same store call (a sign-in with user ID and password).
pub(super) async fn reserve_sign_in(
    state: &AppState,
    keys: &[ThrottleKey],
    typed: &str,
    now: i64,
) -> Result<(Attempt, Option<Member>), Refused> {
    let (reservation, member) = state.store.reserve_sign_in(keys, typed, now).await?;
    Ok((settle_reservation(state, reservation, now)?, member))
}

/// Reserves an attempt of a signed-in member (a code, a passkey, the current password) in the
/// flow `cur`: a delay answers `rate_limited`; a hold ends every flow of the member and answers
/// `too_many_attempts`.
///
/// Once reserved, the flow is read again: a right guess that won the race commits its step and
/// clears the account's failures, so a guess of the same burst that read the flow before that
/// commit would otherwise be checked on a fresh count. Such a guess is given its attempt back
/// and answered `out_of_order` (or `flow_expired`) without being checked.
pub(super) async fn reserve_for_member(
    state: &AppState,
    cur: &CurrentFlow,
    addr: &str,
    now: i64,
    what: &str,
) -> Result<Attempt, AppError> {
    let member = &cur.member;
    let keys = keys(state, addr, Some(member.id.to_string()));
    match reserve(state, &keys, now).await {
        Ok(attempt) => still_where_it_was(state, cur, attempt).await,
        Err(Refused::Delayed {
            retry_after_secs, ..
        }) => Err(AppError::rate_limited(retry_after_secs)),
        Err(Refused::Held(_)) => {
            // Held since this flow began (by failures elsewhere): end every flow of the member.
            state
                .store
                .end_member_flows(
                    member.id,
                    &member_audit(
                        now,
                        member,
                        AuditAction::AccountHeld,
                        format!("{what} refused"),
                    ),
                )
                .await?;
            Err(AppError::too_many_attempts())
        }
        Err(Refused::Store(e)) => Err(e.into()),
    }
}

/// Takes one mail of the member's quota (verification, resend, address change); refused with
/// `resend_cooldown` and the seconds to wait. The mail counts whether or not it is delivered.
pub(super) async fn take_mail_quota(
    state: &AppState,
    member: &Member,
    now: i64,
) -> Result<(), AppError> {
    let key = [ThrottleKey {
        scope: ThrottleScope::Mail,
        key: member.id.to_string(),
        policy: state.settings.mail_quota.policy(),
    }];
    match reserve(state, &key, now).await {
        Ok(_sent) => Ok(()),
        Err(Refused::Delayed {
            retry_after_secs, ..
        }) => Err(AppError::resend_cooldown(retry_after_secs)),
        Err(Refused::Held(_)) => Err(AppError::resend_cooldown(86_400)),
        Err(Refused::Store(e)) => Err(e.into()),
    }
}

/// `attempt`, when `cur`'s flow and member are as the request found them; else the attempt is
/// given back and the request answered as if it had come after the change.
async fn still_where_it_was(
    state: &AppState,
    cur: &CurrentFlow,
    attempt: Attempt,
) -> Result<Attempt, AppError> {
    let flow = state.store.flow(&cur.flow.token_hash).await?;
    let member = state.store.member(cur.member.id).await?;
    let (Some(flow), Some(member)) = (flow, member) else {
        attempt.succeeded(state).await?;
        return Err(AppError::flow_expired());
    };
    let moved = flow.birth_verified != cur.flow.birth_verified
        || flow.second_factor_pending != cur.flow.second_factor_pending
        || member.step != cur.member.step
        || member.updated_at != cur.member.updated_at;
    if moved {
        attempt.succeeded(state).await?;
        let now = CurrentFlow {
            flow,
            member,
            password_owed: cur.password_owed,
        };
        return Err(AppError::out_of_order(now.step()));
    }
    Ok(attempt)
}

impl Attempt {
    /// The guess was right: the attempt is given back (nothing else is cleared).
    pub(super) async fn succeeded(self, state: &AppState) -> Result<(), AppError> {
        state.store.release_attempt(&self.reserved).await?;
        Ok(())
    }

    /// The reserved keys, for a store call that gives the attempt back together with more.
    pub(super) fn into_reserved(self) -> Vec<ReservedKey> {
        self.reserved
    }

    /// Gives back the attempt on every key but the address (a request that guessed at nothing
    /// of the account, such as a reset code when none was issued, still counts for the address).
    pub(super) async fn release_all_but_address(self, state: &AppState) -> Result<(), AppError> {
        let kept: Vec<ReservedKey> = self
            .reserved
            .into_iter()
            .filter(|r| r.scope != ThrottleScope::Address)
            .collect();
        state.store.release_attempt(&kept).await?;
        Ok(())
    }

    /// Whether this attempt, counted as a failure, brings a key other than the address to the
    /// account policy's hold.
    pub(super) fn reaches_hold(&self, state: &AppState) -> bool {
        let policy = state.settings.lockout.account;
        self.reserved
            .iter()
            .any(|r| r.scope != ThrottleScope::Address && policy.locks(r.reserved))
    }

    /// The guess was wrong: the attempt stays counted. When it brought the account to the
    /// policy's hold, every flow of `member` ends and the hold is audited (`why`); `Ok(true)`
    /// then.
    pub(super) async fn failed(
        self,
        state: &AppState,
        member: Option<&Member>,
        why: &str,
    ) -> Result<bool, AppError> {
        let held = self.reaches_hold(state);
        match member {
            Some(m) if held => {
                state
                    .store
                    .end_member_flows(
                        m.id,
                        &member_audit(self.at, m, AuditAction::AccountLocked, why.to_owned()),
                    )
                    .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
