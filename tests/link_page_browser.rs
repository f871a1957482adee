//! The verification link's page in a real browser: headless Chromium (Debian's `chromium`)
//! opens the link from the mail, in Japanese and in English, and the address is verified.
//! The test FAILS, never skips, when Chromium is missing (scripts/setup-debian --test installs it).

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

/// The page's DOM after Chromium loaded `url` with `accept_lang` (bounded wait).
fn dump_dom(url: &str, accept_lang: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--accept-lang={accept_lang}"),
            "--dump-dom",
            url,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish loading {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_page_works_in_a_real_browser_in_both_languages() {
    let t = start().await;
    let c = &t.client;
    for (member, password, birth, accept, lang, heading) in [
        (
            DEMO_ID,
            DEMO_INITIAL,
            DEMO_BIRTH,
            "ja",
            "ja",
            "メールアドレスの確認が完了しました",
        ),
        (
            "demo0002",
            "12345881519700313",
            "1970-03-13",
            "en-US",
            "en",
            "Your email address is confirmed",
        ),
    ] {
        let token = t.member_at_terms(member, password, birth).await;
        c.decide_terms(&token, true).await.unwrap();
        c.submit_email(&token, None).await.unwrap();
        let link = t.latest_link();
        let dom = {
            let link = link.clone();
            let accept = accept.to_owned();
            tokio::task::spawn_blocking(move || dump_dom(&link, &accept))
                .await
                .unwrap()
        };
        assert!(dom.contains(&format!("<html lang=\"{lang}\">")), "{dom}");
        assert!(dom.contains(heading), "{lang}: {dom}");
        assert!(dom.contains("<title>"), "{dom}");
        assert_eq!(
            c.flow(&token).await.unwrap().step,
            Step::ChooseMethod,
            "{lang}: opening the link in the browser verified the address"
        );
    }
    t.stop().await;
}
