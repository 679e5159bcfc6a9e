//! The storage boundary: encrypted rows in, encrypted rows out.
//!
//! [`Store`] is what a backend implements: [`sqlite`] (one file, the
//! default) and [`postgres`] (one database shared by many machines);
//! [`Location`] says which, and [`open`] / [`create`] pick the backend.
//! It never sees a key or a plaintext: every secret column is a sealed blob
//! made by [`crate::vault::crypto`]. Reads go through [`StoreRead`]; writes run
//! inside [`Store::write`], one transaction that either commits entirely or
//! leaves the store as it was. Every row carries its tenant, so one store can
//! hold several tenants (an MSP and its managed companies).

mod apps;
pub mod enterprise;
mod location;
pub mod migrate;
pub mod postgres;
pub mod roles;
mod rows;
pub mod sqlite;

use super::error::Result;
pub use apps::{AppClientRow, AppRow};
pub use enterprise::{EnterpriseRead, EnterpriseTx};
pub use location::Location;
pub use roles::{RolesRead, RolesTx};
pub use rows::{
    AttachmentRow, AuditRow, FolderKind, FolderRow, HolderKind, KeyedRecordRow, PendingRow,
    RecordKeyRow, RecordRow, RotationLockRow, ShareRow, SharedFolderDefaults, TeamMemberRow,
    TeamRow, TenantRow, UserRow,
};

/// Opens the vault at `location` with its backend.
///
/// # Errors
///
/// As [`sqlite::SqliteStore::open`] and [`postgres::PgStore::open`].
pub fn open(location: &Location) -> Result<Box<dyn Store>> {
    Ok(match location {
        Location::File(path) => Box::new(sqlite::SqliteStore::open(path)?),
        Location::Postgres(url) => Box::new(postgres::PgStore::open(url)?),
    })
}

/// Creates a vault at `location`, running `init` in the creating
/// transaction.
///
/// # Errors
///
/// As [`sqlite::SqliteStore::create`] and [`postgres::PgStore::create`].
pub fn create(
    location: &Location,
    init: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>,
) -> Result<Box<dyn Store>> {
    Ok(match location {
        Location::File(path) => Box::new(sqlite::SqliteStore::create(path, init)?),
        Location::Postgres(url) => Box::new(postgres::PgStore::create(url, init)?),
    })
}

/// Read access to a store (the enterprise tables' reads included).
pub trait StoreRead: EnterpriseRead + RolesRead {
    /// All tenants.
    fn tenants(&self) -> Result<Vec<TenantRow>>;
    /// Users of a tenant.
    fn users(&self, tenant_uid: &str) -> Result<Vec<UserRow>>;
    /// All users of every tenant (to pick the one to unlock).
    fn all_users(&self) -> Result<Vec<UserRow>>;
    /// The user with uid `uid`, of any tenant.
    fn user(&self, uid: &str) -> Result<Option<UserRow>>;
    /// Teams of a tenant.
    fn teams(&self, tenant_uid: &str) -> Result<Vec<TeamRow>>;
    /// Team memberships of a team (`Some`) or of every team of the tenant.
    fn team_members(&self, tenant_uid: &str) -> Result<Vec<TeamMemberRow>>;
    /// Folders of a tenant.
    fn folders(&self, tenant_uid: &str) -> Result<Vec<FolderRow>>;
    /// Shared-folder memberships of a tenant.
    fn shares(&self, tenant_uid: &str) -> Result<Vec<ShareRow>>;
    /// `(folder uid, record uid)` links of a tenant. A user's root folder uid is the user uid.
    fn links(&self, tenant_uid: &str) -> Result<Vec<(String, String)>>;
    /// Records that any of `holders` can open, with one key row each.
    /// Key rows whose `expires` has passed are left out, here and in
    /// [`StoreRead::scan_keyed_records`] and [`StoreRead::keyed_record`].
    fn keyed_records(&self, holders: &[String]) -> Result<Vec<KeyedRecordRow>>;
    /// Streams the records any of `holders` can open (one key row each,
    /// permissions merged) to `f`, in no particular order. The default
    /// collects [`StoreRead::keyed_records`]; backends override it so that
    /// decryption can overlap with reading.
    fn scan_keyed_records(
        &self,
        holders: &[String],
        f: &mut dyn FnMut(KeyedRecordRow) -> Result<()>,
    ) -> Result<()> {
        for row in self.keyed_records(holders)? {
            f(row)?;
        }
        Ok(())
    }
    /// One record, if any of `holders` can open it.
    fn keyed_record(&self, uid: &str, holders: &[String]) -> Result<Option<KeyedRecordRow>>;
    /// Every key row of a record, expired ones included.
    fn record_keys(&self, record_uid: &str) -> Result<Vec<RecordKeyRow>>;
    /// Earlier revisions of a record, oldest first.
    fn record_history(&self, record_uid: &str) -> Result<Vec<RecordRow>>;
    /// Attachment rows of a record.
    fn attachments(&self, record_uid: &str) -> Result<Vec<AttachmentRow>>;
    /// A pending rotation of a record.
    fn pending(&self, record_uid: &str) -> Result<Option<PendingRow>>;
    /// All pending rotations of a tenant.
    fn pendings(&self, tenant_uid: &str) -> Result<Vec<PendingRow>>;
    /// The audit log of a tenant, oldest first.
    fn audit(&self, tenant_uid: &str) -> Result<Vec<AuditRow>>;
    /// Who holds a record's rotation lock, if anyone.
    fn rotation_lock(&self, record_uid: &str) -> Result<Option<RotationLockRow>>;
    /// Streams every record row of a tenant, whoever holds its keys, in
    /// uid order (`store migrate`).
    fn tenant_records(
        &self,
        tenant_uid: &str,
        f: &mut dyn FnMut(RecordRow) -> Result<()>,
    ) -> Result<()>;
    /// How many rows each table holds, by table name in [`TABLES`] order
    /// (`store migrate` checks that nothing was left behind).
    fn row_counts(&self) -> Result<Vec<(&'static str, i64)>>;
    /// Secrets Manager applications of a tenant, by name.
    fn apps(&self, tenant_uid: &str) -> Result<Vec<AppRow>>;
    /// Client devices of every application of a tenant, oldest first.
    fn app_clients(&self, tenant_uid: &str) -> Result<Vec<AppClientRow>>;
    /// One client device by its id (what a device reads on every use).
    fn app_client(&self, uid: &str) -> Result<Option<AppClientRow>>;
    /// Every record key row an application holds, expired ones included.
    fn app_record_keys(&self, app_uid: &str) -> Result<Vec<RecordKeyRow>>;
}

/// The vault's tables, as both backends name them.
pub const TABLES: [&str; 29] = [
    "tenants",
    "users",
    "teams",
    "team_members",
    "folders",
    "shares",
    "records",
    "record_keys",
    "folder_records",
    "record_history",
    "attachments",
    "pending_rotations",
    "audit",
    "rotation_locks",
    // enterprise.rs
    "enterprises",
    "enterprise_admins",
    "enterprise_nodes",
    "msp_permits",
    "msp_pools",
    "managed_companies",
    "mc_addons",
    "billing_events",
    "msp_prices",
    // apps.rs
    "apps",
    "app_clients",
    // roles.rs
    "enterprise_roles",
    "role_enforcements",
    "role_users",
    "enterprise_users",
];

/// Writes inside one transaction (the enterprise tables' writes included).
pub trait StoreTx: StoreRead + EnterpriseTx + RolesTx {
    /// Adds a tenant.
    fn insert_tenant(&mut self, row: &TenantRow) -> Result<()>;
    /// Adds a user.
    fn insert_user(&mut self, row: &UserRow) -> Result<()>;
    /// Replaces a user's key header and key pair (password change,
    /// re-key) and its `must_rekey` flag.
    fn update_user(&mut self, row: &UserRow) -> Result<()>;
    /// Adds a team.
    fn insert_team(&mut self, row: &TeamRow) -> Result<()>;
    /// Adds or replaces a team membership.
    fn put_team_member(&mut self, row: &TeamMemberRow) -> Result<()>;
    /// Removes a team membership.
    fn delete_team_member(&mut self, team_uid: &str, user_uid: &str) -> Result<()>;
    /// Adds or replaces a folder.
    fn put_folder(&mut self, row: &FolderRow) -> Result<()>;
    /// Deletes a folder and its links and shares.
    fn delete_folder(&mut self, uid: &str) -> Result<()>;
    /// Adds or replaces a shared-folder membership.
    fn put_share(&mut self, row: &ShareRow) -> Result<()>;
    /// Removes a shared-folder membership.
    fn delete_share(&mut self, shared_folder_uid: &str, holder_uid: &str) -> Result<()>;
    /// Adds a record with its first key.
    fn insert_record(&mut self, row: &RecordRow, key: &RecordKeyRow) -> Result<()>;
    /// Replaces a record if its stored revision is still `expected_revision`;
    /// the old row moves to the history.
    ///
    /// Fails with [`crate::vault::VaultError::Conflict`] otherwise.
    fn update_record(&mut self, row: &RecordRow, expected_revision: i64) -> Result<()>;
    /// Adds an earlier revision of a record as it is (`store migrate`).
    fn insert_history(&mut self, row: &RecordRow) -> Result<()>;
    /// Deletes a record with its keys, links, history, attachments and pending state.
    fn delete_record(&mut self, uid: &str) -> Result<()>;
    /// Adds or replaces a key row; [`crate::vault::VaultError::NotFound`]
    /// when the record is not there (deleted since the caller read it), so
    /// that no key outlives its record.
    fn put_record_key(&mut self, row: &RecordKeyRow) -> Result<()>;
    /// Makes `owner_uid` the owner of record `uid` (`share-record -a
    /// owner`); the record's data and revision stay as they are.
    fn set_record_owner(&mut self, uid: &str, owner_uid: &str) -> Result<()>;
    /// Removes a key row.
    fn delete_record_key(&mut self, record_uid: &str, holder_uid: &str) -> Result<()>;
    /// Links a record into a folder (idempotent);
    /// [`crate::vault::VaultError::NotFound`] when the record is not there.
    fn link(&mut self, folder_uid: &str, record_uid: &str) -> Result<()>;
    /// Unlinks a record from a folder.
    fn unlink(&mut self, folder_uid: &str, record_uid: &str) -> Result<()>;
    /// Adds an attachment.
    fn insert_attachment(&mut self, row: &AttachmentRow) -> Result<()>;
    /// Sets a record's pending rotation.
    fn put_pending(&mut self, row: &PendingRow) -> Result<()>;
    /// Clears a record's pending rotation.
    fn delete_pending(&mut self, record_uid: &str) -> Result<()>;
    /// Appends to the audit log.
    fn insert_audit(&mut self, row: &AuditRow) -> Result<()>;
    /// Takes a record's rotation lock for `row`: when `replacing` is
    /// `None`, only if nobody holds it; else only if the holder is still
    /// the one whose token is `replacing` (a holder found gone). Returns
    /// whether `row` now holds it; nothing is written otherwise. A
    /// compare-and-set, so that it is safe even where two transactions may
    /// both have read the old state (a PostgreSQL backend: insert on
    /// conflict do nothing, update where token = replacing).
    fn take_rotation_lock(
        &mut self,
        row: &RotationLockRow,
        replacing: Option<&str>,
    ) -> Result<bool>;
    /// Sets the heartbeat of the lock `token` holds on `record_uid`;
    /// `false` when that token no longer holds it.
    fn touch_rotation_lock(
        &mut self,
        record_uid: &str,
        token: &str,
        heartbeat: i64,
    ) -> Result<bool>;
    /// Lets go of the lock `token` holds on `record_uid` (nothing when it
    /// no longer holds it); returns whether it did.
    fn release_rotation_lock(&mut self, record_uid: &str, token: &str) -> Result<bool>;
    /// Adds an application; [`crate::vault::VaultError::Exists`] when the
    /// tenant has one of that name.
    fn insert_app(&mut self, row: &AppRow) -> Result<()>;
    /// Adds or replaces a client device.
    fn put_app_client(&mut self, row: &AppClientRow) -> Result<()>;
    /// Removes a client device; whether it was there.
    fn delete_app_client(&mut self, uid: &str) -> Result<bool>;
    /// Replaces an application's wrapped key (re-keying).
    fn update_app_key(&mut self, uid: &str, wrapped_key: &[u8]) -> Result<()>;
    /// Removes an application with its client devices and its record key
    /// rows; whether it was there.
    fn delete_app(&mut self, uid: &str) -> Result<bool>;
    /// Erases the key copies of a tenant's tokens that expired unused (at
    /// `now`, epoch ms); how many clients had some.
    fn erase_expired_tokens(&mut self, tenant_uid: &str, now: i64) -> Result<u64>;
}

/// A storage backend.
pub trait Store: StoreRead + Send {
    /// Runs `f` in one write transaction (exclusive against other writers,
    /// waiting for them). Commits when `f` returns `Ok`, rolls back otherwise.
    ///
    /// # Errors
    ///
    /// `f`'s error, or a storage error (lock timeout, I/O).
    fn write(&mut self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()>;

    /// Like [`Store::write`], but returns without waiting for the disk:
    /// the transaction is still atomic and survives the process crashing,
    /// but a power loss right after may lose it (never an earlier durable
    /// write). For writes whose loss leaves state that is resolved anyway,
    /// such as finishing a rotation whose pending state is durable.
    ///
    /// # Errors
    ///
    /// As [`Store::write`].
    fn write_deferred(&mut self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()> {
        self.write(f)
    }

    /// Like [`Store::write_deferred`], returning how to wait for the disk
    /// afterwards: [`Flush::wait`] makes this transaction (and every one
    /// committed before it) durable without holding the store, so other
    /// work on it goes on during the wait.
    ///
    /// # Errors
    ///
    /// As [`Store::write`].
    fn write_then_flush(
        &mut self,
        f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>,
    ) -> Result<Flush> {
        self.write(f).map(|()| Flush::Done)
    }

    /// After a write that replaced or deleted keys a removed party may
    /// still hold the old key of (re-key, `app remove`, `app unshare`):
    /// empties whatever log still holds old page images, so the old
    /// wrapped keys are in no file a reader of the store can carve.
    /// SQLite truncates its write-ahead log (freed cells and pages are
    /// already zeroed: `secure_delete` is on); PostgreSQL has nothing to
    /// do (a device role reads rows, never pages).
    ///
    /// Returns the file that still holds old pages when another process's
    /// open read kept SQLite from truncating its log (the next checkpoint
    /// with no reader does it), `None` when nothing is left.
    ///
    /// # Errors
    ///
    /// Storage errors (the write itself is committed either way).
    fn erase_freed(&mut self) -> Result<Option<String>> {
        Ok(None)
    }
}

/// The wait for the disk that makes committed transactions durable, to be
/// done away from the store ([`Store::write_then_flush`]).
#[derive(Debug)]
#[must_use = "the transaction is not durable until `wait` returns"]
pub enum Flush {
    /// Nothing to wait for.
    Done,
    /// `fdatasync` this file (SQLite's write-ahead log, which holds the
    /// committed transaction), opened before the commit.
    Sync {
        /// The open file.
        file: std::fs::File,
        /// Its path, for messages.
        path: std::path::PathBuf,
    },
}

impl Flush {
    /// Waits until the transaction is on the disk.
    ///
    /// # Errors
    ///
    /// [`super::VaultError::Storage`] when the file cannot be synced; the
    /// transaction is then committed but may not survive a power loss.
    pub fn wait(self) -> Result<()> {
        match self {
            Flush::Done => Ok(()),
            Flush::Sync { file, path } => file.sync_data().map_err(|e| {
                super::VaultError::Storage(format!(
                    "cannot sync {} to the disk: {e}",
                    path.display()
                ))
            }),
        }
    }
}

/// Checks both backends' tests run on their own store.
#[cfg(test)]
pub(crate) mod backend_checks {
    use super::{AppClientRow, AppRow, RecordKeyRow, Store, StoreRead, StoreTx};
    use crate::vault::error::{Result, VaultError};

    /// After an upgrade from before `users.must_rekey`, with user `old` of
    /// tenant `t1` written then: it need not be re-keyed; a user written
    /// to be re-keyed reads back so, and a re-key (`update_user`) clears
    /// the flag and replaces the key pair.
    pub fn must_rekey_after_upgrade(store: &mut dyn Store) {
        use super::UserRow;
        let users = store.users("t1").expect("users");
        assert_eq!(users.len(), 1);
        assert!(!users[0].must_rekey, "a user from before is not flagged");
        let mut flagged = UserRow {
            uid: "new".into(),
            email: "new@x.example".into(),
            must_rekey: true,
            ..users[0].clone()
        };
        store
            .write(&mut |tx| tx.insert_user(&flagged))
            .expect("insert");
        let read = |store: &dyn Store| {
            store
                .users("t1")
                .expect("users")
                .into_iter()
                .find(|u| u.uid == "new")
                .expect("the new user")
        };
        assert!(read(&*store).must_rekey);
        flagged.must_rekey = false;
        flagged.public_key = vec![9; 32];
        flagged.wrapped_private_key = vec![8; 8];
        store
            .write(&mut |tx| tx.update_user(&flagged))
            .expect("update");
        let now = read(&*store);
        assert!(!now.must_rekey);
        assert_eq!(
            (now.public_key, now.wrapped_private_key),
            (vec![9; 32], vec![8; 8])
        );
    }

    /// A share of record `r1` (whose key `u1` holds) with `holder`.
    fn share(holder: &str, expires: Option<i64>) -> RecordKeyRow {
        RecordKeyRow {
            record_uid: "r1".into(),
            holder_uid: holder.into(),
            wrapped_key: vec![7; 8],
            can_edit: false,
            can_share: false,
            expires,
        }
    }

    /// Writes a share of `r1` that ended (`gone`) and one that has not
    /// (`later`), at `now`.
    pub fn write_ended_and_running_shares(tx: &mut dyn StoreTx, now: i64) -> Result<()> {
        tx.put_record_key(&share("gone", Some(now - 1)))?;
        tx.put_record_key(&share("later", Some(now + 60_000)))
    }

    /// After [`write_ended_and_running_shares`]: the ended share is not
    /// handed to its holder, the running one is with its end, and the
    /// record's owner still sees every row.
    pub fn ended_shares_are_left_out(store: &dyn StoreRead, now: i64) {
        let gone = ["gone".to_string()];
        assert!(store.keyed_records(&gone).expect("scan").is_empty());
        assert!(store.keyed_record("r1", &gone).expect("one").is_none());
        let both = ["gone".to_string(), "later".to_string()];
        let scanned = store.keyed_records(&both).expect("scan");
        assert_eq!(scanned.len(), 1);
        assert_eq!(scanned[0].key.holder_uid, "later");
        let one = store.keyed_record("r1", &both).expect("one");
        assert_eq!(one.map(|r| r.key.expires), Some(Some(now + 60_000)));
        assert_eq!(store.record_keys("r1").expect("all").len(), 3);
    }

    /// On a store holding record `r1` (key held by `u1`): linking it twice
    /// is fine; once it is deleted, a key or a link for it is refused
    /// ("record not found") and nothing is left of it.
    pub fn keys_and_links_of_a_deleted_record_are_refused(store: &mut dyn Store) {
        let not_found = |r: Result<()>| matches!(r, Err(VaultError::NotFound { .. }));
        store
            .write(&mut |tx| {
                tx.link("f1", "r1")?;
                tx.link("f1", "r1")
            })
            .expect("linking twice is fine");
        store.write(&mut |tx| tx.delete_record("r1")).expect("rm");
        assert!(not_found(
            store.write(&mut |tx| tx.put_record_key(&share("u2", None)))
        ));
        assert!(not_found(store.write(&mut |tx| tx.link("f1", "r1"))));
        let counts: std::collections::HashMap<_, _> =
            store.row_counts().expect("counts").into_iter().collect();
        assert_eq!(counts["record_keys"], 0, "no key of a deleted record");
        assert_eq!(counts["folder_records"], 0, "no link of a deleted record");
    }

    /// On a store holding tenant `t1`: an application and a client are
    /// stored and read back as written; a second application of the same
    /// name is refused; a client is replaced in place and removed once.
    pub fn apps_and_clients_round_trip(store: &mut dyn Store) {
        let app = AppRow {
            uid: "a1".into(),
            tenant_uid: "t1".into(),
            owner_uid: "u1".into(),
            name: "CI".into(),
            wrapped_key: vec![1; 8],
            created: 5,
        };
        let mut client = AppClientRow {
            uid: "c1".into(),
            app_uid: "a1".into(),
            tenant_uid: "t1".into(),
            created: 6,
            token_expires: 7,
            access_expires: None,
            unlock_ip: true,
            token_key: Some(vec![2; 8]),
            public_key: None,
            wrapped_app_key: None,
            bound: None,
            access_minutes: None,
            owner_token_key: None,
        };
        store
            .write(&mut |tx| {
                tx.insert_app(&app)?;
                tx.put_app_client(&client)
            })
            .expect("app and client");
        let twin = AppRow {
            uid: "a2".into(),
            ..app.clone()
        };
        assert!(matches!(
            store.write(&mut |tx| tx.insert_app(&twin)),
            Err(VaultError::Exists(_))
        ));
        let apps = store.apps("t1").expect("apps");
        assert_eq!(apps.len(), 1);
        assert_eq!(
            (apps[0].uid.as_str(), apps[0].wrapped_key.as_slice()),
            ("a1", &[1u8; 8][..])
        );
        client.token_key = None;
        client.public_key = Some(vec![3; 32]);
        client.wrapped_app_key = Some(vec![4; 8]);
        client.bound = Some(9);
        client.access_expires = Some(10);
        store
            .write(&mut |tx| tx.put_app_client(&client))
            .expect("bind");
        let read = store.app_client("c1").expect("read").expect("there");
        assert_eq!(read.token_key, None);
        assert_eq!(read.public_key, Some(vec![3; 32]));
        assert_eq!(
            (read.bound, read.access_expires, read.unlock_ip),
            (Some(9), Some(10), true)
        );
        assert_eq!(store.app_clients("t1").expect("clients").len(), 1);
        let removed = store.write(&mut |tx| {
            assert!(tx.delete_app_client("c1")?);
            assert!(!tx.delete_app_client("c1")?);
            Ok(())
        });
        removed.expect("remove");
        assert!(store.app_client("c1").expect("read").is_none());
        super::apps::checks::rekey_erase_and_remove(store, &client);
    }
}
