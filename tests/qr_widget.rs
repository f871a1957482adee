//! The QR widget read back by a decoder, as a phone reads the screen: both renderings, at the
//! preferred and at the smallest layout.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use tobira::script::phone::read_qr_as;
use tobira::tui::widgets::qr::{QrCode, QrStyle};

/// A typical otpauth URI of this product (about 80 bytes).
const SHORT: &str =
    "otpauth://totp/tobira:demo0001?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=tobira";
/// A long one (116 bytes), as in STACK.md's measurements.
const LONG: &str = "otpauth://totp/Kenpo%20Member%20Portal:taro.yamada1?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kenpo%20Member%20Portal";

fn draw(code: &QrCode, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| f.render_widget(code, f.area()))
        .expect("draw");
    term.backend().buffer().clone()
}

#[test]
fn half_blocks_decode_back_to_the_uri() {
    for data in [SHORT, LONG] {
        let code = QrCode::new(data, QrStyle::HalfBlocks).expect("encodes");
        let (w, h) = code.preferred_size();
        assert_eq!(
            read_qr_as(&draw(&code, w + 6, h + 2), QrStyle::HalfBlocks).as_deref(),
            Ok(data)
        );
        // And in the smallest layout, at level L with a one-module quiet zone.
        let (w, h) = code.required_size();
        assert_eq!(
            read_qr_as(&draw(&code, w, h), QrStyle::HalfBlocks).as_deref(),
            Ok(data)
        );
    }
}

#[test]
fn coloured_spaces_decode_back_to_the_uri() {
    let code = QrCode::new(SHORT, QrStyle::Spaces).expect("encodes");
    let (w, h) = code.preferred_size();
    let buf = draw(&code, w, h);
    assert!(
        buf.content().iter().all(|c| c.symbol() == " "),
        "only spaces, no ambiguous-width glyphs"
    );
    assert_eq!(read_qr_as(&buf, QrStyle::Spaces).as_deref(), Ok(SHORT));
    let (w, h) = code.required_size();
    assert_eq!(
        read_qr_as(&draw(&code, w, h), QrStyle::Spaces).as_deref(),
        Ok(SHORT)
    );
}
