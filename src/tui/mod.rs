//! The TUI: a shell shared by every mode and the modes themselves.
//!
//! - [`shell`]: the app's shared state and pure `update` ([`shell::app`]), forms, widgets, i18n,
//!   the runtime that carries out commands with no terminal ([`shell::runtime`]), the crossterm
//!   loop ([`shell::terminal`]) and the headless driver ([`shell::headless`]);
//! - [`modes`]: `member` (the first login, the second factor, the top screen) — its session,
//!   requests, chrome and one file per screen.
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

pub mod modes;
pub mod shell;
pub mod testing;

pub use shell::runtime::{PasskeyRunner, Runtime};
pub use shell::terminal::{restore_terminal, translate};
pub use shell::{i18n, mailbox, theme, theme_detect, widgets};

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::api::Lang;
use crate::client::Client;
use mailbox::{DirMailbox, Mailbox};
use modes::member::{App, Member};
use theme::Theme;
use widgets::qr::QrStyle;

/// What the binary passes to [`run`].
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// The API client (embedded or remote server).
    pub client: Client,
    /// The operator's portal as the server names it ([`portal_of`]): `None` keeps tobira's
    /// own header.
    pub portal: Option<crate::api::PortalInfo>,
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

/// The portal the header names: the server's, unless it is tobira's own default (whose
/// header is the one the screens always had).
pub fn portal_of(info: crate::api::PortalInfo) -> Option<crate::api::PortalInfo> {
    (info != crate::portal::Portal::default().info()).then_some(info)
}

/// Whether `NO_COLOR` asks for no colours (set and not empty, per no-color.org).
pub fn no_color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Runs the member TUI until the member quits (Ctrl-C, 終了) or SIGTERM/SIGHUP arrives.
pub async fn run(opts: TuiOptions) -> Result<(), TuiError> {
    let mailbox: Option<Arc<dyn Mailbox>> = opts
        .demo_outbox
        .map(|dir| Arc::new(DirMailbox::new(dir)) as Arc<dyn Mailbox>);
    let mut member = Member::with_qr_style(mailbox.is_some(), opts.qr_style);
    member.utc_offset = opts.utc_offset;
    let mut app = App::with_mode(opts.lang, member);
    app.shell.portal = opts.portal;
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

/// Runs the kiosk ([`modes::kiosk`]) until SIGTERM or a staff exit. `opts.lang`,
/// `demo_outbox` and `soft_authenticator` are not used: the kiosk speaks `settings.lang` and
/// has neither a mailbox nor a soft passkey. SIGINT, SIGQUIT, SIGTSTP and SIGHUP are ignored
/// while it runs, so nothing stops it between its terminal's raw-mode phases.
pub async fn run_kiosk(
    opts: TuiOptions,
    settings: modes::kiosk::KioskSettings,
) -> Result<(), TuiError> {
    let held = ignore_stop_signals().map_err(TuiError::Signals)?;
    let lang = settings.lang;
    let mut kiosk = modes::kiosk::Kiosk::new(settings, opts.qr_style, opts.utc_offset);
    kiosk.member.utc_offset = opts.utc_offset;
    let mut app = modes::kiosk::App::with_mode(lang, kiosk);
    app.shell.portal = opts.portal;
    let passkeys = PasskeyRunner::new(None, crate::passkey::Limits::default());
    let result = shell::terminal::run(
        app,
        Runtime::new(opts.client, None, passkeys),
        Theme::for_background(opts.no_color, opts.background),
    )
    .await;
    drop(held);
    result
}

/// Ignores SIGINT, SIGQUIT, SIGTSTP and SIGHUP for as long as the returned handles live (a
/// handler replaces the default action; the streams are never read). Needs a tokio runtime.
pub fn ignore_stop_signals() -> io::Result<Vec<tokio::signal::unix::Signal>> {
    use tokio::signal::unix::{SignalKind, signal};
    [
        SignalKind::interrupt(),
        SignalKind::quit(),
        SignalKind::hangup(),
        SignalKind::from_raw(SIGTSTP),
    ]
    .into_iter()
    .map(signal)
    .collect()
}

/// SIGTSTP on Linux (x86, ARM, RISC-V).
const SIGTSTP: i32 = 20;

/// [`run`] with any [`Mailbox`] (for example the real outbox reader once merged), starting
/// from `app`.
pub async fn run_with(
    client: Client,
    app: App,
    mailbox: Option<Arc<dyn Mailbox>>,
    theme: Theme,
    passkeys: PasskeyRunner,
) -> Result<(), TuiError> {
    shell::terminal::run(app, Runtime::new(client, mailbox, passkeys), theme).await
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
}
