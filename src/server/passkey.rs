//! The server's side of passkeys: the WebAuthn relying party (webauthn-rs), configured from the
//! public URL, and the conversions between its types and what the store keeps.

use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{Passkey, Url, Uuid, Webauthn, WebauthnBuilder};

use crate::store::MemberId;

/// The name authenticators show for this relying party.
pub const RP_NAME: &str = "tobira";

/// Why the public URL cannot be a passkey relying party.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelyingPartyError {
    /// Not a URL.
    #[error("the public URL {0:?} is not a URL")]
    NotAUrl(String),
    /// An IP address (or no host): WebAuthn needs a domain name; use `localhost` or a real name.
    #[error("passkeys need a host name, not an IP address, in the public URL ({0})")]
    NoDomain(String),
    /// Plain http is allowed only for `localhost`.
    #[error("passkeys need https except on localhost ({0})")]
    Insecure(String),
    /// webauthn-rs refused the configuration.
    #[error("the passkey relying party cannot be configured: {0}")]
    Builder(String),
}

/// The relying party for `public_url`: rp_id is its host name, the origin its scheme, host and
/// port. IP origins are refused (webauthn-rs and authenticators reject them anyway).
pub fn relying_party(public_url: &str) -> Result<Webauthn, RelyingPartyError> {
    let url = Url::parse(public_url).map_err(|_| RelyingPartyError::NotAUrl(public_url.into()))?;
    let origin = url.origin().ascii_serialization();
    let rp_id = url
        .domain()
        .ok_or_else(|| RelyingPartyError::NoDomain(origin.clone()))?
        .to_ascii_lowercase();
    if url.scheme() != "https" && !(url.scheme() == "http" && rp_id == "localhost") {
        return Err(RelyingPartyError::Insecure(origin));
    }
    let origin_url =
        Url::parse(&origin).map_err(|_| RelyingPartyError::NotAUrl(public_url.into()))?;
    WebauthnBuilder::new(&rp_id, &origin_url)
        .map_err(|e| RelyingPartyError::Builder(e.to_string()))?
        .rp_name(RP_NAME)
        .build()
        .map_err(|e| RelyingPartyError::Builder(e.to_string()))
}

/// The WebAuthn user handle of a member: stable (so an authenticator keeps one passkey per
/// member and replaces it rather than piling up), and not the row id itself.
pub fn user_handle(member_id: MemberId) -> Uuid {
    let digest = Sha256::digest(format!("tobira/passkey/user-handle:{member_id}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid_v8(bytes)
}

/// The WebAuthn user handle of a staff account: stable like a member's, and never equal to any
/// member's (another derivation), so one authenticator keeps a staff and a member passkey apart.
pub fn staff_user_handle(staff_id: crate::store::StaffId) -> Uuid {
    let digest = Sha256::digest(format!("tobira/passkey/staff-user-handle:{staff_id}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid_v8(bytes)
}

/// Marks 16 bytes as a version-8 (custom) UUID.
fn uuid_v8(mut b: [u8; 16]) -> Uuid {
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

/// The credential id as stored: base64url without padding.
pub fn credential_key(passkey: &Passkey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode::<&[u8]>(passkey.cred_id().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rp_comes_from_the_public_url() {
        assert!(relying_party("http://localhost:8080").is_ok());
        assert!(relying_party("https://portal.example.jp/").is_ok());
        assert!(matches!(
            relying_party("http://127.0.0.1:8080"),
            Err(RelyingPartyError::NoDomain(_))
        ));
        assert!(matches!(
            relying_party("https://[::1]:8443"),
            Err(RelyingPartyError::NoDomain(_))
        ));
        assert!(matches!(
            relying_party("http://portal.example.jp"),
            Err(RelyingPartyError::Insecure(_))
        ));
        assert!(matches!(
            relying_party("not a url"),
            Err(RelyingPartyError::NotAUrl(_))
        ));
    }

    #[test]
    fn user_handles_are_stable_and_distinct() {
        assert_eq!(user_handle(1), user_handle(1));
        assert_ne!(user_handle(1), user_handle(2));
        assert_eq!(user_handle(7).get_version_num(), 8);
        assert_ne!(staff_user_handle(1), user_handle(1));
        assert_eq!(staff_user_handle(3), staff_user_handle(3));
    }
}
