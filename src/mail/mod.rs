//! Mail: the `Mailer` trait, the local outbox (default) and SMTP.
#![allow(missing_docs, dead_code)]
use crate::api::Lang;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("x")]
    Smtp(String),
}
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq, Default)]
pub struct MailConfig {
    pub from: String,
    pub smtp: Option<()>,
}
pub fn from_config(
    _cfg: &MailConfig,
    _outbox_dir: &std::path::Path,
) -> Result<std::sync::Arc<dyn Mailer>, MailError> {
    todo!()
}
pub mod templates {
    use super::*;
    pub fn verification(_lang: Lang, to: &str, _name: &str, link: &str, _m: u64) -> Mail {
        Mail {
            to: to.into(),
            subject: String::new(),
            text: link.into(),
            html: None,
        }
    }
}
pub mod outbox {
    #[derive(Debug, Clone)]
    pub struct OutboxMessage {
        pub path: std::path::PathBuf,
        pub to: String,
        pub subject: String,
        pub date: String,
        pub text: String,
    }
    impl OutboxMessage {
        pub fn links(&self) -> Vec<String> {
            vec![]
        }
    }
    pub fn read_outbox(_dir: &std::path::Path) -> Result<Vec<OutboxMessage>, super::MailError> {
        Ok(vec![])
    }
}
