//! A roster loaded into an empty members table: the search indexes are built once after the
//! load instead of being written row by row (issue 17: a million members within 20 s).
//!
//! Writing a row into the two GIN name indexes and the three search b-trees cost about as much
//! as writing the row itself with its unique keys; building them from the loaded table takes a
//! fraction of that (sorted runs, no pending list, no WAL record per row). So
//! [`begin`] drops them when the import starts on an empty table, and [`end`] builds the missing
//! ones when it finishes, whether it succeeded or not. The unique indexes (card, user ID) stay:
//! the classification reads them and they are the last guard against duplicates.
//!
//! Nothing depends on the dropped indexes but speed, and a load can die between the two calls,
//! so [`build_missing`] also runs whenever a process connects ([`super::PgStore::connect`]): the
//! next start repairs what a killed import left.

use futures::future::try_join_all;
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Row};

use super::import::IMPORT_LOCK;
use crate::store::StoreError;

/// The indexes a load may build afterwards: (name, definition), as migrations 0008, 0014 and
/// 0015 made them. Longest first (the short-piece GIN index, whose function runs once per member,
/// and the pairs' table), since the list is dealt to two connections in turn.
const SEARCH_INDEXES: &[(&str, &str)] = &[
    (
        "members_name_grams",
        "CREATE INDEX IF NOT EXISTS members_name_grams ON members \
         USING gin (tobira_name_grams(name_key))",
    ),
    // Not an index of `members`: the table of character pairs (migration 0015), filled and
    // indexed in one go (the table is complete when its index exists; its triggers write
    // nothing meanwhile). Second, so it overlaps the short-piece index on the other connection.
    // The two take about as long (5.5 and 5.7 s at a million members).
    ("member_name_pairs_walk", "SELECT tobira_name_pairs_build()"),
    (
        "members_name_trgm",
        "CREATE INDEX IF NOT EXISTS members_name_trgm ON members USING gin (name_key gin_trgm_ops)",
    ),
    (
        "members_number",
        "CREATE INDEX IF NOT EXISTS members_number ON members (number, symbol)",
    ),
    (
        "members_email_lower",
        "CREATE INDEX IF NOT EXISTS members_email_lower ON members (lower(email))",
    ),
    (
        "members_name_walk",
        "CREATE INDEX IF NOT EXISTS members_name_walk ON members (id) INCLUDE (name_key, user_id)",
    ),
];

/// Memory for one index build (sorting the keys of a million members in memory; two builds
/// run at once).
const BUILD_MEMORY: &str = "SET LOCAL maintenance_work_mem = '256MB'";

/// Before a roster import: when no member exists yet, drops the search indexes (rebuilt by
/// [`end`]). Under the import's lock, so no batch of another process is half-way meanwhile.
pub(super) async fn begin(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(IMPORT_LOCK).execute(&mut *tx).await?;
    let empty: bool = sqlx::query("SELECT NOT EXISTS (SELECT 1 FROM members)")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    if empty {
        for (name, _) in SEARCH_INDEXES {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX IF EXISTS {name}")))
                .execute(&mut *tx)
                .await?;
        }
        // Without its index the pairs table is out of use: its space back now.
        sqlx::query("TRUNCATE member_name_pairs")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// After a roster import: builds the search indexes that are missing, then vacuums the members
/// and their name pairs (marking the loaded pages all-visible, which the name walk's and the
/// pairs' index-only scans need) and refreshes the planner's statistics (a load changes them
/// wholesale; the searches' plans depend on them).
pub(super) async fn end(pool: &PgPool) -> Result<(), StoreError> {
    if build_missing(pool).await? {
        // Not in a transaction block: VACUUM refuses one.
        let mut conn = bulk_connection(pool).await?;
        sqlx::raw_sql("VACUUM (ANALYZE) members, member_name_pairs")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
    }
    Ok(())
}

/// A connection of its own for a load's bulk statements (index builds, the vacuum), which take
/// seconds by nature: sqlx would report each one as a slow statement, a warning an operator
/// would have to ignore.
async fn bulk_connection(pool: &PgPool) -> Result<PgConnection, StoreError> {
    let options = (*pool.connect_options())
        .clone()
        .disable_statement_logging();
    Ok(PgConnection::connect_with(&options).await?)
}

/// Builds every missing search index, two at a time on two connections (builds of one table
/// can run side by side; each one is mostly CPU). Returns whether any was built.
pub(super) async fn build_missing(pool: &PgPool) -> Result<bool, StoreError> {
    let mut missing = Vec::new();
    for (name, create) in SEARCH_INDEXES {
        let present: bool = sqlx::query("SELECT to_regclass($1) IS NOT NULL")
            .bind(*name)
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        if !present {
            missing.push(*create);
        }
    }
    if missing.is_empty() {
        return Ok(false);
    }
    // Dealt to the two connections in turn: the two long builds side by side, then the short
    // ones shared (the first alone on one connection, the rest on the other, left the second
    // connection 3 s longer than the first at a million members).
    let groups: [Vec<&str>; 2] = [0, 1].map(|parity| {
        missing
            .iter()
            .skip(parity)
            .step_by(2)
            .copied()
            .collect::<Vec<_>>()
    });
    try_join_all(
        groups
            .iter()
            .filter(|g| !g.is_empty())
            .map(|group| async move {
                let mut conn = bulk_connection(pool).await?;
                for create in group {
                    build_one(&mut conn, create).await?;
                }
                conn.close().await?;
                Ok::<(), StoreError>(())
            }),
    )
    .await?;
    Ok(true)
}

/// One index build in its own transaction. Two processes may build the same index at once
/// (two imports ending, a process starting): `IF NOT EXISTS` then races on the catalogue, so
/// the builds of one index take a lock of their own first.
async fn build_one(conn: &mut sqlx::PgConnection, create: &'static str) -> Result<(), StoreError> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(create)
        .execute(&mut *tx)
        .await?;
    sqlx::query(BUILD_MEMORY).execute(&mut *tx).await?;
    sqlx::query(create).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
