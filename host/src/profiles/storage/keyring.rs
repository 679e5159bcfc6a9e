//! `storage = keyring`: the configuration in the OS keyring (service
//! `keeper-ksm`, the entry named by `secret`) through the `keyring` crate:
//! macOS Keychain, Windows Credential Manager, or on Linux the Secret
//! Service over D-Bus (gnome-keyring, KWallet, KeePassXC). A Linux machine
//! without a D-Bus session or a Secret Service (a server, a container) has
//! no keyring: every use fails with a sentence saying so, nothing falls
//! back to a file.

use zeroize::Zeroizing;

use super::StorageError;

/// The keyring service the entries are kept under.
const SERVICE: &str = "keeper-ksm";

fn entry(name: &str) -> Result<keyring::Entry, StorageError> {
    keyring::Entry::new(SERVICE, name).map_err(|e| unavailable(&e))
}

fn unavailable(e: &keyring::Error) -> StorageError {
    let hint = if cfg!(target_os = "linux") {
        " (on Linux the keyring is a Secret Service — gnome-keyring, KWallet or KeePassXC — \
         reached over the D-Bus session bus; a server or container without one has no keyring: \
         use --type file or --type env there)"
    } else {
        ""
    };
    StorageError::Keyring(format!("{e}{hint}"))
}

/// The entry's text.
pub(super) fn get(name: &str) -> Result<Zeroizing<String>, StorageError> {
    match entry(name)?.get_password() {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(keyring::Error::NoEntry) => Err(StorageError::Missing(format!(
            "the OS keyring has no entry {name:?} (service {SERVICE}); \
             `keeper profile setup --type keyring` stores one from standard input"
        ))),
        Err(e) => Err(unavailable(&e)),
    }
}

/// Stores `text` as the entry.
pub(super) fn set(name: &str, text: &str) -> Result<(), StorageError> {
    entry(name)?.set_password(text).map_err(|e| unavailable(&e))
}
