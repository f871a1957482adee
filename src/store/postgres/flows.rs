//! [`FlowStore`] on PostgreSQL: sign-in flows and the failure counters.
//!
//! How an attempt is reserved atomically across server processes: row locks, not SERIALIZABLE.
//! `reserve_attempt` locks the throttle row of every key before reading it ([`LOCK_FAILURES`]:
//! an upsert, so a key seen for the first time has a row to lock too), asks
//! [`crate::domain::ThrottlePolicy::reserve`], writes and commits; a reservation on the same key
//! in another process waits on the lock and then reads the committed count, so parallel guesses
//! get no more checks than sequential ones. Locks are taken in one global order (scope, key),
//! so transactions that lock several keys queue instead of deadlocking. SERIALIZABLE would give
//! the same guarantee by failing one of two racing transactions, which every caller would then
//! have to retry; a lock makes the second one wait, which is what a sign-in wants. Failures are
//! counted with one atomic upsert (`sql::flows::BUMP_FAILURES`).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgStore, insert_audit};
use crate::domain::FailureRecord;
use crate::domain::lockout::release;
use crate::store::sql::flows as sql;
use crate::store::{
    AttemptOutcome, AttemptReservation, AuditEntry, FailedAttempt, Flow, FlowStore, MemberId,
    ReservedKey, StoreError, ThrottleKey, ThrottleScope,
};

fn flow_from_row(row: &PgRow) -> Result<Flow, StoreError> {
    Ok(Flow {
        token_hash: row.try_get("token_hash")?,
        member_id: row.try_get("member_id")?,
        lang: row.try_get("lang")?,
        birth_verified: row.try_get("birth_verified")?,
        second_factor_pending: row.try_get("second_factor_pending")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn failure_from_row(row: &PgRow) -> Result<FailureRecord, StoreError> {
    let failures: i64 = row.try_get("failures")?;
    Ok(FailureRecord {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        last_failure_at: row.try_get("last_failure_at")?,
    })
}

/// Opens a flow; its language becomes the member's (what mail the helpdesk triggers is
/// written in, long after the flow is gone).
pub(super) async fn insert_flow(
    conn: &mut sqlx::PgConnection,
    flow: &Flow,
) -> Result<(), StoreError> {
    sqlx::query(sql::INSERT)
        .bind(&flow.token_hash)
        .bind(flow.member_id)
        .bind(&flow.lang)
        .bind(flow.birth_verified)
        .bind(flow.second_factor_pending)
        .bind(flow.created_at)
        .bind(flow.expires_at)
        .execute(&mut *conn)
        .await?;
    sqlx::query(crate::store::sql::members::SET_LANG)
        .bind(&flow.lang)
        .bind(flow.member_id)
        .execute(conn)
        .await?;
    Ok(())
}

async fn bump_failures(
    conn: &mut sqlx::PgConnection,
    scope: ThrottleScope,
    key: &str,
    at: i64,
) -> Result<FailureRecord, StoreError> {
    let row = sqlx::query(sql::BUMP_FAILURES)
        .bind(scope.as_str())
        .bind(key)
        .bind(at)
        .fetch_one(conn)
        .await?;
    failure_from_row(&row)
}

/// A key's record, locked for the rest of the transaction: `$1` scope, `$2` key. A key without
/// a record gets a zero one (the same as none: [`FailureRecord::default`]) so that there is a
/// row to lock; the caller overwrites it or rolls it back. `DO UPDATE` (not `DO NOTHING`) locks
/// an existing row and returns it as committed.
const LOCK_FAILURES: &str = "INSERT INTO throttle (scope, key, failures, last_failure_at) \
     VALUES ($1, $2, 0, 0) \
     ON CONFLICT (scope, key) DO UPDATE SET failures = throttle.failures \
     RETURNING failures, last_failure_at";

/// Reads and locks the records of `keys` (see [`LOCK_FAILURES`]), in one global order, (scope,
/// key), whatever order the caller gives them: two transactions locking the same keys then
/// queue instead of deadlocking. Returned in the caller's order.
pub(super) async fn lock_failures(
    conn: &mut sqlx::PgConnection,
    keys: &[(ThrottleScope, &str)],
) -> Result<Vec<FailureRecord>, StoreError> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| (keys[a].0.as_str(), keys[a].1).cmp(&(keys[b].0.as_str(), keys[b].1)));
    let mut records = vec![FailureRecord::default(); keys.len()];
    for i in order {
        let (scope, key) = keys[i];
        let row = sqlx::query(LOCK_FAILURES)
            .bind(scope.as_str())
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        records[i] = failure_from_row(&row)?;
    }
    Ok(records)
}

pub(super) async fn read_failures(
    conn: &mut sqlx::PgConnection,
    scope: ThrottleScope,
    key: &str,
) -> Result<FailureRecord, StoreError> {
    let row = sqlx::query(sql::FAILURES)
        .bind(scope.as_str())
        .bind(key)
        .fetch_optional(conn)
        .await?;
    match row {
        None => Ok(FailureRecord::default()),
        Some(r) => failure_from_row(&r),
    }
}

async fn write_failures(
    conn: &mut sqlx::PgConnection,
    scope: ThrottleScope,
    key: &str,
    record: FailureRecord,
) -> Result<(), StoreError> {
    sqlx::query(sql::SET_FAILURES)
        .bind(scope.as_str())
        .bind(key)
        .bind(i64::from(record.failures))
        .bind(record.last_failure_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets a key's failures inside the transaction.
pub(super) async fn delete_failures(
    conn: &mut sqlx::PgConnection,
    scope: ThrottleScope,
    key: &str,
) -> Result<(), StoreError> {
    sqlx::query(sql::CLEAR_FAILURES)
        .bind(scope.as_str())
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets a member account's failures inside the transaction (a second factor proved).
pub(super) async fn clear_account_failures(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
) -> Result<(), StoreError> {
    delete_failures(conn, ThrottleScope::Account, &member_id.to_string()).await
}

/// Ends every flow of the member inside the transaction; returns how many.
pub(super) async fn delete_member_flows(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(sql::DELETE_OF_MEMBER)
        .bind(member_id)
        .execute(conn)
        .await?
        .rows_affected())
}

/// The flow no longer owes a second factor.
pub(super) async fn mark_second_factor_passed(
    conn: &mut sqlx::PgConnection,
    token_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query(sql::PASS_SECOND_FACTOR)
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Reserves one attempt on every key inside the transaction, the keys' rows locked first (see
/// the module's note). On a refusal the caller must roll back (the locking upserts).
pub(super) async fn reserve_in(
    conn: &mut sqlx::PgConnection,
    keys: &[ThrottleKey],
    now: i64,
) -> Result<AttemptReservation, StoreError> {
    let noted: Vec<(ThrottleScope, &str)> =
        keys.iter().map(|k| (k.scope, k.key.as_str())).collect();
    let records = lock_failures(conn, &noted).await?;
    let mut reserved = Vec::with_capacity(keys.len());
    for (k, &stored) in keys.iter().zip(&records) {
        match k.policy.reserve(stored, now) {
            Ok(record) => reserved.push(ReservedKey {
                scope: k.scope,
                key: k.key.clone(),
                before: k.policy.decayed(stored, now),
                reserved: record,
            }),
            Err(refusal) => {
                return Ok(AttemptReservation::Refused {
                    scope: k.scope,
                    refusal,
                });
            }
        }
    }
    for r in &reserved {
        write_failures(conn, r.scope, &r.key, r.reserved).await?;
    }
    super::note_attempt_address(conn, &noted).await?;
    Ok(AttemptReservation::Reserved(reserved))
}

/// Gives back a reservation whose guess was right, its keys' records already locked and read
/// (`current`, in the same order).
pub(super) async fn release_locked(
    conn: &mut sqlx::PgConnection,
    reserved: &[ReservedKey],
    current: &[FailureRecord],
) -> Result<(), StoreError> {
    for (r, &now) in reserved.iter().zip(current) {
        let released = release(now, r.before, r.reserved);
        write_failures(conn, r.scope, &r.key, released).await?;
    }
    Ok(())
}

#[async_trait]
impl FlowStore for PgStore {
    async fn failures(&self, scope: ThrottleScope, key: &str) -> Result<FailureRecord, StoreError> {
        let mut conn = self.pool.acquire().await?;
        read_failures(&mut conn, scope, key).await
    }

    /// The keys' rows are locked before they are read, so reservations on a key (from any
    /// number of server processes) queue, and each one sees every reservation before it.
    async fn reserve_attempt(
        &self,
        keys: &[ThrottleKey],
        now: i64,
    ) -> Result<AttemptReservation, StoreError> {
        let mut tx = self.begin().await?;
        let reservation = reserve_in(&mut tx, keys, now).await?;
        // A refusal must not commit: dropping the transaction rolls back the locking upserts.
        if matches!(reservation, AttemptReservation::Reserved(_)) {
            tx.commit().await?;
        }
        Ok(reservation)
    }

    async fn release_attempt(&self, reserved: &[ReservedKey]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let keys: Vec<(ThrottleScope, &str)> =
            reserved.iter().map(|r| (r.scope, r.key.as_str())).collect();
        let records = lock_failures(&mut tx, &keys).await?;
        release_locked(&mut tx, reserved, &records).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn lift_hold(
        &self,
        member_id: MemberId,
        user_id: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        clear_account_failures(&mut tx, member_id).await?;
        delete_failures(&mut tx, ThrottleScope::UserId, user_id).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_failure(
        &self,
        scope: ThrottleScope,
        key: &str,
        at: i64,
    ) -> Result<FailureRecord, StoreError> {
        let mut conn = self.pool.acquire().await?;
        bump_failures(&mut conn, scope, key, at).await
    }

    async fn clear_failures(&self, scope: ThrottleScope, key: &str) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        delete_failures(&mut conn, scope, key).await
    }

    /// Every failure of a locked account ends the member's flows again (idempotent), so a flow
    /// started concurrently with the locking failure cannot survive it. The account's key is
    /// bumped before the address's: the global order of [`lock_failures`] (`account` <
    /// `address`), so this never deadlocks with a reservation.
    async fn record_failed_attempt(
        &self,
        attempt: &FailedAttempt,
    ) -> Result<AttemptOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let mut account = None;
        let mut locked = false;
        if let Some(acc) = &attempt.account {
            let record = bump_failures(
                &mut tx,
                ThrottleScope::Account,
                &acc.member_id.to_string(),
                attempt.at,
            )
            .await?;
            account = Some(record);
            if acc.policy.locks(record) {
                locked = true;
                delete_member_flows(&mut tx, acc.member_id).await?;
                insert_audit(&mut tx, &acc.lock_audit).await?;
            }
        }
        let address = bump_failures(
            &mut tx,
            ThrottleScope::Address,
            &attempt.address,
            attempt.at,
        )
        .await?;
        tx.commit().await?;
        Ok(AttemptOutcome {
            address,
            account,
            locked,
        })
    }

    async fn create_flow(&self, flow: &Flow) -> Result<(), StoreError> {
        // The flow and the member's language together.
        let mut tx = self.pool.begin().await?;
        insert_flow(&mut tx, flow).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn start_flow(
        &self,
        flow: &Flow,
        clear: &[(ThrottleScope, String)],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // In the global lock order (see `lock_failures`).
        let mut clear: Vec<&(ThrottleScope, String)> = clear.iter().collect();
        clear.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
        for (scope, key) in clear {
            delete_failures(&mut tx, *scope, key).await?;
        }
        insert_flow(&mut tx, flow).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_member_flows(
        &self,
        member_id: MemberId,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let ended = delete_member_flows(&mut tx, member_id).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn end_other_flows(&self, member_id: MemberId, keep: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql::DELETE_OTHERS)
            .bind(member_id)
            .bind(keep)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn record_step_up(&self, token_hash: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(sql::STEP_UP)
            .bind(token_hash)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn stepped_up_at(&self, token_hash: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query(sql::STEPPED_UP_AT)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?)
    }

    async fn flow(&self, token_hash: &str) -> Result<Option<Flow>, StoreError> {
        sqlx::query(sql::BY_HASH)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(flow_from_row)
            .transpose()
    }

    /// A flow that no longer exists is left alone (it may have just been ended).
    async fn touch_flow(&self, token_hash: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query(sql::TOUCH)
            .bind(expires_at)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_flow_lang(&self, token_hash: &str, lang: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for statement in [sql::SET_MEMBER_LANG_OF_FLOW, sql::SET_FLOW_LANG] {
            sqlx::query(statement)
                .bind(lang)
                .bind(token_hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An unknown flow gives [`StoreError::NotFound`] and writes nothing.
    async fn pass_birth_date(
        &self,
        token_hash: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(sql::PASS_BIRTH_DATE)
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let member_id: MemberId = row.try_get(0)?;
        clear_account_failures(&mut tx, member_id).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_flow(
        &self,
        token_hash: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let ended = sqlx::query(sql::DELETE)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if let Some(entry) = audit.filter(|_| ended > 0) {
            insert_audit(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn purge_expired_flows(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql::PURGE_EXPIRED)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
