//! The SQLite store (the default, embedded).
