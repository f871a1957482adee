//! Mail: the [`Mailer`] trait, the local outbox (default) and SMTP.
//!
//! Every mail is built the same way ([`build_message`]): a proper RFC 5322 message with From,
//! To, an RFC 2047 encoded Subject, Date, Message-ID and MIME-Version, its body UTF-8 text
//! (and an HTML alternative when there is one). [`outbox::Outbox`] writes it to a directory as an
//! `.eml` file, [`smtp::SmtpMailer`] hands it to an SMTP server; [`from_config`] picks one.
//!
//! Mail bodies carry link tokens: nothing here logs a body, a link or a password.

pub mod outbox;
pub mod queue;
pub mod smtp;
pub mod templates;

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde::{Deserialize, Serialize};

/// One mail to send: a single recipient, a subject, a plain-text body and optionally an HTML
/// alternative of the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address (`taro@example.jp`, or `Taro <taro@example.jp>`).
    pub to: String,
    /// The subject, any Unicode (it is RFC 2047 encoded on the wire).
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// An HTML alternative of `text`; the mail is `multipart/alternative` when present.
    pub html: Option<String>,
}

/// Why a mail could not be built, stored or sent, or why the mail configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A sender or recipient address that is not a valid mailbox.
    #[error("invalid mail address: {0}")]
    Address(String),
    /// The message could not be built.
    #[error("cannot build the mail: {0}")]
    Build(String),
    /// Writing or reading the outbox failed.
    #[error("outbox I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The SMTP server could not be reached or refused the mail.
    #[error("SMTP error: {0}")]
    Smtp(String),
    /// The mail configuration is not acceptable.
    #[error("invalid mail configuration: {0}")]
    Config(String),
    /// A stored message could not be read back.
    #[error("cannot parse the stored mail: {0}")]
    Parse(String),
}

impl MailError {
    /// Whether trying the same mail again cannot help (a bad address, a message that cannot be
    /// built), as opposed to a mail server that is down or refused for now.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Address(_) | Self::Build(_) | Self::Config(_))
    }
}

/// Something that delivers a [`Mail`]: the local [`outbox::Outbox`] or [`smtp::SmtpMailer`].
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Builds and delivers one mail.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// The `[mail]` configuration: the sender, and SMTP or (when `smtp` is absent) the local outbox.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The From mailbox, e.g. `tobira <no-reply@localhost>`.
    pub from: String,
    /// The SMTP server; `None` writes mail to the local outbox instead.
    pub smtp: Option<SmtpConfig>,
    /// `[mail.queue]`: delivery retries of the persistent queue.
    pub queue: queue::QueuePolicy,
    /// A directory of the operator's own mail templates (`ja/verification.txt` …), each
    /// replacing the built-in one; checked when the server starts.
    pub templates: Option<std::path::PathBuf>,
}

/// The From mailbox used when none is configured.
pub const DEFAULT_FROM: &str = "tobira <no-reply@localhost>";

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: DEFAULT_FROM.to_owned(),
            smtp: None,
            queue: queue::QueuePolicy::default(),
            templates: None,
        }
    }
}

impl MailConfig {
    /// Checks the sender address and, when present, the SMTP settings.
    pub fn validate(&self) -> Result<(), MailError> {
        parse_mailbox(&self.from, "from")?;
        self.queue.validate()?;
        if let Some(smtp) = &self.smtp {
            smtp.validate()?;
            // A claim that lapses while its delivery still runs lets another process send the
            // same mail: a delivery is a handful of SMTP commands, each up to the timeout.
            if self.queue.claim_secs < smtp.timeout_secs.saturating_mul(4) {
                return Err(MailError::Config(format!(
                    "mail.queue.claim_secs ({}) must be at least 4 × smtp.timeout_secs ({})",
                    self.queue.claim_secs, smtp.timeout_secs
                )));
            }
        }
        Ok(())
    }
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// `"starttls"`: plain connection upgraded with STARTTLS, which is required (usually port 587).
    StartTls,
    /// `"tls"`: implicit TLS from the first byte (usually port 465).
    Tls,
    /// `"none"`: no encryption at all; only allowed to a loopback host (localhost, 127.0.0.1, ::1).
    None,
}

impl SmtpSecurity {
    /// The configuration spelling: `starttls`, `tls` or `none`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::StartTls => "starttls",
            Self::Tls => "tls",
            Self::None => "none",
        }
    }
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn default_timeout_secs() -> u64 {
    30
}

/// The SMTP server mail is relayed through.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name (checked against its TLS certificate) or IP address.
    pub host: String,
    /// The server's port (587 for STARTTLS, 465 for TLS, 25 …).
    pub port: u16,
    /// `starttls`, `tls` or `none` (loopback hosts only).
    pub security: SmtpSecurity,
    /// The user name to authenticate with; needs `password` too.
    pub username: Option<String>,
    /// The password to authenticate with; never shown by `Debug` nor logged.
    pub password: Option<String>,
    /// Connection and command timeout in seconds (default 30).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// A PEM file of CA certificates to trust for this server besides the system's (a private
    /// mail server with its own CA).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl SmtpConfig {
    /// Refuses settings that cannot work or are unsafe: an empty host, a zero timeout, a user name
    /// without a password (or the reverse), and `security = "none"` to anything but loopback.
    pub fn validate(&self) -> Result<(), MailError> {
        if self.host.trim().is_empty() {
            return Err(MailError::Config("smtp.host is empty".into()));
        }
        if self.timeout_secs == 0 {
            return Err(MailError::Config(
                "smtp.timeout_secs must be at least 1".into(),
            ));
        }
        match (&self.username, &self.password) {
            (Some(_), None) => {
                return Err(MailError::Config(
                    "smtp.username is set but smtp.password is missing".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(MailError::Config(
                    "smtp.password is set but smtp.username is missing".into(),
                ));
            }
            _ => {}
        }
        if self.security == SmtpSecurity::None && !is_loopback_host(&self.host) {
            return Err(MailError::Config(format!(
                "smtp.security = \"none\" sends mail (and any password) unencrypted and is only \
                 allowed to localhost, 127.0.0.1 or ::1, not to {:?}; use \"starttls\" or \"tls\"",
                self.host
            )));
        }
        Ok(())
    }
}

/// `localhost`, or a loopback IP address (`127.0.0.0/8`, `::1`, also written `[::1]`).
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Builds the configured mailer: SMTP when configured, else an Outbox in `outbox_dir`.
pub fn from_config(cfg: &MailConfig, outbox_dir: &Path) -> Result<Arc<dyn Mailer>, MailError> {
    match &cfg.smtp {
        Some(smtp) => Ok(Arc::new(smtp::SmtpMailer::new(smtp, &cfg.from)?)),
        None => Ok(Arc::new(outbox::Outbox::new(
            outbox_dir.to_path_buf(),
            &cfg.from,
        )?)),
    }
}

/// Parses a mailbox (`name <addr>` or `addr`), naming the field in the error.
pub(crate) fn parse_mailbox(s: &str, what: &str) -> Result<Mailbox, MailError> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| MailError::Address(format!("{what} {s:?}: {e}")))
}

/// Builds the RFC 5322 message for `mail` from `from`, dated `date`: From, To, Subject (RFC 2047
/// encoded when not ASCII), Date, Message-ID (`<random@from-domain>`), MIME-Version, and a UTF-8
/// `text/plain` body or a `multipart/alternative` of text and HTML. The same for every mailer.
pub fn build_message(from: &Mailbox, mail: &Mail, date: SystemTime) -> Result<Message, MailError> {
    let to = parse_mailbox(&mail.to, "to")?;
    let message_id = format!("<{}@{}>", random_hex(16)?, from.email.domain());
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .date(date)
        .message_id(Some(message_id));
    let built = match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(mail.text.clone())),
    };
    built.map_err(|e| MailError::Build(e.to_string()))
}

/// `bytes` random bytes from the OS, as lower-case hex.
pub(crate) fn random_hex(bytes: usize) -> Result<String, MailError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| MailError::Io(std::io::Error::other(format!("no randomness: {e}"))))?;
    Ok(hex::encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(host: &str, security: SmtpSecurity) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: 25,
            security,
            username: None,
            password: None,
            timeout_secs: 30,
            ca_file: None,
        }
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "mail.example.jp",
            "10.0.0.1",
            "localhost.example.jp",
            "0.0.0.0",
            "::",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn security_none_only_to_loopback() {
        assert!(smtp("127.0.0.1", SmtpSecurity::None).validate().is_ok());
        let err = smtp("smtp.example.jp", SmtpSecurity::None).validate();
        assert!(
            matches!(err, Err(MailError::Config(ref m)) if m.contains("localhost")),
            "{err:?}"
        );
        assert!(
            smtp("smtp.example.jp", SmtpSecurity::StartTls)
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn credentials_come_in_pairs() {
        let mut c = smtp("localhost", SmtpSecurity::None);
        c.username = Some("u".into());
        assert!(matches!(c.validate(), Err(MailError::Config(_))));
        c.password = Some("p".into());
        assert!(c.validate().is_ok());
        c.username = None;
        assert!(matches!(c.validate(), Err(MailError::Config(_))));
    }

    #[test]
    fn debug_redacts_password() {
        let mut c = smtp("smtp.example.jp", SmtpSecurity::Tls);
        c.username = Some("member-portal".into());
        c.password = Some("hunter2-secret".into());
        let cfg = MailConfig {
            smtp: Some(c),
            ..MailConfig::default()
        };
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("hunter2-secret"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        assert!(dbg.contains("member-portal"));
    }

    #[test]
    fn config_from_toml() {
        let cfg: MailConfig = toml::from_str(
            r#"
            from = "Portal <portal@example.jp>"
            [smtp]
            host = "smtp.example.jp"
            port = 587
            security = "starttls"
            username = "u"
            password = "p"
            "#,
        )
        .unwrap();
        let smtp = cfg.smtp.as_ref().unwrap();
        assert_eq!(smtp.security, SmtpSecurity::StartTls);
        assert_eq!(smtp.timeout_secs, 30);
        cfg.validate().unwrap();

        let empty: MailConfig = toml::from_str("").unwrap();
        assert_eq!(empty, MailConfig::default());
        assert_eq!(empty.from, "tobira <no-reply@localhost>");

        assert!(toml::from_str::<MailConfig>("fromm = \"x@y\"").is_err());
        assert!(
            toml::from_str::<MailConfig>("[smtp]\nhost = \"h\"\nport = 25\nsecurity = \"ssl\"\n")
                .is_err()
        );
        assert!(
            toml::from_str::<MailConfig>(
                "[smtp]\nhost = \"h\"\nport = 25\nsecurity = \"tls\"\nextra = 1\n"
            )
            .is_err()
        );
    }

    #[test]
    fn the_claim_outlasts_a_delivery() {
        let mut cfg = MailConfig {
            smtp: Some(smtp("localhost", SmtpSecurity::None)),
            ..MailConfig::default()
        };
        cfg.validate().unwrap();
        cfg.queue.claim_secs = 119;
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("claim_secs"), "{err}");
        cfg.queue.claim_secs = 120;
        cfg.validate().unwrap();
    }

    #[test]
    fn default_from_is_a_valid_mailbox() {
        MailConfig::default().validate().unwrap();
    }

    #[test]
    fn from_config_refuses_plain_smtp_to_remote_host() {
        let cfg = MailConfig {
            smtp: Some(smtp("smtp.example.jp", SmtpSecurity::None)),
            ..MailConfig::default()
        };
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            from_config(&cfg, dir.path()),
            Err(MailError::Config(_))
        ));
    }
}
