//! One member's case: who they are, where they are stuck and for how long, the lockout, the
//! factors, recent mail and audit; the caller's verification and the actions it unlocks. The
//! case follows the member live (the console's watch reloads it when its version changes).

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Col, Ctx, Cx, Env, Form, InputId, Intent, Item, Page, Screen, Target};
use crate::api::Lang;
use crate::api::helpdesk::{MemberCase, StaffAction};
use crate::tui::i18n::{Tr, t, tf};
use crate::tui::modes::staff::UPDATED_SECS;
use crate::tui::modes::staff::api::{Reply, StaffCall};
use crate::tui::modes::staff::words::{
    action_key, elapsed_text, mail_status_key, method_key, situation_text, when,
};
use crate::tui::shell::form::Hit;
use crate::tui::widgets::Button;

/// The buttons of the case, in Tab order.
pub const BUTTONS: [Intent; 10] = [
    Intent::Verify,
    Intent::Act(StaffAction::Unlock),
    Intent::Act(StaffAction::ResendVerification),
    Intent::Act(StaffAction::SignOutEverywhere),
    Intent::Act(StaffAction::RemoveFactor),
    Intent::Act(StaffAction::ChangeEmail),
    Intent::Act(StaffAction::IssueEnrolmentPass),
    Intent::Audit,
    Intent::Reload,
    Intent::NewSearch,
];

/// The case screen.
#[derive(Debug, Clone)]
pub struct CaseState {
    /// The member as last loaded.
    pub case: MemberCase,
    /// The tick it was loaded at (the proof's minutes count down from there).
    pub loaded_at: u64,
    /// The selected factor.
    pub factor: usize,
    /// A live change asks for a reload.
    pub reload_wanted: bool,
    /// The reload in flight came from a live change.
    pub live_reload: bool,
    /// "Updated" shows until this tick.
    pub updated_until: Option<u64>,
    /// What changed in the last reload after a refused action (i18n keys).
    pub changes: Vec<&'static str>,
    /// Focused item.
    pub focus: usize,
}

impl CaseState {
    /// The case just loaded (at tick `ticks`).
    pub fn new(case: MemberCase, ticks: u64) -> Self {
        Self {
            case,
            loaded_at: ticks,
            factor: 0,
            reload_wanted: false,
            live_reload: false,
            updated_until: None,
            changes: Vec::new(),
            focus: 0,
        }
    }

    /// Seconds the caller's proof still covers at `ticks`.
    pub fn proof_remaining(&self, ticks: u64) -> i64 {
        let passed = i64::try_from(ticks.saturating_sub(self.loaded_at)).unwrap_or(i64::MAX);
        self.case
            .verification
            .as_ref()
            .map_or(0, |v| (v.remaining_secs - passed).max(0))
    }

    /// Why `action` is locked now (an i18n key), if it is.
    pub fn locked(&self, action: StaffAction, ticks: u64) -> Option<&'static str> {
        let Some(v) = &self.case.verification else {
            return Some("staff.locked.not_verified");
        };
        if self.proof_remaining(ticks) <= 0 {
            return Some("staff.locked.expired");
        }
        if v.low_risk_only && !action.is_low_risk() {
            return Some("staff.locked.too_weak");
        }
        if action == StaffAction::RemoveFactor && self.case.factors.is_empty() {
            return Some("staff.locked.no_factor");
        }
        None
    }

    /// Takes a reloaded case, noting what changed.
    pub fn replace(&mut self, new: MemberCase, ticks: u64, show_changes: bool) {
        let old = std::mem::replace(&mut self.case, new);
        self.loaded_at = ticks;
        self.factor = self.factor.min(self.case.factors.len().saturating_sub(1));
        if show_changes {
            self.changes = changes(&old, &self.case);
        }
        if self.live_reload {
            self.live_reload = false;
            // A reload that finds what is already on screen changed nothing to point at.
            if old.version != self.case.version {
                self.updated_until = Some(ticks + UPDATED_SECS);
            }
        }
    }
}

/// Which parts of a case differ (i18n keys).
pub fn changes(old: &MemberCase, new: &MemberCase) -> Vec<&'static str> {
    let mut out = Vec::new();
    if old.step != new.step || old.situation != new.situation {
        out.push("staff.changed.step");
    }
    if old.masked_email != new.masked_email
        || old.email_verified != new.email_verified
        || old.pending_email != new.pending_email
    {
        out.push("staff.changed.email");
    }
    if old.lockout != new.lockout {
        out.push("staff.changed.lockout");
    }
    if old.factors != new.factors {
        out.push("staff.changed.factors");
    }
    if old.mail != new.mail {
        out.push("staff.changed.mail");
    }
    if out.is_empty() && old.version != new.version {
        out.push("staff.changed.other");
    }
    out
}

impl Form for CaseState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        BUTTONS.iter().map(|b| Item::Button(*b)).collect()
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
}

impl Page for CaseState {
    fn title(&self) -> &'static str {
        "staff.title.case"
    }

    fn on_key(&mut self, key: KeyEvent, _cx: &mut Cx) -> bool {
        match key.code {
            KeyCode::Down if self.factor + 1 < self.case.factors.len() => self.factor += 1,
            KeyCode::Up => self.factor = self.factor.saturating_sub(1),
            KeyCode::Right => self.focus = (self.focus + 1) % BUTTONS.len(),
            KeyCode::Left => self.focus = (self.focus + BUTTONS.len() - 1) % BUTTONS.len(),
            _ => return false,
        }
        true
    }

    fn on_row(&mut self, row: usize, _cx: &mut Cx) {
        if row < self.case.factors.len() {
            self.factor = row;
        }
    }

    fn esc(&self) -> Option<&'static str> {
        Some("footer.esc_back")
    }

    fn on_back(&mut self, cx: &mut Cx) {
        self.on_intent(Intent::NewSearch, cx);
    }

    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::Verify => {
                cx.clear_messages();
                let v = super::verify::VerifyState::new(self.clone());
                cx.go(Screen::Verify(Box::new(v)));
            }
            Intent::Act(action) => {
                if let Some(why) = self.locked(action, cx.shell.ticks) {
                    cx.set_error(super::Field::Form, Tr::new(why));
                    return;
                }
                cx.clear_messages();
                let mut case = self.clone();
                case.changes.clear();
                let a = super::action::ActionState::new(case, action);
                cx.go(Screen::Action(Box::new(a)));
            }
            Intent::Audit => {
                cx.clear_messages();
                let mut audit = super::audit::AuditState::of_member(self.clone());
                audit.show(cx);
                cx.go(Screen::Audit(Box::new(audit)));
            }
            Intent::Reload => {
                if let Some(token) = cx.session.token.clone() {
                    cx.call(StaffCall::Case(token, self.case.user_id.clone()));
                }
            }
            Intent::NewSearch => {
                cx.clear_messages();
                let back = cx.session.last_search.take().unwrap_or_default();
                cx.go(Screen::Search(back));
            }
            _ => {}
        }
    }

    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        if let Reply::Case(case) = reply
            && case.user_id == self.case.user_id
        {
            self.replace(*case, cx.shell.ticks, false);
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env) {
        let mut col = Col::new(area);
        draw_summary(frame, &mut col, ctx, self, env);
        // The actions, greyed with the reason while locked.
        let lang = ctx.lang;
        let labels: Vec<(String, bool, bool)> = BUTTONS
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let label = match b {
                    Intent::Verify => t(lang, "staff.case.verify").to_owned(),
                    Intent::Act(a) => t(lang, action_key(*a)).to_owned(),
                    Intent::Reload => t(lang, "staff.case.reload").to_owned(),
                    Intent::Audit => t(lang, "staff.case.audit_log").to_owned(),
                    _ => t(lang, "staff.case.new_search").to_owned(),
                };
                let locked = matches!(b, Intent::Act(a) if self.locked(*a, env.ticks).is_some());
                (label, self.focus == i, locked)
            })
            .collect();
        draw_buttons(frame, &mut col, ctx, &labels);
        let any_locked = BUTTONS
            .iter()
            .filter_map(|b| match b {
                Intent::Act(a) => self.locked(*a, env.ticks),
                _ => None,
            })
            .next();
        if let Some(why) = any_locked {
            col.text(
                frame,
                &tf(lang, "staff.case.locked", &[("why", t(lang, why))]),
                ctx.theme.dim(),
            );
        }
        if !self.changes.is_empty() {
            let what: Vec<&str> = self.changes.iter().map(|k| t(lang, k)).collect();
            col.text(
                frame,
                &tf(
                    lang,
                    "staff.case.what_changed",
                    &[("what", &what.join(", "))],
                ),
                ctx.theme.error(),
            );
        }
        draw_lists(frame, &mut col, ctx, self, env);
    }
}

/// Buttons with a greyed (locked) state; records their clicks.
fn draw_buttons(frame: &mut Frame, col: &mut Col, ctx: &mut Ctx, labels: &[(String, bool, bool)]) {
    let mut x = col.area.x;
    let mut y = col.y;
    for (i, (label, focused, locked)) in labels.iter().enumerate() {
        let text = Button::new(label.clone(), *focused).text();
        let w = u16::try_from(crate::tui::widgets::width(&text)).unwrap_or(u16::MAX);
        if x > col.area.x && x.saturating_add(w) > col.area.right() {
            x = col.area.x;
            y += 1;
        }
        if y >= col.area.bottom() {
            break;
        }
        let style = match (*focused, *locked) {
            (true, _) => ctx.theme.focus(),
            (false, true) => ctx.theme.dim(),
            (false, false) => ctx.theme.control(),
        };
        let rect = Rect::new(x, y, w.min(col.area.right().saturating_sub(x)), 1);
        frame.render_widget(Span::styled(text, style), rect);
        ctx.hits.push(Hit {
            rect,
            target: Target::Item(i),
        });
        x = x.saturating_add(w + 1);
    }
    col.y = (y + 1).min(col.area.bottom());
}

/// Name, IDs, address, situation and lockout (also above the verify and action dialogs).
pub fn draw_summary(frame: &mut Frame, col: &mut Col, ctx: &Ctx, s: &CaseState, env: &Env) {
    let lang = ctx.lang;
    let c = &s.case;
    let mut head = vec![
        Span::styled(c.name.clone(), ctx.theme.title()),
        Span::styled(
            format!(
                "  {} {}  {} {}",
                t(lang, "staff.case.user_id"),
                c.user_id,
                t(lang, "staff.case.card"),
                c.card
            ),
            ctx.theme.text(),
        ),
    ];
    if s.updated_until.is_some() {
        head.push(Span::styled(
            format!("  {}", t(lang, "staff.case.updated")),
            ctx.theme.ok(),
        ));
    }
    col.line(frame, Line::from(head));
    let verified = if c.email_verified {
        "staff.case.verified"
    } else {
        "staff.case.unverified"
    };
    let mut email = tf(
        lang,
        "staff.case.email",
        &[("email", &c.masked_email), ("state", t(lang, verified))],
    );
    if let Some(p) = &c.pending_email {
        email.push_str(&tf(lang, "staff.case.pending_email", &[("email", p)]));
    }
    col.text(frame, &email, ctx.theme.text());
    col.text(
        frame,
        &tf(
            lang,
            "staff.case.situation",
            &[("text", &situation_text(lang, &c.situation, c.step))],
        ),
        ctx.theme.title(),
    );
    col.text(
        frame,
        &lockout_text(lang, s, env),
        if c.lockout.failures > 0 || c.lockout.held {
            ctx.theme.error()
        } else {
            ctx.theme.text()
        },
    );
}

fn lockout_text(lang: Lang, s: &CaseState, env: &Env) -> String {
    let l = &s.case.lockout;
    if l.failures == 0 && !l.held && l.delayed_until.is_none() {
        return t(lang, "staff.case.no_failures").to_owned();
    }
    let key = if l.failures == 1 {
        "staff.case.failure"
    } else {
        "staff.case.failures"
    };
    let mut out = tf(lang, key, &[("n", &l.failures.to_string())]);
    if l.held {
        out.push_str(t(lang, "staff.case.held"));
    } else if let Some(until) = l.delayed_until.filter(|u| *u > s.case.now) {
        out.push_str(&tf(
            lang,
            "staff.case.delayed",
            &[
                ("until", &when(until, env.utc_offset)),
                ("left", &elapsed_text(lang, until - s.case.now)),
            ],
        ));
    }
    if let Some(at) = l.last_failure_at {
        out.push_str(&tf(
            lang,
            "staff.case.last_failure",
            &[
                ("at", &when(at, env.utc_offset)),
                ("from", l.last_failure_from.as_deref().unwrap_or("-")),
            ],
        ));
    }
    out
}

fn draw_lists(frame: &mut Frame, col: &mut Col, ctx: &mut Ctx, s: &CaseState, env: &Env) {
    let lang = ctx.lang;
    let c = &s.case;
    col.text(frame, ctx.t("staff.case.factors"), ctx.theme.title());
    if c.factors.is_empty() {
        col.text(frame, ctx.t("staff.case.no_factors"), ctx.theme.dim());
    }
    for (i, f) in c.factors.iter().enumerate() {
        let Some(r) = col.row() else { return };
        let selected = i == s.factor;
        let used = f.last_used_at.map_or_else(
            || t(lang, "staff.case.never").to_owned(),
            |u| when(u, env.utc_offset),
        );
        let text = format!(
            "{} {} \"{}\"  {} {}  {} {}",
            if selected { ">" } else { " " },
            t(lang, method_key(f.method)),
            f.name,
            t(lang, "staff.case.added"),
            when(f.created_at, env.utc_offset),
            t(lang, "staff.case.last_used"),
            used
        );
        let style = if selected {
            ctx.theme.focus()
        } else {
            ctx.theme.text()
        };
        frame.render_widget(Span::styled(text, style), r);
        ctx.hits.push(Hit {
            rect: r,
            target: Target::Row(i),
        });
    }
    if col.left() > 1 {
        col.text(frame, ctx.t("staff.case.mail"), ctx.theme.title());
        if c.mail.is_empty() {
            col.text(frame, ctx.t("staff.case.no_mail"), ctx.theme.dim());
        }
        for m in c.mail.iter().take(3) {
            let sent = m
                .sent_at
                .map(|s| when(s, env.utc_offset))
                .unwrap_or_else(|| "-".to_owned());
            col.text(
                frame,
                &format!(
                    "  {}  {}  {}  {} ({})  {}",
                    when(m.created_at, env.utc_offset),
                    m.kind,
                    m.to,
                    t(lang, mail_status_key(&m.status)),
                    m.attempts,
                    sent
                ),
                ctx.theme.text(),
            );
        }
    }
    if col.left() > 1 {
        col.text(frame, ctx.t("staff.case.audit"), ctx.theme.title());
        if c.audit.is_empty() {
            col.text(frame, ctx.t("staff.case.no_audit"), ctx.theme.dim());
        }
        for a in &c.audit {
            if col.left() == 0 {
                break;
            }
            col.text(
                frame,
                &format!(
                    "  {}  {}  {}  {}",
                    when(a.at, env.utc_offset),
                    a.actor,
                    a.action,
                    a.detail
                ),
                ctx.theme.dim(),
            );
        }
    }
}
