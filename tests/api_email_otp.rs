//! Email one-time passwords (OTP メール, the manual's section 2-5) through the real client and
//! server: set-up at the sign-in after the first login, the code at every later sign-in, the
//! resend cooldown, expiry, single use, the per-code tries and the account lockout. Codes are
//! read out of the mail, as a member would.
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`); a test that reads the
//! SQLite file itself runs on SQLite only.

mod common;

use common::*;
use tobira::api::{ErrorCode, Lang, Method, Step};
use tobira::client::FlowToken;
use tobira::domain::ThrottlePolicy;

const PW: &str = "N3w-passw0rd!";

/// The 6-digit code on its own line in the newest mail, which must be a code mail.
fn latest_code(t: &TestServer) -> String {
    let mails = t.mails();
    let m = mails.last().expect("a mail");
    assert!(
        m.subject.contains("ワンタイムパスワード") || m.subject.contains("one-time password"),
        "{}",
        m.subject
    );
    m.text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {}", m.text))
        .to_owned()
}

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// The demo member through the first login with email codes chosen, signed in again: at
/// method set-up.
async fn demo_at_setup(t: &TestServer, lang: Lang) -> FlowToken {
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.submit_email(&token, None).await.unwrap();
    assert_eq!(c.open_link(&t.latest_link()).await.unwrap().0, 200);
    c.choose_method(&token, Method::EmailOtp).await.unwrap();
    assert_eq!(
        c.set_credentials(&token, PW, None).await.unwrap().step,
        Step::Complete
    );
    let (token, view) = c.sign_in(DEMO_ID, PW, lang).await.unwrap();
    assert_eq!(view.step, Step::MethodSetup);
    assert_eq!(view.method, Some(Method::EmailOtp));
    token
}

/// Set up, signed out, and signed in again: at the second factor.
async fn demo_at_second_factor(t: &TestServer) -> FlowToken {
    let c = &t.client;
    let token = demo_at_setup(t, Lang::Ja).await;
    c.send_email_code(&token).await.unwrap();
    c.verify_email_code(&token, &latest_code(t)).await.unwrap();
    c.sign_out(&token).await.unwrap();
    t.clock.advance(61);
    let (token, view) = c.sign_in(DEMO_ID, PW, Lang::En).await.unwrap();
    assert_eq!(view.step, Step::SecondFactor);
    token
}

async fn set_up_then_sign_in_with_a_mailed_code(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_setup(&t, Lang::Ja).await;
    let before = t.mails().len();
    let sent = c.send_email_code(&token).await.unwrap();
    assert_eq!(sent.email, "d*******@example.com");
    assert_eq!((sent.expires_in_secs, sent.resend_after_secs), (600, 60));
    assert_eq!(sent.flow.step, Step::MethodSetup);
    assert_eq!(t.mails().len(), before + 1);
    let mail = t.mails().pop().unwrap();
    assert_eq!(mail.to, "demo0001@example.com");
    assert_eq!(mail.subject, "【tobira】ワンタイムパスワードのお知らせ");
    assert!(mail.text.contains("10 分"), "{}", mail.text);
    let code = latest_code(&t);
    assert!(
        std::fs::read_to_string(&mail.path)
            .unwrap()
            .contains("text/html")
    );

    let view = c.verify_email_code(&token, &code).await.unwrap();
    assert_eq!(view.step, Step::Home);
    let home = c.home(&token).await.unwrap();
    assert_eq!(home.second_factors.len(), 1);
    assert_eq!(home.second_factors[0].method, Method::EmailOtp);
    assert_eq!(home.second_factors[0].name, "demo0001@example.com");

    // The next sign-in asks for a code, in the flow's language.
    c.sign_out(&token).await.unwrap();
    let (token, view) = c.sign_in(DEMO_ID, PW, Lang::En).await.unwrap();
    assert_eq!(view.step, Step::SecondFactor);
    expect_code(c.home(&token).await, ErrorCode::OutOfOrder);
    let e = expect_code(
        c.verify_email_code(&token, &code).await,
        ErrorCode::CodeExpired,
    );
    assert_eq!(
        e.step,
        Some(Step::SecondFactor),
        "a used code does not work again"
    );
    t.clock.advance(61);
    c.send_email_code(&token).await.unwrap();
    assert_eq!(
        t.mails().last().unwrap().subject,
        "[tobira] Your one-time password"
    );
    let code = latest_code(&t);
    let view = c
        .verify_email_code(&token, &format!(" {} {} ", &code[..3], &code[3..]))
        .await;
    assert_eq!(view.unwrap().step, Step::Home, "spaces are allowed");
    assert_eq!(c.home(&token).await.unwrap().second_factors.len(), 1);
    t.stop().await;
}

async fn resend_waits_for_the_cooldown_and_replaces_the_code(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_setup(&t, Lang::En).await;
    c.send_email_code(&token).await.unwrap();
    let first = latest_code(&t);
    let mails = t.mails().len();
    t.clock.advance(20);
    let e = expect_code(c.send_email_code(&token).await, ErrorCode::ResendCooldown);
    assert_eq!(e.retry_after_secs, Some(40));
    assert_eq!(e.step, Some(Step::MethodSetup));
    assert_eq!(t.mails().len(), mails, "no mail during the cooldown");
    t.clock.advance(40);
    c.send_email_code(&token).await.unwrap();
    assert_eq!(t.mails().len(), mails + 1);
    let second = latest_code(&t);
    if first != second {
        expect_code(
            c.verify_email_code(&token, &first).await,
            ErrorCode::WrongCode,
        );
    }
    assert_eq!(
        c.verify_email_code(&token, &second).await.unwrap().step,
        Step::Home
    );
    t.stop().await;
}

async fn a_code_expires_after_ten_minutes(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_second_factor(&t).await;
    c.send_email_code(&token).await.unwrap();
    let code = latest_code(&t);
    // The flow's idle timeout is ten minutes too: a request half-way keeps it alive.
    t.clock.advance(300);
    c.flow(&token).await.unwrap();
    t.clock.advance(299);
    c.flow(&token).await.unwrap();
    t.clock.advance(1);
    let e = expect_code(
        c.verify_email_code(&token, &code).await,
        ErrorCode::CodeExpired,
    );
    assert_eq!(e.field.as_deref(), Some("code"));
    t.stop().await;
}

async fn a_code_allows_five_tries(db: Database) {
    let mut settings = test_settings();
    // A lenient account policy, so only the code's own limit is at work here.
    settings.lockout.account = ThrottlePolicy {
        free_failures: 50,
        base_delay_secs: 1,
        max_delay_secs: 1,
        lock_after: 100,
        decay_secs: 0,
        cap: 0,
    };
    let t = start_on_with(db, settings).await;
    let c = &t.client;
    let token = demo_at_second_factor(&t).await;
    c.send_email_code(&token).await.unwrap();
    let code = latest_code(&t);
    for _ in 0..4 {
        expect_code(
            c.verify_email_code(&token, &other_than(&code)).await,
            ErrorCode::WrongCode,
        );
    }
    expect_code(
        c.verify_email_code(&token, &other_than(&code)).await,
        ErrorCode::CodeExpired,
    );
    expect_code(
        c.verify_email_code(&token, &code).await,
        ErrorCode::CodeExpired,
    );
    let e = expect_code(
        c.verify_email_code(&token, "12345").await,
        ErrorCode::WrongCode,
    );
    assert_eq!(e.rule.as_deref(), Some("format"));
    t.stop().await;
}

async fn wrong_codes_feed_the_account_lockout(db: Database) {
    let t = start_on_with(db, test_settings()).await;
    let c = &t.client;
    let token = demo_at_second_factor(&t).await;
    c.send_email_code(&token).await.unwrap();
    let code = latest_code(&t);
    // Three free failures, then a delay, then the lock at the fifth.
    for _ in 0..3 {
        expect_code(
            c.verify_email_code(&token, &other_than(&code)).await,
            ErrorCode::WrongCode,
        );
    }
    let e = expect_code(
        c.verify_email_code(&token, &code).await,
        ErrorCode::RateLimited,
    );
    t.clock.advance(e.retry_after_secs.unwrap() as i64);
    expect_code(
        c.verify_email_code(&token, &other_than(&code)).await,
        ErrorCode::WrongCode,
    );
    let e = expect_code(
        c.verify_email_code(&token, &code).await,
        ErrorCode::RateLimited,
    );
    t.clock.advance(e.retry_after_secs.unwrap() as i64);
    let e = expect_code(
        c.verify_email_code(&token, &other_than(&code)).await,
        ErrorCode::TooManyAttempts,
    );
    assert_eq!(e.step, Some(Step::SignIn));
    expect_code(c.flow(&token).await, ErrorCode::FlowExpired);
    // Held (the test policy opts in to a hold after 5): told only with the right password.
    expect_code(
        c.sign_in(DEMO_ID, PW, Lang::Ja).await,
        ErrorCode::AccountHeld,
    );
    t.stop().await;
}

async fn codes_are_refused_where_they_do_not_belong(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    // Stage 1: no code to send.
    let token = t.demo_at_terms().await;
    let e = expect_code(c.send_email_code(&token).await, ErrorCode::OutOfOrder);
    assert_eq!(e.step, Some(Step::Terms));
    expect_code(
        c.verify_email_code(&token, "123456").await,
        ErrorCode::OutOfOrder,
    );
    // Method set-up for an authenticator app: not the email method.
    let token = t.demo_at_credentials().await;
    c.set_credentials(&token, PW, None).await.unwrap();
    let (token, view) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(view.step, Step::MethodSetup);
    expect_code(c.send_email_code(&token).await, ErrorCode::OutOfOrder);
    t.stop().await;
}

#[tokio::test]
async fn neither_the_code_nor_its_mail_is_readable_in_the_database() {
    let t = start().await;
    let c = &t.client;
    let token = demo_at_setup(&t, Lang::Ja).await;
    let before = db_text(&t).await;
    // The mail server is down: the mail (and its code) waits in the queue.
    t.mailer
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    c.send_email_code(&token).await.unwrap();
    t.mailer
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    t.clock.advance(31);
    wait_until("the queued code mail is delivered", || async {
        t.mails()
            .last()
            .is_some_and(|m| m.subject.contains("ワンタイムパスワード"))
    })
    .await;
    let code = latest_code(&t);
    let after = db_text(&t).await;
    assert!(
        after.contains("demo0001"),
        "sanity: the database file was read"
    );
    // Six digits may occur by chance (a card number): no more often than before the code.
    assert_eq!(
        after.matches(code.as_str()).count(),
        before.matches(code.as_str()).count(),
        "the code {code} is in the database file"
    );
    assert_eq!(
        c.verify_email_code(&token, &code).await.unwrap().step,
        Step::Home
    );
    t.stop().await;
}

/// The database file and its WAL, checkpointed, as text.
async fn db_text(t: &TestServer) -> String {
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(t.sqlite().pool())
        .await
        .unwrap();
    let mut raw = std::fs::read(&t.db_path).unwrap();
    raw.extend(std::fs::read(t.db_path.with_extension("db-wal")).unwrap_or_default());
    String::from_utf8_lossy(&raw).into_owned()
}

async fn change_email_from_home_links_the_new_address_and_tells_the_old(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_setup(&t, Lang::Ja).await;
    expect_code(
        c.change_email(&token, "new@example.jp").await,
        ErrorCode::OutOfOrder,
    );
    c.send_email_code(&token).await.unwrap();
    c.verify_email_code(&token, &latest_code(&t)).await.unwrap();
    let before = t.mails().len();

    let e = expect_code(
        c.change_email(&token, "not an address").await,
        ErrorCode::InvalidEmail,
    );
    assert_eq!(e.step, Some(Step::Home));
    let e = expect_code(
        c.change_email(&token, "demo0001@example.com").await,
        ErrorCode::InvalidEmail,
    );
    assert_eq!(e.rule.as_deref(), Some("same"));

    let started = c.change_email(&token, "Hanako@Example.JP").await.unwrap();
    assert_eq!(started.flow.step, Step::Home);
    let mails = t.mails();
    assert_eq!(mails.len(), before + 2, "a link and a notice");
    let link_mail = mails
        .iter()
        .find(|m| m.to == started.pending_email)
        .expect("a mail to the new address");
    assert_eq!(link_mail.subject, "【tobira】メールアドレスの確認");
    let notice = mails
        .iter()
        .find(|m| m.to == "demo0001@example.com" && m.subject.contains("変更"))
        .expect("a notice to the old address");
    assert_eq!(notice.subject, "【tobira】メールアドレス変更のお知らせ");
    assert!(notice.text.contains(&started.pending_email));
    assert!(
        notice.links().iter().all(|l| !l.contains("/verify/")),
        "no link to the old address"
    );

    // Until the link is opened the old address stays.
    assert_eq!(
        c.home(&token).await.unwrap().member.email,
        "demo0001@example.com"
    );
    let link = link_mail
        .links()
        .into_iter()
        .find(|l| l.contains("/verify/"))
        .expect("the link");
    // A mail scanner fetching the link (GET) switches nothing; the page's button does.
    assert_eq!(c.view_link_as(&link, None).await.unwrap().status, 200);
    assert_eq!(
        c.home(&token).await.unwrap().member.email,
        "demo0001@example.com"
    );
    assert_eq!(c.open_link(&link).await.unwrap().0, 200);
    assert_eq!(
        c.home(&token).await.unwrap().member.email,
        started.pending_email
    );
    assert_eq!(c.open_link(&link).await.unwrap().0, 410, "once");

    // Codes now go to the new address.
    c.sign_out(&token).await.unwrap();
    t.clock.advance(61);
    let (token, _) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    c.send_email_code(&token).await.unwrap();
    assert_eq!(t.mails().last().unwrap().to, started.pending_email);
    t.stop().await;
}

async fn the_method_set_up_last_is_asked_first(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_setup(&t, Lang::Ja).await;
    c.send_email_code(&token).await.unwrap();
    c.verify_email_code(&token, &latest_code(&t)).await.unwrap();
    // An authenticator app set up from the top screen ("change method").
    let enrollment = c.start_totp_enrollment(&token).await.unwrap();
    let secret = tobira::domain::TotpSecret::from_base32(&enrollment.secret).unwrap();
    let now = tobira::server::Clock::now(t.clock.as_ref());
    let code = tobira::domain::TotpParams::default()
        .code_at(&secret, now as u64)
        .unwrap();
    c.confirm_totp_enrollment(&token, &code, "Phone")
        .await
        .unwrap();
    c.sign_out(&token).await.unwrap();
    let (_, view) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(view.step, Step::SecondFactor);
    assert_eq!(view.method, Some(Method::TotpApp));
    assert!(view.second_factors.contains(&Method::EmailOtp), "both stay");
    t.stop().await;
}

async fn the_current_address_in_other_letter_case_is_not_a_change(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_setup(&t, Lang::Ja).await;
    c.send_email_code(&token).await.unwrap();
    c.verify_email_code(&token, &latest_code(&t)).await.unwrap();
    let before = t.mails().len();
    for same in [
        "demo0001@example.com",
        "DEMO0001@EXAMPLE.COM",
        "Demo0001@example.com",
        " demo0001@Example.Com ",
    ] {
        let e = expect_code(c.change_email(&token, same).await, ErrorCode::InvalidEmail);
        assert_eq!(e.rule.as_deref(), Some("same"), "{same}");
        assert_eq!(e.step, Some(Step::Home), "{same}");
    }
    assert_eq!(t.mails().len(), before, "no link and no notice was mailed");
    assert_eq!(
        c.home(&token).await.unwrap().member.email,
        "demo0001@example.com"
    );
    t.stop().await;
}

async fn the_email_method_is_removed_like_a_device_but_never_the_last(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_setup(&t, Lang::Ja).await;
    c.send_email_code(&token).await.unwrap();
    c.verify_email_code(&token, &latest_code(&t)).await.unwrap();
    expect_code(
        c.remove_second_factor(&token, 0).await,
        ErrorCode::LastSecondFactor,
    );
    expect_code(
        c.rename_second_factor(&token, 0, "x").await,
        ErrorCode::NotFound,
    );

    // An authenticator app added from the top screen; then the email method can go.
    let enrollment = c.start_totp_enrollment(&token).await.unwrap();
    let secret = tobira::domain::TotpSecret::from_base32(&enrollment.secret).unwrap();
    let now = tobira::server::Clock::now(t.clock.as_ref());
    let code = tobira::domain::TotpParams::default()
        .code_at(&secret, now as u64)
        .unwrap();
    c.confirm_totp_enrollment(&token, &code, "Phone")
        .await
        .unwrap();
    assert_eq!(c.home(&token).await.unwrap().second_factors.len(), 2);
    let home = c.remove_second_factor(&token, 0).await.unwrap();
    assert_eq!(home.second_factors.len(), 1);
    assert_eq!(home.second_factors[0].method, Method::TotpApp);

    // Sign-in now asks for the app, not for a mailed code.
    c.sign_out(&token).await.unwrap();
    let (token, view) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(view.step, Step::SecondFactor);
    assert_eq!(view.method, Some(Method::TotpApp));
    expect_code(c.send_email_code(&token).await, ErrorCode::OutOfOrder);
    t.stop().await;
}

async fn a_burst_of_wrong_codes_checks_no_more_than_the_free_failures(db: Database) {
    let mut s = test_settings();
    // Enough tries per code that the code's own limit does not hide the account's.
    s.email_code.max_attempts = 100;
    let t = start_on_with(db, s).await; // account: 3 free failures
    let c = &t.client;
    let token = demo_at_second_factor(&t).await;
    c.send_email_code(&token).await.unwrap();
    let right = latest_code(&t);
    let wrong: Vec<String> = (0..BURST)
        .map(|k| {
            format!(
                "{:06}",
                (right.parse::<u32>().unwrap() + 1 + k as u32) % 1_000_000
            )
        })
        .collect();
    let mut requests: Vec<_> = wrong
        .iter()
        .map(|code| c.verify_email_code(&token, code))
        .collect();
    requests.push(c.verify_email_code(&token, &right));
    let tally = burst(requests).await;
    eprintln!("email-code burst: {tally:?}");
    assert!(
        tally.get("wrong_code").copied().unwrap_or(0) <= 3,
        "{tally:?}"
    );
    assert!(checked(&tally) <= 4, "{tally:?}");
    t.stop().await;
}

async fn a_password_change_kills_a_pending_address_change(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_setup(&t, Lang::Ja).await;
    c.send_email_code(&token).await.unwrap();
    c.verify_email_code(&token, &latest_code(&t)).await.unwrap();
    let started = c.change_email(&token, "hanako@example.jp").await.unwrap();
    let link = t
        .mails()
        .iter()
        .find(|m| m.to == started.pending_email)
        .and_then(|m| m.links().into_iter().find(|l| l.contains("/verify/")))
        .expect("the link to the new address");
    c.change_password(&token, PW, "Brand-n3w-pass")
        .await
        .unwrap();
    let (status, _) = c.open_link(&link).await.unwrap();
    assert_ne!(status, 200, "the link died with the old password");
    assert_eq!(
        c.home(&token).await.unwrap().member.email,
        "demo0001@example.com"
    );
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test]
    set_up_then_sign_in_with_a_mailed_code,
    #[tokio::test]
    resend_waits_for_the_cooldown_and_replaces_the_code,
    #[tokio::test]
    a_code_expires_after_ten_minutes,
    #[tokio::test]
    a_code_allows_five_tries,
    #[tokio::test]
    wrong_codes_feed_the_account_lockout,
    #[tokio::test]
    codes_are_refused_where_they_do_not_belong,
    #[tokio::test]
    change_email_from_home_links_the_new_address_and_tells_the_old,
    #[tokio::test]
    the_method_set_up_last_is_asked_first,
    #[tokio::test]
    the_current_address_in_other_letter_case_is_not_a_change,
    #[tokio::test]
    the_email_method_is_removed_like_a_device_but_never_the_last,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_codes_checks_no_more_than_the_free_failures,
    #[tokio::test]
    a_password_change_kills_a_pending_address_change,
}
