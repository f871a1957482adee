//! Where `tobira helpdesk` keeps a staff session between runs: the OS keyring, so that a staff
//! member signs in once per shift.
//!
//! Only the session token is kept (with its login and absolute expiry), never a password. The
//! Secret Service (GNOME Keyring, KWallet) is tried first because it survives a reboot and is
//! encrypted at rest; the kernel's session keyring (keyutils) next, which lasts only for the
//! login session; when neither answers, the session lives in memory only and the console says
//! so once. Every call blocks on D-Bus or a system call: run it on a blocking thread.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The keyring service name every kept staff session is filed under.
pub const SERVICE: &str = "tobira-helpdesk";

/// Which store holds the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptIn {
    /// The desktop's Secret Service (survives a reboot).
    SecretService,
    /// The kernel's session keyring (gone when the login session ends).
    SessionKeyring,
    /// Nowhere outside this process: the session ends when the console exits.
    MemoryOnly,
}

/// A staff session as kept between runs. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct KeptSession {
    /// The staff member's login.
    pub login: String,
    /// The bearer token of the staff session.
    pub token: Zeroizing<String>,
    /// When the server ends the session whatever happens (Unix seconds).
    pub expires_at: i64,
}

impl std::fmt::Debug for KeptSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptSession")
            .field("login", &self.login)
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The stored form; versioned so that a later format can refuse an older one cleanly.
#[derive(Serialize, Deserialize)]
struct Stored {
    v: u8,
    login: String,
    token: String,
    expires_at: i64,
}

/// Why a slot could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// The store is not there or refused access (no D-Bus session, locked collection, …).
    #[error("{0}")]
    Unavailable(String),
}

/// One secret in some store: the seam that lets the fallback be tested without a keyring.
pub trait SecretSlot: Send + Sync {
    /// The secret, or `None` when nothing is stored.
    fn get(&self) -> Result<Option<Zeroizing<String>>, SlotError>;
    /// Stores `secret`, replacing what was there.
    fn set(&self, secret: &str) -> Result<(), SlotError>;
    /// Removes the secret; removing nothing is not an error.
    fn delete(&self) -> Result<(), SlotError>;
}

/// A slot that lives as long as the process.
#[derive(Default)]
pub struct MemorySlot(Mutex<Option<Zeroizing<String>>>);

impl SecretSlot for MemorySlot {
    fn get(&self) -> Result<Option<Zeroizing<String>>, SlotError> {
        Ok(self.0.lock().map_err(poisoned)?.clone())
    }
    fn set(&self, secret: &str) -> Result<(), SlotError> {
        *self.0.lock().map_err(poisoned)? = Some(Zeroizing::new(secret.to_owned()));
        Ok(())
    }
    fn delete(&self) -> Result<(), SlotError> {
        *self.0.lock().map_err(poisoned)? = None;
        Ok(())
    }
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> SlotError {
    SlotError::Unavailable("memory slot poisoned".into())
}

/// A slot in the OS keyring.
struct KeyringSlot(keyring::Entry);

impl SecretSlot for KeyringSlot {
    fn get(&self) -> Result<Option<Zeroizing<String>>, SlotError> {
        match self.0.get_password() {
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }
    fn set(&self, secret: &str) -> Result<(), SlotError> {
        self.0.set_password(secret).map_err(unavailable)
    }
    fn delete(&self) -> Result<(), SlotError> {
        match self.0.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn unavailable(e: keyring::Error) -> SlotError {
    SlotError::Unavailable(e.to_string())
}

/// Makes the slot of one store for a server's entry.
type SlotMaker = fn(&str) -> Result<Box<dyn SecretSlot>, SlotError>;

/// The staff session of one server, kept in the best store this machine has.
pub struct StaffKeyring {
    slot: Box<dyn SecretSlot>,
    kept_in: KeptIn,
}

/// What opening the keyring found: the keeper, and a line to show once when it is not the
/// Secret Service.
pub struct Opened {
    /// The keeper to load, save and forget the session with.
    pub keyring: StaffKeyring,
    /// Why the session is kept less durably than in the Secret Service, in English for the
    /// log; the console shows its own translated line from [`KeptIn`].
    pub fallback_reason: Option<String>,
}

impl StaffKeyring {
    /// Opens the keyring entry for the staff session of `server` (its base URL names the entry,
    /// so sessions on two servers do not overwrite each other).
    pub fn open(server: &str) -> Opened {
        let candidates: [(KeptIn, SlotMaker); 2] = [
            (KeptIn::SecretService, secret_service_slot),
            (KeptIn::SessionKeyring, session_keyring_slot),
        ];
        Self::open_from(server, &candidates)
    }

    /// Opens the first candidate whose store answers, else memory.
    fn open_from(server: &str, candidates: &[(KeptIn, SlotMaker)]) -> Opened {
        let mut reasons = Vec::new();
        for (kept_in, make) in candidates {
            match make(server).and_then(|slot| probe(&*slot, *kept_in).map(|()| slot)) {
                Ok(slot) => {
                    return Opened {
                        keyring: Self {
                            slot,
                            kept_in: *kept_in,
                        },
                        fallback_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
                    };
                }
                Err(SlotError::Unavailable(why)) => reasons.push(format!("{kept_in:?}: {why}")),
            }
        }
        Opened {
            keyring: Self::in_memory(),
            fallback_reason: Some(reasons.join("; ")),
        }
    }

    /// A keeper that keeps nothing beyond this process.
    pub fn in_memory() -> Self {
        Self::with_slot(Box::<MemorySlot>::default(), KeptIn::MemoryOnly)
    }

    /// A keeper on the given slot (tests, and stores chosen by the caller).
    pub fn with_slot(slot: Box<dyn SecretSlot>, kept_in: KeptIn) -> Self {
        Self { slot, kept_in }
    }

    /// Where the session is kept.
    pub fn kept_in(&self) -> KeptIn {
        self.kept_in
    }

    /// The kept session, if there is one that has not expired at `now` (Unix seconds). An
    /// expired or unreadable entry is removed: it can never be used again.
    pub fn load(&self, now: i64) -> Result<Option<KeptSession>, SlotError> {
        let Some(raw) = self.slot.get()? else {
            return Ok(None);
        };
        let parsed = serde_json::from_str::<Stored>(&raw)
            .ok()
            .filter(|s| s.v == 1 && !s.login.is_empty() && !s.token.is_empty());
        match parsed {
            Some(s) if s.expires_at > now => Ok(Some(KeptSession {
                login: s.login,
                token: Zeroizing::new(s.token),
                expires_at: s.expires_at,
            })),
            Some(s) => {
                drop(Zeroizing::new(s.token));
                self.slot.delete()?;
                Ok(None)
            }
            None => {
                self.slot.delete()?;
                Ok(None)
            }
        }
    }

    /// Keeps `session`, replacing any other.
    pub fn save(&self, session: &KeptSession) -> Result<(), SlotError> {
        let stored = Stored {
            v: 1,
            login: session.login.clone(),
            token: session.token.to_string(),
            expires_at: session.expires_at,
        };
        let json = Zeroizing::new(
            serde_json::to_string(&stored)
                .map_err(|e| SlotError::Unavailable(format!("cannot encode the session: {e}")))?,
        );
        drop(Zeroizing::new(stored.token));
        self.slot.set(&json)
    }

    /// Forgets the kept session (`tobira helpdesk --sign-out`, or the server refused it).
    pub fn forget(&self) -> Result<(), SlotError> {
        self.slot.delete()
    }
}

/// The keyring entry's user name for a server: its URL without path noise, so that
/// `http://h:1/` and `http://h:1` share an entry.
fn entry_user(server: &str) -> String {
    server.trim().trim_end_matches('/').to_ascii_lowercase()
}

fn secret_service_slot(server: &str) -> Result<Box<dyn SecretSlot>, SlotError> {
    let cred =
        keyring::secret_service::SsCredential::new_with_target(None, SERVICE, &entry_user(server))
            .map_err(unavailable)?;
    Ok(Box::new(KeyringSlot(keyring::Entry::new_with_credential(
        Box::new(cred),
    ))))
}

fn session_keyring_slot(server: &str) -> Result<Box<dyn SecretSlot>, SlotError> {
    let cred =
        keyring::keyutils::KeyutilsCredential::new_with_target(None, SERVICE, &entry_user(server))
            .map_err(unavailable)?;
    Ok(Box::new(KeyringSlot(keyring::Entry::new_with_credential(
        Box::new(cred),
    ))))
}

/// Checks that a store really answers before trusting it with the session. Reading is enough
/// for the Secret Service (no entry and "no service" are told apart); keyutils reports a
/// refused session keyring as "no entry", so it is written, read back and restored.
fn probe(slot: &dyn SecretSlot, kept_in: KeptIn) -> Result<(), SlotError> {
    let existing = slot.get()?;
    if kept_in == KeptIn::SecretService || existing.is_some() {
        return Ok(());
    }
    const PROBE: &str = "{\"v\":0}";
    slot.set(PROBE)?;
    let read = slot.get()?;
    slot.delete()?;
    if read.as_deref().map(String::as_str) == Some(PROBE) {
        Ok(())
    } else {
        Err(SlotError::Unavailable(
            "the session keyring did not keep a value".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires_at: i64) -> KeptSession {
        KeptSession {
            login: "sato".into(),
            token: Zeroizing::new("stf_secret_token".into()),
            expires_at,
        }
    }

    #[test]
    fn a_saved_session_loads_until_it_expires_then_is_removed() {
        let k = StaffKeyring::in_memory();
        assert_eq!(k.load(100).unwrap(), None);
        k.save(&session(1_000)).unwrap();
        assert_eq!(k.load(999).unwrap(), Some(session(1_000)));
        assert_eq!(k.load(1_000).unwrap(), None, "expired at its instant");
        assert_eq!(k.load(0).unwrap(), None, "the expired entry was removed");
    }

    #[test]
    fn forget_removes_the_session_and_forgetting_twice_is_fine() {
        let k = StaffKeyring::in_memory();
        k.save(&session(1_000)).unwrap();
        k.forget().unwrap();
        k.forget().unwrap();
        assert_eq!(k.load(0).unwrap(), None);
    }

    #[test]
    fn an_unreadable_entry_is_removed_not_trusted() {
        let slot = MemorySlot::default();
        slot.set("{\"v\":9,\"login\":\"x\",\"token\":\"t\",\"expires_at\":99}")
            .unwrap();
        let k = StaffKeyring::with_slot(Box::new(slot), KeptIn::MemoryOnly);
        assert_eq!(k.load(0).unwrap(), None);
        let k2 = StaffKeyring::in_memory();
        k2.slot.set("not json").unwrap();
        assert_eq!(k2.load(0).unwrap(), None);
        assert_eq!(k2.slot.get().unwrap(), None);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let shown = format!("{:?}", session(5));
        assert!(
            shown.contains("sato") && !shown.contains("stf_secret_token"),
            "{shown}"
        );
    }

    struct Refusing;
    impl SecretSlot for Refusing {
        fn get(&self) -> Result<Option<Zeroizing<String>>, SlotError> {
            Err(SlotError::Unavailable("no D-Bus session".into()))
        }
        fn set(&self, _: &str) -> Result<(), SlotError> {
            Err(SlotError::Unavailable("no D-Bus session".into()))
        }
        fn delete(&self) -> Result<(), SlotError> {
            Err(SlotError::Unavailable("no D-Bus session".into()))
        }
    }

    /// keyutils without a session keyring: writes vanish and reads say "no entry".
    struct Forgetful;
    impl SecretSlot for Forgetful {
        fn get(&self) -> Result<Option<Zeroizing<String>>, SlotError> {
            Ok(None)
        }
        fn set(&self, _: &str) -> Result<(), SlotError> {
            Ok(())
        }
        fn delete(&self) -> Result<(), SlotError> {
            Ok(())
        }
    }

    fn refusing(_: &str) -> Result<Box<dyn SecretSlot>, SlotError> {
        Ok(Box::new(Refusing))
    }
    fn forgetful(_: &str) -> Result<Box<dyn SecretSlot>, SlotError> {
        Ok(Box::new(Forgetful))
    }
    fn memory(_: &str) -> Result<Box<dyn SecretSlot>, SlotError> {
        Ok(Box::<MemorySlot>::default())
    }
    fn absent(_: &str) -> Result<Box<dyn SecretSlot>, SlotError> {
        Err(SlotError::Unavailable("no session keyring".into()))
    }

    #[test]
    fn falls_back_to_the_session_keyring_and_says_why() {
        let o = StaffKeyring::open_from(
            "http://h/",
            &[
                (KeptIn::SecretService, refusing),
                (KeptIn::SessionKeyring, memory),
            ],
        );
        assert_eq!(o.keyring.kept_in(), KeptIn::SessionKeyring);
        assert!(o.fallback_reason.unwrap().contains("no D-Bus session"));
    }

    #[test]
    fn a_keyring_that_forgets_is_not_trusted_and_memory_is_used() {
        let o = StaffKeyring::open_from(
            "http://h/",
            &[
                (KeptIn::SecretService, absent),
                (KeptIn::SessionKeyring, forgetful),
            ],
        );
        assert_eq!(o.keyring.kept_in(), KeptIn::MemoryOnly);
        let why = o.fallback_reason.unwrap();
        assert!(
            why.contains("no session keyring") && why.contains("did not keep"),
            "{why}"
        );
        o.keyring.save(&session(10)).unwrap();
        assert_eq!(o.keyring.load(0).unwrap(), Some(session(10)));
    }

    #[test]
    fn the_secret_service_when_it_answers_has_no_fallback_line() {
        let o = StaffKeyring::open_from("http://h/", &[(KeptIn::SecretService, memory)]);
        assert_eq!(o.keyring.kept_in(), KeptIn::SecretService);
        assert!(o.fallback_reason.is_none());
    }

    #[test]
    fn one_entry_per_server_whatever_the_trailing_slash() {
        assert_eq!(
            entry_user("HTTP://Host:8080/"),
            entry_user("http://host:8080")
        );
    }
}
