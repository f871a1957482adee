//! One module per screen of the staff console. Each screen owns its state (inputs, focus), its
//! focusable items, its drawing and its behaviour — buttons, the server's answers and errors,
//! Esc — behind [`Page`]. Handlers get a [`Cx`]: the session, requests, field errors and the
//! screen to go to once the handler returns.

pub mod action;
pub mod audit;
pub mod case;
pub mod enrol;
pub mod passkey;
pub mod search;
pub mod sign_in;
pub mod verify;

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;

use super::api::{Reply, StaffCall};
use super::{Command, Session};
use crate::api::ApiError;
use crate::api::helpdesk::{CallerProof, StaffAction};
use crate::tui::i18n::Tr;
use crate::tui::shell::app::Shell;
use crate::tui::shell::form;

pub use form::{Col, Form, Hit, Target, button_row, title};

/// A focusable item of a staff screen.
pub type Item = form::Item<Intent, InputId>;
/// What the staff screens need to draw.
pub type Ctx<'a> = form::Ctx<'a, Field>;

/// The text inputs of all staff screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputId {
    /// The staff login.
    Login,
    /// The staff password.
    Password,
    /// A 6-digit code (the staff member's app, or the caller's).
    Code,
    /// The one-time enrolment code.
    EnrolCode,
    /// The new password.
    NewPassword,
    /// The new password again.
    Confirm,
    /// The search field.
    Query,
    /// Why an action is taken.
    Reason,
    /// The member's new address.
    Email,
    /// The caller's date of birth.
    BirthDate,
    /// The caller's card number.
    CardNumber,
    /// The audit log's staff filter.
    StaffLogin,
    /// The audit log's first day.
    Since,
    /// The audit log's last day.
    Until,
    /// The passkey's PIN.
    PasskeyPin,
}

/// What an error message is about: where it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The login.
    Login,
    /// The password.
    Password,
    /// A code.
    Code,
    /// The enrolment code.
    EnrolCode,
    /// The new password.
    NewPassword,
    /// Its confirmation.
    Confirm,
    /// The reason.
    Reason,
    /// The new address.
    Email,
    /// The date of birth.
    BirthDate,
    /// The card number.
    CardNumber,
    /// The audit log's staff filter.
    StaffLogin,
    /// The audit log's first day.
    Since,
    /// The audit log's last day.
    Until,
    /// The passkey's PIN.
    PasskeyPin,
    /// The whole screen (the status line).
    Form,
}

impl InputId {
    /// The field whose errors this input shows.
    pub fn field(self) -> Field {
        match self {
            Self::Login => Field::Login,
            Self::Password => Field::Password,
            Self::Code => Field::Code,
            Self::EnrolCode => Field::EnrolCode,
            Self::NewPassword => Field::NewPassword,
            Self::Confirm => Field::Confirm,
            Self::Query => Field::Form,
            Self::Reason => Field::Reason,
            Self::Email => Field::Email,
            Self::BirthDate => Field::BirthDate,
            Self::CardNumber => Field::CardNumber,
            Self::StaffLogin => Field::StaffLogin,
            Self::Since => Field::Since,
            Self::Until => Field::Until,
            Self::PasskeyPin => Field::PasskeyPin,
        }
    }
}

/// What a button (or Enter in an input) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Send login and password.
    SignIn,
    /// Send the authenticator code.
    SendCode,
    /// From sign-in to the enrolment.
    ToEnrol,
    /// Back to the sign-in.
    ToSignIn,
    /// Send login and enrolment code.
    EnrolStart,
    /// From the QR code to the password and code.
    EnrolNext,
    /// Show the key to type instead of the QR code, or the code again.
    CantScan,
    /// Half blocks ⇄ coloured spaces.
    ToggleQrStyle,
    /// Send the new password and the code.
    EnrolFinish,
    /// Search now.
    Search,
    /// Open the selected member.
    Open,
    /// Verify the caller.
    Verify,
    /// Start an action.
    Act(StaffAction),
    /// Back to the search.
    NewSearch,
    /// Reload the case.
    Reload,
    /// Sign out of the console.
    SignOut,
    /// Choose how the caller proves it.
    Way(CallerProof),
    /// Mail the caller a code.
    SendMailCode,
    /// Check the caller's answer.
    SubmitVerify,
    /// Carry out the action.
    Confirm,
    /// Leave a dialog.
    Cancel,
    /// Open the audit log (the member's from a case, everyone's from the search).
    Audit,
    /// The audit log's next action filter.
    AuditAction,
    /// At enrolment: a passkey instead of the app.
    EnrolPasskey,
    /// At sign-in: the passkey instead of the app's code.
    UsePasskey,
    /// Run the passkey ceremony through this transport.
    PasskeyUse(crate::passkey::PasskeyTransport),
    /// Send the passkey's PIN.
    PasskeySubmitPin,
    /// Stop the ceremony, or leave the passkey screen.
    PasskeyCancel,
    /// Look for authenticators again after a failure.
    PasskeyRetry,
}

/// The screens of the staff console.
#[derive(Debug)]
pub enum Screen {
    /// Looking for a kept session.
    Starting,
    /// Sign-in: login, password, then the code.
    SignIn(sign_in::SignInState),
    /// Enrolment: login and code, the app's QR code, password and code.
    Enrol(Box<enrol::EnrolState>),
    /// Find the caller.
    Search(search::SearchState),
    /// One member's case.
    Case(Box<case::CaseState>),
    /// Verify the caller.
    Verify(Box<verify::VerifyState>),
    /// An action: reason first (and, once issued, the enrolment pass).
    Action(Box<action::ActionState>),
    /// The audit log, one member's or everyone's.
    Audit(Box<audit::AuditState>),
    /// The staff member's passkey (enrolment or sign-in).
    Passkey(Box<passkey::PasskeyState>),
}

impl Screen {
    /// The screen's name (tests and logs).
    pub fn name(&self) -> &'static str {
        match self {
            Screen::Starting => "starting",
            Screen::SignIn(s) => match s.stage {
                sign_in::Stage::Password => "sign_in",
                sign_in::Stage::Code(..) => "sign_in_code",
            },
            Screen::Enrol(e) => match e.stage {
                enrol::Stage::Start => "enrol",
                enrol::Stage::Qr { typed: false, .. } => "enrol_qr",
                enrol::Stage::Qr { typed: true, .. } => "enrol_key",
                enrol::Stage::Finish { passkey: false, .. } => "enrol_finish",
                enrol::Stage::Finish { passkey: true, .. } => "enrol_passkey_password",
            },
            Screen::Search(_) => "search",
            Screen::Case(_) => "case",
            Screen::Verify(v) if v.way.is_none() => "verify",
            Screen::Verify(_) => "verify_way",
            Screen::Action(a) if a.pass.is_some() => "pass",
            Screen::Action(_) => "action",
            Screen::Audit(_) => "audit",
            Screen::Passkey(_) => "passkey",
        }
    }

    /// The screen behind [`Page`].
    pub fn page(&self) -> &dyn Page {
        match self {
            Screen::Starting => &sign_in::STARTING,
            Screen::SignIn(s) => s,
            Screen::Enrol(s) => s.as_ref(),
            Screen::Search(s) => s,
            Screen::Case(s) => s.as_ref(),
            Screen::Verify(s) => s.as_ref(),
            Screen::Action(s) => s.as_ref(),
            Screen::Audit(s) => s.as_ref(),
            Screen::Passkey(s) => s.as_ref(),
        }
    }

    /// The screen behind [`Page`], to change.
    pub fn page_mut(&mut self) -> Option<&mut dyn Page> {
        Some(match self {
            Screen::Starting => return None,
            Screen::SignIn(s) => s,
            Screen::Enrol(s) => s.as_mut(),
            Screen::Search(s) => s,
            Screen::Case(s) => s.as_mut(),
            Screen::Verify(s) => s.as_mut(),
            Screen::Action(s) => s.as_mut(),
            Screen::Audit(s) => s.as_mut(),
            Screen::Passkey(s) => s.as_mut(),
        })
    }

    /// The open case, on the screens that show or act on one.
    pub fn case(&self) -> Option<&case::CaseState> {
        match self {
            Screen::Case(c) => Some(c),
            Screen::Verify(v) => Some(&v.case),
            Screen::Action(a) => Some(&a.case),
            Screen::Audit(a) => a.case.as_deref(),
            _ => None,
        }
    }

    /// The open case, to change.
    pub fn case_mut(&mut self) -> Option<&mut case::CaseState> {
        match self {
            Screen::Case(c) => Some(c),
            Screen::Verify(v) => Some(&mut v.case),
            Screen::Action(a) => Some(&mut a.case),
            Screen::Audit(a) => a.case.as_deref_mut(),
            _ => None,
        }
    }
}

/// What a handler may do: requests, errors, the next screen.
pub struct Cx<'a> {
    /// The shell (language, status line, clock).
    pub shell: &'a mut Shell,
    /// The staff session.
    pub session: &'a mut Session,
    /// The offset times are shown (and dates read) in.
    pub utc_offset: time::UtcOffset,
    cmds: Vec<Command>,
    next: Option<Screen>,
}

impl<'a> Cx<'a> {
    /// A context over the shell and the session.
    pub fn new(shell: &'a mut Shell, session: &'a mut Session) -> Self {
        Self {
            shell,
            session,
            utc_offset: time::UtcOffset::UTC,
            cmds: Vec::new(),
            next: None,
        }
    }

    /// Sends a request (the waiting indicator shows).
    pub fn call(&mut self, call: StaffCall) {
        self.session.errors.clear();
        let c = self.shell.call(call, false);
        self.cmds.push(c);
    }

    /// Sends a request without the waiting indicator (type-ahead, reloads).
    pub fn background(&mut self, call: StaffCall) {
        let c = self.shell.call(call, true);
        self.cmds.push(c);
    }

    /// Another command for the runtime.
    pub fn push(&mut self, cmd: Command) {
        self.cmds.push(cmd);
    }

    /// Goes to `screen` once the handler returns.
    pub fn go(&mut self, screen: Screen) {
        self.session.errors.clear();
        self.next = Some(screen);
    }

    /// An error under `field` (the status line for [`Field::Form`]).
    pub fn set_error(&mut self, field: Field, msg: Tr) {
        if field == Field::Form {
            self.shell.error(msg);
        } else {
            self.session.errors.push((field, msg));
        }
    }

    /// Whether a field error is set.
    pub fn has_errors(&self) -> bool {
        !self.session.errors.is_empty()
    }

    /// Clears the field errors and the status line.
    pub fn clear_messages(&mut self) {
        self.session.errors.clear();
        self.shell.banner = None;
    }

    /// The commands and the next screen.
    pub fn finish(self) -> (Vec<Command>, Option<Screen>) {
        (self.cmds, self.next)
    }
}

/// A screen of the staff console.
pub trait Page: Form<Intent = Intent, Input = InputId> + std::fmt::Debug {
    /// The title's i18n key (the second row of the chrome).
    fn title(&self) -> &'static str;
    /// A button, or Enter in the last input.
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx);
    /// Keys the screen takes before the form's (PgUp, arrows over a list); `true` when taken.
    fn on_key(&mut self, _key: KeyEvent, _cx: &mut Cx) -> bool {
        false
    }
    /// An input's text changed.
    fn on_edit(&mut self, _input: InputId, _cx: &mut Cx) {}
    /// What Esc does here, as the footer names it (an i18n key such as `footer.esc_back`);
    /// None where it does nothing, so the footer offers no Esc there. Kept next to
    /// [`Page::on_back`].
    fn esc(&self) -> Option<&'static str> {
        None
    }
    /// Whether PgUp/PgDn turn a page here now (the footer names them only then).
    fn paged(&self) -> bool {
        false
    }
    /// Esc.
    fn on_back(&mut self, _cx: &mut Cx) {}
    /// A click on the n-th row of the screen's list.
    fn on_row(&mut self, _row: usize, _cx: &mut Cx) {}
    /// A second passed.
    fn on_tick(&mut self, _cx: &mut Cx) {}
    /// The answer to this screen's request.
    fn on_reply(&mut self, reply: Reply, cx: &mut Cx);
    /// An error answer this screen handles itself; `false` leaves it to the console.
    fn on_error(&mut self, _e: &ApiError, _cx: &mut Cx) -> bool {
        false
    }
    /// The passkey probe's report, the ceremony's events and its end.
    fn on_device(&mut self, _msg: super::Msg, _cx: &mut Cx) {}
    /// Draws the screen in `area`.
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env);
}

/// What screens read while drawing besides their own state.
pub struct Env<'a> {
    /// The session.
    pub session: &'a Session,
    /// Seconds since start.
    pub ticks: u64,
    /// The offset times are shown in.
    pub utc_offset: time::UtcOffset,
}

/// Whether a key is a plain character (typing), to keep screen keys out of inputs.
pub fn is_typing(key: &KeyEvent) -> bool {
    matches!(key.code, ratatui::crossterm::event::KeyCode::Char(_))
}
