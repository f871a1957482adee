//! The virtual passkey of `tobira script` against the real server: enrolment and sign-in
//! through the client and through the headless TUI's passkey step, and each fault refused —
//! by the authenticator (verification refused) or by the server (not verified, wrong
//! signature) with the member's `passkey_rejected` error.

mod common;

use std::time::Duration;

use common::{DEMO_ID, TestServer, expect_code};
use ratatui::crossterm::event::KeyCode;
use tobira::api::{ErrorCode, Lang, Method, Step};
use tobira::client::{Client, ClientError, FlowToken};
use tobira::passkey::Limits;
use tobira::script::passkey::{PasskeyFault, VirtualPasskey};
use tobira::tui::modes::member::screens::passkey::PasskeyPhase;
use tobira::tui::modes::member::{App, Member, Screen};
use tobira::tui::shell::headless::Headless;
use tobira::tui::{PasskeyRunner, Runtime};
use webauthn_authenticator_rs::WebauthnAuthenticator;

const PW: &str = "N3w-passw0rd!";
/// A bound on every wait of the TUI's ceremony, so that a hang fails instead of blocking.
const DEADLINE: Duration = Duration::from_secs(60);

/// The demo member finished the first login choosing passkeys and signed in again.
async fn at_passkey_setup(t: &TestServer) -> FlowToken {
    let token = t.demo_at_credentials().await;
    t.client
        .choose_method(&token, Method::Passkey)
        .await
        .expect("method");
    t.client
        .set_credentials(&token, PW, None)
        .await
        .expect("credentials");
    let (token, v) = t
        .client
        .sign_in(DEMO_ID, PW, Lang::En)
        .await
        .expect("sign in");
    assert_eq!(v.step, Step::MethodSetup);
    token
}

async fn register(
    c: &Client,
    token: &FlowToken,
    key: &VirtualPasskey,
) -> Result<Result<tobira::api::FlowView, ClientError>, String> {
    let start = c.start_passkey_registration(token).await.expect("options");
    let answer = key
        .backend()
        .do_registration(c.origin(), start.options)
        .map_err(|e| format!("{e:?}"))?;
    Ok(c.finish_passkey_registration(token, answer, "Key").await)
}

async fn authenticate(
    c: &Client,
    token: &FlowToken,
    key: &VirtualPasskey,
) -> Result<Result<tobira::api::FlowView, ClientError>, String> {
    let start = c
        .start_passkey_authentication(token)
        .await
        .expect("options");
    let answer = key
        .backend()
        .do_authentication(c.origin(), start.options)
        .map_err(|e| format!("{e:?}"))?;
    Ok(c.finish_passkey_authentication(token, answer).await)
}

async fn passkeys(t: &TestServer) -> usize {
    let member = t
        .store
        .member_by_user_id(DEMO_ID)
        .await
        .expect("store")
        .expect("demo member");
    t.store.passkeys(member.id).await.expect("passkeys").len()
}

#[tokio::test]
async fn each_fault_is_refused_at_enrolment_then_the_passkey_enrols_and_signs_in() {
    let t = common::start().await;
    let c = &t.client;
    let token = at_passkey_setup(&t).await;
    let key = VirtualPasskey::new();

    // Enrolment: the refused verification stops at the authenticator; the others at the server.
    key.fail_next(PasskeyFault::UserVerificationRefused);
    assert!(register(c, &token, &key).await.is_err(), "the key refuses");
    for fault in [PasskeyFault::UserNotVerified, PasskeyFault::WrongSignature] {
        key.fail_next(fault);
        let answer = register(c, &token, &key).await.expect("the key answers");
        let e = expect_code(answer, ErrorCode::PasskeyRejected);
        assert_eq!(e.step, Some(Step::MethodSetup), "{fault:?}");
    }
    assert_eq!(passkeys(&t).await, 0);
    assert_eq!(key.pending_fault(), None, "each fault is used once");

    let v = register(c, &token, &key)
        .await
        .expect("the key answers")
        .expect("enrolled");
    assert_eq!(v.step, Step::Home);
    assert_eq!(passkeys(&t).await, 1);
    c.sign_out(&token).await.expect("sign out");

    // Sign-in: the same three faults, then the passkey signs in.
    let (token, v) = c.sign_in(DEMO_ID, PW, Lang::En).await.expect("sign in");
    assert_eq!(v.step, Step::SecondFactor);
    key.fail_next(PasskeyFault::UserVerificationRefused);
    assert!(
        authenticate(c, &token, &key).await.is_err(),
        "the key refuses"
    );
    for fault in [PasskeyFault::UserNotVerified, PasskeyFault::WrongSignature] {
        key.fail_next(fault);
        let answer = authenticate(c, &token, &key)
            .await
            .expect("the key answers");
        let e = expect_code(answer, ErrorCode::PasskeyRejected);
        assert_eq!(e.step, Some(Step::SecondFactor), "{fault:?}");
    }
    let v = authenticate(c, &token, &key)
        .await
        .expect("the key answers")
        .expect("signed in");
    assert_eq!(v.step, Step::Home);
    assert_eq!(key.ceremonies(), 8);
    t.stop().await;
}

fn phase(app: &App) -> Option<&PasskeyPhase> {
    match &app.mode.session.screen {
        Screen::Passkey(s) => Some(&s.phase),
        _ => None,
    }
}

fn choosing(app: &App) -> bool {
    matches!(phase(app), Some(PasskeyPhase::Choose(_)))
}

/// The member screens on the headless runtime with the virtual passkey as their authenticator.
async fn screens(t: &TestServer, key: &VirtualPasskey) -> Headless<Member> {
    let limits = Limits {
        connect: Duration::from_millis(300),
        ..Limits::default()
    };
    let runtime = Runtime::new(
        t.client.clone(),
        None,
        PasskeyRunner::new(Some(key.authenticator()), limits),
    );
    Headless::new(App::new(Lang::En, false), runtime)
}

async fn sign_in(h: &mut Headless<Member>) {
    h.press(KeyCode::Enter).await; // welcome → sign-in
    h.type_text(DEMO_ID).await;
    h.press(KeyCode::Tab).await;
    h.type_text(PW).await;
    h.press(KeyCode::Enter).await;
}

/// The screens' passkey step (the soft authenticator is the first, focused choice): waits for
/// the choice, presses Enter, and waits until the ceremony has ended one way or the other.
async fn use_the_passkey(h: &mut Headless<Member>, key: &VirtualPasskey) {
    h.until("the transport choice", DEADLINE, choosing).await;
    let before = key.ceremonies();
    h.press(KeyCode::Enter).await;
    let key = key.clone();
    h.until("the ceremony's end", DEADLINE, move |a| {
        key.ceremonies() > before && !matches!(phase(a), Some(PasskeyPhase::Waiting))
    })
    .await;
}

#[tokio::test]
async fn the_screens_enrol_with_it_and_show_the_clear_error_for_a_wrong_signature() {
    let t = common::start().await;
    let key = VirtualPasskey::new();
    let token = at_passkey_setup(&t).await;
    t.client.sign_out(&token).await.expect("sign out");
    let mut h = screens(&t, &key).await;
    sign_in(&mut h).await;
    assert_eq!(h.app.mode.session.screen.name(), "passkey");
    use_the_passkey(&mut h, &key).await;
    h.until("the naming step", DEADLINE, |a| {
        matches!(phase(a), Some(PasskeyPhase::Naming))
    })
    .await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    assert_eq!(passkeys(&t).await, 1);

    // Signing in again: the wrong signature is refused with the member's message, and the
    // passkey works on the next try.
    let token = h.app.mode.session.token.clone().expect("signed in");
    t.client.sign_out(&token).await.expect("sign out");
    let mut h = screens(&t, &key).await;
    sign_in(&mut h).await;
    key.fail_next(PasskeyFault::WrongSignature);
    use_the_passkey(&mut h, &key).await;
    h.until("the refusal", DEADLINE, |a| a.shell.banner.is_some())
        .await;
    assert_eq!(
        h.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("err.passkey_rejected")
    );
    assert_ne!(h.app.mode.session.screen.name(), "home");
    if !choosing(&h.app) {
        // Back at the second-factor choice: the passkey is offered again.
        h.press(KeyCode::Enter).await;
    }
    use_the_passkey(&mut h, &key).await;
    h.until("the top screen", DEADLINE, |a| {
        a.mode.session.screen.name() == "home"
    })
    .await;
    t.stop().await;
}
