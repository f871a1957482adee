//! The staff session kept in a real Secret Service (GNOME Keyring in a private D-Bus session),
//! read back by another process, and the fallback when no D-Bus session answers.
//!
//! `dbus-run-session` (Debian `dbus`) and `gnome-keyring-daemon` (Debian `gnome-keyring`) are
//! installed by `scripts/setup-debian --test`; without them these tests fail and say so. The
//! `child_*` tests are run only by the parent tests, inside the private session, as separate
//! processes (that is what shows the session survives the process).

use std::path::Path;
use std::process::Command;

use tobira::client::staff_keyring::{KeptIn, KeptSession, StaffKeyring};
use zeroize::Zeroizing;

const SERVER: &str = "http://127.0.0.1:9/";
const NOW: i64 = 1_800_000_000;

fn session() -> KeptSession {
    KeptSession {
        login: "sato".into(),
        token: Zeroizing::new("stf_kept_by_the_keyring".into()),
        expires_at: NOW + 8 * 3600,
    }
}

fn need(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: the keyring tests need it — run scripts/setup-debian --test"
    );
}

/// Runs `children` (names of the ignored child tests, one process each, in order) inside a
/// private D-Bus session with an unlocked GNOME Keyring whose files live in `dir`.
fn in_private_keyring(dir: &Path, children: &[&str]) -> std::process::Output {
    need("dbus-run-session");
    need("gnome-keyring-daemon");
    let exe = std::env::current_exe().expect("test binary path");
    let runs: Vec<String> = children
        .iter()
        .map(|c| format!("\"$0\" --ignored --exact {c} --test-threads=1"))
        .collect();
    let script = format!(
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 90\n{}",
        runs.join(" && ")
    );
    Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .arg(exe)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .expect("run dbus-run-session")
}

fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["data", "run", "cache"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .expect("chmod");
    }
    dir
}

fn show(out: &std::process::Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_session_saved_by_one_process_is_loaded_by_the_next_and_forgotten() {
    let dir = private_dir();
    let out = in_private_keyring(dir.path(), &["child_save", "child_load", "child_forget"]);
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for child in ["child_save", "child_load", "child_forget"] {
        assert!(
            stdout.contains(&format!("test {child} ... ok")),
            "{child} did not run: {}",
            show(&out)
        );
    }
    // The keyring's files hold the session encrypted: the token is not in them in the clear.
    for entry in walk(&dir.path().join("data")) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !bytes
                .windows(b"stf_kept_by_the_keyring".len())
                .any(|w| w == b"stf_kept_by_the_keyring"),
            "token in the clear in {}",
            entry.display()
        );
    }
}

#[test]
fn without_a_secret_service_the_session_is_kept_less_durably_and_says_why() {
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new(exe)
        .args(["--ignored", "--exact", "child_no_dbus", "--test-threads=1"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/tobira-test-bus",
        )
        .env_remove("DISPLAY")
        .output()
        .expect("run child");
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("test child_no_dbus ... ok"),
        "{}",
        show(&out)
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
#[ignore = "run by a_session_saved_by_one_process_is_loaded_by_the_next_and_forgotten inside a private D-Bus session"]
fn child_save() {
    let opened = StaffKeyring::open(SERVER);
    assert_eq!(
        opened.keyring.kept_in(),
        KeptIn::SecretService,
        "{:?}",
        opened.fallback_reason
    );
    assert_eq!(opened.keyring.load(NOW).expect("load"), None);
    opened.keyring.save(&session()).expect("save");
}

#[test]
#[ignore = "run by a_session_saved_by_one_process_is_loaded_by_the_next_and_forgotten inside a private D-Bus session"]
fn child_load() {
    let opened = StaffKeyring::open(SERVER);
    assert_eq!(opened.keyring.kept_in(), KeptIn::SecretService);
    assert_eq!(opened.keyring.load(NOW).expect("load"), Some(session()));
    // Another server's entry is separate.
    let other = StaffKeyring::open("http://127.0.0.1:10/");
    assert_eq!(other.keyring.load(NOW).expect("load"), None);
    // After its absolute expiry it is gone for good.
    assert_eq!(
        opened
            .keyring
            .load(session().expires_at)
            .expect("load after expiry"),
        None
    );
    opened.keyring.save(&session()).expect("save again");
}

#[test]
#[ignore = "run by a_session_saved_by_one_process_is_loaded_by_the_next_and_forgotten inside a private D-Bus session"]
fn child_forget() {
    let opened = StaffKeyring::open(SERVER);
    assert_eq!(opened.keyring.load(NOW).expect("load"), Some(session()));
    opened.keyring.forget().expect("forget");
    let again = StaffKeyring::open(SERVER);
    assert_eq!(again.keyring.load(NOW).expect("load"), None);
}

#[test]
#[ignore = "run by without_a_secret_service_the_session_is_kept_less_durably_and_says_why"]
fn child_no_dbus() {
    let opened = StaffKeyring::open(SERVER);
    assert_ne!(opened.keyring.kept_in(), KeptIn::SecretService);
    let why = opened.fallback_reason.expect("a reason");
    assert!(why.contains("SecretService"), "{why}");
    // Wherever it is kept, it works within this process and is forgotten on request.
    opened.keyring.save(&session()).expect("save");
    assert_eq!(opened.keyring.load(NOW).expect("load"), Some(session()));
    opened.keyring.forget().expect("forget");
}
