//! The bearer token of a staff session, turned into the session and its staff account.
//!
//! Staff tokens carry their own prefix ([`TOKEN_PREFIX`]) and live in their own table, so a
//! member's token never opens a staff route and a staff token never opens a member route
//! (`flow_auth` refuses the prefix before any lookup).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::AppError;
use super::{AppState, secrets};
use crate::api::staff::{StaffMe, StaffSessionView, TOKEN_PREFIX};
use crate::domain::staff::{self, session_alive};
use crate::domain::{Actor, StaffPhase, StaffRole};
use crate::store::{StaffAccount, StaffSessionRecord};

/// A signed-in staff member (an active session), as of this request. Using it extends the
/// session's idle timeout, never past the end of the shift.
pub struct StaffSession {
    /// The session (its idle expiry as extended by this request).
    pub session: StaffSessionRecord,
    /// Its staff account.
    pub account: StaffAccount,
}

/// A live staff session of any phase (a half-done sign-in or enrolment included), read without
/// extending it: for finishing the sign-in or the enrolment, and for signing out.
pub struct AnyStaffSession(pub StaffSession);

impl StaffSession {
    /// Refuses unless the staff member's role allows what needs `needed`.
    pub fn require(&self, needed: StaffRole) -> Result<(), AppError> {
        staff::require(self.account.role, needed).map_err(AppError::insufficient_role)
    }

    /// Who acts, for the audit log.
    pub fn actor(&self) -> Actor {
        Actor::Staff(self.account.id)
    }

    /// What `GET /api/v1/staff/me` answers.
    pub fn me(&self, state: &AppState) -> StaffMe {
        me_of(&self.account, &self.session, state)
    }

    /// The session of the request's staff token: alive, of an enabled account, in one of
    /// `phases`; `touch` extends the idle timeout.
    async fn load(
        parts: &Parts,
        state: &AppState,
        phases: &[StaffPhase],
        touch: bool,
    ) -> Result<Self, AppError> {
        let token = super::flow_auth::bearer(parts)
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .ok_or_else(AppError::staff_session_expired)?;
        let hash = secrets::hash_token(token);
        let now = state.clock.now();
        let session = state
            .store
            .staff_session(&hash)
            .await?
            .ok_or_else(AppError::staff_session_expired)?;
        if !session_alive(session.expires_at, session.absolute_expires_at, now) {
            state.store.end_staff_session(&hash, None).await?;
            return Err(AppError::staff_session_expired());
        }
        let account = state
            .store
            .staff(session.staff_id)
            .await?
            .filter(|a| a.enabled)
            .ok_or_else(AppError::staff_session_expired)?;
        if !phases.contains(&session.phase) {
            return Err(AppError::staff_session_expired());
        }
        if !touch {
            return Ok(Self { session, account });
        }
        let expires_at = state
            .settings
            .staff
            .idle_expiry(session.absolute_expires_at, now);
        state
            .store
            .touch_staff_session(&hash, now, expires_at)
            .await?;
        Ok(Self {
            session: StaffSessionRecord {
                expires_at,
                last_seen_at: now,
                ..session
            },
            account,
        })
    }
}

/// What `GET /api/v1/staff/me` answers for `account` in `session`.
pub fn me_of(account: &StaffAccount, session: &StaffSessionRecord, state: &AppState) -> StaffMe {
    StaffMe {
        login: account.login.clone(),
        display_name: account.display_name.clone(),
        role: account.role,
        session: StaffSessionView {
            created_at: session.created_at,
            expires_at: session.expires_at,
            absolute_expires_at: session.absolute_expires_at,
            idle_timeout_secs: state.settings.staff.idle_secs,
        },
    }
}

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Self::load(parts, state, &[StaffPhase::Active], true).await
    }
}

impl FromRequestParts<AppState> for AnyStaffSession {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        StaffSession::load(parts, state, &StaffPhase::ALL, false)
            .await
            .map(Self)
    }
}

/// Every staff account as an admin sees it (`GET /api/v1/staff/accounts`, `tobira admin staff
/// list`): never a hash, a secret or a code.
pub async fn account_views(
    store: &dyn crate::store::Store,
) -> Result<Vec<crate::api::staff::StaffAccountView>, crate::store::StoreError> {
    let mut out = Vec::new();
    for a in store.staff_list().await? {
        let second_factors = store.staff_factor_count(a.id).await?;
        out.push(crate::api::staff::StaffAccountView {
            status: staff::status(a.enabled, a.password_hash.is_some(), second_factors),
            login: a.login,
            display_name: a.display_name,
            role: a.role,
            second_factors,
            created_at: a.created_at,
            updated_at: a.updated_at,
        });
    }
    Ok(out)
}

/// A new staff token (the prefix and 43 random URL-safe characters) and its stored hash.
pub fn new_staff_token() -> Result<(String, String), AppError> {
    let (random, _) = secrets::new_token()?;
    let token = format!("{TOKEN_PREFIX}{random}");
    let hash = secrets::hash_token(&token);
    Ok((token, hash))
}
