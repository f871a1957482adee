//! The protocol: request and response types shared by the server and the client.
//!
//! One definition, used by both sides through serde; the OpenAPI description is generated
//! from these types. Every answer about a member carries their next [`Step`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::domain::{Method, Step};

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
    /// The date of birth is malformed or impossible.
    InvalidBirthDate,
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
    /// The request body could not be read.
    BadRequest,
    /// No such route or resource.
    NotFound,
    /// Something failed on the server; details are in its log, not here.
    Internal,
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
            Self::InvalidBirthDate => "invalid_birth_date",
            Self::InvalidEmail => "invalid_email",
            Self::WeakPassword => "weak_password",
            Self::InvalidUserId => "invalid_user_id",
            Self::UserIdTaken => "user_id_taken",
            Self::MailFailed => "mail_failed",
            Self::BadRequest => "bad_request",
            Self::NotFound => "not_found",
            Self::Internal => "internal",
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
