//! The API's shape: health, the OpenAPI description (kept true by calling every documented
//! operation), JSON errors for bad bodies and unknown routes — in-process with `oneshot`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use common::*;
use tobira::api::{ApiError, ErrorCode, Health};

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

const EXPECTED: [(&str, &str); 19] = [
    ("get", "/healthz"),
    ("get", "/api/v1/terms"),
    ("post", "/api/v1/sign-in"),
    ("get", "/api/v1/flow"),
    ("post", "/api/v1/flow/birth-date"),
    ("post", "/api/v1/flow/terms"),
    ("post", "/api/v1/flow/email"),
    ("post", "/api/v1/flow/email/resend"),
    ("post", "/api/v1/flow/back"),
    ("post", "/api/v1/flow/method"),
    ("post", "/api/v1/flow/credentials"),
    ("post", "/api/v1/flow/sign-out"),
    ("get", "/verify/{token}"),
    ("post", "/api/v1/totp/enrollment"),
    ("post", "/api/v1/totp/enrollment/confirm"),
    ("post", "/api/v1/totp/verify"),
    ("get", "/api/v1/home"),
    ("patch", "/api/v1/home/second-factors/{id}"),
    ("delete", "/api/v1/home/second-factors/{id}"),
];

#[tokio::test]
async fn the_openapi_description_matches_the_routes() {
    let t = start().await;
    let doc: serde_json::Value = reqwest::get(format!("{}/api/v1/openapi.json", t.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

    // Every documented operation is served (an undocumented or renamed route would 404/405).
    let http = reqwest::Client::new();
    for (method, path) in &documented {
        let url = format!(
            "{}{}",
            t.url,
            path.replace("{token}", "x").replace("{id}", "1")
        );
        let req = match method.as_str() {
            "get" => http.get(&url),
            "patch" => http.patch(&url).json(&serde_json::json!({})),
            "delete" => http.delete(&url),
            _ => http.post(&url).json(&serde_json::json!({})),
        };
        let status = req.send().await.unwrap().status().as_u16();
        assert!(status != 405, "{method} {path} -> {status}");
        if status == 404 {
            assert_eq!(path, "/verify/{token}", "{method} {path} is not routed");
        }
    }
    // The same document comes from the library without a running server.
    let local = serde_json::to_value(tobira::server::openapi::document()).unwrap();
    assert_eq!(local["paths"], doc["paths"]);
    t.stop().await;
}
