//! One scenario's world: its own embedded server on a manual clock, its own temporary data
//! directory (SQLite, outbox, server key), seeded from the demo roster or a roster file, with
//! the scenario's configuration overrides.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::faults::{FaultyMailer, RestartableServer};
use super::passkey::VirtualPasskey;
use crate::client::Client;
use crate::mail::Mailer;
use crate::mail::outbox::{Outbox, OutboxMessage, read_outbox};
use crate::server::{self, AppState, Clock, HashingParams, ManualClock, SecretKey, ServerSettings};
use crate::store::sqlite::SqliteStore;

/// Where every scenario's clock starts: 2026-11-25T00:00:00Z (a fixed time keeps screens and
/// snapshots the same on every run).
pub const T0: i64 = 1_795_564_800;

/// Why a world could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// A configuration override does not apply.
    #[error("configuration override: {0}")]
    Config(String),
    /// The roster file cannot be read or imported.
    #[error("roster {path}: {message}")]
    Roster {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The server could not start.
    #[error("embedded server: {0}")]
    Server(String),
}

/// The server of one scenario (embedded, or deployed with `--server`) and what the steps reach
/// into.
pub struct World {
    /// The API client (what the screens use).
    pub client: Client,
    /// The clock the server and the screens share (embedded only; a deployed server keeps its
    /// own time, and the steps read the wall clock).
    pub clock: Arc<ManualClock>,
    /// Where the mail is: the embedded server's outbox, or the SMTP sink's directory.
    pub outbox: PathBuf,
    /// The server's base URL.
    pub url: String,
    /// The member's passkey (the soft authenticator the screens offer).
    pub passkey: VirtualPasskey,
    /// What only an embedded server offers (None against `--server`).
    pub embedded: Option<Embedded>,
    _dir: tempfile::TempDir,
}

/// The parts of an embedded server that steps reach into (staff accounts, faults).
pub struct Embedded {
    /// The store.
    pub store: Arc<SqliteStore>,
    /// The server key (for staff accounts made as `tobira admin staff add` makes them).
    pub key: SecretKey,
    /// The mail server in front of the outbox, which `fault mail down` takes down.
    pub mailer: Arc<FaultyMailer>,
    /// The server, which `fault server stop` stops.
    pub server: RestartableServer,
}

/// Builds a TOML table from `section.key = value` overrides.
pub fn config_table(overrides: &[(String, String)]) -> Result<toml::Table, WorldError> {
    let mut root = toml::Table::new();
    for (key, value) in overrides {
        let parsed: toml::Table = toml::from_str(&format!("v = {value}"))
            .map_err(|e| WorldError::Config(format!("{key}={value}: not a TOML value ({e})")))?;
        let value = parsed
            .get("v")
            .cloned()
            .unwrap_or(toml::Value::Boolean(false));
        let parts: Vec<&str> = key.split('.').collect();
        let mut table = &mut root;
        for p in &parts[..parts.len() - 1] {
            let entry = table
                .entry((*p).to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = entry
                .as_table_mut()
                .ok_or_else(|| WorldError::Config(format!("{key}: {p} is not a section")))?;
        }
        table.insert(parts[parts.len() - 1].to_owned(), value);
    }
    Ok(root)
}

impl World {
    /// Starts a world: temp dir, store seeded from `roster` (None: the demo roster), server
    /// with `overrides` applied, clock at [`T0`].
    pub async fn start(
        overrides: &[(String, String)],
        roster: Option<&Path>,
    ) -> Result<Self, WorldError> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let server_err = |e: &dyn std::fmt::Display| WorldError::Server(e.to_string());
        let dir = tempfile::tempdir().map_err(|e| server_err(&e))?;
        let db_path = dir.path().join("tobira.db");
        let store = Arc::new(
            SqliteStore::open(&db_path.to_string_lossy())
                .await
                .map_err(|e| server_err(&e))?,
        );
        let clock = Arc::new(ManualClock::new(T0));
        match roster {
            None => {
                crate::setup::seed_demo_roster(store.as_ref(), clock.now(), clock.today())
                    .await
                    .map_err(|e| server_err(&e))?;
            }
            Some(path) => {
                let roster_err = |message: String| WorldError::Roster {
                    path: path.to_owned(),
                    message,
                };
                let file = std::fs::File::open(path).map_err(|e| roster_err(e.to_string()))?;
                let report = crate::import::import_roster(
                    store.as_ref(),
                    file,
                    clock.today(),
                    clock.now(),
                    |_| {},
                )
                .await
                .map_err(|e| roster_err(e.to_string()))?;
                if let Some(r) = report.rejected.first() {
                    return Err(roster_err(format!("line {}: {}", r.line, r.reason)));
                }
            }
        }
        let table = config_table(overrides)?;
        let config = crate::config::Config::parse(
            &toml::to_string(&table).map_err(|e| WorldError::Config(e.to_string()))?,
        )
        .map_err(|e| WorldError::Config(e.to_string()))?;
        let listener = server::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| server_err(&e))?;
        let port = listener.local_addr().map_err(|e| server_err(&e))?.port();
        let url = format!("http://localhost:{port}");
        let mut settings = config
            .server_settings(url.clone())
            .map_err(|e| WorldError::Config(e.to_string()))?;
        tune(&mut settings, &table);
        let outbox = dir.path().join("outbox");
        let outbox_mailer: Arc<dyn Mailer> = Arc::new(
            Outbox::new(outbox.clone(), "tobira <no-reply@localhost>")
                .map_err(|e| server_err(&e))?,
        );
        let mailer = FaultyMailer::new(outbox_mailer, clock.clone());
        let key = SecretKey::load_or_create(dir.path(), None).map_err(|e| server_err(&e))?;
        let state = AppState::new(
            store.clone(),
            mailer.clone(),
            clock.clone(),
            settings,
            key.clone(),
        );
        let server = RestartableServer::start_on(state, listener).map_err(|e| server_err(&e))?;
        Ok(Self {
            client: Client::new(&url).map_err(|e| server_err(&e))?,
            clock,
            outbox,
            url,
            passkey: VirtualPasskey::new(),
            embedded: Some(Embedded {
                store,
                key,
                mailer,
                server,
            }),
            _dir: dir,
        })
    }

    /// A world on a deployed server at `url`, its mail read from `mail_dir` (the SMTP sink's).
    pub fn remote(url: &str, mail_dir: &Path) -> Result<Self, WorldError> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let server_err = |e: &dyn std::fmt::Display| WorldError::Server(e.to_string());
        let dir = tempfile::tempdir().map_err(|e| server_err(&e))?;
        let wall = time::OffsetDateTime::now_utc().unix_timestamp();
        Ok(Self {
            client: Client::new(url).map_err(|e| server_err(&e))?,
            clock: Arc::new(ManualClock::new(wall)),
            outbox: mail_dir.to_owned(),
            url: url.to_owned(),
            passkey: VirtualPasskey::new(),
            embedded: None,
            _dir: dir,
        })
    }

    /// The embedded server's parts, or why a step needs them.
    pub fn embedded(&self, what: &str) -> Result<&Embedded, String> {
        self.embedded.as_ref().ok_or_else(|| refused(what))
    }

    /// The embedded server's parts (mutable), or why a step needs them.
    pub fn embedded_mut(&mut self, what: &str) -> Result<&mut Embedded, String> {
        self.embedded.as_mut().ok_or_else(|| refused(what))
    }

    /// Mail in the outbox, oldest first.
    pub fn mails(&self) -> Vec<OutboxMessage> {
        read_outbox(&self.outbox).unwrap_or_default()
    }

    /// The scenario's temporary directory.
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    /// A passkey runner whose soft authenticator is the world's virtual passkey.
    pub fn passkeys(&self) -> crate::tui::PasskeyRunner {
        crate::tui::PasskeyRunner::new(
            Some(self.passkey.authenticator()),
            crate::passkey::Limits::default(),
        )
    }

    /// Now on the shared clock; against a deployed server, the wall clock.
    pub fn now(&self) -> i64 {
        match self.embedded {
            Some(_) => self.clock.now(),
            None => time::OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// Stops the embedded server (a deployed one is left running).
    pub async fn stop(self) {
        if let Some(mut e) = self.embedded {
            e.server.stop().await;
        }
    }
}

/// The message of a step that needs the embedded server, run with `--server`.
fn refused(what: &str) -> String {
    format!(
        "'{what}' needs the scenario's embedded server: against --server URL the deployed server's \
         clock, store and mail server are not the runner's to control"
    )
}

/// What a scripted run changes in the settings unless the scenario set it: argon2 at its
/// smallest (the cost is not what a scenario tests, and 19 MiB per sign-in would make a suite
/// slow), and a mail queue that looks often (mail arrives in milliseconds, not seconds).
fn tune(settings: &mut ServerSettings, table: &toml::Table) {
    if !table.contains_key("password_hashing") {
        settings.hashing = HashingParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        };
    }
    settings.mail_queue.poll_interval_ms = settings.mail_queue.poll_interval_ms.min(50);
}
