//! The statements every backend shares, written once in the SQL that both SQLite and
//! PostgreSQL accept.
//!
//! The dialect, and why no rewriting helper is needed:
//! - Placeholders are `$1`, `$2`, …: PostgreSQL's own form, and sqlx 0.9's SQLite driver binds a
//!   `$N` parameter to the N-th bound value by its number (`sqlx-sqlite` `arguments.rs`), as it
//!   does `?N`. So one string serves both, a number may repeat, and values are bound in number
//!   order. (Plain `?` is SQLite-only; PostgreSQL rejects it.)
//! - Booleans are written `TRUE` / `FALSE` (SQLite reads them as 1 / 0 since 3.23) and bound
//!   as Rust `bool`; integers are read as `i64` (PostgreSQL `BIGINT`, SQLite `INTEGER`).
//! - Only what both have: `INSERT … ON CONFLICT … DO UPDATE / DO NOTHING`, `RETURNING`,
//!   `EXISTS`, `COALESCE`, `CASE`. Nothing here names a SQLite function (`changes()`), a
//!   pragma, a temp table, or `IS NOT` for null-safe comparison.
//!
//! What stays with its backend (`store/sqlite/`): `BEGIN IMMEDIATE` (how SQLite takes the write
//! lock; PostgreSQL locks the rows it reads instead), the roster import's staging table and its
//! pragmas, WAL checkpoints, the one-script TOTP replay guard, and the mail claim (safe in
//! SQLite because there is one writer; PostgreSQL wants `FOR UPDATE SKIP LOCKED`).
//!
//! Checked when written: every statement here was PREPAREd on PostgreSQL 15 against the SQLite
//! schema translated as a PostgreSQL store would have it (`BIGINT` for `INTEGER`, `BYTEA` for
//! `BLOB`, `BOOLEAN` for the 0/1 flags, identity ids); the SQLite suite runs every one of them.
//!
//! Each module holds the statements of one concern, in the order the store methods use them.

/// Columns of `members`, in the order the row readers expect.
macro_rules! member_columns {
    () => {
        "id, symbol, number, birth_date, name, email, email_verified_at, user_id, \
         password_hash, step, method, terms_accepted_at, created_at, updated_at, lang"
    };
}

/// Columns of `flows`.
macro_rules! flow_columns {
    () => {
        "token_hash, member_id, lang, birth_verified, second_factor_pending, created_at, \
         expires_at"
    };
}

/// Columns of `totp_credentials`.
macro_rules! credential_columns {
    () => {
        "id, member_id, name, secret, algorithm, digits, period_secs, last_used_step, \
         created_at, last_used_at"
    };
}

/// Columns of `totp_enrollments`.
macro_rules! enrollment_columns {
    () => {
        "member_id, secret, algorithm, digits, period_secs, created_at"
    };
}

/// Columns of `passkey_credentials`.
macro_rules! passkey_columns {
    () => {
        "id, member_id, name, credential_id, passkey, created_at, last_used_at"
    };
}

/// Columns of `passkey_ceremonies`.
macro_rules! ceremony_columns {
    () => {
        "flow_token_hash, kind, member_id, state, created_at, expires_at"
    };
}

/// Columns of `audit_log` as entries are read back.
macro_rules! audit_columns {
    () => {
        "at, actor, member_id, action, detail"
    };
}

/// Members and the roster.
pub mod members {
    /// The language the member last used the portal in: `$1` code, `$2` member.
    pub const SET_LANG: &str = "UPDATE members SET lang = $1 WHERE id = $2";
    /// Number of members.
    pub const COUNT: &str = "SELECT COUNT(*) FROM members";
    /// Whether there is any member (a boolean in both).
    pub const ANY: &str = "SELECT EXISTS (SELECT 1 FROM members)";
    /// A member by row id: `$1` id.
    pub const BY_ID: &str = concat!("SELECT ", member_columns!(), " FROM members WHERE id = $1");
    /// A member by lower-cased user ID: `$1`.
    pub const BY_USER_ID: &str = concat!(
        "SELECT ",
        member_columns!(),
        " FROM members WHERE user_id = $1"
    );
    /// A member by card: `$1` symbol, `$2` number.
    pub const BY_CARD: &str = concat!(
        "SELECT ",
        member_columns!(),
        " FROM members WHERE symbol = $1 AND number = $2"
    );
    /// The step of a member: `$1` id.
    pub const STEP: &str = "SELECT step FROM members WHERE id = $1";
    /// A step change's field changes: `$1` email, `$2` method, `$3` password hash, `$4` user
    /// ID, `$5` terms accepted at (each `NULL` to keep), `$6` step, `$7` at, `$8` id. Every SET
    /// expression sees the row as it was, so a new address clears the old verification.
    pub const APPLY: &str = "UPDATE members SET \
            email = COALESCE($1, email), \
            email_verified_at = CASE WHEN $1 IS NULL THEN email_verified_at ELSE NULL END, \
            method = COALESCE($2, method), \
            password_hash = COALESCE($3, password_hash), \
            user_id = COALESCE($4, user_id), \
            terms_accepted_at = COALESCE($5, terms_accepted_at), \
            step = $6, \
            updated_at = $7 \
         WHERE id = $8";
    /// `$1` step, `$2` at, `$3` id.
    pub const SET_STEP: &str = "UPDATE members SET step = $1, updated_at = $2 WHERE id = $3";
    /// `$1` method, `$2` at, `$3` id.
    pub const SET_METHOD: &str = "UPDATE members SET method = $1, updated_at = $2 WHERE id = $3";
    /// A password changed from the top screen: `$1` hash, `$2` id.
    pub const CHANGE_PASSWORD: &str = "UPDATE members SET password_hash = $1 WHERE id = $2";
    /// A forgotten password replaced: `$1` hash, `$2` at, `$3` id.
    pub const RESET_PASSWORD: &str =
        "UPDATE members SET password_hash = $1, updated_at = $2 WHERE id = $3";
    /// A changed address switched in once its link is opened: `$1` address, `$2` at, `$3` id.
    pub const SWITCH_EMAIL: &str =
        "UPDATE members SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3";
    /// The address verified: `$1` at, `$2` step, `$3` id.
    pub const EMAIL_VERIFIED: &str =
        "UPDATE members SET email_verified_at = $1, step = $2, updated_at = $1 WHERE id = $3";
}

/// Sign-in flows and failure counters.
pub mod flows {
    /// `$1`…`$7` in [`flow_columns!`] order.
    pub const INSERT: &str = concat!(
        "INSERT INTO flows (",
        flow_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
    );
    /// A flow by token hash: `$1`.
    pub const BY_HASH: &str = concat!(
        "SELECT ",
        flow_columns!(),
        " FROM flows WHERE token_hash = $1"
    );
    /// `$1` expires at, `$2` token hash.
    pub const TOUCH: &str = "UPDATE flows SET expires_at = $1 WHERE token_hash = $2";
    /// A flow's language: `$1` code, `$2` token hash.
    pub const SET_FLOW_LANG: &str = "UPDATE flows SET lang = $1 WHERE token_hash = $2";
    /// The language of the member of a flow: `$1` code, `$2` token hash.
    pub const SET_MEMBER_LANG_OF_FLOW: &str = "UPDATE members SET lang = $1 \
         WHERE id = (SELECT member_id FROM flows WHERE token_hash = $2)";
    /// The identity check passed: `$1` token hash; returns the member id.
    pub const PASS_BIRTH_DATE: &str =
        "UPDATE flows SET birth_verified = TRUE WHERE token_hash = $1 RETURNING member_id";
    /// The flow's second factor proved: `$1` token hash.
    pub const PASS_SECOND_FACTOR: &str =
        "UPDATE flows SET second_factor_pending = FALSE WHERE token_hash = $1";
    /// `$1` token hash.
    pub const DELETE: &str = "DELETE FROM flows WHERE token_hash = $1";
    /// Every flow of a member: `$1` member id.
    pub const DELETE_OF_MEMBER: &str = "DELETE FROM flows WHERE member_id = $1";
    /// Every other flow of a member: `$1` member id, `$2` the flow kept.
    pub const DELETE_OTHERS: &str = "DELETE FROM flows WHERE member_id = $1 AND token_hash <> $2";
    /// The flow proved the member again: `$1` token hash, `$2` at.
    pub const STEP_UP: &str = "INSERT INTO flow_step_ups (token_hash, at) VALUES ($1, $2) \
         ON CONFLICT (token_hash) DO UPDATE SET at = excluded.at";
    /// When the flow last proved the member again: `$1` token hash.
    pub const STEPPED_UP_AT: &str = "SELECT at FROM flow_step_ups WHERE token_hash = $1";
    /// `$1` now.
    pub const PURGE_EXPIRED: &str = "DELETE FROM flows WHERE expires_at <= $1";

    /// A key's record: `$1` scope, `$2` key.
    pub const FAILURES: &str =
        "SELECT failures, last_failure_at FROM throttle WHERE scope = $1 AND key = $2";
    /// One more failure, atomic under concurrency: `$1` scope, `$2` key, `$3` at.
    pub const BUMP_FAILURES: &str = "INSERT INTO throttle (scope, key, failures, last_failure_at) \
         VALUES ($1, $2, 1, $3) \
         ON CONFLICT (scope, key) DO UPDATE SET \
            failures = throttle.failures + 1, last_failure_at = excluded.last_failure_at \
         RETURNING failures, last_failure_at";
    /// A key's record as the rules decided it: `$1` scope, `$2` key, `$3` failures, `$4` at.
    pub const SET_FAILURES: &str = "INSERT INTO throttle (scope, key, failures, last_failure_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (scope, key) DO UPDATE SET \
            failures = excluded.failures, last_failure_at = excluded.last_failure_at";
    /// `$1` scope, `$2` key.
    pub const CLEAR_FAILURES: &str = "DELETE FROM throttle WHERE scope = $1 AND key = $2";
}

/// Second factors: authenticator apps, passkeys, the email method.
pub mod factors {
    /// Every second factor of a member, of any kind: `$1` member id.
    pub const COUNT_ALL: &str = "SELECT (SELECT COUNT(*) FROM totp_credentials WHERE member_id = $1) \
              + (SELECT COUNT(*) FROM email_otp_factors WHERE member_id = $1) \
              + (SELECT COUNT(*) FROM passkey_credentials WHERE member_id = $1)";
    /// A member's second factors by kind (`totp`, `email`, `passkeys`): `$1` member id.
    pub const COUNT_BY_KIND: &str = "SELECT \
              (SELECT COUNT(*) FROM totp_credentials WHERE member_id = $1) AS totp, \
              (SELECT COUNT(*) FROM email_otp_factors WHERE member_id = $1) AS email, \
              (SELECT COUNT(*) FROM passkey_credentials WHERE member_id = $1) AS passkeys";

    /// A pending enrollment, kept if one exists: `$1`…`$6` in enrollment column order.
    pub const START_ENROLLMENT: &str = concat!(
        "INSERT INTO totp_enrollments (",
        enrollment_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (member_id) DO NOTHING"
    );
    /// `$1` member id.
    pub const ENROLLMENT: &str = concat!(
        "SELECT ",
        enrollment_columns!(),
        " FROM totp_enrollments WHERE member_id = $1"
    );
    /// Takes the pending enrollment out if it still holds the secret: `$1` member id, `$2` secret.
    pub const TAKE_ENROLLMENT: &str = concat!(
        "DELETE FROM totp_enrollments WHERE member_id = $1 AND secret = $2 RETURNING ",
        enrollment_columns!()
    );
    /// A future step seen matching, kept so it is never accepted later: `$1` step, `$2`
    /// credential id, `$3` member id (another member's device burns nothing).
    pub const BURN_STEP: &str = "INSERT INTO totp_burnt_steps (credential_id, step) \
         SELECT id, $1 FROM totp_credentials WHERE id = $2 AND member_id = $3 \
         ON CONFLICT (credential_id, step) DO NOTHING";
    /// Whether a step of a device was burnt: `$1` credential id, `$2` step.
    pub const STEP_BURNT: &str =
        "SELECT EXISTS (SELECT 1 FROM totp_burnt_steps WHERE credential_id = $1 AND step = $2)";
    /// `$1` member id.
    pub const TOTP_COUNT: &str = "SELECT COUNT(*) FROM totp_credentials WHERE member_id = $1";
    /// `$1` member id, `$2` name, `$3` secret, `$4` algorithm, `$5` digits, `$6` period, `$7`
    /// last used step, `$8` created at, `$9` last used at; returns the id.
    pub const INSERT_TOTP: &str = "INSERT INTO totp_credentials (member_id, name, secret, \
         algorithm, digits, period_secs, last_used_step, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";
    /// `$1` member id.
    pub const TOTPS: &str = concat!(
        "SELECT ",
        credential_columns!(),
        " FROM totp_credentials WHERE member_id = $1 ORDER BY id"
    );
    /// `$1` id, `$2` member id.
    pub const TOTP: &str = concat!(
        "SELECT ",
        credential_columns!(),
        " FROM totp_credentials WHERE id = $1 AND member_id = $2"
    );
    /// `$1` name, `$2` id, `$3` member id.
    pub const RENAME_TOTP: &str =
        "UPDATE totp_credentials SET name = $1 WHERE id = $2 AND member_id = $3";
    /// `$1` id, `$2` member id.
    pub const TOTP_EXISTS: &str = "SELECT 1 FROM totp_credentials WHERE id = $1 AND member_id = $2";
    /// `$1` id, `$2` member id.
    pub const DELETE_TOTP: &str = "DELETE FROM totp_credentials WHERE id = $1 AND member_id = $2";

    /// A ceremony, replacing any of the same flow and kind: `$1`…`$6` in ceremony column order.
    pub const SAVE_CEREMONY: &str = concat!(
        "INSERT INTO passkey_ceremonies (",
        ceremony_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (flow_token_hash, kind) DO UPDATE SET member_id = excluded.member_id, \
         state = excluded.state, created_at = excluded.created_at, \
         expires_at = excluded.expires_at"
    );
    /// `$1` flow token hash, `$2` kind.
    pub const TAKE_CEREMONY: &str = concat!(
        "DELETE FROM passkey_ceremonies WHERE flow_token_hash = $1 AND kind = $2 RETURNING ",
        ceremony_columns!()
    );
    /// `$1` now.
    pub const PURGE_CEREMONIES: &str = "DELETE FROM passkey_ceremonies WHERE expires_at <= $1";
    /// `$1` WebAuthn credential id.
    pub const PASSKEY_TAKEN: &str = "SELECT 1 FROM passkey_credentials WHERE credential_id = $1";
    /// `$1` member id.
    pub const PASSKEY_COUNT: &str = "SELECT COUNT(*) FROM passkey_credentials WHERE member_id = $1";
    /// `$1` member id, `$2` name, `$3` credential id, `$4` passkey, `$5` created at, `$6` last
    /// used at; returns the id.
    pub const INSERT_PASSKEY: &str = "INSERT INTO passkey_credentials (member_id, name, \
         credential_id, passkey, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id";
    /// `$1` member id.
    pub const PASSKEYS: &str = concat!(
        "SELECT ",
        passkey_columns!(),
        " FROM passkey_credentials WHERE member_id = $1 ORDER BY id"
    );
    /// `$1` id, `$2` member id.
    pub const PASSKEY: &str = concat!(
        "SELECT ",
        passkey_columns!(),
        " FROM passkey_credentials WHERE id = $1 AND member_id = $2"
    );
    /// A sign-in: `$1` passkey JSON (`NULL` to keep), `$2` at, `$3` id, `$4` member id.
    pub const USE_PASSKEY: &str = "UPDATE passkey_credentials \
         SET passkey = COALESCE($1, passkey), last_used_at = $2 WHERE id = $3 AND member_id = $4";
    /// `$1` name, `$2` id, `$3` member id.
    pub const RENAME_PASSKEY: &str =
        "UPDATE passkey_credentials SET name = $1 WHERE id = $2 AND member_id = $3";
    /// `$1` id, `$2` member id.
    pub const PASSKEY_EXISTS: &str =
        "SELECT 1 FROM passkey_credentials WHERE id = $1 AND member_id = $2";
    /// `$1` id, `$2` member id.
    pub const DELETE_PASSKEY: &str =
        "DELETE FROM passkey_credentials WHERE id = $1 AND member_id = $2";

    /// `$1` member id.
    pub const EMAIL_FACTOR: &str = "SELECT member_id, created_at, last_used_at \
         FROM email_otp_factors WHERE member_id = $1";
    /// `$1` member id, `$2` created at, `$3` last used at.
    pub const ENABLE_EMAIL_FACTOR: &str = "INSERT INTO email_otp_factors (member_id, created_at, \
         last_used_at) VALUES ($1, $2, $3) ON CONFLICT (member_id) DO NOTHING";
    /// `$1` at, `$2` member id.
    pub const EMAIL_FACTOR_USED: &str =
        "UPDATE email_otp_factors SET last_used_at = $1 WHERE member_id = $2";
    /// `$1` member id.
    pub const DELETE_EMAIL_FACTOR: &str = "DELETE FROM email_otp_factors WHERE member_id = $1";
}

/// Emailed codes and verification links.
pub mod codes {
    /// When the member's code of a purpose was issued: `$1` member id, `$2` purpose.
    pub const ISSUED_AT: &str =
        "SELECT created_at FROM email_codes WHERE member_id = $1 AND purpose = $2";
    /// A new code replacing any earlier one: `$1` member id, `$2` purpose, `$3` hash, `$4`
    /// created at, `$5` expires at.
    pub const ISSUE: &str = "INSERT INTO email_codes (member_id, purpose, code_hash, attempts, \
            created_at, expires_at) VALUES ($1, $2, $3, 0, $4, $5) \
         ON CONFLICT (member_id, purpose) DO UPDATE SET code_hash = excluded.code_hash, \
            attempts = 0, created_at = excluded.created_at, expires_at = excluded.expires_at";
    /// `$1` member id, `$2` purpose.
    pub const CODE: &str = "SELECT code_hash, attempts, expires_at FROM email_codes \
         WHERE member_id = $1 AND purpose = $2";
    /// The code used up: `$1` member id, `$2` purpose.
    pub const USE_UP: &str = "DELETE FROM email_codes WHERE member_id = $1 AND purpose = $2";
    /// One wrong try: `$1` member id, `$2` purpose.
    pub const WRONG_TRY: &str = "UPDATE email_codes SET attempts = attempts + 1 \
         WHERE member_id = $1 AND purpose = $2";

    /// `$1` token hash, `$2` member id, `$3` email, `$4` lang, `$5` created at, `$6` expires at.
    pub const INSERT_TOKEN: &str = "INSERT INTO email_tokens (token_hash, member_id, email, lang, \
         created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)";
    /// The member's pending links: `$1` member id.
    pub const DELETE_TOKENS: &str = "DELETE FROM email_tokens WHERE member_id = $1";
    /// A link that switches the address once opened: `$1` token hash.
    pub const TOKEN_CHANGES_ADDRESS: &str =
        "UPDATE email_tokens SET changes_address = TRUE WHERE token_hash = $1";
    /// `$1` token hash.
    pub const TOKEN: &str = "SELECT member_id, email, lang, expires_at, used_at, changes_address \
         FROM email_tokens WHERE token_hash = $1";
    /// `$1` at, `$2` token hash.
    pub const USE_TOKEN: &str = "UPDATE email_tokens SET used_at = $1 WHERE token_hash = $2";
}

/// The mail queue.
pub mod mail {
    /// `$1` kind, `$2` recipient, `$3` subject, `$4` sealed body, `$5` next attempt (the
    /// claim), `$6` created at; returns the id.
    pub const INSERT: &str = "INSERT INTO mail_queue (kind, recipient, subject, body, status, \
            attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6) \
         RETURNING id";
    /// Delivered (bodies cleared): `$1` at, `$2` id.
    pub const SENT: &str = "UPDATE mail_queue SET status = 'sent', sent_at = $1, \
            attempts = attempts + 1, body = NULL, last_error = NULL \
         WHERE id = $2 AND status = 'pending'";
    /// A failed attempt tried again later: `$1` error, `$2` retry at, `$3` id.
    pub const RETRY: &str = "UPDATE mail_queue SET attempts = attempts + 1, last_error = $1, \
            next_attempt_at = $2 WHERE id = $3 AND status = 'pending'";
    /// A failed attempt given up on (bodies cleared): `$1` error, `$2` `NULL`, `$3` id. `$2` is
    /// there so both statements take the same values; its `CAST` gives PostgreSQL its type.
    pub const GIVE_UP: &str = "UPDATE mail_queue SET attempts = attempts + 1, last_error = $1, \
            status = 'failed', body = NULL \
         WHERE id = $3 AND status = 'pending' AND CAST($2 AS BIGINT) IS NULL";
    /// Counts by status.
    pub const COUNTS: &str = "SELECT status, COUNT(*) AS n FROM mail_queue GROUP BY status";
    /// The newest rows: `$1` limit.
    pub const RECENT: &str = "SELECT id, kind, recipient, status, attempts, next_attempt_at, \
            last_error, created_at, sent_at FROM mail_queue ORDER BY id DESC LIMIT $1";
}

/// Helpdesk search.
pub mod search {
    /// The columns of a hit, from `members m`. `started` is the case view's "has ever signed
    /// in": a password of their own, the terms accepted, or a sign-in in the audit log (read
    /// only for the page's hits).
    pub const HIT_COLUMNS: &str = "m.id, m.user_id, m.name, m.email, m.email_verified_at, \
         m.symbol, m.number, m.step, (m.password_hash IS NOT NULL \
         OR m.terms_accepted_at IS NOT NULL OR EXISTS (SELECT 1 FROM audit_log a \
         WHERE a.member_id = m.id AND a.action = 'sign_in')) AS started";
}

/// The audit log.
pub mod audit {
    /// `$1` at, `$2` actor, `$3` member id, `$4` action, `$5` detail.
    pub const INSERT: &str =
        "INSERT INTO audit_log (at, actor, member_id, action, detail) VALUES ($1, $2, $3, $4, $5)";
    /// The newest entries of a member: `$1` member id, `$2` limit.
    pub const OF_MEMBER: &str = concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_log WHERE member_id = $1 ORDER BY id DESC LIMIT $2"
    );
    /// The newest entries: `$1` limit.
    pub const ALL: &str = concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_log ORDER BY id DESC LIMIT $1"
    );
}

/// Staff accounts and their sign-in (issue 13).
pub mod staff;

/// What the helpdesk reads of a member, and caller verifications (issue 13).
pub mod helpdesk;

/// What the helpdesk's actions write: passes, pass flows (issue 13).
pub mod helpdesk_actions;
