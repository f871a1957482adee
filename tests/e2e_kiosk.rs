//! End to end: `tobira kiosk` (the built binary) in a real terminal (tmux) against a real
//! `tobira serve`, keys sent and the screen — and the whole scrollback — read back.
//!
//! tmux and a free local port are needed; without tmux these tests fail and say so. Waiting
//! polls the screen until the expected text appears, with a deadline: nothing sleeps a fixed
//! time to let something happen.

#[path = "common/tmux.rs"]
mod tmux;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tmux::Tmux;
use tobira::store::sqlite::SqliteStore;

/// How long any one screen may take to appear (the countdown alone runs 20 s).
const DEADLINE: Duration = Duration::from_secs(40);
const BIN: &str = env!("CARGO_BIN_EXE_tobira");

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// A `tobira serve` on `port` over the database in `data`.
struct Server {
    child: Child,
}

impl Server {
    fn start(data: &Path, port: u16) -> Self {
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start tobira serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        loop {
            let line = lines.next().expect("serve exited early").expect("read");
            if line.contains("listening on") {
                break;
            }
        }
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child }
    }

    fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.child.wait().expect("serve stops");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A database with the demo roster; demo0001 has signed in before (password `Sakura#2026`)
/// and now sets up the authenticator app.
fn seeded(dir: &Path) -> PathBuf {
    let data = dir.join("server");
    std::fs::create_dir_all(&data).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&data.join("tobira.db").to_string_lossy())
            .await
            .expect("open the database");
        use tobira::server::Clock;
        let clock = tobira::server::SystemClock;
        tobira::setup::seed_demo_roster(&store, clock.now(), clock.today())
            .await
            .expect("seed");
        let hash = tobira::server::HashingParams::default()
            .hash("Sakura#2026".to_owned())
            .await
            .expect("hash");
        sqlx::query(
            "UPDATE members SET step = 'method_setup', method = 'totp_app', password_hash = ?, \
             email_verified_at = 1, terms_accepted_at = 1 WHERE user_id = 'demo0001'",
        )
        .bind(hash)
        .execute(store.pool())
        .await
        .expect("member at method set-up");
    });
    data
}

/// The kiosk's own data directory with its `[kiosk]` configuration.
fn kiosk_dir(dir: &Path, idle_secs: u64) -> PathBuf {
    let data = dir.join("kiosk");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("config.toml"),
        format!(
            "[kiosk]\nidle_secs = {idle_secs}\nwarn_secs = 20\nlang = \"en\"\nbranch = \"Shinjuku\"\nid = \"shinjuku-01\"\n"
        ),
    )
    .unwrap();
    data
}

/// `tobira kiosk` in tmux against the server on `port`; everything it writes is also piped
/// to `log` (to scan the raw bytes).
fn kiosk(dir: &Path, port: u16, idle_secs: u64, log: &Path) -> Tmux {
    let command = format!(
        "env -u NO_COLOR TOBIRA_DATA_DIR={} {} kiosk --allow-unsafe --server http://localhost:{port}; echo \"kiosk exited with $?\"; sleep 600",
        quote(&kiosk_dir(dir, idle_secs)),
        quote(Path::new(BIN)),
    );
    let t = Tmux::start((120, 40), &command, DEADLINE);
    let pipe = format!("cat >> {}", quote(log));
    assert!(
        t.run(&["pipe-pane", "-o", "-t", tmux::SESSION, &pipe])
            .status
            .success()
    );
    t.wait_for("It takes about 10 minutes.");
    t
}

/// Welcome → signed in as demo0001 → the authenticator app's QR code.
fn to_qr_code(t: &Tmux) {
    t.keys(&["Enter"]);
    t.wait_for("Forgot your password?");
    t.type_text("demo0001");
    t.keys(&["Tab"]);
    t.type_text("Sakura#2026");
    t.keys(&["Enter"]);
    t.wait_for("Can't scan?");
}

#[test]
fn the_self_check_inside_tmux_finds_tmux_and_refuses_to_start() {
    let command = format!(
        "{bin} kiosk --check; echo \"check exited with $?\"; {bin} kiosk; echo \"kiosk exited with $?\"; sleep 600",
        bin = quote(Path::new(BIN))
    );
    let t = Tmux::start((200, 40), &command, DEADLINE);
    let screen = t.wait_for("kiosk exited with");
    assert!(screen.contains("check exited with 2"), "{screen}");
    assert!(
        screen.contains("unsafe: tmux: running inside tmux"),
        "{screen}"
    );
    assert!(screen.contains("refusing to start"), "{screen}");
    assert!(screen.contains("kiosk exited with 2"), "{screen}");
    for line in screen
        .lines()
        .filter(|l| l.starts_with("unsafe:") || l.starts_with("warning:"))
    {
        assert!(line.len() < 200, "one line each: {line}");
    }
}

#[test]
fn control_keys_change_nothing_and_an_idle_kiosk_counts_down_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = Server::start(&seeded(dir.path()), port);
    let log = dir.path().join("out.bin");
    let t = kiosk(dir.path(), port, 3, &log);
    assert!(t.screen().contains("Shinjuku service terminal"));
    t.keys(&["Enter"]);
    t.wait_for("Forgot your password?");
    t.type_text("demo0001");
    let before = t.wait_for("demo0001");

    t.keys(&["C-c"]);
    t.keys(&["C-z"]);
    t.keys(&["C-\\"]);
    // F2 twice: once the kiosk has drawn English again it has read the three keys before.
    t.keys(&["F2"]);
    t.wait_for("パスワードを忘れた方");
    t.keys(&["F2"]);
    let after = t.wait_for("Forgot your password?");
    assert!(t.pane_alive(), "the kiosk still runs");
    assert!(!after.contains("kiosk exited"), "{after}");
    assert_eq!(before, after, "the control keys changed nothing");

    // Nobody types: the countdown, then the welcome screen of a fresh visit.
    t.wait_for("Are you still there?");
    t.wait_for("seconds this terminal returns to the first screen");
    t.wait_for("It takes about 10 minutes.");
    assert!(!t.everything().contains("demo0001"));
    let bytes = std::fs::read(&log).unwrap();
    assert!(!bytes.windows(4).any(|w| w == b"\x1b]52"), "no OSC 52 ever");
}

#[test]
fn a_kiosk_whose_terminal_closes_ends_instead_of_spinning_on_a_dead_tty() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = Server::start(&seeded(dir.path()), port);
    let log = dir.path().join("out.bin");
    let t = kiosk(dir.path(), port, 120, &log);
    let pid = t.run(&["display-message", "-p", "-t", tmux::SESSION, "#{pane_pid}"]);
    let shell_pid = String::from_utf8_lossy(&pid.stdout).trim().to_owned();
    // The kiosk is the shell's child (the pane runs `env … tobira kiosk …; echo …`).
    let children = std::fs::read_to_string(format!("/proc/{shell_pid}/task/{shell_pid}/children"))
        .unwrap_or_default();
    let kiosk_pid = children
        .split_whitespace()
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.contains("kiosk"))
        })
        .unwrap_or_else(|| panic!("no kiosk under the pane's shell {shell_pid}: {children:?}"))
        .to_owned();
    // The terminal goes away (its window closed): the kernel hangs up the tty.
    let _ = t.run(&["kill-server"]);
    let start = Instant::now();
    loop {
        let state = std::fs::read_to_string(format!("/proc/{kiosk_pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for its parent: it has ended.
        let ended = state.is_empty() || state.split_whitespace().nth(2) == Some("Z");
        if ended {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the kiosk {kiosk_pid} still runs {DEADLINE:?} after its terminal closed: {state}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_member_who_walked_away_from_a_qr_code_leaves_nothing_in_the_scrollback() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = Server::start(&seeded(dir.path()), port);
    let log = dir.path().join("out.bin");
    let t = kiosk(dir.path(), port, 3, &log);
    to_qr_code(&t);
    t.keys(&["Tab", "Enter"]);
    let screen = t.wait_for("Enter a setup key");
    let key: String = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("Key"))
        .unwrap_or_else(|| panic!("the key is shown:\n{screen}"))
        .split_whitespace()
        .collect();
    assert_eq!(key.len(), 32, "{screen}");

    // The member walks away.
    t.wait_for("Are you still there?");
    t.wait_for("It takes about 10 minutes.");
    let all = t.everything();
    for secret in [
        "demo0001",
        &key[..8],
        "Can't scan",
        "Enter a setup key",
        "▀",
        "▄",
    ] {
        assert!(!all.contains(secret), "{secret:?} is left:\n{all}");
    }
    let bytes = std::fs::read(&log).unwrap();
    assert!(
        bytes.windows(11).any(|w| w == b"\x1b[2J\x1b[3J\x1b[H"),
        "the kiosk wiped screen and scrollback"
    );

    // The next member starts; the supervisor stops the kiosk (SIGTERM) meanwhile.
    t.keys(&["Enter"]);
    t.wait_for("Forgot your password?");
    t.type_text("demo0002");
    t.wait_for("demo0002");
    let shell = t.run(&["display-message", "-p", "-t", tmux::SESSION, "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&shell.stdout).trim().to_owned();
    let children = Command::new("ps")
        .args(["-o", "pid=", "--ppid", &shell])
        .output()
        .unwrap();
    let kiosk_pid = String::from_utf8_lossy(&children.stdout).trim().to_owned();
    assert!(
        !kiosk_pid.is_empty(),
        "the kiosk runs under the pane's shell"
    );
    // Signals that stop or end a terminal program are ignored: a key typed afterwards is
    // still read (a stopped or ended kiosk would not show it).
    for sig in ["-INT", "-QUIT", "-TSTP", "-HUP"] {
        assert!(
            Command::new("kill")
                .args([sig, &kiosk_pid])
                .status()
                .unwrap()
                .success()
        );
    }
    t.type_text("X");
    t.wait_for("demo0002X");
    assert!(
        Command::new("kill")
            .args(["-TERM", &kiosk_pid])
            .status()
            .unwrap()
            .success()
    );
    t.wait_for("kiosk exited with 0");
    let all = t.everything();
    assert!(
        !all.contains("demo0002") && !all.contains("Forgot your password?"),
        "{all}"
    );
    let bytes = std::fs::read(&log).unwrap();
    assert!(!bytes.windows(4).any(|w| w == b"\x1b]52"), "no OSC 52 ever");
}

#[test]
fn a_server_stopped_mid_journey_gives_the_unavailable_screen_until_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = seeded(dir.path());
    let server = Server::start(&data, port);
    let log = dir.path().join("out.bin");
    let t = kiosk(dir.path(), port, 600, &log);
    to_qr_code(&t);

    server.stop();
    let screen = t.wait_for("The service is unavailable at the moment.");
    assert!(screen.contains("please ask at the counter"), "{screen}");
    assert!(!screen.contains("Can't scan?"), "{screen}");

    let _server = Server::start(&data, port);
    t.wait_for("Can't scan?");
    assert!(t.pane_alive());
    assert!(!t.screen().contains("kiosk exited"));
}

/// A code of the authenticator app with `key`, `ahead` seconds from now (oathtool plays the
/// staff member's phone; a code is accepted once, and one step ahead is within the skew).
fn oathtool(key: &str, ahead: u64) -> String {
    let out = Command::new("oathtool")
        .args([
            "--totp",
            "--base32",
            key,
            "--now",
            &format!("now + {ahead} seconds"),
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run oathtool ({e}): run scripts/setup-debian --test"));
    assert!(out.status.success(), "oathtool failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An enrolled helpdesk account `suzuki` with password `Staff#pass-2026`; returns its app's key.
fn enrolled_staff(data: &Path, port: u16) -> String {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args([
            "admin",
            "staff",
            "add",
            "suzuki",
            "--role",
            "helpdesk",
            "--name",
            "鈴木 一郎",
        ])
        .output()
        .expect("tobira admin staff add");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Enrolment code: "))
        .unwrap_or_else(|| panic!("no enrolment code in:\n{text}"))
        .to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}/api/v1/staff");
        let started: serde_json::Value = http
            .post(format!("{base}/enrolment"))
            .json(&serde_json::json!({"login": "suzuki", "enrolment_code": code}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = started["token"].as_str().expect("token").to_owned();
        let key = started["totp"]["secret"].as_str().expect("key").to_owned();
        let finished = http
            .post(format!("{base}/enrolment/finish"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"password": "Staff#pass-2026", "code": oathtool(&key, 0)}))
            .send()
            .await
            .unwrap();
        assert!(
            finished.status().is_success(),
            "{:?}",
            finished.text().await
        );
        http.post(format!("{base}/sign-out"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        key
    })
}

#[test]
fn a_staff_member_ends_the_kiosk_with_password_and_authenticator_code() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = seeded(dir.path());
    let _server = Server::start(&data, port);
    let key = enrolled_staff(&data, port);
    let log = dir.path().join("out.bin");
    let t = kiosk(dir.path(), port, 600, &log);

    t.keys(&["F12", "F12", "F12"]);
    t.wait_for("Close this terminal (staff)");
    t.type_text("suzuki");
    t.keys(&["Enter"]);
    t.type_text("Staff#pass-2026");
    t.keys(&["Enter"]);
    t.type_text("000000");
    t.keys(&["Enter"]);
    t.wait_for("The login, password or one-time password is not correct.");
    assert!(t.pane_alive() && !t.screen().contains("kiosk exited"));

    // The password was wiped with the refusal: type it again, and a code the app shows.
    t.type_text("Staff#pass-2026");
    t.keys(&["Enter"]);
    t.type_text(&oathtool(&key, 30));
    t.keys(&["Enter"]);
    let screen = t.wait_for("kiosk exited with 0");
    assert!(!screen.contains("suzuki"), "{screen}");
    assert!(!t.everything().contains("Staff#pass-2026"));
}
