//! 【2】 Sign-in with user ID and password.

use axum::extract::State;

use crate::api::{SignInRequest, SignInResponse, Step};
use crate::domain::helpdesk::enrolment_pass;
use crate::domain::{Actor, AuditAction};
use crate::domain::{initial_password, user_id};
use crate::server::AppState;
use crate::server::client_addr::ClientAddr;
use crate::server::enrolment_pass::pass_hash;
use crate::server::error::AppError;
use crate::server::flow_auth::{ApiJson, view_of};
use crate::server::hash_pool::micros;
use crate::server::secrets::{self, secrets_equal};
use crate::store::{
    AuditEntry, EnrolmentPassUse, Flow, Member, SignInFinish, SignInFinished, ThrottleScope,
};

use super::attempts::{self, Refused};
use super::member_audit;
/// Signs in with the user ID and the initial or own password; starts a flow.
///
/// An unknown user ID and a wrong password get the same answer; failures count per user ID as
/// typed (known or not) and per address, answered by a progressive delay, or by a hold when the
/// operator opted in. A one-time enrolment pass from the helpdesk works instead of the password,
/// once: the answer's step is then `new_credentials`, owed before anything else.
#[utoipa::path(post, path = "/api/v1/sign-in", tag = "first-login", request_body = SignInRequest,
    params(("x-tobira-kiosk" = Option<String>, Header,
        description = "The kiosk signing in (`tobira kiosk`, `[kiosk] id`): 1-32 printable ASCII characters without spaces, recorded in the audit entry; any other value is ignored")),
    responses(
        (status = 200, description = "step birth_date (stage 1), method_setup, second_factor or home; new_credentials after an enrolment pass", body = SignInResponse),
        (status = 401, description = "invalid_credentials (unknown user ID, wrong password)", body = crate::api::ApiError),
        (status = 422, description = "bad_request: the body is not a sign-in request", body = crate::api::ApiError),
        (status = 423, description = "account_held: held after repeated failures (opt-in `[lockout.account] lock_after`); the helpdesk lifts it", body = crate::api::ApiError),
        (status = 429, description = "rate_limited: too many failures for this user ID (known or not) or from this address; wait retry_after_secs", body = crate::api::ApiError),
        (status = 503, description = "server_busy: every password worker is busy; Retry-After says when to try again", body = crate::api::ApiError),
        (status = 500, description = "internal", body = crate::api::ApiError)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<SignInRequest>,
) -> Result<ApiJson<SignInResponse>, AppError> {
    let now = state.clock.now();
    let policy = state.settings.lockout;
    let store = &state.store;
    let started = std::time::Instant::now();

    let typed = user_id::normalize(&req.user_id);
    let keys = attempts::typed_id_keys(&state, &addr, &typed);
    let (attempt, member) = match attempts::reserve_sign_in(&state, &keys, &typed, now).await {
        Ok(reserved) => reserved,
        // The same delay for a known and an unknown user ID: failures count per ID as typed.
        Err(Refused::Delayed {
            retry_after_secs, ..
        }) => return Err(AppError::rate_limited(retry_after_secs).or_step(Step::SignIn)),
        // A locked address is told what the longest delay says: it learns nothing more, and
        // it stays refused until its failures are cleared.
        Err(Refused::Held(ThrottleScope::Address)) => {
            return Err(AppError::rate_limited(policy.address.max_delay_secs).or_step(Step::SignIn));
        }
        Err(Refused::Held(_)) => return Err(AppError::account_held()),
        Err(Refused::Store(e)) => return Err(e.into()),
    };
    let reserved = started.elapsed();
    let Some(member) = member else {
        let decoy = state.decoy_hash().await?;
        state.hasher.verify(req.password, decoy).await?;
        attempt.failed(&state, None, "").await?;
        return Err(AppError::invalid_credentials());
    };
    // issue 13: a one-time enrolment pass from the helpdesk, given instead of the password.
    if let Some(pass) = enrolment_pass::normalize(&req.password).map(zeroize::Zeroizing::new)
        && store.has_live_pass(member.id, now).await?
    {
        if policy.account.locks(
            store
                .failures(ThrottleScope::Account, &member.id.to_string())
                .await?,
        ) {
            attempt.succeeded(&state).await?;
            return Err(AppError::account_held());
        }
        let (token, token_hash) = secrets::new_token()?;
        let used = store
            .sign_in_with_pass(&EnrolmentPassUse {
                member_id: member.id,
                pass_hash: pass_hash(&state.secret_key, member.id, &pass),
                flow: Flow {
                    token_hash,
                    member_id: member.id,
                    lang: req.lang.code().to_owned(),
                    birth_verified: true,
                    second_factor_pending: false,
                    created_at: now,
                    expires_at: now.saturating_add(state.settings.flow_idle_timeout_secs as i64),
                },
                clear: vec![
                    (ThrottleScope::UserId, typed.clone()),
                    (ThrottleScope::Account, member.id.to_string()),
                ],
                audit: member_audit(
                    now,
                    &member,
                    AuditAction::EnrolmentPassUsed,
                    format!("from {addr}; a new password is owed"),
                ),
                at: now,
            })
            .await?;
        if used {
            attempt.succeeded(&state).await?;
            let shown = enrolment_pass::visible_step(true, member.step);
            let view = view_of(shown, &member, state.settings.flow_idle_timeout_secs);
            return Ok(ApiJson(SignInResponse { token, flow: view }));
        }
    }
    if !password_matches(&state, &member, req.password).await? {
        let why = format!("wrong password at sign-in from {addr}");
        attempt.failed(&state, Some(&member), &why).await?;
        return Err(AppError::invalid_credentials());
    }
    let checked = started.elapsed();
    let (token, token_hash) = secrets::new_token()?;
    let finish = SignInFinish {
        flow: Flow {
            token_hash,
            member_id: member.id,
            lang: req.lang.code().to_owned(),
            birth_verified: false,
            // The plan's, set by the store.
            second_factor_pending: false,
            created_at: now,
            expires_at: now.saturating_add(state.settings.flow_idle_timeout_secs as i64),
        },
        audit: member_audit(
            now,
            &member,
            AuditAction::SignIn,
            sign_in_detail(&addr, &headers),
        ),
        factors_gone: AuditEntry::new(
            now,
            Actor::System,
            AuditAction::SecondFactorMissing,
            Some(member.id),
            "no second factor left: back to method set-up",
        ),
        reserved: attempt.into_reserved(),
        member,
        account_policy: policy.account,
        // The address's failures stay (they decay): a valid login of one's own must not buy
        // fresh guesses at other accounts. The typed ID's are moot once its password is proved.
        typed,
        at: now,
    };
    // One transaction gives the attempt back and, unless the account is held by failures at a
    // later step (codes, passkeys: told only to whoever knows the password, so the hold reveals
    // nothing about which IDs exist), starts the flow.
    let (member, plan, factors) = match store.finish_sign_in(&finish).await? {
        SignInFinished::Held => return Err(AppError::account_held()),
        SignInFinished::Refused(why) => {
            return Err(AppError::Internal(format!(
                "member {} cannot sign in: {why}",
                finish.member.id
            )));
        }
        SignInFinished::Started {
            member,
            plan,
            factors,
        } => (member, plan, factors),
    };
    let mut view = view_of(plan.shown, &member, state.settings.flow_idle_timeout_secs);
    // The second factor is asked only of members at the top screen, whose factors the plan
    // counted.
    if let Some(tally) = factors.filter(|_| view.step == Step::SecondFactor) {
        view.second_factors = tally.kinds();
    }
    // Where a sign-in's time goes under load (`tobira bench sign-in` reads these): reserving the
    // attempt with the member read (one write transaction), the password check (waiting for an
    // argon2 worker, then hashing), and settling it (one write transaction: the release, the
    // hold, the second factors, the flow and its audit).
    tracing::debug!(
        target: "tobira::timing",
        reserve_us = micros(reserved),
        check_us = micros(checked - reserved),
        settle_us = micros(started.elapsed() - checked),
        "sign-in"
    );
    Ok(ApiJson(SignInResponse { token, flow: view }))
}

/// Where a sign-in came from: the address, and the kiosk that named itself (an id that is not
/// short printable ASCII is ignored, never recorded).
fn sign_in_detail(addr: &impl std::fmt::Display, headers: &axum::http::HeaderMap) -> String {
    let kiosk = headers
        .get(crate::domain::kiosk::KIOSK_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::domain::kiosk::kiosk_id);
    match kiosk {
        Some(id) => format!("from {addr} at kiosk {id}"),
        None => format!("from {addr}"),
    }
}

/// The member's own password once set; until then the initial password derived from the roster.
async fn password_matches(
    state: &AppState,
    member: &Member,
    password: String,
) -> Result<bool, AppError> {
    match &member.password_hash {
        Some(phc) => Ok(state.hasher.verify(password, phc.clone()).await?),
        None => {
            let expected =
                zeroize::Zeroizing::new(initial_password(&member.card, &member.birth_date));
            // Typed with full-width digits (a Japanese input method) it is the same password.
            let typed = zeroize::Zeroizing::new(crate::domain::width::fold(&password));
            let ok = secrets_equal(typed.trim(), &expected);
            // Spend what an argon2 check costs, so timing does not tell which kind of member this is.
            let decoy = state.decoy_hash().await?;
            state.hasher.verify(password, decoy).await?;
            Ok(ok)
        }
    }
}
