//! Hidden helpers for end-to-end tests: what a user's keys open among a
//! record's raw key rows, whatever keeper's own reads would hand them
//! (expired rows included), and what a kept copy of a user's key header
//! opens among raw rows (re-keying). Not an API.

use super::crypto::{KdfParams, Key, KeyPair};
use super::records::open_key_row;
use super::{Result, SecretString, Vault, ad};

/// The holders (user or shared-folder uids) of the key rows of record
/// `record_uid` that the unlocked user's keys open: their data key,
/// private key and shared-folder keys, tried on every row in the store.
/// Empty when nothing this user holds can decrypt the record.
///
/// # Errors
///
/// Storage errors.
pub fn holders_opening(vault: &Vault, record_uid: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for key in vault.store.record_keys(record_uid)? {
        // A holder whose key this user lacks is simply not opened.
        if let Ok(Some(_)) = open_key_row(&vault.s, record_uid, &key) {
            out.push(key.holder_uid);
        }
    }
    Ok(out)
}

/// A copy of a user's key header someone kept (a raw `users` row), opened
/// with the master password they knew: the data key and key pair it held
/// then. For tests that what such a copy opens ends with a re-key.
pub struct KeptHeader {
    data_key: Key,
    keypair: KeyPair,
}

impl KeptHeader {
    /// Opens the raw header of user `uid` of `tenant` (`kdf`,
    /// `wrapped_data_key`, `wrapped_private_key` as stored) with
    /// `password`; `None` when it does not open.
    pub fn open(
        tenant: &str,
        uid: &str,
        kdf: &[u8],
        wrapped_data_key: &[u8],
        wrapped_private_key: &[u8],
        password: &SecretString,
    ) -> Option<Self> {
        let kek = KdfParams::decode(kdf).ok()?.derive(password).ok()?;
        let data_key = kek
            .unwrap_key(wrapped_data_key, &ad::data_key(tenant, uid, kdf))
            .ok()?;
        let secret = data_key
            .unwrap_key(wrapped_private_key, &ad::private_key(uid))
            .ok()?;
        Some(Self {
            keypair: KeyPair::from_secret(&secret),
            data_key,
        })
    }

    /// The tree key a raw `enterprise_admins.wrapped_tree_key` of admin
    /// `uid` of enterprise `tenant` opens to with the kept data key.
    pub fn tree_key(&self, tenant: &str, uid: &str, wrapped: &[u8]) -> Option<Key> {
        self.data_key
            .unwrap_key(wrapped, &ad::tree_key(tenant, uid))
            .ok()
    }

    /// Whether the kept data key or key pair opens a raw record key row
    /// (`record_keys` of `record` held by `holder`, share end `expires`).
    pub fn opens_record_key(
        &self,
        record: &str,
        holder: &str,
        expires: Option<i64>,
        wrapped: &[u8],
    ) -> bool {
        let ad = ad::record_key_until(record, holder, expires);
        self.data_key.try_open(wrapped, &ad).is_some()
            || self.keypair.open_sealed_key(wrapped, &ad).is_ok()
    }
}

/// Whether `tree_key` opens the raw sealed name of node `node_id` of
/// enterprise `tenant`.
pub fn opens_node(tree_key: &Key, tenant: &str, node_id: i64, data: &[u8]) -> bool {
    tree_key
        .try_open(data, &ad::node(tenant, node_id))
        .is_some()
}

/// The tree key of company `mc` a raw `managed_companies.wrapped_tree_key`
/// opens to with its MSP's (`msp`) tree key.
pub fn company_key(tree_key: &Key, mc: &str, msp: &str, wrapped: &[u8]) -> Option<Key> {
    tree_key.unwrap_key(wrapped, &ad::mc_tree_key(mc, msp)).ok()
}
