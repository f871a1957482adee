//! The bearer token of a sign-in flow, turned into the flow and its member.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::AppError;
use super::{AppState, secrets};
use crate::api::{FlowView, Step};
use crate::domain::FlowGates;
use crate::domain::flow::visible_step;
use crate::store::{Flow, Member};

/// A JSON body whose rejection is an [`AppError`] (so clients always get the API's error shape).
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// A live flow and its member, as of this request. Using a flow extends its idle timeout.
pub struct CurrentFlow {
    /// The flow.
    pub flow: Flow,
    /// Its member.
    pub member: Member,
    /// Opened with an enrolment pass: a new password is owed before anything else.
    pub password_owed: bool,
}

impl CurrentFlow {
    /// The step the member sees through this flow (the `current` of [`crate::domain::flow::transition`]).
    pub fn step(&self) -> Step {
        crate::domain::helpdesk::enrolment_pass::visible_step(
            self.password_owed,
            visible_step(
                self.member.step,
                FlowGates {
                    birth_verified: self.flow.birth_verified,
                    second_factor_pending: self.flow.second_factor_pending,
                },
            ),
        )
    }

    /// What the member sees now.
    pub fn view(&self, state: &AppState) -> FlowView {
        view_of(
            self.step(),
            &self.member,
            state.settings.flow_idle_timeout_secs,
        )
    }
}

/// The answer for a member who is shown `step` next. Name and address stay hidden until the
/// member has proved who they are in this flow (the identity check, or the second factor).
pub fn view_of(step: Step, member: &Member, idle_timeout_secs: u64) -> FlowView {
    let identity_pending = matches!(step, Step::BirthDate | Step::SecondFactor);
    FlowView {
        step,
        user_id: member.user_id.clone(),
        name: (!identity_pending).then(|| member.name.clone()),
        email: (!identity_pending).then(|| member.email.clone()),
        email_verified: member.email_verified_at.is_some(),
        method: member.method,
        idle_timeout_secs,
        second_factors: Vec::new(),
    }
}

/// `view` with the kinds of second factor the member has, when it asks for one.
pub async fn with_second_factors(
    state: &AppState,
    member: &Member,
    mut view: FlowView,
) -> Result<FlowView, AppError> {
    use crate::api::Method;
    if view.step != Step::SecondFactor {
        return Ok(view);
    }
    let store = &state.store;
    let mut kinds = Vec::new();
    if !store.totp_credentials(member.id).await?.is_empty() {
        kinds.push(Method::TotpApp);
    }
    if store.email_factor(member.id).await?.is_some() {
        kinds.push(Method::EmailOtp);
    }
    if !store.passkeys(member.id).await?.is_empty() {
        kinds.push(Method::Passkey);
    }
    view.second_factors = kinds;
    Ok(view)
}

/// A live flow read without using it: its idle timeout is left as it is (the TUI's background
/// checks, which must not keep an unattended flow alive).
pub struct PeekedFlow(pub CurrentFlow);

impl FromRequestParts<AppState> for PeekedFlow {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        CurrentFlow::load(parts, state, false).await.map(Self)
    }
}

impl FromRequestParts<AppState> for CurrentFlow {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Self::load(parts, state, true).await
    }
}

/// The language the request says the member reads: the first `Accept-Language` entry, when it
/// is one tobira speaks (`ja`, `en`, `en-GB`, …); anything else changes nothing.
fn asked_lang(parts: &Parts) -> Option<crate::api::Lang> {
    let header = parts
        .headers
        .get(axum::http::header::ACCEPT_LANGUAGE)?
        .to_str()
        .ok()?;
    let first = header.split(',').next()?.split(';').next()?;
    let primary = first.split('-').next()?.trim().to_ascii_lowercase();
    crate::api::Lang::from_code(&primary)
}

/// The request's bearer token, when it has a non-empty one.
pub(super) fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

impl CurrentFlow {
    /// The flow of the request's bearer token and its member; `touch` extends the idle timeout.
    async fn load(parts: &Parts, state: &AppState, touch: bool) -> Result<Self, AppError> {
        let token = bearer(parts)
            // A staff token is never a member's, whatever the tables hold.
            .filter(|t| !t.starts_with(crate::api::staff::TOKEN_PREFIX))
            .ok_or_else(AppError::unauthorized)?;
        let hash = secrets::hash_token(token);
        let now = state.clock.now();
        let mut flow = state
            .store
            .flow(&hash)
            .await?
            .ok_or_else(AppError::flow_expired)?;
        let ends_at = flow
            .created_at
            .saturating_add(state.settings.flow_max_lifetime_secs as i64);
        if flow.expires_at <= now || ends_at <= now {
            state.store.end_flow(&hash, None).await?;
            return Err(AppError::flow_expired());
        }
        let member = state
            .store
            .member(flow.member_id)
            .await?
            .ok_or_else(AppError::flow_expired)?;
        let password_owed = state.store.flow_owes_password(&hash).await?;
        if !touch {
            return Ok(Self {
                flow,
                member,
                password_owed,
            });
        }
        let expires_at = now
            .saturating_add(state.settings.flow_idle_timeout_secs as i64)
            .min(ends_at);
        state.store.touch_flow(&hash, expires_at).await?;
        // The member switched the language on their screen: this request's mail already
        // follows it, and so does everything after.
        if let Some(lang) = asked_lang(parts)
            && lang.code() != flow.lang
        {
            state.store.set_flow_lang(&hash, lang.code()).await?;
            flow.lang = lang.code().to_owned();
        }
        Ok(Self {
            flow: Flow { expires_at, ..flow },
            member,
            password_owed,
        })
    }
}
