//! Every error path of the first login, through the real client and server.
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`).

mod common;

use common::*;
use tobira::api::{ApiError, ErrorCode, Lang, Method, Step};
use tobira::domain::ThrottlePolicy;
use tobira::store::ThrottleScope;

async fn wrong_password_unknown_id_and_locked_account_look_the_same(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let wrong = expect_code(
        c.sign_in(DEMO_ID, "12345678919801202", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    let unknown = expect_code(
        c.sign_in("nobody0001", DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    let malformed = expect_code(
        c.sign_in("", "", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, malformed);
    assert_eq!(wrong.message, "Invalid user ID or password");
    t.stop().await;
}

async fn repeated_failures_delay_then_lock_the_account(db: Database) {
    let t = start_on(db).await; // account: 3 free failures, 10 s doubling, locked after 5
    let c = &t.client;
    for _ in 0..3 {
        expect_code(
            c.sign_in(DEMO_ID, "wrong-password", Lang::Ja).await,
            ErrorCode::InvalidCredentials,
        );
    }
    // Within the delay even the right password is refused, with the delay (an unknown ID
    // gets the same: see below).
    let delayed = expect_code(
        c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::RateLimited,
    );
    assert_eq!(delayed.retry_after_secs, Some(10));
    t.clock.advance(10);
    // After the delay the right password works, and proves the typed ID's failures moot.
    let (token, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    c.sign_out(&token).await.unwrap();

    // Five failures reach the hold the test policy opts in to: now nothing opens it, however
    // long one waits.
    for _ in 0..5 {
        expect_code(
            c.sign_in(DEMO_ID, "wrong-password", Lang::Ja).await,
            ErrorCode::InvalidCredentials,
        );
        t.clock.advance(60);
    }
    t.clock.advance(365 * 24 * 3600);
    expect_code(
        c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::AccountHeld,
    );
    // Other members are unaffected.
    c.sign_in("demo0002", "12345881519700313", Lang::Ja)
        .await
        .unwrap();
    t.stop().await;
}

async fn one_address_guessing_many_ids_is_rate_limited(db: Database) {
    let t = start_on(db).await; // address: 20 free failures, then 5 s
    let c = &t.client;
    for i in 0..20 {
        expect_code(
            c.sign_in(&format!("guess{i:04}x"), "whatever1", Lang::Ja)
                .await,
            ErrorCode::InvalidCredentials,
        );
    }
    let e = expect_code(
        c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::RateLimited,
    );
    assert_eq!(e.retry_after_secs, Some(5));
    t.clock.advance(5);
    c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    t.stop().await;
}

async fn wrong_birth_dates_count_and_end_in_a_held_account(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let (token, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    let e = expect_code(
        c.birth_date(&token, "1980-13-01").await,
        ErrorCode::InvalidBirthDate,
    );
    assert_eq!(e.field.as_deref(), Some("birth_date"));
    assert_eq!(e.step, Some(Step::BirthDate));
    expect_code(
        c.birth_date(&token, "2030-01-01").await,
        ErrorCode::InvalidBirthDate,
    );
    for _ in 0..3 {
        expect_code(
            c.birth_date(&token, "1980-12-02").await,
            ErrorCode::WrongBirthDate,
        );
    }
    // The progressive delay applies to the identity check too.
    let e = expect_code(
        c.birth_date(&token, DEMO_BIRTH).await,
        ErrorCode::RateLimited,
    );
    assert_eq!(e.retry_after_secs, Some(10));
    t.clock.advance(10);
    expect_code(
        c.birth_date(&token, "1981-12-01").await,
        ErrorCode::WrongBirthDate,
    );
    t.clock.advance(20);
    let e = expect_code(
        c.birth_date(&token, "1981-12-01").await,
        ErrorCode::TooManyAttempts,
    );
    assert_eq!(e.step, Some(Step::SignIn));
    // The flow is over and the account is held; the lock is in the audit log.
    expect_code(c.flow(&token).await, ErrorCode::FlowExpired);
    let member = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    let log = t.store.audit_log(Some(member.id), 100).await.unwrap();
    assert_eq!(
        log.iter().filter(|e| e.action == "account.locked").count(),
        1,
        "{log:?}"
    );
    // Held (the test policy opts in to a hold after 5): told only with the right password.
    expect_code(
        c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::AccountHeld,
    );
    t.stop().await;
}

async fn a_right_birth_date_clears_earlier_failures(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let (token, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    expect_code(
        c.birth_date(&token, "1980-12-02").await,
        ErrorCode::WrongBirthDate,
    );
    expect_code(
        c.birth_date(&token, "1980-12-03").await,
        ErrorCode::WrongBirthDate,
    );
    assert_eq!(
        c.birth_date(&token, DEMO_BIRTH).await.unwrap().step,
        Step::Terms
    );
    let member = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    let rec = t
        .store
        .failures(
            tobira::store::ThrottleScope::Account,
            &member.id.to_string(),
        )
        .await
        .unwrap();
    assert_eq!(rec.failures, 0);
    t.stop().await;
}

async fn declining_the_terms_signs_out_and_keeps_the_member_at_the_terms(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    let v = c.decide_terms(&token, false).await.unwrap();
    assert_eq!(v.step, Step::SignIn);
    expect_code(c.flow(&token).await, ErrorCode::FlowExpired);
    let token = t.demo_at_terms().await;
    assert_eq!(c.flow(&token).await.unwrap().step, Step::Terms);
    t.stop().await;
}

async fn a_malformed_email_is_refused_and_nothing_is_sent(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    for bad in [
        "taro",
        "taro@",
        "taro@example",
        "太郎@example.jp",
        "a b@example.jp",
    ] {
        let e = expect_code(
            c.submit_email(&token, Some(bad)).await,
            ErrorCode::InvalidEmail,
        );
        assert_eq!(e.field.as_deref(), Some("email"));
        assert_eq!(e.step, Some(Step::Email));
    }
    let v = c.flow(&token).await.unwrap();
    assert_eq!(
        (v.step, v.email.as_deref()),
        (Step::Email, Some("demo0001@example.com"))
    );
    assert!(t.mails().is_empty());
    t.stop().await;
}

async fn a_used_link_and_an_expired_link_get_their_own_pages(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.submit_email(&token, None).await.unwrap();
    let link = t.latest_link();
    assert_eq!(c.open_link(&link).await.unwrap().0, 200);
    let (status, page) = c.open_link(&link).await.unwrap();
    assert_eq!(status, 410);
    assert!(page.contains("このリンクは使用済みです"), "{page}");

    // A second member lets their link expire (24 h), then resends.
    let token2 = t
        .member_at_terms("demo0002", "12345881519700313", "1970-03-13")
        .await;
    c.decide_terms(&token2, true).await.unwrap();
    c.submit_email(&token2, None).await.unwrap();
    let link2 = t.latest_link();
    t.clock.advance(24 * 3600);
    let (status, page) = c.open_link(&link2).await.unwrap();
    assert_eq!(status, 410);
    assert!(page.contains("有効期限が切れています"), "{page}");
    // The flow timed out meanwhile too: sign in again, resend, and the new link works.
    expect_code(c.flow(&token2).await, ErrorCode::FlowExpired);
    let (token2, _) = c
        .sign_in("demo0002", "12345881519700313", Lang::En)
        .await
        .unwrap();
    c.birth_date(&token2, "1970-03-13").await.unwrap();
    c.resend_email(&token2).await.unwrap();
    let fresh = t.latest_link();
    assert!(
        t.mails().last().unwrap().subject.contains("confirm"),
        "the mail follows the flow's language"
    );
    assert_eq!(c.open_link(&fresh).await.unwrap().0, 200);
    assert_eq!(c.flow(&token2).await.unwrap().step, Step::ChooseMethod);
    let (status, _) = c
        .open_link(&format!("{}/verify/not-a-token", t.url))
        .await
        .unwrap();
    assert_eq!(status, 404);
    t.stop().await;
}

async fn a_mail_server_that_is_down_delays_the_mail_without_losing_it(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    t.mailer
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let v = c.submit_email(&token, None).await.unwrap();
    assert_eq!(v.step, Step::AwaitingVerification, "the mail is queued");
    assert!(t.mails().is_empty());
    t.mailer
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    t.clock.advance(31);
    common::wait_until("the queued mail reaches the outbox", || async {
        !t.mails().is_empty()
    })
    .await;
    assert_eq!(t.mails().len(), 1);
    assert_eq!(c.open_link(&t.latest_link()).await.unwrap().0, 200);
    assert_eq!(c.flow(&token).await.unwrap().step, Step::ChooseMethod);
    t.stop().await;
}

async fn weak_passwords_are_refused_with_the_rule(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_credentials().await;
    for (pw, rule) in [
        ("short1!", "length"),
        (&"a".repeat(65) as &str, "length"),
        ("パスワード12345678", "characters"),
        ("with space 123", "characters"),
        (DEMO_INITIAL, "initial"),
    ] {
        let e = expect_code(
            c.set_credentials(&token, pw, None).await,
            ErrorCode::WeakPassword,
        );
        assert_eq!(
            (e.field.as_deref(), e.rule.as_deref(), e.step),
            (Some("password"), Some(rule), Some(Step::NewCredentials)),
            "{pw}"
        );
    }
    assert_eq!(c.flow(&token).await.unwrap().step, Step::NewCredentials);
    t.stop().await;
}

async fn a_taken_or_invalid_user_id_changes_nothing(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_credentials().await;
    let e = expect_code(
        c.set_credentials(&token, "Good-passw0rd", Some("DEMO0002"))
            .await,
        ErrorCode::UserIdTaken,
    );
    assert_eq!(e.field.as_deref(), Some("new_user_id"));
    for (id, rule) in [
        ("abc1234", "length"),
        ("abcdefgh", "digit"),
        ("12345678", "letter"),
        ("taro yamada1", "characters"),
    ] {
        let e = expect_code(
            c.set_credentials(&token, "Good-passw0rd", Some(id)).await,
            ErrorCode::InvalidUserId,
        );
        assert_eq!(e.rule.as_deref(), Some(rule), "{id}");
    }
    // Nothing was half-written: same step, same ID, the initial password still the one that works.
    let v = c.flow(&token).await.unwrap();
    assert_eq!(
        (v.step, v.user_id.as_str()),
        (Step::NewCredentials, DEMO_ID)
    );
    let member = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    assert_eq!(member.password_hash, None);
    // Keeping one's own ID (any case) is not a change.
    let v = c
        .set_credentials(&token, "Good-passw0rd", Some("Demo0001"))
        .await
        .unwrap();
    assert_eq!((v.step, v.user_id.as_str()), (Step::Complete, DEMO_ID));
    t.stop().await;
}

async fn out_of_order_requests_are_refused_with_the_current_step(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let (token, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    let e = expect_code(c.decide_terms(&token, true).await, ErrorCode::OutOfOrder);
    assert_eq!(e.step, Some(Step::BirthDate));
    c.birth_date(&token, DEMO_BIRTH).await.unwrap();
    let e = expect_code(
        c.birth_date(&token, DEMO_BIRTH).await,
        ErrorCode::OutOfOrder,
    );
    assert_eq!(e.step, Some(Step::Terms));
    let e = expect_code(
        c.choose_method(&token, Method::EmailOtp).await,
        ErrorCode::OutOfOrder,
    );
    assert_eq!(e.step, Some(Step::Terms));
    expect_code(
        c.set_credentials(&token, "Good-passw0rd", None).await,
        ErrorCode::OutOfOrder,
    );
    expect_code(c.resend_email(&token).await, ErrorCode::OutOfOrder);
    expect_code(c.back(&token).await, ErrorCode::OutOfOrder);
    c.decide_terms(&token, true).await.unwrap();
    let e = expect_code(c.decide_terms(&token, true).await, ErrorCode::OutOfOrder);
    assert_eq!(e.step, Some(Step::Email));
    t.stop().await;
}

async fn an_idle_flow_expires_and_activity_keeps_it_alive(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    t.clock.advance(599);
    c.flow(&token).await.unwrap();
    t.clock.advance(599);
    c.decide_terms(&token, true).await.unwrap();
    t.clock.advance(600);
    let e = expect_code(c.submit_email(&token, None).await, ErrorCode::FlowExpired);
    assert!(e.message.contains("sign in again"));
    assert_eq!(e.step, Some(Step::SignIn));
    // Still expired afterwards, and the member rests where they were.
    expect_code(c.flow(&token).await, ErrorCode::FlowExpired);
    let (token, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    assert_eq!(
        c.birth_date(&token, DEMO_BIRTH).await.unwrap().step,
        Step::Email
    );
    t.stop().await;
}

/// `GET /api/v1/flow` with a token the server never issued.
async fn c_flow(
    t: &TestServer,
    token: &str,
) -> Result<tobira::api::FlowView, tobira::client::ClientError> {
    t.client.flow(&tobira::client::FlowToken::new(token)).await
}

async fn requests_without_a_token_are_unauthorized(db: Database) {
    let t = start_on(db).await;
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/api/v1/flow", t.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let e: tobira::api::ApiError = resp.json().await.unwrap();
    assert_eq!(e.code, ErrorCode::Unauthorized);
    assert_eq!(e.step, Some(Step::SignIn));
    let e = expect_code(c_flow(&t, "made-up").await, ErrorCode::FlowExpired);
    assert_eq!(e.step, Some(Step::SignIn));
    t.stop().await;
}

/// A sign-in through raw HTTP, for the status the typed client does not expose.
async fn raw_sign_in(t: &TestServer, user_id: &str, password: &str) -> (u16, ApiError) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/sign-in", t.url))
        .json(&serde_json::json!({ "user_id": user_id, "password": password }))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn unknown_id_wrong_password_delayed_and_locked_accounts_get_one_identical_answer(
    db: Database,
) {
    let t = start_on(db).await; // account: 3 free failures, 10 s doubling (max 60), held after 5
    let wrong = raw_sign_in(&t, DEMO_ID, "12345678919801202").await;
    let unknown = raw_sign_in(&t, "nobody0001", DEMO_INITIAL).await;
    let expected = (
        401,
        ApiError {
            step: Some(Step::SignIn),
            ..ApiError::new(ErrorCode::InvalidCredentials, "Invalid user ID or password")
        },
    );
    assert_eq!(wrong, expected, "wrong password");
    assert_eq!(unknown, expected, "unknown user ID");

    // Failures count per user ID as typed, so a known and an unknown ID are delayed alike, and
    // the right password is refused like any other during the delay.
    for id in [DEMO_ID, "nobody0001"] {
        raw_sign_in(&t, id, "wrong-password").await;
        raw_sign_in(&t, id, "wrong-password").await;
    }
    let delayed_known = raw_sign_in(&t, DEMO_ID, DEMO_INITIAL).await;
    let delayed_unknown = raw_sign_in(&t, "nobody0001", DEMO_INITIAL).await;
    assert_eq!(delayed_known, delayed_unknown);
    assert_eq!(delayed_known.0, 429);
    assert_eq!(delayed_known.1.retry_after_secs, Some(10));

    // The opt-in hold (after 5) answers alike too.
    let (other, other_pw) = ("demo0002", "12345881519700313");
    for id in [other, "nobody0002"] {
        for _ in 0..5 {
            raw_sign_in(&t, id, "wrong-password").await;
            t.clock.advance(60);
        }
    }
    let held_known = raw_sign_in(&t, other, other_pw).await;
    let held_unknown = raw_sign_in(&t, "nobody0002", other_pw).await;
    assert_eq!(held_known, held_unknown);
    assert_eq!(held_known.0, 423);
    assert_eq!(held_known.1.code, ErrorCode::AccountHeld);
    // Sanity: the known account really is held, and the helpdesk lifts it.
    let member = t.store.member_by_user_id(other).await.unwrap().unwrap();
    let log = t.store.audit_log(Some(member.id), 100).await.unwrap();
    assert!(log.iter().any(|e| e.action == "account.locked"), "{log:?}");
    let lift = tobira::store::AuditEntry::new(
        T0,
        tobira::domain::Actor::System,
        tobira::domain::AuditAction::HoldLifted,
        Some(member.id),
        "test",
    );
    t.store.lift_hold(member.id, other, &lift).await.unwrap();
    t.client.sign_in(other, other_pw, Lang::Ja).await.unwrap();
    t.stop().await;
}

async fn a_valid_login_between_guesses_clears_nothing_of_the_address(db: Database) {
    let mut s = test_settings();
    s.lockout.address.free_failures = 5; // then 5 s, doubling
    let t = start_on_with(db, s).await;
    let c = &t.client;
    for i in 0..5 {
        expect_code(
            c.sign_in(&format!("spray{i:04}x"), "whatever1", Lang::Ja)
                .await,
            ErrorCode::InvalidCredentials,
        );
    }
    expect_code(
        c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::RateLimited,
    );
    t.clock.advance(5);
    // The attacker's own valid login goes through ...
    c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    // ... and buys nothing: one guess later the address is delayed again, for longer.
    expect_code(
        c.sign_in("spray9999x", "whatever1", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    let e = expect_code(
        c.sign_in("spray9998x", "whatever1", Lang::Ja).await,
        ErrorCode::RateLimited,
    );
    assert_eq!(e.retry_after_secs, Some(10));
    t.stop().await;
}

async fn a_failed_sign_in_that_locks_the_account_ends_its_open_flows(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let (open, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    for i in 0..5 {
        expect_code(
            c.sign_in(DEMO_ID, "wrong-password", Lang::Ja).await,
            ErrorCode::InvalidCredentials,
        );
        if i < 4 {
            // Every refusal in this test comes from the policy, never from a pending delay.
            t.clock.advance(60);
            c.flow(&open).await.unwrap();
        }
    }
    let e = expect_code(c.flow(&open).await, ErrorCode::FlowExpired);
    assert_eq!(e.step, Some(Step::SignIn));
    let member = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    let locks: Vec<_> = t
        .store
        .audit_log(Some(member.id), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "account.locked")
        .collect();
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0].at, T0 + 4 * 60);
    t.stop().await;
}

async fn a_locked_address_is_refused_like_a_delayed_one(db: Database) {
    let mut settings = test_settings();
    settings.lockout.address = ThrottlePolicy {
        free_failures: 10,
        base_delay_secs: 5,
        max_delay_secs: 30,
        lock_after: 3,
        decay_secs: 0,
        cap: 0,
    };
    let t = start_on_with(db, settings).await;
    let c = &t.client;
    expect_code(
        c.sign_in("nobody0001", "whatever1", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    expect_code(
        c.sign_in(DEMO_ID, "wrong-password", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    expect_code(
        c.sign_in("nobody0002", "whatever1", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    // Three failures lock the address: the right password is not even checked, however long
    // one waits.
    for _ in 0..2 {
        let e = expect_code(
            c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await,
            ErrorCode::RateLimited,
        );
        assert_eq!(
            e,
            ApiError {
                retry_after_secs: Some(30),
                step: Some(Step::SignIn),
                ..ApiError::new(
                    ErrorCode::RateLimited,
                    "Too many attempts; wait and try again"
                )
            }
        );
        t.clock.advance(365 * 24 * 3600);
    }
    // The lock is the address's, not the account's.
    let account = t
        .store
        .failures(ThrottleScope::UserId, DEMO_ID)
        .await
        .unwrap();
    assert_eq!(account.failures, 1);
    t.store
        .clear_failures(ThrottleScope::Address, "127.0.0.1")
        .await
        .unwrap();
    c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    t.stop().await;
}

async fn a_wrong_birth_date_counts_for_the_client_address_too(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let store = t.store.clone();
    let addr = |n| {
        let store = store.clone();
        async move {
            store
                .failures(ThrottleScope::Address, "127.0.0.1")
                .await
                .unwrap()
                .failures
                == n
        }
    };
    expect_code(
        c.sign_in("nobody0001", "whatever1", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    assert!(addr(1).await);
    let (token, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    assert!(addr(1).await, "a sign-in clears nothing of the address");
    for n in 2..=3 {
        expect_code(
            c.birth_date(&token, "1980-12-02").await,
            ErrorCode::WrongBirthDate,
        );
        assert!(addr(n).await, "after {n} wrong dates");
    }
    t.stop().await;
}

/// The demo user ID's sign-in failure count (every checked wrong password stays counted).
async fn demo_failures(t: &TestServer) -> u32 {
    t.store
        .failures(ThrottleScope::UserId, DEMO_ID)
        .await
        .unwrap()
        .failures
}

async fn a_burst_of_wrong_passwords_checks_no_more_than_the_free_failures(db: Database) {
    let t = start_on(db).await; // account: 3 free failures
    let c = &t.client;
    let wrong: Vec<String> = (0..BURST).map(|k| format!("1234567891980{k:04}")).collect();
    let mut requests: Vec<_> = wrong
        .iter()
        .map(|pw| c.sign_in(DEMO_ID, pw, Lang::Ja))
        .collect();
    requests.push(c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja));
    let tally = burst(requests).await;
    // A refused attempt answers like a wrong password, so the account's count tells how many
    // wrong passwords were checked.
    let checked_wrong = demo_failures(&t).await;
    eprintln!("sign-in burst: {tally:?}, wrong passwords checked: {checked_wrong}");
    assert!(
        checked_wrong <= 3,
        "{checked_wrong} wrong passwords checked"
    );
    assert!(tally.get("ok").copied().unwrap_or(0) <= 1, "{tally:?}");
    t.stop().await;
}

async fn a_burst_of_wrong_birth_dates_checks_no_more_than_the_free_failures(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let (token, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    let wrong: Vec<String> = (0..BURST)
        .map(|k| format!("19{:02}-12-01", k + 10))
        .collect();
    let mut requests: Vec<_> = wrong.iter().map(|d| c.birth_date(&token, d)).collect();
    requests.push(c.birth_date(&token, DEMO_BIRTH));
    let tally = burst(requests).await;
    eprintln!("birth-date burst: {tally:?}");
    let wrong_checked = tally.get("wrong_birth_date").copied().unwrap_or(0);
    assert!(wrong_checked <= 3, "{tally:?}");
    assert!(checked(&tally) <= 4, "{tally:?}");
    t.stop().await;
}

async fn a_flow_ends_at_its_absolute_lifetime_however_active(db: Database) {
    let mut s = test_settings();
    s.flow_idle_timeout_secs = 600;
    s.flow_max_lifetime_secs = 1_200;
    let t = start_on_with(db, s).await;
    let c = &t.client;
    let (token, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    for _ in 0..2 {
        t.clock.advance(500);
        c.flow(&token).await.unwrap();
    }
    t.clock.advance(200);
    expect_code(c.flow(&token).await, ErrorCode::FlowExpired);
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test]
    wrong_password_unknown_id_and_locked_account_look_the_same,
    #[tokio::test]
    repeated_failures_delay_then_lock_the_account,
    #[tokio::test]
    one_address_guessing_many_ids_is_rate_limited,
    #[tokio::test]
    wrong_birth_dates_count_and_end_in_a_held_account,
    #[tokio::test]
    a_right_birth_date_clears_earlier_failures,
    #[tokio::test]
    declining_the_terms_signs_out_and_keeps_the_member_at_the_terms,
    #[tokio::test]
    a_malformed_email_is_refused_and_nothing_is_sent,
    #[tokio::test]
    a_used_link_and_an_expired_link_get_their_own_pages,
    #[tokio::test]
    a_mail_server_that_is_down_delays_the_mail_without_losing_it,
    #[tokio::test]
    weak_passwords_are_refused_with_the_rule,
    #[tokio::test]
    a_taken_or_invalid_user_id_changes_nothing,
    #[tokio::test]
    out_of_order_requests_are_refused_with_the_current_step,
    #[tokio::test]
    an_idle_flow_expires_and_activity_keeps_it_alive,
    #[tokio::test]
    requests_without_a_token_are_unauthorized,
    #[tokio::test]
    unknown_id_wrong_password_delayed_and_locked_accounts_get_one_identical_answer,
    #[tokio::test]
    a_valid_login_between_guesses_clears_nothing_of_the_address,
    #[tokio::test]
    a_failed_sign_in_that_locks_the_account_ends_its_open_flows,
    #[tokio::test]
    a_locked_address_is_refused_like_a_delayed_one,
    #[tokio::test]
    a_wrong_birth_date_counts_for_the_client_address_too,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_passwords_checks_no_more_than_the_free_failures,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_birth_dates_checks_no_more_than_the_free_failures,
    #[tokio::test]
    a_flow_ends_at_its_absolute_lifetime_however_active,
}
