//! What can be used here: each transport probed separately, with a bounded wait, and a reason
//! for what cannot. USB and Bluetooth are built separately because `AnyTransport` fails as a
//! whole when D-Bus is missing even though USB would work; a phone (hybrid / caBLE) needs a
//! Bluetooth adapter, so its QR code is never shown without one.

use std::time::Duration;

use btleplug::api::Manager as _;
use futures::StreamExt;
use webauthn_authenticator_rs::transport::{TokenEvent, Transport};
use webauthn_authenticator_rs::usb::USBTransport;

use super::{Limits, PasskeyError, PasskeyTransport, SoftAuthenticator};

/// One transport and whether it can be used now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    /// Which.
    pub transport: PasskeyTransport,
    /// `Ok` when usable; otherwise why not.
    pub usable: Result<(), PasskeyError>,
}

/// Every transport the transport screen lists, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// USB, Bluetooth, phone, and the soft authenticator when selected.
    pub transports: Vec<Availability>,
}

impl ProbeReport {
    /// Whether `transport` can be used.
    pub fn is_usable(&self, transport: PasskeyTransport) -> bool {
        self.transports
            .iter()
            .any(|a| a.transport == transport && a.usable.is_ok())
    }
}

/// Probes every transport concurrently, each bounded by `limits.probe`. The soft authenticator
/// is listed only when `soft` is selected.
pub async fn probe(limits: Limits, soft: Option<&SoftAuthenticator>) -> ProbeReport {
    let (usb, bluetooth) = tokio::join!(
        bounded(limits.probe, probe_usb()),
        bounded(limits.probe, probe_bluetooth_adapter())
    );
    let mut transports = vec![
        Availability {
            transport: PasskeyTransport::Usb,
            usable: usb,
        },
        Availability {
            transport: PasskeyTransport::Bluetooth,
            usable: bluetooth.clone(),
        },
        // The phone's QR code only works when this machine can hear the phone over BLE.
        Availability {
            transport: PasskeyTransport::Phone,
            usable: bluetooth,
        },
    ];
    if soft.is_some() {
        transports.push(Availability {
            transport: PasskeyTransport::Soft,
            usable: Ok(()),
        });
    }
    ProbeReport { transports }
}

async fn bounded(
    limit: Duration,
    f: impl Future<Output = Result<(), PasskeyError>>,
) -> Result<(), PasskeyError> {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or(Err(PasskeyError::TimedOut))
}

/// At least one FIDO key on USB HID. The library skips devices it cannot open without a word,
/// so unreadable /dev/hidraw nodes are counted here to tell a permission problem apart.
pub async fn probe_usb() -> Result<(), PasskeyError> {
    let transport = USBTransport::new()
        .await
        .map_err(|e| PasskeyError::UsbUnusable(format!("{e:?}")))?;
    let mut events = transport
        .watch()
        .await
        .map_err(|e| PasskeyError::UsbUnusable(format!("{e:?}")))?;
    while let Some(event) = events.next().await {
        match event {
            TokenEvent::Added(_) => return Ok(()),
            TokenEvent::EnumerationComplete => break,
            TokenEvent::Removed(_) => {}
        }
    }
    Err(PasskeyError::NoSecurityKey {
        unreadable: unreadable_hidraw(std::path::Path::new("/dev")),
    })
}

/// How many `hidraw*` nodes under `dev` this process cannot open for reading and writing.
pub fn unreadable_hidraw(dev: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dev) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("hidraw"))
        .filter(|e| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(e.path())
                .is_err()
        })
        .count()
}

/// A Bluetooth adapter reachable through BlueZ. `BluetoothTransport::new()` succeeds even when
/// Bluetooth is unusable, so the adapter list is what decides.
pub async fn probe_bluetooth_adapter() -> Result<(), PasskeyError> {
    let manager = btleplug::platform::Manager::new()
        .await
        .map_err(|e| PasskeyError::BluetoothUnreachable(e.to_string()))?;
    let adapters = manager
        .adapters()
        .await
        .map_err(|e| PasskeyError::BluetoothUnreachable(e.to_string()))?;
    if adapters.is_empty() {
        Err(PasskeyError::NoBluetoothAdapter)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_hidraw_counts_only_hidraw_nodes_that_fail_to_open() {
        let dir = tempfile::tempdir().unwrap();
        // A directory named like a node cannot be opened for writing: it counts.
        std::fs::create_dir(dir.path().join("hidraw0")).unwrap();
        // A writable file does not; other names are ignored.
        std::fs::write(dir.path().join("hidraw1"), b"").unwrap();
        std::fs::create_dir(dir.path().join("tty0")).unwrap();
        assert_eq!(unreadable_hidraw(dir.path()), 1);
        assert_eq!(unreadable_hidraw(&dir.path().join("missing")), 0);
    }

    #[test]
    fn every_reason_has_its_own_message() {
        let all = [
            PasskeyError::NoSecurityKey { unreadable: 0 },
            PasskeyError::NoSecurityKey { unreadable: 2 },
            PasskeyError::UsbUnusable(String::new()),
            PasskeyError::NoBluetoothAdapter,
            PasskeyError::BluetoothUnreachable(String::new()),
            PasskeyError::NoBluetoothKey,
            PasskeyError::SoftNotSelected,
            PasskeyError::TimedOut,
            PasskeyError::Cancelled,
            PasskeyError::Authenticator(String::new()),
            PasskeyError::Internal(String::new()),
        ];
        let mut keys: Vec<_> = all.iter().map(PasskeyError::message_key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
    }
}
