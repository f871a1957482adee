//! A roster load's index builds and vacuum take seconds at a million members, and sqlx warns of
//! every statement over a second: they run where sqlx does not report statements, while the
//! store's other statements are still reported.
//!
//! A binary of its own: the capture is the process's global subscriber (a thread's own is not
//! reliable while other tests' threads reach the same call sites).

#[path = "common/postgres.rs"]
mod pg_harness;

use std::sync::{Arc, Mutex};

use tobira::store::postgres::PgStore;
use tobira::store::prelude::*;

/// What the subscriber writes, kept for the assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_loads_index_builds_are_not_reported_as_slow_statements() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_env_filter("sqlx::query=debug")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    )
    .unwrap();

    let url = pg_harness::fresh_database().await;
    let store = PgStore::connect(&url).await.unwrap();
    // On an empty table the load drops the search indexes; its end builds them again.
    store.roster_load_begin().await.unwrap();
    captured.0.lock().unwrap().clear();
    store.roster_load_end().await.unwrap();

    let built: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'members' AND indexname IN \
         ('members_name_trgm', 'members_name_grams', 'members_number', \
          'members_email_lower', 'members_name_walk')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(built, 5);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("to_regclass"),
        "the store's reads are reported: {log}"
    );
    for bulk in ["CREATE INDEX", "tobira_name_pairs_build", "VACUUM"] {
        assert!(!log.contains(bulk), "{bulk} reported: {log}");
    }
}
