//! A virtual passkey for scripted runs: the soft authenticator of webauthn-authenticator-rs,
//! which the headless TUI's passkey step uses like a security key, and which can be told to
//! misbehave once.
//!
//! API:
//! - [`VirtualPasskey::new`]; [`VirtualPasskey::authenticator`] gives the
//!   [`SoftAuthenticator`] to hand to the TUI's `PasskeyRunner` (`PasskeyRunner::new(Some(..),
//!   limits)`), or to use directly with `WebauthnAuthenticator::do_registration` /
//!   `do_authentication` on [`VirtualPasskey::backend`].
//! - [`VirtualPasskey::fail_next`]: the next ceremony goes wrong in the way a
//!   [`PasskeyFault`] names; the one after it is normal again.
//! - [`VirtualPasskey::ceremonies`]: how many ceremonies it has answered or refused.
//!
//! The faults and who must catch them:
//! - [`PasskeyFault::UserVerificationRefused`]: the member fails or declines the fingerprint /
//!   PIN: the authenticator refuses, nothing reaches the server, the screen says the
//!   authenticator failed.
//! - [`PasskeyFault::UserNotVerified`]: the authenticator answers without verifying the member
//!   (the UV flag clear, correctly signed): the server requires verification and refuses.
//! - [`PasskeyFault::WrongSignature`]: the answer's signature does not verify (the assertion's
//!   at sign-in, the packed attestation's at registration): the server refuses.

use std::sync::{Arc, Mutex};

use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_authenticator_rs::error::WebauthnCError;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    PublicKeyCredential, PublicKeyCredentialCreationOptions, PublicKeyCredentialRequestOptions,
    RegisterPublicKeyCredential, UserVerificationPolicy,
};

use crate::passkey::SoftAuthenticator;
use url::Url;

/// How the next ceremony goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyFault {
    /// The member does not pass user verification: the authenticator refuses.
    UserVerificationRefused,
    /// The authenticator answers without user verification (the server must refuse).
    UserNotVerified,
    /// The answer's signature is wrong (the server must refuse).
    WrongSignature,
}

/// The authenticator behind a [`VirtualPasskey`].
struct Backend {
    key: SoftPasskey,
    fault: Option<PasskeyFault>,
    ceremonies: usize,
}

/// A soft passkey shared by the script and the TUI's ceremonies. Cloning shares it.
#[derive(Clone)]
pub struct VirtualPasskey {
    backend: Arc<Mutex<Backend>>,
}

impl std::fmt::Debug for VirtualPasskey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VirtualPasskey")
    }
}

impl Default for VirtualPasskey {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualPasskey {
    /// A new passkey with no credentials, which verifies its user.
    pub fn new() -> Self {
        Self {
            backend: Arc::new(Mutex::new(Backend {
                // `true`: the soft key claims the user verification it cannot really do.
                key: SoftPasskey::new(true),
                fault: None,
                ceremonies: 0,
            })),
        }
    }

    /// The next ceremony goes wrong as `fault` says (replacing a fault not yet used).
    pub fn fail_next(&self, fault: PasskeyFault) {
        self.lock().fault = Some(fault);
    }

    /// The fault waiting for the next ceremony, if any.
    pub fn pending_fault(&self) -> Option<PasskeyFault> {
        self.lock().fault
    }

    /// Ceremonies answered or refused so far.
    pub fn ceremonies(&self) -> usize {
        self.lock().ceremonies
    }

    /// This passkey as the TUI's soft authenticator (for `PasskeyRunner`).
    pub fn authenticator(&self) -> SoftAuthenticator {
        SoftAuthenticator::Backend(self.backend.clone())
    }

    /// Locks the authenticator for one direct ceremony (`do_registration`,
    /// `do_authentication` of `WebauthnAuthenticator`).
    pub fn backend(&self) -> impl std::ops::DerefMut<Target = impl AuthenticatorBackend> + '_ {
        self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Backend> {
        // A ceremony that panicked leaves the soft key as it was: keep using it.
        self.backend.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Changes one bit of an ECDSA DER signature inside its `r` integer: still well-formed, no
/// longer valid.
fn corrupt_der_signature(sig: &mut [u8]) {
    // 0x30 len 0x02 rlen r…: byte 10 lies inside r (r has 32 or 33 bytes).
    if let Some(b) = sig.get_mut(10) {
        *b ^= 0x01;
    }
}

/// Corrupts the `sig` of a packed attestation statement inside a CBOR attestation object.
fn corrupt_attestation_signature(object: &mut [u8]) -> bool {
    // The key "sig" (CBOR text of length 3), then a byte string of one-byte length (0x58 n).
    let key = [0x63, b's', b'i', b'g', 0x58];
    let Some(at) = object.windows(key.len()).position(|w| w == key) else {
        return false;
    };
    let start = at + key.len() + 1;
    match object.get_mut(start..) {
        Some(sig) if sig.len() > 10 => {
            corrupt_der_signature(sig);
            true
        }
        _ => false,
    }
}

impl Backend {
    /// Counts a ceremony and takes its fault; a refused verification ends it here, as the
    /// authenticator's "not allowed" does.
    fn begin(&mut self) -> Result<Option<PasskeyFault>, WebauthnCError> {
        self.ceremonies += 1;
        match self.fault.take() {
            Some(PasskeyFault::UserVerificationRefused) => Err(WebauthnCError::NotSupported),
            fault => Ok(fault),
        }
    }
}

impl AuthenticatorBackend for Backend {
    fn perform_register(
        &mut self,
        origin: Url,
        mut options: PublicKeyCredentialCreationOptions,
        timeout_ms: u32,
    ) -> Result<RegisterPublicKeyCredential, WebauthnCError> {
        let fault = self.begin()?;
        if fault == Some(PasskeyFault::UserNotVerified)
            && let Some(sel) = options.authenticator_selection.as_mut()
        {
            sel.user_verification = UserVerificationPolicy::Preferred;
        }
        let mut answer = self.key.perform_register(origin, options, timeout_ms)?;
        if fault == Some(PasskeyFault::WrongSignature)
            && !corrupt_attestation_signature(&mut answer.response.attestation_object)
        {
            return Err(WebauthnCError::Internal);
        }
        Ok(answer)
    }

    fn perform_auth(
        &mut self,
        origin: Url,
        mut options: PublicKeyCredentialRequestOptions,
        timeout_ms: u32,
    ) -> Result<PublicKeyCredential, WebauthnCError> {
        let fault = self.begin()?;
        if fault == Some(PasskeyFault::UserNotVerified) {
            options.user_verification = UserVerificationPolicy::Preferred;
        }
        let mut answer = self.key.perform_auth(origin, options, timeout_ms)?;
        if fault == Some(PasskeyFault::WrongSignature) {
            corrupt_der_signature(&mut answer.response.signature);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_changes_in_one_bit_and_the_attestation_is_found() {
        let mut sig = vec![0x30, 0x45, 0x02, 0x21, 0x00, 1, 2, 3, 4, 5, 6, 7];
        let before = sig.clone();
        corrupt_der_signature(&mut sig);
        let changed: Vec<usize> = (0..sig.len()).filter(|&i| sig[i] != before[i]).collect();
        assert_eq!(changed, vec![10]);
        let mut object = vec![
            0xa3, 0x63, b'f', b'm', b't', 0x63, b's', b'i', b'g', 0x58, 12,
        ];
        object.extend_from_slice(&before);
        assert!(corrupt_attestation_signature(&mut object));
        assert_eq!(&object[11..], sig.as_slice());
        assert!(!corrupt_attestation_signature(&mut [0xa0]));
    }

    #[test]
    fn a_fault_is_for_the_next_ceremony_only() {
        let key = VirtualPasskey::new();
        assert_eq!(key.pending_fault(), None);
        key.fail_next(PasskeyFault::WrongSignature);
        key.fail_next(PasskeyFault::UserNotVerified);
        assert_eq!(key.pending_fault(), Some(PasskeyFault::UserNotVerified));
        assert!(matches!(key.authenticator(), SoftAuthenticator::Backend(_)));
        assert_eq!(format!("{key:?}"), "VirtualPasskey");
    }
}
