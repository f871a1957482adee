//! The member's own password: 8–64 characters of ASCII letters, digits and the manual's symbols.

/// Shortest allowed password, in characters.
pub const MIN_LEN: usize = 8;
/// Longest allowed password, in characters.
pub const MAX_LEN: usize = 64;
/// The symbols the manual allows besides ASCII letters and digits.
pub const SYMBOLS: &str = "!\"#$%&'()=~|`{+*}<>?_-^\\@[;:],./";

/// One rule of the password policy, for checklists that show each rule's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    /// 8 to 64 characters.
    Length,
    /// Only letters, digits and the listed symbols.
    Characters,
}

/// Why a password was refused. The offending character is deliberately not carried:
/// errors travel and get logged, the password must not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password must be 8 to 64 characters long")]
    Length,
    #[error("a password may contain only letters, digits and the listed symbols")]
    Characters,
}

impl PasswordError {
    /// A stable, machine-readable name of the rule that failed.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::Characters => "characters",
        }
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || SYMBOLS.contains(c)
}

/// Whether `password` satisfies `rule`.
pub fn satisfies(password: &str, rule: PasswordRule) -> bool {
    match rule {
        PasswordRule::Length => (MIN_LEN..=MAX_LEN).contains(&password.chars().count()),
        PasswordRule::Characters => password.chars().all(allowed),
    }
}

/// Checks every rule, reporting the first that fails.
pub fn check(password: &str) -> Result<(), PasswordError> {
    if !satisfies(password, PasswordRule::Length) {
        return Err(PasswordError::Length);
    }
    if !satisfies(password, PasswordRule::Characters) {
        return Err(PasswordError::Characters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds() {
        assert_eq!(check("abc1234"), Err(PasswordError::Length));
        assert!(check("abcd1234").is_ok());
        assert!(check(&"a".repeat(64)).is_ok());
        assert_eq!(check(&"a".repeat(65)), Err(PasswordError::Length));
    }

    #[test]
    fn every_listed_symbol_is_allowed() {
        for c in SYMBOLS.chars() {
            let p = format!("Passw0rd{c}");
            assert!(check(&p).is_ok(), "{c} should be allowed");
        }
    }

    #[test]
    fn other_characters_are_refused() {
        for p in ["pass word1", "パスワード12345", "passwörd1", "tab\tpass1"] {
            assert_eq!(check(p), Err(PasswordError::Characters), "{p:?}");
        }
        assert!(satisfies("pass word1", PasswordRule::Length));
        assert!(!satisfies("pass word1", PasswordRule::Characters));
    }
}
