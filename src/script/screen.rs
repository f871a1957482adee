//! Reading a drawn screen as a tester does: its text, its buttons and its labelled inputs,
//! found from the cells and the clickable rectangles the screens record while drawing — so
//! that `choose "Next"` and `fill "User ID"` work on any mode without knowing its types.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::tui::shell::form::{Hit, Target};

/// A control on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// The focusable item it is (for a click).
    pub item: usize,
    /// A button (else an input).
    pub button: bool,
    /// Its label: a button's text, or the text beside an input.
    pub label: String,
    /// Where it is drawn.
    pub rect: Rect,
}

/// The text of `rect`'s cells (wide characters once).
pub fn rect_text(buf: &Buffer, rect: Rect) -> String {
    let mut s = String::new();
    let mut skip = 0usize;
    for x in rect.x..rect.right() {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let Some(cell) = buf.cell((x, rect.y)) else {
            break;
        };
        let sym = cell.symbol();
        s.push_str(sym);
        skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
    }
    s
}

/// A button's label from its drawn text (`[ Next ]`, `>[ Next ]<`), or None for an input.
fn button_label(text: &str) -> Option<String> {
    let t = text.trim_matches(|c: char| c == ' ' || c == '>' || c == '<');
    let inner = t.strip_prefix("[ ")?.strip_suffix(" ]")?;
    let inner = inner.trim();
    (!inner.is_empty() && !inner.ends_with("  ")).then(|| inner.to_owned())
}

/// Cleans a label read beside an input: the focus marker, colons and padding go.
fn clean(label: &str) -> String {
    label
        .trim()
        .trim_start_matches('>')
        .trim()
        .trim_end_matches([':', '：'])
        .trim()
        .to_owned()
}

/// The buttons and inputs on screen, in item order.
pub fn controls(buf: &Buffer, hits: &[Hit]) -> Vec<Control> {
    let mut items: Vec<(usize, Rect)> = hits
        .iter()
        .filter_map(|h| match h.target {
            Target::Item(i) => Some((i, h.rect)),
            _ => None,
        })
        .collect();
    items.sort_by_key(|(i, _)| *i);
    items.dedup_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    for (item, rect) in &items {
        let text = rect_text(buf, *rect);
        if let Some(label) = button_label(&text) {
            out.push(Control {
                item: *item,
                button: true,
                label,
                rect: *rect,
            });
            continue;
        }
        // An input: its label is the text to its left on the row, back to the previous
        // control; an input right after another on the same row (a date's month and day) is
        // named by the unit drawn after it instead.
        let row_start = Rect::new(buf.area.x, rect.y, rect.x.saturating_sub(buf.area.x), 1);
        let prev = items
            .iter()
            .filter(|(_, r)| r.y == rect.y && r.right() <= rect.x)
            .map(|(_, r)| r.right())
            .max();
        let label = match prev {
            None => clean(&rect_text(buf, row_start)),
            Some(_) => {
                let next = items
                    .iter()
                    .filter(|(_, r)| r.y == rect.y && r.x >= rect.right())
                    .map(|(_, r)| r.x)
                    .min()
                    .unwrap_or(buf.area.right());
                let after = Rect::new(rect.right(), rect.y, next.saturating_sub(rect.right()), 1);
                clean(&rect_text(buf, after))
            }
        };
        out.push(Control {
            item: *item,
            button: false,
            label,
            rect: *rect,
        });
    }
    out
}

/// The controls' rectangles read off the cells alone (a pseudo-terminal has no record of what
/// was drawn where): every `[…]` on a row, numbered top to bottom, left to right.
pub fn hits_from_cells(buf: &Buffer) -> Vec<Hit> {
    let mut hits = Vec::new();
    for y in buf.area.top()..buf.area.bottom() {
        let mut x = buf.area.left();
        while x < buf.area.right() {
            let open = buf.cell((x, y)).is_some_and(|c| c.symbol() == "[");
            if !open {
                x += 1;
                continue;
            }
            let mut end = x + 1;
            while end < buf.area.right()
                && buf
                    .cell((end, y))
                    .is_some_and(|c| c.symbol() != "]" && c.symbol() != "[")
            {
                end += 1;
            }
            if end < buf.area.right() && buf.cell((end, y)).is_some_and(|c| c.symbol() == "]") {
                let n = hits.len();
                hits.push(Hit {
                    rect: Rect::new(x, y, end + 1 - x, 1),
                    target: Target::Item(n),
                });
                x = end + 1;
            } else {
                x = end;
            }
        }
    }
    hits
}

/// Finds the control labelled `label`: an exact label first, then one that contains it
/// (case-insensitively). Errors list the labels on screen.
pub fn find<'a>(controls: &'a [Control], button: bool, label: &str) -> Result<&'a Control, String> {
    let kind: Vec<&Control> = controls.iter().filter(|c| c.button == button).collect();
    let lower = label.to_lowercase();
    let found = kind
        .iter()
        .find(|c| c.label == label)
        .or_else(|| kind.iter().find(|c| c.label.to_lowercase() == lower))
        .or_else(|| {
            kind.iter()
                .find(|c| c.label.to_lowercase().contains(&lower))
        });
    match found {
        Some(c) => Ok(c),
        None => {
            let (what, plural) = if button {
                ("button", "buttons")
            } else {
                ("field", "fields")
            };
            let names: Vec<&str> = kind.iter().map(|c| c.label.as_str()).collect();
            if names.is_empty() {
                Err(format!("no {what} '{label}'; this screen has no {plural}"))
            } else {
                Err(format!(
                    "no {what} '{label}'; {plural}: {}",
                    names.join(", ")
                ))
            }
        }
    }
}

/// The error drawn under an input (`! message`, possibly wrapped over several rows), if any.
pub fn field_error(buf: &Buffer, control: &Control) -> Option<String> {
    let mut out = String::new();
    let mut y = control.rect.y + 1;
    // Some screens draw the error under the whole row (a date), others under the input.
    while y < buf.area.bottom() {
        let row = rect_text(buf, Rect::new(buf.area.x, y, buf.area.width, 1));
        let t = row.trim();
        if out.is_empty() {
            let Some(msg) = t.strip_prefix("! ") else {
                break;
            };
            out.push_str(msg.trim());
        } else if !t.is_empty()
            && !t.starts_with('[')
            && row.starts_with(' ')
            && row.len() - row.trim_start().len() >= usize::from(control.rect.x)
        {
            out.push(' ');
            out.push_str(t);
        } else {
            break;
        }
        y += 1;
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_labels_are_read_from_their_brackets_inputs_are_not() {
        assert_eq!(button_label(" [ Next ] ").as_deref(), Some("Next"));
        assert_eq!(button_label(">[ 次へ ]<").as_deref(), Some("次へ"));
        assert_eq!(button_label("[demo0001     ]"), None);
        assert_eq!(button_label("[             ]"), None);
    }

    #[test]
    fn an_unknown_label_lists_the_labels_on_screen() {
        let c = |label: &str, button| Control {
            item: 0,
            button,
            label: label.into(),
            rect: Rect::default(),
        };
        let cs = vec![
            c("Next", true),
            c("Can't scan?", true),
            c("Switch view (F4)", true),
            c("Code", false),
        ];
        assert_eq!(
            find(&cs, true, "Nxet").unwrap_err(),
            "no button 'Nxet'; buttons: Next, Can't scan?, Switch view (F4)"
        );
        assert_eq!(find(&cs, true, "can't").unwrap().label, "Can't scan?");
        assert_eq!(find(&cs, false, "code").unwrap().label, "Code");
    }
}
