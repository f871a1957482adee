//! The SQLite store (the default, embedded), one file per concern like the traits it
//! implements: members (and the SQLite-only roster import), flows, factors, codes, mail,
//! audit and staff. Portable statements come from [`crate::store::sql`]; what only SQLite has stays here.
//!
//! Two pools per process: readers, and one writer connection that every state-changing method
//! goes through. File databases run in WAL mode so readers never wait for the writer. Writers
//! queue for the one connection in arrival order (sqlx's pool is fair); with several writer
//! connections they met at SQLite's lock instead, whose busy handler polls with sleeps that
//! grow to 100 ms, so a write that lost a few times could wait a second while later ones went
//! first (`tobira bench sign-in` saw 1.2 s at 64 connections). Each transaction still opens with
//! `BEGIN IMMEDIATE`, so a writer in another process (an import) queues on the busy timeout
//! instead of failing when a read lock cannot be upgraded. That lock is also why "read, ask the
//! domain, write" inside one transaction is safe here: nothing else writes between the read and
//! the write.

mod audit;
mod codes;
mod factors;
mod flows;
mod helpdesk;
mod helpdesk_actions;
mod import;
mod mail;
mod members;
mod search;
mod sign_in;
mod staff;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};

use super::StoreError;

/// One embedded migration: its version, a short name and its SQL.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// The SQLite migrations, in order. Append only: an applied migration is never edited.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "totp",
        sql: include_str!("../../../migrations/sqlite/0002_totp.sql"),
    },
    Migration {
        version: 3,
        name: "mail",
        sql: include_str!("../../../migrations/sqlite/0003_mail.sql"),
    },
    Migration {
        version: 4,
        name: "passkey",
        sql: include_str!("../../../migrations/sqlite/0004_passkey.sql"),
    },
    Migration {
        version: 5,
        name: "totp_burnt_steps",
        sql: include_str!("../../../migrations/sqlite/0005_totp_burnt_steps.sql"),
    },
    Migration {
        version: 6,
        name: "flow_step_ups",
        sql: include_str!("../../../migrations/sqlite/0006_flow_step_ups.sql"),
    },
    Migration {
        version: 7,
        name: "staff",
        sql: include_str!("../../../migrations/sqlite/0007_staff.sql"),
    },
    Migration {
        version: 8,
        name: "member_search",
        sql: include_str!("../../../migrations/sqlite/0008_member_search.sql"),
    },
    Migration {
        version: 9,
        name: "audit_read",
        sql: include_str!("../../../migrations/sqlite/0009_audit_read.sql"),
    },
    Migration {
        version: 10,
        name: "helpdesk",
        sql: include_str!("../../../migrations/sqlite/0010_helpdesk.sql"),
    },
    Migration {
        version: 11,
        name: "helpdesk_actions",
        sql: include_str!("../../../migrations/sqlite/0011_helpdesk_actions.sql"),
    },
    Migration {
        version: 12,
        name: "member_lang",
        sql: include_str!("../../../migrations/sqlite/0012_member_lang.sql"),
    },
    Migration {
        version: 13,
        name: "staff_passkeys",
        sql: include_str!("../../../migrations/sqlite/0013_staff_passkeys.sql"),
    },
    Migration {
        version: 14,
        name: "search_bulk_import",
        sql: include_str!("../../../migrations/sqlite/0014_search_bulk_import.sql"),
    },
];

/// Starts a write transaction that holds the write lock from the start.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// How often the background task checkpoints the WAL of a file database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// The SQLite implementation of [`crate::store::Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The one connection that writes (the same pool as `pool` for an in-memory database).
    writer: SqlitePool,
    /// Stops the background checkpointer when the last clone of the store goes away.
    _checkpointer: Option<Arc<Checkpointer>>,
    /// Imports running now: the checkpointer leaves them to checkpoint at their own pace
    /// (see `import::IMPORT_TUNING`).
    importing: Arc<AtomicUsize>,
}

/// The background WAL checkpointer of a file database. A commit that crosses SQLite's
/// auto-checkpoint threshold copies the WAL into the database and fsyncs it on the request's
/// own connection, which put milliseconds on one request in a few hundred (the p99 of
/// `tobira bench totp`); checkpointing here instead keeps that off every request.
#[derive(Debug)]
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    fn start(pool: SqlitePool, importing: Arc<AtomicUsize>) -> Self {
        Self(tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if importing.load(Ordering::SeqCst) > 0 {
                    continue;
                }
                // PASSIVE never waits for readers or writers; what it cannot copy now it copies
                // next time.
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::debug!(error = %e, "WAL checkpoint failed");
                }
            }
        }))
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at a file path or `sqlite:` URL and migrates it.
    /// A URL of another kind (`postgres://…`) is refused rather than taken for a file name.
    pub async fn open(target: &str) -> Result<Self, StoreError> {
        Ok(Self::open_migrating(target).await?.0)
    }

    /// [`SqliteStore::open`], also returning the (version, name) of each migration it applied
    /// (`tobira admin migrate`).
    pub async fn open_migrating(target: &str) -> Result<(Self, Vec<(i64, String)>), StoreError> {
        match super::backend_of(target)? {
            super::Backend::Sqlite => {}
            super::Backend::Postgres => {
                return Err(StoreError::Unsupported(
                    "a PostgreSQL URL is not a SQLite database".to_owned(),
                ));
            }
        }
        if target.contains(":memory:") || target.contains("mode=memory") {
            let options = SqliteConnectOptions::from_str(target)
                .map_err(|e| StoreError::Open(format!("{target}: {e}")))?;
            return Self::open_memory_with(options).await;
        }
        let options = if target.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(target)
                .map_err(|e| StoreError::Open(format!("{target}: {e}")))?
        } else {
            SqliteConnectOptions::new().filename(target)
        };
        let path = options.get_filename().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Open(format!("{}: {e}", parent.display())))?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .pragma("temp_store", "memory")
            // An import lets the WAL grow (see `import::IMPORT_TUNING`); this gives the space back once the
            // WAL has been checkpointed.
            .pragma("journal_size_limit", "67108864")
            // Checkpoints run in the background (see Checkpointer), never inside a commit.
            .pragma("wal_autocheckpoint", "0");
        // No ping before each acquire: a SQLite connection lives in this process and cannot be
        // lost on a network, and the ping is one more hop to the connection's worker thread on
        // every store call (sqlx still pings when a connection is given back, which flushes a
        // dropped transaction's rollback).
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        let importing = Arc::new(AtomicUsize::new(0));
        let store = Self {
            writer,
            _checkpointer: Some(Arc::new(Checkpointer::start(
                pool.clone(),
                importing.clone(),
            ))),
            pool,
            importing,
        };
        let applied = store.migrate().await?;
        Ok((store, applied))
    }

    /// Opens a fresh private in-memory database (for tests).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        Ok(
            Self::open_memory_with(SqliteConnectOptions::new().in_memory(true))
                .await?
                .0,
        )
    }

    /// An in-memory database lives exactly as long as its connection, so the pool holds one
    /// connection forever; shared cache is avoided because its table locks bypass the busy timeout.
    async fn open_memory_with(
        options: SqliteConnectOptions,
    ) -> Result<(Self, Vec<(i64, String)>), StoreError> {
        let options = options
            .shared_cache(false)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(format!(":memory:: {e}")))?;
        let store = Self {
            writer: pool.clone(),
            pool,
            _checkpointer: None,
            importing: Arc::default(),
        };
        let applied = store.migrate().await?;
        Ok((store, applied))
    }

    /// The underlying pool (for tools and tests that need raw SQL).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Versions of the migrations applied so far, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>("version").map_err(StoreError::from))
            .collect()
    }

    /// Applies the embedded migrations not yet recorded in `schema_migrations`; returns the
    /// (version, name) of those it applied.
    async fn migrate(&self) -> Result<Vec<(i64, String)>, StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        let mut applied = Vec::new();
        for m in MIGRATIONS {
            let ran = self
                .apply_migration(m)
                .await
                .map_err(|e| StoreError::Migration(format!("{:04}_{}: {e}", m.version, m.name)))?;
            if ran {
                applied.push((m.version, m.name.to_owned()));
            }
        }
        Ok(applied)
    }

    /// Whether it applied `m` (false: it was applied before).
    async fn apply_migration(&self, m: &Migration) -> Result<bool, sqlx::Error> {
        // Checked inside the write transaction so two processes opening at once apply it once.
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let done = sqlx::query("SELECT 1 FROM schema_migrations WHERE version = ?")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if done {
            return Ok(false);
        }
        sqlx::raw_sql(AssertSqlSafe(m.sql))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
            .bind(m.version)
            .bind(m.name)
            .bind(unix_now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        let asked = std::time::Instant::now();
        let tx = self.writer.begin_with(BEGIN_WRITE).await?;
        // How long a write waited for the writer connection and the lock (`tobira bench sign-in`).
        tracing::debug!(
            target: "tobira::timing",
            lock_us = u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX),
            "write"
        );
        Ok(tx)
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

/// A stored integer that must fit a `u32` (attempt counters).
fn count_u32(row: &SqliteRow, col: &str) -> Result<u32, StoreError> {
    let n: i64 = row.try_get(col)?;
    u32::try_from(n).map_err(|_| corrupt(col, &n.to_string()))
}

/// A TOTP step as SQLite stores it (a signed 64-bit integer).
fn step_i64(step: u64) -> Result<i64, StoreError> {
    i64::try_from(step).map_err(|_| corrupt("step", &step.to_string()))
}

/// A `COUNT(*)` read as a `usize`.
fn count_of(row: &SqliteRow) -> Result<usize, StoreError> {
    let n: i64 = row.try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
