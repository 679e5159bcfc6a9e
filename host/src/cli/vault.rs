//! Vault commands, with Commander's names and aliases: init, add, get, ls,
//! tree, mkdir, mv, ln, rm, rmdir, edit, search, history, find-duplicate,
//! share-folder, export, import, attachments, users and teams
//! (`share-record` and `record-permission` are in [`super::sharing`]).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use secrecy::SecretString;

use super::{Format, secret};

/// The vault commands (flattened into the top-level command list).
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Create a new vault in the data directory.
    Init(InitArgs),
    /// Add a record: `add -t TITLE [-rt TYPE] login=me password=$GEN c.text.label=value`.
    #[command(visible_alias = "record-add")]
    Add(AddArgs),
    /// Show a record by uid, title or path (secrets masked unless --unmask).
    Get(GetArgs),
    /// List folders and records in a folder.
    Ls(LsArgs),
    /// Show the folder tree.
    Tree(TreeArgs),
    /// Create a folder (parents are created as needed).
    Mkdir(MkdirArgs),
    /// Move a record or folder into a folder.
    Mv(MvArgs),
    /// Link a record into another folder too (a record may be in several folders).
    Ln(LnArgs),
    /// Delete records.
    Rm(RmArgs),
    /// Remove folders and what only they contain.
    Rmdir(RmdirArgs),
    /// Change a record: title, type, notes, set or remove fields.
    #[command(visible_alias = "record-update")]
    Edit(EditArgs),
    /// Search records with a regular expression (case-insensitive).
    Search(SearchArgs),
    /// A record's revisions or password history.
    History(HistoryArgs),
    /// Find duplicate records (and merge them).
    FindDuplicate(FindDuplicateArgs),
    /// Grant or remove access to a shared folder; set record permissions in it.
    ShareFolder(ShareFolderArgs),
    /// Share records with users directly: grant, revoke, transfer ownership, cancel.
    #[command(visible_alias = "sr")]
    ShareRecord(super::sharing::ShareRecordArgs),
    /// Grant or revoke can-edit / can-share on the records in a folder (and below).
    RecordPermission(super::sharing::RecordPermissionArgs),
    /// Export the vault (Keeper JSON or CSV).
    Export(ExportArgs),
    /// Import records (Keeper JSON, csv, lastpass or an importer plugin).
    Import(ImportArgs),
    /// Attach a file to a record (encrypted, up to 100 MiB).
    UploadAttachment(UploadArgs),
    /// Save a record's attachment to a file.
    DownloadAttachment(DownloadArgs),
    /// Users of this vault: list, add.
    User(UserNamespace),
    /// Teams: list, add, add-member.
    Team(TeamNamespace),
    /// The vault's storage: `store migrate --to URL` copies it (file ↔ PostgreSQL).
    Store(StoreNamespace),
    /// Write shared-folder memberships to a file (shared_folder_membership.json).
    DownloadMembership(super::membership::DownloadMembershipArgs),
    /// Grant the memberships a file lists to users and teams that exist.
    ApplyMembership(super::membership::ApplyMembershipArgs),
}

/// `keeper init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The first user's e-mail.
    #[arg(long, short = 'u')]
    pub user: String,
}

/// `keeper add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Record title (or give it as the one argument without `=`).
    #[arg(short, long)]
    pub title: Option<String>,
    /// Record type (login, serverCredentials, databaseCredentials, sshKeys, bankCard…).
    #[arg(long = "record-type", visible_alias = "rt", default_value = "login")]
    pub record_type: String,
    /// Notes.
    #[arg(short, long)]
    pub notes: Option<String>,
    /// Folder (uid or path) to add the record to.
    #[arg(long)]
    pub folder: Option<String>,
    /// Add even when a record with this title exists in the folder.
    #[arg(short, long)]
    pub force: bool,
    /// Login (Commander's `--login`; same as `login=...`).
    #[arg(long, value_name = "LOGIN")]
    pub login: Option<String>,
    /// Password (Commander's `--pass`; prefer `-g`: a command line is
    /// visible to other local users).
    #[arg(long = "pass", value_name = "PASSWORD", value_parser = secret)]
    pub password: Option<SecretString>,
    /// URL (Commander's `--url`).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Generate the password (same as `password=$GEN`).
    #[arg(short, long)]
    pub generate: bool,
    /// Fields: `type[.label]=value`, custom `c.type.label=value` or
    /// `c.label=value`; `password=$GEN[:rand,LEN]`; `$JSON:{...}` for
    /// structured values; `file=@PATH` attaches a file. One argument
    /// without `=` is the title (Commander's `add ... "Title"`).
    pub fields: Vec<String>,
}

/// `keeper get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Record uid, title or path (`Folder\Title`).
    pub record: String,
    /// Show passwords and other secrets.
    #[arg(long)]
    pub unmask: bool,
    /// Output format (table or json).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `keeper ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Folder (uid or path); default the root.
    pub folder: Option<String>,
    /// Long listing: uid, type, title, login, URL.
    #[arg(short, long)]
    pub long: bool,
    /// Folders only.
    #[arg(short = 'f', long = "folders")]
    pub folders_only: bool,
    /// Records only.
    #[arg(short = 'r', long = "records")]
    pub records_only: bool,
    /// Include sub-folders' contents.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `keeper tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// Start folder (uid or path); default the root.
    pub folder: Option<String>,
    /// Show records too.
    #[arg(short, long)]
    pub records: bool,
    /// Output format (table draws the tree; json/csv list path rows).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `keeper mkdir`.
#[derive(Debug, Args)]
pub struct MkdirArgs {
    /// Folder path (`A\B\New`); `\\` is a literal backslash.
    pub folder: String,
    /// Create a shared folder.
    #[arg(long = "shared-folder", visible_alias = "sf")]
    pub shared_folder: bool,
    /// Create a personal folder (the default).
    #[arg(
        long = "user-folder",
        visible_alias = "uf",
        conflicts_with = "shared_folder"
    )]
    pub user_folder: bool,
    /// Shared folder default: members may manage users.
    #[arg(short = 'u', long)]
    pub manage_users: bool,
    /// Shared folder default: members may manage records.
    #[arg(short = 'r', long)]
    pub manage_records: bool,
    /// Shared folder default: records may be edited.
    #[arg(short = 'e', long)]
    pub can_edit: bool,
    /// Shared folder default: records may be re-shared.
    #[arg(short = 's', long)]
    pub can_share: bool,
    /// All four shared-folder defaults on.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Print the new folder's uid only.
    #[arg(long)]
    pub quiet: bool,
}

/// `keeper mv`.
#[derive(Debug, Args)]
pub struct MvArgs {
    /// Record (uid, title, path) or folder (uid, path) to move.
    pub src: String,
    /// Destination folder (uid or path; `\` for the root).
    pub dst: String,
}

/// `keeper ln`.
#[derive(Debug, Args)]
pub struct LnArgs {
    /// Record (uid, title or path).
    pub src: String,
    /// Folder to link it into.
    pub dst: String,
}

/// `keeper rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Records (uid, title or path).
    #[arg(required = true)]
    pub records: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// `keeper rmdir`.
#[derive(Debug, Args)]
pub struct RmdirArgs {
    /// Folders (uid or path).
    #[arg(required = true)]
    pub folders: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// `keeper edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Record uid, title or path.
    #[arg(short, long)]
    pub record: String,
    /// New title.
    #[arg(short, long)]
    pub title: Option<String>,
    /// New record type (fields are kept).
    #[arg(long = "record-type", visible_alias = "rt")]
    pub record_type: Option<String>,
    /// New notes; `+text` appends a line.
    #[arg(short, long)]
    pub notes: Option<String>,
    /// Fields as for `add`; an empty value (`url=`) removes the field.
    pub fields: Vec<String>,
}

/// `keeper search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Regular expression (case-insensitive); matches titles, notes, logins,
    /// URLs, labels and every non-secret field.
    pub pattern: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// What `history` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum HistoryAction {
    /// One row per revision.
    #[default]
    List,
    /// One revision in full (`-r N`).
    View,
    /// Every previous password with when it was replaced.
    Password,
}

/// `keeper history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Record uid, title or path.
    pub record: String,
    /// list, view or password.
    #[arg(short, long, value_enum, default_value_t)]
    pub action: HistoryAction,
    /// Revision for `view`.
    #[arg(short, long)]
    pub revision: Option<i64>,
    /// Show secrets.
    #[arg(long)]
    pub unmask: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `keeper find-duplicate`.
#[derive(Debug, Args)]
pub struct FindDuplicateArgs {
    /// Match on title.
    #[arg(long)]
    pub title: bool,
    /// Match on login.
    #[arg(long)]
    pub login: bool,
    /// Match on password.
    #[arg(long)]
    pub password: bool,
    /// Match on URL.
    #[arg(long)]
    pub url: bool,
    /// Match on every field, custom field, notes and type.
    #[arg(long)]
    pub full: bool,
    /// Delete all but the oldest record of each group (implies --full).
    #[arg(short, long)]
    pub merge: bool,
    /// With --merge: do not ask.
    #[arg(short, long)]
    pub force: bool,
    /// With --merge: show what would be deleted, delete nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// grant or remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ShareAction {
    /// Add or update members.
    #[default]
    Grant,
    /// Remove members.
    Remove,
}

/// on / off switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

impl OnOff {
    /// As a bool.
    pub fn on(self) -> bool {
        self == Self::On
    }
}

/// `keeper share-folder`.
#[derive(Debug, Args)]
pub struct ShareFolderArgs {
    /// Shared folder (uid or path).
    pub folder: String,
    /// grant or remove.
    #[arg(short, long, value_enum, default_value_t)]
    pub action: ShareAction,
    /// User e-mail or team name (repeatable).
    #[arg(short, long = "email")]
    pub email: Vec<String>,
    /// Record (uid, title or path) or `*` for record permissions.
    #[arg(short, long = "record")]
    pub record: Vec<String>,
    /// Member may manage records.
    #[arg(short = 'p', long, value_enum)]
    pub manage_records: Option<OnOff>,
    /// Member may manage users.
    #[arg(short = 'o', long, value_enum)]
    pub manage_users: Option<OnOff>,
    /// Record may be edited.
    #[arg(short = 'd', long, value_enum)]
    pub can_edit: Option<OnOff>,
    /// Record may be re-shared.
    #[arg(short = 's', long, value_enum)]
    pub can_share: Option<OnOff>,
    /// Output format of the member listing (no -e/-r given).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Keeper JSON.
    Json,
    /// Keeper CSV.
    Csv,
}

/// `keeper export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// json or csv.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Output file (mode 0600); stdout when omitted.
    pub name: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `keeper import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Source format: json (Keeper JSON, built in), csv, lastpass, or any
    /// installed importer plugin.
    #[arg(long)]
    pub format: String,
    /// File to import (`-` for stdin), or the account for online importers
    /// (`import --format lastpass user@example.com`).
    pub name: PathBuf,
    /// Put the imported records under this folder.
    #[arg(long)]
    pub folder: Option<String>,
    /// Show what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Record type for records the source does not type.
    #[arg(short = 'l', long)]
    pub record_type: Option<String>,
    /// List the parts of the source that were skipped, with reasons.
    #[arg(long)]
    pub show_skipped: bool,
    /// LastPass server (the EU region, or a test server); the only origin
    /// the lastpass plugin may reach.
    #[arg(long, value_name = "URL")]
    pub lastpass_server: Option<String>,
    /// One-time code for LastPass multi-factor login.
    #[arg(long)]
    pub otp: Option<String>,
    /// Keep downloaded LastPass attachments (as LastPass serves them,
    /// encrypted) in this directory and reuse them on the next run; never
    /// deleted.
    #[arg(long, value_name = "DIR")]
    pub file_cache: Option<PathBuf>,
    /// Import only records in this source folder (or below it).
    #[arg(long, value_name = "FOLDER")]
    pub filter_folder: Option<String>,
    /// Turn top-level folders into shared folders.
    #[arg(short, long)]
    pub shared: bool,
    /// Default shared-folder permissions: manage (U)sers, manage (R)ecords,
    /// can (E)dit, can (S)hare, (A)ll, (N)one, e.g. `-p ES`.
    #[arg(short, long, value_name = "LETTERS", value_parser = crate::import::shape::parse_permissions)]
    pub permissions: Option<crate::vault::SharedFolderDefaults>,
    /// Update records that match on type, title, login, url and folder
    /// instead of adding new ones.
    #[arg(long)]
    pub update: bool,
    /// A record in several folders goes into the first only; an identical
    /// record elsewhere is not linked into the new folder.
    #[arg(long)]
    pub no_shortcuts: bool,
    /// Let record uids from an importer plugin (a Keeper CSV's
    /// `$record_uid`) update the existing records they name. Without it
    /// such records are imported as new (or skipped as identical).
    #[arg(long)]
    pub match_uids: bool,
    /// Only grant the shared-folder members (and team members) the source
    /// lists; import no records.
    #[arg(long)]
    pub users: bool,
    /// Rewrite members' e-mail domain from this one (`-od`; with --new-domain).
    #[arg(long, value_name = "DOMAIN", requires = "new_domain")]
    pub old_domain: Option<String>,
    /// ... to this one (`-nd`).
    #[arg(long, value_name = "DOMAIN", requires = "old_domain")]
    pub new_domain: Option<String>,
}

/// `keeper upload-attachment`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Record uid, title or path.
    pub record: String,
    /// File to attach (repeatable).
    #[arg(long, required = true)]
    pub file: Vec<PathBuf>,
}

/// `keeper download-attachment`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Record uid, title or path.
    pub record: String,
    /// Attachment name or uid; all attachments when omitted.
    #[arg(long)]
    pub name: Option<String>,
    /// Directory to write to (default: current directory).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

/// `keeper user`.
#[derive(Debug, Args)]
pub struct UserNamespace {
    #[command(subcommand)]
    pub command: UserCommand,
}

/// User subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List users.
    #[command(alias = "ls")]
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Add a user with their own master password (prompted twice, or one
    /// line on stdin, or KEEPER_NEW_USER_PASSWORD).
    Add {
        /// E-mail.
        email: String,
    },
}

/// `keeper store`.
#[derive(Debug, Args)]
pub struct StoreNamespace {
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// Store subcommands.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy every (sealed) row of the vault to a new location — a
    /// postgres:// URL or a file path — and verify the copy (row counts and
    /// a checksum). The source is only read; no password is needed.
    Migrate {
        /// Where to: postgres://user@host:port/db[?sslmode=require] or a
        /// file path; it must not hold a vault yet.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Afterwards, use the copy: record it as the config's "store".
        #[arg(long = "use")]
        use_it: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `keeper team`.
#[derive(Debug, Args)]
pub struct TeamNamespace {
    #[command(subcommand)]
    pub command: TeamCommand,
}

/// Team subcommands.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// List teams and members.
    #[command(alias = "ls")]
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Create a team (you become a member).
    Add {
        /// Team name.
        name: String,
        /// Members' e-mails.
        #[arg(short, long = "member")]
        member: Vec<String>,
    },
    /// Add a user to a team.
    AddMember {
        /// Team name or uid.
        team: String,
        /// User e-mail.
        email: String,
    },
    /// Remove a user from a team (not yourself).
    RemoveMember {
        /// Team name or uid.
        team: String,
        /// User e-mail.
        email: String,
    },
}
