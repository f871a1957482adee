//! Authenticator apps (OTP アプリ) through the real client and server: enrollment at the next
//! sign-in after the first login, the code at every later sign-in, several devices, lockout,
//! and secrets encrypted at rest. Codes are computed from the otpauth URI, as a phone would.
//! The stories run on SQLite (`sqlite::…`) and on PostgreSQL (`postgres::…`); a test that reads
//! the SQLite file itself runs on SQLite only.

mod common;

use common::*;
use tobira::api::{ErrorCode, Lang, Step, TotpAlgorithm, TotpEnrollment};
use tobira::client::FlowToken;
use tobira::domain::{TotpParams, TotpSecret};
use tobira::server::ServerSettings;
use tobira::store::ThrottleScope;

const PW: &str = "N3w-passw0rd!";

fn settings() -> ServerSettings {
    let mut s = test_settings();
    s.totp.issuer = "Kenpo Portal".to_owned();
    s
}

/// What an authenticator app keeps after scanning the QR code.
struct Phone {
    secret: TotpSecret,
    params: TotpParams,
}

impl Phone {
    /// Reads the otpauth URI as an app does.
    fn scan(uri: &str) -> Self {
        let url = url::Url::parse(uri).expect("the otpauth URI parses");
        assert_eq!(url.scheme(), "otpauth");
        assert_eq!(url.host_str(), Some("totp"));
        let q = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        let params = TotpParams {
            algorithm: q("algorithm")
                .map(|a| TotpAlgorithm::from_name(&a).expect("algorithm"))
                .unwrap_or(TotpAlgorithm::Sha1),
            digits: q("digits").map(|d| d.parse().unwrap()).unwrap_or(6),
            period_secs: q("period").map(|p| p.parse().unwrap()).unwrap_or(30),
        };
        let secret = TotpSecret::from_base32(&q("secret").expect("secret")).expect("base32");
        Self { secret, params }
    }

    /// The code shown at `unix` seconds.
    fn code_at(&self, unix: i64) -> String {
        self.params.code_at(&self.secret, unix as u64).unwrap()
    }

    /// The code shown now on the test clock.
    fn code(&self, t: &TestServer) -> String {
        self.code_at(tobira::server::Clock::now(t.clock.as_ref()))
    }
}

/// The demo member completes the first login (choosing the app) and signs in again: method set-up.
async fn demo_at_method_setup(t: &TestServer) -> FlowToken {
    let token = t.demo_at_credentials().await;
    let v = t.client.set_credentials(&token, PW, None).await.unwrap();
    assert_eq!(v.step, Step::Complete);
    let (token, v) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::MethodSetup);
    token
}

/// Enrolls the demo member's first phone; the member is at the top screen afterwards.
async fn demo_enrolled(t: &TestServer) -> (FlowToken, Phone) {
    let token = demo_at_method_setup(t).await;
    let e = t.client.start_totp_enrollment(&token).await.unwrap();
    let phone = Phone::scan(&e.otpauth_uri);
    let v = t
        .client
        .confirm_totp_enrollment(&token, &phone.code(t), "iPhone")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    (token, phone)
}

/// Signs in with the password: the second factor is asked for.
async fn sign_in_to_code(t: &TestServer) -> FlowToken {
    let (token, v) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::SecondFactor);
    token
}

async fn account_failures(t: &TestServer) -> u32 {
    let m = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    t.store
        .failures(ThrottleScope::Account, &m.id.to_string())
        .await
        .unwrap()
        .failures
}

async fn enrollment_at_the_next_sign_in_then_the_code_at_every_sign_in(db: Database) {
    let t = start_on_with(db, settings()).await;
    let c = &t.client;
    let token = demo_at_method_setup(&t).await;

    // The QR code's URI: issuer from the configuration, account = user ID, SHA1/6/30 s.
    let e: TotpEnrollment = c.start_totp_enrollment(&token).await.unwrap();
    assert!(
        e.otpauth_uri
            .starts_with("otpauth://totp/Kenpo%20Portal:demo0001?secret="),
        "{}",
        e.otpauth_uri
    );
    assert!(e.otpauth_uri.ends_with("&issuer=Kenpo%20Portal"));
    assert_eq!(
        (e.issuer.as_str(), e.account.as_str()),
        ("Kenpo Portal", "demo0001")
    );
    assert_eq!(
        (e.algorithm, e.digits, e.period_secs),
        (TotpAlgorithm::Sha1, 6, 30)
    );
    let phone = Phone::scan(&e.otpauth_uri);
    assert_eq!(phone.secret.as_bytes().len(), 20, "160-bit secret");
    assert_eq!(
        phone.secret.to_base32(),
        e.secret,
        "the typed key is the QR's key"
    );
    assert!(!format!("{e:?}").contains(&e.secret), "Debug hides the key");

    // Reloading, or leaving and signing in again, shows the same secret.
    assert_eq!(c.start_totp_enrollment(&token).await.unwrap(), e);
    c.sign_out(&token).await.unwrap();
    let (token, v) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::MethodSetup);
    assert_eq!(c.start_totp_enrollment(&token).await.unwrap(), e);

    // Device name and code are checked.
    let code = phone.code(&t);
    let err = expect_code(
        c.confirm_totp_enrollment(&token, &code, "  ").await,
        ErrorCode::InvalidDeviceName,
    );
    assert_eq!(err.rule.as_deref(), Some("length"));
    expect_code(
        c.confirm_totp_enrollment(&token, &code, &"x".repeat(33))
            .await,
        ErrorCode::InvalidDeviceName,
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    expect_code(
        c.confirm_totp_enrollment(&token, wrong, "iPhone").await,
        ErrorCode::WrongCode,
    );
    expect_code(c.home(&token).await, ErrorCode::OutOfOrder);

    // The right code and a name: stage 2 is over, the member is at the top screen.
    let v = c
        .confirm_totp_enrollment(&token, &code, "iPhone")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    assert_eq!(
        account_failures(&t).await,
        0,
        "success clears the wrong code"
    );
    let home = c.home(&token).await.unwrap();
    assert_eq!(home.member.name, "山田 太郎");
    assert_eq!(home.member.user_id, "demo0001");
    assert_eq!(home.second_factors.len(), 1);
    assert_eq!(home.second_factors[0].name, "iPhone");
    assert_eq!(home.second_factors[0].last_used_at, Some(T0));
    assert_eq!(home.max_totp_devices, 5);
    assert!(!home.enrollment_pending);
    c.sign_out(&token).await.unwrap();

    // The next sign-in asks for a code before anything personal is shown.
    let token = sign_in_to_code(&t).await;
    let v = c.flow(&token).await.unwrap();
    assert_eq!((v.step, v.name, v.email), (Step::SecondFactor, None, None));
    expect_code(c.home(&token).await, ErrorCode::OutOfOrder);
    expect_code(c.start_totp_enrollment(&token).await, ErrorCode::OutOfOrder);
    // The code that confirmed the device cannot be used again.
    expect_code(c.verify_totp(&token, &code).await, ErrorCode::CodeUsed);
    t.clock.advance(30);
    let fresh = phone.code(&t);
    let v = c.verify_totp(&token, &fresh).await.unwrap();
    assert_eq!(v.step, Step::Home);
    assert_eq!(v.name.as_deref(), Some("山田 太郎"));
    assert_eq!(c.flow(&token).await.unwrap().step, Step::Home);
    let home = c.home(&token).await.unwrap();
    assert_eq!(home.second_factors[0].last_used_at, Some(T0 + 30));
    expect_code(c.verify_totp(&token, &fresh).await, ErrorCode::OutOfOrder);

    // Same code, new sign-in: refused as used.
    let token = sign_in_to_code(&t).await;
    expect_code(c.verify_totp(&token, &fresh).await, ErrorCode::CodeUsed);

    let member = t.store.member_by_user_id(DEMO_ID).await.unwrap().unwrap();
    let actions: Vec<String> = t
        .store
        .audit_log(Some(member.id), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["totp.enrollment_started", "totp.enrolled", "totp.verified"] {
        assert!(
            actions.iter().any(|x| x == a),
            "audit lacks {a}: {actions:?}"
        );
    }
    t.stop().await;
}

async fn the_window_is_one_step_either_side(db: Database) {
    let t = start_on_with(db, settings()).await;
    let c = &t.client;
    let (_, phone) = demo_enrolled(&t).await;
    t.clock.advance(300);
    let now = T0 + 300;
    let token = sign_in_to_code(&t).await;

    // Two steps old: expired (its own message), and it counts as a failed attempt.
    let e = expect_code(
        c.verify_totp(&token, &phone.code_at(now - 60)).await,
        ErrorCode::CodeExpired,
    );
    assert_eq!(e.field.as_deref(), Some("code"));
    assert_eq!(e.step, Some(Step::SecondFactor), "errors carry the step");
    // Three steps ahead: the phone's clock is off.
    expect_code(
        c.verify_totp(&token, &phone.code_at(now + 90)).await,
        ErrorCode::ClockSkew,
    );
    assert_eq!(account_failures(&t).await, 2);
    // Malformed input is refused without counting.
    let e = expect_code(c.verify_totp(&token, "12345").await, ErrorCode::WrongCode);
    assert_eq!(e.rule.as_deref(), Some("format"));
    assert_eq!(account_failures(&t).await, 2);
    // One step old is still accepted (typed with spaces, in full-width digits).
    let code: String = phone
        .code_at(now - 30)
        .chars()
        .map(|d| char::from_u32(d as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    let v = c
        .verify_totp(&token, &format!("{} {}", &code[..9], &code[9..]))
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    assert_eq!(account_failures(&t).await, 0);

    // One step ahead is accepted too; after it the current step is older than the last used.
    let token = sign_in_to_code(&t).await;
    c.verify_totp(&token, &phone.code_at(now + 30))
        .await
        .unwrap();
    let token = sign_in_to_code(&t).await;
    expect_code(
        c.verify_totp(&token, &phone.code_at(now)).await,
        ErrorCode::CodeUsed,
    );
    t.stop().await;
}

async fn repeated_wrong_codes_lock_the_account(db: Database) {
    let t = start_on_with(db, settings()).await;
    let c = &t.client;
    let (_, phone) = demo_enrolled(&t).await;
    let token = sign_in_to_code(&t).await;
    let wrong = |k: i64| phone.code_at(T0 + 3_600 * (k + 1));

    for k in 0..2 {
        expect_code(c.verify_totp(&token, &wrong(k)).await, ErrorCode::WrongCode);
    }
    // Signing in again with the password does not hand out fresh guesses.
    c.sign_out(&token).await.unwrap();
    let token = sign_in_to_code(&t).await;
    assert_eq!(account_failures(&t).await, 2);
    expect_code(c.verify_totp(&token, &wrong(2)).await, ErrorCode::WrongCode);
    // Three failures: the progressive delay applies (test policy: 10 s, doubling).
    let e = expect_code(
        c.verify_totp(&token, &phone.code(&t)).await,
        ErrorCode::RateLimited,
    );
    assert_eq!(e.retry_after_secs, Some(10));
    t.clock.advance(10);
    expect_code(c.verify_totp(&token, &wrong(3)).await, ErrorCode::WrongCode);
    t.clock.advance(20);
    // The fifth failure holds the account and ends the flow.
    expect_code(
        c.verify_totp(&token, &wrong(4)).await,
        ErrorCode::TooManyAttempts,
    );
    expect_code(c.flow(&token).await, ErrorCode::FlowExpired);
    // Even the right password and code no longer get in: the member is told to call the
    // helpdesk (only the right password learns it).
    expect_code(
        c.sign_in(DEMO_ID, PW, Lang::Ja).await,
        ErrorCode::AccountHeld,
    );
    t.stop().await;
}

async fn several_devices_rename_and_remove_but_never_the_last(db: Database) {
    let t = start_on_with(db, settings()).await;
    let c = &t.client;
    let (token, first) = demo_enrolled(&t).await;

    // A second phone from the top screen: a new secret.
    let e = c.start_totp_enrollment(&token).await.unwrap();
    let second = Phone::scan(&e.otpauth_uri);
    assert_ne!(second.secret, first.secret);
    assert!(c.home(&token).await.unwrap().enrollment_pending);
    t.clock.advance(30);
    expect_code(
        c.confirm_totp_enrollment(&token, &second.code(&t), "IPHONE")
            .await,
        ErrorCode::DeviceNameTaken,
    );
    let v = c
        .confirm_totp_enrollment(&token, &second.code(&t), "Tablet")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    let home = c.home(&token).await.unwrap();
    let names: Vec<&str> = home
        .second_factors
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["iPhone", "Tablet"]);
    let (id1, id2) = (home.second_factors[0].id, home.second_factors[1].id);

    // Sign-in accepts a code from either device.
    t.clock.advance(30);
    let s = sign_in_to_code(&t).await;
    c.verify_totp(&s, &second.code(&t)).await.unwrap();
    t.clock.advance(30);
    let s = sign_in_to_code(&t).await;
    c.verify_totp(&s, &first.code(&t)).await.unwrap();

    // Rename.
    let home = c
        .rename_second_factor(&s, id1, " Work phone ")
        .await
        .unwrap();
    assert_eq!(home.second_factors[0].name, "Work phone");
    expect_code(
        c.rename_second_factor(&s, id1, "tablet").await,
        ErrorCode::DeviceNameTaken,
    );
    expect_code(
        c.rename_second_factor(&s, id1, "").await,
        ErrorCode::InvalidDeviceName,
    );
    expect_code(
        c.rename_second_factor(&s, 9_999, "X").await,
        ErrorCode::NotFound,
    );

    // Remove one, never the last.
    let home = c.remove_second_factor(&s, id2).await.unwrap();
    assert_eq!(home.second_factors.len(), 1);
    expect_code(
        c.remove_second_factor(&s, id1).await,
        ErrorCode::LastSecondFactor,
    );
    expect_code(c.remove_second_factor(&s, id2).await, ErrorCode::NotFound);
    // The removed phone's codes stop working.
    t.clock.advance(30);
    let s2 = sign_in_to_code(&t).await;
    expect_code(
        c.verify_totp(&s2, &second.code(&t)).await,
        ErrorCode::WrongCode,
    );

    // Up to five devices.
    for n in 2..=5 {
        let e = c.start_totp_enrollment(&s).await.unwrap();
        let p = Phone::scan(&e.otpauth_uri);
        c.confirm_totp_enrollment(&s, &p.code(&t), &format!("Phone {n}"))
            .await
            .unwrap();
    }
    assert_eq!(c.home(&s).await.unwrap().second_factors.len(), 5);
    expect_code(c.start_totp_enrollment(&s).await, ErrorCode::TooManyDevices);
    t.stop().await;
}

#[tokio::test]
async fn a_member_without_second_factors_sets_one_up_again() {
    let t = start_with(settings()).await;
    let (token, _) = demo_enrolled(&t).await;
    t.client.sign_out(&token).await.unwrap();
    // As if the helpdesk had removed the only (lost) phone.
    sqlx::query("DELETE FROM totp_credentials")
        .execute(t.sqlite().pool())
        .await
        .unwrap();
    let (token, v) = t.client.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::MethodSetup);
    let e = t.client.start_totp_enrollment(&token).await.unwrap();
    let phone = Phone::scan(&e.otpauth_uri);
    let v = t
        .client
        .confirm_totp_enrollment(&token, &phone.code(&t), "New phone")
        .await
        .unwrap();
    assert_eq!(v.step, Step::Home);
    t.stop().await;
}

#[tokio::test]
async fn secrets_are_not_stored_in_the_clear() {
    let t = start_with(settings()).await;
    let (token, first) = demo_enrolled(&t).await;
    // A second one left pending: its secret is in the database too.
    let e = t.client.start_totp_enrollment(&token).await.unwrap();
    let pending = Phone::scan(&e.otpauth_uri);
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(t.sqlite().pool())
        .await
        .unwrap();
    let mut raw = Vec::new();
    for f in [&t.db_path, &t.db_path.with_extension("db-wal")] {
        if let Ok(bytes) = std::fs::read(f) {
            raw.extend(bytes);
        }
    }
    assert!(
        raw.windows(8).any(|w| w == b"demo0001"),
        "sanity: the database file was read"
    );
    for phone in [&first, &pending] {
        let b32 = phone.secret.to_base32();
        let bytes = phone.secret.as_bytes();
        assert!(
            !raw.windows(b32.len()).any(|w| w == b32.as_bytes()),
            "base32 secret found in the database"
        );
        assert!(
            !raw.windows(bytes.len()).any(|w| w == bytes),
            "raw secret found in the database"
        );
        let hex = hex::encode(bytes);
        assert!(!raw.windows(hex.len()).any(|w| w == hex.as_bytes()));
    }
    t.stop().await;
}

async fn the_password_is_changed_from_the_top_screen_and_other_sign_ins_end(db: Database) {
    let t = start_on_with(db, settings()).await;
    let (token, phone) = demo_enrolled(&t).await;
    // A second terminal signed in too (it has proved its code).
    t.clock.advance(30);
    let other = sign_in_to_code(&t).await;
    t.client
        .verify_totp(&other, &phone.code(&t))
        .await
        .expect("second sign-in");

    // A wrong current password is refused at its field and counts against the account.
    let before = account_failures(&t).await;
    let e = expect_code(
        t.client
            .change_password(&token, "wrong", "Brand-n3w-pass")
            .await,
        ErrorCode::InvalidCredentials,
    );
    assert_eq!(e.field.as_deref(), Some("current_password"));
    assert_eq!(account_failures(&t).await, before + 1);
    // The policy, the initial password and the same password are refused.
    let e = expect_code(
        t.client.change_password(&token, PW, "short").await,
        ErrorCode::WeakPassword,
    );
    assert_eq!(e.rule.as_deref(), Some("length"));
    let e = expect_code(
        t.client.change_password(&token, PW, DEMO_INITIAL).await,
        ErrorCode::WeakPassword,
    );
    assert_eq!(e.rule.as_deref(), Some("initial"));
    let e = expect_code(
        t.client.change_password(&token, PW, PW).await,
        ErrorCode::WeakPassword,
    );
    assert_eq!(e.rule.as_deref(), Some("unchanged"));

    let home = t
        .client
        .change_password(&token, PW, "Brand-n3w-pass")
        .await
        .expect("changed");
    assert_eq!(home.flow.step, Step::Home);
    // This flow goes on; the other terminal's ended; the old password no longer signs in.
    t.client.home(&token).await.expect("this flow still works");
    expect_code(t.client.home(&other).await, ErrorCode::FlowExpired);
    expect_code(
        t.client.sign_in(DEMO_ID, PW, Lang::Ja).await,
        ErrorCode::InvalidCredentials,
    );
    let (_, v) = t
        .client
        .sign_in(DEMO_ID, "Brand-n3w-pass", Lang::Ja)
        .await
        .expect("the new password signs in");
    assert_eq!(v.step, Step::SecondFactor);
    let log = t.store.audit_log(None, 50).await.expect("audit");
    assert!(log.iter().any(|a| a.action == "password.changed"));
    assert!(
        log.iter().all(|a| !a.detail.contains("Brand-n3w-pass")),
        "no password in the audit log"
    );
    // Only at the top screen.
    let (fresh, _) = t
        .client
        .sign_in(DEMO_ID, "Brand-n3w-pass", Lang::Ja)
        .await
        .expect("signs in");
    expect_code(
        t.client
            .change_password(&fresh, "Brand-n3w-pass", "Another-pass1")
            .await,
        ErrorCode::OutOfOrder,
    );
    t.stop().await;
}

async fn a_burst_of_wrong_codes_checks_no_more_than_the_free_failures(db: Database) {
    let t = start_on_with(db, settings()).await; // account: 3 free failures
    let (_, phone) = demo_enrolled(&t).await;
    t.clock.advance(30);
    let token = sign_in_to_code(&t).await;
    let wrong: Vec<String> = (0..BURST as i64)
        .map(|k| phone.code_at(T0 + 3_600 * (k + 1)))
        .collect();
    let right = phone.code(&t);
    let mut requests: Vec<_> = wrong
        .iter()
        .map(|code| t.client.verify_totp(&token, code))
        .collect();
    requests.push(t.client.verify_totp(&token, &right));
    let tally = burst(requests).await;
    eprintln!("TOTP burst: {tally:?}");
    assert!(
        tally.get("wrong_code").copied().unwrap_or(0) <= 3,
        "{tally:?}"
    );
    assert!(checked(&tally) <= 4, "{tally:?}");
    t.stop().await;
}

async fn a_burst_of_wrong_current_passwords_checks_no_more_than_the_free_failures(db: Database) {
    let t = start_on_with(db, settings()).await;
    let (token, _) = demo_enrolled(&t).await;
    let wrong: Vec<String> = (0..BURST).map(|k| format!("Wr0ng-pass-{k}")).collect();
    let mut requests: Vec<_> = wrong
        .iter()
        .map(|pw| t.client.change_password(&token, pw, "Brand-n3w-pass"))
        .collect();
    requests.push(t.client.change_password(&token, PW, "Brand-n3w-pass"));
    let tally = burst(requests).await;
    eprintln!("current-password burst: {tally:?}");
    let wrong_checked = tally.get("invalid_credentials").copied().unwrap_or(0);
    assert!(wrong_checked <= 3, "{tally:?}");
    assert!(checked(&tally) <= 4, "{tally:?}");
    t.stop().await;
}

async fn a_code_seen_ahead_of_the_window_is_never_accepted_later(db: Database) {
    let t = start_on_with(db, settings()).await;
    let c = &t.client;
    let (_, phone) = demo_enrolled(&t).await;
    t.clock.advance(300);
    let now = T0 + 300;
    let token = sign_in_to_code(&t).await;
    // Five steps ahead: refused with the clock hint ...
    let ahead = phone.code_at(now + 150);
    expect_code(c.verify_totp(&token, &ahead).await, ErrorCode::ClockSkew);
    // ... and when its time has come it is refused still: the step was burnt.
    t.clock.advance(150);
    expect_code(c.verify_totp(&token, &ahead).await, ErrorCode::CodeUsed);
    // The code of the next step works as usual.
    t.clock.advance(30);
    let v = c.verify_totp(&token, &phone.code(&t)).await.unwrap();
    assert_eq!(v.step, Step::Home);
    t.stop().await;
}

async fn a_flow_opened_on_the_password_alone_ends_when_another_enrols(db: Database) {
    let t = start_on_with(db, settings()).await;
    let c = &t.client;
    let a = demo_at_method_setup(&t).await;
    let (b, v) = c.sign_in(DEMO_ID, PW, Lang::Ja).await.unwrap();
    assert_eq!(v.step, Step::MethodSetup);
    let e = c.start_totp_enrollment(&a).await.unwrap();
    let phone = Phone::scan(&e.otpauth_uri);
    c.confirm_totp_enrollment(&a, &phone.code(&t), "iPhone")
        .await
        .unwrap();
    // B proved nothing more than the password: it does not become a full session.
    expect_code(c.home(&b).await, ErrorCode::FlowExpired);
    c.home(&a).await.unwrap();
    t.stop().await;
}

async fn sensitive_actions_ask_for_a_step_up_after_the_window(db: Database) {
    let t = start_on_with(db, settings()).await; // step-up window: 300 s
    let c = &t.client;
    let (token, phone) = demo_enrolled(&t).await;
    t.clock.advance(301);
    // The top screen says so, and every sensitive action of it is refused until the member
    // proves it again.
    assert_eq!(c.home(&token).await.unwrap().step_up_secs_left, 0);
    let e = expect_code(
        c.change_email(&token, "hanako@example.jp").await,
        ErrorCode::StepUpRequired,
    );
    assert_eq!(e.step, Some(Step::Home));
    expect_code(
        c.start_totp_enrollment(&token).await,
        ErrorCode::StepUpRequired,
    );
    let id = c.home(&token).await.unwrap().second_factors[0].id;
    expect_code(
        c.remove_second_factor(&token, id).await,
        ErrorCode::StepUpRequired,
    );
    // A wrong password proves nothing (and counts); the right one opens the window.
    expect_code(
        c.step_up(&token, Some("wrong-password"), None).await,
        ErrorCode::InvalidCredentials,
    );
    c.step_up(&token, Some(PW), None).await.unwrap();
    assert_eq!(c.home(&token).await.unwrap().step_up_secs_left, 300);
    t.clock.advance(100);
    assert_eq!(c.home(&token).await.unwrap().step_up_secs_left, 200);
    c.start_totp_enrollment(&token).await.unwrap();
    // The window closes again; an authenticator-app code opens it too.
    t.clock.advance(201);
    expect_code(
        c.change_email(&token, "hanako@example.jp").await,
        ErrorCode::StepUpRequired,
    );
    c.step_up(&token, None, Some(&phone.code(&t)))
        .await
        .unwrap();
    c.change_email(&token, "hanako@example.jp").await.unwrap();
    t.stop().await;
}

common::on_both_databases! {
    #[tokio::test]
    enrollment_at_the_next_sign_in_then_the_code_at_every_sign_in,
    #[tokio::test]
    the_window_is_one_step_either_side,
    #[tokio::test]
    repeated_wrong_codes_lock_the_account,
    #[tokio::test]
    several_devices_rename_and_remove_but_never_the_last,
    #[tokio::test]
    the_password_is_changed_from_the_top_screen_and_other_sign_ins_end,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_codes_checks_no_more_than_the_free_failures,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_burst_of_wrong_current_passwords_checks_no_more_than_the_free_failures,
    #[tokio::test]
    a_code_seen_ahead_of_the_window_is_never_accepted_later,
    #[tokio::test]
    a_flow_opened_on_the_password_alone_ends_when_another_enrols,
    #[tokio::test]
    sensitive_actions_ask_for_a_step_up_after_the_window,
}
