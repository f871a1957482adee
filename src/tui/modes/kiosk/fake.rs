//! The kiosk answered in memory for tests: the member fake server, a server that can be
//! switched off (the heartbeat fails), and one staff account for the exit.

use futures::future::BoxFuture;
use url::Url;

use super::{App, Kiosk, KioskCall, KioskReply};
use crate::api::ErrorCode;
use crate::client::ClientError;
use crate::tui::modes::member::fake::FakeServer;
use crate::tui::shell::headless::Headless;
use crate::tui::shell::runtime::{Executor, PasskeyRunner, Runtime};

/// The fake server behind a kiosk.
#[derive(Debug)]
pub struct KioskFake {
    /// The member side.
    pub member: FakeServer,
    /// Whether the server answers at all.
    pub up: bool,
    /// The one staff account: login, password, code.
    pub staff: (String, String, String),
    /// Flows ended by a reset.
    pub signed_out: u32,
    /// Heartbeats answered or refused.
    pub beats: u32,
}

impl KioskFake {
    /// The demo member, a server that is up, staff `suzuki` / `staff-pass-1` / `123456`.
    pub fn demo() -> Self {
        Self {
            member: FakeServer::demo(),
            up: true,
            staff: ("suzuki".into(), "staff-pass-1".into(), "123456".into()),
            signed_out: 0,
            beats: 0,
        }
    }
}

impl Executor<KioskCall> for KioskFake {
    fn execute(&mut self, call: KioskCall) -> BoxFuture<'static, Result<KioskReply, ClientError>> {
        if !self.up {
            if call == KioskCall::Health {
                self.beats += 1;
            }
            return Box::pin(std::future::ready(Err(ClientError::Transport(
                "connection refused".into(),
            ))));
        }
        let answer = match call {
            KioskCall::Member(c) => {
                let f = Executor::execute(&mut self.member, c);
                return Box::pin(async move { f.await.map(KioskReply::Member) });
            }
            KioskCall::Health => {
                self.beats += 1;
                Ok(KioskReply::Alive)
            }
            KioskCall::SignOut(_) => {
                self.signed_out += 1;
                self.member.token = None;
                Ok(KioskReply::SignedOut)
            }
            KioskCall::StaffExit(c) => {
                let (l, p, code) = &self.staff;
                if c.login == *l && *c.password == *p && *c.code == *code {
                    Ok(KioskReply::StaffAccepted)
                } else {
                    Err(ClientError::Api(crate::api::ApiError::new(
                        ErrorCode::InvalidCredentials,
                        "invalid",
                    )))
                }
            }
        };
        Box::pin(std::future::ready(answer))
    }

    fn origin(&self) -> Url {
        Executor::origin(&self.member)
    }
}

/// A kiosk on the headless runtime over `server`.
pub fn headless(kiosk: Kiosk, server: KioskFake) -> Headless<Kiosk, KioskFake> {
    let passkeys = PasskeyRunner::new(None, crate::passkey::Limits::default());
    Headless::new(
        App::with_mode(kiosk.settings.lang, kiosk),
        Runtime::new(server, None, passkeys),
    )
}
