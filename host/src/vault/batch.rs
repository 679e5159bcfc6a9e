//! Many records written in one transaction: [`Vault::apply`], the vault's
//! one primitive for bulk writes (imports).
//!
//! A [`Batch`] names the shared folders to find or create, and, for each
//! [`NewRecord`], what to do with it ([`Action`]): add it, replace a vault
//! record's content with it, or only link an identical vault record into
//! its folders. The folders its placements ([`FolderSpec`]) name are found
//! or created in the same transaction, and its attachments stored, so a
//! batch is written whole or not at all. Which action a record gets
//! (matching, de-duplication) is the caller's to decide: see
//! `crate::import`.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::crypto::{self, Key};
use super::folders::{FolderTree, ensure_path_tx, target_for};
use super::model::{AttachmentMeta, Field, PasswordChange, RecordData, now_ms};
use super::records::{
    FolderTarget, attach_tx, check_attachment, insert_record_tx, link_tx, record_key,
    update_record_tx,
};
use super::store::{SharedFolderDefaults, StoreTx};
use super::{Result, Session, Vault, path};

/// Where a record goes (Commander's `Folder`): a shared-folder path
/// (`domain`) and/or a folder path below it or at the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderSpec {
    /// Shared-folder path (`A\\SF`): parents become personal folders, the
    /// last component a shared folder.
    pub shared_folder: Option<String>,
    /// Folder path inside the shared folder, or from the root.
    pub folder: Option<String>,
    /// The record may be edited through the shared folder.
    pub can_edit: bool,
    /// The record may be re-shared through the shared folder.
    pub can_share: bool,
}

impl FolderSpec {
    /// The full path: the shared folder's, then the folder's.
    pub fn full_path(&self) -> String {
        let mut names = self
            .shared_folder
            .as_deref()
            .map(path::components)
            .unwrap_or_default();
        names.extend(
            self.folder
                .as_deref()
                .map(path::components)
                .unwrap_or_default(),
        );
        path::join(&names)
    }
}

/// A file to attach to a record.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Content.
    pub data: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAttachment")
            .field("name", &self.name)
            .field("size", &self.data.len())
            .finish_non_exhaustive()
    }
}

/// A record to write: what a source (an import) produced, or what a
/// command adds.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Uid to keep when it is free (a fresh one otherwise).
    pub uid: Option<String>,
    /// The payload.
    pub data: RecordData,
    /// Placements; empty = the root.
    pub folders: Vec<FolderSpec>,
    /// Modification time to keep, epoch ms.
    pub modified: Option<i64>,
    /// Files to attach.
    pub attachments: Vec<NewAttachment>,
}

impl NewRecord {
    /// A record for the root with no uid, time or attachments.
    pub fn new(data: RecordData) -> Self {
        Self {
            uid: None,
            data,
            folders: Vec::new(),
            modified: None,
            attachments: Vec::new(),
        }
    }
}

/// What [`Vault::apply`] does with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Adds it as a new record (keeping its uid when that is free).
    Add,
    /// Replaces the content of the vault record with this uid, keeping
    /// that record's password history (plus the replaced password) and
    /// attachments; links it into the placements and attaches the files.
    Replace(String),
    /// Only links the vault record with this uid into the placements and
    /// attaches the files; its content stays.
    Link(String),
}

/// Records to write in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Shared folders to find or create first (`(path, defaults)`); a
    /// placement's shared folder that is not listed gets the default rights.
    pub shared_folders: Vec<(String, SharedFolderDefaults)>,
    /// The records, in order, each with what to do with it.
    pub records: Vec<(Action, NewRecord)>,
}

/// What [`Vault::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The uid each record of the batch was written to, in order.
    pub uids: Vec<String>,
    /// Records added.
    pub added: usize,
    /// Records whose content was replaced.
    pub replaced: usize,
    /// Records only linked.
    pub linked: usize,
    /// Folders and shared folders created.
    pub folders_created: usize,
    /// Attachments stored.
    pub attachments: usize,
}

impl Vault {
    /// Writes a batch in one transaction (all or nothing): finds or creates
    /// its shared folders, then each record's folders, and adds, replaces
    /// or links each record as its [`Action`] says.
    ///
    /// # Errors
    ///
    /// Storage errors, [`super::VaultError::Invalid`] for impossible folder
    /// layouts (a shared folder inside a shared folder),
    /// [`super::VaultError::TooLarge`] for an attachment over
    /// [`super::MAX_ATTACHMENT`], [`super::VaultError::NotFound`] for an
    /// action on a record the user cannot open; nothing is written then.
    pub fn apply(&mut self, batch: &Batch) -> Result<Applied> {
        self.apply_with(batch, true)
    }

    /// [`Vault::apply`] whose commit does not wait for the disk: a power
    /// loss before the next durable write can undo it (for a large import's
    /// parts before the last, whose commit makes them durable).
    ///
    /// # Errors
    ///
    /// As [`Vault::apply`].
    pub fn apply_deferred(&mut self, batch: &Batch) -> Result<Applied> {
        self.apply_with(batch, false)
    }

    fn apply_with(&mut self, batch: &Batch, durable: bool) -> Result<Applied> {
        for (_, r) in &batch.records {
            for f in &r.attachments {
                check_attachment(
                    &format!("{} (record {:?})", f.name, r.data.title),
                    f.data.len(),
                )?;
            }
        }
        let sf_defaults: HashMap<String, SharedFolderDefaults> = batch
            .shared_folders
            .iter()
            .map(|(p, d)| (path::join(&path::components(p)), *d))
            .collect();
        // The tree without record links: the batch only finds or creates
        // folders and links records into them.
        self.write_with_tree(false, durable, |tx, s, tree, keys| {
            let mut applied = Applied::default();
            let mut folders = Folders {
                tx,
                s,
                tree,
                keys,
                sf_defaults: &sf_defaults,
                resolved: HashMap::new(),
            };
            let before = folders.tree.all().count();
            let mut paths: Vec<&String> = sf_defaults.keys().collect();
            paths.sort();
            for p in paths {
                let f = &mut folders;
                ensure_path_tx(
                    f.tx,
                    f.s,
                    f.tree,
                    f.keys,
                    None,
                    &path::components(p),
                    Some(sf_defaults[p]),
                )?;
            }
            for (action, r) in &batch.records {
                let targets = folders.targets(&r.folders)?;
                let (tx, s) = (&mut *folders.tx, folders.s);
                let uid = match action {
                    Action::Link(u) => {
                        relink(tx, s, u, &targets)?;
                        applied.linked += 1;
                        u.clone()
                    }
                    Action::Replace(u) => {
                        replace_tx(tx, s, u, &r.data)?;
                        relink(tx, s, u, &targets)?;
                        applied.replaced += 1;
                        u.clone()
                    }
                    Action::Add => {
                        applied.added += 1;
                        insert_record_tx(tx, s, r.uid.as_deref(), &r.data, r.modified, &targets)?
                    }
                };
                applied.attachments += attach(tx, s, &uid, &r.attachments)?;
                applied.uids.push(uid);
            }
            applied.folders_created = folders.tree.all().count() - before;
            Ok(applied)
        })
    }
}

/// The folders of one transaction, and the placements resolved so far (so
/// that each placement is walked once per batch).
struct Folders<'t, 's> {
    tx: &'t mut dyn StoreTx,
    s: &'s Session,
    tree: &'t mut FolderTree,
    keys: &'t mut HashMap<String, Key>,
    sf_defaults: &'t HashMap<String, SharedFolderDefaults>,
    resolved: HashMap<(Option<String>, Option<String>), String>,
}

impl Folders<'_, '_> {
    /// Finds or creates the folders of a record's placements.
    fn targets(&mut self, specs: &[FolderSpec]) -> Result<Vec<FolderTarget>> {
        let mut targets: Vec<FolderTarget> = Vec::new();
        for spec in specs {
            let place = (spec.shared_folder.clone(), spec.folder.clone());
            let folder = match self.resolved.get(&place) {
                Some(uid) => uid.clone(),
                None => self.resolve(spec)?,
            };
            self.resolved.insert(place, folder.clone());
            if targets.iter().any(|t| t.folder_uid == folder) {
                continue;
            }
            let mut target = target_for(self.tree, self.s, self.keys, &folder)?;
            if let Some(sh) = target.shared.as_mut()
                && spec.shared_folder.is_some()
            {
                sh.can_edit = spec.can_edit;
                sh.can_share = spec.can_share;
            }
            targets.push(target);
        }
        Ok(targets)
    }

    /// Finds or creates the folder of one placement.
    fn resolve(&mut self, spec: &FolderSpec) -> Result<String> {
        let (tx, s, tree, keys) = (&mut *self.tx, self.s, &mut *self.tree, &mut *self.keys);
        let sub = spec
            .folder
            .as_deref()
            .map(path::components)
            .unwrap_or_default();
        match &spec.shared_folder {
            Some(sf) => {
                let names = path::components(sf);
                let defaults = self
                    .sf_defaults
                    .get(&path::join(&names))
                    .copied()
                    .unwrap_or_default();
                let sf_uid = ensure_path_tx(tx, s, tree, keys, None, &names, Some(defaults))?;
                ensure_path_tx(tx, s, tree, keys, Some(&sf_uid), &sub, None)
            }
            None => ensure_path_tx(tx, s, tree, keys, None, &sub, None),
        }
    }
}

/// Replaces a record's content, keeping its password history (plus the
/// replaced password) and attachments.
fn replace_tx(tx: &mut dyn StoreTx, s: &Session, uid: &str, data: &RecordData) -> Result<()> {
    let now = now_ms();
    update_record_tx(tx, s, uid, &mut |d| {
        let password_history = std::mem::take(&mut d.password_history);
        let attachments = std::mem::take(&mut d.attachments);
        let file_refs: Vec<_> = d
            .fields
            .iter()
            .chain(&d.custom)
            .filter(|f| f.kind == "fileRef")
            .flat_map(|f| f.value.to_vec())
            .collect();
        let old_password = d.password().map(|p| Zeroizing::new(p.to_string()));
        *d = data.clone();
        d.password_history = password_history;
        d.attachments = attachments;
        if !file_refs.is_empty() {
            match d.fields.iter_mut().find(|f| f.kind == "fileRef") {
                Some(f) => f.value = Zeroizing::new(file_refs.into()),
                None => d.fields.push(Field {
                    kind: "fileRef".into(),
                    label: None,
                    value: Zeroizing::new(file_refs.into()),
                    required: false,
                }),
            }
        }
        if let Some(old) =
            old_password.filter(|o| !o.is_empty() && Some(o.as_str()) != data.password())
        {
            d.password_history.push(PasswordChange {
                password: old,
                replaced: now,
            });
        }
        Ok(())
    })?;
    Ok(())
}

/// Stores the files on a record; returns how many.
fn attach(tx: &mut dyn StoreTx, s: &Session, uid: &str, files: &[NewAttachment]) -> Result<usize> {
    let new: Vec<(AttachmentMeta, &[u8])> = files
        .iter()
        .map(|f| {
            (
                AttachmentMeta {
                    uid: crypto::new_uid(),
                    name: f.name.clone(),
                    size: f.data.len() as u64,
                    mime: f.mime.clone(),
                },
                f.data.as_slice(),
            )
        })
        .collect();
    attach_tx(tx, s, uid, &new)?;
    Ok(new.len())
}

/// Links an existing record into more folders.
fn relink(tx: &mut dyn StoreTx, s: &Session, uid: &str, targets: &[FolderTarget]) -> Result<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let row = s.keyed_row(tx, uid)?;
    let key: Key = record_key(s, &row)?;
    link_tx(tx, s, uid, &key, targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::crypto::KdfParams;
    use crate::vault::{SecretString, VaultError};

    #[test]
    fn full_path_joins_the_shared_folder_and_the_folder() {
        let spec = FolderSpec {
            shared_folder: Some("Team".into()),
            folder: Some("Ops\\DB".into()),
            ..Default::default()
        };
        assert_eq!(spec.full_path(), "Team\\Ops\\DB");
    }

    /// A batch is one transaction: a failing record leaves nothing of the
    /// others, nor the folders created for them.
    #[test]
    fn a_batch_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut v = Vault::create(
            &dir.path().join("v.db"),
            "a@b.c",
            &SecretString::from("pw".to_string()),
            &KdfParams::insecure_fast(),
        )
        .expect("create");
        let placed = |title: &str, folder: &str| NewRecord {
            folders: vec![FolderSpec {
                folder: Some(folder.into()),
                ..Default::default()
            }],
            ..NewRecord::new(RecordData::new("login", title))
        };
        let bad = Batch {
            shared_folders: Vec::new(),
            records: vec![
                (Action::Add, placed("a", "New")),
                (Action::Link("no-such-record".into()), placed("b", "New")),
            ],
        };
        assert!(matches!(v.apply(&bad), Err(VaultError::NotFound { .. })));
        assert!(v.records().expect("records").is_empty());
        assert_eq!(v.folder_tree().expect("tree").all().count(), 0);

        let good = Batch {
            shared_folders: vec![("Team".into(), SharedFolderDefaults::default())],
            records: vec![
                (Action::Add, placed("a", "New")),
                (Action::Add, placed("b", "New")),
            ],
        };
        let applied = v.apply(&good).expect("apply");
        assert_eq!((applied.added, applied.folders_created), (2, 2));
        let again = Batch {
            shared_folders: Vec::new(),
            records: vec![(Action::Link(applied.uids[0].clone()), placed("a", "Other"))],
        };
        let linked = v.apply(&again).expect("link");
        assert_eq!((linked.linked, linked.folders_created), (1, 1));
        let tree = v.folder_tree().expect("tree");
        assert_eq!(tree.folders_of(&applied.uids[0]).len(), 2);
    }
}
