//! The records the store reads and writes, shared by every backend and by the server.
//!
//! Secrets (sealed TOTP secrets, mail bodies, ceremony state) are redacted from `Debug`.

use crate::domain::{
    Actor, AuditAction, BirthDate, EmailAddress, FailureRecord, InsuranceCard, Method, Refusal,
    Step, ThrottlePolicy, TotpParams, UserId,
};

/// A member's row id.
pub type MemberId = i64;

/// A registered authenticator app's row id.
pub type CredentialId = i64;

/// A member of the roster, with their onboarding state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Row id.
    pub id: MemberId,
    /// Insurance card symbol and number (unique together).
    pub card: InsuranceCard,
    /// Date of birth.
    pub birth_date: BirthDate,
    /// Name as printed on the roster (often Japanese).
    pub name: String,
    /// The address on file, or the one being verified.
    pub email: String,
    /// When `email` was verified through its link, Unix seconds.
    pub email_verified_at: Option<i64>,
    /// Lower-case, unique.
    pub user_id: String,
    /// The member's own password (argon2id PHC string); `None` while the initial password applies.
    pub password_hash: Option<String>,
    /// Where the member rests in the journey.
    pub step: Step,
    /// The chosen second-factor method.
    pub method: Option<Method>,
    /// When the member agreed to the terms, Unix seconds.
    pub terms_accepted_at: Option<i64>,
    /// Row creation time, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
    /// The language (`ja`, `en`) of the member's last sign-in: mail sent on their behalf later
    /// (the helpdesk's) is written in it. `None` until they first sign in.
    pub lang: Option<String>,
}

/// One valid row of a roster CSV, with its line number for reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    /// Line in the file (1 = header).
    pub line: u64,
    /// Card symbol and number: the member's identity in the roster.
    pub card: InsuranceCard,
    /// Date of birth.
    pub birth_date: BirthDate,
    /// Name.
    pub name: String,
    /// Email address on file.
    pub email: EmailAddress,
    /// The user ID printed on the member's letter.
    pub user_id: UserId,
}

/// A row the store refused, with its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Line in the file.
    pub line: u64,
    /// Why, in English.
    pub reason: String,
}

/// The result of importing a batch of roster rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// New members.
    pub imported: u64,
    /// Existing members whose roster data changed.
    pub updated: u64,
    /// Existing members whose roster data was already as given.
    pub unchanged: u64,
    /// Rows refused (for example a user ID that belongs to another member).
    pub rejected: Vec<Rejection>,
}

/// Which kind of key a failure counter belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleScope {
    /// A member account (key: member id).
    Account,
    /// A client address (key: the IP address).
    Address,
    /// A user ID as typed at sign-in or recovery (key: its normalised form), whether or not a
    /// member has it, so unknown IDs are delayed and answered like known ones.
    UserId,
    /// The mails a member asks for (key: member id), under the mail quota.
    Mail,
    /// A staff login as typed at sign-in or enrolment (key: its normalised form), known or not:
    /// staff failures never share a key with a member's.
    Staff,
    /// A caller's answers to the helpdesk (key: `member:<id>` for the member, `session:<hash>`
    /// for the staff session asking): neither a member's codes nor a staff session can be
    /// guessed at without limit, and a wrong answer never holds the member's own sign-in.
    Caller,
}

impl ThrottleScope {
    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Address => "address",
            Self::UserId => "user_id",
            Self::Mail => "mail",
            Self::Staff => "staff",
            Self::Caller => "caller",
        }
    }
}

/// A sign-in flow (one per signed-in terminal). Only the token's hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// SHA-256 of the bearer token, hex.
    pub token_hash: String,
    /// Whose flow.
    pub member_id: MemberId,
    /// The member's language for this flow (`ja` or `en`).
    pub lang: String,
    /// Whether the identity check (birth date) has been passed in this flow.
    pub birth_verified: bool,
    /// Whether this flow still owes a second-factor code (set at sign-in for members at the top
    /// screen, cleared when a code is accepted).
    pub second_factor_pending: bool,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// The flow is dead at and after this time, Unix seconds.
    pub expires_at: i64,
}

/// A pending email-verification link. Only the token's hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailToken {
    /// SHA-256 of the link's token, hex.
    pub token_hash: String,
    /// Whose address.
    pub member_id: MemberId,
    /// The address the link verifies.
    pub email: String,
    /// The language of the mail (and so of the link's page).
    pub lang: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// The link is dead at and after this time, Unix seconds.
    pub expires_at: i64,
}

/// What opening a verification link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailTokenOutcome {
    /// The address is now verified (the member moved on to choosing a method if they were waiting).
    Verified {
        /// The member after the change.
        member: Box<Member>,
        /// The language the mail was written in.
        lang: String,
    },
    /// The link was already used.
    AlreadyUsed {
        /// The language the mail was written in.
        lang: String,
    },
    /// The link is past its expiry.
    Expired {
        /// The language the mail was written in.
        lang: String,
    },
    /// No such link (never issued, or replaced by a newer mail).
    Unknown,
}

/// Field changes that go with a step change. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberChanges {
    /// A new address to verify; clears `email_verified_at`.
    pub email: Option<String>,
    /// The chosen method.
    pub method: Option<Method>,
    /// The member's own password hash.
    pub password_hash: Option<String>,
    /// A new (already validated, lower-case) user ID; refused with `UserIdTaken` if in use.
    pub user_id: Option<String>,
    /// When the terms were accepted.
    pub terms_accepted_at: Option<i64>,
}

/// One entry of the append-only audit log, as stored and read back. The server makes entries
/// with [`AuditEntry::new`] only; the fields hold the stored text so that entries read back
/// from any database (and any version of it) compare as they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When, Unix seconds.
    pub at: i64,
    /// Who: an [`Actor`] in its text form (`member:<id>`, `staff:<id>`, `system` or `import`).
    pub actor: String,
    /// The member concerned, if any.
    pub member_id: Option<MemberId>,
    /// What happened: an [`AuditAction`]'s stable name such as `terms.accepted`.
    pub action: String,
    /// Free text (never a secret).
    pub detail: String,
}

impl AuditEntry {
    /// An entry of `action` by `actor` at `at`, about `member_id` if any.
    pub fn new(
        at: i64,
        actor: Actor,
        action: AuditAction,
        member_id: Option<MemberId>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            at,
            actor: actor.to_string(),
            member_id,
            action: action.as_str().to_owned(),
            detail: detail.into(),
        }
    }
}

/// A failed attempt (a wrong password or date of birth, or an unknown user ID), counted in one
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    /// When, Unix seconds.
    pub at: i64,
    /// The client address, whose failures are always counted.
    pub address: String,
    /// The member account whose failures are counted too, when the attempt named one.
    pub account: Option<AccountFailure>,
}

/// One key an attempt is reserved on, with the policy that decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKey {
    /// Which kind of key.
    pub scope: ThrottleScope,
    /// The key (an address, a member id).
    pub key: String,
    /// The policy for this kind of key.
    pub policy: ThrottlePolicy,
}

/// One key's record around a reservation, so that a success can take it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedKey {
    /// Which kind of key.
    pub scope: ThrottleScope,
    /// The key.
    pub key: String,
    /// The record before the reservation (after the window's decay).
    pub before: FailureRecord,
    /// The record the reservation stored.
    pub reserved: FailureRecord,
}

/// What reserving an attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptReservation {
    /// Every key took one attempt: check the guess, then release it on success.
    Reserved(Vec<ReservedKey>),
    /// A key refused; nothing was written.
    Refused {
        /// The refusing key's kind.
        scope: ThrottleScope,
        /// Why.
        refusal: Refusal,
    },
}

/// The account side of a [`FailedAttempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFailure {
    /// Whose account.
    pub member_id: MemberId,
    /// The account policy, which decides whether this failure locks the account.
    pub policy: ThrottlePolicy,
    /// Written when the account is locked after this failure; every flow of the member ends too.
    pub lock_audit: AuditEntry,
}

/// The counters after a [`FailedAttempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The address's record.
    pub address: FailureRecord,
    /// The account's record, when one was counted.
    pub account: Option<FailureRecord>,
    /// Whether the account is now locked (its flows have ended and the lock was audited).
    pub locked: bool,
}

/// A step change of one member, with everything that goes with it, as one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Whose.
    pub member_id: MemberId,
    /// The step the member must be at; otherwise [`StoreError::StepMismatch`] and nothing changes.
    pub from: Step,
    /// The step afterwards.
    pub to: Step,
    /// Field changes.
    pub changes: MemberChanges,
    /// A new verification link; the member's other pending links are deleted.
    pub email_token: Option<EmailToken>,
    /// End every flow of the member (sign-out at the end of stage 1, declined terms).
    pub end_flows: bool,
    /// Written in the same transaction.
    pub audit: AuditEntry,
    /// The time of the change, Unix seconds.
    pub at: i64,
}

/// A pending authenticator-app enrollment: the secret shown as a QR code, not yet confirmed
/// with a code. One per member; it stays until confirmed, so reloading the screen shows the
/// same code.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingTotp {
    /// Whose.
    pub member_id: MemberId,
    /// The secret, sealed under the server key (never the clear bytes).
    pub sealed_secret: Vec<u8>,
    /// The parameters the device will use.
    pub params: TotpParams,
    /// When the enrollment started, Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for PendingTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingTotp")
            .field("member_id", &self.member_id)
            .field("sealed_secret", &"<sealed>")
            .field("params", &self.params)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A registered authenticator app.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCredential {
    /// Row id.
    pub id: CredentialId,
    /// Whose.
    pub member_id: MemberId,
    /// The member's name for it (unique per member, case-insensitively for ASCII).
    pub name: String,
    /// The secret, sealed under the server key.
    pub sealed_secret: Vec<u8>,
    /// The parameters it was enrolled with.
    pub params: TotpParams,
    /// The newest step accepted from it: codes of this step or earlier are replays.
    pub last_used_step: Option<u64>,
    /// Registration time, Unix seconds.
    pub created_at: i64,
    /// When a code from it was last accepted, Unix seconds.
    pub last_used_at: Option<i64>,
}

impl std::fmt::Debug for TotpCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpCredential")
            .field("id", &self.id)
            .field("member_id", &self.member_id)
            .field("name", &self.name)
            .field("sealed_secret", &"<sealed>")
            .field("params", &self.params)
            .field("last_used_step", &self.last_used_step)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .finish()
    }
}

/// Confirming a pending enrollment: the device is registered, as one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpConfirmation {
    /// Whose.
    pub member_id: MemberId,
    /// The sealed secret the code was checked against; if the pending enrollment no longer
    /// holds it, nothing changes ([`StoreError::NoEnrollment`]).
    pub sealed_secret: Vec<u8>,
    /// The device name (already checked).
    pub name: String,
    /// The step of the code that confirmed it (the device's first used step).
    pub step: u64,
    /// Refuse with [`StoreError::TooManyDevices`] when the member already has this many.
    pub max_devices: usize,
    /// A step change that goes with it (method set-up → home), checked like [`Transition::from`].
    pub step_change: Option<(Step, Step)>,
    /// Written in the same transaction.
    pub audit: AuditEntry,
    /// The time, Unix seconds.
    pub at: i64,
    // issue 17
    /// When given, every other flow of the member ends in the same transaction (sessions
    /// follow assurance: a flow opened before the member gained this factor).
    pub keep_flow: Option<String>,
}

/// An accepted code, as one transaction: the replay guard moves on, the account's failures are
/// cleared, and the flow no longer owes a second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpUse {
    /// Whose.
    pub member_id: MemberId,
    /// Which device's code.
    pub credential_id: CredentialId,
    /// The matched step; refused (nothing written) unless newer than the device's last used step.
    pub step: u64,
    /// The flow that proved its second factor, if any.
    pub flow_token_hash: Option<String>,
    /// Written in the same transaction.
    pub audit: AuditEntry,
    /// The time, Unix seconds.
    pub at: i64,
}

// ------------------------------------------------------------ mail queue and emailed codes

/// A queued mail's row id.
pub type MailId = i64;

/// A mail to put in the queue. Its body (text and HTML, which carry codes and links) is sealed
/// by the server before it reaches the store, and cleared once the mail leaves the queue.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMail {
    /// What kind of mail (`verification`, `email_code`, …), for the status report.
    pub kind: String,
    /// The recipient's address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The sealed body.
    pub sealed_body: Vec<u8>,
}

impl std::fmt::Debug for NewMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("sealed_body", &"<sealed>")
            .finish()
    }
}

/// A pending mail claimed for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Row id.
    pub id: MailId,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The mail.
    pub mail: NewMail,
}

/// Where a queued mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Handed to the mail server.
    Sent,
    /// Given up after the configured number of attempts.
    Failed,
}

impl MailStatus {
    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// The inverse of [`MailStatus::as_str`].
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// One row of the queue as the status report shows it (never the bodies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSummary {
    /// Row id.
    pub id: MailId,
    /// The kind of mail.
    pub kind: String,
    /// The recipient.
    pub to: String,
    /// Where it is.
    pub status: MailStatus,
    /// Delivery attempts made.
    pub attempts: u32,
    /// When a pending mail is tried next, Unix seconds.
    pub next_attempt_at: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Queued at, Unix seconds.
    pub created_at: i64,
    /// Delivered at, Unix seconds.
    pub sent_at: Option<i64>,
}

/// The queue at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailQueueReport {
    /// Mails waiting for delivery.
    pub pending: u64,
    /// Mails delivered.
    pub sent: u64,
    /// Mails given up on.
    pub failed: u64,
    /// The newest rows, newest first.
    pub recent: Vec<MailSummary>,
}

/// What an emailed code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodePurpose {
    /// Setting up, or signing in with, the email one-time code method.
    SecondFactor,
    /// Resetting a forgotten password.
    PasswordReset,
    /// A code mailed for the caller to read back to the helpdesk (bound to the staff session
    /// that asked for it).
    HelpdeskMailed,
    /// A code the member's own signed-in screen shows for the caller to read to the helpdesk.
    HelpdeskScreen,
}

impl CodePurpose {
    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SecondFactor => "second_factor",
            Self::PasswordReset => "password_reset",
            Self::HelpdeskMailed => "helpdesk_mailed",
            Self::HelpdeskScreen => "helpdesk_screen",
        }
    }
}

/// A new emailed code (only its keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmailCode {
    /// Whose.
    pub member_id: MemberId,
    /// What for.
    pub purpose: CodePurpose,
    /// The keyed hash of the code.
    pub code_hash: String,
    /// Issued at, Unix seconds.
    pub created_at: i64,
    /// Dead at and after, Unix seconds.
    pub expires_at: i64,
    /// Refuse with [`CodeIssue::Cooldown`] while the previous code is younger than this.
    pub cooldown_secs: i64,
}

/// What issuing a code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeIssue {
    /// The code replaced any earlier one (and its mail was queued with it).
    Issued(MailId),
    /// The previous code was issued too recently: nothing changed.
    Cooldown {
        /// Seconds until a new code may be sent.
        retry_after_secs: u64,
    },
}

/// What checking an emailed code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheckOutcome {
    /// Right: the code is used up (deleted).
    Accepted,
    /// Wrong; `attempts_left` more tries of this code.
    Wrong {
        /// Tries left for this code (0: it is dead, ask for a new one).
        attempts_left: u32,
    },
    /// The code has expired, or its tries are used up.
    Expired,
    /// No code was issued (or it was used).
    NoCode,
}

/// The email one-time code method of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailFactor {
    /// Whose.
    pub member_id: MemberId,
    /// Set up at, Unix seconds.
    pub created_at: i64,
    /// Last accepted code, Unix seconds.
    pub last_used_at: Option<i64>,
}

// ------------------------------------------------------------ passkeys

/// Which half of WebAuthn a stored ceremony belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CeremonyKind {
    /// Registering a new passkey.
    Registration,
    /// Signing in with a registered passkey.
    Authentication,
}

impl CeremonyKind {
    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Authentication => "authentication",
        }
    }

    /// The inverse of [`CeremonyKind::as_str`].
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Registration, Self::Authentication]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The server's half of a WebAuthn ceremony between its start and finish requests. One per
/// flow and kind: starting again replaces it; finishing takes it out.
#[derive(Clone, PartialEq, Eq)]
pub struct PasskeyCeremony {
    /// The flow that started it (it ends with the flow).
    pub flow_token_hash: String,
    /// Registration or authentication.
    pub kind: CeremonyKind,
    /// Whose.
    pub member_id: MemberId,
    /// webauthn-rs's serialised state (JSON; holds the challenge).
    pub state: String,
    /// Start time, Unix seconds.
    pub created_at: i64,
    /// Dead at and after this time, Unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for PasskeyCeremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyCeremony")
            .field("kind", &self.kind)
            .field("member_id", &self.member_id)
            .field("state", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyCredential {
    /// Row id.
    pub id: CredentialId,
    /// Whose.
    pub member_id: MemberId,
    /// The member's name for it (unique per member, case-insensitively for ASCII).
    pub name: String,
    /// The WebAuthn credential id, base64url (unique across members).
    pub credential_id: String,
    /// webauthn-rs's `Passkey` as JSON: public key, counter, backup state.
    pub passkey: String,
    /// Registration time, Unix seconds.
    pub created_at: i64,
    /// When it was last used to sign in, Unix seconds.
    pub last_used_at: Option<i64>,
}

/// Registering a passkey, as one transaction: the ceremony is taken out, the credential
/// stored, the step changed and the account's failures cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyEnrollment {
    /// Whose.
    pub member_id: MemberId,
    /// The name (already checked).
    pub name: String,
    /// The WebAuthn credential id, base64url.
    pub credential_id: String,
    /// webauthn-rs's `Passkey` as JSON.
    pub passkey: String,
    /// Refuse with [`StoreError::TooManyDevices`] when the member already has this many.
    pub max_passkeys: usize,
    /// A step change that goes with it (method set-up → home), checked like [`Transition::from`].
    pub step_change: Option<(Step, Step)>,
    /// Written in the same transaction.
    pub audit: AuditEntry,
    /// The time, Unix seconds.
    pub at: i64,
    // issue 17
    /// When given, every other flow of the member ends in the same transaction (sessions
    /// follow assurance: a flow opened before the member gained this factor).
    pub keep_flow: Option<String>,
}

/// A passkey accepted at sign-in, as one transaction: its counter and backup state are
/// stored, the account's failures cleared and the flow no longer owes a second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse {
    /// Whose.
    pub member_id: MemberId,
    /// Which passkey (row id).
    pub id: CredentialId,
    /// The passkey JSON after `update_credential` (`None` when nothing changed).
    pub passkey: Option<String>,
    /// The flow that proved its second factor.
    pub flow_token_hash: String,
    /// Written in the same transaction.
    pub audit: AuditEntry,
    /// The time, Unix seconds.
    pub at: i64,
}

/// The audit entries of issuing an emailed code, written in the code's transaction (issue 17:
/// a code mailed without its entry, or an entry without its code, is never left behind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeIssueAudit {
    /// Written with an issued code; its detail follows `mail <id>` (the queued mail's id).
    pub issued: AuditEntry,
    /// Written when the cooldown refuses a new code; nothing is written when `None`.
    pub cooldown: Option<AuditEntry>,
}

impl CodeIssueAudit {
    /// The entry written for a code whose mail was queued as `mail`.
    pub fn issued_entry(&self, mail: MailId) -> AuditEntry {
        let detail = match self.issued.detail.as_str() {
            "" => format!("mail {mail}"),
            rest => format!("mail {mail} {rest}"),
        };
        AuditEntry {
            detail,
            ..self.issued.clone()
        }
    }
}
