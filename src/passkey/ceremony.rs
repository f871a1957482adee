//! One WebAuthn ceremony on a dedicated thread. Hardware authenticators block (the library
//! calls `block_on` inside), so the ceremony never runs on the async loop: it gets a thread of
//! its own with a one-worker runtime that drives the USB/Bluetooth I/O, and talks to the
//! screen through [`ChannelUi`]. Every wait is bounded; dropping the [`Ceremony`] (Esc) makes
//! the next PIN request fail and the thread end at its timeout at the latest.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use webauthn_authenticator_rs::ctap2::CtapAuthenticator;
use webauthn_authenticator_rs::transport::{TokenEvent, Transport};
use webauthn_authenticator_rs::types::CableRequestType;
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator};
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url,
};

use super::ui::{ChannelUi, PasskeyEvent, PinReply};
use super::{Limits, PasskeyError, PasskeyTransport, SoftAuthenticator};

/// What the server asked for.
#[derive(Debug, Clone)]
pub enum Request {
    /// Register a new passkey (options from `POST /api/v1/passkey/registration`).
    Register(CreationChallengeResponse),
    /// Sign in (options from `POST /api/v1/passkey/authentication`).
    Authenticate(RequestChallengeResponse),
}

/// The authenticator's answer, for the matching `…/finish` request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A new credential.
    Registered(Box<RegisterPublicKeyCredential>),
    /// An assertion.
    Authenticated(Box<PublicKeyCredential>),
}

/// Which authenticator the ceremony uses.
#[derive(Debug, Clone)]
pub enum Authenticator {
    /// The first FIDO key on USB HID.
    Usb,
    /// The first Bluetooth FIDO key.
    Bluetooth,
    /// A phone through the cross-device QR code (hybrid / caBLE).
    Phone,
    /// The soft authenticator (tests and scripted runs only).
    Soft(SoftAuthenticator),
}

impl Authenticator {
    /// The transport it goes through.
    pub fn transport(&self) -> PasskeyTransport {
        match self {
            Self::Usb => PasskeyTransport::Usb,
            Self::Bluetooth => PasskeyTransport::Bluetooth,
            Self::Phone => PasskeyTransport::Phone,
            Self::Soft(_) => PasskeyTransport::Soft,
        }
    }
}

/// What [`Ceremony::next`] saw.
#[derive(Debug)]
pub enum Update {
    /// The authenticator asks something of the member.
    Event(PasskeyEvent),
    /// The ceremony ended.
    Done(Result<Answer, PasskeyError>),
}

/// A running ceremony: its events, its PIN reply channel and its result.
pub struct Ceremony {
    events: mpsc::UnboundedReceiver<PasskeyEvent>,
    pins: std::sync::mpsc::Sender<PinReply>,
    result: oneshot::Receiver<Result<Answer, PasskeyError>>,
    deadline: Instant,
}

impl std::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremony")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Ceremony {
    /// Starts the ceremony on its own thread, claiming `origin` (the server's).
    pub fn start(
        authenticator: Authenticator,
        origin: Url,
        request: Request,
        limits: Limits,
    ) -> Result<Self, PasskeyError> {
        let (etx, events) = mpsc::unbounded_channel();
        let (pins, prx) = std::sync::mpsc::channel();
        let (rtx, result) = oneshot::channel();
        let ui = ChannelUi::new(etx, prx, limits.pin);
        std::thread::Builder::new()
            .name("tobira-passkey".to_owned())
            .spawn(move || {
                let outcome = run(&authenticator, origin, request, limits, &ui);
                if let Err(e) = &outcome {
                    tracing::info!(error = %e, transport = authenticator.transport().as_str(), "passkey ceremony ended");
                }
                let _ = rtx.send(outcome);
            })
            .map_err(|e| PasskeyError::Internal(e.to_string()))?;
        Ok(Self {
            events,
            pins,
            result,
            // Connecting and the ceremony, plus a little for the thread to report.
            deadline: Instant::now() + limits.connect + limits.ceremony + Duration::from_secs(1),
        })
    }

    /// The PIN the member typed (or `None` to give up), for the pending [`PasskeyEvent::Pin`].
    pub fn send_pin(&self, pin: PinReply) {
        let _ = self.pins.send(pin);
    }

    /// The next event, or the end; [`PasskeyError::TimedOut`] once the deadline passes.
    pub async fn next(&mut self) -> Update {
        if let Ok(event) = self.events.try_recv() {
            return Update::Event(event);
        }
        let wait = async {
            tokio::select! {
                biased;
                Some(event) = self.events.recv() => Update::Event(event),
                done = &mut self.result => Update::Done(
                    done.unwrap_or_else(|_| Err(PasskeyError::Internal("the ceremony thread stopped".into())))
                ),
            }
        };
        tokio::time::timeout_at(self.deadline, wait)
            .await
            .unwrap_or(Update::Done(Err(PasskeyError::TimedOut)))
    }

    /// Gives up (Esc): a pending PIN request gets no PIN, and the thread ends by itself.
    pub fn cancel(self) {
        self.send_pin(None);
    }
}

/// The request with the authenticator's own timeout no longer than ours.
fn bounded(request: Request, limit: Duration) -> Request {
    let ms = u32::try_from(limit.as_millis()).unwrap_or(u32::MAX);
    match request {
        Request::Register(mut r) => {
            r.public_key.timeout = Some(r.public_key.timeout.map_or(ms, |t| t.min(ms)));
            Request::Register(r)
        }
        Request::Authenticate(mut r) => {
            r.public_key.timeout = Some(r.public_key.timeout.map_or(ms, |t| t.min(ms)));
            Request::Authenticate(r)
        }
    }
}

fn perform<A: AuthenticatorBackend + ?Sized>(
    authr: &mut A,
    origin: Url,
    request: Request,
) -> Result<Answer, PasskeyError> {
    let failed = |e: webauthn_authenticator_rs::prelude::WebauthnCError| {
        PasskeyError::Authenticator(format!("{e:?}"))
    };
    match request {
        Request::Register(r) => authr
            .do_registration(origin, r)
            .map(|a| Answer::Registered(Box::new(a)))
            .map_err(failed),
        Request::Authenticate(r) => authr
            .do_authentication(origin, r)
            .map(|a| Answer::Authenticated(Box::new(a)))
            .map_err(failed),
    }
}

fn run(
    authenticator: &Authenticator,
    origin: Url,
    request: Request,
    limits: Limits,
    ui: &ChannelUi,
) -> Result<Answer, PasskeyError> {
    let request = bounded(request, limits.ceremony);
    let soft = match authenticator {
        Authenticator::Soft(s) => s,
        _ => return run_hardware(authenticator, origin, request, limits, ui),
    };
    match soft {
        SoftAuthenticator::Memory(m) => {
            let mut authr = m
                .lock()
                .map_err(|_| PasskeyError::Internal("soft authenticator poisoned".into()))?;
            perform(&mut *authr, origin, request)
        }
        SoftAuthenticator::File(path) => {
            // Saved back to the file when dropped.
            let mut authr = open_soft_token(path)?;
            perform(&mut authr, origin, request)
        }
        SoftAuthenticator::Backend(b) => {
            let mut authr = b
                .lock()
                .map_err(|_| PasskeyError::Internal("soft authenticator poisoned".into()))?;
            perform(&mut *authr, origin, request)
        }
    }
}

/// Opens the soft token file, creating it (mode 0600) with a new token when empty.
fn open_soft_token(
    path: &Path,
) -> Result<webauthn_authenticator_rs::softtoken::SoftTokenFile, PasskeyError> {
    use webauthn_authenticator_rs::softtoken::{SoftToken, SoftTokenFile};
    let io = |e: std::io::Error| PasskeyError::Internal(format!("{}: {e}", path.display()));
    let mut options = File::options();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() == 0 {
        let (token, _) =
            SoftToken::new(true).map_err(|e| PasskeyError::Internal(format!("{e:?}")))?;
        Ok(SoftTokenFile::new(token, file))
    } else {
        SoftTokenFile::open(file).map_err(|e| PasskeyError::Internal(format!("{e:?}")))
    }
}

fn run_hardware(
    authenticator: &Authenticator,
    origin: Url,
    request: Request,
    limits: Limits,
    ui: &ChannelUi,
) -> Result<Answer, PasskeyError> {
    // One worker drives the transports' I/O while this thread blocks in the library.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| PasskeyError::Internal(e.to_string()))?;
    let _enter = rt.enter();
    let connect = limits.connect;
    match authenticator {
        Authenticator::Usb => {
            let transport = rt
                .block_on(webauthn_authenticator_rs::usb::USBTransport::new())
                .map_err(|e| PasskeyError::UsbUnusable(format!("{e:?}")))?;
            let token = rt.block_on(first_token(&transport, connect))?.ok_or(
                PasskeyError::NoSecurityKey {
                    unreadable: super::probe::unreadable_hidraw(Path::new("/dev")),
                },
            )?;
            let mut authr = rt
                .block_on(CtapAuthenticator::new(token, ui))
                .ok_or_else(|| PasskeyError::Authenticator("not a CTAP2 key".into()))?;
            perform(&mut authr, origin, request)
        }
        Authenticator::Bluetooth => {
            let transport = rt
                .block_on(webauthn_authenticator_rs::bluetooth::BluetoothTransport::new())
                .map_err(|e| PasskeyError::BluetoothUnreachable(format!("{e:?}")))?;
            let token = rt
                .block_on(first_token(&transport, connect))?
                .ok_or(PasskeyError::NoBluetoothKey)?;
            let mut authr = rt
                .block_on(CtapAuthenticator::new(token, ui))
                .ok_or_else(|| PasskeyError::Authenticator("not a CTAP2 key".into()))?;
            perform(&mut authr, origin, request)
        }
        Authenticator::Phone => {
            // caBLE shows its QR code before it opens BLE: without an adapter the member would
            // scan a code that cannot work, so the adapter is checked first.
            rt.block_on(async {
                tokio::time::timeout(limits.probe, super::probe::probe_bluetooth_adapter()).await
            })
            .map_err(|_| PasskeyError::TimedOut)??;
            let kind = match request {
                Request::Register(_) => CableRequestType::MakeCredential,
                Request::Authenticate(_) => CableRequestType::GetAssertion,
            };
            let mut authr = rt
                .block_on(async {
                    tokio::time::timeout(
                        connect,
                        webauthn_authenticator_rs::cable::connect_cable_authenticator(kind, ui),
                    )
                    .await
                })
                .map_err(|_| PasskeyError::TimedOut)?
                .map_err(|e| PasskeyError::Authenticator(format!("{e:?}")))?;
            perform(&mut authr, origin, request)
        }
        Authenticator::Soft(_) => Err(PasskeyError::Internal("not hardware".into())),
    }
}

/// The first token the transport reports, waiting up to `limit` for one to be plugged in;
/// `None` when none came.
async fn first_token<'a, T: Transport<'a>>(
    transport: &'a T,
    limit: Duration,
) -> Result<Option<T::Token>, PasskeyError> {
    let mut events = transport
        .watch()
        .await
        .map_err(|e| PasskeyError::Authenticator(format!("{e:?}")))?;
    let found = tokio::time::timeout(limit, async {
        while let Some(event) = events.next().await {
            if let TokenEvent::Added(token) = event {
                return Some(token);
            }
        }
        None
    })
    .await;
    Ok(found.unwrap_or(None))
}
