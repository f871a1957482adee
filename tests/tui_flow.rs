//! The member TUI's state machine, driven by key messages on the headless runtime against a
//! fake server (each request answered before the next key): the whole first login, errors next
//! to their fields, Esc-back, the language switch, time-outs.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tobira::api::{ApiError, ErrorCode, Lang, Method, Step};
use tobira::client::ClientError;
use tobira::tui::i18n::Tr;
use tobira::tui::mailbox::MailItem;
use tobira::tui::modes::member::screens::Field;
use tobira::tui::modes::member::{ApiCall, App, Command, Member, Msg, POLL_SECS, Reply, Screen};
use tobira::tui::testing::{FakeServer, Headless, ctrl, headless, key};

/// The app on the headless runtime, answered by the fake server.
type Driver = Headless<Member, FakeServer>;

fn new() -> Driver {
    headless(App::new(Lang::Ja, false), FakeServer::demo())
}

fn field_error(app: &App, field: Field) -> Option<&'static str> {
    app.mode.session.error(field).map(|t| t.key)
}

fn banner(app: &App) -> Option<&'static str> {
    app.shell.banner.as_ref().map(|b| b.msg.key)
}

/// Welcome → signed in → birth date screen.
async fn sign_in(h: &mut Driver) {
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    h.type_text("DEMO0001").await;
    h.press(KeyCode::Tab).await;
    h.type_text("12345678919801201").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        h.app.mode.session.screen.name(),
        "birth_date",
        "{:?}",
        h.app.shell.banner
    );
}

async fn to_terms(h: &mut Driver) {
    sign_in(h).await;
    // Year and month move on by themselves when full.
    h.type_text("19801201").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "terms");
}

async fn to_awaiting(h: &mut Driver) {
    to_terms(h).await;
    h.press(KeyCode::Enter).await; // 同意する (focused first)
    assert_eq!(h.app.mode.session.screen.name(), "email");
    h.press(KeyCode::Enter).await; // confirm the address on file
    assert_eq!(h.app.mode.session.screen.name(), "awaiting_verification");
}

async fn to_credentials(h: &mut Driver) {
    to_awaiting(h).await;
    h.server_mut().open_link();
    h.press(KeyCode::Enter).await; // 更新
    assert_eq!(h.app.mode.session.screen.name(), "choose_method");
    h.press(KeyCode::Down).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "new_credentials");
}

#[tokio::test]
async fn the_whole_first_login_by_keyboard() {
    let mut h = new();
    assert_eq!(h.app.mode.session.screen.manual_steps(), (1, 1));
    sign_in(&mut h).await;
    assert_eq!(h.app.mode.session.screen.manual_steps(), (3, 3));
    h.type_text("19801201").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "terms");
    // The terms were fetched in Japanese.
    let Screen::Terms(t) = &h.app.mode.session.screen else {
        panic!()
    };
    assert_eq!(t.doc.as_ref().unwrap().lang, Lang::Ja);
    h.press(KeyCode::PageDown).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "email");
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "awaiting_verification");
    assert_eq!(h.app.mode.session.screen.manual_steps(), (6, 7));

    // Polling: nothing yet, then the member opens the link on a phone.
    h.ticks(POLL_SECS).await;
    assert_eq!(h.app.mode.session.screen.name(), "awaiting_verification");
    let polls = h.server().log.iter().filter(|l| *l == "FlowStatus").count();
    assert_eq!(polls, 1);
    h.server_mut().open_link();
    h.ticks(POLL_SECS).await;
    assert_eq!(h.app.mode.session.screen.name(), "choose_method");
    assert_eq!(banner(&h.app), Some("awaiting.verified"));

    // 【8】 b. ワンタイムパスワード認証(アプリ)
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "new_credentials");
    assert_eq!(h.server().method, Some(Method::TotpApp));

    // 【9】 password, confirmation, new user ID.
    h.type_text("Sakura#2026").await;
    h.press(KeyCode::Enter).await; // next field
    h.type_text("Sakura#2026").await;
    h.press(KeyCode::Enter).await; // next field
    h.type_text("Taro2026").await;
    h.press(KeyCode::Enter).await; // submit
    assert_eq!(
        h.app.mode.session.screen.name(),
        "complete",
        "{:?}",
        h.app.mode.session.errors
    );
    assert_eq!(
        h.server().credentials,
        Some(("Sakura#2026".to_owned(), Some("taro2026".to_owned())))
    );
    assert!(
        h.app.mode.session.token.is_none(),
        "the server ended the flow"
    );
    assert_eq!(h.app.mode.session.screen.manual_steps(), (10, 10));

    // 【11】 sign out, then back to sign-in.
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "signed_out");
    assert_eq!(h.app.mode.session.screen.manual_steps(), (11, 11));
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");

    // Passwords never show in the server's log.
    assert!(
        h.server()
            .log
            .iter()
            .all(|l| !l.contains("Sakura") && !l.contains("1234567891"))
    );
}

#[tokio::test]
async fn the_first_login_can_be_clicked_through() {
    let mut h = new();
    h.click(0).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    h.click(0).await;
    h.type_text("demo0001").await;
    h.click(1).await;
    h.send(Msg::Paste("12345678919801201\n".into())).await;
    h.click(2).await;
    assert_eq!(h.app.mode.session.screen.name(), "birth_date");
}

#[tokio::test]
async fn wrong_password_is_shown_next_to_the_password() {
    let mut h = new();
    h.press(KeyCode::Enter).await;
    h.type_text("demo0001").await;
    h.press(KeyCode::Tab).await;
    h.type_text("wrong").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    assert_eq!(
        field_error(&h.app, Field::Password),
        Some("err.invalid_credentials")
    );
    // Typing again clears it.
    h.type_text("x").await;
    assert_eq!(field_error(&h.app, Field::Password), None);
}

#[tokio::test]
async fn empty_fields_are_not_sent() {
    let mut h = new();
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    let cmds = h.app.update(Msg::Key(key(KeyCode::Enter)));
    assert!(cmds.is_empty());
    assert_eq!(field_error(&h.app, Field::UserId), Some("err.required"));
    assert_eq!(field_error(&h.app, Field::Password), Some("err.required"));
    assert!(h.server().log.is_empty());
}

#[tokio::test]
async fn birth_date_is_checked_locally_then_by_the_server() {
    let mut h = new();
    sign_in(&mut h).await;
    h.type_text("19800230").await;
    let cmds = h.app.update(Msg::Key(key(KeyCode::Enter)));
    assert!(cmds.is_empty());
    assert_eq!(
        field_error(&h.app, Field::BirthDate),
        Some("err.birth_date_no_such")
    );
    for _ in 0..2 {
        h.press(KeyCode::Backspace).await;
    }
    h.type_text("02").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "birth_date");
    assert_eq!(
        field_error(&h.app, Field::BirthDate),
        Some("err.wrong_birth_date")
    );
}

#[tokio::test]
async fn declining_the_terms_signs_out() {
    let mut h = new();
    to_terms(&mut h).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&h.app), Some("terms.declined"));
    assert!(h.app.mode.session.token.is_none());
}

#[tokio::test]
async fn a_new_address_is_checked_and_sent() {
    let mut h = new();
    to_terms(&mut h).await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Tab).await;
    h.type_text("not-an-address").await;
    let cmds = h.app.update(Msg::Key(key(KeyCode::Enter)));
    assert!(cmds.is_empty());
    assert_eq!(field_error(&h.app, Field::Email), Some("err.invalid_email"));
    h.send(Msg::Key(ctrl('u'))).await;
    h.type_text("hanako@Example.JP").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "awaiting_verification");
    assert_eq!(h.server().email.as_deref(), Some("hanako@example.jp"));
}

#[tokio::test]
async fn esc_goes_back_where_the_journey_allows() {
    let mut h = new();
    to_awaiting(&mut h).await;
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "email");
    assert_eq!(h.server().step, Step::Email);
    // The email screen cannot go back: it says so.
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "email");
    assert_eq!(banner(&h.app), Some("msg.no_back"));
    h.press(KeyCode::Enter).await;
    h.server_mut().open_link();
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Enter).await; // passkey
    assert_eq!(h.app.mode.session.screen.name(), "new_credentials");
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "choose_method");
    assert_eq!(h.server().step, Step::ChooseMethod);
    // The previous choice stays selected.
    let Screen::ChooseMethod(c) = &h.app.mode.session.screen else {
        panic!()
    };
    assert_eq!(c.focus, 0);

    // Birth date → sign-in (ending the flow); sign-in → welcome.
    let mut h = new();
    sign_in(&mut h).await;
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    assert!(h.server().token.is_none());
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "welcome");
}

#[tokio::test]
async fn refresh_says_not_yet_and_resend_says_sent() {
    let mut h = new();
    to_awaiting(&mut h).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(banner(&h.app), Some("awaiting.not_yet"));
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(banner(&h.app), Some("awaiting.resent"));
    assert!(h.server().log.iter().any(|l| l == "ResendEmail"));
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "email");
}

#[tokio::test]
async fn flow_expired_returns_to_sign_in_with_the_timed_out_message() {
    let mut h = new();
    to_awaiting(&mut h).await;
    h.server_mut().expire();
    h.ticks(POLL_SECS).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&h.app), Some("err.flow_expired"));
    assert!(h.app.mode.session.token.is_none());
    let en = h.app.shell.banner.as_ref().unwrap().msg.text(Lang::En);
    assert!(en.contains("start again"), "{en}");
    // No more polling on the sign-in screen.
    let n = h.server().log.len();
    h.ticks(10).await;
    assert_eq!(h.server().log.len(), n);
}

#[tokio::test]
async fn rules_are_shown_next_to_their_fields() {
    let mut h = new();
    to_credentials(&mut h).await;
    // Local pre-check: too short, mismatch, bad user ID: nothing is sent.
    h.type_text("short").await;
    h.press(KeyCode::Tab).await;
    h.type_text("other").await;
    h.press(KeyCode::Tab).await;
    h.type_text("abcdefghi").await;
    let cmds = h.app.update(Msg::Key(key(KeyCode::Enter)));
    assert!(cmds.is_empty());
    assert_eq!(
        field_error(&h.app, Field::NewPassword),
        Some("err.weak_password.length")
    );
    assert_eq!(
        field_error(&h.app, Field::Confirm),
        Some("err.confirm_mismatch")
    );
    assert_eq!(
        field_error(&h.app, Field::NewUserId),
        Some("err.invalid_user_id.digit")
    );

    // A user ID taken on the server.
    let mut h = new();
    to_credentials(&mut h).await;
    h.type_text("Sakura#2026").await;
    h.press(KeyCode::Tab).await;
    h.type_text("Sakura#2026").await;
    h.press(KeyCode::Tab).await;
    h.type_text("taken0001").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "new_credentials");
    assert_eq!(
        field_error(&h.app, Field::NewUserId),
        Some("err.user_id_taken")
    );

    // weak_password and invalid_user_id answers carry their rule.
    let mut e = ApiError::new(ErrorCode::WeakPassword, "weak");
    e.rule = Some("characters".into());
    h.server_mut().fail_next = Some(ClientError::Api(e));
    h.press(KeyCode::Enter).await;
    assert_eq!(
        field_error(&h.app, Field::NewPassword),
        Some("err.weak_password.characters")
    );
    let mut e = ApiError::new(ErrorCode::InvalidUserId, "bad");
    e.rule = Some("letter".into());
    h.server_mut().fail_next = Some(ClientError::Api(e));
    h.press(KeyCode::Enter).await;
    assert_eq!(
        field_error(&h.app, Field::NewUserId),
        Some("err.invalid_user_id.letter")
    );
}

#[tokio::test]
async fn every_error_code_has_a_translated_message() {
    let codes = [
        (ErrorCode::InvalidCredentials, Field::Password),
        (ErrorCode::RateLimited, Field::Password),
        (ErrorCode::BadRequest, Field::Form),
        (ErrorCode::NotFound, Field::Form),
        (ErrorCode::Internal, Field::Form),
    ];
    for (code, field) in codes {
        let mut h = new();
        h.press(KeyCode::Enter).await;
        h.type_text("demo0001").await;
        h.press(KeyCode::Tab).await;
        h.type_text("x").await;
        let mut e = ApiError::new(code, "m");
        e.retry_after_secs = Some(42);
        h.server_mut().fail_next = Some(ClientError::Api(e));
        h.press(KeyCode::Enter).await;
        let msg: &Tr = if field == Field::Form {
            &h.app.shell.banner.as_ref().unwrap().msg
        } else {
            h.app.mode.session.error(field).unwrap()
        };
        for lang in [Lang::Ja, Lang::En] {
            let text = msg.text(lang);
            assert!(!text.contains("err."), "{code:?} untranslated: {text}");
            if code == ErrorCode::RateLimited {
                assert!(text.contains("42"), "{text}");
            }
        }
    }
    for (err, key) in [
        (ClientError::Transport("refused".into()), "err.transport"),
        (ClientError::Decode("HTTP 502".into()), "err.decode"),
    ] {
        let mut h = new();
        h.press(KeyCode::Enter).await;
        h.type_text("demo0001").await;
        h.press(KeyCode::Tab).await;
        h.type_text("x").await;
        h.server_mut().fail_next = Some(err);
        h.press(KeyCode::Enter).await;
        assert_eq!(banner(&h.app), Some(key));
        assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    }
}

#[tokio::test]
async fn too_many_attempts_and_unauthorized_end_the_flow() {
    for (code, key) in [
        (ErrorCode::TooManyAttempts, "err.too_many_attempts"),
        (ErrorCode::Unauthorized, "err.unauthorized"),
    ] {
        let mut h = new();
        sign_in(&mut h).await;
        h.type_text("19800101").await;
        h.server_mut().fail_next = Some(ClientError::Api(ApiError::new(code, "x")));
        h.press(KeyCode::Enter).await;
        assert_eq!(h.app.mode.session.screen.name(), "sign_in");
        assert_eq!(banner(&h.app), Some(key));
    }
}

#[tokio::test]
async fn out_of_order_moves_to_the_servers_step() {
    let mut h = new();
    to_awaiting(&mut h).await;
    // The link was opened and the member chose a method elsewhere; this terminal resends.
    h.server_mut().open_link();
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "choose_method");
    assert_eq!(banner(&h.app), Some("err.out_of_order"));
}

#[tokio::test]
async fn language_switches_on_every_screen_and_terms_are_fetched_again() {
    let mut h = new();
    for k in [key(KeyCode::F(2)), ctrl('l')] {
        let before = h.app.shell.lang;
        h.send(Msg::Key(k)).await;
        assert_ne!(h.app.shell.lang, before);
    }
    to_terms(&mut h).await;
    assert_eq!(h.app.shell.lang, Lang::Ja);
    let cmds = h.app.update(Msg::Key(key(KeyCode::F(2))));
    assert_eq!(h.app.shell.lang, Lang::En);
    // The runtime hears of the switch first (the server's mail follows it), then the terms
    // are fetched in English.
    assert!(matches!(
        cmds.as_slice(),
        [
            Command::Lang(Lang::En),
            Command::Call {
                call: ApiCall::Terms(Lang::En),
                ..
            }
        ]
    ));
    h.run(cmds).await;
    let Screen::Terms(t) = &h.app.mode.session.screen else {
        panic!()
    };
    assert_eq!(t.doc.as_ref().unwrap().lang, Lang::En);
    // The sign-in call carries the language.
    let mut h = new();
    h.send(Msg::Key(key(KeyCode::F(2)))).await;
    sign_in(&mut h).await;
    assert!(h.server().log[0].contains("En"), "{:?}", h.server().log);
}

#[tokio::test]
async fn stale_answers_and_key_releases_are_ignored() {
    let mut h = new();
    h.press(KeyCode::Enter).await;
    h.type_text("demo0001").await;
    h.press(KeyCode::Tab).await;
    h.type_text("12345678919801201").await;
    let cmds = h.app.update(Msg::Key(key(KeyCode::Enter)));
    let [Command::Call { seq, call }] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert!(h.app.waiting());
    // While waiting, Enter sends nothing more.
    assert!(h.app.update(Msg::Key(key(KeyCode::Enter))).is_empty());
    let reply = h.server_mut().handle(call);
    h.send(Msg::Response {
        seq: seq + 100,
        result: Ok(Reply::SignedOut),
    })
    .await;
    assert!(h.app.waiting());
    h.send(Msg::Response {
        seq: *seq,
        result: reply,
    })
    .await;
    assert_eq!(h.app.mode.session.screen.name(), "birth_date");
    let release = KeyEvent::new_with_kind(
        KeyCode::Char('1'),
        KeyModifiers::NONE,
        KeyEventKind::Release,
    );
    h.send(Msg::Key(release)).await;
    let Screen::BirthDate(b) = &h.app.mode.session.screen else {
        panic!()
    };
    assert_eq!(b.year.value(), "");
}

#[tokio::test]
async fn ctrl_c_quits_and_ends_the_open_flow() {
    let mut h = new();
    sign_in(&mut h).await;
    let cmds = h.app.update(Msg::Key(ctrl('c')));
    assert!(matches!(
        cmds.as_slice(),
        [Command::Quit { sign_out: Some(_) }]
    ));
    assert!(h.app.should_quit());
    let mut h = new();
    let cmds = h.app.update(Msg::Terminate);
    assert!(matches!(
        cmds.as_slice(),
        [Command::Quit { sign_out: None }]
    ));
}

#[tokio::test]
async fn forgot_entries_open_the_recovery_screens() {
    let mut h = new();
    h.press(KeyCode::Enter).await;
    h.click(4).await;
    assert_eq!(h.app.mode.session.screen.name(), "forgot_id");
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    h.click(3).await;
    let Screen::SignIn(si) = &h.app.mode.session.screen else {
        panic!()
    };
    assert!(si.password.revealed);

    // Forgot the password: details, then the mailed code and a new password, then sign-in.
    h.click(5).await;
    assert_eq!(h.app.mode.session.screen.name(), "forgot_password");
    h.type_text("demo0001").await;
    h.press(KeyCode::Tab).await;
    h.type_text("1980-12-01").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "forgot_password_reset");
    assert!(
        h.server()
            .log
            .iter()
            .any(|l| l == "ForgotPassword(demo0001, <birth date>)"),
        "{:?}",
        h.server().log
    );
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Tab).await;
    h.type_text("Brand-n3w-pass").await;
    h.press(KeyCode::Tab).await;
    h.type_text("Brand-n3w-pasS").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        h.app.mode.session.screen.name(),
        "forgot_password_reset",
        "confirmation differs"
    );
    h.press(KeyCode::Backspace).await;
    h.type_text("s").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&h.app), Some("recover.done"));
    assert!(
        h.server()
            .log
            .iter()
            .all(|l| !l.contains("Brand-n3w") && !l.contains(tobira::tui::testing::FAKE_CODE)),
        "secrets never reach the log: {:?}",
        h.server().log
    );
}

#[tokio::test]
async fn demo_mailbox_opens_the_verification_link() {
    let mut h = headless(App::new(Lang::En, true), FakeServer::demo());
    to_awaiting(&mut h).await;
    let rest = h.press(KeyCode::F(3)).await;
    assert_eq!(rest, vec![Command::ListMailbox]);
    h.send(Msg::Mailbox(Ok(vec![MailItem {
        path: "1.eml".into(),
        to: "taro.yamada@example.jp".into(),
        subject: "Confirm your email address".into(),
        date: String::new(),
        links: vec!["http://localhost/verify?t=abc".into()],
        highlight: None,
    }])))
    .await;
    let rest = h.ticks(1).await;
    assert!(rest.contains(&Command::ListMailbox));
    h.press(KeyCode::Enter).await;
    assert!(
        h.server().log.iter().any(|l| l == "OpenLink(<link>)"),
        "{:?}",
        h.server().log
    );
    assert_eq!(h.app.mode.session.screen.name(), "choose_method");
    h.press(KeyCode::Esc).await;
    assert!(!h.app.mode.session.mailbox.as_ref().unwrap().open);
    let mut h = new();
    assert!(h.press(KeyCode::F(3)).await.is_empty());
}

#[tokio::test]
async fn a_member_at_method_setup_without_a_method_is_told_and_signed_out() {
    // A record the server should never produce (method set-up, no method): a clear screen,
    // not a crash or an empty set-up.
    let mut h = new();
    h.server_mut().step = Step::MethodSetup;
    h.server_mut().method = None;
    h.press(KeyCode::Enter).await;
    h.type_text("demo0001").await;
    h.press(KeyCode::Tab).await;
    h.type_text("12345678919801201").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "method_unavailable");
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "signed_out");
    assert!(h.server().token.is_none());
}

#[tokio::test]
async fn the_email_code_is_mailed_on_arrival_and_sets_the_method_up() {
    let mut h = new();
    h.server_mut().step = Step::MethodSetup;
    h.server_mut().method = Some(Method::EmailOtp);
    h.press(KeyCode::Enter).await;
    h.type_text("demo0001").await;
    h.press(KeyCode::Tab).await;
    h.type_text("12345678919801201").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "email_code_setup");
    assert_eq!(
        h.server()
            .log
            .iter()
            .filter(|l| *l == "SendEmailCode")
            .count(),
        1,
        "{:?}",
        h.server().log
    );
    // Resend asks again; a wrong code is refused with the email wording and cleared.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        h.server()
            .log
            .iter()
            .filter(|l| *l == "SendEmailCode")
            .count(),
        2
    );
    h.press(KeyCode::BackTab).await;
    h.press(KeyCode::BackTab).await;
    h.type_text("000000").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "email_code_setup");
    assert!(
        h.server().log.iter().all(|l| !l.contains("000000")),
        "codes never reach the log: {:?}",
        h.server().log
    );
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
}

#[tokio::test]
async fn the_email_code_can_be_added_from_the_top_screen() {
    let mut h = new();
    h.server_mut().step = Step::MethodSetup;
    h.server_mut().method = Some(Method::EmailOtp);
    h.press(KeyCode::Enter).await;
    h.type_text("demo0001").await;
    h.press(KeyCode::Tab).await;
    h.type_text("12345678919801201").await;
    h.press(KeyCode::Enter).await;
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    let sent = h
        .server()
        .log
        .iter()
        .filter(|l| *l == "SendEmailCode")
        .count();
    // Clicks what a member would: change method, then the emailed code.
    use tobira::tui::modes::member::screens::{Intent, Item};
    for wanted in [Intent::ChangeMethod, Intent::AddMethod(Method::EmailOtp)] {
        let items = h.app.mode.session.screen.form().items();
        let i = items
            .iter()
            .position(|it| *it == Item::Button(wanted))
            .unwrap_or_else(|| panic!("no {wanted:?} in {items:?}"));
        h.click(i).await;
    }
    assert_eq!(h.app.mode.session.screen.name(), "email_code_setup");
    assert_eq!(
        h.server()
            .log
            .iter()
            .filter(|l| *l == "SendEmailCode")
            .count(),
        sent + 1
    );
    h.press(KeyCode::Esc).await;
    assert_eq!(
        h.app.mode.session.screen.name(),
        "home",
        "Esc goes back to the top screen"
    );

    // Change email: the link goes out and the top screen says where.
    let items = h.app.mode.session.screen.form().items();
    let i = items
        .iter()
        .position(|it| *it == Item::Button(Intent::HomeChangeEmail))
        .expect("change email on the top screen");
    h.click(i).await;
    assert_eq!(h.app.mode.session.screen.name(), "change_email");
    h.type_text("hanako@example.jp").await;
    h.press(KeyCode::Enter).await;
    assert!(
        h.server()
            .log
            .iter()
            .any(|l| l == "ChangeEmail(\"hanako@example.jp\")"),
        "{:?}",
        h.server().log
    );
    assert_eq!(h.app.mode.session.screen.name(), "home");
    assert_eq!(banner(&h.app), Some("change_email.sent"));
}

#[tokio::test]
async fn idle_ticks_do_not_redraw() {
    let mut h = new();
    h.app.shell.dirty = false;
    h.ticks(5).await;
    assert!(!h.app.shell.dirty, "an idle welcome screen is not redrawn");
    // Nor a waiting screen whose checks find nothing new.
    to_awaiting(&mut h).await;
    h.app.shell.dirty = false;
    h.ticks(3 * POLL_SECS).await;
    assert!(h.server().log.iter().filter(|l| *l == "FlowStatus").count() >= 3);
    assert!(!h.app.shell.dirty);
    h.server_mut().open_link();
    h.ticks(POLL_SECS).await;
    assert!(h.app.shell.dirty);
}

#[tokio::test]
async fn terms_that_failed_to_load_are_fetched_again() {
    let mut h = new();
    sign_in(&mut h).await;
    h.type_text("19801201").await;
    h.server_mut().fail_next = Some(ClientError::Transport("reset".into()));
    // The birth date succeeds; the terms fetch right after it fails.
    let cmds = h.app.update(Msg::Key(key(KeyCode::Enter)));
    let [Command::Call { seq, call }] = cmds.as_slice() else {
        panic!()
    };
    let ok = {
        h.server_mut().fail_next.take();
        let r = h.server_mut().handle(call);
        h.server_mut().fail_next = Some(ClientError::Transport("reset".into()));
        r
    };
    h.send(Msg::Response {
        seq: *seq,
        result: ok,
    })
    .await;
    assert_eq!(h.app.mode.session.screen.name(), "terms");
    assert_eq!(banner(&h.app), Some("err.transport"));
    let Screen::Terms(t) = &h.app.mode.session.screen else {
        panic!()
    };
    assert!(t.doc.is_none());
    // 同意する cannot agree to unseen terms: it fetches them again.
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "terms");
    let Screen::Terms(t) = &h.app.mode.session.screen else {
        panic!()
    };
    assert!(t.doc.is_some());
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "email");
}

// ---- Stage 2 (authenticator app), the second factor, the top screen ----------------------

/// Signs `s`'s member in with their password.
async fn sign_in_as(h: &mut Driver) {
    if h.app.mode.session.screen.name() == "welcome" {
        h.press(KeyCode::Enter).await;
    }
    let (id, pw) = (h.server().user_id.clone(), h.server().password.clone());
    h.type_text(&id).await;
    h.press(KeyCode::Tab).await;
    h.type_text(&pw).await;
    h.press(KeyCode::Enter).await;
}

fn enroll_state(app: &App) -> &tobira::tui::modes::member::screens::totp_enroll::TotpEnrollState {
    match &app.mode.session.screen {
        Screen::TotpEnroll(e) => e,
        other => panic!("not the set-up screen: {}", other.name()),
    }
}

fn home_state(app: &App) -> &tobira::tui::modes::member::screens::home::HomeState {
    match &app.mode.session.screen {
        Screen::Home(h) => h,
        other => panic!("not the top screen: {}", other.name()),
    }
}

#[tokio::test]
async fn stage_two_sets_up_the_app_with_the_keys_a_member_would_use() {
    use tobira::tui::modes::member::screens::totp_enroll::EnrollView;
    use tobira::tui::widgets::qr::QrStyle;
    let mut h = headless(App::new(Lang::Ja, false), FakeServer::at_method_setup());
    sign_in_as(&mut h).await;
    assert_eq!(h.app.mode.session.screen.name(), "method_setup");
    assert_eq!(h.server().enrollments_started, 1);
    assert_eq!(enroll_state(&h.app).view, EnrollView::Scan);
    // Stage 2 must be finished: Esc does not leave it.
    h.press(KeyCode::Esc).await;
    assert_eq!(banner(&h.app), Some("msg.no_back"));
    assert_eq!(h.app.mode.session.screen.name(), "method_setup");
    // F4 switches the drawing, and the choice is kept for the next QR code.
    h.press(KeyCode::F(4)).await;
    assert_eq!(h.app.mode.session.qr_style, QrStyle::Spaces);
    assert_eq!(enroll_state(&h.app).style, QrStyle::Spaces);
    h.press(KeyCode::F(4)).await;
    assert_eq!(h.app.mode.session.qr_style, QrStyle::HalfBlocks);
    // スキャンできませんか? and back with Esc.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(enroll_state(&h.app).view, EnrollView::Key);
    h.press(KeyCode::Esc).await;
    assert_eq!(enroll_state(&h.app).view, EnrollView::Scan);
    // 次へ: the device name is filled in, the focus is on the code.
    h.press(KeyCode::Enter).await;
    let e = enroll_state(&h.app);
    assert_eq!(e.view, EnrollView::Confirm);
    assert_eq!(e.device_name.value(), "スマートフォン");
    assert_eq!(e.focus, 1);
    // A full-width paste from a phone's clipboard with a space in it.
    h.send(Msg::Paste("６５４ ３２１".into())).await;
    assert_eq!(enroll_state(&h.app).code.value(), "６５４３２１");
    h.press(KeyCode::Enter).await;
    assert!(
        h.server()
            .log
            .iter()
            .any(|l| l.contains("ConfirmTotp(<code>"))
    );
    assert_eq!(field_error(&h.app, Field::TotpCode), Some("err.wrong_code"));
    let e = enroll_state(&h.app);
    assert!(e.failed, "the manual's hints are shown");
    assert_eq!(
        e.code.value(),
        "",
        "the old code is cleared for the newest one"
    );
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    assert_eq!(home_state(&h.app).factors().len(), 1);
    assert_eq!(banner(&h.app), Some("home.added"));
    // No code or secret in what the fake server logged.
    assert!(
        h.server()
            .log
            .iter()
            .all(|l| !l.contains(tobira::tui::testing::FAKE_CODE) && !l.contains("GEZD"))
    );
}

#[tokio::test]
async fn the_code_is_asked_after_the_password_and_esc_signs_out() {
    let mut h = headless(App::new(Lang::En, false), FakeServer::with_devices(1));
    sign_in_as(&mut h).await;
    assert_eq!(h.app.mode.session.screen.name(), "second_factor");
    h.press(KeyCode::Enter).await;
    assert_eq!(
        field_error(&h.app, Field::TotpCode),
        Some("totp.code_required")
    );
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&h.app), Some("msg.signed_out"));
    assert!(
        h.server().token.is_none(),
        "the flow was ended on the server"
    );
    sign_in_as(&mut h).await;
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
}

#[tokio::test]
async fn changing_method_offers_to_remove_the_old_devices() {
    use tobira::tui::modes::member::screens::home::HomeMode;
    use tobira::tui::modes::member::screens::{Intent, Item};
    let mut h = headless(App::new(Lang::Ja, false), FakeServer::with_devices(2));
    sign_in_as(&mut h).await;
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    let click = async |h: &mut Driver, intent: Intent| {
        let i = h
            .app
            .mode
            .session
            .screen
            .form()
            .index_of(Item::Button(intent))
            .unwrap_or_else(|| panic!("{intent:?}"));
        h.click(i).await;
    };
    click(&mut h, Intent::ChangeMethod).await;
    assert_eq!(home_state(&h.app).mode, HomeMode::ChangeMethod);
    // A passkey (issue 6): the passkey screen opens and probes the transports, nothing is
    // sent yet; Esc goes back to the top screen.
    let before = h.server().log.len();
    click(&mut h, Intent::AddMethod(Method::Passkey)).await;
    assert_eq!(h.app.mode.session.screen.name(), "passkey");
    assert_eq!(h.server().log.len(), before);
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    click(&mut h, Intent::ChangeMethod).await;
    click(&mut h, Intent::AddMethod(Method::TotpApp)).await;
    assert_eq!(h.app.mode.session.screen.name(), "method_setup");
    assert_eq!(enroll_state(&h.app).device_name.value(), "スマートフォン 3");
    h.press(KeyCode::Enter).await;
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        home_state(&h.app).mode,
        HomeMode::RemoveOld(vec![(Method::TotpApp, 1), (Method::TotpApp, 2)])
    );
    click(&mut h, Intent::RemoveOld).await;
    assert_eq!(home_state(&h.app).mode, HomeMode::List);
    assert_eq!(banner(&h.app), Some("home.removed"));
    let names: Vec<_> = h.server().devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["スマートフォン 3"]);
    // Cancel from an enrollment started on the top screen goes back to it.
    click(&mut h, Intent::AddDevice).await;
    assert_eq!(h.app.mode.session.screen.name(), "method_setup");
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    // Up/Down select a device; clicking a row selects it too.
    click(&mut h, Intent::SignOut).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&h.app), Some("msg.signed_out"));
}

#[tokio::test]
async fn the_email_method_is_not_renamed_but_changed_with_the_address() {
    use tobira::tui::modes::member::screens::home::HomeMode;
    use tobira::tui::modes::member::screens::{Intent, Item};
    let mut h = headless(App::new(Lang::En, false), FakeServer::with_devices(1));
    h.server_mut().devices.push(tobira::api::SecondFactor {
        id: 0,
        method: Method::EmailOtp,
        name: "taro.yamada@example.jp".into(),
        created_at: tobira::tui::testing::FAKE_NOW,
        last_used_at: None,
    });
    sign_in_as(&mut h).await;
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Down).await;
    let i = h
        .app
        .mode
        .session
        .screen
        .form()
        .index_of(Item::Button(Intent::Rename))
        .expect("rename");
    h.click(i).await;
    assert_eq!(banner(&h.app), Some("home.rename_email"));
    assert_eq!(home_state(&h.app).mode, HomeMode::List);
}

// ---- Step-up (issue 11): a sensitive action asks for the password again, in place ----------

/// The member at the top screen with two apps, the step-up window lapsed on the server.
async fn home_with_lapsed_step_up(lang: Lang) -> Driver {
    let mut h = headless(App::new(lang, false), FakeServer::with_devices(2));
    sign_in_as(&mut h).await;
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    h.server_mut().step_up_needed = true;
    h
}

async fn click_button(h: &mut Driver, intent: tobira::tui::modes::member::screens::Intent) {
    use tobira::tui::modes::member::screens::Item;
    let i = h
        .app
        .mode
        .session
        .screen
        .form()
        .index_of(Item::Button(intent))
        .unwrap_or_else(|| panic!("{intent:?} on {}", h.app.mode.session.screen.name()));
    h.click(i).await;
}

fn step_up_state(app: &App) -> &tobira::tui::modes::member::screens::step_up::StepUpState {
    match &app.mode.session.screen {
        Screen::StepUp(s) => s,
        other => panic!("not the step-up prompt: {}", other.name()),
    }
}

fn calls(h: &Driver, prefix: &str) -> usize {
    h.server()
        .log
        .iter()
        .filter(|l| l.starts_with(prefix))
        .count()
}

#[tokio::test]
async fn a_refused_removal_asks_for_the_password_in_place_then_goes_ahead() {
    use tobira::tui::modes::member::screens::Intent;
    let mut h = home_with_lapsed_step_up(Lang::Ja).await;
    click_button(&mut h, Intent::Remove).await;
    click_button(&mut h, Intent::ConfirmRemove).await;
    // Refused: the prompt opens over the confirmation, nothing was removed.
    assert_eq!(h.app.mode.session.screen.name(), "step_up");
    assert_eq!(calls(&h, "RemoveFactor"), 1);
    assert_eq!(h.server().devices.len(), 2);
    let s = step_up_state(&h.app);
    assert!(
        s.has_app,
        "the member's apps are offered besides the password"
    );
    assert_eq!(s.under.name(), "home");
    let text = h.app.mode.session.screen.name();
    assert_eq!(text, "step_up");
    let screen = tobira::tui::testing::render_text(&h.app, 80, 24, true);
    assert!(screen.contains("本人確認"), "{screen}");
    assert!(screen.contains("認証方法の削除"), "{screen}");

    // A wrong password: said at the field, the field emptied, nothing sent again.
    h.type_text("not-my-password").await;
    let debug = format!("{:?}", h.app);
    assert!(!debug.contains("not-my-password"), "typed text in Debug");
    let screen = tobira::tui::testing::render_text(&h.app, 120, 40, true);
    assert!(!screen.contains("not-my-password"), "{screen}");
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "step_up");
    assert_eq!(
        field_error(&h.app, Field::CurrentPassword),
        Some("step_up.wrong_password")
    );
    assert_eq!(step_up_state(&h.app).secret.value(), "");
    assert_eq!(calls(&h, "RemoveFactor"), 1);
    assert!(
        h.server()
            .log
            .iter()
            .any(|l| l == "StepUp(Password, <secret>)")
    );

    // Too many attempts: the server's wait is said at the field, as on the other screens.
    let mut e = ApiError::new(ErrorCode::RateLimited, "slow down");
    e.retry_after_secs = Some(42);
    h.server_mut().fail_next = Some(ClientError::Api(e));
    h.type_text("again-wrong").await;
    h.press(KeyCode::Enter).await;
    let msg = h.app.mode.session.error(Field::CurrentPassword).unwrap();
    assert_eq!(msg.key, "err.rate_limited");
    assert!(
        msg.text(Lang::Ja)
            .starts_with("試行回数が多すぎます。42秒後")
    );

    // The right password: proved, and the removal goes out again by itself and is done.
    let pw = h.server().password.clone();
    h.type_text(&pw).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    assert_eq!(banner(&h.app), Some("home.removed"));
    assert_eq!(calls(&h, "RemoveFactor"), 2);
    assert_eq!(h.server().devices.len(), 1);
    assert!(
        h.server().log.iter().all(|l| !l.contains(&pw)),
        "no password in the request log"
    );
}

#[tokio::test]
async fn esc_at_the_step_up_leaves_for_the_top_screen_with_nothing_changed() {
    use tobira::tui::modes::member::screens::Intent;
    let mut h = home_with_lapsed_step_up(Lang::En).await;
    click_button(&mut h, Intent::AddDevice).await;
    assert_eq!(h.app.mode.session.screen.name(), "step_up");
    assert_eq!(h.server().enrollments_started, 0);
    h.type_text("half-typed").await;
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    assert_eq!(banner(&h.app), Some("step_up.cancelled"));
    assert_eq!(h.server().enrollments_started, 0);
    assert_eq!(h.server().devices.len(), 2);
    assert_eq!(calls(&h, "StepUp"), 0, "nothing was sent");
    // The top screen now knows the window has lapsed: the same action asks before anything is
    // sent, and nothing waits for an answer. The cancel button leaves too.
    click_button(&mut h, Intent::AddDevice).await;
    assert_eq!(h.app.mode.session.screen.name(), "step_up");
    assert_eq!(calls(&h, "StartTotp"), 1, "asked before sending");
    assert!(!h.app.waiting());
    click_button(&mut h, Intent::StepUpCancel).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    assert_eq!(h.server().enrollments_started, 0);
    // Asked first once more, and proved: now the set-up is sent, once.
    click_button(&mut h, Intent::AddDevice).await;
    assert_eq!(calls(&h, "StartTotp"), 1);
    let pw = h.server().password.clone();
    h.type_text(&pw).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "method_setup");
    assert_eq!(calls(&h, "StartTotp"), 2);
    assert_eq!(h.server().enrollments_started, 1);
}

#[tokio::test]
async fn an_apps_code_proves_it_too_and_the_address_change_goes_ahead() {
    use tobira::tui::modes::member::screens::Intent;
    let mut h = home_with_lapsed_step_up(Lang::En).await;
    click_button(&mut h, Intent::HomeChangeEmail).await;
    h.type_text("hanako@example.jp").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "step_up");
    assert_eq!(step_up_state(&h.app).under.name(), "change_email");
    click_button(&mut h, Intent::StepUpSwitch).await;
    let screen = tobira::tui::testing::render_text(&h.app, 80, 24, true);
    assert!(screen.contains("6-digit"), "{screen}");
    h.type_text("000000").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        field_error(&h.app, Field::TotpCode),
        Some("step_up.wrong_code")
    );
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    assert!(
        !tobira::tui::testing::render_text(&h.app, 80, 24, true)
            .contains(tobira::tui::testing::FAKE_CODE),
        "the code is masked"
    );
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    assert_eq!(banner(&h.app), Some("change_email.sent"));
    assert_eq!(calls(&h, "ChangeEmail"), 2);
    assert_eq!(calls(&h, "StepUp(AppCode, <secret>)"), 2);
}

#[tokio::test]
async fn a_member_without_an_app_is_asked_for_the_password_only() {
    use tobira::tui::modes::member::screens::{Intent, Item};
    let mut s = FakeServer::with_devices(1);
    s.devices[0].method = Method::EmailOtp;
    s.method = Some(Method::EmailOtp);
    let mut h = headless(App::new(Lang::Ja, false), s);
    sign_in_as(&mut h).await;
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    h.server_mut().step_up_needed = true;
    click_button(&mut h, Intent::AddDevice).await;
    assert_eq!(h.app.mode.session.screen.name(), "step_up");
    let form = h.app.mode.session.screen.form();
    assert_eq!(form.index_of(Item::Button(Intent::StepUpSwitch)), None);
    // Proved: the set-up the member asked for opens with its QR code.
    let pw = h.server().password.clone();
    h.type_text(&pw).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "method_setup");
    assert_eq!(h.server().enrollments_started, 1);
    assert!(enroll_state(&h.app).enrollment.is_some());
}

// ---- The helpdesk (issue 13): a code the member reads out on the phone ----------------------

#[tokio::test]
async fn the_top_screen_shows_a_code_for_the_helpdesk_once_and_forgets_it() {
    use tobira::tui::modes::member::fake::FAKE_HELPDESK_CODE;
    use tobira::tui::modes::member::screens::home::HomeMode;
    use tobira::tui::modes::member::screens::{Intent, Item};
    let mut h = headless(App::new(Lang::Ja, false), FakeServer::with_devices(1));
    sign_in_as(&mut h).await;
    h.type_text(tobira::tui::testing::FAKE_CODE).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "home");
    let i = h
        .app
        .mode
        .session
        .screen
        .form()
        .index_of(Item::Button(Intent::HelpdeskCode))
        .expect("the helpdesk code button");
    h.click(i).await;
    assert!(matches!(home_state(&h.app).mode, HomeMode::HelpdeskCode(_)));
    let text = h.text(80, 24, true);
    let (a, b) = FAKE_HELPDESK_CODE.split_at(4);
    assert!(text.contains(&format!("{a} {b}")), "{text}");
    assert!(text.contains("ヘルプデスクの係員"), "{text}");
    assert!(text.contains("5分間有効"), "{text}");
    // Never in the request log or the debug form of the screen.
    assert!(
        h.server()
            .log
            .iter()
            .all(|l| !l.contains(FAKE_HELPDESK_CODE)),
        "{:?}",
        h.server().log
    );
    assert!(!format!("{:?}", h.app.mode.session.screen).contains(FAKE_HELPDESK_CODE));
    // Esc: back to the list, and the code is gone from the screen.
    h.press(KeyCode::Esc).await;
    assert_eq!(home_state(&h.app).mode, HomeMode::List);
    assert!(!h.text(80, 24, true).contains(&format!("{a} {b}")));
}

#[tokio::test]
async fn each_half_of_the_card_gets_its_own_message_in_both_languages() {
    let mut h = new();
    h.press(KeyCode::Enter).await;
    h.click(4).await;
    assert_eq!(h.app.mode.session.screen.name(), "forgot_id");
    for (field, key) in [
        ("symbol", "recover.symbol_invalid"),
        ("number", "recover.number_invalid"),
    ] {
        let mut e = ApiError::new(ErrorCode::BadRequest, "card");
        e.field = Some(field.into());
        e.rule = Some("card".into());
        h.server_mut().fail_next = Some(ClientError::Api(e));
        h.type_text("12").await;
        h.press(KeyCode::Tab).await;
        h.type_text("3456789").await;
        h.press(KeyCode::Tab).await;
        h.type_text("19801201").await;
        h.press(KeyCode::Enter).await;
        assert_eq!(field_error(&h.app, Field::UserId), Some(key), "{field}");
        let (ja, en) = (Tr::new(key).text(Lang::Ja), Tr::new(key).text(Lang::En));
        assert!(
            ja.contains(if field == "symbol" {
                "記号"
            } else {
                "番号"
            }),
            "{ja}"
        );
        assert!(
            en.contains(if field == "symbol" {
                "symbol"
            } else {
                "number"
            }),
            "{en}"
        );
        h.press(KeyCode::Esc).await;
        h.click(4).await;
    }
}

#[tokio::test]
async fn a_held_account_reads_the_held_message_on_the_sign_in_screen() {
    let mut h = new();
    h.press(KeyCode::Enter).await;
    h.type_text("demo0003").await;
    h.press(KeyCode::Tab).await;
    // The right password: only then does the server tell the hold.
    h.type_text("12345982819910103").await;
    let mut held = ApiError::new(ErrorCode::AccountHeld, "held");
    held.step = Some(Step::SignIn);
    h.server_mut().fail_next = Some(ClientError::Api(held));
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&h.app), Some("err.account_held"));
    let screen = tobira::tui::testing::render_text(&h.app, 80, 24, true);
    assert!(
        screen.contains("アカウントは保護のため停止中です。ヘルプデスクへお電話ください。"),
        "{screen}"
    );
    assert!(!screen.contains("12345982819910103"), "{screen}");
    // The status line keeps it when the member switches language.
    h.press(KeyCode::F(2)).await;
    let screen = tobira::tui::testing::render_text(&h.app, 80, 24, true);
    assert!(
        screen.contains("This account is held after too many attempts."),
        "{screen}"
    );
}
