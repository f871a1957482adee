//! After the password: the one-time password from one of the member's authenticator apps
//! (manual 2-3 【8】, 2-4 【7】).

use ratatui::Frame;
use ratatui::layout::Rect;

use super::totp_enroll::{code_input, render_hints};
use super::{Col, Ctx, Field, Form, InputId, Intent, Item, button_row, title};
use super::{Cx, Env, Page, Place, is_code_error};
use crate::api::{Method, Step};

/// The label of the button that proves `m` instead.
pub fn use_factor_key(m: Method) -> &'static str {
    match m {
        Method::TotpApp => "second_factor.use_app",
        Method::EmailOtp => "second_factor.use_email",
        Method::Passkey => "passkey.use_instead",
    }
}
use crate::client::ClientError;
use crate::tui::i18n::t;
use crate::tui::modes::member::ApiCall;
use crate::tui::modes::member::screens::passkey::PasskeyPurpose;
use crate::tui::widgets::{TextInput, width};

/// The second-factor screen.
#[derive(Debug, Clone)]
pub struct SecondFactorState {
    /// The code.
    pub code: TextInput,
    /// Focused item.
    pub focus: usize,
    /// A code was refused: the FAQ hints are shown.
    pub failed: bool,
    /// The kinds of second factor the member has (from the server; empty when it did not say).
    pub kinds: Vec<Method>,
}

impl SecondFactorState {
    /// The app's code screen, offering the member's other `kinds` of second factor.
    pub fn with_kinds(kinds: Vec<Method>) -> Self {
        Self {
            kinds,
            ..Self::default()
        }
    }

    /// The buttons besides the code's: the member's other factors (the passkey when the server
    /// did not list them), and signing out.
    fn buttons(&self) -> Vec<Intent> {
        let mut v = vec![Intent::VerifyTotp];
        if self.kinds.is_empty() {
            v.push(Intent::PasskeySignIn);
        } else {
            v.extend(
                self.kinds
                    .iter()
                    .filter(|k| **k != Method::TotpApp)
                    .map(|k| Intent::UseFactor(*k)),
            );
        }
        v.push(Intent::SignOut);
        v
    }
}

impl Default for SecondFactorState {
    fn default() -> Self {
        Self {
            code: code_input(),
            focus: 0,
            failed: false,
            kinds: Vec::new(),
        }
    }
}

impl Form for SecondFactorState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        let mut v = vec![Item::Input(InputId::TotpCode)];
        v.extend(self.buttons().into_iter().map(Item::Button));
        v
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        (id == InputId::TotpCode).then_some(&self.code)
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        (id == InputId::TotpCode).then_some(&mut self.code)
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::VerifyTotp)
    }
}

/// Draws the second-factor screen.
pub fn render(frame: &mut Frame, area: Rect, s: &SecondFactorState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("second_factor.title"));
    col.gap(1);
    col.text(frame, ctx.t("second_factor.explain"), ctx.theme.text());
    col.gap(1);
    let l_code = ctx.t("totp.code");
    let lw = u16::try_from(width(l_code) + 3).unwrap_or(20);
    let err = ctx.error(Field::TotpCode).map(str::to_owned);
    col.field(
        frame,
        ctx,
        l_code,
        lw,
        &s.code,
        10,
        0,
        s.focus == 0,
        err.as_deref(),
    );
    col.hint(frame, ctx, lw, "totp.code_hint");
    col.gap(1);
    let b = button_row(
        s,
        |i| match i {
            Intent::VerifyTotp => t(lang, "second_factor.submit").to_owned(),
            Intent::PasskeySignIn | Intent::UseFactor(Method::Passkey) => {
                t(lang, "passkey.use_instead").to_owned()
            }
            Intent::UseFactor(m) => t(lang, use_factor_key(m)).to_owned(),
            _ => t(lang, "second_factor.cancel").to_owned(),
        },
        &s.buttons(),
    );
    col.buttons(frame, ctx, &b);
    if s.failed {
        col.gap(1);
        render_hints(frame, &mut col, ctx);
    }
}

impl Page for SecondFactorState {
    fn place(&self) -> Place {
        Place::portal("second_factor", "step.second_factor")
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::SecondFactor
    }
    fn error_field(&self) -> Field {
        Field::TotpCode
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::VerifyTotp => cx.send_code(self.code.value(), ApiCall::VerifyTotp),
            Intent::PasskeySignIn => cx.open_passkey(PasskeyPurpose::SignIn, false),
            Intent::UseFactor(m) => cx.use_factor(m),
            Intent::SignOut => cx.sign_out(),
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        Some(super::Esc::SignOut)
    }
    fn on_back(&mut self, _cx: &mut Cx) -> Option<Intent> {
        Some(Intent::SignOut)
    }
    /// The manual's FAQ: enter the newest code; so the old one is cleared.
    fn on_error(&mut self, err: &ClientError, _cx: &mut Cx) -> bool {
        if let ClientError::Api(e) = err
            && is_code_error(e.code)
        {
            self.failed = true;
            self.code.clear();
            self.focus = 0;
        }
        false
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}
