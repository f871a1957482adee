//! Bounded work and believable client addresses, on a real server over real HTTP: the argon2
//! admission queue answers 503 + Retry-After when full, request bodies have a limit, forwarded
//! addresses count only from trusted proxies, IPv6 clients count per /64, and opening a
//! verification link (GET) changes nothing until its button is pressed (POST).
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`).

mod common;

use common::*;
use tobira::api::{ErrorCode, Lang, Step};
use tobira::domain::ThrottlePolicy;
use tobira::server::{Admission, HashingParams, ServerSettings};
use tobira::store::ThrottleScope;

/// A sign-in as raw HTTP, from a client claiming `forwarded_for` (X-Forwarded-For).
async fn raw_sign_in(
    http: &reqwest::Client,
    url: &str,
    user_id: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (u16, Option<String>, serde_json::Value) {
    let mut req = http
        .post(format!("{url}/api/v1/sign-in"))
        .json(&serde_json::json!({ "user_id": user_id, "password": password, "lang": "ja" }));
    if let Some(addr) = forwarded_for {
        req = req.header("x-forwarded-for", addr);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, retry_after, body)
}

async fn a_burst_past_the_admission_queue_gets_503_with_retry_after_and_nothing_else_fails(
    db: Database,
) {
    // One worker and one place in the queue; each check costs enough (8 MiB, 3 passes) that
    // 48 simultaneous sign-ins cannot all be admitted.
    let settings = ServerSettings {
        hashing: HashingParams {
            memory_kib: 8 * 1024,
            iterations: 3,
            parallelism: 1,
        },
        admission: Admission {
            workers: 1,
            queue: 1,
            ..Admission::default()
        },
        ..test_settings()
    };
    // Reserved attempts count while in flight: room for all 48, so that only the queue refuses.
    let mut settings = settings;
    settings.lockout.account.free_failures = 1000;
    settings.lockout.address.free_failures = 1000;
    settings.lockout.account.lock_after = 0;
    settings.lockout.address.lock_after = 0;
    let t = start_on_with(db, settings).await;
    let http = reqwest::Client::new();
    let burst: Vec<_> = (0..48)
        .map(|_| {
            let (http, url) = (http.clone(), t.url.clone());
            tokio::spawn(async move { raw_sign_in(&http, &url, DEMO_ID, DEMO_INITIAL, None).await })
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for r in burst {
        let (status, retry_after, body) = r.await.unwrap();
        match status {
            200 => ok += 1,
            503 => {
                busy += 1;
                assert_eq!(body["code"], ErrorCode::ServerBusy.as_str(), "{body}");
                let secs: u64 = retry_after
                    .as_deref()
                    .and_then(|v| v.parse().ok())
                    .expect("a 503 carries Retry-After in seconds");
                assert!(secs >= 1);
                assert_eq!(body["retry_after_secs"], secs);
            }
            other => panic!("a sign-in of the burst got {other}: {body}"),
        }
    }
    assert!(busy > 0, "48 parallel sign-ins never filled a queue of one");
    // The description says so.
    let doc = t.client.openapi().await.unwrap();
    for path in [
        "/api/v1/sign-in",
        "/api/v1/flow/credentials",
        "/api/v1/home/password",
        "/api/v1/recover/password/reset",
    ] {
        assert!(
            doc["paths"][path]["post"]["responses"]["503"].is_object(),
            "{path} does not declare 503"
        );
    }
    assert!(ok > 0, "no sign-in of the burst was admitted");
    // The server is fine afterwards.
    t.client
        .sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja)
        .await
        .expect("a sign-in after the burst");
    t.stop().await;
}

async fn bodies_over_the_limit_are_refused_with_413(db: Database) {
    let t = start_on(db).await;
    let http = reqwest::Client::new();
    let huge = "x".repeat(64 * 1024);
    let resp = http
        .post(format!("{}/api/v1/sign-in", t.url))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"user_id":"{huge}","password":"p","lang":"ja"}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large", "{body}");
    // Nothing was counted against the address for a body that was never read.
    let rec = t
        .store
        .failures(ThrottleScope::Address, "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(rec.failures, 0);
    // A normal body on the same route still works.
    t.client
        .sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    t.stop().await;
}

/// Settings whose address throttle delays after 2 failures, with `trusted` proxies.
fn strict_addresses(trusted: &[&str]) -> ServerSettings {
    let mut s = test_settings();
    s.lockout.address = ThrottlePolicy {
        free_failures: 2,
        base_delay_secs: 60,
        max_delay_secs: 60,
        lock_after: 0,
        cap: 0,
        decay_secs: 0,
    };
    let trusted: Vec<String> = trusted.iter().map(|c| c.to_string()).collect();
    s.trusted_proxies = tobira::server::client_addr::parse_trusted(&trusted).unwrap();
    s
}

async fn a_forwarded_address_from_an_untrusted_peer_is_ignored(db: Database) {
    let t = start_on_with(db, strict_addresses(&[])).await;
    let http = reqwest::Client::new();
    // Each request claims another address; all count against the real peer.
    for fake in ["198.51.100.1", "198.51.100.2"] {
        let (status, ..) = raw_sign_in(&http, &t.url, "nobody0001", "x", Some(fake)).await;
        assert_eq!(status, 401);
    }
    let (status, retry, body) =
        raw_sign_in(&http, &t.url, "nobody0001", "x", Some("198.51.100.3")).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some());
    let peer = t
        .store
        .failures(ThrottleScope::Address, "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(peer.failures, 2);
    let claimed = t
        .store
        .failures(ThrottleScope::Address, "198.51.100.1")
        .await
        .unwrap();
    assert_eq!(claimed.failures, 0);
    t.stop().await;
}

async fn a_trusted_proxy_forwards_each_client_address(db: Database) {
    let t = start_on_with(db, strict_addresses(&["127.0.0.0/8"])).await;
    let http = reqwest::Client::new();
    // Two failures from one client behind the proxy: that client is delayed…
    for _ in 0..2 {
        let (status, ..) = raw_sign_in(
            &http,
            &t.url,
            "nobody0001",
            "x",
            Some("203.0.113.50, 198.51.100.7"),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, ..) = raw_sign_in(&http, &t.url, "nobody0001", "x", Some("198.51.100.7")).await;
    assert_eq!(status, 429);
    // …the left, client-written part of the header did not count…
    let spoofed = t
        .store
        .failures(ThrottleScope::Address, "203.0.113.50")
        .await
        .unwrap();
    assert_eq!(spoofed.failures, 0);
    // …and another client behind the same proxy is not.
    let (status, ..) = raw_sign_in(&http, &t.url, "nobody0001", "x", Some("198.51.100.8")).await;
    assert_eq!(status, 401);
    // The proxy itself (no header) is not held either.
    let (_, view) = t
        .client
        .sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja)
        .await
        .expect("the proxy itself is not held");
    assert_eq!(view.step, Step::BirthDate);
    t.stop().await;
}

async fn ipv6_clients_are_counted_per_64(db: Database) {
    let t = start_on_with(db, strict_addresses(&["127.0.0.1"])).await;
    let http = reqwest::Client::new();
    for addr in ["2001:db8:1:2::a", "2001:db8:1:2:ffff::b"] {
        let (status, ..) = raw_sign_in(&http, &t.url, "nobody0001", "x", Some(addr)).await;
        assert_eq!(status, 401);
    }
    // A third address of the same /64 is the same client.
    let (status, ..) = raw_sign_in(&http, &t.url, "nobody0001", "x", Some("2001:db8:1:2::c")).await;
    assert_eq!(status, 429);
    let net = t
        .store
        .failures(ThrottleScope::Address, "2001:db8:1:2::/64")
        .await
        .unwrap();
    assert_eq!(net.failures, 2);
    // The next /64 is another client.
    let (status, ..) = raw_sign_in(&http, &t.url, "nobody0001", "x", Some("2001:db8:1:3::a")).await;
    assert_eq!(status, 401);
    t.stop().await;
}

async fn opening_a_link_changes_nothing_until_its_button_is_pressed(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = t.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.submit_email(&token, None).await.unwrap();
    let link = t.latest_link();
    // A scanner fetches the link, twice, in both languages.
    for accept in ["ja", "en", "ja"] {
        let page = c.view_link_as(&link, Some(accept)).await.unwrap();
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("<form method=\"post\">"),
            "{}",
            page.body
        );
        assert_eq!(page.cache_control.as_deref(), Some("no-store"));
        assert_eq!(
            c.flow(&token).await.unwrap().step,
            Step::AwaitingVerification,
            "GET verified the address"
        );
    }
    // The member presses the button: verified once.
    let page = c.open_link_as(&link, Some("en")).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Your email address is confirmed"));
    assert!(!page.body.contains("<form"));
    assert_eq!(c.flow(&token).await.unwrap().step, Step::ChooseMethod);
    // Pressing it again says it was used.
    let again = c.open_link_as(&link, Some("en")).await.unwrap();
    assert_eq!(again.status, 410);
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    a_burst_past_the_admission_queue_gets_503_with_retry_after_and_nothing_else_fails,
    #[tokio::test]
    bodies_over_the_limit_are_refused_with_413,
    #[tokio::test]
    a_forwarded_address_from_an_untrusted_peer_is_ignored,
    #[tokio::test]
    a_trusted_proxy_forwards_each_client_address,
    #[tokio::test]
    ipv6_clients_are_counted_per_64,
    #[tokio::test]
    opening_a_link_changes_nothing_until_its_button_is_pressed,
}
