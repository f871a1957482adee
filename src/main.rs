//! The `tobira` binary: parses the command line and runs one command. `anyhow` lives here only.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use tobira::api::Lang;
use tobira::cli::{
    AdminCommand, AuditCommand, AuditFormat, BenchCommand, Cli, Command, EncodingArg, HelpdeskArgs,
    LangArg, MailCommand, ReportFormat, StaffCommand, StaffRoleArg,
};
use tobira::client::Client;
use tobira::domain::kiosk::Severity;
use tobira::roster::RosterEncoding;
use tobira::server::{self, AppState, Clock, SystemClock};
use tobira::setup::{self, Environment};
use tobira::tui::theme::Background;
use tobira::tui::theme_detect::{self, ThemeChoice};
use tobira::tui::widgets::qr::QrStyle;
use tobira::tui::{self, TuiOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Read while the process has one thread: the local offset cannot be read soundly later.
    let utc_offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    // One rustls provider for reqwest, lettre and sqlx: a bare builder panics when two are compiled in.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tobira: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, utc_offset)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tobira: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, utc_offset: time::UtcOffset) -> anyhow::Result<ExitCode> {
    let g = cli.global;
    match cli.command {
        None => {
            embedded(
                Environment::resolve(g.data_dir, g.config, g.database)?,
                cli.server,
                Screens {
                    lang: cli.lang,
                    qr_style: cli.qr_style,
                    theme: cli.theme,
                    no_color: cli.no_color,
                    utc_offset,
                    soft_authenticator: cli.soft_authenticator,
                    kiosk: None,
                },
            )
            .await
        }
        Some(Command::Kiosk(args)) => {
            let findings = tobira::tui::modes::kiosk::check::run();
            if args.check {
                return Ok(print_findings(&findings));
            }
            let hard = findings.iter().any(|f| f.severity == Severity::Hard);
            if hard && !args.allow_unsafe {
                for f in &findings {
                    eprintln!("{f}");
                }
                eprintln!(
                    "tobira kiosk: refusing to start on an unsafe finding (--allow-unsafe starts anyway)"
                );
                return Ok(ExitCode::from(2));
            }
            // From here on nothing at the terminal stops the kiosk, not even while it starts.
            let _held = tui::ignore_stop_signals().context("cannot install signal handlers")?;
            let env = Environment::resolve(g.data_dir, g.config, g.database)?;
            let k = &env.config.kiosk;
            let settings = tobira::tui::modes::kiosk::KioskSettings {
                idle_secs: k.idle_secs,
                warn_secs: k.warn_secs,
                lang: match cli.lang {
                    Some(LangArg::Ja) => Lang::Ja,
                    Some(LangArg::En) => Lang::En,
                    None => k.lang,
                },
                methods: k.methods.clone(),
                branch: k.branch.clone(),
            };
            let kiosk = KioskRun {
                settings,
                id: k.id.clone(),
                findings,
            };
            embedded(
                env,
                args.server.or(cli.server),
                Screens {
                    lang: cli.lang,
                    qr_style: cli.qr_style,
                    theme: cli.theme,
                    no_color: cli.no_color,
                    utc_offset,
                    soft_authenticator: None,
                    kiosk: Some(kiosk),
                },
            )
            .await
        }
        Some(Command::Helpdesk(args)) => {
            let env = Environment::resolve(g.data_dir, g.config, g.database)?;
            helpdesk(
                env,
                args,
                Screens {
                    lang: cli.lang,
                    qr_style: cli.qr_style,
                    theme: cli.theme,
                    no_color: cli.no_color,
                    utc_offset,
                    soft_authenticator: cli.soft_authenticator,
                    kiosk: None,
                },
            )
            .await
        }
        Some(Command::Completions { shell }) => {
            let shell = match shell {
                tobira::cli::ShellArg::Bash => clap_complete::Shell::Bash,
                tobira::cli::ShellArg::Zsh => clap_complete::Shell::Zsh,
                tobira::cli::ShellArg::Fish => clap_complete::Shell::Fish,
            };
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "tobira", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Serve(args)) => {
            init_stderr_log("info");
            let env = Environment::resolve(g.data_dir, g.config, g.database)?;
            serve(env, args.listen).await
        }
        Some(Command::Admin(AdminCommand::Import {
            file,
            encoding,
            dry_run,
            format,
        })) => {
            init_stderr_log("warn");
            let env = Environment::resolve(g.data_dir, g.config, g.database)?;
            let options = tobira::import::ImportOptions {
                encoding: match encoding {
                    EncodingArg::Auto => None,
                    EncodingArg::Utf8 => Some(RosterEncoding::Utf8),
                    EncodingArg::Cp932 => Some(RosterEncoding::Cp932),
                },
                dry_run,
            };
            import(env, &file, options, format).await
        }
        Some(Command::Admin(AdminCommand::Migrate)) => {
            init_stderr_log("warn");
            let env = Environment::resolve(g.data_dir, g.config, g.database)?;
            migrate(env).await
        }
        Some(Command::Admin(AdminCommand::Mail(MailCommand::Status { limit }))) => {
            init_stderr_log("warn");
            let env = Environment::resolve(g.data_dir, g.config, g.database)?;
            mail_status(env, limit).await
        }
        Some(Command::Admin(AdminCommand::Staff(cmd))) => {
            init_stderr_log("warn");
            let env = Environment::resolve(g.data_dir, g.config, g.database)?;
            staff(env, cmd).await
        }
        Some(Command::Admin(AdminCommand::Audit(AuditCommand::Export {
            since,
            until,
            member,
            format,
        }))) => {
            init_stderr_log("warn");
            let env = Environment::resolve(g.data_dir, g.config, g.database)?;
            let request = tobira::audit_export::ExportRequest {
                since,
                until,
                member,
                format: match format {
                    AuditFormat::Jsonl => tobira::audit_export::ExportFormat::Jsonl,
                    AuditFormat::Csv => tobira::audit_export::ExportFormat::Csv,
                },
            };
            audit_export(env, &request).await
        }
        Some(Command::Bench(BenchCommand::Import { rows })) => {
            init_stderr_log("warn");
            bench_import(rows, postgres_url(g.database)).await
        }
        Some(Command::Bench(BenchCommand::Totp {
            iterations,
            devices,
        })) => {
            init_stderr_log("warn");
            bench_totp(iterations, devices).await
        }
        Some(Command::Bench(BenchCommand::SignIn {
            members,
            concurrency,
            secs,
            settle_secs,
            raw_secs,
            server_exe,
        })) => {
            init_stderr_log("warn");
            bench_sign_in(
                members,
                &concurrency,
                secs,
                settle_secs,
                raw_secs,
                server_exe,
            )
            .await
        }
        Some(Command::Bench(BenchCommand::HelpdeskSearch {
            members,
            queries,
            db,
        })) => {
            // Building a million members runs 20,000-row statements that sqlx calls slow.
            init_stderr_log("warn,sqlx::query=error");
            bench_helpdesk_search(members, queries, db, postgres_url(g.database)).await
        }
        Some(Command::Bench(BenchCommand::FirstFrame { members, runs })) => {
            init_stderr_log("warn");
            bench_first_frame(members, runs).await
        }
        Some(Command::Script(args)) => script(&args).await,
    }
}

/// `tobira script`: 0 when every scenario passed, 1 when any failed, 2 when one cannot run.
async fn script(args: &tobira::cli::ScriptArgs) -> anyhow::Result<ExitCode> {
    // The server's own logs would drown the report (a scripted outage warns by design).
    init_stderr_log("error");
    match tobira::script::cli(args).await {
        Ok(true) => Ok(ExitCode::SUCCESS),
        Ok(false) => Ok(ExitCode::from(1)),
        Err(e) => {
            eprintln!("tobira script: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// `tobira kiosk --check`: one line per finding; 0 with none, 1 with warnings only, 2 with an
/// unsafe one.
fn print_findings(findings: &[tobira::domain::kiosk::Finding]) -> ExitCode {
    if findings.is_empty() {
        println!("kiosk self-check: no findings");
        return ExitCode::SUCCESS;
    }
    for f in findings {
        println!("{f}");
    }
    if findings.iter().any(|f| f.severity == Severity::Hard) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// What `tobira kiosk` runs with.
struct KioskRun {
    settings: tobira::tui::modes::kiosk::KioskSettings,
    /// `[kiosk] id`, sent with every request.
    id: Option<String>,
    /// What the self-check found (started anyway: warnings, or `--allow-unsafe`).
    findings: Vec<tobira::domain::kiosk::Finding>,
}

/// The member screens, or the kiosk around them.
async fn run_screens(opts: TuiOptions, kiosk: Option<KioskRun>) -> Result<(), tui::TuiError> {
    match kiosk {
        None => tui::run(opts).await,
        Some(k) => {
            for f in &k.findings {
                tracing::warn!(finding = %f, "kiosk self-check");
            }
            let opts = TuiOptions {
                client: opts.client.clone().with_kiosk_id(k.id),
                ..opts
            };
            tui::run_kiosk(opts, k.settings).await
        }
    }
}

fn init_stderr_log(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn now_and_today() -> (i64, time::Date) {
    let clock = SystemClock;
    (clock.now(), clock.today())
}

/// How the member screens were asked to look, from the command line.
struct Screens {
    lang: Option<LangArg>,
    qr_style: Option<tobira::cli::QrStyle>,
    theme: Option<tobira::cli::ThemeArg>,
    /// `--no-color`.
    no_color: bool,
    utc_offset: time::UtcOffset,
    /// `--soft-authenticator FILE` (tests and scripted runs only).
    soft_authenticator: Option<std::path::PathBuf>,
    /// `tobira kiosk`.
    kiosk: Option<KioskRun>,
}

/// The default: the member screens, on the embedded server unless `--server` names one.
async fn embedded(
    env: Environment,
    remote: Option<String>,
    screens: Screens,
) -> anyhow::Result<ExitCode> {
    // The screens own the terminal: logs go to a file, never to the screen.
    let _log = init_file_log(&env.log_dir())?;
    let utc_offset = screens.utc_offset;
    // Ask the terminal for its background before anything can fail and print, and before the
    // screens read the terminal (the answer would reach them as keys).
    let Look {
        lang,
        no_color,
        background,
        qr_style,
    } = look(&screens, &env).await;
    let soft_authenticator = screens
        .soft_authenticator
        .clone()
        .map(tobira::passkey::SoftAuthenticator::File);
    if soft_authenticator.is_some() {
        tracing::warn!("the soft test authenticator is offered on the passkey screens");
    }
    if let Some(url) = remote {
        let client =
            Client::new(&url).with_context(|| format!("cannot use the server URL {url}"))?;
        // Times on the screens follow the portal's time zone, not this host's; a server that
        // cannot say leaves the host's.
        let (utc_offset, portal) = match client.portal().await {
            Ok(info) => (
                tobira::portal::time_zone(&info.time_zone)
                    .map(|zone| tobira::portal::offset_at(&zone, now_and_today().0))
                    .unwrap_or(utc_offset),
                tui::portal_of(info),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "the server does not give its portal's name and time zone");
                (utc_offset, None)
            }
        };
        run_screens(
            TuiOptions {
                client,
                portal,
                lang,
                demo_outbox: None,
                no_color,
                background,
                qr_style,
                utc_offset,
                soft_authenticator: soft_authenticator.clone(),
            },
            screens.kiosk,
        )
        .await?;
        return Ok(ExitCode::SUCCESS);
    }
    let listener = server::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let port = listener
        .local_addr()
        .context("cannot read the bound port")?
        .port();
    let url = format!("http://localhost:{port}");
    // Building the HTTP client loads the system's CA roots (~10 ms): do it while the store opens,
    // so the first frame does not wait for both in turn.
    let client = tokio::task::spawn_blocking({
        let url = url.clone();
        move || Client::new(&url)
    });
    let store = env.open_store().await?;
    let (now, today) = now_and_today();
    let seeded = setup::seed_demo_roster(store.as_ref(), now, today).await?;
    if seeded > 0 {
        tracing::info!(seeded, "seeded the demo roster");
    }
    let settings = env.config.server_settings(url)?;
    // Times on the screens follow the portal's time zone, not this host's.
    let utc_offset = tobira::portal::offset_at(settings.portal().time_zone(), now);
    let portal = tui::portal_of(settings.portal().info());
    let state = app_state(&env, store, settings)?;
    let running = server::spawn_on(state, listener)?;
    tracing::info!(url = %running.local_url(), "embedded server");
    let client = client.await.context("the HTTP client's thread failed")??;
    // The demo mailbox only makes sense when mail stays on this machine.
    let demo_outbox = env.config.mail.smtp.is_none().then(|| env.outbox_dir());
    let result = run_screens(
        TuiOptions {
            client,
            portal,
            lang,
            demo_outbox,
            no_color,
            background,
            qr_style,
            utc_offset,
            soft_authenticator,
        },
        screens.kiosk,
    )
    .await;
    running.shutdown().await;
    result?;
    Ok(ExitCode::SUCCESS)
}

/// How the screens look: language, colours, the terminal's background, the QR style.
struct Look {
    lang: Lang,
    no_color: bool,
    background: Background,
    qr_style: QrStyle,
}

/// The look from the command line, the environment and the config; asks the terminal for its
/// background (on a blocking thread, before the screens read the terminal).
async fn look(screens: &Screens, env: &Environment) -> Look {
    let qr_style = match (screens.qr_style, env.config.tui.qr_style) {
        (Some(tobira::cli::QrStyle::Spaces), _)
        | (None, Some(tobira::config::QrStyleSetting::Spaces)) => QrStyle::Spaces,
        _ => QrStyle::HalfBlocks,
    };
    let lang = match screens.lang {
        Some(LangArg::Ja) => Lang::Ja,
        Some(LangArg::En) => Lang::En,
        None => tui::lang_from_env(),
    };
    let no_color = screens.no_color || tui::no_color_from_env();
    let background = tokio::task::spawn_blocking({
        let choice = theme_choice(screens.theme, env.config.tui.theme);
        move || {
            if no_color {
                Background::default()
            } else {
                theme_detect::choose(choice)
            }
        }
    })
    .await
    .unwrap_or_default();
    Look {
        lang,
        no_color,
        background,
        qr_style,
    }
}

/// `tobira helpdesk`: the staff console, on the embedded server unless `--server` names one;
/// `--sign-out` ends the kept session and exits.
async fn helpdesk(
    env: Environment,
    args: HelpdeskArgs,
    screens: Screens,
) -> anyhow::Result<ExitCode> {
    use tobira::client::StaffToken;
    use tobira::client::staff_keyring::StaffKeyring;
    use tobira::tui::modes::staff;
    let _log = init_file_log(&env.log_dir())?;
    let entry = staff::keyring_entry(args.server.as_deref(), &env.database);
    let opened = tokio::task::spawn_blocking(move || StaffKeyring::open(&entry))
        .await
        .context("the keyring's thread failed")?;
    if let Some(why) = &opened.fallback_reason {
        tracing::warn!(%why, kept_in = ?opened.keyring.kept_in(), "the staff session is not kept in the Secret Service");
    }
    let keyring = Arc::new(opened.keyring);
    let (client, running, utc_offset) = match &args.server {
        Some(url) => (
            Client::new(url).with_context(|| format!("cannot use the server URL {url}"))?,
            None,
            screens.utc_offset,
        ),
        None => {
            let listener = server::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            let port = listener
                .local_addr()
                .context("cannot read the bound port")?
                .port();
            let url = format!("http://localhost:{port}");
            let store = env.open_store().await?;
            let (now, today) = now_and_today();
            setup::seed_demo_roster(store.as_ref(), now, today).await?;
            let settings = env.config.server_settings(url.clone())?;
            let offset = tobira::portal::offset_at(settings.portal().time_zone(), now);
            let state = app_state(&env, store, settings)?;
            let running = server::spawn_on(state, listener)?;
            (Client::new(&url)?, Some(running), offset)
        }
    };
    let result = if args.sign_out {
        let k = Arc::clone(&keyring);
        let now = now_and_today().0;
        let kept = tokio::task::spawn_blocking(move || k.load(now))
            .await
            .context("the keyring's thread failed")?
            .context("cannot read the keyring")?;
        let line = match kept {
            Some(kept) => {
                let ended = client
                    .staff_sign_out(&StaffToken::new(kept.token.as_str()))
                    .await;
                let k = Arc::clone(&keyring);
                tokio::task::spawn_blocking(move || k.forget())
                    .await
                    .context("the keyring's thread failed")?
                    .context("cannot remove the session from the keyring")?;
                match ended {
                    Ok(_) => format!(
                        "Signed out {}; the kept staff session was removed.",
                        kept.login
                    ),
                    Err(e) if e.code() == Some(tobira::api::ErrorCode::StaffSessionExpired) => {
                        format!(
                            "The staff session of {} had already ended; it was removed.",
                            kept.login
                        )
                    }
                    Err(e) => format!(
                        "The kept staff session of {} was removed; the server could not be told ({e}).",
                        kept.login
                    ),
                }
            }
            None => "No kept staff session: nothing to sign out.".to_owned(),
        };
        println!("{line}");
        Ok(())
    } else {
        let Look {
            lang,
            no_color,
            background,
            qr_style,
        } = look(&screens, &env).await;
        let (mut app, first) = staff::app(lang, keyring);
        app.mode.utc_offset = utc_offset;
        app.mode.session.qr_style = qr_style;
        let soft = screens
            .soft_authenticator
            .clone()
            .map(tobira::passkey::SoftAuthenticator::File);
        if soft.is_some() {
            tracing::warn!("the soft test authenticator is offered on the staff passkey screen");
        }
        staff::run(
            client,
            app,
            first,
            tui::theme::Theme::for_background(no_color, background),
            soft,
        )
        .await
        .map_err(anyhow::Error::from)
    };
    if let Some(running) = running {
        running.shutdown().await;
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

/// `--theme` (or `TOBIRA_THEME`) wins over `[tui] theme`; neither means auto.
fn theme_choice(
    arg: Option<tobira::cli::ThemeArg>,
    setting: Option<tobira::config::ThemeSetting>,
) -> ThemeChoice {
    use tobira::cli::ThemeArg;
    use tobira::config::ThemeSetting;
    match (arg, setting) {
        (Some(ThemeArg::Dark), _) | (None, Some(ThemeSetting::Dark)) => ThemeChoice::Dark,
        (Some(ThemeArg::Light), _) | (None, Some(ThemeSetting::Light)) => ThemeChoice::Light,
        _ => ThemeChoice::Auto,
    }
}

/// The server's state for `embedded` and `serve`: the configured mailer, the system clock and
/// the secret key of the data directory.
fn app_state(
    env: &Environment,
    store: Arc<dyn tobira::store::Store>,
    settings: tobira::server::ServerSettings,
) -> anyhow::Result<AppState> {
    Ok(AppState::new(
        store,
        env.mailer()?,
        Arc::new(SystemClock),
        settings,
        env.secret_key()?,
    ))
}

fn init_file_log(
    dir: &std::path::Path,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    let appender = tracing_appender::rolling::daily(dir, "tobira.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOBIRA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init();
    Ok(guard)
}

/// `tobira serve`.
async fn serve(env: Environment, listen: Option<std::net::SocketAddr>) -> anyhow::Result<ExitCode> {
    let listen = listen
        .or(env.config.server.listen)
        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 8080)));
    let store = env.open_store().await?;
    // Bound first, so that `--listen 127.0.0.1:0` gets links to the port it really has.
    let listener = server::bind(listen).await?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let public = if bound.ip().is_loopback() || bound.ip().is_unspecified() {
        format!("http://localhost:{}", bound.port())
    } else {
        format!("http://{bound}")
    };
    let mut settings = env.config.server_settings(public)?;
    if let Ok(token) = std::env::var("TOBIRA_METRICS_TOKEN") {
        settings.metrics_token = Some(
            server::MetricsToken::new(&token)
                .map_err(|e| anyhow::anyhow!("TOBIRA_METRICS_TOKEN: {e}"))?,
        );
    }
    let database = tobira::store::redacted(&env.database);
    tracing::info!(public_url = %settings.public_url, %database, "starting");
    let state = app_state(&env, store, settings)?;
    let running = server::spawn_on(state, listener)?;
    eprintln!("tobira serve: listening on {}", running.addr);
    shutdown_signal().await;
    eprintln!("tobira serve: stopping");
    running.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, SIGTERM or SIGHUP.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let hup = signal(SignalKind::hangup());
        if let (Ok(mut term), Ok(mut hup)) = (term, hup) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// `tobira admin migrate`: applies the pending migrations and names each one (the database is
/// shown with its password hidden).
async fn migrate(env: Environment) -> anyhow::Result<ExitCode> {
    let applied = tobira::store::migrate(&env.database).await?;
    let database = tobira::store::redacted(&env.database);
    if applied.is_empty() {
        println!("{database}: up to date, no migration applied.");
    } else {
        for m in &applied {
            println!("applied {:04}_{}", m.version, m.name);
        }
        println!("{database}: {} migration(s) applied.", applied.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `tobira admin mail status`.
async fn mail_status(env: Environment, limit: u32) -> anyhow::Result<ExitCode> {
    let store = env.open_store().await?;
    let report = tobira::store::MailStore::mail_queue_report(store.as_ref(), limit).await?;
    print!("{}", tobira::server::mail_queue::format_report(&report));
    Ok(if report.failed > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// `tobira admin staff …`.
async fn staff(env: Environment, cmd: StaffCommand) -> anyhow::Result<ExitCode> {
    use tobira::staff_admin;
    let store = env.open_store().await?;
    let store: &dyn tobira::store::Store = store.as_ref();
    let (now, _) = now_and_today();
    match cmd {
        StaffCommand::Add { user, role, name } => {
            let role = match role {
                StaffRoleArg::Helpdesk => tobira::domain::StaffRole::Helpdesk,
                StaffRoleArg::Admin => tobira::domain::StaffRole::Admin,
            };
            let key = env.secret_key()?;
            let issued = staff_admin::add(store, &key, &user, role, name.as_deref(), now).await?;
            print!("{}", staff_admin::format_issued(&issued, "Added"));
        }
        StaffCommand::List => {
            print!(
                "{}",
                staff_admin::format_list(&staff_admin::list(store).await?)
            );
        }
        StaffCommand::Disable { user } => {
            let ended = staff_admin::disable(store, &user, now).await?;
            println!(
                "Disabled staff account {}; {ended} session(s) ended.",
                tobira::domain::staff::normalize_login(&user)
            );
        }
        StaffCommand::Reset { user } => {
            let key = env.secret_key()?;
            let (issued, ended) = staff_admin::reset(store, &key, &user, now).await?;
            println!("{ended} session(s) ended; password and authenticator apps removed.");
            print!("{}", staff_admin::format_issued(&issued, "Reset"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tobira admin audit export`: entries to stdout; a bad date or an unknown member is told in
/// the operator's language (LANG), with exit status 2 and nothing on stdout.
async fn audit_export(
    env: Environment,
    request: &tobira::audit_export::ExportRequest,
) -> anyhow::Result<ExitCode> {
    use tobira::audit_export::AuditExportError as E;
    use tobira::tui::i18n::tf;
    let portal = env
        .config
        .portal
        .resolve()
        .context("the [portal] settings")?;
    let store = env.open_store().await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result =
        tobira::audit_export::export(store.as_ref(), request, portal.time_zone(), &mut out).await;
    let lang = tui::lang_from_env();
    let told = match result {
        Ok(_) => {
            std::io::Write::flush(&mut out).context("cannot write the export")?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(E::BadDate { option, value }) => tf(
            lang,
            "cli.audit_bad_date",
            &[("option", option), ("value", &value)],
        ),
        Err(E::UntilBeforeSince { since, until }) => tf(
            lang,
            "cli.audit_until_before_since",
            &[("since", &since), ("until", &until)],
        ),
        Err(E::UnknownMember(user)) => tf(lang, "cli.audit_unknown_member", &[("user", &user)]),
        Err(e) => return Err(e.into()),
    };
    eprintln!("tobira: {told}");
    Ok(ExitCode::from(2))
}

/// `tobira admin import FILE`.
async fn import(
    env: Environment,
    file: &std::path::Path,
    options: tobira::import::ImportOptions,
    format: ReportFormat,
) -> anyhow::Result<ExitCode> {
    let handle =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let store = env.open_store().await?;
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(size),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if std::io::stderr().is_terminal() {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {percent:>3}% {bytes}/{total_bytes} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let (now, today) = now_and_today();
    let report =
        tobira::import::import_roster_with(store.as_ref(), handle, options, today, now, |bytes| {
            bar.set_position(bytes)
        })
        .await?;
    bar.finish_and_clear();
    match format {
        ReportFormat::Json => {
            let mut json = report.to_json();
            json["file"] = serde_json::Value::from(file.display().to_string());
            println!("{json}");
        }
        ReportFormat::Text => print_import_report(file, &report),
    }
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn print_import_report(file: &std::path::Path, report: &tobira::import::ImportReport) {
    let how = if report.encoding_detected {
        "detected"
    } else {
        "given"
    };
    println!(
        "{}{}: {} imported, {} updated, {} unchanged, {} rejected ({}, {how})",
        if report.dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        file.display(),
        report.imported,
        report.updated,
        report.unchanged,
        report.rejected.len(),
        report.encoding.name(),
    );
    for r in &report.rejected {
        println!("  line {}: {}", r.line, r.reason);
    }
    if report.encoding == RosterEncoding::Utf8
        && report
            .rejected
            .iter()
            .any(|r| r.reason.contains("not valid UTF-8"))
    {
        println!("  hint: if the file is Shift_JIS (CP932), import it with --encoding cp932");
    }
}

/// The `--database` of a bench when it names PostgreSQL (a bench on SQLite makes its own file).
fn postgres_url(database: Option<String>) -> Option<String> {
    database.filter(|d| {
        matches!(
            tobira::store::backend_of(d),
            Ok(tobira::store::Backend::Postgres)
        )
    })
}

/// `tobira bench import`.
async fn bench_import(rows: u64, postgres: Option<String>) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    eprintln!("generating {rows} members in {} …", dir.path().display());
    let (now, today) = now_and_today();
    let b = match postgres {
        Some(url) => {
            eprintln!("importing into the PostgreSQL database (it must hold no member) …");
            tobira::bench::import_postgres(&url, dir.path(), rows, now, today).await?
        }
        None => tobira::bench::import(dir.path(), rows, now, today).await?,
    };
    let per_sec = |d: std::time::Duration| b.rows as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "roster: {} rows, {:.1} MB",
        b.rows,
        b.file_bytes as f64 / 1e6
    );
    println!(
        "import: {:.2} s ({:.0} rows/s)",
        b.import.as_secs_f64(),
        per_sec(b.import)
    );
    println!(
        "re-import (unchanged): {:.2} s ({:.0} rows/s)",
        b.reimport.as_secs_f64(),
        per_sec(b.reimport)
    );
    println!(
        "sign-in lookup by user ID: {:.1} µs mean over 10000",
        b.lookup_mean.as_secs_f64() * 1e6
    );
    Ok(ExitCode::SUCCESS)
}

/// `tobira bench totp`.
async fn bench_totp(iterations: u64, devices: usize) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (now, _) = now_and_today();
    let b = tobira::bench::totp(dir.path(), iterations, devices, now).await?;
    let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
    println!(
        "totp verify (SQLite file, {} devices, {} codes): p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs, mean {:.1} µs",
        b.devices,
        b.iterations,
        us(b.p50),
        us(b.p99),
        us(b.max),
        us(b.mean)
    );
    println!(
        "  read + decrypt + check: p50 {:.1} µs, p99 {:.1} µs; replay-guard write: p50 {:.1} µs, p99 {:.1} µs",
        us(b.check.0),
        us(b.check.1),
        us(b.write.0),
        us(b.write.1)
    );
    Ok(ExitCode::SUCCESS)
}

/// `tobira bench sign-in`.
async fn bench_sign_in(
    members: u64,
    concurrency: &[usize],
    secs: u64,
    settle_secs: u64,
    raw_secs: u64,
    server_exe: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    use std::time::Duration;
    let exe = match server_exe {
        Some(exe) => exe,
        None => std::env::current_exe().context("cannot find the tobira binary")?,
    };
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    eprintln!(
        "importing {members} members into {}, then {} levels of {secs} s, argon2id measured for \
         {raw_secs} s on one core and on all cores before and after each level …",
        dir.path().display(),
        concurrency.len()
    );
    let (now, today) = now_and_today();
    let options = tobira::bench::SignInOptions {
        members,
        concurrencies: concurrency.to_vec(),
        per_level: Duration::from_secs(secs),
        settle: Duration::from_secs(settle_secs),
        raw_time: Duration::from_secs(raw_secs),
    };
    let b = tobira::bench::sign_in(&exe, dir.path(), &options, today, now).await?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mb = |kib: u64| kib as f64 / 1024.0;
    let h = b.hashing;
    println!(
        "sign-in bench: {} members, argon2id m={} KiB t={} p={}, {secs} s per level, server {}",
        b.members,
        h.memory_kib,
        h.iterations,
        h.parallelism,
        exe.display()
    );
    println!(
        "load average (1, 5, 15 min): {} at the start, {} at the end; {} cores",
        b.loadavg.0, b.loadavg.1, b.cores
    );
    println!(
        "raw argon2id verify on 1 core: {:.1}/s; on all {} cores: measured before and after \
         each level (raw/s: their mean; x raw: req/s over it)",
        b.raw_one_core, b.cores
    );
    // A sign-in with nothing queued is one hash and a little more: its p99/p50 cannot be
    // lower than a bare hash's on this machine.
    let raw_spread = |s: &tobira::bench::Spread| {
        format!(
            "p50 {:.1} ms, p99 {:.1} ms, p99/p50 {:.2}, mean {:.1} ms",
            ms(s.p50),
            ms(s.p99),
            s.tail_ratio(),
            ms(s.mean)
        )
    };
    println!(
        "raw argon2id, each verification: on 1 core {}; on all cores {}",
        raw_spread(&b.raw_hash_one_core),
        raw_spread(&b.raw_hash_all_cores)
    );
    println!("server RSS idle: {:.1} MiB", mb(b.rss_idle_kib));
    println!(
        "{:>5} {:>7} {:>13} {:>6} {:>7} {:>7} {:>7} {:>7} {:>5} {:>6} {:>8}",
        "conns",
        "req/s",
        "raw/s bef/aft",
        "x raw",
        "p50 ms",
        "p99 ms",
        "max ms",
        "p99/p50",
        "503s",
        "errors",
        "RSS MiB"
    );
    for l in &b.levels {
        println!(
            "{:>5} {:>7.1} {:>13} {:>6.2} {:>7.1} {:>7.1} {:>7.1} {:>7.2} {:>5} {:>6} {:>8.1}",
            l.concurrency,
            l.per_sec,
            format!("{:.1}/{:.1}", l.raw_before, l.raw_after),
            l.of_raw(),
            ms(l.latency.p50),
            ms(l.latency.p99),
            ms(l.latency.max),
            l.tail_ratio(),
            l.busy,
            l.errors.0,
            mb(l.rss_peak_kib),
        );
        if let Some(first) = &l.errors.1 {
            println!("      first error: {first}");
        }
    }
    println!(
        "server RSS {} s after the load: {:.1} MiB (peak over the run {:.1} MiB)",
        b.settle.as_secs(),
        mb(b.rss_after_kib),
        mb(b.rss_hwm_kib)
    );
    println!(
        "where a sign-in's time went, server side, ms p50/p99 (max): reserve = the attempt's \
         write; queued/argon2 = on the password workers; ahead = jobs taken while one waited \
         (a count, not ms); settle = release, flow and audit; lock = each write's wait for the \
         writer connection. CPU ms per sign-in: the bench's clients, the server."
    );
    let spread = |s: &tobira::bench::Spread| {
        if s.n == 0 {
            "-".to_owned()
        } else {
            format!("{:.1}/{:.1} ({:.0})", ms(s.p50), ms(s.p99), ms(s.max))
        }
    };
    let count = |s: &tobira::bench::Spread| {
        if s.n == 0 {
            "-".to_owned()
        } else {
            let n = |d: Duration| d.as_micros();
            format!("{}/{} ({})", n(s.p50), n(s.p99), n(s.max))
        }
    };
    println!(
        "{:>5} {:>16} {:>18} {:>12} {:>16} {:>16} {:>16} {:>7} {:>7}",
        "conns", "reserve", "queued", "ahead", "argon2", "settle", "lock", "client", "server"
    );
    for l in &b.levels {
        let per = |cpu: Duration| ms(cpu) / (l.ok + l.busy + l.errors.0).max(1) as f64;
        let p = &l.phases;
        println!(
            "{:>5} {:>16} {:>18} {:>12} {:>16} {:>16} {:>16} {:>7.2} {:>7.2}",
            l.concurrency,
            spread(&p.reserve),
            spread(&p.queued),
            count(&p.ahead),
            spread(&p.hash),
            spread(&p.settle),
            spread(&p.lock),
            per(l.client_cpu),
            per(l.server_cpu),
        );
    }
    println!(
        "one connection's cycle, ms (means, which throughput follows): cycle = connections over \
         req/s; client = a sign-in as the client saw it; route = reserve + check + settle on the \
         server; argon2 = the hash alone; wait = check less the hash (the queue and the hand-offs); \
         outside = client less route (HTTP, the reply, the client)."
    );
    println!(
        "{:>5} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}",
        "conns", "cycle", "client", "route", "reserve", "wait", "argon2", "settle", "outside"
    );
    for l in &b.levels {
        let p = &l.phases;
        let mean = |s: &tobira::bench::Spread| ms(s.mean);
        let route = mean(&p.reserve) + mean(&p.check) + mean(&p.settle);
        println!(
            "{:>5} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>8.2}",
            l.concurrency,
            l.concurrency as f64 * 1000.0 / l.per_sec.max(1e-9),
            mean(&l.latency),
            route,
            mean(&p.reserve),
            mean(&p.check) - mean(&p.hash),
            mean(&p.hash),
            mean(&p.settle),
            mean(&l.latency) - route,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `tobira bench helpdesk-search`.
async fn bench_helpdesk_search(
    members: u64,
    queries: u64,
    db: Option<std::path::PathBuf>,
    postgres: Option<String>,
) -> anyhow::Result<ExitCode> {
    let (now, _) = now_and_today();
    let load_before = load_average();
    let b = if let Some(url) = postgres {
        eprintln!(
            "PostgreSQL database ({members} members; built when it holds none, then reused) …"
        );
        tobira::bench::helpdesk_search::helpdesk_search_postgres(&url, members, queries, now)
            .await?
    } else {
        let db = db.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("tobira-bench-helpdesk-search-{members}.db"))
        });
        eprintln!(
            "database {} ({members} members; built on the first run, then reused: remove it when done) …",
            db.display()
        );
        tobira::bench::helpdesk_search::helpdesk_search(&db, members, queries, now).await?
    };
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    match b.build {
        Some(d) => println!(
            "built {} members in {:.1} s ({:.0} rows/s, import with the search triggers)",
            b.members,
            d.as_secs_f64(),
            b.members as f64 / d.as_secs_f64().max(1e-9)
        ),
        None => println!("reused {} members in {}", b.members, b.db),
    }
    println!(
        "helpdesk search, {} members, first page of {}, {} queries per kind (server time: parse + store):",
        b.members,
        tobira::bench::helpdesk_search::PAGE,
        queries
    );
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>10} {:>16} {:>14}",
        "kind", "p50 ms", "p99 ms", "max ms", "mean hits", "p99 unqueued ms", "p99 queued ms"
    );
    let opt = |d: Option<std::time::Duration>| {
        d.map_or_else(|| "n/a".to_owned(), |d| format!("{:.3}", ms(d)))
    };
    for k in &b.kinds {
        println!(
            "{:<22} {:>9.3} {:>9.3} {:>9.3} {:>10.1} {:>16} {:>14}",
            k.kind,
            ms(k.p50),
            ms(k.p99),
            ms(k.max),
            k.mean_hits,
            opt(k.p99_unqueued),
            opt(k.p99_queued),
        );
    }
    println!(
        "(unqueued: each query's time less the time its threads were runnable but waiting for a CPU, from /proc/self/task/*/schedstat)"
    );
    println!(
        "load average (1/5/15 min): before {}, after {}",
        load_before,
        load_average()
    );
    Ok(ExitCode::SUCCESS)
}

/// The first three fields of /proc/loadavg, or "unknown".
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `tobira bench first-frame`.
async fn bench_first_frame(members: u64, runs: usize) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the tobira binary")?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    eprintln!(
        "importing {members} members into {} …",
        dir.path().display()
    );
    let (now, today) = now_and_today();
    let b = tobira::bench::first_frame(&exe, dir.path(), members, runs.max(1), now, today).await?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "first frame, {} members, {} launches: median {:.1} ms, p95 {:.1} ms, max {:.1} ms (budget 50 ms)",
        b.members,
        b.runs.len(),
        ms(b.quantile(0.5)),
        ms(b.quantile(0.95)),
        ms(b.quantile(1.0)),
    );
    Ok(ExitCode::SUCCESS)
}
