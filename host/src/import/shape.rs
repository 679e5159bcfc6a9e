//! The import layout options, applied to what a source produced before the
//! vault's engine sees it, in Commander's order (reference §2.4 step 1):
//!
//! 1. `--filter-folder F`: keep only records with a placement whose shared
//!    folder (else folder) is `F` or below it (case-insensitive); only that
//!    placement is kept. Shared folders outside `F` are dropped.
//! 2. `--shared`: a personal folder path's first component becomes a shared
//!    folder and the rest a folder inside it; the source's own shared
//!    folder list is replaced by these.
//! 3. `--folder X`: every shared folder path, else folder path, is put
//!    under `X`; records without a placement go into `X`.
//! 4. `-p` letters: OR-ed into every shared folder's default rights (and
//!    the record rights of records placed by `--shared`).
//! 5. `-od/-nd`: member e-mails `user@old` become `user@new`.

use crate::vault::FolderSpec;
use crate::vault::SharedFolderDefaults;
use crate::vault::membership::{Membership, SharedFolderEntry};
use crate::vault::path;

use super::Collected;

/// The layout options.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    /// `--filter-folder`.
    pub filter_folder: Option<String>,
    /// `-s/--shared`.
    pub shared: bool,
    /// `--folder`.
    pub folder: Option<String>,
    /// `-p/--permissions`, parsed.
    pub permissions: SharedFolderDefaults,
    /// `-od/--old-domain` and `-nd/--new-domain`.
    pub domain: Option<(String, String)>,
}

/// Parses Commander's permission letters: `U` manage users, `R` manage
/// records, `E` can edit, `S` can share, `A` all, `N` none (any case, any
/// order).
///
/// # Errors
///
/// Any other letter, with the list of valid ones.
pub fn parse_permissions(letters: &str) -> Result<SharedFolderDefaults, String> {
    let mut d = SharedFolderDefaults::default();
    for c in letters.chars().filter(|c| !c.is_whitespace()) {
        match c.to_ascii_uppercase() {
            'U' => d.manage_users = true,
            'R' => d.manage_records = true,
            'E' => d.can_edit = true,
            'S' => d.can_share = true,
            'A' => {
                d = SharedFolderDefaults {
                    manage_users: true,
                    manage_records: true,
                    can_edit: true,
                    can_share: true,
                }
            }
            'N' => d = SharedFolderDefaults::default(),
            _ => {
                return Err(format!(
                    "unknown permission {c:?}: use U (manage users), R (manage records), \
                     E (can edit), S (can share), A (all) or N (none)"
                ));
            }
        }
    }
    Ok(d)
}

/// Whether `candidate` is `filter` or below it.
fn under(candidate: &str, filter: &[String]) -> bool {
    let names = path::components(candidate);
    names.len() >= filter.len()
        && names
            .iter()
            .zip(filter)
            .all(|(a, b)| a.to_lowercase() == b.to_lowercase())
}

fn or(a: SharedFolderDefaults, b: SharedFolderDefaults) -> SharedFolderDefaults {
    SharedFolderDefaults {
        manage_users: a.manage_users || b.manage_users,
        manage_records: a.manage_records || b.manage_records,
        can_edit: a.can_edit || b.can_edit,
        can_share: a.can_share || b.can_share,
    }
}

fn prefix(base: &str, p: &str) -> String {
    let mut names = path::components(base);
    names.extend(path::components(p));
    path::join(&names)
}

impl Shape {
    /// Applies the options to a source's items.
    pub fn apply(&self, c: &mut Collected) {
        if let Some(filter) = self.filter_folder.as_deref() {
            let filter = path::components(filter);
            c.records.retain_mut(|r| {
                let keep = r
                    .folders
                    .iter()
                    .find(|f| match (&f.shared_folder, &f.folder) {
                        (Some(sf), _) => under(sf, &filter),
                        (None, Some(folder)) => under(folder, &filter),
                        (None, None) => false,
                    });
                match keep.cloned() {
                    Some(f) => {
                        r.folders = vec![f];
                        true
                    }
                    None => false,
                }
            });
            c.shared.retain(|sf| under(&sf.path, &filter));
        }
        if self.shared {
            c.shared.clear();
            for r in &mut c.records {
                for f in &mut r.folders {
                    if f.shared_folder.is_some() {
                        continue;
                    }
                    let names = f
                        .folder
                        .as_deref()
                        .map(path::components)
                        .unwrap_or_default();
                    if let Some((first, rest)) = names.split_first() {
                        *f = FolderSpec {
                            shared_folder: Some(path::escape(first)),
                            folder: (!rest.is_empty()).then(|| path::join(rest)),
                            can_edit: self.permissions.can_edit,
                            can_share: self.permissions.can_share,
                        };
                    }
                }
            }
        }
        if let Some(base) = self.folder.as_deref().filter(|b| !b.trim().is_empty()) {
            for r in &mut c.records {
                for f in &mut r.folders {
                    match (&mut f.shared_folder, &mut f.folder) {
                        (Some(sf), _) => *sf = prefix(base, sf),
                        (None, Some(folder)) => *folder = prefix(base, folder),
                        (None, None) => f.folder = Some(base.to_string()),
                    }
                }
                if r.folders.is_empty() {
                    r.folders.push(FolderSpec {
                        folder: Some(base.to_string()),
                        ..FolderSpec::default()
                    });
                }
            }
            for sf in &mut c.shared {
                sf.path = prefix(base, &sf.path);
            }
        }
        // Every shared folder a record names gets an entry, so that the
        // defaults (and -p) apply to it.
        for r in &c.records {
            for sf in r.folders.iter().filter_map(|f| f.shared_folder.as_deref()) {
                let key = path::join(&path::components(sf));
                if !c
                    .shared
                    .iter()
                    .any(|e| path::join(&path::components(&e.path)) == key)
                {
                    c.shared.push(SharedFolderEntry {
                        path: key,
                        ..SharedFolderEntry::default()
                    });
                }
            }
        }
        for sf in &mut c.shared {
            let d = or(sf.defaults(), self.permissions);
            sf.manage_users = d.manage_users;
            sf.manage_records = d.manage_records;
            sf.can_edit = d.can_edit;
            sf.can_share = d.can_share;
        }
        if let Some((old, new)) = &self.domain {
            let mut m = Membership {
                shared_folders: std::mem::take(&mut c.shared),
                teams: std::mem::take(&mut c.teams),
            };
            m.rewrite_domains(old, new);
            c.shared = m.shared_folders;
            c.teams = m.teams;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::NewRecord;
    use crate::vault::model::RecordData;

    fn record(title: &str, folders: Vec<FolderSpec>) -> NewRecord {
        NewRecord {
            folders,
            ..NewRecord::new(RecordData::new("login", title))
        }
    }

    fn personal(p: &str) -> FolderSpec {
        FolderSpec {
            folder: Some(p.into()),
            ..FolderSpec::default()
        }
    }

    #[test]
    fn permission_letters() {
        let d = parse_permissions("ue").expect("valid");
        assert!(d.manage_users && d.can_edit && !d.manage_records && !d.can_share);
        let all = parse_permissions("A").expect("valid");
        assert!(all.manage_users && all.manage_records && all.can_edit && all.can_share);
        assert_eq!(
            parse_permissions("AN").expect("valid"),
            SharedFolderDefaults::default()
        );
        assert!(parse_permissions("UX").is_err_and(|e| e.contains("'X'")));
    }

    #[test]
    fn filter_then_shared_then_folder() {
        let mut c = Collected {
            records: vec![
                record("a", vec![personal("Other"), personal("Work\\Dev")]),
                record("b", vec![personal("Home")]),
                record("c", vec![]),
            ],
            ..Collected::default()
        };
        Shape {
            filter_folder: Some("work".into()),
            shared: true,
            folder: Some("Imported".into()),
            permissions: parse_permissions("E").expect("valid"),
            domain: None,
        }
        .apply(&mut c);
        assert_eq!(c.records.len(), 1);
        let f = &c.records[0].folders;
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].shared_folder.as_deref(), Some("Imported\\Work"));
        assert_eq!(f[0].folder.as_deref(), Some("Dev"));
        assert!(f[0].can_edit);
        assert_eq!(c.shared.len(), 1);
        assert!(c.shared[0].can_edit && !c.shared[0].manage_users);
    }
}
