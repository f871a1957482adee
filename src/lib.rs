//! tobira (扉): terminal onboarding for a health-insurance member portal.
//!
//! The layers, in the order data flows (see DESIGN.md): [`domain`] rules, [`store`],
//! [`mail`], [`server`], the [`api`] protocol, the [`client`]. The binary's entry points
//! live in `main.rs` and [`cli`].
#![deny(clippy::unwrap_used)]

pub mod api;
pub mod audit_export;
pub mod bench;
pub mod cli;
pub mod client;
pub mod config;
pub mod domain;
pub mod fuzz_targets;
pub mod import;
pub mod mail;
pub mod passkey;
pub mod portal;
pub mod roster;
pub mod script;
pub mod server;
pub mod setup;
pub mod staff_admin;
pub mod store;
pub mod tui;
