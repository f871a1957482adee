//! A row of buttons with a visible focus; their rectangles are returned for mouse hit-testing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::wrap::width;
use crate::tui::theme::Theme;

/// One button: its label and whether it has the focus.
#[derive(Debug, Clone)]
pub struct Button {
    /// The label.
    pub label: String,
    /// Focused buttons are drawn reversed and with `>` `<` markers.
    pub focused: bool,
}

impl Button {
    /// A button.
    pub fn new(label: impl Into<String>, focused: bool) -> Self {
        Self {
            label: label.into(),
            focused,
        }
    }

    /// The label as drawn: `[ label ]`, or `>[ label ]<` when focused.
    pub fn text(&self) -> String {
        if self.focused {
            format!(">[ {} ]<", self.label)
        } else {
            format!(" [ {} ] ", self.label)
        }
    }
}

/// Draws `buttons` left to right from `area`'s corner, wrapping to the next line when a row is
/// full. Returns each button's rectangle (same order) and the height used.
pub fn render_buttons(
    frame: &mut Frame,
    area: Rect,
    buttons: &[Button],
    theme: &Theme,
) -> (Vec<Rect>, u16) {
    let mut rects = Vec::with_capacity(buttons.len());
    let mut x = area.x;
    let mut y = area.y;
    for b in buttons {
        let text = b.text();
        let w = u16::try_from(width(&text)).unwrap_or(u16::MAX);
        if x > area.x && x.saturating_add(w) > area.right() {
            x = area.x;
            y += 1;
        }
        if y >= area.bottom() {
            rects.push(Rect::default());
            continue;
        }
        let rect = Rect::new(x, y, w.min(area.right().saturating_sub(x)), 1);
        let style = if b.focused {
            theme.focus()
        } else {
            theme.control()
        };
        frame.render_widget(Span::styled(text, style), rect);
        rects.push(rect);
        x = x.saturating_add(w + 1);
    }
    (rects, y + 1 - area.y)
}
