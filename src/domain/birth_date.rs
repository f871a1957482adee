//! A member's date of birth, as printed on the card and typed at the identity check.

use serde::{Deserialize, Serialize};
use time::{Date, Month, macros::format_description};

/// Why a date of birth was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BirthDateError {
    #[error("a date of birth is written YYYY-MM-DD")]
    Format,
    #[error("that date does not exist")]
    NoSuchDate,
    #[error("a date of birth must lie between 1900 and today")]
    OutOfRange,
}

/// A calendar date of birth (no time zone: it is a date, not an instant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BirthDate(Date);

impl BirthDate {
    /// Builds a date from its parts, refusing dates that do not exist (2023-02-30).
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Result<Self, BirthDateError> {
        let month = Month::try_from(month).map_err(|_| BirthDateError::NoSuchDate)?;
        let date =
            Date::from_calendar_date(year, month, day).map_err(|_| BirthDateError::NoSuchDate)?;
        if year < 1900 {
            return Err(BirthDateError::OutOfRange);
        }
        Ok(Self(date))
    }

    /// Parses `YYYY-MM-DD` (the CSV and API form).
    pub fn parse(raw: &str) -> Result<Self, BirthDateError> {
        let raw = raw.trim();
        let b = raw.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return Err(BirthDateError::Format);
        }
        let num =
            |r: std::ops::Range<usize>| raw[r].parse::<i32>().map_err(|_| BirthDateError::Format);
        Self::from_ymd(num(0..4)?, num(5..7)? as u8, num(8..10)? as u8)
    }

    /// Refuses a date after `today` (the caller supplies the clock: this module has no I/O).
    pub fn not_after(self, today: Date) -> Result<Self, BirthDateError> {
        if self.0 > today {
            Err(BirthDateError::OutOfRange)
        } else {
            Ok(self)
        }
    }

    /// `YYYYMMDD`, the form used in the initial password.
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }

    /// The underlying calendar date.
    pub fn date(&self) -> Date {
        self.0
    }
}

impl std::fmt::Display for BirthDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fmt = format_description!("[year]-[month]-[day]");
        match self.0.format(&fmt) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(std::fmt::Error),
        }
    }
}

impl TryFrom<String> for BirthDate {
    type Error = BirthDateError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<BirthDate> for String {
    fn from(d: BirthDate) -> Self {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn parses_and_prints() {
        let d = BirthDate::parse("1980-12-01").unwrap();
        assert_eq!(d.to_string(), "1980-12-01");
        assert_eq!(d.compact(), "19801201");
    }

    #[test]
    fn refuses_bad_shapes_and_dates() {
        assert_eq!(BirthDate::parse("1980/12/01"), Err(BirthDateError::Format));
        assert_eq!(BirthDate::parse("80-12-01"), Err(BirthDateError::Format));
        assert_eq!(
            BirthDate::parse("1980-02-30"),
            Err(BirthDateError::NoSuchDate)
        );
        assert_eq!(
            BirthDate::parse("1980-13-01"),
            Err(BirthDateError::NoSuchDate)
        );
        assert_eq!(
            BirthDate::parse("1899-12-31"),
            Err(BirthDateError::OutOfRange)
        );
        assert!(BirthDate::parse("2000-02-29").is_ok());
    }

    #[test]
    fn refuses_the_future() {
        let today = date!(2026 - 11 - 25);
        assert!(
            BirthDate::parse("2026-11-25")
                .unwrap()
                .not_after(today)
                .is_ok()
        );
        assert_eq!(
            BirthDate::parse("2026-11-26").unwrap().not_after(today),
            Err(BirthDateError::OutOfRange)
        );
    }
}
