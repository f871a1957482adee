//! Display width and wrapping with `unicode-width` (Japanese characters take two cells).

use unicode_width::UnicodeWidthChar;
use unicode_width::UnicodeWidthStr;

/// The display width of `s` in terminal cells.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Characters that must not end a line (they stay with what follows).
const OPENING: &str = "「『（【〈《(";
/// Characters that must not start a line.
const CLOSING: &str = "、。，．」』）】〉》)・ー！？";

/// Wraps `s` to `max` cells: at spaces where a line has them, anywhere between Japanese
/// characters, and never splitting a wide character. Explicit newlines are kept.
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    let max = max.max(2);
    let mut out = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        let mut w = 0usize;
        // Tokens: runs of ASCII non-space characters stay together (words); every other
        // character is its own token; spaces are kept as break opportunities.
        let mut tokens: Vec<String> = Vec::new();
        let mut word = String::new();
        for c in para.chars() {
            if c.is_ascii() && c != ' ' {
                word.push(c);
            } else if OPENING.contains(c) {
                // An opening bracket stays with what follows it.
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
                word.push(c);
            } else if !word.is_empty() && word.chars().all(|w| OPENING.contains(w)) {
                word.push(c);
                tokens.push(std::mem::take(&mut word));
            } else {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
                tokens.push(c.to_string());
            }
        }
        if !word.is_empty() {
            tokens.push(word);
        }
        for tok in tokens {
            let tw = width(&tok);
            if tok == " " && w == 0 && !out.is_empty() && !line.is_empty() {
                continue;
            }
            if w + tw <= max {
                line.push_str(&tok);
                w += tw;
                continue;
            }
            if tok == " " {
                out.push(std::mem::take(&mut line).trim_end().to_owned());
                w = 0;
                continue;
            }
            if tw <= max && CLOSING.contains(tok.as_str()) && !line.is_empty() {
                // Kinsoku: closing punctuation never starts a line; take the character before
                // it along.
                let mut chars: Vec<char> = line.chars().collect();
                let prev = chars.pop().unwrap_or(' ');
                out.push(chars.into_iter().collect::<String>().trim_end().to_owned());
                line = format!("{prev}{tok}");
                w = width(&line);
                continue;
            }
            if tw <= max {
                out.push(std::mem::take(&mut line).trim_end().to_owned());
                line.push_str(&tok);
                w = tw;
                continue;
            }
            // A word longer than a line: split it by characters.
            for c in tok.chars() {
                let cw = c.width().unwrap_or(0);
                if w + cw > max {
                    out.push(std::mem::take(&mut line));
                    w = 0;
                }
                line.push(c);
                w += cw;
            }
        }
        out.push(line.trim_end().to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_is_two_cells_wide() {
        assert_eq!(width("ユーザID"), 8);
        assert_eq!(width("【2】"), 5);
    }

    #[test]
    fn wraps_english_at_spaces() {
        assert_eq!(wrap("one two three", 8), vec!["one two", "three"]);
    }

    #[test]
    fn wraps_japanese_between_characters_without_overflow() {
        let lines = wrap("設定完了には10分程度かかります。", 10);
        for l in &lines {
            assert!(width(l) <= 10, "{l}");
        }
        assert_eq!(lines.concat(), "設定完了には10分程度かかります。");
    }

    #[test]
    fn punctuation_follows_the_kinsoku_rules() {
        let lines = wrap("ああああ、いいいい。", 8);
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with('、') && !l.starts_with('。')),
            "{lines:?}"
        );
        let lines = wrap("パスワードに「12345678」と入力", 14);
        assert!(lines.iter().all(|l| !l.ends_with('「')), "{lines:?}");
        assert_eq!(lines.concat(), "パスワードに「12345678」と入力");
    }

    #[test]
    fn long_words_are_split() {
        let lines = wrap("https://example.jp/verify?token=abcdef", 10);
        assert!(lines.iter().all(|l| width(l) <= 10));
    }
}
