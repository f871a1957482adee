//! The retry policy of the persistent mail queue (`[mail.queue]`): how often the delivery
//! worker looks for due mail, and how long a mail waits after each failed attempt. Pure: the
//! queue itself lives in the store and the worker in the server.

use serde::{Deserialize, Serialize};

use super::MailError;

/// `[mail.queue]`: delivery retries with exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueuePolicy {
    /// The wait after the first failed attempt, in seconds; it doubles after each failure.
    pub retry_base_secs: u64,
    /// The longest wait between two attempts, in seconds.
    pub retry_max_secs: u64,
    /// Attempts before a mail is given up (status `failed`).
    pub max_attempts: u32,
    /// How often the delivery worker looks for due mail, in milliseconds.
    pub poll_interval_ms: u64,
    /// How long a process holds a mail it is delivering before another process may take it,
    /// in seconds: longer than one delivery attempt lasts. A process killed mid-delivery leaves
    /// its mails to be taken again after this.
    pub claim_secs: u64,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        // 30 s, 1 min, 2 min … capped at 1 h: 20 attempts span about 15 hours.
        Self {
            retry_base_secs: 30,
            retry_max_secs: 3600,
            max_attempts: 20,
            poll_interval_ms: 2000,
            claim_secs: 600,
        }
    }
}

impl QueuePolicy {
    /// Refuses values that would never retry or spin.
    pub fn validate(&self) -> Result<(), MailError> {
        if self.retry_base_secs == 0 || self.retry_max_secs < self.retry_base_secs {
            return Err(MailError::Config(
                "mail.queue: retry_base_secs must be at least 1 and at most retry_max_secs".into(),
            ));
        }
        if self.max_attempts == 0 {
            return Err(MailError::Config(
                "mail.queue: max_attempts must be at least 1".into(),
            ));
        }
        if self.poll_interval_ms < 10 {
            return Err(MailError::Config(
                "mail.queue: poll_interval_ms must be at least 10".into(),
            ));
        }
        if self.claim_secs == 0 {
            return Err(MailError::Config(
                "mail.queue: claim_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Until when a mail claimed at `now` is held by its claimer.
    pub fn claim_until(&self, now: i64) -> i64 {
        now.saturating_add(i64::try_from(self.claim_secs).unwrap_or(i64::MAX))
    }

    /// When to try again after `attempts` failed attempts (1 = the first failed), or `None`
    /// when the mail is given up.
    pub fn retry_after(&self, attempts: u32) -> Option<u64> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(32);
        let delay = self.retry_base_secs.saturating_mul(1u64 << doublings);
        Some(delay.min(self.retry_max_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let p = QueuePolicy {
            retry_base_secs: 30,
            retry_max_secs: 100,
            max_attempts: 5,
            poll_interval_ms: 1000,
            claim_secs: 600,
        };
        assert_eq!(p.retry_after(1), Some(30));
        assert_eq!(p.retry_after(2), Some(60));
        assert_eq!(p.retry_after(3), Some(100));
        assert_eq!(p.retry_after(4), Some(100));
        assert_eq!(p.retry_after(5), None);
        assert_eq!(p.retry_after(u32::MAX), None);
        let long = QueuePolicy {
            max_attempts: u32::MAX,
            retry_max_secs: u64::MAX,
            ..p
        };
        assert_eq!(long.retry_after(200), Some(30 << 32), "no overflow");
    }

    #[test]
    fn defaults_are_valid_and_bad_values_refused() {
        QueuePolicy::default().validate().unwrap();
        for bad in [
            QueuePolicy {
                retry_base_secs: 0,
                ..QueuePolicy::default()
            },
            QueuePolicy {
                retry_max_secs: 1,
                ..QueuePolicy::default()
            },
            QueuePolicy {
                max_attempts: 0,
                ..QueuePolicy::default()
            },
            QueuePolicy {
                poll_interval_ms: 0,
                ..QueuePolicy::default()
            },
            QueuePolicy {
                claim_secs: 0,
                ..QueuePolicy::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
