//! What the helpdesk's actions write: the caller verification with its audit entry, the code a
//! member's own screen shows, each change to a member (with its audit entry and mails, in one
//! transaction), and the one-time enrolment pass a member signs in with instead of the password.

use async_trait::async_trait;

use super::{
    AuditEntry, CodeIssue, CredentialId, EmailToken, Flow, MailId, MemberId, NewCallerVerification,
    NewEmailCode, NewMail, StoreError, ThrottleScope,
};
use crate::domain::Method;

/// A change the helpdesk makes to a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpdeskChange {
    /// Forget the failures of the member's account and of their user ID as typed.
    Unlock {
        /// The user ID (lower-case) whose typed-ID failures go too.
        user_id: String,
    },
    /// A new verification link for the address on file (older links die).
    ResendVerification {
        /// The link.
        token: EmailToken,
    },
    /// End every flow of the member.
    SignOutEverywhere,
    /// Remove one second factor (the last one too: staff may); every flow of the member ends.
    RemoveFactor {
        /// Which kind.
        method: Method,
        /// Its id (ignored for the email method).
        id: CredentialId,
    },
    /// A link to a new address (opening it switches the address; older links die).
    ChangeEmail {
        /// The link for the new address.
        token: EmailToken,
    },
    /// A one-time enrolment pass (replacing any earlier one).
    IssuePass(NewEnrolmentPass),
}

/// A helpdesk change with what goes with it, written in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpdeskWrite {
    /// Whose account.
    pub member_id: MemberId,
    /// What.
    pub change: HelpdeskChange,
    /// The audit entry (staff, verification, reason, before/after).
    pub audit: AuditEntry,
    /// Mails queued with it (the link, the notice), claimed until `claim_until`.
    pub mails: Vec<NewMail>,
    /// The claim's end, Unix seconds.
    pub claim_until: i64,
    /// When, Unix seconds.
    pub at: i64,
}

/// A one-time enrolment pass to store (its keyed hash only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrolmentPass {
    /// The keyed hash of the pass.
    pub pass_hash: String,
    /// The staff member who issued it.
    pub staff_id: i64,
    /// The caller verification it was issued under.
    pub verification_id: i64,
    /// Dead at and after, Unix seconds.
    pub expires_at: i64,
}

/// A sign-in with an enrolment pass: used once, in one transaction with the new flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentPassUse {
    /// Whose pass.
    pub member_id: MemberId,
    /// The keyed hash of the pass as typed.
    pub pass_hash: String,
    /// The flow to open (it owes a new password before anything else).
    pub flow: Flow,
    /// Failure keys forgotten on success.
    pub clear: Vec<(ThrottleScope, String)>,
    /// The audit entry.
    pub audit: AuditEntry,
    /// When, Unix seconds.
    pub at: i64,
}

/// The helpdesk's writes.
#[async_trait]
pub trait HelpdeskActionStore: Send + Sync {
    /// Records a caller verification and `audit` (its detail prefixed with the verification's
    /// id and proof) in one transaction; returns the id.
    async fn verify_caller(
        &self,
        verification: &NewCallerVerification,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError>;

    /// Issues a code without a mail (the member's screen shows it), replacing the member's
    /// earlier code of that purpose unless it is still in its cooldown; writes `audit`.
    async fn issue_screen_code(
        &self,
        code: &NewEmailCode,
        audit: &AuditEntry,
    ) -> Result<CodeIssue, StoreError>;

    /// Makes a helpdesk change with its audit entry and mails, in one transaction; returns the
    /// mails' ids in order. [`StoreError::NotFound`] for a factor the member does not have.
    async fn helpdesk_change(&self, write: &HelpdeskWrite) -> Result<Vec<MailId>, StoreError>;

    /// Signs in with an enrolment pass: when the member's pass matches, is unused and alive, it
    /// is used up and the flow opened (owing a new password), failures cleared, audit written,
    /// all in one transaction; `false` (nothing written) otherwise.
    async fn sign_in_with_pass(&self, pass: &EnrolmentPassUse) -> Result<bool, StoreError>;

    /// Whether the member has an unused pass alive at `now` (a sign-in checks it only then).
    async fn has_live_pass(&self, member_id: MemberId, now: i64) -> Result<bool, StoreError>;

    /// Whether the flow was opened with an enrolment pass and still owes the new password.
    async fn flow_owes_password(&self, flow_token_hash: &str) -> Result<bool, StoreError>;
}
