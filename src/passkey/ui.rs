//! The bridge between the library's `UiCallback` and the TUI: every prompt becomes a
//! [`PasskeyEvent`] on a channel the render loop reads; a PIN comes back on a reply channel
//! (the one callback allowed to block), with a bounded wait. Nothing here touches the terminal.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use webauthn_authenticator_rs::types::{CableRequestType, CableState, EnrollSampleStatus};
use webauthn_authenticator_rs::ui::UiCallback;
use zeroize::Zeroizing;

/// What the authenticator asks of the member, for the screen to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyEvent {
    /// Touch the key (or confirm on the device).
    Touch,
    /// Type the key's PIN; `attempt` counts the PINs asked for in this ceremony (1, 2, …).
    Pin {
        /// 1 for the first request; a higher number means the previous PIN was wrong.
        attempt: u32,
    },
    /// The key is working.
    Processing,
    /// Fingerprint enrollment on the key: samples still needed, and the last sample's feedback.
    Fingerprint {
        /// Samples still to give.
        remaining: u32,
        /// The key's comment on the last sample (e.g. `TooHigh`), if any.
        feedback: Option<String>,
    },
    /// Show this `FIDO:/…` URL as a QR code for the phone to scan.
    PhoneQr {
        /// The URL to encode.
        url: String,
    },
    /// Hide the phone's QR code (the phone has connected).
    DismissQr,
    /// Progress of the phone connection.
    Cable(CableProgress),
}

/// caBLE states, reduced to what the screen says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CableProgress {
    /// Reaching the tunnel server.
    Connecting,
    /// Setting up the encrypted channel with the phone.
    Handshaking,
    /// Waiting for the phone.
    WaitingForPhone,
    /// Working.
    Processing,
}

impl From<CableState> for CableProgress {
    fn from(s: CableState) -> Self {
        match s {
            CableState::ConnectingToTunnelServer => Self::Connecting,
            CableState::Handshaking => Self::Handshaking,
            CableState::Processing => Self::Processing,
            _ => Self::WaitingForPhone,
        }
    }
}

/// A PIN typed by the member, or `None` to give up. Zeroised when dropped.
pub type PinReply = Option<Zeroizing<String>>;

/// `UiCallback` for the TUI: sends events, waits (bounded) for a PIN. `Debug` shows no PIN.
pub struct ChannelUi {
    events: UnboundedSender<PasskeyEvent>,
    pins: Mutex<mpsc::Receiver<PinReply>>,
    pin_timeout: Duration,
    pin_requests: AtomicU32,
}

impl std::fmt::Debug for ChannelUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelUi")
            .field("pin_timeout", &self.pin_timeout)
            .finish_non_exhaustive()
    }
}

impl ChannelUi {
    /// A bridge sending to `events` and reading PINs from `pins`.
    pub fn new(
        events: UnboundedSender<PasskeyEvent>,
        pins: mpsc::Receiver<PinReply>,
        pin_timeout: Duration,
    ) -> Self {
        Self {
            events,
            pins: Mutex::new(pins),
            pin_timeout,
            pin_requests: AtomicU32::new(0),
        }
    }

    fn send(&self, event: PasskeyEvent) {
        // The screen may have gone (Esc): then nobody listens, and the ceremony ends at the
        // next PIN request or at its timeout.
        let _ = self.events.send(event);
    }
}

impl UiCallback for ChannelUi {
    fn request_pin(&self) -> Option<String> {
        let attempt = self.pin_requests.fetch_add(1, Ordering::Relaxed) + 1;
        self.send(PasskeyEvent::Pin { attempt });
        let Ok(pins) = self.pins.lock() else {
            return None;
        };
        match pins.recv_timeout(self.pin_timeout) {
            // The library wants a String; the copy it gets is the only one left.
            Ok(Some(pin)) => Some(pin.as_str().to_owned()),
            // Cancelled, timed out, or the screen went away.
            Ok(None) | Err(_) => None,
        }
    }

    fn request_touch(&self) {
        self.send(PasskeyEvent::Touch);
    }

    fn processing(&self) {
        self.send(PasskeyEvent::Processing);
    }

    fn fingerprint_enrollment_feedback(
        &self,
        remaining_samples: u32,
        feedback: Option<EnrollSampleStatus>,
    ) {
        self.send(PasskeyEvent::Fingerprint {
            remaining: remaining_samples,
            feedback: feedback.map(|f| format!("{f:?}")),
        });
    }

    fn cable_qr_code(&self, _request_type: CableRequestType, url: String) {
        self.send(PasskeyEvent::PhoneQr { url });
    }

    fn dismiss_qr_code(&self) {
        self.send(PasskeyEvent::DismissQr);
    }

    fn cable_status_update(&self, state: CableState) {
        self.send(PasskeyEvent::Cable(state.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge(
        timeout: Duration,
    ) -> (
        ChannelUi,
        tokio::sync::mpsc::UnboundedReceiver<PasskeyEvent>,
        mpsc::Sender<PinReply>,
    ) {
        let (etx, erx) = tokio::sync::mpsc::unbounded_channel();
        let (ptx, prx) = mpsc::channel();
        (ChannelUi::new(etx, prx, timeout), erx, ptx)
    }

    #[test]
    fn prompts_become_events_in_order() {
        let (ui, mut events, _pins) = bridge(Duration::from_secs(1));
        ui.request_touch();
        ui.processing();
        ui.fingerprint_enrollment_feedback(3, None);
        ui.cable_qr_code(CableRequestType::MakeCredential, "FIDO:/123".into());
        ui.cable_status_update(CableState::Handshaking);
        ui.dismiss_qr_code();
        let mut got = Vec::new();
        while let Ok(e) = events.try_recv() {
            got.push(e);
        }
        assert_eq!(
            got,
            [
                PasskeyEvent::Touch,
                PasskeyEvent::Processing,
                PasskeyEvent::Fingerprint {
                    remaining: 3,
                    feedback: None
                },
                PasskeyEvent::PhoneQr {
                    url: "FIDO:/123".into()
                },
                PasskeyEvent::Cable(CableProgress::Handshaking),
                PasskeyEvent::DismissQr,
            ]
        );
    }

    #[test]
    fn the_pin_comes_back_from_the_screen_and_attempts_are_counted() {
        let (ui, mut events, pins) = bridge(Duration::from_secs(30));
        pins.send(Some(Zeroizing::new("1234".to_owned()))).unwrap();
        assert_eq!(ui.request_pin().as_deref(), Some("1234"));
        pins.send(None).unwrap();
        assert_eq!(ui.request_pin(), None);
        assert_eq!(events.try_recv(), Ok(PasskeyEvent::Pin { attempt: 1 }));
        assert_eq!(events.try_recv(), Ok(PasskeyEvent::Pin { attempt: 2 }));
        assert!(!format!("{ui:?}").contains("1234"));
    }

    #[test]
    fn a_pin_request_ends_when_the_screen_goes_away_or_the_wait_runs_out() {
        let (ui, _events, pins) = bridge(Duration::from_secs(30));
        drop(pins);
        assert_eq!(ui.request_pin(), None);
        let (ui, _events, _pins) = bridge(Duration::from_millis(1));
        assert_eq!(ui.request_pin(), None);
    }
}
