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
    /// (`-h` is --hostname here, as in the Secrets Manager CLI; help is --help.)
    #[command(disable_help_flag = true)]
    Init(ProfileInitArgs),
    /// A profile whose configuration is kept outside keeper.ini (the OS
    /// keyring, an environment variable, a private file, AWS Secrets
    /// Manager) and loaded from there at each use.
    Setup(ProfileSetupArgs),
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
    /// The Keeper region (US, EU, AU, JP, CA, US_GOV), kept in the
    /// profile; keeper's vault is the one `--store` names wherever it is.
    #[arg(
        long,
        short = 'h',
        value_enum,
        ignore_case = true,
        value_name = "REGION"
    )]
    pub hostname: Option<Region>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// `profile init -h`: the Secrets Manager CLI's region codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Region {
    /// United States (the default of Keeper's cloud).
    Us,
    /// Europe.
    Eu,
    /// Australia.
    Au,
    /// Japan.
    Jp,
    /// Canada.
    Ca,
    /// GovCloud.
    UsGov,
}

impl Region {
    /// As keeper.ini keeps it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Us => "US",
            Self::Eu => "EU",
            Self::Au => "AU",
            Self::Jp => "JP",
            Self::Ca => "CA",
            Self::UsGov => "US_GOV",
        }
    }
}

/// `profile setup`.
#[derive(Debug, Args)]
pub struct ProfileSetupArgs {
    /// Where the configuration is kept.
    #[arg(long = "type", value_enum)]
    pub kind: StorageType,
    /// The AWS secret id or keyring entry (default ksm-config), the
    /// environment variable (default KSM_CONFIG), or the file (required).
    #[arg(long)]
    pub secret: Option<String>,
    /// aws: whose credentials (absent: the EC2 instance role).
    #[arg(long, value_enum)]
    pub credentials: Option<AwsCredentials>,
    /// aws, --credentials profile: the AWS CLI profile (default "default").
    #[arg(long, value_name = "NAME")]
    pub credentials_profile: Option<String>,
    /// aws, --credentials keys: the access key id (kept in keeper.ini).
    #[arg(long, value_name = "ID")]
    pub aws_access_key_id: Option<String>,
    /// aws, --credentials keys: the secret access key (kept in keeper.ini,
    /// mode 0600); when omitted, AWS_SECRET_ACCESS_KEY, else a hidden
    /// prompt or standard input (so it stays off the command line).
    #[arg(long, value_name = "KEY", value_parser = super::secret)]
    pub aws_secret_access_key: Option<SecretString>,
    /// aws: the region (else AWS_REGION, the AWS profile's, the instance's).
    #[arg(long)]
    pub region: Option<String>,
    /// aws: when the given credentials fail, try the default AWS credentials.
    #[arg(long)]
    pub fallback: bool,
    /// Save the profile to this file.
    #[arg(long, value_name = "FILE")]
    pub ini_file: Option<PathBuf>,
    /// The profile's name.
    #[arg(long, short = 'p', default_value = "default")]
    pub profile_name: String,
}

/// `profile setup --type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageType {
    /// The OS keyring.
    Keyring,
    /// An environment variable.
    Env,
    /// A file only its owner can read.
    File,
    /// AWS Secrets Manager.
    Aws,
}

/// `profile setup --credentials`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AwsCredentials {
    /// A profile of the AWS CLI's files.
    Profile,
    /// An access key given here.
    Keys,
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
