//! Kiosk rules: which kiosk ids the server records, and how the kiosk's self-check judges
//! what it found about the terminal it runs on. No I/O: the facts are gathered elsewhere.

/// The request header a kiosk names itself in.
pub const KIOSK_ID_HEADER: &str = "x-tobira-kiosk";

/// The longest kiosk id the server records.
pub const KIOSK_ID_MAX: usize = 32;

/// The kiosk id as the server records it: 1–32 printable ASCII characters without spaces;
/// anything else is ignored (`None`), never stored.
pub fn kiosk_id(raw: &str) -> Option<&str> {
    let ok =
        !raw.is_empty() && raw.len() <= KIOSK_ID_MAX && raw.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(raw)
}

/// What the kiosk found out about where it runs (gathered by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Surroundings {
    /// `$TMUX` is set.
    pub tmux: bool,
    /// `$STY` is set (GNU screen).
    pub screen: bool,
    /// The parent process's name, when it is a shell.
    pub parent_shell: Option<String>,
    /// Our process group is not the session's: a job-control shell started us as a job.
    pub job_control: bool,
    /// `$TERM`, when set.
    pub term: Option<String>,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth fixing; the kiosk still starts.
    Warning,
    /// A member could escape or spy: the kiosk refuses to start unless told `--allow-unsafe`.
    Hard,
}

/// One thing the self-check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A short stable name (for scripts and tests).
    pub code: &'static str,
    /// One line saying what and why.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Severity::Hard => "unsafe",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.code, self.message)
    }
}

/// Terminals known to keep no scrollback of their own (the Linux console since 5.9).
const NO_SCROLLBACK_TERMS: &[&str] = &["linux"];

/// Judges `s`: one finding per way out or way to spy, worst first.
pub fn findings(s: &Surroundings) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |severity, code, message: String| {
        out.push(Finding {
            severity,
            code,
            message,
        })
    };
    if s.tmux {
        add(
            Severity::Hard,
            "tmux",
            "running inside tmux ($TMUX is set): a member can detach, open a window with a shell or read the scrollback in copy mode".into(),
        );
    }
    if s.screen {
        add(
            Severity::Hard,
            "screen",
            "running inside GNU screen ($STY is set): a member can detach, open a window with a shell or read the scrollback".into(),
        );
    }
    if let Some(sh) = &s.parent_shell {
        add(
            Severity::Hard,
            "parent-shell",
            format!(
                "started by the shell {sh}: when the kiosk ends a member gets that shell; start it from systemd or exec it"
            ),
        );
    }
    if s.job_control {
        add(
            Severity::Warning,
            "job-control",
            "job control is on (our process group is not the session's): the kiosk ignores Ctrl-Z, but a supervisor without a shell is safer".into(),
        );
    }
    match s.term.as_deref() {
        Some(t) if NO_SCROLLBACK_TERMS.contains(&t) => {}
        t => add(
            Severity::Warning,
            "scrollback",
            format!(
                "the terminal (TERM={}) may keep scrollback: the kiosk clears it (CSI 3J) on every reset, but a terminal that ignores that keeps what members typed",
                t.unwrap_or("unset")
            ),
        ),
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// Names of shells: a parent with one of these names could be fallen back to.
pub fn is_shell(name: &str) -> bool {
    const SHELLS: &[&str] = &[
        "sh", "bash", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh", "ash", "busybox", "nu",
        "elvish", "xonsh", "yash",
    ];
    let base = name.trim().trim_start_matches('-');
    SHELLS.contains(&base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_ids_are_short_printable_ascii() {
        assert_eq!(kiosk_id("shinjuku-01"), Some("shinjuku-01"));
        assert_eq!(kiosk_id(""), None);
        assert_eq!(kiosk_id("a b"), None);
        assert_eq!(kiosk_id("新宿"), None);
        assert_eq!(kiosk_id("x\u{1b}[2J"), None);
        assert_eq!(kiosk_id(&"k".repeat(KIOSK_ID_MAX)).map(str::len), Some(32));
        assert_eq!(kiosk_id(&"k".repeat(KIOSK_ID_MAX + 1)), None);
    }

    #[test]
    fn a_locked_down_console_has_no_findings() {
        let s = Surroundings {
            term: Some("linux".into()),
            ..Surroundings::default()
        };
        assert!(findings(&s).is_empty());
    }

    #[test]
    fn multiplexers_and_shells_are_hard_findings_listed_first() {
        let s = Surroundings {
            tmux: true,
            screen: false,
            parent_shell: Some("bash".into()),
            job_control: true,
            term: Some("tmux-256color".into()),
        };
        let f = findings(&s);
        let codes: Vec<_> = f.iter().map(|f| (f.code, f.severity)).collect();
        assert_eq!(
            codes,
            vec![
                ("tmux", Severity::Hard),
                ("parent-shell", Severity::Hard),
                ("job-control", Severity::Warning),
                ("scrollback", Severity::Warning),
            ]
        );
        assert!(f.iter().all(|f| !f.to_string().contains('\n')));
        assert!(f[0].to_string().starts_with("unsafe: tmux: "));
    }

    #[test]
    fn shells_are_recognised_by_name() {
        assert!(is_shell("bash") && is_shell("-bash") && is_shell("sh"));
        assert!(!is_shell("systemd") && !is_shell("login") && !is_shell("tmux: server"));
    }
}
