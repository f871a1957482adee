//! The member mode: the first login (steps 【1】–【11】 of the manual), the set-up of the second
//! factor, the top screen and the recovery screens.
//!
//! What lives here is only what the screens share: the session ([`Session`], one value dropped
//! whole on a scrub), the server's step → the screen for it ([`Member::show_step`]), the answers
//! and errors no screen claims, the demo mailbox panel and the key policy. Each screen's own
//! keys, buttons, answers, errors and Esc are in its file under [`screens`], behind [`Page`].

pub mod api;
pub mod chrome;
pub mod fake;
pub mod screens;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::api::{ErrorCode, FlowView, Method, Step};
use crate::client::{ClientError, FlowToken};
use crate::tui::i18n::Tr;
use crate::tui::mailbox::MailItem;
use crate::tui::shell::app::{self as shell_app, KeyPolicy, Mode, Shell};
use crate::tui::shell::form::{self, FormKey, Hit, Target};
use crate::tui::theme::Theme;
use crate::tui::widgets::qr::QrStyle;

pub use api::{ApiCall, LinkAnswer, Reply};
pub use screens::{Cx, Field, InputId, Intent, Item, Page, Screen};

use screens::awaiting::AwaitingState;
use screens::birth_date::BirthDateState;
use screens::choose_method::ChooseState;
use screens::complete::{CompletePhase, CompleteState};
use screens::email::EmailState;
use screens::email_code::{EmailCodeState, EmailCodeUse};
use screens::home::{HomeMode, HomeState};
use screens::new_credentials::CredentialsState;
use screens::passkey::PasskeyPurpose;
use screens::second_factor::SecondFactorState;
use screens::step_up::{self, StepUpState};
use screens::terms::TermsState;
use screens::totp_enroll::{EnrollOrigin, TotpEnrollState};
use screens::welcome::WelcomeState;

/// Seconds between automatic checks while waiting for the verification link.
pub const POLL_SECS: u64 = 3;

/// How long before the flow's idle timeout the member is warned (and can extend it with a key).
pub const IDLE_WARN_SECS: u64 = 60;

/// The member TUI: the shell running the member mode.
pub type App = shell_app::App<Member>;
/// A message to the member TUI.
pub type Msg = shell_app::Msg<Reply>;
/// What the member TUI asks the runtime to do.
pub type Command = shell_app::Command<ApiCall>;

/// The demo mailbox panel.
#[derive(Debug, Clone, Default)]
pub struct MailboxView {
    /// Shown.
    pub open: bool,
    /// The messages, newest first.
    pub items: Vec<MailItem>,
    /// The selected message.
    pub selected: usize,
    /// Why the listing failed.
    pub error: Option<String>,
    /// The listing asked for when the panel opened has not come yet: what is shown is from the
    /// last time the panel was open.
    pub listing: bool,
    /// Enter was pressed before that listing came: the newest mail is opened once it does.
    pub open_when_listed: bool,
}

/// Everything one member's visit leaves in memory: dropping it forgets the member.
#[derive(Debug)]
pub struct Session {
    /// The screen on display.
    pub screen: Screen,
    /// The flow's token while a flow is open.
    pub token: Option<FlowToken>,
    /// The last view of the flow the server sent.
    pub flow: Option<FlowView>,
    /// Messages next to fields.
    pub errors: Vec<(Field, Tr)>,
    /// The demo mailbox (None when not in demo mode).
    pub mailbox: Option<MailboxView>,
    /// How QR codes are drawn (F4 switches).
    pub qr_style: QrStyle,
    last_poll: u64,
    /// `shell.ticks` when the server last extended the flow (a request the member made).
    active_at: u64,
    /// The idle warning is on screen: the next key extends the flow.
    pub idle_warning: bool,
    /// The sensitive request in flight, which a `step_up_required` answer hands to the step-up
    /// prompt to send again (dropped with its answer).
    sensitive: Option<ApiCall>,
    /// The kinds of second factor the top screen last listed (what the step-up offers).
    pub factor_kinds: Vec<Method>,
    /// `shell.ticks` when the step-up window the top screen last heard of ends (a sensitive
    /// request after it asks first); None when not known.
    pub step_up_until: Option<u64>,
    /// An address change asked from the top screen, for the flow it was asked in: the top
    /// screen checks until the link is opened, then shows the new address.
    pub pending_email: Option<(FlowToken, String)>,
}

impl Session {
    /// Overwrites what identifies the member before the session is dropped (a shared terminal
    /// must keep nothing of one member in freed memory): the flow's ID, name and address, a
    /// pending address, the top screen's summary and an authenticator set-up's key and URI.
    /// Typed fields zeroize themselves when dropped.
    pub fn wipe(&mut self) {
        use zeroize::Zeroize;
        fn wipe_flow(f: &mut FlowView) {
            f.user_id.zeroize();
            f.name.zeroize();
            f.email.zeroize();
        }
        if let Some(f) = self.flow.as_mut() {
            wipe_flow(f);
        }
        if let Some((_, e)) = self.pending_email.as_mut() {
            e.zeroize();
        }
        match &mut self.screen {
            Screen::TotpEnroll(s) => {
                if let Some(e) = s.enrollment.as_mut() {
                    e.secret.zeroize();
                    e.otpauth_uri.zeroize();
                    e.account.zeroize();
                }
            }
            Screen::Home(h) => {
                if let Some(v) = h.view.as_mut() {
                    wipe_flow(&mut v.flow);
                    v.member.name.zeroize();
                    v.member.user_id.zeroize();
                    v.member.email.zeroize();
                    for f in &mut v.second_factors {
                        f.name.zeroize();
                    }
                }
            }
            _ => {}
        }
    }

    /// A visit on the welcome screen; `demo` enables the mailbox panel.
    pub fn new(demo: bool, qr_style: QrStyle) -> Self {
        Self {
            screen: Screen::Welcome(WelcomeState::default()),
            token: None,
            flow: None,
            errors: Vec::new(),
            mailbox: demo.then(MailboxView::default),
            qr_style,
            last_poll: 0,
            active_at: 0,
            idle_warning: false,
            sensitive: None,
            factor_kinds: Vec::new(),
            step_up_until: None,
            pending_email: None,
        }
    }

    /// Whether the app checks the flow by itself now: the screen asks for it, or the top screen
    /// waits for an address change to be confirmed.
    fn polls(&self) -> bool {
        self.screen.page().polls()
            || (matches!(self.screen, Screen::Home(_)) && self.pending_email.is_some())
    }

    /// The address the top screen waits for, if `view` (of the flow it was asked in) now has it.
    fn email_switched(&self, view: &FlowView) -> Option<String> {
        let (token, pending) = self.pending_email.as_ref()?;
        let now = view.email.as_deref()?;
        (view.step == Step::Home
            && self.token.as_ref() == Some(token)
            && now.eq_ignore_ascii_case(pending))
        .then(|| now.to_owned())
    }

    /// The error shown next to `field`.
    pub fn error(&self, field: Field) -> Option<&Tr> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, t)| t)
    }
}

/// The member mode: the session and the settings that outlive it.
#[derive(Debug)]
pub struct Member {
    /// The visit.
    pub session: Session,
    /// The offset the top screen shows dates in.
    pub utc_offset: time::UtcOffset,
    /// The global keys (all of them for a member at their own terminal).
    pub keys: KeyPolicy,
    /// How a new session draws QR codes at first.
    pub qr_style: QrStyle,
    /// The methods 【8】 offers (all of them at a member's own terminal; a kiosk may allow
    /// fewer).
    pub methods: Vec<Method>,
    /// The last frame asked for a larger terminal: the form is hidden, so keys for it are
    /// dropped rather than typed into fields the member cannot see.
    too_small: std::cell::Cell<bool>,
}

impl App {
    /// A new member app on the welcome screen; `demo` enables the mailbox panel.
    pub fn new(lang: crate::api::Lang, demo: bool) -> Self {
        Self::with_mode(lang, Member::new(demo))
    }
}

impl Member {
    /// The member mode on the welcome screen; `demo` enables the mailbox panel (F3).
    pub fn new(demo: bool) -> Self {
        Self::with_qr_style(demo, QrStyle::default())
    }

    /// [`Member::new`] drawing QR codes in `qr_style` at first (F4 switches).
    pub fn with_qr_style(demo: bool, qr_style: QrStyle) -> Self {
        Self {
            session: Session::new(demo, qr_style),
            utc_offset: time::UtcOffset::UTC,
            keys: KeyPolicy::ALL,
            qr_style,
            methods: Method::ALL.to_vec(),
            too_small: std::cell::Cell::new(false),
        }
    }

    /// Forgets the member: the session is dropped whole and a fresh one starts on the welcome
    /// screen. Returns the flow that was open, for the caller to end on the server.
    pub fn scrub(&mut self) -> Option<FlowToken> {
        let demo = self.session.mailbox.is_some();
        let mut old = std::mem::replace(&mut self.session, Session::new(demo, self.qr_style));
        old.wipe();
        old.token
    }

    /// Runs `f` on the screen on display with a context over the rest of the session, then
    /// carries out what it asked for afterwards (another screen, the language, quitting).
    fn with_page<T>(
        &mut self,
        shell: &mut Shell,
        f: impl FnOnce(&mut dyn Page, &mut Cx) -> T,
    ) -> (T, Vec<Command>) {
        let from_prompt = matches!(self.session.screen, Screen::StepUp(_));
        let Session {
            screen,
            token,
            flow,
            errors,
            qr_style,
            last_poll,
            ..
        } = &mut self.session;
        let mut cx = Cx::new(
            shell,
            token,
            flow,
            errors,
            qr_style,
            last_poll,
            self.utc_offset,
        );
        let out = f(screen.page_mut(), &mut cx);
        let after = cx.finish();
        // Only one request is in flight: a sensitive one sent here is the one a
        // `step_up_required` answer refuses.
        let mut sent = None;
        for cmd in &after.cmds {
            if let Command::Call { call, .. } = cmd {
                sent = step_up::may_need_step_up(call).then(|| call.clone());
                self.session.sensitive.clone_from(&sent);
            }
        }
        // Sent again by the prompt: the member was just proved; what the window is now, the
        // next top screen says.
        if from_prompt && sent.is_some() {
            self.session.step_up_until = None;
        }
        if let Some(next) = after.next {
            self.session.screen = next;
        }
        let mut cmds = after.cmds;
        if let Some(call) = sent
            && self
                .session
                .step_up_until
                .is_some_and(|until| shell.ticks >= until)
        {
            // The window is known to have lapsed: ask first instead of sending it to be refused.
            cmds.retain(|c| !matches!(c, Command::Call { call: c, .. } if *c == call));
            shell.pending = None;
            self.session.sensitive = None;
            cmds.extend(self.ask_step_up(shell, call));
        }
        if after.switch_lang {
            shell.toggle_lang();
            cmds.extend(self.on_lang(shell));
        }
        if after.quit {
            shell.set_quit();
            cmds.push(Command::Quit {
                sign_out: self.session.token.take(),
            });
        }
        (out, cmds)
    }

    fn page_cmds(
        &mut self,
        shell: &mut Shell,
        f: impl FnOnce(&mut dyn Page, &mut Cx),
    ) -> Vec<Command> {
        self.with_page(shell, f).1
    }

    /// A button (or Enter in an input): the common rule, then the screen.
    pub fn intent(&mut self, shell: &mut Shell, intent: Intent) -> Vec<Command> {
        // Nothing is sent while another request is on its way (the screen says so).
        if intent.sends() {
            if shell.waiting() {
                return Vec::new();
            }
            self.session.errors.clear();
            shell.banner = None;
        }
        self.page_cmds(shell, |p, cx| p.on_intent(intent, cx))
    }

    /// Esc: back to the previous screen where the journey allows it.
    fn back(&mut self, shell: &mut Shell) -> Vec<Command> {
        if shell.waiting() {
            return Vec::new();
        }
        let (stands_for, mut cmds) = self.with_page(shell, |p, cx| p.on_back(cx));
        if let Some(intent) = stands_for {
            cmds.extend(self.intent(shell, intent));
        }
        cmds
    }

    fn toggle_mailbox(&mut self) -> Vec<Command> {
        match &mut self.session.mailbox {
            Some(mb) => {
                mb.open = !mb.open;
                if mb.open {
                    // The newest mail first: the one a member who just pressed Resend wants.
                    mb.selected = 0;
                    mb.listing = true;
                    mb.open_when_listed = false;
                    vec![Command::ListMailbox]
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        }
    }

    fn open_mail_link(&mut self, shell: &mut Shell, i: usize) -> Vec<Command> {
        if shell.waiting() {
            return Vec::new();
        }
        let link = self
            .session
            .mailbox
            .as_ref()
            .and_then(|mb| mb.items.get(i))
            .and_then(|m| m.links.first().cloned());
        match link {
            Some(link) => vec![shell.call(ApiCall::OpenLink(link, shell.lang), false)],
            None => {
                shell.error(Tr::new("mailbox.no_link"));
                Vec::new()
            }
        }
    }

    /// The mailbox panel takes the arrows, Enter and Esc while it is open.
    fn mailbox_key(&mut self, shell: &mut Shell, key: KeyEvent) -> Option<Vec<Command>> {
        let mb = self.session.mailbox.as_mut().filter(|mb| mb.open)?;
        match key.code {
            KeyCode::Up => mb.selected = mb.selected.saturating_sub(1),
            KeyCode::Down => mb.selected = (mb.selected + 1).min(mb.items.len().saturating_sub(1)),
            // The listing on screen is from the last time: the newest mail once it comes.
            KeyCode::Enter if mb.listing => mb.open_when_listed = true,
            KeyCode::Enter => {
                let i = mb.selected;
                return Some(self.open_mail_link(shell, i));
            }
            KeyCode::Esc => mb.open = false,
            _ => return None,
        }
        Some(Vec::new())
    }

    /// The screen for the server's step.
    pub fn show_step(&mut self, shell: &mut Shell, view: FlowView) -> Vec<Command> {
        let step = view.step;
        let method = view.method;
        let before = self.session.flow.as_ref().map(|f| f.user_id.clone());
        let user_id = view.user_id.clone();
        // At the second factor the member's chosen method is asked first, if they still have it;
        // the screen offers the other kinds they have.
        let kinds = view.second_factors.clone();
        let method = match method {
            _ if step != Step::SecondFactor || kinds.is_empty() => method,
            Some(m) if kinds.contains(&m) => Some(m),
            _ => kinds.first().copied(),
        };
        // Another method picked at set-up: same step, another screen.
        let method_changed = step == Step::MethodSetup
            && self
                .session
                .flow
                .as_ref()
                .is_some_and(|f| f.method != method);
        self.session.flow = Some(view);
        if self.session.screen.page().shows(step) && !method_changed {
            return Vec::new();
        }
        self.session.errors.clear();
        let lang = shell.lang;
        let s = &mut self.session;
        let token = s.token.clone();
        let with_token = |shell: &mut Shell, call: fn(FlowToken) -> ApiCall| match &token {
            Some(t) => vec![shell.call(call(t.clone()), false)],
            None => Vec::new(),
        };
        match step {
            Step::SignIn => {
                // The flow ended (the terms were declined).
                self.page_cmds(shell, |_, cx| {
                    cx.back_to_sign_in(None);
                    cx.info("terms.declined");
                })
            }
            Step::BirthDate => {
                s.screen = Screen::BirthDate(BirthDateState::new());
                Vec::new()
            }
            Step::Terms => {
                s.screen = Screen::Terms(TermsState::default());
                vec![shell.call(ApiCall::Terms(lang), false)]
            }
            Step::Email => {
                s.screen = Screen::Email(EmailState::new());
                Vec::new()
            }
            Step::AwaitingVerification => {
                s.last_poll = shell.ticks;
                s.screen = Screen::Awaiting(AwaitingState::default());
                Vec::new()
            }
            Step::ChooseMethod => {
                if matches!(s.screen, Screen::Awaiting(_)) {
                    shell.info("awaiting.verified");
                }
                let mut c = ChooseState::offering(&self.methods);
                if let Some(m) = method
                    && let Some(i) = c.offered.iter().position(|x| *x == m)
                {
                    c.focus = i;
                }
                s.screen = Screen::ChooseMethod(c);
                // Say before the choice which passkey routes this terminal has.
                vec![Command::ProbePasskeys]
            }
            Step::NewCredentials => {
                s.screen = Screen::NewCredentials(CredentialsState::new());
                Vec::new()
            }
            Step::Complete => {
                // The server ended the flow.
                s.token = None;
                let mut c = CompleteState::new(CompletePhase::Done, method);
                // A new user ID set at 【9】 is confirmed here (it was also mailed).
                c.new_user_id = before.filter(|b| *b != user_id).map(|_| user_id);
                s.screen = Screen::Complete(c);
                Vec::new()
            }
            Step::MethodSetup if method == Some(Method::TotpApp) => {
                let name = screens::default_device_name(lang, 0);
                s.screen = Screen::TotpEnroll(TotpEnrollState::new(
                    EnrollOrigin::MethodSetup,
                    s.qr_style,
                    &name,
                ));
                with_token(shell, ApiCall::StartTotp)
            }
            // The email method, at its set-up and after the password.
            Step::MethodSetup | Step::SecondFactor if method == Some(Method::EmailOtp) => {
                let usage = if step == Step::MethodSetup {
                    EmailCodeUse::Setup
                } else {
                    EmailCodeUse::SignIn
                };
                let mut e = EmailCodeState::new(usage);
                e.others = kinds
                    .iter()
                    .copied()
                    .filter(|k| *k != Method::EmailOtp)
                    .collect();
                s.screen = Screen::EmailCode(e);
                with_token(shell, ApiCall::SendEmailCode)
            }
            Step::MethodSetup if method == Some(Method::Passkey) => self
                .page_cmds(shell, |_, cx| {
                    cx.open_passkey(PasskeyPurpose::Register, false)
                }),
            Step::MethodSetup => {
                s.screen =
                    Screen::Complete(CompleteState::new(CompletePhase::NotAvailable, method));
                Vec::new()
            }
            // A member whose method is the passkey is asked for it straight away (Cancel leads to
            // the code screen, for a member who also has an app).
            Step::SecondFactor if method == Some(Method::Passkey) => self
                .page_cmds(shell, |_, cx| {
                    cx.open_passkey(PasskeyPurpose::SignIn, false)
                }),
            Step::SecondFactor => {
                s.screen = Screen::SecondFactor(SecondFactorState::with_kinds(kinds));
                Vec::new()
            }
            Step::Home => {
                // A method set up in place of the old ones ("change method"): offer to remove
                // them.
                let replaced = match &s.screen {
                    Screen::TotpEnroll(e) if e.origin == EnrollOrigin::ChangeMethod => {
                        Some(e.replaces.clone())
                    }
                    Screen::EmailCode(e) => Some(e.replaces.clone()),
                    Screen::Passkey(p) => Some(p.replaces.clone()),
                    _ => None,
                };
                // The banner names what was set up.
                let added = match &s.screen {
                    Screen::TotpEnroll(_) => Some("home.added"),
                    Screen::EmailCode(e) if e.usage == EmailCodeUse::Setup => {
                        Some("home.added_email")
                    }
                    Screen::Passkey(p) if p.purpose == PasskeyPurpose::Register => {
                        Some("home.added_passkey")
                    }
                    _ => None,
                };
                let mut h = HomeState::new(self.utc_offset);
                if let Some(ids) = replaced.filter(|ids| !ids.is_empty()) {
                    h.show(HomeMode::RemoveOld(ids));
                }
                s.screen = Screen::Home(h);
                if let Some(key) = added {
                    shell.info(key);
                }
                with_token(shell, ApiCall::Home)
            }
        }
    }

    fn on_reply(&mut self, shell: &mut Shell, reply: Reply, background: bool) -> Vec<Command> {
        match reply {
            Reply::SignedIn(token, view) => {
                self.session.token = Some(token);
                self.show_step(shell, view)
            }
            Reply::Flow(view) => {
                if background && view.step == Step::AwaitingVerification {
                    // Nothing new yet.
                    self.session.flow = Some(view);
                    return Vec::new();
                }
                if let Some(email) = self.session.email_switched(&view) {
                    return self.show_new_email(shell, view, email);
                }
                let (handled, mut cmds) = self.with_page(shell, |p, cx| p.on_flow(&view, cx));
                if !handled {
                    cmds.extend(self.show_step(shell, view));
                }
                cmds
            }
            Reply::SignedOut => Vec::new(),
            Reply::EmailChangeStarted(pending) => {
                let cmds = self.page_cmds(shell, |_, cx| cx.go_home());
                self.session.pending_email =
                    self.session.token.clone().map(|t| (t, pending.clone()));
                shell.banner = Some(shell_app::Banner {
                    error: false,
                    msg: Tr::new("change_email.sent").arg("email", pending),
                });
                cmds
            }
            Reply::Link(LinkAnswer { status, title }) => {
                // What the page says in its own words ("this link was already used"); the
                // status only for a page without a heading.
                let msg = match title {
                    Some(title) => Tr::new("mailbox.page").arg("title", title),
                    None => Tr::new("mailbox.opened").arg("status", status.to_string()),
                };
                shell.banner = Some(shell_app::Banner {
                    error: !(200..300).contains(&status),
                    msg,
                });
                // Look at once whether the link did it.
                if self.session.polls()
                    && let Some(t) = self.session.token.clone()
                {
                    self.session.last_poll = shell.ticks;
                    return vec![shell.call(ApiCall::FlowStatus(t), true)];
                }
                Vec::new()
            }
            other => self.page_cmds(shell, |p, cx| p.on_reply(other, cx)),
        }
    }

    fn on_error(&mut self, shell: &mut Shell, err: ClientError, background: bool) -> Vec<Command> {
        let refused = self.session.sensitive.take();
        if let (ClientError::Api(e), Some(call)) = (&err, refused)
            && e.code == ErrorCode::StepUpRequired
        {
            return self.ask_step_up(shell, call);
        }
        let (handled, mut cmds) = self.with_page(shell, |p, cx| p.on_error(&err, cx));
        if handled {
            return cmds;
        }
        let e = match err {
            ClientError::Api(e) => e,
            ClientError::Transport(detail) => {
                tracing::warn!(%detail, "transport error");
                shell.error(Tr::new("err.transport"));
                return cmds;
            }
            ClientError::Decode(detail) => {
                tracing::warn!(%detail, "undecodable answer");
                shell.error(Tr::new("err.decode"));
                return cmds;
            }
        };
        tracing::info!(code = e.code.as_str(), background, "api error");
        let at = |field: Field, key: &'static str| Some((field, Tr::new(key)));
        let error = match e.code {
            ErrorCode::InvalidCredentials => at(Field::Password, "err.invalid_credentials"),
            ErrorCode::StepUpRequired => at(Field::Form, "err.step_up_required"),
            ErrorCode::RateLimited => {
                let secs = e.retry_after_secs.unwrap_or(60).to_string();
                let f = self.session.screen.page().error_field();
                Some((f, Tr::new("err.rate_limited").arg("secs", secs)))
            }
            ErrorCode::ServerBusy => {
                let secs = e.retry_after_secs.unwrap_or(1).to_string();
                let f = self.session.screen.page().error_field();
                Some((f, Tr::new("err.server_busy").arg("secs", secs)))
            }
            ErrorCode::FlowExpired
            | ErrorCode::Unauthorized
            | ErrorCode::TooManyAttempts
            | ErrorCode::AccountHeld => {
                let key = match e.code {
                    ErrorCode::FlowExpired => "err.flow_expired",
                    ErrorCode::Unauthorized => "err.unauthorized",
                    ErrorCode::AccountHeld => "err.account_held",
                    _ => "err.too_many_attempts",
                };
                cmds.extend(self.page_cmds(shell, |_, cx| cx.back_to_sign_in(Some(Tr::new(key)))));
                None
            }
            ErrorCode::OutOfOrder => {
                if let Some(step) = e.step
                    && let Some(view) = self.session.flow.clone()
                {
                    cmds.extend(self.show_step(shell, FlowView { step, ..view }));
                }
                at(Field::Form, "err.out_of_order")
            }
            ErrorCode::WrongBirthDate => at(Field::BirthDate, "err.wrong_birth_date"),
            ErrorCode::InvalidBirthDate => at(Field::BirthDate, "err.invalid_birth_date"),
            ErrorCode::InvalidEmail if e.rule.as_deref() == Some("same") => {
                at(Field::Email, "err.same_email")
            }
            ErrorCode::InvalidEmail => at(Field::Email, "err.invalid_email"),
            ErrorCode::WeakPassword => at(
                Field::NewPassword,
                match e.rule.as_deref() {
                    Some("characters") => "err.weak_password.characters",
                    Some("initial") => "err.weak_password.initial",
                    Some("unchanged") => "err.weak_password.unchanged",
                    _ => "err.weak_password.length",
                },
            ),
            ErrorCode::InvalidUserId => Some((
                Field::NewUserId,
                screens::user_id_rule_error(e.rule.as_deref().unwrap_or("")),
            )),
            ErrorCode::UserIdTaken => at(Field::NewUserId, "err.user_id_taken"),
            ErrorCode::WrongCode
            | ErrorCode::CodeExpired
            | ErrorCode::ClockSkew
            | ErrorCode::CodeUsed => at(Field::TotpCode, screens::code_error_key(e.code)),
            ErrorCode::InvalidDeviceName => at(Field::Form, "err.invalid_device_name"),
            ErrorCode::DeviceNameTaken => at(Field::Form, "err.device_name_taken"),
            ErrorCode::TooManyDevices => at(Field::Form, "err.too_many_devices"),
            ErrorCode::LastSecondFactor => at(Field::Form, "err.last_second_factor"),
            ErrorCode::PasskeyUnavailable
            | ErrorCode::PasskeyRejected
            | ErrorCode::CeremonyExpired
            | ErrorCode::PasskeyTaken
            | ErrorCode::NoPasskey => at(Field::Form, passkey_error_key(e.code)),
            // The card's halves are checked together and shown under the number, each with
            // its own message.
            ErrorCode::BadRequest if e.field.as_deref() == Some("symbol") => {
                at(Field::UserId, "recover.symbol_invalid")
            }
            ErrorCode::BadRequest if e.field.as_deref() == Some("number") => {
                at(Field::UserId, "recover.number_invalid")
            }
            ErrorCode::BadRequest | ErrorCode::PayloadTooLarge => {
                at(Field::Form, "err.bad_request")
            }
            ErrorCode::NotFound => at(Field::Form, "err.not_found"),
            // Answers of the staff routes, which the member screens never call.
            ErrorCode::StaffSessionExpired => at(Field::Form, "err.staff_session_expired"),
            ErrorCode::InvalidEnrolmentCode => at(Field::Form, "err.invalid_enrolment_code"),
            ErrorCode::InsufficientRole => at(Field::Form, "err.insufficient_role"),
            ErrorCode::StaleView => at(Field::Form, "err.stale_view"),
            ErrorCode::CallerNotVerified => at(Field::Form, "err.caller_not_verified"),
            ErrorCode::Internal | ErrorCode::NotReady => at(Field::Form, "err.internal"),
            ErrorCode::ResendCooldown => at(Field::Form, "err.resend_cooldown"),
            ErrorCode::MailFailed => {
                // The server moved on to waiting for the mail; show that screen with the way out
                // (Resend).
                if let Some(view) = self.session.flow.clone() {
                    cmds.extend(self.show_step(
                        shell,
                        FlowView {
                            step: Step::AwaitingVerification,
                            ..view
                        },
                    ));
                    if let Some(t) = self.session.token.clone() {
                        cmds.push(shell.call(ApiCall::FlowStatus(t), true));
                    }
                }
                at(Field::Form, "err.mail_failed")
            }
        };
        if let Some((field, msg)) = error {
            screens::set_error(&mut self.session.errors, shell, field, msg);
        }
        cmds
    }
}

impl Member {
    /// Asks the member to prove it is them again over the screen whose request `call` was
    /// refused; the prompt sends it again once they are proved.
    fn ask_step_up(&mut self, shell: &mut Shell, call: ApiCall) -> Vec<Command> {
        let s = &mut self.session;
        s.errors.clear();
        shell.banner = None;
        let has_app = s.factor_kinds.contains(&Method::TotpApp);
        let under = s.screen.clone();
        s.screen = Screen::StepUp(StepUpState::new(under, call, has_app));
        Vec::new()
    }

    /// WCAG 2.2.1: a countdown before the flow's idle timeout, then back to sign-in when it
    /// ran out (the server has ended the flow by then).
    fn idle_countdown(&mut self, shell: &mut Shell) -> Vec<Command> {
        let s = &mut self.session;
        let (Some(_), Some(flow)) = (&s.token, &s.flow) else {
            s.idle_warning = false;
            return Vec::new();
        };
        if shell.pending.as_ref().is_some_and(|p| !p.background) {
            return Vec::new();
        }
        let quiet = shell.ticks.saturating_sub(s.active_at);
        let left = flow.idle_timeout_secs.saturating_sub(quiet);
        if left == 0 {
            s.idle_warning = false;
            return self.page_cmds(shell, |_, cx| {
                cx.back_to_sign_in(Some(Tr::new("err.flow_expired")))
            });
        }
        if left <= IDLE_WARN_SECS {
            s.idle_warning = true;
            shell.dirty = true;
            shell.banner = Some(shell_app::Banner {
                error: true,
                msg: Tr::new("idle.warning").arg("secs", left.to_string()),
            });
        }
        Vec::new()
    }

    /// The member answered the idle warning: the flow is extended on the server.
    fn extend_flow(&mut self, shell: &mut Shell) -> Vec<Command> {
        let s = &mut self.session;
        s.idle_warning = false;
        s.active_at = shell.ticks;
        shell.info("idle.extended");
        match s.token.clone() {
            // A request on its way extends it already; a second would make its answer stale.
            Some(t) if shell.pending.is_none() => vec![shell.call(ApiCall::Flow(t), true)],
            _ => Vec::new(),
        }
    }
}

impl Member {
    /// The address change was confirmed (its link was opened): the top screen shows the new
    /// address at once and loads the rest again (the email method is named by the address).
    fn show_new_email(&mut self, shell: &mut Shell, view: FlowView, email: String) -> Vec<Command> {
        let s = &mut self.session;
        s.pending_email = None;
        s.flow = Some(view);
        let mut cmds = Vec::new();
        if let Screen::Home(h) = &mut s.screen {
            if let Some(v) = &mut h.view {
                v.member.email = email.clone();
            }
            // Not under a dialog: its answer would be taken for the dialog's.
            if h.mode == HomeMode::List
                && let Some(t) = s.token.clone()
            {
                cmds.push(shell.call(ApiCall::Home(t), true));
            }
        }
        shell.dirty = true;
        shell.banner = Some(shell_app::Banner {
            error: false,
            msg: Tr::new("change_email.done").arg("email", email),
        });
        cmds
    }
}

/// The message of a passkey error code.
fn passkey_error_key(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::PasskeyUnavailable => "err.passkey_unavailable",
        ErrorCode::PasskeyRejected => "err.passkey_rejected",
        ErrorCode::CeremonyExpired => "err.ceremony_expired",
        ErrorCode::PasskeyTaken => "err.passkey_taken",
        _ => "err.no_passkey",
    }
}

impl Mode for Member {
    type Call = ApiCall;
    type Reply = Reply;

    fn keys(&self) -> KeyPolicy {
        self.keys
    }

    fn on_key(&mut self, shell: &mut Shell, key: KeyEvent) -> Vec<Command> {
        if self.too_small.get() {
            return Vec::new();
        }
        if self.session.idle_warning {
            // Any key extends the flow; it does nothing else (the member was away).
            return self.extend_flow(shell);
        }
        if key.code == KeyCode::F(3) && self.keys.mailbox {
            return self.toggle_mailbox();
        }
        if let Some(cmds) = self.mailbox_key(shell, key) {
            return cmds;
        }
        let (handled, cmds) = self.with_page(shell, |p, cx| p.on_key(key, cx));
        if handled {
            return cmds;
        }
        match form::form_key(self.session.screen.page_mut(), key) {
            FormKey::Done => Vec::new(),
            FormKey::Intent(intent) => self.intent(shell, intent),
            FormKey::Back => self.back(shell),
            FormKey::Edited { input, cleared } => {
                // Typing clears the error of that field.
                if cleared {
                    let field = input.field();
                    self.session.errors.retain(|(f, _)| *f != field);
                }
                self.session.screen.page_mut().after_edit(input);
                Vec::new()
            }
        }
    }

    fn on_paste(&mut self, _shell: &mut Shell, text: &str) {
        if self.too_small.get() {
            return;
        }
        let page = self.session.screen.page_mut();
        if !page.on_paste(text) {
            form::form_paste(page, text);
        }
    }

    fn on_click(&mut self, shell: &mut Shell, target: Target) -> Vec<Command> {
        match target {
            Target::Lang => {
                shell.toggle_lang();
                self.on_lang(shell)
            }
            Target::MailboxToggle => self.toggle_mailbox(),
            Target::Mail(i) => {
                if let Some(mb) = &mut self.session.mailbox {
                    mb.selected = i;
                }
                self.open_mail_link(shell, i)
            }
            Target::Row(i) => {
                self.session.screen.page_mut().on_row(i);
                Vec::new()
            }
            Target::Item(i) => {
                let form = self.session.screen.page_mut();
                let item = form.items().get(i).copied();
                form.set_focus(i);
                match item {
                    Some(Item::Button(intent)) => self.intent(shell, intent),
                    _ => Vec::new(),
                }
            }
        }
    }

    fn on_tick(&mut self, shell: &mut Shell) -> Vec<Command> {
        let mut cmds = self.idle_countdown(shell);
        if self.session.mailbox.as_ref().is_some_and(|m| m.open) {
            cmds.push(Command::ListMailbox);
        }
        let polls = self.session.polls();
        let s = &mut self.session;
        if polls
            && shell.pending.is_none()
            && shell.ticks.saturating_sub(s.last_poll) >= POLL_SECS
            && let Some(token) = s.token.clone()
        {
            s.last_poll = shell.ticks;
            cmds.push(shell.call(ApiCall::FlowStatus(token), true));
        }
        cmds
    }

    fn on_lang(&mut self, shell: &mut Shell) -> Vec<Command> {
        // First, so that what the page asks for next already goes in the new language.
        let mut cmds = vec![Command::Lang(shell.lang)];
        cmds.extend(self.page_cmds(shell, |p, cx| p.on_lang(cx)));
        cmds
    }

    fn quiet(&self, result: &Result<Reply, ClientError>, background: bool) -> bool {
        // A background check that found nothing new changes nothing on screen.
        background
            && matches!(result, Ok(Reply::Flow(v)) if v.step == Step::AwaitingVerification
                || (v.step == Step::Home && self.session.email_switched(v).is_none()))
    }

    fn on_response(
        &mut self,
        shell: &mut Shell,
        result: Result<Reply, ClientError>,
        background: bool,
    ) -> Vec<Command> {
        if !background {
            // Every request the member makes extends the flow on the server.
            self.session.active_at = shell.ticks;
        }
        if let Ok(reply) = &result {
            self.session.sensitive = None;
            if let Reply::Home(view) = reply {
                self.session.step_up_until = Some(shell.ticks + view.step_up_secs_left);
                let mut kinds: Vec<Method> = view.second_factors.iter().map(|f| f.method).collect();
                kinds.dedup();
                self.session.factor_kinds = kinds;
            }
        }
        match result {
            Ok(reply) => self.on_reply(shell, reply, background),
            Err(e) => self.on_error(shell, e, background),
        }
    }

    fn on_other(&mut self, shell: &mut Shell, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Mailbox(result) => {
                let Some(mb) = &mut self.session.mailbox else {
                    return Vec::new();
                };
                let open_newest = std::mem::take(&mut mb.open_when_listed);
                mb.listing = false;
                match result {
                    Ok(items) => {
                        if items != mb.items {
                            shell.dirty = true;
                        }
                        // The cursor stays on its mail when a newer one arrives, and on the
                        // newest if it was there.
                        let path = mb.items.get(mb.selected).map(|m| m.path.clone());
                        mb.selected = match path {
                            Some(p) if mb.selected > 0 => {
                                items.iter().position(|m| m.path == p).unwrap_or(0)
                            }
                            _ => 0,
                        };
                        mb.items = items;
                        mb.error = None;
                    }
                    Err(e) => {
                        mb.error = Some(e);
                        shell.dirty = true;
                    }
                }
                if open_newest && mb.open && !mb.items.is_empty() {
                    mb.selected = 0;
                    return self.open_mail_link(shell, 0);
                }
                Vec::new()
            }
            msg @ Msg::PasskeyProbed(_) => {
                shell.dirty = true;
                self.page_cmds(shell, |p, cx| p.on_device(msg, cx))
            }
            msg @ (Msg::Passkey(_) | Msg::PasskeyDone(_)) => {
                shell.dirty = true;
                if !matches!(self.session.screen, Screen::Passkey(_)) {
                    // The member left the screen; a ceremony still running is cancelled.
                    return match msg {
                        Msg::Passkey(_) => vec![Command::CancelPasskey],
                        _ => Vec::new(),
                    };
                }
                self.page_cmds(shell, |p, cx| p.on_device(msg, cx))
            }
            _ => Vec::new(),
        }
    }

    fn on_quit(&mut self) -> Option<FlowToken> {
        self.session.token.take()
    }

    fn screen_name(&self) -> &'static str {
        self.session.screen.name()
    }

    fn draw(&self, frame: &mut Frame, shell: &Shell, theme: Theme) -> Vec<Hit> {
        let area = frame.area();
        self.too_small
            .set(area.width < chrome::MIN_WIDTH || area.height < chrome::MIN_HEIGHT);
        chrome::render(frame, shell, self, theme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Lang;
    use crate::tui::shell::headless::{ctrl, key};

    #[tokio::test]
    async fn a_scrub_forgets_the_member_whole() {
        let mut h = fake::headless(App::new(Lang::Ja, true), fake::FakeServer::demo());
        h.press(KeyCode::Enter).await;
        h.type_text("DEMO0001").await;
        h.press(KeyCode::Tab).await;
        h.type_text("12345678919801201").await;
        h.press(KeyCode::Enter).await;
        h.type_text("1999").await;
        assert_eq!(h.app.mode.session.screen.name(), "birth_date");
        let token = h.app.mode.scrub();
        assert_eq!(token, h.server().token.clone().map(FlowToken::new));
        let session = &h.app.mode.session;
        assert_eq!(session.screen.name(), "welcome");
        assert!(session.token.is_none() && session.flow.is_none() && session.errors.is_empty());
        assert!(session.mailbox.is_some(), "demo mode stays");
    }

    #[test]
    fn a_wipe_overwrites_what_names_the_member_and_the_app_key() {
        let mut s = Session::new(false, QrStyle::HalfBlocks);
        s.flow = Some(FlowView {
            step: Step::Home,
            user_id: "demo0001".into(),
            name: Some("山田 太郎".into()),
            email: Some("taro@example.jp".into()),
            email_verified: true,
            method: None,
            idle_timeout_secs: 600,
            second_factors: Vec::new(),
        });
        s.pending_email = Some((FlowToken::new("t"), "new@example.jp".into()));
        s.wipe();
        let f = s.flow.as_ref().unwrap();
        assert!(f.user_id.is_empty() && f.name.is_none() && f.email.is_none());
        assert!(s.pending_email.as_ref().unwrap().1.is_empty());
    }

    #[test]
    fn the_key_policy_decides_which_global_keys_exist() {
        let mut app = App::new(Lang::Ja, true);
        app.mode.keys = KeyPolicy {
            quit: false,
            switch_lang: false,
            mailbox: false,
        };
        assert!(app.update(Msg::Key(ctrl('c'))).is_empty());
        assert!(!app.should_quit());
        app.update(Msg::Key(key(KeyCode::F(2))));
        app.update(Msg::Key(ctrl('l')));
        assert_eq!(app.shell.lang, Lang::Ja);
        app.update(Msg::Key(key(KeyCode::F(3))));
        assert!(!app.mode.session.mailbox.as_ref().is_some_and(|m| m.open));

        app.mode.keys = KeyPolicy::ALL;
        // The switch goes to the runtime too, so the server's mail follows it.
        assert_eq!(
            app.update(Msg::Key(key(KeyCode::F(2)))).first(),
            Some(&Command::Lang(Lang::En))
        );
        assert_eq!(app.shell.lang, Lang::En);
        assert_eq!(
            app.update(Msg::Key(key(KeyCode::F(3)))),
            vec![Command::ListMailbox]
        );
        assert!(matches!(
            app.update(Msg::Key(ctrl('c'))).as_slice(),
            [Command::Quit { sign_out: None }]
        ));
        assert!(app.should_quit());
    }
}
