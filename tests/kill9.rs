//! Nothing acknowledged is lost: members walk their first login and set up an authenticator
//! app against a real `tobira serve` under steady load; the process is killed with SIGKILL in
//! the middle, and started again on the same data. Every request that got a 2xx is in the
//! database, nothing is half-written (a step without its audit entry, a factor without its
//! row, a submitted address without its mail), and the mail queue resumes.
//!
//! No sleeps as synchronisation: the kill comes when enough answers have been counted, and
//! every wait is for a condition (an answer, a mail in the sink, a queue count) with a deadline.

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use common::postgres as pg_harness;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::{Cluster, Database, Options};
use tobira::api::{Lang, Method, Step};
use tobira::client::{Client, ClientError};
use tobira::domain::{TotpParams, TotpSecret};

const PW: &str = "N3w-passw0rd!";
const MEMBERS: usize = 40;
const WORKERS: usize = 6;
/// Acknowledged requests before the kill.
const KILL_AFTER: usize = 120;

/// A request that got a 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ack {
    BirthDate,
    Terms,
    Email,
    Verified,
    Method,
    Credentials,
    Enrolled,
}

struct Load {
    c: Arc<Cluster>,
    client: Client,
    public: String,
    local: String,
    next: AtomicUsize,
    acked: Mutex<BTreeMap<String, Vec<Ack>>>,
    count: AtomicUsize,
    stop: AtomicBool,
    /// Answers that were neither a 2xx nor a lost connection (there must be none).
    refused: Mutex<Vec<String>>,
}

fn member(i: usize) -> (String, String, String) {
    let number = 1_000_000 + i;
    (
        format!("load{i:04}"),
        format!("21{number}19850401"),
        format!("load{i:04}@example.com"),
    )
}

fn roster() -> String {
    let mut csv = "symbol,number,birthdate,name,email,user_id\n".to_owned();
    for i in 0..MEMBERS {
        let (id, _, email) = member(i);
        csv.push_str(&format!(
            "21,{},1985-04-01,負荷 {i},{email},{id}\n",
            1_000_000 + i
        ));
    }
    csv
}

impl Load {
    fn ack(&self, id: &str, a: Ack) {
        self.acked
            .lock()
            .unwrap()
            .entry(id.to_owned())
            .or_default()
            .push(a);
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// `Ok(Some(v))` on a 2xx, `Ok(None)` when the server went away (the load stops there).
    fn answer<T>(&self, r: Result<T, ClientError>, what: &str) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(ClientError::Api(e)) => {
                self.refused.lock().unwrap().push(format!("{what}: {e}"));
                None
            }
            Err(_) => None,
        }
    }

    /// One member's whole journey; `None` as soon as a request is not answered 2xx.
    async fn walk(&self, i: usize) -> Option<()> {
        let (id, initial, email) = member(i);
        let c = &self.client;
        let (t, _) = self.answer(c.sign_in(&id, &initial, Lang::Ja).await, "sign in")?;
        self.answer(c.birth_date(&t, "1985-04-01").await, "birth date")?;
        self.ack(&id, Ack::BirthDate);
        self.answer(c.decide_terms(&t, true).await, "terms")?;
        self.ack(&id, Ack::Terms);
        self.answer(c.submit_email(&t, None).await, "email")?;
        self.ack(&id, Ack::Email);
        // The link, from the sink; given up when the server was killed meanwhile.
        let deadline = Instant::now() + Duration::from_secs(30);
        let link = loop {
            let mails = self.c.mails();
            if let Some(m) = mails.iter().rev().find(|m| m.to == email) {
                break m.links().into_iter().find(|l| l.contains("/verify/"))?;
            }
            if self.stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let link = link.replace(&self.public, &self.local);
        let (status, _) = self.answer(c.open_link(&link).await, "link")?;
        if status != 200 {
            self.refused.lock().unwrap().push(format!("link {status}"));
            return None;
        }
        self.ack(&id, Ack::Verified);
        self.answer(c.choose_method(&t, Method::TotpApp).await, "method")?;
        self.ack(&id, Ack::Method);
        self.answer(c.set_credentials(&t, PW, None).await, "credentials")?;
        self.ack(&id, Ack::Credentials);
        let (t, _) = self.answer(c.sign_in(&id, PW, Lang::Ja).await, "sign in again")?;
        let e = self.answer(c.start_totp_enrollment(&t).await, "enrol")?;
        let url = url::Url::parse(&e.otpauth_uri).unwrap();
        let secret = url
            .query_pairs()
            .find(|(k, _)| k == "secret")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let secret = TotpSecret::from_base32(&secret).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        let code = TotpParams::default().code_at(&secret, now).unwrap();
        let v = self.answer(
            c.confirm_totp_enrollment(&t, &code, "iPhone").await,
            "confirm",
        )?;
        assert_eq!(v.step, Step::Home);
        self.ack(&id, Ack::Enrolled);
        Some(())
    }

    async fn worker(self: Arc<Self>) {
        loop {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            if i >= MEMBERS || self.stop.load(Ordering::SeqCst) {
                return;
            }
            if self.walk(i).await.is_none() {
                return;
            }
        }
    }
}

async fn kill_and_restart(db: Database) {
    let c = Arc::new(Cluster::new(db, Some(&roster()), Options::default()));
    let mut server = c.serve_public();
    let load = Arc::new(Load {
        c: c.clone(),
        client: server.client.clone(),
        public: format!("localhost:{}", c.public_port),
        local: format!("localhost:{}", server.port),
        next: AtomicUsize::new(0),
        acked: Mutex::default(),
        count: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        refused: Mutex::default(),
    });
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| tokio::spawn(load.clone().worker()))
        .collect();

    // SIGKILL once enough answers are in, with requests in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    while load.count.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(Instant::now() < deadline, "the load did not get going");
        assert!(server.alive(), "{:?}", server.log.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill9();
    load.stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    let refused = load.refused.lock().unwrap().clone();
    assert!(
        refused.is_empty(),
        "non-2xx answers under load: {refused:?}"
    );
    let acked = load.acked.lock().unwrap().clone();
    let total: usize = acked.values().map(Vec::len).sum();
    assert!(total >= KILL_AFTER, "{total}");
    let finished = acked
        .values()
        .filter(|a| a.contains(&Ack::Enrolled))
        .count();
    assert!(finished < MEMBERS, "the kill came after the load had ended");

    // Started again on the same data.
    let again = c.serve_public();
    let store = c.store().await;

    // The mail queue resumes: every queued mail goes out (a mail the killed process had
    // claimed waits for its claim to lapse), none fails.
    cluster::wait_queue(store.as_ref(), "the queue resumes", |r| r.pending == 0).await;
    let queue = store.mail_queue_report(10_000).await.unwrap();
    let mails = c.mails();
    let mut twice = Vec::new();
    for row in &queue.recent {
        let n = mails.iter().filter(|m| m.to == row.to).count();
        assert!(n >= 1, "mail {} to {} was never delivered", row.id, row.to);
        if n > 1 {
            twice.push(row.to.clone());
        }
    }
    // SMTP is at-least-once: a mail handed to the mail server in the instant before the kill,
    // whose "sent" mark was never written, goes again — at most one per request in flight.
    assert!(
        twice.len() <= WORKERS,
        "delivered more than once: {twice:?}"
    );

    // Every acknowledged request is in the database, with its audit entry.
    for i in 0..MEMBERS {
        let (id, _, email) = member(i);
        let m = store.member_by_user_id(&id).await.unwrap().unwrap();
        let audit: Vec<String> = store
            .audit_log(Some(m.id), 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        let has = |action: &str| audit.iter().filter(|a| *a == action).count();
        let done = acked.get(&id).cloned().unwrap_or_default();
        let acked = |a: Ack| done.contains(&a);
        let mails_to = queue.recent.iter().filter(|r| r.to == email).count();
        let factors = store.totp_credentials(m.id).await.unwrap().len();
        let ctx = format!("{id}: acked {done:?}, member {m:?}, audit {audit:?}");
        if acked(Ack::BirthDate) {
            assert!(has("identity.checked") >= 1, "{ctx}");
        }
        if acked(Ack::Terms) {
            assert!(m.terms_accepted_at.is_some(), "{ctx}");
        }
        if acked(Ack::Email) {
            assert_eq!(mails_to, 1, "{ctx}");
        }
        if acked(Ack::Verified) {
            assert!(m.email_verified_at.is_some(), "{ctx}");
        }
        if acked(Ack::Method) {
            assert_eq!(m.method, Some(Method::TotpApp), "{ctx}");
        }
        if acked(Ack::Credentials) {
            assert!(m.password_hash.is_some(), "{ctx}");
            // And the new password works on the new process.
            let r = again.client.sign_in(&id, PW, Lang::Ja).await;
            assert!(r.is_ok(), "{ctx}: {r:?}");
        }
        if acked(Ack::Enrolled) {
            assert_eq!(factors, 1, "{ctx}");
        }
        // Nothing half-written, acknowledged or not: each state has its audit entry and the
        // other way round.
        assert_eq!(
            m.terms_accepted_at.is_some(),
            has("terms.accepted") == 1,
            "{ctx}"
        );
        assert_eq!(mails_to, has("email.submitted"), "{ctx}");
        assert_eq!(
            m.email_verified_at.is_some(),
            has("email.verified") == 1,
            "{ctx}"
        );
        assert_eq!(m.method.is_some(), has("method.chosen") == 1, "{ctx}");
        assert_eq!(
            m.password_hash.is_some(),
            has("first_login.completed") == 1,
            "{ctx}"
        );
        assert_eq!(factors, has("totp.enrolled"), "{ctx}");
    }
    drop(again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkill_under_load_loses_nothing_acknowledged_sqlite() {
    kill_and_restart(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkill_under_load_loses_nothing_acknowledged_postgres() {
    kill_and_restart(Database::Postgres(pg_harness::fresh_database().await)).await;
}

/// A mail whose delivery is under way when the process dies (the mail server took the
/// connection and has not answered yet) was claimed by the dead process: after the restart it
/// goes out once, when the claim lapses, and the step it belongs to is there with it.
async fn claimed_mail_resumes(db: Database) {
    let mut c = Cluster::new(db, None, Options::mail_down());
    // A mail server that takes connections and never greets.
    let silent = tokio::net::TcpListener::bind(("127.0.0.1", c.smtp_port))
        .await
        .unwrap();
    let (took, mut taken) = tokio::sync::mpsc::unbounded_channel();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (s, _) = silent.accept().await.unwrap();
            held.push(s);
            let _ = took.send(());
        }
    });
    let mut server = c.serve_public();
    let client = server.client.clone();
    let (t, _) = client
        .sign_in(common::DEMO_ID, common::DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    client.birth_date(&t, common::DEMO_BIRTH).await.unwrap();
    client.decide_terms(&t, true).await.unwrap();
    let submit = tokio::spawn(async move { client.submit_email(&t, None).await });
    tokio::time::timeout(Duration::from_secs(30), taken.recv())
        .await
        .expect("the server connects to the mail server")
        .unwrap();
    server.kill9();
    assert!(
        submit.await.unwrap().is_err(),
        "no answer from a dead server"
    );
    silent.abort();
    let _ = silent.await;

    c.start_smtp();
    let _again = c.serve_public();
    let store = c.store().await;
    let m = store
        .member_by_user_id(common::DEMO_ID)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.step, Step::AwaitingVerification);
    cluster::wait_queue(store.as_ref(), "the claimed mail is resumed", |r| {
        r.sent == 1
    })
    .await;
    let mails = c.wait_mails_to("demo0001@example.com", 1);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].links().iter().any(|l| l.contains("/verify/")));
    let audit = store.audit_log(Some(m.id), 100).await.unwrap();
    let submitted = audit
        .iter()
        .filter(|e| e.action == "email.submitted")
        .count();
    assert_eq!(submitted, 1, "{audit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mail_being_delivered_at_the_kill_goes_out_once_after_the_restart_sqlite() {
    claimed_mail_resumes(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mail_being_delivered_at_the_kill_goes_out_once_after_the_restart_postgres() {
    claimed_mail_resumes(Database::Postgres(pg_harness::fresh_database().await)).await;
}
