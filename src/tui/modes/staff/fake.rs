//! A fake helpdesk server in memory, as an [`Executor`] of the runtime: the headless driver
//! runs the staff console against it exactly as against the real client (no HTTP). The state
//! is shared, so a test can change a member while the console watches (the live watch waits
//! for the change like the real event stream does).
//!
//! Used by `tests/staff_tui_*.rs`.

use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use url::Url;
use zeroize::Zeroizing;

use super::{App, Reply, Staff, StaffCall};
use crate::api::helpdesk::{
    AuditPage, AuditRow, CallerProof, CallerVerificationView, CaseFactor, CaseLockout, CaseMail,
    CaseSituation, MemberCase, MemberHit, MemberSearchPage, StaffActionDone, StaffChange,
    VerifyCallerAnswer, VerifyCallerRequest,
};
use crate::api::staff::{StaffMe, StaffSessionView};
use crate::api::{ApiError, ErrorCode, Method, Step, TotpAlgorithm, TotpEnrollment};
use crate::client::staff::AuditFilter;
use crate::client::staff_keyring::KeptSession;
use crate::client::{ClientError, StaffToken};
use crate::domain::StaffRole;
use crate::tui::shell::headless::Headless;
use crate::tui::shell::runtime::{Executor, PasskeyRunner, Runtime};

/// The code the staff member's (fake) authenticator app shows.
pub const STAFF_CODE: &str = "123456";
/// The code the member's (fake) authenticator app shows.
pub const MEMBER_APP_CODE: &str = "654321";
/// The code the fake mails to the member.
pub const MAILED_CODE: &str = "111222";
/// The code the member's own screen shows.
pub const SCREEN_CODE: &str = "333444";
/// The fake's enrolment code for staff.
pub const ENROL_CODE: &str = "ABCD-EFGH-JKMN";
/// The enrolment pass the fake issues.
pub const PASS: &str = "ACDEF34679";
/// The fake's clock (2026-12-06 10:00 UTC).
pub const NOW: i64 = 1_796_551_200;
/// Members per search page.
pub const PAGE: usize = 5;
/// Audit entries per page.
pub const AUDIT_PAGE: usize = 8;

/// A staff account of the fake.
#[derive(Debug, Clone)]
pub struct FakeStaff {
    /// The login.
    pub login: String,
    /// The name shown.
    pub display_name: String,
    /// The role.
    pub role: StaffRole,
    /// The password (None until enrolled).
    pub password: Option<String>,
}

/// What the fake holds.
#[derive(Debug)]
pub struct FakeState {
    /// The staff accounts.
    pub staff: Vec<FakeStaff>,
    /// Live tokens: (token, login, signed in fully).
    pub sessions: Vec<(String, String, bool)>,
    /// The members.
    pub members: Vec<MemberCase>,
    /// The member's date of birth and card number (knowledge), by user ID.
    pub knowledge: Vec<(String, String, String)>,
    /// Every call received, in order (debug form, no secrets).
    pub log: Vec<String>,
    /// The next call fails with this error instead (once).
    pub fail_next: Option<ErrorCode>,
    /// Version counter.
    pub versions: u64,
    /// Tokens issued.
    pub issued: u32,
    /// The second factors a sign-in answers with.
    pub second_factors: Vec<crate::api::staff::StaffFactorKind>,
}

/// The fake server.
#[derive(Debug, Clone)]
pub struct FakeHelpdesk {
    state: Arc<Mutex<FakeState>>,
    changes: Arc<tokio::sync::watch::Sender<u64>>,
}

fn api(code: ErrorCode) -> ClientError {
    ClientError::Api(ApiError::new(code, "fake"))
}

fn me(s: &FakeStaff) -> StaffMe {
    StaffMe {
        login: s.login.clone(),
        display_name: s.display_name.clone(),
        role: s.role,
        session: StaffSessionView {
            created_at: NOW,
            expires_at: NOW + 1800,
            absolute_expires_at: NOW + 8 * 3600,
            idle_timeout_secs: 1800,
        },
    }
}

/// A member stuck waiting for the verification link for two days.
pub fn waiting_member() -> MemberCase {
    MemberCase {
        version: String::new(),
        user_id: "yamada01".into(),
        name: "山田 太郎".into(),
        card: "12-3456789".into(),
        masked_email: "t***@example.jp".into(),
        email_verified: false,
        pending_email: None,
        step: Step::AwaitingVerification,
        step_since: NOW - 2 * 86_400 - 600,
        method: None,
        situation: CaseSituation::AwaitingLink {
            for_secs: 2 * 86_400 + 600,
            delivered: 3,
            pending: 0,
            failed: 0,
        },
        lockout: CaseLockout {
            failures: 3,
            delayed_until: Some(NOW + 240),
            held: false,
            last_failure_at: Some(NOW - 60),
            last_failure_from: Some("192.0.2.10".into()),
        },
        factors: vec![CaseFactor {
            method: Method::TotpApp,
            id: 7,
            name: "iPhone".into(),
            created_at: NOW - 30 * 86_400,
            last_used_at: Some(NOW - 3 * 86_400),
        }],
        mail: (0..3)
            .map(|i| CaseMail {
                kind: "verification".into(),
                to: "t***@example.jp".into(),
                status: "sent".into(),
                attempts: 1,
                created_at: NOW - 2 * 86_400 + i * 3600,
                sent_at: Some(NOW - 2 * 86_400 + i * 3600 + 5),
            })
            .collect(),
        audit: vec![AuditRow {
            at: NOW - 60,
            actor: "member:yamada01".into(),
            action: "sign_in_failed".into(),
            user_id: Some("yamada01".into()),
            detail: "192.0.2.10".into(),
        }],
        verification: None,
        now: NOW,
    }
}

impl Default for FakeHelpdesk {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeHelpdesk {
    /// A fake with one enrolled helpdesk (`sato` / `correct horse`), one admin still to enrol
    /// (`suzuki`, [`ENROL_CODE`]), the stuck member `yamada01` and a dozen others named 田中.
    pub fn new() -> Self {
        let mut members = vec![waiting_member()];
        for i in 0..12 {
            let mut m = waiting_member();
            m.user_id = format!("tanaka{i:02}");
            m.name = format!("田中 花子{i}");
            m.card = format!("34-{:07}", 1000 + i);
            m.lockout = CaseLockout {
                failures: 0,
                delayed_until: None,
                held: false,
                last_failure_at: None,
                last_failure_from: None,
            };
            m.situation = CaseSituation::Done { factors: 1 };
            m.step = Step::Home;
            m.audit = vec![AuditRow {
                at: NOW - 3600 * (i + 1),
                actor: format!("member:{}", m.user_id),
                action: "sign_in".into(),
                user_id: Some(m.user_id.clone()),
                detail: "from 192.0.2.20".into(),
            }];
            members.push(m);
        }
        let state = FakeState {
            staff: vec![
                FakeStaff {
                    login: "sato".into(),
                    display_name: "佐藤 一郎".into(),
                    role: StaffRole::Helpdesk,
                    password: Some("correct horse".into()),
                },
                FakeStaff {
                    login: "suzuki".into(),
                    display_name: "Suzuki Admin".into(),
                    role: StaffRole::Admin,
                    password: None,
                },
            ],
            sessions: Vec::new(),
            members,
            knowledge: vec![("yamada01".into(), "1980-12-01".into(), "3456789".into())],
            log: Vec::new(),
            fail_next: None,
            versions: 0,
            issued: 0,
            second_factors: vec![crate::api::staff::StaffFactorKind::AuthenticatorApp],
        };
        let (tx, _) = tokio::sync::watch::channel(0);
        let fake = Self {
            state: Arc::new(Mutex::new(state)),
            changes: Arc::new(tx),
        };
        {
            let mut s = fake.state();
            let ids: Vec<String> = s.members.iter().map(|m| m.user_id.clone()).collect();
            for id in ids {
                bump(&mut s, &id);
            }
        }
        fake
    }

    /// The state, to read or change (changes to a member should go through [`Self::update`]).
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes a member as the member's own actions would, with a new version, and wakes the
    /// watches.
    pub fn update(&self, user_id: &str, f: impl FnOnce(&mut MemberCase)) {
        {
            let mut s = self.state();
            if let Some(m) = s.members.iter_mut().find(|m| m.user_id == user_id) {
                f(m);
            }
            bump(&mut s, user_id);
        }
        self.changes.send_modify(|n| *n += 1);
    }

    /// A case as the server has it now.
    pub fn case(&self, user_id: &str) -> Option<MemberCase> {
        self.state()
            .members
            .iter()
            .find(|m| m.user_id == user_id)
            .cloned()
    }

    /// Ends every staff session (as the server does when a shift ends).
    pub fn end_sessions(&self) {
        self.state().sessions.clear();
    }

    /// Every call received.
    pub fn log(&self) -> Vec<String> {
        self.state().log.clone()
    }

    fn staff_of(s: &FakeState, token: &StaffToken, full: bool) -> Result<FakeStaff, ClientError> {
        let login = s
            .sessions
            .iter()
            .find(|(t, _, f)| t == token.secret() && (*f || !full))
            .map(|(_, l, _)| l.clone())
            .ok_or_else(|| api(ErrorCode::StaffSessionExpired))?;
        s.staff
            .iter()
            .find(|st| st.login == login)
            .cloned()
            .ok_or_else(|| api(ErrorCode::StaffSessionExpired))
    }

    fn issue(s: &mut FakeState, login: &str, full: bool) -> StaffToken {
        s.issued += 1;
        let token = format!("tbs_fake{}", s.issued);
        s.sessions.push((token.clone(), login.to_owned(), full));
        StaffToken::new(token)
    }

    /// Answers every call but the watch at once.
    fn handle(&self, call: &StaffCall) -> Result<Reply, ClientError> {
        let mut s = self.state();
        s.log.push(format!("{call:?}"));
        if let Some(code) = s.fail_next.take() {
            return Err(api(code));
        }
        match call {
            StaffCall::Resume(keyring, now) => {
                let kept = keyring
                    .load(*now)
                    .map_err(|e| ClientError::Transport(e.to_string()))?;
                let Some(kept) = kept else {
                    return Ok(Reply::Resumed {
                        session: None,
                        refused: false,
                        unreadable: None,
                    });
                };
                let token = StaffToken::new(kept.token.as_str());
                match Self::staff_of(&s, &token, true) {
                    Ok(st) => Ok(Reply::Resumed {
                        session: Some((token, me(&st))),
                        refused: false,
                        unreadable: None,
                    }),
                    Err(_) => {
                        let _ = keyring.forget();
                        Ok(Reply::Resumed {
                            session: None,
                            refused: true,
                            unreadable: None,
                        })
                    }
                }
            }
            StaffCall::SignIn { login, password } => {
                let ok = s
                    .staff
                    .iter()
                    .any(|st| &st.login == login && st.password.as_ref() == Some(password));
                if !ok {
                    return Err(api(ErrorCode::InvalidCredentials));
                }
                let factors = s.second_factors.clone();
                Ok(Reply::PasswordAccepted(
                    Self::issue(&mut s, login, false),
                    factors,
                ))
            }
            StaffCall::VerifyCode(token, code) => {
                let st = Self::staff_of(&s, token, false)?;
                if code != STAFF_CODE {
                    return Err(api(ErrorCode::WrongCode));
                }
                for sess in s.sessions.iter_mut().filter(|x| x.0 == token.secret()) {
                    sess.2 = true;
                }
                Ok(Reply::SignedIn(me(&st)))
            }
            StaffCall::EnrolStart { login, code } => {
                let ok = s
                    .staff
                    .iter()
                    .any(|st| &st.login == login && st.password.is_none())
                    && code.replace('-', "") == ENROL_CODE.replace('-', "");
                if !ok {
                    return Err(api(ErrorCode::InvalidEnrolmentCode));
                }
                let token = Self::issue(&mut s, login, false);
                let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".to_owned();
                Ok(Reply::EnrolStarted(
                    token,
                    Box::new(TotpEnrollment {
                        otpauth_uri: format!(
                            "otpauth://totp/tobira%20staff:{login}?secret={secret}&issuer=tobira%20staff"
                        ),
                        secret,
                        issuer: "tobira staff".into(),
                        account: login.clone(),
                        algorithm: TotpAlgorithm::Sha1,
                        digits: 6,
                        period_secs: 30,
                    }),
                ))
            }
            StaffCall::EnrolFinish {
                token,
                password,
                code,
            } => {
                let st = Self::staff_of(&s, token, false)?;
                if password.chars().count() < 8 {
                    let mut e = ApiError::new(ErrorCode::WeakPassword, "fake");
                    e.rule = Some("length".into());
                    return Err(ClientError::Api(e));
                }
                if code != STAFF_CODE {
                    return Err(api(ErrorCode::WrongCode));
                }
                for x in s.staff.iter_mut().filter(|x| x.login == st.login) {
                    x.password = Some(password.clone());
                }
                for sess in s.sessions.iter_mut().filter(|x| x.0 == token.secret()) {
                    sess.2 = true;
                }
                Ok(Reply::SignedIn(me(&st)))
            }
            // The fake has no relying party: passkeys are tested against the real server.
            StaffCall::PasskeyStart(..)
            | StaffCall::EnrolPasskeyFinish { .. }
            | StaffCall::PasskeyFinish(..) => Err(api(ErrorCode::PasskeyUnavailable)),
            StaffCall::Keep(keyring, session) => {
                let session: &KeptSession = session;
                Ok(Reply::Kept(
                    keyring.save(session).map_err(|e| e.to_string()),
                ))
            }
            StaffCall::Forget(keyring) => {
                let _ = keyring.forget();
                Ok(Reply::Forgotten)
            }
            StaffCall::SignOut(token, keyring) => {
                s.sessions.retain(|x| x.0 != token.secret());
                let _ = keyring.forget();
                Ok(Reply::SignedOut)
            }
            StaffCall::Search { token, query, page } => {
                Self::staff_of(&s, token, true)?;
                let q = query.to_lowercase();
                let all: Vec<MemberHit> = s
                    .members
                    .iter()
                    .filter(|m| {
                        m.user_id.starts_with(&q)
                            || m.name.contains(query.as_str())
                            || m.card.contains(query.as_str())
                    })
                    .map(|m| MemberHit {
                        user_id: m.user_id.clone(),
                        name: m.name.clone(),
                        card: m.card.clone(),
                        masked_email: m.masked_email.clone(),
                        step: m.step,
                        started: m.situation != CaseSituation::NotStarted,
                    })
                    .collect();
                let start = *page as usize * PAGE;
                let hits: Vec<MemberHit> = all.iter().skip(start).take(PAGE).cloned().collect();
                let read_as = if q.chars().all(|c| c.is_ascii_alphanumeric()) {
                    "user_id"
                } else {
                    "name"
                };
                Ok(Reply::Found {
                    query: query.clone(),
                    page: MemberSearchPage {
                        read_as: read_as.into(),
                        hits,
                        page: *page,
                        more: all.len() > start + PAGE,
                    },
                })
            }
            StaffCall::Case(token, user_id) => {
                Self::staff_of(&s, token, true)?;
                let case = s
                    .members
                    .iter()
                    .find(|m| &m.user_id == user_id)
                    .cloned()
                    .ok_or_else(|| api(ErrorCode::NotFound))?;
                Ok(Reply::Case(Box::new(case)))
            }
            StaffCall::Watch(..) => {
                Err(ClientError::Transport("the watch is answered apart".into()))
            }
            StaffCall::Verify(token, user_id, request) => {
                Self::staff_of(&s, token, true)?;
                let (proof, ok) = match request {
                    VerifyCallerRequest::SendMailedCode => {
                        return Ok(Reply::Verified(VerifyCallerAnswer::CodeSent {
                            to: "t***@example.jp".into(),
                            expires_in_secs: 600,
                        }));
                    }
                    VerifyCallerRequest::AppCode { code } => {
                        (CallerProof::AppCode, code == MEMBER_APP_CODE)
                    }
                    VerifyCallerRequest::MailedCode { code } => {
                        (CallerProof::MailedCode, code == MAILED_CODE)
                    }
                    VerifyCallerRequest::MemberScreenCode { code } => {
                        (CallerProof::MemberScreenCode, code == SCREEN_CODE)
                    }
                    VerifyCallerRequest::Knowledge {
                        birth_date,
                        card_number,
                    } => (
                        CallerProof::Knowledge,
                        s.knowledge
                            .iter()
                            .any(|(u, b, c)| u == user_id && b == birth_date && c == card_number),
                    ),
                };
                if !ok {
                    return Err(api(if proof == CallerProof::Knowledge {
                        ErrorCode::WrongBirthDate
                    } else {
                        ErrorCode::WrongCode
                    }));
                }
                let view = CallerVerificationView {
                    id: 1,
                    proof,
                    at: NOW,
                    remaining_secs: 15 * 60,
                    low_risk_only: !proof.is_possession(),
                };
                if let Some(m) = s.members.iter_mut().find(|m| &m.user_id == user_id) {
                    m.verification = Some(view.clone());
                }
                // As on the server, the proof is a change of the case (its audit entry).
                let id = user_id.clone();
                bump(&mut s, &id);
                Ok(Reply::Verified(VerifyCallerAnswer::Verified {
                    verification: view,
                }))
            }
            StaffCall::Act(token, user_id, request) => {
                let st = Self::staff_of(&s, token, true)?;
                let m = s
                    .members
                    .iter_mut()
                    .find(|m| &m.user_id == user_id)
                    .ok_or_else(|| api(ErrorCode::NotFound))?;
                if m.version != request.version {
                    return Err(api(ErrorCode::StaleView));
                }
                let action = request.change.action();
                let allowed = m
                    .verification
                    .as_ref()
                    .is_some_and(|v| v.proof.is_possession() || action.is_low_risk());
                if !allowed {
                    return Err(api(ErrorCode::CallerNotVerified));
                }
                let mut pass = None;
                match &request.change {
                    StaffChange::Unlock => {
                        m.lockout.failures = 0;
                        m.lockout.delayed_until = None;
                        m.lockout.held = false;
                    }
                    StaffChange::ResendVerification => m.mail.insert(
                        0,
                        CaseMail {
                            kind: "verification".into(),
                            to: m.masked_email.clone(),
                            status: "pending".into(),
                            attempts: 0,
                            created_at: NOW,
                            sent_at: None,
                        },
                    ),
                    StaffChange::SignOutEverywhere => {}
                    StaffChange::RemoveFactor { id, .. } => m.factors.retain(|f| f.id != *id),
                    StaffChange::ChangeEmail { email } => {
                        if !email.contains('@') {
                            return Err(api(ErrorCode::InvalidEmail));
                        }
                        m.pending_email = Some("n***@example.jp".into());
                    }
                    StaffChange::IssueEnrolmentPass => pass = Some(PASS.to_owned()),
                }
                m.audit.insert(
                    0,
                    AuditRow {
                        at: NOW,
                        actor: format!("staff:{}", st.login),
                        action: crate::domain::AuditAction::of_staff_action(action)
                            .as_str()
                            .into(),
                        user_id: Some(user_id.clone()),
                        detail: request.reason.clone(),
                    },
                );
                let id = user_id.clone();
                bump(&mut s, &id);
                let case = s
                    .members
                    .iter()
                    .find(|m| &m.user_id == user_id)
                    .cloned()
                    .ok_or_else(|| api(ErrorCode::NotFound))?;
                let ttl = pass.as_ref().map(|_| 3600);
                Ok(Reply::Done(Box::new(StaffActionDone {
                    case,
                    enrolment_pass: pass,
                    pass_expires_in_secs: ttl,
                })))
            }
            StaffCall::Audit(token, filter) => {
                Self::staff_of(&s, token, true)?;
                Self::audit(&s, filter)
            }
        }
    }

    /// The log of every member, newest first, filtered and paged like the server's.
    fn audit(s: &FakeState, filter: &AuditFilter) -> Result<Reply, ClientError> {
        if let Some(u) = &filter.member
            && !s.members.iter().any(|m| &m.user_id == u)
        {
            return Err(api(ErrorCode::NotFound));
        }
        if let Some(login) = &filter.staff
            && !s.staff.iter().any(|st| &st.login == login)
        {
            return Err(api(ErrorCode::NotFound));
        }
        let secs = |v: &Option<String>| v.as_deref().and_then(|x| x.parse::<i64>().ok());
        let (since, until) = (secs(&filter.since), secs(&filter.until));
        let mut rows: Vec<AuditRow> = s
            .members
            .iter()
            .filter(|m| filter.member.as_ref().is_none_or(|u| &m.user_id == u))
            .flat_map(|m| m.audit.iter().cloned())
            .filter(|r| {
                filter
                    .staff
                    .as_ref()
                    .is_none_or(|l| r.actor == format!("staff:{l}"))
                    && filter.action.as_ref().is_none_or(|a| &r.action == a)
                    && since.is_none_or(|t| r.at >= t)
                    && until.is_none_or(|t| r.at < t)
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.at));
        let start = filter.page as usize * AUDIT_PAGE;
        let more = rows.len() > start + AUDIT_PAGE;
        let rows = rows.into_iter().skip(start).take(AUDIT_PAGE).collect();
        Ok(Reply::Audit(
            filter.clone(),
            AuditPage {
                rows,
                page: filter.page,
                more,
            },
        ))
    }

    /// Waits until the member's version differs from `known` (the event stream's behaviour).
    async fn watch(
        self,
        token: StaffToken,
        user_id: String,
        known: String,
    ) -> Result<Reply, ClientError> {
        let mut rx = self.changes.subscribe();
        loop {
            {
                let s = self.state();
                Self::staff_of(&s, &token, true)?;
                let now = s
                    .members
                    .iter()
                    .find(|m| m.user_id == user_id)
                    .map(|m| m.version.clone());
                if now.as_deref() != Some(known.as_str()) {
                    return Ok(Reply::Changed {
                        user_id,
                        version: now,
                    });
                }
            }
            if rx.changed().await.is_err() {
                return Ok(Reply::Changed {
                    user_id,
                    version: None,
                });
            }
        }
    }
}

/// A new version for one member.
fn bump(s: &mut FakeState, user_id: &str) {
    s.versions += 1;
    let v = format!("{:016x}", s.versions);
    if let Some(m) = s.members.iter_mut().find(|m| m.user_id == user_id) {
        m.version = v;
    }
}

impl Executor<StaffCall> for FakeHelpdesk {
    fn execute(&mut self, call: StaffCall) -> BoxFuture<'static, Result<Reply, ClientError>> {
        if let StaffCall::Watch(token, user_id, known) = call {
            self.state().log.push(format!("Watch({user_id})"));
            return Box::pin(self.clone().watch(token, user_id, known));
        }
        let answer = self.handle(&call);
        // The server's watch sees the console's own verifications and actions too.
        if matches!(
            answer,
            Ok(Reply::Verified(VerifyCallerAnswer::Verified { .. }) | Reply::Done(_))
        ) {
            self.changes.send_modify(|n| *n += 1);
        }
        Box::pin(std::future::ready(answer))
    }

    fn origin(&self) -> Url {
        Url::parse("http://localhost/").expect("a valid URL")
    }
}

/// The staff console on the headless runtime, answered by `server`; the first commands (the
/// kept session's check) are carried out. Needs a tokio runtime.
pub async fn headless(
    app: App,
    first: Vec<super::Command>,
    server: FakeHelpdesk,
) -> Headless<Staff, FakeHelpdesk> {
    let passkeys = PasskeyRunner::new(None, crate::passkey::Limits::default());
    let mut h = Headless::new(app, Runtime::new(server, None, passkeys));
    h.run(first).await;
    h
}

impl Headless<Staff, FakeHelpdesk> {
    /// The fake server answering the console.
    pub fn helpdesk(&self) -> &FakeHelpdesk {
        self.runtime.executor()
    }
}

/// A kept session for `login` with the fake's token `token`.
pub fn kept(login: &str, token: &str) -> KeptSession {
    KeptSession {
        login: login.into(),
        token: Zeroizing::new(token.into()),
        expires_at: NOW + 8 * 3600,
    }
}
