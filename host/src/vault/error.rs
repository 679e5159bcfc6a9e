//! The vault's error type. Messages say what failed and what to do; none
//! ever contains a password, key or decrypted field.

use std::path::PathBuf;

/// Everything that can go wrong in [`crate::vault`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// No vault exists at the location (a file path, or a database URL
    /// without its password).
    #[error("no vault at {0}; create one with `keeper init --user EMAIL`")]
    NoVault(String),
    /// `create` was asked to write over an existing file or database vault.
    #[error("{0} already exists; refusing to overwrite it")]
    AlreadyExists(String),
    /// The file is not SQLite, or is SQLite but not a keeper vault.
    #[error("{path} is not a keeper vault ({reason}); it was left untouched")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// The vault was written by a newer keeper.
    #[error("the vault format version {0} is newer than this keeper supports; upgrade keeper")]
    UnsupportedVersion(i64),
    /// Structural damage or failed authentication of stored data.
    #[error("vault file is corrupted or tampered with: {0}")]
    Corrupted(String),
    /// The master password does not unlock the user's key.
    #[error("wrong master password")]
    WrongPassword,
    /// A device session no longer opens the vault: the master password
    /// changed since the device logged in (or the session was damaged).
    #[error(
        "this device's login session no longer opens the vault: the master password changed \
         since it was made (or it was damaged); log in with the master password"
    )]
    SessionEnded,
    /// The logged-in user's stored key header or tenant changed since this
    /// session unlocked (`enterprise-rekey` or `change-master-password` in
    /// another process, a move into a managed company, the user removed):
    /// nothing may be written under what it unlocked with.
    #[error("{0} changed since this session unlocked; log in again (nothing was written)")]
    StaleSession(String),
    /// The key-derivation parameters in the file exceed our caps.
    #[error("vault file asks for excessive key-derivation work ({0}); refusing to open it")]
    ExcessiveWork(String),
    /// No such user in the vault.
    #[error("no user {0} in this vault")]
    UnknownUser(String),
    /// A record, folder, team… was not found.
    #[error("{kind} not found: {name}")]
    NotFound {
        /// "record", "folder", "team"…
        kind: &'static str,
        /// What was looked up.
        name: String,
    },
    /// A title or path matched several records or folders.
    #[error("{name} matches {count} {kind}s; use a uid or a full path")]
    Ambiguous {
        /// "record" or "folder".
        kind: &'static str,
        /// What was looked up.
        name: String,
        /// How many matched.
        count: usize,
    },
    /// Another writer changed the item since it was read.
    #[error("{0} was changed by another process; retry")]
    Conflict(String),
    /// The database kept refusing the transaction because of concurrent
    /// ones (PostgreSQL serialization failures or deadlocks), even after
    /// retries with backoff; nothing was written.
    #[error("the vault is busy with concurrent writes ({0}); nothing was written; retry")]
    Contended(String),
    /// The current user may not do this.
    #[error("permission denied: {0}")]
    Denied(String),
    /// Input that does not fit the record model (field shape, path…).
    #[error("{0}")]
    Invalid(String),
    /// The user is recorded as moving into a managed company
    /// (`msp-convert-node`) and their next password unlock has not
    /// finished the move yet: nothing may link them to their old tenant
    /// meanwhile.
    #[error(
        "{email} is moving to managed company \"{company}\" (msp-convert-node); the move \
         finishes at their next login with their master password if it can (run this after \
         it), and `enterprise-user EMAIL --node NODE` with a node of the MSP cancels it"
    )]
    Moving {
        /// The user's e-mail.
        email: String,
        /// The company's name.
        company: String,
    },
    /// An item already exists (user, team, folder).
    #[error("{0} already exists")]
    Exists(String),
    /// An attachment over the size cap.
    #[error("attachment {name} is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// File name.
        name: String,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// Another live keeper process is rotating the record.
    #[error("record {uid} is being rotated by {holder}; nothing was changed")]
    RotationBusy {
        /// The record.
        uid: String,
        /// Who rotates it.
        holder: super::rotation_lock::LockHolder,
    },
    /// This process no longer holds the record's rotation lock (another
    /// process presumed it gone after its lease expired and took over).
    #[error(
        "the rotation lock of record {0} was taken over by another keeper process; \
         this one wrote nothing more, and the new holder resolves the rotation"
    )]
    LockLost(String),
    /// The user must be re-keyed before anything else: someone else (the
    /// distributor that provisioned their MSP) chose their first master
    /// password and can open their keys until then.
    #[error(
        "{0} must be re-keyed before use: this account was provisioned by a distributor, who chose \
         its first master password and can open its keys (and the MSP's) until they are replaced. \
         Run `keeper enterprise-rekey` as {0}: it asks for a new master password and replaces the \
         keys (see docs/msp.md, \"Re-key an MSP\"); every other command is refused until then"
    )]
    MustRekey(String),
    /// The storage backend failed (I/O, locking, SQL).
    #[error("vault storage error: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for VaultError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) =>
            {
                VaultError::Corrupted(e.to_string())
            }
            _ => VaultError::Storage(e.to_string()),
        }
    }
}

/// Shorthand for vault results.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;
