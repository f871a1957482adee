//! What the member's and the staff's passkey screens share: the ceremony's phases, how the
//! ceremony thread's events move them, and the drawing of the authenticator's prompts (touch,
//! PIN, fingerprint, the phone's QR code). The ceremony itself runs on its own thread
//! ([`crate::tui::PasskeyRunner`]); the screens only show its events and answer its questions.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::passkey::probe::ProbeReport;
use crate::passkey::ui::{CableProgress, PasskeyEvent};
use crate::passkey::{PasskeyError, PasskeyTransport};
use crate::tui::shell::form::{Col, Ctx};
use crate::tui::widgets::qr::{QrCode, QrLayout, QrStyle};

/// What a passkey screen shows now.
#[derive(Debug, Clone)]
pub enum PasskeyPhase {
    /// Finding out which transports work here.
    Probing,
    /// Choosing the transport; unusable ones are listed with their reason.
    Choose(ProbeReport),
    /// Waiting for the authenticator (connecting, or before its first prompt).
    Waiting,
    /// "Touch your key".
    Touch,
    /// The key's PIN (masked); `attempt` > 1 after a wrong PIN.
    Pin {
        /// The PIN request's number in this ceremony.
        attempt: u32,
    },
    /// The key is working.
    Processing,
    /// Fingerprint enrollment on the key.
    Fingerprint {
        /// Samples still to give.
        remaining: u32,
    },
    /// The phone's QR code (`FIDO:/…`), with the connection's progress.
    PhoneQr {
        /// The URL to scan.
        url: String,
        /// Where the connection is.
        progress: Option<CableProgress>,
    },
    /// Naming the new passkey.
    Naming,
    /// At method set-up, a member who cannot finish picks another method instead.
    OtherMethod,
    /// The ceremony stopped; the message explains why.
    Failed(PasskeyError),
}

impl PasskeyPhase {
    /// Whether a ceremony is waiting on the authenticator (Esc cancels it).
    pub fn in_ceremony(&self) -> bool {
        matches!(
            self,
            PasskeyPhase::Waiting
                | PasskeyPhase::Touch
                | PasskeyPhase::Pin { .. }
                | PasskeyPhase::Processing
                | PasskeyPhase::Fingerprint { .. }
                | PasskeyPhase::PhoneQr { .. }
        )
    }

    /// The phase a ceremony event leads to; `None` when the event only updates this phase
    /// (the phone connection's progress).
    pub fn after(&mut self, event: PasskeyEvent) -> Option<PasskeyPhase> {
        Some(match event {
            PasskeyEvent::Touch => PasskeyPhase::Touch,
            PasskeyEvent::Pin { attempt } => PasskeyPhase::Pin { attempt },
            PasskeyEvent::Processing | PasskeyEvent::DismissQr => PasskeyPhase::Processing,
            PasskeyEvent::Fingerprint { remaining, .. } => PasskeyPhase::Fingerprint { remaining },
            PasskeyEvent::PhoneQr { url } => PasskeyPhase::PhoneQr {
                url,
                progress: None,
            },
            PasskeyEvent::Cable(p) => {
                if let PasskeyPhase::PhoneQr { progress, .. } = self {
                    *progress = Some(p);
                }
                return None;
            }
        })
    }

    /// The QR code a phase draws (the phone's), if any.
    pub fn qr(&self) -> Option<QrCode> {
        match self {
            PasskeyPhase::PhoneQr { url, .. } => QrCode::new(url, QrStyle::HalfBlocks).ok(),
            _ => None,
        }
    }
}

/// The label of a transport on the choice screen.
pub fn transport_key(t: PasskeyTransport) -> &'static str {
    match t {
        PasskeyTransport::Usb => "passkey.transport.usb",
        PasskeyTransport::Bluetooth => "passkey.transport.bluetooth",
        PasskeyTransport::Phone => "passkey.transport.phone",
        PasskeyTransport::Soft => "passkey.transport.soft",
    }
}

/// Draws the prompt of the phases that only wait on the authenticator (waiting, touch,
/// processing, fingerprint); `false` for any other phase (nothing drawn).
pub fn render_prompt<F>(
    frame: &mut Frame,
    col: &mut Col,
    phase: &PasskeyPhase,
    transport: Option<PasskeyTransport>,
    ctx: &Ctx<F>,
) -> bool {
    match phase {
        PasskeyPhase::Waiting => {
            let key = match transport {
                Some(PasskeyTransport::Usb) => "passkey.waiting_usb",
                Some(PasskeyTransport::Bluetooth) => "passkey.waiting_bluetooth",
                _ => "passkey.waiting",
            };
            col.text(frame, ctx.t(key), ctx.theme.text());
        }
        PasskeyPhase::Touch => {
            col.text(frame, ctx.t("passkey.touch"), ctx.theme.title());
            col.gap(1);
            col.text(frame, ctx.t("passkey.touch_hint"), ctx.theme.dim());
        }
        PasskeyPhase::Processing => {
            col.text(frame, ctx.t("passkey.processing"), ctx.theme.text());
        }
        PasskeyPhase::Fingerprint { remaining } => {
            let line = ctx
                .t("passkey.fingerprint")
                .replace("{n}", &remaining.to_string());
            col.text(frame, &line, ctx.theme.text());
        }
        _ => return false,
    }
    true
}

/// The code and its layout in `area` (beside a text column of at least 20 cells), if it fits.
pub fn qr_fit(qr: Option<&QrCode>, area: Rect) -> Option<(&QrCode, QrLayout)> {
    let q = qr?;
    let text_w = 30u16.min(area.width / 3).max(20);
    q.layout(area.width.saturating_sub(text_w + 2), area.height)
        .map(|l| (q, l))
}

/// Whether the phone's QR code needs the whole terminal: it fits there but not in `body`
/// (title and gap above it, the buttons below).
pub fn wants_full_frame(phase: &PasskeyPhase, qr: Option<&QrCode>, body: Rect, full: Rect) -> bool {
    let inner = |r: Rect| Rect::new(r.x, r.y + 2, r.width, r.height.saturating_sub(4));
    matches!(phase, PasskeyPhase::PhoneQr { .. })
        && qr_fit(qr, inner(body)).is_none()
        && qr_fit(qr, inner(full)).is_some()
}

/// The phone's QR code beside (or above) the instructions; a code that does not fit is never
/// drawn cut — the user is asked for a larger terminal instead.
pub fn render_phone_qr<F>(
    frame: &mut Frame,
    col: &mut Col,
    qr: Option<&QrCode>,
    progress: Option<CableProgress>,
    ctx: &Ctx<F>,
) {
    let status = match progress {
        None => "passkey.phone_scan",
        Some(CableProgress::Connecting) => "passkey.cable.connecting",
        Some(CableProgress::Handshaking) => "passkey.cable.handshaking",
        Some(CableProgress::WaitingForPhone) => "passkey.cable.waiting",
        Some(CableProgress::Processing) => "passkey.cable.processing",
    };
    let area = Rect::new(
        col.area.x,
        col.y,
        col.area.width,
        col.left().saturating_sub(2),
    );
    match qr_fit(qr, area) {
        Some((q, l)) => {
            frame.render_widget(q, Rect::new(area.x, area.y, l.width, l.height));
            let text = Rect::new(
                area.x + l.width + 2,
                area.y,
                area.width.saturating_sub(l.width + 2),
                l.height,
            );
            let mut tc = Col::new(text);
            tc.text(frame, ctx.t(status), ctx.theme.text());
            tc.gap(1);
            tc.text(frame, ctx.t("passkey.bluetooth_on"), ctx.theme.dim());
            tc.gap(1);
            tc.text(frame, ctx.t("passkey.esc_cancels"), ctx.theme.dim());
            col.gap(l.height);
        }
        None => {
            col.text(frame, ctx.t("passkey.qr_too_small"), ctx.theme.error());
            col.gap(1);
            col.text(frame, ctx.t("passkey.bluetooth_on"), ctx.theme.dim());
        }
    }
}
