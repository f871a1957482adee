//! A one-line text input: cursor, masking, paste, and correct width for Japanese text.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// What a key did to an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputOutcome {
    /// The text or the cursor changed.
    Changed,
    /// The key is not an editing key; the caller handles it.
    Ignored,
}

/// A one-line text input.
#[derive(Clone, Default)]
pub struct TextInput {
    value: String,
    /// Cursor position in characters.
    cursor: usize,
    /// Shown as `*` unless `revealed`.
    pub masked: bool,
    /// Whether a masked input currently shows its text.
    pub revealed: bool,
    /// At most this many characters.
    pub max_chars: Option<usize>,
    /// Characters the input accepts (others are dropped, also from a paste).
    pub filter: Option<fn(char) -> bool>,
}

/// What was typed is wiped when the field goes (a scrubbed session leaves no passwords in
/// freed memory).
impl Drop for TextInput {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.value);
    }
}

impl std::fmt::Debug for TextInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.masked {
            "<masked>"
        } else {
            self.value.as_str()
        };
        f.debug_struct("TextInput")
            .field("value", &value)
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl TextInput {
    /// An empty plain input.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty masked input (passwords).
    pub fn masked() -> Self {
        let mut input = Self::default();
        input.masked = true;
        input
    }

    /// Limits the length.
    pub fn with_max(mut self, n: usize) -> Self {
        self.max_chars = Some(n);
        self
    }

    /// Limits the characters.
    pub fn with_filter(mut self, f: fn(char) -> bool) -> Self {
        self.filter = Some(f);
        self
    }

    /// The text.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Replaces the text and puts the cursor at the end.
    pub fn set_value(&mut self, v: &str) {
        self.value.clear();
        self.cursor = 0;
        self.insert_str(v);
    }

    /// Empties the input.
    pub fn clear(&mut self) {
        self.value.clear();
        self.cursor = 0;
    }

    /// Empties the input and overwrites the memory its text was in (a password once sent).
    pub fn wipe(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.value);
        self.cursor = 0;
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.value
            .char_indices()
            .nth(char_idx)
            .map(|(i, _)| i)
            .unwrap_or(self.value.len())
    }

    fn accepts(&self, c: char) -> bool {
        !c.is_control() && self.filter.is_none_or(|f| f(c))
    }

    /// Inserts one character at the cursor (if accepted and there is room). A full-width form
    /// of ASCII (`１`, `／`, `＠`) goes in as ASCII — numbers, dates, IDs and passwords typed
    /// with a Japanese input method then just work — unless the input's filter takes it as it is
    /// (the code inputs normalise it themselves).
    pub fn insert(&mut self, c: char) -> bool {
        let c = if self.filter.is_some_and(|f| f(c)) {
            c
        } else {
            crate::domain::width::fold_char(c)
        };
        if !self.accepts(c) {
            return false;
        }
        if self
            .max_chars
            .is_some_and(|m| self.value.chars().count() >= m)
        {
            return false;
        }
        let at = self.byte_at(self.cursor);
        self.value.insert(at, c);
        self.cursor += 1;
        true
    }

    /// Inserts a pasted text; line breaks and refused characters are dropped.
    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars() {
            self.insert(c);
        }
    }

    /// Applies an editing key.
    pub fn handle_key(&mut self, key: KeyEvent) -> InputOutcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => self.clear(),
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.value.chars().count(),
            KeyCode::Char(_) if ctrl || key.modifiers.contains(KeyModifiers::ALT) => {
                return InputOutcome::Ignored;
            }
            KeyCode::Char(c) => {
                self.insert(c);
            }
            KeyCode::Backspace => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    let at = self.byte_at(self.cursor);
                    self.value.remove(at);
                }
            }
            KeyCode::Delete => {
                if self.cursor < self.value.chars().count() {
                    let at = self.byte_at(self.cursor);
                    self.value.remove(at);
                }
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.value.chars().count()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.value.chars().count(),
            _ => return InputOutcome::Ignored,
        }
        InputOutcome::Changed
    }

    fn shown(&self) -> Vec<char> {
        if self.masked && !self.revealed {
            vec!['*'; self.value.chars().count()]
        } else {
            self.value.chars().collect()
        }
    }

    /// Draws the input in `area` (one line). When `focused`, the terminal cursor is placed at
    /// the insertion point; the text scrolls so that the cursor stays visible.
    pub fn render(&self, frame: &mut Frame, area: Rect, style: Style, focused: bool) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let chars = self.shown();
        let cells = usize::from(area.width);
        // The cursor needs a cell of its own: keep the text before it within width - 1.
        let w = |c: &char| c.width().unwrap_or(0);
        let mut start = 0usize;
        loop {
            let used: usize = chars[start..self.cursor.min(chars.len())]
                .iter()
                .map(w)
                .sum();
            if used < cells || start >= self.cursor {
                break;
            }
            start += 1;
        }
        let mut text = String::new();
        let mut used = 0usize;
        let mut cursor_x = 0usize;
        for (i, c) in chars.iter().enumerate().skip(start) {
            if i == self.cursor {
                cursor_x = used;
            }
            let cw = w(c);
            if used + cw > cells {
                break;
            }
            text.push(*c);
            used += cw;
        }
        if self.cursor >= chars.len() {
            cursor_x = used;
        }
        let pad = cells.saturating_sub(used);
        let line = Line::from(vec![
            Span::styled(text, style),
            Span::styled(" ".repeat(pad), style),
        ]);
        frame.render_widget(line, Rect { height: 1, ..area });
        if focused {
            let x = area.x + u16::try_from(cursor_x).unwrap_or(0).min(area.width - 1);
            frame.set_cursor_position(Position::new(x, area.y));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventKind;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new_with_kind(code, KeyModifiers::NONE, KeyEventKind::Press)
    }

    #[test]
    fn edits_in_the_middle_of_japanese_text() {
        let mut i = TextInput::new();
        i.insert_str("山田太郎");
        i.handle_key(key(KeyCode::Left));
        i.handle_key(key(KeyCode::Backspace));
        assert_eq!(i.value(), "山田郎");
        i.handle_key(key(KeyCode::Home));
        i.handle_key(key(KeyCode::Delete));
        assert_eq!(i.value(), "田郎");
    }

    #[test]
    fn filter_and_max_apply_to_paste() {
        let mut i = TextInput::new()
            .with_max(4)
            .with_filter(|c| c.is_ascii_digit());
        i.insert_str("19a8\n01201");
        assert_eq!(i.value(), "1980");
    }

    #[test]
    fn a_full_field_shows_all_its_text() {
        use ratatui::{Terminal, backend::TestBackend};
        let mut i = TextInput::new().with_max(4);
        i.insert_str("1980");
        let mut t = Terminal::new(TestBackend::new(6, 1)).unwrap();
        t.draw(|f| i.render(f, Rect::new(0, 0, 5, 1), Style::default(), true))
            .unwrap();
        assert_eq!(t.backend().buffer().content[0].symbol(), "1");
        let mut long = TextInput::new();
        long.insert_str("abcdefghij");
        t.draw(|f| long.render(f, Rect::new(0, 0, 5, 1), Style::default(), true))
            .unwrap();
        // The end of a long text is shown, with the cursor after it.
        assert_eq!(t.backend().buffer().content[3].symbol(), "j");
    }

    #[test]
    fn masked_inputs_hide_their_text_in_debug() {
        let mut i = TextInput::masked();
        i.insert_str("secret12");
        assert!(!format!("{i:?}").contains("secret"));
        assert_eq!(i.shown(), vec!['*'; 8]);
        i.revealed = true;
        assert_eq!(i.shown().iter().collect::<String>(), "secret12");
    }
}
