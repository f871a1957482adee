//! The onboarding rules: pure functions and plain data, no I/O and no async.
//!
//! Everything the server decides about a member's input is decided here, so that the
//! rules can be read and tested alone. The TUI may call the same functions to pre-check
//! input for a friendly message, but the server stays the authority.

pub mod actor;
pub mod audit;
pub mod birth_date;
pub mod email;
pub mod email_code;
pub mod factors;
pub mod flow;
pub mod helpdesk;
pub mod initial_password;
pub mod lockout;
pub mod mail_quota;
pub mod member_search;
pub mod method;
pub mod passkey;
pub mod password;
pub mod staff;
pub mod step_up;
pub mod totp;
pub mod user_id;
pub mod width;

pub use actor::Actor;
pub use audit::AuditAction;
pub use birth_date::{BirthDate, BirthDateError};
pub use email::{EmailAddress, EmailError};
pub use email_code::EmailCodePolicy;
pub use factors::FactorRefusal;
pub use flow::{Action, FlowError, FlowGates, Step};
pub use initial_password::{CardError, InsuranceCard, initial_password};
pub use lockout::{FailureRecord, LockoutPolicy, Refusal, ThrottlePolicy, Verdict};
pub use mail_quota::MailQuota;
pub use member_search::{MatchKind, SearchCursor, SearchQuery, SearchQueryError};
pub use method::Method;
pub use passkey::PasskeyTransport;
pub use password::{PasswordError, PasswordRule};
pub use staff::{StaffPhase, StaffRole, StaffSessionPolicy, StaffStatus};
pub use totp::{
    CodeCheck, DeviceNameError, TotpAlgorithm, TotpError, TotpParams, TotpPolicy, TotpSecret,
};
pub use user_id::{UserId, UserIdError};
