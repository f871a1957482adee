//! The TOML configuration file.
