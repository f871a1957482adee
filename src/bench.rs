//! `tobira bench`: measurements of the real code paths on generated data.

pub mod helpdesk_search;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::store::prelude::*;
use crate::store::roster::demo_row;
use crate::store::sqlite::SqliteStore;

/// What `bench import` measured.
#[derive(Debug, Clone)]
pub struct ImportBench {
    /// Rows in the generated file.
    pub rows: u64,
    /// Size of the generated file.
    pub file_bytes: u64,
    /// Time to import the file into a fresh database (reading, checking and writing).
    pub import: Duration,
    /// Time to re-import the same file (everything unchanged).
    pub reimport: Duration,
    /// Mean time of one sign-in lookup by user ID in the full database.
    pub lookup_mean: Duration,
}

/// Why a benchmark failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// File I/O.
    #[error("bench file: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV writer.
    #[error("bench CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The store.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The import.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// The import did not do what it should (a bench that measures a broken run is worthless).
    #[error("bench import went wrong: {0}")]
    Wrong(String),
    /// The TOTP path failed or did not accept a valid code.
    #[error("bench totp went wrong: {0}")]
    Totp(String),
}

/// Writes `rows` generated members as a roster CSV.
pub fn write_roster(path: &Path, rows: u64) -> Result<u64, BenchError> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = csv::Writer::from_writer(file);
    w.write_record(crate::store::roster::HEADER)?;
    for i in 0..rows {
        let r = demo_row(i);
        w.write_record([
            r.card.symbol.as_str(),
            r.card.number.as_str(),
            &r.birth_date.to_string(),
            &r.name,
            r.email.as_str(),
            r.user_id.as_str(),
        ])?;
    }
    w.into_inner()
        .map_err(|e| BenchError::Io(e.into_error()))?
        .flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Generates a roster of `rows` members in `dir`, imports it into a fresh SQLite database there
/// (the same code as `tobira admin import`), imports it again, and times sign-in lookups.
pub async fn import(
    dir: &Path,
    rows: u64,
    now: i64,
    today: time::Date,
) -> Result<ImportBench, BenchError> {
    let db = dir.join("bench.db");
    let store = SqliteStore::open(&db.to_string_lossy()).await?;
    import_into(&store, dir, rows, now, today).await
}

/// [`import`] into the PostgreSQL database at `url`, which must hold no member yet (the bench
/// leaves its members there: use a database made for it).
pub async fn import_postgres(
    url: &str,
    dir: &Path,
    rows: u64,
    now: i64,
    today: time::Date,
) -> Result<ImportBench, BenchError> {
    let store = crate::store::postgres::PgStore::connect(url).await?;
    if store.has_members().await? {
        return Err(BenchError::Wrong(
            "the database already holds members: give an empty database".to_owned(),
        ));
    }
    import_into(&store, dir, rows, now, today).await
}

/// Generates the roster in `dir`, imports it into `store` (empty), imports it again, and times
/// sign-in lookups.
async fn import_into(
    store: &dyn Store,
    dir: &Path,
    rows: u64,
    now: i64,
    today: time::Date,
) -> Result<ImportBench, BenchError> {
    let csv_path = dir.join("roster.csv");
    let file_bytes = write_roster(&csv_path, rows)?;

    let started = Instant::now();
    let report =
        crate::import::import_roster(store, std::fs::File::open(&csv_path)?, today, now, |_| {})
            .await?;
    let import = started.elapsed();
    if report.imported != rows || !report.rejected.is_empty() {
        return Err(BenchError::Wrong(format!(
            "imported {} of {rows}, {} rejected",
            report.imported,
            report.rejected.len()
        )));
    }

    let started = Instant::now();
    let again =
        crate::import::import_roster(store, std::fs::File::open(&csv_path)?, today, now, |_| {})
            .await?;
    let reimport = started.elapsed();
    if again.unchanged != rows {
        return Err(BenchError::Wrong(format!(
            "re-import left {} of {rows} unchanged",
            again.unchanged
        )));
    }

    let probes = 10_000u64.min(rows.max(1));
    let started = Instant::now();
    for k in 0..probes {
        // Spread the probes over the whole roster.
        let i = k.wrapping_mul(2_654_435_761) % rows.max(1);
        let id = demo_row(i).user_id;
        if store.member_by_user_id(id.as_str()).await?.is_none() {
            return Err(BenchError::Wrong(format!("member {id} not found")));
        }
    }
    let lookup_mean = started.elapsed() / probes as u32;
    Ok(ImportBench {
        rows,
        file_bytes,
        import,
        reimport,
        lookup_mean,
    })
}

/// What `bench totp` measured: server-side time of one code verification.
#[derive(Debug, Clone)]
pub struct TotpBench {
    /// Verifications timed.
    pub iterations: u64,
    /// Authenticator apps registered to the member (each code is checked against all).
    pub devices: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
    /// Mean.
    pub mean: Duration,
    /// p50 and p99 of the part before the write: read the devices, decrypt, check.
    pub check: (Duration, Duration),
    /// p50 and p99 of the write: the replay guard, failures and audit in one transaction.
    pub write: (Duration, Duration),
}

/// The p50 and p99 of `times` (sorted here).
fn percentiles(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let pick = |q: f64| {
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times.get(i).copied().unwrap_or_default()
    };
    (pick(0.50), pick(0.99))
}

/// Times the server's verify path on a SQLite file in `dir`: read the member's devices, open
/// each sealed secret (AES-256-GCM), check the code (window and replay guard), and record the
/// accepted step (one write transaction). Each iteration uses the next 30-second step, so every
/// code is fresh and the replay-guard update really writes.
pub async fn totp(
    dir: &Path,
    iterations: u64,
    devices: usize,
    now: i64,
) -> Result<TotpBench, BenchError> {
    use crate::domain::{Actor, AuditAction};
    use crate::domain::{CodeCheck, TotpPolicy, TotpSecret};
    use crate::server::SecretKey;
    use crate::server::totp::{check_devices, seal_context};
    use crate::store::{AuditEntry, PendingTotp, TotpConfirmation, TotpUse};

    let wrong = |e: &dyn std::fmt::Display| BenchError::Totp(e.to_string());
    let store = SqliteStore::open(&dir.join("bench.db").to_string_lossy()).await?;
    store.import_roster(&[demo_row(0)], now).await?;
    let member = store
        .member_by_user_id(demo_row(0).user_id.as_str())
        .await?
        .ok_or_else(|| BenchError::Totp("the bench member is missing".into()))?;
    let key = SecretKey::generate().map_err(|e| wrong(&e))?;
    let policy = TotpPolicy::default();
    let params = policy.params();
    let audit = |action: AuditAction| {
        AuditEntry::new(now, Actor::Member(member.id), action, Some(member.id), "")
    };
    let devices = devices.clamp(1, crate::domain::totp::MAX_DEVICES);
    let mut secrets = Vec::new();
    for n in 0..devices {
        let secret = TotpSecret::from_bytes(totp_rs::Secret::generate().as_bytes().to_vec());
        let sealed = key
            .seal(secret.as_bytes(), &seal_context(member.id))
            .map_err(|e| wrong(&e))?;
        store
            .start_totp_enrollment(&PendingTotp {
                member_id: member.id,
                sealed_secret: sealed.clone(),
                params,
                created_at: now,
            })
            .await?;
        store
            .confirm_totp_enrollment(&TotpConfirmation {
                member_id: member.id,
                sealed_secret: sealed,
                name: format!("Phone {n}"),
                step: params.step_at(crate::server::totp::unix(now)),
                max_devices: devices,
                step_change: None,
                audit: audit(AuditAction::TotpEnrolled),
                at: now,
                keep_flow: None,
            })
            .await?;
        secrets.push(secret);
    }
    // The code of the last device: the others are all tried first and fail.
    let secret = secrets
        .last()
        .ok_or_else(|| BenchError::Totp("no device".into()))?;

    let n = usize::try_from(iterations).unwrap_or(0);
    let (mut times, mut checks, mut writes) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 1..=iterations {
        let at = now.saturating_add(i64::try_from(i * params.period_secs).unwrap_or(i64::MAX));
        let code = params
            .code_at(secret, crate::server::totp::unix(at))
            .map_err(|e| wrong(&e))?;
        let started = Instant::now();
        let credentials = store.totp_credentials(member.id).await?;
        let (outcome, matched) =
            check_devices(&key, &policy, &credentials, &code, at).map_err(|e| wrong(&e))?;
        let (CodeCheck::Accepted { step }, Some(cred)) = (outcome, matched) else {
            return Err(BenchError::Totp(format!(
                "a valid code was refused: {outcome:?}"
            )));
        };
        let checked = started.elapsed();
        let accepted = store
            .use_totp_step(&TotpUse {
                member_id: member.id,
                credential_id: cred.id,
                step,
                flow_token_hash: None,
                audit: audit(AuditAction::TotpVerified),
                at,
            })
            .await?;
        let total = started.elapsed();
        times.push(total);
        checks.push(checked);
        writes.push(total - checked);
        if !accepted {
            return Err(BenchError::Totp(
                "a fresh step was taken for a replay".into(),
            ));
        }
    }
    let total: Duration = times.iter().sum();
    let (p50, p99) = percentiles(&mut times);
    Ok(TotpBench {
        iterations,
        devices,
        p50,
        p99,
        max: times.last().copied().unwrap_or_default(),
        mean: total / u32::try_from(times.len().max(1)).unwrap_or(u32::MAX),
        check: percentiles(&mut checks),
        write: percentiles(&mut writes),
    })
}

/// What `bench first-frame` measured.
#[derive(Debug, Clone)]
pub struct FirstFrameBench {
    /// Members in the database.
    pub members: u64,
    /// Launch-to-first-frame time of each run, sorted.
    pub runs: Vec<Duration>,
}

impl FirstFrameBench {
    /// The `q`-quantile (0.0–1.0) of the runs.
    pub fn quantile(&self, q: f64) -> Duration {
        let last = self.runs.len().saturating_sub(1);
        let i = ((last as f64) * q).round() as usize;
        self.runs.get(i.min(last)).copied().unwrap_or_default()
    }
}

/// The footer's last word: when it has been written, the whole first frame has.
const FIRST_FRAME_MARK: &[u8] = b"Ctrl-C";

/// Fills a data directory with `members` generated members, then launches `exe` (the tobira
/// binary, embedded mode, 80x24) `runs` times in a pseudo-terminal (util-linux `script`) and
/// times each launch until its first frame has been written.
pub async fn first_frame(
    exe: &Path,
    dir: &Path,
    members: u64,
    runs: usize,
    now: i64,
    today: time::Date,
) -> Result<FirstFrameBench, BenchError> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let csv_path = dir.join("roster.csv");
    write_roster(&csv_path, members)?;
    {
        let store = SqliteStore::open(&data.join("tobira.db").to_string_lossy()).await?;
        let report = crate::import::import_roster(
            &store,
            std::fs::File::open(&csv_path)?,
            today,
            now,
            |_| {},
        )
        .await?;
        if report.imported != members {
            return Err(BenchError::Wrong(format!(
                "imported {} of {members}",
                report.imported
            )));
        }
    }
    let exe = exe.to_path_buf();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (exe, data) = (exe.clone(), data.clone());
        times.push(
            tokio::task::spawn_blocking(move || launch_once(&exe, &data))
                .await
                .map_err(|e| BenchError::Wrong(format!("launch thread: {e}")))??,
        );
    }
    times.sort();
    Ok(FirstFrameBench {
        members,
        runs: times,
    })
}

/// One launch: from spawning the process to the first frame's last bytes on its terminal.
fn launch_once(exe: &Path, data: &Path) -> Result<Duration, BenchError> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let quoted = format!("'{}'", exe.display().to_string().replace('\'', r"'\''"));
    let started = Instant::now();
    let mut child = Command::new("script")
        .args([
            "-qfec",
            &format!("stty cols 80 rows 24; exec {quoted} --lang en"),
            "/dev/null",
        ])
        .env("TOBIRA_DATA_DIR", data)
        .env("TERM", "xterm-256color")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| BenchError::Wrong(format!("cannot run script(1) from util-linux: {e}")))?;
    let mut out = child
        .stdout
        .take()
        .ok_or_else(|| BenchError::Wrong("no stdout".into()))?;
    let mut input = child.stdin.take();
    let mut answered = false;
    let mut answered_colour = false;
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    let result = loop {
        match out.read(&mut buf) {
            Ok(0) => {
                break Err(BenchError::Wrong(format!(
                    "tobira ended before its first frame: {}",
                    String::from_utf8_lossy(&seen)
                )));
            }
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                // Answer the background query (then the device attributes sent after it) as a
                // dark terminal would, or the launch waits out the query's timeout.
                if !answered_colour && seen.windows(6).any(|w| w == b"\x1b]11;?") {
                    answered_colour = true;
                    if let Some(w) = input.as_mut() {
                        w.write_all(b"\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[?62;22c")?;
                        w.flush()?;
                    }
                }
                // Answer the cursor-position query as a terminal would, or ratatui waits for it.
                if !answered && seen.windows(4).any(|w| w == b"\x1b[6n") {
                    answered = true;
                    if let Some(w) = input.as_mut() {
                        w.write_all(b"\x1b[1;1R")?;
                        w.flush()?;
                    }
                }
                if seen
                    .windows(FIRST_FRAME_MARK.len())
                    .any(|w| w == FIRST_FRAME_MARK)
                {
                    break Ok(started.elapsed());
                }
            }
            Err(e) => break Err(e.into()),
        }
    };
    // Quit as a member would (Ctrl-C), so no launch outlives its run; kill only a stuck one.
    if let Some(w) = input.as_mut() {
        let _ = w.write_all(b"\x03");
        let _ = w.flush();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let exited = loop {
        match child.try_wait() {
            Ok(Some(_)) => break true,
            Ok(None) if Instant::now() < deadline => {
                // Drain what tobira writes while it restores the terminal.
                let _ = out.read(&mut buf);
            }
            _ => break false,
        }
    };
    drop(input);
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        return Err(BenchError::Wrong(
            "tobira did not quit on Ctrl-C within 10 s".into(),
        ));
    }
    result
}

/// What `bench sign-in` runs.
#[derive(Debug, Clone)]
pub struct SignInOptions {
    /// Members in the database.
    pub members: u64,
    /// Connections signing in at once, one level after the other.
    pub concurrencies: Vec<usize>,
    /// How long each level runs.
    pub per_level: Duration,
    /// How long after the load the server's memory is read again.
    pub settle: Duration,
    /// How long each raw argon2id measurement runs (once on one core, then on all cores before
    /// the first level and after each).
    pub raw_time: Duration,
}

/// The median, 99th percentile and largest of a set of durations.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spread {
    /// How many were measured.
    pub n: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
    /// Mean (throughput follows the mean, not the median).
    pub mean: Duration,
}

impl Spread {
    /// The spread of `times` (sorted here).
    pub fn of(times: &mut [Duration]) -> Self {
        let (p50, p99) = percentiles(times);
        let total: Duration = times.iter().sum();
        Self {
            n: times.len(),
            p50,
            p99,
            max: times.last().copied().unwrap_or_default(),
            mean: total / u32::try_from(times.len().max(1)).unwrap_or(u32::MAX),
        }
    }

    /// p99 over p50.
    pub fn tail_ratio(&self) -> f64 {
        self.p99.as_secs_f64() / self.p50.as_secs_f64().max(1e-9)
    }
}

/// Where the server says one level's sign-ins spent their time (its `tobira::timing` debug
/// events; empty for a server build that has none).
#[derive(Debug, Clone, Default)]
pub struct ServerPhases {
    /// Reserving the attempt: one write transaction, its wait for the lock included.
    pub reserve: Spread,
    /// Waiting in the argon2 queue for a worker.
    pub queued: Spread,
    /// Jobs the workers took while a job waited (in microseconds of the spread: one job each):
    /// in a FIFO queue those ahead of it, whatever the machine's speed.
    pub ahead: Spread,
    /// Hashing on a worker.
    pub hash: Spread,
    /// The password check as the route saw it (lookup, queue, hash, the task's wake-up).
    pub check: Spread,
    /// After the check: releasing the attempt, starting the flow with its audit, a few reads.
    pub settle: Spread,
    /// Each write transaction's wait for a connection and SQLite's write lock.
    pub lock: Spread,
}

/// The server's timing events as they arrive on its log.
#[derive(Debug, Default)]
struct TimingLog {
    reserve: Vec<Duration>,
    queued: Vec<Duration>,
    ahead: Vec<Duration>,
    hash: Vec<Duration>,
    check: Vec<Duration>,
    settle: Vec<Duration>,
    lock: Vec<Duration>,
}

impl TimingLog {
    /// Takes the `key_us=N` fields of a `tobira::timing` log line.
    fn record(&mut self, line: &str) {
        let Some((_, fields)) = line.split_once("tobira::timing: ") else {
            return;
        };
        for (key, value) in fields.split_whitespace().filter_map(|f| f.split_once('=')) {
            let Ok(us) = value.parse::<u64>() else {
                continue;
            };
            let into = match key {
                "ahead" => &mut self.ahead,
                "reserve_us" => &mut self.reserve,
                "queued_us" => &mut self.queued,
                "hash_us" => &mut self.hash,
                "check_us" => &mut self.check,
                "settle_us" => &mut self.settle,
                "lock_us" => &mut self.lock,
                _ => continue,
            };
            into.push(Duration::from_micros(us));
        }
    }

    /// The spreads of everything recorded since the last call.
    fn take(&mut self) -> ServerPhases {
        let mut taken = std::mem::take(self);
        ServerPhases {
            reserve: Spread::of(&mut taken.reserve),
            queued: Spread::of(&mut taken.queued),
            ahead: Spread::of(&mut taken.ahead),
            hash: Spread::of(&mut taken.hash),
            check: Spread::of(&mut taken.check),
            settle: Spread::of(&mut taken.settle),
            lock: Spread::of(&mut taken.lock),
        }
    }
}

/// What `bench sign-in` measured at one concurrency.
#[derive(Debug, Clone)]
pub struct SignInLevel {
    /// Connections signing in at once.
    pub concurrency: usize,
    /// Sign-ins answered 200.
    pub ok: u64,
    /// Sign-ins refused with 503 (admission queue full).
    pub busy: u64,
    /// Any other failure, and the first one's text.
    pub errors: (u64, Option<String>),
    /// Successful sign-ins per second over the level.
    pub per_sec: f64,
    /// Raw argon2id verifications per second on all cores just before the level.
    pub raw_before: f64,
    /// The same just after it.
    pub raw_after: f64,
    /// Time of a successful sign-in as the client saw it.
    pub latency: Spread,
    /// Where the server says the time went.
    pub phases: ServerPhases,
    /// CPU time the bench process (the clients) used during the level.
    pub client_cpu: Duration,
    /// CPU time the server used during the level.
    pub server_cpu: Duration,
    /// The server's largest resident set seen during the level, KiB.
    pub rss_peak_kib: u64,
}

impl SignInLevel {
    /// The raw all-core rate next to this level: the mean of the runs before and after it.
    pub fn raw_adjacent(&self) -> f64 {
        (self.raw_before + self.raw_after) / 2.0
    }

    /// Sign-ins per second as a share of the raw all-core rate measured next to the level.
    pub fn of_raw(&self) -> f64 {
        self.per_sec / self.raw_adjacent().max(1e-9)
    }

    /// p99 over p50 of the client's latency.
    pub fn tail_ratio(&self) -> f64 {
        self.latency.tail_ratio()
    }
}

/// What `bench sign-in` measured.
#[derive(Debug, Clone)]
pub struct SignInBench {
    /// Members in the database.
    pub members: u64,
    /// The argon2id cost the server checks with.
    pub hashing: crate::server::HashingParams,
    /// Cores the raw all-core rate runs on.
    pub cores: usize,
    /// Raw argon2id verifications per second on one core (before the levels).
    pub raw_one_core: f64,
    /// Each raw verification's time on one core.
    pub raw_hash_one_core: Spread,
    /// Each raw verification's time on all cores (every all-core measurement of the run).
    pub raw_hash_all_cores: Spread,
    /// The load average (1, 5, 15 min) when the run began and when it ended.
    pub loadavg: (String, String),
    /// The server's resident set before any load, KiB.
    pub rss_idle_kib: u64,
    /// Each concurrency.
    pub levels: Vec<SignInLevel>,
    /// The server's resident set `settle` after the last level, KiB.
    pub rss_after_kib: u64,
    /// How long after the load `rss_after_kib` was read.
    pub settle: Duration,
    /// The server's peak resident set over the whole run (VmHWM), KiB.
    pub rss_hwm_kib: u64,
}

/// Raw argon2id verifications per second of `phc` on `threads` threads for `time`, with each
/// verification's own time: the spread a bare hash has on this machine, the floor under a
/// sign-in's when nothing queues.
pub fn argon2_sample(
    phc: &str,
    password: &str,
    threads: usize,
    time: Duration,
) -> (f64, Vec<Duration>) {
    use crate::server::hash_pool::{BlockBuffer, verify_with};
    let started = Instant::now();
    let times: Vec<Duration> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut blocks = BlockBuffer::default();
                    let mut times = Vec::new();
                    while started.elapsed() < time {
                        let t = Instant::now();
                        if verify_with(password.as_bytes(), phc, &mut blocks) {
                            times.push(t.elapsed());
                        }
                    }
                    times
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let rate = times.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    (rate, times)
}

/// A `status` field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`); 0 when unreadable.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The CPU time (user and system, all threads) a process has used, from `/proc/<pid>/stat`
/// (Linux counts it in ticks of 1/100 s); zero when unreadable.
pub fn proc_cpu_time(pid: u32) -> Duration {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // The command name (field 2) may hold spaces: count from the ')' that ends it.
            let fields: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
            let (utime, stime) = (fields.get(11)?, fields.get(12)?);
            Some(utime.parse::<u64>().ok()? + stime.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks.saturating_mul(10))
}

/// The first three fields of `/proc/loadavg` ("?" when unreadable).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// The bench's server: a `tobira serve` child on 127.0.0.1 port 0, killed when dropped.
struct ServerChild {
    child: std::process::Child,
    url: String,
    timings: std::sync::Arc<std::sync::Mutex<TimingLog>>,
}

impl ServerChild {
    fn start(exe: &Path, data: &Path) -> Result<Self, BenchError> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let config = data.join("bench-config.toml");
        std::fs::write(&config, bench_config()?)?;
        let mut child = Command::new(exe)
            .arg("--config")
            .arg(&config)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("TOBIRA_DATA_DIR", data)
            // The timing events say where each sign-in's time went; plain text to parse.
            .env("RUST_LOG", "warn,tobira::timing=debug")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BenchError::Wrong(format!("cannot start {}: {e}", exe.display())))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| BenchError::Wrong("no stderr".into()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        let timings = std::sync::Arc::new(std::sync::Mutex::new(TimingLog::default()));
        let log = timings.clone();
        // Reads the port from the server's start-up line, then keeps reading its log.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.split("listening on ").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(Ok(addr.trim().to_owned()));
                } else if line.contains("tobira::timing: ") {
                    if let Ok(mut log) = log.lock() {
                        log.record(&line);
                    }
                } else if let Some(tx) = &tx {
                    let _ = tx.send(Err(line));
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Ok(addr)) => break addr,
                Ok(Err(line)) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(BenchError::Wrong(format!(
                        "the server did not start within 60 s: {}",
                        seen.join("\n")
                    )));
                }
            }
        };
        let port = addr.rsplit(':').next().unwrap_or_default();
        Ok(Self {
            child,
            url: format!("http://localhost:{port}"),
            timings,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's timing events since the last call.
    fn take_timings(&self) -> ServerPhases {
        self.timings
            .lock()
            .map(|mut log| log.take())
            .unwrap_or_default()
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bench server's configuration: the defaults but for the address throttle. Every
/// connection comes from 127.0.0.1, like the kiosks of one office behind one NAT address, and
/// each sign-in in flight holds an attempt on the address until its password is proved: with
/// the default allowance (10) the levels above it measured `rate_limited` answers. The README
/// tells such an office to raise `[lockout.address] free_failures`; the bench does the same.
fn bench_config() -> Result<String, BenchError> {
    #[derive(serde::Serialize)]
    struct Config {
        lockout: crate::domain::LockoutPolicy,
    }
    let mut lockout = crate::domain::LockoutPolicy::default();
    lockout.address.free_failures = 1_000_000;
    toml::to_string(&Config { lockout }).map_err(|e| BenchError::Wrong(e.to_string()))
}

/// Samples the server's resident set until told to stop; returns the largest seen, KiB.
fn sample_rss(pid: u32, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> u64 {
    let mut peak = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        peak = peak.max(proc_status_kib(pid, "VmRSS"));
        std::thread::sleep(Duration::from_millis(20));
    }
    peak.max(proc_status_kib(pid, "VmRSS"))
}

/// The raw argon2id verify rate of `phc` on `threads` threads, off the async runtime; each
/// verification's time is added to `times`.
async fn raw_rate(
    phc: &str,
    threads: usize,
    time: Duration,
    times: &mut Vec<Duration>,
) -> Result<f64, BenchError> {
    let phc = phc.to_owned();
    let (rate, sample) =
        tokio::task::spawn_blocking(move || argon2_sample(&phc, RAW_PASSWORD, threads, time))
            .await
            .map_err(|e| BenchError::Wrong(format!("argon2 thread: {e}")))?;
    times.extend(sample);
    Ok(rate)
}

const RAW_PASSWORD: &str = "bench-password";

/// Fills a data directory with `members` generated members, starts `exe serve` on it
/// (127.0.0.1, port 0) and drives real HTTP sign-ins at each concurrency for `per_level`,
/// sampling the server's resident set and CPU time and collecting its timing events; reads its
/// memory again `settle` after the load. The raw argon2id verify rate at the default cost is
/// measured on one core first, then on all cores before the first level and after each (the
/// server idle), so each level is compared with the rate the machine had next to it.
pub async fn sign_in(
    exe: &Path,
    dir: &Path,
    options: &SignInOptions,
    today: time::Date,
    now: i64,
) -> Result<SignInBench, BenchError> {
    let SignInOptions {
        members,
        ref concurrencies,
        per_level,
        settle,
        raw_time,
    } = *options;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use crate::api::{ErrorCode, Lang};
    use crate::client::{Client, ClientError};
    use crate::domain::initial_password;

    let load_at_start = loadavg();
    let members = members.max(1);
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let csv_path = dir.join("roster.csv");
    write_roster(&csv_path, members)?;
    {
        let store = SqliteStore::open(&data.join("tobira.db").to_string_lossy()).await?;
        let report = crate::import::import_roster(
            &store,
            std::fs::File::open(&csv_path)?,
            today,
            now,
            |_| {},
        )
        .await?;
        if report.imported != members {
            return Err(BenchError::Wrong(format!(
                "imported {} of {members}",
                report.imported
            )));
        }
    }
    let credentials: Arc<Vec<(String, String)>> = Arc::new(
        (0..members)
            .map(|i| {
                let r = demo_row(i);
                let password = initial_password(&r.card, &r.birth_date);
                (r.user_id.as_str().to_owned(), password)
            })
            .collect(),
    );

    let hashing = crate::server::HashingParams::default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let phc = tokio::task::spawn_blocking(move || hashing.hash_blocking(RAW_PASSWORD))
        .await
        .map_err(|e| BenchError::Wrong(format!("argon2 thread: {e}")))?
        .map_err(|e| BenchError::Wrong(e.to_string()))?;
    let mut one_core_times = Vec::new();
    let raw_one_core = raw_rate(&phc, 1, raw_time, &mut one_core_times).await?;

    let server = ServerChild::start(exe, &data)?;
    let pid = server.pid();
    let client = Client::new(&server.url).map_err(|e| BenchError::Wrong(e.to_string()))?;
    // One sign-in first: the server makes its decoy hash on first need, and a broken
    // server is better found before the timed part.
    let (id, pw) = &credentials[0];
    client
        .sign_in(id, pw, Lang::Ja)
        .await
        .map_err(|e| BenchError::Wrong(format!("the first sign-in failed: {e}")))?;
    let rss_idle_kib = proc_status_kib(pid, "VmRSS");

    let mut all_core_times = Vec::new();
    let mut raw_before = raw_rate(&phc, cores, raw_time, &mut all_core_times).await?;
    server.take_timings();
    let mut levels = Vec::new();
    for &concurrency in concurrencies.iter() {
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let stop = stop.clone();
            std::thread::spawn(move || sample_rss(pid, stop))
        };
        let (client_cpu, server_cpu) = (proc_cpu_time(std::process::id()), proc_cpu_time(pid));
        let started = Instant::now();
        let deadline = started + per_level;
        let mut tasks = Vec::new();
        for c in 0..concurrency.max(1) {
            // Each connection its own client, so each is one keep-alive connection.
            let client = Client::new(&server.url).map_err(|e| BenchError::Wrong(e.to_string()))?;
            let credentials = credentials.clone();
            // Members of its own (c, c + n, c + 2n, … for n connections), so no two sign-ins of
            // one member are in flight at once: each would hold an attempt on the user ID.
            let mine: Vec<usize> = (c % credentials.len()..credentials.len())
                .step_by(concurrency.max(1))
                .collect();
            tasks.push(tokio::spawn(async move {
                let (mut times, mut busy, mut errors, mut first) =
                    (Vec::new(), 0u64, 0u64, None::<String>);
                for &i in mine.iter().cycle() {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let (id, pw) = &credentials[i];
                    let t = Instant::now();
                    match client.sign_in(id, pw, Lang::Ja).await {
                        Ok(_) => times.push(t.elapsed()),
                        Err(ClientError::Api(e)) if e.code == ErrorCode::ServerBusy => busy += 1,
                        Err(e) => {
                            errors += 1;
                            first.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
                (times, busy, errors, first)
            }));
        }
        let (mut times, mut busy, mut errors, mut first) = (Vec::new(), 0, 0, None);
        for t in tasks {
            let (t, b, e, f) = t
                .await
                .map_err(|e| BenchError::Wrong(format!("load task: {e}")))?;
            times.extend(t);
            busy += b;
            errors += e;
            first = first.or(f);
        }
        let elapsed = started.elapsed();
        let client_cpu = proc_cpu_time(std::process::id()).saturating_sub(client_cpu);
        let server_cpu = proc_cpu_time(pid).saturating_sub(server_cpu);
        stop.store(true, Ordering::Relaxed);
        let rss_peak_kib = sampler.join().unwrap_or(0);
        // The server idles now: the rate after this level (and before the next one).
        let raw_after = raw_rate(&phc, cores, raw_time, &mut all_core_times).await?;
        levels.push(SignInLevel {
            concurrency,
            ok: times.len() as u64,
            busy,
            errors: (errors, first),
            per_sec: times.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            raw_before,
            raw_after,
            latency: Spread::of(&mut times),
            phases: server.take_timings(),
            client_cpu,
            server_cpu,
            rss_peak_kib,
        });
        raw_before = raw_after;
    }
    tokio::time::sleep(settle).await;
    let rss_after_kib = proc_status_kib(pid, "VmRSS");
    let rss_hwm_kib = proc_status_kib(pid, "VmHWM");
    drop(server);
    Ok(SignInBench {
        members,
        hashing,
        cores,
        raw_one_core,
        raw_hash_one_core: Spread::of(&mut one_core_times),
        raw_hash_all_cores: Spread::of(&mut all_core_times),
        loadavg: (load_at_start, loadavg()),
        rss_idle_kib,
        levels,
        rss_after_kib,
        settle,
        rss_hwm_kib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_timing_lines_are_read_by_field() {
        let mut log = TimingLog::default();
        log.record(
            "2026-12-06T15:50:00.123456Z DEBUG tobira::timing: sign-in reserve_us=120 check_us=30500 settle_us=900",
        );
        log.record(
            "2026-12-06T15:50:00.2Z DEBUG tobira::timing: argon2 ahead=3 queued_us=7 hash_us=29000",
        );
        log.record("2026-12-06T15:50:00.3Z DEBUG tobira::timing: write lock_us=bad");
        log.record("2026-12-06T15:50:00.4Z WARN tobira::server: reserve_us=5");
        let p = log.take();
        assert_eq!(
            (p.reserve.n, p.reserve.p50),
            (1, Duration::from_micros(120))
        );
        assert_eq!(p.check.max, Duration::from_micros(30_500));
        assert_eq!(p.settle.p99, Duration::from_micros(900));
        assert_eq!(p.queued.p50, Duration::from_micros(7));
        assert_eq!(p.ahead.p50, Duration::from_micros(3));
        assert_eq!(p.hash.p50, Duration::from_micros(29_000));
        assert_eq!(p.lock.n, 0);
        // Taken once: the next level starts empty.
        assert_eq!(log.take().reserve.n, 0);
    }

    #[test]
    fn a_spread_has_its_mean_as_well_as_its_median() {
        let mut times: Vec<Duration> = [6, 1, 3, 2].map(Duration::from_millis).to_vec();
        let s = Spread::of(&mut times);
        assert_eq!((s.n, s.max), (4, Duration::from_millis(6)));
        assert_eq!(s.mean, Duration::from_millis(3));
        assert_eq!(Spread::of(&mut []).mean, Duration::ZERO);
    }

    #[test]
    fn the_raw_sample_times_each_verification_and_counts_only_right_ones() -> Result<(), String> {
        let cheap = crate::server::HashingParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let phc = cheap
            .hash_blocking(RAW_PASSWORD)
            .map_err(|e| e.to_string())?;
        let time = Duration::from_millis(50);
        let started = Instant::now();
        let (rate, times) = argon2_sample(&phc, RAW_PASSWORD, 2, time);
        let elapsed = started.elapsed();
        assert!(!times.is_empty());
        assert!(times.iter().all(|t| *t <= elapsed));
        let counted = times.len() as f64 / elapsed.as_secs_f64();
        assert!(rate >= counted, "{rate} < {counted}");
        let (rate, times) = argon2_sample(&phc, "another password", 2, time);
        assert_eq!((rate, times.len()), (0.0, 0));
        Ok(())
    }
}
