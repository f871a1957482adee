//! [`AuditStore`] on SQLite: the append-only log (its triggers refuse updates and deletes).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::store::sql::audit as sql;
use crate::store::{AuditEntry, AuditStore, MemberId, StoreError};

fn audit_from_row(row: &SqliteRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        member_id: row.try_get("member_id")?,
        action: row.try_get("action")?,
        detail: row.try_get("detail")?,
    })
}

/// Writes `entry` inside the caller's transaction.
pub(super) async fn insert_audit(
    conn: &mut sqlx::SqliteConnection,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(sql::INSERT)
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(entry.member_id)
        .bind(&entry.action)
        .bind(&entry.detail)
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        insert_audit(&mut conn, entry).await
    }

    async fn audit_log(
        &self,
        member_id: Option<MemberId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = match member_id {
            Some(id) => {
                sqlx::query(sql::OF_MEMBER)
                    .bind(id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(sql::ALL)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(audit_from_row).collect()
    }
}
