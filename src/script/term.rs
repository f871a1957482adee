//! A terminal of a scenario: the member screens or the helpdesk console on the headless
//! runtime, behind one interface the steps use (keys in, cells and clickable rectangles out).

use std::sync::Arc;
use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

use super::parse::{KeySpec, TermKind};
use super::pty::{PtyCommand, PtySession};
use super::screen::Control;
use super::world::{T0, World};
use crate::api::Lang;
use crate::tui::mailbox::{DirMailbox, Mailbox};
use crate::tui::modes::member::Member;
use crate::tui::modes::staff::Staff;
use crate::tui::shell::app::{App, Msg};
use crate::tui::shell::form::{Hit, Target};
use crate::tui::shell::headless::{Headless, buffer_text, render_buffer, render_hits};
use crate::tui::{PasskeyRunner, Runtime};

/// One terminal of a scenario.
pub enum Term {
    /// The member screens.
    Member(Box<Headless<Member>>),
    /// The helpdesk console.
    Staff(Box<Headless<Staff>>),
    /// The real binary in a pseudo-terminal (`--pty`), pointed at the scenario's server.
    Pty(Box<PtySession>),
}

/// Runs `$e` with `$h` bound to the headless driver of either mode; `$p` for the PTY.
macro_rules! on {
    ($t:expr, $h:ident => $e:expr, $pty:ident => $p:expr) => {
        match $t {
            Term::Member($h) => $e,
            Term::Staff($h) => $e,
            Term::Pty($pty) => $p,
        }
    };
}

/// The staff console's wall clock in a scripted run: the kept session is checked against it.
/// A function pointer cannot see the scenario's clock, so it stands an hour after [`T0`],
/// inside any kept session's lifetime.
fn staff_now() -> i64 {
    T0 + 3600
}

impl Term {
    /// Opens a terminal of `kind` in `lang` on `world`; `passkeys` runs its passkey ceremonies.
    pub async fn open(kind: TermKind, lang: Lang, world: &World, passkeys: PasskeyRunner) -> Self {
        match kind {
            TermKind::Member => {
                let mailbox: Arc<dyn Mailbox> = Arc::new(DirMailbox::new(world.outbox.clone()));
                let runtime = Runtime::new(world.client.clone(), Some(mailbox), passkeys);
                Term::Member(Box::new(Headless::new(App::new(lang, true), runtime)))
            }
            TermKind::Staff => {
                let keyring = Arc::new(crate::client::staff_keyring::StaffKeyring::in_memory());
                let (app, first) =
                    crate::tui::modes::staff::app_with_clock(lang, keyring, staff_now);
                let runtime = Runtime::new(world.client.clone(), None, passkeys);
                let mut h = Headless::new(app, runtime);
                h.run(first).await;
                Term::Staff(Box::new(h))
            }
        }
    }

    /// Starts the real binary (`exe`) in a `w`x`h` pseudo-terminal on the scenario's server:
    /// the member screens, or the console for [`TermKind::Staff`].
    pub fn open_pty(
        kind: TermKind,
        lang: Lang,
        world: &World,
        exe: &std::path::Path,
        (w, h): (u16, u16),
    ) -> Result<Self, String> {
        let mut cmd = PtyCommand::new(exe);
        let lang = if lang == Lang::Ja { "ja" } else { "en" };
        if kind == TermKind::Staff {
            cmd.args = vec![
                "helpdesk".into(),
                "--server".into(),
                world.url.clone(),
                "--lang".into(),
                lang.into(),
            ];
        } else {
            cmd.args = vec![
                "--server".into(),
                world.url.clone(),
                "--lang".into(),
                lang.into(),
            ];
        }
        cmd.args.push("--no-color".into());
        let data = world.dir().join(if kind == TermKind::Staff {
            "pty-staff"
        } else {
            "pty-member"
        });
        cmd.env
            .push(("TOBIRA_DATA_DIR".into(), data.display().to_string()));
        cmd.cols = w;
        cmd.rows = h;
        PtySession::spawn(&cmd)
            .map(|s| Term::Pty(Box::new(s)))
            .map_err(|e| e.to_string())
    }

    /// Presses a key and carries out what it causes.
    pub async fn press(&mut self, k: KeySpec) {
        let ev = KeyEvent::new_with_kind(k.code, k.modifiers, KeyEventKind::Press);
        on!(self, h => { h.send(Msg::Key(ev)).await; }, p => { let _ = p.press_key(ev); })
    }

    /// Types `text` character by character.
    pub async fn type_text(&mut self, text: &str) {
        on!(self, h => h.type_text(text).await, p => { let _ = p.type_text(text); })
    }

    /// Clicks a control (a mouse click in the middle of it, in a pseudo-terminal).
    pub async fn click(&mut self, c: &Control) {
        match self {
            Term::Member(h) => {
                h.send(Msg::Click(Target::Item(c.item))).await;
            }
            Term::Staff(h) => {
                h.send(Msg::Click(Target::Item(c.item))).await;
            }
            Term::Pty(p) => {
                let x = c.rect.x + c.rect.width / 2 + 1;
                let y = c.rect.y + 1;
                let _ = p.send(format!("\x1b[<0;{x};{y}M\x1b[<0;{x};{y}m").as_bytes());
            }
        }
    }

    /// One second passes (a pseudo-terminal's program keeps its own time).
    pub async fn tick(&mut self) {
        on!(self, h => { h.send(Msg::Tick).await; }, _p => {})
    }

    /// Feeds what the runtime has to say (answers of background work, passkey events) for up
    /// to `wait`; returns whether anything came.
    pub async fn pump(&mut self, wait: Duration) -> bool {
        on!(self, h => {
            match tokio::time::timeout(wait, h.runtime.next()).await {
                Ok(Some(msg)) => {
                    h.send(msg).await;
                    true
                }
                _ => false,
            }
        }, _p => {
            tokio::time::sleep(wait).await;
            true
        })
    }

    /// The screen's cells at `w`x`h`.
    pub fn buffer(&self, w: u16, hgt: u16) -> Buffer {
        on!(self, h => render_buffer(&h.app, w, hgt), p => p.buffer())
    }

    /// The clickable rectangles at `w`x`h` (in a pseudo-terminal: read off the cells).
    pub fn hits(&self, w: u16, hgt: u16) -> Vec<Hit> {
        on!(self, h => render_hits(&h.app, w, hgt), p => super::screen::hits_from_cells(&p.buffer()))
    }

    /// The screen as text, one row per line between `|` bars.
    pub fn text(&self, w: u16, hgt: u16) -> String {
        match self {
            Term::Pty(p) => p.text(),
            _ => buffer_text(&self.buffer(w, hgt)),
        }
    }

    /// The name of the screen on display (unknown in a pseudo-terminal).
    pub fn screen_name(&self) -> Option<&'static str> {
        match self {
            Term::Member(h) => Some(h.app.mode.session.screen.name()),
            Term::Staff(h) => Some(h.app.mode.screen.name()),
            Term::Pty(_) => None,
        }
    }

    /// Stops the background watch (a console's long poll), so that the server can stop at
    /// once instead of waiting for the request to end.
    pub async fn close(&mut self) {
        on!(self, h => {
            h.runtime.complete(crate::tui::shell::app::Command::StopWatch).await;
        }, p => {
            let _ = p.press_key(KeyEvent::new_with_kind(
                ratatui::crossterm::event::KeyCode::Char('c'),
                ratatui::crossterm::event::KeyModifiers::CONTROL,
                KeyEventKind::Press,
            ));
        })
    }
}
