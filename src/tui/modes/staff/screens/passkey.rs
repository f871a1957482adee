//! A staff member's passkey: registered at enrolment instead of the app, or used after the
//! password at sign-in. The transports, the ceremony's prompts and the phone's QR code are the
//! member passkey screen's ([`crate::tui::shell::passkey_view`]); the ceremony runs on its own
//! thread and this screen only shows its events. The new passkey takes the transport's name.

use ratatui::Frame;
use ratatui::layout::Rect;
use zeroize::Zeroizing;

use super::{
    Col, Ctx, Cx, Env, Field, Form, InputId, Intent, Item, Page, Screen, button_row, title,
};
use crate::api::{ApiError, ErrorCode};
use crate::client::StaffToken;
use crate::passkey::{PasskeyError, PasskeyTransport, Shared};
use crate::tui::i18n::{Tr, t};
use crate::tui::modes::staff::api::{Reply, StaffCall};
use crate::tui::modes::staff::{Command, Msg};
use crate::tui::shell::passkey_view::{
    PasskeyPhase, render_phone_qr, render_prompt, transport_key,
};
use crate::tui::widgets::qr::QrCode;
use crate::tui::widgets::{TextInput, width};

/// Why the passkey is used.
pub enum Purpose {
    /// Enrolment: the new password waits for the new passkey.
    Enrol {
        /// The enrolment's token.
        token: StaffToken,
        /// The new password (sent with the passkey; never shown or logged).
        password: Zeroizing<String>,
    },
    /// Sign-in after the password.
    SignIn {
        /// The half-signed-in token.
        token: StaffToken,
        /// The account also has an app (Cancel goes to its code).
        has_app: bool,
    },
}

impl std::fmt::Debug for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Enrol { token, .. } => f
                .debug_struct("Enrol")
                .field("token", token)
                .finish_non_exhaustive(),
            Self::SignIn { token, has_app } => f
                .debug_struct("SignIn")
                .field("token", token)
                .field("has_app", has_app)
                .finish(),
        }
    }
}

/// The staff passkey screen.
#[derive(Debug)]
pub struct PasskeyState {
    /// Enrolment or sign-in.
    pub purpose: Purpose,
    /// What is shown.
    pub phase: PasskeyPhase,
    /// The transport chosen.
    pub transport: Option<PasskeyTransport>,
    /// The PIN being typed (masked, never logged).
    pub pin: TextInput,
    /// Focused item.
    pub focus: usize,
    report: Option<crate::passkey::probe::ProbeReport>,
    qr: Option<QrCode>,
}

impl PasskeyState {
    /// The screen while the transports are probed (the caller pushes `ProbePasskeys`).
    pub fn new(purpose: Purpose) -> Self {
        Self {
            purpose,
            phase: PasskeyPhase::Probing,
            transport: None,
            pin: TextInput::masked().with_max(63),
            focus: 0,
            report: None,
            qr: None,
        }
    }

    /// Shows `phase`.
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

    fn token(&self) -> &StaffToken {
        match &self.purpose {
            Purpose::Enrol { token, .. } | Purpose::SignIn { token, .. } => token,
        }
    }

    /// Back to the transport choice (or the probe when there was none).
    fn back_to_choice(&mut self, cx: &mut Cx) {
        match self.report.clone() {
            Some(r) => self.show(PasskeyPhase::Choose(r)),
            None => {
                self.show(PasskeyPhase::Probing);
                cx.push(Command::ProbePasskeys);
            }
        }
    }

    /// Cancel: stops the ceremony, or leaves the screen (to the app's code when the account
    /// has one, else to a fresh sign-in).
    fn cancel(&mut self, cx: &mut Cx) {
        if self.phase.in_ceremony() {
            self.back_to_choice(cx);
            cx.set_error(Field::Form, Tr::new(PasskeyError::Cancelled.message_key()));
            cx.push(Command::CancelPasskey);
            return;
        }
        cx.clear_messages();
        match &self.purpose {
            Purpose::SignIn {
                token,
                has_app: true,
            } => {
                cx.go(Screen::SignIn(super::sign_in::SignInState {
                    stage: super::sign_in::Stage::Code(token.clone(), true),
                    ..Default::default()
                }));
            }
            _ => cx.go(Screen::SignIn(Default::default())),
        }
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
                v.push(Item::Button(Intent::PasskeyCancel));
                v
            }
            PasskeyPhase::Pin { .. } => vec![
                Item::Input(InputId::PasskeyPin),
                Item::Button(Intent::PasskeySubmitPin),
                Item::Button(Intent::PasskeyCancel),
            ],
            PasskeyPhase::Failed(_) => vec![
                Item::Button(Intent::PasskeyRetry),
                Item::Button(Intent::PasskeyCancel),
            ],
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
        (id == InputId::PasskeyPin).then_some(&self.pin)
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        (id == InputId::PasskeyPin).then_some(&mut self.pin)
    }
    fn submit(&self) -> Option<Intent> {
        matches!(self.phase, PasskeyPhase::Pin { .. }).then_some(Intent::PasskeySubmitPin)
    }
}

fn button_label(lang: crate::api::Lang, i: Intent) -> String {
    let key = match i {
        Intent::PasskeyUse(tr) => transport_key(tr),
        Intent::PasskeySubmitPin => "passkey.pin_submit",
        Intent::PasskeyRetry => "passkey.retry",
        _ => "passkey.cancel",
    };
    t(lang, key).to_owned()
}

impl Page for PasskeyState {
    fn title(&self) -> &'static str {
        match self.purpose {
            Purpose::Enrol { .. } => "staff.title.enrol",
            Purpose::SignIn { .. } => "staff.title.sign_in",
        }
    }

    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::PasskeyUse(transport) => {
                self.transport = Some(transport);
                self.show(PasskeyPhase::Waiting);
                let enrol = matches!(self.purpose, Purpose::Enrol { .. });
                cx.call(StaffCall::PasskeyStart(self.token().clone(), enrol));
            }
            Intent::PasskeySubmitPin => {
                if !matches!(self.phase, PasskeyPhase::Pin { .. }) {
                    return;
                }
                let pin = Zeroizing::new(self.pin.value().to_owned());
                if pin.is_empty() {
                    cx.set_error(Field::PasskeyPin, Tr::new("err.required"));
                    return;
                }
                self.show(PasskeyPhase::Processing);
                cx.push(Command::PasskeyPin(Shared::new(Some(pin))));
            }
            Intent::PasskeyRetry => {
                self.show(PasskeyPhase::Probing);
                cx.push(Command::ProbePasskeys);
            }
            Intent::PasskeyCancel => self.cancel(cx),
            _ => {}
        }
    }

    fn esc(&self) -> Option<&'static str> {
        // In a ceremony Esc stops it; otherwise it leaves the screen.
        Some(if self.phase.in_ceremony() {
            "footer.esc_cancel"
        } else {
            "footer.esc_back"
        })
    }

    fn on_back(&mut self, cx: &mut Cx) {
        self.cancel(cx);
    }

    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        match reply {
            Reply::PasskeyOptions(request) => {
                if let (PasskeyPhase::Waiting, Some(transport)) = (&self.phase, self.transport) {
                    cx.push(Command::RunPasskey { transport, request });
                }
            }
            Reply::SignedIn(me) => {
                let keep = cx.session.signed_in(cx.shell, self.token().clone(), me);
                cx.push(keep);
                cx.go(Screen::Search(Default::default()));
            }
            _ => {}
        }
    }

    fn on_error(&mut self, e: &ApiError, cx: &mut Cx) -> bool {
        let msg = super::super::words::error_message(e);
        match e.code {
            // The enrolment's password was refused after the ceremony: type another, then
            // register the passkey again.
            ErrorCode::WeakPassword => {
                if let Purpose::Enrol { token, .. } = &self.purpose {
                    cx.go(Screen::Enrol(Box::new(super::enrol::EnrolState {
                        stage: super::enrol::Stage::Finish {
                            token: token.clone(),
                            passkey: true,
                        },
                        ..Default::default()
                    })));
                    cx.session.errors.push((Field::NewPassword, msg));
                    return true;
                }
                false
            }
            // The half-done sign-in or enrolment ended: start again.
            ErrorCode::TooManyAttempts | ErrorCode::InvalidEnrolmentCode => {
                cx.go(Screen::SignIn(Default::default()));
                cx.set_error(Field::Form, msg);
                true
            }
            ErrorCode::PasskeyUnavailable
            | ErrorCode::PasskeyRejected
            | ErrorCode::CeremonyExpired
            | ErrorCode::PasskeyTaken
            | ErrorCode::NoPasskey => {
                self.back_to_choice(cx);
                cx.set_error(Field::Form, msg);
                true
            }
            _ => false,
        }
    }

    fn on_device(&mut self, msg: Msg, cx: &mut Cx) {
        match msg {
            Msg::PasskeyProbed(report) => {
                if matches!(self.phase, PasskeyPhase::Probing) {
                    self.show(PasskeyPhase::Choose(report));
                }
            }
            Msg::Passkey(event) if self.phase.in_ceremony() => {
                if let Some(next) = self.phase.after(event) {
                    self.show(next);
                }
            }
            Msg::PasskeyDone(result) if self.phase.in_ceremony() => match result {
                Ok(answer) => {
                    self.show(PasskeyPhase::Processing);
                    let call = match &self.purpose {
                        Purpose::Enrol { token, password } => {
                            let name = self
                                .transport
                                .unwrap_or(PasskeyTransport::Usb)
                                .default_name(cx.shell.lang == crate::api::Lang::Ja);
                            StaffCall::EnrolPasskeyFinish {
                                token: token.clone(),
                                password: password.to_string(),
                                answer,
                                name: name.to_owned(),
                            }
                        }
                        Purpose::SignIn { token, .. } => {
                            StaffCall::PasskeyFinish(token.clone(), answer)
                        }
                    };
                    cx.call(call);
                }
                Err(e) => self.show(PasskeyPhase::Failed(e)),
            },
            _ => {}
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        let lang = ctx.lang;
        let mut col = Col::new(area);
        let heading = match self.purpose {
            Purpose::Enrol { .. } => "passkey.title_register",
            Purpose::SignIn { .. } => "passkey.title_sign_in",
        };
        title(&mut col, frame, ctx, ctx.t(heading));
        col.gap(1);
        let all: Vec<Intent> = self
            .items()
            .into_iter()
            .filter_map(|i| match i {
                Item::Button(b) => Some(b),
                _ => None,
            })
            .collect();
        match &self.phase {
            PasskeyPhase::Probing => {
                col.text(frame, ctx.t("passkey.probing"), ctx.theme.text());
            }
            PasskeyPhase::Choose(report) => {
                col.text(frame, ctx.t("staff.passkey.choose"), ctx.theme.text());
                col.gap(1);
                let b = button_row(self, |i| button_label(lang, i), &all);
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
                    &self.pin,
                    20,
                    0,
                    self.focus == 0,
                    err.as_deref(),
                );
                col.gap(1);
                let b = button_row(self, |i| button_label(lang, i), &all);
                col.buttons(frame, ctx, &b);
                return;
            }
            PasskeyPhase::PhoneQr { progress, .. } => {
                render_phone_qr(frame, &mut col, self.qr.as_ref(), *progress, ctx);
                let b = button_row(self, |i| button_label(lang, i), &all);
                col.buttons(frame, ctx, &b);
                return;
            }
            PasskeyPhase::Failed(e) => {
                col.text(frame, ctx.t(e.message_key()), ctx.theme.error());
                col.gap(1);
                let b = button_row(self, |i| button_label(lang, i), &all);
                col.buttons(frame, ctx, &b);
                return;
            }
            phase => {
                render_prompt(frame, &mut col, phase, self.transport, ctx);
            }
        }
        col.gap(1);
        col.text(frame, ctx.t("passkey.esc_cancels"), ctx.theme.dim());
    }
}
