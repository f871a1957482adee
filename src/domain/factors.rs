//! Second factors: how many devices a member may register, who may remove which factor, and
//! what a member's chosen method becomes when a factor goes.
//!
//! The store counts inside its write transaction and asks these functions, so two requests
//! racing cannot both pass a limit.

use super::{Actor, Method};

/// Why a factor may not be added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FactorRefusal {
    /// The member already has the most devices of that kind allowed.
    #[error("the member already has the most devices allowed")]
    TooManyDevices,
    /// Removing it would leave the member without a second factor.
    #[error("this is the member's last second factor")]
    LastFactor,
    /// A member may only remove their own factors.
    #[error("not this member's factor")]
    NotTheirs,
}

/// Whether one more device may join the `registered` ones of its kind, given the limit `max`.
pub fn may_add_device(registered: usize, max: usize) -> Result<(), FactorRefusal> {
    if registered >= max {
        return Err(FactorRefusal::TooManyDevices);
    }
    Ok(())
}

/// Whether `by` may remove one of `owner`'s second factors while the member has `factors` of
/// them (of every kind, the one to remove included).
///
/// Never the last one, except for helpdesk staff: they remove a lost device of a caller who has
/// nothing else, and the member sets a factor up again at their next sign-in. A member removes
/// only their own factors.
pub fn may_remove(by: Actor, owner: i64, factors: usize) -> Result<(), FactorRefusal> {
    match by {
        Actor::Staff(_) => Ok(()),
        Actor::Member(id) if id != owner => Err(FactorRefusal::NotTheirs),
        Actor::Member(_) | Actor::System | Actor::Import | Actor::Operator if factors <= 1 => {
            Err(FactorRefusal::LastFactor)
        }
        Actor::Member(_) | Actor::System | Actor::Import | Actor::Operator => Ok(()),
    }
}

/// The member's chosen method once their email one-time code method is removed: a member who
/// had chosen it goes on with their authenticator apps; any other choice stays.
pub fn method_after_email_removed(chosen: Option<Method>) -> Option<Method> {
    match chosen {
        Some(Method::EmailOtp) => Some(Method::TotpApp),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_stop_at_the_limit() {
        assert_eq!(may_add_device(0, 5), Ok(()));
        assert_eq!(may_add_device(4, 5), Ok(()));
        assert_eq!(may_add_device(5, 5), Err(FactorRefusal::TooManyDevices));
        assert_eq!(may_add_device(6, 5), Err(FactorRefusal::TooManyDevices));
        assert_eq!(may_add_device(0, 0), Err(FactorRefusal::TooManyDevices));
    }

    #[test]
    fn a_member_never_removes_their_last_factor() {
        assert_eq!(may_remove(Actor::Member(1), 1, 2), Ok(()));
        assert_eq!(
            may_remove(Actor::Member(1), 1, 1),
            Err(FactorRefusal::LastFactor)
        );
        assert_eq!(
            may_remove(Actor::Member(1), 1, 0),
            Err(FactorRefusal::LastFactor)
        );
    }

    #[test]
    fn a_member_removes_only_their_own() {
        assert_eq!(
            may_remove(Actor::Member(2), 1, 3),
            Err(FactorRefusal::NotTheirs)
        );
    }

    #[test]
    fn staff_may_remove_the_last_factor() {
        assert_eq!(may_remove(Actor::Staff(9), 1, 1), Ok(()));
        assert_eq!(may_remove(Actor::Staff(9), 1, 3), Ok(()));
    }

    #[test]
    fn the_system_keeps_the_last_factor() {
        assert_eq!(may_remove(Actor::System, 1, 2), Ok(()));
        assert_eq!(
            may_remove(Actor::System, 1, 1),
            Err(FactorRefusal::LastFactor)
        );
        assert_eq!(
            may_remove(Actor::Import, 1, 1),
            Err(FactorRefusal::LastFactor)
        );
    }

    #[test]
    fn removing_the_email_method_moves_its_choosers_to_the_app() {
        assert_eq!(
            method_after_email_removed(Some(Method::EmailOtp)),
            Some(Method::TotpApp)
        );
        for kept in [Some(Method::TotpApp), Some(Method::Passkey), None] {
            assert_eq!(method_after_email_removed(kept), kept);
        }
    }
}
