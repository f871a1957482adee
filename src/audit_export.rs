//! `tobira admin audit export`: the audit log, oldest first, as JSON Lines or CSV.
//!
//! Days are read in the portal's time zone (the one the staff and the printed letters use):
//! `--since 2026-12-01` starts at midnight there, `--until` includes its whole day. Entries
//! never hold a secret (the server writes none into the log), and the export writes only the
//! log's own columns.

use std::io::Write;

use crate::roster::parse_birth_date;
use crate::store::{AuditFilter, AuditPageRequest, AuditRecord, MemberId, Store, StoreError};

/// Entries read per page while exporting.
const PAGE: u32 = 1_000;

/// The CSV header, in the order of the columns.
pub const CSV_HEADER: [&str; 7] = ["id", "at", "time", "actor", "member_id", "action", "detail"];

/// The two formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180: a header line, CRLF line ends, fields quoted when they need it.
    Csv,
}

/// Why an export could not be made; the binary turns the first three into translated messages.
#[derive(Debug, thiserror::Error)]
pub enum AuditExportError {
    /// A `--since` or `--until` that is no date.
    #[error("{option}: {value:?} is not a date; write YYYY-MM-DD (for example 2026-12-01)")]
    BadDate {
        /// The option (`--since` or `--until`).
        option: &'static str,
        /// What was given.
        value: String,
    },
    /// `--until` before `--since`.
    #[error("--until {until} is before --since {since}")]
    UntilBeforeSince {
        /// As given.
        since: String,
        /// As given.
        until: String,
    },
    /// `--member` names no member.
    #[error("--member: no member has the user ID {0:?}")]
    UnknownMember(String),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    /// Writing CSV.
    #[error("cannot write the export: {0}")]
    Csv(#[from] csv::Error),
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// `--since`, as typed.
    pub since: String,
    /// `--until`, as typed.
    pub until: Option<String>,
    /// `--member`: a user ID, as typed.
    pub member: Option<String>,
    /// `--format`.
    pub format: ExportFormat,
}

/// The Unix time at which `day` (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD, full-width digits too)
/// starts in `zone`, and the start of the next day.
pub fn day_bounds(
    option: &'static str,
    day: &str,
    zone: &jiff::tz::TimeZone,
) -> Result<(i64, i64), AuditExportError> {
    let bad = || AuditExportError::BadDate {
        option,
        value: day.to_owned(),
    };
    let date = parse_birth_date(day).map_err(|_| bad())?.date();
    let civil = jiff::civil::Date::new(
        i16::try_from(date.year()).map_err(|_| bad())?,
        i8::try_from(u8::from(date.month())).map_err(|_| bad())?,
        i8::try_from(date.day()).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    let start = |d: jiff::civil::Date| {
        zone.to_timestamp(d.at(0, 0, 0, 0))
            .map(|t| t.as_second())
            .map_err(|_| bad())
    };
    let next = civil.tomorrow().map_err(|_| bad())?;
    Ok((start(civil)?, start(next)?))
}

/// Writes the entries `request` asks for to `out`, oldest first; returns how many.
pub async fn export(
    store: &dyn Store,
    request: &ExportRequest,
    zone: &jiff::tz::TimeZone,
    out: &mut dyn Write,
) -> Result<u64, AuditExportError> {
    let (since, _) = day_bounds("--since", &request.since, zone)?;
    let until = match &request.until {
        Some(day) => {
            let (start, end) = day_bounds("--until", day, zone)?;
            if start < since {
                return Err(AuditExportError::UntilBeforeSince {
                    since: request.since.clone(),
                    until: day.clone(),
                });
            }
            Some(end)
        }
        None => None,
    };
    let member_id: Option<MemberId> = match &request.member {
        Some(user) => {
            let id = crate::domain::user_id::normalize(user);
            Some(
                store
                    .member_by_user_id(&id)
                    .await?
                    .ok_or_else(|| AuditExportError::UnknownMember(user.clone()))?
                    .id,
            )
        }
        None => None,
    };
    let filter = AuditFilter {
        member_id,
        since: Some(since),
        until,
        oldest_first: true,
        ..AuditFilter::default()
    };
    match request.format {
        ExportFormat::Csv => {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(out);
            w.write_record(CSV_HEADER)?;
            let n = each_record(store, &filter, |r| Ok(w.write_record(csv_fields(r))?)).await?;
            w.flush()?;
            Ok(n)
        }
        ExportFormat::Jsonl => each_record(store, &filter, |r| write_jsonl(r, &mut *out)).await,
    }
}

/// Calls `f` with every entry `filter` matches, a page at a time; returns how many.
async fn each_record(
    store: &dyn Store,
    filter: &AuditFilter,
    mut f: impl FnMut(&AuditRecord) -> Result<(), AuditExportError>,
) -> Result<u64, AuditExportError> {
    let mut page = AuditPageRequest {
        after: None,
        limit: PAGE,
    };
    let mut count = 0u64;
    loop {
        let got = store.audit_page(filter, &page).await?;
        for record in &got.records {
            f(record)?;
            count += 1;
        }
        match got.next {
            Some(next) => page.after = Some(next),
            None => return Ok(count),
        }
    }
}

/// One entry as a JSON object on one line.
fn write_jsonl(record: &AuditRecord, out: &mut dyn Write) -> Result<(), AuditExportError> {
    let e = &record.entry;
    let line = serde_json::json!({
        "id": record.id,
        "at": e.at,
        "time": rfc3339(e.at),
        "actor": e.actor,
        "member_id": e.member_id,
        "action": e.action,
        "detail": e.detail,
    });
    writeln!(out, "{line}")?;
    Ok(())
}

/// One entry as CSV fields, in [`CSV_HEADER`] order.
fn csv_fields(record: &AuditRecord) -> [String; 7] {
    let e = &record.entry;
    [
        record.id.to_string(),
        e.at.to_string(),
        rfc3339(e.at),
        e.actor.clone(),
        e.member_id.map(|m| m.to_string()).unwrap_or_default(),
        e.action.clone(),
        e.detail.clone(),
    ]
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-06T02:23:00Z`).
fn rfc3339(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokyo() -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()
    }

    #[test]
    fn days_start_at_midnight_in_the_portals_zone() {
        // 2026-12-01 00:00 JST is 2026-11-30 15:00 UTC.
        let (start, end) = day_bounds("--since", "2026-12-01", &tokyo()).unwrap();
        assert_eq!(start, 1_796_050_800);
        assert_eq!(end - start, 86_400);
        for same in ["2026/12/01", "20261201", "２０２６－１２－０１"] {
            assert_eq!(
                day_bounds("--since", same, &tokyo()).unwrap().0,
                start,
                "{same}"
            );
        }
    }

    #[test]
    fn what_is_no_date_is_refused_naming_the_option() {
        for bad in ["", "yesterday", "2026-02-30", "2026-13-01", "12/01/2026"] {
            match day_bounds("--until", bad, &tokyo()) {
                Err(AuditExportError::BadDate { option, value }) => {
                    assert_eq!((option, value.as_str()), ("--until", bad));
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn csv_fields_follow_the_header() {
        let record = AuditRecord {
            id: 3,
            entry: crate::store::AuditEntry {
                at: 0,
                actor: "staff:7".into(),
                member_id: None,
                action: "hold.lifted".into(),
                detail: "a, \"b\"\nc".into(),
            },
        };
        let f = csv_fields(&record);
        assert_eq!(f.len(), CSV_HEADER.len());
        assert_eq!(f[2], "1970-01-01T00:00:00Z");
        assert_eq!(f[4], "");
    }
}
