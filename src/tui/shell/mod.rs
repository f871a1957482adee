//! The app shell every mode runs in: the shared state and `update` ([`app`]), forms and the
//! generic keys ([`form`]), widgets, i18n, the runtime that carries out commands without a
//! terminal ([`runtime`]), the terminal loop ([`terminal`]) and the headless driver
//! ([`headless`]).

pub mod app;
pub mod calls;
pub mod form;
pub mod headless;
pub mod i18n;
pub mod mailbox;
pub mod passkey_view;
pub mod runtime;
pub mod terminal;
pub mod theme;
pub mod theme_contrast;
pub mod theme_detect;
pub mod widgets;
