//! The roster import: SQLite-only. A batch goes through a TEMP staging table and set-based
//! statements (UPDATE … FROM, `IS NOT`, pragmas for the page cache and WAL), which is how a
//! million-row roster imports in seconds; a PostgreSQL store would use `COPY` instead.
//!
//! The one rule still decided in SQL lives here, in [`STAGING_CLASSIFY`]: email and user ID
//! follow the roster only for a member who has not started (at the terms, no own password).
//! Deciding it row by row in Rust would read every member of the roster back on each import.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{AssertSqlSafe, Connection, Row};

use super::BEGIN_WRITE;
use crate::store::{ImportOutcome, Rejection, RosterRow, StoreError};

/// Rows per multi-row INSERT into the staging table (7 parameters each, well under SQLite's
/// limit of 32766 bound parameters).
const STAGING_CHUNK: usize = 1000;

/// Counts one running import for as long as it lives.
pub(super) struct ImportRunning(Arc<AtomicUsize>);

impl ImportRunning {
    pub(super) fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter.clone())
    }
}

impl Drop for ImportRunning {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The staging table of a roster batch. TEMP tables are private to a connection, so concurrent
/// imports on other pooled connections never see each other's rows.
const STAGING_SETUP: &[&str] = &[
    "CREATE TEMP TABLE IF NOT EXISTS roster_staging (\
        line INTEGER NOT NULL, symbol TEXT NOT NULL, number TEXT NOT NULL, \
        birth_date TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL, user_id TEXT NOT NULL, \
        member_id INTEGER NULL, fresh INTEGER NOT NULL DEFAULT 1, reject TEXT NULL, \
        new_id INTEGER NULL, old_key TEXT NULL, key TEXT NULL)",
    "CREATE TEMP TABLE IF NOT EXISTS roster_old_grams (gram TEXT NOT NULL, member_id INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS roster_staging_member ON roster_staging (member_id)",
    "DELETE FROM roster_staging",
    "DELETE FROM roster_old_grams",
];

/// Classifies the staged rows. Correlated subqueries keep every lookup on `members` an index
/// probe, so a batch costs the same whatever the roster's size.
const STAGING_CLASSIFY: &[&str] = &[
    // Which member each row names.
    "UPDATE roster_staging SET member_id = \
        (SELECT m.id FROM members m \
         WHERE m.symbol = roster_staging.symbol AND m.number = roster_staging.number)",
    // Whether email and user ID still follow the roster (the member has not started).
    "UPDATE roster_staging SET fresh = \
        (SELECT CASE WHEN m.step = 'terms' AND m.password_hash IS NULL THEN 1 ELSE 0 END \
         FROM members m WHERE m.id = roster_staging.member_id) \
     WHERE member_id IS NOT NULL",
    "UPDATE roster_staging SET reject = 'duplicate card (first seen on line ' || f.first || ')' \
     FROM (SELECT symbol, number, MIN(line) AS first FROM roster_staging \
           GROUP BY symbol, number HAVING COUNT(*) > 1) AS f \
     WHERE f.symbol = roster_staging.symbol AND f.number = roster_staging.number \
       AND roster_staging.line > f.first",
    "UPDATE roster_staging \
     SET reject = 'user ID ' || user_id || ' already belongs to another member' \
     WHERE reject IS NULL AND fresh = 1 AND EXISTS \
        (SELECT 1 FROM members o \
         WHERE o.user_id = roster_staging.user_id AND o.id IS NOT roster_staging.member_id)",
    "UPDATE roster_staging SET reject = 'duplicate user ID (first seen on line ' || f.first || ')' \
     FROM (SELECT user_id, MIN(line) AS first FROM roster_staging \
           WHERE reject IS NULL AND fresh = 1 GROUP BY user_id HAVING COUNT(*) > 1) AS f \
     WHERE f.user_id = roster_staging.user_id AND roster_staging.reject IS NULL \
       AND roster_staging.fresh = 1 AND roster_staging.line > f.first",
];

const STAGING_INSERT_NEW: &str = "INSERT INTO members (symbol, number, birth_date, name, email, \
        email_verified_at, user_id, password_hash, step, method, terms_accepted_at, created_at, \
        updated_at) \
     SELECT symbol, number, birth_date, name, email, NULL, user_id, NULL, 'terms', NULL, NULL, ?, ? \
     FROM roster_staging WHERE member_id IS NULL AND reject IS NULL ORDER BY line";

/// Only rows whose data differs are touched, so `rows_affected` is the number updated.
const STAGING_UPDATE_EXISTING: &str = "UPDATE members SET \
        name = s.name, \
        birth_date = s.birth_date, \
        email = CASE WHEN s.fresh = 1 THEN s.email ELSE members.email END, \
        email_verified_at = CASE WHEN s.fresh = 1 AND s.email <> members.email THEN NULL \
                                 ELSE members.email_verified_at END, \
        user_id = CASE WHEN s.fresh = 1 THEN s.user_id ELSE members.user_id END, \
        updated_at = ? \
     FROM roster_staging AS s \
     WHERE s.member_id = members.id AND s.reject IS NULL \
       AND (members.name <> s.name OR members.birth_date <> s.birth_date \
            OR (s.fresh = 1 AND (members.email <> s.email OR members.user_id <> s.user_id)))";

/// The search key of a name, as `domain::member_search::name_key` and the triggers of
/// migration 0008 compute it: without spaces (ASCII and ideographic) and tabs, ASCII
/// lower-cased. `$name` is an SQL expression.
macro_rules! search_key {
    ($name:literal) => {
        concat!(
            "lower(replace(replace(replace(",
            $name,
            ", ' ', ''), char(12288), ''), char(9), ''))"
        )
    };
}

/// The search index (migration 0008) is written for the whole batch at once rather than by
/// the triggers row by row (30 s against 5.5 s for a million rows): the triggers stand aside
/// while `search_index_paused` holds its row, which exists only inside this transaction.
const SEARCH_PAUSE: &str = "INSERT INTO search_index_paused (only) VALUES (1)";
/// The triggers index every other write again (before the commit, so no one sees them paused).
const SEARCH_RESUME: &str = "DELETE FROM search_index_paused";

/// Before the writes: the old key of each existing member whose name changes, and its entries
/// out of both indexes. The old pieces are listed in a table first: a row-value `IN` over
/// computed values probes the gram table by its first column only (every member with that
/// character), over plain columns by the whole key.
const SEARCH_BEFORE_WRITES: &[&str] = &[
    concat!(
        "UPDATE roster_staging SET old_key = \
            (SELECT ",
        search_key!("m.name"),
        " FROM members m WHERE m.id = roster_staging.member_id \
             AND m.name IS NOT roster_staging.name) \
         WHERE reject IS NULL AND member_id IS NOT NULL"
    ),
    "DELETE FROM member_names WHERE rowid IN \
        (SELECT member_id FROM roster_staging WHERE old_key IS NOT NULL)",
    "INSERT INTO roster_old_grams (gram, member_id) \
     SELECT substr(s.old_key, p.n, g.w), s.member_id \
     FROM roster_staging AS s, search_gram_widths AS g, search_positions AS p \
     WHERE s.old_key IS NOT NULL AND p.n <= length(s.old_key) - g.w + 1",
    "DELETE FROM member_name_grams WHERE (gram, member_id) IN \
        (SELECT gram, member_id FROM roster_old_grams)",
];

/// After the writes: the new members' ids, the key of every added or renamed member (its name
/// is the staged one now), and its entries in both indexes. The key is computed once per
/// member and its pieces read by a range of positions, not by trying all hundred; they go in
/// in key order, so the gram b-tree is written page by page rather than at random.
const SEARCH_AFTER_WRITES: &[&str] = &[
    "UPDATE roster_staging SET new_id = \
        (SELECT m.id FROM members m \
         WHERE m.symbol = roster_staging.symbol AND m.number = roster_staging.number) \
     WHERE member_id IS NULL AND reject IS NULL",
    concat!(
        "UPDATE roster_staging SET key = ",
        search_key!("name"),
        " WHERE new_id IS NOT NULL OR old_key IS NOT NULL"
    ),
    "INSERT INTO member_names (rowid, name_key) \
     SELECT coalesce(new_id, member_id), key FROM roster_staging WHERE key IS NOT NULL",
    "INSERT OR IGNORE INTO member_name_grams (gram, member_id) \
     SELECT substr(s.key, p.n, g.w), coalesce(s.new_id, s.member_id) \
     FROM roster_staging AS s, search_gram_widths AS g, search_positions AS p \
     WHERE s.key IS NOT NULL AND p.n <= length(s.key) - g.w + 1 \
     ORDER BY 1, 2",
];

fn staging_insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(110 + rows * 16);
    sql.push_str(
        "INSERT INTO roster_staging (line, symbol, number, birth_date, name, email, user_id) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?)");
    }
    sql
}

/// Import batches touch index pages all over a large roster: a bigger page cache (64 MiB) keeps
/// them in memory, and checkpointing less often (WAL up to 256 MiB) writes a page to the database
/// once for several batches instead of once per batch; in shuffled order this cut a million-row
/// import from about 25 s to about 16 s. Both are undone afterwards so pooled connections stay
/// small and other writers checkpoint as usual.
pub(super) const IMPORT_TUNING: &[&str] = &[
    "PRAGMA cache_size = -65536",
    "PRAGMA wal_autocheckpoint = 65536",
];

/// SQLite's defaults.
pub(super) const IMPORT_RESTORE: &[&str] = &[
    "PRAGMA cache_size = -2000",
    // Back to the background checkpointer (see Checkpointer).
    "PRAGMA wal_autocheckpoint = 0",
];

/// One roster batch in one transaction, set-based through the staging table; committed, or
/// rolled back when `commit` is false (a dry run).
pub(super) async fn import_batch(
    conn: &mut sqlx::SqliteConnection,
    rows: &[RosterRow],
    at: i64,
    commit: bool,
) -> Result<ImportOutcome, StoreError> {
    let mut tx = conn.begin_with(BEGIN_WRITE).await?;
    for sql in STAGING_SETUP {
        sqlx::query(*sql).execute(&mut *tx).await?;
    }
    let full_chunk_sql = staging_insert_sql(STAGING_CHUNK);
    for chunk in rows.chunks(STAGING_CHUNK) {
        let sql = if chunk.len() == STAGING_CHUNK {
            full_chunk_sql.clone()
        } else {
            staging_insert_sql(chunk.len())
        };
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(i64::try_from(r.line).unwrap_or(i64::MAX))
                .bind(r.card.symbol.clone())
                .bind(r.card.number.clone())
                .bind(r.birth_date.to_string())
                .bind(r.name.clone())
                .bind(r.email.as_str().to_owned())
                .bind(r.user_id.as_str().to_owned());
        }
        q.execute(&mut *tx).await?;
    }
    for sql in STAGING_CLASSIFY {
        sqlx::query(*sql).execute(&mut *tx).await?;
    }
    sqlx::query(SEARCH_PAUSE).execute(&mut *tx).await?;
    for sql in SEARCH_BEFORE_WRITES {
        sqlx::query(*sql).execute(&mut *tx).await?;
    }
    let imported = sqlx::query(STAGING_INSERT_NEW)
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let updated = sqlx::query(STAGING_UPDATE_EXISTING)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    for sql in SEARCH_AFTER_WRITES {
        sqlx::query(*sql).execute(&mut *tx).await?;
    }
    sqlx::query(SEARCH_RESUME).execute(&mut *tx).await?;
    let existing: i64 = sqlx::query(
        "SELECT COUNT(*) FROM roster_staging WHERE member_id IS NOT NULL AND reject IS NULL",
    )
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let rejected = sqlx::query(
        "SELECT line, reject FROM roster_staging WHERE reject IS NOT NULL ORDER BY line",
    )
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| {
        Ok(Rejection {
            line: u64::try_from(r.try_get::<i64, _>(0)?).unwrap_or(0),
            reason: r.try_get(1)?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    if commit {
        for sql in ["DELETE FROM roster_staging", "DELETE FROM roster_old_grams"] {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    } else {
        // The staging rows go with everything else.
        tx.rollback().await?;
    }
    Ok(ImportOutcome {
        imported,
        updated,
        unchanged: u64::try_from(existing).unwrap_or(0).saturating_sub(updated),
        rejected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    /// Each import statement must probe `members` and the search index through an index, never
    /// scan them: a scan would make every batch cost as much as the whole roster.
    #[tokio::test]
    async fn import_statements_never_scan_the_roster() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        for sql in STAGING_SETUP {
            sqlx::query(*sql).execute(&mut *conn).await.unwrap();
        }
        let statements = STAGING_CLASSIFY
            .iter()
            .copied()
            .chain([STAGING_INSERT_NEW, STAGING_UPDATE_EXISTING])
            .chain(SEARCH_BEFORE_WRITES.iter().copied())
            .chain(SEARCH_AFTER_WRITES.iter().copied());
        for sql in statements {
            let plan = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            let details: Vec<String> = plan.iter().map(|r| r.get::<String, _>(3)).collect();
            for d in &details {
                let scanned = d.strip_prefix("SCAN ").unwrap_or_default();
                let table = scanned.split_whitespace().next().unwrap_or_default();
                // Nor the search index, which holds a dozen rows per member.
                assert!(
                    !matches!(table, "members" | "m" | "o" | "member_name_grams"),
                    "{sql}\n{details:#?}"
                );
                // A gram probe by the character alone would read every member who has it.
                if d.starts_with("SEARCH member_name_grams") {
                    assert!(d.contains("member_id=?"), "{sql}\n{details:#?}");
                }
            }
        }
    }
}
