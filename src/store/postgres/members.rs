//! [`MemberStore`] on PostgreSQL: members, the roster import, step changes and passwords.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::flows::{delete_failures, delete_member_flows};
use super::import::import_batch;
use super::{PgStore, codes::insert_email_token, corrupt, insert_audit, insert_mail};
use crate::domain::{BirthDate, InsuranceCard, Method, Step};
use crate::store::sql::{codes as code_sql, flows as flow_sql, members as sql};
use crate::store::{
    AuditEntry, CodePurpose, ImportOutcome, MailId, Member, MemberId, MemberStore, NewMail,
    RosterRow, StoreError, ThrottleScope, Transition,
};

fn member_from_row(row: &PgRow) -> Result<Member, StoreError> {
    let symbol: String = row.try_get("symbol")?;
    let number: String = row.try_get("number")?;
    let card = InsuranceCard::parse(&symbol, &number)
        .map_err(|_| corrupt("card", &format!("{symbol}/{number}")))?;
    let birth: String = row.try_get("birth_date")?;
    let birth_date = BirthDate::parse(&birth).map_err(|_| corrupt("birth_date", &birth))?;
    let step_name: String = row.try_get("step")?;
    let step = Step::from_name(&step_name).ok_or_else(|| corrupt("step", &step_name))?;
    let method = match row.try_get::<Option<String>, _>("method")? {
        None => None,
        Some(m) => Some(Method::from_name(&m).ok_or_else(|| corrupt("method", &m))?),
    };
    Ok(Member {
        id: row.try_get("id")?,
        card,
        birth_date,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        email_verified_at: row.try_get("email_verified_at")?,
        user_id: row.try_get("user_id")?,
        password_hash: row.try_get("password_hash")?,
        step,
        method,
        terms_accepted_at: row.try_get("terms_accepted_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        lang: row.try_get("lang")?,
    })
}

/// A member read inside a transaction (or on any connection).
pub(super) async fn member_in(
    conn: &mut sqlx::PgConnection,
    id: MemberId,
) -> Result<Option<Member>, StoreError> {
    sqlx::query(sql::BY_ID)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(member_from_row)
        .transpose()
}

/// A member by user ID (lower-cased), inside the transaction.
pub(super) async fn member_by_user_id_in(
    conn: &mut sqlx::PgConnection,
    user_id: &str,
) -> Result<Option<Member>, StoreError> {
    sqlx::query(sql::BY_USER_ID)
        .bind(user_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(member_from_row)
        .transpose()
}

/// The member as the transaction left them (they exist: the caller read them before).
pub(super) async fn member_after(
    conn: &mut sqlx::PgConnection,
    id: MemberId,
) -> Result<Member, StoreError> {
    member_in(conn, id).await?.ok_or(StoreError::NotFound)
}

/// Locks the member's row until the transaction ends. Every "read, ask the domain, write" about
/// one member takes it first (a step change, a factor added or removed, a code issued or
/// checked), so what the rules read (the step, the device count, the last-factor rule, a
/// code's tries) cannot change under them in another server process. `NO KEY UPDATE` leaves
/// other tables' foreign-key checks against the row (`KEY SHARE`) unblocked. A member that does
/// not exist locks nothing; the caller's next read finds that out.
pub(super) async fn lock_member(
    conn: &mut sqlx::PgConnection,
    id: MemberId,
) -> Result<(), StoreError> {
    sqlx::query(LOCK_MEMBER)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(())
}

/// `$1` member id.
const LOCK_MEMBER: &str = "SELECT 1 FROM members WHERE id = $1 FOR NO KEY UPDATE";

/// Checks that the member is at `from` (a change expects it), inside the transaction.
pub(super) fn expect_step(member: &Member, from: Step) -> Result<(), StoreError> {
    if member.step != from {
        return Err(StoreError::StepMismatch {
            current: member.step,
        });
    }
    Ok(())
}

/// Moves the member to `to` inside the transaction.
pub(super) async fn set_step(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
    to: Step,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(sql::SET_STEP)
        .bind(to.as_str())
        .bind(at)
        .bind(member_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new password makes what was mailed before it worthless: pending address-change (and
/// verification) links and reset codes die inside the transaction.
async fn end_pending_secrets(
    conn: &mut sqlx::PgConnection,
    member_id: MemberId,
) -> Result<(), StoreError> {
    sqlx::query(code_sql::DELETE_TOKENS)
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(code_sql::USE_UP)
        .bind(member_id)
        .bind(CodePurpose::PasswordReset.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl MemberStore for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A user ID is checked against other members only where it would be applied (a new member,
    /// or one who has not started): a started member's roster user ID is ignored, so it cannot
    /// conflict.
    async fn import_roster(
        &self,
        rows: &[RosterRow],
        at: i64,
    ) -> Result<ImportOutcome, StoreError> {
        self.roster_batch(rows, at, true).await
    }

    async fn preview_roster(
        &self,
        rows: &[RosterRow],
        at: i64,
    ) -> Result<ImportOutcome, StoreError> {
        self.roster_batch(rows, at, false).await
    }

    /// On an empty table the search indexes are built after the load (`roster_load.rs`).
    async fn roster_load_begin(&self) -> Result<(), StoreError> {
        super::roster_load::begin(&self.pool).await
    }

    async fn roster_load_end(&self) -> Result<(), StoreError> {
        super::roster_load::end(&self.pool).await
    }

    async fn member_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query(sql::COUNT)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn has_members(&self) -> Result<bool, StoreError> {
        Ok(sqlx::query(sql::ANY)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    async fn member(&self, id: MemberId) -> Result<Option<Member>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        member_in(&mut conn, id).await
    }

    async fn member_by_user_id(&self, user_id: &str) -> Result<Option<Member>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        member_by_user_id_in(&mut conn, user_id).await
    }

    async fn member_by_card(&self, card: &InsuranceCard) -> Result<Option<Member>, StoreError> {
        sqlx::query(sql::BY_CARD)
            .bind(&card.symbol)
            .bind(&card.number)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(member_from_row)
            .transpose()
    }

    async fn apply(&self, t: &Transition) -> Result<Member, StoreError> {
        let mut tx = self.begin().await?;
        let member = apply_in(&mut tx, t).await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn apply_with_mail(
        &self,
        t: &Transition,
        mail: &NewMail,
        claim_until: i64,
    ) -> Result<(Member, MailId), StoreError> {
        let mut tx = self.begin().await?;
        let member = apply_in(&mut tx, t).await?;
        let id = insert_mail(&mut tx, mail, t.at, claim_until).await?;
        tx.commit().await?;
        Ok((member, id))
    }

    async fn change_password(
        &self,
        member_id: MemberId,
        password_hash: &str,
        keep_flow: &str,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(sql::CHANGE_PASSWORD)
            .bind(password_hash)
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ended = sqlx::query(flow_sql::DELETE_OTHERS)
            .bind(member_id)
            .bind(keep_flow)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        end_pending_secrets(&mut tx, member_id).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn reset_password(
        &self,
        member_id: MemberId,
        password_hash: &str,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<Member, StoreError> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(sql::RESET_PASSWORD)
            .bind(password_hash)
            .bind(at)
            .bind(member_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        delete_member_flows(&mut tx, member_id).await?;
        delete_failures(&mut tx, ThrottleScope::Account, &member_id.to_string()).await?;
        end_pending_secrets(&mut tx, member_id).await?;
        insert_audit(&mut tx, audit).await?;
        let member = member_after(&mut tx, member_id).await?;
        tx.commit().await?;
        Ok(member)
    }
}

impl PgStore {
    /// A roster batch, committed or rolled back.
    async fn roster_batch(
        &self,
        rows: &[RosterRow],
        at: i64,
        commit: bool,
    ) -> Result<ImportOutcome, StoreError> {
        let mut conn = self.pool.acquire().await?;
        import_batch(&mut conn, rows, at, commit).await
    }
}

/// [`MemberStore::apply`] inside the caller's transaction (dropping it rolls everything back).
pub(super) async fn apply_in(
    tx: &mut sqlx::PgConnection,
    t: &Transition,
) -> Result<Member, StoreError> {
    lock_member(tx, t.member_id).await?;
    let row = sqlx::query(sql::STEP)
        .bind(t.member_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let step_name: String = row.try_get(0)?;
    let current = Step::from_name(&step_name).ok_or_else(|| corrupt("step", &step_name))?;
    if current != t.from {
        return Err(StoreError::StepMismatch { current });
    }
    let c = &t.changes;
    let updated = sqlx::query(sql::APPLY)
        .bind(c.email.as_deref())
        .bind(c.method.map(|m| m.as_str()))
        .bind(c.password_hash.as_deref())
        .bind(c.user_id.as_deref())
        .bind(c.terms_accepted_at)
        .bind(t.to.as_str())
        .bind(t.at)
        .bind(t.member_id)
        .execute(&mut *tx)
        .await;
    // Dropping the transaction rolls it back, so a taken user ID changes nothing.
    match updated {
        Err(e) if super::is_unique_violation(&e) => return Err(StoreError::UserIdTaken),
        other => other?,
    };
    if let Some(token) = &t.email_token {
        sqlx::query(code_sql::DELETE_TOKENS)
            .bind(t.member_id)
            .execute(&mut *tx)
            .await?;
        insert_email_token(tx, token).await?;
    }
    if t.end_flows {
        delete_member_flows(tx, t.member_id).await?;
    }
    insert_audit(tx, &t.audit).await?;
    member_after(tx, t.member_id).await
}
