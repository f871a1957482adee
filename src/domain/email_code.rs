//! Emailed one-time codes (the manual's section 2-5, and the forgotten-password code): their
//! policy and format. Pure; the server generates, hashes and stores them.

use serde::{Deserialize, Serialize};

/// The number of digits of an emailed code.
pub const DIGITS: usize = 6;

/// `[email_code]`: how long a code lives, how many tries it allows, how soon it can be resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailCodePolicy {
    /// Seconds a code works after it is sent (default 600: 10 minutes).
    pub ttl_secs: u64,
    /// Wrong tries before a code stops working (default 5).
    pub max_attempts: u32,
    /// Seconds before another code may be sent to the same member (default 60).
    pub resend_cooldown_secs: u64,
}

impl Default for EmailCodePolicy {
    fn default() -> Self {
        Self {
            ttl_secs: 600,
            max_attempts: 5,
            resend_cooldown_secs: 60,
        }
    }
}

/// Why an email-code policy is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("email_code: {0}")]
pub struct EmailCodePolicyError(&'static str);

impl EmailCodePolicy {
    /// Refuses a policy that cannot work.
    pub fn validate(&self) -> Result<(), EmailCodePolicyError> {
        if self.ttl_secs < 60 {
            return Err(EmailCodePolicyError("ttl_secs must be at least 60"));
        }
        if self.max_attempts == 0 {
            return Err(EmailCodePolicyError("max_attempts must be at least 1"));
        }
        if self.resend_cooldown_secs >= self.ttl_secs {
            return Err(EmailCodePolicyError(
                "resend_cooldown_secs must be shorter than ttl_secs",
            ));
        }
        Ok(())
    }

    /// The lifetime in whole minutes, rounded up (for the mail's text).
    pub fn ttl_minutes(&self) -> u64 {
        self.ttl_secs.div_ceil(60)
    }
}

/// The code as typed, without spaces or hyphens, when it is exactly six ASCII digits
/// (full-width digits are accepted: Japanese input methods produce them).
pub fn normalize(input: &str) -> Option<String> {
    let digits: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            other => other,
        })
        .collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The six-digit code for a uniformly random `value` (the caller draws it from the OS), with
/// leading zeros.
pub fn format_code(value: u32) -> String {
    format!("{:06}", value % 1_000_000)
}

/// An address as shown before the member has proved who they are: the first character of the
/// local part, then asterisks, then the domain (`d*******@example.com`).
pub fn mask_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let mut chars = local.chars();
            let first = chars.next().map(String::from).unwrap_or_default();
            let hidden = "*".repeat(chars.count().max(1));
            format!("{first}{hidden}@{domain}")
        }
        None => "*".repeat(address.chars().count().max(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_addresses_keep_the_domain_only() {
        assert_eq!(mask_address("demo0001@example.com"), "d*******@example.com");
        assert_eq!(mask_address("a@example.jp"), "a*@example.jp");
        assert_eq!(mask_address("山田@example.jp"), "山*@example.jp");
        assert_eq!(mask_address("nonsense"), "********");
    }

    #[test]
    fn normalize_accepts_six_digits_only() {
        assert_eq!(normalize("012345").as_deref(), Some("012345"));
        assert_eq!(normalize(" 012 345 ").as_deref(), Some("012345"));
        assert_eq!(normalize("012-345").as_deref(), Some("012345"));
        assert_eq!(normalize("０１２３４５").as_deref(), Some("012345"));
        for bad in ["", "12345", "1234567", "12345a", "一二三四五六", "12 34 5"] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    #[test]
    fn codes_have_six_digits() {
        assert_eq!(format_code(0), "000000");
        assert_eq!(format_code(42), "000042");
        assert_eq!(format_code(999_999), "999999");
        assert_eq!(format_code(1_000_042), "000042");
    }

    #[test]
    fn policy_defaults_and_limits() {
        let p = EmailCodePolicy::default();
        p.validate().unwrap();
        assert_eq!(
            (p.ttl_secs, p.max_attempts, p.resend_cooldown_secs),
            (600, 5, 60)
        );
        assert_eq!(p.ttl_minutes(), 10);
        assert!(
            EmailCodePolicy {
                max_attempts: 0,
                ..p
            }
            .validate()
            .is_err()
        );
        assert!(EmailCodePolicy { ttl_secs: 30, ..p }.validate().is_err());
        assert!(
            EmailCodePolicy {
                resend_cooldown_secs: 600,
                ..p
            }
            .validate()
            .is_err()
        );
    }
}
