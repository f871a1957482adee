//! One error type for every handler, and its HTTP form.
//!
//! Clients get a stable code and a short English message; internal details (database
//! errors, mail failures) go to the log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api::{ApiError, ErrorCode, Step};
use crate::domain::{PasswordError, UserIdError};
use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A client-facing error with its code.
    #[error("{0}")]
    Api(ApiError),
    /// Something broke inside; logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A client-facing error.
    pub fn api(code: ErrorCode, message: &str) -> Self {
        Self::Api(ApiError::new(code, message))
    }

    /// The same error, saying the member's next step unless it already says one.
    pub fn or_step(self, step: Step) -> Self {
        match self {
            Self::Api(mut e) => {
                e.step = e.step.or(Some(step));
                Self::Api(e)
            }
            internal => internal,
        }
    }

    /// The same error without a member's next step (staff routes: a member's step means
    /// nothing there).
    pub fn without_step(self) -> Self {
        match self {
            Self::Api(mut e) => {
                e.step = None;
                Self::Api(e)
            }
            internal => internal,
        }
    }

    /// "Invalid user ID or password", whatever the cause; the member stays at the sign-in.
    pub fn invalid_credentials() -> Self {
        Self::api(ErrorCode::InvalidCredentials, "Invalid user ID or password")
            .or_step(Step::SignIn)
    }

    /// No or malformed bearer token: sign in first.
    pub fn unauthorized() -> Self {
        Self::api(
            ErrorCode::Unauthorized,
            "Sign in first (Authorization: Bearer <token>)",
        )
        .or_step(Step::SignIn)
    }

    /// Too many wrong answers: the account is held and the member's flows have ended.
    pub fn too_many_attempts() -> Self {
        Self::api(
            ErrorCode::TooManyAttempts,
            "Too many wrong answers; the account is held. Contact the helpdesk.",
        )
        .or_step(Step::SignIn)
    }

    /// The account is held (by the opt-in hard hold): the same answer for every user ID typed,
    /// known or not; the member stays at the sign-in.
    pub fn account_held() -> Self {
        Self::api(
            ErrorCode::AccountHeld,
            "This account is held after repeated failures. Call the helpdesk to have it released.",
        )
        .or_step(Step::SignIn)
    }

    /// The verification mail was not handed over; the member waits for it anyway (and can resend).
    pub fn mail_failed() -> Self {
        Self::api(
            ErrorCode::MailFailed,
            "The verification mail could not be sent; try Resend in a moment",
        )
        .or_step(Step::AwaitingVerification)
    }

    /// The request does not fit the member's current step.
    pub fn out_of_order(current: Step) -> Self {
        let mut e = ApiError::new(
            ErrorCode::OutOfOrder,
            "This request does not fit the current step",
        );
        e.step = Some(current);
        Self::Api(e)
    }

    /// The flow timed out or ended: start again from the sign-in.
    pub fn flow_expired() -> Self {
        Self::api(
            ErrorCode::FlowExpired,
            "The session timed out or has ended; sign in again",
        )
        .or_step(Step::SignIn)
    }

    /// Too many attempts from one address.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = ApiError::new(
            ErrorCode::RateLimited,
            "Too many attempts; wait and try again",
        );
        e.retry_after_secs = Some(retry_after_secs);
        Self::Api(e)
    }

    /// Another code was sent less than the cooldown ago.
    pub fn resend_cooldown(retry_after_secs: u64) -> Self {
        let mut e = ApiError::new(
            ErrorCode::ResendCooldown,
            "A code was sent a moment ago; wait before asking for another",
        );
        e.retry_after_secs = Some(retry_after_secs);
        Self::Api(e)
    }

    /// Every password worker is busy and the queue is full: come back in a moment.
    pub fn server_busy(retry_after_secs: u64) -> Self {
        let mut e = ApiError::new(
            ErrorCode::ServerBusy,
            "The server is busy; try again in a moment",
        );
        e.retry_after_secs = Some(retry_after_secs);
        Self::Api(e)
    }

    /// No live staff session: none was sent, it is a member's, or it timed out or ended.
    pub fn staff_session_expired() -> Self {
        Self::api(
            ErrorCode::StaffSessionExpired,
            "The staff session is missing, timed out or has ended; sign in as staff again",
        )
    }

    /// A wrong, used or expired enrolment code, or an unknown login: one answer for all.
    pub fn invalid_enrolment_code() -> Self {
        Self::api(
            ErrorCode::InvalidEnrolmentCode,
            "The login or enrolment code is wrong, used or expired; ask an administrator for a new code",
        )
    }

    /// The staff member's role does not allow this.
    pub fn insufficient_role(refusal: crate::domain::staff::StaffRefusal) -> Self {
        Self::api(
            ErrorCode::InsufficientRole,
            &format!("Not allowed: {refusal}"),
        )
    }

    /// A field-level error.
    pub fn field(code: ErrorCode, field: &str, rule: Option<&str>, message: &str) -> Self {
        let mut e = ApiError::new(code, message);
        e.field = Some(field.to_owned());
        e.rule = rule.map(str::to_owned);
        Self::Api(e)
    }

    fn status(code: ErrorCode) -> StatusCode {
        use ErrorCode as C;
        match code {
            C::InvalidCredentials
            | C::Unauthorized
            | C::FlowExpired
            | C::StaffSessionExpired
            | C::InvalidEnrolmentCode => StatusCode::UNAUTHORIZED,
            C::InsufficientRole | C::CallerNotVerified => StatusCode::FORBIDDEN,
            C::StaleView => StatusCode::CONFLICT,
            C::RateLimited | C::ResendCooldown => StatusCode::TOO_MANY_REQUESTS,
            C::OutOfOrder
            | C::UserIdTaken
            | C::DeviceNameTaken
            | C::TooManyDevices
            | C::LastSecondFactor => StatusCode::CONFLICT,
            C::TooManyAttempts => StatusCode::FORBIDDEN,
            C::AccountHeld => StatusCode::LOCKED,
            C::StepUpRequired => StatusCode::FORBIDDEN,
            C::WrongBirthDate
            | C::InvalidBirthDate
            | C::InvalidEmail
            | C::WeakPassword
            | C::InvalidUserId
            | C::WrongCode
            | C::CodeExpired
            | C::ClockSkew
            | C::CodeUsed
            | C::InvalidDeviceName
            | C::BadRequest => StatusCode::UNPROCESSABLE_ENTITY,
            C::NotFound => StatusCode::NOT_FOUND,
            C::MailFailed => StatusCode::BAD_GATEWAY,
            C::PasskeyUnavailable | C::ServerBusy | C::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            C::PasskeyRejected => StatusCode::UNPROCESSABLE_ENTITY,
            C::CeremonyExpired | C::PasskeyTaken | C::NoPasskey => StatusCode::CONFLICT,
            C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = match self {
            Self::Api(e) => e,
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ApiError::new(ErrorCode::Internal, "Something went wrong on the server")
            }
        };
        let mut resp = (Self::status(body.code), Json(&body)).into_response();
        if let Some(secs) = body.retry_after_secs
            && let Ok(v) = secs.to_string().parse()
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::StepMismatch { current } => Self::out_of_order(current),
            StoreError::UserIdTaken => Self::field(
                ErrorCode::UserIdTaken,
                "new_user_id",
                None,
                "That user ID is already in use",
            ),
            StoreError::DeviceNameTaken => Self::field(
                ErrorCode::DeviceNameTaken,
                "device_name",
                None,
                "You already have a device of that name",
            ),
            StoreError::TooManyDevices => Self::api(
                ErrorCode::TooManyDevices,
                "You already have the most authenticator apps allowed",
            ),
            StoreError::LastSecondFactor => Self::api(
                ErrorCode::LastSecondFactor,
                "This is your last second factor; add another before removing it",
            ),
            StoreError::NoEnrollment => Self::api(
                ErrorCode::OutOfOrder,
                "No device is being added; start again",
            ),
            StoreError::CredentialTaken => Self::api(
                ErrorCode::PasskeyTaken,
                "That passkey is already registered",
            ),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::domain::DeviceNameError> for AppError {
    fn from(e: crate::domain::DeviceNameError) -> Self {
        Self::field(
            ErrorCode::InvalidDeviceName,
            "device_name",
            Some(e.rule()),
            &e.to_string(),
        )
    }
}

impl From<crate::domain::TotpError> for AppError {
    fn from(e: crate::domain::TotpError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<super::secret_key::SecretKeyError> for AppError {
    fn from(e: super::secret_key::SecretKeyError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<super::secrets::HashError> for AppError {
    fn from(e: super::secrets::HashError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<super::hash_pool::PoolError> for AppError {
    fn from(e: super::hash_pool::PoolError) -> Self {
        match e {
            super::hash_pool::PoolError::Busy { retry_after_secs } => {
                Self::server_busy(retry_after_secs)
            }
            super::hash_pool::PoolError::Failed(e) => e.into(),
        }
    }
}

impl From<PasswordError> for AppError {
    fn from(e: PasswordError) -> Self {
        Self::field(
            ErrorCode::WeakPassword,
            "password",
            Some(e.rule()),
            &e.to_string(),
        )
    }
}

impl From<UserIdError> for AppError {
    fn from(e: UserIdError) -> Self {
        Self::field(
            ErrorCode::InvalidUserId,
            "new_user_id",
            Some(e.rule()),
            &e.to_string(),
        )
    }
}

impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::api(
                ErrorCode::PayloadTooLarge,
                "The request body is larger than this request accepts",
            );
        }
        Self::api(
            ErrorCode::BadRequest,
            &format!("The request body could not be read: {}", e.body_text()),
        )
    }
}
