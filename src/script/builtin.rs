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

scenarios!["welcome_ja",];

snapshots![];

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
