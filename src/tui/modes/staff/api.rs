//! The staff console's requests ([`StaffCall`]), their answers ([`Reply`]) and how the runtime
//! carries one out with the client ([`execute_call`]).
//!
//! Adding a request: its entry in the `mode_calls!` list (with its log line), its arm in
//! [`execute_call`] and its arm in `FakeHelpdesk::handle` — all exhaustive matches.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::api::TotpEnrollment;
use crate::api::helpdesk::{
    AuditPage, MemberCase, MemberSearchPage, StaffActionDone, StaffActionRequest,
    VerifyCallerAnswer, VerifyCallerRequest,
};
use crate::api::staff::{StaffFactorKind, StaffMe};
use crate::client::staff::AuditFilter;
use crate::client::staff_keyring::{KeptSession, StaffKeyring};
use crate::client::{Client, ClientError, StaffToken};
use crate::passkey::Shared;
use crate::passkey::ceremony::{Answer, Request};
use crate::tui::shell::runtime::Call;

crate::tui::shell::calls::mode_calls! {
    /// A request of the staff console (to the server, or to the keyring on a blocking thread).
    #[derive(Clone)]
    StaffCall;
    /// Load the kept session and check it with `me` (forgotten when the server refuses it).
    Resume(keyring: Arc<StaffKeyring>, now: i64) => "Resume",
    /// `staff_sign_in`.
    SignIn {
        /// The login.
        login: String,
        /// The password.
        password: String,
    } => "SignIn({login}, <password>)",
    /// `staff_verify`: the authenticator code after the password.
    VerifyCode(t: StaffToken, code: String) => "VerifyCode(<code>)",
    /// `staff_enrol_start`.
    EnrolStart {
        /// The login.
        login: String,
        /// The one-time enrolment code.
        code: String,
    } => "EnrolStart({login}, <code>)",
    /// `staff_enrol_finish`.
    EnrolFinish {
        /// The enrolment's token.
        token: StaffToken,
        /// The new password.
        password: String,
        /// The new app's code.
        code: String,
    } => "EnrolFinish(<password>, <code>)",
    /// Keep the session in the keyring.
    Keep(keyring: Arc<StaffKeyring>, session: KeptSession) => "Keep",
    /// Forget the kept session.
    Forget(keyring: Arc<StaffKeyring>) => "Forget",
    /// The passkey ceremony's options: `staff_enrol_passkey_start` (`enrol`) or
    /// `staff_passkey_start`.
    PasskeyStart(t: StaffToken, enrol: bool) => "PasskeyStart({enrol})",
    /// `staff_enrol_passkey_finish`: the new password and the new passkey.
    EnrolPasskeyFinish {
        /// The enrolment's token.
        token: StaffToken,
        /// The new password.
        password: String,
        /// The authenticator's answer.
        answer: Shared<Answer>,
        /// The passkey's name.
        name: String,
    } => "EnrolPasskeyFinish(<password>, <answer>, {name:?})",
    /// `staff_passkey_finish`: the sign-in's second factor.
    PasskeyFinish(t: StaffToken, answer: Shared<Answer>) => "PasskeyFinish(<answer>)",
    /// `staff_sign_out`, then forget the kept session.
    SignOut(t: StaffToken, keyring: Arc<StaffKeyring>) => "SignOut",
    /// `search_members`.
    Search {
        /// The session.
        token: StaffToken,
        /// The query as typed.
        query: String,
        /// The page.
        page: u32,
    } => "Search(<query>, {page})",
    /// `member_case`.
    Case(t: StaffToken, user_id: String) => "Case({user_id})",
    /// `next_case_version`: the background watch of the open case.
    Watch(t: StaffToken, user_id: String, known: String) => "Watch({user_id}, {known})",
    /// `verify_caller`.
    Verify(t: StaffToken, user_id: String, request: VerifyCallerRequest)
        => "Verify({user_id}, {request:?})",
    /// `staff_action`.
    Act(t: StaffToken, user_id: String, request: StaffActionRequest)
        => "Act({user_id}, {request:?})",
    /// `audit`: a page of the log by filter.
    Audit(t: StaffToken, filter: AuditFilter) => "Audit({filter:?})",
}

/// The answer to a [`StaffCall`].
#[derive(Debug)]
pub enum Reply {
    /// A kept session that the server still accepts, or none (`refused`: there was one and the
    /// server no longer accepts it).
    Resumed {
        /// The session and who it is.
        session: Option<(StaffToken, StaffMe)>,
        /// A kept session was refused and forgotten.
        refused: bool,
        /// The keyring could not be read (the reason, for the log).
        unreadable: Option<String>,
    },
    /// The password was right; the second factor is next (the kinds the account has).
    PasswordAccepted(StaffToken, Vec<StaffFactorKind>),
    /// The options for the passkey ceremony.
    PasskeyOptions(Shared<Request>),
    /// Signed in (after the code, or the finished enrolment).
    SignedIn(StaffMe),
    /// The enrolment opened: the app to set up.
    EnrolStarted(StaffToken, Box<TotpEnrollment>),
    /// The keyring's answer (the reason it failed, for the log).
    Kept(Result<(), String>),
    /// The kept session is forgotten.
    Forgotten,
    /// Signed out.
    SignedOut,
    /// A page of members for `query`.
    Found {
        /// The query it answers.
        query: String,
        /// The page.
        page: MemberSearchPage,
    },
    /// A member's case.
    Case(Box<MemberCase>),
    /// The watched case changed (`Some(version)`) or the stream ended (`None`).
    Changed {
        /// Whose case.
        user_id: String,
        /// Its new version.
        version: Option<String>,
    },
    /// The verification's answer.
    Verified(VerifyCallerAnswer),
    /// The change was made.
    Done(Box<StaffActionDone>),
    /// A page of the audit log, for the filter it answers.
    Audit(AuditFilter, AuditPage),
}

/// Runs one blocking keyring operation off the async loop.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ClientError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClientError::Transport(format!("keyring thread failed: {e}")))
}

/// Carries out `call` with `client`.
pub async fn execute_call(call: StaffCall, client: &Client) -> Result<Reply, ClientError> {
    Ok(match call {
        StaffCall::Resume(keyring, now) => {
            let loaded = {
                let k = Arc::clone(&keyring);
                blocking(move || k.load(now)).await?
            };
            let kept = match loaded {
                Ok(k) => k,
                Err(e) => {
                    return Ok(Reply::Resumed {
                        session: None,
                        refused: false,
                        unreadable: Some(e.to_string()),
                    });
                }
            };
            let Some(kept) = kept else {
                return Ok(Reply::Resumed {
                    session: None,
                    refused: false,
                    unreadable: None,
                });
            };
            let token = StaffToken::new(kept.token.as_str());
            match client.staff_me(&token).await {
                Ok(me) => Reply::Resumed {
                    session: Some((token, me)),
                    refused: false,
                    unreadable: None,
                },
                Err(ClientError::Api(_)) => {
                    let _ = blocking(move || keyring.forget()).await?;
                    Reply::Resumed {
                        session: None,
                        refused: true,
                        unreadable: None,
                    }
                }
                Err(e) => return Err(e),
            }
        }
        StaffCall::SignIn { login, password } => {
            let password = Zeroizing::new(password);
            let (token, answer) = client.staff_sign_in(&login, &password).await?;
            Reply::PasswordAccepted(token, answer.second_factors)
        }
        StaffCall::VerifyCode(token, code) => {
            Reply::SignedIn(client.staff_verify(&token, &code).await?)
        }
        StaffCall::EnrolStart { login, code } => {
            let code = Zeroizing::new(code);
            let (token, started) = client.staff_enrol_start(&login, &code).await?;
            Reply::EnrolStarted(token, Box::new(started.totp))
        }
        StaffCall::EnrolFinish {
            token,
            password,
            code,
        } => {
            let password = Zeroizing::new(password);
            Reply::SignedIn(client.staff_enrol_finish(&token, &password, &code).await?)
        }
        StaffCall::PasskeyStart(token, enrol) => {
            let request = if enrol {
                Request::Register(client.staff_enrol_passkey_start(&token).await?.options)
            } else {
                Request::Authenticate(client.staff_passkey_start(&token).await?.options)
            };
            Reply::PasskeyOptions(Shared::new(request))
        }
        StaffCall::EnrolPasskeyFinish {
            token,
            password,
            answer,
            name,
        } => {
            let password = Zeroizing::new(password);
            let Answer::Registered(credential) = &*answer.0 else {
                return Err(ClientError::Decode(
                    "a sign-in answer cannot register a passkey".into(),
                ));
            };
            Reply::SignedIn(
                client
                    .staff_enrol_passkey_finish(
                        &token,
                        &password,
                        (**credential).clone(),
                        Some(&name),
                    )
                    .await?,
            )
        }
        StaffCall::PasskeyFinish(token, answer) => {
            let Answer::Authenticated(credential) = &*answer.0 else {
                return Err(ClientError::Decode(
                    "a registration answer cannot sign in".into(),
                ));
            };
            Reply::SignedIn(
                client
                    .staff_passkey_finish(&token, (**credential).clone())
                    .await?,
            )
        }
        StaffCall::Keep(keyring, session) => {
            Reply::Kept(blocking(move || keyring.save(&session).map_err(|e| e.to_string())).await?)
        }
        StaffCall::Forget(keyring) => {
            let _ = blocking(move || keyring.forget()).await?;
            Reply::Forgotten
        }
        StaffCall::SignOut(token, keyring) => {
            let ended = client.staff_sign_out(&token).await;
            let _ = blocking(move || keyring.forget()).await?;
            match ended {
                Ok(_) => Reply::SignedOut,
                // An ended session is what was asked for.
                Err(ClientError::Api(e))
                    if e.code == crate::api::ErrorCode::StaffSessionExpired =>
                {
                    Reply::SignedOut
                }
                Err(e) => return Err(e),
            }
        }
        StaffCall::Search { token, query, page } => {
            let found = client.search_members(&token, &query, page).await?;
            Reply::Found { query, page: found }
        }
        StaffCall::Case(token, user_id) => {
            Reply::Case(Box::new(client.member_case(&token, &user_id).await?))
        }
        StaffCall::Watch(token, user_id, known) => {
            let version = client.next_case_version(&token, &user_id, &known).await?;
            Reply::Changed { user_id, version }
        }
        StaffCall::Verify(token, user_id, request) => {
            Reply::Verified(client.verify_caller(&token, &user_id, &request).await?)
        }
        StaffCall::Act(token, user_id, request) => Reply::Done(Box::new(
            client.staff_action(&token, &user_id, &request).await?,
        )),
        StaffCall::Audit(token, filter) => {
            let page = client.audit(&token, &filter).await?;
            Reply::Audit(filter, page)
        }
    })
}

impl Call for StaffCall {
    type Reply = Reply;
    fn execute(
        self,
        client: &Client,
    ) -> impl std::future::Future<Output = Result<Reply, ClientError>> + Send {
        execute_call(self, client)
    }
}
