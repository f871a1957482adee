//! How roster files are written by the systems that export them: their character encoding,
//! their header in English or Japanese, and their ways of writing a date. Pure parsing, no
//! database: [`crate::store::roster`] reads rows with it.

pub mod date;
pub mod encoding;
pub mod header;

pub use date::{RosterDateError, parse_birth_date};
pub use encoding::{RosterEncoding, Utf8Reader};
pub use header::{COLUMNS, header_matches, header_reason};
