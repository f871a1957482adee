//! The member's user ID: 8–13 characters of letters, digits and `-_.@`, letters and digits combined.

use serde::{Deserialize, Serialize};

/// Shortest allowed user ID, in characters.
pub const MIN_LEN: usize = 8;
/// Longest allowed user ID, in characters.
pub const MAX_LEN: usize = 13;
/// The characters allowed besides ASCII letters and digits.
pub const EXTRA_CHARS: &str = "-_.@";

/// Why a user ID was refused; each variant names one rule of the manual.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    #[error("a user ID must be 8 to 13 characters long")]
    Length,
    #[error("a user ID may contain only letters, digits and - _ . @")]
    Characters,
    #[error("a user ID must contain at least one letter")]
    MissingLetter,
    #[error("a user ID must contain at least one digit")]
    MissingDigit,
}

impl UserIdError {
    /// A stable, machine-readable name of the rule that failed (used in API errors).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::Characters => "characters",
            Self::MissingLetter => "letter",
            Self::MissingDigit => "digit",
        }
    }
}

/// A valid user ID, always stored lower-case (the portal treats IDs case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    /// Checks `raw` against every rule, after trimming and lower-casing it.
    pub fn parse(raw: &str) -> Result<Self, UserIdError> {
        let id = normalize(raw);
        let len = id.chars().count();
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            return Err(UserIdError::Length);
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || EXTRA_CHARS.contains(c))
        {
            return Err(UserIdError::Characters);
        }
        if !id.chars().any(|c| c.is_ascii_lowercase()) {
            return Err(UserIdError::MissingLetter);
        }
        if !id.chars().any(|c| c.is_ascii_digit()) {
            return Err(UserIdError::MissingDigit);
        }
        Ok(Self(id))
    }

    /// The ID as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The form a typed ID is looked up in: trimmed and lower-cased, valid or not.
pub fn normalize(raw: &str) -> String {
    raw.trim().to_lowercase()
}

impl TryFrom<String> for UserId {
    type Error = UserIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> Self {
        id.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_demo_member_and_lower_cases() {
        assert_eq!(UserId::parse("demo0001").unwrap().as_str(), "demo0001");
        assert_eq!(UserId::parse(" Demo0001 ").unwrap().as_str(), "demo0001");
        assert_eq!(UserId::parse("a.b-c_d@1").unwrap().as_str(), "a.b-c_d@1");
    }

    #[test]
    fn length_is_8_to_13() {
        assert_eq!(UserId::parse("abc1234"), Err(UserIdError::Length));
        assert!(UserId::parse("abc12345").is_ok());
        assert!(UserId::parse("abcdefghij123").is_ok());
        assert_eq!(UserId::parse("abcdefghij1234"), Err(UserIdError::Length));
    }

    #[test]
    fn names_the_rule_that_failed() {
        assert_eq!(UserId::parse("abcd 1234"), Err(UserIdError::Characters));
        assert_eq!(UserId::parse("ユーザー12345"), Err(UserIdError::Characters));
        assert_eq!(UserId::parse("abcdefghi"), Err(UserIdError::MissingDigit));
        assert_eq!(UserId::parse("123456789"), Err(UserIdError::MissingLetter));
        assert_eq!(UserIdError::MissingDigit.rule(), "digit");
    }
}
