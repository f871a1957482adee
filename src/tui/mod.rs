//! The member TUI: the first login (steps 【1】–【11】 of the manual) on ratatui.
//!
//! - [`run`] is the entry point the binary calls;
//! - [`app`] holds the state and the pure `update` function (tested without a terminal);
//! - [`ui`] and [`screens`] draw; [`widgets`] are the shared pieces;
//! - [`i18n`] holds every string (assets/i18n/{ja,en}.toml);
//! - [`mailbox`] lists the demo outbox.
//!
//! The event loop waits on crossterm's `EventStream`, the answers of requests (which run as
//! tasks and report over a channel), a 1 s tick and SIGTERM/SIGHUP; it draws only when something
//! changed. The terminal is restored once: on return, on panic (hook) and on signals.
//!
//! # For the binary
//!
//! ```ignore
//! let opts = tobira::tui::TuiOptions {
//!     client,                                   // Client::new(&server_url)?
//!     lang: cli_lang.unwrap_or_else(tobira::tui::lang_from_env),
//!     demo_outbox: embedded.then(|| outbox_dir), // Some only in embedded demo mode
//!     no_color: cli_no_color || tobira::tui::no_color_from_env(),
//! };
//! tobira::tui::run(opts).await?;               // TuiError: std::error::Error
//! ```
//!
//! Set up tracing to a file before calling [`run`]: nothing here prints to the terminal.
//! [`run_with`] takes any [`mailbox::Mailbox`] (to plug in `mail::outbox::read_outbox`).

pub mod app;
pub mod i18n;
pub mod mailbox;
pub mod screens;
pub mod testing;
pub mod theme;
pub mod theme_contrast;
pub mod theme_detect;
pub mod ui;
pub mod widgets;

use std::io::{self, Stdout};
use std::path::PathBuf;
use std::sync::Arc;
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
use tokio::sync::mpsc;

use crate::api::{Lang, Method};
use crate::client::Client;
use app::{ApiCall, App, Command, Msg, Reply};
use mailbox::{DirMailbox, Mailbox};
use screens::Hit;
use theme::Theme;
use widgets::qr::QrStyle;

/// What the binary passes to [`run`].
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// The API client (embedded or remote server).
    pub client: Client,
    /// The starting language (see [`lang_from_env`]).
    pub lang: Lang,
    /// In embedded demo mode, the outbox directory shown in the mailbox panel (F3).
    pub demo_outbox: Option<PathBuf>,
    /// No colours (`NO_COLOR` set, or `--no-color`); see [`no_color_from_env`].
    pub no_color: bool,
    /// The background the colours are for ([`theme_detect::choose`]).
    pub background: theme::Background,
    /// How QR codes are drawn at first (F4 switches).
    pub qr_style: QrStyle,
    /// The offset dates are shown in (read before the runtime's threads start).
    pub utc_offset: time::UtcOffset,
    /// The soft test authenticator, offered on the passkey screens only when given
    /// (`--soft-authenticator`); never by default.
    pub soft_authenticator: Option<crate::passkey::SoftAuthenticator>,
}

/// Why the TUI stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// The terminal could not be set up, read or drawn on.
    #[error("terminal error: {0}")]
    Terminal(#[from] io::Error),
    /// The signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(io::Error),
}

/// The language from the environment: `LC_ALL`, then `LC_MESSAGES`, then `LANG`; `ja*` →
/// Japanese, anything else set → English, nothing set → Japanese (the manual's language).
pub fn lang_from_env() -> Lang {
    lang_from_vars(|k| std::env::var(k).ok())
}

/// [`lang_from_env`] over any variable lookup (for tests).
pub fn lang_from_vars(get: impl Fn(&str) -> Option<String>) -> Lang {
    for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
        if let Some(v) = get(var).filter(|v| !v.is_empty()) {
            if v == "C" || v == "POSIX" {
                return Lang::En;
            }
            return Lang::from_code(&v).unwrap_or(Lang::En);
        }
    }
    Lang::Ja
}

/// Whether `NO_COLOR` asks for no colours (set and not empty, per no-color.org).
pub fn no_color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

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

/// Runs the member TUI until the member quits (Ctrl-C, 終了) or SIGTERM/SIGHUP arrives.
pub async fn run(opts: TuiOptions) -> Result<(), TuiError> {
    let mailbox: Option<Arc<dyn Mailbox>> = opts
        .demo_outbox
        .map(|dir| Arc::new(DirMailbox::new(dir)) as Arc<dyn Mailbox>);
    let mut app = App::new(opts.lang, mailbox.is_some());
    app.qr_style = opts.qr_style;
    app.utc_offset = opts.utc_offset;
    let passkeys = PasskeyRunner::new(opts.soft_authenticator, crate::passkey::Limits::default());
    run_with(
        opts.client,
        app,
        mailbox,
        Theme::for_background(opts.no_color, opts.background),
        passkeys,
    )
    .await
}

/// [`run`] with any [`Mailbox`] (for example the real outbox reader once merged), starting
/// from `app`.
pub async fn run_with(
    client: Client,
    mut app: App,
    mailbox: Option<Arc<dyn Mailbox>>,
    theme: Theme,
    mut passkeys: PasskeyRunner,
) -> Result<(), TuiError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).map_err(TuiError::Signals)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(TuiError::Signals)?;

    let guard = TerminalGuard::enter()?;
    let mut terminal: Terminal<CrosstermBackend<Stdout>> =
        Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;

    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut hits: Vec<Hit> = Vec::new();

    let result = loop {
        if app.dirty {
            app.dirty = false;
            if let Err(e) = terminal.draw(|f| hits = ui::render(f, &app, theme)) {
                break Err(TuiError::Terminal(e));
            }
        }
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => translate(ev, &hits),
                Some(Err(e)) => break Err(TuiError::Terminal(e)),
                None => break Ok(()),
            },
            Some(msg) = rx.recv() => Some(msg),
            Some(msg) = passkeys.next() => Some(msg),
            _ = tick.tick() => Some(Msg::Tick),
            _ = sigterm.recv() => Some(Msg::Terminate),
            _ = sighup.recv() => Some(Msg::Terminate),
        };
        let Some(msg) = msg else { continue };
        let mut quit = None;
        for cmd in app.update(msg) {
            match cmd {
                Command::Call { seq, call } => {
                    let client = client.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let result = execute_call(&client, call).await;
                        let _ = tx.send(Msg::Response { seq, result });
                    });
                }
                Command::ListMailbox => {
                    if let Some(mb) = mailbox.clone() {
                        let tx = tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let r = mb.list().map_err(|e| e.to_string());
                            let _ = tx.send(Msg::Mailbox(r));
                        });
                    }
                }
                Command::Quit { sign_out } => quit = Some(sign_out),
                cmd @ (Command::ProbePasskeys
                | Command::RunPasskey { .. }
                | Command::PasskeyPin(_)
                | Command::CancelPasskey) => passkeys.handle(cmd, &client, &tx),
            }
        }
        if let Some(sign_out) = quit {
            if let Some(token) = sign_out {
                // End the open flow on the way out; do not wait long for it.
                let _ = tokio::time::timeout(Duration::from_secs(2), client.sign_out(&token)).await;
            }
            break Ok(());
        }
    };
    drop(terminal);
    drop(guard);
    result
}

/// The passkey side of the event loop: probes on a task, the ceremony on its own thread, its
/// events turned into messages. The ceremony never runs on the async loop.
pub struct PasskeyRunner {
    soft: Option<crate::passkey::SoftAuthenticator>,
    limits: crate::passkey::Limits,
    ceremony: Option<crate::passkey::ceremony::Ceremony>,
}

impl PasskeyRunner {
    /// A runner offering `soft` (tests and scripted runs) besides the hardware transports.
    pub fn new(
        soft: Option<crate::passkey::SoftAuthenticator>,
        limits: crate::passkey::Limits,
    ) -> Self {
        Self {
            soft,
            limits,
            ceremony: None,
        }
    }

    /// Carries out one of the passkey commands; answers arrive on `tx` or from [`Self::next`].
    pub fn handle(&mut self, cmd: Command, client: &Client, tx: &mpsc::UnboundedSender<Msg>) {
        use crate::passkey::ceremony::{Authenticator, Ceremony};
        use crate::passkey::{PasskeyError, PasskeyTransport};
        match cmd {
            Command::ProbePasskeys => {
                let (soft, limits, tx) = (self.soft.clone(), self.limits, tx.clone());
                tokio::spawn(async move {
                    let report = crate::passkey::probe::probe(limits, soft.as_ref()).await;
                    let _ = tx.send(Msg::PasskeyProbed(report));
                });
            }
            Command::RunPasskey { transport, request } => {
                if let Some(old) = self.ceremony.take() {
                    old.cancel();
                }
                let authenticator = match transport {
                    PasskeyTransport::Usb => Some(Authenticator::Usb),
                    PasskeyTransport::Bluetooth => Some(Authenticator::Bluetooth),
                    PasskeyTransport::Phone => Some(Authenticator::Phone),
                    PasskeyTransport::Soft => self.soft.clone().map(Authenticator::Soft),
                };
                let started = authenticator
                    .ok_or(PasskeyError::SoftNotSelected)
                    .and_then(|a| {
                        Ceremony::start(a, client.origin(), (*request.0).clone(), self.limits)
                    });
                match started {
                    Ok(c) => self.ceremony = Some(c),
                    Err(e) => {
                        let _ = tx.send(Msg::PasskeyDone(Err(e)));
                    }
                }
            }
            Command::PasskeyPin(pin) => {
                if let Some(c) = &self.ceremony {
                    c.send_pin((*pin.0).clone());
                }
            }
            Command::CancelPasskey => {
                if let Some(c) = self.ceremony.take() {
                    c.cancel();
                }
            }
            _ => {}
        }
    }

    /// The running ceremony's next event or its end; never ready without a ceremony.
    pub async fn next(&mut self) -> Option<Msg> {
        use crate::passkey::Shared;
        use crate::passkey::ceremony::Update;
        let Some(c) = self.ceremony.as_mut() else {
            return std::future::pending().await;
        };
        match c.next().await {
            Update::Event(e) => Some(Msg::Passkey(e)),
            Update::Done(r) => {
                self.ceremony = None;
                Some(Msg::PasskeyDone(r.map(Shared::new)))
            }
        }
    }
}

/// A terminal event as a message (key presses only; clicks hit-tested against `hits`).
pub fn translate(ev: Event, hits: &[Hit]) -> Option<Msg> {
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

/// Runs one request with the client.
pub async fn execute_call(
    client: &Client,
    call: ApiCall,
) -> Result<Reply, crate::client::ClientError> {
    Ok(match call {
        ApiCall::SignIn {
            user_id,
            password,
            lang,
        } => {
            let (t, v) = client.sign_in(&user_id, &password, lang).await?;
            Reply::SignedIn(t, v)
        }
        ApiCall::Flow(t) => Reply::Flow(client.flow(&t).await?),
        ApiCall::BirthDate(t, d) => Reply::Flow(client.birth_date(&t, &d).await?),
        ApiCall::Terms(lang) => Reply::Terms(client.terms(lang).await?),
        ApiCall::DecideTerms(t, a) => Reply::Flow(client.decide_terms(&t, a).await?),
        ApiCall::SubmitEmail(t, e) => Reply::Flow(client.submit_email(&t, e.as_deref()).await?),
        ApiCall::ResendEmail(t) => Reply::Flow(client.resend_email(&t).await?),
        ApiCall::Back(t) => Reply::Flow(client.back(&t).await?),
        ApiCall::ChooseMethod(t, m) => Reply::Flow(client.choose_method(&t, m).await?),
        ApiCall::SetCredentials {
            token,
            password,
            new_user_id,
        } => Reply::Flow(
            client
                .set_credentials(&token, &password, new_user_id.as_deref())
                .await?,
        ),
        ApiCall::SignOut(t) => {
            client.sign_out(&t).await?;
            Reply::SignedOut
        }
        ApiCall::OpenLink(link) => Reply::Link(client.open_link(&link).await?.0),
        ApiCall::StartTotp(t) => Reply::Enrollment(client.start_totp_enrollment(&t).await?),
        ApiCall::ConfirmTotp {
            token,
            code,
            device_name,
        } => Reply::Flow(
            client
                .confirm_totp_enrollment(&token, &code, &device_name)
                .await?,
        ),
        ApiCall::VerifyTotp(t, code) => Reply::Flow(client.verify_totp(&t, &code).await?),
        ApiCall::Home(t) => Reply::Home(client.home(&t).await?),
        ApiCall::ForgotUserId {
            symbol,
            number,
            birth_date,
            lang,
        } => {
            client
                .forgot_user_id(&symbol, &number, &birth_date, lang)
                .await?;
            Reply::Recovery
        }
        ApiCall::ForgotPassword {
            user_id,
            birth_date,
            lang,
        } => {
            client.forgot_password(&user_id, &birth_date, lang).await?;
            Reply::Recovery
        }
        ApiCall::ResetPassword {
            user_id,
            code,
            password,
        } => {
            client.reset_password(&user_id, &code, &password).await?;
            Reply::Recovery
        }
        ApiCall::ChangeEmail(t, email) => {
            Reply::EmailChangeStarted(client.change_email(&t, &email).await?.pending_email)
        }
        ApiCall::SendEmailCode(t) => Reply::EmailCodeSent(client.send_email_code(&t).await?.email),
        ApiCall::VerifyEmailCode(t, code) => {
            Reply::Flow(client.verify_email_code(&t, &code).await?)
        }
        ApiCall::StartPasskey(t, purpose) => {
            use crate::passkey::ceremony::Request;
            use crate::tui::screens::passkey::PasskeyPurpose;
            let request = match purpose {
                PasskeyPurpose::Register => {
                    Request::Register(client.start_passkey_registration(&t).await?.options)
                }
                PasskeyPurpose::SignIn => {
                    Request::Authenticate(client.start_passkey_authentication(&t).await?.options)
                }
            };
            Reply::PasskeyOptions(crate::passkey::Shared::new(request))
        }
        ApiCall::FinishPasskeyRegistration(t, answer, name) => match &*answer.0 {
            crate::passkey::ceremony::Answer::Registered(a) => Reply::Flow(
                client
                    .finish_passkey_registration(&t, (**a).clone(), &name)
                    .await?,
            ),
            crate::passkey::ceremony::Answer::Authenticated(_) => {
                return Err(crate::client::ClientError::Decode(
                    "a sign-in answer cannot register a passkey".into(),
                ));
            }
        },
        ApiCall::FinishPasskeyAuthentication(t, answer) => match &*answer.0 {
            crate::passkey::ceremony::Answer::Authenticated(a) => Reply::Flow(
                client
                    .finish_passkey_authentication(&t, (**a).clone())
                    .await?,
            ),
            crate::passkey::ceremony::Answer::Registered(_) => {
                return Err(crate::client::ClientError::Decode(
                    "a registration answer cannot sign in".into(),
                ));
            }
        },
        ApiCall::RenameFactor(t, Method::Passkey, id, name) => {
            Reply::Home(client.rename_passkey(&t, id, &name).await?)
        }
        ApiCall::RenameFactor(t, _, id, name) => {
            Reply::Home(client.rename_second_factor(&t, id, &name).await?)
        }
        ApiCall::RemoveFactor(t, Method::Passkey, id) => {
            Reply::Home(client.remove_passkey(&t, id).await?)
        }
        ApiCall::RemoveFactor(t, _, id) => Reply::Home(client.remove_second_factor(&t, id).await?),
        ApiCall::ChangePassword {
            token,
            current,
            new,
        } => Reply::Home(client.change_password(&token, &current, &new).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_locale_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(lang_from_vars(env(&[])), Lang::Ja);
        assert_eq!(lang_from_vars(env(&[("LANG", "ja_JP.UTF-8")])), Lang::Ja);
        assert_eq!(lang_from_vars(env(&[("LANG", "en_US.UTF-8")])), Lang::En);
        assert_eq!(lang_from_vars(env(&[("LANG", "C")])), Lang::En);
        assert_eq!(
            lang_from_vars(env(&[("LC_ALL", "ja_JP.UTF-8"), ("LANG", "en_US.UTF-8")])),
            Lang::Ja
        );
        assert_eq!(
            lang_from_vars(env(&[("LC_ALL", ""), ("LANG", "fr_FR.UTF-8")])),
            Lang::En
        );
    }

    #[test]
    fn clicks_hit_the_recorded_rectangles() {
        use ratatui::crossterm::event::{KeyModifiers, MouseEvent};
        use ratatui::layout::Rect;
        let hits = vec![Hit {
            rect: Rect::new(10, 5, 8, 1),
            target: screens::Target::Item(2),
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
            Some(Msg::Click(screens::Target::Item(2)))
        ));
        assert!(translate(click(12, 6), &hits).is_none());
    }
}
