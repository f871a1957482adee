//! Reading a roster CSV into validated rows, and generating demo rows.
//!
//! The reader is pure (no database): it validates every field with the domain rules and
//! refuses rows that repeat a card or a user ID seen earlier in the same file, so the store
//! only ever sees rows that make sense on their own.

use std::collections::HashMap;
use std::io::Read;

use time::Date;

use super::{Rejection, RosterRow};
use crate::domain::{BirthDate, EmailAddress, InsuranceCard, UserId};

/// The only header a roster file may have.
pub const HEADER: [&str; 6] = ["symbol", "number", "birthdate", "name", "email", "user_id"];

/// The longest name accepted, in characters.
pub const NAME_MAX: usize = 100;

/// Reads a roster CSV: see [`RosterReader`].
pub fn read_roster<R: Read>(reader: R, today: Date) -> RosterReader<R> {
    RosterReader::new(reader, today)
}

/// An iterator over a roster CSV's rows: each valid row, or a [`Rejection`] naming its line and
/// the field at fault.
///
/// A missing or wrong header (or an unreadable file) yields a single rejection, on line 1 for
/// the header, and ends the iteration: nothing in such a file can be trusted.
pub struct RosterReader<R: Read> {
    csv: csv::Reader<R>,
    record: csv::ByteRecord,
    today: Date,
    header_seen: bool,
    done: bool,
    cards: HashMap<u128, u64>,
    user_ids: HashMap<u128, u64>,
}

impl<R: Read> RosterReader<R> {
    /// Wraps a reader; `today` bounds the birth dates.
    pub fn new(reader: R, today: Date) -> Self {
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        Self {
            csv,
            record: csv::ByteRecord::new(),
            today,
            header_seen: false,
            done: false,
            cards: HashMap::new(),
            user_ids: HashMap::new(),
        }
    }

    fn stop(&mut self, line: u64, reason: String) -> Option<Result<RosterRow, Rejection>> {
        self.done = true;
        Some(Err(Rejection { line, reason }))
    }

    fn header_reason() -> String {
        format!("the header must be exactly {}", HEADER.join(","))
    }

    fn check_header(&self) -> bool {
        let fields: Vec<&[u8]> = self.record.iter().collect();
        if fields.len() != HEADER.len() {
            return false;
        }
        fields
            .iter()
            .zip(HEADER)
            .enumerate()
            .all(|(i, (got, want))| {
                let got = if i == 0 {
                    got.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(got)
                } else {
                    got
                };
                got == want.as_bytes()
            })
    }

    fn next_row(&mut self, line: u64) -> Result<RosterRow, String> {
        let row = validate(&self.record, line, self.today)?;
        let card = card_key(&row.card);
        if let Some(first) = self.cards.get(&card) {
            return Err(format!("duplicate card (first seen on line {first})"));
        }
        let user = user_id_key(row.user_id.as_str());
        if let Some(first) = self.user_ids.get(&user) {
            return Err(format!("duplicate user ID (first seen on line {first})"));
        }
        self.cards.insert(card, line);
        self.user_ids.insert(user, line);
        Ok(row)
    }
}

impl<R: Read> Iterator for RosterReader<R> {
    type Item = Result<RosterRow, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let more = match self.csv.read_byte_record(&mut self.record) {
            Ok(more) => more,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                return self.stop(line, format!("cannot read the file: {e}"));
            }
        };
        if !self.header_seen {
            self.header_seen = true;
            if !more || !self.check_header() {
                return self.stop(1, Self::header_reason());
            }
            return self.next();
        }
        if !more {
            self.done = true;
            return None;
        }
        let line = self.record.position().map_or(0, csv::Position::line);
        Some(
            self.next_row(line)
                .map_err(|reason| Rejection { line, reason }),
        )
    }
}

/// Checks one data record's fields, naming the first field at fault.
fn validate(record: &csv::ByteRecord, line: u64, today: Date) -> Result<RosterRow, String> {
    if record.len() != HEADER.len() {
        return Err(format!(
            "expected {} fields ({}), found {}",
            HEADER.len(),
            HEADER.join(","),
            record.len()
        ));
    }
    let mut fields = [""; 6];
    for (slot, (raw, name)) in fields.iter_mut().zip(record.iter().zip(HEADER)) {
        *slot = std::str::from_utf8(raw).map_err(|_| format!("{name}: not valid UTF-8"))?;
    }
    let [symbol, number, birthdate, name, email, user_id] = fields;
    let card = InsuranceCard::parse(symbol, number).map_err(|e| match e {
        crate::domain::CardError::Symbol => format!("symbol: {e}"),
        crate::domain::CardError::Number => format!("number: {e}"),
    })?;
    let birth_date = BirthDate::parse(birthdate)
        .and_then(|d| d.not_after(today))
        .map_err(|e| format!("birthdate: {e}"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err("name: a name is required".to_owned());
    }
    if name.chars().count() > NAME_MAX {
        return Err(format!("name: a name may be at most {NAME_MAX} characters"));
    }
    let email = EmailAddress::parse(email).map_err(|e| format!("email: {e}"))?;
    let user_id = UserId::parse(user_id).map_err(|e| format!("user_id: {e}"))?;
    Ok(RosterRow {
        line,
        card,
        birth_date,
        name: name.to_owned(),
        email,
        user_id,
    })
}

/// Packs a short string into an integer, one base-`base` digit per character; distinct inputs
/// within the domain rules' lengths and alphabets give distinct keys, and a key costs 16 bytes
/// where a `String` would cost dozens, which matters for million-row files.
fn pack(s: &str, base: u128, digit: impl Fn(u8) -> u128) -> u128 {
    s.bytes().fold(0u128, |acc, b| {
        acc.wrapping_mul(base).wrapping_add(digit(b))
    })
}

/// Symbol (at most 8 digits) in the high half, number (at most 10) in the low half; digits are
/// 1..=10 so leading zeros count.
fn card_key(card: &InsuranceCard) -> u128 {
    let digit = |b: u8| u128::from(b.wrapping_sub(b'0')) + 1;
    (pack(&card.symbol, 11, digit) << 64) | pack(&card.number, 11, digit)
}

/// A user ID (at most 13 of 40 characters) as base-42 digits 1..=41.
fn user_id_key(id: &str) -> u128 {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_.@";
    pack(id, 42, |b| {
        ALPHABET
            .iter()
            .position(|&a| a == b)
            .map_or(41, |p| p as u128 + 1)
    })
}

const FAMILY_NAMES: [&str; 10] = [
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
];
const GIVEN_NAMES: [&str; 10] = [
    "太郎",
    "花子",
    "一郎",
    "美咲",
    "健太",
    "陽子",
    "翔",
    "さくら",
    "大輔",
    "由美",
];

/// A deterministic, valid roster row for index `i` (card, user ID and email unique per index),
/// for demo data and benchmarks.
pub fn demo_row(i: u64) -> RosterRow {
    match try_demo_row(i) {
        Ok(row) => row,
        // Every value below is valid by construction for every `i` (see the tests).
        Err(e) => unreachable!("demo_row({i}) built an invalid row: {e}"),
    }
}

fn try_demo_row(i: u64) -> Result<RosterRow, String> {
    let card = InsuranceCard::parse(
        &(100 + i / 10_000_000).to_string(),
        &format!("{:07}", i % 10_000_000),
    )
    .map_err(|e| e.to_string())?;
    let year = 1940 + (i % 60) as i32;
    let month = 1 + ((i / 60) % 12) as u8;
    let day = 1 + ((i / 720) % 28) as u8;
    let birth_date = BirthDate::from_ymd(year, month, day).map_err(|e| e.to_string())?;
    let name = format!(
        "{} {}",
        FAMILY_NAMES[(i % 10) as usize],
        GIVEN_NAMES[((i / 10) % 10) as usize]
    );
    let email = EmailAddress::parse(&format!("m{i}@example.com")).map_err(|e| e.to_string())?;
    let user_id = UserId::parse(&format!("m{i:07}x")).map_err(|e| e.to_string())?;
    Ok(RosterRow {
        line: i + 2,
        card,
        birth_date,
        name,
        email,
        user_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);
    const HEAD: &str = "symbol,number,birthdate,name,email,user_id\n";

    fn read(text: &str) -> Vec<Result<RosterRow, Rejection>> {
        read_roster(text.as_bytes(), TODAY).collect()
    }

    fn rejection(text: &str) -> Rejection {
        let all = read(&format!("{HEAD}{text}"));
        assert_eq!(all.len(), 1, "{all:?}");
        all.into_iter().next().unwrap().unwrap_err()
    }

    #[test]
    fn reads_a_good_file_with_japanese_names() {
        let rows = read(&format!(
            "{HEAD}12,3456789,1980-12-01,山田 太郎,taro@example.jp,Demo0001\n\
             １２,3456790,1975-04-30,\"鈴木, 花子\",hanako@example.jp,hanako75\n"
        ));
        let rows: Vec<RosterRow> = rows.into_iter().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].card.symbol, "12");
        assert_eq!(rows[0].card.number, "3456789");
        assert_eq!(rows[0].birth_date.to_string(), "1980-12-01");
        assert_eq!(rows[0].name, "山田 太郎");
        assert_eq!(rows[0].email.as_str(), "taro@example.jp");
        assert_eq!(rows[0].user_id.as_str(), "demo0001");
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].card.symbol, "12");
        assert_eq!(rows[1].name, "鈴木, 花子");
    }

    #[test]
    fn tolerates_a_bom_and_crlf() {
        let rows = read(
            "\u{feff}symbol,number,birthdate,name,email,user_id\r\n\
             12,3456789,1980-12-01,山田 太郎,taro@example.jp,demo0001\r\n",
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].as_ref().unwrap().user_id.as_str(), "demo0001");
    }

    #[test]
    fn refuses_a_bad_header_once() {
        for bad in [
            "symbol,number,birth_date,name,email,user_id\n1,1,1980-01-01,a,a@b.jp,abcd1234\n",
            "symbol,number,birthdate,name,email\n",
            "Symbol,number,birthdate,name,email,user_id\n",
            "",
        ] {
            let all = read(bad);
            assert_eq!(
                all,
                vec![Err(Rejection {
                    line: 1,
                    reason: "the header must be exactly symbol,number,birthdate,name,email,user_id"
                        .to_owned()
                })],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_the_bad_field() {
        let cases = [
            (
                "1a,1,1980-01-01,山田,a@b.jp,abcd1234",
                "symbol: the card symbol must be 1 to 8 digits",
            ),
            (
                "1,12345678901,1980-01-01,山田,a@b.jp,abcd1234",
                "number: the card number must be 1 to 10 digits",
            ),
            (
                "1,1,1980/01/01,山田,a@b.jp,abcd1234",
                "birthdate: a date of birth is written YYYY-MM-DD",
            ),
            (
                "1,1,1980-02-30,山田,a@b.jp,abcd1234",
                "birthdate: that date does not exist",
            ),
            (
                "1,1,2026-11-26,山田,a@b.jp,abcd1234",
                "birthdate: a date of birth must lie between 1900 and today",
            ),
            (
                "1,1,1980-01-01, ,a@b.jp,abcd1234",
                "name: a name is required",
            ),
            (
                "1,1,1980-01-01,山田,not-an-address,abcd1234",
                "email: an email address looks like name@example.jp",
            ),
            (
                "1,1,1980-01-01,山田,a@b.jp,abc",
                "user_id: a user ID must be 8 to 13 characters long",
            ),
            (
                "1,1,1980-01-01,山田,a@b.jp,abcdefghi",
                "user_id: a user ID must contain at least one digit",
            ),
            (
                "1,1,1980-01-01,山田,a@b.jp",
                "expected 6 fields (symbol,number,birthdate,name,email,user_id), found 5",
            ),
        ];
        for (row, reason) in cases {
            let r = rejection(&format!("{row}\n"));
            assert_eq!((r.line, r.reason.as_str()), (2, reason), "{row}");
        }
        let long = "名".repeat(NAME_MAX + 1);
        let r = rejection(&format!("1,1,1980-01-01,{long},a@b.jp,abcd1234\n"));
        assert_eq!(r.reason, "name: a name may be at most 100 characters");
        let ok = "名".repeat(NAME_MAX);
        assert!(read(&format!("{HEAD}1,1,1980-01-01,{ok},a@b.jp,abcd1234\n"))[0].is_ok());
    }

    #[test]
    fn refuses_invalid_utf8_and_goes_on() {
        let mut bytes = HEAD.as_bytes().to_vec();
        bytes.extend_from_slice(b"1,1,1980-01-01,\xff\xfe,a@b.jp,abcd1234\n");
        bytes.extend_from_slice(b"1,2,1980-01-01,ok,a@b.jp,abcd1235\n");
        let all: Vec<_> = read_roster(bytes.as_slice(), TODAY).collect();
        assert_eq!(
            all[0],
            Err(Rejection {
                line: 2,
                reason: "name: not valid UTF-8".to_owned()
            })
        );
        assert_eq!(all[1].as_ref().unwrap().line, 3);
    }

    #[test]
    fn refuses_duplicates_within_the_file() {
        let all = read(&format!(
            "{HEAD}1,1,1980-01-01,山田,a@b.jp,abcd1234\n\
             01,1,1980-01-01,山田,a@b.jp,abcd1235\n\
             1,1,1990-01-01,田中,c@b.jp,other123\n\
             2,2,1980-01-01,山田,a@b.jp,ABCD1234\n\
             bad,2,1980-01-01,山田,a@b.jp,zzzz1234\n\
             3,3,1980-01-01,山田,a@b.jp,zzzz1234\n"
        ));
        assert_eq!(all.len(), 6);
        assert!(all[0].is_ok());
        // A leading zero makes a different card.
        assert!(all[1].is_ok());
        assert_eq!(
            all[2].as_ref().unwrap_err().reason,
            "duplicate card (first seen on line 2)"
        );
        assert_eq!(
            all[3].as_ref().unwrap_err().reason,
            "duplicate user ID (first seen on line 2)"
        );
        assert_eq!(all[3].as_ref().unwrap_err().line, 5);
        // A rejected row claims nothing.
        assert!(all[4].is_err());
        assert!(all[5].is_ok());
    }

    #[test]
    fn keys_are_distinct() {
        let c = |s: &str, n: &str| card_key(&InsuranceCard::parse(s, n).unwrap());
        assert_ne!(c("1", "23"), c("12", "3"));
        assert_ne!(c("01", "1"), c("1", "1"));
        assert_ne!(c("12345678", "1234567890"), c("12345678", "1234567891"));
        assert_ne!(user_id_key("abcd1234"), user_id_key("abcd12340"));
        assert_ne!(user_id_key("a@@@@@@@"), user_id_key("a.......@"));
        assert_ne!(user_id_key("@@@@@@@@@@@@@"), user_id_key("@@@@@@@@@@@@"));
    }

    #[test]
    fn demo_rows_are_valid_and_unique() {
        let mut cards = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        let picks = (0..20_000).chain([9_999_999, 10_000_000, 123_456_789, 99_999_999_999]);
        for i in picks {
            let r = try_demo_row(i).unwrap();
            assert!(r.birth_date.not_after(TODAY).is_ok());
            assert!(cards.insert(card_key(&r.card)), "{i}");
            assert!(ids.insert(r.user_id.as_str().to_owned()), "{i}");
        }
        assert_eq!(demo_row(7).user_id.as_str(), "m0000007x");
        assert_eq!(demo_row(7).email.as_str(), "m7@example.com");
    }
}
