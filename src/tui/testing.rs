//! Test support in one place: the fake server (member mode) and the headless driver over it
//! ([`headless`]), and the headless helpers (keys, text rendering on `TestBackend`).

pub use crate::tui::modes::member::fake::*;
pub use crate::tui::shell::headless::{
    Headless, buffer_text, ctrl, key, render_buffer, render_hits, render_text,
};

/// The staff console's fake server and headless helpers.
pub mod staff {
    pub use crate::tui::modes::staff::fake::*;
}
