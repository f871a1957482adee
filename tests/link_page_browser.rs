//! The verification link's page in a real browser: headless Chromium (Debian's `chromium`)
//! opens the link from the mail, in Japanese and in English, and the address is verified.
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
