//! What the helpdesk console reads of a member beyond the member row (since when they rest at
//! their step, a pending address change, the keys that guard their sign-ins, their mail's
//! delivery states) and the caller verifications of staff sessions. The rules that read these
//! records live in [`crate::domain::helpdesk`]; the console's view is assembled by the server.

use async_trait::async_trait;

use super::{MemberId, StoreError, ThrottleScope};
use crate::domain::FailureRecord;
use crate::domain::helpdesk::{CallerProof, CallerVerification, MailTally};

/// One key that guards a member's sign-ins, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInGuard {
    /// Which key: the account (member id) or the user ID as typed.
    pub scope: ThrottleScope,
    /// Its failures, as stored (before the window's decay).
    pub record: FailureRecord,
    /// The client address of the last attempt reserved on it, when known.
    pub last_address: Option<String>,
}

/// A mail to the member as the queue knows it: never its subject or body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailState {
    /// Row id.
    pub id: i64,
    /// What kind of mail (`verification`, `email_code`, …).
    pub kind: String,
    /// The address it went to.
    pub recipient: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Queued at, Unix seconds.
    pub created_at: i64,
    /// Handed to the mail server at, Unix seconds.
    pub sent_at: Option<i64>,
}

/// A caller verification to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCallerVerification {
    /// The staff member who verified the caller.
    pub staff_id: i64,
    /// The hash of that staff session's token (the proof covers that session only).
    pub staff_session_hash: String,
    /// The member the caller proved to be.
    pub member_id: MemberId,
    /// How.
    pub proof: CallerProof,
    /// When, Unix seconds.
    pub at: i64,
}

/// The helpdesk's reads of a member, and the caller verifications.
#[async_trait]
pub trait HelpdeskStore: Send + Sync {
    /// Since when the member rests at their step: the time of the last step change, or the
    /// row's `updated_at` when no change was recorded since the column came.
    async fn step_since(&self, member_id: MemberId) -> Result<i64, StoreError>;

    /// The address a change of address waits to have confirmed (its link unused and alive at
    /// `now`), the newest when there are several.
    async fn pending_email(
        &self,
        member_id: MemberId,
        now: i64,
    ) -> Result<Option<String>, StoreError>;

    /// The keys that guard the member's sign-ins and have failures: the account (its member
    /// id) and `user_id` as typed at sign-in.
    async fn sign_in_guards(
        &self,
        member_id: MemberId,
        user_id: &str,
    ) -> Result<Vec<SignInGuard>, StoreError>;

    /// The newest `limit` mails to any of `addresses`, newest first.
    async fn mail_to(&self, addresses: &[String], limit: u32)
    -> Result<Vec<MailState>, StoreError>;

    /// How many mails of `kind` to `address` were delivered, are pending and failed.
    async fn mail_tally(&self, kind: &str, address: &str) -> Result<MailTally, StoreError>;

    /// The newest caller verification recorded in the staff session (by its token hash) for
    /// the member, valid or not: [`crate::domain::helpdesk::VerificationPolicy`] decides.
    async fn caller_verification(
        &self,
        staff_session_hash: &str,
        member_id: MemberId,
    ) -> Result<Option<CallerVerification>, StoreError>;

    /// Records a caller verification; returns its id.
    async fn add_caller_verification(
        &self,
        verification: &NewCallerVerification,
    ) -> Result<i64, StoreError>;
}
