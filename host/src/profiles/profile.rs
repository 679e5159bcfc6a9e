//! One profile of keeper.ini: its configuration, or where it is kept.

use std::borrow::Cow;

use super::config::ProfileConfig;
use super::error::ProfileError;
use super::storage::Storage;

/// One profile of keeper.ini: its configuration, or where it is kept.
#[derive(Debug, Clone)]
pub enum Profile {
    /// The configuration itself.
    Config(ProfileConfig),
    /// `storage = …`: loaded from there at each use.
    External(Storage),
}

impl From<ProfileConfig> for Profile {
    fn from(config: ProfileConfig) -> Self {
        Self::Config(config)
    }
}

impl From<Storage> for Profile {
    fn from(storage: Storage) -> Self {
        Self::External(storage)
    }
}

impl Profile {
    /// The configuration, loaded from its storage when it is external.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Storage`].
    pub fn config(&self) -> Result<Cow<'_, ProfileConfig>, ProfileError> {
        match self {
            Self::Config(c) => Ok(Cow::Borrowed(c)),
            Self::External(s) => Ok(Cow::Owned(s.load()?)),
        }
    }

    /// As `key = value` pairs (an INI section's body).
    pub(crate) fn to_pairs(&self) -> Vec<(&'static str, zeroize::Zeroizing<String>)> {
        match self {
            Self::Config(c) => c.to_pairs(),
            Self::External(s) => s.to_pairs(),
        }
    }
}
