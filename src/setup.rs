//! Where tobira keeps its files, and opening what a command needs: configuration, store,
//! mailer, and the demo roster of embedded mode.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::mail::{self, Mailer};
use crate::server::SecretKey;
use crate::server::secret_key::{self, SecretKeyError};
use crate::store::{Store, StoreError};

/// The demo roster seeded on the first embedded start (includes the manual's example member).
pub const DEMO_ROSTER: &str = include_str!("../assets/demo/roster.csv");

/// Why set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// No home directory to derive the data directory from.
    #[error("cannot find a data directory; pass --data-dir or set TOBIRA_DATA_DIR")]
    NoDataDir,
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The mailer could not be built.
    #[error("mail: {0}")]
    Mail(#[from] mail::MailError),
    /// The server key could not be read or created.
    #[error(transparent)]
    SecretKey(#[from] SecretKeyError),
    /// The demo roster could not be imported.
    #[error("seeding the demo roster failed: {0}")]
    Seed(String),
}

/// The resolved places and settings of one run.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The data directory (created, mode 0700).
    pub data_dir: PathBuf,
    /// The parsed configuration (defaults when there is no file).
    pub config: Config,
    /// The database path or URL.
    pub database: String,
}

impl Environment {
    /// Resolves the data directory, reads the configuration and picks the database.
    pub fn resolve(
        data_dir: Option<PathBuf>,
        config: Option<PathBuf>,
        database: Option<String>,
    ) -> Result<Self, SetupError> {
        let data_dir = match data_dir {
            Some(d) => d,
            None => directories::ProjectDirs::from("", "", "tobira")
                .map(|p| p.data_dir().to_path_buf())
                .ok_or(SetupError::NoDataDir)?,
        };
        create_private_dir(&data_dir)?;
        let config = match config {
            Some(path) => Config::load(&path)?,
            None => {
                let default = data_dir.join("config.toml");
                if default.exists() {
                    Config::load(&default)?
                } else {
                    Config::default()
                }
            }
        };
        let database = database
            .or_else(|| config.database.url.clone())
            .unwrap_or_else(|| data_dir.join("tobira.db").to_string_lossy().into_owned());
        Ok(Self {
            data_dir,
            config,
            database,
        })
    }

    /// Where the local outbox writes mail.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Where the TUI writes its log.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    /// Opens (and migrates) the database: SQLite, or PostgreSQL for a `postgres://` URL.
    pub async fn open_store(&self) -> Result<Arc<dyn Store>, SetupError> {
        Ok(crate::store::open(&self.database).await?)
    }

    /// The key that seals second-factor secrets: `TOBIRA_SECRET_KEY` when set, else
    /// `<data dir>/secret.key` (created with mode 0600 on first start).
    pub fn secret_key(&self) -> Result<SecretKey, SetupError> {
        let env = std::env::var(secret_key::ENV_VAR).ok();
        let env = env.as_deref().map(str::trim).filter(|v| !v.is_empty());
        Ok(SecretKey::load_or_create(&self.data_dir, env)?)
    }

    /// The configured mailer (the local outbox unless SMTP is configured).
    pub fn mailer(&self) -> Result<Arc<dyn Mailer>, SetupError> {
        Ok(mail::from_config(&self.config.mail, &self.outbox_dir())?)
    }
}

/// Imports the demo roster when the database has no members yet; returns how many were added.
pub async fn seed_demo_roster(
    store: &dyn Store,
    now: i64,
    today: time::Date,
) -> Result<u64, SetupError> {
    if store.has_members().await? {
        return Ok(0);
    }
    let report =
        crate::import::import_roster(store, std::io::Cursor::new(DEMO_ROSTER), today, now, |_| {})
            .await
            .map_err(|e| SetupError::Seed(e.to_string()))?;
    if let Some(r) = report.rejected.first() {
        return Err(SetupError::Seed(format!("line {}: {}", r.line, r.reason)));
    }
    Ok(report.imported)
}

fn create_private_dir(path: &Path) -> Result<(), SetupError> {
    let err = |source| SetupError::DataDir {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}
