//! Staff enrolment codes: drawing one and its keyed hash. The format, lifetime and single use
//! are in `domain::staff`; the store keeps only the hash. Shared by `tobira admin staff` and
//! the enrolment route, so both hash a code the same way.

use zeroize::Zeroizing;

use super::SecretKey;
use super::secrets::HashError;
use crate::domain::staff::{
    ENROLMENT_CODE_BYTES, ENROLMENT_CODE_TTL_SECS, format_enrolment_code, normalize_enrolment_code,
};
use crate::store::NewEnrolmentCode;

/// The keyed hash an enrolment code is stored and compared as (HMAC-SHA-256 under the server
/// key), bound to the login so a code of one account never opens another. `code` is in its
/// canonical form ([`normalize_enrolment_code`]).
pub fn code_hash(key: &SecretKey, login: &str, code: &str) -> String {
    let message = format!("tobira/staff-enrolment/{login}/{code}");
    hex::encode(key.mac(message.as_bytes()))
}

/// A fresh enrolment code for `login` as shown once (`XXXX-XXXX-XXXX-XXXX`), and the store's
/// record of it (its keyed hash, valid for an hour from `now`).
pub fn issue(
    key: &SecretKey,
    login: &str,
    now: i64,
) -> Result<(Zeroizing<String>, NewEnrolmentCode), HashError> {
    let mut bytes = Zeroizing::new([0u8; ENROLMENT_CODE_BYTES]);
    getrandom::fill(bytes.as_mut()).map_err(|e| HashError::new(e.to_string()))?;
    let shown = Zeroizing::new(format_enrolment_code(&bytes));
    let canonical = Zeroizing::new(normalize_enrolment_code(&shown).unwrap_or_default());
    let record = NewEnrolmentCode {
        code_hash: code_hash(key, login, &canonical),
        created_at: now,
        expires_at: now.saturating_add(ENROLMENT_CODE_TTL_SECS),
    };
    Ok((shown, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_and_hashed_per_login_and_key() {
        let key = SecretKey::from_bytes([7; 32]);
        let (a, ra) = issue(&key, "alice", 100).unwrap();
        let (b, _) = issue(&key, "alice", 100).unwrap();
        assert_ne!(*a, *b);
        assert_eq!(ra.expires_at, 100 + 3600);
        let canonical = normalize_enrolment_code(&a).unwrap();
        assert_eq!(ra.code_hash, code_hash(&key, "alice", &canonical));
        assert_ne!(ra.code_hash, code_hash(&key, "bob", &canonical));
        let other = SecretKey::from_bytes([8; 32]);
        assert_ne!(ra.code_hash, code_hash(&other, "alice", &canonical));
        assert!(!ra.code_hash.contains(&canonical));
    }
}
