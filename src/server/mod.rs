//! The HTTP server (axum): routes, errors, flows, the email-link pages.
