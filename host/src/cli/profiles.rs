//! `profile …`, `secret …` and `exec`: client-device profiles in
//! `keeper.ini` and reading as a device (no master password).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use secrecy::SecretString;

use super::Format;

/// `keeper profile`.
#[derive(Debug, Args)]
pub struct ProfileNamespace {
    #[command(subcommand)]
    pub command: ProfileCommand,
}

/// Profile subcommands (the Secrets Manager CLI's).
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Initialise a client-device profile from a one-time token.
    Init(ProfileInitArgs),
    /// List the profiles, the active one marked.
    #[command(alias = "ls")]
    List {
        /// The keeper.ini to use.
        #[arg(long, value_name = "FILE")]
        ini_file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Print a profile's configuration (base64 unless --plain).
    Export {
        /// The profile (default: the active one).
        name: Option<String>,
        /// Without base64.
        #[arg(long)]
        plain: bool,
        /// Configuration format.
        #[arg(long, value_enum, default_value_t)]
        file_format: FileFormat,
        /// The keeper.ini to use.
        #[arg(long, value_name = "FILE")]
        ini_file: Option<PathBuf>,
    },
    /// Create a profile from an exported configuration (base64, JSON or INI).
    Import {
        /// The configuration (`profile export`'s or `client add
        /// --config-init`'s output).
        /// A secret (it holds the device's keys) from parsing on.
        #[arg(value_name = "CONFIG", value_parser = super::secret)]
        configuration: SecretString,
        /// The keeper.ini to write (default: the one found, else ./keeper.ini).
        #[arg(long, value_name = "FILE")]
        output_file: Option<PathBuf>,
        /// Name of the new profile (default: the exported one's, else "default").
        #[arg(long, short = 'p')]
        profile_name: Option<String>,
    },
    /// Make a profile the active one.
    Active {
        /// The profile.
        name: String,
        /// The keeper.ini to use.
        #[arg(long, value_name = "FILE")]
        ini_file: Option<PathBuf>,
    },
}

/// `profile init`.
#[derive(Debug, Args)]
pub struct ProfileInitArgs {
    /// The one-time token (else KEEPER_CLI_TOKEN). The vault is `--store`'s.
    /// URL-safe base64 may begin with `-`: taken as the value, not a flag.
    #[arg(long, short = 't', value_parser = super::secret, allow_hyphen_values = true)]
    pub token: Option<SecretString>,
    /// Save the profile to this file.
    #[arg(long, value_name = "FILE")]
    pub ini_file: Option<PathBuf>,
    /// The profile's name.
    #[arg(long, short = 'p', default_value = "default")]
    pub profile_name: String,
}

/// `profile export --file-format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// JSON (for `profile import` and programs).
    #[default]
    Json,
    /// An INI section (for another keeper.ini).
    Ini,
}

/// Options of every command that reads as a device.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// The profile (default: the active one).
    #[arg(long)]
    pub profile: Option<String>,
    /// The keeper.ini to use.
    #[arg(long, value_name = "FILE")]
    pub ini_file: Option<PathBuf>,
}

/// `keeper secret`.
#[derive(Debug, Args)]
pub struct SecretNamespace {
    #[command(subcommand)]
    pub command: SecretCommand,
}

/// Reading as a client device.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// The records shared with this device's application.
    #[command(alias = "ls")]
    List {
        #[command(flatten)]
        device: DeviceArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// One record (uid or title), or one of its fields.
    Get {
        /// Record uid or title.
        record: String,
        /// Print only this field's value (type or label, e.g. password, login).
        #[arg(long, short = 'f')]
        field: Option<String>,
        /// As JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// The value a keeper:// notation names (keeper://UID/field/password).
    Notation {
        /// The notation.
        notation: String,
        #[command(flatten)]
        device: DeviceArgs,
    },
}

/// `keeper exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// The command and its arguments, after `--`. Environment variables
    /// whose values are keeper:// notations are replaced by what they name.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<OsString>,
}
