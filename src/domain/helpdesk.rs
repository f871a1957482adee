//! The helpdesk's rules: how a caller proves they are the member, what each proof unlocks and
//! for how long, how a member's situation reads ("waiting for the verification link for two
//! days, three mails delivered"), when a staff member's view of a member is stale, and the form
//! of the one-time enrolment pass a member signs in with instead of the password.

use super::flow::Step;
use super::lockout::{FailureRecord, ThrottlePolicy, Verdict};
use super::method::Method;

/// How a caller proved on the phone that they are the member, strongest first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CallerProof {
    /// A code from the member's registered authenticator app, read out by the caller.
    AppCode,
    /// A code the server mailed to the member's verified address, read back by the caller.
    MailedCode,
    /// A one-time code shown on the member's own signed-in terminal, read out by the caller.
    MemberScreenCode,
    /// Date of birth and card number: anyone holding the card knows them, so this alone
    /// unlocks only the low-risk actions.
    Knowledge,
}

impl CallerProof {
    /// Every proof, strongest first.
    pub const ALL: [CallerProof; 4] = [
        CallerProof::AppCode,
        CallerProof::MailedCode,
        CallerProof::MemberScreenCode,
        CallerProof::Knowledge,
    ];

    /// The stable name used in the API and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            CallerProof::AppCode => "app_code",
            CallerProof::MailedCode => "mailed_code",
            CallerProof::MemberScreenCode => "member_screen_code",
            CallerProof::Knowledge => "knowledge",
        }
    }

    /// The proof with this stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether this proof shows possession of something only the member has.
    pub fn is_possession(self) -> bool {
        !matches!(self, CallerProof::Knowledge)
    }
}

/// What staff can do to a member's account.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StaffAction {
    /// Clear the failures that delay or hold sign-ins.
    Unlock,
    /// Send the first-login verification mail again.
    ResendVerification,
    /// End every flow of the member.
    SignOutEverywhere,
    /// Remove a lost authenticator app or passkey (the last one too).
    RemoveFactor,
    /// Change the address on file (a link goes to the new address).
    ChangeEmail,
    /// Issue a one-time enrolment pass to sign in with instead of the password.
    IssueEnrolmentPass,
}

impl StaffAction {
    /// Every action.
    pub const ALL: [StaffAction; 6] = [
        StaffAction::Unlock,
        StaffAction::ResendVerification,
        StaffAction::SignOutEverywhere,
        StaffAction::RemoveFactor,
        StaffAction::ChangeEmail,
        StaffAction::IssueEnrolmentPass,
    ];

    /// The stable name used in the API and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffAction::Unlock => "unlock",
            StaffAction::ResendVerification => "resend_verification",
            StaffAction::SignOutEverywhere => "sign_out_everywhere",
            StaffAction::RemoveFactor => "remove_factor",
            StaffAction::ChangeEmail => "change_email",
            StaffAction::IssueEnrolmentPass => "issue_enrolment_pass",
        }
    }

    /// The action with this stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether knowledge alone may unlock it: these give an impostor nothing (a delay lifted
    /// still needs the password; a verification mail goes only to the address on file).
    pub fn is_low_risk(self) -> bool {
        matches!(self, StaffAction::Unlock | StaffAction::ResendVerification)
    }
}

/// How long a caller's proof covers changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationPolicy {
    /// Seconds a proof stays valid for this member in this staff session.
    pub window_secs: i64,
}

impl Default for VerificationPolicy {
    fn default() -> Self {
        Self {
            window_secs: 15 * 60,
        }
    }
}

/// A caller proven in a staff session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerVerification {
    /// Its id, written into every audit entry it covers.
    pub id: i64,
    /// The member it proves.
    pub member_id: i64,
    /// How.
    pub proof: CallerProof,
    /// When (Unix seconds).
    pub at: i64,
}

/// Why an action is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ActionLocked {
    /// The caller has not been verified for this member in this session.
    #[error("verify the caller first")]
    NotVerified,
    /// The proof is older than the window.
    #[error("the caller's verification has expired; verify again")]
    Expired,
    /// Knowledge alone does not unlock this action.
    #[error("this action needs a stronger proof than date of birth and card number")]
    TooWeak,
}

impl VerificationPolicy {
    /// Whether `verification` lets staff do `action` to `member_id` at `now`: the proof must be
    /// for this member, within the window, and strong enough for the action. The newest proof
    /// for the member is the one to pass.
    pub fn may_act(
        &self,
        verification: Option<&CallerVerification>,
        member_id: i64,
        action: StaffAction,
        now: i64,
    ) -> Result<(), ActionLocked> {
        let v = verification
            .filter(|v| v.member_id == member_id)
            .ok_or(ActionLocked::NotVerified)?;
        if now < v.at || now - v.at >= self.window_secs {
            return Err(ActionLocked::Expired);
        }
        if !v.proof.is_possession() && !action.is_low_risk() {
            return Err(ActionLocked::TooWeak);
        }
        Ok(())
    }

    /// Seconds the proof still covers at `now` (0 when it no longer does).
    pub fn remaining(&self, v: &CallerVerification, now: i64) -> i64 {
        (v.at + self.window_secs - now).clamp(0, self.window_secs)
    }
}

/// What the mail queue says about the mails of one kind sent to a member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailTally {
    /// Handed to the mail server.
    pub delivered: u32,
    /// Still being tried.
    pub pending: u32,
    /// Given up on.
    pub failed: u32,
}

impl MailTally {
    /// All mails counted.
    pub fn total(&self) -> u32 {
        self.delivered + self.pending + self.failed
    }
}

/// Where a member's sign-ins stand, as the helpdesk reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lockout {
    /// Nothing in the way.
    Clear,
    /// Recent failures: sign-ins wait until `until` (Unix seconds).
    Delayed {
        /// Failures counted.
        failures: u32,
        /// When the next try is allowed.
        until: i64,
    },
    /// Held until the helpdesk lifts it.
    Held {
        /// Failures counted.
        failures: u32,
    },
}

/// A member's situation in one line's worth of facts (the console words it in ja/en).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Situation {
    /// Never signed in: the initial password has not been used yet.
    NotStarted,
    /// Sign-ins are held or delayed; this comes first, as it is why a caller is stuck.
    Locked(Lockout),
    /// The verification mail is out and its link has not been opened.
    AwaitingLink {
        /// Seconds since the member reached this step.
        for_secs: i64,
        /// The verification mails sent to the address.
        mails: MailTally,
    },
    /// Somewhere in the first login (【3】 to 【9】).
    InFirstLogin {
        /// The step.
        step: Step,
        /// Seconds there.
        for_secs: i64,
    },
    /// The first login is done and the method is still to be set up at the next sign-in.
    SettingUp {
        /// The chosen method, if any.
        method: Option<Method>,
        /// Seconds since.
        for_secs: i64,
    },
    /// Onboarding finished, with this many second factors.
    Done {
        /// Second factors registered.
        factors: usize,
    },
}

/// The facts [`situation`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SituationFacts {
    /// The member's step.
    pub step: Step,
    /// Whether the member has ever set a password of their own or signed in (the initial
    /// password used).
    pub started: bool,
    /// When the member reached the step (Unix seconds).
    pub step_since: i64,
    /// Sign-in lockout state.
    pub lockout: Lockout,
    /// The verification mails.
    pub verification_mails: MailTally,
    /// The chosen method.
    pub method: Option<Method>,
    /// Second factors registered.
    pub factors: usize,
}

/// How the helpdesk reads a member's situation at `now`.
pub fn situation(f: &SituationFacts, now: i64) -> Situation {
    if f.lockout != Lockout::Clear {
        return Situation::Locked(f.lockout);
    }
    let for_secs = (now - f.step_since).max(0);
    match f.step {
        // Imported members rest at the terms until their first sign-in gets them past them.
        Step::SignIn | Step::Terms if !f.started => Situation::NotStarted,
        Step::AwaitingVerification => Situation::AwaitingLink {
            for_secs,
            mails: f.verification_mails,
        },
        Step::Complete | Step::MethodSetup => Situation::SettingUp {
            method: f.method,
            for_secs,
        },
        Step::Home | Step::SecondFactor if f.factors > 0 => Situation::Done { factors: f.factors },
        Step::Home | Step::SecondFactor | Step::SignIn => Situation::SettingUp {
            method: f.method,
            for_secs,
        },
        step => Situation::InFirstLogin { step, for_secs },
    }
}

/// A duration as the console shows it: the largest whole unit (days, hours, minutes, seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elapsed {
    /// Under a minute.
    Seconds(i64),
    /// Under an hour.
    Minutes(i64),
    /// Under two days.
    Hours(i64),
    /// Two days or more.
    Days(i64),
}

/// `secs` in the largest whole unit a person would say.
pub fn elapsed(secs: i64) -> Elapsed {
    let s = secs.max(0);
    match s {
        0..60 => Elapsed::Seconds(s),
        60..3600 => Elapsed::Minutes(s / 60),
        3600..172_800 => Elapsed::Hours(s / 3600),
        _ => Elapsed::Days(s / 86_400),
    }
}

/// The version of what a staff member sees of a member: an action sent with an older version
/// is refused, so that nobody removes a device or changes an address on a view the caller
/// has moved on from. It folds in every field that changes what an action would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaseVersion(pub u64);

impl CaseVersion {
    /// The version of a view built from these facts (FNV-1a: stable across processes and
    /// builds, unlike `std`'s hasher, so two servers agree).
    pub fn of(parts: &[&[u8]]) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for b in part.iter().chain(&[0xff]) {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        Self(h)
    }

    /// Its text form for the API.
    pub fn to_text(self) -> String {
        format!("{:016x}", self.0)
    }

    /// Reads the text form.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 16)
            .then(|| u64::from_str_radix(s, 16).ok())
            .flatten()
            .map(Self)
    }
}

/// The one-time enrolment pass (like a temporary access pass): read out over the phone, so
/// it avoids letters and digits that sound or look alike.
pub mod enrolment_pass {
    /// The characters a pass is made of (no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V).
    pub const ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTWXY";
    /// Characters in a pass.
    pub const LEN: usize = 10;
    /// Default lifetime in seconds.
    pub const DEFAULT_TTL_SECS: i64 = 3600;

    /// A pass from random bytes (one byte per character; rejection sampling keeps every
    /// character equally likely). Returns `None` when the bytes ran out first.
    pub fn from_random(bytes: &[u8]) -> Option<String> {
        let n = ALPHABET.len();
        let limit = 256 - (256 % n);
        let pass: String = bytes
            .iter()
            .filter(|b| usize::from(**b) < limit)
            .take(LEN)
            .map(|b| char::from(ALPHABET[usize::from(*b) % n]))
            .collect();
        (pass.len() == LEN).then_some(pass)
    }

    /// A pass as typed: spaces and hyphens dropped, lower case raised, full-width folded.
    /// Returns `None` when a character cannot be in a pass (so a typo is answered at once,
    /// without spending an attempt).
    pub fn normalize(typed: &str) -> Option<String> {
        let s: String = crate::domain::width::fold(typed)
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{30FC}'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (s.len() == LEN && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
    }

    /// The pass in groups of five, for reading out.
    pub fn display(pass: &str) -> String {
        let (a, b) = pass.split_at(pass.len().min(5));
        if b.is_empty() {
            a.to_owned()
        } else {
            format!("{a}-{b}")
        }
    }
}

/// An address as the helpdesk sees it: the first character of the local part, three
/// asterisks whatever its length (the length would help a guesser), and the domain
/// (`t***@example.jp`). Masking a masked address gives the same mask.
pub fn mask_email(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// Where a member's sign-ins stand at `now`, from the records of the keys that guard the
/// account (its member id and its user ID as typed at sign-in, both under the account
/// `policy`): held when any key is held, delayed until the latest key's delay ends, with the
/// largest count after the window's decay (each key is delayed by its own count).
pub fn lockout_of(policy: &ThrottlePolicy, records: &[FailureRecord], now: i64) -> Lockout {
    let decayed: Vec<FailureRecord> = records.iter().map(|r| policy.decayed(*r, now)).collect();
    let failures = decayed.iter().map(|r| r.failures).max().unwrap_or(0);
    if decayed.iter().any(|r| policy.locks(*r)) {
        return Lockout::Held { failures };
    }
    let wait = decayed
        .iter()
        .filter_map(|r| match policy.verdict(*r, now) {
            Verdict::Delayed { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        })
        .max();
    match wait {
        Some(secs) => Lockout::Delayed {
            failures,
            until: now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)),
        },
        None => Lockout::Clear,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(proof: CallerProof, at: i64) -> CallerVerification {
        CallerVerification {
            id: 7,
            member_id: 1,
            proof,
            at,
        }
    }

    #[test]
    fn every_action_is_locked_until_the_caller_is_verified_for_this_member() {
        let p = VerificationPolicy::default();
        for a in StaffAction::ALL {
            assert_eq!(p.may_act(None, 1, a, 100), Err(ActionLocked::NotVerified));
            assert_eq!(
                p.may_act(Some(&v(CallerProof::AppCode, 100)), 2, a, 100),
                Err(ActionLocked::NotVerified),
                "a proof for another member unlocks nothing"
            );
        }
    }

    #[test]
    fn a_proof_lasts_fifteen_minutes() {
        let p = VerificationPolicy::default();
        let proof = v(CallerProof::MailedCode, 1_000);
        assert_eq!(
            p.may_act(Some(&proof), 1, StaffAction::ChangeEmail, 1_899),
            Ok(())
        );
        assert_eq!(
            p.may_act(Some(&proof), 1, StaffAction::ChangeEmail, 1_900),
            Err(ActionLocked::Expired)
        );
        assert_eq!(
            p.may_act(Some(&proof), 1, StaffAction::ChangeEmail, 999),
            Err(ActionLocked::Expired),
            "a proof from the future is not trusted"
        );
        assert_eq!(p.remaining(&proof, 1_300), 600);
        assert_eq!(p.remaining(&proof, 5_000), 0);
    }

    #[test]
    fn knowledge_alone_unlocks_only_the_low_risk_actions() {
        let p = VerificationPolicy::default();
        let k = v(CallerProof::Knowledge, 0);
        for a in StaffAction::ALL {
            let want = if a.is_low_risk() {
                Ok(())
            } else {
                Err(ActionLocked::TooWeak)
            };
            assert_eq!(p.may_act(Some(&k), 1, a, 10), want, "{a:?}");
        }
        for proof in [
            CallerProof::AppCode,
            CallerProof::MailedCode,
            CallerProof::MemberScreenCode,
        ] {
            for a in StaffAction::ALL {
                assert_eq!(
                    p.may_act(Some(&v(proof, 0)), 1, a, 10),
                    Ok(()),
                    "{proof:?} {a:?}"
                );
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for p in CallerProof::ALL {
            assert_eq!(CallerProof::parse(p.as_str()), Some(p));
        }
        for a in StaffAction::ALL {
            assert_eq!(StaffAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(StaffAction::parse("delete_member"), None);
    }

    fn facts(step: Step) -> SituationFacts {
        SituationFacts {
            step,
            started: true,
            step_since: 0,
            lockout: Lockout::Clear,
            verification_mails: MailTally::default(),
            method: None,
            factors: 0,
        }
    }

    #[test]
    fn the_situation_reads_as_the_helpdesk_needs_it() {
        let now = 2 * 86_400 + 5;
        let mails = MailTally {
            delivered: 3,
            pending: 0,
            failed: 0,
        };
        let mut f = facts(Step::AwaitingVerification);
        f.verification_mails = mails;
        assert_eq!(
            situation(&f, now),
            Situation::AwaitingLink {
                for_secs: now,
                mails
            }
        );
        assert_eq!(elapsed(now), Elapsed::Days(2));

        let mut locked = f;
        locked.lockout = Lockout::Held { failures: 10 };
        assert_eq!(
            situation(&locked, now),
            Situation::Locked(Lockout::Held { failures: 10 }),
            "a hold is why the caller is stuck, whatever the step"
        );

        let mut fresh = facts(Step::SignIn);
        fresh.started = false;
        assert_eq!(situation(&fresh, now), Situation::NotStarted);
        let mut imported = facts(Step::Terms);
        imported.started = false;
        assert_eq!(situation(&imported, now), Situation::NotStarted);

        let mut done = facts(Step::Home);
        done.factors = 2;
        assert_eq!(situation(&done, now), Situation::Done { factors: 2 });

        let mut lost = facts(Step::Home);
        lost.method = Some(Method::TotpApp);
        assert!(
            matches!(situation(&lost, now), Situation::SettingUp { .. }),
            "no factor left: the next sign-in sets one up"
        );
        assert_eq!(
            situation(&facts(Step::Terms), 30),
            Situation::InFirstLogin {
                step: Step::Terms,
                for_secs: 30
            }
        );
    }

    #[test]
    fn elapsed_uses_the_largest_whole_unit() {
        assert_eq!(elapsed(-5), Elapsed::Seconds(0));
        assert_eq!(elapsed(59), Elapsed::Seconds(59));
        assert_eq!(elapsed(60), Elapsed::Minutes(1));
        assert_eq!(elapsed(3_599), Elapsed::Minutes(59));
        assert_eq!(elapsed(7_200), Elapsed::Hours(2));
        assert_eq!(elapsed(172_799), Elapsed::Hours(47));
        assert_eq!(elapsed(172_800), Elapsed::Days(2));
    }

    #[test]
    fn a_view_version_changes_with_any_part_and_reads_back() {
        let a = CaseVersion::of(&[b"updated:10", b"factors:1,2"]);
        assert_eq!(a, CaseVersion::of(&[b"updated:10", b"factors:1,2"]));
        assert_ne!(a, CaseVersion::of(&[b"updated:11", b"factors:1,2"]));
        assert_ne!(a, CaseVersion::of(&[b"updated:10", b"factors:1"]));
        assert_ne!(
            CaseVersion::of(&[b"ab", b"c"]),
            CaseVersion::of(&[b"a", b"bc"]),
            "parts are separated"
        );
        assert_eq!(CaseVersion::parse(&a.to_text()), Some(a));
        assert_eq!(CaseVersion::parse("xyz"), None);
    }

    #[test]
    fn an_enrolment_pass_is_readable_over_the_phone_and_typed_loosely() {
        use enrolment_pass::*;
        let bytes: Vec<u8> = (0..=255).collect();
        let pass = from_random(&bytes).unwrap();
        assert_eq!(pass.len(), LEN);
        assert!(pass.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(from_random(&[1, 2, 3]), None, "too few bytes");
        assert_eq!(
            from_random(&[255; 40]),
            None,
            "bytes above the limit are skipped"
        );
        let shown = display(&pass);
        assert_eq!(shown.len(), LEN + 1);
        assert_eq!(normalize(&shown.to_lowercase()), Some(pass.clone()));
        assert_eq!(
            normalize(&format!(" {} ", shown.replace('-', " "))),
            Some(pass)
        );
        assert_eq!(normalize("３４６７９ＡＣＤＥＦ"), Some("34679ACDEF".into()));
        assert_eq!(normalize("0000000000"), None, "0 is never in a pass");
        assert_eq!(normalize("34679"), None);
    }

    #[test]
    fn helpdesk_masks_hide_the_local_part_and_its_length() {
        assert_eq!(mask_email("taro.yamada@example.jp"), "t***@example.jp");
        assert_eq!(mask_email("t@example.jp"), "t***@example.jp");
        assert_eq!(
            mask_email(&mask_email("taro@example.jp")),
            "t***@example.jp"
        );
        assert_eq!(mask_email("nonsense"), "***");
    }

    #[test]
    fn lockout_reads_the_worst_key() {
        let p = ThrottlePolicy {
            free_failures: 3,
            base_delay_secs: 10,
            max_delay_secs: 60,
            lock_after: 5,
            decay_secs: 0,
            cap: 0,
        };
        let r = |failures, last_failure_at| FailureRecord {
            failures,
            last_failure_at,
        };
        assert_eq!(lockout_of(&p, &[], 1000), Lockout::Clear);
        assert_eq!(lockout_of(&p, &[r(2, 990)], 1000), Lockout::Clear);
        assert_eq!(
            lockout_of(&p, &[r(1, 999), r(3, 995)], 1000),
            Lockout::Delayed {
                failures: 3,
                until: 1005
            }
        );
        assert_eq!(lockout_of(&p, &[r(3, 900)], 1000), Lockout::Clear);
        assert_eq!(
            lockout_of(&p, &[r(5, 1), r(0, 0)], 1000),
            Lockout::Held { failures: 5 }
        );
    }
}
