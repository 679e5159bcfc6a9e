//! Record operations on an unlocked [`Vault`]: read, add (one; many: `batch.rs`),
//! update with revision checks and password history, delete, history,
//! search, attachments. The rotation hooks (pending state, audit) are
//! `pending.rs`.

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::crypto::{self, Key};
use super::model::{AttachmentMeta, Record, RecordData, now_ms};
use super::rotation_lock::refuse_if_busy;
use super::search::SearchPattern;
use super::store::{AttachmentRow, KeyedRecordRow, RecordKeyRow, RecordRow, StoreRead, StoreTx};
use super::{Result, SecretString, Session, Vault, VaultError, ad};

/// Largest attachment accepted (100 MiB, like Keeper).
pub const MAX_ATTACHMENT: u64 = 100 * 1024 * 1024;

/// Fails with [`VaultError::TooLarge`] for an attachment over
/// [`MAX_ATTACHMENT`] (`name` says which in the error).
pub(crate) fn check_attachment(name: &str, size: usize) -> Result<()> {
    let size = size as u64;
    if size > MAX_ATTACHMENT {
        return Err(VaultError::TooLarge {
            name: name.to_string(),
            size,
            limit: MAX_ATTACHMENT,
        });
    }
    Ok(())
}

/// Where a record is linked, with the shared-folder key when the folder is
/// (inside) a shared folder.
pub(crate) struct FolderTarget {
    pub folder_uid: String,
    pub shared: Option<SharedTarget>,
}

/// The shared folder a target belongs to.
pub(crate) struct SharedTarget {
    pub uid: String,
    pub key: Key,
    pub can_edit: bool,
    pub can_share: bool,
}

/// Seals a record payload for `uid` at `revision`.
pub(crate) fn seal_record(
    key: &Key,
    uid: &str,
    revision: i64,
    data: &RecordData,
) -> Result<Vec<u8>> {
    let json =
        Zeroizing::new(serde_json::to_vec(data).map_err(|e| VaultError::Invalid(e.to_string()))?);
    Ok(key.seal(&json, &ad::record(uid, revision)))
}

/// Opens a stored record with the session's keys.
pub(crate) fn decrypt_row(s: &Session, row: &KeyedRecordRow) -> Result<Record> {
    decrypt_row_if(s, row, &|_| true)?
        .ok_or_else(|| VaultError::Storage("a record was filtered out without a filter".into()))
}

/// Decrypts a keyed row; `None` when its decrypted payload fails `keep`.
fn decrypt_row_if(
    s: &Session,
    row: &KeyedRecordRow,
    keep: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Result<Option<Record>> {
    let uid = &row.record.uid;
    let tampered = |what: String| VaultError::Corrupted(format!("record {uid}: {what}"));
    let record_key =
        open_record_key(s, row)?.ok_or_else(|| tampered("its key failed authentication".into()))?;
    let plain = open_payload(&record_key, &row.record)?;
    if !keep(&plain) {
        return Ok(None);
    }
    let data = parse_payload(&row.record, &plain)?;
    Ok(Some(record_of(row, data)))
}

/// The decrypted view of a keyed row whose payload is `data`, with the
/// rights its key row gives.
pub(crate) fn record_of(row: &KeyedRecordRow, data: RecordData) -> Record {
    Record {
        uid: row.record.uid.clone(),
        revision: row.record.revision,
        owner_uid: row.record.owner_uid.clone(),
        created: row.record.created,
        modified: row.record.modified,
        can_edit: row.key.can_edit,
        can_share: row.key.can_share,
        data,
    }
}

/// A record row's decrypted JSON payload.
fn open_payload(key: &Key, row: &RecordRow) -> Result<Zeroizing<Vec<u8>>> {
    key.try_open(&row.data, &ad::record(&row.uid, row.revision))
        .ok_or_else(|| {
            VaultError::Corrupted(format!(
                "record {}: its data failed authentication",
                row.uid
            ))
        })
}

fn parse_payload(row: &RecordRow, plain: &[u8]) -> Result<RecordData> {
    serde_json::from_slice(plain).map_err(|e| {
        VaultError::Corrupted(format!(
            "record {}: its data is not a record ({e})",
            row.uid
        ))
    })
}

pub(crate) fn open_record_data(key: &Key, row: &RecordRow) -> Result<RecordData> {
    parse_payload(row, &open_payload(key, row)?)
}

/// Unwraps the record key of a keyed row.
pub(crate) fn record_key(s: &Session, row: &KeyedRecordRow) -> Result<Key> {
    open_record_key(s, row)?
        .ok_or_else(|| VaultError::Corrupted("a ciphertext failed authentication".into()))
}

/// The record key of a keyed row: wrapped under the holder's key, or, for
/// a record shared with this user directly (`share-record`), sealed to the
/// user's public key. `None` when neither opens it.
fn open_record_key(s: &Session, row: &KeyedRecordRow) -> Result<Option<Key>> {
    open_key_row(s, &row.record.uid, &row.key)
}

/// [`open_record_key`] for one key row of record `record_uid`.
pub(crate) fn open_key_row(
    s: &Session,
    record_uid: &str,
    key: &RecordKeyRow,
) -> Result<Option<Key>> {
    let holder = &key.holder_uid;
    let ad = ad::record_key_until(record_uid, holder, key.expires);
    if let Some(bytes) = s.holder_key(holder)?.try_open(&key.wrapped_key, &ad) {
        return Key::from_slice(&bytes).map(Some);
    }
    if *holder == s.user_uid {
        return Ok(s.ring.keypair.open_sealed_key(&key.wrapped_key, &ad).ok());
    }
    Ok(None)
}

/// Rows handed to a decryption worker at a time.
const BATCH: usize = 512;

/// Reads and decrypts every record the session can open. Reading (one
/// thread) overlaps with decryption (one worker per core).
/// Loads the records `s` can open whose decrypted payload passes `keep`
/// (checked before the payload is parsed).
fn load_records(
    store: &dyn StoreRead,
    s: &Session,
    keep: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Result<Vec<Record>> {
    let holders = s.holders();
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8);
    if workers == 1 {
        let mut out = Vec::new();
        store.scan_keyed_records(&holders, &mut |row| {
            out.extend(decrypt_row_if(s, &row, keep)?);
            Ok(())
        })?;
        return Ok(out);
    }
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<KeyedRecordRow>>(4);
            senders.push(tx);
            handles.push(scope.spawn(move || -> Result<Vec<Record>> {
                let mut out = Vec::new();
                for batch in rx {
                    for row in &batch {
                        out.extend(decrypt_row_if(s, row, keep)?);
                    }
                }
                Ok(out)
            }));
        }
        let mut batch = Vec::with_capacity(BATCH);
        let mut next = 0usize;
        let stopped = || VaultError::Storage("a decryption worker stopped".into());
        let scanned = store.scan_keyed_records(&holders, &mut |row| {
            batch.push(row);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                senders[next % workers].send(full).map_err(|_| stopped())?;
                next += 1;
            }
            Ok(())
        });
        let tail = if scanned.is_ok() && !batch.is_empty() {
            senders[next % workers]
                .send(std::mem::take(&mut batch))
                .map_err(|_| stopped())
        } else {
            Ok(())
        };
        drop(senders);
        let mut out = Vec::new();
        let mut worker_error = None;
        for h in handles {
            match h.join() {
                Ok(Ok(part)) => out.extend(part),
                Ok(Err(e)) => worker_error = worker_error.or(Some(e)),
                Err(_) => {
                    worker_error = worker_error.or(Some(VaultError::Storage(
                        "a decryption thread panicked".into(),
                    )))
                }
            }
        }
        // A worker's own error (e.g. tampering) explains a failed send best.
        if let Some(e) = worker_error {
            return Err(e);
        }
        scanned?;
        tail?;
        Ok(out)
    })
}

/// Inserts one record inside a transaction, keeping `uid` when it is a free
/// uid and `modified` when given (imports).
pub(crate) fn insert_record_tx(
    tx: &mut dyn StoreTx,
    s: &Session,
    uid: Option<&str>,
    data: &RecordData,
    modified: Option<i64>,
    targets: &[FolderTarget],
) -> Result<String> {
    let uid = match uid {
        Some(u) if crypto::is_uid(u) && tx.record_keys(u)?.is_empty() => u.to_string(),
        _ => crypto::new_uid(),
    };
    let now = now_ms();
    let modified = modified.unwrap_or(now);
    let key = Key::generate();
    let row = RecordRow {
        uid: uid.clone(),
        tenant_uid: s.tenant_uid.clone(),
        owner_uid: s.user_uid.clone(),
        revision: 1,
        created: modified.min(now),
        modified,
        data: seal_record(&key, &uid, 1, data)?,
    };
    let owner_key = RecordKeyRow {
        record_uid: uid.clone(),
        holder_uid: s.user_uid.clone(),
        wrapped_key: s
            .ring
            .data_key
            .wrap(&key, &ad::record_key(&uid, &s.user_uid)),
        can_edit: true,
        can_share: true,
        expires: None,
    };
    tx.insert_record(&row, &owner_key)?;
    link_tx(tx, s, &uid, &key, targets)?;
    Ok(uid)
}

/// Links a record into folders, wrapping its key for shared folders.
pub(crate) fn link_tx(
    tx: &mut dyn StoreTx,
    s: &Session,
    uid: &str,
    key: &Key,
    targets: &[FolderTarget],
) -> Result<()> {
    if targets.is_empty() {
        return tx.link(&s.user_uid, uid);
    }
    for t in targets {
        if let Some(sf) = &t.shared {
            tx.put_record_key(&RecordKeyRow {
                record_uid: uid.to_string(),
                holder_uid: sf.uid.clone(),
                wrapped_key: sf.key.wrap(key, &ad::record_key(uid, &sf.uid)),
                can_edit: sf.can_edit,
                can_share: sf.can_share,
                expires: None,
            })?;
        }
        tx.link(&t.folder_uid, uid)?;
    }
    Ok(())
}

/// The keyed row of a record the user may edit.
pub(crate) fn editable_row(tx: &dyn StoreTx, s: &Session, uid: &str) -> Result<KeyedRecordRow> {
    let row = s.keyed_row(tx, uid)?;
    if !row.key.can_edit {
        return Err(VaultError::Denied(format!("you may not edit record {uid}")));
    }
    Ok(row)
}

/// Reads, changes and re-seals one record inside a transaction; returns the
/// new record. The password field's old value goes to the history.
pub(crate) fn update_record_tx(
    tx: &mut dyn StoreTx,
    s: &Session,
    uid: &str,
    f: &mut dyn FnMut(&mut RecordData) -> Result<()>,
) -> Result<Record> {
    let row = editable_row(tx, s, uid)?;
    let key = record_key(s, &row)?;
    let mut record = decrypt_row(s, &row)?;
    let before = record.data.clone();
    f(&mut record.data)?;
    if record.data == before {
        return Ok(record);
    }
    let now = now_ms();
    if before.password() != record.data.password()
        && record.data.password_history.len() == before.password_history.len()
    {
        // The closure replaced the field directly: keep the history anyway.
        if let Some(old) = before.password().filter(|p| !p.is_empty()) {
            record.data.password_history.push(super::PasswordChange {
                password: Zeroizing::new(old.to_string()),
                replaced: now,
            });
        }
    }
    let revision = row.record.revision + 1;
    let new_row = RecordRow {
        revision,
        modified: now,
        data: seal_record(&key, uid, revision, &record.data)?,
        ..row.record.clone()
    };
    tx.update_record(&new_row, row.record.revision)?;
    record.revision = revision;
    record.modified = now;
    Ok(record)
}

/// Stores attachments on a record inside a transaction (each sealed under
/// the record key) and lists them in the record's `fileRef` field, in one
/// new revision. Sizes are the caller's to check.
pub(crate) fn attach_tx(
    tx: &mut dyn StoreTx,
    s: &Session,
    record_uid: &str,
    files: &[(AttachmentMeta, &[u8])],
) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let row = s.keyed_row(tx, record_uid)?;
    let key = record_key(s, &row)?;
    for (meta, bytes) in files {
        tx.insert_attachment(&AttachmentRow {
            uid: meta.uid.clone(),
            record_uid: record_uid.to_string(),
            data: key.seal(bytes, &ad::attachment(record_uid, &meta.uid)),
        })?;
    }
    update_record_tx(tx, s, record_uid, &mut |d| {
        for (meta, _) in files {
            d.attachments.push(meta.clone());
            let file_ref = d.fields.iter_mut().find(|f| f.kind == "fileRef");
            match file_ref {
                Some(f) => f.value.push(serde_json::Value::String(meta.uid.clone())),
                None => d
                    .fields
                    .push(super::Field::new("fileRef", None, meta.uid.clone().into())),
            }
        }
        Ok(())
    })?;
    Ok(())
}

impl Vault {
    /// Every record the user can open, decrypted.
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] when any record fails authentication.
    pub fn records(&self) -> Result<Vec<Record>> {
        self.unless_stale(load_records(self.store.as_ref(), &self.s, &|_| true))
    }

    /// One record by uid.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] when the user cannot open it.
    pub fn record(&self, uid: &str) -> Result<Record> {
        let row = self.s.keyed_row(self.store.as_ref(), uid)?;
        decrypt_row(&self.s, &row)
    }

    /// Adds one record to the root (`folder = None`) or a folder (uid or path).
    ///
    /// # Errors
    ///
    /// Unknown folder, storage errors.
    pub fn add_record(&mut self, data: RecordData, folder: Option<&str>) -> Result<String> {
        let tree = self.folder_tree()?;
        let targets = match folder {
            Some(f) => vec![self.folder_target(&tree, tree.resolve(f)?)?],
            None => Vec::new(),
        };
        self.write(|tx, s| insert_record_tx(tx, s, None, &data, None, &targets))
    }

    /// Changes a record in one transaction: `f` gets the latest payload.
    /// A changed password is kept in the password history.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`], [`VaultError::Denied`] (no edit right),
    /// `f`'s error, [`VaultError::Conflict`].
    pub fn update_record(
        &mut self,
        uid: &str,
        mut f: impl FnMut(&mut RecordData) -> Result<()>,
    ) -> Result<Record> {
        self.write(|tx, s| update_record_tx(tx, s, uid, &mut f))
    }

    /// Sets the password field (old one to the history).
    ///
    /// # Errors
    ///
    /// As [`Vault::update_record`].
    pub fn set_password(&mut self, uid: &str, password: &SecretString) -> Result<Record> {
        let now = now_ms();
        self.update_record(uid, |d| {
            d.set_password(password.expose_secret(), now);
            Ok(())
        })
    }

    /// Deletes a record (owner only) with its history and attachments;
    /// not while another process rotates it.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`], [`VaultError::Denied`],
    /// [`VaultError::RotationBusy`].
    pub fn delete_record(&mut self, uid: &str) -> Result<()> {
        self.write(|tx, s| {
            let row = s.keyed_row(tx, uid)?;
            refuse_if_busy(tx, uid)?;
            if row.record.owner_uid != s.user_uid {
                return Err(VaultError::Denied(format!(
                    "only the owner may delete record {uid}"
                )));
            }
            tx.delete_record(uid)
        })
    }

    /// Earlier revisions of a record, oldest first, then the current one.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`], [`VaultError::Corrupted`].
    pub fn history(&self, uid: &str) -> Result<Vec<Record>> {
        let row = self.s.keyed_row(self.store.as_ref(), uid)?;
        let key = record_key(&self.s, &row)?;
        let mut out = Vec::new();
        for old in self.store.record_history(uid)? {
            out.push(Record {
                uid: old.uid.clone(),
                revision: old.revision,
                owner_uid: old.owner_uid.clone(),
                created: old.created,
                modified: old.modified,
                can_edit: false,
                can_share: false,
                data: open_record_data(&key, &old)?,
            });
        }
        out.push(decrypt_row(&self.s, &row)?);
        Ok(out)
    }

    /// Records with any non-secret text (title, notes, type, labels,
    /// non-secret field values, attachment names) matching `pattern`.
    /// Secret fields (passwords, PINs, keys, TOTP seeds) are not searched so
    /// that a search cannot probe them.
    ///
    /// # Errors
    ///
    /// As [`Vault::records`].
    pub fn search(&self, pattern: &SearchPattern) -> Result<Vec<Record>> {
        let records = load_records(self.store.as_ref(), &self.s, &|plain| {
            pattern.may_match(plain)
        })?;
        Ok(records
            .into_iter()
            .filter(|r| pattern.matches(&r.data))
            .collect())
    }

    /// Stores an attachment on a record (sealed under the record key).
    ///
    /// # Errors
    ///
    /// [`VaultError::TooLarge`] over 100 MiB; as [`Vault::update_record`].
    pub fn add_attachment(
        &mut self,
        record_uid: &str,
        name: &str,
        mime: &str,
        bytes: &[u8],
    ) -> Result<AttachmentMeta> {
        check_attachment(name, bytes.len())?;
        let size = bytes.len() as u64;
        let meta = AttachmentMeta {
            uid: crypto::new_uid(),
            name: name.to_string(),
            size,
            mime: mime.to_string(),
        };
        self.write(|tx, s| {
            attach_tx(tx, s, record_uid, &[(meta.clone(), bytes)])?;
            Ok(meta.clone())
        })
    }

    /// The content of an attachment (by file uid or name).
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`], [`VaultError::Corrupted`].
    pub fn attachment(
        &self,
        record_uid: &str,
        file: &str,
    ) -> Result<(AttachmentMeta, Zeroizing<Vec<u8>>)> {
        let row = self.s.keyed_row(self.store.as_ref(), record_uid)?;
        let record = decrypt_row(&self.s, &row)?;
        let meta = record
            .data
            .attachments
            .iter()
            .find(|a| a.uid == file || a.name == file)
            .cloned()
            .ok_or_else(|| VaultError::NotFound {
                kind: "attachment",
                name: file.to_string(),
            })?;
        let key = record_key(&self.s, &row)?;
        let stored = self
            .store
            .attachments(record_uid)?
            .into_iter()
            .find(|a| a.uid == meta.uid)
            .ok_or_else(|| VaultError::Corrupted(format!("attachment {} is missing", meta.uid)))?;
        let bytes = key.open(&stored.data, &ad::attachment(record_uid, &meta.uid))?;
        Ok((meta, bytes))
    }
}
