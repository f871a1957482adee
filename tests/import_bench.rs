//! Roster import throughput, ignored by default (timings are reported, never asserted):
//! `cargo test --release --test import_bench -- --ignored --nocapture`.

use std::time::Instant;

use tobira::store::postgres::PgStore;
use tobira::store::prelude::*;
use tobira::store::roster::demo_row;
use tobira::store::sqlite::SqliteStore;
use tobira::store::{RosterRow, Store};

#[path = "common/postgres.rs"]
mod pg_harness;

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
    import_and_reimport_into(&store, label, order).await;
    // Until the next checkpoint part of the data lives in the WAL.
    let wal = path.with_extension("db-wal");
    let size =
        std::fs::metadata(&path).unwrap().len() + std::fs::metadata(&wal).map_or(0, |m| m.len());
    println!("database + WAL: {} MB", size / 1_000_000);
}

/// On the PostgreSQL server the tests start (`common/postgres.rs`: fsync, synchronous commit
/// and full-page writes off, so the disk counts for less than on a production server; `tobira
/// bench import --database postgres://…` measures a server of your own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in --release with --ignored --nocapture"]
async fn import_a_million_rows_postgres() {
    let url = pg_harness::fresh_database().await;
    let store = PgStore::connect(&url).await.unwrap();
    import_and_reimport_into(&store, "PostgreSQL, in card order", |k| k).await;
}

/// The helpdesk search at a million members on the tests' PostgreSQL server: p50 / p99 per
/// kind of query, as `tobira bench helpdesk-search --database postgres://…` prints them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in --release with --ignored --nocapture"]
async fn helpdesk_search_a_million_members_postgres() {
    let url = pg_harness::fresh_database().await;
    let b = tobira::bench::helpdesk_search::helpdesk_search_postgres(&url, TOTAL, 2_000, 1_000)
        .await
        .unwrap();
    println!(
        "built {} members in {:.1} s",
        b.members,
        b.build.unwrap().as_secs_f64()
    );
    println!("kind                     p50 ms   p99 ms   max ms  p99 not queued");
    for k in &b.kinds {
        println!(
            "{:<24} {:>7.3} {:>8.3} {:>8.3} {:>8}",
            k.kind,
            k.p50.as_secs_f64() * 1e3,
            k.p99.as_secs_f64() * 1e3,
            k.max.as_secs_f64() * 1e3,
            k.p99_unqueued
                .map_or("-".to_owned(), |d| format!("{:.3}", d.as_secs_f64() * 1e3)),
        );
    }
}

/// A first import of [`TOTAL`] rows into `store` (empty), then the same rows again with one in
/// ten renamed; prints both times.
async fn import_and_reimport_into(store: &dyn Store, label: &str, order: fn(u64) -> u64) {
    let started = Instant::now();
    // As `tobira admin import` does around its batches.
    store.roster_load_begin().await.unwrap();
    let mut imported = 0;
    for start in (0..TOTAL).step_by(BATCH as usize) {
        // Generating rows stands in for CSV parsing, which the caller does between batches.
        let rows: Vec<RosterRow> = (start..start + BATCH).map(|k| demo_row(order(k))).collect();
        let out = store.import_roster(&rows, 1_000).await.unwrap();
        assert!(out.rejected.is_empty());
        imported += out.imported;
    }
    store.roster_load_end().await.unwrap();
    let first = started.elapsed();
    assert_eq!(imported, TOTAL);
    assert_eq!(store.member_count().await.unwrap(), TOTAL);
    println!(
        "import {TOTAL} new rows ({label}) in batches of {BATCH}: {:.2} s",
        first.as_secs_f64()
    );

    // The same rows again, one in ten renamed: the update path on a full roster.
    let started = Instant::now();
    store.roster_load_begin().await.unwrap();
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
    store.roster_load_end().await.unwrap();
    let second = started.elapsed();
    assert_eq!((updated, unchanged), (TOTAL / 10, TOTAL - TOTAL / 10));
    println!(
        "re-import {TOTAL} rows ({label}, {updated} changed): {:.2} s",
        second.as_secs_f64()
    );
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
