//! Mail quotas: how often a member may have a verification or address-change mail sent (a
//! cooldown between two, and a cap per day), so a loop of requests cannot flood a mailbox.

use serde::{Deserialize, Serialize};

use super::ThrottlePolicy;

/// The quota per member for the mails a member asks for (first-login verification, resend,
/// address change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailQuota {
    /// Seconds between two mails.
    pub cooldown_secs: u64,
    /// Mails per day (a sliding day: one more every `86400 / daily_cap` seconds once spent).
    pub daily_cap: u32,
}

impl Default for MailQuota {
    fn default() -> Self {
        Self {
            cooldown_secs: 60,
            daily_cap: 5,
        }
    }
}

impl MailQuota {
    /// The quota as a throttle policy on the member's mail key: each mail is one reservation.
    pub fn policy(&self) -> ThrottlePolicy {
        let cap = self.daily_cap.max(1);
        ThrottlePolicy {
            free_failures: 1,
            base_delay_secs: self.cooldown_secs,
            max_delay_secs: self.cooldown_secs,
            lock_after: 0,
            decay_secs: (86_400 / u64::from(cap)).max(1),
            cap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FailureRecord;

    #[test]
    fn a_cooldown_between_mails_and_a_cap_per_day() {
        let p = MailQuota::default().policy();
        let mut record = FailureRecord::default();
        let mut now = 1_000;
        for _ in 0..5 {
            record = p.reserve(record, now).expect("within the quota");
            assert!(p.reserve(record, now + 59).is_err(), "cooldown");
            now += 60;
        }
        // The sixth waits for the oldest to leave the sliding day.
        let refused = p.reserve(record, now).unwrap_err();
        assert!(
            matches!(refused, crate::domain::Refusal::Delayed { retry_after_secs } if retry_after_secs > 3_600),
            "{refused:?}"
        );
        assert!(p.reserve(record, now + 86_400).is_ok());
    }
}
