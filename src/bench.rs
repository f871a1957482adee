//! `tobira bench`: measurements of the real code paths on generated data.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::store::Store;
use crate::store::roster::demo_row;
use crate::store::sqlite::SqliteStore;

/// What `bench import` measured.
#[derive(Debug, Clone)]
pub struct ImportBench {
    /// Rows in the generated file.
    pub rows: u64,
    /// Size of the generated file.
    pub file_bytes: u64,
    /// Time to import the file into a fresh database (reading, checking and writing).
    pub import: Duration,
    /// Time to re-import the same file (everything unchanged).
    pub reimport: Duration,
    /// Mean time of one sign-in lookup by user ID in the full database.
    pub lookup_mean: Duration,
}

/// Why a benchmark failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// File I/O.
    #[error("bench file: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV writer.
    #[error("bench CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The store.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The import.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// The import did not do what it should (a bench that measures a broken run is worthless).
    #[error("bench import went wrong: {0}")]
    Wrong(String),
}

/// Writes `rows` generated members as a roster CSV.
pub fn write_roster(path: &Path, rows: u64) -> Result<u64, BenchError> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = csv::Writer::from_writer(file);
    w.write_record(crate::store::roster::HEADER)?;
    for i in 0..rows {
        let r = demo_row(i);
        w.write_record([
            r.card.symbol.as_str(),
            r.card.number.as_str(),
            &r.birth_date.to_string(),
            &r.name,
            r.email.as_str(),
            r.user_id.as_str(),
        ])?;
    }
    w.into_inner()
        .map_err(|e| BenchError::Io(e.into_error()))?
        .flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Generates a roster of `rows` members in `dir`, imports it into a fresh SQLite database there
/// (the same code as `tobira admin import`), imports it again, and times sign-in lookups.
pub async fn import(
    dir: &Path,
    rows: u64,
    now: i64,
    today: time::Date,
) -> Result<ImportBench, BenchError> {
    let csv_path = dir.join("roster.csv");
    let file_bytes = write_roster(&csv_path, rows)?;
    let db = dir.join("bench.db");
    let store = SqliteStore::open(&db.to_string_lossy()).await?;

    let started = Instant::now();
    let report =
        crate::import::import_roster(&store, std::fs::File::open(&csv_path)?, today, now, |_| {})
            .await?;
    let import = started.elapsed();
    if report.imported != rows || !report.rejected.is_empty() {
        return Err(BenchError::Wrong(format!(
            "imported {} of {rows}, {} rejected",
            report.imported,
            report.rejected.len()
        )));
    }

    let started = Instant::now();
    let again =
        crate::import::import_roster(&store, std::fs::File::open(&csv_path)?, today, now, |_| {})
            .await?;
    let reimport = started.elapsed();
    if again.unchanged != rows {
        return Err(BenchError::Wrong(format!(
            "re-import left {} of {rows} unchanged",
            again.unchanged
        )));
    }

    let probes = 10_000u64.min(rows.max(1));
    let started = Instant::now();
    for k in 0..probes {
        // Spread the probes over the whole roster.
        let i = k.wrapping_mul(2_654_435_761) % rows.max(1);
        let id = demo_row(i).user_id;
        if store.member_by_user_id(id.as_str()).await?.is_none() {
            return Err(BenchError::Wrong(format!("member {id} not found")));
        }
    }
    let lookup_mean = started.elapsed() / probes as u32;
    Ok(ImportBench {
        rows,
        file_bytes,
        import,
        reimport,
        lookup_mean,
    })
}
