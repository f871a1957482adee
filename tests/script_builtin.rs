//! The built-in acceptance suite (`tobira script --builtin all`) runs green, and a broken
//! scenario fails with where and why: the runner as the project's own test suite uses it.

use std::path::PathBuf;

use tobira::script::builtin;
use tobira::script::parse::parse;
use tobira::script::run::{Base, RunOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_suite_passes() {
    assert!(
        builtin::SCENARIOS.len() >= 20,
        "{} scenarios",
        builtin::SCENARIOS.len()
    );
    let scenarios: Vec<_> = builtin::SCENARIOS
        .iter()
        .map(|(name, text)| {
            let sc =
                parse(&format!("builtin:{name}"), name, text).expect("a built-in scenario parses");
            (sc, Base::Builtin { dir: None })
        })
        .collect();
    let outcomes = tobira::script::run_all(&scenarios, &RunOptions::default(), 2, 0, |_| {}).await;
    let failures: Vec<String> = outcomes.iter().filter_map(|o| o.failure_text()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn scenario(text: &str) -> tobira::script::parse::Scenario {
    parse("t.tobira", "t", text).expect("parses")
}

#[tokio::test]
async fn a_failing_step_reports_its_line_the_screen_and_the_labels_there_are() {
    let sc = scenario(
        "start lang=en\nchoose \"Start\"\nfill \"User ID\" \"demo0001\"\nchoose \"Sigm in\"\n",
    );
    let o = run(&sc, &Base::Dir(PathBuf::from(".")), &RunOptions::default()).await;
    let f = o.failure.as_ref().expect("fails");
    assert_eq!(f.line, 4);
    assert_eq!(
        f.message,
        "no button 'Sigm in'; buttons: Sign in, Show password, Forgot your user ID?, Forgot your password?"
    );
    assert_eq!(f.screen_name.as_deref(), Some("sign_in"));
    assert!(
        f.screen.as_deref().unwrap_or("").contains("demo0001"),
        "{f:?}"
    );
    assert!(!f.frames.is_empty());
    // The asciicast recording starts with its header and has a frame per change.
    let cast = o.recording.asciicast("t");
    assert!(cast.lines().count() >= 3, "{cast}");
}

#[tokio::test]
async fn an_expectation_that_never_comes_fails_after_its_timeout_and_secrets_are_masked() {
    let sc = scenario(
        "start lang=en\nchoose \"Start\"\nfill \"User ID\" \"demo0001\"\nfill \"Password\" \"12345678919801202\"\nexpect \"Welcome, \" timeout=200ms\n",
    );
    let o = run(&sc, &Base::Dir(PathBuf::from(".")), &RunOptions::default()).await;
    let f = o.failure.as_ref().expect("fails");
    assert_eq!(f.line, 5);
    assert_eq!(
        f.message,
        "\"Welcome, \" not on screen (not seen within 200ms)"
    );
    let all = format!(
        "{}{}{}",
        f.screen.as_deref().unwrap_or(""),
        f.frames.join(""),
        o.recording.asciicast("t")
    );
    assert!(
        !all.contains("12345678919801202"),
        "the password typed is masked"
    );
}

#[tokio::test]
async fn a_snapshot_without_its_golden_file_fails_and_update_writes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sc = scenario("start lang=en\nsnapshot \"first\"\n");
    let base = Base::Dir(dir.path().to_owned());
    let o = run(&sc, &base, &RunOptions::default()).await;
    assert!(
        o.failure
            .as_ref()
            .expect("fails")
            .message
            .starts_with("no golden file"),
        "{:?}",
        o.failure
    );
    let update = RunOptions {
        update_snapshots: true,
        ..RunOptions::default()
    };
    let o = run(&sc, &base, &update).await;
    assert!(o.passed(), "{:?}", o.failure);
    let golden = dir.path().join("snapshots/t__first.txt");
    assert!(
        std::fs::read_to_string(&golden)
            .expect("written")
            .contains("Your first login, step by step")
    );
    assert!(run(&sc, &base, &RunOptions::default()).await.passed());
    std::fs::write(&golden, "|something else|\n").expect("write");
    let o = run(&sc, &base, &RunOptions::default()).await;
    assert!(
        o.failure
            .as_ref()
            .expect("fails")
            .message
            .contains("differs from the golden file"),
        "{:?}",
        o.failure
    );
}
