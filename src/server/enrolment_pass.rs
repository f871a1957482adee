//! The server's side of the one-time enrolment pass: drawing one from the OS RNG and its keyed
//! hash, bound to its member. The pass's form is `domain::helpdesk::enrolment_pass`.

use super::SecretKey;
use super::error::AppError;
use crate::domain::helpdesk::enrolment_pass;
use crate::store::MemberId;

/// A fresh pass (its characters equally likely; see [`enrolment_pass::from_random`]).
pub fn new_pass() -> Result<zeroize::Zeroizing<String>, AppError> {
    loop {
        let mut buf = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(buf.as_mut_slice())
            .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        if let Some(pass) = enrolment_pass::from_random(buf.as_slice()) {
            return Ok(zeroize::Zeroizing::new(pass));
        }
    }
}

/// The keyed hash a pass (normalised) is stored and compared as, bound to its member.
pub fn pass_hash(key: &SecretKey, member_id: MemberId, pass: &str) -> String {
    let message = format!("tobira/enrolment-pass/member:{member_id}/{pass}");
    hex::encode(key.mac(message.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_vary_and_hashes_are_bound_to_the_member() {
        let a = new_pass().unwrap();
        let b = new_pass().unwrap();
        assert_ne!(*a, *b);
        assert_eq!(enrolment_pass::normalize(&a).as_deref(), Some(a.as_str()));
        let key = SecretKey::from_bytes([3; 32]);
        assert_eq!(pass_hash(&key, 1, &a), pass_hash(&key, 1, &a));
        assert_ne!(pass_hash(&key, 1, &a), pass_hash(&key, 2, &a));
    }
}
