//! Staff accounts and staff sign-in (issue 13), through a real server over HTTP: enrolment with
//! the one-time code, sign-in with the password and an authenticator code or a passkey (the soft
//! authenticator of webauthn-authenticator-rs), session lifetimes,
//! roles, lockout, and tokens that never cross between members and staff. Every story runs on
//! SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`).

mod common;

use common::staff::*;
use common::*;
use serde_json::json;
use tobira::api::Lang;
use tobira::domain::StaffRole;
use tobira::server::Clock;
use tobira::staff_admin;
use tobira::store::ThrottleScope;

async fn staff_failures(t: &TestServer, login: &str) -> u32 {
    t.store
        .failures(ThrottleScope::Staff, login)
        .await
        .unwrap()
        .failures
}

async fn a_staff_member_enrols_with_the_code_then_signs_in_with_password_and_app_code(
    db: Database,
) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let code = add(&t, "alice", StaffRole::Admin).await;
    assert_eq!(code.len(), 19, "{code}");

    // The code works typed in lower case without hyphens, and for its own login only.
    let (status, started) = http
        .post(
            "/api/v1/staff/enrolment",
            None,
            json!({"login": " Alice ", "enrolment_code": code.replace('-', "").to_lowercase()}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let token = started["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tbs_"), "{token}");
    let secret = started["totp"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(started["totp"]["account"], "alice");
    assert_eq!(started["expires_in_secs"], 600);
    // An enrolment is not a session yet.
    assert_error(
        &http.get("/api/v1/staff/me", Some(&token)).await,
        401,
        "staff_session_expired",
    );

    let finish = "/api/v1/staff/enrolment/finish";
    let now = t.clock.now();
    let weak = http
        .post(
            finish,
            Some(&token),
            json!({"password": "short", "code": code_at(&secret, now)}),
        )
        .await;
    assert_error(&weak, 422, "weak_password");
    let wrong = http
        .post(
            finish,
            Some(&token),
            json!({"password": "Staff-passw0rd", "code": code_at(&secret, now + 3_600)}),
        )
        .await;
    assert_error(&wrong, 422, "wrong_code");
    assert_eq!(staff_failures(&t, "alice").await, 1);
    let (status, me) = http
        .post(
            finish,
            Some(&token),
            json!({"password": "Staff-passw0rd", "code": code_at(&secret, now), "device_name": "Work phone"}),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["login"], "alice");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["session"]["absolute_expires_at"], now + 8 * 3600);
    assert_eq!(me["session"]["expires_at"], now + 1800);
    assert_eq!(me["session"]["idle_timeout_secs"], 1800);
    assert_eq!(staff_failures(&t, "alice").await, 0);
    // The enrolment is now the session.
    let (status, me) = http.get("/api/v1/staff/me", Some(&token)).await;
    assert_eq!((status, me["display_name"].as_str()), (200, Some("alice")));
    // The code was used up.
    let again = http
        .post(
            "/api/v1/staff/enrolment",
            None,
            json!({"login": "alice", "enrolment_code": code}),
        )
        .await;
    assert_error(&again, 401, "invalid_enrolment_code");

    let (status, out) = http
        .post("/api/v1/staff/sign-out", Some(&token), json!({}))
        .await;
    assert_eq!((status, out["signed_out"].as_bool()), (200, Some(true)));
    assert_error(
        &http.get("/api/v1/staff/me", Some(&token)).await,
        401,
        "staff_session_expired",
    );

    // Next shift: password, then a code. The enrolment's code is spent; a wrong password is
    // the one message.
    let sign_in = "/api/v1/staff/sign-in";
    let wrong = http
        .post(
            sign_in,
            None,
            json!({"login": "alice", "password": "Wrong-passw0rd"}),
        )
        .await;
    assert_error(&wrong, 401, "invalid_credentials");
    let unknown = http
        .post(
            sign_in,
            None,
            json!({"login": "nobody", "password": "Staff-passw0rd"}),
        )
        .await;
    assert_eq!(unknown, wrong);
    assert_eq!(
        wrong.1.get("step"),
        None,
        "a member's step means nothing to staff"
    );
    let (status, half) = http
        .post(
            sign_in,
            None,
            json!({"login": "ALICE", "password": "Staff-passw0rd"}),
        )
        .await;
    assert_eq!(status, 200, "{half}");
    assert_eq!(half["phase"], "second_factor");
    let token = half["token"].as_str().unwrap().to_owned();
    assert_error(
        &http.get("/api/v1/staff/me", Some(&token)).await,
        401,
        "staff_session_expired",
    );
    let verify = "/api/v1/staff/sign-in/verify";
    let replay = http
        .post(verify, Some(&token), json!({"code": code_at(&secret, now)}))
        .await;
    assert_error(&replay, 422, "code_used");
    t.clock.advance(30);
    let (status, me) = http
        .post(
            verify,
            Some(&token),
            json!({"code": code_at(&secret, now + 30)}),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["role"], "admin");
    let again = http
        .post(
            verify,
            Some(&token),
            json!({"code": code_at(&secret, now + 30)}),
        )
        .await;
    assert_error(&again, 409, "out_of_order");
    assert_eq!(http.get("/api/v1/staff/me", Some(&token)).await.0, 200);

    // Everything is audited as the staff member; no entry carries a secret.
    let id = t.store.staff_by_login("alice").await.unwrap().unwrap().id;
    let log = t.store.audit_log(None, 100).await.unwrap();
    let mine: Vec<&str> = log
        .iter()
        .filter(|e| e.actor == format!("staff:{id}"))
        .map(|e| e.action.as_str())
        .collect();
    for action in [
        "staff.enrolment_started",
        "staff.enrolled",
        "staff.sign_out",
        "staff.password_accepted",
        "staff.sign_in",
        "staff.sign_in_failed",
    ] {
        assert!(mine.contains(&action), "{action} missing from {mine:?}");
    }
    assert!(
        log.iter()
            .any(|e| e.actor == "operator" && e.action == "staff.added")
    );
    for e in &log {
        assert!(
            !e.detail.contains(&secret)
                && !e.detail.contains(&code)
                && !e.detail.contains("argon2"),
            "{e:?}"
        );
    }
    t.stop().await;
}

async fn member_tokens_never_open_staff_routes_and_staff_tokens_never_open_member_routes(
    db: Database,
) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (staff_token, _) = enrolled(&t, &http, "alice", StaffRole::Admin).await;
    let (member, _) = t
        .client
        .sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    let member = member.secret().to_owned();

    // A member's live token on every staff route that takes one.
    assert_error(
        &http.get("/api/v1/staff/me", Some(&member)).await,
        401,
        "staff_session_expired",
    );
    assert_error(
        &http.get("/api/v1/staff/accounts", Some(&member)).await,
        401,
        "staff_session_expired",
    );
    for (path, body) in [
        ("/api/v1/staff/sign-out", json!({})),
        ("/api/v1/staff/sign-in/verify", json!({"code": "123456"})),
        (
            "/api/v1/staff/enrolment/finish",
            json!({"password": "Staff-passw0rd", "code": "123456"}),
        ),
    ] {
        assert_error(
            &http.post(path, Some(&member), body).await,
            401,
            "staff_session_expired",
        );
    }
    // Even stored where a staff token would be looked up, a member's token is no staff token.
    assert_error(
        &http
            .get("/api/v1/staff/me", Some(&format!("tbs_{member}")))
            .await,
        401,
        "staff_session_expired",
    );

    // The staff member's live token on member routes.
    assert_error(
        &http.get("/api/v1/flow", Some(&staff_token)).await,
        401,
        "unauthorized",
    );
    assert_error(
        &http.get("/api/v1/home", Some(&staff_token)).await,
        401,
        "unauthorized",
    );
    assert_error(
        &http
            .post("/api/v1/flow/sign-out", Some(&staff_token), json!({}))
            .await,
        401,
        "unauthorized",
    );
    let without_prefix = staff_token.trim_start_matches("tbs_");
    assert_error(
        &http.get("/api/v1/flow", Some(without_prefix)).await,
        401,
        "flow_expired",
    );
    // Both still work where they belong.
    assert_eq!(
        http.get("/api/v1/staff/me", Some(&staff_token)).await.0,
        200
    );
    assert_eq!(http.get("/api/v1/flow", Some(&member)).await.0, 200);
    t.stop().await;
}

async fn only_admins_see_staff_accounts_and_nobody_sees_a_secret(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (admin, admin_secret) = enrolled(&t, &http, "alice", StaffRole::Admin).await;
    let (helpdesk, _) = enrolled(&t, &http, "bob", StaffRole::Helpdesk).await;
    add(&t, "carol", StaffRole::Helpdesk).await;

    let refused = http.get("/api/v1/staff/accounts", Some(&helpdesk)).await;
    assert_error(&refused, 403, "insufficient_role");
    assert_eq!(http.get("/api/v1/staff/me", Some(&helpdesk)).await.0, 200);

    let (status, body) = http.get("/api/v1/staff/accounts", Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    let rows: Vec<(String, String, String, u64)> = body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["login"].as_str().unwrap().to_owned(),
                a["role"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
                a["second_factors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("alice".into(), "admin".into(), "active".into(), 1),
            ("bob".into(), "helpdesk".into(), "active".into(), 1),
            ("carol".into(), "helpdesk".into(), "enrolling".into(), 0),
        ]
    );
    let text = body.to_string();
    assert!(
        !text.contains("argon2") && !text.contains(&admin_secret) && !text.contains("hash"),
        "{text}"
    );
    let me = http
        .get("/api/v1/staff/me", Some(&admin))
        .await
        .1
        .to_string();
    assert!(!me.contains("argon2") && !me.contains("tbs_"), "{me}");
    t.stop().await;
}

async fn a_staff_session_ends_when_idle_and_at_the_end_of_the_shift_as_configured(db: Database) {
    let mut settings = test_settings();
    settings.staff.idle_secs = 600;
    settings.staff.absolute_secs = 3_600;
    let t = start_on_with(db, settings).await;
    let http = Http::new(&t);
    let (token, secret) = enrolled(&t, &http, "alice", StaffRole::Helpdesk).await;
    // Used within the idle timeout, the session lives on...
    t.clock.advance(599);
    let (status, me) = http.get("/api/v1/staff/me", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(me["session"]["expires_at"], t.clock.now() + 600);
    // ...and left alone for the idle timeout, it ends.
    t.clock.advance(600);
    assert_error(
        &http.get("/api/v1/staff/me", Some(&token)).await,
        401,
        "staff_session_expired",
    );

    // However active, a session ends at the end of the shift.
    let token = signed_in(&http, "alice", &secret, t.clock.now()).await;
    let signed_in_at = t.clock.now();
    for _ in 0..6 {
        t.clock.advance(590);
        assert_eq!(http.get("/api/v1/staff/me", Some(&token)).await.0, 200);
    }
    let (_, me) = http.get("/api/v1/staff/me", Some(&token)).await;
    assert_eq!(me["session"]["expires_at"], signed_in_at + 3_600);
    t.clock.advance(3_600 - 6 * 590);
    assert_error(
        &http.get("/api/v1/staff/me", Some(&token)).await,
        401,
        "staff_session_expired",
    );

    // A half-done sign-in ends after its own short time.
    let (_, half) = http
        .post(
            "/api/v1/staff/sign-in",
            None,
            json!({"login": "alice", "password": "Staff-passw0rd"}),
        )
        .await;
    let half = half["token"].as_str().unwrap().to_owned();
    t.clock.advance(600);
    let late = http
        .post(
            "/api/v1/staff/sign-in/verify",
            Some(&half),
            json!({"code": code_at(&secret, t.clock.now())}),
        )
        .await;
    assert_error(&late, 401, "staff_session_expired");
    t.stop().await;
}

async fn disabled_reset_unknown_and_expired_accounts_and_codes(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (token, secret) = enrolled(&t, &http, "alice", StaffRole::Helpdesk).await;

    // Disabled: the session ends at once and the password no longer signs in.
    let ended = staff_admin::disable(t.store.as_ref(), "ALICE", t.clock.now())
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_error(
        &http.get("/api/v1/staff/me", Some(&token)).await,
        401,
        "staff_session_expired",
    );
    let refused = http
        .post(
            "/api/v1/staff/sign-in",
            None,
            json!({"login": "alice", "password": "Staff-passw0rd"}),
        )
        .await;
    assert_error(&refused, 401, "invalid_credentials");

    // Reset: a new code enrols again (the old app is gone), and the account is back.
    let (issued, _) = staff_admin::reset(t.store.as_ref(), &t.key, "alice", t.clock.now())
        .await
        .unwrap();
    let id = issued.account.id;
    assert_eq!(t.store.staff_factor_count(id).await.unwrap(), 0);
    let old_app = http
        .post(
            "/api/v1/staff/sign-in",
            None,
            json!({"login": "alice", "password": "Staff-passw0rd"}),
        )
        .await;
    assert_error(&old_app, 401, "invalid_credentials");
    let (status, started) = http
        .post(
            "/api/v1/staff/enrolment",
            None,
            json!({"login": "alice", "enrolment_code": issued.code.as_str()}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    assert_ne!(started["totp"]["secret"].as_str().unwrap(), secret);

    // Unknown logins and codes past their hour get the same answer as a wrong code.
    let code = add(&t, "bob", StaffRole::Helpdesk).await;
    let unknown = http
        .post(
            "/api/v1/staff/enrolment",
            None,
            json!({"login": "nobody", "enrolment_code": code}),
        )
        .await;
    assert_error(&unknown, 401, "invalid_enrolment_code");
    let garbage = http
        .post(
            "/api/v1/staff/enrolment",
            None,
            json!({"login": "bob", "enrolment_code": "not a code"}),
        )
        .await;
    assert_eq!(garbage, unknown);
    t.clock.advance(3_600);
    let expired = http
        .post(
            "/api/v1/staff/enrolment",
            None,
            json!({"login": "bob", "enrolment_code": code}),
        )
        .await;
    assert_eq!(expired, unknown);
    t.stop().await;
}

async fn staff_lockout_follows_the_members_rules_and_a_reset_lifts_the_hold(db: Database) {
    let t = start_on(db).await; // account: 3 free failures, then 10 s doubling, held after 5
    let http = Http::new(&t);
    let (_, secret) = enrolled(&t, &http, "alice", StaffRole::Helpdesk).await;
    let sign_in = |pw: &'static str| {
        http.post(
            "/api/v1/staff/sign-in",
            None,
            json!({"login": "alice", "password": pw}),
        )
    };
    for _ in 0..3 {
        assert_error(&sign_in("Wrong-passw0rd").await, 401, "invalid_credentials");
    }
    let delayed = sign_in("Staff-passw0rd").await;
    assert_error(&delayed, 429, "rate_limited");
    assert_eq!(delayed.1["retry_after_secs"], 10);
    t.clock.advance(10);
    assert_error(&sign_in("Wrong-passw0rd").await, 401, "invalid_credentials");
    t.clock.advance(20);
    // The fifth failure holds the login; the right password no longer helps.
    assert_error(&sign_in("Wrong-passw0rd").await, 401, "invalid_credentials");
    t.clock.advance(3_600);
    let held = sign_in("Staff-passw0rd").await;
    assert_error(&held, 423, "account_held");
    assert_eq!(
        held.1.get("step"),
        None,
        "a member's step means nothing to staff"
    );
    // Members' counts are untouched: staff failures are keyed on their own.
    assert_eq!(
        t.store
            .failures(ThrottleScope::UserId, "alice")
            .await
            .unwrap()
            .failures,
        0
    );
    let log = t.store.audit_log(None, 100).await.unwrap();
    assert!(log.iter().any(|e| e.action == "staff.locked"), "{log:?}");

    let (issued, _) = staff_admin::reset(t.store.as_ref(), &t.key, "alice", t.clock.now())
        .await
        .unwrap();
    assert_eq!(staff_failures(&t, "alice").await, 0);
    let (status, started) = http
        .post(
            "/api/v1/staff/enrolment",
            None,
            json!({"login": "alice", "enrolment_code": issued.code.as_str()}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let _ = secret;
    t.stop().await;
}

async fn a_burst_of_wrong_staff_passwords_checks_no_more_than_the_free_failures(db: Database) {
    let t = start_on(db).await; // account: 3 free failures
    let http = Http::new(&t);
    enrolled(&t, &http, "alice", StaffRole::Helpdesk).await;
    let wrong: Vec<String> = (0..BURST).map(|k| format!("Wrong-passw0rd-{k}")).collect();
    let mut requests: Vec<_> = wrong
        .iter()
        .map(|pw| {
            http.post(
                "/api/v1/staff/sign-in",
                None,
                json!({"login": "alice", "password": pw}),
            )
        })
        .collect();
    requests.push(http.post(
        "/api/v1/staff/sign-in",
        None,
        json!({"login": "alice", "password": "Staff-passw0rd"}),
    ));
    let mut tally = Tally::new();
    for (status, body) in futures::future::join_all(requests).await {
        let key = if status == 200 {
            "ok".to_owned()
        } else {
            body["code"].as_str().unwrap().to_owned()
        };
        *tally.entry(key).or_default() += 1;
    }
    // A refused attempt is not counted, so the login's count tells how many were checked.
    let checked_wrong = staff_failures(&t, "alice").await;
    eprintln!("staff sign-in burst: {tally:?}, wrong passwords checked: {checked_wrong}");
    assert!(
        checked_wrong <= 3,
        "{checked_wrong} wrong passwords checked"
    );
    assert!(tally.get("ok").copied().unwrap_or(0) <= 1, "{tally:?}");
    assert_eq!(tally.values().sum::<usize>(), BURST + 1);
    t.stop().await;
}

async fn a_burst_of_wrong_staff_codes_checks_no_more_than_the_free_failures(db: Database) {
    let t = start_on(db).await;
    let http = Http::new(&t);
    let (_, secret) = enrolled(&t, &http, "alice", StaffRole::Helpdesk).await;
    let (_, half) = http
        .post(
            "/api/v1/staff/sign-in",
            None,
            json!({"login": "alice", "password": "Staff-passw0rd"}),
        )
        .await;
    let token = half["token"].as_str().unwrap().to_owned();
    let right = code_at(&secret, t.clock.now());
    let wrong: Vec<String> = (0..BURST)
        .map(|k| format!("{:06}", k))
        .filter(|c| *c != right)
        .collect();
    let requests: Vec<_> = wrong
        .iter()
        .map(|c| {
            http.post(
                "/api/v1/staff/sign-in/verify",
                Some(&token),
                json!({"code": c}),
            )
        })
        .collect();
    let mut tally = Tally::new();
    for (_, body) in futures::future::join_all(requests).await {
        *tally
            .entry(body["code"].as_str().unwrap_or("ok").to_owned())
            .or_default() += 1;
    }
    let checked = tally.get("wrong_code").copied().unwrap_or(0);
    eprintln!("staff code burst: {tally:?}");
    assert!(checked <= 3, "{checked} wrong codes checked: {tally:?}");
    assert_eq!(tally.get("ok"), None, "{tally:?}");
    t.stop().await;
}

// Passkeys as the staff's second factor (issue 13: "an authenticator app or a passkey").

use tobira::api::{Method, Step};
use tobira::client::{ClientError, StaffToken};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::RequestChallengeResponse;

const STAFF_PW: &str = "Staff-passw0rd";

/// Adds `login` and enrols it with a passkey on `authr` (no authenticator app).
async fn enrolled_with_passkey(t: &TestServer, login: &str, authr: &mut SoftPasskey) -> StaffToken {
    let code = add(t, login, StaffRole::Helpdesk).await;
    let (token, _) = t.client.staff_enrol_start(login, &code).await.unwrap();
    let start = t.client.staff_enrol_passkey_start(&token).await.unwrap();
    let answer = authr
        .do_registration(t.client.origin(), start.options)
        .expect("the soft authenticator registers");
    let me = t
        .client
        .staff_enrol_passkey_finish(&token, STAFF_PW, answer, Some("Desk key"))
        .await
        .unwrap();
    assert_eq!(me.login, login);
    token
}

/// Password accepted: the half-done sign-in's token and the factors it offers.
async fn password_step(t: &TestServer, login: &str) -> (StaffToken, Vec<StaffFactorKind>) {
    let (token, r) = t.client.staff_sign_in(login, STAFF_PW).await.unwrap();
    (token, r.second_factors)
}

/// `options` as an authenticator holding only `credential_id` (base64url) would be asked.
fn aimed_at(options: RequestChallengeResponse, credential_id: &str) -> RequestChallengeResponse {
    let mut v = serde_json::to_value(options).unwrap();
    v["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": credential_id}]);
    serde_json::from_value(v).unwrap()
}

#[track_caller]
fn api_code(r: Result<impl std::fmt::Debug, ClientError>) -> tobira::api::ErrorCode {
    match r {
        Err(ClientError::Api(e)) => e.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

use tobira::api::staff::StaffFactorKind;

async fn a_staff_member_enrols_with_a_passkey_and_signs_in_with_it(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let mut authr = SoftPasskey::new(true);
    let token = enrolled_with_passkey(&t, "alice", &mut authr).await;
    assert_eq!(c.staff_me(&token).await.unwrap().login, "alice");
    let id = t.store.staff_by_login("alice").await.unwrap().unwrap().id;
    let keys = t.store.staff_passkeys(id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "Desk key");
    assert!(t.store.staff_totp_credentials(id).await.unwrap().is_empty());
    assert_eq!(t.store.staff_factor_count(id).await.unwrap(), 1);
    // The enrolment code is spent.
    c.staff_sign_out(&token).await.unwrap();

    let (token, factors) = password_step(&t, "alice").await;
    assert_eq!(factors, [StaffFactorKind::Passkey]);
    // No app: any code is wrong, and the half-done session is not signed in.
    assert_eq!(
        api_code(c.staff_verify(&token, "123456").await),
        tobira::api::ErrorCode::WrongCode
    );
    assert_eq!(
        api_code(c.staff_me(&token).await),
        tobira::api::ErrorCode::StaffSessionExpired
    );
    let start = c.staff_passkey_start(&token).await.unwrap();
    let answer = authr.do_authentication(c.origin(), start.options).unwrap();
    let me = c
        .staff_passkey_finish(&token, answer.clone())
        .await
        .unwrap();
    assert_eq!(me.login, "alice");
    assert_eq!(c.staff_me(&token).await.unwrap().login, "alice");
    assert_eq!(staff_failures(&t, "alice").await, 0);
    // The answer is spent with its ceremony.
    assert_eq!(
        api_code(c.staff_passkey_finish(&token, answer).await),
        tobira::api::ErrorCode::OutOfOrder
    );
    let log = t.store.audit_log(None, 100).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "staff.sign_in" && e.detail.contains("passkey \"Desk key\"")),
        "{log:?}"
    );

    // A wrong credential (the answer to another sign-in's challenge) is refused and counted.
    let (first, _) = password_step(&t, "alice").await;
    let (second, _) = password_step(&t, "alice").await;
    let one = c.staff_passkey_start(&first).await.unwrap();
    c.staff_passkey_start(&second).await.unwrap();
    let answer = authr.do_authentication(c.origin(), one.options).unwrap();
    assert_eq!(
        api_code(c.staff_passkey_finish(&second, answer).await),
        tobira::api::ErrorCode::PasskeyRejected
    );
    assert_eq!(staff_failures(&t, "alice").await, 1);
    // Without a started ceremony there is nothing to finish.
    let again = authr
        .do_authentication(
            c.origin(),
            c.staff_passkey_start(&first).await.unwrap().options,
        )
        .unwrap();
    c.staff_passkey_finish(&first, again.clone()).await.unwrap();
    assert_eq!(staff_failures(&t, "alice").await, 0);

    // An app-only account has no passkey to start with.
    let http = Http::new(&t);
    enrolled(&t, &http, "bob", StaffRole::Helpdesk).await;
    let (token, factors) = password_step(&t, "bob").await;
    assert_eq!(factors, [StaffFactorKind::AuthenticatorApp]);
    assert_eq!(
        api_code(c.staff_passkey_start(&token).await),
        tobira::api::ErrorCode::NoPasskey
    );
    t.stop().await;
}

async fn a_members_passkey_never_signs_in_staff_and_a_staff_passkey_never_signs_in_a_member(
    db: Database,
) {
    let t = start_on(db).await;
    let c = &t.client;
    // The demo member with a passkey on `member_key`.
    let flow = t.demo_at_credentials().await;
    c.choose_method(&flow, Method::Passkey).await.unwrap();
    c.set_credentials(&flow, "N3w-passw0rd!", None)
        .await
        .unwrap();
    let (flow, _) = c.sign_in(DEMO_ID, "N3w-passw0rd!", Lang::En).await.unwrap();
    let mut member_key = SoftPasskey::new(true);
    let start = c.start_passkey_registration(&flow).await.unwrap();
    let reg = member_key
        .do_registration(c.origin(), start.options)
        .unwrap();
    let v = c
        .finish_passkey_registration(&flow, reg, "Phone")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    let member = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    let member_cred = t.store.passkeys(member.id).await.unwrap()[0]
        .credential_id
        .clone();
    // Staff alice with a passkey on `staff_key`.
    let mut staff_key = SoftPasskey::new(true);
    enrolled_with_passkey(&t, "alice", &mut staff_key).await;
    let alice = t.store.staff_by_login("alice").await.unwrap().unwrap();
    let staff_cred = t.store.staff_passkeys(alice.id).await.unwrap()[0]
        .credential_id
        .clone();

    // The member's authenticator signs the staff challenge with the member's credential.
    let (token, _) = password_step(&t, "alice").await;
    let options = c.staff_passkey_start(&token).await.unwrap().options;
    let forged = member_key
        .do_authentication(c.origin(), aimed_at(options, &member_cred))
        .expect("the member's key answers for its own credential");
    assert_eq!(
        api_code(c.staff_passkey_finish(&token, forged).await),
        tobira::api::ErrorCode::PasskeyRejected
    );
    assert_eq!(
        api_code(c.staff_me(&token).await),
        tobira::api::ErrorCode::StaffSessionExpired
    );
    assert_eq!(staff_failures(&t, "alice").await, 1);

    // And the staff key signs the member's challenge with the staff credential.
    c.sign_out(&flow).await.unwrap();
    let (flow, v) = c.sign_in(DEMO_ID, "N3w-passw0rd!", Lang::En).await.unwrap();
    assert_eq!(v.step, Step::SecondFactor);
    let options = c.start_passkey_authentication(&flow).await.unwrap().options;
    let forged = staff_key
        .do_authentication(c.origin(), aimed_at(options, &staff_cred))
        .expect("the staff key answers for its own credential");
    assert_eq!(
        api_code(c.finish_passkey_authentication(&flow, forged).await),
        tobira::api::ErrorCode::PasskeyRejected
    );
    assert_eq!(
        api_code(c.home(&flow).await),
        tobira::api::ErrorCode::OutOfOrder
    );
    t.stop().await;
}

async fn a_burst_of_wrong_staff_passkey_answers_checks_no_more_than_the_free_failures(
    db: Database,
) {
    let t = start_on(db).await; // account: 3 free failures
    let c = &t.client;
    let mut authr = SoftPasskey::new(true);
    enrolled_with_passkey(&t, "alice", &mut authr).await;
    // Sessions waiting for their passkey, each with a ceremony open; each is sent the answer
    // to the next one's challenge.
    const SESSIONS: usize = 16;
    let mut tokens = Vec::new();
    let mut answers = Vec::new();
    for _ in 0..SESSIONS {
        let (token, _) = password_step(&t, "alice").await;
        let options = c.staff_passkey_start(&token).await.unwrap().options;
        answers.push(authr.do_authentication(c.origin(), options).unwrap());
        tokens.push(token);
    }
    answers.rotate_left(1);
    let requests: Vec<_> = tokens
        .iter()
        .zip(answers)
        .map(|(token, answer)| c.staff_passkey_finish(token, answer))
        .collect();
    let mut tally = Tally::new();
    for r in futures::future::join_all(requests).await {
        let key = match r {
            Ok(_) => "ok".to_owned(),
            Err(ClientError::Api(e)) => format!("{:?}", e.code),
            Err(e) => panic!("{e}"),
        };
        *tally.entry(key).or_default() += 1;
    }
    eprintln!("staff passkey burst: {tally:?}");
    let checked = tally.get("PasskeyRejected").copied().unwrap_or(0);
    assert!(checked <= 3, "{checked} wrong answers checked: {tally:?}");
    assert_eq!(tally.get("ok"), None, "{tally:?}");
    assert_eq!(tally.values().sum::<usize>(), SESSIONS);
    assert!(staff_failures(&t, "alice").await <= 3);
    t.stop().await;
}

async fn a_staff_reset_removes_the_passkeys_too(db: Database) {
    let t = start_on(db).await;
    let mut authr = SoftPasskey::new(true);
    enrolled_with_passkey(&t, "alice", &mut authr).await;
    let id = t.store.staff_by_login("alice").await.unwrap().unwrap().id;
    assert_eq!(t.store.staff_passkeys(id).await.unwrap().len(), 1);
    let (issued, ended) = staff_admin::reset(t.store.as_ref(), &t.key, "alice", t.clock.now())
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(t.store.staff_passkeys(id).await.unwrap().is_empty());
    assert_eq!(t.store.staff_factor_count(id).await.unwrap(), 0);
    // The old passkey no longer signs in: the password is gone, and a new enrolment may choose
    // a passkey again (the same authenticator included).
    assert_eq!(
        api_code(t.client.staff_sign_in("alice", STAFF_PW).await),
        tobira::api::ErrorCode::InvalidCredentials
    );
    let (token, _) = t
        .client
        .staff_enrol_start("alice", &issued.code)
        .await
        .unwrap();
    let start = t.client.staff_enrol_passkey_start(&token).await.unwrap();
    let answer = authr
        .do_registration(t.client.origin(), start.options)
        .unwrap();
    t.client
        .staff_enrol_passkey_finish(&token, STAFF_PW, answer, None)
        .await
        .unwrap();
    assert_eq!(t.store.staff_passkeys(id).await.unwrap()[0].name, "passkey");
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test]
    a_staff_member_enrols_with_the_code_then_signs_in_with_password_and_app_code,
    #[tokio::test]
    member_tokens_never_open_staff_routes_and_staff_tokens_never_open_member_routes,
    #[tokio::test]
    only_admins_see_staff_accounts_and_nobody_sees_a_secret,
    #[tokio::test]
    a_staff_session_ends_when_idle_and_at_the_end_of_the_shift_as_configured,
    #[tokio::test]
    disabled_reset_unknown_and_expired_accounts_and_codes,
    #[tokio::test]
    staff_lockout_follows_the_members_rules_and_a_reset_lifts_the_hold,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_staff_passwords_checks_no_more_than_the_free_failures,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_staff_codes_checks_no_more_than_the_free_failures,
    #[tokio::test]
    a_staff_member_enrols_with_a_passkey_and_signs_in_with_it,
    #[tokio::test]
    a_members_passkey_never_signs_in_staff_and_a_staff_passkey_never_signs_in_a_member,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_staff_passkey_answers_checks_no_more_than_the_free_failures,
    #[tokio::test]
    a_staff_reset_removes_the_passkeys_too,
}
