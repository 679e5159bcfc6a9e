//! The embedded SQLite backend: one file, WAL journal, `BEGIN IMMEDIATE`
//! write transactions and a busy timeout so concurrent `keeper` processes
//! queue instead of failing or losing updates.
//!
//! Opening is careful never to modify a file that is not ours: the SQLite
//! header (magic, size, application id) is checked from the raw bytes before
//! SQLite touches the file, and the journal mode is only set at creation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{
    AppClientRow, AppRow, AttachmentRow, AuditRow, Flush, FolderRow, KeyedRecordRow, PendingRow,
    RecordKeyRow, RecordRow, RotationLockRow, ShareRow, Store, StoreRead, StoreTx, TeamMemberRow,
    TeamRow, TenantRow, UserRow,
};
use crate::vault::error::{Result, VaultError};

mod apps;
mod enterprise;
mod header;
mod reads;
mod roles;
mod writes;

use header::check_header;
use reads::reads;
use roles::ROLES_DDL;
use writes::SqliteTx;

/// `PRAGMA application_id` of a keeper vault ("KPRV").
pub const APPLICATION_ID: u32 = 0x4B50_5256;
/// Schema version (`PRAGMA user_version`). 2 added `rotation_locks`, 3
/// `record_keys.expires` (shares that end), 4 the enterprise tables
/// ([`ENTERPRISE_SCHEMA`]), 5 `apps` and `app_clients` (Secrets Manager
/// applications, [`APPS_DDL`]), 6 `app_clients.access_minutes` and
/// `owner_token_key` with the `app_clients_tenant` index ([`APPS_V6_DDL`]),
/// 7 roles with enforcements and users' nodes ([`roles::ROLES_DDL`]), 8
/// `tenants.creator_uid` ([`CREATOR_DDL`]), 9 the ledger's company names
/// and the MSPs' price tables ([`BILLING_DDL`]), 10 `users.must_rekey`
/// ([`REKEY_DDL`]); opening an older vault upgrades it ([`MIGRATIONS`]).
pub const SCHEMA_VERSION: i64 = 10;
/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = r#"
CREATE TABLE vault_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE tenants (uid TEXT PRIMARY KEY, name TEXT NOT NULL, parent_uid TEXT, created INTEGER NOT NULL,
  creator_uid TEXT) STRICT;
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
  can_edit INTEGER NOT NULL, can_share INTEGER NOT NULL, expires INTEGER,
  PRIMARY KEY (record_uid, holder_uid)) STRICT;
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

/// The enterprise tables (MSPs, managed companies, licences, the billing
/// ledger; `store/enterprise.rs`), new in version 4.
const ENTERPRISE_SCHEMA: &str = r#"
CREATE TABLE enterprises (tenant_uid TEXT PRIMARY KEY, enterprise_id INTEGER NOT NULL UNIQUE, kind TEXT NOT NULL,
  parent_uid TEXT, created INTEGER NOT NULL) STRICT;
CREATE TABLE enterprise_admins (tenant_uid TEXT NOT NULL, user_uid TEXT NOT NULL, wrapped_tree_key BLOB NOT NULL,
  PRIMARY KEY (tenant_uid, user_uid)) STRICT;
CREATE TABLE enterprise_nodes (node_id INTEGER PRIMARY KEY, tenant_uid TEXT NOT NULL, parent_id INTEGER,
  data BLOB NOT NULL) STRICT;
CREATE TABLE msp_permits (msp_uid TEXT PRIMARY KEY, restricted INTEGER NOT NULL, allow_unlimited INTEGER NOT NULL,
  allowed_products TEXT NOT NULL, allowed_addons TEXT NOT NULL, max_file_plan TEXT) STRICT;
CREATE TABLE msp_pools (msp_uid TEXT NOT NULL, plan TEXT NOT NULL, total INTEGER NOT NULL, stash INTEGER NOT NULL,
  PRIMARY KEY (msp_uid, plan)) STRICT;
CREATE TABLE managed_companies (tenant_uid TEXT PRIMARY KEY, msp_uid TEXT NOT NULL, node_id INTEGER NOT NULL,
  plan TEXT NOT NULL, seats INTEGER NOT NULL, file_plan TEXT, paused INTEGER NOT NULL,
  wrapped_tree_key BLOB NOT NULL, data BLOB NOT NULL) STRICT;
CREATE INDEX managed_companies_msp ON managed_companies (msp_uid);
CREATE TABLE mc_addons (mc_uid TEXT NOT NULL, addon TEXT NOT NULL, seats INTEGER NOT NULL,
  PRIMARY KEY (mc_uid, addon)) STRICT;
CREATE TABLE billing_events (id INTEGER PRIMARY KEY AUTOINCREMENT, msp_uid TEXT NOT NULL, mc_id INTEGER NOT NULL,
  at INTEGER NOT NULL, change TEXT NOT NULL, product TEXT NOT NULL, licences INTEGER NOT NULL) STRICT;
CREATE INDEX billing_events_msp ON billing_events (msp_uid, at);
"#;

/// What upgrades a vault from version `n` (the index + 1) to the next, in
/// one transaction with the new `user_version`. Older keepers refuse the
/// upgraded file (they would not honour what the new tables mean).
const MIGRATIONS: [&str; 9] = [
    // 1 → 2: per-record rotation locks.
    "CREATE TABLE IF NOT EXISTS rotation_locks (record_uid TEXT PRIMARY KEY, token TEXT NOT NULL, \
     pid INTEGER NOT NULL, host TEXT NOT NULL, machine TEXT NOT NULL, process_start INTEGER NOT NULL, \
     acquired INTEGER NOT NULL, heartbeat INTEGER NOT NULL) STRICT;",
    // 2 → 3: direct shares that end.
    "ALTER TABLE record_keys ADD COLUMN expires INTEGER;",
    // 3 → 4: MSPs, managed companies, licences, the billing ledger.
    ENTERPRISE_SCHEMA,
    // 4 → 5: Secrets Manager applications and client devices.
    APPS_DDL,
    // 5 → 6: access counted from first use, re-keying waiting tokens, and
    // the tenant index PostgreSQL had.
    APPS_V6_DDL,
    // 6 → 7: roles with enforcements, users' nodes.
    ROLES_DDL,
    // 7 → 8: who made each tenant.
    CREATOR_DDL,
    // 8 → 9: the company's name in each ledger event, MSP price tables.
    BILLING_DDL,
    // 9 → 10: users who must be re-keyed before use.
    REKEY_DDL,
];

/// Schema 10: a user someone else chose the first master password of (an
/// MSP admin a distributor provisioned) must be re-keyed before use
/// (`vault/rekey.rs`, `enterprise/rekey.rs`).
const REKEY_DDL: &str = "ALTER TABLE users ADD COLUMN must_rekey INTEGER NOT NULL DEFAULT 0;";

/// Schema 8: the user who made each tenant (the one who may make it an
/// enterprise), for an existing tenant its earliest password user (the
/// one the clock rule picked before; a company's identity is never one).
const CREATOR_DDL: &str = r#"
ALTER TABLE tenants ADD COLUMN creator_uid TEXT;
UPDATE tenants SET creator_uid = (SELECT u.uid FROM users u WHERE u.tenant_uid = tenants.uid
  AND u.kdf <> CAST('keeper/key-held' AS BLOB) ORDER BY u.created, u.uid LIMIT 1)
  WHERE NOT EXISTS (SELECT 1 FROM enterprises e WHERE e.tenant_uid = tenants.uid AND e.kind = 'mc');
"#;

/// The ledger's company names and the MSPs' price tables
/// (`enterprise/billing.rs`, `enterprise/pricing.rs`).
const BILLING_DDL: &str = r#"
ALTER TABLE billing_events ADD COLUMN company TEXT NOT NULL DEFAULT '';
CREATE TABLE msp_prices (msp_uid TEXT PRIMARY KEY, prices TEXT NOT NULL) STRICT;
"#;

/// The tables of Secrets Manager applications (`vault/apps/`).
const APPS_DDL: &str = r#"
CREATE TABLE apps (uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, owner_uid TEXT NOT NULL, name TEXT NOT NULL,
  wrapped_key BLOB NOT NULL, created INTEGER NOT NULL, UNIQUE (tenant_uid, name)) STRICT;
CREATE TABLE app_clients (uid TEXT PRIMARY KEY, app_uid TEXT NOT NULL, tenant_uid TEXT NOT NULL,
  created INTEGER NOT NULL, token_expires INTEGER NOT NULL, access_expires INTEGER, unlock_ip INTEGER NOT NULL,
  token_key BLOB, public_key BLOB, wrapped_app_key BLOB, bound INTEGER) STRICT;
CREATE INDEX app_clients_app ON app_clients (app_uid);
"#;

/// Schema 6: `--access-expire-in-min` kept until the device's first use,
/// the token's key under the owner's data key (so `client remove` can
/// re-key the application for waiting tokens), the tenant index.
const APPS_V6_DDL: &str = r#"
ALTER TABLE app_clients ADD COLUMN access_minutes INTEGER;
ALTER TABLE app_clients ADD COLUMN owner_token_key BLOB;
CREATE INDEX app_clients_tenant ON app_clients (tenant_uid);
"#;

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
                return Err(VaultError::AlreadyExists(path.display().to_string()));
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
            conn.execute_batch("PRAGMA cache_size = -32768; PRAGMA secure_delete = ON")?;
            conn.set_prepared_statement_cache_capacity(64);
            conn.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; \
                 BEGIN; {SCHEMA} {ENTERPRISE_SCHEMA} {APPS_DDL} {APPS_V6_DDL} {ROLES_DDL} {BILLING_DDL} {REKEY_DDL} INSERT INTO vault_meta (key, value) VALUES ('format', 'keeper-vault'), \
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
        // Deleted and replaced cells, and freed pages, are zeroed: a
        // removed device that kept an old application key finds no old
        // wrapped record key in the file's free space.
        conn.execute_batch("PRAGMA secure_delete = ON")?;
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

    fn erase_freed(&mut self) -> Result<Option<String>> {
        if self.wal {
            // Copies the log into the file (where secure_delete zeroed the
            // freed cells) and truncates it to nothing; a reader holding
            // an old snapshot makes it wait (busy timeout), then leaves
            // the log for the next checkpoint: its first column, busy, is 1.
            let busy: i64 = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                let log = self.conn.path().map_or_else(
                    || "the vault's write-ahead log".to_string(),
                    |p| format!("{p}-wal"),
                );
                return Ok(Some(log));
            }
        }
        Ok(None)
    }
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
            fn user(&self, uid: &str) -> Result<Option<UserRow>> {
                reads(&self.$conn).user(uid)
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
            fn tenant_records(
                &self,
                t: &str,
                f: &mut dyn FnMut(RecordRow) -> Result<()>,
            ) -> Result<()> {
                reads(&self.$conn).tenant_records(t, f)
            }
            fn row_counts(&self) -> Result<Vec<(&'static str, i64)>> {
                reads(&self.$conn).row_counts()
            }
            fn apps(&self, t: &str) -> Result<Vec<AppRow>> {
                reads(&self.$conn).apps(t)
            }
            fn app_clients(&self, t: &str) -> Result<Vec<AppClientRow>> {
                reads(&self.$conn).app_clients(t)
            }
            fn app_client(&self, u: &str) -> Result<Option<AppClientRow>> {
                reads(&self.$conn).app_client(u)
            }
            fn app_record_keys(&self, a: &str) -> Result<Vec<RecordKeyRow>> {
                reads(&self.$conn).app_record_keys(a)
            }
        }
    };
}

forward_reads!(SqliteStore, conn);
forward_reads!(SqliteTx<'_>, conn);

#[cfg(test)]
mod tests;
