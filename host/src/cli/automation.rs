//! Automation and login commands: shell, run-batch, sleep, set, login,
//! logout, whoami, this-device, change-master-password.

use clap::{Args, Subcommand, ValueEnum};

use super::Format;

/// The automation and login commands (flattened into the top-level list).
#[derive(Debug, Subcommand)]
pub enum AutomationCommand {
    /// Interactive shell: history, completion of commands, flags, record
    /// titles and folder paths; `help CMD`; `\` continues a line.
    Shell,
    /// Run the commands in batch files (globs allowed); `#` lines are
    /// comments, `sleep N` pauses, a failure does not stop the rest.
    #[command(visible_alias = "run")]
    RunBatch(RunBatchArgs),
    /// Pause for some seconds (in batches).
    Sleep {
        /// Seconds (fractions allowed).
        seconds: f64,
    },
    /// Set a variable for `${NAME}` in later command lines; with no
    /// arguments, list them; with no value, remove it.
    Set {
        /// Variable name (letters, digits, _).
        name: Option<String>,
        /// Its value.
        value: Option<String>,
    },
    /// Log in with the master password (ignoring a persistent session); with
    /// persistent login on, start a new session.
    Login {
        /// The user's e-mail (else KEEPER_USER or the config's "user").
        email: Option<String>,
    },
    /// End this device's persistent login session (and the shell's login).
    Logout,
    /// Who is logged in, where the vault and configuration are, and the
    /// persistent login session.
    Whoami {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// This device's settings: persistent login, its timeout, its name.
    ThisDevice(ThisDeviceArgs),
    /// Change the master password (every persistent session ends).
    ChangeMasterPassword,
}

/// `keeper run-batch`.
#[derive(Debug, Args)]
pub struct RunBatchArgs {
    /// Seconds to wait between commands.
    #[arg(short, long, value_name = "SECONDS", default_value_t = 0.0)]
    pub delay: f64,
    /// Do not print the commands as they run.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the commands; run nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Batch files (glob patterns).
    #[arg(required = true, value_name = "PATTERN")]
    pub patterns: Vec<String>,
}

/// How `this-device` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum DeviceFormat {
    /// Aligned lines for people.
    #[default]
    Text,
    /// JSON with Commander's keys.
    Json,
}

/// `keeper this-device`.
#[derive(Debug, Args)]
pub struct ThisDeviceArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DeviceFormat,
    /// A setting to change; without one, the settings are printed.
    #[command(subcommand)]
    pub verb: Option<DeviceVerb>,
}

/// on / off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

/// `this-device` verbs, with Commander's spellings.
#[derive(Debug, Subcommand)]
pub enum DeviceVerb {
    /// Register this device (an id and a name in config.json).
    Register,
    /// Rename this device.
    #[command(alias = "ren")]
    Rename {
        /// The new name.
        name: Vec<String>,
    },
    /// Persistent login: commands run without the master password until
    /// the timeout passes unused, `logout`, or a master-password change.
    #[command(alias = "persistent_login", alias = "pl")]
    PersistentLogin {
        /// on or off.
        #[arg(value_enum)]
        switch: Switch,
    },
    /// Commander's IP auto-approval (recorded; keeper has no server to act on it).
    #[command(alias = "ip_auto_approve", alias = "iaa")]
    IpAutoApprove {
        /// on or off.
        #[arg(value_enum)]
        switch: Switch,
    },
    /// How long a persistent session lasts unused: seconds, or 10m, 1h, 7d,
    /// 30d (at most 30 days).
    #[command(alias = "to")]
    Timeout {
        /// The timeout.
        value: String,
    },
}
