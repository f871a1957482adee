//! Helpdesk staff: logins, roles and who may do what, the one-time enrolment code, and the
//! lifetimes of a staff session. Pure rules; the server draws codes and tokens, the store keeps
//! them.

use serde::{Deserialize, Serialize};

/// What a staff member may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Helps members: finds them, sees where they are stuck, fixes it. Never touches staff.
    Helpdesk,
    /// Everything a helpdesk member does, and manages staff accounts.
    Admin,
}

impl StaffRole {
    /// Every role, least privileged first.
    pub const ALL: [StaffRole; 2] = [Self::Helpdesk, Self::Admin];

    /// The stable name stored in the database and shown by the CLI.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Helpdesk => "helpdesk",
            Self::Admin => "admin",
        }
    }

    /// The inverse of [`StaffRole::as_str`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may do what `needed` may (an admin may do everything a helpdesk may).
    pub fn permits(self, needed: StaffRole) -> bool {
        self >= needed
    }
}

/// Why a staff member may not do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StaffRefusal {
    /// The role is too low.
    #[error("this needs the {} role", needed.as_str())]
    InsufficientRole {
        /// The role it needs.
        needed: StaffRole,
    },
}

/// Whether a staff member of `role` may do what needs `needed`.
pub fn require(role: StaffRole, needed: StaffRole) -> Result<(), StaffRefusal> {
    if role.permits(needed) {
        Ok(())
    } else {
        Err(StaffRefusal::InsufficientRole { needed })
    }
}

/// Whether a staff member of `role` may add, disable, reset or list staff accounts: only admins.
pub fn may_manage_staff(role: StaffRole) -> Result<(), StaffRefusal> {
    require(role, StaffRole::Admin)
}

/// Shortest login, in characters.
pub const LOGIN_MIN_LEN: usize = 2;
/// Longest login, in characters.
pub const LOGIN_MAX_LEN: usize = 32;

/// Why a login is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StaffLoginError {
    /// Not 2–32 characters.
    #[error("a staff login has 2 to 32 characters")]
    Length,
    /// A character other than ASCII letters, digits and `.-_`.
    #[error("a staff login may contain only ASCII letters, digits and . - _")]
    Characters,
    /// Does not start with a letter.
    #[error("a staff login starts with a letter")]
    Start,
}

impl StaffLoginError {
    /// A stable, machine-readable name of the rule that failed.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::Characters => "characters",
            Self::Start => "start",
        }
    }
}

/// The stored form of a typed login: trimmed, full-width folded, lower-case. Logins compare in
/// this form whether or not they are valid (unknown logins are throttled like known ones).
pub fn normalize_login(typed: &str) -> String {
    super::width::fold(typed.trim()).to_lowercase()
}

/// A new login in its stored form, or why it cannot be one.
pub fn parse_login(typed: &str) -> Result<String, StaffLoginError> {
    let login = normalize_login(typed);
    if !(LOGIN_MIN_LEN..=LOGIN_MAX_LEN).contains(&login.chars().count()) {
        return Err(StaffLoginError::Length);
    }
    if !login
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
    {
        return Err(StaffLoginError::Characters);
    }
    if !login.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(StaffLoginError::Start);
    }
    Ok(login)
}

/// Longest display name, in characters.
pub const DISPLAY_NAME_MAX_LEN: usize = 64;

/// Why a display name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a staff display name has 1 to 64 characters and no control characters")]
pub struct DisplayNameError;

/// A display name as stored (trimmed), or why it cannot be one.
pub fn display_name(typed: &str) -> Result<String, DisplayNameError> {
    let name = typed.trim();
    let len = name.chars().count();
    if len == 0 || len > DISPLAY_NAME_MAX_LEN || name.chars().any(char::is_control) {
        return Err(DisplayNameError);
    }
    Ok(name.to_owned())
}

/// How long an enrolment code works, in seconds (issue 13: one hour).
pub const ENROLMENT_CODE_TTL_SECS: i64 = 3600;

/// Characters of an enrolment code (without its hyphens): 16 of 32 symbols, 80 bits.
pub const ENROLMENT_CODE_LEN: usize = 16;

/// Crockford's base-32 alphabet: no I, L, O or U, so a code read out on the phone is not misheard.
const ENROLMENT_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Random bytes an enrolment code is drawn from.
pub const ENROLMENT_CODE_BYTES: usize = 10;

/// The enrolment code of `bytes` as shown once: `XXXX-XXXX-XXXX-XXXX`.
pub fn format_enrolment_code(bytes: &[u8; ENROLMENT_CODE_BYTES]) -> String {
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(*b);
    }
    let mut out = String::with_capacity(ENROLMENT_CODE_LEN + 3);
    for i in 0..ENROLMENT_CODE_LEN {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let shift = 5 * (ENROLMENT_CODE_LEN - 1 - i);
        out.push(char::from(
            ENROLMENT_ALPHABET[((bits >> shift) & 31) as usize],
        ));
    }
    out
}

/// A typed enrolment code in its canonical form (upper case, no hyphens or spaces, full width
/// folded, the letters Crockford reads as digits mapped), or `None` when it cannot be one.
pub fn normalize_enrolment_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(ENROLMENT_CODE_LEN);
    for c in super::width::fold(typed).chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ENROLMENT_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == ENROLMENT_CODE_LEN).then_some(out)
}

/// What an enrolment code on record is worth now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolmentCodeState {
    /// Live and unused.
    Usable,
    /// Past its hour.
    Expired,
    /// Already used for an enrolment.
    Used,
}

/// Judges an enrolment code issued to expire at `expires_at`, used at `used_at` if ever.
pub fn enrolment_code_state(expires_at: i64, used_at: Option<i64>, now: i64) -> EnrolmentCodeState {
    if used_at.is_some() {
        EnrolmentCodeState::Used
    } else if now >= expires_at {
        EnrolmentCodeState::Expired
    } else {
        EnrolmentCodeState::Usable
    }
}

/// What a staff session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffPhase {
    /// An enrolment in progress: the password and the authenticator app are being set up.
    Enrolling,
    /// The password was right; the authenticator app's code is owed.
    SecondFactor,
    /// Signed in: the console's routes answer.
    Active,
}

impl StaffPhase {
    /// Every phase.
    pub const ALL: [StaffPhase; 3] = [Self::Enrolling, Self::SecondFactor, Self::Active];

    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Enrolling => "enrolling",
            Self::SecondFactor => "second_factor",
            Self::Active => "active",
        }
    }

    /// The inverse of [`StaffPhase::as_str`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Lifetimes of staff sessions (`[staff]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffSessionPolicy {
    /// A session ends this many seconds after its sign-in, however active (one shift).
    pub absolute_secs: u64,
    /// A session ends after this many seconds without a request.
    pub idle_secs: u64,
    /// Seconds a half-done sign-in (password proved, code owed) or enrolment stays open.
    pub pending_secs: u64,
}

impl Default for StaffSessionPolicy {
    fn default() -> Self {
        Self {
            absolute_secs: 8 * 3600,
            idle_secs: 30 * 60,
            pending_secs: 10 * 60,
        }
    }
}

/// Why a session policy cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "staff session lifetimes must be at least 60 seconds, and the idle timeout no longer than the absolute lifetime"
)]
pub struct StaffPolicyError;

/// Seconds as a signed time span (saturating).
fn span(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

impl StaffSessionPolicy {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), StaffPolicyError> {
        let ok = self.absolute_secs >= 60
            && self.idle_secs >= 60
            && self.pending_secs >= 60
            && self.idle_secs <= self.absolute_secs;
        ok.then_some(()).ok_or(StaffPolicyError)
    }

    /// When a session signed in at `created_at` ends, however active.
    pub fn absolute_end(&self, created_at: i64) -> i64 {
        created_at.saturating_add(span(self.absolute_secs))
    }

    /// The idle expiry of an active session used at `now`: the idle timeout from now, never
    /// past its absolute end.
    pub fn idle_expiry(&self, absolute_end: i64, now: i64) -> i64 {
        now.saturating_add(span(self.idle_secs)).min(absolute_end)
    }

    /// The expiry of a half-done sign-in or enrolment opened at `now`, never past `limit`.
    pub fn pending_expiry(&self, now: i64, limit: i64) -> i64 {
        now.saturating_add(span(self.pending_secs)).min(limit)
    }
}

/// Whether a session with these expiries is alive at `now`.
pub fn session_alive(expires_at: i64, absolute_expires_at: i64, now: i64) -> bool {
    now < expires_at && now < absolute_expires_at
}

/// Where a staff account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffStatus {
    /// Added or reset: waits for the enrolment with its one-time code.
    Enrolling,
    /// Enrolled (password and authenticator app): may sign in.
    Active,
    /// Disabled: cannot sign in; a reset brings the account back through a new enrolment.
    Disabled,
}

impl StaffStatus {
    /// The stable name the CLI shows.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Enrolling => "enrolling",
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// Where an account stands: disabled wins; without a password or an authenticator app it still
/// has to enrol.
pub fn status(enabled: bool, has_password: bool, second_factors: usize) -> StaffStatus {
    if !enabled {
        StaffStatus::Disabled
    } else if !has_password || second_factors == 0 {
        StaffStatus::Enrolling
    } else {
        StaffStatus::Active
    }
}

/// Whether an account in `status` may sign in with a password (staff must have a second
/// factor, so an account still enrolling signs in only through its enrolment code).
pub fn may_sign_in(status: StaffStatus) -> bool {
    status == StaffStatus::Active
}

/// Whether an account in `status` may enrol (disabled accounts may not, even with a live code).
pub fn may_enrol(status: StaffStatus) -> bool {
    status == StaffStatus::Enrolling
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_staff_and_admins_do_what_helpdesk_does() {
        assert_eq!(may_manage_staff(StaffRole::Admin), Ok(()));
        assert_eq!(
            may_manage_staff(StaffRole::Helpdesk),
            Err(StaffRefusal::InsufficientRole {
                needed: StaffRole::Admin
            })
        );
        assert_eq!(require(StaffRole::Admin, StaffRole::Helpdesk), Ok(()));
        assert_eq!(require(StaffRole::Helpdesk, StaffRole::Helpdesk), Ok(()));
        for r in StaffRole::ALL {
            assert_eq!(StaffRole::from_name(r.as_str()), Some(r));
        }
        assert_eq!(StaffRole::from_name("root"), None);
    }

    #[test]
    fn logins_are_lower_case_and_checked() {
        assert_eq!(parse_login("  Alice "), Ok("alice".to_owned()));
        assert_eq!(parse_login("ＡＬＩＣＥ"), Ok("alice".to_owned()));
        assert_eq!(parse_login("s.tanaka-2"), Ok("s.tanaka-2".to_owned()));
        assert_eq!(parse_login("a"), Err(StaffLoginError::Length));
        assert_eq!(parse_login(&"a".repeat(33)), Err(StaffLoginError::Length));
        assert_eq!(parse_login("al ice"), Err(StaffLoginError::Characters));
        assert_eq!(parse_login("田中"), Err(StaffLoginError::Characters));
        assert_eq!(parse_login("2alice"), Err(StaffLoginError::Start));
        assert_eq!(display_name("  山田 太郎 "), Ok("山田 太郎".to_owned()));
        assert_eq!(display_name(" "), Err(DisplayNameError));
        assert_eq!(display_name("a\nb"), Err(DisplayNameError));
    }

    #[test]
    fn enrolment_codes_round_trip_through_what_people_type() {
        let code = format_enrolment_code(&[0xff; ENROLMENT_CODE_BYTES]);
        assert_eq!(code, "ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        let code = format_enrolment_code(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(code, "0000-0000-0000-0001");
        let code = format_enrolment_code(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let canonical = code.replace('-', "");
        assert_eq!(canonical.len(), ENROLMENT_CODE_LEN);
        assert_eq!(normalize_enrolment_code(&code), Some(canonical.clone()));
        assert_eq!(
            normalize_enrolment_code(&code.to_lowercase().replace('-', " ")),
            Some(canonical)
        );
        assert_eq!(
            normalize_enrolment_code("OOOO-IIII-LLLL-0000"),
            Some("0000111111110000".to_owned())
        );
        assert_eq!(normalize_enrolment_code("ZZZZ-ZZZZ-ZZZZ"), None);
        assert_eq!(normalize_enrolment_code("UUUU-ZZZZ-ZZZZ-ZZZZ"), None);
        assert_eq!(normalize_enrolment_code("ZZZZ-ZZZZ-ZZZZ-ZZZZ-Z"), None);
    }

    #[test]
    fn an_enrolment_code_works_for_an_hour_and_once() {
        let issued = 1_000;
        let expires = issued + ENROLMENT_CODE_TTL_SECS;
        assert_eq!(
            enrolment_code_state(expires, None, expires - 1),
            EnrolmentCodeState::Usable
        );
        assert_eq!(
            enrolment_code_state(expires, None, expires),
            EnrolmentCodeState::Expired
        );
        assert_eq!(
            enrolment_code_state(expires, Some(issued + 5), issued + 6),
            EnrolmentCodeState::Used
        );
    }

    #[test]
    fn sessions_end_when_idle_or_at_the_end_of_the_shift() {
        let p = StaffSessionPolicy::default();
        assert_eq!((p.absolute_secs, p.idle_secs), (8 * 3600, 30 * 60));
        p.validate().unwrap();
        let created = 10_000;
        let end = p.absolute_end(created);
        assert_eq!(end, created + 8 * 3600);
        assert_eq!(p.idle_expiry(end, created), created + 1800);
        // Late in the shift the idle timeout is cut at the absolute end.
        assert_eq!(p.idle_expiry(end, end - 60), end);
        assert!(session_alive(created + 1800, end, created + 1799));
        assert!(!session_alive(created + 1800, end, created + 1800));
        assert!(!session_alive(end + 100, end, end));
        assert_eq!(p.pending_expiry(created, end), created + 600);
        assert_eq!(p.pending_expiry(created, created + 5), created + 5);
        let bad = StaffSessionPolicy {
            idle_secs: 9 * 3600,
            ..p
        };
        assert_eq!(bad.validate(), Err(StaffPolicyError));
        for ph in StaffPhase::ALL {
            assert_eq!(StaffPhase::from_name(ph.as_str()), Some(ph));
        }
    }

    #[test]
    fn only_enrolled_enabled_accounts_sign_in() {
        assert_eq!(status(true, true, 1), StaffStatus::Active);
        assert_eq!(status(true, false, 0), StaffStatus::Enrolling);
        assert_eq!(status(true, true, 0), StaffStatus::Enrolling);
        assert_eq!(status(false, true, 1), StaffStatus::Disabled);
        assert!(may_sign_in(StaffStatus::Active));
        assert!(!may_sign_in(StaffStatus::Enrolling));
        assert!(!may_sign_in(StaffStatus::Disabled));
        assert!(may_enrol(StaffStatus::Enrolling));
        assert!(!may_enrol(StaffStatus::Disabled));
        assert!(!may_enrol(StaffStatus::Active));
    }
}
