//! `tobira script`: scripted acceptance runs of the real screens with virtual devices.
//!
//! The pieces the runner drives: [`phone`] (a virtual authenticator app that reads the QR code
//! off the screen).

pub mod phone;
