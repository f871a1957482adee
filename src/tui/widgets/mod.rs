//! Widgets shared by the screens: a text input, a button row, the step indicator, and text
//! wrapping that measures Japanese correctly.

pub mod buttons;
pub mod input;
pub mod stepper;
pub mod wrap;

pub use buttons::{Button, render_buttons};
pub use input::TextInput;
pub use stepper::render_stepper;
pub use wrap::{width, wrap};
