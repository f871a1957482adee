//! Verify the caller, strongest way first: a code from their authenticator app; a code mailed
//! to their verified address and read back; the code their own signed-in screen shows; or
//! date of birth and card number (which unlocks only the low-risk actions).

use ratatui::Frame;
use ratatui::layout::Rect;

use super::case::{CaseState, draw_summary};
use super::sign_in::{code_input, label_width};
use super::{
    Col, Ctx, Cx, Env, Field, Form, InputId, Intent, Item, Page, Screen, button_row, title,
};
use crate::api::ApiError;
use crate::api::helpdesk::{CallerProof, VerifyCallerAnswer, VerifyCallerRequest};
use crate::tui::i18n::{Tr, t, tf};
use crate::tui::modes::staff::api::{Reply, StaffCall};
use crate::tui::modes::staff::words::{error_message, proof_key};
use crate::tui::widgets::TextInput;

/// The verification dialog over a case.
#[derive(Debug, Clone)]
pub struct VerifyState {
    /// The case it is for.
    pub case: CaseState,
    /// The way chosen.
    pub way: Option<CallerProof>,
    /// The code the caller reads out.
    pub code: TextInput,
    /// The caller's date of birth.
    pub birth: TextInput,
    /// The caller's card number.
    pub card: TextInput,
    /// Where the mailed code went (masked), once sent.
    pub sent_to: Option<String>,
    /// Verified: the case is being reloaded (the proof is part of its version), and the
    /// console goes back to it once it is in.
    pub reloading: bool,
    /// Focused item.
    pub focus: usize,
}

impl VerifyState {
    /// The dialog over `case`.
    pub fn new(case: CaseState) -> Self {
        Self {
            case,
            way: None,
            code: code_input(),
            birth: TextInput::new().with_max(10),
            card: TextInput::new().with_max(16),
            sent_to: None,
            reloading: false,
            focus: 0,
        }
    }
}

impl VerifyState {
    /// Back to the case, verified.
    fn back_verified(&mut self, cx: &mut Cx) {
        self.reloading = false;
        cx.go(Screen::Case(Box::new(self.case.clone())));
        cx.shell.info("staff.verify.done");
    }
}

impl Form for VerifyState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        match self.way {
            None => CallerProof::ALL
                .iter()
                .map(|p| Item::Button(Intent::Way(*p)))
                .chain([Item::Button(Intent::Cancel)])
                .collect(),
            Some(CallerProof::MailedCode) if self.sent_to.is_none() => vec![
                Item::Button(Intent::SendMailCode),
                Item::Button(Intent::Cancel),
            ],
            Some(CallerProof::MailedCode) => vec![
                Item::Input(InputId::Code),
                Item::Button(Intent::SubmitVerify),
                Item::Button(Intent::SendMailCode),
                Item::Button(Intent::Cancel),
            ],
            Some(CallerProof::Knowledge) => vec![
                Item::Input(InputId::BirthDate),
                Item::Input(InputId::CardNumber),
                Item::Button(Intent::SubmitVerify),
                Item::Button(Intent::Cancel),
            ],
            Some(_) => vec![
                Item::Input(InputId::Code),
                Item::Button(Intent::SubmitVerify),
                Item::Button(Intent::Cancel),
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
            InputId::Code => Some(&self.code),
            InputId::BirthDate => Some(&self.birth),
            InputId::CardNumber => Some(&self.card),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::Code => Some(&mut self.code),
            InputId::BirthDate => Some(&mut self.birth),
            InputId::CardNumber => Some(&mut self.card),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::SubmitVerify)
    }
}

impl Page for VerifyState {
    fn title(&self) -> &'static str {
        "staff.title.verify"
    }

    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        let Some(token) = cx.session.token.clone() else {
            return;
        };
        let user_id = self.case.case.user_id.clone();
        match intent {
            Intent::Way(p) => {
                cx.clear_messages();
                self.way = Some(p);
                self.focus = 0;
            }
            Intent::SendMailCode => {
                cx.call(StaffCall::Verify(
                    token,
                    user_id,
                    VerifyCallerRequest::SendMailedCode,
                ));
            }
            Intent::SubmitVerify => {
                let code = self.code.value().trim().to_owned();
                let request = match self.way {
                    None => return,
                    Some(CallerProof::Knowledge) => {
                        let birth_date = self.birth.value().trim().to_owned();
                        let card_number = self.card.value().trim().to_owned();
                        if birth_date.is_empty() {
                            cx.set_error(Field::BirthDate, Tr::new("err.required"));
                        }
                        if card_number.is_empty() {
                            cx.set_error(Field::CardNumber, Tr::new("err.required"));
                        }
                        if cx.has_errors() {
                            return;
                        }
                        VerifyCallerRequest::Knowledge {
                            birth_date: normalize_date(&birth_date),
                            card_number,
                        }
                    }
                    Some(_) if code.is_empty() => {
                        cx.set_error(Field::Code, Tr::new("err.required"));
                        return;
                    }
                    Some(CallerProof::AppCode) => VerifyCallerRequest::AppCode { code },
                    Some(CallerProof::MailedCode) => VerifyCallerRequest::MailedCode { code },
                    Some(CallerProof::MemberScreenCode) => {
                        VerifyCallerRequest::MemberScreenCode { code }
                    }
                };
                cx.call(StaffCall::Verify(token, user_id, request));
            }
            Intent::Cancel => self.on_back(cx),
            _ => {}
        }
    }

    fn esc(&self) -> Option<&'static str> {
        Some("footer.esc_back")
    }

    fn on_back(&mut self, cx: &mut Cx) {
        cx.clear_messages();
        if self.way.is_some() {
            self.way = None;
            self.sent_to = None;
            self.code.clear();
            self.focus = 0;
        } else {
            cx.go(Screen::Case(Box::new(self.case.clone())));
        }
    }

    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        match reply {
            Reply::Verified(VerifyCallerAnswer::Verified { verification }) => {
                self.case.case.verification = Some(verification);
                self.case.loaded_at = cx.shell.ticks;
                // The proof (and an app code's "last used") changes the case's version: an
                // action sent with the version from before would be refused as stale.
                match cx.session.token.clone() {
                    Some(token) => {
                        self.reloading = true;
                        cx.call(StaffCall::Case(token, self.case.case.user_id.clone()));
                    }
                    None => self.back_verified(cx),
                }
            }
            Reply::Verified(VerifyCallerAnswer::CodeSent { to, .. }) => {
                self.sent_to = Some(to);
                self.focus = 0;
                cx.shell.info("staff.verify.sent");
            }
            Reply::Case(case) if case.user_id == self.case.case.user_id => {
                self.case.replace(*case, cx.shell.ticks, false);
                if self.reloading {
                    self.back_verified(cx);
                }
            }
            _ => {}
        }
    }

    fn on_error(&mut self, e: &ApiError, cx: &mut Cx) -> bool {
        use crate::api::ErrorCode as C;
        let msg = error_message(e);
        match e.code {
            C::WrongCode | C::CodeUsed | C::CodeExpired | C::ClockSkew => {
                self.code.clear();
                cx.set_error(Field::Code, msg);
            }
            C::WrongBirthDate | C::InvalidBirthDate => cx.set_error(Field::BirthDate, msg),
            _ => return false,
        }
        true
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env) {
        let lang = ctx.lang;
        let mut col = Col::new(area);
        draw_summary(frame, &mut col, ctx, &self.case, env);
        col.gap(1);
        match self.way {
            None => {
                title(&mut col, frame, ctx, ctx.t("staff.verify.choose"));
                let row = button_row(
                    self,
                    |i| match i {
                        Intent::Way(p) => t(lang, proof_key(p)).to_owned(),
                        _ => t(lang, "staff.verify.cancel").to_owned(),
                    },
                    &[
                        Intent::Way(CallerProof::AppCode),
                        Intent::Way(CallerProof::MailedCode),
                        Intent::Way(CallerProof::MemberScreenCode),
                        Intent::Way(CallerProof::Knowledge),
                        Intent::Cancel,
                    ],
                );
                col.buttons(frame, ctx, &row);
                col.text(frame, ctx.t("staff.verify.strength"), ctx.theme.dim());
            }
            Some(way) => {
                title(&mut col, frame, ctx, t(lang, proof_key(way)));
                let help = match way {
                    CallerProof::AppCode => "staff.verify.app_help",
                    CallerProof::MailedCode if self.sent_to.is_none() => "staff.verify.mail_help",
                    CallerProof::MailedCode => "staff.verify.mail_sent_help",
                    CallerProof::MemberScreenCode => "staff.verify.screen_help",
                    CallerProof::Knowledge => "staff.verify.knowledge_help",
                };
                let to = self.sent_to.clone().unwrap_or_default();
                col.text(frame, &tf(lang, help, &[("to", &to)]), ctx.theme.text());
                let lw = label_width(
                    ctx,
                    &[
                        "staff.verify.code",
                        "staff.verify.birth",
                        "staff.verify.card",
                    ],
                );
                for (i, item) in self.items().into_iter().enumerate() {
                    if let Item::Input(id) = item {
                        let (key, input, field) = match id {
                            InputId::BirthDate => {
                                ("staff.verify.birth", &self.birth, Field::BirthDate)
                            }
                            InputId::CardNumber => {
                                ("staff.verify.card", &self.card, Field::CardNumber)
                            }
                            _ => ("staff.verify.code", &self.code, Field::Code),
                        };
                        let err = ctx.error(field).map(str::to_owned);
                        col.field(
                            frame,
                            ctx,
                            ctx.t(key),
                            lw,
                            input,
                            16,
                            i,
                            self.focus == i,
                            err.as_deref(),
                        );
                    }
                }
                let row = button_row(
                    self,
                    |i| match i {
                        Intent::SubmitVerify => t(lang, "staff.verify.submit").to_owned(),
                        Intent::SendMailCode if self.sent_to.is_some() => {
                            t(lang, "staff.verify.resend").to_owned()
                        }
                        Intent::SendMailCode => t(lang, "staff.verify.send").to_owned(),
                        _ => t(lang, "staff.verify.back").to_owned(),
                    },
                    &[Intent::SubmitVerify, Intent::SendMailCode, Intent::Cancel],
                );
                col.buttons(frame, ctx, &row);
                if way == CallerProof::Knowledge {
                    col.text(frame, ctx.t("staff.verify.knowledge_note"), ctx.theme.dim());
                }
            }
        }
    }
}

/// `YYYYMMDD` or `YYYY-MM-DD` (or with slashes) as `YYYY-MM-DD`; anything else as typed, for
/// the server to refuse with its message.
fn normalize_date(s: &str) -> String {
    let digits: String = crate::domain::width::fold(s)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if digits.len() == 8 {
        format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..])
    } else {
        s.to_owned()
    }
}
