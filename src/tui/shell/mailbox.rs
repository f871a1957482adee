//! The demo mailbox: lists the local outbox so that a lone demo user can open the verification
//! link from the terminal.
//!
//! The TUI only knows the [`Mailbox`] trait; [`DirMailbox`] reads the outbox with the mail
//! layer's own reader (MIME-decoded subject and text), so it shows what a mail client would.

use std::path::PathBuf;

use crate::mail::outbox::read_outbox;

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailItem {
    /// The file.
    pub path: PathBuf,
    /// The recipient.
    pub to: String,
    /// The subject, decoded.
    pub subject: String,
    /// The `Date` header.
    pub date: String,
    /// The links in the text, in order.
    pub links: Vec<String>,
    /// What a mail without a link gives the member (a one-time password, a user ID): the first
    /// line that stands alone between blank lines as one word (issue 5).
    pub highlight: Option<String>,
}

/// The value a mail sets apart on a line of its own (see [`MailItem::highlight`]).
pub fn highlight(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    (1..lines.len().saturating_sub(1))
        .find(|&i| {
            let l = lines[i];
            lines[i - 1].is_empty()
                && lines[i + 1].is_empty()
                && !l.is_empty()
                && !l.contains(char::is_whitespace)
                && !l.contains("://")
                && l != "--"
        })
        .map(|i| lines[i].to_owned())
}

/// Why the outbox could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the outbox {dir}: {source}")]
pub struct MailboxError {
    /// The directory.
    pub dir: PathBuf,
    /// What the mail layer said.
    #[source]
    pub source: crate::mail::MailError,
}

/// Something that lists the demo outbox, newest message first.
pub trait Mailbox: Send + Sync {
    /// The messages, newest first.
    fn list(&self) -> Result<Vec<MailItem>, MailboxError>;
}

/// The local outbox directory of the embedded server.
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
        let messages = read_outbox(&self.dir).map_err(|source| MailboxError {
            dir: self.dir.clone(),
            source,
        })?;
        Ok(messages
            .into_iter()
            .rev()
            .map(|m| MailItem {
                links: m.links(),
                highlight: highlight(&m.text),
                path: m.path,
                to: m.to,
                subject: m.subject,
                date: m.date,
            })
            .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_set_apart_is_found_links_are_not() {
        for lang in [crate::api::Lang::Ja, crate::api::Lang::En] {
            let code =
                crate::mail::templates::email_code(lang, "a@example.jp", "太郎", "042917", 10);
            assert_eq!(highlight(&code.text).as_deref(), Some("042917"));
            let id =
                crate::mail::templates::user_id_reminder(lang, "a@example.jp", "太郎", "demo0001");
            assert_eq!(highlight(&id.text).as_deref(), Some("demo0001"));
            let link = crate::mail::templates::verification(
                lang,
                "a@example.jp",
                "太郎",
                "http://localhost/verify/x",
                30,
            );
            assert_eq!(highlight(&link.text), None);
        }
    }
    use crate::api::Lang;
    use crate::mail::{Mailer, outbox::Outbox, templates};

    #[tokio::test]
    async fn lists_the_outbox_newest_first_decoded_and_tolerates_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let outbox_dir = dir.path().join("outbox");
        assert!(DirMailbox::new(&outbox_dir).list().unwrap().is_empty());
        let outbox = Outbox::new(outbox_dir.clone(), "tobira <no-reply@localhost>").unwrap();
        let first = templates::verification(
            Lang::Ja,
            "a@example.jp",
            "山田 太郎",
            "http://localhost:1/verify/one",
            60,
        );
        let second = templates::verification(
            Lang::En,
            "b@example.jp",
            "Taro",
            "http://localhost:1/verify/two",
            60,
        );
        outbox.send(&first).await.unwrap();
        outbox.send(&second).await.unwrap();
        let items = DirMailbox::new(&outbox_dir).list().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].to, "b@example.jp");
        assert_eq!(
            items[0].links,
            vec!["http://localhost:1/verify/two".to_owned()]
        );
        assert_eq!(items[1].subject, "【tobira】メールアドレスの確認");
        assert_eq!(
            items[1].links,
            vec!["http://localhost:1/verify/one".to_owned()]
        );
    }
}
