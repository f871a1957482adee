//! Every screen drawn on ratatui's `TestBackend` at 80x24 and 120x40, in Japanese and in
//! English, compared as text snapshots (tests/snapshots/). Each row is drawn between `|` bars;
//! a row ending with `<- OVERWRITTEN` would mean a wide character was cut.

use ratatui::crossterm::event::KeyCode;
use tobira::api::{Lang, Method, Step};
use tobira::tui::mailbox::MailItem;
use tobira::tui::modes::member::{App, Msg};
use tobira::tui::testing::{FakeServer, press, render_text, type_text};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// Drives a fresh app to the named screen against the fake server.
fn at(screen: &str, lang: Lang, demo: bool) -> App {
    let mut app = App::new(lang, demo);
    let mut s = FakeServer::demo();
    let a = &mut app;
    let s = &mut s;
    if screen == "welcome" {
        return app;
    }
    if screen.starts_with("email_code") {
        return at_email_code(app, screen);
    }
    if screen.starts_with("forgot_") {
        return at_recover(app, screen);
    }
    if screen.starts_with("totp_")
        || screen.starts_with("home")
        || screen == "second_factor"
        || screen == "change_email"
    {
        return at_stage2(app, screen);
    }
    if screen == "method_unavailable" {
        s.step = Step::MethodSetup;
        s.method = None;
    }
    press(a, s, KeyCode::Enter);
    if screen == "sign_in" {
        type_text(a, s, "demo0001");
        press(a, s, KeyCode::Tab);
        type_text(a, s, "wrong-password");
        press(a, s, KeyCode::Enter);
        return app;
    }
    type_text(a, s, "demo0001");
    press(a, s, KeyCode::Tab);
    type_text(a, s, "12345678919801201");
    press(a, s, KeyCode::Enter);
    if screen == "method_unavailable" {
        return app;
    }
    if screen == "birth_date" {
        type_text(a, s, "198012");
        return app;
    }
    type_text(a, s, "19801201");
    press(a, s, KeyCode::Enter);
    if screen == "terms" {
        press(a, s, KeyCode::Down);
        return app;
    }
    press(a, s, KeyCode::Enter);
    if screen == "email" {
        return app;
    }
    press(a, s, KeyCode::Enter);
    if screen == "awaiting" {
        return app;
    }
    if screen == "mailbox" {
        press(a, s, KeyCode::F(3));
        a.update(Msg::Mailbox(Ok(vec![
            MailItem {
                path: "2.eml".into(),
                to: "taro.yamada@example.jp".into(),
                subject: "メールアドレスの確認 / Confirm your email address".into(),
                date: String::new(),
                links: vec!["http://localhost:8080/verify?t=abc".into()],
                highlight: None,
            },
            MailItem {
                path: "1.eml".into(),
                to: "taro.yamada@example.jp".into(),
                subject: "=?utf-8?b?5pys?=".into(),
                date: String::new(),
                links: vec![],
                highlight: None,
            },
        ])));
        return app;
    }
    s.open_link();
    press(a, s, KeyCode::Enter);
    if screen == "choose_method" {
        press(a, s, KeyCode::Down);
        return app;
    }
    press(a, s, KeyCode::Down);
    press(a, s, KeyCode::Enter);
    if screen == "new_credentials" {
        type_text(a, s, "Sakura#20");
        press(a, s, KeyCode::Tab);
        type_text(a, s, "Sakura#2");
        press(a, s, KeyCode::Tab);
        type_text(a, s, "Taro");
        return app;
    }
    type_text(a, s, "Sakura#2026");
    press(a, s, KeyCode::Tab);
    type_text(a, s, "Sakura#2026");
    press(a, s, KeyCode::Enter);
    press(a, s, KeyCode::Enter);
    if screen == "complete" {
        return app;
    }
    press(a, s, KeyCode::Enter);
    assert_eq!(app.mode.session.screen.name(), "signed_out");
    app
}

/// Signs in as a member past the first login and goes to the named stage-2 or top screen.
fn at_stage2(mut app: App, screen: &str) -> App {
    let mut s = if screen.starts_with("totp_") {
        FakeServer::at_method_setup()
    } else {
        FakeServer::with_devices(2)
    };
    let a = &mut app;
    let s = &mut s;
    press(a, s, KeyCode::Enter);
    type_text(a, s, &s.user_id.clone());
    press(a, s, KeyCode::Tab);
    type_text(a, s, &s.password.clone());
    press(a, s, KeyCode::Enter);
    match screen {
        "totp_scan" => return app,
        "totp_key" => {
            press(a, s, KeyCode::Tab);
            press(a, s, KeyCode::Enter);
            return app;
        }
        "totp_confirm" => {
            press(a, s, KeyCode::Enter);
            type_text(a, s, "654321");
            press(a, s, KeyCode::Enter);
            assert_eq!(a.mode.session.screen.name(), "method_setup");
            return app;
        }
        _ => {}
    }
    if screen == "second_factor" {
        type_text(a, s, "000000");
        press(a, s, KeyCode::Enter);
        return app;
    }
    type_text(a, s, tobira::tui::testing::FAKE_CODE);
    press(a, s, KeyCode::Enter);
    assert_eq!(a.mode.session.screen.name(), "home");
    match screen {
        "change_email" => {
            use tobira::tui::modes::member::screens::{Intent, Item, Target};
            let i = a
                .mode
                .session
                .screen
                .form()
                .items()
                .iter()
                .position(|it| *it == Item::Button(Intent::HomeChangeEmail))
                .expect("a change-email action on the top screen");
            let cmds = a.update(Msg::Click(Target::Item(i)));
            tobira::tui::testing::pump(a, s, cmds);
            type_text(a, s, "taro");
            press(a, s, KeyCode::Enter);
            assert_eq!(a.mode.session.screen.name(), "change_email");
        }
        "home_rename" => {
            press(a, s, KeyCode::Down);
            press(a, s, KeyCode::Tab);
            press(a, s, KeyCode::Enter);
        }
        "home_remove" => {
            press(a, s, KeyCode::Tab);
            press(a, s, KeyCode::Tab);
            press(a, s, KeyCode::Enter);
        }
        "home_change_method" => {
            for _ in 0..3 {
                press(a, s, KeyCode::Tab);
            }
            press(a, s, KeyCode::Enter);
        }
        "home_password" => {
            for _ in 0..4 {
                press(a, s, KeyCode::Tab);
            }
            press(a, s, KeyCode::Enter);
            type_text(a, s, "wrong");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "Sakura#2027");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "Sakura#2027");
            press(a, s, KeyCode::Enter);
        }
        "home_remove_old" => {
            for _ in 0..3 {
                press(a, s, KeyCode::Tab);
            }
            press(a, s, KeyCode::Enter);
            press(a, s, KeyCode::Tab);
            press(a, s, KeyCode::Enter);
            // The set-up from the top screen: straight to the code.
            press(a, s, KeyCode::Enter);
            type_text(a, s, tobira::tui::testing::FAKE_CODE);
            press(a, s, KeyCode::Enter);
        }
        _ => {}
    }
    app
}

/// issue 5: a member whose method is the emailed one-time password, signed in: the code is
/// mailed at once; `email_code` (after the password) also shows a refused code.
fn at_email_code(mut app: App, screen: &str) -> App {
    let mut s = if screen == "email_code_setup" {
        FakeServer::at_method_setup()
    } else {
        FakeServer::with_devices(1)
    };
    s.method = Some(Method::EmailOtp);
    let a = &mut app;
    let s = &mut s;
    press(a, s, KeyCode::Enter);
    type_text(a, s, &s.user_id.clone());
    press(a, s, KeyCode::Tab);
    type_text(a, s, &s.password.clone());
    press(a, s, KeyCode::Enter);
    assert_eq!(a.mode.session.screen.name(), screen);
    if screen == "email_code" {
        type_text(a, s, "000000");
        press(a, s, KeyCode::Enter);
    }
    app
}

/// issue 5: the sign-in screen's recovery entries.
fn at_recover(mut app: App, screen: &str) -> App {
    let mut s = FakeServer::demo();
    let a = &mut app;
    let s = &mut s;
    press(a, s, KeyCode::Enter);
    assert_eq!(a.mode.session.screen.name(), "sign_in");
    // Sign-in items: user ID, password, sign in, reveal, forgot ID, forgot password.
    let tabs = if screen.starts_with("forgot_id") {
        4
    } else {
        5
    };
    for _ in 0..tabs {
        press(a, s, KeyCode::Tab);
    }
    press(a, s, KeyCode::Enter);
    match screen {
        "forgot_id" => {
            type_text(a, s, "12");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "3456789");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "1980");
            press(a, s, KeyCode::Enter);
        }
        "forgot_id_sent" => {
            type_text(a, s, "12");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "3456789");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "19801201");
            press(a, s, KeyCode::Enter);
        }
        "forgot_password" => {
            type_text(a, s, "demo0001");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "19801201");
        }
        _ => {
            type_text(a, s, "demo0001");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "19801201");
            press(a, s, KeyCode::Enter);
            type_text(a, s, "000000");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "Brand-n3w-pass");
            press(a, s, KeyCode::Tab);
            type_text(a, s, "Brand-n3w-pass");
            press(a, s, KeyCode::Enter);
        }
    }
    assert_eq!(a.mode.session.screen.name(), screen);
    app
}

fn snap(screen: &str) {
    for lang in [Lang::Ja, Lang::En] {
        let app = at(screen, lang, screen == "mailbox" || screen == "awaiting");
        for (w, h) in SIZES {
            let text = render_text(&app, w, h, true);
            assert!(
                !text.contains("OVERWRITTEN"),
                "a wide character was cut on {screen} {w}x{h} {lang:?}:\n{text}"
            );
            for k in tobira::tui::i18n::keys(Lang::Ja) {
                assert!(!text.contains(k), "untranslated key {k}:\n{text}");
            }
            let name = format!("{screen}_{}_{w}x{h}", lang.code());
            insta::assert_snapshot!(name, text);
        }
    }
}

#[test]
fn welcome() {
    snap("welcome");
}
#[test]
fn sign_in() {
    snap("sign_in");
}
#[test]
fn birth_date() {
    snap("birth_date");
}
#[test]
fn terms() {
    snap("terms");
}
#[test]
fn email() {
    snap("email");
}
#[test]
fn awaiting() {
    snap("awaiting");
}
#[test]
fn mailbox() {
    snap("mailbox");
}
#[test]
fn choose_method() {
    snap("choose_method");
}
#[test]
fn new_credentials() {
    snap("new_credentials");
}
#[test]
fn complete() {
    snap("complete");
}
#[test]
fn signed_out() {
    snap("signed_out");
}
#[test]
fn method_unavailable() {
    snap("method_unavailable");
}

#[test]
fn totp_scan() {
    snap("totp_scan");
}
#[test]
fn totp_key() {
    snap("totp_key");
}
#[test]
fn totp_confirm() {
    snap("totp_confirm");
}
#[test]
fn change_email() {
    snap("change_email");
}
#[test]
fn forgot_id() {
    snap("forgot_id");
}
#[test]
fn forgot_id_sent() {
    snap("forgot_id_sent");
}
#[test]
fn forgot_password() {
    snap("forgot_password");
}
#[test]
fn forgot_password_reset() {
    snap("forgot_password_reset");
}
#[test]
fn email_code_setup() {
    snap("email_code_setup");
}
#[test]
fn email_code() {
    snap("email_code");
}
#[test]
fn second_factor() {
    snap("second_factor");
}
#[test]
fn home() {
    snap("home");
}
#[test]
fn home_rename() {
    snap("home_rename");
}
#[test]
fn home_remove() {
    snap("home_remove");
}
#[test]
fn home_change_method() {
    snap("home_change_method");
}
#[test]
fn home_password() {
    snap("home_password");
}
#[test]
fn home_remove_old() {
    snap("home_remove_old");
}

#[test]
fn too_small() {
    for lang in [Lang::Ja, Lang::En] {
        let app = App::new(lang, false);
        let text = render_text(&app, 60, 20, true);
        insta::assert_snapshot!(format!("too_small_{}", lang.code()), text);
    }
}

#[test]
fn colour_and_no_colour_draw_the_same_text() {
    let app = at("sign_in", Lang::Ja, false);
    assert_eq!(
        render_text(&app, 80, 24, true),
        render_text(&app, 80, 24, false)
    );
}

#[test]
fn buttons_are_clickable_where_they_are_drawn() {
    use tobira::tui::modes::member::screens::Target;
    let app = at("welcome", Lang::Ja, false);
    let hits = tobira::tui::testing::render_hits(&app, 80, 24);
    assert!(hits.iter().any(|h| h.target == Target::Item(0)));
    assert!(hits.iter().any(|h| h.target == Target::Lang));
}

#[test]
fn terms_scroll_stops_at_the_end() {
    use tobira::tui::modes::member::Screen;
    let mut app = at("terms", Lang::En, false);
    render_text(&app, 80, 24, true);
    for _ in 0..20 {
        app.update(Msg::Key(tobira::tui::testing::key(KeyCode::PageDown)));
    }
    let Screen::Terms(t) = &app.mode.session.screen else {
        panic!()
    };
    let end = t.scroll;
    assert_eq!(Some(end), t.max_scroll.get());
    assert!(render_text(&app, 80, 24, true).contains("end of the text"));
    app.update(Msg::Key(tobira::tui::testing::key(KeyCode::Up)));
    let Screen::Terms(t) = &app.mode.session.screen else {
        panic!()
    };
    assert_eq!(t.scroll, end - 1);
}

#[test]
fn the_mailbox_toggle_is_clickable_in_the_footer() {
    use tobira::tui::modes::member::screens::Target;
    let app = at("awaiting", Lang::Ja, true);
    let text = render_text(&app, 80, 24, true);
    let footer = text.lines().nth(23).unwrap();
    let hits = tobira::tui::testing::render_hits(&app, 80, 24);
    let hit = hits
        .iter()
        .find(|h| h.target == Target::MailboxToggle)
        .unwrap();
    assert_eq!(hit.rect.y, 23);
    // The rectangle starts where "F3" is drawn (columns count wide characters twice).
    let before: String = footer
        .trim_start_matches('|')
        .chars()
        .scan(0usize, |w, c| {
            let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            let start = *w;
            *w += cw;
            Some((start, c))
        })
        .filter(|(start, _)| *start >= usize::from(hit.rect.x))
        .map(|(_, c)| c)
        .take(2)
        .collect();
    assert_eq!(before, "F3", "{footer}");
}

/// issue 12: a few screens in the light and dark palettes and the one for an unknown
/// background, drawn with their colours (see [`styled_text`]); every character drawn must
/// reach 4.5:1 (WCAG AA) against what is under it, in xterm's default colours for the
/// background the palette is for (both for the unknown one).
fn colour_snap(screen: &str) {
    use tobira::tui::shell::theme_contrast::{AA_NORMAL_TEXT, Terminal, style_contrast};
    use tobira::tui::theme::{Background, Theme};
    let either = [Terminal::XTERM_LIGHT.as_slice(), &Terminal::XTERM_DARK].concat();
    let palettes = [
        (Background::Light, "light", Terminal::XTERM_LIGHT.as_slice()),
        (Background::Dark, "dark", Terminal::XTERM_DARK.as_slice()),
        (Background::Unknown, "either", either.as_slice()),
    ];
    for (background, name, terminals) in palettes {
        let app = at(screen, Lang::En, screen == "mailbox");
        let buffer = render_styled(&app, 80, 24, Theme::for_background(false, background));
        let area = buffer.area;
        for (i, cell) in buffer.content.iter().enumerate() {
            if cell.symbol().trim().is_empty() {
                continue;
            }
            for term in terminals {
                let ratio = style_contrast(cell.style(), term);
                let (x, y) = (i % usize::from(area.width), i / usize::from(area.width));
                assert!(
                    ratio >= AA_NORMAL_TEXT,
                    "{screen} {name}: {:?} at ({x}, {y}) is {ratio:.2}:1 on {}",
                    cell.symbol(),
                    term.name
                );
            }
        }
        insta::assert_snapshot!(
            format!("colours_{screen}_{name}_en_80x24"),
            styled_text(&buffer)
        );
    }
}

/// Draws `app` with `theme` on a `TestBackend`.
fn render_styled(
    app: &App,
    w: u16,
    h: u16,
    theme: tobira::tui::theme::Theme,
) -> ratatui::buffer::Buffer {
    let Ok(mut terminal) = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h));
    terminal
        .draw(|f| {
            app.draw(f, theme);
        })
        .expect("draw on the test backend");
    terminal.backend().buffer().clone()
}

/// A buffer with its colours: a legend naming each style (foreground, background, modifiers)
/// by a letter, then each text row (as in the text snapshots) over a row giving every cell's
/// style letter; `.` is the terminal's own colours without modifiers.
fn styled_text(buffer: &ratatui::buffer::Buffer) -> String {
    use ratatui::style::{Color, Modifier};
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let key = |c: &ratatui::buffer::Cell| (c.fg, c.bg, c.modifier);
    let mut styles: Vec<(Color, Color, Modifier)> = Vec::new();
    for cell in &buffer.content {
        let k = key(cell);
        if k != (Color::Reset, Color::Reset, Modifier::empty()) && !styles.contains(&k) {
            styles.push(k);
        }
    }
    let letter = |k: (Color, Color, Modifier)| {
        styles
            .iter()
            .position(|s| *s == k)
            .and_then(|i| LETTERS.chars().nth(i))
            .unwrap_or('.')
    };
    let mut out = String::from(". = fg Reset, bg Reset\n");
    for (i, (fg, bg, m)) in styles.iter().enumerate() {
        let mods: Vec<&str> = m.iter_names().map(|(n, _)| n).collect();
        let letter = LETTERS.chars().nth(i).unwrap_or('?');
        out.push_str(&format!("{letter} = fg {fg}, bg {bg}"));
        if !mods.is_empty() {
            out.push_str(&format!(", {}", mods.join(" + ")));
        }
        out.push('\n');
    }
    let text = tobira::tui::testing::buffer_text(buffer);
    let width = usize::from(buffer.area.width).max(1);
    for (line, row) in text.lines().zip(buffer.content.chunks(width)) {
        out.push_str(line);
        out.push('\n');
        out.push('|');
        out.extend(row.iter().map(|c| letter(key(c))));
        out.push_str("|\n");
    }
    out
}

#[test]
fn colours_welcome() {
    colour_snap("welcome");
}
#[test]
fn colours_sign_in() {
    colour_snap("sign_in");
}
#[test]
fn colours_choose_method() {
    colour_snap("choose_method");
}
#[test]
fn colours_new_credentials() {
    colour_snap("new_credentials");
}
#[test]
fn colours_home() {
    colour_snap("home");
}
#[test]
fn colours_totp_scan() {
    colour_snap("totp_scan");
}
#[test]
fn colours_mailbox() {
    colour_snap("mailbox");
}
