//! `tobira script` as a tester runs it: exit statuses, the reports it writes, and what a bad
//! scenario file says.

use std::path::Path;
use std::process::{Command, Output};

fn script(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tobira"))
        .arg("script")
        .args(args)
        .current_dir(dir)
        .env("TOBIRA_DATA_DIR", dir.join("data"))
        .output()
        .expect("run tobira script")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_file_that_does_not_parse_exits_2_with_file_line_column_and_runs_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("bad.tobira"),
        "start lang=en\nchoose Next\n",
    )
    .expect("write");
    let out = script(dir.path(), &["bad.tobira"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "tobira script: bad.tobira:2:8: expected the button's label in quotes after 'choose', found 'Next'\n"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn an_unknown_built_in_scenario_lists_the_built_in_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = script(dir.path(), &["--builtin", "no_such"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("tobira script: no built-in scenario 'no_such'; built-in: "),
        "{err}"
    );
    assert!(err.contains("first_login_app_ja"), "{err}");
}

#[test]
fn a_failing_scenario_exits_1_and_writes_junit_json_lines_and_masked_artifacts() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("fails.tobira"),
        "# Signs in with a wrong password and expects the next step.\nstart lang=en\nchoose \"Start\"\nfill \"User ID\" \"demo0001\"\nfill \"Password\" \"Secret#Pw-2026\"\nchoose \"Sign in\"\nexpect step birth_date timeout=300ms\n",
    )
    .expect("write");
    let out = script(
        dir.path(),
        &[
            "fails.tobira",
            "--builtin",
            "welcome_ja",
            "terms_declined_ja",
            "-j",
            "2",
            "--junit",
            "r.xml",
            "--json",
            "r.jsonl",
            "--artifacts",
            "art",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "fails.tobira:7: expected the screen 'birth_date', on 'sign_in' (not seen within 300ms)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 scenarios, 2 passed, 1 failed"),
        "{stdout}"
    );
    let junit = std::fs::read_to_string(dir.path().join("r.xml")).expect("junit");
    assert!(junit.contains("tests=\"3\" failures=\"1\""), "{junit}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("r.jsonl"))
        .expect("json")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["name"], "fails");
    assert_eq!(lines[0]["status"], "failed");
    assert_eq!(lines[0]["failure"]["line"], 7);
    assert_eq!(lines[1]["status"], "passed");
    let art = dir.path().join("art/fails");
    let cast = std::fs::read_to_string(art.join("recording.cast")).expect("recording");
    let header: serde_json::Value =
        serde_json::from_str(cast.lines().next().expect("header")).expect("json");
    assert_eq!(header["version"], 2);
    assert!(
        std::fs::read_to_string(art.join("failure.txt"))
            .expect("failure")
            .contains("Invalid user ID or password.")
    );
    assert!(art.join("frames.txt").exists());
    for f in ["recording.cast", "failure.txt", "frames.txt"] {
        let body = std::fs::read_to_string(art.join(f)).expect("artifact");
        assert!(
            !body.contains("Secret#Pw-2026"),
            "the password is masked in {f}"
        );
    }
    assert!(
        !dir.path().join("art/welcome_ja").exists(),
        "artifacts only for failures"
    );
}

#[test]
fn under_pty_the_real_binary_is_driven_through_a_terminal_emulator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/scripts/pty/first_login_to_method_en.tobira");
    let out = script(dir.path(), &["--pty", &scenario.display().to_string()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // A step that needs the headless runner says so.
    std::fs::write(
        dir.path().join("step.tobira"),
        "start lang=en\nexpect step welcome\n",
    )
    .expect("write");
    let out = script(dir.path(), &["--pty", "step.tobira"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("'expect step' needs the headless runner"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_failing_pty_run_records_the_real_output_timed_and_masked() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The password is shown on screen ("Show password"), so the real output carries it unless
    // the recording masks it.
    std::fs::write(
        dir.path().join("pty_fails.tobira"),
        "start lang=en\nchoose \"Start\"\nfill \"User ID\" \"demo0001\"\nfill \"Password\" \"Secret#Pw-2026\"\nchoose \"Show password\"\nexpect \"Secret\"\nexpect \"not on this screen\" timeout=300ms\n",
    )
    .expect("write");
    let out = script(
        dir.path(),
        &["--pty", "pty_fails.tobira", "--artifacts", "art"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("pty_fails.tobira:7:"),
        "{}",
        text(&out.stdout)
    );
    let cast = std::fs::read_to_string(dir.path().join("art/pty_fails/recording.cast"))
        .expect("recording");
    let mut lines = cast.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("header")).expect("json");
    assert_eq!(header["version"], 2);
    let events: Vec<serde_json::Value> = lines
        .map(|l| serde_json::from_str(l).expect("an event"))
        .collect();
    let output: String = events
        .iter()
        .map(|e| e[2].as_str().expect("output text"))
        .collect();
    // The program's own output: it enters the alternate screen (a headless recording never
    // does), and the times never go back.
    assert!(output.contains("\u{1b}[?1049h"), "{output}");
    assert!(output.contains("[ Hide password ]"), "{output}");
    let times: Vec<f64> = events
        .iter()
        .map(|e| e[0].as_f64().expect("time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(!cast.contains("Secret#Pw-2026"), "the password is masked");
    assert!(output.contains("**************"), "the password's stars");
}
