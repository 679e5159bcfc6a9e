//! Secrets Manager device profiles: `keeper.ini` ([`keeper_ini`]), one profile's
//! configuration with its check ([`config`]), configurations kept
//! outside keeper.ini ([`storage`]: keyring, env, file, AWS Secrets
//! Manager), keeper notation ([`notation`]), and opening the vault as a
//! profile's device.

pub mod config;
mod error;
pub mod keeper_ini;
pub mod notation;
mod profile;
pub mod storage;

use std::path::Path;

pub use config::ProfileConfig;
pub use error::ProfileError;
pub use keeper_ini::IniFile;
pub use profile::Profile;
pub use storage::{Storage, StorageError};

use crate::vault::Location;
use crate::vault::apps::DeviceVault;

/// Opens the vault as profile `name` (else the active one) of the
/// keeper.ini at `ini` (else the one found).
///
/// # Errors
///
/// As [`IniFile::load`], [`ProfileConfig::credentials`] and
/// [`DeviceVault::open`].
pub fn open_device(ini: Option<&Path>, name: Option<&str>) -> Result<DeviceVault, ProfileError> {
    let file = IniFile::load(&keeper_ini::locate(ini))?;
    let (_, profile) = file.get(name)?;
    let config = profile.config()?;
    let creds = config.credentials()?;
    let location = Location::parse(&config.store)?;
    Ok(DeviceVault::open(&location, &creds)?)
}
