//! [`HelpdeskStore`] on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;

use super::{PgStore, corrupt, count_u32};
use crate::domain::FailureRecord;
use crate::domain::helpdesk::{CallerProof, CallerVerification, MailTally};
use crate::store::helpdesk::{HelpdeskStore, MailState, NewCallerVerification, SignInGuard};
use crate::store::sql::helpdesk as sql;
use crate::store::{MemberId, StoreError, ThrottleScope};

/// Notes on the keys of an attempt just reserved (inside its transaction) the client address
/// it came from, when the attempt names one: the helpdesk shows where failures came from.
pub(super) async fn note_attempt_address(
    conn: &mut sqlx::PgConnection,
    keys: &[(ThrottleScope, &str)],
) -> Result<(), StoreError> {
    let Some((_, address)) = keys.iter().find(|(s, _)| *s == ThrottleScope::Address) else {
        return Ok(());
    };
    for (scope, key) in keys.iter().filter(|(s, _)| *s != ThrottleScope::Address) {
        sqlx::query(sql::SET_LAST_ADDRESS)
            .bind(*address)
            .bind(scope.as_str())
            .bind(*key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl HelpdeskStore for PgStore {
    async fn step_since(&self, member_id: MemberId) -> Result<i64, StoreError> {
        let row = sqlx::query(sql::STEP_SINCE)
            .bind(member_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("since")?)
    }

    async fn pending_email(
        &self,
        member_id: MemberId,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(sql::PENDING_EMAIL)
            .bind(member_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("email")).transpose()?)
    }

    async fn sign_in_guards(
        &self,
        member_id: MemberId,
        user_id: &str,
    ) -> Result<Vec<SignInGuard>, StoreError> {
        let account = member_id.to_string();
        let mut guards = Vec::new();
        for (scope, key) in [
            (ThrottleScope::Account, account.as_str()),
            (ThrottleScope::UserId, user_id),
        ] {
            let row = sqlx::query(sql::GUARD)
                .bind(scope.as_str())
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                guards.push(SignInGuard {
                    scope,
                    record: FailureRecord {
                        failures: count_u32(&row, "failures")?,
                        last_failure_at: row.try_get("last_failure_at")?,
                    },
                    last_address: row.try_get("last_address")?,
                });
            }
        }
        Ok(guards)
    }

    async fn mail_to(
        &self,
        addresses: &[String],
        limit: u32,
    ) -> Result<Vec<MailState>, StoreError> {
        let mut mails = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for address in addresses {
            if seen.contains(&address.as_str()) {
                continue;
            }
            seen.push(address);
            let rows = sqlx::query(sql::MAIL_TO)
                .bind(address)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
            for row in rows {
                mails.push(MailState {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    recipient: row.try_get("recipient")?,
                    status: row.try_get("status")?,
                    attempts: count_u32(&row, "attempts")?,
                    created_at: row.try_get("created_at")?,
                    sent_at: row.try_get("sent_at")?,
                });
            }
        }
        mails.sort_by_key(|m| std::cmp::Reverse(m.id));
        mails.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(mails)
    }

    async fn mail_tally(&self, kind: &str, address: &str) -> Result<MailTally, StoreError> {
        let rows = sqlx::query(sql::MAIL_TALLY)
            .bind(kind)
            .bind(address)
            .fetch_all(&self.pool)
            .await?;
        let mut tally = MailTally::default();
        for row in rows {
            let status: String = row.try_get("status")?;
            let n = count_u32(&row, "n")?;
            match status.as_str() {
                "sent" => tally.delivered = n,
                "pending" => tally.pending = n,
                "failed" => tally.failed = n,
                other => return Err(corrupt("mail status", other)),
            }
        }
        Ok(tally)
    }

    async fn caller_verification(
        &self,
        staff_session_hash: &str,
        member_id: MemberId,
    ) -> Result<Option<CallerVerification>, StoreError> {
        let Some(row) = sqlx::query(sql::VERIFICATION)
            .bind(staff_session_hash)
            .bind(member_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let proof: String = row.try_get("proof")?;
        Ok(Some(CallerVerification {
            id: row.try_get("id")?,
            member_id: row.try_get("member_id")?,
            proof: CallerProof::parse(&proof).ok_or_else(|| corrupt("caller proof", &proof))?,
            at: row.try_get("at")?,
        }))
    }

    async fn add_caller_verification(&self, v: &NewCallerVerification) -> Result<i64, StoreError> {
        let row = sqlx::query(sql::ADD_VERIFICATION)
            .bind(v.staff_id)
            .bind(&v.staff_session_hash)
            .bind(v.member_id)
            .bind(v.proof.as_str())
            .bind(v.at)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("id")?)
    }
}
