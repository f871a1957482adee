//! [`SignInStore`] on PostgreSQL: a sign-in's two transactions.
//!
//! Lock order in `finish_sign_in`: the member's row first when the plan depends on their second
//! factors (as every change that reads the device count), then the throttle rows in the global
//! order of `flows::lock_failures` — the account's row among them when the plan forgets its
//! failures, so that it is never locked after the address's (a code check locks account, then
//! address).

use async_trait::async_trait;
use sqlx::Row;

use super::flows::{
    delete_failures, insert_flow, lock_failures, read_failures, release_locked, reserve_in,
};
use super::members::{apply_in, lock_member, member_by_user_id_in};
use super::{PgStore, insert_audit};
use crate::domain::flow::{sign_in_counts_factors, sign_in_plan};
use crate::store::sql::factors as sql;
use crate::store::{
    AttemptReservation, Member, SecondFactorTally, SignInFinish, SignInFinished, SignInStore,
    StoreError, ThrottleKey, ThrottleScope,
};

/// The member's second factors by kind, inside the transaction.
async fn tally_in(
    conn: &mut sqlx::PgConnection,
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
impl SignInStore for PgStore {
    async fn reserve_sign_in(
        &self,
        keys: &[ThrottleKey],
        user_id: &str,
        now: i64,
    ) -> Result<(AttemptReservation, Option<Member>), StoreError> {
        let mut tx = self.begin().await?;
        let reservation = reserve_in(&mut tx, keys, now).await?;
        if !matches!(reservation, AttemptReservation::Reserved(_)) {
            // Dropping the transaction rolls back the locking upserts.
            return Ok((reservation, None));
        }
        let member = member_by_user_id_in(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok((reservation, member))
    }

    async fn finish_sign_in(&self, f: &SignInFinish) -> Result<SignInFinished, StoreError> {
        let mut tx = self.begin().await?;
        let factors = if sign_in_counts_factors(f.member.step) {
            lock_member(&mut tx, f.member.id).await?;
            Some(tally_in(&mut tx, &f.member).await?)
        } else {
            None
        };
        let plan = sign_in_plan(f.member.step, factors.map_or(0, |t| t.total()));
        let account_key = f.member.id.to_string();
        let clears_account = plan.as_ref().is_ok_and(|p| p.clears_account);
        let mut keys: Vec<(ThrottleScope, &str)> = f
            .reserved
            .iter()
            .map(|r| (r.scope, r.key.as_str()))
            .collect();
        if clears_account {
            keys.push((ThrottleScope::Account, &account_key));
        }
        let records = lock_failures(&mut tx, &keys).await?;
        release_locked(&mut tx, &f.reserved, &records).await?;
        let account = match records.get(f.reserved.len()) {
            Some(&locked) => locked,
            None => read_failures(&mut tx, ThrottleScope::Account, &account_key).await?,
        };
        if f.account_policy.locks(account) {
            tx.commit().await?;
            return Ok(SignInFinished::Held);
        }
        let plan = match plan {
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
