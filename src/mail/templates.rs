//! Mail bodies, in Japanese and English: built in from `assets/mail/{ja,en}/`, and each mail
//! replaceable by the operator's own from a directory (`[mail] templates`), checked when the
//! server starts.
//!
//! Each mail has a plain-text and an HTML template with `{placeholder}`s. Values are substituted
//! in one pass (a value that itself contains `{link}` is not expanded again) and HTML-escaped in
//! the HTML part. Subjects, greetings and signatures carry the portal's names (`[portal]`), and
//! expiry times are shown in the portal's time zone.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::api::Lang;
use crate::portal::Portal;

use super::Mail;

/// The mails tobira sends; each is one template pair per language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// The address-verification link (manual step 【6】).
    Verification,
    /// The emailed one-time password.
    EmailCode,
    /// The "forgot your user ID?" answer.
    UserId,
    /// The "forgot your password?" code.
    PasswordReset,
    /// The notice to the old address that a change was asked for.
    EmailChanged,
    /// The new user ID chosen at 【9】, confirmed in writing.
    UserIdChanged,
    /// A code the helpdesk mails so the caller can read it back (caller verification).
    HelpdeskCode,
    /// "The helpdesk did this to your account on this date; if it was not you, call us."
    HelpdeskNotice,
}

/// Placeholders every template may use: the member's name, the portal's short name (as in the
/// subject) and full name, the operator and contact lines (empty when not configured), the
/// signature (the full name, then operator and contact when configured, one per line) and the
/// subject.
pub const COMMON_PLACEHOLDERS: [&str; 7] = [
    "name",
    "portal",
    "portal_name",
    "operator",
    "contact",
    "signature",
    "subject",
];

impl MailKind {
    /// Every mail.
    pub const ALL: [MailKind; 8] = [
        Self::Verification,
        Self::EmailCode,
        Self::UserId,
        Self::PasswordReset,
        Self::EmailChanged,
        Self::UserIdChanged,
        Self::HelpdeskCode,
        Self::HelpdeskNotice,
    ];

    /// The file name without extension (`verification` → `ja/verification.txt`).
    pub fn file_stem(self) -> &'static str {
        match self {
            Self::Verification => "verification",
            Self::EmailCode => "email_code",
            Self::UserId => "user_id",
            Self::PasswordReset => "password_reset",
            Self::EmailChanged => "email_changed",
            Self::UserIdChanged => "user_id_changed",
            Self::HelpdeskCode => "helpdesk_code",
            Self::HelpdeskNotice => "helpdesk_notice",
        }
    }

    /// The placeholders a template of this mail must contain: without them the mail is useless.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Self::Verification => &["link"],
            Self::EmailCode | Self::PasswordReset | Self::HelpdeskCode => &["code"],
            Self::UserId | Self::UserIdChanged => &["user_id"],
            Self::EmailChanged => &["new_email"],
            Self::HelpdeskNotice => &["action", "date"],
        }
    }

    /// The placeholders of this mail besides [`COMMON_PLACEHOLDERS`]; `expires_at` is the time
    /// the link or code stops working, in the portal's time zone.
    pub fn specific(self) -> &'static [&'static str] {
        match self {
            Self::Verification => &["link", "minutes", "duration", "expires_at"],
            Self::EmailCode | Self::PasswordReset | Self::HelpdeskCode => {
                &["code", "minutes", "duration", "expires_at"]
            }
            Self::UserId | Self::UserIdChanged => &["user_id"],
            Self::EmailChanged => &["new_email"],
            Self::HelpdeskNotice => &["action", "date"],
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The subject, with `{portal}` for the portal's short name.
    fn subject_pattern(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Verification, Lang::Ja) => "【{portal}】メールアドレスの確認",
            (Self::Verification, Lang::En) => "[{portal}] Please confirm your email address",
            (Self::EmailCode, Lang::Ja) => "【{portal}】ワンタイムパスワードのお知らせ",
            (Self::EmailCode, Lang::En) => "[{portal}] Your one-time password",
            (Self::UserId, Lang::Ja) => "【{portal}】ユーザIDのお知らせ",
            (Self::UserId, Lang::En) => "[{portal}] Your user ID",
            (Self::PasswordReset, Lang::Ja) => "【{portal}】パスワード再設定の確認コード",
            (Self::PasswordReset, Lang::En) => "[{portal}] Your password reset code",
            (Self::EmailChanged, Lang::Ja) => "【{portal}】メールアドレス変更のお知らせ",
            (Self::EmailChanged, Lang::En) => "[{portal}] Your email address is being changed",
            (Self::UserIdChanged, Lang::Ja) => "【{portal}】ユーザIDが変更されました",
            (Self::UserIdChanged, Lang::En) => "[{portal}] Your user ID was changed",
            (Self::HelpdeskCode, Lang::Ja) => "【{portal}】ヘルプデスクでの本人確認コード",
            (Self::HelpdeskCode, Lang::En) => "[{portal}] Your code for the helpdesk",
            (Self::HelpdeskNotice, Lang::Ja) => "【{portal}】ヘルプデスクによる操作のお知らせ",
            (Self::HelpdeskNotice, Lang::En) => "[{portal}] Our helpdesk changed your account",
        }
    }

    /// The built-in (plain text, HTML) templates.
    fn builtin(self, lang: Lang) -> (&'static str, &'static str) {
        macro_rules! pair {
            ($lang:literal, $stem:literal) => {
                (
                    include_str!(concat!("../../assets/mail/", $lang, "/", $stem, ".txt")),
                    include_str!(concat!("../../assets/mail/", $lang, "/", $stem, ".html")),
                )
            };
        }
        match (self, lang) {
            (Self::Verification, Lang::Ja) => pair!("ja", "verification"),
            (Self::Verification, Lang::En) => pair!("en", "verification"),
            (Self::EmailCode, Lang::Ja) => pair!("ja", "email_code"),
            (Self::EmailCode, Lang::En) => pair!("en", "email_code"),
            (Self::UserId, Lang::Ja) => pair!("ja", "user_id"),
            (Self::UserId, Lang::En) => pair!("en", "user_id"),
            (Self::PasswordReset, Lang::Ja) => pair!("ja", "password_reset"),
            (Self::PasswordReset, Lang::En) => pair!("en", "password_reset"),
            (Self::EmailChanged, Lang::Ja) => pair!("ja", "email_changed"),
            (Self::EmailChanged, Lang::En) => pair!("en", "email_changed"),
            (Self::UserIdChanged, Lang::Ja) => pair!("ja", "user_id_changed"),
            (Self::UserIdChanged, Lang::En) => pair!("en", "user_id_changed"),
            (Self::HelpdeskCode, Lang::Ja) => pair!("ja", "helpdesk_code"),
            (Self::HelpdeskCode, Lang::En) => pair!("en", "helpdesk_code"),
            (Self::HelpdeskNotice, Lang::Ja) => pair!("ja", "helpdesk_notice"),
            (Self::HelpdeskNotice, Lang::En) => pair!("en", "helpdesk_notice"),
        }
    }
}

/// Why the operator's templates cannot be used (the server does not start).
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A file or directory could not be read.
    #[error("cannot read mail template {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The OS error (or invalid UTF-8).
        source: std::io::Error,
    },
    /// A file that is not one of the templates (a typo would otherwise be silently ignored).
    #[error("{}: not a mail template; the directory holds ja/ and en/ with {expected}", path.display())]
    UnknownFile {
        /// The file.
        path: PathBuf,
        /// The file names that are.
        expected: String,
    },
    /// A required placeholder is missing.
    #[error("{}: the required placeholder {{{placeholder}}} is missing", path.display())]
    Missing {
        /// The template.
        path: PathBuf,
        /// The placeholder, without braces.
        placeholder: &'static str,
    },
    /// A placeholder no value exists for (it would reach members as written).
    #[error("{}, line {line}: unknown placeholder {{{placeholder}}} (this mail knows {known})", path.display())]
    Unknown {
        /// The template.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The placeholder, without braces.
        placeholder: String,
        /// The placeholders this mail knows.
        known: String,
    },
    /// One part of a mail replaced without the other.
    #[error(
        "{} is given without {}: a mail's plain-text and HTML parts are replaced together",
        path.display(),
        missing.display()
    )]
    Unpaired {
        /// The part given.
        path: PathBuf,
        /// The part missing.
        missing: PathBuf,
    },
}

/// The `{name}` placeholders of `text` with their line numbers: a `{` followed by lower-case
/// letters, digits or `_` and a `}` (CSS such as `body{margin:0}` is not one).
pub fn placeholders(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().flat_map(|(i, line)| {
        let mut found = Vec::new();
        let mut rest = line;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
                .count();
            if len > 0 && after.as_bytes().get(len) == Some(&b'}') {
                found.push((i + 1, &after[..len]));
                rest = &after[len + 1..];
            } else {
                rest = after;
            }
        }
        found
    })
}

/// Checks one template of `kind`: every required placeholder present, no unknown one.
pub fn check(kind: MailKind, path: &Path, text: &str) -> Result<(), TemplateError> {
    let known = |p: &str| COMMON_PLACEHOLDERS.contains(&p) || kind.specific().contains(&p);
    if let Some((line, p)) = placeholders(text).find(|(_, p)| !known(p)) {
        let all: Vec<String> = COMMON_PLACEHOLDERS
            .iter()
            .chain(kind.specific())
            .map(|p| format!("{{{p}}}"))
            .collect();
        return Err(TemplateError::Unknown {
            path: path.to_owned(),
            line,
            placeholder: p.to_owned(),
            known: all.join(" "),
        });
    }
    for &required in kind.required() {
        if !placeholders(text).any(|(_, p)| p == required) {
            return Err(TemplateError::Missing {
                path: path.to_owned(),
                placeholder: required,
            });
        }
    }
    Ok(())
}

/// Who a mail goes to, and in which language.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// The member's language.
    pub lang: Lang,
    /// The address.
    pub to: &'a str,
    /// The member's name, for the greeting.
    pub name: &'a str,
}

/// How long what a mail carries (a link, a code) works: `ttl_secs` from `sent_at` (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    /// When the mail is written.
    pub sent_at: i64,
    /// How long it works.
    pub ttl_secs: u64,
}

#[derive(Debug, Clone)]
struct Pair {
    txt: String,
    html: String,
}

/// The mails' templates and the portal they speak for.
#[derive(Debug, Clone)]
pub struct MailTemplates {
    portal: Portal,
    /// By kind, then language (ja, en).
    pairs: [[Pair; 2]; MailKind::ALL.len()],
}

impl Default for MailTemplates {
    fn default() -> Self {
        Self::with_portal(Portal::default())
    }
}

fn lang_index(lang: Lang) -> usize {
    match lang {
        Lang::Ja => 0,
        Lang::En => 1,
    }
}

const LANGS: [Lang; 2] = [Lang::Ja, Lang::En];

impl MailTemplates {
    /// The built-in templates for `portal`.
    pub fn with_portal(portal: Portal) -> Self {
        let pairs = std::array::from_fn(|k| {
            std::array::from_fn(|l| {
                let (txt, html) = MailKind::ALL[k].builtin(LANGS[l]);
                Pair {
                    txt: txt.to_owned(),
                    html: html.to_owned(),
                }
            })
        });
        Self { portal, pairs }
    }

    /// The built-in templates and tobira's own portal names.
    pub fn builtin() -> &'static Self {
        static BUILTIN: OnceLock<MailTemplates> = OnceLock::new();
        BUILTIN.get_or_init(Self::default)
    }

    /// The built-in templates with those in `dir` (`ja/verification.txt` …) put in their place,
    /// every one checked: see [`TemplateError`].
    pub fn load(dir: Option<&Path>, portal: Portal) -> Result<Self, TemplateError> {
        let mut t = Self::with_portal(portal);
        let Some(dir) = dir else { return Ok(t) };
        let expected = || {
            let names: Vec<String> = MailKind::ALL
                .iter()
                .map(|k| format!("{0}.txt {0}.html", k.file_stem()))
                .collect();
            names.join(" ")
        };
        for entry in read_dir(dir)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(lang) = Lang::from_code(&name).filter(|l| l.code() == name) else {
                return Err(TemplateError::UnknownFile {
                    path: entry.path(),
                    expected: expected(),
                });
            };
            let mut given: Vec<(MailKind, bool, PathBuf, String)> = Vec::new();
            for file in read_dir(&entry.path())? {
                let path = file.path();
                let file_name = file.file_name().to_string_lossy().into_owned();
                let parsed = file_name.rsplit_once('.').and_then(|(stem, ext)| {
                    let kind = MailKind::ALL.into_iter().find(|k| k.file_stem() == stem)?;
                    matches!(ext, "txt" | "html").then_some((kind, ext == "html"))
                });
                let Some((kind, is_html)) = parsed else {
                    return Err(TemplateError::UnknownFile {
                        path,
                        expected: expected(),
                    });
                };
                let text =
                    std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
                        path: path.clone(),
                        source,
                    })?;
                check(kind, &path, &text)?;
                given.push((kind, is_html, path, text));
            }
            for (kind, is_html, path, _) in &given {
                if !given.iter().any(|(k, h, _, _)| k == kind && h != is_html) {
                    let other = if *is_html { "txt" } else { "html" };
                    return Err(TemplateError::Unpaired {
                        path: path.clone(),
                        missing: path.with_extension(other),
                    });
                }
            }
            for (kind, is_html, _, text) in given {
                let pair = &mut t.pairs[kind.index()][lang_index(lang)];
                if is_html {
                    pair.html = text;
                } else {
                    pair.txt = text;
                }
            }
        }
        Ok(t)
    }

    /// The portal the mails speak for.
    pub fn portal(&self) -> &Portal {
        &self.portal
    }

    /// The subject of `kind` in `lang`.
    pub fn subject(&self, kind: MailKind, lang: Lang) -> String {
        let short = &self.portal.names(lang).short_name;
        render(kind.subject_pattern(lang), &[("portal", short)], false)
    }

    /// The email-address verification mail (manual step 【6】, also sent again when the member
    /// changes the address): greets the member, explains the mail, gives `link` on its own line
    /// and how long it works, and says to ignore the mail if it was not requested.
    pub fn verification(&self, r: &Recipient<'_>, link: &str, v: Validity) -> Mail {
        self.with_validity(MailKind::Verification, r, ("link", link.trim()), v)
    }

    /// The one-time password mail (the manual's section 2-5 【3】): `code` on its own line, how
    /// long it works, and that it works once.
    pub fn email_code(&self, r: &Recipient<'_>, code: &str, v: Validity) -> Mail {
        self.with_validity(MailKind::EmailCode, r, ("code", code), v)
    }

    /// The "forgot your password?" code.
    pub fn password_reset(&self, r: &Recipient<'_>, code: &str, v: Validity) -> Mail {
        self.with_validity(MailKind::PasswordReset, r, ("code", code), v)
    }

    /// The "forgot your user ID?" answer: the member's user ID, to the address on file.
    pub fn user_id_reminder(&self, r: &Recipient<'_>, user_id: &str) -> Mail {
        self.compose(MailKind::UserId, r, &[("user_id", user_id)])
    }

    /// The confirmation of the user ID the member chose at first login.
    pub fn user_id_changed(&self, r: &Recipient<'_>, user_id: &str) -> Mail {
        self.compose(MailKind::UserIdChanged, r, &[("user_id", user_id)])
    }

    /// The notice to the old address that a change to `new_email` was asked for.
    pub fn email_change_notice(&self, r: &Recipient<'_>, new_email: &str) -> Mail {
        self.compose(MailKind::EmailChanged, r, &[("new_email", new_email)])
    }

    /// The code the helpdesk asked to mail, for the caller to read back.
    pub fn helpdesk_code(&self, r: &Recipient<'_>, code: &str, v: Validity) -> Mail {
        self.with_validity(MailKind::HelpdeskCode, r, ("code", code), v)
    }

    /// The notice that the helpdesk did `action` (already in the recipient's language) at
    /// `at` (Unix seconds, shown in the portal's time zone).
    pub fn helpdesk_notice(&self, r: &Recipient<'_>, action: &str, at: i64) -> Mail {
        let date = self.portal.format_time(at);
        self.compose(
            MailKind::HelpdeskNotice,
            r,
            &[("action", action), ("date", &date)],
        )
    }

    fn with_validity(
        &self,
        kind: MailKind,
        r: &Recipient<'_>,
        value: (&str, &str),
        v: Validity,
    ) -> Mail {
        let minutes = v.ttl_secs.div_ceil(60);
        let duration = duration_words(r.lang, minutes);
        let minutes = minutes.to_string();
        let ttl = i64::try_from(v.ttl_secs).unwrap_or(i64::MAX);
        let expires_at = self.portal.format_time(v.sent_at.saturating_add(ttl));
        self.compose(
            kind,
            r,
            &[
                value,
                ("minutes", &minutes),
                ("duration", &duration),
                ("expires_at", &expires_at),
            ],
        )
    }

    fn compose(&self, kind: MailKind, r: &Recipient<'_>, specific: &[(&str, &str)]) -> Mail {
        let names = self.portal.names(r.lang);
        let subject = self.subject(kind, r.lang);
        let lines = self.portal.signature_lines(r.lang);
        let signature = lines.join("\n");
        let signature_html = lines
            .iter()
            .map(|l| escape_html(l))
            .collect::<Vec<_>>()
            .join("<br>\n");
        let mut values = vec![
            Value::text("name", r.name.trim()),
            Value::text("portal", &names.short_name),
            Value::text("portal_name", &names.name),
            Value::text("operator", names.operator.as_deref().unwrap_or_default()),
            Value::text("contact", names.contact.as_deref().unwrap_or_default()),
            Value {
                key: "signature",
                text: &signature,
                html: Some(&signature_html),
            },
            Value::text("subject", &subject),
        ];
        values.extend(specific.iter().map(|(k, v)| Value::text(k, v)));
        let pair = &self.pairs[kind.index()][lang_index(r.lang)];
        Mail {
            to: r.to.to_owned(),
            text: fill(&pair.txt, &values, false),
            html: Some(fill(&pair.html, &values, true)),
            subject,
        }
    }
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>, TemplateError> {
    let read = |source| TemplateError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        // Editors' and file managers' hidden files are not templates, nor mistakes.
        if !entry.file_name().to_string_lossy().starts_with('.') {
            entries.push(entry);
        }
    }
    entries.sort_by_key(std::fs::DirEntry::file_name);
    Ok(entries)
}

/// The system clock, for the functions below that predate [`MailTemplates`].
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The subject of the one-time password mail in `lang`, with tobira's own name.
pub fn email_code_subject(lang: Lang) -> String {
    MailTemplates::builtin().subject(MailKind::EmailCode, lang)
}

/// [`MailTemplates::email_code`] with the built-in templates, valid `expires_minutes` from now.
pub fn email_code(lang: Lang, to: &str, name: &str, code: &str, expires_minutes: u64) -> Mail {
    MailTemplates::builtin().email_code(
        &Recipient { lang, to, name },
        code,
        minutes(expires_minutes),
    )
}

/// [`MailTemplates::user_id_reminder`] with the built-in templates.
pub fn user_id_reminder(lang: Lang, to: &str, name: &str, user_id: &str) -> Mail {
    MailTemplates::builtin().user_id_reminder(&Recipient { lang, to, name }, user_id)
}

/// [`MailTemplates::password_reset`] with the built-in templates, valid `expires_minutes` from now.
pub fn password_reset(lang: Lang, to: &str, name: &str, code: &str, expires_minutes: u64) -> Mail {
    MailTemplates::builtin().password_reset(
        &Recipient { lang, to, name },
        code,
        minutes(expires_minutes),
    )
}

/// [`MailTemplates::email_change_notice`] with the built-in templates.
pub fn email_change_notice(lang: Lang, to: &str, name: &str, new_email: &str) -> Mail {
    MailTemplates::builtin().email_change_notice(&Recipient { lang, to, name }, new_email)
}

/// The subject of the verification mail in `lang`, with tobira's own name.
pub fn verification_subject(lang: Lang) -> String {
    MailTemplates::builtin().subject(MailKind::Verification, lang)
}

/// [`MailTemplates::verification`] with the built-in templates, valid `expires_minutes` from now.
pub fn verification(lang: Lang, to: &str, name: &str, link: &str, expires_minutes: u64) -> Mail {
    MailTemplates::builtin().verification(
        &Recipient { lang, to, name },
        link,
        minutes(expires_minutes),
    )
}

/// A validity in words as a reader says it: two hours or more, when whole, in hours ("24 時間",
/// not "1440 分"), anything else in minutes ("60 分" reads as well as "1 時間").
fn duration_words(lang: Lang, minutes: u64) -> String {
    let hours = (minutes >= 120 && minutes.is_multiple_of(60)).then_some(minutes / 60);
    match (lang, hours) {
        (Lang::Ja, Some(h)) => format!("{h} 時間"),
        (Lang::Ja, None) => format!("{minutes} 分"),
        (Lang::En, Some(h)) => format!("{h} hours"),
        (Lang::En, None) if minutes == 1 => "1 minute".to_owned(),
        (Lang::En, None) => format!("{minutes} minutes"),
    }
}

fn minutes(m: u64) -> Validity {
    Validity {
        sent_at: now(),
        ttl_secs: m.saturating_mul(60),
    }
}

/// One placeholder's value; `html`, when given, is already HTML and used as it is.
struct Value<'a> {
    key: &'a str,
    text: &'a str,
    html: Option<&'a str>,
}

impl<'a> Value<'a> {
    fn text(key: &'a str, text: &'a str) -> Self {
        Self {
            key,
            text,
            html: None,
        }
    }
}

/// Replaces each `{key}` of `values` in `template`, in a single pass; HTML-escapes the values
/// when `html`. Unknown `{…}` sequences are left as they are.
pub fn render(template: &str, values: &[(&str, &str)], html: bool) -> String {
    let values: Vec<Value<'_>> = values.iter().map(|(k, v)| Value::text(k, v)).collect();
    fill(template, &values, html)
}

fn fill(template: &str, values: &[Value<'_>], html: bool) -> String {
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let key = &after[..close];
            values.iter().find(|v| v.key == key).map(|v| (close, v))
        });
        match value {
            Some((close, v)) => {
                match (html, v.html) {
                    (true, Some(raw)) => out.push_str(raw),
                    (true, None) => out.push_str(&escape_html(v.text)),
                    (false, _) => out.push_str(v.text),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes `& < > " '` for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://portal.example.jp/verify-email?token=0123456789abcdef&lang=ja";

    #[test]
    fn render_is_single_pass() {
        let out = render("{a}-{b}-{c}-{", &[("a", "{b}"), ("b", "x")], false);
        assert_eq!(out, "{b}-x-{c}-{");
    }

    #[test]
    fn escape() {
        assert_eq!(
            escape_html(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn every_placeholder_is_filled() {
        for lang in [Lang::Ja, Lang::En] {
            let m = verification(lang, "taro@example.jp", "山田 太郎", LINK, 30);
            for body in [m.text.as_str(), m.html.as_deref().unwrap_or_default()] {
                for key in ["{name}", "{link}", "{minutes}"] {
                    assert!(!body.contains(key), "{lang:?}: {key} left in {body}");
                }
                assert!(body.contains("山田 太郎"));
                assert!(body.contains("30"));
                assert!(body.contains("tobira"));
            }
        }
    }

    #[test]
    fn a_validity_of_whole_hours_reads_in_hours() {
        assert_eq!(duration_words(Lang::Ja, 1440), "24 時間");
        assert_eq!(duration_words(Lang::Ja, 30), "30 分");
        assert_eq!(duration_words(Lang::Ja, 90), "90 分");
        assert_eq!(duration_words(Lang::En, 1440), "24 hours");
        assert_eq!(duration_words(Lang::En, 60), "60 minutes");
        assert_eq!(duration_words(Lang::Ja, 120), "2 時間");
        assert_eq!(duration_words(Lang::En, 10), "10 minutes");
        assert_eq!(duration_words(Lang::En, 1), "1 minute");
        for lang in [Lang::Ja, Lang::En] {
            let m = verification(lang, "taro@example.jp", "山田 太郎", LINK, 1440);
            for body in [m.text.as_str(), m.html.as_deref().unwrap_or_default()] {
                assert!(!body.contains("1440"), "{body}");
                assert!(body.contains("24"), "{body}");
            }
        }
    }

    #[test]
    fn japanese_mail() {
        let m = verification(Lang::Ja, "taro@example.jp", "山田 太郎", LINK, 30);
        assert_eq!(m.subject, "【tobira】メールアドレスの確認");
        assert_eq!(m.to, "taro@example.jp");
        assert!(m.text.starts_with("山田 太郎 様\n"));
        assert!(
            m.text.contains(&format!("\n{LINK}\n")),
            "link on its own line"
        );
        assert!(m.text.contains("30 分"));
        assert!(m.text.contains("お心当たりがない場合"));
        assert!(m.text.contains("ください。"));
        let html = m.html.unwrap();
        assert!(html.contains(&format!(
            "<a href=\"{0}\" style=\"word-break:break-all;\">{0}</a>",
            LINK.replace('&', "&amp;")
        )));
    }

    #[test]
    fn english_mail() {
        let m = verification(Lang::En, "taro@example.jp", "Taro Yamada", LINK, 15);
        assert_eq!(m.subject, "[tobira] Please confirm your email address");
        assert!(m.text.starts_with("Dear Taro Yamada,\n"));
        assert!(m.text.contains(&format!("\n{LINK}\n")));
        assert!(m.text.contains("valid for 15 minutes"));
        assert!(m.text.contains("If you did not request this"));
    }

    #[test]
    fn email_code_mail_in_both_languages() {
        let m = email_code(Lang::Ja, "taro@example.jp", "山田 太郎", "042917", 10);
        assert_eq!(m.subject, "【tobira】ワンタイムパスワードのお知らせ");
        assert!(m.text.starts_with("山田 太郎 様\n"));
        assert!(m.text.contains("\n042917\n"), "the code on its own line");
        assert!(m.text.contains("10 分"));
        let html = m.html.unwrap();
        assert!(html.contains(">042917</p>"));
        assert!(html.contains("<html lang=\"ja\">"));
        let m = email_code(Lang::En, "taro@example.jp", "Taro", "042917", 10);
        assert_eq!(m.subject, "[tobira] Your one-time password");
        assert!(m.text.contains("\n042917\n"));
        assert!(m.text.contains("valid for 10 minutes"));
        for body in [m.text.as_str(), m.html.as_deref().unwrap_or_default()] {
            for key in ["{name}", "{code}", "{minutes}"] {
                assert!(!body.contains(key), "{key} left in {body}");
            }
        }
    }

    #[test]
    fn recovery_mails_fill_every_placeholder() {
        for lang in [Lang::Ja, Lang::En] {
            let mails = [
                user_id_reminder(lang, "t@example.jp", "山田 太郎", "demo0001"),
                email_change_notice(lang, "t@example.jp", "山田 太郎", "new@example.jp"),
                password_reset(lang, "t@example.jp", "山田 太郎", "042917", 10),
            ];
            for m in mails {
                for body in [m.text.as_str(), m.html.as_deref().unwrap_or_default()] {
                    for key in ["{name}", "{code}", "{minutes}", "{user_id}", "{new_email}"] {
                        assert!(!body.contains(key), "{lang:?}: {key} left in {body}");
                    }
                    assert!(body.contains("山田 太郎"));
                }
            }
        }
        let m = user_id_reminder(Lang::Ja, "t@example.jp", "太郎", "demo0001");
        assert!(m.text.contains("\ndemo0001\n"));
        let m = password_reset(Lang::En, "t@example.jp", "Taro", "042917", 10);
        assert!(m.text.contains("\n042917\n") && m.text.contains("10 minutes"));
    }

    #[test]
    fn html_escapes_values_text_does_not() {
        let m = verification(Lang::En, "x@example.jp", "<b>Eve</b> & \"Co\"", LINK, 30);
        assert!(m.text.contains("Dear <b>Eve</b> & \"Co\","));
        let html = m.html.unwrap();
        assert!(html.contains("Dear &lt;b&gt;Eve&lt;/b&gt; &amp; &quot;Co&quot;,"));
        assert!(!html.contains("<b>Eve"));
    }

    fn portal(toml_text: &str) -> Portal {
        toml::from_str::<crate::portal::PortalSetting>(toml_text)
            .unwrap()
            .resolve()
            .unwrap()
    }

    const MIRAI: &str = "time_zone = \"Asia/Tokyo\"\n\
        [ja]\nname = \"みらい健康保険組合 会員ポータル\"\nshort_name = \"みらい健保\"\n\
        operator = \"みらい健康保険組合 加入者サービス課\"\ncontact = \"電話 0120-000-000 <平日>\"\n\
        [en]\nname = \"Mirai Kenpo member portal\"\nshort_name = \"Mirai Kenpo\"\n\
        operator = \"Mirai Health Insurance Society\"\ncontact = \"Call 0120-000-000 (weekdays)\"\n";

    /// 2026-12-06 02:23 UTC, 11:23 in Japan.
    const SENT: i64 = 1_796_523_780;

    fn taro(lang: Lang) -> Recipient<'static> {
        Recipient {
            lang,
            to: "taro@example.jp",
            name: "山田 太郎",
        }
    }

    #[test]
    fn the_built_in_templates_pass_their_own_check() {
        for kind in MailKind::ALL {
            for lang in LANGS {
                let (txt, html) = kind.builtin(lang);
                for text in [txt, html] {
                    check(kind, Path::new(kind.file_stem()), text).unwrap();
                }
            }
        }
    }

    #[test]
    fn a_configured_portal_names_subjects_greetings_and_signatures_in_both_languages() {
        let t = MailTemplates::with_portal(portal(MIRAI));
        let v = Validity {
            sent_at: SENT,
            ttl_secs: 1800,
        };
        let ja = t.verification(&taro(Lang::Ja), LINK, v);
        assert_eq!(ja.subject, "【みらい健保】メールアドレスの確認");
        assert!(
            ja.text.contains("みらい健保 をご利用いただき"),
            "{}",
            ja.text
        );
        assert!(ja.text.ends_with(
            "--\nみらい健康保険組合 会員ポータル\nみらい健康保険組合 加入者サービス課\n\
             電話 0120-000-000 <平日>\n"
        ));
        assert!(!ja.text.contains("tobira"));
        let html = ja.html.unwrap();
        assert!(html.contains("<title>【みらい健保】メールアドレスの確認</title>"));
        assert!(html.contains(
            "<p style=\"color:#666;\">みらい健康保険組合 会員ポータル<br>\n\
             みらい健康保険組合 加入者サービス課<br>\n電話 0120-000-000 &lt;平日&gt;</p>"
        ));
        assert!(!html.contains("tobira"));

        let en = t.email_code(&taro(Lang::En), "042917", v);
        assert_eq!(en.subject, "[Mirai Kenpo] Your one-time password");
        assert!(en.text.contains("Thank you for using Mirai Kenpo."));
        assert!(en.text.ends_with(
            "--\nMirai Kenpo member portal\nMirai Health Insurance Society\n\
             Call 0120-000-000 (weekdays)\n"
        ));
        for m in [
            t.user_id_reminder(&taro(Lang::En), "demo0001"),
            t.password_reset(&taro(Lang::En), "042917", v),
            t.email_change_notice(&taro(Lang::En), "new@example.jp"),
        ] {
            assert!(m.subject.starts_with("[Mirai Kenpo] "), "{}", m.subject);
            assert!(!m.text.contains("tobira") && !m.html.unwrap().contains("tobira"));
        }
    }

    #[test]
    fn expiry_times_are_in_the_portals_time_zone() {
        let v = Validity {
            sent_at: SENT,
            ttl_secs: 1800,
        };
        let tokyo = MailTemplates::with_portal(portal(""));
        let m = tokyo.verification(&taro(Lang::Ja), LINK, v);
        assert!(
            m.text.contains("30 分(2026-12-06 11:53 JST まで)"),
            "{}",
            m.text
        );
        let m = tokyo.email_code(&taro(Lang::En), "042917", v);
        assert!(
            m.text.contains("(until 2026-12-06 11:53 JST)"),
            "{}",
            m.text
        );
        assert!(m.html.unwrap().contains("(until 2026-12-06 11:53 JST)"));
        let utc = MailTemplates::with_portal(portal("time_zone = \"UTC\"\n"));
        let m = utc.password_reset(&taro(Lang::Ja), "042917", v);
        assert!(m.text.contains("(2026-12-06 02:53 UTC まで)"), "{}", m.text);
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn templates_are_overridden_from_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "ja/verification.txt",
            "{name} 様\n{portal_name} です。\n{link}\n{expires_at} まで有効\n{signature}\n",
        );
        write(
            dir.path(),
            "ja/verification.html",
            "<!DOCTYPE html><html lang=\"ja\"><head><title>{subject}</title>\
             <style>body{margin:0}</style></head><body><a href=\"{link}\">{link}</a></body></html>\n",
        );
        write(dir.path(), ".hidden", "ignored");
        let t = MailTemplates::load(Some(dir.path()), portal(MIRAI)).unwrap();
        let v = Validity {
            sent_at: SENT,
            ttl_secs: 600,
        };
        let m = t.verification(&taro(Lang::Ja), LINK, v);
        assert_eq!(m.subject, "【みらい健保】メールアドレスの確認");
        assert!(m.text.starts_with(&format!(
            "山田 太郎 様\nみらい健康保険組合 会員ポータル です。\n{LINK}\n2026-12-06 11:33 JST まで有効\n"
        )));
        let html = m.html.unwrap();
        assert!(
            html.contains("<style>body{margin:0}</style>"),
            "CSS is left alone"
        );
        assert!(html.contains(&LINK.replace('&', "&amp;")));
        // What the directory does not replace stays built in.
        let en = t.verification(&taro(Lang::En), LINK, v);
        assert!(en.text.starts_with("Dear 山田 太郎,\n"));
        assert!(
            t.email_code(&taro(Lang::Ja), "042917", v)
                .text
                .contains("\n042917\n")
        );
    }

    fn load_error(files: &[(&str, &str)]) -> String {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            write(dir.path(), rel, text);
        }
        let e = MailTemplates::load(Some(dir.path()), Portal::default()).unwrap_err();
        e.to_string()
            .replace(&dir.path().display().to_string(), "DIR")
    }

    #[test]
    fn a_broken_template_is_refused_with_the_file_and_the_placeholder_named() {
        let html = "<p>{link}</p>";
        assert_eq!(
            load_error(&[
                ("en/verification.txt", "Dear {name},\nopen the link.\n"),
                ("en/verification.html", html)
            ]),
            "DIR/en/verification.txt: the required placeholder {link} is missing"
        );
        assert_eq!(
            load_error(&[
                (
                    "ja/email_code.txt",
                    "{name} 様\n\n{code}\n{minutes} 分、{expires} まで\n"
                ),
                ("ja/email_code.html", "<p>{code}</p>")
            ]),
            "DIR/ja/email_code.txt, line 4: unknown placeholder {expires} (this mail knows \
             {name} {portal} {portal_name} {operator} {contact} {signature} {subject} \
             {code} {minutes} {duration} {expires_at})"
        );
        // A placeholder of another mail is unknown here.
        assert!(
            load_error(&[
                ("ja/user_id.txt", "{user_id} {link}"),
                ("ja/user_id.html", "{user_id}")
            ])
            .starts_with("DIR/ja/user_id.txt, line 1: unknown placeholder {link}")
        );
        assert_eq!(
            load_error(&[("en/verification.txt", "{link}")]),
            "DIR/en/verification.txt is given without DIR/en/verification.html: \
             a mail's plain-text and HTML parts are replaced together"
        );
        assert!(
            load_error(&[("ja/verfication.txt", "{link}")])
                .starts_with("DIR/ja/verfication.txt: not a mail template; the directory holds ja/ and en/ with verification.txt verification.html")
        );
        assert!(
            load_error(&[("fr/verification.txt", "{link}")])
                .starts_with("DIR/fr: not a mail template")
        );
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = MailTemplates::load(Some(&missing), Portal::default()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("cannot read mail template {}", missing.display()))
        );
    }
}
