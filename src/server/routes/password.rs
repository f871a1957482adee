//! Changing the password from the top screen (プロフィール変更 > パスワード変更).

use axum::extract::State;

use crate::api::{ErrorCode, HomeView, PasswordChangeRequest, Step};
use crate::domain;
use crate::domain::AuditAction;
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, CurrentFlow};
use crate::server::secrets;

use super::attempts::reserve_for_member;
use super::home::home_view;
use super::member_audit;
use crate::server::client_addr::ClientAddr;

fn weak(rule: &str, message: &str) -> AppError {
    AppError::field(ErrorCode::WeakPassword, "new_password", Some(rule), message)
}

/// Changes the member's password: the current one must be right (a wrong one counts against the
/// account like a failed sign-in), the new one follows the policy, and every other sign-in of
/// the member ends.
#[utoipa::path(post, path = "/api/v1/home/password", tag = "home", security(("flow" = [])),
    request_body = PasswordChangeRequest,
    responses((status = 200, body = HomeView),
        (status = 401, description = "invalid_credentials (current password), unauthorized, flow_expired", body = crate::api::ApiError),
        (status = 403, description = "too_many_attempts", body = crate::api::ApiError),
        (status = 409, description = "out_of_order (not at the top screen)", body = crate::api::ApiError),
        (status = 422, description = "weak_password, bad_request", body = crate::api::ApiError),
        (status = 429, description = "rate_limited", body = crate::api::ApiError),
        (status = 503, description = "server_busy: every password worker is busy; Retry-After says when to try again", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    cur: CurrentFlow,
    ApiJson(req): ApiJson<PasswordChangeRequest>,
) -> Result<ApiJson<HomeView>, AppError> {
    if cur.step() != Step::Home {
        return Err(AppError::out_of_order(cur.step()));
    }
    let current = zeroize::Zeroizing::new(req.current_password);
    let new = zeroize::Zeroizing::new(req.new_password);
    let now = state.clock.now();
    let attempt = reserve_for_member(&state, &cur, &addr, now, "current password").await?;
    let right = match cur.member.password_hash.clone() {
        Some(phc) => state.hasher.verify(current.to_string(), phc).await?,
        None => false,
    };
    if !right {
        let why = "wrong current passwords";
        if attempt.failed(&state, Some(&cur.member), why).await? {
            return Err(AppError::too_many_attempts());
        }
        return Err(AppError::field(
            ErrorCode::InvalidCredentials,
            "current_password",
            None,
            "The current password is wrong",
        ));
    }
    attempt.succeeded(&state).await?;
    domain::password::check(&new)?;
    let initial = zeroize::Zeroizing::new(domain::initial_password(
        &cur.member.card,
        &cur.member.birth_date,
    ));
    if secrets::secrets_equal(&new, &initial) {
        return Err(weak(
            "initial",
            "The new password must differ from the initial password",
        ));
    }
    if secrets::secrets_equal(&new, &current) {
        return Err(weak(
            "unchanged",
            "The new password must differ from the current one",
        ));
    }
    let hash = state.hasher.hash(new.to_string()).await?;
    let ended = state
        .store
        .change_password(
            cur.member.id,
            &hash,
            &cur.flow.token_hash,
            &member_audit(
                now,
                &cur.member,
                AuditAction::PasswordChanged,
                "other sign-ins ended".to_owned(),
            ),
        )
        .await?;
    tracing::info!(member = cur.member.id, ended, "password changed");
    Ok(ApiJson(home_view(&state, &cur).await?))
}
