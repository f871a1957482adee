//! The PostgreSQL store, for several `tobira serve` processes sharing one database. One file
//! per concern like the SQLite store; the statements both backends share come from
//! [`crate::store::sql`], and what only PostgreSQL needs (row locks, the import's staging table)
//! stays here.
//!
//! Transactions run at PostgreSQL's default isolation, READ COMMITTED, and every "read, ask the
//! domain, write" takes row locks (`SELECT … FOR UPDATE`) on what it reads, so a second server
//! process waits for the first one's commit instead of deciding on a stale read; single-statement
//! guards are conditional updates (see `flows.rs` and `factors.rs` for which and why).
//!
//! The migrations are `migrations/postgres/`, embedded and applied by sqlx's migrator (its
//! `_sqlx_migrations` table and advisory lock, so two processes starting at once apply each
//! migration once).

mod audit;
mod codes;
mod factors;
mod flows;
mod helpdesk;
mod helpdesk_actions;
mod import;
mod mail;
mod members;
mod roster_copy;
mod roster_load;
mod search;
mod sign_in;
mod staff;

use std::borrow::Cow;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Postgres, Row, SqlStr, Transaction};

use super::StoreError;

// Helpers other concerns call inside their transactions (audit entries, queued mail, the
// address of an attempt): named here once, so each concern's file can move without touching
// the others.
use audit::insert_audit;
use helpdesk::note_attempt_address;
use mail::insert_mail;

/// The PostgreSQL migrations, in order: (version, name, SQL). Append only: an applied
/// migration is never edited (sqlx refuses to start when a checksum changed).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "totp",
        include_str!("../../../migrations/postgres/0002_totp.sql"),
    ),
    (
        3,
        "mail",
        include_str!("../../../migrations/postgres/0003_mail.sql"),
    ),
    (
        4,
        "passkey",
        include_str!("../../../migrations/postgres/0004_passkey.sql"),
    ),
    (
        5,
        "totp_burnt_steps",
        include_str!("../../../migrations/postgres/0005_totp_burnt_steps.sql"),
    ),
    (
        6,
        "flow_step_ups",
        include_str!("../../../migrations/postgres/0006_flow_step_ups.sql"),
    ),
    (
        7,
        "staff",
        include_str!("../../../migrations/postgres/0007_staff.sql"),
    ),
    (
        8,
        "member_search",
        include_str!("../../../migrations/postgres/0008_member_search.sql"),
    ),
    (
        9,
        "audit_read",
        include_str!("../../../migrations/postgres/0009_audit_read.sql"),
    ),
    (
        10,
        "helpdesk",
        include_str!("../../../migrations/postgres/0010_helpdesk.sql"),
    ),
    (
        11,
        "helpdesk_actions",
        include_str!("../../../migrations/postgres/0011_helpdesk_actions.sql"),
    ),
    (
        12,
        "member_lang",
        include_str!("../../../migrations/postgres/0012_member_lang.sql"),
    ),
    (
        13,
        "staff_passkeys",
        include_str!("../../../migrations/postgres/0013_staff_passkeys.sql"),
    ),
    (
        14,
        "search_at_a_million",
        include_str!("../../../migrations/postgres/0014_search_at_a_million.sql"),
    ),
    (
        15,
        "name_pairs",
        include_str!("../../../migrations/postgres/0015_name_pairs.sql"),
    ),
];

/// Connections per process. Each server process has its own pool, so the database sees this
/// many per process: keep `processes × this` under the server's `max_connections` (100 by
/// default).
const POOL_SIZE: u32 = 16;

/// The PostgreSQL implementation of [`crate::store::Store`].
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to a `postgres://` or `postgresql://` URL and applies the pending migrations.
    /// Errors never repeat the URL (it usually carries a password).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect_only(url).await?;
        store.migrate().await?;
        // What a roster load killed half-way left unbuilt (`roster_load.rs`).
        roster_load::build_missing(&store.pool).await?;
        Ok(store)
    }

    /// Connects without migrating (`tobira admin migrate` reports what it applies).
    pub async fn connect_only(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::Open(format!("PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(format!("PostgreSQL: {e}")))?;
        Ok(Self { pool })
    }

    /// The underlying pool (for tools and tests that need raw SQL).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The embedded migrations as sqlx's migrator takes them.
    fn migrator() -> Migrator {
        Migrator::with_migrations(
            MIGRATIONS
                .iter()
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*name),
                        MigrationType::Simple,
                        SqlStr::from_static(sql),
                        false,
                    )
                })
                .collect(),
        )
    }

    /// Versions of the migrations applied so far, in order (none on an empty database).
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let exists: bool = sqlx::query("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if !exists {
            return Ok(Vec::new());
        }
        let rows =
            sqlx::query("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0).map_err(StoreError::from))
            .collect()
    }

    /// Applies the migrations not applied yet; returns the (version, name) of each one this
    /// call applied, in order.
    pub async fn migrate(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let before = self.applied_migrations().await?;
        Self::migrator()
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        let after = self.applied_migrations().await?;
        Ok(MIGRATIONS
            .iter()
            .filter(|(v, _, _)| after.contains(v) && !before.contains(v))
            .map(|(v, name, _)| (*v, (*name).to_owned()))
            .collect())
    }
}

impl PgStore {
    /// A transaction at the database's default isolation (READ COMMITTED); what it must not
    /// see change, it locks (see the module comment).
    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

/// A shared SELECT (of `store::sql`) with the rows it reads locked until the transaction ends;
/// two transactions reading the same row this way queue.
fn locked(select: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(format!("{select} FOR UPDATE"))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

/// A stored integer that must fit a `u32` (attempt counters).
fn count_u32(row: &PgRow, col: &str) -> Result<u32, StoreError> {
    let n: i64 = row.try_get(col)?;
    u32::try_from(n).map_err(|_| corrupt(col, &n.to_string()))
}

/// A TOTP step as PostgreSQL stores it (a `BIGINT`).
fn step_i64(step: u64) -> Result<i64, StoreError> {
    i64::try_from(step).map_err(|_| corrupt("step", &step.to_string()))
}

/// A `COUNT(*)` (or a sum of counts) read as a `usize`.
fn count_of(row: &PgRow) -> Result<usize, StoreError> {
    let n: i64 = row.try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
