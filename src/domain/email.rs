//! A syntactically plausible email address (the link mail proves it works).

use serde::{Deserialize, Serialize};

/// Longest address accepted (RFC 5321 path limit).
pub const MAX_LEN: usize = 254;

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("an email address looks like name@example.jp")]
    Format,
    #[error("an email address may be at most 254 characters")]
    TooLong,
}

/// A trimmed email address with a lower-cased domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Checks the shape: one `@`, a non-empty local part, a dotted domain, printable ASCII only.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let s = raw.trim();
        if s.len() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = s.split_once('@').ok_or(EmailError::Format)?;
        let printable = |p: &str| {
            p.bytes()
                .all(|b| b.is_ascii_graphic() && !b"<>()[]\\,;:\"@".contains(&b))
        };
        let domain_ok = !domain.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if local.is_empty() || local.len() > 64 || !printable(local) || !domain_ok {
            return Err(EmailError::Format);
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this address reaches the same mailbox as `other`. The whole address is compared
    /// without regard to letter case: domains are case-insensitive by definition, and although
    /// RFC 5321 lets a local part be case-sensitive, mail providers deliver `Taro@` and `taro@`
    /// to the same mailbox, so a "change" only in case would change nothing.
    pub fn same_mailbox(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other.trim())
    }
}

/// Whether a verification link can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkUse {
    /// Unused and live: opening it verifies the address.
    Usable,
    /// Opened before (links are single-use).
    AlreadyUsed,
    /// Past its expiry.
    Expired,
}

/// What opening a link at `now` may do, given when it was used (if ever) and when it dies.
/// A used link says so even after its expiry.
pub fn link_use(used_at: Option<i64>, expires_at: i64, now: i64) -> LinkUse {
    if used_at.is_some() {
        LinkUse::AlreadyUsed
    } else if expires_at <= now {
        LinkUse::Expired
    } else {
        LinkUse::Usable
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> Self {
        e.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_mailbox_whatever_the_letter_case() {
        let a = EmailAddress::parse("Taro.Yamada@EXAMPLE.jp").unwrap();
        assert!(a.same_mailbox("taro.yamada@example.jp"));
        assert!(a.same_mailbox(" TARO.YAMADA@example.JP "));
        assert!(!a.same_mailbox("taro.yamada2@example.jp"));
        assert!(!a.same_mailbox("taro.yamada@example.com"));
    }

    #[test]
    fn accepts_ordinary_addresses() {
        assert_eq!(
            EmailAddress::parse(" Taro.Y+kenpo@Example.JP ")
                .unwrap()
                .as_str(),
            "Taro.Y+kenpo@example.jp"
        );
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "taro",
            "taro@",
            "@example.jp",
            "taro@example",
            "ta ro@example.jp",
            "taro@@example.jp",
            "taro@exa_mple.jp",
            "太郎@example.jp",
            "taro@.example.jp",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(EmailError::Format), "{bad:?}");
        }
        let long = format!("{}@example.jp", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn links_are_single_use_and_die() {
        assert_eq!(link_use(None, 2_000, 1_999), LinkUse::Usable);
        assert_eq!(link_use(None, 2_000, 2_000), LinkUse::Expired);
        assert_eq!(link_use(Some(1_500), 2_000, 1_600), LinkUse::AlreadyUsed);
        assert_eq!(link_use(Some(1_500), 2_000, 3_000), LinkUse::AlreadyUsed);
    }
}
