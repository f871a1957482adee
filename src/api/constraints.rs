//! What the server enforces on the strings of the request bodies, as the OpenAPI description
//! declares it (pattern, minLength, maxLength, format), derived from the `domain` rules.
//!
//! The patterns describe each value's canonical form: a value that matches is one the domain
//! accepts (so a schema-driven fuzzer's valid requests are never refused for their shape). The
//! server is more lenient than the description in documented ways only (surrounding spaces,
//! full-width digits, upper-case user IDs, codes typed with spaces or hyphens).
//! `tests/openapi_constraints.rs` samples values and checks the two verdicts agree.
//!
//! Patterns use only what ECMA-262, Python's `re` and Rust's `regex` read alike: no
//! look-around, no `\d` (Unicode digits in two of them), character classes without
//! doubled `&`, `-` or `~`.

use time::Date;
use utoipa::openapi::schema::{KnownFormat, Object, Schema, SchemaFormat};
use utoipa::openapi::{OpenApi, RefOr};

use crate::domain::{email, initial_password, password, staff, totp, user_id};

/// The kinds of string the request bodies carry, each with one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A member's user ID (8–13 characters, letters and digits combined, also `-_.@`).
    UserId,
    /// A password (8–64 ASCII letters, digits and the manual's symbols); initial passwords
    /// and the helpdesk's enrolment passes (typed as the password) are of this form too.
    Password,
    /// A date of birth, `YYYY-MM-DD`, an existing date from 1900 on and not in the future.
    BirthDate,
    /// An email address.
    Email,
    /// A code from an authenticator app (the policy's digits).
    TotpCode,
    /// A mailed or screen code (6 digits): email one-time password, reset code, helpdesk code.
    EmailCode,
    /// The insurance card's symbol (記号).
    CardSymbol,
    /// The insurance card's number (番号).
    CardNumber,
    /// The name of a device (authenticator app or passkey).
    DeviceName,
    /// A staff login.
    StaffLogin,
    /// A staff enrolment code (`XXXX-XXXX-XXXX-XXXX`, Crockford base 32).
    EnrolmentCode,
    /// The reason a staff member gives for a change.
    Reason,
    /// What staff type into the member search (`q`).
    SearchQuery,
    /// A time bound of the audit log (`since`, `until`): Unix seconds or `YYYY-MM-DD` (empty:
    /// none).
    AuditTime,
    /// A page number of the staff lists (`page`), 0 to [`PAGE_MAX`] (empty: the first).
    Page,
    /// Bytes of a WebAuthn answer: unpadded base64url whose last character carries no stray
    /// bits, as webauthn-rs decodes them.
    Base64Url,
}

/// The longest reason for a staff change, in characters (the actions route checks it).
pub const REASON_MAX_CHARS: usize = 200;

/// Where each kind appears: (component schema, property, kind). A property of a component
/// is found at any depth (inside `oneOf` variants as well).
///
/// The recovery routes' `user_id` is left free on purpose: they answer the same whether or not
/// anything matched, and a malformed ID matches nobody.
pub const FIELDS: &[(&str, &str, Kind)] = &[
    ("SignInRequest", "user_id", Kind::UserId),
    ("SignInRequest", "password", Kind::Password),
    ("BirthDateRequest", "birth_date", Kind::BirthDate),
    ("EmailRequest", "email", Kind::Email),
    ("CredentialsRequest", "password", Kind::Password),
    ("CredentialsRequest", "new_user_id", Kind::UserId),
    ("TotpConfirmRequest", "code", Kind::TotpCode),
    ("TotpConfirmRequest", "device_name", Kind::DeviceName),
    ("TotpVerifyRequest", "code", Kind::TotpCode),
    ("StepUpRequest", "password", Kind::Password),
    ("StepUpRequest", "code", Kind::TotpCode),
    ("PasswordChangeRequest", "current_password", Kind::Password),
    ("PasswordChangeRequest", "new_password", Kind::Password),
    ("EmailCodeRequest", "code", Kind::EmailCode),
    ("ForgotUserIdRequest", "symbol", Kind::CardSymbol),
    ("ForgotUserIdRequest", "number", Kind::CardNumber),
    ("ForgotUserIdRequest", "birth_date", Kind::BirthDate),
    ("ForgotPasswordRequest", "birth_date", Kind::BirthDate),
    ("ResetPasswordRequest", "code", Kind::EmailCode),
    ("ResetPasswordRequest", "new_password", Kind::Password),
    ("ChangeEmailRequest", "email", Kind::Email),
    ("RenameRequest", "name", Kind::DeviceName),
    ("PasskeyRegistrationFinish", "name", Kind::DeviceName),
    ("StaffEnrolmentRequest", "login", Kind::StaffLogin),
    (
        "StaffEnrolmentRequest",
        "enrolment_code",
        Kind::EnrolmentCode,
    ),
    ("StaffEnrolmentFinishRequest", "password", Kind::Password),
    ("StaffEnrolmentFinishRequest", "code", Kind::TotpCode),
    (
        "StaffEnrolmentFinishRequest",
        "device_name",
        Kind::DeviceName,
    ),
    ("StaffSignInRequest", "login", Kind::StaffLogin),
    ("StaffSignInRequest", "password", Kind::Password),
    ("StaffCodeRequest", "code", Kind::TotpCode),
    // The app code, the mailed code and the screen code are all 6 digits under the default
    // policy; the variants share the property name.
    ("VerifyCallerRequest", "code", Kind::EmailCode),
    ("VerifyCallerRequest", "birth_date", Kind::BirthDate),
    ("VerifyCallerRequest", "card_number", Kind::CardNumber),
    ("StaffActionRequest", "reason", Kind::Reason),
    ("StaffChange", "email", Kind::Email),
    ("WebAuthnAttestation", "rawId", Kind::Base64Url),
    (
        "WebAuthnAttestationResponse",
        "attestationObject",
        Kind::Base64Url,
    ),
    (
        "WebAuthnAttestationResponse",
        "clientDataJSON",
        Kind::Base64Url,
    ),
    ("WebAuthnAssertion", "rawId", Kind::Base64Url),
    (
        "WebAuthnAssertionResponse",
        "authenticatorData",
        Kind::Base64Url,
    ),
    (
        "WebAuthnAssertionResponse",
        "clientDataJSON",
        Kind::Base64Url,
    ),
    ("WebAuthnAssertionResponse", "signature", Kind::Base64Url),
    ("WebAuthnAssertionResponse", "userHandle", Kind::Base64Url),
];

/// Query parameters: (path, name, kind, required). `q` is read as optional by the server, which
/// answers its absence with the same message as an empty search.
pub const PARAMS: &[(&str, &str, Kind, bool)] = &[
    ("/api/v1/staff/members", "q", Kind::SearchQuery, true),
    ("/api/v1/staff/members", "page", Kind::Page, false),
    ("/api/v1/staff/audit", "page", Kind::Page, false),
    ("/api/v1/staff/audit", "since", Kind::AuditTime, false),
    ("/api/v1/staff/audit", "until", Kind::AuditTime, false),
];

/// The last page the staff lists accept.
pub const PAGE_MAX: u32 = 200;

/// The longest base64url field of a WebAuthn answer declared (the passkey routes' body limit
/// bounds the whole answer).
pub const BASE64URL_MAX_CHARS: usize = 16 * 1024;

/// What the rules depend on at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// The server's date (a date of birth may not be after it).
    pub today: Date,
    /// Digits of an authenticator code under the TOTP policy.
    pub totp_digits: u8,
}

impl Context {
    /// The default policy on the system clock's date (UTC).
    pub fn now() -> Self {
        Self {
            today: time::OffsetDateTime::now_utc().date(),
            totp_digits: totp::TotpParams::default().digits,
        }
    }
}

/// One string rule as JSON Schema states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringRule {
    /// An anchored regular expression.
    pub pattern: String,
    /// Fewest characters (Unicode scalar values, as JSON Schema counts).
    pub min_length: usize,
    /// Most characters.
    pub max_length: usize,
    /// A JSON Schema `format`, when one applies.
    pub format: Option<&'static str>,
}

/// `chars` as the inside of a regex character class, escaping what is special there.
fn class_of(chars: impl IntoIterator<Item = char>) -> String {
    let mut out = String::new();
    for c in chars {
        if matches!(c, '\\' | ']' | '[' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The years `1900..=last` as an alternation, one branch per decade.
fn years(last: i32) -> String {
    let mut out = Vec::new();
    for decade in 190..=last / 10 {
        let end = (last - decade * 10).min(9);
        if end == 9 {
            out.push(format!("{decade}[0-9]"));
        } else {
            out.push(format!("{decade}[0-{end}]"));
        }
    }
    out.join("|")
}

/// The leap years in `1900..=last`.
fn leap_years(last: i32) -> String {
    (1900..=last)
        .filter(|y| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        .map(|y| y.to_string())
        .collect::<Vec<_>>()
        .join("|")
}

/// Existing dates from 1900-01-01 to the last day of the year before `today`'s. The current
/// year is left out (a pattern cannot follow the clock): the description is stricter than the
/// server there, never more lenient.
fn birth_date_pattern(today: Date) -> String {
    let last = (today.year() - 1).max(1900);
    let common = "(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31";
    format!(
        "^(?:(?:{})-(?:{common})|(?:{})-02-29)$",
        years(last),
        leap_years(last)
    )
}

/// The rule of `kind` under `ctx`.
pub fn rule(kind: Kind, ctx: &Context) -> StringRule {
    let plain = |pattern: String, min_length: usize, max_length: usize| StringRule {
        pattern,
        min_length,
        max_length,
        format: None,
    };
    // Any character but the controls (`char::is_control`), at least one of them not a space.
    let printable = r"[^\x00-\x1F\x7F-\x9F]";
    let visible = r"[^\s\x00-\x1F\x7F-\x9F]";
    match kind {
        Kind::UserId => {
            let c = format!("[A-Za-z0-9{}]", class_of(user_id::EXTRA_CHARS.chars()));
            plain(
                format!("^{c}*(?:[A-Za-z]{c}*[0-9]|[0-9]{c}*[A-Za-z]){c}*$"),
                user_id::MIN_LEN,
                user_id::MAX_LEN,
            )
        }
        Kind::Password => plain(
            format!("^[A-Za-z0-9{}]*$", class_of(password::SYMBOLS.chars())),
            password::MIN_LEN,
            password::MAX_LEN,
        ),
        Kind::BirthDate => StringRule {
            pattern: birth_date_pattern(ctx.today),
            min_length: 10,
            max_length: 10,
            format: Some("date"),
        },
        Kind::Email => {
            let local = (0x21u8..=0x7E)
                .map(char::from)
                .filter(|c| !"<>()[]\\,;:\"@".contains(*c));
            plain(
                format!(
                    "^[{}]{{1,64}}@[A-Za-z0-9\\-]+(?:\\.[A-Za-z0-9\\-]+)+$",
                    class_of(local)
                ),
                3,
                email::MAX_LEN,
            )
        }
        Kind::TotpCode => {
            let n = usize::from(ctx.totp_digits);
            plain(format!("^[0-9]{{{n}}}$"), n, n)
        }
        Kind::EmailCode => {
            let n = crate::domain::email_code::DIGITS;
            plain(format!("^[0-9]{{{n}}}$"), n, n)
        }
        Kind::CardSymbol => plain(
            format!("^[0-9]{{1,{}}}$", initial_password::SYMBOL_MAX),
            1,
            initial_password::SYMBOL_MAX,
        ),
        Kind::CardNumber => plain(
            format!("^[0-9]{{1,{}}}$", initial_password::NUMBER_MAX),
            1,
            initial_password::NUMBER_MAX,
        ),
        Kind::DeviceName => plain(
            format!("^{printable}*{visible}{printable}*$"),
            1,
            totp::DEVICE_NAME_MAX_CHARS,
        ),
        Kind::StaffLogin => plain(
            "^[A-Za-z][A-Za-z0-9._\\-]*$".to_owned(),
            staff::LOGIN_MIN_LEN,
            staff::LOGIN_MAX_LEN,
        ),
        Kind::EnrolmentCode => {
            let c = "[0-9A-HJKMNP-TV-Z]";
            plain(
                format!("^{c}{{4}}(?:-?{c}{{4}}){{3}}$"),
                staff::ENROLMENT_CODE_LEN,
                staff::ENROLMENT_CODE_LEN + 3,
            )
        }
        Kind::Base64Url => {
            let c = "[A-Za-z0-9_\\-]";
            plain(
                format!("^(?:{c}{{4}})*(?:{c}[AQgw]|{c}{{2}}[AEIMQUYcgkosw048])?$"),
                0,
                BASE64URL_MAX_CHARS,
            )
        }
        Kind::SearchQuery => plain(
            format!("^{printable}*{visible}{printable}*$"),
            1,
            crate::domain::member_search::QUERY_MAX,
        ),
        // Every day of every month but 29 February (stricter than the server, never laxer).
        Kind::AuditTime => plain(
            "^(?:-?[0-9]{1,18}|[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31))?$".to_owned(),
            0,
            19,
        ),
        // Empty is the first page.
        Kind::Page => plain(
            format!("^(?:[0-9]|[1-9][0-9]|1[0-9][0-9]|{PAGE_MAX})?$"),
            0,
            PAGE_MAX.to_string().len(),
        ),
        Kind::Reason => plain(r"^[\s\S]*[^\s][\s\S]*$".to_owned(), 1, REASON_MAX_CHARS),
    }
}

fn constrain(obj: &mut Object, rule: &StringRule) {
    obj.pattern = Some(rule.pattern.clone());
    obj.min_length = Some(rule.min_length);
    obj.max_length = Some(rule.max_length);
    obj.format = match rule.format {
        Some("date") => Some(SchemaFormat::KnownFormat(KnownFormat::Date)),
        Some(other) => Some(SchemaFormat::Custom(other.to_owned())),
        None => obj.format.take(),
    };
}

/// Sets `property`'s rule wherever it appears under `schema`; returns how many were set.
fn walk(schema: &mut Schema, property: &str, rule: &StringRule) -> usize {
    match schema {
        Schema::Object(obj) => {
            let mut n = 0;
            for (name, prop) in obj.properties.iter_mut() {
                if let RefOr::T(inner) = prop {
                    if name == property
                        && let Schema::Object(o) = inner
                    {
                        constrain(o, rule);
                        n += 1;
                    } else {
                        n += walk(inner, property, rule);
                    }
                }
            }
            n
        }
        Schema::OneOf(one) => items(&mut one.items, property, rule),
        Schema::AllOf(all) => items(&mut all.items, property, rule),
        Schema::AnyOf(any) => items(&mut any.items, property, rule),
        _ => 0,
    }
}

fn items(items: &mut [RefOr<Schema>], property: &str, rule: &StringRule) -> usize {
    items
        .iter_mut()
        .map(|i| match i {
            RefOr::T(s) => walk(s, property, rule),
            RefOr::Ref(_) => 0,
        })
        .sum()
}

/// Declares every rule of [`FIELDS`] in `doc`; returns the fields it did not find (none, as
/// the tests check).
pub fn apply(doc: &mut OpenApi, ctx: &Context) -> Vec<(&'static str, &'static str)> {
    let mut missing = Vec::new();
    for (path, name, kind, required) in PARAMS {
        let param = doc
            .paths
            .paths
            .get_mut(*path)
            .and_then(|item| item.get.as_mut())
            .and_then(|op| op.parameters.as_mut())
            .and_then(|ps| ps.iter_mut().find(|p| p.name == *name));
        let Some(param) = param else {
            missing.push((*path, *name));
            continue;
        };
        if *required {
            param.required = utoipa::openapi::Required::True;
        }
        if let Some(RefOr::T(Schema::Object(o))) = param.schema.as_mut() {
            // A query parameter is a string or absent, never `null` (an `Option` says `null`).
            o.schema_type =
                utoipa::openapi::schema::SchemaType::Type(utoipa::openapi::Type::String);
            constrain(o, &rule(*kind, ctx));
        } else {
            missing.push((*path, *name));
        }
    }
    let Some(components) = doc.components.as_mut() else {
        return FIELDS.iter().map(|(s, p, _)| (*s, *p)).collect();
    };
    for (schema, property, kind) in FIELDS {
        let set = match components.schemas.get_mut(*schema) {
            Some(RefOr::T(s)) => walk(s, property, &rule(*kind, ctx)),
            _ => 0,
        };
        if set == 0 {
            missing.push((*schema, *property));
        }
    }
    missing
}
