//! Reading the audit log by filter, a page at a time (the console's audit view and
//! `tobira admin audit export`): the records [`crate::store::AuditStore::audit_page`] takes and
//! gives.

use super::{AuditEntry, MemberId};

/// Which audit entries to read; every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// About this member.
    pub member_id: Option<MemberId>,
    /// By this actor, in its text form (`staff:7`).
    pub actor: Option<String>,
    /// This action's stable name (`hold.lifted`).
    pub action: Option<String>,
    /// At or after this time, Unix seconds.
    pub since: Option<i64>,
    /// Before this time, Unix seconds.
    pub until: Option<i64>,
    /// Oldest first (an export) instead of newest first (the console).
    pub oldest_first: bool,
}

/// Which page of audit entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPageRequest {
    /// The id of the last entry of the previous page ([`AuditPage::next`]).
    pub after: Option<i64>,
    /// Entries per page (at least 1).
    pub limit: u32,
}

/// An audit entry with its id (its place in the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Row id: the order entries were appended in.
    pub id: i64,
    /// The entry.
    pub entry: AuditEntry,
}

/// One page of audit entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The entries, in the order asked for.
    pub records: Vec<AuditRecord>,
    /// The `after` of the next page; `None` on the last page.
    pub next: Option<i64>,
}
