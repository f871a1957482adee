//! A kiosk names itself in every request (`X-Tobira-Kiosk`); the server records a valid id in
//! the audit entry of each sign-in from it and ignores anything else.
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`).

mod common;

use common::*;
use tobira::api::Lang;
use tobira::client::Client;

async fn sign_in_details(t: &TestServer) -> Vec<String> {
    let member = t
        .store
        .member_by_user_id("demo0001")
        .await
        .unwrap()
        .unwrap();
    t.store
        .audit_log(Some(member.id), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "sign_in")
        .map(|e| e.detail)
        .collect()
}

async fn the_kiosk_id_is_recorded_with_each_sign_in_when_valid(db: Database) {
    let t = start_on(db).await;
    let kiosk = Client::new(&t.url)
        .unwrap()
        .with_kiosk_id(Some("shinjuku-01".into()));
    kiosk
        .sign_in("demo0001", DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    let details = sign_in_details(&t).await;
    assert_eq!(details.len(), 1);
    assert!(details[0].ends_with(" at kiosk shinjuku-01"), "{details:?}");

    // Too long, or with a space: ignored, never stored.
    for bad in ["a-very-long-kiosk-identifier-0123456789", "kiosk one"] {
        let c = Client::new(&t.url).unwrap().with_kiosk_id(Some(bad.into()));
        c.sign_in("demo0001", DEMO_INITIAL, Lang::Ja).await.unwrap();
    }
    // A terminal that is no kiosk names none.
    t.client
        .sign_in("demo0001", DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    let details = sign_in_details(&t).await;
    assert_eq!(details.len(), 4, "{details:?}");
    assert_eq!(
        details.iter().filter(|d| d.contains("kiosk")).count(),
        1,
        "{details:?}"
    );
    assert!(
        details.iter().all(|d| d.starts_with("from ")),
        "{details:?}"
    );
}

common::on_both_databases! {
    #[tokio::test]
    the_kiosk_id_is_recorded_with_each_sign_in_when_valid,
}
