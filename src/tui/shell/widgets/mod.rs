//! Widgets shared by the screens: a text input, a button row, the step indicator, a QR code,
//! and text wrapping that measures Japanese correctly.

pub mod buttons;
pub mod input;
pub mod qr;
pub mod stepper;
pub mod wrap;

pub use buttons::{Button, render_buttons};
pub use input::TextInput;
pub use qr::{QrCode, QrLayout, QrStyle};
pub use stepper::render_stepper;
pub use wrap::{width, wrap};
