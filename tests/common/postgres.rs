//! A throw-away PostgreSQL server for the tests: started once per test binary (on first use),
//! from Debian's `postgresql` package (`/usr/lib/postgresql/<version>/bin`), `initdb` into a
//! temporary directory as an unprivileged user, listening on a free loopback port and on a
//! socket in that directory. Every test gets a database of its own ([`fresh_database`]).
//!
//! Nothing is left behind: the server is owned by a small watcher shell whose standard input is a
//! pipe from this process. When the process ends — normally, by a panic, or killed — the pipe
//! closes, and the watcher stops the server (`pg_ctl stop -m immediate`) and deletes the
//! directory. The watcher ignores SIGINT/SIGTERM/SIGHUP, so a Ctrl-C that kills the test binary
//! still lets it clean up.
//!
//! Missing binaries fail the test with the command to install them, never a silent skip.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use sqlx::Connection;

/// The unprivileged account the server runs as when the tests run as root (initdb refuses root).
const TEST_USER: &str = "tobira-test";

/// How often a start is tried on a fresh port (another process may take the port between our
/// probe and the server's bind).
const START_TRIES: usize = 3;

/// The running server of this test binary.
pub struct PgServer {
    port: u16,
    dir: PathBuf,
    /// The watcher shell; dropping its stdin (at process exit) stops the server.
    _watcher: Mutex<(Child, ChildStdin)>,
}

static SERVER: OnceLock<PgServer> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

impl PgServer {
    /// A URL for `database` as the superuser `postgres`, with `password` (ignored by the
    /// server's trust authentication; tests use it to check that it is never printed).
    pub fn url_with_password(&self, database: &str, password: &str) -> String {
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// A URL for `database` as the superuser `postgres`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The directory holding the data and the socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The server of this test binary, started on first use.
pub fn server() -> &'static PgServer {
    SERVER.get_or_init(start)
}

/// A new empty database on the test server; returns its URL.
pub async fn fresh_database() -> String {
    let server = server();
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = sqlx::PgConnection::connect(&server.url("postgres"))
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL server: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    admin.close().await.ok();
    server.url(&name)
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb` and `pg_ctl`.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "the PostgreSQL tests need a PostgreSQL server: no initdb/pg_ctl under \
             /usr/lib/postgresql/*/bin. Install it with `apt-get install postgresql` \
             (or `scripts/setup-debian --test`)."
        ),
    }
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run `id -u`");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Creates the unprivileged test user if missing. Another test binary may create it at the same
/// moment: a failed `useradd` is fine when the user exists afterwards.
fn ensure_test_user() {
    if user_exists(TEST_USER) {
        return;
    }
    let out = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
        ])
        .arg(TEST_USER)
        .output()
        .expect("run useradd");
    assert!(
        user_exists(TEST_USER),
        "could not create the test user {TEST_USER}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A command run as the test user when we are root (`runuser`), as ourselves otherwise.
fn as_test_user(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.arg("-u").arg(TEST_USER).arg("--").arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

fn start() -> PgServer {
    let bin = bin_dir();
    let root = running_as_root();
    if root {
        ensure_test_user();
    }
    // Not a `TempDir`: the watcher deletes it, after the server has stopped.
    let dir = tempfile::Builder::new()
        .prefix("tobira-pg-")
        .tempdir()
        .expect("temporary directory")
        .keep();
    if root {
        let status = Command::new("chown")
            .arg(format!("{TEST_USER}:"))
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown {}", dir.display());
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let data = dir.join("data");
    let out = as_test_user(root, &bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            // A UTF-8 character type: pg_trgm finds no trigram in Japanese under plain C
            // (migration 0008 refuses such a database).
            "--locale=C.UTF-8",
            "--no-sync",
        ])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut last_log = String::new();
    for _ in 0..START_TRIES {
        let port = free_port();
        match start_on(root, &bin, &dir, port) {
            Ok(watcher) => {
                return PgServer {
                    port,
                    dir,
                    _watcher: Mutex::new(watcher),
                };
            }
            Err(log) => last_log = log,
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    panic!("the test PostgreSQL server did not start:\n{last_log}");
}

/// The watcher: starts the server and waits for it (`pg_ctl -w`), says `ready` (or `failed`),
/// then waits for its stdin to close and stops the server and deletes the directory.
const WATCHER: &str = r#"
trap '' INT TERM HUP
bin="$1"; dir="$2"; port="$3"
if "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
     -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
     start >/dev/null 2>&1; then
  echo ready
else
  echo failed
  cat "$dir/log"
  exit 1
fi
cat >/dev/null
"$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
rm -rf "$dir"
"#;

fn start_on(root: bool, bin: &Path, dir: &Path, port: u16) -> Result<(Child, ChildStdin), String> {
    let mut watcher = as_test_user(root, Path::new("/bin/sh"))
        .arg("-c")
        .arg(WATCHER)
        .arg("tobira-pg-watcher")
        .arg(bin)
        .arg(dir)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the PostgreSQL watcher");
    let stdin = watcher.stdin.take().expect("watcher stdin");
    let mut stdout = BufReader::new(watcher.stdout.take().expect("watcher stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).ok();
    if first.trim() == "ready" {
        return Ok((watcher, stdin));
    }
    let mut log = String::new();
    stdout.read_to_string(&mut log).ok();
    drop(stdin);
    watcher.wait().ok();
    Err(log)
}
