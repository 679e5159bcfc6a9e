//! Errors of persistent login and device settings.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::vault::VaultError;

/// What went wrong keeping or using a device session. Never holds a key or
/// a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The configuration file could not be read or written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The vault refused (wrong user, damaged file…).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The device key file could not be read or written.
    #[error("device key file {}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The device key file is readable by others; it is not used.
    #[error(
        "device key file {} is readable by other users (mode {mode:o}); it is not used. \
         Run `keeper logout` and log in again",
        path.display()
    )]
    KeyFileExposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The OS keyring failed where the configuration says the key is.
    #[error("the OS keyring: {0}")]
    Keyring(String),
    /// A `device_token` or `clone_code` in the configuration is malformed.
    #[error("configuration file: {0}")]
    BadSetting(String),
    /// A timeout such as `10m`, `1h`, `7d`, `30d` or seconds was expected.
    #[error("{0}")]
    BadTimeout(String),
}
