//! 【1】 The journey of the first login, the time it takes, and the language switch.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Col, Ctx, Form, Intent, Item, button_row, title};
use super::{Cx, Env, InputId, Page, Place, Screen};

/// The welcome screen.
#[derive(Debug, Clone, Default)]
pub struct WelcomeState {
    /// Focused item.
    pub focus: usize,
}

impl Form for WelcomeState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        vec![
            Item::Button(Intent::Start),
            Item::Button(Intent::SwitchLang),
        ]
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
}

/// Draws the welcome screen.
pub fn render(frame: &mut Frame, area: Rect, s: &WelcomeState, ctx: &mut Ctx) {
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("welcome.title"));
    col.text(frame, ctx.t("welcome.duration"), ctx.theme.ok());
    col.gap(1);
    let phases = [
        ("welcome.phase1", "welcome.phase1_detail"),
        ("welcome.phase2", "welcome.phase2_detail"),
        ("welcome.phase3", "welcome.phase3_detail"),
        ("welcome.phase4", "welcome.phase4_detail"),
    ];
    for (head, detail) in phases {
        col.line(
            frame,
            Line::from(Span::styled(ctx.t(head), ctx.theme.title())),
        );
        let mut inner = Col::new(Rect {
            x: col.area.x + 4,
            width: col.area.width.saturating_sub(4),
            y: col.y,
            height: col.left(),
        });
        inner.text(frame, ctx.t(detail), ctx.theme.text());
        col.y = inner.y;
    }
    col.gap(1);
    col.text(frame, ctx.t("welcome.recommend"), ctx.theme.dim());
    col.gap(1);
    let lang = ctx.lang;
    let buttons = button_row(
        s,
        |i| match i {
            Intent::Start => crate::tui::i18n::t(lang, "welcome.start").to_owned(),
            _ => crate::tui::i18n::t(lang, "welcome.switch_lang").to_owned(),
        },
        &[Intent::Start, Intent::SwitchLang],
    );
    col.buttons(frame, ctx, &buttons);
}

impl Page for WelcomeState {
    fn place(&self) -> Place {
        Place::first_login("welcome", (1, 1), "step.welcome")
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::Start => {
                cx.clear_messages();
                cx.go(Screen::SignIn(Default::default()));
            }
            Intent::SwitchLang => cx.switch_lang(),
            _ => {}
        }
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}
