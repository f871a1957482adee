//! `tobira script`: scripted acceptance runs of the real screens with virtual devices.
//!
//! The pieces the runner drives: [`phone`] (a virtual authenticator app that reads the QR code
//! off the screen), [`passkey`] (a soft passkey that can be told to fail) and [`faults`] (the mail
//! server down, the server stopped and started again).

pub mod faults;
pub mod passkey;
pub mod phone;
