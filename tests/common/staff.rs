//! Staff helpers shared by the staff and helpdesk tests: raw HTTP, authenticator codes, and
//! staff accounts added as `tobira admin staff add` adds them (the store and the enrolment code
//! it prints), then enrolled and signed in through the staff API with an authenticator code
//! computed as the staff member's phone would.

use serde_json::{Value, json};
use tobira::api::staff::StaffEnrolmentStarted;
use tobira::domain::{StaffRole, TotpParams, TotpSecret};
use tobira::server::Clock;
use tobira::staff_admin;

use super::TestServer;

/// Raw HTTP against the test server.
pub struct Http {
    pub client: reqwest::Client,
    pub base: String,
}

impl Http {
    pub fn new(t: &TestServer) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: t.url.clone(),
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder, token: Option<&str>) -> (u16, Value) {
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let req = self.client.post(format!("{}{path}", self.base)).json(&body);
        self.send(req, token).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req, token).await
    }
}

/// The code an authenticator app with `secret` (base32) shows at `at`.
pub fn code_at(secret: &str, at: i64) -> String {
    TotpParams::default()
        .code_at(&TotpSecret::from_base32(secret).unwrap(), at as u64)
        .unwrap()
}

#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{got:?}");
    assert_eq!(got.1["code"], code, "{got:?}");
}

/// Adds a staff account as `tobira admin staff add` does; returns its enrolment code.
pub async fn add(t: &TestServer, login: &str, role: StaffRole) -> String {
    let issued = staff_admin::add(t.store.as_ref(), &t.key, login, role, None, t.clock.now())
        .await
        .unwrap();
    issued.code.to_string()
}

/// Adds and enrols a staff account now; returns its session token and authenticator secret.
pub async fn enrolled(
    t: &TestServer,
    http: &Http,
    login: &str,
    role: StaffRole,
) -> (String, String) {
    let code = add(t, login, role).await;
    let (status, started) = http
        .post(
            "/api/v1/staff/enrolment",
            None,
            json!({"login": login, "enrolment_code": code}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let token = started["token"].as_str().unwrap().to_owned();
    let secret = started["totp"]["secret"].as_str().unwrap().to_owned();
    let (status, me) = http
        .post(
            "/api/v1/staff/enrolment/finish",
            Some(&token),
            json!({"password": "Staff-passw0rd", "code": code_at(&secret, t.clock.now())}),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    (token, secret)
}

/// Signs in with the password and the authenticator code of `at`; returns the token.
pub async fn signed_in(http: &Http, login: &str, secret: &str, at: i64) -> String {
    let (status, body) = http
        .post(
            "/api/v1/staff/sign-in",
            None,
            json!({"login": login, "password": "Staff-passw0rd"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let (status, body) = http
        .post(
            "/api/v1/staff/sign-in/verify",
            Some(&token),
            json!({"code": code_at(secret, at)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    token
}

/// The password every test staff member sets at enrolment.
pub const STAFF_PASSWORD: &str = "Staff-passw0rd!";

/// Adds the staff account `login`, enrols it (password and authenticator app) and returns the
/// active session's bearer token.
pub async fn enrol_staff(t: &TestServer, login: &str, role: StaffRole) -> String {
    let issued =
        tobira::staff_admin::add(t.store.as_ref(), &t.key, login, role, None, t.clock.now())
            .await
            .expect("staff add");
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/api/v1/staff/enrolment", t.url))
        .json(&json!({"login": login, "enrolment_code": issued.code.as_str()}))
        .send()
        .await
        .expect("enrolment");
    assert_eq!(resp.status(), 200, "enrolment start");
    let started: StaffEnrolmentStarted = resp.json().await.expect("enrolment body");
    let secret = TotpSecret::from_base32(&started.totp.secret).expect("base32 key");
    let params = TotpParams {
        algorithm: started.totp.algorithm,
        digits: started.totp.digits,
        period_secs: started.totp.period_secs,
    };
    let code = params
        .code_at(&secret, u64::try_from(t.clock.now()).expect("time"))
        .expect("code");
    let resp = http
        .post(format!("{}/api/v1/staff/enrolment/finish", t.url))
        .bearer_auth(&started.token)
        .json(&json!({"password": STAFF_PASSWORD, "code": code}))
        .send()
        .await
        .expect("enrolment finish");
    assert_eq!(resp.status(), 200, "enrolment finish");
    started.token
}
