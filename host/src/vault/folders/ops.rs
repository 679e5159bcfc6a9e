//! What changes folders: mkdir (and the find-or-create walk imports use),
//! link and move records, move folders, rmdir; and the link targets
//! (folder plus shared-folder key) that record writes link into.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::tree::{Folder, FolderTree, build_tree_with};
use crate::vault::crypto::{self, Key};
use crate::vault::records::{self, FolderTarget, SharedTarget, link_tx};
use crate::vault::store::{
    FolderKind, FolderRow, HolderKind, RecordKeyRow, ShareRow, SharedFolderDefaults, StoreTx,
};
use crate::vault::{Result, Session, Vault, VaultError, ad, path};

fn sf_key<'a>(s: &'a Session, new_keys: &'a HashMap<String, Key>, sf: &str) -> Result<&'a Key> {
    s.ring
        .shared_folders
        .get(sf)
        .or_else(|| new_keys.get(sf))
        .ok_or_else(|| VaultError::Denied(format!("no access to shared folder {sf}")))
}

/// Gives shared folder `sf` the record key, for `ln`/`mv` of a record into
/// it. Putting a record in a shared folder shares it with every member, so
/// it takes the can-share right on the record, and the folder's row never
/// gets more than the mover holds: its edit and share rights are the
/// folder's defaults capped by the mover's, and the mover's end (a direct
/// share's expiry) carries over. A record the folder already holds keeps
/// its row as it is (`record-permission` changes that).
fn share_into_folder_tx(
    tx: &mut dyn StoreTx,
    record_uid: &str,
    mover: &RecordKeyRow,
    key: &Key,
    sf: &SharedTarget,
) -> Result<()> {
    if tx
        .record_keys(record_uid)?
        .iter()
        .any(|k| k.holder_uid == sf.uid)
    {
        return Ok(());
    }
    if !mover.can_share {
        return Err(VaultError::Denied(format!(
            "you may not share record {record_uid}: putting it in a shared folder shares it with the \
             folder's members, which needs the can-share right"
        )));
    }
    tx.put_record_key(&RecordKeyRow {
        record_uid: record_uid.to_string(),
        holder_uid: sf.uid.clone(),
        wrapped_key: sf.key.wrap(
            key,
            &ad::record_key_until(record_uid, &sf.uid, mover.expires),
        ),
        can_edit: sf.can_edit && mover.can_edit,
        can_share: sf.can_share && mover.can_share,
        expires: mover.expires,
    })
}

/// The link target for a folder uid.
pub(crate) fn target_for(
    tree: &FolderTree,
    s: &Session,
    new_keys: &HashMap<String, Key>,
    folder_uid: &str,
) -> Result<FolderTarget> {
    if folder_uid == tree.root {
        return Ok(FolderTarget {
            folder_uid: folder_uid.to_string(),
            shared: None,
        });
    }
    let folder = tree.get(folder_uid).ok_or_else(|| VaultError::NotFound {
        kind: "folder",
        name: folder_uid.to_string(),
    })?;
    let shared = match &folder.shared_folder_uid {
        Some(sf) => {
            let defaults = tree.get(sf).and_then(|f| f.defaults).unwrap_or_default();
            Some(SharedTarget {
                uid: sf.clone(),
                key: sf_key(s, new_keys, sf)?.clone(),
                can_edit: defaults.can_edit,
                can_share: defaults.can_share,
            })
        }
        None => None,
    };
    Ok(FolderTarget {
        folder_uid: folder_uid.to_string(),
        shared,
    })
}

/// Creates one folder under `parent` (a folder uid, or `None` for the root).
pub(crate) fn create_folder_tx(
    tx: &mut dyn StoreTx,
    s: &Session,
    tree: &mut FolderTree,
    new_keys: &mut HashMap<String, Key>,
    parent: Option<&str>,
    name: &str,
    shared: Option<SharedFolderDefaults>,
) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(VaultError::Invalid(
            "a folder name must not be empty".into(),
        ));
    }
    let parent = parent.filter(|p| *p != tree.root);
    let parent_folder = match parent {
        Some(p) => Some(tree.get(p).ok_or_else(|| VaultError::NotFound {
            kind: "folder",
            name: p.to_string(),
        })?),
        None => None,
    };
    if tree.children(parent).iter().any(|f| f.name == name) {
        return Err(VaultError::Exists(format!("folder {name:?}")));
    }
    let in_shared = parent_folder.and_then(|f| f.shared_folder_uid.clone());
    let uid = crypto::new_uid();
    let (kind, data, sf_uid, parent_row, defaults) = match (&in_shared, shared) {
        (Some(_), Some(_)) => {
            return Err(VaultError::Invalid(
                "a shared folder cannot be created inside another shared folder".into(),
            ));
        }
        (Some(sf), None) => {
            let key = sf_key(s, new_keys, sf)?;
            (
                FolderKind::SharedSub,
                key.seal(name.as_bytes(), &ad::folder(&uid)),
                Some(sf.clone()),
                parent,
                None,
            )
        }
        (None, None) => (
            FolderKind::User,
            s.ring.data_key.seal(name.as_bytes(), &ad::folder(&uid)),
            None,
            parent,
            None,
        ),
        (None, Some(defaults)) => {
            let key = Key::generate();
            let data = key.seal(name.as_bytes(), &ad::folder(&uid));
            tx.put_share(&ShareRow {
                shared_folder_uid: uid.clone(),
                holder_uid: s.user_uid.clone(),
                holder_kind: HolderKind::User,
                wrapped_key: crypto::seal_key_to(
                    &s.ring.keypair.public(),
                    &key,
                    &ad::shared_folder_key(&uid, &s.user_uid),
                ),
                manage_users: true,
                manage_records: true,
                parent_uid: parent.map(str::to_string),
            })?;
            new_keys.insert(uid.clone(), key);
            (FolderKind::Shared, data, None, None, Some(defaults))
        }
    };
    tx.put_folder(&FolderRow {
        uid: uid.clone(),
        tenant_uid: s.tenant_uid.clone(),
        kind,
        parent_uid: parent_row.map(str::to_string),
        shared_folder_uid: sf_uid.clone(),
        owner_uid: s.user_uid.clone(),
        revision: 1,
        data,
        defaults: defaults.unwrap_or_default(),
    })?;
    tree.insert(Folder {
        uid: uid.clone(),
        kind,
        name: name.to_string(),
        parent_uid: parent.map(str::to_string),
        shared_folder_uid: if kind == FolderKind::Shared {
            Some(uid.clone())
        } else {
            sf_uid
        },
        defaults,
        owner_uid: s.user_uid.clone(),
        revision: 1,
    });
    Ok(uid)
}

/// Finds or creates every component of `names` below `start` (`None` = the
/// root); the last one becomes a
/// shared folder when `last_shared` is given and it does not exist yet.
pub(crate) fn ensure_path_tx(
    tx: &mut dyn StoreTx,
    s: &Session,
    tree: &mut FolderTree,
    new_keys: &mut HashMap<String, Key>,
    start: Option<&str>,
    names: &[String],
    last_shared: Option<SharedFolderDefaults>,
) -> Result<String> {
    let mut cur: Option<String> = start.filter(|s| *s != tree.root).map(str::to_string);
    for (i, name) in names.iter().enumerate() {
        let existing = tree.child(cur.as_deref(), name).map(|f| f.uid.clone());
        cur = Some(match existing {
            Some(uid) => uid,
            None => {
                let shared = if i + 1 == names.len() {
                    last_shared
                } else {
                    None
                };
                create_folder_tx(tx, s, tree, new_keys, cur.as_deref(), name, shared)?
            }
        });
    }
    Ok(cur.unwrap_or_else(|| tree.root.clone()))
}

/// What `rmdir` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RemovedFolders {
    /// Folders removed.
    pub folders: usize,
    /// Records deleted because they were in no other folder.
    pub records_deleted: usize,
    /// Records that stay in other folders.
    pub records_kept: usize,
}

impl Vault {
    pub(crate) fn folder_target(
        &self,
        tree: &FolderTree,
        folder_uid: &str,
    ) -> Result<FolderTarget> {
        target_for(tree, &self.s, &HashMap::new(), folder_uid)
    }

    /// Runs a write that may create shared folders, then keeps their keys.
    pub(crate) fn write_with_folders<T>(
        &mut self,
        f: impl FnMut(
            &mut dyn StoreTx,
            &Session,
            &mut FolderTree,
            &mut HashMap<String, Key>,
        ) -> Result<T>,
    ) -> Result<T> {
        self.write_with_tree(true, true, f)
    }

    /// [`Vault::write_with_folders`], choosing: without `links`, the tree
    /// holds the folders only, no record links (for writes that only find
    /// or create folders and link new records into them, such as an
    /// import's parts); without `durable`, the commit does not wait for the
    /// disk ([`Vault::write_deferred`]).
    pub(crate) fn write_with_tree<T>(
        &mut self,
        links: bool,
        durable: bool,
        mut f: impl FnMut(
            &mut dyn StoreTx,
            &Session,
            &mut FolderTree,
            &mut HashMap<String, Key>,
        ) -> Result<T>,
    ) -> Result<T> {
        let base = self.unless_stale(build_tree_with(self.store.as_ref(), &self.s, links))?;
        let mut new_keys = HashMap::new();
        let out = self.write_with(durable, |tx, s| {
            let mut tree = base.clone();
            new_keys.clear();
            f(tx, s, &mut tree, &mut new_keys)
        })?;
        self.s.ring.shared_folders.extend(new_keys);
        Ok(out)
    }

    /// `mkdir`: creates the folder at `path`, creating missing parents as
    /// personal folders (or sub-folders inside a shared folder). With
    /// `shared`, the last component becomes a shared folder.
    ///
    /// # Errors
    ///
    /// [`VaultError::Exists`] when the folder exists; [`VaultError::Invalid`]
    /// for an empty path or a shared folder inside a shared folder.
    pub fn mkdir(
        &mut self,
        folder_path: &str,
        shared: Option<SharedFolderDefaults>,
    ) -> Result<String> {
        let names = path::components(folder_path);
        let Some((last, parents)) = names.split_last() else {
            return Err(VaultError::Invalid("mkdir needs a folder name".into()));
        };
        self.write_with_folders(|tx, s, tree, keys| {
            let parent = ensure_path_tx(tx, s, tree, keys, None, parents, None)?;
            create_folder_tx(tx, s, tree, keys, Some(&parent), last, shared)
        })
    }

    /// Finds or creates a folder path (imports). The last component becomes a
    /// shared folder with `shared` when it has to be created.
    ///
    /// # Errors
    ///
    /// As [`Vault::mkdir`].
    pub fn ensure_folder(
        &mut self,
        folder_path: &str,
        shared: Option<SharedFolderDefaults>,
    ) -> Result<String> {
        let names = path::components(folder_path);
        self.write_with_folders(|tx, s, tree, keys| {
            ensure_path_tx(tx, s, tree, keys, None, &names, shared)
        })
    }

    /// Links a record into another folder too (`ln`).
    ///
    /// # Errors
    ///
    /// Unknown record or folder.
    pub fn link_record(&mut self, record_uid: &str, folder_uid: &str) -> Result<()> {
        self.move_or_link(record_uid, None, folder_uid, false)
    }

    /// Moves a record from `from` (a folder uid; `None` = every folder it is
    /// in) to `to`.
    ///
    /// # Errors
    ///
    /// Unknown record or folder.
    pub fn move_record(&mut self, record_uid: &str, from: Option<&str>, to: &str) -> Result<()> {
        self.move_or_link(record_uid, from, to, true)
    }

    fn move_or_link(
        &mut self,
        record_uid: &str,
        from: Option<&str>,
        to: &str,
        unlink: bool,
    ) -> Result<()> {
        self.write_with_folders(|tx, s, tree, keys| {
            let row = s.keyed_row(tx, record_uid)?;
            let key = records::record_key(s, &row)?;
            let target = target_for(tree, s, keys, to)?;
            if let Some(sf) = &target.shared {
                share_into_folder_tx(tx, record_uid, &row.key, &key, sf)?;
            }
            link_tx(
                tx,
                s,
                record_uid,
                &key,
                &[FolderTarget {
                    folder_uid: target.folder_uid.clone(),
                    shared: None,
                }],
            )?;
            tree.add_link(to, record_uid);
            if unlink {
                let sources: Vec<String> = match from {
                    Some(f) => vec![f.to_string()],
                    None => tree.folders_of(record_uid).to_vec(),
                };
                for src in sources.iter().filter(|f| f.as_str() != to) {
                    tx.unlink(src, record_uid)?;
                    tree.remove_link(src, record_uid);
                }
                drop_unused_shared_keys(tx, tree, record_uid)?;
            }
            Ok(())
        })
    }

    /// Moves a folder under another folder (`to` = a folder uid or the root).
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for moves into its own subtree, a shared folder
    /// into a shared folder, or a sub-folder out of its shared folder.
    pub fn move_folder(&mut self, folder_uid: &str, to: &str) -> Result<()> {
        let tree = self.folder_tree()?;
        let folder = tree
            .get(folder_uid)
            .cloned()
            .ok_or_else(|| VaultError::NotFound {
                kind: "folder",
                name: folder_uid.to_string(),
            })?;
        let dest = (to != tree.root).then(|| tree.get(to)).flatten();
        if to != tree.root && dest.is_none() {
            return Err(VaultError::NotFound {
                kind: "folder",
                name: to.to_string(),
            });
        }
        if tree.subtree(folder_uid).iter().any(|f| f == to) {
            return Err(VaultError::Invalid(
                "cannot move a folder into itself".into(),
            ));
        }
        if tree
            .children(dest.map(|d| d.uid.as_str()))
            .iter()
            .any(|f| f.name == folder.name && f.uid != folder.uid)
        {
            return Err(VaultError::Exists(format!(
                "folder {:?} at the destination",
                folder.name
            )));
        }
        let dest_sf = dest.and_then(|d| d.shared_folder_uid.clone());
        let new_parent = dest.map(|d| d.uid.clone());
        match folder.kind {
            FolderKind::User | FolderKind::Shared if dest_sf.is_some() => Err(VaultError::Invalid(
                "personal and shared folders cannot be moved into a shared folder".into(),
            )),
            FolderKind::SharedSub if dest_sf != folder.shared_folder_uid => Err(
                VaultError::Invalid("a sub-folder can only move within its shared folder".into()),
            ),
            FolderKind::Shared => self.write(|tx, s| {
                let mut share = tx
                    .shares(&s.tenant_uid)?
                    .into_iter()
                    .find(|sh| sh.shared_folder_uid == folder.uid && sh.holder_uid == s.user_uid)
                    .ok_or_else(|| {
                        VaultError::Denied(
                            "the shared folder is not shared with you directly".into(),
                        )
                    })?;
                share.parent_uid = new_parent.clone();
                tx.put_share(&share)
            }),
            FolderKind::User | FolderKind::SharedSub => self.write(|tx, s| {
                let mut row = tx
                    .folders(&s.tenant_uid)?
                    .into_iter()
                    .find(|r| r.uid == folder.uid)
                    .ok_or_else(|| VaultError::Conflict(format!("folder {}", folder.uid)))?;
                if row.revision != folder.revision {
                    return Err(VaultError::Conflict(format!("folder {}", folder.uid)));
                }
                row.parent_uid = new_parent.clone().or_else(|| row.shared_folder_uid.clone());
                row.revision += 1;
                tx.put_folder(&row)
            }),
        }
    }

    /// `rmdir`: removes a folder and everything below it. Records linked
    /// nowhere else are deleted when the user owns them.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`], [`VaultError::Denied`] (someone else's
    /// shared folder), [`VaultError::RotationBusy`] (a record it would
    /// delete is being rotated; nothing is removed).
    pub fn remove_folder(&mut self, folder_uid: &str) -> Result<RemovedFolders> {
        let tree = self.folder_tree()?;
        let folder = tree.get(folder_uid).ok_or_else(|| VaultError::NotFound {
            kind: "folder",
            name: folder_uid.to_string(),
        })?;
        if folder.kind == FolderKind::Shared && folder.owner_uid != self.s.user_uid {
            return Err(VaultError::Denied(
                "only the owner may remove a shared folder".into(),
            ));
        }
        let subtree = tree.subtree(folder_uid);
        let inside: HashSet<&str> = subtree.iter().map(String::as_str).collect();
        let mut records: Vec<String> = subtree
            .iter()
            .flat_map(|f| tree.records_in(f).iter().cloned())
            .collect();
        records.sort();
        records.dedup();
        let removed_sf = (folder.kind == FolderKind::Shared).then(|| folder.uid.clone());
        self.write(|tx, s| {
            let mut summary = RemovedFolders {
                folders: subtree.len(),
                ..RemovedFolders::default()
            };
            for r in &records {
                let elsewhere = tree
                    .folders_of(r)
                    .iter()
                    .any(|f| !inside.contains(f.as_str()));
                let owned = tx
                    .keyed_record(r, &s.holders())?
                    .is_some_and(|k| k.record.owner_uid == s.user_uid);
                if !elsewhere && owned {
                    crate::vault::rotation_lock::refuse_if_busy(tx, r)?;
                    tx.delete_record(r)?;
                    summary.records_deleted += 1;
                } else {
                    for f in &subtree {
                        tx.unlink(f, r)?;
                    }
                    if let Some(sf) = &removed_sf {
                        tx.delete_record_key(r, sf)?;
                    }
                    if !elsewhere {
                        tx.link(&s.user_uid, r)?;
                    }
                    summary.records_kept += 1;
                }
            }
            for f in subtree.iter().rev() {
                tx.delete_folder(f)?;
            }
            Ok(summary)
        })
    }
}

/// After unlinking, removes shared-folder key rows of a record that is no
/// longer in any folder of that shared folder.
fn drop_unused_shared_keys(
    tx: &mut dyn StoreTx,
    tree: &FolderTree,
    record_uid: &str,
) -> Result<()> {
    let still: HashSet<String> = tree
        .folders_of(record_uid)
        .iter()
        .filter_map(|f| tree.get(f).and_then(|f| f.shared_folder_uid.clone()))
        .collect();
    for key in tx.record_keys(record_uid)? {
        let is_sf = tree
            .get(&key.holder_uid)
            .is_some_and(|f| f.kind == FolderKind::Shared);
        if is_sf && !still.contains(&key.holder_uid) {
            tx.delete_record_key(record_uid, &key.holder_uid)?;
        }
    }
    Ok(())
}
