//! The member mode's chrome: header, step indicator, the current screen, the status line, the
//! footer and (in demo mode) the mailbox panel. Returns the clickable rectangles.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear};

use super::Member;
use super::screens::{Col, Ctx, Env, Hit, Place, Target};
use crate::api::Lang;
use crate::tui::i18n::{t, tf};
use crate::tui::shell::app::Shell;
use crate::tui::theme::Theme;
use crate::tui::widgets::{render_stepper, width, wrap};

/// The smallest terminal the screens are laid out for.
pub const MIN_WIDTH: u16 = 80;
/// The smallest terminal height.
pub const MIN_HEIGHT: u16 = 24;
/// The widest the content column grows.
const MAX_CONTENT: u16 = 100;

/// ASCII borders: box-drawing characters are ambiguous-width and break on terminals that draw
/// them wide (common in Japanese set-ups).
pub const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// ` title  subtitle` within `room` columns: the subtitle goes first, then the title is cut at
/// a character boundary with `…` (a wide character is never split at the edge).
fn header_line<'a>(title: &'a str, subtitle: &'a str, room: usize, theme: Theme) -> Line<'a> {
    let title_w = 1 + width(title);
    if subtitle.is_empty() || title_w + 2 + width(subtitle) > room {
        if title_w <= room {
            return Line::from(Span::styled(format!(" {title}"), theme.title()));
        }
        let mut cut = String::from(" ");
        let mut w = 1;
        for c in title.chars() {
            let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if w + cw + 1 > room {
                break;
            }
            cut.push(c);
            w += cw;
        }
        cut.push('…');
        return Line::from(Span::styled(cut, theme.title()));
    }
    Line::from(vec![
        Span::styled(format!(" {title}"), theme.title()),
        Span::raw("  "),
        Span::styled(subtitle, theme.text()),
    ])
}

fn subtitle_key(place: Place) -> &'static str {
    if place.portal {
        "app.subtitle_portal"
    } else {
        "app.subtitle"
    }
}

/// Draws the member mode on `frame`; returns the clickable rectangles.
pub fn render(frame: &mut Frame, shell: &Shell, app: &Member, theme: Theme) -> Vec<Hit> {
    let mut hits = Vec::new();
    let area = frame.area();
    let lang = shell.lang;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(frame, area, lang, theme);
        return hits;
    }
    let page = app.session.screen.page();
    let place = page.place();
    // A QR code that does not fit between the header and the footer gets the whole terminal.
    let body = body_rect(app, area);
    let full = Rect::new(area.x + 1, area.y, area.width - 1, area.height);
    if page.wants_full_frame(body, full) {
        let mut ctx = ctx_for(shell, app, theme, &mut hits);
        if let Some(status) = page.draw_full(frame, full, &mut ctx) {
            render_status(frame, shell, theme, status);
        }
        return hits;
    }
    // Header.
    let header = Rect::new(area.x, area.y, area.width, 1);
    let switch = match lang {
        Lang::Ja => t(lang, "app.switch_to_en"),
        Lang::En => t(lang, "app.switch_to_ja"),
    };
    let switch_text = format!("[F2 {switch}]");
    let sw = u16::try_from(width(&switch_text)).unwrap_or(20);
    let (title, subtitle) = match &shell.portal {
        Some(portal) => (
            portal.names(lang).name.as_str(),
            if place.portal {
                ""
            } else {
                t(lang, "app.subtitle_named")
            },
        ),
        None => (t(lang, "app.title"), t(lang, subtitle_key(place))),
    };
    let room = usize::from(area.width.saturating_sub(sw + 2));
    frame.render_widget(header_line(title, subtitle, room, theme), header);
    let sw_rect = Rect::new(area.right().saturating_sub(sw + 1), area.y, sw, 1);
    frame.render_widget(Span::styled(switch_text, theme.control()), sw_rect);
    hits.push(Hit {
        rect: sw_rect,
        target: Target::Lang,
    });
    let step_row = Rect::new(area.x + 1, area.y + 1, area.width - 2, 1);
    let label = t(lang, place.label);
    if place.portal {
        // The 11 steps are behind the member: only where they are now.
        frame.render_widget(Span::styled(label, theme.title()), step_row);
    } else {
        render_stepper(frame, step_row, place.steps, label, &theme);
    }
    frame.render_widget(
        Span::styled("-".repeat(usize::from(area.width)), theme.dim()),
        Rect::new(area.x, area.y + 2, area.width, 1),
    );

    // Body.
    let body_h = area.height - 5;
    let mailbox_side = mailbox_beside(app, area);
    let mut ctx = ctx_for(shell, app, theme, &mut hits);
    let env = Env {
        email: app.session.flow.as_ref().and_then(|f| f.email.as_deref()),
        demo: app.session.mailbox.is_some(),
    };
    page.draw(frame, body, &mut ctx, &env);

    // Status line: waiting, or the latest message.
    let status = Rect::new(area.x + 1, area.bottom() - 2, area.width - 2, 1);
    render_status(frame, shell, theme, status);

    // Footer.
    let footer = Rect::new(area.x, area.bottom() - 1, area.width, 1);
    let mut keys = footer_keys(app, lang);
    if app.session.mailbox.is_some() && app.keys.mailbox {
        let mail = format!("  F3 {}", t(lang, "footer.mailbox"));
        let mw = u16::try_from(width(&mail)).unwrap_or(0);
        let x = footer.x + 1 + u16::try_from(width(&keys)).unwrap_or(0);
        hits.push(Hit {
            rect: Rect::new(x + 2, footer.y, mw.saturating_sub(2), 1),
            target: Target::MailboxToggle,
        });
        keys.push_str(&mail);
    }
    frame.render_widget(Span::styled(format!(" {keys}"), theme.dim()), footer);

    // Mailbox panel.
    if let Some(mb) = &app.session.mailbox
        && mb.open
    {
        let rect = if mailbox_side {
            Rect::new(area.right() - 43, area.y + 3, 42, body_h)
        } else {
            Rect::new(area.x + 1, area.y + 3, area.width - 2, body_h)
        };
        render_mailbox(frame, rect, lang, app, theme, &mut hits);
    }
    hits
}

/// A panel over whatever is drawn at `rect`: cleared, an ASCII border with `title` in it;
/// returns the inside, one column of padding on each side.
pub fn panel(frame: &mut Frame, rect: Rect, title: &str, theme: Theme) -> Rect {
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(ASCII_BORDER)
        .title(Span::styled(format!(" {title} "), theme.title()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    }
}

/// The footer's keys: only those that do something here, Esc named by what it does on this
/// screen (it closes the mailbox while that is open).
fn footer_keys(app: &Member, lang: Lang) -> String {
    let mut parts = vec![t(lang, "footer.move")];
    let mailbox_open = app.session.mailbox.as_ref().is_some_and(|m| m.open);
    let step = app.session.flow.as_ref().map(|f| f.step);
    let esc = if mailbox_open {
        Some("footer.esc_close")
    } else {
        app.session.screen.page().esc(step).map(|e| e.key())
    };
    parts.extend(esc.map(|k| t(lang, k)));
    if app.keys.switch_lang {
        parts.push(t(lang, "footer.lang"));
    }
    if app.keys.quit {
        parts.push(t(lang, "footer.quit"));
    }
    parts.join("  ")
}

/// Whether the mailbox panel sits beside the screen (wide terminals) rather than over it.
fn mailbox_beside(app: &Member, area: Rect) -> bool {
    app.session.mailbox.as_ref().is_some_and(|m| m.open) && area.width >= 110
}

/// Where the current screen is drawn, between the header and the status line.
pub fn body_rect(app: &Member, area: Rect) -> Rect {
    let avail_w = if mailbox_beside(app, area) {
        area.width - 44
    } else {
        area.width
    };
    let content_w = (avail_w - 4).min(MAX_CONTENT);
    let content_x = area.x + 2 + (avail_w - 4 - content_w) / 2;
    Rect::new(content_x, area.y + 3, content_w, area.height - 5)
}

fn ctx_for<'a>(shell: &Shell, app: &Member, theme: Theme, hits: &'a mut Vec<Hit>) -> Ctx<'a> {
    Ctx {
        lang: shell.lang,
        theme,
        hits,
        errors: app
            .session
            .errors
            .iter()
            .map(|(f, tr)| (*f, tr.text(shell.lang)))
            .collect(),
    }
}

/// The status line: the waiting indicator, or the latest message.
fn render_status(frame: &mut Frame, shell: &Shell, theme: Theme, status: Rect) {
    let lang = shell.lang;
    if shell.waiting() {
        frame.render_widget(Span::styled(t(lang, "app.waiting"), theme.title()), status);
    } else if let Some(b) = &shell.banner {
        let style = if b.error { theme.error() } else { theme.ok() };
        let text = b.msg.text(lang);
        let prefix = if b.error { "! " } else { "" };
        let line = wrap(&format!("{prefix}{text}"), usize::from(status.width))
            .into_iter()
            .next()
            .unwrap_or_default();
        frame.render_widget(Span::styled(line, style), status);
    }
}

fn render_too_small(frame: &mut Frame, area: Rect, lang: Lang, theme: Theme) {
    let msg = tf(
        lang,
        "app.too_small",
        &[
            ("w", &MIN_WIDTH.to_string()),
            ("h", &MIN_HEIGHT.to_string()),
            ("cw", &area.width.to_string()),
            ("ch", &area.height.to_string()),
        ],
    );
    let mut col = Col::new(area);
    col.text(frame, &msg, theme.error());
    col.text(frame, t(lang, "app.too_small_quit"), theme.dim());
}

fn render_mailbox(
    frame: &mut Frame,
    rect: Rect,
    lang: Lang,
    app: &Member,
    theme: Theme,
    hits: &mut Vec<Hit>,
) {
    let Some(mb) = &app.session.mailbox else {
        return;
    };
    let mut col = Col::new(panel(frame, rect, t(lang, "mailbox.title"), theme));
    col.text(frame, t(lang, "mailbox.help"), theme.dim());
    if let Some(e) = &mb.error {
        col.text(frame, e, theme.error());
    }
    if mb.items.is_empty() {
        col.text(frame, t(lang, "mailbox.empty"), theme.dim());
        return;
    }
    for (i, m) in mb.items.iter().enumerate() {
        if col.left() < 2 {
            break;
        }
        let selected = i == mb.selected;
        let style: Style = if selected {
            theme.focus()
        } else {
            theme.control()
        };
        let marker = if selected { ">" } else { " " };
        let y = col.y;
        let head = if m.subject.is_empty() || m.subject.starts_with("=?") {
            m.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            m.subject.clone()
        };
        let first = wrap(&format!("{marker} {head}"), usize::from(col.area.width))
            .into_iter()
            .next()
            .unwrap_or_default();
        col.line(frame, Line::from(Span::styled(first, style)));
        // Numbered in the order sent, with the time: a resend is told from the mail before it.
        let mut to = format!("  #{}", mb.items.len() - i);
        if let Some(at) = mail_time(&m.date, app.utc_offset) {
            to.push(' ');
            to.push_str(&at);
        }
        to.push_str("  ");
        to.push_str(&m.to);
        if let (true, Some(value)) = (m.links.is_empty(), &m.highlight) {
            // issue 5: a code or user ID mail shows what it carries.
            to.push(' ');
            to.push_str(&t(lang, "email_otp.mailbox_value").replace("{value}", value));
        } else if m.links.is_empty() {
            to.push(' ');
            to.push_str(t(lang, "mailbox.no_link_short"));
        }
        col.line(frame, Line::from(Span::styled(to, theme.dim())));
        hits.push(Hit {
            rect: Rect::new(col.area.x, y, col.area.width, 2),
            target: Target::Mail(i),
        });
    }
}

/// A mail's `Date` header (RFC 2822) as `HH:MM:SS` in `offset` (the panel beside a wide
/// screen has room for no more next to the address); None when it does not parse.
fn mail_time(date: &str, offset: time::UtcOffset) -> Option<String> {
    let at =
        time::OffsetDateTime::parse(date.trim(), &time::format_description::well_known::Rfc2822)
            .ok()?
            .to_offset(offset);
    Some(format!(
        "{:02}:{:02}:{:02}",
        at.hour(),
        at.minute(),
        at.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_time_is_shown_in_the_members_offset() {
        let jst = time::UtcOffset::from_hms(9, 0, 0).unwrap();
        assert_eq!(
            mail_time("Sun, 06 Dec 2026 15:52:07 +0000", jst).as_deref(),
            Some("00:52:07")
        );
        assert_eq!(mail_time("", jst), None);
        assert_eq!(mail_time("yesterday", jst), None);
    }
}
