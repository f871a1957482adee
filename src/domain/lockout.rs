//! Lockout policy: a progressive delay after repeated failures, per account and per client
//! address, and a hard lock of the account that only the helpdesk lifts.
//!
//! The store keeps a [`FailureRecord`] per key; these functions decide what it means.

use serde::{Deserialize, Serialize};

/// Thresholds for one kind of key (an account or a client address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottlePolicy {
    /// Failures allowed before any delay applies.
    pub free_failures: u32,
    /// The first delay, in seconds; it doubles with each further failure.
    pub base_delay_secs: u64,
    /// The longest delay, in seconds.
    pub max_delay_secs: u64,
    /// Failures after which the key is locked until cleared (0: never).
    pub lock_after: u32,
    /// One failure is forgiven per this many seconds without a new one (0: none are), so a
    /// key's count decays in a sliding window instead of being cleared by someone else's success.
    #[serde(default)]
    pub decay_secs: u64,
    /// At most this many (after the decay) before refusing until one decays (0: no cap): with
    /// `decay_secs` a sliding quota, such as mails per day.
    #[serde(default)]
    pub cap: u32,
}

/// The policy for accounts and for client addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutPolicy {
    /// Per member account.
    pub account: ThrottlePolicy,
    /// Per client address (covers guessing across many user IDs).
    pub address: ThrottlePolicy,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            account: ThrottlePolicy {
                free_failures: 3,
                base_delay_secs: 2,
                max_delay_secs: 300,
                // A hold is opt-in: by default nobody can keep an account shut by guessing.
                lock_after: 0,
                decay_secs: 0,
                cap: 0,
            },
            address: ThrottlePolicy {
                free_failures: 10,
                base_delay_secs: 1,
                max_delay_secs: 60,
                lock_after: 0,
                decay_secs: 60,
                cap: 0,
            },
        }
    }
}

/// Consecutive failures for one key and when the last one happened (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureRecord {
    /// Failures since the last success or reset.
    pub failures: u32,
    /// Time of the last failure, Unix seconds.
    pub last_failure_at: i64,
}

/// What the policy says about a new attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead and check the credentials.
    Allowed,
    /// Too soon after the last failure: refuse without checking.
    Delayed {
        /// Seconds until an attempt is allowed again.
        retry_after_secs: u64,
    },
    /// Locked until the helpdesk lifts it.
    Locked,
}

impl ThrottlePolicy {
    /// The delay that follows `failures` consecutive failures.
    pub fn delay_after(&self, failures: u32) -> u64 {
        if failures < self.free_failures.max(1) {
            return 0;
        }
        let doublings = (failures - self.free_failures.max(1)).min(32);
        self.base_delay_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_delay_secs)
    }

    /// Whether the key's record holds it until the helpdesk lifts it (whatever the time).
    pub fn locks(&self, record: FailureRecord) -> bool {
        self.lock_after > 0 && record.failures >= self.lock_after
    }

    /// Whether an attempt at `now` may go ahead, given the key's record.
    pub fn verdict(&self, record: FailureRecord, now: i64) -> Verdict {
        if self.locks(record) {
            return Verdict::Locked;
        }
        if self.cap > 0 && self.decay_secs > 0 && record.failures >= self.cap {
            // The next one decays `decay_secs` after the last (or after the one before it).
            let quiet = now.saturating_sub(record.last_failure_at).max(0) as u64;
            let excess = u64::from(record.failures - self.cap + 1);
            let wait = self
                .decay_secs
                .saturating_mul(excess)
                .saturating_sub(quiet)
                .max(1);
            return Verdict::Delayed {
                retry_after_secs: wait,
            };
        }
        let delay = self.delay_after(record.failures);
        // No delay is owed: allowed even when the last failure is stamped later than `now`,
        // which happens when a request read the clock before a parallel one reserved the key.
        if delay == 0 {
            return Verdict::Allowed;
        }
        let until = record.last_failure_at.saturating_add(delay as i64);
        if now < until {
            Verdict::Delayed {
                retry_after_secs: (until - now) as u64,
            }
        } else {
            Verdict::Allowed
        }
    }
}

/// Why a reservation was refused, and by which key's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too soon: try again after this many seconds.
    Delayed {
        /// Seconds until an attempt is allowed again.
        retry_after_secs: u64,
    },
    /// Held until the helpdesk lifts it.
    Locked,
}

impl ThrottlePolicy {
    /// The record as it stands at `now`, after the failures the window has forgiven (a held
    /// key forgets nothing: only the helpdesk lifts a hold).
    pub fn decayed(&self, record: FailureRecord, now: i64) -> FailureRecord {
        if self.decay_secs == 0 || self.locks(record) || now <= record.last_failure_at {
            return record;
        }
        let quiet = (now - record.last_failure_at) as u64;
        let forgiven = u32::try_from(quiet / self.decay_secs).unwrap_or(u32::MAX);
        FailureRecord {
            failures: record.failures.saturating_sub(forgiven),
            ..record
        }
    }

    /// Reserves one attempt at `now`: the record to store before the guess is checked (the
    /// attempt counted as a failure until released), or why no attempt may be made. Applied
    /// to each key in one transaction, N parallel guesses get no more checks than N
    /// sequential ones would.
    pub fn reserve(&self, record: FailureRecord, now: i64) -> Result<FailureRecord, Refusal> {
        let record = self.decayed(record, now);
        match self.verdict(record, now) {
            // A request that read the clock before a parallel one's reservation never moves
            // the key's last failure back (which would shorten the delay it owes).
            Verdict::Allowed => Ok(FailureRecord {
                failures: record.failures.saturating_add(1),
                last_failure_at: now.max(record.last_failure_at),
            }),
            Verdict::Delayed { retry_after_secs } => Err(Refusal::Delayed { retry_after_secs }),
            Verdict::Locked => Err(Refusal::Locked),
        }
    }
}

/// The record after a reserved attempt turned out right: the reservation is taken back (one
/// failure fewer) and, when nothing was counted since, the time of the failure before it comes
/// back, so a success neither counts nor clears anything else.
pub fn release(
    current: FailureRecord,
    before: FailureRecord,
    reserved: FailureRecord,
) -> FailureRecord {
    let last_failure_at = if current == reserved {
        before.last_failure_at
    } else {
        current.last_failure_at
    };
    FailureRecord {
        failures: current.failures.saturating_sub(1),
        last_failure_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ThrottlePolicy = ThrottlePolicy {
        free_failures: 3,
        base_delay_secs: 2,
        max_delay_secs: 30,
        lock_after: 6,
        decay_secs: 0,
        cap: 0,
    };

    #[test]
    fn reservations_in_a_burst_stop_at_the_free_failures() {
        let mut record = FailureRecord::default();
        let mut granted = 0;
        for _ in 0..64 {
            if let Ok(next) = P.reserve(record, 1000) {
                record = next;
                granted += 1;
            }
        }
        assert_eq!(granted, 3);
        assert_eq!(
            P.reserve(record, 1001),
            Err(Refusal::Delayed {
                retry_after_secs: 1
            })
        );
    }

    /// A request reads the clock, then waits for the key's lock while a parallel one (that read
    /// the clock a second later) reserves: with no delay owed, the first is not refused.
    #[test]
    fn a_reservation_stamped_after_now_owes_no_delay_below_the_free_failures() {
        let parallel = FailureRecord {
            failures: 1,
            last_failure_at: 1001,
        };
        let reserved = P.reserve(parallel, 1000).unwrap();
        assert_eq!(
            reserved,
            FailureRecord {
                failures: 2,
                last_failure_at: 1001
            }
        );
        // Past the free failures the delay still counts from the latest stamp.
        let over = FailureRecord {
            failures: 3,
            last_failure_at: 1001,
        };
        assert_eq!(
            P.reserve(over, 1000),
            Err(Refusal::Delayed {
                retry_after_secs: 3
            })
        );
    }

    #[test]
    fn a_release_takes_back_only_the_reservation() {
        let before = FailureRecord {
            failures: 2,
            last_failure_at: 900,
        };
        let reserved = P.reserve(before, 1000).unwrap();
        assert_eq!(release(reserved, before, reserved), before);
        let later = FailureRecord {
            failures: 4,
            last_failure_at: 1001,
        };
        assert_eq!(
            release(later, before, reserved),
            FailureRecord {
                failures: 3,
                last_failure_at: 1001
            }
        );
    }

    #[test]
    fn failures_decay_but_holds_do_not() {
        let p = ThrottlePolicy {
            decay_secs: 60,
            cap: 0,
            ..P
        };
        let five = FailureRecord {
            failures: 5,
            last_failure_at: 1000,
        };
        assert_eq!(p.decayed(five, 1059).failures, 5);
        assert_eq!(p.decayed(five, 1120).failures, 3);
        assert_eq!(p.decayed(five, 100_000).failures, 0);
        let held = FailureRecord {
            failures: 6,
            last_failure_at: 1000,
        };
        assert_eq!(p.decayed(held, 100_000), held);
    }

    #[test]
    fn delay_grows_then_caps() {
        let d: Vec<u64> = (0..10).map(|n| P.delay_after(n)).collect();
        assert_eq!(d, vec![0, 0, 0, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn verdicts_follow_the_record() {
        let fresh = FailureRecord::default();
        assert_eq!(P.verdict(fresh, 1000), Verdict::Allowed);
        let three = FailureRecord {
            failures: 3,
            last_failure_at: 1000,
        };
        assert_eq!(
            P.verdict(three, 1001),
            Verdict::Delayed {
                retry_after_secs: 1
            }
        );
        assert_eq!(P.verdict(three, 1002), Verdict::Allowed);
        let six = FailureRecord {
            failures: 6,
            last_failure_at: 0,
        };
        assert_eq!(P.verdict(six, 1_000_000), Verdict::Locked);
    }

    #[test]
    fn the_lock_follows_the_count_only() {
        let at = |failures| FailureRecord {
            failures,
            last_failure_at: 1_000,
        };
        assert!(!P.locks(at(5)));
        assert!(P.locks(at(6)));
        assert!(P.locks(at(7)));
        assert!(!LockoutPolicy::default().address.locks(at(u32::MAX)));
    }

    #[test]
    fn addresses_never_lock() {
        let a = LockoutPolicy::default().address;
        let many = FailureRecord {
            failures: 1000,
            last_failure_at: 0,
        };
        assert_eq!(a.verdict(many, 1_000_000), Verdict::Allowed);
        assert_eq!(
            a.verdict(many, 30),
            Verdict::Delayed {
                retry_after_secs: 30
            }
        );
    }
}
