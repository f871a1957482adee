//! The staff console driven by key events against a real server (ephemeral port, SQLite): the
//! staff account made the way `tobira admin staff add` makes it, then the enrolment (the QR
//! code read off the screen as a phone would, the password, the app's code) and a sign-in with
//! login, password and a later code — every request over HTTP through the real client and the
//! real staff routes. The kept session goes to a memory keyring and is used on the next start.
//! A staff member may enrol with a passkey instead (the soft authenticator) and sign in with it.

mod common;

use std::sync::Arc;

use common::TestServer;
use ratatui::crossterm::event::KeyCode;
use tobira::api::Lang;
use tobira::client::staff_keyring::StaffKeyring;
use tobira::domain::StaffRole;
use tobira::passkey::{Limits, PasskeyTransport, SoftAuthenticator};
use tobira::tui::modes::staff::{self, Staff};
use tobira::tui::shell::headless::Headless;
use tobira::tui::shell::passkey_view::PasskeyPhase;
use tobira::tui::testing::render_buffer;
use tobira::tui::widgets::qr::QrStyle;
use tobira::tui::{PasskeyRunner, Runtime};

const PASSWORD: &str = "Helpdesk-2026!";

async fn console(server: &TestServer, keyring: Arc<StaffKeyring>) -> Headless<Staff> {
    // The kept session's end is checked against the server's (manual) clock.
    let (app, first) = staff::app_with_clock(Lang::En, keyring, || common::T0 + 3600);
    let runtime = Runtime::new(
        server.client.clone(),
        None,
        PasskeyRunner::new(None, Limits::default()),
    );
    let mut h = Headless::new(app, runtime);
    h.run(first).await;
    h
}

fn screen(h: &Headless<Staff>) -> &'static str {
    h.app.mode.screen.name()
}

/// The code the staff member's phone shows now on the server's clock.
fn phone_code(server: &TestServer, uri: &str) -> String {
    let totp = totp_rs::Totp::from_url(uri).expect("the app accepts the otpauth URI");
    let now = tobira::server::Clock::now(server.clock.as_ref());
    totp.generate(u64::try_from(now).expect("after 1970"))
        .to_string()
}

#[tokio::test]
async fn enrolment_then_sign_in_through_the_real_staff_routes() {
    let server = common::start().await;
    let now = tobira::server::Clock::now(server.clock.as_ref());
    let issued = tobira::staff_admin::add(
        server.store.as_ref(),
        &server.key,
        "suzuki",
        StaffRole::Helpdesk,
        Some("Suzuki Hanako"),
        now,
    )
    .await
    .expect("the account is added");
    let keyring = Arc::new(StaffKeyring::in_memory());
    let mut h = console(&server, Arc::clone(&keyring)).await;
    assert_eq!(screen(&h), "sign_in");

    // Enrolment: login and the one-time code.
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol");
    h.type_text("Suzuki").await;
    h.press(KeyCode::Tab).await;
    h.type_text(&issued.code).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol_qr", "{:?}", h.app.shell.banner);
    // The phone scans the code off a large screen.
    let uri =
        tobira::script::phone::read_qr_as(&render_buffer(&h.app, 120, 40), QrStyle::HalfBlocks)
            .expect("the QR code reads");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol_finish");
    h.type_text(PASSWORD).await;
    h.press(KeyCode::Tab).await;
    h.type_text(PASSWORD).await;
    h.press(KeyCode::Tab).await;
    h.type_text(&phone_code(&server, &uri)).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "search", "{:?}", h.app.shell.banner);
    let me = h.app.mode.session.me.clone().expect("signed in");
    assert_eq!(me.login, "suzuki");
    assert_eq!(me.display_name, "Suzuki Hanako");
    let kept = keyring.load(now).unwrap().expect("kept");
    assert!(kept.token.starts_with("tbs_"));

    // The next start uses the kept session (checked with /me).
    let h2 = console(&server, Arc::clone(&keyring)).await;
    assert_eq!(screen(&h2), "search");
    assert_eq!(h2.app.mode.session.me.as_ref().unwrap().login, "suzuki");

    // Sign out from the console: the server ends it, the keyring forgets it.
    let mut h = h2;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "sign_in", "{:?}", h.app.shell.banner);
    assert!(keyring.load(now).unwrap().is_none());
    let old = tobira::client::StaffToken::new(kept.token.as_str());
    let refused = server
        .client
        .staff_me(&old)
        .await
        .expect_err("the session ended");
    assert_eq!(
        refused.code(),
        Some(tobira::api::ErrorCode::StaffSessionExpired)
    );

    // Sign in with login and password, then a later code (each code works once).
    server.clock.advance(30);
    h.type_text("suzuki").await;
    h.press(KeyCode::Tab).await;
    h.type_text("not the password").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        h.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("staff.err.invalid_credentials")
    );
    for _ in 0.."not the password".len() {
        h.press(KeyCode::Backspace).await;
    }
    h.type_text(PASSWORD).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "sign_in_code", "{:?}", h.app.shell.banner);
    h.type_text("000000").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "sign_in_code");
    assert!(
        !h.app.mode.session.errors.is_empty(),
        "a wrong code is said at the field"
    );
    h.type_text(&phone_code(&server, &uri)).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "search", "{:?}", h.app.shell.banner);
    assert!(keyring.load(now).unwrap().is_some());
    server.stop().await;
}

/// Search as the staff member types, open the member, and follow them live while they sign in
/// on their own terminal: the real search, case and event-stream routes (merged from
/// helpdesk-view) through the real client.
#[tokio::test]
async fn search_open_and_follow_a_member_live_on_the_real_server() {
    use common::staff::enrol_staff;
    let server = common::start().await;
    let token = enrol_staff(&server, "sato", StaffRole::Helpdesk).await;
    let keyring = Arc::new(StaffKeyring::in_memory());
    keyring
        .save(&tobira::client::staff_keyring::KeptSession {
            login: "sato".into(),
            token: zeroize::Zeroizing::new(token),
            expires_at: common::T0 + 8 * 3600,
        })
        .unwrap();
    let mut h = console(&server, keyring).await;
    assert_eq!(screen(&h), "search", "{:?}", h.app.shell.banner);

    // Type-ahead: one search on the next tick, for what the field holds then.
    h.type_text("demo000").await;
    h.ticks(1).await;
    let text = tobira::tui::testing::render_text(&h.app, 120, 40, true);
    assert!(text.contains(common::DEMO_ID), "{text}");
    // No match says so.
    h.type_text("zzzz").await;
    h.ticks(1).await;
    let text = tobira::tui::testing::render_text(&h.app, 120, 40, true);
    assert!(text.contains("No member matches \"demo000zzzz\""), "{text}");
    for _ in 0..4 {
        h.press(KeyCode::Backspace).await;
    }
    h.ticks(1).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "case", "{:?}", h.app.shell.banner);
    let case = &h.app.mode.screen.case().unwrap().case;
    assert_eq!(case.user_id, common::DEMO_ID);
    assert_eq!(case.lockout.failures, 0);
    let text = tobira::tui::testing::render_text(&h.app, 120, 40, true);
    assert!(text.contains("Sign-in: no failures"), "{text}");
    assert!(text.contains("Caller not verified"), "{text}");

    // The caller mistypes the password on their own terminal meanwhile: the stream says the
    // case changed, the console reloads it and shows it was updated.
    let refused = server
        .client
        .sign_in(common::DEMO_ID, "not-the-password", Lang::Ja)
        .await;
    assert!(refused.is_err());
    h.until(
        "the live reload",
        std::time::Duration::from_secs(15),
        |app| {
            app.mode
                .screen
                .case()
                .is_some_and(|c| c.case.lockout.failures > 0)
        },
    )
    .await;
    let text = tobira::tui::testing::render_text(&h.app, 120, 40, true);
    assert!(text.contains("* updated"), "{text}");
    assert!(text.contains("Sign-in: 1 failure;"), "{text}");
    server.stop().await;
}

/// A console whose runtime offers `soft` as the passkey authenticator.
async fn console_with(
    server: &TestServer,
    keyring: Arc<StaffKeyring>,
    soft: SoftAuthenticator,
) -> Headless<Staff> {
    let (app, first) = staff::app_with_clock(Lang::En, keyring, || common::T0 + 3600);
    let runtime = Runtime::new(
        server.client.clone(),
        None,
        PasskeyRunner::new(Some(soft), Limits::default()),
    );
    let mut h = Headless::new(app, runtime);
    h.run(first).await;
    h
}

fn passkey_phase(h: &Headless<Staff>) -> Option<&PasskeyPhase> {
    match &h.app.mode.screen {
        staff::Screen::Passkey(s) => Some(&s.phase),
        _ => None,
    }
}

/// Waits for the transport choice and takes the first usable one (the soft authenticator is
/// the only one on a test machine).
async fn choose_soft(h: &mut Headless<Staff>) {
    h.until("the transport choice", PASSKEY_WAIT, |a| {
        matches!(&a.mode.screen, staff::Screen::Passkey(s) if matches!(s.phase, PasskeyPhase::Choose(_)))
    })
    .await;
    let Some(PasskeyPhase::Choose(report)) = passkey_phase(h) else {
        unreachable!()
    };
    assert!(report.is_usable(PasskeyTransport::Soft));
    h.press(KeyCode::Enter).await;
}

const PASSKEY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Enrolment with a passkey instead of the app, sign-out, sign-in with the passkey; then an
/// authenticator that does not hold the passkey is refused with a clear message.
#[tokio::test]
async fn enrol_with_a_passkey_sign_out_and_sign_in_with_it() {
    let server = common::start().await;
    let now = tobira::server::Clock::now(server.clock.as_ref());
    let issued = tobira::staff_admin::add(
        server.store.as_ref(),
        &server.key,
        "tanaka",
        StaffRole::Helpdesk,
        Some("Tanaka Jiro"),
        now,
    )
    .await
    .expect("the account is added");
    let soft = SoftAuthenticator::in_memory();
    let keyring = Arc::new(StaffKeyring::in_memory());
    let mut h = console_with(&server, Arc::clone(&keyring), soft.clone()).await;

    // Enrolment code, then "a passkey instead" on the app's screen.
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await;
    h.type_text("tanaka").await;
    h.press(KeyCode::Tab).await;
    h.type_text(&issued.code).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol_qr", "{:?}", h.app.shell.banner);
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol_passkey_password");
    // Passwords that differ are stopped here, before any ceremony.
    h.type_text(PASSWORD).await;
    h.press(KeyCode::Tab).await;
    h.type_text("something else").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol_passkey_password");
    assert!(!h.app.mode.session.errors.is_empty());
    for _ in 0.."something else".len() {
        h.press(KeyCode::Backspace).await;
    }
    h.type_text(PASSWORD).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "passkey");
    choose_soft(&mut h).await;
    h.until("signed in", PASSKEY_WAIT, |a| {
        a.mode.screen.name() == "search"
    })
    .await;
    assert_eq!(h.app.mode.session.me.as_ref().unwrap().login, "tanaka");
    let account = server
        .store
        .staff_by_login("tanaka")
        .await
        .unwrap()
        .expect("the account");
    let keys = server.store.staff_passkeys(account.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "Test passkey");
    assert!(keyring.load(now).unwrap().is_some());

    // Sign out from the console.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "sign_in", "{:?}", h.app.shell.banner);
    assert!(keyring.load(now).unwrap().is_none());

    // Sign in: after the password the console asks for the passkey at once (no app).
    h.type_text("tanaka").await;
    h.press(KeyCode::Tab).await;
    h.type_text(PASSWORD).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "passkey", "{:?}", h.app.shell.banner);
    choose_soft(&mut h).await;
    h.until("signed in again", PASSKEY_WAIT, |a| {
        a.mode.screen.name() == "search"
    })
    .await;
    assert!(keyring.load(now).unwrap().is_some());
    let keys = server.store.staff_passkeys(account.id).await.unwrap();
    assert!(keys[0].last_used_at.is_some());

    // Another authenticator (without the passkey): the ceremony is refused and says so.
    let other = Arc::new(StaffKeyring::in_memory());
    let mut h2 = console_with(&server, Arc::clone(&other), SoftAuthenticator::in_memory()).await;
    h2.type_text("tanaka").await;
    h2.press(KeyCode::Tab).await;
    h2.type_text(PASSWORD).await;
    h2.press(KeyCode::Enter).await;
    assert_eq!(screen(&h2), "passkey");
    choose_soft(&mut h2).await;
    h2.until("the refusal", PASSKEY_WAIT, |a| {
        matches!(&a.mode.screen, staff::Screen::Passkey(s) if matches!(s.phase, PasskeyPhase::Failed(_)))
    })
    .await;
    let text = tobira::tui::testing::render_text(&h2.app, 80, 24, true);
    let Some(PasskeyPhase::Failed(e)) = passkey_phase(&h2) else {
        unreachable!()
    };
    let msg = tobira::tui::i18n::t(Lang::En, e.message_key());
    assert!(text.contains(&msg[..20]), "{text}");
    assert!(h2.app.mode.session.token.is_none());
    assert!(other.load(now).unwrap().is_none());
    // Cancel leads back to the sign-in (the account has no app).
    h2.press(KeyCode::Esc).await;
    assert_eq!(screen(&h2), "sign_in");
    server.stop().await;
}
