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

/// Seconds to wait before another code may be issued at `now`, while the previous one (issued
/// at `previous_issued_at`) is in its cooldown of `cooldown_secs`; `None` when one may be sent.
/// Never `Some(0)`: a wait that rounds to nothing is still one second.
pub fn cooldown_left(previous_issued_at: i64, cooldown_secs: i64, now: i64) -> Option<u64> {
    let ready_at = previous_issued_at.saturating_add(cooldown_secs);
    (now < ready_at).then(|| {
        u64::try_from(ready_at.saturating_sub(now))
            .unwrap_or(1)
            .max(1)
    })
}

/// An issued code as stored: the wrong tries it has taken and when it dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedCode {
    /// Wrong tries so far.
    pub attempts: u32,
    /// Dead at and after this time, Unix seconds.
    pub expires_at: i64,
}

/// What a typed code does to an issued one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeVerdict {
    /// Right and live: the code is used up.
    Accepted,
    /// Wrong: one more try is used; `attempts_left` remain.
    Wrong {
        /// Tries left for this code (0: it is dead).
        attempts_left: u32,
    },
    /// Past its expiry or out of tries: nothing changes, a new code is needed.
    Expired,
}

/// Judges a typed code against `issued` at `now`: `matches` says whether its keyed hash is the
/// stored one (see [`hashes_match`]). A dead code is refused before the match counts.
pub fn judge(issued: IssuedCode, matches: bool, max_attempts: u32, now: i64) -> CodeVerdict {
    if now >= issued.expires_at || issued.attempts >= max_attempts {
        return CodeVerdict::Expired;
    }
    if matches {
        CodeVerdict::Accepted
    } else {
        CodeVerdict::Wrong {
            attempts_left: max_attempts.saturating_sub(issued.attempts + 1),
        }
    }
}

/// Whether two keyed hashes are equal, in time that does not depend on where they differ.
pub fn hashes_match(stored: &str, given: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(stored.as_bytes(), given.as_bytes()).into()
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

    #[test]
    fn a_new_code_waits_for_the_cooldown() {
        assert_eq!(cooldown_left(1_000, 60, 1_000), Some(60));
        assert_eq!(cooldown_left(1_000, 60, 1_059), Some(1));
        assert_eq!(cooldown_left(1_000, 60, 1_060), None);
        assert_eq!(cooldown_left(1_000, 0, 1_000), None);
        // The end of the cooldown saturates instead of overflowing.
        assert_eq!(cooldown_left(i64::MAX - 5, 60, 0), Some(i64::MAX as u64));
    }

    #[test]
    fn codes_are_judged_by_life_tries_and_match() {
        let live = IssuedCode {
            attempts: 0,
            expires_at: 2_000,
        };
        assert_eq!(judge(live, true, 5, 1_999), CodeVerdict::Accepted);
        assert_eq!(
            judge(live, false, 5, 1_000),
            CodeVerdict::Wrong { attempts_left: 4 }
        );
        assert_eq!(judge(live, true, 5, 2_000), CodeVerdict::Expired);
        let last_try = IssuedCode {
            attempts: 4,
            ..live
        };
        assert_eq!(
            judge(last_try, false, 5, 1_000),
            CodeVerdict::Wrong { attempts_left: 0 }
        );
        assert_eq!(judge(last_try, true, 5, 1_000), CodeVerdict::Accepted);
        let spent = IssuedCode {
            attempts: 5,
            ..live
        };
        assert_eq!(judge(spent, true, 5, 1_000), CodeVerdict::Expired);
    }

    #[test]
    fn hashes_match_only_when_equal() {
        assert!(hashes_match("abc", "abc"));
        assert!(!hashes_match("abc", "abd"));
        assert!(!hashes_match("abc", "ab"));
    }
}
