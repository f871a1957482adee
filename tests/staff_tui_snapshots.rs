//! Every screen of the staff console drawn on ratatui's `TestBackend` at 80x24 and 120x40, in
//! Japanese and in English, compared as text snapshots (tests/snapshots/staff_*). Each row is
//! drawn between `|` bars; a row ending with `<- OVERWRITTEN` would mean a wide character was cut.

mod common;

use std::sync::Arc;

use ratatui::crossterm::event::KeyCode;
use tobira::api::Lang;
use tobira::api::staff::StaffFactorKind;
use tobira::client::staff_keyring::StaffKeyring;
use tobira::passkey::probe::{Availability, ProbeReport};
use tobira::passkey::{PasskeyError, PasskeyTransport};
use tobira::tui::modes::staff::screens::passkey::{PasskeyState, Purpose};
use tobira::tui::modes::staff::{self, Staff};
use tobira::tui::shell::passkey_view::PasskeyPhase;
use tobira::tui::testing::staff::{
    ENROL_CODE, FakeHelpdesk, MEMBER_APP_CODE, NOW, STAFF_CODE, headless,
};
use tobira::tui::testing::{Headless, render_buffer, render_text};
use tobira::tui::widgets::qr::QrStyle;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// A machine with no key plugged in and no Bluetooth, the soft authenticator selected.
fn this_machine() -> ProbeReport {
    let bt = Err(PasskeyError::BluetoothUnreachable("no D-Bus".into()));
    let transports = vec![
        Availability {
            transport: PasskeyTransport::Usb,
            usable: Err(PasskeyError::NoSecurityKey { unreadable: 0 }),
        },
        Availability {
            transport: PasskeyTransport::Bluetooth,
            usable: bt.clone(),
        },
        Availability {
            transport: PasskeyTransport::Phone,
            usable: bt,
        },
        Availability {
            transport: PasskeyTransport::Soft,
            usable: Ok(()),
        },
    ];
    ProbeReport { transports }
}

type Driver = Headless<Staff, FakeHelpdesk>;

async fn signed_in(lang: Lang) -> Driver {
    let (app, first) = staff::app_with_clock(lang, Arc::new(StaffKeyring::in_memory()), || NOW);
    let mut h = headless(app, first, FakeHelpdesk::new()).await;
    h.type_text("sato").await;
    h.press(KeyCode::Tab).await;
    h.type_text("correct horse").await;
    h.press(KeyCode::Enter).await;
    h.type_text(STAFF_CODE).await;
    h.press(KeyCode::Enter).await;
    h.app.shell.banner = None;
    h
}

async fn at_case(lang: Lang, verified: bool) -> Driver {
    let mut h = signed_in(lang).await;
    h.type_text("yamada").await;
    h.ticks(1).await;
    h.press(KeyCode::Enter).await;
    if verified {
        h.press(KeyCode::Enter).await;
        h.press(KeyCode::Enter).await;
        h.type_text(MEMBER_APP_CODE).await;
        h.press(KeyCode::Enter).await;
    }
    h
}

/// Drives a fresh console to the named screen against the fake.
async fn at(screen: &str, lang: Lang) -> Driver {
    let mut h = match screen {
        "sign_in"
        | "sign_in_code"
        | "sign_in_code_passkey"
        | "enrol"
        | "enrol_qr"
        | "enrol_key"
        | "enrol_finish"
        | "enrol_passkey_password" => {
            let (app, first) =
                staff::app_with_clock(lang, Arc::new(StaffKeyring::in_memory()), || NOW);
            let fake = FakeHelpdesk::new();
            if screen == "sign_in_code_passkey" {
                fake.state().second_factors =
                    vec![StaffFactorKind::AuthenticatorApp, StaffFactorKind::Passkey];
            }
            let mut h = headless(app, first, fake).await;
            h.app.shell.banner = None;
            match screen {
                "sign_in_code" | "sign_in_code_passkey" => {
                    h.type_text("sato").await;
                    h.press(KeyCode::Tab).await;
                    h.type_text("correct horse").await;
                    h.press(KeyCode::Enter).await;
                }
                "enrol" | "enrol_qr" | "enrol_key" | "enrol_finish" | "enrol_passkey_password" => {
                    for _ in 0..3 {
                        h.press(KeyCode::Tab).await;
                    }
                    h.press(KeyCode::Enter).await;
                    if screen != "enrol" {
                        h.type_text("suzuki").await;
                        h.press(KeyCode::Tab).await;
                        h.type_text(ENROL_CODE).await;
                        h.press(KeyCode::Enter).await;
                    }
                    if screen == "enrol_key" {
                        h.press(KeyCode::Tab).await;
                        h.press(KeyCode::Enter).await;
                    }
                    if screen == "enrol_finish" {
                        h.press(KeyCode::Enter).await;
                    }
                    if screen == "enrol_passkey_password" {
                        for _ in 0..3 {
                            h.press(KeyCode::Tab).await;
                        }
                        h.press(KeyCode::Enter).await;
                    }
                }
                _ => {}
            }
            h
        }
        "search" | "search_no_match" => {
            let mut h = signed_in(lang).await;
            h.type_text(if screen == "search" { "田中" } else { "zzz" })
                .await;
            h.ticks(1).await;
            h
        }
        "case" => at_case(lang, false).await,
        "case_verified" | "verify" | "verify_way" | "action" | "pass" => {
            let mut h = at_case(lang, screen != "verify" && screen != "verify_way").await;
            match screen {
                "verify" => {
                    h.press(KeyCode::Enter).await;
                }
                "verify_way" => {
                    h.press(KeyCode::Enter).await;
                    h.press(KeyCode::Tab).await;
                    h.press(KeyCode::Enter).await;
                    h.press(KeyCode::Enter).await;
                }
                "action" => {
                    for _ in 0..4 {
                        h.press(KeyCode::Tab).await;
                    }
                    h.press(KeyCode::Enter).await;
                    h.type_text("lost phone").await;
                }
                "pass" => {
                    for _ in 0..6 {
                        h.press(KeyCode::Tab).await;
                    }
                    h.press(KeyCode::Enter).await;
                    h.type_text("new phone").await;
                    h.press(KeyCode::Enter).await;
                }
                _ => {}
            }
            h
        }
        "audit" => {
            let mut h = at_case(lang, true).await;
            for _ in 0..7 {
                h.press(KeyCode::Tab).await;
            }
            h.press(KeyCode::Enter).await;
            h
        }
        "audit_all" => {
            let mut h = signed_in(lang).await;
            for _ in 0..3 {
                h.press(KeyCode::Tab).await;
            }
            h.press(KeyCode::Enter).await;
            h
        }
        "passkey_choose" | "passkey_touch" | "passkey_failed" => {
            let (app, first) =
                staff::app_with_clock(lang, Arc::new(StaffKeyring::in_memory()), || NOW);
            let mut h = headless(app, first, FakeHelpdesk::new()).await;
            h.app.shell.banner = None;
            let token = tobira::client::StaffToken::new("tbs_snapshot");
            let (purpose, phase) = match screen {
                "passkey_choose" => (
                    Purpose::SignIn {
                        token,
                        has_app: false,
                    },
                    PasskeyPhase::Choose(this_machine()),
                ),
                "passkey_touch" => (
                    Purpose::Enrol {
                        token,
                        password: zeroize::Zeroizing::new("correct horse".into()),
                    },
                    PasskeyPhase::Touch,
                ),
                _ => (
                    Purpose::SignIn {
                        token,
                        has_app: true,
                    },
                    PasskeyPhase::Failed(PasskeyError::Authenticator("no credential".into())),
                ),
            };
            let mut s = PasskeyState::new(purpose);
            s.transport = Some(PasskeyTransport::Usb);
            s.show(phase);
            h.app.mode.screen = staff::Screen::Passkey(Box::new(s));
            h
        }
        other => panic!("no such screen {other}"),
    };
    assert_eq!(
        h.app.mode.screen.name(),
        screen
            .trim_end_matches("_verified")
            .trim_end_matches("_no_match")
            .trim_end_matches("_all")
            .trim_end_matches("_passkey")
            .trim_end_matches("_choose")
            .trim_end_matches("_touch")
            .trim_end_matches("_failed")
    );
    h.app.shell.dirty = false;
    h.press(KeyCode::F(12)).await;
    h
}

async fn snap(screen: &str) {
    for lang in [Lang::Ja, Lang::En] {
        let d = at(screen, lang).await;
        for (w, h) in SIZES {
            let text = render_text(&d.app, w, h, true);
            assert!(
                !text.contains("OVERWRITTEN"),
                "a wide character was cut on {screen} {w}x{h} {lang:?}:\n{text}"
            );
            for k in tobira::tui::i18n::keys(Lang::Ja) {
                if k.starts_with("staff.") {
                    assert!(!text.contains(k), "untranslated key {k}:\n{text}");
                }
            }
            let name = format!("staff_{screen}_{}_{w}x{h}", lang.code());
            insta::assert_snapshot!(name, text);
        }
    }
}

#[tokio::test]
async fn sign_in() {
    snap("sign_in").await;
}

#[tokio::test]
async fn sign_in_code() {
    snap("sign_in_code").await;
}

#[tokio::test]
async fn enrol() {
    snap("enrol").await;
}

#[tokio::test]
async fn enrol_qr() {
    snap("enrol_qr").await;
}

#[tokio::test]
async fn enrol_key() {
    snap("enrol_key").await;
}

#[tokio::test]
async fn enrol_finish() {
    snap("enrol_finish").await;
}

#[tokio::test]
async fn sign_in_code_passkey() {
    snap("sign_in_code_passkey").await;
}

#[tokio::test]
async fn enrol_passkey_password() {
    snap("enrol_passkey_password").await;
}

#[tokio::test]
async fn passkey_choose() {
    snap("passkey_choose").await;
}

#[tokio::test]
async fn passkey_touch() {
    snap("passkey_touch").await;
}

#[tokio::test]
async fn passkey_failed() {
    snap("passkey_failed").await;
}

#[tokio::test]
async fn search() {
    snap("search").await;
}

#[tokio::test]
async fn search_no_match() {
    snap("search_no_match").await;
}

#[tokio::test]
async fn case() {
    snap("case").await;
}

#[tokio::test]
async fn case_verified() {
    snap("case_verified").await;
}

#[tokio::test]
async fn verify() {
    snap("verify").await;
}

#[tokio::test]
async fn verify_way() {
    snap("verify_way").await;
}

#[tokio::test]
async fn action() {
    snap("action").await;
}

#[tokio::test]
async fn pass() {
    snap("pass").await;
}

#[tokio::test]
async fn audit() {
    snap("audit").await;
}

#[tokio::test]
async fn audit_all() {
    snap("audit_all").await;
}

/// The enrolment's QR code, read back out of the screen as a phone would, carries the
/// authenticator URI: below the title at 120x40, over the whole terminal at 80x24.
#[tokio::test]
async fn the_enrolment_qr_code_decodes_to_the_otpauth_uri() {
    let d = at("enrol_qr", Lang::En).await;
    for (w, h) in SIZES {
        let buffer = render_buffer(&d.app, w, h);
        let uri = tobira::script::phone::read_qr_as(&buffer, QrStyle::HalfBlocks)
            .unwrap_or_else(|e| panic!("a readable QR code at {w}x{h}: {e}"));
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains("secret=JBSWY3DPEHPK3PXP"), "{uri}");
    }
}
