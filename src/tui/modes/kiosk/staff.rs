//! The staff exit: a hidden key ([`EXIT_KEY`] pressed [`EXIT_PRESSES`] times in a row) opens a
//! screen asking for a staff login, password and the 6-digit code of the staff member's
//! authenticator app; the kiosk ends only when the server accepts all three.
//!
//! The check runs against the staff sign-in of the helpdesk accounts (`/api/v1/staff/sign-in`,
//! then `/api/v1/staff/sign-in/verify` with the code, then `/api/v1/staff/sign-out`). It is reached through [`StaffCheck`]
//! so that the seam is one place: tests answer it in memory.

use futures::future::BoxFuture;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::client::{Client, ClientError, FlowToken};

/// The hidden key that opens the staff exit.
pub const EXIT_KEY: KeyCode = KeyCode::F(12);
/// How many times in a row it must be pressed.
pub const EXIT_PRESSES: u8 = 3;

/// The staff sign-in route (password step).
pub const STAFF_SIGN_IN: &str = "/api/v1/staff/sign-in";
/// The staff sign-in route (code step, with the token the password step gave).
pub const STAFF_SIGN_IN_VERIFY: &str = "/api/v1/staff/sign-in/verify";
/// Ends the staff session the check opened: the exit needs no session of its own.
pub const STAFF_SIGN_OUT: &str = "/api/v1/staff/sign-out";

/// What a staff member typed. `Debug` shows the login only.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffCredentials {
    /// The staff login.
    pub login: String,
    /// The password.
    pub password: Zeroizing<String>,
    /// The 6-digit code.
    pub code: Zeroizing<String>,
}

impl std::fmt::Debug for StaffCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaffCredentials({}, <password>, <code>)", self.login)
    }
}

/// Checks staff credentials with the server; `Ok` means the kiosk may end.
pub trait StaffCheck {
    /// Signs the staff member in with password and code (both must pass).
    fn check(&self, creds: StaffCredentials) -> BoxFuture<'static, Result<(), ClientError>>;
}

#[derive(Serialize)]
struct SignInBody<'a> {
    login: &'a str,
    password: &'a str,
}

#[derive(Deserialize)]
struct SignInAnswer {
    token: String,
}

#[derive(Serialize)]
struct CodeBody<'a> {
    code: &'a str,
}

impl StaffCheck for Client {
    fn check(&self, creds: StaffCredentials) -> BoxFuture<'static, Result<(), ClientError>> {
        let client = self.clone();
        Box::pin(async move {
            let started: SignInAnswer = client
                .post_json(
                    STAFF_SIGN_IN,
                    None,
                    &SignInBody {
                        login: &creds.login,
                        password: &creds.password,
                    },
                )
                .await?;
            let token = FlowToken::new(started.token);
            let verified: Result<serde_json::Value, _> = client
                .post_json(
                    STAFF_SIGN_IN_VERIFY,
                    Some(&token),
                    &CodeBody { code: &creds.code },
                )
                .await;
            // Signed in or not, the session is not kept (a wrong code leaves it half-done).
            let _: Result<serde_json::Value, _> =
                client.post_json(STAFF_SIGN_OUT, Some(&token), &()).await;
            verified.map(drop)
        })
    }
}

/// Which field has the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffField {
    /// The login.
    Login,
    /// The password.
    Password,
    /// The code.
    Code,
}

/// The staff exit screen: what was typed (wiped on drop), the focus and the last message.
#[derive(Debug, Default)]
pub struct StaffExit {
    /// The login as typed.
    pub login: Zeroizing<String>,
    /// The password as typed (shown masked).
    pub password: Zeroizing<String>,
    /// The code as typed.
    pub code: Zeroizing<String>,
    focus: usize,
    /// The i18n key of the message under the form.
    pub error: Option<&'static str>,
}

/// What a key on the exit screen asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum StaffKey {
    /// Nothing beyond redrawing.
    Stay,
    /// Back to the member screens.
    Close,
    /// Check these credentials.
    Submit(StaffCredentials),
}

/// The longest login or password accepted here.
const MAX_LEN: usize = 64;

impl StaffExit {
    /// The field with the focus.
    pub fn focus(&self) -> StaffField {
        match self.focus {
            0 => StaffField::Login,
            1 => StaffField::Password,
            _ => StaffField::Code,
        }
    }

    fn field_mut(&mut self) -> &mut String {
        match self.focus() {
            StaffField::Login => &mut self.login,
            StaffField::Password => &mut self.password,
            StaffField::Code => &mut self.code,
        }
    }

    /// A key on the screen.
    pub fn on_key(&mut self, key: KeyEvent) -> StaffKey {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match key.code {
            KeyCode::Esc => return StaffKey::Close,
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % 3,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + 2) % 3,
            KeyCode::Backspace => {
                self.field_mut().pop();
            }
            KeyCode::Enter if self.focus < 2 => self.focus += 1,
            KeyCode::Enter => return self.submit(),
            KeyCode::Char(c) if plain && !c.is_control() => {
                let code = self.focus() == StaffField::Code;
                let field = self.field_mut();
                let room = if code { 6 } else { MAX_LEN };
                if field.chars().count() < room && (!code || c.is_ascii_digit()) {
                    field.push(c);
                }
            }
            _ => {}
        }
        StaffKey::Stay
    }

    fn submit(&mut self) -> StaffKey {
        if self.login.trim().is_empty() || self.password.is_empty() || self.code.len() != 6 {
            self.error = Some("kiosk.staff_incomplete");
            return StaffKey::Stay;
        }
        self.error = None;
        StaffKey::Submit(StaffCredentials {
            login: self.login.trim().to_owned(),
            password: self.password.clone(),
            code: self.code.clone(),
        })
    }

    /// The server refused: the secrets are wiped, the login stays for another try.
    pub fn refused(&mut self, error: &'static str) {
        *self.password = String::new();
        *self.code = String::new();
        self.focus = 1;
        self.error = Some(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::shell::headless::{ctrl, key};

    fn typed(s: &mut StaffExit, text: &str) {
        for c in text.chars() {
            s.on_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn three_fields_then_submit() {
        let mut s = StaffExit::default();
        typed(&mut s, "suzuki");
        s.on_key(key(KeyCode::Enter));
        typed(&mut s, "pw");
        s.on_key(ctrl('c'));
        s.on_key(key(KeyCode::Enter));
        typed(&mut s, "12a3456789");
        assert_eq!(&*s.code, "123456", "digits only, six at most");
        let StaffKey::Submit(c) = s.on_key(key(KeyCode::Enter)) else {
            panic!("not submitted")
        };
        assert_eq!((c.login.as_str(), c.password.as_str()), ("suzuki", "pw"));
        assert!(!format!("{c:?}").contains("pw") && !format!("{c:?}").contains("123456"));
        s.refused("kiosk.staff_refused");
        assert!(s.password.is_empty() && s.code.is_empty());
        assert_eq!(s.focus(), StaffField::Password);
        assert_eq!(s.on_key(key(KeyCode::Esc)), StaffKey::Close);
    }

    #[test]
    fn an_incomplete_form_is_not_sent() {
        let mut s = StaffExit::default();
        typed(&mut s, "suzuki");
        s.on_key(key(KeyCode::Tab));
        typed(&mut s, "pw");
        s.on_key(key(KeyCode::Tab));
        typed(&mut s, "123");
        assert_eq!(s.on_key(key(KeyCode::Enter)), StaffKey::Stay);
        assert_eq!(s.error, Some("kiosk.staff_incomplete"));
    }
}
