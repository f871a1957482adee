//! 【2】 Sign in with the user ID and the (initial) password.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::recover::{RecoverKind, RecoverState};
use super::{Col, Ctx, Field, Form, InputId, Intent, Item, button_row, title};
use super::{Cx, Env, Page, Place, Screen, one};
use crate::api::Step;
use crate::tui::i18n::Tr;
use crate::tui::i18n::t;
use crate::tui::modes::member::ApiCall;
use crate::tui::widgets::{TextInput, width};

/// The sign-in screen.
#[derive(Debug, Clone)]
pub struct SignInState {
    /// The user ID.
    pub user_id: TextInput,
    /// The password (masked unless revealed).
    pub password: TextInput,
    /// Focused item.
    pub focus: usize,
    /// Signed out after the first login: the portal's sign-in, not step 【2】 of the first one.
    pub returning: bool,
}

impl Default for SignInState {
    fn default() -> Self {
        Self {
            user_id: TextInput::new().with_max(64),
            password: TextInput::masked().with_max(128),
            focus: 0,
            returning: false,
        }
    }
}

impl Form for SignInState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Input(InputId::UserId),
            Item::Input(InputId::Password),
            Item::Button(Intent::SignIn),
            Item::Button(Intent::ToggleReveal),
            Item::Button(Intent::ForgotId),
            Item::Button(Intent::ForgotPassword),
        ]
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        match id {
            InputId::UserId => Some(&self.user_id),
            InputId::Password => Some(&self.password),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::UserId => Some(&mut self.user_id),
            InputId::Password => Some(&mut self.password),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::SignIn)
    }
}

/// Draws the sign-in screen.
pub fn render(frame: &mut Frame, area: Rect, s: &SignInState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("sign_in.title"));
    col.gap(1);
    let l_id = ctx.t("sign_in.user_id");
    let l_pw = ctx.t("sign_in.password");
    let lw = u16::try_from(width(l_id).max(width(l_pw)) + 3).unwrap_or(20);
    let err_id = ctx.error(Field::UserId).map(str::to_owned);
    let err_pw = ctx.error(Field::Password).map(str::to_owned);
    col.field(
        frame,
        ctx,
        l_id,
        lw,
        &s.user_id,
        30,
        0,
        s.focus == 0,
        err_id.as_deref(),
    );
    col.field(
        frame,
        ctx,
        l_pw,
        lw,
        &s.password,
        30,
        1,
        s.focus == 1,
        err_pw.as_deref(),
    );
    col.gap(1);
    let reveal = if s.password.revealed {
        "sign_in.hide"
    } else {
        "sign_in.show"
    };
    let row1 = button_row(
        s,
        |i| match i {
            Intent::SignIn => t(lang, "sign_in.submit").to_owned(),
            _ => t(lang, reveal).to_owned(),
        },
        &[Intent::SignIn, Intent::ToggleReveal],
    );
    col.buttons(frame, ctx, &row1);
    let row2 = button_row(
        s,
        |i| match i {
            Intent::ForgotId => t(lang, "sign_in.forgot_id").to_owned(),
            _ => t(lang, "sign_in.forgot_password").to_owned(),
        },
        &[Intent::ForgotId, Intent::ForgotPassword],
    );
    col.buttons(frame, ctx, &row2);
    col.gap(1);
    col.text(frame, ctx.t("sign_in.note1"), ctx.theme.dim());
    col.text(frame, ctx.t("sign_in.note2"), ctx.theme.dim());
    col.text(frame, ctx.t("sign_in.note2_example"), ctx.theme.dim());
    col.text(frame, ctx.t("sign_in.note2_where"), ctx.theme.dim());
}

impl Page for SignInState {
    fn place(&self) -> Place {
        if self.returning {
            return Place::portal("sign_in", "step.sign_in");
        }
        Place::first_login("sign_in", one(Step::SignIn), "step.sign_in")
    }
    fn error_field(&self) -> Field {
        Field::Password
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::SignIn => {
                let user_id = self.user_id.value().trim().to_owned();
                let password = self.password.value().to_owned();
                if user_id.is_empty() {
                    cx.set_error(Field::UserId, Tr::new("err.required"));
                }
                if password.is_empty() {
                    cx.set_error(Field::Password, Tr::new("err.required"));
                }
                if cx.has_errors() {
                    return;
                }
                let lang = cx.lang();
                cx.call(ApiCall::SignIn {
                    user_id,
                    password,
                    lang,
                });
            }
            Intent::ToggleReveal => self.password.revealed = !self.password.revealed,
            Intent::ForgotId | Intent::ForgotPassword => {
                cx.clear_messages();
                let kind = if intent == Intent::ForgotId {
                    RecoverKind::UserId
                } else {
                    RecoverKind::Password
                };
                cx.go(Screen::Recover(RecoverState::new(kind)));
            }
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        Some(super::Esc::Back)
    }
    fn on_back(&mut self, cx: &mut Cx) -> Option<Intent> {
        cx.clear_messages();
        cx.go(Screen::Welcome(Default::default()));
        None
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}
