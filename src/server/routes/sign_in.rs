//! 【2】 Sign-in with user ID and password.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;

use crate::api::{SignInRequest, SignInResponse};
use crate::domain::{Verdict, initial_password, user_id};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, view_of};
use crate::server::secrets::{self, secrets_equal};
use crate::store::{AuditEntry, Flow, Member, ThrottleScope};

/// The client's IP address, the key of the per-address throttle.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // In-process tests (`oneshot`) have no socket; they share one key.
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string())
            .unwrap_or_else(|| "local".to_owned());
        Ok(Self(ip))
    }
}

/// Signs in with the user ID and the initial or own password; starts a flow.
///
/// An unknown user ID, a wrong password and a locked account all get the same answer.
#[utoipa::path(post, path = "/api/v1/sign-in", tag = "first-login", request_body = SignInRequest,
    responses(
        (status = 200, body = SignInResponse),
        (status = 401, description = "invalid_credentials", body = crate::api::ApiError),
        (status = 429, description = "rate_limited", body = crate::api::ApiError)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<SignInRequest>,
) -> Result<ApiJson<SignInResponse>, AppError> {
    let now = state.clock.now();
    let policy = state.settings.lockout;
    let store = &state.store;

    if let Verdict::Delayed { retry_after_secs } = policy
        .address
        .verdict(store.failures(ThrottleScope::Address, &addr).await?, now)
    {
        return Err(AppError::rate_limited(retry_after_secs));
    }

    let member = store
        .member_by_user_id(&user_id::normalize(&req.user_id))
        .await?;
    let Some(member) = member else {
        let decoy = state.decoy_hash().await?;
        state.settings.hashing.verify(req.password, decoy).await?;
        store
            .record_failure(ThrottleScope::Address, &addr, now)
            .await?;
        return Err(AppError::invalid_credentials());
    };

    let account_key = member.id.to_string();
    let account = policy.account.verdict(
        store.failures(ThrottleScope::Account, &account_key).await?,
        now,
    );
    let password_ok = password_matches(&state, &member, req.password).await?;
    if account != Verdict::Allowed {
        // A held account answers exactly like a wrong password, after the same work.
        store
            .record_failure(ThrottleScope::Address, &addr, now)
            .await?;
        return Err(AppError::invalid_credentials());
    }
    if !password_ok {
        store
            .record_failure(ThrottleScope::Account, &account_key, now)
            .await?;
        store
            .record_failure(ThrottleScope::Address, &addr, now)
            .await?;
        return Err(AppError::invalid_credentials());
    }

    store.clear_failures(ThrottleScope::Address, &addr).await?;
    if !member.step.in_first_login() {
        // Stage 1 members clear their account failures at the identity check instead.
        store
            .clear_failures(ThrottleScope::Account, &account_key)
            .await?;
    }
    let (token, token_hash) = secrets::new_token()?;
    let flow = Flow {
        token_hash,
        member_id: member.id,
        lang: req.lang.code().to_owned(),
        birth_verified: false,
        created_at: now,
        expires_at: now.saturating_add(state.settings.flow_idle_timeout_secs as i64),
    };
    store.create_flow(&flow).await?;
    store
        .append_audit(&AuditEntry {
            at: now,
            actor: format!("member:{}", member.id),
            member_id: Some(member.id),
            action: "sign_in".to_owned(),
            detail: format!("from {addr}"),
        })
        .await?;
    let view = view_of(&flow, &member, state.settings.flow_idle_timeout_secs);
    Ok(ApiJson(SignInResponse { token, flow: view }))
}

/// The member's own password once set; until then the initial password derived from the roster.
async fn password_matches(
    state: &AppState,
    member: &Member,
    password: String,
) -> Result<bool, AppError> {
    match &member.password_hash {
        Some(phc) => Ok(state.settings.hashing.verify(password, phc.clone()).await?),
        None => {
            let expected =
                zeroize::Zeroizing::new(initial_password(&member.card, &member.birth_date));
            let ok = secrets_equal(&password, &expected);
            // Spend what an argon2 check costs, so timing does not tell which kind of member this is.
            let decoy = state.decoy_hash().await?;
            state.settings.hashing.verify(password, decoy).await?;
            Ok(ok)
        }
    }
}
