//! The member TUI's app driven by key events against a real server (ephemeral port, SQLite,
//! the local outbox): every request the screens make goes over HTTP through the real client,
//! and the verification link is opened from the demo mailbox panel, as a lone demo user would.

mod common;

use common::{DEMO_ID, DEMO_INITIAL, TestServer, expect_code};
use ratatui::crossterm::event::KeyCode;
use tobira::api::{ErrorCode, Lang, Step};
use tobira::tui::app::{App, Command, Msg};
use tobira::tui::execute_call;
use tobira::tui::mailbox::{DirMailbox, Mailbox};
use tobira::tui::screens::Field;
use tobira::tui::testing::{key, render_text};

/// The app and what the event loop would connect it to, with every command run to its end
/// before the next key (the loop runs them as tasks; awaiting them here keeps the test exact).
struct Driver {
    app: App,
    server: TestServer,
    mailbox: DirMailbox,
    quit: bool,
}

impl Driver {
    async fn new(lang: Lang) -> Self {
        let server = common::start().await;
        let mailbox = DirMailbox::new(server.outbox.clone());
        Self {
            app: App::new(lang, true),
            server,
            mailbox,
            quit: false,
        }
    }

    async fn run(&mut self, cmds: Vec<Command>) {
        let mut queue = cmds;
        while !queue.is_empty() {
            let mut next = Vec::new();
            for cmd in queue {
                let msg = match cmd {
                    Command::Call { seq, call } => Msg::Response {
                        seq,
                        result: execute_call(&self.server.client, call).await,
                    },
                    Command::ListMailbox => {
                        Msg::Mailbox(self.mailbox.list().map_err(|e| e.to_string()))
                    }
                    Command::Quit { .. } => {
                        self.quit = true;
                        continue;
                    }
                };
                next.extend(self.app.update(msg));
            }
            queue = next;
        }
    }

    async fn press(&mut self, code: KeyCode) {
        let cmds = self.app.update(Msg::Key(key(code)));
        self.run(cmds).await;
    }

    async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c)).await;
        }
    }

    fn screen(&self) -> &'static str {
        self.app.screen.name()
    }

    fn text(&self) -> String {
        render_text(&self.app, 80, 24, true)
    }

    fn field_error(&self, field: Field) -> Option<&'static str> {
        self.app.error(field).map(|t| t.key)
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
        assert_eq!(self.screen(), "birth_date", "{:?}", self.app.banner);
        self.type_text("19801201").await;
        self.press(KeyCode::Enter).await;
        assert_eq!(self.screen(), "terms", "{:?}", self.app.errors);
        self.press(KeyCode::Enter).await; // 同意する
        assert_eq!(self.screen(), "email");
        self.press(KeyCode::Enter).await; // the address on file
        assert_eq!(self.screen(), "awaiting_verification");
    }

    /// Opens the newest mail's link from the demo mailbox panel.
    async fn open_link_from_mailbox(&mut self) {
        self.press(KeyCode::F(3)).await;
        let mb = self.app.mailbox.as_ref().expect("demo mailbox");
        assert!(mb.open, "F3 opens the mailbox panel");
        self.press(KeyCode::Enter).await;
    }

    /// Esc closes the mailbox panel (and does nothing else).
    async fn close_mailbox(&mut self) {
        let screen = self.screen();
        self.press(KeyCode::Esc).await;
        assert!(!self.app.mailbox.as_ref().expect("demo mailbox").open);
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
    assert_eq!(d.screen(), "complete", "{:?} {}", d.app.errors, d.text());
    assert!(d.app.token.is_none(), "the server ended the flow");

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
    let banner = d.app.banner.as_ref().map(|b| b.msg.key);
    assert_eq!(banner, Some("err.flow_expired"), "{}", d.text());
    d.server.stop().await;
}
