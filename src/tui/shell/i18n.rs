//! Translations: every string of the TUI lives in `assets/i18n/{ja,en}.toml`.
//!
//! The files are embedded at build time and flattened into `section.key` maps. [`t`] looks a
//! key up; [`tf`] also fills `{name}` placeholders.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::api::Lang;

const JA_SRC: &str = include_str!("../../../assets/i18n/ja.toml");
const EN_SRC: &str = include_str!("../../../assets/i18n/en.toml");

static JA: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| parse(JA_SRC).unwrap_or_default());
static EN: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| parse(EN_SRC).unwrap_or_default());

/// Parses one translation file into a flat `dotted.key → text` map.
pub fn parse(src: &str) -> Result<BTreeMap<String, String>, toml::de::Error> {
    let table: toml::Table = toml::from_str(src)?;
    let mut out = BTreeMap::new();
    flatten("", &table, &mut out);
    Ok(out)
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

fn map(lang: Lang) -> &'static BTreeMap<String, String> {
    match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    }
}

/// The text of `key` in `lang`; the key itself when it is missing (a test keeps that from happening).
pub fn t(lang: Lang, key: &'static str) -> &'static str {
    map(lang).get(key).map(String::as_str).unwrap_or(key)
}

/// [`t`] with `{name}` placeholders replaced by `args`.
pub fn tf(lang: Lang, key: &'static str, args: &[(&str, &str)]) -> String {
    let mut s = t(lang, key).to_owned();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// All keys of one language (for tests and tooling).
pub fn keys(lang: Lang) -> Vec<&'static str> {
    map(lang).keys().map(String::as_str).collect()
}

/// A translatable message: a key and its arguments, translated when drawn (so that a language
/// switch re-translates messages already on screen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tr {
    /// The i18n key.
    pub key: &'static str,
    /// `{name}` → value.
    pub args: Vec<(&'static str, String)>,
}

impl Tr {
    /// A message without arguments.
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    /// The message in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        tf(lang, self.key, &args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_files_parse() {
        assert!(!parse(JA_SRC).unwrap().is_empty());
        assert!(!parse(EN_SRC).unwrap().is_empty());
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let ja = parse(JA_SRC).unwrap();
        let en = parse(EN_SRC).unwrap();
        let only_ja: Vec<_> = ja.keys().filter(|k| !en.contains_key(*k)).collect();
        let only_en: Vec<_> = en.keys().filter(|k| !ja.contains_key(*k)).collect();
        assert!(
            only_ja.is_empty() && only_en.is_empty(),
            "only in ja.toml: {only_ja:?}; only in en.toml: {only_en:?}"
        );
    }

    #[test]
    fn no_value_is_empty() {
        for lang in [Lang::Ja, Lang::En] {
            for k in keys(lang) {
                assert!(!t(lang, "app.title").is_empty());
                assert!(!map(lang)[k].trim().is_empty(), "{k} is empty in {lang:?}");
            }
        }
    }

    #[test]
    fn every_key_used_in_the_source_exists() {
        // Scan the TUI sources for string literals that look like keys passed to t/tf/Tr.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tui");
        let mut missing = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let src = std::fs::read_to_string(&path).unwrap();
                for marker in [
                    "t(lang, \"",
                    "tf(lang, \"",
                    "Tr::new(\"",
                    "ctx.t(\"",
                    "info(\"",
                ] {
                    for piece in src.split(marker).skip(1) {
                        let key = piece.split('"').next().unwrap();
                        if !key.contains('.') || key.contains(' ') {
                            continue;
                        }
                        if !map(Lang::Ja).contains_key(key) {
                            missing.push(format!("{}: {key}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys used but not translated: {missing:#?}"
        );
    }

    #[test]
    fn placeholders_are_filled() {
        let s = Tr::new("err.rate_limited").arg("secs", "30").text(Lang::En);
        assert!(s.contains("30"), "{s}");
        assert!(!s.contains('{'));
    }
}
