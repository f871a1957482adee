//! The sign-in screen's recovery entries: "Forgot your user ID?" (card and birth date) and
//! "Forgot your password?" (user ID and birth date, then the mailed code and a new password).
//! The server answers the same whether or not the details matched, and so does this screen.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::totp_enroll::code_input;
use super::{Col, Ctx, Form, InputId, Intent, Item, button_row, title};
use crate::tui::i18n::t;
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
