//! `keeper plugin ...`: list, inspect, install, package and remove plugins,
//! and start a new one.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

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
    /// Install a third-party plugin from a directory holding plugin.toml and
    /// plugin.wasm (or, with --native, plugin.toml and a shared library).
    Install {
        /// Directory with plugin.toml and plugin.wasm (or the path of plugin.toml).
        path: PathBuf,
        /// Grant the capabilities the manifest requests without asking.
        #[arg(long)]
        grant: bool,
        /// Replace an installed plugin of the same name.
        #[arg(long)]
        force: bool,
        /// Install a native plugin: a shared library that runs UNSANDBOXED,
        /// with keeper's rights (needs "native_plugins": true in config.json
        /// and --i-understand-unsandboxed).
        #[arg(long)]
        native: bool,
        /// With --native: accept that the library runs outside the sandbox.
        #[arg(long, requires = "native")]
        i_understand_unsandboxed: bool,
    },
    /// Remove an installed plugin (built-in plugins cannot be removed).
    #[command(alias = "rm")]
    Remove {
        /// Plugin name.
        name: String,
    },
    /// For plugin authors: write a new plugin project (plugin contract 1.1)
    /// that builds with `cargo build --target wasm32-wasip2 --release`.
    New {
        /// The plugin's name ([a-z0-9-]): what records put in `cmdr:plugin`
        /// or `import --format` takes.
        name: String,
        /// What it is.
        #[arg(long, value_enum, default_value_t)]
        kind: NewKind,
        /// The folder to create (default: ./NAME); it must not have files.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Take keeper-plugin-sdk from this folder (keeper's `plugin-sdk/`)
        /// instead of crates.io.
        #[arg(long, value_name = "DIR")]
        sdk_path: Option<PathBuf>,
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

/// The kind of plugin `plugin new` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum NewKind {
    /// Changes a password on a target system.
    #[default]
    Rotator,
    /// Turns another tool's export into records.
    Importer,
}
