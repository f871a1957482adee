//! Every phase of the passkey screen (issue 6) drawn on ratatui's `TestBackend` at 80x24 and
//! 120x40, in Japanese and in English, compared as text snapshots: the transport choice with
//! the reasons this machine gives (no USB key, no Bluetooth), waiting for the key, touch, PIN,
//! fingerprint, the phone's QR code (read back out of the buffer), naming, and errors.

use tobira::api::Lang;
use tobira::passkey::probe::{Availability, ProbeReport};
use tobira::passkey::ui::CableProgress;
use tobira::passkey::{PasskeyError, PasskeyTransport};
use tobira::tui::modes::member::screens::passkey::{PasskeyPhase, PasskeyPurpose, PasskeyState};
use tobira::tui::modes::member::{App, Screen};
use tobira::tui::testing::{render_buffer, render_text};
use tobira::tui::widgets::qr::QrStyle;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// A caBLE URL of the length the library makes (`FIDO:/` and digits).
fn fido_url() -> String {
    let digits: String = (0..146)
        .map(|i| char::from(b'0' + (i * 7 % 10) as u8))
        .collect();
    format!("FIDO:/{digits}")
}

/// What this machine reports: no key on USB, no Bluetooth; the soft authenticator selected.
fn this_machine(soft: bool) -> ProbeReport {
    let bt = Err(PasskeyError::BluetoothUnreachable("no D-Bus".into()));
    let mut transports = vec![
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
    ];
    if soft {
        transports.push(Availability {
            transport: PasskeyTransport::Soft,
            usable: Ok(()),
        });
    }
    ProbeReport { transports }
}

/// Every transport usable (a machine with a key and Bluetooth).
fn all_usable() -> ProbeReport {
    ProbeReport {
        transports: [
            PasskeyTransport::Usb,
            PasskeyTransport::Bluetooth,
            PasskeyTransport::Phone,
        ]
        .into_iter()
        .map(|transport| Availability {
            transport,
            usable: Ok(()),
        })
        .collect(),
    }
}

fn state(phase: &str, lang: Lang) -> PasskeyState {
    let purpose = if phase.starts_with("sign_in") {
        PasskeyPurpose::SignIn
    } else {
        PasskeyPurpose::Register
    };
    let mut s = PasskeyState::new(purpose);
    s.transport = Some(PasskeyTransport::Usb);
    match phase {
        "probing" => {}
        "choose" => s.show(PasskeyPhase::Choose(this_machine(true))),
        "choose_all" | "sign_in_choose" => s.show(PasskeyPhase::Choose(all_usable())),
        "waiting" => s.show(PasskeyPhase::Waiting),
        "touch" => s.show(PasskeyPhase::Touch),
        "pin" => {
            s.show(PasskeyPhase::Pin { attempt: 1 });
            s.pin.set_value("1234");
        }
        "pin_retry" => s.show(PasskeyPhase::Pin { attempt: 2 }),
        "fingerprint" => s.show(PasskeyPhase::Fingerprint { remaining: 3 }),
        "phone_qr" => {
            s.transport = Some(PasskeyTransport::Phone);
            s.show(PasskeyPhase::PhoneQr {
                url: fido_url(),
                progress: None,
            });
        }
        "phone_qr_waiting" => {
            s.transport = Some(PasskeyTransport::Phone);
            s.show(PasskeyPhase::PhoneQr {
                url: fido_url(),
                progress: Some(CableProgress::WaitingForPhone),
            });
        }
        "naming" => s.naming(lang == Lang::Ja),
        "error_no_key" => s.show(PasskeyPhase::Failed(PasskeyError::NoSecurityKey {
            unreadable: 0,
        })),
        "error_hidraw" => s.show(PasskeyPhase::Failed(PasskeyError::NoSecurityKey {
            unreadable: 2,
        })),
        "error_timeout" => s.show(PasskeyPhase::Failed(PasskeyError::TimedOut)),
        other => panic!("unknown phase {other}"),
    }
    s
}

fn app_at(phase: &str, lang: Lang) -> App {
    let mut app = App::new(lang, false);
    app.mode.session.screen = Screen::Passkey(state(phase, lang));
    app
}

fn snap(phase: &str) {
    for lang in [Lang::Ja, Lang::En] {
        let app = app_at(phase, lang);
        for (w, h) in SIZES {
            let text = render_text(&app, w, h, true);
            assert!(
                !text.contains("OVERWRITTEN"),
                "a wide character was cut on {phase} {w}x{h} {lang:?}:\n{text}"
            );
            for k in tobira::tui::i18n::keys(Lang::Ja) {
                assert!(
                    !text.contains(k) || !k.starts_with("passkey."),
                    "untranslated key {k}:\n{text}"
                );
            }
            assert!(!text.contains("1234"), "the PIN is drawn masked:\n{text}");
            insta::assert_snapshot!(format!("passkey_{phase}_{}_{w}x{h}", lang.code()), text);
        }
    }
}

#[test]
fn probing() {
    snap("probing");
}
#[test]
fn transport_choice_on_this_machine() {
    snap("choose");
}
#[test]
fn transport_choice_with_everything() {
    snap("choose_all");
}
#[test]
fn sign_in_transport_choice() {
    snap("sign_in_choose");
}
#[test]
fn waiting_for_the_key() {
    snap("waiting");
}
#[test]
fn touch() {
    snap("touch");
}
#[test]
fn pin() {
    snap("pin");
}
#[test]
fn pin_after_a_wrong_one() {
    snap("pin_retry");
}
#[test]
fn fingerprint() {
    snap("fingerprint");
}
#[test]
fn phone_qr() {
    snap("phone_qr");
}
#[test]
fn phone_qr_waiting() {
    snap("phone_qr_waiting");
}
#[test]
fn naming() {
    snap("naming");
}
#[test]
fn error_no_key() {
    snap("error_no_key");
}
#[test]
fn error_hidraw() {
    snap("error_hidraw");
}
#[test]
fn error_timeout() {
    snap("error_timeout");
}

/// The phone's QR code on screen decodes to the `FIDO:/` URL at the sizes where it is drawn;
/// where it does not fit, no code is drawn at all (never a cut one).
#[test]
fn the_phone_qr_code_decodes_to_the_fido_url_or_is_not_drawn() {
    let mut drawn_somewhere = false;
    for (w, h) in SIZES {
        let app = app_at("phone_qr", Lang::Ja);
        let text = render_text(&app, w, h, true);
        match tobira::script::phone::read_qr_as(&render_buffer(&app, w, h), QrStyle::HalfBlocks) {
            Ok(content) => {
                assert_eq!(content, fido_url(), "{w}x{h}");
                drawn_somewhere = true;
            }
            Err(_) => {
                assert!(text.contains("画面が小さすぎます"), "{w}x{h}:\n{text}");
                assert!(
                    !text.contains('▀') && !text.contains('▄'),
                    "{w}x{h}:\n{text}"
                );
            }
        }
    }
    assert!(drawn_somewhere, "the code is drawn at 120x40 at least");
}
