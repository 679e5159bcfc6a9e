//! `storage = env`: the configuration in an environment variable (e.g. a
//! CI system's masked variable), read at each use.

use zeroize::Zeroizing;

use super::StorageError;

/// The value of `name`.
pub(super) fn get(name: &str) -> Result<Zeroizing<String>, StorageError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(Zeroizing::new(v)),
        Ok(_) | Err(std::env::VarError::NotPresent) => Err(StorageError::Missing(format!(
            "the environment variable {name} is not set (the profile's configuration is read from it)"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(StorageError::Missing(format!(
            "the environment variable {name} is not text"
        ))),
    }
}
