//! Styles: a palette for dark terminals, one for light terminals, one for terminals that do
//! not say, and none at all (`NO_COLOR`).
//!
//! Body text and controls use the terminal's own foreground (`Color::Reset`), which its user
//! chose to be readable on their background; only accents are coloured, and each accent was
//! picked per background so that it reaches WCAG AA contrast (4.5:1) with xterm's default
//! colours (checked by the tests here and in `tests/tui_snapshots.rs`). The terminal's
//! background is found out by [`crate::tui::shell::theme_detect`].
//!
//! Bold text may be drawn in the bright variant of its colour: xterm's `boldColors` (on by
//! default) draws a bold foreground 0–7 as 8–15 when it comes as SGR `30`–`37`. crossterm
//! writes `38;5;N`, which xterm leaves alone, but tmux re-sends colours as `30`–`37` to an
//! outer terminal it believes has 8 colours (`TERM=xterm`), so black bold focus text turned
//! grey on cyan there. No style here relies on a bold 0–7 foreground staying dark: the
//! contrast checks take the brighter variant too.

use ratatui::style::{Color, Modifier, Style};

/// Whether the terminal draws on a dark or a light background, as far as is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Background {
    /// Light text on a dark background.
    Dark,
    /// Dark text on a light background.
    Light,
    /// The terminal did not say (tmux 3.3, screen, the Linux console, a pipe): colours that
    /// read on either.
    #[default]
    Unknown,
}

/// One style per role on the screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// Plain text.
    pub text: Style,
    /// Secondary text (hints, notes, the footer).
    pub dim: Style,
    /// Titles.
    pub title: Style,
    /// A focused control.
    pub focus: Style,
    /// An unfocused control.
    pub control: Style,
    /// An input field's text area.
    pub input: Style,
    /// Error messages.
    pub error: Style,
    /// Success / information messages.
    pub ok: Style,
    /// The current step in the stepper.
    pub step_current: Style,
    /// Steps already done.
    pub step_done: Style,
    /// Steps still ahead.
    pub step_todo: Style,
    /// The `>` marker in front of a focused field.
    pub focus_marker: Style,
}

const TERMINAL_FG: Style = Style::new().fg(Color::Reset);
const BOLD: Modifier = Modifier::BOLD;
// Black on a bright background reads on either terminal background; not bold, or it may be
// drawn grey (see above).
const FOCUS: Style = Style::new().fg(Color::Black).bg(Color::Cyan);
const STEP_CURRENT: Style = Style::new().fg(Color::Black).bg(Color::Yellow);
// White on red reads on either background, bold or not.
const ERROR_PAIR: Style = Style::new()
    .fg(Color::White)
    .bg(Color::Red)
    .add_modifier(BOLD);

impl Palette {
    /// For dark backgrounds: the bright accents.
    pub const DARK: Self = Self {
        text: TERMINAL_FG,
        dim: Style::new().fg(Color::Gray),
        title: Style::new().fg(Color::Cyan).add_modifier(BOLD),
        focus: FOCUS,
        control: TERMINAL_FG,
        input: TERMINAL_FG.add_modifier(Modifier::UNDERLINED),
        error: Style::new().fg(Color::LightRed).add_modifier(BOLD),
        ok: Style::new().fg(Color::LightGreen),
        step_current: STEP_CURRENT,
        step_done: Style::new().fg(Color::Green),
        step_todo: Style::new().fg(Color::Gray),
        focus_marker: Style::new().fg(Color::Cyan).add_modifier(BOLD),
    };

    /// For light backgrounds. Green, cyan, yellow and every grey stay under 4.5:1 on white (and
    /// red once drawn bright), so hints use the terminal's foreground, titles blue, success is
    /// black on green and errors white on red.
    pub const LIGHT: Self = Self {
        text: TERMINAL_FG,
        dim: TERMINAL_FG,
        title: Style::new().fg(Color::Blue).add_modifier(BOLD),
        focus: FOCUS,
        control: TERMINAL_FG,
        input: TERMINAL_FG.add_modifier(Modifier::UNDERLINED),
        error: ERROR_PAIR,
        ok: Style::new().fg(Color::Black).bg(Color::Green),
        step_current: STEP_CURRENT,
        step_done: Style::new().fg(Color::Blue),
        step_todo: TERMINAL_FG,
        focus_marker: Style::new().fg(Color::Blue).add_modifier(BOLD),
    };

    /// For a background that is not known: the terminal's foreground, bold for titles, and
    /// every accent as a pair of colours (black on green, white on red) that does not depend
    /// on the background.
    pub const EITHER: Self = Self {
        text: TERMINAL_FG,
        dim: TERMINAL_FG,
        title: TERMINAL_FG.add_modifier(BOLD),
        focus: FOCUS,
        control: TERMINAL_FG,
        input: TERMINAL_FG.add_modifier(Modifier::UNDERLINED),
        error: ERROR_PAIR,
        ok: Style::new().fg(Color::Black).bg(Color::Green),
        step_current: STEP_CURRENT,
        step_done: Style::new().fg(Color::Black).bg(Color::Green),
        step_todo: TERMINAL_FG,
        focus_marker: TERMINAL_FG.add_modifier(BOLD),
    };

    /// `NO_COLOR`: focus is shown with reverse video, bold and brackets; errors with bold and a
    /// marker.
    pub const NO_COLOR: Self = Self {
        text: Style::new(),
        dim: Style::new(),
        title: Style::new().add_modifier(BOLD),
        focus: Style::new().add_modifier(Modifier::REVERSED.union(BOLD)),
        control: Style::new(),
        input: Style::new().add_modifier(Modifier::UNDERLINED),
        error: Style::new().add_modifier(BOLD),
        ok: Style::new(),
        step_current: Style::new().add_modifier(Modifier::REVERSED.union(BOLD)),
        step_done: Style::new(),
        step_todo: Style::new(),
        focus_marker: Style::new().add_modifier(BOLD),
    };

    /// Every role with its name (for the contrast checks); a new role must be added here, or
    /// this does not compile.
    pub fn roles(&self) -> [(&'static str, Style); 12] {
        let Self {
            text,
            dim,
            title,
            focus,
            control,
            input,
            error,
            ok,
            step_current,
            step_done,
            step_todo,
            focus_marker,
        } = *self;
        [
            ("text", text),
            ("dim", dim),
            ("title", title),
            ("focus", focus),
            ("control", control),
            ("input", input),
            ("error", error),
            ("ok", ok),
            ("step_current", step_current),
            ("step_done", step_done),
            ("step_todo", step_todo),
            ("focus_marker", focus_marker),
        ]
    }
}

/// The styles the screens use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// `NO_COLOR` mode.
    pub no_color: bool,
    /// The background the colours were picked for.
    pub background: Background,
}

impl Theme {
    /// A theme for a dark terminal; `no_color` drops every colour.
    pub fn new(no_color: bool) -> Self {
        Self::for_background(no_color, Background::Dark)
    }

    /// A theme for `background`; `no_color` drops every colour.
    pub fn for_background(no_color: bool, background: Background) -> Self {
        Self {
            no_color,
            background,
        }
    }

    /// The palette in use.
    pub fn palette(&self) -> &'static Palette {
        match (self.no_color, self.background) {
            (true, _) => &Palette::NO_COLOR,
            (false, Background::Dark) => &Palette::DARK,
            (false, Background::Light) => &Palette::LIGHT,
            (false, Background::Unknown) => &Palette::EITHER,
        }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        self.palette().text
    }
    /// Secondary text (hints, notes).
    pub fn dim(&self) -> Style {
        self.palette().dim
    }
    /// Titles.
    pub fn title(&self) -> Style {
        self.palette().title
    }
    /// A focused control.
    pub fn focus(&self) -> Style {
        self.palette().focus
    }
    /// An unfocused control.
    pub fn control(&self) -> Style {
        self.palette().control
    }
    /// An input field's text area.
    pub fn input(&self) -> Style {
        self.palette().input
    }
    /// Error messages.
    pub fn error(&self) -> Style {
        self.palette().error
    }
    /// Success / information messages.
    pub fn ok(&self) -> Style {
        self.palette().ok
    }
    /// The current step in the stepper.
    pub fn step_current(&self) -> Style {
        self.palette().step_current
    }
    /// Steps already done.
    pub fn step_done(&self) -> Style {
        self.palette().step_done
    }
    /// Steps still ahead.
    pub fn step_todo(&self) -> Style {
        self.palette().step_todo
    }
    /// The `>` marker in front of a focused field.
    pub fn focus_marker(&self, focused: bool) -> Style {
        if focused {
            self.palette().focus_marker
        } else {
            Style::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::shell::theme_contrast::{AA_NORMAL_TEXT, Terminal, style_contrast};

    /// Every role of each palette on the xterms it was made for: at least 4.5:1 (WCAG AA).
    #[test]
    fn every_role_reaches_aa_contrast_on_its_background() {
        let either = [Terminal::XTERM_LIGHT.as_slice(), &Terminal::XTERM_DARK].concat();
        let mut failures = Vec::new();
        for (palette, name, terminals) in [
            (Palette::DARK, "dark", Terminal::XTERM_DARK.as_slice()),
            (Palette::LIGHT, "light", Terminal::XTERM_LIGHT.as_slice()),
            (Palette::EITHER, "either", either.as_slice()),
        ] {
            for (role, style) in palette.roles() {
                for term in terminals {
                    let ratio = style_contrast(style, term);
                    if ratio < AA_NORMAL_TEXT {
                        failures.push(format!("{name}.{role} on {}: {ratio:.2}:1", term.name));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "under 4.5:1: {failures:#?}");
    }

    /// The check above can fail: the old dark palette on a white xterm, the complaint.
    #[test]
    fn the_dark_palette_fails_on_white() {
        let white = &Terminal::XTERM_LIGHT[0];
        let low: Vec<_> = Palette::DARK
            .roles()
            .into_iter()
            .filter(|(_, s)| style_contrast(*s, white) < AA_NORMAL_TEXT)
            .map(|(r, _)| r)
            .collect();
        for role in ["dim", "title", "ok", "step_done"] {
            assert!(low.contains(&role), "{role} passes on white: {low:?}");
        }
        assert!(
            style_contrast(Style::new().fg(Color::White), white) < 1.5,
            "the old control colour, white on white"
        );
        // The old focus, bold black on cyan, is grey on cyan where bold is drawn bright.
        let old_focus = FOCUS.add_modifier(BOLD);
        assert!(style_contrast(old_focus, white) < 2.5);
        assert!(style_contrast(FOCUS, white) > 10.0);
    }

    #[test]
    fn no_color_has_no_colour_and_the_default_is_dark() {
        for (_, s) in Palette::NO_COLOR.roles() {
            assert_eq!((s.fg, s.bg), (None, None));
        }
        assert_eq!(Theme::new(false).palette(), &Palette::DARK);
        assert_eq!(
            Theme::for_background(true, Background::Light).palette(),
            &Palette::NO_COLOR
        );
        assert_eq!(
            Theme::for_background(false, Background::Light).title(),
            Palette::LIGHT.title
        );
    }
}
