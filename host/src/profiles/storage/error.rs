//! Why a profile's configuration could not be loaded from its storage.

use std::path::PathBuf;

use super::aws::AwsError;

/// Why a configuration could not be loaded from its storage. Messages
/// never hold the configuration nor an AWS secret key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// Nothing is stored where the profile says.
    #[error("{0}")]
    Missing(String),
    /// The configuration file can be read by others.
    #[error(
        "{} can be read by other users (mode {mode:o}); run `chmod 600 {}` (the file holds the device's key)",
        path.display(),
        path.display()
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The OS keyring failed or is absent.
    #[error("the OS keyring: {0}")]
    Keyring(String),
    /// AWS refused, could not be reached, or gave no credentials.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// What is stored is not a keeper device configuration.
    #[error(
        "{0} does not hold a keeper device configuration (what `secrets-manager client add --config-init b64` prints): {1}"
    )]
    NotAConfig(String, &'static str),
    /// The configuration file is not one keeper reads (someone else's, not
    /// a regular file, too large).
    #[error("{} {why}", path.display())]
    Unsafe {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
