//! The kiosk mode driven headless: its time is the shell's ticks (no sleeps), its server the
//! kiosk fake (member fake server, a switch for the heartbeat, one staff account).

use ratatui::crossterm::event::KeyCode;
use tobira::api::{Lang, Method};
use tobira::passkey::PasskeyTransport;
use tobira::passkey::probe::{Availability, ProbeReport};
use tobira::tui::modes::kiosk::fake::{KioskFake, headless};
use tobira::tui::modes::kiosk::idle::MAX_EXTENSIONS;
use tobira::tui::modes::kiosk::{Kiosk, KioskSettings, Msg};
use tobira::tui::shell::app::{Command, Mode};
use tobira::tui::testing::{Headless, ctrl, key};
use tobira::tui::widgets::qr::QrStyle;

type Driver = Headless<Kiosk, KioskFake>;

const IDLE: u64 = 10;
const WARN: u64 = 20;

fn settings() -> KioskSettings {
    KioskSettings {
        idle_secs: IDLE,
        warn_secs: WARN,
        lang: Lang::Ja,
        methods: Method::ALL.to_vec(),
        branch: Some("新宿支店".into()),
    }
}

fn kiosk(settings: KioskSettings) -> Driver {
    headless(
        Kiosk::new(settings, QrStyle::default(), time::UtcOffset::UTC),
        KioskFake::demo(),
    )
}

fn screen(h: &Driver) -> &'static str {
    h.app.mode.member.session.screen.name()
}

fn banner(h: &Driver) -> Option<&'static str> {
    h.app.shell.banner.as_ref().map(|b| b.msg.key)
}

/// Welcome → sign-in screen with the user ID typed (no flow yet).
async fn typed_user_id(h: &mut Driver) {
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(h), "sign_in");
    h.type_text("DEMO0001").await;
}

/// Welcome → signed in (a flow is open) → birth date screen.
async fn signed_in(h: &mut Driver) {
    typed_user_id(h).await;
    h.press(KeyCode::Tab).await;
    h.type_text("12345678919801201").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(h), "birth_date", "{:?}", h.app.shell.banner);
    assert!(h.app.mode.member.session.token.is_some());
}

#[tokio::test]
async fn the_terminal_control_keys_and_f3_do_nothing() {
    let mut h = kiosk(settings());
    typed_user_id(&mut h).await;
    let before = h.text(80, 24, true);
    for k in [
        ctrl('c'),
        ctrl('z'),
        ctrl('\\'),
        ctrl('d'),
        key(KeyCode::F(3)),
    ] {
        let others = h.send(Msg::Key(k)).await;
        assert!(others.is_empty(), "{k:?} asked for {others:?}");
    }
    assert!(!h.quit && !h.app.should_quit());
    assert_eq!(h.text(80, 24, true), before);
    // The footer offers no way out.
    assert!(!before.contains("Ctrl-C"), "{before}");
    assert!(before.contains("新宿支店 窓口端末"), "{before}");
}

#[tokio::test]
async fn sigterm_ends_the_kiosk_and_signs_the_flow_out() {
    let mut h = kiosk(settings());
    signed_in(&mut h).await;
    let others = h.send(Msg::Terminate).await;
    assert!(h.quit);
    assert!(matches!(
        others.as_slice(),
        [Command::Quit { sign_out: Some(_) }]
    ));
    assert!(
        h.app.mode.member.session.token.is_none(),
        "scrubbed on the way out"
    );
    assert!(h.app.mode.wipe_on_exit());
}

#[tokio::test]
async fn an_untouched_kiosk_never_counts_down() {
    let mut h = kiosk(settings());
    h.ticks(IDLE * 10).await;
    assert_eq!(h.app.mode.countdown(&h.app.shell), None);
    assert_eq!(h.app.mode.resets, 0);
}

#[tokio::test]
async fn idle_countdown_then_reset_signs_out_and_scrubs() {
    let mut h = kiosk(settings());
    signed_in(&mut h).await;
    h.type_text("1980").await;
    h.press(KeyCode::F(2)).await;
    assert_eq!(h.app.shell.lang, Lang::En);
    h.ticks(IDLE - 1).await;
    assert_eq!(h.app.mode.countdown(&h.app.shell), None);
    h.ticks(1).await;
    assert_eq!(h.app.mode.countdown(&h.app.shell), Some(WARN));
    let text = h.text(80, 24, true);
    assert!(text.contains("Are you still there?"), "{text}");
    assert!(text.contains("In 20 seconds"), "{text}");
    h.ticks(WARN - 1).await;
    assert_eq!(h.app.mode.countdown(&h.app.shell), Some(1));
    assert!(h.text(80, 24, true).contains("In 1 seconds"));
    h.ticks(1).await;

    // Reset: welcome, the kiosk's language, nothing of the member left, the flow ended.
    assert_eq!(screen(&h), "welcome");
    assert_eq!(h.app.shell.lang, Lang::Ja);
    assert_eq!(h.app.mode.resets, 1);
    let s = &h.app.mode.member.session;
    assert!(s.token.is_none() && s.flow.is_none() && s.errors.is_empty());
    assert_eq!(h.runtime.executor().signed_out, 1);
    assert!(h.app.mode.take_wipe(), "the terminal is asked to wipe");
    assert!(!h.app.mode.take_wipe(), "once");
    let text = h.text(120, 40, true);
    assert!(!text.contains("1980") && !text.to_lowercase().contains("demo0001"));
}

#[tokio::test]
async fn any_key_extends_ten_times_then_no_more() {
    let mut h = kiosk(settings());
    typed_user_id(&mut h).await;
    for round in 0..MAX_EXTENSIONS {
        h.ticks(IDLE).await;
        assert!(
            h.app.mode.countdown(&h.app.shell).is_some(),
            "round {round}"
        );
        // The key answers the warning; it is not typed into the form.
        h.press(KeyCode::Char('x')).await;
        assert_eq!(h.app.mode.countdown(&h.app.shell), None);
        assert_eq!(banner(&h), Some("kiosk.extended"));
    }
    h.ticks(IDLE).await;
    let text = h.text(80, 24, true);
    assert!(text.contains("これ以上延長できません"), "{text}");
    h.press(KeyCode::Char('x')).await;
    assert_eq!(h.app.mode.countdown(&h.app.shell), Some(WARN));
    h.ticks(WARN).await;
    assert_eq!(screen(&h), "welcome");
    // Nothing of the extension keys reached the form.
    h.press(KeyCode::Enter).await;
    assert!(!h.text(80, 24, true).to_lowercase().contains("demo0001x"));
}

#[tokio::test]
async fn a_finished_visit_resets_the_kiosk() {
    let mut h = kiosk(settings());
    signed_in(&mut h).await;
    h.type_text("19801201").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "terms");
    // Declining the terms ends the flow: the visit is over.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "welcome");
    assert_eq!(h.app.mode.resets, 1);
    assert!(h.app.mode.take_wipe());
}

#[tokio::test]
async fn the_server_away_shows_unavailable_and_recovers_by_itself() {
    let mut h = kiosk(settings());
    signed_in(&mut h).await;
    h.runtime.executor_mut().up = false;
    h.ticks(5).await;
    assert!(h.app.mode.server_down());
    let text = h.text(80, 24, true);
    assert!(
        text.contains("ただいまサービスをご利用いただけません。"),
        "{text}"
    );
    assert!(text.contains("窓口の係員にお声がけください"), "{text}");
    // Keys do nothing meanwhile.
    h.type_text("2077").await;
    h.runtime.executor_mut().up = true;
    h.ticks(2).await;
    assert!(!h.app.mode.server_down());
    assert_eq!(screen(&h), "birth_date", "back where the member was");
    assert!(!h.text(80, 24, true).contains("2077"));
    assert_eq!(
        h.runtime.executor().beats,
        2,
        "one noticed the outage, one the return"
    );
}

#[tokio::test]
async fn f12_three_times_opens_the_staff_exit_which_needs_password_and_code() {
    let mut h = kiosk(settings());
    h.press(KeyCode::F(12)).await;
    h.press(KeyCode::F(12)).await;
    h.press(KeyCode::Char('a')).await;
    h.press(KeyCode::F(12)).await;
    assert!(h.app.mode.staff.is_none(), "three in a row");
    h.press(KeyCode::F(12)).await;
    h.press(KeyCode::F(12)).await;
    assert!(h.app.mode.staff.is_some());
    let text = h.text(80, 24, true);
    assert!(text.contains("係員による端末の終了"), "{text}");

    h.type_text("suzuki").await;
    h.press(KeyCode::Enter).await;
    h.type_text("staff-pass-1").await;
    h.press(KeyCode::Enter).await;
    h.type_text("654321").await;
    h.press(KeyCode::Enter).await;
    assert!(!h.quit);
    let text = h.text(80, 24, true);
    assert!(text.contains("正しくありません"), "{text}");
    assert!(!text.contains("staff-pass-1") && !text.contains("************"));

    h.type_text("staff-pass-1").await;
    h.press(KeyCode::Enter).await;
    h.type_text("123456").await;
    h.press(KeyCode::Enter).await;
    assert!(h.quit, "the staff member ended the kiosk");
}

#[tokio::test]
async fn the_staff_exit_answers_to_idle_reset_and_esc() {
    let mut h = kiosk(settings());
    for _ in 0..3 {
        h.press(KeyCode::F(12)).await;
    }
    h.type_text("suzuki").await;
    h.press(KeyCode::Esc).await;
    assert!(h.app.mode.staff.is_none());
    for _ in 0..3 {
        h.press(KeyCode::F(12)).await;
    }
    h.type_text("suzuki").await;
    h.ticks(IDLE + WARN).await;
    assert!(h.app.mode.staff.is_none(), "closed and wiped by the reset");
    assert_eq!(h.app.mode.resets, 1);
}

#[tokio::test]
async fn a_method_not_allowed_here_is_not_offered() {
    let mut h = kiosk(KioskSettings {
        methods: vec![Method::TotpApp, Method::EmailOtp],
        ..settings()
    });
    signed_in(&mut h).await;
    h.type_text("19801201").await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Enter).await; // 同意する
    h.press(KeyCode::Enter).await; // the address on file
    h.runtime.executor_mut().member.open_link();
    h.press(KeyCode::Enter).await; // 更新
    assert_eq!(screen(&h), "choose_method");
    let tobira::tui::modes::member::Screen::ChooseMethod(c) = &h.app.mode.member.session.screen
    else {
        unreachable!()
    };
    assert_eq!(c.offered, vec![Method::TotpApp, Method::EmailOtp]);
    let text = h.text(80, 24, true);
    assert!(!text.contains("a. 生体認証"), "{text}");
    assert!(
        text.contains("b. ") && text.contains("c. "),
        "the manual's letters stay: {text}"
    );
    h.press(KeyCode::Enter).await; // the first offered: the authenticator app
    assert!(
        h.runtime
            .executor()
            .member
            .log
            .iter()
            .any(|l| l.contains("ChooseMethod(TotpApp)")),
        "{:?}",
        h.runtime.executor().member.log
    );
}

#[tokio::test]
async fn passkeys_are_offered_on_a_usb_key_or_a_phone_only() {
    let mut h = kiosk(KioskSettings {
        lang: Lang::En,
        ..settings()
    });
    signed_in(&mut h).await;
    h.type_text("19801201").await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Enter).await;
    h.runtime.executor_mut().member.open_link();
    h.press(KeyCode::Enter).await;
    assert_eq!(screen(&h), "choose_method");
    let report = ProbeReport {
        transports: [
            PasskeyTransport::Usb,
            PasskeyTransport::Bluetooth,
            PasskeyTransport::Phone,
            PasskeyTransport::Soft,
        ]
        .into_iter()
        .map(|transport| Availability {
            transport,
            usable: Ok(()),
        })
        .collect(),
    };
    h.send(Msg::PasskeyProbed(report)).await;
    let text = h.text(120, 40, true);
    assert!(text.contains("USB security key"), "{text}");
    assert!(text.contains("smartphone"), "{text}");
    assert!(!text.contains("Bluetooth security key"), "{text}");
    assert!(!text.contains("soft authenticator"), "{text}");
}

/// A kiosk in `lang` showing one of its own screens.
async fn kiosk_at(name: &str, lang: Lang) -> Driver {
    let mut h = kiosk(KioskSettings { lang, ..settings() });
    match name {
        "header" => {}
        "countdown" => {
            typed_user_id(&mut h).await;
            h.ticks(IDLE + 3).await;
        }
        "unavailable" => {
            h.runtime.executor_mut().up = false;
            h.ticks(5).await;
        }
        "staff_exit" => {
            for _ in 0..3 {
                h.press(KeyCode::F(12)).await;
            }
            h.type_text("suzuki").await;
            h.press(KeyCode::Enter).await;
            h.type_text("secret").await;
        }
        other => panic!("no kiosk screen {other}"),
    }
    h
}

#[tokio::test]
async fn snapshots_of_the_kiosk_screens() {
    for name in ["header", "countdown", "unavailable", "staff_exit"] {
        for lang in [Lang::Ja, Lang::En] {
            let h = kiosk_at(name, lang).await;
            for (w, ht) in [(80u16, 24u16), (120, 40)] {
                let text = h.text(w, ht, true);
                assert!(!text.contains("OVERWRITTEN"), "{name} {w}x{ht}:\n{text}");
                assert!(!text.contains("secret"), "the password is masked:\n{text}");
                for k in tobira::tui::i18n::keys(Lang::Ja) {
                    assert!(!text.contains(k), "untranslated key {k}:\n{text}");
                }
                insta::assert_snapshot!(format!("kiosk_{name}_{}_{w}x{ht}", lang.code()), text);
            }
        }
    }
}

#[tokio::test]
async fn a_flow_ended_by_a_hold_resets_the_visit_and_the_member_reads_why() {
    use tobira::api::{ApiError, ErrorCode, Step};
    use tobira::client::ClientError;
    let mut h = kiosk(settings());
    signed_in(&mut h).await;
    // The account is held at the next answer (failures elsewhere reached the hold).
    let mut held = ApiError::new(ErrorCode::AccountHeld, "held");
    held.step = Some(Step::SignIn);
    h.runtime.executor_mut().member.fail_next = Some(ClientError::Api(held));
    h.type_text("19801201").await;
    h.press(KeyCode::Enter).await;
    assert!(
        h.app.mode.member.session.token.is_none(),
        "the visit was reset"
    );
    assert_eq!(banner(&h), Some("err.account_held"));
    let text = h.text(80, 24, true);
    assert!(
        text.contains("アカウントは保護のため停止中です。ヘルプデスクへお電話ください。"),
        "{text}"
    );
    assert!(
        !text.contains("DEMO0001") && !text.contains("demo0001"),
        "{text}"
    );
}
