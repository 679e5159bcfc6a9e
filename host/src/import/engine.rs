//! The import engine: every importer (Keeper JSON, importer plugins) hands
//! it records, and it decides what becomes of each against the vault's
//! records, then writes them with [`Vault::apply`], one transaction per
//! part ([`Importer`]).
//!
//! For each record, in order:
//!
//! 1. an oversized record (over [`MAX_RECORD_DATA`] without attachments) has
//!    fields moved into attachments, largest first, until it fits
//!    (see [`super::oversize`]);
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
//!
//! Links between the source's records (`addressRef`, `cardRef`, `recordRef`
//! fields naming other records by the source's ids, as Keeper JSON's
//! `references` do) are re-linked to the uids those records get in the
//! vault, as Commander does: records that are not links are decided first,
//! so the record a link names is known before the link is compared and
//! written. A link to an id the run has not seen stays only when it is a
//! uid (it may name a vault record).

use std::collections::{HashMap, HashSet};

use crate::vault::crypto;
use crate::vault::duplicates::full_hash;
use crate::vault::model::fields;
use crate::vault::{
    Action, Batch, FolderSpec, NewAttachment, NewRecord, Record, RecordData, Result,
    SharedFolderDefaults, Vault, check_attachment,
};

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

/// About the bytes of a record's text (title, notes, field labels and
/// values) and attachments: what holding it costs, cheaply estimated (the
/// 5 MB rule measures exactly, in [`super::oversize`]).
pub fn record_size(r: &NewRecord) -> usize {
    fn value_len(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::String(s) => s.len(),
            serde_json::Value::Array(a) => a.iter().map(value_len).sum(),
            serde_json::Value::Object(o) => o.iter().map(|(k, v)| k.len() + value_len(v)).sum(),
            _ => 8,
        }
    }
    let d = &r.data;
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
        + r.attachments.iter().map(|a| a.data.len()).sum::<usize>()
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
    fn decide(&mut self, uid: Option<&str>, data: &RecordData, specs: &[FolderSpec]) -> Action {
        let places: Vec<String> = if specs.is_empty() {
            vec![String::new()]
        } else {
            specs.iter().map(|f| f.full_path().to_lowercase()).collect()
        };
        let hash = full_hash(data);
        if let Some(u) = uid.filter(|u| self.existing.contains_key(*u)) {
            self.claimed.insert(u.to_string());
            return if hash.is_some() && self.existing[u].hash == hash {
                Action::Link(u.to_string())
            } else {
                Action::Replace(u.to_string())
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
            return Action::Link(u);
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
                return Action::Replace(u);
            }
        }
        Action::Add
    }

    /// The files of `r` that the vault record `action` writes to does not
    /// have yet (same name and size means present, as in Commander).
    fn new_files(&self, action: &Action, files: Vec<NewAttachment>) -> Vec<NewAttachment> {
        let present = match action {
            Action::Add => return files,
            Action::Replace(u) | Action::Link(u) => {
                self.existing.get(u).map(|k| k.files.as_slice())
            }
        }
        .unwrap_or_default();
        files
            .into_iter()
            .filter(|f| {
                !present
                    .iter()
                    .any(|(name, size)| *name == f.name && *size == f.data.len() as u64)
            })
            .collect()
    }
}

/// The placements a record gets: the first only with `no_shortcuts`.
fn placements(r: &NewRecord, options: ImportOptions) -> &[FolderSpec] {
    if options.no_shortcuts {
        &r.folders[..r.folders.len().min(1)]
    } else {
        &r.folders[..]
    }
}

/// A record ready for the vault: oversized fields moved into attachments,
/// attachment sizes checked.
struct Prepared {
    data: RecordData,
    files: Vec<NewAttachment>,
    moved: usize,
}

/// Fits oversized records and checks attachment sizes.
fn prepare(records: &[NewRecord]) -> Result<Vec<Prepared>> {
    let mut prepared = Vec::with_capacity(records.len());
    for r in records {
        let mut data = r.data.clone();
        let mut files = r.attachments.clone();
        let moved = super::oversize::fit(&mut data, &mut files)?;
        for f in &files {
            check_attachment(
                &format!("{} (record {:?})", f.name, data.title),
                f.data.len(),
            )?;
        }
        prepared.push(Prepared { data, files, moved });
    }
    Ok(prepared)
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
    /// The source's record ids → the uids those records have in the vault
    /// (for re-linking links between them).
    ids: HashMap<String, String>,
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
            ids: HashMap::new(),
        })
    }

    /// What [`Importer::write`] would do with each record; nothing is
    /// written (the matches are remembered, as a write would).
    ///
    /// # Errors
    ///
    /// As [`Importer::write`], except for storage write errors.
    pub fn plan(&mut self, records: &[NewRecord]) -> Result<Vec<Action>> {
        let mut prepared = prepare(records)?;
        Ok(self
            .decide_all(records, &mut prepared)
            .into_iter()
            .map(|(action, _)| action)
            .collect())
    }

    /// Re-links each record's links, decides its action and the uid it
    /// will have (in source order, links last; see the module
    /// documentation); returns them in source order.
    fn decide_all(
        &mut self,
        records: &[NewRecord],
        prepared: &mut [Prepared],
    ) -> Vec<(Action, Option<String>)> {
        let options = self.matcher.options;
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by_key(|&i| has_links(&prepared[i].data));
        let mut decided = vec![None; records.len()];
        for i in order {
            let (r, p) = (&records[i], &mut prepared[i]);
            relink(&mut p.data, &self.ids);
            let action = self
                .matcher
                .decide(r.uid.as_deref(), &p.data, placements(r, options));
            let uid = match &action {
                Action::Replace(u) | Action::Link(u) => Some(u.clone()),
                // A source id that is not a uid (`65`) gets a fresh uid now,
                // so that links to it can name it.
                Action::Add => r.uid.as_ref().map(|id| {
                    if crypto::is_uid(id) {
                        id.clone()
                    } else {
                        crypto::new_uid()
                    }
                }),
            };
            if let (Some(id), Some(uid)) = (&r.uid, &uid) {
                self.ids.insert(id.clone(), uid.clone());
            }
            decided[i] = Some((action, uid));
        }
        decided.into_iter().flatten().collect()
    }

    /// Writes one part in one transaction ([`Vault::apply`]): creates the
    /// shared folders (`(path, defaults)`) and every folder the records
    /// name, then updates, skips or adds each record as the module
    /// documentation says.
    ///
    /// # Errors
    ///
    /// As [`Vault::apply`], and [`crate::vault::VaultError::Invalid`] for a record that
    /// cannot be made to fit; nothing of this part is written then.
    pub fn write(
        &mut self,
        vault: &mut Vault,
        shared: &[(String, SharedFolderDefaults)],
        records: &[NewRecord],
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
        records: &[NewRecord],
    ) -> Result<ImportSummary> {
        self.write_part(vault, shared, records, false)
    }

    fn write_part(
        &mut self,
        vault: &mut Vault,
        shared: &[(String, SharedFolderDefaults)],
        records: &[NewRecord],
        durable: bool,
    ) -> Result<ImportSummary> {
        let options = self.matcher.options;
        let mut prepared = prepare(records)?;
        let decided = self.decide_all(records, &mut prepared);
        let fields_moved = prepared.iter().map(|p| p.moved).sum();
        let batch = Batch {
            shared_folders: shared.to_vec(),
            records: records
                .iter()
                .zip(prepared)
                .zip(decided)
                .map(|((r, p), (action, uid))| {
                    let files = self.matcher.new_files(&action, p.files);
                    let record = NewRecord {
                        uid,
                        data: p.data,
                        folders: placements(r, options).to_vec(),
                        modified: r.modified,
                        attachments: files,
                    };
                    (action, record)
                })
                .collect(),
        };
        let applied = if durable {
            vault.apply(&batch)?
        } else {
            vault.apply_deferred(&batch)?
        };
        Ok(ImportSummary {
            added: applied.added,
            updated: applied.replaced,
            skipped: applied.linked,
            folders_created: applied.folders_created,
            attachments: applied.attachments,
            fields_moved,
        })
    }
}

/// Whether a record links to other records.
fn has_links(d: &RecordData) -> bool {
    d.fields
        .iter()
        .chain(&d.custom)
        .any(|f| fields::is_reference(&f.kind) && !f.value.is_empty())
}

/// Points a record's links at the uids the records they name have in the
/// vault: a source id seen in this run becomes that record's uid, a uid
/// stays, anything else is dropped.
fn relink(d: &mut RecordData, ids: &HashMap<String, String>) {
    for f in d.fields.iter_mut().chain(d.custom.iter_mut()) {
        if !fields::is_reference(&f.kind) {
            continue;
        }
        let linked = f
            .value
            .iter()
            .filter_map(|v| {
                let id = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                match ids.get(&id) {
                    Some(uid) => Some(uid.clone()),
                    None => crypto::is_uid(&id).then_some(id),
                }
            })
            .map(serde_json::Value::String)
            .collect();
        f.value = zeroize::Zeroizing::new(linked);
    }
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
    }
}
