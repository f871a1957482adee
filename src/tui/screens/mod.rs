//! One module per screen of the first login. Each screen owns its state (inputs, focus), lists
//! its focusable items, and draws itself; the generic key handling lives in `app`.

pub mod awaiting;
pub mod birth_date;
pub mod choose_method;
pub mod complete;
pub mod email;
pub mod home;
pub mod new_credentials;
pub mod passkey;
pub mod second_factor;
// issue 5
pub mod change_email;
pub mod email_code;
pub mod recover;
pub mod sign_in;
pub mod terms;
pub mod totp_enroll;
pub mod welcome;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::api::{Lang, Method};
use crate::tui::i18n::t;
use crate::tui::theme::Theme;
use crate::tui::widgets::{Button, TextInput, render_buttons, wrap};

/// The text inputs of all screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputId {
    /// Sign-in: user ID.
    UserId,
    /// Sign-in: password.
    Password,
    /// Birth date: year.
    Year,
    /// Birth date: month.
    Month,
    /// Birth date: day.
    Day,
    /// Email: the new address.
    NewEmail,
    /// New credentials: password.
    NewPassword,
    /// New credentials: confirmation.
    Confirm,
    /// New credentials: optional new user ID.
    NewUserId,
    /// Authenticator app: the device's name.
    DeviceName,
    /// Authenticator app: the one-time password.
    TotpCode,
    /// Home: a second factor's new name.
    FactorName,
    /// Home, change password: the current password.
    CurrentPassword,
    // issue 5
    /// Recovery: the insurance card's symbol (記号).
    Symbol,
    /// Recovery: the insurance card's number (番号).
    Number,
    /// Recovery: the date of birth as one text (YYYYMMDD or YYYY-MM-DD).
    RecoverBirth,
    // issue 6
    /// Passkey: the security key's PIN (masked).
    PasskeyPin,
    /// Passkey: the new passkey's name.
    PasskeyName,
}

/// What an error message is about: where it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The user ID on sign-in.
    UserId,
    /// The password on sign-in.
    Password,
    /// The date of birth.
    BirthDate,
    /// The email address.
    Email,
    /// The new password.
    NewPassword,
    /// The confirmation of the new password.
    Confirm,
    /// The new user ID.
    NewUserId,
    /// An authenticator app's device name.
    DeviceName,
    /// A one-time password.
    TotpCode,
    /// A second factor's new name.
    FactorName,
    /// The current password (when changing it).
    CurrentPassword,
    /// The whole screen (shown in the status line).
    Form,
    // issue 6
    /// A security key's PIN.
    PasskeyPin,
    /// A new passkey's name.
    PasskeyName,
}

impl InputId {
    /// The field whose errors this input shows.
    pub fn field(self) -> Field {
        match self {
            Self::UserId => Field::UserId,
            Self::Password => Field::Password,
            Self::Year | Self::Month | Self::Day => Field::BirthDate,
            Self::NewEmail => Field::Email,
            Self::NewPassword => Field::NewPassword,
            Self::Confirm => Field::Confirm,
            Self::NewUserId => Field::NewUserId,
            Self::DeviceName => Field::DeviceName,
            Self::TotpCode => Field::TotpCode,
            Self::FactorName => Field::FactorName,
            Self::CurrentPassword => Field::CurrentPassword,
            Self::Symbol | Self::Number => Field::UserId,
            Self::RecoverBirth => Field::BirthDate,
            Self::PasskeyPin => Field::PasskeyPin,
            Self::PasskeyName => Field::PasskeyName,
        }
    }
}

/// What a button (or Enter in an input) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Welcome → sign-in.
    Start,
    /// Switch between Japanese and English.
    SwitchLang,
    /// Sign in.
    SignIn,
    /// Show or hide the password(s).
    ToggleReveal,
    /// "Forgot your user ID?"
    ForgotId,
    /// "Forgot your password?"
    ForgotPassword,
    /// Send the date of birth.
    SubmitBirthDate,
    /// Agree to the terms.
    AcceptTerms,
    /// Decline the terms (signs out).
    DeclineTerms,
    /// Confirm the address on file.
    ConfirmEmail,
    /// Send the typed new address.
    ChangeEmail,
    /// 更新: ask the server whether the link was opened.
    Refresh,
    /// Send the verification mail again.
    Resend,
    /// Go back to change the address.
    ChangeAddress,
    /// Choose a method.
    Choose(Method),
    /// Set the new password (and user ID).
    SetCredentials,
    /// Back to the method choice.
    BackToMethod,
    /// 【10】→【11】: sign out.
    SignOut,
    /// 【11】→ the sign-in screen.
    SignInAgain,
    /// Leave the program.
    Quit,
    /// Authenticator app: from the QR code or the key to entering the code.
    TotpNext,
    /// Authenticator app: "Can't scan?" (the key to type).
    CantScan,
    /// Authenticator app: back to the QR code.
    ShowQr,
    /// Switch the QR code between half blocks and coloured spaces.
    ToggleQrStyle,
    /// Authenticator app: register the device with its name and a code.
    ConfirmTotp,
    /// Leave an enrollment started from the top screen.
    CancelEnroll,
    /// Sign-in: send the one-time password.
    VerifyTotp,
    /// Home: add another authenticator app.
    AddDevice,
    /// Home: rename the selected second factor.
    Rename,
    /// Home: remove the selected second factor.
    Remove,
    /// Home: change the authentication method.
    ChangeMethod,
    /// Home: change the password.
    ChangePassword,
    /// Home: set up this method (from "change method").
    AddMethod(Method),
    /// Home: save the new name.
    SaveRename,
    /// Home: remove after confirming.
    ConfirmRemove,
    /// Home: remove the methods the member had before changing method.
    RemoveOld,
    /// Home: back to the list (cancel a dialog, or keep the old methods).
    HomeBack,
    /// Home: send the password change.
    SubmitPassword,
    // issue 5
    /// Email code: check the code.
    VerifyEmailCode,
    /// Email code: send another code.
    ResendEmailCode,
    /// Recovery: send the request (or the code and new password).
    SubmitRecover,
    /// Recovery: back to the sign-in.
    RecoverBack,
    /// Home: change the email address.
    HomeChangeEmail,
    /// Change email: send the link to the new address.
    SubmitChangeEmail,
    // issue 6
    /// Passkey: use this transport.
    PasskeyUse(crate::passkey::PasskeyTransport),
    /// Passkey: send the typed PIN to the key.
    PasskeySubmitPin,
    /// Passkey: save the new passkey under its name (【7】「次へ」).
    PasskeySaveName,
    /// Passkey: try again after a failure.
    PasskeyRetry,
    /// Passkey: cancel the ceremony (Esc) or leave the screen.
    PasskeyCancel,
    /// Second factor: sign in with a passkey instead of a code.
    PasskeySignIn,
}

/// A focusable item of a screen, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A text input.
    Input(InputId),
    /// A button.
    Button(Intent),
}

/// What a mouse click landed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The n-th focusable item of the current screen.
    Item(usize),
    /// The language switch in the header.
    Lang,
    /// The mailbox toggle in the footer.
    MailboxToggle,
    /// The n-th message's link in the mailbox panel.
    Mail(usize),
    /// The n-th row of a list (the top screen's second factors).
    Row(usize),
}

/// A clickable rectangle recorded while drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Where.
    pub rect: Rect,
    /// What.
    pub target: Target,
}

/// The focus and items of a screen.
pub trait Form {
    /// Focusable items in Tab order.
    fn items(&self) -> Vec<Item>;
    /// The focused item's index.
    fn focus(&self) -> usize;
    /// Moves the focus.
    fn set_focus(&mut self, i: usize);
    /// An input of this screen.
    fn input(&self, _id: InputId) -> Option<&TextInput> {
        None
    }
    /// An input of this screen, to edit.
    fn input_mut(&mut self, _id: InputId) -> Option<&mut TextInput> {
        None
    }
    /// What Enter does in the last input.
    fn submit(&self) -> Option<Intent> {
        None
    }
    /// The focused item.
    fn focused(&self) -> Option<Item> {
        self.items().get(self.focus()).copied()
    }
    /// The index of `item`, if the screen has it.
    fn index_of(&self, item: Item) -> Option<usize> {
        self.items().iter().position(|i| *i == item)
    }
}

/// What the screens need to draw: language, theme, the messages, and where to record clicks.
pub struct Ctx<'a> {
    /// The language.
    pub lang: Lang,
    /// The styles.
    pub theme: Theme,
    /// Clickable rectangles, filled while drawing.
    pub hits: &'a mut Vec<Hit>,
    /// Error messages by field, already translated.
    pub errors: Vec<(Field, String)>,
}

impl Ctx<'_> {
    /// The translated error of `field`, if any.
    pub fn error(&self, field: Field) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, s)| s.as_str())
    }
    /// `t` in the current language.
    pub fn t(&self, key: &'static str) -> &'static str {
        t(self.lang, key)
    }
}

/// A column that screens fill top to bottom; it clips at the bottom of its area.
pub struct Col {
    /// The column.
    pub area: Rect,
    /// The next free row.
    pub y: u16,
}

impl Col {
    /// A column over `area`.
    pub fn new(area: Rect) -> Self {
        Self { area, y: area.y }
    }

    /// Rows left.
    pub fn left(&self) -> u16 {
        self.area.bottom().saturating_sub(self.y)
    }

    /// Skips `n` rows.
    pub fn gap(&mut self, n: u16) {
        self.y = self.y.saturating_add(n).min(self.area.bottom());
    }

    /// A row of the column (None when full).
    pub fn row(&mut self) -> Option<Rect> {
        if self.left() == 0 {
            return None;
        }
        let r = Rect::new(self.area.x, self.y, self.area.width, 1);
        self.y += 1;
        Some(r)
    }

    /// One line of styled spans (no wrapping).
    pub fn line(&mut self, frame: &mut Frame, line: Line) {
        if let Some(r) = self.row() {
            frame.render_widget(line, r);
        }
    }

    /// Wrapped text.
    pub fn text(&mut self, frame: &mut Frame, s: &str, style: Style) {
        for l in wrap(s, usize::from(self.area.width)) {
            let Some(r) = self.row() else { return };
            frame.render_widget(Span::styled(l, style), r);
        }
    }

    /// A labelled input on one line (`label_w` cells for the label), with its error below.
    #[allow(clippy::too_many_arguments)]
    pub fn field(
        &mut self,
        frame: &mut Frame,
        ctx: &mut Ctx,
        label: &str,
        label_w: u16,
        input: &TextInput,
        input_w: u16,
        item: usize,
        focused: bool,
        error: Option<&str>,
    ) {
        let Some(r) = self.row() else { return };
        let marker = if focused { ">" } else { " " };
        let lw = label_w.min(r.width);
        frame.render_widget(
            Line::from(vec![
                Span::styled(marker, ctx.theme.focus_marker(focused)),
                Span::styled(label.to_owned(), ctx.theme.text()),
            ]),
            Rect { width: lw, ..r },
        );
        let x = r.x + lw;
        let iw = input_w.min(r.right().saturating_sub(x + 2));
        let brackets = ctx.theme.text();
        frame.render_widget(Span::styled("[", brackets), Rect::new(x, r.y, 1, 1));
        let irect = Rect::new(x + 1, r.y, iw, 1);
        let style = if focused {
            ctx.theme.focus()
        } else {
            ctx.theme.input()
        };
        input.render(frame, irect, style, focused);
        frame.render_widget(
            Span::styled("]", brackets),
            Rect::new(x + 1 + iw, r.y, 1, 1),
        );
        ctx.hits.push(Hit {
            rect: Rect::new(x, r.y, iw + 2, 1),
            target: Target::Item(item),
        });
        if let Some(e) = error {
            let Some(er) = self.row() else { return };
            let er = Rect::new(x + 1, er.y, er.right().saturating_sub(x + 1), 1);
            let mut c = Col::new(Rect {
                height: self.area.bottom() - er.y,
                ..er
            });
            c.text(frame, &format!("! {e}"), ctx.theme.error());
            self.y = c.y;
        }
    }

    /// A dim hint under a [`Col::field`] with labels `label_w` wide, aligned with the input.
    pub fn hint(&mut self, frame: &mut Frame, ctx: &Ctx, label_w: u16, key: &'static str) {
        let pad = " ".repeat(usize::from(label_w) + 1);
        self.text(frame, &format!("{pad}{}", ctx.t(key)), ctx.theme.dim());
    }

    /// A row of buttons; `items` gives each button's item index for mouse clicks.
    pub fn buttons(&mut self, frame: &mut Frame, ctx: &mut Ctx, buttons: &[(String, usize, bool)]) {
        if self.left() == 0 {
            return;
        }
        let bs: Vec<Button> = buttons
            .iter()
            .map(|(l, _, f)| Button::new(l.clone(), *f))
            .collect();
        let area = Rect::new(self.area.x, self.y, self.area.width, self.left());
        let (rects, h) = render_buttons(frame, area, &bs, &ctx.theme);
        for (rect, (_, item, _)) in rects.into_iter().zip(buttons) {
            if rect.width > 0 {
                ctx.hits.push(Hit {
                    rect,
                    target: Target::Item(*item),
                });
            }
        }
        self.gap(h);
    }
}

/// A screen title line.
pub fn title(col: &mut Col, frame: &mut Frame, ctx: &Ctx, s: &str) {
    col.text(frame, s, ctx.theme.title());
}

/// Button labels for a screen's items: `(label, item index, focused)` for every button item.
pub fn button_row<F: Form + ?Sized>(
    form: &F,
    label: impl Fn(Intent) -> String,
    which: &[Intent],
) -> Vec<(String, usize, bool)> {
    let items = form.items();
    which
        .iter()
        .filter_map(|intent| {
            let i = items.iter().position(|it| *it == Item::Button(*intent))?;
            Some((label(*intent), i, form.focus() == i))
        })
        .collect()
}
