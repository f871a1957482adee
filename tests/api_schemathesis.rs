//! The OpenAPI description against the running server, by a schema-driven fuzzer: `tobira serve`
//! (the real binary, the demo roster, a free port) and schemathesis 4.x with its stateful phase,
//! signed in as a member (a flow token, fetched again whenever a flow ends) and as a staff admin,
//! so that it reaches the routes behind sign-in. Any server error, answer outside the
//! description, schema-valid request refused for its shape or schema-invalid request accepted
//! fails the test with schemathesis' report.
//!
//! schemathesis is installed by `scripts/setup-debian --test` (a venv in /opt/tobira-venv, or
//! `$TOBIRA_VENV`); `TOBIRA_SCHEMATHESIS` names another executable. Without it the test fails, it never skips.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use tobira::domain::{TotpParams, TotpSecret};

const BIN: &str = env!("CARGO_BIN_EXE_tobira");
/// Deterministic: the same seed, examples per operation and one worker every run.
const SEED: &str = "20261206";
const MAX_EXAMPLES: &str = "20";
/// A demo member at the start of the first login (symbol 12, number 3458815, born 1970-03-13).
const MEMBER: (&str, &str) = ("demo0002", "12345881519700313");
const STAFF_LOGIN: &str = "fuzzadmin";
const STAFF_PASSWORD: &str = "Fuzz-admin-pass1";

/// The overrides for the run: lockouts would turn the fuzzer's wrong guesses into delays and
/// holds that end its sessions; the checks stay as they are. Cheap hashing keeps it quick.
const CONFIG: &str = r#"
[lockout.account]
free_failures = 1000000
base_delay_secs = 1
max_delay_secs = 1
lock_after = 0

[lockout.address]
free_failures = 1000000
base_delay_secs = 1
max_delay_secs = 1
lock_after = 0

[password_hashing]
memory_kib = 64
iterations = 1
parallelism = 1
"#;

fn schemathesis() -> PathBuf {
    let candidates = std::env::var_os("TOBIRA_SCHEMATHESIS")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::var_os("TOBIRA_VENV").map(|v| PathBuf::from(v).join("bin/schemathesis")))
        .chain([PathBuf::from("/opt/tobira-venv/bin/schemathesis")]);
    for c in candidates {
        if c.is_file() {
            return c;
        }
    }
    match Command::new("schemathesis").arg("--version").output() {
        Ok(o) if o.status.success() => PathBuf::from("schemathesis"),
        _ => panic!(
            "schemathesis is not installed: run `scripts/setup-debian --test` (it installs \
             schemathesis 4.x into /opt/tobira-venv) or set TOBIRA_SCHEMATHESIS to its executable"
        ),
    }
}

fn tobira(data: &Path, config: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run tobira");
    assert!(
        out.status.success(),
        "tobira {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `tobira serve`, stopped when dropped; its output is kept for the failure message.
struct Server {
    child: Child,
    log: Arc<Mutex<String>>,
    base: String,
}

impl Server {
    fn start(data: &Path, config: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(data)
            .arg("--config")
            .arg(config)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tobira serve");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        // Drains the server's output for the whole run (a full pipe would stall it) and says
        // when it listens.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = ready_tx.send(());
                }
                let mut l = sink.lock().unwrap_or_else(|e| e.into_inner());
                l.push_str(&line);
                l.push('\n');
            }
        });
        if ready_rx.recv().is_err() {
            let _ = child.wait();
            panic!(
                "tobira serve exited before listening:\n{}",
                log.lock().unwrap_or_else(|e| e.into_inner())
            );
        }
        Self {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(
    base: &str,
    path: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> serde_json::Value {
    let req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body);
    let req = match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    };
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Enrols the staff account `tobira admin staff add` created, as the staff member's app would.
async fn staff_token(base: &str, enrolment_code: &str) -> String {
    let started = post(
        base,
        "/api/v1/staff/enrolment",
        None,
        serde_json::json!({"login": STAFF_LOGIN, "enrolment_code": enrolment_code}),
    )
    .await;
    let token = started["token"].as_str().expect("token").to_owned();
    let secret = TotpSecret::from_base32(started["totp"]["secret"].as_str().expect("secret"))
        .expect("a base32 secret");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let code = TotpParams::default().code_at(&secret, now).expect("code");
    post(
        base,
        "/api/v1/staff/enrolment/finish",
        Some(&token),
        serde_json::json!({"password": STAFF_PASSWORD, "code": code}),
    )
    .await;
    token
}

fn schemathesis_config(dir: &Path) -> PathBuf {
    let (user, password) = MEMBER;
    let text = format!(
        r#"
[auth.openapi.staff]
bearer = "${{TOBIRA_STAFF_TOKEN}}"

# A member's flow token, fetched again whenever a flow has ended (sign-out, a new password).
[auth.dynamic.openapi.flow]
path = "/api/v1/sign-in"
method = "post"
payload = {{ user_id = "{user}", password = "{password}" }}
extract_selector = "/token"

# 422 also answers well-formed requests that are wrong (a date of birth that is not the
# member's, a wrong code): the hook check `tobira_shape_errors_only_for_invalid_data` fails
# a schema-valid request refused for its shape.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
"#
    );
    let path = dir.join("schemathesis.toml");
    std::fs::write(&path, text).expect("write schemathesis.toml");
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_against_tobira_serve() {
    let st = schemathesis();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, CONFIG).expect("write config");
    let roster = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/roster.csv");
    tobira(
        &data,
        &config,
        &["admin", "import", roster.to_str().expect("path")],
    );
    let added = tobira(
        &data,
        &config,
        &["admin", "staff", "add", STAFF_LOGIN, "--role", "admin"],
    );
    let enrolment_code = added
        .lines()
        .find_map(|l| l.strip_prefix("Enrolment code: "))
        .unwrap_or_else(|| panic!("no enrolment code in {added}"))
        .trim()
        .to_owned();

    let server = Server::start(&data, &config);
    let base = server.base.clone();
    // The binary must serve this tree's description (a target dir shared with another
    // worktree can hold another build of `tobira`).
    let doc: serde_json::Value = reqwest::get(format!("{base}/api/v1/openapi.json"))
        .await
        .expect("openapi.json")
        .json()
        .await
        .expect("openapi.json is JSON");
    let birth = &doc["components"]["schemas"]["BirthDateRequest"]["properties"]["birth_date"];
    assert!(
        birth["pattern"].is_string(),
        "{BIN} serves a description without the declared constraints: is it this tree's build?"
    );
    let staff = staff_token(&base, &enrolment_code).await;

    let st_config = schemathesis_config(dir.path());
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&st)
            .arg("--config-file")
            .arg(&st_config)
            .args([
                "run",
                &format!("{base}/api/v1/openapi.json"),
                "--url",
                &base,
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--seed",
                SEED,
                "--max-examples",
                MAX_EXAMPLES,
                "--workers",
                "1",
                "--generation-database",
                "none",
                "--no-color",
                // A generation health check, not a finding: the link pages' form posts
                // (`/verify/{token}`) filter out most generated bodies.
                "--suppress-health-check",
                "filter_too_much",
                // Ends the staff session the run signs in with; the staff API tests cover it.
                "--exclude-path",
                "/api/v1/staff/sign-out",
            ])
            .env("TOBIRA_STAFF_TOKEN", staff)
            .env("SCHEMATHESIS_HOOKS", "tobira_hooks")
            .env("PYTHONPATH", hooks)
            .current_dir(dir.path())
            .output()
            .expect("run schemathesis")
    })
    .await
    .expect("schemathesis thread");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The summary goes to the test's output either way (`--nocapture` shows it).
    let summary = report
        .find("=== SUMMARY")
        .map_or(report.as_str(), |i| &report[i..]);
    println!("{summary}");
    assert!(
        out.status.success(),
        "schemathesis found problems ({:?}):\n{report}\n--- server log (tail) ---\n{}",
        out.status,
        tail(&server.log(), 60)
    );
    assert!(
        report.contains("Stateful") && report.contains("generated"),
        "schemathesis did not run its phases:\n{report}"
    );
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
