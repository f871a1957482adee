//! A QR code drawn in the terminal: the otpauth URI of an authenticator app (and, later, the
//! `FIDO:/` URI of a passkey on a phone).
//!
//! Phones read the code off the screen, so the drawing is explicit: dark modules black on a white
//! background, quiet zone included, whatever the terminal's theme (a reversed code or a dark
//! quiet zone failed to decode). The error-correction level and quiet zone are chosen to fit the
//! area; when nothing fits, [`QrCode::required_size`] says how big the area must be, so the
//! screen can ask for a larger terminal and show the key to type instead.
//!
//! Two renderings: half blocks (`▀ ▄ █`, two module rows per terminal row — the compact one),
//! and coloured spaces (two columns per module, one row per module) for terminals that draw
//! East-Asian-ambiguous characters double width, which stretches half blocks out of shape.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::Widget;

/// The colour of a dark module.
pub const DARK: Color = Color::Black;
/// The colour of a light module and of the quiet zone.
pub const LIGHT: Color = Color::White;

/// The quiet zone tried first (the standard's 4 modules) and the smallest one accepted.
const QUIET_ZONES: [u16; 4] = [4, 3, 2, 1];

/// How the modules are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QrStyle {
    /// `▀ ▄ █` and spaces: one column and half a row per module.
    #[default]
    HalfBlocks,
    /// Coloured spaces only: two columns and one row per module (safe where ambiguous-width
    /// characters are drawn wide, common with Japanese terminal settings).
    Spaces,
}

/// An error-correction level the widget may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcLevel {
    /// 15 % of the code may be damaged: tried first.
    M,
    /// 7 %: a smaller code when M does not fit.
    L,
}

/// Why a string cannot be drawn as a QR code at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too much data for a QR code: {0}")]
pub struct QrError(String);

/// One way of drawing the code: its level, quiet zone and size on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrLayout {
    /// The error-correction level.
    pub ec: EcLevel,
    /// Quiet-zone width, in modules.
    pub quiet_zone: u16,
    /// Columns used.
    pub width: u16,
    /// Rows used.
    pub height: u16,
}

/// The modules of one encoding.
#[derive(Debug, Clone)]
struct Matrix {
    ec: EcLevel,
    size: usize,
    dark: Vec<bool>,
}

impl Matrix {
    fn encode(data: &str, ec: EcLevel) -> Result<Self, QrError> {
        let level = match ec {
            EcLevel::M => qrcode::EcLevel::M,
            EcLevel::L => qrcode::EcLevel::L,
        };
        let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), level)
            .map_err(|e| QrError(e.to_string()))?;
        Ok(Self {
            ec,
            size: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect(),
        })
    }

    /// Whether the module at (x, y) of the code with a quiet zone of `q` is dark.
    fn at(&self, x: usize, y: usize, q: usize) -> bool {
        let (Some(x), Some(y)) = (x.checked_sub(q), y.checked_sub(q)) else {
            return false;
        };
        x < self.size && y < self.size && self.dark[y * self.size + x]
    }

    fn screen_size(&self, style: QrStyle, q: u16) -> (u16, u16) {
        let modules = u16::try_from(self.size)
            .unwrap_or(u16::MAX)
            .saturating_add(2 * q);
        match style {
            QrStyle::HalfBlocks => (modules, modules.div_ceil(2)),
            QrStyle::Spaces => (modules.saturating_mul(2), modules),
        }
    }
}

/// A QR code widget for one string. Encode once, draw every frame.
#[derive(Debug, Clone)]
pub struct QrCode {
    /// M first, then L.
    encodings: Vec<Matrix>,
    style: QrStyle,
}

impl QrCode {
    /// Encodes `data` (at both levels) for drawing in `style`.
    pub fn new(data: &str, style: QrStyle) -> Result<Self, QrError> {
        let mut encodings = vec![Matrix::encode(data, EcLevel::L)?];
        // M needs more room; when even M cannot hold the data, L alone is offered.
        if let Ok(m) = Matrix::encode(data, EcLevel::M) {
            encodings.insert(0, m);
        }
        Ok(Self { encodings, style })
    }

    /// The same code drawn in another style.
    pub fn with_style(mut self, style: QrStyle) -> Self {
        self.style = style;
        self
    }

    /// The rendering style.
    pub fn style(&self) -> QrStyle {
        self.style
    }

    /// Every layout in order of preference: the full quiet zone at M, then at L, then smaller
    /// quiet zones — a wide quiet zone helps a phone find the code more than the extra error
    /// correction of M on a screen that is never damaged.
    fn candidates(&self) -> impl Iterator<Item = (QrLayout, &Matrix)> {
        QUIET_ZONES.into_iter().flat_map(move |q| {
            self.encodings.iter().map(move |m| {
                let (width, height) = m.screen_size(self.style, q);
                (
                    QrLayout {
                        ec: m.ec,
                        quiet_zone: q,
                        width,
                        height,
                    },
                    m,
                )
            })
        })
    }

    /// The most preferred layout that fits `width` x `height`, if any.
    pub fn layout(&self, width: u16, height: u16) -> Option<QrLayout> {
        self.candidates()
            .map(|(l, _)| l)
            .find(|l| l.width <= width && l.height <= height)
    }

    /// Whether the code can be drawn in `width` x `height`.
    pub fn fits(&self, width: u16, height: u16) -> bool {
        self.layout(width, height).is_some()
    }

    /// The smallest area (columns, rows) the code can be drawn in: level L, quiet zone 1.
    pub fn required_size(&self) -> (u16, u16) {
        self.candidates()
            .map(|(l, _)| (l.width, l.height))
            .min_by_key(|&(w, h)| u32::from(w) * u32::from(h))
            .unwrap_or((u16::MAX, u16::MAX))
    }

    /// The area (columns, rows) of the preferred layout: level M with the full quiet zone.
    pub fn preferred_size(&self) -> (u16, u16) {
        self.candidates()
            .next()
            .map(|(l, _)| (l.width, l.height))
            .unwrap_or((u16::MAX, u16::MAX))
    }
}

impl Widget for &QrCode {
    /// Draws the code centred in `area`, or nothing when it does not fit (check
    /// [`QrCode::fits`] first and show the typed key instead).
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some((layout, matrix)) = self
            .candidates()
            .find(|(l, _)| l.width <= area.width && l.height <= area.height)
        else {
            return;
        };
        let x0 = area.x + (area.width - layout.width) / 2;
        let y0 = area.y + (area.height - layout.height) / 2;
        let q = usize::from(layout.quiet_zone);
        for row in 0..layout.height {
            for col in 0..layout.width {
                let Some(cell) = buf.cell_mut((x0 + col, y0 + row)) else {
                    continue;
                };
                let (c, r) = (usize::from(col), usize::from(row));
                match self.style {
                    QrStyle::HalfBlocks => {
                        let top = matrix.at(c, 2 * r, q);
                        let bottom = matrix.at(c, 2 * r + 1, q);
                        let symbol = match (top, bottom) {
                            (false, false) => " ",
                            (true, false) => "▀",
                            (false, true) => "▄",
                            (true, true) => "█",
                        };
                        cell.set_symbol(symbol)
                            .set_style(Style::default().fg(DARK).bg(LIGHT));
                    }
                    QrStyle::Spaces => {
                        let colour = if matrix.at(c / 2, r, q) { DARK } else { LIGHT };
                        cell.set_symbol(" ")
                            .set_style(Style::default().fg(colour).bg(colour));
                    }
                }
            }
        }
    }
}

impl Widget for QrCode {
    fn render(self, area: Rect, buf: &mut Buffer) {
        (&self).render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// A typical otpauth URI of this product (about 80 bytes).
    const SHORT: &str =
        "otpauth://totp/tobira:demo0001?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=tobira";
    /// A long one (116 bytes), as in STACK.md's measurements.
    const LONG: &str = "otpauth://totp/Kenpo%20Member%20Portal:taro.yamada1?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kenpo%20Member%20Portal";

    fn draw(code: &QrCode, w: u16, h: u16) -> Buffer {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| f.render_widget(code, f.area())).unwrap();
        term.backend().buffer().clone()
    }

    #[test]
    fn drawn_dark_on_light_with_the_quiet_zone() {
        let code = QrCode::new(SHORT, QrStyle::HalfBlocks).unwrap();
        let (w, h) = code.preferred_size();
        let buf = draw(&code, w, h);
        for cell in buf.content() {
            assert_eq!((cell.fg, cell.bg), (DARK, LIGHT));
        }
        // The quiet zone: the first two rows (4 modules) and first 4 columns are light.
        for x in 0..w {
            assert_eq!(buf[(x, 0)].symbol(), " ");
            assert_eq!(buf[(x, 1)].symbol(), " ");
        }
        for y in 0..h {
            for x in 0..4 {
                assert_eq!(buf[(x, y)].symbol(), " ");
            }
        }
        assert_eq!(buf[(4, 2)].symbol(), "█", "the finder pattern's corner");
    }

    #[test]
    fn the_layout_follows_the_space() {
        let long = QrCode::new(LONG, QrStyle::HalfBlocks).unwrap();
        // Version 7 at M: 45 modules + 2 x 4 quiet = 53 columns, 27 rows.
        assert_eq!(long.preferred_size(), (53, 27));
        assert_eq!(
            long.layout(80, 27),
            Some(QrLayout {
                ec: EcLevel::M,
                quiet_zone: 4,
                width: 53,
                height: 27
            })
        );
        // The whole 80x24 screen: L with a 3-module quiet zone (M at 3 would need 26 rows).
        assert_eq!(
            long.layout(80, 24),
            Some(QrLayout {
                ec: EcLevel::L,
                quiet_zone: 3,
                width: 47,
                height: 24
            })
        );
        // 80x24 less a title and a button row: L with the one-module quiet zone.
        let l = long.layout(80, 22).unwrap();
        assert_eq!(
            (l.ec, l.quiet_zone, l.width, l.height),
            (EcLevel::L, 1, 43, 22)
        );
        assert_eq!(long.layout(80, 21), None);
        assert!(long.fits(80, 24));
        assert!(!long.fits(80, 10));
        assert_eq!(long.required_size(), (43, 22));
        // The code of this product's usual URI fits 80x24 with the full quiet zone.
        let short = QrCode::new(SHORT, QrStyle::HalfBlocks).unwrap();
        assert_eq!(short.layout(80, 24).map(|l| l.quiet_zone), Some(4));
        // Coloured spaces need twice the columns: too wide for 80 columns at full size.
        let spaces = QrCode::new(LONG, QrStyle::Spaces).unwrap();
        assert!(!spaces.fits(80, 24));
        let (w, h) = spaces.required_size();
        assert_eq!((w, h), (86, 43));
        assert!(spaces.fits(w, h) && !spaces.fits(w - 1, h) && !spaces.fits(w, h - 1));
        // Nothing drawn where nothing fits.
        let buf = draw(&long, 30, 10);
        assert!(
            buf.content()
                .iter()
                .all(|c| c.symbol() == " " && c.bg == Color::Reset)
        );
    }

    #[test]
    fn too_much_data_is_an_error() {
        assert!(QrCode::new(&"x".repeat(4000), QrStyle::HalfBlocks).is_err());
    }
}
