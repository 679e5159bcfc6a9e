//! What an importer yields: records, shared folders and skipped entries.

use crate::Field;
use crate::bindings::importer::exports::keeper::plugin::importer as wit;
#[cfg(feature = "v1_1")]
use crate::bindings::importer_v1_1::exports::keeper::plugin::importer as wit_v1_1;

/// One item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportItem {
    /// A shared folder, sent before the records that go into it.
    SharedFolder(SharedFolder),
    /// A record.
    Record(ImportRecord),
    /// A part of the source that was skipped, with the reason and its
    /// position (e.g. "line 12: 3 columns, expected at least 6").
    Skipped(String),
}

impl From<ImportRecord> for ImportItem {
    fn from(record: ImportRecord) -> Self {
        Self::Record(record)
    }
}

impl From<SharedFolder> for ImportItem {
    fn from(folder: SharedFolder) -> Self {
        Self::SharedFolder(folder)
    }
}

/// A record to create (or, with `--update`, to update).
///
/// ```
/// use keeper_plugin_sdk::{Field, ImportRecord, Location};
///
/// let rec = ImportRecord::new("GitHub", "login")
///     .field(Field::new("login", "octocat"))
///     .field(Field::new("password", "pw"))
///     .location(Location::folder("Dev"));
/// assert_eq!(rec.fields.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRecord {
    /// The record's uid in the source, if it has a stable one.
    pub uid: Option<String>,
    /// Title.
    pub title: String,
    /// Keeper record type, e.g. `login`, `bankCard`, `sshKeys`.
    pub record_type: String,
    /// Typed fields.
    pub fields: Vec<Field>,
    /// Custom fields.
    pub custom: Vec<Field>,
    /// Notes.
    pub notes: Option<String>,
    /// Folders the record goes into (none: the import folder's root).
    pub locations: Vec<Location>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
}

impl ImportRecord {
    /// An empty record with a title and a Keeper record type.
    pub fn new(title: impl Into<String>, record_type: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            record_type: record_type.into(),
            ..Self::default()
        }
    }

    /// Sets the source uid.
    pub fn uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = Some(uid.into());
        self
    }

    /// Adds a typed field.
    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// Adds a custom field.
    pub fn custom(mut self, field: Field) -> Self {
        self.custom.push(field);
        self
    }

    /// Sets the notes.
    pub fn notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = Some(notes.into());
        self
    }

    /// Adds a location.
    pub fn location(mut self, location: Location) -> Self {
        self.locations.push(location);
        self
    }

    /// Adds an attachment.
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }
}

/// A shared folder to create (or update) before records that use it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedFolder {
    /// Folder path, `\` separated; `\\` is a literal backslash.
    pub path: String,
    /// Default right of new members: may add and remove members.
    pub manage_users: bool,
    /// Default right of new members: may add and remove records.
    pub manage_records: bool,
    /// Default right of new records: may be edited.
    pub can_edit: bool,
    /// Default right of new records: may be shared.
    pub can_share: bool,
    /// Members to grant.
    pub permissions: Vec<Permission>,
}

impl SharedFolder {
    /// A shared folder with every default right off and no members.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }

    /// Adds a member.
    pub fn permission(mut self, permission: Permission) -> Self {
        self.permissions.push(permission);
        self
    }
}

/// A member's rights on a shared folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permission {
    /// A user's e-mail, or a team name when `team` is true.
    pub name: String,
    /// True when `name` is a team.
    pub team: bool,
    /// May add and remove members.
    pub manage_users: bool,
    /// May add and remove records.
    pub manage_records: bool,
}

impl Permission {
    /// A user (by e-mail) without management rights.
    pub fn user(email: impl Into<String>) -> Self {
        Self {
            name: email.into(),
            ..Self::default()
        }
    }

    /// A team (by name) without management rights.
    pub fn team(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            team: true,
            ..Self::default()
        }
    }
}

/// Where a record goes. A record may be in several places.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Path of the shared folder, if the record goes into one.
    pub shared_folder: Option<String>,
    /// Path of the folder: inside `shared_folder` if given, else a personal folder.
    pub folder: Option<String>,
    /// Record right inside the shared folder: may be edited.
    pub can_edit: bool,
    /// Record right inside the shared folder: may be shared.
    pub can_share: bool,
}

impl Location {
    /// A personal folder (`\` separated path).
    pub fn folder(path: impl Into<String>) -> Self {
        Self {
            folder: Some(path.into()),
            ..Self::default()
        }
    }

    /// A shared folder, optionally with a sub-folder inside it.
    pub fn shared(shared_folder: impl Into<String>, folder: Option<String>) -> Self {
        Self {
            shared_folder: Some(shared_folder.into()),
            folder,
            ..Self::default()
        }
    }
}

/// A file attached to a record.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// MIME type, if known.
    pub mime: Option<String>,
    /// The file's content.
    pub data: Vec<u8>,
}

impl Attachment {
    /// A file with unknown MIME type.
    pub fn new(name: impl Into<String>, data: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            mime: None,
            data,
        }
    }
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("mime", &self.mime)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// `From` our items to each version's (the same shapes in 1.0 and 1.1).
macro_rules! to_wit {
    ($($wit:ident),*) => {$(
        impl From<ImportItem> for $wit::ImportItem {
            fn from(item: ImportItem) -> Self {
                match item {
                    ImportItem::SharedFolder(f) => Self::SharedFolder(f.into()),
                    ImportItem::Record(r) => Self::Record(r.into()),
                    ImportItem::Skipped(reason) => Self::Skipped(reason),
                }
            }
        }

        impl From<ImportRecord> for $wit::ImportRecord {
            fn from(r: ImportRecord) -> Self {
                Self {
                    uid: r.uid,
                    title: r.title,
                    record_type: r.record_type,
                    fields: r.fields.into_iter().map(Into::into).collect(),
                    custom: r.custom.into_iter().map(Into::into).collect(),
                    notes: r.notes,
                    locations: r.locations.into_iter().map(Into::into).collect(),
                    attachments: r.attachments.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl From<SharedFolder> for $wit::SharedFolder {
            fn from(f: SharedFolder) -> Self {
                Self {
                    path: f.path,
                    manage_users: f.manage_users,
                    manage_records: f.manage_records,
                    can_edit: f.can_edit,
                    can_share: f.can_share,
                    permissions: f.permissions.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl From<Permission> for $wit::Permission {
            fn from(p: Permission) -> Self {
                Self {
                    name: p.name,
                    team: p.team,
                    manage_users: p.manage_users,
                    manage_records: p.manage_records,
                }
            }
        }

        impl From<Location> for $wit::Location {
            fn from(l: Location) -> Self {
                Self {
                    shared_folder: l.shared_folder,
                    folder: l.folder,
                    can_edit: l.can_edit,
                    can_share: l.can_share,
                }
            }
        }

        impl From<Attachment> for $wit::Attachment {
            fn from(a: Attachment) -> Self {
                Self {
                    name: a.name,
                    mime: a.mime,
                    data: a.data,
                }
            }
        }
    )*};
}

to_wit!(wit);
#[cfg(feature = "v1_1")]
to_wit!(wit_v1_1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_converts_with_every_part() {
        let record = ImportRecord::new("Bank", "bankCard")
            .uid("src-1")
            .field(Field::new("cardRef", "x"))
            .custom(Field::custom("text", "PIN hint", "birthday"))
            .notes("n")
            .location(Location::shared("Team", Some("Cards".into())))
            .attachment(Attachment::new("a.txt", b"hi".to_vec()));
        let wit::ImportItem::Record(w) = wit::ImportItem::from(ImportItem::from(record)) else {
            panic!("a record must convert to a record item");
        };
        assert_eq!(w.uid.as_deref(), Some("src-1"));
        assert_eq!(w.title, "Bank");
        assert_eq!(w.record_type, "bankCard");
        assert_eq!(w.fields[0].kind, "cardRef");
        assert_eq!(w.custom[0].label.as_deref(), Some("PIN hint"));
        assert_eq!(w.notes.as_deref(), Some("n"));
        assert_eq!(w.locations[0].shared_folder.as_deref(), Some("Team"));
        assert_eq!(w.locations[0].folder.as_deref(), Some("Cards"));
        assert_eq!(w.attachments[0].data, b"hi");
    }

    #[test]
    fn shared_folder_and_skipped_convert() {
        let mut folder = SharedFolder::new("Team").permission(Permission::team("Ops"));
        folder.can_edit = true;
        let wit::ImportItem::SharedFolder(w) = wit::ImportItem::from(ImportItem::from(folder))
        else {
            panic!("a shared folder must convert to a shared-folder item");
        };
        assert_eq!(w.path, "Team");
        assert!(w.can_edit && !w.can_share);
        assert!(w.permissions[0].team);
        assert_eq!(w.permissions[0].name, "Ops");
        assert!(matches!(
            wit::ImportItem::from(ImportItem::Skipped("line 3: empty".into())),
            wit::ImportItem::Skipped(s) if s == "line 3: empty"
        ));
    }
}
