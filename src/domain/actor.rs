//! Who does something: the member, helpdesk staff, the server itself, a roster import, or the
//! operator at the server's command line.
//!
//! The audit log names the actor in a stable text form (`member:<id>`, `staff:<id>`,
//! `system`, `import`, `operator`), and the rules of [`super::factors`] differ by actor.

use std::fmt;

/// The one who makes a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A member acting for themselves (their member row id).
    Member(i64),
    /// A helpdesk staff member (their staff row id).
    Staff(i64),
    /// The server on its own: a rule applied at sign-in, a request that matched no member.
    System,
    /// A roster import run.
    Import,
    /// The operator at the server's command line (`tobira admin staff …`).
    Operator,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Member(id) => write!(f, "member:{id}"),
            Self::Staff(id) => write!(f, "staff:{id}"),
            Self::System => f.write_str("system"),
            Self::Import => f.write_str("import"),
            Self::Operator => f.write_str("operator"),
        }
    }
}

impl Actor {
    /// The inverse of the text form ([`fmt::Display`]); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system" => Some(Self::System),
            "import" => Some(Self::Import),
            "operator" => Some(Self::Operator),
            _ => {
                let (kind, id) = s.split_once(':')?;
                // `i64::from_str` takes a leading `+`, which the text form never writes.
                if id.starts_with('+') {
                    return None;
                }
                let id = id.parse().ok()?;
                match kind {
                    "member" => Some(Self::Member(id)),
                    "staff" => Some(Self::Staff(id)),
                    _ => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_is_the_stored_one_and_round_trips() {
        let cases = [
            (Actor::Member(42), "member:42"),
            (Actor::Staff(7), "staff:7"),
            (Actor::System, "system"),
            (Actor::Import, "import"),
            (Actor::Operator, "operator"),
        ];
        for (actor, text) in cases {
            assert_eq!(actor.to_string(), text);
            assert_eq!(Actor::parse(text), Some(actor));
        }
        for bad in [
            "",
            "member",
            "member:",
            "member:x",
            "member:+1",
            "admin:1",
            "System",
        ] {
            assert_eq!(Actor::parse(bad), None, "{bad}");
        }
    }
}
