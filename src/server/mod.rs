//! The HTTP server (axum): the JSON API under `/api/v1`, the email-link pages, `/healthz`
//! and the OpenAPI description. The server is the authority on every rule; nothing that
//! matters lives in its memory, so several processes can share one database.

pub mod client_addr;
pub mod clock;
pub mod email_code;
pub mod enrolment_pass;
pub mod error;
mod flow_auth;
pub mod hash_pool;
pub mod mail_queue;
pub mod metrics;
pub mod openapi;
pub(crate) mod pages;
pub mod passkey;
mod routes;
pub mod secret_key;
pub mod secrets;
pub mod staff_auth;
pub mod staff_enrolment;
pub mod totp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::Lang;
use crate::domain::{EmailCodePolicy, LockoutPolicy, MailQuota, StaffSessionPolicy, TotpPolicy};
use crate::mail::Mailer;
use crate::mail::queue::QueuePolicy;
use crate::mail::templates::MailTemplates;
use crate::portal::Portal;
use crate::store::Store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::AppError;
pub use hash_pool::{Admission, HashPool};
pub use secret_key::SecretKey;
pub use secrets::HashingParams;

/// Rules and texts the server applies, from the configuration file.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The base URL members reach the server at; verification links start with it.
    pub public_url: String,
    /// A flow ends after this many seconds without a request.
    pub flow_idle_timeout_secs: u64,
    /// A flow ends this many seconds after its sign-in, however active (absolute lifetime).
    pub flow_max_lifetime_secs: u64,
    /// Sensitive top-screen actions need the member proved within this many seconds (step-up).
    pub step_up_window_secs: u64,
    /// A verification link works for this many seconds.
    pub email_link_ttl_secs: u64,
    /// Lockout thresholds.
    pub lockout: LockoutPolicy,
    /// Cooldown and daily cap of the mails a member asks for (`[mail_quota]`).
    pub mail_quota: MailQuota,
    /// argon2id cost.
    pub hashing: HashingParams,
    /// How many argon2 workers run and how many requests may wait for one (`[server]`).
    pub admission: Admission,
    /// Proxies whose forwarded client address is believed (`[server] trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Authenticator-app codes: issuer, algorithm, digits, period, skew.
    pub totp: TotpPolicy,
    /// Delivery retries of the mail queue (`[mail.queue]`).
    pub mail_queue: QueuePolicy,
    /// Emailed one-time codes: lifetime, tries, resend cooldown (`[email_code]`).
    pub email_code: EmailCodePolicy,
    /// Terms of use in Japanese (Markdown).
    pub terms_ja: String,
    /// Terms of use in English (Markdown).
    pub terms_en: String,
    /// The mails' templates and the portal they (and the link pages) speak for.
    pub mail_templates: MailTemplates,
    /// Lifetimes of helpdesk staff sessions (`[staff]`).
    pub staff: StaffSessionPolicy,
    /// The bearer token `/metrics` asks for (`[metrics] token` or `TOBIRA_METRICS_TOKEN`);
    /// `None` turns `/metrics` off (404).
    pub metrics_token: Option<MetricsToken>,
}

/// The bearer token of `/metrics`: never shown by `Debug`, compared in constant time.
#[derive(Clone)]
pub struct MetricsToken(zeroize::Zeroizing<String>);

impl MetricsToken {
    /// The shortest token accepted: a guessable token would publish the server's traffic.
    pub const MIN_LEN: usize = 16;

    /// A token of at least [`Self::MIN_LEN`] visible ASCII characters, or why not.
    pub fn new(token: &str) -> Result<Self, String> {
        let token = token.trim();
        if token.len() < Self::MIN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "the metrics token must be at least {} visible ASCII characters",
                Self::MIN_LEN
            ));
        }
        Ok(Self(zeroize::Zeroizing::new(token.to_owned())))
    }

    /// Whether an `Authorization` header value is `Bearer <this token>`.
    pub fn admits(&self, authorization: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        let Some(given) = authorization.strip_prefix(b"Bearer ") else {
            return false;
        };
        given.ct_eq(self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// The built-in terms of use, used unless the operator configures their own.
pub const DEFAULT_TERMS_JA: &str = include_str!("../../assets/terms/ja.md");
/// The built-in English terms of use.
pub const DEFAULT_TERMS_EN: &str = include_str!("../../assets/terms/en.md");

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            public_url: "http://localhost:8080".to_owned(),
            flow_idle_timeout_secs: 600,
            flow_max_lifetime_secs: 8 * 3600,
            step_up_window_secs: 300,
            email_link_ttl_secs: 24 * 3600,
            lockout: LockoutPolicy::default(),
            mail_quota: MailQuota::default(),
            hashing: HashingParams::default(),
            admission: Admission::default(),
            trusted_proxies: Vec::new(),
            totp: TotpPolicy::default(),
            mail_queue: QueuePolicy::default(),
            email_code: EmailCodePolicy::default(),
            terms_ja: DEFAULT_TERMS_JA.to_owned(),
            terms_en: DEFAULT_TERMS_EN.to_owned(),
            mail_templates: MailTemplates::default(),
            staff: StaffSessionPolicy::default(),
            metrics_token: None,
        }
    }
}

impl ServerSettings {
    /// The operator's portal.
    pub fn portal(&self) -> &Portal {
        self.mail_templates.portal()
    }

    /// The terms text in `lang`.
    pub fn terms(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.terms_ja,
            Lang::En => &self.terms_en,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// The time source (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Rules and texts.
    pub settings: Arc<ServerSettings>,
    /// Seals second-factor secrets at rest.
    pub secret_key: Arc<SecretKey>,
    /// The passkey relying party, or why the public URL cannot be one (then passkey routes
    /// answer `passkey_unavailable` and the other methods still work).
    pub passkeys: Arc<Result<webauthn_rs::Webauthn, passkey::RelyingPartyError>>,
    /// The argon2 workers: every password hash and check goes through them.
    pub hasher: Arc<HashPool>,
    /// This process's counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// A hash of a password nobody knows, made on first need with the configured cost, so that
    /// refusing an unknown user ID costs what refusing a wrong password costs.
    decoy_hash: Arc<tokio::sync::OnceCell<String>>,
}

impl AppState {
    /// Bundles the parts.
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        settings: ServerSettings,
        secret_key: SecretKey,
    ) -> Self {
        let passkeys = passkey::relying_party(&settings.public_url);
        if let Err(e) = &passkeys {
            tracing::warn!(error = %e, "passkeys are unavailable");
        }
        let hasher = HashPool::start(settings.hashing, settings.admission);
        Self {
            store,
            mailer,
            clock,
            passkeys: Arc::new(passkeys),
            hasher,
            metrics: Arc::default(),
            settings: Arc::new(settings),
            secret_key: Arc::new(secret_key),
            decoy_hash: Arc::default(),
        }
    }

    /// The decoy hash (see the field).
    async fn decoy_hash(&self) -> Result<String, hash_pool::PoolError> {
        let hasher = &self.hasher;
        self.decoy_hash
            .get_or_try_init(|| async move {
                let (nobody_knows, _) = secrets::new_token()?;
                hasher.hash(nobody_knows).await
            })
            .await
            .cloned()
    }
}

/// Every route of the server, with its OpenAPI description built from the same declarations.
pub fn app(state: AppState) -> axum::Router {
    let (router, mut doc) = routes::router().split_for_parts();
    // The rules that follow the server's clock and policy (the date of birth's last year, the
    // authenticator code's digits).
    crate::api::constraints::apply(
        &mut doc,
        &crate::api::constraints::Context {
            today: state.clock.today(),
            totp_digits: state.settings.totp.digits,
        },
    );
    let doc = std::sync::Arc::new(doc);
    let counters = state.metrics.clone();
    router
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            counters,
            metrics::track,
        ))
        .with_state(state)
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A server running in this process (embedded mode, tests).
pub struct RunningServer {
    /// The bound address (the real port when 0 was asked for).
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    janitor: JoinHandle<()>,
    mail_worker: JoinHandle<()>,
}

impl RunningServer {
    /// `http://localhost:<port>`: passkeys and links need a host name, not an IP address.
    pub fn local_url(&self) -> String {
        format!("http://localhost:{}", self.addr.port())
    }

    /// Stops accepting requests, lets running ones finish, and waits.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.janitor.abort();
        self.mail_worker.abort();
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops by itself (it only does on an I/O error).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Binds `addr` (port 0 picks a free one) and serves the API on it in the background.
pub async fn spawn(state: AppState, addr: SocketAddr) -> Result<RunningServer, ServeError> {
    spawn_on(state, bind(addr).await?)
}

/// Binds `addr` (port 0 picks a free one), so that the caller can learn the port before serving.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves the API on an already bound listener in the background.
pub fn spawn_on(state: AppState, listener: TcpListener) -> Result<RunningServer, ServeError> {
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        source,
    })?;
    let (tx, rx) = oneshot::channel::<()>();
    let janitor = tokio::spawn(purge_expired_flows(state.clone()));
    let mail_worker = tokio::spawn(mail_queue::run_worker(state.clone()));
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "server stopped");
        }
    });
    tracing::info!(%addr, "server listening");
    Ok(RunningServer {
        addr,
        shutdown: Some(tx),
        task,
        janitor,
        mail_worker,
    })
}

/// Expired flows and staff sessions are refused when used; this only keeps the tables small.
async fn purge_expired_flows(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = state.clock.now();
        match state.store.purge_expired_flows(now).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(n, "purged expired flows"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired flows"),
        }
        match state.store.purge_expired_staff_sessions(now).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(n, "purged expired staff sessions"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired staff sessions"),
        }
    }
}
