//! The roster import on PostgreSQL: the same set-based plan as SQLite's (`sqlite/import.rs`)
//! — a batch goes into a staging table, is classified by a few statements, and lands in
//! `members` with one INSERT … SELECT and one UPDATE … FROM — written in PostgreSQL's dialect.
//! The staging table is TEMP and `ON COMMIT DROP`: private to the connection, gone with the
//! transaction, so a dry run (rolled back) and a committed run leave nothing behind.
//!
//! The batch reaches the staging table through `COPY … FROM STDIN` ([`stage_rows`]).
//!
//! The one rule still decided in SQL lives in [`STAGING_CLASSIFY`], as on SQLite: email and
//! user ID follow the roster only for a member who has not started (at the terms, no own
//! password).

use sqlx::{Connection, Row};

use super::roster_copy::stage_rows;

use crate::store::{ImportOutcome, Rejection, RosterRow, StoreError};

const STAGING_CREATE: &str = "CREATE TEMP TABLE roster_staging (\
        line BIGINT NOT NULL, symbol TEXT NOT NULL, number TEXT NOT NULL, \
        birth_date TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL, user_id TEXT NOT NULL, \
        member_id BIGINT NULL, fresh BOOLEAN NOT NULL DEFAULT TRUE, reject TEXT NULL) \
     ON COMMIT DROP";

/// Classifies the staged rows (SQLite's steps in SQLite's order, its first two in one join).
const STAGING_CLASSIFY: &[&str] = &[
    // Which member each row names, and whether email and user ID still follow the roster
    // (the member has not started): one join for both.
    "UPDATE roster_staging AS s \
     SET member_id = m.id, fresh = (m.step = 'terms' AND m.password_hash IS NULL) \
     FROM members AS m WHERE m.symbol = s.symbol AND m.number = s.number",
    "UPDATE roster_staging AS s \
     SET reject = 'duplicate card (first seen on line ' || f.first_line || ')' \
     FROM (SELECT symbol, number, MIN(line) AS first_line FROM roster_staging \
           GROUP BY symbol, number HAVING COUNT(*) > 1) AS f \
     WHERE f.symbol = s.symbol AND f.number = s.number AND s.line > f.first_line",
    "UPDATE roster_staging AS s \
     SET reject = 'user ID ' || s.user_id || ' already belongs to another member' \
     WHERE s.reject IS NULL AND s.fresh AND EXISTS \
        (SELECT 1 FROM members AS o \
         WHERE o.user_id = s.user_id AND o.id IS DISTINCT FROM s.member_id)",
    "UPDATE roster_staging AS s \
     SET reject = 'duplicate user ID (first seen on line ' || f.first_line || ')' \
     FROM (SELECT user_id, MIN(line) AS first_line FROM roster_staging \
           WHERE reject IS NULL AND fresh GROUP BY user_id HAVING COUNT(*) > 1) AS f \
     WHERE f.user_id = s.user_id AND s.reject IS NULL AND s.fresh AND s.line > f.first_line",
];

/// `$1` at.
const STAGING_INSERT_NEW: &str = "INSERT INTO members (symbol, number, birth_date, name, email, \
        email_verified_at, user_id, password_hash, step, method, terms_accepted_at, created_at, \
        updated_at) \
     SELECT symbol, number, birth_date, name, email, NULL, user_id, NULL, 'terms', NULL, NULL, \
        $1, $1 \
     FROM roster_staging WHERE member_id IS NULL AND reject IS NULL ORDER BY line";

/// The staged row still follows the roster for the member as stored now.
macro_rules! still_fresh {
    () => {
        "(s.fresh AND members.step = 'terms' AND members.password_hash IS NULL)"
    };
}

/// Only rows whose data differs are touched, so `rows_affected` is the number updated. `$1` at.
///
/// Whether email and user ID still follow the roster is checked again here on the row being
/// written (`still_fresh`), not only in the staging table: under READ COMMITTED an UPDATE that
/// waited for another process's change to the member re-evaluates its expressions on the row
/// as that change left it, so a member who started meanwhile keeps the address they confirmed.
const STAGING_UPDATE_EXISTING: &str = concat!(
    "UPDATE members SET \
        name = s.name, \
        birth_date = s.birth_date, \
        email = CASE WHEN ",
    still_fresh!(),
    " THEN s.email ELSE members.email END, \
        email_verified_at = CASE WHEN ",
    still_fresh!(),
    " AND s.email <> members.email THEN NULL \
                                 ELSE members.email_verified_at END, \
        user_id = CASE WHEN ",
    still_fresh!(),
    " THEN s.user_id ELSE members.user_id END, \
        updated_at = $1 \
     FROM roster_staging AS s \
     WHERE s.member_id = members.id AND s.reject IS NULL \
       AND (members.name <> s.name OR members.birth_date <> s.birth_date \
            OR (",
    still_fresh!(),
    " AND (members.email <> s.email OR members.user_id <> s.user_id)))"
);

/// Moves the name indexes' pending entries into the indexes proper. GIN takes a bulk insert
/// into a pending list that every search then reads through linearly until a vacuum (or a full
/// list) merges it: right after a 100,000-member import, before autovacuum came, 3-character
/// searches took 13 ms at p50 instead of under 1 ms. The import pays for the merge instead.
/// While a load into an empty table runs the indexes do not exist (`roster_load.rs`): then
/// there is nothing to flush.
const FLUSH_NAME_INDEXES: &str = "SELECT gin_clean_pending_list(i) FROM \
     unnest(ARRAY[to_regclass('members_name_trgm'), to_regclass('members_name_grams')]) AS i \
     WHERE i IS NOT NULL";

/// Every join of the import is a staged row (at most a batch) probing a unique index of
/// `members`. While a load grows the table its statistics lag behind, and the planner, taking
/// it for a few thousand rows, hashed all of it for every batch (a sequential scan of the
/// members loaded so far, 20–50 ms a batch and growing: quadratic over a million rows). Without
/// hash and merge joins each probe is an index lookup whatever the statistics say.
const PROBE_JOINS: &[&str] = &[
    "SET LOCAL enable_hashjoin = off",
    "SET LOCAL enable_mergejoin = off",
];

/// A batch's commit does not wait for its WAL to reach the disk: the import's run ends with its
/// audit entry, committed normally, and that commit's flush carries every batch before it, so
/// nothing the import reports as done can be lost; meanwhile the disk writes overlap the next
/// batch instead of stalling it (a flush per batch, a hundred for a million rows).
const BATCH_COMMIT: &str = "SET LOCAL synchronous_commit = off";

/// Takes the import's lock for the rest of the transaction: batches from two processes (two
/// `tobira admin import` at once) run one after the other, so neither classifies its rows
/// against members the other is inserting (which would end in a unique-key error).
pub(super) const IMPORT_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('tobira.roster_import'))";

/// One roster batch in one transaction; committed, or rolled back when `commit` is false (a
/// dry run).
pub(super) async fn import_batch(
    conn: &mut sqlx::PgConnection,
    rows: &[RosterRow],
    at: i64,
    commit: bool,
) -> Result<ImportOutcome, StoreError> {
    let mut tx = conn.begin().await?;
    sqlx::query(IMPORT_LOCK).execute(&mut *tx).await?;
    if commit {
        sqlx::query(BATCH_COMMIT).execute(&mut *tx).await?;
    }
    for sql in PROBE_JOINS {
        sqlx::query(*sql).execute(&mut *tx).await?;
    }
    sqlx::query(STAGING_CREATE).execute(&mut *tx).await?;
    stage_rows(&mut tx, rows).await?;
    for sql in STAGING_CLASSIFY {
        sqlx::query(*sql).execute(&mut *tx).await?;
    }
    let imported = sqlx::query(STAGING_INSERT_NEW)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let updated = sqlx::query(STAGING_UPDATE_EXISTING)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if commit && imported + updated > 0 {
        sqlx::query(FLUSH_NAME_INDEXES).execute(&mut *tx).await?;
    }
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
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(ImportOutcome {
        imported,
        updated,
        unchanged: u64::try_from(existing).unwrap_or(0).saturating_sub(updated),
        rejected,
    })
}
