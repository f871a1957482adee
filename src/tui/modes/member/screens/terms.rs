//! 【4】 The terms of use (markdown from the server), scrollable; agree (同意する) or decline.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;

use super::{Col, Ctx, Form, Intent, Item, button_row, title};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{Cx, Env, InputId, Page, Place, one};
use crate::api::Step;
use crate::api::TermsDocument;
use crate::tui::i18n::{t, tf};
use crate::tui::modes::member::{ApiCall, Reply};
use crate::tui::theme::Theme;
use crate::tui::widgets::wrap;

/// The terms screen.
#[derive(Debug, Clone, Default)]
pub struct TermsState {
    /// The text, once fetched.
    pub doc: Option<TermsDocument>,
    /// First visible line.
    pub scroll: u16,
    /// The largest useful `scroll` at the last draw (None before the text was drawn).
    pub max_scroll: Cell<Option<u16>>,
    /// Focused item.
    pub focus: usize,
}

impl TermsState {
    /// Scrolls by `delta` lines, within the text as last drawn.
    pub fn scroll_by(&mut self, delta: i32) {
        let next = (i32::from(self.scroll) + delta).max(0);
        let next = u16::try_from(next).unwrap_or(u16::MAX);
        self.scroll = match self.max_scroll.get() {
            Some(max) => next.min(max),
            None => next,
        };
    }
}

impl Form for TermsState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Button(Intent::AcceptTerms),
            Item::Button(Intent::DeclineTerms),
        ]
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
}

/// Markdown to styled display lines, wrapped to `w` cells: headings bold, list markers kept,
/// emphasis markers dropped.
pub fn markdown_lines(md: &str, w: usize, theme: &Theme) -> Vec<(String, Style)> {
    let mut out = Vec::new();
    for raw in md.lines() {
        let line = raw.trim_end();
        let (text, style, indent) = if let Some(h) = line.strip_prefix('#') {
            (
                h.trim_start_matches('#').trim().to_owned(),
                theme.title(),
                0,
            )
        } else if let Some(item) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
            (format!("- {}", item.trim()), theme.text(), 2)
        } else {
            (line.to_owned(), theme.text(), 0)
        };
        let text = text.replace("**", "").replace("__", "");
        if text.is_empty() {
            out.push((String::new(), style));
            continue;
        }
        for (i, l) in wrap(&text, w.saturating_sub(indent))
            .into_iter()
            .enumerate()
        {
            let pad = if i > 0 {
                " ".repeat(indent)
            } else {
                String::new()
            };
            out.push((format!("{pad}{l}"), style));
        }
    }
    out
}

/// Draws the terms screen.
pub fn render(frame: &mut Frame, area: Rect, s: &TermsState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("terms.title"));
    // Text area: everything but the title, the scroll line, a gap and the buttons.
    let text_h = col.left().saturating_sub(3);
    match &s.doc {
        None => {
            col.text(frame, ctx.t("terms.loading"), ctx.theme.dim());
            col.gap(text_h.saturating_sub(1));
        }
        Some(doc) => {
            let lines = markdown_lines(
                &doc.text,
                usize::from(area.width.saturating_sub(2)),
                &ctx.theme,
            );
            let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
            let max = total.saturating_sub(text_h);
            s.max_scroll.set(Some(max));
            let top = s.scroll.min(max);
            for (l, style) in lines
                .iter()
                .skip(usize::from(top))
                .take(usize::from(text_h))
            {
                if let Some(r) = col.row() {
                    frame.render_widget(
                        Span::styled(l.clone(), *style),
                        Rect {
                            x: r.x + 1,
                            width: r.width.saturating_sub(1),
                            ..r
                        },
                    );
                }
            }
            col.y = area.y + 1 + text_h;
            let last = (top + text_h).min(total);
            let pos = tf(
                lang,
                "terms.position",
                &[
                    ("from", &(top + 1).min(total).to_string()),
                    ("to", &last.to_string()),
                    ("total", &total.to_string()),
                ],
            );
            let hint = if last < total {
                t(lang, "terms.more")
            } else {
                t(lang, "terms.end")
            };
            col.text(frame, &format!("{pos}  {hint}"), ctx.theme.dim());
        }
    }
    let b = button_row(
        s,
        |i| match i {
            Intent::AcceptTerms => t(lang, "terms.accept").to_owned(),
            _ => t(lang, "terms.decline").to_owned(),
        },
        &[Intent::AcceptTerms, Intent::DeclineTerms],
    );
    col.buttons(frame, ctx, &b);
}

impl Page for TermsState {
    fn place(&self) -> Place {
        Place::first_login("terms", one(Step::Terms), "step.terms")
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::Terms
    }
    /// The arrows, the page keys, Space and Home scroll the text.
    fn on_key(&mut self, key: KeyEvent, _cx: &mut Cx) -> bool {
        match key.code {
            KeyCode::Up => self.scroll_by(-1),
            KeyCode::Down => self.scroll_by(1),
            KeyCode::PageUp => self.scroll_by(-10),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll_by(10),
            KeyCode::Home => self.scroll = 0,
            _ => return false,
        }
        true
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        if !matches!(intent, Intent::AcceptTerms | Intent::DeclineTerms) {
            return;
        }
        if self.doc.is_none() {
            // The text did not arrive (a network error): fetch it again.
            let lang = cx.lang();
            cx.call(ApiCall::Terms(lang));
            return;
        }
        cx.with_token(|t| ApiCall::DecideTerms(t, intent == Intent::AcceptTerms));
    }
    fn on_back(&mut self, cx: &mut Cx) -> Option<Intent> {
        cx.info("msg.no_back");
        None
    }
    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        if let Reply::Terms(doc) = reply {
            if doc.lang == cx.lang() {
                self.doc = Some(doc);
            } else {
                // The language changed while the text was on its way.
                let lang = cx.lang();
                cx.call(ApiCall::Terms(lang));
            }
        }
    }
    /// The terms come from the server in each language.
    fn on_lang(&mut self, cx: &mut Cx) {
        self.doc = None;
        self.scroll = 0;
        self.max_scroll.set(None);
        if !cx.pending() {
            let lang = cx.lang();
            cx.call(ApiCall::Terms(lang));
        }
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}
