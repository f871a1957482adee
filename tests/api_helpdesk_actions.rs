//! The helpdesk's write side (issue 13), through a real server over HTTP: verifying the caller
//! (an app code, a mailed code, a code on the member's own screen, knowledge), what each proof
//! unlocks and for how long on the test clock, stale views, each action's effect with its audit
//! entry and notice mail, and the one-time enrolment pass at the member's sign-in.
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`).

mod common;

use common::staff::*;
use common::*;
use serde_json::{Value, json};
use tobira::api::{ErrorCode, Lang, Step};
use tobira::client::FlowToken;
use tobira::domain::StaffRole;
use tobira::server::Clock;
use tobira::store::ThrottleScope;

const PW: &str = "N3w-passw0rd!";

/// The demo member with one authenticator app, at the top screen; returns the flow and the
/// app's secret (base32). The clock then moves on a step, so the member's code is not reused.
async fn demo_with_app(t: &TestServer) -> (FlowToken, String) {
    let token = t.demo_at_credentials().await;
    let v = t.client.set_credentials(&token, PW, None).await.unwrap();
    assert_eq!(v.step, Step::Complete);
    let (token, v) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::MethodSetup);
    let e = t.client.start_totp_enrollment(&token).await.unwrap();
    let secret = e.secret.clone();
    let v = t
        .client
        .confirm_totp_enrollment(&token, &code_at(&secret, t.clock.now()), "iPhone")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    t.clock.advance(30);
    (token, secret)
}

/// The demo member waiting for the verification link (stage 1).
async fn demo_awaiting_link(t: &TestServer) -> FlowToken {
    let token = t.demo_at_terms().await;
    t.client.decide_terms(&token, true).await.unwrap();
    let v = t.client.submit_email(&token, None).await.unwrap();
    assert_eq!(v.step, Step::AwaitingVerification);
    token
}

/// A helpdesk staff member signed in; returns the staff token.
async fn helpdesk(t: &TestServer, http: &Http, login: &str) -> String {
    enrolled(t, http, login, StaffRole::Helpdesk).await.0
}

fn member_path(user_id: &str, tail: &str) -> String {
    format!("/api/v1/staff/members/{user_id}{tail}")
}

async fn case(http: &Http, staff: &str, user_id: &str) -> Value {
    let (status, body) = http.get(&member_path(user_id, ""), Some(staff)).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn verify(http: &Http, staff: &str, user_id: &str, proof: Value) -> (u16, Value) {
    http.post(&member_path(user_id, "/verify"), Some(staff), proof)
        .await
}

fn knowledge(birth: &str, number: &str) -> Value {
    json!({"proof": "knowledge", "birth_date": birth, "card_number": number})
}

/// Acts on the member's current case with `change`.
async fn act(http: &Http, staff: &str, user_id: &str, reason: &str, change: Value) -> (u16, Value) {
    let version = case(http, staff, user_id).await["version"]
        .as_str()
        .unwrap()
        .to_owned();
    act_on(http, staff, user_id, &version, reason, change).await
}

async fn act_on(
    http: &Http,
    staff: &str,
    user_id: &str,
    version: &str,
    reason: &str,
    change: Value,
) -> (u16, Value) {
    http.post(
        &member_path(user_id, "/actions"),
        Some(staff),
        json!({"version": version, "reason": reason, "change": change}),
    )
    .await
}

async fn demo_member(t: &TestServer) -> tobira::store::Member {
    t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap()
}

/// The member's audit entries of `action`, oldest first.
async fn audit_of(t: &TestServer, action: &str) -> Vec<String> {
    let member = demo_member(t).await;
    let mut log = t.store.audit_log(Some(member.id), 500).await.unwrap();
    log.reverse();
    log.into_iter()
        .filter(|e| e.action == action)
        .map(|e| format!("{} {}", e.actor, e.detail))
        .collect()
}

/// The helpdesk notices mailed to `to`.
fn notices(t: &TestServer, to: &str) -> Vec<String> {
    t.mails()
        .into_iter()
        .filter(|m| m.to == to && m.subject.contains("ヘルプデスクによる操作"))
        .map(|m| m.text)
        .collect()
}

/// The 6-digit code on its own line in the newest mail to `to`.
fn mailed_code(t: &TestServer, to: &str) -> String {
    let mail = t
        .mails()
        .into_iter()
        .rev()
        .find(|m| m.to == to)
        .expect("a mail");
    mail.text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {}", mail.text))
        .to_owned()
}

async fn caller_failures(t: &TestServer) -> u32 {
    let member = demo_member(t).await;
    t.store
        .failures(ThrottleScope::Caller, &format!("member:{}", member.id))
        .await
        .unwrap()
        .failures
}

async fn an_app_code_is_checked_like_a_sign_in_code_and_wrong_ones_count(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (_member, secret) = demo_with_app(&t).await;
    let staff = helpdesk(&t, &http, "hana").await;
    assert_eq!(
        case(&http, &staff, DEMO_ID).await["verification"],
        Value::Null
    );

    let right = code_at(&secret, t.clock.now());
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let got = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "app_code", "code": wrong}),
    )
    .await;
    assert_error(&got, 422, "wrong_code");
    assert_eq!(
        got.1.get("step"),
        None,
        "a staff answer carries no member step"
    );
    assert_eq!(caller_failures(&t).await, 1);
    let malformed = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "app_code", "code": "12"}),
    )
    .await;
    assert_error(&malformed, 422, "wrong_code");
    assert_eq!(
        caller_failures(&t).await,
        1,
        "a malformed code checks nothing"
    );

    let (status, body) = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "app_code", "code": right}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "verified");
    let v = &body["verification"];
    assert_eq!(v["proof"], "app_code");
    assert_eq!(v["remaining_secs"], 900);
    assert_eq!(v["low_risk_only"], false);
    let id = v["id"].as_i64().unwrap();
    // The step is burnt: the same code again is a replay.
    let again = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "app_code", "code": right}),
    )
    .await;
    assert_error(&again, 422, "code_used");

    let shown = case(&http, &staff, DEMO_ID).await;
    assert_eq!(shown["verification"]["id"], id);
    let entries = audit_of(&t, "helpdesk.caller_verified").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        entries[0].contains(&format!("verification {id} (app_code)")),
        "{entries:?}"
    );
    assert_eq!(
        audit_of(&t, "helpdesk.caller_verification_failed")
            .await
            .len(),
        2,
        "the wrong code and the replay are audited"
    );
    t.stop().await;
}

async fn a_mailed_code_goes_to_the_verified_address_and_works_for_the_session_that_asked(
    db: Database,
) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    demo_with_app(&t).await;
    let alice = helpdesk(&t, &http, "alice").await;
    let bob = helpdesk(&t, &http, "bob").await;

    let (status, body) = verify(&http, &alice, DEMO_ID, json!({"proof": "send_mailed_code"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "code_sent");
    assert_eq!(body["to"], "d***@example.com");
    let code = mailed_code(&t, "demo0001@example.com");
    let mail = t.mails().into_iter().last().unwrap();
    assert!(mail.subject.contains("本人確認コード"), "{}", mail.subject);
    assert!(
        audit_of(&t, "helpdesk.caller_code_mailed").await[0].contains("d***@example.com"),
        "the audit names the masked address, never the code"
    );

    // The code is bound to the session that asked for it.
    let other = verify(
        &http,
        &bob,
        DEMO_ID,
        json!({"proof": "mailed_code", "code": code}),
    )
    .await;
    assert_error(&other, 422, "wrong_code");
    let wrong = verify(
        &http,
        &alice,
        DEMO_ID,
        json!({"proof": "mailed_code", "code": "000000"}),
    )
    .await;
    assert_error(&wrong, 422, "wrong_code");
    assert_eq!(caller_failures(&t).await, 2);
    let (status, body) = verify(
        &http,
        &alice,
        DEMO_ID,
        json!({"proof": "mailed_code", "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verification"]["proof"], "mailed_code");
    // Used once.
    let again = verify(
        &http,
        &alice,
        DEMO_ID,
        json!({"proof": "mailed_code", "code": code}),
    )
    .await;
    assert_error(&again, 422, "code_expired");

    // A member whose address is not verified gets no code.
    let before = t.mails().len();
    let unverified = verify(
        &http,
        &alice,
        "demo0002",
        json!({"proof": "send_mailed_code"}),
    )
    .await;
    assert_error(&unverified, 409, "out_of_order");
    assert_eq!(t.mails().len(), before);
    t.stop().await;
}

async fn the_members_own_screen_shows_a_code_the_caller_reads_out(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (member, _) = demo_with_app(&t).await;
    let staff = helpdesk(&t, &http, "hana").await;

    let (status, shown) = http
        .post(
            "/api/v1/home/helpdesk-code",
            Some(member.secret()),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["expires_in_secs"], 300);
    let code = shown["code"].as_str().unwrap().to_owned();
    let (status, body) = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "member_screen_code", "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verification"]["proof"], "member_screen_code");
    assert_eq!(body["verification"]["low_risk_only"], false);
    let again = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "member_screen_code", "code": code}),
    )
    .await;
    assert_error(&again, 422, "code_expired");

    // The code lives five minutes on the test clock.
    let (_, shown) = http
        .post(
            "/api/v1/home/helpdesk-code",
            Some(member.secret()),
            json!({}),
        )
        .await;
    t.clock.advance(300);
    let late = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "member_screen_code", "code": shown["code"]}),
    )
    .await;
    assert_error(&late, 422, "code_expired");
    t.stop().await;
}

async fn knowledge_unlocks_the_low_risk_actions_only(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    demo_awaiting_link(&t).await;
    let staff = helpdesk(&t, &http, "hana").await;

    let wrong = verify(&http, &staff, DEMO_ID, knowledge(DEMO_BIRTH, "3456780")).await;
    assert_error(&wrong, 422, "wrong_birth_date");
    assert_eq!(caller_failures(&t).await, 1);
    let (status, body) = verify(
        &http,
        &staff,
        DEMO_ID,
        knowledge(DEMO_BIRTH, "３４５６７８９"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verification"]["proof"], "knowledge");
    assert_eq!(body["verification"]["low_risk_only"], true);
    let id = body["verification"]["id"].as_i64().unwrap();

    let links_before = t
        .mails()
        .iter()
        .filter(|m| m.text.contains("/verify/"))
        .count();
    let (status, done) = act(
        &http,
        &staff,
        DEMO_ID,
        "mail never came",
        json!({"action": "resend_verification"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["enrolment_pass"], Value::Null);
    let links_after = t
        .mails()
        .iter()
        .filter(|m| m.to == "demo0001@example.com" && m.text.contains("/verify/"))
        .count();
    assert_eq!(links_after, links_before + 1);
    let entry = &audit_of(&t, "helpdesk.resend_verification").await[0];
    assert!(entry.starts_with("staff:"), "{entry}");
    assert!(
        entry.contains(&format!("verification {id} (knowledge)"))
            && entry.contains("reason: mail never came")
            && entry.contains("verification mails 1→2"),
        "{entry}"
    );
    assert_eq!(notices(&t, "demo0001@example.com").len(), 1);

    let (status, done) = act(
        &http,
        &staff,
        DEMO_ID,
        "locked out",
        json!({"action": "unlock"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    for change in [
        json!({"action": "sign_out_everywhere"}),
        json!({"action": "issue_enrolment_pass"}),
        json!({"action": "change_email", "email": "new@example.jp"}),
    ] {
        let refused = act(&http, &staff, DEMO_ID, "asked", change).await;
        assert_error(&refused, 403, "caller_not_verified");
        assert_eq!(refused.1["rule"], "too_weak");
    }
    t.stop().await;
}

async fn a_proof_for_one_member_unlocks_nothing_for_another(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let staff = helpdesk(&t, &http, "hana").await;
    let other = helpdesk(&t, &http, "kenji").await;
    let (status, _) = verify(&http, &staff, DEMO_ID, knowledge(DEMO_BIRTH, "3456789")).await;
    assert_eq!(status, 200);
    let refused = act(
        &http,
        &staff,
        "demo0002",
        "locked out",
        json!({"action": "unlock"}),
    )
    .await;
    assert_error(&refused, 403, "caller_not_verified");
    assert_eq!(refused.1["rule"], "not_verified");
    // Nor does it cover another staff session.
    let refused = act(
        &http,
        &other,
        DEMO_ID,
        "locked out",
        json!({"action": "unlock"}),
    )
    .await;
    assert_error(&refused, 403, "caller_not_verified");
    let (status, body) = act(
        &http,
        &staff,
        DEMO_ID,
        "locked out",
        json!({"action": "unlock"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    t.stop().await;
}

async fn a_proof_covers_fifteen_minutes_on_the_test_clock(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let staff = helpdesk(&t, &http, "hana").await;
    let (status, _) = verify(&http, &staff, DEMO_ID, knowledge(DEMO_BIRTH, "3456789")).await;
    assert_eq!(status, 200);
    t.clock.advance(899);
    let shown = case(&http, &staff, DEMO_ID).await;
    assert_eq!(shown["verification"]["remaining_secs"], 1);
    let (status, body) = act(
        &http,
        &staff,
        DEMO_ID,
        "locked out",
        json!({"action": "unlock"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    t.clock.advance(1);
    let expired = act(
        &http,
        &staff,
        DEMO_ID,
        "locked out",
        json!({"action": "unlock"}),
    )
    .await;
    assert_error(&expired, 403, "caller_not_verified");
    assert_eq!(expired.1["rule"], "expired", "{expired:?}");
    t.stop().await;
}

async fn a_stale_view_or_a_missing_reason_is_refused_and_nothing_changes(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (_member, secret) = demo_with_app(&t).await;
    let staff = helpdesk(&t, &http, "hana").await;
    let code = code_at(&secret, t.clock.now());
    let (status, _) = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "app_code", "code": code}),
    )
    .await;
    assert_eq!(status, 200);
    let seen = case(&http, &staff, DEMO_ID).await;
    let version = seen["version"].as_str().unwrap().to_owned();
    let factor = seen["factors"][0]["id"].as_i64().unwrap();

    // The caller fails a sign-in meanwhile: the view is stale.
    let wrong = t.client.sign_in(DEMO_ID, "Wrong-passw0rd", Lang::Ja).await;
    expect_code(wrong, ErrorCode::InvalidCredentials);
    let mails = t.mails().len();
    let change = json!({"action": "remove_factor", "method": "totp_app", "id": factor});
    let stale = act_on(
        &http,
        &staff,
        DEMO_ID,
        &version,
        "lost phone",
        change.clone(),
    )
    .await;
    assert_error(&stale, 409, "stale_view");
    let now = case(&http, &staff, DEMO_ID).await;
    assert_eq!(now["factors"].as_array().unwrap().len(), 1);
    assert_eq!(now["lockout"]["failures"], 1);
    assert_eq!(t.mails().len(), mails, "no notice");
    assert!(audit_of(&t, "helpdesk.remove_factor").await.is_empty());

    let fresh = now["version"].as_str().unwrap();
    for reason in ["", "   ", &"x".repeat(201)] {
        let refused = act_on(&http, &staff, DEMO_ID, fresh, reason, change.clone()).await;
        assert_error(&refused, 422, "bad_request");
        assert_eq!(refused.1["field"], "reason");
    }
    assert_eq!(
        case(&http, &staff, DEMO_ID).await["factors"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    t.stop().await;
}

async fn unlock_sign_out_and_change_of_address_do_what_they_say_audited_and_noticed(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (member, secret) = demo_with_app(&t).await;
    let staff = helpdesk(&t, &http, "hana").await;
    for _ in 0..2 {
        let wrong = t.client.sign_in(DEMO_ID, "Wrong-passw0rd", Lang::Ja).await;
        expect_code(wrong, ErrorCode::InvalidCredentials);
    }
    let code = code_at(&secret, t.clock.now());
    let (_, body) = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "app_code", "code": code}),
    )
    .await;
    let id = body["verification"]["id"].as_i64().unwrap();
    assert_eq!(case(&http, &staff, DEMO_ID).await["lockout"]["failures"], 2);

    // Unlock.
    let (status, done) = act(
        &http,
        &staff,
        DEMO_ID,
        "caller locked out",
        json!({"action": "unlock"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["case"]["lockout"]["failures"], 0);
    let entry = &audit_of(&t, "helpdesk.unlock").await[0];
    assert!(
        entry.contains(&format!("verification {id} (app_code)"))
            && entry.contains("reason: caller locked out")
            && entry.contains("failures 2→0"),
        "{entry}"
    );
    let n = notices(&t, "demo0001@example.com");
    assert_eq!(n.len(), 1);
    assert!(n[0].contains("サインインの制限を解除しました"), "{}", n[0]);
    assert!(n[0].contains("ヘルプデスクまでご連絡ください"), "{}", n[0]);

    // Sign out everywhere.
    t.client
        .flow(&member)
        .await
        .expect("the member's flow is alive");
    let (status, _) = act(
        &http,
        &staff,
        DEMO_ID,
        "phone stolen",
        json!({"action": "sign_out_everywhere"}),
    )
    .await;
    assert_eq!(status, 200);
    expect_code(t.client.flow(&member).await, ErrorCode::FlowExpired);
    assert_eq!(audit_of(&t, "helpdesk.sign_out_everywhere").await.len(), 1);
    assert_eq!(notices(&t, "demo0001@example.com").len(), 2);

    // Change of address: a link to the new address, the notice to the old one.
    let same = act(
        &http,
        &staff,
        DEMO_ID,
        "new address",
        json!({"action": "change_email", "email": "demo0001@example.com"}),
    )
    .await;
    assert_error(&same, 422, "invalid_email");
    let (status, done) = act(
        &http,
        &staff,
        DEMO_ID,
        "new address",
        json!({"action": "change_email", "email": "new.addr@example.jp"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["case"]["pending_email"], "n***@example.jp");
    assert_eq!(
        done["case"]["masked_email"], "d***@example.com",
        "until the link is opened"
    );
    let link = t
        .mails()
        .into_iter()
        .find(|m| m.to == "new.addr@example.jp")
        .expect("a link to the new address");
    assert!(link.text.contains("/verify/"));
    let n = notices(&t, "demo0001@example.com");
    assert_eq!(n.len(), 3);
    assert!(n[2].contains("n***@example.jp"), "{}", n[2]);
    let entry = &audit_of(&t, "helpdesk.change_email").await[0];
    assert!(
        entry.contains("email d***@example.com → n***@example.jp"),
        "{entry}"
    );
    let (status, _) = t.client.open_link(&link.links()[0]).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(demo_member(&t).await.email, "new.addr@example.jp");
    t.stop().await;
}

async fn a_lost_last_phone_is_removed_and_an_enrolment_pass_leads_to_a_new_password_and_method(
    db: Database,
) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (member, secret) = demo_with_app(&t).await;
    let staff = helpdesk(&t, &http, "hana").await;
    let code = code_at(&secret, t.clock.now());
    let (_, body) = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "app_code", "code": code}),
    )
    .await;
    let id = body["verification"]["id"].as_i64().unwrap();

    // The last factor goes (staff may), and the member's sessions with it.
    let factor = case(&http, &staff, DEMO_ID).await["factors"][0]["id"]
        .as_i64()
        .unwrap();
    let missing = act(
        &http,
        &staff,
        DEMO_ID,
        "lost phone",
        json!({"action": "remove_factor", "method": "totp_app", "id": factor + 100}),
    )
    .await;
    assert_error(&missing, 404, "not_found");
    let (status, done) = act(
        &http,
        &staff,
        DEMO_ID,
        "lost phone",
        json!({"action": "remove_factor", "method": "totp_app", "id": factor}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["case"]["factors"], json!([]));
    expect_code(t.client.flow(&member).await, ErrorCode::FlowExpired);
    let entry = &audit_of(&t, "helpdesk.remove_factor").await[0];
    assert!(
        entry.contains(&format!("verification {id}")) && entry.contains("factors 1→0"),
        "{entry}"
    );
    assert!(notices(&t, "demo0001@example.com")[0].contains("認証アプリ"));

    // The enrolment pass: shown once, stored only as a hash, never in the audit.
    let (status, done) = act(
        &http,
        &staff,
        DEMO_ID,
        "forgot password too",
        json!({"action": "issue_enrolment_pass"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let pass = done["enrolment_pass"].as_str().unwrap().to_owned();
    assert_eq!(pass.len(), 11, "{pass}");
    assert_eq!(done["pass_expires_in_secs"], 3600);
    let entry = &audit_of(&t, "helpdesk.issue_enrolment_pass").await[0];
    assert!(
        !entry.contains(&pass) && !entry.contains(&pass.replace('-', "")),
        "{entry}"
    );
    assert!(
        t.mails()
            .iter()
            .all(|m| !m.text.contains(&pass.replace('-', "")))
    );

    // A wrong pass is a wrong password.
    expect_code(
        t.client.sign_in(DEMO_ID, "34679-34679", Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    // The pass, typed loosely, signs in once and owes a new password before anything else.
    let typed = pass.to_lowercase().replace('-', " ");
    let (token, view) = t.client.sign_in(DEMO_ID, &typed, Lang::Ja).await.unwrap();
    assert_eq!(view.step, Step::NewCredentials);
    expect_code(t.client.home(&token).await, ErrorCode::OutOfOrder);
    expect_code(t.client.back(&token).await, ErrorCode::OutOfOrder);
    assert_eq!(
        t.client.flow(&token).await.unwrap().step,
        Step::NewCredentials
    );
    let user_id = t
        .client
        .set_credentials(&token, "An0ther-passw0rd", Some("someone-else1"))
        .await;
    assert_eq!(
        expect_code(user_id, ErrorCode::InvalidUserId)
            .rule
            .as_deref(),
        Some("pass")
    );
    let v = t
        .client
        .set_credentials(&token, "An0ther-passw0rd", None)
        .await
        .unwrap();
    assert_eq!(v.step, Step::Complete);
    expect_code(t.client.flow(&token).await, ErrorCode::FlowExpired);
    // Used once; the old password no longer works.
    expect_code(
        t.client.sign_in(DEMO_ID, &pass, Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    expect_code(
        t.client.sign_in(DEMO_ID, PW, Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    assert_eq!(audit_of(&t, "enrolment_pass.used").await.len(), 1);

    // No factor left: the next sign-in sets a method up, all the way to the top screen.
    let (token, view) = t
        .client
        .sign_in(DEMO_ID, "An0ther-passw0rd", Lang::Ja)
        .await
        .unwrap();
    assert_eq!(view.step, Step::MethodSetup);
    let e = t.client.start_totp_enrollment(&token).await.unwrap();
    let v = t
        .client
        .confirm_totp_enrollment(&token, &code_at(&e.secret, t.clock.now()), "New phone")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    assert_eq!(t.client.home(&token).await.unwrap().second_factors.len(), 1);
    t.stop().await;
}

async fn an_enrolment_pass_expires_after_an_hour(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (_member, secret) = demo_with_app(&t).await;
    let staff = helpdesk(&t, &http, "hana").await;
    let code = code_at(&secret, t.clock.now());
    verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "app_code", "code": code}),
    )
    .await;
    let (_, done) = act(
        &http,
        &staff,
        DEMO_ID,
        "forgot password",
        json!({"action": "issue_enrolment_pass"}),
    )
    .await;
    let pass = done["enrolment_pass"].as_str().unwrap().to_owned();
    t.clock.advance(3_600);
    expect_code(
        t.client.sign_in(DEMO_ID, &pass, Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    // With factors left, the member signs in with the password and the app as before.
    let (token, view) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(view.step, Step::SecondFactor);
    let v = t
        .client
        .verify_totp(&token, &code_at(&secret, t.clock.now()))
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    t.stop().await;
}

async fn staff_routes_refuse_member_tokens_and_the_member_route_refuses_staff_tokens(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (member, _) = demo_with_app(&t).await;
    let staff = helpdesk(&t, &http, "hana").await;
    let verify_path = member_path(DEMO_ID, "/verify");
    let got = http
        .post(
            &verify_path,
            Some(member.secret()),
            knowledge(DEMO_BIRTH, "3456789"),
        )
        .await;
    assert_error(&got, 401, "staff_session_expired");
    let got = http
        .post(
            &member_path(DEMO_ID, "/actions"),
            Some(member.secret()),
            json!({"version": "0000000000000000", "reason": "x", "change": {"action": "unlock"}}),
        )
        .await;
    assert_error(&got, 401, "staff_session_expired");
    let got = http
        .post("/api/v1/home/helpdesk-code", Some(&staff), json!({}))
        .await;
    assert_error(&got, 401, "unauthorized");
    let unknown = verify(&http, &staff, "nobody99", knowledge(DEMO_BIRTH, "3456789")).await;
    assert_error(&unknown, 404, "not_found");
    t.stop().await;
}

async fn a_burst_of_wrong_answers_checks_no_more_than_the_free_failures(db: Database) {
    let t = start_on(db).await; // account policy: 3 free failures
    let http = Http::new(&t);
    let staff = helpdesk(&t, &http, "hana").await;
    let path = member_path(DEMO_ID, "/verify");
    let wrong: Vec<String> = (0..BURST)
        .map(|k| format!("{:07}", 1_000_000 + k))
        .collect();
    let requests: Vec<_> = wrong
        .iter()
        .map(|n| http.post(&path, Some(&staff), knowledge(DEMO_BIRTH, n)))
        .collect();
    let mut tally = Tally::new();
    for (status, body) in futures::future::join_all(requests).await {
        let key = if status == 200 {
            "ok".to_owned()
        } else {
            body["code"].as_str().unwrap().to_owned()
        };
        *tally.entry(key).or_default() += 1;
    }
    eprintln!("caller burst: {tally:?}");
    let checked = tally.get("wrong_birth_date").copied().unwrap_or(0);
    assert!(checked <= 3, "{checked} wrong answers checked: {tally:?}");
    assert_eq!(tally.get("ok"), None, "{tally:?}");
    assert_eq!(tally.values().sum::<usize>(), BURST);
    assert!(caller_failures(&t).await <= 3);
    // The member's own sign-in is not held by the helpdesk's wrong answers.
    let (_, view) = t
        .client
        .sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    assert_eq!(view.step, Step::BirthDate);
    t.stop().await;
}

async fn the_openapi_document_names_the_new_routes_and_their_answers(db: Database) {
    let t = start_on(db).await;
    let doc = t.client.openapi().await.unwrap();
    let paths = &doc["paths"];
    let verify = &paths["/api/v1/staff/members/{user_id}/verify"]["post"]["responses"];
    for status in ["200", "401", "403", "404", "409", "422", "429", "502"] {
        assert!(verify.get(status).is_some(), "verify {status}");
    }
    let act = &paths["/api/v1/staff/members/{user_id}/actions"]["post"]["responses"];
    for status in ["200", "401", "403", "404", "409", "422", "429", "502"] {
        assert!(act.get(status).is_some(), "actions {status}");
    }
    assert!(
        act["403"]["description"]
            .as_str()
            .unwrap()
            .contains("caller_not_verified")
    );
    assert!(
        act["409"]["description"]
            .as_str()
            .unwrap()
            .contains("stale_view")
    );
    assert!(paths["/api/v1/home/helpdesk-code"]["post"]["responses"]["200"].is_object());
    t.stop().await;
}

/// A member who last signed in in English gets the helpdesk's mail in English: the code to
/// read back and the notices. The language is kept with the member, so it outlives their
/// flows (the second notice comes after "sign out everywhere" ended them all). One who signed
/// in in Japanese gets Japanese (the other tests).
async fn a_member_who_signed_in_in_english_gets_the_helpdesks_mail_in_english(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    demo_with_app(&t).await;
    assert_eq!(demo_member(&t).await.lang.as_deref(), Some("ja"));
    t.client.sign_in(DEMO_ID, PW, Lang::En).await.unwrap();
    assert_eq!(demo_member(&t).await.lang.as_deref(), Some("en"));
    let staff = helpdesk(&t, &http, "hana").await;

    let (status, body) = verify(&http, &staff, DEMO_ID, json!({"proof": "send_mailed_code"})).await;
    assert_eq!(status, 200, "{body}");
    let code = mailed_code(&t, "demo0001@example.com");
    let mail = t.mails().into_iter().last().unwrap();
    assert!(mail.text.starts_with("Dear "), "{}", mail.text);
    assert!(!mail.subject.contains("本人確認コード"), "{}", mail.subject);
    let (status, body) = verify(
        &http,
        &staff,
        DEMO_ID,
        json!({"proof": "mailed_code", "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    for (change, words) in [
        (
            json!({"action": "sign_out_everywhere"}),
            "Signed you out on every terminal.",
        ),
        (
            json!({"action": "unlock"}),
            "Lifted the delay or hold on your sign-ins.",
        ),
    ] {
        let (status, done) = act(&http, &staff, DEMO_ID, "caller asked", change).await;
        assert_eq!(status, 200, "{done}");
        let notice = t.mails().into_iter().last().unwrap();
        assert_eq!(notice.to, "demo0001@example.com");
        assert!(notice.text.starts_with("Dear "), "{}", notice.text);
        assert!(notice.text.contains(words), "{}", notice.text);
    }
    assert!(
        notices(&t, "demo0001@example.com").is_empty(),
        "no Japanese notice"
    );
    assert_eq!(demo_member(&t).await.lang.as_deref(), Some("en"));
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test]
    an_app_code_is_checked_like_a_sign_in_code_and_wrong_ones_count,
    #[tokio::test]
    a_mailed_code_goes_to_the_verified_address_and_works_for_the_session_that_asked,
    #[tokio::test]
    the_members_own_screen_shows_a_code_the_caller_reads_out,
    #[tokio::test]
    knowledge_unlocks_the_low_risk_actions_only,
    #[tokio::test]
    a_proof_for_one_member_unlocks_nothing_for_another,
    #[tokio::test]
    a_proof_covers_fifteen_minutes_on_the_test_clock,
    #[tokio::test]
    a_stale_view_or_a_missing_reason_is_refused_and_nothing_changes,
    #[tokio::test]
    unlock_sign_out_and_change_of_address_do_what_they_say_audited_and_noticed,
    #[tokio::test]
    a_lost_last_phone_is_removed_and_an_enrolment_pass_leads_to_a_new_password_and_method,
    #[tokio::test]
    an_enrolment_pass_expires_after_an_hour,
    #[tokio::test]
    staff_routes_refuse_member_tokens_and_the_member_route_refuses_staff_tokens,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_answers_checks_no_more_than_the_free_failures,
    #[tokio::test]
    the_openapi_document_names_the_new_routes_and_their_answers,
    #[tokio::test]
    a_member_who_signed_in_in_english_gets_the_helpdesks_mail_in_english,
}
