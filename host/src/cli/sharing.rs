//! `share-record` and `record-permission`, with Commander's flags.

use clap::{Args, ValueEnum};

/// `keeper share-record`.
#[derive(Debug, Args)]
pub struct ShareRecordArgs {
    /// Record (uid, title or path) or folder (uid or path: the records in
    /// it; with -R, in it and below). Not used with `-a cancel`.
    pub record: Option<String>,
    /// User e-mail (repeatable).
    #[arg(short, long = "email", required = true)]
    pub email: Vec<String>,
    /// grant, revoke, owner (transfer ownership) or cancel (every share
    /// of your records with the users).
    #[arg(short, long, value_enum, default_value_t)]
    pub action: RecordShareAction,
    /// The user may edit the record (with revoke: remove only this right).
    #[arg(short, long)]
    pub write: bool,
    /// The user may share the record further (with revoke: remove only this right).
    #[arg(short, long)]
    pub share: bool,
    /// With a folder: every record in it and in the folders below.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Show the changes without making them.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before `-a cancel`.
    #[arg(short, long)]
    pub force: bool,
    /// The share ends at this time (UTC unless an offset is given:
    /// `2030-01-31`, `2030-01-31 18:00`, `2030-01-31T18:00:00+02:00`), or
    /// `never`.
    #[arg(long, value_name = "TIME", conflicts_with = "expire_in")]
    pub expire_at: Option<String>,
    /// The share ends after this period (`30d`, `12h`, `90mi`, `6mo`,
    /// `1y`), or `never`.
    #[arg(long, value_name = "PERIOD")]
    pub expire_in: Option<String>,
}

/// `share-record` actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum RecordShareAction {
    /// Share (or add permissions).
    #[default]
    Grant,
    /// Stop sharing (or remove the permissions given with -w / -s).
    Revoke,
    /// Transfer ownership to the (one) user.
    Owner,
    /// Stop every direct share of your records with the users.
    Cancel,
}

/// `grant` / `revoke`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PermissionAction {
    /// Give the permissions.
    Grant,
    /// Take them away.
    Revoke,
}

/// `keeper record-permission`.
#[derive(Debug, Args)]
pub struct RecordPermissionArgs {
    /// Folder (name, path or uid); the root when omitted.
    pub folder: Option<String>,
    /// grant or revoke.
    #[arg(short, long, value_enum)]
    pub action: PermissionAction,
    /// The can-edit permission.
    #[arg(short = 'd', long)]
    pub can_edit: bool,
    /// The can-share permission.
    #[arg(short = 's', long)]
    pub can_share: bool,
    /// The folders below too.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Show the changes without making them.
    #[arg(long)]
    pub dry_run: bool,
    /// Accepted for Commander's scripts: keeper does not ask.
    #[arg(long)]
    pub force: bool,
    /// Only the permissions of records shared with users directly.
    #[arg(long)]
    pub share_record: bool,
    /// Only the permissions of records in shared folders.
    #[arg(long)]
    pub share_folder: bool,
}
