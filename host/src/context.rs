//! Where keeper keeps its files and what its configuration says.
//!
//! The data directory is `--data-dir`, else `KEEPER_DATA_DIR`, else
//! `~/.keeper`. The configuration file is `--config`, else
//! `KEEPER_CONFIG_FILE`, else `<data dir>/config.json` (absent is fine).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::cli::GlobalArgs;

/// The configuration file (JSON, Commander-compatible keys).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The vault user (e-mail).
    pub user: Option<String>,
    /// The master password, for unattended use. Prefer `KEEPER_PASSWORD`.
    pub password: Option<String>,
    /// HTTP(S) proxy URL for plugin HTTP requests.
    pub proxy: Option<String>,
    /// The shortest password `rotate` sets (default 12); `--min-length`
    /// overrides it.
    pub rotation_min_length: Option<usize>,
}

/// Resolved locations and configuration for one invocation.
#[derive(Debug, Clone)]
pub struct Context {
    /// The data directory (created on first use).
    pub data_dir: PathBuf,
    /// The configuration file's path, whether or not it exists.
    pub config_path: PathBuf,
    /// The configuration.
    pub config: Config,
}

impl Context {
    /// Resolves the data directory and reads the configuration file.
    ///
    /// # Errors
    ///
    /// Fails when no home directory can be found and none was given, or when
    /// the configuration file exists but is not valid JSON of the right shape.
    pub fn from_args(global: &GlobalArgs) -> anyhow::Result<Self> {
        let data_dir = match &global.data_dir {
            Some(dir) => dir.clone(),
            None => std::env::home_dir()
                .context("cannot find a home directory; pass --data-dir or set KEEPER_DATA_DIR")?
                .join(".keeper"),
        };
        let config_path = global
            .config
            .clone()
            .unwrap_or_else(|| data_dir.join("config.json"));
        let config = read_config(&config_path)?;
        Ok(Self {
            data_dir,
            config_path,
            config,
        })
    }

    /// `<data dir>/plugins`: installed third-party plugins, one folder each.
    pub fn plugin_dir(&self) -> PathBuf {
        self.data_dir.join("plugins")
    }

    /// `<data dir>/cache`: compiled plugin artifacts.
    pub fn cache_dir(&self) -> PathBuf {
        self.data_dir.join("cache")
    }
}

fn read_config(path: &Path) -> anyhow::Result<Config> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("configuration file {} is not valid", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => {
            Err(e).with_context(|| format!("cannot read configuration file {}", path.display()))
        }
    }
}
