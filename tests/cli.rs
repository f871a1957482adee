//! The binary as operators use it: import reports and exit codes, `serve`, and the man pages.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tobira");

#[path = "common/postgres.rs"]
mod pg_harness;

fn tobira(data: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run tobira");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn import_reports_counts_rejections_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("roster.csv");
    std::fs::write(
        &csv,
        "\u{feff}symbol,number,birthdate,name,email,user_id\n\
         12,3456789,1980-12-01,山田 太郎,demo0001@example.com,Demo0001\n\
         12,1000001,1975-04-30,佐藤 花子,hanako@example.jp,sato0001\n\
         12,1000002,1975-02-30,鈴木 一郎,ichiro@example.jp,suzuki001\n\
         12,1000003,1990-01-01,高橋 愛,not-an-address,takahashi1\n\
         12,1000004,1990-01-01,田中 陽菜,hina@example.jp,sato0001\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    let (code, out, _) = tobira(dir.path(), &["admin", "import", csv]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("2 imported, 0 updated, 0 unchanged, 3 rejected"),
        "{out}"
    );
    assert!(out.contains("line 4: birthdate"), "{out}");
    assert!(out.contains("line 5: email"), "{out}");
    assert!(
        out.contains("line 6: duplicate user ID (first seen on line 3)"),
        "{out}"
    );

    let (_, out, _) = tobira(dir.path(), &["admin", "import", csv]);
    assert!(
        out.contains("0 imported, 0 updated, 2 unchanged, 3 rejected"),
        "{out}"
    );

    let fixed = dir.path().join("fixed.csv");
    std::fs::write(
        &fixed,
        "symbol,number,birthdate,name,email,user_id\n12,1000001,1975-04-30,佐藤 花子,hanako@example.jp,sato0001\n12,3456789,1980-12-01,山田 太郎,taro@example.jp,demo0001\n",
    )
    .unwrap();
    let (code, out, _) = tobira(dir.path(), &["admin", "import", fixed.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("0 imported, 1 updated, 1 unchanged, 0 rejected"),
        "{out}"
    );
}

#[test]
fn import_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = tobira(dir.path(), &["admin", "import", "/no/such/roster.csv"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot open /no/such/roster.csv"), "{err}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,name\n1,x\n").unwrap();
    let (code, out, _) = tobira(dir.path(), &["admin", "import", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        out.contains(
            "line 1: the header must be exactly symbol,number,birthdate,name,email,user_id"
        ),
        "{out}"
    );
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[flow]\nidle_timeout = 3\n").unwrap();
    let (code, _, err) = tobira(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "admin",
            "import",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("invalid configuration") && err.contains("idle_timeout"),
        "{err}"
    );
}

#[tokio::test]
async fn serve_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The server says when it listens; read stderr until then (no sleeping).
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    loop {
        let line = lines.next().expect("serve exited early").unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("listening on") {
            break;
        }
    }
    let health: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert!(dir.path().join("tobira.db").exists());
    // SIGTERM is what service managers send: the server must stop cleanly.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "serve exited with {exit:?}; stderr so far:\n{seen}"
    );
}

#[test]
fn the_man_pages_match_the_commands() {
    let man =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/tobira.1")).unwrap();
    for word in [
        "serve",
        "admin",
        "\\-\\-data\\-dir",
        "\\-\\-database",
        "\\-\\-config",
    ] {
        assert!(man.contains(word), "man page lacks {word}");
    }
    let import = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/man/tobira-admin-import.1"
    ))
    .unwrap();
    assert!(import.contains("symbol,number,birthdate,name,email,user_id"));
    for word in [
        "記号,番号,生年月日,氏名,メールアドレス,ユーザID",
        "\\-\\-encoding",
        "cp932",
        "\\-\\-dry\\-run",
        "\\-\\-format",
        "YYYY/MM/DD",
    ] {
        assert!(import.contains(word), "the import man page lacks {word}");
    }
}

#[test]
fn a_database_url_of_another_kind_is_refused_not_taken_for_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("roster.csv");
    std::fs::write(&csv, "symbol,number,birthdate,name,email,user_id\n").unwrap();
    let work = dir.path().join("cwd");
    std::fs::create_dir(&work).unwrap();
    // A PostgreSQL URL is tried as PostgreSQL (port 1 on loopback: nothing listens, so it
    // fails at once), never taken for a file, and its password is never repeated.
    for (url, expected) in [
        (
            "postgres://tobira:s3cret@127.0.0.1:1/tobira",
            "cannot open the database: PostgreSQL",
        ),
        (
            "postgresql://127.0.0.1:1/tobira?password=s3cret",
            "cannot open the database: PostgreSQL",
        ),
        (
            "mysql://db.example/tobira",
            "unknown database URL scheme mysql://",
        ),
    ] {
        let out = Command::new(BIN)
            .current_dir(&work)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--database", url, "admin", "import"])
            .arg(&csv)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {err}");
        assert!(err.contains(expected), "{url}: {err}");
        assert!(!err.contains("s3cret"), "the password leaked: {err}");
    }
    // Nothing was created under the working directory (no SQLite file named after the URL).
    let created: Vec<_> = std::fs::read_dir(&work).unwrap().collect();
    assert!(created.is_empty(), "{created:?}");
    assert!(!dir.path().join("data/tobira.db").exists());
}

#[tokio::test]
async fn admin_mail_status_shows_the_queue_without_the_contents() {
    use tobira::store::NewMail;
    use tobira::store::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = tobira(dir.path(), &["admin", "mail", "status"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("pending: 0\nsent: 0\nfailed: 0\n"), "{out}");

    let store =
        tobira::store::sqlite::SqliteStore::open(&dir.path().join("tobira.db").to_string_lossy())
            .await
            .unwrap();
    let mail = |to: &str| NewMail {
        kind: "email_code".into(),
        to: to.into(),
        subject: "code".into(),
        sealed_body: b"your code is 493817".to_vec(),
    };
    let t0 = 1_795_564_800;
    let sent = store
        .enqueue_mail(&mail("a@example.jp"), t0, t0)
        .await
        .unwrap();
    store.mail_sent(sent, t0 + 1).await.unwrap();
    let failed = store
        .enqueue_mail(&mail("b@example.jp"), t0, t0)
        .await
        .unwrap();
    store
        .mail_attempt_failed(failed, "connection refused", None)
        .await
        .unwrap();
    let pending = store
        .enqueue_mail(&mail("c@example.jp"), t0, t0)
        .await
        .unwrap();
    store
        .mail_attempt_failed(pending, "connection refused", Some(t0 + 30))
        .await
        .unwrap();
    drop(store);

    let (code, out, err) = tobira(dir.path(), &["admin", "mail", "status"]);
    assert_eq!(code, 3, "a failed mail gives exit status 3: {out}{err}");
    assert!(out.starts_with("pending: 1\nsent: 1\nfailed: 1\n"), "{out}");
    for needle in [
        "a@example.jp",
        "b@example.jp / connection refused",
        "2026-11-25 00:00:30",
        "email_code",
    ] {
        assert!(out.contains(needle), "{needle} not in {out}");
    }
    assert!(!out.contains("493817"), "never the mail's contents: {out}");
}

/// A CP932 roster with a Japanese header (issue 16), as an HR system writes it.
fn write_cp932_roster(path: &std::path::Path) {
    let text = "記号,番号,生年月日,氏名,メールアドレス,ユーザID\r\n\
                12,3456789,1980/12/01,髙橋 一郎,takahashi@example.jp,taka0001\r\n\
                12,3456790,19750430,山﨑 花子,yamasaki@example.jp,yama0001\r\n\
                12,3456791,1990/02/30,神﨑 髙志,kanzaki@example.jp,kanz0001\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn import_detects_cp932_and_a_dry_run_reports_in_json_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("roster-sjis.csv");
    write_cp932_roster(&csv);
    let csv = csv.to_str().unwrap();

    let (code, out, err) = tobira(
        dir.path(),
        &["admin", "import", csv, "--dry-run", "--format", "json"],
    );
    assert_eq!(code, 2, "one row is rejected: {out}{err}");
    let json: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(json["file"], csv);
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["encoding"], "CP932");
    assert_eq!(json["encoding_detected"], true);
    assert_eq!(
        (&json["imported"], &json["updated"], &json["unchanged"]),
        (&2.into(), &0.into(), &0.into())
    );
    assert_eq!(
        json["rejected"],
        serde_json::json!([{"line": 4, "reason": "birthdate: that date does not exist"}])
    );

    let (code, out, _) = tobira(dir.path(), &["admin", "import", "--dry-run", csv]);
    assert_eq!(code, 2);
    assert!(
        out.starts_with(&format!(
            "dry run, nothing written: {csv}: 2 imported, 0 updated, 0 unchanged, 1 rejected (CP932, detected)"
        )),
        "{out}"
    );
    assert!(out.contains("line 4: birthdate: that date does not exist"));

    // The dry runs wrote nothing: the real import still imports both.
    let (code, out, _) = tobira(
        dir.path(),
        &["admin", "import", "--encoding", "shift_jis", csv],
    );
    assert_eq!(code, 2);
    assert!(
        out.contains("2 imported, 0 updated, 0 unchanged, 1 rejected (CP932, given)"),
        "{out}"
    );

    // Read as UTF-8, the Japanese header cannot be trusted; the operator is told why.
    let (code, out, _) = tobira(dir.path(), &["admin", "import", "--encoding", "utf-8", csv]);
    assert_eq!(code, 2);
    assert!(out.contains("line 1: the header must be exactly"), "{out}");
    assert!(out.contains("; it is not valid UTF-8"), "{out}");
    assert!(
        out.contains("hint: if the file is Shift_JIS (CP932), import it with --encoding cp932"),
        "{out}"
    );
    let (code, _, err) = tobira(
        dir.path(),
        &["admin", "import", "--encoding", "euc-jp", csv],
    );
    assert_eq!(code, 2, "clap refuses an unknown encoding");
    assert!(err.contains("euc-jp"), "{err}");
}

#[test]
fn serve_refuses_a_broken_mail_template_naming_the_file_and_the_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("mail");
    std::fs::create_dir_all(templates.join("ja")).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[portal.ja]\nname = \"みらい健保\"\n[mail]\ntemplates = \"{}\"\n",
            templates.display()
        ),
    )
    .unwrap();
    let serve = |dir: &std::path::Path| {
        tobira(
            dir,
            &[
                "--config",
                config.to_str().unwrap(),
                "serve",
                "--listen",
                "127.0.0.1:0",
            ],
        )
    };
    let txt = templates.join("ja/verification.txt");
    std::fs::write(templates.join("ja/verification.html"), "<p>{link}</p>").unwrap();
    std::fs::write(&txt, "{name} 様\nリンクを開いてください。\n").unwrap();
    let (code, _, err) = serve(dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "invalid mail template: {}: the required placeholder {{link}} is missing",
            txt.display()
        )),
        "{err}"
    );
    std::fs::write(&txt, "{name} 様\n{link}\n{expiry} まで\n").unwrap();
    let (code, _, err) = serve(dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "{}, line 3: unknown placeholder {{expiry}}",
            txt.display()
        )),
        "{err}"
    );
}

/// The code a `staff add` or `staff reset` printed.
fn printed_code(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Enrolment code: "))
        .unwrap_or_else(|| panic!("no code in {out}"))
        .to_owned()
}

#[tokio::test]
async fn admin_staff_adds_lists_disables_and_resets_accounts_without_showing_secrets() {
    use tobira::store::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = tobira(dir.path(), &["admin", "staff", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("tobira admin staff add USER --role admin"),
        "{out}"
    );

    let (code, out, err) = tobira(
        dir.path(),
        &[
            "admin",
            "staff",
            "add",
            "Alice",
            "--role",
            "admin",
            "--name",
            "山田 花子",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Added staff account alice (admin)."), "{out}");
    assert!(out.contains("(1 hour)"), "{out}");
    let first = printed_code(&out);
    assert_eq!(first.len(), 19, "{first}");
    let (code, _, err) = tobira(
        dir.path(),
        &["admin", "staff", "add", "alice", "--role", "helpdesk"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("a staff account alice already exists"),
        "{err}"
    );
    let (code, _, err) = tobira(
        dir.path(),
        &["admin", "staff", "add", "2bad", "--role", "helpdesk"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("invalid login: a staff login starts with a letter"),
        "{err}"
    );
    let (code, _, err) = tobira(
        dir.path(),
        &["admin", "staff", "add", "bob", "--role", "root"],
    );
    assert_eq!(code, 2, "clap refuses an unknown role: {err}");
    let (code, _, _) = tobira(
        dir.path(),
        &["admin", "staff", "add", "bob", "--role", "helpdesk"],
    );
    assert_eq!(code, 0);

    let (code, out, _) = tobira(dir.path(), &["admin", "staff", "list"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("LOGIN"), "{out}");
    assert!(
        lines[1].starts_with("alice  admin     enrolling     0  山田 花子"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("bob    helpdesk  enrolling     0  bob"),
        "{out}"
    );
    assert!(!out.contains(&first), "{out}");

    let (code, out, err) = tobira(dir.path(), &["admin", "staff", "disable", "ALICE"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Disabled staff account alice; 0 session(s) ended."),
        "{out}"
    );
    let (_, out, _) = tobira(dir.path(), &["admin", "staff", "list"]);
    assert!(out.contains("alice  admin     disabled"), "{out}");
    let (code, _, err) = tobira(dir.path(), &["admin", "staff", "disable", "nobody"]);
    assert_eq!(code, 1);
    assert!(err.contains("no staff account nobody"), "{err}");

    let (code, out, err) = tobira(dir.path(), &["admin", "staff", "reset", "alice"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Reset staff account alice (admin)."), "{out}");
    let second = printed_code(&out);
    assert_ne!(first, second);
    let (_, out, _) = tobira(dir.path(), &["admin", "staff", "list"]);
    assert!(out.contains("alice  admin     enrolling"), "{out}");

    // Only the keyed hash of the newest code is stored, and the operator's actions are audited.
    let store =
        tobira::store::sqlite::SqliteStore::open(&dir.path().join("tobira.db").to_string_lossy())
            .await
            .unwrap();
    let key = tobira::server::SecretKey::load_or_create(dir.path(), None).unwrap();
    let alice = store.staff_by_login("alice").await.unwrap().unwrap();
    let stored = store.staff_enrolment_code(alice.id).await.unwrap().unwrap();
    let canonical = tobira::domain::staff::normalize_enrolment_code(&second).unwrap();
    assert_eq!(
        stored.code_hash,
        tobira::server::staff_enrolment::code_hash(&key, "alice", &canonical)
    );
    assert_eq!(stored.expires_at - stored.created_at, 3_600);
    let log = store.audit_log(None, 50).await.unwrap();
    let mut actions: Vec<&str> = log
        .iter()
        .filter(|e| e.actor == "operator")
        .map(|e| e.action.as_str())
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "staff.added",
            "staff.added",
            "staff.disabled",
            "staff.reset"
        ]
    );
    for e in &log {
        assert!(
            !e.detail.contains(&first) && !e.detail.contains(&second),
            "{e:?}"
        );
    }

    let man = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/man/tobira-admin-staff-add.1"
    ))
    .unwrap();
    assert!(
        man.contains("\\-\\-role") && man.contains("enrolment code"),
        "{man}"
    );
}

/// Runs tobira with `LANG` set (the language of its messages).
fn tobira_lang(data: &std::path::Path, lang: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", lang)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run tobira");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// 2026-12-01 00:00 in Tokyo (the default portal time zone), Unix seconds.
const DEC_1_JST: i64 = 1_796_050_800;

/// A data directory whose database holds two members and four audit entries: one the day
/// before 2026-12-01 (JST), two on it (one with commas, quotes, a line break and Japanese in its
/// detail), one on 2026-12-03.
async fn audit_fixture() -> (tempfile::TempDir, i64) {
    use tobira::store::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let store =
        tobira::store::sqlite::SqliteStore::open(dir.path().join("tobira.db").to_str().unwrap())
            .await
            .unwrap();
    let rows: Vec<_> = (0..2).map(tobira::store::roster::demo_row).collect();
    store.import_roster(&rows, 1_000).await.unwrap();
    let member = store
        .member_by_user_id(rows[0].user_id.as_str())
        .await
        .unwrap()
        .unwrap();
    let entry =
        |at: i64, member_id: Option<i64>, action: &str, detail: &str| tobira::store::AuditEntry {
            at,
            actor: "staff:7".to_owned(),
            member_id,
            action: action.to_owned(),
            detail: detail.to_owned(),
        };
    for e in [
        entry(
            DEC_1_JST - 1,
            Some(member.id),
            "hold.lifted",
            "the day before",
        ),
        entry(
            DEC_1_JST + 3_600,
            Some(member.id),
            "hold.lifted",
            "理由: \"電話を紛失\", 本人確認済み\nline 2",
        ),
        entry(DEC_1_JST + 7_200, None, "roster.imported", "plain"),
        entry(
            DEC_1_JST + 2 * 86_400 + 10,
            Some(member.id + 1),
            "sign_in",
            "later",
        ),
    ] {
        store.append_audit(&e).await.unwrap();
    }
    store.pool().close().await;
    (dir, member.id)
}

#[tokio::test]
async fn audit_export_writes_csv_by_rfc_4180() {
    let (dir, member) = audit_fixture().await;
    let (code, out, err) = tobira(
        dir.path(),
        &[
            "admin",
            "audit",
            "export",
            "--since",
            "2026-12-01",
            "--until",
            "2026-12-02",
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // CRLF after every record; the field with quotes, a comma and a line break is quoted, its
    // quotes doubled.
    assert!(
        out.starts_with("id,at,time,actor,member_id,action,detail\r\n"),
        "{out}"
    );
    assert!(out.ends_with("plain\r\n"), "{out:?}");
    assert!(
        out.contains(",\"理由: \"\"電話を紛失\"\", 本人確認済み\nline 2\"\r\n"),
        "{out}"
    );
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(&rows[0][1], (DEC_1_JST + 3_600).to_string());
    assert_eq!(&rows[0][2], "2026-11-30T16:00:00Z");
    assert_eq!(&rows[0][3], "staff:7");
    assert_eq!(&rows[0][4], member.to_string());
    assert_eq!(&rows[0][6], "理由: \"電話を紛失\", 本人確認済み\nline 2");
    assert_eq!(&rows[1][4], "", "no member");
    assert!(rows[0][0].parse::<i64>().unwrap() < rows[1][0].parse::<i64>().unwrap());
}

#[tokio::test]
async fn audit_export_writes_json_lines_filtered_by_member() {
    let (dir, member) = audit_fixture().await;
    let (code, out, err) = tobira(
        dir.path(),
        &["admin", "audit", "export", "--since", "2026-12-01"],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0]["detail"],
        "理由: \"電話を紛失\", 本人確認済み\nline 2"
    );
    assert_eq!(lines[0]["member_id"], member);
    assert_eq!(lines[1]["member_id"], serde_json::Value::Null);
    assert_eq!(lines[2]["action"], "sign_in");
    for l in &lines {
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 7, "only the log's own columns: {keys:?}");
    }
    let (code, out, _) = tobira(
        dir.path(),
        &[
            "admin",
            "audit",
            "export",
            "--since",
            "2026-11-01",
            "--member",
            "M0000000X",
        ],
    );
    assert_eq!(code, 0);
    let details: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["detail"].to_string())
        .collect();
    assert_eq!(details.len(), 2, "{out}");
    assert!(details[0].contains("the day before"), "{details:?}");
}

#[tokio::test]
async fn audit_export_refuses_a_bad_date_in_the_operators_language() {
    let (dir, _) = audit_fixture().await;
    for bad in ["2026-13-01", "yesterday", "2026-02-30"] {
        let (code, out, err) = tobira_lang(
            dir.path(),
            "C",
            &[
                "admin", "audit", "export", "--since", bad, "--format", "csv",
            ],
        );
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(out.is_empty(), "nothing half-written: {out}");
        assert!(
            err.contains(&format!(
                "--since: \"{bad}\" is not a date. Write it as YYYY-MM-DD"
            )),
            "{err}"
        );
    }
    let (code, out, err) = tobira_lang(
        dir.path(),
        "ja_JP.UTF-8",
        &[
            "admin",
            "audit",
            "export",
            "--since",
            "2026-12-01",
            "--until",
            "12/31",
        ],
    );
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("--until: 「12/31」は日付として読めません。YYYY-MM-DD の形で指定してください"),
        "{err}"
    );
    let (code, _, err) = tobira_lang(
        dir.path(),
        "en_US.UTF-8",
        &[
            "admin",
            "audit",
            "export",
            "--since",
            "2026-12-02",
            "--until",
            "2026-12-01",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--until 2026-12-01 is before --since 2026-12-02"),
        "{err}"
    );
    let (code, _, err) = tobira_lang(
        dir.path(),
        "C",
        &[
            "admin",
            "audit",
            "export",
            "--since",
            "2026-12-01",
            "--member",
            "nobody001",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("no member has the user ID \"nobody001\""),
        "{err}"
    );
}

/// The migrations of a backend, as `NNNN_name` (the file names without `.sql`), in order.
fn migration_names(backend: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".sql").unwrap().to_owned()
        })
        .collect();
    names.sort();
    names
}

/// What `admin migrate` says it applied, in order.
fn applied_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("applied "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn admin_migrate_applies_each_pending_migration_once_on_both_databases() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = tobira(dir.path(), &["admin", "migrate"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(applied_lines(&out), migration_names("sqlite"), "{out}");
    let (code, out, err) = tobira(dir.path(), &["admin", "migrate"]);
    assert_eq!(code, 0, "{err}");
    assert!(applied_lines(&out).is_empty(), "{out}");
    assert!(out.contains("up to date"), "{out}");

    // PostgreSQL, with a password in the URL (the test server trusts every local connection,
    // so any password is accepted): it is never printed.
    let url = pg_harness::fresh_database().await;
    let with_password = url.replacen("postgres@", "postgres:pw-s3cret@", 1);
    assert_ne!(url, with_password);
    for run in 0..2 {
        let (code, out, err) = tobira(
            dir.path(),
            &["--database", &with_password, "admin", "migrate"],
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            !out.contains("pw-s3cret") && !err.contains("pw-s3cret"),
            "{out}{err}"
        );
        assert!(out.contains("postgres:***@127.0.0.1:"), "{out}");
        if run == 0 {
            assert_eq!(applied_lines(&out), migration_names("postgres"), "{out}");
        } else {
            assert!(applied_lines(&out).is_empty(), "{out}");
            assert!(out.contains("up to date"), "{out}");
        }
    }
    let store = tobira::store::postgres::PgStore::connect_only(&url)
        .await
        .unwrap();
    let versions = store.applied_migrations().await.unwrap();
    let expected: Vec<i64> = (1..=migration_names("postgres").len() as i64).collect();
    assert_eq!(versions, expected);
}
