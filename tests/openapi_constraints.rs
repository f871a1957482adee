//! The OpenAPI description's string constraints (pattern, minLength, maxLength) against the
//! domain rules they are derived from: for sampled values, whatever the schema accepts the
//! domain accepts, and on values in their canonical form the two verdicts are the same — so the
//! description and the server cannot drift apart.

use regex::Regex;
use time::macros::date;
use tobira::api::constraints::{self, Context, FIELDS, Kind, StringRule};
use tobira::domain::{
    BirthDate, EmailAddress, InsuranceCard, UserId, email_code, helpdesk, initial_password,
    password, staff, totp, user_id,
};

const CTX: Context = Context {
    today: date!(2026 - 12 - 06),
    totp_digits: 6,
};

const ALL: [Kind; 16] = [
    Kind::UserId,
    Kind::Password,
    Kind::BirthDate,
    Kind::Email,
    Kind::TotpCode,
    Kind::EmailCode,
    Kind::CardSymbol,
    Kind::CardNumber,
    Kind::DeviceName,
    Kind::StaffLogin,
    Kind::EnrolmentCode,
    Kind::Reason,
    Kind::Base64Url,
    Kind::SearchQuery,
    Kind::Page,
    Kind::AuditTime,
];

/// A small deterministic generator (xorshift64*), so every run samples the same values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// What the domain says of `s` as a value of `kind`: (accepted, in canonical form).
fn domain(kind: Kind, s: &str) -> (bool, bool) {
    let trimmed = s.trim() == s;
    match kind {
        Kind::UserId => {
            let ok = UserId::parse(s).is_ok();
            debug_assert_eq!(user_id::normalize(s).is_empty(), s.trim().is_empty());
            (ok, trimmed && s.is_ascii())
        }
        Kind::Password => (password::check(s).is_ok(), true),
        Kind::BirthDate => match BirthDate::parse(s).and_then(|d| d.not_after(CTX.today)) {
            // The pattern stops at the end of last year (see `birth_date_pattern`).
            Ok(d) => (true, trimmed && d.date().year() < CTX.today.year()),
            Err(_) => (false, trimmed),
        },
        Kind::Email => (EmailAddress::parse(s).is_ok(), trimmed),
        Kind::TotpCode => {
            let n = totp::normalize_code(s, CTX.totp_digits);
            (n.is_some(), n.as_deref() == Some(s) || n.is_none())
        }
        Kind::EmailCode => {
            let n = email_code::normalize(s);
            (n.is_some(), n.as_deref() == Some(s) || n.is_none())
        }
        Kind::CardSymbol => (
            InsuranceCard::parse(s, "1").is_ok(),
            trimmed && s.is_ascii(),
        ),
        Kind::CardNumber => (
            InsuranceCard::parse("1", s).is_ok(),
            trimmed && s.is_ascii(),
        ),
        Kind::DeviceName => (totp::device_name(s).is_ok(), trimmed),
        Kind::StaffLogin => (staff::parse_login(s).is_ok(), trimmed && s.is_ascii()),
        Kind::EnrolmentCode => match staff::normalize_enrolment_code(s) {
            Some(n) => {
                let grouped = n
                    .as_bytes()
                    .chunks(4)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
                    .join("-");
                (true, s == n || s == grouped)
            }
            None => (false, true),
        },
        Kind::Base64Url => {
            use base64::Engine;
            (
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(s)
                    .is_ok(),
                true,
            )
        }
        Kind::SearchQuery => (
            tobira::domain::SearchQuery::parse(s).is_ok(),
            trimmed && tobira::domain::width::fold(s) == s,
        ),
        // As the audit log reads `since` and `until` (`parse_time`; blank is no bound).
        Kind::AuditTime => (
            s.trim().is_empty()
                || s.trim().parse::<i64>().is_ok()
                || time::Date::parse(
                    s.trim(),
                    &time::macros::format_description!("[year]-[month]-[day]"),
                )
                .is_ok(),
            // The pattern leaves 29 February out (stricter, see `rule`).
            trimmed && !s.starts_with('+') && !s.ends_with("-02-29"),
        ),
        // As the staff lists read `page` (`parse_page`): a number from 0 to 200.
        Kind::Page => (
            s.trim().is_empty()
                || s.trim()
                    .parse::<u32>()
                    .is_ok_and(|p| p <= constraints::PAGE_MAX),
            trimmed && !(s.len() > 1 && s.starts_with('0')) && !s.starts_with('+'),
        ),
        Kind::Reason => {
            let t = s.trim();
            (
                !t.is_empty() && t.chars().count() <= constraints::REASON_MAX_CHARS,
                trimmed,
            )
        }
    }
}

fn schema_accepts(re: &Regex, rule: &StringRule, s: &str) -> bool {
    let n = s.chars().count();
    re.is_match(s) && rule.min_length <= n && n <= rule.max_length
}

/// Values worth trying for `kind`: hand-picked edges, then random strings over an alphabet
/// that mixes what the rule allows with what it does not.
fn samples(kind: Kind, rng: &mut Rng) -> Vec<String> {
    let mut out: Vec<String> = [
        "",
        " ",
        "a",
        "0",
        "\u{0}",
        "\t",
        "１２３",
        "テスト",
        "-",
        "--",
        "　",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let edges: &[&str] = match kind {
        Kind::UserId => &[
            "demo0001",
            "DEMO0001",
            " demo0001",
            "abc1234",
            "abc12345",
            "abcdefghij123",
            "abcdefghij1234",
            "abcdefghi",
            "123456789",
            "a.b-c_d@1",
            "abcd 1234",
            "ab\u{212A}12345",
        ],
        Kind::Password => &[
            "abcd1234",
            "abc1234",
            "pass word1",
            "Passw0rd!",
            "パスワード12345",
            "12345678919801201",
            "\\\\\\\\\\\\\\\\",
            "]]]]]]]]",
            "^^^^^^^^",
            "--------",
        ],
        Kind::BirthDate => &[
            "1980-12-01",
            "1900-01-01",
            "1899-12-31",
            "2000-02-29",
            "1900-02-29",
            "2024-02-29",
            "2023-02-29",
            "1980-02-30",
            "1980-04-31",
            "1980-13-01",
            "1980-00-10",
            "1980-01-00",
            "2025-12-31",
            "2026-01-01",
            "2026-12-06",
            "2026-12-07",
            "2027-01-01",
            "80-12-01",
            "1980/12/01",
            " 1980-12-01",
            "１９８０-12-01",
            "19801201",
        ],
        Kind::Email => &[
            "taro@example.jp",
            "Taro@Example.JP",
            "a@b.c",
            "a@b",
            "@b.c",
            "a@.b.c",
            "a@b.c.",
            "a@b..c",
            "a b@c.d",
            "a\"b@c.d",
            "a@b_c.d",
            "a@b-c.d",
            "!#$%&'*+/=?^`{|}~@x.y",
            " taro@example.jp",
        ],
        Kind::TotpCode | Kind::EmailCode => &[
            "123456",
            "012345",
            "12345",
            "1234567",
            "123 456",
            "123-456",
            "１２３４５６",
            "12345a",
        ],
        Kind::CardSymbol | Kind::CardNumber => &[
            "1",
            "12",
            "12345678",
            "123456789",
            "1234567890",
            "12345678901",
            "1a",
            " 12",
            "１２",
        ],
        Kind::DeviceName => &[
            "iPhone",
            "仕事用",
            " phone",
            "a\u{7}b",
            "a\u{85}b",
            "x",
            "\u{3000}",
            "\u{a0}",
        ],
        Kind::StaffLogin => &[
            "ab",
            "a",
            "admin",
            "Admin",
            "1admin",
            "ad min",
            "a.b-c_d",
            "ａｄｍｉｎ",
            "_a",
        ],
        Kind::EnrolmentCode => &[
            "ABCD-EFGH-JKMN-PQRS",
            "ABCDEFGHJKMNPQRS",
            "abcd-efgh-jkmn-pqrs",
            "ABCD-EFGH-JKMN-PQR",
            "ABCD-EFGH-JKMN-PQRSU",
            "OOOO-IIII-LLLL-0000",
            "ABCDE-FGHJ-KMNP-QRS",
            "ABCD EFGH JKMN PQRS",
        ],
        Kind::Reason => &["lost phone", " lost phone ", "\n", "x"],
        Kind::SearchQuery => &["demo", "山田", "12-3456789", "  ", "a@b", "a\u{0}b", "x\ty"],
        Kind::AuditTime => &[
            "",
            "0",
            "-5",
            "1796583801",
            "2026-11-25",
            "2026-02-29",
            "2024-02-29",
            "2026-13-01",
            "26-1-1",
            "V",
            "99999999999999999999",
        ],
        Kind::Page => &[
            "0", "1", "9", "10", "99", "100", "199", "200", "201", "007", "-1", "+1", "1000",
        ],
        Kind::Base64Url => &[
            "AA", "AB", "AAA", "AAB", "AAAA", "A", "AA==", "a-_0", "a+/0",
        ],
    };
    out.extend(edges.iter().map(|s| s.to_string()));
    out.push("x".repeat(constraints::REASON_MAX_CHARS));
    out.push("x".repeat(constraints::REASON_MAX_CHARS + 1));
    out.push("a".repeat(64));
    out.push("a".repeat(65));
    let alphabet: Vec<char> = match kind {
        Kind::UserId => "abcXYZ0189-_.@ !".chars().collect(),
        Kind::Password => "aZ09!\"#$%&'()=~|`{+*}<>?_-^\\@[;:],./ éあ\t"
            .chars()
            .collect(),
        Kind::BirthDate => "0123456789-- /".chars().collect(),
        Kind::Email => "ab.Z09-@@..+_ \"<,".chars().collect(),
        Kind::TotpCode | Kind::EmailCode | Kind::CardSymbol | Kind::CardNumber => {
            "0123456789 -１a".chars().collect()
        }
        Kind::DeviceName | Kind::Reason => "ab 名\u{7}\u{a0}\u{85}\t".chars().collect(),
        Kind::StaffLogin => "abZ09._- ａ".chars().collect(),
        Kind::EnrolmentCode => "0123456789ABCDEFGHJKMNPQRSTVWXYZoilu- ".chars().collect(),
        Kind::Base64Url => "AQgwBbz09_-+/=".chars().collect(),
        Kind::SearchQuery => "a 1\u{3000}\t山".chars().collect(),
        Kind::Page => "0120 9+-".chars().collect(),
        Kind::AuditTime => "0123456789-- V".chars().collect(),
    };
    for _ in 0..4000 {
        let len = rng.below(40);
        let s: String = (0..len).map(|_| *rng.pick(&alphabet)).collect();
        out.push(s);
    }
    if kind == Kind::BirthDate {
        // Well-formed dates of every shape, existing or not, past and future.
        for _ in 0..4000 {
            out.push(format!(
                "{:04}-{:02}-{:02}",
                1890 + rng.below(150),
                rng.below(14),
                rng.below(33)
            ));
        }
    }
    out
}

#[test]
fn the_schema_and_the_domain_agree_on_sampled_values() {
    for (schema, property, kind) in FIELDS {
        assert!(
            ALL.contains(kind),
            "{schema}.{property}: {kind:?} is not sampled"
        );
    }
    let mut rng = Rng(0x5EED_C0FF_EE00_1234);
    for kind in ALL {
        let rule = constraints::rule(kind, &CTX);
        let re = Regex::new(&rule.pattern).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let mut checked = (0, 0);
        for s in samples(kind, &mut rng) {
            let schema = schema_accepts(&re, &rule, &s);
            let (accepted, canonical) = domain(kind, &s);
            assert!(
                !schema || accepted,
                "{kind:?}: the schema accepts {s:?}, the server refuses it"
            );
            if canonical {
                assert_eq!(
                    schema, accepted,
                    "{kind:?}: {s:?} is canonical; schema {schema}, domain {accepted}"
                );
            }
            if accepted {
                checked.0 += 1;
            } else {
                checked.1 += 1;
            }
        }
        assert!(
            checked.0 >= 3 && checked.1 >= 3,
            "{kind:?}: too few valid or invalid samples {checked:?}"
        );
    }
}

#[test]
fn passes_and_initial_passwords_are_passwords_by_the_schema() {
    let rule = constraints::rule(Kind::Password, &CTX);
    let re = Regex::new(&rule.pattern).unwrap();
    let mut rng = Rng(7);
    for _ in 0..500 {
        let bytes: Vec<u8> = (0..64).map(|_| rng.next() as u8).collect();
        let pass = helpdesk::enrolment_pass::from_random(&bytes).unwrap();
        assert!(schema_accepts(&re, &rule, &pass), "{pass}");
        let shown = helpdesk::enrolment_pass::display(&pass);
        assert!(schema_accepts(&re, &rule, &shown), "{shown}");
    }
    let card = InsuranceCard::parse("12345678", "1234567890").unwrap();
    let birth = BirthDate::parse("1980-12-01").unwrap();
    let longest = initial_password::initial_password(&card, &birth);
    assert!(schema_accepts(&re, &rule, &longest), "{longest}");
    let card = InsuranceCard::parse("1", "2").unwrap();
    let shortest = initial_password::initial_password(&card, &birth);
    assert!(schema_accepts(&re, &rule, &shortest), "{shortest}");
}

#[test]
fn every_declared_field_is_in_the_description_with_its_rule() {
    let doc = tobira::server::openapi::document();
    let mut again = doc.clone();
    assert_eq!(
        constraints::apply(&mut again, &Context::now()),
        Vec::<(&str, &str)>::new(),
        "fields named in FIELDS but not found in the description"
    );
    let json = serde_json::to_value(&doc).unwrap();
    let schemas = &json["components"]["schemas"];
    let prop = |s: &str, p: &str| schemas[s]["properties"][p].clone();
    let user_id = prop("SignInRequest", "user_id");
    assert_eq!(
        user_id["pattern"],
        constraints::rule(Kind::UserId, &CTX).pattern
    );
    assert_eq!(user_id["minLength"], 8);
    assert_eq!(user_id["maxLength"], 13);
    let birth = prop("BirthDateRequest", "birth_date");
    assert_eq!(birth["format"], "date");
    assert_eq!(birth["minLength"], 10);
    let number = prop("ForgotUserIdRequest", "number");
    assert_eq!(number["pattern"], "^[0-9]{1,10}$");
    let code = prop("TotpVerifyRequest", "code");
    assert_eq!(code["pattern"], "^[0-9]{6}$");
    let new_id = prop("CredentialsRequest", "new_user_id");
    assert_eq!(new_id["maxLength"], 13);
    // Inside the variants of a tagged enum too.
    let verify = serde_json::to_string(&schemas["VerifyCallerRequest"]).unwrap();
    assert!(verify.contains("^[0-9]{1,10}$"), "{verify}");
    let params = json["paths"]["/api/v1/staff/members"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let q = params.iter().find(|p| p["name"] == "q").unwrap();
    assert_eq!(q["required"], true, "{q}");
    assert_eq!(q["in"], "query", "{q}");
    assert_eq!(q["schema"]["maxLength"], 100, "{q}");
    assert_eq!(q["schema"]["type"], "string", "{q}");
    let change = serde_json::to_string(&schemas["StaffChange"]).unwrap();
    assert!(change.contains("\"maxLength\":254"), "{change}");
}
