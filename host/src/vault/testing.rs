//! Hidden helpers for end-to-end tests: what a user's keys open among a
//! record's raw key rows, whatever keeper's own reads would hand them
//! (expired rows included). Not an API.

use super::records::open_key_row;
use super::{Result, Vault};

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
