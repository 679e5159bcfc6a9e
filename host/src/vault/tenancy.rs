//! What the enterprise layer (`crate::enterprise`: MSPs and managed
//! companies) needs of an unlocked vault: its store, one transaction, and
//! the logged-in user's data key to wrap and unwrap an enterprise's tree
//! key; and key-held users: a managed company's identity, whose data key
//! is wrapped under the company's tree key (`switch-to-mc` unlocks as it).
//! The rules stay in `crate::enterprise`; nothing here decides who may do
//! what.

use super::crypto::{self, Key, KeyPair};
use super::store::{StoreRead, StoreTx, UserRow};
use super::{LockedVault, Result, Vault, ad, now_ms, user_checksum};

impl Vault {
    /// The store, for reads.
    pub(crate) fn store_read(&self) -> &dyn StoreRead {
        self.store.as_ref()
    }

    /// Runs `f` in one durable write transaction.
    ///
    /// # Errors
    ///
    /// `f`'s error or a storage error; nothing is written then.
    pub(crate) fn transact<T>(
        &mut self,
        mut f: impl FnMut(&mut dyn StoreTx) -> Result<T>,
    ) -> Result<T> {
        self.write(|tx, _| f(tx))
    }

    /// Wraps `key` under the logged-in user's data key.
    pub(crate) fn wrap_for_user(&self, key: &Key, ad: &[u8]) -> Vec<u8> {
        self.s.ring.data_key.wrap(key, ad)
    }

    /// Unwraps a key [`Vault::wrap_for_user`] wrapped.
    ///
    /// # Errors
    ///
    /// [`super::VaultError::Corrupted`] when it was wrapped for someone
    /// else, with other associated data, or damaged.
    pub(crate) fn unwrap_for_user(&self, blob: &[u8], ad: &[u8]) -> Result<Key> {
        self.s.ring.data_key.unwrap_key(blob, ad)
    }
}

/// The key-derivation header of a user whose data key is wrapped under
/// another key (a managed company's tree key), not derived from a
/// password: no password unlocks such a user.
pub(crate) const KEY_HELD: &[u8] = b"keeper/key-held";

/// Whether a user row's data key is held by a key, not a password.
pub(crate) fn is_key_held(user: &UserRow) -> bool {
    user.kdf == KEY_HELD
}

/// A new user of `tenant_uid` whose data key is wrapped under `holder`.
pub(crate) fn key_held_user(tenant_uid: &str, email: &str, holder: &Key) -> UserRow {
    let uid = crypto::new_uid();
    let data_key = Key::generate();
    let keypair = KeyPair::generate();
    let mut row = UserRow {
        wrapped_data_key: holder.wrap(&data_key, &ad::data_key(tenant_uid, &uid, KEY_HELD)),
        wrapped_private_key: data_key.wrap(&keypair.secret(), &ad::private_key(&uid)),
        public_key: keypair.public().to_vec(),
        uid,
        tenant_uid: tenant_uid.to_string(),
        email: email.to_string(),
        kdf: KEY_HELD.to_vec(),
        checksum: Vec::new(),
        created: now_ms(),
        must_rekey: false,
    };
    row.checksum = user_checksum(&row);
    row
}

impl LockedVault {
    /// Unlocks as the key-held user `email` with the key that holds its
    /// data key.
    ///
    /// # Errors
    ///
    /// [`super::VaultError::UnknownUser`]; [`super::VaultError::Denied`]
    /// for a user with a password; [`super::VaultError::Corrupted`] when
    /// `holder` does not open the data key.
    pub(crate) fn unlock_key_held(self, email: &str, holder: &Key) -> Result<Vault> {
        let user = self.select_user(Some(email))?;
        if !is_key_held(&user) {
            return Err(super::VaultError::Denied(format!(
                "{email} unlocks with a password, not a key"
            )));
        }
        let data_key = holder.unwrap_key(
            &user.wrapped_data_key,
            &ad::data_key(&user.tenant_uid, &user.uid, KEY_HELD),
        )?;
        self.finish_unlock(&user, data_key, false)
    }
}

impl Vault {
    /// Whether the logged-in user is key-held (a managed company's
    /// identity, after `switch-to-mc`).
    pub(crate) fn is_key_held(&self) -> Result<bool> {
        Ok(self
            .store
            .users(&self.s.tenant_uid)?
            .iter()
            .any(|u| u.uid == self.s.user_uid && is_key_held(u)))
    }
}
