//! The initial password printed on the member's letter: card symbol (記号) + number (番号) +
//! birth date (YYYYMMDD), as digits. Nothing is hashed on import: it is derived when needed.

use super::BirthDate;

/// Longest card symbol accepted, in digits.
pub const SYMBOL_MAX: usize = 8;
/// Longest card number accepted, in digits.
pub const NUMBER_MAX: usize = 10;

/// Why a card symbol or number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("the card symbol must be 1 to 8 digits")]
    Symbol,
    #[error("the card number must be 1 to 10 digits")]
    Number,
}

/// The insurance card's symbol and number, normalised to ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InsuranceCard {
    /// 記号
    pub symbol: String,
    /// 番号
    pub number: String,
}

/// Maps full-width digits (０–９, common in Japanese input) to ASCII and drops surrounding space.
fn ascii_digits(raw: &str) -> String {
    super::width::fold(raw).trim().to_owned()
}

fn digits(raw: &str, max: usize) -> Option<String> {
    let s = ascii_digits(raw);
    (!s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

impl InsuranceCard {
    /// Validates and normalises a symbol and number.
    pub fn parse(symbol: &str, number: &str) -> Result<Self, CardError> {
        Ok(Self {
            symbol: digits(symbol, SYMBOL_MAX).ok_or(CardError::Symbol)?,
            number: digits(number, NUMBER_MAX).ok_or(CardError::Number)?,
        })
    }
}

/// The initial password for a card holder born on `birth`.
pub fn initial_password(card: &InsuranceCard, birth: &BirthDate) -> String {
    format!("{}{}{}", card.symbol, card.number, birth.compact())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manuals_example() {
        let card = InsuranceCard::parse("12", "3456789").unwrap();
        let birth = BirthDate::parse("1980-12-01").unwrap();
        assert_eq!(initial_password(&card, &birth), "12345678919801201");
    }

    #[test]
    fn full_width_digits_are_normalised() {
        let card = InsuranceCard::parse("１２", " 3456789 ").unwrap();
        assert_eq!(card.symbol, "12");
        assert_eq!(card.number, "3456789");
    }

    #[test]
    fn refuses_non_digits_and_lengths() {
        assert_eq!(InsuranceCard::parse("1a", "1"), Err(CardError::Symbol));
        assert_eq!(InsuranceCard::parse("", "1"), Err(CardError::Symbol));
        assert_eq!(
            InsuranceCard::parse("123456789", "1"),
            Err(CardError::Symbol)
        );
        assert_eq!(
            InsuranceCard::parse("1", "12345678901"),
            Err(CardError::Number)
        );
    }
}
