//! The terminal loop: crossterm's `EventStream`, the runtime's answers, a 1 s tick and
//! SIGTERM/SIGHUP in one `select!`; it draws only when something changed. The terminal is
//! restored once: on return, on panic (hook) and on signals.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream, KeyEventKind, MouseButton, MouseEventKind,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::layout::Position;

use super::app::{App, Mode, Msg};
use super::form::Hit;
use super::runtime::{Call, Runtime};
use crate::tui::TuiError;
use crate::tui::theme::Theme;

static RESTORED: AtomicBool = AtomicBool::new(true);

/// Puts the terminal back (raw mode off, main screen, mouse and paste off, cursor shown).
/// Safe to call more than once: only the first call after [`TerminalGuard::enter`] acts.
pub fn restore_terminal() {
    if RESTORED.swap(true, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// Owns the terminal's special modes; restores them when dropped.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> io::Result<Self> {
        // Restore before the default panic message is printed.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
        enable_raw_mode()?;
        RESTORED.store(false, Ordering::SeqCst);
        let guard = Self;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Runs `app` on the terminal until it quits or SIGTERM/SIGHUP arrives; `runtime` carries out
/// its commands.
pub async fn run<M>(
    mut app: App<M>,
    mut runtime: Runtime<M::Call>,
    theme: Theme,
) -> Result<(), TuiError>
where
    M: Mode,
    M::Call: Call<Reply = M::Reply>,
{
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).map_err(TuiError::Signals)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(TuiError::Signals)?;

    let guard = TerminalGuard::enter()?;
    let mut terminal: Terminal<CrosstermBackend<Stdout>> =
        Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;

    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut hits: Vec<Hit> = Vec::new();

    let result = loop {
        if app.shell.dirty {
            app.shell.dirty = false;
            if let Err(e) = terminal.draw(|f| hits = app.draw(f, theme)) {
                break Err(TuiError::Terminal(e));
            }
        }
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => translate(ev, &hits),
                Some(Err(e)) => break Err(TuiError::Terminal(e)),
                None => break Ok(()),
            },
            Some(msg) = runtime.next() => Some(msg),
            _ = tick.tick() => Some(Msg::Tick),
            _ = sigterm.recv() => Some(Msg::Terminate),
            _ = sighup.recv() => {
                if app.mode.hangup_quits() {
                    Some(Msg::Terminate)
                } else if let Err(e) = still_there(&mut terminal) {
                    // The terminal itself hung up (its window or pty closed): a mode that
                    // ignores hang-ups (a kiosk) would otherwise wait on a dead tty forever,
                    // spinning in the key reader; it ends, and its supervisor starts it again.
                    break Err(TuiError::Terminal(e));
                } else {
                    None
                }
            }
        };
        let Some(msg) = msg else { continue };
        let mut quit = None;
        for cmd in app.update(msg) {
            if let Some(sign_out) = runtime.start(cmd) {
                quit = Some(sign_out);
            }
        }
        if app.mode.take_wipe() {
            if let Err(e) = wipe(&mut terminal) {
                break Err(TuiError::Terminal(e));
            }
            app.shell.dirty = true;
        }
        if let Some(sign_out) = quit {
            if let Some(token) = sign_out {
                runtime.sign_out(&token).await;
            }
            break Ok(());
        }
    };
    let wipe_at_exit = app.mode.wipe_on_exit();
    if wipe_at_exit {
        let _ = wipe(&mut terminal);
    }
    drop(terminal);
    drop(guard);
    if wipe_at_exit {
        // The main screen too, once the alternate screen is left.
        let mut out = io::stdout();
        let _ = io::Write::write_all(&mut out, WIPE);
        let _ = io::Write::flush(&mut out);
    }
    result
}

/// Whether the terminal still takes output: a hung-up tty refuses the write (EIO). The bytes
/// are an SGR reset, which the next draw sets anyway.
fn still_there(terminal: &mut Terminal<CrosstermBackend<Stdout>>) -> io::Result<()> {
    let out = terminal.backend_mut();
    io::Write::write_all(out, b"\x1b[0m")?;
    io::Write::flush(out)
}

/// Erase the screen (CSI 2J), erase the scrollback (CSI 3J), cursor home.
pub const WIPE: &[u8] = b"\x1b[2J\x1b[3J\x1b[H";

/// Wipes the screen and the terminal's scrollback, and makes the next draw repaint it all.
fn wipe(terminal: &mut Terminal<CrosstermBackend<Stdout>>) -> io::Result<()> {
    let out = terminal.backend_mut();
    io::Write::write_all(out, WIPE)?;
    io::Write::flush(out)?;
    // A blank frame brings ratatui's idea of the screen in line with the wiped terminal, so
    // the next draw repaints every cell. (`Terminal::clear` would ask the terminal for the
    // cursor position, whose answer the event stream reading the keys would swallow.)
    terminal.draw(|f| f.render_widget(ratatui::widgets::Clear, f.area()))?;
    Ok(())
}

/// A terminal event as a message (key presses only; clicks hit-tested against `hits`).
pub fn translate<R>(ev: Event, hits: &[Hit]) -> Option<Msg<R>> {
    match ev {
        Event::Key(k) if k.kind == KeyEventKind::Press => Some(Msg::Key(k)),
        Event::Paste(s) => Some(Msg::Paste(s)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        // The wheel scrolls like the arrow keys (the terms text).
        Event::Mouse(m) if m.kind == MouseEventKind::ScrollDown => Some(Msg::Key(
            ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Down),
        )),
        Event::Mouse(m) if m.kind == MouseEventKind::ScrollUp => Some(Msg::Key(
            ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Up),
        )),
        Event::Mouse(m) if m.kind == MouseEventKind::Down(MouseButton::Left) => {
            let p = Position::new(m.column, m.row);
            hits.iter()
                .rev()
                .find(|h| h.rect.contains(p))
                .map(|h| Msg::Click(h.target))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::shell::form::Target;

    #[test]
    fn clicks_hit_the_recorded_rectangles() {
        use ratatui::crossterm::event::{KeyModifiers, MouseEvent};
        use ratatui::layout::Rect;
        let hits = vec![Hit {
            rect: Rect::new(10, 5, 8, 1),
            target: Target::Item(2),
        }];
        let click = |x, y| {
            Event::Mouse(MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column: x,
                row: y,
                modifiers: KeyModifiers::NONE,
            })
        };
        assert!(matches!(
            translate(click(12, 5), &hits),
            Some(Msg::<()>::Click(Target::Item(2)))
        ));
        assert!(translate::<()>(click(12, 6), &hits).is_none());
    }
}
