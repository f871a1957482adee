//! 【9】 The new password (with confirmation) and an optional new user ID, with a live checklist
//! of the manual's rules while typing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Col, Ctx, Field, Form, InputId, Intent, Item, button_row, title};
use super::{Cx, Env, Page, Place, one, user_id_rule_error};
use crate::api::Step;
use crate::domain::UserId;
use crate::domain::password::{self, PasswordRule};
use crate::domain::user_id;
use crate::tui::i18n::{t, tf};
use crate::tui::modes::member::ApiCall;
use crate::tui::widgets::{TextInput, width};

/// The new-credentials screen.
#[derive(Debug, Clone)]
pub struct CredentialsState {
    /// New password.
    pub password: TextInput,
    /// Confirmation.
    pub confirm: TextInput,
    /// Optional new user ID.
    pub new_user_id: TextInput,
    /// Focused item.
    pub focus: usize,
}

impl CredentialsState {
    /// Empty fields.
    pub fn new() -> Self {
        Self {
            password: TextInput::masked().with_max(128),
            confirm: TextInput::masked().with_max(128),
            new_user_id: TextInput::new().with_max(32),
            focus: 0,
        }
    }
}

impl Default for CredentialsState {
    fn default() -> Self {
        Self::new()
    }
}

impl Form for CredentialsState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Input(InputId::NewPassword),
            Item::Input(InputId::Confirm),
            Item::Input(InputId::NewUserId),
            Item::Button(Intent::SetCredentials),
            Item::Button(Intent::ToggleReveal),
            Item::Button(Intent::BackToMethod),
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
            InputId::NewPassword => Some(&self.password),
            InputId::Confirm => Some(&self.confirm),
            InputId::NewUserId => Some(&self.new_user_id),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::NewPassword => Some(&mut self.password),
            InputId::Confirm => Some(&mut self.confirm),
            InputId::NewUserId => Some(&mut self.new_user_id),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::SetCredentials)
    }
}

/// One line of the live checklist: satisfied (`Some(true)`), broken (`Some(false)`) or not
/// applicable yet (`None`, nothing typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The i18n key of the rule.
    pub key: &'static str,
    /// Its state.
    pub ok: Option<bool>,
}

/// The password rules, checked with the domain's own functions.
pub fn password_checks(pw: &str, confirm: &str) -> Vec<Check> {
    let typed = !pw.is_empty();
    vec![
        Check {
            key: "cred.rule_pw_length",
            ok: typed.then(|| password::satisfies(pw, PasswordRule::Length)),
        },
        Check {
            key: "cred.rule_pw_chars",
            ok: typed.then(|| password::satisfies(pw, PasswordRule::Characters)),
        },
        Check {
            key: "cred.rule_pw_match",
            ok: (!confirm.is_empty()).then(|| pw == confirm),
        },
    ]
}

/// The user ID rules (a friendly pre-check; the server decides). Each rule is checked alone
/// with the domain's limits so that the list shows all of them at once.
pub fn user_id_checks(raw: &str) -> Vec<Check> {
    let id = user_id::normalize(raw);
    let typed = !id.is_empty();
    let len = id.chars().count();
    vec![
        Check {
            key: "cred.rule_id_length",
            ok: typed.then(|| (user_id::MIN_LEN..=user_id::MAX_LEN).contains(&len)),
        },
        Check {
            key: "cred.rule_id_mix",
            ok: typed.then(|| {
                id.chars().any(|c| c.is_ascii_lowercase()) && id.chars().any(|c| c.is_ascii_digit())
            }),
        },
        Check {
            key: "cred.rule_id_chars",
            ok: typed.then(|| {
                id.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || user_id::EXTRA_CHARS.contains(c)
                })
            }),
        },
    ]
}

fn check_lines(col: &mut Col, frame: &mut Frame, ctx: &Ctx, checks: &[Check]) {
    for c in checks {
        let (mark, style) = match c.ok {
            Some(true) => ("[✓]", ctx.theme.ok()),
            Some(false) => ("[x]", ctx.theme.error()),
            None => ("[ ]", ctx.theme.dim()),
        };
        let text = if c.key == "cred.rule_pw_chars" {
            tf(ctx.lang, c.key, &[("symbols", password::SYMBOLS)])
        } else {
            t(ctx.lang, c.key).to_owned()
        };
        col.line(
            frame,
            Line::from(vec![
                Span::styled(format!("  {mark} "), style),
                Span::styled(text, ctx.theme.text()),
            ]),
        );
    }
}

/// Draws the new-credentials screen.
pub fn render(frame: &mut Frame, area: Rect, s: &CredentialsState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("cred.title"));
    col.gap(1);
    let labels = [
        ctx.t("cred.password"),
        ctx.t("cred.confirm"),
        ctx.t("cred.new_user_id"),
    ];
    let lw = u16::try_from(labels.iter().map(|l| width(l)).max().unwrap_or(10) + 3).unwrap_or(24);
    let fields = [
        (&s.password, Field::NewPassword, 0usize),
        (&s.confirm, Field::Confirm, 1),
        (&s.new_user_id, Field::NewUserId, 2),
    ];
    for ((input, field, idx), label) in fields.into_iter().zip(labels) {
        let err = ctx.error(field).map(str::to_owned);
        col.field(
            frame,
            ctx,
            label,
            lw,
            input,
            30,
            idx,
            s.focus == idx,
            err.as_deref(),
        );
    }
    col.gap(1);
    col.line(
        frame,
        Line::from(Span::styled(ctx.t("cred.pw_rules"), ctx.theme.title())),
    );
    check_lines(
        &mut col,
        frame,
        ctx,
        &password_checks(s.password.value(), s.confirm.value()),
    );
    col.line(
        frame,
        Line::from(Span::styled(ctx.t("cred.id_rules"), ctx.theme.title())),
    );
    check_lines(&mut col, frame, ctx, &user_id_checks(s.new_user_id.value()));
    col.gap(1);
    let reveal = if s.password.revealed {
        "sign_in.hide"
    } else {
        "sign_in.show"
    };
    let b = button_row(
        s,
        |i| match i {
            Intent::SetCredentials => t(lang, "cred.submit").to_owned(),
            Intent::ToggleReveal => t(lang, reveal).to_owned(),
            _ => t(lang, "cred.back").to_owned(),
        },
        &[
            Intent::SetCredentials,
            Intent::ToggleReveal,
            Intent::BackToMethod,
        ],
    );
    col.buttons(frame, ctx, &b);
}

impl Page for CredentialsState {
    fn place(&self) -> Place {
        Place::first_login(
            "new_credentials",
            one(Step::NewCredentials),
            "step.new_credentials",
        )
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::NewCredentials
    }
    fn error_field(&self) -> Field {
        Field::NewPassword
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::SetCredentials => self.submit(cx),
            Intent::BackToMethod => cx.with_token(ApiCall::Back),
            Intent::ToggleReveal => {
                let r = !self.password.revealed;
                self.password.revealed = r;
                self.confirm.revealed = r;
            }
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        Some(super::Esc::Back)
    }
    fn on_back(&mut self, _cx: &mut Cx) -> Option<Intent> {
        Some(Intent::BackToMethod)
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}

impl CredentialsState {
    /// Sends the new password (and user ID) after the checks the screen can make.
    fn submit(&self, cx: &mut Cx) {
        let pw = self.password.value().to_owned();
        let confirm = self.confirm.value().to_owned();
        let uid = self.new_user_id.value().trim().to_owned();
        cx.check_new_password(&pw, &confirm);
        let new_user_id = if uid.is_empty() {
            None
        } else {
            match UserId::parse(&uid) {
                Ok(id) => Some(id.as_str().to_owned()),
                Err(e) => {
                    cx.set_error(Field::NewUserId, user_id_rule_error(e.rule()));
                    None
                }
            }
        };
        if cx.has_errors() {
            return;
        }
        cx.with_token(|token| ApiCall::SetCredentials {
            token,
            password: pw,
            new_user_id,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_follows_typing() {
        let c = password_checks("", "");
        assert!(c.iter().all(|c| c.ok.is_none()));
        let c = password_checks("short", "");
        assert_eq!(c[0].ok, Some(false));
        assert_eq!(c[1].ok, Some(true));
        assert_eq!(c[2].ok, None);
        let c = password_checks("Longer!pass1", "Longer!pass1");
        assert!(c.iter().all(|c| c.ok == Some(true)));
        let c = password_checks("パスワードです12", "x");
        assert_eq!(c[1].ok, Some(false));
        assert_eq!(c[2].ok, Some(false));
    }

    #[test]
    fn user_id_checklist_shows_every_rule() {
        let c = user_id_checks("abc");
        assert_eq!(c[0].ok, Some(false));
        assert_eq!(c[1].ok, Some(false));
        assert_eq!(c[2].ok, Some(true));
        let c = user_id_checks("Tanaka2026");
        assert!(c.iter().all(|c| c.ok == Some(true)));
        assert!(crate::domain::UserId::parse("Tanaka2026").is_ok());
    }
}
