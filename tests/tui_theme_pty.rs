//! issue 12: the built binary in a pseudo-terminal (util-linux `script`) whose "terminal" is
//! this test: it answers the background query (OSC 11) as a light or a dark terminal would, or
//! not at all, and reads which palette the first frame is drawn in.
//!
//! ratatui's crossterm backend writes ANSI colours as `38;5;N` (joined with the background, as
//! in `ESC [38;5;4;49m`): titles are blue (`38;5;4`) in the light palette and cyan (`38;5;6`) in
//! the dark one; nothing else uses either as its foreground. Waiting polls the output with a
//! deadline (a failure guard, never a measurement).

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tobira");
const DEADLINE: Duration = Duration::from_secs(60);
const QUERY: &[u8] = b"\x1b]11;?";
const LIGHT_TITLE: &[u8] = b"\x1b[38;5;4;";
const DARK_TITLE: &[u8] = b"\x1b[38;5;6;";
/// The welcome screen's "It takes about 10 minutes." when the background is light or unknown.
const BLACK_ON_GREEN: &[u8] = b"\x1b[38;5;0;48;5;2m";
/// On the first screen's footer.
const FIRST_FRAME: &[u8] = b"Ctrl-C";

/// How the test's terminal answers OSC 11.
#[derive(Clone, Copy)]
enum Answer {
    White,
    Black,
    Nothing,
}

struct Run {
    child: Child,
    input: ChildStdin,
    output: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
    _data: tempfile::TempDir,
}

impl Run {
    /// `tobira --lang en ARGS` in an 80x24 pseudo-terminal, then `stty -a` once it has quit.
    fn start(args: &str, env: &[(&str, &str)], config: Option<&str>) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        if let Some(text) = config {
            std::fs::write(data.path().join("config.toml"), text).expect("config");
        }
        let mut cmd = Command::new("script");
        cmd.args([
            "-qfec",
            &format!("stty cols 80 rows 24; '{BIN}' --lang en {args}; stty -a"),
            "/dev/null",
        ])
        .env("TOBIRA_DATA_DIR", data.path())
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("TOBIRA_THEME")
        .env_remove("COLORFGBG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("cannot run script(1) from util-linux");
        let input = child.stdin.take().expect("stdin");
        let mut out = child.stdout.take().expect("stdout");
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            input,
            output,
            seen: Vec::new(),
            _data: data,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.input.write_all(bytes).expect("write to the terminal");
        self.input.flush().expect("flush");
    }

    /// Reads until `done(seen)`, answering the queries a terminal answers: the background as
    /// `answer` says (with the device attributes sent after it), the cursor position always.
    fn until(&mut self, answer: Answer, what: &str, done: impl Fn(&[u8]) -> bool) {
        let start = Instant::now();
        let (mut answered_bg, mut answered_cursor) = (false, false);
        while !done(&self.seen) {
            let left = DEADLINE.saturating_sub(start.elapsed());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.seen.extend_from_slice(&bytes),
                Err(_) => panic!(
                    "no {what} within {DEADLINE:?}; the terminal got:\n{}",
                    String::from_utf8_lossy(&self.seen)
                ),
            }
            if !answered_bg && contains(&self.seen, QUERY) {
                answered_bg = true;
                match answer {
                    Answer::White => self.send(b"\x1b]11;rgb:ffff/ffff/ffff\x1b\\\x1b[?62;22c"),
                    Answer::Black => self.send(b"\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[?62;22c"),
                    Answer::Nothing => {}
                }
            }
            if !answered_cursor && contains(&self.seen, b"\x1b[6n") {
                answered_cursor = true;
                self.send(b"\x1b[1;1R");
            }
        }
    }

    /// Runs to the first frame; returns what the terminal got up to it.
    fn first_frame(&mut self, answer: Answer) -> Vec<u8> {
        self.until(answer, "first frame", |s| contains(s, FIRST_FRAME));
        self.seen.clone()
    }

    /// Quits with Ctrl-C and returns what `stty -a` printed afterwards.
    fn quit(mut self) -> String {
        self.send(b"\x03");
        let start = Instant::now();
        loop {
            let left = DEADLINE.saturating_sub(start.elapsed());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.seen.extend_from_slice(&bytes),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("tobira did not quit on Ctrl-C within {DEADLINE:?}");
                }
            }
        }
        let _ = self.child.wait();
        let text = String::from_utf8_lossy(&self.seen).into_owned();
        let start = text.rfind("speed").expect("stty -a printed nothing");
        text[start..].to_owned()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `stty -a` shows a cooked terminal: line editing and echo on.
fn assert_cooked(stty: &str) {
    let words: Vec<&str> = stty.split([' ', ';', '\n', '\r']).collect();
    for flag in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(
            words.contains(&flag),
            "{flag} is off after quitting:\n{stty}"
        );
    }
}

#[test]
fn a_white_terminal_gets_the_light_palette() {
    let mut run = Run::start("", &[], None);
    let frame = run.first_frame(Answer::White);
    assert!(contains(&frame, LIGHT_TITLE), "no blue title");
    assert!(!contains(&frame, DARK_TITLE), "a cyan title on white");
    assert_cooked(&run.quit());
}

#[test]
fn a_black_terminal_gets_the_dark_palette() {
    let mut run = Run::start("", &[], None);
    let frame = run.first_frame(Answer::Black);
    assert!(contains(&frame, DARK_TITLE), "no cyan title");
    assert!(!contains(&frame, LIGHT_TITLE));
    assert_cooked(&run.quit());
}

/// A terminal that never answers (a pseudo-terminal nobody reads): the query gives up after
/// its timeout, the screens start in the colours for either background (titles in the
/// terminal's foreground, success black on green), and the terminal is cooked again at the
/// end (had the query left it raw, the screens would have restored "raw" on quitting).
#[test]
fn a_silent_terminal_does_not_hang_and_is_left_cooked() {
    let mut run = Run::start("", &[], None);
    let frame = run.first_frame(Answer::Nothing);
    assert!(contains(&frame, QUERY), "the background was not asked");
    assert!(!contains(&frame, DARK_TITLE), "a cyan title");
    assert!(!contains(&frame, LIGHT_TITLE), "a blue title");
    assert!(contains(&frame, BLACK_ON_GREEN), "no black-on-green note");
    assert_cooked(&run.quit());
}

/// `[tui] theme` is used without asking; `--theme` and `TOBIRA_THEME` win over it.
#[test]
fn the_config_and_the_option_choose_without_asking() {
    let light = Some("[tui]\ntheme = \"light\"\n");
    let mut run = Run::start("", &[], light);
    let frame = run.first_frame(Answer::Black);
    assert!(
        !contains(&frame, QUERY),
        "asked although the config says light"
    );
    assert!(contains(&frame, LIGHT_TITLE), "no blue title");
    run.quit();

    let mut run = Run::start("--theme dark", &[], light);
    let frame = run.first_frame(Answer::White);
    assert!(!contains(&frame, QUERY));
    assert!(
        contains(&frame, DARK_TITLE),
        "--theme dark lost to the config"
    );
    run.quit();

    let mut run = Run::start("", &[("TOBIRA_THEME", "auto")], light);
    let frame = run.first_frame(Answer::White);
    assert!(contains(&frame, QUERY), "TOBIRA_THEME=auto did not ask");
    assert!(contains(&frame, LIGHT_TITLE));
    run.quit();
}

/// `NO_COLOR` and `--no-color`: no query, no colour at all.
#[test]
fn no_color_asks_nothing_and_draws_no_colour() {
    for (args, env) in [
        ("", [("NO_COLOR", "1")]),
        ("--no-color", [("X_UNUSED", "")]),
    ] {
        let mut run = Run::start(args, &env, None);
        let frame = run.first_frame(Answer::White);
        assert!(!contains(&frame, QUERY), "{args}: asked");
        assert!(!contains(&frame, b"\x1b[38;5;"), "{args}: a colour");
        assert!(
            !contains(&frame, b"\x1b[48;5;"),
            "{args}: a background colour"
        );
        run.quit();
    }
}
