//! Step-up: sensitive actions on the top screen (adding an app or a passkey, changing the
//! address, removing a factor) need the member proved again recently.

/// Whether a flow whose member was last proved at `proved_at` may take a sensitive action at
/// `now` without proving again (`window_secs` 0: always asks).
pub fn fresh(window_secs: u64, proved_at: Option<i64>, now: i64) -> bool {
    proved_at.is_some_and(|at| at <= now && now - at < window_secs as i64)
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
}
