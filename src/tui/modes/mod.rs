//! The TUI's modes, each a [`crate::tui::shell::app::Mode`]: its key policy, chrome, requests,
//! session and screens. `member` now; kiosk, staff and script come next.

pub mod member;
pub mod staff;
