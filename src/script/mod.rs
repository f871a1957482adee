//! `tobira script`: scripted acceptance runs of the real screens with virtual devices.
//!
//! The pieces the runner drives: [`phone`] (a virtual authenticator app that reads the QR code
//! off the screen) and [`passkey`] (a soft passkey that can be told to fail).

pub mod passkey;
pub mod phone;
