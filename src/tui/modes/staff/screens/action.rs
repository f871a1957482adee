//! An action on the member: the reason first (and the new address, or the factor chosen on the
//! case), sent with the case's version. A refused stale view reloads the case and shows what
//! changed. An enrolment pass is shown once, large and grouped for reading over the phone, and
//! is gone when the dialog closes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use zeroize::Zeroizing;

use super::case::{CaseState, draw_summary};
use super::sign_in::label_width;
use super::{
    Col, Ctx, Cx, Env, Field, Form, InputId, Intent, Item, Page, Screen, button_row, title,
};
use crate::api::ApiError;
use crate::api::helpdesk::{StaffAction, StaffActionRequest, StaffChange};
use crate::domain::helpdesk::enrolment_pass;
use crate::tui::i18n::{Tr, t, tf};
use crate::tui::modes::staff::api::{Reply, StaffCall};
use crate::tui::modes::staff::words::{action_key, elapsed_text, method_key};
use crate::tui::widgets::TextInput;

/// The action dialog over a case.
#[derive(Debug, Clone)]
pub struct ActionState {
    /// The case acted on.
    pub case: CaseState,
    /// What.
    pub action: StaffAction,
    /// Why.
    pub reason: TextInput,
    /// The new address (change of address only).
    pub email: TextInput,
    /// The issued pass and its lifetime, while shown.
    pub pass: Option<(Zeroizing<String>, Option<u64>)>,
    /// The action was refused as stale: the reload in flight shows what changed.
    pub stale: bool,
    /// Focused item.
    pub focus: usize,
}

impl ActionState {
    /// The dialog for `action` on `case`.
    pub fn new(case: CaseState, action: StaffAction) -> Self {
        Self {
            case,
            action,
            reason: TextInput::new().with_max(200),
            email: TextInput::new().with_max(254),
            pass: None,
            stale: false,
            focus: 0,
        }
    }

    fn change(&self) -> Option<StaffChange> {
        Some(match self.action {
            StaffAction::Unlock => StaffChange::Unlock,
            StaffAction::ResendVerification => StaffChange::ResendVerification,
            StaffAction::SignOutEverywhere => StaffChange::SignOutEverywhere,
            StaffAction::RemoveFactor => {
                let f = self.case.case.factors.get(self.case.factor)?;
                StaffChange::RemoveFactor {
                    method: f.method,
                    id: f.id,
                }
            }
            StaffAction::ChangeEmail => StaffChange::ChangeEmail {
                email: self.email.value().trim().to_owned(),
            },
            StaffAction::IssueEnrolmentPass => StaffChange::IssueEnrolmentPass,
        })
    }

    fn back_to_case(&self, cx: &mut Cx) {
        cx.go(Screen::Case(Box::new(self.case.clone())));
    }
}

impl Form for ActionState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        if self.pass.is_some() {
            return vec![Item::Button(Intent::Cancel)];
        }
        let mut items = Vec::new();
        if self.action == StaffAction::ChangeEmail {
            items.push(Item::Input(InputId::Email));
        }
        items.extend([
            Item::Input(InputId::Reason),
            Item::Button(Intent::Confirm),
            Item::Button(Intent::Cancel),
        ]);
        items
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        match id {
            InputId::Reason => Some(&self.reason),
            InputId::Email => Some(&self.email),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::Reason => Some(&mut self.reason),
            InputId::Email => Some(&mut self.email),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::Confirm)
    }
}

impl Page for ActionState {
    fn title(&self) -> &'static str {
        "staff.title.action"
    }

    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::Confirm if self.pass.is_none() => {
                let reason = self.reason.value().trim().to_owned();
                if self.action == StaffAction::ChangeEmail && self.email.value().trim().is_empty() {
                    cx.set_error(Field::Email, Tr::new("err.required"));
                }
                if reason.is_empty() {
                    cx.set_error(Field::Reason, Tr::new("staff.action.reason_required"));
                }
                if cx.has_errors() {
                    return;
                }
                let (Some(change), Some(token)) = (self.change(), cx.session.token.clone()) else {
                    return;
                };
                let request = StaffActionRequest {
                    version: self.case.case.version.clone(),
                    reason,
                    change,
                };
                cx.call(StaffCall::Act(
                    token,
                    self.case.case.user_id.clone(),
                    request,
                ));
            }
            Intent::Cancel => self.on_back(cx),
            _ => {}
        }
    }

    fn esc(&self) -> Option<&'static str> {
        Some(if self.pass.is_some() {
            "footer.esc_close"
        } else {
            "footer.esc_cancel"
        })
    }

    fn on_back(&mut self, cx: &mut Cx) {
        // Closing drops the pass: it is never shown again.
        self.pass = None;
        if cx.shell.banner.as_ref().is_none_or(|b| b.error) {
            cx.clear_messages();
        }
        self.back_to_case(cx);
    }

    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        match reply {
            Reply::Done(done) => {
                let done = *done;
                self.case.replace(done.case.clone(), cx.shell.ticks, false);
                self.case.changes.clear();
                match done.enrolment_pass.clone() {
                    Some(pass) => {
                        self.pass = Some((Zeroizing::new(pass), done.pass_expires_in_secs));
                        self.focus = 0;
                        cx.shell.info("staff.action.pass_issued");
                    }
                    None => {
                        self.back_to_case(cx);
                        cx.shell.info("staff.action.done");
                    }
                }
            }
            // A live change while the dialog is open: the dialog keeps the view it was opened
            // on (the server will refuse it as stale) and says what changed.
            Reply::Case(case) if !self.stale && case.user_id == self.case.case.user_id => {
                self.case.changes = super::case::changes(&self.case.case, &case);
                self.case.live_reload = false;
            }
            Reply::Case(case) if self.stale && case.user_id == self.case.case.user_id => {
                self.stale = false;
                self.case.replace(*case, cx.shell.ticks, true);
                self.back_to_case(cx);
                cx.set_error(Field::Form, Tr::new("err.stale_view"));
            }
            _ => {}
        }
    }

    fn on_error(&mut self, e: &ApiError, cx: &mut Cx) -> bool {
        use crate::api::ErrorCode as C;
        match e.code {
            C::StaleView => {
                let Some(token) = cx.session.token.clone() else {
                    return false;
                };
                self.stale = true;
                cx.call(StaffCall::Case(token, self.case.case.user_id.clone()));
                true
            }
            C::InvalidEmail => {
                cx.set_error(
                    Field::Email,
                    crate::tui::modes::staff::words::error_message(e),
                );
                true
            }
            _ => false,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env) {
        let lang = ctx.lang;
        let mut col = Col::new(area);
        if let Some((pass, ttl)) = &self.pass {
            title(&mut col, frame, ctx, ctx.t("staff.pass.heading"));
            col.gap(1);
            col.text(frame, ctx.t("staff.pass.read_out"), ctx.theme.text());
            col.gap(1);
            // Large: every character spaced, the two groups apart, on a reversed band.
            let grouped = enrolment_pass::display(pass);
            let big: String = grouped
                .chars()
                .map(|c| {
                    if c == '-' {
                        "   ".to_owned()
                    } else {
                        format!(" {c} ")
                    }
                })
                .collect();
            let band = " ".repeat(crate::tui::widgets::width(&big) + 4);
            col.line(
                frame,
                Line::from(Span::styled(band.clone(), ctx.theme.focus())),
            );
            col.line(
                frame,
                Line::from(Span::styled(format!("  {big}  "), ctx.theme.focus())),
            );
            col.line(frame, Line::from(Span::styled(band, ctx.theme.focus())));
            col.gap(1);
            if let Some(ttl) = ttl {
                let left = elapsed_text(lang, i64::try_from(*ttl).unwrap_or(0));
                col.text(
                    frame,
                    &tf(lang, "staff.pass.valid", &[("for", &left)]),
                    ctx.theme.dim(),
                );
            }
            col.text(frame, ctx.t("staff.pass.once"), ctx.theme.dim());
            col.gap(1);
            let row = button_row(
                self,
                |_| t(lang, "staff.pass.done").to_owned(),
                &[Intent::Cancel],
            );
            col.buttons(frame, ctx, &row);
            return;
        }
        draw_summary(frame, &mut col, ctx, &self.case, env);
        if !self.case.changes.is_empty() {
            let what: Vec<&str> = self.case.changes.iter().map(|k| t(lang, k)).collect();
            col.text(
                frame,
                &tf(
                    lang,
                    "staff.case.what_changed",
                    &[("what", &what.join(", "))],
                ),
                ctx.theme.error(),
            );
        }
        col.gap(1);
        title(&mut col, frame, ctx, t(lang, action_key(self.action)));
        let what = match self.action {
            StaffAction::RemoveFactor => match self.case.case.factors.get(self.case.factor) {
                Some(f) => tf(
                    lang,
                    "staff.action.remove_what",
                    &[("method", t(lang, method_key(f.method))), ("name", &f.name)],
                ),
                None => String::new(),
            },
            StaffAction::Unlock => t(lang, "staff.action.unlock_what").to_owned(),
            StaffAction::ResendVerification => t(lang, "staff.action.resend_what").to_owned(),
            StaffAction::SignOutEverywhere => t(lang, "staff.action.sign_out_what").to_owned(),
            StaffAction::ChangeEmail => t(lang, "staff.action.change_email_what").to_owned(),
            StaffAction::IssueEnrolmentPass => t(lang, "staff.action.pass_what").to_owned(),
        };
        col.text(frame, &what, ctx.theme.text());
        let lw = label_width(ctx, &["staff.action.reason", "staff.action.email"]);
        for (i, item) in self.items().into_iter().enumerate() {
            if let Item::Input(id) = item {
                let (key, input, field) = match id {
                    InputId::Email => ("staff.action.email", &self.email, Field::Email),
                    _ => ("staff.action.reason", &self.reason, Field::Reason),
                };
                let err = ctx.error(field).map(str::to_owned);
                col.field(
                    frame,
                    ctx,
                    ctx.t(key),
                    lw,
                    input,
                    50,
                    i,
                    self.focus == i,
                    err.as_deref(),
                );
            }
        }
        let row = button_row(
            self,
            |i| match i {
                Intent::Confirm => t(lang, "staff.action.confirm").to_owned(),
                _ => t(lang, "staff.action.cancel").to_owned(),
            },
            &[Intent::Confirm, Intent::Cancel],
        );
        col.buttons(frame, ctx, &row);
        col.text(frame, ctx.t("staff.action.audited"), ctx.theme.dim());
    }
}
