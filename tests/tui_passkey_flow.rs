//! The passkey screens driven like a member would, against the real server, with the real
//! event-loop half (`PasskeyRunner`: the probe, the ceremony on its own thread) and the soft
//! authenticator selected explicitly: registration at method set-up (transport choice, naming
//! with the default, the top screen), then sign-in with the passkey after the password. Also
//! what this machine offers without the soft authenticator, and Esc.

mod common;

use std::time::Duration;

use common::{DEMO_ID, TestServer};
use ratatui::crossterm::event::KeyCode;
use tobira::api::{Lang, Method, Step};
use tobira::passkey::{Limits, PasskeyTransport, SoftAuthenticator};
use tobira::tui::modes::member::screens::passkey::{PasskeyPhase, PasskeyPurpose};
use tobira::tui::modes::member::screens::{Intent, Item};
use tobira::tui::modes::member::{App, Command, Member, Msg};
use tobira::tui::shell::headless::Headless;
use tobira::tui::testing::{key, render_text};
use tobira::tui::{PasskeyRunner, Runtime};

const PW: &str = "N3w-passw0rd!";
/// A bound on every wait, so that a hang fails the test instead of blocking the suite.
const DEADLINE: Duration = Duration::from_secs(60);

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
    async fn new(soft: Option<SoftAuthenticator>) -> Self {
        let limits = Limits {
            connect: Duration::from_millis(300),
            ..Limits::default()
        };
        let server = common::start().await;
        let runtime = Runtime::new(
            server.client.clone(),
            None,
            PasskeyRunner::new(soft, limits),
        );
        Self {
            h: Headless::new(App::new(Lang::Ja, false), runtime),
            server,
        }
    }

    /// Feeds probe results and ceremony events until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        self.h.until(what, DEADLINE, done).await;
    }

    /// Clicks the button of `intent` on the current screen.
    async fn click(&mut self, intent: Intent) {
        let i = self
            .app
            .mode
            .session
            .screen
            .form()
            .index_of(Item::Button(intent))
            .unwrap_or_else(|| panic!("{intent:?} on {}", self.app.mode.session.screen.name()));
        let cmds = self.app.update(Msg::Click(
            tobira::tui::modes::member::screens::Target::Item(i),
        ));
        self.run(cmds).await;
    }

    fn phase(&self) -> Option<&PasskeyPhase> {
        match &self.app.mode.session.screen {
            tobira::tui::modes::member::Screen::Passkey(s) => Some(&s.phase),
            _ => None,
        }
    }

    /// The member has finished the first login choosing passkeys; the TUI signs in again.
    async fn sign_in_at_passkey_setup(&mut self) {
        let t = &self.server;
        let token = t.demo_at_credentials().await;
        t.client
            .choose_method(&token, Method::Passkey)
            .await
            .unwrap();
        t.client.set_credentials(&token, PW, None).await.unwrap();
        self.sign_in().await;
    }

    async fn sign_in(&mut self) {
        self.press(KeyCode::Enter).await; // welcome → sign-in
        self.type_text(DEMO_ID).await;
        self.press(KeyCode::Tab).await;
        self.type_text(PW).await;
        self.press(KeyCode::Enter).await;
    }
}

fn choosing(app: &App) -> bool {
    matches!(&app.mode.session.screen, tobira::tui::modes::member::Screen::Passkey(s) if matches!(s.phase, PasskeyPhase::Choose(_)))
}

#[tokio::test]
async fn register_at_method_setup_then_sign_in_with_the_soft_authenticator() {
    let mut d = Driver::new(Some(SoftAuthenticator::in_memory())).await;
    d.sign_in_at_passkey_setup().await;
    assert_eq!(d.app.mode.session.screen.name(), "passkey");
    d.until("the transport choice", choosing).await;
    // On this machine only the soft authenticator is usable: it is the first focused button.
    let Some(PasskeyPhase::Choose(report)) = d.phase() else {
        unreachable!()
    };
    assert!(report.is_usable(PasskeyTransport::Soft));
    let text = render_text(&d.app, 80, 24, true);
    assert!(text.contains("テスト用ソフト認証器"), "{text}");
    d.press(KeyCode::Enter).await;
    d.until("the naming step", |a| {
        matches!(&a.mode.session.screen, tobira::tui::modes::member::Screen::Passkey(s) if matches!(s.phase, PasskeyPhase::Naming))
    })
    .await;
    // The default name comes from the transport; the member keeps it (【7】「次へ」).
    let text = render_text(&d.app, 80, 24, true);
    assert!(text.contains("テスト用パスキー"), "{text}");
    d.press(KeyCode::Enter).await;
    assert_eq!(d.app.mode.session.screen.name(), "home");
    let member = d
        .server
        .store
        .member_by_user_id(DEMO_ID)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.step, Step::Home);
    let keys = d.server.store.passkeys(member.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "テスト用パスキー");

    // Sign out, sign in again: a member whose method is the passkey is asked for it at once.
    let token = d.app.mode.session.token.clone().unwrap();
    d.server.client.sign_out(&token).await.unwrap();
    d.app = App::new(Lang::Ja, false);
    d.sign_in().await;
    assert!(matches!(
        &d.app.mode.session.screen,
        tobira::tui::modes::member::Screen::Passkey(s) if s.purpose == PasskeyPurpose::SignIn
    ));
    d.until("the transport choice", choosing).await;
    // Esc leads to the code screen, which offers the passkey again.
    d.press(KeyCode::Esc).await;
    assert_eq!(d.app.mode.session.screen.name(), "second_factor");
    let button = passkey_button(&d.app);
    let cmds = d.app.update(Msg::Click(
        tobira::tui::modes::member::screens::Target::Item(button),
    ));
    d.run(cmds).await;
    d.until("the transport choice", choosing).await;
    d.press(KeyCode::Enter).await;
    d.until("the top screen", |a| a.mode.session.screen.name() == "home")
        .await;
    let keys = d.server.store.passkeys(member.id).await.unwrap();
    assert!(keys[0].last_used_at.is_some());

    // Renaming it on the top screen renames the passkey (ids are per kind: the request says so).
    d.until(
        "the top screen's list",
        |a| matches!(&a.mode.session.screen, tobira::tui::modes::member::Screen::Home(h) if !h.factors().is_empty()),
    )
    .await;
    d.click(Intent::Rename).await;
    if let tobira::tui::modes::member::Screen::Home(h) = &mut d.app.mode.session.screen {
        h.new_name.set_value("");
    }
    d.type_text("会社のキー").await;
    d.click(Intent::SaveRename).await;
    let keys = d.server.store.passkeys(member.id).await.unwrap();
    assert_eq!(keys[0].name, "会社のキー");
    // Removing the only second factor is not even asked (issue 12): the screen says why.
    d.click(Intent::Remove).await;
    assert_eq!(
        d.app.shell.banner.as_ref().map(|b| b.msg.key),
        Some("err.last_second_factor")
    );
    assert_eq!(d.server.store.passkeys(member.id).await.unwrap().len(), 1);
    d.server.stop().await;
}

#[tokio::test]
async fn the_pin_goes_to_the_ceremony_and_esc_cancels_it() {
    use tobira::passkey::ui::PasskeyEvent;
    use tobira::tui::modes::member::Screen;
    let mut d = Driver::new(Some(SoftAuthenticator::in_memory())).await;
    d.sign_in_at_passkey_setup().await;
    d.until("the transport choice", choosing).await;
    // The authenticator asks for a PIN (as a hardware key does): the masked entry shows.
    let mut cmds = d.app.update(Msg::Passkey(PasskeyEvent::Pin { attempt: 1 }));
    assert!(cmds.is_empty());
    assert!(
        matches!(d.phase(), Some(PasskeyPhase::Choose(_))),
        "no ceremony is running yet"
    );
    if let Screen::Passkey(s) = &mut d.app.mode.session.screen {
        s.show(PasskeyPhase::Waiting);
    }
    cmds = d.app.update(Msg::Passkey(PasskeyEvent::Pin { attempt: 2 }));
    assert!(cmds.is_empty());
    let text = render_text(&d.app, 80, 24, true);
    assert!(text.contains("PIN が正しくありません"), "{text}");
    d.app.update(Msg::Key(key(KeyCode::Enter)));
    assert!(
        matches!(d.phase(), Some(PasskeyPhase::Pin { attempt: 2 })),
        "an empty PIN is not sent"
    );
    for c in "4321".chars() {
        d.app.update(Msg::Key(key(KeyCode::Char(c))));
    }
    assert!(!render_text(&d.app, 80, 24, true).contains("4321"));
    let cmds = d.app.update(Msg::Key(key(KeyCode::Enter)));
    let [Command::PasskeyPin(pin)] = cmds.as_slice() else {
        panic!("{cmds:?}");
    };
    assert_eq!(pin.0.as_ref().as_ref().map(|p| p.as_str()), Some("4321"));
    assert!(
        !format!("{cmds:?}").contains("4321"),
        "the PIN never reaches a log line"
    );
    // Esc while waiting on the authenticator: the ceremony is cancelled, the choice is back.
    d.app.update(Msg::Passkey(PasskeyEvent::Touch));
    assert!(matches!(d.phase(), Some(PasskeyPhase::Touch)));
    let cmds = d.app.update(Msg::Key(key(KeyCode::Esc)));
    assert_eq!(cmds, vec![Command::CancelPasskey]);
    assert!(choosing(&d.app));
    d.server.stop().await;
}

/// The item index of the second-factor screen's passkey button.
fn passkey_button(app: &App) -> usize {
    app.mode
        .session
        .screen
        .form()
        .items()
        .iter()
        .position(|i| *i == Item::Button(Intent::PasskeySignIn))
        .expect("the second-factor screen offers the passkey")
}

#[tokio::test]
async fn without_the_soft_authenticator_this_machine_offers_nothing_and_says_why() {
    let mut d = Driver::new(None).await;
    d.sign_in_at_passkey_setup().await;
    d.until("the transport choice", choosing).await;
    let Some(PasskeyPhase::Choose(report)) = d.phase() else {
        unreachable!()
    };
    // The soft authenticator is never offered by default.
    assert!(
        !report
            .transports
            .iter()
            .any(|a| a.transport == PasskeyTransport::Soft)
    );
    let text = render_text(&d.app, 120, 40, true);
    for t in &report.transports {
        if let Err(e) = &t.usable {
            let reason = tobira::tui::i18n::t(Lang::Ja, e.message_key());
            assert!(text.contains(reason), "{reason} missing:\n{text}");
        }
    }
    // Esc at method set-up stays (there is no way back), and nothing hangs.
    d.press(KeyCode::Esc).await;
    assert_eq!(d.app.mode.session.screen.name(), "passkey");
    d.server.stop().await;
}

/// The code an app set up from `uri` shows at the server's time.
fn app_code(server: &TestServer, uri: &str) -> String {
    let totp = totp_rs::Totp::from_url(uri).expect("the app accepts the otpauth URI");
    let now = tobira::server::Clock::now(server.clock.as_ref());
    totp.generate(u64::try_from(now).expect("after 1970"))
        .to_string()
}

#[tokio::test]
async fn a_passkey_added_after_the_step_up_window_asks_first_then_registers() {
    let mut d = Driver::new(Some(SoftAuthenticator::in_memory())).await;
    // The member set up an authenticator app (through the API) and signs in with it.
    let t = &d.server;
    let token = t.demo_at_credentials().await;
    t.client.set_credentials(&token, PW, None).await.unwrap();
    let (token, _) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    let e = t.client.start_totp_enrollment(&token).await.unwrap();
    let code = app_code(t, &e.otpauth_uri);
    t.client
        .confirm_totp_enrollment(&token, &code, "iPhone")
        .await
        .unwrap();
    t.client.sign_out(&token).await.unwrap();
    t.clock.advance(30);
    d.sign_in().await;
    assert_eq!(d.app.mode.session.screen.name(), "second_factor");
    let code = app_code(&d.server, &e.otpauth_uri);
    d.type_text(&code).await;
    d.press(KeyCode::Enter).await;
    d.until("the top screen", |a| a.mode.session.screen.name() == "home")
        .await;

    // Past the step-up window, the member adds a passkey: the server refuses the ceremony's
    // start and the prompt asks over the passkey screen.
    let window = d.server.settings.step_up_window_secs;
    d.server.clock.advance(window as i64 + 1);
    d.click(Intent::ChangeMethod).await;
    d.click(Intent::AddMethod(Method::Passkey)).await;
    d.until("the transport choice", choosing).await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.app.mode.session.screen.name(), "step_up");
    let text = render_text(&d.app, 80, 24, true);
    assert!(text.contains("パスキーの登録"), "{text}");
    // Proved with the password: the ceremony starts by itself on the chosen authenticator.
    d.type_text(PW).await;
    d.press(KeyCode::Enter).await;
    d.until("the naming step", |a| {
        matches!(&a.mode.session.screen, tobira::tui::modes::member::Screen::Passkey(s) if matches!(s.phase, PasskeyPhase::Naming))
    })
    .await;
    d.press(KeyCode::Enter).await;
    assert_eq!(d.app.mode.session.screen.name(), "home");
    let member = d
        .server
        .store
        .member_by_user_id(DEMO_ID)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.server.store.passkeys(member.id).await.unwrap().len(), 1);
    d.server.stop().await;
}

#[tokio::test]
async fn changing_method_to_a_passkey_offers_to_remove_the_old_one_and_asks_the_passkey_first() {
    use tobira::tui::modes::member::Screen;
    use tobira::tui::modes::member::screens::home::HomeMode;
    let mut d = Driver::new(Some(SoftAuthenticator::in_memory())).await;
    // The member set up the emailed code.
    let token = d.server.demo_at_credentials().await;
    d.server
        .client
        .choose_method(&token, Method::EmailOtp)
        .await
        .unwrap();
    d.server
        .client
        .set_credentials(&token, PW, None)
        .await
        .unwrap();
    d.sign_in().await;
    assert_eq!(d.app.mode.session.screen.name(), "email_code_setup");
    let code = mailed_code(&d.server);
    d.type_text(&code).await;
    d.press(KeyCode::Enter).await;
    d.until(
        "the top screen's list",
        |a| matches!(&a.mode.session.screen, Screen::Home(h) if !h.factors().is_empty()),
    )
    .await;
    // 認証方法変更 → a passkey.
    d.click(Intent::ChangeMethod).await;
    d.click(Intent::AddMethod(Method::Passkey)).await;
    d.until("the transport choice", choosing).await;
    d.press(KeyCode::Enter).await;
    d.until("the naming step", |a| {
        matches!(&a.mode.session.screen, Screen::Passkey(s) if matches!(s.phase, PasskeyPhase::Naming))
    })
    .await;
    d.press(KeyCode::Enter).await;
    d.until(
        "the top screen's list",
        |a| matches!(&a.mode.session.screen, Screen::Home(h) if h.factors().len() == 2),
    )
    .await;
    // The banner names what was set up, and the old method is offered for removal.
    let text = render_text(&d.app, 80, 24, true);
    assert!(text.contains("パスキーを登録しました。"), "{text}");
    assert!(!text.contains("認証アプリを登録しました。"), "{text}");
    let Screen::Home(h) = &d.app.mode.session.screen else {
        unreachable!()
    };
    assert_eq!(h.mode, HomeMode::RemoveOld(vec![(Method::EmailOtp, 0)]));
    assert!(text.contains("demo0001@example.com"), "{text}");
    d.click(Intent::RemoveOld).await;
    d.until(
        "the list without the email method",
        |a| matches!(&a.mode.session.screen, Screen::Home(h) if h.mode == HomeMode::List && h.factors().len() == 1),
    )
    .await;
    let Screen::Home(h) = &d.app.mode.session.screen else {
        unreachable!()
    };
    assert_eq!(h.factors()[0].method, Method::Passkey);
    // The next sign-in asks for the passkey first.
    let token = d.app.mode.session.token.clone().unwrap();
    d.server.client.sign_out(&token).await.unwrap();
    d.app = App::new(Lang::Ja, false);
    d.sign_in().await;
    assert!(matches!(
        &d.app.mode.session.screen,
        Screen::Passkey(s) if s.purpose == PasskeyPurpose::SignIn
    ));
    d.server.stop().await;
}

/// The one-time password in the newest mail.
fn mailed_code(server: &TestServer) -> String {
    server
        .mails()
        .last()
        .expect("a mail")
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a code in the mail")
        .to_owned()
}
