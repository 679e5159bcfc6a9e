//! The folder tree one user sees ([`FolderTree`]): personal folders,
//! shared folders placed where this user put them, sub-folders inside
//! shared folders, and which records are linked in which folder. Read-only:
//! the operations that change folders are in `ops.rs`.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::vault::store::{FolderKind, HolderKind, SharedFolderDefaults, StoreRead};
use crate::vault::{Result, Session, Vault, VaultError, ad, path};

/// A folder, decrypted.
#[derive(Debug, Clone, Serialize)]
pub struct Folder {
    /// Uid.
    pub uid: String,
    /// `user_folder`, `shared_folder` or `shared_folder_folder`.
    #[serde(serialize_with = "ser_kind")]
    pub kind: FolderKind,
    /// Name.
    pub name: String,
    /// Parent as this user sees it; `None` = root.
    pub parent_uid: Option<String>,
    /// The shared folder this folder is or belongs to.
    pub shared_folder_uid: Option<String>,
    /// Defaults (shared folders only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defaults: Option<SharedFolderDefaults>,
    /// Creator.
    pub owner_uid: String,
    #[serde(skip)]
    pub(super) revision: i64,
}

fn ser_kind<S: serde::Serializer>(k: &FolderKind, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

/// The folder tree of one user with record links.
#[derive(Debug, Clone, Default)]
pub struct FolderTree {
    pub(super) root: String,
    folders: HashMap<String, Folder>,
    /// Folder uid (root = user uid) → record uids.
    links: HashMap<String, Vec<String>>,
    /// Record uid → folder uids.
    record_folders: HashMap<String, Vec<String>>,
}

impl FolderTree {
    /// The root folder's uid (the user's uid).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// A folder by uid.
    pub fn get(&self, uid: &str) -> Option<&Folder> {
        self.folders.get(uid)
    }

    /// All folders.
    pub fn all(&self) -> impl Iterator<Item = &Folder> {
        self.folders.values()
    }

    /// Child folders of `parent` (`None` or the root uid = root), by name.
    pub fn children(&self, parent: Option<&str>) -> Vec<&Folder> {
        let parent = parent.filter(|p| *p != self.root);
        let mut out: Vec<&Folder> = self
            .folders
            .values()
            .filter(|f| f.parent_uid.as_deref() == parent)
            .collect();
        out.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.uid.cmp(&b.uid))
        });
        out
    }

    /// Record uids linked in a folder (root uid for the root).
    pub fn records_in(&self, folder: &str) -> &[String] {
        self.links.get(folder).map_or(&[], Vec::as_slice)
    }

    /// Folder uids a record is linked in (root uid for the root).
    pub fn folders_of(&self, record: &str) -> &[String] {
        self.record_folders.get(record).map_or(&[], Vec::as_slice)
    }

    /// Names from the root down to `uid` (empty for the root).
    pub fn names(&self, uid: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut cur = self.folders.get(uid);
        let mut guard = 0;
        while let Some(f) = cur {
            names.push(f.name.clone());
            cur = f.parent_uid.as_deref().and_then(|p| self.folders.get(p));
            guard += 1;
            if guard > 1000 {
                break;
            }
        }
        names.reverse();
        names
    }

    /// The escaped backslash path of a folder (empty for the root).
    pub fn path_of(&self, uid: &str) -> String {
        path::join(&self.names(uid))
    }

    /// The child of `parent` named `name` (exact, then case-insensitive).
    pub fn child(&self, parent: Option<&str>, name: &str) -> Option<&Folder> {
        let kids = self.children(parent);
        kids.iter()
            .find(|f| f.name == name)
            .or_else(|| kids.iter().find(|f| f.name.eq_ignore_ascii_case(name)))
            .copied()
    }

    /// Walks path components from the root; `None` when some component is missing.
    pub fn walk<S: AsRef<str>>(&self, names: &[S]) -> Option<&str> {
        let mut cur: Option<&Folder> = None;
        for n in names {
            cur = Some(self.child(cur.map(|f| f.uid.as_str()), n.as_ref())?);
        }
        Some(cur.map_or(self.root.as_str(), |f| f.uid.as_str()))
    }

    /// A folder uid, a path (`A\B`), or `\`/empty for the root.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`].
    pub fn resolve(&self, folder: &str) -> Result<&str> {
        if self.folders.contains_key(folder) || folder == self.root {
            return Ok(self
                .folders
                .get_key_value(folder)
                .map_or(self.root.as_str(), |(k, _)| k.as_str()));
        }
        self.walk(&path::components(folder))
            .ok_or_else(|| VaultError::NotFound {
                kind: "folder",
                name: folder.to_string(),
            })
    }

    /// The folder and every folder below it.
    pub fn subtree(&self, uid: &str) -> Vec<String> {
        let mut out = vec![uid.to_string()];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i].clone();
            out.extend(
                self.children(Some(&parent))
                    .into_iter()
                    .map(|f| f.uid.clone()),
            );
            i += 1;
        }
        out
    }

    pub(super) fn insert(&mut self, f: Folder) {
        self.folders.insert(f.uid.clone(), f);
    }

    pub(super) fn add_link(&mut self, folder: &str, record: &str) {
        let list = self.links.entry(folder.to_string()).or_default();
        if !list.iter().any(|r| r == record) {
            list.push(record.to_string());
            self.record_folders
                .entry(record.to_string())
                .or_default()
                .push(folder.to_string());
        }
    }

    pub(super) fn remove_link(&mut self, folder: &str, record: &str) {
        if let Some(list) = self.links.get_mut(folder) {
            list.retain(|r| r != record);
        }
        if let Some(list) = self.record_folders.get_mut(record) {
            list.retain(|f| f != folder);
        }
    }
}

/// Builds the tree the session's user sees.
pub(crate) fn build_tree(store: &dyn StoreRead, s: &Session) -> Result<FolderTree> {
    build_tree_with(store, s, true)
}

/// [`build_tree`]; without `links`, the folders only (no record links:
/// cheap on a vault with many records).
pub(super) fn build_tree_with(
    store: &dyn StoreRead,
    s: &Session,
    links: bool,
) -> Result<FolderTree> {
    let rows = store.folders(&s.tenant_uid)?;
    let shares = store.shares(&s.tenant_uid)?;
    let mut tree = FolderTree {
        root: s.user_uid.clone(),
        ..FolderTree::default()
    };
    let placement: HashMap<&str, Option<&str>> = shares
        .iter()
        .filter(|sh| sh.holder_kind == HolderKind::User && sh.holder_uid == s.user_uid)
        .map(|sh| (sh.shared_folder_uid.as_str(), sh.parent_uid.as_deref()))
        .collect();
    for row in &rows {
        let (key, parent) = match row.kind {
            FolderKind::User if row.owner_uid == s.user_uid => {
                (&s.ring.data_key, row.parent_uid.clone())
            }
            FolderKind::Shared => match s.ring.shared_folders.get(&row.uid) {
                Some(k) => (
                    k,
                    placement
                        .get(row.uid.as_str())
                        .copied()
                        .flatten()
                        .map(str::to_string),
                ),
                None => continue,
            },
            FolderKind::SharedSub => match row
                .shared_folder_uid
                .as_ref()
                .and_then(|sf| s.ring.shared_folders.get(sf))
            {
                Some(k) => (k, row.parent_uid.clone()),
                None => continue,
            },
            FolderKind::User => continue,
        };
        let name = key.open(&row.data, &ad::folder(&row.uid))?;
        let name = String::from_utf8(name.to_vec()).map_err(|_| {
            VaultError::Corrupted(format!("folder {} has a non-UTF-8 name", row.uid))
        })?;
        tree.insert(Folder {
            uid: row.uid.clone(),
            kind: row.kind,
            name,
            parent_uid: parent,
            shared_folder_uid: match row.kind {
                FolderKind::Shared => Some(row.uid.clone()),
                _ => row.shared_folder_uid.clone(),
            },
            defaults: (row.kind == FolderKind::Shared).then_some(row.defaults),
            owner_uid: row.owner_uid.clone(),
            revision: row.revision,
        });
    }
    // A parent this user cannot see (e.g. a shared folder placed by its
    // owner under a personal folder) means "root" for this user.
    let known: HashSet<String> = tree.folders.keys().cloned().collect();
    for f in tree.folders.values_mut() {
        if f.parent_uid.as_ref().is_some_and(|p| !known.contains(p)) {
            f.parent_uid = None;
        }
    }
    if !links {
        return Ok(tree);
    }
    // (folder, record) is the table's primary key: no duplicates to check.
    for (folder, record) in store.links(&s.tenant_uid)? {
        if folder == s.user_uid || tree.folders.contains_key(&folder) {
            tree.record_folders
                .entry(record.clone())
                .or_default()
                .push(folder.clone());
            tree.links.entry(folder).or_default().push(record);
        }
    }
    Ok(tree)
}

impl Vault {
    /// The folder tree the user sees.
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] when a folder name fails authentication.
    pub fn folder_tree(&self) -> Result<FolderTree> {
        self.unless_stale(build_tree(self.store.as_ref(), &self.s))
    }
}
