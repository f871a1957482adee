mod common;

use std::sync::Arc;

use common::staff::enrol_staff;
use ratatui::crossterm::event::KeyCode;
use tobira::api::Lang;
use tobira::client::staff_keyring::{KeptSession, StaffKeyring};
use tobira::domain::StaffRole;
use tobira::passkey::Limits;
use tobira::tui::modes::staff::{self, Staff};
use tobira::tui::shell::headless::Headless;
use tobira::tui::{PasskeyRunner, Runtime};

#[tokio::test]
async fn verify_with_knowledge_then_unlock_and_a_stale_view() {
    let server = common::start().await;
    let token = enrol_staff(&server, "sato", StaffRole::Helpdesk).await;
    let keyring = Arc::new(StaffKeyring::in_memory());
    keyring
        .save(&KeptSession {
            login: "sato".into(),
            token: zeroize::Zeroizing::new(token),
            expires_at: common::T0 + 8 * 3600,
        })
        .unwrap();
    // Failures first.
    for _ in 0..2 {
        let _ = server
            .client
            .sign_in(common::DEMO_ID, "wrong-password", Lang::Ja)
            .await;
    }
    let (app, first) = staff::app_with_clock(Lang::En, keyring, || common::T0 + 3600);
    let rt = Runtime::new(
        server.client.clone(),
        None,
        PasskeyRunner::new(None, Limits::default()),
    );
    let mut h: Headless<Staff> = Headless::new(app, rt);
    h.run(first).await;
    h.type_text(common::DEMO_ID).await;
    h.ticks(1).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.screen.name(), "case", "{:?}", h.app.shell.banner);
    println!(
        "{}",
        tobira::tui::testing::render_text(&h.app, 120, 40, true)
    );
    // Verify: knowledge.
    h.press(KeyCode::Enter).await;
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await;
    h.type_text("19801201").await;
    h.press(KeyCode::Tab).await;
    h.type_text("3456789").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.screen.name(), "case", "{:?}", h.app.shell.banner);
    let v = h.app.mode.screen.case().unwrap().case.verification.clone();
    println!("verification {v:?}");
    assert!(v.is_some());
    // Remove is locked (knowledge); Unlock opens.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        h.app.mode.screen.name(),
        "action",
        "{:?}",
        h.app.shell.banner
    );
    // Stale: another failure meanwhile.
    let _ = server
        .client
        .sign_in(common::DEMO_ID, "wrong-password", Lang::Ja)
        .await;
    h.type_text("caller locked out").await;
    h.press(KeyCode::Enter).await;
    println!(
        "after stale: {:?} {:?}",
        h.app.mode.screen.name(),
        h.app.shell.banner
    );
    assert_eq!(h.app.mode.screen.name(), "case");
    assert_eq!(
        h.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("err.stale_view")
    );
    // Again on the reloaded view.
    h.press(KeyCode::Enter).await;
    assert_eq!(
        h.app.mode.screen.name(),
        "action",
        "{:?}",
        h.app.shell.banner
    );
    h.type_text("caller locked out").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.screen.name(), "case", "{:?}", h.app.shell.banner);
    assert_eq!(
        h.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("staff.action.done")
    );
    let c = &h.app.mode.screen.case().unwrap().case;
    assert_eq!(c.lockout.failures, 0);
    println!(
        "{}",
        tobira::tui::testing::render_text(&h.app, 120, 40, true)
    );
    server.stop().await;
}
