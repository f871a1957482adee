//! Authenticator-app one-time passwords (RFC 6238 TOTP): the policy, the otpauth URI, and
//! checking a code against a secret — pure functions over bytes and Unix times.
//!
//! Drawing random secrets, encrypting them and remembering the last used step belong to the
//! server and the store; this module only decides what a code means.

use std::fmt;

use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

/// Bytes in a secret the server generates (160 bits, what RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

/// Authenticator apps a member may register at most.
pub const MAX_DEVICES: usize = 5;

/// The longest device name, in characters.
pub const DEVICE_NAME_MAX_CHARS: usize = 32;

/// The HMAC of a TOTP policy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum TotpAlgorithm {
    /// HMAC-SHA1: what Google Authenticator, Microsoft Authenticator and FreeOTP all accept.
    #[default]
    #[serde(rename = "SHA1")]
    Sha1,
    /// HMAC-SHA256.
    #[serde(rename = "SHA256")]
    Sha256,
    /// HMAC-SHA512.
    #[serde(rename = "SHA512")]
    Sha512,
}

impl TotpAlgorithm {
    /// Every algorithm.
    pub const ALL: [TotpAlgorithm; 3] = [Self::Sha1, Self::Sha256, Self::Sha512];

    /// The name used in otpauth URIs, the database and the configuration.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// The inverse of [`TotpAlgorithm::as_str`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    fn totp_rs(self) -> Algorithm {
        match self {
            Self::Sha1 => Algorithm::SHA1,
            Self::Sha256 => Algorithm::SHA256,
            Self::Sha512 => Algorithm::SHA512,
        }
    }
}

/// The parameters a device is enrolled with. They are stored with each device, so changing the
/// policy later affects new enrollments only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpParams {
    /// The HMAC.
    pub algorithm: TotpAlgorithm,
    /// Digits in a code (6–8).
    pub digits: u8,
    /// Seconds per step.
    pub period_secs: u64,
}

impl Default for TotpParams {
    fn default() -> Self {
        Self {
            algorithm: TotpAlgorithm::Sha1,
            digits: 6,
            period_secs: 30,
        }
    }
}

/// The operator's TOTP policy (`[totp]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TotpPolicy {
    /// The issuer shown in the app (no `:`).
    pub issuer: String,
    /// The HMAC for new devices.
    pub algorithm: TotpAlgorithm,
    /// Digits for new devices (6–8).
    pub digits: u8,
    /// Seconds per step for new devices.
    pub period_secs: u64,
    /// Steps either side of now that are accepted (clock drift, typing time).
    pub skew_steps: u16,
    /// Steps either side of the accepted window in which a matching code is recognised as
    /// expired or early (and refused with its own message) rather than simply wrong.
    pub outside_window_steps: u16,
}

impl Default for TotpPolicy {
    fn default() -> Self {
        let p = TotpParams::default();
        Self {
            issuer: "tobira".to_owned(),
            algorithm: p.algorithm,
            digits: p.digits,
            period_secs: p.period_secs,
            skew_steps: 1,
            outside_window_steps: 10,
        }
    }
}

/// Why a policy, secret or account name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// The issuer is empty or contains `:`.
    #[error("the TOTP issuer must be non-empty and must not contain ':'")]
    Issuer,
    /// The account name is empty or contains `:`.
    #[error("the TOTP account name must be non-empty and must not contain ':'")]
    Account,
    /// Digits outside 6–8.
    #[error("TOTP digits must be 6, 7 or 8")]
    Digits,
    /// A period of 0 or over an hour.
    #[error("the TOTP period must be 1–3600 seconds")]
    Period,
    /// A skew so wide that codes live for minutes.
    #[error("TOTP skew_steps must be 0–10 and outside_window_steps 0–100")]
    Window,
    /// Under 128 bits.
    #[error("the TOTP secret is too short")]
    SecretTooShort,
    /// totp-rs refused the parameters for another reason.
    #[error("TOTP parameters refused: {0}")]
    Refused(String),
}

impl TotpPolicy {
    /// The parameters new devices are enrolled with.
    pub fn params(&self) -> TotpParams {
        TotpParams {
            algorithm: self.algorithm,
            digits: self.digits,
            period_secs: self.period_secs,
        }
    }

    /// Checks every field (run once when the configuration is read).
    pub fn validate(&self) -> Result<(), TotpError> {
        if self.issuer.trim().is_empty() || self.issuer.contains(':') {
            return Err(TotpError::Issuer);
        }
        self.params().validate()?;
        if self.skew_steps > 10 || self.outside_window_steps > 100 {
            return Err(TotpError::Window);
        }
        Ok(())
    }
}

impl TotpParams {
    /// Checks digits and period.
    pub fn validate(&self) -> Result<(), TotpError> {
        if !(6..=8).contains(&self.digits) {
            return Err(TotpError::Digits);
        }
        if !(1..=3600).contains(&self.period_secs) {
            return Err(TotpError::Period);
        }
        Ok(())
    }

    fn totp(
        &self,
        secret: &TotpSecret,
        issuer: Option<&str>,
        account: &str,
    ) -> Result<Totp, TotpError> {
        self.validate()?;
        if secret.0.len() < 16 {
            return Err(TotpError::SecretTooShort);
        }
        let mut b = Builder::new()
            .with_algorithm(self.algorithm.totp_rs())
            .with_digits(self.digits)
            .with_step_duration(self.period_secs)
            .with_skew(0)
            .with_secret(secret.0.to_vec());
        if let Some(issuer) = issuer {
            b = b.with_issuer(Some(issuer)).with_account_name(account);
        }
        b.build().map_err(|e| TotpError::Refused(e.to_string()))
    }

    /// The step (counter) that contains `unix_time`.
    pub fn step_at(&self, unix_time: u64) -> u64 {
        unix_time / self.period_secs.max(1)
    }

    /// The code for `unix_time` (what the member's app shows then).
    pub fn code_at(&self, secret: &TotpSecret, unix_time: u64) -> Result<String, TotpError> {
        Ok(self.totp(secret, None, "")?.generate(unix_time).to_string())
    }
}

/// A TOTP secret in the clear. Wiped from memory when dropped; its `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// Wraps raw secret bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Reads a key as typed or as found in an otpauth URI: letters in either case, spaces,
    /// hyphens and `=` padding are accepted (totp-rs alone refuses all of them).
    pub fn from_base32(typed: &str) -> Option<Self> {
        let clean: String = typed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '=' | '\u{3000}'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if clean.is_empty() {
            return None;
        }
        totp_rs::Secret::try_from_base32(&clean)
            .ok()
            .map(|s| Self::from_bytes(s.as_bytes().to_vec()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding: the key a member types ("Can't scan?").
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.to_vec()).to_base32()
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// The `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…` URI an app scans.
pub fn otpauth_uri(
    params: &TotpParams,
    secret: &TotpSecret,
    issuer: &str,
    account: &str,
) -> Result<String, TotpError> {
    if issuer.trim().is_empty() || issuer.contains(':') {
        return Err(TotpError::Issuer);
    }
    if account.is_empty() || account.contains(':') {
        return Err(TotpError::Account);
    }
    params
        .totp(secret, Some(issuer), account)?
        .to_url()
        .map_err(|e| TotpError::Refused(e.to_string()))
}

/// What a submitted code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Valid for `step`, inside the accepted window and newer than the last used step.
    Accepted {
        /// The matched step; store it as the device's last used step.
        step: u64,
    },
    /// Valid inside the window, but that step (or a later one) was already used.
    Replayed,
    /// The code of a step before the window: typed too late.
    Expired {
        /// How many steps before now.
        steps_behind: u64,
    },
    /// The code of a step after the window: the device's clock runs ahead.
    Early {
        /// How many steps after now.
        steps_ahead: u64,
    },
    /// Not a code of this device near now.
    Wrong,
    /// Not `digits` digits.
    Malformed,
}

impl CodeCheck {
    /// How useful an outcome is when several devices are tried: the best one is reported.
    fn rank(&self) -> u8 {
        match self {
            Self::Accepted { .. } => 6,
            Self::Replayed => 5,
            Self::Expired { .. } => 4,
            Self::Early { .. } => 3,
            Self::Wrong => 2,
            Self::Malformed => 1,
        }
    }

    /// The more informative of two outcomes (for a member with several devices).
    pub fn best(self, other: CodeCheck) -> CodeCheck {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// Whether the attempt counts as a failure for the lockout policy (a malformed entry is
    /// refused before any secret is tried, so it does not).
    pub fn is_failure(&self) -> bool {
        !matches!(self, Self::Accepted { .. } | Self::Malformed)
    }
}

/// Turns what a member typed into the code's digits: spaces and hyphens are dropped and
/// full-width digits (common with Japanese input methods) become ASCII.
pub fn normalize_code(typed: &str, digits: u8) -> Option<String> {
    let mut out = String::with_capacity(usize::from(digits));
    for c in typed.chars() {
        match c {
            '0'..='9' => out.push(c),
            '０'..='９' => out.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            ' ' | '-' | '\u{3000}' => {}
            _ => return None,
        }
    }
    (out.len() == usize::from(digits)).then_some(out)
}

/// Checks `typed` against one device at `now` (Unix seconds).
///
/// The window `now ± skew_steps` is searched first; a step at or before `last_used_step` is a
/// replay. Outside it, up to `outside_window_steps` further either side, a match is reported as
/// expired or early so the member gets a useful message; nothing outside the window is accepted.
pub fn check_code(
    policy: &TotpPolicy,
    params: &TotpParams,
    secret: &TotpSecret,
    typed: &str,
    now: u64,
    last_used_step: Option<u64>,
) -> Result<CodeCheck, TotpError> {
    match check_window(policy, params, secret, typed, now, last_used_step)? {
        Some(outcome) => Ok(outcome),
        None => check_outside(policy, params, secret, typed, now),
    }
}

/// The first half of [`check_code`]: `Accepted`, `Replayed` or `Malformed` when the code
/// decides inside the window, `None` when it matches no step there. A member with several
/// devices has every device tried here first, and only a code that fits none is looked for
/// outside the window (that search is only for a better message).
pub fn check_window(
    policy: &TotpPolicy,
    params: &TotpParams,
    secret: &TotpSecret,
    typed: &str,
    now: u64,
    last_used_step: Option<u64>,
) -> Result<Option<CodeCheck>, TotpError> {
    let Some(code) = normalize_code(typed, params.digits) else {
        return Ok(Some(CodeCheck::Malformed));
    };
    let totp = params.totp(secret, None, "")?;
    let origin = params.step_at(now);
    let skew = u64::from(policy.skew_steps);
    let mut replayed = false;
    for step in origin.saturating_sub(skew)..=origin.saturating_add(skew) {
        if totp
            .check(&code, step.saturating_mul(params.period_secs))
            .is_some()
        {
            if last_used_step.is_some_and(|last| step <= last) {
                replayed = true;
            } else {
                return Ok(Some(CodeCheck::Accepted { step }));
            }
        }
    }
    Ok(replayed.then_some(CodeCheck::Replayed))
}

/// The second half of [`check_code`]: whether a code that fits no step of the window is one of
/// a step before it (`Expired`) or after it (`Early`), else `Wrong`.
pub fn check_outside(
    policy: &TotpPolicy,
    params: &TotpParams,
    secret: &TotpSecret,
    typed: &str,
    now: u64,
) -> Result<CodeCheck, TotpError> {
    let Some(code) = normalize_code(typed, params.digits) else {
        return Ok(CodeCheck::Malformed);
    };
    let totp = params.totp(secret, None, "")?;
    let matches = |step: u64| {
        totp.check(&code, step.saturating_mul(params.period_secs))
            .is_some()
    };
    let origin = params.step_at(now);
    let skew = u64::from(policy.skew_steps);
    for d in skew + 1..=skew + u64::from(policy.outside_window_steps) {
        if origin >= d && matches(origin - d) {
            return Ok(CodeCheck::Expired { steps_behind: d });
        }
        if matches(origin.saturating_add(d)) {
            return Ok(CodeCheck::Early { steps_ahead: d });
        }
    }
    Ok(CodeCheck::Wrong)
}

/// Why a device name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeviceNameError {
    /// Empty after trimming, or over 32 characters.
    #[error("a device name has 1–32 characters")]
    Length,
    /// Contains control characters.
    #[error("a device name cannot contain control characters")]
    Characters,
}

impl DeviceNameError {
    /// The rule's stable name (`length`, `characters`).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::Characters => "characters",
        }
    }
}

/// Checks and trims a device name ("デバイス名"): 1–32 characters, no control characters.
pub fn device_name(typed: &str) -> Result<String, DeviceNameError> {
    let name = typed.trim();
    let n = name.chars().count();
    if n == 0 || n > DEVICE_NAME_MAX_CHARS {
        return Err(DeviceNameError::Length);
    }
    if name.chars().any(char::is_control) {
        return Err(DeviceNameError::Characters);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(alg: TotpAlgorithm) -> TotpSecret {
        // RFC 6238 Appendix B: the ASCII seed "12345678901234567890" repeated to the hash size.
        let base = b"12345678901234567890";
        let len = match alg {
            TotpAlgorithm::Sha1 => 20,
            TotpAlgorithm::Sha256 => 32,
            TotpAlgorithm::Sha512 => 64,
        };
        TotpSecret::from_bytes(base.iter().copied().cycle().take(len).collect())
    }

    #[test]
    fn rfc6238_appendix_b_vectors() {
        const VECTORS: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in VECTORS {
            for (alg, want) in [
                (TotpAlgorithm::Sha1, sha1),
                (TotpAlgorithm::Sha256, sha256),
                (TotpAlgorithm::Sha512, sha512),
            ] {
                let p = TotpParams {
                    algorithm: alg,
                    digits: 8,
                    period_secs: 30,
                };
                assert_eq!(p.code_at(&seed(alg), t).unwrap(), want, "{alg:?} at {t}");
            }
        }
    }

    fn six() -> (TotpPolicy, TotpParams, TotpSecret) {
        let policy = TotpPolicy::default();
        (policy.clone(), policy.params(), seed(TotpAlgorithm::Sha1))
    }

    #[test]
    fn the_window_replay_and_outside_codes() {
        let (policy, p, s) = six();
        let now = 1_800_000_000u64;
        let step = p.step_at(now);
        let code = |k: i64| p.code_at(&s, (step as i64 + k) as u64 * 30).unwrap();
        let check = |c: &str, last| check_code(&policy, &p, &s, c, now, last).unwrap();
        assert_eq!(check(&code(0), None), CodeCheck::Accepted { step });
        assert_eq!(
            check(&code(-1), None),
            CodeCheck::Accepted { step: step - 1 }
        );
        assert_eq!(
            check(&code(1), None),
            CodeCheck::Accepted { step: step + 1 }
        );
        assert_eq!(check(&code(0), Some(step)), CodeCheck::Replayed);
        assert_eq!(check(&code(-1), Some(step)), CodeCheck::Replayed);
        assert_eq!(
            check(&code(1), Some(step)),
            CodeCheck::Accepted { step: step + 1 }
        );
        assert_eq!(
            check(&code(-2), None),
            CodeCheck::Expired { steps_behind: 2 }
        );
        assert_eq!(
            check(&code(-11), None),
            CodeCheck::Expired { steps_behind: 11 }
        );
        assert_eq!(check(&code(3), None), CodeCheck::Early { steps_ahead: 3 });
        assert_eq!(check(&code(-12), None), CodeCheck::Wrong);
        assert_eq!(check("12345", None), CodeCheck::Malformed);
        assert_eq!(check("abcdef", None), CodeCheck::Malformed);
        let spaced = format!("{} {}", &code(0)[..3], &code(0)[3..]);
        assert_eq!(check(&spaced, None), CodeCheck::Accepted { step });
        let strict = TotpPolicy {
            skew_steps: 0,
            ..policy.clone()
        };
        assert_eq!(
            check_code(&strict, &p, &s, &code(-1), now, None).unwrap(),
            CodeCheck::Expired { steps_behind: 1 }
        );
    }

    #[test]
    fn outcomes_rank_and_count() {
        assert_eq!(
            CodeCheck::Wrong.best(CodeCheck::Accepted { step: 1 }),
            CodeCheck::Accepted { step: 1 }
        );
        assert_eq!(
            CodeCheck::Expired { steps_behind: 2 }.best(CodeCheck::Wrong),
            CodeCheck::Expired { steps_behind: 2 }
        );
        assert!(CodeCheck::Wrong.is_failure());
        assert!(CodeCheck::Replayed.is_failure());
        assert!(!CodeCheck::Malformed.is_failure());
        assert!(!CodeCheck::Accepted { step: 0 }.is_failure());
    }

    #[test]
    fn codes_are_normalised() {
        assert_eq!(
            normalize_code("１２３ ４５６", 6).as_deref(),
            Some("123456")
        );
        assert_eq!(normalize_code("123-456", 6).as_deref(), Some("123456"));
        assert_eq!(normalize_code("12345", 6), None);
        assert_eq!(normalize_code("12345a", 6), None);
        assert_eq!(normalize_code("12345678", 8).as_deref(), Some("12345678"));
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let (_, p, s) = six();
        let uri = otpauth_uri(&p, &s, "Kenpo Portal", "demo0001").unwrap();
        assert_eq!(
            uri,
            format!(
                "otpauth://totp/Kenpo%20Portal:demo0001?secret={}&issuer=Kenpo%20Portal",
                s.to_base32()
            )
        );
        let p8 = TotpParams {
            algorithm: TotpAlgorithm::Sha256,
            digits: 8,
            period_secs: 60,
        };
        let uri = otpauth_uri(&p8, &s, "X", "a.b@c").unwrap();
        assert!(
            uri.contains("digits=8")
                && uri.contains("algorithm=SHA256")
                && uri.contains("period=60"),
            "{uri}"
        );
        assert_eq!(otpauth_uri(&p, &s, "a:b", "x"), Err(TotpError::Issuer));
        assert_eq!(otpauth_uri(&p, &s, "a", "x:y"), Err(TotpError::Account));
        let short = TotpSecret::from_bytes(vec![1; 10]);
        assert_eq!(p.code_at(&short, 0), Err(TotpError::SecretTooShort));
    }

    #[test]
    fn typed_keys_are_normalised() {
        let s = seed(TotpAlgorithm::Sha1);
        let b32 = s.to_base32();
        assert_eq!(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let typed = format!("{} ", b32.to_lowercase()).replace("GEZ", "gez ");
        assert_eq!(TotpSecret::from_base32(&typed), Some(s.clone()));
        assert_eq!(TotpSecret::from_base32(&format!("{b32}====")), Some(s));
        assert_eq!(TotpSecret::from_base32("!!"), None);
        assert_eq!(TotpSecret::from_base32(""), None);
        assert_eq!(
            format!("{:?}", seed(TotpAlgorithm::Sha1)),
            "TotpSecret(<redacted>)"
        );
    }

    #[test]
    fn policy_and_names_are_checked() {
        assert_eq!(TotpPolicy::default().validate(), Ok(()));
        let bad = |f: fn(&mut TotpPolicy)| {
            let mut p = TotpPolicy::default();
            f(&mut p);
            p.validate()
        };
        assert_eq!(bad(|p| p.issuer = "a:b".into()), Err(TotpError::Issuer));
        assert_eq!(bad(|p| p.digits = 5), Err(TotpError::Digits));
        assert_eq!(bad(|p| p.period_secs = 0), Err(TotpError::Period));
        assert_eq!(bad(|p| p.skew_steps = 11), Err(TotpError::Window));
        assert_eq!(device_name("  iPhone 15 "), Ok("iPhone 15".to_owned()));
        assert_eq!(device_name(&"あ".repeat(32)), Ok("あ".repeat(32)));
        assert_eq!(device_name(&"あ".repeat(33)), Err(DeviceNameError::Length));
        assert_eq!(device_name("   "), Err(DeviceNameError::Length));
        assert_eq!(device_name("a\u{7}b"), Err(DeviceNameError::Characters));
        for a in TotpAlgorithm::ALL {
            assert_eq!(TotpAlgorithm::from_name(a.as_str()), Some(a));
        }
    }
}
