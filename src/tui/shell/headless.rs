//! The headless driver: the app on the [`Runtime`] without a terminal — messages go in, every
//! command is carried out to its end before the next message (exact for tests and scripted
//! runs), and the screen is drawn on ratatui's `TestBackend` when asked for. Requests go to
//! the runtime's [`Executor`]: the real client, or the fake server (`tui::testing`).

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{App, Command, Mode, Msg};
use super::form::{Hit, Target};
use super::runtime::{Call, Done, Executor, Runtime};
use crate::client::Client;
use crate::tui::theme::Theme;

/// The app and the runtime it runs on, with no terminal; requests go to `E`.
pub struct Headless<M: Mode, E: Executor<M::Call> = Client>
where
    M::Call: Call<Reply = M::Reply>,
{
    /// The app.
    pub app: App<M>,
    /// What carries out its commands.
    pub runtime: Runtime<M::Call, E>,
    /// Whether the app asked to quit.
    pub quit: bool,
}

impl<M: Mode, E: Executor<M::Call>> Headless<M, E>
where
    M::Call: Call<Reply = M::Reply> + Clone,
{
    /// `app` on `runtime`.
    pub fn new(app: App<M>, runtime: Runtime<M::Call, E>) -> Self {
        Self {
            app,
            runtime,
            quit: false,
        }
    }

    /// Carries out `cmds` and everything their answers cause, one at a time, until none is
    /// left (passkey commands are started; their events come from [`Self::until`]). Returns
    /// the commands other than requests that were carried out (listings, passkeys, quit).
    pub async fn run(&mut self, cmds: Vec<Command<M::Call>>) -> Vec<Command<M::Call>> {
        let mut queue = cmds;
        let mut others = Vec::new();
        while !queue.is_empty() {
            let mut next = Vec::new();
            for cmd in queue {
                if !matches!(cmd, Command::Call { .. }) {
                    others.push(cmd.clone());
                }
                match self.runtime.complete(cmd).await {
                    Done::Msgs(msgs) => {
                        for msg in msgs {
                            next.extend(self.app.update(msg));
                        }
                    }
                    Done::Quit(_) => self.quit = true,
                }
            }
            queue = next;
        }
        others
    }

    /// Feeds one message and carries out what it causes; returns what [`Self::run`] returns.
    pub async fn send(&mut self, msg: Msg<M::Reply>) -> Vec<Command<M::Call>> {
        let cmds = self.app.update(msg);
        self.run(cmds).await
    }

    /// Presses a key; returns what [`Self::run`] returns.
    pub async fn press(&mut self, code: KeyCode) -> Vec<Command<M::Call>> {
        self.send(Msg::Key(key(code))).await
    }

    /// Types `text` character by character.
    pub async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c)).await;
        }
    }

    /// Clicks the `i`-th focusable item of the screen.
    pub async fn click(&mut self, i: usize) {
        self.send(Msg::Click(Target::Item(i))).await;
    }

    /// Lets `n` seconds pass; returns what [`Self::run`] returns for all of them.
    pub async fn ticks(&mut self, n: u64) -> Vec<Command<M::Call>> {
        let mut others = Vec::new();
        for _ in 0..n {
            others.extend(self.send(Msg::Tick).await);
        }
        others
    }

    /// Feeds the runtime's answers and events until `done` holds; panics naming `what` when
    /// `limit` passes first (a hang fails instead of blocking).
    pub async fn until(&mut self, what: &str, limit: Duration, done: impl Fn(&App<M>) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(&self.app) {
            let msg = tokio::time::timeout_at(deadline, self.runtime.next())
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("waiting for {what}"));
            self.send(msg).await;
        }
    }

    /// The screen as text (see [`render_text`]).
    pub fn text(&self, w: u16, h: u16, no_color: bool) -> String {
        render_text(&self.app, w, h, no_color)
    }
}

/// A key press.
pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new_with_kind(code, KeyModifiers::NONE, KeyEventKind::Press)
}

/// A key press with Ctrl.
pub fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new_with_kind(KeyCode::Char(c), KeyModifiers::CONTROL, KeyEventKind::Press)
}

/// Draws `app` on a `TestBackend` of `w`x`h` and returns the screen as text, one line per row
/// between `|` bars (wide characters take two cells, so the bars line up in a monospace font
/// that draws them wide). A row where a wide character's second cell was overwritten by
/// something else ends with `<- OVERWRITTEN`.
pub fn render_text<M: Mode>(app: &App<M>, w: u16, h: u16, no_color: bool) -> String {
    let backend = TestBackend::new(w, h);
    let Ok(mut terminal) = Terminal::new(backend);
    let theme = Theme::new(no_color);
    let _ = terminal.draw(|f| {
        app.draw(f, theme);
    });
    buffer_text(terminal.backend().buffer())
}

/// Draws `app` on a `TestBackend` of `w`x`h` and returns the cells (colours included).
pub fn render_buffer<M: Mode>(app: &App<M>, w: u16, h: u16) -> ratatui::buffer::Buffer {
    let backend = TestBackend::new(w, h);
    let Ok(mut terminal) = Terminal::new(backend);
    let _ = terminal.draw(|f| {
        app.draw(f, Theme::new(false));
    });
    terminal.backend().buffer().clone()
}

/// Draws `app` and returns the clickable rectangles.
pub fn render_hits<M: Mode>(app: &App<M>, w: u16, h: u16) -> Vec<Hit> {
    let backend = TestBackend::new(w, h);
    let mut hits = Vec::new();
    let Ok(mut terminal) = Terminal::new(backend);
    let _ = terminal.draw(|f| {
        hits = app.draw(f, Theme::new(false));
    });
    hits
}

/// A buffer as text (see [`render_text`]).
pub fn buffer_text(buffer: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    let width = usize::from(buffer.area.width);
    for row in buffer.content.chunks(width.max(1)) {
        let mut line = String::new();
        let mut skip = 0usize;
        let mut overwritten = false;
        for cell in row {
            let sym = cell.symbol();
            if skip > 0 {
                if !(sym == " " || sym.is_empty()) {
                    overwritten = true;
                }
                skip -= 1;
                continue;
            }
            line.push_str(sym);
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        out.push('|');
        out.push_str(&line);
        out.push('|');
        if overwritten {
            out.push_str(" <- OVERWRITTEN");
        }
        out.push('\n');
    }
    out
}
