//! The member's case followed live (`GET /api/v1/staff/members/{user_id}/events`): Server-Sent
//! Events, an event `case` carrying the case's version at the start and each time it changes.
//!
//! Changes are found by rebuilding the case from the database about once a second and
//! comparing its version ([`super::case::case_view`]), not by a signal inside this process:
//! the member's request may be served by another `tobira serve` process sharing the database,
//! and it is seen all the same. A step is therefore on the staff screen within about a second
//! (one poll plus the queries), inside the 2 s the console promises.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;

use crate::api::ApiError;
use crate::domain::StaffPhase;
use crate::domain::staff::session_alive;
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::staff_auth::StaffSession;
use crate::store::MemberId;

use super::case::{case_view, find_member};

/// How often the case is rebuilt to look for a change.
const POLL: Duration = Duration::from_secs(1);
/// The name of the event that carries a new version.
pub const CASE_EVENT: &str = "case";

/// Follows the member's case: an event `case` whose data is the case's version, once at the
/// start and again each time it changes; comments keep the connection alive. The stream ends
/// when the staff session ends (signed out, timed out, end of shift, account disabled).
/// Watching does not extend the staff session.
#[utoipa::path(get, path = "/api/v1/staff/members/{user_id}/events", tag = "helpdesk",
    security(("staff" = [])),
    params(("user_id" = String, Path, description = "The member's user ID (any case)")),
    responses(
        (status = 200, description = "text/event-stream: `event: case` with `data: <version>` at the start and on every change", content_type = "text/event-stream", body = crate::api::helpdesk::CaseEvent),
        (status = 401, description = "staff_session_expired: no live staff session (none, a member's token, timed out or ended)", body = ApiError),
        (status = 404, description = "not_found: no member has that user ID", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn member_events(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(typed): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let member = find_member(&state, &typed).await?;
    let first = case_view(&state, &staff, &member).await?.version;
    let watch = Watch {
        state,
        staff,
        member_id: member.id,
        last: None,
        pending: Some(first),
    };
    let stream = futures::stream::unfold(watch, |mut w| async move {
        let version = w.next_version().await?;
        Some((Ok(Event::default().event(CASE_EVENT).data(version)), w))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One staff member watching one member's case.
struct Watch {
    state: AppState,
    staff: StaffSession,
    member_id: MemberId,
    /// The version last sent.
    last: Option<String>,
    /// A version to send before polling again (the first one).
    pending: Option<String>,
}

impl Watch {
    /// The next version to send: waits for a change; `None` once the staff session has ended.
    async fn next_version(&mut self) -> Option<String> {
        if let Some(v) = self.pending.take() {
            self.last = Some(v.clone());
            return Some(v);
        }
        let mut tick = tokio::time::interval(POLL);
        tick.tick().await;
        loop {
            tick.tick().await;
            match self.poll().await {
                Ok(Some(version)) if self.last.as_ref() != Some(&version) => {
                    self.last = Some(version.clone());
                    return Some(version);
                }
                Ok(Some(_)) => {}
                Ok(None) => return None,
                // A database hiccup: the next poll tries again.
                Err(e) => tracing::warn!(error = %e, "helpdesk case events: poll failed"),
            }
        }
    }

    /// The case's version now, or `None` when the staff session is no longer active.
    async fn poll(&mut self) -> Result<Option<String>, AppError> {
        let store = &self.state.store;
        let now = self.state.clock.now();
        let Some(session) = store.staff_session(&self.staff.session.token_hash).await? else {
            return Ok(None);
        };
        if session.phase != StaffPhase::Active
            || !session_alive(session.expires_at, session.absolute_expires_at, now)
        {
            return Ok(None);
        }
        match store.staff(session.staff_id).await? {
            Some(account) if account.enabled => self.staff.account = account,
            _ => return Ok(None),
        }
        self.staff.session = session;
        let Some(member) = store.member(self.member_id).await? else {
            return Ok(None);
        };
        Ok(Some(
            case_view(&self.state, &self.staff, &member).await?.version,
        ))
    }
}
