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

/// A request of the journey: everything that can move a member from one step to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// 【2】 A correct user ID and password; `resting` is the member's persisted step.
    SignIn {
        /// Where the member rests (decides whether the identity check comes first).
        resting: Step,
        /// Whether the member has a second factor to prove (see [`second_factor_required`]).
        second_factor: bool,
    },
    /// 【3】 The right date of birth; `resting` is the member's persisted step, shown next.
    PassIdentityCheck {
        /// Where the member rests.
        resting: Step,
    },
    /// "同意する".
    AcceptTerms,
    /// Declining the terms signs the member out; they stay at the terms.
    DeclineTerms,
    /// Confirm the address on file or give a new one; a verification mail goes out.
    SubmitEmail,
    /// 【7】 Send the verification mail again to the same address.
    ResendEmail,
    /// The verification link was opened.
    EmailVerified,
    /// Go back one step: from waiting for the mail to the address, or from the new
    /// credentials to the method choice.
    Back,
    /// Pick the authentication method (【8】, or another one at method set-up).
    ChooseMethod(Method),
    /// Set the new password (and maybe user ID): stage 1 ends and the member is signed out.
    SetCredentials,
    /// The chosen method was set up (stage 2 ends).
    MethodEnrolled,
    /// After the password, a code from one of the member's authenticator apps was accepted.
    PassSecondFactor,
    /// A member at the top screen has no second factor left (removed by the helpdesk): they
    /// set one up again, at method set-up, before reaching the top screen.
    SecondFactorsGone,
    /// End the flow; the member stays where they rest.
    SignOut,
}

/// A request that does not fit the member's current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this request does not fit the current step ({current:?})")]
pub struct FlowError {
    /// Where the member actually is.
    pub current: Step,
}

/// The steps a member can rest at between sign-ins (the only ones stored).
pub fn is_resting(step: Step) -> bool {
    step.in_first_login() || matches!(step, Step::MethodSetup | Step::Home)
}

/// The step shown after `action` at `current`, or why it is out of order.
///
/// Both steps are the ones the member *sees*: `SignIn` while no flow is open (and `Complete`,
/// its stage-1 variant), `BirthDate` while a stage-1 flow has not passed the identity check,
/// otherwise the persisted step. [`resting_after`] gives what to store, [`ends_flow`] whether
/// the flow ends.
pub fn transition(current: Step, action: Action) -> Result<Step, FlowError> {
    use Action as A;
    use Step as S;
    let next = match (current, action) {
        (S::SignIn | S::Complete, A::SignIn { resting, .. }) if resting.in_first_login() => {
            S::BirthDate
        }
        (
            S::SignIn | S::Complete,
            A::SignIn {
                resting: S::Home,
                second_factor: true,
            },
        ) => S::SecondFactor,
        (S::SignIn | S::Complete, A::SignIn { resting, .. }) if is_resting(resting) => resting,
        (S::BirthDate, A::PassIdentityCheck { resting }) if resting.in_first_login() => resting,
        (S::Terms, A::AcceptTerms) => S::Email,
        (S::Terms, A::DeclineTerms) => S::SignIn,
        (S::Email, A::SubmitEmail) => S::AwaitingVerification,
        (S::AwaitingVerification, A::SubmitEmail | A::ResendEmail) => S::AwaitingVerification,
        (S::AwaitingVerification, A::EmailVerified) => S::ChooseMethod,
        (S::AwaitingVerification, A::Back) => S::Email,
        (S::ChooseMethod | S::NewCredentials, A::ChooseMethod(_)) => S::NewCredentials,
        (S::NewCredentials, A::Back) => S::ChooseMethod,
        (S::NewCredentials, A::SetCredentials) => S::Complete,
        (S::MethodSetup, A::MethodEnrolled) => S::Home,
        // A member who cannot finish the chosen set-up (no key, no phone) picks another method
        // instead of being stuck at it.
        (S::MethodSetup, A::ChooseMethod(_)) => S::MethodSetup,
        (S::SecondFactor, A::PassSecondFactor) => S::Home,
        (S::Home, A::SecondFactorsGone) => S::MethodSetup,
        (s, A::SignOut) if matches!(s, S::BirthDate | S::SecondFactor) || is_resting(s) => {
            S::SignIn
        }
        _ => return Err(FlowError { current }),
    };
    Ok(next)
}

/// The persisted step once `shown` (a result of [`transition`]) is reached from a member who
/// rested at `before`: signing in or out and the identity check leave it as it was, and the
/// end of stage 1 leaves the member at method set-up for their next sign-in.
pub fn resting_after(before: Step, shown: Step) -> Step {
    match shown {
        Step::SignIn | Step::BirthDate | Step::SecondFactor => before,
        Step::Complete => Step::MethodSetup,
        other => other,
    }
}

/// Whether reaching `shown` ends the flow (the member is signed out).
pub fn ends_flow(shown: Step) -> bool {
    matches!(shown, Step::SignIn | Step::Complete)
}

/// What a sign-in flow asks for before the member's resting step applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowGates {
    /// The identity check of this flow has been passed.
    pub birth_verified: bool,
    /// A second-factor code is still owed in this flow.
    pub second_factor_pending: bool,
}

/// Whether a new sign-in flow of a member resting at `resting` with `second_factors`
/// registered must prove a second factor: only members at the top screen have one to prove
/// (at method set-up they are enrolling it).
pub fn second_factor_required(resting: Step, second_factors: usize) -> bool {
    resting == Step::Home && second_factors > 0
}

/// Whether what a right password at sign-in leads to depends on the member's second factors
/// (only at the top screen): the store counts them only then.
pub fn sign_in_counts_factors(resting: Step) -> bool {
    resting == Step::Home
}

/// What a right password at sign-in leads to ([`sign_in_plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInPlan {
    /// Where the member rests afterwards: `Some` when that changes (a member at the top screen
    /// with no second factor left goes back to method set-up, rather than reaching the top
    /// screen on the password alone).
    pub resting_after: Option<Step>,
    /// The new flow owes a second factor first.
    pub second_factor_pending: bool,
    /// The step the new flow shows.
    pub shown: Step,
    /// The account's failures are forgotten now. Stage 1 members forget them at the identity
    /// check instead, and members who owe a code when a code is accepted: otherwise every
    /// password sign-in would hand out fresh free guesses at the code.
    pub clears_account: bool,
}

/// What a right password at sign-in does for a member resting at `resting` with
/// `second_factors` registered (counted only when [`sign_in_counts_factors`]; 0 otherwise).
pub fn sign_in_plan(resting: Step, second_factors: usize) -> Result<SignInPlan, FlowError> {
    let resting_after = (resting == Step::Home && second_factors == 0)
        .then(|| transition(resting, Action::SecondFactorsGone))
        .transpose()?;
    let resting = resting_after.unwrap_or(resting);
    let second_factor_pending = second_factor_required(resting, second_factors);
    let shown = transition(
        Step::SignIn,
        Action::SignIn {
            resting,
            second_factor: second_factor_pending,
        },
    )?;
    Ok(SignInPlan {
        resting_after,
        second_factor_pending,
        shown,
        clears_account: !resting.in_first_login() && !second_factor_pending,
    })
}

/// What a member resting at `resting` sees through a flow: during stage 1 the identity check
/// comes first in every flow; at the top screen the second factor comes first.
pub fn visible_step(resting: Step, gates: FlowGates) -> Step {
    if resting.in_first_login() && !gates.birth_verified {
        Step::BirthDate
    } else if resting == Step::Home && gates.second_factor_pending {
        Step::SecondFactor
    } else {
        resting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action, with each resting step for the two that carry one.
    fn all_actions() -> Vec<Action> {
        let mut v = vec![
            Action::AcceptTerms,
            Action::DeclineTerms,
            Action::SubmitEmail,
            Action::ResendEmail,
            Action::EmailVerified,
            Action::Back,
            Action::SetCredentials,
            Action::MethodEnrolled,
            Action::PassSecondFactor,
            Action::SecondFactorsGone,
            Action::SignOut,
        ];
        v.extend(Method::ALL.map(Action::ChooseMethod));
        for resting in Step::ALL {
            for second_factor in [false, true] {
                v.push(Action::SignIn {
                    resting,
                    second_factor,
                });
            }
            v.push(Action::PassIdentityCheck { resting });
        }
        v
    }

    /// The whole table: every allowed (step, action) pair and where it leads. Anything not
    /// listed must be refused with the current step.
    fn expected(current: Step, action: Action) -> Option<Step> {
        use Action as A;
        use Step as S;
        const STAGE1: [Step; 5] = [
            S::Terms,
            S::Email,
            S::AwaitingVerification,
            S::ChooseMethod,
            S::NewCredentials,
        ];
        let in_flow = |s: Step| {
            s == S::BirthDate
                || STAGE1.contains(&s)
                || s == S::MethodSetup
                || s == S::SecondFactor
                || s == S::Home
        };
        match (current, action) {
            (S::SignIn | S::Complete, A::SignIn { resting, .. }) if STAGE1.contains(&resting) => {
                Some(S::BirthDate)
            }
            (
                S::SignIn | S::Complete,
                A::SignIn {
                    resting: S::Home,
                    second_factor: true,
                },
            ) => Some(S::SecondFactor),
            (
                S::SignIn | S::Complete,
                A::SignIn {
                    resting: r @ (S::MethodSetup | S::Home),
                    ..
                },
            ) => Some(r),
            (S::BirthDate, A::PassIdentityCheck { resting }) if STAGE1.contains(&resting) => {
                Some(resting)
            }
            (S::Terms, A::AcceptTerms) => Some(S::Email),
            (S::Terms, A::DeclineTerms) => Some(S::SignIn),
            (S::Email, A::SubmitEmail) => Some(S::AwaitingVerification),
            (S::AwaitingVerification, A::SubmitEmail) => Some(S::AwaitingVerification),
            (S::AwaitingVerification, A::ResendEmail) => Some(S::AwaitingVerification),
            (S::AwaitingVerification, A::EmailVerified) => Some(S::ChooseMethod),
            (S::AwaitingVerification, A::Back) => Some(S::Email),
            (S::ChooseMethod, A::ChooseMethod(_)) => Some(S::NewCredentials),
            (S::NewCredentials, A::ChooseMethod(_)) => Some(S::NewCredentials),
            (S::NewCredentials, A::Back) => Some(S::ChooseMethod),
            (S::NewCredentials, A::SetCredentials) => Some(S::Complete),
            (S::MethodSetup, A::MethodEnrolled) => Some(S::Home),
            (S::MethodSetup, A::ChooseMethod(_)) => Some(S::MethodSetup),
            (S::SecondFactor, A::PassSecondFactor) => Some(S::Home),
            (S::Home, A::SecondFactorsGone) => Some(S::MethodSetup),
            (s, A::SignOut) if in_flow(s) => Some(S::SignIn),
            _ => None,
        }
    }

    #[test]
    fn the_transition_table_is_exactly_as_specified() {
        let mut allowed = 0;
        for current in Step::ALL {
            for action in all_actions() {
                let got = transition(current, action);
                match expected(current, action) {
                    Some(next) => {
                        allowed += 1;
                        assert_eq!(got, Ok(next), "{current:?} × {action:?}");
                    }
                    None => assert_eq!(
                        got,
                        Err(FlowError { current }),
                        "{current:?} × {action:?} must be refused"
                    ),
                }
            }
        }
        // 28 sign-ins (from SignIn or Complete, to 7 resting steps, with and without a second
        // factor to prove), 5 identity checks, 21 moves (each of the 3 method choices at three
        // steps, the second factor, losing every second factor), 9 sign-outs.
        assert_eq!(allowed, 28 + 5 + 21 + 9);
    }

    #[test]
    fn the_happy_path_walks_the_manual() {
        let mut s = Step::SignIn;
        let mut resting = Step::Terms;
        let mut seen = vec![s];
        for a in [
            Action::SignIn {
                resting,
                second_factor: false,
            },
            Action::PassIdentityCheck { resting },
            Action::AcceptTerms,
            Action::SubmitEmail,
            Action::EmailVerified,
            Action::ChooseMethod(Method::TotpApp),
            Action::SetCredentials,
        ] {
            let next = transition(s, a).unwrap();
            resting = resting_after(resting, next);
            s = next;
            seen.push(s);
        }
        assert_eq!(
            seen,
            [
                Step::SignIn,
                Step::BirthDate,
                Step::Terms,
                Step::Email,
                Step::AwaitingVerification,
                Step::ChooseMethod,
                Step::NewCredentials,
                Step::Complete
            ]
        );
        assert!(ends_flow(s));
        assert_eq!(resting, Step::MethodSetup);
        // Stage 2: the next sign-in skips the identity check.
        let sign_in = |resting, second_factor| Action::SignIn {
            resting,
            second_factor,
        };
        s = transition(s, sign_in(resting, false)).unwrap();
        assert_eq!(s, Step::MethodSetup);
        s = transition(s, Action::MethodEnrolled).unwrap();
        assert_eq!((s, resting_after(resting, s)), (Step::Home, Step::Home));
        // Every later sign-in proves the second factor before the top screen.
        s = transition(Step::SignIn, sign_in(Step::Home, true)).unwrap();
        assert_eq!(
            (s, resting_after(Step::Home, s)),
            (Step::SecondFactor, Step::Home)
        );
        assert!(!ends_flow(s));
        s = transition(s, Action::PassSecondFactor).unwrap();
        assert_eq!(s, Step::Home);
        // Without any second factor left, the member sets one up again.
        s = transition(s, Action::SecondFactorsGone).unwrap();
        assert_eq!(
            (s, resting_after(Step::Home, s)),
            (Step::MethodSetup, Step::MethodSetup)
        );
    }

    #[test]
    fn signing_out_and_declining_keep_the_resting_step() {
        for resting in [Step::Terms, Step::AwaitingVerification, Step::Home] {
            let shown = visible_step(resting, FlowGates::default());
            let next = transition(shown, Action::SignOut).unwrap();
            assert_eq!(next, Step::SignIn);
            assert!(ends_flow(next));
            assert_eq!(resting_after(resting, next), resting);
        }
        let next = transition(Step::Terms, Action::DeclineTerms).unwrap();
        assert_eq!(
            (next, resting_after(Step::Terms, next)),
            (Step::SignIn, Step::Terms)
        );
        assert!(!ends_flow(Step::Email) && !ends_flow(Step::BirthDate));
    }

    #[test]
    fn the_identity_check_comes_first_in_stage_one_only() {
        let open = FlowGates::default();
        let checked = FlowGates {
            birth_verified: true,
            ..open
        };
        let owed = FlowGates {
            second_factor_pending: true,
            ..open
        };
        assert_eq!(visible_step(Step::Terms, open), Step::BirthDate);
        assert_eq!(visible_step(Step::Terms, checked), Step::Terms);
        assert_eq!(visible_step(Step::MethodSetup, open), Step::MethodSetup);
        assert_eq!(visible_step(Step::MethodSetup, owed), Step::MethodSetup);
        assert_eq!(visible_step(Step::Home, open), Step::Home);
        assert_eq!(visible_step(Step::Home, owed), Step::SecondFactor);
        assert!(second_factor_required(Step::Home, 1));
        assert!(!second_factor_required(Step::Home, 0));
        assert!(!second_factor_required(Step::MethodSetup, 2));
        for s in Step::ALL {
            assert_eq!(
                is_resting(s),
                !matches!(
                    s,
                    Step::SignIn | Step::BirthDate | Step::Complete | Step::SecondFactor
                ),
                "{s:?}"
            );
        }
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

    #[test]
    fn a_sign_in_plan_follows_the_resting_step_and_the_factors() {
        let plan = sign_in_plan(Step::Terms, 0).unwrap();
        assert_eq!(
            (plan.resting_after, plan.shown, plan.second_factor_pending),
            (None, Step::BirthDate, false)
        );
        assert!(!plan.clears_account, "stage 1 clears at the identity check");
        let plan = sign_in_plan(Step::Home, 2).unwrap();
        assert_eq!(
            (plan.resting_after, plan.shown, plan.second_factor_pending),
            (None, Step::SecondFactor, true)
        );
        assert!(!plan.clears_account, "a code is owed first");
        let plan = sign_in_plan(Step::Home, 0).unwrap();
        assert_eq!(
            (plan.resting_after, plan.shown, plan.second_factor_pending),
            (Some(Step::MethodSetup), Step::MethodSetup, false)
        );
        assert!(plan.clears_account);
        let plan = sign_in_plan(Step::MethodSetup, 0).unwrap();
        assert_eq!((plan.resting_after, plan.shown), (None, Step::MethodSetup));
        assert!(plan.clears_account);
        assert!(sign_in_counts_factors(Step::Home));
        assert!(!sign_in_counts_factors(Step::MethodSetup));
        assert!(sign_in_plan(Step::SecondFactor, 0).is_err());
    }
}
