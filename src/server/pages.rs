//! The small HTML pages members see in a browser (the verification link's answer).

use crate::api::Lang;
use crate::mail::templates::escape_html;
use crate::portal::Portal;

/// Which answer the link page gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPage {
    /// The link was opened: a button confirms (opening alone changes nothing, so a mail
    /// scanner that fetches the link does not verify the address).
    Confirm,
    /// The address is verified.
    Verified,
    /// The link was used before.
    Used,
    /// The link is too old.
    Expired,
    /// No such link, or a newer mail replaced it.
    Unknown,
    /// The server failed.
    Error,
}

/// The preferred of our languages in an `Accept-Language` header, by q-value then order.
pub fn negotiate(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for part in header.split(',') {
        let mut it = part.trim().split(';');
        let tag = it.next().unwrap_or("").trim();
        let q = it
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(lang) = Lang::from_code(tag)
            && q > 0.0
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

fn texts(page: LinkPage, lang: Lang) -> (&'static str, &'static str) {
    match (lang, page) {
        (Lang::Ja, LinkPage::Confirm) => (
            "メールアドレスの確認",
            "下の「確認する」ボタンを押すと、メールアドレスの確認が完了します。",
        ),
        (Lang::En, LinkPage::Confirm) => (
            "Confirm your email address",
            "Press the Confirm button below to complete the confirmation of your email address.",
        ),
        (Lang::Ja, LinkPage::Verified) => (
            "メールアドレスの確認が完了しました",
            "元の画面に戻り「更新」を押してください。続けて認証方法を選択します。",
        ),
        (Lang::Ja, LinkPage::Used) => (
            "このリンクは使用済みです",
            "メールアドレスの確認はすでに完了しています。元の画面に戻り「更新」を押してください。",
        ),
        (Lang::Ja, LinkPage::Expired) => (
            "このリンクは有効期限が切れています",
            "元の画面で「再送信」を押し、新しいメールのリンクを開いてください。",
        ),
        (Lang::Ja, LinkPage::Unknown) => (
            "このリンクは無効です",
            "新しいメールが送信されたため無効になった可能性があります。最新のメールのリンクを開いてください。",
        ),
        (Lang::Ja, LinkPage::Error) => (
            "エラーが発生しました",
            "しばらくしてからもう一度リンクを開いてください。解決しない場合はヘルプデスクへご連絡ください。",
        ),
        (Lang::En, LinkPage::Verified) => (
            "Your email address is confirmed",
            "Go back to the terminal and press Refresh to choose your authentication method.",
        ),
        (Lang::En, LinkPage::Used) => (
            "This link has already been used",
            "Your address is already confirmed. Go back to the terminal and press Refresh.",
        ),
        (Lang::En, LinkPage::Expired) => (
            "This link has expired",
            "Press Resend on the terminal and open the link in the new mail.",
        ),
        (Lang::En, LinkPage::Unknown) => (
            "This link is not valid",
            "A newer mail may have replaced it. Open the link in the most recent mail.",
        ),
        (Lang::En, LinkPage::Error) => (
            "Something went wrong",
            "Open the link again in a moment. If it keeps failing, contact the helpdesk.",
        ),
    }
}

/// The confirm button's label.
fn button(lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => "確認する",
        Lang::En => "Confirm",
    }
}

/// A complete, valid HTML5 page for the link's answer, titled with the portal's name; the
/// error page adds the operator's contact line when one is configured.
pub fn link_page(page: LinkPage, lang: Lang, portal: &Portal) -> String {
    let (title, body) = texts(page, lang);
    let names = portal.names(lang);
    let portal_name = escape_html(&names.name);
    let contact = match (&names.contact, page) {
        (Some(c), LinkPage::Error) => format!("\n<p>{}</p>", escape_html(c)),
        _ => String::new(),
    };
    let mark = match page {
        LinkPage::Verified => "✓",
        LinkPage::Confirm => "✉",
        _ => "!",
    };
    // The form posts to the page's own URL (the link), so the token is written only once.
    let form = if page == LinkPage::Confirm {
        format!(
            "<form method=\"post\">\n<button type=\"submit\" id=\"confirm\">{label}</button>\n</form>\n",
            label = button(lang),
        )
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title} – {portal_name}</title>\n\
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.6;color:#111}}\
.mark{{font-size:3rem}}button{{font-size:1.2rem;padding:.6rem 2rem}}</style>\n</head>\n<body>\n<main>\n<p class=\"mark\" aria-hidden=\"true\">{mark}</p>\n\
<h1>{title}</h1>\n<p>{body}</p>{contact}\n{form}</main>\n</body>\n</html>\n",
        lang = lang.code(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_by_quality() {
        assert_eq!(negotiate("ja-JP,ja;q=0.9,en;q=0.8"), Some(Lang::Ja));
        assert_eq!(negotiate("en-US,en;q=0.9,ja;q=0.8"), Some(Lang::En));
        assert_eq!(negotiate("fr;q=1.0, ja;q=0.3, en;q=0.5"), Some(Lang::En));
        assert_eq!(negotiate("fr, de"), None);
        assert_eq!(negotiate("en;q=0, ja"), Some(Lang::Ja));
    }

    #[test]
    fn pages_name_their_language() {
        let p = link_page(LinkPage::Verified, Lang::Ja, &Portal::default());
        assert!(p.starts_with("<!DOCTYPE html>"));
        assert!(p.contains("<html lang=\"ja\">"));
        assert!(p.contains("メールアドレスの確認が完了しました"));
        assert!(
            link_page(LinkPage::Expired, Lang::En, &Portal::default())
                .contains("This link has expired")
        );
        let c = link_page(LinkPage::Confirm, Lang::En, &Portal::default());
        assert!(c.contains("<form method=\"post\">"), "{c}");
        assert!(c.contains(">Confirm</button>"), "{c}");
        assert!(!link_page(LinkPage::Verified, Lang::En, &Portal::default()).contains("<form"));
    }

    #[test]
    fn pages_carry_the_portals_name_and_the_error_page_its_contact() {
        let portal = toml::from_str::<crate::portal::PortalSetting>(
            "[ja]\nname = \"みらい健保 <会員>\"\ncontact = \"電話 0120-000-000\"\n",
        )
        .unwrap()
        .resolve()
        .unwrap();
        let p = link_page(LinkPage::Verified, Lang::Ja, &portal);
        assert!(p.contains(
            "<title>メールアドレスの確認が完了しました – みらい健保 &lt;会員&gt;</title>"
        ));
        assert!(!p.contains("0120"), "only the error page asks to call");
        let p = link_page(LinkPage::Error, Lang::Ja, &portal);
        assert!(p.contains("<p>電話 0120-000-000</p>"), "{p}");
        let p = link_page(LinkPage::Verified, Lang::En, &Portal::default());
        assert!(
            p.contains("<title>Your email address is confirmed – tobira member portal</title>")
        );
    }
}
