//! Helpdesk staff accounts, their enrolment codes, authenticator apps and sessions: the
//! [`StaffStore`] concern and its records. Staff never share a table with members.

use async_trait::async_trait;

use super::{AuditEntry, CeremonyKind, StoreError};
use crate::domain::{StaffPhase, StaffRole, TotpParams};

/// A staff row id.
pub type StaffId = i64;

/// A staff account as stored. `password_hash` is for the sign-in check only: nothing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// Row id.
    pub id: StaffId,
    /// The login, lower-case.
    pub login: String,
    /// The name shown in the console and the audit log.
    pub display_name: String,
    /// What the account may do.
    pub role: StaffRole,
    /// argon2id PHC string; `None` until the enrolment sets it (and after a reset).
    pub password_hash: Option<String>,
    /// `false` once disabled.
    pub enabled: bool,
    /// Added at, Unix seconds.
    pub created_at: i64,
    /// Last changed at, Unix seconds.
    pub updated_at: i64,
}

/// A staff account to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    /// The login, already in its stored form ([`crate::domain::staff::parse_login`]).
    pub login: String,
    /// The display name, already checked.
    pub display_name: String,
    /// The role.
    pub role: StaffRole,
    /// When, Unix seconds.
    pub at: i64,
}

/// A new enrolment code: only its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrolmentCode {
    /// HMAC of the code under the server key, hex.
    pub code_hash: String,
    /// Issued at, Unix seconds.
    pub created_at: i64,
    /// Dead at and after, Unix seconds.
    pub expires_at: i64,
}

/// A staff member's enrolment code on record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffEnrolmentCode {
    /// Whose.
    pub staff_id: StaffId,
    /// HMAC of the code under the server key, hex.
    pub code_hash: String,
    /// Issued at, Unix seconds.
    pub created_at: i64,
    /// Dead at and after, Unix seconds.
    pub expires_at: i64,
    /// When it was used for an enrolment, if it was.
    pub used_at: Option<i64>,
}

/// A staff session (or a half-done sign-in or enrolment). Only the token's hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSessionRecord {
    /// SHA-256 of the bearer token, hex.
    pub token_hash: String,
    /// Whose.
    pub staff_id: StaffId,
    /// What the session may do.
    pub phase: StaffPhase,
    /// The sealed authenticator secret being set up (enrolling sessions only).
    pub pending_secret: Option<Vec<u8>>,
    /// Opened at, Unix seconds.
    pub created_at: i64,
    /// Last used at, Unix seconds.
    pub last_seen_at: i64,
    /// Idle expiry: dead at and after, Unix seconds.
    pub expires_at: i64,
    /// Absolute expiry: dead at and after, however active.
    pub absolute_expires_at: i64,
}

/// A staff member's authenticator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffTotpCredential {
    /// Row id.
    pub id: i64,
    /// Whose.
    pub staff_id: StaffId,
    /// The device's name.
    pub name: String,
    /// The secret sealed under the server key for this staff member.
    pub sealed_secret: Vec<u8>,
    /// Algorithm, digits, period.
    pub params: TotpParams,
    /// The replay guard: codes of this step or earlier are refused.
    pub last_used_step: Option<u64>,
    /// Registered at, Unix seconds.
    pub created_at: i64,
    /// Last accepted code at, Unix seconds.
    pub last_used_at: Option<i64>,
}

/// A finished enrolment, written in one transaction by [`StaffStore::finish_staff_enrolment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffEnrolment {
    /// The enrolling session (it becomes the staff member's signed-in session).
    pub token_hash: String,
    /// The new password's hash.
    pub password_hash: String,
    /// The authenticator app's name.
    pub device_name: String,
    /// The confirmed secret, sealed.
    pub sealed_secret: Vec<u8>,
    /// Its parameters.
    pub params: TotpParams,
    /// The step of the confirming code (used: never accepted again).
    pub step: u64,
    /// The session's idle expiry once signed in.
    pub expires_at: i64,
    /// When, Unix seconds.
    pub at: i64,
    /// Written with it.
    pub audit: AuditEntry,
}

/// An accepted authenticator code at sign-in, written by [`StaffStore::pass_staff_second_factor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSecondFactor {
    /// The half-done sign-in's session.
    pub token_hash: String,
    /// The device whose code matched.
    pub credential_id: i64,
    /// The matched step.
    pub step: u64,
    /// The session's idle expiry once signed in.
    pub expires_at: i64,
    /// When, Unix seconds.
    pub at: i64,
    /// Written with it.
    pub audit: AuditEntry,
}

/// A staff member's passkey: webauthn-rs's JSON (a public key and counters, no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPasskeyCredential {
    /// Row id.
    pub id: i64,
    /// Whose.
    pub staff_id: StaffId,
    /// The passkey's name.
    pub name: String,
    /// base64url of the WebAuthn credential id.
    pub credential_id: String,
    /// webauthn-rs's `Passkey`, serialised.
    pub passkey: String,
    /// Registered at, Unix seconds.
    pub created_at: i64,
    /// Last sign-in with it, Unix seconds.
    pub last_used_at: Option<i64>,
}

/// The server half of a staff passkey ceremony, bound to the staff session between its two
/// requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPasskeyCeremony {
    /// The session's token hash.
    pub token_hash: String,
    /// Registration (enrolment) or authentication (sign-in).
    pub kind: CeremonyKind,
    /// Whose.
    pub staff_id: StaffId,
    /// webauthn-rs's serialised ceremony state.
    pub state: String,
    /// Started at, Unix seconds.
    pub created_at: i64,
    /// Dead at and after, Unix seconds.
    pub expires_at: i64,
}

/// An enrolment finished with a passkey, written in one transaction by
/// [`StaffStore::finish_staff_enrolment_passkey`] (like [`StaffEnrolment`] for an app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPasskeyEnrolment {
    /// The enrolling session (it becomes the staff member's signed-in session).
    pub token_hash: String,
    /// The new password's hash.
    pub password_hash: String,
    /// The passkey's name.
    pub name: String,
    /// base64url of the WebAuthn credential id ([`StoreError::CredentialTaken`] when registered).
    pub credential_id: String,
    /// webauthn-rs's `Passkey`, serialised.
    pub passkey: String,
    /// The session's idle expiry once signed in.
    pub expires_at: i64,
    /// When, Unix seconds.
    pub at: i64,
    /// Written with it.
    pub audit: AuditEntry,
}

/// An accepted passkey at sign-in, written by [`StaffStore::pass_staff_passkey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPasskeyUse {
    /// The half-done sign-in's session.
    pub token_hash: String,
    /// The passkey that answered.
    pub credential: i64,
    /// Its updated JSON when the counter or backup state changed.
    pub passkey: Option<String>,
    /// The session's idle expiry once signed in.
    pub expires_at: i64,
    /// When, Unix seconds.
    pub at: i64,
    /// Written with it.
    pub audit: AuditEntry,
}

/// Staff accounts and their sign-in.
#[async_trait]
pub trait StaffStore: Send + Sync {
    /// Adds an account with its enrolment code and `audit`, in one transaction
    /// ([`StoreError::StaffLoginTaken`]).
    async fn add_staff(
        &self,
        new: &NewStaff,
        code: &NewEnrolmentCode,
        audit: &AuditEntry,
    ) -> Result<StaffAccount, StoreError>;

    /// An account by row id.
    async fn staff(&self, id: StaffId) -> Result<Option<StaffAccount>, StoreError>;

    /// An account by login (the caller passes the normalised form).
    async fn staff_by_login(&self, login: &str) -> Result<Option<StaffAccount>, StoreError>;

    /// Every account, by login.
    async fn staff_list(&self) -> Result<Vec<StaffAccount>, StoreError>;

    /// How many second factors (authenticator apps and passkeys) the account has.
    async fn staff_factor_count(&self, id: StaffId) -> Result<usize, StoreError>;

    /// Disables an account: every session ends, `audit` is written, in one transaction; returns
    /// how many sessions ended ([`StoreError::NotFound`]).
    async fn disable_staff(
        &self,
        id: StaffId,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<u64, StoreError>;

    /// Resets an account to a new enrolment, in one transaction: the password, every
    /// authenticator app and every passkey are removed, every session ends, the login's failures are forgotten,
    /// `code` replaces any earlier code, the account is enabled again, `audit` is written.
    /// Returns how many sessions ended ([`StoreError::NotFound`]).
    async fn reset_staff(
        &self,
        id: StaffId,
        code: &NewEnrolmentCode,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<u64, StoreError>;

    /// The account's enrolment code on record, if any.
    async fn staff_enrolment_code(
        &self,
        id: StaffId,
    ) -> Result<Option<StaffEnrolmentCode>, StoreError>;

    /// Opens an enrolling session (holding the secret being set up) and writes `audit`, in one
    /// transaction; an earlier enrolling session of the same account ends.
    async fn start_staff_enrolment(
        &self,
        session: &StaffSessionRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Finishes an enrolment in one transaction: if the session is still enrolling and the
    /// account's code still usable ([`crate::domain::staff::enrolment_code_state`]) and the account
    /// may enrol, the code is used up, the password set, the authenticator app registered with
    /// its step used, the login's failures forgotten, the session signed in and `audit` written;
    /// otherwise [`StoreError::NoEnrollment`] and nothing changes.
    async fn finish_staff_enrolment(
        &self,
        enrolment: &StaffEnrolment,
    ) -> Result<StaffAccount, StoreError>;

    /// Opens a session (a sign-in whose password was right) and writes `audit`, in one transaction.
    async fn start_staff_session(
        &self,
        session: &StaffSessionRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// A session by token hash, expired or not (the caller checks).
    async fn staff_session(
        &self,
        token_hash: &str,
    ) -> Result<Option<StaffSessionRecord>, StoreError>;

    /// Records a use of a session: last seen at `at`, idle expiry moved to `expires_at`.
    async fn touch_staff_session(
        &self,
        token_hash: &str,
        at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;

    /// The account's authenticator apps, oldest first.
    async fn staff_totp_credentials(
        &self,
        id: StaffId,
    ) -> Result<Vec<StaffTotpCredential>, StoreError>;

    /// An accepted code at sign-in, in one transaction: the device's step is used (the replay
    /// guard's compare-and-set), the session signed in, the login's failures forgotten, `audit`
    /// written. `false` when the step was already used or the session is not waiting for a
    /// code; then nothing changes.
    async fn pass_staff_second_factor(&self, pass: &StaffSecondFactor) -> Result<bool, StoreError>;

    /// Ends one session and writes `audit` (a sign-out; `None` for an expired session), in one
    /// transaction. An unknown session is not an error, and then nothing is written.
    async fn end_staff_session(
        &self,
        token_hash: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError>;

    /// Ends every session of an account and writes `audit`, in one transaction; returns how many.
    async fn end_staff_sessions(&self, id: StaffId, audit: &AuditEntry) -> Result<u64, StoreError>;

    /// Deletes sessions dead at `now` (idle or absolute); returns how many.
    async fn purge_expired_staff_sessions(&self, now: i64) -> Result<u64, StoreError>;

    /// The account's passkeys, oldest first.
    async fn staff_passkeys(&self, id: StaffId) -> Result<Vec<StaffPasskeyCredential>, StoreError>;

    /// Stores a ceremony's state, replacing any of the same session and kind.
    async fn save_staff_passkey_ceremony(
        &self,
        ceremony: &StaffPasskeyCeremony,
    ) -> Result<(), StoreError>;

    /// Takes a ceremony out (it can be finished once); `None` when there is none or it expired
    /// at or before `now`. Expired ceremonies are deleted on the way.
    async fn take_staff_passkey_ceremony(
        &self,
        token_hash: &str,
        kind: CeremonyKind,
        now: i64,
    ) -> Result<Option<StaffPasskeyCeremony>, StoreError>;

    /// Finishes an enrolment with a passkey, under the same conditions as
    /// [`StaffStore::finish_staff_enrolment`] ([`StoreError::NoEnrollment`]); a credential
    /// already registered (by any staff member) is [`StoreError::CredentialTaken`].
    async fn finish_staff_enrolment_passkey(
        &self,
        enrolment: &StaffPasskeyEnrolment,
    ) -> Result<StaffAccount, StoreError>;

    /// An accepted passkey at sign-in, in one transaction: the passkey's counters saved, the
    /// session signed in, the login's failures forgotten, `audit` written. `false` when the
    /// session is not waiting for a second factor or the passkey is not the session's staff
    /// member's; then nothing changes.
    async fn pass_staff_passkey(&self, used: &StaffPasskeyUse) -> Result<bool, StoreError>;

    // issue 17
    /// [`StaffStore::end_staff_sessions`] writing every entry of `audits` (a wrong guess and
    /// the hold it brought), in one transaction; returns how many sessions ended.
    async fn end_staff_sessions_audited(
        &self,
        id: StaffId,
        audits: &[AuditEntry],
    ) -> Result<u64, StoreError>;
}
