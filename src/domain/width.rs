//! Full-width forms of ASCII (what a Japanese input method types: `１９８２`, `／`, `＠`) folded
//! to ASCII, so that numbers, dates and initial passwords typed either way mean the same.

/// The ASCII character a full-width form stands for (U+FF01–U+FF5E and the ideographic space);
/// any other character unchanged.
pub fn fold_char(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// `s` with every full-width form of ASCII folded (see [`fold_char`]).
pub fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_letters_and_symbols_become_ascii() {
        assert_eq!(fold("１９８２／１０／０４"), "1982/10/04");
        assert_eq!(fold("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"), "taro@example.jp");
        assert_eq!(fold("！～\u{3000}"), "!~ ");
        // Kana, kanji and ASCII stay as they are.
        assert_eq!(fold("山田 タロウ abc"), "山田 タロウ abc");
    }
}
