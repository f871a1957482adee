//! Reading a roster CSV into validated rows, and generating demo rows.
//!
//! The reader is pure (no database): it validates every field with the domain rules and
//! refuses rows that repeat a card or a user ID seen earlier in the same file, so the store
//! only ever sees rows that make sense on their own. How files are written (encoding, header
//! language, date forms) is [`crate::roster`]'s.

use std::collections::HashMap;
use std::io::Read;

use time::Date;

use super::{Rejection, RosterRow};
use crate::domain::{BirthDate, EmailAddress, InsuranceCard, UserId};
use crate::roster::{RosterEncoding, Utf8Reader, header_matches, header_reason, parse_birth_date};

/// The header tobira writes (English); see [`crate::roster::COLUMNS`] for the Japanese one.
pub const HEADER: [&str; 6] = ["symbol", "number", "birthdate", "name", "email", "user_id"];

/// The longest name accepted, in characters.
pub const NAME_MAX: usize = 100;

/// Reads a roster CSV in its detected encoding: see [`RosterReader`].
pub fn read_roster<R: Read>(reader: R, today: Date) -> RosterReader<R> {
    RosterReader::new(reader, today)
}

/// Reads a roster CSV in `encoding` (`None`: detected from the first bytes).
pub fn read_roster_as<R: Read>(
    reader: R,
    today: Date,
    encoding: Option<RosterEncoding>,
) -> RosterReader<R> {
    RosterReader::with_encoding(reader, today, encoding)
}

/// An iterator over a roster CSV's rows: each valid row, or a [`Rejection`] naming its line and
/// the field at fault.
///
/// A missing or wrong header (or an unreadable file) yields a single rejection, on line 1 for
/// the header, and ends the iteration: nothing in such a file can be trusted.
pub struct RosterReader<R: Read> {
    csv: csv::Reader<Utf8Reader<R>>,
    record: csv::ByteRecord,
    today: Date,
    encoding: RosterEncoding,
    header_seen: bool,
    done: bool,
    cards: HashMap<u128, u64>,
    user_ids: HashMap<u128, u64>,
}

impl<R: Read> RosterReader<R> {
    /// Wraps a reader whose encoding is detected; `today` bounds the birth dates.
    pub fn new(reader: R, today: Date) -> Self {
        Self::with_encoding(reader, today, None)
    }

    /// Wraps a reader in `encoding` (`None`: detected); `today` bounds the birth dates.
    pub fn with_encoding(reader: R, today: Date, encoding: Option<RosterEncoding>) -> Self {
        let source = Utf8Reader::open(reader, encoding);
        let encoding = source.encoding();
        // Records end at LF only: with CR LF as the terminator the LF is counted on the next
        // record's line, so every line number of a Windows file came out one short. The CR left
        // at the end of the last field is trimmed like any space.
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(source);
        Self {
            csv,
            record: csv::ByteRecord::new(),
            today,
            encoding,
            header_seen: false,
            done: false,
            cards: HashMap::new(),
            user_ids: HashMap::new(),
        }
    }

    /// The encoding the file is read in (given or detected).
    pub fn encoding(&self) -> RosterEncoding {
        self.encoding
    }

    fn stop(&mut self, line: u64, reason: String) -> Option<Result<RosterRow, Rejection>> {
        self.done = true;
        Some(Err(Rejection { line, reason }))
    }

    fn check_header(&self) -> bool {
        let fields: Vec<&[u8]> = self.record.iter().collect();
        header_matches(&fields)
    }

    fn next_row(&mut self, line: u64) -> Result<RosterRow, String> {
        let row = validate(&self.record, line, self.today, self.encoding)?;
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
        let more = loop {
            match self.csv.read_byte_record(&mut self.record) {
                // A blank line, such as the CR LF spreadsheets end files with, is no row.
                Ok(true)
                    if self.record.len() == 1
                        && self.record[0].iter().all(u8::is_ascii_whitespace) => {}
                Ok(more) => break more,
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    return self.stop(line, format!("cannot read the file: {e}"));
                }
            }
        };
        if !self.header_seen {
            self.header_seen = true;
            if !more || !self.check_header() {
                let mut reason = header_reason();
                if self.record.iter().any(|f| std::str::from_utf8(f).is_err()) {
                    reason.push_str(&format!("; it is not valid {}", self.encoding.name()));
                }
                return self.stop(1, reason);
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
fn validate(
    record: &csv::ByteRecord,
    line: u64,
    today: Date,
    encoding: RosterEncoding,
) -> Result<RosterRow, String> {
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
        // The decoder marks the bytes it could not read; UTF-8 is checked just above.
        if encoding != RosterEncoding::Utf8 && slot.contains('\u{fffd}') {
            return Err(format!("{name}: not valid {}", encoding.name()));
        }
    }
    let [symbol, number, birthdate, name, email, user_id] = fields;
    let card = InsuranceCard::parse(symbol, number).map_err(|e| match e {
        crate::domain::CardError::Symbol => format!("symbol: {e}"),
        crate::domain::CardError::Number => format!("number: {e}"),
    })?;
    let birth_date = parse_birth_date(birthdate)
        .and_then(|d| Ok(d.not_after(today)?))
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
    fn crlf_files_get_the_right_line_numbers_and_may_end_in_blank_lines() {
        let all = read(
            "symbol,number,birthdate,name,email,user_id\r\n\
             12,3456789,1980-12-01,山田 太郎,taro@example.jp,demo0001\r\n\
             12,3456790,1980-12-32,山田 花子,hanako@example.jp,demo0002\r\n\
             \r\n\
             12,3456791,1980-12-03,\"山田\r\n一郎\",ichiro@example.jp,demo0003\r\n\
             12,3456792,1980-12-04,山田 次郎,jiro@example.jp,\"demo0004\"\r\n\
             \r\n",
        );
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(all[0].as_ref().unwrap().line, 2);
        assert_eq!(all[0].as_ref().unwrap().user_id.as_str(), "demo0001");
        assert_eq!(
            all[1],
            Err(Rejection {
                line: 3,
                reason: "birthdate: that date does not exist".to_owned()
            })
        );
        // A quoted name over two lines is one row, starting on line 5.
        assert_eq!(all[2].as_ref().unwrap().line, 5);
        assert_eq!(all[3].as_ref().unwrap().line, 7);
        assert_eq!(all[3].as_ref().unwrap().user_id.as_str(), "demo0004");
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
            // Issue 16 added the Japanese form to the message; the English one still leads it.
            assert_eq!(
                all,
                vec![Err(Rejection {
                    line: 1,
                    reason:
                        "the header must be exactly symbol,number,birthdate,name,email,user_id \
                             (or in Japanese 記号,番号,生年月日,氏名,メールアドレス,ユーザID)"
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
                // Issue 16: 1980/01/01 and 19800101 are accepted now.
                "1,1,1980.01.01,山田,a@b.jp,abcd1234",
                "birthdate: a date of birth is written YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD",
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
    fn reads_a_japanese_header_and_every_date_form() {
        let rows = read(
            "記号,番号,生年月日,氏名,メールアドレス,ユーザID\n\
             12,3456789,1980-12-01,山田 太郎,taro@example.jp,demo0001\n\
             12,3456790,1980/12/02,山田 花子,hanako@example.jp,demo0002\n\
             12,3456791,19801203,山田 一郎,ichiro@example.jp,demo0003\n\
             12,3456792,1980/1/4,山田 次郎,jiro@example.jp,demo0004\n",
        );
        let dates: Vec<String> = rows
            .into_iter()
            .map(|r| r.unwrap().birth_date.to_string())
            .collect();
        assert_eq!(
            dates,
            ["1980-12-01", "1980-12-02", "1980-12-03", "1980-01-04"]
        );
        let rows = read(
            "保険証記号,保険証番号,生年月日,名前,メール,ユーザーＩＤ\n\
             12,3456789,１９８０／１２／０１,山田 太郎,taro@example.jp,demo0001\n",
        );
        assert_eq!(rows[0].as_ref().unwrap().card.number, "3456789");
    }

    /// A roster as a Japanese HR system exports it: CP932, Japanese header, slashed dates, and
    /// names only CP932's vendor extensions can write (髙 is an IBM extension, 﨑 an
    /// NEC-selected IBM one).
    fn cp932_roster() -> Vec<u8> {
        let text = "記号,番号,生年月日,氏名,メールアドレス,ユーザID\r\n\
                    12,3456789,1980/12/01,髙橋 一郎,takahashi@example.jp,taka0001\r\n\
                    12,3456790,19750430,山﨑 花子,yamasaki@example.jp,yama0001\r\n\
                    12,3456791,1990-01-15,神﨑 髙志,kanzaki@example.jp,kanz0001\r\n";
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
        assert!(!unmappable);
        bytes.into_owned()
    }

    #[test]
    fn reads_a_cp932_roster_detected_or_named() {
        let bytes = cp932_roster();
        assert!(std::str::from_utf8(&bytes).is_err(), "really not UTF-8");
        for given in [None, Some(RosterEncoding::Cp932)] {
            let reader = read_roster_as(bytes.as_slice(), TODAY, given);
            assert_eq!(reader.encoding(), RosterEncoding::Cp932);
            let rows: Vec<RosterRow> = reader.map(Result::unwrap).collect();
            let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(names, ["髙橋 一郎", "山﨑 花子", "神﨑 髙志"]);
            let dates: Vec<String> = rows.iter().map(|r| r.birth_date.to_string()).collect();
            assert_eq!(dates, ["1980-12-01", "1975-04-30", "1990-01-15"]);
            assert_eq!(rows[2].line, 4);
        }
    }

    #[test]
    fn a_cp932_roster_read_as_utf8_is_refused_line_by_line() {
        let all: Vec<_> =
            read_roster_as(cp932_roster().as_slice(), TODAY, Some(RosterEncoding::Utf8)).collect();
        // The Japanese header is not UTF-8, so nothing can be trusted.
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].as_ref().unwrap_err().line, 1);
    }

    #[test]
    fn a_broken_cp932_field_is_named() {
        let mut bytes = cp932_roster();
        bytes.extend_from_slice(b"12,3456792,1980-01-01,\x81,x@example.jp,bad00001\r\n");
        let all: Vec<_> = read_roster(bytes.as_slice(), TODAY).collect();
        assert_eq!(
            all[3],
            Err(Rejection {
                line: 5,
                reason: "name: not valid CP932".to_owned()
            })
        );
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
