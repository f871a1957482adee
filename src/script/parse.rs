//! The scenario language: one step per line, `#` comments, "quoted strings", /regular
//! expressions/ and `key=value` options. Parsing checks everything it can (step names, option
//! names, durations, regexes) so that a typo fails at `file:line:column` before anything runs.

use std::fmt;
use std::time::Duration;

use regex::Regex;

/// A parsed scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name (the file name without `.tobira`).
    pub name: String,
    /// Where it came from (a path, or `builtin:NAME`).
    pub origin: String,
    /// The steps in order.
    pub steps: Vec<Step>,
}

/// One line of a scenario.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its line number (1-based).
    pub line: usize,
    /// The line as written.
    pub source: String,
    /// What it does.
    pub action: Action,
}

/// What a scenario's text or regex matches on screen.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// A substring (variables `${name}` are replaced before matching).
    Text(String),
    /// A regular expression.
    Regex(Regex),
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => write!(f, "{s:?}"),
            Self::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

/// Which terminal a step speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// The member screens (`tobira`).
    Member,
    /// The helpdesk console (`tobira helpdesk`).
    Staff,
}

/// Where the members come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roster {
    /// The demo roster (`assets/demo/roster.csv`).
    Demo,
    /// A roster CSV file (relative to the scenario file).
    File(String),
}

/// `start`'s options.
#[derive(Debug, Clone)]
pub struct Start {
    /// Japanese or English.
    pub lang: crate::api::Lang,
    /// Terminal width.
    pub width: u16,
    /// Terminal height.
    pub height: u16,
    /// The members.
    pub roster: Roster,
    /// The first terminal.
    pub terminal: TermKind,
}

/// The virtual authenticator app's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppAction {
    /// Read the QR code off the screen.
    Scan,
    /// Read the typed key ("Can't scan?") off the screen.
    Key,
    /// A code `offset` steps of 30 s away from now, into a variable.
    Code {
        /// Steps from now (0: the current code).
        offset: i64,
        /// The variable.
        var: String,
    },
    /// The last code given again (already used), into a variable.
    Used {
        /// The variable.
        var: String,
    },
    /// The phone's clock is off by this many seconds (positive: ahead).
    Skew(i64),
}

/// The virtual passkey's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyAction {
    /// Answer the next ceremony normally.
    Ok,
    /// Refuse user verification.
    RefuseUv,
    /// Sign with the wrong key.
    BadSignature,
    /// Answer without verifying the user (the server must refuse).
    NotVerified,
}

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The mail server stops accepting mail (for a while, on the run's clock, when given).
    MailDown(Option<Duration>),
    /// The mail server accepts mail again.
    MailUp,
    /// The embedded server stops.
    ServerStop,
    /// The embedded server starts again (same data).
    ServerStart,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Start the world: server, clock, data dir, first terminal.
    Start(Start),
    /// A configuration override (`section.key = value`, TOML value), before `start`.
    Config {
        /// Dotted path.
        key: String,
        /// TOML value as written.
        value: String,
    },
    /// Switch to (or open) a terminal.
    Terminal(TermKind),
    /// The screen shows (or, with `negate`, stops showing) `pattern`.
    Expect {
        /// What.
        pattern: Pattern,
        /// `expect not`.
        negate: bool,
        /// How long to wait.
        timeout: Option<Duration>,
    },
    /// The screen on display has this name.
    ExpectStep {
        /// The screen's name (`terms`, `sign_in`, …).
        name: String,
        /// How long to wait.
        timeout: Option<Duration>,
    },
    /// The field labelled `label` shows an error matching `pattern`.
    ExpectError {
        /// The field's label.
        label: String,
        /// The error.
        pattern: Pattern,
    },
    /// Press keys.
    Press(Vec<KeySpec>),
    /// Type text into the focused field.
    Type(String),
    /// Fill the field labelled `label`.
    Fill {
        /// The label.
        label: String,
        /// The text.
        value: String,
    },
    /// Press the button labelled `label`.
    Choose(String),
    /// Wait for a mail to `to`.
    MailWait {
        /// The address.
        to: String,
        /// How long to wait.
        timeout: Option<Duration>,
    },
    /// Open the current mail's link (as the member's phone would).
    MailOpenLink,
    /// Read the current mail's code (or user ID) into a variable.
    MailCode(String),
    /// The current mail's text matches.
    MailExpect(Pattern),
    /// Read the first capture group (or the whole match) of a regex on screen into a variable.
    Read {
        /// The regex.
        regex: Regex,
        /// The variable.
        var: String,
    },
    /// Set a variable.
    Set {
        /// The variable.
        var: String,
        /// Its value.
        value: String,
    },
    /// Move the shared clock forward.
    ClockAdvance(Duration),
    /// Compare the screen with a golden file.
    Snapshot(String),
    /// The virtual authenticator app on the phone named `phone`.
    App {
        /// Which phone (`phone` unless `phone=NAME` says).
        phone: String,
        /// What it does.
        action: AppAction,
    },
    /// The virtual passkey.
    Passkey(PasskeyAction),
    /// Inject a fault.
    Fault(Fault),
    /// Create a helpdesk staff account (and enrol its authenticator) for the console.
    Staff {
        /// Its login.
        login: String,
        /// `helpdesk` or `admin`.
        role: String,
    },
}

/// A key to press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// The key.
    pub code: ratatui::crossterm::event::KeyCode,
    /// Ctrl, Alt, Shift.
    pub modifiers: ratatui::crossterm::event::KeyModifiers,
}

/// A scenario file that does not parse.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{origin}:{line}:{column}: {message}")]
pub struct ParseError {
    /// The file.
    pub origin: String,
    /// The line (1-based).
    pub line: usize,
    /// The column (1-based, in characters).
    pub column: usize,
    /// What was expected.
    pub message: String,
}

/// The step names, for "expected a step".
pub const STEPS: &[&str] = &[
    "start", "config", "terminal", "expect", "press", "type", "fill", "choose", "mail", "read",
    "set", "clock", "snapshot", "app", "passkey", "fault", "staff",
];

/// A token of a line.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Re(String),
    Opt(String, String),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("'{w}'"),
            Tok::Str(s) => format!("the string {s:?}"),
            Tok::Re(r) => format!("the regex /{r}/"),
            Tok::Opt(k, v) => format!("the option {k}={v}"),
        }
    }
}

/// Splits a line into tokens with their columns; errors carry the column.
fn tokenize(line: &str) -> Result<Vec<(usize, Tok)>, (usize, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        let col = i + 1;
        if c == '"' {
            let (s, next) = quoted(&chars, i, '"')?;
            out.push((col, Tok::Str(s)));
            i = next;
        } else if c == '/' {
            let (s, next) = quoted(&chars, i, '/')?;
            out.push((col, Tok::Re(s)));
            i = next;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' {
                if chars[i] == '"' {
                    return Err((i + 1, "expected a space before the quoted string".into()));
                }
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if i < chars.len() && chars[i] == '=' {
                i += 1;
                let value = if i < chars.len() && chars[i] == '"' {
                    let (s, next) = quoted(&chars, i, '"')?;
                    i = next;
                    s
                } else {
                    let vs = i;
                    while i < chars.len() && !chars[i].is_whitespace() {
                        i += 1;
                    }
                    chars[vs..i].iter().collect()
                };
                if word.is_empty() {
                    return Err((col, "expected an option name before '='".into()));
                }
                out.push((col, Tok::Opt(word, value)));
            } else {
                out.push((col, Tok::Word(word)));
            }
        }
    }
    Ok(out)
}

/// A quoted string or regex starting at `chars[start]` (the delimiter); returns it and the
/// index after its closing delimiter. In strings `\"`, `\\`, `\n` and `\t` are escapes; in a
/// regex only `\/` is (the rest is left to the regex).
fn quoted(chars: &[char], start: usize, delim: char) -> Result<(String, usize), (usize, String)> {
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            if delim == '"' {
                match n {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    _ => s.push(n),
                }
            } else if n == '/' {
                s.push('/');
            } else {
                s.push('\\');
                s.push(n);
            }
            i += 2;
            continue;
        }
        if c == delim {
            return Ok((s, i + 1));
        }
        s.push(c);
        i += 1;
    }
    let what = if delim == '"' {
        "a closing '\"'"
    } else {
        "a closing '/'"
    };
    Err((chars.len() + 1, format!("expected {what}")))
}

/// Parses a duration: `500ms`, `5s`, `10m`, `2h`, `1d`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "ms" => return Some(Duration::from_millis(n)),
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// Parses a key name: `Enter`, `Tab`, `Shift-Tab`, `Esc`, `F3`, `Ctrl-U`, `a`, `Space`, …
pub fn parse_key(s: &str) -> Option<KeySpec> {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    let mut modifiers = KeyModifiers::NONE;
    let mut rest = s;
    loop {
        let lower = rest.to_ascii_lowercase();
        if let Some(r) = lower.strip_prefix("ctrl-") {
            modifiers |= KeyModifiers::CONTROL;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower.strip_prefix("alt-") {
            modifiers |= KeyModifiers::ALT;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower.strip_prefix("shift-") {
            modifiers |= KeyModifiers::SHIFT;
            rest = &rest[rest.len() - r.len()..];
        } else {
            break;
        }
    }
    let lower = rest.to_ascii_lowercase();
    let code = match lower.as_str() {
        "enter" | "return" => KeyCode::Enter,
        "tab" if modifiers.contains(KeyModifiers::SHIFT) => {
            modifiers.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "esc" | "escape" => KeyCode::Esc,
        "space" => KeyCode::Char(' '),
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        f if f.starts_with('f') && f.len() > 1 && f[1..].chars().all(|c| c.is_ascii_digit()) => {
            let n: u8 = f[1..].parse().ok()?;
            if !(1..=12).contains(&n) {
                return None;
            }
            KeyCode::F(n)
        }
        _ => {
            let mut cs = rest.chars();
            let c = cs.next()?;
            if cs.next().is_some() {
                return None;
            }
            KeyCode::Char(if modifiers.contains(KeyModifiers::CONTROL) {
                c.to_ascii_lowercase()
            } else {
                c
            })
        }
    };
    Some(KeySpec { code, modifiers })
}

/// The cursor over one line's tokens.
struct Line<'a> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    /// The column just after the line's end (for "expected … at the end").
    end: usize,
    step: &'a str,
}

type Res<T> = Result<T, (usize, String)>;

impl Line<'_> {
    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(c, _)| *c)
    }

    fn found(&self) -> String {
        self.toks
            .get(self.pos)
            .map_or("the end of the line".to_owned(), |(_, t)| t.describe())
    }

    fn err<T>(&self, expected: &str) -> Res<T> {
        Err((
            self.col(),
            format!(
                "expected {expected} after '{}', found {}",
                self.step,
                self.found()
            ),
        ))
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn string(&mut self, what: &str) -> Res<String> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => self.err(what),
        }
    }

    fn word(&mut self, what: &str) -> Res<String> {
        match self.peek() {
            Some(Tok::Word(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => self.err(what),
        }
    }

    fn word_or_string(&mut self, what: &str) -> Res<String> {
        match self.peek() {
            Some(Tok::Word(s) | Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => self.err(what),
        }
    }

    fn pattern(&mut self) -> Res<Pattern> {
        let col = self.col();
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(Pattern::Text(s))
            }
            Some(Tok::Re(r)) => {
                let r = r.clone();
                self.pos += 1;
                Regex::new(&r)
                    .map(Pattern::Regex)
                    .map_err(|e| (col, format!("expected a valid regex: {e}")))
            }
            _ => self.err("a \"text\" or a /regex/"),
        }
    }

    fn regex(&mut self) -> Res<Regex> {
        match self.pattern()? {
            Pattern::Regex(r) => Ok(r),
            Pattern::Text(_) => {
                self.pos -= 1;
                self.err("a /regex/")
            }
        }
    }

    /// `as NAME`.
    fn as_var(&mut self) -> Res<String> {
        match self.peek() {
            Some(Tok::Word(w)) if w == "as" => {
                self.pos += 1;
                let v = self.word("a variable name after 'as'")?;
                if !v.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    self.pos -= 1;
                    return self.err("a variable name (letters, digits, _)");
                }
                Ok(v)
            }
            _ => self.err("'as NAME'"),
        }
    }

    /// Options `key=value` until the end; only `allowed` names.
    fn options(&mut self, allowed: &[&str]) -> Res<Vec<(usize, String, String)>> {
        let mut out = Vec::new();
        while let Some((col, tok)) = self.toks.get(self.pos).cloned() {
            match tok {
                Tok::Opt(k, v) if allowed.contains(&k.as_str()) => {
                    out.push((col, k, v));
                    self.pos += 1;
                }
                Tok::Opt(k, _) => {
                    return Err((
                        col,
                        format!(
                            "expected one of the options {} after '{}', found '{k}'",
                            allowed.join(", "),
                            self.step
                        ),
                    ));
                }
                _ => {
                    if allowed.is_empty() {
                        return self.err("the end of the line");
                    }
                    return self.err(&format!(
                        "an option ({}=…) or the end of the line",
                        allowed.join("=…, ")
                    ));
                }
            }
        }
        Ok(out)
    }

    fn timeout(&mut self) -> Res<Option<Duration>> {
        let mut t = None;
        for (col, _, v) in self.options(&["timeout"])? {
            t = Some(parse_duration(&v).ok_or((
                col,
                format!("expected a duration like 5s, 500ms or 2m for timeout, found '{v}'"),
            ))?);
        }
        Ok(t)
    }

    fn end(&mut self) -> Res<()> {
        self.options(&[]).map(|_| ())
    }
}

/// Parses a scenario's text; `origin` names it in errors.
pub fn parse(origin: &str, name: &str, text: &str) -> Result<Scenario, ParseError> {
    let mut steps = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let to_err = |(column, message): (usize, String)| ParseError {
            origin: origin.to_owned(),
            line: line_no,
            column,
            message,
        };
        let toks = tokenize(raw).map_err(to_err)?;
        if toks.is_empty() {
            continue;
        }
        let action = parse_line(toks, raw.chars().count() + 1).map_err(to_err)?;
        steps.push(Step {
            line: line_no,
            source: raw.trim().to_owned(),
            action,
        });
    }
    if !steps.iter().any(|s| matches!(s.action, Action::Start(_))) {
        return Err(ParseError {
            origin: origin.to_owned(),
            line: 1,
            column: 1,
            message: "expected a 'start' step in the scenario".into(),
        });
    }
    Ok(Scenario {
        name: name.to_owned(),
        origin: origin.to_owned(),
        steps,
    })
}

fn parse_line(toks: Vec<(usize, Tok)>, end: usize) -> Res<Action> {
    let (col0, first) = toks[0].clone();
    let Tok::Word(step) = first else {
        return Err((
            col0,
            format!(
                "expected a step ({}), found {}",
                STEPS.join(", "),
                first.describe()
            ),
        ));
    };
    let mut l = Line {
        toks,
        pos: 1,
        end,
        step: STEPS.iter().find(|s| **s == step).copied().unwrap_or(""),
    };
    let action = match step.as_str() {
        "start" => Action::Start(parse_start(&mut l)?),
        "config" => {
            let (col, tok) = l
                .toks
                .get(1)
                .cloned()
                .unwrap_or((end, Tok::Word(String::new())));
            let Tok::Opt(key, value) = tok else {
                return Err((
                    col,
                    format!(
                        "expected section.key=value after 'config', found {}",
                        l.found()
                    ),
                ));
            };
            l.pos = 2;
            l.end()?;
            Action::Config { key, value }
        }
        "terminal" => {
            let t = match l.word("member or staff")?.as_str() {
                "member" => TermKind::Member,
                "staff" => TermKind::Staff,
                _ => {
                    l.pos -= 1;
                    return l.err("member or staff");
                }
            };
            l.end()?;
            Action::Terminal(t)
        }
        "expect" => parse_expect(&mut l)?,
        "press" => {
            let mut keys = Vec::new();
            while let Some((col, tok)) = l.toks.get(l.pos).cloned() {
                let Tok::Word(w) = tok else { break };
                let (name, times) = match w.rsplit_once('*') {
                    Some((k, n)) => (k.to_owned(), n.parse::<usize>().ok().filter(|n| *n > 0)),
                    None => (w.clone(), Some(1)),
                };
                let (Some(k), Some(times)) = (parse_key(&name), times) else {
                    return Err((
                        col,
                        format!(
                            "expected a key (Enter, Tab, Shift-Tab, Esc, Space, Backspace, Up, Down, F1…F12, Ctrl-X, a character; Tab*3 repeats), found '{w}'"
                        ),
                    ));
                };
                keys.extend(std::iter::repeat_n(k, times));
                l.pos += 1;
            }
            if keys.is_empty() {
                return l.err("a key");
            }
            l.end()?;
            Action::Press(keys)
        }
        "type" => {
            let s = l.string("a quoted string")?;
            l.end()?;
            Action::Type(s)
        }
        "fill" => {
            let label = l.string("the field's label in quotes")?;
            let value = l.string("the value in quotes")?;
            l.end()?;
            Action::Fill { label, value }
        }
        "choose" => {
            let label = l.string("the button's label in quotes")?;
            l.end()?;
            Action::Choose(label)
        }
        "mail" => parse_mail(&mut l)?,
        "read" => {
            let regex = l.regex()?;
            let var = l.as_var()?;
            l.end()?;
            Action::Read { regex, var }
        }
        "set" => {
            let var = l.word("a variable name")?;
            let value = l.string("the value in quotes")?;
            l.end()?;
            Action::Set { var, value }
        }
        "clock" => {
            let w = l.word("'advance'")?;
            if w != "advance" {
                l.pos -= 1;
                return l.err("'advance'");
            }
            let col = l.col();
            let d = l.word("a duration like 30s, 10m or 1h")?;
            let d = parse_duration(&d).ok_or((
                col,
                format!("expected a duration like 30s, 10m or 1h, found '{d}'"),
            ))?;
            l.end()?;
            Action::ClockAdvance(d)
        }
        "snapshot" => {
            let name = l.string("the snapshot's name in quotes")?;
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_.".contains(c))
            {
                l.pos -= 1;
                return l.err("a snapshot name of letters, digits, '-', '_' and '.'");
            }
            l.end()?;
            Action::Snapshot(name)
        }
        "app" => parse_app(&mut l)?,
        "passkey" => {
            let p = match l
                .word("ok, refuse-uv, not-verified or bad-signature")?
                .as_str()
            {
                "ok" => PasskeyAction::Ok,
                "refuse-uv" => PasskeyAction::RefuseUv,
                "not-verified" => PasskeyAction::NotVerified,
                "bad-signature" => PasskeyAction::BadSignature,
                _ => {
                    l.pos -= 1;
                    return l.err("ok, refuse-uv, not-verified or bad-signature");
                }
            };
            l.end()?;
            Action::Passkey(p)
        }
        "fault" => {
            let what = l.word("mail or server")?;
            let f = match (
                what.as_str(),
                l.word("down/up (mail) or stop/start (server)")?.as_str(),
            ) {
                ("mail", "down") => {
                    let mut d = None;
                    if let Some(Tok::Word(w)) = l.peek().cloned() {
                        if w != "for" {
                            return l.err("'for DURATION' or the end of the line");
                        }
                        l.pos += 1;
                        let col = l.col();
                        let v = l.word("a duration like 30s or 10m")?;
                        d = Some(parse_duration(&v).ok_or((
                            col,
                            format!("expected a duration like 30s or 10m, found '{v}'"),
                        ))?);
                    }
                    Fault::MailDown(d)
                }
                ("mail", "up") => Fault::MailUp,
                ("server", "stop") => Fault::ServerStop,
                ("server", "start") => Fault::ServerStart,
                _ => {
                    l.pos -= 2;
                    return l.err("'mail down', 'mail up', 'server stop' or 'server start'");
                }
            };
            l.end()?;
            Action::Fault(f)
        }
        "staff" => {
            let w = l.word("'add'")?;
            if w != "add" {
                l.pos -= 1;
                return l.err("'add'");
            }
            let login = l.word_or_string("the staff login")?;
            let mut role = "helpdesk".to_owned();
            for (col, _, v) in l.options(&["role"])? {
                if v != "helpdesk" && v != "admin" {
                    return Err((
                        col,
                        format!("expected role=helpdesk or role=admin, found '{v}'"),
                    ));
                }
                role = v;
            }
            Action::Staff { login, role }
        }
        _ => {
            return Err((
                col0,
                format!("expected a step ({}), found '{step}'", STEPS.join(", ")),
            ));
        }
    };
    Ok(action)
}

fn parse_start(l: &mut Line) -> Res<Start> {
    let mut s = Start {
        lang: crate::api::Lang::Ja,
        width: 80,
        height: 24,
        roster: Roster::Demo,
        terminal: TermKind::Member,
    };
    for (col, k, v) in l.options(&["lang", "size", "roster", "terminal"])? {
        match k.as_str() {
            "lang" => {
                s.lang = match v.as_str() {
                    "ja" => crate::api::Lang::Ja,
                    "en" => crate::api::Lang::En,
                    _ => return Err((col, format!("expected lang=ja or lang=en, found '{v}'"))),
                }
            }
            "size" => {
                let wh = v
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)));
                match wh {
                    Some((w, h)) if (20..=500).contains(&w) && (5..=300).contains(&h) => {
                        s.width = w;
                        s.height = h;
                    }
                    _ => {
                        return Err((
                            col,
                            format!("expected size=WIDTHxHEIGHT like 80x24, found '{v}'"),
                        ));
                    }
                }
            }
            "roster" => {
                s.roster = if v == "demo" {
                    Roster::Demo
                } else {
                    Roster::File(v)
                };
            }
            _ => {
                s.terminal = match v.as_str() {
                    "member" => TermKind::Member,
                    "staff" => TermKind::Staff,
                    _ => {
                        return Err((
                            col,
                            format!("expected terminal=member or terminal=staff, found '{v}'"),
                        ));
                    }
                }
            }
        }
    }
    Ok(s)
}

fn parse_expect(l: &mut Line) -> Res<Action> {
    match l.peek() {
        Some(Tok::Word(w)) if w == "step" => {
            l.pos += 1;
            let name = l.word("the screen's name (welcome, sign_in, birth_date, terms, …)")?;
            let timeout = l.timeout()?;
            Ok(Action::ExpectStep { name, timeout })
        }
        Some(Tok::Word(w)) if w == "error" => {
            l.pos += 1;
            let label = l.string("the field's label in quotes")?;
            let pattern = l.pattern()?;
            l.end()?;
            Ok(Action::ExpectError { label, pattern })
        }
        Some(Tok::Word(w)) if w == "not" => {
            l.pos += 1;
            let pattern = l.pattern()?;
            let timeout = l.timeout()?;
            Ok(Action::Expect {
                pattern,
                negate: true,
                timeout,
            })
        }
        _ => {
            if !matches!(l.peek(), Some(Tok::Str(_) | Tok::Re(_))) {
                return l.err("a \"text\", a /regex/, 'not', 'step NAME' or 'error \"label\"'");
            }
            let pattern = l.pattern()?;
            let timeout = l.timeout()?;
            Ok(Action::Expect {
                pattern,
                negate: false,
                timeout,
            })
        }
    }
}

fn parse_mail(l: &mut Line) -> Res<Action> {
    let what = l.word("wait, open-link, code or expect")?;
    let a = match what.as_str() {
        "wait" => {
            let to = l.word_or_string("the address")?;
            let timeout = l.timeout()?;
            return Ok(Action::MailWait { to, timeout });
        }
        "open-link" => Action::MailOpenLink,
        "code" => Action::MailCode(l.as_var()?),
        "expect" => Action::MailExpect(l.pattern()?),
        _ => {
            l.pos -= 1;
            return l.err("wait, open-link, code or expect");
        }
    };
    l.end()?;
    Ok(a)
}

fn parse_app(l: &mut Line) -> Res<Action> {
    // `phone=NAME` may stand anywhere after `app`.
    let mut phone = "phone".to_owned();
    l.toks.retain(|(_, t)| match t {
        Tok::Opt(k, v) if k == "phone" => {
            phone = v.clone();
            false
        }
        _ => true,
    });
    let what = l.word("scan, key, code, used or skew")?;
    let a = match what.as_str() {
        "scan" => AppAction::Scan,
        "key" => AppAction::Key,
        "code" => {
            let mut offset = 0;
            if let Some(Tok::Word(w)) = l.peek()
                && (w.starts_with('+') || w.starts_with('-'))
            {
                let col = l.col();
                offset = w.parse().map_err(|_| {
                    (
                        col,
                        format!("expected a step offset like +1 or -2, found '{w}'"),
                    )
                })?;
                l.pos += 1;
            }
            AppAction::Code {
                offset,
                var: l.as_var()?,
            }
        }
        "used" => AppAction::Used { var: l.as_var()? },
        "skew" => {
            let col = l.col();
            let w = l.word("a signed duration like +90s or -2m")?;
            let (sign, rest) = match w.strip_prefix('-') {
                Some(r) => (-1, r),
                None => (1, w.strip_prefix('+').unwrap_or(&w)),
            };
            let d = parse_duration(rest).ok_or((
                col,
                format!("expected a signed duration like +90s or -2m, found '{w}'"),
            ))?;
            AppAction::Skew(sign * i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        }
        _ => {
            l.pos -= 1;
            return l.err("scan, key, code, used or skew");
        }
    };
    l.end()?;
    Ok(Action::App { phone, action: a })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("t.tobira", "t", text).unwrap_err().to_string()
    }

    #[test]
    fn a_scenario_parses_with_comments_strings_regexes_and_options() {
        let s = parse(
            "t.tobira",
            "t",
            "# a comment\nstart lang=en size=100x30\n\nexpect \"Sign in\" timeout=2s # trailing\nexpect /a\\/b \\d+/\npress Tab*2 Shift-Tab Enter\nfill \"User ID\" \"demo\\\"0001\"\nmail code as otp\napp code +1 as next\nclock advance 10m\n",
        )
        .unwrap();
        assert_eq!(s.steps.len(), 8);
        assert_eq!(s.steps[0].line, 2);
        let Action::Start(st) = &s.steps[0].action else {
            panic!()
        };
        assert_eq!(
            (st.width, st.height, st.lang),
            (100, 30, crate::api::Lang::En)
        );
        let Action::Expect { timeout, .. } = &s.steps[1].action else {
            panic!()
        };
        assert_eq!(*timeout, Some(Duration::from_secs(2)));
        let Action::Expect {
            pattern: Pattern::Regex(r),
            ..
        } = &s.steps[2].action
        else {
            panic!()
        };
        assert!(r.is_match("a/b 12"));
        let Action::Press(keys) = &s.steps[3].action else {
            panic!()
        };
        assert_eq!(keys.len(), 4);
        assert_eq!(keys[2].code, ratatui::crossterm::event::KeyCode::BackTab);
        let Action::Fill { value, .. } = &s.steps[4].action else {
            panic!()
        };
        assert_eq!(value, "demo\"0001");
        assert!(
            matches!(&s.steps[6].action, Action::App { action: AppAction::Code { offset: 1, var }, phone } if var == "next" && phone == "phone")
        );
        assert!(matches!(s.steps[7].action, Action::ClockAdvance(d) if d.as_secs() == 600));
    }

    #[test]
    fn errors_name_file_line_column_and_what_was_expected() {
        assert_eq!(
            err("start\nprss Enter\n"),
            "t.tobira:2:1: expected a step (start, config, terminal, expect, press, type, fill, choose, mail, read, set, clock, snapshot, app, passkey, fault, staff), found 'prss'"
        );
        assert_eq!(
            err("start\nfill \"User ID\"\n"),
            "t.tobira:2:15: expected the value in quotes after 'fill', found the end of the line"
        );
        assert_eq!(
            err("start\nexpect \"abc\n"),
            "t.tobira:2:12: expected a closing '\"'"
        );
        assert_eq!(
            err("start\nexpect soon\n"),
            "t.tobira:2:8: expected a \"text\", a /regex/, 'not', 'step NAME' or 'error \"label\"' after 'expect', found 'soon'"
        );
        assert!(err("start\nexpect /a(/\n").starts_with("t.tobira:2:8: expected a valid regex"));
        assert_eq!(
            err("start\nexpect \"x\" timeout=5\n"),
            "t.tobira:2:12: expected a duration like 5s, 500ms or 2m for timeout, found '5'"
        );
        assert_eq!(
            err("start size=80by24\n"),
            "t.tobira:1:7: expected size=WIDTHxHEIGHT like 80x24, found '80by24'"
        );
        assert_eq!(
            err("start\npress Entr\n"),
            "t.tobira:2:7: expected a key (Enter, Tab, Shift-Tab, Esc, Space, Backspace, Up, Down, F1…F12, Ctrl-X, a character; Tab*3 repeats), found 'Entr'"
        );
        assert_eq!(
            err("start\nexpect \"x\" wait=5s\n"),
            "t.tobira:2:12: expected one of the options timeout after 'expect', found 'wait'"
        );
        assert_eq!(
            err("start\nclock advance soon\n"),
            "t.tobira:2:15: expected a duration like 30s, 10m or 1h, found 'soon'"
        );
        assert_eq!(
            err("start\nmail code otp\n"),
            "t.tobira:2:11: expected 'as NAME' after 'mail', found 'otp'"
        );
        assert_eq!(
            err("expect \"x\"\n"),
            "t.tobira:1:1: expected a 'start' step in the scenario"
        );
        assert_eq!(
            err("start\ntype demo0001\n"),
            "t.tobira:2:6: expected a quoted string after 'type', found 'demo0001'"
        );
    }
}
