//! The helpdesk's writes (see `store::helpdesk_actions`).

/// A pass in place of the member's earlier one: `$1` member id, `$2` hash, `$3` staff id,
/// `$4` verification id, `$5` created at, `$6` expires at.
pub const PUT_PASS: &str = "INSERT INTO enrolment_passes \
     (member_id, pass_hash, staff_id, verification_id, created_at, expires_at, used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, NULL) \
     ON CONFLICT (member_id) DO UPDATE SET pass_hash = excluded.pass_hash, \
     staff_id = excluded.staff_id, verification_id = excluded.verification_id, \
     created_at = excluded.created_at, expires_at = excluded.expires_at, used_at = NULL";

/// Uses the pass once (the compare-and-set that makes it single use): `$1` now, `$2` member id,
/// `$3` hash.
pub const USE_PASS: &str = "UPDATE enrolment_passes SET used_at = $1 \
     WHERE member_id = $2 AND pass_hash = $3 AND used_at IS NULL AND expires_at > $1";

/// An unused pass alive at `$2` of member `$1`.
pub const LIVE_PASS: &str = "SELECT 1 FROM enrolment_passes \
     WHERE member_id = $1 AND used_at IS NULL AND expires_at > $2";

/// Marks a flow as opened with a pass: `$1` flow token hash.
pub const OWE_PASSWORD: &str = "INSERT INTO pass_flows (flow_token_hash) VALUES ($1)";

/// Whether flow `$1` owes the new password.
pub const OWES_PASSWORD: &str = "SELECT 1 FROM pass_flows WHERE flow_token_hash = $1";
