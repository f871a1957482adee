//! The member TUI's state machine, driven by key messages against a fake server: the whole
//! first login, errors next to their fields, Esc-back, the language switch, time-outs.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tobira::api::{ApiError, ErrorCode, Lang, Method, Step};
use tobira::client::ClientError;
use tobira::tui::i18n::Tr;
use tobira::tui::mailbox::MailItem;
use tobira::tui::modes::member::screens::{Field, Target};
use tobira::tui::modes::member::{ApiCall, App, Command, Msg, POLL_SECS, Reply, Screen};
use tobira::tui::testing::{FakeServer, ctrl, key, press, pump, ticks, type_text};

fn new() -> (App, FakeServer) {
    (App::new(Lang::Ja, false), FakeServer::demo())
}

fn field_error(app: &App, field: Field) -> Option<&'static str> {
    app.mode.session.error(field).map(|t| t.key)
}

fn banner(app: &App) -> Option<&'static str> {
    app.shell.banner.as_ref().map(|b| b.msg.key)
}

/// Welcome → signed in → birth date screen.
fn sign_in(app: &mut App, s: &mut FakeServer) {
    press(app, s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    type_text(app, s, "DEMO0001");
    press(app, s, KeyCode::Tab);
    type_text(app, s, "12345678919801201");
    press(app, s, KeyCode::Enter);
    assert_eq!(
        app.mode.session.screen.name(),
        "birth_date",
        "{:?}",
        app.shell.banner
    );
}

fn to_terms(app: &mut App, s: &mut FakeServer) {
    sign_in(app, s);
    // Year and month move on by themselves when full.
    type_text(app, s, "19801201");
    press(app, s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "terms");
}

fn to_awaiting(app: &mut App, s: &mut FakeServer) {
    to_terms(app, s);
    press(app, s, KeyCode::Enter); // 同意する (focused first)
    assert_eq!(app.mode.session.screen.name(), "email");
    press(app, s, KeyCode::Enter); // confirm the address on file
    assert_eq!(app.mode.session.screen.name(), "awaiting_verification");
}

fn to_credentials(app: &mut App, s: &mut FakeServer) {
    to_awaiting(app, s);
    s.open_link();
    press(app, s, KeyCode::Enter); // 更新
    assert_eq!(app.mode.session.screen.name(), "choose_method");
    press(app, s, KeyCode::Down);
    press(app, s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "new_credentials");
}

#[test]
fn the_whole_first_login_by_keyboard() {
    let (mut app, mut s) = new();
    assert_eq!(app.mode.session.screen.manual_steps(), (1, 1));
    sign_in(&mut app, &mut s);
    assert_eq!(app.mode.session.screen.manual_steps(), (3, 3));
    type_text(&mut app, &mut s, "19801201");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "terms");
    // The terms were fetched in Japanese.
    let Screen::Terms(t) = &app.mode.session.screen else {
        panic!()
    };
    assert_eq!(t.doc.as_ref().unwrap().lang, Lang::Ja);
    press(&mut app, &mut s, KeyCode::PageDown);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "email");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "awaiting_verification");
    assert_eq!(app.mode.session.screen.manual_steps(), (6, 7));

    // Polling: nothing yet, then the member opens the link on a phone.
    ticks(&mut app, &mut s, POLL_SECS);
    assert_eq!(app.mode.session.screen.name(), "awaiting_verification");
    let polls = s.log.iter().filter(|l| *l == "FlowStatus").count();
    assert_eq!(polls, 1);
    s.open_link();
    ticks(&mut app, &mut s, POLL_SECS);
    assert_eq!(app.mode.session.screen.name(), "choose_method");
    assert_eq!(banner(&app), Some("awaiting.verified"));

    // 【8】 b. ワンタイムパスワード認証(アプリ)
    press(&mut app, &mut s, KeyCode::Tab);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "new_credentials");
    assert_eq!(s.method, Some(Method::TotpApp));

    // 【9】 password, confirmation, new user ID.
    type_text(&mut app, &mut s, "Sakura#2026");
    press(&mut app, &mut s, KeyCode::Enter); // next field
    type_text(&mut app, &mut s, "Sakura#2026");
    press(&mut app, &mut s, KeyCode::Enter); // next field
    type_text(&mut app, &mut s, "Taro2026");
    press(&mut app, &mut s, KeyCode::Enter); // submit
    assert_eq!(
        app.mode.session.screen.name(),
        "complete",
        "{:?}",
        app.mode.session.errors
    );
    assert_eq!(
        s.credentials,
        Some(("Sakura#2026".to_owned(), Some("taro2026".to_owned())))
    );
    assert!(
        app.mode.session.token.is_none(),
        "the server ended the flow"
    );
    assert_eq!(app.mode.session.screen.manual_steps(), (10, 10));

    // 【11】 sign out, then back to sign-in.
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "signed_out");
    assert_eq!(app.mode.session.screen.manual_steps(), (11, 11));
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "sign_in");

    // Passwords never show in the server's log.
    assert!(
        s.log
            .iter()
            .all(|l| !l.contains("Sakura") && !l.contains("1234567891"))
    );
}

#[test]
fn the_first_login_can_be_clicked_through() {
    let (mut app, mut s) = new();
    let c = app.update(Msg::Click(Target::Item(0)));
    pump(&mut app, &mut s, c);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    let c = app.update(Msg::Click(Target::Item(0)));
    pump(&mut app, &mut s, c);
    type_text(&mut app, &mut s, "demo0001");
    let c = app.update(Msg::Click(Target::Item(1)));
    pump(&mut app, &mut s, c);
    app.update(Msg::Paste("12345678919801201\n".into()));
    let c = app.update(Msg::Click(Target::Item(2)));
    pump(&mut app, &mut s, c);
    assert_eq!(app.mode.session.screen.name(), "birth_date");
}

#[test]
fn wrong_password_is_shown_next_to_the_password() {
    let (mut app, mut s) = new();
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, "demo0001");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "wrong");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert_eq!(
        field_error(&app, Field::Password),
        Some("err.invalid_credentials")
    );
    // Typing again clears it.
    type_text(&mut app, &mut s, "x");
    assert_eq!(field_error(&app, Field::Password), None);
}

#[test]
fn empty_fields_are_not_sent() {
    let (mut app, mut s) = new();
    press(&mut app, &mut s, KeyCode::Enter);
    press(&mut app, &mut s, KeyCode::Tab);
    press(&mut app, &mut s, KeyCode::Tab);
    let cmds = app.update(Msg::Key(key(KeyCode::Enter)));
    assert!(cmds.is_empty());
    assert_eq!(field_error(&app, Field::UserId), Some("err.required"));
    assert_eq!(field_error(&app, Field::Password), Some("err.required"));
    assert!(s.log.is_empty());
}

#[test]
fn birth_date_is_checked_locally_then_by_the_server() {
    let (mut app, mut s) = new();
    sign_in(&mut app, &mut s);
    type_text(&mut app, &mut s, "19800230");
    let cmds = app.update(Msg::Key(key(KeyCode::Enter)));
    assert!(cmds.is_empty());
    assert_eq!(
        field_error(&app, Field::BirthDate),
        Some("err.birth_date_no_such")
    );
    for _ in 0..2 {
        press(&mut app, &mut s, KeyCode::Backspace);
    }
    type_text(&mut app, &mut s, "02");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "birth_date");
    assert_eq!(
        field_error(&app, Field::BirthDate),
        Some("err.wrong_birth_date")
    );
}

#[test]
fn declining_the_terms_signs_out() {
    let (mut app, mut s) = new();
    to_terms(&mut app, &mut s);
    press(&mut app, &mut s, KeyCode::Tab);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&app), Some("terms.declined"));
    assert!(app.mode.session.token.is_none());
}

#[test]
fn a_new_address_is_checked_and_sent() {
    let (mut app, mut s) = new();
    to_terms(&mut app, &mut s);
    press(&mut app, &mut s, KeyCode::Enter);
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "not-an-address");
    let cmds = app.update(Msg::Key(key(KeyCode::Enter)));
    assert!(cmds.is_empty());
    assert_eq!(field_error(&app, Field::Email), Some("err.invalid_email"));
    app.update(Msg::Key(ctrl('u')));
    type_text(&mut app, &mut s, "hanako@Example.JP");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "awaiting_verification");
    assert_eq!(s.email.as_deref(), Some("hanako@example.jp"));
}

#[test]
fn esc_goes_back_where_the_journey_allows() {
    let (mut app, mut s) = new();
    to_awaiting(&mut app, &mut s);
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "email");
    assert_eq!(s.step, Step::Email);
    // The email screen cannot go back: it says so.
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "email");
    assert_eq!(banner(&app), Some("msg.no_back"));
    press(&mut app, &mut s, KeyCode::Enter);
    s.open_link();
    press(&mut app, &mut s, KeyCode::Enter);
    press(&mut app, &mut s, KeyCode::Enter); // passkey
    assert_eq!(app.mode.session.screen.name(), "new_credentials");
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "choose_method");
    assert_eq!(s.step, Step::ChooseMethod);
    // The previous choice stays selected.
    let Screen::ChooseMethod(c) = &app.mode.session.screen else {
        panic!()
    };
    assert_eq!(c.focus, 0);

    // Birth date → sign-in (ending the flow); sign-in → welcome.
    let (mut app, mut s) = new();
    sign_in(&mut app, &mut s);
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert!(s.token.is_none());
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "welcome");
}

#[test]
fn refresh_says_not_yet_and_resend_says_sent() {
    let (mut app, mut s) = new();
    to_awaiting(&mut app, &mut s);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(banner(&app), Some("awaiting.not_yet"));
    press(&mut app, &mut s, KeyCode::Tab);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(banner(&app), Some("awaiting.resent"));
    assert!(s.log.iter().any(|l| l == "ResendEmail"));
    press(&mut app, &mut s, KeyCode::Tab);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "email");
}

#[test]
fn flow_expired_returns_to_sign_in_with_the_timed_out_message() {
    let (mut app, mut s) = new();
    to_awaiting(&mut app, &mut s);
    s.expire();
    ticks(&mut app, &mut s, POLL_SECS);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&app), Some("err.flow_expired"));
    assert!(app.mode.session.token.is_none());
    let en = app.shell.banner.as_ref().unwrap().msg.text(Lang::En);
    assert!(en.contains("start again"), "{en}");
    // No more polling on the sign-in screen.
    let n = s.log.len();
    ticks(&mut app, &mut s, 10);
    assert_eq!(s.log.len(), n);
}

#[test]
fn rules_are_shown_next_to_their_fields() {
    let (mut app, mut s) = new();
    to_credentials(&mut app, &mut s);
    // Local pre-check: too short, mismatch, bad user ID: nothing is sent.
    type_text(&mut app, &mut s, "short");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "other");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "abcdefghi");
    let cmds = app.update(Msg::Key(key(KeyCode::Enter)));
    assert!(cmds.is_empty());
    assert_eq!(
        field_error(&app, Field::NewPassword),
        Some("err.weak_password.length")
    );
    assert_eq!(
        field_error(&app, Field::Confirm),
        Some("err.confirm_mismatch")
    );
    assert_eq!(
        field_error(&app, Field::NewUserId),
        Some("err.invalid_user_id.digit")
    );

    // A user ID taken on the server.
    let (mut app, mut s) = new();
    to_credentials(&mut app, &mut s);
    type_text(&mut app, &mut s, "Sakura#2026");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "Sakura#2026");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "taken0001");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "new_credentials");
    assert_eq!(
        field_error(&app, Field::NewUserId),
        Some("err.user_id_taken")
    );

    // weak_password and invalid_user_id answers carry their rule.
    let mut e = ApiError::new(ErrorCode::WeakPassword, "weak");
    e.rule = Some("characters".into());
    s.fail_next = Some(ClientError::Api(e));
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(
        field_error(&app, Field::NewPassword),
        Some("err.weak_password.characters")
    );
    let mut e = ApiError::new(ErrorCode::InvalidUserId, "bad");
    e.rule = Some("letter".into());
    s.fail_next = Some(ClientError::Api(e));
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(
        field_error(&app, Field::NewUserId),
        Some("err.invalid_user_id.letter")
    );
}

#[test]
fn every_error_code_has_a_translated_message() {
    let codes = [
        (ErrorCode::InvalidCredentials, Field::Password),
        (ErrorCode::RateLimited, Field::Password),
        (ErrorCode::BadRequest, Field::Form),
        (ErrorCode::NotFound, Field::Form),
        (ErrorCode::Internal, Field::Form),
    ];
    for (code, field) in codes {
        let (mut app, mut s) = new();
        press(&mut app, &mut s, KeyCode::Enter);
        type_text(&mut app, &mut s, "demo0001");
        press(&mut app, &mut s, KeyCode::Tab);
        type_text(&mut app, &mut s, "x");
        let mut e = ApiError::new(code, "m");
        e.retry_after_secs = Some(42);
        s.fail_next = Some(ClientError::Api(e));
        press(&mut app, &mut s, KeyCode::Enter);
        let msg: &Tr = if field == Field::Form {
            &app.shell.banner.as_ref().unwrap().msg
        } else {
            app.mode.session.error(field).unwrap()
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
        let (mut app, mut s) = new();
        press(&mut app, &mut s, KeyCode::Enter);
        type_text(&mut app, &mut s, "demo0001");
        press(&mut app, &mut s, KeyCode::Tab);
        type_text(&mut app, &mut s, "x");
        s.fail_next = Some(err);
        press(&mut app, &mut s, KeyCode::Enter);
        assert_eq!(banner(&app), Some(key));
        assert_eq!(app.mode.session.screen.name(), "sign_in");
    }
}

#[test]
fn too_many_attempts_and_unauthorized_end_the_flow() {
    for (code, key) in [
        (ErrorCode::TooManyAttempts, "err.too_many_attempts"),
        (ErrorCode::Unauthorized, "err.unauthorized"),
    ] {
        let (mut app, mut s) = new();
        sign_in(&mut app, &mut s);
        type_text(&mut app, &mut s, "19800101");
        s.fail_next = Some(ClientError::Api(ApiError::new(code, "x")));
        press(&mut app, &mut s, KeyCode::Enter);
        assert_eq!(app.mode.session.screen.name(), "sign_in");
        assert_eq!(banner(&app), Some(key));
    }
}

#[test]
fn out_of_order_moves_to_the_servers_step() {
    let (mut app, mut s) = new();
    to_awaiting(&mut app, &mut s);
    // The link was opened and the member chose a method elsewhere; this terminal resends.
    s.open_link();
    press(&mut app, &mut s, KeyCode::Tab);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "choose_method");
    assert_eq!(banner(&app), Some("err.out_of_order"));
}

#[test]
fn language_switches_on_every_screen_and_terms_are_fetched_again() {
    let (mut app, mut s) = new();
    for k in [key(KeyCode::F(2)), ctrl('l')] {
        let before = app.shell.lang;
        app.update(Msg::Key(k));
        assert_ne!(app.shell.lang, before);
    }
    to_terms(&mut app, &mut s);
    assert_eq!(app.shell.lang, Lang::Ja);
    let cmds = app.update(Msg::Key(key(KeyCode::F(2))));
    assert_eq!(app.shell.lang, Lang::En);
    assert!(matches!(
        cmds.as_slice(),
        [Command::Call {
            call: ApiCall::Terms(Lang::En),
            ..
        }]
    ));
    pump(&mut app, &mut s, cmds);
    let Screen::Terms(t) = &app.mode.session.screen else {
        panic!()
    };
    assert_eq!(t.doc.as_ref().unwrap().lang, Lang::En);
    // The sign-in call carries the language.
    let (mut app, mut s) = new();
    app.update(Msg::Key(key(KeyCode::F(2))));
    sign_in(&mut app, &mut s);
    assert!(s.log[0].contains("En"), "{:?}", s.log);
}

#[test]
fn stale_answers_and_key_releases_are_ignored() {
    let (mut app, mut s) = new();
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, "demo0001");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "12345678919801201");
    let cmds = app.update(Msg::Key(key(KeyCode::Enter)));
    let [Command::Call { seq, call }] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert!(app.waiting());
    // While waiting, Enter sends nothing more.
    assert!(app.update(Msg::Key(key(KeyCode::Enter))).is_empty());
    let reply = s.handle(call);
    app.update(Msg::Response {
        seq: seq + 100,
        result: Ok(Reply::SignedOut),
    });
    assert!(app.waiting());
    app.update(Msg::Response {
        seq: *seq,
        result: reply,
    });
    assert_eq!(app.mode.session.screen.name(), "birth_date");
    let release = KeyEvent::new_with_kind(
        KeyCode::Char('1'),
        KeyModifiers::NONE,
        KeyEventKind::Release,
    );
    app.update(Msg::Key(release));
    let Screen::BirthDate(b) = &app.mode.session.screen else {
        panic!()
    };
    assert_eq!(b.year.value(), "");
}

#[test]
fn ctrl_c_quits_and_ends_the_open_flow() {
    let (mut app, mut s) = new();
    sign_in(&mut app, &mut s);
    let cmds = app.update(Msg::Key(ctrl('c')));
    assert!(matches!(
        cmds.as_slice(),
        [Command::Quit { sign_out: Some(_) }]
    ));
    assert!(app.should_quit());
    let (mut app, _) = new();
    let cmds = app.update(Msg::Terminate);
    assert!(matches!(
        cmds.as_slice(),
        [Command::Quit { sign_out: None }]
    ));
}

#[test]
fn forgot_entries_open_the_recovery_screens() {
    let (mut app, mut s) = new();
    press(&mut app, &mut s, KeyCode::Enter);
    app.update(Msg::Click(Target::Item(4)));
    assert_eq!(app.mode.session.screen.name(), "forgot_id");
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    app.update(Msg::Click(Target::Item(3)));
    let Screen::SignIn(si) = &app.mode.session.screen else {
        panic!()
    };
    assert!(si.password.revealed);

    // Forgot the password: details, then the mailed code and a new password, then sign-in.
    app.update(Msg::Click(Target::Item(5)));
    assert_eq!(app.mode.session.screen.name(), "forgot_password");
    type_text(&mut app, &mut s, "demo0001");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "1980-12-01");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "forgot_password_reset");
    assert!(
        s.log
            .iter()
            .any(|l| l == "ForgotPassword(demo0001, <birth date>)"),
        "{:?}",
        s.log
    );
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "Brand-n3w-pass");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "Brand-n3w-pasS");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(
        app.mode.session.screen.name(),
        "forgot_password_reset",
        "confirmation differs"
    );
    press(&mut app, &mut s, KeyCode::Backspace);
    type_text(&mut app, &mut s, "s");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&app), Some("recover.done"));
    assert!(
        s.log
            .iter()
            .all(|l| !l.contains("Brand-n3w") && !l.contains(tobira::tui::testing::FAKE_CODE)),
        "secrets never reach the log: {:?}",
        s.log
    );
}

#[test]
fn demo_mailbox_opens_the_verification_link() {
    let mut app = App::new(Lang::En, true);
    let mut s = FakeServer::demo();
    to_awaiting(&mut app, &mut s);
    let rest = press(&mut app, &mut s, KeyCode::F(3));
    assert_eq!(rest, vec![Command::ListMailbox]);
    app.update(Msg::Mailbox(Ok(vec![MailItem {
        path: "1.eml".into(),
        to: "taro.yamada@example.jp".into(),
        subject: "Confirm your email address".into(),
        date: String::new(),
        links: vec!["http://localhost/verify?t=abc".into()],
        highlight: None,
    }])));
    let rest = ticks(&mut app, &mut s, 1);
    assert!(rest.contains(&Command::ListMailbox));
    press(&mut app, &mut s, KeyCode::Enter);
    assert!(s.log.iter().any(|l| l == "OpenLink(<link>)"), "{:?}", s.log);
    assert_eq!(app.mode.session.screen.name(), "choose_method");
    press(&mut app, &mut s, KeyCode::Esc);
    assert!(!app.mode.session.mailbox.as_ref().unwrap().open);
    let (mut app, mut s) = new();
    assert!(press(&mut app, &mut s, KeyCode::F(3)).is_empty());
}

#[test]
fn a_member_at_method_setup_without_a_method_is_told_and_signed_out() {
    // A record the server should never produce (method set-up, no method): a clear screen,
    // not a crash or an empty set-up.
    let (mut app, mut s) = new();
    s.step = Step::MethodSetup;
    s.method = None;
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, "demo0001");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "12345678919801201");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "method_unavailable");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "signed_out");
    assert!(s.token.is_none());
}

#[test]
fn the_email_code_is_mailed_on_arrival_and_sets_the_method_up() {
    let (mut app, mut s) = new();
    s.step = Step::MethodSetup;
    s.method = Some(Method::EmailOtp);
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, "demo0001");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "12345678919801201");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "email_code_setup");
    assert_eq!(
        s.log.iter().filter(|l| *l == "SendEmailCode").count(),
        1,
        "{:?}",
        s.log
    );
    // Resend asks again; a wrong code is refused with the email wording and cleared.
    press(&mut app, &mut s, KeyCode::Tab);
    press(&mut app, &mut s, KeyCode::Tab);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(s.log.iter().filter(|l| *l == "SendEmailCode").count(), 2);
    press(&mut app, &mut s, KeyCode::BackTab);
    press(&mut app, &mut s, KeyCode::BackTab);
    type_text(&mut app, &mut s, "000000");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "email_code_setup");
    assert!(
        s.log.iter().all(|l| !l.contains("000000")),
        "codes never reach the log: {:?}",
        s.log
    );
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
}

#[test]
fn the_email_code_can_be_added_from_the_top_screen() {
    let (mut app, mut s) = new();
    s.step = Step::MethodSetup;
    s.method = Some(Method::EmailOtp);
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, "demo0001");
    press(&mut app, &mut s, KeyCode::Tab);
    type_text(&mut app, &mut s, "12345678919801201");
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
    let sent = s.log.iter().filter(|l| *l == "SendEmailCode").count();
    // Clicks what a member would: change method, then the emailed code.
    use tobira::tui::modes::member::screens::{Intent, Item};
    for wanted in [Intent::ChangeMethod, Intent::AddMethod(Method::EmailOtp)] {
        let items = app.mode.session.screen.form().items();
        let i = items
            .iter()
            .position(|it| *it == Item::Button(wanted))
            .unwrap_or_else(|| panic!("no {wanted:?} in {items:?}"));
        let cmds = app.update(Msg::Click(Target::Item(i)));
        pump(&mut app, &mut s, cmds);
    }
    assert_eq!(app.mode.session.screen.name(), "email_code_setup");
    assert_eq!(
        s.log.iter().filter(|l| *l == "SendEmailCode").count(),
        sent + 1
    );
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(
        app.mode.session.screen.name(),
        "home",
        "Esc goes back to the top screen"
    );

    // Change email: the link goes out and the top screen says where.
    let items = app.mode.session.screen.form().items();
    let i = items
        .iter()
        .position(|it| *it == Item::Button(Intent::HomeChangeEmail))
        .expect("change email on the top screen");
    let cmds = app.update(Msg::Click(Target::Item(i)));
    pump(&mut app, &mut s, cmds);
    assert_eq!(app.mode.session.screen.name(), "change_email");
    type_text(&mut app, &mut s, "hanako@example.jp");
    press(&mut app, &mut s, KeyCode::Enter);
    assert!(
        s.log
            .iter()
            .any(|l| l == "ChangeEmail(\"hanako@example.jp\")"),
        "{:?}",
        s.log
    );
    assert_eq!(app.mode.session.screen.name(), "home");
    assert_eq!(banner(&app), Some("change_email.sent"));
}

#[test]
fn idle_ticks_do_not_redraw() {
    let (mut app, mut s) = new();
    app.shell.dirty = false;
    ticks(&mut app, &mut s, 5);
    assert!(!app.shell.dirty, "an idle welcome screen is not redrawn");
    // Nor a waiting screen whose checks find nothing new.
    to_awaiting(&mut app, &mut s);
    app.shell.dirty = false;
    ticks(&mut app, &mut s, 3 * POLL_SECS);
    assert!(s.log.iter().filter(|l| *l == "FlowStatus").count() >= 3);
    assert!(!app.shell.dirty);
    s.open_link();
    ticks(&mut app, &mut s, POLL_SECS);
    assert!(app.shell.dirty);
}

#[test]
fn terms_that_failed_to_load_are_fetched_again() {
    let (mut app, mut s) = new();
    sign_in(&mut app, &mut s);
    type_text(&mut app, &mut s, "19801201");
    s.fail_next = Some(ClientError::Transport("reset".into()));
    // The birth date succeeds; the terms fetch right after it fails.
    let cmds = app.update(Msg::Key(key(KeyCode::Enter)));
    let [Command::Call { seq, call }] = cmds.as_slice() else {
        panic!()
    };
    let ok = {
        s.fail_next.take();
        let r = s.handle(call);
        s.fail_next = Some(ClientError::Transport("reset".into()));
        r
    };
    let cmds = app.update(Msg::Response {
        seq: *seq,
        result: ok,
    });
    pump(&mut app, &mut s, cmds);
    assert_eq!(app.mode.session.screen.name(), "terms");
    assert_eq!(banner(&app), Some("err.transport"));
    let Screen::Terms(t) = &app.mode.session.screen else {
        panic!()
    };
    assert!(t.doc.is_none());
    // 同意する cannot agree to unseen terms: it fetches them again.
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "terms");
    let Screen::Terms(t) = &app.mode.session.screen else {
        panic!()
    };
    assert!(t.doc.is_some());
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "email");
}

// ---- Stage 2 (authenticator app), the second factor, the top screen ----------------------

/// Signs `s`'s member in with their password.
fn sign_in_as(app: &mut App, s: &mut FakeServer) {
    if app.mode.session.screen.name() == "welcome" {
        press(app, s, KeyCode::Enter);
    }
    let (id, pw) = (s.user_id.clone(), s.password.clone());
    type_text(app, s, &id);
    press(app, s, KeyCode::Tab);
    type_text(app, s, &pw);
    press(app, s, KeyCode::Enter);
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

#[test]
fn stage_two_sets_up_the_app_with_the_keys_a_member_would_use() {
    use tobira::tui::modes::member::screens::totp_enroll::EnrollView;
    use tobira::tui::widgets::qr::QrStyle;
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::at_method_setup();
    sign_in_as(&mut app, &mut s);
    assert_eq!(app.mode.session.screen.name(), "method_setup");
    assert_eq!(s.enrollments_started, 1);
    assert_eq!(enroll_state(&app).view, EnrollView::Scan);
    // Stage 2 must be finished: Esc does not leave it.
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(banner(&app), Some("msg.no_back"));
    assert_eq!(app.mode.session.screen.name(), "method_setup");
    // F4 switches the drawing, and the choice is kept for the next QR code.
    press(&mut app, &mut s, KeyCode::F(4));
    assert_eq!(app.mode.session.qr_style, QrStyle::Spaces);
    assert_eq!(enroll_state(&app).style, QrStyle::Spaces);
    press(&mut app, &mut s, KeyCode::F(4));
    assert_eq!(app.mode.session.qr_style, QrStyle::HalfBlocks);
    // スキャンできませんか? and back with Esc.
    press(&mut app, &mut s, KeyCode::Tab);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(enroll_state(&app).view, EnrollView::Key);
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(enroll_state(&app).view, EnrollView::Scan);
    // 次へ: the device name is filled in, the focus is on the code.
    press(&mut app, &mut s, KeyCode::Enter);
    let e = enroll_state(&app);
    assert_eq!(e.view, EnrollView::Confirm);
    assert_eq!(e.device_name.value(), "スマートフォン");
    assert_eq!(e.focus, 1);
    // A full-width paste from a phone's clipboard with a space in it.
    app.update(Msg::Paste("６５４ ３２１".into()));
    assert_eq!(enroll_state(&app).code.value(), "６５４３２１");
    press(&mut app, &mut s, KeyCode::Enter);
    assert!(s.log.iter().any(|l| l.contains("ConfirmTotp(<code>")));
    assert_eq!(field_error(&app, Field::TotpCode), Some("err.wrong_code"));
    let e = enroll_state(&app);
    assert!(e.failed, "the manual's hints are shown");
    assert_eq!(
        e.code.value(),
        "",
        "the old code is cleared for the newest one"
    );
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
    assert_eq!(home_state(&app).factors().len(), 1);
    assert_eq!(banner(&app), Some("home.added"));
    // No code or secret in what the fake server logged.
    assert!(
        s.log
            .iter()
            .all(|l| !l.contains(tobira::tui::testing::FAKE_CODE) && !l.contains("GEZD"))
    );
}

#[test]
fn the_code_is_asked_after_the_password_and_esc_signs_out() {
    let mut app = App::new(Lang::En, false);
    let mut s = FakeServer::with_devices(1);
    sign_in_as(&mut app, &mut s);
    assert_eq!(app.mode.session.screen.name(), "second_factor");
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(
        field_error(&app, Field::TotpCode),
        Some("totp.code_required")
    );
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&app), Some("msg.signed_out"));
    assert!(s.token.is_none(), "the flow was ended on the server");
    sign_in_as(&mut app, &mut s);
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "home");
}

#[test]
fn changing_method_offers_to_remove_the_old_devices() {
    use tobira::tui::modes::member::screens::home::HomeMode;
    use tobira::tui::modes::member::screens::{Intent, Item};
    let mut app = App::new(Lang::Ja, false);
    let mut s = FakeServer::with_devices(2);
    sign_in_as(&mut app, &mut s);
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    let click = |app: &mut App, s: &mut FakeServer, intent: Intent| {
        let i = app
            .mode
            .session
            .screen
            .form()
            .index_of(Item::Button(intent))
            .unwrap_or_else(|| panic!("{intent:?}"));
        let cmds = app.update(Msg::Click(Target::Item(i)));
        pump(app, s, cmds);
    };
    click(&mut app, &mut s, Intent::ChangeMethod);
    assert_eq!(home_state(&app).mode, HomeMode::ChangeMethod);
    // A passkey (issue 6): the passkey screen opens and probes the transports, nothing is
    // sent yet; Esc goes back to the top screen.
    let before = s.log.len();
    click(&mut app, &mut s, Intent::AddMethod(Method::Passkey));
    assert_eq!(app.mode.session.screen.name(), "passkey");
    assert_eq!(s.log.len(), before);
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "home");
    click(&mut app, &mut s, Intent::ChangeMethod);
    click(&mut app, &mut s, Intent::AddMethod(Method::TotpApp));
    assert_eq!(app.mode.session.screen.name(), "method_setup");
    assert_eq!(enroll_state(&app).device_name.value(), "スマートフォン 3");
    press(&mut app, &mut s, KeyCode::Enter);
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(home_state(&app).mode, HomeMode::RemoveOld(vec![1, 2]));
    click(&mut app, &mut s, Intent::RemoveOld);
    assert_eq!(home_state(&app).mode, HomeMode::List);
    assert_eq!(banner(&app), Some("home.removed"));
    let names: Vec<_> = s.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["スマートフォン 3"]);
    // Cancel from an enrollment started on the top screen goes back to it.
    click(&mut app, &mut s, Intent::AddDevice);
    assert_eq!(app.mode.session.screen.name(), "method_setup");
    press(&mut app, &mut s, KeyCode::Esc);
    assert_eq!(app.mode.session.screen.name(), "home");
    // Up/Down select a device; clicking a row selects it too.
    click(&mut app, &mut s, Intent::SignOut);
    assert_eq!(app.mode.session.screen.name(), "sign_in");
    assert_eq!(banner(&app), Some("msg.signed_out"));
}

#[test]
fn the_email_method_is_not_renamed_but_changed_with_the_address() {
    use tobira::tui::modes::member::screens::home::HomeMode;
    use tobira::tui::modes::member::screens::{Intent, Item};
    let mut app = App::new(Lang::En, false);
    let mut s = FakeServer::with_devices(1);
    s.devices.push(tobira::api::SecondFactor {
        id: 0,
        method: Method::EmailOtp,
        name: "taro.yamada@example.jp".into(),
        created_at: tobira::tui::testing::FAKE_NOW,
        last_used_at: None,
    });
    sign_in_as(&mut app, &mut s);
    type_text(&mut app, &mut s, tobira::tui::testing::FAKE_CODE);
    press(&mut app, &mut s, KeyCode::Enter);
    press(&mut app, &mut s, KeyCode::Down);
    let i = app
        .mode
        .session
        .screen
        .form()
        .index_of(Item::Button(Intent::Rename))
        .expect("rename");
    let cmds = app.update(Msg::Click(Target::Item(i)));
    pump(&mut app, &mut s, cmds);
    assert_eq!(banner(&app), Some("home.rename_email"));
    assert_eq!(home_state(&app).mode, HomeMode::List);
}
