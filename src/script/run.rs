//! Running one scenario headless: each step against the world and the terminals, `expect`
//! waiting for the screen (the app is run until idle, then background answers are fed for a
//! bounded real time), every frame kept for the failure report and the recording.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::parse::{
    Action, AppAction, Fault, PasskeyAction, Pattern, Roster, Scenario, Step, TermKind,
};
use super::phone::VirtualPhone;
use super::report::{Failure, Outcome, Recording};
use super::screen;
use super::term::Term;
use super::world::World;
use crate::api::Lang;
use crate::mail::outbox::OutboxMessage;

/// How a run is done.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Rewrite golden files instead of comparing.
    pub update_snapshots: bool,
    /// The default time an `expect` waits.
    pub default_timeout: Option<Duration>,
    /// `--pty`: the binary to run in a pseudo-terminal for each terminal (else headless).
    pub pty: Option<PathBuf>,
    /// `--server URL`: a deployed server instead of an embedded one per scenario.
    pub server: Option<String>,
    /// With `--server`: where the SMTP sink writes the mail it receives (`--smtp-sink`).
    pub mail_dir: Option<PathBuf>,
}

/// The default time an `expect` or `mail wait` waits for something asynchronous.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// How many frames the failure report keeps.
const LAST_FRAMES: usize = 5;

/// Where a scenario's relative files (rosters, golden files) are.
#[derive(Debug, Clone)]
pub enum Base {
    /// The directory of the scenario file.
    Dir(PathBuf),
    /// A built-in scenario: golden files embedded, rewritten under `dir` when it exists.
    Builtin {
        /// The source tree's `assets/scripts` (when running from a checkout).
        dir: Option<PathBuf>,
    },
}

/// The state of a run.
struct Run<'a> {
    sc: &'a Scenario,
    base: &'a Base,
    opts: &'a RunOptions,
    overrides: Vec<(String, String)>,
    world: Option<World>,
    terms: Vec<(TermKind, Term)>,
    current: usize,
    lang: Lang,
    size: (u16, u16),
    vars: HashMap<String, String>,
    secrets: Vec<String>,
    mail: Option<OutboxMessage>,
    mails_taken: HashSet<PathBuf>,
    rec: Recording,
    frames: VecDeque<String>,
    snapshots_written: Vec<String>,
    phones: HashMap<String, (VirtualPhone, i64)>,
}

/// Runs `sc`; never panics on a failing step (the failure is in the outcome).
pub async fn run(sc: &Scenario, base: &Base, opts: &RunOptions) -> Outcome {
    let started = Instant::now();
    let mut r = Run {
        sc,
        base,
        opts,
        overrides: Vec::new(),
        world: None,
        terms: Vec::new(),
        current: 0,
        lang: Lang::Ja,
        size: (80, 24),
        vars: HashMap::new(),
        secrets: Vec::new(),
        mail: None,
        mails_taken: HashSet::new(),
        rec: Recording::new(80, 24),
        frames: VecDeque::new(),
        snapshots_written: Vec::new(),
        phones: HashMap::new(),
    };
    let mut failure = None;
    let mut steps_run = 0;
    for step in &sc.steps {
        steps_run += 1;
        let result = r.step(step).await;
        r.frame();
        if let Err(message) = result {
            failure = Some(Failure {
                line: step.line,
                step: step.source.clone(),
                message: r.mask(&message),
                screen: r
                    .terms
                    .get(r.current)
                    .map(|(_, t)| r.mask(&t.text(r.size.0, r.size.1))),
                screen_name: r
                    .terms
                    .get(r.current)
                    .and_then(|(_, t)| t.screen_name().map(str::to_owned)),
                frames: r.frames.iter().cloned().collect(),
            });
            break;
        }
    }
    // With --pty, the recording is the first terminal's real output, timed as it came.
    if let Some((_, Term::Pty(p))) = r.terms.first() {
        let chunks = p.recording();
        r.rec.timed(chunks, &r.secrets);
    }
    for (_, t) in &mut r.terms {
        t.close().await;
    }
    r.terms.clear();
    if let Some(w) = r.world.take() {
        w.stop().await;
    }
    Outcome {
        name: sc.name.clone(),
        origin: sc.origin.clone(),
        failure,
        steps: steps_run,
        duration: started.elapsed(),
        attempts: 1,
        recording: r.rec,
        snapshots_written: r.snapshots_written,
    }
}

impl Run<'_> {
    fn term(&mut self) -> Result<&mut Term, String> {
        self.terms
            .get_mut(self.current)
            .map(|(_, t)| t)
            .ok_or_else(|| "no terminal yet: the scenario must 'start' first".to_owned())
    }

    fn world(&self) -> Result<&World, String> {
        self.world
            .as_ref()
            .ok_or_else(|| "no server yet: the scenario must 'start' first".to_owned())
    }

    /// Replaces `${name}` with the variable's value.
    fn subst(&self, s: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed '${{' in {s:?}"))?;
            let name = &after[..end];
            let v = self.vars.get(name).ok_or_else(|| {
                let mut known: Vec<&str> = self.vars.keys().map(String::as_str).collect();
                known.sort_unstable();
                format!(
                    "no variable '{name}' (set so far: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )
            })?;
            out.push_str(v);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Keeps `value` out of reports and recordings.
    fn secret(&mut self, value: &str) {
        if value.len() >= 4 && !self.secrets.iter().any(|s| s == value) {
            self.secrets.push(value.to_owned());
            // A key is also shown in groups of four.
            let grouped: Vec<String> = value
                .chars()
                .collect::<Vec<_>>()
                .chunks(4)
                .map(|c| c.iter().collect())
                .collect();
            if grouped.len() > 1 {
                self.secrets.push(grouped.join(" "));
            }
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every secret replaced by stars of the same width.
    fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            out = out.replace(s.as_str(), &"*".repeat(s.chars().count()));
        }
        out
    }

    /// Records the current screen (a frame of the recording, one of the last frames).
    fn frame(&mut self) {
        let Some((_, t)) = self.terms.get(self.current) else {
            return;
        };
        let text = self.mask(&t.text(self.size.0, self.size.1));
        if self.frames.back() == Some(&text) {
            return;
        }
        self.rec.frame(&text);
        self.frames.push_back(text);
        while self.frames.len() > LAST_FRAMES {
            self.frames.pop_front();
        }
    }

    /// Whether `p` is on the current screen.
    fn matches(&self, p: &Pattern, text: &str) -> Result<bool, String> {
        Ok(match p {
            Pattern::Text(s) => {
                let s = self.subst(s)?;
                flowed(text, " ").contains(&flowed(&s, " "))
                    || flowed(text, "").contains(&flowed(&s, ""))
            }
            Pattern::Regex(r) => r.is_match(&plain(text)),
        })
    }

    /// Waits (bounded, real time) until `cond` holds on the current terminal, feeding it the
    /// runtime's answers meanwhile; `Err` describes what was seen last.
    async fn wait_for(
        &mut self,
        timeout: Option<Duration>,
        mut cond: impl FnMut(&Self, &Term) -> Result<bool, String>,
    ) -> Result<(), String> {
        let limit = timeout
            .or(self.opts.default_timeout)
            .unwrap_or(super::run::DEFAULT_TIMEOUT);
        let deadline = Instant::now() + limit;
        loop {
            let idx = self.current;
            let term = &self
                .terms
                .get(idx)
                .ok_or("no terminal yet: the scenario must 'start' first")?
                .1;
            if cond(self, term)? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("not seen within {}", human(limit)));
            }
            let (_, term) = &mut self.terms[idx];
            if term.pump(Duration::from_millis(20)).await {
                self.frame();
            }
        }
    }

    /// Opens a terminal: headless, or the real binary in a pseudo-terminal with `--pty`.
    async fn open(
        &self,
        kind: TermKind,
        lang: Lang,
        world: &World,
        size: (u16, u16),
    ) -> Result<Term, String> {
        match &self.opts.pty {
            None => Ok(Term::open(kind, lang, world, world.passkeys()).await),
            Some(exe) => Term::open_pty(kind, lang, world, exe, size),
        }
    }

    /// The button (or field) labelled `label`; in a pseudo-terminal, waits for it to be drawn.
    async fn control(&mut self, button: bool, label: &str) -> Result<screen::Control, String> {
        let (w, h) = self.size;
        let find = |t: &Term| {
            let controls = screen::controls(&t.buffer(w, h), &t.hits(w, h));
            screen::find(&controls, button, label).cloned()
        };
        if self.opts.pty.is_some() {
            let mut last = String::new();
            let waited = self
                .wait_for(None, |_, t| match find(t) {
                    Ok(_) => Ok(true),
                    Err(e) => {
                        last = e;
                        Ok(false)
                    }
                })
                .await;
            if waited.is_err() {
                return Err(last);
            }
        }
        find(self.term()?)
    }

    async fn step(&mut self, step: &Step) -> Result<(), String> {
        match &step.action {
            Action::Config { key, value } => {
                if self.world.is_some() {
                    return Err("'config' must come before 'start'".into());
                }
                self.overrides.push((key.clone(), value.clone()));
            }
            Action::Start(s) => {
                if self.world.is_some() {
                    return Err("the scenario already started".into());
                }
                let roster = match &s.roster {
                    Roster::Demo => None,
                    Roster::File(f) => Some(match self.base {
                        Base::Dir(d) => d.join(f),
                        Base::Builtin { .. } => {
                            return Err("built-in scenarios use the demo roster".into());
                        }
                    }),
                };
                let world = match &self.opts.server {
                    None => World::start(&self.overrides, roster.as_deref())
                        .await
                        .map_err(|e| e.to_string())?,
                    Some(url) => {
                        if !self.overrides.is_empty() {
                            return Err("'config' needs the scenario's embedded server: against --server URL configure the deployed server itself".into());
                        }
                        if roster.is_some() {
                            return Err("'start roster=FILE' needs the scenario's embedded server: against --server URL the deployed server's members are used".into());
                        }
                        let empty = std::env::temp_dir().join("tobira-script-no-sink");
                        let mail = self.opts.mail_dir.as_deref().unwrap_or(&empty);
                        World::remote(url, mail).map_err(|e| e.to_string())?
                    }
                };
                self.lang = s.lang;
                self.size = (s.width, s.height);
                self.rec = Recording::new(s.width, s.height);
                let term = self
                    .open(s.terminal, s.lang, &world, (s.width, s.height))
                    .await?;
                self.world = Some(world);
                self.terms.push((s.terminal, term));
                self.current = 0;
            }
            Action::Terminal(kind) => {
                let world = self.world()?;
                if let Some(i) = self.terms.iter().position(|(k, _)| k == kind) {
                    self.current = i;
                } else {
                    let term = self.open(*kind, self.lang, world, self.size).await?;
                    self.terms.push((*kind, term));
                    self.current = self.terms.len() - 1;
                }
            }
            Action::Expect {
                pattern,
                negate,
                timeout,
            } => {
                let (w, h) = self.size;
                let negate = *negate;
                self.wait_for(*timeout, |r, t| {
                    Ok(r.matches(pattern, &t.text(w, h))? != negate)
                })
                .await
                .map_err(|e| {
                    let what = if negate {
                        "still on screen"
                    } else {
                        "not on screen"
                    };
                    format!("{pattern} {what} ({e})")
                })?;
            }
            Action::ExpectStep { name, timeout } => {
                if self.opts.pty.is_some() {
                    return Err("'expect step' needs the headless runner (a pseudo-terminal does not say which screen it shows): expect a text instead".into());
                }
                self.wait_for(*timeout, |_, t| Ok(t.screen_name() == Some(name.as_str())))
                    .await
                    .map_err(|e| {
                        let now = self
                            .terms
                            .get(self.current)
                            .and_then(|(_, t)| t.screen_name())
                            .unwrap_or("none");
                        format!("expected the screen '{name}', on '{now}' ({e})")
                    })?;
            }
            Action::ExpectError { label, pattern } => {
                let label = self.subst(label)?;
                let (w, h) = self.size;
                let t = self.term()?;
                let buf = t.buffer(w, h);
                let controls = screen::controls(&buf, &t.hits(w, h));
                let c = screen::find(&controls, false, &label)?;
                let err = screen::field_error(&buf, c)
                    .ok_or_else(|| format!("no error under the field '{}'", c.label))?;
                if !self.matches(pattern, &err)? {
                    return Err(format!(
                        "the error under '{}' is {err:?}, not {pattern}",
                        c.label
                    ));
                }
            }
            Action::Press(keys) => {
                for k in keys {
                    self.term()?.press(*k).await;
                    self.frame();
                }
            }
            Action::Type(text) => {
                let text = self.subst(text)?;
                self.term()?.type_text(&text).await;
            }
            Action::Fill { label, value } => {
                let label = self.subst(label)?;
                let value = self.subst(value)?;
                let c = self.control(false, &label).await?;
                if is_secret_label(&c.label) {
                    self.secret(&value);
                }
                let t = self.term()?;
                t.click(&c).await;
                t.press(super::parse::KeySpec {
                    code: ratatui::crossterm::event::KeyCode::Char('u'),
                    modifiers: ratatui::crossterm::event::KeyModifiers::CONTROL,
                })
                .await;
                t.type_text(&value).await;
            }
            Action::Choose(label) => {
                let label = self.subst(label)?;
                let c = self.control(true, &label).await?;
                self.term()?.click(&c).await;
            }
            Action::MailWait { to, timeout } => {
                let to = self.subst(to)?.to_lowercase();
                let limit = timeout
                    .or(self.opts.default_timeout)
                    .unwrap_or(DEFAULT_TIMEOUT);
                let deadline = Instant::now() + limit;
                loop {
                    let mails = self.world()?.mails();
                    let fresh: Vec<&OutboxMessage> = mails
                        .iter()
                        .filter(|m| {
                            m.to.to_lowercase() == to && !self.mails_taken.contains(&m.path)
                        })
                        .collect();
                    if let Some(newest) = fresh.last() {
                        for m in &fresh {
                            self.mails_taken.insert(m.path.clone());
                        }
                        self.mail = Some((*newest).clone());
                        break;
                    }
                    if Instant::now() >= deadline {
                        let to_all: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
                        return Err(format!(
                            "no new mail to {to} within {} (outbox: {})",
                            human(limit),
                            if to_all.is_empty() {
                                "empty".to_owned()
                            } else {
                                to_all.join(", ")
                            }
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Action::MailOpenLink => {
                let mail = self
                    .mail
                    .as_ref()
                    .ok_or("no mail yet: 'mail wait ADDRESS' first")?;
                let links = mail.links();
                let link = links
                    .iter()
                    .find(|l| l.contains("/verify/"))
                    .or(links.first())
                    .ok_or_else(|| format!("the mail '{}' has no link", mail.subject))?
                    .clone();
                let (status, body) = self
                    .world()?
                    .client
                    .open_link(&link)
                    .await
                    .map_err(|e| format!("opening the link failed: {e}"))?;
                self.vars.insert("link_status".into(), status.to_string());
                self.vars.insert("link_page".into(), body);
            }
            Action::MailCode(var) => {
                let mail = self
                    .mail
                    .as_ref()
                    .ok_or("no mail yet: 'mail wait ADDRESS' first")?;
                let code = crate::tui::mailbox::highlight(&mail.text)
                    .ok_or_else(|| format!("the mail '{}' sets no code apart", mail.subject))?;
                self.secret(&code);
                self.vars.insert(var.clone(), code);
            }
            Action::MailExpect(pattern) => {
                let mail = self
                    .mail
                    .as_ref()
                    .ok_or("no mail yet: 'mail wait ADDRESS' first")?;
                let text = format!("{}\n{}", mail.subject, mail.text);
                if !self.matches(pattern, &text)? {
                    return Err(format!("{pattern} not in the mail '{}'", mail.subject));
                }
            }
            Action::Read { regex, var } => {
                let (w, h) = self.size;
                let text = plain(&self.term()?.text(w, h));
                let caps = regex
                    .captures(&text)
                    .ok_or_else(|| format!("/{}/ not on screen", regex.as_str()))?;
                let v = caps
                    .get(1)
                    .or(caps.get(0))
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default();
                self.vars.insert(var.clone(), v);
            }
            Action::Set { var, value } => {
                let v = self.subst(value)?;
                self.vars.insert(var.clone(), v);
            }
            Action::ClockAdvance(d) => {
                let world = self
                    .world
                    .as_ref()
                    .ok_or("no server yet: the scenario must 'start' first")?;
                world.embedded("clock advance")?;
                let clock = world.clock.clone();
                for _ in 0..d.as_secs() {
                    clock.advance(1);
                    for (_, t) in &mut self.terms {
                        t.tick().await;
                    }
                }
            }
            Action::Snapshot(name) => self.snapshot(name)?,
            Action::App { phone, action } => self.app(phone, action)?,
            Action::Passkey(p) => {
                use super::passkey::PasskeyFault;
                let key = &self.world()?.passkey;
                match p {
                    PasskeyAction::Ok => {}
                    PasskeyAction::RefuseUv => key.fail_next(PasskeyFault::UserVerificationRefused),
                    PasskeyAction::NotVerified => key.fail_next(PasskeyFault::UserNotVerified),
                    PasskeyAction::BadSignature => key.fail_next(PasskeyFault::WrongSignature),
                }
            }
            Action::Fault(f) => {
                let world = self
                    .world
                    .as_mut()
                    .ok_or("no server yet: the scenario must 'start' first")?
                    .embedded_mut("fault")?;
                match f {
                    Fault::MailDown(None) => world.mailer.down(),
                    Fault::MailDown(Some(d)) => world.mailer.down_for(d.as_secs()),
                    Fault::MailUp => {
                        world.mailer.up();
                        // The queue retries on its own schedule; deliver what is due now.
                        super::faults::deliver_due(world.server.state())
                            .await
                            .map_err(|e| format!("delivering the queued mail failed: {e}"))?;
                    }
                    Fault::ServerStop => world.server.stop().await,
                    Fault::ServerStart => world
                        .server
                        .start_again()
                        .await
                        .map_err(|e| format!("the server could not start again: {e}"))?,
                }
            }
            Action::Staff { login, role } => {
                let now = self.world()?.now();
                let world = self.world()?.embedded("staff add")?;
                let role = if role == "admin" {
                    crate::domain::StaffRole::Admin
                } else {
                    crate::domain::StaffRole::Helpdesk
                };
                let issued = crate::staff_admin::add(
                    world.store.as_ref(),
                    &world.key,
                    login,
                    role,
                    None,
                    now,
                )
                .await
                .map_err(|e| format!("cannot add the staff account {login}: {e}"))?;
                let code = issued.code.to_string();
                self.secret(&code);
                self.vars.insert("staff_code".into(), code);
            }
        }
        Ok(())
    }

    fn snapshot(&mut self, name: &str) -> Result<(), String> {
        let (w, h) = self.size;
        let raw = self.term()?.text(w, h);
        let text = self.mask(&raw);
        let file = format!("{}__{name}.txt", self.sc.name);
        let (path, golden) = match self.base {
            Base::Dir(d) => {
                let p = d.join("snapshots").join(&file);
                let g = std::fs::read_to_string(&p).ok();
                (Some(p), g)
            }
            Base::Builtin { dir } => (
                dir.as_ref().map(|d| d.join("snapshots").join(&file)),
                super::builtin::snapshot(&file).map(str::to_owned),
            ),
        };
        if self.opts.update_snapshots {
            let path = path.ok_or(
                "the built-in scenarios' golden files can only be rewritten from a source checkout",
            )?;
            if golden.as_deref() != Some(text.as_str()) {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("{}: {e}", parent.display()))?;
                }
                std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
                self.snapshots_written.push(path.display().to_string());
            }
            return Ok(());
        }
        match golden {
            None => Err(format!(
                "no golden file {} (run with --update-snapshots to write it)",
                path.map_or(file, |p| p.display().to_string())
            )),
            Some(g) if g == text => Ok(()),
            Some(g) => Err(format!(
                "the screen differs from the golden file {file}:\n{}",
                diff(&g, &text)
            )),
        }
    }
}

impl Run<'_> {
    /// The virtual authenticator app's steps.
    fn app(&mut self, name: &str, action: &AppAction) -> Result<(), String> {
        let (w, h) = self.size;
        match action {
            AppAction::Scan | AppAction::Key => {
                let t = self.term()?;
                let phone = if *action == AppAction::Scan {
                    VirtualPhone::scan(&t.buffer(w, h))
                        .map_err(|e| format!("the phone cannot scan: {e}"))?
                } else {
                    let text = plain(&t.text(w, h));
                    let key = key_on_screen(&text).ok_or(
                        "no setup key (groups of four letters A-Z and digits 2-7) on screen",
                    )?;
                    self.secret(&key.replace(' ', ""));
                    VirtualPhone::from_key(&key)
                        .map_err(|e| format!("the app refuses the key: {e}"))?
                };
                self.phones.insert(name.to_owned(), (phone, 0));
            }
            AppAction::Code { offset, var } => {
                let now = self.world()?.now();
                let (phone, skew) = self.phone(name)?;
                let code = phone.code_at(now + *skew, *offset);
                self.secret(&code);
                self.vars.insert(var.clone(), code);
            }
            AppAction::Used { var } => {
                let (phone, _) = self.phone(name)?;
                let code = phone.used_code().map_err(|e| e.to_string())?;
                self.vars.insert(var.clone(), code);
            }
            AppAction::Skew(secs) => {
                self.phone(name)?.1 = *secs;
            }
        }
        Ok(())
    }

    fn phone(&mut self, name: &str) -> Result<&mut (VirtualPhone, i64), String> {
        let known = self.phones.keys().cloned().collect::<Vec<_>>().join(", ");
        self.phones.get_mut(name).ok_or_else(|| {
            format!(
                "no app set up on '{name}' ('app scan' or 'app key' first; set up: {})",
                if known.is_empty() { "none" } else { &known }
            )
        })
    }
}

/// A setup key shown in groups of four (base32), if the screen shows one.
fn key_on_screen(text: &str) -> Option<String> {
    let key = regex::Regex::new(r"\b[A-Z2-7]{4}(?: [A-Z2-7]{1,4}){3,}\b").ok()?;
    key.find(text).map(|m| m.as_str().to_owned())
}

/// Whether a field's label says it holds a secret (its value is masked in reports).
fn is_secret_label(label: &str) -> bool {
    let l = label.to_lowercase();
    [
        "password",
        "パスワード",
        "code",
        "コード",
        "pin",
        "key",
        "キー",
    ]
    .iter()
    .any(|w| l.contains(w))
}

/// The screen text without the `|` bars, rows joined by newlines (what patterns match).
pub fn plain(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.strip_suffix(" <- OVERWRITTEN").unwrap_or(l);
            l.strip_prefix('|')
                .and_then(|l| l.strip_suffix('|'))
                .unwrap_or(l)
                .trim_end()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The screen's text as running prose: rows joined by `sep` (a space for wrapped English, none
/// for wrapped Japanese), runs of spaces as one, so that a wrapped sentence matches.
fn flowed(text: &str, sep: &str) -> String {
    let rows: Vec<String> = plain(text)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    rows.join(sep)
}

fn human(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A line diff of two screens: the rows that differ.
fn diff(want: &str, got: &str) -> String {
    let w: Vec<&str> = want.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let mut out = String::new();
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (
            w.get(i).copied().unwrap_or(""),
            g.get(i).copied().unwrap_or(""),
        );
        if a != b {
            out.push_str(&format!("row {:>2} - {a}\n       + {b}\n", i + 1));
        }
    }
    out
}

/// Reads a scenario file.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    super::parse::parse(&path.display().to_string(), &name, &text).map_err(|e| e.to_string())
}
