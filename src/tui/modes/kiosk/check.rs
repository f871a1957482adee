//! The kiosk's self-check: gathers what [`crate::domain::kiosk::findings`] judges — the
//! environment, the parent process and the process group — from `/proc` and the environment.

use crate::domain::kiosk::{self, Finding, Surroundings};

/// `pid (comm) state ppid pgrp session …` of `/proc/<pid>/stat`: (ppid, pgrp, session).
pub fn parse_stat(stat: &str) -> Option<(u32, u32, u32)> {
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(1);
    let mut next = || fields.next()?.parse().ok();
    Some((next()?, next()?, next()?))
}

/// What this process finds about where it runs.
pub fn surroundings() -> Surroundings {
    let set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    let stat = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s));
    let parent_shell = stat
        .and_then(|(ppid, _, _)| std::fs::read_to_string(format!("/proc/{ppid}/comm")).ok())
        .map(|c| c.trim().to_owned())
        .filter(|c| kiosk::is_shell(c));
    Surroundings {
        tmux: set("TMUX"),
        screen: set("STY"),
        parent_shell,
        job_control: stat.is_some_and(|(_, pgrp, session)| pgrp != session),
        term: std::env::var("TERM").ok().filter(|t| !t.is_empty()),
    }
}

/// The findings for this process.
pub fn run() -> Vec<Finding> {
    kiosk::findings(&surroundings())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_after_the_command_name() {
        let line = "4242 (tobira (x) y) S 100 4242 99 34816 4242 4194560 0 0";
        assert_eq!(parse_stat(line), Some((100, 4242, 99)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_can_be_checked() {
        // Whatever the test runs under, the self-check reads it without failing.
        let s = surroundings();
        assert_eq!(
            s.tmux,
            std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
        );
    }
}
