//! Store conformance: every function below takes `&dyn Store`, so each implementation runs the
//! same suite. The SQLite wrappers run it on a fresh file database and on an in-memory one.

use std::collections::BTreeSet;

use tobira::domain::{
    Actor, EmailAddress, MatchKind, Method, SearchQuery, Step, ThrottlePolicy, TotpParams, UserId,
};
use tobira::store::postgres::PgStore;
use tobira::store::roster::demo_row;
use tobira::store::sqlite::SqliteStore;
use tobira::store::{
    AccountFailure, AuditEntry, EmailToken, EmailTokenOutcome, FailedAttempt, Flow, Member,
    MemberChanges, MemberId, PendingTotp, RosterRow, Store, StoreError, ThrottleScope,
    TotpConfirmation, TotpCredential, TotpUse, Transition,
};
use tobira::store::{CeremonyKind, PageRequest, PasskeyCeremony, PasskeyEnrollment, PasskeyUse};

#[path = "common/postgres.rs"]
mod pg_harness;

// ---------------------------------------------------------------- helpers

fn audit(member_id: Option<MemberId>, action: &str, at: i64) -> AuditEntry {
    AuditEntry {
        at,
        actor: "system".to_owned(),
        member_id,
        action: action.to_owned(),
        detail: format!("{action} detail"),
    }
}

fn transition(member: &Member, from: Step, to: Step, at: i64) -> Transition {
    Transition {
        member_id: member.id,
        from,
        to,
        changes: MemberChanges::default(),
        email_token: None,
        end_flows: false,
        audit: audit(Some(member.id), "test.transition", at),
        at,
    }
}

fn token(member: &Member, hash: &str, email: &str, expires_at: i64) -> EmailToken {
    EmailToken {
        token_hash: hash.to_owned(),
        member_id: member.id,
        email: email.to_owned(),
        lang: "ja".to_owned(),
        created_at: 1_000,
        expires_at,
    }
}

fn flow(member: &Member, hash: &str, expires_at: i64) -> Flow {
    Flow {
        token_hash: hash.to_owned(),
        member_id: member.id,
        lang: "en".to_owned(),
        birth_verified: false,
        second_factor_pending: false,
        created_at: 1_000,
        expires_at,
    }
}

fn with_user_id(mut row: RosterRow, id: &str) -> RosterRow {
    row.user_id = UserId::parse(id).unwrap();
    row
}

fn with_line(mut row: RosterRow, line: u64) -> RosterRow {
    row.line = line;
    row
}

/// Imports demo members `0..n` and returns them.
async fn seed(store: &dyn Store, n: u64) -> Vec<Member> {
    let rows: Vec<RosterRow> = (0..n).map(demo_row).collect();
    let out = store.import_roster(&rows, 1_000).await.unwrap();
    assert_eq!(out.imported, n);
    let mut members = Vec::new();
    for r in &rows {
        members.push(
            store
                .member_by_user_id(r.user_id.as_str())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    members
}

async fn audit_count(store: &dyn Store) -> usize {
    store.audit_log(None, 10_000).await.unwrap().len()
}

/// Moves a member to `to` from wherever the store says they are.
async fn force_step(store: &dyn Store, member: &Member, to: Step) -> Member {
    let current = store.member(member.id).await.unwrap().unwrap().step;
    store
        .apply(&transition(member, current, to, 1_500))
        .await
        .unwrap()
}

// ---------------------------------------------------------------- the suite

async fn ping_answers(store: &dyn Store) {
    store.ping().await.unwrap();
}

async fn import_creates_members_at_the_terms(store: &dyn Store) {
    let rows = vec![demo_row(0), demo_row(1), demo_row(2)];
    assert!(!store.has_members().await.unwrap());
    let out = store.import_roster(&rows, 1_000).await.unwrap();
    assert!(store.has_members().await.unwrap());
    assert_eq!((out.imported, out.updated, out.unchanged), (3, 0, 0));
    assert!(out.rejected.is_empty());
    assert_eq!(store.member_count().await.unwrap(), 3);
    let m = store.member_by_user_id("m0000001x").await.unwrap().unwrap();
    assert_eq!(m.card, rows[1].card);
    assert_eq!(m.birth_date, rows[1].birth_date);
    assert_eq!(m.name, rows[1].name);
    assert_eq!(m.email, "m1@example.com");
    assert_eq!(m.user_id, "m0000001x");
    assert_eq!(m.step, Step::Terms);
    assert_eq!(m.password_hash, None);
    assert_eq!(m.email_verified_at, None);
    assert_eq!(m.method, None);
    assert_eq!(m.terms_accepted_at, None);
    assert_eq!((m.created_at, m.updated_at), (1_000, 1_000));
    assert_eq!(store.member(m.id).await.unwrap(), Some(m));
}

async fn reimport_changes_nothing(store: &dyn Store) {
    let rows: Vec<RosterRow> = (0..50).map(demo_row).collect();
    store.import_roster(&rows, 1_000).await.unwrap();
    let before = store.member_by_user_id("m0000007x").await.unwrap();
    let out = store.import_roster(&rows, 2_000).await.unwrap();
    assert_eq!((out.imported, out.updated, out.unchanged), (0, 0, 50));
    assert!(out.rejected.is_empty());
    assert_eq!(store.member_count().await.unwrap(), 50);
    assert_eq!(store.member_by_user_id("m0000007x").await.unwrap(), before);
}

async fn import_updates_changed_rows(store: &dyn Store) {
    let members = seed(store, 3).await;
    let mut renamed = demo_row(0);
    renamed.name = "山田 花子".to_owned();
    renamed.birth_date = tobira::domain::BirthDate::parse("1981-02-03").unwrap();
    let mut moved = with_user_id(demo_row(1), "newid0001");
    moved.email = EmailAddress::parse("new1@example.jp").unwrap();
    let out = store
        .import_roster(&[renamed, moved, demo_row(2)], 2_000)
        .await
        .unwrap();
    assert_eq!((out.imported, out.updated, out.unchanged), (0, 2, 1));
    let m0 = store.member(members[0].id).await.unwrap().unwrap();
    assert_eq!(m0.name, "山田 花子");
    assert_eq!(m0.birth_date.to_string(), "1981-02-03");
    assert_eq!((m0.created_at, m0.updated_at), (1_000, 2_000));
    let m1 = store.member(members[1].id).await.unwrap().unwrap();
    assert_eq!(m1.user_id, "newid0001");
    assert_eq!(m1.email, "new1@example.jp");
    assert!(
        store
            .member_by_user_id("m0000001x")
            .await
            .unwrap()
            .is_none()
    );
    let m2 = store.member(members[2].id).await.unwrap().unwrap();
    assert_eq!(m2, members[2]);
}

async fn import_keeps_email_and_user_id_of_started_members(store: &dyn Store) {
    let members = seed(store, 2).await;
    // Started: past the terms.
    force_step(store, &members[0], Step::Email).await;
    // Started: own password set, even though back at the terms.
    let mut t = transition(&members[1], Step::Terms, Step::Terms, 1_500);
    t.changes.password_hash = Some("$argon2id$v=19$fake".to_owned());
    store.apply(&t).await.unwrap();
    let before: Vec<Member> = vec![
        store.member(members[0].id).await.unwrap().unwrap(),
        store.member(members[1].id).await.unwrap().unwrap(),
    ];

    let mut r0 = with_user_id(demo_row(0), "other0000");
    r0.email = EmailAddress::parse("other0@example.jp").unwrap();
    let mut r1 = with_user_id(demo_row(1), "other0001");
    r1.name = "変更 後".to_owned();
    let out = store.import_roster(&[r0, r1], 2_000).await.unwrap();
    assert_eq!((out.imported, out.updated, out.unchanged), (0, 1, 1));
    assert!(out.rejected.is_empty());
    assert_eq!(
        store.member(members[0].id).await.unwrap().unwrap(),
        before[0]
    );
    let m1 = store.member(members[1].id).await.unwrap().unwrap();
    assert_eq!(m1.name, "変更 後");
    assert_eq!(m1.user_id, before[1].user_id);
    assert_eq!(m1.email, before[1].email);
    assert_eq!(m1.updated_at, 2_000);
}

async fn import_rejects_a_user_id_of_another_member(store: &dyn Store) {
    let members = seed(store, 2).await;
    let taken_by_existing = with_line(with_user_id(demo_row(1), "m0000000x"), 7);
    let taken_by_new = with_line(with_user_id(demo_row(5), "m0000000x"), 8);
    let fine = with_line(demo_row(6), 9);
    let out = store
        .import_roster(&[taken_by_existing, taken_by_new, fine], 2_000)
        .await
        .unwrap();
    assert_eq!((out.imported, out.updated, out.unchanged), (1, 0, 0));
    let reasons: Vec<(u64, &str)> = out
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (7, "user ID m0000000x already belongs to another member"),
            (8, "user ID m0000000x already belongs to another member"),
        ]
    );
    assert_eq!(store.member_count().await.unwrap(), 3);
    assert_eq!(
        store.member(members[1].id).await.unwrap().unwrap(),
        members[1]
    );
    assert_eq!(
        store.member(members[0].id).await.unwrap().unwrap(),
        members[0]
    );
}

async fn import_rejects_duplicates_within_a_batch(store: &dyn Store) {
    let first = with_line(demo_row(0), 2);
    let mut same_card = with_line(with_user_id(demo_row(0), "zzzz0000"), 3);
    same_card.name = "別人".to_owned();
    let same_user = with_line(with_user_id(demo_row(1), "m0000000x"), 4);
    let out = store
        .import_roster(&[first, same_card, same_user], 1_000)
        .await
        .unwrap();
    assert_eq!(out.imported, 1);
    let reasons: Vec<(u64, &str)> = out
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (3, "duplicate card (first seen on line 2)"),
            (4, "duplicate user ID (first seen on line 2)"),
        ]
    );
    let m = store.member_by_user_id("m0000000x").await.unwrap().unwrap();
    assert_eq!(m.name, demo_row(0).name);
    assert_eq!(store.member_count().await.unwrap(), 1);
}

async fn member_lookups(store: &dyn Store) {
    let members = seed(store, 3).await;
    let m = store.member_by_user_id("m0000002x").await.unwrap().unwrap();
    assert_eq!(m, members[2]);
    assert!(
        store
            .member_by_user_id("nobody123")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.member(members[2].id + 1_000).await.unwrap().is_none());
}

/// Reservations take one attempt per key until the policy refuses, writing nothing when one key
/// refuses; a release gives back only its own attempt.
async fn attempts_are_reserved_then_released(store: &dyn Store) {
    use tobira::store::{AttemptReservation, ThrottleKey};
    let policy = ThrottlePolicy {
        free_failures: 2,
        base_delay_secs: 10,
        max_delay_secs: 60,
        lock_after: 0,
        decay_secs: 0,
        cap: 0,
    };
    let keys = [
        ThrottleKey {
            scope: ThrottleScope::Address,
            key: "10.9.9.9".into(),
            policy: ThrottlePolicy {
                free_failures: 100,
                ..policy
            },
        },
        ThrottleKey {
            scope: ThrottleScope::Account,
            key: "77".into(),
            policy,
        },
    ];
    let mut granted = Vec::new();
    for _ in 0..5 {
        if let AttemptReservation::Reserved(r) = store.reserve_attempt(&keys, 500).await.unwrap() {
            granted.push(r);
        }
    }
    assert_eq!(granted.len(), 2);
    let refused = store.reserve_attempt(&keys, 500).await.unwrap();
    assert!(
        matches!(
            refused,
            AttemptReservation::Refused {
                scope: ThrottleScope::Account,
                ..
            }
        ),
        "{refused:?}"
    );
    let failures = |scope, key: &'static str| async move {
        store.failures(scope, key).await.unwrap().failures
    };
    // The refusals wrote nothing, not even on the address.
    assert_eq!(failures(ThrottleScope::Address, "10.9.9.9").await, 2);
    store.release_attempt(&granted[1]).await.unwrap();
    assert_eq!(failures(ThrottleScope::Account, "77").await, 1);
    assert_eq!(failures(ThrottleScope::Address, "10.9.9.9").await, 1);
}

/// A sign-in's two store calls: the reservation reads the member with it (not when refused); the
/// finish gives the attempt back and, unless the account is held, starts the flow with the
/// plan's second factor, clears and audit entries, sending a member at the top screen with no
/// second factor left back to method set-up.
async fn a_sign_in_reserves_with_the_member_and_finishes_in_one_transaction(store: &dyn Store) {
    use tobira::store::{AttemptReservation, SignInFinish, SignInFinished, ThrottleKey};
    let m = seed(store, 1).await.remove(0);
    let policy = ThrottlePolicy {
        free_failures: 2,
        base_delay_secs: 10,
        max_delay_secs: 60,
        lock_after: 3,
        decay_secs: 0,
        cap: 0,
    };
    let keys = |typed: &str| {
        [
            ThrottleKey {
                scope: ThrottleScope::Address,
                key: "10.8.8.8".into(),
                policy: ThrottlePolicy {
                    free_failures: 100,
                    lock_after: 0,
                    ..policy
                },
            },
            ThrottleKey {
                scope: ThrottleScope::UserId,
                key: typed.to_owned(),
                policy,
            },
        ]
    };
    let failures =
        |scope, key: String| async move { store.failures(scope, &key).await.unwrap().failures };
    let account = m.id.to_string();

    // An unknown ID takes its attempt like a known one, and reads no member.
    let (r, nobody) = store
        .reserve_sign_in(&keys("nobody-here"), "nobody-here", 100)
        .await
        .unwrap();
    assert!(matches!(r, AttemptReservation::Reserved(_)), "{r:?}");
    assert_eq!(nobody, None);
    assert_eq!(
        failures(ThrottleScope::UserId, "nobody-here".into()).await,
        1
    );

    let reserve = |at: i64| {
        let keys = keys(&m.user_id);
        let user_id = m.user_id.clone();
        async move {
            match store.reserve_sign_in(&keys, &user_id, at).await.unwrap() {
                (AttemptReservation::Reserved(r), Some(member)) => (r, member),
                other => panic!("{other:?}"),
            }
        }
    };
    let finish = |reserved, member: Member, hash: &str, at: i64| SignInFinish {
        reserved,
        flow: flow(&member, hash, 9_000),
        audit: audit(Some(member.id), "sign_in", at),
        factors_gone: audit(Some(member.id), "second_factor.missing", at),
        member,
        account_policy: policy,
        typed: m.user_id.clone(),
        at,
    };

    // Stage 1: the flow starts at the identity check; the account's failures stay (they are
    // cleared when the date of birth is passed), the typed ID's go, the attempt is given back.
    store
        .record_failure(ThrottleScope::Account, &account, 150)
        .await
        .unwrap();
    store
        .record_failure(ThrottleScope::UserId, &m.user_id, 150)
        .await
        .unwrap();
    let (reserved, member) = reserve(200).await;
    assert_eq!(member.id, m.id);
    assert_eq!(failures(ThrottleScope::UserId, m.user_id.clone()).await, 2);
    let n = audit_count(store).await;
    let done = store
        .finish_sign_in(&finish(reserved, member, "si-1", 200))
        .await
        .unwrap();
    let SignInFinished::Started {
        member,
        plan,
        factors,
    } = done
    else {
        panic!("{done:?}");
    };
    assert_eq!(
        (member.step, plan.shown, factors),
        (Step::Terms, Step::BirthDate, None)
    );
    assert!(!plan.second_factor_pending);
    let stored = store.flow("si-1").await.unwrap().unwrap();
    assert!(!stored.second_factor_pending);
    assert_eq!(audit_count(store).await, n + 1);
    assert_eq!(failures(ThrottleScope::UserId, m.user_id.clone()).await, 0);
    assert_eq!(failures(ThrottleScope::Account, account.clone()).await, 1);
    // The unknown ID's attempt stays; this one was given back.
    assert_eq!(failures(ThrottleScope::Address, "10.8.8.8".into()).await, 1);

    // Held by failures at a later step: the attempt is given back, nothing else is written.
    for at in [300, 310] {
        store
            .record_failure(ThrottleScope::Account, &account, at)
            .await
            .unwrap();
    }
    let (reserved, member) = reserve(400).await;
    let n = audit_count(store).await;
    let done = store
        .finish_sign_in(&finish(reserved, member, "si-2", 400))
        .await
        .unwrap();
    assert_eq!(done, SignInFinished::Held);
    assert_eq!(store.flow("si-2").await.unwrap(), None);
    assert_eq!(audit_count(store).await, n);
    assert_eq!(failures(ThrottleScope::UserId, m.user_id.clone()).await, 0);
    assert_eq!(failures(ThrottleScope::Account, account.clone()).await, 3);
    store
        .clear_failures(ThrottleScope::Account, &account)
        .await
        .unwrap();

    // At the top screen with no second factor left: back to method set-up, audited with the
    // sign-in, and the account's failures are cleared (no code is owed).
    force_step(store, &m, Step::Home).await;
    store
        .record_failure(ThrottleScope::Account, &account, 450)
        .await
        .unwrap();
    let (reserved, member) = reserve(500).await;
    let n = audit_count(store).await;
    let done = store
        .finish_sign_in(&finish(reserved, member, "si-3", 500))
        .await
        .unwrap();
    let SignInFinished::Started { member, plan, .. } = done else {
        panic!("{done:?}");
    };
    assert_eq!(plan.resting_after, Some(Step::MethodSetup));
    assert_eq!(
        (member.step, plan.shown),
        (Step::MethodSetup, Step::MethodSetup)
    );
    assert_eq!(
        store.member(m.id).await.unwrap().unwrap().step,
        Step::MethodSetup
    );
    assert_eq!(audit_count(store).await, n + 2);
    assert_eq!(failures(ThrottleScope::Account, account.clone()).await, 0);

    // At the top screen with the email method: the flow owes it first, the kinds are told, and
    // the account's failures stay until a code is accepted.
    force_step(store, &m, Step::Home).await;
    store
        .enable_email_factor(
            m.id,
            None,
            "si-3",
            &audit(Some(m.id), "email.enabled", 550),
            550,
        )
        .await
        .unwrap();
    store
        .record_failure(ThrottleScope::Account, &account, 560)
        .await
        .unwrap();
    let (reserved, member) = reserve(600).await;
    let done = store
        .finish_sign_in(&finish(reserved, member, "si-4", 600))
        .await
        .unwrap();
    let SignInFinished::Started {
        member,
        plan,
        factors,
    } = done
    else {
        panic!("{done:?}");
    };
    assert_eq!((member.step, plan.shown), (Step::Home, Step::SecondFactor));
    assert!(plan.second_factor_pending);
    let factors = factors.unwrap();
    assert_eq!(factors.total(), 1);
    assert_eq!(factors.kinds(), vec![Method::EmailOtp]);
    assert!(
        store
            .flow("si-4")
            .await
            .unwrap()
            .unwrap()
            .second_factor_pending
    );
    assert_eq!(failures(ThrottleScope::Account, account.clone()).await, 1);

    // A refused reservation reads no member and writes nothing.
    for at in [700, 701, 702] {
        store
            .record_failure(ThrottleScope::UserId, &m.user_id, at)
            .await
            .unwrap();
    }
    let (r, member) = store
        .reserve_sign_in(&keys(&m.user_id), &m.user_id, 703)
        .await
        .unwrap();
    assert!(matches!(r, AttemptReservation::Refused { .. }), "{r:?}");
    assert_eq!(member, None);
    assert_eq!(failures(ThrottleScope::UserId, m.user_id.clone()).await, 3);
    assert_eq!(failures(ThrottleScope::Address, "10.8.8.8".into()).await, 1);
}

/// Lifting a hold forgets the account's and the typed user ID's failures, with its audit entry.
async fn lifting_a_hold_clears_both_keys_and_audits(store: &dyn Store) {
    let m = seed(store, 1).await.remove(0);
    let key = m.id.to_string();
    for at in [10, 20] {
        store
            .record_failure(ThrottleScope::Account, &key, at)
            .await
            .unwrap();
        store
            .record_failure(ThrottleScope::UserId, &m.user_id, at)
            .await
            .unwrap();
    }
    let before = audit_count(store).await;
    let entry = audit(Some(m.id), "account.hold_lifted", 30);
    store.lift_hold(m.id, &m.user_id, &entry).await.unwrap();
    for (scope, k) in [
        (ThrottleScope::Account, key.as_str()),
        (ThrottleScope::UserId, &m.user_id),
    ] {
        assert_eq!(store.failures(scope, k).await.unwrap().failures, 0);
    }
    assert_eq!(audit_count(store).await, before + 1);
}

async fn throttle_counts_and_clears(store: &dyn Store) {
    let zero = store.failures(ThrottleScope::Account, "1").await.unwrap();
    assert_eq!((zero.failures, zero.last_failure_at), (0, 0));
    for (i, at) in [100, 110, 120].into_iter().enumerate() {
        let r = store
            .record_failure(ThrottleScope::Account, "1", at)
            .await
            .unwrap();
        assert_eq!((r.failures, r.last_failure_at), (i as u32 + 1, at));
    }
    store
        .record_failure(ThrottleScope::Address, "1", 130)
        .await
        .unwrap();
    let acc = store.failures(ThrottleScope::Account, "1").await.unwrap();
    assert_eq!((acc.failures, acc.last_failure_at), (3, 120));
    let addr = store.failures(ThrottleScope::Address, "1").await.unwrap();
    assert_eq!((addr.failures, addr.last_failure_at), (1, 130));
    store
        .clear_failures(ThrottleScope::Account, "1")
        .await
        .unwrap();
    assert_eq!(
        store
            .failures(ThrottleScope::Account, "1")
            .await
            .unwrap()
            .failures,
        0
    );
    assert_eq!(
        store
            .failures(ThrottleScope::Address, "1")
            .await
            .unwrap()
            .failures,
        1
    );
}

async fn record_failure_is_atomic(store: &dyn Store) {
    let counts = futures::future::join_all(
        (0..20).map(|i| store.record_failure(ThrottleScope::Address, "10.0.0.1", 100 + i)),
    )
    .await;
    let counts: BTreeSet<u32> = counts.into_iter().map(|r| r.unwrap().failures).collect();
    assert_eq!(counts, (1..=20).collect());
    let r = store
        .failures(ThrottleScope::Address, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(r.failures, 20);
}

async fn flows_live_and_die(store: &dyn Store) {
    let members = seed(store, 2).await;
    let a = flow(&members[0], "aa", 2_000);
    let b = flow(&members[0], "bb", 3_000);
    let c = flow(&members[1], "cc", 4_000);
    for f in [&a, &b, &c] {
        store.create_flow(f).await.unwrap();
    }
    assert_eq!(store.flow("aa").await.unwrap(), Some(a.clone()));
    assert_eq!(store.flow("zz").await.unwrap(), None);

    store.touch_flow("aa", 2_500).await.unwrap();
    assert_eq!(store.flow("aa").await.unwrap().unwrap().expires_at, 2_500);
    store.touch_flow("zz", 2_500).await.unwrap();

    store.end_flow("bb", None).await.unwrap();
    assert_eq!(store.flow("bb").await.unwrap(), None);
    store.end_flow("bb", None).await.unwrap();

    // The expiry instant itself is dead.
    assert_eq!(store.purge_expired_flows(2_499).await.unwrap(), 0);
    assert_eq!(store.purge_expired_flows(2_500).await.unwrap(), 1);
    assert_eq!(store.flow("aa").await.unwrap(), None);
    assert_eq!(store.flow("cc").await.unwrap(), Some(c));
}

async fn starting_a_flow_clears_failures_and_audits_together(store: &dyn Store) {
    let members = seed(store, 2).await;
    let (a, b) = (members[0].id.to_string(), members[1].id.to_string());
    for (scope, key) in [
        (ThrottleScope::Account, &a),
        (ThrottleScope::Account, &b),
        (ThrottleScope::Address, &"10.0.0.1".to_owned()),
    ] {
        store.record_failure(scope, key, 100).await.unwrap();
    }
    let entry = audit(Some(members[0].id), "sign_in", 200);
    let f = flow(&members[0], "s1", 9_000);
    let clear = [
        (ThrottleScope::Address, "10.0.0.1".to_owned()),
        (ThrottleScope::Account, a.clone()),
    ];
    store.start_flow(&f, &clear, &entry).await.unwrap();
    assert_eq!(store.flow("s1").await.unwrap(), Some(f.clone()));
    assert_eq!(store.audit_log(None, 10).await.unwrap(), vec![entry]);
    let failures = |scope, key: String| async move { store.failures(scope, &key).await.unwrap() };
    assert_eq!(failures(ThrottleScope::Account, a).await.failures, 0);
    assert_eq!(failures(ThrottleScope::Account, b).await.failures, 1);
    assert_eq!(
        failures(ThrottleScope::Address, "10.0.0.1".into())
            .await
            .failures,
        0
    );

    // A flow that cannot be stored (the token hash is taken) clears and audits nothing.
    store
        .record_failure(ThrottleScope::Address, "10.0.0.2", 300)
        .await
        .unwrap();
    let n = audit_count(store).await;
    let again = [(ThrottleScope::Address, "10.0.0.2".to_owned())];
    store
        .start_flow(&f, &again, &audit(Some(members[0].id), "sign_in", 300))
        .await
        .unwrap_err();
    assert_eq!(audit_count(store).await, n);
    assert_eq!(
        failures(ThrottleScope::Address, "10.0.0.2".into())
            .await
            .failures,
        1
    );
}

async fn ending_a_flow_audits_it_once(store: &dyn Store) {
    let members = seed(store, 1).await;
    let m = &members[0];
    store.create_flow(&flow(m, "e1", 9_000)).await.unwrap();
    store.create_flow(&flow(m, "e2", 9_000)).await.unwrap();
    let entry = audit(Some(m.id), "sign_out", 500);
    store.end_flow("e1", Some(&entry)).await.unwrap();
    assert_eq!(store.flow("e1").await.unwrap(), None);
    assert!(
        store.flow("e2").await.unwrap().is_some(),
        "only that flow ends"
    );
    assert_eq!(
        store.audit_log(None, 10).await.unwrap(),
        vec![entry.clone()]
    );
    // Ending it again (a concurrent sign-out) writes nothing.
    store.end_flow("e1", Some(&entry)).await.unwrap();
    assert_eq!(audit_count(store).await, 1);
}

const LOCK_AFTER_3: ThrottlePolicy = ThrottlePolicy {
    free_failures: 10,
    base_delay_secs: 1,
    max_delay_secs: 1,
    lock_after: 3,
    decay_secs: 0,
    cap: 0,
};

fn wrong_answer(m: &Member, address: &str, at: i64) -> FailedAttempt {
    FailedAttempt {
        at,
        address: address.to_owned(),
        account: Some(AccountFailure {
            member_id: m.id,
            policy: LOCK_AFTER_3,
            lock_audit: audit(Some(m.id), "account.locked", at),
        }),
    }
}

async fn a_locking_failure_ends_every_flow_and_audits_together(store: &dyn Store) {
    let members = seed(store, 2).await;
    let (m, other) = (&members[0], &members[1]);
    for (f, who) in [("l1", m), ("l2", m), ("o1", other)] {
        store.create_flow(&flow(who, f, 9_000)).await.unwrap();
    }
    // An unknown user ID counts for the address only.
    let out = store
        .record_failed_attempt(&FailedAttempt {
            at: 100,
            address: "10.0.0.9".to_owned(),
            account: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (out.address.failures, out.account, out.locked),
        (1, None, false)
    );
    for i in 1..=2 {
        let out = store
            .record_failed_attempt(&wrong_answer(m, "10.0.0.9", 100 + i))
            .await
            .unwrap();
        assert_eq!(out.address.failures, 1 + i as u32);
        assert_eq!(out.account.map(|r| r.failures), Some(i as u32));
        assert!(!out.locked);
    }
    assert_eq!(audit_count(store).await, 0);
    assert!(store.flow("l1").await.unwrap().is_some());

    let out = store
        .record_failed_attempt(&wrong_answer(m, "10.0.0.9", 110))
        .await
        .unwrap();
    assert!(out.locked);
    assert_eq!(out.account.map(|r| r.failures), Some(3));
    assert_eq!(store.flow("l1").await.unwrap(), None);
    assert_eq!(store.flow("l2").await.unwrap(), None);
    assert!(
        store.flow("o1").await.unwrap().is_some(),
        "other members keep theirs"
    );
    assert_eq!(
        store.audit_log(None, 10).await.unwrap(),
        vec![audit(Some(m.id), "account.locked", 110)]
    );
    let rec = store
        .failures(ThrottleScope::Address, "10.0.0.9")
        .await
        .unwrap();
    assert_eq!((rec.failures, rec.last_failure_at), (4, 110));
}

async fn ending_a_held_members_flows_audits_together(store: &dyn Store) {
    let members = seed(store, 2).await;
    let (m, other) = (&members[0], &members[1]);
    for (f, who) in [("h1", m), ("h2", m), ("h3", other)] {
        store.create_flow(&flow(who, f, 9_000)).await.unwrap();
    }
    let entry = audit(Some(m.id), "account.held", 700);
    assert_eq!(store.end_member_flows(m.id, &entry).await.unwrap(), 2);
    assert_eq!(store.flow("h1").await.unwrap(), None);
    assert_eq!(store.flow("h2").await.unwrap(), None);
    assert!(store.flow("h3").await.unwrap().is_some());
    assert_eq!(store.audit_log(None, 10).await.unwrap(), vec![entry]);
}

async fn changing_the_password_ends_the_other_flows_together(store: &dyn Store) {
    let members = seed(store, 2).await;
    let (m, other) = (&members[0], &members[1]);
    for (f, who) in [("p1", m), ("p2", m), ("p3", other)] {
        store.create_flow(&flow(who, f, 9_000)).await.unwrap();
    }
    let entry = audit(Some(m.id), "password.changed", 800);
    assert_eq!(
        store
            .change_password(m.id, "$argon2id$new", "p1", &entry)
            .await
            .unwrap(),
        1
    );
    assert!(
        store.flow("p1").await.unwrap().is_some(),
        "this flow goes on"
    );
    assert_eq!(store.flow("p2").await.unwrap(), None);
    assert!(
        store.flow("p3").await.unwrap().is_some(),
        "other members untouched"
    );
    let after = store.member(m.id).await.unwrap().unwrap();
    assert_eq!(after.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(store.audit_log(None, 10).await.unwrap(), vec![entry]);
    // An unknown member: nothing changes, nothing is audited.
    let missing = audit(None, "password.changed", 801);
    assert!(matches!(
        store.change_password(9_999_999, "$x", "p3", &missing).await,
        Err(tobira::store::StoreError::NotFound)
    ));
    assert!(store.flow("p3").await.unwrap().is_some());
    assert_eq!(store.audit_log(None, 10).await.unwrap().len(), 1);
}

async fn passing_the_birth_date_clears_account_failures(store: &dyn Store) {
    let members = seed(store, 2).await;
    let key = members[0].id.to_string();
    let other = members[1].id.to_string();
    store
        .record_failure(ThrottleScope::Account, &key, 100)
        .await
        .unwrap();
    store
        .record_failure(ThrottleScope::Account, &other, 100)
        .await
        .unwrap();
    store
        .record_failure(ThrottleScope::Address, "10.0.0.1", 100)
        .await
        .unwrap();
    store
        .create_flow(&flow(&members[0], "ff", 9_000))
        .await
        .unwrap();

    let entry = audit(Some(members[0].id), "birth_date.passed", 200);
    store.pass_birth_date("ff", &entry).await.unwrap();
    assert!(store.flow("ff").await.unwrap().unwrap().birth_verified);
    let f = |scope, key: String| async move { store.failures(scope, &key).await.unwrap() };
    assert_eq!(f(ThrottleScope::Account, key).await.failures, 0);
    assert_eq!(f(ThrottleScope::Account, other).await.failures, 1);
    assert_eq!(
        f(ThrottleScope::Address, "10.0.0.1".into()).await.failures,
        1
    );
    assert_eq!(store.audit_log(None, 10).await.unwrap(), vec![entry]);

    let n = audit_count(store).await;
    let err = store
        .pass_birth_date("nope", &audit(None, "x", 300))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(audit_count(store).await, n);
}

async fn apply_changes_everything_together(store: &dyn Store) {
    let members = seed(store, 1).await;
    let m = &members[0];
    store.create_flow(&flow(m, "f1", 9_000)).await.unwrap();

    let mut t = transition(m, Step::Terms, Step::Email, 2_000);
    t.changes.terms_accepted_at = Some(1_999);
    let after = store.apply(&t).await.unwrap();
    assert_eq!(after.step, Step::Email);
    assert_eq!(after.terms_accepted_at, Some(1_999));
    assert_eq!(after.updated_at, 2_000);
    assert_eq!(after.email, m.email);
    assert!(store.flow("f1").await.unwrap().is_some());

    // Verify the address first, so the next change visibly clears the verification.
    let mut t = transition(m, Step::Email, Step::AwaitingVerification, 2_100);
    t.email_token = Some(token(m, "t0", &m.email, 9_000));
    store.apply(&t).await.unwrap();
    store.consume_email_token("t0", 2_200).await.unwrap();
    let verified = store.member(m.id).await.unwrap().unwrap();
    assert_eq!(verified.step, Step::ChooseMethod);
    assert_eq!(verified.email_verified_at, Some(2_200));

    let mut t = transition(m, Step::ChooseMethod, Step::NewCredentials, 2_300);
    t.changes.method = Some(Method::TotpApp);
    t.changes.email = Some("changed@example.jp".to_owned());
    t.email_token = Some(token(m, "t1", "changed@example.jp", 9_000));
    let after = store.apply(&t).await.unwrap();
    assert_eq!(after.method, Some(Method::TotpApp));
    assert_eq!(after.email, "changed@example.jp");
    assert_eq!(after.email_verified_at, None);

    let mut t = transition(m, Step::NewCredentials, Step::Complete, 2_400);
    t.changes.password_hash = Some("$argon2id$v=19$own".to_owned());
    t.changes.user_id = Some("mynewid01".to_owned());
    t.end_flows = true;
    t.audit = audit(Some(m.id), "credentials.set", 2_400);
    let after = store.apply(&t).await.unwrap();
    assert_eq!(after.step, Step::Complete);
    assert_eq!(after.password_hash.as_deref(), Some("$argon2id$v=19$own"));
    assert_eq!(after.user_id, "mynewid01");
    assert_eq!(after.method, Some(Method::TotpApp));
    assert_eq!(after.terms_accepted_at, Some(1_999));
    assert_eq!(after.card, m.card);
    assert_eq!(after.created_at, 1_000);
    assert_eq!(store.flow("f1").await.unwrap(), None);
    assert_eq!(store.member(m.id).await.unwrap(), Some(after.clone()));
    assert_eq!(
        store.member_by_user_id("mynewid01").await.unwrap(),
        Some(after)
    );
    let log = store.audit_log(Some(m.id), 1).await.unwrap();
    assert_eq!(log, vec![audit(Some(m.id), "credentials.set", 2_400)]);

    let err = store
        .apply(&Transition {
            member_id: m.id + 1_000,
            ..transition(m, Step::Complete, Step::Home, 2_500)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

/// A transition that touches everything, to prove a refused one touches nothing.
fn sweeping(m: &Member, from: Step, user_id: &str) -> Transition {
    let mut t = transition(m, from, Step::ChooseMethod, 5_000);
    t.changes = MemberChanges {
        email: Some("sweep@example.jp".to_owned()),
        method: Some(Method::Passkey),
        password_hash: Some("$argon2id$v=19$sweep".to_owned()),
        user_id: Some(user_id.to_owned()),
        terms_accepted_at: Some(4_999),
    };
    t.email_token = Some(token(m, "sweep", "sweep@example.jp", 9_000));
    t.end_flows = true;
    t
}

async fn apply_refuses_the_wrong_step_and_changes_nothing(store: &dyn Store) {
    let members = seed(store, 1).await;
    let m = &members[0];
    store.create_flow(&flow(m, "f1", 9_000)).await.unwrap();
    let mut t = transition(m, Step::Terms, Step::Email, 1_100);
    t.email_token = Some(token(m, "old", &m.email, 9_000));
    let before = store.apply(&t).await.unwrap();
    let n = audit_count(store).await;

    let err = store
        .apply(&sweeping(m, Step::Terms, "fresh0001"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::StepMismatch {
                current: Step::Email
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.member(m.id).await.unwrap(), Some(before));
    assert_eq!(audit_count(store).await, n);
    assert!(store.flow("f1").await.unwrap().is_some());
    assert_eq!(
        store.consume_email_token("sweep", 2_000).await.unwrap(),
        EmailTokenOutcome::Unknown
    );
    assert!(matches!(
        store.consume_email_token("old", 2_000).await.unwrap(),
        EmailTokenOutcome::Verified { .. }
    ));
}

async fn apply_refuses_a_taken_user_id_and_changes_nothing(store: &dyn Store) {
    let members = seed(store, 2).await;
    assert_eq!(members[0].lang, None, "no language before the first flow");
    store
        .create_flow(&flow(&members[0], "f1", 9_000))
        .await
        .unwrap();
    // A flow's language becomes the member's (the helpdesk's mail is written in it).
    let m = &store.member(members[0].id).await.unwrap().unwrap();
    assert_eq!(m.lang.as_deref(), Some("en"));
    let n = audit_count(store).await;

    let err = store
        .apply(&sweeping(m, Step::Terms, &members[1].user_id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UserIdTaken), "{err:?}");
    assert_eq!(store.member(m.id).await.unwrap().as_ref(), Some(m));
    assert_eq!(
        store.member(members[1].id).await.unwrap().as_ref(),
        Some(&members[1])
    );
    assert_eq!(audit_count(store).await, n);
    assert!(store.flow("f1").await.unwrap().is_some());
    assert_eq!(
        store.consume_email_token("sweep", 2_000).await.unwrap(),
        EmailTokenOutcome::Unknown
    );

    // Keeping one's own user ID is not a conflict.
    let after = store
        .apply(&sweeping(m, Step::Terms, &m.user_id))
        .await
        .unwrap();
    assert_eq!(after.user_id, m.user_id);
    assert_eq!(after.step, Step::ChooseMethod);
}

/// The store is the last line of defence for lower-case user IDs: a caller that forgets to
/// normalise one gets an error, not a second spelling of an existing ID.
async fn user_ids_are_stored_lower_case_only(store: &dyn Store) {
    let members = seed(store, 1).await;
    let m = &members[0];
    let n = audit_count(store).await;
    let mut t = sweeping(m, Step::Terms, "Upper0001");
    t.email_token = None;
    let err = store.apply(&t).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Database(_)),
        "an upper-case user ID must be refused: {err:?}"
    );
    assert_eq!(store.member(m.id).await.unwrap().as_ref(), Some(m));
    assert_eq!(audit_count(store).await, n);
    assert!(
        store
            .member_by_user_id("upper0001")
            .await
            .unwrap()
            .is_none()
    );
    let after = store
        .apply(&sweeping(m, Step::Terms, "lower0001"))
        .await
        .unwrap();
    assert_eq!(after.user_id, "lower0001");
}

async fn a_new_email_token_replaces_the_old(store: &dyn Store) {
    let members = seed(store, 2).await;
    let m = &members[0];
    let mut t = transition(m, Step::Email, Step::AwaitingVerification, 2_000);
    force_step(store, m, Step::Email).await;
    t.email_token = Some(token(m, "first", &m.email, 9_000));
    store.apply(&t).await.unwrap();
    // Another member's link is not touched.
    let mut other = transition(&members[1], Step::Terms, Step::Terms, 2_000);
    other.email_token = Some(token(&members[1], "theirs", &members[1].email, 9_000));
    store.apply(&other).await.unwrap();

    let mut t = transition(
        m,
        Step::AwaitingVerification,
        Step::AwaitingVerification,
        2_100,
    );
    t.email_token = Some(token(m, "second", &m.email, 9_000));
    store.apply(&t).await.unwrap();

    assert_eq!(
        store.consume_email_token("first", 2_200).await.unwrap(),
        EmailTokenOutcome::Unknown
    );
    assert!(matches!(
        store.consume_email_token("second", 2_200).await.unwrap(),
        EmailTokenOutcome::Verified { .. }
    ));
    assert!(matches!(
        store.consume_email_token("theirs", 2_200).await.unwrap(),
        EmailTokenOutcome::Verified { .. }
    ));
}

async fn consuming_an_email_token(store: &dyn Store) {
    let members = seed(store, 2).await;
    let m = &members[0];
    force_step(store, m, Step::Email).await;
    let mut t = transition(m, Step::Email, Step::AwaitingVerification, 2_000);
    t.email_token = Some(EmailToken {
        lang: "en".to_owned(),
        ..token(m, "link", &m.email, 3_000)
    });
    store.apply(&t).await.unwrap();
    let n = audit_count(store).await;

    let out = store.consume_email_token("link", 2_500).await.unwrap();
    let EmailTokenOutcome::Verified { member, lang } = out else {
        panic!("{out:?}");
    };
    assert_eq!(lang, "en");
    assert_eq!(member.step, Step::ChooseMethod);
    assert_eq!(member.email_verified_at, Some(2_500));
    assert_eq!(member.updated_at, 2_500);
    assert_eq!(store.member(m.id).await.unwrap().as_ref(), Some(&*member));
    assert_eq!(audit_count(store).await, n + 1);
    let entry = &store.audit_log(Some(m.id), 1).await.unwrap()[0];
    assert_eq!(
        (entry.at, entry.actor.as_str(), entry.action.as_str()),
        (2_500, format!("member:{}", m.id).as_str(), "email.verified")
    );

    assert_eq!(
        store.consume_email_token("link", 2_600).await.unwrap(),
        EmailTokenOutcome::AlreadyUsed {
            lang: "en".to_owned()
        }
    );
    assert_eq!(
        store.consume_email_token("never", 2_600).await.unwrap(),
        EmailTokenOutcome::Unknown
    );
    assert_eq!(audit_count(store).await, n + 1);

    // Expired at the expiry instant; a member not waiting keeps their step.
    let m1 = &members[1];
    let mut t = transition(m1, Step::Terms, Step::Terms, 2_000);
    t.email_token = Some(token(m1, "late", &m1.email, 3_000));
    store.apply(&t).await.unwrap();
    assert_eq!(
        store.consume_email_token("late", 3_000).await.unwrap(),
        EmailTokenOutcome::Expired {
            lang: "ja".to_owned()
        }
    );
    assert_eq!(
        store
            .member(m1.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified_at,
        None
    );
    let out = store.consume_email_token("late", 2_999).await.unwrap();
    let EmailTokenOutcome::Verified { member, .. } = out else {
        panic!("{out:?}");
    };
    assert_eq!(member.step, Step::Terms);
    assert_eq!(member.email_verified_at, Some(2_999));
}

/// A roster import run leaves one audit entry however many batches it takes (never one per row).
async fn an_import_run_is_audited_once(store: &dyn Store) {
    let rows = tobira::import::BATCH as u64 + 3;
    let mut csv = String::from("symbol,number,birthdate,name,email,user_id\n");
    for i in 0..rows {
        let r = demo_row(i);
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.card.symbol, r.card.number, r.birth_date, r.name, r.email, r.user_id
        ));
    }
    csv.push_str("12,bad,1980-01-01,x,x@example.jp,bad00001\n");
    let today = time::macros::date!(2026 - 11 - 25);
    let report =
        tobira::import::import_roster(store, std::io::Cursor::new(csv), today, 4_000, |_| {})
            .await
            .unwrap();
    assert_eq!((report.imported, report.rejected.len()), (rows, 1));
    let log = store.audit_log(None, 10).await.unwrap();
    assert_eq!(
        log,
        vec![AuditEntry {
            at: 4_000,
            actor: "import".to_owned(),
            member_id: None,
            action: "roster.imported".to_owned(),
            detail: format!("{rows} imported, 0 updated, 0 unchanged, 1 rejected"),
        }]
    );
}

async fn the_audit_log_reads_newest_first(store: &dyn Store) {
    let members = seed(store, 2).await;
    let entries: Vec<AuditEntry> = (0..5)
        .map(|i| {
            audit(
                Some(members[(i % 2) as usize].id),
                &format!("a{i}"),
                100 + i,
            )
        })
        .chain([audit(None, "system.start", 200)])
        .collect();
    for e in &entries {
        store.append_audit(e).await.unwrap();
    }
    let all = store.audit_log(None, 100).await.unwrap();
    let newest_first: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
    assert_eq!(all, newest_first);
    assert_eq!(store.audit_log(None, 2).await.unwrap(), newest_first[..2]);
    let mine = store.audit_log(Some(members[1].id), 100).await.unwrap();
    assert_eq!(mine, vec![entries[3].clone(), entries[1].clone()]);
}

fn pending(member: &Member, sealed: &[u8], at: i64) -> PendingTotp {
    PendingTotp {
        member_id: member.id,
        sealed_secret: sealed.to_vec(),
        params: TotpParams::default(),
        created_at: at,
    }
}

fn confirmation(member: &Member, sealed: &[u8], name: &str, step: u64) -> TotpConfirmation {
    TotpConfirmation {
        member_id: member.id,
        sealed_secret: sealed.to_vec(),
        name: name.to_owned(),
        step,
        max_devices: 3,
        step_change: None,
        audit: audit(Some(member.id), "totp.enrolled", 3_000),
        at: 3_000,
        keep_flow: None,
    }
}

/// Enrolls a device from scratch (start + confirm) for a member at any step.
async fn enroll(store: &dyn Store, member: &Member, sealed: &[u8], name: &str) -> TotpCredential {
    store
        .start_totp_enrollment(&pending(member, sealed, 2_000))
        .await
        .unwrap();
    store
        .confirm_totp_enrollment(&confirmation(member, sealed, name, 100))
        .await
        .unwrap()
        .1
}

async fn a_pending_enrollment_is_kept_until_confirmed(store: &dyn Store) {
    let members = seed(store, 2).await;
    let m = force_step(store, &members[0], Step::MethodSetup).await;
    assert_eq!(store.totp_enrollment(m.id).await.unwrap(), None);
    let first = store
        .start_totp_enrollment(&pending(&m, b"sealed-1", 2_000))
        .await
        .unwrap();
    assert_eq!(first, pending(&m, b"sealed-1", 2_000));
    // Starting again (the member reloaded the screen) keeps the first secret.
    let again = store
        .start_totp_enrollment(&pending(&m, b"sealed-2", 2_100))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(store.totp_enrollment(m.id).await.unwrap(), Some(first));
    assert_eq!(store.totp_enrollment(members[1].id).await.unwrap(), None);
    assert!(
        !format!("{again:?}").contains("sealed-1"),
        "Debug hides the sealed secret"
    );

    // Confirming moves the member home, registers the device and clears the account's failures.
    store
        .record_failure(ThrottleScope::Account, &m.id.to_string(), 2_500)
        .await
        .unwrap();
    let audits = audit_count(store).await;
    let mut c = confirmation(&m, b"sealed-1", "iPhone", 60_000_000);
    c.step_change = Some((Step::MethodSetup, Step::Home));
    let (member, cred) = store.confirm_totp_enrollment(&c).await.unwrap();
    assert_eq!(member.step, Step::Home);
    assert_eq!(cred.name, "iPhone");
    assert_eq!(cred.sealed_secret, b"sealed-1");
    assert_eq!(cred.params, TotpParams::default());
    assert_eq!(cred.last_used_step, Some(60_000_000));
    assert_eq!((cred.created_at, cred.last_used_at), (3_000, Some(3_000)));
    assert_eq!(store.totp_enrollment(m.id).await.unwrap(), None);
    assert_eq!(store.totp_credentials(m.id).await.unwrap(), vec![cred]);
    assert_eq!(
        store
            .failures(ThrottleScope::Account, &m.id.to_string())
            .await
            .unwrap()
            .failures,
        0
    );
    assert_eq!(audit_count(store).await, audits + 1);
    // A second confirmation finds the member moved on, or nothing pending.
    assert!(matches!(
        store.confirm_totp_enrollment(&c).await,
        Err(StoreError::StepMismatch {
            current: Step::Home
        })
    ));
    c.step_change = None;
    assert!(matches!(
        store.confirm_totp_enrollment(&c).await,
        Err(StoreError::NoEnrollment)
    ));
}

async fn confirming_refuses_and_changes_nothing(store: &dyn Store) {
    let members = seed(store, 1).await;
    let m = force_step(store, &members[0], Step::MethodSetup).await;
    enroll(store, &m, b"s0", "Pixel").await;
    store
        .start_totp_enrollment(&pending(&m, b"s1", 2_000))
        .await
        .unwrap();
    let audits = audit_count(store).await;

    // Another secret than the pending one (the enrollment was replaced under the request).
    assert!(matches!(
        store
            .confirm_totp_enrollment(&confirmation(&m, b"other", "Two", 5))
            .await,
        Err(StoreError::NoEnrollment)
    ));
    // A name the member already uses, in another ASCII case.
    assert!(matches!(
        store
            .confirm_totp_enrollment(&confirmation(&m, b"s1", "pixel", 5))
            .await,
        Err(StoreError::DeviceNameTaken)
    ));
    // The step the change expects is not the member's.
    let mut c = confirmation(&m, b"s1", "Two", 5);
    c.step_change = Some((Step::Terms, Step::Email));
    assert!(matches!(
        store.confirm_totp_enrollment(&c).await,
        Err(StoreError::StepMismatch {
            current: Step::MethodSetup
        })
    ));
    // The limit.
    let mut c = confirmation(&m, b"s1", "Two", 5);
    c.max_devices = 1;
    assert!(matches!(
        store.confirm_totp_enrollment(&c).await,
        Err(StoreError::TooManyDevices)
    ));
    assert_eq!(audit_count(store).await, audits);
    assert_eq!(store.totp_credentials(m.id).await.unwrap().len(), 1);
    assert!(store.totp_enrollment(m.id).await.unwrap().is_some());
    assert_eq!(
        store.member(m.id).await.unwrap().unwrap().step,
        Step::MethodSetup
    );
    // And then it works.
    store
        .confirm_totp_enrollment(&confirmation(&m, b"s1", "Two", 5))
        .await
        .unwrap();
    assert_eq!(store.totp_credentials(m.id).await.unwrap().len(), 2);
}

async fn a_step_is_used_once(store: &dyn Store) {
    let members = seed(store, 2).await;
    let m = &members[0];
    let cred = enroll(store, m, b"s", "Phone").await;
    let f = Flow {
        second_factor_pending: true,
        ..flow(m, "h-2fa", 10_000)
    };
    store.create_flow(&f).await.unwrap();
    assert!(
        store
            .flow("h-2fa")
            .await
            .unwrap()
            .unwrap()
            .second_factor_pending
    );
    store
        .record_failure(ThrottleScope::Account, &m.id.to_string(), 2_500)
        .await
        .unwrap();
    let using = |step: u64, flow: Option<&str>| TotpUse {
        member_id: m.id,
        credential_id: cred.id,
        step,
        flow_token_hash: flow.map(str::to_owned),
        audit: audit(Some(m.id), "totp.used", 4_000),
        at: 4_000 + step as i64,
    };
    let audits = audit_count(store).await;
    // The enrollment's own step (100) and older ones are replays.
    assert!(
        !store
            .use_totp_step(&using(100, Some("h-2fa")))
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_totp_step(&using(99, Some("h-2fa")))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(store).await, audits);
    assert!(
        store
            .flow("h-2fa")
            .await
            .unwrap()
            .unwrap()
            .second_factor_pending
    );
    assert_eq!(
        store
            .failures(ThrottleScope::Account, &m.id.to_string())
            .await
            .unwrap()
            .failures,
        1,
        "a replay changes nothing"
    );

    assert!(
        store
            .use_totp_step(&using(101, Some("h-2fa")))
            .await
            .unwrap()
    );
    let after = &store.totp_credentials(m.id).await.unwrap()[0];
    assert_eq!(
        (after.last_used_step, after.last_used_at),
        (Some(101), Some(4_101))
    );
    assert!(
        !store
            .flow("h-2fa")
            .await
            .unwrap()
            .unwrap()
            .second_factor_pending
    );
    assert_eq!(
        store
            .failures(ThrottleScope::Account, &m.id.to_string())
            .await
            .unwrap()
            .failures,
        0
    );
    assert_eq!(audit_count(store).await, audits + 1);
    assert_eq!(
        store.audit_log(None, 1).await.unwrap(),
        vec![audit(Some(m.id), "totp.used", 4_000)],
        "the entry as given"
    );
    assert!(!store.use_totp_step(&using(101, None)).await.unwrap());
    // Another member cannot use this device.
    let stranger = TotpUse {
        member_id: members[1].id,
        ..using(500, None)
    };
    assert!(!store.use_totp_step(&stranger).await.unwrap());
}

async fn a_step_is_used_once_under_concurrency(store: &dyn Store) {
    let members = seed(store, 1).await;
    let m = &members[0];
    let cred = enroll(store, m, b"s", "Phone").await;
    let using = TotpUse {
        member_id: m.id,
        credential_id: cred.id,
        step: 200,
        flow_token_hash: None,
        audit: audit(Some(m.id), "totp.used", 4_000),
        at: 4_000,
    };
    let attempts = (0..8).map(|_| store.use_totp_step(&using));
    let won = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
}

async fn devices_are_renamed_and_removed_but_never_the_last(store: &dyn Store) {
    let members = seed(store, 2).await;
    let m = &members[0];
    let a = enroll(store, m, b"a", "A").await;
    let b = enroll(store, m, b"b", "B").await;
    let other = enroll(store, &members[1], b"c", "C").await;
    let note = audit(Some(m.id), "totp.changed", 5_000);

    let renamed = store
        .rename_totp_credential(m.id, a.id, "Work phone", &note)
        .await
        .unwrap();
    assert_eq!(renamed.name, "Work phone");
    assert!(matches!(
        store.rename_totp_credential(m.id, a.id, "b", &note).await,
        Err(StoreError::DeviceNameTaken)
    ));
    assert!(matches!(
        store
            .rename_totp_credential(m.id, other.id, "Mine", &note)
            .await,
        Err(StoreError::NotFound)
    ));
    // The other member may use a name this one has.
    store
        .rename_totp_credential(members[1].id, other.id, "Work phone", &note)
        .await
        .unwrap();

    assert!(matches!(
        store
            .remove_totp_credential(m.id, other.id, Actor::Member(m.id), &note)
            .await,
        Err(StoreError::NotFound)
    ));
    let audits = audit_count(store).await;
    store
        .remove_totp_credential(m.id, b.id, Actor::Member(m.id), &note)
        .await
        .unwrap();
    assert_eq!(audit_count(store).await, audits + 1);
    assert!(matches!(
        store
            .remove_totp_credential(m.id, a.id, Actor::Member(m.id), &note)
            .await,
        Err(StoreError::LastSecondFactor)
    ));
    assert_eq!(audit_count(store).await, audits + 1);
    let left: Vec<String> = store
        .totp_credentials(m.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(left, vec!["Work phone"]);
}

// ---------------------------------------------------------------- passkeys (issue 6)

fn ceremony(
    flow_hash: &str,
    member: &Member,
    kind: CeremonyKind,
    state: &str,
    at: i64,
) -> PasskeyCeremony {
    PasskeyCeremony {
        flow_token_hash: flow_hash.to_owned(),
        kind,
        member_id: member.id,
        state: state.to_owned(),
        created_at: at,
        expires_at: at + 300,
    }
}

fn passkey(
    member: &Member,
    name: &str,
    cred: &str,
    step_change: Option<(Step, Step)>,
) -> PasskeyEnrollment {
    PasskeyEnrollment {
        member_id: member.id,
        name: name.to_owned(),
        credential_id: cred.to_owned(),
        passkey: format!(r#"{{"cred":"{cred}"}}"#),
        max_passkeys: 2,
        step_change,
        audit: audit(Some(member.id), "passkey.enrolled", 2_000),
        at: 2_000,
        keep_flow: None,
    }
}

async fn a_ceremony_is_taken_once_replaced_by_a_new_start_and_dies_with_its_flow(
    store: &dyn Store,
) {
    let members = seed(store, 1).await;
    let m = &members[0];
    store.create_flow(&flow(m, "f1", 10_000)).await.unwrap();
    let reg = CeremonyKind::Registration;
    store
        .save_passkey_ceremony(&ceremony("f1", m, reg, "first", 1_000))
        .await
        .unwrap();
    store
        .save_passkey_ceremony(&ceremony("f1", m, reg, "second", 1_010))
        .await
        .unwrap();
    // The other kind is separate.
    assert_eq!(
        store
            .take_passkey_ceremony("f1", CeremonyKind::Authentication, 1_020)
            .await
            .unwrap(),
        None
    );
    let taken = store
        .take_passkey_ceremony("f1", reg, 1_020)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.state, "second");
    assert_eq!(
        store.take_passkey_ceremony("f1", reg, 1_021).await.unwrap(),
        None
    );
    // Expired: never handed out.
    store
        .save_passkey_ceremony(&ceremony("f1", m, reg, "old", 1_000))
        .await
        .unwrap();
    assert_eq!(
        store.take_passkey_ceremony("f1", reg, 1_300).await.unwrap(),
        None
    );
    // Ending the flow ends its ceremonies.
    store
        .save_passkey_ceremony(&ceremony("f1", m, reg, "x", 1_000))
        .await
        .unwrap();
    store.end_flow("f1", None).await.unwrap();
    assert_eq!(
        store.take_passkey_ceremony("f1", reg, 1_001).await.unwrap(),
        None
    );
}

async fn passkeys_are_added_used_renamed_and_removed_but_never_the_last_factor(store: &dyn Store) {
    let members = seed(store, 2).await;
    let m = force_step(store, &members[0], Step::MethodSetup).await;
    let other = &members[1];
    store
        .create_flow(&Flow {
            second_factor_pending: true,
            ..flow(&m, "f", 10_000)
        })
        .await
        .unwrap();
    // At method set-up: the step moves to home in the same transaction.
    let (after, first) = store
        .add_passkey(&passkey(
            &m,
            "Key",
            "cred-1",
            Some((Step::MethodSetup, Step::Home)),
        ))
        .await
        .unwrap();
    assert_eq!(after.step, Step::Home);
    assert_eq!(first.credential_id, "cred-1");
    // The step change is checked: nothing is stored when the member moved on.
    assert!(matches!(
        store
            .add_passkey(&passkey(
                &m,
                "Other",
                "cred-2",
                Some((Step::MethodSetup, Step::Home))
            ))
            .await,
        Err(StoreError::StepMismatch {
            current: Step::Home
        })
    ));
    // One credential id, one passkey, whoever registers it; names per member.
    assert!(matches!(
        store
            .add_passkey(&passkey(other, "Copy", "cred-1", None))
            .await,
        Err(StoreError::CredentialTaken)
    ));
    assert!(matches!(
        store.add_passkey(&passkey(&m, "KEY", "cred-2", None)).await,
        Err(StoreError::DeviceNameTaken)
    ));
    let (_, second) = store
        .add_passkey(&passkey(&m, "Phone", "cred-2", None))
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_passkey(&passkey(&m, "Third", "cred-3", None))
            .await,
        Err(StoreError::TooManyDevices)
    ));
    assert_eq!(store.passkeys(m.id).await.unwrap().len(), 2);

    // A use stores the new state and the time, and the flow no longer owes a second factor.
    store
        .use_passkey(&PasskeyUse {
            member_id: m.id,
            id: first.id,
            passkey: Some("updated".to_owned()),
            flow_token_hash: "f".to_owned(),
            audit: audit(Some(m.id), "passkey.verified", 3_000),
            at: 3_000,
        })
        .await
        .unwrap();
    let used = &store.passkeys(m.id).await.unwrap()[0];
    assert_eq!(
        (used.passkey.as_str(), used.last_used_at),
        ("updated", Some(3_000))
    );
    assert!(
        !store
            .flow("f")
            .await
            .unwrap()
            .unwrap()
            .second_factor_pending
    );

    let note = audit(Some(m.id), "passkey.changed", 4_000);
    assert_eq!(
        store
            .rename_passkey(m.id, first.id, "Office", &note)
            .await
            .unwrap()
            .name,
        "Office"
    );
    assert!(matches!(
        store
            .rename_passkey(other.id, first.id, "Mine", &note)
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .remove_passkey(m.id, second.id, Actor::Member(m.id), &note)
        .await
        .unwrap();
    assert!(matches!(
        store
            .remove_passkey(m.id, first.id, Actor::Member(m.id), &note)
            .await,
        Err(StoreError::LastSecondFactor)
    ));
    // An authenticator app counts as a second factor too, both ways.
    let app = enroll(store, &m, b"s", "App").await;
    store
        .remove_passkey(m.id, first.id, Actor::Member(m.id), &note)
        .await
        .unwrap();
    assert!(matches!(
        store
            .remove_totp_credential(m.id, app.id, Actor::Member(m.id), &note)
            .await,
        Err(StoreError::LastSecondFactor)
    ));
}

/// Who removes decides (issue 10): staff may remove a member's last factor of any kind (the
/// helpdesk's lost device), a member never their last and never another member's.
async fn staff_may_remove_the_last_factor_and_members_only_their_own(store: &dyn Store) {
    let members = seed(store, 2).await;
    let (m, other) = (&members[0], &members[1]);
    let app = enroll(store, m, b"s", "App").await;
    let note = audit(Some(m.id), "factor.removed", 5_000);
    assert!(matches!(
        store
            .remove_totp_credential(m.id, app.id, Actor::Member(other.id), &note)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .remove_totp_credential(m.id, app.id, Actor::System, &note)
            .await,
        Err(StoreError::LastSecondFactor)
    ));
    let audits = audit_count(store).await;
    store
        .remove_totp_credential(m.id, app.id, Actor::Staff(1), &note)
        .await
        .unwrap();
    assert_eq!(audit_count(store).await, audits + 1);
    assert_eq!(store.second_factor_count(m.id).await.unwrap(), 0);

    let m = force_step(store, m, Step::MethodSetup).await;
    store
        .enable_email_factor(
            m.id,
            Some((Step::MethodSetup, Step::Home)),
            "no-flow",
            &note,
            5_100,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .remove_email_factor(m.id, Actor::Member(m.id), &note, 5_200)
            .await,
        Err(StoreError::LastSecondFactor)
    ));
    store
        .remove_email_factor(m.id, Actor::Staff(1), &note, 5_200)
        .await
        .unwrap();
    assert!(store.email_factor(m.id).await.unwrap().is_none());
    // The member who had chosen the email method goes on with authenticator apps.
    assert_eq!(
        store.member(m.id).await.unwrap().unwrap().method,
        Some(Method::TotpApp)
    );
}

// ---------------------------------------------------------------- issue 13: helpdesk actions

/// A queued mail with an empty sealed body (the store never opens it).
fn helpdesk_mail(to: &str) -> tobira::store::NewMail {
    tobira::store::NewMail {
        kind: "helpdesk_notice".to_owned(),
        to: to.to_owned(),
        subject: "notice".to_owned(),
        sealed_body: Vec::new(),
    }
}

async fn a_helpdesk_change_is_one_transaction_with_its_audit_and_mails(store: &dyn Store) {
    use tobira::store::{HelpdeskChange, HelpdeskWrite};
    let members = seed(store, 1).await;
    let m = &members[0];
    let app = enroll(store, m, b"s", "App").await;
    store.create_flow(&flow(m, "h1", 9_000)).await.unwrap();
    assert!(!store.flow_owes_password("h1").await.unwrap());
    let write = |change: HelpdeskChange| HelpdeskWrite {
        member_id: m.id,
        change,
        audit: AuditEntry::new(
            6_000,
            Actor::Staff(1),
            tobira::domain::AuditAction::HelpdeskRemoveFactor,
            Some(m.id),
            "factors 1→0",
        ),
        mails: vec![helpdesk_mail(&m.email)],
        claim_until: 6_600,
        at: 6_000,
    };
    let audits = audit_count(store).await;
    let queued = store.mail_queue_report(0).await.unwrap().pending;
    // A factor the member does not have: nothing at all is written.
    let missing = store
        .helpdesk_change(&write(HelpdeskChange::RemoveFactor {
            method: Method::TotpApp,
            id: app.id + 100,
        }))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(audit_count(store).await, audits);
    assert_eq!(store.mail_queue_report(0).await.unwrap().pending, queued);
    assert!(store.flow("h1").await.unwrap().is_some());

    // The last factor goes (staff may), the member's flows with it, audited and noticed.
    let ids = store
        .helpdesk_change(&write(HelpdeskChange::RemoveFactor {
            method: Method::TotpApp,
            id: app.id,
        }))
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(store.second_factor_count(m.id).await.unwrap(), 0);
    assert!(store.flow("h1").await.unwrap().is_none());
    assert_eq!(audit_count(store).await, audits + 1);
    assert_eq!(
        store.mail_queue_report(0).await.unwrap().pending,
        queued + 1
    );

    // Unlock forgets the account's failures and the typed user ID's.
    for (scope, key) in [
        (ThrottleScope::Account, m.id.to_string()),
        (ThrottleScope::UserId, m.user_id.clone()),
    ] {
        store.record_failure(scope, &key, 6_100).await.unwrap();
    }
    store
        .helpdesk_change(&write(HelpdeskChange::Unlock {
            user_id: m.user_id.clone(),
        }))
        .await
        .unwrap();
    for (scope, key) in [
        (ThrottleScope::Account, m.id.to_string()),
        (ThrottleScope::UserId, m.user_id.clone()),
    ] {
        assert_eq!(store.failures(scope, &key).await.unwrap().failures, 0);
    }
}

// ---------------------------------------------------------------- wrappers

/// The wrappers of the suite, from one list: each test in `both` runs on a SQLite file, on an
/// in-memory SQLite database and on a fresh database of the test PostgreSQL server
/// (`common/postgres.rs`); each in `sqlite_only` on the two SQLite ones.
macro_rules! conformance_suite {
    (
        both: [$($both:ident),* $(,)?],
        sqlite_only: [$($lite:ident),* $(,)?] $(,)?
    ) => {
        mod sqlite_file {
            $(
                #[tokio::test]
                async fn $both() {
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("tobira.db");
                    let store = super::SqliteStore::open(path.to_str().unwrap()).await.unwrap();
                    super::$both(&store).await;
                }
            )*
            $(
                #[tokio::test]
                async fn $lite() {
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("tobira.db");
                    let store = super::SqliteStore::open(path.to_str().unwrap()).await.unwrap();
                    super::$lite(&store).await;
                }
            )*
        }
        mod sqlite_memory {
            $(
                #[tokio::test]
                async fn $both() {
                    let store = super::SqliteStore::open_in_memory().await.unwrap();
                    super::$both(&store).await;
                }
            )*
            $(
                #[tokio::test]
                async fn $lite() {
                    let store = super::SqliteStore::open_in_memory().await.unwrap();
                    super::$lite(&store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $both() {
                    let url = super::pg_harness::fresh_database().await;
                    let store = super::PgStore::connect(&url).await.unwrap();
                    super::$both(&store).await;
                }
            )*
        }
    };
}

// ---------------------------------------------------------------- issue 5: mail queue, codes

fn new_mail(to: &str) -> tobira::store::NewMail {
    tobira::store::NewMail {
        kind: "test".to_owned(),
        to: to.to_owned(),
        subject: "件名".to_owned(),
        sealed_body: b"sealed 123456".to_vec(),
    }
}

async fn the_mail_queue_claims_each_mail_once(store: &dyn Store) {
    let a = store
        .enqueue_mail(&new_mail("a@example.jp"), 100, 100)
        .await
        .unwrap();
    let b = store
        .enqueue_mail(&new_mail("b@example.jp"), 100, 500)
        .await
        .unwrap();
    // Only `a` is due at 100 (`b` is held by its sender until 500).
    let claimed = store.claim_due_mail(100, 700, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, a);
    assert_eq!(claimed[0].mail, new_mail("a@example.jp"));
    assert_eq!(claimed[0].attempts, 0);
    assert!(
        store.claim_due_mail(100, 700, 10).await.unwrap().is_empty(),
        "claimed once"
    );
    store
        .mail_attempt_failed(a, "down", Some(200))
        .await
        .unwrap();
    let claimed = store.claim_due_mail(500, 1_100, 10).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![a, b]);
    assert_eq!(claimed[0].attempts, 1);
    store.mail_sent(a, 510).await.unwrap();
    store.mail_attempt_failed(b, "refused", None).await.unwrap();
    // Neither leaves its final state again.
    store
        .mail_attempt_failed(a, "late", Some(600))
        .await
        .unwrap();
    assert!(
        store
            .claim_due_mail(10_000, 10_600, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let report = store.mail_queue_report(10).await.unwrap();
    assert_eq!((report.pending, report.sent, report.failed), (0, 1, 1));
    assert_eq!(report.recent[0].id, b, "newest first");
    assert_eq!(report.recent[0].status, tobira::store::MailStatus::Failed);
    assert_eq!(report.recent[0].last_error.as_deref(), Some("refused"));
    assert_eq!(report.recent[1].status, tobira::store::MailStatus::Sent);
    assert_eq!(report.recent[1].sent_at, Some(510));
    assert_eq!(report.recent[1].attempts, 2);
}

async fn an_emailed_code_is_single_use_with_limited_tries(store: &dyn Store) {
    use tobira::store::{CodeCheckOutcome as O, CodeIssue, CodePurpose, NewEmailCode};
    let m = &seed(store, 1).await[0];
    let code = |hash: &str, at: i64| NewEmailCode {
        member_id: m.id,
        purpose: CodePurpose::SecondFactor,
        code_hash: hash.to_owned(),
        created_at: at,
        expires_at: at + 600,
        cooldown_secs: 60,
    };
    let p = CodePurpose::SecondFactor;
    assert_eq!(
        store.check_email_code(m.id, p, "h1", 5, 100).await.unwrap(),
        O::NoCode
    );
    let issued = store
        .issue_email_code(&code("h1", 100), &new_mail("a@example.jp"), 100)
        .await;
    assert!(matches!(issued.unwrap(), CodeIssue::Issued(_)));
    assert_eq!(
        store
            .issue_email_code(&code("h2", 130), &new_mail("a@example.jp"), 130)
            .await
            .unwrap(),
        CodeIssue::Cooldown {
            retry_after_secs: 30
        },
        "no second code within the cooldown"
    );
    assert_eq!(
        store.mail_queue_report(10).await.unwrap().pending,
        1,
        "and no second mail"
    );
    assert_eq!(
        store.check_email_code(m.id, p, "h2", 5, 140).await.unwrap(),
        O::Wrong { attempts_left: 4 }
    );
    assert_eq!(
        store
            .check_email_code(m.id, CodePurpose::PasswordReset, "h1", 5, 140)
            .await
            .unwrap(),
        O::NoCode,
        "purposes are apart"
    );
    assert_eq!(
        store.check_email_code(m.id, p, "h1", 5, 150).await.unwrap(),
        O::Accepted
    );
    assert_eq!(
        store.check_email_code(m.id, p, "h1", 5, 150).await.unwrap(),
        O::NoCode,
        "used up"
    );

    // A resend after the cooldown replaces the code; five wrong tries kill it.
    store
        .issue_email_code(&code("h3", 200), &new_mail("a@example.jp"), 200)
        .await
        .unwrap();
    store
        .issue_email_code(&code("h4", 260), &new_mail("a@example.jp"), 260)
        .await
        .unwrap();
    assert_eq!(
        store.check_email_code(m.id, p, "h3", 5, 270).await.unwrap(),
        O::Wrong { attempts_left: 4 },
        "the old code stopped working"
    );
    for left in (0..4).rev() {
        assert_eq!(
            store
                .check_email_code(m.id, p, "bad", 5, 270)
                .await
                .unwrap(),
            O::Wrong {
                attempts_left: left
            }
        );
    }
    assert_eq!(
        store.check_email_code(m.id, p, "h4", 5, 270).await.unwrap(),
        O::Expired
    );
    // Expiry.
    store
        .issue_email_code(&code("h5", 400), &new_mail("a@example.jp"), 400)
        .await
        .unwrap();
    assert_eq!(
        store
            .check_email_code(m.id, p, "h5", 5, 1_000)
            .await
            .unwrap(),
        O::Expired
    );
}

async fn a_change_of_address_switches_it_when_its_link_is_opened(store: &dyn Store) {
    let m = force_step(store, &seed(store, 1).await[0], Step::Home).await;
    let n = audit_count(store).await;
    let ids = store
        .start_email_change(
            &token(&m, "change", "new@example.jp", 3_000),
            &[new_mail("new@example.jp"), new_mail(&m.email)],
            2_000,
            &audit(Some(m.id), "email.change_requested", 2_000),
            None,
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(store.mail_queue_report(10).await.unwrap().pending, 2);
    assert_eq!(audit_count(store).await, n + 1);
    assert_eq!(
        store.member(m.id).await.unwrap().unwrap().email,
        m.email,
        "not yet"
    );
    let out = store.consume_email_token("change", 2_500).await.unwrap();
    let EmailTokenOutcome::Verified { member, .. } = out else {
        panic!("{out:?}");
    };
    assert_eq!(member.email, "new@example.jp");
    assert_eq!(member.email_verified_at, Some(2_500));
    assert_eq!(member.step, Step::Home);
}

async fn a_password_reset_ends_every_flow_and_clears_failures(store: &dyn Store) {
    let m = &seed(store, 2).await[0];
    store.create_flow(&flow(m, "f1", 9_000)).await.unwrap();
    store.create_flow(&flow(m, "f2", 9_000)).await.unwrap();
    let key = m.id.to_string();
    store
        .record_failure(ThrottleScope::Account, &key, 1_000)
        .await
        .unwrap();
    let after = store
        .reset_password(
            m.id,
            "$argon2id$new",
            &audit(Some(m.id), "recover.password.reset", 1_500),
            1_500,
        )
        .await
        .unwrap();
    assert_eq!(after.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(after.step, m.step, "the step stays");
    assert_eq!(store.flow("f1").await.unwrap(), None);
    assert_eq!(store.flow("f2").await.unwrap(), None);
    assert_eq!(
        store
            .failures(ThrottleScope::Account, &key)
            .await
            .unwrap()
            .failures,
        0
    );
    assert!(matches!(
        store
            .reset_password(9_999, "x", &audit(None, "x", 1), 1)
            .await,
        Err(StoreError::NotFound)
    ));
}

// ---------------------------------------------------------------- issue 13: finding a caller

/// A roster row of demo member `i` with its own name, user ID, address and card.
fn person(i: u64, name: &str, user_id: &str, email: &str, card: (&str, &str)) -> RosterRow {
    let mut row = with_user_id(demo_row(i), user_id);
    row.name = name.to_owned();
    row.email = EmailAddress::parse(email).unwrap();
    row.card = tobira::domain::InsuranceCard::parse(card.0, card.1).unwrap();
    row
}

/// The roster the search tests look through, and the members it made (in row order).
async fn search_roster(store: &dyn Store) -> Vec<Member> {
    let rows = vec![
        person(
            0,
            "山田 太郎",
            "yamada001",
            "Taro.Yamada@example.jp",
            ("12", "3456789"),
        ),
        person(
            1,
            "林 美咲",
            "hayashi01",
            "misaki@example.jp",
            ("12", "3456790"),
        ),
        person(
            2,
            "小林 翔",
            "kobayashi1",
            "sho@example.com",
            ("34", "1000001"),
        ),
        person(
            3,
            "若林 さくら",
            "waka0001",
            "sakura@example.jp",
            ("34", "3456789"),
        ),
        person(
            4,
            "森　林太郎",
            "mori0001",
            "rintaro@example.jp",
            ("5", "0012345"),
        ),
        person(
            5,
            "佐藤 花子",
            "3456sato",
            "hanako@example.jp",
            ("7", "7654321"),
        ),
        person(
            6,
            "Kobayashi Ken",
            "kobayashi2",
            "ken@example.jp",
            ("34", "1000002"),
        ),
    ];
    let out = store.import_roster(&rows, 1_000).await.unwrap();
    assert_eq!(out.imported, 7);
    let mut members = Vec::new();
    for r in &rows {
        members.push(
            store
                .member_by_user_id(r.user_id.as_str())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    members
}

/// Every hit of `typed`, page after page of `per_page`, as (user ID, how it matched).
async fn search_all(store: &dyn Store, typed: &str, per_page: u32) -> Vec<(String, MatchKind)> {
    let query = SearchQuery::parse(typed).unwrap();
    let mut page = PageRequest::first(per_page);
    let mut all = Vec::new();
    for _ in 0..1_000 {
        let got = store.search_members(&query, &page).await.unwrap();
        assert!(got.hits.len() <= per_page as usize);
        all.extend(got.hits.into_iter().map(|h| (h.user_id, h.matched)));
        match got.next {
            Some(next) => page.after = Some(next),
            None => return all,
        }
    }
    panic!("{typed}: paging never ended");
}

async fn user_ids(store: &dyn Store, typed: &str) -> Vec<String> {
    search_all(store, typed, 50)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

async fn search_finds_any_part_of_a_japanese_name(store: &dyn Store) {
    search_roster(store).await;
    // Three characters and more: the trigram index; spaces (ASCII or ideographic) do not count.
    assert_eq!(user_ids(store, "山田太郎").await, ["yamada001"]);
    assert_eq!(user_ids(store, "山田　太郎").await, ["yamada001"]);
    assert_eq!(user_ids(store, "林太郎").await, ["mori0001"]);
    assert_eq!(user_ids(store, "さくら").await, ["waka0001"]);
    assert_eq!(user_ids(store, "田 太郎").await, ["yamada001"]);
    // A part that spans the space between family and given name.
    assert_eq!(user_ids(store, "森林太").await, ["mori0001"]);
    assert!(user_ids(store, "山田花子").await.is_empty());
}

async fn search_finds_one_and_two_character_names(store: &dyn Store) {
    let m = search_roster(store).await;
    // 「林」 anywhere in the name, in member order: 林, 小林, 若林, 森林.
    let hits = search_all(store, "林", 50).await;
    assert_eq!(
        hits,
        [
            ("hayashi01".to_owned(), MatchKind::Name),
            ("kobayashi1".to_owned(), MatchKind::Name),
            ("waka0001".to_owned(), MatchKind::Name),
            ("mori0001".to_owned(), MatchKind::Name),
        ]
    );
    assert!(m[1].id < m[2].id && m[2].id < m[3].id && m[3].id < m[4].id);
    assert_eq!(user_ids(store, "小林").await, ["kobayashi1"]);
    assert_eq!(user_ids(store, "太郎").await, ["yamada001", "mori0001"]);
    // Across the space, as written with one.
    assert_eq!(user_ids(store, "田 太").await, ["yamada001"]);
    assert_eq!(user_ids(store, "翔").await, ["kobayashi1"]);
    assert!(user_ids(store, "鈴").await.is_empty());
    // What a hit shows: no secret, the address masked.
    let page = store
        .search_members(&SearchQuery::parse("翔").unwrap(), &PageRequest::first(5))
        .await
        .unwrap();
    let hit = &page.hits[0];
    assert_eq!(hit.member_id, m[2].id);
    assert_eq!(hit.name, "小林 翔");
    assert_eq!(hit.email_masked, "s**@example.com");
    assert!(!hit.email_verified);
    assert_eq!(
        (hit.card.symbol.as_str(), hit.card.number.as_str()),
        ("34", "1000001")
    );
    assert_eq!(hit.step, Step::Terms);
    assert_eq!(page.next, None);
}

async fn search_finds_user_ids_by_prefix(store: &dyn Store) {
    search_roster(store).await;
    assert_eq!(
        search_all(store, "Mori", 50).await,
        [("mori0001".to_owned(), MatchKind::UserId)]
    );
    // Then names with that piece ("Kobayashi Ken").
    assert_eq!(user_ids(store, "ya").await, ["yamada001", "kobayashi2"]);
    assert_eq!(user_ids(store, "YAMADA001").await, ["yamada001"]);
    assert!(user_ids(store, "yamada0011").await.is_empty());
    // A prefix that is also a part of a name is listed once, as a user ID.
    assert_eq!(
        search_all(store, "kobayashi", 50).await,
        [
            ("kobayashi1".to_owned(), MatchKind::UserId),
            ("kobayashi2".to_owned(), MatchKind::UserId),
        ]
    );
    assert_eq!(
        search_all(store, "yashi ken", 50).await,
        [("kobayashi2".to_owned(), MatchKind::Name)]
    );
    // Digits may begin a card number and a user ID: the cards first.
    assert_eq!(
        search_all(store, "3456", 50).await,
        [
            ("yamada001".to_owned(), MatchKind::CardNumber),
            ("waka0001".to_owned(), MatchKind::CardNumber),
            ("hayashi01".to_owned(), MatchKind::CardNumber),
            ("3456sato".to_owned(), MatchKind::UserId),
        ]
    );
    for per_page in [1, 2, 3] {
        assert_eq!(
            search_all(store, "3456", per_page).await.len(),
            4,
            "{per_page}"
        );
    }
}

async fn search_finds_cards(store: &dyn Store) {
    search_roster(store).await;
    // Symbol and number typed together: every split is tried.
    assert_eq!(
        search_all(store, "123456789", 50).await,
        [("yamada001".to_owned(), MatchKind::CardExact)]
    );
    assert_eq!(
        search_all(store, "５００１２３４５", 50).await,
        [("mori0001".to_owned(), MatchKind::CardExact)]
    );
    // The number alone: both cards numbered 3456789, in (number, symbol) order, then the
    // number that begins with it.
    assert_eq!(
        search_all(store, "34567", 50).await,
        [
            ("yamada001".to_owned(), MatchKind::CardNumber),
            ("waka0001".to_owned(), MatchKind::CardNumber),
            ("hayashi01".to_owned(), MatchKind::CardNumber),
        ]
    );
    assert_eq!(user_ids(store, "3456789").await, ["yamada001", "waka0001"]);
    // With a separator: this symbol only, the number as a prefix.
    assert_eq!(
        user_ids(store, "12 34567").await,
        ["yamada001", "hayashi01"]
    );
    assert_eq!(user_ids(store, "12 345678").await, ["yamada001"]);
    assert_eq!(user_ids(store, "34-3456789").await, ["waka0001"]);
    assert!(user_ids(store, "99 3456789").await.is_empty());
}

async fn search_finds_addresses(store: &dyn Store) {
    search_roster(store).await;
    assert_eq!(
        search_all(store, "taro.yamada@EXAMPLE.JP", 50).await,
        [("yamada001".to_owned(), MatchKind::Email)]
    );
    assert_eq!(user_ids(store, "sho@").await, ["kobayashi1"]);
    assert_eq!(user_ids(store, "Taro.Y@").await, Vec::<String>::new());
    assert!(user_ids(store, "nobody@example.jp").await.is_empty());
}

async fn search_pages_are_stable_and_complete(store: &dyn Store) {
    // 30 demo members: family names repeat every 10, so 「藤」 (佐藤, 伊藤, 加藤) is in 9 names.
    seed(store, 30).await;
    let everything = search_all(store, "藤", 100).await;
    assert_eq!(everything.len(), 9);
    for per_page in [1, 2, 4, 8] {
        assert_eq!(
            search_all(store, "藤", per_page).await,
            everything,
            "{per_page}"
        );
    }
    // Across passes: "m00000" begins every user ID (m0000000x…m0000029x).
    let all = search_all(store, "m00000", 100).await;
    assert_eq!(all.len(), 30);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "user IDs in order");
    assert_eq!(search_all(store, "m00000", 7).await, all);
    // Every demo card number begins with 0000: (number, symbol) order, paged one by one.
    let digits = search_all(store, "00000", 100).await;
    assert_eq!(digits.len(), 30);
    assert!(digits.iter().all(|(_, k)| *k == MatchKind::CardNumber));
    assert_eq!(search_all(store, "00000", 1).await, digits);
    // The same page asked twice is the same page.
    let query = SearchQuery::parse("藤").unwrap();
    let first = store
        .search_members(&query, &PageRequest::first(4))
        .await
        .unwrap();
    let again = store
        .search_members(&query, &PageRequest::first(4))
        .await
        .unwrap();
    assert_eq!(first, again);
    // A cursor of a pass the query does not have starts it over.
    let foreign = PageRequest {
        after: Some(tobira::domain::SearchCursor {
            kind: MatchKind::Email,
            key: String::new(),
            id: 3,
        }),
        limit: 4,
    };
    assert_eq!(store.search_members(&query, &foreign).await.unwrap(), first);
    // A cursor of the same pass from another query never brings a hit the query does not match.
    let cursor_of = |typed: &'static str| async move {
        store
            .search_members(&SearchQuery::parse(typed).unwrap(), &PageRequest::first(3))
            .await
            .unwrap()
            .next
            .unwrap()
    };
    for (from, to) in [
        ("m00000", "m000001"),
        ("m000002", "m000001"),
        ("m000000", "m000001"),
        ("00000", "000001"),
    ] {
        let page = PageRequest {
            after: Some(cursor_of(from).await),
            limit: 50,
        };
        let got = store
            .search_members(&SearchQuery::parse(to).unwrap(), &page)
            .await
            .unwrap();
        for hit in &got.hits {
            assert!(
                hit.user_id.starts_with(to) || hit.card.number.starts_with(to),
                "{from} → {to}: {hit:?}"
            );
        }
    }
}

async fn reimport_updates_the_search_index(store: &dyn Store) {
    let m = search_roster(store).await;
    let mut renamed = person(
        1,
        "林 美咲",
        "hayashi01",
        "misaki@example.jp",
        ("12", "3456790"),
    );
    renamed.name = "鈴木 美咲".to_owned();
    let out = store.import_roster(&[renamed], 2_000).await.unwrap();
    assert_eq!(out.updated, 1);
    assert_eq!(
        user_ids(store, "林").await,
        ["kobayashi1", "waka0001", "mori0001"],
        "the old name leaves no hit"
    );
    assert!(user_ids(store, "林美咲").await.is_empty());
    assert_eq!(user_ids(store, "鈴木").await, ["hayashi01"]);
    assert_eq!(user_ids(store, "鈴木美咲").await, ["hayashi01"]);
    assert_eq!(user_ids(store, "鈴").await, ["hayashi01"]);
    // A new address through the import (the member has not started) is found, the old is not.
    let mut moved = person(
        2,
        "小林 翔",
        "kobayashi1",
        "sho@example.com",
        ("34", "1000001"),
    );
    moved.email = EmailAddress::parse("kobayashi@example.net").unwrap();
    store.import_roster(&[moved], 3_000).await.unwrap();
    assert!(user_ids(store, "sho@").await.is_empty());
    assert_eq!(user_ids(store, "kobayashi@").await, ["kobayashi1"]);
    // Re-importing unchanged rows keeps every hit exactly once.
    let before = search_all(store, "林", 50).await;
    let again = store
        .import_roster(
            &[person(
                3,
                "若林 さくら",
                "waka0001",
                "sakura@example.jp",
                ("34", "3456789"),
            )],
            4_000,
        )
        .await
        .unwrap();
    assert_eq!(again.unchanged, 1);
    assert_eq!(search_all(store, "林", 50).await, before);
    assert_eq!(m.len(), 7);
}

async fn the_audit_log_reads_by_filter_a_page_at_a_time(store: &dyn Store) {
    use tobira::store::{AuditFilter, AuditPageRequest};
    let mut written = Vec::new();
    for i in 0..12i64 {
        let mut e = audit(
            Some(i % 3),
            if i % 2 == 0 { "a.even" } else { "a.odd" },
            1_000 + i * 10,
        );
        e.actor = if i % 4 == 0 { "staff:7" } else { "system" }.to_owned();
        store.append_audit(&e).await.unwrap();
        written.push(e);
    }
    let read = |filter: AuditFilter, per_page: u32| async move {
        let mut page = AuditPageRequest {
            after: None,
            limit: per_page,
        };
        let mut all = Vec::new();
        loop {
            let got = store.audit_page(&filter, &page).await.unwrap();
            assert!(got.records.len() <= per_page as usize);
            all.extend(got.records);
            match got.next {
                Some(next) => page.after = Some(next),
                None => return all,
            }
        }
    };
    // Everything, newest first, in pages of 5; the same as one page.
    let all = read(AuditFilter::default(), 5).await;
    let entries: Vec<AuditEntry> = all.iter().map(|r| r.entry.clone()).collect();
    let newest_first: Vec<AuditEntry> = written.iter().rev().cloned().collect();
    assert_eq!(entries, newest_first);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id));
    assert_eq!(read(AuditFilter::default(), 100).await, all);
    // Oldest first (an export).
    let oldest = AuditFilter {
        oldest_first: true,
        ..AuditFilter::default()
    };
    let asc: Vec<AuditEntry> = read(oldest, 4).await.into_iter().map(|r| r.entry).collect();
    assert_eq!(asc, written);
    // Each filter alone and together.
    let only = |f: &dyn Fn(&AuditEntry) -> bool| -> Vec<AuditEntry> {
        written.iter().rev().filter(|e| f(e)).cloned().collect()
    };
    let of = |records: Vec<tobira::store::AuditRecord>| -> Vec<AuditEntry> {
        records.into_iter().map(|r| r.entry).collect()
    };
    let member = AuditFilter {
        member_id: Some(1),
        ..AuditFilter::default()
    };
    assert_eq!(of(read(member, 2).await), only(&|e| e.member_id == Some(1)));
    let staff = AuditFilter {
        actor: Some("staff:7".into()),
        ..AuditFilter::default()
    };
    assert_eq!(of(read(staff, 2).await), only(&|e| e.actor == "staff:7"));
    let odd = AuditFilter {
        action: Some("a.odd".into()),
        ..AuditFilter::default()
    };
    assert_eq!(of(read(odd, 2).await), only(&|e| e.action == "a.odd"));
    // since is inclusive, until exclusive.
    let range = AuditFilter {
        since: Some(1_030),
        until: Some(1_080),
        ..AuditFilter::default()
    };
    assert_eq!(
        of(read(range, 2).await),
        only(&|e| (1_030..1_080).contains(&e.at))
    );
    let together = AuditFilter {
        member_id: Some(0),
        actor: Some("staff:7".into()),
        action: Some("a.even".into()),
        since: Some(1_000),
        until: None,
        oldest_first: true,
    };
    let got = of(read(together, 1).await);
    let mut want = only(&|e| {
        e.member_id == Some(0) && e.actor == "staff:7" && e.action == "a.even" && e.at >= 1_000
    });
    want.reverse();
    assert_eq!(got, want);
    assert!(!got.is_empty());
    let none = AuditFilter {
        action: Some("never".into()),
        ..AuditFilter::default()
    };
    assert!(read(none, 3).await.is_empty());
}

// ---------------------------------------------------------------- issue 13: the helpdesk's reads

async fn the_helpdesk_reads_a_members_step_guards_mail_and_verifications(store: &dyn Store) {
    use tobira::domain::StaffRole;
    use tobira::domain::helpdesk::{CallerProof, MailTally};
    use tobira::store::{
        AttemptReservation, NewCallerVerification, NewEnrolmentCode, NewStaff, ThrottleKey,
    };
    let members = seed(store, 2).await;
    let (m, other) = (&members[0], &members[1]);

    // Since when: the import's time, then the step change's own time.
    assert_eq!(store.step_since(m.id).await.unwrap(), 1_000);
    force_step(store, m, Step::Email).await;
    assert_eq!(store.step_since(m.id).await.unwrap(), 1_500);
    assert!(matches!(
        store.step_since(999_999).await,
        Err(StoreError::NotFound)
    ));

    // A change of address waits for its link until the link dies.
    assert_eq!(store.pending_email(m.id, 2_000).await.unwrap(), None);
    store
        .start_email_change(
            &token(m, "change-1", "new@example.jp", 5_000),
            &[],
            1_000,
            &audit(Some(m.id), "email.change_requested", 1_000),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store.pending_email(m.id, 2_000).await.unwrap().as_deref(),
        Some("new@example.jp")
    );
    assert_eq!(store.pending_email(m.id, 5_000).await.unwrap(), None);
    assert_eq!(store.pending_email(other.id, 2_000).await.unwrap(), None);

    // The guards of a member's sign-ins say where the last attempt came from.
    let policy = ThrottlePolicy {
        free_failures: 3,
        base_delay_secs: 1,
        max_delay_secs: 60,
        lock_after: 0,
        decay_secs: 0,
        cap: 0,
    };
    let key = |scope, key: &str| ThrottleKey {
        scope,
        key: key.to_owned(),
        policy,
    };
    let keys = [
        key(ThrottleScope::Address, "10.0.0.7"),
        key(ThrottleScope::UserId, m.user_id.as_str()),
        key(ThrottleScope::Account, &m.id.to_string()),
    ];
    assert!(
        store
            .sign_in_guards(m.id, &m.user_id)
            .await
            .unwrap()
            .is_empty()
    );
    let reserved = store.reserve_attempt(&keys, 3_000).await.unwrap();
    assert!(matches!(reserved, AttemptReservation::Reserved(_)));
    let guards = store.sign_in_guards(m.id, &m.user_id).await.unwrap();
    assert_eq!(guards.len(), 2);
    for g in &guards {
        assert_eq!((g.record.failures, g.record.last_failure_at), (1, 3_000));
        assert_eq!(g.last_address.as_deref(), Some("10.0.0.7"));
    }
    assert!(
        store
            .sign_in_guards(other.id, &other.user_id)
            .await
            .unwrap()
            .is_empty()
    );

    // Mail to the member's addresses, newest first, and the tally of one kind.
    let first = store
        .enqueue_mail(&new_mail(&m.email), 3_000, 3_010)
        .await
        .unwrap();
    store
        .enqueue_mail(&new_mail("new@example.jp"), 3_100, 3_110)
        .await
        .unwrap();
    store
        .enqueue_mail(&new_mail(&other.email), 3_200, 3_210)
        .await
        .unwrap();
    store.mail_sent(first, 3_005).await.unwrap();
    let addresses = [
        m.email.clone(),
        "new@example.jp".to_owned(),
        m.email.clone(),
    ];
    let mail = store.mail_to(&addresses, 10).await.unwrap();
    let seen: Vec<(&str, &str)> = mail
        .iter()
        .map(|x| (x.recipient.as_str(), x.status.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![("new@example.jp", "pending"), (m.email.as_str(), "sent")]
    );
    assert_eq!(mail[1].sent_at, Some(3_005));
    assert_eq!(store.mail_to(&addresses, 1).await.unwrap().len(), 1);
    assert_eq!(
        store.mail_tally("test", &m.email).await.unwrap(),
        MailTally {
            delivered: 1,
            pending: 0,
            failed: 0
        }
    );
    assert_eq!(
        store.mail_tally("verification", &m.email).await.unwrap(),
        MailTally::default()
    );

    // Caller verifications: the newest of one staff session for one member.
    let staff = store
        .add_staff(
            &NewStaff {
                login: "hd.test".into(),
                display_name: "hd.test".into(),
                role: StaffRole::Helpdesk,
                at: 1_000,
            },
            &NewEnrolmentCode {
                code_hash: "x".into(),
                created_at: 1_000,
                expires_at: 4_600,
            },
            &audit(None, "staff.added", 1_000),
        )
        .await
        .unwrap();
    let verify = |session: &str, member: MemberId, proof, at| NewCallerVerification {
        staff_id: staff.id,
        staff_session_hash: session.to_owned(),
        member_id: member,
        proof,
        at,
    };
    assert_eq!(store.caller_verification("s1", m.id).await.unwrap(), None);
    let a = store
        .add_caller_verification(&verify("s1", m.id, CallerProof::Knowledge, 4_000))
        .await
        .unwrap();
    let b = store
        .add_caller_verification(&verify("s1", m.id, CallerProof::AppCode, 4_010))
        .await
        .unwrap();
    assert!(b > a);
    let v = store
        .caller_verification("s1", m.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (v.id, v.member_id, v.proof, v.at),
        (b, m.id, CallerProof::AppCode, 4_010)
    );
    assert_eq!(store.caller_verification("s2", m.id).await.unwrap(), None);
    assert_eq!(
        store.caller_verification("s1", other.id).await.unwrap(),
        None
    );
}

conformance_suite! {
    both: [
        ping_answers,
        import_creates_members_at_the_terms,
        reimport_changes_nothing,
        import_updates_changed_rows,
        import_keeps_email_and_user_id_of_started_members,
        import_rejects_a_user_id_of_another_member,
        import_rejects_duplicates_within_a_batch,
        member_lookups,
        throttle_counts_and_clears,
        attempts_are_reserved_then_released,
        a_sign_in_reserves_with_the_member_and_finishes_in_one_transaction,
        lifting_a_hold_clears_both_keys_and_audits,
        record_failure_is_atomic,
        flows_live_and_die,
        passing_the_birth_date_clears_account_failures,
        starting_a_flow_clears_failures_and_audits_together,
        ending_a_flow_audits_it_once,
        a_locking_failure_ends_every_flow_and_audits_together,
        ending_a_held_members_flows_audits_together,
        changing_the_password_ends_the_other_flows_together,
        apply_changes_everything_together,
        apply_refuses_the_wrong_step_and_changes_nothing,
        apply_refuses_a_taken_user_id_and_changes_nothing,
        user_ids_are_stored_lower_case_only,
        a_new_email_token_replaces_the_old,
        consuming_an_email_token,
        the_audit_log_reads_newest_first,
        a_pending_enrollment_is_kept_until_confirmed,
        confirming_refuses_and_changes_nothing,
        a_step_is_used_once,
        a_step_is_used_once_under_concurrency,
        devices_are_renamed_and_removed_but_never_the_last,
        an_import_run_is_audited_once,
        a_password_reset_ends_every_flow_and_clears_failures,
        a_ceremony_is_taken_once_replaced_by_a_new_start_and_dies_with_its_flow,
        passkeys_are_added_used_renamed_and_removed_but_never_the_last_factor,
        staff_may_remove_the_last_factor_and_members_only_their_own,
        the_mail_queue_claims_each_mail_once,
        an_emailed_code_is_single_use_with_limited_tries,
        a_change_of_address_switches_it_when_its_link_is_opened,
        a_helpdesk_change_is_one_transaction_with_its_audit_and_mails,
        staff_accounts_are_added_listed_disabled_and_reset,
        a_staff_enrolment_uses_its_code_once_and_signs_the_session_in,
        a_staff_code_step_is_used_once_and_only_by_its_owner,
        staff_sessions_are_touched_ended_and_purged,
        a_staff_passkey_ceremony_is_taken_once_replaced_by_a_new_start_and_dies_with_its_session,
        a_staff_enrolment_with_a_passkey_uses_its_code_once_and_a_credential_once,
        a_staff_passkey_passes_a_sign_in_once_and_only_its_owners,
        search_finds_any_part_of_a_japanese_name,
        search_finds_one_and_two_character_names,
        search_finds_user_ids_by_prefix,
        search_finds_cards,
        search_finds_addresses,
        search_pages_are_stable_and_complete,
        reimport_updates_the_search_index,
        the_audit_log_reads_by_filter_a_page_at_a_time,
        the_helpdesk_reads_a_members_step_guards_mail_and_verifications,
        an_enrollment_start_is_audited_with_it_once,
        an_emailed_code_its_mail_and_its_audit_are_written_together,
        a_staff_hold_ends_the_sessions_with_the_failure_and_the_hold_audited,
        removing_an_own_factor_ends_the_other_flows_with_it,
        gaining_a_factor_ends_the_other_flows_with_it,
        an_address_change_ends_the_other_flows_with_it,
    ],
    sqlite_only: [
    ],
}

// ---------------------------------------------------------------- PostgreSQL only

/// Two `PgStore`s on one database, each with its own pool: two server processes, as far as the
/// database can tell (each pool holds its own sessions, and nothing is shared in memory).
mod postgres_only {
    use super::*;
    use tobira::store::prelude::*;
    use tobira::store::{AttemptReservation, ThrottleKey};

    async fn two_processes() -> (PgStore, PgStore) {
        let url = pg_harness::fresh_database().await;
        let one = PgStore::connect(&url).await.unwrap();
        let two = PgStore::connect(&url).await.unwrap();
        (one, two)
    }

    /// 64 guesses at once, half through each process: no more are checked than the policy
    /// allows in a row, and the counters say exactly that many.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_reservations_from_two_processes_never_exceed_the_allowance() {
        let (one, two) = two_processes().await;
        let allowance = 5;
        let keys = [
            ThrottleKey {
                scope: ThrottleScope::Address,
                key: "192.0.2.7".into(),
                policy: ThrottlePolicy {
                    free_failures: 1_000,
                    base_delay_secs: 10,
                    max_delay_secs: 60,
                    lock_after: 0,
                    decay_secs: 0,
                    cap: 0,
                },
            },
            ThrottleKey {
                scope: ThrottleScope::Account,
                key: "42".into(),
                policy: ThrottlePolicy {
                    free_failures: allowance,
                    base_delay_secs: 10,
                    max_delay_secs: 60,
                    lock_after: 0,
                    decay_secs: 0,
                    cap: 0,
                },
            },
        ];
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..64 {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            let keys = keys.clone();
            tasks.spawn(async move { store.reserve_attempt(&keys, 5_000).await.unwrap() });
        }
        let mut granted = 0;
        while let Some(done) = tasks.join_next().await {
            if matches!(done.unwrap(), AttemptReservation::Reserved(_)) {
                granted += 1;
            }
        }
        assert_eq!(granted, allowance);
        let account = one.failures(ThrottleScope::Account, "42").await.unwrap();
        let address = two
            .failures(ThrottleScope::Address, "192.0.2.7")
            .await
            .unwrap();
        assert_eq!((account.failures, address.failures), (allowance, allowance));
    }

    /// One authenticator code sent 32 times at once, half through each process, is accepted
    /// once, and audited once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_code_sent_to_two_processes_at_once_is_accepted_once() {
        let (one, two) = two_processes().await;
        let m = seed(&one, 1).await.remove(0);
        let cred = enroll(&two, &m, b"s", "Phone").await;
        let audited = audit_count(&one).await;
        let using = TotpUse {
            member_id: m.id,
            credential_id: cred.id,
            step: 300,
            flow_token_hash: None,
            audit: audit(Some(m.id), "totp.used", 4_000),
            at: 4_000,
        };
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..32 {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            let using = using.clone();
            tasks.spawn(async move { store.use_totp_step(&using).await.unwrap() });
        }
        let mut accepted = 0;
        while let Some(done) = tasks.join_next().await {
            accepted += usize::from(done.unwrap());
        }
        assert_eq!(accepted, 1);
        assert_eq!(audit_count(&two).await, audited + 1);
    }

    /// Eight passkeys added at once, half through each process, against a cap of two: two are
    /// registered, the others refused; one credential added for two members at once is
    /// registered once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn set_ups_from_two_processes_keep_the_device_cap_and_credentials_unique() {
        let (one, two) = two_processes().await;
        let members = seed(&one, 3).await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            let add = passkey(&members[0], &format!("key {i}"), &format!("cred-{i}"), None);
            tasks.spawn(async move { store.add_passkey(&add).await.map(|_| ()) });
        }
        let mut added = 0;
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                Ok(()) => added += 1,
                Err(StoreError::TooManyDevices) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(added, 2);
        assert_eq!(two.passkeys(members[0].id).await.unwrap().len(), 2);

        let (for_one, for_two) = (
            passkey(&members[1], "x", "shared", None),
            passkey(&members[2], "x", "shared", None),
        );
        let (a, b) = tokio::join!(one.add_passkey(&for_one), two.add_passkey(&for_two));
        let refused: Vec<_> = [a, b].into_iter().filter_map(Result::err).collect();
        assert!(
            matches!(refused.as_slice(), [StoreError::CredentialTaken]),
            "{refused:?}"
        );
    }

    /// Sixteen members with two factors each remove both at once, one removal through each
    /// process: for every member one removal passes and the other meets the last-factor rule.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn removals_from_two_processes_never_remove_the_last_factor() {
        let (one, two) = two_processes().await;
        let members = seed(&one, 16).await;
        let mut removals = Vec::new();
        for m in &members {
            for (store, name) in [(&one, "first"), (&two, "second")] {
                let cred = format!("{name}-{}", m.id);
                let (_, key) = store
                    .add_passkey(&passkey(m, name, &cred, None))
                    .await
                    .unwrap();
                removals.push((store.clone(), m.id, key.id));
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (store, member_id, key) in removals {
            let removed = audit(Some(member_id), "passkey.removed", 3_000);
            tasks.spawn(async move {
                store
                    .remove_passkey(member_id, key, Actor::Member(member_id), &removed)
                    .await
            });
        }
        let (mut passed, mut refused) = (0, 0);
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                Ok(()) => passed += 1,
                Err(StoreError::LastSecondFactor) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((passed, refused), (16, 16));
        for m in &members {
            assert_eq!(two.second_factor_count(m.id).await.unwrap(), 1);
        }
    }

    /// A mailed code: asked for 8 times at once (one is issued, the rest wait out the
    /// cooldown), then 16 guesses at once with 3 tries (3 are counted wrong, the others find
    /// it dead), then the right code twice at once after a new one (accepted once); a
    /// verification link opened twice at once is used once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn codes_and_links_from_two_processes_keep_their_cooldown_tries_and_single_use() {
        use tobira::store::{CodeCheckOutcome as O, CodeIssue, CodePurpose, NewEmailCode};
        let (one, two) = two_processes().await;
        let m = seed(&one, 1).await.remove(0);
        let p = CodePurpose::SecondFactor;
        let code = |hash: &str, at: i64| NewEmailCode {
            member_id: m.id,
            purpose: p,
            code_hash: hash.to_owned(),
            created_at: at,
            expires_at: at + 600,
            cooldown_secs: 60,
        };
        let pick = |i: usize| {
            if i.is_multiple_of(2) {
                one.clone()
            } else {
                two.clone()
            }
        };

        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (store, code) = (pick(i), code(&format!("h{i}"), 100));
            tasks.spawn(async move {
                store
                    .issue_email_code(&code, &new_mail("a@example.jp"), 100)
                    .await
                    .unwrap()
            });
        }
        let mut issued = 0;
        while let Some(done) = tasks.join_next().await {
            issued += usize::from(matches!(done.unwrap(), CodeIssue::Issued(_)));
        }
        assert_eq!(issued, 1);

        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16 {
            let store = pick(i);
            let id = m.id;
            tasks.spawn(async move { store.check_email_code(id, p, "wrong", 3, 110).await });
        }
        let mut wrong = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done.unwrap().unwrap() {
                O::Wrong { attempts_left } => wrong.push(attempts_left),
                O::Expired => {}
                other => panic!("{other:?}"),
            }
        }
        wrong.sort_unstable();
        assert_eq!(wrong, [0, 1, 2]);

        let fresh = one
            .issue_email_code(&code("right", 200), &new_mail("a@example.jp"), 200)
            .await
            .unwrap();
        assert!(matches!(fresh, CodeIssue::Issued(_)), "{fresh:?}");
        let (a, b) = tokio::join!(
            one.check_email_code(m.id, p, "right", 3, 210),
            two.check_email_code(m.id, p, "right", 3, 210),
        );
        let mut outcomes = [a.unwrap(), b.unwrap()];
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(outcomes, [O::Accepted, O::NoCode]);

        one.apply(&Transition {
            email_token: Some(token(&m, "link", &m.email, 5_000)),
            ..transition(&m, Step::Terms, Step::AwaitingVerification, 1_000)
        })
        .await
        .unwrap();
        let (a, b) = tokio::join!(
            one.consume_email_token("link", 1_100),
            two.consume_email_token("link", 1_100),
        );
        let verified = [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|o| matches!(o, EmailTokenOutcome::Verified { .. }))
            .count();
        assert_eq!(verified, 1);
    }

    /// The audit log refuses changes on PostgreSQL too, TRUNCATE included (a row trigger does
    /// not see it).
    #[tokio::test]
    async fn the_audit_log_refuses_updates_deletes_and_truncate() {
        let (store, _) = two_processes().await;
        store.append_audit(&audit(None, "x", 1)).await.unwrap();
        for sql in [
            "UPDATE audit_log SET detail = 'changed'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ] {
            let e = sqlx::query(sql).execute(store.pool()).await.unwrap_err();
            assert!(e.to_string().contains("append-only"), "{sql}: {e}");
        }
        assert_eq!(audit_count(&store).await, 1);
    }

    /// Connecting again migrates nothing, and two processes starting at once apply each
    /// migration once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrations_apply_once() {
        let url = pg_harness::fresh_database().await;
        let (a, b) = tokio::join!(PgStore::connect(&url), PgStore::connect(&url));
        let (a, _b) = (a.unwrap(), b.unwrap());
        let applied = a.applied_migrations().await.unwrap();
        // Every file of migrations/postgres is applied (the numbers need not be contiguous:
        // another branch may own a number that is not here yet).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        let mut files: Vec<i64> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".sql"))
            .map(|n| n[..4].parse().unwrap())
            .collect();
        files.sort_unstable();
        assert_eq!(applied, files);
        assert!(applied.len() >= 6, "{applied:?}");
        assert!(applied.contains(&13), "staff passkeys: {applied:?}");
        assert!(a.migrate().await.unwrap().is_empty());
    }

    /// A migration numbered below one already applied (a branch merged later) is still applied
    /// on the next start: sqlx runs every missing version, not only those above the highest.
    #[tokio::test]
    async fn a_lower_migration_merged_later_is_applied() {
        let url = pg_harness::fresh_database().await;
        let store = PgStore::connect(&url).await.unwrap();
        // As if migration 4 had come later: its row gone, its table not there yet.
        for sql in [
            "DELETE FROM _sqlx_migrations WHERE version = 4",
            "DROP TABLE passkey_ceremonies, passkey_credentials CASCADE",
        ] {
            sqlx::query(sql).execute(store.pool()).await.unwrap();
        }
        assert!(!store.applied_migrations().await.unwrap().contains(&4));
        let applied = store.migrate().await.unwrap();
        assert_eq!(applied.iter().map(|(v, _)| *v).collect::<Vec<_>>(), vec![4]);
        assert!(store.applied_migrations().await.unwrap().contains(&4));
    }

    /// How many of the search indexes that a roster load builds afterwards exist.
    async fn search_indexes(store: &PgStore) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'members' AND indexname IN \
             ('members_name_trgm', 'members_name_grams', 'members_number', \
              'members_email_lower', 'members_name_walk')",
        )
        .fetch_one(store.pool())
        .await
        .unwrap()
    }

    /// A roster loaded into an empty table has its search indexes built after the load
    /// (`roster_load.rs`): afterwards they all exist and every kind of search finds what it
    /// found before. A load into a table with members drops nothing.
    #[tokio::test]
    async fn a_load_into_an_empty_table_builds_the_search_indexes_afterwards() {
        let url = pg_harness::fresh_database().await;
        let store = PgStore::connect(&url).await.unwrap();
        assert_eq!(search_indexes(&store).await, 5);
        store.roster_load_begin().await.unwrap();
        assert_eq!(search_indexes(&store).await, 0);
        search_roster(&store).await;
        store.roster_load_end().await.unwrap();
        assert_eq!(search_indexes(&store).await, 5);
        assert_eq!(
            user_ids(&store, "林").await,
            ["hayashi01", "kobayashi1", "waka0001", "mori0001"]
        );
        assert_eq!(user_ids(&store, "太郎").await, ["yamada001", "mori0001"]);
        assert_eq!(user_ids(&store, "林太郎").await, ["mori0001"]);
        assert_eq!(user_ids(&store, "3456789").await, ["yamada001", "waka0001"]);
        assert_eq!(user_ids(&store, "sho@").await, ["kobayashi1"]);

        store.roster_load_begin().await.unwrap();
        assert_eq!(search_indexes(&store).await, 5);
        store.roster_load_end().await.unwrap();
    }

    /// A load killed between its start and its end leaves the search indexes unbuilt; the next
    /// process to connect builds them.
    #[tokio::test]
    async fn a_load_killed_half_way_has_its_indexes_built_by_the_next_start() {
        let url = pg_harness::fresh_database().await;
        let store = PgStore::connect(&url).await.unwrap();
        store.roster_load_begin().await.unwrap();
        search_roster(&store).await;
        store.pool().close().await;
        drop(store);
        let store = PgStore::connect(&url).await.unwrap();
        assert_eq!(search_indexes(&store).await, 5);
        assert_eq!(user_ids(&store, "林").await.len(), 4);
    }

    /// Every queued mail is handed to exactly one sender while senders in two processes claim
    /// at the same time (the claim's `FOR UPDATE SKIP LOCKED`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn each_queued_mail_is_claimed_by_one_sender_of_two_processes() {
        let (one, two) = two_processes().await;
        let mut queued = BTreeSet::new();
        for i in 0..60 {
            let id = one
                .enqueue_mail(&new_mail(&format!("m{i}@example.jp")), 100, 100)
                .await
                .unwrap();
            queued.insert(id);
        }
        let mut senders = Vec::new();
        for k in 0..8 {
            let store = if k % 2 == 0 { one.clone() } else { two.clone() };
            senders.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let claimed = store.claim_due_mail(100, 10_000, 3).await.unwrap();
                    if claimed.is_empty() {
                        return got;
                    }
                    got.extend(claimed.into_iter().map(|m| m.id));
                }
            }));
        }
        let mut claimed = Vec::new();
        for s in senders {
            claimed.extend(s.await.unwrap());
        }
        let distinct: BTreeSet<_> = claimed.iter().copied().collect();
        assert_eq!(claimed.len(), distinct.len(), "a mail was claimed twice");
        assert_eq!(distinct, queued);
    }

    /// Two processes finish the same staff enrolment at once: its code is used once, one
    /// finish succeeds and the other is refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_staff_enrolment_finishes_once_across_two_processes() {
        use tobira::domain::{StaffPhase, TotpParams};
        use tobira::store::StaffEnrolment;
        let (one, two) = two_processes().await;
        let account = super::staff_suite::add(&one, "kimura").await;
        let session = tobira::store::StaffSessionRecord {
            token_hash: "enrolling".to_owned(),
            staff_id: account.id,
            phase: StaffPhase::Enrolling,
            pending_secret: Some(b"sealed".to_vec()),
            created_at: 1_000,
            last_seen_at: 1_000,
            expires_at: 1_600,
            absolute_expires_at: 29_800,
        };
        one.start_staff_enrolment(&session, &audit(None, "staff.enrolment_started", 1_000))
            .await
            .unwrap();
        let finish = |step: u64| StaffEnrolment {
            token_hash: "enrolling".to_owned(),
            password_hash: format!("hash {step}"),
            device_name: format!("phone {step}"),
            sealed_secret: b"sealed".to_vec(),
            params: TotpParams::default(),
            step,
            expires_at: 2_000,
            at: 1_100,
            audit: audit(None, "staff.enrolled", 1_100),
        };
        let (a, b) = (finish(1), finish(2));
        let (ra, rb) = tokio::join!(
            one.finish_staff_enrolment(&a),
            two.finish_staff_enrolment(&b)
        );
        assert_eq!(
            [ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(),
            1,
            "{ra:?} {rb:?}"
        );
        for r in [ra, rb] {
            if let Err(e) = r {
                assert!(matches!(e, StoreError::NoEnrollment), "{e}");
            }
        }
        assert_eq!(
            one.staff_totp_credentials(account.id).await.unwrap().len(),
            1
        );
    }

    /// A staff passkey ceremony started through one process is taken by one of two processes
    /// finishing it at once; the enrolment it finishes, and a sign-in with the passkey, each
    /// pass once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_staff_passkey_ceremony_enrolment_and_sign_in_each_finish_once_across_two_processes()
    {
        use super::staff_passkey_suite::*;
        use tobira::domain::StaffPhase;
        let (one, two) = two_processes().await;
        let a = enrolling(&one, "kimura", "enrolling").await;
        let reg = CeremonyKind::Registration;
        for round in 0..8 {
            one.save_staff_passkey_ceremony(&ceremony(&a, "enrolling", reg, "state", 5_000))
                .await
                .unwrap();
            let (x, y) = tokio::join!(
                one.take_staff_passkey_ceremony("enrolling", reg, 1_150),
                two.take_staff_passkey_ceremony("enrolling", reg, 1_150)
            );
            let taken = [x.unwrap(), y.unwrap()];
            assert_eq!(
                taken.iter().flatten().count(),
                1,
                "round {round}: {taken:?}"
            );
        }
        let (e1, e2) = (
            passkey_enrolment("enrolling", "cred-1", 1_200),
            passkey_enrolment("enrolling", "cred-2", 1_200),
        );
        let (x, y) = tokio::join!(
            one.finish_staff_enrolment_passkey(&e1),
            two.finish_staff_enrolment_passkey(&e2)
        );
        assert_eq!(
            [&x, &y].iter().filter(|r| r.is_ok()).count(),
            1,
            "{x:?} {y:?}"
        );
        for r in [x, y] {
            if let Err(e) = r {
                assert!(matches!(e, StoreError::NoEnrollment), "{e}");
            }
        }
        let keys = two.staff_passkeys(a.id).await.unwrap();
        assert_eq!(keys.len(), 1);
        two.start_staff_session(
            &super::staff_suite::session(&a, "signing-in", StaffPhase::SecondFactor, 1_300),
            &audit(None, "staff.password_passed", 1_300),
        )
        .await
        .unwrap();
        let before = one.audit_log(None, 10_000).await.unwrap().len();
        let (u1, u2) = (
            passkey_use("signing-in", keys[0].id, Some("{\"c\":1}"), 1_400),
            passkey_use("signing-in", keys[0].id, Some("{\"c\":2}"), 1_400),
        );
        let (x, y) = tokio::join!(one.pass_staff_passkey(&u1), two.pass_staff_passkey(&u2));
        let passed = [x.unwrap(), y.unwrap()];
        assert_eq!(passed.iter().filter(|p| **p).count(), 1, "{passed:?}");
        assert_eq!(one.audit_log(None, 10_000).await.unwrap().len(), before + 1);
    }

    /// A database whose character type is plain C cannot index Japanese names (pg_trgm finds
    /// no trigram in them): the migration refuses it and says what to do, without the URL.
    #[tokio::test]
    async fn a_database_without_a_utf8_character_type_is_refused_clearly() {
        use sqlx::Connection;
        let server = pg_harness::server();
        let name = format!("c_ctype_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&server.url("postgres"))
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' \
             LC_COLLATE 'C' LC_CTYPE 'C'"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
        let url = server.url_with_password(&name, "s3cret-pw");
        let e = PgStore::connect(&url).await.unwrap_err().to_string();
        assert!(e.contains("cannot index Japanese names"), "{e}");
        assert!(e.contains("LC_CTYPE"), "{e}");
        assert!(!e.contains("s3cret-pw"), "{e}");
    }
}

// ---------------------------------------------------------------- SQLite only

mod sqlite_only {
    use super::*;
    use sqlx::Connection;
    use tobira::store::prelude::*;

    #[tokio::test]
    async fn the_audit_log_refuses_updates_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        store.append_audit(&audit(None, "kept", 100)).await.unwrap();

        let url = format!("sqlite://{}", path.display());
        let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for sql in [
            "UPDATE audit_log SET detail = 'forged'",
            "DELETE FROM audit_log",
        ] {
            let err = sqlx::query(sql).execute(&mut raw).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        raw.close().await.unwrap();
        assert_eq!(
            store.audit_log(None, 10).await.unwrap(),
            vec![audit(None, "kept", 100)]
        );
    }

    #[tokio::test]
    async fn a_deleted_member_leaves_no_search_hit() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let m = search_roster(&store).await;
        assert_eq!(user_ids(&store, "林").await.len(), 4);
        // Nothing in the product deletes members; a hand-made delete must still clean up.
        sqlx::query("DELETE FROM members WHERE id = ?")
            .bind(m[3].id)
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!(
            user_ids(&store, "林").await,
            ["hayashi01", "kobayashi1", "mori0001"]
        );
        assert!(user_ids(&store, "若林さくら").await.is_empty());
        let (grams,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM member_name_grams WHERE member_id = ?")
                .bind(m[3].id)
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(grams, 0);
    }

    #[tokio::test]
    async fn members_there_before_the_search_migration_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        search_roster(&store).await;
        // Take the search indexes back to what an older database had, then migrate again.
        for sql in [
            "DROP TRIGGER members_search_insert",
            "DROP TRIGGER members_search_delete",
            "DROP TRIGGER members_search_update",
            "DROP TABLE member_names",
            "DROP TABLE member_name_grams",
            "DROP TABLE search_positions",
            "DROP TABLE search_gram_widths",
            "DROP INDEX members_number",
            "DROP INDEX members_email_lower",
            "DELETE FROM schema_migrations WHERE version = 8",
        ] {
            sqlx::query(sql).execute(store.pool()).await.unwrap();
        }
        store.pool().close().await;
        drop(store);
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        assert_eq!(user_ids(&store, "林").await.len(), 4);
        assert_eq!(user_ids(&store, "山田太郎").await, ["yamada001"]);
    }

    #[tokio::test]
    async fn the_audit_log_refuses_updates_and_deletes_through_the_pool() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let entries = [
            audit(Some(1), "hold.lifted", 100),
            audit(Some(2), "sign_in", 200),
        ];
        for e in &entries {
            store.append_audit(e).await.unwrap();
        }
        for sql in [
            "UPDATE audit_log SET detail = 'forged' WHERE member_id = 1",
            "UPDATE audit_log SET at = 0",
            "DELETE FROM audit_log WHERE member_id = 2",
            "DELETE FROM audit_log",
        ] {
            let err = sqlx::query(sql).execute(store.pool()).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        // Inside a transaction too: the statement fails, nothing it touched changes.
        let mut tx = store.pool().begin().await.unwrap();
        assert!(
            sqlx::query("DELETE FROM audit_log")
                .execute(&mut *tx)
                .await
                .is_err()
        );
        tx.commit().await.unwrap();
        let newest_first: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
        assert_eq!(store.audit_log(None, 10).await.unwrap(), newest_first);
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        // A parent directory that does not exist yet, through a URL.
        let path = dir.path().join("nested/deeper/tobira.db");
        let url = format!("sqlite://{}", path.display());
        let store = SqliteStore::open(&url).await.unwrap();
        seed(&store, 3).await;
        assert_eq!(
            store.applied_migrations().await.unwrap(),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
        );
        store.pool().close().await;
        drop(store);

        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        assert_eq!(store.member_count().await.unwrap(), 3);
        assert_eq!(
            store.applied_migrations().await.unwrap(),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
        );
        let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM schema_migrations")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(rows, 14);
    }

    #[tokio::test]
    async fn pragmas_are_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        let pool = store.pool();
        let journal: (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(journal.0, "wal");
        let fk: (i64,) = sqlx::query_as("PRAGMA foreign_keys")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(fk.0, 1);
        let busy: (i64,) = sqlx::query_as("PRAGMA busy_timeout")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(busy.0, 5_000);
        let sync: (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(sync.0, 1, "NORMAL");
        let auto: (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(
            auto.0, 0,
            "checkpoints run in the background, not in commits"
        );
    }

    #[tokio::test]
    async fn lookups_use_indexes() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        for (sql, index) in [
            ("SELECT * FROM members WHERE user_id = 'x'", "INDEX"),
            ("SELECT * FROM flows WHERE token_hash = 'x'", "INDEX"),
            ("SELECT * FROM email_tokens WHERE token_hash = 'x'", "INDEX"),
            (
                "SELECT * FROM totp_credentials WHERE member_id = 1",
                "INDEX",
            ),
            (
                "SELECT * FROM totp_enrollments WHERE member_id = 1",
                "INTEGER PRIMARY KEY",
            ),
            (
                "SELECT * FROM flows WHERE expires_at <= 5",
                "flows_expires_at",
            ),
            (
                "SELECT * FROM audit_log WHERE member_id = 1 ORDER BY id DESC",
                "audit_log_member_id",
            ),
        ] {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .fetch_all(store.pool())
                    .await
                    .unwrap();
            let detail: Vec<&str> = plan.iter().map(|p| p.3.as_str()).collect();
            assert!(
                detail.iter().any(|d| d.contains(index))
                    && !detail.iter().any(|d| d.contains("TEMP B-TREE")),
                "{sql}: {detail:?}"
            );
        }
    }
}

// ---------------------------------------------------------------- issue 13: staff

mod staff_suite {
    use super::*;
    use tobira::domain::{StaffPhase, StaffRole};
    use tobira::store::{
        NewEnrolmentCode, NewStaff, StaffAccount, StaffEnrolment, StaffSessionRecord,
    };

    fn new_staff(login: &str, role: StaffRole) -> NewStaff {
        NewStaff {
            login: login.to_owned(),
            display_name: format!("{login} name"),
            role,
            at: 1_000,
        }
    }

    fn code(hash: &str, at: i64) -> NewEnrolmentCode {
        NewEnrolmentCode {
            code_hash: hash.to_owned(),
            created_at: at,
            expires_at: at + 3_600,
        }
    }

    pub(super) async fn add(store: &dyn Store, login: &str) -> StaffAccount {
        store
            .add_staff(
                &new_staff(login, StaffRole::Helpdesk),
                &code(&format!("hash-{login}"), 1_000),
                &audit(None, "staff.added", 1_000),
            )
            .await
            .unwrap()
    }

    pub(super) fn session(
        a: &StaffAccount,
        hash: &str,
        phase: StaffPhase,
        at: i64,
    ) -> StaffSessionRecord {
        StaffSessionRecord {
            token_hash: hash.to_owned(),
            staff_id: a.id,
            phase,
            pending_secret: (phase == StaffPhase::Enrolling).then(|| vec![1, 2, 3]),
            created_at: at,
            last_seen_at: at,
            expires_at: at + 600,
            absolute_expires_at: at + 28_800,
        }
    }

    pub(super) fn enrolment(hash: &str, step: u64, at: i64) -> StaffEnrolment {
        StaffEnrolment {
            token_hash: hash.to_owned(),
            password_hash: "$argon2id$test".to_owned(),
            device_name: "phone".to_owned(),
            sealed_secret: vec![9, 9, 9],
            params: TotpParams::default(),
            step,
            expires_at: at + 1_800,
            at,
            audit: audit(None, "staff.enrolled", at),
        }
    }

    /// An account enrolled through its code, with an active session `hash`.
    pub(super) async fn enrolled(store: &dyn Store, login: &str, hash: &str) -> StaffAccount {
        let a = add(store, login).await;
        store
            .start_staff_enrolment(
                &session(&a, hash, StaffPhase::Enrolling, 1_100),
                &audit(None, "staff.enrolment_started", 1_100),
            )
            .await
            .unwrap();
        store
            .finish_staff_enrolment(&enrolment(hash, 100, 1_200))
            .await
            .unwrap()
    }
}

async fn staff_accounts_are_added_listed_disabled_and_reset(store: &dyn Store) {
    use staff_suite::*;
    use tobira::domain::{StaffPhase, StaffRole};
    let bob = add(store, "bob").await;
    let alice = add(store, "alice").await;
    assert_eq!(audit_count(store).await, 2);
    assert_eq!(alice.role, StaffRole::Helpdesk);
    assert!(alice.enabled && alice.password_hash.is_none());
    // A taken login writes nothing.
    let again = store
        .add_staff(
            &tobira::store::NewStaff {
                login: "alice".to_owned(),
                display_name: "x".to_owned(),
                role: StaffRole::Admin,
                at: 1_001,
            },
            &tobira::store::NewEnrolmentCode {
                code_hash: "other".to_owned(),
                created_at: 1_001,
                expires_at: 4_601,
            },
            &audit(None, "staff.added", 1_001),
        )
        .await;
    assert!(
        matches!(again, Err(StoreError::StaffLoginTaken)),
        "{again:?}"
    );
    assert_eq!(audit_count(store).await, 2);
    assert_eq!(
        store
            .staff_enrolment_code(alice.id)
            .await
            .unwrap()
            .unwrap()
            .code_hash,
        "hash-alice"
    );
    let logins: Vec<String> = store
        .staff_list()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.login)
        .collect();
    assert_eq!(logins, ["alice", "bob"]);
    assert_eq!(
        store.staff_by_login("bob").await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(store.staff(alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(store.staff_by_login("carol").await.unwrap(), None);

    // Disabling ends every session of the account, and only of it.
    for (a, h) in [(&bob, "b1"), (&bob, "b2"), (&alice, "a1")] {
        store
            .start_staff_session(
                &session(a, h, StaffPhase::Active, 1_100),
                &audit(None, "staff.sign_in", 1_100),
            )
            .await
            .unwrap();
    }
    let before = audit_count(store).await;
    assert_eq!(
        store
            .disable_staff(bob.id, &audit(None, "staff.disabled", 1_200), 1_200)
            .await
            .unwrap(),
        2
    );
    assert_eq!(audit_count(store).await, before + 1);
    let b = store.staff(bob.id).await.unwrap().unwrap();
    assert!(!b.enabled);
    assert_eq!(b.updated_at, 1_200);
    assert_eq!(store.staff_session("b1").await.unwrap(), None);
    assert!(store.staff_session("a1").await.unwrap().is_some());
    assert!(matches!(
        store
            .disable_staff(9_999, &audit(None, "staff.disabled", 1_200), 1_200)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(audit_count(store).await, before + 1);

    // A reset: password, apps, sessions and the login's failures gone, a new code, enabled.
    let carol = enrolled(store, "carol", "c1").await;
    assert!(carol.password_hash.is_some());
    assert_eq!(store.staff_factor_count(carol.id).await.unwrap(), 1);
    store
        .record_failure(ThrottleScope::Staff, "carol", 1_300)
        .await
        .unwrap();
    store
        .disable_staff(carol.id, &audit(None, "staff.disabled", 1_300), 1_300)
        .await
        .unwrap();
    store
        .start_staff_session(
            &session(&carol, "c2", StaffPhase::Active, 1_310),
            &audit(None, "staff.sign_in", 1_310),
        )
        .await
        .unwrap();
    let new_code = tobira::store::NewEnrolmentCode {
        code_hash: "hash-carol-2".to_owned(),
        created_at: 1_400,
        expires_at: 5_000,
    };
    let before = audit_count(store).await;
    let ended = store
        .reset_staff(
            carol.id,
            &new_code,
            &audit(None, "staff.reset", 1_400),
            1_400,
        )
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(audit_count(store).await, before + 1);
    let c = store.staff(carol.id).await.unwrap().unwrap();
    assert!(c.enabled && c.password_hash.is_none());
    assert_eq!(store.staff_factor_count(carol.id).await.unwrap(), 0);
    assert_eq!(store.staff_session("c2").await.unwrap(), None);
    assert_eq!(
        store
            .failures(ThrottleScope::Staff, "carol")
            .await
            .unwrap()
            .failures,
        0
    );
    let code = store.staff_enrolment_code(carol.id).await.unwrap().unwrap();
    assert_eq!(
        (code.code_hash.as_str(), code.expires_at, code.used_at),
        ("hash-carol-2", 5_000, None)
    );
    assert!(matches!(
        store
            .reset_staff(9_999, &new_code, &audit(None, "staff.reset", 1_400), 1_400)
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn a_staff_enrolment_uses_its_code_once_and_signs_the_session_in(store: &dyn Store) {
    use staff_suite::*;
    use tobira::domain::StaffPhase;
    let a = add(store, "alice").await;
    // A second start replaces the first enrolling session.
    for h in ["e1", "e2"] {
        store
            .start_staff_enrolment(
                &session(&a, h, StaffPhase::Enrolling, 1_100),
                &audit(None, "staff.enrolment_started", 1_100),
            )
            .await
            .unwrap();
    }
    assert_eq!(store.staff_session("e1").await.unwrap(), None);
    let pending = store.staff_session("e2").await.unwrap().unwrap();
    assert_eq!(pending.pending_secret, Some(vec![1, 2, 3]));
    store
        .record_failure(ThrottleScope::Staff, "alice", 1_150)
        .await
        .unwrap();
    // Not an enrolling session: nothing changes.
    assert!(matches!(
        store
            .finish_staff_enrolment(&enrolment("nope", 100, 1_200))
            .await,
        Err(StoreError::NoEnrollment)
    ));
    let before = audit_count(store).await;
    let done = store
        .finish_staff_enrolment(&enrolment("e2", 100, 1_200))
        .await
        .unwrap();
    assert_eq!(audit_count(store).await, before + 1);
    assert_eq!(done.password_hash.as_deref(), Some("$argon2id$test"));
    let s = store.staff_session("e2").await.unwrap().unwrap();
    assert_eq!(s.phase, StaffPhase::Active);
    assert_eq!((s.pending_secret, s.expires_at), (None, 3_000));
    let creds = store.staff_totp_credentials(a.id).await.unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(
        (creds[0].name.as_str(), creds[0].last_used_step),
        ("phone", Some(100))
    );
    assert_eq!(creds[0].sealed_secret, vec![9, 9, 9]);
    assert_eq!(
        store
            .staff_enrolment_code(a.id)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        Some(1_200)
    );
    assert_eq!(
        store
            .failures(ThrottleScope::Staff, "alice")
            .await
            .unwrap()
            .failures,
        0
    );
    // The code is used up: another enrolling session cannot finish.
    store
        .start_staff_enrolment(
            &session(&a, "e3", StaffPhase::Enrolling, 1_300),
            &audit(None, "staff.enrolment_started", 1_300),
        )
        .await
        .unwrap();
    let before = audit_count(store).await;
    assert!(matches!(
        store
            .finish_staff_enrolment(&enrolment("e3", 200, 1_310))
            .await,
        Err(StoreError::NoEnrollment)
    ));
    assert_eq!(audit_count(store).await, before);
    assert_eq!(store.staff_totp_credentials(a.id).await.unwrap().len(), 1);

    // An expired code, and a disabled account, enrol nobody.
    let b = add(store, "bob").await;
    store
        .start_staff_enrolment(
            &session(&b, "b1", StaffPhase::Enrolling, 4_000),
            &audit(None, "staff.enrolment_started", 4_000),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .finish_staff_enrolment(&enrolment("b1", 1, 4_600))
            .await,
        Err(StoreError::NoEnrollment)
    ));
    assert!(
        store
            .staff(b.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .is_none()
    );
    let c = add(store, "carol").await;
    store
        .start_staff_enrolment(
            &session(&c, "c1", StaffPhase::Enrolling, 1_100),
            &audit(None, "staff.enrolment_started", 1_100),
        )
        .await
        .unwrap();
    store
        .disable_staff(c.id, &audit(None, "staff.disabled", 1_150), 1_150)
        .await
        .unwrap();
    store
        .start_staff_enrolment(
            &session(&c, "c2", StaffPhase::Enrolling, 1_160),
            &audit(None, "staff.enrolment_started", 1_160),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .finish_staff_enrolment(&enrolment("c2", 1, 1_200))
            .await,
        Err(StoreError::NoEnrollment)
    ));
    assert_eq!(store.staff_factor_count(c.id).await.unwrap(), 0);
}

async fn a_staff_code_step_is_used_once_and_only_by_its_owner(store: &dyn Store) {
    use staff_suite::*;
    use tobira::domain::StaffPhase;
    let a = enrolled(store, "alice", "a-enrol").await;
    let b = enrolled(store, "bob", "b-enrol").await;
    let a_cred = store.staff_totp_credentials(a.id).await.unwrap()[0].clone();
    let pass = |hash: &str, cred: i64, step: u64| tobira::store::StaffSecondFactor {
        token_hash: hash.to_owned(),
        credential_id: cred,
        step,
        expires_at: 3_000,
        at: 2_000,
        audit: audit(None, "staff.sign_in", 2_000),
    };
    store
        .start_staff_session(
            &session(&b, "b1", StaffPhase::SecondFactor, 1_900),
            &audit(None, "staff.password_accepted", 1_900),
        )
        .await
        .unwrap();
    // Another staff member's device: refused, and its step is not used.
    assert!(
        !store
            .pass_staff_second_factor(&pass("b1", a_cred.id, 150))
            .await
            .unwrap()
    );
    assert_eq!(
        store.staff_totp_credentials(a.id).await.unwrap()[0].last_used_step,
        Some(100)
    );
    store
        .start_staff_session(
            &session(&a, "a1", StaffPhase::SecondFactor, 1_900),
            &audit(None, "staff.password_accepted", 1_900),
        )
        .await
        .unwrap();
    let before = audit_count(store).await;
    // The enrolment's step, and earlier ones, are used.
    for step in [99, 100] {
        assert!(
            !store
                .pass_staff_second_factor(&pass("a1", a_cred.id, step))
                .await
                .unwrap()
        );
    }
    assert_eq!(audit_count(store).await, before);
    assert_eq!(
        store.staff_session("a1").await.unwrap().unwrap().phase,
        StaffPhase::SecondFactor
    );
    store
        .record_failure(ThrottleScope::Staff, "alice", 1_950)
        .await
        .unwrap();
    assert!(
        store
            .pass_staff_second_factor(&pass("a1", a_cred.id, 101))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(store).await, before + 1);
    let s = store.staff_session("a1").await.unwrap().unwrap();
    assert_eq!(
        (s.phase, s.last_seen_at, s.expires_at),
        (StaffPhase::Active, 2_000, 3_000)
    );
    assert_eq!(
        store
            .failures(ThrottleScope::Staff, "alice")
            .await
            .unwrap()
            .failures,
        0
    );
    let cred = &store.staff_totp_credentials(a.id).await.unwrap()[0];
    assert_eq!(
        (cred.last_used_step, cred.last_used_at),
        (Some(101), Some(2_000))
    );
    // An active session waits for no code.
    assert!(
        !store
            .pass_staff_second_factor(&pass("a1", a_cred.id, 102))
            .await
            .unwrap()
    );
    assert_eq!(
        store.staff_totp_credentials(a.id).await.unwrap()[0].last_used_step,
        Some(101)
    );
}

async fn staff_sessions_are_touched_ended_and_purged(store: &dyn Store) {
    use staff_suite::*;
    use tobira::domain::StaffPhase;
    let a = add(store, "alice").await;
    let b = add(store, "bob").await;
    let s1 = session(&a, "s1", StaffPhase::Active, 1_000);
    store
        .start_staff_session(&s1, &audit(None, "staff.sign_in", 1_000))
        .await
        .unwrap();
    assert_eq!(store.staff_session("s1").await.unwrap(), Some(s1.clone()));
    store.touch_staff_session("s1", 1_100, 1_700).await.unwrap();
    let s = store.staff_session("s1").await.unwrap().unwrap();
    assert_eq!((s.last_seen_at, s.expires_at), (1_100, 1_700));
    assert_eq!(s.absolute_expires_at, s1.absolute_expires_at);

    let before = audit_count(store).await;
    store
        .end_staff_session("s1", Some(&audit(None, "staff.sign_out", 1_200)))
        .await
        .unwrap();
    store
        .end_staff_session("s1", Some(&audit(None, "staff.sign_out", 1_201)))
        .await
        .unwrap();
    assert_eq!(
        audit_count(store).await,
        before + 1,
        "an unknown session writes nothing"
    );
    assert_eq!(store.staff_session("s1").await.unwrap(), None);

    for (acc, h) in [(&a, "a1"), (&a, "a2"), (&b, "b1")] {
        store
            .start_staff_session(
                &session(acc, h, StaffPhase::Active, 1_000),
                &audit(None, "staff.sign_in", 1_000),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .end_staff_sessions(a.id, &audit(None, "staff.locked", 1_300))
            .await
            .unwrap(),
        2
    );
    assert!(store.staff_session("b1").await.unwrap().is_some());
    // Idle expiry (1_600) and absolute expiry (29_800) both end a session.
    let mut late = session(&a, "late", StaffPhase::Active, 1_000);
    late.expires_at = 50_000;
    store
        .start_staff_session(&late, &audit(None, "staff.sign_in", 1_000))
        .await
        .unwrap();
    assert_eq!(store.purge_expired_staff_sessions(1_599).await.unwrap(), 0);
    assert_eq!(store.purge_expired_staff_sessions(1_600).await.unwrap(), 1);
    assert!(store.staff_session("late").await.unwrap().is_some());
    assert_eq!(store.purge_expired_staff_sessions(29_800).await.unwrap(), 1);
    assert_eq!(store.staff_session("late").await.unwrap(), None);
}

mod staff_passkey_suite {
    use super::*;
    use tobira::domain::StaffPhase;
    use tobira::store::{
        StaffAccount, StaffPasskeyCeremony, StaffPasskeyEnrolment, StaffPasskeyUse,
    };

    pub(super) fn ceremony(
        a: &StaffAccount,
        hash: &str,
        kind: CeremonyKind,
        state: &str,
        expires_at: i64,
    ) -> StaffPasskeyCeremony {
        StaffPasskeyCeremony {
            token_hash: hash.to_owned(),
            kind,
            staff_id: a.id,
            state: state.to_owned(),
            created_at: 1_100,
            expires_at,
        }
    }

    pub(super) fn passkey_enrolment(
        hash: &str,
        credential: &str,
        at: i64,
    ) -> StaffPasskeyEnrolment {
        StaffPasskeyEnrolment {
            token_hash: hash.to_owned(),
            password_hash: "$argon2id$pk".to_owned(),
            name: format!("key {credential}"),
            credential_id: credential.to_owned(),
            passkey: format!("{{\"cred\":\"{credential}\",\"counter\":0}}"),
            expires_at: at + 1_800,
            at,
            audit: audit(None, "staff.enrolled", at),
        }
    }

    pub(super) fn passkey_use(
        hash: &str,
        credential: i64,
        json: Option<&str>,
        at: i64,
    ) -> StaffPasskeyUse {
        StaffPasskeyUse {
            token_hash: hash.to_owned(),
            credential,
            passkey: json.map(str::to_owned),
            expires_at: at + 1_800,
            at,
            audit: audit(None, "staff.sign_in_passed", at),
        }
    }

    /// An account with an enrolling session `hash`.
    pub(super) async fn enrolling(store: &dyn Store, login: &str, hash: &str) -> StaffAccount {
        let a = super::staff_suite::add(store, login).await;
        store
            .start_staff_enrolment(
                &super::staff_suite::session(&a, hash, StaffPhase::Enrolling, 1_100),
                &audit(None, "staff.enrolment_started", 1_100),
            )
            .await
            .unwrap();
        a
    }
}

async fn a_staff_passkey_ceremony_is_taken_once_replaced_by_a_new_start_and_dies_with_its_session(
    store: &dyn Store,
) {
    use staff_passkey_suite::*;
    let a = enrolling(store, "alice", "pe").await;
    let (reg, auth) = (CeremonyKind::Registration, CeremonyKind::Authentication);
    // A new start of the same kind replaces the old state; the other kind is kept apart.
    store
        .save_staff_passkey_ceremony(&ceremony(&a, "pe", reg, "r1", 1_400))
        .await
        .unwrap();
    store
        .save_staff_passkey_ceremony(&ceremony(&a, "pe", reg, "r2", 1_500))
        .await
        .unwrap();
    store
        .save_staff_passkey_ceremony(&ceremony(&a, "pe", auth, "a1", 1_400))
        .await
        .unwrap();
    assert_eq!(
        store
            .take_staff_passkey_ceremony("pe", reg, 1_150)
            .await
            .unwrap(),
        Some(ceremony(&a, "pe", reg, "r2", 1_500))
    );
    assert_eq!(
        store
            .take_staff_passkey_ceremony("pe", reg, 1_150)
            .await
            .unwrap(),
        None,
        "taken once"
    );
    assert_eq!(
        store
            .take_staff_passkey_ceremony("other", auth, 1_150)
            .await
            .unwrap(),
        None
    );
    // Expired at `now`: not handed out, and deleted on the way by any take.
    assert_eq!(
        store
            .take_staff_passkey_ceremony("pe", auth, 1_400)
            .await
            .unwrap(),
        None
    );
    store
        .save_staff_passkey_ceremony(&ceremony(&a, "pe", auth, "a2", 1_300))
        .await
        .unwrap();
    assert_eq!(
        store
            .take_staff_passkey_ceremony("pe", reg, 1_300)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_staff_passkey_ceremony("pe", auth, 1_200)
            .await
            .unwrap(),
        None,
        "purged by the take of another ceremony"
    );
    // A ceremony dies with its session.
    store
        .save_staff_passkey_ceremony(&ceremony(&a, "pe", reg, "r3", 1_500))
        .await
        .unwrap();
    store.end_staff_session("pe", None).await.unwrap();
    assert_eq!(
        store
            .take_staff_passkey_ceremony("pe", reg, 1_150)
            .await
            .unwrap(),
        None
    );
}

async fn a_staff_enrolment_with_a_passkey_uses_its_code_once_and_a_credential_once(
    store: &dyn Store,
) {
    use staff_passkey_suite::*;
    use tobira::domain::StaffPhase;
    let a = enrolling(store, "alice", "pa").await;
    store
        .record_failure(ThrottleScope::Staff, "alice", 1_150)
        .await
        .unwrap();
    assert!(matches!(
        store
            .finish_staff_enrolment_passkey(&passkey_enrolment("nope", "cred-a", 1_200))
            .await,
        Err(StoreError::NoEnrollment)
    ));
    let before = audit_count(store).await;
    let done = store
        .finish_staff_enrolment_passkey(&passkey_enrolment("pa", "cred-a", 1_200))
        .await
        .unwrap();
    assert_eq!(audit_count(store).await, before + 1);
    assert_eq!(done.password_hash.as_deref(), Some("$argon2id$pk"));
    let keys = store.staff_passkeys(a.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (
            keys[0].staff_id,
            keys[0].name.as_str(),
            keys[0].credential_id.as_str(),
            keys[0].passkey.as_str(),
            keys[0].created_at,
            keys[0].last_used_at
        ),
        (
            a.id,
            "key cred-a",
            "cred-a",
            "{\"cred\":\"cred-a\",\"counter\":0}",
            1_200,
            Some(1_200)
        )
    );
    assert!(store.staff_totp_credentials(a.id).await.unwrap().is_empty());
    assert_eq!(store.staff_factor_count(a.id).await.unwrap(), 1);
    let s = store.staff_session("pa").await.unwrap().unwrap();
    assert_eq!(
        (s.phase, s.pending_secret, s.expires_at),
        (StaffPhase::Active, None, 3_000)
    );
    assert_eq!(
        store
            .staff_enrolment_code(a.id)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        Some(1_200)
    );
    assert_eq!(
        store
            .failures(ThrottleScope::Staff, "alice")
            .await
            .unwrap()
            .failures,
        0
    );
    // Finished: the session is no longer enrolling.
    assert!(matches!(
        store
            .finish_staff_enrolment_passkey(&passkey_enrolment("pa", "cred-a2", 1_250))
            .await,
        Err(StoreError::NoEnrollment)
    ));

    // Another account cannot register the same credential, and nothing of its enrolment is
    // written.
    let b = enrolling(store, "bob", "pb").await;
    let before = audit_count(store).await;
    assert!(matches!(
        store
            .finish_staff_enrolment_passkey(&passkey_enrolment("pb", "cred-a", 1_300))
            .await,
        Err(StoreError::CredentialTaken)
    ));
    assert_eq!(audit_count(store).await, before);
    assert_eq!(
        store.staff(b.id).await.unwrap().unwrap().password_hash,
        None
    );
    assert!(store.staff_passkeys(b.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .staff_enrolment_code(b.id)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None
    );
    assert_eq!(
        store.staff_session("pb").await.unwrap().unwrap().phase,
        StaffPhase::Enrolling
    );
    // With its own credential it enrols.
    store
        .finish_staff_enrolment_passkey(&passkey_enrolment("pb", "cred-b", 1_300))
        .await
        .unwrap();
    assert_eq!(store.staff_passkeys(b.id).await.unwrap().len(), 1);

    // A reset removes the passkeys with the rest.
    store
        .reset_staff(
            a.id,
            &tobira::store::NewEnrolmentCode {
                code_hash: "again".to_owned(),
                created_at: 1_400,
                expires_at: 5_000,
            },
            &audit(None, "staff.reset", 1_400),
            1_400,
        )
        .await
        .unwrap();
    assert!(store.staff_passkeys(a.id).await.unwrap().is_empty());
    assert_eq!(store.staff_factor_count(a.id).await.unwrap(), 0);
    assert_eq!(store.staff_passkeys(b.id).await.unwrap().len(), 1);
}

async fn a_staff_passkey_passes_a_sign_in_once_and_only_its_owners(store: &dyn Store) {
    use staff_passkey_suite::*;
    use tobira::domain::StaffPhase;
    let a = enrolling(store, "alice", "ea").await;
    store
        .finish_staff_enrolment_passkey(&passkey_enrolment("ea", "cred-a", 1_200))
        .await
        .unwrap();
    let b = enrolling(store, "bob", "eb").await;
    store
        .finish_staff_enrolment_passkey(&passkey_enrolment("eb", "cred-b", 1_200))
        .await
        .unwrap();
    let key_a = store.staff_passkeys(a.id).await.unwrap().remove(0);
    let key_b = store.staff_passkeys(b.id).await.unwrap().remove(0);
    for h in ["s1", "s2"] {
        store
            .start_staff_session(
                &staff_suite::session(&a, h, StaffPhase::SecondFactor, 1_300),
                &audit(None, "staff.password_passed", 1_300),
            )
            .await
            .unwrap();
    }
    store
        .record_failure(ThrottleScope::Staff, "alice", 1_310)
        .await
        .unwrap();
    let before = audit_count(store).await;
    // Bob's passkey does not pass Alice's sign-in, and is not marked used.
    assert!(
        !store
            .pass_staff_passkey(&passkey_use("s1", key_b.id, Some("{\"b\":1}"), 1_320))
            .await
            .unwrap()
    );
    assert_eq!(
        store.staff_passkeys(b.id).await.unwrap(),
        vec![key_b.clone()]
    );
    // An active session (the enrolment's) is not waiting for a second factor.
    assert!(
        !store
            .pass_staff_passkey(&passkey_use("ea", key_a.id, None, 1_320))
            .await
            .unwrap()
    );
    assert!(
        !store
            .pass_staff_passkey(&passkey_use("nope", key_a.id, None, 1_320))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(store).await, before);
    let s = store.staff_session("s1").await.unwrap().unwrap();
    assert_eq!(s.phase, StaffPhase::SecondFactor);
    assert_eq!(
        store
            .failures(ThrottleScope::Staff, "alice")
            .await
            .unwrap()
            .failures,
        1
    );

    // The right one: counters saved, session signed in, failures forgotten, audited; once.
    assert!(
        store
            .pass_staff_passkey(&passkey_use("s1", key_a.id, Some("{\"counter\":5}"), 1_400))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(store).await, before + 1);
    let k = store.staff_passkeys(a.id).await.unwrap().remove(0);
    assert_eq!(
        (k.passkey.as_str(), k.last_used_at),
        ("{\"counter\":5}", Some(1_400))
    );
    let s = store.staff_session("s1").await.unwrap().unwrap();
    assert_eq!((s.phase, s.expires_at), (StaffPhase::Active, 3_200));
    assert_eq!(
        store
            .failures(ThrottleScope::Staff, "alice")
            .await
            .unwrap()
            .failures,
        0
    );
    assert!(
        !store
            .pass_staff_passkey(&passkey_use("s1", key_a.id, Some("{\"counter\":6}"), 1_450))
            .await
            .unwrap()
    );
    // Without new counters the stored JSON stays; only the time of use moves.
    assert!(
        store
            .pass_staff_passkey(&passkey_use("s2", key_a.id, None, 1_500))
            .await
            .unwrap()
    );
    let k = store.staff_passkeys(a.id).await.unwrap().remove(0);
    assert_eq!(
        (k.passkey.as_str(), k.last_used_at),
        ("{\"counter\":5}", Some(1_500))
    );
}

// ---------------------------------------------------------------- issue 17: one transaction per write

async fn an_enrollment_start_is_audited_with_it_once(store: &dyn Store) {
    let m = &seed(store, 1).await[0];
    let before = audit_count(store).await;
    let started = audit(Some(m.id), "totp.enrollment_started", 2_000);
    let first = store
        .start_totp_enrollment_audited(&pending(m, b"sealed-1", 2_000), &started)
        .await
        .unwrap();
    assert_eq!(first, pending(m, b"sealed-1", 2_000));
    assert_eq!(audit_count(store).await, before + 1);
    assert_eq!(store.audit_log(Some(m.id), 1).await.unwrap(), vec![started]);

    // Already pending: the same enrollment back, and no second entry.
    let again = store
        .start_totp_enrollment_audited(
            &pending(m, b"sealed-2", 2_100),
            &audit(Some(m.id), "totp.enrollment_started", 2_100),
        )
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(audit_count(store).await, before + 1);

    // A failing enrollment (no such member) leaves no entry either.
    let mut ghost = pending(m, b"sealed-3", 2_200);
    ghost.member_id = m.id + 1_000;
    let failed = store
        .start_totp_enrollment_audited(
            &ghost,
            &audit(Some(ghost.member_id), "totp.enrollment_started", 2_200),
        )
        .await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(audit_count(store).await, before + 1);
    assert_eq!(store.totp_enrollment(ghost.member_id).await.unwrap(), None);
}

async fn an_emailed_code_its_mail_and_its_audit_are_written_together(store: &dyn Store) {
    use tobira::store::{CodeCheckOutcome, CodeIssue, CodeIssueAudit, CodePurpose, NewEmailCode};
    let m = &seed(store, 1).await[0];
    let code = |member_id: MemberId, hash: &str, at: i64| NewEmailCode {
        member_id,
        purpose: CodePurpose::PasswordReset,
        code_hash: hash.to_owned(),
        created_at: at,
        expires_at: at + 600,
        cooldown_secs: 60,
    };
    let entries = |at: i64, cooldown: bool| CodeIssueAudit {
        issued: audit(Some(m.id), "recover.password_requested", at),
        cooldown: cooldown.then(|| audit(Some(m.id), "recover.within_cooldown", at)),
    };
    let audits = audit_count(store).await;
    let pending = || async { store.mail_queue_report(0).await.unwrap().pending };
    let mails = pending().await;

    let issued = store
        .issue_email_code_audited(
            &code(m.id, "h1", 100),
            &new_mail("a@example.jp"),
            100,
            &entries(100, true),
        )
        .await
        .unwrap();
    let CodeIssue::Issued(id) = issued else {
        panic!("no code issued: {issued:?}");
    };
    assert_eq!(pending().await, mails + 1);
    assert_eq!(audit_count(store).await, audits + 1);
    let written = store.audit_log(Some(m.id), 1).await.unwrap().remove(0);
    assert_eq!(written.action, "recover.password_requested");
    assert_eq!(
        written.detail,
        format!("mail {id} recover.password_requested detail"),
        "the entry names the mail it queued"
    );

    // Within the cooldown: only the cooldown's entry, when there is one.
    let refused = store
        .issue_email_code_audited(
            &code(m.id, "h2", 130),
            &new_mail("a@example.jp"),
            130,
            &entries(130, true),
        )
        .await
        .unwrap();
    assert_eq!(
        refused,
        CodeIssue::Cooldown {
            retry_after_secs: 30
        }
    );
    assert_eq!(pending().await, mails + 1);
    assert_eq!(audit_count(store).await, audits + 2);
    assert_eq!(
        store.audit_log(Some(m.id), 1).await.unwrap()[0].action,
        "recover.within_cooldown"
    );
    let silent = store
        .issue_email_code_audited(
            &code(m.id, "h3", 140),
            &new_mail("a@example.jp"),
            140,
            &entries(140, false),
        )
        .await
        .unwrap();
    assert!(matches!(silent, CodeIssue::Cooldown { .. }), "{silent:?}");
    assert_eq!(audit_count(store).await, audits + 2);
    assert_eq!(
        store
            .check_email_code(m.id, CodePurpose::PasswordReset, "h1", 5, 150)
            .await
            .unwrap(),
        CodeCheckOutcome::Accepted,
        "the first code is the live one"
    );

    // A code that cannot be stored (no such member) takes its mail and its entry back with it.
    let failed = store
        .issue_email_code_audited(
            &code(m.id + 1_000, "h4", 300),
            &new_mail("ghost@example.jp"),
            300,
            &entries(300, true),
        )
        .await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(pending().await, mails + 1);
    assert_eq!(audit_count(store).await, audits + 2);
}

async fn a_staff_hold_ends_the_sessions_with_the_failure_and_the_hold_audited(store: &dyn Store) {
    use staff_suite::*;
    use tobira::domain::StaffPhase;
    let a = add(store, "alice").await;
    let b = add(store, "bob").await;
    for (acc, h) in [(&a, "a1"), (&a, "a2"), (&b, "b1")] {
        store
            .start_staff_session(
                &session(acc, h, StaffPhase::Active, 1_000),
                &audit(None, "staff.sign_in", 1_000),
            )
            .await
            .unwrap();
    }
    let before = audit_count(store).await;
    let entries = [
        audit(None, "staff.sign_in_failed", 1_300),
        audit(None, "staff.locked", 1_300),
    ];
    assert_eq!(
        store
            .end_staff_sessions_audited(a.id, &entries)
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.staff_session("a1").await.unwrap(), None);
    assert_eq!(store.staff_session("a2").await.unwrap(), None);
    assert!(store.staff_session("b1").await.unwrap().is_some());
    assert_eq!(audit_count(store).await, before + 2);
    let newest: Vec<String> = store
        .audit_log(None, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(newest, ["staff.locked", "staff.sign_in_failed"]);
}

async fn removing_an_own_factor_ends_the_other_flows_with_it(store: &dyn Store) {
    let members = seed(store, 2).await;
    let (m, n) = (&members[0], &members[1]);
    let one = enroll(store, m, b"s1", "One").await;
    let two = enroll(store, m, b"s2", "Two").await;
    for (who, hash) in [(m, "keep"), (m, "other"), (n, "theirs")] {
        store.create_flow(&flow(who, hash, 9_000)).await.unwrap();
    }
    let entry = audit(Some(m.id), "totp.removed", 4_000);
    let audits = audit_count(store).await;

    // Another member's device, or none: nothing at all changes.
    let missing = store
        .remove_own_factor(m.id, Method::TotpApp, one.id + 100, "keep", &entry, 4_000)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert!(store.flow("other").await.unwrap().is_some());
    assert_eq!(audit_count(store).await, audits);

    let ended = store
        .remove_own_factor(m.id, Method::TotpApp, one.id, "keep", &entry, 4_000)
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(store.flow("keep").await.unwrap().is_some());
    assert_eq!(store.flow("other").await.unwrap(), None);
    assert!(store.flow("theirs").await.unwrap().is_some());
    assert_eq!(audit_count(store).await, audits + 1);
    assert_eq!(
        store.totp_credentials(m.id).await.unwrap(),
        vec![two.clone()]
    );

    // The last factor stays, and so do the flows.
    store.create_flow(&flow(m, "again", 9_000)).await.unwrap();
    let last = store
        .remove_own_factor(m.id, Method::TotpApp, two.id, "keep", &entry, 4_100)
        .await;
    assert!(
        matches!(last, Err(StoreError::LastSecondFactor)),
        "{last:?}"
    );
    assert!(store.flow("again").await.unwrap().is_some());
    assert_eq!(audit_count(store).await, audits + 1);
    assert_eq!(store.totp_credentials(m.id).await.unwrap(), vec![two]);
}

async fn gaining_a_factor_ends_the_other_flows_with_it(store: &dyn Store) {
    let members = seed(store, 2).await;
    let (m, n) = (&members[0], &members[1]);
    for (who, hash) in [(m, "keep"), (m, "other"), (n, "theirs")] {
        store.create_flow(&flow(who, hash, 9_000)).await.unwrap();
    }
    store
        .start_totp_enrollment(&pending(m, b"s1", 2_000))
        .await
        .unwrap();
    let confirm = |sealed: &[u8]| TotpConfirmation {
        keep_flow: Some("keep".to_owned()),
        ..confirmation(m, sealed, "Phone", 100)
    };
    // A confirmation that fails ends nothing.
    let stale = store.confirm_totp_enrollment(&confirm(b"s0")).await;
    assert!(matches!(stale, Err(StoreError::NoEnrollment)), "{stale:?}");
    assert!(store.flow("other").await.unwrap().is_some());

    store
        .confirm_totp_enrollment(&confirm(b"s1"))
        .await
        .unwrap();
    assert_eq!(store.flow("other").await.unwrap(), None);
    assert!(store.flow("keep").await.unwrap().is_some());
    assert!(store.flow("theirs").await.unwrap().is_some());

    store.create_flow(&flow(m, "other2", 9_000)).await.unwrap();
    store
        .add_passkey(&PasskeyEnrollment {
            keep_flow: Some("keep".to_owned()),
            ..passkey(m, "Key", "c1", None)
        })
        .await
        .unwrap();
    assert_eq!(store.flow("other2").await.unwrap(), None);
    assert!(store.flow("keep").await.unwrap().is_some());

    store.create_flow(&flow(m, "other3", 9_000)).await.unwrap();
    store
        .enable_email_factor(
            m.id,
            None,
            "keep",
            &audit(Some(m.id), "email_otp.enrolled", 3_000),
            3_000,
        )
        .await
        .unwrap();
    assert_eq!(store.flow("other3").await.unwrap(), None);
    assert!(store.flow("keep").await.unwrap().is_some());
    assert!(store.flow("theirs").await.unwrap().is_some());
}

async fn an_address_change_ends_the_other_flows_with_it(store: &dyn Store) {
    let members = seed(store, 2).await;
    let m = force_step(store, &members[0], Step::Home).await;
    for (who, hash) in [(&m, "keep"), (&m, "other"), (&members[1], "theirs")] {
        store.create_flow(&flow(who, hash, 9_000)).await.unwrap();
    }
    let audits = audit_count(store).await;
    store
        .start_email_change(
            &token(&m, "change", "new@example.jp", 3_000),
            &[new_mail("new@example.jp")],
            2_000,
            &audit(Some(m.id), "email.change_requested", 2_000),
            Some("keep"),
        )
        .await
        .unwrap();
    assert_eq!(store.flow("other").await.unwrap(), None);
    assert!(store.flow("keep").await.unwrap().is_some());
    assert!(store.flow("theirs").await.unwrap().is_some());
    assert_eq!(audit_count(store).await, audits + 1);
}
