//! Passkeys (生体認証) through the real client and server, with the soft authenticator of
//! webauthn-authenticator-rs doing the authenticator's half: registration at the next sign-in
//! after the first login, sign-in with the passkey after the password, the origin check, user
//! verification, exclusion of registered passkeys, counter updates, renaming and removal.
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`).

mod common;

use common::*;
use tobira::api::{ErrorCode, Lang, Method, Step};
use tobira::client::{Client, FlowToken};
use tobira::domain::passkey::CEREMONY_TTL_SECS;
use tobira::store::{AuditEntry, PasskeyEnrollment, ThrottleScope};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const PW: &str = "N3w-passw0rd!";

/// The demo member completes the first login choosing passkeys and signs in again.
async fn demo_at_passkey_setup(t: &TestServer) -> FlowToken {
    let token = t.demo_at_credentials().await;
    let v = t
        .client
        .choose_method(&token, Method::Passkey)
        .await
        .unwrap();
    assert_eq!(v.step, Step::NewCredentials);
    let v = t.client.set_credentials(&token, PW, None).await.unwrap();
    assert_eq!(v.step, Step::Complete);
    let (token, v) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(
        (v.step, v.method),
        (Step::MethodSetup, Some(Method::Passkey))
    );
    token
}

/// Registers a passkey on `authr`, claiming `origin`.
async fn register(
    c: &Client,
    token: &FlowToken,
    authr: &mut SoftPasskey,
    origin: &Url,
    name: &str,
) -> Result<tobira::api::FlowView, tobira::client::ClientError> {
    let start = c.start_passkey_registration(token).await?;
    let answer = authr
        .do_registration(origin.clone(), start.options)
        .expect("the soft authenticator registers");
    c.finish_passkey_registration(token, answer, name).await
}

/// Signs in with `authr`, claiming `origin`.
async fn authenticate(
    c: &Client,
    token: &FlowToken,
    authr: &mut SoftPasskey,
    origin: &Url,
) -> Result<tobira::api::FlowView, tobira::client::ClientError> {
    let start = c.start_passkey_authentication(token).await?;
    let answer = authr
        .do_authentication(origin.clone(), start.options)
        .expect("the soft authenticator answers");
    c.finish_passkey_authentication(token, answer).await
}

/// The demo member with one passkey ("YubiKey"), at the top screen.
async fn demo_enrolled(t: &TestServer) -> (FlowToken, SoftPasskey) {
    let token = demo_at_passkey_setup(t).await;
    let mut authr = SoftPasskey::new(true);
    let v = register(&t.client, &token, &mut authr, &t.client.origin(), "YubiKey")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    (token, authr)
}

async fn demo_id(t: &TestServer) -> i64 {
    t.store
        .member_by_user_id(DEMO_ID)
        .await
        .unwrap()
        .unwrap()
        .id
}

fn counter(passkey_json: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(passkey_json).unwrap();
    v["cred"]["counter"]
        .as_u64()
        .expect("a counter in the stored passkey")
}

async fn register_at_method_setup_then_sign_in_with_the_passkey(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let (token, mut authr) = demo_enrolled(&t).await;
    let home = c.home(&token).await.unwrap();
    assert_eq!(home.second_factors.len(), 1);
    assert_eq!(
        (
            home.second_factors[0].method,
            home.second_factors[0].name.as_str()
        ),
        (Method::Passkey, "YubiKey")
    );
    let member = demo_id(&t).await;
    let before = t.store.passkeys(member).await.unwrap();
    let before_counter = counter(&before[0].passkey);
    c.sign_out(&token).await.unwrap();

    // The password alone no longer reaches the top screen.
    let (token, v) = c.sign_in(DEMO_ID, PW, Lang::En).await.unwrap();
    assert_eq!(v.step, Step::SecondFactor);
    expect_code(c.home(&token).await, ErrorCode::OutOfOrder);
    t.clock.advance(5);
    let v = authenticate(c, &token, &mut authr, &c.origin())
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    assert!(c.home(&token).await.is_ok());

    // The counter and the last use were stored.
    let after = t.store.passkeys(member).await.unwrap();
    assert!(counter(&after[0].passkey) > before_counter);
    assert_eq!(after[0].last_used_at, Some(T0 + 5));
    let log = t.store.audit_log(Some(member), 20).await.unwrap();
    assert!(log.iter().any(|e| e.action == "passkey.enrolled"));
    assert!(log.iter().any(|e| e.action == "passkey.verified"));
    t.stop().await;
}

async fn a_wrong_origin_is_rejected_at_registration_and_at_sign_in(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_passkey_setup(&t).await;
    let mut authr = SoftPasskey::new(true);
    // Another site on the same host name (another port): the RP id matches, so the
    // authenticator signs, but the origin is not the server's.
    let port = Url::parse(&t.url).unwrap().port().unwrap();
    let other = if port == 65535 { port - 1 } else { port + 1 };
    let phishing = Url::parse(&format!("http://localhost:{other}")).unwrap();
    let e = expect_code(
        register(c, &token, &mut authr, &phishing, "Key").await,
        ErrorCode::PasskeyRejected,
    );
    assert_eq!(e.step, Some(Step::MethodSetup));
    // The refused answer used the ceremony up: finishing again needs a new start.
    assert!(
        t.store
            .passkeys(demo_id(&t).await)
            .await
            .unwrap()
            .is_empty()
    );

    let v = register(c, &token, &mut authr, &c.origin(), "Key")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    c.sign_out(&token).await.unwrap();
    let (token, _) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    let e = expect_code(
        authenticate(c, &token, &mut authr, &phishing).await,
        ErrorCode::PasskeyRejected,
    );
    assert_eq!(e.step, Some(Step::SecondFactor));
    // A refused passkey counts towards the lockout, like a wrong code.
    let failures = t
        .store
        .failures(ThrottleScope::Account, &demo_id(&t).await.to_string())
        .await
        .unwrap()
        .failures;
    assert_eq!(failures, 1);
    let v = authenticate(c, &token, &mut authr, &c.origin())
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    t.stop().await;
}

/// Clears the user-verified flag in a registration answer's authenticator data (attestation
/// `none` signs nothing, so only the server's policy can notice).
fn without_user_verification(
    answer: &webauthn_rs::prelude::RegisterPublicKeyCredential,
) -> webauthn_rs::prelude::RegisterPublicKeyCredential {
    use base64::Engine;
    use sha2::Digest;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut json = serde_json::to_value(answer).unwrap();
    let field = &mut json["response"]["attestationObject"];
    let mut bytes = b64
        .decode(field.as_str().unwrap().trim_end_matches('='))
        .unwrap();
    let rp_hash = sha2::Sha256::digest(b"localhost");
    let at = bytes
        .windows(32)
        .position(|w| w == &rp_hash[..])
        .expect("the authenticator data starts with the RP id hash");
    let flags = &mut bytes[at + 32];
    assert_ne!(
        *flags & 0x04,
        0,
        "the soft authenticator claims user verification"
    );
    *flags &= !0x04;
    *field = serde_json::Value::String(b64.encode(&bytes));
    serde_json::from_value(json).unwrap()
}

async fn user_verification_is_required(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_passkey_setup(&t).await;
    let mut authr = SoftPasskey::new(true);
    let start = c.start_passkey_registration(&token).await.unwrap();
    let answer = authr.do_registration(c.origin(), start.options).unwrap();
    // An authenticator that proved presence only (no PIN, no biometric).
    expect_code(
        c.finish_passkey_registration(&token, without_user_verification(&answer), "Key")
            .await,
        ErrorCode::PasskeyRejected,
    );
    assert_eq!(c.flow(&token).await.unwrap().step, Step::MethodSetup);
    assert!(
        t.store
            .passkeys(demo_id(&t).await)
            .await
            .unwrap()
            .is_empty()
    );
    t.stop().await;
}

async fn re_registration_excludes_the_members_passkeys(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let (token, mut authr) = demo_enrolled(&t).await;
    let member = demo_id(&t).await;
    let first = t.store.passkeys(member).await.unwrap().remove(0);

    // From the top screen: the options exclude the registered passkey.
    let start = c.start_passkey_registration(&token).await.unwrap();
    let options = serde_json::to_value(&start.options).unwrap();
    let excluded: Vec<&str> = options["publicKey"]["excludeCredentials"]
        .as_array()
        .expect("excludeCredentials")
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(excluded, [first.credential_id.as_str()]);
    let answer = authr.do_registration(c.origin(), start.options).unwrap();
    // A bad or taken name is refused before the ceremony is used up: no second touch needed.
    expect_code(
        c.finish_passkey_registration(&token, answer.clone(), "   ")
            .await,
        ErrorCode::InvalidDeviceName,
    );
    let e = expect_code(
        c.finish_passkey_registration(&token, answer.clone(), "yubikey")
            .await,
        ErrorCode::DeviceNameTaken,
    );
    assert_eq!(e.step, Some(Step::Home));
    let v = c
        .finish_passkey_registration(&token, answer.clone(), "Phone")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    // The ceremony is used up: the same answer cannot be replayed.
    expect_code(
        c.finish_passkey_registration(&token, answer, "Tablet")
            .await,
        ErrorCode::CeremonyExpired,
    );

    // A credential id already stored (by this member or another) is never stored again.
    let other = t.store.member_by_user_id("demo0002").await.unwrap();
    let other_id = other.map(|m| m.id).unwrap_or(member);
    let dup = t
        .store
        .add_passkey(&PasskeyEnrollment {
            member_id: other_id,
            name: "copy".to_owned(),
            credential_id: first.credential_id.clone(),
            passkey: first.passkey.clone(),
            max_passkeys: 10,
            step_change: None,
            audit: AuditEntry {
                at: T0,
                actor: "system".to_owned(),
                member_id: Some(other_id),
                action: "test".to_owned(),
                detail: String::new(),
            },
            at: T0,
            keep_flow: None,
        })
        .await;
    assert!(
        matches!(dup, Err(tobira::store::StoreError::CredentialTaken)),
        "{dup:?}"
    );
    assert_eq!(t.store.passkeys(member).await.unwrap().len(), 2);
    t.stop().await;
}

async fn rename_and_remove_but_never_the_last_second_factor(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let (token, _) = demo_enrolled(&t).await;
    let home = c.home(&token).await.unwrap();
    let first = home.second_factors[0].id;
    let e = expect_code(
        c.remove_passkey(&token, first).await,
        ErrorCode::LastSecondFactor,
    );
    assert_eq!(e.step, None);
    // A TOTP id of the same number names nothing: ids are per kind.
    expect_code(
        c.remove_second_factor(&token, first).await,
        ErrorCode::NotFound,
    );

    let mut phone = SoftPasskey::new(true);
    let v = register(c, &token, &mut phone, &c.origin(), "Pixel")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    let home = c.rename_passkey(&token, first, "Office key").await.unwrap();
    let names: Vec<_> = home
        .second_factors
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["Office key", "Pixel"]);
    expect_code(
        c.rename_passkey(&token, first, "PIXEL").await,
        ErrorCode::DeviceNameTaken,
    );
    let home = c.remove_passkey(&token, first).await.unwrap();
    assert_eq!(home.second_factors.len(), 1);
    assert_eq!(home.second_factors[0].name, "Pixel");
    expect_code(c.remove_passkey(&token, first).await, ErrorCode::NotFound);
    let last = home.second_factors[0].id;
    expect_code(
        c.remove_passkey(&token, last).await,
        ErrorCode::LastSecondFactor,
    );

    // The removed passkey no longer signs in; the remaining one does.
    c.sign_out(&token).await.unwrap();
    let (token, v) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::SecondFactor);
    let v = authenticate(c, &token, &mut phone, &c.origin())
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    t.stop().await;
}

async fn ceremonies_expire_and_belong_to_their_step(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    let token = demo_at_passkey_setup(&t).await;
    let mut authr = SoftPasskey::new(true);
    // Sign-in ceremonies only at the second factor.
    expect_code(
        c.start_passkey_authentication(&token).await,
        ErrorCode::OutOfOrder,
    );
    let start = c.start_passkey_registration(&token).await.unwrap();
    assert_eq!(start.expires_in_secs, CEREMONY_TTL_SECS as u64);
    let answer = authr.do_registration(c.origin(), start.options).unwrap();
    // Keep the flow alive while the ceremony runs out.
    t.clock.advance(CEREMONY_TTL_SECS / 2);
    c.flow(&token).await.unwrap();
    t.clock.advance(CEREMONY_TTL_SECS / 2 + 1);
    expect_code(
        c.finish_passkey_registration(&token, answer, "Key").await,
        ErrorCode::CeremonyExpired,
    );
    // Starting again works.
    let v = register(c, &token, &mut authr, &c.origin(), "Key")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    t.stop().await;
}

async fn passkeys_need_the_method_chosen_or_the_top_screen(db: Database) {
    let t = start_on(db).await;
    let c = &t.client;
    // The first login with the authenticator app chosen.
    let token = t.demo_at_credentials().await;
    c.set_credentials(&token, PW, None).await.unwrap();
    let (token, v) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::MethodSetup);
    let e = expect_code(
        c.start_passkey_registration(&token).await,
        ErrorCode::OutOfOrder,
    );
    assert_eq!(e.step, Some(Step::MethodSetup));
    t.stop().await;
}

async fn an_ip_address_public_url_cannot_offer_passkeys(db: Database) {
    let t = start_on(db).await;
    // A second server on the same database whose public URL is an IP address.
    let state = tobira::server::AppState::new(
        t.store.clone(),
        t.mailer.clone(),
        t.clock.clone(),
        tobira::server::ServerSettings {
            public_url: "http://127.0.0.1:9".to_owned(),
            ..test_settings()
        },
        t.key.clone(),
    );
    let listener = tobira::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tobira::server::spawn_on(state, listener).unwrap();
    let ip_client = Client::new(&format!("http://localhost:{port}")).unwrap();
    let token = t.demo_at_credentials().await;
    ip_client
        .choose_method(&token, Method::Passkey)
        .await
        .unwrap();
    ip_client.set_credentials(&token, PW, None).await.unwrap();
    let (token, _) = ip_client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    let e = expect_code(
        ip_client.start_passkey_registration(&token).await,
        ErrorCode::PasskeyUnavailable,
    );
    assert_eq!(e.step, Some(Step::MethodSetup));
    server.shutdown().await;
    t.stop().await;
}

async fn a_burst_of_refused_passkeys_checks_no_more_than_the_free_failures(db: Database) {
    let t = start_on(db).await; // account: 3 free failures
    let c = &t.client;
    let (_, mut authr) = demo_enrolled(&t).await;
    // Another site on the same host name: the authenticator signs, the server refuses.
    let port = Url::parse(&t.url).unwrap().port().unwrap();
    let other = if port == 65535 { port - 1 } else { port + 1 };
    let phishing = Url::parse(&format!("http://localhost:{other}")).unwrap();
    // One ceremony per flow: a flow per guess, each with an answer claiming the wrong origin,
    // and one with the right answer.
    let mut flows = Vec::new();
    for k in 0..=BURST {
        let (token, _) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
        let start = c.start_passkey_authentication(&token).await.unwrap();
        let origin = if k < BURST { &phishing } else { &c.origin() };
        let answer = authr
            .do_authentication(origin.clone(), start.options)
            .expect("the soft authenticator answers");
        flows.push((token, answer));
    }
    let requests: Vec<_> = flows
        .iter()
        .map(|(token, answer)| c.finish_passkey_authentication(token, answer.clone()))
        .collect();
    let tally = burst(requests).await;
    eprintln!("passkey burst: {tally:?}");
    assert!(
        tally.get("passkey_rejected").copied().unwrap_or(0) <= 3,
        "{tally:?}"
    );
    assert!(checked(&tally) <= 4, "{tally:?}");
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test]
    register_at_method_setup_then_sign_in_with_the_passkey,
    #[tokio::test]
    a_wrong_origin_is_rejected_at_registration_and_at_sign_in,
    #[tokio::test]
    user_verification_is_required,
    #[tokio::test]
    re_registration_excludes_the_members_passkeys,
    #[tokio::test]
    rename_and_remove_but_never_the_last_second_factor,
    #[tokio::test]
    ceremonies_expire_and_belong_to_their_step,
    #[tokio::test]
    passkeys_need_the_method_chosen_or_the_top_screen,
    #[tokio::test]
    an_ip_address_public_url_cannot_offer_passkeys,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_refused_passkeys_checks_no_more_than_the_free_failures,
}
