//! The helpdesk's changes to a member (`POST /api/v1/staff/members/{user_id}/actions`): each is
//! refused unless the caller was verified in this staff session for this member recently and
//! strongly enough ([`VerificationPolicy::may_act`]), and unless the staff member acted on the
//! member as they are now (the case's version); each asks for a reason, and is written in one
//! transaction with its audit entry (staff, verification, reason, before/after) and the notice
//! mailed to the member ("if this was not you, call us").

use axum::extract::{Path, State};

use crate::api::helpdesk::{MemberCase, StaffActionDone, StaffActionRequest, StaffChange};
use crate::api::{ApiError, ErrorCode, Lang, Method};
use crate::domain::helpdesk::{
    ActionLocked, CallerVerification, StaffAction, VerificationPolicy, enrolment_pass, mask_email,
};
use crate::domain::{AuditAction, EmailAddress, StaffRole, Step};
use crate::mail::templates::Recipient;
use crate::server::enrolment_pass::{new_pass, pass_hash};
use crate::server::error::AppError;
use crate::server::flow_auth::ApiJson;
use crate::server::staff_auth::StaffSession;
use crate::server::{AppState, mail_queue};
use crate::store::{
    HelpdeskChange, HelpdeskWrite, Member, NewEnrolmentPass, NewMail, QueuedMail, StoreError,
};

use super::super::attempts::take_mail_quota;
use super::super::change_email::address_link;
use super::case::{case_view, find_member};
use super::verify::staff_entry;

/// The longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// Makes one change to the member, for a verified caller, on the current view.
#[utoipa::path(post, path = "/api/v1/staff/members/{user_id}/actions", tag = "helpdesk",
    security(("staff" = [])),
    params(("user_id" = String, Path, description = "The member's user ID (any case)")),
    request_body = StaffActionRequest,
    responses(
        (status = 200, description = "done: the member as they are now (and the enrolment pass, once)", body = StaffActionDone),
        (status = 401, description = "staff_session_expired: no live staff session (none, a member's token, timed out or ended)", body = ApiError),
        (status = 403, description = "caller_not_verified: the caller's proof in this session is missing (rule not_verified), expired (expired) or too weak for this action (too_weak)", body = ApiError),
        (status = 404, description = "not_found: no member has that user ID, or no such factor", body = ApiError),
        (status = 409, description = "stale_view: the member changed since `version` (reload and show what changed); out_of_order: the member is not waiting for a verification mail", body = ApiError),
        (status = 422, description = "bad_request (reason missing or over 200 characters), invalid_email (rule same for the current address)", body = ApiError),
        (status = 429, description = "resend_cooldown: the member's mail quota is spent; wait retry_after_secs", body = ApiError),
        (status = 500, description = "internal", body = ApiError),
        (status = 502, description = "mail_failed: the verification link cannot be delivered", body = ApiError)))]
pub async fn act(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(typed): Path<String>,
    ApiJson(req): ApiJson<StaffActionRequest>,
) -> Result<ApiJson<StaffActionDone>, AppError> {
    staff.require(StaffRole::Helpdesk)?;
    let member = find_member(&state, &typed).await?;
    act_on(&state, &staff, &member, req)
        .await
        .map(ApiJson)
        .map_err(AppError::without_step)
}

/// What the member's case and the request say, checked before anything changes.
struct Checked {
    staff_id: i64,
    verification: CallerVerification,
    case: MemberCase,
    reason: String,
}

async fn check(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
    req: &StaffActionRequest,
    now: i64,
) -> Result<Checked, AppError> {
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::field(
            ErrorCode::BadRequest,
            "reason",
            Some(if reason.is_empty() {
                "required"
            } else {
                "length"
            }),
            "Give the reason for the change (up to 200 characters)",
        ));
    }
    let verification = state
        .store
        .caller_verification(&staff.session.token_hash, member.id)
        .await?;
    VerificationPolicy::default()
        .may_act(verification.as_ref(), member.id, req.change.action(), now)
        .map_err(not_verified)?;
    let case = case_view(state, staff, member).await?;
    if case.version != req.version {
        return Err(AppError::api(
            ErrorCode::StaleView,
            "The member changed since this view; reload it and check what changed",
        ));
    }
    Ok(Checked {
        staff_id: staff.account.id,
        verification: verification.ok_or_else(|| not_verified(ActionLocked::NotVerified))?,
        case,
        reason: reason.to_owned(),
    })
}

/// Why the caller's proof does not allow the action.
fn not_verified(why: ActionLocked) -> AppError {
    let rule = match why {
        ActionLocked::NotVerified => "not_verified",
        ActionLocked::Expired => "expired",
        ActionLocked::TooWeak => "too_weak",
    };
    let mut e = ApiError::new(ErrorCode::CallerNotVerified, why.to_string());
    e.rule = Some(rule.to_owned());
    AppError::Api(e)
}

/// The change, its audit detail's before/after, the notice's words and any mails of its own.
struct Planned {
    change: HelpdeskChange,
    before_after: String,
    mails: Vec<NewMail>,
    /// The enrolment pass, shown once.
    pass: Option<zeroize::Zeroizing<String>>,
}

async fn act_on(
    state: &AppState,
    staff: &StaffSession,
    member: &Member,
    req: StaffActionRequest,
) -> Result<StaffActionDone, AppError> {
    let now = state.clock.now();
    let checked = check(state, staff, member, &req, now).await?;
    let action = req.change.action();
    let lang = member_lang(member);
    let planned = plan(state, member, &checked, &req.change, lang, now).await?;
    let notice = mail_queue::queued(
        state,
        "helpdesk_notice",
        state.settings.mail_templates.helpdesk_notice(
            &Recipient {
                lang,
                to: &member.email,
                name: &member.name,
            },
            &notice_words(&req.change, lang),
            now,
        ),
    )?;
    let mut mails = planned.mails;
    mails.push(notice);
    let v = &checked.verification;
    let detail = format!(
        "verification {} ({}); reason: {}; {}",
        v.id,
        v.proof.as_str(),
        checked.reason,
        planned.before_after
    );
    let write = HelpdeskWrite {
        member_id: member.id,
        change: planned.change,
        audit: staff_entry(
            staff,
            member,
            AuditAction::of_staff_action(action),
            detail,
            now,
        ),
        mails: mails.clone(),
        claim_until: state.settings.mail_queue.claim_until(now),
        at: now,
    };
    let ids = state
        .store
        .helpdesk_change(&write)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                AppError::api(ErrorCode::NotFound, "The member has no such second factor")
            }
            other => other.into(),
        })?;
    let mut deliveries = Vec::with_capacity(ids.len());
    for (id, mail) in ids.into_iter().zip(mails) {
        let queued = QueuedMail {
            id,
            attempts: 0,
            mail,
        };
        deliveries.push(mail_queue::attempt(state, &queued).await?);
    }
    let link_given_up = matches!(
        action,
        StaffAction::ResendVerification | StaffAction::ChangeEmail
    ) && deliveries.first() == Some(&mail_queue::Delivery::GivenUp);
    if link_given_up {
        return Err(AppError::api(
            ErrorCode::MailFailed,
            "The verification link cannot be delivered to that address",
        ));
    }
    let member = state
        .store
        .member(member.id)
        .await?
        .ok_or_else(super::case::no_such_member)?;
    let case = case_view(state, staff, &member).await?;
    let shown = planned.pass.as_deref().map(|p| enrolment_pass::display(p));
    Ok(StaffActionDone {
        case,
        pass_expires_in_secs: shown
            .as_ref()
            .map(|_| enrolment_pass::DEFAULT_TTL_SECS.unsigned_abs()),
        enrolment_pass: shown,
    })
}

/// What the change writes, and its before/after for the audit entry (never a secret).
async fn plan(
    state: &AppState,
    member: &Member,
    checked: &Checked,
    change: &StaffChange,
    lang: Lang,
    now: i64,
) -> Result<Planned, AppError> {
    let case = &checked.case;
    let plain = |change: HelpdeskChange, before_after: String| Planned {
        change,
        before_after,
        mails: Vec::new(),
        pass: None,
    };
    Ok(match change {
        StaffChange::Unlock => plain(
            HelpdeskChange::Unlock {
                user_id: member.user_id.clone(),
            },
            format!(
                "failures {}→0{}",
                case.lockout.failures,
                if case.lockout.held {
                    ", hold lifted"
                } else {
                    ""
                }
            ),
        ),
        StaffChange::SignOutEverywhere => plain(
            HelpdeskChange::SignOutEverywhere,
            "every session ended".to_owned(),
        ),
        StaffChange::RemoveFactor { method, id } => {
            let before = case.factors.len();
            let which = case
                .factors
                .iter()
                .find(|f| f.method == *method && (f.id == *id || *method == Method::EmailOtp))
                .ok_or_else(|| {
                    AppError::api(ErrorCode::NotFound, "The member has no such second factor")
                })?;
            plain(
                HelpdeskChange::RemoveFactor {
                    method: *method,
                    id: *id,
                },
                format!(
                    "factors {before}→{}: removed {} {:?} (id {})",
                    before - 1,
                    method.as_str(),
                    which.name,
                    which.id
                ),
            )
        }
        StaffChange::ResendVerification => {
            if member.step != Step::AwaitingVerification {
                return Err(AppError::api(
                    ErrorCode::OutOfOrder,
                    "The member is not waiting for a verification mail",
                ));
            }
            let address = EmailAddress::parse(&member.email)
                .map_err(|e| AppError::Internal(format!("stored address unusable: {e}")))?;
            take_mail_quota(state, member, now).await?;
            let (token, mail) = address_link(state, member, lang, &address, "verification", now)?;
            Planned {
                change: HelpdeskChange::ResendVerification { token },
                before_after: format!(
                    "verification mails {}→{} to {}",
                    case_verification_mails(case),
                    case_verification_mails(case) + 1,
                    mask_email(&member.email)
                ),
                mails: vec![mail],
                pass: None,
            }
        }
        StaffChange::ChangeEmail { email } => {
            let address = EmailAddress::parse(email).map_err(|e| {
                AppError::field(ErrorCode::InvalidEmail, "email", None, &e.to_string())
            })?;
            if address.as_str() == member.email {
                return Err(AppError::field(
                    ErrorCode::InvalidEmail,
                    "email",
                    Some("same"),
                    "That is already the member's address",
                ));
            }
            take_mail_quota(state, member, now).await?;
            let (token, mail) = address_link(state, member, lang, &address, "email_change", now)?;
            Planned {
                change: HelpdeskChange::ChangeEmail { token },
                before_after: format!(
                    "email {} → {} (a link went to the new address)",
                    mask_email(&member.email),
                    mask_email(address.as_str())
                ),
                mails: vec![mail],
                pass: None,
            }
        }
        StaffChange::IssueEnrolmentPass => {
            let pass = new_pass()?;
            let expires_at = now.saturating_add(enrolment_pass::DEFAULT_TTL_SECS);
            Planned {
                change: HelpdeskChange::IssuePass(NewEnrolmentPass {
                    pass_hash: pass_hash(&state.secret_key, member.id, &pass),
                    staff_id: checked.staff_id,
                    verification_id: checked.verification.id,
                    expires_at,
                }),
                before_after: format!(
                    "enrolment pass issued, single use, valid {} min (until {expires_at})",
                    enrolment_pass::DEFAULT_TTL_SECS / 60
                ),
                mails: Vec::new(),
                pass: Some(pass),
            }
        }
    })
}

/// The verification mails of the case so far.
fn case_verification_mails(case: &MemberCase) -> usize {
    case.mail
        .iter()
        .filter(|m| m.kind == "verification")
        .count()
}

/// The language the member last signed in with (Japanese for one who never did): the helpdesk's
/// mail to them is written in it.
pub fn member_lang(member: &Member) -> Lang {
    member
        .lang
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or_default()
}

/// What the notice tells the member the helpdesk did, in their language.
fn notice_words(change: &StaffChange, lang: Lang) -> String {
    let ja = lang == Lang::Ja;
    match change {
        StaffChange::Unlock => if ja {
            "サインインの制限を解除しました。"
        } else {
            "Lifted the delay or hold on your sign-ins."
        }
        .to_owned(),
        StaffChange::ResendVerification => if ja {
            "メールアドレス確認メールを再送しました。"
        } else {
            "Sent the email address confirmation mail again."
        }
        .to_owned(),
        StaffChange::SignOutEverywhere => if ja {
            "すべての端末からサインアウトしました。"
        } else {
            "Signed you out on every terminal."
        }
        .to_owned(),
        StaffChange::RemoveFactor { method, .. } => {
            let what = match (method, ja) {
                (Method::TotpApp, true) => "認証アプリ",
                (Method::Passkey, true) => "パスキー",
                (Method::EmailOtp, true) => "メールのワンタイムパスワード",
                (Method::TotpApp, false) => "an authenticator app",
                (Method::Passkey, false) => "a passkey",
                (Method::EmailOtp, false) => "the email one-time password",
            };
            if ja {
                format!(
                    "2段階認証の方法（{what}）を削除しました。次回のサインインで設定し直してください。"
                )
            } else {
                format!(
                    "Removed {what} from your sign-in methods. Set a method up again at your next sign-in if none is left."
                )
            }
        }
        StaffChange::ChangeEmail { email } => {
            let to = mask_email(email);
            if ja {
                format!(
                    "登録メールアドレスを {to} に変更する手続きを始めました（新しいアドレスに確認リンクを送りました）。"
                )
            } else {
                format!(
                    "Started changing your email address to {to} (a confirmation link went to the new address)."
                )
            }
        }
        StaffChange::IssueEnrolmentPass => if ja {
            "サインイン用のワンタイム登録パスを発行しました（1回限り、有効期限1時間）。"
        } else {
            "Issued a one-time enrolment pass to sign in with (single use, valid for 1 hour)."
        }
        .to_owned(),
    }
}
