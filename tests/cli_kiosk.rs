//! `tobira kiosk --check` as an operator runs it: one line per finding, the exit status says
//! how bad; and the man page of the kiosk.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tobira");

fn check(env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["kiosk", "--check"])
        .env_remove("TMUX")
        .env_remove("STY")
        .env("TERM", "linux");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run tobira kiosk --check");
    (
        out.status.code().expect("an exit status"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn unsafe_findings_exit_2_with_one_line_each() {
    let (code, out) = check(&[
        ("TMUX", "/tmp/tmux-1000/default,1,0"),
        ("STY", "1.pts-0.host"),
    ]);
    assert_eq!(code, 2, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("unsafe: tmux: "), "{out}");
    assert!(lines[1].starts_with("unsafe: screen: "), "{out}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("unsafe: ") || l.starts_with("warning: "))
    );
}

#[test]
fn without_a_multiplexer_on_the_console_only_job_control_may_remain() {
    // The test harness is no shell; whether it put us in a process group of our own depends
    // on how the tests were started, so only that warning may be left.
    let (code, out) = check(&[]);
    match code {
        0 => assert_eq!(out.trim(), "kiosk self-check: no findings"),
        1 => assert!(
            out.lines().all(|l| l.starts_with("warning: job-control: ")),
            "{out}"
        ),
        other => panic!("exit {other}:\n{out}"),
    }
    let (code, out) = check(&[("TERM", "xterm-256color")]);
    assert!(code == 1, "{out}");
    assert!(out.contains("warning: scrollback: "), "{out}");
}

#[test]
fn the_man_page_describes_the_kiosk() {
    let man = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/tobira-kiosk.1"))
        .unwrap();
    for word in ["\\-\\-check", "\\-\\-allow\\-unsafe", "\\-\\-server", "F12"] {
        assert!(man.contains(word), "man page lacks {word}");
    }
}
