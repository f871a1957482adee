//! The member's side of passkeys on this machine: the transport probe gives a reason for every
//! transport it cannot offer and never hangs, hardware ceremonies without hardware end with a
//! clear reason (and the phone's QR code is never shown without Bluetooth), and the soft
//! authenticator (selected explicitly) registers and signs in through the real server, from
//! two separate ceremonies sharing its file.

mod common;

use std::time::Duration;

use common::*;
use tobira::api::{Lang, Method, Step};
use tobira::passkey::ceremony::{Answer, Authenticator, Ceremony, Request, Update};
use tobira::passkey::probe::probe;
use tobira::passkey::ui::PasskeyEvent;
use tobira::passkey::{Limits, PasskeyError, PasskeyTransport, SoftAuthenticator};

/// Short limits: nothing on this machine is worth waiting for.
fn limits() -> Limits {
    Limits {
        probe: Duration::from_secs(3),
        connect: Duration::from_millis(300),
        ceremony: Duration::from_secs(10),
        pin: Duration::from_secs(5),
    }
}

/// A bound for the test itself, so a hang fails instead of blocking the suite.
const HANG: Duration = Duration::from_secs(60);

fn has_hidraw() -> bool {
    std::fs::read_dir("/dev")
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("hidraw"))
        })
        .unwrap_or(false)
}

fn has_bluetooth_adapter() -> bool {
    std::fs::read_dir("/sys/class/bluetooth")
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

/// Runs a ceremony to its end, collecting its events.
async fn run_to_end(mut c: Ceremony) -> (Vec<PasskeyEvent>, Result<Answer, PasskeyError>) {
    let mut events = Vec::new();
    let end = tokio::time::timeout(HANG, async {
        loop {
            match c.next().await {
                Update::Event(e) => events.push(e),
                Update::Done(r) => return r,
            }
        }
    })
    .await
    .expect("the ceremony ends within its own limits");
    (events, end)
}

fn a_registration_request() -> Request {
    let rp = tobira::server::passkey::relying_party("http://localhost:1").unwrap();
    let (ccr, _) = rp
        .start_passkey_registration(
            tobira::server::passkey::user_handle(1),
            "demo0001",
            "demo0001",
            None,
        )
        .unwrap();
    Request::Register(ccr)
}

#[tokio::test]
async fn the_probe_gives_reasons_and_lists_the_soft_authenticator_only_when_selected() {
    let report = tokio::time::timeout(HANG, probe(limits(), None))
        .await
        .expect("the probe is bounded");
    let of = |t| {
        report
            .transports
            .iter()
            .find(|a| a.transport == t)
            .unwrap_or_else(|| panic!("{t:?} listed"))
            .usable
            .clone()
    };
    eprintln!("probe on this machine: {report:?}");
    assert!(
        !report
            .transports
            .iter()
            .any(|a| a.transport == PasskeyTransport::Soft)
    );
    if has_hidraw() {
        // Some HID device exists: whatever the answer, a refusal names its reason.
        if let Err(e) = of(PasskeyTransport::Usb) {
            assert!(e.message_key().starts_with("passkey.reason."), "{e:?}");
        }
    } else {
        assert_eq!(
            of(PasskeyTransport::Usb),
            Err(PasskeyError::NoSecurityKey { unreadable: 0 })
        );
    }
    if !has_bluetooth_adapter() {
        let bt = of(PasskeyTransport::Bluetooth).unwrap_err();
        assert!(
            matches!(
                bt,
                PasskeyError::NoBluetoothAdapter
                    | PasskeyError::BluetoothUnreachable(_)
                    | PasskeyError::TimedOut
            ),
            "{bt:?}"
        );
        // The phone needs Bluetooth: same reason, so its QR code is never offered.
        assert_eq!(of(PasskeyTransport::Phone), Err(bt));
        assert!(!report.is_usable(PasskeyTransport::Phone));
    }
    let soft = SoftAuthenticator::in_memory();
    let report = probe(limits(), Some(&soft)).await;
    assert!(report.is_usable(PasskeyTransport::Soft));
}

#[tokio::test]
async fn hardware_ceremonies_without_hardware_end_with_a_reason() {
    if !has_hidraw() {
        let c = Ceremony::start(
            Authenticator::Usb,
            "http://localhost:1".parse().unwrap(),
            a_registration_request(),
            limits(),
        )
        .unwrap();
        let (events, end) = run_to_end(c).await;
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(
            end.unwrap_err(),
            PasskeyError::NoSecurityKey { unreadable: 0 }
        );
    }
    if !has_bluetooth_adapter() {
        for authenticator in [Authenticator::Bluetooth, Authenticator::Phone] {
            let c = Ceremony::start(
                authenticator.clone(),
                "http://localhost:1".parse().unwrap(),
                a_registration_request(),
                limits(),
            )
            .unwrap();
            let (events, end) = run_to_end(c).await;
            // Above all: no QR code that cannot work.
            assert!(
                !events
                    .iter()
                    .any(|e| matches!(e, PasskeyEvent::PhoneQr { .. })),
                "{authenticator:?}: {events:?}"
            );
            let e = end.unwrap_err();
            assert!(
                matches!(
                    e,
                    PasskeyError::NoBluetoothAdapter
                        | PasskeyError::BluetoothUnreachable(_)
                        | PasskeyError::NoBluetoothKey
                        | PasskeyError::TimedOut
                ),
                "{authenticator:?}: {e:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_soft_authenticator_registers_and_signs_in_through_the_real_server() {
    let t = start().await;
    let c = &t.client;
    let dir = tempfile::tempdir().unwrap();
    let soft = SoftAuthenticator::File(dir.path().join("soft-token.cbor"));
    const PW: &str = "N3w-passw0rd!";

    let token = t.demo_at_credentials().await;
    c.choose_method(&token, Method::Passkey).await.unwrap();
    c.set_credentials(&token, PW, None).await.unwrap();
    let (token, v) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::MethodSetup);

    let start = c.start_passkey_registration(&token).await.unwrap();
    let ceremony = Ceremony::start(
        Authenticator::Soft(soft.clone()),
        c.origin(),
        Request::Register(start.options),
        limits(),
    )
    .unwrap();
    let (_, end) = run_to_end(ceremony).await;
    let Ok(Answer::Registered(answer)) = end else {
        panic!("registration: {end:?}");
    };
    let v = c
        .finish_passkey_registration(&token, *answer, PasskeyTransport::Soft.default_name(true))
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    // The token file was written when the ceremony ended, with the owner's permissions only.
    let meta = std::fs::metadata(dir.path().join("soft-token.cbor")).unwrap();
    assert!(meta.len() > 0);
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    c.sign_out(&token).await.unwrap();

    let (token, v) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::SecondFactor);
    let start = c.start_passkey_authentication(&token).await.unwrap();
    let ceremony = Ceremony::start(
        Authenticator::Soft(soft),
        c.origin(),
        Request::Authenticate(start.options),
        limits(),
    )
    .unwrap();
    let (_, end) = run_to_end(ceremony).await;
    let Ok(Answer::Authenticated(answer)) = end else {
        panic!("authentication: {end:?}");
    };
    let v = c
        .finish_passkey_authentication(&token, *answer)
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    t.stop().await;
}
