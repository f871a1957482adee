//! 【3】 The member's own date of birth (identity check).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::{Col, Ctx, Field, Form, Hit, InputId, Intent, Item, Target, button_row, title};
use crate::tui::i18n::t;
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
        }
    }
}

impl Default for BirthDateState {
    fn default() -> Self {
        Self::new()
    }
}

impl Form for BirthDateState {
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
