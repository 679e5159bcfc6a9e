//! The embedded SQLite backend: one file, WAL journal, `BEGIN IMMEDIATE`
//! write transactions and a busy timeout so concurrent `keeper` processes
//! queue instead of failing or losing updates.
//!
//! Opening is careful never to modify a file that is not ours: the SQLite
//! header (magic, size, application id) is checked from the raw bytes before
//! SQLite touches the file, and the journal mode is only set at creation.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::{
    AttachmentRow, AuditRow, Flush, FolderRow, KeyedRecordRow, PendingRow, RecordKeyRow, RecordRow,
    RotationLockRow, ShareRow, Store, StoreRead, StoreTx, TeamMemberRow, TeamRow, TenantRow,
    UserRow,
};
use crate::vault::error::{Result, VaultError};

mod reads;

use reads::{USER_COLS, reads};

/// `PRAGMA application_id` of a keeper vault ("KPRV").
pub const APPLICATION_ID: u32 = 0x4B50_5256;
/// Schema version (`PRAGMA user_version`). 2 added `rotation_locks`;
/// opening a version-1 vault upgrades it ([`MIGRATIONS`]).
pub const SCHEMA_VERSION: i64 = 2;
/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = r#"
CREATE TABLE vault_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE tenants (uid TEXT PRIMARY KEY, name TEXT NOT NULL, parent_uid TEXT, created INTEGER NOT NULL) STRICT;
CREATE TABLE users (
  uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, email TEXT NOT NULL, kdf BLOB NOT NULL,
  wrapped_data_key BLOB NOT NULL, public_key BLOB NOT NULL, wrapped_private_key BLOB NOT NULL,
  checksum BLOB NOT NULL, created INTEGER NOT NULL, UNIQUE (tenant_uid, email)) STRICT;
CREATE TABLE teams (uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL,
  UNIQUE (tenant_uid, name)) STRICT;
CREATE TABLE team_members (team_uid TEXT NOT NULL, user_uid TEXT NOT NULL, wrapped_key BLOB NOT NULL,
  PRIMARY KEY (team_uid, user_uid)) STRICT;
CREATE TABLE folders (
  uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, kind TEXT NOT NULL, parent_uid TEXT, shared_folder_uid TEXT,
  owner_uid TEXT NOT NULL, revision INTEGER NOT NULL, data BLOB NOT NULL,
  default_manage_users INTEGER NOT NULL, default_manage_records INTEGER NOT NULL,
  default_can_edit INTEGER NOT NULL, default_can_share INTEGER NOT NULL) STRICT;
CREATE TABLE shares (
  shared_folder_uid TEXT NOT NULL, holder_uid TEXT NOT NULL, holder_kind TEXT NOT NULL, wrapped_key BLOB NOT NULL,
  manage_users INTEGER NOT NULL, manage_records INTEGER NOT NULL, parent_uid TEXT,
  PRIMARY KEY (shared_folder_uid, holder_uid)) STRICT;
CREATE TABLE records (
  uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, owner_uid TEXT NOT NULL, revision INTEGER NOT NULL,
  created INTEGER NOT NULL, modified INTEGER NOT NULL, data BLOB NOT NULL) STRICT;
CREATE TABLE record_keys (
  record_uid TEXT NOT NULL, holder_uid TEXT NOT NULL, wrapped_key BLOB NOT NULL,
  can_edit INTEGER NOT NULL, can_share INTEGER NOT NULL, PRIMARY KEY (record_uid, holder_uid)) STRICT;
CREATE INDEX record_keys_holder ON record_keys (holder_uid);
CREATE TABLE folder_records (folder_uid TEXT NOT NULL, record_uid TEXT NOT NULL,
  PRIMARY KEY (folder_uid, record_uid)) STRICT;
CREATE INDEX folder_records_record ON folder_records (record_uid);
CREATE TABLE record_history (record_uid TEXT NOT NULL, revision INTEGER NOT NULL, owner_uid TEXT NOT NULL,
  tenant_uid TEXT NOT NULL, created INTEGER NOT NULL, modified INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY (record_uid, revision)) STRICT;
CREATE TABLE attachments (uid TEXT PRIMARY KEY, record_uid TEXT NOT NULL, data BLOB NOT NULL) STRICT;
CREATE INDEX attachments_record ON attachments (record_uid);
CREATE TABLE pending_rotations (record_uid TEXT PRIMARY KEY, started INTEGER NOT NULL, data BLOB NOT NULL) STRICT;
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_uid TEXT NOT NULL, record_uid TEXT NOT NULL,
  plugin TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL, duration_ms INTEGER NOT NULL,
  at INTEGER NOT NULL) STRICT;
CREATE TABLE rotation_locks (record_uid TEXT PRIMARY KEY, token TEXT NOT NULL, pid INTEGER NOT NULL,
  host TEXT NOT NULL, machine TEXT NOT NULL, process_start INTEGER NOT NULL, acquired INTEGER NOT NULL,
  heartbeat INTEGER NOT NULL) STRICT;
"#;

/// What upgrades a vault from version `n` (the index + 1) to the next, in
/// one transaction with the new `user_version`. Older keepers refuse the
/// upgraded file (they would not honour what the new tables mean).
const MIGRATIONS: [&str; 1] = [
    // 1 → 2: per-record rotation locks.
    "CREATE TABLE IF NOT EXISTS rotation_locks (record_uid TEXT PRIMARY KEY, token TEXT NOT NULL, \
     pid INTEGER NOT NULL, host TEXT NOT NULL, machine TEXT NOT NULL, process_start INTEGER NOT NULL, \
     acquired INTEGER NOT NULL, heartbeat INTEGER NOT NULL) STRICT;",
];

/// A vault in one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// `synchronous` may still be NORMAL (a deferred write did not finish,
    /// e.g. it panicked): the next durable write restores FULL first.
    relaxed: bool,
    /// Whether the file is in WAL mode (vaults keeper made always are).
    wal: bool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Creates a new, empty vault file. `init` runs inside the creating
    /// transaction so that a failure leaves no half-made vault behind.
    ///
    /// # Errors
    ///
    /// [`VaultError::AlreadyExists`] if anything exists at `path`; storage
    /// errors otherwise (the partial file is removed).
    pub fn create(
        path: &Path,
        init: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>,
    ) -> Result<Self> {
        // create_new: atomically refuse to touch an existing file.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(VaultError::AlreadyExists(path.to_path_buf()));
            }
            Err(e) => {
                return Err(VaultError::Storage(format!(
                    "cannot create {}: {e}",
                    path.display()
                )));
            }
        }
        let result = (|| {
            let conn = Connection::open(path)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.execute_batch("PRAGMA cache_size = -32768")?;
            conn.set_prepared_statement_cache_capacity(64);
            conn.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; \
                 BEGIN; {SCHEMA} INSERT INTO vault_meta (key, value) VALUES ('format', 'keeper-vault'), \
                 ('version', '{SCHEMA_VERSION}'); COMMIT;"
            ))?;
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            let mut store = Self {
                conn,
                path: path.to_path_buf(),
                relaxed: false,
                wal: mode.eq_ignore_ascii_case("wal"),
            };
            store.write(init)?;
            Ok(store)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(path);
            for ext in ["-wal", "-shm"] {
                let mut p = path.as_os_str().to_owned();
                p.push(ext);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
        result
    }

    /// Opens an existing vault file after checking it is one of ours and intact.
    ///
    /// # Errors
    ///
    /// [`VaultError::NoVault`], [`VaultError::Foreign`] (not SQLite, or another
    /// application's SQLite file), [`VaultError::Corrupted`] (truncated or
    /// damaged), [`VaultError::UnsupportedVersion`].
    pub fn open(path: &Path) -> Result<Self> {
        check_header(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Up to 32 MiB of page cache (allocated only as used): a bulk import
        // otherwise spills pages to the WAL and reads them back constantly.
        conn.execute_batch("PRAGMA cache_size = -32768")?;
        conn.set_prepared_statement_cache_capacity(64);
        // Every commit waits for the disk unless it asks not to.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let app_id: u32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if app_id != APPLICATION_ID {
            return Err(VaultError::Foreign {
                path: path.to_path_buf(),
                reason: "it belongs to another application".into(),
            });
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(VaultError::UnsupportedVersion(version));
        }
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(VaultError::Corrupted(format!(
                "SQLite integrity check failed: {check}"
            )));
        }
        let format: Option<String> = conn
            .query_row(
                "SELECT value FROM vault_meta WHERE key = 'format'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| VaultError::Corrupted(format!("vault metadata unreadable: {e}")))?;
        if format.as_deref() != Some("keeper-vault") {
            return Err(VaultError::Corrupted("vault metadata is missing".into()));
        }
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if version < SCHEMA_VERSION {
            migrate(&conn)?;
        }
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            relaxed: false,
            wal: mode.eq_ignore_ascii_case("wal"),
        })
    }

    /// SQLite's write-ahead log of this vault, opened (with its path), if
    /// there is one.
    fn wal_file(&self) -> Option<(std::fs::File, PathBuf)> {
        let mut path = self.conn.path()?.to_owned();
        path.push_str("-wal");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .ok()?;
        Some((file, PathBuf::from(path)))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Raw SQLite access for benchmarks and tests (baseline scans).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Upgrades an older vault to [`SCHEMA_VERSION`], one step per
/// transaction; another process upgrading at the same time waits, then
/// finds nothing left to do.
fn migrate(conn: &Connection) -> Result<()> {
    loop {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let step = (|| {
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let Some(sql) = usize::try_from(version - 1)
                .ok()
                .and_then(|i| MIGRATIONS.get(i))
                .filter(|_| version < SCHEMA_VERSION)
            else {
                return Ok::<_, VaultError>(false);
            };
            conn.execute_batch(sql)?;
            conn.execute_batch(&format!("PRAGMA user_version = {}", version + 1))?;
            conn.execute(
                "UPDATE vault_meta SET value = ?1 WHERE key = 'version'",
                [(version + 1).to_string()],
            )?;
            Ok(true)
        })();
        match step {
            Ok(more) => {
                conn.execute_batch("COMMIT")?;
                if !more {
                    return Ok(());
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
}

/// Checks the raw SQLite header before letting SQLite open the file.
///
/// The file is read without a lock, and another `keeper` process may be
/// checkpointing the WAL into it: a checkpoint writes page 1 (with the new
/// page count) before the pages past the old end, so for a moment the file
/// looks truncated. A file that still looks truncated after half a second
/// is.
fn check_header(path: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match check_header_once(path) {
            Err(VaultError::Corrupted(why)) if why.starts_with(TRUNCATED) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

const TRUNCATED: &str = "file is truncated (";

fn check_header_once(path: &Path) -> Result<()> {
    let foreign = |reason: &str| VaultError::Foreign {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::NoVault(path.to_path_buf()));
        }
        Err(e) => {
            return Err(VaultError::Storage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let len = file
        .metadata()
        .map_err(|e| VaultError::Storage(e.to_string()))?
        .len();
    let mut header = [0u8; 100];
    if len < 100 || file.read_exact(&mut header).is_err() {
        return Err(if len == 0 {
            foreign("the file is empty")
        } else {
            VaultError::Corrupted("file is truncated".into())
        });
    }
    if &header[..16] != b"SQLite format 3\0" {
        return Err(foreign("not a SQLite database"));
    }
    if u32::from_be_bytes([header[68], header[69], header[70], header[71]]) != APPLICATION_ID {
        return Err(foreign("it belongs to another application"));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536u64,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let change = &header[24..28];
    let valid_for = &header[92..96];
    if page_size < 512 || !page_size.is_power_of_two() {
        return Err(VaultError::Corrupted("the SQLite header is damaged".into()));
    }
    if change == valid_for && pages > 0 && len < pages * page_size {
        return Err(VaultError::Corrupted(format!(
            "{TRUNCATED}{len} bytes, the header says {} bytes)",
            pages * page_size
        )));
    }
    Ok(())
}

impl Store for SqliteStore {
    fn write(&mut self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()> {
        if self.relaxed {
            self.conn.pragma_update(None, "synchronous", "FULL")?;
            self.relaxed = false;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut handle = SqliteTx { conn: &tx };
        f(&mut handle)?;
        tx.commit()?;
        Ok(())
    }

    fn write_deferred(&mut self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()> {
        // In WAL mode, `synchronous = NORMAL` commits to the WAL without an
        // fsync; the next FULL commit (or checkpoint) syncs it.
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.relaxed = true;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let result = f(&mut SqliteTx { conn: &tx }).and_then(|()| Ok(tx.commit()?));
        // Restored here, or (if `f` panicked) by the next durable write.
        let restored = self.conn.pragma_update(None, "synchronous", "FULL");
        result?;
        restored?;
        self.relaxed = false;
        Ok(())
    }

    fn write_then_flush(
        &mut self,
        f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>,
    ) -> Result<Flush> {
        // The deferred commit leaves the transaction's frames written to the
        // WAL but not synced; syncing the WAL file is what a FULL commit
        // would have done (the WAL header is synced on a restart even so,
        // and checkpoints sync the WAL first). The file is the one SQLite
        // uses (its path has symlinks resolved), opened before the commit
        // so that a write-back error of the commit's frames is reported to
        // this descriptor. SQLite holds no POSIX locks on the WAL file, so
        // opening and closing it here cannot drop one of SQLite's.
        let wal = self.wal.then(|| self.wal_file()).flatten();
        let Some((file, path)) = wal else {
            return self.write(f).map(|()| Flush::Done);
        };
        self.write_deferred(f)?;
        Ok(Flush::Sync { file, path })
    }
}

/// A write transaction in progress.
struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl SqliteTx<'_> {
    /// Runs one statement through the connection's statement cache: a
    /// rotation's few writes were dominated by parsing their SQL.
    fn execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }
}

fn b(v: bool) -> i64 {
    i64::from(v)
}

/// Forwards every [`StoreRead`] method to [`Reads`] over a connection.
macro_rules! forward_reads {
    ($ty:ty, $conn:ident) => {
        impl StoreRead for $ty {
            fn tenants(&self) -> Result<Vec<TenantRow>> {
                reads(&self.$conn).tenants()
            }
            fn users(&self, t: &str) -> Result<Vec<UserRow>> {
                reads(&self.$conn).users(t)
            }
            fn all_users(&self) -> Result<Vec<UserRow>> {
                reads(&self.$conn).all_users()
            }
            fn teams(&self, t: &str) -> Result<Vec<TeamRow>> {
                reads(&self.$conn).teams(t)
            }
            fn team_members(&self, t: &str) -> Result<Vec<TeamMemberRow>> {
                reads(&self.$conn).team_members(t)
            }
            fn folders(&self, t: &str) -> Result<Vec<FolderRow>> {
                reads(&self.$conn).folders(t)
            }
            fn shares(&self, t: &str) -> Result<Vec<ShareRow>> {
                reads(&self.$conn).shares(t)
            }
            fn links(&self, t: &str) -> Result<Vec<(String, String)>> {
                reads(&self.$conn).links(t)
            }
            fn keyed_records(&self, h: &[String]) -> Result<Vec<KeyedRecordRow>> {
                reads(&self.$conn).keyed_records(h)
            }
            fn scan_keyed_records(
                &self,
                h: &[String],
                f: &mut dyn FnMut(KeyedRecordRow) -> Result<()>,
            ) -> Result<()> {
                reads(&self.$conn).scan_keyed_records(h, f)
            }
            fn keyed_record(&self, u: &str, h: &[String]) -> Result<Option<KeyedRecordRow>> {
                reads(&self.$conn).keyed_record(u, h)
            }
            fn record_keys(&self, u: &str) -> Result<Vec<RecordKeyRow>> {
                reads(&self.$conn).record_keys(u)
            }
            fn record_history(&self, u: &str) -> Result<Vec<RecordRow>> {
                reads(&self.$conn).record_history(u)
            }
            fn attachments(&self, u: &str) -> Result<Vec<AttachmentRow>> {
                reads(&self.$conn).attachments(u)
            }
            fn pending(&self, u: &str) -> Result<Option<PendingRow>> {
                reads(&self.$conn).pending(u)
            }
            fn pendings(&self, t: &str) -> Result<Vec<PendingRow>> {
                reads(&self.$conn).pendings(t)
            }
            fn audit(&self, t: &str) -> Result<Vec<AuditRow>> {
                reads(&self.$conn).audit(t)
            }
            fn rotation_lock(&self, u: &str) -> Result<Option<RotationLockRow>> {
                reads(&self.$conn).rotation_lock(u)
            }
        }
    };
}

forward_reads!(SqliteStore, conn);
forward_reads!(SqliteTx<'_>, conn);

impl StoreTx for SqliteTx<'_> {
    fn insert_tenant(&mut self, row: &TenantRow) -> Result<()> {
        self.execute(
            "INSERT INTO tenants (uid, name, parent_uid, created) VALUES (?1, ?2, ?3, ?4)",
            params![row.uid, row.name, row.parent_uid, row.created],
        )?;
        Ok(())
    }

    fn insert_user(&mut self, row: &UserRow) -> Result<()> {
        let n = self.execute(
            &format!("INSERT OR IGNORE INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
            params![
                row.uid,
                row.tenant_uid,
                row.email,
                row.kdf,
                row.wrapped_data_key,
                row.public_key,
                row.wrapped_private_key,
                row.checksum,
                row.created
            ],
        )?;
        if n == 0 {
            return Err(VaultError::Exists(format!("user {}", row.email)));
        }
        Ok(())
    }

    fn update_user(&mut self, row: &UserRow) -> Result<()> {
        self.execute(
            "UPDATE users SET kdf = ?2, wrapped_data_key = ?3, wrapped_private_key = ?4, checksum = ?5 WHERE uid = ?1",
            params![row.uid, row.kdf, row.wrapped_data_key, row.wrapped_private_key, row.checksum],
        )?;
        Ok(())
    }

    fn insert_team(&mut self, row: &TeamRow) -> Result<()> {
        let n = self.execute(
            "INSERT OR IGNORE INTO teams (uid, tenant_uid, name, created) VALUES (?1, ?2, ?3, ?4)",
            params![row.uid, row.tenant_uid, row.name, row.created],
        )?;
        if n == 0 {
            return Err(VaultError::Exists(format!("team {}", row.name)));
        }
        Ok(())
    }

    fn put_team_member(&mut self, row: &TeamMemberRow) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO team_members (team_uid, user_uid, wrapped_key) VALUES (?1, ?2, ?3)",
            params![row.team_uid, row.user_uid, row.wrapped_key],
        )?;
        Ok(())
    }

    fn delete_team_member(&mut self, team_uid: &str, user_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM team_members WHERE team_uid = ?1 AND user_uid = ?2",
            params![team_uid, user_uid],
        )?;
        Ok(())
    }

    fn put_folder(&mut self, row: &FolderRow) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO folders (uid, tenant_uid, kind, parent_uid, shared_folder_uid, owner_uid, \
             revision, data, default_manage_users, default_manage_records, default_can_edit, default_can_share) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                row.uid,
                row.tenant_uid,
                row.kind.as_str(),
                row.parent_uid,
                row.shared_folder_uid,
                row.owner_uid,
                row.revision,
                row.data,
                b(row.defaults.manage_users),
                b(row.defaults.manage_records),
                b(row.defaults.can_edit),
                b(row.defaults.can_share)
            ],
        )?;
        Ok(())
    }

    fn delete_folder(&mut self, uid: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM folder_records WHERE folder_uid = ?1", [uid])?;
        self.conn
            .execute("DELETE FROM shares WHERE shared_folder_uid = ?1", [uid])?;
        self.conn
            .execute("DELETE FROM folders WHERE uid = ?1", [uid])?;
        Ok(())
    }

    fn put_share(&mut self, row: &ShareRow) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO shares (shared_folder_uid, holder_uid, holder_kind, wrapped_key, manage_users, \
             manage_records, parent_uid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.shared_folder_uid,
                row.holder_uid,
                row.holder_kind.as_str(),
                row.wrapped_key,
                b(row.manage_users),
                b(row.manage_records),
                row.parent_uid
            ],
        )?;
        Ok(())
    }

    fn delete_share(&mut self, shared_folder_uid: &str, holder_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM shares WHERE shared_folder_uid = ?1 AND holder_uid = ?2",
            params![shared_folder_uid, holder_uid],
        )?;
        Ok(())
    }

    fn insert_record(&mut self, row: &RecordRow, key: &RecordKeyRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO records (uid, tenant_uid, owner_uid, revision, created, modified, data) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![row.uid, row.tenant_uid, row.owner_uid, row.revision, row.created, row.modified, row.data])?;
        self.put_record_key(key)
    }

    fn update_record(&mut self, row: &RecordRow, expected_revision: i64) -> Result<()> {
        let moved = self.execute(
            "INSERT INTO record_history (record_uid, revision, owner_uid, tenant_uid, created, modified, data) \
             SELECT uid, revision, owner_uid, tenant_uid, created, modified, data FROM records \
             WHERE uid = ?1 AND revision = ?2",
            params![row.uid, expected_revision],
        )?;
        if moved == 0 {
            return Err(VaultError::Conflict(format!("record {}", row.uid)));
        }
        self.execute(
            "UPDATE records SET revision = ?2, modified = ?3, data = ?4, owner_uid = ?5 WHERE uid = ?1",
            params![row.uid, row.revision, row.modified, row.data, row.owner_uid],
        )?;
        Ok(())
    }

    fn delete_record(&mut self, uid: &str) -> Result<()> {
        for sql in [
            "DELETE FROM record_keys WHERE record_uid = ?1",
            "DELETE FROM folder_records WHERE record_uid = ?1",
            "DELETE FROM record_history WHERE record_uid = ?1",
            "DELETE FROM attachments WHERE record_uid = ?1",
            "DELETE FROM pending_rotations WHERE record_uid = ?1",
            "DELETE FROM rotation_locks WHERE record_uid = ?1",
            "DELETE FROM records WHERE uid = ?1",
        ] {
            self.execute(sql, [uid])?;
        }
        Ok(())
    }

    fn put_record_key(&mut self, row: &RecordKeyRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO record_keys (record_uid, holder_uid, wrapped_key, can_edit, can_share) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![row.record_uid, row.holder_uid, row.wrapped_key, b(row.can_edit), b(row.can_share)])?;
        Ok(())
    }

    fn delete_record_key(&mut self, record_uid: &str, holder_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM record_keys WHERE record_uid = ?1 AND holder_uid = ?2",
            params![record_uid, holder_uid],
        )?;
        Ok(())
    }

    fn link(&mut self, folder_uid: &str, record_uid: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO folder_records (folder_uid, record_uid) VALUES (?1, ?2)",
            )?
            .execute(params![folder_uid, record_uid])?;
        Ok(())
    }

    fn unlink(&mut self, folder_uid: &str, record_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM folder_records WHERE folder_uid = ?1 AND record_uid = ?2",
            params![folder_uid, record_uid],
        )?;
        Ok(())
    }

    fn insert_attachment(&mut self, row: &AttachmentRow) -> Result<()> {
        self.execute(
            "INSERT INTO attachments (uid, record_uid, data) VALUES (?1, ?2, ?3)",
            params![row.uid, row.record_uid, row.data],
        )?;
        Ok(())
    }

    fn put_pending(&mut self, row: &PendingRow) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO pending_rotations (record_uid, started, data) VALUES (?1, ?2, ?3)",
            params![row.record_uid, row.started, row.data],
        )?;
        Ok(())
    }

    fn delete_pending(&mut self, record_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM pending_rotations WHERE record_uid = ?1",
            [record_uid],
        )?;
        Ok(())
    }

    fn insert_audit(&mut self, row: &AuditRow) -> Result<()> {
        self.execute(
            "INSERT INTO audit (tenant_uid, record_uid, plugin, target, outcome, duration_ms, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.tenant_uid,
                row.record_uid,
                row.plugin,
                row.target,
                row.outcome,
                row.duration_ms,
                row.at
            ],
        )?;
        Ok(())
    }

    fn take_rotation_lock(
        &mut self,
        row: &RotationLockRow,
        replacing: Option<&str>,
    ) -> Result<bool> {
        let values = params![
            row.record_uid,
            row.token,
            row.pid,
            row.host,
            row.machine,
            row.process_start,
            row.acquired,
            row.heartbeat,
            replacing
        ];
        let n = match replacing {
            None => self.execute(
                "INSERT OR IGNORE INTO rotation_locks (record_uid, token, pid, host, machine, process_start, \
                 acquired, heartbeat) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                &values[..8],
            )?,
            Some(_) => self.execute(
                "UPDATE rotation_locks SET token = ?2, pid = ?3, host = ?4, machine = ?5, process_start = ?6, \
                 acquired = ?7, heartbeat = ?8 WHERE record_uid = ?1 AND token = ?9",
                values,
            )?,
        };
        Ok(n == 1)
    }

    fn touch_rotation_lock(
        &mut self,
        record_uid: &str,
        token: &str,
        heartbeat: i64,
    ) -> Result<bool> {
        let n = self.execute(
            "UPDATE rotation_locks SET heartbeat = ?3 WHERE record_uid = ?1 AND token = ?2",
            params![record_uid, token, heartbeat],
        )?;
        Ok(n == 1)
    }

    fn release_rotation_lock(&mut self, record_uid: &str, token: &str) -> Result<bool> {
        let n = self.execute(
            "DELETE FROM rotation_locks WHERE record_uid = ?1 AND token = ?2",
            params![record_uid, token],
        )?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(store: &SqliteStore) -> i64 {
        store
            .connection()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma")
    }

    /// A deferred write commits like any other, and only it skips the
    /// fsync: the connection is back to FULL afterwards, even when the
    /// transaction failed.
    #[test]
    fn deferred_writes_commit_and_restore_full_durability() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("v.db");
        drop(SqliteStore::create(&path, &mut |_| Ok(())).expect("create"));
        let mut store = SqliteStore::open(&path).expect("open");
        assert_eq!(synchronous(&store), 2, "FULL by default");
        let tenant = |uid: &str| TenantRow {
            uid: uid.into(),
            name: "tenant".into(),
            parent_uid: None,
            created: 0,
        };
        store
            .write_deferred(&mut |tx| tx.insert_tenant(&tenant("t1")))
            .expect("deferred write");
        assert_eq!(synchronous(&store), 2);
        let failed = store.write_deferred(&mut |tx| {
            tx.insert_tenant(&tenant("t2"))?;
            Err(VaultError::Invalid("abort".into()))
        });
        assert!(failed.is_err());
        assert_eq!(synchronous(&store), 2);
        // A deferred write that panics leaves NORMAL behind; the next
        // durable write puts FULL back before it writes.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = store.write_deferred(&mut |_| panic!("mid-transaction"));
        }));
        assert!(panicked.is_err());
        assert_eq!(synchronous(&store), 1, "NORMAL after the panic");
        store.write(&mut |_| Ok(())).expect("durable write");
        assert_eq!(synchronous(&store), 2, "FULL again");
        drop(store);
        let reopened = SqliteStore::open(&path).expect("reopen");
        let uids: Vec<String> = reopened
            .tenants()
            .expect("tenants")
            .into_iter()
            .map(|t| t.uid)
            .collect();
        assert_eq!(
            uids,
            ["t1"],
            "the deferred write committed, the failed one did not"
        );
    }

    /// A write whose wait for the disk comes later: committed at once (and
    /// FULL restored), and its flush syncs the vault's own WAL file.
    #[test]
    fn a_write_then_flush_commits_and_syncs_the_wal_later() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("v.db");
        drop(SqliteStore::create(&path, &mut |_| Ok(())).expect("create"));
        let mut store = SqliteStore::open(&path).expect("open");
        let flush = store
            .write_then_flush(&mut |tx| {
                tx.insert_tenant(&TenantRow {
                    uid: "t1".into(),
                    name: "tenant".into(),
                    parent_uid: None,
                    created: 0,
                })
            })
            .expect("write");
        assert_eq!(synchronous(&store), 2, "FULL again for other writes");
        let wal = std::fs::canonicalize(dir.path().join("v.db-wal")).expect("the WAL");
        assert!(
            matches!(&flush, Flush::Sync { path, .. } if *path == wal),
            "{flush:?}"
        );
        assert_eq!(store.tenants().expect("tenants").len(), 1, "committed");
        flush.wait().expect("synced");
    }

    /// A version-1 vault (no rotation locks) is upgraded when opened, once,
    /// keeping its data; a vault from a newer keeper is refused.
    #[test]
    fn a_version_1_vault_gains_rotation_locks_when_opened() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("v.db");
        drop(SqliteStore::create(&path, &mut |_| Ok(())).expect("create"));
        let conn = Connection::open(&path).expect("sqlite");
        conn.execute_batch(
            "DROP TABLE rotation_locks; PRAGMA user_version = 1; \
             UPDATE vault_meta SET value = '1' WHERE key = 'version'; \
             INSERT INTO tenants (uid, name, parent_uid, created) VALUES ('t1', 'kept', NULL, 0);",
        )
        .expect("make it version 1");
        drop(conn);
        let store = SqliteStore::open(&path).expect("open upgrades");
        let version: i64 = store
            .connection()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(store.rotation_lock("r").expect("the table exists"), None);
        assert_eq!(store.tenants().expect("tenants").len(), 1, "data kept");
        drop(store);
        SqliteStore::open(&path).expect("a second open has nothing to do");

        let conn = Connection::open(&path).expect("sqlite");
        conn.execute_batch("PRAGMA user_version = 3")
            .expect("newer");
        drop(conn);
        assert!(matches!(
            SqliteStore::open(&path),
            Err(VaultError::UnsupportedVersion(3))
        ));
    }

    /// Through a symlink, the WAL synced is SQLite's own, next to the real
    /// file (SQLite resolves the link), not one next to the link.
    #[cfg(unix)]
    #[test]
    fn a_symlinked_vault_syncs_the_real_wal() {
        let dir = tempfile::tempdir().expect("dir");
        let real = dir.path().join("real.db");
        drop(SqliteStore::create(&real, &mut |_| Ok(())).expect("create"));
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let mut store = SqliteStore::open(&link).expect("open through the link");
        let flush = store.write_then_flush(&mut |_| Ok(())).expect("write");
        let wal = std::fs::canonicalize(dir.path().join("real.db-wal")).expect("the WAL");
        assert!(
            matches!(&flush, Flush::Sync { path, .. } if *path == wal),
            "{flush:?}"
        );
        flush.wait().expect("synced");
    }
}
