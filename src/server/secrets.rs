//! Bearer tokens and password hashes.
//!
//! Tokens are 256-bit random values handed out once and stored only as SHA-256 hashes.
//! Passwords are hashed with argon2id on a blocking thread, never in the async loop.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// argon2id cost parameters (OWASP's minimum by default: 19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashingParams {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashingParams {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why hashing failed (bad parameters, or the blocking pool is gone).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl HashingParams {
    fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes `password` into a PHC string, on a blocking thread.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let argon2 = self.argon2()?;
        tokio::task::spawn_blocking(move || {
            let hashed = argon2
                .hash_password(password.as_bytes())
                .map(|h| h.to_string());
            drop(zeroize::Zeroizing::new(password));
            hashed.map_err(|e| HashError(e.to_string()))
        })
        .await
        .map_err(|e| HashError(e.to_string()))?
    }

    /// Checks `password` against a PHC string, on a blocking thread. A malformed hash is "no match".
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, HashError> {
        let argon2 = self.argon2()?;
        tokio::task::spawn_blocking(move || {
            let ok = argon2
                .verify_password(password.as_bytes(), phc.as_str())
                .is_ok();
            drop(zeroize::Zeroizing::new(password));
            ok
        })
        .await
        .map_err(|e| HashError(e.to_string()))
    }
}

/// A new random token (43 URL-safe characters) and its hash for storage.
pub fn new_token() -> Result<(String, String), HashError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| HashError(e.to_string()))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// The stored form of a token: SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets without an early exit that would leak how much matched.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> HashingParams {
        HashingParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_refuse() {
        let h = cheap().hash("Passw0rd!".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert!(cheap().verify("Passw0rd!".into(), h.clone()).await.unwrap());
        assert!(!cheap().verify("passw0rd!".into(), h).await.unwrap());
        assert!(
            !cheap()
                .verify("x".into(), "not a hash".into())
                .await
                .unwrap()
        );
    }

    #[test]
    fn default_is_owasp_minimum() {
        let p = HashingParams::default();
        assert_eq!((p.memory_kib, p.iterations, p.parallelism), (19456, 2, 1));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(ha, hash_token(&a));
        assert_eq!(ha.len(), 64);
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
    }
}
