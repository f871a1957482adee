//! Mail bodies, in Japanese and English, from `assets/mail/{ja,en}/` (embedded at build time).
//!
//! Each mail has a plain-text and an HTML template with `{placeholder}`s. Values are substituted
//! in one pass (a value that itself contains `{link}` is not expanded again) and HTML-escaped in
//! the HTML part.

use crate::api::Lang;

use super::Mail;

const VERIFICATION_JA_TXT: &str = include_str!("../../assets/mail/ja/verification.txt");
const VERIFICATION_JA_HTML: &str = include_str!("../../assets/mail/ja/verification.html");
const VERIFICATION_EN_TXT: &str = include_str!("../../assets/mail/en/verification.txt");
const VERIFICATION_EN_HTML: &str = include_str!("../../assets/mail/en/verification.html");

const EMAIL_CODE_JA_TXT: &str = include_str!("../../assets/mail/ja/email_code.txt");
const EMAIL_CODE_JA_HTML: &str = include_str!("../../assets/mail/ja/email_code.html");
const EMAIL_CODE_EN_TXT: &str = include_str!("../../assets/mail/en/email_code.txt");
const EMAIL_CODE_EN_HTML: &str = include_str!("../../assets/mail/en/email_code.html");

/// A validity of `minutes` as a member reads it: whole hours from two hours on ("24時間", not
/// "1440 分"), minutes below.
pub fn duration(lang: Lang, minutes: u64) -> String {
    let hours = minutes / 60;
    match lang {
        Lang::Ja if minutes >= 120 && minutes.is_multiple_of(60) => format!("{hours}時間"),
        Lang::Ja => format!("{minutes} 分"),
        Lang::En if minutes >= 120 && minutes.is_multiple_of(60) => format!("{hours} hours"),
        Lang::En => format!("{minutes} minutes"),
    }
}

/// The subject of the one-time password mail in `lang`.
pub fn email_code_subject(lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => "【tobira】ワンタイムパスワードのお知らせ",
        Lang::En => "[tobira] Your one-time password",
    }
}

/// The one-time password mail (the manual's section 2-5 【3】): greets `name`, gives `code` on
/// its own line, its validity of `expires_minutes` minutes, and says it works once.
pub fn email_code(lang: Lang, to: &str, name: &str, code: &str, expires_minutes: u64) -> Mail {
    let (txt, html) = match lang {
        Lang::Ja => (EMAIL_CODE_JA_TXT, EMAIL_CODE_JA_HTML),
        Lang::En => (EMAIL_CODE_EN_TXT, EMAIL_CODE_EN_HTML),
    };
    let minutes = duration(lang, expires_minutes);
    let values = [
        ("name", name.trim()),
        ("code", code),
        ("duration", minutes.as_str()),
    ];
    from_templates(to, email_code_subject(lang), (txt, html), &values)
}

const USER_ID_JA_TXT: &str = include_str!("../../assets/mail/ja/user_id.txt");
const USER_ID_JA_HTML: &str = include_str!("../../assets/mail/ja/user_id.html");
const USER_ID_EN_TXT: &str = include_str!("../../assets/mail/en/user_id.txt");
const USER_ID_EN_HTML: &str = include_str!("../../assets/mail/en/user_id.html");
const RESET_JA_TXT: &str = include_str!("../../assets/mail/ja/password_reset.txt");
const RESET_JA_HTML: &str = include_str!("../../assets/mail/ja/password_reset.html");
const RESET_EN_TXT: &str = include_str!("../../assets/mail/en/password_reset.txt");
const RESET_EN_HTML: &str = include_str!("../../assets/mail/en/password_reset.html");

/// The "forgot your user ID?" answer: the member's user ID, to the address on file.
pub fn user_id_reminder(lang: Lang, to: &str, name: &str, user_id: &str) -> Mail {
    let (subject, txt, html) = match lang {
        Lang::Ja => (
            "【tobira】ユーザIDのお知らせ",
            USER_ID_JA_TXT,
            USER_ID_JA_HTML,
        ),
        Lang::En => ("[tobira] Your user ID", USER_ID_EN_TXT, USER_ID_EN_HTML),
    };
    let values = [("name", name.trim()), ("user_id", user_id)];
    from_templates(to, subject, (txt, html), &values)
}

const USER_ID_CHANGED_JA_TXT: &str = include_str!("../../assets/mail/ja/user_id_changed.txt");
const USER_ID_CHANGED_JA_HTML: &str = include_str!("../../assets/mail/ja/user_id_changed.html");
const USER_ID_CHANGED_EN_TXT: &str = include_str!("../../assets/mail/en/user_id_changed.txt");
const USER_ID_CHANGED_EN_HTML: &str = include_str!("../../assets/mail/en/user_id_changed.html");

/// The confirmation of a user ID the member changed at 【9】, to the verified address.
pub fn user_id_changed(lang: Lang, to: &str, name: &str, user_id: &str) -> Mail {
    let (subject, txt, html) = match lang {
        Lang::Ja => (
            "【tobira】ユーザIDが変更されました",
            USER_ID_CHANGED_JA_TXT,
            USER_ID_CHANGED_JA_HTML,
        ),
        Lang::En => (
            "[tobira] Your user ID was changed",
            USER_ID_CHANGED_EN_TXT,
            USER_ID_CHANGED_EN_HTML,
        ),
    };
    let values = [("name", name.trim()), ("user_id", user_id)];
    from_templates(to, subject, (txt, html), &values)
}

/// The "forgot your password?" code, valid `expires_minutes` minutes.
pub fn password_reset(lang: Lang, to: &str, name: &str, code: &str, expires_minutes: u64) -> Mail {
    let (subject, txt, html) = match lang {
        Lang::Ja => (
            "【tobira】パスワード再設定の確認コード",
            RESET_JA_TXT,
            RESET_JA_HTML,
        ),
        Lang::En => (
            "[tobira] Your password reset code",
            RESET_EN_TXT,
            RESET_EN_HTML,
        ),
    };
    let minutes = duration(lang, expires_minutes);
    let values = [
        ("name", name.trim()),
        ("code", code),
        ("duration", minutes.as_str()),
    ];
    from_templates(to, subject, (txt, html), &values)
}

const CHANGED_JA_TXT: &str = include_str!("../../assets/mail/ja/email_changed.txt");
const CHANGED_JA_HTML: &str = include_str!("../../assets/mail/ja/email_changed.html");
const CHANGED_EN_TXT: &str = include_str!("../../assets/mail/en/email_changed.txt");
const CHANGED_EN_HTML: &str = include_str!("../../assets/mail/en/email_changed.html");

/// The notice to the old address that a change to `new_email` was asked for.
pub fn email_change_notice(lang: Lang, to: &str, name: &str, new_email: &str) -> Mail {
    let (subject, txt, html) = match lang {
        Lang::Ja => (
            "【tobira】メールアドレス変更のお知らせ",
            CHANGED_JA_TXT,
            CHANGED_JA_HTML,
        ),
        Lang::En => (
            "[tobira] Your email address is being changed",
            CHANGED_EN_TXT,
            CHANGED_EN_HTML,
        ),
    };
    let values = [("name", name.trim()), ("new_email", new_email)];
    from_templates(to, subject, (txt, html), &values)
}

/// The subject of the verification mail in `lang`.
pub fn verification_subject(lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => "【tobira】メールアドレスの確認",
        Lang::En => "[tobira] Please confirm your email address",
    }
}

/// The email-address verification mail (manual step 【6】, also sent again when the member
/// changes the address): greets `name`, explains the mail, gives `link` on its own line and its
/// validity of `expires_minutes` minutes, and says to ignore the mail if it was not requested.
pub fn verification(lang: Lang, to: &str, name: &str, link: &str, expires_minutes: u64) -> Mail {
    let (txt, html) = match lang {
        Lang::Ja => (VERIFICATION_JA_TXT, VERIFICATION_JA_HTML),
        Lang::En => (VERIFICATION_EN_TXT, VERIFICATION_EN_HTML),
    };
    let minutes = duration(lang, expires_minutes);
    let values = [
        ("name", name.trim()),
        ("link", link.trim()),
        ("duration", minutes.as_str()),
    ];
    from_templates(to, verification_subject(lang), (txt, html), &values)
}

/// A mail of `subject` from a text and an HTML template, with `values` filled in (escaped in
/// the HTML part).
fn from_templates(
    to: &str,
    subject: &str,
    (txt, html): (&str, &str),
    values: &[(&str, &str)],
) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: render(txt, values, false),
        html: Some(render(html, values, true)),
    }
}

/// Replaces each `{key}` of `values` in `template`, in a single pass; HTML-escapes the values
/// when `html`. Unknown `{…}` sequences are left as they are.
pub fn render(template: &str, values: &[(&str, &str)], html: bool) -> String {
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let key = &after[..close];
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (close, *v))
        });
        match value {
            Some((close, v)) => {
                if html {
                    out.push_str(&escape_html(v));
                } else {
                    out.push_str(v);
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes `& < > " '` for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://portal.example.jp/verify-email?token=0123456789abcdef&lang=ja";

    #[test]
    fn render_is_single_pass() {
        let out = render("{a}-{b}-{c}-{", &[("a", "{b}"), ("b", "x")], false);
        assert_eq!(out, "{b}-x-{c}-{");
    }

    #[test]
    fn escape() {
        assert_eq!(
            escape_html(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn every_placeholder_is_filled() {
        for lang in [Lang::Ja, Lang::En] {
            let m = verification(lang, "taro@example.jp", "山田 太郎", LINK, 30);
            for body in [m.text.as_str(), m.html.as_deref().unwrap_or_default()] {
                for key in ["{name}", "{link}", "{minutes}", "{duration}"] {
                    assert!(!body.contains(key), "{lang:?}: {key} left in {body}");
                }
                assert!(body.contains("山田 太郎"));
                assert!(body.contains("30"));
                assert!(body.contains("tobira"));
            }
        }
    }

    #[test]
    fn japanese_mail() {
        let m = verification(Lang::Ja, "taro@example.jp", "山田 太郎", LINK, 30);
        assert_eq!(m.subject, "【tobira】メールアドレスの確認");
        assert_eq!(m.to, "taro@example.jp");
        assert!(m.text.starts_with("山田 太郎 様\n"));
        assert!(
            m.text.contains(&format!("\n{LINK}\n")),
            "link on its own line"
        );
        assert!(m.text.contains("30 分"));
        assert!(m.text.contains("お心当たりがない場合"));
        assert!(m.text.contains("ください。"));
        let html = m.html.unwrap();
        assert!(html.contains(&format!(
            "<a href=\"{0}\" style=\"word-break:break-all;\">{0}</a>",
            LINK.replace('&', "&amp;")
        )));
    }

    #[test]
    fn english_mail() {
        let m = verification(Lang::En, "taro@example.jp", "Taro Yamada", LINK, 15);
        assert_eq!(m.subject, "[tobira] Please confirm your email address");
        assert!(m.text.starts_with("Dear Taro Yamada,\n"));
        assert!(m.text.contains(&format!("\n{LINK}\n")));
        assert!(m.text.contains("valid for 15 minutes"));
        assert!(m.text.contains("If you did not request this"));
    }

    #[test]
    fn email_code_mail_in_both_languages() {
        let m = email_code(Lang::Ja, "taro@example.jp", "山田 太郎", "042917", 10);
        assert_eq!(m.subject, "【tobira】ワンタイムパスワードのお知らせ");
        assert!(m.text.starts_with("山田 太郎 様\n"));
        assert!(m.text.contains("\n042917\n"), "the code on its own line");
        assert!(m.text.contains("10 分"));
        let html = m.html.unwrap();
        assert!(html.contains(">042917</p>"));
        assert!(html.contains("<html lang=\"ja\">"));
        let m = email_code(Lang::En, "taro@example.jp", "Taro", "042917", 10);
        assert_eq!(m.subject, "[tobira] Your one-time password");
        assert!(m.text.contains("\n042917\n"));
        assert!(m.text.contains("valid for 10 minutes"));
        for body in [m.text.as_str(), m.html.as_deref().unwrap_or_default()] {
            for key in ["{name}", "{code}", "{minutes}", "{duration}"] {
                assert!(!body.contains(key), "{key} left in {body}");
            }
        }
    }

    #[test]
    fn recovery_mails_fill_every_placeholder() {
        for lang in [Lang::Ja, Lang::En] {
            let mails = [
                user_id_reminder(lang, "t@example.jp", "山田 太郎", "demo0001"),
                user_id_changed(lang, "t@example.jp", "山田 太郎", "yamada2026"),
                email_change_notice(lang, "t@example.jp", "山田 太郎", "new@example.jp"),
                password_reset(lang, "t@example.jp", "山田 太郎", "042917", 10),
            ];
            for m in mails {
                for body in [m.text.as_str(), m.html.as_deref().unwrap_or_default()] {
                    for key in [
                        "{name}",
                        "{code}",
                        "{minutes}",
                        "{duration}",
                        "{user_id}",
                        "{new_email}",
                    ] {
                        assert!(!body.contains(key), "{lang:?}: {key} left in {body}");
                    }
                    assert!(body.contains("山田 太郎"));
                }
            }
        }
        let m = user_id_reminder(Lang::Ja, "t@example.jp", "太郎", "demo0001");
        assert!(m.text.contains("\ndemo0001\n"));
        let m = password_reset(Lang::En, "t@example.jp", "Taro", "042917", 10);
        assert!(m.text.contains("\n042917\n") && m.text.contains("10 minutes"));
    }

    #[test]
    fn a_day_reads_as_hours_not_minutes() {
        let m = verification(Lang::Ja, "x@example.jp", "太郎", LINK, 1440);
        assert!(
            m.text.contains("メールの送信から 24時間です。"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("1440"));
        let m = verification(Lang::En, "x@example.jp", "Taro", LINK, 1440);
        assert!(m.text.contains("valid for 24 hours"), "{}", m.text);
        assert_eq!(duration(Lang::Ja, 10), "10 分");
        assert_eq!(duration(Lang::En, 90), "90 minutes");
    }

    #[test]
    fn html_escapes_values_text_does_not() {
        let m = verification(Lang::En, "x@example.jp", "<b>Eve</b> & \"Co\"", LINK, 30);
        assert!(m.text.contains("Dear <b>Eve</b> & \"Co\","));
        let html = m.html.unwrap();
        assert!(html.contains("Dear &lt;b&gt;Eve&lt;/b&gt; &amp; &quot;Co&quot;,"));
        assert!(!html.contains("<b>Eve"));
    }
}
