//! Storage: the [`Store`] trait the server talks to, and its implementations.
//!
//! Every method that changes state is one transaction. Nothing that matters lives in a
//! server process's memory, so several servers can share one database. Times are Unix
//! seconds (UTC) supplied by the caller, so tests can move the clock.

pub mod roster;
pub mod sqlite;

use async_trait::async_trait;

use crate::domain::{
    BirthDate, EmailAddress, FailureRecord, InsuranceCard, Method, Step, ThrottlePolicy,
    TotpParams, UserId,
};

/// The kind of database a `--database` value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file path, `:memory:`, or a `sqlite:` URL.
    Sqlite,
}

/// Which backend `target` names, from its URL scheme; a value without a scheme is a SQLite path.
///
/// The error never repeats `target` itself: a PostgreSQL URL usually carries a password.
pub fn backend_of(target: &str) -> Result<Backend, StoreError> {
    let lower = target.trim_start().to_ascii_lowercase();
    if lower.starts_with("sqlite:") || lower.starts_with(":memory:") {
        return Ok(Backend::Sqlite);
    }
    if lower.starts_with("postgres:") || lower.starts_with("postgresql:") {
        return Err(StoreError::Unsupported(
            "PostgreSQL is not supported yet; use a SQLite path".to_owned(),
        ));
    }
    // `scheme://` (RFC 3986 scheme characters) is a URL of some other kind; anything else,
    // including a file name with a colon in it, is a path.
    if let Some((scheme, _)) = lower.split_once("://")
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(StoreError::Unsupported(format!(
            "unknown database URL scheme {scheme}://; use a SQLite path or a sqlite:// URL"
        )));
    }
    Ok(Backend::Sqlite)
}

/// A member's row id.
pub type MemberId = i64;

/// A registered authenticator app's row id.
pub type CredentialId = i64;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The member is not at the step the change expected (a concurrent or out-of-order request).
    #[error("the member is at step {current:?}, not the one this change expects")]
    StepMismatch {
        /// Where the member is.
        current: Step,
    },
    /// Another member already has that user ID.
    #[error("that user ID is taken")]
    UserIdTaken,
    /// No member with that id.
    #[error("no such member")]
    NotFound,
    /// The database URL or path could not be used.
    #[error("cannot open the database: {0}")]
    Open(String),
    /// The database URL names a kind of database this build cannot use.
    #[error("{0}")]
    Unsupported(String),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A stored value could not be read back (a bug or a hand-edited database).
    #[error("corrupt value in the database: {0}")]
    Corrupt(String),
    /// The member already has a device of that name.
    #[error("the member already has a device of that name")]
    DeviceNameTaken,
    /// The member already has the most devices allowed.
    #[error("the member already has the most devices allowed")]
    TooManyDevices,
    /// Removing this would leave the member without a second factor.
    #[error("this is the member's last second factor")]
    LastSecondFactor,
    /// No pending enrollment (never started, or already confirmed).
    #[error("no pending enrollment")]
    NoEnrollment,
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    // issue 6
    /// That WebAuthn credential is already registered (to this member or another).
    #[error("that passkey is already registered")]
    CredentialTaken,
}

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
}

impl ThrottleScope {
    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Address => "address",
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

/// One entry of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When, Unix seconds.
    pub at: i64,
    /// Who: `member:<id>`, `staff:<id>`, `system` or `import`.
    pub actor: String,
    /// The member concerned, if any.
    pub member_id: Option<MemberId>,
    /// What happened, a stable name such as `terms.accepted`.
    pub action: String,
    /// Free text (never a secret).
    pub detail: String,
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

// issue 5

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
}

impl CodePurpose {
    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SecondFactor => "second_factor",
            Self::PasswordReset => "password_reset",
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

// issue 6: passkeys.

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

/// Persistence for the server. Implemented for SQLite (default) and, later, PostgreSQL.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts or updates a batch of roster rows in one transaction (keyed by card symbol and
    /// number). Name and birth date follow the roster; email and user ID follow it only while the
    /// member has not started (still at the terms, no own password). A user ID that belongs to
    /// another member rejects the row.
    async fn import_roster(&self, rows: &[RosterRow], at: i64)
    -> Result<ImportOutcome, StoreError>;

    /// What [`Store::import_roster`] would do with a batch, changing nothing: the same checks
    /// in a transaction that is rolled back (`tobira admin import --dry-run`).
    async fn preview_roster(
        &self,
        rows: &[RosterRow],
        at: i64,
    ) -> Result<ImportOutcome, StoreError>;

    /// Number of members.
    async fn member_count(&self) -> Result<u64, StoreError>;

    /// Whether there is any member (constant time, unlike a count: start-up asks it).
    async fn has_members(&self) -> Result<bool, StoreError>;

    /// A member by row id.
    async fn member(&self, id: MemberId) -> Result<Option<Member>, StoreError>;

    /// A member by user ID (the caller passes the lower-cased form).
    async fn member_by_user_id(&self, user_id: &str) -> Result<Option<Member>, StoreError>;

    /// The failure record of a key (zero when none).
    async fn failures(&self, scope: ThrottleScope, key: &str) -> Result<FailureRecord, StoreError>;

    /// Adds one failure at `at` and returns the new record (atomic under concurrency).
    async fn record_failure(
        &self,
        scope: ThrottleScope,
        key: &str,
        at: i64,
    ) -> Result<FailureRecord, StoreError>;

    /// Forgets a key's failures (after a success, or the helpdesk lifting a lock).
    async fn clear_failures(&self, scope: ThrottleScope, key: &str) -> Result<(), StoreError>;

    /// Stores a new flow (without an audit entry: tools and tests; sign-in uses [`Store::start_flow`]).
    async fn create_flow(&self, flow: &Flow) -> Result<(), StoreError>;

    /// A successful sign-in, in one transaction: forgets the failures of the keys in `clear`,
    /// stores the new flow and writes `audit`.
    async fn start_flow(
        &self,
        flow: &Flow,
        clear: &[(ThrottleScope, String)],
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Counts a failed attempt in one transaction; if it locks the account, every flow of the
    /// member ends and the lock is audited in the same transaction.
    async fn record_failed_attempt(
        &self,
        attempt: &FailedAttempt,
    ) -> Result<AttemptOutcome, StoreError>;

    /// Ends every flow of a member (an account found held) and writes `audit`, in one
    /// transaction; returns how many flows ended.
    async fn end_member_flows(
        &self,
        member_id: MemberId,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError>;

    /// A flow by token hash, expired or not (the caller checks `expires_at`).
    async fn flow(&self, token_hash: &str) -> Result<Option<Flow>, StoreError>;

    /// Extends a live flow's expiry (idle timeout).
    async fn touch_flow(&self, token_hash: &str, expires_at: i64) -> Result<(), StoreError>;

    /// Marks the identity check passed, clears the account's failures and writes `audit`, in one transaction.
    async fn pass_birth_date(&self, token_hash: &str, audit: &AuditEntry)
    -> Result<(), StoreError>;

    /// Deletes one flow and writes `audit` (a sign-out; `None` for an expired flow), in one
    /// transaction. An unknown flow is not an error, and then nothing is written.
    async fn end_flow(
        &self,
        token_hash: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError>;

    /// Deletes flows whose expiry is at or before `now`; returns how many.
    async fn purge_expired_flows(&self, now: i64) -> Result<u64, StoreError>;

    /// Applies a step change and everything that goes with it, in one transaction.
    async fn apply(&self, transition: &Transition) -> Result<Member, StoreError>;

    /// Uses a verification link once, in one transaction (marks it used, verifies the address,
    /// moves a waiting member on to choosing a method, writes the audit entry).
    async fn consume_email_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<EmailTokenOutcome, StoreError>;

    /// Appends to the audit log (which refuses updates and deletes).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The newest audit entries, newest first, optionally for one member.
    async fn audit_log(
        &self,
        member_id: Option<MemberId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Starts an authenticator-app enrollment, or returns the one already pending (whose secret
    /// is kept, so reloading the screen shows the same QR code). One transaction.
    async fn start_totp_enrollment(&self, pending: &PendingTotp)
    -> Result<PendingTotp, StoreError>;

    /// The member's pending enrollment, if any.
    async fn totp_enrollment(&self, member_id: MemberId)
    -> Result<Option<PendingTotp>, StoreError>;

    /// Registers the pending device under its name, in one transaction (see [`TotpConfirmation`]).
    async fn confirm_totp_enrollment(
        &self,
        confirmation: &TotpConfirmation,
    ) -> Result<(Member, TotpCredential), StoreError>;

    /// The member's registered authenticator apps, oldest first.
    async fn totp_credentials(
        &self,
        member_id: MemberId,
    ) -> Result<Vec<TotpCredential>, StoreError>;

    /// Records an accepted code (see [`TotpUse`]); `false` when the step was already used, in
    /// which case nothing changes.
    async fn use_totp_step(&self, accepted: &TotpUse) -> Result<bool, StoreError>;

    /// Renames one of the member's devices ([`StoreError::NotFound`], [`StoreError::DeviceNameTaken`]).
    async fn rename_totp_credential(
        &self,
        member_id: MemberId,
        id: CredentialId,
        name: &str,
        audit: &AuditEntry,
    ) -> Result<TotpCredential, StoreError>;

    /// Removes one of the member's devices, never the last second factor
    /// ([`StoreError::LastSecondFactor`]).
    async fn remove_totp_credential(
        &self,
        member_id: MemberId,
        id: CredentialId,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Sets the member's password hash and ends every other flow of the member (sessions
    /// elsewhere must sign in with the new password), with `audit`, in one transaction; returns
    /// how many flows ended.
    async fn change_password(
        &self,
        member_id: MemberId,
        password_hash: &str,
        keep_flow: &str,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError>;

    // issue 5

    /// Puts a mail in the queue, claimed by the caller until `claim_until` (the caller tries
    /// it once at once; if the caller dies, the delivery worker takes it after that time).
    async fn enqueue_mail(
        &self,
        mail: &NewMail,
        at: i64,
        claim_until: i64,
    ) -> Result<MailId, StoreError>;

    /// Claims up to `limit` pending mails due at `now` for one attempt each, moving them to
    /// `claim_until` so no other sender takes them meanwhile. Oldest first.
    async fn claim_due_mail(
        &self,
        now: i64,
        claim_until: i64,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError>;

    /// Records a delivered mail (its bodies are cleared).
    async fn mail_sent(&self, id: MailId, at: i64) -> Result<(), StoreError>;

    /// Records a failed attempt: tried again at `retry_at`, or given up (`failed`, bodies
    /// cleared) when `None`.
    async fn mail_attempt_failed(
        &self,
        id: MailId,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<(), StoreError>;

    /// Counts by status and the `limit` newest rows.
    async fn mail_queue_report(&self, limit: u32) -> Result<MailQueueReport, StoreError>;

    /// Issues an emailed code and queues its mail, in one transaction, unless the previous
    /// code of the same purpose is still in its cooldown. The mail is claimed until
    /// `claim_until` (see [`Store::enqueue_mail`]).
    async fn issue_email_code(
        &self,
        code: &NewEmailCode,
        mail: &NewMail,
        claim_until: i64,
    ) -> Result<CodeIssue, StoreError>;

    /// Checks an emailed code (by keyed hash) in one transaction: right and live, it is used
    /// up; wrong, one of its `max_attempts` tries is used.
    async fn check_email_code(
        &self,
        member_id: MemberId,
        purpose: CodePurpose,
        code_hash: &str,
        max_attempts: u32,
        now: i64,
    ) -> Result<CodeCheckOutcome, StoreError>;

    /// The member's email one-time code method, when set up.
    async fn email_factor(&self, member_id: MemberId) -> Result<Option<EmailFactor>, StoreError>;

    /// Sets up the email one-time code method (it becomes the member's chosen method, the one
    /// asked for at sign-in), with an optional step change checked like [`Transition::from`],
    /// the audit entry, and the flow's second factor proved, in one transaction.
    async fn enable_email_factor(
        &self,
        member_id: MemberId,
        step_change: Option<(Step, Step)>,
        flow_token_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<Member, StoreError>;

    /// An accepted emailed code at sign-in: the account's failures are cleared, the flow no
    /// longer owes a second factor, `audit` is written, in one transaction.
    async fn pass_email_factor(
        &self,
        member_id: MemberId,
        flow_token_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<(), StoreError>;

    /// How many second factors the member has (authenticator apps and the email method).
    async fn second_factor_count(&self, member_id: MemberId) -> Result<usize, StoreError>;

    /// A member by insurance card (symbol and number, normalised).
    async fn member_by_card(&self, card: &InsuranceCard) -> Result<Option<Member>, StoreError>;

    /// A forgotten password replaced, in one transaction: the new hash is set, every flow
    /// (session) of the member ends, the account's failures are cleared, `audit` is written.
    /// The member's step stays as it is (a member in the first login goes on with it).
    async fn reset_password(
        &self,
        member_id: MemberId,
        password_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<Member, StoreError>;

    /// A change of address from the top screen, in one transaction: `token` (for the new
    /// address) replaces the member's pending links and, once opened, switches the address
    /// (see [`Store::consume_email_token`]); `mails` are queued, claimed until `claim_until`;
    /// `audit` is written. The current address stays until then.
    async fn start_email_change(
        &self,
        token: &EmailToken,
        mails: &[NewMail],
        claim_until: i64,
        audit: &AuditEntry,
    ) -> Result<Vec<MailId>, StoreError>;

    /// Removes the email one-time code method, never the last second factor
    /// ([`StoreError::LastSecondFactor`]; [`StoreError::NotFound`] when not set up); a member
    /// whose chosen method it was goes on with their authenticator apps. One transaction.
    async fn remove_email_factor(
        &self,
        member_id: MemberId,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<(), StoreError>;
    // issue 6: passkeys.

    /// Stores a ceremony's state, replacing any of the same flow and kind.
    async fn save_passkey_ceremony(&self, ceremony: &PasskeyCeremony) -> Result<(), StoreError>;

    /// Takes a ceremony out (it can be finished once); `None` when there is none or it expired
    /// at or before `now`. Expired ceremonies of every flow are deleted on the way.
    async fn take_passkey_ceremony(
        &self,
        flow_token_hash: &str,
        kind: CeremonyKind,
        now: i64,
    ) -> Result<Option<PasskeyCeremony>, StoreError>;

    /// The member's registered passkeys, oldest first.
    async fn passkeys(&self, member_id: MemberId) -> Result<Vec<PasskeyCredential>, StoreError>;

    /// Registers a passkey (see [`PasskeyEnrollment`]); [`StoreError::CredentialTaken`],
    /// [`StoreError::DeviceNameTaken`], [`StoreError::TooManyDevices`].
    async fn add_passkey(
        &self,
        enrollment: &PasskeyEnrollment,
    ) -> Result<(Member, PasskeyCredential), StoreError>;

    /// Records a passkey sign-in (see [`PasskeyUse`]).
    async fn use_passkey(&self, used: &PasskeyUse) -> Result<(), StoreError>;

    /// Renames one of the member's passkeys ([`StoreError::NotFound`], [`StoreError::DeviceNameTaken`]).
    async fn rename_passkey(
        &self,
        member_id: MemberId,
        id: CredentialId,
        name: &str,
        audit: &AuditEntry,
    ) -> Result<PasskeyCredential, StoreError>;

    /// Removes one of the member's passkeys, never the last second factor
    /// ([`StoreError::LastSecondFactor`]).
    async fn remove_passkey(
        &self,
        member_id: MemberId,
        id: CredentialId,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        for ok in [
            "tobira.db",
            "/var/lib/tobira/tobira.db",
            "./odd:name.db",
            "sqlite:///tmp/x.db",
            "sqlite://x.db?mode=rwc",
            "SQLITE:x.db",
            ":memory:",
        ] {
            assert_eq!(backend_of(ok).unwrap(), Backend::Sqlite, "{ok}");
        }
        for pg in ["postgres://u:secret@db/tobira", "postgresql://db/tobira"] {
            let e = backend_of(pg).unwrap_err().to_string();
            assert_eq!(e, "PostgreSQL is not supported yet; use a SQLite path");
        }
        let e = backend_of("mysql://u:secret@db/x").unwrap_err().to_string();
        assert!(e.contains("mysql://") && !e.contains("secret"), "{e}");
    }
}
