//! `tobira bench helpdesk-search`: the helpdesk console's search, timed per kind of query on
//! a SQLite file of generated members with realistic Japanese names.
//!
//! What is timed is the server's part of one keystroke: reading the string
//! ([`SearchQuery::parse`]) and reading the first page of hits from the store. The queries are
//! cut from the members themselves (a character, two, or a longer piece of a real name; the
//! start of a real user ID; a real card; a real address), so common names are asked for as
//! often as they occur, which is where the work is.

use std::path::Path;
use std::time::{Duration, Instant};

use super::BenchError;
use crate::domain::member_search::name_key;
use crate::domain::{BirthDate, SearchQuery};
use crate::store::prelude::*;
use crate::store::roster::demo_row;
use crate::store::sqlite::SqliteStore;
use crate::store::{PageRequest, RosterRow};

/// Hits per page, as the console asks.
pub const PAGE: u32 = 20;

/// Rows per import batch while building the database.
const BATCH: u64 = 20_000;

/// Common family names, most frequent first (the order of Japanese surname rankings), with
/// the one-character names (林, 森, 原, …) that only the 1–2 character index can find.
const FAMILY: &[&str] = &[
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "山下",
    "中島",
    "石井",
    "小川",
    "前田",
    "岡田",
    "長谷川",
    "藤田",
    "後藤",
    "近藤",
    "村上",
    "遠藤",
    "青木",
    "坂本",
    "斉藤",
    "福田",
    "太田",
    "西村",
    "藤井",
    "金子",
    "岡本",
    "藤原",
    "中野",
    "三浦",
    "原田",
    "中川",
    "松田",
    "竹内",
    "小野",
    "田村",
    "中山",
    "和田",
    "石田",
    "森田",
    "上田",
    "原",
    "内田",
    "柴田",
    "酒井",
    "宮崎",
    "横山",
    "高木",
    "安藤",
    "宮本",
    "大野",
    "小島",
    "谷口",
    "今井",
    "工藤",
    "高田",
    "増田",
    "丸山",
    "杉山",
    "村田",
    "大塚",
    "新井",
    "小山",
    "平野",
    "藤本",
    "河野",
    "上野",
    "野口",
    "武田",
    "松井",
    "千葉",
    "岩崎",
    "菅原",
    "木下",
    "久保",
    "佐野",
    "野村",
    "松尾",
    "菊地",
    "杉本",
    "市川",
    "東",
    "南",
    "西田",
    "北村",
    "関",
    "堀",
];

/// Given names in kanji, hiragana and katakana, one to three characters.
const GIVEN: &[&str] = &[
    "太郎",
    "花子",
    "一郎",
    "美咲",
    "健太",
    "陽子",
    "翔",
    "さくら",
    "大輔",
    "由美",
    "蓮",
    "陽翔",
    "湊",
    "結菜",
    "葵",
    "陽菜",
    "凛",
    "芽依",
    "悠真",
    "大和",
    "誠",
    "茜",
    "愛",
    "薫",
    "翼",
    "ひなた",
    "あおい",
    "ゆい",
    "みゆき",
    "かおり",
    "エミ",
    "マリア",
    "ケン",
    "健一",
    "浩二",
    "和子",
    "幸子",
    "恵子",
    "洋子",
    "直樹",
    "拓也",
    "達也",
    "智子",
    "裕子",
    "真由美",
    "明美",
    "博",
    "勇",
    "清",
    "進",
    "亮",
    "剛",
    "学",
    "修",
    "隆",
    "実",
    "稔",
    "茂",
    "昭",
    "弘",
    "正",
    "美穂",
    "麻衣",
    "彩",
    "瞳",
    "舞",
    "楓",
    "颯太",
    "蒼",
    "樹",
    "律",
    "朝陽",
    "結衣",
    "紬",
    "澪",
    "杏",
    "莉子",
    "咲良",
    "七海",
    "心春",
    "美月",
    "琴音",
    "奏太",
    "悠人",
    "陸",
    "海斗",
    "健二",
    "康介",
    "雄一",
    "秀樹",
    "和也",
    "信也",
    "優子",
    "久美子",
    "千尋",
    "里美",
    "沙織",
];

/// SplitMix64: a fixed, fast, well-mixed sequence, so a database built with the same `N` is
/// the same database.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// An index into a list of `len`, skewed towards the front like name frequencies (the square
/// of a uniform draw: the first tenth of the list gets about a third of the members).
fn skewed(h: u64, len: usize) -> usize {
    let u = (h % 1_000_000) as f64 / 1_000_000.0;
    ((u * u) * len as f64) as usize % len
}

/// The name of generated member `i`: family name, a space, given name.
pub fn member_name(i: u64) -> String {
    let h = mix(i);
    format!(
        "{} {}",
        FAMILY[skewed(h, FAMILY.len())],
        GIVEN[skewed(h >> 20, GIVEN.len())]
    )
}

/// Generated member `i`: the demo row (card, user ID, address) with a realistic name and a
/// birth date spread over the years.
pub fn member_row(i: u64) -> RosterRow {
    let mut row = demo_row(i);
    row.name = member_name(i);
    let h = mix(i ^ 0x5eed);
    if let Ok(birth) = BirthDate::from_ymd(
        1940 + (h % 65) as i32,
        1 + ((h >> 8) % 12) as u8,
        1 + ((h >> 16) % 28) as u8,
    ) {
        row.birth_date = birth;
    }
    row
}

/// The kinds of query timed, in the order printed.
pub const KINDS: [&str; 8] = [
    "user ID prefix",
    "name, 1 character",
    "name, 2 characters",
    "name, 3+ characters",
    "card number",
    "card symbol + number",
    "email",
    "no match",
];

/// The `n`-th query of `kind` (an index into [`KINDS`]) over `members` members.
fn query_text(kind: usize, n: u64, members: u64) -> String {
    let h = mix(n.wrapping_mul(31).wrapping_add(kind as u64));
    let mut who = h % members.max(1);
    // A 3+ character piece needs a name that long (林 翔 is two).
    while kind == 3 && name_key(&member_name(who)).chars().count() < 3 {
        who = (who + 1) % members.max(1);
    }
    let row = member_row(who);
    let key: Vec<char> = name_key(&row.name).chars().collect();
    let piece = |len: usize| -> String {
        let len = len.min(key.len());
        let start = (h >> 32) as usize % (key.len() - len + 1);
        key[start..start + len].iter().collect()
    };
    match kind {
        0 => {
            let id = row.user_id.as_str();
            id[..(4 + (h >> 40) as usize % 4).min(id.len())].to_owned()
        }
        1 => piece(1),
        2 => piece(2),
        3 => piece(3 + (h >> 48) as usize % 2),
        4 => row.card.number.clone(),
        5 => format!("{} {}", row.card.symbol, row.card.number),
        6 => {
            let email = row.email.as_str();
            let at = email.find('@').unwrap_or(0);
            // The address as far as the caller has spelled it, at least up to the `@`.
            email[..(at + 1 + (h >> 40) as usize % 6).min(email.len())].to_owned()
        }
        _ => [
            "ゐゑゐ",
            "鬱",
            "ヰヱ",
            "nobody@nowhere.example",
            "99999999",
            "zz99qq",
        ][(h % 6) as usize]
            .to_owned(),
    }
}

/// What one kind of query measured.
#[derive(Debug, Clone)]
pub struct KindTiming {
    /// The kind (one of [`KINDS`]).
    pub kind: &'static str,
    /// Queries timed.
    pub queries: u64,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
    /// Hits per query on the first page, on average.
    pub mean_hits: f64,
    /// p99 of each query's time less the time its threads were runnable but waiting for a CPU
    /// (Linux schedstat): what the search costs when it is not queued behind other processes.
    /// `None` where the kernel does not say.
    pub p99_unqueued: Option<Duration>,
    /// p99 of the time a query's threads waited for a CPU.
    pub p99_queued: Option<Duration>,
}

/// Nanoseconds the process's threads have spent runnable but waiting for a CPU (the second
/// field of each `/proc/self/task/*/schedstat`); `None` where there is no such file.
fn run_queue_wait_ns() -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(task) = task else { continue };
        // A thread may end between the listing and the read: it waits no more.
        if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += stat
                .split_whitespace()
                .nth(1)
                .and_then(|w| w.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(total)
}

/// What `bench helpdesk-search` measured.
#[derive(Debug, Clone)]
pub struct SearchBench {
    /// Members in the database.
    pub members: u64,
    /// The database: its file, or "the PostgreSQL database".
    pub db: String,
    /// Time to build it, or `None` when an existing one was used.
    pub build: Option<Duration>,
    /// Per kind of query.
    pub kinds: Vec<KindTiming>,
}

/// Builds (or reuses, when it already holds exactly `members` members) the database at `db`,
/// then times `queries` searches of each kind.
pub async fn helpdesk_search(
    db: &Path,
    members: u64,
    queries: u64,
    now: i64,
) -> Result<SearchBench, BenchError> {
    let store = SqliteStore::open(&db.to_string_lossy()).await?;
    let where_ = db.display().to_string();
    helpdesk_search_on(&store, &where_, members, queries, now).await
}

/// [`helpdesk_search`] on the PostgreSQL database at `url` (built when it holds no member,
/// reused when it holds exactly `members`). The URL is never shown (it may carry a password).
pub async fn helpdesk_search_postgres(
    url: &str,
    members: u64,
    queries: u64,
    now: i64,
) -> Result<SearchBench, BenchError> {
    let store = crate::store::postgres::PgStore::connect(url).await?;
    helpdesk_search_on(&store, "the PostgreSQL database", members, queries, now).await
}

/// Builds or reuses `store` (named `where_` in messages), then times the searches.
async fn helpdesk_search_on(
    store: &dyn Store,
    where_: &str,
    members: u64,
    queries: u64,
    now: i64,
) -> Result<SearchBench, BenchError> {
    let have = store.member_count().await?;
    let build = if have == members {
        None
    } else if have == 0 {
        let started = Instant::now();
        store.roster_load_begin().await?;
        let mut i = 0;
        while i < members {
            let end = (i + BATCH).min(members);
            let rows: Vec<RosterRow> = (i..end).map(member_row).collect();
            let out = store.import_roster(&rows, now).await?;
            if out.imported != end - i {
                return Err(BenchError::Wrong(format!(
                    "imported {} of {} rows",
                    out.imported,
                    end - i
                )));
            }
            i = end;
        }
        store.roster_load_end().await?;
        Some(started.elapsed())
    } else {
        return Err(BenchError::Wrong(format!(
            "{where_} holds {have} members, not {members}: remove it or give another database"
        )));
    };

    let mut kinds = Vec::new();
    for (k, kind) in KINDS.iter().enumerate() {
        // A few untimed rounds first, as a running server would have had.
        for n in 0..queries.min(50) {
            run(store, &query_text(k, n + queries, members)).await?;
        }
        let mut times = Vec::with_capacity(queries as usize);
        let mut queued = Vec::with_capacity(queries as usize);
        let mut unqueued = Vec::with_capacity(queries as usize);
        let mut hits = 0u64;
        for n in 0..queries {
            let text = query_text(k, n, members);
            let waited_before = run_queue_wait_ns();
            let started = Instant::now();
            let found = run(store, &text).await?;
            let took = started.elapsed();
            times.push(took);
            if let (Some(before), Some(after)) = (waited_before, run_queue_wait_ns()) {
                let waited = Duration::from_nanos(after.saturating_sub(before)).min(took);
                queued.push(waited);
                unqueued.push(took - waited);
            }
            hits += found;
            if k == KINDS.len() - 1 && found > 0 {
                return Err(BenchError::Wrong(format!("{text:?} was to match nothing")));
            }
            if (1..=3).contains(&k) && found == 0 {
                return Err(BenchError::Wrong(format!("{text:?} found no name")));
            }
        }
        let pick = |times: &mut Vec<Duration>, q: f64| {
            times.sort();
            let i = ((times.len() as f64 - 1.0) * q).round() as usize;
            times.get(i).copied()
        };
        let complete = queued.len() == times.len();
        kinds.push(KindTiming {
            kind,
            queries,
            p50: pick(&mut times, 0.50).unwrap_or_default(),
            p99: pick(&mut times, 0.99).unwrap_or_default(),
            max: pick(&mut times, 1.0).unwrap_or_default(),
            mean_hits: hits as f64 / queries.max(1) as f64,
            p99_unqueued: pick(&mut unqueued, 0.99).filter(|_| complete),
            p99_queued: pick(&mut queued, 0.99).filter(|_| complete),
        });
    }
    Ok(SearchBench {
        members,
        db: where_.to_owned(),
        build,
        kinds,
    })
}

/// One keystroke's search: the string read, the first page read; returns the hits.
async fn run(store: &dyn Store, text: &str) -> Result<u64, BenchError> {
    let query =
        SearchQuery::parse(text).map_err(|e| BenchError::Wrong(format!("{text:?}: {e}")))?;
    let page = store
        .search_members(&query, &PageRequest::first(PAGE))
        .await?;
    Ok(page.hits.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_japanese_varied_and_stable() {
        let names: std::collections::BTreeSet<String> = (0..5_000).map(member_name).collect();
        assert!(names.len() > 1_000, "{}", names.len());
        assert_eq!(member_name(42), member_name(42));
        assert!(names.iter().any(|n| n.starts_with("林 ")));
        for i in 0..1_000 {
            let row = member_row(i);
            assert!(row.name.contains(' ') && !row.name.is_ascii());
            assert!(row.name.chars().count() <= crate::store::roster::NAME_MAX);
        }
    }

    #[test]
    fn each_kind_of_query_is_read_as_that_kind() {
        use crate::domain::SearchQuery as Q;
        for n in 0..200 {
            assert!(matches!(
                Q::parse(&query_text(0, n, 1_000)).unwrap(),
                Q::Text {
                    user_id_prefix: Some(_),
                    ..
                }
            ));
            for k in 1..=3 {
                let text = query_text(k, n, 1_000);
                assert!(
                    matches!(
                        Q::parse(&text).unwrap(),
                        Q::Text {
                            user_id_prefix: None,
                            ..
                        }
                    ),
                    "{text}"
                );
            }
            assert!(matches!(
                Q::parse(&query_text(4, n, 1_000)).unwrap(),
                Q::Digits(_)
            ));
            assert!(matches!(
                Q::parse(&query_text(5, n, 1_000)).unwrap(),
                Q::Card { .. }
            ));
            assert!(matches!(
                Q::parse(&query_text(6, n, 1_000)).unwrap(),
                Q::Email(_)
            ));
        }
        assert_eq!(query_text(1, 3, 1_000).chars().count(), 1);
        assert_eq!(query_text(2, 3, 1_000).chars().count(), 2);
        for n in 0..200 {
            assert!(query_text(3, n, 1_000).chars().count() >= 3);
        }
    }

    #[tokio::test]
    async fn the_bench_runs_on_a_small_roster() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("search.db");
        let b = helpdesk_search(&db, 300, 20, 1_000).await.unwrap();
        assert!(b.build.is_some());
        assert_eq!(b.kinds.len(), KINDS.len());
        assert!(b.kinds.iter().all(|k| k.queries == 20 && k.p50 <= k.p99));
        assert_eq!(b.kinds.last().unwrap().mean_hits, 0.0);
        // Again: the database is reused, not built twice.
        let again = helpdesk_search(&db, 300, 5, 1_000).await.unwrap();
        assert!(again.build.is_none());
        assert!(matches!(
            helpdesk_search(&db, 301, 5, 1_000).await,
            Err(BenchError::Wrong(_))
        ));
    }
}
