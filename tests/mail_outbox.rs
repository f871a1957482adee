//! The local outbox: file naming, headers, MIME structure, and reading mail back as a member
//! would (decoded subject, body and link).

use std::path::Path;

use tobira::api::Lang;
use tobira::mail::outbox::{Outbox, OutboxMessage, read_outbox};
use tobira::mail::{Mail, MailConfig, MailError, Mailer, from_config, templates};

const LINK: &str =
    "https://portal.example.jp/api/v1/email/verify?token=6f1c0d2b9a8e4f7c3b2a190817263544&lang=ja";

/// `YYYYMMDDTHHMMSSZ-xxxxxxxx.eml`
fn is_outbox_name(name: &str) -> bool {
    let b = name.as_bytes();
    name.len() == 16 + 1 + 8 + 4
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..25]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && name.ends_with(".eml")
}

fn eml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The header block of a raw message, unfolded, as (name, value) pairs.
fn headers(raw: &str) -> Vec<(String, String)> {
    let head = raw.split("\r\n\r\n").next().unwrap();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            out.last_mut().unwrap().1.push_str(line.trim_start());
        } else {
            let (k, v) = line.split_once(':').unwrap();
            out.push((k.to_owned(), v.trim().to_owned()));
        }
    }
    out
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {h:?}"))
}

#[tokio::test]
async fn outbox_writes_a_proper_japanese_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested/outbox");
    let mailer = from_config(&MailConfig::default(), &dir).unwrap();
    let mail = templates::verification(Lang::Ja, "taro@example.jp", "山田 太郎", LINK, 30);
    mailer.send(&mail).await.unwrap();

    let names = eml_files(&dir);
    assert_eq!(
        names.len(),
        1,
        "exactly one file and no temporary left: {names:?}"
    );
    assert!(
        is_outbox_name(&names[0]),
        "bad outbox file name {:?}",
        names[0]
    );

    let raw = std::fs::read_to_string(dir.join(&names[0])).unwrap();
    assert!(raw.is_ascii(), "the message on disk is 7-bit (encoded)");
    let h = headers(&raw);
    assert!(!header(&h, "Date").is_empty());
    let mid = header(&h, "Message-ID");
    assert!(
        mid.starts_with('<') && mid.ends_with("@localhost>"),
        "{mid}"
    );
    assert!(header(&h, "From").contains("no-reply@localhost"));
    assert_eq!(header(&h, "To"), "taro@example.jp");
    let subject = header(&h, "Subject");
    assert!(
        subject.to_ascii_lowercase().starts_with("=?utf-8?"),
        "RFC 2047 encoded subject: {subject}"
    );
    assert_eq!(header(&h, "MIME-Version"), "1.0");
    assert!(header(&h, "Content-Type").starts_with("multipart/alternative"));
    assert!(raw.contains("text/plain; charset=utf-8"));
    assert!(raw.contains("text/html; charset=utf-8"));

    // The file name's time is the Date header's.
    let msgs = read_outbox(&dir).unwrap();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.path, dir.join(&names[0]));
    assert_eq!(m.to, "taro@example.jp");
    assert_eq!(m.subject, "【tobira】メールアドレスの確認");
    assert_eq!(m.date, header(&h, "Date"));
    let parsed = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let date = parsed.date().unwrap();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        date.year, date.month, date.day, date.hour, date.minute, date.second
    );
    assert!(date.tz_hour == 0 && date.tz_minute == 0, "Date in UTC");
    assert!(names[0].starts_with(&stamp), "{} vs {stamp}", names[0]);

    assert_eq!(
        m.text, mail.text,
        "the plain-text body decodes back exactly"
    );
    assert!(m.text.contains("山田 太郎 様"));
    assert!(m.text.contains("30 分"));
    assert_eq!(m.links(), vec![LINK.to_owned()]);
}

#[tokio::test]
async fn outbox_english_mail_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(
        tmp.path().to_path_buf(),
        "Member Portal <portal@example.jp>",
    )
    .unwrap();
    let link = "http://127.0.0.1:8123/email/verify?token=abc123";
    let mail = templates::verification(Lang::En, "Taro.Yamada@example.jp", "Taro Yamada", link, 60);
    outbox.send(&mail).await.unwrap();

    let msgs = read_outbox(tmp.path()).unwrap();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.to, "Taro.Yamada@example.jp");
    assert_eq!(m.subject, "[tobira] Please confirm your email address");
    assert!(m.text.starts_with("Dear Taro Yamada,"));
    assert!(m.text.contains("valid for 60 minutes"));
    assert_eq!(m.links(), vec![link.to_owned()]);
    let raw = std::fs::read_to_string(&m.path).unwrap();
    let h = headers(&raw);
    assert!(header(&h, "From").contains("portal@example.jp"));
    assert!(header(&h, "Message-ID").ends_with("@example.jp>"));
}

#[tokio::test]
async fn html_part_is_present_and_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(tmp.path().to_path_buf(), "tobira <no-reply@localhost>").unwrap();
    let mail = templates::verification(
        Lang::Ja,
        "eve@example.jp",
        "<script>伊部</script> & Co",
        LINK,
        30,
    );
    let path = outbox.write(&mail).await.unwrap();

    let raw = std::fs::read(&path).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let html = parsed.body_html(0).unwrap();
    assert!(
        html.contains("&lt;script&gt;伊部&lt;/script&gt; &amp; Co 様"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
    assert!(html.contains(&format!("href=\"{}\"", LINK.replace('&', "&amp;"))));

    let m = &read_outbox(tmp.path()).unwrap()[0];
    assert!(
        m.text.contains("<script>伊部</script> & Co 様"),
        "plain text is not escaped"
    );
    assert_eq!(m.links(), vec![LINK.to_owned()]);
}

#[tokio::test]
async fn text_only_mail_and_long_links_survive_encoding() {
    let tmp = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(tmp.path().to_path_buf(), "tobira <no-reply@localhost>").unwrap();
    // ASCII with a line far over 76 characters: lettre chooses quoted-printable (soft breaks).
    let long = format!(
        "https://portal.example.jp/verify?token={}&x=%3D",
        "a=b".repeat(60)
    );
    let mail = Mail {
        to: "a@example.jp".into(),
        subject: "plain".into(),
        text: format!("Open:\n{long}\nThanks.\n"),
        html: None,
    };
    let path = outbox.write(&mail).await.unwrap();
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(
        !raw.contains("multipart"),
        "no html: a single text/plain part"
    );
    assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(!raw.contains(&long), "the long line was encoded");

    // Japanese with a long link: base64.
    let mail2 = Mail {
        to: "b@example.jp".into(),
        subject:
            "日本語の件名がとても長い場合でも正しく符号化され、正しく復号されることを確認します"
                .into(),
        text: format!("こちらを開いてください。\n{long}\n"),
        html: None,
    };
    outbox.send(&mail2).await.unwrap();

    let msgs = read_outbox(tmp.path()).unwrap();
    assert_eq!(msgs.len(), 2);
    let by_to = |to: &str| msgs.iter().find(|m| m.to == to).unwrap();
    assert_eq!(by_to("a@example.jp").links(), vec![long.clone()]);
    // lettre ends a single part with one more line break on the wire.
    assert_eq!(by_to("a@example.jp").text.trim_end(), mail.text.trim_end());
    assert_eq!(by_to("b@example.jp").subject, mail2.subject);
    assert_eq!(by_to("b@example.jp").links(), vec![long]);
}

#[tokio::test]
async fn read_outbox_is_oldest_first_and_ignores_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(tmp.path().to_path_buf(), "tobira <no-reply@localhost>").unwrap();
    for i in 0..5 {
        let mail = Mail {
            to: format!("m{i}@example.jp"),
            subject: format!("mail {i}"),
            text: format!("body {i}"),
            html: None,
        };
        outbox.send(&mail).await.unwrap();
    }
    std::fs::write(tmp.path().join("notes.txt"), "not a mail").unwrap();
    std::fs::write(
        tmp.path().join(".20990101T000000Z-00000000.eml.1234.tmp"),
        "partial",
    )
    .unwrap();

    let msgs = read_outbox(tmp.path()).unwrap();
    let subjects: Vec<&str> = msgs.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["mail 0", "mail 1", "mail 2", "mail 3", "mail 4"]);
    assert!(msgs.iter().all(|m| m.links().is_empty()));
}

#[test]
fn missing_outbox_is_empty() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(
        read_outbox(&tmp.path().join("does-not-exist"))
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_addresses_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        Outbox::new(tmp.path().to_path_buf(), "not an address"),
        Err(MailError::Address(_))
    ));
    let outbox = Outbox::new(tmp.path().to_path_buf(), "tobira <no-reply@localhost>").unwrap();
    let mail = Mail {
        to: "nobody".into(),
        subject: "x".into(),
        text: "x".into(),
        html: None,
    };
    assert!(matches!(
        outbox.send(&mail).await,
        Err(MailError::Address(_))
    ));
    assert!(read_outbox(tmp.path()).unwrap().is_empty());
}

#[test]
fn parse_decodes_quoted_printable_and_iso_2022_jp() {
    let qp = b"From: a@example.jp\r\nTo: Taro <t@example.jp>\r\nSubject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n\
Date: Tue, 1 Apr 2025 09:33:20 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n=E3=81=82 https://x.example.jp/v?t=3D1=\r\n234\r\n";
    let m = OutboxMessage::parse("x.eml".into(), qp).unwrap();
    assert_eq!(m.to, "t@example.jp");
    assert_eq!(m.subject, "テスト");
    assert_eq!(m.date, "Tue, 1 Apr 2025 09:33:20 +0000");
    assert_eq!(m.text, "あ https://x.example.jp/v?t=1234\n");
    assert_eq!(m.links(), vec!["https://x.example.jp/v?t=1234"]);
}
