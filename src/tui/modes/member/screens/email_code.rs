//! The email one-time password (manual 2-5 【3】): at the method's set-up and after the password
//! at sign-in. The code is mailed when the screen opens; Resend sends another after the cooldown.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::totp_enroll::code_input;
use super::{Col, Ctx, Field, Form, InputId, Intent, Item, button_row, title};
use super::{Cx, Env, Page, Place};
use crate::api::Method;
use crate::api::{ErrorCode, Step};
use crate::client::ClientError;
use crate::tui::i18n::Tr;
use crate::tui::i18n::t;
use crate::tui::modes::member::{ApiCall, Reply};
use crate::tui::widgets::{TextInput, width};

/// Why the code is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailCodeUse {
    /// Setting the method up (stage 2).
    Setup,
    /// The second factor after the password.
    SignIn,
}

/// The email-code screen.
#[derive(Debug, Clone)]
pub struct EmailCodeState {
    /// Set-up or sign-in.
    pub usage: EmailCodeUse,
    /// The code.
    pub code: TextInput,
    /// Focused item.
    pub focus: usize,
    /// Where the code went (masked), once the server said so.
    pub sent_to: Option<String>,
    /// At sign-in: the member's other kinds of second factor, offered instead.
    pub others: Vec<Method>,
    /// How many minutes the last code works from its sending.
    pub valid_minutes: Option<u64>,
    /// With "change method": the second factors the member had before (kind and id), offered
    /// for removal once the code is set up.
    pub replaces: Vec<(Method, i64)>,
}

impl EmailCodeState {
    /// A fresh screen (the code is being sent).
    pub fn new(usage: EmailCodeUse) -> Self {
        Self {
            usage,
            code: code_input(),
            focus: 0,
            sent_to: None,
            others: Vec::new(),
            valid_minutes: None,
            replaces: Vec::new(),
        }
    }

    /// The buttons: check, resend, the member's other factors, sign out.
    fn buttons(&self) -> Vec<Intent> {
        let mut v = vec![Intent::VerifyEmailCode, Intent::ResendEmailCode];
        v.extend(self.others.iter().map(|m| Intent::UseFactor(*m)));
        v.push(Intent::SignOut);
        v
    }
}

impl Form for EmailCodeState {
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
        Some(Intent::VerifyEmailCode)
    }
}

/// Draws the email-code screen.
pub fn render(frame: &mut Frame, area: Rect, s: &EmailCodeState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    let heading = match s.usage {
        EmailCodeUse::Setup => "email_otp.title_setup",
        EmailCodeUse::SignIn => "email_otp.title",
    };
    title(&mut col, frame, ctx, ctx.t(heading));
    col.gap(1);
    col.text(frame, ctx.t("email_otp.explain"), ctx.theme.text());
    let sent = match &s.sent_to {
        Some(to) => t(lang, "email_otp.sent_to").replace("{email}", to),
        None => t(lang, "email_otp.sending").to_owned(),
    };
    col.text(frame, &sent, ctx.theme.dim());
    col.gap(1);
    let l_code = ctx.t("email_otp.code");
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
    col.hint(frame, ctx, lw, "email_otp.code_hint");
    col.gap(1);
    let b = button_row(
        s,
        |i| match i {
            Intent::VerifyEmailCode => t(lang, "email_otp.submit").to_owned(),
            Intent::ResendEmailCode => t(lang, "email_otp.resend").to_owned(),
            Intent::UseFactor(m) => t(lang, super::second_factor::use_factor_key(m)).to_owned(),
            _ => t(lang, "email_otp.cancel").to_owned(),
        },
        &s.buttons(),
    );
    col.buttons(frame, ctx, &b);
}

impl Page for EmailCodeState {
    fn place(&self) -> Place {
        match self.usage {
            EmailCodeUse::Setup => Place::portal("email_code_setup", "step.method_setup"),
            EmailCodeUse::SignIn => Place::portal("email_code", "step.second_factor"),
        }
    }
    fn shows(&self, step: Step) -> bool {
        matches!(step, Step::MethodSetup | Step::SecondFactor)
    }
    fn error_field(&self) -> Field {
        Field::TotpCode
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::VerifyEmailCode => cx.send_code(self.code.value(), ApiCall::VerifyEmailCode),
            Intent::ResendEmailCode => cx.with_token(ApiCall::SendEmailCode),
            Intent::SignOut => cx.sign_out(),
            Intent::UseFactor(m) => cx.use_factor(m),
            _ => {}
        }
    }
    fn esc(&self, step: Option<Step>) -> Option<super::Esc> {
        Some(if step == Some(Step::Home) {
            super::Esc::Back
        } else {
            super::Esc::SignOut
        })
    }
    fn on_back(&mut self, cx: &mut Cx) -> Option<Intent> {
        // Adding the emailed code from the top screen: back to it.
        if cx.flow.as_ref().is_some_and(|f| f.step == Step::Home) {
            cx.go_home();
            return None;
        }
        Some(Intent::SignOut)
    }
    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        if let Reply::EmailCodeSent(to, secs) = reply {
            let again = self.sent_to.is_some();
            self.sent_to = Some(to);
            self.valid_minutes = Some(secs.div_ceil(60));
            self.code.clear();
            self.focus = 0;
            if again {
                cx.info("email_otp.resent");
            }
        }
    }
    /// An emailed code has its own wording (no device, no 30-second step).
    fn on_error(&mut self, err: &ClientError, cx: &mut Cx) -> bool {
        let ClientError::Api(e) = err else {
            return false;
        };
        if e.code == ErrorCode::ResendCooldown
            && let Some(minutes) = self.valid_minutes
        {
            // Asked again too soon: the code already sent is the one to type.
            let secs = e.retry_after_secs.unwrap_or(60).to_string();
            cx.set_error(
                Field::Form,
                Tr::new("email_otp.still_valid")
                    .arg("minutes", minutes.to_string())
                    .arg("secs", secs),
            );
            return true;
        }
        let key = match e.code {
            ErrorCode::WrongCode => "email_otp.wrong",
            ErrorCode::CodeExpired => "email_otp.expired",
            _ => return false,
        };
        self.code.clear();
        self.focus = if e.code == ErrorCode::WrongCode { 0 } else { 2 };
        cx.set_error(Field::TotpCode, Tr::new(key));
        true
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}
