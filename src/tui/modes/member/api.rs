//! The member mode's requests to the server ([`ApiCall`]), their answers ([`Reply`]) and how
//! the runtime carries one out with the client ([`execute_call`]).

use crate::api::{FlowView, HomeView, Lang, Method, TermsDocument, TotpEnrollment};
use crate::client::{Client, FlowToken};
use crate::passkey::Shared;
use crate::passkey::ceremony::{Answer, Request};

/// A request to the server (or, for `OpenLink`, to a link's web page).
#[derive(Clone, PartialEq, Eq)]
pub enum ApiCall {
    /// `sign_in`.
    SignIn {
        /// The user ID as typed.
        user_id: String,
        /// The password.
        password: String,
        /// The member's language.
        lang: Lang,
    },
    /// `flow` (the member asked: 更新, or extending the flow before it times out).
    Flow(FlowToken),
    /// `flow_status`: the automatic check while waiting for the link (does not extend the
    /// flow's idle timeout).
    FlowStatus(FlowToken),
    /// `birth_date` (`YYYY-MM-DD`).
    BirthDate(FlowToken, String),
    /// `terms`.
    Terms(Lang),
    /// `decide_terms`.
    DecideTerms(FlowToken, bool),
    /// `submit_email`.
    SubmitEmail(FlowToken, Option<String>),
    /// `resend_email`.
    ResendEmail(FlowToken),
    /// `back`.
    Back(FlowToken),
    /// `choose_method`.
    ChooseMethod(FlowToken, Method),
    /// `set_credentials`.
    SetCredentials {
        /// The flow.
        token: FlowToken,
        /// The new password.
        password: String,
        /// The new user ID, if the member wants one.
        new_user_id: Option<String>,
    },
    /// `sign_out`.
    SignOut(FlowToken),
    /// `open_link` (the demo mailbox).
    OpenLink(String),
    /// `start_totp_enrollment`.
    StartTotp(FlowToken),
    /// `confirm_totp_enrollment`.
    ConfirmTotp {
        /// The flow.
        token: FlowToken,
        /// The code the app shows.
        code: String,
        /// The device's name.
        device_name: String,
    },
    /// `verify_totp`.
    VerifyTotp(FlowToken, String),
    /// `home`.
    Home(FlowToken),
    /// `rename_second_factor`.
    RenameFactor(FlowToken, Method, i64, String),
    /// `remove_second_factor`.
    RemoveFactor(FlowToken, Method, i64),
    /// `send_email_code` (issue 5).
    SendEmailCode(FlowToken),
    /// `verify_email_code` (issue 5).
    VerifyEmailCode(FlowToken, String),
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
    },
    /// `forgot_password` (issue 5).
    ForgotPassword {
        /// The user ID.
        user_id: String,
        /// `YYYY-MM-DD`.
        birth_date: String,
        /// The mail's language.
        lang: Lang,
    },
    /// `reset_password` (issue 5).
    ResetPassword {
        /// The user ID.
        user_id: String,
        /// The mailed code.
        code: String,
        /// The new password.
        password: String,
    },
    /// `change_email` (issue 5).
    ChangeEmail(FlowToken, String),
    /// `change_password`.
    ChangePassword {
        /// The flow.
        token: FlowToken,
        /// The current password.
        current: String,
        /// The new password.
        new: String,
    },
    // issue 6
    /// `start_passkey_registration` or `start_passkey_authentication`.
    StartPasskey(FlowToken, super::screens::passkey::PasskeyPurpose),
    /// `finish_passkey_registration` with the passkey's name.
    FinishPasskeyRegistration(FlowToken, Shared<Answer>, String),
    /// `finish_passkey_authentication`.
    FinishPasskeyAuthentication(FlowToken, Shared<Answer>),
}

impl std::fmt::Debug for ApiCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignIn { user_id, lang, .. } => {
                write!(f, "SignIn({user_id}, <password>, {lang:?})")
            }
            Self::Flow(_) => f.write_str("Flow"),
            Self::FlowStatus(_) => f.write_str("FlowStatus"),
            Self::BirthDate(_, d) => write!(f, "BirthDate({d})"),
            Self::Terms(l) => write!(f, "Terms({l:?})"),
            Self::DecideTerms(_, a) => write!(f, "DecideTerms({a})"),
            Self::SubmitEmail(_, e) => write!(f, "SubmitEmail({e:?})"),
            Self::ResendEmail(_) => f.write_str("ResendEmail"),
            Self::Back(_) => f.write_str("Back"),
            Self::ChooseMethod(_, m) => write!(f, "ChooseMethod({m:?})"),
            Self::SetCredentials { new_user_id, .. } => {
                write!(f, "SetCredentials(<password>, {new_user_id:?})")
            }
            Self::SignOut(_) => f.write_str("SignOut"),
            Self::OpenLink(_) => f.write_str("OpenLink(<link>)"),
            Self::StartTotp(_) => f.write_str("StartTotp"),
            Self::ConfirmTotp { device_name, .. } => {
                write!(f, "ConfirmTotp(<code>, {device_name:?})")
            }
            Self::VerifyTotp(..) => f.write_str("VerifyTotp(<code>)"),
            Self::Home(_) => f.write_str("Home"),
            Self::RenameFactor(_, m, id, name) => write!(f, "RenameFactor({m:?}, {id}, {name:?})"),
            Self::RemoveFactor(_, m, id) => write!(f, "RemoveFactor({m:?}, {id})"),
            Self::ChangePassword { .. } => f.write_str("ChangePassword(<passwords>)"),
            Self::SendEmailCode(_) => f.write_str("SendEmailCode"),
            Self::VerifyEmailCode(..) => f.write_str("VerifyEmailCode(<code>)"),
            Self::ChangeEmail(_, e) => write!(f, "ChangeEmail({e:?})"),
            Self::ForgotUserId { .. } => f.write_str("ForgotUserId(<card>, <birth date>)"),
            Self::ForgotPassword { user_id, .. } => {
                write!(f, "ForgotPassword({user_id}, <birth date>)")
            }
            Self::ResetPassword { user_id, .. } => {
                write!(f, "ResetPassword({user_id}, <code>, <password>)")
            }
            Self::StartPasskey(_, p) => write!(f, "StartPasskey({p:?})"),
            Self::FinishPasskeyRegistration(_, _, name) => {
                write!(f, "FinishPasskeyRegistration(<answer>, {name:?})")
            }
            Self::FinishPasskeyAuthentication(..) => {
                f.write_str("FinishPasskeyAuthentication(<answer>)")
            }
        }
    }
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
    /// To `OpenLink`: the HTTP status.
    Link(u16),
    /// To `StartTotp`.
    Enrollment(TotpEnrollment),
    /// To `Home`, `RenameFactor`, `RemoveFactor` and `ChangePassword`.
    Home(HomeView),
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
        ApiCall::OpenLink(link) => Reply::Link(client.open_link(&link).await?.0),
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
