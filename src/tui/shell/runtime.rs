//! The runtime: carries out the app's [`Command`]s — requests through an [`Executor`] (the
//! HTTP [`Client`], or a fake server in memory for tests), mailbox listings, passkey probes
//! and ceremonies — and reports back with [`Msg`]s. It needs no terminal: the terminal loop
//! ([`super::terminal`]) and the headless driver ([`super::headless`]) both run on it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use url::Url;

use super::app::{Command, Msg};
use crate::client::{Client, ClientError, FlowToken};
use crate::tui::mailbox::Mailbox;

/// A mode's request: what the runtime runs with the client.
pub trait Call: std::fmt::Debug + Send + 'static {
    /// Its answer.
    type Reply: std::fmt::Debug + Send + 'static;
    /// Runs the request.
    fn execute(
        self,
        client: &Client,
    ) -> impl Future<Output = Result<Self::Reply, ClientError>> + Send;
}

/// What answers a mode's requests: the [`Client`] over HTTP, or a fake server in memory
/// (`tui::testing`), so that one runtime and one headless driver serve both.
pub trait Executor<C: Call>: Send + 'static {
    /// Starts `call`; the future owns what it needs, so that it can run as a task.
    fn execute(&mut self, call: C) -> BoxFuture<'static, Result<C::Reply, ClientError>>;
    /// The origin passkey ceremonies are made for.
    fn origin(&self) -> Url;
    /// Later requests say the member reads `lang` (a fake server has nothing to do).
    fn set_lang(&mut self, _lang: crate::api::Lang) {}
}

impl<C: Call> Executor<C> for Client {
    fn execute(&mut self, call: C) -> BoxFuture<'static, Result<C::Reply, ClientError>> {
        let client = self.clone();
        Box::pin(async move { call.execute(&client).await })
    }

    fn origin(&self) -> Url {
        Client::origin(self)
    }

    fn set_lang(&mut self, lang: crate::api::Lang) {
        Client::set_lang(self, lang);
    }
}

/// What carrying out a command to its end gave.
#[derive(Debug)]
pub enum Done<R> {
    /// These messages for the app (none for commands whose answers come later from
    /// [`Runtime::next`]).
    Msgs(Vec<Msg<R>>),
    /// The app quits, ending this flow on the way out.
    Quit(Option<FlowToken>),
}

/// Carries out commands; answers come back as messages. Requests go through `E`.
pub struct Runtime<C: Call, E: Executor<C> = Client> {
    executor: E,
    mailbox: Option<Arc<dyn Mailbox>>,
    passkeys: PasskeyRunner,
    watch: Option<tokio::task::JoinHandle<()>>,
    tx: mpsc::UnboundedSender<Msg<C::Reply>>,
    rx: mpsc::UnboundedReceiver<Msg<C::Reply>>,
}

impl<C: Call, E: Executor<C>> Runtime<C, E> {
    /// A runtime sending requests to `executor`, listing `mailbox` (demo mode) and running
    /// passkeys with `passkeys`.
    pub fn new(executor: E, mailbox: Option<Arc<dyn Mailbox>>, passkeys: PasskeyRunner) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            executor,
            mailbox,
            passkeys,
            watch: None,
            tx,
            rx,
        }
    }

    /// What requests go through.
    pub fn executor(&self) -> &E {
        &self.executor
    }

    /// What requests go through, to change (a fake server's state).
    pub fn executor_mut(&mut self) -> &mut E {
        &mut self.executor
    }

    /// Starts `cmd` as a task (requests, listings) or on the passkey thread; its answer comes
    /// from [`Self::next`]. Returns the flow to end when the command is to quit.
    pub fn start(&mut self, cmd: Command<C>) -> Option<Option<FlowToken>> {
        match cmd {
            Command::Call { seq, call } => {
                let answer = self.executor.execute(call);
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = answer.await;
                    let _ = tx.send(Msg::Response { seq, result });
                });
            }
            Command::ListMailbox => {
                if let Some(mb) = self.mailbox.clone() {
                    let tx = self.tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let r = mb.list().map_err(|e| e.to_string());
                        let _ = tx.send(Msg::Mailbox(r));
                    });
                }
            }
            Command::Quit { sign_out } => return Some(sign_out),
            Command::Lang(lang) => self.executor.set_lang(lang),
            Command::Watch(call) => self.watch(call),
            Command::StopWatch => self.stop_watch(),
            cmd => self.passkeys.handle(cmd, self.executor.origin(), &self.tx),
        }
        None
    }

    /// Starts `call` as the background watch, replacing the running one.
    fn watch(&mut self, call: C) {
        self.stop_watch();
        let answer = self.executor.execute(call);
        let tx = self.tx.clone();
        self.watch = Some(tokio::spawn(async move {
            let _ = tx.send(Msg::Pushed(answer.await));
        }));
    }

    fn stop_watch(&mut self) {
        if let Some(w) = self.watch.take() {
            w.abort();
        }
    }

    /// Carries out `cmd` to its end before returning its answer (the headless driver: one
    /// command at a time keeps a test exact). Passkey commands start as with [`Self::start`].
    pub async fn complete(&mut self, cmd: Command<C>) -> Done<C::Reply> {
        match cmd {
            Command::Call { seq, call } => Done::Msgs(vec![Msg::Response {
                seq,
                result: self.executor.execute(call).await,
            }]),
            Command::ListMailbox => Done::Msgs(
                self.mailbox
                    .as_ref()
                    .map(|mb| Msg::Mailbox(mb.list().map_err(|e| e.to_string())))
                    .into_iter()
                    .collect(),
            ),
            Command::Quit { sign_out } => Done::Quit(sign_out),
            Command::Lang(lang) => {
                self.executor.set_lang(lang);
                Done::Msgs(Vec::new())
            }
            // A watch waits for the server to change: it runs beside the test like a
            // ceremony, its answer coming from `Self::next`.
            Command::Watch(call) => {
                self.watch(call);
                Done::Msgs(Vec::new())
            }
            Command::StopWatch => {
                self.stop_watch();
                Done::Msgs(Vec::new())
            }
            cmd => {
                self.passkeys.handle(cmd, self.executor.origin(), &self.tx);
                Done::Msgs(Vec::new())
            }
        }
    }

    /// The next answer of a started command or event of the running ceremony; pending while
    /// there is none.
    pub async fn next(&mut self) -> Option<Msg<C::Reply>> {
        tokio::select! {
            Some(m) = self.rx.recv() => Some(m),
            Some(m) = self.passkeys.next() => Some(m),
        }
    }
}

impl<C: Call> Runtime<C, Client> {
    /// Ends the open flow on the way out; does not wait long for it.
    pub async fn sign_out(&self, token: &FlowToken) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.executor.sign_out(token)).await;
    }
}

/// The passkey side of the runtime: probes on a task, the ceremony on its own thread, its
/// events turned into messages. The ceremony never runs on the async loop.
pub struct PasskeyRunner {
    soft: Option<crate::passkey::SoftAuthenticator>,
    limits: crate::passkey::Limits,
    ceremony: Option<crate::passkey::ceremony::Ceremony>,
}

impl PasskeyRunner {
    /// A runner offering `soft` (tests and scripted runs) besides the hardware transports.
    pub fn new(
        soft: Option<crate::passkey::SoftAuthenticator>,
        limits: crate::passkey::Limits,
    ) -> Self {
        Self {
            soft,
            limits,
            ceremony: None,
        }
    }

    /// Carries out one of the passkey commands; answers arrive on `tx` or from [`Self::next`].
    pub fn handle<C, R: Send + 'static>(
        &mut self,
        cmd: Command<C>,
        origin: Url,
        tx: &mpsc::UnboundedSender<Msg<R>>,
    ) {
        use crate::passkey::ceremony::{Authenticator, Ceremony};
        use crate::passkey::{PasskeyError, PasskeyTransport};
        match cmd {
            Command::ProbePasskeys => {
                let (soft, limits, tx) = (self.soft.clone(), self.limits, tx.clone());
                tokio::spawn(async move {
                    let report = crate::passkey::probe::probe(limits, soft.as_ref()).await;
                    let _ = tx.send(Msg::PasskeyProbed(report));
                });
            }
            Command::RunPasskey { transport, request } => {
                if let Some(old) = self.ceremony.take() {
                    old.cancel();
                }
                let authenticator = match transport {
                    PasskeyTransport::Usb => Some(Authenticator::Usb),
                    PasskeyTransport::Bluetooth => Some(Authenticator::Bluetooth),
                    PasskeyTransport::Phone => Some(Authenticator::Phone),
                    PasskeyTransport::Soft => self.soft.clone().map(Authenticator::Soft),
                };
                let started = authenticator
                    .ok_or(PasskeyError::SoftNotSelected)
                    .and_then(|a| Ceremony::start(a, origin, (*request.0).clone(), self.limits));
                match started {
                    Ok(c) => self.ceremony = Some(c),
                    Err(e) => {
                        let _ = tx.send(Msg::PasskeyDone(Err(e)));
                    }
                }
            }
            Command::PasskeyPin(pin) => {
                if let Some(c) = &self.ceremony {
                    c.send_pin((*pin.0).clone());
                }
            }
            Command::CancelPasskey => {
                if let Some(c) = self.ceremony.take() {
                    c.cancel();
                }
            }
            _ => {}
        }
    }

    /// The running ceremony's next event or its end; never ready without a ceremony.
    pub async fn next<R>(&mut self) -> Option<Msg<R>> {
        use crate::passkey::Shared;
        use crate::passkey::ceremony::Update;
        let Some(c) = self.ceremony.as_mut() else {
            return std::future::pending().await;
        };
        match c.next().await {
            Update::Event(e) => Some(Msg::Passkey(e)),
            Update::Done(r) => {
                self.ceremony = None;
                Some(Msg::PasskeyDone(r.map(Shared::new)))
            }
        }
    }
}
