//! Styles, with and without colour (`NO_COLOR`).

use ratatui::style::{Color, Modifier, Style};

/// The styles the screens use. Without colour, focus is shown with reverse video, bold and
/// brackets; errors with bold and a marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// `NO_COLOR` mode.
    pub no_color: bool,
}

impl Theme {
    /// A theme; `no_color` drops every colour.
    pub fn new(no_color: bool) -> Self {
        Self { no_color }
    }

    fn fg(&self, c: Color) -> Style {
        if self.no_color {
            Style::default()
        } else {
            Style::default().fg(c)
        }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        Style::default()
    }
    /// Secondary text (hints, notes).
    pub fn dim(&self) -> Style {
        if self.no_color {
            Style::default()
        } else {
            Style::default().fg(Color::Gray)
        }
    }
    /// Titles.
    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    /// A focused control.
    pub fn focus(&self) -> Style {
        if self.no_color {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        }
    }
    /// An unfocused control.
    pub fn control(&self) -> Style {
        self.fg(Color::White)
    }
    /// An input field's text area.
    pub fn input(&self) -> Style {
        Style::default().add_modifier(Modifier::UNDERLINED)
    }
    /// Error messages.
    pub fn error(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }
    /// Success / information messages.
    pub fn ok(&self) -> Style {
        self.fg(Color::LightGreen)
    }
    /// The current step in the stepper.
    pub fn step_current(&self) -> Style {
        if self.no_color {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        }
    }
    /// Steps already done.
    pub fn step_done(&self) -> Style {
        self.fg(Color::Green)
    }
    /// Steps still ahead.
    pub fn step_todo(&self) -> Style {
        self.dim()
    }
}

impl Theme {
    /// The `>` marker in front of a focused field.
    pub fn focus_marker(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        }
    }
}
