//! The `--pty` driver: the real `tobira` binary in a pseudo-terminal of a given size, its output
//! read by a terminal emulator (vt100), for full fidelity — what a member's terminal shows,
//! escape sequences, raw mode and resizing included.
//!
//! API:
//! - [`PtySession::spawn`]`(&PtyCommand)`: starts the program; a reader thread feeds its output
//!   to the emulator and answers the queries a terminal answers (cursor position, device
//!   attributes, and the background colour when [`PtyCommand::background`] is set).
//! - Input: [`PtySession::press`]`(KeyCode)`, [`PtySession::press_key`]`(KeyEvent)`,
//!   [`PtySession::type_text`], [`PtySession::send`]`(bytes)`; [`key_bytes`] encodes a key as
//!   a terminal sends it.
//! - Output: [`PtySession::text`] (the screen in the headless runner's `|…|` format),
//!   [`PtySession::buffer`] (the cells as a ratatui [`Buffer`], for the virtual phone),
//!   [`PtySession::contents`], [`PtySession::output`] (every byte so far),
//!   [`PtySession::recording`] (the output as timed chunks, for an asciicast),
//!   [`PtySession::alternate_screen`] / [`PtySession::cursor_hidden`].
//! - Waiting, always bounded: [`PtySession::wait_for_text`], [`PtySession::wait_until`],
//!   [`PtySession::wait_exit`]; a timeout's error carries the screen at that moment.
//! - [`PtySession::resize`]; [`PtySession::stop`] (hang-up, then kill if it does not go);
//!   dropping a session stops it too, so nothing is left behind.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use portable_pty::{ChildKiller, CommandBuilder, MasterPty, PtySize, native_pty_system};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

/// How long [`PtySession::stop`] waits after the hang-up before it kills.
const HANGUP_GRACE: Duration = Duration::from_secs(5);

/// Why the driver failed.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    /// The pseudo-terminal or the program could not be started.
    #[error("cannot start {program} in a pseudo-terminal: {why}")]
    Spawn {
        /// The program.
        program: String,
        /// The system's reason.
        why: String,
    },
    /// Writing keys or resizing failed (the program has gone).
    #[error("the terminal is gone: {0}")]
    Io(String),
    /// A wait ran out.
    #[error("no {what} within {limit:?}; the screen shows:\n{screen}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// The bound.
        limit: Duration,
        /// The screen at that moment.
        screen: String,
    },
    /// The program ended before what was waited for appeared.
    #[error("the program ended ({exit}) before {what} appeared; the screen shows:\n{screen}")]
    Exited {
        /// What was waited for.
        what: String,
        /// How it ended.
        exit: PtyExit,
        /// The last screen.
        screen: String,
    },
}

/// How the program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtyExit {
    /// The exit code (1 when killed by a signal).
    pub code: u32,
    /// The signal that ended it, if one did.
    pub signal: Option<String>,
}

impl PtyExit {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == 0 && self.signal.is_none()
    }
}

impl std::fmt::Display for PtyExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.signal {
            Some(s) => write!(f, "signal {s}"),
            None => write!(f, "exit code {}", self.code),
        }
    }
}

/// What to run, and in which terminal.
#[derive(Debug, Clone)]
pub struct PtyCommand {
    /// The program (the `tobira` binary).
    pub program: std::path::PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables set for it (on top of this process's).
    pub env: Vec<(String, String)>,
    /// Environment variables removed for it.
    pub env_remove: Vec<String>,
    /// The working directory (this process's when `None`).
    pub cwd: Option<std::path::PathBuf>,
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// The background colour the terminal reports when asked (OSC 11), or `None` to leave the
    /// question unanswered as many terminals do.
    pub background: Option<(u8, u8, u8)>,
}

impl PtyCommand {
    /// `program` with no arguments in an 80x24 `xterm-256color` terminal.
    pub fn new(program: impl Into<std::path::PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: vec![("TERM".to_owned(), "xterm-256color".to_owned())],
            env_remove: Vec::new(),
            cwd: None,
            cols: 80,
            rows: 24,
            background: None,
        }
    }
}

/// What the reader thread and the waiter share.
struct Shared {
    parser: vt100::Parser,
    /// Every byte the program wrote.
    output: Vec<u8>,
    /// Where each read chunk starts in `output`, and when it came (since the start).
    chunks: Vec<(usize, Duration)>,
    /// The reader saw the end of the output.
    eof: bool,
    /// How the program ended, once it has.
    exit: Option<PtyExit>,
}

struct State {
    shared: Mutex<Shared>,
    changed: Condvar,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panicking reader leaves a consistent screen behind: keep reading it.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A program running in a pseudo-terminal.
pub struct PtySession {
    state: Arc<State>,
    master: Box<dyn MasterPty + Send>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    killer: Box<dyn ChildKiller + Send + Sync>,
    pid: Option<u32>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for PtySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PtySession")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

fn size(cols: u16, rows: u16) -> (NonZeroU16, NonZeroU16) {
    (
        NonZeroU16::new(rows).unwrap_or(NonZeroU16::MIN),
        NonZeroU16::new(cols).unwrap_or(NonZeroU16::MIN),
    )
}

impl PtySession {
    /// Starts `cmd` in a new pseudo-terminal.
    pub fn spawn(cmd: &PtyCommand) -> Result<Self, PtyError> {
        let program = cmd.program.display().to_string();
        let fail = |why: String| PtyError::Spawn {
            program: program.clone(),
            why,
        };
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: cmd.rows.max(1),
                cols: cmd.cols.max(1),
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| fail(e.to_string()))?;
        let mut builder = CommandBuilder::new(&cmd.program);
        builder.args(&cmd.args);
        for (k, v) in &cmd.env {
            builder.env(k, v);
        }
        for k in &cmd.env_remove {
            builder.env_remove(k);
        }
        if let Some(dir) = &cmd.cwd {
            builder.cwd(dir);
        }
        let mut child = pair
            .slave
            .spawn_command(builder)
            .map_err(|e| fail(e.to_string()))?;
        // Only the child holds the terminal's other end now: its exit ends the output.
        drop(pair.slave);
        let reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| fail(e.to_string()))?;
        let writer = Arc::new(Mutex::new(
            pair.master.take_writer().map_err(|e| fail(e.to_string()))?,
        ));
        let (rows, cols) = size(cmd.cols, cmd.rows);
        let state = Arc::new(State {
            shared: Mutex::new(Shared {
                parser: vt100::Parser::new(rows, cols, 0),
                output: Vec::new(),
                chunks: Vec::new(),
                eof: false,
                exit: None,
            }),
            changed: Condvar::new(),
        });
        let started = Instant::now();
        let killer = child.clone_killer();
        let pid = child.process_id();
        let reading = {
            let state = state.clone();
            let writer = writer.clone();
            let background = cmd.background;
            std::thread::Builder::new()
                .name("tobira-pty-read".to_owned())
                .spawn(move || read_output(reader, &state, &writer, background, started))
                .map_err(|e| fail(e.to_string()))?
        };
        let waiting = {
            let state = state.clone();
            std::thread::Builder::new()
                .name("tobira-pty-wait".to_owned())
                .spawn(move || {
                    let exit = match child.wait() {
                        Ok(s) => PtyExit {
                            code: s.exit_code(),
                            signal: s.signal().map(str::to_owned),
                        },
                        Err(e) => PtyExit {
                            code: 1,
                            signal: Some(format!("unknown ({e})")),
                        },
                    };
                    state.lock().exit = Some(exit);
                    state.changed.notify_all();
                })
                .map_err(|e| fail(e.to_string()))?
        };
        Ok(Self {
            state,
            master: pair.master,
            writer,
            killer,
            pid,
            threads: vec![reading, waiting],
        })
    }

    /// The program's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Writes `bytes` to the program's terminal, as typed.
    pub fn send(&self, bytes: &[u8]) -> Result<(), PtyError> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(bytes)
            .and_then(|()| w.flush())
            .map_err(|e| PtyError::Io(e.to_string()))
    }

    /// Presses a key.
    pub fn press(&self, code: KeyCode) -> Result<(), PtyError> {
        self.send(&key_bytes(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    /// Presses a key with modifiers (Ctrl-C, Shift-Tab).
    pub fn press_key(&self, key: KeyEvent) -> Result<(), PtyError> {
        self.send(&key_bytes(key))
    }

    /// Types `text`.
    pub fn type_text(&self, text: &str) -> Result<(), PtyError> {
        self.send(text.as_bytes())
    }

    /// The terminal's size (columns, rows).
    pub fn size(&self) -> (u16, u16) {
        let s = self.state.lock();
        let (rows, cols) = s.parser.screen().size();
        (cols.get(), rows.get())
    }

    /// Resizes the terminal (the program gets SIGWINCH).
    pub fn resize(&self, cols: u16, rows: u16) -> Result<(), PtyError> {
        let (r, c) = size(cols, rows);
        // The emulator first, so that the redraw the signal causes lands on the new size.
        self.state.lock().parser.set_size(r, c);
        self.master
            .resize(PtySize {
                rows: r.get(),
                cols: c.get(),
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| PtyError::Io(e.to_string()))
    }

    /// The screen as text, one `|row|` per line (the headless runner's format).
    pub fn text(&self) -> String {
        screen_text(self.state.lock().parser.screen())
    }

    /// The screen's text, rows joined by newlines, trailing blanks trimmed.
    pub fn contents(&self) -> String {
        self.state.lock().parser.screen().contents()
    }

    /// The screen's cells with their colours, as a ratatui buffer.
    pub fn buffer(&self) -> Buffer {
        screen_buffer(self.state.lock().parser.screen())
    }

    /// Every byte the program has written so far.
    pub fn output(&self) -> Vec<u8> {
        self.state.lock().output.clone()
    }

    /// The output as it came: each chunk with its time since the start (an asciicast's
    /// events; mask secrets before writing one).
    pub fn recording(&self) -> Vec<(Duration, Vec<u8>)> {
        let s = self.state.lock();
        let ends = s.chunks.iter().skip(1).map(|&(at, _)| at);
        s.chunks
            .iter()
            .zip(ends.chain(std::iter::once(s.output.len())))
            .map(|(&(start, when), end)| (when, s.output[start..end].to_vec()))
            .collect()
    }

    /// Whether the program is on the alternate screen (a full-screen UI is running).
    pub fn alternate_screen(&self) -> bool {
        self.state.lock().parser.screen().alternate_screen()
    }

    /// Whether the cursor is hidden.
    pub fn cursor_hidden(&self) -> bool {
        self.state.lock().parser.screen().hide_cursor()
    }

    /// How the program ended, if it has.
    pub fn exit(&self) -> Option<PtyExit> {
        self.state.lock().exit.clone()
    }

    /// Waits until `text` is on the screen.
    pub fn wait_for_text(&self, text: &str, limit: Duration) -> Result<(), PtyError> {
        self.wait_until(&format!("{text:?} on the screen"), limit, |s| {
            s.contents().contains(text)
        })
    }

    /// Waits until `done` holds for the screen; fails naming `what` when `limit` passes or the
    /// program ends first.
    pub fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&vt100::Screen) -> bool,
    ) -> Result<(), PtyError> {
        self.wait(what, limit, |s| {
            if done(s.parser.screen()) {
                return Some(Ok(()));
            }
            let exit = s.exit.clone().filter(|_| s.eof)?;
            Some(Err(PtyError::Exited {
                what: what.to_owned(),
                exit,
                screen: screen_text(s.parser.screen()),
            }))
        })
    }

    /// Waits until the program has ended and all its output is read.
    pub fn wait_exit(&self, limit: Duration) -> Result<PtyExit, PtyError> {
        self.wait("end of the program", limit, |s| {
            s.exit.clone().filter(|_| s.eof).map(Ok)
        })
    }

    /// Waits, woken by each output and by the exit, until `check` decides; a timeout after
    /// `limit` names `what`.
    fn wait<T>(
        &self,
        what: &str,
        limit: Duration,
        check: impl Fn(&Shared) -> Option<Result<T, PtyError>>,
    ) -> Result<T, PtyError> {
        let deadline = Instant::now() + limit;
        let mut s = self.state.lock();
        loop {
            if let Some(decided) = check(&s) {
                return decided;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PtyError::Timeout {
                    what: what.to_owned(),
                    limit,
                    screen: screen_text(s.parser.screen()),
                });
            }
            s = self
                .state
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Ends the program: a hang-up (as when the terminal closes), then a kill if it is still
    /// there after a grace period; waits for it and for the reader. Returns how it ended.
    pub fn stop(mut self) -> PtyExit {
        self.shut_down()
    }

    fn shut_down(&mut self) -> PtyExit {
        if self.exit().is_none() {
            let _ = self.killer.kill();
            if self.wait_exit(HANGUP_GRACE).is_err() {
                if let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) {
                    // SAFETY: a plain kill(2) of our own child, which has not been reaped yet
                    // (the waiter thread has not recorded its exit).
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                    }
                }
                let _ = self.wait_exit(HANGUP_GRACE);
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.exit().unwrap_or(PtyExit {
            code: 1,
            signal: Some("not reaped".to_owned()),
        })
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.shut_down();
        }
    }
}

/// The queries a terminal answers, and how they start.
const CURSOR_QUERY: &[u8] = b"\x1b[6n";
const DEVICE_QUERY: &[&[u8]] = &[b"\x1b[c", b"\x1b[0c"];
const BACKGROUND_QUERY: &[u8] = b"\x1b]11;?";

/// Reads the program's output to its end, feeding the emulator and answering queries.
fn read_output(
    mut reader: Box<dyn Read + Send>,
    state: &State,
    writer: &Mutex<Box<dyn Write + Send>>,
    background: Option<(u8, u8, u8)>,
    started: Instant,
) {
    let mut buf = [0u8; 8192];
    // The end of the previous chunk, so that a query split across two reads is still seen.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        // Linux reports the end of a pseudo-terminal whose other side closed as EIO.
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let answers = {
            let mut s = state.lock();
            s.parser.process(chunk);
            let at = s.output.len();
            s.chunks.push((at, started.elapsed()));
            s.output.extend_from_slice(chunk);
            let mut window = std::mem::take(&mut tail);
            let skip = window.len();
            window.extend_from_slice(chunk);
            let answers = answers_to(&window, skip, s.parser.screen(), background);
            let keep = window.len().saturating_sub(8);
            tail = window.split_off(keep);
            answers
        };
        state.changed.notify_all();
        if !answers.is_empty() {
            let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
            let _ = w.write_all(&answers).and_then(|()| w.flush());
        }
    }
    state.lock().eof = true;
    state.changed.notify_all();
}

/// The answers to the queries in `window` that end after its first `seen` bytes, in order.
fn answers_to(
    window: &[u8],
    seen: usize,
    screen: &vt100::Screen,
    background: Option<(u8, u8, u8)>,
) -> Vec<u8> {
    let mut found: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut find = |pattern: &[u8], answer: &dyn Fn() -> Option<Vec<u8>>| {
        for (i, w) in window.windows(pattern.len()).enumerate() {
            if w == pattern
                && i + pattern.len() > seen
                && let Some(a) = answer()
            {
                found.push((i, a));
            }
        }
    };
    find(CURSOR_QUERY, &|| {
        let (row, col) = screen.cursor_position();
        Some(format!("\x1b[{};{}R", row + 1, col + 1).into_bytes())
    });
    for q in DEVICE_QUERY {
        find(q, &|| Some(b"\x1b[?62;22c".to_vec()));
    }
    find(BACKGROUND_QUERY, &|| {
        background.map(|(r, g, b)| {
            format!("\x1b]11;rgb:{r:02x}{r:02x}/{g:02x}{g:02x}/{b:02x}{b:02x}\x1b\\").into_bytes()
        })
    });
    found.sort_by_key(|(i, _)| *i);
    found.into_iter().flat_map(|(_, a)| a).collect()
}

/// The bytes a terminal sends for `key` (xterm conventions, as crossterm reads them).
pub fn key_bytes(key: KeyEvent) -> Vec<u8> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let mut out = Vec::new();
    if alt {
        out.push(0x1b);
    }
    let seq: &[u8] = match key.code {
        KeyCode::Char(c) if ctrl && c.is_ascii_alphabetic() => {
            out.push((c.to_ascii_lowercase() as u8) & 0x1f);
            return out;
        }
        KeyCode::Char(c) => {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            return out;
        }
        KeyCode::Enter => b"\r",
        KeyCode::Tab if key.modifiers.contains(KeyModifiers::SHIFT) => b"\x1b[Z",
        KeyCode::Tab => b"\t",
        KeyCode::BackTab => b"\x1b[Z",
        KeyCode::Backspace => b"\x7f",
        KeyCode::Esc => b"\x1b",
        KeyCode::Up => b"\x1b[A",
        KeyCode::Down => b"\x1b[B",
        KeyCode::Right => b"\x1b[C",
        KeyCode::Left => b"\x1b[D",
        KeyCode::Home => b"\x1b[H",
        KeyCode::End => b"\x1b[F",
        KeyCode::PageUp => b"\x1b[5~",
        KeyCode::PageDown => b"\x1b[6~",
        KeyCode::Delete => b"\x1b[3~",
        KeyCode::Insert => b"\x1b[2~",
        KeyCode::F(n) => {
            let s: &[u8] = match n {
                1 => b"\x1bOP",
                2 => b"\x1bOQ",
                3 => b"\x1bOR",
                4 => b"\x1bOS",
                5 => b"\x1b[15~",
                6 => b"\x1b[17~",
                7 => b"\x1b[18~",
                8 => b"\x1b[19~",
                9 => b"\x1b[20~",
                10 => b"\x1b[21~",
                11 => b"\x1b[23~",
                12 => b"\x1b[24~",
                _ => b"",
            };
            s
        }
        _ => b"",
    };
    out.extend_from_slice(seq);
    out
}

/// A vt100 colour as ratatui names it (the 16 ANSI colours by name, as ratatui writes them).
fn colour(c: vt100::Color) -> Color {
    const NAMED: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    match c {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(i) => NAMED
            .get(usize::from(i))
            .copied()
            .unwrap_or(Color::Indexed(i)),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// The emulator's screen as the headless runner's text.
fn screen_text(screen: &vt100::Screen) -> String {
    crate::tui::shell::headless::buffer_text(&screen_buffer(screen))
}

/// The emulator's screen as a ratatui buffer: symbols, colours (reverse video applied) and the
/// common modifiers.
fn screen_buffer(screen: &vt100::Screen) -> Buffer {
    let (rows, cols) = screen.size();
    let (rows, cols) = (rows.get(), cols.get());
    let mut buf = Buffer::empty(Rect::new(0, 0, cols, rows));
    for y in 0..rows {
        for x in 0..cols {
            let Some(cell) = screen.cell(y, x) else {
                continue;
            };
            if cell.is_wide_continuation() {
                continue;
            }
            let (mut fg, mut bg) = (colour(cell.fgcolor()), colour(cell.bgcolor()));
            if cell.inverse() {
                std::mem::swap(&mut fg, &mut bg);
            }
            let mut modifier = Modifier::empty();
            for (on, m) in [
                (cell.bold(), Modifier::BOLD),
                (cell.dim(), Modifier::DIM),
                (cell.italic(), Modifier::ITALIC),
                (cell.underline(), Modifier::UNDERLINED),
            ] {
                if on {
                    modifier |= m;
                }
            }
            let symbol = if cell.has_contents() {
                cell.contents()
            } else {
                " "
            };
            if let Some(c) = buf.cell_mut((x, y)) {
                c.set_symbol(symbol).set_fg(fg).set_bg(bg);
                c.modifier = modifier;
            }
        }
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_as_a_terminal_sends_them() {
        let k = |code| key_bytes(KeyEvent::new(code, KeyModifiers::NONE));
        assert_eq!(k(KeyCode::Enter), b"\r");
        assert_eq!(k(KeyCode::Char('あ')), "あ".as_bytes());
        assert_eq!(k(KeyCode::F(2)), b"\x1bOQ");
        assert_eq!(k(KeyCode::BackTab), b"\x1b[Z");
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(key_bytes(ctrl_c), vec![3]);
    }

    #[test]
    fn queries_are_answered_once_in_order_even_when_split() {
        let parser = vt100::Parser::new(size(80, 24).0, size(80, 24).1, 0);
        let screen = parser.screen();
        let window = b"ab\x1b]11;?\x07\x1b[c\x1b[6n";
        assert_eq!(
            answers_to(window, 0, screen, Some((255, 255, 255))),
            b"\x1b]11;rgb:ffff/ffff/ffff\x1b\\\x1b[?62;22c\x1b[1;1R".to_vec()
        );
        assert_eq!(
            answers_to(window, 0, screen, None),
            b"\x1b[?62;22c\x1b[1;1R"
        );
        // Already answered in the previous read: not again.
        assert!(answers_to(window, window.len(), screen, None).is_empty());
        // Split: the tail of one read and the start of the next.
        assert_eq!(answers_to(b"\x1b[6n", 2, screen, None), b"\x1b[1;1R");
    }

    #[test]
    fn the_emulated_screen_reads_back_like_the_headless_one() {
        // The SGR codes crossterm writes for ratatui's black on white, then reverse video.
        let mut parser = vt100::Parser::new(size(20, 3).0, size(20, 3).1, 0);
        parser.process("\x1b[38;5;0;48;5;15m▀▄\x1b[0m 日本 \x1b[7mX".as_bytes());
        let buf = screen_buffer(parser.screen());
        assert_eq!(
            (buf[(0, 0)].symbol(), buf[(0, 0)].fg, buf[(0, 0)].bg),
            ("▀", Color::Black, Color::White)
        );
        assert_eq!(buf[(3, 0)].symbol(), "日");
        assert_eq!(
            (buf[(8, 0)].symbol(), buf[(8, 0)].fg, buf[(8, 0)].bg),
            ("X", Color::Reset, Color::Reset),
            "reverse video of the defaults stays the defaults"
        );
        assert!(
            crate::tui::shell::headless::buffer_text(&buf).starts_with("|▀▄ 日本 X"),
            "{}",
            crate::tui::shell::headless::buffer_text(&buf)
        );
    }

    #[test]
    fn a_program_is_driven_waited_for_resized_and_stopped() {
        let mut cmd = PtyCommand::new("/bin/sh");
        cmd.args = vec![
            "-c".to_owned(),
            "stty size; read line; echo \"got $line\"; stty size; read more".to_owned(),
        ];
        cmd.cols = 40;
        cmd.rows = 10;
        let pty = PtySession::spawn(&cmd).expect("sh");
        pty.wait_for_text("10 40", Duration::from_secs(20))
            .expect("the size");
        pty.resize(50, 12).expect("resize");
        assert_eq!(pty.size(), (50, 12));
        pty.type_text("hello").expect("type");
        pty.press(KeyCode::Enter).expect("enter");
        pty.wait_for_text("got hello", Duration::from_secs(20))
            .expect("echo");
        pty.wait_for_text("12 50", Duration::from_secs(20))
            .expect("the new size");
        let err = pty
            .wait_for_text("never", Duration::from_millis(50))
            .expect_err("bounded");
        assert!(err.to_string().contains("got hello"), "{err}");
        // The shell waits for another line: stopping hangs it up.
        let exit = pty.stop();
        assert!(!exit.success(), "{exit}");
    }

    #[test]
    fn the_end_of_the_program_ends_a_wait() {
        let mut cmd = PtyCommand::new("/bin/sh");
        cmd.args = vec!["-c".to_owned(), "echo bye".to_owned()];
        let pty = PtySession::spawn(&cmd).expect("sh");
        let err = pty
            .wait_for_text("never", Duration::from_secs(20))
            .expect_err("ended");
        assert!(matches!(err, PtyError::Exited { .. }), "{err}");
        assert!(
            pty.wait_exit(Duration::from_secs(20))
                .expect("exit")
                .success()
        );
        assert!(pty.contents().contains("bye"));
        let recording = pty.recording();
        assert!(!recording.is_empty());
        assert!(recording.windows(2).all(|w| w[0].0 <= w[1].0), "in order");
        let joined: Vec<u8> = recording.into_iter().flat_map(|(_, b)| b).collect();
        assert_eq!(joined, pty.output());
    }
}
