//! TEMPORARY (part A of issue 17): the traits of part B — mail, audit, staff, search, helpdesk,
//! helpdesk actions — answer `todo!("pg-b")` until part B's files replace this one, so that
//! `PgStore: Store` compiles meanwhile. The helpers the other concerns call inside their
//! transactions (`insert_audit`, `insert_mail`, `note_attempt_address`) and the two audit reads
//! the conformance tests of part A use are real; part B moves them into its files and points the
//! `use pending::{…}` line of `mod.rs` at them.

use async_trait::async_trait;
use sqlx::Row;

use super::PgStore;
use crate::domain::SearchQuery;
use crate::domain::helpdesk::{CallerVerification, MailTally};
use crate::store::sql::{audit as audit_sql, mail as mail_sql};
use crate::store::*;

/// Appends an audit entry inside the caller's transaction.
pub(super) async fn insert_audit(
    conn: &mut sqlx::PgConnection,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(audit_sql::INSERT)
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(entry.member_id)
        .bind(&entry.action)
        .bind(&entry.detail)
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues a mail inside the caller's transaction, claimed until `claim_until`.
pub(super) async fn insert_mail(
    conn: &mut sqlx::PgConnection,
    mail: &NewMail,
    at: i64,
    claim_until: i64,
) -> Result<MailId, StoreError> {
    let row = sqlx::query(mail_sql::INSERT)
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

/// Notes where a reserved attempt came from (SQLite: `helpdesk::note_attempt_address`). A no-op
/// until part B's migration 0010 adds `throttle.last_address`; part B gives it the body of the
/// SQLite one (`sql::helpdesk::SET_LAST_ADDRESS` per non-address key).
pub(super) async fn note_attempt_address(
    _conn: &mut sqlx::PgConnection,
    _keys: &[(ThrottleScope, &str)],
) -> Result<(), StoreError> {
    Ok(())
}

fn audit_from_row(row: &sqlx::postgres::PgRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        member_id: row.try_get("member_id")?,
        action: row.try_get("action")?,
        detail: row.try_get("detail")?,
    })
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_audit(&mut conn, entry).await
    }

    async fn audit_log(
        &self,
        member_id: Option<MemberId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = match member_id {
            Some(id) => {
                sqlx::query(audit_sql::OF_MEMBER)
                    .bind(id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(audit_sql::ALL)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(audit_from_row).collect()
    }

    async fn audit_page(
        &self,
        _filter: &AuditFilter,
        _page: &AuditPageRequest,
    ) -> Result<AuditPage, StoreError> {
        todo!("pg-b")
    }
}

#[async_trait]
impl MailStore for PgStore {
    async fn enqueue_mail(
        &self,
        _mail: &NewMail,
        _at: i64,
        _claim_until: i64,
    ) -> Result<MailId, StoreError> {
        todo!("pg-b")
    }

    async fn claim_due_mail(
        &self,
        _now: i64,
        _claim_until: i64,
        _limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        todo!("pg-b")
    }

    async fn mail_sent(&self, _id: MailId, _at: i64) -> Result<(), StoreError> {
        todo!("pg-b")
    }

    async fn mail_attempt_failed(
        &self,
        _id: MailId,
        _error: &str,
        _retry_at: Option<i64>,
    ) -> Result<(), StoreError> {
        todo!("pg-b")
    }

    async fn mail_queue_report(&self, _limit: u32) -> Result<MailQueueReport, StoreError> {
        todo!("pg-b")
    }
}

#[async_trait]
impl StaffStore for PgStore {
    async fn add_staff(
        &self,
        _new: &NewStaff,
        _code: &NewEnrolmentCode,
        _audit: &AuditEntry,
    ) -> Result<StaffAccount, StoreError> {
        todo!("pg-b")
    }

    async fn staff(&self, _id: StaffId) -> Result<Option<StaffAccount>, StoreError> {
        todo!("pg-b")
    }

    async fn staff_by_login(&self, _login: &str) -> Result<Option<StaffAccount>, StoreError> {
        todo!("pg-b")
    }

    async fn staff_list(&self) -> Result<Vec<StaffAccount>, StoreError> {
        todo!("pg-b")
    }

    async fn staff_factor_count(&self, _id: StaffId) -> Result<usize, StoreError> {
        todo!("pg-b")
    }

    async fn disable_staff(
        &self,
        _id: StaffId,
        _audit: &AuditEntry,
        _at: i64,
    ) -> Result<u64, StoreError> {
        todo!("pg-b")
    }

    async fn reset_staff(
        &self,
        _id: StaffId,
        _code: &NewEnrolmentCode,
        _audit: &AuditEntry,
        _at: i64,
    ) -> Result<u64, StoreError> {
        todo!("pg-b")
    }

    async fn staff_enrolment_code(
        &self,
        _id: StaffId,
    ) -> Result<Option<StaffEnrolmentCode>, StoreError> {
        todo!("pg-b")
    }

    async fn start_staff_enrolment(
        &self,
        _session: &StaffSessionRecord,
        _audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        todo!("pg-b")
    }

    async fn finish_staff_enrolment(
        &self,
        _enrolment: &StaffEnrolment,
    ) -> Result<StaffAccount, StoreError> {
        todo!("pg-b")
    }

    async fn start_staff_session(
        &self,
        _session: &StaffSessionRecord,
        _audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        todo!("pg-b")
    }

    async fn staff_session(
        &self,
        _token_hash: &str,
    ) -> Result<Option<StaffSessionRecord>, StoreError> {
        todo!("pg-b")
    }

    async fn touch_staff_session(
        &self,
        _token_hash: &str,
        _at: i64,
        _expires_at: i64,
    ) -> Result<(), StoreError> {
        todo!("pg-b")
    }

    async fn staff_totp_credentials(
        &self,
        _id: StaffId,
    ) -> Result<Vec<StaffTotpCredential>, StoreError> {
        todo!("pg-b")
    }

    async fn pass_staff_second_factor(
        &self,
        _pass: &StaffSecondFactor,
    ) -> Result<bool, StoreError> {
        todo!("pg-b")
    }

    async fn end_staff_session(
        &self,
        _token_hash: &str,
        _audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        todo!("pg-b")
    }

    async fn end_staff_sessions(
        &self,
        _id: StaffId,
        _audit: &AuditEntry,
    ) -> Result<u64, StoreError> {
        todo!("pg-b")
    }

    async fn purge_expired_staff_sessions(&self, _now: i64) -> Result<u64, StoreError> {
        todo!("pg-b")
    }
}

#[async_trait]
impl MemberSearch for PgStore {
    async fn search_members(
        &self,
        _query: &SearchQuery,
        _page: &PageRequest,
    ) -> Result<SearchPage, StoreError> {
        todo!("pg-b")
    }
}

#[async_trait]
impl HelpdeskStore for PgStore {
    async fn step_since(&self, _member_id: MemberId) -> Result<i64, StoreError> {
        todo!("pg-b")
    }

    async fn pending_email(
        &self,
        _member_id: MemberId,
        _now: i64,
    ) -> Result<Option<String>, StoreError> {
        todo!("pg-b")
    }

    async fn sign_in_guards(
        &self,
        _member_id: MemberId,
        _user_id: &str,
    ) -> Result<Vec<SignInGuard>, StoreError> {
        todo!("pg-b")
    }

    async fn mail_to(
        &self,
        _addresses: &[String],
        _limit: u32,
    ) -> Result<Vec<MailState>, StoreError> {
        todo!("pg-b")
    }

    async fn mail_tally(&self, _kind: &str, _address: &str) -> Result<MailTally, StoreError> {
        todo!("pg-b")
    }

    async fn caller_verification(
        &self,
        _staff_session_hash: &str,
        _member_id: MemberId,
    ) -> Result<Option<CallerVerification>, StoreError> {
        todo!("pg-b")
    }

    async fn add_caller_verification(
        &self,
        _verification: &NewCallerVerification,
    ) -> Result<i64, StoreError> {
        todo!("pg-b")
    }
}

#[async_trait]
impl HelpdeskActionStore for PgStore {
    async fn verify_caller(
        &self,
        _verification: &NewCallerVerification,
        _audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        todo!("pg-b")
    }

    async fn issue_screen_code(
        &self,
        _code: &NewEmailCode,
        _audit: &AuditEntry,
    ) -> Result<CodeIssue, StoreError> {
        todo!("pg-b")
    }

    async fn helpdesk_change(&self, _write: &HelpdeskWrite) -> Result<Vec<MailId>, StoreError> {
        todo!("pg-b")
    }

    async fn sign_in_with_pass(&self, _pass: &EnrolmentPassUse) -> Result<bool, StoreError> {
        todo!("pg-b")
    }

    async fn has_live_pass(&self, _member_id: MemberId, _now: i64) -> Result<bool, StoreError> {
        todo!("pg-b")
    }

    async fn flow_owes_password(&self, _flow_token_hash: &str) -> Result<bool, StoreError> {
        todo!("pg-b")
    }
}
