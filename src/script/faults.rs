//! Faults for the embedded server of a scripted run: the mail server down for a while, and the
//! server stopped and started again on the same data and port.
//!
//! API:
//! - [`FaultyMailer::new`]`(inner, clock)`: a [`Mailer`] in front of the real one, given to
//!   [`AppState::new`] in its place. [`FaultyMailer::down`] / [`FaultyMailer::down_for`]`(secs)`
//!   (on the run's clock, so advancing the fake clock ends the outage) / [`FaultyMailer::up`] /
//!   [`FaultyMailer::is_down`]. While it is down every delivery fails as an unreachable SMTP
//!   server does (a transient error), so the mail stays queued and the queue's retry path
//!   sends it once the outage is over and the retry is due ([`deliver_due`] tries the due mail
//!   at once instead of waiting for the delivery worker's next look).
//! - [`RestartableServer::start`]`(state, addr)`: the server on `addr` (port 0: a free one);
//!   [`RestartableServer::stop`] shuts it down (the TUI then gets "cannot reach the server");
//!   [`RestartableServer::start_again`] serves the same state (same store: same data) on the
//!   same port; [`RestartableServer::start_again_with`] serves a fresh state, as a new process
//!   on the same database would. [`RestartableServer::url`] is `http://localhost:<port>`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::mail::{Mail, MailError, Mailer};
use crate::server::{self, AppState, Clock, RunningServer, ServeError};
use crate::store::StoreError;

/// No outage: the mail server is up.
const UP: i64 = i64::MIN;
/// An outage until told otherwise.
const DOWN: i64 = i64::MAX;

/// A mailer that can be made unreachable for a while.
pub struct FaultyMailer {
    inner: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    /// The outage lasts while the clock is before this (Unix seconds); [`UP`] or [`DOWN`].
    down_until: AtomicI64,
}

impl std::fmt::Debug for FaultyMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyMailer")
            .field("down_until", &self.down_until.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl FaultyMailer {
    /// `inner` (the outbox or SMTP), up; outages are timed on `clock`.
    pub fn new(inner: Arc<dyn Mailer>, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            clock,
            down_until: AtomicI64::new(UP),
        })
    }

    /// The mail server goes down until [`Self::up`].
    pub fn down(&self) {
        self.down_until.store(DOWN, Ordering::SeqCst);
    }

    /// The mail server goes down for `secs` seconds of the run's clock.
    pub fn down_for(&self, secs: u64) {
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        let until = self.clock.now().saturating_add(secs).min(DOWN - 1);
        self.down_until.store(until, Ordering::SeqCst);
    }

    /// The mail server is back.
    pub fn up(&self) {
        self.down_until.store(UP, Ordering::SeqCst);
    }

    /// Whether a delivery now would fail.
    pub fn is_down(&self) -> bool {
        self.clock.now() < self.down_until.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Mailer for FaultyMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if self.is_down() {
            // Transient, as a refused connection is: the queue keeps the mail and retries.
            return Err(MailError::Smtp(
                "the mail server cannot be reached (scripted outage)".to_owned(),
            ));
        }
        self.inner.send(mail).await
    }
}

/// Tries every due mail of the queue once now; returns how many were tried.
pub async fn deliver_due(state: &AppState) -> Result<usize, StoreError> {
    server::mail_queue::deliver_due(state).await
}

/// The embedded server, which a script can stop and start again on the same port.
pub struct RestartableServer {
    state: AppState,
    addr: SocketAddr,
    running: Option<RunningServer>,
}

impl std::fmt::Debug for RestartableServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestartableServer")
            .field("addr", &self.addr)
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}

impl RestartableServer {
    /// Serves `state` on `addr` (port 0 picks a free port, kept for the restarts).
    pub async fn start(state: AppState, addr: SocketAddr) -> Result<Self, ServeError> {
        let running = server::spawn(state.clone(), addr).await?;
        Ok(Self {
            state,
            addr: running.addr,
            running: Some(running),
        })
    }

    /// Serves `state` on an already bound listener (to learn the port before building the
    /// state, whose public URL names it).
    pub fn start_on(
        state: AppState,
        listener: tokio::net::TcpListener,
    ) -> Result<Self, ServeError> {
        let running = server::spawn_on(state.clone(), listener)?;
        Ok(Self {
            state,
            addr: running.addr,
            running: Some(running),
        })
    }

    /// `http://localhost:<port>` (passkeys and links need a host name).
    pub fn url(&self) -> String {
        format!("http://localhost:{}", self.addr.port())
    }

    /// The address served on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server serves (its store, mailer, clock, settings).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Whether it is serving.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Stops serving: requests in flight finish, then the port is closed. Stopping a stopped
    /// server does nothing.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// Serves the same state on the same port again (a no-op while running).
    pub async fn start_again(&mut self) -> Result<(), ServeError> {
        let state = self.state.clone();
        self.start_again_with(state).await
    }

    /// Serves `state` on the same port, as a new server process would (a no-op while running).
    pub async fn start_again_with(&mut self, state: AppState) -> Result<(), ServeError> {
        if self.running.is_some() {
            return Ok(());
        }
        self.running = Some(server::spawn(state.clone(), self.addr).await?);
        self.state = state;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ManualClock;

    struct Counting(std::sync::atomic::AtomicUsize);

    #[async_trait::async_trait]
    impl Mailer for Counting {
        async fn send(&self, _: &Mail) -> Result<(), MailError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn mail() -> Mail {
        Mail {
            to: "demo0001@example.com".to_owned(),
            subject: "s".to_owned(),
            text: "t".to_owned(),
            html: None,
        }
    }

    #[tokio::test]
    async fn an_outage_fails_deliveries_transiently_until_the_clock_passes_it() {
        let clock = Arc::new(ManualClock::new(1_000));
        let inner = Arc::new(Counting(Default::default()));
        let m = FaultyMailer::new(inner.clone(), clock.clone());
        assert!(m.send(&mail()).await.is_ok());
        m.down_for(60);
        let e = m.send(&mail()).await.expect_err("down");
        assert!(!e.is_permanent(), "the queue retries: {e}");
        clock.advance(59);
        assert!(m.is_down());
        clock.advance(1);
        assert!(!m.is_down());
        assert!(m.send(&mail()).await.is_ok());
        m.down();
        clock.advance(1_000_000);
        assert!(m.send(&mail()).await.is_err(), "down until told");
        m.up();
        assert!(m.send(&mail()).await.is_ok());
        assert_eq!(inner.0.load(Ordering::SeqCst), 3);
    }
}
