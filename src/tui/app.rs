//! The application state and its pure update function.
//!
//! [`App::update`] takes a [`Msg`] (a key, a click, a tick, a server answer) and returns the
//! [`Command`]s the event loop must run (a request to the server, a mailbox listing, quit). It
//! does no I/O, so the whole first login can be driven in tests by feeding messages and fake
//! server answers.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::api::{
    ErrorCode, FlowView, HomeView, Lang, Method, Step, TermsDocument, TotpEnrollment,
};
use crate::client::{ClientError, FlowToken};
use crate::domain::{BirthDate, EmailAddress, UserId, password};
use crate::tui::i18n::Tr;
use crate::tui::mailbox::MailItem;
#[path = "app_passkey.rs"]
mod passkey_flow;

use crate::passkey::ceremony::{Answer, Request};
use crate::passkey::probe::ProbeReport;
use crate::passkey::ui::{PasskeyEvent, PinReply};
use crate::passkey::{PasskeyError, PasskeyTransport, Shared};
use crate::tui::screens::awaiting::AwaitingState;
use crate::tui::screens::birth_date::BirthDateState;
use crate::tui::screens::change_email::ChangeEmailState;
use crate::tui::screens::choose_method::ChooseState;
use crate::tui::screens::complete::{CompletePhase, CompleteState};
use crate::tui::screens::email::EmailState;
use crate::tui::screens::email_code::{EmailCodeState, EmailCodeUse};
use crate::tui::screens::home::{HomeMode, HomeState};
use crate::tui::screens::new_credentials::CredentialsState;
use crate::tui::screens::passkey::PasskeyPurpose;
use crate::tui::screens::recover::{RecoverKind, RecoverPhase, RecoverState};
use crate::tui::screens::second_factor::SecondFactorState;
use crate::tui::screens::sign_in::SignInState;
use crate::tui::screens::terms::TermsState;
use crate::tui::screens::totp_enroll::{EnrollOrigin, EnrollView, TotpEnrollState, normalize_code};
use crate::tui::screens::welcome::WelcomeState;
use crate::tui::screens::{Field, Form, InputId, Intent, Item, Target};
use crate::tui::widgets::input::InputOutcome;
use crate::tui::widgets::qr::QrStyle;

/// Seconds between automatic checks while waiting for the verification link.
pub const POLL_SECS: u64 = 3;

/// A request to the server (or, for `OpenLink`, to a link's web page).
#[derive(Clone, PartialEq, Eq)]
pub enum ApiCall {
    /// `sign_in`.
    SignIn {
        /// The user ID as typed.
        user_id: String,
        /// The password.
        password: String,
        /// The member's language.
        lang: Lang,
    },
    /// `flow` (also the automatic check while waiting for the link).
    Flow(FlowToken),
    /// `birth_date` (`YYYY-MM-DD`).
    BirthDate(FlowToken, String),
    /// `terms`.
    Terms(Lang),
    /// `decide_terms`.
    DecideTerms(FlowToken, bool),
    /// `submit_email`.
    SubmitEmail(FlowToken, Option<String>),
    /// `resend_email`.
    ResendEmail(FlowToken),
    /// `back`.
    Back(FlowToken),
    /// `choose_method`.
    ChooseMethod(FlowToken, Method),
    /// `set_credentials`.
    SetCredentials {
        /// The flow.
        token: FlowToken,
        /// The new password.
        password: String,
        /// The new user ID, if the member wants one.
        new_user_id: Option<String>,
    },
    /// `sign_out`.
    SignOut(FlowToken),
    /// `open_link` (the demo mailbox).
    OpenLink(String),
    /// `start_totp_enrollment`.
    StartTotp(FlowToken),
    /// `confirm_totp_enrollment`.
    ConfirmTotp {
        /// The flow.
        token: FlowToken,
        /// The code the app shows.
        code: String,
        /// The device's name.
        device_name: String,
    },
    /// `verify_totp`.
    VerifyTotp(FlowToken, String),
    /// `home`.
    Home(FlowToken),
    /// `rename_second_factor`.
    RenameFactor(FlowToken, Method, i64, String),
    /// `remove_second_factor`.
    RemoveFactor(FlowToken, Method, i64),
    /// `send_email_code` (issue 5).
    SendEmailCode(FlowToken),
    /// `verify_email_code` (issue 5).
    VerifyEmailCode(FlowToken, String),
    /// `forgot_user_id` (issue 5).
    ForgotUserId {
        /// 記号.
        symbol: String,
        /// 番号.
        number: String,
        /// `YYYY-MM-DD`.
        birth_date: String,
        /// The mail's language.
        lang: Lang,
    },
    /// `forgot_password` (issue 5).
    ForgotPassword {
        /// The user ID.
        user_id: String,
        /// `YYYY-MM-DD`.
        birth_date: String,
        /// The mail's language.
        lang: Lang,
    },
    /// `reset_password` (issue 5).
    ResetPassword {
        /// The user ID.
        user_id: String,
        /// The mailed code.
        code: String,
        /// The new password.
        password: String,
    },
    /// `change_email` (issue 5).
    ChangeEmail(FlowToken, String),
    /// `change_password`.
    ChangePassword {
        /// The flow.
        token: FlowToken,
        /// The current password.
        current: String,
        /// The new password.
        new: String,
    },
    // issue 6
    /// `start_passkey_registration` or `start_passkey_authentication`.
    StartPasskey(FlowToken, PasskeyPurpose),
    /// `finish_passkey_registration` with the passkey's name.
    FinishPasskeyRegistration(FlowToken, Shared<Answer>, String),
    /// `finish_passkey_authentication`.
    FinishPasskeyAuthentication(FlowToken, Shared<Answer>),
}

impl std::fmt::Debug for ApiCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignIn { user_id, lang, .. } => {
                write!(f, "SignIn({user_id}, <password>, {lang:?})")
            }
            Self::Flow(_) => f.write_str("Flow"),
            Self::BirthDate(_, d) => write!(f, "BirthDate({d})"),
            Self::Terms(l) => write!(f, "Terms({l:?})"),
            Self::DecideTerms(_, a) => write!(f, "DecideTerms({a})"),
            Self::SubmitEmail(_, e) => write!(f, "SubmitEmail({e:?})"),
            Self::ResendEmail(_) => f.write_str("ResendEmail"),
            Self::Back(_) => f.write_str("Back"),
            Self::ChooseMethod(_, m) => write!(f, "ChooseMethod({m:?})"),
            Self::SetCredentials { new_user_id, .. } => {
                write!(f, "SetCredentials(<password>, {new_user_id:?})")
            }
            Self::SignOut(_) => f.write_str("SignOut"),
            Self::OpenLink(_) => f.write_str("OpenLink(<link>)"),
            Self::StartTotp(_) => f.write_str("StartTotp"),
            Self::ConfirmTotp { device_name, .. } => {
                write!(f, "ConfirmTotp(<code>, {device_name:?})")
            }
            Self::VerifyTotp(..) => f.write_str("VerifyTotp(<code>)"),
            Self::Home(_) => f.write_str("Home"),
            Self::RenameFactor(_, m, id, name) => write!(f, "RenameFactor({m:?}, {id}, {name:?})"),
            Self::RemoveFactor(_, m, id) => write!(f, "RemoveFactor({m:?}, {id})"),
            Self::ChangePassword { .. } => f.write_str("ChangePassword(<passwords>)"),
            Self::SendEmailCode(_) => f.write_str("SendEmailCode"),
            Self::VerifyEmailCode(..) => f.write_str("VerifyEmailCode(<code>)"),
            Self::ChangeEmail(_, e) => write!(f, "ChangeEmail({e:?})"),
            Self::ForgotUserId { .. } => f.write_str("ForgotUserId(<card>, <birth date>)"),
            Self::ForgotPassword { user_id, .. } => {
                write!(f, "ForgotPassword({user_id}, <birth date>)")
            }
            Self::ResetPassword { user_id, .. } => {
                write!(f, "ResetPassword({user_id}, <code>, <password>)")
            }
            Self::StartPasskey(_, p) => write!(f, "StartPasskey({p:?})"),
            Self::FinishPasskeyRegistration(_, _, name) => {
                write!(f, "FinishPasskeyRegistration(<answer>, {name:?})")
            }
            Self::FinishPasskeyAuthentication(..) => {
                f.write_str("FinishPasskeyAuthentication(<answer>)")
            }
        }
    }
}

/// A successful answer to an [`ApiCall`].
#[derive(Debug, Clone)]
pub enum Reply {
    /// To `SignIn`.
    SignedIn(FlowToken, FlowView),
    /// To every flow call.
    Flow(FlowView),
    /// To `Terms`.
    Terms(TermsDocument),
    /// To `SignOut`.
    SignedOut,
    /// To `OpenLink`: the HTTP status.
    Link(u16),
    /// To `StartTotp`.
    Enrollment(TotpEnrollment),
    /// To `Home`, `RenameFactor`, `RemoveFactor` and `ChangePassword`.
    Home(HomeView),
    /// To `SendEmailCode` (issue 5): where the code went (masked).
    EmailCodeSent(String),
    /// To `ForgotUserId`, `ForgotPassword` and `ResetPassword` (issue 5).
    Recovery,
    /// To `ChangeEmail` (issue 5): the address the link went to.
    EmailChangeStarted(String),
    // issue 6
    /// To `StartPasskey`: the options for the authenticator.
    PasskeyOptions(Shared<Request>),
}

/// What happens to the app.
#[derive(Debug)]
pub enum Msg {
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
        result: Result<Reply, ClientError>,
    },
    /// The mailbox listing.
    Mailbox(Result<Vec<MailItem>, String>),
    /// SIGTERM / SIGHUP.
    Terminate,
    // issue 6
    /// What the transport probe found.
    PasskeyProbed(ProbeReport),
    /// The running passkey ceremony asks something of the member.
    Passkey(PasskeyEvent),
    /// The running passkey ceremony ended.
    PasskeyDone(Result<Shared<Answer>, PasskeyError>),
}

/// What the event loop must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run `call` and answer with `Msg::Response { seq, .. }`.
    Call {
        /// The request's number.
        seq: u64,
        /// The request.
        call: ApiCall,
    },
    /// List the demo mailbox and answer with `Msg::Mailbox`.
    ListMailbox,
    /// Leave (after signing out the open flow, if `sign_out` is given).
    Quit {
        /// The flow to end on the way out.
        sign_out: Option<FlowToken>,
    },
    // issue 6
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
}

/// The screen on display and its state.
#[derive(Debug, Clone)]
pub enum Screen {
    /// 【1】 The journey.
    Welcome(WelcomeState),
    /// 【2】 Sign-in.
    SignIn(SignInState),
    /// 【3】 Date of birth.
    BirthDate(BirthDateState),
    /// 【4】 Terms.
    Terms(TermsState),
    /// 【5】 Email address.
    Email(EmailState),
    /// 【6】【7】 Waiting for the link.
    Awaiting(AwaitingState),
    /// 【8】 Method.
    ChooseMethod(ChooseState),
    /// 【9】 New password / user ID.
    NewCredentials(CredentialsState),
    /// 【10】【11】 Done.
    Complete(CompleteState),
    /// Setting up an authenticator app (stage 2, or from the top screen).
    TotpEnroll(TotpEnrollState),
    /// The one-time password after the password.
    SecondFactor(SecondFactorState),
    /// The top screen.
    Home(HomeState),
    /// The email one-time password (issue 5).
    EmailCode(EmailCodeState),
    /// Forgot the user ID or password (issue 5).
    Recover(RecoverState),
    /// Change the address from the top screen (issue 5).
    ChangeEmail(ChangeEmailState),
    // issue 6
    /// Passkey registration or sign-in.
    Passkey(crate::tui::screens::passkey::PasskeyState),
}

impl Screen {
    /// The form behind the screen.
    pub fn form(&self) -> &dyn Form {
        match self {
            Self::Welcome(s) => s,
            Self::SignIn(s) => s,
            Self::BirthDate(s) => s,
            Self::Terms(s) => s,
            Self::Email(s) => s,
            Self::Awaiting(s) => s,
            Self::ChooseMethod(s) => s,
            Self::NewCredentials(s) => s,
            Self::Complete(s) => s,
            Self::TotpEnroll(s) => s,
            Self::SecondFactor(s) => s,
            Self::Home(s) => s,
            Self::EmailCode(s) => s,
            Self::Recover(s) => s,
            Self::ChangeEmail(s) => s,
            Self::Passkey(s) => s,
        }
    }

    fn form_mut(&mut self) -> &mut dyn Form {
        match self {
            Self::Welcome(s) => s,
            Self::SignIn(s) => s,
            Self::BirthDate(s) => s,
            Self::Terms(s) => s,
            Self::Email(s) => s,
            Self::Awaiting(s) => s,
            Self::ChooseMethod(s) => s,
            Self::NewCredentials(s) => s,
            Self::Complete(s) => s,
            Self::TotpEnroll(s) => s,
            Self::SecondFactor(s) => s,
            Self::Home(s) => s,
            Self::EmailCode(s) => s,
            Self::Recover(s) => s,
            Self::ChangeEmail(s) => s,
            Self::Passkey(s) => s,
        }
    }

    /// The step of the manual this screen shows (a range: the waiting screen is 【6】–【7】).
    pub fn manual_steps(&self) -> (u8, u8) {
        let one = |s: Step| {
            let n = s.manual_number().unwrap_or(1);
            (n, n)
        };
        match self {
            Self::Welcome(_) => (1, 1),
            Self::SignIn(_) => one(Step::SignIn),
            Self::BirthDate(_) => one(Step::BirthDate),
            Self::Terms(_) => one(Step::Terms),
            Self::Email(_) => one(Step::Email),
            Self::Awaiting(_) => {
                let n = Step::AwaitingVerification.manual_number().unwrap_or(6);
                (n, n + 1)
            }
            Self::ChooseMethod(_) => one(Step::ChooseMethod),
            Self::NewCredentials(_) => one(Step::NewCredentials),
            Self::Complete(c) => match c.phase {
                CompletePhase::SignedOut => (11, 11),
                _ => one(Step::Complete),
            },
            // Stage 2 and the top screen come after the 11 steps of the first login.
            Self::TotpEnroll(_)
            | Self::SecondFactor(_)
            | Self::Home(_)
            | Self::EmailCode(_)
            | Self::Passkey(_) => (12, 12),
            Self::Recover(_) => one(Step::SignIn),
            Self::ChangeEmail(_) => (12, 12),
        }
    }

    /// A short name for tests and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Welcome(_) => "welcome",
            Self::SignIn(_) => "sign_in",
            Self::BirthDate(_) => "birth_date",
            Self::Terms(_) => "terms",
            Self::Email(_) => "email",
            Self::Awaiting(_) => "awaiting_verification",
            Self::ChooseMethod(_) => "choose_method",
            Self::NewCredentials(_) => "new_credentials",
            Self::Complete(c) => match c.phase {
                CompletePhase::Done => "complete",
                CompletePhase::SignedOut => "signed_out",
                CompletePhase::NotAvailable => "method_unavailable",
            },
            Self::TotpEnroll(_) => "method_setup",
            Self::SecondFactor(_) => "second_factor",
            Self::Home(_) => "home",
            Self::EmailCode(e) => match e.usage {
                EmailCodeUse::Setup => "email_code_setup",
                EmailCodeUse::SignIn => "email_code",
            },
            Self::Recover(r) => match (r.kind, r.phase) {
                (RecoverKind::UserId, RecoverPhase::Sent) => "forgot_id_sent",
                (RecoverKind::UserId, _) => "forgot_id",
                (RecoverKind::Password, RecoverPhase::Reset) => "forgot_password_reset",
                (RecoverKind::Password, _) => "forgot_password",
            },
            Self::ChangeEmail(_) => "change_email",
            Self::Passkey(_) => "passkey",
        }
    }
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
}

/// The whole TUI state.
#[derive(Debug)]
pub struct App {
    /// The language of the screens.
    pub lang: Lang,
    /// The screen on display.
    pub screen: Screen,
    /// The flow's token while a flow is open.
    pub token: Option<FlowToken>,
    /// The last view of the flow the server sent.
    pub flow: Option<FlowView>,
    /// The request in flight.
    pub pending: Option<Pending>,
    /// The status line.
    pub banner: Option<Banner>,
    /// Messages next to fields.
    pub errors: Vec<(Field, Tr)>,
    /// The demo mailbox (None when not in demo mode).
    pub mailbox: Option<MailboxView>,
    /// Whether something changed since the last draw.
    pub dirty: bool,
    /// Seconds since start.
    pub ticks: u64,
    /// How QR codes are drawn (F4 switches).
    pub qr_style: QrStyle,
    /// The offset the top screen shows dates in.
    pub utc_offset: time::UtcOffset,
    next_seq: u64,
    last_poll: u64,
    quit: bool,
}

impl App {
    /// A new app on the welcome screen; `demo` enables the mailbox panel.
    pub fn new(lang: Lang, demo: bool) -> Self {
        Self {
            lang,
            screen: Screen::Welcome(WelcomeState::default()),
            token: None,
            flow: None,
            pending: None,
            banner: None,
            errors: Vec::new(),
            mailbox: demo.then(MailboxView::default),
            dirty: true,
            ticks: 0,
            qr_style: QrStyle::default(),
            utc_offset: time::UtcOffset::UTC,
            next_seq: 1,
            last_poll: 0,
            quit: false,
        }
    }

    /// Whether the app asked to quit.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether a foreground request is in flight (the waiting indicator is shown).
    pub fn waiting(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| !p.background)
    }

    /// The error shown next to `field`.
    pub fn error(&self, field: Field) -> Option<&Tr> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, t)| t)
    }

    fn set_error(&mut self, field: Field, msg: Tr) {
        if field == Field::Form {
            self.banner = Some(Banner { error: true, msg });
            return;
        }
        self.errors.retain(|(f, _)| *f != field);
        self.errors.push((field, msg));
    }

    fn clear_messages(&mut self) {
        self.errors.clear();
        self.banner = None;
    }

    fn info(&mut self, key: &'static str) {
        self.banner = Some(Banner {
            error: false,
            msg: Tr::new(key),
        });
    }

    fn call(&mut self, call: ApiCall) -> Vec<Command> {
        self.call_bg(call, false)
    }

    fn call_bg(&mut self, call: ApiCall, background: bool) -> Vec<Command> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending = Some(Pending { seq, background });
        vec![Command::Call { seq, call }]
    }

    /// Handles one message; returns what the event loop must do.
    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Key(key) => {
                if key.kind != KeyEventKind::Press {
                    return Vec::new();
                }
                self.dirty = true;
                self.on_key(key)
            }
            Msg::Paste(text) => {
                self.dirty = true;
                if let Some(Item::Input(id)) = self.screen.form().focused()
                    && let Some(input) = self.screen.form_mut().input_mut(id)
                {
                    input.insert_str(&text);
                }
                Vec::new()
            }
            Msg::Click(target) => {
                self.dirty = true;
                self.on_click(target)
            }
            Msg::Tick => self.on_tick(),
            Msg::Resize(..) => {
                self.dirty = true;
                Vec::new()
            }
            Msg::Response { seq, result } => {
                if self.pending.as_ref().is_none_or(|p| p.seq != seq) {
                    tracing::debug!(seq, "stale answer dropped");
                    return Vec::new();
                }
                let background = self.pending.as_ref().is_some_and(|p| p.background);
                self.pending = None;
                // A background check that found nothing new changes nothing on screen.
                let quiet = background
                    && matches!(&result, Ok(Reply::Flow(v)) if v.step == Step::AwaitingVerification);
                if !quiet {
                    self.dirty = true;
                }
                match result {
                    Ok(reply) => self.on_reply(reply, background),
                    Err(e) => self.on_error(e, background),
                }
            }
            Msg::Mailbox(result) => {
                if let Some(mb) = &mut self.mailbox {
                    match result {
                        Ok(items) => {
                            if items != mb.items {
                                self.dirty = true;
                            }
                            mb.selected = mb.selected.min(items.len().saturating_sub(1));
                            mb.items = items;
                            mb.error = None;
                        }
                        Err(e) => {
                            mb.error = Some(e);
                            self.dirty = true;
                        }
                    }
                }
                Vec::new()
            }
            Msg::Terminate => self.quit_cmd(),
            msg @ (Msg::PasskeyProbed(_) | Msg::Passkey(_) | Msg::PasskeyDone(_)) => {
                self.on_passkey_msg(msg)
            }
        }
    }

    fn quit_cmd(&mut self) -> Vec<Command> {
        self.quit = true;
        vec![Command::Quit {
            sign_out: self.token.take(),
        }]
    }

    fn on_tick(&mut self) -> Vec<Command> {
        self.ticks += 1;
        let mut cmds = Vec::new();
        if self.mailbox.as_ref().is_some_and(|m| m.open) {
            cmds.push(Command::ListMailbox);
        }
        if matches!(self.screen, Screen::Awaiting(_))
            && self.pending.is_none()
            && self.ticks.saturating_sub(self.last_poll) >= POLL_SECS
            && let Some(token) = self.token.clone()
        {
            self.last_poll = self.ticks;
            cmds.extend(self.call_bg(ApiCall::Flow(token), true));
        }
        cmds
    }

    fn switch_lang(&mut self) -> Vec<Command> {
        self.lang = match self.lang {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        };
        if let Screen::Terms(t) = &mut self.screen {
            // The terms come from the server in each language.
            t.doc = None;
            t.scroll = 0;
            t.max_scroll.set(None);
            if self.pending.is_none() {
                return self.call(ApiCall::Terms(self.lang));
            }
        }
        Vec::new()
    }

    fn toggle_mailbox(&mut self) -> Vec<Command> {
        match &mut self.mailbox {
            Some(mb) => {
                mb.open = !mb.open;
                if mb.open {
                    vec![Command::ListMailbox]
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        }
    }

    fn open_mail_link(&mut self, i: usize) -> Vec<Command> {
        if self.pending.as_ref().is_some_and(|p| !p.background) {
            return Vec::new();
        }
        let link = self
            .mailbox
            .as_ref()
            .and_then(|mb| mb.items.get(i))
            .and_then(|m| m.links.first().cloned());
        match link {
            Some(link) => self.call(ApiCall::OpenLink(link)),
            None => {
                self.set_error(Field::Form, Tr::new("mailbox.no_link"));
                Vec::new()
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => return self.quit_cmd(),
            KeyCode::F(2) => return self.switch_lang(),
            KeyCode::Char('l') if ctrl => return self.switch_lang(),
            KeyCode::F(3) => return self.toggle_mailbox(),
            _ => {}
        }
        // The mailbox panel takes the arrows, Enter and Esc while it is open.
        if let Some(mb) = &mut self.mailbox
            && mb.open
        {
            match key.code {
                KeyCode::Up => {
                    mb.selected = mb.selected.saturating_sub(1);
                    return Vec::new();
                }
                KeyCode::Down => {
                    mb.selected = (mb.selected + 1).min(mb.items.len().saturating_sub(1));
                    return Vec::new();
                }
                KeyCode::Enter => {
                    let i = mb.selected;
                    return self.open_mail_link(i);
                }
                KeyCode::Esc => {
                    mb.open = false;
                    return Vec::new();
                }
                _ => {}
            }
        }
        // Screen-specific keys.
        match &mut self.screen {
            Screen::Terms(t) => match key.code {
                KeyCode::Up => {
                    t.scroll_by(-1);
                    return Vec::new();
                }
                KeyCode::Down => {
                    t.scroll_by(1);
                    return Vec::new();
                }
                KeyCode::PageUp => {
                    t.scroll_by(-10);
                    return Vec::new();
                }
                KeyCode::PageDown | KeyCode::Char(' ') => {
                    t.scroll_by(10);
                    return Vec::new();
                }
                KeyCode::Home => {
                    t.scroll = 0;
                    return Vec::new();
                }
                _ => {}
            },
            Screen::TotpEnroll(e) if key.code == KeyCode::F(4) => {
                e.toggle_style();
                self.qr_style = e.style;
                return Vec::new();
            }
            Screen::Home(h) if h.mode == HomeMode::List => match key.code {
                KeyCode::Up => {
                    h.select_by(-1);
                    return Vec::new();
                }
                KeyCode::Down => {
                    h.select_by(1);
                    return Vec::new();
                }
                _ => {}
            },
            Screen::ChooseMethod(c) => match key.code {
                KeyCode::Up => {
                    c.focus = c.focus.saturating_sub(1);
                    return Vec::new();
                }
                KeyCode::Down => {
                    c.focus = (c.focus + 1).min(c.items().len() - 1);
                    return Vec::new();
                }
                _ => {}
            },
            _ => {}
        }
        let form = self.screen.form();
        let n = form.items().len();
        match key.code {
            KeyCode::Tab if n > 0 => {
                let f = (form.focus() + 1) % n;
                self.screen.form_mut().set_focus(f);
                Vec::new()
            }
            KeyCode::BackTab if n > 0 => {
                let f = (form.focus() + n - 1) % n;
                self.screen.form_mut().set_focus(f);
                Vec::new()
            }
            KeyCode::Esc => self.go_back(),
            KeyCode::Enter => match form.focused() {
                Some(Item::Button(intent)) => self.on_intent(intent),
                Some(Item::Input(_)) => {
                    // Enter moves to the next input, or submits from the last one.
                    let next = form.focus() + 1;
                    match form.items().get(next) {
                        Some(Item::Input(_)) => {
                            self.screen.form_mut().set_focus(next);
                            Vec::new()
                        }
                        _ => match form.submit() {
                            Some(intent) => self.on_intent(intent),
                            None => Vec::new(),
                        },
                    }
                }
                None => Vec::new(),
            },
            KeyCode::Char(' ') if matches!(form.focused(), Some(Item::Button(_))) => {
                match form.focused() {
                    Some(Item::Button(intent)) => self.on_intent(intent),
                    _ => Vec::new(),
                }
            }
            _ => {
                if let Some(Item::Input(id)) = form.focused() {
                    let before_len = form.input(id).map(|i| i.value().len());
                    if let Some(input) = self.screen.form_mut().input_mut(id)
                        && input.handle_key(key) == InputOutcome::Changed
                    {
                        // Typing clears the error of that field.
                        if before_len != Some(input.value().len()) {
                            let field = id.field();
                            self.errors.retain(|(f, _)| *f != field);
                        }
                        self.after_edit(id);
                    }
                }
                Vec::new()
            }
        }
    }

    /// Moves on from an input once it is full (the birth date's year and month).
    fn after_edit(&mut self, id: InputId) {
        if let Screen::BirthDate(b) = &mut self.screen {
            let full = match id {
                InputId::Year => b.year.value().len() == 4,
                InputId::Month => b.month.value().len() == 2,
                _ => false,
            };
            if full {
                b.focus += 1;
            }
        }
    }

    fn on_click(&mut self, target: Target) -> Vec<Command> {
        match target {
            Target::Lang => self.switch_lang(),
            Target::MailboxToggle => self.toggle_mailbox(),
            Target::Mail(i) => {
                if let Some(mb) = &mut self.mailbox {
                    mb.selected = i;
                }
                self.open_mail_link(i)
            }
            Target::Row(i) => {
                if let Screen::Home(h) = &mut self.screen
                    && h.mode == HomeMode::List
                {
                    h.selected = i.min(h.factors().len().saturating_sub(1));
                }
                Vec::new()
            }
            Target::Item(i) => {
                let item = self.screen.form().items().get(i).copied();
                self.screen.form_mut().set_focus(i);
                match item {
                    Some(Item::Button(intent)) => self.on_intent(intent),
                    _ => Vec::new(),
                }
            }
        }
    }

    /// Esc: back to the previous screen where the journey allows it.
    fn go_back(&mut self) -> Vec<Command> {
        if self.waiting() {
            return Vec::new();
        }
        match &self.screen {
            Screen::SignIn(_) => {
                self.clear_messages();
                self.screen = Screen::Welcome(WelcomeState::default());
                Vec::new()
            }
            Screen::BirthDate(_) => {
                // Back to sign-in: end this flow.
                self.clear_messages();
                let cmds = match self.token.take() {
                    Some(t) => self.call_bg(ApiCall::SignOut(t), true),
                    None => Vec::new(),
                };
                self.screen = Screen::SignIn(SignInState::default());
                cmds
            }
            Screen::Awaiting(_) => self.on_intent(Intent::ChangeAddress),
            Screen::NewCredentials(_) => self.on_intent(Intent::BackToMethod),
            Screen::Complete(c) if c.phase == CompletePhase::SignedOut => {
                self.on_intent(Intent::SignInAgain)
            }
            Screen::TotpEnroll(e) => match (e.view, e.origin) {
                (EnrollView::Key | EnrollView::Confirm, _) if e.qr().is_some() => {
                    self.on_intent(Intent::ShowQr)
                }
                (_, EnrollOrigin::MethodSetup) => {
                    self.info("msg.no_back");
                    Vec::new()
                }
                _ => self.on_intent(Intent::CancelEnroll),
            },
            // Adding the emailed code from the top screen: back to it.
            Screen::EmailCode(_) if self.flow.as_ref().is_some_and(|f| f.step == Step::Home) => {
                self.go_home()
            }
            Screen::SecondFactor(_) | Screen::EmailCode(_) => self.on_intent(Intent::SignOut),
            Screen::Recover(_) => self.on_intent(Intent::RecoverBack),
            Screen::ChangeEmail(_) => self.go_home(),
            Screen::Home(h) if h.mode != HomeMode::List => self.on_intent(Intent::HomeBack),
            Screen::Home(_) => Vec::new(),
            Screen::Passkey(_) => self.on_intent(Intent::PasskeyCancel),
            Screen::Terms(_) | Screen::Email(_) | Screen::ChooseMethod(_) => {
                self.info("msg.no_back");
                Vec::new()
            }
            Screen::Welcome(_) | Screen::Complete(_) => Vec::new(),
        }
    }

    fn token_or_expire(&mut self) -> Option<FlowToken> {
        if self.token.is_none() {
            self.back_to_sign_in(Some(Tr::new("err.flow_expired")));
        }
        self.token.clone()
    }

    fn on_intent(&mut self, intent: Intent) -> Vec<Command> {
        // Nothing is sent while another request is on its way (the screen says so).
        let sends = !matches!(
            intent,
            Intent::Start
                | Intent::SwitchLang
                | Intent::ToggleReveal
                | Intent::ForgotId
                | Intent::ForgotPassword
                | Intent::SignInAgain
                | Intent::Quit
                | Intent::TotpNext
                | Intent::CantScan
                | Intent::ShowQr
                | Intent::ToggleQrStyle
                | Intent::Rename
                | Intent::Remove
                | Intent::ChangeMethod
                | Intent::ChangePassword
                | Intent::HomeBack
                | Intent::PasskeySubmitPin
                | Intent::PasskeyCancel
                | Intent::PasskeyRetry
                | Intent::PasskeySignIn
        );
        if sends && self.waiting() {
            return Vec::new();
        }
        if sends {
            self.clear_messages();
        }
        match intent {
            Intent::Start => {
                self.clear_messages();
                self.screen = Screen::SignIn(SignInState::default());
                Vec::new()
            }
            Intent::SwitchLang => self.switch_lang(),
            Intent::Quit => self.quit_cmd(),
            Intent::ToggleReveal => {
                match &mut self.screen {
                    Screen::SignIn(s) => s.password.revealed = !s.password.revealed,
                    Screen::NewCredentials(s) => {
                        let r = !s.password.revealed;
                        s.password.revealed = r;
                        s.confirm.revealed = r;
                    }
                    Screen::Home(s) => {
                        let r = !s.password.revealed;
                        s.current.revealed = r;
                        s.password.revealed = r;
                        s.confirm.revealed = r;
                    }
                    _ => {}
                }
                Vec::new()
            }
            // issue 5
            Intent::ForgotId | Intent::ForgotPassword => {
                self.clear_messages();
                let kind = if intent == Intent::ForgotId {
                    RecoverKind::UserId
                } else {
                    RecoverKind::Password
                };
                self.screen = Screen::Recover(RecoverState::new(kind));
                Vec::new()
            }
            Intent::RecoverBack => {
                self.clear_messages();
                self.screen = Screen::SignIn(SignInState::default());
                Vec::new()
            }
            Intent::SubmitRecover => self.submit_recover(),
            Intent::HomeChangeEmail => {
                let current = self
                    .flow
                    .as_ref()
                    .and_then(|f| f.email.clone())
                    .unwrap_or_default();
                self.clear_messages();
                self.screen = Screen::ChangeEmail(ChangeEmailState::new(current));
                Vec::new()
            }
            Intent::SubmitChangeEmail => {
                let Screen::ChangeEmail(c) = &self.screen else {
                    return Vec::new();
                };
                let email = c.email.value().trim().to_owned();
                if email.is_empty() {
                    self.set_error(Field::Email, Tr::new("err.invalid_email"));
                    return Vec::new();
                }
                match self.token_or_expire() {
                    Some(t) => self.call(ApiCall::ChangeEmail(t, email)),
                    None => Vec::new(),
                }
            }
            Intent::SignIn => {
                let Screen::SignIn(s) = &self.screen else {
                    return Vec::new();
                };
                let user_id = s.user_id.value().trim().to_owned();
                let password = s.password.value().to_owned();
                if user_id.is_empty() {
                    self.set_error(Field::UserId, Tr::new("err.required"));
                }
                if password.is_empty() {
                    self.set_error(Field::Password, Tr::new("err.required"));
                }
                if !self.errors.is_empty() {
                    return Vec::new();
                }
                self.call(ApiCall::SignIn {
                    user_id,
                    password,
                    lang: self.lang,
                })
            }
            Intent::SubmitBirthDate => {
                let Screen::BirthDate(b) = &self.screen else {
                    return Vec::new();
                };
                let (y, m, d) = (b.year.value(), b.month.value(), b.day.value());
                if y.len() != 4 || m.is_empty() || d.is_empty() {
                    self.set_error(Field::BirthDate, Tr::new("err.birth_date_format"));
                    return Vec::new();
                }
                let parsed = match (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) {
                    (Ok(y), Ok(m), Ok(d)) => BirthDate::from_ymd(y, m, d),
                    _ => Err(crate::domain::BirthDateError::Format),
                };
                match parsed {
                    Ok(date) => match self.token_or_expire() {
                        Some(t) => self.call(ApiCall::BirthDate(t, date.to_string())),
                        None => Vec::new(),
                    },
                    Err(e) => {
                        let key = match e {
                            crate::domain::BirthDateError::Format => "err.birth_date_format",
                            crate::domain::BirthDateError::NoSuchDate => "err.birth_date_no_such",
                            crate::domain::BirthDateError::OutOfRange => "err.invalid_birth_date",
                        };
                        self.set_error(Field::BirthDate, Tr::new(key));
                        Vec::new()
                    }
                }
            }
            Intent::AcceptTerms | Intent::DeclineTerms => {
                if let Screen::Terms(t) = &self.screen
                    && t.doc.is_none()
                {
                    // The text did not arrive (a network error): fetch it again.
                    return self.call(ApiCall::Terms(self.lang));
                }
                match self.token_or_expire() {
                    Some(t) => self.call(ApiCall::DecideTerms(t, intent == Intent::AcceptTerms)),
                    None => Vec::new(),
                }
            }
            Intent::ConfirmEmail => match self.token_or_expire() {
                Some(t) => self.call(ApiCall::SubmitEmail(t, None)),
                None => Vec::new(),
            },
            Intent::ChangeEmail => {
                let Screen::Email(e) = &self.screen else {
                    return Vec::new();
                };
                let raw = e.new_email.value().trim().to_owned();
                if raw.is_empty() {
                    self.set_error(Field::Email, Tr::new("err.required"));
                    return Vec::new();
                }
                match EmailAddress::parse(&raw) {
                    Ok(addr) => match self.token_or_expire() {
                        Some(t) => {
                            self.call(ApiCall::SubmitEmail(t, Some(addr.as_str().to_owned())))
                        }
                        None => Vec::new(),
                    },
                    Err(_) => {
                        self.set_error(Field::Email, Tr::new("err.invalid_email"));
                        Vec::new()
                    }
                }
            }
            Intent::Refresh => match self.token_or_expire() {
                Some(t) => {
                    self.last_poll = self.ticks;
                    if let Screen::Awaiting(a) = &mut self.screen {
                        a.refreshed = true;
                    }
                    self.call(ApiCall::Flow(t))
                }
                None => Vec::new(),
            },
            Intent::Resend => match self.token_or_expire() {
                Some(t) => {
                    if let Screen::Awaiting(a) = &mut self.screen {
                        a.resending = true;
                    }
                    self.call(ApiCall::ResendEmail(t))
                }
                None => Vec::new(),
            },
            Intent::ChangeAddress | Intent::BackToMethod => match self.token_or_expire() {
                Some(t) => self.call(ApiCall::Back(t)),
                None => Vec::new(),
            },
            Intent::Choose(m) => match self.token_or_expire() {
                Some(t) => self.call(ApiCall::ChooseMethod(t, m)),
                None => Vec::new(),
            },
            Intent::SetCredentials => self.submit_credentials(),
            Intent::SignOut
                if matches!(
                    self.screen,
                    Screen::Home(_) | Screen::SecondFactor(_) | Screen::EmailCode(_)
                ) =>
            {
                let cmds = match self.token.take() {
                    Some(t) => self.call_bg(ApiCall::SignOut(t), true),
                    None => Vec::new(),
                };
                self.back_to_sign_in(None);
                self.info("msg.signed_out");
                cmds
            }
            Intent::SignOut => {
                if let Screen::Complete(c) = &mut self.screen {
                    c.phase = CompletePhase::SignedOut;
                    c.focus = 0;
                }
                match self.token.take() {
                    Some(t) => self.call(ApiCall::SignOut(t)),
                    None => Vec::new(),
                }
            }
            Intent::SignInAgain => {
                self.back_to_sign_in(None);
                Vec::new()
            }
            _ => self.on_second_factor_intent(intent),
        }
    }

    /// The intents of the authenticator-app and top screens.
    fn on_second_factor_intent(&mut self, intent: Intent) -> Vec<Command> {
        match intent {
            Intent::TotpNext | Intent::CantScan | Intent::ShowQr => {
                let view = match intent {
                    Intent::TotpNext => EnrollView::Confirm,
                    Intent::CantScan => EnrollView::Key,
                    _ => EnrollView::Scan,
                };
                if let Screen::TotpEnroll(e) = &mut self.screen {
                    e.show(view);
                }
                Vec::new()
            }
            Intent::ToggleQrStyle => {
                if let Screen::TotpEnroll(e) = &mut self.screen {
                    e.toggle_style();
                    self.qr_style = e.style;
                }
                Vec::new()
            }
            Intent::ConfirmTotp => self.confirm_totp(),
            Intent::VerifyTotp => self.send_code(ApiCall::VerifyTotp),
            // issue 5
            Intent::VerifyEmailCode => self.send_code(ApiCall::VerifyEmailCode),
            Intent::ResendEmailCode => match self.token_or_expire() {
                Some(t) => self.call(ApiCall::SendEmailCode(t)),
                None => Vec::new(),
            },
            Intent::CancelEnroll => self.go_home(),
            Intent::AddDevice => self.start_enroll(EnrollOrigin::AddDevice),
            Intent::AddMethod(Method::TotpApp) => self.start_enroll(EnrollOrigin::ChangeMethod),
            // issue 5: add the emailed code from the top screen.
            Intent::AddMethod(Method::EmailOtp) => {
                let Some(t) = self.token_or_expire() else {
                    return Vec::new();
                };
                self.clear_messages();
                self.screen = Screen::EmailCode(EmailCodeState::new(EmailCodeUse::Setup));
                self.call(ApiCall::SendEmailCode(t))
            }
            Intent::AddMethod(Method::Passkey) => self.open_passkey(PasskeyPurpose::Register, true),
            Intent::Rename | Intent::Remove => {
                if let Screen::Home(h) = &mut self.screen {
                    if h.selected_factor().is_none() {
                        self.info("home.no_selection");
                        return Vec::new();
                    }
                    // The email method is named by the address: it changes with the address.
                    if intent == Intent::Rename
                        && h.selected_factor()
                            .is_some_and(|f| f.method == Method::EmailOtp)
                    {
                        self.info("home.rename_email");
                        return Vec::new();
                    }
                    h.show(if intent == Intent::Rename {
                        HomeMode::Rename
                    } else {
                        HomeMode::ConfirmRemove
                    });
                }
                Vec::new()
            }
            Intent::ChangeMethod | Intent::ChangePassword | Intent::HomeBack => {
                self.errors.clear();
                if let Screen::Home(h) = &mut self.screen {
                    h.show(match intent {
                        Intent::ChangeMethod => HomeMode::ChangeMethod,
                        Intent::ChangePassword => HomeMode::Password,
                        _ => HomeMode::List,
                    });
                }
                Vec::new()
            }
            Intent::SaveRename => {
                let Screen::Home(h) = &self.screen else {
                    return Vec::new();
                };
                let name = h.new_name.value().trim().to_owned();
                let Some((method, id)) = h.selected_factor().map(|f| (f.method, f.id)) else {
                    return Vec::new();
                };
                if name.is_empty() {
                    self.set_error(Field::FactorName, Tr::new("totp.name_required"));
                    return Vec::new();
                }
                match self.token_or_expire() {
                    Some(t) => self.call(ApiCall::RenameFactor(t, method, id, name)),
                    None => Vec::new(),
                }
            }
            Intent::ConfirmRemove => {
                let Some((method, id)) = (match &self.screen {
                    Screen::Home(h) => h.selected_factor().map(|f| (f.method, f.id)),
                    _ => None,
                }) else {
                    return Vec::new();
                };
                match self.token_or_expire() {
                    Some(t) => self.call(ApiCall::RemoveFactor(t, method, id)),
                    None => Vec::new(),
                }
            }
            Intent::RemoveOld => self.remove_next_old(),
            Intent::SubmitPassword => self.submit_password_change(),
            Intent::PasskeyUse(_)
            | Intent::PasskeySubmitPin
            | Intent::PasskeySaveName
            | Intent::PasskeyRetry
            | Intent::PasskeyCancel
            | Intent::PasskeySignIn => self.on_passkey_intent(intent),
            _ => Vec::new(),
        }
    }

    /// Sends the one-time password typed on the code screen (an app's or a mailed one) with
    /// `call`; an empty field is said at the field.
    fn send_code(&mut self, call: fn(FlowToken, String) -> ApiCall) -> Vec<Command> {
        let typed = match &self.screen {
            Screen::SecondFactor(s) => s.code.value(),
            Screen::EmailCode(s) => s.code.value(),
            _ => return Vec::new(),
        };
        let code = normalize_code(typed);
        if code.is_empty() {
            self.set_error(Field::TotpCode, Tr::new("totp.code_required"));
            return Vec::new();
        }
        match self.token_or_expire() {
            Some(t) => self.call(call(t, code)),
            None => Vec::new(),
        }
    }

    /// Back to the top screen (its contents are asked for again).
    fn go_home(&mut self) -> Vec<Command> {
        self.errors.clear();
        self.screen = Screen::Home(HomeState::new(self.utc_offset));
        match self.token_or_expire() {
            Some(t) => self.call(ApiCall::Home(t)),
            None => Vec::new(),
        }
    }

    /// Opens the authenticator-app set-up from the top screen.
    fn start_enroll(&mut self, origin: EnrollOrigin) -> Vec<Command> {
        let (count, old) = match &self.screen {
            // Ids are per kind: only the authenticator apps are offered for removal here
            // (passkeys stay until removed by hand).
            Screen::Home(h) => (
                h.factors().len(),
                h.factors()
                    .iter()
                    .filter(|f| f.method == Method::TotpApp)
                    .map(|f| f.id)
                    .collect(),
            ),
            _ => (0, Vec::new()),
        };
        if let Screen::Home(h) = &self.screen
            && let Some(v) = &h.view
            && v.second_factors
                .iter()
                .filter(|f| f.method == Method::TotpApp)
                .count()
                >= usize::try_from(v.max_totp_devices).unwrap_or(usize::MAX)
        {
            self.set_error(Field::Form, Tr::new("err.too_many_devices"));
            return Vec::new();
        }
        let name = self.default_device_name(count);
        let mut e = TotpEnrollState::new(origin, self.qr_style, &name);
        if origin == EnrollOrigin::ChangeMethod {
            e.replaces = old;
        }
        self.screen = Screen::TotpEnroll(e);
        match self.token_or_expire() {
            Some(t) => self.call(ApiCall::StartTotp(t)),
            None => Vec::new(),
        }
    }

    /// "スマートフォン", then "スマートフォン 2" and so on (names must be unique per member).
    fn default_device_name(&self, existing: usize) -> String {
        let base = crate::tui::i18n::t(self.lang, "totp.default_device");
        if existing == 0 {
            base.to_owned()
        } else {
            format!("{base} {}", existing + 1)
        }
    }

    fn confirm_totp(&mut self) -> Vec<Command> {
        let Screen::TotpEnroll(e) = &self.screen else {
            return Vec::new();
        };
        let device_name = e.device_name.value().trim().to_owned();
        let code = normalize_code(e.code.value());
        if device_name.is_empty() {
            self.set_error(Field::DeviceName, Tr::new("totp.name_required"));
        }
        if code.is_empty() {
            self.set_error(Field::TotpCode, Tr::new("totp.code_required"));
        }
        if !self.errors.is_empty() {
            return Vec::new();
        }
        match self.token_or_expire() {
            Some(token) => self.call(ApiCall::ConfirmTotp {
                token,
                code,
                device_name,
            }),
            None => Vec::new(),
        }
    }

    /// Removes the next of the methods the member replaced (one request at a time).
    fn remove_next_old(&mut self) -> Vec<Command> {
        let Screen::Home(h) = &mut self.screen else {
            return Vec::new();
        };
        let HomeMode::RemoveOld(ids) = &mut h.mode else {
            return Vec::new();
        };
        let Some(id) = ids.pop() else {
            h.show(HomeMode::List);
            self.info("home.removed");
            return Vec::new();
        };
        h.removing = true;
        match self.token_or_expire() {
            Some(t) => self.call(ApiCall::RemoveFactor(t, Method::TotpApp, id)),
            None => Vec::new(),
        }
    }

    fn submit_password_change(&mut self) -> Vec<Command> {
        let Screen::Home(h) = &self.screen else {
            return Vec::new();
        };
        let current = h.current.value().to_owned();
        let new = h.password.value().to_owned();
        let confirm = h.confirm.value().to_owned();
        if current.is_empty() {
            self.set_error(Field::CurrentPassword, Tr::new("err.required"));
        }
        self.check_new_password(&new, &confirm);
        if !self.errors.is_empty() {
            return Vec::new();
        }
        match self.token_or_expire() {
            Some(token) => self.call(ApiCall::ChangePassword {
                token,
                current,
                new,
            }),
            None => Vec::new(),
        }
    }

    /// The password policy and the confirmation, checked before anything is sent (the server
    /// checks again).
    fn check_new_password(&mut self, pw: &str, confirm: &str) {
        match password::check(pw) {
            Err(password::PasswordError::Length) => {
                self.set_error(Field::NewPassword, Tr::new("err.weak_password.length"))
            }
            Err(password::PasswordError::Characters) => {
                self.set_error(Field::NewPassword, Tr::new("err.weak_password.characters"))
            }
            Ok(()) => {}
        }
        if pw != confirm {
            self.set_error(Field::Confirm, Tr::new("err.confirm_mismatch"));
        }
    }

    fn submit_credentials(&mut self) -> Vec<Command> {
        let Screen::NewCredentials(s) = &self.screen else {
            return Vec::new();
        };
        let pw = s.password.value().to_owned();
        let confirm = s.confirm.value().to_owned();
        let uid = s.new_user_id.value().trim().to_owned();
        self.check_new_password(&pw, &confirm);
        let new_user_id = if uid.is_empty() {
            None
        } else {
            match UserId::parse(&uid) {
                Ok(id) => Some(id.as_str().to_owned()),
                Err(e) => {
                    self.set_error(Field::NewUserId, user_id_rule_error(e.rule()));
                    None
                }
            }
        };
        if !self.errors.is_empty() {
            return Vec::new();
        }
        match self.token_or_expire() {
            Some(token) => self.call(ApiCall::SetCredentials {
                token,
                password: pw,
                new_user_id,
            }),
            None => Vec::new(),
        }
    }

    /// Back to a fresh sign-in screen, the flow forgotten, with an optional message.
    /// issue 5: sends the recovery form on screen, after the checks the screen can make.
    fn submit_recover(&mut self) -> Vec<Command> {
        let Screen::Recover(r) = &self.screen else {
            return Vec::new();
        };
        let birth = || {
            let digits: String = r
                .birth
                .value()
                .chars()
                .filter_map(|c| match c {
                    '０'..='９' => char::from_digit(c as u32 - '０' as u32, 10),
                    c if c.is_ascii_digit() => Some(c),
                    _ => None,
                })
                .collect();
            (digits.len() == 8)
                .then(|| format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..]))
        };
        let call = match (r.kind, r.phase) {
            (_, RecoverPhase::Sent) => return Vec::new(),
            (kind, RecoverPhase::Request) => {
                let Some(birth_date) = birth() else {
                    self.set_error(Field::BirthDate, Tr::new("recover.birth_required"));
                    return Vec::new();
                };
                match kind {
                    RecoverKind::UserId => ApiCall::ForgotUserId {
                        symbol: r.symbol.value().to_owned(),
                        number: r.number.value().to_owned(),
                        birth_date,
                        lang: self.lang,
                    },
                    RecoverKind::Password => ApiCall::ForgotPassword {
                        user_id: r.user_id.value().trim().to_owned(),
                        birth_date,
                        lang: self.lang,
                    },
                }
            }
            (_, RecoverPhase::Reset) => {
                let code = normalize_code(r.code.value());
                if code.is_empty() {
                    self.set_error(Field::TotpCode, Tr::new("totp.code_required"));
                    return Vec::new();
                }
                if r.password.value() != r.confirm.value() {
                    self.set_error(Field::Confirm, Tr::new("recover.mismatch"));
                    return Vec::new();
                }
                ApiCall::ResetPassword {
                    user_id: r.user_id.value().trim().to_owned(),
                    code,
                    password: r.password.value().to_owned(),
                }
            }
        };
        self.errors.clear();
        self.call(call)
    }

    fn back_to_sign_in(&mut self, msg: Option<Tr>) {
        self.token = None;
        self.flow = None;
        self.errors.clear();
        self.banner = msg.map(|msg| Banner { error: true, msg });
        self.screen = Screen::SignIn(SignInState::default());
    }

    fn on_reply(&mut self, reply: Reply, background: bool) -> Vec<Command> {
        match reply {
            Reply::SignedIn(token, view) => {
                self.token = Some(token);
                self.show_step(view)
            }
            Reply::Flow(view) => {
                let was_resend = matches!(&self.screen, Screen::Awaiting(a) if a.resending);
                if background && view.step == Step::AwaitingVerification {
                    // Nothing new yet.
                    self.flow = Some(view);
                    return Vec::new();
                }
                let cmds = self.show_step(view);
                if let Screen::Awaiting(a) = &mut self.screen {
                    if was_resend {
                        a.resending = false;
                        self.info("awaiting.resent");
                    } else if a.refreshed && !background {
                        a.refreshed = false;
                        self.info("awaiting.not_yet");
                    }
                }
                cmds
            }
            Reply::Terms(doc) => {
                if let Screen::Terms(t) = &mut self.screen {
                    if doc.lang == self.lang {
                        t.doc = Some(doc);
                    } else {
                        // The language changed while the text was on its way.
                        return self.call(ApiCall::Terms(self.lang));
                    }
                }
                Vec::new()
            }
            Reply::SignedOut => Vec::new(),
            Reply::Enrollment(e) => {
                if let Screen::TotpEnroll(s) = &mut self.screen {
                    s.set_enrollment(e);
                }
                Vec::new()
            }
            Reply::Home(view) => self.on_home(view),
            Reply::EmailChangeStarted(pending) => {
                let cmds = self.go_home();
                self.banner = Some(Banner {
                    error: false,
                    msg: Tr::new("change_email.sent").arg("email", pending),
                });
                cmds
            }
            Reply::Recovery => {
                let Screen::Recover(r) = &mut self.screen else {
                    return Vec::new();
                };
                match (r.kind, r.phase) {
                    (RecoverKind::UserId, _) => {
                        r.phase = RecoverPhase::Sent;
                        r.focus = 0;
                    }
                    (RecoverKind::Password, RecoverPhase::Request) => {
                        r.phase = RecoverPhase::Reset;
                        r.focus = 0;
                    }
                    (RecoverKind::Password, _) => {
                        self.screen = Screen::SignIn(SignInState::default());
                        self.info("recover.done");
                    }
                }
                Vec::new()
            }
            Reply::EmailCodeSent(to) => {
                if let Screen::EmailCode(s) = &mut self.screen {
                    let again = s.sent_to.is_some();
                    s.sent_to = Some(to);
                    s.code.clear();
                    s.focus = 0;
                    if again {
                        self.info("email_otp.resent");
                    }
                }
                Vec::new()
            }
            Reply::PasskeyOptions(request) => self.on_passkey_options(request),
            Reply::Link(status) => {
                self.banner = Some(Banner {
                    error: !(200..300).contains(&status),
                    msg: Tr::new("mailbox.opened").arg("status", status.to_string()),
                });
                // Look at once whether the link did it.
                if matches!(self.screen, Screen::Awaiting(_))
                    && let Some(t) = self.token.clone()
                {
                    self.last_poll = self.ticks;
                    return self.call_bg(ApiCall::Flow(t), true);
                }
                Vec::new()
            }
        }
    }

    /// Draws the screen for the server's step.
    fn show_step(&mut self, view: FlowView) -> Vec<Command> {
        let step = view.step;
        let method = view.method;
        self.flow = Some(view);
        let same = matches!(
            (&self.screen, step),
            (Screen::BirthDate(_), Step::BirthDate)
                | (Screen::Terms(_), Step::Terms)
                | (Screen::Email(_), Step::Email)
                | (Screen::Awaiting(_), Step::AwaitingVerification)
                | (Screen::ChooseMethod(_), Step::ChooseMethod)
                | (Screen::NewCredentials(_), Step::NewCredentials)
                | (Screen::TotpEnroll(_), Step::MethodSetup)
                | (Screen::SecondFactor(_), Step::SecondFactor)
                | (Screen::EmailCode(_), Step::MethodSetup | Step::SecondFactor)
                | (Screen::ChangeEmail(_), Step::Home)
                | (Screen::Home(_), Step::Home)
                | (Screen::Passkey(_), Step::MethodSetup | Step::SecondFactor)
        );
        if same {
            return Vec::new();
        }
        self.errors.clear();
        match step {
            Step::SignIn => {
                // The flow ended (the terms were declined).
                self.back_to_sign_in(None);
                self.info("terms.declined");
                Vec::new()
            }
            Step::BirthDate => {
                self.screen = Screen::BirthDate(BirthDateState::new());
                Vec::new()
            }
            Step::Terms => {
                self.screen = Screen::Terms(TermsState::default());
                self.call(ApiCall::Terms(self.lang))
            }
            Step::Email => {
                self.screen = Screen::Email(EmailState::new());
                Vec::new()
            }
            Step::AwaitingVerification => {
                self.last_poll = self.ticks;
                self.screen = Screen::Awaiting(AwaitingState::default());
                Vec::new()
            }
            Step::ChooseMethod => {
                if matches!(self.screen, Screen::Awaiting(_)) {
                    self.info("awaiting.verified");
                }
                let mut c = ChooseState::default();
                if let Some(m) = method
                    && let Some(i) = Method::ALL.iter().position(|x| *x == m)
                {
                    c.focus = i;
                }
                self.screen = Screen::ChooseMethod(c);
                Vec::new()
            }
            Step::NewCredentials => {
                self.screen = Screen::NewCredentials(CredentialsState::new());
                Vec::new()
            }
            Step::Complete => {
                // The server ended the flow.
                self.token = None;
                self.screen = Screen::Complete(CompleteState::new(CompletePhase::Done, method));
                Vec::new()
            }
            Step::MethodSetup if method == Some(Method::TotpApp) => {
                let name = self.default_device_name(0);
                self.screen = Screen::TotpEnroll(TotpEnrollState::new(
                    EnrollOrigin::MethodSetup,
                    self.qr_style,
                    &name,
                ));
                match self.token.clone() {
                    Some(t) => self.call(ApiCall::StartTotp(t)),
                    None => Vec::new(),
                }
            }
            // issue 5: the email method, at its set-up and after the password.
            Step::MethodSetup | Step::SecondFactor if method == Some(Method::EmailOtp) => {
                let usage = if step == Step::MethodSetup {
                    EmailCodeUse::Setup
                } else {
                    EmailCodeUse::SignIn
                };
                self.screen = Screen::EmailCode(EmailCodeState::new(usage));
                match self.token.clone() {
                    Some(t) => self.call(ApiCall::SendEmailCode(t)),
                    None => Vec::new(),
                }
            }
            Step::MethodSetup if method == Some(Method::Passkey) => {
                self.open_passkey(PasskeyPurpose::Register, false)
            }
            Step::MethodSetup => {
                self.screen =
                    Screen::Complete(CompleteState::new(CompletePhase::NotAvailable, method));
                Vec::new()
            }
            // A member whose method is the passkey is asked for it straight away (Cancel leads to
            // the code screen, for a member who also has an app).
            Step::SecondFactor if method == Some(Method::Passkey) => {
                self.open_passkey(PasskeyPurpose::SignIn, false)
            }
            Step::SecondFactor => {
                self.screen = Screen::SecondFactor(SecondFactorState::default());
                Vec::new()
            }
            Step::Home => {
                // An app set up in place of the old methods: offer to remove them.
                let replaced = match &self.screen {
                    Screen::TotpEnroll(e) if e.origin == EnrollOrigin::ChangeMethod => {
                        Some(e.replaces.clone())
                    }
                    _ => None,
                };
                let added = matches!(self.screen, Screen::TotpEnroll(_) | Screen::EmailCode(_))
                    || matches!(&self.screen, Screen::Passkey(p) if p.purpose == PasskeyPurpose::Register);
                let mut h = HomeState::new(self.utc_offset);
                if let Some(ids) = replaced.filter(|ids| !ids.is_empty()) {
                    h.show(HomeMode::RemoveOld(ids));
                }
                self.screen = Screen::Home(h);
                if added {
                    self.info("home.added");
                }
                match self.token.clone() {
                    Some(t) => self.call(ApiCall::Home(t)),
                    None => Vec::new(),
                }
            }
        }
    }

    /// The top screen's contents arrived (first load, or after a change).
    fn on_home(&mut self, view: HomeView) -> Vec<Command> {
        let flow = view.flow.clone();
        let Screen::Home(h) = &mut self.screen else {
            return Vec::new();
        };
        h.set_view(view);
        self.flow = Some(flow);
        let done = match &h.mode {
            HomeMode::Rename => Some("home.renamed"),
            HomeMode::ConfirmRemove => Some("home.removed"),
            HomeMode::Password => Some("home.password_changed"),
            _ => None,
        };
        if h.removing {
            return self.remove_next_old();
        }
        if let Some(key) = done {
            h.show(HomeMode::List);
            self.info(key);
        }
        Vec::new()
    }

    fn on_error(&mut self, err: ClientError, background: bool) -> Vec<Command> {
        let field_for_screen = |screen: &Screen| match screen {
            Screen::SignIn(_) => Field::Password,
            Screen::BirthDate(_) => Field::BirthDate,
            Screen::Email(_) => Field::Email,
            Screen::NewCredentials(_) => Field::NewPassword,
            Screen::TotpEnroll(_) | Screen::SecondFactor(_) | Screen::EmailCode(_) => {
                Field::TotpCode
            }
            _ => Field::Form,
        };
        if let Screen::Awaiting(a) = &mut self.screen {
            a.resending = false;
            a.refreshed = false;
        }
        let e = match err {
            ClientError::Api(e) => e,
            ClientError::Transport(detail) => {
                tracing::warn!(%detail, "transport error");
                self.set_error(Field::Form, Tr::new("err.transport"));
                return Vec::new();
            }
            ClientError::Decode(detail) => {
                tracing::warn!(%detail, "undecodable answer");
                self.set_error(Field::Form, Tr::new("err.decode"));
                return Vec::new();
            }
        };
        tracing::info!(code = e.code.as_str(), background, "api error");
        match e.code {
            ErrorCode::InvalidCredentials if matches!(self.screen, Screen::Home(_)) => {
                self.set_error(
                    Field::CurrentPassword,
                    Tr::new("err.wrong_current_password"),
                );
            }
            ErrorCode::InvalidCredentials => {
                self.set_error(Field::Password, Tr::new("err.invalid_credentials"));
            }
            ErrorCode::RateLimited => {
                let secs = e.retry_after_secs.unwrap_or(60).to_string();
                let f = field_for_screen(&self.screen);
                self.set_error(f, Tr::new("err.rate_limited").arg("secs", secs));
            }
            ErrorCode::ServerBusy => {
                let secs = e.retry_after_secs.unwrap_or(1).to_string();
                let f = field_for_screen(&self.screen);
                self.set_error(f, Tr::new("err.server_busy").arg("secs", secs));
            }
            ErrorCode::FlowExpired => self.back_to_sign_in(Some(Tr::new("err.flow_expired"))),
            ErrorCode::Unauthorized => self.back_to_sign_in(Some(Tr::new("err.unauthorized"))),
            ErrorCode::TooManyAttempts => {
                self.back_to_sign_in(Some(Tr::new("err.too_many_attempts")))
            }
            ErrorCode::OutOfOrder => {
                if let Some(step) = e.step
                    && let Some(view) = self.flow.clone()
                {
                    let cmds = self.show_step(FlowView { step, ..view });
                    self.set_error(Field::Form, Tr::new("err.out_of_order"));
                    return cmds;
                }
                self.set_error(Field::Form, Tr::new("err.out_of_order"));
            }
            ErrorCode::WrongBirthDate => {
                self.set_error(Field::BirthDate, Tr::new("err.wrong_birth_date"));
            }
            ErrorCode::InvalidBirthDate => {
                self.set_error(Field::BirthDate, Tr::new("err.invalid_birth_date"));
            }
            ErrorCode::InvalidEmail => self.set_error(Field::Email, Tr::new("err.invalid_email")),
            ErrorCode::WeakPassword => {
                let key = match e.rule.as_deref() {
                    Some("characters") => "err.weak_password.characters",
                    Some("initial") => "err.weak_password.initial",
                    Some("unchanged") => "err.weak_password.unchanged",
                    _ => "err.weak_password.length",
                };
                self.set_error(Field::NewPassword, Tr::new(key));
            }
            ErrorCode::InvalidUserId => {
                self.set_error(
                    Field::NewUserId,
                    user_id_rule_error(e.rule.as_deref().unwrap_or("")),
                );
            }
            ErrorCode::UserIdTaken => {
                self.set_error(Field::NewUserId, Tr::new("err.user_id_taken"))
            }
            // issue 5: an emailed code has its own wording (no device, no 30-second step).
            ErrorCode::WrongCode | ErrorCode::CodeExpired
                if matches!(self.screen, Screen::EmailCode(_) | Screen::Recover(_)) =>
            {
                let recovering = matches!(self.screen, Screen::Recover(_));
                let key = match (e.code == ErrorCode::WrongCode, recovering) {
                    (true, false) => "email_otp.wrong",
                    (false, false) => "email_otp.expired",
                    (true, true) => "recover.wrong",
                    (false, true) => "recover.expired",
                };
                match &mut self.screen {
                    Screen::EmailCode(s) => {
                        s.code.clear();
                        s.focus = if e.code == ErrorCode::WrongCode { 0 } else { 2 };
                    }
                    Screen::Recover(r) => {
                        r.code.clear();
                        r.focus = 0;
                    }
                    _ => {}
                }
                self.set_error(Field::TotpCode, Tr::new(key));
            }
            ErrorCode::WrongCode
            | ErrorCode::CodeExpired
            | ErrorCode::ClockSkew
            | ErrorCode::CodeUsed => {
                let key = match e.code {
                    ErrorCode::WrongCode => "err.wrong_code",
                    ErrorCode::CodeExpired => "err.code_expired",
                    ErrorCode::ClockSkew => "err.clock_skew",
                    _ => "err.code_used",
                };
                // The manual's FAQ: enter the newest code; so the old one is cleared.
                match &mut self.screen {
                    Screen::TotpEnroll(s) => {
                        s.failed = true;
                        s.code.clear();
                        s.focus = 1;
                    }
                    Screen::SecondFactor(s) => {
                        s.failed = true;
                        s.code.clear();
                        s.focus = 0;
                    }
                    _ => {}
                }
                self.set_error(Field::TotpCode, Tr::new(key));
            }
            ErrorCode::InvalidDeviceName | ErrorCode::DeviceNameTaken => {
                let key = if e.code == ErrorCode::InvalidDeviceName {
                    "err.invalid_device_name"
                } else {
                    "err.device_name_taken"
                };
                let field = match &mut self.screen {
                    Screen::Home(_) => Field::FactorName,
                    Screen::TotpEnroll(s) => {
                        s.focus = 0;
                        Field::DeviceName
                    }
                    _ => Field::Form,
                };
                self.set_error(field, Tr::new(key));
            }
            ErrorCode::TooManyDevices => {
                if let Screen::TotpEnroll(_) = self.screen {
                    let cmds = self.go_home();
                    self.set_error(Field::Form, Tr::new("err.too_many_devices"));
                    return cmds;
                }
                self.set_error(Field::Form, Tr::new("err.too_many_devices"));
            }
            ErrorCode::LastSecondFactor => {
                if let Screen::Home(h) = &mut self.screen {
                    h.show(HomeMode::List);
                }
                self.set_error(Field::Form, Tr::new("err.last_second_factor"));
            }
            // issue 6
            ErrorCode::PasskeyUnavailable
            | ErrorCode::PasskeyRejected
            | ErrorCode::CeremonyExpired
            | ErrorCode::PasskeyTaken
            | ErrorCode::NoPasskey => {
                self.on_passkey_refused();
                self.set_error(Field::Form, Tr::new(passkey_error_key(e.code)));
            }
            ErrorCode::BadRequest | ErrorCode::PayloadTooLarge => {
                self.set_error(Field::Form, Tr::new("err.bad_request"))
            }
            ErrorCode::NotFound => self.set_error(Field::Form, Tr::new("err.not_found")),
            ErrorCode::Internal => self.set_error(Field::Form, Tr::new("err.internal")),
            ErrorCode::ResendCooldown => {
                self.set_error(Field::Form, Tr::new("err.resend_cooldown"))
            }
            ErrorCode::MailFailed => {
                // The server moved on to waiting for the mail; show that screen with the way out (Resend).
                let mut cmds = Vec::new();
                if let Some(view) = self.flow.clone() {
                    cmds = self.show_step(FlowView {
                        step: Step::AwaitingVerification,
                        ..view
                    });
                    if let Some(t) = self.token.clone() {
                        cmds.extend(self.call_bg(ApiCall::Flow(t), true));
                    }
                }
                self.set_error(Field::Form, Tr::new("err.mail_failed"));
                return cmds;
            }
        }
        Vec::new()
    }
}

/// The message of a passkey error code (issue 6).
fn passkey_error_key(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::PasskeyUnavailable => "err.passkey_unavailable",
        ErrorCode::PasskeyRejected => "err.passkey_rejected",
        ErrorCode::CeremonyExpired => "err.ceremony_expired",
        ErrorCode::PasskeyTaken => "err.passkey_taken",
        _ => "err.no_passkey",
    }
}

fn user_id_rule_error(rule: &str) -> Tr {
    Tr::new(match rule {
        "characters" => "err.invalid_user_id.characters",
        "letter" => "err.invalid_user_id.letter",
        "digit" => "err.invalid_user_id.digit",
        _ => "err.invalid_user_id.length",
    })
}
