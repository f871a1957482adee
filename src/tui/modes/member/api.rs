//! The member mode's requests to the server ([`ApiCall`]), their answers ([`Reply`]) and how
//! the runtime carries one out with the client ([`execute_call`]).
//!
//! Adding a request: its entry in the `mode_calls!` list (with its log line), its arm in
//! [`execute_call`] and its arm in `FakeServer::handle` — all three exhaustive matches, so the
//! compiler names what is missing.

use crate::api::{FlowView, HomeView, Lang, Method, TermsDocument, TotpEnrollment};
use crate::client::{Client, FlowToken};
use crate::passkey::Shared;
use crate::passkey::ceremony::{Answer, Request};
use zeroize::Zeroizing;

use super::screens::step_up::Proof;

crate::tui::shell::calls::mode_calls! {
    /// A request to the server (or, for `OpenLink`, to a link's web page).
    #[derive(Clone, PartialEq, Eq)]
    ApiCall;
    /// `sign_in`.
    SignIn {
        /// The user ID as typed.
        user_id: String,
        /// The password.
        password: String,
        /// The member's language.
        lang: Lang,
    } => "SignIn({user_id}, <password>, {lang:?})",
    /// `flow` (the member asked: 更新, or extending the flow before it times out).
    Flow(t: FlowToken) => "Flow",
    /// `flow_status`: the automatic check while waiting for the link (does not extend the
    /// flow's idle timeout).
    FlowStatus(t: FlowToken) => "FlowStatus",
    /// `birth_date` (`YYYY-MM-DD`).
    BirthDate(t: FlowToken, date: String) => "BirthDate({date})",
    /// `terms`.
    Terms(lang: Lang) => "Terms({lang:?})",
    /// `decide_terms`.
    DecideTerms(t: FlowToken, accept: bool) => "DecideTerms({accept})",
    /// `submit_email`.
    SubmitEmail(t: FlowToken, email: Option<String>) => "SubmitEmail({email:?})",
    /// `resend_email`.
    ResendEmail(t: FlowToken) => "ResendEmail",
    /// `back`.
    Back(t: FlowToken) => "Back",
    /// `choose_method`.
    ChooseMethod(t: FlowToken, method: Method) => "ChooseMethod({method:?})",
    /// `set_credentials`.
    SetCredentials {
        /// The flow.
        token: FlowToken,
        /// The new password.
        password: String,
        /// The new user ID, if the member wants one.
        new_user_id: Option<String>,
    } => "SetCredentials(<password>, {new_user_id:?})",
    /// `sign_out`.
    SignOut(t: FlowToken) => "SignOut",
    /// `open_link` (the demo mailbox), asking for the page in the screen's language.
    OpenLink(link: String, lang: Lang) => "OpenLink(<link>)",
    /// `start_totp_enrollment`.
    StartTotp(t: FlowToken) => "StartTotp",
    /// `confirm_totp_enrollment`.
    ConfirmTotp {
        /// The flow.
        token: FlowToken,
        /// The code the app shows.
        code: String,
        /// The device's name.
        device_name: String,
    } => "ConfirmTotp(<code>, {device_name:?})",
    /// `verify_totp`.
    VerifyTotp(t: FlowToken, code: String) => "VerifyTotp(<code>)",
    /// `home`.
    Home(t: FlowToken) => "Home",
    /// `helpdesk_code`: the code the member reads out to the helpdesk.
    HelpdeskCode(t: FlowToken) => "HelpdeskCode",
    /// `rename_second_factor`.
    RenameFactor(t: FlowToken, method: Method, id: i64, name: String)
        => "RenameFactor({method:?}, {id}, {name:?})",
    /// `remove_second_factor`.
    RemoveFactor(t: FlowToken, method: Method, id: i64) => "RemoveFactor({method:?}, {id})",
    /// `send_email_code` (issue 5).
    SendEmailCode(t: FlowToken) => "SendEmailCode",
    /// `verify_email_code` (issue 5).
    VerifyEmailCode(t: FlowToken, code: String) => "VerifyEmailCode(<code>)",
    /// `forgot_user_id` (issue 5).
    ForgotUserId {
        /// 記号.
        symbol: String,
        /// 番号.
        number: String,
        /// `YYYY-MM-DD`.
        birth_date: String,
        /// The mail's language.
        lang: Lang,
    } => "ForgotUserId(<card>, <birth date>)",
    /// `forgot_password` (issue 5).
    ForgotPassword {
        /// The user ID.
        user_id: String,
        /// `YYYY-MM-DD`.
        birth_date: String,
        /// The mail's language.
        lang: Lang,
    } => "ForgotPassword({user_id}, <birth date>)",
    /// `reset_password` (issue 5).
    ResetPassword {
        /// The user ID.
        user_id: String,
        /// The mailed code.
        code: String,
        /// The new password.
        password: String,
    } => "ResetPassword({user_id}, <code>, <password>)",
    /// `change_email` (issue 5).
    ChangeEmail(t: FlowToken, email: String) => "ChangeEmail({email:?})",
    /// `change_password`.
    ChangePassword {
        /// The flow.
        token: FlowToken,
        /// The current password.
        current: String,
        /// The new password.
        new: String,
    } => "ChangePassword(<passwords>)",
    // issue 6
    /// `start_passkey_registration` or `start_passkey_authentication`.
    StartPasskey(t: FlowToken, purpose: super::screens::passkey::PasskeyPurpose)
        => "StartPasskey({purpose:?})",
    /// `finish_passkey_registration` with the passkey's name.
    FinishPasskeyRegistration(t: FlowToken, answer: Shared<Answer>, name: String)
        => "FinishPasskeyRegistration(<answer>, {name:?})",
    /// `finish_passkey_authentication`.
    FinishPasskeyAuthentication(t: FlowToken, answer: Shared<Answer>)
        => "FinishPasskeyAuthentication(<answer>)",
    // issue 11
    /// `step_up`: the password or an app's code (wiped when the request is dropped).
    StepUp(t: FlowToken, proof: Proof, secret: Zeroizing<String>) => "StepUp({proof:?}, <secret>)",
}

/// A successful answer to an [`ApiCall`].
#[derive(Debug, Clone)]
pub enum Reply {
    /// To `SignIn`.
    SignedIn(FlowToken, FlowView),
    /// To every flow call.
    Flow(FlowView),
    /// To `Terms`.
    Terms(TermsDocument),
    /// To `SignOut`.
    SignedOut,
    /// To `OpenLink`: what the link's page answered.
    Link(LinkAnswer),
    /// To `StartTotp`.
    Enrollment(TotpEnrollment),
    /// To `Home`, `RenameFactor`, `RemoveFactor` and `ChangePassword`.
    Home(HomeView),
    /// To `HelpdeskCode`: the code (shown once, on this screen only) and its lifetime.
    HelpdeskCode(zeroize::Zeroizing<String>, u64),
    /// To `SendEmailCode` (issue 5): where the code went (masked), and for how many seconds
    /// it works.
    EmailCodeSent(String, u64),
    /// To `ForgotUserId`, `ForgotPassword` and `ResetPassword` (issue 5).
    Recovery,
    /// To `ChangeEmail` (issue 5): the address the link went to.
    EmailChangeStarted(String),
    // issue 6
    /// To `StartPasskey`: the options for the authenticator.
    PasskeyOptions(Shared<Request>),
}

/// What a link's web page answered, as the demo mailbox shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The page's own heading ("this link has already been used"), when it has one.
    pub title: Option<String>,
}

/// The text of the first `<h1>` of an HTML page, entities decoded: what the page says, in its
/// own words (the server's link pages put their answer there).
pub fn page_heading(html: &str) -> Option<String> {
    let start = html.find("<h1")?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</h1>")?;
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[open_end..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// Runs one request with the client.
pub async fn execute_call(
    client: &Client,
    call: ApiCall,
) -> Result<Reply, crate::client::ClientError> {
    Ok(match call {
        ApiCall::SignIn {
            user_id,
            password,
            lang,
        } => {
            let (t, v) = client.sign_in(&user_id, &password, lang).await?;
            Reply::SignedIn(t, v)
        }
        ApiCall::Flow(t) => Reply::Flow(client.flow(&t).await?),
        ApiCall::FlowStatus(t) => Reply::Flow(client.flow_status(&t).await?),
        ApiCall::BirthDate(t, d) => Reply::Flow(client.birth_date(&t, &d).await?),
        ApiCall::Terms(lang) => Reply::Terms(client.terms(lang).await?),
        ApiCall::DecideTerms(t, a) => Reply::Flow(client.decide_terms(&t, a).await?),
        ApiCall::SubmitEmail(t, e) => Reply::Flow(client.submit_email(&t, e.as_deref()).await?),
        ApiCall::ResendEmail(t) => Reply::Flow(client.resend_email(&t).await?),
        ApiCall::Back(t) => Reply::Flow(client.back(&t).await?),
        ApiCall::ChooseMethod(t, m) => Reply::Flow(client.choose_method(&t, m).await?),
        ApiCall::SetCredentials {
            token,
            password,
            new_user_id,
        } => Reply::Flow(
            client
                .set_credentials(&token, &password, new_user_id.as_deref())
                .await?,
        ),
        ApiCall::SignOut(t) => {
            client.sign_out(&t).await?;
            Reply::SignedOut
        }
        ApiCall::OpenLink(link, lang) => {
            let page = client.open_link_as(&link, Some(lang.code())).await?;
            Reply::Link(LinkAnswer {
                status: page.status,
                title: page_heading(&page.body),
            })
        }
        ApiCall::StartTotp(t) => Reply::Enrollment(client.start_totp_enrollment(&t).await?),
        ApiCall::ConfirmTotp {
            token,
            code,
            device_name,
        } => Reply::Flow(
            client
                .confirm_totp_enrollment(&token, &code, &device_name)
                .await?,
        ),
        ApiCall::VerifyTotp(t, code) => Reply::Flow(client.verify_totp(&t, &code).await?),
        ApiCall::Home(t) => Reply::Home(client.home(&t).await?),
        ApiCall::HelpdeskCode(t) => {
            let c = client.helpdesk_code(&t).await?;
            Reply::HelpdeskCode(zeroize::Zeroizing::new(c.code), c.expires_in_secs)
        }
        ApiCall::ForgotUserId {
            symbol,
            number,
            birth_date,
            lang,
        } => {
            client
                .forgot_user_id(&symbol, &number, &birth_date, lang)
                .await?;
            Reply::Recovery
        }
        ApiCall::ForgotPassword {
            user_id,
            birth_date,
            lang,
        } => {
            client.forgot_password(&user_id, &birth_date, lang).await?;
            Reply::Recovery
        }
        ApiCall::ResetPassword {
            user_id,
            code,
            password,
        } => {
            client.reset_password(&user_id, &code, &password).await?;
            Reply::Recovery
        }
        ApiCall::ChangeEmail(t, email) => {
            Reply::EmailChangeStarted(client.change_email(&t, &email).await?.pending_email)
        }
        ApiCall::SendEmailCode(t) => {
            let sent = client.send_email_code(&t).await?;
            Reply::EmailCodeSent(sent.email, sent.expires_in_secs)
        }
        ApiCall::VerifyEmailCode(t, code) => {
            Reply::Flow(client.verify_email_code(&t, &code).await?)
        }
        ApiCall::StartPasskey(t, purpose) => {
            use super::screens::passkey::PasskeyPurpose;
            use crate::passkey::ceremony::Request;
            let request = match purpose {
                PasskeyPurpose::Register => {
                    Request::Register(client.start_passkey_registration(&t).await?.options)
                }
                PasskeyPurpose::SignIn => {
                    Request::Authenticate(client.start_passkey_authentication(&t).await?.options)
                }
            };
            Reply::PasskeyOptions(crate::passkey::Shared::new(request))
        }
        ApiCall::FinishPasskeyRegistration(t, answer, name) => match &*answer.0 {
            crate::passkey::ceremony::Answer::Registered(a) => Reply::Flow(
                client
                    .finish_passkey_registration(&t, (**a).clone(), &name)
                    .await?,
            ),
            crate::passkey::ceremony::Answer::Authenticated(_) => {
                return Err(crate::client::ClientError::Decode(
                    "a sign-in answer cannot register a passkey".into(),
                ));
            }
        },
        ApiCall::FinishPasskeyAuthentication(t, answer) => match &*answer.0 {
            crate::passkey::ceremony::Answer::Authenticated(a) => Reply::Flow(
                client
                    .finish_passkey_authentication(&t, (**a).clone())
                    .await?,
            ),
            crate::passkey::ceremony::Answer::Registered(_) => {
                return Err(crate::client::ClientError::Decode(
                    "a registration answer cannot sign in".into(),
                ));
            }
        },
        ApiCall::RenameFactor(t, Method::Passkey, id, name) => {
            Reply::Home(client.rename_passkey(&t, id, &name).await?)
        }
        ApiCall::RenameFactor(t, _, id, name) => {
            Reply::Home(client.rename_second_factor(&t, id, &name).await?)
        }
        ApiCall::RemoveFactor(t, Method::Passkey, id) => {
            Reply::Home(client.remove_passkey(&t, id).await?)
        }
        ApiCall::RemoveFactor(t, _, id) => Reply::Home(client.remove_second_factor(&t, id).await?),
        ApiCall::ChangePassword {
            token,
            current,
            new,
        } => Reply::Home(client.change_password(&token, &current, &new).await?),
        ApiCall::StepUp(t, proof, secret) => {
            let secret = Some(secret.as_str());
            let (password, code) = match proof {
                Proof::Password => (secret, None),
                Proof::AppCode => (None, secret),
            };
            Reply::Flow(client.step_up(&t, password, code).await?)
        }
    })
}

impl crate::tui::shell::runtime::Call for ApiCall {
    type Reply = Reply;
    fn execute(
        self,
        client: &Client,
    ) -> impl std::future::Future<Output = Result<Reply, crate::client::ClientError>> + Send {
        execute_call(client, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::modes::member::screens::passkey::PasskeyPurpose;

    /// The log lines the fake server records and tests compare, and that no secret, code,
    /// link or token shows in them.
    #[test]
    fn requests_are_logged_without_their_secrets() {
        let t = || FlowToken::new("tok-SECRET");
        let pw = || "pw-SECRET".to_owned();
        let code = || "999999".to_owned();
        let cases = [
            (
                ApiCall::SignIn {
                    user_id: "demo0001".into(),
                    password: pw(),
                    lang: Lang::En,
                },
                "SignIn(demo0001, <password>, En)",
            ),
            (ApiCall::Flow(t()), "Flow"),
            (
                ApiCall::BirthDate(t(), "1980-12-01".into()),
                "BirthDate(1980-12-01)",
            ),
            (ApiCall::Terms(Lang::Ja), "Terms(Ja)"),
            (ApiCall::DecideTerms(t(), true), "DecideTerms(true)"),
            (
                ApiCall::SubmitEmail(t(), Some("a@example.jp".into())),
                "SubmitEmail(Some(\"a@example.jp\"))",
            ),
            (ApiCall::ResendEmail(t()), "ResendEmail"),
            (ApiCall::Back(t()), "Back"),
            (
                ApiCall::ChooseMethod(t(), Method::TotpApp),
                "ChooseMethod(TotpApp)",
            ),
            (
                ApiCall::SetCredentials {
                    token: t(),
                    password: pw(),
                    new_user_id: Some("taro2026".into()),
                },
                "SetCredentials(<password>, Some(\"taro2026\"))",
            ),
            (ApiCall::SignOut(t()), "SignOut"),
            (
                ApiCall::OpenLink("http://localhost/verify?t=SECRET".into(), Lang::Ja),
                "OpenLink(<link>)",
            ),
            (ApiCall::StartTotp(t()), "StartTotp"),
            (
                ApiCall::ConfirmTotp {
                    token: t(),
                    code: code(),
                    device_name: "iPhone".into(),
                },
                "ConfirmTotp(<code>, \"iPhone\")",
            ),
            (ApiCall::VerifyTotp(t(), code()), "VerifyTotp(<code>)"),
            (ApiCall::Home(t()), "Home"),
            (ApiCall::HelpdeskCode(t()), "HelpdeskCode"),
            (
                ApiCall::RenameFactor(t(), Method::TotpApp, 2, "iPad".into()),
                "RenameFactor(TotpApp, 2, \"iPad\")",
            ),
            (
                ApiCall::RemoveFactor(t(), Method::Passkey, 3),
                "RemoveFactor(Passkey, 3)",
            ),
            (ApiCall::SendEmailCode(t()), "SendEmailCode"),
            (
                ApiCall::VerifyEmailCode(t(), code()),
                "VerifyEmailCode(<code>)",
            ),
            (
                ApiCall::ForgotUserId {
                    symbol: "12".into(),
                    number: "3456789".into(),
                    birth_date: "1980-12-01".into(),
                    lang: Lang::Ja,
                },
                "ForgotUserId(<card>, <birth date>)",
            ),
            (
                ApiCall::ForgotPassword {
                    user_id: "demo0001".into(),
                    birth_date: "1980-12-01".into(),
                    lang: Lang::Ja,
                },
                "ForgotPassword(demo0001, <birth date>)",
            ),
            (
                ApiCall::ResetPassword {
                    user_id: "demo0001".into(),
                    code: code(),
                    password: pw(),
                },
                "ResetPassword(demo0001, <code>, <password>)",
            ),
            (
                ApiCall::ChangeEmail(t(), "b@example.jp".into()),
                "ChangeEmail(\"b@example.jp\")",
            ),
            (
                ApiCall::ChangePassword {
                    token: t(),
                    current: pw(),
                    new: pw(),
                },
                "ChangePassword(<passwords>)",
            ),
            (
                ApiCall::StartPasskey(t(), PasskeyPurpose::Register),
                "StartPasskey(Register)",
            ),
            (
                ApiCall::StepUp(t(), Proof::Password, Zeroizing::new(pw())),
                "StepUp(Password, <secret>)",
            ),
            (
                ApiCall::StepUp(t(), Proof::AppCode, Zeroizing::new(code())),
                "StepUp(AppCode, <secret>)",
            ),
        ];
        for (call, line) in cases {
            let logged = format!("{call:?}");
            assert_eq!(logged, line);
            assert!(
                !logged.contains("SECRET") && !logged.contains("999999"),
                "{logged}"
            );
        }
    }

    #[test]
    fn a_link_page_is_read_by_its_heading() {
        for (page, lang, want) in [
            (
                crate::server::pages::LinkPage::Used,
                Lang::Ja,
                "このリンクは使用済みです",
            ),
            (
                crate::server::pages::LinkPage::Expired,
                Lang::En,
                "This link has expired",
            ),
        ] {
            let html = crate::server::pages::link_page(page, lang, &Default::default());
            assert_eq!(page_heading(&html).as_deref(), Some(want));
        }
        assert_eq!(
            page_heading("<h1 class=\"x\">A &amp; <em>B</em>\n</h1>").as_deref(),
            Some("A & B")
        );
        assert_eq!(page_heading("<p>no heading</p>"), None);
        assert_eq!(page_heading("<h1> </h1>"), None);
    }
}
