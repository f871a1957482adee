//! [`MailStore`] on PostgreSQL: the outgoing mail queue, shared by every server process.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::audit::insert_audit;
use super::{PgStore, corrupt, count_u32};
use crate::store::sql::mail as sql;
use crate::store::{
    AuditEntry, MailId, MailQueueReport, MailStatus, MailStore, MailSummary, NewMail, QueuedMail,
    StoreError,
};

/// The claim: due rows are locked with `FOR UPDATE SKIP LOCKED` and moved on in the same
/// statement. Under READ COMMITTED an `UPDATE … WHERE id IN (SELECT … LIMIT n)` without the
/// lock would let two processes pick the same due rows (the second re-checks only `id IN`,
/// after waiting); with it, a row another sender is claiming is skipped, not waited for, and
/// the re-check after the lock sees the row already moved on. Each queued mail is therefore
/// handed to exactly one sender, however many server processes poll.
/// `$1` claim until, `$2` now, `$3` limit.
const CLAIM_DUE: &str = "UPDATE mail_queue AS q SET next_attempt_at = $1 \
     FROM (SELECT id FROM mail_queue \
           WHERE status = 'pending' AND next_attempt_at <= $2 \
           ORDER BY next_attempt_at, id LIMIT $3 \
           FOR UPDATE SKIP LOCKED) AS due \
     WHERE q.id = due.id \
     RETURNING q.id, q.kind, q.recipient, q.subject, q.body, q.attempts";

/// Queues `mail` inside the caller's transaction, claimed until `claim_until`.
pub(super) async fn insert_mail(
    conn: &mut sqlx::PgConnection,
    mail: &NewMail,
    at: i64,
    claim_until: i64,
) -> Result<MailId, StoreError> {
    let row = sqlx::query(sql::INSERT)
        .bind(&mail.kind)
        .bind(&mail.to)
        .bind(&mail.subject)
        .bind(&mail.sealed_body)
        .bind(claim_until)
        .bind(at)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get(0)?)
}

fn mail_summary_from_row(row: &PgRow) -> Result<MailSummary, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(MailSummary {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        to: row.try_get("recipient")?,
        status: MailStatus::from_name(&status).ok_or_else(|| corrupt("mail status", &status))?,
        attempts: count_u32(row, "attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

fn queued_from_row(row: &PgRow) -> Result<QueuedMail, StoreError> {
    Ok(QueuedMail {
        id: row.try_get("id")?,
        attempts: count_u32(row, "attempts")?,
        mail: NewMail {
            kind: row.try_get("kind")?,
            to: row.try_get("recipient")?,
            subject: row.try_get("subject")?,
            sealed_body: row
                .try_get::<Option<Vec<u8>>, _>("body")?
                .ok_or_else(|| corrupt("pending mail without a body", ""))?,
        },
    })
}

#[async_trait]
impl MailStore for PgStore {
    async fn enqueue_mail(
        &self,
        mail: &NewMail,
        at: i64,
        claim_until: i64,
    ) -> Result<MailId, StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_mail(&mut conn, mail, at, claim_until).await
    }

    async fn enqueue_mail_audited(
        &self,
        mail: &NewMail,
        at: i64,
        claim_until: i64,
        audit: &AuditEntry,
    ) -> Result<MailId, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = insert_mail(&mut tx, mail, at, claim_until).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn claim_due_mail(
        &self,
        now: i64,
        claim_until: i64,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let rows = sqlx::query(CLAIM_DUE)
            .bind(claim_until)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut claimed = rows
            .iter()
            .map(queued_from_row)
            .collect::<Result<Vec<_>, StoreError>>()?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    async fn mail_sent(&self, id: MailId, at: i64) -> Result<(), StoreError> {
        sqlx::query(sql::SENT)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mail_attempt_failed(
        &self,
        id: MailId,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let sql = match retry_at {
            Some(_) => sql::RETRY,
            None => sql::GIVE_UP,
        };
        sqlx::query(sql)
            .bind(error)
            .bind(retry_at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mail_queue_report(&self, limit: u32) -> Result<MailQueueReport, StoreError> {
        let counts = sqlx::query(sql::COUNTS).fetch_all(&self.pool).await?;
        let mut report = MailQueueReport::default();
        for row in &counts {
            let status: String = row.try_get("status")?;
            let n: i64 = row.try_get("n")?;
            let n = u64::try_from(n).unwrap_or(0);
            match MailStatus::from_name(&status) {
                Some(MailStatus::Pending) => report.pending = n,
                Some(MailStatus::Sent) => report.sent = n,
                Some(MailStatus::Failed) => report.failed = n,
                None => return Err(corrupt("mail status", &status)),
            }
        }
        report.recent = sqlx::query(sql::RECENT)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(mail_summary_from_row)
            .collect::<Result<_, _>>()?;
        Ok(report)
    }
}
