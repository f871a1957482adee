//! The server key that encrypts second-factor secrets at rest (AES-256-GCM).
//!
//! The key lives outside the database — a file `<data dir>/secret.key` (mode 0600, created on
//! first start) or the `TOBIRA_SECRET_KEY` environment variable — so a copy of the database
//! alone does not give away anyone's authenticator secret.
//!
//! Format (file or variable): 32 bytes as 64 hexadecimal characters, or as standard base64
//! (44 characters with padding); surrounding whitespace is ignored.

use std::fmt;
use std::io::Write;
use std::path::Path;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use zeroize::Zeroizing;

/// The environment variable that, when set, holds the key instead of the file.
pub const ENV_VAR: &str = "TOBIRA_SECRET_KEY";

/// The key file's name in the data directory.
pub const FILE_NAME: &str = "secret.key";

/// The first byte of every sealed value, so a later format can be told apart.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

/// Why the key could not be loaded, or a value not sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    /// The key text is neither 64 hex characters nor base64 of 32 bytes.
    #[error("the secret key in {source_name} must be 32 bytes: 64 hex characters or base64")]
    Format {
        /// Where the text came from (the file or the variable).
        source_name: String,
    },
    /// The key file could not be read or created.
    #[error("secret key file {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
    /// A sealed value is malformed, or was sealed under another key or for another owner.
    #[error("a sealed secret could not be opened (wrong key or damaged data)")]
    Open,
    /// Encryption failed (cannot happen with valid lengths).
    #[error("a secret could not be sealed")]
    Seal,
}

/// A 256-bit server key. Wiped when dropped; its `Debug` shows nothing.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, SecretKeyError> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(k.as_mut()).map_err(|e| SecretKeyError::Random(e.to_string()))?;
        Ok(Self(k))
    }

    /// Wraps raw key bytes (tests, tools).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Parses 64 hex characters or base64 of 32 bytes.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, SecretKeyError> {
        let text = text.trim();
        let err = || SecretKeyError::Format {
            source_name: source_name.to_owned(),
        };
        let bytes = Zeroizing::new(if text.len() == 64 {
            hex::decode(text).map_err(|_| err())?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| err())?
        });
        let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| err())?;
        Ok(Self::from_bytes(arr))
    }

    /// The key from `TOBIRA_SECRET_KEY` when `env_value` is given, else from
    /// `<data_dir>/secret.key`, creating that file (mode 0600) with a new key the first time.
    pub fn load_or_create(
        data_dir: &Path,
        env_value: Option<&str>,
    ) -> Result<Self, SecretKeyError> {
        if let Some(v) = env_value {
            return Self::parse(v, ENV_VAR);
        }
        let path = data_dir.join(FILE_NAME);
        let file_err = |e: std::io::Error| SecretKeyError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                warn_if_readable_by_others(&path);
                Self::parse(&text, &path.display().to_string())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                match opts.open(&path) {
                    Ok(mut f) => {
                        let text = Zeroizing::new(format!("{}\n", hex::encode(key.0.as_ref())));
                        f.write_all(text.as_bytes()).map_err(file_err)?;
                        f.sync_all().map_err(file_err)?;
                        tracing::info!(path = %path.display(), "created a new secret key");
                        Ok(key)
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let text = std::fs::read_to_string(&path).map_err(file_err)?;
                        Self::parse(&text, &path.display().to_string())
                    }
                    Err(e) => Err(file_err(e)),
                }
            }
            Err(e) => Err(file_err(e)),
        }
    }

    fn cipher(&self) -> Result<Aes256Gcm, SecretKeyError> {
        Aes256Gcm::new_from_slice(self.0.as_ref()).map_err(|_| SecretKeyError::Seal)
    }

    /// Encrypts `plaintext`, bound to `context` (for example the owner's id): a sealed value
    /// copied to another owner's row does not open.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, SecretKeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SecretKeyError::Random(e.to_string()))?;
        let sealed = self
            .cipher()?
            .encrypt(
                &aes_gcm::aead::Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| SecretKeyError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts a value made by [`SecretKey::seal`] with the same `context`.
    pub fn open(
        &self,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SecretKeyError> {
        let (version, rest) = sealed.split_first().ok_or(SecretKeyError::Open)?;
        if *version != FORMAT_V1 || rest.len() < NONCE_LEN + 16 {
            return Err(SecretKeyError::Open);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretKeyError::Open)?;
        self.cipher()?
            .decrypt(
                &aes_gcm::aead::Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SecretKeyError::Open)
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the secret key file is readable by others; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

// issue 5
impl SecretKey {
    /// HMAC-SHA-256 (RFC 2104) of `message` under this key: a keyed hash for short secrets such
    /// as emailed codes, which a plain hash would not protect (a million codes are guessed in
    /// no time from a stolen database).
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        // The key is 32 bytes, shorter than SHA-256's 64-byte block: pad it with zeros.
        let mut ipad = Zeroizing::new([0x36u8; 64]);
        let mut opad = Zeroizing::new([0x5cu8; 64]);
        for (i, k) in self.0.iter().enumerate() {
            ipad[i] ^= k;
            opad[i] ^= k;
        }
        let inner = Sha256::new()
            .chain_update(ipad.as_ref())
            .chain_update(message)
            .finalize();
        Sha256::new()
            .chain_update(opad.as_ref())
            .chain_update(inner)
            .finalize()
            .into()
    }
}

#[cfg(test)]
mod mac_tests {
    use super::*;

    #[test]
    fn mac_is_hmac_sha256() {
        // The expected value is Python's hmac.new(b"\x0b" * 32, b"Hi There", "sha256").hexdigest().
        let key = SecretKey::from_bytes([0x0b; 32]);
        assert_eq!(
            hex::encode(key.mac(b"Hi There")),
            "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"
        );
        assert_ne!(key.mac(b"a"), SecretKey::from_bytes([1; 32]).mac(b"a"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_bound_to_context() {
        let k = SecretKey::generate().unwrap();
        let sealed = k.seal(b"twenty bytes secret!", b"member:1").unwrap();
        assert_eq!(sealed.len(), 1 + 12 + 20 + 16);
        assert_eq!(
            &k.open(&sealed, b"member:1").unwrap()[..],
            b"twenty bytes secret!"
        );
        assert!(matches!(
            k.open(&sealed, b"member:2"),
            Err(SecretKeyError::Open)
        ));
        let other = SecretKey::generate().unwrap();
        assert!(matches!(
            other.open(&sealed, b"member:1"),
            Err(SecretKeyError::Open)
        ));
        let mut damaged = sealed.clone();
        damaged[20] ^= 1;
        assert!(k.open(&damaged, b"member:1").is_err());
        assert!(k.open(&[], b"").is_err());
        // Fresh nonces: the same secret never seals to the same bytes.
        assert_ne!(
            sealed,
            k.seal(b"twenty bytes secret!", b"member:1").unwrap()
        );
        assert_eq!(format!("{k:?}"), "SecretKey(<redacted>)");
    }

    #[test]
    fn keys_parse_from_hex_or_base64() {
        let hex64 = "00".repeat(31) + "ff";
        let a = SecretKey::parse(&format!(" {hex64}\n"), "t").unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(
            [0u8; 31]
                .iter()
                .chain([0xffu8].iter())
                .copied()
                .collect::<Vec<_>>(),
        );
        let b = SecretKey::parse(&b64, "t").unwrap();
        assert_eq!(a.0, b.0);
        assert!(SecretKey::parse("abc", "t").is_err());
        assert!(SecretKey::parse(&"zz".repeat(32), "t").is_err());
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretKey::load_or_create(dir.path(), None).unwrap();
        let b = SecretKey::load_or_create(dir.path(), None).unwrap();
        assert_eq!(a.0, b.0, "the second start reads the same key");
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text.trim().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let env = SecretKey::load_or_create(dir.path(), Some(&"11".repeat(32))).unwrap();
        assert_eq!(env.0.as_ref(), &[0x11u8; 32]);
    }
}
