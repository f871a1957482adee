//! The operator's portal (issue 16) as members meet it: the screens learn its names and time
//! zone from the API, and the mails carry its names, its contact line and its local time.

mod common;

use common::*;
use tobira::api::Lang;
use tobira::config::Config;

const MIRAI: &str = "[portal]\ntime_zone = \"Asia/Tokyo\"\n\
    [portal.ja]\nname = \"みらい健康保険組合 会員ポータル\"\nshort_name = \"みらい健保\"\n\
    operator = \"みらい健康保険組合 加入者サービス課\"\ncontact = \"電話 0120-000-000\"\n\
    [portal.en]\nname = \"Mirai Kenpo member portal\"\nshort_name = \"Mirai Kenpo\"\n";

/// The test settings with the portal, issuer and templates the configuration gives.
fn settings(config: &str) -> tobira::server::ServerSettings {
    let from_config = Config::parse(config)
        .unwrap()
        .server_settings("http://x".into())
        .unwrap();
    let mut s = test_settings();
    s.totp.issuer = from_config.totp.issuer;
    s.mail_templates = from_config.mail_templates;
    s
}

#[tokio::test]
async fn the_screens_learn_the_portals_names_and_time_zone() {
    let t = start().await;
    let p = t.client.portal().await.unwrap();
    assert_eq!(p.names(Lang::Ja).name, "tobira 会員ポータル");
    assert_eq!(p.names(Lang::En).name, "tobira member portal");
    assert_eq!(p.time_zone, "Asia/Tokyo");
    t.stop().await;

    let t = start_with(settings(MIRAI)).await;
    let p = t.client.portal().await.unwrap();
    assert_eq!(p.ja.name, "みらい健康保険組合 会員ポータル");
    assert_eq!(p.ja.short_name, "みらい健保");
    assert_eq!(p.ja.contact.as_deref(), Some("電話 0120-000-000"));
    assert_eq!(p.en.short_name, "Mirai Kenpo");
    assert_eq!(p.en.contact, None);
    assert_eq!(t.settings.totp.issuer, "みらい健保");
    t.stop().await;
}

#[tokio::test]
async fn the_verification_mail_speaks_for_the_portal_in_its_time_zone() {
    let t = start_with(settings(MIRAI)).await;
    let token = t.demo_at_terms().await;
    t.client.decide_terms(&token, true).await.unwrap();
    t.client.submit_email(&token, None).await.unwrap();
    let mails = t.mails();
    let m = mails.last().unwrap();
    assert_eq!(m.subject, "【みらい健保】メールアドレスの確認");
    assert!(m.text.contains("みらい健保 をご利用いただき"), "{}", m.text);
    // Sent at T0 (2026-11-25 00:00 UTC), the link works 24 hours: until 09:00 in Japan.
    assert!(
        m.text.contains("24 時間(2026-11-26 09:00 JST まで)"),
        "{}",
        m.text
    );
    assert!(
        m.text.ends_with(
            "--\nみらい健康保険組合 会員ポータル\nみらい健康保険組合 加入者サービス課\n電話 0120-000-000\n"
        ),
        "{}",
        m.text
    );
    // The link page carries the portal's name too.
    let (status, page) = t.client.open_link(&t.latest_link()).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("– みらい健康保険組合 会員ポータル</title>"),
        "{page}"
    );
    t.stop().await;
}

#[tokio::test]
async fn the_time_zone_is_the_portals_not_the_hosts() {
    let t = start_with(settings("[portal]\ntime_zone = \"UTC\"\n")).await;
    let token = t.demo_at_terms().await;
    t.client.decide_terms(&token, true).await.unwrap();
    t.client.submit_email(&token, None).await.unwrap();
    let m = t.mails().pop().unwrap();
    assert_eq!(m.subject, "【tobira】メールアドレスの確認");
    assert!(m.text.contains("(2026-11-26 00:00 UTC まで)"), "{}", m.text);
    t.stop().await;
}
