//! How the console words what the server sends: error codes, steps, the situation, elapsed
//! times, proofs, actions, mail states and times of day.

use crate::api::helpdesk::{CallerProof, CaseSituation, StaffAction};
use crate::api::{ApiError, ErrorCode, Lang, Method, Step};
use crate::domain::StaffRole;
use crate::domain::helpdesk::{Elapsed, elapsed};
use crate::tui::i18n::{Tr, t, tf};

/// The message for an error answer of a staff route.
pub fn error_message(e: &ApiError) -> Tr {
    let secs = e.retry_after_secs.unwrap_or(0).to_string();
    let key = match e.code {
        ErrorCode::InvalidCredentials => "staff.err.invalid_credentials",
        ErrorCode::InvalidEnrolmentCode => "err.invalid_enrolment_code",
        ErrorCode::InsufficientRole => "staff.err.insufficient_role",
        ErrorCode::StaleView => "err.stale_view",
        ErrorCode::CallerNotVerified => "err.caller_not_verified",
        ErrorCode::NotFound => "staff.err.no_member",
        ErrorCode::WrongCode => "staff.err.wrong_code",
        ErrorCode::CodeUsed => "err.code_used",
        ErrorCode::CodeExpired => "err.code_expired",
        ErrorCode::ClockSkew => "err.clock_skew",
        ErrorCode::AccountHeld => "staff.err.held",
        ErrorCode::TooManyAttempts => "staff.err.too_many_attempts",
        ErrorCode::RateLimited => return Tr::new("err.rate_limited").arg("secs", secs),
        ErrorCode::ServerBusy => return Tr::new("err.server_busy").arg("secs", secs),
        ErrorCode::WeakPassword => match e.rule.as_deref() {
            Some("length") => "err.weak_password.length",
            Some("characters") => "err.weak_password.characters",
            _ => "err.weak_password.length",
        },
        ErrorCode::InvalidEmail => "err.invalid_email",
        ErrorCode::InvalidBirthDate => "err.invalid_birth_date",
        ErrorCode::WrongBirthDate => "staff.err.knowledge",
        ErrorCode::MailFailed => "staff.err.mail_failed",
        ErrorCode::ResendCooldown => "err.resend_cooldown",
        ErrorCode::StaffSessionExpired => "err.staff_session_expired",
        ErrorCode::OutOfOrder => "staff.err.out_of_order",
        ErrorCode::BadRequest | ErrorCode::PayloadTooLarge => "err.bad_request",
        ErrorCode::PasskeyUnavailable => "err.passkey_unavailable",
        ErrorCode::PasskeyRejected => "err.passkey_rejected",
        ErrorCode::CeremonyExpired => "err.ceremony_expired",
        ErrorCode::PasskeyTaken => "err.passkey_taken",
        ErrorCode::NoPasskey => "err.no_passkey",
        _ => "err.internal",
    };
    Tr::new(key)
}

/// The i18n key of a member's step.
pub fn step_key(step: Step) -> &'static str {
    match step {
        Step::SignIn => "step.sign_in",
        Step::BirthDate => "step.birth_date",
        Step::Terms => "step.terms",
        Step::Email => "step.email",
        Step::AwaitingVerification => "step.awaiting",
        Step::ChooseMethod => "step.choose_method",
        Step::NewCredentials => "step.new_credentials",
        Step::Complete => "step.complete",
        Step::MethodSetup => "step.method_setup",
        Step::SecondFactor => "step.second_factor",
        Step::Home => "step.home",
    }
}

/// A duration as a person says it ("2 days", 「2日」).
pub fn elapsed_text(lang: Lang, secs: i64) -> String {
    let (n, one, many) = match elapsed(secs) {
        Elapsed::Seconds(n) => (n, "staff.elapsed.second", "staff.elapsed.seconds"),
        Elapsed::Minutes(n) => (n, "staff.elapsed.minute", "staff.elapsed.minutes"),
        Elapsed::Hours(n) => (n, "staff.elapsed.hour", "staff.elapsed.hours"),
        Elapsed::Days(n) => (n, "staff.elapsed.day", "staff.elapsed.days"),
    };
    tf(
        lang,
        if n == 1 { one } else { many },
        &[("n", &n.to_string())],
    )
}

/// The member's situation in words.
pub fn situation_text(lang: Lang, s: &CaseSituation, step: Step) -> String {
    match *s {
        CaseSituation::NotStarted => t(lang, "staff.situation.not_started").to_owned(),
        CaseSituation::Locked => t(lang, "staff.situation.locked").to_owned(),
        CaseSituation::AwaitingLink {
            for_secs,
            delivered,
            pending,
            failed,
        } => {
            let total = delivered + pending + failed;
            let mut mails = tf(
                lang,
                if delivered == total {
                    "staff.situation.mails_all"
                } else {
                    "staff.situation.mails"
                },
                &[
                    ("n", &total.to_string()),
                    ("delivered", &delivered.to_string()),
                ],
            );
            if pending > 0 {
                mails.push_str(&tf(
                    lang,
                    "staff.situation.mails_pending",
                    &[("n", &pending.to_string())],
                ));
            }
            if failed > 0 {
                mails.push_str(&tf(
                    lang,
                    "staff.situation.mails_failed",
                    &[("n", &failed.to_string())],
                ));
            }
            mails.push_str(t(lang, "staff.situation.none_opened"));
            tf(
                lang,
                "staff.situation.awaiting",
                &[("for", &elapsed_text(lang, for_secs)), ("mails", &mails)],
            )
        }
        CaseSituation::InFirstLogin { for_secs } => tf(
            lang,
            "staff.situation.first_login",
            &[
                ("step", t(lang, step_key(step))),
                ("for", &elapsed_text(lang, for_secs)),
            ],
        ),
        CaseSituation::SettingUp { for_secs } => tf(
            lang,
            "staff.situation.setting_up",
            &[("for", &elapsed_text(lang, for_secs))],
        ),
        CaseSituation::Done { factors } => {
            tf(lang, "staff.situation.done", &[("n", &factors.to_string())])
        }
    }
}

/// The i18n key of a caller proof.
pub fn proof_key(p: CallerProof) -> &'static str {
    match p {
        CallerProof::AppCode => "staff.proof.app_code",
        CallerProof::MailedCode => "staff.proof.mailed_code",
        CallerProof::MemberScreenCode => "staff.proof.member_screen_code",
        CallerProof::Knowledge => "staff.proof.knowledge",
    }
}

/// The i18n key of an action's button.
pub fn action_key(a: StaffAction) -> &'static str {
    match a {
        StaffAction::Unlock => "staff.action.unlock",
        StaffAction::ResendVerification => "staff.action.resend",
        StaffAction::SignOutEverywhere => "staff.action.sign_out_everywhere",
        StaffAction::RemoveFactor => "staff.action.remove_factor",
        StaffAction::ChangeEmail => "staff.action.change_email",
        StaffAction::IssueEnrolmentPass => "staff.action.enrolment_pass",
    }
}

/// The i18n key of a method.
pub fn method_key(m: Method) -> &'static str {
    match m {
        Method::Passkey => "staff.method.passkey",
        Method::TotpApp => "staff.method.totp_app",
        Method::EmailOtp => "staff.method.email_otp",
    }
}

/// The i18n key of a role.
pub fn role_key(r: StaffRole) -> &'static str {
    match r {
        StaffRole::Helpdesk => "staff.role.helpdesk",
        StaffRole::Admin => "staff.role.admin",
    }
}

/// The i18n key of a mail's delivery state.
pub fn mail_status_key(status: &str) -> &'static str {
    match status {
        "sent" => "staff.mail.sent",
        "pending" => "staff.mail.pending",
        "failed" => "staff.mail.failed",
        _ => "staff.mail.unknown",
    }
}

/// A time as `MM-DD HH:MM` in `offset`.
pub fn when(at: i64, offset: time::UtcOffset) -> String {
    match time::OffsetDateTime::from_unix_timestamp(at) {
        Ok(t) => {
            let t = t.to_offset(offset);
            format!(
                "{:02}-{:02} {:02}:{:02}",
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        }
        Err(_) => "-".to_owned(),
    }
}
