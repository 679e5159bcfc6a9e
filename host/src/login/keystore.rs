//! Where a device key is kept: the OS keyring (`config_storage` =
//! `os-keychain`) or a file `<data dir>/devices/<device>.key`, mode 0600 in a
//! 0700 folder (`config_storage` = `file`). `KEEPER_CONFIG_STORAGE=file`
//! forces the file.
//!
//! What the file protects against: other local users (permissions), and a
//! copy of `config.json` or of `vault.db` alone (the session needs this key
//! too). What it does not: anyone who can read this user's data directory
//! (the same user, root, a backup of the whole folder) can unlock the vault
//! until the session ends. The keyring keeps the key out of the data
//! directory, so a copy of that folder is not enough.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::LoginError;
use crate::vault::crypto::Key;

/// Environment variable forcing file storage (`file`), as in Commander.
pub const STORAGE_ENV: &str = "KEEPER_CONFIG_STORAGE";
/// The keyring service name.
const SERVICE: &str = "keeper";

/// A device key's home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `<data dir>/devices/<device>.key`.
    File,
    /// The OS keyring (Secret Service, macOS Keychain, Windows Credential Manager).
    Keyring,
}

impl Storage {
    /// From the config's `config_storage` (absent: the keyring, unless
    /// `KEEPER_CONFIG_STORAGE=file`).
    pub fn from_setting(setting: Option<&str>) -> Self {
        if std::env::var(STORAGE_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("file")) {
            return Self::File;
        }
        match setting {
            Some(s) if s.eq_ignore_ascii_case("file") => Self::File,
            _ => Self::Keyring,
        }
    }

    /// The `config_storage` value.
    pub fn setting(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Keyring => "os-keychain",
        }
    }
}

/// Device keys of one data directory.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// Keys for `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("devices"),
        }
    }

    /// The key file of `device`.
    pub fn file(&self, device: &str) -> PathBuf {
        self.dir.join(format!("{device}.key"))
    }

    /// Stores `key` for `device`, in the keyring when `preferred` says so and
    /// it works, else in the file. Returns where it went and, when the
    /// keyring failed, a warning saying so.
    ///
    /// # Errors
    ///
    /// [`LoginError::KeyFile`] when the file cannot be written.
    pub fn store(
        &self,
        device: &str,
        key: &Key,
        preferred: Storage,
    ) -> Result<(Storage, Option<String>), LoginError> {
        let encoded = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.encode(key.expose()));
        if preferred == Storage::Keyring {
            match keyring::set(device, &encoded) {
                Ok(()) => return Ok((Storage::Keyring, None)),
                Err(why) => {
                    self.write_file(device, &encoded)?;
                    let warning = format!(
                        "the OS keyring is not available ({why}); the device key is kept in {} (mode 0600) instead",
                        self.file(device).display()
                    );
                    return Ok((Storage::File, Some(warning)));
                }
            }
        }
        self.write_file(device, &encoded)?;
        Ok((Storage::File, None))
    }

    /// The key of `device`, or `None` when there is none.
    ///
    /// # Errors
    ///
    /// [`LoginError::KeyFileExposed`] for a file others can read,
    /// [`LoginError::KeyFile`], [`LoginError::Keyring`], or
    /// [`LoginError::BadSetting`] for a damaged key.
    pub fn load(&self, device: &str, storage: Storage) -> Result<Option<Key>, LoginError> {
        let text = match storage {
            Storage::Keyring => keyring::get(device).map_err(LoginError::Keyring)?,
            Storage::File => self.read_file(device)?,
        };
        let Some(text) = text else { return Ok(None) };
        let bytes = zeroize::Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|_| LoginError::BadSetting("the device key is damaged".into()))?,
        );
        Key::from_slice(&bytes)
            .map(Some)
            .map_err(|_| LoginError::BadSetting("the device key is damaged".into()))
    }

    /// Deletes the key of `device` from both homes (missing is fine).
    ///
    /// # Errors
    ///
    /// [`LoginError::KeyFile`] when the file exists but cannot be removed.
    pub fn remove(&self, device: &str, storage: Storage) -> Result<(), LoginError> {
        if storage == Storage::Keyring {
            // Best effort: a keyring that is gone holds nothing to remove.
            let _ = keyring::delete(device);
        }
        let path = self.file(device);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(LoginError::KeyFile { path, source }),
        }
    }

    fn write_file(&self, device: &str, encoded: &str) -> Result<(), LoginError> {
        let path = self.file(device);
        let err = |source| LoginError::KeyFile {
            path: path.clone(),
            source,
        };
        create_private_dir(&self.dir).map_err(err)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".device.")
            .tempfile_in(&self.dir)
            .map_err(err)?;
        crate::config::set_private(tmp.path()).map_err(err)?;
        tmp.write_all(encoded.as_bytes()).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(&path).map_err(|e| err(e.error))?;
        Ok(())
    }

    fn read_file(&self, device: &str) -> Result<Option<zeroize::Zeroizing<String>>, LoginError> {
        let path = self.file(device);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(LoginError::KeyFile { path, source }),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(LoginError::KeyFileExposed { path, mode });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        std::fs::read_to_string(&path)
            .map(|t| Some(zeroize::Zeroizing::new(t)))
            .map_err(|source| LoginError::KeyFile { path, source })
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        match std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// The OS keyring through the `keyring` crate; errors as sentences.
mod keyring {
    fn entry(device: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(super::SERVICE, &format!("device-key:{device}"))
            .map_err(|e| e.to_string())
    }

    pub(super) fn set(device: &str, secret: &str) -> Result<(), String> {
        entry(device)?
            .set_password(secret)
            .map_err(|e| e.to_string())
    }

    pub(super) fn get(device: &str) -> Result<Option<zeroize::Zeroizing<String>>, String> {
        match entry(device)?.get_password() {
            Ok(s) => Ok(Some(zeroize::Zeroizing::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    pub(super) fn delete(device: &str) -> Result<(), String> {
        match entry(device)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_round_trip_private_and_refuse_when_exposed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = KeyStore::new(dir.path());
        assert!(store.load("dev", Storage::File).expect("load").is_none());
        let key = Key::generate();
        let (at, warning) = store.store("dev", &key, Storage::File).expect("store");
        assert_eq!((at, warning), (Storage::File, None));
        let back = store
            .load("dev", Storage::File)
            .expect("load")
            .expect("some");
        assert_eq!(back.expose(), key.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let path = store.file("dev");
            assert_eq!(
                std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
                0o600
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(
                store.load("dev", Storage::File),
                Err(LoginError::KeyFileExposed { .. })
            ));
        }
        store.remove("dev", Storage::File).expect("remove");
        assert!(store.load("dev", Storage::File).expect("load").is_none());
    }
}
