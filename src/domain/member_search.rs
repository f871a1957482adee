//! What a helpdesk search string asks for: the staff console has one field, and the string
//! typed there is read here as a card, an address, or a name / user ID, without any I/O.
//!
//! Each kind of query becomes an ordered list of [`MatchKind`] passes; the store runs them in
//! that order and pages through them with a [`SearchCursor`], so paging is stable (keyset, not
//! offset) and a member found by an earlier pass is never repeated by a later one.

use super::initial_password::{NUMBER_MAX, SYMBOL_MAX};
use super::width;

/// The longest search string accepted, in characters (a roster name is at most 100).
pub const QUERY_MAX: usize = 100;

/// The most hits one page may hold.
pub const PAGE_MAX: u32 = 100;

/// Names of this many characters or fewer are looked up by their 1- and 2-character pieces;
/// longer ones by trigrams (FTS5 cannot match fewer than three characters).
pub const SHORT_NAME_MAX: usize = 2;

/// Why a search string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchQueryError {
    /// Nothing but spaces.
    #[error("type a user ID, a name, a card symbol and number, or an email address")]
    Empty,
    /// Longer than [`QUERY_MAX`].
    #[error("a search may be at most 100 characters")]
    TooLong,
    /// Holds a control character (nothing typed into the search field does).
    #[error("a search cannot contain control characters")]
    Characters,
}

/// One way a member can match; the passes of a query run in the order listed by
/// [`SearchQuery::passes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchKind {
    /// Symbol and number typed together without a separator (`123456789` is `12` + `3456789`,
    /// `1` + `23456789`, …): every split is looked up exactly.
    CardExact,
    /// The card number begins with the digits typed (with the symbol, when one was given).
    CardNumber,
    /// The user ID begins with what was typed.
    UserId,
    /// The email address begins with what was typed.
    Email,
    /// The name contains what was typed (spaces ignored).
    Name,
}

impl MatchKind {
    /// The stable name used in cursors and API answers.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CardExact => "card_exact",
            Self::CardNumber => "card_number",
            Self::UserId => "user_id",
            Self::Email => "email",
            Self::Name => "name",
        }
    }

    /// The inverse of [`MatchKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::CardExact,
            Self::CardNumber,
            Self::UserId,
            Self::Email,
            Self::Name,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A search string, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchQuery {
    /// Digits only: a card number (prefix), symbol and number written together (exact), or the
    /// start of a user ID.
    Digits(String),
    /// Two runs of digits with a separator (`12 3456789`, `12-3456789`, `12・3456789`): the
    /// symbol exactly, the number as a prefix.
    Card {
        /// 記号, exactly.
        symbol: String,
        /// 番号, its beginning.
        number: String,
    },
    /// Contains `@`: the start of an address (lower-cased, as [`email_key`] compares them).
    Email(String),
    /// Anything else: a part of a name, and the start of a user ID when it could be one.
    Text {
        /// The name piece as [`name_key`] gives it.
        name: String,
        /// The lower-cased string when it uses only user-ID characters.
        user_id_prefix: Option<String>,
    },
}

/// Characters that separate a card's symbol from its number when staff type both.
const CARD_SEPARATORS: &[char] = &[' ', '-', '・', '/', '.', ',', 'ー', '－'];

impl SearchQuery {
    /// Reads what staff typed. Full-width digits and letters count as ASCII.
    pub fn parse(raw: &str) -> Result<Self, SearchQueryError> {
        let folded = width::fold(raw);
        let s = folded.trim();
        if s.is_empty() {
            return Err(SearchQueryError::Empty);
        }
        if s.chars().count() > QUERY_MAX {
            return Err(SearchQueryError::TooLong);
        }
        if s.chars().any(char::is_control) {
            return Err(SearchQueryError::Characters);
        }
        if s.contains('@') {
            return Ok(Self::Email(email_key(s)));
        }
        let groups: Vec<&str> = s
            .split(|c: char| CARD_SEPARATORS.contains(&c) || c.is_whitespace())
            .filter(|g| !g.is_empty())
            .collect();
        let all_digits = |g: &&str| g.bytes().all(|b| b.is_ascii_digit());
        if !groups.is_empty() && groups.iter().all(all_digits) {
            match groups.as_slice() {
                [digits] => return Ok(Self::Digits((*digits).to_owned())),
                [symbol, number] if symbol.len() <= SYMBOL_MAX && number.len() <= NUMBER_MAX => {
                    return Ok(Self::Card {
                        symbol: (*symbol).to_owned(),
                        number: (*number).to_owned(),
                    });
                }
                _ => {}
            }
        }
        let lower = s.to_ascii_lowercase();
        let user_id_prefix = (lower.chars().count() <= super::user_id::MAX_LEN
            && lower.chars().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || super::user_id::EXTRA_CHARS.contains(c)
            }))
        .then_some(lower);
        Ok(Self::Text {
            name: name_key(s),
            user_id_prefix,
        })
    }

    /// The passes that answer this query, in the order results are listed.
    pub fn passes(&self) -> Vec<MatchKind> {
        match self {
            Self::Digits(d) => {
                let mut p = Vec::new();
                if d.len() >= 2 && d.len() <= SYMBOL_MAX + NUMBER_MAX {
                    p.push(MatchKind::CardExact);
                }
                if d.len() <= NUMBER_MAX {
                    p.push(MatchKind::CardNumber);
                }
                if d.len() <= super::user_id::MAX_LEN {
                    p.push(MatchKind::UserId);
                }
                p
            }
            Self::Card { .. } => vec![MatchKind::CardNumber],
            Self::Email(_) => vec![MatchKind::Email],
            Self::Text { user_id_prefix, .. } => {
                let mut p = Vec::new();
                if user_id_prefix.is_some() {
                    p.push(MatchKind::UserId);
                }
                p.push(MatchKind::Name);
                p
            }
        }
    }

    /// The (symbol, number) pairs a run of digits can be split into, for [`MatchKind::CardExact`]:
    /// both parts non-empty and within the card's lengths.
    pub fn card_splits(&self) -> Vec<(String, String)> {
        let Self::Digits(d) = self else {
            return Vec::new();
        };
        (1..d.len())
            .filter(|&k| k <= SYMBOL_MAX && d.len() - k <= NUMBER_MAX)
            .map(|k| (d[..k].to_owned(), d[k..].to_owned()))
            .collect()
    }
}

/// The form names are compared in: every space (ASCII or ideographic) and tab removed, ASCII
/// lower-cased, so `山田 太郎`, `山田　太郎` and `山田太郎` are one name. The SQLite migration
/// `0008_member_search.sql` computes the same key for the stored names (`replace` and `lower`,
/// which folds ASCII only, as this does).
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '\u{3000}' | '\t'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether a name piece is short enough to need the 1–2 character index.
pub fn is_short_name(key: &str) -> bool {
    key.chars().count() <= SHORT_NAME_MAX
}

/// The form addresses are compared in: trimmed, without spaces, ASCII lower-cased (SQLite's
/// `lower`, which the address index is built on, folds ASCII only).
pub fn email_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The first string after every string that begins with `prefix`, for a range scan
/// (`prefix <= x < prefix_end(prefix)`): user IDs, card digits and addresses are ASCII below
/// U+007F, so `prefix` followed by U+007F is past all of them.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{7f}")
}

/// The text of an FTS5 phrase query for a name piece: the whole piece as one quoted string
/// (double quotes doubled), which the trigram tokenizer turns into consecutive trigrams, that
/// is, a substring match.
pub fn fts_phrase(key: &str) -> String {
    format!("\"{}\"", key.replace('"', "\"\""))
}

/// Where the next page of a search starts: after the last hit of the previous page, which
/// was found by pass `kind` with sort key `key` and member id `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCursor {
    /// The pass of the last hit.
    pub kind: MatchKind,
    /// The pass's sort key of the last hit (empty for passes ordered by member id).
    pub key: String,
    /// The member id of the last hit.
    pub id: i64,
}

impl SearchCursor {
    /// An opaque text form for an API (`kind.id.key`).
    pub fn to_token(&self) -> String {
        format!("{}.{}.{}", self.kind.as_str(), self.id, self.key)
    }

    /// The inverse of [`SearchCursor::to_token`]; `None` for anything else.
    pub fn from_token(token: &str) -> Option<Self> {
        let (kind, rest) = token.split_once('.')?;
        let (id, key) = rest.split_once('.')?;
        if id.starts_with('+') {
            return None;
        }
        Some(Self {
            kind: MatchKind::parse(kind)?,
            id: id.parse().ok()?,
            key: key.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_before_any_lookup() {
        // A NUL broke the full-text query (a 500 schemathesis found).
        assert_eq!(
            SearchQuery::parse("ab\u{0}c"),
            Err(SearchQueryError::Characters)
        );
        assert_eq!(
            SearchQuery::parse("山田\t太郎"),
            Err(SearchQueryError::Characters)
        );
        assert!(SearchQuery::parse(" 山田 ").is_ok());
    }

    fn text(name: &str, user_id_prefix: Option<&str>) -> SearchQuery {
        SearchQuery::Text {
            name: name.to_owned(),
            user_id_prefix: user_id_prefix.map(str::to_owned),
        }
    }

    #[test]
    fn digits_are_a_card_or_the_start_of_a_user_id() {
        let q = SearchQuery::parse(" 3456789 ").unwrap();
        assert_eq!(q, SearchQuery::Digits("3456789".into()));
        assert_eq!(
            q.passes(),
            vec![
                MatchKind::CardExact,
                MatchKind::CardNumber,
                MatchKind::UserId
            ]
        );
        // Full-width digits, as a Japanese input method types them.
        assert_eq!(
            SearchQuery::parse("１２３").unwrap(),
            SearchQuery::Digits("123".into())
        );
        // One digit cannot be split into a symbol and a number.
        assert_eq!(
            SearchQuery::parse("7").unwrap().passes(),
            vec![MatchKind::CardNumber, MatchKind::UserId]
        );
        // Too long for a number or a user ID, still a symbol + number.
        assert_eq!(
            SearchQuery::parse("12345678901234").unwrap().passes(),
            vec![MatchKind::CardExact]
        );
    }

    #[test]
    fn symbol_and_number_typed_together_split_every_way_the_card_allows() {
        let q = SearchQuery::parse("123456789").unwrap();
        let splits = q.card_splits();
        assert_eq!(splits.first().unwrap(), &("1".into(), "23456789".into()));
        assert!(splits.contains(&("12".into(), "3456789".into())));
        assert_eq!(splits.last().unwrap(), &("12345678".into(), "9".into()));
        assert_eq!(splits.len(), 8);
        // The symbol is at most 8 digits and the number at most 10.
        let q = SearchQuery::parse("1234567890123").unwrap();
        assert!(
            q.card_splits()
                .iter()
                .all(|(s, n)| s.len() <= 8 && n.len() <= 10 && s.len() >= 3)
        );
        assert!(text("x", None).card_splits().is_empty());
    }

    #[test]
    fn a_separator_makes_a_symbol_and_a_number() {
        for typed in [
            "12 3456",
            "12-3456",
            "12・3456",
            "１２　３４５６",
            "12 / 3456",
        ] {
            assert_eq!(
                SearchQuery::parse(typed).unwrap(),
                SearchQuery::Card {
                    symbol: "12".into(),
                    number: "3456".into()
                },
                "{typed}"
            );
        }
        assert_eq!(
            SearchQuery::parse("12 3456").unwrap().passes(),
            vec![MatchKind::CardNumber]
        );
        // Three groups, or a symbol too long, are no card.
        assert!(matches!(
            SearchQuery::parse("1 2 3").unwrap(),
            SearchQuery::Text { .. }
        ));
        assert!(matches!(
            SearchQuery::parse("123456789 1").unwrap(),
            SearchQuery::Text { .. }
        ));
    }

    #[test]
    fn an_at_sign_makes_an_address() {
        let q = SearchQuery::parse(" Taro.Yamada@Example.JP ").unwrap();
        assert_eq!(q, SearchQuery::Email("taro.yamada@example.jp".into()));
        assert_eq!(q.passes(), vec![MatchKind::Email]);
        assert_eq!(
            SearchQuery::parse("ｔａｒｏ＠").unwrap(),
            SearchQuery::Email("taro@".into())
        );
    }

    #[test]
    fn other_text_is_a_name_and_maybe_a_user_id() {
        assert_eq!(
            SearchQuery::parse("山田 太郎").unwrap(),
            text("山田太郎", None)
        );
        assert_eq!(SearchQuery::parse("林").unwrap(), text("林", None));
        assert_eq!(
            SearchQuery::parse("Demo0001").unwrap(),
            text("demo0001", Some("demo0001"))
        );
        let q = SearchQuery::parse("yamada").unwrap();
        assert_eq!(q.passes(), vec![MatchKind::UserId, MatchKind::Name]);
        assert_eq!(
            SearchQuery::parse("さくら").unwrap().passes(),
            vec![MatchKind::Name]
        );
        // Longer than any user ID: a name only.
        assert_eq!(
            SearchQuery::parse("abcdefghijklmn").unwrap().passes(),
            vec![MatchKind::Name]
        );
    }

    #[test]
    fn empty_and_overlong_strings_are_refused() {
        assert_eq!(SearchQuery::parse(""), Err(SearchQueryError::Empty));
        assert_eq!(
            SearchQuery::parse(" \u{3000} "),
            Err(SearchQueryError::Empty)
        );
        assert_eq!(
            SearchQuery::parse(&"あ".repeat(QUERY_MAX + 1)),
            Err(SearchQueryError::TooLong)
        );
        assert!(SearchQuery::parse(&"あ".repeat(QUERY_MAX)).is_ok());
    }

    #[test]
    fn names_compare_without_spaces_and_ascii_case() {
        assert_eq!(name_key("山田　太郎"), "山田太郎");
        assert_eq!(name_key("Smith John"), "smithjohn");
        assert!(is_short_name("林"));
        assert!(is_short_name("小林"));
        assert!(!is_short_name("小林一"));
    }

    #[test]
    fn prefix_ranges_hold_every_extension_and_nothing_else() {
        let end = prefix_end("m12");
        for inside in ["m12", "m120", "m12zzzz", "m12@x.jp", "m12~"] {
            assert!(inside >= "m12" && inside < end.as_str(), "{inside}");
        }
        for outside in ["m11z", "m13", "m2", "m1"] {
            assert!(!(outside >= "m12" && outside < end.as_str()), "{outside}");
        }
    }

    #[test]
    fn fts_phrases_quote_the_piece() {
        assert_eq!(fts_phrase("山田太"), "\"山田太\"");
        assert_eq!(fts_phrase("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = SearchCursor {
            kind: MatchKind::CardNumber,
            key: "3456789 12".into(),
            id: 42,
        };
        assert_eq!(SearchCursor::from_token(&c.to_token()), Some(c));
        let c = SearchCursor {
            kind: MatchKind::UserId,
            key: "a.b.c".into(),
            id: 7,
        };
        assert_eq!(SearchCursor::from_token(&c.to_token()), Some(c));
        for bad in ["", "name", "name.x.", "nope.1.", "name.+1.", "name.1"] {
            assert_eq!(SearchCursor::from_token(bad), None, "{bad}");
        }
    }
}
