//! End to end: the built `tobira` binary in a real terminal (tmux), the first login and the
//! authenticator-app set-up typed key by key as a member at a demo terminal would, the screen
//! read back with `capture-pane`.
//!
//! tmux is installed by `scripts/setup-debian --test`; without it this test fails and says so.
//! Waiting polls the screen until the expected text appears, with a deadline: the test never
//! sleeps a fixed time to let something happen.

#[path = "common/tmux.rs"]
mod tmux;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tmux::Tmux;
use tobira::domain::Step;
use tobira::store::prelude::*;
use tobira::store::sqlite::SqliteStore;

/// How long any one screen may take to appear (a slow CI machine builds and runs in debug).
const DEADLINE: Duration = Duration::from_secs(30);

/// The code an authenticator app shows now for `key`, from Debian's oathtool (installed by
/// `scripts/setup-debian --test`).
fn oathtool(key: &str) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "--base32", key])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run oathtool ({e}): the test needs it — run scripts/setup-debian --test")
        });
    assert!(out.status.success(), "oathtool failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn the_first_login_typed_in_a_real_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let bin = Path::new(env!("CARGO_BIN_EXE_tobira"));
    // The shell line after tobira shows that it ended and gave the terminal back.
    let command = format!(
        "env -u NO_COLOR LANG=en_US.UTF-8 TOBIRA_DATA_DIR={} {}; echo \"tobira exited with $?\"; sleep 600",
        shell_quote(&data),
        shell_quote(bin)
    );
    let t = Tmux::start((80, 24), &command, DEADLINE);

    // 【1】 welcome, in English from LANG; F2 switches to Japanese and back.
    t.wait_for("It takes about 10 minutes.");
    t.keys(&["F2"]);
    t.wait_for("設定完了には10分程度かかります。");
    t.keys(&["F2"]);
    t.wait_for("It takes about 10 minutes.");
    t.keys(&["Enter"]);

    // 【2】 sign in with the initial password of the manual's example member.
    t.wait_for("Forgot your password?");
    t.type_text("DEMO0001");
    t.keys(&["Tab"]);
    t.type_text("12345678919801201");
    // All 17 characters arrived, masked (the manual's example below the form shows the digits).
    let screen = t.wait_for(&format!("Password  [{}", "*".repeat(17)));
    let field = screen
        .lines()
        .find(|l| l.contains("Password  ["))
        .unwrap_or_default();
    assert!(!field.contains("1234"), "the password is masked:\n{screen}");
    t.keys(&["Enter"]);

    // 【3】 date of birth.
    t.wait_for("Enter your date of birth");
    t.type_text("19801201");
    t.keys(&["Enter"]);

    // 【4】 terms: agree.
    t.wait_for("I agree");
    t.keys(&["Enter"]);

    // 【5】 the address on file.
    t.wait_for("demo0001@example.com");
    t.wait_for("Use this address");
    t.keys(&["Enter"]);

    // 【6】【7】 the mail is out; open it from the demo mailbox.
    t.wait_for("We sent a verification mail to demo0001@example.com");
    t.keys(&["F3"]);
    t.wait_for("Please confirm your email address");
    t.keys(&["Enter"]);
    t.wait_for("Your email address is confirmed.");
    t.keys(&["Escape"]);
    t.wait_for("Choose your authentication method");

    // 【8】 one-time password (app).
    t.keys(&["Down", "Enter"]);
    t.wait_for("Set a new password");

    // 【9】 a new password (twice) and a new user ID.
    t.type_text("Sakura#2026");
    t.keys(&["Enter"]);
    t.type_text("Sakura#2026");
    t.keys(&["Enter"]);
    t.type_text("taro2026");
    let screen = t.wait_for("[✓] Both passwords match");
    assert!(!screen.contains("Sakura#2026"), "masked:\n{screen}");
    t.keys(&["Enter"]);

    // 【10】【11】 done, signed out, and signed in again for stage 2.
    t.wait_for("Your first login is complete");
    t.wait_for("One-time password (app)");
    t.keys(&["Enter"]);
    t.wait_for("You are signed out");
    t.keys(&["Enter"]);
    t.wait_for("Forgot your password?");
    t.type_text("taro2026");
    t.keys(&["Tab"]);
    t.type_text("Sakura#2026");
    t.keys(&["Enter"]);

    // Stage 2: the authenticator app. "Can't scan?" shows the key; oathtool plays the phone.
    t.wait_for("Can't scan?");
    t.keys(&["Tab", "Enter"]);
    let screen = t.wait_for("Enter a setup key");
    let key: String = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("Key"))
        .unwrap_or_else(|| panic!("the key is shown:\n{screen}"))
        .split_whitespace()
        .collect();
    assert_eq!(key.len(), 32, "160 bits in base32:\n{screen}");
    let code = oathtool(&key);
    t.keys(&["Enter"]);
    t.wait_for("Device name");
    t.type_text(&code);
    t.keys(&["Enter"]);
    // The top screen, with the phone registered under the name filled in.
    t.wait_for("Welcome, ");
    t.wait_for("Phone  (One-time password (app))");
    t.keys(&["C-c"]);
    let screen = t.wait_for("tobira exited with 0");
    assert!(
        !screen.contains("Welcome, "),
        "the alternate screen is gone after quitting:\n{screen}"
    );

    // What was typed is what the server kept.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = SqliteStore::open(&data.join("tobira.db").to_string_lossy())
            .await
            .expect("open the database tobira left");
        let m = store
            .member_by_user_id("taro2026")
            .await
            .expect("query")
            .expect("the member has the new user ID");
        assert_eq!(
            (m.card.symbol.as_str(), m.card.number.as_str()),
            ("12", "3456789")
        );
        assert!(
            m.password_hash.is_some(),
            "the member's own password is set"
        );
        assert!(m.email_verified_at.is_some(), "the address was verified");
        assert_eq!(m.step, Step::Home, "stage 2 is done");
        let devices = store.totp_credentials(m.id).await.expect("devices");
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].name, "Phone");
        assert!(
            store
                .member_by_user_id("demo0001")
                .await
                .expect("query")
                .is_none()
        );
    });
    let log_dir = data.join("logs");
    let logs: String = std::fs::read_dir(&log_dir)
        .expect("the log directory")
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    assert!(!logs.is_empty(), "tobira logged to {}", log_dir.display());
    assert!(!logs.contains("Sakura#2026"), "no password in the logs");
    assert!(
        !logs.contains("12345678919801201"),
        "no password in the logs"
    );
}

/// Issue 6: the passkey set-up in the real binary, with the soft authenticator selected by
/// `--soft-authenticator` (a scripted run): the transport screen says why the USB key and
/// Bluetooth cannot be used here, the soft authenticator registers, the default name is kept,
/// and the top screen lists the passkey. The member starts at method set-up with passkeys
/// chosen (the first login itself is the test above).
#[test]
fn a_passkey_set_up_in_a_real_terminal_with_the_soft_authenticator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = SqliteStore::open(&data.join("tobira.db").to_string_lossy())
            .await
            .expect("open the database");
        let clock = tobira::server::SystemClock;
        use tobira::server::Clock;
        tobira::setup::seed_demo_roster(&store, clock.now(), clock.today())
            .await
            .expect("seed");
        let hash = tobira::server::HashingParams::default()
            .hash("Sakura#2026".to_owned())
            .await
            .expect("hash");
        sqlx::query(
            "UPDATE members SET step = 'method_setup', method = 'passkey', password_hash = ?, \
             email_verified_at = 1, terms_accepted_at = 1 WHERE user_id = 'demo0001'",
        )
        .bind(hash)
        .execute(store.pool())
        .await
        .expect("member at method set-up");
    });
    let bin = Path::new(env!("CARGO_BIN_EXE_tobira"));
    let soft = dir.path().join("soft-token.cbor");
    let command = format!(
        "env -u NO_COLOR LANG=en_US.UTF-8 TOBIRA_DATA_DIR={} {} --soft-authenticator {}; echo \"tobira exited with $?\"; sleep 600",
        shell_quote(&data),
        shell_quote(bin),
        shell_quote(&soft)
    );
    let t = Tmux::start((80, 24), &command, DEADLINE);
    t.wait_for("It takes about 10 minutes.");
    t.keys(&["Enter"]);
    t.wait_for("Forgot your password?");
    t.type_text("demo0001");
    t.keys(&["Tab"]);
    t.type_text("Sakura#2026");
    t.keys(&["Enter"]);

    // The transport choice: on this machine only the soft authenticator, the others with why.
    let screen = t.wait_for("Choose where to keep your passkey.");
    assert!(screen.contains("Soft test authenticator"), "{screen}");
    assert!(
        screen.contains("Not available on this terminal:"),
        "{screen}"
    );
    t.keys(&["Enter"]);
    t.wait_for("Passkey  [Test passkey");
    t.keys(&["Enter"]);
    t.wait_for("Welcome, ");
    t.wait_for("Test passkey  (");
    t.keys(&["C-c"]);
    t.wait_for("tobira exited with 0");
    assert!(std::fs::metadata(&soft).expect("the soft token file").len() > 0);

    rt.block_on(async {
        let store = SqliteStore::open(&data.join("tobira.db").to_string_lossy())
            .await
            .expect("open the database tobira left");
        let m = store
            .member_by_user_id("demo0001")
            .await
            .expect("query")
            .expect("the member");
        assert_eq!(m.step, Step::Home, "stage 2 is done");
        let keys = store.passkeys(m.id).await.expect("passkeys");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].name, "Test passkey");
    });
}
