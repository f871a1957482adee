//! The helpdesk console's read side over HTTP on a real server: the member's case (step,
//! situation, lockout, factors, mail, audit, the caller's verification, the version), the
//! live events, the search by each kind of query, and the audit view's filters. Staff accounts
//! are added as `tobira admin staff add` adds them and enrolled through the staff API; members
//! move through the real member API.
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`); the second-server
//! test opens the SQLite file and runs on SQLite only.

mod common;

use std::time::Duration;

use common::staff::enrol_staff;
use common::*;
use serde_json::Value;
use tobira::api::helpdesk::{AuditPage, MemberCase, MemberSearchPage};
use tobira::api::{Lang, Method, Step};
use tobira::domain::helpdesk::CallerProof;
use tobira::domain::{StaffRole, TotpParams, TotpSecret};
use tobira::server::Clock;
use tobira::server::secrets::hash_token;
use tobira::store::NewCallerVerification;

const PW: &str = "Brand-n3w-pass";
/// The longest a test waits for a server-sent event (a change shows within about a second).
const EVENT_WAIT: Duration = Duration::from_secs(20);

/// A server whose staff sessions outlive the days these tests move the clock over (a real
/// shift is 8 hours).
async fn start_long_shift(db: Database) -> TestServer {
    let mut settings = test_settings();
    settings.staff.absolute_secs = 30 * 86_400;
    settings.staff.idle_secs = 30 * 86_400;
    start_on_with(db, settings).await
}

/// A GET of a staff route: status and JSON body.
async fn get(t: &TestServer, token: Option<&str>, path_and_query: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{}{path_and_query}", t.url));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn case(t: &TestServer, staff: &str, user_id: &str) -> (MemberCase, Value) {
    let (status, body) = get(t, Some(staff), &format!("/api/v1/staff/members/{user_id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_no_secret(&body, &[staff]);
    (
        serde_json::from_value(body.clone()).expect("a MemberCase"),
        body,
    )
}

async fn search(t: &TestServer, staff: &str, q: &str, page: u32) -> MemberSearchPage {
    let url = format!(
        "/api/v1/staff/members?q={}&page={page}",
        url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    let (status, body) = get(t, Some(staff), &url).await;
    assert_eq!(status, 200, "{q}: {body}");
    assert_no_secret(&body, &[staff]);
    serde_json::from_value(body).expect("a MemberSearchPage")
}

async fn audit(t: &TestServer, staff: &str, query: &str) -> AuditPage {
    let (status, body) = get(t, Some(staff), &format!("/api/v1/staff/audit?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    assert_no_secret(&body, &[staff]);
    serde_json::from_value(body).expect("an AuditPage")
}

/// No key names a secret, and no value carries one: no password, hash, TOTP secret or token
/// (the `extra` values are the tokens and secrets this test knows).
fn assert_no_secret(v: &Value, extra: &[&str]) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let k = k.to_ascii_lowercase();
                for word in ["password", "hash", "secret", "token"] {
                    assert!(!k.contains(word), "key {k:?} names a secret");
                }
                assert_no_secret(v, extra);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| assert_no_secret(i, extra)),
        Value::String(s) => {
            for bad in [
                "$argon2",
                "tbs_",
                DEMO_INITIAL,
                PW,
                common::staff::STAFF_PASSWORD,
            ]
            .iter()
            .chain(extra)
            {
                assert!(!s.contains(bad), "value {s:?} carries a secret");
            }
        }
        _ => {}
    }
}

/// The member's authenticator app, from the enrollment's key.
fn code_for(e: &tobira::api::TotpEnrollment, now: i64) -> String {
    let secret = TotpSecret::from_base32(&e.secret).expect("key");
    let params = TotpParams {
        algorithm: e.algorithm,
        digits: e.digits,
        period_secs: e.period_secs,
    };
    params.code_at(&secret, now as u64).expect("code")
}

async fn the_case_shows_where_the_member_is_and_what_stops_them(db: Database) {
    let t = start_long_shift(db).await;
    let staff = enrol_staff(&t, "hd.sato", StaffRole::Helpdesk).await;

    // Imported, never signed in: any case of the user ID finds the member.
    let (c0, _) = case(&t, &staff, "DEMO0001").await;
    assert_eq!(c0.user_id, DEMO_ID);
    assert_eq!(c0.name, "山田 太郎");
    assert_eq!(c0.card, "12-3456789");
    assert_eq!(c0.masked_email, "d***@example.com");
    assert!(!c0.email_verified);
    assert_eq!(c0.pending_email, None);
    assert_eq!(
        c0.situation,
        tobira::api::helpdesk::CaseSituation::NotStarted
    );
    assert_eq!(c0.lockout.failures, 0);
    assert!(c0.factors.is_empty() && c0.mail.is_empty());
    assert_eq!(c0.verification, None);
    assert_eq!(c0.now, T0);
    let (status, body) = get(&t, Some(&staff), "/api/v1/staff/members/nobody99").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));

    // Three wrong passwords: the sign-ins are delayed; the case says until when and from where.
    for _ in 0..3 {
        assert!(
            t.client
                .sign_in(DEMO_ID, "Wrong-passw0rd", Lang::Ja)
                .await
                .is_err()
        );
    }
    let (c1, _) = case(&t, &staff, DEMO_ID).await;
    assert_eq!(c1.situation, tobira::api::helpdesk::CaseSituation::Locked);
    assert_eq!(c1.lockout.failures, 3);
    assert_eq!(c1.lockout.delayed_until, Some(T0 + 10));
    assert!(!c1.lockout.held);
    assert_eq!(c1.lockout.last_failure_at, Some(T0));
    assert_eq!(c1.lockout.last_failure_from.as_deref(), Some("127.0.0.1"));
    assert_ne!(
        c1.version, c0.version,
        "a delay changes what an unlock does"
    );

    // Two more: held (the test policy holds at 5).
    t.clock.advance(11);
    assert!(
        t.client
            .sign_in(DEMO_ID, "Wrong-passw0rd", Lang::Ja)
            .await
            .is_err()
    );
    t.clock.advance(21);
    assert!(
        t.client
            .sign_in(DEMO_ID, "Wrong-passw0rd", Lang::Ja)
            .await
            .is_err()
    );
    let (c2, _) = case(&t, &staff, DEMO_ID).await;
    assert!(c2.lockout.held, "{:?}", c2.lockout);
    assert_eq!(c2.lockout.failures, 5);
    assert_eq!(c2.lockout.last_failure_at, Some(T0 + 32));
    assert_eq!(c2.situation, tobira::api::helpdesk::CaseSituation::Locked);

    // The hold lifted (as the unlock action will), the member goes on to the verification mail.
    let m = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    let lift = tobira::store::AuditEntry::new(
        t.clock.now(),
        tobira::domain::Actor::System,
        tobira::domain::AuditAction::HoldLifted,
        Some(m.id),
        "test",
    );
    t.store.lift_hold(m.id, DEMO_ID, &lift).await.unwrap();
    let token = t.demo_at_terms().await;
    t.client.decide_terms(&token, true).await.unwrap();
    let at_mail = t.clock.now();
    t.client.submit_email(&token, None).await.unwrap();
    t.clock.advance(2 * 86_400);
    let (c3, _) = case(&t, &staff, DEMO_ID).await;
    assert_eq!(c3.step, Step::AwaitingVerification);
    assert_eq!(c3.step_since, at_mail);
    assert_eq!(c3.lockout.failures, 0, "{:?}", c3.lockout);
    assert_eq!(
        c3.situation,
        tobira::api::helpdesk::CaseSituation::AwaitingLink {
            for_secs: 2 * 86_400,
            delivered: 1,
            pending: 0,
            failed: 0
        }
    );
    assert_eq!(c3.mail.len(), 1);
    let mail = &c3.mail[0];
    assert_eq!(
        (mail.kind.as_str(), mail.to.as_str(), mail.status.as_str()),
        ("verification", "d***@example.com", "sent")
    );
    assert_eq!(
        (mail.attempts, mail.created_at, mail.sent_at),
        (1, at_mail, Some(at_mail))
    );
    let actions: Vec<&str> = c3.audit.iter().map(|a| a.action.as_str()).collect();
    for expected in [
        "email.submitted",
        "terms.accepted",
        "sign_in",
        "account.hold_lifted",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert!(
        c3.audit.windows(2).all(|w| w[0].at >= w[1].at),
        "newest first"
    );
    assert!(
        c3.audit
            .iter()
            .all(|a| a.user_id.as_deref() == Some(DEMO_ID))
    );
    assert!(
        c3.audit
            .iter()
            .any(|a| a.actor == format!("member:{}", m.id))
    );

    // Two days on, the flow and the link have expired: the member signs in again and asks
    // for another mail, which the tally counts.
    let (token, _) = t
        .client
        .sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    let v = t.client.birth_date(&token, DEMO_BIRTH).await.unwrap();
    assert_eq!(v.step, Step::AwaitingVerification);
    t.client.resend_email(&token).await.unwrap();
    let (resent, _) = case(&t, &staff, DEMO_ID).await;
    assert!(
        matches!(
            resent.situation,
            tobira::api::helpdesk::CaseSituation::AwaitingLink { delivered: 2, .. }
        ),
        "{:?}",
        resent.situation
    );
    assert_eq!(resent.mail.len(), 2);
    assert_eq!(resent.step_since, at_mail, "a resend is no step");

    // The link opened, the method chosen, the password set, an app enrolled: done, one factor.
    let (status, _) = t.client.open_link(&t.latest_link()).await.unwrap();
    assert_eq!(status, 200);
    t.client
        .choose_method(&token, Method::TotpApp)
        .await
        .unwrap();
    t.client.set_credentials(&token, PW, None).await.unwrap();
    let (token, v) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::MethodSetup);
    let (c4, _) = case(&t, &staff, DEMO_ID).await;
    assert!(c4.email_verified);
    assert_eq!(c4.method, Some(Method::TotpApp));
    assert!(matches!(
        c4.situation,
        tobira::api::helpdesk::CaseSituation::SettingUp { .. }
    ));
    let e = t.client.start_totp_enrollment(&token).await.unwrap();
    t.clock.advance(1);
    let enrolled_at = t.clock.now();
    let v = t
        .client
        .confirm_totp_enrollment(&token, &code_for(&e, enrolled_at), "iPhone")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    let (c5, body) = case(&t, &staff, DEMO_ID).await;
    assert_eq!(c5.step, Step::Home);
    assert_eq!(
        c5.situation,
        tobira::api::helpdesk::CaseSituation::Done { factors: 1 }
    );
    assert_eq!(c5.factors.len(), 1);
    let f = &c5.factors[0];
    assert_eq!(
        (f.method, f.name.as_str(), f.created_at),
        (Method::TotpApp, "iPhone", enrolled_at)
    );
    assert_ne!(c5.version, c4.version);
    assert_no_secret(&body, &[&e.secret, token.secret()]);
    t.stop().await;
}

async fn the_caller_verification_of_this_session_shows_while_it_covers_changes(db: Database) {
    let t = start_on(db).await;
    let staff = enrol_staff(&t, "hd.sato", StaffRole::Helpdesk).await;
    let other = enrol_staff(&t, "hd.suzuki", StaffRole::Helpdesk).await;
    let m = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    let sato = t.store.staff_by_login("hd.sato").await.unwrap().unwrap();
    let (before, _) = case(&t, &staff, DEMO_ID).await;

    let id = t
        .store
        .add_caller_verification(&NewCallerVerification {
            staff_id: sato.id,
            staff_session_hash: hash_token(&staff),
            member_id: m.id,
            proof: CallerProof::AppCode,
            at: t.clock.now(),
        })
        .await
        .unwrap();
    t.clock.advance(60);
    let (c, _) = case(&t, &staff, DEMO_ID).await;
    let v = c.verification.expect("this session's verification");
    assert_eq!((v.id, v.proof, v.at), (id, CallerProof::AppCode, T0));
    assert_eq!(v.remaining_secs, 15 * 60 - 60);
    assert!(!v.low_risk_only);
    assert_ne!(
        c.version, before.version,
        "a verification changes what may be done"
    );

    // Another staff session (another desk) does not inherit it, nor does another member.
    let (o, _) = case(&t, &other, DEMO_ID).await;
    assert_eq!(o.verification, None);
    let (d2, _) = case(&t, &staff, "demo0002").await;
    assert_eq!(d2.verification, None);

    // Knowledge alone unlocks only the low-risk actions; after 15 minutes nothing is shown.
    t.store
        .add_caller_verification(&NewCallerVerification {
            staff_id: sato.id,
            staff_session_hash: hash_token(&staff),
            member_id: m.id,
            proof: CallerProof::Knowledge,
            at: t.clock.now(),
        })
        .await
        .unwrap();
    let (k, _) = case(&t, &staff, DEMO_ID).await;
    let kv = k.verification.expect("the newest proof");
    assert_eq!(kv.proof, CallerProof::Knowledge);
    assert!(kv.low_risk_only);
    t.clock.advance(15 * 60);
    let (gone, _) = case(&t, &staff, DEMO_ID).await;
    assert_eq!(gone.verification, None);
    t.stop().await;
}

/// Reads server-sent events off a response, chunk by chunk.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    /// The data of the next `case` event; `None` when the stream ended.
    async fn next_case(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = Some(v.trim().to_owned());
                    }
                }
                if event.as_deref() == Some("case") {
                    return data;
                }
                continue;
            }
            let chunk = tokio::time::timeout(EVENT_WAIT, self.resp.chunk())
                .await
                .expect("an event within the wait")
                .expect("the stream reads")?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

async fn the_events_stream_sends_the_new_version_when_the_member_moves_and_ends_with_the_session(
    db: Database,
) {
    let t = start_on(db).await;
    let staff = enrol_staff(&t, "hd.sato", StaffRole::Helpdesk).await;
    let token = t.demo_at_terms().await;
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/staff/members/{DEMO_ID}/events", t.url))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut events = Events {
        resp,
        buf: String::new(),
    };
    let first = events.next_case().await.expect("the version at the start");
    let (now, _) = case(&t, &staff, DEMO_ID).await;
    assert_eq!(first, now.version);

    // The member accepts the terms on their own terminal: the new version arrives.
    let v = t.client.decide_terms(&token, true).await.unwrap();
    assert_eq!(v.step, Step::Email);
    let second = events
        .next_case()
        .await
        .expect("the version after the step");
    assert_ne!(second, first);
    let (moved, _) = case(&t, &staff, DEMO_ID).await;
    assert_eq!(moved.step, Step::Email);
    assert_eq!(second, moved.version);

    // The staff member signs out: the stream ends.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/staff/sign-out", t.url))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        events.next_case().await,
        None,
        "the stream ends with the session"
    );
    t.stop().await;
}

#[tokio::test]
async fn a_step_served_by_another_server_process_reaches_the_stream() {
    use std::sync::Arc;
    use tobira::mail::Mailer;
    use tobira::server::{self, AppState};
    use tobira::store::sqlite::SqliteStore;

    let t = start().await;
    // A second server on the same database, as a second `tobira serve` behind a balancer:
    // its own pool and process state, nothing shared with the first but the database.
    let store = SqliteStore::open(&t.db_path.to_string_lossy())
        .await
        .expect("open the same database");
    let state = AppState::new(
        Arc::new(store),
        t.mailer.clone() as Arc<dyn Mailer>,
        t.clock.clone(),
        t.settings.clone(),
        t.key.clone(),
    );
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let other_url = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let other = server::spawn_on(state, listener).expect("serve");
    let member_side = tobira::client::Client::new(&other_url).unwrap();

    let staff = enrol_staff(&t, "hd.sato", StaffRole::Helpdesk).await;
    let (token, _) = member_side
        .sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    member_side.birth_date(&token, DEMO_BIRTH).await.unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/staff/members/{DEMO_ID}/events", t.url))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut events = Events {
        resp,
        buf: String::new(),
    };
    let first = events.next_case().await.expect("the version at the start");
    let v = member_side.decide_terms(&token, true).await.unwrap();
    assert_eq!(v.step, Step::Email);
    let second = events
        .next_case()
        .await
        .expect("the version after the step");
    assert_ne!(second, first);
    let (moved, _) = case(&t, &staff, DEMO_ID).await;
    assert_eq!((moved.step, second), (Step::Email, moved.version));
    drop(events);
    other.shutdown().await;
    t.stop().await;
}

async fn search_finds_members_by_user_id_name_card_and_address(db: Database) {
    let t = start_on(db).await;
    let staff = enrol_staff(&t, "hd.sato", StaffRole::Helpdesk).await;

    let by_id = search(&t, &staff, "DEMO000", 0).await;
    assert_eq!(by_id.read_as, "user_id");
    let ids: Vec<&str> = by_id.hits.iter().map(|h| h.user_id.as_str()).collect();
    assert_eq!(ids.len(), 9, "{ids:?}");
    assert!(ids.iter().all(|id| id.starts_with("demo000")));
    let demo = by_id.hits.iter().find(|h| h.user_id == DEMO_ID).unwrap();
    assert_eq!(demo.card, "12-3456789");
    assert_eq!(demo.masked_email, "d***@example.com");
    assert_eq!(demo.step, Step::Terms);
    // Imported members rest at the terms: the hit says whether they ever signed in, as the
    // case does ("has not signed in yet"), and a sign-in alone (no step further) changes that.
    assert!(!demo.started);
    t.client
        .sign_in(DEMO_ID, DEMO_INITIAL, tobira::api::Lang::Ja)
        .await
        .unwrap();
    let again = search(&t, &staff, DEMO_ID, 0).await;
    assert_eq!(again.hits[0].step, Step::Terms);
    assert!(again.hits[0].started);

    let by_name = search(&t, &staff, "田 太郎", 0).await;
    assert_eq!(by_name.read_as, "name");
    let names: Vec<&str> = by_name.hits.iter().map(|h| h.name.as_str()).collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| *n == "山田 太郎"),
        "{names:?}"
    );
    let short = search(&t, &staff, "翔", 0).await;
    assert_eq!(short.read_as, "name");
    assert!(short.hits.iter().any(|h| h.user_id == "demo0004"));

    for card in ["12-3456789", "12 3456789", "123456789"] {
        let by_card = search(&t, &staff, card, 0).await;
        assert_eq!(by_card.read_as, "card", "{card}");
        assert_eq!(by_card.hits[0].user_id, DEMO_ID, "{card}");
    }

    let by_mail = search(&t, &staff, "Demo0002@Example", 0).await;
    assert_eq!(by_mail.read_as, "email");
    assert_eq!(by_mail.hits.len(), 1);
    assert_eq!(by_mail.hits[0].user_id, "demo0002");

    let none = search(&t, &staff, "zzzqqq", 0).await;
    assert!(none.hits.is_empty() && !none.more);
    assert_eq!(none.read_as, "name");
    let no_card = search(&t, &staff, "98-7654321", 0).await;
    assert!(no_card.hits.is_empty());
    assert_eq!(no_card.read_as, "card");

    // Pages: 30 demo members, 20 a page, none twice.
    let p0 = search(&t, &staff, "demo", 0).await;
    let p1 = search(&t, &staff, "demo", 1).await;
    assert_eq!((p0.hits.len(), p0.more, p0.page), (20, true, 0));
    assert_eq!((p1.hits.len(), p1.page), (10, 1));
    let mut all: Vec<&str> = p0
        .hits
        .iter()
        .chain(&p1.hits)
        .map(|h| h.user_id.as_str())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 30);
    let p9 = search(&t, &staff, "demo", 9).await;
    assert!(p9.hits.is_empty() && !p9.more);

    for (query, field) in [
        ("q=%20%20", "q"),
        ("q=demo&page=x", "page"),
        ("q=demo&page=999", "page"),
    ] {
        let (status, body) = get(&t, Some(&staff), &format!("/api/v1/staff/members?{query}")).await;
        assert_eq!(status, 422, "{query}");
        assert_eq!(body["code"], "bad_request", "{query}");
        assert_eq!(body["field"], field, "{query}");
    }
    t.stop().await;
}

async fn the_audit_view_filters_by_member_staff_action_and_time(db: Database) {
    let t = start_long_shift(db).await;
    let staff = enrol_staff(&t, "hd.sato", StaffRole::Helpdesk).await;
    t.demo_at_terms().await;
    t.clock.advance(86_400);
    let day2 = t.clock.now();
    t.member_at_terms("demo0002", "12345881519700313", "1970-03-13")
        .await;

    let everything = audit(&t, &staff, "").await;
    assert!(everything.rows.len() >= 5, "{:?}", everything.rows);
    assert!(everything.rows.windows(2).all(|w| w[0].at >= w[1].at));

    let of_demo = audit(&t, &staff, "member=DEMO0001").await;
    assert!(!of_demo.rows.is_empty());
    assert!(
        of_demo
            .rows
            .iter()
            .all(|r| r.user_id.as_deref() == Some(DEMO_ID))
    );

    let sign_ins = audit(&t, &staff, "action=sign_in").await;
    let who: Vec<Option<&str>> = sign_ins.rows.iter().map(|r| r.user_id.as_deref()).collect();
    assert_eq!(who, vec![Some("demo0002"), Some(DEMO_ID)]);

    let by_staff = audit(&t, &staff, "staff=HD.SATO").await;
    assert!(!by_staff.rows.is_empty());
    assert!(
        by_staff.rows.iter().all(|r| r.actor == "staff:hd.sato"),
        "{:?}",
        by_staff.rows
    );
    assert!(by_staff.rows.iter().any(|r| r.action == "staff.enrolled"));

    let later = audit(&t, &staff, &format!("since={day2}&action=sign_in")).await;
    assert_eq!(later.rows.len(), 1);
    assert_eq!(later.rows[0].user_id.as_deref(), Some("demo0002"));
    let first_day = audit(&t, &staff, "until=2026-11-25&action=sign_in").await;
    assert_eq!(first_day.rows.len(), 1);
    assert_eq!(first_day.rows[0].user_id.as_deref(), Some(DEMO_ID));
    let second_day = audit(
        &t,
        &staff,
        "since=2026-11-26&until=2026-11-26&action=sign_in",
    )
    .await;
    assert_eq!(second_day.rows.len(), 1);
    assert_eq!(second_day.rows[0].user_id.as_deref(), Some("demo0002"));
    let none = audit(&t, &staff, "since=2026-11-27").await;
    assert!(none.rows.is_empty() && !none.more);

    for (query, status, code) in [
        ("action=no.such", 422, "bad_request"),
        ("since=yesterday", 422, "bad_request"),
        ("page=-1", 422, "bad_request"),
        ("member=nobody99", 404, "not_found"),
        ("staff=nobody", 404, "not_found"),
    ] {
        let (s, body) = get(&t, Some(&staff), &format!("/api/v1/staff/audit?{query}")).await;
        assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{query}");
    }
    t.stop().await;
}

async fn member_tokens_and_no_token_are_refused_on_every_helpdesk_route(db: Database) {
    let t = start_on(db).await;
    let member = t.demo_at_terms().await;
    let routes = [
        "/api/v1/staff/members?q=demo",
        "/api/v1/staff/members/demo0001",
        "/api/v1/staff/members/demo0001/events",
        "/api/v1/staff/audit",
    ];
    for path in routes {
        for token in [None, Some(member.secret()), Some("tbs_made-up")] {
            let (status, body) = get(&t, token, path).await;
            assert_eq!(status, 401, "{path} {token:?}");
            assert_eq!(body["code"], "staff_session_expired", "{path}");
            assert!(body.get("step").is_none(), "{path}: {body}");
        }
    }
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test]
    the_case_shows_where_the_member_is_and_what_stops_them,
    #[tokio::test]
    the_caller_verification_of_this_session_shows_while_it_covers_changes,
    #[tokio::test]
    the_events_stream_sends_the_new_version_when_the_member_moves_and_ends_with_the_session,
    #[tokio::test]
    search_finds_members_by_user_id_name_card_and_address,
    #[tokio::test]
    the_audit_view_filters_by_member_staff_action_and_time,
    #[tokio::test]
    member_tokens_and_no_token_are_refused_on_every_helpdesk_route,
}
