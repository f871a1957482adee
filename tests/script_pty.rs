//! The `--pty` driver of `tobira script` on the real binary: the member welcome screen in an
//! 80x24 pseudo-terminal read through the terminal emulator, a resize redrawn at 120x40, the
//! sign-in screen reached by a key, and Ctrl-C leaving the terminal as it was found.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tobira::script::pty::{PtyCommand, PtySession};

const BIN: &str = env!("CARGO_BIN_EXE_tobira");
/// A bound on every wait (a failure guard, never a measurement).
const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn the_welcome_screen_through_a_pseudo_terminal() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = PtyCommand::new(BIN);
    cmd.args = vec!["--lang".to_owned(), "en".to_owned()];
    cmd.env.push((
        "TOBIRA_DATA_DIR".to_owned(),
        data.path().display().to_string(),
    ));
    cmd.env_remove = ["NO_COLOR", "TOBIRA_THEME", "COLORFGBG"]
        .map(str::to_owned)
        .to_vec();
    cmd.background = Some((255, 255, 255));
    let pty = PtySession::spawn(&cmd).expect("the binary starts");

    // A frame arrives in pieces: wait until its last row (the footer) is there too, so that the
    // screen read below is the whole frame, not the part written so far.
    pty.wait_until("the whole welcome screen", DEADLINE, |s| {
        s.contents().contains("Your first login, step by step")
            && s.contents_between(23, 0, 23, 80).contains("Ctrl-C quit")
    })
    .expect("the welcome screen");
    assert!(pty.alternate_screen(), "a full-screen UI");
    let text = pty.text();
    assert!(text.contains("It takes about 10 minutes."), "{text}");
    assert!(text.contains(">[ Start ]<"), "the focused button:\n{text}");
    // The footer is drawn on the last row of the 80x24 terminal.
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 24);
    assert!(rows[23].contains("Ctrl-C quit"), "{text}");

    // A larger terminal: the screen is drawn again on all 40 rows.
    pty.resize(120, 40).expect("resize");
    pty.wait_until("the footer on row 40", DEADLINE, |s| {
        s.contents_between(39, 0, 39, 120).contains("Ctrl-C quit")
    })
    .expect("the redraw at 120x40");
    assert_eq!(pty.size(), (120, 40));
    assert_eq!(pty.text().lines().count(), 40);

    // Start: the sign-in screen.
    pty.press(KeyCode::Enter).expect("Enter");
    pty.wait_for_text("Enter your user ID and password to sign in", DEADLINE)
        .expect("the sign-in screen");

    // Ctrl-C quits and gives the terminal back: the main screen, the cursor shown.
    pty.press_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
        .expect("Ctrl-C");
    let exit = pty.wait_exit(DEADLINE).expect("the binary ends");
    assert!(exit.success(), "{exit}");
    assert!(!pty.alternate_screen(), "left the alternate screen");
    assert!(!pty.cursor_hidden(), "the cursor is shown again");
    let exit = pty.stop();
    assert!(exit.success(), "{exit}");
}
