//! Reading a QR code off a drawn screen, as a phone's camera would: each cell's glyph and
//! colours become pixels, and rqrr finds and decodes the code.

use ratatui::buffer::Buffer;
use ratatui::style::Color;
use tobira::tui::widgets::qr::{DARK, QrStyle};

/// The modules as a terminal shows them: (columns, 2 x rows) half-row pixels, dark = true.
fn pixels(buf: &Buffer) -> (usize, usize, Vec<bool>) {
    let (w, h) = (usize::from(buf.area.width), usize::from(buf.area.height));
    let dark = |c: Color| c == DARK;
    let mut px = vec![false; w * h * 2];
    for (i, cell) in buf.content().iter().enumerate() {
        let (x, y) = (i % w, i / w);
        let (fg, bg) = (dark(cell.fg), dark(cell.bg));
        let (top, bottom) = match cell.symbol() {
            "▀" => (fg, bg),
            "▄" => (bg, fg),
            "█" => (fg, fg),
            " " => (bg, bg),
            // Anything else (text beside the code) is the terminal's default: light.
            _ => (false, false),
        };
        px[(2 * y) * w + x] = top;
        px[(2 * y + 1) * w + x] = bottom;
    }
    (w, h * 2, px)
}

/// Decodes the one QR code on `buf`; an error says what the camera saw instead.
pub fn decode(buf: &Buffer, style: QrStyle) -> Result<String, String> {
    let (w, h, px) = pixels(buf);
    // A module is 1x2 half-row pixels in half blocks, 2x2 in spaces: make it square, then
    // magnify so the detector sees clean edges.
    let (sx, sy) = match style {
        QrStyle::HalfBlocks => (2, 1),
        QrStyle::Spaces => (1, 1),
    };
    let zoom = 4;
    let (iw, ih) = (w * sx * zoom, h * sy * zoom);
    let mut img = rqrr::PreparedImage::prepare_from_bitmap(iw, ih, |x, y| {
        px[(y / (sy * zoom)) * w + x / (sx * zoom)]
    });
    let grids = img.detect_grids();
    if grids.len() != 1 {
        return Err(format!("{} QR codes on the screen", grids.len()));
    }
    grids[0]
        .decode()
        .map(|(_, text)| text)
        .map_err(|e| format!("the code does not decode: {e:?}"))
}
