//! 【6】【7】 The verification mail was sent: open its link, come back and refresh (更新). The
//! app also checks by itself every few seconds.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Col, Ctx, Form, Intent, Item, button_row, title};
use super::{Cx, Env, InputId, Page, Place};
use crate::api::{FlowView, Step};
use crate::client::ClientError;
use crate::tui::i18n::{Tr, t, tf};
use crate::tui::modes::member::ApiCall;
use crate::tui::modes::member::POLL_SECS;

/// The waiting screen.
#[derive(Debug, Clone, Default)]
pub struct AwaitingState {
    /// Focused item.
    pub focus: usize,
    /// The member pressed 更新 (so "not yet" is said when nothing changed).
    pub refreshed: bool,
    /// A resend is on its way.
    pub resending: bool,
    /// How many times the member pressed 更新 here: each "not yet" says which check it
    /// answers, so a second press that finds nothing new still visibly answers.
    pub checks: u32,
}

impl Form for AwaitingState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Button(Intent::Refresh),
            Item::Button(Intent::Resend),
            Item::Button(Intent::ChangeAddress),
        ]
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
}

/// Draws the waiting screen; `email` is where the mail went, `demo` adds the mailbox hint.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    s: &AwaitingState,
    email: Option<&str>,
    demo: bool,
    ctx: &mut Ctx,
) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("awaiting.title"));
    col.gap(1);
    let to = email.unwrap_or("-");
    col.text(
        frame,
        &tf(lang, "awaiting.sent_to", &[("email", to)]),
        ctx.theme.text(),
    );
    col.text(frame, ctx.t("awaiting.open_link"), ctx.theme.text());
    col.gap(1);
    title(&mut col, frame, ctx, ctx.t("awaiting.title7"));
    col.text(frame, ctx.t("awaiting.press_refresh"), ctx.theme.text());
    col.text(
        frame,
        &tf(lang, "awaiting.auto", &[("secs", &POLL_SECS.to_string())]),
        ctx.theme.dim(),
    );
    col.gap(1);
    let b = button_row(
        s,
        |i| match i {
            Intent::Refresh => t(lang, "awaiting.refresh").to_owned(),
            Intent::Resend => t(lang, "awaiting.resend").to_owned(),
            _ => t(lang, "awaiting.change").to_owned(),
        },
        &[Intent::Refresh, Intent::Resend, Intent::ChangeAddress],
    );
    col.buttons(frame, ctx, &b);
    col.gap(1);
    col.text(frame, ctx.t("awaiting.no_mail"), ctx.theme.dim());
    if demo {
        col.gap(1);
        col.text(frame, ctx.t("awaiting.demo_hint"), ctx.theme.ok());
    }
}

impl Page for AwaitingState {
    fn place(&self) -> Place {
        let n = Step::AwaitingVerification.manual_number().unwrap_or(6);
        Place::first_login("awaiting_verification", (n, n + 1), "step.awaiting")
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::AwaitingVerification
    }
    fn polls(&self) -> bool {
        true
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::Refresh => {
                if let Some(t) = cx.token_or_expire() {
                    cx.polled();
                    self.refreshed = true;
                    self.checks += 1;
                    cx.call(ApiCall::Flow(t));
                }
            }
            Intent::Resend => {
                if let Some(t) = cx.token_or_expire() {
                    self.resending = true;
                    cx.call(ApiCall::ResendEmail(t));
                }
            }
            Intent::ChangeAddress => cx.with_token(ApiCall::Back),
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        Some(super::Esc::Back)
    }
    fn on_back(&mut self, _cx: &mut Cx) -> Option<Intent> {
        Some(Intent::ChangeAddress)
    }
    /// Still waiting: say what the member's 更新 or Resend found.
    fn on_flow(&mut self, view: &FlowView, cx: &mut Cx) -> bool {
        if view.step != Step::AwaitingVerification {
            return false;
        }
        *cx.flow = Some(view.clone());
        if self.resending {
            self.resending = false;
            cx.info("awaiting.resent");
        } else if self.refreshed {
            self.refreshed = false;
            cx.set_info(Tr::new("awaiting.not_yet").arg("n", self.checks.to_string()));
        }
        true
    }
    fn on_error(&mut self, _err: &ClientError, _cx: &mut Cx) -> bool {
        self.resending = false;
        self.refreshed = false;
        false
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env) {
        render(frame, area, self, env.email, env.demo, ctx);
    }
}
