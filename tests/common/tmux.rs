//! A tmux server of the test's own (its own socket, so a user's sessions are never touched)
//! running the real binary in one window: keys in, the screen out. tmux is installed by
//! `scripts/setup-debian --test`; without it the tests fail and say so.

#![allow(dead_code)] // each test file uses what it needs

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The name of the one session (and window) each server runs.
pub const SESSION: &str = "t";

/// One tmux server running one command.
pub struct Tmux {
    socket: String,
    /// How long any one screen may take to appear.
    deadline: Duration,
}

impl Tmux {
    /// Starts `command` in a `size` (columns, rows) window; `wait_for` gives up after
    /// `deadline`.
    pub fn start(size: (u16, u16), command: &str, deadline: Duration) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        // One socket per session: the tests of a file run at the same time.
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Self {
            socket: format!("tobira-test-{}-{n}", std::process::id()),
            deadline,
        };
        let (w, h) = (size.0.to_string(), size.1.to_string());
        let out = t.run(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &w,
            "-y",
            &h,
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    /// Runs a tmux command on this server.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run tmux ({e}): the end-to-end tests need it — run scripts/setup-debian --test")
            })
    }

    /// Sends keys by their tmux names (`Enter`, `C-c`, `F2`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success(), "send-keys {keys:?}");
    }

    /// Types `text` literally.
    pub fn type_text(&self, text: &str) {
        assert!(
            self.run(&["send-keys", "-t", SESSION, "-l", "--", text])
                .status
                .success()
        );
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", SESSION]).stdout)
            .into_owned()
    }

    /// The screen and the whole scrollback.
    pub fn everything(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-S", "-", "-E", "-", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`; fails with the screen when it does not in time.
    pub fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < self.deadline,
                "waited {:?} for {text:?}; the screen shows:\n{screen}",
                self.deadline
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the window's program still runs.
    pub fn pane_alive(&self) -> bool {
        let out = self.run(&["display-message", "-p", "-t", SESSION, "#{pane_dead}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "0"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
