//! The verification link's page in a real browser: headless Chromium (Debian's `chromium`)
//! opens the link from the mail, in Japanese and in English; opening it changes nothing, and
//! clicking its Confirm button (driven over the DevTools protocol) verifies the address.
//! Every link page and every HTML mail is checked with HTML Tidy (Debian's `tidy`). The tests
//! FAIL, never skip, when either is missing (scripts/setup-debian --test installs both).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use tobira::api::Step;

/// Debian's Chromium binary, or a failing test saying what to install.
fn chromium() -> String {
    for c in ["chromium", "/usr/bin/chromium", "chromium-browser"] {
        let ok = Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return c.to_owned();
        }
    }
    panic!("this test needs a headless browser: apt-get install chromium");
}

/// A headless Chromium driven over the DevTools protocol (a WebSocket to one page); killed
/// when dropped.
struct Browser {
    child: std::process::Child,
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts Chromium sending `accept_lang` and attaches to its page.
    async fn start(accept_lang: &str) -> Self {
        use std::io::BufRead;
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                &format!("--user-data-dir={}", profile.path().display()),
                &format!("--accept-lang={accept_lang}"),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        // Chromium says where its DevTools listen on stderr; read it on a thread (bounded).
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let browser_ws =
            tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
                .await
                .unwrap()
                .expect("chromium did not open its DevTools port");
        let port = browser_ws
            .trim_start_matches("ws://")
            .split(['/', ':'])
            .nth(1)
            .unwrap()
            .to_owned();
        let targets: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page_ws = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_owned();
        let (ws, _) = tokio_tungstenite::connect_async(page_ws.as_str())
            .await
            .expect("attach to the page");
        Self {
            child,
            ws,
            next_id: 0,
            _profile: profile,
        }
    }

    /// Sends one DevTools command and returns its result (events in between are skipped).
    async fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let v = self.answer(method, params).await;
        assert!(v.get("error").is_none(), "{method}: {v}");
        v["result"].clone()
    }

    /// Sends one DevTools command and returns Chromium's whole answer, an error included.
    async fn answer(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        self.next_id += 1;
        let id = self.next_id;
        let msg = serde_json::json!({ "id": id, "method": method, "params": params });
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        let ws = &mut self.ws;
        let wait = async move {
            while let Some(msg) = ws.next().await {
                let Ok(Message::Text(text)) = msg else {
                    continue;
                };
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                if v["id"] == id {
                    return v;
                }
            }
            panic!("chromium closed the DevTools connection");
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("chromium did not answer {method}"))
    }

    /// Evaluates `expr` in the page and returns its value as a string; `None` when the
    /// evaluation met a navigation (a form posted a moment before replaces the page under it).
    async fn eval(&mut self, expr: &str) -> Option<String> {
        let v = self
            .answer(
                "Runtime.evaluate",
                serde_json::json!({ "expression": expr, "returnByValue": true }),
            )
            .await;
        if let Some(error) = v.get("error") {
            let message = error["message"].as_str().unwrap_or_default();
            let navigated = [
                "Inspected target navigated or closed",
                "Execution context was destroyed",
                "Cannot find context with specified id",
            ]
            .iter()
            .any(|m| message.contains(m));
            assert!(navigated, "Runtime.evaluate: {v}");
            return None;
        }
        Some(
            v["result"]["result"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    /// Waits (bounded) until the loaded document's HTML satisfies `done`; returns it.
    async fn html_when(&mut self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // Empty while a document is still loading or being replaced.
            let html = self
                .eval(
                    "document.readyState === 'complete' ? document.documentElement.outerHTML : ''",
                )
                .await
                .unwrap_or_default();
            if done(&html) {
                return html;
            }
            assert!(
                Instant::now() < deadline,
                "chromium never showed {what}: {html}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_page_works_in_a_real_browser_in_both_languages() {
    let t = start().await;
    let c = &t.client;
    for (member, password, birth, accept, lang, button, heading) in [
        (
            DEMO_ID,
            DEMO_INITIAL,
            DEMO_BIRTH,
            "ja",
            "ja",
            "確認する",
            "メールアドレスの確認が完了しました",
        ),
        (
            "demo0002",
            "12345881519700313",
            "1970-03-13",
            "en-US",
            "en",
            ">Confirm</button>",
            "Your email address is confirmed",
        ),
    ] {
        let token = t.member_at_terms(member, password, birth).await;
        c.decide_terms(&token, true).await.unwrap();
        c.submit_email(&token, None).await.unwrap();
        let link = t.latest_link();
        let mut browser = Browser::start(accept).await;
        browser
            .call("Page.navigate", serde_json::json!({ "url": link }))
            .await;
        let page = browser
            .html_when("the confirm page", |h| h.contains("id=\"confirm\""))
            .await;
        assert!(page.contains(&format!("<html lang=\"{lang}\">")), "{page}");
        assert!(page.contains(button), "{lang}: {page}");
        assert_eq!(
            c.flow(&token).await.unwrap().step,
            Step::AwaitingVerification,
            "{lang}: opening the link alone must not verify the address"
        );
        // The member presses the button.
        // The post it starts may replace the page before the evaluation answers.
        let _ = browser
            .eval("document.getElementById('confirm').click(), ''")
            .await;
        let dom = browser
            .html_when("the answer to the button", |h| h.contains(heading))
            .await;
        assert!(dom.contains(&format!("<html lang=\"{lang}\">")), "{dom}");
        assert!(dom.contains("<title>"), "{dom}");
        assert!(!dom.contains("id=\"confirm\""), "{dom}");
        assert_eq!(
            c.flow(&token).await.unwrap().step,
            Step::ChooseMethod,
            "{lang}: clicking Confirm in the browser verified the address"
        );
    }
    t.stop().await;
}

/// HTML Tidy's verdict on `html` (Debian's `tidy`): its messages, empty when the page is valid.
fn tidy_messages(html: &str) -> String {
    let mut child = Command::new("tidy")
        .args(["-q", "-e", "-utf8"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("this test needs HTML Tidy (apt-get install tidy): {e}"));
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), html.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn every_link_page_is_valid_html_in_both_languages() {
    let t = start().await;
    let c = &t.client;
    let mut links = Vec::new();
    for (member, password, birth) in [
        (DEMO_ID, DEMO_INITIAL, DEMO_BIRTH),
        ("demo0002", "12345881519700313", "1970-03-13"),
    ] {
        let token = t.member_at_terms(member, password, birth).await;
        c.decide_terms(&token, true).await.unwrap();
        c.submit_email(&token, None).await.unwrap();
        links.push(t.latest_link());
    }
    let unknown = format!("{}/verify/not-a-token", t.url);
    // The confirm page (what opening a link shows) in both languages.
    for accept in ["ja", "en"] {
        let page = c.view_link_as(&links[0], Some(accept)).await.unwrap();
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<form method=\"post\">"));
        let messages = tidy_messages(&page.body);
        assert!(
            messages.trim().is_empty(),
            "the confirm page ({accept}) is not valid HTML:\n{messages}\n{}",
            page.body
        );
    }
    // Verified, used (the same link again) and unknown pages, each in both languages.
    for (url, accept, status) in [
        (&links[0], "ja", 200),
        (&links[1], "en", 200),
        (&links[0], "ja", 410),
        (&links[1], "en", 410),
        (&unknown, "ja", 404),
        (&unknown, "en", 404),
    ] {
        let page = c.open_link_as(url, Some(accept)).await.unwrap();
        assert_eq!(page.status, status, "{url} {accept}");
        assert!(page.body.contains(&format!("<html lang=\"{accept}\">")));
        let messages = tidy_messages(&page.body);
        assert!(
            messages.trim().is_empty(),
            "{url} ({accept}) is not valid HTML:\n{messages}\n{}",
            page.body
        );
    }
    t.stop().await;
}

#[test]
fn every_html_mail_is_valid_html_in_both_languages() {
    use tobira::mail::templates;
    for lang in [tobira::api::Lang::Ja, tobira::api::Lang::En] {
        let to = "hanako@example.jp";
        let mails = [
            templates::verification(
                lang,
                to,
                "佐藤 花子",
                "http://localhost/verify/x?a=1&b=2",
                30,
            ),
            templates::email_code(lang, to, "佐藤 花子", "042917", 10),
            templates::user_id_reminder(lang, to, "佐藤 花子", "sato0001"),
            templates::password_reset(lang, to, "佐藤 花子", "042917", 10),
            templates::email_change_notice(lang, to, "<b>佐藤</b>", "new@example.jp"),
        ];
        for m in mails {
            let html = m.html.expect("an HTML alternative");
            let messages = tidy_messages(&html);
            assert!(
                messages.trim().is_empty(),
                "{:?} {:?} is not valid HTML:\n{messages}\n{html}",
                lang,
                m.subject
            );
        }
    }
}
