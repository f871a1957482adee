//! Staff enrolment: the login and the one-time enrolment code an admin handed over, then the
//! authenticator app's QR code (or the key to type), then the new password twice and a code of
//! the new app — or, instead of the app, the new password twice and then a passkey (the
//! passkey screen). The session it opens is kept like a sign-in's.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::sign_in::{code_input, label_width};
use super::{
    Col, Ctx, Cx, Env, Field, Form, InputId, Intent, Item, Page, Screen, button_row, title,
};
use crate::api::{ApiError, TotpEnrollment};
use crate::client::StaffToken;
use crate::tui::i18n::{Tr, t, tf};
use crate::tui::modes::staff::api::{Reply, StaffCall};
use crate::tui::widgets::TextInput;
use crate::tui::widgets::qr::QrCode;

/// Where the enrolment is.
#[derive(Debug, Clone)]
pub enum Stage {
    /// Login and enrolment code.
    Start,
    /// The app to add: its QR code, or the key to type (`typed`).
    Qr {
        /// The enrolment's token.
        token: StaffToken,
        /// The app's set-up.
        totp: Box<TotpEnrollment>,
        /// The code to draw (None when it cannot be encoded).
        qr: Option<Box<QrCode>>,
        /// Showing the key to type instead.
        typed: bool,
    },
    /// Password twice and the app's code (or, with `passkey`, the password only: the passkey
    /// comes next).
    Finish {
        /// The enrolment's token.
        token: StaffToken,
        /// A passkey instead of the app.
        passkey: bool,
    },
}

/// The enrolment screen.
#[derive(Debug, Clone)]
pub struct EnrolState {
    /// The login.
    pub login: TextInput,
    /// The one-time enrolment code (masked: it is a secret).
    pub enrol_code: TextInput,
    /// The new password.
    pub password: TextInput,
    /// The new password again.
    pub confirm: TextInput,
    /// The new app's code.
    pub code: TextInput,
    /// Where the enrolment is.
    pub stage: Stage,
    /// Focused item.
    pub focus: usize,
}

impl Default for EnrolState {
    fn default() -> Self {
        Self {
            login: TextInput::new().with_max(64),
            enrol_code: TextInput::masked().with_max(40),
            password: TextInput::masked().with_max(128),
            confirm: TextInput::masked().with_max(128),
            code: code_input(),
            stage: Stage::Start,
            focus: 0,
        }
    }
}

impl EnrolState {
    /// The enrolment's app, when it is being set up.
    pub fn totp(&self) -> Option<&TotpEnrollment> {
        match &self.stage {
            Stage::Qr { totp, .. } => Some(totp),
            _ => None,
        }
    }
}

impl Form for EnrolState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        match self.stage {
            Stage::Start => vec![
                Item::Input(InputId::Login),
                Item::Input(InputId::EnrolCode),
                Item::Button(Intent::EnrolStart),
                Item::Button(Intent::ToSignIn),
            ],
            Stage::Qr { .. } => vec![
                Item::Button(Intent::EnrolNext),
                Item::Button(Intent::CantScan),
                Item::Button(Intent::ToSignIn),
                Item::Button(Intent::EnrolPasskey),
            ],
            Stage::Finish { passkey: true, .. } => vec![
                Item::Input(InputId::NewPassword),
                Item::Input(InputId::Confirm),
                Item::Button(Intent::EnrolFinish),
                Item::Button(Intent::ToSignIn),
            ],
            Stage::Finish { .. } => vec![
                Item::Input(InputId::NewPassword),
                Item::Input(InputId::Confirm),
                Item::Input(InputId::Code),
                Item::Button(Intent::EnrolFinish),
                Item::Button(Intent::ToSignIn),
            ],
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
            InputId::Login => Some(&self.login),
            InputId::EnrolCode => Some(&self.enrol_code),
            InputId::NewPassword => Some(&self.password),
            InputId::Confirm => Some(&self.confirm),
            InputId::Code => Some(&self.code),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::Login => Some(&mut self.login),
            InputId::EnrolCode => Some(&mut self.enrol_code),
            InputId::NewPassword => Some(&mut self.password),
            InputId::Confirm => Some(&mut self.confirm),
            InputId::Code => Some(&mut self.code),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        match self.stage {
            Stage::Start => Some(Intent::EnrolStart),
            Stage::Qr { .. } => Some(Intent::EnrolNext),
            Stage::Finish { .. } => Some(Intent::EnrolFinish),
        }
    }
}

impl Page for EnrolState {
    fn title(&self) -> &'static str {
        "staff.title.enrol"
    }

    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::EnrolStart => {
                let login = self.login.value().trim().to_owned();
                let code = self.enrol_code.value().trim().to_owned();
                if login.is_empty() {
                    cx.set_error(Field::Login, Tr::new("err.required"));
                }
                if code.is_empty() {
                    cx.set_error(Field::EnrolCode, Tr::new("err.required"));
                }
                if !cx.has_errors() {
                    cx.call(StaffCall::EnrolStart { login, code });
                }
            }
            Intent::CantScan => {
                if let Stage::Qr { typed, .. } = &mut self.stage {
                    *typed = !*typed;
                }
            }
            Intent::ToggleQrStyle => {
                let style = cx.session.qr_style;
                if let Stage::Qr { qr: Some(qr), .. } = &mut self.stage {
                    **qr = qr.as_ref().clone().with_style(style);
                }
            }
            Intent::EnrolNext => {
                if let Stage::Qr { token, .. } = &self.stage {
                    self.stage = Stage::Finish {
                        token: token.clone(),
                        passkey: false,
                    };
                    self.focus = 0;
                }
            }
            Intent::EnrolPasskey => {
                if let Stage::Qr { token, .. } = &self.stage {
                    self.stage = Stage::Finish {
                        token: token.clone(),
                        passkey: true,
                    };
                    self.focus = 0;
                }
            }
            Intent::EnrolFinish => {
                let Stage::Finish { token, passkey } = &self.stage else {
                    return;
                };
                let password = self.password.value().to_owned();
                let code = self.code.value().trim().to_owned();
                // The password rules are checked here as well as on the server: a passkey
                // enrolment sends the password only after the ceremony, and a staff member should
                // not touch their key to learn that the password was refused.
                if password.is_empty() {
                    cx.set_error(Field::NewPassword, Tr::new("err.required"));
                } else if let Err(e) = crate::domain::password::check(&password) {
                    let key = match e {
                        crate::domain::password::PasswordError::Length => {
                            "err.weak_password.length"
                        }
                        crate::domain::password::PasswordError::Characters => {
                            "err.weak_password.characters"
                        }
                    };
                    cx.set_error(Field::NewPassword, Tr::new(key));
                } else if password != self.confirm.value() {
                    cx.set_error(Field::Confirm, Tr::new("err.confirm_mismatch"));
                }
                if *passkey {
                    if !cx.has_errors() {
                        use super::passkey::{PasskeyState, Purpose};
                        cx.go(Screen::Passkey(Box::new(PasskeyState::new(
                            Purpose::Enrol {
                                token: token.clone(),
                                password: zeroize::Zeroizing::new(password),
                            },
                        ))));
                        cx.push(crate::tui::modes::staff::Command::ProbePasskeys);
                    }
                    return;
                }
                if code.is_empty() {
                    cx.set_error(Field::Code, Tr::new("err.required"));
                }
                if !cx.has_errors() {
                    let token = token.clone();
                    cx.call(StaffCall::EnrolFinish {
                        token,
                        password,
                        code,
                    });
                }
            }
            Intent::ToSignIn => {
                cx.clear_messages();
                cx.go(Screen::SignIn(Default::default()));
            }
            _ => {}
        }
    }

    fn esc(&self) -> Option<&'static str> {
        // At the last stage Esc only says how to start again: it goes nowhere.
        (!matches!(self.stage, Stage::Finish { .. })).then_some("footer.esc_back")
    }

    fn on_back(&mut self, cx: &mut Cx) {
        match &self.stage {
            Stage::Finish { .. } => {
                // Back to the code: the app may not have been added yet.
                cx.set_error(Field::Form, Tr::new("staff.enrol.restart_hint"));
            }
            _ => self.on_intent(Intent::ToSignIn, cx),
        }
    }

    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        match reply {
            Reply::EnrolStarted(token, totp) => {
                self.enrol_code.clear();
                let qr = QrCode::new(&totp.otpauth_uri, cx.session.qr_style)
                    .ok()
                    .map(Box::new);
                self.stage = Stage::Qr {
                    token,
                    totp,
                    typed: qr.is_none(),
                    qr,
                };
                self.focus = 0;
            }
            Reply::SignedIn(me) => {
                let Stage::Finish { token, .. } = &self.stage else {
                    return;
                };
                let keep = cx.session.signed_in(cx.shell, token.clone(), me);
                cx.push(keep);
                cx.go(Screen::Search(Default::default()));
            }
            _ => {}
        }
    }

    fn on_error(&mut self, e: &ApiError, cx: &mut Cx) -> bool {
        use crate::api::ErrorCode as C;
        let msg = super::super::words::error_message(e);
        match (e.code, &self.stage) {
            (C::WeakPassword, Stage::Finish { .. }) => cx.set_error(Field::NewPassword, msg),
            (C::WrongCode | C::CodeUsed | C::CodeExpired | C::ClockSkew, Stage::Finish { .. }) => {
                self.code.clear();
                cx.set_error(Field::Code, msg);
            }
            (
                C::StaffSessionExpired | C::InvalidEnrolmentCode | C::TooManyAttempts,
                Stage::Finish { .. },
            ) => {
                *self = Self {
                    login: self.login.clone(),
                    ..Self::default()
                };
                cx.set_error(Field::Form, msg);
            }
            _ => return false,
        }
        true
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        let lang = ctx.lang;
        let mut col = Col::new(area);
        match &self.stage {
            Stage::Start => {
                title(&mut col, frame, ctx, ctx.t("staff.enrol.heading"));
                col.gap(1);
                col.text(frame, ctx.t("staff.enrol.help"), ctx.theme.text());
                col.gap(1);
                let lw = label_width(ctx, &["staff.sign_in.login", "staff.enrol.code"]);
                let err = ctx.error(Field::Login).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t("staff.sign_in.login"),
                    lw,
                    &self.login,
                    30,
                    0,
                    self.focus == 0,
                    err.as_deref(),
                );
                let err = ctx.error(Field::EnrolCode).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t("staff.enrol.code"),
                    lw,
                    &self.enrol_code,
                    30,
                    1,
                    self.focus == 1,
                    err.as_deref(),
                );
                col.gap(1);
                let row = button_row(
                    self,
                    |i| match i {
                        Intent::EnrolStart => t(lang, "staff.enrol.start").to_owned(),
                        _ => t(lang, "staff.enrol.back").to_owned(),
                    },
                    &[Intent::EnrolStart, Intent::ToSignIn],
                );
                col.buttons(frame, ctx, &row);
            }
            Stage::Qr {
                totp, qr, typed, ..
            } => {
                title(&mut col, frame, ctx, ctx.t("staff.enrol.qr_heading"));
                let row = button_row(
                    self,
                    |i| match i {
                        Intent::EnrolNext => t(lang, "staff.enrol.next").to_owned(),
                        Intent::CantScan if *typed => t(lang, "staff.enrol.show_qr").to_owned(),
                        Intent::CantScan => t(lang, "staff.enrol.cant_scan").to_owned(),
                        Intent::EnrolPasskey => t(lang, "staff.enrol.use_passkey").to_owned(),
                        _ => t(lang, "staff.enrol.back").to_owned(),
                    },
                    &[
                        Intent::EnrolNext,
                        Intent::CantScan,
                        Intent::ToSignIn,
                        Intent::EnrolPasskey,
                    ],
                );
                col.buttons(frame, ctx, &row);
                let qr = qr
                    .as_deref()
                    .filter(|q| !*typed && q.fits(col.area.width, col.left()));
                match qr {
                    Some(qr) => {
                        let area = Rect::new(col.area.x, col.y, col.area.width, col.left());
                        frame.render_widget(qr, area);
                    }
                    None => {
                        if !*typed {
                            col.text(frame, ctx.t("staff.enrol.qr_too_big"), ctx.theme.error());
                        }
                        col.gap(1);
                        col.text(frame, ctx.t("staff.enrol.key_help"), ctx.theme.text());
                        col.text(frame, &grouped_key(&totp.secret), ctx.theme.title());
                        col.text(
                            frame,
                            &tf(
                                lang,
                                "staff.enrol.key_details",
                                &[
                                    ("issuer", &totp.issuer),
                                    ("account", &totp.account),
                                    ("digits", &totp.digits.to_string()),
                                    ("period", &totp.period_secs.to_string()),
                                ],
                            ),
                            ctx.theme.dim(),
                        );
                    }
                }
            }
            Stage::Finish { passkey: true, .. } => {
                title(&mut col, frame, ctx, ctx.t("staff.enrol.passkey_heading"));
                col.gap(1);
                col.text(frame, ctx.t("staff.enrol.passkey_help"), ctx.theme.text());
                col.gap(1);
                let lw = label_width(ctx, &["staff.enrol.password", "staff.enrol.confirm"]);
                let err = ctx.error(Field::NewPassword).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t("staff.enrol.password"),
                    lw,
                    &self.password,
                    30,
                    0,
                    self.focus == 0,
                    err.as_deref(),
                );
                let err = ctx.error(Field::Confirm).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t("staff.enrol.confirm"),
                    lw,
                    &self.confirm,
                    30,
                    1,
                    self.focus == 1,
                    err.as_deref(),
                );
                col.gap(1);
                let row = button_row(
                    self,
                    |i| match i {
                        Intent::EnrolFinish => t(lang, "staff.enrol.to_passkey").to_owned(),
                        _ => t(lang, "staff.enrol.back").to_owned(),
                    },
                    &[Intent::EnrolFinish, Intent::ToSignIn],
                );
                col.buttons(frame, ctx, &row);
                col.gap(1);
                col.text(frame, ctx.t("staff.enrol.password_rules"), ctx.theme.dim());
            }
            Stage::Finish { .. } => {
                title(&mut col, frame, ctx, ctx.t("staff.enrol.finish_heading"));
                col.gap(1);
                let lw = label_width(
                    ctx,
                    &[
                        "staff.enrol.password",
                        "staff.enrol.confirm",
                        "staff.sign_in.code",
                    ],
                );
                let err = ctx.error(Field::NewPassword).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t("staff.enrol.password"),
                    lw,
                    &self.password,
                    30,
                    0,
                    self.focus == 0,
                    err.as_deref(),
                );
                let err = ctx.error(Field::Confirm).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t("staff.enrol.confirm"),
                    lw,
                    &self.confirm,
                    30,
                    1,
                    self.focus == 1,
                    err.as_deref(),
                );
                let err = ctx.error(Field::Code).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t("staff.sign_in.code"),
                    lw,
                    &self.code,
                    12,
                    2,
                    self.focus == 2,
                    err.as_deref(),
                );
                col.gap(1);
                let row = button_row(
                    self,
                    |i| match i {
                        Intent::EnrolFinish => t(lang, "staff.enrol.finish").to_owned(),
                        _ => t(lang, "staff.enrol.back").to_owned(),
                    },
                    &[Intent::EnrolFinish, Intent::ToSignIn],
                );
                col.buttons(frame, ctx, &row);
                col.gap(1);
                col.text(frame, ctx.t("staff.enrol.password_rules"), ctx.theme.dim());
            }
        }
    }
}

/// The key in groups of four, for typing.
fn grouped_key(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
