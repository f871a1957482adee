//! Passkeys (生体認証, manual 2-1, 2-2 and "set up on the phone, sign in from the PC"): where
//! the passkey lives (USB key, Bluetooth key, or a phone through the QR code), then what the
//! authenticator asks for — touch, PIN, fingerprint, the phone's QR code — and, when
//! registering, the passkey's name (【6】 "パスキー"). The ceremony itself runs on its own
//! thread (`crate::passkey::ceremony`); this screen only shows its events.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::choose_method::method_key;
use super::{Col, Ctx, Field, Form, InputId, Intent, Item, button_row, title};
use super::{Cx, Env, Page, Place, Screen};
use crate::api::{ErrorCode, Method, Step};
use crate::client::ClientError;
use crate::domain::totp::device_name;
use crate::passkey::Shared;
use crate::passkey::probe::ProbeReport;
use crate::passkey::{PasskeyError, PasskeyTransport};
use crate::tui::i18n::Tr;
use crate::tui::i18n::t;
use crate::tui::modes::member::{ApiCall, Command, Msg, Reply};
pub use crate::tui::shell::passkey_view::{PasskeyPhase, transport_key};
use crate::tui::shell::passkey_view::{render_phone_qr, render_prompt};
use crate::tui::widgets::qr::QrCode;
use crate::tui::widgets::{TextInput, width};

/// Why the screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyPurpose {
    /// Registering a passkey (method set-up, or "add a passkey" on the top screen).
    Register,
    /// Signing in with a passkey after the password.
    SignIn,
}

/// The passkey screen.
#[derive(Debug, Clone)]
pub struct PasskeyState {
    /// Registering or signing in.
    pub purpose: PasskeyPurpose,
    /// What is shown.
    pub phase: PasskeyPhase,
    /// The transport chosen (for the default name and the messages).
    pub transport: Option<PasskeyTransport>,
    /// The PIN being typed (masked, never logged).
    pub pin: TextInput,
    /// The passkey's name.
    pub name: TextInput,
    /// Focused item.
    pub focus: usize,
    /// Registering from the top screen (Cancel goes back there) rather than at method set-up.
    pub from_home: bool,
    /// The last probe, to go back to the choice after a cancel or a refusal.
    pub report: Option<ProbeReport>,
    /// With "change method": the second factors the member had before (kind and id), offered
    /// for removal once the passkey is registered.
    pub replaces: Vec<(Method, i64)>,
    /// A new credential waiting for its name.
    pub answer: Option<crate::passkey::Shared<crate::passkey::ceremony::Answer>>,
    qr: Option<QrCode>,
}

impl PasskeyState {
    /// The screen while the transports are probed.
    pub fn new(purpose: PasskeyPurpose) -> Self {
        Self {
            purpose,
            phase: PasskeyPhase::Probing,
            transport: None,
            pin: TextInput::masked().with_max(63),
            name: TextInput::new().with_max(32),
            focus: 0,
            from_home: false,
            report: None,
            replaces: Vec::new(),
            answer: None,
            qr: None,
        }
    }

    /// Shows `phase`, keeping what the member typed where it still applies.
    pub fn show(&mut self, phase: PasskeyPhase) {
        self.qr = phase.qr();
        if !matches!(phase, PasskeyPhase::Pin { .. }) {
            self.pin.clear();
        }
        if let PasskeyPhase::Choose(r) = &phase {
            self.report = Some(r.clone());
        }
        self.phase = phase;
        self.focus = 0;
    }

    /// The naming step, with the transport's default name filled in.
    pub fn naming(&mut self, lang_ja: bool) {
        let default = self
            .transport
            .unwrap_or(PasskeyTransport::Usb)
            .default_name(lang_ja);
        self.name.set_value(default);
        self.show(PasskeyPhase::Naming);
    }

    /// Whether the member set-up cannot be left by Cancel (method set-up, not the top screen):
    /// the screen then offers another method and signing out instead.
    pub fn at_method_setup(&self) -> bool {
        self.purpose == PasskeyPurpose::Register && !self.from_home
    }

    /// The way out of a set-up the member cannot finish: another method, or signing out.
    fn ways_out(&self) -> Vec<Item> {
        if self.at_method_setup() {
            vec![
                Item::Button(Intent::PasskeyOtherMethod),
                Item::Button(Intent::SignOut),
            ]
        } else {
            vec![Item::Button(Intent::PasskeyCancel)]
        }
    }

    /// Whether a ceremony is waiting on the authenticator (Esc cancels it).
    pub fn in_ceremony(&self) -> bool {
        self.phase.in_ceremony()
    }
}

impl Form for PasskeyState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        match &self.phase {
            PasskeyPhase::Choose(report) => {
                let mut v: Vec<Item> = report
                    .transports
                    .iter()
                    .filter(|a| a.usable.is_ok())
                    .map(|a| Item::Button(Intent::PasskeyUse(a.transport)))
                    .collect();
                v.extend(self.ways_out());
                v
            }
            PasskeyPhase::OtherMethod => {
                let mut v: Vec<Item> = [Method::TotpApp, Method::EmailOtp]
                    .into_iter()
                    .map(|m| Item::Button(Intent::Choose(m)))
                    .collect();
                v.push(Item::Button(Intent::PasskeyCancel));
                v
            }
            PasskeyPhase::Pin { .. } => vec![
                Item::Input(InputId::PasskeyPin),
                Item::Button(Intent::PasskeySubmitPin),
                Item::Button(Intent::PasskeyCancel),
            ],
            PasskeyPhase::Naming => vec![
                Item::Input(InputId::PasskeyName),
                Item::Button(Intent::PasskeySaveName),
            ],
            PasskeyPhase::Failed(_) => {
                let mut v = vec![Item::Button(Intent::PasskeyRetry)];
                v.extend(self.ways_out());
                v
            }
            _ => vec![Item::Button(Intent::PasskeyCancel)],
        }
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        match id {
            InputId::PasskeyPin => Some(&self.pin),
            InputId::PasskeyName => Some(&self.name),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::PasskeyPin => Some(&mut self.pin),
            InputId::PasskeyName => Some(&mut self.name),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        match self.phase {
            PasskeyPhase::Pin { .. } => Some(Intent::PasskeySubmitPin),
            PasskeyPhase::Naming => Some(Intent::PasskeySaveName),
            _ => None,
        }
    }
}

/// "b. …" / "c. …": the other methods with the letters they have at 【8】.
fn other_method_label(lang: crate::api::Lang, m: Method) -> String {
    let letter = match m {
        Method::Passkey => "a",
        Method::TotpApp => "b",
        Method::EmailOtp => "c",
    };
    format!("{letter}. {}", t(lang, method_key(m)))
}

fn button_label(lang: crate::api::Lang, i: Intent) -> String {
    let key = match i {
        Intent::PasskeyUse(t) => transport_key(t),
        Intent::PasskeySubmitPin => "passkey.pin_submit",
        Intent::PasskeySaveName => "passkey.name_next",
        Intent::PasskeyRetry => "passkey.retry",
        Intent::PasskeyOtherMethod => "passkey.other_method",
        Intent::SignOut => "passkey.sign_out",
        Intent::Choose(m) => return other_method_label(lang, m),
        _ => "passkey.cancel",
    };
    t(lang, key).to_owned()
}

/// Draws the passkey screen.
pub fn render(frame: &mut Frame, area: Rect, s: &PasskeyState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    let heading = match s.purpose {
        PasskeyPurpose::Register => "passkey.title_register",
        PasskeyPurpose::SignIn => "passkey.title_sign_in",
    };
    title(&mut col, frame, ctx, ctx.t(heading));
    col.gap(1);
    let all: Vec<Intent> = s
        .items()
        .into_iter()
        .filter_map(|i| match i {
            Item::Button(b) => Some(b),
            _ => None,
        })
        .collect();
    match &s.phase {
        PasskeyPhase::Probing => {
            col.text(frame, ctx.t("passkey.probing"), ctx.theme.text());
        }
        PasskeyPhase::Choose(report) => {
            let none = !report.transports.iter().any(|a| a.usable.is_ok());
            if none && s.at_method_setup() {
                col.text(frame, ctx.t("passkey.none_here"), ctx.theme.error());
            } else {
                col.text(frame, ctx.t("passkey.choose"), ctx.theme.text());
            }
            col.gap(1);
            let b = button_row(s, |i| button_label(lang, i), &all);
            col.buttons(frame, ctx, &b);
            let unusable: Vec<_> = report
                .transports
                .iter()
                .filter_map(|a| a.usable.as_ref().err().map(|e| (a.transport, e)))
                .collect();
            if !unusable.is_empty() {
                col.gap(1);
                col.text(frame, ctx.t("passkey.unavailable_heading"), ctx.theme.dim());
                for (tr, e) in unusable {
                    let line =
                        format!("・{}: {}", ctx.t(transport_key(tr)), ctx.t(e.message_key()));
                    col.text(frame, &line, ctx.theme.dim());
                }
            }
            if s.purpose == PasskeyPurpose::Register {
                col.gap(1);
                col.text(frame, ctx.t("passkey.biometric_note"), ctx.theme.dim());
            }
            return;
        }
        PasskeyPhase::Pin { attempt } => {
            col.text(frame, ctx.t("passkey.pin_explain"), ctx.theme.text());
            if *attempt > 1 {
                col.text(frame, ctx.t("passkey.pin_wrong"), ctx.theme.error());
            }
            col.gap(1);
            let label = ctx.t("passkey.pin");
            let lw = u16::try_from(width(label) + 3).unwrap_or(12);
            let err = ctx.error(Field::PasskeyPin).map(str::to_owned);
            col.field(
                frame,
                ctx,
                label,
                lw,
                &s.pin,
                20,
                0,
                s.focus == 0,
                err.as_deref(),
            );
            col.gap(1);
            let b = button_row(s, |i| button_label(lang, i), &all);
            col.buttons(frame, ctx, &b);
            return;
        }
        PasskeyPhase::Waiting
        | PasskeyPhase::Touch
        | PasskeyPhase::Processing
        | PasskeyPhase::Fingerprint { .. } => {
            render_prompt(frame, &mut col, &s.phase, s.transport, ctx);
        }
        PasskeyPhase::PhoneQr { progress, .. } => {
            render_phone_qr(frame, &mut col, s.qr.as_ref(), *progress, ctx);
            let b = button_row(s, |i| button_label(lang, i), &all);
            col.buttons(frame, ctx, &b);
            return;
        }
        PasskeyPhase::Naming => {
            col.text(frame, ctx.t("passkey.name_explain"), ctx.theme.text());
            col.gap(1);
            let label = ctx.t("passkey.name");
            let lw = u16::try_from(width(label) + 3).unwrap_or(12);
            let err = ctx.error(Field::PasskeyName).map(str::to_owned);
            col.field(
                frame,
                ctx,
                label,
                lw,
                &s.name,
                32,
                0,
                s.focus == 0,
                err.as_deref(),
            );
            col.gap(1);
            let b = button_row(s, |i| button_label(lang, i), &all);
            col.buttons(frame, ctx, &b);
            return;
        }
        PasskeyPhase::OtherMethod => {
            col.text(frame, ctx.t("passkey.other_explain"), ctx.theme.text());
            col.gap(1);
            let b = button_row(s, |i| button_label(lang, i), &all);
            col.buttons(frame, ctx, &b);
            return;
        }
        PasskeyPhase::Failed(e) => {
            col.text(frame, ctx.t(e.message_key()), ctx.theme.error());
            if s.at_method_setup() {
                col.text(frame, ctx.t("passkey.ways_out"), ctx.theme.dim());
            }
            col.gap(1);
            let b = button_row(s, |i| button_label(lang, i), &all);
            col.buttons(frame, ctx, &b);
            return;
        }
    }
    col.gap(1);
    col.text(frame, ctx.t("passkey.esc_cancels"), ctx.theme.dim());
}

/// Whether the phone's QR code needs the whole terminal (see the shared view).
pub fn wants_full_frame(s: &PasskeyState, body: Rect, full: Rect) -> bool {
    crate::tui::shell::passkey_view::wants_full_frame(&s.phase, s.qr.as_ref(), body, full)
}

/// The ceremony itself runs in the runtime's thread (`Command::RunPasskey`), never here: this
/// turns its events into phases and makes the requests around it.
impl Page for PasskeyState {
    fn place(&self) -> Place {
        match self.purpose {
            PasskeyPurpose::SignIn => Place::portal("passkey", "step.second_factor"),
            PasskeyPurpose::Register => Place::portal("passkey", "step.method_setup"),
        }
    }
    fn shows(&self, step: Step) -> bool {
        matches!(step, Step::MethodSetup | Step::SecondFactor)
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::PasskeyUse(transport) => {
                self.transport = Some(transport);
                self.show(PasskeyPhase::Waiting);
                let purpose = self.purpose;
                cx.with_token(|t| ApiCall::StartPasskey(t, purpose));
            }
            Intent::PasskeySubmitPin => {
                if !matches!(self.phase, PasskeyPhase::Pin { .. }) {
                    return;
                }
                let pin = zeroize::Zeroizing::new(self.pin.value().to_owned());
                if pin.is_empty() {
                    cx.set_error(Field::PasskeyPin, Tr::new("err.required"));
                    return;
                }
                self.show(PasskeyPhase::Processing);
                cx.push(Command::PasskeyPin(Shared::new(Some(pin))));
            }
            Intent::PasskeySaveName => {
                let Some(answer) = self.answer.clone() else {
                    return;
                };
                match device_name(self.name.value()) {
                    Ok(name) => {
                        cx.with_token(|t| ApiCall::FinishPasskeyRegistration(t, answer, name))
                    }
                    Err(_) => cx.set_error(Field::PasskeyName, Tr::new("err.invalid_device_name")),
                }
            }
            Intent::PasskeyRetry => {
                self.show(PasskeyPhase::Probing);
                cx.push(Command::ProbePasskeys);
            }
            Intent::PasskeyCancel => self.cancel(cx),
            Intent::PasskeyOtherMethod => self.show(PasskeyPhase::OtherMethod),
            // Another method at set-up: the server answers with its set-up screen.
            Intent::Choose(m) => cx.with_token(|t| ApiCall::ChooseMethod(t, m)),
            Intent::SignOut => cx.sign_out(),
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        if matches!(self.phase, PasskeyPhase::OtherMethod) {
            return Some(super::Esc::Back);
        }
        if self.in_ceremony() {
            return Some(super::Esc::Cancel);
        }
        match (self.purpose, self.from_home) {
            (PasskeyPurpose::Register, false) => None,
            _ => Some(super::Esc::Back),
        }
    }
    fn on_back(&mut self, _cx: &mut Cx) -> Option<Intent> {
        Some(Intent::PasskeyCancel)
    }
    /// The server's options arrived: run the ceremony through the chosen transport.
    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        if let Reply::PasskeyOptions(request) = reply
            && let (PasskeyPhase::Waiting, Some(transport)) = (&self.phase, self.transport)
        {
            cx.push(Command::RunPasskey { transport, request });
        }
    }
    /// A refused request: back to the choice (the message says why), except a bad name, which
    /// stays on the naming step.
    fn on_error(&mut self, err: &ClientError, _cx: &mut Cx) -> bool {
        if let ClientError::Api(e) = err
            && matches!(
                e.code,
                ErrorCode::PasskeyUnavailable
                    | ErrorCode::PasskeyRejected
                    | ErrorCode::CeremonyExpired
                    | ErrorCode::PasskeyTaken
                    | ErrorCode::NoPasskey
            )
            && !matches!(self.phase, PasskeyPhase::Naming)
            && let Some(report) = self.report.clone()
        {
            self.show(PasskeyPhase::Choose(report));
        }
        false
    }
    /// The probe's report, the ceremony's events and its end.
    fn on_device(&mut self, msg: Msg, cx: &mut Cx) {
        match msg {
            Msg::PasskeyProbed(report) => {
                if matches!(self.phase, PasskeyPhase::Probing) {
                    self.show(PasskeyPhase::Choose(report));
                }
            }
            Msg::Passkey(event) if self.in_ceremony() => self.on_event(event),
            Msg::PasskeyDone(result) => {
                if !self.in_ceremony() {
                    return;
                }
                match result {
                    Ok(answer) if self.purpose == PasskeyPurpose::Register => {
                        self.answer = Some(answer);
                        self.naming(cx.lang() == crate::api::Lang::Ja);
                    }
                    Ok(answer) => {
                        self.show(PasskeyPhase::Processing);
                        cx.with_token(|t| ApiCall::FinishPasskeyAuthentication(t, answer));
                    }
                    Err(e) => self.show(PasskeyPhase::Failed(e)),
                }
            }
            _ => {}
        }
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
    fn wants_full_frame(&self, body: Rect, full: Rect) -> bool {
        wants_full_frame(self, body, full)
    }
    fn draw_full(&self, frame: &mut Frame, full: Rect, ctx: &mut Ctx) -> Option<Rect> {
        render(frame, full, self, ctx);
        None
    }
}

impl PasskeyState {
    fn on_event(&mut self, event: crate::passkey::ui::PasskeyEvent) {
        if let Some(next) = self.phase.after(event) {
            self.show(next);
        }
    }

    /// Esc or Cancel: stops the ceremony, or leaves the screen.
    fn cancel(&mut self, cx: &mut Cx) {
        if matches!(self.phase, PasskeyPhase::OtherMethod) {
            let back = self
                .report
                .clone()
                .map_or(PasskeyPhase::Probing, PasskeyPhase::Choose);
            if matches!(back, PasskeyPhase::Probing) {
                cx.push(Command::ProbePasskeys);
            }
            self.show(back);
            return;
        }
        if self.in_ceremony() {
            // Back to the choice; the ceremony thread ends by itself.
            let back = self
                .report
                .clone()
                .map_or(PasskeyPhase::Probing, PasskeyPhase::Choose);
            let probe = matches!(back, PasskeyPhase::Probing);
            self.show(back);
            cx.set_error(Field::Form, Tr::new(PasskeyError::Cancelled.message_key()));
            cx.push(Command::CancelPasskey);
            if probe {
                cx.push(Command::ProbePasskeys);
            }
            return;
        }
        match (self.purpose, self.from_home) {
            (PasskeyPurpose::SignIn, _) => {
                cx.clear_errors();
                cx.go(Screen::SecondFactor(Default::default()));
            }
            (PasskeyPurpose::Register, true) => cx.go_home(),
            (PasskeyPurpose::Register, false) => cx.info("passkey.no_back"),
        }
    }
}
