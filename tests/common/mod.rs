//! A real server on an ephemeral port, a SQLite file (or a PostgreSQL database of the test
//! server in `postgres.rs`: [`Database`]), a local outbox and a clock the tests move.
#![allow(dead_code)]

pub mod postgres;
pub mod smtp;
pub mod staff;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tobira::api::Lang;
use tobira::client::{Client, FlowToken};
use tobira::domain::{LockoutPolicy, ThrottlePolicy};
use tobira::mail::outbox::{Outbox, OutboxMessage, read_outbox};
use tobira::mail::{Mail, MailError, Mailer};
use tobira::server::{
    self, AppState, Clock, HashingParams, ManualClock, RunningServer, SecretKey, ServerSettings,
};
use tobira::store::Store;
use tobira::store::postgres::PgStore;
use tobira::store::sqlite::SqliteStore;

/// 2026-11-25T00:00:00Z.
pub const T0: i64 = 1_795_564_800;
/// The manual's example member.
pub const DEMO_ID: &str = "demo0001";
/// Symbol 12 + number 3456789 + 1980-12-01.
pub const DEMO_INITIAL: &str = "12345678919801201";
/// The demo member's date of birth.
pub const DEMO_BIRTH: &str = "1980-12-01";

/// A mailer that can be told to fail, in front of the real outbox.
pub struct SwitchMailer {
    pub outbox: Outbox,
    /// A server that is down (a transient error: the queue retries).
    pub down: AtomicBool,
    /// A server that refuses the recipient for good (a permanent error: given up at once).
    pub refuse: AtomicBool,
}

#[async_trait::async_trait]
impl Mailer for SwitchMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(MailError::Smtp("test: mail server down".into()));
        }
        if self.refuse.load(Ordering::SeqCst) {
            return Err(MailError::Address("test: recipient refused".into()));
        }
        self.outbox.send(mail).await
    }
}

/// The database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file in the test's temporary directory.
    Sqlite,
    /// A fresh database on this test binary's PostgreSQL server (`postgres.rs`).
    Postgres,
}

pub struct TestServer {
    pub client: Client,
    pub clock: Arc<ManualClock>,
    /// The server's store, whichever the database.
    pub store: Arc<dyn Store>,
    /// The same store when it is SQLite (see [`TestServer::sqlite`]).
    sqlite: Option<Arc<SqliteStore>>,
    pub mailer: Arc<SwitchMailer>,
    pub outbox: PathBuf,
    pub db_path: PathBuf,
    pub url: String,
    pub settings: ServerSettings,
    /// The key sealing second-factor secrets (a fresh one per test server).
    pub key: SecretKey,
    server: Option<RunningServer>,
    _dir: tempfile::TempDir,
}

/// Settings for tests: cheap hashing, small lockout thresholds.
pub fn test_settings() -> ServerSettings {
    ServerSettings {
        hashing: HashingParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        },
        lockout: LockoutPolicy {
            account: ThrottlePolicy {
                free_failures: 3,
                base_delay_secs: 10,
                max_delay_secs: 60,
                lock_after: 5,
                decay_secs: 0,
                cap: 0,
            },
            address: ThrottlePolicy {
                free_failures: 20,
                base_delay_secs: 5,
                max_delay_secs: 30,
                lock_after: 0,
                decay_secs: 0,
                cap: 0,
            },
        },
        // No mail cooldown unless a test asks for one (api_first_login tests the quota).
        mail_quota: tobira::domain::MailQuota {
            cooldown_secs: 0,
            daily_cap: 1_000,
        },
        // The delivery worker looks often, so tests wait little for a retried mail.
        mail_queue: tobira::mail::queue::QueuePolicy {
            poll_interval_ms: 50,
            ..Default::default()
        },
        ..ServerSettings::default()
    }
}

/// Waits (bounded, polling) until `cond` holds; panics with `what` otherwise.
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if cond().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

pub async fn start() -> TestServer {
    start_with(test_settings()).await
}

pub async fn start_with(settings: ServerSettings) -> TestServer {
    start_with_mailer(settings, None).await
}

/// A test server whose mail goes to `mailer` (a real SMTP mailer) instead of the switchable
/// outbox, when given.
pub async fn start_with_mailer(
    settings: ServerSettings,
    mailer: Option<Arc<dyn Mailer>>,
) -> TestServer {
    start_server(Database::Sqlite, settings, mailer).await
}

/// A test server on `db` with the test settings.
pub async fn start_on(db: Database) -> TestServer {
    start_on_with(db, test_settings()).await
}

/// A test server on `db` with `settings`.
pub async fn start_on_with(db: Database, settings: ServerSettings) -> TestServer {
    start_server(db, settings, None).await
}

async fn start_server(
    db: Database,
    mut settings: ServerSettings,
    mailer: Option<Arc<dyn Mailer>>,
) -> TestServer {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("tobira.db");
    let (store, sqlite): (Arc<dyn Store>, _) = match db {
        Database::Sqlite => {
            let sqlite = Arc::new(
                SqliteStore::open(&db_path.to_string_lossy())
                    .await
                    .expect("open store"),
            );
            (sqlite.clone(), Some(sqlite))
        }
        Database::Postgres => {
            let url = postgres::fresh_database().await;
            let pg = PgStore::connect(&url).await.expect("open PostgreSQL store");
            (Arc::new(pg), None)
        }
    };
    let clock = Arc::new(ManualClock::new(T0));
    let seeded = tobira::setup::seed_demo_roster(store.as_ref(), clock.now(), clock.today())
        .await
        .expect("seed");
    assert!(seeded >= 30, "demo roster seeded {seeded}");
    let outbox = dir.path().join("outbox");
    let outbox_mailer = Arc::new(SwitchMailer {
        outbox: Outbox::new(outbox.clone(), "tobira <no-reply@localhost>").expect("outbox"),
        down: AtomicBool::new(false),
        refuse: AtomicBool::new(false),
    });
    let listener = server::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let url = format!("http://localhost:{port}");
    settings.public_url = url.clone();
    let key = SecretKey::load_or_create(dir.path(), None).expect("secret key");
    let mailer_override = mailer;
    let mailer = outbox_mailer;
    let state = AppState::new(
        store.clone(),
        mailer_override.unwrap_or_else(|| mailer.clone() as Arc<dyn Mailer>),
        clock.clone(),
        settings.clone(),
        key.clone(),
    );
    let server = server::spawn_on(state, listener).expect("serve");
    TestServer {
        client: Client::new(&url).expect("client"),
        clock,
        store,
        sqlite,
        mailer,
        outbox,
        db_path,
        url,
        settings,
        key,
        server: Some(server),
        _dir: dir,
    }
}

impl TestServer {
    /// The SQLite store, for a test that reads or changes it with SQL; such a test runs on
    /// SQLite only.
    pub fn sqlite(&self) -> &SqliteStore {
        self.sqlite
            .as_deref()
            .expect("this test reads the SQLite database directly: run it on Database::Sqlite")
    }

    /// Mail in the outbox, oldest first.
    pub fn mails(&self) -> Vec<OutboxMessage> {
        read_outbox(&self.outbox).expect("read outbox")
    }

    /// The verification link in the newest mail, read as a member would.
    pub fn latest_link(&self) -> String {
        let mails = self.mails();
        let last = mails.last().expect("a mail in the outbox");
        let links = last.links();
        links
            .into_iter()
            .find(|l| l.contains("/verify/"))
            .unwrap_or_else(|| panic!("no verification link in: {}", last.text))
    }

    /// Signs the demo member in and passes the identity check: the flow rests at the terms.
    pub async fn demo_at_terms(&self) -> FlowToken {
        self.member_at_terms(DEMO_ID, DEMO_INITIAL, DEMO_BIRTH)
            .await
    }

    pub async fn member_at_terms(&self, id: &str, password: &str, birth: &str) -> FlowToken {
        let (token, view) = self
            .client
            .sign_in(id, password, Lang::Ja)
            .await
            .expect("sign in");
        assert_eq!(view.step, tobira::api::Step::BirthDate);
        let view = self
            .client
            .birth_date(&token, birth)
            .await
            .expect("birth date");
        assert_eq!(view.step, tobira::api::Step::Terms);
        token
    }

    /// Walks the demo member to the new-credentials step (email verified, TOTP chosen).
    pub async fn demo_at_credentials(&self) -> FlowToken {
        let token = self.demo_at_terms().await;
        self.client.decide_terms(&token, true).await.expect("terms");
        self.client.submit_email(&token, None).await.expect("email");
        let (status, _) = self
            .client
            .open_link(&self.latest_link())
            .await
            .expect("open link");
        assert_eq!(status, 200);
        let v = self
            .client
            .choose_method(&token, tobira::api::Method::TotpApp)
            .await
            .expect("method");
        assert_eq!(v.step, tobira::api::Step::NewCredentials);
        token
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }
}

/// Asserts that a client result is the API error `code` and returns it.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(
    r: Result<T, tobira::client::ClientError>,
    code: tobira::api::ErrorCode,
) -> tobira::api::ApiError {
    match r {
        Err(tobira::client::ClientError::Api(e)) if e.code == code => e,
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

/// How many requests of a burst got each answer: `"ok"` or the error code's name.
pub type Tally = std::collections::BTreeMap<String, usize>;

/// The size of the bursts of wrong guesses the lockout tests send at once.
pub const BURST: usize = 64;

/// Sends every request at once (all in flight together) and tallies the answers.
pub async fn burst<T, F>(requests: Vec<F>) -> Tally
where
    F: std::future::Future<Output = Result<T, tobira::client::ClientError>>,
{
    let mut tally = Tally::new();
    for r in futures::future::join_all(requests).await {
        let key = match r {
            Ok(_) => "ok".to_owned(),
            Err(tobira::client::ClientError::Api(e)) => e.code.as_str().to_owned(),
            Err(other) => panic!("not an API answer: {other:?}"),
        };
        *tally.entry(key).or_default() += 1;
    }
    tally
}

/// How many of a tally's answers came from a checked guess: all but the refusals, including
/// `out_of_order` and `flow_expired` — the guesses that came (or were reserved) after the right
/// one had moved the flow on, answered without being checked.
pub fn checked(tally: &Tally) -> usize {
    tally
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "rate_limited" | "too_many_attempts" | "out_of_order" | "flow_expired"
            )
        })
        .map(|(_, n)| n)
        .sum()
}

/// Runs each story, an `async fn name(db: Database)`, as a test on SQLite (`sqlite::name`) and
/// on PostgreSQL (`postgres::name`): one suite, both databases. Each entry is the story's name
/// after its test attribute (`#[tokio::test]` or a multi-threaded one).
// Not every test binary that shares this module runs stories.
#[allow(unused_macros)]
macro_rules! on_both_databases {
    ($(#[$attr:meta] $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[$attr]
                async fn $name() {
                    super::$name($crate::common::Database::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[$attr]
                async fn $name() {
                    super::$name($crate::common::Database::Postgres).await
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_databases;
