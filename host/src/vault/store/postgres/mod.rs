//! The PostgreSQL backend: one vault per database (in its `keeper`
//! schema), shared by every machine and user that can reach it. The server
//! sees exactly what a SQLite file holds — ids, revisions, times, e-mails,
//! flags and sealed blobs — never a key or a plaintext.
//!
//! - Connections: `conn.rs` (a deadpool pool of tokio-postgres clients,
//!   TLS by `tls.rs` when the URL asks, parsed by `url.rs`).
//! - Schema: `schema.rs`, versioned migrations applied by keeper.
//! - Writes: each [`Store::write`] is one `SERIALIZABLE` transaction; a
//!   serialization failure or deadlock rolls it back and runs it again from
//!   the start, after an exponential backoff with jitter, up to
//!   [`MAX_ATTEMPTS`] times ([`VaultError::Contended`] after that). Record
//!   updates lock the row and check its revision (`Conflict`: "changed by
//!   another process") so a stale write never overwrites.
//! - Rotation locks work across machines as on one: the lock row is taken
//!   by compare-and-set (`INSERT … ON CONFLICT DO NOTHING`, `UPDATE … WHERE
//!   token = old`) and a holder on another machine is presumed gone only
//!   after its lease (`vault/rotation_lock`).
//! - [`Store::write_deferred`] commits with `synchronous_commit = off`
//!   (atomic, survives this process crashing, may be lost if the server
//!   crashes right after), as SQLite's deferred writes.

mod apps;
mod conn;
mod enterprise;
mod reads;
mod roles;
mod schema;
mod tls;
mod url;
mod writes;

use std::time::Duration;

use tokio_postgres::IsolationLevel;

pub use schema::SCHEMA_VERSION;
pub use url::PgUrl;

use super::{
    AppClientRow, AppRow, AttachmentRow, AuditRow, FolderRow, KeyedRecordRow, PendingRow,
    RecordKeyRow, RecordRow, RotationLockRow, ShareRow, Store, StoreRead, StoreTx, TeamMemberRow,
    TeamRow, TenantRow, UserRow,
};
use crate::vault::error::{Result, VaultError};
use conn::{Connections, Db, wait};

/// How many times a write transaction is tried when the server keeps
/// cancelling it for concurrent ones.
pub const MAX_ATTEMPTS: u32 = 30;

/// A vault in a PostgreSQL database.
pub struct PgStore {
    conns: Connections,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", self.conns.url())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Creates the vault's schema in an existing database and runs `init`
    /// in the same transaction: a failure leaves the database as it was.
    ///
    /// # Errors
    ///
    /// [`VaultError::AlreadyExists`] when the database already holds a
    /// vault; [`VaultError::Invalid`] when it holds a `keeper` schema that
    /// is not one; connection and storage errors.
    pub fn create(
        url: &PgUrl,
        init: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>,
    ) -> Result<Self> {
        let conns = Connections::new(url)?;
        {
            let mut client = conns.get()?;
            // READ COMMITTED: after waiting for a concurrent creator's
            // lock, the check below sees what it committed.
            let tx = wait(client.build_transaction().start())?;
            let mut db = Db::Tx(&tx);
            db.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&schema::MIGRATION_LOCK],
            )?;
            match schema::state(&db)? {
                (_, true) => return Err(VaultError::AlreadyExists(url.to_string())),
                (true, false) => {
                    return Err(VaultError::Invalid(format!(
                        "{url} already has a schema named \"keeper\" that is not a keeper vault; \
                         it was left untouched"
                    )));
                }
                (false, false) => {}
            }
            schema::create(&db)?;
            init(&mut db)?;
            wait(tx.commit())?;
        }
        Ok(Self { conns })
    }

    /// Opens the vault in a database, upgrading its schema when it is
    /// older than this keeper's.
    ///
    /// # Errors
    ///
    /// [`VaultError::NoVault`] when the database holds no vault;
    /// [`VaultError::UnsupportedVersion`] for a newer schema;
    /// [`VaultError::Corrupted`] without keeper's metadata; connection
    /// errors (naming the server, never the password).
    pub fn open(url: &PgUrl) -> Result<Self> {
        let conns = Connections::new(url)?;
        {
            let mut client = conns.get()?;
            let version = {
                let db = Db::Client(&client);
                match schema::state(&db)? {
                    (_, true) => {}
                    (true, false) => {
                        return Err(VaultError::Corrupted(format!(
                            "{url} has a \"keeper\" schema without vault metadata"
                        )));
                    }
                    (false, false) => return Err(VaultError::NoVault(url.to_string())),
                }
                schema::check(&db)?
            };
            if version < SCHEMA_VERSION {
                loop {
                    let tx = wait(client.build_transaction().start())?;
                    let more = schema::upgrade_step(&Db::Tx(&tx))?;
                    wait(tx.commit())?;
                    if !more {
                        break;
                    }
                }
            }
        }
        Ok(Self { conns })
    }

    fn read<T>(&self, f: impl FnOnce(&Db<'_, '_>) -> Result<T>) -> Result<T> {
        let client = self.conns.get()?;
        f(&Db::Client(&client))
    }

    /// One attempt at a write transaction.
    fn attempt(
        &self,
        durable: bool,
        f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>,
    ) -> Result<()> {
        let mut client = self.conns.get()?;
        let tx = wait(
            client
                .build_transaction()
                .isolation_level(IsolationLevel::Serializable)
                .start(),
        )?;
        let mut db = Db::Tx(&tx);
        if !durable {
            db.batch("SET LOCAL synchronous_commit = off")?;
        }
        f(&mut db)?;
        wait(tx.commit())?;
        Ok(())
    }

    fn write_with(
        &mut self,
        durable: bool,
        f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>,
    ) -> Result<()> {
        let mut attempt = 0;
        loop {
            match self.attempt(durable, f) {
                Err(VaultError::Contended(why)) => {
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
                        return Err(VaultError::Contended(format!(
                            "{why}; gave up after {attempt} attempts"
                        )));
                    }
                    tracing::debug!(
                        attempt,
                        "vault write cancelled by a concurrent one; retrying"
                    );
                    std::thread::sleep(backoff(attempt));
                }
                other => return other,
            }
        }
    }
}

/// Exponential backoff with jitter: ~4 ms doubling to at most ~0.5 s.
fn backoff(attempt: u32) -> Duration {
    let base = 4u64.saturating_mul(1 << attempt.min(7)).min(500);
    let jitter = rand::random_range(0.5..1.5);
    Duration::from_micros((base as f64 * 1000.0 * jitter) as u64)
}

/// Forwards every [`StoreRead`] method to a pooled connection.
macro_rules! forward_reads {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl StoreRead for PgStore {
            $(fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                self.read(|db| db.$name($($arg),*))
            })*
            fn scan_keyed_records(
                &self,
                holders: &[String],
                f: &mut dyn FnMut(KeyedRecordRow) -> Result<()>,
            ) -> Result<()> {
                self.read(|db| db.scan_keyed_records(holders, f))
            }
            fn tenant_records(
                &self,
                tenant_uid: &str,
                f: &mut dyn FnMut(RecordRow) -> Result<()>,
            ) -> Result<()> {
                self.read(|db| db.tenant_records(tenant_uid, f))
            }
        }
    };
}

forward_reads! {
    tenants() -> Vec<TenantRow>;
    users(t: &str) -> Vec<UserRow>;
    all_users() -> Vec<UserRow>;
    user(uid: &str) -> Option<UserRow>;
    teams(t: &str) -> Vec<TeamRow>;
    team_members(t: &str) -> Vec<TeamMemberRow>;
    folders(t: &str) -> Vec<FolderRow>;
    shares(t: &str) -> Vec<ShareRow>;
    links(t: &str) -> Vec<(String, String)>;
    keyed_records(h: &[String]) -> Vec<KeyedRecordRow>;
    keyed_record(u: &str, h: &[String]) -> Option<KeyedRecordRow>;
    record_keys(u: &str) -> Vec<RecordKeyRow>;
    record_history(u: &str) -> Vec<RecordRow>;
    attachments(u: &str) -> Vec<AttachmentRow>;
    pending(u: &str) -> Option<PendingRow>;
    pendings(t: &str) -> Vec<PendingRow>;
    audit(t: &str) -> Vec<AuditRow>;
    rotation_lock(u: &str) -> Option<RotationLockRow>;
    row_counts() -> Vec<(&'static str, i64)>;
    apps(t: &str) -> Vec<AppRow>;
    app_clients(t: &str) -> Vec<AppClientRow>;
    app_client(u: &str) -> Option<AppClientRow>;
    app_record_keys(a: &str) -> Vec<RecordKeyRow>;
}

impl Store for PgStore {
    fn write(&mut self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()> {
        self.write_with(true, f)
    }

    fn write_deferred(&mut self, f: &mut dyn FnMut(&mut dyn StoreTx) -> Result<()>) -> Result<()> {
        self.write_with(false, f)
    }
}

/// Creates the database `url` names (on the same server, through its
/// `postgres` database). For tests and `store migrate`.
///
/// # Errors
///
/// Connection errors; [`VaultError::Storage`] when it exists already.
pub fn create_database(url: &PgUrl) -> Result<()> {
    admin(
        url,
        &format!("CREATE DATABASE {}", quote_ident(&url.dbname)?),
    )
}

/// Drops the database `url` names, ending its other sessions. For tests.
///
/// # Errors
///
/// Connection and storage errors.
pub fn drop_database(url: &PgUrl) -> Result<()> {
    admin(
        url,
        &format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&url.dbname)?
        ),
    )
}

fn admin(url: &PgUrl, sql: &str) -> Result<()> {
    let conns = Connections::with_search_path(&url.with_dbname("postgres"), false)?;
    let client = conns.get()?;
    Db::Client(&client).batch(sql)
}

fn quote_ident(name: &str) -> Result<String> {
    if name.is_empty() || name.contains('\0') {
        return Err(VaultError::Invalid(format!("bad database name {name:?}")));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

#[cfg(test)]
mod tests;
