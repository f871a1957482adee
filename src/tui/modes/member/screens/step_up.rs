//! Step-up (本人確認): a sensitive action of the top screen (adding an app or a passkey,
//! changing the address, removing a method) was refused with `step_up_required`, or held back
//! because the top screen already knew the step-up window had lapsed. A small box over the
//! screen the member was on asks for the password — or a code of their authenticator app, the
//! two proofs the server takes — and once it is accepted the request is sent by itself. Esc
//! leaves for the top screen with nothing changed.

use ratatui::Frame;
use ratatui::layout::Rect;
use zeroize::Zeroizing;

use super::totp_enroll::{code_input, normalize_code};
use super::{Col, Ctx, Cx, Env, Field, Form, InputId, Intent, Item, Page, Place, Screen};
use super::{button_row, passkey::PasskeyPurpose};
use crate::api::{ErrorCode, FlowView, Step};
use crate::client::ClientError;
use crate::tui::i18n::{Tr, t, tf};
use crate::tui::modes::member::ApiCall;
use crate::tui::modes::member::chrome::panel;
use crate::tui::widgets::{TextInput, width, wrap};

/// What the member proves themselves with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The password they sign in with.
    Password,
    /// A code of one of their authenticator apps.
    AppCode,
}

/// The step-up prompt over the screen whose request was refused or held back.
#[derive(Debug, Clone)]
pub struct StepUpState {
    /// The screen underneath, as it was when its request went out (it takes the answer of the
    /// request sent again).
    pub under: Box<Screen>,
    /// The refused (or held-back) request, sent once the member is proved.
    pub retry: Option<ApiCall>,
    /// The member has an authenticator app: its code is offered besides the password.
    pub has_app: bool,
    /// What the member is typing.
    pub proof: Proof,
    /// The password or the code (masked; wiped once sent).
    pub secret: TextInput,
    /// Focused item.
    pub focus: usize,
    /// The proof is on its way (the next view of the flow is its answer).
    pub sent: bool,
}

impl StepUpState {
    /// The prompt over `under`, whose request `retry` was refused or held back; `has_app`
    /// offers the app's code too.
    pub fn new(under: Screen, retry: ApiCall, has_app: bool) -> Self {
        Self {
            under: Box::new(under),
            retry: Some(retry),
            has_app,
            proof: Proof::Password,
            secret: password_input(),
            focus: 0,
            sent: false,
        }
    }

    /// Switches between the password and the app's code, the input emptied.
    fn switch(&mut self) {
        self.secret.wipe();
        (self.proof, self.secret) = match self.proof {
            Proof::Password if self.has_app => (Proof::AppCode, masked_code_input()),
            _ => (Proof::Password, password_input()),
        };
        self.focus = 0;
    }

    /// The field the input's errors go to.
    fn field(&self) -> Field {
        match self.proof {
            Proof::Password => Field::CurrentPassword,
            Proof::AppCode => Field::TotpCode,
        }
    }

    fn input_id(&self) -> InputId {
        match self.proof {
            Proof::Password => InputId::CurrentPassword,
            Proof::AppCode => InputId::TotpCode,
        }
    }

    fn buttons(&self) -> Vec<Intent> {
        let mut v = vec![Intent::StepUpSubmit];
        if self.has_app {
            v.push(Intent::StepUpSwitch);
        }
        v.push(Intent::StepUpCancel);
        v
    }

    /// Sends the proof; the typed text is wiped from the input at once and the copy in the
    /// request is wiped once the request is done.
    fn submit(&mut self, cx: &mut Cx) {
        let secret = match self.proof {
            Proof::Password => Zeroizing::new(self.secret.value().to_owned()),
            Proof::AppCode => Zeroizing::new(normalize_code(self.secret.value())),
        };
        self.secret.wipe();
        if secret.is_empty() {
            let key = match self.proof {
                Proof::Password => "err.required",
                Proof::AppCode => "totp.code_required",
            };
            cx.set_error(self.field(), Tr::new(key));
            return;
        }
        let proof = self.proof;
        if let Some(t) = cx.token_or_expire() {
            self.sent = true;
            cx.call(ApiCall::StepUp(t, proof, secret));
        }
    }

    /// Leaves for the top screen; the refused action is dropped.
    fn cancel(&mut self, cx: &mut Cx) {
        self.secret.wipe();
        self.retry = None;
        cx.go_home();
        cx.info("step_up.cancelled");
    }
}

/// However the prompt ends (proved, cancelled, the session scrubbed), the typed text is wiped.
impl Drop for StepUpState {
    fn drop(&mut self) {
        self.secret.wipe();
    }
}

fn password_input() -> TextInput {
    TextInput::masked().with_max(128)
}

fn masked_code_input() -> TextInput {
    let mut input = code_input();
    input.masked = true;
    input
}

/// The i18n key naming the action `call` asks for.
fn action_key(call: Option<&ApiCall>) -> &'static str {
    match call {
        Some(ApiCall::StartPasskey(..)) => "step_up.action.add_passkey",
        Some(ApiCall::ChangeEmail(..)) => "step_up.action.change_email",
        Some(ApiCall::RemoveFactor(..)) => "step_up.action.remove",
        _ => "step_up.action.add_app",
    }
}

impl Form for StepUpState {
    type Intent = Intent;
    type Input = InputId;
    fn items(&self) -> Vec<Item> {
        let mut v = vec![Item::Input(self.input_id())];
        v.extend(self.buttons().into_iter().map(Item::Button));
        v
    }
    fn focus(&self) -> usize {
        self.focus
    }
    fn set_focus(&mut self, i: usize) {
        self.focus = i;
    }
    fn input(&self, id: InputId) -> Option<&TextInput> {
        (id == self.input_id()).then_some(&self.secret)
    }
    fn input_mut(&mut self, id: InputId) -> Option<&mut TextInput> {
        (id == self.input_id()).then_some(&mut self.secret)
    }
    fn submit(&self) -> Option<Intent> {
        Some(Intent::StepUpSubmit)
    }
}

/// The box in `area`: the body's width on a small terminal (no half-hidden button of the
/// screen underneath peeks out at its sides), 72 columns on a wide one; `rows` high inside.
fn box_rect(area: Rect, rows: u16) -> Rect {
    let w = if area.width < 90 {
        area.width
    } else {
        area.width.min(72)
    };
    let h = rows.saturating_add(2).min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Draws the box over the screen underneath.
fn render_box(frame: &mut Frame, area: Rect, s: &StepUpState, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let action = t(lang, action_key(s.retry.as_ref()));
    let explain = tf(lang, "step_up.explain", &[("action", action)]);
    let (ask, label) = match s.proof {
        Proof::Password => ("step_up.by_password", "step_up.password"),
        Proof::AppCode => ("step_up.by_code", "step_up.code"),
    };
    let ask = ctx.t(ask);
    let l = ctx.t(label);
    let lw = u16::try_from(width(l) + 3).unwrap_or(20);
    let err = ctx.error(s.field()).map(str::to_owned);
    let labels: Vec<String> = s
        .buttons()
        .into_iter()
        .map(|i| {
            let key = match i {
                Intent::StepUpSubmit => "step_up.submit",
                Intent::StepUpSwitch if s.proof == Proof::Password => "step_up.use_app",
                Intent::StepUpSwitch => "step_up.use_password",
                _ => "step_up.cancel",
            };
            t(lang, key).to_owned()
        })
        .collect();
    // The rows the contents take at the box's width, so the box fits them exactly.
    let text_w = usize::from(box_rect(area, 0).width.saturating_sub(4));
    let lines = |text: &str, w: usize| u16::try_from(wrap(text, w).len()).unwrap_or(1);
    let err_rows = err.as_deref().map_or(0, |e| {
        lines(
            &format!("! {e}"),
            text_w.saturating_sub(usize::from(lw) + 1),
        )
    });
    let buttons_w: usize = labels.iter().map(|l| width(l) + 7).sum();
    let button_rows = if buttons_w > text_w { 2 } else { 1 };
    let rows = lines(&explain, text_w) + lines(ask, text_w) + 3 + err_rows + button_rows;
    let rect = box_rect(area, rows);

    let mut col = Col::new(panel(frame, rect, ctx.t("step_up.title"), ctx.theme));
    col.text(frame, &explain, ctx.theme.text());
    col.text(frame, ask, ctx.theme.text());
    col.gap(1);
    col.field(
        frame,
        ctx,
        l,
        lw,
        &s.secret,
        24,
        0,
        s.focus == 0,
        err.as_deref(),
    );
    col.gap(1);
    let intents = s.buttons();
    let b = button_row(
        s,
        |i| {
            let at = intents.iter().position(|x| *x == i).unwrap_or(0);
            labels.get(at).cloned().unwrap_or_default()
        },
        &intents,
    );
    col.buttons(frame, ctx, &b);
}

impl Page for StepUpState {
    fn place(&self) -> Place {
        Place {
            name: "step_up",
            ..self.under.page().place()
        }
    }
    fn shows(&self, step: Step) -> bool {
        step == Step::Home
    }
    fn error_field(&self) -> Field {
        self.field()
    }
    fn on_intent(&mut self, intent: Intent, cx: &mut Cx) {
        match intent {
            Intent::StepUpSubmit => self.submit(cx),
            Intent::StepUpSwitch => {
                cx.clear_errors();
                self.switch();
            }
            Intent::StepUpCancel => self.cancel(cx),
            _ => {}
        }
    }
    fn on_back(&mut self, cx: &mut Cx) -> Option<Intent> {
        self.cancel(cx);
        None
    }
    /// Proved: back to the screen underneath, and its refused request goes out again (its
    /// answer shows there as it would have at first).
    fn on_flow(&mut self, view: &FlowView, cx: &mut Cx) -> bool {
        if !std::mem::take(&mut self.sent) || view.step != Step::Home {
            return false;
        }
        *cx.flow = Some(view.clone());
        cx.go((*self.under).clone());
        if let Some(call) = self.retry.take() {
            cx.call(call);
        }
        true
    }
    /// A wrong password or code is said at the field; anything else is the app's to say (the
    /// wait after too many attempts goes to the field too, see [`Page::error_field`]).
    fn on_error(&mut self, err: &ClientError, cx: &mut Cx) -> bool {
        self.sent = false;
        self.focus = 0;
        match err {
            ClientError::Api(e) if e.code == ErrorCode::InvalidCredentials => {
                let key = match self.proof {
                    Proof::Password => "step_up.wrong_password",
                    Proof::AppCode => "step_up.wrong_code",
                };
                cx.set_error(self.field(), Tr::new(key));
                true
            }
            _ => false,
        }
    }
    /// The screen underneath first, without its clickable places, then the box.
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &mut Ctx, env: &Env) {
        let mut hidden = Vec::new();
        let mut under = Ctx {
            lang: ctx.lang,
            theme: ctx.theme,
            hits: &mut hidden,
            errors: Vec::new(),
        };
        // Nothing underneath looks focused: the keys go to the box.
        let mut behind = (*self.under).clone();
        behind.page_mut().set_focus(usize::MAX);
        behind.page().draw(frame, area, &mut under, env);
        render_box(frame, area, self, ctx);
    }
}

/// Whether the server may refuse `call` with `step_up_required` (a sensitive action of the
/// top screen): then the prompt can ask and send it again.
pub fn may_need_step_up(call: &ApiCall) -> bool {
    matches!(
        call,
        ApiCall::StartTotp(_)
            | ApiCall::ConfirmTotp { .. }
            | ApiCall::ChangeEmail(..)
            | ApiCall::RemoveFactor(..)
            | ApiCall::StartPasskey(_, PasskeyPurpose::Register)
    )
}
