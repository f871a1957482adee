//! Mail: the `Mailer` trait, the local outbox (default) and SMTP.
