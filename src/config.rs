//! The TOML configuration file (documented by `assets/config.example.toml`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::api::Lang;
use crate::domain::{EmailCodePolicy, LockoutPolicy, MailQuota, StaffSessionPolicy, TotpPolicy};
use crate::mail::MailConfig;
use crate::mail::templates::{MailTemplates, TemplateError};
use crate::portal::PortalSetting;
use crate::server::{HashingParams, ServerSettings};

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid configuration in {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said (with line and column).
        message: String,
    },
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Value(String),
    /// The operator's mail templates cannot be used.
    #[error("invalid mail template: {0}")]
    Template(#[from] TemplateError),
}

/// The whole file. Every section and key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[server]`
    pub server: ServerSection,
    /// `[metrics]`
    pub metrics: MetricsSection,
    /// `[database]`
    pub database: DatabaseSection,
    /// `[flow]`
    pub flow: FlowSection,
    /// `[lockout.account]`, `[lockout.address]`
    pub lockout: Option<LockoutPolicy>,
    /// `[mail_quota]`
    pub mail_quota: Option<MailQuota>,
    /// `[password_hashing]`
    pub password_hashing: Option<HashingParams>,
    /// `[totp]`
    pub totp: Option<TotpPolicy>,
    /// `[email_code]`
    pub email_code: Option<EmailCodePolicy>,
    /// `[mail]`
    pub mail: MailConfig,
    /// `[terms]`
    pub terms: TermsSection,
    /// `[tui]`
    pub tui: TuiSection,
    /// `[kiosk]`
    pub kiosk: KioskSection,
    /// `[portal]`, `[portal.ja]`, `[portal.en]`
    pub portal: PortalSetting,
    /// `[staff]`: helpdesk staff session lifetimes.
    pub staff: Option<StaffSessionPolicy>,
    /// Whether `[totp] issuer` is written in the file (else it follows the portal's name).
    #[serde(skip)]
    pub totp_issuer_set: bool,
}

/// `[tui]`: how the member screens look on this terminal.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TuiSection {
    /// How QR codes are drawn: `half-blocks` (compact) or `spaces` (for terminals that draw
    /// ambiguous-width characters double width). F4 switches on screen.
    pub qr_style: Option<QrStyleSetting>,
    /// The colours: `auto` (ask the terminal for its background), `dark` or `light`.
    pub theme: Option<ThemeSetting>,
}

/// `[kiosk]`: a locked-down member terminal (`tobira kiosk`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskSection {
    /// Seconds without input before the countdown to the reset appears.
    pub idle_secs: u64,
    /// Seconds the countdown runs (at least 20: WCAG 2.2.1 gives members time to answer).
    pub warn_secs: u64,
    /// The language the kiosk starts in and returns to on every reset.
    pub lang: Lang,
    /// The second-factor methods members may choose here (default: all three).
    pub methods: Vec<crate::domain::Method>,
    /// The branch office named in the header.
    pub branch: Option<String>,
    /// The kiosk's id, sent with every request and recorded with each sign-in from it
    /// (1–32 printable ASCII characters).
    pub id: Option<String>,
}

/// The shortest idle countdown.
pub const KIOSK_MIN_WARN_SECS: u64 = 20;

impl Default for KioskSection {
    fn default() -> Self {
        Self {
            idle_secs: 120,
            warn_secs: 30,
            lang: Lang::Ja,
            methods: crate::domain::Method::ALL.to_vec(),
            branch: None,
            id: None,
        }
    }
}

impl KioskSection {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.idle_secs == 0 {
            return Err(ConfigError::Value(
                "kiosk.idle_secs must be at least 1".into(),
            ));
        }
        if self.warn_secs < KIOSK_MIN_WARN_SECS {
            return Err(ConfigError::Value(format!(
                "kiosk.warn_secs must be at least {KIOSK_MIN_WARN_SECS} (members need time to answer the warning)"
            )));
        }
        if self.methods.is_empty() {
            return Err(ConfigError::Value(
                "kiosk.methods must name at least one method".into(),
            ));
        }
        if let Some(id) = &self.id
            && crate::domain::kiosk::kiosk_id(id).is_none()
        {
            return Err(ConfigError::Value(format!(
                "kiosk.id must be 1-{} printable ASCII characters without spaces",
                crate::domain::kiosk::KIOSK_ID_MAX
            )));
        }
        Ok(())
    }
}

/// `[tui] theme`: which palette the screens use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThemeSetting {
    /// Ask the terminal for its background (OSC 11) and pick the palette that suits it.
    Auto,
    /// Colours for a dark background.
    Dark,
    /// Colours for a light background.
    Light,
}

/// The two ways of drawing a QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QrStyleSetting {
    /// `▀ ▄ █`: one column and half a row per module.
    HalfBlocks,
    /// Coloured spaces: two columns and one row per module.
    Spaces,
}

/// `[server]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Where `tobira serve` listens.
    pub listen: Option<SocketAddr>,
    /// The URL members' phones reach the server at (verification links start with it).
    pub public_url: Option<String>,
    /// Proxies (addresses or CIDRs) whose `Forwarded` / `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// argon2 worker threads (0: one per core).
    pub hash_workers: Option<usize>,
    /// Sign-ins and password changes that may wait for an argon2 worker before 503.
    pub hash_queue: Option<usize>,
    /// The argon2 workers' nice value (0–19; 0: the server's own priority).
    pub hash_worker_nice: Option<i32>,
}

/// `[metrics]`: the Prometheus endpoint, off unless a token is set.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// The bearer token `/metrics` asks for (16+ visible ASCII characters);
    /// `TOBIRA_METRICS_TOKEN` overrides it. Absent: `/metrics` answers 404.
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSection")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `[database]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// A SQLite path or URL.
    pub url: Option<String>,
}

/// `[flow]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSection {
    /// Seconds without a request after which a flow ends.
    pub idle_timeout_secs: u64,
    /// Seconds after its sign-in at which a flow ends, however active.
    pub max_lifetime_secs: u64,
    /// Seconds a proof (sign-in or step-up) lets sensitive top-screen actions go ahead.
    pub step_up_window_secs: u64,
    /// Seconds a verification link works.
    pub email_link_ttl_secs: u64,
}

impl Default for FlowSection {
    fn default() -> Self {
        let d = ServerSettings::default();
        Self {
            idle_timeout_secs: d.flow_idle_timeout_secs,
            max_lifetime_secs: d.flow_max_lifetime_secs,
            step_up_window_secs: d.step_up_window_secs,
            email_link_ttl_secs: d.email_link_ttl_secs,
        }
    }
}

/// `[terms]`: the operator's own terms of use, as Markdown files.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TermsSection {
    /// Japanese.
    pub ja: Option<PathBuf>,
    /// English.
    pub en: Option<PathBuf>,
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.into(),
                message,
            },
            other => other,
        })
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let parse_error = |e: toml::de::Error| ConfigError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        };
        let mut cfg: Self = toml::from_str(text).map_err(parse_error)?;
        // serde fills a missing issuer with the default: only the raw table tells who set it.
        let raw: toml::Table = toml::from_str(text).map_err(parse_error)?;
        cfg.totp_issuer_set = raw.get("totp").and_then(|t| t.get("issuer")).is_some();
        if cfg.flow.idle_timeout_secs == 0 || cfg.flow.email_link_ttl_secs == 0 {
            return Err(ConfigError::Value(
                "flow timeouts must be at least 1 second".into(),
            ));
        }
        if let Some(h) = cfg.password_hashing
            && (h.memory_kib < 8 * h.parallelism.max(1) || h.iterations == 0 || h.parallelism == 0)
        {
            return Err(ConfigError::Value(
                "password_hashing parameters are out of range".into(),
            ));
        }
        if cfg
            .server
            .hash_worker_nice
            .is_some_and(|n| !(0..=19).contains(&n))
        {
            return Err(ConfigError::Value(
                "server.hash_worker_nice must be 0 to 19".into(),
            ));
        }
        crate::server::client_addr::parse_trusted(&cfg.server.trusted_proxies)
            .map_err(ConfigError::Value)?;
        cfg.kiosk.validate()?;
        if let Some(e) = &cfg.email_code {
            e.validate()
                .map_err(|e| ConfigError::Value(e.to_string()))?;
        }
        cfg.mail
            .queue
            .validate()
            .map_err(|e| ConfigError::Value(e.to_string()))?;
        if let Some(t) = &cfg.totp {
            t.validate()
                .map_err(|e| ConfigError::Value(e.to_string()))?;
        }
        if let Some(s) = &cfg.staff {
            s.validate()
                .map_err(|e| ConfigError::Value(e.to_string()))?;
        }
        let portal = cfg
            .portal
            .resolve()
            .map_err(|e| ConfigError::Value(e.to_string()))?;
        if !cfg.totp_issuer_set && portal.names(Lang::Ja).short_name.contains(':') {
            return Err(ConfigError::Value(
                "portal.ja.short_name is the authenticator app's issuer unless [totp] issuer \
                 is set, and an issuer must not contain ':'"
                    .into(),
            ));
        }
        Ok(cfg)
    }

    /// The server's settings: `public_url` is the URL the server is reachable at when the file
    /// does not say.
    pub fn server_settings(&self, public_url: String) -> Result<ServerSettings, ConfigError> {
        let read = |p: &Option<PathBuf>, fallback: &str| -> Result<String, ConfigError> {
            match p {
                Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                }),
                None => Ok(fallback.to_owned()),
            }
        };
        let defaults = ServerSettings::default();
        let portal = self
            .portal
            .resolve()
            .map_err(|e| ConfigError::Value(e.to_string()))?;
        let mut totp = self.totp.clone().unwrap_or(defaults.totp);
        if !self.totp_issuer_set {
            // The app lists the account under the portal's name, not under "tobira".
            totp.issuer = portal.names(Lang::Ja).short_name.clone();
        }
        let mail_templates = MailTemplates::load(self.mail.templates.as_deref(), portal)?;
        Ok(ServerSettings {
            public_url: self.server.public_url.clone().unwrap_or(public_url),
            flow_idle_timeout_secs: self.flow.idle_timeout_secs,
            flow_max_lifetime_secs: self.flow.max_lifetime_secs,
            step_up_window_secs: self.flow.step_up_window_secs,
            email_link_ttl_secs: self.flow.email_link_ttl_secs,
            lockout: self.lockout.unwrap_or(defaults.lockout),
            mail_quota: self.mail_quota.unwrap_or(defaults.mail_quota),
            hashing: self.password_hashing.unwrap_or(defaults.hashing),
            admission: crate::server::Admission {
                workers: self
                    .server
                    .hash_workers
                    .unwrap_or(defaults.admission.workers),
                queue: self.server.hash_queue.unwrap_or(defaults.admission.queue),
                nice: self
                    .server
                    .hash_worker_nice
                    .unwrap_or(defaults.admission.nice),
            },
            trusted_proxies: crate::server::client_addr::parse_trusted(
                &self.server.trusted_proxies,
            )
            .map_err(ConfigError::Value)?,
            totp,
            mail_queue: self.mail.queue,
            email_code: self.email_code.unwrap_or(defaults.email_code),
            terms_ja: read(&self.terms.ja, &defaults.terms_ja)?,
            terms_en: read(&self.terms.en, &defaults.terms_en)?,
            mail_templates,
            staff: self.staff.unwrap_or(defaults.staff),
            metrics_token: self
                .metrics
                .token
                .as_deref()
                .map(crate::server::MetricsToken::new)
                .transpose()
                .map_err(|e| ConfigError::Value(format!("metrics.token: {e}")))?,
        })
    }
}

/// The example configuration shipped with tobira (every key, with its default).
pub const EXAMPLE: &str = include_str!("../assets/config.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_and_matches_the_defaults() {
        let cfg = Config::parse(EXAMPLE).unwrap();
        let s = cfg.server_settings("http://x".into()).unwrap();
        let d = ServerSettings::default();
        assert_eq!(s.flow_idle_timeout_secs, d.flow_idle_timeout_secs);
        assert_eq!(s.email_link_ttl_secs, d.email_link_ttl_secs);
        assert_eq!(s.lockout, d.lockout);
        assert_eq!(s.hashing, d.hashing);
        assert_eq!(s.totp, d.totp);
        assert_eq!(s.mail_queue, d.mail_queue);
        assert_eq!(s.email_code, d.email_code);
        assert_eq!(s.admission, d.admission);
        assert_eq!(s.trusted_proxies, d.trusted_proxies);
        assert_eq!(cfg.kiosk, KioskSection::default());
        assert_eq!(s.staff, d.staff);
    }

    #[test]
    fn the_kiosk_section_is_read_and_checked() {
        let k = Config::parse(
            "[kiosk]\nidle_secs = 60\nwarn_secs = 25\nlang = \"en\"\nmethods = [\"totp_app\"]\nbranch = \"新宿支店\"\nid = \"shinjuku-01\"\n",
        )
        .unwrap()
        .kiosk;
        assert_eq!((k.idle_secs, k.warn_secs, k.lang), (60, 25, Lang::En));
        assert_eq!(k.methods, vec![crate::domain::Method::TotpApp]);
        assert_eq!(k.branch.as_deref(), Some("新宿支店"));
        assert_eq!(k.id.as_deref(), Some("shinjuku-01"));
        for (bad, says) in [
            ("warn_secs = 19", "warn_secs"),
            ("idle_secs = 0", "idle_secs"),
            ("methods = []", "methods"),
            ("id = \"kiosk one\"", "kiosk.id"),
        ] {
            let e = Config::parse(&format!("[kiosk]\n{bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn staff_session_lifetimes_are_read_and_checked() {
        let s = Config::parse("[staff]\nabsolute_secs = 36000\nidle_secs = 900\n")
            .unwrap()
            .server_settings("http://x".into())
            .unwrap();
        assert_eq!((s.staff.absolute_secs, s.staff.idle_secs), (36_000, 900));
        assert_eq!(s.staff.pending_secs, 600);
        let e = Config::parse("[staff]\nabsolute_secs = 600\nidle_secs = 900\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("idle timeout"), "{e}");
        assert!(Config::parse("[staff]\nidle = 5\n").is_err());
    }

    #[test]
    fn trusted_proxies_and_admission_are_read_and_checked() {
        let s = Config::parse(
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\", \"2001:db8::/48\"]\nhash_workers = 3\nhash_queue = 9\n",
        )
        .unwrap()
        .server_settings("http://x".into())
        .unwrap();
        let nets: Vec<String> = s.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/48"]);
        assert_eq!((s.admission.workers, s.admission.queue), (3, 9));
        assert_eq!(s.admission.nice, 0, "the default: off");
        let niced = Config::parse("[server]\nhash_worker_nice = 5\n")
            .unwrap()
            .server_settings("http://x".into())
            .unwrap();
        assert_eq!(niced.admission.nice, 5);
        let e = Config::parse("[server]\nhash_worker_nice = 20\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("hash_worker_nice"), "{e}");
        let e = Config::parse("[server]\ntrusted_proxies = [\"proxy.local\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("proxy.local"), "{e}");
    }

    #[test]
    fn mail_queue_and_email_code_are_read_and_checked() {
        let s = Config::parse(
            "[email_code]\nttl_secs = 300\n[mail.queue]\nretry_base_secs = 5\nmax_attempts = 3\n",
        )
        .unwrap()
        .server_settings("http://x".into())
        .unwrap();
        assert_eq!(s.email_code.ttl_secs, 300);
        assert_eq!(s.email_code.max_attempts, 5);
        assert_eq!(s.mail_queue.retry_base_secs, 5);
        assert_eq!(s.mail_queue.max_attempts, 3);
        let e = Config::parse("[mail.queue]\nmax_attempts = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_attempts"), "{e}");
        let e = Config::parse("[email_code]\nmax_attempts = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_attempts"), "{e}");
    }

    #[test]
    fn totp_policy_is_read_and_checked() {
        let s = Config::parse("[totp]\nissuer = \"Kenpo\"\nalgorithm = \"SHA256\"\ndigits = 8\n")
            .unwrap()
            .server_settings("http://x".into())
            .unwrap();
        assert_eq!(s.totp.issuer, "Kenpo");
        assert_eq!(s.totp.algorithm, crate::domain::TotpAlgorithm::Sha256);
        assert_eq!(
            (s.totp.digits, s.totp.period_secs, s.totp.skew_steps),
            (8, 30, 1)
        );
        let q = Config::parse("[tui]\nqr_style = \"spaces\"\n").expect("qr style");
        assert_eq!(q.tui.qr_style, Some(QrStyleSetting::Spaces));
        let bad = Config::parse("[tui]\nqr_style = \"big\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            bad.contains("qr_style") || bad.contains("half-blocks"),
            "{bad}"
        );
        let light = Config::parse("[tui]\ntheme = \"light\"\n").expect("theme");
        assert_eq!(light.tui.theme, Some(ThemeSetting::Light));
        assert_eq!(Config::parse("").expect("empty").tui.theme, None);
        let bad = Config::parse("[tui]\ntheme = \"white\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(bad.contains("auto") && bad.contains("light"), "{bad}");
        let e = Config::parse("[totp]\nissuer = \"a:b\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("issuer"), "{e}");
        assert!(Config::parse("[totp]\nalgorithm = \"MD5\"\n").is_err());
    }

    #[test]
    fn the_portal_names_the_totp_issuer_unless_the_issuer_is_set() {
        let s = Config::parse(
            "[portal.ja]\nname = \"みらい健康保険組合\"\nshort_name = \"みらい健保\"\n",
        )
        .unwrap()
        .server_settings("http://x".into())
        .unwrap();
        assert_eq!(s.totp.issuer, "みらい健保");
        assert_eq!(s.portal().names(Lang::Ja).name, "みらい健康保険組合");
        // Without a short name the name stands in.
        let s = Config::parse("[portal.ja]\nname = \"Mirai Kenpo\"\n[totp]\ndigits = 8\n")
            .unwrap()
            .server_settings("http://x".into())
            .unwrap();
        assert_eq!((s.totp.issuer.as_str(), s.totp.digits), ("Mirai Kenpo", 8));
        let s = Config::parse("[portal.ja]\nname = \"みらい健保\"\n[totp]\nissuer = \"Kenpo\"\n")
            .unwrap()
            .server_settings("http://x".into())
            .unwrap();
        assert_eq!(s.totp.issuer, "Kenpo", "an explicit issuer wins");
        let e = Config::parse("[portal.ja]\nshort_name = \"a:b\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("portal.ja.short_name") && e.contains("issuer"),
            "{e}"
        );
        assert!(
            Config::parse("[portal.ja]\nshort_name = \"a:b\"\n[totp]\nissuer = \"ok\"\n").is_ok()
        );
        let e = Config::parse("[portal]\ntime_zone = \"Mars/Olympus\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("portal.time_zone") && e.contains("Mars/Olympus"),
            "{e}"
        );
        let e = Config::parse("[portal]\nname = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("name"),
            "names live under [portal.ja] and [portal.en]: {e}"
        );
    }

    #[test]
    fn a_broken_mail_template_stops_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("en")).unwrap();
        std::fs::write(dir.path().join("en/user_id.txt"), "{user_id}").unwrap();
        std::fs::write(dir.path().join("en/user_id.html"), "<p>{userid}</p>").unwrap();
        let text = format!(
            "[mail]\ntemplates = {:?}\n",
            dir.path().display().to_string()
        );
        let e = Config::parse(&text)
            .unwrap()
            .server_settings("http://x".into())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid mail template: ")
                && e.contains("en/user_id.html, line 1: unknown placeholder {userid}"),
            "{e}"
        );
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let s = Config::parse("")
            .unwrap()
            .server_settings("http://localhost:1".into())
            .unwrap();
        assert_eq!(s.public_url, "http://localhost:1");
        assert_eq!(s.flow_idle_timeout_secs, 600);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = Config::parse("[flow]\nidle_timeout = 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("idle_timeout"), "{e}");
        let e = Config::parse("[flow]\nidle_timeout_secs = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 1 second"), "{e}");
        assert!(Config::parse("[server]\nlisten = \"nonsense\"\n").is_err());
    }
}
