//! The local outbox: each mail is an RFC 5322 `.eml` file in a directory.
//!
//! This is the default mailer (no SMTP configured) and a fixed interface other tools rely on:
//! the file is `<dir>/<YYYYMMDDTHHMMSSZ>-<8 random hex>.eml` (UTC), holding exactly what would
//! be sent over SMTP (`Message::formatted()`, CRLF line ends). It is written atomically (a
//! hidden temporary file in the same directory, then a rename), so a reader never sees half a
//! mail. [`read_outbox`] reads the directory back, decoding with a real MIME parser.

use std::cmp::Ordering;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lettre::message::Mailbox;
use mail_parser::MessageParser;
use time::OffsetDateTime;
use time::macros::format_description;

use super::{Mail, MailError, Mailer, build_message, parse_mailbox, random_hex};

/// A [`Mailer`] that writes each mail as an `.eml` file into a directory.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    from: Mailbox,
}

impl Outbox {
    /// An outbox in `dir` (created, with its parents, if missing), sending as `from`.
    pub fn new(dir: PathBuf, from: &str) -> Result<Outbox, MailError> {
        let from = parse_mailbox(from, "from")?;
        std::fs::create_dir_all(&dir)?;
        Ok(Outbox { dir, from })
    }

    /// The directory mail is written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Builds the message and writes it; returns the path of the new `.eml` file.
    pub async fn write(&self, mail: &Mail) -> Result<PathBuf, MailError> {
        let now = SystemTime::now();
        let message = build_message(&self.from, mail, now)?;
        let bytes = message.formatted();
        let stamp = file_stamp(now)?;
        let dir = self.dir.clone();
        let path = tokio::task::spawn_blocking(move || write_atomically(&dir, &stamp, &bytes))
            .await
            .map_err(|e| MailError::Io(std::io::Error::other(e.to_string())))??;
        tracing::info!(path = %path.display(), "mail written to the outbox");
        Ok(path)
    }
}

#[async_trait::async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.write(mail).await.map(|_| ())
    }
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
fn file_stamp(t: SystemTime) -> Result<String, MailError> {
    OffsetDateTime::from(t)
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| MailError::Build(format!("cannot format the date: {e}")))
}

/// Writes `bytes` to `<dir>/<stamp>-<8 hex>.eml` through a temporary file and a rename.
fn write_atomically(dir: &Path, stamp: &str, bytes: &[u8]) -> Result<PathBuf, MailError> {
    std::fs::create_dir_all(dir)?;
    let mut last_err = None;
    // A clash of 32 random bits within the same second is unlikely; retry a few times anyway.
    for _ in 0..8 {
        let name = format!("{stamp}-{}.eml", random_hex(4)?);
        let path = dir.join(&name);
        if path.exists() {
            continue;
        }
        let tmp = dir.join(format!(".{name}.{}.tmp", random_hex(4)?));
        let result = (|| -> std::io::Result<()> {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                // Mail carries link tokens: readable by the owner only.
                opts.mode(0o600);
            }
            let mut file = opts.open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            if path.exists() {
                return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
            }
            std::fs::rename(&tmp, &path)
        })();
        match result {
            Ok(()) => return Ok(path),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    return Err(e.into());
                }
                last_err = Some(e);
            }
        }
    }
    Err(MailError::Io(last_err.unwrap_or_else(|| {
        std::io::Error::other("cannot find a free outbox file name")
    })))
}

/// One mail read back from the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The `.eml` file.
    pub path: PathBuf,
    /// The recipient's address (without any display name).
    pub to: String,
    /// The decoded subject.
    pub subject: String,
    /// The `Date` header as written (RFC 5322, e.g. `Tue, 01 Apr 2025 09:30:00 +0000`).
    pub date: String,
    /// The decoded `text/plain` body, with `\n` line ends.
    pub text: String,
}

impl OutboxMessage {
    /// Parses one `.eml` file's content.
    pub fn parse(path: PathBuf, raw: &[u8]) -> Result<OutboxMessage, MailError> {
        let msg = MessageParser::default()
            .parse(raw)
            .ok_or_else(|| MailError::Parse(format!("{}: not a mail message", path.display())))?;
        let to = msg
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned();
        let subject = msg.subject().unwrap_or_default().to_owned();
        let date = msg
            .header_raw("Date")
            .map(|d| d.trim().to_owned())
            .unwrap_or_default();
        let text = msg
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default();
        Ok(OutboxMessage {
            path,
            to,
            subject,
            date,
            text,
        })
    }

    /// Every `http://` or `https://` URL in the text body, in order.
    pub fn links(&self) -> Vec<String> {
        find_links(&self.text)
    }
}

/// The http(s) URLs in `text`: from the scheme up to whitespace, a non-ASCII character or a
/// delimiter that cannot end a URL in prose (`<>"'` and trailing punctuation).
pub fn find_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(start) = next_scheme(rest) {
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| {
                c.is_whitespace() || !c.is_ascii() || matches!(c, '<' | '>' | '"' | '\'' | '`')
            })
            .unwrap_or(candidate.len());
        let url = candidate[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
        let scheme_len = if url.starts_with("https://") { 8 } else { 7 };
        if url.len() > scheme_len {
            links.push(url.to_owned());
        }
        rest = &candidate[end.max(scheme_len.min(candidate.len()))..];
    }
    links
}

fn next_scheme(s: &str) -> Option<usize> {
    let http = s.find("http://");
    let https = s.find("https://");
    match (http, https) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The messages in the outbox `dir`, oldest first (a missing directory is an empty outbox).
/// Only `*.eml` files are read; temporary files being written are ignored.
pub fn read_outbox(dir: &Path) -> Result<Vec<OutboxMessage>, MailError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || !name.ends_with(".eml") || !entry.file_type()?.is_file() {
            continue;
        }
        let modified = entry.metadata()?.modified().ok();
        files.push((name.to_owned(), modified, entry.path()));
    }
    // The name's timestamp first (second precision), then the file's modification time, then
    // the name, so mails written within the same second keep their order.
    files.sort_by(|a, b| {
        let stamp = |n: &str| n.split('-').next().unwrap_or_default().to_owned();
        stamp(&a.0)
            .cmp(&stamp(&b.0))
            .then_with(|| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal))
            .then_with(|| a.0.cmp(&b.0))
    });
    let mut out = Vec::with_capacity(files.len());
    for (_, _, path) in files {
        let raw = match std::fs::read(&path) {
            Ok(raw) => raw,
            // Removed between listing and reading (someone emptied the outbox): skip it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        out.push(OutboxMessage::parse(path, &raw)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_prose() {
        let text = "開く: https://portal.example.jp/verify?t=abc&x=1\n\
                    (see http://localhost:8080/a/b). また https://x.jp/pathをクリック <https://y.jp/z>\n\
                    not a link: http:// nor ftp://a";
        assert_eq!(
            find_links(text),
            vec![
                "https://portal.example.jp/verify?t=abc&x=1",
                "http://localhost:8080/a/b",
                "https://x.jp/path",
                "https://y.jp/z",
            ]
        );
        assert!(find_links("").is_empty());
        assert!(find_links("https://").is_empty());
    }

    #[test]
    fn stamp_format() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_743_500_000);
        assert_eq!(file_stamp(t).unwrap(), "20250401T093320Z");
    }
}
