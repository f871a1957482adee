//! The audit log in the console: one member's (opened from their case, which it returns to) or
//! everyone's (from the search), newest first, filtered by staff login, action and dates, a
//! page at a time (PgUp/PgDn). Up/Down choose an entry; its whole detail shows below the list.
//!
//! Dates are read in the console's time zone and sent as Unix seconds, so that "12-06" means
//! the same day the times on screen are shown in.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::case::CaseState;
use super::sign_in::label_width;
use super::{
    Col, Ctx, Cx, Env, Field, Form, InputId, Intent, Item, Page, Screen, Target, button_row,
};
use crate::api::helpdesk::AuditPage;
use crate::api::{ApiError, ErrorCode};
use crate::client::staff::AuditFilter;
use crate::domain::AuditAction;
use crate::tui::i18n::{Tr, t, tf};
use crate::tui::modes::staff::api::{Reply, StaffCall};
use crate::tui::modes::staff::words::when;
use crate::tui::shell::form::Hit;
use crate::tui::widgets::TextInput;

/// The audit screen.
#[derive(Debug, Clone)]
pub struct AuditState {
    /// The member's case it was opened from (the log is theirs), to go back to.
    pub case: Option<Box<CaseState>>,
    /// By this staff login.
    pub staff: TextInput,
    /// The action chosen: 0 for any, else `AuditAction::ALL[action - 1]`.
    pub action: usize,
    /// From this date (`YYYY-MM-DD`, the console's time zone).
    pub since: TextInput,
    /// Through this date.
    pub until: TextInput,
    /// The filter asked for last, and its answer once it came.
    pub results: Option<(AuditFilter, AuditPage)>,
    /// The filter a request is out for.
    pub asked: Option<AuditFilter>,
    /// The chosen entry.
    pub selected: usize,
    /// Focused item.
    pub focus: usize,
}

impl AuditState {
    /// The log of everyone (from the search).
    pub fn overall() -> Self {
        Self {
            case: None,
            staff: TextInput::new().with_max(64),
            action: 0,
            since: TextInput::new().with_max(10),
            until: TextInput::new().with_max(10),
            results: None,
            asked: None,
            selected: 0,
            focus: 0,
        }
    }

    /// The log of the member whose case is open.
    pub fn of_member(case: CaseState) -> Self {
        Self {
            case: Some(Box::new(case)),
            ..Self::overall()
        }
    }

    /// The action filter's stable name, if one is chosen.
    pub fn action_name(&self) -> Option<&'static str> {
        self.action
            .checked_sub(1)
            .and_then(|i| AuditAction::ALL.get(i))
            .map(AuditAction::as_str)
    }

    /// Asks for the first page of the log as the filters say now.
    pub fn show(&mut self, cx: &mut Cx) {
        let Some(filter) = self.filter(cx) else {
            // What is listed would not match the filters as typed.
            self.results = None;
            return;
        };
        self.send(cx, filter);
    }

    /// The filter as typed, or None after naming the field that is wrong.
    fn filter(&self, cx: &mut Cx) -> Option<AuditFilter> {
        let offset = cx.utc_offset;
        let since = day_start(self.since.value(), offset, false);
        let until = day_start(self.until.value(), offset, true);
        cx.session
            .errors
            .retain(|(f, _)| !matches!(f, Field::Since | Field::Until | Field::StaffLogin));
        if since.is_err() {
            cx.set_error(Field::Since, Tr::new("staff.audit.bad_date"));
        }
        if until.is_err() {
            cx.set_error(Field::Until, Tr::new("staff.audit.bad_date"));
        }
        let (Ok(since), Ok(until)) = (since, until) else {
            return None;
        };
        if let (Some(s), Some(u)) = (since, until)
            && u <= s
        {
            cx.set_error(Field::Until, Tr::new("staff.audit.until_before_since"));
            return None;
        }
        let staff = self.staff.value().trim();
        Some(AuditFilter {
            member: self.case.as_ref().map(|c| c.case.user_id.clone()),
            staff: (!staff.is_empty()).then(|| staff.to_owned()),
            action: self.action_name().map(str::to_owned),
            since: since.map(|s| s.to_string()),
            until: until.map(|u| u.to_string()),
            page: 0,
        })
    }

    fn send(&mut self, cx: &mut Cx, filter: AuditFilter) {
        let Some(token) = cx.session.token.clone() else {
            return;
        };
        self.asked = Some(filter.clone());
        cx.call(StaffCall::Audit(token, filter));
    }

    /// The entries shown.
    pub fn rows(&self) -> usize {
        self.results.as_ref().map_or(0, |(_, p)| p.rows.len())
    }

    /// Another page of the filter shown.
    fn turn(&mut self, cx: &mut Cx, forward: bool) {
        let Some((filter, page)) = &self.results else {
            return;
        };
        let to = match forward {
            true if page.more => page.page + 1,
            false if page.page > 0 => page.page - 1,
            _ => return,
        };
        let mut next = filter.clone();
        next.page = to;
        self.send(cx, next);
    }

    fn cycle(&mut self, forward: bool) {
        let n = AuditAction::ALL.len() + 1;
        self.action = if forward {
            (self.action + 1) % n
        } else {
            (self.action + n - 1) % n
        };
    }
}

/// The start of the day `typed` names (`YYYY-MM-DD`) at `offset`, or of the next day for the
/// end of a range; `Ok(None)` when nothing is typed.
fn day_start(typed: &str, offset: time::UtcOffset, end: bool) -> Result<Option<i64>, ()> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(typed, &format).map_err(|_| ())?;
    let date = if end {
        date.next_day().ok_or(())?
    } else {
        date
    };
    Ok(Some(date.midnight().assume_offset(offset).unix_timestamp()))
}

impl Form for AuditState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Input(InputId::StaffLogin),
            Item::Button(Intent::AuditAction),
            Item::Input(InputId::Since),
            Item::Input(InputId::Until),
            Item::Button(Intent::Search),
            Item::Button(Intent::Cancel),
        ]
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        match id {
            InputId::StaffLogin => Some(&self.staff),
            InputId::Since => Some(&self.since),
            InputId::Until => Some(&self.until),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match id {
            InputId::StaffLogin => Some(&mut self.staff),
            InputId::Since => Some(&mut self.since),
            InputId::Until => Some(&mut self.until),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::Search)
    }
}

impl Page for AuditState {
    fn title(&self) -> &'static str {
        "staff.title.audit"
    }

    fn esc(&self) -> Option<&'static str> {
        Some("footer.esc_back")
    }

    fn paged(&self) -> bool {
        self.results
            .as_ref()
            .is_some_and(|(_, p)| p.more || p.page > 0)
    }

    fn on_key(&mut self, key: KeyEvent, cx: &mut Cx) -> bool {
        let on_action = self.focused() == Some(Item::Button(Intent::AuditAction));
        match key.code {
            KeyCode::PageDown => self.turn(cx, true),
            KeyCode::PageUp => self.turn(cx, false),
            KeyCode::Down if self.selected + 1 < self.rows() => self.selected += 1,
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => {}
            KeyCode::Right if on_action => self.cycle(true),
            KeyCode::Left if on_action => self.cycle(false),
            _ => return false,
        }
        true
    }

    fn on_row(&mut self, row: usize, _cx: &mut Cx) {
        if row < self.rows() {
            self.selected = row;
        }
    }

    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::AuditAction => self.cycle(true),
            Intent::Search => self.show(cx),
            Intent::Cancel => self.on_back(cx),
            _ => {}
        }
    }

    fn on_back(&mut self, cx: &mut Cx) {
        cx.clear_messages();
        match self.case.take() {
            Some(case) => cx.go(Screen::Case(case)),
            None => {
                let back = cx.session.last_search.take().unwrap_or_default();
                cx.go(Screen::Search(back));
            }
        }
    }

    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        match reply {
            Reply::Audit(filter, page) => {
                if self.asked.as_ref() != Some(&filter) {
                    return;
                }
                self.selected = 0;
                cx.shell.dirty = true;
                self.results = Some((filter, page));
            }
            // The live watch reloaded the member's case: going back shows it as it is now.
            Reply::Case(new) => {
                if let Some(case) = self.case.as_mut()
                    && case.case.user_id == new.user_id
                {
                    case.replace(*new, cx.shell.ticks, false);
                }
            }
            _ => {}
        }
    }

    fn on_error(&mut self, e: &ApiError, cx: &mut Cx) -> bool {
        let asked_staff = self.asked.as_ref().is_some_and(|f| f.staff.is_some());
        let handled = match (e.code, e.field.as_deref()) {
            (ErrorCode::NotFound, _) if asked_staff => {
                cx.set_error(Field::StaffLogin, Tr::new("staff.audit.no_staff"));
                true
            }
            (ErrorCode::BadRequest, Some("since")) => {
                cx.set_error(Field::Since, Tr::new("staff.audit.bad_date"));
                true
            }
            (ErrorCode::BadRequest, Some("until")) => {
                cx.set_error(Field::Until, Tr::new("staff.audit.bad_date"));
                true
            }
            _ => false,
        };
        if handled {
            // What is listed would not match the filters as typed.
            self.results = None;
        }
        handled
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env) {
        let lang = ctx.lang;
        let mut col = Col::new(area);
        let whose = match &self.case {
            Some(c) => tf(
                lang,
                "staff.audit.of_member",
                &[("name", &c.case.name), ("user", &c.case.user_id)],
            ),
            None => t(lang, "staff.audit.of_everyone").to_owned(),
        };
        col.text(frame, &whose, ctx.theme.title());
        let lw = label_width(
            ctx,
            &[
                "staff.audit.staff",
                "staff.audit.action",
                "staff.audit.since",
            ],
        );
        // Staff and action on one row, the dates on the next: the list needs the rows.
        let Some(r) = col.row() else { return };
        let half = r.width / 2;
        Col::new(Rect { width: half, ..r }).field(
            frame,
            ctx,
            ctx.t("staff.audit.staff"),
            lw,
            &self.staff,
            16,
            0,
            self.focus == 0,
            None,
        );
        let action = self.action_name().unwrap_or(t(lang, "staff.audit.any"));
        let focused = self.focus == 1;
        let text = format!(
            "{}{}  < {action} >",
            if focused { ">" } else { " " },
            t(lang, "staff.audit.action")
        );
        let ar = Rect::new(r.x + half, r.y, r.width - half, 1);
        let style = if focused {
            ctx.theme.focus()
        } else {
            ctx.theme.control()
        };
        frame.render_widget(Span::styled(text, style), ar);
        ctx.hits.push(Hit {
            rect: ar,
            target: Target::Item(1),
        });
        let Some(r) = col.row() else { return };
        Col::new(Rect { width: half, ..r }).field(
            frame,
            ctx,
            ctx.t("staff.audit.since"),
            lw,
            &self.since,
            10,
            2,
            self.focus == 2,
            None,
        );
        let uw = label_width(ctx, &["staff.audit.until"]);
        Col::new(Rect::new(r.x + half, r.y, r.width - half, 1)).field(
            frame,
            ctx,
            ctx.t("staff.audit.until"),
            uw,
            &self.until,
            10,
            3,
            self.focus == 3,
            None,
        );
        let errors: Vec<String> = [Field::StaffLogin, Field::Since, Field::Until]
            .into_iter()
            .filter_map(|f| ctx.error(f).map(|e| format!("! {e}")))
            .collect();
        for e in errors {
            col.text(frame, &e, ctx.theme.error());
        }
        let buttons = button_row(
            self,
            |i| match i {
                Intent::Search => t(lang, "staff.audit.show").to_owned(),
                _ => t(lang, "staff.audit.back").to_owned(),
            },
            &[Intent::Search, Intent::Cancel],
        );
        col.buttons(frame, ctx, &buttons);
        let Some((_, page)) = &self.results else {
            col.text(frame, ctx.t("staff.audit.hint"), ctx.theme.dim());
            return;
        };
        if page.rows.is_empty() {
            let key = if page.page == 0 {
                "staff.audit.none"
            } else {
                "staff.audit.no_more"
            };
            col.text(frame, t(lang, key), ctx.theme.error());
            return;
        }
        col.text(
            frame,
            &tf(
                lang,
                "staff.audit.summary",
                &[
                    ("page", &(page.page + 1).to_string()),
                    (
                        "more",
                        if page.more {
                            t(lang, "staff.audit.more")
                        } else {
                            ""
                        },
                    ),
                ],
            ),
            ctx.theme.dim(),
        );
        // The chosen entry's whole detail takes the last rows; the list the rest.
        let detail_rows = 3u16;
        let list_rows = col.left().saturating_sub(detail_rows + 1);
        let first = (self.selected + 1).saturating_sub(usize::from(list_rows));
        for (i, row) in page
            .rows
            .iter()
            .enumerate()
            .skip(first)
            .take(usize::from(list_rows))
        {
            let Some(r) = col.row() else { break };
            let selected = i == self.selected;
            let member = match (&self.case, &row.user_id) {
                (None, Some(u)) => format!("  {u}"),
                _ => String::new(),
            };
            let text = format!(
                "{} {}  {}  {}{member}  {}",
                if selected { ">" } else { " " },
                when(row.at, env.utc_offset),
                row.actor,
                row.action,
                row.detail
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
        if let Some(row) = page.rows.get(self.selected) {
            col.gap(1);
            col.text(
                frame,
                &tf(
                    lang,
                    "staff.audit.detail",
                    &[("action", &row.action), ("detail", &row.detail)],
                ),
                ctx.theme.dim(),
            );
        }
    }
}
