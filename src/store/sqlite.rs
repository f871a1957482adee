//! The SQLite store (the default, embedded).
//!
//! One pool per process. File databases run in WAL mode so readers never wait for the writer;
//! every state-changing method opens its transaction with `BEGIN IMMEDIATE`, so concurrent
//! writers queue on the busy timeout instead of failing when a read lock cannot be upgraded.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection, Row, Sqlite, Transaction};

use super::{
    AttemptOutcome, AuditEntry, CredentialId, EmailToken, EmailTokenOutcome, FailedAttempt, Flow,
    ImportOutcome, Member, MemberId, PendingTotp, Rejection, RosterRow, Store, StoreError,
    ThrottleScope, TotpConfirmation, TotpCredential, TotpUse, Transition,
};
use super::{CeremonyKind, PasskeyCeremony, PasskeyCredential, PasskeyEnrollment, PasskeyUse};
use super::{
    CodeCheckOutcome, CodeIssue, CodePurpose, EmailFactor, MailId, MailQueueReport, MailStatus,
    MailSummary, NewEmailCode, NewMail, QueuedMail,
};
use crate::domain::{
    BirthDate, FailureRecord, InsuranceCard, Method, Step, TotpAlgorithm, TotpParams, Verdict,
};

/// Columns of `totp_credentials`, in the order [`credential_from_row`] reads them.
const CREDENTIAL_COLUMNS: &str = "id, member_id, name, secret, algorithm, digits, period_secs, \
     last_used_step, created_at, last_used_at";

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
        sql: include_str!("../../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "totp",
        sql: include_str!("../../migrations/sqlite/0002_totp.sql"),
    },
    Migration {
        version: 3,
        name: "mail",
        sql: include_str!("../../migrations/sqlite/0003_mail.sql"),
    },
    Migration {
        version: 4,
        name: "passkey",
        sql: include_str!("../../migrations/sqlite/0004_passkey.sql"),
    },
];

/// Columns of `passkey_credentials`, in the order [`passkey_from_row`] reads them.
const PASSKEY_COLUMNS: &str =
    "id, member_id, name, credential_id, passkey, created_at, last_used_at";

/// `use_totp_step` as one script: the replay guard takes the step only if it is newer than the
/// device's last one; the failures, the flow and the audit change only when it did. A flow-less
/// use (no token) matches no flow row. The parameters are positional across the statements
/// (sqlx binds each statement's `?` from where the previous one stopped): numbered ones would
/// leave gaps that sqlx reads as positional.
const USE_TOTP_STEP: &str = "BEGIN IMMEDIATE; \
     CREATE TEMP TABLE IF NOT EXISTS step_taken (ok INTEGER); \
     DELETE FROM temp.step_taken; \
     UPDATE totp_credentials SET last_used_step = ?, last_used_at = ? \
      WHERE id = ? AND member_id = ? AND (last_used_step IS NULL OR last_used_step < ?); \
     INSERT INTO temp.step_taken SELECT 1 WHERE changes() = 1; \
     DELETE FROM throttle WHERE scope = ? AND key = ? \
      AND EXISTS (SELECT 1 FROM temp.step_taken); \
     UPDATE flows SET second_factor_pending = 0 WHERE token_hash = ? \
      AND EXISTS (SELECT 1 FROM temp.step_taken); \
     INSERT INTO audit_log (at, actor, member_id, action, detail) \
      SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM temp.step_taken); \
     SELECT COUNT(*) AS accepted FROM temp.step_taken; \
     COMMIT;";

/// Columns of `members`, in the order [`member_from_row`] reads them.
const MEMBER_COLUMNS: &str = "id, symbol, number, birth_date, name, email, email_verified_at, \
     user_id, password_hash, step, method, terms_accepted_at, created_at, updated_at";

/// Rows per multi-row INSERT into the staging table (7 parameters each, well under SQLite's
/// limit of 32766 bound parameters).
const STAGING_CHUNK: usize = 1000;

/// Starts a write transaction that holds the write lock from the start.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// How often the background task checkpoints the WAL of a file database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Stops the background checkpointer when the last clone of the store goes away.
    _checkpointer: Option<Arc<Checkpointer>>,
    /// Imports running now: the checkpointer leaves them to checkpoint at their own pace
    /// (see IMPORT_TUNING).
    importing: Arc<AtomicUsize>,
}

/// Counts one running import for as long as it lives.
struct ImportRunning(Arc<AtomicUsize>);

impl ImportRunning {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter.clone())
    }
}

impl Drop for ImportRunning {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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
        match super::backend_of(target)? {
            super::Backend::Sqlite => {}
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
            // An import lets the WAL grow (see IMPORT_TUNING); this gives the space back once the
            // WAL has been checkpointed.
            .pragma("journal_size_limit", "67108864")
            // Checkpoints run in the background (see Checkpointer), never inside a commit.
            .pragma("wal_autocheckpoint", "0");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        let importing = Arc::new(AtomicUsize::new(0));
        let store = Self {
            _checkpointer: Some(Arc::new(Checkpointer::start(
                pool.clone(),
                importing.clone(),
            ))),
            pool,
            importing,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens a fresh private in-memory database (for tests).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        Self::open_memory_with(SqliteConnectOptions::new().in_memory(true)).await
    }

    /// An in-memory database lives exactly as long as its connection, so the pool holds one
    /// connection forever; shared cache is avoided because its table locks bypass the busy timeout.
    async fn open_memory_with(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let options = options
            .shared_cache(false)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(format!(":memory:: {e}")))?;
        let store = Self {
            pool,
            _checkpointer: None,
            importing: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
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

    /// Applies the embedded migrations not yet recorded in `schema_migrations`.
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        for m in MIGRATIONS {
            self.apply_migration(m)
                .await
                .map_err(|e| StoreError::Migration(format!("{:04}_{}: {e}", m.version, m.name)))?;
        }
        Ok(())
    }

    async fn apply_migration(&self, m: &Migration) -> Result<(), sqlx::Error> {
        // Checked inside the write transaction so two processes opening at once apply it once.
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let done = sqlx::query("SELECT 1 FROM schema_migrations WHERE version = ?")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if done {
            return Ok(());
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
        tx.commit().await
    }

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with(BEGIN_WRITE).await?)
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

fn member_from_row(row: &SqliteRow) -> Result<Member, StoreError> {
    let symbol: String = row.try_get("symbol")?;
    let number: String = row.try_get("number")?;
    let card = InsuranceCard::parse(&symbol, &number)
        .map_err(|_| corrupt("card", &format!("{symbol}/{number}")))?;
    let birth: String = row.try_get("birth_date")?;
    let birth_date = BirthDate::parse(&birth).map_err(|_| corrupt("birth_date", &birth))?;
    let step_name: String = row.try_get("step")?;
    let step = Step::from_name(&step_name).ok_or_else(|| corrupt("step", &step_name))?;
    let method = match row.try_get::<Option<String>, _>("method")? {
        None => None,
        Some(m) => Some(Method::from_name(&m).ok_or_else(|| corrupt("method", &m))?),
    };
    Ok(Member {
        id: row.try_get("id")?,
        card,
        birth_date,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        email_verified_at: row.try_get("email_verified_at")?,
        user_id: row.try_get("user_id")?,
        password_hash: row.try_get("password_hash")?,
        step,
        method,
        terms_accepted_at: row.try_get("terms_accepted_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn flow_from_row(row: &SqliteRow) -> Result<Flow, StoreError> {
    Ok(Flow {
        token_hash: row.try_get("token_hash")?,
        member_id: row.try_get("member_id")?,
        lang: row.try_get("lang")?,
        birth_verified: row.try_get("birth_verified")?,
        second_factor_pending: row.try_get("second_factor_pending")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn params_from_row(row: &SqliteRow) -> Result<TotpParams, StoreError> {
    let algorithm: String = row.try_get("algorithm")?;
    let digits: i64 = row.try_get("digits")?;
    let period: i64 = row.try_get("period_secs")?;
    Ok(TotpParams {
        algorithm: TotpAlgorithm::from_name(&algorithm)
            .ok_or_else(|| corrupt("algorithm", &algorithm))?,
        digits: u8::try_from(digits).map_err(|_| corrupt("digits", &digits.to_string()))?,
        period_secs: u64::try_from(period).map_err(|_| corrupt("period", &period.to_string()))?,
    })
}

fn pending_from_row(row: &SqliteRow) -> Result<PendingTotp, StoreError> {
    Ok(PendingTotp {
        member_id: row.try_get("member_id")?,
        sealed_secret: row.try_get("secret")?,
        params: params_from_row(row)?,
        created_at: row.try_get("created_at")?,
    })
}

fn credential_from_row(row: &SqliteRow) -> Result<TotpCredential, StoreError> {
    let last: Option<i64> = row.try_get("last_used_step")?;
    Ok(TotpCredential {
        id: row.try_get("id")?,
        member_id: row.try_get("member_id")?,
        name: row.try_get("name")?,
        sealed_secret: row.try_get("secret")?,
        params: params_from_row(row)?,
        last_used_step: last
            .map(|s| u64::try_from(s).map_err(|_| corrupt("last_used_step", &s.to_string())))
            .transpose()?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

fn step_i64(step: u64) -> Result<i64, StoreError> {
    i64::try_from(step).map_err(|_| corrupt("step", &step.to_string()))
}

async fn credential_in(
    conn: &mut sqlx::SqliteConnection,
    member_id: MemberId,
    id: CredentialId,
) -> Result<Option<TotpCredential>, StoreError> {
    let sql =
        format!("SELECT {CREDENTIAL_COLUMNS} FROM totp_credentials WHERE id = ? AND member_id = ?");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(member_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(credential_from_row)
        .transpose()
}

/// Every second factor of the member, of any kind (authenticator apps, the email method,
/// passkeys): the "never the last" rule counts these.
async fn second_factor_count(
    conn: &mut sqlx::SqliteConnection,
    member_id: MemberId,
) -> Result<usize, StoreError> {
    let n: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM totp_credentials WHERE member_id = ?1) \
              + (SELECT COUNT(*) FROM email_otp_factors WHERE member_id = ?1) \
              + (SELECT COUNT(*) FROM passkey_credentials WHERE member_id = ?1)",
    )
    .bind(member_id)
    .fetch_one(conn)
    .await?
    .try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The tables of the named second factors a member can have several of.
#[derive(Debug, Clone, Copy)]
enum FactorTable {
    /// Authenticator apps.
    Totp,
    /// Passkeys.
    Passkey,
}

impl FactorTable {
    fn table(self) -> &'static str {
        match self {
            Self::Totp => "totp_credentials",
            Self::Passkey => "passkey_credentials",
        }
    }
}

/// Renames one of the member's apps or passkeys inside `tx`, with `audit`; names are unique per
/// member and kind ([`StoreError::DeviceNameTaken`]).
async fn rename_factor(
    tx: &mut sqlx::SqliteConnection,
    kind: FactorTable,
    member_id: MemberId,
    id: CredentialId,
    name: &str,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE {} SET name = ? WHERE id = ? AND member_id = ?",
        kind.table()
    );
    let updated = sqlx::query(AssertSqlSafe(sql))
        .bind(name)
        .bind(id)
        .bind(member_id)
        .execute(&mut *tx)
        .await;
    let updated = match updated {
        Err(e) if is_unique_violation(&e) => return Err(StoreError::DeviceNameTaken),
        other => other?.rows_affected(),
    };
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    insert_audit(tx, audit).await
}

/// Removes one of the member's apps or passkeys inside `tx`, with `audit` — never the last
/// second factor of any kind (counted inside the write transaction, so two removals racing
/// cannot both pass).
async fn remove_factor(
    tx: &mut sqlx::SqliteConnection,
    kind: FactorTable,
    member_id: MemberId,
    id: CredentialId,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    let sql = format!(
        "DELETE FROM {} WHERE id = ? AND member_id = ?",
        kind.table()
    );
    let exists = format!(
        "SELECT 1 FROM {} WHERE id = ? AND member_id = ?",
        kind.table()
    );
    let found = sqlx::query(AssertSqlSafe(exists))
        .bind(id)
        .bind(member_id)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        return Err(StoreError::NotFound);
    }
    if second_factor_count(&mut *tx, member_id).await? <= 1 {
        return Err(StoreError::LastSecondFactor);
    }
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
    insert_audit(tx, audit).await
}

/// The member's authenticator apps: the device limit counts these.
async fn totp_device_count(
    conn: &mut sqlx::SqliteConnection,
    member_id: MemberId,
) -> Result<usize, StoreError> {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM totp_credentials WHERE member_id = ?")
        .bind(member_id)
        .fetch_one(conn)
        .await?
        .try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

fn passkey_from_row(row: &SqliteRow) -> Result<PasskeyCredential, StoreError> {
    Ok(PasskeyCredential {
        id: row.try_get("id")?,
        member_id: row.try_get("member_id")?,
        name: row.try_get("name")?,
        credential_id: row.try_get("credential_id")?,
        passkey: row.try_get("passkey")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

async fn passkey_in(
    conn: &mut sqlx::SqliteConnection,
    member_id: MemberId,
    id: CredentialId,
) -> Result<Option<PasskeyCredential>, StoreError> {
    let sql =
        format!("SELECT {PASSKEY_COLUMNS} FROM passkey_credentials WHERE id = ? AND member_id = ?");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(member_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(passkey_from_row)
        .transpose()
}

fn ceremony_from_row(row: &SqliteRow) -> Result<PasskeyCeremony, StoreError> {
    let kind: String = row.try_get("kind")?;
    let kind = match kind.as_str() {
        "registration" => CeremonyKind::Registration,
        "authentication" => CeremonyKind::Authentication,
        _ => return Err(corrupt("ceremony kind", &kind)),
    };
    Ok(PasskeyCeremony {
        flow_token_hash: row.try_get("flow_token_hash")?,
        kind,
        member_id: row.try_get("member_id")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

async fn clear_account_failures(
    conn: &mut sqlx::SqliteConnection,
    member_id: MemberId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM throttle WHERE scope = ? AND key = ?")
        .bind(ThrottleScope::Account.as_str())
        .bind(member_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

fn audit_from_row(row: &SqliteRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        member_id: row.try_get("member_id")?,
        action: row.try_get("action")?,
        detail: row.try_get("detail")?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

async fn member_in(
    conn: &mut sqlx::SqliteConnection,
    id: MemberId,
) -> Result<Option<Member>, StoreError> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = ?");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(member_from_row)
        .transpose()
}

async fn insert_audit(
    conn: &mut sqlx::SqliteConnection,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, member_id, action, detail) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(entry.member_id)
    .bind(&entry.action)
    .bind(&entry.detail)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_flow(conn: &mut sqlx::SqliteConnection, flow: &Flow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO flows (token_hash, member_id, lang, birth_verified, second_factor_pending, \
         created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&flow.token_hash)
    .bind(flow.member_id)
    .bind(&flow.lang)
    .bind(flow.birth_verified)
    .bind(flow.second_factor_pending)
    .bind(flow.created_at)
    .bind(flow.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn bump_failures(
    conn: &mut sqlx::SqliteConnection,
    scope: ThrottleScope,
    key: &str,
    at: i64,
) -> Result<FailureRecord, StoreError> {
    let row = sqlx::query(
        "INSERT INTO throttle (scope, key, failures, last_failure_at) VALUES (?, ?, 1, ?) \
         ON CONFLICT (scope, key) DO UPDATE SET \
            failures = throttle.failures + 1, last_failure_at = excluded.last_failure_at \
         RETURNING failures, last_failure_at",
    )
    .bind(scope.as_str())
    .bind(key)
    .bind(at)
    .fetch_one(conn)
    .await?;
    failure_from_row(&row)
}

async fn delete_failures(
    conn: &mut sqlx::SqliteConnection,
    scope: ThrottleScope,
    key: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM throttle WHERE scope = ? AND key = ?")
        .bind(scope.as_str())
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

async fn delete_member_flows(
    conn: &mut sqlx::SqliteConnection,
    member_id: MemberId,
) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM flows WHERE member_id = ?")
        .bind(member_id)
        .execute(conn)
        .await?
        .rows_affected())
}

async fn insert_email_token(
    conn: &mut sqlx::SqliteConnection,
    token: &EmailToken,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, member_id, email, lang, created_at, expires_at, used_at) \
         VALUES (?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(&token.token_hash)
    .bind(token.member_id)
    .bind(&token.email)
    .bind(&token.lang)
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The staging table of a roster batch. TEMP tables are private to a connection, so concurrent
/// imports on other pooled connections never see each other's rows.
const STAGING_SETUP: &[&str] = &[
    "CREATE TEMP TABLE IF NOT EXISTS roster_staging (\
        line INTEGER NOT NULL, symbol TEXT NOT NULL, number TEXT NOT NULL, \
        birth_date TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL, user_id TEXT NOT NULL, \
        member_id INTEGER NULL, fresh INTEGER NOT NULL DEFAULT 1, reject TEXT NULL)",
    "CREATE INDEX IF NOT EXISTS roster_staging_member ON roster_staging (member_id)",
    "DELETE FROM roster_staging",
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
const IMPORT_TUNING: &[&str] = &[
    "PRAGMA cache_size = -65536",
    "PRAGMA wal_autocheckpoint = 65536",
];

/// SQLite's defaults.
const IMPORT_RESTORE: &[&str] = &[
    "PRAGMA cache_size = -2000",
    // Back to the background checkpointer (see Checkpointer).
    "PRAGMA wal_autocheckpoint = 0",
];

/// One roster batch in one transaction, set-based through the staging table; committed, or
/// rolled back when `commit` is false (a dry run).
async fn import_batch(
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
        sqlx::query("DELETE FROM roster_staging")
            .execute(&mut *tx)
            .await?;
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

// issue 5: the mail queue and emailed codes.

async fn insert_mail(
    conn: &mut sqlx::SqliteConnection,
    mail: &NewMail,
    at: i64,
    claim_until: i64,
) -> Result<MailId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO mail_queue (kind, recipient, subject, body, status, attempts, \
            next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) \
         RETURNING id",
    )
    .bind(&mail.kind)
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(&mail.sealed_body)
    .bind(claim_until)
    .bind(at)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get(0)?)
}

fn count_u32(row: &SqliteRow, col: &str) -> Result<u32, StoreError> {
    let n: i64 = row.try_get(col)?;
    u32::try_from(n).map_err(|_| corrupt(col, &n.to_string()))
}

fn mail_summary_from_row(row: &SqliteRow) -> Result<MailSummary, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(MailSummary {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        to: row.try_get("recipient")?,
        status: MailStatus::from_name(&status).ok_or_else(|| corrupt("mail status", &status))?,
        attempts: count_u32(row, "attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

async fn mark_flow_second_factor_passed(
    conn: &mut sqlx::SqliteConnection,
    token_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE flows SET second_factor_pending = 0 WHERE token_hash = ?")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

impl SqliteStore {
    /// A roster batch with the import's connection tuning, committed or rolled back.
    async fn roster_batch(
        &self,
        rows: &[RosterRow],
        at: i64,
        commit: bool,
    ) -> Result<ImportOutcome, StoreError> {
        let _running = ImportRunning::new(&self.importing);
        let mut conn = self.pool.acquire().await?;
        for sql in IMPORT_TUNING {
            sqlx::query(*sql).execute(&mut *conn).await?;
        }
        let outcome = import_batch(&mut conn, rows, at, commit).await;
        for sql in IMPORT_RESTORE {
            sqlx::query(*sql).execute(&mut *conn).await?;
        }
        outcome
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A user ID is checked against other members only where it would be applied (a new member,
    /// or one who has not started): a started member's roster user ID is ignored, so it cannot
    /// conflict.
    async fn import_roster(
        &self,
        rows: &[RosterRow],
        at: i64,
    ) -> Result<ImportOutcome, StoreError> {
        self.roster_batch(rows, at, true).await
    }

    async fn preview_roster(
        &self,
        rows: &[RosterRow],
        at: i64,
    ) -> Result<ImportOutcome, StoreError> {
        self.roster_batch(rows, at, false).await
    }

    async fn member_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM members")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn has_members(&self) -> Result<bool, StoreError> {
        let any: i64 = sqlx::query("SELECT EXISTS (SELECT 1 FROM members)")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(any != 0)
    }

    async fn member(&self, id: MemberId) -> Result<Option<Member>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        member_in(&mut conn, id).await
    }

    async fn member_by_user_id(&self, user_id: &str) -> Result<Option<Member>, StoreError> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE user_id = ?");
        sqlx::query(AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(member_from_row)
            .transpose()
    }

    async fn failures(&self, scope: ThrottleScope, key: &str) -> Result<FailureRecord, StoreError> {
        let row = sqlx::query(
            "SELECT failures, last_failure_at FROM throttle WHERE scope = ? AND key = ?",
        )
        .bind(scope.as_str())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(FailureRecord::default()),
            Some(r) => failure_from_row(&r),
        }
    }

    async fn record_failure(
        &self,
        scope: ThrottleScope,
        key: &str,
        at: i64,
    ) -> Result<FailureRecord, StoreError> {
        let mut conn = self.pool.acquire().await?;
        bump_failures(&mut conn, scope, key, at).await
    }

    async fn clear_failures(&self, scope: ThrottleScope, key: &str) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        delete_failures(&mut conn, scope, key).await
    }

    async fn create_flow(&self, flow: &Flow) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_flow(&mut conn, flow).await
    }

    async fn start_flow(
        &self,
        flow: &Flow,
        clear: &[(ThrottleScope, String)],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (scope, key) in clear {
            delete_failures(&mut tx, *scope, key).await?;
        }
        insert_flow(&mut tx, flow).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every failure of a locked account ends the member's flows again (idempotent), so a flow
    /// started concurrently with the locking failure cannot survive it.
    async fn record_failed_attempt(
        &self,
        attempt: &FailedAttempt,
    ) -> Result<AttemptOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let address = bump_failures(
            &mut tx,
            ThrottleScope::Address,
            &attempt.address,
            attempt.at,
        )
        .await?;
        let mut outcome = AttemptOutcome {
            address,
            account: None,
            locked: false,
        };
        if let Some(acc) = &attempt.account {
            let record = bump_failures(
                &mut tx,
                ThrottleScope::Account,
                &acc.member_id.to_string(),
                attempt.at,
            )
            .await?;
            outcome.account = Some(record);
            if acc.policy.verdict(record, attempt.at) == Verdict::Locked {
                outcome.locked = true;
                delete_member_flows(&mut tx, acc.member_id).await?;
                insert_audit(&mut tx, &acc.lock_audit).await?;
            }
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn end_member_flows(
        &self,
        member_id: MemberId,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let ended = delete_member_flows(&mut tx, member_id).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn flow(&self, token_hash: &str) -> Result<Option<Flow>, StoreError> {
        sqlx::query(
            "SELECT token_hash, member_id, lang, birth_verified, second_factor_pending, \
             created_at, expires_at FROM flows WHERE token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(flow_from_row)
        .transpose()
    }

    /// A flow that no longer exists is left alone (it may have just been ended).
    async fn touch_flow(&self, token_hash: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE flows SET expires_at = ? WHERE token_hash = ?")
            .bind(expires_at)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// An unknown flow gives [`StoreError::NotFound`] and writes nothing.
    async fn pass_birth_date(
        &self,
        token_hash: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE flows SET birth_verified = 1 WHERE token_hash = ? RETURNING member_id",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let member_id: MemberId = row.try_get(0)?;
        delete_failures(&mut tx, ThrottleScope::Account, &member_id.to_string()).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_flow(
        &self,
        token_hash: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let ended = sqlx::query("DELETE FROM flows WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if let Some(entry) = audit.filter(|_| ended > 0) {
            insert_audit(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn purge_expired_flows(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM flows WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn apply(&self, t: &Transition) -> Result<Member, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT step FROM members WHERE id = ?")
            .bind(t.member_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let step_name: String = row.try_get(0)?;
        let current = Step::from_name(&step_name).ok_or_else(|| corrupt("step", &step_name))?;
        if current != t.from {
            return Err(StoreError::StepMismatch { current });
        }
        let c = &t.changes;
        // Every SET expression sees the row as it was, so the email test reads the old state.
        let updated = sqlx::query(
            "UPDATE members SET \
                email = COALESCE(?1, email), \
                email_verified_at = CASE WHEN ?1 IS NULL THEN email_verified_at ELSE NULL END, \
                method = COALESCE(?2, method), \
                password_hash = COALESCE(?3, password_hash), \
                user_id = COALESCE(?4, user_id), \
                terms_accepted_at = COALESCE(?5, terms_accepted_at), \
                step = ?6, \
                updated_at = ?7 \
             WHERE id = ?8",
        )
        .bind(c.email.as_deref())
        .bind(c.method.map(|m| m.as_str()))
        .bind(c.password_hash.as_deref())
        .bind(c.user_id.as_deref())
        .bind(c.terms_accepted_at)
        .bind(t.to.as_str())
        .bind(t.at)
        .bind(t.member_id)
        .execute(&mut *tx)
        .await;
        // Dropping the transaction rolls it back, so a taken user ID changes nothing.
        match updated {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::UserIdTaken),
            other => other?,
        };
        if let Some(token) = &t.email_token {
            sqlx::query("DELETE FROM email_tokens WHERE member_id = ?")
                .bind(t.member_id)
                .execute(&mut *tx)
                .await?;
            insert_email_token(&mut tx, token).await?;
        }
        if t.end_flows {
            delete_member_flows(&mut tx, t.member_id).await?;
        }
        insert_audit(&mut tx, &t.audit).await?;
        let member = member_in(&mut tx, t.member_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(member)
    }

    /// The address counts as verified (and a waiting member moves on) only while it is still the
    /// member's address; a link for an address the member has since replaced verifies nothing.
    async fn consume_email_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<EmailTokenOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT member_id, email, lang, expires_at, used_at, changes_address \
             FROM email_tokens WHERE token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(EmailTokenOutcome::Unknown);
        };
        let member_id: MemberId = row.try_get("member_id")?;
        let email: String = row.try_get("email")?;
        let lang: String = row.try_get("lang")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let changes_address: bool = row.try_get("changes_address")?;
        if used_at.is_some() {
            return Ok(EmailTokenOutcome::AlreadyUsed { lang });
        }
        if expires_at <= now {
            return Ok(EmailTokenOutcome::Expired { lang });
        }
        sqlx::query("UPDATE email_tokens SET used_at = ? WHERE token_hash = ?")
            .bind(now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        if changes_address {
            // issue 5: a change from the top screen switches to the new address now.
            sqlx::query(
                "UPDATE members SET email = ?1, email_verified_at = ?2, updated_at = ?2 \
                 WHERE id = ?3",
            )
            .bind(&email)
            .bind(now)
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE members SET \
                email_verified_at = ?1, \
                step = CASE WHEN step = ?2 THEN ?3 ELSE step END, \
                updated_at = ?1 \
             WHERE id = ?4 AND email = ?5",
        )
        .bind(now)
        .bind(Step::AwaitingVerification.as_str())
        .bind(Step::ChooseMethod.as_str())
        .bind(member_id)
        .bind(&email)
        .execute(&mut *tx)
        .await?;
        insert_audit(
            &mut tx,
            &AuditEntry {
                at: now,
                actor: format!("member:{member_id}"),
                member_id: Some(member_id),
                action: "email.verified".to_owned(),
                detail: format!("verification link for {email} opened"),
            },
        )
        .await?;
        let member = member_in(&mut tx, member_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(EmailTokenOutcome::Verified {
            member: Box::new(member),
            lang,
        })
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_audit(&mut conn, entry).await
    }

    async fn audit_log(
        &self,
        member_id: Option<MemberId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = match member_id {
            Some(id) => {
                sqlx::query(
                    "SELECT at, actor, member_id, action, detail FROM audit_log \
                     WHERE member_id = ? ORDER BY id DESC LIMIT ?",
                )
                .bind(id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT at, actor, member_id, action, detail FROM audit_log \
                     ORDER BY id DESC LIMIT ?",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(audit_from_row).collect()
    }

    async fn start_totp_enrollment(
        &self,
        pending: &PendingTotp,
    ) -> Result<PendingTotp, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO totp_enrollments (member_id, secret, algorithm, digits, period_secs, \
             created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (member_id) DO NOTHING",
        )
        .bind(pending.member_id)
        .bind(&pending.sealed_secret)
        .bind(pending.params.algorithm.as_str())
        .bind(i64::from(pending.params.digits))
        .bind(step_i64(pending.params.period_secs)?)
        .bind(pending.created_at)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT member_id, secret, algorithm, digits, period_secs, created_at \
             FROM totp_enrollments WHERE member_id = ?",
        )
        .bind(pending.member_id)
        .fetch_one(&mut *tx)
        .await?;
        let stored = pending_from_row(&row)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn totp_enrollment(
        &self,
        member_id: MemberId,
    ) -> Result<Option<PendingTotp>, StoreError> {
        sqlx::query(
            "SELECT member_id, secret, algorithm, digits, period_secs, created_at \
             FROM totp_enrollments WHERE member_id = ?",
        )
        .bind(member_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(pending_from_row)
        .transpose()
    }

    async fn confirm_totp_enrollment(
        &self,
        c: &TotpConfirmation,
    ) -> Result<(Member, TotpCredential), StoreError> {
        let mut tx = self.begin().await?;
        let member = member_in(&mut tx, c.member_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some((from, _)) = c.step_change
            && member.step != from
        {
            return Err(StoreError::StepMismatch {
                current: member.step,
            });
        }
        // Taking the pending row out is the check that it is still the one the code was made for.
        let Some(pending) = sqlx::query(
            "DELETE FROM totp_enrollments WHERE member_id = ? AND secret = ? \
             RETURNING member_id, secret, algorithm, digits, period_secs, created_at",
        )
        .bind(c.member_id)
        .bind(&c.sealed_secret)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(StoreError::NoEnrollment);
        };
        let pending = pending_from_row(&pending)?;
        if totp_device_count(&mut tx, c.member_id).await? >= c.max_devices {
            return Err(StoreError::TooManyDevices);
        }
        let inserted = sqlx::query(
            "INSERT INTO totp_credentials (member_id, name, secret, algorithm, digits, \
             period_secs, last_used_step, created_at, last_used_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(c.member_id)
        .bind(&c.name)
        .bind(&pending.sealed_secret)
        .bind(pending.params.algorithm.as_str())
        .bind(i64::from(pending.params.digits))
        .bind(step_i64(pending.params.period_secs)?)
        .bind(step_i64(c.step)?)
        .bind(c.at)
        .bind(c.at)
        .fetch_one(&mut *tx)
        .await;
        // Dropping the transaction rolls it back: the pending enrollment stays.
        let id: CredentialId = match inserted {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::DeviceNameTaken),
            other => other?.try_get(0)?,
        };
        if let Some((_, to)) = c.step_change {
            sqlx::query("UPDATE members SET step = ?, updated_at = ? WHERE id = ?")
                .bind(to.as_str())
                .bind(c.at)
                .bind(c.member_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM throttle WHERE scope = ? AND key = ?")
            .bind(ThrottleScope::Account.as_str())
            .bind(c.member_id.to_string())
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, &c.audit).await?;
        let member = member_in(&mut tx, c.member_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let credential = credential_in(&mut tx, c.member_id, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok((member, credential))
    }

    async fn totp_credentials(
        &self,
        member_id: MemberId,
    ) -> Result<Vec<TotpCredential>, StoreError> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM totp_credentials WHERE member_id = ? ORDER BY id"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(member_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(credential_from_row)
            .collect()
    }

    /// The step comparison is in the UPDATE itself, so two requests racing with one code cannot
    /// both succeed.
    async fn use_totp_step(&self, u: &TotpUse) -> Result<bool, StoreError> {
        // The whole write is one request to the connection's worker thread. Each request is a
        // cross-thread round trip (~100 µs when the two threads sit on different cores), and
        // this is on every sign-in: one transaction, the replay guard first, the rest only when
        // it took the step (remembered in a per-connection temp table).
        let mut conn = self.pool.acquire().await?;
        let step = step_i64(u.step)?;
        let result = sqlx::query(USE_TOTP_STEP)
            .bind(step)
            .bind(u.at)
            .bind(u.credential_id)
            .bind(u.member_id)
            .bind(step)
            .bind(ThrottleScope::Account.as_str())
            .bind(u.member_id.to_string())
            .bind(u.flow_token_hash.as_deref())
            .bind(u.audit.at)
            .bind(&u.audit.actor)
            .bind(u.audit.member_id)
            .bind(&u.audit.action)
            .bind(&u.audit.detail)
            .fetch_all(&mut *conn)
            .await;
        match result {
            Ok(rows) => {
                let accepted: i64 = match rows.first() {
                    Some(row) => row.try_get("accepted")?,
                    None => 0,
                };
                Ok(accepted > 0)
            }
            Err(e) => {
                // A statement failed inside the script's transaction: end it before the
                // connection goes back to the pool (an error here only means none was open).
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(e.into())
            }
        }
    }

    async fn rename_totp_credential(
        &self,
        member_id: MemberId,
        id: CredentialId,
        name: &str,
        audit: &AuditEntry,
    ) -> Result<TotpCredential, StoreError> {
        let mut tx = self.begin().await?;
        rename_factor(&mut tx, FactorTable::Totp, member_id, id, name, audit).await?;
        let credential = credential_in(&mut tx, member_id, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(credential)
    }

    async fn remove_totp_credential(
        &self,
        member_id: MemberId,
        id: CredentialId,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        remove_factor(&mut tx, FactorTable::Totp, member_id, id, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn change_password(
        &self,
        member_id: MemberId,
        password_hash: &str,
        keep_flow: &str,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query("UPDATE members SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ended = sqlx::query("DELETE FROM flows WHERE member_id = ? AND token_hash <> ?")
            .bind(member_id)
            .bind(keep_flow)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ended)
    }

    // issue 5

    async fn enqueue_mail(
        &self,
        mail: &NewMail,
        at: i64,
        claim_until: i64,
    ) -> Result<MailId, StoreError> {
        let mut tx = self.begin().await?;
        let id = insert_mail(&mut tx, mail, at, claim_until).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The claim is one UPDATE … RETURNING under the write lock, so two workers (or two server
    /// processes) never take the same row.
    async fn claim_due_mail(
        &self,
        now: i64,
        claim_until: i64,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "UPDATE mail_queue SET next_attempt_at = ?1 \
             WHERE id IN (SELECT id FROM mail_queue \
                          WHERE status = 'pending' AND next_attempt_at <= ?2 \
                          ORDER BY next_attempt_at, id LIMIT ?3) \
             RETURNING id, kind, recipient, subject, body, attempts",
        )
        .bind(claim_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok(QueuedMail {
                    id: row.try_get("id")?,
                    attempts: count_u32(row, "attempts")?,
                    mail: NewMail {
                        kind: row.try_get("kind")?,
                        to: row.try_get("recipient")?,
                        subject: row.try_get("subject")?,
                        sealed_body: row
                            .try_get::<Option<Vec<u8>>, _>("body")?
                            .ok_or_else(|| corrupt("pending mail without a body", ""))?,
                    },
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    async fn mail_sent(&self, id: MailId, at: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE mail_queue SET status = 'sent', sent_at = ?, attempts = attempts + 1, \
                body = NULL, last_error = NULL \
             WHERE id = ? AND status = 'pending'",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mail_attempt_failed(
        &self,
        id: MailId,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let sql = match retry_at {
            Some(_) => {
                "UPDATE mail_queue SET attempts = attempts + 1, last_error = ?1, \
                    next_attempt_at = ?2 WHERE id = ?3 AND status = 'pending'"
            }
            None => {
                "UPDATE mail_queue SET attempts = attempts + 1, last_error = ?1, \
                    status = 'failed', body = NULL \
                 WHERE id = ?3 AND status = 'pending' AND ?2 IS NULL"
            }
        };
        sqlx::query(sql)
            .bind(error)
            .bind(retry_at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mail_queue_report(&self, limit: u32) -> Result<MailQueueReport, StoreError> {
        let counts = sqlx::query("SELECT status, COUNT(*) AS n FROM mail_queue GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        let mut report = MailQueueReport::default();
        for row in &counts {
            let status: String = row.try_get("status")?;
            let n: i64 = row.try_get("n")?;
            let n = u64::try_from(n).unwrap_or(0);
            match MailStatus::from_name(&status) {
                Some(MailStatus::Pending) => report.pending = n,
                Some(MailStatus::Sent) => report.sent = n,
                Some(MailStatus::Failed) => report.failed = n,
                None => return Err(corrupt("mail status", &status)),
            }
        }
        report.recent = sqlx::query(
            "SELECT id, kind, recipient, status, attempts, next_attempt_at, last_error, \
                created_at, sent_at FROM mail_queue ORDER BY id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(mail_summary_from_row)
        .collect::<Result<_, _>>()?;
        Ok(report)
    }

    async fn issue_email_code(
        &self,
        code: &NewEmailCode,
        mail: &NewMail,
        claim_until: i64,
    ) -> Result<CodeIssue, StoreError> {
        let mut tx = self.begin().await?;
        let previous: Option<i64> =
            sqlx::query("SELECT created_at FROM email_codes WHERE member_id = ? AND purpose = ?")
                .bind(code.member_id)
                .bind(code.purpose.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        if let Some(issued) = previous {
            let ready_at = issued.saturating_add(code.cooldown_secs);
            if code.created_at < ready_at {
                let wait = ready_at.saturating_sub(code.created_at);
                return Ok(CodeIssue::Cooldown {
                    retry_after_secs: u64::try_from(wait).unwrap_or(1).max(1),
                });
            }
        }
        sqlx::query(
            "INSERT INTO email_codes (member_id, purpose, code_hash, attempts, created_at, \
                expires_at) VALUES (?, ?, ?, 0, ?, ?) \
             ON CONFLICT (member_id, purpose) DO UPDATE SET code_hash = excluded.code_hash, \
                attempts = 0, created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(code.member_id)
        .bind(code.purpose.as_str())
        .bind(&code.code_hash)
        .bind(code.created_at)
        .bind(code.expires_at)
        .execute(&mut *tx)
        .await?;
        let id = insert_mail(&mut tx, mail, code.created_at, claim_until).await?;
        tx.commit().await?;
        Ok(CodeIssue::Issued(id))
    }

    async fn check_email_code(
        &self,
        member_id: MemberId,
        purpose: CodePurpose,
        code_hash: &str,
        max_attempts: u32,
        now: i64,
    ) -> Result<CodeCheckOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT code_hash, attempts, expires_at FROM email_codes \
             WHERE member_id = ? AND purpose = ?",
        )
        .bind(member_id)
        .bind(purpose.as_str())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(CodeCheckOutcome::NoCode);
        };
        let stored: String = row.try_get("code_hash")?;
        let attempts = count_u32(&row, "attempts")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if now >= expires_at || attempts >= max_attempts {
            return Ok(CodeCheckOutcome::Expired);
        }
        let right: bool =
            subtle::ConstantTimeEq::ct_eq(stored.as_bytes(), code_hash.as_bytes()).into();
        let outcome = if right {
            sqlx::query("DELETE FROM email_codes WHERE member_id = ? AND purpose = ?")
                .bind(member_id)
                .bind(purpose.as_str())
                .execute(&mut *tx)
                .await?;
            CodeCheckOutcome::Accepted
        } else {
            sqlx::query(
                "UPDATE email_codes SET attempts = attempts + 1 \
                 WHERE member_id = ? AND purpose = ?",
            )
            .bind(member_id)
            .bind(purpose.as_str())
            .execute(&mut *tx)
            .await?;
            CodeCheckOutcome::Wrong {
                attempts_left: max_attempts.saturating_sub(attempts + 1),
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn email_factor(&self, member_id: MemberId) -> Result<Option<EmailFactor>, StoreError> {
        sqlx::query(
            "SELECT member_id, created_at, last_used_at FROM email_otp_factors \
             WHERE member_id = ?",
        )
        .bind(member_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| {
            Ok(EmailFactor {
                member_id: row.try_get("member_id")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .transpose()
    }

    async fn enable_email_factor(
        &self,
        member_id: MemberId,
        step_change: Option<(Step, Step)>,
        flow_token_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<Member, StoreError> {
        let mut tx = self.begin().await?;
        let member = member_in(&mut tx, member_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some((from, to)) = step_change {
            if member.step != from {
                return Err(StoreError::StepMismatch {
                    current: member.step,
                });
            }
            sqlx::query("UPDATE members SET step = ?, updated_at = ? WHERE id = ?")
                .bind(to.as_str())
                .bind(at)
                .bind(member_id)
                .execute(&mut *tx)
                .await?;
        }
        // The method just set up is the one asked for at the next sign-in.
        sqlx::query("UPDATE members SET method = ?, updated_at = ? WHERE id = ?")
            .bind(Method::EmailOtp.as_str())
            .bind(at)
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO email_otp_factors (member_id, created_at, last_used_at) VALUES (?, ?, ?) \
             ON CONFLICT (member_id) DO NOTHING",
        )
        .bind(member_id)
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        delete_failures(&mut tx, ThrottleScope::Account, &member_id.to_string()).await?;
        mark_flow_second_factor_passed(&mut tx, flow_token_hash).await?;
        insert_audit(&mut tx, audit).await?;
        let member = member_in(&mut tx, member_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(member)
    }

    async fn pass_email_factor(
        &self,
        member_id: MemberId,
        flow_token_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE email_otp_factors SET last_used_at = ? WHERE member_id = ?")
            .bind(at)
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
        delete_failures(&mut tx, ThrottleScope::Account, &member_id.to_string()).await?;
        mark_flow_second_factor_passed(&mut tx, flow_token_hash).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn second_factor_count(&self, member_id: MemberId) -> Result<usize, StoreError> {
        let mut conn = self.pool.acquire().await?;
        second_factor_count(&mut conn, member_id).await
    }

    async fn start_email_change(
        &self,
        token: &EmailToken,
        mails: &[NewMail],
        claim_until: i64,
        audit: &AuditEntry,
    ) -> Result<Vec<MailId>, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM email_tokens WHERE member_id = ?")
            .bind(token.member_id)
            .execute(&mut *tx)
            .await?;
        insert_email_token(&mut tx, token).await?;
        sqlx::query("UPDATE email_tokens SET changes_address = 1 WHERE token_hash = ?")
            .bind(&token.token_hash)
            .execute(&mut *tx)
            .await?;
        let mut ids = Vec::with_capacity(mails.len());
        for mail in mails {
            ids.push(insert_mail(&mut tx, mail, token.created_at, claim_until).await?);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn remove_email_factor(
        &self,
        member_id: MemberId,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM email_otp_factors WHERE member_id = ?")
            .bind(member_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Err(StoreError::NotFound);
        }
        // Counted inside the write transaction, so two removals racing cannot both pass.
        if second_factor_count(&mut tx, member_id).await? <= 1 {
            return Err(StoreError::LastSecondFactor);
        }
        sqlx::query("DELETE FROM email_otp_factors WHERE member_id = ?")
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
        // What remains are authenticator apps: sign-in asks for those.
        sqlx::query("UPDATE members SET method = ?, updated_at = ? WHERE id = ? AND method = ?")
            .bind(Method::TotpApp.as_str())
            .bind(at)
            .bind(member_id)
            .bind(Method::EmailOtp.as_str())
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn member_by_card(&self, card: &InsuranceCard) -> Result<Option<Member>, StoreError> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE symbol = ? AND number = ?");
        sqlx::query(AssertSqlSafe(sql))
            .bind(&card.symbol)
            .bind(&card.number)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(member_from_row)
            .transpose()
    }

    async fn reset_password(
        &self,
        member_id: MemberId,
        password_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<Member, StoreError> {
        let mut tx = self.begin().await?;
        let updated =
            sqlx::query("UPDATE members SET password_hash = ?, updated_at = ? WHERE id = ?")
                .bind(password_hash)
                .bind(at)
                .bind(member_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        delete_member_flows(&mut tx, member_id).await?;
        delete_failures(&mut tx, ThrottleScope::Account, &member_id.to_string()).await?;
        insert_audit(&mut tx, audit).await?;
        let member = member_in(&mut tx, member_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(member)
    }
    // issue 6: passkeys.

    async fn save_passkey_ceremony(&self, c: &PasskeyCeremony) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO passkey_ceremonies (flow_token_hash, kind, member_id, state, created_at, \
             expires_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (flow_token_hash, kind) DO UPDATE SET member_id = excluded.member_id, \
             state = excluded.state, created_at = excluded.created_at, \
             expires_at = excluded.expires_at",
        )
        .bind(&c.flow_token_hash)
        .bind(c.kind.as_str())
        .bind(c.member_id)
        .bind(&c.state)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_passkey_ceremony(
        &self,
        flow_token_hash: &str,
        kind: CeremonyKind,
        now: i64,
    ) -> Result<Option<PasskeyCeremony>, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "DELETE FROM passkey_ceremonies WHERE flow_token_hash = ? AND kind = ? \
             RETURNING flow_token_hash, kind, member_id, state, created_at, expires_at",
        )
        .bind(flow_token_hash)
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row
            .as_ref()
            .map(ceremony_from_row)
            .transpose()?
            .filter(|c| c.expires_at > now))
    }

    async fn passkeys(&self, member_id: MemberId) -> Result<Vec<PasskeyCredential>, StoreError> {
        let sql = format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkey_credentials WHERE member_id = ? ORDER BY id"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(member_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(passkey_from_row)
            .collect()
    }

    async fn add_passkey(
        &self,
        e: &PasskeyEnrollment,
    ) -> Result<(Member, PasskeyCredential), StoreError> {
        let mut tx = self.begin().await?;
        let member = member_in(&mut tx, e.member_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some((from, _)) = e.step_change
            && member.step != from
        {
            return Err(StoreError::StepMismatch {
                current: member.step,
            });
        }
        let taken = sqlx::query("SELECT 1 FROM passkey_credentials WHERE credential_id = ?")
            .bind(&e.credential_id)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::CredentialTaken);
        }
        let count: i64 =
            sqlx::query("SELECT COUNT(*) FROM passkey_credentials WHERE member_id = ?")
                .bind(e.member_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= e.max_passkeys {
            return Err(StoreError::TooManyDevices);
        }
        let inserted = sqlx::query(
            "INSERT INTO passkey_credentials (member_id, name, credential_id, passkey, \
             created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(e.member_id)
        .bind(&e.name)
        .bind(&e.credential_id)
        .bind(&e.passkey)
        .bind(e.at)
        .bind(e.at)
        .fetch_one(&mut *tx)
        .await;
        // Dropping the transaction rolls it back.
        let id: CredentialId = match inserted {
            Err(err) if is_unique_violation(&err) => return Err(StoreError::DeviceNameTaken),
            other => other?.try_get(0)?,
        };
        if let Some((_, to)) = e.step_change {
            sqlx::query("UPDATE members SET step = ?, updated_at = ? WHERE id = ?")
                .bind(to.as_str())
                .bind(e.at)
                .bind(e.member_id)
                .execute(&mut *tx)
                .await?;
        }
        clear_account_failures(&mut tx, e.member_id).await?;
        insert_audit(&mut tx, &e.audit).await?;
        let member = member_in(&mut tx, e.member_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let credential = passkey_in(&mut tx, e.member_id, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok((member, credential))
    }

    async fn use_passkey(&self, u: &PasskeyUse) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE passkey_credentials SET passkey = COALESCE(?, passkey), last_used_at = ? \
             WHERE id = ? AND member_id = ?",
        )
        .bind(u.passkey.as_deref())
        .bind(u.at)
        .bind(u.id)
        .bind(u.member_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            // Removed between the start and the finish of the ceremony.
            return Err(StoreError::NotFound);
        }
        clear_account_failures(&mut tx, u.member_id).await?;
        sqlx::query("UPDATE flows SET second_factor_pending = 0 WHERE token_hash = ?")
            .bind(&u.flow_token_hash)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, &u.audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rename_passkey(
        &self,
        member_id: MemberId,
        id: CredentialId,
        name: &str,
        audit: &AuditEntry,
    ) -> Result<PasskeyCredential, StoreError> {
        let mut tx = self.begin().await?;
        rename_factor(&mut tx, FactorTable::Passkey, member_id, id, name, audit).await?;
        let credential = passkey_in(&mut tx, member_id, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(credential)
    }

    async fn remove_passkey(
        &self,
        member_id: MemberId,
        id: CredentialId,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        remove_factor(&mut tx, FactorTable::Passkey, member_id, id, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn failure_from_row(row: &SqliteRow) -> Result<FailureRecord, StoreError> {
    let failures: i64 = row.try_get("failures")?;
    Ok(FailureRecord {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        last_failure_at: row.try_get("last_failure_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each import statement must probe `members` through an index, never scan it: a scan would
    /// make every batch cost as much as the whole roster.
    #[tokio::test]
    async fn import_statements_never_scan_the_roster() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut conn = store.pool.acquire().await.unwrap();
        for sql in STAGING_SETUP {
            sqlx::query(*sql).execute(&mut *conn).await.unwrap();
        }
        let statements = STAGING_CLASSIFY
            .iter()
            .copied()
            .chain([STAGING_INSERT_NEW, STAGING_UPDATE_EXISTING]);
        for sql in statements {
            let plan = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            let details: Vec<String> = plan.iter().map(|r| r.get::<String, _>(3)).collect();
            for d in &details {
                let scanned = d.strip_prefix("SCAN ").unwrap_or_default();
                let table = scanned.split_whitespace().next().unwrap_or_default();
                assert!(
                    !matches!(table, "members" | "m" | "o"),
                    "{sql}\n{details:#?}"
                );
            }
        }
    }
}
