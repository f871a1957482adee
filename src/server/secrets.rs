//! Bearer tokens and password hashes.
//!
//! Tokens are 256-bit random values handed out once and stored only as SHA-256 hashes.
//! Passwords are hashed with argon2id by the server's [`super::hash_pool::HashPool`], never in
//! the async loop.

use argon2::{Algorithm, Argon2, Params, Version};
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

impl HashError {
    pub(crate) fn new(detail: String) -> Self {
        Self(detail)
    }
}

impl HashingParams {
    /// The hasher for this cost.
    pub(crate) fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes `password` into a PHC string here and now (tools and tests; the server hashes
    /// through its worker pool).
    pub fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        let argon2 = self.argon2()?;
        super::hash_pool::hash_with(&argon2, password.as_bytes(), &mut Default::default())
    }

    /// Hashes `password` on a blocking thread (tools that seed a database; the server hashes
    /// through its worker pool).
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let params = *self;
        tokio::task::spawn_blocking(move || {
            let password = zeroize::Zeroizing::new(password);
            params.hash_blocking(&password)
        })
        .await
        .map_err(|e| HashError(e.to_string()))?
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
    async fn hashes_in_the_configured_cost() {
        let h = cheap().hash("Passw0rd!".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
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
