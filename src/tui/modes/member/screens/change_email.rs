//! "Change email" from the top screen: the new address gets a verification link, the old one a
//! notice; the address changes once the link is opened.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Col, Ctx, Field, Form, InputId, Intent, Item, button_row, title};
use super::{Cx, Env, Page, Place};
use crate::api::Step;
use crate::tui::i18n::Tr;
use crate::tui::i18n::t;
use crate::tui::modes::member::ApiCall;
use crate::tui::widgets::{TextInput, width};

/// The change-email screen.
#[derive(Debug, Clone)]
pub struct ChangeEmailState {
    /// The address in use now.
    pub current: String,
    /// The new address.
    pub email: TextInput,
    /// Focused item.
    pub focus: usize,
}

impl ChangeEmailState {
    /// A fresh form for a member whose address is `current`.
    pub fn new(current: String) -> Self {
        Self {
            current,
            email: TextInput::new().with_max(254),
            focus: 0,
        }
    }
}

impl Form for ChangeEmailState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Input(InputId::NewEmail),
            Item::Button(Intent::SubmitChangeEmail),
            Item::Button(Intent::CancelEnroll),
        ]
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        (id == InputId::NewEmail).then_some(&self.email)
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        (id == InputId::NewEmail).then_some(&mut self.email)
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::SubmitChangeEmail)
    }
}

/// Draws the change-email screen.
pub fn render(frame: &mut Frame, area: Rect, s: &ChangeEmailState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("change_email.title"));
    col.gap(1);
    col.text(frame, ctx.t("change_email.explain"), ctx.theme.text());
    col.gap(1);
    let current = t(lang, "change_email.current").replace("{email}", &s.current);
    col.text(frame, &current, ctx.theme.dim());
    col.gap(1);
    let l = ctx.t("change_email.new");
    let lw = u16::try_from(width(l) + 3).unwrap_or(20);
    let err = ctx.error(Field::Email).map(str::to_owned);
    col.field(
        frame,
        ctx,
        l,
        lw,
        &s.email,
        40,
        0,
        s.focus == 0,
        err.as_deref(),
    );
    col.gap(1);
    let b = button_row(
        s,
        |i| match i {
            Intent::SubmitChangeEmail => t(lang, "change_email.submit").to_owned(),
            _ => t(lang, "change_email.back").to_owned(),
        },
        &[Intent::SubmitChangeEmail, Intent::CancelEnroll],
    );
    col.buttons(frame, ctx, &b);
}

impl Page for ChangeEmailState {
    fn place(&self) -> Place {
        Place::portal("change_email", "step.home")
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::Home
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::SubmitChangeEmail => {
                let email = self.email.value().trim().to_owned();
                if email.is_empty() {
                    cx.set_error(Field::Email, Tr::new("err.invalid_email"));
                    return;
                }
                cx.with_token(|t| ApiCall::ChangeEmail(t, email));
            }
            Intent::CancelEnroll => cx.go_home(),
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        Some(super::Esc::Back)
    }
    fn on_back(&mut self, cx: &mut Cx) -> Option<Intent> {
        cx.go_home();
        None
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}
