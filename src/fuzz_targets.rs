//! Fuzz targets, shared by `fuzz/` (cargo-fuzz, coverage-guided) and `tests/fuzz_inputs.rs`
//! (a fixed number of seeded inputs in the normal test suite), so the two cannot drift.
//!
//! Each target takes arbitrary bytes and must not panic; it panics itself (a finding) when a
//! rejection is not a clear error: every refusal names what is wrong in words.

use std::io::Cursor;

use serde::de::DeserializeOwned;

use crate::api::helpdesk::{StaffActionRequest, StaffChange, VerifyCallerRequest};
use crate::api::staff::{
    StaffCodeRequest, StaffEnrolmentFinishRequest, StaffEnrolmentRequest, StaffSignInRequest,
};
use crate::api::{
    BirthDateRequest, ChangeEmailRequest, CredentialsRequest, EmailCodeRequest, EmailRequest,
    ForgotPasswordRequest, ForgotUserIdRequest, MethodRequest, PasswordChangeRequest,
    RenameRequest, ResetPasswordRequest, SignInRequest, StepUpRequest, TermsDecision,
    TotpConfirmRequest, TotpVerifyRequest,
};
use crate::domain::{
    self, BirthDate, EmailAddress, InsuranceCard, UserId, email_code, helpdesk, password, staff,
    totp, user_id,
};

/// The date the targets judge birth dates against (fixed, so runs repeat).
fn today() -> time::Date {
    time::macros::date!(2026 - 12 - 06)
}

/// A refusal must say something.
#[track_caller]
fn clear(what: &str, message: impl std::fmt::Display) {
    let m = message.to_string();
    assert!(
        !m.trim().is_empty(),
        "{what}: a rejection without a message"
    );
}

/// Checks `r` and, when it is a refusal, that the refusal says why.
#[track_caller]
fn judged<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            clear(what, e);
            None
        }
    }
}

/// The roster CSV import parser: every row is a member or a rejection with its line and reason;
/// accepted rows satisfy the rules the import promises.
pub fn roster_csv(data: &[u8]) {
    let mut seen = 0usize;
    for row in crate::store::roster::read_roster(Cursor::new(data.to_vec()), today()) {
        seen += 1;
        match row {
            Ok(row) => {
                assert_eq!(
                    UserId::parse(row.user_id.as_str()).as_ref(),
                    Ok(&row.user_id),
                    "an imported user ID is valid and stored lower-case"
                );
                assert!(
                    row.birth_date.date() <= today(),
                    "an imported birth date is not in the future"
                );
                assert!(
                    InsuranceCard::parse(&row.card.symbol, &row.card.number).as_ref()
                        == Ok(&row.card),
                    "an imported card is normalised"
                );
            }
            Err(rejection) => clear("roster row", &rejection.reason),
        }
        // A row per line at most (plus the header's own rejection).
        assert!(seen <= data.len() + 1, "more rows than the file has bytes");
    }
}

/// The request bodies, by the number of the first byte.
const BODIES: u8 = 25;

/// Every JSON request body type: the bytes after the first are read as that type (the first
/// byte chooses it), and what was read goes through the checks the server makes on it.
/// Returns whether the body was read as its type.
pub fn request_bodies(data: &[u8]) -> bool {
    let Some((&which, body)) = data.split_first() else {
        return false;
    };
    match which % BODIES {
        0 => body_of::<SignInRequest>(body, |r| {
            let _ = user_id::normalize(&r.user_id);
            let _ = helpdesk::enrolment_pass::normalize(&r.password);
        }),
        1 => body_of::<BirthDateRequest>(body, |r| birth_date(&r.birth_date)),
        2 => body_of::<TermsDecision>(body, |_| {}),
        3 => body_of::<EmailRequest>(body, |r| {
            if let Some(e) = &r.email {
                email(e);
            }
        }),
        4 => body_of::<MethodRequest>(body, |_| {}),
        5 => body_of::<CredentialsRequest>(body, |r| {
            judged("password", password::check(&r.password));
            if let Some(id) = &r.new_user_id {
                judged("new_user_id", UserId::parse(id));
            }
        }),
        6 => body_of::<TotpConfirmRequest>(body, |r| {
            let _ = totp::normalize_code(&r.code, 6);
            judged("device_name", totp::device_name(&r.device_name));
        }),
        7 => body_of::<TotpVerifyRequest>(body, |r| {
            let _ = totp::normalize_code(&r.code, 6);
        }),
        8 => body_of::<StepUpRequest>(body, |r| {
            if let Some(c) = &r.code {
                let _ = totp::normalize_code(c, 6);
            }
        }),
        9 => body_of::<PasswordChangeRequest>(body, |r| {
            judged("new_password", password::check(&r.new_password));
        }),
        10 => body_of::<EmailCodeRequest>(body, |r| {
            let _ = email_code::normalize(&r.code);
        }),
        11 => body_of::<ForgotUserIdRequest>(body, |r| {
            judged("card", InsuranceCard::parse(&r.symbol, &r.number));
            birth_date(&r.birth_date);
        }),
        12 => body_of::<ForgotPasswordRequest>(body, |r| {
            let _ = user_id::normalize(&r.user_id);
            birth_date(&r.birth_date);
        }),
        13 => body_of::<ResetPasswordRequest>(body, |r| {
            let _ = email_code::normalize(&r.code);
            judged("new_password", password::check(&r.new_password));
        }),
        14 => body_of::<ChangeEmailRequest>(body, |r| email(&r.email)),
        15 => body_of::<RenameRequest>(body, |r| {
            judged("name", totp::device_name(&r.name));
        }),
        16 => body_of::<crate::api::PasskeyRegistrationFinish>(body, |r| {
            judged("name", totp::device_name(&r.name));
        }),
        17 => body_of::<crate::api::PasskeyAuthenticationFinish>(body, |_| {}),
        18 => body_of::<StaffEnrolmentRequest>(body, |r| {
            judged("login", staff::parse_login(&r.login));
            let _ = staff::normalize_enrolment_code(&r.enrolment_code);
        }),
        19 => body_of::<StaffEnrolmentFinishRequest>(body, |r| {
            judged("password", password::check(&r.password));
            if let Some(n) = &r.device_name {
                judged("device_name", totp::device_name(n));
            }
        }),
        20 => body_of::<StaffSignInRequest>(body, |r| {
            let _ = staff::normalize_login(&r.login);
        }),
        21 => body_of::<StaffCodeRequest>(body, |r| {
            let _ = totp::normalize_code(&r.code, 6);
        }),
        22 => body_of::<VerifyCallerRequest>(body, |r| match r {
            VerifyCallerRequest::AppCode { code }
            | VerifyCallerRequest::MailedCode { code }
            | VerifyCallerRequest::MemberScreenCode { code } => {
                let _ = email_code::normalize(code);
            }
            VerifyCallerRequest::SendMailedCode => {}
            VerifyCallerRequest::Knowledge {
                birth_date: b,
                card_number,
            } => {
                birth_date(b);
                let _ = domain::width::fold(card_number);
            }
        }),
        23 => body_of::<StaffActionRequest>(body, |r| {
            let _ = r.change.action();
            if let StaffChange::ChangeEmail { email: e } = &r.change {
                email(e);
            }
        }),
        _ => body_of::<crate::api::helpdesk::CaseEvent>(body, |_| {}),
    }
}

fn body_of<T: DeserializeOwned>(body: &[u8], check: impl FnOnce(&T)) -> bool {
    match judged(
        std::any::type_name::<T>(),
        serde_json::from_slice::<T>(body),
    ) {
        Some(v) => {
            check(&v);
            true
        }
        None => false,
    }
}

fn birth_date(raw: &str) {
    judged(
        "birth_date",
        BirthDate::parse(raw).and_then(|d| d.not_after(today())),
    );
}

fn email(raw: &str) {
    if let Some(e) = judged("email", EmailAddress::parse(raw)) {
        // What is stored reads back the same.
        assert_eq!(EmailAddress::parse(e.as_str()).as_ref(), Ok(&e));
    }
}

/// The configuration file: parsed and checked as `tobira` reads it; a file that passes yields
/// server settings (without reading files it names: terms and mail templates are skipped).
pub fn config_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Some(cfg) = judged("config", crate::config::Config::parse(&text)) else {
        return;
    };
    if cfg.terms.ja.is_none() && cfg.terms.en.is_none() && cfg.mail.templates.is_none() {
        judged(
            "server settings",
            cfg.server_settings("http://localhost:8080".into()),
        );
    }
}

/// Inputs every target starts from (what the fuzzers mutate, and the test's seeds).
pub mod seeds {
    /// A roster in the documented form.
    pub const ROSTER: &str = "symbol,number,birthdate,name,email,user_id\n\
        12,3456789,1980-12-01,山田 太郎,demo0001@example.com,demo0001\n\
        12,3458815,1970/03/13,鈴木 悠斗,demo0002@example.com,Demo0002\n\
        １２,3459828,19910103,高橋 花子,demo0003@example.com,demo0003\n";

    /// One valid body per request type, in the order of `request_bodies`' first byte.
    pub const BODIES: [&str; 25] = [
        r#"{"user_id":"demo0001","password":"12345678919801201","lang":"ja"}"#,
        r#"{"birth_date":"1980-12-01"}"#,
        r#"{"accept":true}"#,
        r#"{"email":"taro@example.jp"}"#,
        r#"{"method":"totp_app"}"#,
        r#"{"password":"Brand-n3w-pass","new_user_id":"taro2026"}"#,
        r#"{"code":"123 456","device_name":"仕事用"}"#,
        r#"{"code":"123456"}"#,
        r#"{"password":"Brand-n3w-pass","code":null}"#,
        r#"{"current_password":"Brand-n3w-pass","new_password":"Other-pass-1"}"#,
        r#"{"code":"１２３４５６"}"#,
        r#"{"symbol":"12","number":"3456789","birth_date":"1980-12-01","lang":"en"}"#,
        r#"{"user_id":"demo0001","birth_date":"1980-12-01"}"#,
        r#"{"user_id":"demo0001","code":"123-456","new_password":"Brand-n3w-pass"}"#,
        r#"{"email":"new@example.jp"}"#,
        r#"{"name":"iPhone"}"#,
        r#"{"credential":{"id":"AA","rawId":"AA","response":{"attestationObject":"AA","clientDataJSON":"AA"},"type":"public-key"},"name":"key"}"#,
        r#"{"credential":{"id":"AA","rawId":"AA","response":{"authenticatorData":"AA","clientDataJSON":"AA","signature":"AA","userHandle":null},"type":"public-key"}}"#,
        r#"{"login":"sato","enrolment_code":"ABCD-EFGH-JKMN-PQRS"}"#,
        r#"{"password":"Staff-pass-1","code":"123456","device_name":null}"#,
        r#"{"login":"sato","password":"Staff-pass-1"}"#,
        r#"{"code":"123456"}"#,
        r#"{"proof":"knowledge","birth_date":"1980-12-01","card_number":"3456789"}"#,
        r#"{"version":"00000000000000ff","reason":"lost phone","change":{"action":"remove_factor","method":"totp_app","id":3}}"#,
        r#"{"event":"case","data":"00000000000000ff"}"#,
    ];

    /// A configuration as the example file writes it.
    pub const CONFIG: &str = include_str!("../assets/config.example.toml");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_are_accepted() {
        for row in crate::store::roster::read_roster(Cursor::new(seeds::ROSTER), today()) {
            assert!(row.is_ok(), "{row:?}");
        }
        for (i, body) in seeds::BODIES.iter().enumerate() {
            let mut data = vec![u8::try_from(i).unwrap()];
            data.extend_from_slice(body.as_bytes());
            assert!(request_bodies(&data), "seed {i}: {body}");
        }
        assert!(crate::config::Config::parse(seeds::CONFIG).is_ok());
    }
}
