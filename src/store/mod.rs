//! Storage: one trait per concern (members, flows, factors, codes, mail, audit, staff, the helpdesk
//! search), composed into the [`Store`] the server talks to, and the implementations.
//!
//! Every method that changes state is one transaction. Each reads what it needs, asks the
//! rules in [`crate::domain`] (lock verdict, device cap, cooldowns, code tries and expiry,
//! who may remove which factor) and writes, so every backend applies the same rules. What SQL
//! still compares is named where it stands: guards that must be one atomic statement (the TOTP
//! replay guard's compare-and-set, a mail leaving `pending` once), bulk purges of expired rows,
//! and the set-based roster import (`sqlite/import.rs`).
//!
//! Nothing that matters lives in a server process's memory, so several servers can share one
//! database. Times are Unix seconds (UTC) supplied by the caller, so tests can move the clock.
//!
//! A caller holding a concrete store (not `dyn Store`) brings the concern traits into scope
//! with `use tobira::store::prelude::*`.

pub mod audit_query;
pub mod helpdesk;
pub mod helpdesk_actions;
pub mod model;
pub mod postgres;
pub mod roster;
pub mod search;
pub mod sign_in;
pub mod sql;
pub mod sqlite;
pub mod staff;

use async_trait::async_trait;

pub use audit_query::{AuditFilter, AuditPage, AuditPageRequest, AuditRecord};
pub use helpdesk::{HelpdeskStore, MailState, NewCallerVerification, SignInGuard};
pub use helpdesk_actions::{
    EnrolmentPassUse, HelpdeskActionStore, HelpdeskChange, HelpdeskWrite, NewEnrolmentPass,
};
pub use model::*;
pub use search::{MemberSearch, PageRequest, SearchHit, SearchPage};
pub use sign_in::{SecondFactorTally, SignInFinish, SignInFinished, SignInStore};
pub use staff::*;

use crate::domain::{Actor, FailureRecord, InsuranceCard, Step};

/// The concern traits and [`Store`], for callers that hold a concrete store.
pub mod prelude {
    pub use super::{
        AuditStore, CodeStore, FactorStore, FlowStore, HelpdeskActionStore, HelpdeskStore,
        MailStore, MemberSearch, MemberStore, SignInStore, StaffStore, Store,
    };
}

/// The kind of database a `--database` value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file path, `:memory:`, or a `sqlite:` URL.
    Sqlite,
    /// A `postgres://` or `postgresql://` URL.
    Postgres,
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
        return Ok(Backend::Postgres);
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
            "unknown database URL scheme {scheme}://; use a SQLite path, a sqlite:// URL or a \
             postgres:// URL"
        )));
    }
    Ok(Backend::Sqlite)
}

/// Opens the database `target` names (see [`backend_of`]; a SQLite file is created if missing)
/// and applies its pending migrations.
pub async fn open(target: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    Ok(match backend_of(target)? {
        Backend::Sqlite => std::sync::Arc::new(sqlite::SqliteStore::open(target).await?),
        Backend::Postgres => std::sync::Arc::new(postgres::PgStore::connect(target).await?),
    })
}

/// A migration that [`migrate`] applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its number (the file name's prefix).
    pub version: i64,
    /// Its name (the rest of the file name).
    pub name: String,
}

/// Applies the pending migrations of the database `target` names (`tobira admin migrate`);
/// returns those this call applied, in order (none when it was up to date).
pub async fn migrate(target: &str) -> Result<Vec<AppliedMigration>, StoreError> {
    let applied = match backend_of(target)? {
        Backend::Sqlite => sqlite::SqliteStore::open_migrating(target).await?.1,
        Backend::Postgres => {
            postgres::PgStore::connect_only(target)
                .await?
                .migrate()
                .await?
        }
    };
    Ok(applied
        .into_iter()
        .map(|(version, name)| AppliedMigration { version, name })
        .collect())
}

/// `target` as it may be shown or logged: the password of a URL (in its user information or a
/// `password=` parameter) replaced by `***`. A SQLite path is returned as it is.
pub fn redacted(target: &str) -> String {
    let Some((scheme, rest)) = target.split_once("://") else {
        return target.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

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
    // issue 13
    /// Another staff account already has that login.
    #[error("that staff login is taken")]
    StaffLoginTaken,
}

/// Members and the roster: lookups, the import, step changes and passwords.
#[async_trait]
pub trait MemberStore: Send + Sync {
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

    /// A member by insurance card (symbol and number, normalised).
    async fn member_by_card(&self, card: &InsuranceCard) -> Result<Option<Member>, StoreError>;

    /// Applies a step change and everything that goes with it, in one transaction.
    async fn apply(&self, transition: &Transition) -> Result<Member, StoreError>;

    /// [`Self::apply`] with `mail` queued in the same transaction, claimed by the caller until
    /// `claim_until` (the caller tries it at once): a crash can leave neither a step that
    /// promises a mail without it, nor a mail for a step that did not happen.
    async fn apply_with_mail(
        &self,
        transition: &Transition,
        mail: &NewMail,
        claim_until: i64,
    ) -> Result<(Member, MailId), StoreError>;

    /// Sets the member's password hash and ends every other flow of the member (sessions
    /// elsewhere must sign in with the new password), with `audit`, in one transaction; pending
    /// address changes and reset codes die with it. Returns how many flows ended.
    async fn change_password(
        &self,
        member_id: MemberId,
        password_hash: &str,
        keep_flow: &str,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError>;

    /// A forgotten password replaced, in one transaction: the new hash is set, every flow
    /// (session) of the member ends, the account's failures are cleared, pending address
    /// changes and reset codes die, `audit` is written.
    /// The member's step stays as it is (a member in the first login goes on with it).
    async fn reset_password(
        &self,
        member_id: MemberId,
        password_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<Member, StoreError>;

    // issue 17
    /// Called once before the batches of a roster import (not of a dry run): a store may
    /// prepare for a large load. Does nothing unless the store says otherwise.
    async fn roster_load_begin(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Called once after the batches of that import, whether they all went in or not: undoes
    /// what [`Self::roster_load_begin`] changed. Does nothing unless the store says otherwise.
    async fn roster_load_end(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Sign-in flows and the failure counters that guard signing in.
#[async_trait]
pub trait FlowStore: Send + Sync {
    /// The failure record of a key (zero when none).
    async fn failures(&self, scope: ThrottleScope, key: &str) -> Result<FailureRecord, StoreError>;

    /// Adds one failure at `at` and returns the new record (atomic under concurrency).
    async fn record_failure(
        &self,
        scope: ThrottleScope,
        key: &str,
        at: i64,
    ) -> Result<FailureRecord, StoreError>;

    /// Reserves one attempt on every key before a guess is checked, in one transaction: each
    /// key's record is read, [`crate::domain::ThrottlePolicy::reserve`] decides, and either
    /// every key takes one attempt (counted as a failure until released) or nothing is written.
    async fn reserve_attempt(
        &self,
        keys: &[ThrottleKey],
        now: i64,
    ) -> Result<AttemptReservation, StoreError>;

    /// Takes back a reservation whose guess was right ([`crate::domain::lockout::release`]),
    /// in one transaction.
    async fn release_attempt(&self, reserved: &[ReservedKey]) -> Result<(), StoreError>;

    /// The helpdesk lifts a hold, in one transaction: the failures of the member's account and
    /// of `user_id` (as typed at sign-in) are forgotten and `audit` is written.
    async fn lift_hold(
        &self,
        member_id: MemberId,
        user_id: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Forgets a key's failures (after a success, or the helpdesk lifting a lock).
    async fn clear_failures(&self, scope: ThrottleScope, key: &str) -> Result<(), StoreError>;

    /// Counts a failed attempt in one transaction; if it locks the account, every flow of the
    /// member ends and the lock is audited in the same transaction.
    async fn record_failed_attempt(
        &self,
        attempt: &FailedAttempt,
    ) -> Result<AttemptOutcome, StoreError>;

    /// Stores a new flow (without an audit entry: tools and tests; sign-in uses [`FlowStore::start_flow`]).
    async fn create_flow(&self, flow: &Flow) -> Result<(), StoreError>;

    /// A successful sign-in, in one transaction: forgets the failures of the keys in `clear`,
    /// stores the new flow and writes `audit`.
    async fn start_flow(
        &self,
        flow: &Flow,
        clear: &[(ThrottleScope, String)],
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Ends every flow of a member (an account found held) and writes `audit`, in one
    /// transaction; returns how many flows ended.
    async fn end_member_flows(
        &self,
        member_id: MemberId,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError>;

    /// Ends every flow of a member but `keep` (the member's assurance changed in that flow: a
    /// factor gained or lost, a new address); returns how many ended.
    async fn end_other_flows(&self, member_id: MemberId, keep: &str) -> Result<u64, StoreError>;

    /// Records that the flow proved the member again at `at` (step-up).
    async fn record_step_up(&self, token_hash: &str, at: i64) -> Result<(), StoreError>;

    /// When the flow last proved the member again, if ever.
    async fn stepped_up_at(&self, token_hash: &str) -> Result<Option<i64>, StoreError>;

    /// A flow by token hash, expired or not (the caller checks `expires_at`).
    async fn flow(&self, token_hash: &str) -> Result<Option<Flow>, StoreError>;

    /// Extends a live flow's expiry (idle timeout).
    async fn touch_flow(&self, token_hash: &str, expires_at: i64) -> Result<(), StoreError>;

    /// The member switched to `lang` (a code) in a live flow: the flow's mail and pages, and
    /// the member's later helpdesk mail, follow it. One transaction; an ended flow is left alone.
    async fn set_flow_lang(&self, token_hash: &str, lang: &str) -> Result<(), StoreError>;

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
}

/// Second factors: authenticator apps, passkeys (and their ceremonies) and the email method.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// How many second factors the member has (authenticator apps and the email method).
    async fn second_factor_count(&self, member_id: MemberId) -> Result<usize, StoreError>;

    /// Starts an authenticator-app enrollment, or returns the one already pending (whose secret
    /// is kept, so reloading the screen shows the same QR code). One transaction.
    async fn start_totp_enrollment(&self, pending: &PendingTotp)
    -> Result<PendingTotp, StoreError>;

    /// The member's pending enrollment, if any.
    async fn totp_enrollment(&self, member_id: MemberId)
    -> Result<Option<PendingTotp>, StoreError>;

    /// Registers the pending device under its name, in one transaction (see [`TotpConfirmation`]);
    /// authenticator apps become the member's chosen method, the one asked for first at sign-in.
    async fn confirm_totp_enrollment(
        &self,
        confirmation: &TotpConfirmation,
    ) -> Result<(Member, TotpCredential), StoreError>;

    /// The member's registered authenticator apps, oldest first.
    async fn totp_credentials(
        &self,
        member_id: MemberId,
    ) -> Result<Vec<TotpCredential>, StoreError>;

    /// Marks `step` of a device burnt without accepting it (a code that matched a step ahead of
    /// the window: refused now, it must never be accepted later either); other steps stay as
    /// they are.
    async fn burn_totp_step(
        &self,
        member_id: MemberId,
        id: CredentialId,
        step: u64,
    ) -> Result<(), StoreError>;

    /// Whether `step` of a device was burnt.
    async fn totp_step_burnt(&self, id: CredentialId, step: u64) -> Result<bool, StoreError>;

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

    /// Removes one of the member's devices, if `by` may remove it (see
    /// [`crate::domain::factors::may_remove`]: [`StoreError::LastSecondFactor`],
    /// [`StoreError::NotFound`] for another member's device).
    async fn remove_totp_credential(
        &self,
        member_id: MemberId,
        id: CredentialId,
        by: Actor,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

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

    /// Registers a passkey (see [`PasskeyEnrollment`]); passkeys become the member's chosen
    /// method, the one asked for first at sign-in. [`StoreError::CredentialTaken`],
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

    /// Removes one of the member's passkeys, if `by` may remove it (like
    /// [`FactorStore::remove_totp_credential`]).
    async fn remove_passkey(
        &self,
        member_id: MemberId,
        id: CredentialId,
        by: Actor,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The member's email one-time code method, when set up.
    async fn email_factor(&self, member_id: MemberId) -> Result<Option<EmailFactor>, StoreError>;

    /// Sets up the email one-time code method (it becomes the member's chosen method, the one
    /// asked for at sign-in), with an optional step change checked like [`Transition::from`],
    /// the audit entry, and the flow's second factor proved, in one transaction; every other
    /// flow of the member ends with it (sessions follow assurance).
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

    /// Removes the email one-time code method, if `by` may remove it (like
    /// [`FactorStore::remove_totp_credential`]; [`StoreError::NotFound`] when not set up); a member
    /// whose chosen method it was goes on with their authenticator apps. One transaction.
    async fn remove_email_factor(
        &self,
        member_id: MemberId,
        by: Actor,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<(), StoreError>;

    // issue 17
    /// [`FactorStore::start_totp_enrollment`] with `audit`, in one transaction: the entry is
    /// written only when this call started the enrollment (not for one already pending).
    async fn start_totp_enrollment_audited(
        &self,
        pending: &PendingTotp,
        audit: &AuditEntry,
    ) -> Result<PendingTotp, StoreError>;

    /// A member removes one of their own second factors (`method` and `id` as in
    /// [`HelpdeskChange::RemoveFactor`]; never the last: [`StoreError::LastSecondFactor`],
    /// [`StoreError::NotFound`]), in one transaction with `audit` and the end of every other
    /// flow of the member but `keep_flow` (sessions follow assurance). Returns how many ended.
    async fn remove_own_factor(
        &self,
        member_id: MemberId,
        method: crate::domain::Method,
        id: CredentialId,
        keep_flow: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<u64, StoreError>;
}

/// Emailed codes and verification links.
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Issues an emailed code and queues its mail, in one transaction, unless the previous
    /// code of the same purpose is still in its cooldown. The mail is claimed until
    /// `claim_until` (see [`MailStore::enqueue_mail`]).
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

    /// Uses a verification link once, in one transaction (marks it used, verifies the address,
    /// moves a waiting member on to choosing a method, writes the audit entry).
    async fn consume_email_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<EmailTokenOutcome, StoreError>;

    /// A change of address from the top screen, in one transaction: `token` (for the new
    /// address) replaces the member's pending links and, once opened, switches the address
    /// (see [`CodeStore::consume_email_token`]); `mails` are queued, claimed until `claim_until`;
    /// `audit` is written; with `keep_flow`, every other flow of the member ends (sessions
    /// follow assurance). The current address stays until then.
    async fn start_email_change(
        &self,
        token: &EmailToken,
        mails: &[NewMail],
        claim_until: i64,
        audit: &AuditEntry,
        keep_flow: Option<&str>,
    ) -> Result<Vec<MailId>, StoreError>;

    // issue 17
    /// [`CodeStore::issue_email_code`] with its audit entry (see [`CodeIssueAudit`]), all in
    /// one transaction: the code, its mail and the entry are written together or not at all.
    async fn issue_email_code_audited(
        &self,
        code: &NewEmailCode,
        mail: &NewMail,
        claim_until: i64,
        audit: &CodeIssueAudit,
    ) -> Result<CodeIssue, StoreError>;
}

/// The outgoing mail queue.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Puts a mail in the queue, claimed by the caller until `claim_until` (the caller tries
    /// it once at once; if the caller dies, the delivery worker takes it after that time).
    async fn enqueue_mail(
        &self,
        mail: &NewMail,
        at: i64,
        claim_until: i64,
    ) -> Result<MailId, StoreError>;

    /// Queues `mail` (claimed until `claim_until`) and appends `audit`, in one transaction.
    async fn enqueue_mail_audited(
        &self,
        mail: &NewMail,
        at: i64,
        claim_until: i64,
        audit: &AuditEntry,
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
}

/// The append-only audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends to the audit log (which refuses updates and deletes).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The newest audit entries, newest first, optionally for one member.
    async fn audit_log(
        &self,
        member_id: Option<MemberId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// One page of the entries matching `filter`, in id (append) order, newest first unless
    /// [`AuditFilter::oldest_first`], starting after `page.after`.
    async fn audit_page(
        &self,
        filter: &AuditFilter,
        page: &AuditPageRequest,
    ) -> Result<AuditPage, StoreError>;
}

/// Persistence for the server: every concern in one object, so the server holds one
/// `Arc<dyn Store>`. Implemented for SQLite (default) and PostgreSQL; any type with all the
/// concerns is a `Store`.
pub trait Store:
    MemberStore
    + FlowStore
    + FactorStore
    + CodeStore
    + MailStore
    + AuditStore
    + StaffStore
    + MemberSearch
    + HelpdeskStore
    + HelpdeskActionStore
    + SignInStore
    + 'static
{
}

impl<T> Store for T where
    T: MemberStore
        + FlowStore
        + FactorStore
        + CodeStore
        + MailStore
        + AuditStore
        + StaffStore
        + MemberSearch
        + HelpdeskStore
        + HelpdeskActionStore
        + SignInStore
        + 'static
{
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
        for pg in [
            "postgres://u:secret@db/tobira",
            "postgresql://db/tobira",
            "POSTGRES://db:5433/tobira?sslmode=require",
            "postgres:///tobira?host=/run/postgresql",
        ] {
            assert_eq!(backend_of(pg).unwrap(), Backend::Postgres, "{pg}");
        }
        let e = backend_of("mysql://u:secret@db/x").unwrap_err().to_string();
        assert!(e.contains("mysql://") && !e.contains("secret"), "{e}");
    }

    #[test]
    fn passwords_are_redacted_from_shown_urls() {
        for (url, shown) in [
            (
                "postgres://tobira:s3cret@db.example:5432/tobira",
                "postgres://tobira:***@db.example:5432/tobira",
            ),
            (
                "postgresql://tobira:p@ss:w@rd@db/tobira?sslmode=require",
                "postgresql://tobira:***@db/tobira?sslmode=require",
            ),
            (
                "postgres://db/tobira?user=t&password=s3cret&sslmode=require",
                "postgres://db/tobira?user=t&password=***&sslmode=require",
            ),
            ("postgres://tobira@db/tobira", "postgres://tobira@db/tobira"),
            ("/var/lib/tobira/tobira.db", "/var/lib/tobira/tobira.db"),
            ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
        ] {
            assert_eq!(redacted(url), shown, "{url}");
        }
    }
}
