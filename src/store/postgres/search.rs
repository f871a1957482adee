//! [`MemberSearch`] on PostgreSQL: each pass of a query is one index read (see
//! `migrations/postgres/0008_member_search.sql`: pg_trgm's GIN index for name pieces of 3 or
//! more characters, a GIN index of every name's 1–2 character pieces, b-trees in the "C"
//! collation for the prefixes; 0015: a b-tree of every name's character pairs by member id),
//! so a page costs about the same at a thousand members as at a million.
//!
//! The passes, their order and their cursors are SQLite's (`sqlite/search.rs`): every pass
//! reads in a stable order with a keyset bound (`key > last`), never an OFFSET, and skips the
//! members an earlier pass of the same query already listed.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgStore, corrupt};
use crate::domain::email_code::mask_address;
use crate::domain::member_search::{PAGE_MAX, prefix_end};
use crate::domain::{InsuranceCard, MatchKind, SearchCursor, SearchQuery, Step};
use crate::store::{MemberSearch, PageRequest, SearchHit, SearchPage, StoreError};

use crate::store::sql::search::HIT_COLUMNS;

/// A hit with the sort key of its pass, from which a cursor is made.
struct Found {
    hit: SearchHit,
    key: String,
}

fn hit_from_row(row: &PgRow, matched: MatchKind) -> Result<SearchHit, StoreError> {
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

/// A `LIKE` pattern that matches `key` anywhere (its `%`, `_` and `\` taken literally).
fn contains_pattern(key: &str) -> String {
    let mut p = String::with_capacity(key.len() + 2);
    p.push('%');
    for c in key.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// One value bound to a pass's statement.
enum Bind {
    Text(String),
    Int(i64),
}

/// A pass as SQL: the statement and its values, in `$n` order.
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

    /// Binds a text value; returns its placeholder.
    fn text(&mut self, v: impl Into<String>) -> String {
        self.binds.push(Bind::Text(v.into()));
        format!("${}", self.binds.len())
    }

    /// Binds an integer; returns its placeholder.
    fn int(&mut self, v: i64) -> String {
        self.binds.push(Bind::Int(v));
        format!("${}", self.binds.len())
    }
}

/// The condition (on `m`) of a user-ID prefix.
fn user_id_range(prefix: &str, p: &mut PassSql) -> String {
    let (from, to) = (p.text(prefix), p.text(prefix_end(prefix)));
    format!("(m.user_id >= {from} AND m.user_id < {to})")
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
                    let (from, to) = (p.text(key), p.text(prefix_end(prefix)));
                    sql.push_str(&format!("m.user_id > {from} AND m.user_id < {to}"));
                }
                None => sql.push_str(&user_id_range(prefix, &mut p)),
            }
            if let SearchQuery::Digits(d) = query {
                // Members the card passes listed already.
                let (from, to, whole) = (p.text(d.as_str()), p.text(prefix_end(d)), p.text(d));
                sql.push_str(&format!(
                    " AND NOT (m.number >= {from} AND m.number < {to}) \
                     AND m.symbol || m.number <> {whole}"
                ));
            }
            sql.push_str(" ORDER BY m.user_id");
        }
        (MatchKind::CardNumber, SearchQuery::Digits(d)) => {
            sql.push_str("members m WHERE ");
            let after = after
                .map(|(key, _)| key.split_once(' ').unwrap_or((key, "")))
                .filter(|(number, _)| *number >= d.as_str());
            match after {
                Some((number, symbol)) => {
                    let (n, s, to) = (p.text(number), p.text(symbol), p.text(prefix_end(d)));
                    sql.push_str(&format!(
                        "(m.number, m.symbol) > ({n}, {s}) AND m.number < {to}"
                    ));
                }
                None => {
                    let (from, to) = (p.text(d.as_str()), p.text(prefix_end(d)));
                    sql.push_str(&format!("m.number >= {from} AND m.number < {to}"));
                }
            }
            sql.push_str(" ORDER BY m.number, m.symbol");
        }
        (MatchKind::CardNumber, SearchQuery::Card { symbol, number }) => {
            let (s, from, to) = (
                p.text(symbol.as_str()),
                p.text(number.as_str()),
                p.text(prefix_end(number)),
            );
            sql.push_str(&format!(
                "members m WHERE m.symbol = {s} AND m.number >= {from} AND m.number < {to}"
            ));
            if let Some((key, _)) = after {
                let (last, _) = key.split_once(' ').unwrap_or((key, ""));
                sql.push_str(&format!(" AND m.number > {}", p.text(last)));
            }
            sql.push_str(" ORDER BY m.number");
        }
        (MatchKind::Email, SearchQuery::Email(prefix)) => {
            // By member id, not by address: a cursor must not carry other members' addresses.
            let (from, to) = (p.text(prefix.as_str()), p.text(prefix_end(prefix)));
            sql.push_str(&format!(
                "members m WHERE lower(m.email) >= {from} AND lower(m.email) < {to}"
            ));
            if let Some((_, id)) = after {
                sql.push_str(&format!(" AND m.id > {}", p.int(id)));
            }
            sql.push_str(" ORDER BY m.id");
        }
        (
            MatchKind::Name,
            SearchQuery::Text {
                name,
                user_id_prefix,
            },
        ) => {
            // The matches in id order, the plan chosen by the name's length and how common it
            // is (see `tobira_name_page` in migrations 0014 and 0015): 2 or more characters
            // from the index of character pairs, single ones from the walk and the index of
            // short pieces.
            let pattern = p.text(contains_pattern(name));
            let piece = p.text(name.as_str());
            let after = p.int(after.map_or(0, |(_, id)| id));
            let (from, to) = match user_id_prefix {
                Some(prefix) => (p.text(prefix.as_str()), p.text(prefix_end(prefix))),
                None => ("NULL".to_owned(), "NULL".to_owned()),
            };
            let n = p.int(i64::from(limit));
            sql.push_str(&format!(
                "tobira_name_page({pattern}, {piece}, {after}, {from}, {to}, {n}) AS page (id) \
                 JOIN members m ON m.id = page.id ORDER BY m.id"
            ));
        }
        _ => return None,
    }
    sql.push_str(&format!(" LIMIT {}", p.int(i64::from(limit))));
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
    let mut parts = Vec::new();
    for (symbol, number) in splits {
        let (s, n) = (p.text(symbol), p.text(number));
        let mut part =
            format!("SELECT {HIT_COLUMNS} FROM members m WHERE m.symbol = {s} AND m.number = {n}");
        if let Some(id) = after_id {
            part.push_str(&format!(" AND m.id > {}", p.int(id)));
        }
        parts.push(part);
    }
    p.sql = format!("{} ORDER BY 1", parts.join(" UNION ALL "));
    Some(p)
}

/// The statement of one pass, if the query has it.
fn statement(
    query: &SearchQuery,
    kind: MatchKind,
    after: Option<(&str, i64)>,
    limit: u32,
) -> Option<PassSql> {
    if kind == MatchKind::CardExact {
        card_exact_sql(query, after.map(|(_, id)| id))
    } else {
        pass_sql(query, kind, after, limit)
    }
}

/// Runs one pass on `conn`: at most `limit` hits after `after`.
async fn run_pass(
    conn: &mut sqlx::PgConnection,
    query: &SearchQuery,
    kind: MatchKind,
    after: Option<(&str, i64)>,
    limit: u32,
) -> Result<Vec<Found>, StoreError> {
    let Some(pass) = statement(query, kind, after, limit) else {
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
impl MemberSearch for PgStore {
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
        // One connection for every pass.
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

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("山田太"), "%山田太%");
        assert_eq!(contains_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }

    #[test]
    fn placeholders_follow_the_binds() {
        let query = SearchQuery::parse("yamada").unwrap();
        for kind in query.passes() {
            let p = statement(&query, kind, Some(("m", 3)), 21).unwrap();
            for n in 1..=p.binds.len() {
                assert!(p.sql.contains(&format!("${n}")), "{kind:?}: {}", p.sql);
            }
            assert!(!p.sql.contains(&format!("${}", p.binds.len() + 1)));
        }
    }
}
