//! Passkeys on the member's side (webauthn-authenticator-rs): which authenticators can be used
//! here ([`probe`]), the ceremony run on a dedicated thread ([`ceremony`]), and the bridge that
//! turns the library's UI callbacks into events for the TUI ([`ui`]).
//!
//! Nothing here draws or reads the terminal: the library's own CLI UI would write over the
//! ratatui screen, so every prompt goes through [`ui::ChannelUi`].

pub mod ceremony;
pub mod probe;
pub mod ui;

use std::time::Duration;

pub use crate::domain::PasskeyTransport;

/// How long each wait may take. Every wait in this module is bounded by one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Probing one transport (USB enumeration, the Bluetooth adapter list).
    pub probe: Duration,
    /// Finding the authenticator once chosen (a key to appear, the phone to connect).
    pub connect: Duration,
    /// The whole ceremony, touch and PIN included.
    pub ceremony: Duration,
    /// The member typing a PIN.
    pub pin: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            probe: Duration::from_secs(3),
            connect: Duration::from_secs(60),
            ceremony: Duration::from_secs(120),
            pin: Duration::from_secs(120),
        }
    }
}

/// Why a transport cannot be used here, or why a ceremony stopped. Each has its own message in
/// the `passkey.reason.*` i18n keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyError {
    /// No FIDO key on USB; `unreadable` hidraw devices exist that this user cannot open.
    #[error("no security key found (plug it in; {unreadable} /dev/hidraw devices not readable)")]
    NoSecurityKey {
        /// /dev/hidraw* nodes this user may not open (udev rules / permissions).
        unreadable: usize,
    },
    /// USB HID could not be used at all.
    #[error("USB cannot be used: {0}")]
    UsbUnusable(String),
    /// The system has no Bluetooth adapter.
    #[error("no Bluetooth adapter")]
    NoBluetoothAdapter,
    /// Bluetooth (BlueZ over D-Bus) cannot be reached.
    #[error("Bluetooth is not available: {0}")]
    BluetoothUnreachable(String),
    /// No Bluetooth security key showed up in time.
    #[error("no Bluetooth security key found")]
    NoBluetoothKey,
    /// The soft authenticator was not selected (it is for tests and scripted runs only).
    #[error("the soft authenticator is not selected")]
    SoftNotSelected,
    /// A wait ran out (probe, connection, touch, PIN).
    #[error("timed out")]
    TimedOut,
    /// The member cancelled (Esc), or no PIN was given.
    #[error("cancelled")]
    Cancelled,
    /// The authenticator refused or failed (wrong PIN, excluded credential, unsupported).
    #[error("the authenticator failed: {0}")]
    Authenticator(String),
    /// The ceremony thread could not run.
    #[error("internal error: {0}")]
    Internal(String),
}

impl PasskeyError {
    /// The i18n key of the member-facing message.
    pub fn message_key(&self) -> &'static str {
        match self {
            Self::NoSecurityKey { unreadable: 0 } => "passkey.reason.no_security_key",
            Self::NoSecurityKey { .. } => "passkey.reason.hidraw_permission",
            Self::UsbUnusable(_) => "passkey.reason.usb_unusable",
            Self::NoBluetoothAdapter => "passkey.reason.no_bluetooth_adapter",
            Self::BluetoothUnreachable(_) => "passkey.reason.bluetooth_unreachable",
            Self::NoBluetoothKey => "passkey.reason.no_bluetooth_key",
            Self::SoftNotSelected => "passkey.reason.soft_not_selected",
            Self::TimedOut => "passkey.reason.timed_out",
            Self::Cancelled => "passkey.reason.cancelled",
            Self::Authenticator(_) => "passkey.reason.authenticator",
            Self::Internal(_) => "passkey.reason.internal",
        }
    }
}

/// The soft authenticator, for tests and scripted runs only: never offered unless selected
/// explicitly (`--soft-authenticator FILE`).
#[derive(Clone)]
pub enum SoftAuthenticator {
    /// In memory, shared between ceremonies of one process (tests).
    Memory(std::sync::Arc<std::sync::Mutex<webauthn_authenticator_rs::softpasskey::SoftPasskey>>),
    /// A SoftToken kept in a file (created on first use), so a scripted run can register in one
    /// process and sign in from another. The file holds private keys in the clear.
    File(std::path::PathBuf),
    /// Any other authenticator backend in this process: the virtual passkey of `tobira script`
    /// (a soft passkey that can be told to fail).
    Backend(SharedBackend),
}

/// An authenticator backend shared between ceremonies (each ceremony locks it on its thread).
pub type SharedBackend = std::sync::Arc<
    std::sync::Mutex<dyn webauthn_authenticator_rs::AuthenticatorBackend + Send + 'static>,
>;

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory(_) => f.write_str("SoftAuthenticator::Memory"),
            Self::File(p) => write!(f, "SoftAuthenticator::File({})", p.display()),
            Self::Backend(_) => f.write_str("SoftAuthenticator::Backend"),
        }
    }
}

impl SoftAuthenticator {
    /// A fresh in-memory soft authenticator that claims user verification.
    pub fn in_memory() -> Self {
        Self::Memory(std::sync::Arc::new(std::sync::Mutex::new(
            webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true),
        )))
    }
}

/// A value handed between the TUI's pure update and its event loop without copying it:
/// equal only to itself (the app's messages compare by identity), and never printed (PINs and
/// authenticator answers travel in it).
pub struct Shared<T>(pub std::sync::Arc<T>);

impl<T> Shared<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Self(std::sync::Arc::new(value))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Eq for Shared<T> {}

impl<T> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<shared>")
    }
}
