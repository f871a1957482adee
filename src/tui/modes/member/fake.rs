//! A fake server in memory that follows the protocol's steps, as an [`Executor`] of the
//! runtime: the headless driver runs the app against it exactly as against the real client
//! (no HTTP).
//!
//! Used by `tests/tui_*.rs`; also handy for trying screens without a server.

use futures::future::BoxFuture;
use url::Url;

use super::{ApiCall, App, Member, Reply};
use crate::api::{
    ApiError, ErrorCode, FlowView, HomeView, MemberSummary, Method, SecondFactor, Step,
    TermsDocument, TotpAlgorithm, TotpEnrollment,
};
use crate::client::{ClientError, FlowToken};
use crate::domain::password;
use crate::tui::shell::headless::Headless;
use crate::tui::shell::runtime::{Executor, PasskeyRunner, Runtime};

/// A server in memory for one demo member, following the protocol's steps.
#[derive(Debug)]
pub struct FakeServer {
    /// The member's step.
    pub step: Step,
    /// The member's user ID (lower-case).
    pub user_id: String,
    /// The initial password.
    pub password: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// The address on file.
    pub email: Option<String>,
    /// Whether the link was opened.
    pub verified: bool,
    /// The chosen method.
    pub method: Option<Method>,
    /// The live token, if a flow is open.
    pub token: Option<String>,
    /// How many tokens were issued.
    pub issued: u32,
    /// Every call received, in order (debug form, no secrets).
    pub log: Vec<String>,
    /// The next call fails with this error instead (once).
    pub fail_next: Option<ClientError>,
    /// The password and user ID the member set.
    pub credentials: Option<(String, Option<String>)>,
    /// The terms text.
    pub terms_text: String,
    /// The registered authenticator apps.
    pub devices: Vec<SecondFactor>,
    /// How many enrollments were started (the same secret until one is confirmed).
    pub enrollments_started: u32,
    /// A second code within the cooldown is refused (as the server does).
    pub email_cooldown: bool,
    /// The kinds of second factor the member has (listed at the second factor); empty: derived.
    pub second_factors: Vec<Method>,
    /// The step-up window has lapsed: the sensitive actions of the top screen are refused with
    /// `step_up_required` until the password or an app's code is sent to `StepUp`.
    pub step_up_needed: bool,
    /// The address a change from the top screen waits to switch to (until its link is opened).
    pub pending_email: Option<String>,
}

/// The code the fake server gives for the helpdesk.
pub const FAKE_HELPDESK_CODE: &str = "48213907";

/// The one code the fake server's authenticator apps accept.
pub const FAKE_CODE: &str = "123456";

/// The key of the fake server's enrollments (RFC 6238's test key in base32).
pub const FAKE_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// The origin the fake server's passkey options are for.
pub const FAKE_ORIGIN: &str = "http://localhost:1";

/// A fixed time for the fake server's records: 2026-12-01 00:00 UTC.
pub const FAKE_NOW: i64 = 1_764_547_200;

/// The terms used by the fake server: the shipped Japanese/English files.
pub fn shipped_terms(lang: crate::api::Lang) -> &'static str {
    match lang {
        crate::api::Lang::Ja => include_str!("../../../../assets/terms/ja.md"),
        crate::api::Lang::En => include_str!("../../../../assets/terms/en.md"),
    }
}

fn api(code: ErrorCode) -> ClientError {
    ClientError::Api(ApiError::new(code, code.as_str()))
}

impl FakeServer {
    /// The demo member of the manual: symbol 12, number 3456789, born 1980-12-01.
    pub fn demo() -> Self {
        Self {
            step: Step::SignIn,
            user_id: "demo0001".into(),
            password: "12345678919801201".into(),
            birth_date: "1980-12-01".into(),
            email: Some("taro.yamada@example.jp".into()),
            verified: false,
            method: None,
            token: None,
            issued: 0,
            log: Vec::new(),
            fail_next: None,
            credentials: None,
            terms_text: String::new(),
            devices: Vec::new(),
            enrollments_started: 0,
            second_factors: Vec::new(),
            email_cooldown: false,
            step_up_needed: false,
            pending_email: None,
        }
    }

    /// A member whose first login is done and who chose the authenticator app (stage 2).
    pub fn at_method_setup() -> Self {
        Self {
            step: Step::MethodSetup,
            user_id: "yamada2024".into(),
            password: "NewPassw0rd".into(),
            verified: true,
            method: Some(Method::TotpApp),
            ..Self::demo()
        }
    }

    /// A member at the top screen with `n` authenticator apps.
    pub fn with_devices(n: usize) -> Self {
        let mut s = Self {
            step: Step::Home,
            ..Self::at_method_setup()
        };
        for i in 0..n {
            s.add_device(&format!("iPhone {}", i + 1));
        }
        s
    }

    fn add_device(&mut self, name: &str) {
        let id = i64::try_from(self.devices.len()).unwrap_or(0) + 1;
        self.devices.push(SecondFactor {
            id,
            method: Method::TotpApp,
            name: name.to_owned(),
            created_at: FAKE_NOW + id * 3600,
            last_used_at: (id == 1).then_some(FAKE_NOW + 86_400),
        });
    }

    /// The enrollment the fake server hands out.
    pub fn enrollment(&self) -> TotpEnrollment {
        TotpEnrollment {
            otpauth_uri: format!(
                "otpauth://totp/tobira:{}?secret={FAKE_SECRET}&algorithm=SHA1&digits=6&period=30&issuer=tobira",
                self.user_id
            ),
            secret: FAKE_SECRET.to_owned(),
            issuer: "tobira".into(),
            account: self.user_id.clone(),
            algorithm: TotpAlgorithm::Sha1,
            digits: 6,
            period_secs: 30,
        }
    }

    /// The top screen's contents.
    pub fn home(&self) -> HomeView {
        HomeView {
            flow: self.view(),
            member: MemberSummary {
                name: "山田 太郎".into(),
                user_id: self.user_id.clone(),
                email: self.email.clone().unwrap_or_default(),
            },
            second_factors: self.devices.clone(),
            max_totp_devices: 5,
            enrollment_pending: false,
            step_up_secs_left: if self.step_up_needed { 0 } else { 300 },
        }
    }

    /// The member's view.
    pub fn view(&self) -> FlowView {
        FlowView {
            step: self.step,
            user_id: self.user_id.clone(),
            name: (self.step != Step::BirthDate).then(|| "山田 太郎".to_owned()),
            email: self.email.clone(),
            email_verified: self.verified,
            method: self.method,
            idle_timeout_secs: 900,
            second_factors: if self.step == Step::SecondFactor {
                self.factor_kinds()
            } else {
                Vec::new()
            },
        }
    }

    /// The kinds of second factor the member has: as set, or else the registered ones' and
    /// the chosen method's.
    fn factor_kinds(&self) -> Vec<Method> {
        if !self.second_factors.is_empty() {
            return self.second_factors.clone();
        }
        let mut v = Vec::new();
        for m in self.devices.iter().map(|d| d.method).chain(self.method) {
            if !v.contains(&m) {
                v.push(m);
            }
        }
        v
    }

    /// A second factor of another kind than an app, set up now (as the server does, it is the
    /// method asked first from then on); the email method is one entry, id 0.
    fn add_factor(&mut self, method: Method, name: &str) {
        self.method = Some(method);
        if method == Method::EmailOtp && self.devices.iter().any(|d| d.method == method) {
            return;
        }
        let id = match method {
            Method::EmailOtp => 0,
            _ => self.devices.iter().map(|d| d.id).max().unwrap_or(0) + 1,
        };
        self.devices.push(SecondFactor {
            id,
            method,
            name: name.to_owned(),
            created_at: FAKE_NOW + 7200,
            last_used_at: None,
        });
    }

    /// The member opens the verification link on their phone: the first login's, or an
    /// address change's. Whether it did anything.
    pub fn open_link(&mut self) -> bool {
        if self.step == Step::AwaitingVerification {
            self.verified = true;
            self.step = Step::ChooseMethod;
            return true;
        }
        match self.pending_email.take() {
            Some(e) => {
                self.email = Some(e);
                true
            }
            None => false,
        }
    }

    /// The flow times out on the server.
    pub fn expire(&mut self) {
        self.token = None;
    }

    fn check_token(&self, t: &FlowToken) -> Result<(), ClientError> {
        match &self.token {
            Some(live) if *t == FlowToken::new(live.clone()) => Ok(()),
            _ => Err(api(ErrorCode::FlowExpired)),
        }
    }

    fn at(&self, steps: &[Step]) -> Result<(), ClientError> {
        if steps.contains(&self.step) {
            Ok(())
        } else {
            let mut e = ApiError::new(ErrorCode::OutOfOrder, "out of order");
            e.step = Some(self.step);
            Err(ClientError::Api(e))
        }
    }

    /// The flow `t` is live and at one of `steps`.
    fn in_flow(&self, t: &FlowToken, steps: &[Step]) -> Result<(), ClientError> {
        self.check_token(t)?;
        self.at(steps)
    }

    /// Answers one request; a request of a flow first checks its token, as the server does.
    pub fn handle(&mut self, call: &ApiCall) -> Result<Reply, ClientError> {
        self.log.push(format!("{call:?}"));
        if let Some(e) = self.fail_next.take() {
            return Err(e);
        }
        if self.step_up_needed
            && self.step == Step::Home
            && super::screens::step_up::may_need_step_up(call)
        {
            let mut e = ApiError::new(ErrorCode::StepUpRequired, "step up");
            e.step = Some(Step::Home);
            return Err(ClientError::Api(e));
        }
        match call {
            ApiCall::SignIn {
                user_id, password, ..
            } => {
                if user_id.trim().to_lowercase() != self.user_id || *password != self.password {
                    return Err(api(ErrorCode::InvalidCredentials));
                }
                if self.step == Step::SignIn {
                    self.step = Step::BirthDate;
                }
                if self.step == Step::Home && !self.devices.is_empty() {
                    self.step = Step::SecondFactor;
                }
                self.issued += 1;
                let t = format!("token-{}", self.issued);
                self.token = Some(t.clone());
                Ok(Reply::SignedIn(FlowToken::new(t), self.view()))
            }
            ApiCall::Flow(t) | ApiCall::FlowStatus(t) => {
                self.check_token(t)?;
                Ok(Reply::Flow(self.view()))
            }
            ApiCall::BirthDate(t, d) => {
                self.in_flow(t, &[Step::BirthDate])?;
                if *d != self.birth_date {
                    return Err(api(ErrorCode::WrongBirthDate));
                }
                self.step = Step::Terms;
                Ok(Reply::Flow(self.view()))
            }
            ApiCall::Terms(lang) => Ok(Reply::Terms(TermsDocument {
                lang: *lang,
                text: if self.terms_text.is_empty() {
                    shipped_terms(*lang).to_owned()
                } else {
                    self.terms_text.clone()
                },
            })),
            ApiCall::DecideTerms(t, accept) => {
                self.in_flow(t, &[Step::Terms])?;
                if *accept {
                    self.step = Step::Email;
                    Ok(Reply::Flow(self.view()))
                } else {
                    self.token = None;
                    self.step = Step::SignIn;
                    Ok(Reply::Flow(self.view()))
                }
            }
            ApiCall::SubmitEmail(t, e) => {
                self.in_flow(t, &[Step::Email, Step::AwaitingVerification])?;
                if let Some(e) = e {
                    if !e.contains('@') {
                        return Err(api(ErrorCode::InvalidEmail));
                    }
                    self.email = Some(e.clone());
                }
                self.verified = false;
                self.step = Step::AwaitingVerification;
                Ok(Reply::Flow(self.view()))
            }
            ApiCall::ResendEmail(t) => {
                self.in_flow(t, &[Step::AwaitingVerification])?;
                Ok(Reply::Flow(self.view()))
            }
            ApiCall::Back(t) => {
                self.in_flow(t, &[Step::AwaitingVerification, Step::NewCredentials])?;
                self.step = match self.step {
                    Step::AwaitingVerification => Step::Email,
                    _ => Step::ChooseMethod,
                };
                Ok(Reply::Flow(self.view()))
            }
            ApiCall::ChooseMethod(t, m) => {
                self.in_flow(
                    t,
                    &[Step::ChooseMethod, Step::NewCredentials, Step::MethodSetup],
                )?;
                self.method = Some(*m);
                if self.step != Step::MethodSetup {
                    self.step = Step::NewCredentials;
                }
                Ok(Reply::Flow(self.view()))
            }
            ApiCall::SetCredentials {
                token,
                password: pw,
                new_user_id,
                ..
            } => {
                self.in_flow(token, &[Step::NewCredentials])?;
                if let Err(e) = password::check(pw) {
                    let mut err = ApiError::new(ErrorCode::WeakPassword, "weak");
                    err.rule = Some(e.rule().to_owned());
                    return Err(ClientError::Api(err));
                }
                if new_user_id.as_deref() == Some("taken0001") {
                    return Err(api(ErrorCode::UserIdTaken));
                }
                self.credentials = Some((pw.clone(), new_user_id.clone()));
                if let Some(id) = new_user_id {
                    self.user_id = id.to_lowercase();
                }
                self.step = Step::Complete;
                let view = self.view();
                self.step = Step::MethodSetup;
                self.token = None;
                Ok(Reply::Flow(view))
            }
            ApiCall::SignOut(t) => {
                self.check_token(t)?;
                self.token = None;
                if self.step == Step::SecondFactor {
                    // The member rests at the top screen; only this flow had the code to prove.
                    self.step = Step::Home;
                }
                Ok(Reply::SignedOut)
            }
            // The server's link pages: verified, or (as for a link used before) used.
            ApiCall::OpenLink(_, lang) => {
                use crate::server::pages::{LinkPage, link_page};
                let (status, page) = if self.open_link() {
                    (200, LinkPage::Verified)
                } else {
                    (410, LinkPage::Used)
                };
                let html = link_page(page, *lang, &Default::default());
                Ok(Reply::Link(super::LinkAnswer {
                    status,
                    title: super::api::page_heading(&html),
                }))
            }
            ApiCall::StartTotp(t) => {
                self.in_flow(t, &[Step::MethodSetup, Step::Home])?;
                if self.devices.len() >= 5 {
                    return Err(api(ErrorCode::TooManyDevices));
                }
                self.enrollments_started += 1;
                Ok(Reply::Enrollment(self.enrollment()))
            }
            ApiCall::ConfirmTotp {
                token,
                code,
                device_name,
                ..
            } => {
                self.in_flow(token, &[Step::MethodSetup, Step::Home])?;
                if self.devices.iter().any(|d| d.name == *device_name) {
                    return Err(api(ErrorCode::DeviceNameTaken));
                }
                if code != FAKE_CODE {
                    return Err(api(ErrorCode::WrongCode));
                }
                self.add_device(device_name);
                self.method = Some(Method::TotpApp);
                self.step = Step::Home;
                Ok(Reply::Flow(self.view()))
            }
            // issue 6: real WebAuthn options (for a soft authenticator), any answer accepted.
            ApiCall::StartPasskey(t, purpose) => {
                use super::screens::passkey::PasskeyPurpose;
                use crate::passkey::ceremony::Request;
                self.check_token(t)?;
                let rp = crate::server::passkey::relying_party(FAKE_ORIGIN)
                    .map_err(|_| api(ErrorCode::PasskeyUnavailable))?;
                let request = match purpose {
                    PasskeyPurpose::Register => {
                        self.at(&[Step::MethodSetup, Step::Home])?;
                        let handle = crate::server::passkey::user_handle(1);
                        let (ccr, _) = rp
                            .start_passkey_registration(handle, &self.user_id, &self.user_id, None)
                            .map_err(|_| api(ErrorCode::Internal))?;
                        Request::Register(ccr)
                    }
                    PasskeyPurpose::SignIn => {
                        self.at(&[Step::SecondFactor])?;
                        return Err(api(ErrorCode::NoPasskey));
                    }
                };
                Ok(Reply::PasskeyOptions(crate::passkey::Shared::new(request)))
            }
            ApiCall::FinishPasskeyRegistration(t, _, name) => {
                self.in_flow(t, &[Step::MethodSetup, Step::Home])?;
                self.add_factor(Method::Passkey, name);
                self.step = Step::Home;
                Ok(Reply::Flow(self.view()))
            }
            ApiCall::FinishPasskeyAuthentication(t, ..) => {
                self.in_flow(t, &[Step::SecondFactor])?;
                self.step = Step::Home;
                Ok(Reply::Flow(self.view()))
            }
            ApiCall::VerifyTotp(t, code) => {
                self.in_flow(t, &[Step::SecondFactor])?;
                if code != FAKE_CODE {
                    return Err(api(ErrorCode::WrongCode));
                }
                self.step = Step::Home;
                Ok(Reply::Flow(self.view()))
            }
            // The fake answers recovery like the server: the same whatever was asked.
            ApiCall::ForgotUserId { .. } | ApiCall::ForgotPassword { .. } => Ok(Reply::Recovery),
            ApiCall::ResetPassword { code, .. } => {
                if code != FAKE_CODE {
                    return Err(api(ErrorCode::WrongCode));
                }
                Ok(Reply::Recovery)
            }
            ApiCall::ChangeEmail(t, e) => {
                self.in_flow(t, &[Step::Home])?;
                if !e.contains('@') {
                    return Err(api(ErrorCode::InvalidEmail));
                }
                if self
                    .email
                    .as_deref()
                    .is_some_and(|now| now.eq_ignore_ascii_case(e.trim()))
                {
                    let mut err = ApiError::new(ErrorCode::InvalidEmail, "same");
                    err.rule = Some("same".into());
                    return Err(ClientError::Api(err));
                }
                self.pending_email = Some(e.clone());
                Ok(Reply::EmailChangeStarted(e.clone()))
            }
            ApiCall::SendEmailCode(t) => {
                self.in_flow(t, &[Step::MethodSetup, Step::SecondFactor, Step::Home])?;
                let sent = self
                    .log
                    .iter()
                    .filter(|l| l.starts_with("SendEmailCode"))
                    .count();
                if self.email_cooldown && sent > 1 {
                    let mut e = ApiError::new(ErrorCode::ResendCooldown, "cooldown");
                    e.retry_after_secs = Some(45);
                    return Err(ClientError::Api(e));
                }
                Ok(Reply::EmailCodeSent("d*******@example.com".to_owned(), 600))
            }
            ApiCall::VerifyEmailCode(t, code) => {
                self.in_flow(t, &[Step::MethodSetup, Step::SecondFactor, Step::Home])?;
                if code != FAKE_CODE {
                    return Err(api(ErrorCode::WrongCode));
                }
                if self.step != Step::SecondFactor {
                    let name = self.email.clone().unwrap_or_default();
                    self.add_factor(Method::EmailOtp, &name);
                }
                self.step = Step::Home;
                Ok(Reply::Flow(self.view()))
            }
            ApiCall::Home(t) => {
                self.in_flow(t, &[Step::Home])?;
                Ok(Reply::Home(self.home()))
            }
            ApiCall::HelpdeskCode(t) => {
                self.in_flow(t, &[Step::Home])?;
                Ok(Reply::HelpdeskCode(
                    zeroize::Zeroizing::new(FAKE_HELPDESK_CODE.into()),
                    300,
                ))
            }
            ApiCall::RenameFactor(t, _, id, name) => {
                self.in_flow(t, &[Step::Home])?;
                if self.devices.iter().any(|d| d.name == *name && d.id != *id) {
                    return Err(api(ErrorCode::DeviceNameTaken));
                }
                match self.devices.iter_mut().find(|d| d.id == *id) {
                    Some(d) => d.name = name.clone(),
                    None => return Err(api(ErrorCode::NotFound)),
                }
                Ok(Reply::Home(self.home()))
            }
            ApiCall::RemoveFactor(t, method, id) => {
                self.in_flow(t, &[Step::Home])?;
                if self.devices.len() <= 1 {
                    return Err(api(ErrorCode::LastSecondFactor));
                }
                // Ids are per kind, the email method's is 0.
                let method = if *id == 0 { Method::EmailOtp } else { *method };
                self.devices.retain(|d| (d.method, d.id) != (method, *id));
                Ok(Reply::Home(self.home()))
            }
            ApiCall::ChangePassword {
                token,
                current,
                new,
                ..
            } => {
                self.in_flow(token, &[Step::Home])?;
                if *current != self.password {
                    return Err(api(ErrorCode::InvalidCredentials));
                }
                self.password = new.clone();
                Ok(Reply::Home(self.home()))
            }
            // issue 11: the password, or the app's code when the member has an app.
            ApiCall::StepUp(t, proof, secret) => {
                use super::screens::step_up::Proof;
                self.in_flow(t, &[Step::Home])?;
                let proved = match proof {
                    Proof::Password => **secret == self.password,
                    Proof::AppCode => !self.devices.is_empty() && secret.as_str() == FAKE_CODE,
                };
                if !proved {
                    return Err(api(ErrorCode::InvalidCredentials));
                }
                self.step_up_needed = false;
                Ok(Reply::Flow(self.view()))
            }
        }
    }
}

impl Executor<ApiCall> for FakeServer {
    /// Answers at once, in the order the requests come (the headless driver runs one at a
    /// time, so a test sees each answer before its next key).
    fn execute(&mut self, call: ApiCall) -> BoxFuture<'static, Result<Reply, ClientError>> {
        Box::pin(std::future::ready(self.handle(&call)))
    }

    /// The origin of the fake's passkey options.
    fn origin(&self) -> Url {
        Url::parse(FAKE_ORIGIN).expect("a valid URL")
    }
}

/// The member app on the headless runtime, answered by `server` (no mailbox, no soft
/// authenticator); needs a tokio runtime, as passkey probes run as tasks.
pub fn headless(app: App, server: FakeServer) -> Headless<Member, FakeServer> {
    let passkeys = PasskeyRunner::new(None, crate::passkey::Limits::default());
    Headless::new(app, Runtime::new(server, None, passkeys))
}

impl Headless<Member, FakeServer> {
    /// The fake server answering the app.
    pub fn server(&self) -> &FakeServer {
        self.runtime.executor()
    }

    /// The fake server answering the app, to change (open the link, fail the next call…).
    pub fn server_mut(&mut self) -> &mut FakeServer {
        self.runtime.executor_mut()
    }
}
