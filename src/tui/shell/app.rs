//! The app shell: what every mode shares — the language, the status line, the request in
//! flight, the clock — and the pure `update` that turns a [`Msg`] into [`Command`]s.
//!
//! [`App::update`] does no I/O: the runtime ([`super::runtime`]) carries out the commands and
//! reports back with messages, so the whole app can be driven by feeding messages in tests.
//! The mode ([`Mode`]) decides which global keys exist, owns its session, screens and requests.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::api::Lang;
use crate::client::{ClientError, FlowToken};
use crate::passkey::Shared;
use crate::passkey::ceremony::{Answer, Request};
use crate::passkey::probe::ProbeReport;
use crate::passkey::ui::{PasskeyEvent, PinReply};
use crate::passkey::{PasskeyError, PasskeyTransport};
use crate::tui::i18n::Tr;
use crate::tui::mailbox::MailItem;
use crate::tui::shell::form::{Hit, Target};
use crate::tui::theme::Theme;

/// What happens to the app; `R` is the mode's reply type.
#[derive(Debug)]
pub enum Msg<R> {
    /// A key (only presses count).
    Key(KeyEvent),
    /// Pasted text (bracketed paste).
    Paste(String),
    /// A click on something recorded while drawing.
    Click(Target),
    /// A second passed.
    Tick,
    /// The terminal changed size.
    Resize(u16, u16),
    /// The answer to the request `seq`.
    Response {
        /// The request's number (from [`Command::Call`]).
        seq: u64,
        /// The answer.
        result: Result<R, ClientError>,
    },
    /// The mailbox listing.
    Mailbox(Result<Vec<MailItem>, String>),
    /// SIGTERM / SIGHUP.
    Terminate,
    /// What the transport probe found.
    PasskeyProbed(ProbeReport),
    /// The running passkey ceremony asks something of the member.
    Passkey(PasskeyEvent),
    /// The running passkey ceremony ended.
    PasskeyDone(Result<Shared<Answer>, PasskeyError>),
    /// The answer of the background watch ([`Command::Watch`]), beside the request in flight.
    Pushed(Result<R, ClientError>),
}

/// What the runtime must do; `C` is the mode's request type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<C> {
    /// Run `call` and answer with `Msg::Response { seq, .. }`.
    Call {
        /// The request's number.
        seq: u64,
        /// The request.
        call: C,
    },
    /// List the demo mailbox and answer with `Msg::Mailbox`.
    ListMailbox,
    /// The member switched the language: later requests say so (no answer).
    Lang(crate::api::Lang),
    /// Leave (after signing out the open flow, if `sign_out` is given).
    Quit {
        /// The flow to end on the way out.
        sign_out: Option<FlowToken>,
    },
    /// Probe the passkey transports and answer with `Msg::PasskeyProbed`.
    ProbePasskeys,
    /// Run a passkey ceremony on its own thread; its events come back as `Msg::Passkey`, its
    /// end as `Msg::PasskeyDone`.
    RunPasskey {
        /// Through which transport.
        transport: PasskeyTransport,
        /// What the server asked for.
        request: Shared<Request>,
    },
    /// Hand the typed PIN (or `None`: give up) to the running ceremony.
    PasskeyPin(Shared<PinReply>),
    /// Stop waiting for the running ceremony (Esc).
    CancelPasskey,
    /// Run `call` in the background beside the request in flight (a server push the mode
    /// follows); its answer comes as `Msg::Pushed`. A new watch replaces the running one.
    Watch(C),
    /// Stop the running watch.
    StopWatch,
}

/// A message in the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// Error or information.
    pub error: bool,
    /// The text.
    pub msg: Tr,
}

/// The request in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Its number.
    pub seq: u64,
    /// A background check (the waiting screen's polling): no waiting indicator.
    pub background: bool,
}

/// Which global keys a mode has (a kiosk turns them off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Ctrl-C quits.
    pub quit: bool,
    /// F2 and Ctrl-L switch the language.
    pub switch_lang: bool,
    /// F3 opens the demo mailbox (where the mode has one).
    pub mailbox: bool,
}

impl KeyPolicy {
    /// Every global key.
    pub const ALL: Self = Self {
        quit: true,
        switch_lang: true,
        mailbox: true,
    };
}

/// The shared state every mode sees: language, status line, request in flight, clock.
#[derive(Debug)]
pub struct Shell {
    /// The language of the screens.
    pub lang: Lang,
    /// The request in flight.
    pub pending: Option<Pending>,
    /// The status line.
    pub banner: Option<Banner>,
    /// Whether something changed since the last draw.
    pub dirty: bool,
    /// Seconds since start.
    pub ticks: u64,
    /// The operator's portal, when it is not tobira's own: its name heads every screen.
    pub portal: Option<crate::api::PortalInfo>,
    next_seq: u64,
    quit: bool,
}

impl Shell {
    /// A shell in `lang`, nothing in flight.
    pub fn new(lang: Lang) -> Self {
        Self {
            lang,
            pending: None,
            banner: None,
            dirty: true,
            ticks: 0,
            portal: None,
            next_seq: 1,
            quit: false,
        }
    }

    /// Whether a foreground request is in flight (the waiting indicator is shown).
    pub fn waiting(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| !p.background)
    }

    /// Numbers a request and marks it in flight (a new one replaces the old: its answer will
    /// be dropped as stale).
    pub fn call<C>(&mut self, call: C, background: bool) -> Command<C> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending = Some(Pending { seq, background });
        Command::Call { seq, call }
    }

    /// An error in the status line.
    pub fn error(&mut self, msg: Tr) {
        self.banner = Some(Banner { error: true, msg });
    }

    /// Information in the status line.
    pub fn info(&mut self, key: &'static str) {
        self.banner = Some(Banner {
            error: false,
            msg: Tr::new(key),
        });
    }

    /// Japanese ⇄ English.
    pub fn toggle_lang(&mut self) {
        self.lang = match self.lang {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        };
    }

    /// Marks the app as quitting.
    pub fn set_quit(&mut self) {
        self.quit = true;
    }

    /// Takes back a quit a screen asked for (a kiosk has no way out for members).
    pub fn keep_running(&mut self) {
        self.quit = false;
    }

    /// Numbers a request that runs beside the one in flight (a kiosk's heartbeat, a sign-out
    /// on reset): it is not marked pending, and its answer goes to [`Mode::on_side_response`].
    pub fn side_call<C>(&mut self, call: C) -> Command<C> {
        let seq = self.next_seq;
        self.next_seq += 1;
        Command::Call { seq, call }
    }
}

/// A mode of the TUI (member now; kiosk, staff and script later): its key policy, session,
/// screens, requests and drawing. The shell calls it with itself borrowed alongside.
pub trait Mode {
    /// The mode's requests (executed by the runtime).
    type Call: std::fmt::Debug + Send + 'static;
    /// The answers to them.
    type Reply: std::fmt::Debug + Send + 'static;

    /// Which global keys exist in this mode.
    fn keys(&self) -> KeyPolicy;
    /// A key the shell did not take.
    fn on_key(&mut self, shell: &mut Shell, key: KeyEvent) -> Vec<Command<Self::Call>>;
    /// Pasted text.
    fn on_paste(&mut self, shell: &mut Shell, text: &str);
    /// A click on something recorded while drawing.
    fn on_click(&mut self, shell: &mut Shell, target: Target) -> Vec<Command<Self::Call>>;
    /// A second passed (`shell.ticks` already counts it).
    fn on_tick(&mut self, shell: &mut Shell) -> Vec<Command<Self::Call>>;
    /// The language changed.
    fn on_lang(&mut self, shell: &mut Shell) -> Vec<Command<Self::Call>>;
    /// Whether an answer to a background request changes nothing on screen.
    fn quiet(&self, result: &Result<Self::Reply, ClientError>, background: bool) -> bool;
    /// The answer to the request in flight.
    fn on_response(
        &mut self,
        shell: &mut Shell,
        result: Result<Self::Reply, ClientError>,
        background: bool,
    ) -> Vec<Command<Self::Call>>;
    /// Any other message (mailbox listings, passkey events).
    fn on_other(&mut self, shell: &mut Shell, msg: Msg<Self::Reply>) -> Vec<Command<Self::Call>>;
    /// Leaving: the flow to end on the way out.
    fn on_quit(&mut self) -> Option<FlowToken>;
    /// Draws everything; returns the clickable rectangles.
    fn draw(&self, frame: &mut Frame, shell: &Shell, theme: Theme) -> Vec<Hit>;
    /// The screen on display, named: a status message belongs to the screen that set it.
    fn screen_name(&self) -> &'static str {
        ""
    }

    /// The answer to a request that is not the one in flight (a side request, or a stale
    /// answer): dropped unless the mode made side requests.
    fn on_side_response(
        &mut self,
        _shell: &mut Shell,
        seq: u64,
        _result: Result<Self::Reply, ClientError>,
    ) -> Vec<Command<Self::Call>> {
        tracing::debug!(seq, "stale answer dropped");
        Vec::new()
    }

    /// Whether the terminal must wipe the screen and its scrollback now (a kiosk after a
    /// reset); asking clears the request.
    fn take_wipe(&mut self) -> bool {
        false
    }

    /// Whether the screen and scrollback are wiped when the app ends.
    fn wipe_on_exit(&self) -> bool {
        false
    }

    /// Whether SIGHUP ends the app (a kiosk ignores it).
    fn hangup_quits(&self) -> bool {
        true
    }
}

/// The whole TUI state: the shell and one mode.
#[derive(Debug)]
pub struct App<M> {
    /// What every mode shares.
    pub shell: Shell,
    /// The mode (its session, screens and requests).
    pub mode: M,
}

impl<M: Mode> App<M> {
    /// An app in `lang` running `mode`.
    pub fn with_mode(lang: Lang, mode: M) -> Self {
        Self {
            shell: Shell::new(lang),
            mode,
        }
    }

    /// Whether the app asked to quit.
    pub fn should_quit(&self) -> bool {
        self.shell.quit
    }

    /// Whether a foreground request is in flight (the waiting indicator is shown).
    pub fn waiting(&self) -> bool {
        self.shell.waiting()
    }

    /// Draws the app; returns the clickable rectangles.
    pub fn draw(&self, frame: &mut Frame, theme: Theme) -> Vec<Hit> {
        self.mode.draw(frame, &self.shell, theme)
    }

    /// Handles one message; returns what the runtime must do.
    ///
    /// A status message belongs to the screen that set it: one left from an earlier screen is
    /// cleared when the message moves to another screen without saying something new (what a
    /// move says on purpose, "you are signed out" on the sign-in screen, is set by the move).
    pub fn update(&mut self, msg: Msg<M::Reply>) -> Vec<Command<M::Call>> {
        let screen = self.mode.screen_name();
        let banner = self.shell.banner.clone();
        let cmds = self.handle(msg);
        if banner.is_some() && self.shell.banner == banner && self.mode.screen_name() != screen {
            self.shell.banner = None;
            self.shell.dirty = true;
        }
        cmds
    }

    fn handle(&mut self, msg: Msg<M::Reply>) -> Vec<Command<M::Call>> {
        let shell = &mut self.shell;
        match msg {
            Msg::Key(key) => {
                if key.kind != KeyEventKind::Press {
                    return Vec::new();
                }
                shell.dirty = true;
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                let keys = self.mode.keys();
                match key.code {
                    KeyCode::Char('c') if ctrl && keys.quit => self.quit(),
                    KeyCode::F(2) if keys.switch_lang => self.switch_lang(),
                    KeyCode::Char('l') if ctrl && keys.switch_lang => self.switch_lang(),
                    _ => self.mode.on_key(shell, key),
                }
            }
            Msg::Paste(text) => {
                shell.dirty = true;
                self.mode.on_paste(shell, &text);
                Vec::new()
            }
            Msg::Click(Target::Lang) => {
                shell.dirty = true;
                self.switch_lang()
            }
            Msg::Click(target) => {
                shell.dirty = true;
                self.mode.on_click(shell, target)
            }
            Msg::Tick => {
                shell.ticks += 1;
                self.mode.on_tick(shell)
            }
            Msg::Resize(..) => {
                shell.dirty = true;
                Vec::new()
            }
            Msg::Response { seq, result } => {
                if shell.pending.as_ref().is_none_or(|p| p.seq != seq) {
                    return self.mode.on_side_response(shell, seq, result);
                }
                let background = shell.pending.as_ref().is_some_and(|p| p.background);
                shell.pending = None;
                if !self.mode.quiet(&result, background) {
                    shell.dirty = true;
                }
                self.mode.on_response(shell, result, background)
            }
            Msg::Terminate => self.quit(),
            other => self.mode.on_other(shell, other),
        }
    }

    /// Quits (Ctrl-C, SIGTERM, a Quit button).
    pub fn quit(&mut self) -> Vec<Command<M::Call>> {
        self.shell.quit = true;
        vec![Command::Quit {
            sign_out: self.mode.on_quit(),
        }]
    }

    /// Japanese ⇄ English, and whatever the mode fetches again for it.
    pub fn switch_lang(&mut self) -> Vec<Command<M::Call>> {
        self.shell.toggle_lang();
        self.mode.on_lang(&mut self.shell)
    }
}
