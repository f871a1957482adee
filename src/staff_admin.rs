//! `tobira admin staff …`: adding, listing, disabling and resetting helpdesk staff accounts from
//! the server's command line. Each change is one store transaction with its audit entry (actor
//! `operator`); codes are shown once and stored only as keyed hashes.

use zeroize::Zeroizing;

use crate::api::staff::StaffAccountView;
use crate::domain::staff::{self, DisplayNameError, StaffLoginError};
use crate::domain::{Actor, AuditAction, StaffRole};
use crate::server::SecretKey;
use crate::server::secrets::HashError;
use crate::server::staff_enrolment;
use crate::store::{AuditEntry, NewStaff, StaffAccount, Store, StoreError};

/// Why a staff command failed.
#[derive(Debug, thiserror::Error)]
pub enum StaffAdminError {
    /// The login breaks a rule.
    #[error("invalid login: {0}")]
    Login(#[from] StaffLoginError),
    /// The display name breaks a rule.
    #[error("invalid name: {0}")]
    Name(#[from] DisplayNameError),
    /// Another account has that login.
    #[error("a staff account {0} already exists")]
    Taken(String),
    /// No account has that login.
    #[error("no staff account {0}")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
    /// No randomness for the code.
    #[error(transparent)]
    Random(#[from] HashError),
}

impl From<StoreError> for StaffAdminError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// A one-time enrolment code just issued: shown once, then only its hash remains.
pub struct IssuedCode {
    /// The account it is for.
    pub account: StaffAccount,
    /// The code as the staff member types it (`XXXX-XXXX-XXXX-XXXX`).
    pub code: Zeroizing<String>,
    /// Dead at and after, Unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCode")
            .field("login", &self.account.login)
            .field("code", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

fn operator_audit(at: i64, action: AuditAction, detail: String) -> AuditEntry {
    AuditEntry::new(at, Actor::Operator, action, None, detail)
}

async fn existing(store: &dyn Store, typed: &str) -> Result<StaffAccount, StaffAdminError> {
    let login = staff::normalize_login(typed);
    store
        .staff_by_login(&login)
        .await?
        .ok_or(StaffAdminError::NotFound(login))
}

/// Adds a staff account (the display name defaults to the login) and issues its enrolment code.
pub async fn add(
    store: &dyn Store,
    key: &SecretKey,
    typed_login: &str,
    role: StaffRole,
    name: Option<&str>,
    now: i64,
) -> Result<IssuedCode, StaffAdminError> {
    let login = staff::parse_login(typed_login)?;
    let display_name = staff::display_name(name.unwrap_or(&login))?;
    let (code, record) = staff_enrolment::issue(key, &login, now)?;
    let new = NewStaff {
        login: login.clone(),
        display_name,
        role,
        at: now,
    };
    let audit = operator_audit(
        now,
        AuditAction::StaffAdded,
        format!("{login} ({}); enrolment code issued", role.as_str()),
    );
    let account = match store.add_staff(&new, &record, &audit).await {
        Ok(a) => a,
        Err(StoreError::StaffLoginTaken) => return Err(StaffAdminError::Taken(login)),
        Err(e) => return Err(e.into()),
    };
    Ok(IssuedCode {
        account,
        code,
        expires_at: record.expires_at,
    })
}

/// Every staff account as `list` shows it (never a hash or a secret).
pub async fn list(store: &dyn Store) -> Result<Vec<StaffAccountView>, StaffAdminError> {
    Ok(crate::server::staff_auth::account_views(store).await?)
}

/// Disables an account; returns how many of its sessions ended.
pub async fn disable(
    store: &dyn Store,
    typed_login: &str,
    now: i64,
) -> Result<u64, StaffAdminError> {
    let account = existing(store, typed_login).await?;
    let audit = operator_audit(
        now,
        AuditAction::StaffDisabled,
        format!("{}: sessions ended", account.login),
    );
    Ok(store.disable_staff(account.id, &audit, now).await?)
}

/// Resets an account to a new enrolment (password, authenticator apps, sessions and failures
/// gone; enabled again) and issues its new code; also returns how many sessions ended.
pub async fn reset(
    store: &dyn Store,
    key: &SecretKey,
    typed_login: &str,
    now: i64,
) -> Result<(IssuedCode, u64), StaffAdminError> {
    let account = existing(store, typed_login).await?;
    let (code, record) = staff_enrolment::issue(key, &account.login, now)?;
    let audit = operator_audit(
        now,
        AuditAction::StaffReset,
        format!(
            "{}: password, authenticator apps and sessions removed; new enrolment code issued",
            account.login
        ),
    );
    let ended = store.reset_staff(account.id, &record, &audit, now).await?;
    let account = store.staff(account.id).await?.unwrap_or(account);
    Ok((
        IssuedCode {
            account,
            code,
            expires_at: record.expires_at,
        },
        ended,
    ))
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
fn utc(at: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(at) {
        Ok(t) => format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()),
        Err(_) => at.to_string(),
    }
}

/// What `add` and `reset` print: the code, once, and until when it works.
pub fn format_issued(issued: &IssuedCode, what: &str) -> String {
    let a = &issued.account;
    format!(
        "{what} staff account {} ({}).\n\
         Enrolment code: {}\n\
         It works once, until {} (1 hour), and is not shown again: hand it to {} in person.\n\
         They enrol with it in `tobira helpdesk`: set a password, then add an authenticator app or a passkey.\n",
        a.login,
        a.role.as_str(),
        issued.code.as_str(),
        utc(issued.expires_at),
        a.display_name,
    )
}

/// What `list` prints: one line per account, never a hash, a secret or a code.
pub fn format_list(accounts: &[StaffAccountView]) -> String {
    if accounts.is_empty() {
        return "No staff accounts. Add the first admin: tobira admin staff add USER --role admin\n"
            .to_owned();
    }
    let width = accounts
        .iter()
        .map(|a| a.login.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "{:<width$}  {:<8}  {:<9}  {:>4}  NAME\n",
        "LOGIN", "ROLE", "STATUS", "APPS"
    );
    for a in accounts {
        out.push_str(&format!(
            "{:<width$}  {:<8}  {:<9}  {:>4}  {}\n",
            a.login,
            a.role.as_str(),
            a.status.as_str(),
            a.second_factors,
            a.display_name
        ));
    }
    out
}
