//! [`AuditStore`] on PostgreSQL: the append-only log (its triggers refuse updates, deletes and
//! truncation; see `migrations/postgres/0001_initial.sql`).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use crate::store::sql::audit as sql;
use crate::store::{
    AuditEntry, AuditFilter, AuditPage, AuditPageRequest, AuditRecord, AuditStore, MemberId,
    StoreError,
};

/// The most entries one page may hold.
const AUDIT_PAGE_MAX: u32 = 10_000;

fn audit_from_row(row: &PgRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        member_id: row.try_get("member_id")?,
        action: row.try_get("action")?,
        detail: row.try_get("detail")?,
    })
}

/// Appends an audit entry inside the caller's transaction.
pub(super) async fn insert_audit(
    conn: &mut sqlx::PgConnection,
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

/// One value bound to the page's statement.
enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}

/// The statement of one page of `filter` and its values, in `$n` order. Only fixed fragments
/// go into the text; every value is bound.
fn page_sql<'a>(filter: &'a AuditFilter, page: &AuditPageRequest) -> (String, Vec<Bind<'a>>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut binds = Vec::new();
    let mut cond = |binds: &mut Vec<Bind<'a>>, text: &str, value: Bind<'a>| {
        binds.push(value);
        conditions.push(format!("{text} ${}", binds.len()));
    };
    if let Some(id) = filter.member_id {
        cond(&mut binds, "member_id =", Bind::Int(id));
    }
    if let Some(since) = filter.since {
        cond(&mut binds, "at >=", Bind::Int(since));
    }
    if let Some(until) = filter.until {
        cond(&mut binds, "at <", Bind::Int(until));
    }
    let (after_op, order) = if filter.oldest_first {
        ("id >", "ASC")
    } else {
        ("id <", "DESC")
    };
    if let Some(after) = page.after {
        cond(&mut binds, after_op, Bind::Int(after));
    }
    if let Some(actor) = &filter.actor {
        cond(&mut binds, "actor =", Bind::Text(actor));
    }
    if let Some(action) = &filter.action {
        cond(&mut binds, "action =", Bind::Text(action));
    }
    let mut sql = "SELECT id, at, actor, member_id, action, detail FROM audit_log".to_owned();
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(&format!(" ORDER BY id {order} LIMIT ${}", binds.len() + 1));
    (sql, binds)
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

    async fn audit_page(
        &self,
        filter: &AuditFilter,
        page: &AuditPageRequest,
    ) -> Result<AuditPage, StoreError> {
        let limit = page.limit.clamp(1, AUDIT_PAGE_MAX);
        let (sql, binds) = page_sql(filter, page);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = match b {
                Bind::Int(i) => q.bind(i),
                Bind::Text(t) => q.bind(t.to_owned()),
            };
        }
        let rows = q.bind(i64::from(limit) + 1).fetch_all(&self.pool).await?;
        let mut records = rows
            .iter()
            .map(|row| {
                Ok(AuditRecord {
                    id: row.try_get("id")?,
                    entry: audit_from_row(row)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = if records.len() > limit as usize {
            records.truncate(limit as usize);
            records.last().map(|r| r.id)
        } else {
            None
        };
        Ok(AuditPage { records, next })
    }
}
