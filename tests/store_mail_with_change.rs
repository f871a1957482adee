//! A change and the mail it promises are one transaction (`apply_with_mail`,
//! `enqueue_mail_audited`): a crash between the two — `tests/kill9.rs` kills a server under
//! load — must leave both or neither. Every function takes `&dyn Store`; the SQLite wrappers run
//! them on a SQLite file, the PostgreSQL ones on a fresh database of the test server.

#[path = "common/postgres.rs"]
mod pg_harness;

use tobira::domain::Step;
use tobira::store::roster::demo_row;
use tobira::store::sqlite::SqliteStore;
use tobira::store::{
    AuditEntry, Member, MemberChanges, MemberId, NewMail, RosterRow, Store, StoreError, Transition,
};

fn audit(member_id: Option<MemberId>, action: &str, at: i64) -> AuditEntry {
    AuditEntry {
        at,
        actor: "system".to_owned(),
        member_id,
        action: action.to_owned(),
        detail: String::new(),
    }
}

fn transition(m: &Member, from: Step, to: Step, at: i64) -> Transition {
    Transition {
        member_id: m.id,
        from,
        to,
        changes: MemberChanges::default(),
        email_token: None,
        end_flows: false,
        audit: audit(Some(m.id), "test.transition", at),
        at,
    }
}

fn mail(to: &str) -> NewMail {
    NewMail {
        kind: "verification".to_owned(),
        to: to.to_owned(),
        subject: "subject".to_owned(),
        sealed_body: vec![1, 2, 3],
    }
}

async fn seed(store: &dyn Store, n: u64) -> Vec<Member> {
    let rows: Vec<RosterRow> = (0..n).map(demo_row).collect();
    store.import_roster(&rows, 1_000).await.unwrap();
    let mut out = Vec::new();
    for r in &rows {
        out.push(
            store
                .member_by_card(&r.card)
                .await
                .unwrap()
                .expect("imported"),
        );
    }
    out
}

async fn the_change_and_its_mail_commit_together(store: &dyn Store) {
    let m = &seed(store, 1).await[0];
    let (after, id) = store
        .apply_with_mail(
            &transition(m, Step::Terms, Step::Email, 2_000),
            &mail("a@example.jp"),
            2_600,
        )
        .await
        .unwrap();
    assert_eq!(after.step, Step::Email);
    let q = store.mail_queue_report(10).await.unwrap();
    assert_eq!(q.pending, 1);
    assert_eq!(
        (q.recent[0].id, q.recent[0].to.as_str()),
        (id, "a@example.jp")
    );
    // Claimed by its sender until 2 600: the worker does not take it before.
    assert!(
        store
            .claim_due_mail(2_599, 9_999, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.claim_due_mail(2_600, 9_999, 10).await.unwrap().len(),
        1
    );
    let log = store.audit_log(Some(m.id), 10).await.unwrap();
    assert_eq!(log, vec![audit(Some(m.id), "test.transition", 2_000)]);
}

async fn a_refused_change_queues_no_mail(store: &dyn Store) {
    let members = seed(store, 2).await;
    let m = &members[0];
    let before_audit = store.audit_log(None, 1_000).await.unwrap().len();
    // The wrong step.
    let err = store
        .apply_with_mail(
            &transition(m, Step::Email, Step::AwaitingVerification, 2_000),
            &mail("a@example.jp"),
            2_000,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::StepMismatch { .. }), "{err:?}");
    // Another member's user ID.
    let mut t = transition(m, Step::Terms, Step::Email, 2_000);
    t.changes.user_id = Some(members[1].user_id.clone());
    let err = store
        .apply_with_mail(&t, &mail("a@example.jp"), 2_000)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UserIdTaken), "{err:?}");
    let q = store.mail_queue_report(10).await.unwrap();
    assert_eq!((q.pending, q.recent.len()), (0, 0), "{q:?}");
    assert_eq!(
        store.audit_log(None, 1_000).await.unwrap().len(),
        before_audit
    );
    assert_eq!(store.member(m.id).await.unwrap().as_ref(), Some(m));
}

async fn a_mail_and_its_audit_entry_commit_together(store: &dyn Store) {
    let m = &seed(store, 1).await[0];
    let entry = audit(Some(m.id), "recover.user_id.mailed", 3_000);
    let id = store
        .enqueue_mail_audited(&mail("b@example.jp"), 3_000, 3_000, &entry)
        .await
        .unwrap();
    let q = store.mail_queue_report(10).await.unwrap();
    assert_eq!((q.pending, q.recent[0].id), (1, id));
    assert_eq!(store.audit_log(Some(m.id), 10).await.unwrap(), vec![entry]);
}

async fn sqlite() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db").display().to_string())
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn the_change_and_its_mail_commit_together_sqlite() {
    let (_d, s) = sqlite().await;
    the_change_and_its_mail_commit_together(&s).await;
}

#[tokio::test]
async fn a_refused_change_queues_no_mail_sqlite() {
    let (_d, s) = sqlite().await;
    a_refused_change_queues_no_mail(&s).await;
}

#[tokio::test]
async fn a_mail_and_its_audit_entry_commit_together_sqlite() {
    let (_d, s) = sqlite().await;
    a_mail_and_its_audit_entry_commit_together(&s).await;
}

async fn postgres() -> std::sync::Arc<dyn Store> {
    let url = pg_harness::fresh_database().await;
    tobira::store::open(&url).await.unwrap()
}

#[tokio::test]
async fn the_change_and_its_mail_commit_together_postgres() {
    the_change_and_its_mail_commit_together(postgres().await.as_ref()).await;
}

#[tokio::test]
async fn a_refused_change_queues_no_mail_postgres() {
    a_refused_change_queues_no_mail(postgres().await.as_ref()).await;
}

#[tokio::test]
async fn a_mail_and_its_audit_entry_commit_together_postgres() {
    a_mail_and_its_audit_entry_commit_together(postgres().await.as_ref()).await;
}
