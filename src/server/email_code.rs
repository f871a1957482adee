//! The server's side of emailed one-time codes: drawing a code and its keyed hash. The policy
//! and the format are in `domain::email_code`; the codes themselves live in the store.

use super::SecretKey;
use super::error::AppError;
use crate::domain::EmailCodePolicy;
use crate::domain::email_code;
use crate::store::{CodePurpose, MemberId, NewEmailCode};

/// A fresh uniformly random six-digit code (rejection sampling: no modulo bias).
pub fn new_code() -> Result<zeroize::Zeroizing<String>, AppError> {
    // The largest multiple of 1,000,000 that fits in a u32.
    const LIMIT: u32 = 4_294_000_000;
    loop {
        let mut buf = [0u8; 4];
        getrandom::fill(&mut buf).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let value = u32::from_le_bytes(buf);
        if value < LIMIT {
            return Ok(zeroize::Zeroizing::new(email_code::format_code(value)));
        }
    }
}

/// The keyed hash a code is stored and compared as, bound to its member and purpose so a code
/// of one never matches the other.
pub fn code_hash(key: &SecretKey, member_id: MemberId, purpose: CodePurpose, code: &str) -> String {
    let message = format!(
        "tobira/email-code/{}/member:{member_id}/{code}",
        purpose.as_str()
    );
    hex::encode(key.mac(message.as_bytes()))
}

/// A fresh code for `member_id` and `purpose`, and the store's record of it (its keyed hash,
/// lifetime and resend cooldown from `policy`), issued at `now`.
pub fn issue(
    key: &SecretKey,
    policy: &EmailCodePolicy,
    member_id: MemberId,
    purpose: CodePurpose,
    now: i64,
) -> Result<(zeroize::Zeroizing<String>, NewEmailCode), AppError> {
    let code = new_code()?;
    let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
    let record = NewEmailCode {
        member_id,
        purpose,
        code_hash: code_hash(key, member_id, purpose, &code),
        created_at: now,
        expires_at: now.saturating_add(secs(policy.ttl_secs)),
        cooldown_secs: secs(policy.resend_cooldown_secs),
    };
    Ok((code, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::BTreeSet<String> =
            (0..50).map(|_| new_code().unwrap().to_string()).collect();
        assert!(codes.len() > 40, "{codes:?}");
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
    }

    #[test]
    fn hashes_are_bound_to_member_purpose_and_key() {
        let key = SecretKey::from_bytes([7; 32]);
        let h = code_hash(&key, 1, CodePurpose::SecondFactor, "123456");
        assert_eq!(h, code_hash(&key, 1, CodePurpose::SecondFactor, "123456"));
        assert_ne!(h, code_hash(&key, 2, CodePurpose::SecondFactor, "123456"));
        assert_ne!(h, code_hash(&key, 1, CodePurpose::PasswordReset, "123456"));
        assert_ne!(h, code_hash(&key, 1, CodePurpose::SecondFactor, "123457"));
        let other = SecretKey::from_bytes([8; 32]);
        assert_ne!(h, code_hash(&other, 1, CodePurpose::SecondFactor, "123456"));
    }
}
