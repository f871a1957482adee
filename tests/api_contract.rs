//! The API's shape: health, the OpenAPI description (kept true by calling every documented
//! operation, and by checking that every status real requests get is declared), JSON errors
//! for bad bodies and unknown routes — in-process with `oneshot`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use common::*;
use tobira::api::{ApiError, ErrorCode, Health, Lang};

async fn oneshot(t: &TestServer, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let state = tobira::server::AppState::new(
        t.store.clone(),
        t.mailer.clone(),
        t.clock.clone(),
        t.settings.clone(),
        t.key.clone(),
    );
    let resp = tobira::server::app(state).oneshot(req).await.unwrap();
    let status = resp.status();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

#[tokio::test]
async fn healthz_answers_ok() {
    let t = start().await;
    let h = t.client.health().await.unwrap();
    assert_eq!(h.status, "ok");
    assert_eq!(h.version, env!("CARGO_PKG_VERSION"));
    let (status, body) = oneshot(&t, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Health>(&body).unwrap().status,
        "ok"
    );
    t.stop().await;
}

#[tokio::test]
async fn bad_bodies_and_unknown_routes_get_json_errors() {
    let t = start().await;
    let req = Request::post("/api/v1/sign-in")
        .header("content-type", "application/json")
        .body(Body::from("{\"user_id\": 5"))
        .unwrap();
    let (status, body) = oneshot(&t, req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let e: ApiError = serde_json::from_slice(&body).unwrap();
    assert_eq!(e.code, ErrorCode::BadRequest);
    let req = Request::post("/api/v1/sign-in")
        .body(Body::from("user_id=x"))
        .unwrap();
    let (_, body) = oneshot(&t, req).await;
    assert_eq!(
        serde_json::from_slice::<ApiError>(&body).unwrap().code,
        ErrorCode::BadRequest
    );
    let (status, body) = oneshot(
        &t,
        Request::get("/api/v1/nothing-here")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::from_slice::<ApiError>(&body).unwrap().code,
        ErrorCode::NotFound
    );
    t.stop().await;
}

const EXPECTED: [(&str, &str); 54] = [
    ("get", "/healthz"),
    ("get", "/api/v1/terms"),
    ("post", "/api/v1/sign-in"),
    ("post", "/api/v1/step-up"),
    ("get", "/api/v1/flow"),
    ("get", "/api/v1/flow/status"),
    ("post", "/api/v1/flow/birth-date"),
    ("post", "/api/v1/flow/terms"),
    ("post", "/api/v1/flow/email"),
    ("post", "/api/v1/flow/email/resend"),
    ("post", "/api/v1/flow/back"),
    ("post", "/api/v1/flow/method"),
    ("post", "/api/v1/flow/credentials"),
    ("post", "/api/v1/flow/sign-out"),
    ("get", "/verify/{token}"),
    ("post", "/verify/{token}"),
    ("post", "/api/v1/totp/enrollment"),
    ("post", "/api/v1/totp/enrollment/confirm"),
    ("post", "/api/v1/totp/verify"),
    ("get", "/api/v1/home"),
    ("patch", "/api/v1/home/second-factors/{id}"),
    ("delete", "/api/v1/home/second-factors/{id}"),
    ("post", "/api/v1/home/password"),
    ("post", "/api/v1/email-otp/send"),
    ("post", "/api/v1/email-otp/verify"),
    ("post", "/api/v1/recover/user-id"),
    ("post", "/api/v1/recover/password"),
    ("post", "/api/v1/recover/password/reset"),
    ("post", "/api/v1/home/email"),
    ("post", "/api/v1/passkey/registration"),
    ("post", "/api/v1/passkey/registration/finish"),
    ("post", "/api/v1/passkey/authentication"),
    ("post", "/api/v1/passkey/authentication/finish"),
    ("get", "/api/v1/portal"),
    // issue 13
    ("post", "/api/v1/staff/enrolment"),
    ("post", "/api/v1/staff/enrolment/finish"),
    ("post", "/api/v1/staff/sign-in"),
    ("post", "/api/v1/staff/sign-in/verify"),
    ("post", "/api/v1/staff/sign-out"),
    ("get", "/api/v1/staff/me"),
    ("get", "/api/v1/staff/accounts"),
    ("get", "/api/v1/staff/members"),
    ("get", "/api/v1/staff/members/{user_id}"),
    ("get", "/api/v1/staff/members/{user_id}/events"),
    ("get", "/api/v1/staff/audit"),
    ("post", "/api/v1/staff/members/{user_id}/verify"),
    ("post", "/api/v1/staff/members/{user_id}/actions"),
    ("post", "/api/v1/home/helpdesk-code"),
    // issue 17
    ("get", "/readyz"),
    ("get", "/metrics"),
    // issue 13: staff passkeys
    ("post", "/api/v1/staff/enrolment/passkey"),
    ("post", "/api/v1/staff/enrolment/passkey/finish"),
    ("post", "/api/v1/staff/sign-in/passkey"),
    ("post", "/api/v1/staff/sign-in/passkey/finish"),
];

#[tokio::test]
async fn the_openapi_description_matches_the_routes() {
    let t = start().await;
    let doc = t.client.openapi().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "OpenAPI 3"
    );
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = EXPECTED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);
    for name in [
        "SignInRequest",
        "FlowView",
        "ApiError",
        "ErrorCode",
        "Step",
        "Method",
        "TotpEnrollment",
        "TotpConfirmRequest",
        "TotpVerifyRequest",
        "HomeView",
        "SecondFactor",
        "RenameRequest",
    ] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "schema {name} missing"
        );
    }
    assert!(doc["components"]["securitySchemes"]["flow"].is_object());
    assert!(doc["components"]["securitySchemes"]["staff"].is_object());
    for name in [
        "StaffMe",
        "StaffSignInRequest",
        "StaffAccounts",
        "StaffRole",
    ] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "schema {name} missing"
        );
    }

    // Every documented operation is served (an undocumented or renamed route would 404/405).
    let http = reqwest::Client::new();
    for (method, path) in &documented {
        let url = format!(
            "{}{}",
            t.url,
            path.replace("{token}", "x")
                .replace("{id}", "1")
                .replace("{user_id}", "x")
        );
        let req = match method.as_str() {
            "get" => http.get(&url),
            "patch" => http.patch(&url).json(&serde_json::json!({})),
            "delete" => http.delete(&url),
            _ => http.post(&url).json(&serde_json::json!({})),
        };
        let status = req.send().await.unwrap().status().as_u16();
        assert!(status != 405, "{method} {path} -> {status}");
        // `/metrics` is off (404) without a token (tests/ops_metrics.rs serves it with one).
        if status == 404 && path != "/metrics" {
            assert_eq!(path, "/verify/{token}", "{method} {path} is not routed");
        }
    }
    // The same document comes from the library without a running server.
    let local = serde_json::to_value(tobira::server::openapi::document()).unwrap();
    assert_eq!(local["paths"], doc["paths"]);
    t.stop().await;
}

/// Real requests, each remembered as (method, documented path, status) for the contract check.
struct Probe {
    http: reqwest::Client,
    base: String,
    seen: Vec<(&'static str, &'static str, u16)>,
}

impl Probe {
    fn new(t: &TestServer) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: t.url.clone(),
            seen: Vec::new(),
        }
    }

    /// Sends `method path` (with `{token}` filled from `arg`) and records what came back.
    async fn call(
        &mut self,
        method: &'static str,
        path: &'static str,
        arg: Option<&str>,
        token: Option<&str>,
        body: Option<&str>,
    ) -> u16 {
        let url = format!(
            "{}{}",
            self.base,
            path.replace("{token}", arg.unwrap_or_default())
                .replace("{id}", arg.unwrap_or_default())
                .replace("{user_id}", arg.unwrap_or_default())
        );
        self.send(method, path, url, token, body).await
    }

    /// A GET of `path` (with `{user_id}` filled from `arg`) with a query string, remembered
    /// under the documented path.
    async fn get_query(
        &mut self,
        path: &'static str,
        arg: Option<&str>,
        query: &str,
        token: Option<&str>,
    ) -> u16 {
        let url = format!(
            "{}{}?{query}",
            self.base,
            path.replace("{user_id}", arg.unwrap_or_default())
        );
        self.send("get", path, url, token, None).await
    }

    async fn send(
        &mut self,
        method: &'static str,
        path: &'static str,
        url: String,
        token: Option<&str>,
        body: Option<&str>,
    ) -> u16 {
        let mut req = match method {
            "get" => self.http.get(url),
            "patch" => self.http.patch(url),
            "delete" => self.http.delete(url),
            _ => self.http.post(url),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let status = req.send().await.unwrap().status().as_u16();
        self.seen.push((method, path, status));
        status
    }

    async fn post(&mut self, path: &'static str, token: Option<&str>, body: &str) -> u16 {
        self.call("post", path, None, token, Some(body)).await
    }

    /// Like [`Probe::post`], and the answer's body as JSON.
    async fn post_json(
        &mut self,
        path: &'static str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let json = resp.json().await.unwrap_or(serde_json::Value::Null);
        self.seen.push(("post", path, status));
        (status, json)
    }
}

const FLOW_POSTS: [&str; 8] = [
    "/api/v1/flow/birth-date",
    "/api/v1/flow/terms",
    "/api/v1/flow/email",
    "/api/v1/flow/email/resend",
    "/api/v1/flow/back",
    "/api/v1/flow/method",
    "/api/v1/flow/credentials",
    "/api/v1/flow/sign-out",
];

#[tokio::test]
async fn every_status_a_real_request_gets_is_declared_for_its_route() {
    let t = start().await;
    let c = &t.client;
    let mut p = Probe::new(&t);

    assert_eq!(p.call("get", "/healthz", None, None, None).await, 200);
    assert_eq!(p.call("get", "/readyz", None, None, None).await, 200);
    assert_eq!(p.call("get", "/metrics", None, None, None).await, 404);
    assert_eq!(p.call("get", "/api/v1/terms", None, None, None).await, 200);
    assert_eq!(p.call("get", "/api/v1/portal", None, None, None).await, 200);
    let sign_in = "/api/v1/sign-in";
    assert_eq!(p.post(sign_in, None, r#"{"user_id": 5}"#).await, 422);
    let wrong = r#"{"user_id": "demo0004", "password": "12345678919801202"}"#;
    assert_eq!(p.post(sign_in, None, wrong).await, 401);
    let good = r#"{"user_id": "demo0001", "password": "12345678919801201"}"#;
    assert_eq!(p.post(sign_in, None, good).await, 200);

    // No token, and a token the server never issued (or that expired).
    assert_eq!(p.call("get", "/api/v1/flow", None, None, None).await, 401);
    assert_eq!(
        p.call("get", "/api/v1/flow", None, Some("made-up"), None)
            .await,
        401
    );
    for path in FLOW_POSTS {
        assert_eq!(p.post(path, None, "{}").await, 401, "{path}");
        assert_eq!(p.post(path, Some("made-up"), "{}").await, 401, "{path}");
    }

    // At the identity check everything else is out of order; bodies that cannot be read are 422.
    let (a, _) = c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await.unwrap();
    let a = a.secret();
    for (path, body) in [
        ("/api/v1/flow/terms", r#"{"accept": true}"#),
        ("/api/v1/flow/email", "{}"),
        ("/api/v1/flow/email/resend", "{}"),
        ("/api/v1/flow/back", "{}"),
        ("/api/v1/flow/method", r#"{"method": "totp_app"}"#),
        (
            "/api/v1/flow/credentials",
            r#"{"password": "Good-passw0rd"}"#,
        ),
    ] {
        assert_eq!(p.post(path, Some(a), body).await, 409, "{path}");
    }
    for (path, body) in [
        ("/api/v1/flow/birth-date", r#"{"date": "1980-12-01"}"#),
        ("/api/v1/flow/terms", "{}"),
        ("/api/v1/flow/email", r#"{"email": 5}"#),
        ("/api/v1/flow/method", r#"{"method": "carrier_pigeon"}"#),
        ("/api/v1/flow/credentials", "{}"),
    ] {
        assert_eq!(p.post(path, Some(a), body).await, 422, "{path}");
    }
    // Wrong dates: 422, then the delay (429), then the lock (403).
    let birth = "/api/v1/flow/birth-date";
    let wrong_date = r#"{"birth_date": "1980-12-02"}"#;
    for _ in 0..3 {
        assert_eq!(p.post(birth, Some(a), wrong_date).await, 422);
    }
    assert_eq!(p.post(birth, Some(a), wrong_date).await, 429);
    t.clock.advance(10);
    assert_eq!(p.post(birth, Some(a), wrong_date).await, 422);
    t.clock.advance(20);
    assert_eq!(p.post(birth, Some(a), wrong_date).await, 403);

    // A second member walks the whole journey, tripping each remaining error on the way.
    let (b, _) = c
        .sign_in("demo0002", "12345881519700313", Lang::Ja)
        .await
        .unwrap();
    let b = b.secret();
    let right = r#"{"birth_date": "1970-03-13"}"#;
    assert_eq!(p.post(birth, Some(b), right).await, 200);
    assert_eq!(p.post(birth, Some(b), right).await, 409);
    assert_eq!(
        p.post("/api/v1/flow/terms", Some(b), r#"{"accept": true}"#)
            .await,
        200
    );
    t.mailer
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(p.post("/api/v1/flow/email", Some(b), "{}").await, 502);
    assert_eq!(
        p.post("/api/v1/flow/email/resend", Some(b), "{}").await,
        502
    );
    t.mailer
        .refuse
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        p.post("/api/v1/flow/email", Some(b), r#"{"email": "taro"}"#)
            .await,
        422
    );
    assert_eq!(
        p.post("/api/v1/flow/email/resend", Some(b), "{}").await,
        200
    );
    let link = t.latest_link();
    let link_token = link.rsplit('/').next().unwrap().to_owned();
    let verify = "/verify/{token}";
    // Opening the link shows the confirm page and changes nothing; its button verifies once.
    assert_eq!(
        p.call("get", verify, Some(&link_token), None, None).await,
        200
    );
    assert_eq!(
        p.call("post", verify, Some(&link_token), None, None).await,
        200
    );
    assert_eq!(
        p.call("post", verify, Some(&link_token), None, None).await,
        410
    );
    assert_eq!(
        p.call("post", verify, Some("unknown"), None, None).await,
        404
    );
    // A body past the route's limit.
    let huge = format!(
        r#"{{"user_id": "{}", "password": "x"}}"#,
        "x".repeat(32 * 1024)
    );
    assert_eq!(p.post("/api/v1/sign-in", None, &huge).await, 413);
    assert_eq!(
        p.call("get", "/api/v1/flow", None, Some(b), None).await,
        200
    );
    assert_eq!(
        p.call("get", "/api/v1/flow/status", None, Some(b), None)
            .await,
        200
    );
    assert_eq!(
        p.call("get", "/api/v1/flow/status", None, None, None).await,
        401
    );
    let method = r#"{"method": "totp_app"}"#;
    assert_eq!(p.post("/api/v1/flow/method", Some(b), method).await, 200);
    assert_eq!(p.post("/api/v1/flow/back", Some(b), "{}").await, 200);
    assert_eq!(p.post("/api/v1/flow/method", Some(b), method).await, 200);
    let creds = "/api/v1/flow/credentials";
    assert_eq!(
        p.post(creds, Some(b), r#"{"password": "short"}"#).await,
        422
    );
    let taken = r#"{"password": "Good-passw0rd", "new_user_id": "demo0003"}"#;
    assert_eq!(p.post(creds, Some(b), taken).await, 409);
    assert_eq!(
        p.post(creds, Some(b), r#"{"password": "Good-passw0rd"}"#)
            .await,
        200
    );

    let (d, _) = c
        .sign_in("demo0003", "12345982819910103", Lang::Ja)
        .await
        .unwrap();
    let d = d.secret();
    assert_eq!(p.post("/api/v1/flow/sign-out", Some(d), "{}").await, 200);
    assert_eq!(p.post("/api/v1/flow/sign-out", Some(d), "{}").await, 401);

    // Stage 2 with the authenticator app, then the second factor at the next sign-in.
    let (e, _) = c
        .sign_in("demo0002", "Good-passw0rd", Lang::Ja)
        .await
        .unwrap();
    let e = e.secret();
    let enroll = "/api/v1/totp/enrollment";
    let confirm = "/api/v1/totp/enrollment/confirm";
    let verify_code = "/api/v1/totp/verify";
    let home = "/api/v1/home";
    let factor = "/api/v1/home/second-factors/{id}";
    assert_eq!(p.post(enroll, None, "{}").await, 401);
    assert_eq!(
        p.post(verify_code, Some(e), r#"{"code": "123456"}"#).await,
        409
    );
    assert_eq!(p.call("get", home, None, Some(e), None).await, 409);
    assert_eq!(p.post(enroll, Some(e), "{}").await, 200);
    let key = c
        .start_totp_enrollment(&tobira::client::FlowToken::new(e))
        .await
        .unwrap()
        .secret;
    let code_at = |t: i64| {
        tobira::domain::TotpParams::default()
            .code_at(
                &tobira::domain::TotpSecret::from_base32(&key).unwrap(),
                t as u64,
            )
            .unwrap()
    };
    let body = |code: &str, name: &str| format!(r#"{{"code": "{code}", "device_name": "{name}"}}"#);
    assert_eq!(p.post(confirm, Some(e), "{}").await, 422);
    assert_eq!(
        p.post(confirm, Some(e), &body(&code_at(T0 + 3_600), "Phone"))
            .await,
        422
    );
    assert_eq!(
        p.post(confirm, Some(e), &body(&code_at(T0), "Phone")).await,
        200
    );
    let (f, _) = c
        .sign_in("demo0002", "Good-passw0rd", Lang::Ja)
        .await
        .unwrap();
    let f = f.secret();
    assert_eq!(p.call("get", home, None, Some(f), None).await, 409);
    assert_eq!(p.post(verify_code, Some(f), "{}").await, 422);
    t.clock.advance(30);
    let fresh = format!(r#"{{"code": "{}"}}"#, code_at(T0 + 30));
    assert_eq!(p.post(verify_code, Some(f), &fresh).await, 200);
    assert_eq!(p.call("get", home, None, Some(f), None).await, 200);
    let id = c
        .home(&tobira::client::FlowToken::new(f))
        .await
        .unwrap()
        .second_factors[0]
        .id
        .to_string();
    let rename = |n: &str| format!(r#"{{"name": "{n}"}}"#);
    assert_eq!(
        p.call("patch", factor, Some(&id), Some(f), Some(&rename("Work")))
            .await,
        200
    );
    assert_eq!(
        p.call("patch", factor, Some(&id), Some(f), Some(&rename("")))
            .await,
        422
    );
    assert_eq!(
        p.call("patch", factor, Some("9999"), Some(f), Some(&rename("X")))
            .await,
        404
    );
    assert_eq!(
        p.call("delete", factor, Some(&id), Some(f), None).await,
        409
    );
    assert_eq!(
        p.call("delete", factor, Some("9999"), Some(f), None).await,
        404
    );
    assert_eq!(p.call("delete", factor, Some(&id), None, None).await, 401);
    // Passkeys (issue 6): from the top screen, registration; the sign-in half is out of order here.
    let reg = "/api/v1/passkey/registration";
    let reg_finish = "/api/v1/passkey/registration/finish";
    let auth = "/api/v1/passkey/authentication";
    let auth_finish = "/api/v1/passkey/authentication/finish";
    assert_eq!(p.post(reg, None, "{}").await, 401);
    assert_eq!(p.post(reg, Some(f), "{}").await, 200);
    assert_eq!(p.post(reg_finish, Some(f), "{}").await, 422);
    assert_eq!(p.post(auth, Some(f), "{}").await, 409);
    assert_eq!(p.post(auth_finish, Some(f), "{}").await, 422);
    assert_eq!(p.post(auth_finish, None, "{}").await, 401);
    // A well-formed answer to a ceremony that is not open.
    let ft = tobira::client::FlowToken::new(f);
    let start = c.start_passkey_registration(&ft).await.unwrap();
    let answer = webauthn_authenticator_rs::WebauthnAuthenticator::do_registration(
        &mut webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true),
        c.origin(),
        start.options,
    )
    .unwrap();
    let finish = serde_json::json!({"credential": answer, "name": "Key"}).to_string();
    assert_eq!(p.post(reg_finish, Some(f), &finish).await, 200);
    assert_eq!(p.post(reg_finish, Some(f), &finish).await, 409);
    let passkey_id = c.home(&ft).await.unwrap().second_factors[1].id.to_string();
    let by_kind: &'static str = "/api/v1/home/second-factors/{id}";
    assert_eq!(
        p.call(
            "delete",
            by_kind,
            Some(&format!("{passkey_id}?method=passkey")),
            Some(f),
            None
        )
        .await,
        200
    );
    // Adding and removing a passkey in flow f ended the member's other flows (e): sign in again.
    assert_eq!(p.call("get", home, None, Some(e), None).await, 401);
    t.clock.advance(30);
    let (again, _) = c
        .sign_in("demo0002", "Good-passw0rd", Lang::Ja)
        .await
        .unwrap();
    c.verify_totp(&again, &code_at(T0 + 60)).await.unwrap();
    let e = again.secret();
    let step_up = "/api/v1/step-up";
    assert_eq!(p.post(step_up, None, "{}").await, 401);
    assert_eq!(p.post(step_up, Some(e), "{}").await, 422);
    let proof = |pw: &str| format!(r#"{{"password": "{pw}"}}"#);
    assert_eq!(p.post(step_up, Some(e), &proof("wrong")).await, 401);
    assert_eq!(p.post(step_up, Some(e), &proof("Good-passw0rd")).await, 200);
    let password = "/api/v1/home/password";
    let change = |cur: &str, new: &str| {
        format!(r#"{{"current_password": "{cur}", "new_password": "{new}"}}"#)
    };
    assert_eq!(p.post(password, Some(f), "{}").await, 422);
    assert_eq!(
        p.post(password, Some(f), &change("wrong", "Other-passw0rd"))
            .await,
        401
    );
    assert_eq!(
        p.post(password, Some(f), &change("Good-passw0rd", "short"))
            .await,
        422
    );
    assert_eq!(
        p.post(
            password,
            Some(e),
            &change("Good-passw0rd", "Other-passw0rd")
        )
        .await,
        200
    );

    // Email one-time passwords: added from the top screen, then refused as already there.
    let send = "/api/v1/email-otp/send";
    let check = "/api/v1/email-otp/verify";
    assert_eq!(p.post(send, None, "{}").await, 401);
    assert_eq!(p.post(send, Some(e), "{}").await, 200);
    assert_eq!(p.post(send, Some(e), "{}").await, 429);
    let mailed = t
        .mails()
        .last()
        .unwrap()
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_owned();
    assert_eq!(p.post(check, Some(e), "{}").await, 422);
    assert_eq!(p.post(check, Some(e), r#"{"code": "12"}"#).await, 422);
    let right = format!(r#"{{"code": "{mailed}"}}"#);
    assert_eq!(p.post(check, Some(e), &right).await, 200);
    assert_eq!(p.post(check, Some(e), &right).await, 409, "already added");
    assert_eq!(p.post(send, Some(e), "{}").await, 409);
    let change = "/api/v1/home/email";
    assert_eq!(
        p.post(change, None, r#"{"email": "x@example.jp"}"#).await,
        401
    );
    assert_eq!(p.post(change, Some(e), r#"{"email": "x"}"#).await, 422);
    assert_eq!(
        p.post(change, Some(e), r#"{"email": "new@example.jp"}"#)
            .await,
        200
    );
    assert_eq!(
        p.post(change, Some(e), r#"{"email": "x@example.jp"}"#)
            .await,
        200
    );

    // Recovery: the same answer for anyone; bad input is refused.
    let forgot_id = "/api/v1/recover/user-id";
    let forgot_pw = "/api/v1/recover/password";
    let reset = "/api/v1/recover/password/reset";
    let nobody = r#"{"symbol": "99", "number": "1", "birth_date": "1980-12-01"}"#;
    assert_eq!(p.post(forgot_id, None, nobody).await, 200);
    assert_eq!(
        p.post(
            forgot_id,
            None,
            r#"{"symbol": "x", "number": "1", "birth_date": "1980-12-01"}"#
        )
        .await,
        422
    );
    assert_eq!(
        p.post(
            forgot_pw,
            None,
            r#"{"user_id": "nobody01", "birth_date": "1980-12-01"}"#
        )
        .await,
        200
    );
    assert_eq!(
        p.post(
            forgot_pw,
            None,
            r#"{"user_id": "nobody01", "birth_date": "x"}"#
        )
        .await,
        422
    );
    assert_eq!(
        p.post(
            reset,
            None,
            r#"{"user_id": "nobody01", "code": "123456", "new_password": "Brand-n3w-pass"}"#
        )
        .await,
        422
    );
    assert_eq!(p.post(reset, None, "{}").await, 422);

    // The address throttle needs a server of its own (small thresholds).
    let mut settings = test_settings();
    settings.lockout.address.free_failures = 1;
    let t2 = start_with(settings).await;
    let mut p2 = Probe::new(&t2);
    assert_eq!(p2.post(sign_in, None, wrong).await, 401);
    assert_eq!(p2.post(sign_in, None, good).await, 429);
    let forgot_id = r#"{"symbol": "12", "number": "3456789", "birth_date": "1980-12-01"}"#;
    let forgot_pw = r#"{"user_id": "demo0001", "birth_date": "1980-12-01"}"#;
    let reset = r#"{"user_id": "demo0001", "code": "123456", "new_password": "Brand-n3w-pass"}"#;
    assert_eq!(
        p2.post("/api/v1/recover/user-id", None, forgot_id).await,
        429
    );
    assert_eq!(
        p2.post("/api/v1/recover/password", None, forgot_pw).await,
        429
    );
    assert_eq!(
        p2.post("/api/v1/recover/password/reset", None, reset).await,
        429
    );
    p.seen.append(&mut p2.seen);
    t2.stop().await;
    // Staff routes (issue 13) on a server of their own, so earlier failures do not throttle them.
    let t3 = common::start().await;
    let mut p3 = Probe::new(&t3);
    probe_staff_routes(&t3, &mut p3).await;
    p.seen.append(&mut p3.seen);
    t3.stop().await;
    // The helpdesk's case, verification and actions, and the member's helpdesk code.
    let t4 = common::start().await;
    let mut p4 = Probe::new(&t4);
    probe_helpdesk_routes(&t4, &mut p4).await;
    p.seen.append(&mut p4.seen);
    t4.stop().await;

    // Staff routes (issue 13): no staff session, then a helpdesk's.
    for (method, path) in [
        ("post", "/api/v1/staff/enrolment/finish"),
        ("post", "/api/v1/staff/sign-in/verify"),
        ("post", "/api/v1/staff/sign-out"),
        ("get", "/api/v1/staff/me"),
        ("get", "/api/v1/staff/accounts"),
        ("get", "/api/v1/staff/members"),
        ("get", "/api/v1/staff/members/{user_id}"),
        ("get", "/api/v1/staff/members/{user_id}/events"),
        ("get", "/api/v1/staff/audit"),
    ] {
        let body = (method == "post").then_some("{}");
        assert_eq!(
            p.call(method, path, Some(DEMO_ID), None, body).await,
            401,
            "{path}"
        );
    }
    for path in ["/api/v1/staff/enrolment", "/api/v1/staff/sign-in"] {
        assert_eq!(p.post(path, None, "{}").await, 422, "{path}");
    }
    let wrong_code = r#"{"login": "hd.nobody", "enrolment_code": "AAAA-AAAA-AAAA-AAAA"}"#;
    assert_eq!(
        p.post("/api/v1/staff/enrolment", None, wrong_code).await,
        401
    );
    let wrong_pw = r#"{"login": "hd.nobody", "password": "Wrong-passw0rd"}"#;
    assert_eq!(p.post("/api/v1/staff/sign-in", None, wrong_pw).await, 401);
    let staff =
        common::staff::enrol_staff(&t, "hd.probe", tobira::domain::StaffRole::Helpdesk).await;
    let s = Some(staff.as_str());
    assert_eq!(p.call("get", "/api/v1/staff/me", None, s, None).await, 200);
    assert_eq!(
        p.call("get", "/api/v1/staff/accounts", None, s, None).await,
        403
    );
    let search = "/api/v1/staff/members";
    assert_eq!(p.get_query(search, None, "q=demo", s).await, 200);
    assert_eq!(p.get_query(search, None, "q=", s).await, 422);
    let member = "/api/v1/staff/members/{user_id}";
    assert_eq!(p.call("get", member, Some(DEMO_ID), s, None).await, 200);
    assert_eq!(p.call("get", member, Some("nobody99"), s, None).await, 404);
    let events = "/api/v1/staff/members/{user_id}/events";
    assert_eq!(p.call("get", events, Some(DEMO_ID), s, None).await, 200);
    assert_eq!(p.call("get", events, Some("nobody99"), s, None).await, 404);
    let audit = "/api/v1/staff/audit";
    assert_eq!(p.get_query(audit, None, "action=sign_in", s).await, 200);
    assert_eq!(p.get_query(audit, None, "member=nobody99", s).await, 404);
    assert_eq!(p.get_query(audit, None, "since=soon", s).await, 422);
    assert_eq!(p.post("/api/v1/staff/sign-out", s, "{}").await, 200);

    let doc = c.openapi().await.unwrap();
    let mut undeclared = Vec::new();
    for (method, path, status) in &p.seen {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        if !op["responses"][status.to_string()].is_object() {
            undeclared.push(format!("{method} {path} -> {status}"));
        }
    }
    undeclared.sort();
    undeclared.dedup();
    assert!(
        undeclared.is_empty(),
        "undeclared statuses: {undeclared:#?}"
    );
    // The probe is only as good as its coverage: every operation, every error status.
    for (method, path) in EXPECTED {
        assert!(
            p.seen.iter().any(|(m, q, _)| (*m, *q) == (method, path)),
            "{method} {path} was never probed"
        );
    }
    let statuses: std::collections::BTreeSet<u16> = p.seen.iter().map(|s| s.2).collect();
    for s in [200, 401, 403, 404, 409, 410, 413, 422, 429, 502] {
        assert!(statuses.contains(&s), "no request produced {s}");
    }
    t.stop().await;
}

/// Every staff route and the statuses its refusals give.
async fn probe_staff_routes(t: &TestServer, p: &mut Probe) {
    use tobira::domain::StaffRole;
    use tobira::server::Clock;
    let enrol = "/api/v1/staff/enrolment";
    let finish = "/api/v1/staff/enrolment/finish";
    let sign_in = "/api/v1/staff/sign-in";
    let verify = "/api/v1/staff/sign-in/verify";
    let enrol_passkey = "/api/v1/staff/enrolment/passkey";
    let enrol_passkey_finish = "/api/v1/staff/enrolment/passkey/finish";
    let passkey = "/api/v1/staff/sign-in/passkey";
    let passkey_finish = "/api/v1/staff/sign-in/passkey/finish";
    let sign_out = "/api/v1/staff/sign-out";
    let me = "/api/v1/staff/me";
    let accounts = "/api/v1/staff/accounts";
    let code_at = |secret: &str, at: i64| {
        tobira::domain::TotpParams::default()
            .code_at(
                &tobira::domain::TotpSecret::from_base32(secret).unwrap(),
                at as u64,
            )
            .unwrap()
    };
    let mut enrolled = Vec::new();
    for (login, role) in [("alice", StaffRole::Admin), ("bob", StaffRole::Helpdesk)] {
        let issued =
            tobira::staff_admin::add(t.store.as_ref(), &t.key, login, role, None, t.clock.now())
                .await
                .unwrap();
        assert_eq!(p.post(enrol, None, "{}").await, 422);
        let wrong = format!(r#"{{"login": "{login}", "enrolment_code": "0000-0000-0000-0000"}}"#);
        assert_eq!(p.post(enrol, None, &wrong).await, 401);
        let right = format!(
            r#"{{"login": "{login}", "enrolment_code": "{}"}}"#,
            issued.code.as_str()
        );
        let (status, started) = p.post_json(enrol, None, &right).await;
        assert_eq!(status, 200, "{started}");
        let token = started["token"].as_str().unwrap().to_owned();
        let secret = started["totp"]["secret"].as_str().unwrap().to_owned();
        assert_eq!(p.call("get", me, None, Some(&token), None).await, 401);
        assert_eq!(p.post(finish, None, "{}").await, 401);
        assert_eq!(p.post(finish, Some(&token), "{}").await, 422);
        // A passkey instead of the app: the options, then an answer that is no answer.
        assert_eq!(p.post(enrol_passkey, None, "{}").await, 401);
        assert_eq!(p.post(enrol_passkey, Some(&token), "{}").await, 200);
        assert_eq!(p.post(enrol_passkey_finish, Some(&token), "{}").await, 422);
        let body = |pw: &str, code: &str| format!(r#"{{"password": "{pw}", "code": "{code}"}}"#);
        let now = t.clock.now();
        assert_eq!(
            p.post(finish, Some(&token), &body("short", &code_at(&secret, now)))
                .await,
            422
        );
        assert_eq!(
            p.post(
                finish,
                Some(&token),
                &body("Staff-passw0rd", &code_at(&secret, now))
            )
            .await,
            200
        );
        assert_eq!(
            p.post(
                finish,
                Some(&token),
                &body("Staff-passw0rd", &code_at(&secret, now))
            )
            .await,
            409
        );
        enrolled.push((token, secret));
    }
    let (admin, secret) = enrolled[0].clone();
    let (helpdesk, _) = enrolled[1].clone();
    assert_eq!(p.call("get", me, None, Some(&admin), None).await, 200);
    assert_eq!(p.call("get", me, None, None, None).await, 401);
    assert_eq!(p.call("get", accounts, None, Some(&admin), None).await, 200);
    assert_eq!(
        p.call("get", accounts, None, Some(&helpdesk), None).await,
        403
    );
    assert_eq!(p.call("get", accounts, None, None, None).await, 401);

    let right = r#"{"login": "alice", "password": "Staff-passw0rd"}"#;
    assert_eq!(p.post(sign_in, None, "{}").await, 422);
    let (status, half) = p.post_json(sign_in, None, right).await;
    assert_eq!(status, 200, "{half}");
    let half = half["token"].as_str().unwrap().to_owned();
    assert_eq!(p.post(verify, None, "{}").await, 401);
    assert_eq!(p.post(verify, Some(&half), "{}").await, 422);
    // An app-only account has no passkey; nothing was started to finish.
    assert_eq!(p.post(passkey, None, "{}").await, 401);
    assert_eq!(p.post(passkey, Some(&half), "{}").await, 409);
    assert_eq!(p.post(passkey_finish, Some(&half), "{}").await, 422);
    t.clock.advance(30);
    let code = format!(r#"{{"code": "{}"}}"#, code_at(&secret, t.clock.now()));
    assert_eq!(p.post(verify, Some(&half), &code).await, 200);
    assert_eq!(p.post(verify, Some(&half), &code).await, 409);
    assert_eq!(p.post(sign_out, Some(&half), "{}").await, 200);
    assert_eq!(p.post(sign_out, Some(&half), "{}").await, 401);

    // Failures: the one answer, then the delay, then the hold (lock_after 5 in the tests).
    let wrong = r#"{"login": "alice", "password": "Wrong-passw0rd"}"#;
    for _ in 0..3 {
        assert_eq!(p.post(sign_in, None, wrong).await, 401);
    }
    assert_eq!(p.post(sign_in, None, wrong).await, 429);
    assert_eq!(
        p.post(enrol, None, r#"{"login": "alice", "enrolment_code": "x"}"#)
            .await,
        429
    );
    for wait in [10, 20] {
        t.clock.advance(wait);
        assert_eq!(p.post(sign_in, None, wrong).await, 401);
    }
    t.clock.advance(3_600);
    assert_eq!(p.post(sign_in, None, right).await, 423);
    assert_eq!(
        p.post(enrol, None, r#"{"login": "alice", "enrolment_code": "x"}"#)
            .await,
        423
    );
}

/// The helpdesk's routes on a member (issue 13) and the statuses their refusals give.
async fn probe_helpdesk_routes(t: &TestServer, p: &mut Probe) {
    use tobira::domain::StaffRole;
    let case = "/api/v1/staff/members/{user_id}";
    let verify = "/api/v1/staff/members/{user_id}/verify";
    let actions = "/api/v1/staff/members/{user_id}/actions";
    let code = "/api/v1/home/helpdesk-code";
    let http = common::staff::Http::new(t);
    let (staff, _) = common::staff::enrolled(t, &http, "hana", StaffRole::Helpdesk).await;
    let staff = Some(staff.as_str());
    let post = |body: &'static str| Some(body);

    assert_eq!(p.call("get", case, Some("demo0001"), None, None).await, 401);
    assert_eq!(
        p.call("get", case, Some("nobody99"), staff, None).await,
        404
    );
    let knowledge =
        r#"{"proof": "knowledge", "birth_date": "1980-12-01", "card_number": "3456789"}"#;
    let wrong = r#"{"proof": "knowledge", "birth_date": "1980-12-01", "card_number": "3456780"}"#;
    assert_eq!(
        p.call("post", verify, Some("demo0001"), None, post(knowledge))
            .await,
        401
    );
    assert_eq!(
        p.call("post", verify, Some("nobody99"), staff, post(knowledge))
            .await,
        404
    );
    assert_eq!(
        p.call("post", verify, Some("demo0001"), staff, post("{}"))
            .await,
        422
    );
    let mailed = r#"{"proof": "send_mailed_code"}"#;
    assert_eq!(
        p.call("post", verify, Some("demo0002"), staff, post(mailed))
            .await,
        409
    );
    assert_eq!(
        p.call("post", verify, Some("demo0001"), staff, post(knowledge))
            .await,
        200
    );
    for _ in 0..3 {
        assert_eq!(
            p.call("post", verify, Some("demo0003"), staff, post(wrong))
                .await,
            422
        );
    }
    assert_eq!(
        p.call("post", verify, Some("demo0003"), staff, post(wrong))
            .await,
        429
    );
    // Wrong answers count on the staff session too, whichever member they are about.
    let other = r#"{"proof": "knowledge", "birth_date": "1970-03-13", "card_number": "3458815"}"#;
    assert_eq!(
        p.call("post", verify, Some("demo0002"), staff, post(other))
            .await,
        429
    );
    let (status, seen) = {
        let got = http.get("/api/v1/staff/members/demo0001", staff).await;
        (got.0, got.1)
    };
    assert_eq!(status, 200);
    assert_eq!(
        p.call("get", case, Some("demo0001"), staff, None).await,
        200
    );
    let version = seen["version"].as_str().unwrap().to_owned();
    let body = |change: &str, reason: &str| -> &'static str {
        Box::leak(
            format!(r#"{{"version": "{version}", "reason": "{reason}", "change": {change}}}"#)
                .into_boxed_str(),
        )
    };
    let unlock = r#"{"action": "unlock"}"#;
    let remove = r#"{"action": "remove_factor", "method": "totp_app", "id": 1}"#;
    assert_eq!(
        p.call(
            "post",
            actions,
            Some("demo0001"),
            None,
            post(body(unlock, "x"))
        )
        .await,
        401
    );
    assert_eq!(
        p.call(
            "post",
            actions,
            Some("nobody99"),
            staff,
            post(body(unlock, "x"))
        )
        .await,
        404
    );
    assert_eq!(
        p.call(
            "post",
            actions,
            Some("demo0001"),
            staff,
            post(body(unlock, ""))
        )
        .await,
        422
    );
    assert_eq!(
        p.call(
            "post",
            actions,
            Some("demo0001"),
            staff,
            post(body(remove, "lost"))
        )
        .await,
        403
    );
    let stale = r#"{"version": "0000000000000000", "reason": "x", "change": {"action": "unlock"}}"#;
    assert_eq!(
        p.call("post", actions, Some("demo0001"), staff, post(stale))
            .await,
        409
    );
    assert_eq!(
        p.call(
            "post",
            actions,
            Some("demo0001"),
            staff,
            post(body(unlock, "locked out"))
        )
        .await,
        200
    );

    assert_eq!(p.post(code, None, "{}").await, 401);
    let (member, view) = t
        .client
        .sign_in("demo0004", &initial_of(t, "demo0004").await, Lang::Ja)
        .await
        .unwrap();
    assert_eq!(view.step, tobira::api::Step::BirthDate);
    assert_eq!(p.post(code, Some(member.secret()), "{}").await, 409);
}

/// The initial password of a roster member.
async fn initial_of(t: &TestServer, user_id: &str) -> String {
    let m = t.store.member_by_user_id(user_id).await.unwrap().unwrap();
    tobira::domain::initial_password(&m.card, &m.birth_date)
}
