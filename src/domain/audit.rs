//! What the audit log records: one [`AuditAction`] per kind of event, with the stable name
//! stored in the log (existing logs and tests read these names, so they never change).

/// A kind of event written to the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A correct user ID and password opened a flow.
    SignIn,
    /// The member signed out.
    SignOut,
    /// Too many failures: the account is held until the helpdesk lifts it.
    AccountLocked,
    /// A request of a held account was refused and its flows ended.
    AccountHeld,
    /// The helpdesk lifted a hold (the account's and its user ID's failures are forgotten).
    HoldLifted,
    /// The identity check (date of birth) was passed.
    IdentityChecked,
    /// The terms were accepted.
    TermsAccepted,
    /// The terms were declined (the member is signed out).
    TermsDeclined,
    /// An address was given (or confirmed) and its verification mail sent.
    EmailSubmitted,
    /// The verification mail was sent again.
    EmailResent,
    /// A verification link was opened.
    EmailVerified,
    /// A change of address was asked for from the top screen.
    EmailChangeRequested,
    /// The member went back one step.
    FlowBack,
    /// The second-factor method was chosen.
    MethodChosen,
    /// Stage 1 ended with the member's own password.
    FirstLoginCompleted,
    /// The member changed their password from the top screen.
    PasswordChanged,
    /// A member at the top screen had no second factor left and went back to method set-up.
    SecondFactorMissing,
    /// An authenticator-app enrollment started (the QR code was shown).
    TotpEnrollmentStarted,
    /// An authenticator app was registered.
    TotpEnrolled,
    /// A code from an authenticator app was accepted.
    TotpVerified,
    /// An authenticator app was renamed.
    TotpRenamed,
    /// An authenticator app was removed.
    TotpRemoved,
    /// An emailed one-time code was sent.
    EmailOtpSent,
    /// The email one-time code method was set up.
    EmailOtpEnrolled,
    /// An emailed one-time code was accepted at sign-in.
    EmailOtpVerified,
    /// The email one-time code method was removed.
    EmailOtpRemoved,
    /// A passkey was registered.
    PasskeyEnrolled,
    /// A passkey sign-in was accepted.
    PasskeyVerified,
    /// A passkey was renamed.
    PasskeyRenamed,
    /// A passkey was removed.
    PasskeyRemoved,
    /// A forgotten user ID was mailed to the member.
    RecoverUserIdMailed,
    /// A forgotten-user-ID request matched no member.
    RecoverUserIdUnmatched,
    /// A password-reset code was requested.
    RecoverPasswordRequested,
    /// A password-reset request matched no member.
    RecoverPasswordUnmatched,
    /// A forgotten password was replaced.
    RecoverPasswordReset,
    /// A roster import run finished.
    RosterImported,
    /// A roster import run failed.
    RosterImportFailed,
    /// A staff account was added (its enrolment code issued).
    StaffAdded,
    /// A staff account was disabled (its sessions ended).
    StaffDisabled,
    /// A staff account was reset: password, factors and sessions gone, a new enrolment code issued.
    StaffReset,
    /// A staff member's enrolment code was accepted (the authenticator app is being set up).
    StaffEnrolmentStarted,
    /// A staff member finished the enrolment (password and authenticator app set).
    StaffEnrolled,
    /// A staff member's password was accepted (the authenticator code is owed).
    StaffPasswordAccepted,
    /// A staff member signed in (password and authenticator code).
    StaffSignIn,
    /// A staff member signed out.
    StaffSignOut,
    /// A staff sign-in or enrolment attempt failed (wrong password, code or enrolment code).
    StaffSignInFailed,
    /// Too many staff failures: the staff account is held and its sessions ended.
    StaffLocked,
    // issue 13: caller verification and helpdesk actions
    /// The helpdesk mailed a code to the member's verified address for the caller to read back.
    CallerCodeMailed,
    /// The member's own signed-in screen showed a code for the helpdesk.
    MemberScreenCodeShown,
    /// The helpdesk verified the caller (the entry names the verification and its proof).
    CallerVerified,
    /// A caller's answer to the helpdesk was wrong.
    CallerVerificationFailed,
    /// The helpdesk cleared the failures that delayed or held the member's sign-ins.
    HelpdeskUnlock,
    /// The helpdesk sent the verification mail again.
    HelpdeskResendVerification,
    /// The helpdesk ended every flow of the member.
    HelpdeskSignOutEverywhere,
    /// The helpdesk removed a second factor of the member.
    HelpdeskRemoveFactor,
    /// The helpdesk started changing the member's address.
    HelpdeskChangeEmail,
    /// The helpdesk issued a one-time enrolment pass.
    HelpdeskEnrolmentPass,
    /// The member signed in with the enrolment pass (a new password is owed).
    EnrolmentPassUsed,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 58] = [
        Self::SignIn,
        Self::SignOut,
        Self::AccountLocked,
        Self::AccountHeld,
        Self::HoldLifted,
        Self::IdentityChecked,
        Self::TermsAccepted,
        Self::TermsDeclined,
        Self::EmailSubmitted,
        Self::EmailResent,
        Self::EmailVerified,
        Self::EmailChangeRequested,
        Self::FlowBack,
        Self::MethodChosen,
        Self::FirstLoginCompleted,
        Self::PasswordChanged,
        Self::SecondFactorMissing,
        Self::TotpEnrollmentStarted,
        Self::TotpEnrolled,
        Self::TotpVerified,
        Self::TotpRenamed,
        Self::TotpRemoved,
        Self::EmailOtpSent,
        Self::EmailOtpEnrolled,
        Self::EmailOtpVerified,
        Self::EmailOtpRemoved,
        Self::PasskeyEnrolled,
        Self::PasskeyVerified,
        Self::PasskeyRenamed,
        Self::PasskeyRemoved,
        Self::RecoverUserIdMailed,
        Self::RecoverUserIdUnmatched,
        Self::RecoverPasswordRequested,
        Self::RecoverPasswordUnmatched,
        Self::RecoverPasswordReset,
        Self::RosterImported,
        Self::RosterImportFailed,
        Self::StaffAdded,
        Self::StaffDisabled,
        Self::StaffReset,
        Self::StaffEnrolmentStarted,
        Self::StaffEnrolled,
        Self::StaffPasswordAccepted,
        Self::StaffSignIn,
        Self::StaffSignOut,
        Self::StaffSignInFailed,
        Self::StaffLocked,
        Self::CallerCodeMailed,
        Self::MemberScreenCodeShown,
        Self::CallerVerified,
        Self::CallerVerificationFailed,
        Self::HelpdeskUnlock,
        Self::HelpdeskResendVerification,
        Self::HelpdeskSignOutEverywhere,
        Self::HelpdeskRemoveFactor,
        Self::HelpdeskChangeEmail,
        Self::HelpdeskEnrolmentPass,
        Self::EnrolmentPassUsed,
    ];

    /// The stable name stored in the log.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignOut => "sign_out",
            Self::AccountLocked => "account.locked",
            Self::AccountHeld => "account.held",
            Self::HoldLifted => "account.hold_lifted",
            Self::IdentityChecked => "identity.checked",
            Self::TermsAccepted => "terms.accepted",
            Self::TermsDeclined => "terms.declined",
            Self::EmailSubmitted => "email.submitted",
            Self::EmailResent => "email.resent",
            Self::EmailVerified => "email.verified",
            Self::EmailChangeRequested => "email.change_requested",
            Self::FlowBack => "flow.back",
            Self::MethodChosen => "method.chosen",
            Self::FirstLoginCompleted => "first_login.completed",
            Self::PasswordChanged => "password.changed",
            Self::SecondFactorMissing => "second_factor.missing",
            Self::TotpEnrollmentStarted => "totp.enrollment_started",
            Self::TotpEnrolled => "totp.enrolled",
            Self::TotpVerified => "totp.verified",
            Self::TotpRenamed => "totp.renamed",
            Self::TotpRemoved => "totp.removed",
            Self::EmailOtpSent => "email_otp.sent",
            Self::EmailOtpEnrolled => "email_otp.enrolled",
            Self::EmailOtpVerified => "email_otp.verified",
            Self::EmailOtpRemoved => "email_otp.removed",
            Self::PasskeyEnrolled => "passkey.enrolled",
            Self::PasskeyVerified => "passkey.verified",
            Self::PasskeyRenamed => "passkey.renamed",
            Self::PasskeyRemoved => "passkey.removed",
            Self::RecoverUserIdMailed => "recover.user_id.mailed",
            Self::RecoverUserIdUnmatched => "recover.user_id.unmatched",
            Self::RecoverPasswordRequested => "recover.password.requested",
            Self::RecoverPasswordUnmatched => "recover.password.unmatched",
            Self::RecoverPasswordReset => "recover.password.reset",
            Self::RosterImported => "roster.imported",
            Self::RosterImportFailed => "roster.import_failed",
            Self::StaffAdded => "staff.added",
            Self::StaffDisabled => "staff.disabled",
            Self::StaffReset => "staff.reset",
            Self::StaffEnrolmentStarted => "staff.enrolment_started",
            Self::StaffEnrolled => "staff.enrolled",
            Self::StaffPasswordAccepted => "staff.password_accepted",
            Self::StaffSignIn => "staff.sign_in",
            Self::StaffSignOut => "staff.sign_out",
            Self::StaffSignInFailed => "staff.sign_in_failed",
            Self::StaffLocked => "staff.locked",
            Self::CallerCodeMailed => "helpdesk.caller_code_mailed",
            Self::MemberScreenCodeShown => "helpdesk.member_code_shown",
            Self::CallerVerified => "helpdesk.caller_verified",
            Self::CallerVerificationFailed => "helpdesk.caller_verification_failed",
            Self::HelpdeskUnlock => "helpdesk.unlock",
            Self::HelpdeskResendVerification => "helpdesk.resend_verification",
            Self::HelpdeskSignOutEverywhere => "helpdesk.sign_out_everywhere",
            Self::HelpdeskRemoveFactor => "helpdesk.remove_factor",
            Self::HelpdeskChangeEmail => "helpdesk.change_email",
            Self::HelpdeskEnrolmentPass => "helpdesk.issue_enrolment_pass",
            Self::EnrolmentPassUsed => "enrolment_pass.used",
        }
    }

    /// The entry a helpdesk action writes.
    pub fn of_staff_action(action: super::helpdesk::StaffAction) -> Self {
        use super::helpdesk::StaffAction as A;
        match action {
            A::Unlock => Self::HelpdeskUnlock,
            A::ResendVerification => Self::HelpdeskResendVerification,
            A::SignOutEverywhere => Self::HelpdeskSignOutEverywhere,
            A::RemoveFactor => Self::HelpdeskRemoveFactor,
            A::ChangeEmail => Self::HelpdeskChangeEmail,
            A::IssueEnrolmentPass => Self::HelpdeskEnrolmentPass,
        }
    }

    /// The inverse of [`AuditAction::as_str`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_round_trip() {
        let names: std::collections::BTreeSet<_> =
            AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::from_name(a.as_str()), Some(a));
        }
        assert_eq!(AuditAction::from_name("test.transition"), None);
    }

    #[test]
    fn names_the_tests_and_logs_read_are_kept() {
        assert_eq!(AuditAction::AccountLocked.as_str(), "account.locked");
        assert_eq!(AuditAction::SignIn.as_str(), "sign_in");
        assert_eq!(AuditAction::EmailVerified.as_str(), "email.verified");
        assert_eq!(
            AuditAction::RecoverPasswordReset.as_str(),
            "recover.password.reset"
        );
    }
}
