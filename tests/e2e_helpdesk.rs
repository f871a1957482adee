//! End to end, two terminals: the built `tobira` binary as a member (`tobira --server`) and as
//! helpdesk staff (`tobira helpdesk --server`) in two tmux servers, both on one `tobira serve`.
//! The staff account is made with `tobira admin staff add` and enrolled with the printed code
//! and a code from oathtool (the staff member's phone). Then: the member locks themselves out
//! → the staff member finds them, watches the failures arrive live, verifies the caller with
//! an app code and unlocks → the member signs in; and a lost phone → a new staff session
//! verifies by knowledge (not enough to remove a device) then a mailed code, removes the app →
//! the member sets up a new app at the next sign-in.
//!
//! tmux and oathtool are installed by `scripts/setup-debian --test`; without them this test
//! fails and says so. Waiting polls the panes for text with a deadline, never a fixed sleep.

#[path = "common/tmux.rs"]
mod tmux;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tmux::Tmux;
use tobira::domain::Step;
use tobira::store::prelude::*;
use tobira::store::sqlite::SqliteStore;

/// How long any one screen may take to appear (debug build, argon2 on 2 busy cores).
const DEADLINE: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_tobira");
const SIZE: (u16, u16) = (100, 30);
const PASSWORD: &str = "Sakura#2026";
const STAFF_PASSWORD: &str = "Kiri-no-mori#7";

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// An authenticator app (oathtool plays the phone) that never shows a step twice: the server
/// accepts each step once and burns steps seen ahead, so each code is for a later step than the
/// last, within the one step of skew the server allows (waiting for the clock when needed).
struct Phone {
    key: String,
    last: Option<u64>,
}

impl Phone {
    fn new(key: String) -> Self {
        Self { key, last: None }
    }

    fn code(&mut self) -> String {
        let start = Instant::now();
        let step = loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                / 30;
            let want = self
                .last
                .map_or(now, |l| (l + 1).max(now.saturating_sub(1)));
            if want <= now + 1 {
                break want;
            }
            assert!(start.elapsed() < DEADLINE, "the clock does not move");
            std::thread::sleep(Duration::from_millis(200));
        };
        self.last = Some(step);
        let at = format!("@{}", step * 30 + 1);
        let out = Command::new("oathtool")
            .args(["--totp", "--base32", &self.key, "-N", &at])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run oathtool ({e}): the test needs it — run scripts/setup-debian --test"
                )
            });
        assert!(out.status.success(), "oathtool failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// Waits until the screen shows one of `texts`; returns the screen.
fn wait_any(t: &Tmux, texts: &[&str]) -> String {
    let start = Instant::now();
    loop {
        let screen = t.screen();
        if texts.iter().any(|x| screen.contains(x)) {
            return screen;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "waited for one of {texts:?}; the screen shows:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
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
        std::thread::spawn(move || lines.for_each(drop));
        Self { child }
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

/// The demo roster; demo0001 has done the first login (password [`PASSWORD`], address
/// verified) and sets up the authenticator app at the next sign-in. Accounts are held after
/// three failures until the helpdesk lifts it.
fn seeded(dir: &Path) -> PathBuf {
    let data = dir.join("server");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("config.toml"),
        "[lockout.account]\nfree_failures = 5\nbase_delay_secs = 2\nmax_delay_secs = 300\nlock_after = 3\n\
         decay_secs = 0\n\n[lockout.address]\nfree_failures = 10\nbase_delay_secs = 1\n\
         max_delay_secs = 60\nlock_after = 0\ndecay_secs = 60\n",
    )
    .unwrap();
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
            .hash(PASSWORD.to_owned())
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

/// A terminal running `args` of tobira (English, no keyring service, its own data directory).
fn terminal(dir: &Path, name: &str, args: &str) -> Tmux {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    let command = format!(
        "env -u NO_COLOR -u DBUS_SESSION_BUS_ADDRESS LANG=en_US.UTF-8 TOBIRA_DATA_DIR={} {} {args}; echo \"tobira exited with $?\"; sleep 600",
        quote(&data),
        quote(Path::new(BIN)),
    );
    Tmux::start(SIZE, &command, DEADLINE)
}

/// The key shown after "Can't scan?" (the line after `label`), spaces removed.
fn key_after(screen: &str, label: &str) -> String {
    let mut lines = screen.lines();
    lines
        .by_ref()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("{label:?} on the screen:\n{screen}"));
    let line = lines.next().unwrap_or_default().trim();
    let key: String = line
        .strip_prefix("Key")
        .unwrap_or(line)
        .split_whitespace()
        .collect();
    assert!(
        key.len() >= 26 && key.bytes().all(|b| b.is_ascii_alphanumeric()),
        "a base32 key after {label:?}:\n{screen}"
    );
    key
}

/// The member sets up the authenticator app (at method set-up) with the key the screen shows,
/// keeping the default device name; returns the phone.
fn member_sets_up_an_app(m: &Tmux) -> Phone {
    m.wait_for("Can't scan?");
    m.keys(&["Tab", "Enter"]);
    let screen = m.wait_for("Enter a setup key");
    let key: String = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("Key"))
        .unwrap_or_else(|| panic!("the key is shown:\n{screen}"))
        .split_whitespace()
        .collect();
    let mut phone = Phone::new(key);
    m.keys(&["Enter"]);
    m.wait_for("Device name");
    m.type_text(&phone.code());
    m.keys(&["Enter"]);
    m.wait_for("Welcome, ");
    m.wait_for("Phone  (One-time password (app))");
    phone
}

/// Types the user ID and `password` into the member's sign-in form and sends it, whichever
/// of the two inputs has the focus (an answer may move it) and whatever they hold.
fn member_signs_in(m: &Tmux, password: &str) {
    let screen = m.wait_for("Forgot your password?");
    if screen.contains(">Password") {
        m.keys(&["BTab"]);
    }
    m.keys(&["BSpace"; 20]);
    m.type_text("demo0001");
    m.keys(&["Tab"]);
    m.keys(&["BSpace"; 20]);
    m.type_text(password);
    m.keys(&["Enter"]);
}

/// Waits until the newest outbox mail to demo0001 holds a 6-digit code other than `not`.
fn mailed_code(outbox: &Path, not: Option<&str>) -> String {
    let start = Instant::now();
    loop {
        let mails = tobira::mail::outbox::read_outbox(outbox).unwrap_or_default();
        let code = mails
            .iter()
            .rev()
            .filter(|m| m.to.contains("demo0001@example.com"))
            .flat_map(|m| m.text.lines().map(str::trim))
            .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned);
        if let Some(c) = code
            && Some(c.as_str()) != not
        {
            return c;
        }
        assert!(start.elapsed() < DEADLINE, "no code mailed: {mails:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_locked_out_member_and_a_lost_phone_helped_from_the_console() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = seeded(dir.path());
    let port = free_port();
    let _server = Server::start(&data, port);
    let server = format!("--server http://localhost:{port}");

    // The member's first phone, set up at the member's terminal.
    let m = terminal(dir.path(), "member", &server);
    m.wait_for("It takes about 10 minutes.");
    m.keys(&["Enter"]);
    m.wait_for("Forgot your password?");
    m.type_text("demo0001");
    m.keys(&["Tab"]);
    m.type_text(PASSWORD);
    m.keys(&["Enter"]);
    let mut phone = member_sets_up_an_app(&m);
    m.keys(&["C-c"]);
    m.wait_for("tobira exited with 0");
    drop(m);

    // The staff account, added at the server and enrolled in the console.
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args([
            "admin",
            "staff",
            "add",
            "sato",
            "--role",
            "helpdesk",
            "--name",
            "Sato Ichiro",
        ])
        .output()
        .expect("tobira admin staff add");
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let enrol_code = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("Enrolment code:"))
        .unwrap_or_else(|| panic!("an enrolment code in:\n{printed}"))
        .trim()
        .to_owned();
    let s = terminal(dir.path(), "staff", &format!("helpdesk {server}"));
    s.wait_for("Sign in with your staff login");
    s.keys(&["Tab", "Tab", "Tab", "Enter"]);
    s.wait_for("Enrol with the code from your administrator");
    s.type_text("sato");
    s.keys(&["Tab"]);
    s.type_text(&enrol_code);
    s.keys(&["Enter"]);
    // The QR code (over the whole terminal or below the title); Tab, Enter: the key.
    wait_any(&s, &["Tab, Enter", "Can't scan?"]);
    s.keys(&["Tab", "Enter"]);
    let screen = s.wait_for("Type this key into the app");
    let mut staff_phone = Phone::new(key_after(&screen, "Type this key into the app"));
    s.keys(&["BTab", "Enter"]);
    s.wait_for("Choose your password and confirm the app");
    s.type_text(STAFF_PASSWORD);
    s.keys(&["Enter"]);
    s.type_text(STAFF_PASSWORD);
    s.keys(&["Enter"]);
    s.type_text(&staff_phone.code());
    s.keys(&["Enter"]);
    s.wait_for("Find the caller");
    s.wait_for("Staff: Sato Ichiro (helpdesk)");

    // The staff member finds the caller and opens the case.
    s.type_text("demo0001");
    s.wait_for("Up/Down choose, Enter opens.");
    s.keys(&["Enter"]);
    s.wait_for("Sign-in: no failures");

    // The member locks themselves out; the console follows each failure live.
    let m = terminal(dir.path(), "member", &server);
    m.wait_for("It takes about 10 minutes.");
    m.keys(&["Enter"]);
    for n in 1..=3 {
        member_signs_in(&m, "Wrong-passw0rd");
        s.wait_for(&if n == 1 {
            "Sign-in: 1 failure".to_owned()
        } else {
            format!("Sign-in: {n} failures")
        });
    }
    s.wait_for("held until the helpdesk lifts it");
    // Held: the right password gets no further.
    member_signs_in(&m, PASSWORD);
    m.wait_for("Please call the helpdesk");

    // Verified with a code from the member's app, then unlocked.
    s.keys(&["Enter"]);
    s.wait_for("How does the caller prove it is them?");
    s.keys(&["Enter"]);
    s.wait_for("Ask the caller to read the code their authenticator app shows now.");
    s.type_text(&phone.code());
    s.keys(&["Enter"]);
    s.wait_for("Caller verified.");
    s.wait_for("Verified: App code");
    s.keys(&["Tab", "Enter"]);
    s.wait_for("Clears the failures that delay or hold the member's sign-ins.");
    s.type_text("locked out, verified by app code");
    s.keys(&["Enter"]);
    s.wait_for("Done. The member was notified.");
    s.wait_for("Sign-in: no failures");

    // The member signs in: password, then the app's next code (the current one was read out).
    member_signs_in(&m, PASSWORD);
    m.wait_for("Enter the 6-digit one-time password shown in your authenticator app");
    m.type_text(&phone.code());
    m.keys(&["Enter"]);
    m.wait_for("Welcome, ");
    m.keys(&["C-c"]);
    m.wait_for("tobira exited with 0");
    drop(m);

    // The phone is lost. A new staff session: knowledge alone does not unlock the removal.
    s.keys(&["Escape"]);
    s.wait_for("Find the caller");
    s.keys(&["Tab", "Tab", "Enter"]);
    s.wait_for("Signed out. The kept session was removed.");
    s.type_text("sato");
    s.keys(&["Tab"]);
    s.type_text(STAFF_PASSWORD);
    s.keys(&["Enter"]);
    s.wait_for("Enter the 6-digit code your authenticator app shows for tobira staff.");
    s.type_text(&staff_phone.code());
    s.keys(&["Enter"]);
    s.wait_for("Find the caller");
    s.type_text("demo0001");
    s.wait_for("Up/Down choose, Enter opens.");
    s.keys(&["Enter"]);
    s.wait_for("Caller not verified");
    s.keys(&["Enter"]);
    s.wait_for("How does the caller prove it is them?");
    s.keys(&["Tab", "Tab", "Tab", "Enter"]);
    s.wait_for("Ask for the date of birth (YYYYMMDD)");
    s.type_text("19801201");
    s.keys(&["Enter"]);
    s.type_text("3456789");
    s.keys(&["Enter"]);
    s.wait_for("Verified: Birth date + card");
    s.wait_for("date of birth and card number unlock only Unlock and Resend");
    // A removal needs possession: a code mailed to the verified address, read back.
    s.keys(&["Enter"]);
    s.wait_for("How does the caller prove it is them?");
    s.keys(&["Tab", "Enter"]);
    s.wait_for("A 6-digit code goes to the member's verified address.");
    s.keys(&["Enter"]);
    s.wait_for("Ask the caller to read it back.");
    let code = mailed_code(&data.join("outbox"), None);
    s.type_text(&code);
    s.keys(&["Enter"]);
    s.wait_for("Verified: Mail a code");
    s.keys(&["Tab", "Tab", "Tab", "Tab", "Enter"]);
    s.wait_for("Removes Authenticator app \"Phone\"");
    s.type_text("lost phone, verified by mailed code");
    s.keys(&["Enter"]);
    s.wait_for("Done. The member was notified.");
    s.wait_for("  none");

    // The member signs in with the password and sets up the new phone.
    let m = terminal(dir.path(), "member", &server);
    m.wait_for("It takes about 10 minutes.");
    m.keys(&["Enter"]);
    member_signs_in(&m, PASSWORD);
    let new_phone = member_sets_up_an_app(&m);
    assert_ne!(new_phone.key, phone.key, "a new key for the new phone");
    s.wait_for("Authenticator app \"Phone\"");

    // What the server kept: one app, the new one; both actions audited as sato.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = SqliteStore::open(&data.join("tobira.db").to_string_lossy())
            .await
            .expect("open the database");
        let member = store.member_by_user_id("demo0001").await.unwrap().unwrap();
        assert_eq!(member.step, Step::Home);
        let apps = store.totp_credentials(member.id).await.unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].name, "Phone");
        let log = store.audit_log(Some(member.id), 200).await.unwrap();
        for action in ["helpdesk.unlock", "helpdesk.remove_factor"] {
            let e = log
                .iter()
                .find(|e| e.action == action)
                .unwrap_or_else(|| panic!("{action} audited: {log:?}"));
            assert!(e.actor.starts_with("staff:"), "{e:?}");
        }
    });
}
