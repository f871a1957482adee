//! The staff console's chrome: the header (the console, the staff member's name and role, the
//! language switch), the member being helped with the caller's proof and its minutes left, the
//! screen, the status line and the footer. Returns the clickable rectangles.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::Staff;
use super::screens::{Col, Ctx, Env, Hit, Target};
use super::words::{proof_key, role_key};
use crate::api::Lang;
use crate::tui::i18n::{t, tf};
use crate::tui::shell::app::Shell;
use crate::tui::theme::Theme;
use crate::tui::widgets::{width, wrap};

/// The smallest terminal the console is laid out for.
pub const MIN_WIDTH: u16 = 80;
/// The smallest terminal height.
pub const MIN_HEIGHT: u16 = 24;
/// The widest the content column grows.
const MAX_CONTENT: u16 = 116;

/// Draws the console; returns the clickable rectangles.
pub fn render(frame: &mut Frame, shell: &Shell, app: &Staff, theme: Theme) -> Vec<Hit> {
    let mut hits = Vec::new();
    let area = frame.area();
    let lang = shell.lang;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let mut col = Col::new(area);
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
        col.text(frame, &msg, theme.error());
        col.text(frame, t(lang, "app.too_small_quit"), theme.dim());
        return hits;
    }
    // An authenticator QR code that does not fit between the header and the footer gets the
    // whole terminal (Enter goes on, Tab then Enter shows the key instead).
    if let Some(qr) = full_frame_qr(app, area) {
        frame.render_widget(qr, area);
        let hint = t(lang, "staff.enrol.full_frame_hint");
        if let Some(l) = qr.layout(area.width, area.height)
            && l.height < area.height
        {
            frame.render_widget(
                Span::styled(format!(" {hint}"), theme.dim()),
                Rect::new(area.x, area.bottom() - 1, area.width, 1),
            );
        }
        return hits;
    }
    // Header: the console and who is signed in; the language switch on the right.
    let switch = match lang {
        Lang::Ja => t(lang, "app.switch_to_en"),
        Lang::En => t(lang, "app.switch_to_ja"),
    };
    let switch_text = format!("[F2 {switch}]");
    let sw = u16::try_from(width(&switch_text)).unwrap_or(20);
    let mut head = vec![Span::styled(
        format!(" {}", t(lang, "staff.app_title")),
        theme.title(),
    )];
    if let Some(me) = &app.session.me {
        head.push(Span::styled(
            format!(
                "  {} {} ({})",
                t(lang, "staff.header.staff"),
                me.display_name,
                t(lang, role_key(me.role))
            ),
            theme.text(),
        ));
    }
    frame.render_widget(
        Line::from(head),
        Rect::new(area.x, area.y, area.width.saturating_sub(sw + 2), 1),
    );
    let sw_rect = Rect::new(area.right().saturating_sub(sw + 1), area.y, sw, 1);
    frame.render_widget(Span::styled(switch_text, theme.control()), sw_rect);
    hits.push(Hit {
        rect: sw_rect,
        target: Target::Lang,
    });
    // Second row: the screen, and the member being helped with the caller's proof.
    let page = app.screen.page();
    let mut second = vec![Span::styled(
        t(lang, page.title()).to_owned(),
        theme.title(),
    )];
    if let Some(case) = app.screen.case() {
        second.push(Span::styled(
            format!(
                "  {} {} ({})",
                t(lang, "staff.header.member"),
                case.case.name,
                case.case.user_id
            ),
            theme.text(),
        ));
        let proof = match &case.case.verification {
            Some(v) if case.proof_remaining(shell.ticks) > 0 => {
                let mins = (case.proof_remaining(shell.ticks) + 59) / 60;
                (
                    tf(
                        lang,
                        "staff.header.proof",
                        &[
                            ("proof", t(lang, proof_key(v.proof))),
                            ("min", &mins.to_string()),
                        ],
                    ),
                    theme.ok(),
                )
            }
            Some(_) => (
                t(lang, "staff.header.proof_expired").to_owned(),
                theme.error(),
            ),
            None => (
                t(lang, "staff.header.not_verified").to_owned(),
                theme.error(),
            ),
        };
        second.push(Span::raw("  "));
        second.push(Span::styled(proof.0, proof.1));
    }
    // Who is helped and the proof's minutes matter more than the screen's name: on a narrow
    // terminal the name gives way.
    let second_w: usize = second.iter().map(|s| width(&s.content)).sum();
    if second_w > usize::from(area.width - 2) && second.len() > 1 {
        second.remove(0);
        let first = second[0].content.trim_start().to_owned();
        second[0].content = first.into();
    }
    frame.render_widget(
        Line::from(second),
        Rect::new(area.x + 1, area.y + 1, area.width - 2, 1),
    );
    frame.render_widget(
        Span::styled("-".repeat(usize::from(area.width)), theme.dim()),
        Rect::new(area.x, area.y + 2, area.width, 1),
    );

    // Body.
    let content_w = (area.width - 4).min(MAX_CONTENT);
    let body = Rect::new(area.x + 2, area.y + 3, content_w, area.height - 5);
    let mut ctx = Ctx {
        lang,
        theme,
        hits: &mut hits,
        errors: app
            .session
            .errors
            .iter()
            .map(|(f, tr)| (*f, tr.text(lang)))
            .collect(),
    };
    let env = Env {
        session: &app.session,
        ticks: shell.ticks,
        utc_offset: app.utc_offset,
    };
    page.draw(frame, body, &mut ctx, &env);

    // Status line.
    let status = Rect::new(area.x + 1, area.bottom() - 2, area.width - 2, 1);
    if shell.waiting() {
        frame.render_widget(Span::styled(t(lang, "app.waiting"), theme.title()), status);
    } else if let Some(b) = &shell.banner {
        let style = if b.error { theme.error() } else { theme.ok() };
        let prefix = if b.error { "! " } else { "" };
        let line = wrap(
            &format!("{prefix}{}", b.msg.text(lang)),
            usize::from(status.width),
        )
        .into_iter()
        .next()
        .unwrap_or_default();
        frame.render_widget(Span::styled(line, style), status);
    }
    // Footer.
    let footer = Rect::new(area.x, area.bottom() - 1, area.width, 1);
    frame.render_widget(
        Span::styled(format!(" {}", footer_keys(page, lang)), theme.dim()),
        footer,
    );
    hits
}

/// The footer's keys: only those that do something on this screen, Esc named by what it does
/// here (as the member screens do).
fn footer_keys(page: &dyn super::Page, lang: Lang) -> String {
    let mut parts = Vec::new();
    if !page.items().is_empty() {
        parts.push(t(lang, "footer.move"));
    }
    parts.extend(page.esc().map(|k| t(lang, k)));
    if page.paged() {
        parts.push(t(lang, "staff.footer_page"));
    }
    parts.push(t(lang, "footer.lang"));
    parts.push(t(lang, "footer.quit"));
    parts.join("  ")
}

/// The enrolment's QR code when it needs the whole terminal: it does not fit the body (below
/// the title and the buttons) but fits the terminal.
fn full_frame_qr(app: &Staff, area: Rect) -> Option<&crate::tui::widgets::QrCode> {
    let super::Screen::Enrol(e) = &app.screen else {
        return None;
    };
    let super::screens::enrol::Stage::Qr {
        qr: Some(qr),
        typed: false,
        ..
    } = &e.stage
    else {
        return None;
    };
    let body_w = (area.width - 4).min(MAX_CONTENT);
    let body_h = area.height.saturating_sub(5 + 2);
    (!qr.fits(body_w, body_h) && qr.fits(area.width, area.height)).then_some(qr.as_ref())
}
