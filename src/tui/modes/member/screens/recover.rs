//! The sign-in screen's recovery entries: "Forgot your user ID?" (card and birth date) and
//! "Forgot your password?" (user ID and birth date, then the mailed code and a new password).
//! The server answers the same whether or not the details matched, and so does this screen.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::totp_enroll::code_input;
use super::{Col, Ctx, Form, InputId, Intent, Item, button_row, title};
use super::{Cx, Env, Field, Page, Place, Screen, one};
use crate::api::{ErrorCode, Step};
use crate::client::ClientError;
use crate::tui::i18n::Tr;
use crate::tui::i18n::t;
use crate::tui::modes::member::{ApiCall, Reply};
use crate::tui::widgets::{TextInput, width};

/// Which recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoverKind {
    /// Forgot the user ID.
    UserId,
    /// Forgot the password.
    Password,
}

/// Where the recovery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoverPhase {
    /// The details are asked for.
    Request,
    /// (Password) the mailed code and the new password.
    Reset,
    /// (User ID) the request went out: the same words whatever happened.
    Sent,
}

/// The recovery screen.
#[derive(Debug, Clone)]
pub struct RecoverState {
    /// Which recovery.
    pub kind: RecoverKind,
    /// Where it is.
    pub phase: RecoverPhase,
    /// The user ID (password recovery).
    pub user_id: TextInput,
    /// 記号 (user-ID recovery).
    pub symbol: TextInput,
    /// 番号 (user-ID recovery).
    pub number: TextInput,
    /// The date of birth.
    pub birth: TextInput,
    /// The mailed code.
    pub code: TextInput,
    /// The new password.
    pub password: TextInput,
    /// Its confirmation.
    pub confirm: TextInput,
    /// Focused item.
    pub focus: usize,
}

fn digits_input(max: usize) -> TextInput {
    TextInput::new()
        .with_max(max)
        .with_filter(|c| c.is_ascii_digit() || ('０'..='９').contains(&c) || c == '-')
}

impl RecoverState {
    /// A fresh request form.
    pub fn new(kind: RecoverKind) -> Self {
        Self {
            kind,
            phase: RecoverPhase::Request,
            user_id: TextInput::new().with_max(64),
            symbol: digits_input(8),
            number: digits_input(12),
            birth: digits_input(10),
            code: code_input(),
            password: TextInput::masked().with_max(128),
            confirm: TextInput::masked().with_max(128),
            focus: 0,
        }
    }

    /// The inputs shown now, in order.
    fn inputs(&self) -> Vec<InputId> {
        match (self.kind, self.phase) {
            (RecoverKind::UserId, RecoverPhase::Request) => {
                vec![InputId::Symbol, InputId::Number, InputId::RecoverBirth]
            }
            (RecoverKind::Password, RecoverPhase::Request) => {
                vec![InputId::UserId, InputId::RecoverBirth]
            }
            (_, RecoverPhase::Reset) => {
                vec![InputId::TotpCode, InputId::NewPassword, InputId::Confirm]
            }
            (_, RecoverPhase::Sent) => Vec::new(),
        }
    }

    fn buttons(&self) -> Vec<Intent> {
        match self.phase {
            RecoverPhase::Sent => vec![Intent::RecoverBack],
            _ => vec![Intent::SubmitRecover, Intent::RecoverBack],
        }
    }
}

impl Form for RecoverState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        let mut items: Vec<Item> = self.inputs().into_iter().map(Item::Input).collect();
        items.extend(self.buttons().into_iter().map(Item::Button));
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
            InputId::UserId => Some(&self.user_id),
            InputId::Symbol => Some(&self.symbol),
            InputId::Number => Some(&self.number),
            InputId::RecoverBirth => Some(&self.birth),
            InputId::TotpCode => Some(&self.code),
            InputId::NewPassword => Some(&self.password),
            InputId::Confirm => Some(&self.confirm),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::UserId => Some(&mut self.user_id),
            InputId::Symbol => Some(&mut self.symbol),
            InputId::Number => Some(&mut self.number),
            InputId::RecoverBirth => Some(&mut self.birth),
            InputId::TotpCode => Some(&mut self.code),
            InputId::NewPassword => Some(&mut self.password),
            InputId::Confirm => Some(&mut self.confirm),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        (self.phase != RecoverPhase::Sent).then_some(Intent::SubmitRecover)
    }
}

fn label(id: InputId) -> &'static str {
    match id {
        InputId::UserId => "recover.user_id",
        InputId::Symbol => "recover.symbol",
        InputId::Number => "recover.number",
        InputId::RecoverBirth => "recover.birth_date",
        InputId::TotpCode => "recover.code",
        InputId::NewPassword => "recover.new_password",
        _ => "recover.confirm",
    }
}

/// The error shown under an input: the card's one under the number (symbol and number are
/// checked together).
fn error_of(ctx: &Ctx, id: InputId) -> Option<String> {
    match id {
        InputId::Symbol => None,
        other => ctx.error(other.field()).map(str::to_owned),
    }
}

/// Draws the recovery screen.
pub fn render(frame: &mut Frame, area: Rect, s: &RecoverState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    let heading = match s.kind {
        RecoverKind::UserId => "recover.title_user_id",
        RecoverKind::Password => "recover.title_password",
    };
    title(&mut col, frame, ctx, ctx.t(heading));
    col.gap(1);
    let explain = match (s.kind, s.phase) {
        (RecoverKind::UserId, RecoverPhase::Request) => "recover.explain_user_id",
        (RecoverKind::Password, RecoverPhase::Request) => "recover.explain_password",
        (_, RecoverPhase::Reset) => "recover.explain_reset",
        (_, RecoverPhase::Sent) => "recover.sent_user_id",
    };
    col.text(frame, ctx.t(explain), ctx.theme.text());
    col.gap(1);
    let inputs = s.inputs();
    let lw = inputs
        .iter()
        .map(|id| width(t(lang, label(*id))))
        .max()
        .map_or(20, |w| u16::try_from(w + 3).unwrap_or(20));
    for (i, id) in inputs.iter().enumerate() {
        let Some(input) = s.input(*id) else {
            continue;
        };
        let err = error_of(ctx, *id);
        let w = match id {
            InputId::UserId | InputId::NewPassword | InputId::Confirm => 30,
            _ => 12,
        };
        col.field(
            frame,
            ctx,
            t(lang, label(*id)),
            lw,
            input,
            w,
            i,
            s.focus == i,
            err.as_deref(),
        );
        if *id == InputId::RecoverBirth {
            col.hint(frame, ctx, lw, "recover.birth_hint");
        }
        if *id == InputId::NewPassword {
            col.hint(frame, ctx, lw, "recover.password_hint");
        }
    }
    col.gap(1);
    let buttons = s.buttons();
    let b = button_row(
        s,
        |i| match i {
            Intent::SubmitRecover if s.phase == RecoverPhase::Reset => {
                t(lang, "recover.reset").to_owned()
            }
            Intent::SubmitRecover => t(lang, "recover.send").to_owned(),
            _ => t(lang, "recover.back").to_owned(),
        },
        &buttons,
    );
    col.buttons(frame, ctx, &b);
}

impl Page for RecoverState {
    fn place(&self) -> Place {
        let name = match (self.kind, self.phase) {
            (RecoverKind::UserId, RecoverPhase::Sent) => "forgot_id_sent",
            (RecoverKind::UserId, _) => "forgot_id",
            (RecoverKind::Password, RecoverPhase::Reset) => "forgot_password_reset",
            (RecoverKind::Password, _) => "forgot_password",
        };
        Place::first_login(name, one(Step::SignIn), "step.sign_in")
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::SubmitRecover => self.submit(cx),
            Intent::RecoverBack => {
                cx.clear_messages();
                cx.go(Screen::SignIn(Default::default()));
            }
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        Some(super::Esc::Back)
    }
    fn on_back(&mut self, _cx: &mut Cx) -> Option<Intent> {
        Some(Intent::RecoverBack)
    }
    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        if !matches!(reply, Reply::Recovery) {
            return;
        }
        match (self.kind, self.phase) {
            (RecoverKind::UserId, _) => {
                self.phase = RecoverPhase::Sent;
                self.focus = 0;
            }
            (RecoverKind::Password, RecoverPhase::Request) => {
                self.phase = RecoverPhase::Reset;
                self.focus = 0;
            }
            (RecoverKind::Password, _) => {
                cx.go(Screen::SignIn(Default::default()));
                cx.info("recover.done");
            }
        }
    }
    fn on_error(&mut self, err: &ClientError, cx: &mut Cx) -> bool {
        let ClientError::Api(e) = err else {
            return false;
        };
        let key = match e.code {
            ErrorCode::WrongCode => "recover.wrong",
            ErrorCode::CodeExpired => "recover.expired",
            _ => return false,
        };
        self.code.clear();
        self.focus = 0;
        cx.set_error(Field::TotpCode, Tr::new(key));
        true
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}

impl RecoverState {
    /// Sends the recovery form on screen, after the checks the screen can make.
    fn submit(&self, cx: &mut Cx) {
        let birth = || {
            let digits: String = self
                .birth
                .value()
                .chars()
                .filter_map(|c| match c {
                    '０'..='９' => char::from_digit(c as u32 - '０' as u32, 10),
                    c if c.is_ascii_digit() => Some(c),
                    _ => None,
                })
                .collect();
            (digits.len() == 8)
                .then(|| format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..]))
        };
        let call = match (self.kind, self.phase) {
            (_, RecoverPhase::Sent) => return,
            (kind, RecoverPhase::Request) => {
                let Some(birth_date) = birth() else {
                    cx.set_error(Field::BirthDate, Tr::new("recover.birth_required"));
                    return;
                };
                match kind {
                    RecoverKind::UserId => ApiCall::ForgotUserId {
                        symbol: self.symbol.value().to_owned(),
                        number: self.number.value().to_owned(),
                        birth_date,
                        lang: cx.lang(),
                    },
                    RecoverKind::Password => ApiCall::ForgotPassword {
                        user_id: self.user_id.value().trim().to_owned(),
                        birth_date,
                        lang: cx.lang(),
                    },
                }
            }
            (_, RecoverPhase::Reset) => {
                let code = super::totp_enroll::normalize_code(self.code.value());
                if code.is_empty() {
                    cx.set_error(Field::TotpCode, Tr::new("totp.code_required"));
                    return;
                }
                if self.password.value() != self.confirm.value() {
                    cx.set_error(Field::Confirm, Tr::new("recover.mismatch"));
                    return;
                }
                ApiCall::ResetPassword {
                    user_id: self.user_id.value().trim().to_owned(),
                    code,
                    password: self.password.value().to_owned(),
                }
            }
        };
        cx.clear_errors();
        cx.call(call);
    }
}
