//! The vault's import engine: every importer (Keeper JSON, importer plugins)
//! hands it folders and records, and it writes them in **one transaction**
//! ([`import_records`]), or, for a source too large to hold, part by part
//! with one transaction each ([`Importer`]).
//!
//! For each record, in order:
//!
//! 1. an oversized record (over [`MAX_RECORD_DATA`] without attachments) has
//!    fields moved into attachments, largest first, until it fits
//!    (see `vault/oversize.rs`);
//! 2. a record whose uid exists in the vault is updated (Commander: always;
//!    reported as skipped when nothing changed);
//! 3. a record identical to one in the vault (full content hash) is
//!    skipped and linked into its folders (a "shortcut"); with
//!    `no_shortcuts` only an identical record already in the same folder
//!    counts, so nothing is linked across folders;
//! 4. with `update`, a record matching one in the vault on type, title,
//!    login, url and folder (Commander's partial key, limited to the same
//!    folder as in its PR #2193) replaces that record's fields, at most once
//!    per vault record; the old password goes to the history;
//! 5. anything else is added.
//!
//! Importing the same source twice therefore creates no duplicates.

use std::collections::{HashMap, HashSet};

use zeroize::Zeroizing;

use super::crypto::{self, Key};
use super::duplicates::full_hash;
use super::folders::{FolderTree, ensure_path_tx, target_for};
use super::model::{AttachmentMeta, RecordData};
use super::records::{
    FolderTarget, MAX_ATTACHMENT, NewRecord, attach_tx, insert_record_tx, keyed_row, link_tx,
    record_key, update_record_tx,
};
use super::store::{SharedFolderDefaults, StoreTx};
use super::{Record, Result, Session, Vault, VaultError, path};

pub use super::oversize::MAX_RECORD_DATA;

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct ImportSummary {
    /// New records.
    pub added: usize,
    /// Existing records replaced (same uid, or `--update` matches).
    pub updated: usize,
    /// Identical records already present (linked into the folders only).
    pub skipped: usize,
    /// Folders and shared folders created.
    pub folders_created: usize,
    /// Attachments stored (the source's, and fields moved out of oversized records).
    pub attachments: usize,
    /// Fields moved into attachments because their record was too large.
    pub fields_moved: usize,
}

/// How the engine treats records that already exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Update records matching on type, title, login, url and folder
    /// instead of adding new ones (`--update`).
    pub update: bool,
    /// Put each record into its first folder only, and never link an
    /// identical record from another folder (`--no-shortcuts`).
    pub no_shortcuts: bool,
}

/// Where an imported record goes (Commander's `Folder`): a shared-folder
/// path (`domain`) and/or a folder path below it or at the root.
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

/// A file to attach to an imported record.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportAttachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Content.
    pub data: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ImportAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportAttachment")
            .field("name", &self.name)
            .field("size", &self.data.len())
            .finish_non_exhaustive()
    }
}

/// One record to import.
#[derive(Debug, Clone)]
pub struct ImportRecord {
    /// Uid from the source (kept when free; an existing one is updated).
    pub uid: Option<String>,
    /// The payload.
    pub data: RecordData,
    /// Placements; empty = the root.
    pub folders: Vec<FolderSpec>,
    /// Modification time to keep, epoch ms.
    pub modified: Option<i64>,
    /// Files to attach.
    pub attachments: Vec<ImportAttachment>,
}

impl ImportRecord {
    /// About the bytes of its text (title, notes, field labels and values)
    /// and attachments: what holding it costs, cheaply estimated (the
    /// 5 MB rule measures exactly, in `oversize`).
    pub fn size(&self) -> usize {
        fn value_len(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::String(s) => s.len(),
                serde_json::Value::Array(a) => a.iter().map(value_len).sum(),
                serde_json::Value::Object(o) => o.iter().map(|(k, v)| k.len() + value_len(v)).sum(),
                _ => 8,
            }
        }
        let d = &self.data;
        let fields: usize = d
            .fields
            .iter()
            .chain(&d.custom)
            .map(|f| {
                f.kind.len()
                    + f.label.as_ref().map_or(0, String::len)
                    + f.value.iter().map(value_len).sum::<usize>()
            })
            .sum();
        d.title.len()
            + d.notes.len()
            + fields
            + self.attachments.iter().map(|a| a.data.len()).sum::<usize>()
    }

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

/// `--update`'s match key: type, title, login, url, folder (case-folded
/// where Commander compares case-insensitively).
fn update_key(d: &RecordData, folder: &str) -> String {
    [
        d.record_type.as_str(),
        &d.title.to_lowercase(),
        &d.login().unwrap_or_default().to_lowercase(),
        d.url().unwrap_or_default(),
        &folder.to_lowercase(),
    ]
    .join("\u{0}")
}

/// What the engine does (or, for [`plan`], would do) with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Added as a new record.
    Add,
    /// Replaces the vault record with this uid.
    Update(String),
    /// Identical to the vault record with this uid: only linked into the
    /// record's folders.
    Skip(String),
}

/// What the matching rules need of one vault record: its content hash and
/// its attachments (name, size). Records themselves are not kept, so a
/// long import holds a few dozen bytes per vault record, not the records.
struct Known {
    hash: Option<[u8; 32]>,
    files: Vec<(String, u64)>,
}

impl Known {
    fn of(r: &Record) -> Self {
        Self {
            hash: full_hash(&r.data),
            files: r
                .data
                .attachments
                .iter()
                .map(|a| (a.name.clone(), a.size))
                .collect(),
        }
    }
}

/// The vault's records as the matching rules see them.
struct Matcher {
    options: ImportOptions,
    existing: HashMap<String, Known>,
    /// Record uid → its folders' paths, lower-cased (`""` = the root).
    paths: HashMap<String, Vec<String>>,
    by_hash: HashMap<[u8; 32], Vec<String>>,
    by_key: HashMap<String, Vec<String>>,
    /// Vault records already claimed by an earlier import record.
    claimed: HashSet<String>,
}

impl Matcher {
    fn new(vault: &Vault, options: ImportOptions) -> Result<Self> {
        let tree = vault.folder_tree()?;
        let records = vault.records()?;
        let mut m = Self {
            options,
            paths: HashMap::new(),
            by_hash: HashMap::new(),
            by_key: HashMap::new(),
            claimed: HashSet::new(),
            existing: HashMap::new(),
        };
        let mut records: Vec<&Record> = records.iter().collect();
        records.sort_by(|a, b| a.uid.cmp(&b.uid));
        for r in records {
            let uid = &r.uid;
            let folders = tree.folders_of(uid);
            let paths: Vec<String> = if folders.is_empty() {
                vec![String::new()]
            } else {
                folders
                    .iter()
                    .map(|f| tree.path_of(f).to_lowercase())
                    .collect()
            };
            let known = Known::of(r);
            if let Some(h) = known.hash {
                m.by_hash.entry(h).or_default().push(uid.clone());
            }
            if options.update {
                for p in &paths {
                    m.by_key
                        .entry(update_key(&r.data, p))
                        .or_default()
                        .push(uid.clone());
                }
            }
            m.paths.insert(uid.clone(), paths);
            m.existing.insert(uid.clone(), known);
        }
        Ok(m)
    }

    /// The rules of the module documentation, for one record placed in `specs`.
    fn decide(&mut self, uid: Option<&str>, data: &RecordData, specs: &[FolderSpec]) -> Outcome {
        let places: Vec<String> = if specs.is_empty() {
            vec![String::new()]
        } else {
            specs.iter().map(|f| f.full_path().to_lowercase()).collect()
        };
        let hash = full_hash(data);
        if let Some(u) = uid.filter(|u| self.existing.contains_key(*u)) {
            self.claimed.insert(u.to_string());
            return if hash.is_some() && self.existing[u].hash == hash {
                Outcome::Skip(u.to_string())
            } else {
                Outcome::Update(u.to_string())
            };
        }
        let no_shortcuts = self.options.no_shortcuts;
        let identical = hash
            .and_then(|h| self.by_hash.get(&h))
            .and_then(|list| {
                list.iter().find(|u| {
                    !no_shortcuts
                        || self
                            .paths
                            .get(*u)
                            .is_some_and(|ps| ps.iter().any(|p| places.contains(p)))
                })
            })
            .cloned();
        if let Some(u) = identical {
            self.claimed.insert(u.clone());
            return Outcome::Skip(u);
        }
        if self.options.update {
            let matched = places
                .iter()
                .filter_map(|p| self.by_key.get(&update_key(data, p)))
                .flatten()
                .find(|u| !self.claimed.contains(*u))
                .cloned();
            if let Some(u) = matched {
                self.claimed.insert(u.clone());
                return Outcome::Update(u);
            }
        }
        Outcome::Add
    }
}

/// The placements a record gets: the first only with `no_shortcuts`.
fn placements(r: &ImportRecord, options: ImportOptions) -> &[FolderSpec] {
    if options.no_shortcuts {
        &r.folders[..r.folders.len().min(1)]
    } else {
        &r.folders[..]
    }
}

/// Fits oversized records and checks attachment sizes: `(data, files,
/// fields moved)` per record.
fn prepare(records: &[ImportRecord]) -> Result<Vec<(RecordData, Vec<ImportAttachment>, usize)>> {
    let mut prepared = Vec::with_capacity(records.len());
    for r in records {
        let mut data = r.data.clone();
        let mut files = r.attachments.clone();
        let moved = super::oversize::fit(&mut data, &mut files)?;
        for f in &files {
            let size = f.data.len() as u64;
            if size > MAX_ATTACHMENT {
                return Err(VaultError::TooLarge {
                    name: format!("{} (record {:?})", f.name, data.title),
                    size,
                    limit: MAX_ATTACHMENT,
                });
            }
        }
        prepared.push((data, files, moved));
    }
    Ok(prepared)
}

/// What [`import_records`] would do with each record; nothing is written.
///
/// # Errors
///
/// As [`import_records`], except for storage write errors.
pub fn plan(
    vault: &Vault,
    records: &[ImportRecord],
    options: ImportOptions,
) -> Result<Vec<Outcome>> {
    Importer::new(vault, options)?.plan(records)
}

/// Imports records in one transaction (all or nothing): creates the shared
/// folders (`(path, defaults)`) and every folder the records name, then
/// updates, skips or adds each record as the module documentation says.
///
/// # Errors
///
/// Storage errors, [`VaultError::Invalid`] for impossible folder layouts
/// (a shared folder inside a shared folder) or a record that cannot be made
/// to fit, [`VaultError::TooLarge`] for an attachment over 100 MiB;
/// nothing is written then.
pub fn import_records(
    vault: &mut Vault,
    shared: &[(String, SharedFolderDefaults)],
    records: &[ImportRecord],
    options: ImportOptions,
) -> Result<ImportSummary> {
    Importer::new(vault, options)?.write(vault, shared, records)
}

/// One import run over many parts: the vault's records are read once, and
/// each part is planned ([`Importer::plan`]) or written in its own
/// transaction ([`Importer::write`]) against them, so that a source too
/// large to hold is imported part by part in bounded memory.
///
/// Records written by an earlier part are not matched by a later one,
/// exactly as records of one part are not matched by each other; a second
/// run over the same source finds them all and skips them, which is how an
/// interrupted import resumes.
pub struct Importer {
    matcher: Matcher,
}

impl Importer {
    /// Reads what the matching rules need of the vault's records.
    ///
    /// # Errors
    ///
    /// As [`Vault::records`].
    pub fn new(vault: &Vault, options: ImportOptions) -> Result<Self> {
        Ok(Self {
            matcher: Matcher::new(vault, options)?,
        })
    }

    /// What [`Importer::write`] would do with each record; nothing is
    /// written (the matches are remembered, as a write would).
    ///
    /// # Errors
    ///
    /// As [`Importer::write`], except for storage write errors.
    pub fn plan(&mut self, records: &[ImportRecord]) -> Result<Vec<Outcome>> {
        let prepared = prepare(records)?;
        Ok(self.decide_all(records, &prepared))
    }

    fn decide_all(
        &mut self,
        records: &[ImportRecord],
        prepared: &[(RecordData, Vec<ImportAttachment>, usize)],
    ) -> Vec<Outcome> {
        let options = self.matcher.options;
        records
            .iter()
            .zip(prepared)
            .map(|(r, (data, _, _))| {
                self.matcher
                    .decide(r.uid.as_deref(), data, placements(r, options))
            })
            .collect()
    }

    /// Writes one part in one transaction, as [`import_records`] does.
    ///
    /// # Errors
    ///
    /// As [`import_records`]; nothing of this part is written then.
    pub fn write(
        &mut self,
        vault: &mut Vault,
        shared: &[(String, SharedFolderDefaults)],
        records: &[ImportRecord],
    ) -> Result<ImportSummary> {
        self.write_part(vault, shared, records, true)
    }

    /// [`Importer::write`] for a part that is not the last: its commit
    /// does not wait for the disk (the last part's does, and makes the
    /// earlier ones durable with it). A power loss before that can undo
    /// the latest parts, as if the import had stopped there; running it
    /// again resumes it.
    ///
    /// # Errors
    ///
    /// As [`Importer::write`].
    pub fn write_early(
        &mut self,
        vault: &mut Vault,
        shared: &[(String, SharedFolderDefaults)],
        records: &[ImportRecord],
    ) -> Result<ImportSummary> {
        self.write_part(vault, shared, records, false)
    }

    fn write_part(
        &mut self,
        vault: &mut Vault,
        shared: &[(String, SharedFolderDefaults)],
        records: &[ImportRecord],
        durable: bool,
    ) -> Result<ImportSummary> {
        let options = self.matcher.options;
        let prepared = prepare(records)?;
        let outcomes = self.decide_all(records, &prepared);
        let existing = &self.matcher.existing;
        let sf_defaults: HashMap<String, SharedFolderDefaults> = shared
            .iter()
            .map(|(p, d)| (path::join(&path::components(p)), *d))
            .collect();
        vault.write_with_tree(false, durable, |tx, s, tree, keys| {
            let mut summary = ImportSummary::default();
            // Placement → folder uid, so that each path is walked once per part.
            let mut resolved: HashMap<(Option<String>, Option<String>), String> = HashMap::new();
            let before = tree.all().count();
            let mut paths: Vec<&String> = sf_defaults.keys().collect();
            paths.sort();
            for p in paths {
                ensure_path_tx(
                    tx,
                    s,
                    tree,
                    keys,
                    None,
                    &path::components(p),
                    Some(sf_defaults[p]),
                )?;
            }
            for ((r, (data, files, moved)), outcome) in records.iter().zip(&prepared).zip(&outcomes)
            {
                summary.fields_moved += moved;
                let specs = placements(r, options);
                let targets =
                    folder_targets(tx, s, tree, keys, &sf_defaults, &mut resolved, specs)?;
                let uid = match outcome {
                    Outcome::Skip(u) => {
                        relink(tx, s, u, &targets)?;
                        summary.skipped += 1;
                        u.clone()
                    }
                    Outcome::Update(u) => {
                        replace_tx(tx, s, u, data)?;
                        relink(tx, s, u, &targets)?;
                        summary.updated += 1;
                        u.clone()
                    }
                    Outcome::Add => {
                        let new = NewRecord {
                            uid: r.uid.clone(),
                            data: data.clone(),
                            folders: Vec::new(),
                            modified: r.modified,
                        };
                        summary.added += 1;
                        insert_record_tx(tx, s, &new, &targets)?
                    }
                };
                let present = existing.get(&uid).map(|k| k.files.as_slice());
                summary.attachments += attach_new(tx, s, &uid, present, files)?;
            }
            summary.folders_created = tree.all().count() - before;
            Ok(summary)
        })
    }
}

impl ImportSummary {
    /// Adds another part's counts.
    pub fn add(&mut self, other: &Self) {
        self.added += other.added;
        self.updated += other.updated;
        self.skipped += other.skipped;
        self.folders_created += other.folders_created;
        self.attachments += other.attachments;
        self.fields_moved += other.fields_moved;
    }
}

/// Finds or creates the folders of a record's placements (`resolved`
/// remembers the placements seen before in this import).
fn folder_targets(
    tx: &mut dyn StoreTx,
    s: &Session,
    tree: &mut FolderTree,
    keys: &mut HashMap<String, Key>,
    sf_defaults: &HashMap<String, SharedFolderDefaults>,
    resolved: &mut HashMap<(Option<String>, Option<String>), String>,
    specs: &[FolderSpec],
) -> Result<Vec<FolderTarget>> {
    let mut targets: Vec<FolderTarget> = Vec::new();
    for spec in specs {
        let place = (spec.shared_folder.clone(), spec.folder.clone());
        let known = resolved.get(&place).cloned();
        let folder = match known {
            Some(uid) => uid,
            None => resolve_place(tx, s, tree, keys, sf_defaults, spec)?,
        };
        resolved.insert(place, folder.clone());
        if targets.iter().any(|t| t.folder_uid == folder) {
            continue;
        }
        let mut target = target_for(tree, s, keys, &folder)?;
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
fn resolve_place(
    tx: &mut dyn StoreTx,
    s: &Session,
    tree: &mut FolderTree,
    keys: &mut HashMap<String, Key>,
    sf_defaults: &HashMap<String, SharedFolderDefaults>,
    spec: &FolderSpec,
) -> Result<String> {
    Ok(match &spec.shared_folder {
        Some(sf) => {
            let names = path::components(sf);
            let defaults = sf_defaults
                .get(&path::join(&names))
                .copied()
                .unwrap_or_default();
            let sf_uid = ensure_path_tx(tx, s, tree, keys, None, &names, Some(defaults))?;
            let sub = spec
                .folder
                .as_deref()
                .map(path::components)
                .unwrap_or_default();
            ensure_path_tx(tx, s, tree, keys, Some(&sf_uid), &sub, None)?
        }
        None => {
            let names = spec
                .folder
                .as_deref()
                .map(path::components)
                .unwrap_or_default();
            ensure_path_tx(tx, s, tree, keys, None, &names, None)?
        }
    })
}

/// Replaces a record's content with the imported one, keeping its password
/// history (plus the replaced password) and attachments.
fn replace_tx(tx: &mut dyn StoreTx, s: &Session, uid: &str, data: &RecordData) -> Result<()> {
    let now = super::now_ms();
    update_record_tx(tx, s, uid, &mut |d| {
        let password_history = std::mem::take(&mut d.password_history);
        let attachments = std::mem::take(&mut d.attachments);
        let file_refs: Vec<_> = d
            .fields
            .iter()
            .chain(&d.custom)
            .filter(|f| f.kind == "fileRef")
            .flat_map(|f| f.value.clone())
            .collect();
        let old_password = d.password().map(str::to_string);
        *d = data.clone();
        d.password_history = password_history;
        d.attachments = attachments;
        if !file_refs.is_empty() {
            match d.fields.iter_mut().find(|f| f.kind == "fileRef") {
                Some(f) => f.value = file_refs,
                None => d.fields.push(super::Field {
                    kind: "fileRef".into(),
                    label: None,
                    value: file_refs,
                    required: false,
                }),
            }
        }
        if let Some(old) =
            old_password.filter(|o| !o.is_empty() && Some(o.as_str()) != data.password())
        {
            d.password_history.push(super::PasswordChange {
                password: old,
                replaced: now,
            });
        }
        Ok(())
    })?;
    Ok(())
}

/// Attaches the files a record does not have yet (same name and size means
/// present, as in Commander); returns how many were stored.
fn attach_new(
    tx: &mut dyn StoreTx,
    s: &Session,
    uid: &str,
    present: Option<&[(String, u64)]>,
    files: &[ImportAttachment],
) -> Result<usize> {
    let present = present.unwrap_or_default();
    let new: Vec<(AttachmentMeta, &[u8])> = files
        .iter()
        .filter(|f| {
            !present
                .iter()
                .any(|(name, size)| *name == f.name && *size == f.data.len() as u64)
        })
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

fn relink(tx: &mut dyn StoreTx, s: &Session, uid: &str, targets: &[FolderTarget]) -> Result<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let row = keyed_row(tx, s, uid)?;
    let key: Key = record_key(s, &row)?;
    link_tx(tx, s, uid, &key, targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_key_is_case_folded_but_keeps_the_folder() {
        let mut a = RecordData::new("login", "Mail");
        a.set_field(false, "login", None, vec!["Me@X".into()], 0);
        let mut b = RecordData::new("login", "mail");
        b.set_field(false, "login", None, vec!["me@x".into()], 0);
        assert_eq!(update_key(&a, "Work"), update_key(&b, "work"));
        assert_ne!(update_key(&a, "Work"), update_key(&b, "Home"));
        let spec = FolderSpec {
            shared_folder: Some("Team".into()),
            folder: Some("Ops\\DB".into()),
            ..Default::default()
        };
        assert_eq!(spec.full_path(), "Team\\Ops\\DB");
    }
}
