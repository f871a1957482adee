//! [`SignInStore`] on SQLite: a sign-in's two transactions, each on the one writer connection.

use async_trait::async_trait;
use sqlx::Row;

use super::SqliteStore;
use super::audit::insert_audit;
use super::flows::{delete_failures, insert_flow, read_failures, release_in, reserve_in};
use super::members::{apply_in, member_by_user_id_in};
use crate::domain::flow::{sign_in_counts_factors, sign_in_plan};
use crate::store::sql::factors as sql;
use crate::store::{
    AttemptReservation, Member, SecondFactorTally, SignInFinish, SignInFinished, SignInStore,
    StoreError, ThrottleKey, ThrottleScope,
};

/// The member's second factors by kind, inside the transaction.
async fn tally_in(
    conn: &mut sqlx::SqliteConnection,
    member: &Member,
) -> Result<SecondFactorTally, StoreError> {
    let row = sqlx::query(sql::COUNT_BY_KIND)
        .bind(member.id)
        .fetch_one(conn)
        .await?;
    Ok(SecondFactorTally::from_counts(
        row.try_get("totp")?,
        row.try_get("email")?,
        row.try_get("passkeys")?,
    ))
}

#[async_trait]
impl SignInStore for SqliteStore {
    async fn reserve_sign_in(
        &self,
        keys: &[ThrottleKey],
        user_id: &str,
        now: i64,
    ) -> Result<(AttemptReservation, Option<Member>), StoreError> {
        let mut tx = self.begin().await?;
        let reservation = reserve_in(&mut tx, keys, now).await?;
        if !matches!(reservation, AttemptReservation::Reserved(_)) {
            // A refusal wrote nothing, and its answer never depends on the member.
            return Ok((reservation, None));
        }
        let member = member_by_user_id_in(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok((reservation, member))
    }

    async fn finish_sign_in(&self, f: &SignInFinish) -> Result<SignInFinished, StoreError> {
        let mut tx = self.begin().await?;
        release_in(&mut tx, &f.reserved).await?;
        let account_key = f.member.id.to_string();
        let account = read_failures(&mut tx, ThrottleScope::Account, &account_key).await?;
        if f.account_policy.locks(account) {
            tx.commit().await?;
            return Ok(SignInFinished::Held);
        }
        let factors = if sign_in_counts_factors(f.member.step) {
            Some(tally_in(&mut tx, &f.member).await?)
        } else {
            None
        };
        let plan = match sign_in_plan(f.member.step, factors.map_or(0, |t| t.total())) {
            Ok(plan) => plan,
            Err(e) => {
                tx.commit().await?;
                return Ok(SignInFinished::Refused(e.to_string()));
            }
        };
        let member = match plan.resting_after {
            Some(to) => apply_in(&mut tx, &f.factors_gone_transition(to)).await?,
            None => f.member.clone(),
        };
        delete_failures(&mut tx, ThrottleScope::UserId, &f.typed).await?;
        if plan.clears_account {
            delete_failures(&mut tx, ThrottleScope::Account, &account_key).await?;
        }
        insert_flow(&mut tx, &f.flow_for(&plan)).await?;
        insert_audit(&mut tx, &f.audit).await?;
        tx.commit().await?;
        Ok(SignInFinished::Started {
            member: Box::new(member),
            plan,
            factors,
        })
    }
}
