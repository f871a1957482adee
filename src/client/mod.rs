//! A typed HTTP client for the whole API, used by the TUI, the script runner and the tests.

pub mod staff;
pub mod staff_keyring;

pub use staff::{AuditFilter, CaseEvents, StaffToken};

use std::time::Duration;

use reqwest::{Method as HttpMethod, StatusCode};
use serde::{Serialize, de::DeserializeOwned};
use url::Url;

use crate::api::{
    ApiError, BirthDateRequest, ChangeEmailRequest, CredentialsRequest, EmailChangeStarted,
    EmailCodeRequest, EmailCodeSent, EmailRequest, ErrorCode, FlowView, ForgotPasswordRequest,
    ForgotUserIdRequest, Health, HomeView, Lang, Method, MethodRequest, PREFIX, RecoveryAccepted,
    RenameRequest, ResetPasswordRequest, SignInRequest, SignInResponse, TermsDecision,
    TermsDocument, TotpConfirmRequest, TotpEnrollment, TotpVerifyRequest,
};
use crate::api::{
    PasskeyAuthenticationFinish, PasskeyAuthenticationStart, PasskeyRegistrationFinish,
    PasskeyRegistrationStart, PortalInfo,
};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error.
    #[error("{0}")]
    Api(ApiError),
    /// The server could not be reached or the connection broke.
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The server's answer could not be read.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

impl ClientError {
    /// The API error code, when the server answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api(e) => Some(e.code),
            _ => None,
        }
    }
}

/// The bearer token of a sign-in flow. Its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct FlowToken(String);

impl FlowToken {
    /// Wraps a token received from the server.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for a script that must hand it on. Never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for FlowToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowToken(<redacted>)")
    }
}

/// A client for one server. Cheap to clone (connections are shared).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// Sent with every request from a kiosk (`X-Tobira-Kiosk`), for the audit log.
    kiosk_id: Option<String>,
    /// The language the member switched to, sent as `Accept-Language`: the flow's mail and
    /// link pages follow it from then on.
    lang: Option<Lang>,
}

impl Client {
    /// A client for the server at `base` (for example `http://localhost:8080/`).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let mut base = Url::parse(base)
            .map_err(|e| ClientError::Transport(format!("bad server URL {base}: {e}")))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base,
            kiosk_id: None,
            lang: None,
        })
    }

    /// The same client, naming kiosk `id` in every request (the server records it in the
    /// audit entry of each sign-in).
    pub fn with_kiosk_id(mut self, id: Option<String>) -> Self {
        self.kiosk_id = id;
        self
    }

    /// From now on, every request says the member reads `lang` (`Accept-Language`); the server
    /// moves the member's open flow to it.
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = Some(lang);
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: HttpMethod,
        path: &str,
        token: Option<&FlowToken>,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let mut req = self.http.request(method, self.url(path)?);
        if let Some(t) = token {
            req = req.bearer_auth(&t.0);
        }
        if let Some(id) = &self.kiosk_id {
            req = req.header(crate::domain::kiosk::KIOSK_ID_HEADER, id);
        }
        if let Some(lang) = self.lang {
            req = req.header(reqwest::header::ACCEPT_LANGUAGE, lang.code());
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::Transport(without_url(e)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(without_url(e)))?;
        if status.is_success() {
            let bytes = if status == StatusCode::NO_CONTENT || bytes.is_empty() {
                &b"null"[..]
            } else {
                &bytes[..]
            };
            serde_json::from_slice(bytes).map_err(|e| ClientError::Decode(e.to_string()))
        } else {
            match serde_json::from_slice::<ApiError>(&bytes) {
                Ok(e) => Err(ClientError::Api(e)),
                Err(_) => Err(ClientError::Decode(format!("HTTP {status}"))),
            }
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&FlowToken>,
    ) -> Result<T, ClientError> {
        self.call::<(), T>(HttpMethod::GET, path, token, None).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&FlowToken>,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(HttpMethod::POST, path, token, Some(body)).await
    }

    /// A POST to any route of the API (for routes whose typed method lives elsewhere, such
    /// as the kiosk's staff check).
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&FlowToken>,
        body: &B,
    ) -> Result<T, ClientError> {
        self.post(path, token, body).await
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.get("/healthz", None).await
    }

    /// 【2】 Signs in; returns the flow token and the member's next step.
    pub async fn sign_in(
        &self,
        user_id: &str,
        password: &str,
        lang: Lang,
    ) -> Result<(FlowToken, FlowView), ClientError> {
        let body = SignInRequest {
            user_id: user_id.to_owned(),
            password: password.to_owned(),
            lang,
        };
        let r: SignInResponse = self.post(&format!("{PREFIX}/sign-in"), None, &body).await?;
        Ok((FlowToken(r.token), r.flow))
    }

    /// The member's current state.
    pub async fn flow(&self, token: &FlowToken) -> Result<FlowView, ClientError> {
        self.get(&format!("{PREFIX}/flow"), Some(token)).await
    }

    /// Where the flow is, without extending its idle timeout (automatic checks).
    pub async fn flow_status(&self, token: &FlowToken) -> Result<FlowView, ClientError> {
        self.get(&format!("{PREFIX}/flow/status"), Some(token))
            .await
    }

    /// 【3】 The identity check (`YYYY-MM-DD`).
    pub async fn birth_date(
        &self,
        token: &FlowToken,
        birth_date: &str,
    ) -> Result<FlowView, ClientError> {
        let body = BirthDateRequest {
            birth_date: birth_date.to_owned(),
        };
        self.post(&format!("{PREFIX}/flow/birth-date"), Some(token), &body)
            .await
    }

    /// The operator's portal: its names and time zone (for the header and the times shown).
    pub async fn portal(&self) -> Result<PortalInfo, ClientError> {
        self.get(&format!("{PREFIX}/portal"), None).await
    }

    /// The terms of use in `lang`.
    pub async fn terms(&self, lang: Lang) -> Result<TermsDocument, ClientError> {
        self.get(&format!("{PREFIX}/terms?lang={}", lang.code()), None)
            .await
    }

    /// 【4】 Agrees to (`true`) or declines the terms; declining ends the flow.
    pub async fn decide_terms(
        &self,
        token: &FlowToken,
        accept: bool,
    ) -> Result<FlowView, ClientError> {
        self.post(
            &format!("{PREFIX}/flow/terms"),
            Some(token),
            &TermsDecision { accept },
        )
        .await
    }

    /// 【5】 Confirms the address on file (`None`) or changes it; the verification mail goes out.
    pub async fn submit_email(
        &self,
        token: &FlowToken,
        email: Option<&str>,
    ) -> Result<FlowView, ClientError> {
        let body = EmailRequest {
            email: email.map(str::to_owned),
        };
        self.post(&format!("{PREFIX}/flow/email"), Some(token), &body)
            .await
    }

    /// 【7】 Sends the verification mail again (a new link; the old one stops working).
    pub async fn resend_email(&self, token: &FlowToken) -> Result<FlowView, ClientError> {
        self.post(&format!("{PREFIX}/flow/email/resend"), Some(token), &())
            .await
    }

    /// Goes back one step where the journey allows it (waiting for mail → email; new credentials → method).
    pub async fn back(&self, token: &FlowToken) -> Result<FlowView, ClientError> {
        self.post(&format!("{PREFIX}/flow/back"), Some(token), &())
            .await
    }

    /// 【8】 Chooses the second-factor method.
    pub async fn choose_method(
        &self,
        token: &FlowToken,
        method: Method,
    ) -> Result<FlowView, ClientError> {
        self.post(
            &format!("{PREFIX}/flow/method"),
            Some(token),
            &MethodRequest { method },
        )
        .await
    }

    /// 【9】 Sets the new password and optionally a new user ID; the first login completes and the flow ends.
    pub async fn set_credentials(
        &self,
        token: &FlowToken,
        password: &str,
        new_user_id: Option<&str>,
    ) -> Result<FlowView, ClientError> {
        let body = CredentialsRequest {
            password: password.to_owned(),
            new_user_id: new_user_id.map(str::to_owned),
        };
        self.post(&format!("{PREFIX}/flow/credentials"), Some(token), &body)
            .await
    }

    /// Signs out (ends the flow); the answer's step is `sign_in`.
    pub async fn sign_out(&self, token: &FlowToken) -> Result<FlowView, ClientError> {
        self.post(&format!("{PREFIX}/flow/sign-out"), Some(token), &())
            .await
    }

    /// Starts adding an authenticator app (at method set-up, or from the top screen), or shows
    /// the one already being added: the same secret until it is confirmed.
    pub async fn start_totp_enrollment(
        &self,
        token: &FlowToken,
    ) -> Result<TotpEnrollment, ClientError> {
        self.post(&format!("{PREFIX}/totp/enrollment"), Some(token), &())
            .await
    }

    /// Confirms the app being added with a code it shows and a device name; at method set-up
    /// the member reaches the top screen.
    pub async fn confirm_totp_enrollment(
        &self,
        token: &FlowToken,
        code: &str,
        device_name: &str,
    ) -> Result<FlowView, ClientError> {
        let body = TotpConfirmRequest {
            code: code.to_owned(),
            device_name: device_name.to_owned(),
        };
        self.post(
            &format!("{PREFIX}/totp/enrollment/confirm"),
            Some(token),
            &body,
        )
        .await
    }

    /// The second factor after the password (step `second_factor`): a code from any of the
    /// member's authenticator apps.
    pub async fn verify_totp(
        &self,
        token: &FlowToken,
        code: &str,
    ) -> Result<FlowView, ClientError> {
        let body = TotpVerifyRequest {
            code: code.to_owned(),
        };
        self.post(&format!("{PREFIX}/totp/verify"), Some(token), &body)
            .await
    }

    // issue 5

    /// Mails a one-time password (at the email method's set-up, or as the second factor).
    pub async fn send_email_code(&self, token: &FlowToken) -> Result<EmailCodeSent, ClientError> {
        self.post(&format!("{PREFIX}/email-otp/send"), Some(token), &())
            .await
    }

    /// Checks the mailed one-time password; the member reaches the top screen.
    pub async fn verify_email_code(
        &self,
        token: &FlowToken,
        code: &str,
    ) -> Result<FlowView, ClientError> {
        let body = EmailCodeRequest {
            code: code.to_owned(),
        };
        self.post(&format!("{PREFIX}/email-otp/verify"), Some(token), &body)
            .await
    }

    /// "Forgot your user ID?": the same answer whether or not the card and birth date matched.
    pub async fn forgot_user_id(
        &self,
        symbol: &str,
        number: &str,
        birth_date: &str,
        lang: Lang,
    ) -> Result<RecoveryAccepted, ClientError> {
        let body = ForgotUserIdRequest {
            symbol: symbol.to_owned(),
            number: number.to_owned(),
            birth_date: birth_date.to_owned(),
            lang,
        };
        self.post(&format!("{PREFIX}/recover/user-id"), None, &body)
            .await
    }

    /// "Forgot your password?": the same answer whether or not user ID and birth date matched.
    pub async fn forgot_password(
        &self,
        user_id: &str,
        birth_date: &str,
        lang: Lang,
    ) -> Result<RecoveryAccepted, ClientError> {
        let body = ForgotPasswordRequest {
            user_id: user_id.to_owned(),
            birth_date: birth_date.to_owned(),
            lang,
        };
        self.post(&format!("{PREFIX}/recover/password"), None, &body)
            .await
    }

    /// Sets a new password with the mailed code; every session of the member ends.
    pub async fn reset_password(
        &self,
        user_id: &str,
        code: &str,
        new_password: &str,
    ) -> Result<RecoveryAccepted, ClientError> {
        let body = ResetPasswordRequest {
            user_id: user_id.to_owned(),
            code: code.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.post(&format!("{PREFIX}/recover/password/reset"), None, &body)
            .await
    }

    /// Starts changing the address from the top screen: a link to the new one, a notice to the old.
    pub async fn change_email(
        &self,
        token: &FlowToken,
        email: &str,
    ) -> Result<EmailChangeStarted, ClientError> {
        let body = ChangeEmailRequest {
            email: email.to_owned(),
        };
        self.post(&format!("{PREFIX}/home/email"), Some(token), &body)
            .await
    }

    /// The top screen: summary and registered second factors.
    pub async fn home(&self, token: &FlowToken) -> Result<HomeView, ClientError> {
        self.get(&format!("{PREFIX}/home"), Some(token)).await
    }

    /// A one-time code for the member to read out to the helpdesk (shown on their own screen).
    pub async fn helpdesk_code(
        &self,
        token: &FlowToken,
    ) -> Result<crate::api::helpdesk::HelpdeskCode, ClientError> {
        self.post(
            &format!("{PREFIX}/home/helpdesk-code"),
            Some(token),
            &serde_json::json!({}),
        )
        .await
    }

    /// Renames one of the member's second factors.
    pub async fn rename_second_factor(
        &self,
        token: &FlowToken,
        id: i64,
        name: &str,
    ) -> Result<HomeView, ClientError> {
        let body = RenameRequest {
            name: name.to_owned(),
        };
        self.call(
            HttpMethod::PATCH,
            &format!("{PREFIX}/home/second-factors/{id}"),
            Some(token),
            Some(&body),
        )
        .await
    }

    /// Removes one of the member's second factors (never the last).
    pub async fn remove_second_factor(
        &self,
        token: &FlowToken,
        id: i64,
    ) -> Result<HomeView, ClientError> {
        self.call::<(), _>(
            HttpMethod::DELETE,
            &format!("{PREFIX}/home/second-factors/{id}"),
            Some(token),
            None,
        )
        .await
    }

    // issue 6: passkeys.

    /// Starts registering a passkey (at method set-up with passkeys chosen, or from the top
    /// screen): the options to hand to the authenticator.
    pub async fn start_passkey_registration(
        &self,
        token: &FlowToken,
    ) -> Result<PasskeyRegistrationStart, ClientError> {
        self.post(&format!("{PREFIX}/passkey/registration"), Some(token), &())
            .await
    }

    /// Finishes registering with the authenticator's answer and the passkey's name; at method
    /// set-up the member reaches the top screen.
    pub async fn finish_passkey_registration(
        &self,
        token: &FlowToken,
        credential: webauthn_rs::prelude::RegisterPublicKeyCredential,
        name: &str,
    ) -> Result<FlowView, ClientError> {
        let body = PasskeyRegistrationFinish {
            credential,
            name: name.to_owned(),
        };
        self.post(
            &format!("{PREFIX}/passkey/registration/finish"),
            Some(token),
            &body,
        )
        .await
    }

    /// Starts signing in with a passkey after the password (step `second_factor`).
    pub async fn start_passkey_authentication(
        &self,
        token: &FlowToken,
    ) -> Result<PasskeyAuthenticationStart, ClientError> {
        self.post(
            &format!("{PREFIX}/passkey/authentication"),
            Some(token),
            &(),
        )
        .await
    }

    /// Finishes signing in with the authenticator's answer; leads to the top screen.
    pub async fn finish_passkey_authentication(
        &self,
        token: &FlowToken,
        credential: webauthn_rs::prelude::PublicKeyCredential,
    ) -> Result<FlowView, ClientError> {
        let body = PasskeyAuthenticationFinish { credential };
        self.post(
            &format!("{PREFIX}/passkey/authentication/finish"),
            Some(token),
            &body,
        )
        .await
    }

    /// Renames one of the member's passkeys.
    pub async fn rename_passkey(
        &self,
        token: &FlowToken,
        id: i64,
        name: &str,
    ) -> Result<HomeView, ClientError> {
        let body = RenameRequest {
            name: name.to_owned(),
        };
        self.call(
            HttpMethod::PATCH,
            &format!("{PREFIX}/home/second-factors/{id}?method=passkey"),
            Some(token),
            Some(&body),
        )
        .await
    }

    /// Removes one of the member's passkeys (never the last second factor).
    pub async fn remove_passkey(
        &self,
        token: &FlowToken,
        id: i64,
    ) -> Result<HomeView, ClientError> {
        self.call::<(), _>(
            HttpMethod::DELETE,
            &format!("{PREFIX}/home/second-factors/{id}?method=passkey"),
            Some(token),
            None,
        )
        .await
    }

    /// The origin this client claims to authenticators: the server's scheme, host and port.
    pub fn origin(&self) -> Url {
        // A base URL always has an origin of its own (http or https, checked in `new`).
        Url::parse(&self.base.origin().ascii_serialization()).unwrap_or_else(|_| self.base.clone())
    }

    /// Proves the member again (step-up) with the password or an authenticator-app code.
    pub async fn step_up(
        &self,
        token: &FlowToken,
        password: Option<&str>,
        code: Option<&str>,
    ) -> Result<FlowView, ClientError> {
        let mut body = crate::api::StepUpRequest {
            password: password.map(str::to_owned),
            code: code.map(str::to_owned),
        };
        let answer = self
            .post(&format!("{PREFIX}/step-up"), Some(token), &body)
            .await;
        zeroize::Zeroize::zeroize(&mut body.password);
        zeroize::Zeroize::zeroize(&mut body.code);
        answer
    }

    /// Changes the member's password from the top screen; other sign-ins of the member end.
    pub async fn change_password(
        &self,
        token: &FlowToken,
        current_password: &str,
        new_password: &str,
    ) -> Result<HomeView, ClientError> {
        let body = crate::api::PasswordChangeRequest {
            current_password: current_password.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.post(&format!("{PREFIX}/home/password"), Some(token), &body)
            .await
    }

    /// The server's OpenAPI description (`GET /api/v1/openapi.json`).
    pub async fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        self.get(&format!("{PREFIX}/openapi.json"), None).await
    }

    /// Opens a link as a member on a phone does: loads the page and presses its Confirm button;
    /// returns the HTTP status and the page that answers the button.
    pub async fn open_link(&self, link: &str) -> Result<(u16, String), ClientError> {
        let page = self.open_link_as(link, None).await?;
        Ok((page.status, page.body))
    }

    /// [`Client::open_link`] as a browser that sends `accept_language` (for example
    /// `en-GB,en;q=0.9`): the confirm page, then the answer to its button.
    pub async fn open_link_as(
        &self,
        link: &str,
        accept_language: Option<&str>,
    ) -> Result<LinkPage, ClientError> {
        self.view_link_as(link, accept_language).await?;
        // What the page's form sends: an empty urlencoded body.
        let confirm = self
            .http
            .post(link)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body("");
        self.link_request(confirm, accept_language).await
    }

    /// Only loads the link's page (a `GET`, as a mail scanner or a link preview does).
    pub async fn view_link_as(
        &self,
        link: &str,
        accept_language: Option<&str>,
    ) -> Result<LinkPage, ClientError> {
        self.link_request(self.http.get(link), accept_language)
            .await
    }

    async fn link_request(
        &self,
        mut req: reqwest::RequestBuilder,
        accept_language: Option<&str>,
    ) -> Result<LinkPage, ClientError> {
        if let Some(lang) = accept_language {
            req = req.header(reqwest::header::ACCEPT_LANGUAGE, lang);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::Transport(without_url(e)))?;
        let status = resp.status().as_u16();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_language = header(reqwest::header::CONTENT_LANGUAGE);
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        let body = resp
            .text()
            .await
            .map_err(|e| ClientError::Transport(without_url(e)))?;
        Ok(LinkPage {
            status,
            content_language,
            cache_control,
            body,
        })
    }
}

/// A web page opened through a link, as a browser received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPage {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Language` header: the language the page is written in.
    pub content_language: Option<String>,
    /// The `Cache-Control` header.
    pub cache_control: Option<String>,
    /// The HTML.
    pub body: String,
}

/// reqwest errors print the URL, which for verification links contains a secret token.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}
