//! `config.json`: where it is, what its keys mean, and how it is rewritten.
//!
//! The file is Commander's: a JSON object whose keys keeper reads
//! ([`Config`]), writes back only through [`update`] (mode 0600, atomically,
//! keeping every key it does not manage, never adding a password), and
//! never rewrites when it cannot parse it. An unknown key is a warning that
//! names it; a known key with a value of the wrong type is an error.
//!
//! Resolution (first that applies): `--config`, `KEEPER_CONFIG_FILE`,
//! `./config.json` when it exists, `<data dir>/config.json`.

mod error;
mod proxy;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use error::ConfigError;
pub use proxy::Proxy;

/// The file name looked for in the current directory and the data directory.
pub const FILE_NAME: &str = "config.json";

/// Keys keeper reads or writes.
const KNOWN: &[&str] = &[
    "user",
    "password",
    "commands",
    "timedelay",
    "proxy",
    "debug",
    "batch_mode",
    "unmask_all",
    "logout_timer",
    "plugins",
    "skip_records",
    "config_storage",
    "device_token",
    "device_name",
    "clone_code",
    "persistent_login",
    "ip_auto_approve",
    "rotation_min_length",
    "store",
    "native_plugins",
];

/// Commander keys that only mean something to Keeper's servers (region,
/// server-side device keys, MFA, SSO, REST behaviour): accepted without a
/// warning, with no effect (keeper has no server).
const SERVER_ONLY: &[&str] = &[
    "server",
    "private_key",
    "mfa_token",
    "mfa_type",
    "mfa_duration",
    "sso_master_password",
    "fail_on_throttle",
    "certificate_check",
    "encrypted_data",
    "device_id",
];

/// What a configuration file says. Defaults: every key absent.
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// The vault user (e-mail).
    pub user: Option<String>,
    /// The master password, for unattended use (read, never written back).
    /// Prefer `KEEPER_PASSWORD` or persistent login.
    pub password: Option<SecretString>,
    /// Command lines run at start-up, before the command line's own.
    pub commands: Vec<String>,
    /// With `commands`: run them every this many seconds, forever (0 = once).
    pub timedelay: u64,
    /// Proxy for plugins' HTTP requests.
    pub proxy: Option<Proxy>,
    /// Detailed logging (as `-vv`).
    pub debug: bool,
    /// Batch mode: no prompts, warnings only.
    pub batch_mode: bool,
    /// `get` and `history` show secrets without `--unmask`.
    pub unmask_all: bool,
    /// Persistent-login session length in seconds (`this-device timeout`).
    pub logout_timer: Option<u64>,
    /// Where the device key is kept: `file` or `os-keychain[://…]`.
    pub config_storage: Option<String>,
    /// This device's id (`this-device register`).
    pub device_token: Option<String>,
    /// This device's name (`this-device rename`).
    pub device_name: Option<String>,
    /// The persistent-login session (the sealed data key), if any.
    pub clone_code: Option<String>,
    /// Whether logins on this device leave a persistent session.
    pub persistent_login: bool,
    /// Commander's IP auto-approval setting (no effect without a server).
    pub ip_auto_approve: bool,
    /// The shortest password `rotate` sets (default 12); `--min-length`
    /// overrides it.
    pub rotation_min_length: Option<usize>,
    /// Whether native (unsandboxed) plugins may be installed and loaded
    /// (`plugin install --native`). Off unless the file says `true`.
    pub native_plugins: bool,
    /// Where the vault is: a `postgres://…` URL (a team vault) or a file
    /// path; default `<data dir>/vault.db`. `--store` and `KEEPER_STORE`
    /// override it; `keeper init --store URL` writes it.
    pub store: Option<String>,
}

/// A configuration file that was found and read.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Its keys (the defaults when there is no file).
    pub config: Config,
    /// One line per unknown key, naming it.
    pub warnings: Vec<String>,
}

/// Where the configuration file is: `explicit` (`--config` or
/// `KEEPER_CONFIG_FILE`), else `./config.json` when it exists, else
/// `<data_dir>/config.json`.
pub fn locate(explicit: Option<&Path>, data_dir: &Path) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    let here = Path::new(FILE_NAME);
    if here.is_file() {
        return std::path::absolute(here).unwrap_or_else(|_| here.to_path_buf());
    }
    data_dir.join(FILE_NAME)
}

/// Reads the configuration at `path`; a missing file is an empty one.
///
/// # Errors
///
/// [`ConfigError::Read`] when it cannot be read, [`ConfigError::Malformed`]
/// when it is not a JSON object, [`ConfigError::BadValue`] for a known key
/// with a value of the wrong type, [`ConfigError::BadProxy`].
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let map = match read_map(path)? {
        Some(map) => map,
        None => {
            return Ok(Loaded {
                config: Config::default(),
                warnings: Vec::new(),
            });
        }
    };
    let warnings = map
        .keys()
        .filter(|k| !KNOWN.contains(&k.as_str()) && !SERVER_ONLY.contains(&k.as_str()))
        .map(|k| format!("{}: unknown key {k:?} is ignored", path.display()))
        .collect();
    let config = parse(path, &map)?;
    Ok(Loaded { config, warnings })
}

/// Changes the file at `path`: reads it again, lets `change` set or remove
/// keys, and writes it atomically with mode 0600 (creating it and its folder
/// when missing). Keys `change` does not touch are kept as they were; a
/// `password` key is never added.
///
/// # Errors
///
/// The errors of [`load`] (a malformed file is left as it is), and
/// [`ConfigError::Write`].
pub fn update(
    path: &Path,
    change: impl FnOnce(&mut Map<String, Value>),
) -> Result<(), ConfigError> {
    let mut map = read_map(path)?.unwrap_or_default();
    let had_password = map.contains_key("password");
    change(&mut map);
    if !had_password {
        map.remove("password");
    }
    parse(path, &map)?;
    write_private(path, &map).map_err(|source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn read_map(path: &Path) -> Result<Option<Map<String, Value>>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(Some(Map::new()));
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(ConfigError::Malformed {
            path: path.to_path_buf(),
            reason: "it is not a JSON object".into(),
        }),
        Err(e) => Err(ConfigError::Malformed {
            path: path.to_path_buf(),
            reason: format!("{e}"),
        }),
    }
}

fn parse(path: &Path, map: &Map<String, Value>) -> Result<Config, ConfigError> {
    let get = |key: &'static str, expected: &'static str| Field {
        path,
        map,
        key,
        expected,
    };
    let proxy = match get("proxy", "a URL string").value::<String>()? {
        Some(url) if !url.is_empty() => {
            Some(Proxy::parse(&url).map_err(|reason| ConfigError::BadProxy {
                path: path.to_path_buf(),
                reason,
            })?)
        }
        _ => None,
    };
    // Commander's keys keeper has no use for (nor has Commander for
    // `plugins`; keeper has no sync for `skip_records`): types still checked.
    get("plugins", "a list of plugin names").value::<Vec<String>>()?;
    get("skip_records", "true or false").value::<bool>()?;
    Ok(Config {
        user: get("user", "an e-mail string").value()?,
        password: get("password", "a string").value()?,
        commands: get("commands", "a list of command strings")
            .value()?
            .unwrap_or_default(),
        timedelay: get("timedelay", "a whole number of seconds")
            .value()?
            .unwrap_or(0),
        proxy,
        debug: get("debug", "true or false").value()?.unwrap_or(false),
        batch_mode: get("batch_mode", "true or false").value()?.unwrap_or(false),
        unmask_all: get("unmask_all", "true or false").value()?.unwrap_or(false),
        logout_timer: get("logout_timer", "a whole number of seconds").value()?,
        config_storage: get("config_storage", "a string").value()?,
        device_token: get("device_token", "a string").value()?,
        device_name: get("device_name", "a string").value()?,
        clone_code: get("clone_code", "a string").value()?,
        persistent_login: get("persistent_login", "true or false")
            .value()?
            .unwrap_or(false),
        ip_auto_approve: get("ip_auto_approve", "true or false")
            .value()?
            .unwrap_or(false),
        rotation_min_length: get("rotation_min_length", "a whole number of characters").value()?,
        native_plugins: get("native_plugins", "true or false")
            .value()?
            .unwrap_or(false),
        store: get("store", "a postgres:// URL or a file path").value()?,
    })
}

/// One key of the file, read with a clear error when its type is wrong.
struct Field<'a> {
    path: &'a Path,
    map: &'a Map<String, Value>,
    key: &'static str,
    expected: &'static str,
}

impl Field<'_> {
    fn value<T: DeserializeOwned>(&self) -> Result<Option<T>, ConfigError> {
        match self.map.get(self.key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                serde_json::from_value(v.clone())
                    .map(Some)
                    .map_err(|_| ConfigError::BadValue {
                        path: self.path.to_path_buf(),
                        key: self.key,
                        expected: self.expected,
                    })
            }
        }
    }
}

/// Writes `map` to `path` through a temporary file in the same folder,
/// mode 0600, synced, then renamed over the old file.
fn write_private(path: &Path, map: &Map<String, Value>) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let mut text =
        serde_json::to_string_pretty(&Value::Object(map.clone())).map_err(std::io::Error::other)?;
    text.push('\n');
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .tempfile_in(&dir)?;
    set_private(tmp.path())?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Mode 0600 on Unix (no-op elsewhere).
pub(crate) fn set_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The configuration's password is a secret type from parsing on:
    /// `Debug` never shows it.
    #[test]
    fn the_config_password_is_a_secret_from_parsing_on() {
        use secrecy::ExposeSecret as _;
        let map: Map<String, Value> =
            serde_json::from_str(r#"{"user": "a@b.c", "password": "Hunter2-secret"}"#)
                .expect("json");
        let config = parse(Path::new("config.json"), &map).expect("config");
        assert_eq!(
            config.password.as_ref().map(|p| p.expose_secret()),
            Some("Hunter2-secret")
        );
        assert!(!format!("{config:?}").contains("Hunter2"), "Debug hides it");
    }

    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("config.json");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn known_keys_are_read_and_unknown_ones_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            r#"{"user": "a@b.c", "commands": ["ls", "tree"], "timedelay": 600,
                "proxy": "http://u:p@proxy.example:3128", "debug": true, "server": "keepersecurity.eu",
                "colour": "blue"}"#,
        );
        let loaded = load(&path).expect("load");
        assert_eq!(loaded.config.user.as_deref(), Some("a@b.c"));
        assert_eq!(loaded.config.commands, ["ls", "tree"]);
        assert_eq!(loaded.config.timedelay, 600);
        assert!(loaded.config.debug);
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("\"colour\""));
    }

    #[test]
    fn bad_files_are_clear_errors_and_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (text, needle) in [
            ("{\"user\": ", "not valid"),
            ("[1, 2]", "not a JSON object"),
            (
                "{\"timedelay\": \"ten\"}",
                "\"timedelay\" must be a whole number",
            ),
            ("{\"proxy\": \"ftp://x:1\"}", "proxy"),
        ] {
            let path = write(dir.path(), text);
            let err = load(&path).expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
            let err = update(&path, |m| {
                m.insert("device_name".into(), "x".into());
            })
            .expect_err("no rewrite");
            assert!(err.to_string().contains(needle), "{err}");
            assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
        }
    }

    #[test]
    fn updates_keep_other_keys_add_no_password_and_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), r#"{"user": "a@b.c", "mine": [1]}"#);
        update(&path, |m| {
            m.insert("device_name".into(), "box".into());
            m.insert("password".into(), "never".into());
        })
        .expect("update");
        let map = read_map(&path).expect("read").expect("exists");
        assert_eq!(map["mine"], serde_json::json!([1]));
        assert_eq!(map["device_name"], "box");
        assert!(!map.contains_key("password"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
