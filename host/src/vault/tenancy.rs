//! What the enterprise layer (`crate::enterprise`: MSPs and managed
//! companies) needs of an unlocked vault: its store, one transaction, and
//! the logged-in user's data key to wrap and unwrap an enterprise's tree
//! key. The rules stay in `crate::enterprise`; nothing here decides who
//! may do what.

use super::crypto::Key;
use super::store::{StoreRead, StoreTx};
use super::{Result, Vault};

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
