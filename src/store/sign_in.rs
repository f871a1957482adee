//! A sign-in with user ID and password in two store calls: the attempt reserved with the member
//! read, then — once the password proved right — the attempt given back, the account's hold
//! checked, the second factors counted and the flow started with its clears and audit entry, in
//! one transaction. Each store call is a round trip (SQLite runs each connection on a worker
//! thread; PostgreSQL is across the network), and at low concurrency every one of them is time a
//! core does not hash. What the sign-in leads to is decided by
//! [`crate::domain::flow::sign_in_plan`].

use async_trait::async_trait;

use super::{
    AttemptReservation, AuditEntry, Flow, Member, MemberChanges, ReservedKey, StoreError,
    ThrottleKey, Transition,
};
use crate::domain::flow::SignInPlan;
use crate::domain::{Method, ThrottlePolicy};

/// A right password's sign-in, to finish in one transaction ([`SignInStore::finish_sign_in`]).
#[derive(Debug, Clone)]
pub struct SignInFinish {
    /// The attempt to give back.
    pub reserved: Vec<ReservedKey>,
    /// The member as read with the reservation (their password was checked against it).
    pub member: Member,
    /// The account's policy: a hold found now answers [`SignInFinished::Held`].
    pub account_policy: ThrottlePolicy,
    /// The user ID as typed (normalised): its failures are forgotten with the new flow.
    pub typed: String,
    /// The new flow; its `second_factor_pending` is the plan's.
    pub flow: Flow,
    /// The sign-in's audit entry.
    pub audit: AuditEntry,
    /// The audit entry written when the member goes back to method set-up (no second factor
    /// left).
    pub factors_gone: AuditEntry,
    /// Now, Unix seconds.
    pub at: i64,
}

impl SignInFinish {
    /// The member's step change to `to` when the plan sends them back (no second factor left).
    pub fn factors_gone_transition(&self, to: crate::domain::Step) -> Transition {
        Transition {
            member_id: self.member.id,
            from: self.member.step,
            to,
            changes: MemberChanges::default(),
            email_token: None,
            end_flows: false,
            audit: self.factors_gone.clone(),
            at: self.at,
        }
    }

    /// The flow to store, owing a second factor when the plan says so.
    pub fn flow_for(&self, plan: &SignInPlan) -> Flow {
        Flow {
            second_factor_pending: plan.second_factor_pending,
            ..self.flow.clone()
        }
    }
}

/// How many second factors of each kind a member has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecondFactorTally {
    /// Authenticator apps.
    pub totp: usize,
    /// The email method (0 or 1).
    pub email: usize,
    /// Passkeys.
    pub passkeys: usize,
}

impl SecondFactorTally {
    /// The tally of the counts a database returned (`totp`, `email`, `passkeys`).
    pub fn from_counts(totp: i64, email: i64, passkeys: i64) -> Self {
        let n = |c: i64| usize::try_from(c).unwrap_or(0);
        Self {
            totp: n(totp),
            email: n(email),
            passkeys: n(passkeys),
        }
    }

    /// Every second factor, of any kind.
    pub fn total(&self) -> usize {
        self.totp + self.email + self.passkeys
    }

    /// The kinds the member can prove, in the order the sign-in screen offers them.
    pub fn kinds(&self) -> Vec<Method> {
        [
            (self.totp, Method::TotpApp),
            (self.email, Method::EmailOtp),
            (self.passkeys, Method::Passkey),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(_, m)| m)
        .collect()
    }
}

/// What finishing a sign-in did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInFinished {
    /// The account is held: the attempt was given back, nothing else written.
    Held,
    /// The flow rules refused the sign-in (`why`): the attempt was given back, nothing else
    /// written.
    Refused(String),
    /// The flow was started.
    Started {
        /// The member as the transaction left them.
        member: Box<Member>,
        /// What the sign-in led to.
        plan: SignInPlan,
        /// The member's second factors, when the plan depended on them.
        factors: Option<SecondFactorTally>,
    },
}

/// The two transactions of a sign-in with user ID and password.
#[async_trait]
pub trait SignInStore: Send + Sync {
    /// Reserves one attempt on `keys` (as [`super::FlowStore::reserve_attempt`]) and, when it
    /// was reserved, reads the member with `user_id` (lower-cased), in one transaction.
    async fn reserve_sign_in(
        &self,
        keys: &[ThrottleKey],
        user_id: &str,
        now: i64,
    ) -> Result<(AttemptReservation, Option<Member>), StoreError>;

    /// After a right password, in one transaction: gives the attempt back; if the account is
    /// held, stops there; counts the member's second factors when the plan depends on them;
    /// asks [`crate::domain::flow::sign_in_plan`]; sends a member with no second factor left
    /// back to method set-up; forgets the failures of the typed user ID (and of the account when
    /// the plan says so); stores the flow and writes the audit entry.
    async fn finish_sign_in(&self, finish: &SignInFinish) -> Result<SignInFinished, StoreError>;
}
