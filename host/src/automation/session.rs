//! One process's login: the unlocked vault shared by every command of a
//! batch, the shell or the `commands` loop, and the variables.
//!
//! The vault is unlocked once: commands borrow it through [`Unlocked`],
//! which gives it back when dropped. A command that needs to own it (the
//! rotation engine) takes it; the next command reopens the file with an
//! in-memory seal of the data key (a random key that never leaves this
//! process), so neither the password nor Argon2 is needed again.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::variables::Variables;
use crate::vault::crypto::Key;
use crate::vault::{Location, Result, Vault, VaultError};

/// What reopens the vault without a password: the data key sealed under a
/// key only this process has.
struct Reopen {
    key: Key,
    sealed: Vec<u8>,
    email: String,
}

/// The seal's context.
const CONTEXT: &str = "keeper/process";

/// One process's unlocked vault and variables.
#[derive(Default)]
pub struct Session {
    vault: Mutex<Option<Vault>>,
    reopen: Mutex<Option<Reopen>>,
    variables: Variables,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("unlocked", &lock(&self.reopen).is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The variables of this process.
    pub fn variables(&self) -> &Variables {
        &self.variables
    }

    /// The vault unlocked earlier in this process, if any: the held one
    /// (its shared keys re-read, in case another process granted some), or
    /// the vault at `location` reopened with the in-memory seal.
    ///
    /// # Errors
    ///
    /// Vault errors; when the seal no longer opens the vault (the master
    /// password changed meanwhile) the login is forgotten and `Ok(None)`
    /// returned; when the held vault's keys or tenant changed in another
    /// process, the login is forgotten and [`VaultError::StaleSession`]
    /// returned (the next command logs in afresh).
    pub fn resume(&self, location: &Location) -> Result<Option<Unlocked<'_>>> {
        let held = lock(&self.vault).take();
        if let Some(mut vault) = held {
            if let Err(e) = vault.check_unlocked_header() {
                if matches!(e, VaultError::StaleSession(_)) {
                    self.forget();
                }
                return Err(e);
            }
            vault.reload_keys()?;
            return Ok(Some(self.hold(vault)));
        }
        let reopen = lock(&self.reopen);
        let Some(r) = reopen.as_ref() else {
            return Ok(None);
        };
        let opened = Vault::open_at(location)
            .and_then(|v| v.unlock_with_device(Some(&r.email), &r.key, &r.sealed, CONTEXT));
        drop(reopen);
        match opened {
            Ok(vault) => Ok(Some(self.hold(vault))),
            Err(VaultError::SessionEnded) => {
                self.forget();
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Lends `vault` to a command, keeping what reopens it.
    ///
    /// # Errors
    ///
    /// Storage errors reading the user's key header.
    pub fn start(&self, vault: Vault) -> Result<Unlocked<'_>> {
        let key = Key::generate();
        let sealed = vault.seal_for_device(&key, CONTEXT)?;
        *lock(&self.reopen) = Some(Reopen {
            key,
            sealed,
            email: vault.user().email,
        });
        Ok(self.hold(vault))
    }

    /// Forgets the login (after `logout`): the next command unlocks afresh.
    pub fn forget(&self) {
        *lock(&self.vault) = None;
        *lock(&self.reopen) = None;
    }

    /// Whether a login is held.
    pub fn is_logged_in(&self) -> bool {
        lock(&self.reopen).is_some()
    }

    fn hold(&self, vault: Vault) -> Unlocked<'_> {
        Unlocked {
            session: self,
            vault: Some(vault),
        }
    }
}

/// A borrowed unlocked vault; dereferences to [`Vault`] and goes back to
/// the [`Session`] when dropped.
pub struct Unlocked<'a> {
    session: &'a Session,
    vault: Option<Vault>,
}

impl Unlocked<'_> {
    /// Keeps the vault (the next command reopens the file).
    pub fn into_owned(mut self) -> Option<Vault> {
        self.vault.take()
    }
}

impl std::fmt::Debug for Unlocked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Unlocked").field(&self.vault).finish()
    }
}

impl std::ops::Deref for Unlocked<'_> {
    type Target = Vault;
    fn deref(&self) -> &Vault {
        // Only `into_owned` empties it, and it consumes the guard.
        self.vault
            .as_ref()
            .unwrap_or_else(|| unreachable!("vault taken"))
    }
}

impl std::ops::DerefMut for Unlocked<'_> {
    fn deref_mut(&mut self) -> &mut Vault {
        self.vault
            .as_mut()
            .unwrap_or_else(|| unreachable!("vault taken"))
    }
}

impl Drop for Unlocked<'_> {
    fn drop(&mut self) {
        if let Some(vault) = self.vault.take()
            && self.session.is_logged_in()
        {
            *lock(&self.session.vault) = Some(vault);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::SecretString;
    use crate::vault::crypto::KdfParams;

    #[test]
    fn one_unlock_serves_many_commands_and_survives_a_taken_vault() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("v.db");
        let path = Location::File(file.clone());
        let pw = SecretString::from("pw".to_string());
        let vault =
            Vault::create(&file, "a@b.c", &pw, &KdfParams::insecure_fast()).expect("create");
        let session = Session::default();
        assert!(session.resume(&path).expect("resume").is_none());
        drop(session.start(vault).expect("start"));
        let held = session.resume(&path).expect("resume").expect("held");
        assert_eq!(held.user().email, "a@b.c");
        let owned = held.into_owned().expect("owned");
        drop(owned);
        let reopened = session.resume(&path).expect("resume").expect("reopened");
        assert_eq!(reopened.user().email, "a@b.c");
        drop(reopened);
        session.forget();
        assert!(session.resume(&path).expect("resume").is_none());
    }
}
