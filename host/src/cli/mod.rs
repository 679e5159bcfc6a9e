//! Command-line definitions (clap derive). One file per command group; the
//! work of each command lives in `crate::commands`.

mod plugin;
pub mod rotate;
pub mod vault;

pub use plugin::{PluginCommand, PluginNamespace};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// keeper: an encrypted vault with sandboxed WebAssembly rotation and import plugins.
#[derive(Debug, Parser)]
#[command(name = "keeper", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Data directory (vault, plugins, caches). Default: ~/.keeper.
    #[arg(
        long,
        global = true,
        env = "KEEPER_DATA_DIR",
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (JSON). Default: <data dir>/config.json.
    #[arg(
        long,
        global = true,
        env = "KEEPER_CONFIG_FILE",
        value_name = "FILE",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage plugins: list, info, install, remove, package.
    Plugin(PluginNamespace),
    /// Rotate passwords through rotator plugins (staged, verified, crash-safe).
    #[command(visible_alias = "r")]
    Rotate(rotate::RotateArgs),
    /// Show the rotation audit log.
    AuditLog(rotate::AuditLogArgs),
    /// Vault commands (init, add, get, ls, …), at the top level like Commander's.
    #[command(flatten)]
    Vault(vault::VaultCommand),
}

/// How a listing is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    #[default]
    Table,
    /// JSON for programs.
    Json,
    /// CSV for spreadsheets.
    Csv,
}
