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
        ca_file: None,
    }
}

const SERVER_PY: &str = r#"
import asyncio, os, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# TLS (optional): "starttls" (required before MAIL) or "tls" (implicit, from the first byte).
tls_mode = os.environ.get("TEST_SMTP_TLS")
ctx = None
if tls_mode:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(os.environ["TEST_SMTP_CERT"], os.environ["TEST_SMTP_KEY"])

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
    if tls_mode == "starttls":
        kw.update(tls_context=ctx, require_starttls=True)
    handler = Handler()
    srv = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="test-smtp", **kw), "127.0.0.1", port,
        ssl=ctx if tls_mode == "tls" else None)
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
        Self::spawn(port, credentials, None)
    }

    /// Starts a server that speaks TLS (`"starttls"` or `"tls"`) with `certs`' server
    /// certificate.
    pub fn start_tls(mode: &str, certs: &TestCerts) -> SmtpServer {
        Self::spawn(free_port(), None, Some((mode, certs)))
    }

    fn spawn(port: u16, credentials: Option<&str>, tls: Option<(&str, &TestCerts)>) -> SmtpServer {
        let python = python_with_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(&python);
        if let Some((mode, certs)) = tls {
            cmd.env("TEST_SMTP_TLS", mode)
                .env("TEST_SMTP_CERT", certs.dir.path().join("server.pem"))
                .env("TEST_SMTP_KEY", certs.dir.path().join("server.key"));
        }
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

/// A throw-away CA and a server certificate for `localhost` it signed (made with openssl).
pub struct TestCerts {
    /// Holds `ca.pem`, `server.pem`, `server.key`.
    pub dir: tempfile::TempDir,
}

impl TestCerts {
    /// Makes them, or fails the test saying what to install.
    pub fn make() -> TestCerts {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .unwrap_or_else(|e| {
                    panic!("the TLS tests need openssl (apt-get install openssl): {e}")
                });
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=tobira test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&ca);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        run(&csr);
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        TestCerts { dir }
    }

    /// The CA certificate the client is told to trust.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}
