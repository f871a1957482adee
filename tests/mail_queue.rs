//! The persistent mail queue against a real SMTP server (aiosmtpd on loopback, started and
//! stopped here): a mail queued while the server is down is delivered once when it is back.

mod common;

use std::sync::Arc;

use common::smtp::{SmtpServer, free_port, loopback_config};
use common::{DEMO_ID, DEMO_INITIAL, test_settings, wait_until};
use tobira::api::Step;
use tobira::mail::Mailer;
use tobira::mail::outbox::OutboxMessage;
use tobira::mail::smtp::SmtpMailer;
use tobira::store::MailStatus;

#[tokio::test]
async fn mail_queued_while_smtp_is_down_arrives_once_when_it_is_back() {
    let port = free_port();
    let mailer: Arc<dyn Mailer> =
        Arc::new(SmtpMailer::new(&loopback_config(port), "tobira <no-reply@localhost>").unwrap());
    let t = common::start_with_mailer(test_settings(), Some(mailer)).await;
    let c = &t.client;
    let token = t
        .member_at_terms(DEMO_ID, DEMO_INITIAL, common::DEMO_BIRTH)
        .await;
    c.decide_terms(&token, true).await.unwrap();

    // Nothing listens on the port: the answer is still the next step, the mail waits.
    let v = c.submit_email(&token, None).await.unwrap();
    assert_eq!(v.step, Step::AwaitingVerification);
    let report = t.store.mail_queue_report(10).await.unwrap();
    assert_eq!((report.pending, report.sent, report.failed), (1, 0, 0));
    let row = &report.recent[0];
    assert_eq!(row.kind, "verification");
    assert_eq!(row.status, MailStatus::Pending);
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.is_some(), "{row:?}");
    assert!(
        row.next_attempt_at > common::T0,
        "retried later, with backoff"
    );

    // The server comes back; once the backoff has passed the worker delivers the mail.
    let smtp = SmtpServer::start_on(port, None);
    t.clock.advance(31);
    wait_until("the queued mail is sent", || async {
        t.store.mail_queue_report(10).await.unwrap().sent == 1
    })
    .await;
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let raw = std::fs::read(&received[0]).unwrap();
    let m = OutboxMessage::parse(received[0].clone(), &raw).unwrap();
    assert_eq!(m.to, "demo0001@example.com");
    assert_eq!(m.subject, "【tobira】メールアドレスの確認");
    let raw = String::from_utf8(raw).unwrap();
    for header in ["Date: ", "Message-ID: <", "From: ", "To: "] {
        assert!(raw.contains(header), "{header} missing in {raw}");
    }
    assert!(raw.to_ascii_lowercase().contains("subject: =?utf-8?"));
    assert!(raw.contains("multipart/alternative"), "text and HTML");

    // The link it carries works.
    let link = m
        .links()
        .into_iter()
        .find(|l| l.contains("/verify/"))
        .expect("a verification link");
    assert_eq!(c.open_link(&link).await.unwrap().0, 200);
    assert_eq!(c.flow(&token).await.unwrap().step, Step::ChooseMethod);

    // Sent means out of the queue: much later, still exactly one mail, bodies cleared.
    t.clock.advance(7200);
    let report = t.store.mail_queue_report(10).await.unwrap();
    assert_eq!((report.pending, report.sent, report.failed), (0, 1, 0));
    assert_eq!(report.recent[0].attempts, 2);
    assert_eq!(report.recent[0].last_error, None);
    let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM mail_queue WHERE id = ?")
        .bind(report.recent[0].id)
        .fetch_one(t.sqlite().pool())
        .await
        .unwrap();
    assert_eq!(body, None, "a delivered mail's body (its link) is not kept");
    assert_eq!(smtp.received().len(), 1, "delivered once");
    t.stop().await;
}

#[tokio::test]
async fn a_mail_is_given_up_after_the_last_attempt() {
    let port = free_port();
    let mailer: Arc<dyn Mailer> =
        Arc::new(SmtpMailer::new(&loopback_config(port), "tobira <no-reply@localhost>").unwrap());
    let mut settings = test_settings();
    settings.mail_queue.max_attempts = 2;
    let t = common::start_with_mailer(settings, Some(mailer)).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.submit_email(&token, None).await.unwrap();
    t.clock.advance(31);
    wait_until("the mail is given up", || async {
        t.store.mail_queue_report(10).await.unwrap().failed == 1
    })
    .await;
    let report = t.store.mail_queue_report(10).await.unwrap();
    assert_eq!((report.pending, report.sent), (0, 0));
    assert_eq!(report.recent[0].attempts, 2);
    let out = tobira::server::mail_queue::format_report(&report);
    assert!(out.contains("failed: 1"), "{out}");
    assert!(out.contains("demo0001@example.com"), "{out}");
    assert!(!out.contains("/verify/"), "never the link: {out}");
    t.stop().await;
}

/// The newest message aiosmtpd received, parsed.
fn newest(smtp: &SmtpServer) -> (OutboxMessage, String) {
    let received = smtp.received();
    let path = received.last().expect("a received mail").clone();
    let raw = std::fs::read(&path).unwrap();
    let m = OutboxMessage::parse(path, &raw).unwrap();
    (m, String::from_utf8(raw).unwrap())
}

#[tokio::test]
async fn the_email_one_time_password_arrives_over_smtp() {
    let smtp = SmtpServer::start(None);
    let mailer: Arc<dyn Mailer> =
        Arc::new(SmtpMailer::new(&smtp.config(), "Kenpo Portal <portal@example.jp>").unwrap());
    let t = common::start_with_mailer(test_settings(), Some(mailer)).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.submit_email(&token, Some("hanako@example.jp"))
        .await
        .unwrap();
    let (m, _) = newest(&smtp);
    let link = m
        .links()
        .into_iter()
        .find(|l| l.contains("/verify/"))
        .unwrap();
    assert_eq!(c.open_link(&link).await.unwrap().0, 200);
    c.choose_method(&token, tobira::api::Method::EmailOtp)
        .await
        .unwrap();
    c.set_credentials(&token, "N3w-passw0rd!", None)
        .await
        .unwrap();
    let (token, _) = c
        .sign_in(DEMO_ID, "N3w-passw0rd!", tobira::api::Lang::Ja)
        .await
        .unwrap();
    c.send_email_code(&token).await.unwrap();
    assert_eq!(smtp.received().len(), 2);
    let (m, raw) = newest(&smtp);
    assert_eq!(m.to, "hanako@example.jp");
    assert_eq!(m.subject, "【tobira】ワンタイムパスワードのお知らせ");
    assert!(raw.to_ascii_lowercase().contains("subject: =?utf-8?"));
    assert!(
        raw.contains("From: \"Kenpo Portal\" <portal@example.jp>")
            || raw.contains("From: Kenpo Portal <portal@example.jp>"),
        "{raw}"
    );
    assert!(
        raw.contains("Message-ID: <") && raw.contains("@example.jp>"),
        "{raw}"
    );
    assert!(raw.contains("Date: "));
    let code = m
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("the code on its own line")
        .to_owned();
    assert_eq!(
        c.verify_email_code(&token, &code).await.unwrap().step,
        Step::Home
    );
    t.stop().await;
}
