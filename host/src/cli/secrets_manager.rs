//! `secrets-manager app …` and `secrets-manager client …`: applications
//! and their client devices (Commander's names and flags), administered
//! from an unlocked vault.

use clap::{Args, Subcommand, ValueEnum};

use super::Format;

/// `keeper secrets-manager`.
#[derive(Debug, Args)]
pub struct SecretsManagerNamespace {
    #[command(subcommand)]
    pub command: SecretsManagerCommand,
}

/// Secrets Manager subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretsManagerCommand {
    /// Applications: create, list, share, unshare.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Client devices of an application: add (one-time tokens), list, remove.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
}

/// `secrets-manager app` subcommands.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an application (you own it and hold its key).
    Create {
        /// Its name (unique in the vault).
        name: String,
    },
    /// List your applications.
    #[command(alias = "ls")]
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Share records with an application: a record (uid, title or path),
    /// or every record in a folder and below it, as they are now.
    Share(AppShareArgs),
    /// Stop sharing records (or a folder's records) with an application.
    Unshare(AppShareArgs),
    /// Remove an application with its client devices and shares: its
    /// devices are refused from then on.
    #[command(alias = "rm")]
    Remove {
        /// The application (name or uid).
        app: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'f')]
        force: bool,
    },
}

/// `app share` / `app unshare`.
#[derive(Debug, Args)]
pub struct AppShareArgs {
    /// The application (name or uid).
    #[arg(long, short = 'a')]
    pub app: String,
    /// A record (uid, title or path) or a folder (uid or path); repeatable.
    #[arg(long, short = 's', required = true, value_name = "FOLDER|RECORD")]
    pub secret: Vec<String>,
    /// The application's devices may edit the records (share only).
    #[arg(long, short = 'e')]
    pub editable: bool,
}

/// `secrets-manager client` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Issue client devices: prints one one-time token each.
    Add(ClientAddArgs),
    /// List the client devices of your applications.
    #[command(alias = "ls")]
    List {
        /// Only this application's (name or uid).
        #[arg(long, short = 'a')]
        app: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove client devices: they can no longer read anything (the
    /// application gets a new key, wrapped anew for what remains).
    #[command(alias = "rm")]
    Remove {
        /// The application (name or uid).
        #[arg(long, short = 'a')]
        app: String,
        /// Client id (or a unique prefix of at least 8 characters); repeatable.
        /// URL-safe base64 may begin with `-`: taken as the value, not a flag.
        #[arg(long, short = 'c', required = true, allow_hyphen_values = true)]
        client: Vec<String>,
    },
}

/// `client add`.
#[derive(Debug, Args)]
pub struct ClientAddArgs {
    /// The application (name or uid).
    #[arg(long, short = 'a')]
    pub app: String,
    /// Minutes the token waits for its first use (default 60).
    #[arg(long, short = 'x', value_name = "MIN", default_value_t = 60)]
    pub first_access_expires_in_min: i64,
    /// Minutes the device may read, counted from its first access (default:
    /// no end).
    #[arg(long, short = 'p', value_name = "MIN")]
    pub access_expire_in_min: Option<i64>,
    /// How many clients (tokens) to issue.
    #[arg(long, short = 'c', default_value_t = 1)]
    pub count: u32,
    /// Do not lock the device to its first IP address (recorded; keeper has
    /// no server that sees addresses).
    #[arg(long, short = 'l')]
    pub unlock_ip: bool,
    /// Bind a device key pair now and print its whole configuration instead
    /// of a token (for `profile import`, or a Kubernetes secret).
    #[arg(long, short = 'i', value_enum, value_name = "FORMAT")]
    pub config_init: Option<ConfigInit>,
}

/// `--config-init` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigInit {
    /// The configuration as JSON.
    Json,
    /// The configuration as base64 of its JSON (what `profile import` reads).
    B64,
    /// A Kubernetes Secret manifest holding it.
    K8s,
}
