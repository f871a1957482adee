//! Finding a caller (the helpdesk console's search field): the records and the
//! [`MemberSearch`] trait. What a search string means is decided in
//! [`crate::domain::member_search`]; the store only runs the passes it names.

use async_trait::async_trait;

use super::{MemberId, StoreError};
use crate::domain::{InsuranceCard, MatchKind, SearchCursor, SearchQuery, Step};

/// Which page of a search: the first (`after: None`) or the one after a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Where the previous page ended ([`SearchPage::next`]).
    pub after: Option<SearchCursor>,
    /// Hits per page, 1 to [`crate::domain::member_search::PAGE_MAX`] (clamped).
    pub limit: u32,
}

impl PageRequest {
    /// The first page of `limit` hits.
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }
}

/// One member found: what the console lists, and nothing secret (no password hash, no full
/// address, no birth date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// Row id.
    pub member_id: MemberId,
    /// Lower-case user ID.
    pub user_id: String,
    /// Name as on the roster.
    pub name: String,
    /// The address with its local part hidden (`t*******@example.jp`).
    pub email_masked: String,
    /// Whether the address on file was verified.
    pub email_verified: bool,
    /// Card symbol and number.
    pub card: InsuranceCard,
    /// Where the member rests in the journey.
    pub step: Step,
    /// Whether the member has ever signed in (imported members rest at the terms until then).
    pub started: bool,
    /// Which pass found the member.
    pub matched: MatchKind,
}

/// One page of hits, in pass order and, within a pass, in the pass's stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    /// The hits of this page.
    pub hits: Vec<SearchHit>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<SearchCursor>,
}

/// Finding a caller: one query over user IDs (prefix), names (any part), cards and addresses.
#[async_trait]
pub trait MemberSearch: Send + Sync {
    /// One page of the members `query` matches (see [`SearchQuery::passes`] for the order).
    /// A cursor from another query gives a page of this query from its first pass.
    async fn search_members(
        &self,
        query: &SearchQuery,
        page: &PageRequest,
    ) -> Result<SearchPage, StoreError>;
}
