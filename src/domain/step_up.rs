//! Step-up: sensitive actions on the top screen (adding an app or a passkey, changing the
//! address, removing a factor) need the member proved again recently.

/// Whether a flow whose member was last proved at `proved_at` may take a sensitive action at
/// `now` without proving again (`window_secs` 0: always asks).
pub fn fresh(window_secs: u64, proved_at: Option<i64>, now: i64) -> bool {
    secs_left(window_secs, proved_at, now) > 0
}

/// How many more seconds a proof at `proved_at` lets sensitive actions go ahead at `now`
/// (0: the next one asks).
pub fn secs_left(window_secs: u64, proved_at: Option<i64>, now: i64) -> u64 {
    match proved_at {
        Some(at) if at <= now => window_secs.saturating_sub(now.abs_diff(at)),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_is_fresh_inside_the_window_only() {
        assert!(fresh(300, Some(1_000), 1_299));
        assert!(!fresh(300, Some(1_000), 1_300));
        assert!(!fresh(300, None, 1_000));
        assert!(!fresh(0, Some(1_000), 1_000));
        assert!(
            !fresh(300, Some(2_000), 1_000),
            "a proof from the future is none"
        );
    }

    #[test]
    fn seconds_left_count_down_to_zero() {
        assert_eq!(secs_left(300, Some(1_000), 1_000), 300);
        assert_eq!(secs_left(300, Some(1_000), 1_299), 1);
        assert_eq!(secs_left(300, Some(1_000), 1_300), 0);
        assert_eq!(secs_left(300, Some(1_000), 9_000), 0);
        assert_eq!(secs_left(300, None, 1_000), 0);
        assert_eq!(secs_left(300, Some(2_000), 1_000), 0);
    }
}
