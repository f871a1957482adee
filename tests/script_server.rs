//! `tobira script --server URL --smtp-sink ADDR` against the real binary's `tobira serve`,
//! configured to send its mail to the runner's sink: a first login that needs the verification
//! mail, and a clock step refused with the scenario's file and line.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tobira");

/// A loopback port nothing listens on (now).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `tobira serve` on its own data directory with the demo roster, mailing to `smtp_port`;
/// killed on drop.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(data: &Path, smtp_port: u16) -> Self {
        std::fs::create_dir_all(data).unwrap();
        std::fs::write(
            data.join("config.toml"),
            format!(
                "[mail.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\ntimeout_secs = 10\n"
            ),
        )
        .unwrap();
        let roster = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/roster.csv");
        let import = Command::new(BIN)
            .arg("--data-dir")
            .arg(data)
            .args(["admin", "import"])
            .arg(&roster)
            .output()
            .expect("tobira admin import");
        assert!(
            import.status.success(),
            "{}",
            String::from_utf8_lossy(&import.stderr)
        );
        let port = free_port();
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
        Self {
            child,
            url: format!("http://localhost:{port}"),
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("script")
        .args(args)
        .current_dir(dir)
        .env("TOBIRA_DATA_DIR", dir.join("runner"))
        .output()
        .expect("run tobira script")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const FIRST_LOGIN: &str = r#"# The first login on a deployed server, up to the choice of method: the verification mail
# comes through the SMTP sink.
start lang=en
choose "Start"
fill "User ID" "demo0001"
fill "Password" "12345678919801201"
choose "Sign in"
expect step birth_date
type "19801201"
press Enter
choose "I agree"
choose "Use this address"
expect step awaiting_verification
mail wait demo0001@example.com timeout=20s
mail expect /demo0001@example.com|http/
mail open-link
choose "Refresh"
expect step choose_method
"#;

#[test]
fn a_scenario_runs_against_tobira_serve_with_mail_from_the_smtp_sink() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = free_port();
    let serve = Serve::start(&dir.path().join("server"), sink);
    std::fs::write(dir.path().join("first.tobira"), FIRST_LOGIN).unwrap();
    std::fs::write(
        dir.path().join("clock.tobira"),
        "start lang=en\nchoose \"Start\"\nclock advance 30s\n",
    )
    .unwrap();
    let sink_addr = format!("127.0.0.1:{sink}");
    let out = script(
        dir.path(),
        &[
            "--server",
            &serve.url,
            "--smtp-sink",
            &sink_addr,
            "first.tobira",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("1 passed, 0 failed"),
        "{}",
        text(&out.stdout)
    );

    // The deployed server's clock is not the runner's: the step is refused where it is written.
    let out = script(dir.path(), &["--server", &serve.url, "clock.tobira"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("clock.tobira:3: 'clock advance' needs the scenario's embedded server"),
        "{stdout}"
    );
}
