//! A roster batch into the import's staging table through `COPY … FROM STDIN`: one round trip
//! and no statement to parse per row, which is what makes a million-row roster import in
//! seconds on PostgreSQL (multi-row INSERTs spend most of their time binding parameters).
//!
//! The rows go as CSV with every field quoted, so a name or an address may hold any character
//! (commas, quotes, line breaks, tabs, backslashes) and arrives as it was read.

use crate::store::{RosterRow, StoreError};

/// The statement the data follows; the table is the import's TEMP staging table.
const COPY_STAGING: &str = "COPY roster_staging (line, symbol, number, birth_date, name, email, \
     user_id) FROM STDIN WITH (FORMAT csv)";

/// Appends `field` as a quoted CSV field (quotes doubled).
fn push_quoted(out: &mut Vec<u8>, field: &str) {
    out.push(b'"');
    for b in field.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The batch as the CSV that [`COPY_STAGING`] reads.
pub(super) fn staging_csv(rows: &[RosterRow]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 120);
    for r in rows {
        out.extend_from_slice(r.line.to_string().as_bytes());
        for field in [
            r.card.symbol.as_str(),
            r.card.number.as_str(),
            &r.birth_date.to_string(),
            &r.name,
            r.email.as_str(),
            r.user_id.as_str(),
        ] {
            out.push(b',');
            push_quoted(&mut out, field);
        }
        out.push(b'\n');
    }
    out
}

/// Puts the batch into the staging table (which the caller's transaction created).
pub(super) async fn stage_rows(
    conn: &mut sqlx::PgConnection,
    rows: &[RosterRow],
) -> Result<(), StoreError> {
    let data = staging_csv(rows);
    let mut copy = conn.copy_in_raw(COPY_STAGING).await?;
    if let Err(e) = copy.send(data).await {
        // The connection stays usable only once the COPY is ended.
        let _ = copy.abort("the roster batch could not be sent").await;
        return Err(e.into());
    }
    copy.finish().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::roster::demo_row;

    #[test]
    fn every_field_is_quoted_and_quotes_doubled() {
        let mut row = demo_row(0);
        row.line = 7;
        row.name = "山田 \"太郎\",\n\\x".to_owned();
        let csv = String::from_utf8(staging_csv(&[row.clone()])).unwrap();
        let expected = format!(
            "7,\"{}\",\"{}\",\"{}\",\"山田 \"\"太郎\"\",\n\\x\",\"{}\",\"{}\"\n",
            row.card.symbol,
            row.card.number,
            row.birth_date,
            row.email.as_str(),
            row.user_id.as_str()
        );
        assert_eq!(csv, expected);
        // Read back as PostgreSQL reads it: one record, the name as it was.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(csv.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0][4], row.name);
    }
}
