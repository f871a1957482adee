//! The kiosk's chrome and its own screens: the header naming the branch, a footer without a
//! way out, the countdown over any screen, the "service unavailable" screen and the staff exit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear};

use super::Kiosk;
use super::idle::MAX_EXTENSIONS;
use super::staff::{StaffExit, StaffField};
use crate::api::Lang;
use crate::tui::i18n::{t, tf};
use crate::tui::modes::member::chrome::{self, ASCII_BORDER, MIN_HEIGHT, MIN_WIDTH};
use crate::tui::shell::app::{Mode, Shell};
use crate::tui::shell::form::{Col, Hit, Target};
use crate::tui::theme::Theme;
use crate::tui::widgets::width;

/// Draws the kiosk; returns the clickable rectangles.
pub fn render(frame: &mut Frame, shell: &Shell, k: &Kiosk, theme: Theme) -> Vec<Hit> {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        // The member chrome says the terminal is too small.
        return k.member.draw(frame, shell, theme);
    }
    let mut hits = if k.server_down() {
        frame.render_widget(Clear, area);
        render_unavailable(frame, body(area), shell.lang, theme);
        Vec::new()
    } else if let Some(form) = &k.staff {
        frame.render_widget(Clear, area);
        render_staff(frame, body(area), shell, form, theme);
        Vec::new()
    } else {
        let hits = k.member.draw(frame, shell, theme);
        let page = k.member.session.screen.page();
        let full = Rect::new(area.x + 1, area.y, area.width - 1, area.height);
        if page.wants_full_frame(chrome::body_rect(&k.member, area), full) {
            // A QR code that needs the whole terminal is left whole.
            return with_countdown(frame, shell, k, theme, hits);
        }
        hits
    };
    render_header(frame, shell, k, theme, &mut hits);
    // The member screens keep their own footer (it names only the keys that do something
    // there, under the kiosk's key policy); the kiosk's own screens get theirs.
    let keys = if k.server_down() {
        Some("kiosk.footer")
    } else if k.staff.is_some() {
        Some("kiosk.staff_keys")
    } else {
        None
    };
    if let Some(keys) = keys {
        let footer = Rect::new(area.x, area.bottom() - 1, area.width, 1);
        frame.render_widget(Clear, footer);
        frame.render_widget(
            Span::styled(format!(" {}", t(shell.lang, keys)), theme.dim()),
            footer,
        );
    }
    with_countdown(frame, shell, k, theme, hits)
}

fn with_countdown(
    frame: &mut Frame,
    shell: &Shell,
    k: &Kiosk,
    theme: Theme,
    hits: Vec<Hit>,
) -> Vec<Hit> {
    match k.countdown(shell) {
        Some(left) => {
            render_countdown(frame, shell.lang, left, k.idle.extensions_left(), theme);
            // Nothing under the warning is clickable.
            Vec::new()
        }
        None => hits,
    }
}

/// The content column between the header rows and the footer.
fn body(area: Rect) -> Rect {
    let w = (area.width - 4).min(100);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + 3,
        w,
        area.height - 5,
    )
}

/// Row 0: the portal's (or tobira's) name and the branch; the language switch on the right.
fn render_header(frame: &mut Frame, shell: &Shell, k: &Kiosk, theme: Theme, hits: &mut Vec<Hit>) {
    let area = frame.area();
    let lang = shell.lang;
    let row = Rect::new(area.x, area.y, area.width, 1);
    frame.render_widget(Clear, row);
    let switch = match lang {
        Lang::Ja => t(lang, "app.switch_to_en"),
        Lang::En => t(lang, "app.switch_to_ja"),
    };
    let switch_text = format!("[F2 {switch}]");
    let sw = u16::try_from(width(&switch_text)).unwrap_or(20);
    let title = match &shell.portal {
        Some(p) => p.names(lang).name.clone(),
        None => t(lang, "app.title").to_owned(),
    };
    let mut spans = vec![Span::styled(format!(" {title}"), theme.title())];
    if let Some(branch) = &k.settings.branch {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            tf(lang, "kiosk.branch", &[("branch", branch)]),
            theme.text(),
        ));
    }
    let room = area.width.saturating_sub(sw + 2);
    frame.render_widget(Line::from(spans), Rect::new(area.x, area.y, room, 1));
    let sw_rect = Rect::new(area.right().saturating_sub(sw + 1), area.y, sw, 1);
    frame.render_widget(Span::styled(switch_text, theme.control()), sw_rect);
    hits.retain(|h| h.target != Target::Lang);
    hits.push(Hit {
        rect: sw_rect,
        target: Target::Lang,
    });
    if k.server_down() || k.staff.is_some() {
        let label = if k.server_down() {
            "kiosk.unavailable_step"
        } else {
            "kiosk.staff_step"
        };
        frame.render_widget(
            Span::styled(t(lang, label), theme.title()),
            Rect::new(area.x + 1, area.y + 1, area.width - 2, 1),
        );
        frame.render_widget(
            Span::styled("-".repeat(usize::from(area.width)), theme.dim()),
            Rect::new(area.x, area.y + 2, area.width, 1),
        );
    }
}

fn render_unavailable(frame: &mut Frame, area: Rect, lang: Lang, theme: Theme) {
    let mut col = Col::new(area);
    col.gap(1);
    col.text(frame, t(lang, "kiosk.unavailable_title"), theme.error());
    col.gap(1);
    col.text(frame, t(lang, "kiosk.unavailable_body"), theme.text());
    col.gap(1);
    col.text(frame, t(lang, "kiosk.unavailable_recover"), theme.dim());
}

fn render_staff(frame: &mut Frame, area: Rect, shell: &Shell, form: &StaffExit, theme: Theme) {
    let lang = shell.lang;
    let mut col = Col::new(area);
    col.gap(1);
    col.text(frame, t(lang, "kiosk.staff_title"), theme.title());
    col.text(frame, t(lang, "kiosk.staff_intro"), theme.text());
    col.gap(1);
    let fields = [
        (
            StaffField::Login,
            "kiosk.staff_login",
            form.login.to_string(),
        ),
        (
            StaffField::Password,
            "kiosk.staff_password",
            "*".repeat(form.password.chars().count()),
        ),
        (StaffField::Code, "kiosk.staff_code", form.code.to_string()),
    ];
    let label_w = fields
        .iter()
        .map(|(_, k, _)| width(t(lang, k)))
        .max()
        .unwrap_or(10)
        + 3;
    for (field, key, shown) in fields {
        let focused = form.focus() == field;
        let marker = if focused { ">" } else { " " };
        let label = t(lang, key);
        let pad = " ".repeat(label_w.saturating_sub(width(label) + 1));
        let style = if focused {
            theme.focus()
        } else {
            theme.input()
        };
        col.line(
            frame,
            Line::from(vec![
                Span::styled(marker, theme.focus_marker(focused)),
                Span::styled(format!("{label}{pad}"), theme.text()),
                Span::styled("[", theme.text()),
                Span::styled(format!("{shown:<24}"), style),
                Span::styled("]", theme.text()),
            ]),
        );
        col.gap(1);
    }
    if shell.waiting() {
        col.text(frame, t(lang, "kiosk.staff_checking"), theme.title());
    } else if let Some(e) = form.error {
        col.text(frame, &format!("! {}", t(lang, e)), theme.error());
    }
}

fn render_countdown(frame: &mut Frame, lang: Lang, left: u64, extensions: u8, theme: Theme) {
    let area = frame.area();
    // Full width: a wide character of the screen below never straddles the box's edge.
    let h = 8u16.min(area.height);
    let rect = Rect::new(area.x, area.y + (area.height - h) / 2, area.width, h);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(ASCII_BORDER)
        .title(Span::styled(
            format!(" {} ", t(lang, "kiosk.idle_title")),
            theme.title(),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut col = Col::new(Rect {
        x: inner.x + 2,
        width: inner.width.saturating_sub(4),
        ..inner
    });
    let secs = left.to_string();
    col.text(
        frame,
        &tf(lang, "kiosk.idle_body", &[("secs", &secs)]),
        theme.error(),
    );
    col.gap(1);
    if extensions > 0 {
        let n = extensions.to_string();
        let max = MAX_EXTENSIONS.to_string();
        col.text(
            frame,
            &tf(lang, "kiosk.idle_extend", &[("left", &n), ("max", &max)]),
            theme.text(),
        );
    } else {
        col.text(frame, t(lang, "kiosk.idle_no_more"), theme.text());
    }
}
