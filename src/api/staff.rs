//! The staff side of the protocol (`/api/v1/staff/…`): enrolment, sign-in and the signed-in
//! staff member. No type here carries a password hash, a stored secret or someone else's token;
//! the only secrets are the staff member's own: the token issued at sign-in (or enrolment) and
//! the authenticator key shown once while it is being set up.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::domain::{StaffPhase, StaffRole, StaffStatus};

use super::TotpEnrollment;

/// The prefix of every staff token, so neither side can take one kind for the other.
pub const TOKEN_PREFIX: &str = "tbs_";

/// Step one of an enrolment: the login and the one-time enrolment code an admin handed over.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffEnrolmentRequest {
    /// The staff login (case-insensitive).
    pub login: String,
    /// The enrolment code as printed by `tobira admin staff add|reset` (hyphens optional).
    pub enrolment_code: String,
}

impl std::fmt::Debug for StaffEnrolmentRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffEnrolmentRequest")
            .field("login", &self.login)
            .field("enrolment_code", &"<redacted>")
            .finish()
    }
}

/// The enrolment opened: its token (it becomes the session once the enrolment is finished) and
/// the authenticator app to set up.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffEnrolmentStarted {
    /// Send as `Authorization: Bearer <token>` to finish the enrolment and afterwards.
    pub token: String,
    /// The authenticator app to add: the QR code's URI and the key to type.
    pub totp: TotpEnrollment,
    /// Seconds left to finish the enrolment.
    pub expires_in_secs: u64,
}

impl std::fmt::Debug for StaffEnrolmentStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffEnrolmentStarted")
            .field("token", &"<redacted>")
            .field("totp", &self.totp)
            .field("expires_in_secs", &self.expires_in_secs)
            .finish()
    }
}

/// Step two: the new password and a code the new authenticator app shows.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffEnrolmentFinishRequest {
    /// The staff member's password (the same rules as members': 8–64 characters).
    pub password: String,
    /// A code from the authenticator app just added.
    pub code: String,
    /// The app's name (default "authenticator").
    #[serde(default)]
    pub device_name: Option<String>,
}

impl std::fmt::Debug for StaffEnrolmentFinishRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffEnrolmentFinishRequest")
            .field("password", &"<redacted>")
            .field("code", &"<redacted>")
            .field("device_name", &self.device_name)
            .finish()
    }
}

/// A staff sign-in: login and password (the authenticator code follows).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffSignInRequest {
    /// The staff login (case-insensitive).
    pub login: String,
    /// The staff member's password.
    pub password: String,
}

impl std::fmt::Debug for StaffSignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffSignInRequest")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The password was right: the token, which works only for the second factor until it is given.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffSignInResponse {
    /// Send as `Authorization: Bearer <token>`; keep it for the whole shift.
    pub token: String,
    /// Always `second_factor`: staff must give an authenticator code or use their passkey next.
    pub phase: StaffPhase,
    /// Seconds left to give the second factor.
    pub expires_in_secs: u64,
    /// The second factors the staff member has (one of them finishes the sign-in).
    #[serde(default)]
    pub second_factors: Vec<StaffFactorKind>,
}

/// A kind of staff second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffFactorKind {
    /// An authenticator app (a 6-digit code to `/api/v1/staff/sign-in/verify`).
    AuthenticatorApp,
    /// A passkey (`/api/v1/staff/sign-in/passkey`, then `…/finish`).
    Passkey,
}

/// Enrolment with a passkey instead of an app, step two: the new password and the
/// authenticator's answer to the options from `POST /api/v1/staff/enrolment/passkey`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffPasskeyEnrolmentFinish {
    /// The staff member's password (the same rules as members': 8–64 characters).
    pub password: String,
    /// webauthn-rs's `RegisterPublicKeyCredential`.
    #[schema(value_type = crate::api::WebAuthnAttestation)]
    pub credential: webauthn_rs::prelude::RegisterPublicKeyCredential,
    /// The passkey's name (default "passkey").
    #[serde(default)]
    pub name: Option<String>,
}

impl std::fmt::Debug for StaffPasskeyEnrolmentFinish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffPasskeyEnrolmentFinish")
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for StaffSignInResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffSignInResponse")
            .field("token", &"<redacted>")
            .field("phase", &self.phase)
            .field("expires_in_secs", &self.expires_in_secs)
            .field("second_factors", &self.second_factors)
            .finish()
    }
}

/// A code from the staff member's authenticator app.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffCodeRequest {
    /// The 6-digit code (spaces, hyphens and full-width digits are accepted).
    pub code: String,
}

impl std::fmt::Debug for StaffCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffCodeRequest { code: <redacted> }")
    }
}

/// The lifetimes of the session the request came with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffSessionView {
    /// Signed in at, Unix seconds.
    pub created_at: i64,
    /// Ends at this time unless used again (idle timeout), Unix seconds.
    pub expires_at: i64,
    /// Ends at this time however active (end of the shift), Unix seconds.
    pub absolute_expires_at: i64,
    /// Seconds of inactivity after which a session ends.
    pub idle_timeout_secs: u64,
}

/// The signed-in staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffMe {
    /// The login (lower-case).
    pub login: String,
    /// The name shown in the console.
    pub display_name: String,
    /// What the staff member may do.
    pub role: StaffRole,
    /// This session.
    pub session: StaffSessionView,
}

/// A staff account as an admin sees it: never a hash, a secret or a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffAccountView {
    /// The login (lower-case).
    pub login: String,
    /// The name shown in the console.
    pub display_name: String,
    /// What the account may do.
    pub role: StaffRole,
    /// Enrolling, active or disabled.
    pub status: StaffStatus,
    /// How many second factors (authenticator apps and passkeys) it has.
    pub second_factors: usize,
    /// Added at, Unix seconds.
    pub created_at: i64,
    /// Last changed at, Unix seconds.
    pub updated_at: i64,
}

/// Every staff account (admins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffAccounts {
    /// By login.
    pub accounts: Vec<StaffAccountView>,
}

/// The answer to a sign-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffSignedOut {
    /// Always `true`: the token no longer works.
    pub signed_out: bool,
}
