//! Device sessions and master-password changes.
//!
//! A device session is the user's data key sealed under a device key
//! (XChaCha20-Poly1305), bound by its associated data to the tenant, the
//! user, a caller-chosen context (device id and expiry) and the user's key
//! header as it was when sealed. Changing the master password rewrites the
//! key header, so every session sealed before no longer opens
//! ([`VaultError::SessionEnded`]). Where the device key is kept, and when a
//! session expires, is `crate::login`'s business.

use secrecy::SecretString;

use super::crypto::{KdfParams, Key};
use super::store::UserRow;
use super::{LockedVault, Result, Vault, VaultError, ad, user_checksum};

impl Vault {
    /// Seals this user's data key under `device_key` for the session
    /// described by `context`; [`LockedVault::unlock_with_device`] opens it.
    ///
    /// # Errors
    ///
    /// Storage errors reading the user's key header.
    pub fn seal_for_device(&self, device_key: &Key, context: &str) -> Result<Vec<u8>> {
        let user = self.user_row()?;
        Ok(device_key.wrap(
            &self.s.ring.data_key,
            &ad::device_session(&user.tenant_uid, &user.uid, &user.checksum, context),
        ))
    }

    /// Re-wraps the data key under a new master password (new salt and
    /// `params`). Records and other keys are untouched; every device session
    /// sealed before this ends.
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for an empty password;
    /// [`VaultError::StaleSession`] when the user's keys or tenant changed
    /// since this session unlocked (nothing is written then); storage
    /// errors.
    pub fn change_master_password(
        &mut self,
        password: &SecretString,
        params: &KdfParams,
    ) -> Result<()> {
        use secrecy::ExposeSecret as _;
        if password.expose_secret().is_empty() {
            return Err(VaultError::Invalid(
                "the master password must not be empty".into(),
            ));
        }
        let kdf = params.encode();
        let kek = params.derive(password)?;
        // Read, checked and written in one transaction: the row must still
        // be the one this session unlocked with (`write` refuses
        // otherwise), or the old data key would be stored beside another
        // process's new key pair (after `enterprise-rekey`).
        let header = self.write(|tx, s| {
            let mut user = tx
                .user(&s.user_uid)?
                .ok_or_else(|| VaultError::UnknownUser(s.email.clone()))?;
            user.wrapped_data_key = kek.wrap(
                &s.ring.data_key,
                &ad::data_key(&user.tenant_uid, &user.uid, &kdf),
            );
            user.kdf.clone_from(&kdf);
            user.checksum = user_checksum(&user);
            tx.update_user(&user)?;
            Ok(user.checksum)
        })?;
        self.s.header = header;
        self.weak_kdf = params.is_weak();
        Ok(())
    }

    /// The logged-in user's stored row.
    pub(super) fn user_row(&self) -> Result<UserRow> {
        self.store
            .all_users()?
            .into_iter()
            .find(|u| u.uid == self.s.user_uid)
            .ok_or_else(|| VaultError::UnknownUser(self.s.email.clone()))
    }
}

impl LockedVault {
    /// Unlocks as `email` (or the only user) with a data key sealed by
    /// [`Vault::seal_for_device`] under `device_key` for `context`.
    ///
    /// # Errors
    ///
    /// [`VaultError::SessionEnded`] when the seal does not open (the master
    /// password changed, another user, another context or damage); the
    /// errors of [`LockedVault::unlock`] otherwise.
    pub fn unlock_with_device(
        self,
        email: Option<&str>,
        device_key: &Key,
        sealed: &[u8],
        context: &str,
    ) -> Result<Vault> {
        let user = self.select_user(email)?;
        let data_key = device_key
            .try_open(
                sealed,
                &ad::device_session(&user.tenant_uid, &user.uid, &user.checksum, context),
            )
            .ok_or(VaultError::SessionEnded)
            .and_then(|bytes| Key::from_slice(&bytes))?;
        let weak = KdfParams::decode(&user.kdf)?.is_weak();
        self.finish_unlock(&user, data_key, weak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn a_device_session_opens_until_the_master_password_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v.db");
        let fast = KdfParams::insecure_fast();
        let mut v = Vault::create(&path, "a@b.c", &pw("old"), &fast).expect("create");
        let device = Key::generate();
        let sealed = v.seal_for_device(&device, "dev1|100").expect("seal");
        let again = Vault::open(&path)
            .expect("open")
            .unlock_with_device(None, &device, &sealed, "dev1|100")
            .expect("device unlock");
        assert_eq!(again.user().email, "a@b.c");
        // Another context (expiry changed) or another device key: refused.
        for (key, context) in [(&device, "dev1|200"), (&Key::generate(), "dev1|100")] {
            let err = Vault::open(&path)
                .expect("open")
                .unlock_with_device(None, key, &sealed, context)
                .expect_err("wrong context or key");
            assert!(matches!(err, VaultError::SessionEnded), "{err}");
        }
        v.change_master_password(&pw("new"), &fast).expect("change");
        let err = Vault::open(&path)
            .expect("open")
            .unlock_with_device(None, &device, &sealed, "dev1|100")
            .expect_err("the old session ends");
        assert!(matches!(err, VaultError::SessionEnded), "{err}");
        assert!(matches!(
            Vault::open(&path).expect("open").unlock(None, &pw("old")),
            Err(VaultError::WrongPassword)
        ));
        Vault::open(&path)
            .expect("open")
            .unlock(None, &pw("new"))
            .expect("the new password unlocks");
    }
}
