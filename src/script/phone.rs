//! A virtual authenticator app, like a phone: it reads the QR code drawn on the screen's cells
//! as a camera would (or takes the "Can't scan?" key as typed), and shows codes for any moment.
//!
//! API:
//! - [`read_qr`] / [`read_qr_as`]: the text of the one QR code on a [`Buffer`] (any content:
//!   an otpauth URI, a passkey's `FIDO:/` URL), or a [`ScanError`] saying what the camera saw.
//! - [`VirtualPhone::scan`]: an app set up from the otpauth QR code on screen;
//!   [`VirtualPhone::from_key`] / [`VirtualPhone::from_key_with`]: set up from the typed key.
//! - [`VirtualPhone::code_at`]: the code at a Unix time, `step_offset` steps away (negative:
//!   an older code, as when typed too late; positive: a phone whose clock runs ahead);
//!   [`VirtualPhone::used_code`]: the last code given again (a replay).
//!
//! Screens are read from their cells, not their text, so the same reader serves the headless
//! runner (ratatui's `TestBackend`) and the `--pty` driver (a terminal emulator's screen
//! converted to a [`Buffer`]).

use ratatui::buffer::Buffer;
use ratatui::style::Color;
use totp_rs::{Algorithm, Builder, Totp};

use crate::domain::{TotpAlgorithm, TotpParams, TotpSecret};
use crate::tui::widgets::qr::{DARK, QrStyle};

/// Why the camera or the app could not get a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// No QR code was found (or several were).
    #[error("{found} QR codes on the screen; the camera saw: {saw}")]
    NotOneCode {
        /// How many codes the detector found.
        found: usize,
        /// A short account of the screen: its text, or that only blocks were there.
        saw: String,
    },
    /// A code was found but its modules do not decode.
    #[error("the QR code does not decode ({why}); the camera saw: {saw}")]
    Undecodable {
        /// The decoder's complaint.
        why: String,
        /// A short account of the screen.
        saw: String,
    },
    /// The code decoded, but is not an authenticator-app (otpauth TOTP) code.
    #[error("the QR code is not an authenticator-app code: it starts with {start:?}")]
    NotOtpauth {
        /// Its first characters (never a secret: an otpauth URI is not shown).
        start: String,
    },
    /// The otpauth URI is malformed or its parameters are refused.
    #[error("the authenticator app refuses the QR code's otpauth URI: {0}")]
    BadUri(String),
    /// The typed key is not base32 or too short.
    #[error("the authenticator app refuses the key: {0}")]
    BadKey(String),
    /// A used code was asked for before any code was given.
    #[error("the phone has not shown a code yet, so there is no used code to give again")]
    NoCodeYet,
}

/// How many characters of screen text an error quotes.
const SAW_CHARS: usize = 160;

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

/// The rendering a screen uses: half blocks when a dark half block is drawn, else spaces.
fn style_of(buf: &Buffer) -> QrStyle {
    let half_block = buf
        .content()
        .iter()
        .any(|c| matches!(c.symbol(), "▀" | "▄" | "█") && (c.fg == DARK || c.bg == DARK));
    if half_block {
        QrStyle::HalfBlocks
    } else {
        QrStyle::Spaces
    }
}

/// What the camera saw, for an error: the screen's text, squeezed, or that there was none.
fn what_the_camera_saw(buf: &Buffer) -> String {
    let dark_cells = buf
        .content()
        .iter()
        .filter(|c| c.fg == DARK || c.bg == DARK)
        .count();
    let mut text = String::new();
    for cell in buf.content() {
        let s = cell.symbol();
        if matches!(s, "▀" | "▄" | "█") {
            continue;
        }
        if s.trim().is_empty() {
            if !text.ends_with(' ') && !text.is_empty() {
                text.push(' ');
            }
        } else {
            text.push_str(s);
        }
    }
    let text = text.trim();
    let mut quoted: String = text.chars().take(SAW_CHARS).collect();
    if text.chars().count() > SAW_CHARS {
        quoted.push('…');
    }
    match (quoted.is_empty(), dark_cells) {
        (true, 0) => "a blank screen".to_owned(),
        (true, n) => format!("no text, {n} dark cells"),
        (false, 0) => format!("no dark cells, text {quoted:?}"),
        (false, n) => format!("{n} dark cells, text {quoted:?}"),
    }
}

/// Reads the one QR code on `buf`, whichever way it is drawn.
pub fn read_qr(buf: &Buffer) -> Result<String, ScanError> {
    read_qr_as(buf, style_of(buf))
}

/// Reads the one QR code on `buf`, drawn in `style`.
pub fn read_qr_as(buf: &Buffer, style: QrStyle) -> Result<String, ScanError> {
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
        return Err(ScanError::NotOneCode {
            found: grids.len(),
            saw: what_the_camera_saw(buf),
        });
    }
    grids[0]
        .decode()
        .map(|(_, text)| text)
        .map_err(|e| ScanError::Undecodable {
            why: format!("{e:?}"),
            saw: what_the_camera_saw(buf),
        })
}

/// An authenticator app with one account on it. Its `Debug` never shows the secret.
pub struct VirtualPhone {
    totp: Totp,
    /// The last code shown, for [`VirtualPhone::used_code`].
    last: Option<String>,
}

impl std::fmt::Debug for VirtualPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualPhone")
            .field("account", &self.totp.account_name())
            .field("digits", &self.totp.digits())
            .field("period_secs", &self.totp.step())
            .finish_non_exhaustive()
    }
}

impl VirtualPhone {
    /// Points the camera at the screen: the QR code must be an otpauth TOTP URI.
    pub fn scan(buf: &Buffer) -> Result<Self, ScanError> {
        Self::from_uri(&read_qr(buf)?)
    }

    /// Sets the app up from an otpauth URI (what the QR code carries).
    pub fn from_uri(uri: &str) -> Result<Self, ScanError> {
        if !uri.starts_with("otpauth://totp/") {
            return Err(ScanError::NotOtpauth {
                start: uri.chars().take(16).collect(),
            });
        }
        let totp = Totp::from_url(uri).map_err(|e| ScanError::BadUri(e.to_string()))?;
        Ok(Self { totp, last: None })
    }

    /// Sets the app up from the "Can't scan?" key as shown (groups of four, any case), with the
    /// defaults the screen states and the named apps assume: SHA1, 6 digits, 30 seconds.
    pub fn from_key(key: &str) -> Result<Self, ScanError> {
        Self::from_key_with(key, TotpParams::default())
    }

    /// Sets the app up from a typed key with the type, algorithm, digits and period the
    /// "Can't scan?" view lists.
    pub fn from_key_with(key: &str, params: TotpParams) -> Result<Self, ScanError> {
        let secret = TotpSecret::from_base32(key)
            .ok_or_else(|| ScanError::BadKey("not a base32 key".to_owned()))?;
        let algorithm = match params.algorithm {
            TotpAlgorithm::Sha1 => Algorithm::SHA1,
            TotpAlgorithm::Sha256 => Algorithm::SHA256,
            TotpAlgorithm::Sha512 => Algorithm::SHA512,
        };
        let totp = Builder::new()
            .with_algorithm(algorithm)
            .with_digits(params.digits)
            .with_step_duration(params.period_secs)
            .with_skew(0)
            .with_secret(secret.as_bytes().to_vec())
            .build()
            .map_err(|e| ScanError::BadKey(e.to_string()))?;
        Ok(Self { totp, last: None })
    }

    /// The account name the app shows (from the URI; empty when set up from a key).
    pub fn account(&self) -> &str {
        self.totp.account_name()
    }

    /// Seconds per code.
    pub fn period_secs(&self) -> u64 {
        self.totp.step()
    }

    /// The code shown at `unix_time`, `step_offset` steps later (or earlier when negative).
    /// Times before 1970 count as 1970.
    pub fn code_at(&mut self, unix_time: i64, step_offset: i64) -> String {
        let period = i64::try_from(self.totp.step()).unwrap_or(30);
        let at = unix_time.saturating_add(step_offset.saturating_mul(period));
        let code = self
            .totp
            .generate(u64::try_from(at).unwrap_or(0))
            .to_string();
        self.last = Some(code.clone());
        code
    }

    /// The last code the phone showed, given again (the server must refuse it as used).
    pub fn used_code(&self) -> Result<String, ScanError> {
        self.last.clone().ok_or(ScanError::NoCodeYet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::widgets::qr::QrCode;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;
    use ratatui::text::Line;
    use ratatui::widgets::Widget;

    const URI: &str =
        "otpauth://totp/tobira:demo0001?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=tobira";
    /// 2026-11-25T00:00:00Z.
    const T0: i64 = 1_795_564_800;

    fn draw(data: &str, style: QrStyle, w: u16, h: u16) -> Buffer {
        let code = QrCode::new(data, style).expect("encodes");
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("backend");
        term.draw(|f| {
            Line::from("Scan this code").render(Rect::new(0, 0, w, 1), f.buffer_mut());
            f.render_widget(&code, Rect::new(0, 1, w, h - 1));
        })
        .expect("draw");
        term.backend().buffer().clone()
    }

    #[test]
    fn scans_either_drawing_and_gives_the_codes_of_the_uri() {
        let key = VirtualPhone::from_key("jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp")
            .map(|mut p| [-1, 0, 1].map(|o| p.code_at(T0, o)));
        for (style, w, h) in [(QrStyle::HalfBlocks, 80, 24), (QrStyle::Spaces, 120, 50)] {
            let mut phone = VirtualPhone::scan(&draw(URI, style, w, h)).expect("scans");
            assert_eq!(phone.account(), "demo0001");
            assert_eq!(phone.period_secs(), 30);
            let codes = [-1, 0, 1].map(|o| phone.code_at(T0, o));
            assert_eq!(Ok(codes.clone()), key.clone(), "{style:?}");
            assert_ne!(codes[0], codes[1]);
            assert_eq!(phone.code_at(T0 + 30, -1), codes[1], "one step = 30 s");
            assert_eq!(phone.used_code().as_deref(), Ok(codes[1].as_str()));
        }
    }

    #[test]
    fn a_used_code_needs_a_code_first() {
        let phone = VirtualPhone::from_uri(URI).expect("uri");
        assert_eq!(phone.used_code(), Err(ScanError::NoCodeYet));
        assert!(!format!("{phone:?}").contains("JBSW"), "{phone:?}");
    }

    #[test]
    fn no_code_on_screen_says_what_the_camera_saw() {
        let mut term = Terminal::new(TestBackend::new(40, 5)).expect("backend");
        term.draw(|f| {
            Line::from("Enlarge the terminal").render(f.area(), f.buffer_mut());
        })
        .expect("draw");
        let err = VirtualPhone::scan(term.backend().buffer()).expect_err("no code");
        assert_eq!(
            err,
            ScanError::NotOneCode {
                found: 0,
                saw: "no dark cells, text \"Enlarge the terminal\"".to_owned()
            }
        );
        assert!(err.to_string().contains("Enlarge the terminal"), "{err}");
        let blank = Buffer::empty(Rect::new(0, 0, 10, 3));
        assert!(
            read_qr(&blank)
                .expect_err("blank")
                .to_string()
                .contains("a blank screen")
        );
    }

    #[test]
    fn a_damaged_code_does_not_decode_and_says_so() {
        let mut buf = draw(URI, QrStyle::HalfBlocks, 80, 24);
        // Wipe a band through the data, leaving the finder patterns.
        for y in 10..13 {
            for x in 20..60 {
                buf[(x, y)].set_symbol("█");
            }
        }
        let err = read_qr(&buf).expect_err("damaged");
        assert!(
            matches!(
                err,
                ScanError::Undecodable { .. } | ScanError::NotOneCode { .. }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("dark cells"), "{err}");
    }

    #[test]
    fn other_codes_and_bad_keys_are_refused_clearly() {
        let fido = draw("FIDO:/1234567890", QrStyle::HalfBlocks, 80, 24);
        assert_eq!(read_qr(&fido).as_deref(), Ok("FIDO:/1234567890"));
        assert_eq!(
            VirtualPhone::scan(&fido).expect_err("not otpauth"),
            ScanError::NotOtpauth {
                start: "FIDO:/1234567890".to_owned()
            }
        );
        assert!(matches!(
            VirtualPhone::from_uri("otpauth://totp/x?secret=!!"),
            Err(ScanError::BadUri(_))
        ));
        assert!(matches!(
            VirtualPhone::from_key("not base32!"),
            Err(ScanError::BadKey(_))
        ));
        assert!(matches!(
            VirtualPhone::from_key("JBSWY3DP"),
            Err(ScanError::BadKey(_))
        ));
    }
}
