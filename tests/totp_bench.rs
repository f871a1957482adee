//! `tobira bench totp` measures a working verify path (no timing asserted here: run the command
//! in release for the figure).

#[tokio::test]
async fn the_totp_bench_verifies_every_code() {
    let dir = tempfile::tempdir().unwrap();
    let b = tobira::bench::totp(dir.path(), 20, 5, 1_795_564_800)
        .await
        .unwrap();
    assert_eq!((b.iterations, b.devices), (20, 5));
    assert!(b.p50 <= b.p99 && b.p99 <= b.max);
}
