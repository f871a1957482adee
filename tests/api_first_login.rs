//! The manual's first login, steps 【2】–【11】, through the real client and server.
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`); a test that reads
//! the SQLite file itself runs on SQLite only.

mod common;

use common::*;
use tobira::api::{ErrorCode, Lang, Method, Step};

async fn the_demo_member_completes_the_first_login(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;

    // 【2】 sign in with the letter's user ID (any case) and the derived initial password.
    let (token, v) = c.sign_in("DEMO0001", DEMO_INITIAL, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::BirthDate);
    assert_eq!(v.user_id, "demo0001");
    assert_eq!(v.name, None, "no personal data before the identity check");
    assert_eq!(v.email, None);
    assert_eq!(v.idle_timeout_secs, 600);

    // 【3】 identity check.
    let v = c.birth_date(&token, DEMO_BIRTH).await.unwrap();
    assert_eq!(v.step, Step::Terms);
    assert_eq!(v.name.as_deref(), Some("山田 太郎"));
    assert_eq!(v.email.as_deref(), Some("demo0001@example.com"));
    assert!(!v.email_verified);

    // 【4】 the terms, in both languages, then 同意する.
    assert!(c.terms(Lang::Ja).await.unwrap().text.contains("利用規約"));
    assert!(
        c.terms(Lang::En)
            .await
            .unwrap()
            .text
            .contains("Terms of Use")
    );
    let v = c.decide_terms(&token, true).await.unwrap();
    assert_eq!(v.step, Step::Email);

    // 【5】 confirm the address on file: the mail 【6】 goes out.
    let v = c.submit_email(&token, None).await.unwrap();
    assert_eq!(v.step, Step::AwaitingVerification);
    let mails = t.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "demo0001@example.com");
    assert!(
        mails[0].subject.contains("メールアドレスの確認"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0].text.contains("山田 太郎"));

    // 【7】 pressing Refresh before the link is opened changes nothing.
    assert_eq!(
        c.flow(&token).await.unwrap().step,
        Step::AwaitingVerification
    );

    // 【6】 the member opens the link on their phone.
    let link = t.latest_link();
    assert!(link.starts_with(&format!("{}/verify/", t.url)), "{link}");
    let (status, page) = c.open_link(&link).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("メールアドレスの確認が完了しました"),
        "{page}"
    );

    // 【7】 Refresh now moves on.
    let v = c.flow(&token).await.unwrap();
    assert_eq!(v.step, Step::ChooseMethod);
    assert!(v.email_verified);

    // 【8】 choose the authenticator app; going back and choosing again is allowed.
    let v = c.choose_method(&token, Method::Passkey).await.unwrap();
    assert_eq!(v.step, Step::NewCredentials);
    assert_eq!(c.back(&token).await.unwrap().step, Step::ChooseMethod);
    let v = c.choose_method(&token, Method::TotpApp).await.unwrap();
    assert_eq!(
        (v.step, v.method),
        (Step::NewCredentials, Some(Method::TotpApp))
    );

    // 【9】 new password and a new user ID (stored lower-case).
    let v = c
        .set_credentials(&token, "N3w-passw0rd!", Some("Taro.Yamada1"))
        .await
        .unwrap();
    // 【10】【11】 complete, signed out.
    assert_eq!(v.step, Step::Complete);
    assert_eq!(v.user_id, "taro.yamada1");
    expect_code(c.flow(&token).await, ErrorCode::FlowExpired);

    // The initial password and the old ID no longer work; the new ones lead to method set-up.
    expect_code(
        c.sign_in("taro.yamada1", DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    expect_code(
        c.sign_in("demo0001", "N3w-passw0rd!", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    let (token2, v) = c
        .sign_in("TARO.yamada1", "N3w-passw0rd!", Lang::En)
        .await
        .unwrap();
    assert_eq!(v.step, Step::MethodSetup);
    assert_eq!(v.method, Some(Method::TotpApp));
    assert_eq!(v.name.as_deref(), Some("山田 太郎"));
    // Signing out answers with the next step, like every other answer.
    let v = c.sign_out(&token2).await.unwrap();
    assert_eq!((v.step, v.user_id.as_str()), (Step::SignIn, "taro.yamada1"));
    let e = expect_code(c.flow(&token2).await, ErrorCode::FlowExpired);
    assert_eq!(e.step, Some(Step::SignIn));

    // Every step left its trace in the audit log.
    let member = t
        .store
        .member_by_user_id("taro.yamada1")
        .await
        .unwrap()
        .unwrap();
    let actions: Vec<String> = t
        .store
        .audit_log(Some(member.id), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "sign_in",
        "identity.checked",
        "terms.accepted",
        "email.submitted",
        "email.verified",
        "method.chosen",
        "first_login.completed",
        "sign_out",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "audit lacks {a}: {actions:?}"
        );
    }
    let hash = member.password_hash.unwrap();
    assert!(
        hash.starts_with("$argon2id$"),
        "password stored as argon2id"
    );
    t.stop().await;
}

async fn a_changed_address_is_the_one_verified(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    let v = c
        .submit_email(&token, Some("taro@example.jp"))
        .await
        .unwrap();
    assert_eq!(v.email.as_deref(), Some("taro@example.jp"));
    assert_eq!(t.mails().last().unwrap().to, "taro@example.jp");

    // Back to change it again: the first link stops working, the second one verifies.
    let first = t.latest_link();
    assert_eq!(c.back(&token).await.unwrap().step, Step::Email);
    c.submit_email(&token, Some("yamada@example.jp"))
        .await
        .unwrap();
    let second = t.latest_link();
    assert_ne!(first, second);
    let (status, page) = c.open_link(&first).await.unwrap();
    assert_eq!(status, 404);
    assert!(page.contains("このリンクは無効です"));
    assert_eq!(
        c.flow(&token).await.unwrap().step,
        Step::AwaitingVerification
    );
    assert_eq!(c.open_link(&second).await.unwrap().0, 200);
    let v = c.flow(&token).await.unwrap();
    assert_eq!(
        (v.step, v.email.as_deref(), v.email_verified),
        (Step::ChooseMethod, Some("yamada@example.jp"), true)
    );
    t.stop().await;
}

async fn resend_replaces_the_link_and_an_unfinished_member_resumes_where_they_were(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.submit_email(&token, None).await.unwrap();
    let old = t.latest_link();
    c.resend_email(&token).await.unwrap();
    assert_eq!(t.mails().len(), 2);
    assert_eq!(c.open_link(&old).await.unwrap().0, 404);
    c.sign_out(&token).await.unwrap();

    // A new sign-in checks identity again, then resumes at the waiting step.
    let (token, v) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::BirthDate);
    assert_eq!(
        c.birth_date(&token, DEMO_BIRTH).await.unwrap().step,
        Step::AwaitingVerification
    );
    // The link from the mail still works in the new flow.
    assert_eq!(c.open_link(&t.latest_link()).await.unwrap().0, 200);
    assert_eq!(c.flow(&token).await.unwrap().step, Step::ChooseMethod);
    t.stop().await;
}

async fn the_link_page_follows_the_browser_language(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.submit_email(&token, None).await.unwrap();
    let page = c
        .open_link_as(&t.latest_link(), Some("en-GB,en;q=0.9,ja;q=0.5"))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(page.content_language.as_deref(), Some("en"));
    assert_eq!(page.cache_control.as_deref(), Some("no-store"));
    let body = page.body;
    assert!(
        body.contains("<html lang=\"en\">") && body.contains("Your email address is confirmed"),
        "{body}"
    );
    t.stop().await;
}

/// The member switches to English after signing in in Japanese (F2 on the screen): the
/// client says so with every request, and the mail that follows is in English, as is the
/// language the helpdesk's later mail will use. A language tobira does not speak changes nothing.
async fn a_language_switched_mid_flow_is_the_language_of_what_follows(db: Database) {
    let t = start_on(db).await;
    let mut c = t.client.clone();
    let (token, _) = c.sign_in("demo0001", DEMO_INITIAL, Lang::Ja).await.unwrap();
    c.birth_date(&token, DEMO_BIRTH).await.unwrap();
    let member = |t: &TestServer| {
        let store = t.store.clone();
        async move { store.member_by_user_id("demo0001").await.unwrap().unwrap() }
    };
    assert_eq!(member(&t).await.lang.as_deref(), Some("ja"));
    c.set_lang(Lang::En);
    c.decide_terms(&token, true).await.unwrap();
    assert_eq!(member(&t).await.lang.as_deref(), Some("en"));
    c.submit_email(&token, None).await.unwrap();
    let mails = t.mails();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0]
            .subject
            .contains("Please confirm your email address"),
        "{}",
        mails[0].subject
    );
    // Back to Japanese: the resent mail follows.
    c.set_lang(Lang::Ja);
    c.resend_email(&token).await.unwrap();
    let mails = t.mails();
    assert!(
        mails
            .last()
            .unwrap()
            .subject
            .contains("メールアドレスの確認"),
        "{}",
        mails.last().unwrap().subject
    );
    t.stop().await;
}

#[tokio::test]
async fn tokens_and_passwords_are_stored_only_as_hashes() {
    let t = start().await;
    let c = &t.client;
    let token = t.demo_at_credentials().await;
    let link = t.latest_link();
    c.set_credentials(&token, "Sup3r-secret-pw", None)
        .await
        .unwrap();
    let (session, _) = c
        .sign_in(DEMO_ID, "Sup3r-secret-pw", Lang::Ja)
        .await
        .unwrap();
    t.stop_flush().await;
    let mut raw = Vec::new();
    for f in [&t.db_path, &t.db_path.with_extension("db-wal")] {
        if let Ok(bytes) = std::fs::read(f) {
            raw.extend(bytes);
        }
    }
    let raw = String::from_utf8_lossy(&raw);
    assert!(
        raw.contains("demo0001"),
        "sanity: the database file was read"
    );
    let link_token = link.rsplit('/').next().unwrap();
    for secret in ["Sup3r-secret-pw", link_token, session.secret()] {
        assert!(!raw.contains(secret), "{secret} found in the database file");
    }
}

trait StopFlush {
    async fn stop_flush(&self);
}

impl StopFlush for TestServer {
    /// Checkpoints the WAL so the file holds everything written so far.
    async fn stop_flush(&self) {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(self.sqlite().pool())
            .await
            .unwrap();
    }
}

async fn verification_mails_have_a_cooldown_and_a_daily_cap(db: Database) {
    let mut s = test_settings();
    s.mail_quota = tobira::domain::MailQuota::default(); // 60 s apart, 5 a day
    let t = start_on_with(db, s).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.submit_email(&token, None).await.unwrap();
    let e = expect_code(c.resend_email(&token).await, ErrorCode::ResendCooldown);
    assert_eq!(e.retry_after_secs, Some(60));
    for _ in 0..4 {
        t.clock.advance(60);
        c.resend_email(&token).await.unwrap();
    }
    assert_eq!(t.mails().len(), 5);
    t.clock.advance(60);
    // Five in a day: the sixth waits for the oldest to leave the sliding day.
    let e = expect_code(c.resend_email(&token).await, ErrorCode::ResendCooldown);
    assert!(e.retry_after_secs.unwrap() > 3_600, "{e:?}");
    assert_eq!(t.mails().len(), 5, "nothing more was sent");
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test]
    the_demo_member_completes_the_first_login,
    #[tokio::test]
    a_changed_address_is_the_one_verified,
    #[tokio::test]
    resend_replaces_the_link_and_an_unfinished_member_resumes_where_they_were,
    #[tokio::test]
    the_link_page_follows_the_browser_language,
    #[tokio::test]
    verification_mails_have_a_cooldown_and_a_daily_cap,
    #[tokio::test]
    a_language_switched_mid_flow_is_the_language_of_what_follows,
}
