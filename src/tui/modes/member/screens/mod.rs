//! One module per screen of the member mode. Each screen owns its state (inputs, focus), its
//! focusable items, its drawing and its behaviour — keys, buttons, the server's answers and
//! errors, Esc — behind [`Page`]. The handlers get a [`Cx`]: the flow's token, requests, field
//! errors, and the screen to go to once the handler returns.
//!
//! Adding a screen: its file here (`pub mod`) and one line in the `screens!` list, which declares
//! the [`Screen`] variant and its dispatch to [`Page`].

pub mod awaiting;
pub mod birth_date;
pub mod choose_method;
pub mod complete;
pub mod email;
pub mod home;
pub mod new_credentials;
pub mod passkey;
pub mod second_factor;
// issue 5
pub mod change_email;
pub mod email_code;
pub mod recover;
pub mod sign_in;
pub mod step_up;
pub mod terms;
pub mod totp_enroll;
pub mod welcome;

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;

use super::api::{ApiCall, Reply};
use super::{Command, Msg};
use crate::api::{ErrorCode, FlowView, Lang, Method};
use crate::client::{ClientError, FlowToken};
use crate::domain::password;
use crate::tui::i18n::Tr;
use crate::tui::shell::app::{Banner, Shell};
use crate::tui::shell::form;
use crate::tui::widgets::qr::QrStyle;

pub use form::{Col, Form, Hit, Target, button_row, title};

/// A focusable item of a member screen.
pub type Item = form::Item<Intent, InputId>;
/// What the member screens need to draw.
pub type Ctx<'a> = form::Ctx<'a, Field>;

/// The text inputs of all screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputId {
    /// Sign-in: user ID.
    UserId,
    /// Sign-in: password.
    Password,
    /// Birth date: year.
    Year,
    /// Birth date: month.
    Month,
    /// Birth date: day.
    Day,
    /// Email: the new address.
    NewEmail,
    /// New credentials: password.
    NewPassword,
    /// New credentials: confirmation.
    Confirm,
    /// New credentials: optional new user ID.
    NewUserId,
    /// Authenticator app: the device's name.
    DeviceName,
    /// Authenticator app: the one-time password.
    TotpCode,
    /// Home: a second factor's new name.
    FactorName,
    /// Home, change password: the current password.
    CurrentPassword,
    // issue 5
    /// Recovery: the insurance card's symbol (記号).
    Symbol,
    /// Recovery: the insurance card's number (番号).
    Number,
    /// Recovery: the date of birth as one text (YYYYMMDD or YYYY-MM-DD).
    RecoverBirth,
    // issue 6
    /// Passkey: the security key's PIN (masked).
    PasskeyPin,
    /// Passkey: the new passkey's name.
    PasskeyName,
}

/// What an error message is about: where it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The user ID on sign-in.
    UserId,
    /// The password on sign-in.
    Password,
    /// The date of birth.
    BirthDate,
    /// The email address.
    Email,
    /// The new password.
    NewPassword,
    /// The confirmation of the new password.
    Confirm,
    /// The new user ID.
    NewUserId,
    /// An authenticator app's device name.
    DeviceName,
    /// A one-time password.
    TotpCode,
    /// A second factor's new name.
    FactorName,
    /// The current password (when changing it).
    CurrentPassword,
    /// The whole screen (shown in the status line).
    Form,
    // issue 6
    /// A security key's PIN.
    PasskeyPin,
    /// A new passkey's name.
    PasskeyName,
}

impl InputId {
    /// The field whose errors this input shows.
    pub fn field(self) -> Field {
        match self {
            Self::UserId => Field::UserId,
            Self::Password => Field::Password,
            Self::Year | Self::Month | Self::Day => Field::BirthDate,
            Self::NewEmail => Field::Email,
            Self::NewPassword => Field::NewPassword,
            Self::Confirm => Field::Confirm,
            Self::NewUserId => Field::NewUserId,
            Self::DeviceName => Field::DeviceName,
            Self::TotpCode => Field::TotpCode,
            Self::FactorName => Field::FactorName,
            Self::CurrentPassword => Field::CurrentPassword,
            Self::Symbol | Self::Number => Field::UserId,
            Self::RecoverBirth => Field::BirthDate,
            Self::PasskeyPin => Field::PasskeyPin,
            Self::PasskeyName => Field::PasskeyName,
        }
    }
}

/// What a button (or Enter in an input) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Welcome → sign-in.
    Start,
    /// Switch between Japanese and English.
    SwitchLang,
    /// Sign in.
    SignIn,
    /// Show or hide the password(s).
    ToggleReveal,
    /// "Forgot your user ID?"
    ForgotId,
    /// "Forgot your password?"
    ForgotPassword,
    /// Send the date of birth.
    SubmitBirthDate,
    /// Agree to the terms.
    AcceptTerms,
    /// Decline the terms (signs out).
    DeclineTerms,
    /// Confirm the address on file.
    ConfirmEmail,
    /// Send the typed new address.
    ChangeEmail,
    /// 更新: ask the server whether the link was opened.
    Refresh,
    /// Send the verification mail again.
    Resend,
    /// Go back to change the address.
    ChangeAddress,
    /// Choose a method.
    Choose(Method),
    /// Set the new password (and user ID).
    SetCredentials,
    /// Back to the method choice.
    BackToMethod,
    /// 【10】→【11】: sign out.
    SignOut,
    /// 【11】→ the sign-in screen.
    SignInAgain,
    /// Leave the program.
    Quit,
    /// Authenticator app: from the QR code or the key to entering the code.
    TotpNext,
    /// Authenticator app: "Can't scan?" (the key to type).
    CantScan,
    /// Authenticator app: back to the QR code.
    ShowQr,
    /// Switch the QR code between half blocks and coloured spaces.
    ToggleQrStyle,
    /// Authenticator app: register the device with its name and a code.
    ConfirmTotp,
    /// Leave an enrollment started from the top screen.
    CancelEnroll,
    /// Sign-in: send the one-time password.
    VerifyTotp,
    /// Home: add another authenticator app.
    AddDevice,
    /// Home: rename the selected second factor.
    Rename,
    /// Home: remove the selected second factor.
    Remove,
    /// Home: change the authentication method.
    ChangeMethod,
    /// Home: change the password.
    ChangePassword,
    /// Home: set up this method (from "change method").
    AddMethod(Method),
    /// Home: save the new name.
    SaveRename,
    /// Home: remove after confirming.
    ConfirmRemove,
    /// Home: remove the methods the member had before changing method.
    RemoveOld,
    /// Home: back to the list (cancel a dialog, or keep the old methods).
    HomeBack,
    /// Home: send the password change.
    SubmitPassword,
    // issue 5
    /// Email code: check the code.
    VerifyEmailCode,
    /// Email code: send another code.
    ResendEmailCode,
    /// Recovery: send the request (or the code and new password).
    SubmitRecover,
    /// Recovery: back to the sign-in.
    RecoverBack,
    /// Home: change the email address.
    HomeChangeEmail,
    /// Home: show a one-time code to read out to the helpdesk.
    HelpdeskCode,
    /// Change email: send the link to the new address.
    SubmitChangeEmail,
    // issue 6
    /// Passkey: use this transport.
    PasskeyUse(crate::passkey::PasskeyTransport),
    /// Passkey: send the typed PIN to the key.
    PasskeySubmitPin,
    /// Passkey: save the new passkey under its name (【7】「次へ」).
    PasskeySaveName,
    /// Passkey: try again after a failure.
    PasskeyRetry,
    /// Passkey: cancel the ceremony (Esc) or leave the screen.
    PasskeyCancel,
    /// Passkey at method set-up: list the other methods instead.
    PasskeyOtherMethod,
    /// Second factor: sign in with a passkey instead of a code.
    PasskeySignIn,
    /// Second factor: prove another of the member's factors instead.
    UseFactor(Method),
    // issue 11
    /// Step-up: send the password or the app's code.
    StepUpSubmit,
    /// Step-up: the app's code instead of the password, or back.
    StepUpSwitch,
    /// Step-up: leave for the top screen, nothing changed.
    StepUpCancel,
}

impl Intent {
    /// Whether the intent sends something: nothing is sent while another request is on its way,
    /// and the messages of the last one are cleared first.
    pub fn sends(self) -> bool {
        !matches!(
            self,
            Self::Start
                | Self::SwitchLang
                | Self::ToggleReveal
                | Self::ForgotId
                | Self::ForgotPassword
                | Self::SignInAgain
                | Self::Quit
                | Self::TotpNext
                | Self::CantScan
                | Self::ShowQr
                | Self::ToggleQrStyle
                | Self::Rename
                | Self::Remove
                | Self::ChangeMethod
                | Self::ChangePassword
                | Self::HomeBack
                | Self::PasskeySubmitPin
                | Self::PasskeyCancel
                | Self::PasskeyRetry
                | Self::PasskeyOtherMethod
                | Self::PasskeySignIn
                | Self::UseFactor(_)
                | Self::StepUpSwitch
                | Self::StepUpCancel
        )
    }
}

/// What the screen needs besides its own state to draw itself.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The address on file (from the flow).
    pub email: Option<&'a str>,
    /// Demo mode (the mailbox panel exists).
    pub demo: bool,
}

/// What Esc does on a screen, as the footer says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Esc {
    /// Back to the screen before (or out of a dialog).
    Back,
    /// Stops what is running (a passkey ceremony, a set-up started from the top screen).
    Cancel,
    /// Signs out.
    SignOut,
}

impl Esc {
    /// The footer's words for it.
    pub fn key(self) -> &'static str {
        match self {
            Self::Back => "footer.esc_back",
            Self::Cancel => "footer.esc_cancel",
            Self::SignOut => "footer.esc_sign_out",
        }
    }
}

/// Where a screen stands in the member's journey (what the chrome shows about it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// A short name for tests and logs.
    pub name: &'static str,
    /// The steps of the manual it shows (a range: the waiting screen is 【6】–【7】).
    pub steps: (u8, u8),
    /// The i18n key of the step's label.
    pub label: &'static str,
    /// After the first login's 11 steps (stage 2, the top screen): no stepper.
    pub portal: bool,
}

impl Place {
    /// A screen of the first login, at `steps` of the manual.
    pub fn first_login(name: &'static str, steps: (u8, u8), label: &'static str) -> Self {
        Self {
            name,
            steps,
            label,
            portal: false,
        }
    }

    /// A screen after the first login.
    pub fn portal(name: &'static str, label: &'static str) -> Self {
        Self {
            name,
            steps: (12, 12),
            label,
            portal: true,
        }
    }
}

/// A member screen: its form, its place in the journey, its drawing and its behaviour. Every
/// handler has a default that does nothing, so a screen writes only what it reacts to.
pub trait Page: Form<Intent = Intent, Input = InputId> {
    /// Where the screen stands in the journey.
    fn place(&self) -> Place;
    /// Whether this screen already shows the server's `step` (then the screen stays).
    fn shows(&self, _step: crate::api::Step) -> bool {
        false
    }
    /// Whether the app checks the flow by itself every few seconds on this screen.
    fn polls(&self) -> bool {
        false
    }
    /// Where an error without a field of its own goes (the rate limit's wait).
    fn error_field(&self) -> Field {
        Field::Form
    }
    /// A key before the generic form keys; true when taken.
    fn on_key(&mut self, _key: KeyEvent, _cx: &mut Cx) -> bool {
        false
    }
    /// After `input` changed by typing.
    fn after_edit(&mut self, _input: InputId) {}
    /// Pasted text, before it goes into the focused input; true when the screen took it.
    fn on_paste(&mut self, _text: &str) -> bool {
        false
    }
    /// A click on the `i`-th row of a list.
    fn on_row(&mut self, _i: usize) {}
    /// A button (or Enter in the last input).
    fn on_intent(&mut self, _intent: Intent, _cx: &mut Cx) {}
    /// What Esc does here, as the footer names it (`step`: the flow's); None where it does
    /// nothing, so the footer offers no Esc there. Kept next to [`Page::on_back`].
    fn esc(&self, _step: Option<crate::api::Step>) -> Option<Esc> {
        None
    }
    /// Esc: does what it does here, or names the button it stands for.
    fn on_back(&mut self, _cx: &mut Cx) -> Option<Intent> {
        None
    }
    /// A new view of the flow; true when the screen took it (else the app shows its step).
    fn on_flow(&mut self, _view: &FlowView, _cx: &mut Cx) -> bool {
        false
    }
    /// Any other answer from the server.
    fn on_reply(&mut self, _reply: Reply, _cx: &mut Cx) {}
    /// A refused request; true when the screen said all there is to say (else the app does).
    fn on_error(&mut self, _err: &ClientError, _cx: &mut Cx) -> bool {
        false
    }
    /// The language changed.
    fn on_lang(&mut self, _cx: &mut Cx) {}
    /// The passkey probe, the ceremony's events and its end.
    fn on_device(&mut self, _msg: Msg, _cx: &mut Cx) {}

    /// Draws the screen in `area` (between the header and the status line).
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env);
    /// Whether the screen needs the whole terminal (a QR code that does not fit in `body`).
    fn wants_full_frame(&self, _body: Rect, _full: Rect) -> bool {
        false
    }
    /// Draws the screen on the whole terminal; returns where the status line goes, if any.
    fn draw_full(&self, frame: &mut Frame, full: Rect, ctx: &mut Ctx) -> Option<Rect> {
        let _ = (frame, full, ctx);
        None
    }
}

/// Declares [`Screen`] (one variant a screen) and its dispatch to [`Page`] from one list.
macro_rules! screens {
    ($($(#[$doc:meta])* $variant:ident($state:ty),)*) => {
        /// The screen on display and its state.
        #[derive(Debug, Clone)]
        pub enum Screen {
            $($(#[$doc])* $variant($state),)*
        }

        impl Screen {
            /// The screen's behaviour.
            pub fn page(&self) -> &dyn Page {
                match self {
                    $(Self::$variant(s) => s,)*
                }
            }

            /// The screen's behaviour, to act.
            pub fn page_mut(&mut self) -> &mut dyn Page {
                match self {
                    $(Self::$variant(s) => s,)*
                }
            }
        }
    };
}

screens! {
    /// 【1】 The journey.
    Welcome(welcome::WelcomeState),
    /// 【2】 Sign-in.
    SignIn(sign_in::SignInState),
    /// 【3】 Date of birth.
    BirthDate(birth_date::BirthDateState),
    /// 【4】 Terms.
    Terms(terms::TermsState),
    /// 【5】 Email address.
    Email(email::EmailState),
    /// 【6】【7】 Waiting for the link.
    Awaiting(awaiting::AwaitingState),
    /// 【8】 Method.
    ChooseMethod(choose_method::ChooseState),
    /// 【9】 New password / user ID.
    NewCredentials(new_credentials::CredentialsState),
    /// 【10】【11】 Done.
    Complete(complete::CompleteState),
    /// Setting up an authenticator app (stage 2, or from the top screen).
    TotpEnroll(totp_enroll::TotpEnrollState),
    /// The one-time password after the password.
    SecondFactor(second_factor::SecondFactorState),
    /// The top screen.
    Home(home::HomeState),
    /// The email one-time password.
    EmailCode(email_code::EmailCodeState),
    /// Forgot the user ID or password.
    Recover(recover::RecoverState),
    /// Change the address from the top screen.
    ChangeEmail(change_email::ChangeEmailState),
    /// Passkey registration or sign-in.
    Passkey(passkey::PasskeyState),
    /// Proving it is the member again before a sensitive action (over the screen that asked).
    StepUp(step_up::StepUpState),
}

impl Screen {
    /// The form behind the screen.
    pub fn form(&self) -> &dyn Form<Intent = Intent, Input = InputId> {
        self.page()
    }

    /// The step of the manual this screen shows.
    pub fn manual_steps(&self) -> (u8, u8) {
        self.page().place().steps
    }

    /// A short name for tests and logs.
    pub fn name(&self) -> &'static str {
        self.page().place().name
    }
}

/// What a handler asked for, carried out once it returned.
pub(super) struct After {
    pub next: Option<Screen>,
    pub cmds: Vec<Command>,
    pub switch_lang: bool,
    pub quit: bool,
}

/// A handler's view of the session besides its own screen: the token, the flow, the messages,
/// requests, and the screen to go to once it returns.
pub struct Cx<'a> {
    shell: &'a mut Shell,
    /// The flow's token while a flow is open.
    pub token: &'a mut Option<FlowToken>,
    /// The last view of the flow the server sent.
    pub flow: &'a mut Option<FlowView>,
    errors: &'a mut Vec<(Field, Tr)>,
    /// How QR codes are drawn (kept across screens).
    pub qr_style: &'a mut QrStyle,
    last_poll: &'a mut u64,
    /// The offset the top screen shows dates in.
    pub utc_offset: time::UtcOffset,
    after: After,
}

impl<'a> Cx<'a> {
    pub(super) fn new(
        shell: &'a mut Shell,
        token: &'a mut Option<FlowToken>,
        flow: &'a mut Option<FlowView>,
        errors: &'a mut Vec<(Field, Tr)>,
        qr_style: &'a mut QrStyle,
        last_poll: &'a mut u64,
        utc_offset: time::UtcOffset,
    ) -> Self {
        Self {
            shell,
            token,
            flow,
            errors,
            qr_style,
            last_poll,
            utc_offset,
            after: After {
                next: None,
                cmds: Vec::new(),
                switch_lang: false,
                quit: false,
            },
        }
    }

    pub(super) fn finish(self) -> After {
        self.after
    }

    /// The language of the screens.
    pub fn lang(&self) -> Lang {
        self.shell.lang
    }

    /// Whether a request (foreground or background) is in flight.
    pub fn pending(&self) -> bool {
        self.shell.pending.is_some()
    }

    /// Goes to `screen` once the handler returns.
    pub fn go(&mut self, screen: Screen) {
        self.after.next = Some(screen);
    }

    /// Sends `call` (the waiting indicator shows).
    pub fn call(&mut self, call: ApiCall) {
        let cmd = self.shell.call(call, false);
        self.after.cmds.push(cmd);
    }

    /// Sends `call` in the background (no waiting indicator).
    pub fn call_bg(&mut self, call: ApiCall) {
        let cmd = self.shell.call(call, true);
        self.after.cmds.push(cmd);
    }

    /// Any other command for the runtime.
    pub fn push(&mut self, cmd: Command) {
        self.after.cmds.push(cmd);
    }

    /// Switches the language once the handler returns.
    pub fn switch_lang(&mut self) {
        self.after.switch_lang = true;
    }

    /// Quits once the handler returns.
    pub fn quit(&mut self) {
        self.after.quit = true;
    }

    /// The flow's token; without one, back to sign-in with "the flow expired".
    pub fn token_or_expire(&mut self) -> Option<FlowToken> {
        if self.token.is_none() {
            self.back_to_sign_in(Some(Tr::new("err.flow_expired")));
        }
        self.token.clone()
    }

    /// Sends the request `call` makes of the token (or says the flow expired).
    pub fn with_token(&mut self, call: impl FnOnce(FlowToken) -> ApiCall) {
        if let Some(t) = self.token_or_expire() {
            self.call(call(t));
        }
    }

    /// An error next to `field` (in the status line for [`Field::Form`]).
    pub fn set_error(&mut self, field: Field, msg: Tr) {
        set_error(self.errors, self.shell, field, msg);
    }

    /// Whether any field shows an error.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Clears the messages next to fields.
    pub fn clear_errors(&mut self) {
        self.errors.clear();
    }

    /// Clears the messages next to fields and the status line.
    pub fn clear_messages(&mut self) {
        self.errors.clear();
        self.shell.banner = None;
    }

    /// Information in the status line.
    pub fn info(&mut self, key: &'static str) {
        self.shell.info(key);
    }

    /// Information with values in the status line.
    pub fn set_info(&mut self, msg: Tr) {
        self.shell.banner = Some(Banner { error: false, msg });
    }

    /// Restarts the automatic checks' clock (the member just checked).
    pub fn polled(&mut self) {
        *self.last_poll = self.shell.ticks;
    }

    /// Back to a fresh sign-in screen, the flow forgotten, with an optional message.
    pub fn back_to_sign_in(&mut self, msg: Option<Tr>) {
        *self.token = None;
        *self.flow = None;
        self.errors.clear();
        self.shell.banner = msg.map(|msg| Banner { error: true, msg });
        self.go(Screen::SignIn(sign_in::SignInState::default()));
    }

    /// Back to the top screen (its contents are asked for again).
    pub fn go_home(&mut self) {
        self.errors.clear();
        self.go(Screen::Home(home::HomeState::new(self.utc_offset)));
        self.with_token(ApiCall::Home);
    }

    /// Opens the passkey screen and probes what this terminal can use.
    pub fn open_passkey(&mut self, purpose: passkey::PasskeyPurpose, from_home: bool) {
        self.errors.clear();
        let mut s = passkey::PasskeyState::new(purpose);
        s.from_home = from_home;
        self.go(Screen::Passkey(s));
        self.push(Command::ProbePasskeys);
    }

    /// Opens the passkey set-up from "change method" on the top screen; once it is done, the
    /// top screen offers to remove `replaces` (the factors the member had before).
    pub fn open_passkey_replacing(&mut self, replaces: Vec<(Method, i64)>) {
        self.open_passkey(passkey::PasskeyPurpose::Register, true);
        if let Some(Screen::Passkey(p)) = &mut self.after.next {
            p.replaces = replaces;
        }
    }

    /// The password policy and the confirmation, checked before anything is sent (the server
    /// checks again).
    pub fn check_new_password(&mut self, pw: &str, confirm: &str) {
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
}

/// An error next to `field`, or in the status line for [`Field::Form`].
pub(super) fn set_error(errors: &mut Vec<(Field, Tr)>, shell: &mut Shell, field: Field, msg: Tr) {
    if field == Field::Form {
        shell.error(msg);
        return;
    }
    errors.retain(|(f, _)| *f != field);
    errors.push((field, msg));
}

/// The message of a user-ID rule the ID broke.
pub fn user_id_rule_error(rule: &str) -> Tr {
    Tr::new(match rule {
        "characters" => "err.invalid_user_id.characters",
        "letter" => "err.invalid_user_id.letter",
        "digit" => "err.invalid_user_id.digit",
        _ => "err.invalid_user_id.length",
    })
}

/// Whether `code` refuses a typed one-time password (the manual's FAQ cases).
pub fn is_code_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::WrongCode | ErrorCode::CodeExpired | ErrorCode::ClockSkew | ErrorCode::CodeUsed
    )
}

/// The message of a refused one-time password (an app's).
pub fn code_error_key(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::WrongCode => "err.wrong_code",
        ErrorCode::CodeExpired => "err.code_expired",
        ErrorCode::ClockSkew => "err.clock_skew",
        _ => "err.code_used",
    }
}

/// "スマートフォン", then "スマートフォン 2" and so on (names must be unique per member).
pub fn default_device_name(lang: Lang, existing: usize) -> String {
    let base = crate::tui::i18n::t(lang, "totp.default_device");
    if existing == 0 {
        base.to_owned()
    } else {
        format!("{base} {}", existing + 1)
    }
}

/// The manual's number of `step`, as a one-step range.
pub fn one(step: crate::api::Step) -> (u8, u8) {
    let n = step.manual_number().unwrap_or(1);
    (n, n)
}

impl Cx<'_> {
    /// Sends the one-time password typed on a code screen (an app's or a mailed one) with
    /// `call`; an empty field is said at the field.
    pub fn send_code(&mut self, typed: &str, call: fn(FlowToken, String) -> ApiCall) {
        let code = totp_enroll::normalize_code(typed);
        if code.is_empty() {
            self.set_error(Field::TotpCode, Tr::new("totp.code_required"));
            return;
        }
        self.with_token(|t| call(t, code));
    }

    /// The second factor asked with another of the member's factors (the kinds the server
    /// listed): its screen, and for the emailed code, a code is sent.
    pub fn use_factor(&mut self, m: Method) {
        self.errors.clear();
        let kinds = self
            .flow
            .as_ref()
            .map(|f| f.second_factors.clone())
            .unwrap_or_default();
        match m {
            Method::TotpApp => self.go(Screen::SecondFactor(
                second_factor::SecondFactorState::with_kinds(kinds),
            )),
            Method::EmailOtp => {
                let mut s = email_code::EmailCodeState::new(email_code::EmailCodeUse::SignIn);
                s.others = kinds.into_iter().filter(|k| *k != m).collect();
                self.go(Screen::EmailCode(s));
                self.with_token(ApiCall::SendEmailCode);
            }
            Method::Passkey => self.open_passkey(passkey::PasskeyPurpose::SignIn, false),
        }
    }

    /// Signing out after the first login (top screen, code screens): the flow is ended in the
    /// background and the member is back at sign-in.
    pub fn sign_out(&mut self) {
        if let Some(t) = self.token.take() {
            self.call_bg(ApiCall::SignOut(t));
        }
        self.back_to_sign_in(None);
        self.go(Screen::SignIn(sign_in::SignInState {
            returning: true,
            ..Default::default()
        }));
        self.info("msg.signed_out");
    }
}
