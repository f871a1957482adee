//! Several processes, one truth: two real `tobira serve` processes on one database, one secret
//! key and one SMTP sink. Nothing that matters lives in a process's memory, so a member can
//! move between them request by request, and every guard (replay, lockout, mail claim, passkey
//! ceremony) holds across them.
//!
//! Each test is written once over [`Database`] and run on SQLite and on PostgreSQL (the test
//! server of `common/postgres.rs`).

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use common::postgres as pg_harness;

use cluster::{Cluster, Database, Options, Serve};
use common::{DEMO_BIRTH, DEMO_ID, DEMO_INITIAL};
use tobira::api::{ErrorCode, Lang, Method, Step};
use tobira::client::{ClientError, FlowToken};
use tobira::domain::{TotpParams, TotpSecret};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const PW: &str = "N3w-passw0rd!";

/// An authenticator app, from the otpauth URI.
struct Phone {
    secret: TotpSecret,
    params: TotpParams,
}

impl Phone {
    fn scan(uri: &str) -> Self {
        let url = url::Url::parse(uri).unwrap();
        let secret = url
            .query_pairs()
            .find(|(k, _)| k == "secret")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        Self {
            secret: TotpSecret::from_base32(&secret).unwrap(),
            params: TotpParams::default(),
        }
    }

    /// The code `offset` seconds from now (the processes use the system clock).
    fn code(&self, offset: i64) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp() + offset;
        self.params.code_at(&self.secret, now as u64).unwrap()
    }
}

/// The member's first login, alternating between `a` and `b` at every request, up to the
/// method set-up sign-in (`method` chosen, own password `PW`). Returns the new flow (on `b`).
async fn first_login(
    c: &Cluster,
    a: &Serve,
    b: &Serve,
    (id, initial, birth, email): (&str, &str, &str, &str),
    method: Method,
) -> FlowToken {
    let (token, v) = a.client.sign_in(id, initial, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::BirthDate);
    let v = b.client.birth_date(&token, birth).await.unwrap();
    assert_eq!(v.step, Step::Terms);
    let v = a.client.decide_terms(&token, true).await.unwrap();
    assert_eq!(v.step, Step::Email);
    let v = b.client.submit_email(&token, None).await.unwrap();
    assert_eq!(v.step, Step::AwaitingVerification);
    // The link (public URL: the first process) opened on the other one, as a load balancer may.
    let mail = c.wait_mails_to(email, 1).pop().unwrap();
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.contains("/verify/"))
        .unwrap();
    let (status, _) = b.client.open_link(&b.local(&link, c)).await.unwrap();
    assert_eq!(status, 200);
    let v = a.client.flow_status(&token).await.unwrap();
    assert_eq!(
        v.step,
        Step::ChooseMethod,
        "the other process sees the verified address"
    );
    let v = b.client.choose_method(&token, method).await.unwrap();
    assert_eq!(v.step, Step::NewCredentials);
    let v = a.client.set_credentials(&token, PW, None).await.unwrap();
    assert_eq!(v.step, Step::Complete);
    let (token, v) = b.client.sign_in(id, PW, Lang::Ja).await.unwrap();
    assert_eq!((v.step, v.method), (Step::MethodSetup, Some(method)));
    token
}

const DEMO: (&str, &str, &str, &str) = (DEMO_ID, DEMO_INITIAL, DEMO_BIRTH, "demo0001@example.com");

async fn journey(db: Database) {
    let c = Cluster::new(db, None, Options::default());
    let (a, b) = (c.serve_public(), c.serve());
    let token = first_login(&c, &a, &b, DEMO, Method::TotpApp).await;
    // The app's key from one process, the first code to the other.
    let e = a.client.start_totp_enrollment(&token).await.unwrap();
    let phone = Phone::scan(&e.otpauth_uri);
    let v = b
        .client
        .confirm_totp_enrollment(&token, &phone.code(0), "iPhone")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    let home = a.client.home(&token).await.unwrap();
    assert_eq!(home.member.user_id, DEMO_ID);
    // Signed in again on the other process: the second factor is asked for and works.
    let (token, v) = a.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::SecondFactor);
    let v = b.client.verify_totp(&token, &phone.code(30)).await.unwrap();
    assert_eq!(v.step, Step::Home);
    // Each process counted its own requests; the mail queue is the database's, the same
    // on both.
    let (ma, mb) = (a.metrics().await, b.metrics().await);
    let count = |text: &str, series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.parse().unwrap())
    };
    let verify =
        "tobira_http_requests_total{method=\"POST\",route=\"/api/v1/totp/verify\",status=\"200\"}";
    let confirm = "tobira_http_requests_total{method=\"POST\",route=\"/api/v1/totp/enrollment/confirm\",status=\"200\"}";
    assert_eq!((count(&ma, verify), count(&mb, verify)), (0.0, 1.0), "{mb}");
    assert_eq!(
        (count(&ma, confirm), count(&mb, confirm)),
        (0.0, 1.0),
        "{mb}"
    );
    let sent = "tobira_mail_queue{status=\"sent\"}";
    assert_eq!(count(&ma, sent), 1.0, "{ma}");
    assert_eq!(count(&mb, sent), 1.0, "{mb}");
    // The audit log has the whole journey once.
    let store = c.store().await;
    let m = store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    let actions: Vec<String> = store
        .audit_log(Some(m.id), 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    for want in [
        "identity.checked",
        "terms.accepted",
        "email.submitted",
        "email.verified",
        "method.chosen",
        "first_login.completed",
        "totp.enrolled",
    ] {
        assert_eq!(
            actions.iter().filter(|a| a.as_str() == want).count(),
            1,
            "{want} in {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_first_login_journey_alternates_between_two_processes_sqlite() {
    journey(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_first_login_journey_alternates_between_two_processes_postgres() {
    journey(Database::Postgres(pg_harness::fresh_database().await)).await;
}

async fn same_code_at_once(db: Database) {
    let c = Cluster::new(db, None, Options::default());
    let (a, b) = (c.serve_public(), c.serve());
    let token = first_login(&c, &a, &b, DEMO, Method::TotpApp).await;
    let e = a.client.start_totp_enrollment(&token).await.unwrap();
    let phone = Phone::scan(&e.otpauth_uri);
    b.client
        .confirm_totp_enrollment(&token, &phone.code(0), "iPhone")
        .await
        .unwrap();
    // Four sign-ins, two on each process, then one code (the next step's, unused) to all
    // four at once: one is accepted, the others are a replay.
    let mut flows = Vec::new();
    for s in [&a, &b, &a, &b] {
        let (t, v) = s.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
        assert_eq!(v.step, Step::SecondFactor);
        flows.push((s, t));
    }
    let code = phone.code(30);
    let answers =
        futures::future::join_all(flows.iter().map(|(s, t)| s.client.verify_totp(t, &code))).await;
    let ok = answers.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{answers:?}");
    for r in answers.iter().filter(|r| r.is_err()) {
        let code = r.as_ref().unwrap_err().code();
        assert_eq!(code, Some(ErrorCode::CodeUsed), "{answers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_totp_code_sent_to_both_at_once_is_accepted_once_sqlite() {
    same_code_at_once(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_totp_code_sent_to_both_at_once_is_accepted_once_postgres() {
    same_code_at_once(Database::Postgres(pg_harness::fresh_database().await)).await;
}

async fn lockout_across(db: Database) {
    let free = 5;
    let c = Cluster::new(
        db,
        None,
        Options {
            free_failures: free,
            ..Options::default()
        },
    );
    let (a, b) = (c.serve_public(), c.serve());
    // 40 wrong initial passwords for one member at once, half to each process.
    let burst = (0..40).map(|i| {
        let s = if i % 2 == 0 { &a } else { &b };
        let wrong = format!("9999999999{i:07}");
        async move { s.client.sign_in("demo0003", &wrong, Lang::Ja).await }
    });
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for r in futures::future::join_all(burst).await {
        let key = match r {
            Ok(_) => "ok".to_owned(),
            Err(ClientError::Api(e)) => e.code.as_str().to_owned(),
            Err(other) => panic!("{other:?}"),
        };
        *tally.entry(key).or_default() += 1;
    }
    assert_eq!(
        tally.get("invalid_credentials").copied(),
        Some(free as usize),
        "exactly the free failures were checked, across both: {tally:?}"
    );
    assert_eq!(tally.get("rate_limited").copied(), Some(40 - free as usize));
    // The right password is delayed too, on either process.
    for s in [&a, &b] {
        let e = s
            .client
            .sign_in("demo0003", "12345982819910103", Lang::Ja)
            .await;
        assert!(
            matches!(&e, Err(ClientError::Api(x)) if x.code == ErrorCode::RateLimited),
            "{e:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lockout_is_counted_across_both_processes_sqlite() {
    lockout_across(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lockout_is_counted_across_both_processes_postgres() {
    lockout_across(Database::Postgres(pg_harness::fresh_database().await)).await;
}

/// Members of the demo roster (`demo0002` …) to the mail step; the mail server is down, so
/// every mail waits in the queue; then it comes up and both delivery workers race for them.
async fn each_mail_once(db: Database) {
    let mut c = Cluster::new(db, None, Options::mail_down());
    let (a, b) = (c.serve_public(), c.serve());
    let roster = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/roster.csv"),
    )
    .unwrap();
    let members: Vec<(String, String, String, String)> = roster
        .lines()
        .skip(2)
        .take(16)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let initial = format!("{}{}{}", f[0], f[1], f[2].replace('-', ""));
            (f[5].to_owned(), initial, f[2].to_owned(), f[4].to_owned())
        })
        .collect();
    let walk = members.iter().enumerate().map(|(i, (id, pw, birth, _))| {
        let (x, y) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        async move {
            let (t, _) = x.client.sign_in(id, pw, Lang::Ja).await.unwrap();
            y.client.birth_date(&t, birth).await.unwrap();
            x.client.decide_terms(&t, true).await.unwrap();
            let v = y.client.submit_email(&t, None).await.unwrap();
            assert_eq!(v.step, Step::AwaitingVerification);
        }
    });
    futures::future::join_all(walk).await;
    let store = c.store().await;
    let report = store.mail_queue_report(0).await.unwrap();
    assert_eq!(report.pending, members.len() as u64, "{report:?}");
    c.start_smtp();
    let all = members.len() as u64;
    cluster::wait_queue(store.as_ref(), "the queue drains", |r| r.sent == all).await;
    let mails = c.mails();
    for (_, _, _, email) in &members {
        let n = mails.iter().filter(|m| &m.to == email).count();
        assert_eq!(n, 1, "{email} got {n} mails");
    }
    assert_eq!(mails.len(), members.len());
    let report = store.mail_queue_report(0).await.unwrap();
    assert_eq!((report.pending, report.failed), (0, 0), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_queued_mail_is_sent_once_by_one_of_the_processes_sqlite() {
    each_mail_once(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_queued_mail_is_sent_once_by_one_of_the_processes_postgres() {
    each_mail_once(Database::Postgres(pg_harness::fresh_database().await)).await;
}

async fn passkey_across(db: Database) {
    let c = Cluster::new(db, None, Options::default());
    let (a, b) = (c.serve_public(), c.serve());
    let token = first_login(&c, &a, &b, DEMO, Method::Passkey).await;
    let origin = c.origin();
    let mut authr = SoftPasskey::new(true);
    // Registration: the challenge from one process, the answer to the other.
    let start = a.client.start_passkey_registration(&token).await.unwrap();
    let answer = authr
        .do_registration(origin.clone(), start.options)
        .unwrap();
    let v = b
        .client
        .finish_passkey_registration(&token, answer, "YubiKey")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    // Sign-in: the same, the other way round.
    let (token, v) = b.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::SecondFactor);
    let start = b.client.start_passkey_authentication(&token).await.unwrap();
    let answer = authr
        .do_authentication(origin.clone(), start.options)
        .unwrap();
    let v = a
        .client
        .finish_passkey_authentication(&token, answer)
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    let store = c.store().await;
    let m = store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    assert_eq!(store.passkeys(m.id).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_passkey_ceremony_started_on_one_process_is_finished_on_the_other_sqlite() {
    passkey_across(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_passkey_ceremony_started_on_one_process_is_finished_on_the_other_postgres() {
    passkey_across(Database::Postgres(pg_harness::fresh_database().await)).await;
}
