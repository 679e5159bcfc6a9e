//! Persistent login and this device's settings (`this-device`, `login`,
//! `logout`).
//!
//! A registered device has an id (`device_token` in `config.json`) and a
//! device key kept by [`keystore`]. With `persistent_login` on, a login with
//! the master password leaves a session: the vault's data key sealed under
//! the device key ([`crate::vault::Vault::seal_for_device`]), stored as
//! `clone_code` in `config.json` with its expiry. Later commands open the
//! vault with it and no password until it ends:
//!
//! - **timeout**: `logout_timer` seconds (default 1 hour, at most 30 days)
//!   without use; each use pushes the expiry forward (rewriting the file
//!   only once a tenth of the timeout has passed);
//! - **logout**: the session and the device key are deleted, so a copy of
//!   the old `clone_code` opens nothing;
//! - **a changed master password**: the seal is bound to the user's key
//!   header, which the change rewrites;
//! - `--new-login` ignores the session (and a password login replaces it).
//!
//! This module reads `config.json` afresh for every operation, so several
//! commands in one process see each other's changes.

pub mod keystore;
pub mod timeout;

mod error;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

pub use error::LoginError;
use keystore::{KeyStore, Storage};

use crate::config::{self, Config};
use crate::vault::crypto::{self, Key};
use crate::vault::{Location, Vault, VaultError};

/// What `config.json` says about this device.
#[derive(Debug, Clone)]
pub struct DeviceState {
    /// The device id, when registered.
    pub device: Option<String>,
    /// Its name.
    pub name: String,
    /// Whether password logins leave a session.
    pub persistent_login: bool,
    /// Commander's IP auto-approval (recorded; no server acts on it).
    pub ip_auto_approve: bool,
    /// Session length without use.
    pub timeout: Duration,
    /// Where the device key is kept.
    pub storage: Storage,
    /// When the current session ends (epoch seconds), if there is one.
    pub session_expires: Option<u64>,
    /// The user the session belongs to.
    pub user: Option<String>,
}

/// The outcome of trying the persistent session.
#[derive(Debug)]
pub enum Resumed {
    /// The vault, unlocked without a password.
    Unlocked(Box<Vault>),
    /// No session applies (none, persistent login off, another user).
    Absent,
    /// There was a session and it has ended; it has been cleared. The text
    /// says why, for a warning.
    Ended(String),
    /// There is a session but its key cannot be read now (the OS keyring
    /// failed); it is kept. The text says why, for a warning.
    Unavailable(String),
}

/// Device sessions for one data directory and configuration file.
#[derive(Debug, Clone)]
pub struct Device {
    config_path: PathBuf,
    keys: KeyStore,
}

impl Device {
    /// The device described by `config_path`, its keys under `data_dir`.
    pub fn new(data_dir: &Path, config_path: &Path) -> Self {
        Self {
            config_path: config_path.to_path_buf(),
            keys: KeyStore::new(data_dir),
        }
    }

    /// This device's settings as the file says now.
    ///
    /// # Errors
    ///
    /// Configuration errors; [`LoginError::BadSetting`] for a malformed id
    /// or session.
    pub fn state(&self) -> Result<DeviceState, LoginError> {
        let c = config::load(&self.config_path)?.config;
        state_of(&c)
    }

    /// Registers this device (an id and a name) if it is not yet.
    /// Returns the id.
    ///
    /// # Errors
    ///
    /// Configuration errors.
    pub fn register(&self) -> Result<String, LoginError> {
        if let Some(id) = self.state()?.device {
            return Ok(id);
        }
        let mut raw = [0u8; 16];
        crypto::fill_random(&mut raw);
        let id = URL_SAFE_NO_PAD.encode(raw);
        let name = default_name();
        config::update(&self.config_path, |m| {
            m.insert("device_token".into(), Value::from(id.clone()));
            m.entry("device_name").or_insert(Value::from(name));
        })?;
        Ok(id)
    }

    /// Renames this device (registering it first if needed).
    ///
    /// # Errors
    ///
    /// Configuration errors.
    pub fn rename(&self, name: &str) -> Result<(), LoginError> {
        self.register()?;
        config::update(&self.config_path, |m| {
            m.insert("device_name".into(), Value::from(name.trim()));
        })?;
        Ok(())
    }

    /// Sets Commander's `ip_auto_approve` (recorded only).
    ///
    /// # Errors
    ///
    /// Configuration errors.
    pub fn set_ip_auto_approve(&self, on: bool) -> Result<(), LoginError> {
        self.register()?;
        config::update(&self.config_path, |m| {
            m.insert("ip_auto_approve".into(), Value::from(on));
        })?;
        Ok(())
    }

    /// Turns persistent login on (registering the device, and starting a
    /// session for `vault`) or off (ending any session). Returns warnings.
    ///
    /// # Errors
    ///
    /// Configuration, key-storage and vault errors.
    pub fn set_persistent_login(&self, on: bool, vault: &Vault) -> Result<Vec<String>, LoginError> {
        if on {
            self.register()?;
        }
        config::update(&self.config_path, |m| {
            m.insert("persistent_login".into(), Value::from(on));
        })?;
        if on {
            self.start_session(vault)
        } else {
            self.end_session()?;
            Ok(Vec::new())
        }
    }

    /// Sets the session length; an open session gets the new expiry.
    /// Returns warnings.
    ///
    /// # Errors
    ///
    /// Configuration, key-storage and vault errors.
    pub fn set_timeout(&self, timeout: Duration, vault: &Vault) -> Result<Vec<String>, LoginError> {
        self.register()?;
        config::update(&self.config_path, |m| {
            m.insert("logout_timer".into(), Value::from(timeout.as_secs()));
        })?;
        self.start_session(vault)
    }

    /// After a login with the master password: when persistent login is on,
    /// seals `vault`'s data key for this device (replacing any session) and
    /// records the user. Returns warnings (the keyring fell back to a file).
    ///
    /// # Errors
    ///
    /// Configuration, key-storage and vault errors.
    pub fn start_session(&self, vault: &Vault) -> Result<Vec<String>, LoginError> {
        let state = self.state()?;
        let Some(device) = state.device.filter(|_| state.persistent_login) else {
            return Ok(Vec::new());
        };
        let mut warnings = Vec::new();
        let mut storage = state.storage;
        let key = match self.keys.load(&device, storage) {
            Ok(Some(key)) => key,
            Ok(None) | Err(LoginError::Keyring(_)) => {
                let key = Key::generate();
                let (at, warning) = self.keys.store(&device, &key, storage)?;
                storage = at;
                warnings.extend(warning);
                key
            }
            Err(e) => return Err(e),
        };
        let expires = now_secs().saturating_add(state.timeout.as_secs());
        let sealed = vault.seal_for_device(&key, &context(&device, expires))?;
        let code = format!("v1.{expires}.{}", URL_SAFE_NO_PAD.encode(sealed));
        let user = vault.user().email;
        config::update(&self.config_path, |m| {
            m.insert("clone_code".into(), Value::from(code));
            m.insert("user".into(), Value::from(user));
            m.insert("config_storage".into(), Value::from(storage.setting()));
        })?;
        Ok(warnings)
    }

    /// Ends the session: removes it from the file and deletes the device
    /// key (the next session gets a new one). The registration and settings
    /// stay.
    ///
    /// # Errors
    ///
    /// Configuration and key-storage errors.
    pub fn end_session(&self) -> Result<(), LoginError> {
        let c = config::load(&self.config_path)?.config;
        if c.clone_code.is_some() {
            config::update(&self.config_path, |m| {
                m.remove("clone_code");
            })?;
        }
        if let Some(device) = c.device_token.as_deref().filter(|d| valid_id(d)) {
            self.keys
                .remove(device, Storage::from_setting(c.config_storage.as_deref()))?;
        }
        Ok(())
    }

    /// Removes the session from the file (an ended one), keeping the key.
    fn drop_session(&self) -> Result<(), LoginError> {
        config::update(&self.config_path, |m| {
            m.remove("clone_code");
        })?;
        Ok(())
    }

    /// Opens the vault at `vault` with the persistent session, when
    /// there is one for `user` (`None`: whoever the session belongs to).
    /// An expired or invalid session is cleared and reported as
    /// [`Resumed::Ended`].
    ///
    /// # Errors
    ///
    /// Configuration and key-storage errors; vault errors other than an
    /// ended session.
    pub fn resume(&self, vault: &Location, user: Option<&str>) -> Result<Resumed, LoginError> {
        let c = config::load(&self.config_path)?.config;
        let state = state_of(&c)?;
        let (Some(device), Some(code), true) = (
            state.device.as_deref(),
            c.clone_code.as_deref(),
            state.persistent_login,
        ) else {
            return Ok(Resumed::Absent);
        };
        if let (Some(wanted), Some(owner)) = (user, state.user.as_deref())
            && !wanted.trim().eq_ignore_ascii_case(owner)
        {
            return Ok(Resumed::Absent);
        }
        let (expires, sealed) = parse_code(code)?;
        let now = now_secs();
        if now >= expires {
            self.drop_session()?;
            return Ok(Resumed::Ended(format!(
                "the persistent login session expired at {} UTC",
                crate::vault::model::fields::format_time(secs_to_ms(expires))
            )));
        }
        let key = match self.keys.load(device, state.storage) {
            Ok(key) => key,
            Err(LoginError::Keyring(why)) => {
                return Ok(Resumed::Unavailable(format!(
                    "the persistent login session's key is in the OS keyring, which failed: {why}"
                )));
            }
            Err(e) => return Err(e),
        };
        let Some(key) = key else {
            self.drop_session()?;
            return Ok(Resumed::Ended(
                "the persistent login session's device key is gone".into(),
            ));
        };
        let locked = Vault::open_at(vault)?;
        let vault = match locked.unlock_with_device(
            state.user.as_deref(),
            &key,
            &sealed,
            &context(device, expires),
        ) {
            Ok(vault) => vault,
            Err(e @ VaultError::SessionEnded) => {
                self.drop_session()?;
                return Ok(Resumed::Ended(e.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        // Sliding expiry: push it forward once a tenth of the timeout has
        // passed since it was last set (a write per use would cost a sync).
        let timeout = state.timeout.as_secs();
        if expires.saturating_sub(now) < timeout - timeout / 10 {
            let new_expires = now.saturating_add(timeout);
            let sealed = vault.seal_for_device(&key, &context(device, new_expires))?;
            let code = format!("v1.{new_expires}.{}", URL_SAFE_NO_PAD.encode(sealed));
            config::update(&self.config_path, |m| {
                m.insert("clone_code".into(), Value::from(code));
            })?;
        }
        Ok(Resumed::Unlocked(Box::new(vault)))
    }
}

/// The sealed session's associated context: device and expiry.
fn context(device: &str, expires: u64) -> String {
    format!("{device}|{expires}")
}

fn state_of(c: &Config) -> Result<DeviceState, LoginError> {
    let device = match c.device_token.as_deref() {
        Some(d) if valid_id(d) => Some(d.to_string()),
        Some(_) => {
            return Err(LoginError::BadSetting(
                "\"device_token\" is not a keeper device id".into(),
            ));
        }
        None => None,
    };
    let session_expires = match c.clone_code.as_deref() {
        Some(code) => Some(parse_code(code)?.0),
        None => None,
    };
    Ok(DeviceState {
        device,
        name: c.device_name.clone().unwrap_or_else(default_name),
        persistent_login: c.persistent_login,
        ip_auto_approve: c.ip_auto_approve,
        timeout: c
            .logout_timer
            .filter(|&s| s > 0)
            .map_or(timeout::DEFAULT, |s| {
                Duration::from_secs(s).min(timeout::MAX)
            }),
        storage: Storage::from_setting(c.config_storage.as_deref()),
        session_expires,
        user: c.user.clone(),
    })
}

/// `v1.<expires>.<sealed, base64url>`.
fn parse_code(code: &str) -> Result<(u64, Vec<u8>), LoginError> {
    let bad = || LoginError::BadSetting("\"clone_code\" is not a keeper session".into());
    let mut parts = code.trim().splitn(3, '.');
    let (Some("v1"), Some(expires), Some(sealed)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let expires = expires.parse().map_err(|_| bad())?;
    let sealed = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| bad())?;
    Ok((expires, sealed))
}

/// Device ids are base64url (they name a file and a keyring entry).
fn valid_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    match host {
        Some(h) => format!("keeper CLI on {h}"),
        None => "keeper CLI".into(),
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Epoch seconds as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_expiry(secs: u64) -> String {
    crate::vault::model::fields::format_time(secs_to_ms(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::SecretString;
    use crate::vault::crypto::KdfParams;

    #[test]
    fn sessions_open_expire_and_end_with_logout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault_path = dir.path().join("vault.db");
        let config_path = dir.path().join("config.json");
        let pw = SecretString::from("pw".to_string());
        let vault =
            Vault::create(&vault_path, "a@b.c", &pw, &KdfParams::insecure_fast()).expect("create");
        // SAFETY of the test: file storage, so no keyring is touched.
        config::update(&config_path, |m| {
            m.insert("config_storage".into(), Value::from("file"));
        })
        .expect("config");
        let device = Device::new(dir.path(), &config_path);
        assert!(matches!(
            device.resume(&Location::File(vault_path.clone()), None),
            Ok(Resumed::Absent)
        ));
        device.set_persistent_login(true, &vault).expect("on");
        assert!(matches!(
            device.resume(&Location::File(vault_path.clone()), None),
            Ok(Resumed::Unlocked(_))
        ));
        // Another user's request does not use (or end) it.
        assert!(matches!(
            device.resume(&Location::File(vault_path.clone()), Some("x@y.z")),
            Ok(Resumed::Absent)
        ));
        // An edited expiry no longer opens it.
        let code = config::load(&config_path)
            .expect("load")
            .config
            .clone_code
            .expect("code");
        let (expires, _) = parse_code(&code).expect("parse");
        let forged = code.replacen(&expires.to_string(), &(expires + 999).to_string(), 1);
        config::update(&config_path, |m| {
            m.insert("clone_code".into(), Value::from(forged));
        })
        .expect("forge");
        assert!(matches!(
            device.resume(&Location::File(vault_path.clone()), None),
            Ok(Resumed::Ended(_))
        ));
        assert!(
            config::load(&config_path)
                .expect("load")
                .config
                .clone_code
                .is_none()
        );
        // Expired.
        device.start_session(&vault).expect("session");
        let code = config::load(&config_path)
            .expect("load")
            .config
            .clone_code
            .expect("code");
        let (_, sealed) = parse_code(&code).expect("parse");
        let state = device.state().expect("state");
        let id = state.device.expect("registered");
        let key = KeyStore::new(dir.path())
            .load(&id, Storage::File)
            .expect("key")
            .expect("some");
        let past = now_secs() - 1;
        let old = vault
            .seal_for_device(&key, &context(&id, past))
            .expect("seal");
        let _ = sealed;
        config::update(&config_path, |m| {
            m.insert(
                "clone_code".into(),
                Value::from(format!("v1.{past}.{}", URL_SAFE_NO_PAD.encode(old))),
            );
        })
        .expect("expired");
        match device.resume(&Location::File(vault_path.clone()), None) {
            Ok(Resumed::Ended(why)) => assert!(why.contains("expired"), "{why}"),
            other => panic!("expected an expired session, got {other:?}"),
        }
        // Logout deletes the device key: an old copy of the session is useless.
        device.start_session(&vault).expect("session");
        let copy = config::load(&config_path)
            .expect("load")
            .config
            .clone_code
            .expect("code");
        device.end_session().expect("logout");
        assert!(!KeyStore::new(dir.path()).file(&id).exists());
        device.start_session(&vault).expect("new session, new key");
        config::update(&config_path, |m| {
            m.insert("clone_code".into(), Value::from(copy));
        })
        .expect("restore old copy");
        assert!(matches!(
            device.resume(&Location::File(vault_path.clone()), None),
            Ok(Resumed::Ended(_))
        ));
    }
}
