//! A real SMTP server (Python's aiosmtpd) on loopback, started and stopped by the tests.
//!
//! It needs python3 with aiosmtpd (Debian: `apt-get install python3-aiosmtpd`). Tests FAIL,
//! never skip, when it is missing. `TOBIRA_TEST_PYTHON` may name the interpreter to use.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tobira::mail::{SmtpConfig, SmtpSecurity};

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The config of an SMTP server on loopback `port` without TLS.
pub fn loopback_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        timeout_secs: 10,
    }
}

const SERVER_PY: &str = r#"
import asyncio, os, sys
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

port, out = int(sys.argv[1]), sys.argv[2]
creds = sys.argv[3].encode().split(b":", 1) if len(sys.argv) > 3 else None

class Handler:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Handler.n += 1
        base = os.path.join(out, "%04d" % Handler.n)
        for ext, data in ((".rcpt", "\n".join(envelope.rcpt_tos).encode()),
                          (".from", envelope.mail_from.encode()),
                          (".eml", envelope.original_content or envelope.content)):
            with open(base + ext + ".tmp", "wb") as f:
                f.write(data)
            os.rename(base + ext + ".tmp", base + ext)
        return "250 Message accepted"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and [auth_data.login, auth_data.password] == creds
    return AuthResult(success=ok, handled=False)

async def main():
    kw = {}
    if creds:
        kw = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    handler = Handler()
    srv = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="test-smtp", **kw), "127.0.0.1", port)
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
"#;

/// A python3 that can import aiosmtpd, or a failing test saying what to install.
pub fn python_with_aiosmtpd() -> String {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("TOBIRA_TEST_PYTHON") {
        candidates.push(p);
    }
    candidates.extend(["python3".to_owned(), "/usr/bin/python3".to_owned()]);
    for py in &candidates {
        let ok = Command::new(py)
            .args(["-c", "import aiosmtpd.smtp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return py.clone();
        }
    }
    panic!(
        "the SMTP tests need python3 with aiosmtpd, tried {candidates:?}: \
         install python3-aiosmtpd (apt-get install python3-aiosmtpd), \
         or set TOBIRA_TEST_PYTHON to a python3 that has it"
    );
}

/// An aiosmtpd server on 127.0.0.1, killed on drop; received mail lands in `dir`.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start(credentials: Option<&str>) -> SmtpServer {
        Self::start_on(free_port(), credentials)
    }

    /// Starts the server on `port` (one a test reserved while the server was "down").
    pub fn start_on(port: u16, credentials: Option<&str>) -> SmtpServer {
        let python = python_with_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(&python);
        cmd.args(["-c", SERVER_PY, &port.to_string()])
            .arg(dir.path())
            .args(credentials)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let mut server = SmtpServer { child, port, dir };
        server.wait_ready();
        server
    }

    /// Polls a TCP connect until the server listens (bounded), failing if it exited.
    fn wait_ready(&mut self) {
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    std::io::Read::read_to_string(&mut e, &mut err).ok();
                }
                panic!("the test SMTP server exited ({status}): {err}");
            }
            if TcpStream::connect_timeout(
                &([127, 0, 0, 1], self.port).into(),
                Duration::from_millis(100),
            )
            .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "the test SMTP server did not listen on 127.0.0.1:{}",
            self.port
        );
    }

    pub fn config(&self) -> SmtpConfig {
        loopback_config(self.port)
    }

    /// The received messages (`.eml` paths), in order.
    pub fn received(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        v.sort();
        v
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
