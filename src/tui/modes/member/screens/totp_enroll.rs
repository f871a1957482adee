//! Setting up an authenticator app (manual 2-3 and 2-4): the QR code to scan — or, for
//! "スキャンできませんか?", the key to type — then the device's name and a code it shows.
//!
//! At 80x24 the code does not fit between the header and the footer, so the scan view may take
//! the whole terminal ([`wants_full_frame`]); when even that is too small it says how large the
//! terminal must be and shows the key instead.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Col, Ctx, Field, Form, InputId, Intent, Item, button_row, title};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{Cx, Env, Page, Place, code_error_key, is_code_error};
use crate::api::{ErrorCode, Step};
use crate::api::{TotpAlgorithm, TotpEnrollment};
use crate::client::ClientError;
use crate::tui::i18n::Tr;
use crate::tui::i18n::{t, tf};
use crate::tui::modes::member::{ApiCall, Reply};
use crate::tui::widgets::qr::{QrCode, QrStyle};
use crate::tui::widgets::{TextInput, width};

/// The narrowest text column next to the QR code.
const TEXT_MIN: u16 = 30;

/// Which part of the set-up is on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollView {
    /// The QR code.
    Scan,
    /// "Can't scan?": the key and its parameters.
    Key,
    /// The device name and a code.
    Confirm,
}

/// Where the set-up started, which decides the title and where Cancel leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollOrigin {
    /// Stage 2 of the first login: the member must finish it (no Cancel).
    MethodSetup,
    /// "Add authenticator app" on the top screen.
    AddDevice,
    /// "Change method" on the top screen: the old methods may be removed afterwards.
    ChangeMethod,
}

/// The set-up screen. The secret is held only while the screen is shown.
#[derive(Clone)]
pub struct TotpEnrollState {
    /// Where it started.
    pub origin: EnrollOrigin,
    /// The server's answer (None until it arrives).
    pub enrollment: Option<TotpEnrollment>,
    qr: Option<QrCode>,
    /// The part on screen.
    pub view: EnrollView,
    /// The device's name.
    pub device_name: TextInput,
    /// The code the app shows.
    pub code: TextInput,
    /// Focused item.
    pub focus: usize,
    /// How the QR code is drawn.
    pub style: QrStyle,
    /// A code was refused: the FAQ hints are shown.
    pub failed: bool,
    /// With "change method": the second factors the member had before (kind and id), offered
    /// for removal.
    pub replaces: Vec<(crate::api::Method, i64)>,
}

impl std::fmt::Debug for TotpEnrollState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrollState")
            .field("origin", &self.origin)
            .field("loaded", &self.enrollment.is_some())
            .field("view", &self.view)
            .field("focus", &self.focus)
            .field("style", &self.style)
            .finish_non_exhaustive()
    }
}

/// Accepts ASCII and full-width digits (a Japanese input method may type either).
fn code_char(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// The code as ASCII digits.
pub fn normalize_code(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')),
            _ => None,
        })
        .collect()
}

/// A code input: digits only, so a pasted `123 456` becomes `123456`.
pub fn code_input() -> TextInput {
    TextInput::new().with_max(8).with_filter(code_char)
}

/// The key in groups of four, as apps show and accept it.
pub fn group4(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

impl TotpEnrollState {
    /// A set-up screen waiting for the server's answer; `default_name` fills the device name.
    pub fn new(origin: EnrollOrigin, style: QrStyle, default_name: &str) -> Self {
        let mut device_name = TextInput::new().with_max(32);
        device_name.set_value(default_name);
        Self {
            origin,
            enrollment: None,
            qr: None,
            view: EnrollView::Scan,
            device_name,
            code: code_input(),
            focus: 0,
            style,
            failed: false,
            replaces: Vec::new(),
        }
    }

    /// Takes the server's answer; a URI that cannot be drawn leaves the typed key.
    pub fn set_enrollment(&mut self, e: TotpEnrollment) {
        self.qr = QrCode::new(&e.otpauth_uri, self.style).ok();
        if self.qr.is_none() {
            self.view = EnrollView::Key;
        }
        self.enrollment = Some(e);
        self.focus = 0;
    }

    /// The QR code, once the answer is in.
    pub fn qr(&self) -> Option<&QrCode> {
        self.qr.as_ref()
    }

    /// Switches between half blocks and coloured spaces.
    pub fn toggle_style(&mut self) {
        self.style = match self.style {
            QrStyle::HalfBlocks => QrStyle::Spaces,
            QrStyle::Spaces => QrStyle::HalfBlocks,
        };
        self.qr = self.qr.take().map(|q| q.with_style(self.style));
    }

    /// Shows another part, focus on its first item.
    pub fn show(&mut self, view: EnrollView) {
        self.view = view;
        self.focus = 0;
        if view == EnrollView::Confirm {
            // Straight to the code when the name is already filled in.
            self.focus = usize::from(!self.device_name.value().trim().is_empty());
        }
    }

    fn cancel(&self) -> Option<Item> {
        (self.origin != EnrollOrigin::MethodSetup).then_some(Item::Button(Intent::CancelEnroll))
    }
}

impl Form for TotpEnrollState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        if self.enrollment.is_none() {
            return self.cancel().into_iter().collect();
        }
        let mut v = match self.view {
            EnrollView::Scan => vec![
                Item::Button(Intent::TotpNext),
                Item::Button(Intent::CantScan),
                Item::Button(Intent::ToggleQrStyle),
            ],
            EnrollView::Key => {
                let mut v = vec![Item::Button(Intent::TotpNext)];
                if self.qr.is_some() {
                    v.push(Item::Button(Intent::ShowQr));
                }
                v
            }
            EnrollView::Confirm => vec![
                Item::Input(InputId::DeviceName),
                Item::Input(InputId::TotpCode),
                Item::Button(Intent::ConfirmTotp),
                Item::Button(Intent::ShowQr),
            ],
        };
        v.extend(self.cancel());
        v
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        match (self.view, id) {
            (EnrollView::Confirm, InputId::DeviceName) => Some(&self.device_name),
            (EnrollView::Confirm, InputId::TotpCode) => Some(&self.code),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match (self.view, id) {
            (EnrollView::Confirm, InputId::DeviceName) => Some(&mut self.device_name),
            (EnrollView::Confirm, InputId::TotpCode) => Some(&mut self.code),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::ConfirmTotp)
    }
}

/// The QR code's place and the text column's in `area`, when the code fits beside the text.
fn split(qr: &QrCode, area: Rect) -> Option<(Rect, Rect)> {
    let room = area.width.checked_sub(TEXT_MIN + 2)?;
    let l = qr.layout(room, area.height)?;
    let qr_rect = Rect::new(area.x, area.y, l.width, l.height);
    let text = Rect::new(
        area.x + l.width + 2,
        area.y,
        area.width - l.width - 2,
        area.height,
    );
    Some((qr_rect, text))
}

/// Whether the scan view needs the whole terminal: the code fits there but not in `body`.
pub fn wants_full_frame(s: &TotpEnrollState, body: Rect, full: Rect) -> bool {
    s.view == EnrollView::Scan
        && s.enrollment.is_some()
        && s.qr
            .as_ref()
            .is_some_and(|q| split(q, body).is_none() && split(q, full).is_some())
}

fn title_key(s: &TotpEnrollState) -> &'static str {
    match s.origin {
        EnrollOrigin::MethodSetup => "totp.title",
        _ => "totp.title_home",
    }
}

fn label(lang: crate::api::Lang, i: Intent) -> String {
    t(
        lang,
        match i {
            Intent::TotpNext => "totp.next",
            Intent::CantScan => "totp.cant_scan",
            Intent::ToggleQrStyle => "totp.toggle_style",
            Intent::ShowQr => "totp.back_to_qr",
            Intent::ConfirmTotp => "totp.confirm",
            _ => "totp.cancel",
        },
    )
    .to_owned()
}

/// Draws the screen in `area`. In full-frame mode (`full`: `area` is the whole terminal) it
/// returns the row where the caller draws the status line.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    s: &TotpEnrollState,
    ctx: &mut Ctx,
    full: bool,
) -> Option<Rect> {
    let lang = ctx.lang;
    let Some(e) = &s.enrollment else {
        let mut col = Col::new(area);
        title(&mut col, frame, ctx, ctx.t(title_key(s)));
        col.gap(1);
        col.text(frame, ctx.t("totp.loading"), ctx.theme.dim());
        col.gap(1);
        let b = button_row(s, |i| label(lang, i), &[Intent::CancelEnroll]);
        col.buttons(frame, ctx, &b);
        return None;
    };
    match s.view {
        EnrollView::Scan => render_scan(frame, area, s, e, ctx, full),
        EnrollView::Key => {
            let mut col = Col::new(area);
            render_key(frame, &mut col, s, e, ctx);
            None
        }
        EnrollView::Confirm => {
            render_confirm(frame, area, s, ctx);
            None
        }
    }
}

fn render_scan(
    frame: &mut Frame,
    area: Rect,
    s: &TotpEnrollState,
    e: &TotpEnrollment,
    ctx: &mut Ctx,
    full: bool,
) -> Option<Rect> {
    let lang = ctx.lang;
    let placed = s.qr.as_ref().and_then(|q| split(q, area).map(|r| (q, r)));
    let Some((qr, (qr_rect, text))) = placed else {
        // Too small even for the smallest code: say how large, and show the key instead.
        let mut col = Col::new(area);
        let (w, h) = s.qr.as_ref().map(|q| q.required_size()).unwrap_or((0, 0));
        let size = frame.area();
        let msg = tf(
            lang,
            "totp.too_small",
            &[
                ("w", &(w + TEXT_MIN + 2).to_string()),
                ("h", &h.to_string()),
                ("cw", &size.width.to_string()),
                ("ch", &size.height.to_string()),
            ],
        );
        col.text(frame, &msg, ctx.theme.error());
        col.gap(1);
        render_key(frame, &mut col, s, e, ctx);
        return None;
    };
    frame.render_widget(qr, qr_rect);
    let mut col = Col::new(text);
    title(&mut col, frame, ctx, ctx.t(title_key(s)));
    col.gap(1);
    for k in ["totp.scan1", "totp.scan2", "totp.scan3"] {
        col.text(frame, ctx.t(k), ctx.theme.text());
    }
    col.gap(1);
    col.text(frame, ctx.t("totp.apps"), ctx.theme.dim());
    col.gap(1);
    let b = button_row(
        s,
        |i| label(lang, i),
        &[
            Intent::TotpNext,
            Intent::CantScan,
            Intent::ToggleQrStyle,
            Intent::CancelEnroll,
        ],
    );
    col.buttons(frame, ctx, &b);
    col.text(frame, ctx.t("totp.style_note"), ctx.theme.dim());
    // In full-frame mode the status line sits at the bottom of the text column.
    full.then(|| {
        Rect::new(
            text.x,
            text.bottom().saturating_sub(1),
            text.width.saturating_sub(1),
            1,
        )
    })
}

fn algorithm_name(a: TotpAlgorithm) -> &'static str {
    match a {
        TotpAlgorithm::Sha1 => "SHA1",
        TotpAlgorithm::Sha256 => "SHA256",
        TotpAlgorithm::Sha512 => "SHA512",
    }
}

fn render_key(
    frame: &mut Frame,
    col: &mut Col,
    s: &TotpEnrollState,
    e: &TotpEnrollment,
    ctx: &mut Ctx,
) {
    let lang = ctx.lang;
    title(col, frame, ctx, ctx.t("totp.key_title"));
    col.text(frame, ctx.t("totp.key_explain"), ctx.theme.text());
    col.gap(1);
    let period = tf(
        lang,
        "totp.period_value",
        &[("secs", &e.period_secs.to_string())],
    );
    let key = group4(&e.secret);
    let rows: [(&str, &str); 6] = [
        ("totp.account", &e.account),
        ("totp.key", &key),
        ("totp.kind", t(lang, "totp.kind_value")),
        ("totp.algorithm", algorithm_name(e.algorithm)),
        ("totp.digits", &e.digits.to_string()),
        ("totp.period", &period),
    ];
    let lw = rows
        .iter()
        .map(|(k, _)| width(t(lang, k)))
        .max()
        .unwrap_or(0)
        + 4;
    for (k, v) in rows {
        let l = t(lang, k);
        let pad = " ".repeat(lw.saturating_sub(width(l) + 2));
        let style = if k == "totp.key" {
            ctx.theme.title()
        } else {
            ctx.theme.text()
        };
        col.line(
            frame,
            Line::from(vec![
                Span::styled(format!("  {l}{pad}"), ctx.theme.dim()),
                Span::styled(v.to_owned(), style),
            ]),
        );
    }
    col.gap(1);
    col.text(frame, ctx.t("totp.apps"), ctx.theme.dim());
    col.gap(1);
    let b = button_row(
        s,
        |i| label(lang, i),
        &[Intent::TotpNext, Intent::ShowQr, Intent::CancelEnroll],
    );
    col.buttons(frame, ctx, &b);
}

/// The manual's FAQ hints for a refused code.
pub fn render_hints(frame: &mut Frame, col: &mut Col, ctx: &Ctx) {
    col.text(frame, ctx.t("totp.hints_title"), ctx.theme.text());
    for k in [
        "totp.hint_newest",
        "totp.hint_clock",
        "totp.hint_devices",
        "totp.hint_restart",
    ] {
        col.text(frame, ctx.t(k), ctx.theme.dim());
    }
}

fn render_confirm(frame: &mut Frame, area: Rect, s: &TotpEnrollState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    title(&mut col, frame, ctx, ctx.t("totp.confirm_title"));
    col.gap(1);
    let l_name = ctx.t("totp.device_name");
    let l_code = ctx.t("totp.code");
    let lw = u16::try_from(width(l_name).max(width(l_code)) + 3).unwrap_or(20);
    let err_name = ctx.error(Field::DeviceName).map(str::to_owned);
    let err_code = ctx.error(Field::TotpCode).map(str::to_owned);
    col.field(
        frame,
        ctx,
        l_name,
        lw,
        &s.device_name,
        32,
        0,
        s.focus == 0,
        err_name.as_deref(),
    );
    col.hint(frame, ctx, lw, "totp.device_hint");
    col.field(
        frame,
        ctx,
        l_code,
        lw,
        &s.code,
        10,
        1,
        s.focus == 1,
        err_code.as_deref(),
    );
    col.hint(frame, ctx, lw, "totp.code_hint");
    col.gap(1);
    let b = button_row(
        s,
        |i| label(lang, i),
        &[Intent::ConfirmTotp, Intent::ShowQr, Intent::CancelEnroll],
    );
    col.buttons(frame, ctx, &b);
    if s.failed {
        col.gap(1);
        render_hints(frame, &mut col, ctx);
    }
}

impl Page for TotpEnrollState {
    fn place(&self) -> Place {
        Place::portal("method_setup", "step.method_setup")
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::MethodSetup
    }
    fn error_field(&self) -> Field {
        Field::TotpCode
    }
    fn on_key(&mut self, key: KeyEvent, cx: &mut Cx) -> bool {
        if key.code != KeyCode::F(4) {
            return false;
        }
        self.toggle_style();
        *cx.qr_style = self.style;
        true
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::TotpNext => self.show(EnrollView::Confirm),
            Intent::CantScan => self.show(EnrollView::Key),
            Intent::ShowQr => self.show(EnrollView::Scan),
            Intent::ToggleQrStyle => {
                self.toggle_style();
                *cx.qr_style = self.style;
            }
            Intent::ConfirmTotp => self.confirm(cx),
            Intent::CancelEnroll => cx.go_home(),
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        match (self.view, self.origin) {
            (EnrollView::Key | EnrollView::Confirm, _) if self.qr().is_some() => {
                Some(super::Esc::Back)
            }
            (_, EnrollOrigin::MethodSetup) => None,
            _ => Some(super::Esc::Cancel),
        }
    }
    fn on_back(&mut self, cx: &mut Cx) -> Option<Intent> {
        match (self.view, self.origin) {
            (EnrollView::Key | EnrollView::Confirm, _) if self.qr().is_some() => {
                Some(Intent::ShowQr)
            }
            (_, EnrollOrigin::MethodSetup) => {
                cx.info("msg.no_back");
                None
            }
            _ => Some(Intent::CancelEnroll),
        }
    }
    fn on_reply(&mut self, reply: Reply, _cx: &mut Cx) {
        if let Reply::Enrollment(e) = reply {
            self.set_enrollment(e);
        }
    }
    fn on_error(&mut self, err: &ClientError, cx: &mut Cx) -> bool {
        let ClientError::Api(e) = err else {
            return false;
        };
        match e.code {
            // The manual's FAQ: enter the newest code; so the old one is cleared.
            code if is_code_error(code) => {
                self.failed = true;
                self.code.clear();
                self.focus = 1;
                cx.set_error(Field::TotpCode, Tr::new(code_error_key(e.code)));
                true
            }
            ErrorCode::InvalidDeviceName | ErrorCode::DeviceNameTaken => {
                let key = if e.code == ErrorCode::InvalidDeviceName {
                    "err.invalid_device_name"
                } else {
                    "err.device_name_taken"
                };
                self.focus = 0;
                cx.set_error(Field::DeviceName, Tr::new(key));
                true
            }
            ErrorCode::TooManyDevices => {
                cx.go_home();
                cx.set_error(Field::Form, Tr::new("err.too_many_devices"));
                true
            }
            _ => false,
        }
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx, false);
    }
    fn wants_full_frame(&self, body: Rect, full: Rect) -> bool {
        wants_full_frame(self, body, full)
    }
    fn draw_full(&self, frame: &mut Frame, full: Rect, ctx: &mut Ctx) -> Option<Rect> {
        render(frame, full, self, ctx, true)
    }
}

impl TotpEnrollState {
    /// Registers the device with its name and a code it shows.
    fn confirm(&self, cx: &mut Cx) {
        let device_name = self.device_name.value().trim().to_owned();
        let code = normalize_code(self.code.value());
        if device_name.is_empty() {
            cx.set_error(Field::DeviceName, Tr::new("totp.name_required"));
        }
        if code.is_empty() {
            cx.set_error(Field::TotpCode, Tr::new("totp.code_required"));
        }
        if cx.has_errors() {
            return;
        }
        cx.with_token(|token| ApiCall::ConfirmTotp {
            token,
            code,
            device_name,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_accept_full_width_and_pasted_spaces() {
        let mut i = code_input();
        i.insert_str("１２３ 456");
        assert_eq!(normalize_code(i.value()), "123456");
    }

    #[test]
    fn keys_group_by_four() {
        assert_eq!(group4("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
