//! Roster import throughput, ignored by default (timings are reported, never asserted):
//! `cargo test --release --test import_bench -- --ignored --nocapture`.

use std::time::Instant;

use tobira::store::RosterRow;
use tobira::store::prelude::*;
use tobira::store::roster::demo_row;
use tobira::store::sqlite::SqliteStore;

const TOTAL: u64 = 1_000_000;
const BATCH: u64 = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in --release with --ignored --nocapture"]
async fn import_a_million_rows() {
    import_and_reimport("in card order", |k| k).await;
}

/// The worst case for the indexes: every batch lands all over the card and user ID keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in --release with --ignored --nocapture"]
async fn import_a_million_rows_shuffled() {
    // 7919 is prime to TOTAL, so this visits every index once.
    import_and_reimport("shuffled", |k| (k * 7919 + 13) % TOTAL).await;
}

async fn import_and_reimport(label: &str, order: fn(u64) -> u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();

    let started = Instant::now();
    let mut imported = 0;
    for start in (0..TOTAL).step_by(BATCH as usize) {
        // Generating rows stands in for CSV parsing, which the caller does between batches.
        let rows: Vec<RosterRow> = (start..start + BATCH).map(|k| demo_row(order(k))).collect();
        let out = store.import_roster(&rows, 1_000).await.unwrap();
        assert!(out.rejected.is_empty());
        imported += out.imported;
    }
    let first = started.elapsed();
    assert_eq!(imported, TOTAL);
    assert_eq!(store.member_count().await.unwrap(), TOTAL);
    println!(
        "import {TOTAL} new rows ({label}) in batches of {BATCH}: {:.2} s",
        first.as_secs_f64()
    );

    // The same rows again, one in ten renamed: the update path on a full roster.
    let started = Instant::now();
    let (mut updated, mut unchanged) = (0, 0);
    for start in (0..TOTAL).step_by(BATCH as usize) {
        let rows: Vec<RosterRow> = (start..start + BATCH)
            .map(|k| {
                let i = order(k);
                let mut r = demo_row(i);
                if i.is_multiple_of(10) {
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
        "re-import {TOTAL} rows ({label}, {updated} changed): {:.2} s",
        second.as_secs_f64()
    );
    // Until the next checkpoint part of the data lives in the WAL.
    let wal = path.with_extension("db-wal");
    let size =
        std::fs::metadata(&path).unwrap().len() + std::fs::metadata(&wal).map_or(0, |m| m.len());
    println!("database + WAL: {} MB", size / 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in --release with --ignored --nocapture"]
async fn import_a_million_row_csv() {
    use std::io::Write;

    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("roster.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv_path).unwrap());
    writeln!(out, "symbol,number,birthdate,name,email,user_id").unwrap();
    for i in 0..TOTAL {
        let r = demo_row(i);
        writeln!(
            out,
            "{},{},{},{},{},{}",
            r.card.symbol, r.card.number, r.birth_date, r.name, r.email, r.user_id
        )
        .unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();

    let db_path = dir.path().join("bench.db");
    let store = SqliteStore::open(db_path.to_str().unwrap()).await.unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    let started = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(&csv_path).unwrap());
    let mut batch = Vec::with_capacity(BATCH as usize);
    let mut imported = 0;
    for row in tobira::store::roster::read_roster(file, today) {
        batch.push(row.unwrap());
        if batch.len() == BATCH as usize {
            imported += store.import_roster(&batch, 1_000).await.unwrap().imported;
            batch.clear();
        }
    }
    imported += store.import_roster(&batch, 1_000).await.unwrap().imported;
    let took = started.elapsed();
    assert_eq!(imported, TOTAL);
    println!(
        "parse + import a {TOTAL}-row CSV in batches of {BATCH}: {:.2} s",
        took.as_secs_f64()
    );
}
