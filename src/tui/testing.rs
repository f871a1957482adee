//! Test support in one place: the fake server and its synchronous runtime stand-in (member
//! mode), and the headless helpers (keys, text rendering on `TestBackend`).

pub use crate::tui::modes::member::fake::*;
pub use crate::tui::shell::headless::{
    buffer_text, ctrl, key, render_buffer, render_hits, render_text,
};
