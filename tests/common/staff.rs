//! Staff accounts for API tests: added as `tobira admin staff add` adds them (the store and the
//! enrolment code it prints), then enrolled through the staff API with an authenticator code
//! computed as the staff member's phone would.

use serde_json::json;
use tobira::api::staff::StaffEnrolmentStarted;
use tobira::domain::{StaffRole, TotpParams, TotpSecret};
use tobira::server::Clock;

use super::TestServer;

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
