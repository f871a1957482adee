//! Which palette suits the terminal: its background is asked for (OSC 11) once, before the
//! screens take the terminal over.
//!
//! The query is terminal-colorsaurus's: it sends OSC 11 followed by a device-attributes request
//! (DA1) that every terminal answers, so a terminal that does not know OSC 11 is recognised at
//! once by answering DA1 first; the full timeout is spent only when nothing answers at all (a
//! pseudo-terminal nobody reads). It puts the terminal back out of raw mode on every path,
//! sends nothing when no standard stream is a terminal or `TERM` is `dumb`/`screen`.

use std::time::Duration;

use ratatui::style::Color;

use crate::tui::shell::theme_contrast::{contrast_ratio, xterm_rgb};
use crate::tui::theme::Background;

/// How the palette is chosen (`--theme`, `TOBIRA_THEME`, `[tui] theme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeChoice {
    /// Ask the terminal; `COLORFGBG` when it does not answer; else colours for either.
    #[default]
    Auto,
    /// The palette for dark backgrounds.
    Dark,
    /// The palette for light backgrounds.
    Light,
}

/// How long the terminal gets to answer. Long enough for a local terminal or a near SSH hop;
/// short enough not to be noticed at start-up when nothing answers.
pub const QUERY_TIMEOUT: Duration = Duration::from_millis(300);

/// The background to draw for: as asked, or for [`ThemeChoice::Auto`] what the terminal says
/// ([`detect`]), [`Background::Unknown`] when it says nothing.
pub fn choose(choice: ThemeChoice) -> Background {
    match choice {
        ThemeChoice::Dark => Background::Dark,
        ThemeChoice::Light => Background::Light,
        ThemeChoice::Auto => detect(QUERY_TIMEOUT).unwrap_or_default(),
    }
}

/// The terminal's background: its answer to OSC 11 within `timeout`, else `COLORFGBG`.
/// Blocks for at most `timeout`; call it before anything else reads the terminal.
pub fn detect(timeout: Duration) -> Option<Background> {
    query(timeout).or_else(|| {
        let v = std::env::var("COLORFGBG").ok()?;
        let bg = from_colorfgbg(&v);
        tracing::info!(colorfgbg = %v, ?bg, "terminal background from COLORFGBG");
        bg
    })
}

fn query(timeout: Duration) -> Option<Background> {
    let mut options = terminal_colorsaurus::QueryOptions::default();
    options.timeout = timeout;
    match terminal_colorsaurus::background_color(options) {
        Ok(colour) => {
            let (r, g, b) = colour.scale_to_8bit();
            let bg = background_of([r, g, b]);
            tracing::info!(r, g, b, ?bg, "terminal background from OSC 11");
            Some(bg)
        }
        Err(e) => {
            tracing::info!(error = %e, "the terminal did not tell its background");
            None
        }
    }
}

/// The palette for a background colour: light when black text contrasts more with it than
/// white text does.
pub fn background_of(rgb: [u8; 3]) -> Background {
    if contrast_ratio(rgb, [0x00; 3]) > contrast_ratio(rgb, [0xff; 3]) {
        Background::Light
    } else {
        Background::Dark
    }
}

/// `COLORFGBG` as rxvt and Konsole set it (`"0;15"`, `"15;default;0"`): the last field is the
/// background's colour index. As in rxvt, 0–6 and 8 are dark, 7 and 9–15 light; a 256-colour
/// index is classed by its xterm RGB.
pub fn from_colorfgbg(value: &str) -> Option<Background> {
    let index: u8 = value.rsplit(';').next()?.trim().parse().ok()?;
    Some(match index {
        0..=6 | 8 => Background::Dark,
        7 | 9..=15 => Background::Light,
        _ => background_of(xterm_rgb(Color::Indexed(index))?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classed_by_contrast() {
        assert_eq!(background_of([0xff; 3]), Background::Light);
        assert_eq!(background_of([0xfd, 0xf6, 0xe3]), Background::Light); // Solarized light
        assert_eq!(background_of([0x00; 3]), Background::Dark);
        assert_eq!(background_of([0x00, 0x2b, 0x36]), Background::Dark); // Solarized dark
        assert_eq!(background_of([0x30; 3]), Background::Dark);
        assert_eq!(background_of([0xc0; 3]), Background::Light);
    }

    #[test]
    fn colorfgbg_is_read_like_rxvt() {
        assert_eq!(from_colorfgbg("0;15"), Some(Background::Light));
        assert_eq!(from_colorfgbg("15;0"), Some(Background::Dark));
        assert_eq!(from_colorfgbg("15;default;0"), Some(Background::Dark));
        assert_eq!(from_colorfgbg("0;default;7"), Some(Background::Light));
        assert_eq!(from_colorfgbg("7;8"), Some(Background::Dark));
        assert_eq!(from_colorfgbg("0;231"), Some(Background::Light));
        assert_eq!(from_colorfgbg("0;16"), Some(Background::Dark));
        assert_eq!(from_colorfgbg("default;default"), None);
        assert_eq!(from_colorfgbg(""), None);
    }

    #[test]
    fn a_fixed_choice_is_kept() {
        assert_eq!(choose(ThemeChoice::Light), Background::Light);
        assert_eq!(choose(ThemeChoice::Dark), Background::Dark);
    }
}
