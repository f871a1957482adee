//! Command-line arguments (clap). Kept free of the crate's other modules so that `build.rs`
//! can include it to write the man page.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// tobira (扉): first login and second-factor set-up for the member portal, in the terminal.
///
/// With no command, tobira starts its server inside the process (SQLite in the data
/// directory, mail written to the local outbox, a demo roster on first start) and opens the
/// member screens on it. `--server URL` opens the screens against a remote `tobira serve`.
#[derive(Debug, Parser)]
#[command(name = "tobira", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Use the screens against this server instead of the embedded one.
    #[arg(long, value_name = "URL", global = false)]
    pub server: Option<String>,

    /// Language of the screens (default: from LC_ALL / LANG; ja* → Japanese).
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,

    /// How QR codes are drawn (default: `[tui] qr_style`, else half-blocks); F4 switches.
    #[arg(long, value_enum, env = "TOBIRA_QR_STYLE")]
    pub qr_style: Option<QrStyle>,

    /// Colours for the terminal's background: `auto` asks the terminal (OSC 11), with colours
    /// that read on either background when it does not answer (default: `[tui] theme`, else
    /// auto).
    #[arg(long, value_enum, env = "TOBIRA_THEME")]
    pub theme: Option<ThemeArg>,

    /// No colours (as when NO_COLOR is set): focus is shown with reverse video and brackets.
    #[arg(long)]
    pub no_color: bool,

    /// Offer the soft test authenticator kept in FILE (created on first use) on the passkey
    /// screens: for tests and scripted runs only, never for members. The file holds private
    /// keys in the clear.
    #[arg(long, env = "TOBIRA_SOFT_AUTHENTICATOR", value_name = "FILE")]
    pub soft_authenticator: Option<PathBuf>,

    /// What to do (default: the member screens).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where tobira keeps its database, outbox, keys and logs.
    #[arg(long, global = true, env = "TOBIRA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// The database: a SQLite file path or a sqlite:// URL (default: <data dir>/tobira.db), or a
    /// postgres:// URL (PostgreSQL, for several `tobira serve` processes sharing one database).
    #[arg(long, global = true, env = "TOBIRA_DATABASE", value_name = "URL")]
    pub database: Option<String>,

    /// A TOML configuration file (default: <data dir>/config.toml when it exists).
    #[arg(long, global = true, env = "TOBIRA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// How QR codes are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QrStyle {
    /// `▀ ▄ █`: compact.
    HalfBlocks,
    /// Coloured spaces only: for terminals that draw ambiguous-width characters wide.
    Spaces,
}

/// Which palette the screens use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThemeArg {
    /// Ask the terminal for its background.
    Auto,
    /// Colours for a dark background.
    Dark,
    /// Colours for a light background.
    Light,
}

/// The two languages of the screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    /// 日本語
    Ja,
    /// English
    En,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server alone, for many terminals.
    Serve(ServeArgs),
    /// The member screens as a locked-down kiosk at a shared terminal.
    ///
    /// Ctrl-C, Ctrl-Z and Ctrl-\ do nothing, and the demo mailbox and the soft authenticator
    /// do not exist. After `[kiosk] idle_secs` without input a countdown appears, then the flow
    /// is signed out and the kiosk starts again on its welcome screen; the screen and the
    /// terminal's scrollback are wiped after every visit. The kiosk ends on SIGTERM, or when a
    /// staff member presses F12 three times in a row and signs in with login, password and
    /// authenticator code. Every start runs the self-check (see --check) and refuses to start on
    /// an unsafe finding unless --allow-unsafe is given.
    Kiosk(KioskArgs),
    /// Operator tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Measure performance.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The helpdesk staff console: sign in (or enrol with the code from `tobira admin staff
    /// add`), find a caller, see where they are stuck, verify them and help.
    ///
    /// Without --server it runs against the embedded server of the data directory, like the
    /// member screens. The staff session is kept in the OS keyring (the Secret Service, else
    /// the kernel's session keyring, else memory only — the console says so once) so that a
    /// staff member signs in once per shift; a password is never stored.
    ///
    /// The screens: sign-in (or enrolment: the code, the app's QR code or its key, a new
    /// password and a code); find the caller; the member's case, live; verify the caller; the
    /// actions, each with a reason; the audit log, a member's (from the case) or everyone's
    /// (from the search), filtered by staff login, action and dates, a page at a time. The
    /// footer names the keys each screen handles. The first staff account (an admin) is added
    /// with `tobira admin staff add LOGIN --role admin` at the server.
    Helpdesk(HelpdeskArgs),
    /// Print a shell completion script to standard output.
    ///
    /// bash: `tobira completions bash > /etc/bash_completion.d/tobira` (or
    /// `~/.local/share/bash-completion/completions/tobira`); zsh: write `_tobira` into a
    /// directory of `$fpath`; fish: `tobira completions fish > ~/.config/fish/completions/tobira.fish`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: ShellArg,
    },
    /// Run acceptance scenarios against the real screens: headless, each with its own embedded
    /// server on a shared manual clock, a virtual authenticator app, passkey and mailbox.
    ///
    /// Scenario files are plain text, one step per line; the full reference follows. The exit
    /// status is 0 when every scenario passed, 1 when any failed, 2 when a file does not parse.
    #[command(after_long_help = SCRIPT_REFERENCE)]
    Script(ScriptArgs),
}

/// A shell `tobira completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// The scenario language's reference (`tobira script --help`, the man page, the README).
pub const SCRIPT_REFERENCE: &str = include_str!("script_reference.txt");

/// `tobira script`.
#[derive(Debug, Args)]
pub struct ScriptArgs {
    /// Scenario files (`.tobira`) to run.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Run built-in scenarios: `all`, or their names (see --list).
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub builtin: Vec<String>,
    /// List the built-in scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Parallel workers, each running a scenario with its own server and data directory.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Run a failing scenario again up to N times (a pass on retry is reported as passed,
    /// with its attempts).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a JSON-lines report (one line per scenario).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Where a failed scenario's screen, last frames and asciicast recording go
    /// (DIR/<scenario>/failure.txt, frames.txt, recording.cast).
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Rewrite the golden files of `snapshot` steps instead of comparing.
    #[arg(long)]
    pub update_snapshots: bool,
    /// Default time an `expect` or `mail wait` waits (e.g. 5s, 500ms).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Drive the real binary in a pseudo-terminal through a terminal emulator (against the
    /// scenario's embedded server), instead of headless in-process.
    #[arg(long)]
    pub pty: bool,
    /// Run against a deployed server instead of an embedded one per scenario (`clock`, `fault`,
    /// `staff add`, `config` and roster files are refused there with a message).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// With --server: listen for SMTP on ADDR (e.g. 127.0.0.1:2525) and read the scenarios'
    /// mail from what arrives there (configure the deployed server to send to it).
    #[arg(long, value_name = "ADDR")]
    pub smtp_sink: Option<String>,
}

/// `tobira helpdesk`.
#[derive(Debug, Args)]
pub struct HelpdeskArgs {
    /// Use the console against this server instead of the embedded one.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Sign out: end the kept staff session on the server and remove it from the keyring,
    /// then exit (prints one line).
    #[arg(long)]
    pub sign_out: bool,
}

/// `tobira serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: the config's, else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

/// `tobira kiosk`.
#[derive(Debug, Args)]
pub struct KioskArgs {
    /// The server to use (default: the embedded one, as with no command).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Only run the self-check: one line per finding (running inside tmux or screen, a shell
    /// to fall back to, job control, a terminal that keeps scrollback). The exit status is 0
    /// with no findings, 1 with warnings only, 2 with an unsafe finding.
    #[arg(long)]
    pub check: bool,
    /// Start even when the self-check finds a way for members to escape or spy.
    #[arg(long)]
    pub allow_unsafe: bool,
}

/// `tobira admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Import or update members from a roster CSV (header: symbol,number,birthdate,name,email,user_id
    /// or 記号,番号,生年月日,氏名,メールアドレス,ユーザID).
    ///
    /// The file may be UTF-8 (with or without a byte-order mark) or CP932 (Shift_JIS as Windows
    /// writes it); the encoding is detected unless --encoding names it. Birth dates may be
    /// written YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD. Re-importing the same file changes nothing.
    /// Rows that cannot be used are reported with their line number and reason; the exit status
    /// is 2 when any row was rejected.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The file's character encoding.
        #[arg(long, value_enum, default_value_t = EncodingArg::Auto)]
        encoding: EncodingArg,
        /// Check the file against the database and report what would be imported, updated,
        /// unchanged and rejected, without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// How the report is printed.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// The outgoing mail queue.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Helpdesk staff accounts: add, list, disable, reset. Only the server's operator (and
    /// staff admins, in the console) manage staff.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The append-only audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Apply the database's pending migrations (SQLite or PostgreSQL) and name each one
    /// applied. Every command migrates on opening anyway; this does it alone, before starting
    /// several servers or after an upgrade.
    Migrate,
}

/// `tobira admin staff …`.
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff account and print its one-time enrolment code (valid 1 hour, shown once).
    ///
    /// The staff member enrols with the code in `tobira helpdesk`: they set their password and
    /// add an authenticator app or a passkey (staff must have one). The first admin is added
    /// this way.
    Add {
        /// The login: 2–32 characters, ASCII letters, digits and . - _, starting with a letter
        /// (stored lower-case).
        user: String,
        /// What the account may do: `helpdesk` helps members; `admin` also manages staff.
        #[arg(long, value_enum)]
        role: StaffRoleArg,
        /// The name shown in the console and the audit log (default: the login).
        #[arg(long)]
        name: Option<String>,
    },
    /// List staff accounts: login, role, status, authenticator apps, name (never a password
    /// hash, a secret or a code).
    List,
    /// Disable a staff account: it can no longer sign in and its sessions end at once.
    Disable {
        /// The login.
        user: String,
    },
    /// Reset a staff account: its password and authenticator apps are removed, its sessions end,
    /// its failures are forgotten, it is enabled again, and a new one-time enrolment code is
    /// printed (valid 1 hour, shown once). For a lost phone, a forgotten password or a hold.
    Reset {
        /// The login.
        user: String,
    },
}

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StaffRoleArg {
    /// Helps members; cannot act on staff accounts.
    Helpdesk,
    /// Helps members and manages staff accounts.
    Admin,
}

/// `tobira admin audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write the audit log to standard output, oldest first: every entry's id, time, actor
    /// (member:<id>, staff:<id>, system, import), member, action and detail (never a secret).
    ///
    /// Days are YYYY-MM-DD (or YYYY/MM/DD, YYYYMMDD) in the portal's time zone ([portal]
    /// time_zone, Asia/Tokyo by default); --until includes its whole day. A date that cannot be
    /// read, or an unknown --member, is refused with exit status 2 and nothing written.
    Export {
        /// The first day to export.
        #[arg(long, value_name = "DATE")]
        since: String,
        /// The last day to export (default: up to now).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Only the entries about the member with this user ID.
        #[arg(long, value_name = "USER")]
        member: Option<String>,
        /// JSON Lines (one object per line) or CSV (RFC 4180, with a header line).
        #[arg(long, value_enum, default_value_t = AuditFormat::Jsonl)]
        format: AuditFormat,
    },
}

/// How `admin audit export` writes entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values, RFC 4180 (CRLF line ends, quoted where needed).
    Csv,
}

/// A roster file's character encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    /// Detect from the first 64 KiB: UTF-8 (with or without a byte-order mark) or CP932.
    Auto,
    /// UTF-8, with or without a byte-order mark.
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// Shift_JIS as Windows writes it (CP932, Windows-31J), with its vendor extensions.
    #[value(
        alias = "shift_jis",
        alias = "shift-jis",
        alias = "sjis",
        alias = "windows-31j"
    )]
    Cp932,
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Lines for people.
    Text,
    /// One JSON object, for scripts.
    Json,
}

/// `tobira admin mail …`.
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Show the mail queue: how many mails are pending, sent and failed, and the newest ones
    /// with their attempts, next try and last error (never their contents).
    ///
    /// The exit status is 0 when nothing has failed, 3 when some mail was given up.
    Status {
        /// How many of the newest mails to list.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// `tobira bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Generate a roster CSV and import it into a fresh SQLite database; report rows per second.
    Import {
        /// How many members to generate.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
    },
    /// Time the server's authenticator-app code check (decrypt the secrets, check the code, record
    /// the used step in SQLite) and report p50 / p99.
    Totp {
        /// How many verifications to time.
        #[arg(long, default_value_t = 10_000)]
        iterations: u64,
        /// Authenticator apps registered to the member (1–5; every code is checked against all).
        #[arg(long, default_value_t = 5)]
        devices: usize,
    },
    /// Start a server (`tobira serve` on 127.0.0.1, its own temporary data directory) with
    /// generated members and drive real HTTP sign-ins at each concurrency; report sign-ins per
    /// second, p50 / p99 / max, the server's peak resident memory and its memory after the load,
    /// where each sign-in's time went on the server, one connection's cycle in means, and each
    /// level's rate against the raw argon2id verify rate on all cores measured just before and
    /// after it (each raw verification timed too: a bare hash's own spread).
    SignIn {
        /// How many members the database holds.
        #[arg(long, default_value_t = 1_000)]
        members: u64,
        /// Connections signing in at once, one level after the other.
        #[arg(long, value_delimiter = ',', default_value = "1,2,8,32,64")]
        concurrency: Vec<usize>,
        /// Seconds each level runs (1–600).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
        secs: u64,
        /// Seconds to wait after the load before reading the server's memory again (0–600).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=600))]
        settle_secs: u64,
        /// Seconds of each raw argon2id measurement (on one core once, on all cores before
        /// and after each level) (1–60).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
        raw_secs: u64,
        /// Measure the server of another tobira binary (an older build) instead of this one.
        #[arg(long, value_name = "PATH")]
        server_exe: Option<PathBuf>,
    },
    /// Time the helpdesk console's search (user-ID prefix, names of 1, 2 and 3+ characters,
    /// card number, card symbol + number, email, no match) on a SQLite file of generated members
    /// with Japanese names, and report p50 / p99 per kind of query.
    ///
    /// The database is built on the first run and reused by later runs with the same
    /// --members (building a million members takes a few minutes).
    HelpdeskSearch {
        /// How many members the database holds.
        #[arg(long, default_value_t = 1_000_000)]
        members: u64,
        /// How many searches of each kind to time.
        #[arg(long, default_value_t = 2_000)]
        queries: u64,
        /// The database file to build or reuse (default:
        /// <temporary directory>/tobira-bench-helpdesk-search-<members>.db).
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
    /// Launch the member screens (embedded server, 80x24 pseudo-terminal) on a database of
    /// generated members and time each launch until its first frame is on the terminal.
    FirstFrame {
        /// How many members the database holds.
        #[arg(long, default_value_t = 100_000)]
        members: u64,
        /// How many launches to time.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}
