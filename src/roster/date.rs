//! Dates of birth as roster files write them: `1980-12-01`, `1980/12/01` (also `1980/1/5`, as
//! spreadsheets export it) or `19801201`, in ASCII or full-width digits.

use crate::domain::{BirthDate, BirthDateError};

/// Why a roster's date of birth was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterDateError {
    /// None of the accepted forms.
    #[error("a date of birth is written YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD")]
    Format,
    /// A well-formed date the domain refuses (no such day, out of range).
    #[error(transparent)]
    Date(#[from] BirthDateError),
}

/// Parses a roster's date of birth in any of the accepted forms.
pub fn parse_birth_date(raw: &str) -> Result<BirthDate, RosterDateError> {
    let raw = raw.trim();
    // The common case, as fast as before: ASCII YYYY-MM-DD.
    if raw.len() == 10 && raw.as_bytes()[4] == b'-' {
        return BirthDate::parse(raw).map_err(|e| match e {
            BirthDateError::Format => RosterDateError::Format,
            e => RosterDateError::Date(e),
        });
    }
    let ascii;
    let text = if raw.is_ascii() {
        raw
    } else {
        ascii = halfwidth(raw);
        ascii.as_str()
    };
    let (year, month, day) = split(text).ok_or(RosterDateError::Format)?;
    Ok(BirthDate::from_ymd(year, month, day)?)
}

/// Full-width digits, hyphen and slash (１９８０／１２／０１) as ASCII.
fn halfwidth(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '０'..='９' | '／' | '－' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// Year, month and day of `YYYYMMDD` or `YYYY` + one separator (`-` or `/`) used twice + month
/// and day of one or two digits.
fn split(text: &str) -> Option<(i32, u8, u8)> {
    fn digits(s: &str, len: std::ops::RangeInclusive<usize>) -> Option<&str> {
        (len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
    }
    if let Some(t) = digits(text, 8..=8) {
        return Some((
            t[..4].parse().ok()?,
            t[4..6].parse().ok()?,
            t[6..].parse().ok()?,
        ));
    }
    let sep = match text.as_bytes().get(4)? {
        b'/' => '/',
        b'-' => '-',
        _ => return None,
    };
    let mut parts = text.split(sep);
    let year = digits(parts.next()?, 4..=4)?;
    let month = digits(parts.next()?, 1..=2)?;
    let day = digits(parts.next()?, 1..=2)?;
    if parts.next().is_some() {
        return None;
    }
    Some((year.parse().ok()?, month.parse().ok()?, day.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_gives_the_same_date() {
        for raw in [
            "1980-12-01",
            "1980/12/01",
            "19801201",
            " 1980/12/1 ",
            "１９８０／１２／０１",
            "１９８０１２０１",
            "1980-12-1",
            "1980-12-01",
        ] {
            assert_eq!(
                parse_birth_date(raw).map(|d| d.to_string()),
                Ok("1980-12-01".to_owned()),
                "{raw}"
            );
        }
        for raw in ["1975/4/5", "1975-4-5"] {
            assert_eq!(parse_birth_date(raw).unwrap().to_string(), "1975-04-05");
        }
    }

    #[test]
    fn other_forms_and_impossible_dates_are_named() {
        for raw in [
            "1980.12.01",
            "1980-12/01",
            "80/12/01",
            "1980/123/01",
            "1980120",
            "198012011",
            "S55.12.01",
            "",
            "1980/12/01/",
        ] {
            assert_eq!(
                parse_birth_date(raw).unwrap_err().to_string(),
                "a date of birth is written YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD",
                "{raw}"
            );
        }
        assert_eq!(
            parse_birth_date("19800230").unwrap_err().to_string(),
            "that date does not exist"
        );
        assert_eq!(
            parse_birth_date("1899/12/31").unwrap_err().to_string(),
            "a date of birth must lie between 1900 and today"
        );
    }
}
