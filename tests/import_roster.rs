//! The roster import as operators run it on files Japanese systems export (issue 16): CP932 with
//! vendor-extension kanji, Japanese headers, slashed and compact dates, and the dry run.

use tobira::import::{ImportOptions, import_roster_with};
use tobira::roster::RosterEncoding;
use tobira::store::prelude::*;
use tobira::store::sqlite::SqliteStore;

const TODAY: time::Date = time::macros::date!(2026 - 11 - 25);

/// A CP932 roster: Japanese header, CR LF, each date form, names with 髙 (an IBM extension) and
/// 﨑 (an NEC-selected IBM extension), which only CP932 (not JIS X 0208 Shift_JIS) can write,
/// and one row with a bad date.
fn cp932_roster() -> Vec<u8> {
    let text = "記号,番号,生年月日,氏名,メールアドレス,ユーザID\r\n\
                12,3456789,1980/12/01,髙橋 一郎,takahashi@example.jp,taka0001\r\n\
                12,3456790,19750430,山﨑 花子,yamasaki@example.jp,yama0001\r\n\
                12,3456791,1990-01-15,神﨑 髙志,kanzaki@example.jp,kanz0001\r\n\
                12,3456792,1990.01.15,髙田 純,takada@example.jp,taka0002\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable, "every character is CP932");
    let bytes = bytes.into_owned();
    assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");
    bytes
}

async fn run(
    store: &SqliteStore,
    bytes: Vec<u8>,
    options: ImportOptions,
    at: i64,
) -> tobira::import::ImportReport {
    import_roster_with(
        store,
        std::io::Cursor::new(bytes),
        options,
        TODAY,
        at,
        |_| {},
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_cp932_roster_imports_with_its_names_intact_and_a_dry_run_writes_nothing() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let dry = ImportOptions {
        encoding: None,
        dry_run: true,
    };
    let report = run(&store, cp932_roster(), dry, 1_000).await;
    assert!(report.dry_run);
    assert_eq!(report.encoding, RosterEncoding::Cp932);
    assert!(report.encoding_detected);
    assert_eq!(
        (report.imported, report.updated, report.unchanged),
        (3, 0, 0)
    );
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].line, 5);
    assert_eq!(
        report.rejected[0].reason,
        "birthdate: a date of birth is written YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD"
    );
    // Nothing written: no member, no audit entry.
    assert_eq!(store.member_count().await.unwrap(), 0);
    assert!(store.audit_log(None, 10).await.unwrap().is_empty());

    let report = run(&store, cp932_roster(), ImportOptions::default(), 2_000).await;
    assert!(!report.dry_run);
    assert_eq!((report.imported, report.rejected.len()), (3, 1));
    let m = store.member_by_user_id("kanz0001").await.unwrap().unwrap();
    assert_eq!(m.name, "神﨑 髙志");
    assert_eq!(m.birth_date.to_string(), "1990-01-15");
    let m = store.member_by_user_id("yama0001").await.unwrap().unwrap();
    assert_eq!(m.name, "山﨑 花子");
    assert_eq!(m.birth_date.to_string(), "1975-04-30");
    assert_eq!(
        store
            .member_by_user_id("taka0001")
            .await
            .unwrap()
            .unwrap()
            .birth_date
            .to_string(),
        "1980-12-01"
    );
    assert_eq!(store.audit_log(None, 10).await.unwrap().len(), 1);

    // A dry run over imported members counts them as they are, and changes nothing.
    let mut renamed = cp932_roster();
    let (more, _, _) = encoding_rs::SHIFT_JIS
        .encode("12,3456789,1980/12/01,髙橋 一朗,takahashi@example.jp,taka0001\r\n");
    renamed.extend_from_slice(&more);
    let report = run(
        &store,
        renamed,
        ImportOptions {
            encoding: Some(RosterEncoding::Cp932),
            dry_run: true,
        },
        3_000,
    )
    .await;
    assert!(!report.encoding_detected);
    // The repeated card is refused by the reader, as in a real run.
    assert_eq!(
        (report.imported, report.updated, report.unchanged),
        (0, 0, 3)
    );
    assert_eq!(report.rejected.len(), 2);
    assert_eq!(store.audit_log(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.member_count().await.unwrap(), 3);
}

#[tokio::test]
async fn a_dry_run_reports_updates_without_making_them() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let csv = |name: &str| {
        format!(
            "symbol,number,birthdate,name,email,user_id\n\
             12,3456789,1980-12-01,{name},taro@example.jp,demo0001\n"
        )
        .into_bytes()
    };
    run(&store, csv("山田 太郎"), ImportOptions::default(), 1_000).await;
    let dry = ImportOptions {
        encoding: Some(RosterEncoding::Utf8),
        dry_run: true,
    };
    let report = run(&store, csv("山田 太朗"), dry, 2_000).await;
    assert_eq!(
        (report.imported, report.updated, report.unchanged),
        (0, 1, 0)
    );
    let m = store.member_by_user_id("demo0001").await.unwrap().unwrap();
    assert_eq!(m.name, "山田 太郎", "the dry run changed nothing");
    let json = report.to_json();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["encoding"], "UTF-8");
    assert_eq!(json["encoding_detected"], false);
    assert_eq!(json["updated"], 1);
    assert_eq!(json["rejected"], serde_json::json!([]));
}
