//! `tobira script`: scripted acceptance runs of the real screens with virtual devices.
//!
//! The pieces the runner drives: [`phone`] (a virtual authenticator app that reads the QR code
//! off the screen), [`passkey`] (a soft passkey that can be told to fail), [`faults`] (the mail
//! server down, the server stopped and started again) and [`pty`] (the real binary in a
//! pseudo-terminal, read through a terminal emulator).

pub mod faults;
pub mod passkey;
pub mod phone;
pub mod pty;
