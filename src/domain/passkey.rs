//! Passkey policy (生体認証): how long a ceremony may take, how many passkeys a member keeps,
//! and the default name offered for a new one. No I/O: the WebAuthn checks themselves are
//! webauthn-rs's, in the server.

/// A registration or authentication ceremony started by the server must be finished within
/// this many seconds; its state is forgotten afterwards. Long enough to find a key, type a PIN
/// or scan the phone's QR code (WebAuthn's own default is 5 minutes).
pub const CEREMONY_TTL_SECS: i64 = 300;

/// The most passkeys one member may register.
pub const MAX_PASSKEYS: usize = 10;

/// Where a passkey lives, as the member chose it on the transport screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasskeyTransport {
    /// A USB security key (or a platform authenticator reached over USB HID).
    Usb,
    /// A Bluetooth security key.
    Bluetooth,
    /// A phone through the cross-device QR code (hybrid / caBLE).
    Phone,
    /// The library's soft authenticator: tests and scripted runs only.
    Soft,
}

impl PasskeyTransport {
    /// Every transport, in the order the choice screen lists them.
    pub const ALL: [PasskeyTransport; 4] = [Self::Usb, Self::Bluetooth, Self::Phone, Self::Soft];

    /// A stable name (logs, scripts, the `--soft-authenticator` report).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Usb => "usb",
            Self::Bluetooth => "bluetooth",
            Self::Phone => "phone",
            Self::Soft => "soft",
        }
    }

    /// The name suggested for a passkey made over this transport ("パスキー" on the manual's
    /// naming screen is where the member types their own); the member can change it.
    pub fn default_name(&self, lang_ja: bool) -> &'static str {
        match (self, lang_ja) {
            (Self::Usb, true) => "USB セキュリティキー",
            (Self::Usb, false) => "USB security key",
            (Self::Bluetooth, true) => "Bluetooth セキュリティキー",
            (Self::Bluetooth, false) => "Bluetooth security key",
            (Self::Phone, true) => "スマートフォン",
            (Self::Phone, false) => "Phone",
            (Self::Soft, true) => "テスト用パスキー",
            (Self::Soft, false) => "Test passkey",
        }
    }
}

/// Whether a ceremony started at `created_at` is still usable at `now`.
pub fn ceremony_live(created_at: i64, now: i64) -> bool {
    now >= created_at && now < created_at.saturating_add(CEREMONY_TTL_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::totp::device_name;

    #[test]
    fn default_names_are_valid_device_names_and_distinct() {
        for lang_ja in [true, false] {
            let names: Vec<_> = PasskeyTransport::ALL
                .iter()
                .map(|t| t.default_name(lang_ja))
                .collect();
            for n in &names {
                assert_eq!(device_name(n).as_deref(), Ok(*n));
            }
            let mut dedup = names.clone();
            dedup.sort();
            dedup.dedup();
            assert_eq!(dedup.len(), names.len());
        }
    }

    #[test]
    fn a_ceremony_lives_for_its_ttl_only() {
        assert!(ceremony_live(100, 100));
        assert!(ceremony_live(100, 100 + CEREMONY_TTL_SECS - 1));
        assert!(!ceremony_live(100, 100 + CEREMONY_TTL_SECS));
        // A clock that went backwards does not revive or extend anything.
        assert!(!ceremony_live(100, 99));
    }
}
