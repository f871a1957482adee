//! A first-time member is never stuck or misled (issue 12): each test walks the part of the
//! journey where a member used to give up, against the fake server or the real one.

mod common;

use std::time::Duration;

use common::{DEMO_ID, TestServer};
use ratatui::crossterm::event::KeyCode;
use tobira::api::{ApiError, Lang, Method, Step};
use tobira::client::ClientError;
use tobira::passkey::probe::{Availability, ProbeReport};
use tobira::passkey::{Limits, PasskeyError, PasskeyTransport};
use tobira::tui::modes::member::screens::passkey::PasskeyPhase;
use tobira::tui::modes::member::screens::{Intent, Item, Target};
use tobira::tui::modes::member::{App, Command, Member, Msg, Screen};
use tobira::tui::shell::headless::Headless;
use tobira::tui::testing::{FakeServer, key, render_text};
use tobira::tui::{PasskeyRunner, Runtime};

const PW: &str = "N3w-passw0rd!";
/// A bound on every wait, so that a hang fails the test instead of blocking the suite.
const DEADLINE: Duration = Duration::from_secs(60);

/// The TUI on the headless runtime against the real server.
struct Real {
    h: Headless<Member>,
    server: TestServer,
}

impl Real {
    async fn new() -> Self {
        let limits = Limits {
            connect: Duration::from_millis(300),
            ..Limits::default()
        };
        let server = common::start().await;
        let runtime = Runtime::new(
            server.client.clone(),
            None,
            PasskeyRunner::new(None, limits),
        );
        Self {
            h: Headless::new(App::new(Lang::Ja, false), runtime),
            server,
        }
    }

    fn screen(&self) -> &Screen {
        &self.h.app.mode.session.screen
    }

    fn items(&self) -> Vec<Item> {
        self.screen().form().items()
    }

    async fn click(&mut self, intent: Intent) {
        let i = self
            .screen()
            .form()
            .index_of(Item::Button(intent))
            .unwrap_or_else(|| panic!("{intent:?} on {}", self.screen().name()));
        self.h.send(Msg::Click(Target::Item(i))).await;
    }

    /// The member finished the first login choosing `method`; the TUI signs in again.
    async fn sign_in_at_setup(&mut self, method: Method) {
        let token = self.server.demo_at_credentials().await;
        self.server
            .client
            .choose_method(&token, method)
            .await
            .unwrap();
        self.server
            .client
            .set_credentials(&token, PW, None)
            .await
            .unwrap();
        self.h.press(KeyCode::Enter).await; // welcome → sign-in
        self.h.type_text(DEMO_ID).await;
        self.h.press(KeyCode::Tab).await;
        self.h.type_text(PW).await;
        self.h.press(KeyCode::Enter).await;
    }

    async fn until_passkey_choice(&mut self) {
        self.h
            .until("the transport choice", DEADLINE, |a| {
                matches!(&a.mode.session.screen, Screen::Passkey(s) if matches!(s.phase, PasskeyPhase::Choose(_)))
            })
            .await;
    }
}

#[tokio::test]
async fn the_server_lets_a_member_at_set_up_pick_another_method() {
    let t = common::start().await;
    let token = t.demo_at_credentials().await;
    t.client
        .choose_method(&token, Method::Passkey)
        .await
        .unwrap();
    t.client.set_credentials(&token, PW, None).await.unwrap();
    let (token, view) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(
        (view.step, view.method),
        (Step::MethodSetup, Some(Method::Passkey))
    );
    let view = t
        .client
        .choose_method(&token, Method::EmailOtp)
        .await
        .unwrap();
    assert_eq!(
        (view.step, view.method),
        (Step::MethodSetup, Some(Method::EmailOtp))
    );
    let member = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    assert_eq!(
        (member.step, member.method),
        (Step::MethodSetup, Some(Method::EmailOtp))
    );
    t.stop().await;
}

#[tokio::test]
async fn a_member_who_cannot_set_up_a_passkey_picks_another_method() {
    let mut d = Real::new().await;
    d.sign_in_at_setup(Method::Passkey).await;
    d.until_passkey_choice().await;
    // The way out is on the screen before anything fails.
    let items = d.items();
    assert!(items.contains(&Item::Button(Intent::PasskeyOtherMethod)));
    assert!(items.contains(&Item::Button(Intent::SignOut)));
    let text = render_text(&d.h.app, 80, 24, true);
    assert!(text.contains("別の認証方法にする"), "{text}");
    assert!(text.contains("ログアウト"), "{text}");

    d.click(Intent::PasskeyOtherMethod).await;
    let text = render_text(&d.h.app, 80, 24, true);
    assert!(
        text.contains("b. ワンタイムパスワード認証(アプリ)"),
        "{text}"
    );
    assert!(
        text.contains("c. ワンタイムパスワード認証(メール)"),
        "{text}"
    );
    // Esc (戻る) goes back to the transports, then the member picks the app after all.
    d.h.press(KeyCode::Esc).await;
    d.until_passkey_choice().await;
    d.click(Intent::PasskeyOtherMethod).await;
    d.click(Intent::Choose(Method::TotpApp)).await;
    assert!(
        matches!(d.screen(), Screen::TotpEnroll(_)),
        "{}",
        d.screen().name()
    );
    let member = d
        .server
        .store
        .member_by_user_id(DEMO_ID)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.method, Some(Method::TotpApp));
    d.server.stop().await;
}

#[tokio::test]
async fn a_member_who_cannot_set_up_a_passkey_can_sign_out() {
    let mut d = Real::new().await;
    d.sign_in_at_setup(Method::Passkey).await;
    d.until_passkey_choice().await;
    let token = d.h.app.mode.session.token.clone().unwrap();
    d.click(Intent::SignOut).await;
    assert_eq!(d.screen().name(), "sign_in");
    assert!(d.h.app.mode.session.token.is_none());
    assert!(
        d.server.client.flow(&token).await.is_err(),
        "the flow ended on the server"
    );
    d.server.stop().await;
}

/// Walks the fake server's demo member to 【8】; returns the commands left for the runtime.
fn to_choose_method(app: &mut App, s: &mut FakeServer) -> Vec<Command> {
    press(app, s, KeyCode::Enter);
    type_text(app, s, "DEMO0001");
    press(app, s, KeyCode::Tab);
    type_text(app, s, "12345678919801201");
    press(app, s, KeyCode::Enter);
    type_text(app, s, "19801201");
    press(app, s, KeyCode::Enter);
    press(app, s, KeyCode::Enter); // 同意する
    press(app, s, KeyCode::Enter); // the address on file
    s.open_link();
    let rest = press(app, s, KeyCode::Enter); // 更新
    assert_eq!(app.mode.session.screen.name(), "choose_method");
    rest
}

fn report(usb: bool) -> ProbeReport {
    let usb = if usb {
        Ok(())
    } else {
        Err(PasskeyError::NoSecurityKey { unreadable: 0 })
    };
    ProbeReport {
        transports: vec![
            Availability {
                transport: PasskeyTransport::Usb,
                usable: usb,
            },
            Availability {
                transport: PasskeyTransport::Bluetooth,
                usable: Err(PasskeyError::NoBluetoothAdapter),
            },
            Availability {
                transport: PasskeyTransport::Phone,
                usable: Err(PasskeyError::NoBluetoothAdapter),
            },
        ],
    }
}

#[test]
fn the_method_screen_says_which_passkey_routes_this_terminal_has() {
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::demo();
    let rest = to_choose_method(&mut app, &mut s);
    assert!(
        rest.contains(&Command::ProbePasskeys),
        "【8】 probes the passkey routes: {rest:?}"
    );
    app.update(Msg::PasskeyProbed(report(false)));
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("この端末ではパスキーを使えません"), "{text}");
    // The rest of the screen still fits at 80x24.
    assert!(
        text.contains("※OTPは、ワンタイムパスワードの略称です。"),
        "{text}"
    );

    app.update(Msg::PasskeyProbed(report(true)));
    let text = render_text(&app, 100, 30, true);
    assert!(
        text.contains("この端末で使えるもの: USBセキュリティキー"),
        "{text}"
    );
    app.update(Msg::Key(tobira::tui::testing::key(KeyCode::F(2))));
    let text = render_text(&app, 100, 30, true);
    assert!(
        text.contains("Usable on this terminal: USB security key"),
        "{text}"
    );
}

fn api_error(code: tobira::api::ErrorCode, retry_after_secs: Option<u64>) -> ClientError {
    let mut e = ApiError::new(code, "");
    e.retry_after_secs = retry_after_secs;
    ClientError::Api(e)
}

fn type_sign_in(app: &mut App, s: &mut FakeServer) {
    type_text(app, s, "DEMO0001");
    press(app, s, KeyCode::Tab);
    type_text(app, s, "12345678919801201");
}

#[test]
fn a_delay_says_how_long_and_a_hold_says_who_to_call() {
    use tobira::api::ErrorCode;
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::demo();
    press(&mut app, &mut s, KeyCode::Enter);
    type_sign_in(&mut app, &mut s);
    s.fail_next = Some(api_error(ErrorCode::RateLimited, Some(5)));
    press(&mut app, &mut s, KeyCode::Enter);
    let text = render_text(&app, 80, 24, true);
    assert!(
        text.contains("試行回数が多すぎます。5秒後にもう一度お試しください。"),
        "{text}"
    );
    assert!(
        !text.contains("無効なユーザIDまたはパスワードです。"),
        "{text}"
    );

    s.fail_next = Some(api_error(ErrorCode::AccountHeld, None));
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert_eq!(
        app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("err.account_held")
    );
    let text = render_text(&app, 80, 24, true);
    assert!(
        text.contains("アカウントは保護のため停止中です。ヘルプデスクへお電話ください。"),
        "{text}"
    );
    // The wire name the server sends.
    assert_eq!(ErrorCode::AccountHeld.as_str(), "account_held");
    let parsed: ErrorCode = serde_json::from_str("\"account_held\"").unwrap();
    assert_eq!(parsed, ErrorCode::AccountHeld);
}

#[tokio::test]
async fn a_new_user_id_is_shown_on_10_and_mailed() {
    let mut d = Real::new().await;
    d.server.demo_at_credentials().await;
    // The member comes back at 【9】: sign in, the identity check, then the new credentials.
    d.h.press(KeyCode::Enter).await;
    d.h.type_text(DEMO_ID).await;
    d.h.press(KeyCode::Tab).await;
    d.h.type_text(common::DEMO_INITIAL).await;
    d.h.press(KeyCode::Enter).await;
    d.h.type_text("19801201").await;
    d.h.press(KeyCode::Enter).await;
    assert_eq!(d.screen().name(), "new_credentials");
    d.h.type_text(PW).await;
    d.h.press(KeyCode::Tab).await;
    d.h.type_text(PW).await;
    d.h.press(KeyCode::Tab).await;
    d.h.type_text("Yamada2026").await;
    d.h.press(KeyCode::Enter).await;
    assert_eq!(d.screen().name(), "complete");
    let text = render_text(&d.h.app, 80, 24, true);
    assert!(text.contains("新しいユーザID: yamada2026"), "{text}");
    // Signed out (【11】) it is still there to note down.
    d.h.press(KeyCode::Enter).await;
    let text = render_text(&d.h.app, 80, 24, true);
    assert!(text.contains("新しいユーザID: yamada2026"), "{text}");
    let mails = d.server.mails();
    let last = mails.last().expect("a mail");
    assert_eq!(last.subject, "【tobira】ユーザIDが変更されました");
    assert!(last.text.contains("\nyamada2026\n"), "{}", last.text);
    d.server.stop().await;
}

#[test]
fn an_unchanged_user_id_is_not_announced() {
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::demo();
    to_choose_method(&mut app, &mut s);
    press(&mut app, &mut s, KeyCode::Down);
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, PW);
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, PW);
    press(&mut app, &mut s, KeyCode::Tab); // the new user ID stays empty
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "complete");
    let text = render_text(&app, 80, 24, true);
    assert!(!text.contains("新しいユーザID:"), "{text}");
}

/// Welcome → sign-in → the birth-date screen of the fake server's demo member.
fn to_birth_date(app: &mut App, s: &mut FakeServer) {
    press(app, s, KeyCode::Enter);
    type_sign_in(app, s);
    press(app, s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "birth_date");
}

fn birth_fields(app: &App) -> (String, String, String) {
    let Screen::BirthDate(b) = &app.mode.session.screen else {
        panic!(
            "not the birth-date screen: {}",
            app.mode.session.screen.name()
        )
    };
    (
        b.year.value().to_owned(),
        b.month.value().to_owned(),
        b.day.value().to_owned(),
    )
}

#[test]
fn a_full_width_birth_date_is_taken() {
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::demo();
    to_birth_date(&mut app, &mut s);
    type_text(&mut app, &mut s, "１９８０１２０１");
    assert_eq!(
        birth_fields(&app),
        ("1980".into(), "12".into(), "01".into())
    );
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "terms");
}

#[test]
fn a_pasted_whole_date_fills_the_three_fields() {
    for pasted in [
        "1980/12/01",
        "１９８０／１２／０１",
        "1980-12-1",
        "1980年12月1日",
        "19801201",
    ] {
        let mut app = App::new(Lang::Ja, false);
        let mut s = FakeServer::demo();
        to_birth_date(&mut app, &mut s);
        app.update(Msg::Paste(pasted.to_owned()));
        let (y, m, d) = birth_fields(&app);
        assert_eq!(
            (y.as_str(), m.as_str(), d.trim_start_matches('0')),
            ("1980", "12", "1"),
            "{pasted}"
        );
        press(&mut app, &mut s, KeyCode::Enter);
        assert_eq!(app.mode.session.screen.name(), "terms", "{pasted}");
    }
}

#[test]
fn tab_after_a_full_year_does_not_skip_the_month() {
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::demo();
    to_birth_date(&mut app, &mut s);
    type_text(&mut app, &mut s, "1980");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "12");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "1");
    assert_eq!(birth_fields(&app), ("1980".into(), "12".into(), "1".into()));
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "terms");
}

#[tokio::test]
async fn a_full_width_initial_password_signs_in() {
    let t = common::start().await;
    let (_, view) = t
        .client
        .sign_in(DEMO_ID, "１２３４５６７８９１９８０１２０１", Lang::Ja)
        .await
        .expect("the full-width initial password is the initial password");
    assert_eq!(view.step, Step::BirthDate);
    t.stop().await;
}

/// Welcome → … → the terms screen of the fake server's demo member (every step a request).
fn to_terms(app: &mut App, s: &mut FakeServer) {
    to_birth_date(app, s);
    type_text(app, s, "19801201");
    press(app, s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "terms");
}

#[test]
fn the_idle_timeout_is_announced_and_a_key_extends_it() {
    use tobira::tui::modes::member::IDLE_WARN_SECS;
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::demo();
    to_terms(&mut app, &mut s);
    let idle = app.mode.session.flow.as_ref().unwrap().idle_timeout_secs;
    ticks(&mut app, &mut s, idle - IDLE_WARN_SECS - 1);
    assert!(
        app.shell.banner.is_none(),
        "no warning before the last minute"
    );
    ticks(&mut app, &mut s, 1);
    let text = render_text(&app, 80, 24, true);
    assert!(
        text.contains("あと60秒で終了します。続けるには何かキーを押してください。"),
        "{text}"
    );
    ticks(&mut app, &mut s, 30);
    assert!(render_text(&app, 80, 24, true).contains("あと30秒で終了します。"));
    // A key extends the flow on the server (a request that touches it) and does nothing else.
    let calls = s.log.len();
    press(&mut app, &mut s, KeyCode::Down);
    assert_eq!(
        s.log.get(calls).map(String::as_str),
        Some("Flow"),
        "{:?}",
        s.log
    );
    assert_eq!(app.mode.session.screen.name(), "terms");
    assert!(!app.mode.session.idle_warning);
    ticks(&mut app, &mut s, idle - IDLE_WARN_SECS - 1);
    assert!(!app.mode.session.idle_warning);
    // Left alone, the member is back at sign-in, told why.
    ticks(&mut app, &mut s, IDLE_WARN_SECS + 1);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert_eq!(
        app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("err.flow_expired")
    );
}

#[test]
fn the_waiting_screen_checks_without_extending_the_flow() {
    use tobira::tui::modes::member::POLL_SECS;
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::demo();
    to_terms(&mut app, &mut s);
    press(&mut app, &mut s, KeyCode::Enter); // 同意する
    press(&mut app, &mut s, KeyCode::Enter); // the address on file
    assert_eq!(app.mode.session.screen.name(), "awaiting_verification");
    let calls = s.log.len();
    ticks(&mut app, &mut s, POLL_SECS);
    assert_eq!(
        s.log[calls..],
        ["FlowStatus".to_owned()],
        "the automatic check is the read-only one"
    );
    // The checks do not keep the flow alive: the countdown runs on.
    let idle = app.mode.session.flow.as_ref().unwrap().idle_timeout_secs;
    ticks(
        &mut app,
        &mut s,
        idle - POLL_SECS - tobira::tui::modes::member::IDLE_WARN_SECS,
    );
    assert!(app.mode.session.idle_warning);
}

#[tokio::test]
async fn the_status_route_does_not_extend_the_flow() {
    let t = common::start().await;
    let token = t.demo_at_terms().await;
    let idle = t.settings.flow_idle_timeout_secs as i64;
    // Checked every few seconds until past the timeout: the flow still ends on time.
    for _ in 0..3 {
        t.clock.advance(idle / 4);
        t.client.flow_status(&token).await.expect("still alive");
    }
    t.clock.advance(idle / 4 + 1);
    let e = common::expect_code(
        t.client.flow_status(&token).await,
        tobira::api::ErrorCode::FlowExpired,
    );
    assert_eq!(e.code, tobira::api::ErrorCode::FlowExpired);
    // The member's own requests do extend it.
    let token = t.demo_at_terms().await;
    for _ in 0..4 {
        t.clock.advance(idle / 2);
        t.client.flow(&token).await.expect("extended by use");
    }
    t.stop().await;
}

/// Signs in the fake server's member at the top screen (an app registered, method `method`,
/// second factors `kinds`).
fn sign_in_with_factors(method: Method, kinds: Vec<Method>) -> (App, FakeServer) {
    let mut s = FakeServer::with_devices(1);
    s.method = Some(method);
    s.second_factors = kinds;
    let mut app = App::new(Lang::Ja, false);
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, "yamada2024");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "NewPassw0rd");
    press(&mut app, &mut s, KeyCode::Enter);
    (app, s)
}

fn click(app: &mut App, s: &mut FakeServer, intent: Intent) {
    let i = app
        .mode
        .session
        .screen
        .form()
        .index_of(Item::Button(intent))
        .unwrap_or_else(|| panic!("{intent:?} on {}", app.mode.session.screen.name()));
    let cmds = app.update(Msg::Click(Target::Item(i)));
    pump(app, s, cmds);
}

#[test]
fn the_second_factor_asks_the_chosen_method_first_and_offers_the_others() {
    // The member changed their method to the emailed code and still has the app.
    let (mut app, mut s) =
        sign_in_with_factors(Method::EmailOtp, vec![Method::TotpApp, Method::EmailOtp]);
    assert_eq!(app.mode.session.screen.name(), "email_code");
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("認証アプリのコードを使う"), "{text}");
    assert!(
        !text.contains("パスキーでサインイン"),
        "no passkey to offer:\n{text}"
    );
    // The app's code still signs in.
    click(&mut app, &mut s, Intent::UseFactor(Method::TotpApp));
    assert_eq!(app.mode.session.screen.name(), "second_factor");
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("メールでコードを受け取る"), "{text}");
    assert!(!text.contains("パスキーでサインイン"), "{text}");
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
}

#[test]
fn a_method_the_member_no_longer_has_is_not_asked_first() {
    // Method says email, but only the app is left (the email method was removed).
    let (app, _s) = sign_in_with_factors(Method::EmailOtp, vec![Method::TotpApp]);
    assert_eq!(app.mode.session.screen.name(), "second_factor");
    let items = app.mode.session.screen.form().items();
    assert!(!items.contains(&Item::Button(Intent::PasskeySignIn)));
    assert!(
        !items
            .iter()
            .any(|i| matches!(i, Item::Button(Intent::UseFactor(_))))
    );
}

#[test]
fn the_banner_names_what_was_set_up() {
    let mut s = FakeServer::at_method_setup();
    s.method = Some(Method::EmailOtp);
    let mut app = App::new(Lang::Ja, false);
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, "yamada2024");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "NewPassw0rd");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "email_code_setup");
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
    assert_eq!(
        app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("home.added_email")
    );
    let text = render_text(&app, 80, 24, true);
    assert!(
        text.contains("メールでのワンタイムパスワード認証を登録しました。"),
        "{text}"
    );
    assert!(!text.contains("認証アプリを登録しました。"), "{text}");
}

#[tokio::test]
async fn the_flow_answer_lists_the_members_second_factors() {
    let t = common::start().await;
    let token = t.demo_at_credentials().await;
    t.client
        .choose_method(&token, Method::EmailOtp)
        .await
        .unwrap();
    t.client.set_credentials(&token, PW, None).await.unwrap();
    let (token, view) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert!(view.second_factors.is_empty(), "only at the second factor");
    t.client.send_email_code(&token).await.unwrap();
    let code = t
        .mails()
        .last()
        .unwrap()
        .text
        .lines()
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a code in the mail")
        .to_owned();
    t.client.verify_email_code(&token, &code).await.unwrap();
    t.client.sign_out(&token).await.unwrap();
    let (token, view) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(view.step, Step::SecondFactor);
    assert_eq!(view.second_factors, vec![Method::EmailOtp]);
    assert_eq!(
        t.client.flow(&token).await.unwrap().second_factors,
        vec![Method::EmailOtp]
    );
    t.stop().await;
}

#[test]
fn the_english_birth_date_reads_as_a_date() {
    let mut app = App::new(Lang::En, false);
    let mut s = FakeServer::demo();
    to_birth_date(&mut app, &mut s);
    type_text(&mut app, &mut s, "19801201");
    let text = render_text(&app, 80, 24, true);
    assert!(!text.contains(" year"), "{text}");
    assert!(!text.contains(" month"), "{text}");
    assert!(text.contains("1980"), "{text}");
    assert!(text.contains("(YYYY / MM / DD)"), "{text}");
}

#[test]
fn signing_out_from_the_top_screen_is_not_the_first_login_again() {
    let (mut app, mut s) = sign_in_with_factors(Method::TotpApp, vec![Method::TotpApp]);
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
    click(&mut app, &mut s, Intent::SignOut);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    let text = render_text(&app, 80, 24, true);
    let header: String = text.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(!header.contains("初回ログイン"), "{header}");
    assert!(!header.contains("【1】【2】"), "{header}");
}

#[test]
fn a_code_asked_again_too_soon_says_the_earlier_one_still_works() {
    let mut s = FakeServer::at_method_setup();
    s.method = Some(Method::EmailOtp);
    s.email_cooldown = true;
    let mut app = App::new(Lang::Ja, false);
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, "yamada2024");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "NewPassw0rd");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "email_code_setup");
    click(&mut app, &mut s, Intent::ResendEmailCode);
    let text = render_text(&app, 80, 24, true);
    assert!(
        text.contains("先ほどのコードは送信から10分間使えます。再送信は45秒後にできます。"),
        "{text}"
    );
}

#[test]
fn keys_typed_while_the_terminal_is_too_small_go_nowhere() {
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::demo();
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    let text = render_text(&app, 60, 20, true);
    assert!(!text.contains("ユーザID"), "the form is hidden:\n{text}");
    type_text(&mut app, &mut s, "demo");
    app.update(Msg::Paste("0001".into()));
    let Screen::SignIn(si) = &app.mode.session.screen else {
        panic!()
    };
    assert_eq!(si.user_id.value(), "", "nothing went into the hidden field");
    // Large enough again: typing works.
    render_text(&app, 80, 24, true);
    type_text(&mut app, &mut s, "demo");
    let Screen::SignIn(si) = &app.mode.session.screen else {
        panic!()
    };
    assert_eq!(si.user_id.value(), "demo");
}

// The fake server answers at once: these drive `update` synchronously, each answer handled
// before the next message (the headless runtime does the same for the real server above).

/// Answers every request the commands make, and those the answers make; returns the rest.
fn pump(app: &mut App, server: &mut FakeServer, cmds: Vec<Command>) -> Vec<Command> {
    let mut queue = cmds;
    let mut rest = Vec::new();
    while !queue.is_empty() {
        let mut next = Vec::new();
        for cmd in queue {
            match cmd {
                Command::Call { seq, call } => {
                    let result = server.handle(&call);
                    next.extend(app.update(Msg::Response { seq, result }));
                }
                other => rest.push(other),
            }
        }
        queue = next;
    }
    rest
}

/// Presses a key and lets the server answer everything it causes.
fn press(app: &mut App, server: &mut FakeServer, code: KeyCode) -> Vec<Command> {
    let cmds = app.update(Msg::Key(key(code)));
    pump(app, server, cmds)
}

/// Types `text` character by character.
fn type_text(app: &mut App, server: &mut FakeServer, text: &str) {
    for c in text.chars() {
        press(app, server, KeyCode::Char(c));
    }
}

/// Lets `n` seconds pass.
fn ticks(app: &mut App, server: &mut FakeServer, n: u64) -> Vec<Command> {
    let mut rest = Vec::new();
    for _ in 0..n {
        let cmds = app.update(Msg::Tick);
        rest.extend(pump(app, server, cmds));
    }
    rest
}

// The "Confuses" list of issue 12, the rest of it.

/// The fake server's demo member at 【6】【7】, waiting for the link; `demo` adds the mailbox.
fn to_awaiting(demo: bool) -> (App, FakeServer) {
    let mut app = App::new(Lang::Ja, demo);
    let mut s = FakeServer::demo();
    to_terms(&mut app, &mut s);
    press(&mut app, &mut s, KeyCode::Enter); // 同意する
    press(&mut app, &mut s, KeyCode::Enter); // the address on file
    assert_eq!(app.mode.session.screen.name(), "awaiting_verification");
    (app, s)
}

fn banner_text(app: &App) -> String {
    app.shell
        .banner
        .as_ref()
        .map(|b| b.msg.text(app.shell.lang))
        .unwrap_or_default()
}

/// A mail of the demo mailbox with one link, sent at `date` (RFC 2822).
fn mail(path: &str, link: &str, date: &str) -> tobira::tui::mailbox::MailItem {
    tobira::tui::mailbox::MailItem {
        path: path.into(),
        to: "taro.yamada@example.jp".into(),
        subject: "【tobira】メールアドレスの確認".into(),
        date: date.into(),
        links: vec![link.into()],
        highlight: None,
    }
}

/// The link a command opens, if it opens one.
fn opened_link(cmds: &[Command]) -> Option<String> {
    cmds.iter().find_map(|c| match c {
        Command::Call {
            call: tobira::tui::modes::member::ApiCall::OpenLink(link, _),
            ..
        } => Some(link.clone()),
        _ => None,
    })
}

#[test]
fn refresh_answers_every_press_even_when_nothing_changed() {
    let (mut app, mut s) = to_awaiting(false);
    press(&mut app, &mut s, KeyCode::Enter); // 更新
    let first = banner_text(&app);
    assert!(
        first.starts_with("まだメールアドレスの確認が完了していません"),
        "{first}"
    );
    press(&mut app, &mut s, KeyCode::Enter); // 更新 again, still nothing
    let second = banner_text(&app);
    assert!(
        second.starts_with("まだメールアドレスの確認が完了していません"),
        "{second}"
    );
    assert_ne!(first, second, "the second press must visibly answer too");
    assert!(render_text(&app, 80, 24, true).contains("2回目の確認"));
    // Automatic checks in between do not count as the member's.
    ticks(&mut app, &mut s, 10);
    press(&mut app, &mut s, KeyCode::Enter);
    assert!(banner_text(&app).contains("3回目"), "{}", banner_text(&app));
}

#[test]
fn the_mailbox_numbers_and_times_its_mails_and_opens_on_the_newest() {
    let (mut app, mut s) = to_awaiting(true);
    let old = mail(
        "1.eml",
        "http://l/verify/old",
        "Sun, 06 Dec 2026 15:40:05 +0000",
    );
    let new = mail(
        "2.eml",
        "http://l/verify/new",
        "Sun, 06 Dec 2026 15:41:10 +0000",
    );
    assert_eq!(
        press(&mut app, &mut s, KeyCode::F(3)),
        vec![Command::ListMailbox]
    );
    app.update(Msg::Mailbox(Ok(vec![old.clone()])));
    press(&mut app, &mut s, KeyCode::Esc);
    // A resend: the mailbox opens on what it listed last time until the listing comes, and
    // Enter pressed meanwhile opens the newest mail of the new listing, not the old one.
    press(&mut app, &mut s, KeyCode::F(3));
    let cmds = app.update(Msg::Key(key(KeyCode::Enter)));
    assert_eq!(opened_link(&cmds), None, "not the stale row");
    let cmds = app.update(Msg::Mailbox(Ok(vec![new.clone(), old.clone()])));
    assert_eq!(opened_link(&cmds).as_deref(), Some("http://l/verify/new"));
    pump(&mut app, &mut s, cmds);
    // Each entry shows its number in sending order and its time.
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("#2 15:41:10"), "{text}");
    assert!(text.contains("#1 15:40:05"), "{text}");
    // Moved to the old one, closed and opened again: the cursor is on the newest.
    press(&mut app, &mut s, KeyCode::Down);
    assert_eq!(app.mode.session.mailbox.as_ref().unwrap().selected, 1);
    press(&mut app, &mut s, KeyCode::Esc);
    press(&mut app, &mut s, KeyCode::F(3));
    assert_eq!(app.mode.session.mailbox.as_ref().unwrap().selected, 0);
    // A newer mail arriving while the cursor is on an older one keeps it on that mail.
    app.update(Msg::Mailbox(Ok(vec![new.clone(), old.clone()])));
    press(&mut app, &mut s, KeyCode::Down);
    let newest = mail(
        "3.eml",
        "http://l/verify/3",
        "Sun, 06 Dec 2026 15:42:00 +0000",
    );
    app.update(Msg::Mailbox(Ok(vec![newest, new, old])));
    let mb = app.mode.session.mailbox.as_ref().unwrap();
    assert_eq!(mb.items[mb.selected].path.to_str(), Some("1.eml"));
}

#[test]
fn an_old_link_says_what_its_page_says_and_that_stays_on_its_screen() {
    let (mut app, mut s) = to_awaiting(true);
    // The member confirmed on the phone already, then opens a mail in the mailbox: the page
    // answers "used" in its own words.
    s.open_link();
    press(&mut app, &mut s, KeyCode::F(3));
    app.update(Msg::Mailbox(Ok(vec![mail(
        "1.eml",
        "http://l/verify/old",
        "",
    )])));
    let cmds = app.update(Msg::Key(key(KeyCode::Enter)));
    let seq = match cmds.as_slice() {
        [Command::Call { seq, .. }] => *seq,
        other => panic!("{other:?}"),
    };
    let result = s.handle(&tobira::tui::modes::member::ApiCall::OpenLink(
        "http://l/verify/old".into(),
        Lang::Ja,
    ));
    let rest = app.update(Msg::Response { seq, result });
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("このリンクは使用済みです"), "{text}");
    assert!(!text.contains("HTTP"), "{text}");
    // The check the link started finds the address confirmed: 【8】 says so, not the link's
    // page.
    pump(&mut app, &mut s, rest);
    assert_eq!(app.mode.session.screen.name(), "choose_method");
    assert_eq!(
        app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("awaiting.verified")
    );
    // Opened again at 【8】: said there, and gone on the next screen.
    let cmds = app.update(Msg::Key(key(KeyCode::Enter)));
    pump(&mut app, &mut s, cmds);
    assert!(banner_text(&app).contains("このリンクは使用済みです"));
    press(&mut app, &mut s, KeyCode::Esc); // closes the mailbox
    press(&mut app, &mut s, KeyCode::Down);
    press(&mut app, &mut s, KeyCode::Enter); // b. the app
    assert_eq!(app.mode.session.screen.name(), "new_credentials");
    assert!(!render_text(&app, 80, 24, true).contains("使用済み"));
}

/// The fake server's member at the top screen with `devices` apps; `demo` adds the mailbox.
fn at_home(devices: usize, demo: bool) -> (App, FakeServer) {
    let mut s = FakeServer::with_devices(devices);
    let mut app = App::new(Lang::Ja, demo);
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, "yamada2024");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "NewPassw0rd");
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
    (app, s)
}

#[test]
fn a_status_message_belongs_to_the_screen_that_set_it() {
    let (mut app, mut s) = at_home(1, false);
    // Signing out says so on the sign-in screen, on purpose…
    click(&mut app, &mut s, Intent::SignOut);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert_eq!(
        app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("msg.signed_out")
    );
    // …and not on the next screen.
    click(&mut app, &mut s, Intent::ForgotPassword);
    assert_eq!(app.mode.session.screen.name(), "forgot_password");
    assert_eq!(app.shell.banner, None);
    assert!(!render_text(&app, 80, 24, true).contains("ログアウトしました"));
}

#[test]
fn the_last_factor_is_not_offered_for_removal() {
    use tobira::tui::modes::member::screens::home::HomeMode;
    let (mut app, mut s) = at_home(1, false);
    click(&mut app, &mut s, Intent::Remove);
    let Screen::Home(h) = &app.mode.session.screen else {
        panic!("{}", app.mode.session.screen.name())
    };
    assert_eq!(h.mode, HomeMode::List, "no question that would be refused");
    assert!(!s.log.iter().any(|l| l.starts_with("RemoveFactor")));
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("最後の認証方法は削除できません"), "{text}");
    assert!(text.contains("別の方法を追加してから"), "{text}");
    // With two, removing one is asked as before.
    let (mut app, mut s) = at_home(2, false);
    click(&mut app, &mut s, Intent::Remove);
    let Screen::Home(h) = &app.mode.session.screen else {
        panic!()
    };
    assert_eq!(h.mode, HomeMode::ConfirmRemove);
}

#[test]
fn the_current_address_in_capitals_is_refused_as_the_same() {
    use tobira::tui::modes::member::screens::Field;
    let (mut app, mut s) = at_home(1, false);
    click(&mut app, &mut s, Intent::HomeChangeEmail);
    assert_eq!(app.mode.session.screen.name(), "change_email");
    type_text(&mut app, &mut s, "TARO.YAMADA@EXAMPLE.JP");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "change_email");
    assert_eq!(
        app.mode.session.error(Field::Email).map(|t| t.key),
        Some("err.same_email")
    );
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("現在のメールアドレスと同じです"), "{text}");
    assert!(!text.contains("形式が正しくありません"), "{text}");
}

#[test]
fn the_top_screen_shows_the_new_address_once_its_link_is_opened() {
    let (mut app, mut s) = at_home(1, false);
    click(&mut app, &mut s, Intent::HomeChangeEmail);
    type_text(&mut app, &mut s, "hanako@example.jp");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
    assert!(render_text(&app, 80, 24, true).contains("taro.yamada@example.jp"));
    // Opened on the phone: the top screen notices by itself, without a sign-in, and the
    // checks are the read-only ones (they do not keep the flow alive).
    s.open_link();
    let calls = s.log.len();
    ticks(&mut app, &mut s, tobira::tui::modes::member::POLL_SECS);
    assert_eq!(s.log.get(calls).map(String::as_str), Some("FlowStatus"));
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("hanako@example.jp"), "{text}");
    assert!(!text.contains("taro.yamada@example.jp"), "{text}");
    assert!(
        text.contains("メールアドレスを hanako@example.jp に変更しました。"),
        "{text}"
    );
    // Nothing pending any more: no more checks.
    let calls = s.log.len();
    ticks(&mut app, &mut s, 10);
    assert_eq!(s.log.len(), calls, "{:?}", &s.log[calls..]);
}

#[test]
fn the_top_screen_shows_the_new_address_when_the_mailbox_link_is_opened() {
    let (mut app, mut s) = at_home(1, true);
    click(&mut app, &mut s, Intent::HomeChangeEmail);
    type_text(&mut app, &mut s, "hanako@example.jp");
    press(&mut app, &mut s, KeyCode::Enter);
    press(&mut app, &mut s, KeyCode::F(3));
    app.update(Msg::Mailbox(Ok(vec![mail(
        "1.eml",
        "http://l/verify/change",
        "",
    )])));
    press(&mut app, &mut s, KeyCode::Enter);
    press(&mut app, &mut s, KeyCode::Esc);
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("ユーザID: yamada2024"), "{text}");
    assert!(text.contains("hanako@example.jp"), "{text}");
}

#[test]
fn changing_to_the_emailed_code_offers_to_remove_the_app_and_asks_the_code_first() {
    use tobira::tui::modes::member::screens::home::HomeMode;
    let (mut app, mut s) = at_home(1, false);
    click(&mut app, &mut s, Intent::ChangeMethod);
    click(&mut app, &mut s, Intent::AddMethod(Method::EmailOtp));
    assert_eq!(app.mode.session.screen.name(), "email_code_setup");
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
    // The banner names what was set up, and the old method is offered for removal.
    let text = render_text(&app, 80, 24, true);
    assert!(
        text.contains("メールでのワンタイムパスワード認証を登録しました。"),
        "{text}"
    );
    assert!(!text.contains("認証アプリを登録しました。"), "{text}");
    let Screen::Home(h) = &app.mode.session.screen else {
        unreachable!()
    };
    assert_eq!(h.mode, HomeMode::RemoveOld(vec![(Method::TotpApp, 1)]));
    assert!(text.contains("iPhone 1"), "{text}");
    click(&mut app, &mut s, Intent::RemoveOld);
    let kinds: Vec<_> = s.devices.iter().map(|d| d.method).collect();
    assert_eq!(kinds, [Method::EmailOtp]);
    assert_eq!(
        app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("home.removed")
    );
    // An app added now is the member's first phone, named so.
    click(&mut app, &mut s, Intent::AddDevice);
    let Screen::TotpEnroll(e) = &app.mode.session.screen else {
        panic!("{}", app.mode.session.screen.name())
    };
    assert_eq!(e.device_name.value(), "スマートフォン");
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "home");
    // The next sign-in asks for the emailed code.
    click(&mut app, &mut s, Intent::SignOut);
    type_text(&mut app, &mut s, "yamada2024");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "NewPassw0rd");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "email_code");
}

#[test]
fn keeping_the_old_method_keeps_both_and_the_new_one_is_asked_first() {
    use tobira::tui::modes::member::screens::home::HomeMode;
    let (mut app, mut s) = at_home(1, false);
    click(&mut app, &mut s, Intent::ChangeMethod);
    click(&mut app, &mut s, Intent::AddMethod(Method::EmailOtp));
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    click(&mut app, &mut s, Intent::HomeBack); // 残す
    let Screen::Home(h) = &app.mode.session.screen else {
        unreachable!()
    };
    assert_eq!(h.mode, HomeMode::List);
    assert_eq!(s.devices.len(), 2);
    click(&mut app, &mut s, Intent::SignOut);
    type_text(&mut app, &mut s, "yamada2024");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "NewPassw0rd");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "email_code");
    let text = render_text(&app, 80, 24, true);
    assert!(text.contains("認証アプリのコードを使う"), "{text}");
}

/// The footer line of the screen.
fn footer(app: &App) -> String {
    render_text(app, 80, 24, false)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_footer_offers_esc_only_where_it_does_something() {
    let mut app = App::new(Lang::Ja, true);
    let mut s = FakeServer::demo();
    // The welcome screen: Esc does nothing, so it is not offered.
    assert!(!footer(&app).contains("Esc"), "{}", footer(&app));
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "welcome");
    // Sign-in: Esc goes back to the welcome screen.
    press(&mut app, &mut s, KeyCode::Enter);
    assert!(footer(&app).contains("Esc 戻る"), "{}", footer(&app));
    // 【4】 the terms: no way back.
    let (mut terms, mut ts) = (App::new(Lang::Ja, true), FakeServer::demo());
    to_terms(&mut terms, &mut ts);
    assert!(!footer(&terms).contains("Esc"), "{}", footer(&terms));
    let (mut app, mut s) = to_awaiting(true);
    assert!(footer(&app).contains("Esc 戻る"), "{}", footer(&app));
    // The mailbox open: Esc closes it.
    press(&mut app, &mut s, KeyCode::F(3));
    assert!(footer(&app).contains("Esc 閉じる"), "{}", footer(&app));
    assert!(!footer(&app).contains("Esc 戻る"), "{}", footer(&app));
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "awaiting_verification");
    // 【8】: Esc only says there is no way back.
    s.open_link();
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "choose_method");
    assert!(!footer(&app).contains("Esc"), "{}", footer(&app));
    // The code after the password: Esc signs out.
    let (mut app, mut s) = sign_in_with_factors(Method::TotpApp, vec![Method::TotpApp]);
    assert!(footer(&app).contains("Esc ログアウト"), "{}", footer(&app));
    // The top screen's list: nothing; a dialog: back to the list.
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
    assert!(!footer(&app).contains("Esc"), "{}", footer(&app));
    click(&mut app, &mut s, Intent::ChangePassword);
    assert!(footer(&app).contains("Esc 戻る"), "{}", footer(&app));
    press(&mut app, &mut s, KeyCode::Esc);
    assert!(!footer(&app).contains("Esc"), "{}", footer(&app));
}
