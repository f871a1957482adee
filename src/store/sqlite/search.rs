//! [`MemberSearch`] on SQLite: each pass of a query is one index range read (see
//! `migrations/sqlite/0008_member_search.sql` for the indexes and why FTS5 trigram plus a
//! 1–2 character table), so a page costs the same at a thousand members as at a million.
//!
//! Every pass reads in a stable order with a keyset bound (`key > last`), never an OFFSET:
//! user IDs by user ID, card numbers by (number, symbol), everything else by member id. A pass
//! skips the members an earlier pass of the same query already listed, so a member appears once.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, corrupt};
use crate::domain::email_code::mask_address;
use crate::domain::member_search::{PAGE_MAX, fts_phrase, is_short_name, prefix_end};
use crate::domain::{InsuranceCard, MatchKind, SearchCursor, SearchQuery, Step};
use crate::store::{MemberSearch, PageRequest, SearchHit, SearchPage, StoreError};

use crate::store::sql::search::HIT_COLUMNS;

/// A hit with the sort key of its pass, from which a cursor is made.
struct Found {
    hit: SearchHit,
    key: String,
}

fn hit_from_row(row: &SqliteRow, matched: MatchKind) -> Result<SearchHit, StoreError> {
    let symbol: String = row.try_get("symbol")?;
    let number: String = row.try_get("number")?;
    let card = InsuranceCard::parse(&symbol, &number)
        .map_err(|_| corrupt("card", &format!("{symbol}/{number}")))?;
    let step_name: String = row.try_get("step")?;
    let step = Step::from_name(&step_name).ok_or_else(|| corrupt("step", &step_name))?;
    let email: String = row.try_get("email")?;
    Ok(SearchHit {
        member_id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        email_masked: mask_address(&email),
        email_verified: row
            .try_get::<Option<i64>, _>("email_verified_at")?
            .is_some(),
        card,
        step,
        started: row.try_get("started")?,
        matched,
    })
}

/// The sort key of a hit in its pass (what [`SearchCursor::key`] holds).
fn sort_key(hit: &SearchHit) -> String {
    match hit.matched {
        MatchKind::UserId => hit.user_id.clone(),
        MatchKind::CardNumber => format!("{} {}", hit.card.number, hit.card.symbol),
        MatchKind::CardExact | MatchKind::Email | MatchKind::Name => String::new(),
    }
}

/// One value bound to a pass's statement.
enum Bind {
    Text(String),
    Int(i64),
}

/// A pass as SQL: the statement and its values, in `?` order.
struct PassSql {
    sql: String,
    binds: Vec<Bind>,
}

impl PassSql {
    fn new() -> Self {
        Self {
            sql: String::new(),
            binds: Vec::new(),
        }
    }

    fn text(&mut self, v: impl Into<String>) -> &mut Self {
        self.binds.push(Bind::Text(v.into()));
        self
    }

    fn int(&mut self, v: i64) -> &mut Self {
        self.binds.push(Bind::Int(v));
        self
    }
}

/// The condition (on `m`) of a user-ID prefix, and its two values.
fn user_id_range(prefix: &str, p: &mut PassSql) -> &'static str {
    p.text(prefix).text(prefix_end(prefix));
    "(m.user_id >= ? AND m.user_id < ?)"
}

/// The statement of one pass (all but [`MatchKind::CardExact`], which is a few probes), for
/// `limit` rows after `after` (the cursor's key and id when it belongs to this pass).
fn pass_sql(
    query: &SearchQuery,
    kind: MatchKind,
    after: Option<(&str, i64)>,
    limit: u32,
) -> Option<PassSql> {
    let mut p = PassSql::new();
    let mut sql = format!("SELECT {HIT_COLUMNS} FROM ");
    match (kind, query) {
        (MatchKind::UserId, SearchQuery::Digits(prefix))
        | (
            MatchKind::UserId,
            SearchQuery::Text {
                user_id_prefix: Some(prefix),
                ..
            },
        ) => {
            sql.push_str("members m WHERE ");
            // A cursor below the prefix (from another query) must not widen the range.
            match after.filter(|(key, _)| *key >= prefix.as_str()) {
                Some((key, _)) => {
                    sql.push_str("m.user_id > ? AND m.user_id < ?");
                    p.text(key).text(prefix_end(prefix));
                }
                None => sql.push_str(user_id_range(prefix, &mut p)),
            }
            if let SearchQuery::Digits(d) = query {
                // Members the card passes listed already.
                sql.push_str(
                    " AND NOT (m.number >= ? AND m.number < ?) AND m.symbol || m.number <> ?",
                );
                p.text(d.as_str()).text(prefix_end(d)).text(d.as_str());
            }
            sql.push_str(" ORDER BY m.user_id LIMIT ?");
        }
        (MatchKind::CardNumber, SearchQuery::Digits(d)) => {
            sql.push_str("members m WHERE ");
            let after = after
                .map(|(key, _)| key.split_once(' ').unwrap_or((key, "")))
                .filter(|(number, _)| *number >= d.as_str());
            match after {
                Some((number, symbol)) => {
                    sql.push_str("(m.number, m.symbol) > (?, ?) AND m.number < ?");
                    p.text(number).text(symbol).text(prefix_end(d));
                }
                None => {
                    sql.push_str("m.number >= ? AND m.number < ?");
                    p.text(d.as_str()).text(prefix_end(d));
                }
            }
            sql.push_str(" ORDER BY m.number, m.symbol LIMIT ?");
        }
        (MatchKind::CardNumber, SearchQuery::Card { symbol, number }) => {
            sql.push_str("members m WHERE m.symbol = ? AND m.number >= ? AND m.number < ?");
            p.text(symbol.as_str())
                .text(number.as_str())
                .text(prefix_end(number));
            if let Some((key, _)) = after {
                let (last, _) = key.split_once(' ').unwrap_or((key, ""));
                sql.push_str(" AND m.number > ?");
                p.text(last);
            }
            sql.push_str(" ORDER BY m.number LIMIT ?");
        }
        (MatchKind::Email, SearchQuery::Email(prefix)) => {
            // By member id, not by address: a cursor must not carry other members' addresses.
            sql.push_str("members m WHERE lower(m.email) >= ? AND lower(m.email) < ?");
            p.text(prefix.as_str()).text(prefix_end(prefix));
            if let Some((_, id)) = after {
                sql.push_str(" AND m.id > ?");
                p.int(id);
            }
            sql.push_str(" ORDER BY m.id LIMIT ?");
        }
        (
            MatchKind::Name,
            SearchQuery::Text {
                name,
                user_id_prefix,
            },
        ) => {
            let id_column = if is_short_name(name) {
                sql.push_str(
                    "member_name_grams g JOIN members m ON m.id = g.member_id WHERE g.gram = ?",
                );
                p.text(name.as_str());
                "g.member_id"
            } else {
                sql.push_str(
                    "member_names f JOIN members m ON m.id = f.rowid WHERE member_names MATCH ?",
                );
                p.text(fts_phrase(name));
                "f.rowid"
            };
            if let Some((_, id)) = after {
                sql.push_str(&format!(" AND {id_column} > ?"));
                p.int(id);
            }
            if let Some(prefix) = user_id_prefix {
                sql.push_str(" AND NOT ");
                sql.push_str(user_id_range(prefix, &mut p));
            }
            sql.push_str(&format!(" ORDER BY {id_column} LIMIT ?"));
        }
        _ => return None,
    }
    p.int(i64::from(limit));
    p.sql = sql;
    Some(p)
}

/// Symbol and number typed together: one probe of the card index per split, in one statement,
/// in member-id order (at most eight rows).
fn card_exact_sql(query: &SearchQuery, after_id: Option<i64>) -> Option<PassSql> {
    let splits = query.card_splits();
    if splits.is_empty() {
        return None;
    }
    let mut p = PassSql::new();
    let part = format!("SELECT {HIT_COLUMNS} FROM members m WHERE m.symbol = ? AND m.number = ?");
    let mut parts = Vec::new();
    for (symbol, number) in splits {
        p.text(symbol).text(number);
        if let Some(id) = after_id {
            parts.push(format!("{part} AND m.id > ?"));
            p.int(id);
        } else {
            parts.push(part.clone());
        }
    }
    p.sql = format!("{} ORDER BY 1", parts.join(" UNION ALL "));
    Some(p)
}

/// Runs one pass on `conn`: at most `limit` hits after `after`.
async fn run_pass(
    conn: &mut sqlx::SqliteConnection,
    query: &SearchQuery,
    kind: MatchKind,
    after: Option<(&str, i64)>,
    limit: u32,
) -> Result<Vec<Found>, StoreError> {
    let pass = if kind == MatchKind::CardExact {
        card_exact_sql(query, after.map(|(_, id)| id))
    } else {
        pass_sql(query, kind, after, limit)
    };
    let Some(pass) = pass else {
        return Ok(Vec::new());
    };
    let mut q = sqlx::query(AssertSqlSafe(pass.sql));
    for b in pass.binds {
        q = match b {
            Bind::Text(s) => q.bind(s),
            Bind::Int(i) => q.bind(i),
        };
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .take(limit as usize)
        .map(|row| {
            let hit = hit_from_row(row, kind)?;
            Ok(Found {
                key: sort_key(&hit),
                hit,
            })
        })
        .collect()
}

#[async_trait]
impl MemberSearch for SqliteStore {
    async fn search_members(
        &self,
        query: &SearchQuery,
        page: &PageRequest,
    ) -> Result<SearchPage, StoreError> {
        let limit = page.limit.clamp(1, PAGE_MAX);
        let passes = query.passes();
        // A cursor of a pass this query does not have starts the query over.
        let start = page
            .after
            .as_ref()
            .and_then(|c| passes.iter().position(|k| *k == c.kind));
        let mut found: Vec<Found> = Vec::new();
        // One connection for every pass: each acquire and hand-over costs a thread wake-up.
        let mut conn = self.pool.acquire().await?;
        for (i, kind) in passes.iter().enumerate().skip(start.unwrap_or(0)) {
            let after = match (&page.after, start) {
                (Some(c), Some(s)) if s == i => Some((c.key.as_str(), c.id)),
                _ => None,
            };
            // One more than the page holds tells whether there is a next page.
            let want = limit + 1 - u32::try_from(found.len()).unwrap_or(limit);
            found.extend(run_pass(&mut conn, query, *kind, after, want).await?);
            if found.len() > limit as usize {
                break;
            }
        }
        let next = if found.len() > limit as usize {
            found.truncate(limit as usize);
            found.last().map(|f| SearchCursor {
                kind: f.hit.matched,
                key: f.key.clone(),
                id: f.hit.member_id,
            })
        } else {
            None
        };
        Ok(SearchPage {
            hits: found.into_iter().map(|f| f.hit).collect(),
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pass must read `members` through an index (or by id from another index), never
    /// scan it: a scan would cost a million rows per keystroke.
    #[tokio::test]
    async fn search_statements_never_scan_the_roster() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let queries = [
            "123456789",
            "m00012",
            "123",
            "12 3456",
            "taro@exa",
            "林",
            "小林",
            "佐藤太郎",
            "yamada",
        ];
        for typed in queries {
            let query = SearchQuery::parse(typed).unwrap();
            for kind in query.passes() {
                for after in [None, Some(("3456 12", 5))] {
                    let pass = if kind == MatchKind::CardExact {
                        card_exact_sql(&query, after.map(|(_, id)| id))
                    } else {
                        pass_sql(&query, kind, after, 20)
                    };
                    let Some(pass) = pass else {
                        continue;
                    };
                    let mut q =
                        sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {}", pass.sql)));
                    for b in pass.binds {
                        q = match b {
                            Bind::Text(s) => q.bind(s),
                            Bind::Int(i) => q.bind(i),
                        };
                    }
                    let plan = q.fetch_all(store.pool()).await.unwrap();
                    let details: Vec<String> = plan.iter().map(|r| r.get::<String, _>(3)).collect();
                    for d in &details {
                        assert!(
                            !d.starts_with("SCAN m") && !d.starts_with("SCAN g"),
                            "{typed} {kind:?}: {}\n{details:#?}",
                            pass.sql
                        );
                        assert!(
                            !d.contains("TEMP B-TREE")
                                || matches!(kind, MatchKind::Email | MatchKind::CardExact),
                            "{typed} {kind:?} sorts: {}\n{details:#?}",
                            pass.sql
                        );
                    }
                }
            }
        }
    }
}
