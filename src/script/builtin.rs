//! The built-in suite (`tobira script --builtin all`): the scenarios under `assets/scripts/`,
//! embedded in the binary with their golden files.

/// Declares the built-in scenarios from their file names.
macro_rules! scenarios {
    ($($name:literal),* $(,)?) => {
        /// Every built-in scenario: (name, text).
        pub const SCENARIOS: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../assets/scripts/", $name, ".tobira"))),)*
        ];
    };
}

/// Declares the golden files of the built-in scenarios' snapshots.
macro_rules! snapshots {
    ($($name:literal),* $(,)?) => {
        /// Every golden file: (file name, text).
        pub const SNAPSHOTS: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../assets/scripts/snapshots/", $name))),)*
        ];
    };
}

scenarios![
    "birth_date_typed_ja",
    "change_email_en",
    "change_method_en",
    "e2e_first_login_by_keyboard_en",
    "e2e_idle_timeout_ja",
    "e2e_new_user_id_mailed_en",
    "email_code_wrong_and_expired_en",
    "faq_expired_code_en",
    "faq_phone_clock_off_en",
    "faq_timeout_en",
    "faq_used_code_en",
    "faq_wrong_code_en",
    "faq_wrong_password_en",
    "faq_wrong_password_ja",
    "faults_mail_and_server_ja",
    "first_login_app_ja",
    "first_login_app_key_en",
    "first_login_email_en",
    "first_login_passkey_en",
    "forgot_password_ja",
    "forgot_user_id_en",
    "helpdesk_two_terminals_en",
    "helpdesk_unlock_held_en",
    "link_expired_ja",
    "lockout_en",
    "lockout_hold_ja",
    "several_phones_en",
    "terms_declined_ja",
    "welcome_ja",
];

snapshots!["birth_date_typed_ja__typed.txt", "welcome_ja__welcome.txt",];

/// A built-in scenario's text.
pub fn get(name: &str) -> Option<&'static str> {
    SCENARIOS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A built-in golden file.
pub fn snapshot(file: &str) -> Option<&'static str> {
    SNAPSHOTS.iter().find(|(n, _)| *n == file).map(|(_, t)| *t)
}

/// The source tree's `assets/scripts`, when this binary runs from its checkout (golden files
/// are rewritten there).
pub fn source_dir() -> Option<std::path::PathBuf> {
    let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/scripts");
    d.is_dir().then_some(d)
}
