//! What goes wrong with a profile or keeper.ini.

use std::path::{Path, PathBuf};

use super::storage::StorageError;

/// What went wrong with a profile or keeper.ini. Messages never hold a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// keeper.ini (or a configuration) cannot be read as profiles.
    #[error("{0}; it was left as it is")]
    Malformed(String),
    /// A profile's check does not match: edited or damaged.
    #[error("the profile configuration was tampered with or damaged ({0}); nothing was changed")]
    Tampered(String),
    /// No such profile (or none active).
    #[error("{}", no_profile(name.as_deref(), path))]
    NoProfile {
        /// The profile asked for, if any.
        name: Option<String>,
        /// The keeper.ini looked at.
        path: PathBuf,
    },
    /// Bad input (a name, a notation).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The vault refused or failed.
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// The configuration's external storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ProfileError {
    pub(super) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn no_profile(name: Option<&str>, path: &Path) -> String {
    match name {
        Some(n) => format!("no profile {n:?} in {}", path.display()),
        None => format!(
            "no active profile in {}; initialise one with `keeper profile init --token TOKEN`",
            path.display()
        ),
    }
}
