//! `--smtp-sink ADDR`: a small SMTP server the runner listens on when scenarios run against a
//! deployed server (`--server URL`), configured to send its mail there. Each message received is
//! written as an `.eml` file into a directory in the local outbox's layout, so the mailbox steps
//! and the member screens' mailbox read it exactly as they read the embedded server's outbox.
//!
//! It speaks the plain subset a mail client needs to hand over a message (HELO/EHLO, MAIL, RCPT,
//! DATA with dot-unstuffing, RSET, NOOP, QUIT), without TLS or authentication: it listens for
//! tests on a trusted network, never as a real mail server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The longest line or message the sink accepts (a tobira mail is a few kilobytes).
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// A running sink; stops listening when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    dir: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on `addr` (e.g. `127.0.0.1:2525`; port 0 picks one) and writes mail into `dir`.
    pub async fn start(addr: &str, dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let counter = Arc::new(AtomicU64::new(0));
        let out = dir.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (out, counter) = (out.clone(), counter.clone());
                tokio::spawn(async move {
                    if let Err(e) = session(stream, &out, &counter).await {
                        tracing::warn!(error = %e, "smtp sink session ended");
                    }
                });
            }
        });
        Ok(Self {
            addr,
            dir: dir.to_owned(),
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where received mail is written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection, answered line by line.
async fn session(stream: TcpStream, out: &Path, counter: &AtomicU64) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 tobira-script sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if read_line(&mut lines, &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-tobira-script sink\r\n250 8BITMIME\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let message = read_data(&mut lines).await?;
                store(out, counter, &message)?;
                b"250 Message accepted\r\n"
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

async fn read_line(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut String,
) -> std::io::Result<usize> {
    let n = lines.read_line(line).await?;
    if line.len() > MAX_MESSAGE {
        return Err(std::io::Error::other("line too long"));
    }
    Ok(n)
}

/// The message up to the lone dot, dot-unstuffed, with CRLF line ends.
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if read_line(lines, &mut line).await? == 0 {
            return Err(std::io::Error::other("connection closed inside DATA"));
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text == "." {
            return Ok(message);
        }
        let text = text.strip_prefix('.').unwrap_or(text);
        message.extend_from_slice(text.as_bytes());
        message.extend_from_slice(b"\r\n");
        if message.len() > MAX_MESSAGE {
            return Err(std::io::Error::other("message too large"));
        }
    }
}

/// Writes a message whole (a temporary dot-file renamed), named so the outbox reader keeps the
/// order of arrival.
fn store(out: &Path, counter: &AtomicU64, message: &[u8]) -> std::io::Result<()> {
    let n = counter.fetch_add(1, Ordering::SeqCst);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = format!("{secs}-sink-{n:06}.eml");
    let tmp = out.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, message)?;
    std::fs::rename(&tmp, out.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::outbox::read_outbox;

    #[tokio::test]
    async fn a_message_sent_over_smtp_lands_in_the_outbox_layout() {
        let dir = tempfile::tempdir().unwrap();
        let sink = SmtpSink::start("127.0.0.1:0", dir.path()).await.unwrap();
        let stream = TcpStream::connect(sink.addr()).await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        async fn say(
            cmd: &str,
            write: &mut tokio::net::tcp::OwnedWriteHalf,
            lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
        ) -> String {
            write.write_all(cmd.as_bytes()).await.unwrap();
            let mut got = String::new();
            loop {
                got.clear();
                lines.read_line(&mut got).await.unwrap();
                if got.as_bytes().get(3) != Some(&b'-') {
                    return got[..3].to_owned();
                }
            }
        }
        assert_eq!(say("", &mut write, &mut lines).await, "220");
        assert_eq!(say("EHLO t\r\n", &mut write, &mut lines).await, "250");
        assert_eq!(
            say("MAIL FROM:<a@x>\r\n", &mut write, &mut lines).await,
            "250"
        );
        assert_eq!(
            say("RCPT TO:<taro@example.jp>\r\n", &mut write, &mut lines).await,
            "250"
        );
        assert_eq!(say("DATA\r\n", &mut write, &mut lines).await, "354");
        let body = "To: taro@example.jp\r\nSubject: hello\r\nDate: Tue, 01 Apr 2025 09:30:00 +0000\r\n\
                    Content-Type: text/plain; charset=utf-8\r\n\r\n..a line starting with a dot\r\nend\r\n.\r\n";
        assert_eq!(say(body, &mut write, &mut lines).await, "250");
        assert_eq!(say("QUIT\r\n", &mut write, &mut lines).await, "221");
        let mails = read_outbox(dir.path()).unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "taro@example.jp");
        assert_eq!(mails[0].subject, "hello");
        assert!(
            mails[0].text.starts_with(".a line starting"),
            "{}",
            mails[0].text
        );
    }
}
