//! The member TUI's app driven by key events against a real server (ephemeral port, SQLite,
//! the local outbox): every request the screens make goes over HTTP through the real client,
//! and the verification link is opened from the demo mailbox panel, as a lone demo user would.

mod common;

use common::{DEMO_ID, DEMO_INITIAL, TestServer, expect_code};
use ratatui::crossterm::event::KeyCode;
use std::sync::Arc;
use tobira::api::{ErrorCode, Lang, Step};

use tobira::passkey::Limits;
use tobira::tui::mailbox::{DirMailbox, Mailbox};
use tobira::tui::modes::member::screens::{Field, Intent, Item, Target};
use tobira::tui::modes::member::{App, Member, Msg};
use tobira::tui::shell::headless::Headless;
use tobira::tui::testing::{render_buffer, render_text};
use tobira::tui::widgets::qr::QrStyle;
use tobira::tui::{PasskeyRunner, Runtime};

/// The app on the headless runtime against the real server, with every command run to its
/// end before the next key (the terminal loop runs them as tasks; awaiting them here keeps the
/// test exact).
struct Driver {
    h: Headless<Member>,
    server: TestServer,
}

impl std::ops::Deref for Driver {
    type Target = Headless<Member>;
    fn deref(&self) -> &Self::Target {
        &self.h
    }
}

impl std::ops::DerefMut for Driver {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.h
    }
}

impl Driver {
    async fn new(lang: Lang) -> Self {
        let server = common::start().await;
        let mailbox: Arc<dyn Mailbox> = Arc::new(DirMailbox::new(server.outbox.clone()));
        // Passkeys have their own driver (tests/tui_passkey_flow.rs).
        let passkeys = PasskeyRunner::new(None, Limits::default());
        let runtime = Runtime::new(server.client.clone(), Some(mailbox), passkeys);
        Self {
            h: Headless::new(App::new(lang, true), runtime),
            server,
        }
    }

    async fn press(&mut self, code: KeyCode) {
        self.h.press(code).await;
    }

    async fn type_text(&mut self, text: &str) {
        self.h.type_text(text).await;
    }

    fn screen(&self) -> &'static str {
        self.app.mode.session.screen.name()
    }

    fn text(&self) -> String {
        render_text(&self.app, 80, 24, true)
    }

    fn field_error(&self, field: Field) -> Option<&'static str> {
        self.app.mode.session.error(field).map(|t| t.key)
    }

    async fn sign_in(&mut self, user_id: &str, password: &str) {
        if self.screen() == "welcome" {
            self.press(KeyCode::Enter).await;
        }
        assert_eq!(self.screen(), "sign_in");
        self.type_text(user_id).await;
        self.press(KeyCode::Tab).await;
        self.type_text(password).await;
        self.press(KeyCode::Enter).await;
    }

    /// Welcome → sign-in → birth date → terms → email confirmed: the mail is out.
    async fn walk_to_awaiting(&mut self) {
        self.sign_in("DEMO0001", DEMO_INITIAL).await;
        assert_eq!(self.screen(), "birth_date", "{:?}", self.app.shell.banner);
        self.type_text("19801201").await;
        self.press(KeyCode::Enter).await;
        assert_eq!(self.screen(), "terms", "{:?}", self.app.mode.session.errors);
        self.press(KeyCode::Enter).await; // 同意する
        assert_eq!(self.screen(), "email");
        self.press(KeyCode::Enter).await; // the address on file
        assert_eq!(self.screen(), "awaiting_verification");
    }

    /// Opens the newest mail's link from the demo mailbox panel.
    async fn open_link_from_mailbox(&mut self) {
        self.press(KeyCode::F(3)).await;
        let mb = self
            .app
            .mode
            .session
            .mailbox
            .as_ref()
            .expect("demo mailbox");
        assert!(mb.open, "F3 opens the mailbox panel");
        self.press(KeyCode::Enter).await;
    }

    /// Esc closes the mailbox panel (and does nothing else).
    async fn close_mailbox(&mut self) {
        let screen = self.screen();
        self.press(KeyCode::Esc).await;
        assert!(
            !self
                .app
                .mode
                .session
                .mailbox
                .as_ref()
                .expect("demo mailbox")
                .open
        );
        assert_eq!(self.screen(), screen);
    }
}

#[tokio::test]
async fn the_whole_first_login_by_keyboard_against_the_real_server() {
    let mut d = Driver::new(Lang::Ja).await;
    assert_eq!(d.screen(), "welcome");
    d.walk_to_awaiting().await;

    // The mail really went to the outbox, to the address on file, and the screen says where.
    let mails = d.server.mails();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].to.contains("demo0001@example.com"),
        "{}",
        mails[0].to
    );
    assert!(d.text().contains("demo0001@example.com"), "{}", d.text());

    // 更新 before the link is opened: still waiting.
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "awaiting_verification");

    d.open_link_from_mailbox().await;
    // The link's page answered and the TUI checked the flow at once: the address is verified.
    assert_eq!(d.screen(), "choose_method", "{}", d.text());
    assert!(d.server.mails()[0].text.contains("/verify/"));
    d.close_mailbox().await;

    // 【8】 the authenticator app, 【9】 a new password and user ID.
    assert_eq!(d.screen(), "choose_method");
    d.press(KeyCode::Tab).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "new_credentials", "{}", d.text());
    d.type_text("Sakura#2026").await;
    d.press(KeyCode::Enter).await;
    d.type_text("Sakura#2026").await;
    d.press(KeyCode::Enter).await;
    d.type_text("Taro2026").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(
        d.screen(),
        "complete",
        "{:?} {}",
        d.app.mode.session.errors,
        d.text()
    );
    assert!(
        d.app.mode.session.token.is_none(),
        "the server ended the flow"
    );

    // 【11】 signed out, back at sign-in.
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "signed_out");
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "sign_in");

    // What the screens did is what the server kept: the new ID and password work, the initial
    // password and the old ID do not, and the next sign-in goes to the method's set-up.
    let c = &d.server.client;
    let (_, view) = c
        .sign_in("taro2026", "Sakura#2026", Lang::Ja)
        .await
        .expect("sign in with the new credentials");
    assert_eq!(view.step, Step::MethodSetup);
    expect_code(
        c.sign_in(DEMO_ID, DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    expect_code(
        c.sign_in("taro2026", DEMO_INITIAL, Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    d.server.stop().await;
}

#[tokio::test]
async fn server_errors_appear_next_to_their_fields() {
    let mut d = Driver::new(Lang::En).await;

    // Wrong password: the one message, next to the password.
    d.sign_in("demo0001", "12345678919801202").await;
    assert_eq!(d.screen(), "sign_in");
    assert_eq!(
        d.field_error(Field::Password),
        Some("err.invalid_credentials")
    );
    assert!(
        d.text().contains("Invalid user ID or password"),
        "{}",
        d.text()
    );

    // Unknown user: the same message.
    d.press(KeyCode::BackTab).await;
    for _ in 0..8 {
        d.press(KeyCode::Backspace).await;
    }
    d.type_text("nobody999").await;
    d.press(KeyCode::Tab).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(
        d.field_error(Field::Password),
        Some("err.invalid_credentials")
    );

    // A wrong date of birth is the server's verdict, shown at the date.
    let mut d = Driver::new(Lang::En).await;
    d.sign_in("demo0001", DEMO_INITIAL).await;
    assert_eq!(d.screen(), "birth_date");
    d.type_text("19801202").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "birth_date");
    assert_eq!(
        d.field_error(Field::BirthDate),
        Some("err.wrong_birth_date")
    );
    d.server.stop().await;
}

#[tokio::test]
async fn a_taken_user_id_is_shown_at_the_user_id_field() {
    let mut d = Driver::new(Lang::En).await;
    d.walk_to_awaiting().await;
    d.open_link_from_mailbox().await;
    d.close_mailbox().await;
    assert_eq!(d.screen(), "choose_method", "{}", d.text());
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "new_credentials");
    d.type_text("Sakura#2026").await;
    d.press(KeyCode::Enter).await;
    d.type_text("Sakura#2026").await;
    d.press(KeyCode::Enter).await;
    // Another member of the demo roster already has this ID.
    let taken = "demo0002";
    d.type_text(taken).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "new_credentials");
    assert_eq!(d.field_error(Field::NewUserId), Some("err.user_id_taken"));
    d.server.stop().await;
}

#[tokio::test]
async fn an_idle_flow_times_out_and_returns_to_sign_in() {
    let mut d = Driver::new(Lang::Ja).await;
    d.sign_in("demo0001", DEMO_INITIAL).await;
    assert_eq!(d.screen(), "birth_date");
    // The member walks away past the idle time; the server's clock says so.
    d.server
        .clock
        .advance(d.server.settings.flow_idle_timeout_secs as i64 + 1);
    d.type_text("19801201").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "sign_in", "{}", d.text());
    let banner = d.app.shell.banner.as_ref().map(|b| b.msg.key);
    assert_eq!(banner, Some("err.flow_expired"), "{}", d.text());
    d.server.stop().await;
}

// ---- Stage 2 with an authenticator app, and the top screen --------------------------------

const NEW_PW: &str = "N3w-passw0rd!";

impl Driver {
    /// The demo member finished the first login (choosing the app) through the API; the screens
    /// sign in: the authenticator-app set-up.
    async fn at_totp_setup(lang: Lang) -> Self {
        let mut d = Self::new(lang).await;
        let token = d.server.demo_at_credentials().await;
        d.server
            .client
            .set_credentials(&token, NEW_PW, None)
            .await
            .expect("first login completes");
        d.sign_in(DEMO_ID, NEW_PW).await;
        assert_eq!(d.screen(), "method_setup", "{:?}", d.app.shell.banner);
        d
    }

    /// Reads the QR code off a `w`x`h` screen, as the phone's camera does.
    fn scan(
        &self,
        w: u16,
        h: u16,
        style: QrStyle,
    ) -> Result<String, tobira::script::phone::ScanError> {
        tobira::script::phone::read_qr_as(&render_buffer(&self.app, w, h), style)
    }

    /// The code the phone shows now on the server's clock.
    fn phone_code(&self, uri: &str) -> String {
        let totp = totp_rs::Totp::from_url(uri).expect("the app accepts the otpauth URI");
        let now = tobira::server::Clock::now(self.server.clock.as_ref());
        totp.generate(u64::try_from(now).expect("after 1970"))
            .to_string()
    }

    /// From the scan view: 次へ, the code (the device name is filled in), 登録する.
    async fn confirm_with(&mut self, code: &str) {
        self.press(KeyCode::Enter).await;
        self.type_text(code).await;
        self.press(KeyCode::Enter).await;
    }

    /// Focuses the top screen's button for `intent` and presses it.
    async fn home_button(&mut self, intent: Intent) {
        let i = self
            .app
            .mode
            .session
            .screen
            .form()
            .index_of(Item::Button(intent))
            .unwrap_or_else(|| panic!("{intent:?} on the top screen"));
        let cmds = self.app.update(Msg::Click(Target::Item(i)));
        self.run(cmds).await;
    }
}

#[tokio::test]
async fn the_phone_scans_the_screen_sets_up_the_app_and_its_codes_sign_in_later() {
    let mut d = Driver::at_totp_setup(Lang::Ja).await;
    // The phone reads the code off an 80x24 terminal (the whole screen) and off 120x40.
    let uri = d
        .scan(80, 24, QrStyle::HalfBlocks)
        .expect("readable at 80x24");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert_eq!(
        d.scan(120, 40, QrStyle::HalfBlocks).as_deref(),
        Ok(uri.as_str())
    );
    // The coloured-space drawing: too big for 80x24, so the screen says how big and shows the key.
    d.press(KeyCode::F(4)).await;
    let text = d.text();
    assert!(text.contains("広げてください"), "{text}");
    let secret = url::Url::parse(&uri)
        .expect("uri")
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.into_owned())
        .expect("secret");
    assert!(text.contains(&secret[..4]), "the key is shown:\n{text}");
    assert_eq!(
        d.scan(120, 44, QrStyle::Spaces).as_deref(),
        Ok(uri.as_str())
    );
    d.press(KeyCode::F(4)).await;
    // スキャンできませんか?: the key in groups of four with its parameters, then back.
    d.press(KeyCode::Tab).await;
    d.press(KeyCode::Enter).await;
    let text = d.text();
    let grouped: Vec<String> = secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    assert!(text.contains(&grouped.join(" ")), "{text}");
    assert!(text.contains("TOTP") && text.contains("SHA1") && text.contains("30秒"));
    d.press(KeyCode::Esc).await;
    assert_eq!(
        d.scan(80, 24, QrStyle::HalfBlocks).as_deref(),
        Ok(uri.as_str())
    );

    // A wrong code first: the manual's hints, the code emptied for the newest one.
    let code = d.phone_code(&uri);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    d.confirm_with(wrong).await;
    assert_eq!(d.screen(), "method_setup");
    assert_eq!(d.field_error(Field::TotpCode), Some("err.wrong_code"));
    assert!(d.text().contains("自動設定"), "{}", d.text());
    // The right one, pasted with a space as apps copy it.
    let cmds = d
        .app
        .update(Msg::Paste(format!("{} {}", &code[..3], &code[3..])));
    d.run(cmds).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(
        d.screen(),
        "home",
        "{:?} {:?}",
        d.app.mode.session.errors,
        d.app.shell.banner
    );
    let text = d.text();
    assert!(
        text.contains("スマートフォン") && text.contains(DEMO_ID),
        "{text}"
    );

    // Sign out; at the next sign-in the code is asked for, and the same code twice is refused.
    d.home_button(Intent::SignOut).await;
    assert_eq!(d.screen(), "sign_in");
    d.sign_in(DEMO_ID, NEW_PW).await;
    assert_eq!(d.screen(), "second_factor");
    d.type_text(&code).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.field_error(Field::TotpCode), Some("err.code_used"));
    d.server.clock.advance(30);
    let next = d.phone_code(&uri);
    d.type_text(&next).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "home", "{:?}", d.app.mode.session.errors);
    d.server.stop().await;
}

#[tokio::test]
async fn the_top_screen_adds_renames_and_removes_devices_and_changes_the_password() {
    let mut d = Driver::at_totp_setup(Lang::En).await;
    let first = d.scan(80, 24, QrStyle::HalfBlocks).expect("first QR");
    let code = d.phone_code(&first);
    d.confirm_with(&code).await;
    assert_eq!(d.screen(), "home");

    // A second phone, from the top screen: a new secret, default name "Phone 2".
    d.home_button(Intent::AddDevice).await;
    assert_eq!(d.screen(), "method_setup");
    let second = d.scan(120, 40, QrStyle::HalfBlocks).expect("second QR");
    assert_ne!(first, second, "each device has its own secret");
    d.server.clock.advance(30);
    let code = d.phone_code(&second);
    d.confirm_with(&code).await;
    assert_eq!(d.screen(), "home", "{:?}", d.app.mode.session.errors);
    assert!(d.text().contains("Phone 2"), "{}", d.text());

    // Rename the first one.
    d.home_button(Intent::Rename).await;
    let cmds = d.app.update(Msg::Key(tobira::tui::testing::ctrl('u')));
    d.run(cmds).await;
    d.type_text("Old iPhone").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(
        d.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("home.renamed")
    );
    assert!(d.text().contains("Old iPhone"), "{}", d.text());

    // Remove it, then the last one is refused.
    d.home_button(Intent::Remove).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(
        d.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("home.removed")
    );
    assert!(!d.text().contains("Old iPhone"), "{}", d.text());
    d.home_button(Intent::Remove).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(
        d.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("err.last_second_factor")
    );
    assert!(d.text().contains("Phone 2"));

    // Change the password: a wrong current one is refused at its field, then it works, and
    // the new password signs in.
    d.home_button(Intent::ChangePassword).await;
    d.type_text("not-my-password").await;
    d.press(KeyCode::Tab).await;
    d.type_text("Brand-n3w-pass").await;
    d.press(KeyCode::Tab).await;
    d.type_text("Brand-n3w-pass").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(
        d.field_error(Field::CurrentPassword),
        Some("err.wrong_current_password")
    );
    d.home_button(Intent::HomeBack).await;
    d.home_button(Intent::ChangePassword).await;
    d.type_text(NEW_PW).await;
    d.press(KeyCode::Tab).await;
    d.type_text("Brand-n3w-pass").await;
    d.press(KeyCode::Tab).await;
    d.type_text("Brand-n3w-pass").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(
        d.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("home.password_changed")
    );
    assert!(
        d.server
            .client
            .sign_in(DEMO_ID, NEW_PW, Lang::En)
            .await
            .is_err(),
        "the old password no longer works"
    );
    d.server
        .client
        .sign_in(DEMO_ID, "Brand-n3w-pass", Lang::En)
        .await
        .expect("the new password signs in");
    d.server.stop().await;
}

/// The 6-digit code set apart in the newest mail of the outbox.
fn mailed_code(server: &TestServer) -> String {
    let m = server.mails().pop().expect("a mail");
    tobira::tui::mailbox::highlight(&m.text).unwrap_or_else(|| panic!("no code in {}", m.text))
}

#[tokio::test]
async fn the_emailed_code_sets_the_method_up_and_signs_in_later() {
    let mut d = Driver::new(Lang::Ja).await;
    let c = d.server.client.clone();
    let token = d.server.demo_at_terms().await;
    c.decide_terms(&token, true).await.unwrap();
    c.submit_email(&token, None).await.unwrap();
    assert_eq!(c.open_link(&d.server.latest_link()).await.unwrap().0, 200);
    c.choose_method(&token, tobira::api::Method::EmailOtp)
        .await
        .unwrap();
    c.set_credentials(&token, NEW_PW, None).await.unwrap();

    // Stage 2: the screen mails the code as it opens.
    d.sign_in(DEMO_ID, NEW_PW).await;
    assert_eq!(d.screen(), "email_code_setup", "{:?}", d.app.shell.banner);
    assert!(d.text().contains("d*******@example.com"), "{}", d.text());
    d.type_text("000000").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.field_error(Field::TotpCode), Some("email_otp.wrong"));
    let code = mailed_code(&d.server);
    d.type_text(&code).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "home", "{:?}", d.app.mode.session.errors);

    // Later sign-ins: the code after the password; Resend waits for the cooldown.
    let items = d.app.mode.session.screen.form().items();
    let out = items
        .iter()
        .position(|i| *i == Item::Button(Intent::SignOut))
        .unwrap();
    let cmds = d.app.update(Msg::Click(Target::Item(out)));
    d.run(cmds).await;
    d.server.clock.advance(61);
    d.sign_in(DEMO_ID, NEW_PW).await;
    assert_eq!(d.screen(), "email_code");
    assert_eq!(
        d.app.shell.banner.as_ref().map(|b| b.msg.key),
        None,
        "the code went out"
    );
    d.press(KeyCode::Tab).await;
    d.press(KeyCode::Tab).await;
    d.press(KeyCode::Enter).await; // 再送信, too soon: the code already sent still works
    assert_eq!(
        d.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("email_otp.still_valid")
    );
    d.server.clock.advance(60);
    d.press(KeyCode::Enter).await;
    assert_eq!(
        d.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("email_otp.resent")
    );
    // The focus is back on the code, for the new one.
    d.type_text(&mailed_code(&d.server)).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "home");
    expect_code(
        d.server.client.verify_email_code(&token, "123456").await,
        ErrorCode::FlowExpired,
    );
}

// ---- Step-up (issue 11): sensitive actions ask again, in place ------------------------------

impl Driver {
    /// The server's clock moves past the step-up window (the flow stays within its idle time).
    fn lapse_step_up(&self) {
        let window = self.server.settings.step_up_window_secs;
        assert!(window < self.server.settings.flow_idle_timeout_secs);
        self.server.clock.advance(window as i64 + 1);
    }

    fn banner(&self) -> Option<&'static str> {
        self.app.shell.banner.as_ref().map(|b| b.msg.key)
    }

    async fn home_view(&self) -> tobira::api::HomeView {
        let token = self.app.mode.session.token.clone().expect("a flow");
        self.server.client.home(&token).await.expect("home")
    }
}

#[tokio::test]
async fn a_lapsed_step_up_is_asked_in_place_and_the_refused_action_goes_ahead() {
    let mut d = Driver::at_totp_setup(Lang::Ja).await;
    let first = d.scan(80, 24, QrStyle::HalfBlocks).expect("first QR");
    let code = d.phone_code(&first);
    d.confirm_with(&code).await;
    assert_eq!(d.screen(), "home");

    // Past the window, adding a phone is refused: the prompt asks over the set-up screen.
    d.lapse_step_up();
    d.home_button(Intent::AddDevice).await;
    assert_eq!(d.screen(), "step_up", "{}", d.text());
    let text = d.text();
    assert!(
        text.contains("本人確認") && text.contains("認証アプリの追加"),
        "{text}"
    );
    // Esc: back to the top screen, nothing started on the server.
    d.press(KeyCode::Esc).await;
    assert_eq!(d.screen(), "home");
    assert_eq!(d.banner(), Some("step_up.cancelled"));
    let view = d.home_view().await;
    assert_eq!(view.second_factors.len(), 1);
    assert!(!view.enrollment_pending, "no enrollment was started");
    assert_eq!(
        view.step_up_secs_left, 0,
        "the top screen is told the window lapsed"
    );

    // Again; a wrong password is refused by the server at the field (and counts).
    d.home_button(Intent::AddDevice).await;
    assert_eq!(d.screen(), "step_up");
    d.type_text("not-my-password").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "step_up");
    assert_eq!(
        d.field_error(Field::CurrentPassword),
        Some("step_up.wrong_password")
    );
    let text = d.text();
    assert!(text.contains("パスワードが正しくありません。"), "{text}");
    assert!(!text.contains("not-my-password"), "{text}");

    // The right one: proved, the set-up goes out again by itself and shows a new QR code.
    d.type_text(NEW_PW).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "method_setup", "{}", d.text());
    let second = d.scan(120, 40, QrStyle::HalfBlocks).expect("second QR");
    assert_ne!(first, second);
    d.server.clock.advance(30);
    let code = d.phone_code(&second);
    d.confirm_with(&code).await;
    assert_eq!(d.screen(), "home", "{:?}", d.app.mode.session.errors);
    let view = d.home_view().await;
    assert_eq!(view.second_factors.len(), 2);
    let window = d.server.settings.step_up_window_secs;
    assert_eq!(view.step_up_secs_left, window - 30, "proved 30 s ago");

    // Past the window again, removing the first phone: proved with the second phone's code.
    d.lapse_step_up();
    d.home_button(Intent::Remove).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "step_up", "{}", d.text());
    assert!(d.text().contains("認証方法の削除"), "{}", d.text());
    assert_eq!(
        d.home_view().await.second_factors.len(),
        2,
        "not removed yet"
    );
    d.home_button(Intent::StepUpSwitch).await;
    let code = d.phone_code(&second);
    d.type_text(&code).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "home", "{}", d.text());
    assert_eq!(d.banner(), Some("home.removed"));
    assert_eq!(d.home_view().await.second_factors.len(), 1);
    d.server.stop().await;
}

#[tokio::test]
async fn repeated_wrong_step_up_answers_get_the_servers_wait_at_the_field() {
    let mut d = Driver::at_totp_setup(Lang::Ja).await;
    let uri = d.scan(80, 24, QrStyle::HalfBlocks).expect("QR");
    let code = d.phone_code(&uri);
    d.confirm_with(&code).await;
    assert_eq!(d.screen(), "home");
    d.lapse_step_up();
    d.home_button(Intent::HomeChangeEmail).await;
    d.type_text("hanako@example.jp").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "step_up", "{}", d.text());
    // The account's free failures, then the delay: said at the field like on sign-in.
    let free = d.server.settings.lockout.account.free_failures;
    for _ in 0..free {
        d.type_text("not-my-password").await;
        d.press(KeyCode::Enter).await;
        assert_eq!(
            d.field_error(Field::CurrentPassword),
            Some("step_up.wrong_password")
        );
    }
    d.type_text("not-my-password").await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "step_up");
    assert_eq!(
        d.field_error(Field::CurrentPassword),
        Some("err.rate_limited")
    );
    let text = d.text();
    assert!(text.contains("試行回数が多すぎます。"), "{text}");
    // After the wait the right password goes through and the change goes ahead.
    let wait = d.server.settings.lockout.account.max_delay_secs;
    d.server.clock.advance(wait as i64);
    d.type_text(NEW_PW).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.screen(), "home", "{}", d.text());
    assert_eq!(d.banner(), Some("change_email.sent"));
    assert!(
        d.server
            .mails()
            .iter()
            .any(|m| m.to.contains("hanako@example.jp")),
        "the verification link went to the new address"
    );
    d.server.stop().await;
}
