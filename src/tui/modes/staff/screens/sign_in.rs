//! Staff sign-in: login and password, then the second factor: the 6-digit code of the staff
//! member's authenticator app, or their passkey (a choice when they have both). Also the placeholder shown while a kept session is checked.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::{
    Col, Ctx, Cx, Env, Field, Form, InputId, Intent, Item, Page, Screen, button_row, title,
};
use crate::api::ApiError;
use crate::api::staff::StaffFactorKind;
use crate::client::StaffToken;
use crate::tui::i18n::{Tr, t};
use crate::tui::modes::staff::api::{Reply, StaffCall};
use crate::tui::widgets::{TextInput, width};

/// Shown while the kept session is checked.
#[derive(Debug)]
pub struct StartingState;

/// The one starting screen.
pub static STARTING: StartingState = StartingState;

impl Form for StartingState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        Vec::new()
    }
    fn focus(&self) -> usize {
        0
    }
    fn set_focus(&mut self, _i: usize) {}
}

impl Page for StartingState {
    fn title(&self) -> &'static str {
        "staff.title.starting"
    }
    fn on_intent(&mut self, _intent: Intent, _cx: &mut Cx) {}
    fn on_reply(&mut self, _reply: Reply, _cx: &mut Cx) {}
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        let mut col = Col::new(area);
        col.text(frame, ctx.t("staff.starting"), ctx.theme.dim());
    }
}

/// Which half of the sign-in.
#[derive(Debug, Clone)]
pub enum Stage {
    /// Login and password.
    Password,
    /// The app's code, with the half-signed-in token (and whether a passkey is offered too).
    Code(StaffToken, bool),
}

/// The sign-in screen.
#[derive(Debug, Clone)]
pub struct SignInState {
    /// The login.
    pub login: TextInput,
    /// The password (masked).
    pub password: TextInput,
    /// The app's code.
    pub code: TextInput,
    /// Which half.
    pub stage: Stage,
    /// Focused item.
    pub focus: usize,
}

impl Default for SignInState {
    fn default() -> Self {
        Self {
            login: TextInput::new().with_max(64),
            password: TextInput::masked().with_max(128),
            code: code_input(),
            stage: Stage::Password,
            focus: 0,
        }
    }
}

/// A 6-digit code input (digits, full-width digits, spaces and hyphens).
pub fn code_input() -> TextInput {
    TextInput::new()
        .with_max(12)
        .with_filter(|c| c.is_ascii_digit() || c == ' ' || c == '-' || ('０'..='９').contains(&c))
}

/// Labels `labels` share a width: the widest plus a margin.
pub fn label_width(ctx: &Ctx, labels: &[&'static str]) -> u16 {
    let w = labels.iter().map(|k| width(ctx.t(k))).max().unwrap_or(10);
    u16::try_from(w + 3).unwrap_or(20)
}

impl Form for SignInState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        match self.stage {
            Stage::Password => vec![
                Item::Input(InputId::Login),
                Item::Input(InputId::Password),
                Item::Button(Intent::SignIn),
                Item::Button(Intent::ToEnrol),
            ],
            Stage::Code(_, passkey) => {
                let mut v = vec![
                    Item::Input(InputId::Code),
                    Item::Button(Intent::SendCode),
                    Item::Button(Intent::ToSignIn),
                ];
                if passkey {
                    v.push(Item::Button(Intent::UsePasskey));
                }
                v
            }
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
            InputId::Password => Some(&self.password),
            InputId::Code => Some(&self.code),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::Login => Some(&mut self.login),
            InputId::Password => Some(&mut self.password),
            InputId::Code => Some(&mut self.code),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        Some(match self.stage {
            Stage::Password => Intent::SignIn,
            Stage::Code(..) => Intent::SendCode,
        })
    }
}

impl Page for SignInState {
    fn title(&self) -> &'static str {
        "staff.title.sign_in"
    }

    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::SignIn => {
                let login = self.login.value().trim().to_owned();
                let password = self.password.value().to_owned();
                if login.is_empty() {
                    cx.set_error(Field::Login, Tr::new("err.required"));
                }
                if password.is_empty() {
                    cx.set_error(Field::Password, Tr::new("err.required"));
                }
                if !cx.has_errors() {
                    cx.call(StaffCall::SignIn { login, password });
                }
            }
            Intent::SendCode => {
                let Stage::Code(token, _) = &self.stage else {
                    return;
                };
                let code = self.code.value().trim().to_owned();
                if code.is_empty() {
                    cx.set_error(Field::Code, Tr::new("err.required"));
                    return;
                }
                let token = token.clone();
                cx.call(StaffCall::VerifyCode(token, code));
            }
            Intent::ToEnrol => {
                cx.clear_messages();
                let mut e = super::enrol::EnrolState::default();
                e.login.set_value(self.login.value());
                cx.go(Screen::Enrol(Box::new(e)));
            }
            Intent::ToSignIn => {
                cx.clear_messages();
                cx.go(Screen::SignIn(Self::default()));
            }
            Intent::UsePasskey => {
                if let Stage::Code(token, true) = &self.stage {
                    cx.clear_messages();
                    to_passkey(cx, token.clone(), true);
                }
            }
            _ => {}
        }
    }

    fn esc(&self) -> Option<&'static str> {
        matches!(self.stage, Stage::Code(..)).then_some("footer.esc_back")
    }

    fn on_back(&mut self, cx: &mut Cx) {
        if matches!(self.stage, Stage::Code(..)) {
            self.on_intent(Intent::ToSignIn, cx);
        }
    }

    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        match reply {
            Reply::PasswordAccepted(token, factors) => {
                self.password.clear();
                cx.clear_messages();
                let passkey = factors.contains(&StaffFactorKind::Passkey);
                // An answer without the list (an older server) means the app.
                let app =
                    factors.is_empty() || factors.contains(&StaffFactorKind::AuthenticatorApp);
                if passkey && !app {
                    to_passkey(cx, token, false);
                    return;
                }
                self.stage = Stage::Code(token, passkey);
                self.focus = 0;
            }
            Reply::SignedIn(me) => {
                let Stage::Code(token, _) = &self.stage else {
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
        match (e.code, &self.stage) {
            (C::WrongCode | C::CodeUsed | C::CodeExpired | C::ClockSkew, Stage::Code(..)) => {
                self.code.clear();
                cx.set_error(Field::Code, super::super::words::error_message(e));
                true
            }
            // The half-done sign-in timed out, or too many wrong codes: start again.
            (C::StaffSessionExpired | C::TooManyAttempts, Stage::Code(..)) => {
                *self = Self {
                    login: self.login.clone(),
                    ..Self::default()
                };
                cx.set_error(Field::Form, super::super::words::error_message(e));
                true
            }
            _ => false,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        let lang = ctx.lang;
        let mut col = Col::new(area);
        match &self.stage {
            Stage::Password => {
                title(&mut col, frame, ctx, ctx.t("staff.sign_in.heading"));
                col.gap(1);
                let lw = label_width(ctx, &["staff.sign_in.login", "staff.sign_in.password"]);
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
                let err = ctx.error(Field::Password).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t("staff.sign_in.password"),
                    lw,
                    &self.password,
                    30,
                    1,
                    self.focus == 1,
                    err.as_deref(),
                );
                col.gap(1);
                let row = button_row(
                    self,
                    |i| match i {
                        Intent::SignIn => t(lang, "staff.sign_in.submit").to_owned(),
                        _ => t(lang, "staff.sign_in.to_enrol").to_owned(),
                    },
                    &[Intent::SignIn, Intent::ToEnrol],
                );
                col.buttons(frame, ctx, &row);
                col.gap(1);
                col.text(frame, ctx.t("staff.sign_in.note"), ctx.theme.dim());
            }
            Stage::Code(_, passkey) => {
                title(&mut col, frame, ctx, ctx.t("staff.sign_in.code_heading"));
                col.gap(1);
                col.text(frame, ctx.t("staff.sign_in.code_help"), ctx.theme.text());
                col.gap(1);
                let lw = label_width(ctx, &["staff.sign_in.code"]);
                let err = ctx.error(Field::Code).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t("staff.sign_in.code"),
                    lw,
                    &self.code,
                    12,
                    0,
                    self.focus == 0,
                    err.as_deref(),
                );
                col.gap(1);
                let row = button_row(
                    self,
                    |i| match i {
                        Intent::SendCode => t(lang, "staff.sign_in.verify").to_owned(),
                        Intent::UsePasskey => t(lang, "staff.sign_in.use_passkey").to_owned(),
                        _ => t(lang, "staff.sign_in.restart").to_owned(),
                    },
                    if *passkey {
                        &[Intent::SendCode, Intent::ToSignIn, Intent::UsePasskey][..]
                    } else {
                        &[Intent::SendCode, Intent::ToSignIn][..]
                    },
                );
                col.buttons(frame, ctx, &row);
            }
        }
    }
}

/// To the passkey screen for the sign-in's second factor (the transports probed first).
fn to_passkey(cx: &mut Cx, token: StaffToken, has_app: bool) {
    use super::passkey::{PasskeyState, Purpose};
    cx.go(Screen::Passkey(Box::new(PasskeyState::new(
        Purpose::SignIn { token, has_app },
    ))));
    cx.push(crate::tui::modes::staff::Command::ProbePasskeys);
}
