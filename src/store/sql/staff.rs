//! The statements of [`crate::store::StaffStore`], in the shared dialect (see `store/sql.rs`).

/// Columns of `staff`, in the order the row reader expects.
macro_rules! staff_columns {
    () => {
        "id, login, display_name, role, password_hash, enabled, created_at, updated_at"
    };
}

/// Columns of `staff_sessions`.
macro_rules! session_columns {
    () => {
        "token_hash, staff_id, phase, pending_secret, created_at, last_seen_at, expires_at, \
         absolute_expires_at"
    };
}

/// Columns of `staff_totp_credentials`.
macro_rules! staff_credential_columns {
    () => {
        "id, staff_id, name, secret, algorithm, digits, period_secs, last_used_step, created_at, \
         last_used_at"
    };
}

/// `$1` login, `$2` display name, `$3` role, `$4` at; returns the row.
pub const INSERT: &str = concat!(
    "INSERT INTO staff (login, display_name, role, password_hash, enabled, created_at, updated_at) \
     VALUES ($1, $2, $3, NULL, TRUE, $4, $4) RETURNING ",
    staff_columns!()
);
/// `$1` id.
pub const BY_ID: &str = concat!("SELECT ", staff_columns!(), " FROM staff WHERE id = $1");
/// `$1` login.
pub const BY_LOGIN: &str = concat!("SELECT ", staff_columns!(), " FROM staff WHERE login = $1");
/// Every account.
pub const ALL: &str = concat!("SELECT ", staff_columns!(), " FROM staff ORDER BY login");
/// `$1` id, `$2` at.
pub const DISABLE: &str = "UPDATE staff SET enabled = FALSE, updated_at = $2 WHERE id = $1";
/// Back to a new enrolment: `$1` id, `$2` at.
pub const RESET: &str =
    "UPDATE staff SET password_hash = NULL, enabled = TRUE, updated_at = $2 WHERE id = $1";
/// `$1` id, `$2` password hash, `$3` at.
pub const SET_PASSWORD: &str = "UPDATE staff SET password_hash = $2, updated_at = $3 WHERE id = $1";

/// A new code replaces any earlier one: `$1` staff id, `$2` code hash, `$3` created, `$4` expires.
pub const SET_CODE: &str = "INSERT INTO staff_enrolment_codes \
     (staff_id, code_hash, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL) \
     ON CONFLICT (staff_id) DO UPDATE SET code_hash = excluded.code_hash, \
        created_at = excluded.created_at, expires_at = excluded.expires_at, used_at = NULL";
/// `$1` staff id.
pub const CODE: &str = "SELECT staff_id, code_hash, created_at, expires_at, used_at \
     FROM staff_enrolment_codes WHERE staff_id = $1";
/// `$1` staff id, `$2` at.
pub const USE_CODE: &str = "UPDATE staff_enrolment_codes SET used_at = $2 WHERE staff_id = $1";

/// `$1`…`$8` in session column order.
pub const INSERT_SESSION: &str = concat!(
    "INSERT INTO staff_sessions (",
    session_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
);
/// `$1` token hash.
pub const SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM staff_sessions WHERE token_hash = $1"
);
/// `$1` token hash, `$2` last seen, `$3` expires at.
pub const TOUCH_SESSION: &str =
    "UPDATE staff_sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1";
/// Signed in: `$1` token hash, `$2` at, `$3` expires at.
pub const ACTIVATE_SESSION: &str = "UPDATE staff_sessions SET phase = 'active', \
     pending_secret = NULL, last_seen_at = $2, expires_at = $3 WHERE token_hash = $1";
/// `$1` token hash.
pub const DELETE_SESSION: &str = "DELETE FROM staff_sessions WHERE token_hash = $1";
/// `$1` staff id.
pub const DELETE_SESSIONS_OF: &str = "DELETE FROM staff_sessions WHERE staff_id = $1";
/// `$1` staff id.
pub const DELETE_ENROLLING_OF: &str =
    "DELETE FROM staff_sessions WHERE staff_id = $1 AND phase = 'enrolling'";
/// `$1` now.
pub const PURGE_SESSIONS: &str =
    "DELETE FROM staff_sessions WHERE expires_at <= $1 OR absolute_expires_at <= $1";

/// `$1` staff id.
pub const CREDENTIALS: &str = concat!(
    "SELECT ",
    staff_credential_columns!(),
    " FROM staff_totp_credentials WHERE staff_id = $1 ORDER BY id"
);
/// Second factors of both kinds: `$1` staff id.
pub const CREDENTIAL_COUNT: &str = "SELECT \
     (SELECT COUNT(*) FROM staff_totp_credentials WHERE staff_id = $1) + \
     (SELECT COUNT(*) FROM staff_passkey_credentials WHERE staff_id = $1)";
/// `$1` staff id, `$2` name, `$3` secret, `$4` algorithm, `$5` digits, `$6` period, `$7` used
/// step, `$8` at.
pub const INSERT_CREDENTIAL: &str = "INSERT INTO staff_totp_credentials \
     (staff_id, name, secret, algorithm, digits, period_secs, last_used_step, created_at, \
      last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
/// Whose device: `$1` credential id.
pub const CREDENTIAL_OWNER: &str = "SELECT staff_id FROM staff_totp_credentials WHERE id = $1";
/// `$1` staff id.
pub const DELETE_CREDENTIALS: &str = "DELETE FROM staff_totp_credentials WHERE staff_id = $1";
/// The replay guard's compare-and-set: `$1` credential id, `$2` step, `$3` at; changes one row
/// only when the step is newer than the last used one.
pub const USE_STEP: &str = "UPDATE staff_totp_credentials SET last_used_step = $2, \
     last_used_at = $3 WHERE id = $1 AND (last_used_step IS NULL OR last_used_step < $2)";

/// Columns of `staff_passkey_credentials`.
macro_rules! staff_passkey_columns {
    () => {
        "id, staff_id, name, credential_id, passkey, created_at, last_used_at"
    };
}

/// Columns of `staff_passkey_ceremonies`.
macro_rules! staff_ceremony_columns {
    () => {
        "token_hash, kind, staff_id, state, created_at, expires_at"
    };
}

/// `$1` staff id.
pub const PASSKEYS: &str = concat!(
    "SELECT ",
    staff_passkey_columns!(),
    " FROM staff_passkey_credentials WHERE staff_id = $1 ORDER BY id"
);
/// `$1` staff id, `$2` name, `$3` credential id, `$4` passkey JSON, `$5` at.
pub const INSERT_PASSKEY: &str = "INSERT INTO staff_passkey_credentials \
     (staff_id, name, credential_id, passkey, created_at, last_used_at) \
     VALUES ($1, $2, $3, $4, $5, $5)";
/// `$1` credential row id, `$2` staff id, `$3` passkey JSON (NULL: unchanged), `$4` at.
pub const USE_PASSKEY: &str = "UPDATE staff_passkey_credentials \
     SET passkey = COALESCE($3, passkey), last_used_at = $4 WHERE id = $1 AND staff_id = $2";
/// `$1` staff id.
pub const DELETE_PASSKEYS: &str = "DELETE FROM staff_passkey_credentials WHERE staff_id = $1";
/// A ceremony, replacing any of the same session and kind: `$1`…`$6` in column order.
pub const SAVE_CEREMONY: &str = concat!(
    "INSERT INTO staff_passkey_ceremonies (",
    staff_ceremony_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_hash, kind) DO UPDATE SET \
     staff_id = excluded.staff_id, state = excluded.state, created_at = excluded.created_at, \
     expires_at = excluded.expires_at"
);
/// `$1` token hash, `$2` kind.
pub const TAKE_CEREMONY: &str = concat!(
    "DELETE FROM staff_passkey_ceremonies WHERE token_hash = $1 AND kind = $2 RETURNING ",
    staff_ceremony_columns!()
);
/// `$1` now.
pub const PURGE_CEREMONIES: &str = "DELETE FROM staff_passkey_ceremonies WHERE expires_at <= $1";
