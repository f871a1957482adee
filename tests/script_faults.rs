//! The faults of `tobira script` on a real embedded server: the mail server down for a while
//! (the mail stays queued and the queue's retry path sends it once the outage is over), and
//! the server stopped and started again on the same data and port (the screens say the server
//! cannot be reached, then carry on).

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{DEMO_BIRTH, DEMO_ID, DEMO_INITIAL, T0};
use ratatui::crossterm::event::KeyCode;
use tobira::api::{Lang, Step};
use tobira::client::Client;
use tobira::mail::Mailer;
use tobira::mail::outbox::{Outbox, read_outbox};
use tobira::passkey::Limits;
use tobira::script::faults::{FaultyMailer, RestartableServer, deliver_due};
use tobira::server::{AppState, Clock, ManualClock, SecretKey, ServerSettings};
use tobira::store::MailStatus;
use tobira::store::sqlite::SqliteStore;
use tobira::tui::modes::member::{App, Member};
use tobira::tui::shell::headless::Headless;
use tobira::tui::{PasskeyRunner, Runtime};

/// A scripted run's server: SQLite in `dir`, the outbox behind the faulty mailer, a fake clock.
struct Run {
    server: RestartableServer,
    mailer: Arc<FaultyMailer>,
    clock: Arc<ManualClock>,
    client: Client,
    outbox: std::path::PathBuf,
    settings: ServerSettings,
    key: SecretKey,
    _dir: tempfile::TempDir,
}

async fn open_store(dir: &Path) -> Arc<SqliteStore> {
    Arc::new(
        SqliteStore::open(&dir.join("tobira.db").to_string_lossy())
            .await
            .expect("open store"),
    )
}

async fn start() -> Run {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_store(dir.path()).await;
    let clock = Arc::new(ManualClock::new(T0));
    tobira::setup::seed_demo_roster(store.as_ref(), clock.now(), clock.today())
        .await
        .expect("seed");
    let outbox = dir.path().join("outbox");
    let inner: Arc<dyn Mailer> =
        Arc::new(Outbox::new(outbox.clone(), "tobira <no-reply@localhost>").expect("outbox"));
    let mailer = FaultyMailer::new(inner, clock.clone());
    let listener = tobira::server::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut settings = common::test_settings();
    settings.public_url = format!("http://localhost:{port}");
    // Only this test's calls deliver queued mail: the worker's next look is an hour away.
    settings.mail_queue.poll_interval_ms = 3_600_000;
    let key = SecretKey::load_or_create(dir.path(), None).expect("key");
    let state = AppState::new(
        store,
        mailer.clone(),
        clock.clone(),
        settings.clone(),
        key.clone(),
    );
    let server = RestartableServer::start_on(state, listener).expect("serve");
    Run {
        client: Client::new(&server.url()).expect("client"),
        server,
        mailer,
        clock,
        outbox,
        settings,
        key,
        _dir: dir,
    }
}

#[tokio::test]
async fn mail_sent_during_an_outage_waits_in_the_queue_and_goes_out_when_it_is_over() {
    let run = start().await;
    let c = &run.client;
    let (token, _) = c
        .sign_in(DEMO_ID, DEMO_INITIAL, Lang::En)
        .await
        .expect("sign in");
    c.birth_date(&token, DEMO_BIRTH).await.expect("birth date");
    c.decide_terms(&token, true).await.expect("terms");

    run.mailer.down_for(60);
    let v = c.submit_email(&token, None).await.expect("email");
    assert_eq!(
        v.step,
        Step::AwaitingVerification,
        "the member is not held up"
    );
    let store = run.server.state().store.clone();
    let report = store.mail_queue_report(10).await.expect("report");
    assert_eq!((report.pending, report.sent, attempts(&report)), (1, 0, 1));
    assert!(read_outbox(&run.outbox).expect("outbox").is_empty());

    // The retry falls inside the outage: it fails too, and the mail waits longer.
    run.clock.advance(30);
    assert_eq!(deliver_due(run.server.state()).await.expect("queue"), 1);
    let report = store.mail_queue_report(10).await.expect("report");
    assert_eq!((report.pending, report.sent, attempts(&report)), (1, 0, 2));
    assert!(read_outbox(&run.outbox).expect("outbox").is_empty());

    // The outage is over and the next retry is due: the mail goes out, once.
    run.clock.advance(60);
    assert!(!run.mailer.is_down());
    assert_eq!(deliver_due(run.server.state()).await.expect("queue"), 1);
    let report = store.mail_queue_report(10).await.expect("report");
    assert_eq!((report.pending, report.sent), (0, 1));
    assert_eq!(report.recent[0].status, MailStatus::Sent);
    let mails = read_outbox(&run.outbox).expect("outbox");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "demo0001@example.com");
    let link = mails[0]
        .links()
        .into_iter()
        .find(|l| l.contains("/verify/"))
        .expect("a verification link");
    assert_eq!(c.open_link(&link).await.expect("link").0, 200);
    assert_eq!(c.flow(&token).await.expect("flow").step, Step::ChooseMethod);
    assert_eq!(deliver_due(run.server.state()).await.expect("queue"), 0);
}

/// The attempts made at the newest mail.
fn attempts(report: &tobira::store::MailQueueReport) -> u32 {
    report.recent.first().map_or(0, |m| m.attempts)
}

fn screen(h: &Headless<Member>) -> &'static str {
    h.app.mode.session.screen.name()
}

fn banner(h: &Headless<Member>) -> Option<&'static str> {
    h.app.shell.banner.as_ref().map(|b| b.msg.key)
}

#[tokio::test]
async fn the_screens_cannot_reach_a_stopped_server_then_carry_on_when_it_is_back() {
    let mut run = start().await;
    let runtime = Runtime::new(
        run.client.clone(),
        None,
        PasskeyRunner::new(None, Limits::default()),
    );
    let mut h = Headless::new(App::new(Lang::En, true), runtime);
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "sign_in");
    let port = run.server.addr().port();

    run.server.stop().await;
    assert!(!run.server.is_running());
    h.type_text(DEMO_ID).await;
    h.press(KeyCode::Tab).await;
    h.type_text(DEMO_INITIAL).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(banner(&h), Some("err.transport"));
    assert_eq!(screen(&h), "sign_in");
    let text = h.text(80, 24, true);
    assert!(text.contains("Cannot reach the server"), "{text}");

    // Back on the same port: the same keys go through.
    run.server.start_again().await.expect("restart");
    assert_eq!(run.server.addr().port(), port);
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "birth_date", "{:?}", banner(&h));

    // Stopped again, and started as a new process on the same database would be: the flow
    // the member is in lives in the store, so it carries on.
    run.server.stop().await;
    let dir = run._dir.path().to_owned();
    let state = AppState::new(
        open_store(&dir).await,
        run.mailer.clone(),
        run.clock.clone(),
        run.settings.clone(),
        run.key.clone(),
    );
    run.server.start_again_with(state).await.expect("restart");
    h.type_text("19801201").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "terms", "{:?}", banner(&h));
    run.server.stop().await;
}
