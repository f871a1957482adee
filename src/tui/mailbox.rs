//! The demo mailbox: lists the local outbox so that a lone demo user can open the verification
//! link from the terminal.
//!
//! The TUI only knows the [`Mailbox`] trait. [`DirMailbox`] is a minimal reader of `*.eml`
//! files (headers `To`, `Subject`, `Date` and the `http(s)://` links in the text); after the
//! mail branch is merged it can be replaced by an adapter over
//! `crate::mail::outbox::read_outbox(dir)` without touching the app.

use std::path::{Path, PathBuf};

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailItem {
    /// The file.
    pub path: PathBuf,
    /// The recipient.
    pub to: String,
    /// The subject (raw header text when it is encoded).
    pub subject: String,
    /// The `Date` header.
    pub date: String,
    /// The links in the text, in order.
    pub links: Vec<String>,
}

/// Why the outbox could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the outbox {dir}: {source}")]
pub struct MailboxError {
    /// The directory.
    pub dir: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// Something that lists the demo outbox, newest message first.
pub trait Mailbox: Send + Sync {
    /// The messages, newest first.
    fn list(&self) -> Result<Vec<MailItem>, MailboxError>;
}

/// Reads `*.eml` files from a directory.
#[derive(Debug, Clone)]
pub struct DirMailbox {
    dir: PathBuf,
}

impl DirMailbox {
    /// A mailbox over `dir` (the outbox directory of the embedded server).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

impl Mailbox for DirMailbox {
    fn list(&self) -> Result<Vec<MailItem>, MailboxError> {
        let err = |source| MailboxError {
            dir: self.dir.clone(),
            source,
        };
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(err(e)),
        };
        let mut files = Vec::new();
        for entry in rd {
            let entry = entry.map_err(err)?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "eml") {
                let mtime = entry.metadata().and_then(|m| m.modified()).ok();
                files.push((mtime, path));
            }
        }
        // Newest first: by modification time, then by name.
        files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        let mut out = Vec::new();
        for (_, path) in files {
            match std::fs::read_to_string(&path) {
                Ok(text) => out.push(parse_eml(&path, &text)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "unreadable outbox file")
                }
            }
        }
        Ok(out)
    }
}

/// A mailbox for tests: a fixed list.
#[derive(Debug, Clone, Default)]
pub struct FixedMailbox(pub Vec<MailItem>);

impl Mailbox for FixedMailbox {
    fn list(&self) -> Result<Vec<MailItem>, MailboxError> {
        Ok(self.0.clone())
    }
}

/// Reads the headers we show and the links of one message (no MIME decoding: quoted-printable
/// soft line breaks are joined so that links survive).
pub fn parse_eml(path: &Path, text: &str) -> MailItem {
    let mut item = MailItem {
        path: path.to_owned(),
        ..MailItem::default()
    };
    let (head, body) = match text.find("\r\n\r\n") {
        Some(i) => (&text[..i], &text[i + 4..]),
        None => match text.find("\n\n") {
            Some(i) => (&text[..i], &text[i + 2..]),
            None => (text, ""),
        },
    };
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim().to_owned();
            match name.to_ascii_lowercase().as_str() {
                "to" => item.to = value,
                "subject" => item.subject = value,
                "date" => item.date = value,
                _ => {}
            }
        }
    }
    let joined = body
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    item.links = links(&joined);
    item
}

/// The `http://` and `https://` links in `text`, in order, without duplicates.
pub fn links(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("http") {
        let cand = &rest[i..];
        if cand.starts_with("http://") || cand.starts_with("https://") {
            let end = cand
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\'' | ')'))
                .unwrap_or(cand.len());
            let link = cand[..end].to_owned();
            if !out.contains(&link) {
                out.push(link);
            }
            rest = &cand[end..];
        } else {
            rest = &cand[4..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_and_links() {
        let eml = "To: demo@example.jp\r\nSubject: =?utf-8?b?5pys?=\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nOpen http://localhost:8080/verify?t=3Dabc=\r\ndef to confirm.\r\n<a href=\"http://localhost:8080/verify?t=3Dabcdef\">x</a>";
        let m = parse_eml(Path::new("a.eml"), eml);
        assert_eq!(m.to, "demo@example.jp");
        assert_eq!(m.links, vec!["http://localhost:8080/verify?t=abcdef"]);
    }

    #[test]
    fn lists_a_directory_newest_first_and_tolerates_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.eml"), "To: a@b.jp\n\nhttp://x/1").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("2.eml"), "To: a@b.jp\n\nhttp://x/2").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "http://x/3").unwrap();
        let items = DirMailbox::new(dir.path()).list().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].links, vec!["http://x/2"]);
        let none = DirMailbox::new(dir.path().join("missing")).list().unwrap();
        assert!(none.is_empty());
    }
}
