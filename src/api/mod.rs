//! The protocol: request and response types shared by the server and the client.
//!
//! One definition, used by both sides through serde; the OpenAPI description is generated
//! from these types. Every answer about a member carries their next [`Step`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::domain::{Method, Step, TotpAlgorithm};

pub mod constraints;
pub mod helpdesk;
pub mod staff;

/// The version prefix of every API route.
pub const PREFIX: &str = "/api/v1";

/// A language the member reads; mail and pages follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// 日本語 (the manual's language, and the default).
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    /// The ISO 639-1 code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    /// The inverse of [`Lang::code`]; also accepts locales such as `ja_JP.UTF-8` or `en-US`.
    pub fn from_code(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("ja") {
            Some(Self::Ja)
        } else if s.starts_with("en") {
            Some(Self::En)
        } else {
            None
        }
    }
}

/// 【2】 Sign in with the user ID and password (initial or own).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct SignInRequest {
    /// Case-insensitive.
    pub user_id: String,
    /// The initial password (symbol + number + birth date) or the member's own.
    pub password: String,
    /// The language mail and pages should use for this member.
    #[serde(default)]
    pub lang: Lang,
}

impl std::fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInRequest")
            .field("user_id", &self.user_id)
            .field("password", &"<redacted>")
            .field("lang", &self.lang)
            .finish()
    }
}

/// A successful sign-in: the bearer token for the flow and where the member is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignInResponse {
    /// Send as `Authorization: Bearer <token>` on every flow request.
    pub token: String,
    /// The member's state.
    pub flow: FlowView,
}

/// Where a member is in the journey, as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FlowView {
    /// The next step: the screen the client shows.
    pub step: Step,
    /// The member's user ID (lower-case).
    pub user_id: String,
    /// The member's name; only after the identity check.
    pub name: Option<String>,
    /// The email address on file or being verified; only after the identity check.
    pub email: Option<String>,
    /// Whether `email` has been verified through its link.
    pub email_verified: bool,
    /// The chosen second-factor method, once chosen.
    pub method: Option<Method>,
    /// The flow ends after this many seconds without a request.
    pub idle_timeout_secs: u64,
    /// At the second factor: the kinds of second factor the member has, to choose from
    /// (empty elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub second_factors: Vec<Method>,
}

/// 【3】 The member's own date of birth.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BirthDateRequest {
    /// `YYYY-MM-DD`.
    pub birth_date: String,
}

/// 【4】 Agree to the terms ("同意する") or decline (which signs the member out).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TermsDecision {
    /// `true` to agree.
    pub accept: bool,
}

/// The terms of use, as the operator configured them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TermsDocument {
    /// The language of `text`.
    pub lang: Lang,
    /// Markdown text.
    pub text: String,
}

/// How the operator's portal is called in one language (`[portal.ja]`, `[portal.en]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PortalNames {
    /// The portal's full name, for headers and signatures ("tobira 会員ポータル").
    pub name: String,
    /// The short name, for mail subjects (【tobira】) and the authenticator app's issuer.
    pub short_name: String,
    /// Who runs the portal, for signatures and "call us" notices.
    #[serde(default)]
    pub operator: Option<String>,
    /// How to reach them (a telephone number and hours, say).
    #[serde(default)]
    pub contact: Option<String>,
}

/// The operator's portal as the screens show it: its names in both languages and the time
/// zone times are shown in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PortalInfo {
    /// Japanese.
    pub ja: PortalNames,
    /// English.
    pub en: PortalNames,
    /// The IANA time zone, e.g. `Asia/Tokyo`.
    pub time_zone: String,
}

impl PortalInfo {
    /// The names in `lang`.
    pub fn names(&self, lang: Lang) -> &PortalNames {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

/// 【5】 Confirm the address on file (`email` absent) or give a new one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct EmailRequest {
    /// The new address; absent to confirm the one on file.
    #[serde(default)]
    pub email: Option<String>,
}

/// 【8】 The chosen method.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MethodRequest {
    /// One of the three methods.
    pub method: Method,
}

/// 【9】 The member's new password and, optionally, a new user ID.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct CredentialsRequest {
    /// 8–64 characters: ASCII letters, digits and the manual's symbols.
    pub password: String,
    /// 8–13 characters: letters and digits combined, also `-_.@`.
    #[serde(default)]
    pub new_user_id: Option<String>,
}

impl std::fmt::Debug for CredentialsRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsRequest")
            .field("password", &"<redacted>")
            .field("new_user_id", &self.new_user_id)
            .finish()
    }
}

/// An authenticator-app enrollment in progress: what the set-up screen shows (the QR code of
/// `otpauth_uri`, and for "Can't scan?" the key and its parameters). The same secret comes
/// back until the device is confirmed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrollment {
    /// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…`: draw it as a QR code.
    pub otpauth_uri: String,
    /// The key to type by hand: RFC 4648 base32 without padding.
    pub secret: String,
    /// The issuer the app shows.
    pub issuer: String,
    /// The account name the app shows (the member's user ID).
    pub account: String,
    /// The HMAC (type: time-based).
    pub algorithm: TotpAlgorithm,
    /// Digits in a code.
    pub digits: u8,
    /// Seconds per code.
    pub period_secs: u64,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrollment")
            .field("otpauth_uri", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period_secs", &self.period_secs)
            .finish()
    }
}

/// Confirms the pending authenticator app with a code it shows, under a name.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpConfirmRequest {
    /// The code the app shows now (spaces and full-width digits are accepted).
    pub code: String,
    /// 1–32 characters, unique among the member's devices.
    pub device_name: String,
}

impl std::fmt::Debug for TotpConfirmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpConfirmRequest")
            .field("code", &"<redacted>")
            .field("device_name", &self.device_name)
            .finish()
    }
}

/// The code asked for after the password (step `second_factor`); checked against every
/// registered authenticator app.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpVerifyRequest {
    /// The code one of the member's apps shows now.
    pub code: String,
}

impl std::fmt::Debug for TotpVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpVerifyRequest { code: <redacted> }")
    }
}

/// Proving the member again for a sensitive action (step-up): the password or a code from an
/// authenticator app.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StepUpRequest {
    /// The member's password.
    #[serde(default)]
    pub password: Option<String>,
    /// A code from one of the member's authenticator apps.
    #[serde(default)]
    pub code: Option<String>,
}

impl std::fmt::Debug for StepUpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUpRequest").finish_non_exhaustive()
    }
}

/// Changing the password from the top screen: the current one proves it is the member.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct PasswordChangeRequest {
    /// The password the member signed in with.
    pub current_password: String,
    /// The new password, under the password policy.
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChangeRequest { <redacted> }")
    }
}

// issue 5

/// An emailed one-time password, as typed (6 digits; spaces, hyphens and full-width digits are
/// accepted).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct EmailCodeRequest {
    /// The code from the mail.
    pub code: String,
}

impl std::fmt::Debug for EmailCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmailCodeRequest { code: <redacted> }")
    }
}

/// A one-time password was mailed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EmailCodeSent {
    /// The address it went to (the member's verified address).
    pub email: String,
    /// Seconds the code works.
    pub expires_in_secs: u64,
    /// Seconds before another code may be asked for.
    pub resend_after_secs: u64,
    /// The flow, unchanged (still at method set-up or the second factor).
    pub flow: FlowView,
}

/// "Forgot your user ID?": the insurance card and the date of birth.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ForgotUserIdRequest {
    /// 記号, digits (full-width accepted).
    pub symbol: String,
    /// 番号, digits (full-width accepted).
    pub number: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// The language of the mail.
    #[serde(default)]
    pub lang: Lang,
}

/// "Forgot your password?", first part: the user ID and the date of birth.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ForgotPasswordRequest {
    /// Case-insensitive.
    pub user_id: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// The language of the mail.
    #[serde(default)]
    pub lang: Lang,
}

/// The one answer to a recovery request, whether or not it matched a member: if it did, a
/// mail is on its way to the address on file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecoveryAccepted {
    /// Always `sign_in`: the member goes back to signing in.
    pub step: Step,
    /// Seconds a mailed code works (the same whether or not a code was sent).
    pub code_expires_in_secs: u64,
}

/// "Forgot your password?", second part: the mailed code and the new password.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// Case-insensitive.
    pub user_id: String,
    /// The 6-digit code from the mail.
    pub code: String,
    /// The new password (8–64 characters of the password rules).
    pub new_password: String,
}

impl std::fmt::Debug for ResetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetPasswordRequest")
            .field("user_id", &self.user_id)
            .field("code", &"<redacted>")
            .field("new_password", &"<redacted>")
            .finish()
    }
}

/// A new address for a member at the top screen.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeEmailRequest {
    /// The new address.
    pub email: String,
}

/// A change of address is under way: a link went to the new address, a notice to the old one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EmailChangeStarted {
    /// The address the link went to (the current address stays until it is opened).
    pub pending_email: String,
    /// The flow, still at `home`.
    pub flow: FlowView,
}

/// A new name for a registered device.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RenameRequest {
    /// 1–32 characters, unique among the member's devices.
    pub name: String,
}

/// Who is signed in, for the top screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberSummary {
    /// The name on the roster.
    pub name: String,
    /// The member's user ID (lower-case).
    pub user_id: String,
    /// The verified email address.
    pub email: String,
}

/// One registered second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecondFactor {
    /// Its id, for rename and remove.
    pub id: i64,
    /// What kind (`totp_app` or `passkey`); rename and remove take it as `?method=`.
    pub method: Method,
    /// The member's name for it.
    pub name: String,
    /// When it was registered, Unix seconds (UTC).
    pub created_at: i64,
    /// When it was last used to sign in (or confirmed), Unix seconds (UTC).
    pub last_used_at: Option<i64>,
}

/// The top screen: the member, their second factors, and what they may still add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HomeView {
    /// The flow (step `home`).
    pub flow: FlowView,
    /// The member.
    pub member: MemberSummary,
    /// Registered second factors, oldest first.
    pub second_factors: Vec<SecondFactor>,
    /// How many authenticator apps a member may register.
    pub max_totp_devices: u32,
    /// Whether an added device is waiting for its confirmation code (see `POST /api/v1/totp/enrollment`).
    pub enrollment_pending: bool,
    /// Seconds the member's last proof still lets sensitive actions (adding an app or a passkey,
    /// changing the address, removing a factor) go ahead; 0: the next one answers
    /// `step_up_required` until `POST /api/v1/step-up`.
    #[serde(default)]
    pub step_up_secs_left: u64,
}

// issue 6: passkeys.

/// The options to hand to the authenticator for registering a passkey (WebAuthn
/// `PublicKeyCredentialCreationOptions`; the member's passkeys are in `excludeCredentials`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeyRegistrationStart {
    /// webauthn-rs's `CreationChallengeResponse`.
    #[schema(value_type = Object)]
    pub options: webauthn_rs::prelude::CreationChallengeResponse,
    /// Seconds the server keeps this ceremony open.
    pub expires_in_secs: u64,
}

/// The authenticator's answer to a registration, and the member's name for the passkey.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeyRegistrationFinish {
    /// webauthn-rs's `RegisterPublicKeyCredential`.
    #[schema(value_type = WebAuthnAttestation)]
    pub credential: webauthn_rs::prelude::RegisterPublicKeyCredential,
    /// 1–32 characters, unique among the member's passkeys.
    pub name: String,
}

/// The options to hand to the authenticator for signing in with a passkey.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeyAuthenticationStart {
    /// webauthn-rs's `RequestChallengeResponse` (the member's passkeys in `allowCredentials`).
    #[schema(value_type = Object)]
    pub options: webauthn_rs::prelude::RequestChallengeResponse,
    /// Seconds the server keeps this ceremony open.
    pub expires_in_secs: u64,
}

/// The authenticator's answer to a sign-in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeyAuthenticationFinish {
    /// webauthn-rs's `PublicKeyCredential`.
    #[schema(value_type = WebAuthnAssertion)]
    pub credential: webauthn_rs::prelude::PublicKeyCredential,
}

// The shapes webauthn-rs reads the authenticator's answers in, for the description only (the
// server reads them with webauthn-rs's own types); `constraints` declares their binary fields
// as unpadded base64url. Unknown members are ignored by the server; the description leaves
// them out.

/// A WebAuthn registration answer (`RegisterPublicKeyCredential`), as sent to the server.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct WebAuthnAttestation {
    /// The credential ID (base64url).
    id: String,
    /// The credential ID's bytes.
    #[serde(rename = "rawId")]
    raw_id: String,
    /// The authenticator's attestation.
    response: WebAuthnAttestationResponse,
    /// `public-key`.
    #[serde(rename = "type")]
    type_: String,
}

/// The authenticator's part of a registration answer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct WebAuthnAttestationResponse {
    /// CBOR attestation object.
    #[serde(rename = "attestationObject")]
    attestation_object: String,
    /// The client data the authenticator signed.
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
}

/// A WebAuthn sign-in answer (`PublicKeyCredential`), as sent to the server.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct WebAuthnAssertion {
    /// The credential ID (base64url).
    id: String,
    /// The credential ID's bytes.
    #[serde(rename = "rawId")]
    raw_id: String,
    /// The authenticator's assertion.
    response: WebAuthnAssertionResponse,
    /// `public-key`.
    #[serde(rename = "type")]
    type_: String,
}

/// The authenticator's part of a sign-in answer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct WebAuthnAssertionResponse {
    /// The authenticator data.
    #[serde(rename = "authenticatorData")]
    authenticator_data: String,
    /// The client data the authenticator signed.
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    /// The signature.
    signature: String,
    /// The user handle, when the authenticator returns one.
    #[serde(rename = "userHandle")]
    user_handle: Option<String>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `"ok"` when the server and its database answer.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// What can go wrong, as a stable code the client translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// "Invalid user ID or password", whatever the cause (unknown ID, wrong password, lock).
    InvalidCredentials,
    /// Too many attempts from this client address for now; see `retry_after_secs`.
    RateLimited,
    /// The flow timed out or was ended: start again from sign-in.
    FlowExpired,
    /// No or malformed bearer token.
    Unauthorized,
    /// The request does not fit the member's current step; `step` says where they are.
    OutOfOrder,
    /// The date of birth does not match the roster.
    WrongBirthDate,
    /// Too many wrong answers: the flow was ended and the account is held.
    TooManyAttempts,
    /// The account is held (an operator's opt-in hard hold after repeated failures) until the
    /// helpdesk lifts it (HTTP 423).
    AccountHeld,
    /// The date of birth is malformed or impossible.
    InvalidBirthDate,
    /// A sensitive action needs the member proved again: `POST /api/v1/step-up` first.
    StepUpRequired,
    /// The email address is malformed.
    InvalidEmail,
    /// The new password breaks a rule; `rule` names it.
    WeakPassword,
    /// The new user ID breaks a rule; `rule` names it.
    InvalidUserId,
    /// Another member already has that user ID.
    UserIdTaken,
    /// The verification mail could not be handed to the mail server; resending may work.
    MailFailed,
    /// The one-time password is not the code of any of the member's devices now.
    WrongCode,
    /// The one-time password was valid a little while ago: type it right after it changes.
    CodeExpired,
    /// The one-time password is one of a later time: the phone's clock is off (turn on automatic time).
    ClockSkew,
    /// That one-time password was already used; wait for the next one.
    CodeUsed,
    /// The device name breaks a rule; `rule` names it (`length`, `characters`).
    InvalidDeviceName,
    /// The member already has a device of that name.
    DeviceNameTaken,
    /// The member already has the most authenticator apps allowed.
    TooManyDevices,
    /// That is the member's last second factor; it cannot be removed.
    LastSecondFactor,
    /// The request body could not be read.
    BadRequest,
    /// No such route or resource.
    NotFound,
    /// Something failed on the server; details are in its log, not here.
    Internal,
    // issue 5
    /// Another code (or mail) was sent a moment ago; wait `retry_after_secs` before asking again.
    ResendCooldown,
    // issue 6
    /// This server cannot offer passkeys (its public URL is an IP address, or plain http
    /// on a name other than localhost).
    PasskeyUnavailable,
    /// The authenticator's answer was refused (wrong origin, signature, challenge, or no user
    /// verification).
    PasskeyRejected,
    /// No passkey ceremony is open for this flow (never started, finished, or timed out): start again.
    CeremonyExpired,
    /// That passkey is already registered.
    PasskeyTaken,
    /// The member has no passkey to sign in with.
    NoPasskey,
    // issue 11
    /// The server is at capacity (every password worker busy, the queue full); retry after
    /// `retry_after_secs`.
    ServerBusy,
    /// The request body is larger than this route accepts.
    PayloadTooLarge,
    // issue 13
    /// A staff route was called without a live staff session (none, a member's token, or one
    /// that timed out, ended or reached the end of the shift): sign in as staff again.
    StaffSessionExpired,
    /// The staff login or enrolment code is wrong, used or expired (one answer for every cause).
    InvalidEnrolmentCode,
    /// The staff member's role does not allow this (a helpdesk acting on staff accounts).
    InsufficientRole,
    /// The member changed since the staff member's view (its `version`): reload and look again.
    StaleView,
    /// The caller's proof is missing, expired or too weak for this action: verify them first.
    CallerNotVerified,
    // issue 17
    /// The server cannot serve requests now (its database does not answer): `/readyz`.
    NotReady,
}

impl ErrorCode {
    /// The stable wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::RateLimited => "rate_limited",
            Self::FlowExpired => "flow_expired",
            Self::Unauthorized => "unauthorized",
            Self::OutOfOrder => "out_of_order",
            Self::WrongBirthDate => "wrong_birth_date",
            Self::TooManyAttempts => "too_many_attempts",
            Self::AccountHeld => "account_held",
            Self::InvalidBirthDate => "invalid_birth_date",
            Self::StepUpRequired => "step_up_required",
            Self::InvalidEmail => "invalid_email",
            Self::WeakPassword => "weak_password",
            Self::InvalidUserId => "invalid_user_id",
            Self::UserIdTaken => "user_id_taken",
            Self::MailFailed => "mail_failed",
            Self::WrongCode => "wrong_code",
            Self::CodeExpired => "code_expired",
            Self::ClockSkew => "clock_skew",
            Self::CodeUsed => "code_used",
            Self::InvalidDeviceName => "invalid_device_name",
            Self::DeviceNameTaken => "device_name_taken",
            Self::TooManyDevices => "too_many_devices",
            Self::LastSecondFactor => "last_second_factor",
            Self::BadRequest => "bad_request",
            Self::NotFound => "not_found",
            Self::Internal => "internal",
            Self::ResendCooldown => "resend_cooldown",
            Self::PasskeyUnavailable => "passkey_unavailable",
            Self::PasskeyRejected => "passkey_rejected",
            Self::CeremonyExpired => "ceremony_expired",
            Self::PasskeyTaken => "passkey_taken",
            Self::NoPasskey => "no_passkey",
            Self::ServerBusy => "server_busy",
            Self::PayloadTooLarge => "payload_too_large",
            Self::StaffSessionExpired => "staff_session_expired",
            Self::InvalidEnrolmentCode => "invalid_enrolment_code",
            Self::InsufficientRole => "insufficient_role",
            Self::StaleView => "stale_view",
            Self::CallerNotVerified => "caller_not_verified",
            Self::NotReady => "not_ready",
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// What went wrong.
    pub code: ErrorCode,
    /// A short English description for logs and scripts; clients translate `code`.
    pub message: String,
    /// The request field the error concerns, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule that failed (`length`, `characters`, `letter`, `digit`), for policy errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Seconds to wait before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// The member's next step after this error (where an out-of-order request found them,
    /// `sign_in` once a flow has ended, `awaiting_verification` after a failed mail); absent
    /// only when the server cannot tell (an internal error, an unreadable body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
}

impl ApiError {
    /// An error with just a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            rule: None,
            retry_after_secs: None,
            step: None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}
