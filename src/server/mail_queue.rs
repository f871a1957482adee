//! Mail delivery through the persistent queue: every mail is stored first, tried once at once,
//! and otherwise retried by the delivery worker with backoff until sent or given up. Nothing
//! here logs a body, a link or a code: only the row id, the kind and the error.

use std::time::Duration;

use super::AppState;
use super::error::AppError;
use crate::mail::{Mail, MailError};
use crate::store::{MailId, MailQueueReport, MailStatus, NewMail, QueuedMail, StoreError};

/// Mails the worker takes per round.
const BATCH: u32 = 20;

/// What a sealed mail body is bound to.
const SEAL_CONTEXT: &[u8] = b"tobira/mail-queue/body";

/// The body as it is sealed: text and HTML.
#[derive(serde::Serialize, serde::Deserialize)]
struct Body {
    text: String,
    html: Option<String>,
}

/// A [`Mail`] as the queue stores it: its body sealed under the server key, since it carries
/// a link or a code until it is delivered.
pub fn queued(state: &AppState, kind: &str, mail: Mail) -> Result<NewMail, AppError> {
    let body = zeroize::Zeroizing::new(
        serde_json::to_vec(&Body {
            text: mail.text,
            html: mail.html,
        })
        .map_err(|e| AppError::Internal(format!("mail body: {e}")))?,
    );
    Ok(NewMail {
        kind: kind.to_owned(),
        to: mail.to,
        subject: mail.subject,
        sealed_body: state.secret_key.seal(&body, SEAL_CONTEXT)?,
    })
}

/// The mail back from its queued form, or why its body cannot be opened.
fn unsealed(state: &AppState, m: &NewMail) -> Result<Mail, String> {
    let body = state
        .secret_key
        .open(&m.sealed_body, SEAL_CONTEXT)
        .map_err(|e| format!("cannot open the sealed body (was the server key replaced?): {e}"))?;
    let body: Body =
        serde_json::from_slice(&body).map_err(|e| format!("unreadable sealed body: {e}"))?;
    Ok(Mail {
        to: m.to.clone(),
        subject: m.subject.clone(),
        text: body.text,
        html: body.html,
    })
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handed to the mail server (or written to the outbox).
    Sent,
    /// Failed; it will be tried again.
    Retrying,
    /// Failed for good (a bad address, or the last attempt).
    GivenUp,
}

/// Queues `mail` and tries it once now. A failed attempt is not an error: the worker retries.
pub async fn send(state: &AppState, mail: NewMail) -> Result<(MailId, Delivery), StoreError> {
    let now = state.clock.now();
    let id = state
        .store
        .enqueue_mail(&mail, now, state.settings.mail_queue.claim_until(now))
        .await?;
    Ok((id, try_now(state, id, mail).await?))
}

/// The first attempt of a mail the caller queued (and claimed) itself, in the transaction of
/// the change it belongs to.
pub async fn try_now(state: &AppState, id: MailId, mail: NewMail) -> Result<Delivery, StoreError> {
    attempt(
        state,
        &QueuedMail {
            id,
            attempts: 0,
            mail,
        },
    )
    .await
}

/// One delivery attempt of a claimed mail, recorded in the store.
pub async fn attempt(state: &AppState, queued: &QueuedMail) -> Result<Delivery, StoreError> {
    let m = &queued.mail;
    let mail = match unsealed(state, m) {
        Ok(mail) => mail,
        Err(why) => {
            // No later attempt can do better: give it up, visibly.
            tracing::error!(mail = queued.id, kind = %m.kind, error = %why, "mail given up");
            state
                .store
                .mail_attempt_failed(queued.id, &why, None)
                .await?;
            state.metrics.mail_attempt("given_up");
            return Ok(Delivery::GivenUp);
        }
    };
    match state.mailer.send(&mail).await {
        Ok(()) => {
            state.store.mail_sent(queued.id, state.clock.now()).await?;
            state.metrics.mail_attempt("sent");
            tracing::info!(mail = queued.id, kind = %m.kind, "mail delivered");
            Ok(Delivery::Sent)
        }
        Err(e) => {
            let attempts = queued.attempts.saturating_add(1);
            let retry = if e.is_permanent() {
                None
            } else {
                state.settings.mail_queue.retry_after(attempts)
            };
            let now = state.clock.now();
            let retry_at =
                retry.map(|secs| now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)));
            state
                .store
                .mail_attempt_failed(queued.id, &error_text(&e), retry_at)
                .await?;
            state.metrics.mail_attempt(if retry.is_some() {
                "retrying"
            } else {
                "given_up"
            });
            match retry {
                Some(secs) => {
                    tracing::warn!(mail = queued.id, kind = %m.kind, attempts, retry_in_secs = secs, error = %e, "mail not delivered; will retry");
                    Ok(Delivery::Retrying)
                }
                None => {
                    tracing::error!(mail = queued.id, kind = %m.kind, attempts, error = %e, "mail given up");
                    Ok(Delivery::GivenUp)
                }
            }
        }
    }
}

/// The stored error: the mailer's message, bounded (it never contains the body).
fn error_text(e: &MailError) -> String {
    e.to_string().chars().take(500).collect()
}

/// Tries every due mail once; returns how many were tried.
pub async fn deliver_due(state: &AppState) -> Result<usize, StoreError> {
    let now = state.clock.now();
    let due = state
        .store
        .claim_due_mail(now, state.settings.mail_queue.claim_until(now), BATCH)
        .await?;
    for queued in &due {
        attempt(state, queued).await?;
    }
    Ok(due.len())
}

/// The delivery worker: looks for due mail every `poll_interval_ms` for as long as it runs.
pub async fn run_worker(state: AppState) {
    let every = Duration::from_millis(state.settings.mail_queue.poll_interval_ms.max(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match deliver_due(&state).await {
                // A full batch may mean more are due: go on without waiting.
                Ok(n) if n >= BATCH as usize => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "mail queue: cannot read the queue");
                    break;
                }
            }
        }
    }
}

/// `tobira admin mail status`: the counts, then one line per mail (never its contents).
pub fn format_report(report: &MailQueueReport) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "pending: {}\nsent: {}\nfailed: {}\n",
        report.pending, report.sent, report.failed
    );
    if report.recent.is_empty() {
        return out;
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "{:>6}  {:<8}  {:<13}  {:>8}  {:<20}  {:<20}  to / last error",
        "id", "status", "kind", "attempts", "queued (UTC)", "sent / next try (UTC)"
    );
    for m in &report.recent {
        let when = match m.status {
            MailStatus::Sent => m.sent_at.map(utc).unwrap_or_default(),
            MailStatus::Pending => utc(m.next_attempt_at),
            MailStatus::Failed => "-".to_owned(),
        };
        let mut tail = m.to.clone();
        if let Some(e) = &m.last_error {
            tail.push_str(" / ");
            tail.push_str(e);
        }
        let _ = writeln!(
            out,
            "{:>6}  {:<8}  {:<13}  {:>8}  {:<20}  {:<20}  {}",
            m.id,
            m.status.as_str(),
            m.kind,
            m.attempts,
            utc(m.created_at),
            when,
            tail
        );
    }
    out
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS`.
fn utc(at: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| at.to_string())
}
