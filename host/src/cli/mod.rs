//! Command-line definitions (clap derive). One file per command group; the
//! work of each command lives in `crate::commands`.

pub mod membership;
mod plugin;
pub mod rotate;
pub mod vault;

pub use plugin::{PluginCommand, PluginNamespace};

use std::ffi::OsString;
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

/// Commander's two-letter options, which clap cannot declare as short
/// options, their long forms, and the command they belong to (`-sf` means
/// "shared folder" to Commander's `mkdir`, so it is only rewritten for
/// `download-membership`).
const TWO_LETTER: &[(&str, &str, Option<&str>)] = &[
    ("-od", "--old-domain", None),
    ("-nd", "--new-domain", None),
    ("-sf", "--sub-folder", Some("download-membership")),
];

/// Rewrites Commander's two-letter options (`-od x`, `-nd=y`, `-sf
/// flatten`) into their long forms; arguments after `--` are left alone.
pub fn commander_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut rest = false;
    let mut seen: Vec<String> = Vec::new();
    args.into_iter()
        .map(|arg| {
            if let Some(text) = arg.to_str() {
                seen.push(text.to_string());
            }
            if rest {
                return arg;
            }
            let Some(text) = arg.to_str() else {
                return arg;
            };
            if text == "--" {
                rest = true;
                return arg;
            }
            for (short, long, command) in TWO_LETTER {
                if command.is_some_and(|c| !seen.iter().any(|a| a == c)) {
                    continue;
                }
                if text == *short {
                    return OsString::from(*long);
                }
                if let Some(value) = text.strip_prefix(short).and_then(|t| t.strip_prefix('=')) {
                    return OsString::from(format!("{long}={value}"));
                }
            }
            arg
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_letter_options_become_long_ones() {
        let args = [
            "keeper",
            "import",
            "-od",
            "a.com",
            "-nd=b.com",
            "-sf",
            "--",
            "-od",
        ]
        .map(OsString::from);
        assert_eq!(
            commander_args(args),
            [
                "keeper",
                "import",
                "--old-domain",
                "a.com",
                "--new-domain=b.com",
                "-sf",
                "--",
                "-od"
            ]
            .map(OsString::from)
        );
        let args = ["keeper", "download-membership", "-sf", "flatten"].map(OsString::from);
        assert_eq!(
            commander_args(args),
            ["keeper", "download-membership", "--sub-folder", "flatten"].map(OsString::from)
        );
    }
}
