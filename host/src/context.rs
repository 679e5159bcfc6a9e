//! Where keeper keeps its files, what its configuration says, and the
//! process's login.
//!
//! The data directory is `--data-dir`, else `KEEPER_DATA_DIR`, else
//! `~/.keeper`. The configuration file is found by [`crate::config::locate`].

use std::path::PathBuf;

use anyhow::Context as _;

use crate::automation::Session;
use crate::cli::GlobalArgs;
pub use crate::config::Config;
use crate::config::{self, Proxy};
use crate::login::Device;
use crate::vault::Location;

/// Environment variable naming the vault's store (as `--store`).
pub const STORE_ENV: &str = "KEEPER_STORE";

/// How this invocation runs, from the command line and the configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Never prompt; warnings only (`--batch-mode`, `batch_mode`).
    pub batch_mode: bool,
    /// Ignore the persistent login session (`--new-login`).
    pub new_login: bool,
    /// Show secrets without `--unmask` (`--unmask-all`, `unmask_all`).
    pub unmask_all: bool,
    /// Detailed logging (`--debug`, `debug`).
    pub debug: bool,
    /// The commands come from stdin, so passwords must not be read there.
    pub stdin_is_commands: bool,
}

/// Resolved locations, configuration and login for one invocation.
#[derive(Debug)]
pub struct Context {
    /// The data directory (created on first use).
    pub data_dir: PathBuf,
    /// The configuration file's path, whether or not it exists.
    pub config_path: PathBuf,
    /// The configuration as it was read at start-up.
    pub config: Config,
    /// Warnings about the configuration (unknown keys), to print once.
    pub config_warnings: Vec<String>,
    /// Options from the command line and the configuration.
    pub options: Options,
    /// Where the vault is, as given: `--store`, else `KEEPER_STORE`, else
    /// the config's `store`; `None`: `<data dir>/vault.db`.
    pub store: Option<String>,
    /// Whether `store` came from the command line (`init` then saves it).
    pub store_from_args: bool,
    /// The unlocked vault and the variables, shared by every command of
    /// this process.
    pub(crate) session: Session,
}

impl Context {
    /// Resolves the data directory and reads the configuration file.
    ///
    /// # Errors
    ///
    /// Fails when no home directory can be found and none was given, or when
    /// the configuration file exists but cannot be read or is not valid
    /// (it is then left untouched).
    pub fn from_args(global: &GlobalArgs) -> anyhow::Result<Self> {
        let data_dir = match &global.data_dir {
            Some(dir) => dir.clone(),
            None => std::env::home_dir()
                .context("cannot find a home directory; pass --data-dir or set KEEPER_DATA_DIR")?
                .join(".keeper"),
        };
        let config_path = config::locate(global.config.as_deref(), &data_dir);
        let loaded = config::load(&config_path)?;
        let proxy = match &global.proxy {
            Some(url) => Some(Proxy::parse(url).map_err(|why| anyhow::anyhow!("--proxy {why}"))?),
            None => loaded.config.proxy.clone(),
        };
        // The process's plugin HTTP client sends through it.
        crate::runtime::HttpClient::configure(proxy);
        let options = Options {
            batch_mode: global.batch_mode || loaded.config.batch_mode,
            new_login: global.new_login,
            unmask_all: global.unmask_all || loaded.config.unmask_all,
            debug: global.debug || loaded.config.debug,
            stdin_is_commands: false,
        };
        let store = global
            .store
            .clone()
            .or_else(|| std::env::var(STORE_ENV).ok())
            .or_else(|| loaded.config.store.clone())
            .filter(|s| !s.trim().is_empty());
        Ok(Self {
            store_from_args: global.store.is_some(),
            store,
            data_dir,
            config_path,
            config: loaded.config,
            config_warnings: loaded.warnings,
            options,
            session: Session::default(),
        })
    }

    /// Where the vault is: the store given (`--store`, `KEEPER_STORE`, the
    /// config's `store`), else `<data dir>/vault.db`.
    ///
    /// # Errors
    ///
    /// A malformed store URL (the message never shows its password).
    pub fn vault_location(&self) -> anyhow::Result<Location> {
        match &self.store {
            Some(s) => Ok(Location::parse(s)?),
            None => Ok(Location::File(crate::vault::default_path(&self.data_dir))),
        }
    }

    /// `<data dir>/plugins`: installed third-party plugins, one folder each.
    pub fn plugin_dir(&self) -> PathBuf {
        self.data_dir.join("plugins")
    }

    /// `<data dir>/cache`: compiled plugin artifacts.
    pub fn cache_dir(&self) -> PathBuf {
        self.data_dir.join("cache")
    }

    /// This device's persistent-login settings and session.
    pub fn device(&self) -> Device {
        Device::new(&self.data_dir, &self.config_path)
    }

    /// The variables for `${name}` (`set`, `last_record_uid`, …).
    pub fn variables(&self) -> &crate::automation::Variables {
        self.session.variables()
    }
}
