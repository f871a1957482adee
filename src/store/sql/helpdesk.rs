//! The helpdesk's reads of a member and the caller verifications (see `store::helpdesk`).

/// When the member's step last changed (or the row's last change): `$1` member id.
pub const STEP_SINCE: &str =
    "SELECT COALESCE(step_since, updated_at) AS since FROM members WHERE id = $1";

/// The newest live, unused address-change link: `$1` member id, `$2` now.
pub const PENDING_EMAIL: &str = "SELECT email FROM email_tokens \
     WHERE member_id = $1 AND changes_address = TRUE AND used_at IS NULL AND expires_at > $2 \
     ORDER BY created_at DESC LIMIT 1";

/// One guard key's record: `$1` scope, `$2` key.
pub const GUARD: &str = "SELECT failures, last_failure_at, last_address FROM throttle \
     WHERE scope = $1 AND key = $2";

/// Where the attempt just reserved on a key came from: `$1` address, `$2` scope, `$3` key.
pub const SET_LAST_ADDRESS: &str =
    "UPDATE throttle SET last_address = $1 WHERE scope = $2 AND key = $3";

/// The newest mails to one address: `$1` recipient, `$2` limit.
pub const MAIL_TO: &str = "SELECT id, kind, recipient, status, attempts, created_at, sent_at FROM mail_queue \
     WHERE recipient = $1 ORDER BY id DESC LIMIT $2";

/// Mails of one kind to one address by status: `$1` kind, `$2` recipient.
pub const MAIL_TALLY: &str = "SELECT status, COUNT(*) AS n FROM mail_queue \
     WHERE kind = $1 AND recipient = $2 GROUP BY status";

/// The newest verification of a staff session for a member: `$1` session hash, `$2` member id.
pub const VERIFICATION: &str = "SELECT id, member_id, proof, at FROM caller_verifications \
     WHERE staff_session_hash = $1 AND member_id = $2 ORDER BY id DESC LIMIT 1";

/// `$1` staff id, `$2` session hash, `$3` member id, `$4` proof, `$5` at; returns the id.
pub const ADD_VERIFICATION: &str = "INSERT INTO caller_verifications \
     (staff_id, staff_session_hash, member_id, proof, at) VALUES ($1, $2, $3, $4, $5) \
     RETURNING id";
