//! Operations: `/readyz`, `/metrics` scraped over real HTTP, `tobira completions`.

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::process::Command;

use common::{start_with, test_settings};
use tobira::api::{ErrorCode, Lang};
use tobira::server::{MetricsToken, ServerSettings};

const BIN: &str = env!("CARGO_BIN_EXE_tobira");
const TOKEN: &str = "scrape-me-0123456789abcdef";

fn with_metrics() -> ServerSettings {
    ServerSettings {
        metrics_token: Some(MetricsToken::new(TOKEN).unwrap()),
        ..test_settings()
    }
}

async fn scrape(url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(format!("{url}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ctype, resp.text().await.unwrap())
}

/// The value of the sample `series` (name and labels exactly as exposed), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

#[tokio::test]
async fn readyz_answers_200_while_the_database_answers_and_503_after() {
    let t = start_with(test_settings()).await;
    let http = reqwest::Client::new();
    let ok = http.get(format!("{}/readyz", t.url)).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    // The database goes away: not ready, in the API's error shape; still alive.
    t.sqlite().pool().close().await;
    let down = http.get(format!("{}/readyz", t.url)).send().await.unwrap();
    assert_eq!(down.status().as_u16(), 503);
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["code"], "not_ready", "{body}");

    // And it is described.
    let doc: serde_json::Value = http
        .get(format!("{}/api/v1/openapi.json", t.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/readyz"]["get"]["responses"]["503"].is_object());
    assert!(doc["paths"]["/metrics"]["get"]["responses"]["401"].is_object());
    t.stop().await;
}

#[tokio::test]
async fn metrics_are_off_without_a_token_and_refuse_a_wrong_one() {
    let off = start_with(test_settings()).await;
    let (status, _, body) = scrape(&off.url, Some(TOKEN)).await;
    assert_eq!(status, 404, "{body}");
    off.stop().await;

    let on = start_with(with_metrics()).await;
    for wrong in [None, Some("scrape-me-0123456789abcdeX"), Some("")] {
        let (status, _, body) = scrape(&on.url, wrong).await;
        assert_eq!(status, 401, "{wrong:?}: {body}");
        assert!(!body.contains("tobira_"), "{body}");
    }
    assert!(MetricsToken::new("short").is_err());
    on.stop().await;
}

#[tokio::test]
async fn counters_move_with_requests_mail_hashes_and_throttle() {
    let t = start_with(with_metrics()).await;
    let (status, ctype, before) = scrape(&t.url, Some(TOKEN)).await;
    assert_eq!(status, 200, "{before}");
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let sign_in_401 =
        "tobira_http_requests_total{method=\"POST\",route=\"/api/v1/sign-in\",status=\"401\"}";
    let verify_200 =
        "tobira_http_requests_total{method=\"GET\",route=\"/verify/{token}\",status=\"200\"}";
    let sent = "tobira_mail_delivery_attempts_total{outcome=\"sent\"}";
    let queue_sent = "tobira_mail_queue{status=\"sent\"}";
    let hashes = "tobira_hash_wait_seconds_count";
    let delayed = "tobira_throttle_refusals_total{scope=\"user_id\",outcome=\"delayed\"}";
    for s in [sign_in_401, verify_200, sent, hashes, delayed] {
        assert_eq!(sample(&before, s), 0.0, "{s} before anything");
    }

    // A member through to the verification link: a mail, a link opened by its token.
    let token = t.demo_at_terms().await;
    t.client.decide_terms(&token, true).await.unwrap();
    t.client.submit_email(&token, None).await.unwrap();
    let link = t.latest_link();
    let (status, _) = t.client.open_link(&link).await.unwrap();
    assert_eq!(status, 200);

    // Wrong passwords until the typed ID is delayed (3 free failures in the test policy).
    for _ in 0..5 {
        let r = t.client.sign_in("nobody01", "Wrong-pass-1", Lang::Ja).await;
        let e = r.expect_err("a wrong password is refused");
        let code = e.code().unwrap();
        assert!(
            matches!(code, ErrorCode::InvalidCredentials | ErrorCode::RateLimited),
            "{code:?}"
        );
    }

    let (_, _, after) = scrape(&t.url, Some(TOKEN)).await;
    assert!(sample(&after, sign_in_401) >= 3.0, "{after}");
    assert_eq!(sample(&after, verify_200), 1.0, "{after}");
    assert!(sample(&after, sent) >= 1.0, "{after}");
    assert!(sample(&after, queue_sent) >= 1.0, "{after}");
    assert!(sample(&after, hashes) >= 1.0, "{after}");
    assert!(sample(&after, delayed) >= 1.0, "{after}");
    assert_eq!(sample(&after, "tobira_hash_queue_depth"), 0.0, "{after}");
    let route = "route=\"/api/v1/sign-in\"";
    assert!(
        after.contains(&format!(
            "tobira_http_request_duration_seconds_bucket{{method=\"POST\",{route},le=\"+Inf\"}}"
        )),
        "{after}"
    );
    // Routes are templates: the link's token never becomes a label.
    let secret = link.rsplit('/').next().unwrap().split('?').next().unwrap();
    assert!(secret.len() >= 16, "{link}");
    assert!(!after.contains(secret), "a token leaked into the metrics");
    // Unknown paths share one label.
    let _ = reqwest::get(format!("{}/no/such/{}", t.url, "x".repeat(20))).await;
    let (_, _, last) = scrape(&t.url, Some(TOKEN)).await;
    assert!(!last.contains("xxxxxxxxxxxxxxxxxxxx"), "{last}");
    assert!(
        sample(
            &last,
            "tobira_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"
        ) >= 1.0,
        "{last}"
    );
    t.stop().await;
}

#[test]
fn completions_are_printed_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F _tobira"),
        ("zsh", "#compdef tobira"),
        ("fish", "complete -c tobira"),
    ] {
        let out = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell}: {text}");
        // Subcommands and their options are in it.
        for word in ["serve", "helpdesk", "completions"] {
            assert!(text.contains(word), "{shell} lacks {word}");
        }
    }
    let bad = Command::new(BIN)
        .args(["completions", "powershell"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bash, zsh, fish"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_port_0_links_to_the_port_it_got() {
    let c = cluster::Cluster::new(
        cluster::Database::Sqlite,
        None,
        cluster::Options {
            public_url: false,
            ..cluster::Options::default()
        },
    );
    let s = c.serve();
    assert_ne!(s.port, 0);
    let (t, _) = s
        .client
        .sign_in(common::DEMO_ID, common::DEMO_INITIAL, Lang::Ja)
        .await
        .unwrap();
    s.client.birth_date(&t, common::DEMO_BIRTH).await.unwrap();
    s.client.decide_terms(&t, true).await.unwrap();
    s.client.submit_email(&t, None).await.unwrap();
    let mail = c.wait_mails_to("demo0001@example.com", 1).pop().unwrap();
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.contains("/verify/"))
        .unwrap();
    assert!(
        link.starts_with(&format!("http://localhost:{}/verify/", s.port)),
        "{link}"
    );
    let (status, _) = s.client.open_link(&link).await.unwrap();
    assert_eq!(status, 200);
}
