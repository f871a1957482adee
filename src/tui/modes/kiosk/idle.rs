//! The kiosk's idle clock (WCAG 2.2.1): after `idle_secs` without input a countdown of
//! `warn_secs`; a key extends, at most [`MAX_EXTENSIONS`] times; then the kiosk resets.
//! Pure: time is the shell's tick count, so tests step it without sleeping.

/// How often a member may extend the countdown in one visit.
pub const MAX_EXTENSIONS: u8 = 10;

/// What the clock says after a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleState {
    /// Nothing to warn about.
    Quiet,
    /// The countdown is on: this many seconds are left.
    Countdown(u64),
    /// The countdown ran out: reset now.
    Expired,
}

/// What a key did to the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// No countdown: the key goes on to the screen.
    Pass,
    /// The key answered the countdown and extended the visit (it does nothing else).
    Extended,
    /// The countdown is on and no extension is left: the key does nothing.
    Refused,
}

/// The idle clock of one visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idle {
    idle_secs: u64,
    warn_secs: u64,
    last_input: u64,
    /// Something was typed since the last reset (a pristine welcome screen needs no reset).
    touched: bool,
    warning_since: Option<u64>,
    extensions: u8,
}

impl Idle {
    /// A clock that warns after `idle_secs` and counts down `warn_secs`.
    pub fn new(idle_secs: u64, warn_secs: u64) -> Self {
        Self {
            idle_secs,
            warn_secs,
            last_input: 0,
            touched: false,
            warning_since: None,
            extensions: 0,
        }
    }

    /// A key (or click, or paste) at tick `now`.
    pub fn input(&mut self, now: u64) -> Input {
        if self.warning_since.is_some() {
            if self.extensions >= MAX_EXTENSIONS {
                return Input::Refused;
            }
            self.extensions += 1;
            self.warning_since = None;
            self.last_input = now;
            return Input::Extended;
        }
        self.touched = true;
        self.last_input = now;
        Input::Pass
    }

    /// The clock at tick `now`.
    pub fn tick(&mut self, now: u64) -> IdleState {
        if !self.touched {
            return IdleState::Quiet;
        }
        if let Some(since) = self.warning_since {
            let left = self.warn_secs.saturating_sub(now.saturating_sub(since));
            return if left == 0 {
                IdleState::Expired
            } else {
                IdleState::Countdown(left)
            };
        }
        if now.saturating_sub(self.last_input) >= self.idle_secs {
            self.warning_since = Some(now);
            return IdleState::Countdown(self.warn_secs);
        }
        IdleState::Quiet
    }

    /// The seconds left while the countdown is on.
    pub fn countdown(&self, now: u64) -> Option<u64> {
        self.warning_since
            .map(|since| self.warn_secs.saturating_sub(now.saturating_sub(since)))
    }

    /// Extensions still allowed in this visit.
    pub fn extensions_left(&self) -> u8 {
        MAX_EXTENSIONS - self.extensions
    }

    /// A new visit starts at tick `now`.
    pub fn reset(&mut self, now: u64) {
        *self = Self {
            last_input: now,
            ..Self::new(self.idle_secs, self.warn_secs)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untouched_kiosk_never_counts_down() {
        let mut idle = Idle::new(5, 20);
        assert!((0..100).all(|t| idle.tick(t) == IdleState::Quiet));
    }

    #[test]
    fn quiet_then_countdown_then_expired() {
        let mut idle = Idle::new(5, 20);
        assert_eq!(idle.input(1), Input::Pass);
        assert_eq!(idle.tick(5), IdleState::Quiet);
        assert_eq!(idle.tick(6), IdleState::Countdown(20));
        assert_eq!(idle.tick(7), IdleState::Countdown(19));
        assert_eq!(idle.countdown(7), Some(19));
        assert_eq!(idle.tick(25), IdleState::Countdown(1));
        assert_eq!(idle.tick(26), IdleState::Expired);
    }

    #[test]
    fn a_key_extends_ten_times_and_no_more() {
        let mut idle = Idle::new(5, 20);
        idle.input(0);
        let mut now = 0;
        for n in 0..MAX_EXTENSIONS {
            now += 5;
            assert_eq!(idle.tick(now), IdleState::Countdown(20), "round {n}");
            assert_eq!(idle.input(now), Input::Extended);
            assert_eq!(idle.tick(now), IdleState::Quiet);
        }
        assert_eq!(idle.extensions_left(), 0);
        now += 5;
        assert_eq!(idle.tick(now), IdleState::Countdown(20));
        assert_eq!(idle.input(now + 3), Input::Refused);
        assert_eq!(idle.tick(now + 19), IdleState::Countdown(1));
        assert_eq!(idle.tick(now + 20), IdleState::Expired);
    }

    #[test]
    fn a_reset_starts_a_fresh_visit() {
        let mut idle = Idle::new(5, 20);
        idle.input(0);
        idle.tick(5);
        idle.input(5);
        idle.reset(30);
        assert_eq!(idle.extensions_left(), MAX_EXTENSIONS);
        assert_eq!(idle.tick(100), IdleState::Quiet, "untouched again");
    }
}
