//! Importing a roster file: the CSV is read and checked on a blocking thread while the
//! store writes the previous batch, one transaction per batch.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::domain::{Actor, AuditAction};
use crate::store::roster::read_roster;
use crate::store::{AuditEntry, Rejection, RosterRow, Store, StoreError};

/// Rows per transaction: large enough to amortise a commit, small enough to bound memory.
pub const BATCH: usize = 10_000;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
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
}

/// The audit entry of one import run (one per run, never one per row: the import must stay fast).
fn run_audit(at: i64, action: AuditAction, detail: String) -> AuditEntry {
    AuditEntry::new(at, Actor::Import, action, None, detail)
}

/// Imports a roster CSV and writes one audit entry for the run. `progress` is called after
/// each batch with the bytes read so far.
pub async fn import_roster<R: Read + Send + 'static>(
    store: &dyn Store,
    reader: R,
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
        for item in read_roster(counting, today) {
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

    let mut report = ImportReport::default();
    while let Some(chunk) = rx.recv().await {
        match chunk {
            Chunk::Rows(rows) => {
                let outcome = match store.import_roster(&rows, at).await {
                    Ok(o) => o,
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
    store
        .append_audit(&run_audit(
            at,
            AuditAction::RosterImported,
            report.summary(),
        ))
        .await?;
    progress(read.load(Ordering::Relaxed));
    Ok(report)
}
