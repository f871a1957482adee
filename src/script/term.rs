//! A terminal of a scenario: the member screens or the helpdesk console on the headless
//! runtime, behind one interface the steps use (keys in, cells and clickable rectangles out).

use std::sync::Arc;
use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

use super::parse::{KeySpec, TermKind};
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
}

/// Runs `$e` with `$h` bound to the headless driver of either mode.
macro_rules! on {
    ($t:expr, $h:ident => $e:expr) => {
        match $t {
            Term::Member($h) => $e,
            Term::Staff($h) => $e,
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

    /// Presses a key and carries out what it causes.
    pub async fn press(&mut self, k: KeySpec) {
        let ev = KeyEvent::new_with_kind(k.code, k.modifiers, KeyEventKind::Press);
        on!(self, h => { h.send(Msg::Key(ev)).await; })
    }

    /// Types `text` character by character.
    pub async fn type_text(&mut self, text: &str) {
        on!(self, h => h.type_text(text).await)
    }

    /// Clicks the `i`-th focusable item.
    pub async fn click(&mut self, i: usize) {
        on!(self, h => { h.send(Msg::Click(Target::Item(i))).await; })
    }

    /// One second passes.
    pub async fn tick(&mut self) {
        on!(self, h => { h.send(Msg::Tick).await; })
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
        })
    }

    /// The screen's cells at `w`x`h`.
    pub fn buffer(&self, w: u16, hgt: u16) -> Buffer {
        on!(self, h => render_buffer(&h.app, w, hgt))
    }

    /// The clickable rectangles at `w`x`h`.
    pub fn hits(&self, w: u16, hgt: u16) -> Vec<Hit> {
        on!(self, h => render_hits(&h.app, w, hgt))
    }

    /// The screen as text, one row per line between `|` bars.
    pub fn text(&self, w: u16, hgt: u16) -> String {
        buffer_text(&self.buffer(w, hgt))
    }

    /// The name of the screen on display.
    pub fn screen_name(&self) -> &'static str {
        match self {
            Term::Member(h) => h.app.mode.session.screen.name(),
            Term::Staff(h) => h.app.mode.screen.name(),
        }
    }

    /// The status line's message, if any (for failure reports).
    pub fn banner(&self) -> Option<String> {
        on!(self, h => h.app.shell.banner.as_ref().map(|b| b.msg.text(h.app.shell.lang)))
    }

    /// Stops the background watch (a console's long poll), so that the server can stop at
    /// once instead of waiting for the request to end.
    pub async fn close(&mut self) {
        on!(self, h => {
            h.runtime.complete(crate::tui::shell::app::Command::StopWatch).await;
        })
    }

    /// Whether the app asked to quit.
    pub fn quit(&self) -> bool {
        on!(self, h => h.quit)
    }
}
