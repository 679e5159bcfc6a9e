//! `keeper plugin ...`: list, inspect, install, package and remove plugins.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Format;

/// `keeper plugin`.
#[derive(Debug, Args)]
pub struct PluginNamespace {
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// Plugin subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List built-in and installed plugins.
    #[command(alias = "ls")]
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show one plugin: manifest, capabilities, grant, limits.
    Info {
        /// Plugin name.
        name: String,
        /// Output format (table or json).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Install a third-party plugin from a directory holding plugin.toml and plugin.wasm.
    Install {
        /// Directory with plugin.toml and plugin.wasm (or the path of plugin.toml).
        path: PathBuf,
        /// Grant the capabilities the manifest requests without asking.
        #[arg(long)]
        grant: bool,
        /// Replace an installed plugin of the same name.
        #[arg(long)]
        force: bool,
    },
    /// Remove an installed plugin (built-in plugins cannot be removed).
    #[command(alias = "rm")]
    Remove {
        /// Plugin name.
        name: String,
    },
    /// For plugin authors: copy a built component and its manifest into a
    /// directory ready for `plugin install`, stamping the component's sha256.
    Package {
        /// The built component (target/wasm32-wasip2/release/<crate>.wasm).
        #[arg(long)]
        wasm: PathBuf,
        /// The plugin's manifest (plugin.toml); its sha256 line is (re)written.
        #[arg(long)]
        manifest: PathBuf,
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
    },
}
