//! The step indicator 【1】…【11】 of the manual's first login.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::tui::theme::Theme;

/// Draws 【1】 to 【11】 on one line; steps in `current` (inclusive range) are highlighted, earlier
/// ones marked done. At widths under 60 only the current step and the total are shown.
pub fn render_stepper(
    frame: &mut Frame,
    area: Rect,
    current: (u8, u8),
    label: &str,
    theme: &Theme,
) {
    let (from, to) = current;
    let mut spans = Vec::new();
    if area.width < 60 {
        spans.push(Span::styled(format!("【{from}】"), theme.step_current()));
        spans.push(Span::raw(format!("/11 {label}")));
    } else {
        for n in 1..=11u8 {
            let style = if (from..=to).contains(&n) {
                theme.step_current()
            } else if n < from {
                theme.step_done()
            } else {
                theme.step_todo()
            };
            spans.push(Span::styled(format!("【{n}】"), style));
        }
        // The label only when it fits whole (57 cells for the steps, one space).
        if 58 + crate::tui::widgets::width(label) <= usize::from(area.width) {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(label.to_owned(), theme.title()));
        }
    }
    frame.render_widget(Line::from(spans), area);
}
