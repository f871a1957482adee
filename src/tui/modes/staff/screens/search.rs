//! Find the caller: one field (user ID prefix, any part of the name, card symbol + number,
//! email). Results come as the staff member types — the search goes out on the first tick
//! after typing paused, and an answer for an older query is dropped — paged with PgUp/PgDn;
//! Enter (or a click) opens the member.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Col, Ctx, Cx, Env, Form, InputId, Intent, Item, Page, Screen, Target, button_row};
use crate::api::helpdesk::MemberSearchPage;
use crate::tui::i18n::{t, tf};
use crate::tui::modes::staff::api::{Reply, StaffCall};
use crate::tui::modes::staff::words::step_key;
use crate::tui::shell::form::Hit;
use crate::tui::widgets::{TextInput, width};

/// The search screen.
#[derive(Debug, Clone)]
pub struct SearchState {
    /// The query.
    pub query: TextInput,
    /// The last answer, for the query it answers.
    pub results: Option<(String, MemberSearchPage)>,
    /// The page asked for.
    pub page: u32,
    /// The selected row.
    pub selected: usize,
    /// The tick of the last edit, while a search for it is still to be sent.
    pub typed_at: Option<u64>,
    /// The query a search is out for.
    pub asked: Option<String>,
    /// Focused item.
    pub focus: usize,
}

impl Default for SearchState {
    fn default() -> Self {
        Self {
            query: TextInput::new().with_max(100),
            results: None,
            page: 0,
            selected: 0,
            typed_at: None,
            asked: None,
            focus: 0,
        }
    }
}

impl SearchState {
    fn send(&mut self, cx: &mut Cx, page: u32) {
        self.typed_at = None;
        let query = self.query.value().trim().to_owned();
        if query.is_empty() {
            self.results = None;
            self.asked = None;
            return;
        }
        let Some(token) = cx.session.token.clone() else {
            return;
        };
        self.page = page;
        self.asked = Some(query.clone());
        cx.background(StaffCall::Search { token, query, page });
    }

    fn open(&mut self, cx: &mut Cx) {
        let Some((_, page)) = &self.results else {
            return;
        };
        let Some(hit) = page.hits.get(self.selected) else {
            return;
        };
        let Some(token) = cx.session.token.clone() else {
            return;
        };
        cx.call(StaffCall::Case(token, hit.user_id.clone()));
    }

    /// The rows of the current page.
    pub fn hits(&self) -> usize {
        self.results.as_ref().map_or(0, |(_, p)| p.hits.len())
    }
}

impl Form for SearchState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Input(InputId::Query),
            Item::Button(Intent::Open),
            Item::Button(Intent::SignOut),
            Item::Button(Intent::Audit),
        ]
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        (id == InputId::Query).then_some(&self.query)
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        (id == InputId::Query).then_some(&mut self.query)
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::Open)
    }
}

impl Page for SearchState {
    fn title(&self) -> &'static str {
        "staff.title.search"
    }

    fn on_key(&mut self, key: KeyEvent, cx: &mut Cx) -> bool {
        let more = self.results.as_ref().is_some_and(|(_, p)| p.more);
        match key.code {
            KeyCode::Down if self.selected + 1 < self.hits() => self.selected += 1,
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::PageDown if more => {
                let next = self.page + 1;
                self.send(cx, next);
            }
            KeyCode::PageUp if self.page > 0 => {
                let prev = self.page - 1;
                self.send(cx, prev);
            }
            KeyCode::PageDown | KeyCode::PageUp => {}
            _ => return false,
        }
        true
    }

    fn paged(&self) -> bool {
        self.results
            .as_ref()
            .is_some_and(|(_, p)| p.more || self.page > 0)
    }

    fn on_edit(&mut self, _input: InputId, cx: &mut Cx) {
        self.typed_at = Some(cx.shell.ticks);
        self.page = 0;
        self.selected = 0;
    }

    fn on_tick(&mut self, cx: &mut Cx) {
        // Typing paused for a tick: search for what is there now.
        if self.typed_at.is_some_and(|t| cx.shell.ticks > t) {
            self.send(cx, 0);
        }
    }

    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::Open => {
                let current = self.query.value().trim();
                let fresh = self.results.as_ref().is_some_and(|(q, _)| q == current)
                    && self.typed_at.is_none();
                if fresh {
                    self.open(cx);
                } else {
                    self.send(cx, 0);
                }
            }
            Intent::Audit => {
                cx.clear_messages();
                cx.session.last_search = Some(self.clone());
                let mut audit = super::audit::AuditState::overall();
                audit.show(cx);
                cx.go(Screen::Audit(Box::new(audit)));
            }
            Intent::SignOut => {
                if let Some(token) = cx.session.token.clone() {
                    let keyring = std::sync::Arc::clone(&cx.session.keyring);
                    cx.call(StaffCall::SignOut(token, keyring));
                }
            }
            _ => {}
        }
    }

    fn on_row(&mut self, row: usize, cx: &mut Cx) {
        if row < self.hits() {
            self.selected = row;
            self.open(cx);
        }
    }

    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        match reply {
            Reply::Found { query, page } => {
                // An answer for a query no longer in the field is dropped.
                if self.asked.as_deref() != Some(query.as_str()) {
                    return;
                }
                cx.shell.dirty = true;
                if page.hits.is_empty() && page.page == 0 {
                    cx.shell.banner = None;
                }
                self.selected = self.selected.min(page.hits.len().saturating_sub(1));
                self.results = Some((query, page));
            }
            Reply::Case(case) => {
                cx.session.last_search = Some(self.clone());
                cx.go(Screen::Case(Box::new(super::case::CaseState::new(
                    *case,
                    cx.shell.ticks,
                ))));
            }
            _ => {}
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        let lang = ctx.lang;
        let mut col = Col::new(area);
        let lw = u16::try_from(width(ctx.t("staff.search.label")) + 3).unwrap_or(12);
        col.field(
            frame,
            ctx,
            ctx.t("staff.search.label"),
            lw,
            &self.query,
            40,
            0,
            self.focus == 0,
            None,
        );
        col.hint(frame, ctx, lw, "staff.search.hint");
        let row = button_row(
            self,
            |i| match i {
                Intent::Open => t(lang, "staff.search.open").to_owned(),
                Intent::Audit => t(lang, "staff.search.audit_log").to_owned(),
                _ => t(lang, "staff.search.sign_out").to_owned(),
            },
            &[Intent::Open, Intent::SignOut, Intent::Audit],
        );
        col.buttons(frame, ctx, &row);
        col.gap(1);
        let Some((query, page)) = &self.results else {
            if self.query.value().trim().is_empty() {
                col.text(frame, ctx.t("staff.search.empty"), ctx.theme.dim());
            }
            return;
        };
        if page.hits.is_empty() {
            let msg = if page.page == 0 {
                tf(lang, "staff.search.no_match", &[("q", query)])
            } else {
                t(lang, "staff.search.no_more").to_owned()
            };
            col.text(frame, &msg, ctx.theme.error());
            return;
        }
        let read_as = match page.read_as.as_str() {
            "user_id" => "staff.search.as_user_id",
            "name" => "staff.search.as_name",
            "card" => "staff.search.as_card",
            "email" => "staff.search.as_email",
            _ => "staff.search.as_any",
        };
        col.text(
            frame,
            &tf(
                lang,
                "staff.search.summary",
                &[
                    ("as", t(lang, read_as)),
                    ("page", &(page.page + 1).to_string()),
                    (
                        "more",
                        if page.more {
                            t(lang, "staff.search.more")
                        } else {
                            ""
                        },
                    ),
                ],
            ),
            ctx.theme.dim(),
        );
        for (i, hit) in page.hits.iter().enumerate() {
            let Some(r) = col.row() else { break };
            let selected = i == self.selected;
            let style = if selected {
                ctx.theme.focus()
            } else {
                ctx.theme.control()
            };
            let marker = if selected { ">" } else { " " };
            // Names are padded by their width on screen, so the columns line up in Japanese.
            let pad = 12usize.saturating_sub(width(&hit.name));
            let text = format!(
                "{marker} {:<14} {}{}  {}  {}  [{}]",
                hit.user_id,
                hit.name,
                " ".repeat(pad),
                hit.card,
                hit.masked_email,
                // As the case says it: an imported member rests at the terms until they sign in.
                if hit.started {
                    t(lang, step_key(hit.step))
                } else {
                    t(lang, "staff.search.not_started")
                }
            );
            frame.render_widget(Line::from(Span::styled(text, style)), r);
            ctx.hits.push(Hit {
                rect: r,
                target: Target::Row(i),
            });
        }
    }
}
