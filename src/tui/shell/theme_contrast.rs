//! WCAG 2 contrast of a style as xterm draws it with its default colours: how the palettes in
//! [`crate::tui::theme`] are checked, and how a detected background is classed.

use ratatui::style::{Color, Modifier, Style};

/// WCAG 2 level AA for normal text.
pub const AA_NORMAL_TEXT: f64 = 4.5;

/// xterm's default RGB for the 16 ANSI colours (its `color0`…`color15` resources).
pub const XTERM_16: [[u8; 3]; 16] = [
    [0x00, 0x00, 0x00], // black
    [0xcd, 0x00, 0x00], // red3
    [0x00, 0xcd, 0x00], // green3
    [0xcd, 0xcd, 0x00], // yellow3
    [0x00, 0x00, 0xee], // blue2
    [0xcd, 0x00, 0xcd], // magenta3
    [0x00, 0xcd, 0xcd], // cyan3
    [0xe5, 0xe5, 0xe5], // gray90
    [0x7f, 0x7f, 0x7f], // gray50
    [0xff, 0x00, 0x00], // red
    [0x00, 0xff, 0x00], // green
    [0xff, 0xff, 0x00], // yellow
    [0x5c, 0x5c, 0xff], // rgb:5c/5c/ff
    [0xff, 0x00, 0xff], // magenta
    [0x00, 0xff, 0xff], // cyan
    [0xff, 0xff, 0xff], // white
];

/// A terminal's default foreground and background (what `Color::Reset` shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// A short description for messages.
    pub name: &'static str,
    /// The default foreground.
    pub fg: [u8; 3],
    /// The default background.
    pub bg: [u8; 3],
}

impl Terminal {
    /// xterm's own default, `xterm -fg black -bg white`.
    pub const XTERM_LIGHT: [Self; 1] = [Self {
        name: "xterm black on white",
        fg: [0x00; 3],
        bg: [0xff; 3],
    }];
    /// `xterm -fg white -bg black`, and the grey (`color7`) foreground many dark setups use.
    pub const XTERM_DARK: [Self; 2] = [
        Self {
            name: "xterm white on black",
            fg: [0xff; 3],
            bg: [0x00; 3],
        },
        Self {
            name: "xterm grey on black",
            fg: XTERM_16[7],
            bg: [0x00; 3],
        },
    ];
}

/// The RGB xterm shows for `color`; `None` for `Reset` (the terminal's default).
pub fn xterm_rgb(color: Color) -> Option<[u8; 3]> {
    match color {
        Color::Rgb(r, g, b) => Some([r, g, b]),
        other => ansi_index(other).map(indexed_rgb),
    }
}

/// The palette index of a 16- or 256-colour `color`.
fn ansi_index(color: Color) -> Option<u8> {
    Some(match color {
        Color::Reset | Color::Rgb(..) => return None,
        Color::Indexed(i) => i,
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
    })
}

/// xterm's 256-colour palette: the 16 above, the 6x6x6 cube, then 24 greys.
fn indexed_rgb(i: u8) -> [u8; 3] {
    match i {
        0..=15 => XTERM_16[usize::from(i)],
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let n = i - 16;
            [level(n / 36), level(n / 6 % 6), level(n % 6)]
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            [v, v, v]
        }
    }
}

/// WCAG 2 relative luminance of an sRGB colour (0 black … 1 white).
pub fn relative_luminance([r, g, b]: [u8; 3]) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// WCAG 2 contrast ratio of two colours (1 … 21).
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The contrast of text in `style` on `term`: unset or `Reset` colours are the terminal's
/// defaults; reverse video swaps them. Bold text with a foreground 0–7 counts at the lower of
/// its colour and the bright one (8–15) xterm's `boldColors` may draw instead.
pub fn style_contrast(style: Style, term: &Terminal) -> f64 {
    let bg = style.bg.and_then(xterm_rgb).unwrap_or(term.bg);
    let mut fgs = vec![style.fg.and_then(xterm_rgb).unwrap_or(term.fg)];
    if style.add_modifier.contains(Modifier::BOLD)
        && let Some(i) = style.fg.and_then(ansi_index).filter(|i| *i < 8)
    {
        fgs.push(XTERM_16[usize::from(i + 8)]);
    }
    fgs.into_iter()
        .map(|fg| {
            if style.add_modifier.contains(Modifier::REVERSED) {
                contrast_ratio(bg, fg)
            } else {
                contrast_ratio(fg, bg)
            }
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_match_the_wcag_reference_values() {
        assert!((contrast_ratio([0; 3], [0xff; 3]) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio([0x77; 3], [0x77; 3]) - 1.0).abs() < 1e-9);
        // #767676 on white is the lightest grey that passes AA: 4.54:1.
        let grey = contrast_ratio([0x76; 3], [0xff; 3]);
        assert!((grey - 4.54).abs() < 0.01, "{grey}");
        assert!(contrast_ratio([0x77; 3], [0xff; 3]) < AA_NORMAL_TEXT);
    }

    #[test]
    fn styles_resolve_reset_and_reverse_video() {
        let white = &Terminal::XTERM_LIGHT[0];
        assert!((style_contrast(Style::new(), white) - 21.0).abs() < 1e-9);
        let grey_on_white = style_contrast(Style::new().fg(Color::Gray), white);
        assert!(grey_on_white < 1.3, "{grey_on_white}");
        let reversed = Style::new()
            .fg(Color::Gray)
            .add_modifier(Modifier::REVERSED);
        assert!((style_contrast(reversed, white) - grey_on_white).abs() < 1e-9);
        // Bold red may be drawn bright red: 4.0:1 on white, not red3's 5.9:1.
        let red = Style::new().fg(Color::Red);
        assert!(style_contrast(red, white) > 5.8);
        let bold_red = style_contrast(red.add_modifier(Modifier::BOLD), white);
        assert!((bold_red - 4.0).abs() < 0.01, "{bold_red}");
        assert_eq!(xterm_rgb(Color::Indexed(196)), Some([0xff, 0, 0]));
        assert_eq!(xterm_rgb(Color::Indexed(244)), Some([0x80; 3]));
        assert_eq!(xterm_rgb(Color::Reset), None);
    }
}
