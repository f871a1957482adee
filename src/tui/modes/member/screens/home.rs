//! The top screen (トップ画面) every finished journey ends on: the member, their second factors
//! with names and last use, and the profile actions (プロフィール変更): add an authenticator
//! app, rename or remove one, change the method, change the password, sign out.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::choose_method::method_key;
use super::{Col, Ctx, Field, Form, Hit, InputId, Intent, Item, Target, button_row, title};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::change_email::ChangeEmailState;
use super::email_code::{EmailCodeState, EmailCodeUse};
use super::totp_enroll::{EnrollOrigin, TotpEnrollState};
use super::{Cx, Env, Page, Place, Screen, default_device_name};
use crate::api::{ErrorCode, Step};
use crate::api::{HomeView, Lang, Method, SecondFactor};
use crate::client::ClientError;
use crate::tui::i18n::Tr;
use crate::tui::i18n::{t, tf};
use crate::tui::modes::member::{ApiCall, Reply};
use crate::tui::widgets::{TextInput, width, wrap};

/// What the top screen shows besides the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HomeMode {
    /// The list and the profile actions.
    List,
    /// Renaming the selected second factor.
    Rename,
    /// Asking before removing the selected second factor.
    ConfirmRemove,
    /// Choosing the new method.
    ChangeMethod,
    /// The new method is set up: remove these old ones (kind and id)?
    RemoveOld(Vec<(Method, i64)>),
    /// Changing the password.
    Password,
    /// A one-time code for the member to read out to the helpdesk on the phone.
    HelpdeskCode(ShownCode),
}

/// A code shown on this screen only (its `Debug` hides it; overwritten when dropped).
#[derive(Clone, PartialEq, Eq)]
pub struct ShownCode {
    /// The code.
    pub code: zeroize::Zeroizing<String>,
    /// Seconds it lives.
    pub expires_in_secs: u64,
}

impl std::fmt::Debug for ShownCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShownCode(<code>, {}s)", self.expires_in_secs)
    }
}

/// The top screen.
#[derive(Debug, Clone)]
pub struct HomeState {
    /// The server's view (None while loading).
    pub view: Option<HomeView>,
    /// The selected second factor.
    pub selected: usize,
    /// The part on screen.
    pub mode: HomeMode,
    /// The new name when renaming.
    pub new_name: TextInput,
    /// Change password: the current one.
    pub current: TextInput,
    /// Change password: the new one.
    pub password: TextInput,
    /// Change password: the new one again.
    pub confirm: TextInput,
    /// Focused item.
    pub focus: usize,
    /// The offset dates are shown in.
    pub utc_offset: time::UtcOffset,
    /// Removing the replaced methods one request at a time.
    pub removing: bool,
}

impl HomeState {
    /// A top screen waiting for its contents.
    pub fn new(utc_offset: time::UtcOffset) -> Self {
        Self {
            view: None,
            selected: 0,
            mode: HomeMode::List,
            new_name: TextInput::new().with_max(32),
            current: TextInput::masked().with_max(128),
            password: TextInput::masked().with_max(128),
            confirm: TextInput::masked().with_max(128),
            focus: 0,
            utc_offset,
            removing: false,
        }
    }

    /// The second factors (empty while loading).
    pub fn factors(&self) -> &[SecondFactor] {
        self.view
            .as_ref()
            .map(|v| v.second_factors.as_slice())
            .unwrap_or_default()
    }

    /// The selected second factor.
    pub fn selected_factor(&self) -> Option<&SecondFactor> {
        self.factors().get(self.selected)
    }

    /// Takes a new view from the server, keeping the selection in range.
    pub fn set_view(&mut self, view: HomeView) {
        self.selected = self
            .selected
            .min(view.second_factors.len().saturating_sub(1));
        self.view = Some(view);
    }

    /// Moves the selection.
    pub fn select_by(&mut self, delta: isize) {
        let n = self.factors().len();
        if n == 0 {
            return;
        }
        self.selected = self.selected.saturating_add_signed(delta).min(n - 1);
    }

    /// Shows another part, its inputs emptied and the focus on its first item.
    pub fn show(&mut self, mode: HomeMode) {
        if mode == HomeMode::Rename {
            let name = self
                .selected_factor()
                .map(|f| f.name.clone())
                .unwrap_or_default();
            self.new_name.set_value(&name);
        }
        if mode == HomeMode::Password {
            self.current.clear();
            self.password.clear();
            self.confirm.clear();
        }
        self.mode = mode;
        self.focus = 0;
        self.removing = false;
    }

    /// A date and time in the member's offset (`UTC` is said when no local offset is known).
    pub fn format_time(&self, unix: i64) -> String {
        let Ok(at) = time::OffsetDateTime::from_unix_timestamp(unix) else {
            return "-".to_owned();
        };
        let at = at.to_offset(self.utc_offset);
        let suffix = if self.utc_offset.is_utc() { " UTC" } else { "" };
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}{suffix}",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute()
        )
    }
}

impl Form for HomeState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        if self.view.is_none() {
            return vec![Item::Button(Intent::SignOut)];
        }
        let b = Item::Button;
        match &self.mode {
            HomeMode::List => {
                let mut v = vec![b(Intent::AddDevice)];
                if !self.factors().is_empty() {
                    v.extend([b(Intent::Rename), b(Intent::Remove)]);
                }
                v.extend([
                    b(Intent::ChangeMethod),
                    b(Intent::ChangePassword),
                    b(Intent::HomeChangeEmail),
                    b(Intent::HelpdeskCode),
                    b(Intent::SignOut),
                ]);
                v
            }
            HomeMode::HelpdeskCode(_) => vec![b(Intent::HomeBack)],
            HomeMode::Rename => vec![
                Item::Input(InputId::FactorName),
                b(Intent::SaveRename),
                b(Intent::HomeBack),
            ],
            HomeMode::ConfirmRemove => vec![b(Intent::ConfirmRemove), b(Intent::HomeBack)],
            HomeMode::ChangeMethod => Method::ALL
                .iter()
                .map(|m| b(Intent::AddMethod(*m)))
                .chain([b(Intent::HomeBack)])
                .collect(),
            HomeMode::RemoveOld(_) => vec![b(Intent::RemoveOld), b(Intent::HomeBack)],
            HomeMode::Password => vec![
                Item::Input(InputId::CurrentPassword),
                Item::Input(InputId::NewPassword),
                Item::Input(InputId::Confirm),
                b(Intent::SubmitPassword),
                b(Intent::ToggleReveal),
                b(Intent::HomeBack),
            ],
        }
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        match (&self.mode, id) {
            (HomeMode::Rename, InputId::FactorName) => Some(&self.new_name),
            (HomeMode::Password, InputId::CurrentPassword) => Some(&self.current),
            (HomeMode::Password, InputId::NewPassword) => Some(&self.password),
            (HomeMode::Password, InputId::Confirm) => Some(&self.confirm),
            _ => None,
        }
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        match (&self.mode, id) {
            (HomeMode::Rename, InputId::FactorName) => Some(&mut self.new_name),
            (HomeMode::Password, InputId::CurrentPassword) => Some(&mut self.current),
            (HomeMode::Password, InputId::NewPassword) => Some(&mut self.password),
            (HomeMode::Password, InputId::Confirm) => Some(&mut self.confirm),
            _ => None,
        }
    }
    fn submit(&self) -> Option<Intent> {
        match self.mode {
            HomeMode::Rename => Some(Intent::SaveRename),
            HomeMode::Password => Some(Intent::SubmitPassword),
            _ => None,
        }
    }
}

fn label(lang: Lang, i: Intent, revealed: bool) -> String {
    let key = match i {
        Intent::AddDevice => "home.add_device",
        Intent::Rename => "home.rename",
        Intent::Remove => "home.remove",
        Intent::ChangeMethod => "home.change_method",
        Intent::ChangePassword => "home.change_password",
        Intent::HomeChangeEmail => "change_email.action",
        Intent::HelpdeskCode => "home.helpdesk_code",
        Intent::SignOut => "home.sign_out",
        Intent::SaveRename => "home.save",
        Intent::ConfirmRemove => "home.remove_confirm",
        Intent::RemoveOld => "home.remove_old",
        Intent::SubmitPassword => "pw.submit",
        Intent::AddMethod(m) => method_key(m),
        Intent::ToggleReveal if revealed => "sign_in.hide",
        Intent::ToggleReveal => "sign_in.show",
        _ => "home.cancel",
    };
    t(lang, key).to_owned()
}

/// A second factor on two lines: its name and method, then when it was added and last used.
fn factor_lines(s: &HomeState, f: &SecondFactor, lang: Lang) -> (String, String) {
    let used = match f.last_used_at {
        Some(at) => tf(lang, "home.last_used", &[("at", &s.format_time(at))]),
        None => t(lang, "home.never_used").to_owned(),
    };
    (
        format!("{}  ({})", f.name, t(lang, method_key(f.method))),
        format!(
            "{}  /  {}",
            tf(
                lang,
                "home.created",
                &[("at", &s.format_time(f.created_at))]
            ),
            used
        ),
    )
}

/// Draws the top screen.
pub fn render(frame: &mut Frame, area: Rect, s: &HomeState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let mut col = Col::new(area);
    // The step row above already says トップ画面.
    let Some(view) = &s.view else {
        col.text(frame, ctx.t("home.loading"), ctx.theme.dim());
        return;
    };
    match &s.mode {
        HomeMode::List => render_list(frame, &mut col, s, view, ctx),
        HomeMode::Rename => {
            let name = s.selected_factor().map(|f| f.name.as_str()).unwrap_or("");
            col.gap(1);
            col.text(
                frame,
                &tf(lang, "home.rename_title", &[("name", name)]),
                ctx.theme.title(),
            );
            col.gap(1);
            let l = ctx.t("home.new_name");
            let lw = u16::try_from(width(l) + 3).unwrap_or(20);
            let err = ctx.error(Field::FactorName).map(str::to_owned);
            col.field(
                frame,
                ctx,
                l,
                lw,
                &s.new_name,
                32,
                0,
                s.focus == 0,
                err.as_deref(),
            );
            col.hint(frame, ctx, lw, "totp.device_hint");
            col.gap(1);
            let b = button_row(
                s,
                |i| label(lang, i, false),
                &[Intent::SaveRename, Intent::HomeBack],
            );
            col.buttons(frame, ctx, &b);
        }
        HomeMode::ConfirmRemove => {
            let name = s.selected_factor().map(|f| f.name.as_str()).unwrap_or("");
            col.gap(1);
            col.text(
                frame,
                &tf(lang, "home.remove_title", &[("name", name)]),
                ctx.theme.title(),
            );
            col.text(frame, ctx.t("home.remove_explain"), ctx.theme.text());
            col.gap(1);
            let b = button_row(
                s,
                |i| label(lang, i, false),
                &[Intent::ConfirmRemove, Intent::HomeBack],
            );
            col.buttons(frame, ctx, &b);
        }
        HomeMode::ChangeMethod => {
            col.gap(1);
            col.text(frame, ctx.t("home.method_title"), ctx.theme.title());
            col.text(frame, ctx.t("home.method_explain"), ctx.theme.text());
            col.gap(1);
            let mut which: Vec<Intent> =
                Method::ALL.iter().map(|m| Intent::AddMethod(*m)).collect();
            which.push(Intent::HomeBack);
            let b = button_row(s, |i| label(lang, i, false), &which);
            col.buttons(frame, ctx, &b);
        }
        HomeMode::RemoveOld(ids) => {
            let names: Vec<&str> = s
                .factors()
                .iter()
                .filter(|f| ids.contains(&(f.method, f.id)))
                .map(|f| f.name.as_str())
                .collect();
            col.gap(1);
            col.text(frame, ctx.t("home.remove_old_title"), ctx.theme.title());
            col.text(
                frame,
                &tf(
                    lang,
                    "home.remove_old_explain",
                    &[("names", &names.join("、"))],
                ),
                ctx.theme.text(),
            );
            col.gap(1);
            let b = button_row(
                s,
                |i| match i {
                    Intent::HomeBack => t(lang, "home.keep_old").to_owned(),
                    other => label(lang, other, false),
                },
                &[Intent::RemoveOld, Intent::HomeBack],
            );
            col.buttons(frame, ctx, &b);
        }
        HomeMode::Password => render_password(frame, &mut col, s, ctx),
        HomeMode::HelpdeskCode(shown) => render_helpdesk_code(frame, &mut col, s, shown, ctx),
    }
}

fn render_list(frame: &mut Frame, col: &mut Col, s: &HomeState, view: &HomeView, ctx: &mut Ctx) {
    let lang = ctx.lang;
    title(
        col,
        frame,
        ctx,
        &tf(lang, "home.welcome", &[("name", &view.member.name)]),
    );
    col.line(
        frame,
        Line::from(vec![
            Span::styled(format!("{}: ", ctx.t("home.user_id")), ctx.theme.dim()),
            Span::styled(view.member.user_id.clone(), ctx.theme.text()),
            Span::raw("   "),
            Span::styled(format!("{}: ", ctx.t("home.email")), ctx.theme.dim()),
            Span::styled(view.member.email.clone(), ctx.theme.text()),
        ]),
    );
    col.gap(1);
    col.text(frame, ctx.t("home.factors"), ctx.theme.title());
    if view.second_factors.is_empty() {
        col.text(frame, ctx.t("home.none"), ctx.theme.dim());
    }
    for (i, f) in view.second_factors.iter().enumerate() {
        let selected = i == s.selected;
        let marker = if selected { ">" } else { " " };
        let (head, dates) = factor_lines(s, f, lang);
        let first = |text: String| {
            wrap(&text, usize::from(col.area.width))
                .into_iter()
                .next()
                .unwrap_or_default()
        };
        let style = if selected {
            ctx.theme.focus()
        } else {
            ctx.theme.text()
        };
        let y = col.y;
        let head = first(format!("{marker} {head}"));
        let dates = first(format!("    {dates}"));
        col.line(frame, Line::from(Span::styled(head, style)));
        col.line(frame, Line::from(Span::styled(dates, ctx.theme.dim())));
        ctx.hits.push(Hit {
            rect: Rect::new(col.area.x, y, col.area.width, 2),
            target: Target::Row(i),
        });
    }
    if view.enrollment_pending {
        col.text(frame, ctx.t("home.pending"), ctx.theme.dim());
    }
    col.text(
        frame,
        &tf(
            lang,
            "home.limit",
            &[("max", &view.max_totp_devices.to_string())],
        ),
        ctx.theme.dim(),
    );
    col.gap(1);
    col.text(frame, ctx.t("home.profile"), ctx.theme.title());
    let b = button_row(
        s,
        |i| label(lang, i, false),
        &[
            Intent::AddDevice,
            Intent::Rename,
            Intent::Remove,
            Intent::ChangeMethod,
            Intent::ChangePassword,
            Intent::HomeChangeEmail,
            Intent::HelpdeskCode,
            Intent::SignOut,
        ],
    );
    col.buttons(frame, ctx, &b);
}

/// The code to read out to the helpdesk: large, spaced in two groups, with how long it lives.
fn render_helpdesk_code(
    frame: &mut Frame,
    col: &mut Col,
    s: &HomeState,
    shown: &ShownCode,
    ctx: &mut Ctx,
) {
    let lang = ctx.lang;
    col.gap(1);
    col.text(frame, ctx.t("home.helpdesk_title"), ctx.theme.title());
    col.gap(1);
    col.text(frame, ctx.t("home.helpdesk_explain"), ctx.theme.text());
    col.gap(1);
    let code = shown.code.as_str();
    let (a, b) = code.split_at(code.len() / 2);
    col.line(
        frame,
        Line::from(Span::styled(format!("    {a} {b}"), ctx.theme.title())),
    );
    col.gap(1);
    let minutes = shown.expires_in_secs.div_ceil(60).to_string();
    col.text(
        frame,
        &tf(lang, "home.helpdesk_expires", &[("minutes", &minutes)]),
        ctx.theme.dim(),
    );
    col.gap(1);
    let b = button_row(s, |i| label(lang, i, false), &[Intent::HomeBack]);
    col.buttons(frame, ctx, &b);
}

fn render_password(frame: &mut Frame, col: &mut Col, s: &HomeState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    col.gap(1);
    col.text(frame, ctx.t("pw.title"), ctx.theme.title());
    col.gap(1);
    let labels = [ctx.t("pw.current"), ctx.t("pw.new"), ctx.t("pw.confirm")];
    let lw = u16::try_from(labels.iter().map(|l| width(l)).max().unwrap_or(0) + 3).unwrap_or(24);
    let fields = [
        (labels[0], &s.current, Field::CurrentPassword),
        (labels[1], &s.password, Field::NewPassword),
        (labels[2], &s.confirm, Field::Confirm),
    ];
    for (i, (l, input, field)) in fields.into_iter().enumerate() {
        let err = ctx.error(field).map(str::to_owned);
        col.field(
            frame,
            ctx,
            l,
            lw,
            input,
            30,
            i,
            s.focus == i,
            err.as_deref(),
        );
    }
    col.gap(1);
    col.text(frame, ctx.t("cred.rule_pw_length"), ctx.theme.dim());
    col.gap(1);
    let revealed = s.password.revealed;
    let b = button_row(
        s,
        |i| label(lang, i, revealed),
        &[
            Intent::SubmitPassword,
            Intent::ToggleReveal,
            Intent::HomeBack,
        ],
    );
    col.buttons(frame, ctx, &b);
}

impl Page for HomeState {
    fn place(&self) -> Place {
        Place::portal("home", "step.home")
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::Home
    }
    fn on_key(&mut self, key: KeyEvent, _cx: &mut Cx) -> bool {
        if self.mode != HomeMode::List {
            return false;
        }
        match key.code {
            KeyCode::Up => self.select_by(-1),
            KeyCode::Down => self.select_by(1),
            _ => return false,
        }
        true
    }
    fn on_row(&mut self, i: usize) {
        if self.mode == HomeMode::List {
            self.selected = i.min(self.factors().len().saturating_sub(1));
        }
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::AddDevice => self.start_enroll(EnrollOrigin::AddDevice, cx),
            Intent::AddMethod(Method::TotpApp) => self.start_enroll(EnrollOrigin::ChangeMethod, cx),
            // Add the emailed code.
            Intent::AddMethod(Method::EmailOtp) => {
                let Some(t) = cx.token_or_expire() else {
                    return;
                };
                cx.clear_messages();
                let mut e = EmailCodeState::new(EmailCodeUse::Setup);
                e.replaces = self.replaced_by(Method::EmailOtp);
                cx.go(Screen::EmailCode(e));
                cx.call(ApiCall::SendEmailCode(t));
            }
            Intent::AddMethod(Method::Passkey) => {
                cx.open_passkey_replacing(self.replaced_by(Method::Passkey))
            }
            Intent::Rename | Intent::Remove => {
                if self.selected_factor().is_none() {
                    cx.info("home.no_selection");
                    return;
                }
                // The email method is named by the address: it changes with the address.
                if intent == Intent::Rename
                    && self
                        .selected_factor()
                        .is_some_and(|f| f.method == Method::EmailOtp)
                {
                    cx.info("home.rename_email");
                    return;
                }
                // Said before asking (with the way to change instead): the server never
                // removes the last one.
                if intent == Intent::Remove && self.factors().len() <= 1 {
                    cx.set_error(Field::Form, Tr::new("err.last_second_factor"));
                    return;
                }
                self.show(if intent == Intent::Rename {
                    HomeMode::Rename
                } else {
                    HomeMode::ConfirmRemove
                });
            }
            Intent::ChangeMethod | Intent::ChangePassword | Intent::HomeBack => {
                cx.clear_errors();
                self.show(match intent {
                    Intent::ChangeMethod => HomeMode::ChangeMethod,
                    Intent::ChangePassword => HomeMode::Password,
                    _ => HomeMode::List,
                });
            }
            Intent::SaveRename => {
                let name = self.new_name.value().trim().to_owned();
                let Some((method, id)) = self.selected_factor().map(|f| (f.method, f.id)) else {
                    return;
                };
                if name.is_empty() {
                    cx.set_error(Field::FactorName, Tr::new("totp.name_required"));
                    return;
                }
                cx.with_token(|t| ApiCall::RenameFactor(t, method, id, name));
            }
            Intent::ConfirmRemove => {
                if let Some((method, id)) = self.selected_factor().map(|f| (f.method, f.id)) {
                    cx.with_token(|t| ApiCall::RemoveFactor(t, method, id));
                }
            }
            Intent::RemoveOld => self.remove_next_old(cx),
            Intent::SubmitPassword => self.submit_password(cx),
            Intent::ToggleReveal => {
                let r = !self.password.revealed;
                self.current.revealed = r;
                self.password.revealed = r;
                self.confirm.revealed = r;
            }
            Intent::HomeChangeEmail => {
                let current = cx
                    .flow
                    .as_ref()
                    .and_then(|f| f.email.clone())
                    .unwrap_or_default();
                cx.clear_messages();
                cx.go(Screen::ChangeEmail(ChangeEmailState::new(current)));
            }
            Intent::HelpdeskCode => {
                cx.clear_errors();
                cx.with_token(ApiCall::HelpdeskCode);
            }
            Intent::SignOut => cx.sign_out(),
            _ => {}
        }
    }
    fn esc(&self, _step: Option<Step>) -> Option<super::Esc> {
        (self.mode != HomeMode::List).then_some(super::Esc::Back)
    }
    fn on_back(&mut self, _cx: &mut Cx) -> Option<Intent> {
        (self.mode != HomeMode::List).then_some(Intent::HomeBack)
    }
    /// The contents arrived (first load, or after a change).
    fn on_reply(&mut self, reply: Reply, cx: &mut Cx) {
        if let Reply::HelpdeskCode(code, expires_in_secs) = reply {
            self.show(HomeMode::HelpdeskCode(ShownCode {
                code,
                expires_in_secs,
            }));
            return;
        }
        let Reply::Home(view) = reply else {
            return;
        };
        let flow = view.flow.clone();
        self.set_view(view);
        *cx.flow = Some(flow);
        let done = match &self.mode {
            HomeMode::Rename => Some("home.renamed"),
            HomeMode::ConfirmRemove => Some("home.removed"),
            HomeMode::Password => Some("home.password_changed"),
            _ => None,
        };
        if self.removing {
            return self.remove_next_old(cx);
        }
        if let Some(key) = done {
            self.show(HomeMode::List);
            cx.info(key);
        }
    }
    fn on_error(&mut self, err: &ClientError, cx: &mut Cx) -> bool {
        let ClientError::Api(e) = err else {
            return false;
        };
        match e.code {
            ErrorCode::InvalidCredentials => {
                cx.set_error(
                    Field::CurrentPassword,
                    Tr::new("err.wrong_current_password"),
                );
                true
            }
            ErrorCode::InvalidDeviceName => {
                cx.set_error(Field::FactorName, Tr::new("err.invalid_device_name"));
                true
            }
            ErrorCode::DeviceNameTaken => {
                cx.set_error(Field::FactorName, Tr::new("err.device_name_taken"));
                true
            }
            ErrorCode::LastSecondFactor => {
                self.show(HomeMode::List);
                false
            }
            _ => false,
        }
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, _env: &Env) {
        render(frame, area, self, ctx);
    }
}

impl HomeState {
    /// Opens the authenticator-app set-up.
    fn start_enroll(&self, origin: EnrollOrigin, cx: &mut Cx) {
        let apps = self
            .factors()
            .iter()
            .filter(|f| f.method == Method::TotpApp)
            .count();
        if let Some(v) = &self.view
            && apps >= usize::try_from(v.max_totp_devices).unwrap_or(usize::MAX)
        {
            cx.set_error(Field::Form, Tr::new("err.too_many_devices"));
            return;
        }
        // Numbered among the apps: the first phone of a member with the emailed code is not "2".
        let name = default_device_name(cx.lang(), apps);
        let mut e = TotpEnrollState::new(origin, *cx.qr_style, &name);
        if origin == EnrollOrigin::ChangeMethod {
            e.replaces = self.replaced_by(Method::TotpApp);
        }
        cx.go(Screen::TotpEnroll(e));
        cx.with_token(ApiCall::StartTotp);
    }

    /// The factors a change to `new` replaces, by kind and id (ids are per kind): all the
    /// member has, except the email method when the email method is what is set up again.
    fn replaced_by(&self, new: Method) -> Vec<(Method, i64)> {
        self.factors()
            .iter()
            .filter(|f| !(new == Method::EmailOtp && f.method == Method::EmailOtp))
            .map(|f| (f.method, f.id))
            .collect()
    }

    /// Removes the next of the methods the member replaced (one request at a time).
    fn remove_next_old(&mut self, cx: &mut Cx) {
        let HomeMode::RemoveOld(ids) = &mut self.mode else {
            return;
        };
        let Some((method, id)) = ids.pop() else {
            self.show(HomeMode::List);
            cx.info("home.removed");
            return;
        };
        self.removing = true;
        cx.with_token(|t| ApiCall::RemoveFactor(t, method, id));
    }

    /// Sends the password change after the checks the screen can make.
    fn submit_password(&self, cx: &mut Cx) {
        let current = self.current.value().to_owned();
        let new = self.password.value().to_owned();
        let confirm = self.confirm.value().to_owned();
        if current.is_empty() {
            cx.set_error(Field::CurrentPassword, Tr::new("err.required"));
        }
        cx.check_new_password(&new, &confirm);
        if cx.has_errors() {
            return;
        }
        cx.with_token(|token| ApiCall::ChangePassword {
            token,
            current,
            new,
        });
    }
}
