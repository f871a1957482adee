//! "Forgot your user ID?" and "Forgot your password?" through the real client and server: the
//! answers never tell who is a member, the mail goes to the address on file, the reset code
//! works once, the new password follows the policy, and every session of the member ends.
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`).

mod common;

use common::*;
use tobira::api::{ErrorCode, Lang, Step};

/// Waits until the delivery worker has put `n` mails in the outbox.
async fn wait_for_mails(t: &TestServer, n: usize) {
    wait_until(&format!("{n} mails in the outbox"), || async {
        t.mails().len() >= n
    })
    .await;
}

/// The 6-digit code on its own line in the newest mail.
fn latest_code(t: &TestServer) -> String {
    let m = t.mails().pop().expect("a mail");
    m.text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {}", m.text))
        .to_owned()
}

async fn forgot_user_id_mails_it_and_answers_the_same_either_way(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    // The demo member: symbol 12, number 3456789, born 1980-12-01.
    let hit = c
        .forgot_user_id("12", "3456789", DEMO_BIRTH, Lang::Ja)
        .await
        .unwrap();
    let wrong_birth = c
        .forgot_user_id("12", "3456789", "1980-12-02", Lang::Ja)
        .await
        .unwrap();
    let no_card = c
        .forgot_user_id("99", "0000001", DEMO_BIRTH, Lang::Ja)
        .await
        .unwrap();
    assert_eq!(hit, wrong_birth);
    assert_eq!(hit, no_card);
    assert_eq!(hit.step, Step::SignIn);
    wait_for_mails(&t, 1).await;
    // Full-width digits are what Japanese input methods give.
    c.forgot_user_id("１２", "３４５６７８９", DEMO_BIRTH, Lang::En)
        .await
        .unwrap();
    wait_for_mails(&t, 2).await;
    let mails = t.mails();
    assert_eq!(mails.len(), 2, "only the matching requests sent mail");
    assert_eq!(mails[0].to, "demo0001@example.com");
    assert_eq!(mails[0].subject, "【tobira】ユーザIDのお知らせ");
    assert!(mails[0].text.contains("\ndemo0001\n"), "{}", mails[0].text);
    assert_eq!(mails[1].subject, "[tobira] Your user ID");

    let e = expect_code(
        c.forgot_user_id("12", "34x", DEMO_BIRTH, Lang::Ja).await,
        ErrorCode::BadRequest,
    );
    assert_eq!(e.field.as_deref(), Some("number"));
    expect_code(
        c.forgot_user_id("12", "3456789", "1980-13-01", Lang::Ja)
            .await,
        ErrorCode::InvalidBirthDate,
    );
    t.stop().await;
}

async fn each_half_of_the_card_is_named_with_its_own_message(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let e = expect_code(
        c.forgot_user_id("12", "", DEMO_BIRTH, Lang::Ja).await,
        ErrorCode::BadRequest,
    );
    assert_eq!(e.field.as_deref(), Some("number"));
    assert_eq!(e.message, "the card number must be 1 to 10 digits");
    let e = expect_code(
        c.forgot_user_id("", "3456789", DEMO_BIRTH, Lang::Ja).await,
        ErrorCode::BadRequest,
    );
    assert_eq!(e.field.as_deref(), Some("symbol"));
    assert_eq!(e.message, "the card symbol must be 1 to 8 digits");
    // Both wrong: the symbol is named first.
    let e = expect_code(
        c.forgot_user_id("1a", "", DEMO_BIRTH, Lang::Ja).await,
        ErrorCode::BadRequest,
    );
    assert_eq!(e.field.as_deref(), Some("symbol"));
    t.stop().await;
}

async fn recovery_requests_count_towards_the_address_throttle(db: Database) {
    let mut settings = test_settings();
    settings.lockout.address.free_failures = 2;
    let t = start_on_with(db, settings).await;
    let c = &t.client;
    c.forgot_password("nobody01", DEMO_BIRTH, Lang::Ja)
        .await
        .unwrap();
    c.forgot_user_id("12", "3456789", DEMO_BIRTH, Lang::Ja)
        .await
        .unwrap();
    let e = expect_code(
        c.forgot_password(DEMO_ID, DEMO_BIRTH, Lang::Ja).await,
        ErrorCode::RateLimited,
    );
    assert!(e.retry_after_secs.is_some());
    t.stop().await;
}

async fn forgot_password_resets_it_and_ends_every_session(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    // A member who finished the first login with an authenticator app chosen.
    let token = t.demo_at_credentials().await;
    c.set_credentials(&token, "Old-passw0rd", None)
        .await
        .unwrap();
    let (session, view) = c.sign_in(DEMO_ID, "Old-passw0rd", Lang::Ja).await.unwrap();
    assert_eq!(view.step, Step::MethodSetup);
    let before = t.mails().len();

    let hit = c
        .forgot_password("DEMO0001", DEMO_BIRTH, Lang::Ja)
        .await
        .unwrap();
    let miss = c
        .forgot_password(DEMO_ID, "1980-12-02", Lang::Ja)
        .await
        .unwrap();
    let nobody = c
        .forgot_password("nobody01", DEMO_BIRTH, Lang::Ja)
        .await
        .unwrap();
    assert_eq!(hit, miss);
    assert_eq!(hit, nobody);
    assert_eq!(hit.code_expires_in_secs, 600);
    wait_for_mails(&t, before + 1).await;
    let mail = t.mails().pop().unwrap();
    assert_eq!(mail.to, "demo0001@example.com");
    assert_eq!(mail.subject, "【tobira】パスワード再設定の確認コード");
    let code = latest_code(&t);

    // A second request within the cooldown answers the same and sends nothing.
    assert_eq!(
        c.forgot_password(DEMO_ID, DEMO_BIRTH, Lang::Ja)
            .await
            .unwrap(),
        hit
    );
    let queued = t.store.mail_queue_report(50).await.unwrap().recent;
    assert_eq!(
        queued.iter().filter(|m| m.kind == "password_reset").count(),
        1,
        "one code mail: the misses and the request in the cooldown sent none"
    );

    // The new password follows the policy; a refused one does not use up the code.
    let e = expect_code(
        c.reset_password(DEMO_ID, &code, "short").await,
        ErrorCode::WeakPassword,
    );
    assert_eq!(e.rule.as_deref(), Some("length"));
    expect_code(
        c.reset_password(DEMO_ID, &code, DEMO_INITIAL).await,
        ErrorCode::WeakPassword,
    );
    // Unknown user IDs and wrong codes get the same answer.
    let other = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let a = expect_code(
        c.reset_password(DEMO_ID, &other, "Brand-n3w-pass").await,
        ErrorCode::WrongCode,
    );
    let b = expect_code(
        c.reset_password("nobody01", &code, "Brand-n3w-pass").await,
        ErrorCode::WrongCode,
    );
    assert_eq!(a.message, b.message);

    let done = c
        .reset_password(DEMO_ID, &code, "Brand-n3w-pass")
        .await
        .unwrap();
    assert_eq!(done.step, Step::SignIn);
    expect_code(c.flow(&session).await, ErrorCode::FlowExpired);
    expect_code(
        c.sign_in(DEMO_ID, "Old-passw0rd", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    let (_, view) = c
        .sign_in(DEMO_ID, "Brand-n3w-pass", Lang::Ja)
        .await
        .unwrap();
    assert_eq!(
        view.step,
        Step::MethodSetup,
        "the member goes on where they were"
    );
    // The code worked once.
    expect_code(
        c.reset_password(DEMO_ID, &code, "Another-n3w-pass").await,
        ErrorCode::WrongCode,
    );
    let log = t.store.audit_log(None, 50).await.unwrap();
    assert!(log.iter().any(|e| e.action == "recover.password.reset"));
    for e in &log {
        assert!(!e.detail.contains(&code), "{e:?}");
    }
    t.stop().await;
}

async fn a_member_in_the_first_login_goes_back_to_it_after_a_reset(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.forgot_password(DEMO_ID, DEMO_BIRTH, Lang::En)
        .await
        .unwrap();
    wait_for_mails(&t, 1).await;
    assert_eq!(t.mails()[0].subject, "[tobira] Your password reset code");
    let code = latest_code(&t);
    c.reset_password(DEMO_ID, &code, "Brand-n3w-pass")
        .await
        .unwrap();
    expect_code(c.flow(&token).await, ErrorCode::FlowExpired);
    expect_code(
        c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    let (token, view) = c
        .sign_in(DEMO_ID, "Brand-n3w-pass", Lang::Ja)
        .await
        .unwrap();
    assert_eq!(
        view.step,
        Step::BirthDate,
        "the first login starts with the identity check"
    );
    let view = c.birth_date(&token, DEMO_BIRTH).await.unwrap();
    assert_eq!(view.step, Step::Email, "and goes on where it was");
    t.stop().await;
}

async fn a_burst_of_wrong_reset_codes_checks_no_more_than_the_free_failures(db: Database) {
    // The right code last: every wrong code meets the code still issued.
    reset_code_burst(db, false).await;
}

async fn a_burst_behind_the_right_reset_code_checks_no_more_than_the_free_failures(db: Database) {
    // The right code first: it is most often checked early, so the requests behind it meet
    // both the code still issued and the code used up.
    reset_code_burst(db, true).await;
}

/// 64 wrong reset codes and the right one in parallel (`right_first`: the right one sent
/// first, else last), checked against what the server counted.
async fn reset_code_burst(db: Database, right_first: bool) {
    let mut s = test_settings();
    // Enough tries per code that the code's own limit does not hide the account's.
    s.email_code.max_attempts = 100;
    let t = start_on_with(db, s).await; // account: 3 free failures; address: 20
    let c = &t.client;
    let before = t.mails().len();
    c.forgot_password(DEMO_ID, DEMO_BIRTH, Lang::Ja)
        .await
        .unwrap();
    wait_for_mails(&t, before + 1).await;
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
        .map(|code| c.reset_password(DEMO_ID, code, "Brand-n3w-pass"))
        .collect();
    let right = c.reset_password(DEMO_ID, &right, "Brand-n3w-pass");
    if right_first {
        requests.insert(0, right);
    } else {
        requests.push(right);
    }
    let tally = burst(requests).await;
    // Once the right code is accepted it is used up, and a request behind it finds no code: it
    // answers `wrong_code` too (no oracle) but is given back, not a guess. So the guesses
    // checked are read from the server: every checked wrong code stays counted on the ID.
    let wrong_checked = t
        .store
        .failures(tobira::store::ThrottleScope::UserId, DEMO_ID)
        .await
        .unwrap()
        .failures;
    let ok = tally.get("ok").copied().unwrap_or(0);
    let wrong_answers = tally.get("wrong_code").copied().unwrap_or(0);
    eprintln!(
        "reset-code burst (right first: {right_first}): {tally:?}; wrong codes checked: {wrong_checked}"
    );
    assert!(wrong_checked <= 3, "{wrong_checked} checked; {tally:?}");
    assert!(ok <= 1, "{tally:?}");
    assert!(wrong_checked as usize + ok <= 4, "{tally:?}");
    assert!(
        wrong_answers >= wrong_checked as usize,
        "every checked wrong code is answered as one: {tally:?}"
    );
    if ok == 0 {
        assert_eq!(
            wrong_answers, wrong_checked as usize,
            "with the code still issued, every wrong answer is a checked guess: {tally:?}"
        );
    }
    assert_eq!(
        checked(&tally),
        ok + wrong_answers,
        "nothing but ok, wrong_code and refusals: {tally:?}"
    );
    t.stop().await;
}

async fn a_burst_of_recovery_requests_is_answered_no_more_than_the_address_allows(db: Database) {
    let t = start_on(db).await; // address: 20 free failures
    let c = &t.client;
    let requests: Vec<_> = (0..BURST)
        .map(|_| c.forgot_user_id("12", "3456789", "1980-12-02", Lang::Ja))
        .collect();
    let tally = burst(requests).await;
    eprintln!("forgot-user-id burst: {tally:?}");
    assert!(tally.get("ok").copied().unwrap_or(0) <= 20, "{tally:?}");
    let requests: Vec<_> = (0..BURST)
        .map(|_| c.forgot_password("nobody01", DEMO_BIRTH, Lang::Ja))
        .collect();
    let tally = burst(requests).await;
    eprintln!("forgot-password burst (address already spent): {tally:?}");
    assert_eq!(tally.get("ok"), None, "{tally:?}");
    t.stop().await;
}

/// Raw status and body of a reset, for comparing answers byte for byte.
async fn raw_reset(t: &TestServer, user_id: &str, code: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/recover/password/reset", t.url))
        .json(&serde_json::json!({
            "user_id": user_id, "code": code, "new_password": "Brand-n3w-pass"
        }))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn resets_without_an_issued_code_answer_alike_and_never_hold_the_account(db: Database) {
    let t = start_on(db).await; // account: 3 free failures, held after 5
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..6 {
        known.push(raw_reset(&t, DEMO_ID, "123456").await);
        unknown.push(raw_reset(&t, "nobody0001", "123456").await);
    }
    assert_eq!(known, unknown);
    assert!(known.iter().all(|(status, _)| *status == 422), "{known:?}");
    // Nothing was charged to the ID: the member signs in as usual.
    assert_eq!(
        t.store
            .failures(tobira::store::ThrottleScope::UserId, DEMO_ID)
            .await
            .unwrap()
            .failures,
        0
    );
    t.client
        .sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test]
    forgot_user_id_mails_it_and_answers_the_same_either_way,
    #[tokio::test]
    each_half_of_the_card_is_named_with_its_own_message,
    #[tokio::test]
    recovery_requests_count_towards_the_address_throttle,
    #[tokio::test]
    forgot_password_resets_it_and_ends_every_session,
    #[tokio::test]
    a_member_in_the_first_login_goes_back_to_it_after_a_reset,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_reset_codes_checks_no_more_than_the_free_failures,
    #[tokio::test]
    a_burst_behind_the_right_reset_code_checks_no_more_than_the_free_failures,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_recovery_requests_is_answered_no_more_than_the_address_allows,
    #[tokio::test]
    resets_without_an_issued_code_answer_alike_and_never_hold_the_account,
}
