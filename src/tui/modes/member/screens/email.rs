//! 【5】 Confirm the email address on file, or change it (optional).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Col, Ctx, Field, Form, InputId, Intent, Item, button_row, title};
use super::{Cx, Env, Page, Place, one};
use crate::api::Step;
use crate::domain::EmailAddress;
use crate::tui::i18n::Tr;
use crate::tui::i18n::t;
use crate::tui::modes::member::ApiCall;
use crate::tui::widgets::{TextInput, width};

/// The email screen.
#[derive(Debug, Clone)]
pub struct EmailState {
    /// A new address (optional).
    pub new_email: TextInput,
    /// Focused item.
    pub focus: usize,
}

impl EmailState {
    /// Empty.
    pub fn new() -> Self {
        Self {
            new_email: TextInput::new()
                .with_max(254)
                .with_filter(|c| c.is_ascii_graphic()),
            focus: 0,
        }
    }
}

impl Default for EmailState {
    fn default() -> Self {
        Self::new()
    }
}

impl Form for EmailState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Button(Intent::ConfirmEmail),
            Item::Input(InputId::NewEmail),
            Item::Button(Intent::ChangeEmail),
        ]
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        (id == InputId::NewEmail).then_some(&self.new_email)
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        (id == InputId::NewEmail).then_some(&mut self.new_email)
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::ChangeEmail)
    }
}

/// Draws the email screen; `on_file` is the address the server has.
pub fn render(frame: &mut Frame, area: Rect, s: &EmailState, on_file: Option<&str>, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("email.title"));
    col.gap(1);
    col.line(
        frame,
        Line::from(vec![
            Span::raw(ctx.t("email.on_file")),
            Span::raw(" "),
            Span::styled(
                on_file.unwrap_or_else(|| t(lang, "email.none")).to_owned(),
                ctx.theme.title(),
            ),
        ]),
    );
    col.text(frame, ctx.t("email.confirm_explain"), ctx.theme.text());
    let b = button_row(
        s,
        |_| t(lang, "email.confirm").to_owned(),
        &[Intent::ConfirmEmail],
    );
    col.buttons(frame, ctx, &b);
    col.gap(1);
    col.text(frame, ctx.t("email.change_explain"), ctx.theme.text());
    let label = ctx.t("email.new_label");
    let lw = u16::try_from(width(label) + 3).unwrap_or(20);
    let err = ctx.error(Field::Email).map(str::to_owned);
    col.field(
        frame,
        ctx,
        label,
        lw,
        &s.new_email,
        40,
        1,
        s.focus == 1,
        err.as_deref(),
    );
    let b = button_row(
        s,
        |_| t(lang, "email.execute").to_owned(),
        &[Intent::ChangeEmail],
    );
    col.buttons(frame, ctx, &b);
    col.gap(1);
    col.text(frame, ctx.t("email.optional"), ctx.theme.dim());
}

impl Page for EmailState {
    fn place(&self) -> Place {
        Place::first_login("email", one(Step::Email), "step.email")
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::Email
    }
    fn error_field(&self) -> Field {
        Field::Email
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::ConfirmEmail => cx.with_token(|t| ApiCall::SubmitEmail(t, None)),
            Intent::ChangeEmail => {
                let raw = self.new_email.value().trim().to_owned();
                if raw.is_empty() {
                    cx.set_error(Field::Email, Tr::new("err.required"));
                    return;
                }
                match EmailAddress::parse(&raw) {
                    Ok(addr) => {
                        cx.with_token(|t| ApiCall::SubmitEmail(t, Some(addr.as_str().to_owned())))
                    }
                    Err(_) => cx.set_error(Field::Email, Tr::new("err.invalid_email")),
                }
            }
            _ => {}
        }
    }
    fn on_back(&mut self, cx: &mut Cx) -> Option<Intent> {
        cx.info("msg.no_back");
        None
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env) {
        render(frame, area, self, env.email, ctx);
    }
}
