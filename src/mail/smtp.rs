//! Sending through an SMTP server with lettre: STARTTLS, implicit TLS, or (loopback only)
//! plain text; with credentials when configured.

use std::time::{Duration, SystemTime};

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Mail, MailError, Mailer, SmtpConfig, SmtpSecurity, build_message, parse_mailbox};

/// A [`Mailer`] relaying through an SMTP server (connections are pooled by lettre).
///
/// lettre's pool lives on the Tokio runtime: create the mailer inside one (`new` refuses
/// otherwise). Dropped outside a runtime, the pool is leaked instead of panicking.
pub struct SmtpMailer {
    /// Always `Some` until dropped.
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    host: String,
    port: u16,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `cfg`, sending as `from`. Refuses (with [`MailError::Config`]) what
    /// [`SmtpConfig::validate`] refuses, notably `security = "none"` to a non-loopback host.
    /// Nothing is connected until the first mail.
    pub fn new(cfg: &SmtpConfig, from: &str) -> Result<SmtpMailer, MailError> {
        cfg.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MailError::Config(
                "the SMTP mailer must be created inside a Tokio runtime".into(),
            ));
        }
        let from = parse_mailbox(from, "from")?;
        let host = cfg.host.trim();
        let builder = match cfg.security {
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| MailError::Config(format!("smtp (starttls) {host:?}: {e}")))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| MailError::Config(format!("smtp (tls) {host:?}: {e}")))?,
            SmtpSecurity::None => {
                // Loopback only: checked by `validate` above.
                let host = host
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .unwrap_or(host);
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            }
        };
        let builder = match (&cfg.ca_file, cfg.security) {
            (Some(path), SmtpSecurity::StartTls | SmtpSecurity::Tls) => {
                let params = tls_with_ca(host, path)?;
                builder.tls(if cfg.security == SmtpSecurity::Tls {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                })
            }
            _ => builder,
        };
        let mut builder = builder
            .port(cfg.port)
            .timeout(Some(Duration::from_secs(cfg.timeout_secs)));
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(SmtpMailer {
            transport: Some(builder.build()),
            from,
            host: host.to_owned(),
            port: cfg.port,
        })
    }
}

/// TLS parameters for `host` that also trust the CA certificates in the PEM file `path`.
fn tls_with_ca(host: &str, path: &std::path::Path) -> Result<TlsParameters, MailError> {
    let pem = std::fs::read(path)
        .map_err(|e| MailError::Config(format!("smtp.ca_file {}: {e}", path.display())))?;
    // lettre accepts a file without any certificate in it; refuse it here, or TLS would fail
    // on every mail instead of at start-up.
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(MailError::Config(format!(
            "smtp.ca_file {}: no PEM certificate in it",
            path.display()
        )));
    }
    let cert = Certificate::from_pem(&pem).map_err(|e| {
        MailError::Config(format!(
            "smtp.ca_file {}: not a PEM certificate: {e}",
            path.display()
        ))
    })?;
    TlsParameters::builder(host.to_owned())
        .add_root_certificate(cert)
        .build_rustls()
        .map_err(|e| MailError::Config(format!("smtp TLS for {host:?}: {e}")))
}

impl Drop for SmtpMailer {
    fn drop(&mut self) {
        if let Some(transport) = self.transport.take()
            && tokio::runtime::Handle::try_current().is_err()
        {
            // lettre's pool spawns its shutdown on Tokio when dropped, which panics without a
            // runtime (e.g. after `main`'s runtime has ended): let the process reclaim it.
            std::mem::forget(transport);
        }
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail, SystemTime::now())?;
        let transport = self
            .transport
            .as_ref()
            .ok_or_else(|| MailError::Smtp("the mailer is shut down".into()))?;
        transport
            .send(message)
            .await
            .map_err(|e| MailError::Smtp(format!("{}:{}: {e}", self.host, self.port)))?;
        tracing::info!(host = %self.host, port = self.port, "mail sent over SMTP");
        Ok(())
    }
}
