//! The staff console (`tobira helpdesk`): staff sign in (or enrol) with an authenticator app or
//! a passkey, find the caller, see where they are stuck (live), verify them and act — each
//! action with a reason and the case's version, so that nobody acts on a view the member has moved on from.
//!
//! The session token is kept in the OS keyring ([`StaffKeyring`]) so that a staff member signs
//! in once per shift; where no keyring service runs the console says so once and keeps it in
//! memory. Keyring calls block: they run as requests on the runtime's blocking threads.

pub mod api;
pub mod chrome;
pub mod fake;
pub mod screens;
pub mod words;

use std::sync::Arc;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::api::ErrorCode;
use crate::api::staff::StaffMe;
use crate::client::staff_keyring::{KeptIn, KeptSession, StaffKeyring};
use crate::client::{ClientError, FlowToken, StaffToken};
use crate::tui::i18n::Tr;
use crate::tui::shell::app::{self as shell_app, KeyPolicy, Mode, Shell};
use crate::tui::shell::form::{self, FormKey, Hit, Target};
use crate::tui::theme::Theme;
use crate::tui::widgets::qr::QrStyle;

pub use api::{Reply, StaffCall};
pub use screens::{Cx, Field, InputId, Intent, Page, Screen};

/// The staff console's app.
pub type App = shell_app::App<Staff>;
/// The staff console's messages.
pub type Msg = shell_app::Msg<Reply>;
/// The staff console's commands.
pub type Command = shell_app::Command<StaffCall>;

/// Seconds a case shows "updated" after a live reload.
pub const UPDATED_SECS: u64 = 3;
/// Seconds before a broken live watch is opened again.
const WATCH_RETRY_SECS: u64 = 5;

/// The current Unix time.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The staff session and what the chrome shows.
pub struct Session {
    /// The signed-in session's token.
    pub token: Option<StaffToken>,
    /// Who is signed in.
    pub me: Option<StaffMe>,
    /// Where the session is kept between runs.
    pub keyring: Arc<StaffKeyring>,
    /// Field errors of the current screen.
    pub errors: Vec<(Field, Tr)>,
    /// Whether the "kept in memory only" notice was shown.
    pub memory_notice_shown: bool,
    /// How QR codes are drawn.
    pub qr_style: QrStyle,
    /// The search a case was opened from, to go back to.
    pub last_search: Option<screens::search::SearchState>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token", &self.token)
            .field("me", &self.me)
            .field("kept_in", &self.keyring.kept_in())
            .field("errors", &self.errors)
            .finish()
    }
}

impl Session {
    /// Signed in as `me` with `token`: keep it (in the keyring, or memory with a notice once).
    pub fn signed_in(&mut self, shell: &mut Shell, token: StaffToken, me: StaffMe) -> Command {
        let kept = KeptSession {
            login: me.login.clone(),
            token: zeroize::Zeroizing::new(token.secret().to_owned()),
            expires_at: me.session.absolute_expires_at,
        };
        self.token = Some(token);
        self.me = Some(me);
        if self.keyring.kept_in() == KeptIn::MemoryOnly {
            self.memory_notice(shell);
        }
        shell.call(StaffCall::Keep(Arc::clone(&self.keyring), kept), true)
    }

    /// Says once that the session lives in memory only.
    pub fn memory_notice(&mut self, shell: &mut Shell) {
        if !self.memory_notice_shown {
            self.memory_notice_shown = true;
            shell.info("staff.keyring_memory");
        }
    }

    /// The session ended (expired or signed out): nothing of it stays.
    pub fn end(&mut self) {
        self.token = None;
        self.me = None;
        self.last_search = None;
    }
}

/// The staff console: the session and the current screen.
#[derive(Debug)]
pub struct Staff {
    /// The session.
    pub session: Session,
    /// The current screen.
    pub screen: Screen,
    /// The offset times are shown in.
    pub utc_offset: time::UtcOffset,
    /// The wall clock a kept session's end is checked against (Unix seconds).
    pub clock: fn() -> i64,
    /// The tick a broken watch is opened again at.
    watch_retry_at: Option<u64>,
    /// The case being watched (user ID) and the version known.
    watching: Option<(String, String)>,
}

impl Staff {
    /// A console that keeps its session in `keyring`.
    pub fn new(keyring: Arc<StaffKeyring>) -> Self {
        Self {
            session: Session {
                token: None,
                me: None,
                keyring,
                errors: Vec::new(),
                memory_notice_shown: false,
                qr_style: QrStyle::default(),
                last_search: None,
            },
            screen: Screen::Starting,
            utc_offset: time::UtcOffset::UTC,
            clock: unix_now,
            watch_retry_at: None,
            watching: None,
        }
    }

    /// The first command: look for a kept session.
    pub fn start(&mut self, shell: &mut Shell) -> Vec<Command> {
        let now = (self.clock)();
        vec![shell.call(
            StaffCall::Resume(Arc::clone(&self.session.keyring), now),
            false,
        )]
    }

    fn with_page(
        &mut self,
        shell: &mut Shell,
        f: impl FnOnce(&mut dyn Page, &mut Cx),
    ) -> Vec<Command> {
        let mut cx = Cx::new(shell, &mut self.session);
        cx.utc_offset = self.utc_offset;
        if let Some(page) = self.screen.page_mut() {
            f(page, &mut cx);
        }
        let (mut cmds, next) = cx.finish();
        if let Some(next) = next {
            self.screen = next;
        }
        cmds.extend(self.follow(shell));
        cmds
    }

    /// Keeps the live watch on the open case (and only on it). The watch follows the server's
    /// versions, not the screen's copy: a dialog that keeps its view (an action waiting for its
    /// reason) does not make the watch fire again and again.
    fn follow(&mut self, _shell: &Shell) -> Vec<Command> {
        let want = self
            .screen
            .case()
            .map(|c| (c.case.user_id.clone(), c.case.version.clone()));
        let same = match (&want, &self.watching) {
            (Some((u, _)), Some((w, _))) => u == w,
            (None, None) => true,
            _ => false,
        };
        if same {
            return Vec::new();
        }
        self.watch_retry_at = None;
        match (want, &self.session.token) {
            (Some((user_id, version)), Some(token)) => {
                self.watching = Some((user_id.clone(), version.clone()));
                vec![Command::Watch(StaffCall::Watch(
                    token.clone(),
                    user_id,
                    version,
                ))]
            }
            _ => {
                self.watching = None;
                vec![Command::StopWatch]
            }
        }
    }

    /// Opens the watch again from the last version the server sent.
    fn rewatch(&mut self) -> Vec<Command> {
        match (&self.watching, &self.session.token) {
            (Some((user_id, version)), Some(token)) => vec![Command::Watch(StaffCall::Watch(
                token.clone(),
                user_id.clone(),
                version.clone(),
            ))],
            _ => Vec::new(),
        }
    }

    /// The staff session ended on the server: forget it, say so, sign in again.
    fn session_expired(&mut self, shell: &mut Shell) -> Vec<Command> {
        self.session.end();
        self.screen = Screen::SignIn(Default::default());
        self.watching = None;
        let forget = shell.call(StaffCall::Forget(Arc::clone(&self.session.keyring)), true);
        shell.error(Tr::new("err.staff_session_expired"));
        vec![Command::StopWatch, forget]
    }

    fn on_pushed(&mut self, shell: &mut Shell, result: Result<Reply, ClientError>) -> Vec<Command> {
        match result {
            Ok(Reply::Changed { user_id, version }) => {
                let Some((watched, known)) = self.watching.as_mut() else {
                    return Vec::new();
                };
                if *watched != user_id {
                    return Vec::new();
                }
                if let Some(v) = version
                    && v != *known
                {
                    *known = v;
                    // The staff's own action already brought this version on screen.
                    if let Some(case) = self.screen.case_mut()
                        && case.case.version != *known
                    {
                        case.reload_wanted = true;
                    }
                }
                let mut cmds = self.reload_if_idle(shell);
                cmds.extend(self.rewatch());
                cmds
            }
            Ok(_) => Vec::new(),
            Err(ClientError::Api(e)) if e.code == ErrorCode::StaffSessionExpired => {
                shell.dirty = true;
                self.session_expired(shell)
            }
            Err(e) => {
                tracing::debug!(error = %e, "the live watch broke; opening it again soon");
                self.watch_retry_at = Some(shell.ticks + WATCH_RETRY_SECS);
                Vec::new()
            }
        }
    }

    /// A live change asks for the case again, when no other request is in flight (a reload
    /// must not drop the answer of an action).
    fn reload_if_idle(&mut self, shell: &mut Shell) -> Vec<Command> {
        let Some(token) = self.session.token.clone() else {
            return Vec::new();
        };
        if shell.pending.is_some() {
            return Vec::new();
        }
        let Some(case) = self.screen.case_mut() else {
            return Vec::new();
        };
        if !case.reload_wanted {
            return Vec::new();
        }
        case.reload_wanted = false;
        // A change pushed while an action was in flight, whose answer brought that version.
        if self
            .watching
            .as_ref()
            .is_some_and(|(_, known)| *known == case.case.version)
        {
            return Vec::new();
        }
        case.live_reload = true;
        vec![shell.call(StaffCall::Case(token, case.case.user_id.clone()), true)]
    }

    fn generic_error(&mut self, shell: &mut Shell, e: &ClientError) -> Vec<Command> {
        let ClientError::Api(api) = e else {
            shell.error(Tr::new(match e {
                ClientError::Transport(_) => "err.transport",
                _ => "err.decode",
            }));
            return Vec::new();
        };
        if api.code == ErrorCode::StaffSessionExpired {
            return self.session_expired(shell);
        }
        shell.error(words::error_message(api));
        Vec::new()
    }
}

impl Mode for Staff {
    type Call = StaffCall;
    type Reply = Reply;

    fn keys(&self) -> KeyPolicy {
        KeyPolicy {
            quit: true,
            switch_lang: true,
            mailbox: false,
        }
    }

    fn on_key(&mut self, shell: &mut Shell, key: KeyEvent) -> Vec<Command> {
        if matches!(self.screen, Screen::Starting) {
            return Vec::new();
        }
        if key.code == KeyCode::F(4) {
            self.session.qr_style = match self.session.qr_style {
                QrStyle::HalfBlocks => QrStyle::Spaces,
                QrStyle::Spaces => QrStyle::HalfBlocks,
            };
            return self.with_page(shell, |p, cx| p.on_intent(Intent::ToggleQrStyle, cx));
        }
        self.with_page(shell, |p, cx| {
            if p.on_key(key, cx) {
                return;
            }
            match form::form_key(p, key) {
                FormKey::Done => {}
                FormKey::Intent(i) => p.on_intent(i, cx),
                FormKey::Back => p.on_back(cx),
                FormKey::Edited { input, cleared } => {
                    if cleared {
                        let field = input.field();
                        cx.session.errors.retain(|(f, _)| *f != field);
                    }
                    p.on_edit(input, cx);
                }
            }
        })
    }

    fn on_paste(&mut self, shell: &mut Shell, text: &str) {
        let _ = self.with_page(shell, |p, cx| {
            form::form_paste(p, text);
            if let Some(form::Item::Input(id)) = p.focused() {
                p.on_edit(id, cx);
            }
        });
    }

    fn on_click(&mut self, shell: &mut Shell, target: Target) -> Vec<Command> {
        self.with_page(shell, |p, cx| match target {
            Target::Item(i) if i < p.items().len() => {
                p.set_focus(i);
                if let Some(form::Item::Button(intent)) = p.focused() {
                    p.on_intent(intent, cx);
                }
            }
            Target::Row(r) => p.on_row(r, cx),
            _ => {}
        })
    }

    fn on_tick(&mut self, shell: &mut Shell) -> Vec<Command> {
        let mut cmds = self.with_page(shell, |p, cx| p.on_tick(cx));
        if let Some(case) = self.screen.case_mut() {
            if case.updated_until.is_some_and(|t| shell.ticks >= t) {
                case.updated_until = None;
                shell.dirty = true;
            }
            // The proof's minutes count down in the header.
            if case.case.verification.is_some() {
                shell.dirty = true;
            }
        }
        if self.watch_retry_at.is_some_and(|t| shell.ticks >= t) {
            self.watch_retry_at = None;
            cmds.extend(self.rewatch());
        }
        cmds.extend(self.reload_if_idle(shell));
        cmds
    }

    fn on_lang(&mut self, _shell: &mut Shell) -> Vec<Command> {
        Vec::new()
    }

    fn quiet(&self, result: &Result<Reply, ClientError>, background: bool) -> bool {
        background && matches!(result, Ok(Reply::Kept(Ok(())) | Reply::Forgotten))
    }

    fn on_response(
        &mut self,
        shell: &mut Shell,
        result: Result<Reply, ClientError>,
        _background: bool,
    ) -> Vec<Command> {
        match result {
            Ok(Reply::Resumed {
                session,
                refused,
                unreadable,
            }) => {
                if let Some(why) = unreadable {
                    tracing::warn!(%why, "the kept staff session could not be read");
                }
                if self.session.keyring.kept_in() == KeptIn::MemoryOnly {
                    self.session.memory_notice(shell);
                }
                match session {
                    Some((token, me)) => {
                        self.session.token = Some(token);
                        self.session.me = Some(me);
                        self.screen = Screen::Search(Default::default());
                    }
                    None => {
                        self.screen = Screen::SignIn(Default::default());
                        if refused {
                            shell.error(Tr::new("err.staff_session_expired"));
                        }
                    }
                }
                Vec::new()
            }
            Ok(Reply::Kept(r)) => {
                if let Err(why) = r {
                    tracing::warn!(%why, "the staff session could not be kept in the keyring");
                    self.session.memory_notice(shell);
                }
                Vec::new()
            }
            Ok(Reply::Forgotten) => Vec::new(),
            Ok(Reply::SignedOut) => {
                self.session.end();
                self.screen = Screen::SignIn(Default::default());
                shell.info("staff.signed_out");
                self.follow(shell)
            }
            Ok(reply) => self.with_page(shell, |p, cx| p.on_reply(reply, cx)),
            Err(e) => {
                if let ClientError::Api(api) = &e
                    && api.code != ErrorCode::StaffSessionExpired
                {
                    let mut handled = false;
                    let cmds = self.with_page(shell, |p, cx| handled = p.on_error(api, cx));
                    if handled {
                        return cmds;
                    }
                }
                self.generic_error(shell, &e)
            }
        }
    }

    fn on_other(&mut self, shell: &mut Shell, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Pushed(result) => {
                shell.dirty = true;
                self.on_pushed(shell, result)
            }
            Msg::PasskeyProbed(_) | Msg::Passkey(_) | Msg::PasskeyDone(_) => {
                shell.dirty = true;
                self.with_page(shell, |p, cx| p.on_device(msg, cx))
            }
            _ => Vec::new(),
        }
    }

    fn on_quit(&mut self) -> Option<FlowToken> {
        // The staff session outlives the console: it is kept for the shift.
        None
    }

    fn draw(&self, frame: &mut Frame, shell: &Shell, theme: Theme) -> Vec<Hit> {
        chrome::render(frame, shell, self, theme)
    }
}

/// The staff console's app in `lang` over `keyring`, and its first commands.
pub fn app(lang: crate::api::Lang, keyring: Arc<StaffKeyring>) -> (App, Vec<Command>) {
    app_with_clock(lang, keyring, unix_now)
}

/// [`app`] with another wall clock (tests against a server on a manual clock).
pub fn app_with_clock(
    lang: crate::api::Lang,
    keyring: Arc<StaffKeyring>,
    clock: fn() -> i64,
) -> (App, Vec<Command>) {
    let mut staff = Staff::new(keyring);
    staff.clock = clock;
    let mut app = App::with_mode(lang, staff);
    let cmds = app.mode.start(&mut app.shell);
    (app, cmds)
}

/// Runs the staff console on the terminal until the staff member quits (Ctrl-C) or
/// SIGTERM/SIGHUP arrives; `first` are the app's first commands ([`app`]); `soft` is offered
/// on the passkey screen besides the hardware (tests and scripted runs only).
pub async fn run(
    client: crate::client::Client,
    app: App,
    first: Vec<Command>,
    theme: Theme,
    soft: Option<crate::passkey::SoftAuthenticator>,
) -> Result<(), crate::tui::TuiError> {
    let passkeys = crate::tui::PasskeyRunner::new(soft, crate::passkey::Limits::default());
    let mut runtime = crate::tui::Runtime::new(client, None, passkeys);
    for cmd in first {
        runtime.start(cmd);
    }
    crate::tui::shell::terminal::run(app, runtime, theme).await
}

/// The keyring entry of a server: its URL, or for the embedded server (whose port changes
/// every run) the database it serves — without a password a URL may carry, since entry names
/// are readable by anything that lists the keyring.
pub fn keyring_entry(server: Option<&str>, database: &str) -> String {
    match server {
        Some(url) => crate::store::redacted(url),
        None => format!("embedded:{}", crate::store::redacted(database)),
    }
}

#[cfg(test)]
mod keyring_entry_tests {
    use super::keyring_entry;

    #[test]
    fn an_entry_name_never_holds_a_password() {
        let e = keyring_entry(None, "postgres://tobira:s3cret@db.internal/tobira");
        assert_eq!(e, "embedded:postgres://tobira:***@db.internal/tobira");
        assert_eq!(
            keyring_entry(None, "/var/lib/tobira/tobira.db"),
            "embedded:/var/lib/tobira/tobira.db"
        );
        assert_eq!(
            keyring_entry(Some("https://hd.example"), "x.db"),
            "https://hd.example"
        );
    }
}
