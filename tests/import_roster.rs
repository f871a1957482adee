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

/// A UTF-8 roster of members `range`, named by `name_of`.
fn numbered_roster(range: std::ops::Range<usize>, name_of: impl Fn(usize) -> String) -> Vec<u8> {
    let mut csv = String::from("symbol,number,birthdate,name,email,user_id\n");
    for i in range {
        csv.push_str(&format!(
            "12,{},1980-12-01,{},m{i}@example.jp,memb{i:04}\n",
            1_000_000 + i,
            name_of(i)
        ));
    }
    csv.into_bytes()
}

fn first_name(i: usize) -> String {
    const FAMILY: [&str; 6] = ["山田", "林", "小林", "佐藤", "鈴木", "Kobayashi"];
    const GIVEN: [&str; 5] = ["太郎", "美咲", "翔", "花子", "Ken"];
    format!("{} {}", FAMILY[i % 6], GIVEN[i % 5])
}

/// The re-import's names: every third member renamed, every fifth only respaced (ideographic
/// space, the same search key), every seventh with its Latin letters upper-cased.
fn second_name(i: usize) -> String {
    if i.is_multiple_of(3) {
        format!("改名 {}", ["一郎", "次郎", "三郎"][i % 3 + (i / 3) % 2])
    } else if i.is_multiple_of(5) {
        first_name(i).replace(' ', "\u{3000}")
    } else if i.is_multiple_of(7) {
        first_name(i).to_uppercase()
    } else {
        first_name(i)
    }
}

/// Both search indexes hold exactly what the members' current names give: the gram table
/// equals the pieces recomputed from `members` (the backfill of migration 0008), the full-text
/// index holds one row per member, and each member's whole key of three characters or more finds it.
async fn assert_search_index_exact(store: &SqliteStore) {
    const EXPECTED_GRAMS: &str = "SELECT substr(k.key, p.n, g.w), k.id \
        FROM (SELECT id, lower(replace(replace(replace(name, ' ', ''), char(12288), ''), \
              char(9), '')) AS key FROM members) AS k, \
             search_positions AS p, search_gram_widths AS g \
        WHERE p.n + g.w - 1 <= length(k.key)";
    for (a, b) in [
        (
            "SELECT gram, member_id FROM member_name_grams",
            EXPECTED_GRAMS,
        ),
        (
            EXPECTED_GRAMS,
            "SELECT gram, member_id FROM member_name_grams",
        ),
    ] {
        let (extra,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM ({a} EXCEPT {b})"
        )))
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(extra, 0, "{a}\nEXCEPT\n{b}");
    }
    let indexed: Vec<(i64,)> = sqlx::query_as("SELECT rowid FROM member_names ORDER BY rowid")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let members: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM members ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(
        indexed.iter().map(|r| r.0).collect::<Vec<_>>(),
        members.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    for (id, name) in &members {
        let key = tobira::domain::member_search::name_key(name);
        if key.chars().count() < 3 {
            // The trigram index has no token for it (the gram table answers those).
            continue;
        }
        let hits: Vec<(i64,)> =
            sqlx::query_as("SELECT rowid FROM member_names WHERE member_names MATCH ?")
                .bind(format!("\"{key}\""))
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert!(hits.iter().any(|h| h.0 == *id), "{name} ({id})");
    }
}

async fn found(store: &SqliteStore, typed: &str) -> std::collections::BTreeSet<String> {
    use tobira::domain::SearchQuery;
    use tobira::store::PageRequest;
    let query = SearchQuery::parse(typed).unwrap();
    let mut page = PageRequest::first(50);
    let mut all = std::collections::BTreeSet::new();
    loop {
        let got = store.search_members(&query, &page).await.unwrap();
        all.extend(got.hits.into_iter().map(|h| h.user_id));
        match got.next {
            Some(next) => page.after = Some(next),
            None => return all,
        }
    }
}

fn ids(range: impl Iterator<Item = usize>) -> std::collections::BTreeSet<String> {
    range.map(|i| format!("memb{i:04}")).collect()
}

/// The import writes the search index itself (not through the triggers): after a first import
/// and a re-import that renames, respaces and re-cases names and adds members, every name is
/// found by any part and no old name is.
#[tokio::test]
async fn imports_and_reimports_keep_the_search_index_exact() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let report = run(
        &store,
        numbered_roster(0..240, first_name),
        ImportOptions::default(),
        1_000,
    )
    .await;
    assert_eq!(report.imported, 240);
    assert_search_index_exact(&store).await;
    assert_eq!(found(&store, "改名").await, ids(std::iter::empty()));
    assert_eq!(
        found(&store, "山田").await,
        ids((0..240).filter(|i| i % 6 == 0))
    );

    let report = run(
        &store,
        numbered_roster(0..300, second_name),
        ImportOptions::default(),
        2_000,
    )
    .await;
    assert_eq!(report.imported, 60);
    let changed = (0..240)
        .filter(|&i| second_name(i) != first_name(i))
        .count();
    assert_eq!(report.updated, changed as u64);
    assert_search_index_exact(&store).await;
    let renamed = |i: &usize| i.is_multiple_of(3);
    assert_eq!(found(&store, "改名").await, ids((0..300).filter(renamed)));
    assert_eq!(
        found(&store, "次郎").await,
        ids((0..300).filter(|i| i % 6 == 3))
    );
    assert_eq!(
        found(&store, "山田").await,
        ids((0..300).filter(|i| i % 6 == 0 && !renamed(i))),
        "a renamed member's old name leaves no hit"
    );
    // Respaced and re-cased names keep their key: still found, by one or two characters too.
    assert_eq!(
        found(&store, "kobayashiken").await,
        ids((0..300).filter(|i| i % 6 == 5 && i % 5 == 4 && !renamed(i)))
    );
    assert_eq!(
        found(&store, "林").await,
        ids((0..300).filter(|i| matches!(i % 6, 1 | 2) && !renamed(i)))
    );

    // Unchanged rows again: nothing moves in either index.
    let report = run(
        &store,
        numbered_roster(0..300, second_name),
        ImportOptions::default(),
        3_000,
    )
    .await;
    assert_eq!((report.imported, report.updated), (0, 0));
    assert_search_index_exact(&store).await;
    // Writes outside the import are still indexed by the triggers.
    let (paused,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM search_index_paused")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(paused, 0);
    sqlx::query("UPDATE members SET name = '渡辺 直美' WHERE user_id = 'memb0001'")
        .execute(store.pool())
        .await
        .unwrap();
    assert_search_index_exact(&store).await;
    assert_eq!(found(&store, "渡辺").await, ids([1].into_iter()));
}
