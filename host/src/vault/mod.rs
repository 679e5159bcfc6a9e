//! The encrypted vault: storage, key hierarchy, Keeper's record model,
//! folders, users and teams. See `README.md` in this folder for the layout.
//!
//! ```text
//! master password ─Argon2id(params in header)→ KEK ─unwraps→ user data key
//!   data key ─unwraps→ user's X25519 private key, record keys, user-folder names
//!   private key ─opens→ team keys, shared-folder keys (sealed boxes)
//!   record key ─opens→ record data (AD = uid + revision), attachments, pending rotation
//! ```
//!
//! [`Vault::create`] makes a vault, [`Vault::open`] checks a file and returns
//! a [`LockedVault`], [`LockedVault::unlock`] derives the keys. Every write is
//! one storage transaction.

pub(crate) mod ad;
pub mod apps;
mod batch;
pub mod crypto;
mod device;
pub mod duplicates;
mod error;
pub mod folders;
pub mod membership;
pub mod model;
pub mod path;
mod pending;
mod record_permissions;
mod record_shares;
mod records;
mod rekey;
pub mod rotation_lock;
pub mod search;
pub mod store;
pub(crate) mod tenancy;
pub(crate) mod tenant_move;
#[doc(hidden)]
pub mod testing;
mod users;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use batch::{Action, Batch, FolderSpec, NewAttachment, NewRecord};
pub use error::{Result, VaultError};
pub use folders::FolderTree;
pub use model::{Field, PasswordChange, Record, RecordData, now_ms};
pub use record_permissions::{PermissionChange, PermissionRequest};
pub use record_shares::{Expiry, ShareAction, ShareChangeKind, SharePlan, ShareRequest};
pub use records::MAX_ATTACHMENT;
pub(crate) use records::check_attachment;
pub(crate) use rekey::{Rekeying, UserRekeyed};
pub use rotation_lock::RotationLock;
pub use search::SearchPattern;
pub use secrecy::{ExposeSecret, SecretString};
pub use store::{FolderKind, SharedFolderDefaults};
pub use users::{Grantee, UserInfo};

use crypto::{KdfParams, Key, KeyPair};
pub use store::Flush;
pub use store::Location;
use store::{HolderKind, KeyedRecordRow, Store, StoreRead, StoreTx, TenantRow, UserRow};

/// File name of the vault inside the data directory.
pub const VAULT_FILE: &str = "vault.db";

/// The default vault path for a data directory.
pub fn default_path(data_dir: &Path) -> PathBuf {
    data_dir.join(VAULT_FILE)
}

/// The unlocked keys of one user.
pub(crate) struct KeyRing {
    data_key: Key,
    keypair: KeyPair,
    /// Team uid → team key.
    teams: HashMap<String, Key>,
    /// Shared-folder uid → shared-folder key.
    shared_folders: HashMap<String, Key>,
}

/// Who is logged in, with their keys.
pub(crate) struct Session {
    tenant_uid: String,
    user_uid: String,
    email: String,
    ring: KeyRing,
    /// [`user_checksum`] of the user row this session unlocked with (or
    /// last wrote itself): every write checks it is still the stored one.
    header: Vec<u8>,
}

impl Session {
    /// Refuses, reading `store` (inside the write transaction), when the
    /// user's stored row is no longer the one this session unlocked with:
    /// its keys were replaced, its tenant changed, or it was removed.
    ///
    /// # Errors
    ///
    /// [`VaultError::StaleSession`]; storage errors.
    fn check_unlocked_header(&self, store: &(impl StoreRead + ?Sized)) -> Result<()> {
        let what = match store.user(&self.user_uid)? {
            Some(now) if user_checksum(&now) == self.header => return Ok(()),
            Some(now) if now.tenant_uid != self.tenant_uid => format!(
                "the tenant of {} (a move into a managed company in another process)",
                self.email
            ),
            Some(now) if now.email != self.email => format!("the account of {}", self.email),
            Some(_) => format!(
                "the keys of {} (enterprise-rekey or change-master-password in another process)",
                self.email
            ),
            None => format!("the account of {} (removed)", self.email),
        };
        Err(VaultError::StaleSession(what))
    }

    /// Holders whose keys this session has: the user and its shared folders.
    fn holders(&self) -> Vec<String> {
        let mut h = Vec::with_capacity(1 + self.ring.shared_folders.len());
        h.push(self.user_uid.clone());
        h.extend(self.ring.shared_folders.keys().cloned());
        h
    }

    /// The keyed row of a record this session can open.
    fn keyed_row(&self, store: &dyn StoreRead, uid: &str) -> Result<KeyedRecordRow> {
        store
            .keyed_record(uid, &self.holders())?
            .ok_or_else(|| VaultError::NotFound {
                kind: "record",
                name: uid.to_string(),
            })
    }

    /// The key that wraps record keys for `holder` (user data key or shared-folder key).
    fn holder_key(&self, holder: &str) -> Result<&Key> {
        if holder == self.user_uid {
            Ok(&self.ring.data_key)
        } else {
            self.ring
                .shared_folders
                .get(holder)
                .ok_or_else(|| VaultError::Denied(format!("no key for shared folder {holder}")))
        }
    }
}

/// An opened but still locked vault file.
pub struct LockedVault {
    store: Box<dyn Store>,
    location: Location,
    /// Whether a user who must be re-keyed may be unlocked
    /// ([`LockedVault::for_rekey`]).
    rekeying: bool,
}

impl std::fmt::Debug for LockedVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockedVault")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// An unlocked vault: the store plus one user's keys.
pub struct Vault {
    store: Box<dyn Store>,
    location: Location,
    s: Session,
    weak_kdf: bool,
    /// What the unlock has to tell the user (a finished or refused move).
    notices: Vec<String>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("location", &self.location)
            .field("user", &self.s.email)
            .finish_non_exhaustive()
    }
}

/// Checksum over a user's key header (detects accidental damage; the AEAD
/// associated data is what authenticates it).
fn user_checksum(u: &UserRow) -> Vec<u8> {
    crypto::sha256(&[
        u.uid.as_bytes(),
        u.tenant_uid.as_bytes(),
        u.email.as_bytes(),
        &u.kdf,
        &u.wrapped_data_key,
        &u.public_key,
        &u.wrapped_private_key,
    ])
    .to_vec()
}

/// Makes a user row with fresh keys, returning it with its data key and key pair.
pub(crate) fn new_user_row(
    tenant_uid: &str,
    email: &str,
    password: &SecretString,
    params: &KdfParams,
) -> Result<(UserRow, Key, KeyPair)> {
    let uid = crypto::new_uid();
    let kdf = params.encode();
    let kek = params.derive(password)?;
    let data_key = Key::generate();
    let keypair = KeyPair::generate();
    let mut row = UserRow {
        wrapped_data_key: kek.wrap(&data_key, &ad::data_key(tenant_uid, &uid, &kdf)),
        wrapped_private_key: data_key.wrap(&keypair.secret(), &ad::private_key(&uid)),
        public_key: keypair.public().to_vec(),
        uid,
        tenant_uid: tenant_uid.to_string(),
        email: email.trim().to_lowercase(),
        kdf,
        checksum: Vec::new(),
        created: now_ms(),
        must_rekey: false,
    };
    row.checksum = user_checksum(&row);
    Ok((row, data_key, keypair))
}

fn validate_email(email: &str) -> Result<()> {
    let e = email.trim();
    if e.is_empty() || !e.contains('@') || e.chars().any(char::is_whitespace) {
        return Err(VaultError::Invalid(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    Ok(())
}

impl Vault {
    /// Creates a vault file at `path` with one tenant ("default") and its
    /// first user.
    ///
    /// # Errors
    ///
    /// [`VaultError::AlreadyExists`] when anything exists at `path` (it is
    /// never overwritten), [`VaultError::Invalid`] for a bad e-mail, storage
    /// errors.
    pub fn create(
        path: &Path,
        email: &str,
        password: &SecretString,
        params: &KdfParams,
    ) -> Result<Vault> {
        Self::create_at(&Location::File(path.to_path_buf()), email, password, params)
    }

    /// Creates a vault at `location` (a file or a PostgreSQL database) with
    /// one tenant ("default") and its first user.
    ///
    /// # Errors
    ///
    /// [`VaultError::AlreadyExists`] when a vault (or, for a file, anything)
    /// is there already; [`VaultError::Invalid`] for a bad e-mail; storage
    /// and connection errors.
    pub fn create_at(
        location: &Location,
        email: &str,
        password: &SecretString,
        params: &KdfParams,
    ) -> Result<Vault> {
        validate_email(email)?;
        if password.expose_secret().is_empty() {
            return Err(VaultError::Invalid(
                "the master password must not be empty".into(),
            ));
        }
        let mut tenant = TenantRow {
            uid: crypto::new_uid(),
            name: "default".into(),
            parent_uid: None,
            created: now_ms(),
            creator_uid: None,
        };
        let (user, data_key, keypair) = new_user_row(&tenant.uid, email, password, params)?;
        tenant.creator_uid = Some(user.uid.clone());
        let store = store::create(location, &mut |tx: &mut dyn StoreTx| {
            tx.insert_tenant(&tenant)?;
            tx.insert_user(&user)
        })?;
        Ok(Vault {
            store,
            location: location.clone(),
            s: Session {
                tenant_uid: tenant.uid.clone(),
                user_uid: user.uid.clone(),
                email: user.email.clone(),
                ring: KeyRing {
                    data_key,
                    keypair,
                    teams: HashMap::new(),
                    shared_folders: HashMap::new(),
                },
                header: user_checksum(&user),
            },
            weak_kdf: params.is_weak(),
            notices: Vec::new(),
        })
    }

    /// Opens the vault file at `path` without unlocking it. Checks that the
    /// file is a keeper vault, of a supported version, and structurally intact.
    ///
    /// # Errors
    ///
    /// [`VaultError::NoVault`], [`VaultError::Foreign`],
    /// [`VaultError::Corrupted`], [`VaultError::UnsupportedVersion`].
    pub fn open(path: &Path) -> Result<LockedVault> {
        Self::open_at(&Location::File(path.to_path_buf()))
    }

    /// Opens the vault at `location` (a file or a PostgreSQL database)
    /// without unlocking it.
    ///
    /// # Errors
    ///
    /// As [`Vault::open`]; connection errors for a database.
    pub fn open_at(location: &Location) -> Result<LockedVault> {
        let store = store::open(location)?;
        Ok(LockedVault {
            store,
            location: location.clone(),
            rekeying: false,
        })
    }

    /// Where the vault is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The logged-in user.
    pub fn user(&self) -> UserInfo {
        UserInfo {
            uid: self.s.user_uid.clone(),
            email: self.s.email.clone(),
            tenant_uid: self.s.tenant_uid.clone(),
        }
    }

    /// Whether the user's key-derivation parameters are below the
    /// recommended minimum (e.g. made with `KEEPER_TEST_FAST_KDF`).
    pub fn has_weak_kdf(&self) -> bool {
        self.weak_kdf
    }

    /// Runs `f` in one write transaction and returns its value.
    fn write<T>(&mut self, f: impl FnMut(&mut dyn StoreTx, &Session) -> Result<T>) -> Result<T> {
        self.write_with(true, f)
    }

    /// [`Vault::write`] without waiting for the disk ([`Store::write_deferred`]).
    fn write_deferred<T>(
        &mut self,
        f: impl FnMut(&mut dyn StoreTx, &Session) -> Result<T>,
    ) -> Result<T> {
        self.write_with(false, f)
    }

    /// [`Vault::write`], returning the wait for the disk to do after
    /// letting go of the vault ([`Store::write_then_flush`]).
    fn write_then_flush<T>(
        &mut self,
        mut f: impl FnMut(&mut dyn StoreTx, &Session) -> Result<T>,
    ) -> Result<(T, Flush)> {
        let Vault { store, s, .. } = self;
        let mut out = None;
        let flush = store.write_then_flush(&mut |tx: &mut dyn StoreTx| {
            s.check_unlocked_header(&*tx)?;
            out = Some(f(tx, s)?);
            Ok(())
        })?;
        let out =
            out.ok_or_else(|| VaultError::Storage("transaction produced no result".into()))?;
        Ok((out, flush))
    }

    pub(crate) fn write_with<T>(
        &mut self,
        durable: bool,
        mut f: impl FnMut(&mut dyn StoreTx, &Session) -> Result<T>,
    ) -> Result<T> {
        let Vault { store, s, .. } = self;
        let mut out = None;
        let mut run = |tx: &mut dyn StoreTx| {
            s.check_unlocked_header(&*tx)?;
            out = Some(f(tx, s)?);
            Ok(())
        };
        if durable {
            store.write(&mut run)?;
        } else {
            store.write_deferred(&mut run)?;
        }
        out.ok_or_else(|| VaultError::Storage("transaction produced no result".into()))
    }

    /// Checks that the user's stored key header and tenant are still those
    /// this session unlocked with (every write checks it again inside its
    /// transaction).
    ///
    /// # Errors
    ///
    /// [`VaultError::StaleSession`]; storage errors.
    pub fn check_unlocked_header(&self) -> Result<()> {
        self.s.check_unlocked_header(self.store.as_ref())
    }

    /// `read`, except that a key which did not open
    /// ([`VaultError::Corrupted`]) because this session's keys were
    /// replaced since it unlocked is reported as
    /// [`VaultError::StaleSession`].
    fn unless_stale<T>(&self, read: Result<T>) -> Result<T> {
        if matches!(read, Err(VaultError::Corrupted(_))) {
            self.check_unlocked_header()?;
        }
        read
    }

    /// Re-reads team and shared-folder keys (after another process or this
    /// one granted access).
    pub fn reload_keys(&mut self) -> Result<()> {
        let (teams, sfs) = load_shared_keys(
            self.store.as_ref(),
            &self.s.tenant_uid,
            &self.s.user_uid,
            &self.s.ring.keypair,
        )?;
        self.s.ring.teams = teams;
        self.s.ring.shared_folders = sfs;
        Ok(())
    }
}

impl LockedVault {
    /// E-mails of every user in the store, with their tenant uid.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn users(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .store
            .all_users()?
            .into_iter()
            .map(|u| (u.email, u.tenant_uid))
            .collect())
    }

    /// Lets the unlock open a user who must be re-keyed, to re-key them
    /// (`enterprise-rekey`, [`Vault::rekey_user`]); every other unlock of
    /// such a user fails with [`VaultError::MustRekey`].
    #[must_use]
    pub fn for_rekey(mut self) -> Self {
        self.rekeying = true;
        self
    }

    /// Unlocks the vault as `email` (or the only user when `None`).
    ///
    /// # Errors
    ///
    /// [`VaultError::WrongPassword`]; [`VaultError::UnknownUser`];
    /// [`VaultError::MustRekey`] for a user who must be re-keyed first
    /// (unless [`LockedVault::for_rekey`]);
    /// [`VaultError::Ambiguous`] when `email` is `None` and there are several
    /// users; [`VaultError::Corrupted`] when the key header or keys were
    /// damaged; [`VaultError::ExcessiveWork`] for hostile KDF parameters.
    pub fn unlock(mut self, email: Option<&str>, password: &SecretString) -> Result<Vault> {
        let user = self.select_user(email)?;
        let params = KdfParams::decode(&user.kdf)?;
        let kek = params.derive(password)?;
        let data_key = kek
            .try_open(
                &user.wrapped_data_key,
                &ad::data_key(&user.tenant_uid, &user.uid, &user.kdf),
            )
            .ok_or(VaultError::WrongPassword)
            .and_then(|bytes| Key::from_slice(&bytes))?;
        let (user, notice) = self.finish_tenant_move(user, &kek, &data_key)?;
        let mut vault = self.finish_unlock(&user, data_key, params.is_weak())?;
        vault.notices.extend(notice);
        Ok(vault)
    }

    /// The user row to unlock as: `email`, or the only user when `None`;
    /// its key header checked for damage.
    fn select_user(&self, email: Option<&str>) -> Result<UserRow> {
        let mut users = self.store.all_users()?;
        let user = match email {
            Some(e) => {
                let e = e.trim().to_lowercase();
                let mut matching: Vec<usize> =
                    (0..users.len()).filter(|&i| users[i].email == e).collect();
                match matching.len() {
                    0 => return Err(VaultError::UnknownUser(e)),
                    1 => users.swap_remove(matching.remove(0)),
                    n => {
                        return Err(VaultError::Ambiguous {
                            kind: "user",
                            name: e,
                            count: n,
                        });
                    }
                }
            }
            None => {
                // A key-held user (a managed company's identity) is never
                // the one to pick.
                users.retain(|u| !tenancy::is_key_held(u));
                match users.len() {
                    1 => users.remove(0),
                    0 => return Err(VaultError::Corrupted("the vault has no users".into())),
                    _ => {
                        return Err(VaultError::Invalid(
                            "this vault has several users; say which with KEEPER_USER or the config file's \"user\"".into(),
                        ));
                    }
                }
            }
        };
        if user_checksum(&user) != user.checksum {
            return Err(VaultError::Corrupted(format!(
                "the key header of {} is damaged",
                user.email
            )));
        }
        Ok(user)
    }

    /// Opens the user's private, team and shared-folder keys with the data
    /// key and returns the unlocked vault.
    fn finish_unlock(self, user: &UserRow, data_key: Key, weak_kdf: bool) -> Result<Vault> {
        if user.must_rekey && !self.rekeying {
            return Err(VaultError::MustRekey(user.email.clone()));
        }
        let private =
            data_key.unwrap_key(&user.wrapped_private_key, &ad::private_key(&user.uid))?;
        let keypair = KeyPair::from_secret(&private);
        if keypair.public().as_slice() != user.public_key.as_slice() {
            return Err(VaultError::Corrupted(format!(
                "the key pair of {} does not match",
                user.email
            )));
        }
        let (teams, shared_folders) =
            load_shared_keys(self.store.as_ref(), &user.tenant_uid, &user.uid, &keypair)?;
        Ok(Vault {
            store: self.store,
            location: self.location,
            s: Session {
                tenant_uid: user.tenant_uid.clone(),
                user_uid: user.uid.clone(),
                email: user.email.clone(),
                ring: KeyRing {
                    data_key,
                    keypair,
                    teams,
                    shared_folders,
                },
                header: user_checksum(user),
            },
            weak_kdf,
            notices: Vec::new(),
        })
    }
}

type SharedKeys = (HashMap<String, Key>, HashMap<String, Key>);

/// Opens the team keys and shared-folder keys a user holds.
fn load_shared_keys(
    store: &dyn StoreRead,
    tenant: &str,
    user: &str,
    keypair: &KeyPair,
) -> Result<SharedKeys> {
    let mut teams = HashMap::new();
    for m in store
        .team_members(tenant)?
        .into_iter()
        .filter(|m| m.user_uid == user)
    {
        let key = keypair.open_sealed_key(&m.wrapped_key, &ad::team_key(&m.team_uid, user))?;
        teams.insert(m.team_uid, key);
    }
    let mut sfs = HashMap::new();
    for share in store.shares(tenant)? {
        if sfs.contains_key(&share.shared_folder_uid) {
            continue;
        }
        let ad = ad::shared_folder_key(&share.shared_folder_uid, &share.holder_uid);
        let key = match share.holder_kind {
            HolderKind::User if share.holder_uid == user => {
                keypair.open_sealed_key(&share.wrapped_key, &ad)?
            }
            HolderKind::Team => match teams.get(&share.holder_uid) {
                Some(team_key) => team_key.unwrap_key(&share.wrapped_key, &ad)?,
                None => continue,
            },
            HolderKind::User => continue,
        };
        sfs.insert(share.shared_folder_uid, key);
    }
    Ok((teams, sfs))
}

#[cfg(test)]
mod tests;
