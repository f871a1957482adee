//! The TUI's modes, each a [`crate::tui::shell::app::Mode`]: its key policy, chrome, requests,
//! session and screens. `member`, and `kiosk` (the member screens locked down at a shared
//! terminal); staff and script come next.

pub mod kiosk;
pub mod member;
pub mod staff;
