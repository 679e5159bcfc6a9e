//! `record-permission`: can-edit / can-share of the records in a folder
//! (and below), on both kinds of access Commander changes: direct shares
//! with users (`share-record`) and record permissions in shared folders.
//!
//! Planned first ([`Vault::plan_record_permissions`], what `--dry-run`
//! shows), then applied in one transaction. Only flags change: no key is
//! re-wrapped.

use std::collections::HashSet;

use serde::Serialize;

use super::store::{FolderKind, HolderKind};
use super::{FolderTree, Result, Vault, VaultError};

/// A `record-permission` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionRequest {
    /// Grant (`true`) or revoke.
    pub grant: bool,
    /// Change can-edit.
    pub can_edit: bool,
    /// Change can-share.
    pub can_share: bool,
    /// Change direct shares with users.
    pub direct: bool,
    /// Change record permissions in shared folders.
    pub shared_folders: bool,
}

/// One record permission to change (or skipped: not permitted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionChange {
    /// The record.
    pub record_uid: String,
    /// Its title.
    pub title: String,
    /// The record's owner (e-mail).
    pub owner: String,
    /// Direct share: the user's e-mail; shared folder: its name.
    pub holder: String,
    /// Direct share: the user's uid; shared folder: its uid.
    pub holder_uid: String,
    /// Can edit afterwards.
    pub can_edit: bool,
    /// Can share afterwards.
    pub can_share: bool,
}

/// What a request changes and what it may not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PermissionPlan {
    /// Direct shares to change.
    pub direct: Vec<PermissionChange>,
    /// Direct shares the current user may not change (no re-share right).
    pub direct_skipped: Vec<PermissionChange>,
    /// Shared-folder record permissions to change.
    pub folders: Vec<PermissionChange>,
    /// Shared-folder record permissions the current user may not change
    /// (no manage-records right on the folder).
    pub folders_skipped: Vec<PermissionChange>,
}

impl PermissionPlan {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.folders.is_empty()
    }
}

impl Vault {
    /// Plans `request` for the records in `folder` (a uid from
    /// [`FolderTree::resolve`]; with `recursive`, also in every folder
    /// below it).
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] when no shared folder is in scope and no
    /// record in it is shared with a user directly (nothing whose
    /// permissions could change); storage and decryption errors.
    pub fn plan_record_permissions(
        &self,
        tree: &FolderTree,
        folder: &str,
        recursive: bool,
        request: &PermissionRequest,
    ) -> Result<PermissionPlan> {
        let scope = if recursive {
            tree.subtree(folder)
        } else {
            vec![folder.to_string()]
        };
        let users = self.users()?;
        let email = |uid: &str| {
            users
                .iter()
                .find(|u| u.uid == uid)
                .map_or_else(|| uid.to_string(), |u| u.email.clone())
        };
        let wanted = |edit: bool, share: bool| {
            let edit = if request.can_edit {
                request.grant
            } else {
                edit
            };
            let share = if request.can_share {
                request.grant
            } else {
                share
            };
            (edit, share)
        };
        let manageable = self.folders_managing_records()?;
        let mut plan = PermissionPlan::default();
        let mut any_shared = false;
        let mut seen = HashSet::new();
        let now = super::now_ms();
        for f in &scope {
            let sf = tree
                .get(f)
                .filter(|x| x.kind != FolderKind::User)
                .and_then(|x| x.shared_folder_uid.clone());
            any_shared |= sf.is_some();
            for uid in tree.records_in(f) {
                let record = match self.record(uid) {
                    Err(VaultError::NotFound { .. }) => continue,
                    r => r?,
                };
                let keys = self.store.record_keys(uid)?;
                let change = |holder: String, holder_uid: &str, edit, share| PermissionChange {
                    record_uid: uid.clone(),
                    title: record.data.title.clone(),
                    owner: email(&record.owner_uid),
                    holder,
                    holder_uid: holder_uid.to_string(),
                    can_edit: edit,
                    can_share: share,
                };
                if request.direct && seen.insert(uid.clone()) {
                    let may_share = record.owner_uid == self.s.user_uid || record.can_share;
                    for k in &keys {
                        let is_user = users.iter().any(|u| u.uid == k.holder_uid);
                        if !is_user
                            || k.expires.is_some_and(|t| t <= now)
                            || k.holder_uid == record.owner_uid
                            || k.holder_uid == self.s.user_uid
                        {
                            continue;
                        }
                        any_shared = true;
                        let (edit, share) = wanted(k.can_edit, k.can_share);
                        if (edit, share) == (k.can_edit, k.can_share) {
                            continue;
                        }
                        let c = change(email(&k.holder_uid), &k.holder_uid, edit, share);
                        if may_share {
                            plan.direct.push(c);
                        } else {
                            plan.direct_skipped.push(c);
                        }
                    }
                }
                let Some(sf) = sf.as_ref().filter(|_| request.shared_folders) else {
                    continue;
                };
                let Some(k) = keys.iter().find(|k| k.holder_uid == *sf) else {
                    continue;
                };
                let (edit, share) = wanted(k.can_edit, k.can_share);
                if (edit, share) == (k.can_edit, k.can_share)
                    || plan
                        .folders
                        .iter()
                        .any(|c| c.record_uid == *uid && c.holder_uid == *sf)
                {
                    continue;
                }
                let name = tree.get(sf).map_or_else(|| sf.clone(), |x| x.name.clone());
                let c = change(name, sf, edit, share);
                if manageable.contains(sf) {
                    plan.folders.push(c);
                } else {
                    plan.folders_skipped.push(c);
                }
            }
        }
        if !any_shared {
            return Err(VaultError::Invalid(format!(
                "{} is not a shared folder{} and no record in it is shared with a user directly: \
                 there are no record permissions to change",
                display(tree, folder),
                if recursive {
                    ", has none below it,"
                } else {
                    ""
                }
            )));
        }
        Ok(plan)
    }

    /// Applies the changes of a plan (not the skipped ones) in one
    /// transaction.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] when a share went meanwhile; storage
    /// errors. Nothing is applied then.
    pub fn apply_record_permissions(&mut self, plan: &PermissionPlan) -> Result<()> {
        self.write(|tx, _| {
            for c in plan.direct.iter().chain(&plan.folders) {
                let mut key = tx
                    .record_keys(&c.record_uid)?
                    .into_iter()
                    .find(|k| k.holder_uid == c.holder_uid)
                    .ok_or_else(|| VaultError::NotFound {
                        kind: "share",
                        name: format!("{} of record {}", c.holder, c.record_uid),
                    })?;
                key.can_edit = c.can_edit;
                key.can_share = c.can_share;
                tx.put_record_key(&key)?;
            }
            Ok(())
        })
    }

    /// Shared folders whose records the current user may manage: owned,
    /// or manage-records through the user or one of their teams.
    fn folders_managing_records(&self) -> Result<HashSet<String>> {
        let mut out: HashSet<String> = self
            .store
            .folders(&self.s.tenant_uid)?
            .into_iter()
            .filter(|f| f.kind == FolderKind::Shared && f.owner_uid == self.s.user_uid)
            .map(|f| f.uid)
            .collect();
        out.extend(
            self.store
                .shares(&self.s.tenant_uid)?
                .into_iter()
                .filter(|s| {
                    s.manage_records
                        && match s.holder_kind {
                            HolderKind::User => s.holder_uid == self.s.user_uid,
                            HolderKind::Team => self.s.ring.teams.contains_key(&s.holder_uid),
                        }
                })
                .map(|s| s.shared_folder_uid),
        );
        Ok(out)
    }
}

/// A folder for messages: its path, or "the root folder".
fn display(tree: &FolderTree, uid: &str) -> String {
    if uid == tree.root() {
        "the root folder".into()
    } else {
        format!("\"{}\"", tree.path_of(uid))
    }
}
