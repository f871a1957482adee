//! 【10】 First login complete; 【11】 signed out, with the instruction to sign in again and set
//! up the chosen method.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::choose_method::method_key;
use super::{Col, Ctx, Form, Intent, Item, button_row, title};
use super::{Cx, Env, InputId, Page, Place, one};
use crate::api::Method;
use crate::api::Step;
use crate::tui::i18n::{t, tf};
use crate::tui::modes::member::ApiCall;

/// Which part of the end the member sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletePhase {
    /// 【10】 Complete; sign out next.
    Done,
    /// 【11】 Signed out.
    SignedOut,
    /// The member's first login was already done: setting up the method (stage 2) is not in
    /// this version yet.
    NotAvailable,
}

/// The end screen.
#[derive(Debug, Clone)]
pub struct CompleteState {
    /// Which part.
    pub phase: CompletePhase,
    /// The method chosen.
    pub method: Option<Method>,
    /// Focused item.
    pub focus: usize,
    /// The user ID the member set at 【9】, when it changed (as stored: lower case).
    pub new_user_id: Option<String>,
}

impl CompleteState {
    /// A new end screen.
    pub fn new(phase: CompletePhase, method: Option<Method>) -> Self {
        Self {
            phase,
            method,
            focus: 0,
            new_user_id: None,
        }
    }
}

impl Form for CompleteState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        match self.phase {
            CompletePhase::Done | CompletePhase::NotAvailable => {
                vec![Item::Button(Intent::SignOut)]
            }
            CompletePhase::SignedOut => {
                vec![
                    Item::Button(Intent::SignInAgain),
                    Item::Button(Intent::Quit),
                ]
            }
        }
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
}

/// Draws the end screen.
pub fn render(frame: &mut Frame, area: Rect, s: &CompleteState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let method = s
        .method
        .map(|m| t(lang, method_key(m)))
        .unwrap_or_else(|| t(lang, "complete.method_unknown"));
    let mut col = Col::new(area);
    match s.phase {
        CompletePhase::Done => {
            title(&mut col, frame, ctx, ctx.t("complete.title"));
            col.gap(1);
            col.text(
                frame,
                &tf(lang, "complete.chosen", &[("method", method)]),
                ctx.theme.text(),
            );
            new_user_id(frame, &mut col, s, ctx);
            col.gap(1);
            title(&mut col, frame, ctx, ctx.t("complete.title11"));
            col.text(frame, ctx.t("complete.sign_out_explain"), ctx.theme.text());
            col.gap(1);
            let b = button_row(
                s,
                |_| t(lang, "complete.sign_out").to_owned(),
                &[Intent::SignOut],
            );
            col.buttons(frame, ctx, &b);
        }
        CompletePhase::SignedOut => {
            title(&mut col, frame, ctx, ctx.t("complete.signed_out_title"));
            col.gap(1);
            col.text(
                frame,
                &tf(lang, "complete.next", &[("method", method)]),
                ctx.theme.text(),
            );
            new_user_id(frame, &mut col, s, ctx);
            col.gap(1);
            col.text(frame, ctx.t("complete.warning"), ctx.theme.error());
            col.gap(1);
            let b = button_row(
                s,
                |i| match i {
                    Intent::SignInAgain => t(lang, "complete.sign_in_again").to_owned(),
                    _ => t(lang, "common.quit").to_owned(),
                },
                &[Intent::SignInAgain, Intent::Quit],
            );
            col.buttons(frame, ctx, &b);
        }
        CompletePhase::NotAvailable => {
            title(&mut col, frame, ctx, ctx.t("complete.stage2_title"));
            col.gap(1);
            col.text(
                frame,
                &tf(lang, "complete.stage2", &[("method", method)]),
                ctx.theme.text(),
            );
            col.gap(1);
            let b = button_row(
                s,
                |_| t(lang, "complete.sign_out").to_owned(),
                &[Intent::SignOut],
            );
            col.buttons(frame, ctx, &b);
        }
    }
}

/// The new user ID and where it was mailed, when the member changed it.
fn new_user_id(frame: &mut Frame, col: &mut Col, s: &CompleteState, ctx: &mut Ctx) {
    if let Some(id) = &s.new_user_id {
        let line = tf(ctx.lang, "complete.new_user_id", &[("user_id", id)]);
        col.text(frame, &line, ctx.theme.title());
        col.text(frame, ctx.t("complete.new_user_id_note"), ctx.theme.text());
    }
}

impl Page for CompleteState {
    fn place(&self) -> Place {
        let (name, steps) = match self.phase {
            CompletePhase::Done => ("complete", one(Step::Complete)),
            CompletePhase::SignedOut => ("signed_out", (11, 11)),
            CompletePhase::NotAvailable => ("method_unavailable", one(Step::Complete)),
        };
        Place::first_login(name, steps, "step.complete")
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            // 【10】→【11】
            Intent::SignOut => {
                self.phase = CompletePhase::SignedOut;
                self.focus = 0;
                if let Some(t) = cx.token.take() {
                    cx.call(ApiCall::SignOut(t));
                }
            }
            Intent::SignInAgain => cx.back_to_sign_in(None),
            Intent::Quit => cx.quit(),
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        (self.phase == CompletePhase::SignedOut).then_some(super::Esc::Back)
    }
    fn on_back(&mut self, _cx: &mut Cx) -> Option<Intent> {
        (self.phase == CompletePhase::SignedOut).then_some(Intent::SignInAgain)
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}
