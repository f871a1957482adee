//! The server's side of authenticator-app codes: opening sealed secrets and checking a code
//! against every device of a member. Shared by the routes and `tobira bench totp`, so the
//! benchmark measures the code the server runs.

use super::SecretKey;
use super::error::AppError;
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
/// device is tried inside the window, so a success takes as long whichever device matched; only
/// a code that fits none is looked for outside the window, for the message.
pub fn check_devices<'a>(
    key: &SecretKey,
    policy: &TotpPolicy,
    credentials: &'a [TotpCredential],
    code: &str,
    now: i64,
) -> Result<(CodeCheck, Option<&'a TotpCredential>), AppError> {
    let secrets = credentials
        .iter()
        .map(|c| open_secret(key, c.member_id, &c.sealed_secret))
        .collect::<Result<Vec<_>, _>>()?;
    let mut best = (CodeCheck::Malformed, None);
    let mut keep = |outcome: CodeCheck, cred: &'a TotpCredential| {
        if outcome.best(best.0) == outcome && outcome != best.0 {
            best = (outcome, Some(cred));
        }
    };
    let mut decided = false;
    for (cred, secret) in credentials.iter().zip(&secrets) {
        let window = totp::check_window(
            policy,
            &cred.params,
            secret,
            code,
            unix(now),
            cred.last_used_step,
        )?;
        if let Some(outcome) = window {
            decided |= outcome != CodeCheck::Malformed;
            keep(outcome, cred);
        }
    }
    if !decided {
        for (cred, secret) in credentials.iter().zip(&secrets) {
            keep(
                totp::check_outside(policy, &cred.params, secret, code, unix(now))?,
                cred,
            );
        }
    }
    Ok(best)
}

// issue 13
/// What a staff member's sealed TOTP secret is bound to: the staff row, so a secret can never be
/// opened as a member's (or another staff member's).
pub fn staff_seal_context(staff_id: crate::store::StaffId) -> Vec<u8> {
    format!("tobira/totp/staff:{staff_id}").into_bytes()
}

/// Opens a sealed secret of the staff member `staff_id`.
pub fn open_staff_secret(
    key: &SecretKey,
    staff_id: crate::store::StaffId,
    sealed: &[u8],
) -> Result<TotpSecret, AppError> {
    let bytes = key.open(sealed, &staff_seal_context(staff_id))?;
    Ok(TotpSecret::from_bytes(bytes.to_vec()))
}
