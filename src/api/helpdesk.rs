//! The helpdesk's side of the protocol (`/api/v1/staff/members…`, `/api/v1/staff/audit`): find
//! a caller, see where they are stuck (and follow it live), verify them, act, read the audit.
//!
//! Routes (all need an active staff session, `Authorization: Bearer tbs_…`):
//! - `GET  /api/v1/staff/members?q=…&page=N` → [`MemberSearchPage`]
//! - `GET  /api/v1/staff/members/{user_id}` → [`MemberCase`]
//! - `GET  /api/v1/staff/members/{user_id}/events` → Server-Sent Events: an event `case` whose
//!   data is the case's new [`MemberCase::version`] each time it changes (and once at the start)
//! - `POST /api/v1/staff/members/{user_id}/verify` [`VerifyCallerRequest`] → [`VerifyCallerAnswer`]
//! - `POST /api/v1/staff/members/{user_id}/actions` [`StaffActionRequest`] → [`StaffActionDone`];
//!   `409 stale_view` when `version` is not the case's current one (reload and show what changed),
//!   `403 caller_not_verified` when the caller's proof is missing, expired or too weak
//! - `GET  /api/v1/staff/audit?member=…&staff=…&action=…&since=…&until=…&page=N` → [`AuditPage`]
//!
//! On the member's side: `POST /api/v1/home/helpdesk-code` → [`HelpdeskCode`], the one-time code
//! the member's own signed-in terminal shows for the caller to read out.
//!
//! Nothing here carries a password, a hash, a TOTP secret or a token; codes are sent by the
//! caller's side only, and the one enrolment pass is answered once, to the staff member who
//! issued it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::domain::helpdesk::{CallerProof, StaffAction};
use crate::domain::{Method, Step};

/// One page of members matching a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberSearchPage {
    /// What the query was read as: `user_id`, `name`, `card`, `email`.
    pub read_as: String,
    /// The matches on this page, best first.
    pub hits: Vec<MemberHit>,
    /// This page (from 0).
    pub page: u32,
    /// Whether a next page exists.
    pub more: bool,
}

/// A member found by a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberHit {
    /// The user ID (lower-case).
    pub user_id: String,
    /// The name as in the roster.
    pub name: String,
    /// The card as `symbol-number`.
    pub card: String,
    /// The address with its local part masked (`t***@example.jp`).
    pub masked_email: String,
    /// Where the member is in the journey.
    pub step: Step,
    /// Whether the member has ever signed in (until then `step` is where they will start).
    #[serde(default)]
    pub started: bool,
}

/// Everything the helpdesk sees of one member (never a secret, never a mail body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberCase {
    /// This view's version; an action must send it back (see `stale_view`).
    pub version: String,
    /// The user ID (lower-case).
    pub user_id: String,
    /// The name as in the roster.
    pub name: String,
    /// The card as `symbol-number`.
    pub card: String,
    /// The address with its local part masked.
    pub masked_email: String,
    /// Whether the address has been verified.
    pub email_verified: bool,
    /// An address change waiting for its link, masked.
    pub pending_email: Option<String>,
    /// Where the member is in the journey.
    pub step: Step,
    /// Since when (Unix seconds).
    pub step_since: i64,
    /// The method chosen at 【8】, if any.
    pub method: Option<Method>,
    /// The situation, read for the helpdesk.
    pub situation: CaseSituation,
    /// Sign-in failures and what they cause.
    pub lockout: CaseLockout,
    /// Registered second factors.
    pub factors: Vec<CaseFactor>,
    /// Recent mail to the member's addresses, newest first (delivery state only).
    pub mail: Vec<CaseMail>,
    /// The member's recent audit events, newest first.
    pub audit: Vec<AuditRow>,
    /// The caller's proof in this staff session, when there is one still valid.
    pub verification: Option<CallerVerificationView>,
    /// The server's time when the view was made (Unix seconds), for "for 2 days".
    pub now: i64,
}

/// The member's situation as the helpdesk reads it (see `domain::helpdesk::situation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseSituation {
    /// Never signed in.
    NotStarted,
    /// Sign-ins are delayed or held.
    Locked,
    /// Waiting for the verification link.
    AwaitingLink {
        /// Seconds waiting.
        for_secs: i64,
        /// Verification mails handed to the mail server.
        delivered: u32,
        /// Still being tried.
        pending: u32,
        /// Given up on.
        failed: u32,
    },
    /// In the first login at `step`.
    InFirstLogin {
        /// Seconds there.
        for_secs: i64,
    },
    /// A method is still to be set up at the next sign-in.
    SettingUp {
        /// Seconds since.
        for_secs: i64,
    },
    /// Done, with this many second factors.
    Done {
        /// Second factors.
        factors: u32,
    },
}

/// One event of `GET /api/v1/staff/members/{user_id}/events`, as a Server-Sent Events reader
/// sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseEvent {
    /// Always `case`.
    pub event: String,
    /// The case's new [`MemberCase::version`].
    pub data: String,
}

/// Sign-in failures of the member's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseLockout {
    /// Failures counted now (after decay).
    pub failures: u32,
    /// Sign-ins wait until then (Unix seconds).
    pub delayed_until: Option<i64>,
    /// Held until the helpdesk lifts it.
    pub held: bool,
    /// The last failed attempt (Unix seconds).
    pub last_failure_at: Option<i64>,
    /// Where it came from (the client address as the server counts it: IPv6 per /64).
    pub last_failure_from: Option<String>,
}

/// A registered second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseFactor {
    /// Which kind.
    pub method: Method,
    /// Its id for removal (0 for the email method).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Added at (Unix seconds).
    pub created_at: i64,
    /// Last used at (Unix seconds).
    pub last_used_at: Option<i64>,
}

/// A mail to the member as the queue knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseMail {
    /// What kind of mail (`verification`, `email_code`, `user_id_changed`, …).
    pub kind: String,
    /// The address, masked.
    pub to: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Queued at (Unix seconds).
    pub created_at: i64,
    /// Handed to the mail server at (Unix seconds).
    pub sent_at: Option<i64>,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditRow {
    /// When (Unix seconds).
    pub at: i64,
    /// Who (`member:<id>`, `staff:<login>`, `system`, `import`).
    pub actor: String,
    /// What (the stable action name).
    pub action: String,
    /// The member's user ID, if about a member.
    pub user_id: Option<String>,
    /// Details (never a secret).
    pub detail: String,
}

/// The caller's proof in this staff session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CallerVerificationView {
    /// Its id (written into every audit entry it covers).
    pub id: i64,
    /// How the caller proved it.
    pub proof: CallerProof,
    /// When (Unix seconds).
    pub at: i64,
    /// Seconds it still covers changes.
    pub remaining_secs: i64,
    /// Whether it unlocks only the low-risk actions (knowledge alone).
    pub low_risk_only: bool,
}

/// How the staff member verifies the caller.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "proof", rename_all = "snake_case")]
pub enum VerifyCallerRequest {
    /// The caller reads a code from their registered authenticator app.
    AppCode {
        /// The 6-digit code.
        code: String,
    },
    /// Mail a 6-digit code to the member's verified address (the answer says where).
    SendMailedCode,
    /// The caller reads back the mailed code.
    MailedCode {
        /// The 6-digit code.
        code: String,
    },
    /// The caller reads the code their own signed-in terminal shows.
    MemberScreenCode {
        /// The code.
        code: String,
    },
    /// Date of birth and card number (unlocks only the low-risk actions).
    Knowledge {
        /// `YYYY-MM-DD`.
        birth_date: String,
        /// The card's number (番号).
        card_number: String,
    },
}

impl std::fmt::Debug for VerifyCallerRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::AppCode { .. } => "AppCode",
            Self::SendMailedCode => "SendMailedCode",
            Self::MailedCode { .. } => "MailedCode",
            Self::MemberScreenCode { .. } => "MemberScreenCode",
            Self::Knowledge { .. } => "Knowledge",
        };
        write!(f, "VerifyCallerRequest::{kind}(<redacted>)")
    }
}

/// The answer to a verification request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum VerifyCallerAnswer {
    /// The caller is verified.
    Verified {
        /// The proof now in force.
        verification: CallerVerificationView,
    },
    /// A code was mailed; ask the caller to read it back.
    CodeSent {
        /// Where, masked.
        to: String,
        /// Seconds the code lives.
        expires_in_secs: u64,
    },
}

/// What the member's terminal shows for the caller to read out.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskCode {
    /// The code (shown on the member's own screen only).
    pub code: String,
    /// Seconds it lives.
    pub expires_in_secs: u64,
}

impl std::fmt::Debug for HelpdeskCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelpdeskCode")
            .field("code", &"<redacted>")
            .field("expires_in_secs", &self.expires_in_secs)
            .finish()
    }
}

/// A change the helpdesk makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffActionRequest {
    /// The [`MemberCase::version`] the staff member acted on.
    pub version: String,
    /// Why (required, written into the audit entry).
    pub reason: String,
    /// What.
    pub change: StaffChange,
}

/// The change itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StaffChange {
    /// Clear the failures that delay or hold sign-ins.
    Unlock,
    /// Send the first-login verification mail again.
    ResendVerification,
    /// End every flow of the member.
    SignOutEverywhere,
    /// Remove a lost authenticator app or passkey (the last one too).
    RemoveFactor {
        /// Which kind.
        method: Method,
        /// Its id.
        #[serde(deserialize_with = "integral")]
        id: i64,
    },
    /// Change the address on file: a link goes to the new one, a notice to the old one.
    ChangeEmail {
        /// The new address.
        email: String,
    },
    /// Issue a one-time enrolment pass to sign in with instead of the password.
    IssueEnrolmentPass,
}

impl StaffChange {
    /// The action's kind (what the caller's proof must unlock).
    pub fn action(&self) -> StaffAction {
        match self {
            Self::Unlock => StaffAction::Unlock,
            Self::ResendVerification => StaffAction::ResendVerification,
            Self::SignOutEverywhere => StaffAction::SignOutEverywhere,
            Self::RemoveFactor { .. } => StaffAction::RemoveFactor,
            Self::ChangeEmail { .. } => StaffAction::ChangeEmail,
            Self::IssueEnrolmentPass => StaffAction::IssueEnrolmentPass,
        }
    }
}

/// An integer as JSON Schema counts them: `3` and `3.0` alike (a generic JSON writer may send
/// either), never `3.5`.
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!("{n} is not an integer"))),
    }
}

/// A change made.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffActionDone {
    /// The member as they are now.
    pub case: MemberCase,
    /// The enrolment pass, for [`StaffChange::IssueEnrolmentPass`] only: shown once, read out
    /// to the caller, never stored in the clear.
    pub enrolment_pass: Option<String>,
    /// Seconds the pass lives.
    pub pass_expires_in_secs: Option<u64>,
}

impl std::fmt::Debug for StaffActionDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffActionDone")
            .field("case", &self.case)
            .field(
                "enrolment_pass",
                &self.enrolment_pass.as_ref().map(|_| "<redacted>"),
            )
            .field("pass_expires_in_secs", &self.pass_expires_in_secs)
            .finish()
    }
}

/// One page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub rows: Vec<AuditRow>,
    /// This page (from 0).
    pub page: u32,
    /// Whether a next page exists.
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_documented_and_never_show_codes_in_debug() {
        let v: VerifyCallerRequest =
            serde_json::from_str(r#"{"proof":"app_code","code":"123456"}"#).unwrap();
        assert!(matches!(v, VerifyCallerRequest::AppCode { ref code } if code == "123456"));
        assert!(!format!("{v:?}").contains("123456"));
        let a: StaffActionRequest = serde_json::from_str(
            r#"{"version":"00000000000000ff","reason":"lost phone","change":{"action":"remove_factor","method":"totp_app","id":3}}"#,
        )
        .unwrap();
        assert_eq!(a.change.action(), StaffAction::RemoveFactor);
        // 3.0 is the integer 3 to JSON Schema; 3.5 is refused.
        let whole: StaffChange =
            serde_json::from_str(r#"{"action":"remove_factor","method":"totp_app","id":3.0}"#)
                .unwrap();
        assert_eq!(
            whole,
            StaffChange::RemoveFactor {
                method: Method::TotpApp,
                id: 3
            }
        );
        assert!(
            serde_json::from_str::<StaffChange>(
                r#"{"action":"remove_factor","method":"totp_app","id":3.5}"#
            )
            .is_err()
        );
        assert_eq!(
            serde_json::to_string(&CallerProof::MemberScreenCode).unwrap(),
            r#""member_screen_code""#
        );
    }
}
