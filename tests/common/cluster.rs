//! Several real `tobira serve` processes (the built binary) on one database, one secret key and
//! one SMTP sink: what an operator runs behind a load balancer.
//!
//! The database is a parameter ([`Database`]): a SQLite file in the cluster's directory, or a
//! fresh database of the test PostgreSQL server (`common/postgres.rs`).
//! Include with `#[path = "common/cluster.rs"] mod cluster;` after `mod common;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tobira::client::Client;
use tobira::mail::outbox::OutboxMessage;
use tobira::store::Store;

use crate::common::smtp::{SmtpServer, free_port};

pub const BIN: &str = env!("CARGO_BIN_EXE_tobira");

/// The bearer token of every process's `/metrics` (given as `TOBIRA_METRICS_TOKEN`).
pub const METRICS_TOKEN: &str = "cluster-metrics-token-0123456789";

/// Which database the processes share.
#[derive(Debug, Clone)]
pub enum Database {
    /// A SQLite file in the cluster's directory.
    Sqlite,
    /// A PostgreSQL database (an empty one of the test server, `common/postgres.rs`).
    Postgres(String),
}

/// The processes' shared setting: data directory (config, outbox), database, secret key, SMTP.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub database: String,
    pub db: Database,
    /// The shared secret key (hex), given to every process as `TOBIRA_SECRET_KEY`.
    pub key: String,
    pub config: PathBuf,
    /// The port of the first process, whose URL is the public one (links, passkey origin).
    pub public_port: u16,
    /// The port the SMTP sink listens on (it may be started later: mail waits in the queue).
    pub smtp_port: u16,
    pub smtp: Option<SmtpServer>,
}

/// Options of the cluster's configuration.
pub struct Options {
    /// Account lockout: failures before the delay.
    pub free_failures: u32,
    /// Start the SMTP sink now (else: mail fails and waits until [`Cluster::start_smtp`]).
    pub smtp_up: bool,
    /// Seconds a delivering process holds a mail.
    pub claim_secs: u64,
    /// Configure `public_url` (the first process's URL); else each process derives its own.
    pub public_url: bool,
}

impl Options {
    /// The defaults with the mail server down at first.
    pub fn mail_down() -> Self {
        Self {
            smtp_up: false,
            ..Self::default()
        }
    }
}

/// Waits (bounded, 90 s) until the mail queue in the database is `done`; a mail given up
/// fails at once.
pub async fn wait_queue(
    store: &dyn Store,
    what: &str,
    done: impl Fn(&tobira::store::MailQueueReport) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r = store.mail_queue_report(0).await.unwrap();
        assert_eq!(r.failed, 0, "{what}: {r:?}");
        if done(&r) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out: {what}: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            free_failures: 5,
            smtp_up: true,
            claim_secs: 10,
            public_url: true,
        }
    }
}

impl Cluster {
    /// A fresh cluster; `roster` (CSV) is imported with `tobira admin import` (the demo roster
    /// when `None`).
    pub fn new(db: Database, roster: Option<&str>, o: Options) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let database = match &db {
            Database::Sqlite => dir.path().join("tobira.db").display().to_string(),
            Database::Postgres(url) => url.clone(),
        };
        let smtp_port = free_port();
        let public_port = free_port();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                r#"
[server]
{public_url}

[password_hashing]
memory_kib = 256
iterations = 1
parallelism = 1

[lockout.account]
free_failures = {ff}
base_delay_secs = 60
max_delay_secs = 300
lock_after = 0
decay_secs = 0

[lockout.address]
free_failures = 100000
base_delay_secs = 1
max_delay_secs = 1
lock_after = 0
decay_secs = 0

[mail_quota]
cooldown_secs = 0
daily_cap = 1000

[mail]
from = "tobira <no-reply@localhost>"

[mail.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
timeout_secs = 2

[mail.queue]
retry_base_secs = 1
retry_max_secs = 1
max_attempts = 1000
poll_interval_ms = 50
claim_secs = {claim}
"#,
                public_url = if o.public_url {
                    format!("public_url = \"http://localhost:{public_port}\"")
                } else {
                    String::new()
                },
                ff = o.free_failures,
                claim = o.claim_secs,
            ),
        )
        .unwrap();
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).unwrap();
        let mut c = Cluster {
            dir,
            database,
            db,
            key: hex::encode(key),
            config,
            public_port,
            smtp_port,
            smtp: None,
        };
        let roster_path = match roster {
            Some(csv) => {
                let p = c.dir.path().join("roster.csv");
                std::fs::write(&p, csv).unwrap();
                p
            }
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/roster.csv"),
        };
        let out = c
            .command()
            .args(["admin", "import"])
            .arg(&roster_path)
            .output()
            .unwrap();
        assert!(out.status.success(), "import: {out:?}");
        if o.smtp_up {
            c.start_smtp();
        }
        c
    }

    /// `tobira` with this cluster's data directory, database, config and key.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(self.dir.path())
            .arg("--database")
            .arg(&self.database)
            .arg("--config")
            .arg(&self.config)
            .env("TOBIRA_SECRET_KEY", &self.key)
            .env("TOBIRA_METRICS_TOKEN", METRICS_TOKEN)
            .env("TOBIRA_LOG", "info");
        cmd
    }

    /// Starts the SMTP sink on the cluster's SMTP port.
    pub fn start_smtp(&mut self) {
        self.smtp = Some(SmtpServer::start_on(self.smtp_port, None));
    }

    /// A `tobira serve` on the public port (the first process).
    pub fn serve_public(&self) -> Serve {
        Serve::start(self, self.public_port)
    }

    /// A `tobira serve` on a port of its own.
    pub fn serve(&self) -> Serve {
        Serve::start(self, 0)
    }

    /// The public origin (what a browser or a passkey sees).
    pub fn origin(&self) -> url::Url {
        url::Url::parse(&format!("http://localhost:{}", self.public_port)).unwrap()
    }

    /// Every mail the sink received, in order.
    pub fn mails(&self) -> Vec<OutboxMessage> {
        let Some(smtp) = &self.smtp else {
            return Vec::new();
        };
        smtp.received()
            .into_iter()
            .map(|p| {
                let raw = std::fs::read(&p).unwrap();
                OutboxMessage::parse(p, &raw).unwrap()
            })
            .collect()
    }

    /// The mails to `addr`, waiting (bounded) until there are at least `n`.
    pub fn wait_mails_to(&self, addr: &str, n: usize) -> Vec<OutboxMessage> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got: Vec<_> = self.mails().into_iter().filter(|m| m.to == addr).collect();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} mail(s) to {addr}; have {}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The store, opened beside the running processes (to check what they wrote).
    pub async fn store(&self) -> Arc<dyn Store> {
        tobira::store::open(&self.database).await.unwrap()
    }
}

/// One `tobira serve` process; killed (SIGKILL) when dropped.
pub struct Serve {
    child: Child,
    pub port: u16,
    pub url: String,
    pub client: Client,
    /// What the process wrote to stderr (its log), for failure messages.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    fn start(c: &Cluster, port: u16) -> Serve {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut child = c
            .command()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let keep = log.clone();
        // Reads the log to its end, so the process never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on ").nth(1) {
                    let _ = tx.send(addr.trim().to_owned());
                }
                keep.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "tobira serve did not start: {:?}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
        let url = format!("http://localhost:{port}");
        Serve {
            child,
            port,
            client: Client::new(&url).unwrap(),
            url,
            log,
        }
    }

    /// `link` (a public URL) pointed at this process instead.
    pub fn local(&self, link: &str, c: &Cluster) -> String {
        link.replace(
            &format!("localhost:{}", c.public_port),
            &format!("localhost:{}", self.port),
        )
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// This process's `/metrics`.
    pub async fn metrics(&self) -> String {
        let r = reqwest::Client::new()
            .get(format!("{}/metrics", self.url))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.text().await.unwrap()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
