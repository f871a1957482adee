//! [`HelpdeskActionStore`] on PostgreSQL. Each change to a member first locks the member's row
//! (`members::lock_member`), as every other change to a member's factors and codes does, so a
//! helpdesk change and the member's own request in another server process never decide on
//! the same stale read (the last-factor rule, a code's cooldown).

use async_trait::async_trait;
use sqlx::Row;

use super::PgStore;
use super::audit::insert_audit;
use super::codes::{issue_code_in, replace_tokens_in};
use super::factors::remove_factor_in;
use super::flows::{delete_failures, delete_member_flows, insert_flow};
use super::mail::insert_mail;
use super::members::lock_member;
use crate::domain::Actor;
use crate::store::helpdesk_actions::{
    EnrolmentPassUse, HelpdeskActionStore, HelpdeskChange, HelpdeskWrite,
};
use crate::store::sql::{helpdesk as verification_sql, helpdesk_actions as sql};
use crate::store::{
    AuditEntry, CodeIssue, MailId, MemberId, NewCallerVerification, NewEmailCode, StoreError,
    ThrottleScope,
};

#[async_trait]
impl HelpdeskActionStore for PgStore {
    async fn verify_caller(
        &self,
        v: &NewCallerVerification,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(verification_sql::ADD_VERIFICATION)
            .bind(v.staff_id)
            .bind(&v.staff_session_hash)
            .bind(v.member_id)
            .bind(v.proof.as_str())
            .bind(v.at)
            .fetch_one(&mut *tx)
            .await?;
        let id: i64 = row.try_get("id")?;
        let entry = AuditEntry {
            detail: format!("verification {id} ({}): {}", v.proof.as_str(), audit.detail),
            ..audit.clone()
        };
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn issue_screen_code(
        &self,
        code: &NewEmailCode,
        audit: &AuditEntry,
    ) -> Result<CodeIssue, StoreError> {
        let mut tx = self.begin().await?;
        lock_member(&mut tx, code.member_id).await?;
        if let Some(wait) = issue_code_in(&mut tx, code).await? {
            return Ok(CodeIssue::Cooldown {
                retry_after_secs: wait,
            });
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(CodeIssue::Issued(0))
    }

    async fn helpdesk_change(&self, w: &HelpdeskWrite) -> Result<Vec<MailId>, StoreError> {
        let mut tx = self.begin().await?;
        lock_member(&mut tx, w.member_id).await?;
        let by = Actor::parse(&w.audit.actor).unwrap_or(Actor::System);
        match &w.change {
            HelpdeskChange::Unlock { user_id } => {
                delete_failures(&mut tx, ThrottleScope::Account, &w.member_id.to_string()).await?;
                delete_failures(&mut tx, ThrottleScope::UserId, user_id).await?;
            }
            HelpdeskChange::ResendVerification { token } => {
                replace_tokens_in(&mut tx, token, false).await?;
            }
            HelpdeskChange::SignOutEverywhere => {
                delete_member_flows(&mut tx, w.member_id).await?;
            }
            HelpdeskChange::RemoveFactor { method, id } => {
                remove_factor_in(&mut tx, *method, w.member_id, *id, by, w.at).await?;
                // Sessions follow assurance: a session opened with the lost device ends.
                delete_member_flows(&mut tx, w.member_id).await?;
            }
            HelpdeskChange::ChangeEmail { token } => {
                replace_tokens_in(&mut tx, token, true).await?;
            }
            HelpdeskChange::IssuePass(p) => {
                sqlx::query(sql::PUT_PASS)
                    .bind(w.member_id)
                    .bind(&p.pass_hash)
                    .bind(p.staff_id)
                    .bind(p.verification_id)
                    .bind(w.at)
                    .bind(p.expires_at)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        insert_audit(&mut tx, &w.audit).await?;
        let mut ids = Vec::with_capacity(w.mails.len());
        for mail in &w.mails {
            ids.push(insert_mail(&mut tx, mail, w.at, w.claim_until).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn sign_in_with_pass(&self, p: &EnrolmentPassUse) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let used = sqlx::query(sql::USE_PASS)
            .bind(p.at)
            .bind(p.member_id)
            .bind(&p.pass_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if used == 0 {
            return Ok(false);
        }
        for (scope, key) in &p.clear {
            delete_failures(&mut tx, *scope, key).await?;
        }
        insert_flow(&mut tx, &p.flow).await?;
        sqlx::query(sql::OWE_PASSWORD)
            .bind(&p.flow.token_hash)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, &p.audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn has_live_pass(&self, member_id: MemberId, now: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query(sql::LIVE_PASS)
            .bind(member_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    async fn flow_owes_password(&self, flow_token_hash: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(sql::OWES_PASSWORD)
            .bind(flow_token_hash)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }
}
