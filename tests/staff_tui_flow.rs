//! The staff console's flows on the headless runtime against the fake helpdesk (each request
//! answered before the next key; the live watch runs beside, as it does on a terminal): sign-in
//! with the app's code, enrolment, the kept session and the keyring fallback, type-ahead
//! search, a case, verifying the caller, an action with its reason, a stale view.

use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::KeyCode;
use tobira::api::Lang;
use tobira::api::helpdesk::{CallerProof, StaffAction};
use tobira::client::staff_keyring::StaffKeyring;
use tobira::tui::modes::staff::{self, Screen, Staff, StaffCall};
use tobira::tui::testing::Headless;
use tobira::tui::testing::staff::{
    ENROL_CODE, FakeHelpdesk, MEMBER_APP_CODE, NOW, PASS, STAFF_CODE, headless, kept,
};

type Driver = Headless<Staff, FakeHelpdesk>;

async fn start(keyring: Arc<StaffKeyring>, fake: FakeHelpdesk) -> Driver {
    let (app, first) = staff::app_with_clock(Lang::En, keyring, || NOW);
    headless(app, first, fake).await
}

fn screen(h: &Driver) -> &'static str {
    h.app.mode.screen.name()
}

fn banner(h: &Driver) -> Option<&'static str> {
    h.app.shell.banner.as_ref().map(|b| b.msg.key)
}

fn field_error(h: &Driver, field: staff::Field) -> Option<&'static str> {
    h.app
        .mode
        .session
        .errors
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, t)| t.key)
}

/// Signs in as `sato` with the password and the app's code.
async fn sign_in(h: &mut Driver) {
    assert_eq!(screen(h), "sign_in");
    h.type_text("sato").await;
    h.press(KeyCode::Tab).await;
    h.type_text("correct horse").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(h), "sign_in_code");
    h.type_text(STAFF_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(h), "search", "{:?}", h.app.shell.banner);
}

/// Types `q` and lets a tick pass (the debounce), then opens the first hit.
async fn open(h: &mut Driver, q: &str) {
    h.type_text(q).await;
    h.ticks(2).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(h), "case", "{:?}", h.app.shell.banner);
}

/// Opens yamada01 and verifies the caller with their app's code.
async fn open_verified(h: &mut Driver) {
    open(h, "yamada").await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Enter).await;
    h.type_text(MEMBER_APP_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(h), "case");
}

async fn signed_in() -> Driver {
    let mut h = start(Arc::new(StaffKeyring::in_memory()), FakeHelpdesk::new()).await;
    sign_in(&mut h).await;
    h
}

#[tokio::test]
async fn sign_in_with_password_then_code_keeps_the_session() {
    let keyring = Arc::new(StaffKeyring::in_memory());
    let mut h = start(Arc::clone(&keyring), FakeHelpdesk::new()).await;
    // No keyring service: said once, at the start.
    assert_eq!(banner(&h), Some("staff.keyring_memory"));
    // A wrong password stays on the first half with the staff wording.
    h.type_text("sato").await;
    h.press(KeyCode::Tab).await;
    h.type_text("wrong").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "sign_in");
    assert_eq!(banner(&h), Some("staff.err.invalid_credentials"));
    // The right one, a wrong code (kept on the code), then the right code.
    for _ in 0..5 {
        h.press(KeyCode::Backspace).await;
    }
    h.type_text("correct horse").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "sign_in_code");
    h.type_text("000000").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        field_error(&h, staff::Field::Code),
        Some("staff.err.wrong_code")
    );
    h.type_text(STAFF_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "search");
    let me = h.app.mode.session.me.as_ref().unwrap();
    assert_eq!(me.login, "sato");
    // The session went into the keyring (memory here); the notice is not repeated.
    let k = keyring
        .load(tobira::tui::testing::staff::NOW)
        .unwrap()
        .unwrap();
    assert_eq!(k.login, "sato");
    assert_ne!(banner(&h), Some("staff.keyring_memory"));
    // No password or code in the fake's log.
    let log = h.helpdesk().log().join("\n");
    assert!(
        !log.contains("correct horse") && !log.contains(STAFF_CODE),
        "{log}"
    );
}

#[tokio::test]
async fn a_kept_session_is_used_and_a_refused_one_forgotten() {
    let fake = FakeHelpdesk::new();
    // A session the server knows: straight to the search.
    fake.state()
        .sessions
        .push(("tbs_kept".into(), "sato".into(), true));
    let keyring = Arc::new(StaffKeyring::in_memory());
    keyring.save(&kept("sato", "tbs_kept")).unwrap();
    let h = start(Arc::clone(&keyring), fake.clone()).await;
    assert_eq!(screen(&h), "search");
    assert_eq!(h.app.mode.session.me.as_ref().unwrap().login, "sato");
    // The server ended it: the console says so, forgets it and asks to sign in.
    fake.end_sessions();
    let h = start(Arc::clone(&keyring), fake).await;
    assert_eq!(screen(&h), "sign_in");
    assert_eq!(banner(&h), Some("err.staff_session_expired"));
    assert!(keyring.load(0).unwrap().is_none());
}

#[tokio::test]
async fn an_expired_session_mid_shift_leads_to_the_sign_in_with_a_message() {
    let mut h = signed_in().await;
    h.helpdesk().end_sessions();
    h.type_text("yamada").await;
    h.ticks(2).await;
    assert_eq!(screen(&h), "sign_in");
    assert_eq!(banner(&h), Some("err.staff_session_expired"));
    assert!(h.app.mode.session.token.is_none());
}

#[tokio::test]
async fn enrolment_shows_the_app_then_sets_the_password_and_signs_in() {
    let keyring = Arc::new(StaffKeyring::in_memory());
    let mut h = start(Arc::clone(&keyring), FakeHelpdesk::new()).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol");
    h.type_text("suzuki").await;
    h.press(KeyCode::Tab).await;
    h.type_text("WRONG-CODE").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(banner(&h), Some("err.invalid_enrolment_code"));
    assert_eq!(screen(&h), "enrol");
    for _ in 0..10 {
        h.press(KeyCode::Backspace).await;
    }
    h.type_text(ENROL_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol_qr");
    // Can't scan: the key to type.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol_key");
    assert!(h.text(80, 24, true).contains("JBSW Y3DP"));
    h.press(KeyCode::BackTab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "enrol_finish");
    h.type_text("new-staff-pw").await;
    h.press(KeyCode::Tab).await;
    h.type_text("new-staff-pX").await;
    h.press(KeyCode::Tab).await;
    h.type_text(STAFF_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        field_error(&h, staff::Field::Confirm),
        Some("err.confirm_mismatch")
    );
    h.press(KeyCode::BackTab).await;
    h.press(KeyCode::Backspace).await;
    h.type_text("w").await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "search", "{:?}", h.app.shell.banner);
    assert_eq!(h.app.mode.session.me.as_ref().unwrap().login, "suzuki");
    assert!(keyring.load(0).unwrap().is_some());
}

#[tokio::test]
async fn search_follows_the_typing_pages_and_drops_stale_answers() {
    let mut h = signed_in().await;
    // Typing does not search at each key; the next tick searches once for what is there.
    h.type_text("田中").await;
    let searches = |h: &Driver| {
        h.helpdesk()
            .log()
            .iter()
            .filter(|l| l.starts_with("Search"))
            .count()
    };
    assert_eq!(searches(&h), 0);
    h.ticks(1).await;
    assert_eq!(searches(&h), 1);
    h.ticks(3).await;
    assert_eq!(searches(&h), 1, "no new search without typing");
    let s = match &h.app.mode.screen {
        Screen::Search(s) => s.clone(),
        _ => unreachable!(),
    };
    assert_eq!(s.hits(), 5);
    assert!(s.results.as_ref().unwrap().1.more);
    // PgDn: the next page; PgUp back.
    h.press(KeyCode::PageDown).await;
    let page = |h: &Driver| match &h.app.mode.screen {
        Screen::Search(s) => s.results.as_ref().map(|(_, p)| p.page),
        _ => None,
    };
    assert_eq!(page(&h), Some(1));
    h.press(KeyCode::PageUp).await;
    assert_eq!(page(&h), Some(0));
    // An answer for an older query is dropped: the field moved on meanwhile.
    let stale = tobira::tui::modes::staff::Reply::Found {
        query: "田".into(),
        page: tobira::api::helpdesk::MemberSearchPage {
            read_as: "name".into(),
            hits: Vec::new(),
            page: 0,
            more: false,
        },
    };
    let cmds = h.app.update(tobira::tui::shell::app::Msg::Response {
        seq: 9_999,
        result: Ok(stale),
    });
    assert!(cmds.is_empty());
    assert_eq!(page(&h), Some(0));
    // No match.
    for _ in 0..2 {
        h.press(KeyCode::Backspace).await;
    }
    h.type_text("zzz").await;
    h.ticks(2).await;
    assert!(h.text(80, 24, true).contains("No member matches \"zzz\""));
}

/// A member who never signed in rests at the terms; the result row says so, as the case does.
#[tokio::test]
async fn a_member_who_never_signed_in_is_listed_as_such() {
    let mut h = signed_in().await;
    h.helpdesk().update("yamada01", |m| {
        m.step = tobira::api::Step::Terms;
        m.situation = tobira::api::helpdesk::CaseSituation::NotStarted;
    });
    h.type_text("yamada01").await;
    h.ticks(2).await;
    let text = h.text(120, 40, true);
    let row = text
        .lines()
        .find(|l| l.contains("yamada01") && !l.contains("Search"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("[not signed in yet]"), "{row}");
    assert!(!row.contains("Terms"), "{row}");
}

#[tokio::test]
async fn the_case_follows_the_member_live() {
    let mut h = signed_in().await;
    open(&mut h, "yamada").await;
    let text = h.text(120, 40, true);
    assert!(
        text.contains(
            "waiting for the verification link for 2 days; 3 mails delivered, none opened"
        ),
        "{text}"
    );
    // The member opens the link meanwhile: the watch sees the new version, the case reloads.
    h.helpdesk().update("yamada01", |m| {
        m.email_verified = true;
        m.step = tobira::api::Step::ChooseMethod;
        m.situation = tobira::api::helpdesk::CaseSituation::InFirstLogin { for_secs: 5 };
    });
    h.until("the live reload", Duration::from_secs(5), |app| {
        app.mode
            .screen
            .case()
            .is_some_and(|c| c.case.email_verified)
    })
    .await;
    let text = h.text(120, 40, true);
    assert!(text.contains("* updated"), "{text}");
    h.ticks(staff::UPDATED_SECS + 1).await;
    assert!(!h.text(120, 40, true).contains("* updated"));
}

/// The watch reports the console's own verification and action too: the case on screen already
/// shows that version, so it is neither fetched again nor marked "* updated".
#[tokio::test]
async fn the_consoles_own_changes_are_not_shown_as_live_ones() {
    let mut h = signed_in().await;
    let fake = h.helpdesk().clone();
    let count = move |prefix: &str| fake.log().iter().filter(|l| l.starts_with(prefix)).count();
    open(&mut h, "yamada").await;
    for round in ["verification", "action"] {
        let watches = count("Watch(");
        if round == "verification" {
            h.press(KeyCode::Enter).await;
            h.press(KeyCode::Enter).await;
            h.type_text(MEMBER_APP_CODE).await;
        } else {
            h.press(KeyCode::Tab).await; // Unlock
            h.press(KeyCode::Enter).await;
            assert_eq!(screen(&h), "action");
            h.type_text("locked out on the phone").await;
        }
        h.press(KeyCode::Enter).await;
        assert_eq!(screen(&h), "case", "{round}");
        let cases = count("Case(");
        // The watch answered with the new version and was opened again from it.
        let c = count.clone();
        h.until(
            "the watch saw the change",
            Duration::from_secs(5),
            move |_| c("Watch(") > watches,
        )
        .await;
        h.ticks(2).await;
        assert_eq!(count("Case("), cases, "{round}: fetched again");
        let text = h.text(120, 40, true);
        assert!(!text.contains("* updated"), "{round}: {text}");
    }
}

#[tokio::test]
async fn actions_wait_for_the_verification_then_ask_for_a_reason() {
    let mut h = signed_in().await;
    open(&mut h, "yamada").await;
    // Locked: the reason instead of the dialog.
    h.press(KeyCode::Tab).await; // Unlock
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "case");
    assert_eq!(banner(&h), Some("staff.locked.not_verified"));
    // Verify with the member's app code.
    h.press(KeyCode::BackTab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "verify");
    h.press(KeyCode::Enter).await; // App code
    assert_eq!(screen(&h), "verify_way");
    h.type_text("111111").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        field_error(&h, staff::Field::Code),
        Some("staff.err.wrong_code")
    );
    h.type_text(MEMBER_APP_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "case");
    let v = h
        .app
        .mode
        .screen
        .case()
        .unwrap()
        .case
        .verification
        .clone()
        .unwrap();
    assert_eq!(v.proof, CallerProof::AppCode);
    assert!(
        h.text(120, 40, true)
            .contains("Verified: App code, 15 min left")
    );
    // Unlock: the reason is required, then it is done with the case's version.
    let version = h.app.mode.screen.case().unwrap().case.version.clone();
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "action");
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await; // Confirm without a reason
    assert_eq!(
        field_error(&h, staff::Field::Reason),
        Some("staff.action.reason_required")
    );
    h.press(KeyCode::BackTab).await;
    h.type_text("locked out on the phone").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "case");
    assert_eq!(banner(&h), Some("staff.action.done"));
    let case = h.helpdesk().case("yamada01").unwrap();
    assert_eq!(case.lockout.failures, 0);
    assert_eq!(case.audit[0].detail, "locked out on the phone");
    assert!(
        h.helpdesk()
            .log()
            .iter()
            .any(|l| l.contains("Act(yamada01") && l.contains(&version)),
        "the action carried the version it was made on"
    );
}

#[tokio::test]
async fn knowledge_unlocks_only_the_low_risk_actions() {
    let mut h = signed_in().await;
    open(&mut h, "yamada").await;
    h.press(KeyCode::Enter).await; // Verify
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await; // Knowledge
    h.type_text("19801201").await;
    h.press(KeyCode::Tab).await;
    h.type_text("3456789").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "case", "{:?}", h.app.shell.banner);
    let c = h.app.mode.screen.case().unwrap();
    assert_eq!(c.locked(StaffAction::Unlock, h.app.shell.ticks), None);
    assert_eq!(
        c.locked(StaffAction::RemoveFactor, h.app.shell.ticks),
        Some("staff.locked.too_weak")
    );
}

#[tokio::test]
async fn a_stale_view_reloads_and_shows_what_changed() {
    let mut h = signed_in().await;
    open_verified(&mut h).await;
    // Remove the app; the dialog opens on the current version.
    for _ in 0..4 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "action");
    // Meanwhile the member adds a second app (the watch has not reloaded the dialog's copy).
    h.helpdesk().update("yamada01", |m| {
        let mut f = m.factors[0].clone();
        f.id = 8;
        f.name = "Android".into();
        m.factors.push(f);
    });
    h.type_text("lost phone").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "case");
    assert_eq!(banner(&h), Some("err.stale_view"));
    let c = h.app.mode.screen.case().unwrap();
    assert_eq!(c.case.factors.len(), 2, "reloaded");
    assert_eq!(c.changes, vec!["staff.changed.factors"]);
    assert!(
        h.text(120, 40, true)
            .contains("Changed meanwhile: sign-in methods")
    );
    assert_eq!(
        h.helpdesk().case("yamada01").unwrap().factors.len(),
        2,
        "nothing removed"
    );
}

#[tokio::test]
async fn the_enrolment_pass_is_shown_once() {
    let mut h = signed_in().await;
    open_verified(&mut h).await;
    for _ in 0..6 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await;
    h.type_text("new phone, no factor").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "pass");
    let text = h.text(80, 24, true);
    assert!(text.contains(" A  C  D  E  F     3  4  6  7  9 "), "{text}");
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "case");
    assert!(!h.text(120, 40, true).contains(&PASS[..5]));
    assert!(!format!("{:?}", h.app.mode).contains(PASS));
}

#[tokio::test]
async fn sign_out_forgets_the_kept_session() {
    let keyring = Arc::new(StaffKeyring::in_memory());
    let mut h = start(Arc::clone(&keyring), FakeHelpdesk::new()).await;
    sign_in(&mut h).await;
    assert!(keyring.load(0).unwrap().is_some());
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "sign_in");
    assert_eq!(banner(&h), Some("staff.signed_out"));
    assert!(keyring.load(0).unwrap().is_none());
    let _ = StaffCall::Forget(keyring);
}

#[tokio::test]
async fn mouse_clicks_open_a_row_and_press_buttons() {
    use tobira::tui::shell::app::Msg;
    use tobira::tui::shell::form::Target;
    let mut h = signed_in().await;
    h.type_text("田中").await;
    h.ticks(1).await;
    // The third row, as the drawing recorded it.
    let hits = tobira::tui::testing::render_hits(&h.app, 80, 24);
    assert!(hits.iter().any(|x| x.target == Target::Row(2)));
    h.send(Msg::Click(Target::Row(2))).await;
    assert_eq!(screen(&h), "case");
    assert_eq!(h.app.mode.screen.case().unwrap().case.user_id, "tanaka02");
    // The "Search" button of the case (its last item) goes back.
    let last = tobira::tui::modes::staff::screens::case::BUTTONS.len() - 1;
    h.send(Msg::Click(Target::Item(last))).await;
    assert_eq!(screen(&h), "search");
}

#[tokio::test]
async fn refusals_get_their_own_messages() {
    use tobira::api::ErrorCode;
    let mut h = signed_in().await;
    open(&mut h, "yamada").await;
    h.helpdesk().state().fail_next = Some(ErrorCode::InsufficientRole);
    h.press(KeyCode::Left).await; // the focus wraps to Search; Left again to Reload
    h.press(KeyCode::Left).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(banner(&h), Some("staff.err.insufficient_role"));
    h.helpdesk().state().fail_next = Some(ErrorCode::NotFound);
    h.press(KeyCode::Enter).await;
    assert_eq!(banner(&h), Some("staff.err.no_member"));
    // The server refuses an action the console thought unlocked: the caller must be verified.
    open_verified_again(&mut h).await;
    h.helpdesk().state().fail_next = Some(ErrorCode::CallerNotVerified);
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    h.type_text("caller asked").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(banner(&h), Some("err.caller_not_verified"));
    assert_eq!(screen(&h), "action", "the reason stays for another try");
}

/// Verifies the caller on the open case.
async fn open_verified_again(h: &mut Driver) {
    h.press(KeyCode::Esc).await;
    assert_eq!(screen(h), "search");
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(h), "case");
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Enter).await;
    h.type_text(MEMBER_APP_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(h), "case");
}

#[tokio::test]
async fn a_live_change_under_an_open_action_is_shown_and_the_action_refused() {
    let mut h = signed_in().await;
    open_verified(&mut h).await;
    h.press(KeyCode::Tab).await; // Unlock
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "action");
    let version = h.app.mode.screen.case().unwrap().case.version.clone();
    h.helpdesk().update("yamada01", |m| m.lockout.failures = 4);
    h.until(
        "the change noted in the dialog",
        Duration::from_secs(5),
        |app| {
            app.mode
                .screen
                .case()
                .is_some_and(|c| !c.changes.is_empty())
        },
    )
    .await;
    assert_eq!(screen(&h), "action", "the dialog stays open");
    let c = h.app.mode.screen.case().unwrap();
    assert_eq!(
        c.case.version, version,
        "the dialog keeps the view it was opened on"
    );
    assert!(
        h.text(80, 24, true)
            .contains("Changed meanwhile: sign-in failures")
    );
    // The watch follows the server's versions: opened once for the case, once after the change.
    let watches = h
        .helpdesk()
        .log()
        .iter()
        .filter(|l| l.starts_with("Watch("))
        .count();
    assert_eq!(watches, 2);
    h.type_text("caller asked").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "case");
    assert_eq!(banner(&h), Some("err.stale_view"));
    assert_eq!(h.app.mode.screen.case().unwrap().case.lockout.failures, 4);
}

#[tokio::test]
async fn the_proof_counts_down_and_then_locks_the_actions_again() {
    let mut h = signed_in().await;
    open_verified(&mut h).await;
    assert!(h.text(120, 40, true).contains("15 min left"));
    h.ticks(5 * 60).await;
    assert!(h.text(120, 40, true).contains("10 min left"));
    h.ticks(10 * 60).await;
    assert!(
        h.text(120, 40, true)
            .contains("Verification expired: verify again")
    );
    let c = h.app.mode.screen.case().unwrap();
    assert_eq!(
        c.locked(StaffAction::Unlock, h.app.shell.ticks),
        Some("staff.locked.expired")
    );
}

/// The audit screen from a case: the member's entries only; an action filter chosen with the
/// arrows; a date typed wrong is named under its field and nothing is asked; Esc goes back to
/// the case.
#[tokio::test]
async fn the_audit_log_of_a_member_filters_by_action_and_date_and_goes_back_to_the_case() {
    use tobira::tui::shell::app::Msg;
    use tobira::tui::shell::form::Target;
    let mut h = signed_in().await;
    open_verified(&mut h).await;
    h.press(KeyCode::Tab).await; // Unlock
    h.press(KeyCode::Enter).await;
    h.type_text("caller asked").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "case");
    // The audit button, clicked.
    let audit = tobira::tui::modes::staff::screens::case::BUTTONS
        .iter()
        .position(|b| *b == staff::Intent::Audit)
        .unwrap();
    h.send(Msg::Click(Target::Item(audit))).await;
    assert_eq!(screen(&h), "audit");
    let Screen::Audit(a) = &h.app.mode.screen else {
        unreachable!()
    };
    let (filter, page) = a.results.as_ref().expect("the log at once");
    assert_eq!(filter.member.as_deref(), Some("yamada01"));
    assert_eq!(page.rows.len(), 2, "{page:?}");
    assert!(
        page.rows
            .iter()
            .all(|r| r.user_id.as_deref() == Some("yamada01"))
    );
    assert_eq!(page.rows[0].actor, "staff:sato");

    // Action: Tab to the chooser; Left wraps from "any" to the last action, Right comes back.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Left).await;
    let action = |h: &Driver| match &h.app.mode.screen {
        Screen::Audit(a) => a.action_name(),
        _ => None,
    };
    let last = tobira::domain::AuditAction::ALL.last().unwrap().as_str();
    assert_eq!(action(&h), Some(last));
    h.press(KeyCode::Right).await;
    assert_eq!(action(&h), None);
    for _ in 0..7 {
        h.press(KeyCode::Left).await;
    }
    assert_eq!(action(&h), Some("helpdesk.unlock"));
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await; // Show
    let Screen::Audit(a) = &h.app.mode.screen else {
        unreachable!()
    };
    let (filter, page) = a.results.as_ref().unwrap();
    assert_eq!(filter.action.as_deref(), Some("helpdesk.unlock"));
    assert_eq!(page.rows.len(), 1, "{page:?}");
    assert_eq!(page.rows[0].detail, "caller asked");
    h.press(KeyCode::BackTab).await;
    h.press(KeyCode::BackTab).await;
    // A date that is not one: named under the field, nothing asked.
    h.type_text("2026-13-01").await;
    let asked = h.helpdesk().log().len();
    h.press(KeyCode::Enter).await; // to "To"
    h.press(KeyCode::Enter).await; // submits
    assert_eq!(
        field_error(&h, staff::Field::Since),
        Some("staff.audit.bad_date")
    );
    assert_eq!(h.helpdesk().log().len(), asked, "no request for a bad date");
    // A good range that excludes today: nothing matches.
    h.press(KeyCode::BackTab).await;
    for _ in 0..10 {
        h.press(KeyCode::Backspace).await;
    }
    h.type_text("2026-12-01").await;
    h.press(KeyCode::Tab).await;
    h.type_text("2026-12-05").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(field_error(&h, staff::Field::Since), None);
    let Screen::Audit(a) = &h.app.mode.screen else {
        unreachable!()
    };
    let (filter, page) = a.results.as_ref().unwrap();
    assert_eq!(
        filter.since.as_deref(),
        Some("1796083200"),
        "12-01 00:00 UTC"
    );
    assert_eq!(
        filter.until.as_deref(),
        Some("1796515200"),
        "12-06 00:00 UTC"
    );
    assert!(page.rows.is_empty(), "{page:?}");
    h.press(KeyCode::Esc).await;
    assert_eq!(screen(&h), "case");
    assert_eq!(h.app.mode.screen.case().unwrap().case.user_id, "yamada01");
}

/// Everyone's log from the search: paged with PgDn/PgUp, a staff login that does not exist
/// named under its field, Esc back to the search as it was.
#[tokio::test]
async fn the_overall_audit_log_pages_and_names_an_unknown_staff_login() {
    use tobira::tui::testing::staff::AUDIT_PAGE;
    let mut h = signed_in().await;
    h.type_text("田中").await;
    h.ticks(1).await;
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "audit");
    let rows = |h: &Driver| match &h.app.mode.screen {
        Screen::Audit(a) => a
            .results
            .as_ref()
            .map(|(_, p)| (p.page, p.rows.len(), p.more)),
        _ => None,
    };
    assert_eq!(rows(&h), Some((0, AUDIT_PAGE, true)));
    h.press(KeyCode::PageDown).await;
    assert_eq!(rows(&h), Some((1, 13 - AUDIT_PAGE, false)));
    h.press(KeyCode::PageDown).await;
    assert_eq!(
        rows(&h),
        Some((1, 13 - AUDIT_PAGE, false)),
        "no page past the last"
    );
    h.press(KeyCode::PageUp).await;
    assert_eq!(rows(&h), Some((0, AUDIT_PAGE, true)));
    h.type_text("nobody").await;
    for _ in 0..4 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await; // "Show"
    assert_eq!(
        field_error(&h, staff::Field::StaffLogin),
        Some("staff.audit.no_staff")
    );
    h.press(KeyCode::Esc).await;
    assert_eq!(screen(&h), "search");
    let Screen::Search(s) = &h.app.mode.screen else {
        unreachable!()
    };
    assert_eq!(s.query.value(), "田中");
}

/// The second factor is whichever the account has: the passkey at once when it is the only
/// one, a choice next to the code when there are both; leaving the passkey screen goes back to
/// the code (both) or to a fresh sign-in (passkey only).
#[tokio::test]
async fn the_second_factor_follows_what_the_account_has() {
    use tobira::api::staff::StaffFactorKind;
    let fake = FakeHelpdesk::new();
    fake.state().second_factors = vec![StaffFactorKind::AuthenticatorApp, StaffFactorKind::Passkey];
    let mut h = start(Arc::new(StaffKeyring::in_memory()), fake.clone()).await;
    h.type_text("sato").await;
    h.press(KeyCode::Tab).await;
    h.type_text("correct horse").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "sign_in_code");
    // Code, Verify, Start again, then "Use my passkey instead".
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "passkey");
    h.press(KeyCode::Esc).await;
    assert_eq!(screen(&h), "sign_in_code");
    h.type_text(STAFF_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "search", "{:?}", h.app.shell.banner);

    // Passkey only: no code screen at all.
    fake.state().second_factors = vec![StaffFactorKind::Passkey];
    let mut h = start(Arc::new(StaffKeyring::in_memory()), fake.clone()).await;
    h.type_text("sato").await;
    h.press(KeyCode::Tab).await;
    h.type_text("correct horse").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "passkey");
    h.press(KeyCode::Esc).await;
    assert_eq!(screen(&h), "sign_in");
    assert!(h.app.mode.session.token.is_none());
}

/// A passkey enrolment sends the password only after the ceremony: a password the rules refuse
/// is named under its field before the key is asked for, so nobody touches their key in vain.
#[tokio::test]
async fn a_passkey_enrolment_checks_the_password_before_the_ceremony() {
    let mut h = start(Arc::new(StaffKeyring::in_memory()), FakeHelpdesk::new()).await;
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await; // First time
    h.type_text("suzuki").await;
    h.press(KeyCode::Tab).await;
    h.type_text(ENROL_CODE).await;
    h.press(KeyCode::Enter).await;
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::Enter).await; // Use a passkey instead
    h.type_text("has spaces in it").await;
    h.press(KeyCode::Tab).await;
    h.type_text("has spaces in it").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        field_error(&h, staff::Field::NewPassword),
        Some("err.weak_password.characters")
    );
    assert_ne!(screen(&h), "passkey", "no ceremony for a refused password");
    // Too short is named too.
    h.press(KeyCode::BackTab).await;
    for _ in 0..16 {
        h.press(KeyCode::Backspace).await;
    }
    h.type_text("short").await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        field_error(&h, staff::Field::NewPassword),
        Some("err.weak_password.length")
    );
    assert_ne!(screen(&h), "passkey");
}
