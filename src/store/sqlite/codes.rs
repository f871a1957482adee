//! [`CodeStore`] on SQLite: emailed codes and verification links. The cooldown, the tries and
//! the expiry are decided by [`crate::domain::email_code`] and [`crate::domain::email`].

use async_trait::async_trait;
use sqlx::Row;

use super::members::{member_after, member_in};
use super::{SqliteStore, audit::insert_audit, count_u32, mail::insert_mail};
use crate::domain::email::{LinkUse, link_use};
use crate::domain::email_code::{self, CodeVerdict, IssuedCode};
use crate::domain::flow::{Action, transition};
use crate::domain::{Actor, AuditAction};
use crate::store::sql::{codes as sql, members as member_sql};
use crate::store::{
    AuditEntry, CodeCheckOutcome, CodeIssue, CodeIssueAudit, CodePurpose, CodeStore, EmailToken,
    EmailTokenOutcome, MailId, MemberId, NewEmailCode, NewMail, StoreError,
};

/// Stores a verification link inside the caller's transaction.
pub(super) async fn insert_email_token(
    conn: &mut sqlx::SqliteConnection,
    token: &EmailToken,
) -> Result<(), StoreError> {
    sqlx::query(sql::INSERT_TOKEN)
        .bind(&token.token_hash)
        .bind(token.member_id)
        .bind(&token.email)
        .bind(&token.lang)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores `token` inside the caller's transaction in place of the member's earlier links;
/// `changes_address` marks a link that switches the address once opened.
pub(super) async fn replace_tokens_in(
    conn: &mut sqlx::SqliteConnection,
    token: &EmailToken,
    changes_address: bool,
) -> Result<(), StoreError> {
    sqlx::query(sql::DELETE_TOKENS)
        .bind(token.member_id)
        .execute(&mut *conn)
        .await?;
    insert_email_token(&mut *conn, token).await?;
    if changes_address {
        sqlx::query(sql::TOKEN_CHANGES_ADDRESS)
            .bind(&token.token_hash)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Stores `code` in place of the member's earlier code of its purpose inside the caller's
/// transaction, unless that one is still in its cooldown: then nothing is written and the
/// seconds to wait are returned.
pub(super) async fn issue_code_in(
    conn: &mut sqlx::SqliteConnection,
    code: &NewEmailCode,
) -> Result<Option<u64>, StoreError> {
    if let Some(wait) = cooldown_in(&mut *conn, code).await? {
        return Ok(Some(wait));
    }
    store_code(conn, code).await?;
    Ok(None)
}

/// The seconds left of the cooldown of the member's earlier code of `code`'s purpose, read
/// inside the caller's transaction; `None` when a new code may be issued.
async fn cooldown_in(
    conn: &mut sqlx::SqliteConnection,
    code: &NewEmailCode,
) -> Result<Option<u64>, StoreError> {
    let previous: Option<i64> = sqlx::query(sql::ISSUED_AT)
        .bind(code.member_id)
        .bind(code.purpose.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    Ok(previous.and_then(|at| email_code::cooldown_left(at, code.cooldown_secs, code.created_at)))
}

/// Stores `code` in place of the member's earlier code of its purpose inside the caller's
/// transaction (the caller has checked the cooldown).
async fn store_code(
    conn: &mut sqlx::SqliteConnection,
    code: &NewEmailCode,
) -> Result<(), StoreError> {
    sqlx::query(sql::ISSUE)
        .bind(code.member_id)
        .bind(code.purpose.as_str())
        .bind(&code.code_hash)
        .bind(code.created_at)
        .bind(code.expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl CodeStore for SqliteStore {
    async fn issue_email_code(
        &self,
        code: &NewEmailCode,
        mail: &NewMail,
        claim_until: i64,
    ) -> Result<CodeIssue, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(wait) = issue_code_in(&mut tx, code).await? {
            return Ok(CodeIssue::Cooldown {
                retry_after_secs: wait,
            });
        }
        let id = insert_mail(&mut tx, mail, code.created_at, claim_until).await?;
        tx.commit().await?;
        Ok(CodeIssue::Issued(id))
    }

    async fn check_email_code(
        &self,
        member_id: MemberId,
        purpose: CodePurpose,
        code_hash: &str,
        max_attempts: u32,
        now: i64,
    ) -> Result<CodeCheckOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query(sql::CODE)
            .bind(member_id)
            .bind(purpose.as_str())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(CodeCheckOutcome::NoCode);
        };
        let stored: String = row.try_get("code_hash")?;
        let issued = IssuedCode {
            attempts: count_u32(&row, "attempts")?,
            expires_at: row.try_get("expires_at")?,
        };
        let matches = email_code::hashes_match(&stored, code_hash);
        let outcome = match email_code::judge(issued, matches, max_attempts, now) {
            CodeVerdict::Expired => return Ok(CodeCheckOutcome::Expired),
            CodeVerdict::Accepted => {
                sqlx::query(sql::USE_UP)
                    .bind(member_id)
                    .bind(purpose.as_str())
                    .execute(&mut *tx)
                    .await?;
                CodeCheckOutcome::Accepted
            }
            CodeVerdict::Wrong { attempts_left } => {
                sqlx::query(sql::WRONG_TRY)
                    .bind(member_id)
                    .bind(purpose.as_str())
                    .execute(&mut *tx)
                    .await?;
                CodeCheckOutcome::Wrong { attempts_left }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// The address counts as verified (and a waiting member moves on) only while it is still the
    /// member's address; a link for an address the member has since replaced verifies nothing.
    async fn consume_email_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<EmailTokenOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query(sql::TOKEN)
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(EmailTokenOutcome::Unknown);
        };
        let member_id: MemberId = row.try_get("member_id")?;
        let email: String = row.try_get("email")?;
        let lang: String = row.try_get("lang")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let changes_address: bool = row.try_get("changes_address")?;
        match link_use(used_at, expires_at, now) {
            LinkUse::AlreadyUsed => return Ok(EmailTokenOutcome::AlreadyUsed { lang }),
            LinkUse::Expired => return Ok(EmailTokenOutcome::Expired { lang }),
            LinkUse::Usable => {}
        }
        sqlx::query(sql::USE_TOKEN)
            .bind(now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        if changes_address {
            // A change from the top screen switches to the new address now.
            sqlx::query(member_sql::SWITCH_EMAIL)
                .bind(&email)
                .bind(now)
                .bind(member_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(member) = member_in(&mut tx, member_id).await?
            && member.email == email
        {
            let step = transition(member.step, Action::EmailVerified).unwrap_or(member.step);
            sqlx::query(member_sql::EMAIL_VERIFIED)
                .bind(now)
                .bind(step.as_str())
                .bind(member_id)
                .execute(&mut *tx)
                .await?;
        }
        insert_audit(
            &mut tx,
            &AuditEntry::new(
                now,
                Actor::Member(member_id),
                AuditAction::EmailVerified,
                Some(member_id),
                format!("verification link for {email} opened"),
            ),
        )
        .await?;
        let member = member_after(&mut tx, member_id).await?;
        tx.commit().await?;
        Ok(EmailTokenOutcome::Verified {
            member: Box::new(member),
            lang,
        })
    }

    async fn start_email_change(
        &self,
        token: &EmailToken,
        mails: &[NewMail],
        claim_until: i64,
        audit: &AuditEntry,
        keep_flow: Option<&str>,
    ) -> Result<Vec<MailId>, StoreError> {
        let mut tx = self.begin().await?;
        replace_tokens_in(&mut tx, token, true).await?;
        if let Some(keep) = keep_flow {
            sqlx::query(crate::store::sql::flows::DELETE_OTHERS)
                .bind(token.member_id)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
        }
        let mut ids = Vec::with_capacity(mails.len());
        for mail in mails {
            ids.push(insert_mail(&mut tx, mail, token.created_at, claim_until).await?);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn issue_email_code_audited(
        &self,
        code: &NewEmailCode,
        mail: &NewMail,
        claim_until: i64,
        audit: &CodeIssueAudit,
    ) -> Result<CodeIssue, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(wait) = cooldown_in(&mut tx, code).await? {
            if let Some(entry) = &audit.cooldown {
                insert_audit(&mut tx, entry).await?;
                tx.commit().await?;
            }
            return Ok(CodeIssue::Cooldown {
                retry_after_secs: wait,
            });
        }
        // The code goes in last, so a failing code (an unknown member) takes back the mail
        // and the entry written before it.
        let id = insert_mail(&mut tx, mail, code.created_at, claim_until).await?;
        insert_audit(&mut tx, &audit.issued_entry(id)).await?;
        store_code(&mut tx, code).await?;
        tx.commit().await?;
        Ok(CodeIssue::Issued(id))
    }
}
