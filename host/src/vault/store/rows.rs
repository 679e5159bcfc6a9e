//! The rows a store reads and writes: plain structs, one per table,
//! whose secret columns are sealed blobs (see [`super`]).

/// A tenant: an isolated set of users, teams, folders and records.
#[derive(Debug, Clone)]
pub struct TenantRow {
    /// Tenant uid.
    pub uid: String,
    /// Display name (not secret).
    pub name: String,
    /// The managing tenant (MSP), if any.
    pub parent_uid: Option<String>,
    /// Creation time, epoch ms.
    pub created: i64,
    /// The user who made it (`keeper init`'s user, the admin a
    /// distributor's file made, `create_tenant`'s admin): the only one who
    /// may make it an enterprise. `None` for a managed company's tenant
    /// (its identity comes later), and for a tenant an older vault had
    /// without any password user.
    pub creator_uid: Option<String>,
}

/// A user and their key header.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// User uid.
    pub uid: String,
    /// Tenant the user belongs to.
    pub tenant_uid: String,
    /// Login e-mail (lower-cased).
    pub email: String,
    /// Encoded Argon2id parameters and salt.
    pub kdf: Vec<u8>,
    /// The data key sealed under the password-derived key; the KDF header is
    /// associated data, so any change to it fails authentication.
    pub wrapped_data_key: Vec<u8>,
    /// X25519 public key.
    pub public_key: Vec<u8>,
    /// X25519 secret key sealed under the data key.
    pub wrapped_private_key: Vec<u8>,
    /// SHA-256 over the header columns: tells accidental damage apart from
    /// a wrong password.
    pub checksum: Vec<u8>,
    /// Creation time, epoch ms.
    pub created: i64,
    /// The user must be re-keyed (new data key, key pair and master
    /// password: `enterprise-rekey`) before any other use: someone else
    /// chose their first master password (a distributor provisioning an
    /// MSP admin). A plain column, not part of the checksum: SQLite
    /// vault format 10, PostgreSQL migration 9.
    pub must_rekey: bool,
}

/// A team.
#[derive(Debug, Clone)]
pub struct TeamRow {
    /// Team uid.
    pub uid: String,
    /// Tenant.
    pub tenant_uid: String,
    /// Team name (not secret, unique per tenant).
    pub name: String,
    /// Creation time, epoch ms.
    pub created: i64,
}

/// A user's membership in a team: the team key sealed to the user.
#[derive(Debug, Clone)]
pub struct TeamMemberRow {
    /// Team uid.
    pub team_uid: String,
    /// Member's user uid.
    pub user_uid: String,
    /// Team key sealed to the member's public key.
    pub wrapped_key: Vec<u8>,
}

/// What a folder row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    /// A personal folder (name sealed under the owner's data key).
    User,
    /// A shared folder (name sealed under its own shared-folder key).
    Shared,
    /// A sub-folder inside a shared folder (name sealed under the shared-folder key).
    SharedSub,
}

impl FolderKind {
    /// Stored spelling (Commander's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user_folder",
            Self::Shared => "shared_folder",
            Self::SharedSub => "shared_folder_folder",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user_folder" => Some(Self::User),
            "shared_folder" => Some(Self::Shared),
            "shared_folder_folder" => Some(Self::SharedSub),
            _ => None,
        }
    }
}

/// Default permissions of a shared folder (Commander's `default_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SharedFolderDefaults {
    /// New members may manage users.
    pub manage_users: bool,
    /// New members may manage records.
    pub manage_records: bool,
    /// New records may be edited.
    pub can_edit: bool,
    /// New records may be re-shared.
    pub can_share: bool,
}

/// A folder.
#[derive(Debug, Clone)]
pub struct FolderRow {
    /// Folder uid.
    pub uid: String,
    /// Tenant.
    pub tenant_uid: String,
    /// Kind.
    pub kind: FolderKind,
    /// Parent folder (user folders and sub-folders; `None` = root or the shared folder itself).
    pub parent_uid: Option<String>,
    /// For sub-folders: their shared folder.
    pub shared_folder_uid: Option<String>,
    /// Creator.
    pub owner_uid: String,
    /// Revision, bumped on every change.
    pub revision: i64,
    /// Sealed folder data (name).
    pub data: Vec<u8>,
    /// Shared-folder defaults (shared folders only).
    pub defaults: SharedFolderDefaults,
}

/// Who holds a shared-folder key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderKind {
    /// A user: key sealed to the user's public key.
    User,
    /// A team: key sealed under the team key.
    Team,
}

impl HolderKind {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Team => "team",
        }
    }
}

/// Membership of a user or team in a shared folder.
#[derive(Debug, Clone)]
pub struct ShareRow {
    /// The shared folder.
    pub shared_folder_uid: String,
    /// User or team uid.
    pub holder_uid: String,
    /// Which.
    pub holder_kind: HolderKind,
    /// The shared-folder key, wrapped for the holder.
    pub wrapped_key: Vec<u8>,
    /// May add/remove members.
    pub manage_users: bool,
    /// May add/remove records.
    pub manage_records: bool,
    /// Where the holder sees the folder (a user folder uid), `None` = root.
    pub parent_uid: Option<String>,
}

/// An encrypted record (the "encrypted" view of the three record views).
#[derive(Debug, Clone)]
pub struct RecordRow {
    /// Record uid.
    pub uid: String,
    /// Tenant.
    pub tenant_uid: String,
    /// Owner user uid.
    pub owner_uid: String,
    /// Revision: part of the associated data, bumped on each update.
    pub revision: i64,
    /// Creation time, epoch ms.
    pub created: i64,
    /// Last modification, epoch ms.
    pub modified: i64,
    /// Record data sealed under the record key, associated data uid+revision.
    pub data: Vec<u8>,
}

/// A record key wrapped for one holder (a user's data key or a shared-folder key).
#[derive(Debug, Clone)]
pub struct RecordKeyRow {
    /// Record.
    pub record_uid: String,
    /// User uid or shared-folder uid.
    pub holder_uid: String,
    /// The record key sealed under the holder's key.
    pub wrapped_key: Vec<u8>,
    /// Holders through this key may edit.
    pub can_edit: bool,
    /// Holders through this key may re-share.
    pub can_share: bool,
    /// When a direct share ends (epoch ms); `None`: never. Reads for a
    /// holder skip rows past it, and the time is part of the wrapped key's
    /// associated data, so clearing it in the store does not revive the
    /// share.
    pub expires: Option<i64>,
}

/// A record and the key row that opens it for the current holder set.
#[derive(Debug, Clone)]
pub struct KeyedRecordRow {
    /// The record.
    pub record: RecordRow,
    /// One key row for it.
    pub key: RecordKeyRow,
}

/// A sealed attachment.
#[derive(Debug, Clone)]
pub struct AttachmentRow {
    /// File uid.
    pub uid: String,
    /// Owning record.
    pub record_uid: String,
    /// Content sealed under the record key.
    pub data: Vec<u8>,
}

/// A sealed pending rotation.
#[derive(Debug, Clone)]
pub struct PendingRow {
    /// Record.
    pub record_uid: String,
    /// Start time, epoch ms (clear, for listings).
    pub started: i64,
    /// [`crate::vault::PendingRotation`] sealed under the record key.
    pub data: Vec<u8>,
}

/// Who holds a record's rotation lock, and since when (nothing secret).
///
/// A row per record being rotated; see `vault/rotation_lock/` for the rule
/// that decides when a holder is gone and its lock may be taken over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationLockRow {
    /// Record.
    pub record_uid: String,
    /// Random, per acquisition: only the holder knows it, and every write
    /// of the record's pending state checks it.
    pub token: String,
    /// The holder's process id.
    pub pid: i64,
    /// The holder's host name (for messages).
    pub host: String,
    /// Where `pid` means something: the holder's boot id and process
    /// namespace; empty when unknown (then only the lease applies).
    pub machine: String,
    /// The holder process's start time in the machine's own unit (clock
    /// ticks since boot on Linux), so a reused pid is not mistaken for it;
    /// 0 when unknown.
    pub process_start: i64,
    /// When the lock was taken, epoch ms.
    pub acquired: i64,
    /// The holder's last sign of life, epoch ms.
    pub heartbeat: i64,
}

/// One audit entry. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditRow {
    /// Tenant.
    pub tenant_uid: String,
    /// Record.
    pub record_uid: String,
    /// Plugin name (and version).
    pub plugin: String,
    /// Target (host:port or similar).
    pub target: String,
    /// Outcome: "success", "failed", "reverted", …
    pub outcome: String,
    /// Duration in milliseconds.
    pub duration_ms: i64,
    /// When, epoch ms.
    pub at: i64,
}
