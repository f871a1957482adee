//! 【8】 Choose the authentication method, with the manual's prerequisites for each.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Col, Ctx, Form, Hit, Intent, Item, Target, title};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{Cx, Env, InputId, Page, Place, one};
use crate::api::Method;
use crate::api::Step;
use crate::passkey::PasskeyTransport;
use crate::passkey::probe::ProbeReport;
use crate::tui::i18n::tf;
use crate::tui::modes::member::{ApiCall, Msg};

/// The method screen.
#[derive(Debug, Clone)]
pub struct ChooseState {
    /// Focused option.
    pub focus: usize,
    /// Which passkey routes this terminal has (None until the probe answers).
    pub probe: Option<ProbeReport>,
    /// The methods offered, in the manual's order (a kiosk may allow fewer than all).
    pub offered: Vec<Method>,
}

impl Default for ChooseState {
    fn default() -> Self {
        Self::offering(&Method::ALL)
    }
}

impl ChooseState {
    /// The choice of `allowed` (kept in the manual's order and letters; all when empty).
    pub fn offering(allowed: &[Method]) -> Self {
        let offered: Vec<Method> = Method::ALL
            .into_iter()
            .filter(|m| allowed.is_empty() || allowed.contains(m))
            .collect();
        Self {
            focus: 0,
            probe: None,
            offered,
        }
    }
}

impl Form for ChooseState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        self.offered
            .iter()
            .map(|m| Item::Button(Intent::Choose(*m)))
            .collect()
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
}

/// The i18n key of a method's name.
pub fn method_key(m: Method) -> &'static str {
    match m {
        Method::Passkey => "method.passkey",
        Method::TotpApp => "method.totp_app",
        Method::EmailOtp => "method.email_otp",
    }
}

/// Draws the method screen; `email` is the verified address (for the email OTP option).
pub fn render(frame: &mut Frame, area: Rect, s: &ChooseState, email: Option<&str>, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("choose.title"));
    col.text(frame, ctx.t("choose.explain"), ctx.theme.dim());
    let details = [
        ("choose.passkey_detail", "choose.passkey_needs"),
        ("choose.totp_detail", "choose.totp_needs"),
        ("choose.email_detail", "choose.email_needs"),
    ];
    let offered = Method::ALL
        .iter()
        .zip(details)
        .enumerate()
        .filter(|(_, (m, _))| s.offered.contains(m));
    for (i, (letter_at, (m, (detail, needs)))) in offered.enumerate() {
        col.gap(1);
        let focused = s.focus == i;
        // The manual's letter of the method, whatever is left out before it.
        let letter = ["a", "b", "c"][letter_at];
        let label = format!("{letter}. {}", ctx.t(method_key(*m)));
        let text = if focused {
            format!(">[ {label} ]<")
        } else {
            format!(" [ {label} ] ")
        };
        let style = if focused {
            ctx.theme.focus()
        } else {
            ctx.theme.control()
        };
        let y = col.y;
        col.line(frame, Line::from(Span::styled(text.clone(), style)));
        ctx.hits.push(Hit {
            rect: Rect::new(
                area.x,
                y,
                u16::try_from(crate::tui::widgets::width(&text))
                    .unwrap_or(area.width)
                    .min(area.width),
                1,
            ),
            target: Target::Item(i),
        });
        let mut inner = Col::new(Rect {
            x: area.x + 4,
            width: area.width.saturating_sub(4),
            y: col.y,
            height: col.left(),
        });
        let needs = tf(lang, needs, &[("email", email.unwrap_or("-"))]);
        inner.text(frame, ctx.t(detail), ctx.theme.text());
        inner.text(frame, &needs, ctx.theme.dim());
        if *m == Method::Passkey
            && let Some(report) = &s.probe
        {
            inner.text(frame, &probe_line(lang, report), ctx.theme.text());
        }
        col.y = inner.y;
    }
    // The probe's line takes the gap's place, so the note stays on a small terminal.
    if s.probe.is_none() {
        col.gap(1);
    }
    col.text(frame, ctx.t("choose.otp_note"), ctx.theme.dim());
}

/// What the passkey probe found, in one sentence: the routes usable here, or that none is
/// and what to do instead.
pub fn probe_line(lang: crate::api::Lang, report: &ProbeReport) -> String {
    let names = |usable: bool| -> Vec<&str> {
        report
            .transports
            .iter()
            .filter(|a| a.usable.is_ok() == usable)
            .map(|a| crate::tui::i18n::t(lang, route_key(a.transport)))
            .collect()
    };
    let usable = names(true);
    if usable.is_empty() {
        return crate::tui::i18n::t(lang, "choose.probe_none").to_owned();
    }
    let sep = crate::tui::i18n::t(lang, "choose.probe_sep");
    tf(lang, "choose.probe_usable", &[("list", &usable.join(sep))])
}

/// The short name of a passkey route on the method screen.
fn route_key(t: PasskeyTransport) -> &'static str {
    match t {
        PasskeyTransport::Usb => "choose.route_usb",
        PasskeyTransport::Bluetooth => "choose.route_bluetooth",
        PasskeyTransport::Phone => "choose.route_phone",
        PasskeyTransport::Soft => "choose.route_soft",
    }
}

impl Page for ChooseState {
    fn place(&self) -> Place {
        Place::first_login(
            "choose_method",
            one(Step::ChooseMethod),
            "step.choose_method",
        )
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::ChooseMethod
    }
    fn on_key(&mut self, key: KeyEvent, _cx: &mut Cx) -> bool {
        match key.code {
            KeyCode::Up => self.focus = self.focus.saturating_sub(1),
            KeyCode::Down => self.focus = (self.focus + 1).min(self.items().len() - 1),
            _ => return false,
        }
        true
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        if let Intent::Choose(m) = intent {
            cx.with_token(|t| ApiCall::ChooseMethod(t, m));
        }
    }
    fn on_back(&mut self, cx: &mut Cx) -> Option<Intent> {
        cx.info("msg.no_back");
        None
    }
    fn on_device(&mut self, msg: Msg, _cx: &mut Cx) {
        if let Msg::PasskeyProbed(report) = msg {
            self.probe = Some(report);
        }
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env) {
        render(frame, area, self, env.email, ctx);
    }
}
