//! SMTP: a real SMTP server (Python's aiosmtpd) on loopback receives what `SmtpMailer` sends.
//!
//! These tests need python3 with aiosmtpd (Debian: `apt-get install python3-aiosmtpd`). They
//! FAIL, never skip, when it is missing. `TOBIRA_TEST_PYTHON` may name the interpreter to use.

mod common;

use common::smtp::SmtpServer;
use tobira::api::Lang;
use tobira::mail::outbox::OutboxMessage;
use tobira::mail::smtp::SmtpMailer;
use tobira::mail::{MailConfig, MailError, SmtpConfig, SmtpSecurity, from_config, templates};

const LINK: &str =
    "https://portal.example.jp/api/v1/email/verify?token=9c2f4e6a8b0d1f3e5a7c9e1b3d5f7a90";

#[tokio::test]
async fn smtp_delivers_japanese_verification_mail() {
    let server = SmtpServer::start(None);
    let cfg = MailConfig {
        from: "tobira <no-reply@localhost>".into(),
        smtp: Some(server.config()),
        ..MailConfig::default()
    };
    let outbox = tempfile::tempdir().unwrap();
    let mailer = from_config(&cfg, outbox.path()).unwrap();
    let mail = templates::verification(Lang::Ja, "hanako@example.jp", "佐藤 花子", LINK, 30);
    mailer.send(&mail).await.unwrap();

    assert!(
        std::fs::read_dir(outbox.path()).unwrap().next().is_none(),
        "SMTP configured: nothing in the outbox"
    );
    let received = server.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let raw = std::fs::read(&received[0]).unwrap();
    let m = OutboxMessage::parse(received[0].clone(), &raw).unwrap();
    assert_eq!(m.to, "hanako@example.jp");
    assert_eq!(m.subject, "【tobira】メールアドレスの確認");
    assert!(m.text.contains("佐藤 花子 様"));
    assert_eq!(m.links(), vec![LINK.to_owned()]);

    let rcpt = std::fs::read_to_string(received[0].with_extension("rcpt")).unwrap();
    assert_eq!(rcpt, "hanako@example.jp");
    let from = std::fs::read_to_string(received[0].with_extension("from")).unwrap();
    assert_eq!(from, "no-reply@localhost");
    let raw = String::from_utf8(raw).unwrap();
    assert!(raw.contains("Message-ID: <"));
    assert!(raw.contains("MIME-Version: 1.0"));
    assert!(raw.to_ascii_lowercase().contains("subject: =?utf-8?"));
}

#[tokio::test]
async fn smtp_sends_english_mail_twice_over_the_pool() {
    let server = SmtpServer::start(None);
    let mailer = SmtpMailer::new(&server.config(), "Portal <portal@example.jp>").unwrap();
    for (i, to) in ["a@example.jp", "b@example.jp"].into_iter().enumerate() {
        let link = format!("http://localhost:8080/verify?token={i}");
        let mail = templates::verification(Lang::En, to, "Member", &link, 15);
        tobira::mail::Mailer::send(&mailer, &mail).await.unwrap();
    }
    let received = server.received();
    assert_eq!(received.len(), 2);
    for (i, path) in received.iter().enumerate() {
        let m = OutboxMessage::parse(path.clone(), &std::fs::read(path).unwrap()).unwrap();
        assert_eq!(m.subject, "[tobira] Please confirm your email address");
        assert_eq!(
            m.links(),
            vec![format!("http://localhost:8080/verify?token={i}")]
        );
    }
}

#[tokio::test]
async fn smtp_authenticates_with_credentials() {
    let server = SmtpServer::start(Some("portal:s3cret-pass"));
    let mail = templates::verification(Lang::Ja, "x@example.jp", "X", LINK, 30);

    let mut cfg = server.config();
    cfg.username = Some("portal".into());
    cfg.password = Some("wrong".into());
    let mailer = SmtpMailer::new(&cfg, "tobira <no-reply@localhost>").unwrap();
    let err = tobira::mail::Mailer::send(&mailer, &mail)
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Smtp(_)), "{err:?}");
    assert!(
        !err.to_string().contains("wrong"),
        "no password in errors: {err}"
    );
    assert!(server.received().is_empty());

    cfg.password = Some("s3cret-pass".into());
    let mailer = SmtpMailer::new(&cfg, "tobira <no-reply@localhost>").unwrap();
    tobira::mail::Mailer::send(&mailer, &mail).await.unwrap();
    assert_eq!(server.received().len(), 1);
    assert!(!format!("{mailer:?}").contains("s3cret"));
}

#[tokio::test]
async fn smtp_unreachable_server_is_an_error() {
    let port = common::smtp::free_port();
    let cfg = SmtpConfig {
        host: "localhost".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        timeout_secs: 5,
        ca_file: None,
    };
    let mailer = SmtpMailer::new(&cfg, "tobira <no-reply@localhost>").unwrap();
    let mail = templates::verification(Lang::En, "x@example.jp", "X", LINK, 30);
    let err = tobira::mail::Mailer::send(&mailer, &mail)
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Smtp(_)), "{err:?}");
}

#[tokio::test]
async fn plain_smtp_to_a_remote_host_is_refused() {
    for host in [
        "smtp.example.jp",
        "192.0.2.10",
        "2001:db8::1",
        "localhost.example.jp",
    ] {
        let cfg = SmtpConfig {
            host: host.into(),
            port: 25,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            timeout_secs: 30,
            ca_file: None,
        };
        let err = SmtpMailer::new(&cfg, "tobira <no-reply@localhost>").unwrap_err();
        match err {
            MailError::Config(msg) => {
                assert!(msg.contains("none") && msg.contains("localhost"), "{msg}")
            }
            other => panic!("{host}: expected a config error, got {other:?}"),
        }
        let mail_cfg = MailConfig {
            smtp: Some(cfg),
            ..MailConfig::default()
        };
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            from_config(&mail_cfg, tmp.path()),
            Err(MailError::Config(_))
        ));
    }
    for (host, security) in [
        ("smtp.example.jp", SmtpSecurity::StartTls),
        ("smtp.example.jp", SmtpSecurity::Tls),
        ("::1", SmtpSecurity::None),
        ("localhost", SmtpSecurity::None),
    ] {
        let cfg = SmtpConfig {
            host: host.into(),
            port: 587,
            security,
            username: None,
            password: None,
            timeout_secs: 30,
            ca_file: None,
        };
        SmtpMailer::new(&cfg, "tobira <no-reply@localhost>")
            .unwrap_or_else(|e| panic!("{host} {security}: {e}"));
    }
}

#[test]
fn smtp_mailer_outside_a_runtime_is_an_error_not_a_panic() {
    let cfg = SmtpConfig {
        host: "localhost".into(),
        port: 25,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        timeout_secs: 30,
        ca_file: None,
    };
    assert!(matches!(
        SmtpMailer::new(&cfg, "tobira <no-reply@localhost>"),
        Err(MailError::Config(_))
    ));
}

#[test]
fn smtp_mailer_dropped_after_its_runtime_does_not_panic() {
    let cfg = SmtpConfig {
        host: "localhost".into(),
        port: 25,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        timeout_secs: 30,
        ca_file: None,
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mailer = rt.block_on(async { SmtpMailer::new(&cfg, "tobira <no-reply@localhost>") });
    drop(rt);
    drop(mailer.unwrap());
}

/// STARTTLS and implicit TLS against aiosmtpd with a certificate of a throw-away CA, which the
/// client trusts through `smtp.ca_file` (and only through it).
#[tokio::test]
async fn smtp_starttls_and_implicit_tls_deliver_with_a_configured_ca() {
    let certs = common::smtp::TestCerts::make();
    for (mode, security) in [
        ("starttls", SmtpSecurity::StartTls),
        ("tls", SmtpSecurity::Tls),
    ] {
        let server = SmtpServer::start_tls(mode, &certs);
        let mut cfg = SmtpConfig {
            host: "localhost".into(),
            port: server.port,
            security,
            username: None,
            password: None,
            timeout_secs: 10,
            ca_file: None,
        };
        // Not trusted by the system: refused.
        let untrusted = SmtpMailer::new(&cfg, "tobira <no-reply@localhost>").unwrap();
        let mail = templates::verification(Lang::Ja, "hanako@example.jp", "佐藤 花子", LINK, 30);
        let err = tobira::mail::Mailer::send(&untrusted, &mail).await;
        assert!(matches!(err, Err(MailError::Smtp(_))), "{mode}: {err:?}");
        assert!(
            server.received().is_empty(),
            "{mode}: nothing over an untrusted connection"
        );

        cfg.ca_file = Some(certs.ca());
        let mailer = SmtpMailer::new(&cfg, "tobira <no-reply@localhost>").unwrap();
        tobira::mail::Mailer::send(&mailer, &mail).await.unwrap();
        let received = server.received();
        assert_eq!(received.len(), 1, "{mode}");
        let raw = std::fs::read(&received[0]).unwrap();
        let m = OutboxMessage::parse(received[0].clone(), &raw).unwrap();
        assert_eq!(m.subject, "【tobira】メールアドレスの確認", "{mode}");
        assert_eq!(m.links(), vec![LINK.to_owned()], "{mode}");
    }
}

#[test]
fn a_ca_file_that_is_not_pem_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("ca.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let cfg = SmtpConfig {
        host: "smtp.example.jp".into(),
        port: 587,
        security: SmtpSecurity::StartTls,
        username: None,
        password: None,
        timeout_secs: 10,
        ca_file: Some(bad),
    };
    let err = SmtpMailer::new(&cfg, "tobira <no-reply@localhost>").unwrap_err();
    assert!(
        matches!(err, MailError::Config(ref m) if m.contains("ca_file")),
        "{err:?}"
    );
    let cfg = SmtpConfig {
        ca_file: Some(dir.path().join("missing.pem")),
        ..cfg
    };
    let err = SmtpMailer::new(&cfg, "tobira <no-reply@localhost>").unwrap_err();
    assert!(
        matches!(err, MailError::Config(ref m) if m.contains("missing.pem")),
        "{err:?}"
    );
}
