//! `tobira script`: scripted acceptance runs of the real screens. A scenario ([`parse`]) is
//! run headless ([`run`]) against its own embedded server on a manual clock ([`world`]), on
//! one or more terminals ([`term`]) read as a tester reads them ([`screen`]); the outcomes go
//! to JUnit XML, JSON lines and failure artifacts ([`report`]). The built-in suite is in
//! [`builtin`]. The virtual devices and faults it drives: [`phone`] (an authenticator app that
//! reads the QR code off the screen), [`passkey`] (a soft passkey that can be told to fail),
//! [`faults`] (the mail server down, the server stopped and started again), and [`pty`] (the
//! real binary in a pseudo-terminal, read through a terminal emulator, for `--pty`).

pub mod builtin;
pub mod faults;
pub mod parse;
pub mod passkey;
pub mod phone;
pub mod pty;
pub mod report;
pub mod run;
pub mod screen;
pub mod smtp_sink;
pub mod term;
pub mod world;

use std::path::PathBuf;

use futures::StreamExt;

use crate::cli::ScriptArgs;
use parse::Scenario;
use report::Outcome;
use run::{Base, RunOptions};

/// Why `tobira script` could not run.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// A scenario file does not parse (or cannot be read).
    #[error("{0}")]
    Parse(String),
    /// A name given to --builtin is not a built-in scenario.
    #[error("no built-in scenario '{name}'; built-in: {known}")]
    UnknownBuiltin {
        /// The name.
        name: String,
        /// The names there are.
        known: String,
    },
    /// Nothing to run.
    #[error("no scenarios: give scenario files or --builtin all")]
    Nothing,
    /// An option cannot be used (yet).
    #[error("{0}")]
    Unsupported(String),
    /// A report could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The scenarios `args` name, parsed, each with where its files are.
pub fn collect(args: &ScriptArgs) -> Result<Vec<(Scenario, Base)>, ScriptError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for f in &args.files {
        match run::load(f) {
            Ok(sc) => {
                let dir = f.parent().map(PathBuf::from).unwrap_or_default();
                out.push((sc, Base::Dir(dir)));
            }
            Err(e) => errors.push(e),
        }
    }
    let names: Vec<&str> = if args.builtin.iter().any(|b| b == "all") {
        builtin::SCENARIOS.iter().map(|(n, _)| *n).collect()
    } else {
        args.builtin.iter().map(String::as_str).collect()
    };
    for name in names {
        let Some(text) = builtin::get(name) else {
            return Err(ScriptError::UnknownBuiltin {
                name: name.to_owned(),
                known: builtin::SCENARIOS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        match parse::parse(&format!("builtin:{name}"), name, text) {
            Ok(sc) => out.push((
                sc,
                Base::Builtin {
                    dir: builtin::source_dir(),
                },
            )),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(ScriptError::Parse(errors.join("\n")));
    }
    Ok(out)
}

/// Runs `scenarios` with `jobs` at a time, each failing one up to `retries` more times;
/// outcomes in the order given. `progress` hears of each as it ends.
pub async fn run_all(
    scenarios: &[(Scenario, Base)],
    opts: &RunOptions,
    jobs: usize,
    retries: u32,
    progress: impl Fn(&Outcome),
) -> Vec<Outcome> {
    let mut outcomes: Vec<(usize, Outcome)> = futures::stream::iter(scenarios.iter().enumerate())
        .map(|(i, (sc, base))| async move {
            let mut attempts = 0;
            loop {
                attempts += 1;
                let mut o = run::run(sc, base, opts).await;
                o.attempts = attempts;
                if o.passed() || attempts > retries {
                    return (i, o);
                }
            }
        })
        .buffer_unordered(jobs.max(1))
        .inspect(|(_, o)| progress(o))
        .collect()
        .await;
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

/// `tobira script`: runs, prints a line per scenario and the failures, writes the reports;
/// returns whether every scenario passed.
pub async fn cli(args: &ScriptArgs) -> Result<bool, ScriptError> {
    if args.list {
        for (name, text) in builtin::SCENARIOS {
            let about = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix('#'))
                .unwrap_or("")
                .trim();
            println!("{name:32} {about}");
        }
        return Ok(true);
    }
    let pty = if args.pty {
        Some(std::env::current_exe().map_err(|e| {
            ScriptError::Unsupported(format!("--pty: cannot find this program's binary: {e}"))
        })?)
    } else {
        None
    };
    if args.smtp_sink.is_some() && args.server.is_none() {
        return Err(ScriptError::Unsupported(
            "--smtp-sink goes with --server URL (an embedded server's mail is read from its outbox)"
                .into(),
        ));
    }
    // The sink's mail directory lives as long as the run.
    let sink_dir = tempfile::tempdir().map_err(|e| {
        ScriptError::Unsupported(format!("cannot make a directory for the SMTP sink: {e}"))
    })?;
    let sink = match &args.smtp_sink {
        Some(addr) => Some(
            smtp_sink::SmtpSink::start(addr, sink_dir.path())
                .await
                .map_err(|e| ScriptError::Unsupported(format!("--smtp-sink {addr}: {e}")))?,
        ),
        None => None,
    };
    let default_timeout = match &args.timeout {
        Some(t) => Some(parse::parse_duration(t).ok_or_else(|| {
            ScriptError::Parse(format!(
                "--timeout: expected a duration like 5s or 500ms, found '{t}'"
            ))
        })?),
        None => None,
    };
    let scenarios = collect(args)?;
    if scenarios.is_empty() {
        return Err(ScriptError::Nothing);
    }
    let opts = RunOptions {
        update_snapshots: args.update_snapshots,
        default_timeout,
        pty,
        server: args.server.clone(),
        mail_dir: sink.as_ref().map(|s| s.dir().to_owned()),
    };
    let started = std::time::Instant::now();
    let outcomes = run_all(&scenarios, &opts, args.jobs, args.retries, |o| {
        let status = if o.passed() { "ok  " } else { "FAIL" };
        let retried = if o.attempts > 1 {
            format!(" ({} attempts)", o.attempts)
        } else {
            String::new()
        };
        println!(
            "{status} {:40} {:>6} ms{retried}",
            o.name,
            o.duration.as_millis()
        );
    })
    .await;
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed()).collect();
    for o in &failed {
        if let Some(t) = o.failure_text() {
            println!("\n{t}");
        }
    }
    for o in &outcomes {
        for p in &o.snapshots_written {
            println!("wrote {p}");
        }
    }
    let write = |path: &PathBuf, text: String| {
        std::fs::write(path, text).map_err(|source| ScriptError::Write {
            path: path.clone(),
            source,
        })
    };
    if let Some(p) = &args.junit {
        write(p, report::junit(&outcomes))?;
    }
    if let Some(p) = &args.json {
        let mut s = String::new();
        for o in &outcomes {
            s.push_str(&report::json_line(o));
            s.push('\n');
        }
        write(p, s)?;
    }
    if let Some(dir) = &args.artifacts {
        for o in &failed {
            report::write_artifacts(dir, o).map_err(|source| ScriptError::Write {
                path: dir.join(&o.name),
                source,
            })?;
        }
    }
    println!(
        "\n{} scenarios, {} passed, {} failed in {:.1} s",
        outcomes.len(),
        outcomes.len() - failed.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(failed.is_empty())
}
