//! Forms: what every screen of every mode is made of — focusable items (inputs and buttons), the
//! generic keys over them (Tab, Enter, Space, typing), the clickable rectangles recorded while
//! drawing, and a column layout the screens fill top to bottom. The vocabulary (which inputs,
//! which buttons, which fields errors attach to) belongs to the mode.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::api::Lang;
use crate::tui::i18n::t;
use crate::tui::theme::Theme;
use crate::tui::widgets::input::InputOutcome;
use crate::tui::widgets::{Button, TextInput, render_buttons, wrap};

/// A focusable item of a screen, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<I, N> {
    /// A text input.
    Input(N),
    /// A button.
    Button(I),
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
    /// What its buttons ask for (the mode's intents).
    type Intent: Copy + PartialEq;
    /// Which inputs it has (the mode's input names).
    type Input: Copy + PartialEq;
    /// Focusable items in Tab order.
    fn items(&self) -> Vec<Item<Self::Intent, Self::Input>>;
    /// The focused item's index.
    fn focus(&self) -> usize;
    /// Moves the focus.
    fn set_focus(&mut self, i: usize);
    /// An input of this screen.
    fn input(&self, _id: Self::Input) -> Option<&TextInput> {
        None
    }
    /// An input of this screen, to edit.
    fn input_mut(&mut self, _id: Self::Input) -> Option<&mut TextInput> {
        None
    }
    /// What Enter does in the last input.
    fn submit(&self) -> Option<Self::Intent> {
        None
    }
    /// The focused item.
    fn focused(&self) -> Option<Item<Self::Intent, Self::Input>> {
        self.items().get(self.focus()).copied()
    }
    /// The index of `item`, if the screen has it.
    fn index_of(&self, item: Item<Self::Intent, Self::Input>) -> Option<usize> {
        self.items().iter().position(|i| *i == item)
    }
}

/// What the screens need to draw: language, theme, the messages, and where to record clicks.
pub struct Ctx<'a, F> {
    /// The language.
    pub lang: Lang,
    /// The styles.
    pub theme: Theme,
    /// Clickable rectangles, filled while drawing.
    pub hits: &'a mut Vec<Hit>,
    /// Error messages by field, already translated.
    pub errors: Vec<(F, String)>,
}

impl<F: PartialEq> Ctx<'_, F> {
    /// The translated error of `field`, if any.
    pub fn error(&self, field: F) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, s)| s.as_str())
    }
}

impl<F> Ctx<'_, F> {
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
    pub fn field<F>(
        &mut self,
        frame: &mut Frame,
        ctx: &mut Ctx<F>,
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
    pub fn hint<F>(&mut self, frame: &mut Frame, ctx: &Ctx<F>, label_w: u16, key: &'static str) {
        let pad = " ".repeat(usize::from(label_w) + 1);
        self.text(frame, &format!("{pad}{}", ctx.t(key)), ctx.theme.dim());
    }

    /// A row of buttons; `items` gives each button's item index for mouse clicks.
    pub fn buttons<F>(
        &mut self,
        frame: &mut Frame,
        ctx: &mut Ctx<F>,
        buttons: &[(String, usize, bool)],
    ) {
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
pub fn title<F>(col: &mut Col, frame: &mut Frame, ctx: &Ctx<F>, s: &str) {
    col.text(frame, s, ctx.theme.title());
}

/// Button labels for a screen's items: `(label, item index, focused)` for every button item.
pub fn button_row<F: Form + ?Sized>(
    form: &F,
    label: impl Fn(F::Intent) -> String,
    which: &[F::Intent],
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

/// What a key did to a form, for the mode to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKey<I, N> {
    /// Nothing for the mode (focus moved, or the key meant nothing here).
    Done,
    /// A button was pressed (or Enter submitted from the last input).
    Intent(I),
    /// Esc.
    Back,
    /// The input's text changed; `cleared` when its length changed (typing clears its error).
    Edited {
        /// The input.
        input: N,
        /// Whether its length changed.
        cleared: bool,
    },
}

/// The generic keys over a form: Tab and Shift-Tab move, Enter presses the focused button or
/// moves to the next input (submitting from the last one), Space presses a button, Esc goes
/// back, anything else edits the focused input.
pub fn form_key<F: Form + ?Sized>(form: &mut F, key: KeyEvent) -> FormKey<F::Intent, F::Input> {
    let n = form.items().len();
    match key.code {
        KeyCode::Tab if n > 0 => {
            form.set_focus((form.focus() + 1) % n);
            FormKey::Done
        }
        KeyCode::BackTab if n > 0 => {
            form.set_focus((form.focus() + n - 1) % n);
            FormKey::Done
        }
        KeyCode::Esc => FormKey::Back,
        KeyCode::Enter => match form.focused() {
            Some(Item::Button(intent)) => FormKey::Intent(intent),
            Some(Item::Input(_)) => {
                let next = form.focus() + 1;
                match form.items().get(next) {
                    Some(Item::Input(_)) => {
                        form.set_focus(next);
                        FormKey::Done
                    }
                    _ => form.submit().map_or(FormKey::Done, FormKey::Intent),
                }
            }
            None => FormKey::Done,
        },
        KeyCode::Char(' ') if matches!(form.focused(), Some(Item::Button(_))) => {
            match form.focused() {
                Some(Item::Button(intent)) => FormKey::Intent(intent),
                _ => FormKey::Done,
            }
        }
        _ => {
            let Some(Item::Input(id)) = form.focused() else {
                return FormKey::Done;
            };
            let before_len = form.input(id).map(|i| i.value().len());
            let Some(input) = form.input_mut(id) else {
                return FormKey::Done;
            };
            if input.handle_key(key) != InputOutcome::Changed {
                return FormKey::Done;
            }
            FormKey::Edited {
                input: id,
                cleared: before_len != Some(input.value().len()),
            }
        }
    }
}

/// Pasted text goes into the focused input, if any.
pub fn form_paste<F: Form + ?Sized>(form: &mut F, text: &str) {
    if let Some(Item::Input(id)) = form.focused()
        && let Some(input) = form.input_mut(id)
    {
        input.insert_str(text);
    }
}
