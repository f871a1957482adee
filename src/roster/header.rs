//! The roster's header: six columns in a fixed order, each named in English or in Japanese as
//! Japanese systems label them (記号, 番号, 生年月日, 氏名, メールアドレス, ユーザID).

/// One column of the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The English name, as rejections name the field.
    pub key: &'static str,
    /// The Japanese names accepted for it (the first is the one documented).
    pub ja: &'static [&'static str],
}

/// The columns, in the order a roster must have them.
pub const COLUMNS: [Column; 6] = [
    Column {
        key: "symbol",
        ja: &["記号", "保険証記号", "被保険者証記号"],
    },
    Column {
        key: "number",
        ja: &["番号", "保険証番号", "被保険者証番号"],
    },
    Column {
        key: "birthdate",
        ja: &["生年月日"],
    },
    Column {
        key: "name",
        ja: &["氏名", "名前", "漢字氏名"],
    },
    Column {
        key: "email",
        ja: &["メールアドレス", "メール", "電子メールアドレス"],
    },
    Column {
        key: "user_id",
        ja: &["ユーザID", "ユーザーID"],
    },
];

/// Whether `fields` (raw bytes, in file order) are a roster header. English names are matched
/// exactly; Japanese ones after full-width letters (ＩＤ) and surrounding spaces (also
/// ideographic ones) are normalised. Languages may be mixed.
pub fn header_matches(fields: &[&[u8]]) -> bool {
    fields.len() == COLUMNS.len()
        && fields
            .iter()
            .zip(COLUMNS)
            .enumerate()
            .all(|(i, (raw, col))| {
                let raw = if i == 0 {
                    raw.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(raw)
                } else {
                    raw
                };
                let Ok(text) = std::str::from_utf8(raw) else {
                    return false;
                };
                text.trim() == col.key || col.ja.contains(&japanese_form(text).as_str())
            })
}

/// The message for a header that is not one.
pub fn header_reason() -> String {
    let en: Vec<&str> = COLUMNS.iter().map(|c| c.key).collect();
    let ja: Vec<&str> = COLUMNS.iter().map(|c| c.ja[0]).collect();
    format!(
        "the header must be exactly {} (or in Japanese {})",
        en.join(","),
        ja.join(",")
    )
}

/// Trimmed (ASCII and ideographic spaces), full-width ASCII made ASCII, ASCII letters upper-cased.
fn japanese_form(text: &str) -> String {
    text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            c => c,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(line: &str) -> bool {
        let fields: Vec<&[u8]> = line.split(',').map(str::as_bytes).collect();
        header_matches(&fields)
    }

    #[test]
    fn english_japanese_and_mixed_headers() {
        assert!(matches("symbol,number,birthdate,name,email,user_id"));
        assert!(matches("記号,番号,生年月日,氏名,メールアドレス,ユーザID"));
        assert!(matches(
            "保険証記号,保険証番号,生年月日,名前,メール,ユーザーＩＤ"
        ));
        assert!(matches(
            "\u{feff}記号, 番号 ,生年月日,氏名,メールアドレス,ユーザid"
        ));
        assert!(matches("記号,番号,birthdate,氏名,email,ユーザID"));
    }

    #[test]
    fn wrong_order_unknown_or_missing_columns_are_refused() {
        assert!(!matches("番号,記号,生年月日,氏名,メールアドレス,ユーザID"));
        assert!(!matches("記号,番号,誕生日,氏名,メールアドレス,ユーザID"));
        assert!(!matches("記号,番号,生年月日,氏名,メールアドレス"));
        assert!(!matches("Symbol,number,birthdate,name,email,user_id"));
        assert!(!header_matches(&[b"\xff", b"", b"", b"", b"", b""]));
    }

    #[test]
    fn the_reason_names_both_forms() {
        assert_eq!(
            header_reason(),
            "the header must be exactly symbol,number,birthdate,name,email,user_id \
             (or in Japanese 記号,番号,生年月日,氏名,メールアドレス,ユーザID)"
        );
    }
}
