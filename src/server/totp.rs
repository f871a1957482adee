//! The server's side of authenticator-app codes: opening sealed secrets and checking a code
//! against every device of a member. Shared by the routes and `tobira bench totp`, so the
//! benchmark measures the code the server runs.

use super::error::AppError;
use super::SecretKey;
use crate::domain::totp::{self, CodeCheck};
use crate::domain::{TotpPolicy, TotpSecret};
use crate::store::{MemberId, TotpCredential};

/// What a sealed TOTP secret is bound to: its owner, so a row copied to another member fails.
pub fn seal_context(member_id: MemberId) -> Vec<u8> {
    format!("tobira/totp/member:{member_id}").into_bytes()
}

/// Opens a sealed secret of `member_id`.
pub fn open_secret(
    key: &SecretKey,
    member_id: MemberId,
    sealed: &[u8],
) -> Result<TotpSecret, AppError> {
    let bytes = key.open(sealed, &seal_context(member_id))?;
    Ok(TotpSecret::from_bytes(bytes.to_vec()))
}

/// Unix seconds as the unsigned time TOTP counts from (the clock never runs before 1970 here).
pub fn unix(now: i64) -> u64 {
    u64::try_from(now).unwrap_or(0)
}

/// Checks `code` against every device and keeps the most useful outcome and its device. Every
/// device is tried, so the answer takes as long whichever device (if any) matched.
pub fn check_devices<'a>(
    key: &SecretKey,
    policy: &TotpPolicy,
    credentials: &'a [TotpCredential],
    code: &str,
    now: i64,
) -> Result<(CodeCheck, Option<&'a TotpCredential>), AppError> {
    let mut best = (CodeCheck::Malformed, None);
    for cred in credentials {
        let secret = open_secret(key, cred.member_id, &cred.sealed_secret)?;
        let outcome = totp::check_code(
            policy,
            &cred.params,
            &secret,
            code,
            unix(now),
            cred.last_used_step,
        )?;
        if outcome.best(best.0) == outcome && outcome != best.0 {
            best = (outcome, Some(cred));
        }
    }
    Ok(best)
}
