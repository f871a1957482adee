//! The onboarding state machine: where a member is in the manual's journey, and which
//! requests may move them on.
//!
//! A member's persisted step is one of the *resting* steps (terms … new credentials, then
//! method set-up and home). A sign-in flow adds two transient steps around them: the
//! identity check (birth date) that every stage-1 sign-in passes first, `Complete`, the
//! signed-out end of stage 1, and `SecondFactor`, the one-time password a member who has
//! finished onboarding enters after their password at every sign-in.

use serde::{Deserialize, Serialize};

use super::Method;

/// A step of the journey. The server sends the member's current step with every answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 【2】 Sign in with user ID and password (no flow yet, or the flow ended).
    SignIn,
    /// 【3】 Identity check: the member's own date of birth.
    BirthDate,
    /// 【4】 Read and agree to the terms of use.
    Terms,
    /// 【5】 Confirm or change the email address.
    Email,
    /// 【6】【7】 The verification mail is out; waiting for its link to be opened.
    AwaitingVerification,
    /// 【8】 Choose the authentication method.
    ChooseMethod,
    /// 【9】 Set a new password and optionally a new user ID.
    NewCredentials,
    /// 【10】【11】 First login complete; the member has been signed out.
    Complete,
    /// Stage 2: set up the chosen method at the next sign-in.
    MethodSetup,
    /// After the password, a member with a second factor proves it (a code from one of their
    /// authenticator apps) before reaching the top screen.
    SecondFactor,
    /// The top screen of a member who has finished onboarding.
    Home,
}

impl Step {
    /// Every step, in journey order.
    pub const ALL: [Step; 11] = [
        Step::SignIn,
        Step::BirthDate,
        Step::Terms,
        Step::Email,
        Step::AwaitingVerification,
        Step::ChooseMethod,
        Step::NewCredentials,
        Step::Complete,
        Step::MethodSetup,
        Step::SecondFactor,
        Step::Home,
    ];

    /// The stable name stored in the database and used on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::BirthDate => "birth_date",
            Self::Terms => "terms",
            Self::Email => "email",
            Self::AwaitingVerification => "awaiting_verification",
            Self::ChooseMethod => "choose_method",
            Self::NewCredentials => "new_credentials",
            Self::Complete => "complete",
            Self::MethodSetup => "method_setup",
            Self::SecondFactor => "second_factor",
            Self::Home => "home",
        }
    }

    /// The inverse of [`Step::as_str`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The number the printed manual gives this step (【n】), for the step indicator.
    pub fn manual_number(&self) -> Option<u8> {
        match self {
            Self::SignIn => Some(2),
            Self::BirthDate => Some(3),
            Self::Terms => Some(4),
            Self::Email => Some(5),
            Self::AwaitingVerification => Some(6),
            Self::ChooseMethod => Some(8),
            Self::NewCredentials => Some(9),
            Self::Complete => Some(10),
            Self::MethodSetup | Self::SecondFactor | Self::Home => None,
        }
    }

    /// Whether a member at this step is still in the first login (stage 1).
    pub fn in_first_login(&self) -> bool {
        matches!(
            self,
            Self::Terms
                | Self::Email
                | Self::AwaitingVerification
                | Self::ChooseMethod
                | Self::NewCredentials
        )
    }
}

/// A request that moves a member's persisted step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// "同意する".
    AcceptTerms,
    /// Declining the terms signs the member out; they stay at the terms.
    DeclineTerms,
    /// Confirm the address on file or give a new one; a verification mail goes out.
    SubmitEmail,
    /// The verification link was opened.
    EmailVerified,
    /// Go back from waiting for the mail to change the address.
    ChangeEmail,
    /// Pick the authentication method.
    ChooseMethod(Method),
    /// Go back from the new-credentials step to the method choice.
    BackToMethod,
    /// Set the new password (and maybe user ID): stage 1 ends.
    SetCredentials,
    /// The chosen method was set up (stage 2 ends).
    MethodEnrolled,
    /// A member at the top screen has no second factor left (removed by the helpdesk): they
    /// set one up again at their next sign-in.
    SecondFactorsGone,
}

/// A request that does not fit the member's current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this request does not fit the current step ({current:?})")]
pub struct FlowError {
    /// Where the member actually is.
    pub current: Step,
}

/// The persisted step after `action` at `current`, or why it is out of order.
///
/// `DeclineTerms` leaves the member at the terms (the flow ends, the server signs them
/// out); `SetCredentials` moves the member on to method set-up.
pub fn transition(current: Step, action: Action) -> Result<Step, FlowError> {
    use Action as A;
    use Step as S;
    let next = match (current, action) {
        (S::Terms, A::AcceptTerms) => S::Email,
        (S::Terms, A::DeclineTerms) => S::Terms,
        (S::Email | S::AwaitingVerification, A::SubmitEmail) => S::AwaitingVerification,
        (S::AwaitingVerification, A::EmailVerified) => S::ChooseMethod,
        (S::AwaitingVerification, A::ChangeEmail) => S::Email,
        (S::ChooseMethod | S::NewCredentials, A::ChooseMethod(_)) => S::NewCredentials,
        (S::NewCredentials, A::BackToMethod) => S::ChooseMethod,
        (S::NewCredentials, A::SetCredentials) => S::MethodSetup,
        (S::MethodSetup, A::MethodEnrolled) => S::Home,
        (S::Home, A::SecondFactorsGone) => S::MethodSetup,
        _ => return Err(FlowError { current }),
    };
    Ok(next)
}

/// What a sign-in flow asks for before the member's persisted step applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowGates {
    /// The identity check of this flow has been passed.
    pub birth_verified: bool,
    /// A second-factor code is still owed in this flow.
    pub second_factor_pending: bool,
}

/// Whether a new sign-in flow of a member resting at `persisted` with `second_factors`
/// registered must prove a second factor: only members at the top screen have one to prove
/// (at method set-up they are enrolling it).
pub fn second_factor_required(persisted: Step, second_factors: usize) -> bool {
    persisted == Step::Home && second_factors > 0
}

/// The step a member sees through a flow: during stage 1 the identity check comes first in
/// every flow; at the top screen the second factor comes first.
pub fn visible_step(persisted: Step, gates: FlowGates) -> Step {
    if persisted.in_first_login() && !gates.birth_verified {
        Step::BirthDate
    } else if persisted == Step::Home && gates.second_factor_pending {
        Step::SecondFactor
    } else {
        persisted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_walks_the_manual() {
        let mut s = Step::Terms;
        for a in [
            Action::AcceptTerms,
            Action::SubmitEmail,
            Action::EmailVerified,
            Action::ChooseMethod(Method::TotpApp),
            Action::SetCredentials,
            Action::MethodEnrolled,
        ] {
            s = transition(s, a).unwrap();
        }
        assert_eq!(s, Step::Home);
    }

    #[test]
    fn out_of_order_requests_are_rejected() {
        assert_eq!(
            transition(Step::Terms, Action::SetCredentials),
            Err(FlowError {
                current: Step::Terms
            })
        );
        assert!(transition(Step::Email, Action::EmailVerified).is_err());
        assert!(transition(Step::ChooseMethod, Action::SetCredentials).is_err());
        assert!(transition(Step::Home, Action::AcceptTerms).is_err());
        assert!(transition(Step::MethodSetup, Action::SubmitEmail).is_err());
        assert!(transition(Step::Home, Action::MethodEnrolled).is_err());
        assert!(transition(Step::MethodSetup, Action::SecondFactorsGone).is_err());
        assert!(transition(Step::SecondFactor, Action::MethodEnrolled).is_err());
    }

    #[test]
    fn stage_two_and_the_second_factor_gate() {
        // Complete is the signed-out view; the persisted step is already method set-up.
        assert_eq!(
            transition(Step::NewCredentials, Action::SetCredentials),
            Ok(Step::MethodSetup)
        );
        assert_eq!(
            transition(Step::MethodSetup, Action::MethodEnrolled),
            Ok(Step::Home)
        );
        assert_eq!(
            transition(Step::Home, Action::SecondFactorsGone),
            Ok(Step::MethodSetup)
        );
        assert!(second_factor_required(Step::Home, 1));
        assert!(!second_factor_required(Step::Home, 0));
        assert!(!second_factor_required(Step::MethodSetup, 2));
        assert!(!second_factor_required(Step::Terms, 1));
        let open = FlowGates {
            birth_verified: false,
            second_factor_pending: false,
        };
        let owed = FlowGates {
            second_factor_pending: true,
            ..open
        };
        let checked = FlowGates {
            birth_verified: true,
            ..open
        };
        assert_eq!(visible_step(Step::Home, owed), Step::SecondFactor);
        assert_eq!(visible_step(Step::Home, open), Step::Home);
        assert_eq!(visible_step(Step::MethodSetup, open), Step::MethodSetup);
        assert_eq!(visible_step(Step::Terms, open), Step::BirthDate);
        assert_eq!(visible_step(Step::Terms, checked), Step::Terms);
    }

    #[test]
    fn resend_and_back_stay_inside_stage_one() {
        assert_eq!(
            transition(Step::AwaitingVerification, Action::SubmitEmail),
            Ok(Step::AwaitingVerification)
        );
        assert_eq!(
            transition(Step::AwaitingVerification, Action::ChangeEmail),
            Ok(Step::Email)
        );
        assert_eq!(
            transition(Step::NewCredentials, Action::BackToMethod),
            Ok(Step::ChooseMethod)
        );
        assert_eq!(
            transition(Step::Terms, Action::DeclineTerms),
            Ok(Step::Terms)
        );
    }

    #[test]
    fn names_round_trip() {
        for s in Step::ALL {
            assert_eq!(Step::from_name(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!(Step::Terms.in_first_login());
        assert!(!Step::MethodSetup.in_first_login());
    }
}
