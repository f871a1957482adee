//! Roster import throughput, ignored by default (timings are reported, never asserted):
//! `cargo test --release --test import_bench -- --ignored --nocapture`.

use std::time::Instant;

use tobira::store::roster::demo_row;
use tobira::store::sqlite::SqliteStore;
use tobira::store::{RosterRow, Store};

const TOTAL: u64 = 1_000_000;
const BATCH: u64 = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in --release with --ignored --nocapture"]
async fn import_a_million_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();

    let started = Instant::now();
    let mut imported = 0;
    for start in (0..TOTAL).step_by(BATCH as usize) {
        // Generating rows stands in for CSV parsing, which the caller does between batches.
        let rows: Vec<RosterRow> = (start..start + BATCH).map(demo_row).collect();
        let out = store.import_roster(&rows, 1_000).await.unwrap();
        assert!(out.rejected.is_empty());
        imported += out.imported;
    }
    let first = started.elapsed();
    assert_eq!(imported, TOTAL);
    assert_eq!(store.member_count().await.unwrap(), TOTAL);
    println!(
        "import {TOTAL} new rows in batches of {BATCH}: {:.2} s",
        first.as_secs_f64()
    );

    // The same rows again, one in ten renamed: the update path on a full roster.
    let started = Instant::now();
    let (mut updated, mut unchanged) = (0, 0);
    for start in (0..TOTAL).step_by(BATCH as usize) {
        let rows: Vec<RosterRow> = (start..start + BATCH)
            .map(|i| {
                let mut r = demo_row(i);
                if i % 10 == 0 {
                    r.name.push_str(" 改");
                }
                r
            })
            .collect();
        let out = store.import_roster(&rows, 2_000).await.unwrap();
        updated += out.updated;
        unchanged += out.unchanged;
    }
    let second = started.elapsed();
    assert_eq!((updated, unchanged), (TOTAL / 10, TOTAL - TOTAL / 10));
    println!(
        "re-import {TOTAL} rows ({updated} changed): {:.2} s",
        second.as_secs_f64()
    );
    let size = std::fs::metadata(&path).unwrap().len();
    println!("database file: {} MB", size / 1_000_000);
}
