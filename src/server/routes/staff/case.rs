//! The member's case as the helpdesk sees it (`GET /api/v1/staff/members/{user_id}`): where the
//! member is stuck and since when, the sign-in failures, the factors, the mail's delivery
//! states, the audit trail, the caller's proof in this staff session, and the view's version.
//!
//! [`case_view`] is the one place the case is built: the live events recompute its version
//! and the actions compare it, so all three agree on what "changed" means.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum::extract::{Path, State};

use crate::api::ApiError;
use crate::api::helpdesk::{
    AuditRow, CallerVerificationView, CaseFactor, CaseLockout, CaseMail, CaseSituation, MemberCase,
};
use crate::domain::helpdesk::{
    CaseVersion, Lockout, Situation, SituationFacts, StaffAction, VerificationPolicy, lockout_of,
    mask_email, situation,
};
use crate::domain::{Actor, AuditAction, Method, user_id};
use crate::server::AppState;
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::staff_auth::StaffSession;
use crate::store::{AuditEntry, AuditFilter, AuditPageRequest, Member, MemberId, Store};

/// Mails listed in a case, newest first.
const CASE_MAIL: u32 = 20;
/// Audit entries listed in a case, newest first.
const CASE_AUDIT: u32 = 30;
/// The mail kind whose link the first login waits for.
const VERIFICATION_MAIL: &str = "verification";

/// The member's case as the helpdesk sees it, with its version: the caller moving on is
/// followed live on `…/events`.
#[utoipa::path(get, path = "/api/v1/staff/members/{user_id}", tag = "helpdesk",
    security(("staff" = [])),
    params(("user_id" = String, Path, description = "The member's user ID (any case)")),
    responses(
        (status = 200, body = MemberCase),
        (status = 401, description = "staff_session_expired: no live staff session (none, a member's token, timed out or ended)", body = ApiError),
        (status = 404, description = "not_found: no member has that user ID", body = ApiError),
        (status = 500, description = "internal", body = ApiError)))]
pub async fn member_case(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(typed): Path<String>,
) -> Result<ApiJson<MemberCase>, AppError> {
    let member = find_member(&state, &typed).await?;
    Ok(ApiJson(case_view(&state, &staff, &member).await?))
}

/// The member with the user ID `typed` (any case), or `not_found`.
pub async fn find_member(state: &AppState, typed: &str) -> Result<Member, AppError> {
    state
        .store
        .member_by_user_id(&user_id::normalize(typed))
        .await?
        .ok_or_else(no_such_member)
}

/// No member has the user ID asked for.
pub fn no_such_member() -> AppError {
    AppError::api(
        crate::api::ErrorCode::NotFound,
        "No member has that user ID",
    )
}

/// Everything the helpdesk sees of `member` now, in `staff`'s session: the one function the
/// case view, the live events and the actions' stale-view check share.
pub async fn case_view(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
) -> Result<MemberCase, AppError> {
    let store = &state.store;
    let now = state.clock.now();
    let policy = state.settings.lockout.account;

    let step_since = store.step_since(member.id).await?;
    let pending_email = store.pending_email(member.id, now).await?;

    let guards = store.sign_in_guards(member.id, &member.user_id).await?;
    let records: Vec<_> = guards.iter().map(|g| g.record).collect();
    let lockout = lockout_of(&policy, &records, now);
    let last = guards
        .iter()
        .filter(|g| g.record.failures > 0)
        .max_by_key(|g| g.record.last_failure_at);

    let totp = store.totp_credentials(member.id).await?;
    let passkeys = store.passkeys(member.id).await?;
    let email_factor = store.email_factor(member.id).await?;
    let mut factors: Vec<CaseFactor> = totp
        .iter()
        .map(|c| CaseFactor {
            method: Method::TotpApp,
            id: c.id,
            name: c.name.clone(),
            created_at: c.created_at,
            last_used_at: c.last_used_at,
        })
        .chain(passkeys.iter().map(|p| CaseFactor {
            method: Method::Passkey,
            id: p.id,
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }))
        .collect();
    if let Some(f) = &email_factor {
        factors.push(CaseFactor {
            method: Method::EmailOtp,
            id: 0,
            name: mask_email(&member.email),
            created_at: f.created_at,
            last_used_at: f.last_used_at,
        });
    }

    let mut addresses = vec![member.email.clone()];
    addresses.extend(pending_email.iter().cloned());
    let mail = store
        .mail_to(&addresses, CASE_MAIL)
        .await?
        .into_iter()
        .map(|m| CaseMail {
            kind: m.kind,
            to: mask_email(&m.recipient),
            status: m.status,
            attempts: m.attempts,
            created_at: m.created_at,
            sent_at: m.sent_at,
        })
        .collect();
    let verification_mails = store.mail_tally(VERIFICATION_MAIL, &member.email).await?;

    let started = member.password_hash.is_some()
        || member.terms_accepted_at.is_some()
        || signed_in_once(store.as_ref(), member.id).await?;
    let read = situation(
        &SituationFacts {
            step: member.step,
            started,
            step_since,
            lockout,
            verification_mails,
            method: member.method,
            factors: factors.len(),
        },
        now,
    );

    let entries = store.audit_log(Some(member.id), CASE_AUDIT).await?;
    let audit = audit_rows(state, &entries).await?;

    let window = VerificationPolicy::default();
    let verification = store
        .caller_verification(&staff.session.token_hash, member.id)
        .await?
        // Still covering changes for this member: what a low-risk action would accept.
        .filter(|v| {
            window
                .may_act(Some(v), member.id, StaffAction::Unlock, now)
                .is_ok()
        })
        .map(|v| CallerVerificationView {
            id: v.id,
            proof: v.proof,
            at: v.at,
            remaining_secs: window.remaining(&v, now),
            low_risk_only: !v.proof.is_possession(),
        });

    let case_lockout = CaseLockout {
        failures: match lockout {
            Lockout::Clear => records
                .iter()
                .map(|r| policy.decayed(*r, now).failures)
                .max()
                .unwrap_or(0),
            Lockout::Delayed { failures, .. } | Lockout::Held { failures } => failures,
        },
        delayed_until: match lockout {
            Lockout::Delayed { until, .. } => Some(until),
            _ => None,
        },
        held: matches!(lockout, Lockout::Held { .. }),
        last_failure_at: last.map(|g| g.record.last_failure_at),
        last_failure_from: last.and_then(|g| g.last_address.clone()),
    };

    let version = case_version(&VersionParts {
        member,
        step_since,
        pending_email: pending_email.as_deref(),
        factors: &factors,
        lockout: &case_lockout,
        verification_id: verification.as_ref().map(|v| v.id),
    });

    Ok(MemberCase {
        version: version.to_text(),
        user_id: member.user_id.clone(),
        name: member.name.clone(),
        card: format!("{}-{}", member.card.symbol, member.card.number),
        masked_email: mask_email(&member.email),
        email_verified: member.email_verified_at.is_some(),
        pending_email: pending_email.as_deref().map(mask_email),
        step: member.step,
        step_since,
        method: member.method,
        situation: case_situation(read),
        lockout: case_lockout,
        factors,
        mail,
        audit,
        verification,
        now,
    })
}

/// What a case's version folds in: every fact that changes what an action would do.
struct VersionParts<'a> {
    member: &'a Member,
    step_since: i64,
    pending_email: Option<&'a str>,
    factors: &'a [CaseFactor],
    lockout: &'a CaseLockout,
    verification_id: Option<i64>,
}

/// The version of a case: the member row's last change and step (and since when), the
/// address on file, its verification and the pending one, the chosen method, each factor
/// (kind and id), the lockout (failures, delay, hold) and the caller's verification. Mail
/// states, audit entries and the time are left out: they change nothing an action does.
fn case_version(p: &VersionParts<'_>) -> CaseVersion {
    let m = p.member;
    let updated = m.updated_at.to_be_bytes();
    let since = p.step_since.to_be_bytes();
    let verified = m.email_verified_at.unwrap_or(-1).to_be_bytes();
    let method = m.method.map(|x| x.as_str()).unwrap_or("");
    let factors: Vec<u8> = p
        .factors
        .iter()
        .flat_map(|f| {
            let mut b = f.method.as_str().as_bytes().to_vec();
            b.push(b':');
            b.extend_from_slice(&f.id.to_be_bytes());
            b
        })
        .collect();
    let failures = p.lockout.failures.to_be_bytes();
    let delayed = p.lockout.delayed_until.unwrap_or(-1).to_be_bytes();
    let held = [u8::from(p.lockout.held)];
    let verification = p.verification_id.unwrap_or(-1).to_be_bytes();
    CaseVersion::of(&[
        &m.id.to_be_bytes(),
        &updated,
        m.step.as_str().as_bytes(),
        &since,
        m.email.as_bytes(),
        &verified,
        p.pending_email.unwrap_or("").as_bytes(),
        method.as_bytes(),
        &factors,
        &failures,
        &delayed,
        &held,
        &verification,
    ])
}

/// The situation in the protocol's form.
fn case_situation(s: Situation) -> CaseSituation {
    match s {
        Situation::NotStarted => CaseSituation::NotStarted,
        Situation::Locked(_) => CaseSituation::Locked,
        Situation::AwaitingLink { for_secs, mails } => CaseSituation::AwaitingLink {
            for_secs,
            delivered: mails.delivered,
            pending: mails.pending,
            failed: mails.failed,
        },
        Situation::InFirstLogin { for_secs, .. } => CaseSituation::InFirstLogin { for_secs },
        Situation::SettingUp { for_secs, .. } => CaseSituation::SettingUp { for_secs },
        Situation::Done { factors } => CaseSituation::Done {
            factors: u32::try_from(factors).unwrap_or(u32::MAX),
        },
    }
}

/// Whether the member ever signed in (the initial password used): imported members rest at
/// the terms, so the step alone does not tell.
async fn signed_in_once(store: &dyn Store, member_id: MemberId) -> Result<bool, AppError> {
    let filter = AuditFilter {
        member_id: Some(member_id),
        action: Some(AuditAction::SignIn.as_str().to_owned()),
        ..AuditFilter::default()
    };
    let page = store
        .audit_page(
            &filter,
            &AuditPageRequest {
                after: None,
                limit: 1,
            },
        )
        .await?;
    Ok(!page.records.is_empty())
}

/// Audit entries as the console shows them: staff named by login, members by user ID.
pub async fn audit_rows(
    state: &AppState,
    entries: &[AuditEntry],
) -> Result<Vec<AuditRow>, AppError> {
    let mut staff_logins: HashMap<i64, String> = HashMap::new();
    let mut user_ids: HashMap<MemberId, Option<String>> = HashMap::new();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let actor = match Actor::parse(&e.actor) {
            Some(Actor::Staff(id)) => {
                if let Entry::Vacant(slot) = staff_logins.entry(id) {
                    let login = state.store.staff(id).await?.map(|a| a.login);
                    slot.insert(login.unwrap_or_else(|| id.to_string()));
                }
                format!("staff:{}", staff_logins[&id])
            }
            _ => e.actor.clone(),
        };
        let user_id = match e.member_id {
            Some(id) => {
                if let Entry::Vacant(slot) = user_ids.entry(id) {
                    slot.insert(state.store.member(id).await?.map(|m| m.user_id));
                }
                user_ids[&id].clone()
            }
            None => None,
        };
        rows.push(AuditRow {
            at: e.at,
            actor,
            action: e.action.clone(),
            user_id,
            detail: e.detail.clone(),
        });
    }
    Ok(rows)
}
