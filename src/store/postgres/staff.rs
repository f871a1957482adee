//! [`StaffStore`] on PostgreSQL: staff accounts, enrolment codes, authenticator apps, passkeys
//! and sessions. Whether a code is still usable and whether an account may enrol are decided by
//! [`crate::domain::staff`].
//!
//! Several server processes share these rows, and READ COMMITTED alone would let two of them
//! read the same state and both act on it (an enrolment code used twice, a half-done sign-in
//! signed in twice). So every "read, ask the domain, write" locks what it reads first: the
//! session row (`FOR UPDATE`) and then the account row, always in that order, so the second
//! process waits for the first one's commit and then sees what it wrote. The replay guard of a
//! code is the conditional UPDATE `sql::USE_STEP`, atomic on its own; a passkey ceremony is taken
//! out by one `DELETE … RETURNING`, which hands its row to one of two processes only.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::flows::delete_failures;
use super::{
    PgStore, audit::insert_audit, corrupt, count_of, is_unique_violation, locked, step_i64,
};
use crate::domain::staff::{self, EnrolmentCodeState};
use crate::domain::{StaffPhase, StaffRole, TotpAlgorithm, TotpParams};
use crate::store::sql::staff as sql;
use crate::store::{
    AuditEntry, CeremonyKind, NewEnrolmentCode, NewStaff, StaffAccount, StaffEnrolment,
    StaffEnrolmentCode, StaffId, StaffPasskeyCeremony, StaffPasskeyCredential,
    StaffPasskeyEnrolment, StaffPasskeyUse, StaffSecondFactor, StaffSessionRecord, StaffStore,
    StaffTotpCredential, StoreError, ThrottleScope,
};

fn staff_from_row(row: &PgRow) -> Result<StaffAccount, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(StaffAccount {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        display_name: row.try_get("display_name")?,
        role: StaffRole::from_name(&role).ok_or_else(|| corrupt("staff role", &role))?,
        password_hash: row.try_get("password_hash")?,
        enabled: row.try_get("enabled")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn session_from_row(row: &PgRow) -> Result<StaffSessionRecord, StoreError> {
    let phase: String = row.try_get("phase")?;
    Ok(StaffSessionRecord {
        token_hash: row.try_get("token_hash")?,
        staff_id: row.try_get("staff_id")?,
        phase: StaffPhase::from_name(&phase).ok_or_else(|| corrupt("staff phase", &phase))?,
        pending_secret: row.try_get("pending_secret")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        expires_at: row.try_get("expires_at")?,
        absolute_expires_at: row.try_get("absolute_expires_at")?,
    })
}

fn code_from_row(row: &PgRow) -> Result<StaffEnrolmentCode, StoreError> {
    Ok(StaffEnrolmentCode {
        staff_id: row.try_get("staff_id")?,
        code_hash: row.try_get("code_hash")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
    })
}

fn credential_from_row(row: &PgRow) -> Result<StaffTotpCredential, StoreError> {
    let algorithm: String = row.try_get("algorithm")?;
    let digits: i64 = row.try_get("digits")?;
    let period: i64 = row.try_get("period_secs")?;
    let last: Option<i64> = row.try_get("last_used_step")?;
    Ok(StaffTotpCredential {
        id: row.try_get("id")?,
        staff_id: row.try_get("staff_id")?,
        name: row.try_get("name")?,
        sealed_secret: row.try_get("secret")?,
        params: TotpParams {
            algorithm: TotpAlgorithm::from_name(&algorithm)
                .ok_or_else(|| corrupt("algorithm", &algorithm))?,
            digits: u8::try_from(digits).map_err(|_| corrupt("digits", &digits.to_string()))?,
            period_secs: u64::try_from(period)
                .map_err(|_| corrupt("period_secs", &period.to_string()))?,
        },
        last_used_step: last
            .map(|s| u64::try_from(s).map_err(|_| corrupt("last_used_step", &s.to_string())))
            .transpose()?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

async fn staff_in(
    conn: &mut sqlx::PgConnection,
    id: StaffId,
) -> Result<Option<StaffAccount>, StoreError> {
    sqlx::query(sql::BY_ID)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(staff_from_row)
        .transpose()
}

/// Locks the account's row until the transaction ends: `$1` id. `NO KEY UPDATE` leaves the
/// foreign-key checks of rows that name the account (`KEY SHARE`) unblocked.
const LOCK_STAFF: &str = "SELECT id FROM staff WHERE id = $1 FOR NO KEY UPDATE";

/// Locks the account's row; `false` when there is no such account.
async fn lock_staff(conn: &mut sqlx::PgConnection, id: StaffId) -> Result<bool, StoreError> {
    Ok(sqlx::query(LOCK_STAFF)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// The session, locked (see the module's comment).
async fn lock_session(
    conn: &mut sqlx::PgConnection,
    token_hash: &str,
) -> Result<Option<StaffSessionRecord>, StoreError> {
    sqlx::query(locked(sql::SESSION))
        .bind(token_hash)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(session_from_row)
        .transpose()
}

async fn session_in(
    conn: &mut sqlx::PgConnection,
    token_hash: &str,
) -> Result<Option<StaffSessionRecord>, StoreError> {
    sqlx::query(sql::SESSION)
        .bind(token_hash)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(session_from_row)
        .transpose()
}

async fn code_in(
    conn: &mut sqlx::PgConnection,
    id: StaffId,
) -> Result<Option<StaffEnrolmentCode>, StoreError> {
    sqlx::query(sql::CODE)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(code_from_row)
        .transpose()
}

async fn insert_session(
    conn: &mut sqlx::PgConnection,
    s: &StaffSessionRecord,
) -> Result<(), StoreError> {
    sqlx::query(sql::INSERT_SESSION)
        .bind(&s.token_hash)
        .bind(s.staff_id)
        .bind(s.phase.as_str())
        .bind(s.pending_secret.as_deref())
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .bind(s.absolute_expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

async fn set_code(
    conn: &mut sqlx::PgConnection,
    id: StaffId,
    code: &NewEnrolmentCode,
) -> Result<(), StoreError> {
    sqlx::query(sql::SET_CODE)
        .bind(id)
        .bind(&code.code_hash)
        .bind(code.created_at)
        .bind(code.expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// The account of an enrolling session that may still finish its enrolment at `at`, with the
/// session and then the account locked ([`StoreError::NoEnrollment`] otherwise): the session is
/// enrolling, the account's code usable and the account may enrol.
async fn lock_enrolling_account(
    conn: &mut sqlx::PgConnection,
    token_hash: &str,
    at: i64,
) -> Result<(StaffId, StaffAccount), StoreError> {
    let session = lock_session(conn, token_hash)
        .await?
        .filter(|s| s.phase == StaffPhase::Enrolling)
        .ok_or(StoreError::NoEnrollment)?;
    let id = session.staff_id;
    // The code is the account's, not the session's: another enrolling session of the same
    // account must wait too.
    lock_staff(conn, id).await?;
    let account = staff_in(conn, id).await?.ok_or(StoreError::NoEnrollment)?;
    let code = code_in(conn, id).await?.ok_or(StoreError::NoEnrollment)?;
    let factors = count_of(
        &sqlx::query(sql::CREDENTIAL_COUNT)
            .bind(id)
            .fetch_one(&mut *conn)
            .await?,
    )?;
    let status = staff::status(account.enabled, account.password_hash.is_some(), factors);
    if staff::enrolment_code_state(code.expires_at, code.used_at, at) != EnrolmentCodeState::Usable
        || !staff::may_enrol(status)
    {
        return Err(StoreError::NoEnrollment);
    }
    Ok((id, account))
}

/// The enrolment code used up and the new password set (an enrolment's first writes).
async fn use_code_and_set_password(
    conn: &mut sqlx::PgConnection,
    id: StaffId,
    password_hash: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(sql::USE_CODE)
        .bind(id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    sqlx::query(sql::SET_PASSWORD)
        .bind(id)
        .bind(password_hash)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A session signed in once its second factor passed (or its enrolment finished): the session
/// active until `expires_at`, the login's failures forgotten, `audit` written.
async fn sign_session_in(
    conn: &mut sqlx::PgConnection,
    token_hash: &str,
    at: i64,
    expires_at: i64,
    login: &str,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(sql::ACTIVATE_SESSION)
        .bind(token_hash)
        .bind(at)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    delete_failures(conn, ThrottleScope::Staff, login).await?;
    insert_audit(conn, audit).await
}

fn passkey_from_row(row: &PgRow) -> Result<StaffPasskeyCredential, StoreError> {
    Ok(StaffPasskeyCredential {
        id: row.try_get("id")?,
        staff_id: row.try_get("staff_id")?,
        name: row.try_get("name")?,
        credential_id: row.try_get("credential_id")?,
        passkey: row.try_get("passkey")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

fn ceremony_from_row(row: &PgRow) -> Result<StaffPasskeyCeremony, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(StaffPasskeyCeremony {
        token_hash: row.try_get("token_hash")?,
        kind: CeremonyKind::from_name(&kind).ok_or_else(|| corrupt("ceremony kind", &kind))?,
        staff_id: row.try_get("staff_id")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

#[async_trait]
impl StaffStore for PgStore {
    async fn add_staff(
        &self,
        new: &NewStaff,
        code: &NewEnrolmentCode,
        audit: &AuditEntry,
    ) -> Result<StaffAccount, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(sql::INSERT)
            .bind(&new.login)
            .bind(&new.display_name)
            .bind(new.role.as_str())
            .bind(new.at)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::StaffLoginTaken
                } else {
                    e.into()
                }
            })?;
        let account = staff_from_row(&row)?;
        set_code(&mut tx, account.id, code).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn staff(&self, id: StaffId) -> Result<Option<StaffAccount>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        staff_in(&mut conn, id).await
    }

    async fn staff_by_login(&self, login: &str) -> Result<Option<StaffAccount>, StoreError> {
        sqlx::query(sql::BY_LOGIN)
            .bind(login)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(staff_from_row)
            .transpose()
    }

    async fn staff_list(&self) -> Result<Vec<StaffAccount>, StoreError> {
        sqlx::query(sql::ALL)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(staff_from_row)
            .collect()
    }

    async fn staff_factor_count(&self, id: StaffId) -> Result<usize, StoreError> {
        let row = sqlx::query(sql::CREDENTIAL_COUNT)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        count_of(&row)
    }

    async fn disable_staff(
        &self,
        id: StaffId,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(sql::DISABLE)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ended = sqlx::query(sql::DELETE_SESSIONS_OF)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn reset_staff(
        &self,
        id: StaffId,
        code: &NewEnrolmentCode,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        if !lock_staff(&mut tx, id).await? {
            return Err(StoreError::NotFound);
        }
        let account = staff_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        sqlx::query(sql::RESET)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        for delete in [sql::DELETE_CREDENTIALS, sql::DELETE_PASSKEYS] {
            sqlx::query(delete).bind(id).execute(&mut *tx).await?;
        }
        let ended = sqlx::query(sql::DELETE_SESSIONS_OF)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        delete_failures(&mut tx, ThrottleScope::Staff, &account.login).await?;
        set_code(&mut tx, id, code).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn staff_enrolment_code(
        &self,
        id: StaffId,
    ) -> Result<Option<StaffEnrolmentCode>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        code_in(&mut conn, id).await
    }

    async fn start_staff_enrolment(
        &self,
        session: &StaffSessionRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // Two enrolments started at once: the second waits here, then ends the first one's.
        lock_staff(&mut tx, session.staff_id).await?;
        sqlx::query(sql::DELETE_ENROLLING_OF)
            .bind(session.staff_id)
            .execute(&mut *tx)
            .await?;
        insert_session(&mut tx, session).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn finish_staff_enrolment(&self, e: &StaffEnrolment) -> Result<StaffAccount, StoreError> {
        let mut tx = self.begin().await?;
        let (id, account) = lock_enrolling_account(&mut tx, &e.token_hash, e.at).await?;
        use_code_and_set_password(&mut tx, id, &e.password_hash, e.at).await?;
        sqlx::query(sql::INSERT_CREDENTIAL)
            .bind(id)
            .bind(&e.device_name)
            .bind(&e.sealed_secret)
            .bind(e.params.algorithm.as_str())
            .bind(i64::from(e.params.digits))
            .bind(step_i64(e.params.period_secs)?)
            .bind(step_i64(e.step)?)
            .bind(e.at)
            .execute(&mut *tx)
            .await?;
        sign_session_in(
            &mut tx,
            &e.token_hash,
            e.at,
            e.expires_at,
            &account.login,
            &e.audit,
        )
        .await?;
        let account = staff_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NoEnrollment)?;
        tx.commit().await?;
        Ok(account)
    }

    async fn start_staff_session(
        &self,
        session: &StaffSessionRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        insert_session(&mut tx, session).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn staff_session(
        &self,
        token_hash: &str,
    ) -> Result<Option<StaffSessionRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        session_in(&mut conn, token_hash).await
    }

    async fn touch_staff_session(
        &self,
        token_hash: &str,
        at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::TOUCH_SESSION)
            .bind(token_hash)
            .bind(at)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn staff_totp_credentials(
        &self,
        id: StaffId,
    ) -> Result<Vec<StaffTotpCredential>, StoreError> {
        sqlx::query(sql::CREDENTIALS)
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(credential_from_row)
            .collect()
    }

    async fn pass_staff_second_factor(&self, pass: &StaffSecondFactor) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let Some(session) = lock_session(&mut tx, &pass.token_hash)
            .await?
            .filter(|s| s.phase == StaffPhase::SecondFactor)
        else {
            return Ok(false);
        };
        let used = sqlx::query(sql::USE_STEP)
            .bind(pass.credential_id)
            .bind(step_i64(pass.step)?)
            .bind(pass.at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let owner = sqlx::query(sql::CREDENTIAL_OWNER)
            .bind(pass.credential_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?;
        if used != 1 || owner != Some(session.staff_id) {
            // Dropping the transaction rolls the step back when the device was another's.
            return Ok(false);
        }
        let account = staff_in(&mut tx, session.staff_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        sign_session_in(
            &mut tx,
            &pass.token_hash,
            pass.at,
            pass.expires_at,
            &account.login,
            &pass.audit,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn end_staff_session(
        &self,
        token_hash: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let ended = sqlx::query(sql::DELETE_SESSION)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if ended > 0
            && let Some(entry) = audit
        {
            insert_audit(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn end_staff_sessions(&self, id: StaffId, audit: &AuditEntry) -> Result<u64, StoreError> {
        self.end_staff_sessions_audited(id, std::slice::from_ref(audit))
            .await
    }

    async fn purge_expired_staff_sessions(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql::PURGE_SESSIONS)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn staff_passkeys(&self, id: StaffId) -> Result<Vec<StaffPasskeyCredential>, StoreError> {
        sqlx::query(sql::PASSKEYS)
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(passkey_from_row)
            .collect()
    }

    async fn save_staff_passkey_ceremony(
        &self,
        c: &StaffPasskeyCeremony,
    ) -> Result<(), StoreError> {
        // One upsert: two starts at once leave the later one's state, never both or neither.
        sqlx::query(sql::SAVE_CEREMONY)
            .bind(&c.token_hash)
            .bind(c.kind.as_str())
            .bind(c.staff_id)
            .bind(&c.state)
            .bind(c.created_at)
            .bind(c.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_staff_passkey_ceremony(
        &self,
        token_hash: &str,
        kind: CeremonyKind,
        now: i64,
    ) -> Result<Option<StaffPasskeyCeremony>, StoreError> {
        let mut tx = self.begin().await?;
        // Two takes at once: the second waits on the row and, once the first commits, finds it
        // gone (READ COMMITTED re-checks a deleted row), so a ceremony is finished once.
        let row = sqlx::query(sql::TAKE_CEREMONY)
            .bind(token_hash)
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

    async fn finish_staff_enrolment_passkey(
        &self,
        e: &StaffPasskeyEnrolment,
    ) -> Result<StaffAccount, StoreError> {
        let mut tx = self.begin().await?;
        let (id, account) = lock_enrolling_account(&mut tx, &e.token_hash, e.at).await?;
        use_code_and_set_password(&mut tx, id, &e.password_hash, e.at).await?;
        // The same credential enrolled by two accounts at once: the second insert waits for the
        // first one's commit and then violates the unique index; dropping the transaction undoes
        // the rest.
        sqlx::query(sql::INSERT_PASSKEY)
            .bind(id)
            .bind(&e.name)
            .bind(&e.credential_id)
            .bind(&e.passkey)
            .bind(e.at)
            .execute(&mut *tx)
            .await
            .map_err(|err| {
                if is_unique_violation(&err) {
                    StoreError::CredentialTaken
                } else {
                    err.into()
                }
            })?;
        sign_session_in(
            &mut tx,
            &e.token_hash,
            e.at,
            e.expires_at,
            &account.login,
            &e.audit,
        )
        .await?;
        let account = staff_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NoEnrollment)?;
        tx.commit().await?;
        Ok(account)
    }

    async fn pass_staff_passkey(&self, used: &StaffPasskeyUse) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        // The session locked: a second pass of the same sign-in waits, then finds it signed in.
        let Some(session) = lock_session(&mut tx, &used.token_hash)
            .await?
            .filter(|s| s.phase == StaffPhase::SecondFactor)
        else {
            return Ok(false);
        };
        let updated = sqlx::query(sql::USE_PASSKEY)
            .bind(used.credential)
            .bind(session.staff_id)
            .bind(used.passkey.as_deref())
            .bind(used.at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated != 1 {
            return Ok(false);
        }
        let account = staff_in(&mut tx, session.staff_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        sign_session_in(
            &mut tx,
            &used.token_hash,
            used.at,
            used.expires_at,
            &account.login,
            &used.audit,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn end_staff_sessions_audited(
        &self,
        id: StaffId,
        audits: &[AuditEntry],
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let ended = sqlx::query(sql::DELETE_SESSIONS_OF)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for audit in audits {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(ended)
    }
}
