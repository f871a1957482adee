//! [`FactorStore`] on PostgreSQL: authenticator apps, passkeys (and their ceremonies) and the email
//! method. The device cap and who may remove which factor are decided by
//! [`crate::domain::factors`], on counts read inside the transaction after it has locked the
//! member's row (`members::lock_member`): every change to a member's factors takes that lock
//! first, so two server processes adding or removing factors of one member at once queue, and
//! each counts what the other left. The replay guard needs no lock: it is one conditional UPDATE
//! ([`TAKE_STEP`]).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::flows::{clear_account_failures, mark_second_factor_passed};
use super::members::{expect_step, lock_member, member_after, set_step};
use super::{PgStore, corrupt, count_of, insert_audit, is_unique_violation, step_i64};
// `FactorRefusal` turns into a `StoreError` by the conversion in `sqlite/factors.rs`.
use crate::domain::factors;
use crate::domain::{Actor, Method, Step, TotpAlgorithm, TotpParams};
use crate::store::sql::{factors as sql, flows as flow_sql, members as member_sql};
use crate::store::{
    AuditEntry, CeremonyKind, CredentialId, EmailFactor, FactorStore, Member, MemberId,
    PasskeyCeremony, PasskeyCredential, PasskeyEnrollment, PasskeyUse, PendingTotp, StoreError,
    TotpConfirmation, TotpCredential, TotpUse,
};

/// The TOTP replay guard, a compare-and-set in one statement: `$1` step, `$2` at, `$3`
/// credential id, `$4` member id. Under READ COMMITTED a second UPDATE of the same row waits for
/// the first one's commit and then evaluates its WHERE again on the row as committed, so of two
/// requests (in any number of server processes) racing with one code exactly one takes the step.
const TAKE_STEP: &str = "UPDATE totp_credentials SET last_used_step = $1, last_used_at = $2 \
     WHERE id = $3 AND member_id = $4 AND (last_used_step IS NULL OR last_used_step < $1)";

/// The index that keeps one WebAuthn credential to one registration (`0004_passkey.sql`).
const CREDENTIAL_ID_UNIQUE: &str = "passkey_credentials_credential_id_key";

/// Whether `e` broke the named constraint.
fn violates(e: &sqlx::Error, constraint: &str) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.constraint() == Some(constraint))
}

fn params_from_row(row: &PgRow) -> Result<TotpParams, StoreError> {
    let algorithm: String = row.try_get("algorithm")?;
    let digits: i64 = row.try_get("digits")?;
    let period: i64 = row.try_get("period_secs")?;
    Ok(TotpParams {
        algorithm: TotpAlgorithm::from_name(&algorithm)
            .ok_or_else(|| corrupt("algorithm", &algorithm))?,
        digits: u8::try_from(digits).map_err(|_| corrupt("digits", &digits.to_string()))?,
        period_secs: u64::try_from(period).map_err(|_| corrupt("period", &period.to_string()))?,
    })
}

fn pending_from_row(row: &PgRow) -> Result<PendingTotp, StoreError> {
    Ok(PendingTotp {
        member_id: row.try_get("member_id")?,
        sealed_secret: row.try_get("secret")?,
        params: params_from_row(row)?,
        created_at: row.try_get("created_at")?,
    })
}

fn credential_from_row(row: &PgRow) -> Result<TotpCredential, StoreError> {
    let last: Option<i64> = row.try_get("last_used_step")?;
    Ok(TotpCredential {
        id: row.try_get("id")?,
        member_id: row.try_get("member_id")?,
        name: row.try_get("name")?,
        sealed_secret: row.try_get("secret")?,
        params: params_from_row(row)?,
        last_used_step: last
            .map(|s| u64::try_from(s).map_err(|_| corrupt("last_used_step", &s.to_string())))
            .transpose()?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

fn passkey_from_row(row: &PgRow) -> Result<PasskeyCredential, StoreError> {
    Ok(PasskeyCredential {
        id: row.try_get("id")?,
        member_id: row.try_get("member_id")?,
        name: row.try_get("name")?,
        credential_id: row.try_get("credential_id")?,
        passkey: row.try_get("passkey")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

fn ceremony_from_row(row: &PgRow) -> Result<PasskeyCeremony, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(PasskeyCeremony {
        flow_token_hash: row.try_get("flow_token_hash")?,
        kind: CeremonyKind::from_name(&kind).ok_or_else(|| corrupt("ceremony kind", &kind))?,
        member_id: row.try_get("member_id")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

async fn credential_in(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
    id: CredentialId,
) -> Result<TotpCredential, StoreError> {
    sqlx::query(sql::TOTP)
        .bind(id)
        .bind(member_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(credential_from_row)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

async fn passkey_in(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
    id: CredentialId,
) -> Result<PasskeyCredential, StoreError> {
    sqlx::query(sql::PASSKEY)
        .bind(id)
        .bind(member_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(passkey_from_row)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

/// Every second factor of the member, of any kind (authenticator apps, the email method,
/// passkeys): the removal rule counts these.
async fn second_factor_count(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
) -> Result<usize, StoreError> {
    count_of(
        &sqlx::query(sql::COUNT_ALL)
            .bind(member_id)
            .fetch_one(conn)
            .await?,
    )
}

/// A count of one kind of the member's devices (`statement` takes the member id as `$1`).
async fn device_count(
    conn: &mut sqlx::PgConnection,
    statement: &'static str,
    member_id: MemberId,
) -> Result<usize, StoreError> {
    count_of(
        &sqlx::query(statement)
            .bind(member_id)
            .fetch_one(conn)
            .await?,
    )
}

/// Whether the member has that device (`statement` binds `$1` id, `$2` member id).
async fn exists(
    conn: &mut sqlx::PgConnection,
    statement: &'static str,
    id: CredentialId,
    member_id: MemberId,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(statement)
        .bind(id)
        .bind(member_id)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// Moves the member on after a set-up, when the set-up comes with a step change (already
/// checked against the member's step with [`expect_step`]).
async fn change_step(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
    step_change: Option<(Step, Step)>,
    at: i64,
) -> Result<(), StoreError> {
    if let Some((_, to)) = step_change {
        set_step(conn, member_id, to, at).await?;
    }
    Ok(())
}

/// The tables of the named second factors a member can have several of.
#[derive(Debug, Clone, Copy)]
enum FactorTable {
    /// Authenticator apps.
    Totp,
    /// Passkeys.
    Passkey,
}

impl FactorTable {
    fn rename_sql(self) -> &'static str {
        match self {
            Self::Totp => sql::RENAME_TOTP,
            Self::Passkey => sql::RENAME_PASSKEY,
        }
    }

    fn exists_sql(self) -> &'static str {
        match self {
            Self::Totp => sql::TOTP_EXISTS,
            Self::Passkey => sql::PASSKEY_EXISTS,
        }
    }

    fn delete_sql(self) -> &'static str {
        match self {
            Self::Totp => sql::DELETE_TOTP,
            Self::Passkey => sql::DELETE_PASSKEY,
        }
    }
}

/// Renames one of the member's apps or passkeys inside `tx`, with `audit`; names are unique per
/// member and kind ([`StoreError::DeviceNameTaken`]).
async fn rename_factor(
    tx: &mut sqlx::PgConnection,
    kind: FactorTable,
    member_id: MemberId,
    id: CredentialId,
    name: &str,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    let updated = sqlx::query(kind.rename_sql())
        .bind(name)
        .bind(id)
        .bind(member_id)
        .execute(&mut *tx)
        .await;
    let updated = match updated {
        Err(e) if is_unique_violation(&e) => return Err(StoreError::DeviceNameTaken),
        other => other?.rows_affected(),
    };
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    insert_audit(tx, audit).await
}

impl PgStore {
    /// Removes one of the member's apps or passkeys, with `audit`, if `by` may: counted under
    /// the member's lock, so two removals racing cannot both pass the last-factor rule.
    async fn remove_factor(
        &self,
        kind: FactorTable,
        member_id: MemberId,
        id: CredentialId,
        by: Actor,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        remove_device_in(&mut tx, kind, member_id, id, by).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Removes one of the member's apps or passkeys inside the transaction, if `by` may.
async fn remove_device_in(
    conn: &mut sqlx::PgConnection,
    kind: FactorTable,
    member_id: MemberId,
    id: CredentialId,
    by: Actor,
) -> Result<(), StoreError> {
    lock_member(&mut *conn, member_id).await?;
    if !exists(&mut *conn, kind.exists_sql(), id, member_id).await? {
        return Err(StoreError::NotFound);
    }
    let factors = second_factor_count(&mut *conn, member_id).await?;
    factors::may_remove(by, member_id, factors)?;
    sqlx::query(kind.delete_sql())
        .bind(id)
        .bind(member_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes the email method inside the transaction, if `by` may; a member whose chosen method
/// it was goes on with their authenticator apps.
async fn remove_email_in(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
    by: Actor,
    at: i64,
) -> Result<(), StoreError> {
    lock_member(&mut *conn, member_id).await?;
    let set_up = sqlx::query(sql::EMAIL_FACTOR)
        .bind(member_id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if !set_up {
        return Err(StoreError::NotFound);
    }
    let factors = second_factor_count(&mut *conn, member_id).await?;
    factors::may_remove(by, member_id, factors)?;
    sqlx::query(sql::DELETE_EMAIL_FACTOR)
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    let member = member_after(&mut *conn, member_id).await?;
    let method = factors::method_after_email_removed(member.method);
    if let Some(method) = method.filter(|m| Some(*m) != member.method) {
        sqlx::query(member_sql::SET_METHOD)
            .bind(method.as_str())
            .bind(at)
            .bind(member_id)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Removes one second factor of any kind inside the transaction, if `by` may (the id is
/// ignored for the email method).
#[allow(dead_code)] // Called by the helpdesk actions (issue 17, part B).
pub(super) async fn remove_factor_in(
    conn: &mut sqlx::PgConnection,
    method: Method,
    member_id: MemberId,
    id: CredentialId,
    by: Actor,
    at: i64,
) -> Result<(), StoreError> {
    match method {
        Method::TotpApp => remove_device_in(conn, FactorTable::Totp, member_id, id, by).await,
        Method::Passkey => remove_device_in(conn, FactorTable::Passkey, member_id, id, by).await,
        Method::EmailOtp => remove_email_in(conn, member_id, by, at).await,
    }
}

/// The member about to set a factor up, at the step the set-up expects when it moves them on.
async fn member_setting_up(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
    step_change: Option<(Step, Step)>,
) -> Result<Member, StoreError> {
    lock_member(&mut *conn, member_id).await?;
    let member = member_after(&mut *conn, member_id).await?;
    if let Some((from, _)) = step_change {
        expect_step(&member, from)?;
    }
    Ok(member)
}

/// What every set-up ends with in its transaction: the kind just set up becomes the method
/// asked first at the next sign-in (a member who changes method, or adds a device, has it in
/// hand; the others are offered on the same screen), the step change, the account's failures
/// forgotten (a second factor was proved), the audit entry. Returns the member as they are now.
async fn finish_set_up(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
    method: Method,
    step_change: Option<(Step, Step)>,
    audit: &AuditEntry,
    keep_flow: Option<&str>,
    at: i64,
) -> Result<Member, StoreError> {
    if let Some(keep) = keep_flow {
        end_other_flows_in(&mut *conn, member_id, keep).await?;
    }
    sqlx::query(member_sql::SET_METHOD)
        .bind(method.as_str())
        .bind(at)
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    change_step(&mut *conn, member_id, step_change, at).await?;
    clear_account_failures(&mut *conn, member_id).await?;
    insert_audit(&mut *conn, audit).await?;
    member_after(conn, member_id).await
}

/// Ends every flow of the member but `keep`, inside the caller's transaction; returns how many.
async fn end_other_flows_in(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
    keep: &str,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(flow_sql::DELETE_OTHERS)
        .bind(member_id)
        .bind(keep)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Stores `pending` unless the member already has an enrollment pending, inside the caller's
/// transaction; returns whether it was stored and the pending enrollment as it now stands.
async fn start_enrollment_in(
    conn: &mut sqlx::PgConnection,
    pending: &PendingTotp,
) -> Result<(bool, PendingTotp), StoreError> {
    let started = sqlx::query(sql::START_ENROLLMENT)
        .bind(pending.member_id)
        .bind(&pending.sealed_secret)
        .bind(pending.params.algorithm.as_str())
        .bind(i64::from(pending.params.digits))
        .bind(step_i64(pending.params.period_secs)?)
        .bind(pending.created_at)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1;
    let row = sqlx::query(sql::ENROLLMENT)
        .bind(pending.member_id)
        .fetch_one(conn)
        .await?;
    Ok((started, pending_from_row(&row)?))
}

#[async_trait]
impl FactorStore for PgStore {
    async fn second_factor_count(&self, member_id: MemberId) -> Result<usize, StoreError> {
        let mut conn = self.pool.acquire().await?;
        second_factor_count(&mut conn, member_id).await
    }

    async fn start_totp_enrollment(
        &self,
        pending: &PendingTotp,
    ) -> Result<PendingTotp, StoreError> {
        let mut tx = self.begin().await?;
        let (_, stored) = start_enrollment_in(&mut tx, pending).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn totp_enrollment(
        &self,
        member_id: MemberId,
    ) -> Result<Option<PendingTotp>, StoreError> {
        sqlx::query(sql::ENROLLMENT)
            .bind(member_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(pending_from_row)
            .transpose()
    }

    async fn confirm_totp_enrollment(
        &self,
        c: &TotpConfirmation,
    ) -> Result<(Member, TotpCredential), StoreError> {
        let mut tx = self.begin().await?;
        member_setting_up(&mut tx, c.member_id, c.step_change).await?;
        // Taking the pending row out is the check that it is still the one the code was made for.
        let Some(pending) = sqlx::query(sql::TAKE_ENROLLMENT)
            .bind(c.member_id)
            .bind(&c.sealed_secret)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(StoreError::NoEnrollment);
        };
        let pending = pending_from_row(&pending)?;
        let registered = device_count(&mut tx, sql::TOTP_COUNT, c.member_id).await?;
        factors::may_add_device(registered, c.max_devices)?;
        let inserted = sqlx::query(sql::INSERT_TOTP)
            .bind(c.member_id)
            .bind(&c.name)
            .bind(&pending.sealed_secret)
            .bind(pending.params.algorithm.as_str())
            .bind(i64::from(pending.params.digits))
            .bind(step_i64(pending.params.period_secs)?)
            .bind(step_i64(c.step)?)
            .bind(c.at)
            .bind(c.at)
            .fetch_one(&mut *tx)
            .await;
        // Dropping the transaction rolls it back: the pending enrollment stays.
        let id: CredentialId = match inserted {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::DeviceNameTaken),
            other => other?.try_get(0)?,
        };
        let member = finish_set_up(
            &mut tx,
            c.member_id,
            Method::TotpApp,
            c.step_change,
            &c.audit,
            c.keep_flow.as_deref(),
            c.at,
        )
        .await?;
        let credential = credential_in(&mut tx, c.member_id, id).await?;
        tx.commit().await?;
        Ok((member, credential))
    }

    async fn totp_credentials(
        &self,
        member_id: MemberId,
    ) -> Result<Vec<TotpCredential>, StoreError> {
        sqlx::query(sql::TOTPS)
            .bind(member_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(credential_from_row)
            .collect()
    }

    async fn burn_totp_step(
        &self,
        member_id: MemberId,
        id: CredentialId,
        step: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::BURN_STEP)
            .bind(step_i64(step)?)
            .bind(id)
            .bind(member_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn totp_step_burnt(&self, id: CredentialId, step: u64) -> Result<bool, StoreError> {
        Ok(sqlx::query(sql::STEP_BURNT)
            .bind(id)
            .bind(step_i64(step)?)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    async fn use_totp_step(&self, u: &TotpUse) -> Result<bool, StoreError> {
        // The replay guard first; the rest only when it took the step.
        let mut tx = self.begin().await?;
        let taken = sqlx::query(TAKE_STEP)
            .bind(step_i64(u.step)?)
            .bind(u.at)
            .bind(u.credential_id)
            .bind(u.member_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if taken == 0 {
            // Dropping the transaction writes nothing.
            return Ok(false);
        }
        clear_account_failures(&mut tx, u.member_id).await?;
        if let Some(flow) = &u.flow_token_hash {
            mark_second_factor_passed(&mut tx, flow).await?;
        }
        insert_audit(&mut tx, &u.audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn rename_totp_credential(
        &self,
        member_id: MemberId,
        id: CredentialId,
        name: &str,
        audit: &AuditEntry,
    ) -> Result<TotpCredential, StoreError> {
        let mut tx = self.begin().await?;
        rename_factor(&mut tx, FactorTable::Totp, member_id, id, name, audit).await?;
        let credential = credential_in(&mut tx, member_id, id).await?;
        tx.commit().await?;
        Ok(credential)
    }

    async fn remove_totp_credential(
        &self,
        member_id: MemberId,
        id: CredentialId,
        by: Actor,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.remove_factor(FactorTable::Totp, member_id, id, by, audit)
            .await
    }

    async fn save_passkey_ceremony(&self, c: &PasskeyCeremony) -> Result<(), StoreError> {
        sqlx::query(sql::SAVE_CEREMONY)
            .bind(&c.flow_token_hash)
            .bind(c.kind.as_str())
            .bind(c.member_id)
            .bind(&c.state)
            .bind(c.created_at)
            .bind(c.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_passkey_ceremony(
        &self,
        flow_token_hash: &str,
        kind: CeremonyKind,
        now: i64,
    ) -> Result<Option<PasskeyCeremony>, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(sql::TAKE_CEREMONY)
            .bind(flow_token_hash)
            .bind(kind.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query(sql::PURGE_CEREMONIES)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row
            .as_ref()
            .map(ceremony_from_row)
            .transpose()?
            .filter(|c| c.expires_at > now))
    }

    async fn passkeys(&self, member_id: MemberId) -> Result<Vec<PasskeyCredential>, StoreError> {
        sqlx::query(sql::PASSKEYS)
            .bind(member_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(passkey_from_row)
            .collect()
    }

    async fn add_passkey(
        &self,
        e: &PasskeyEnrollment,
    ) -> Result<(Member, PasskeyCredential), StoreError> {
        let mut tx = self.begin().await?;
        member_setting_up(&mut tx, e.member_id, e.step_change).await?;
        let taken = sqlx::query(sql::PASSKEY_TAKEN)
            .bind(&e.credential_id)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::CredentialTaken);
        }
        let registered = device_count(&mut tx, sql::PASSKEY_COUNT, e.member_id).await?;
        factors::may_add_device(registered, e.max_passkeys)?;
        let inserted = sqlx::query(sql::INSERT_PASSKEY)
            .bind(e.member_id)
            .bind(&e.name)
            .bind(&e.credential_id)
            .bind(&e.passkey)
            .bind(e.at)
            .bind(e.at)
            .fetch_one(&mut *tx)
            .await;
        // Dropping the transaction rolls it back. The same credential registered at the same
        // moment by another member (whose row lock is not ours) meets the UNIQUE index.
        let id: CredentialId = match inserted {
            Err(err) if violates(&err, CREDENTIAL_ID_UNIQUE) => {
                return Err(StoreError::CredentialTaken);
            }
            Err(err) if is_unique_violation(&err) => return Err(StoreError::DeviceNameTaken),
            other => other?.try_get(0)?,
        };
        let member = finish_set_up(
            &mut tx,
            e.member_id,
            Method::Passkey,
            e.step_change,
            &e.audit,
            e.keep_flow.as_deref(),
            e.at,
        )
        .await?;
        let credential = passkey_in(&mut tx, e.member_id, id).await?;
        tx.commit().await?;
        Ok((member, credential))
    }

    async fn use_passkey(&self, u: &PasskeyUse) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(sql::USE_PASSKEY)
            .bind(u.passkey.as_deref())
            .bind(u.at)
            .bind(u.id)
            .bind(u.member_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            // Removed between the start and the finish of the ceremony.
            return Err(StoreError::NotFound);
        }
        clear_account_failures(&mut tx, u.member_id).await?;
        mark_second_factor_passed(&mut tx, &u.flow_token_hash).await?;
        insert_audit(&mut tx, &u.audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rename_passkey(
        &self,
        member_id: MemberId,
        id: CredentialId,
        name: &str,
        audit: &AuditEntry,
    ) -> Result<PasskeyCredential, StoreError> {
        let mut tx = self.begin().await?;
        rename_factor(&mut tx, FactorTable::Passkey, member_id, id, name, audit).await?;
        let credential = passkey_in(&mut tx, member_id, id).await?;
        tx.commit().await?;
        Ok(credential)
    }

    async fn remove_passkey(
        &self,
        member_id: MemberId,
        id: CredentialId,
        by: Actor,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.remove_factor(FactorTable::Passkey, member_id, id, by, audit)
            .await
    }

    async fn email_factor(&self, member_id: MemberId) -> Result<Option<EmailFactor>, StoreError> {
        sqlx::query(sql::EMAIL_FACTOR)
            .bind(member_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| {
                Ok(EmailFactor {
                    member_id: row.try_get("member_id")?,
                    created_at: row.try_get("created_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                })
            })
            .transpose()
    }

    async fn enable_email_factor(
        &self,
        member_id: MemberId,
        step_change: Option<(Step, Step)>,
        flow_token_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<Member, StoreError> {
        let mut tx = self.begin().await?;
        member_setting_up(&mut tx, member_id, step_change).await?;
        sqlx::query(sql::ENABLE_EMAIL_FACTOR)
            .bind(member_id)
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        mark_second_factor_passed(&mut tx, flow_token_hash).await?;
        let member = finish_set_up(
            &mut tx,
            member_id,
            Method::EmailOtp,
            step_change,
            audit,
            Some(flow_token_hash),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn pass_email_factor(
        &self,
        member_id: MemberId,
        flow_token_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(sql::EMAIL_FACTOR_USED)
            .bind(at)
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
        clear_account_failures(&mut tx, member_id).await?;
        mark_second_factor_passed(&mut tx, flow_token_hash).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_email_factor(
        &self,
        member_id: MemberId,
        by: Actor,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        remove_email_in(&mut tx, member_id, by, at).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn start_totp_enrollment_audited(
        &self,
        pending: &PendingTotp,
        audit: &AuditEntry,
    ) -> Result<PendingTotp, StoreError> {
        let mut tx = self.begin().await?;
        // The entry goes in first, so a failing insert takes it back with it; when another
        // enrollment was already pending, the rollback takes it back too.
        insert_audit(&mut tx, audit).await?;
        let (started, stored) = start_enrollment_in(&mut tx, pending).await?;
        if started {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(stored)
    }

    async fn remove_own_factor(
        &self,
        member_id: MemberId,
        method: Method,
        id: CredentialId,
        keep_flow: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        remove_factor_in(&mut tx, method, member_id, id, Actor::Member(member_id), at).await?;
        let ended = end_other_flows_in(&mut tx, member_id, keep_flow).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ended)
    }
}
