//! Importing a roster file: the CSV is read and checked on a blocking thread while the
//! store writes the previous batch, one transaction per batch. A dry run does the same work
//! and rolls every batch back.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::domain::{Actor, AuditAction};
use crate::roster::RosterEncoding;
use crate::store::roster::read_roster_as;
use crate::store::{AuditEntry, ImportOutcome, Rejection, RosterRow, Store, StoreError};

/// Rows per transaction: large enough to amortise a commit, small enough to bound memory.
pub const BATCH: usize = 10_000;

/// How to read and what to do with a roster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// The file's encoding; `None` detects it from the first bytes.
    pub encoding: Option<RosterEncoding>,
    /// Check everything against the database and report, but write nothing (no member, no
    /// audit entry).
    pub dry_run: bool,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// The encoding the file was read in.
    pub encoding: RosterEncoding,
    /// Whether `encoding` was detected rather than given.
    pub encoding_detected: bool,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// New members.
    pub imported: u64,
    /// Members whose roster data changed.
    pub updated: u64,
    /// Members already as the file says.
    pub unchanged: u64,
    /// Rows refused, by the reader or the store, in line order.
    pub rejected: Vec<Rejection>,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The database failed; batches before the failing one are committed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reading thread died.
    #[error("the roster reader stopped unexpectedly: {0}")]
    Reader(String),
}

/// Counts the bytes read through it, for a progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Chunk {
    Encoding(RosterEncoding),
    Rows(Vec<RosterRow>),
    Rejected(Rejection),
}

impl ImportReport {
    /// One line for the audit log and the operator.
    pub fn summary(&self) -> String {
        format!(
            "{} imported, {} updated, {} unchanged, {} rejected",
            self.imported,
            self.updated,
            self.unchanged,
            self.rejected.len()
        )
    }

    /// The report as JSON (`tobira admin import --format json`).
    pub fn to_json(&self) -> serde_json::Value {
        let rejected: Vec<serde_json::Value> = self
            .rejected
            .iter()
            .map(|r| serde_json::json!({ "line": r.line, "reason": r.reason }))
            .collect();
        serde_json::json!({
            "dry_run": self.dry_run,
            "encoding": self.encoding.name(),
            "encoding_detected": self.encoding_detected,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected_count": self.rejected.len(),
            "rejected": rejected,
        })
    }
}

/// The audit entry of one import run (one per run, never one per row: the import must stay fast).
fn run_audit(at: i64, action: AuditAction, detail: String) -> AuditEntry {
    AuditEntry::new(at, Actor::Import, action, None, detail)
}

/// Imports a roster CSV (encoding detected) and writes one audit entry for the run.
/// `progress` is called after each batch with the bytes read so far.
pub async fn import_roster<R: Read + Send + 'static>(
    store: &dyn Store,
    reader: R,
    today: time::Date,
    at: i64,
    progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    import_roster_with(store, reader, ImportOptions::default(), today, at, progress).await
}

/// [`import_roster`] with the encoding given or a dry run. A dry run checks each batch against
/// the database in a transaction that is rolled back, so its counts are what an import would
/// report, except that batches do not see each other's changes (a user ID that an earlier
/// batch frees is still taken for a later one).
pub async fn import_roster_with<R: Read + Send + 'static>(
    store: &dyn Store,
    reader: R,
    options: ImportOptions,
    today: time::Date,
    at: i64,
    progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    if options.dry_run {
        return import_batches(store, reader, options, today, at, progress).await;
    }
    store.roster_load_begin().await?;
    let imported = import_batches(store, reader, options, today, at, progress).await;
    // Also after a failed batch: the store must not stay prepared for a load that ended.
    let ended = store.roster_load_end().await;
    let report = imported?;
    ended?;
    Ok(report)
}

/// The batches of [`import_roster_with`], between the store's preparation and its end.
async fn import_batches<R: Read + Send + 'static>(
    store: &dyn Store,
    reader: R,
    options: ImportOptions,
    today: time::Date,
    at: i64,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: reader,
        read: read.clone(),
    };
    // Two batches in flight: the reader parses one while the store writes the other.
    let (tx, mut rx) = mpsc::channel::<Chunk>(2);
    let producer = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(BATCH);
        let rows = read_roster_as(counting, today, options.encoding);
        if tx.blocking_send(Chunk::Encoding(rows.encoding())).is_err() {
            return;
        }
        for item in rows {
            let sent = match item {
                Ok(row) => {
                    batch.push(row);
                    if batch.len() < BATCH {
                        continue;
                    }
                    tx.blocking_send(Chunk::Rows(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(BATCH),
                    )))
                }
                Err(rejection) => tx.blocking_send(Chunk::Rejected(rejection)),
            };
            if sent.is_err() {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Chunk::Rows(batch));
        }
    });

    let mut report = ImportReport {
        encoding_detected: options.encoding.is_none(),
        dry_run: options.dry_run,
        ..ImportReport::default()
    };
    while let Some(chunk) = rx.recv().await {
        match chunk {
            Chunk::Encoding(encoding) => report.encoding = encoding,
            Chunk::Rows(rows) => {
                let outcome = match write_batch(store, &rows, at, options.dry_run).await {
                    Ok(o) => o,
                    Err(e) if options.dry_run => return Err(e.into()),
                    Err(e) => {
                        // Earlier batches are committed: the log must say how far the run got.
                        let detail = format!("stopped after {}: {e}", report.summary());
                        if let Err(audit_err) = store
                            .append_audit(&run_audit(at, AuditAction::RosterImportFailed, detail))
                            .await
                        {
                            tracing::error!(error = %audit_err, "cannot audit the failed import");
                        }
                        return Err(e.into());
                    }
                };
                report.imported += outcome.imported;
                report.updated += outcome.updated;
                report.unchanged += outcome.unchanged;
                report.rejected.extend(outcome.rejected);
                progress(read.load(Ordering::Relaxed));
            }
            Chunk::Rejected(r) => report.rejected.push(r),
        }
    }
    producer
        .await
        .map_err(|e| ImportError::Reader(e.to_string()))?;
    report.rejected.sort_by_key(|r| r.line);
    if !options.dry_run {
        store
            .append_audit(&run_audit(
                at,
                AuditAction::RosterImported,
                report.summary(),
            ))
            .await?;
    }
    progress(read.load(Ordering::Relaxed));
    Ok(report)
}

/// One batch, written or (dry run) previewed.
async fn write_batch(
    store: &dyn Store,
    rows: &[RosterRow],
    at: i64,
    dry_run: bool,
) -> Result<ImportOutcome, StoreError> {
    if dry_run {
        store.preview_roster(rows, at).await
    } else {
        store.import_roster(rows, at).await
    }
}
