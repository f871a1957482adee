//! 【3】 The member's own date of birth (identity check).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::{Col, Ctx, Field, Form, Hit, InputId, Intent, Item, Target, button_row, title};
use super::{Cx, Env, Page, Place, Screen, one};
use crate::api::Step;
use crate::domain::{BirthDate, BirthDateError};
use crate::tui::i18n::Tr;
use crate::tui::i18n::t;
use crate::tui::modes::member::ApiCall;
use crate::tui::widgets::{TextInput, width};

/// The birth-date screen.
#[derive(Debug, Clone)]
pub struct BirthDateState {
    /// Year (4 digits).
    pub year: TextInput,
    /// Month.
    pub month: TextInput,
    /// Day.
    pub day: TextInput,
    /// Focused item.
    pub focus: usize,
    /// The focus moved on by itself (a full year or month): a Tab typed right after it is
    /// the member moving on too, not a request to skip the next field.
    advanced: bool,
}

fn digit(c: char) -> bool {
    c.is_ascii_digit()
}

impl BirthDateState {
    /// Empty fields.
    pub fn new() -> Self {
        Self {
            year: TextInput::new().with_max(4).with_filter(digit),
            month: TextInput::new().with_max(2).with_filter(digit),
            day: TextInput::new().with_max(2).with_filter(digit),
            focus: 0,
            advanced: false,
        }
    }

    /// Takes a whole pasted date (`2002/10/04`, `2002-10-04`, `2002年10月4日`, `20021004`) into
    /// the three fields; false when `text` is not one.
    pub fn paste_date(&mut self, text: &str) -> bool {
        let folded = crate::domain::width::fold(text);
        let runs: Vec<&str> = folded
            .split(|c: char| !c.is_ascii_digit())
            .filter(|r| !r.is_empty())
            .collect();
        let (y, m, d) = match runs.as_slice() {
            [y, m, d] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => (*y, *m, *d),
            [all] if all.len() == 8 => (&all[..4], &all[4..6], &all[6..]),
            _ => return false,
        };
        self.year.set_value(y);
        self.month.set_value(m);
        self.day.set_value(d);
        self.focus = 3;
        self.advanced = false;
        true
    }
}

impl Default for BirthDateState {
    fn default() -> Self {
        Self::new()
    }
}

impl Form for BirthDateState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Input(InputId::Year),
            Item::Input(InputId::Month),
            Item::Input(InputId::Day),
            Item::Button(Intent::SubmitBirthDate),
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
            InputId::Year => Some(&self.year),
            InputId::Month => Some(&self.month),
            InputId::Day => Some(&self.day),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::Year => Some(&mut self.year),
            InputId::Month => Some(&mut self.month),
            InputId::Day => Some(&mut self.day),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::SubmitBirthDate)
    }
}

/// Draws the birth-date screen.
pub fn render(frame: &mut Frame, area: Rect, s: &BirthDateState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("birth_date.title"));
    col.gap(1);
    col.text(frame, ctx.t("birth_date.explain"), ctx.theme.text());
    col.gap(1);
    if let Some(r) = col.row() {
        let mut x = r.x;
        let label = ctx.t("birth_date.label");
        frame.render_widget(Span::raw(label), Rect::new(x, r.y, r.width, 1));
        x += u16::try_from(width(label) + 2).unwrap_or(10);
        let parts = [
            (&s.year, 4u16, "birth_date.year", 0usize),
            (&s.month, 2, "birth_date.month", 1),
            (&s.day, 2, "birth_date.day", 2),
        ];
        for (input, w, unit, idx) in parts {
            if x + w + 2 > r.right() {
                break;
            }
            let focused = s.focus == idx;
            frame.render_widget(Span::raw("["), Rect::new(x, r.y, 1, 1));
            let style = if focused {
                ctx.theme.focus()
            } else {
                ctx.theme.input()
            };
            input.render(frame, Rect::new(x + 1, r.y, w + 1, 1), style, focused);
            frame.render_widget(Span::raw("]"), Rect::new(x + w + 2, r.y, 1, 1));
            ctx.hits.push(Hit {
                rect: Rect::new(x, r.y, w + 3, 1),
                target: Target::Item(idx),
            });
            x += w + 3;
            let u = t(lang, unit);
            frame.render_widget(
                Span::raw(u),
                Rect::new(x, r.y, r.right().saturating_sub(x), 1),
            );
            x += u16::try_from(width(u) + 2).unwrap_or(4);
        }
    }
    if let Some(e) = ctx.error(Field::BirthDate).map(str::to_owned) {
        col.text(frame, &format!("! {e}"), ctx.theme.error());
    }
    col.text(frame, ctx.t("birth_date.example"), ctx.theme.dim());
    col.gap(1);
    let b = button_row(
        s,
        |_| t(lang, "common.next").to_owned(),
        &[Intent::SubmitBirthDate],
    );
    col.buttons(frame, ctx, &b);
}

impl Page for BirthDateState {
    fn place(&self) -> Place {
        Place::first_login("birth_date", one(Step::BirthDate), "step.birth_date")
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::BirthDate
    }
    fn error_field(&self) -> Field {
        Field::BirthDate
    }
    /// Moves on from the year and the month once they are full.
    fn after_edit(&mut self, input: InputId) {
        let full = match input {
            InputId::Year => self.year.value().len() == 4,
            InputId::Month => self.month.value().len() == 2,
            _ => false,
        };
        if full {
            self.focus += 1;
            self.advanced = true;
        }
    }
    fn on_key(&mut self, key: ratatui::crossterm::event::KeyEvent, _cx: &mut Cx) -> bool {
        let swallow = key.code == ratatui::crossterm::event::KeyCode::Tab && self.advanced;
        self.advanced = false;
        swallow
    }
    fn on_paste(&mut self, text: &str) -> bool {
        self.focus <= 2 && self.paste_date(text)
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        if intent != Intent::SubmitBirthDate {
            return;
        }
        let (y, m, d) = (self.year.value(), self.month.value(), self.day.value());
        if y.len() != 4 || m.is_empty() || d.is_empty() {
            cx.set_error(Field::BirthDate, Tr::new("err.birth_date_format"));
            return;
        }
        let parsed = match (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) {
            (Ok(y), Ok(m), Ok(d)) => BirthDate::from_ymd(y, m, d),
            _ => Err(BirthDateError::Format),
        };
        match parsed {
            Ok(date) => cx.with_token(|t| ApiCall::BirthDate(t, date.to_string())),
            Err(e) => {
                let key = match e {
                    BirthDateError::Format => "err.birth_date_format",
                    BirthDateError::NoSuchDate => "err.birth_date_no_such",
                    BirthDateError::OutOfRange => "err.invalid_birth_date",
                };
                cx.set_error(Field::BirthDate, Tr::new(key));
            }
        }
    }
    /// Back to sign-in: this flow ends.
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        Some(super::Esc::Back)
    }
    fn on_back(&mut self, cx: &mut Cx) -> Option<Intent> {
        cx.clear_messages();
        if let Some(t) = cx.token.take() {
            cx.call_bg(ApiCall::SignOut(t));
        }
        cx.go(Screen::SignIn(Default::default()));
        None
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}
