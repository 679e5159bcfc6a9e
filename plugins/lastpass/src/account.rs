//! A decrypted LastPass entry (from a CSV row or an `ACCT` chunk) and its
//! mapping to a keeper record.

use keeper_plugin_sdk::{Field, ImportRecord, Location};
use serde_json::json;

use crate::notes::{apply_note, parse_note};

/// The url LastPass gives secure notes.
pub const SECURE_NOTE_URL: &str = "http://sn";
/// The url of LastPass folder placeholders.
pub const GROUP_URL: &str = "http://group";

/// A LastPass custom (form) field of an account (`ACFL` / `ACOF`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomField {
    /// The field's name.
    pub name: String,
    /// LastPass's type: `text`, `password`, `email`, `tel`, `textarea`...
    pub kind: String,
    /// The value.
    pub value: String,
}

/// An attachment of an online account (`ATTA`), to download.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AttachmentRef {
    /// LastPass's attachment id.
    pub id: String,
    /// The file name (decrypted).
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// The storage key `getattach.php` asks for.
    pub storage_key: String,
    /// The size of the encrypted download, as the blob says.
    pub size: u64,
    /// The account's attachment key.
    pub key: zeroize::Zeroizing<[u8; 32]>,
    /// The id of the shared folder the account is in, if any.
    pub share_id: Option<String>,
}

impl std::fmt::Debug for AttachmentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentRef")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// One decrypted LastPass entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// LastPass's id (empty for CSV rows).
    pub id: String,
    /// The title.
    pub name: String,
    /// The url (`http://sn` for secure notes).
    pub url: String,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
    /// The notes (`extra`): for secure notes the `NoteType:` text.
    pub notes: String,
    /// The folder path (`\` separated), inside the shared folder if any.
    pub group: String,
    /// The TOTP secret or `otpauth://` URI.
    pub totp: String,
    /// The shared folder's name, if the account is in one.
    pub shared_folder: Option<String>,
    /// Form fields.
    pub custom: Vec<CustomField>,
    /// True when the blob flags the account as a secure note.
    pub secure_note: bool,
    /// Attachments to download (online accounts only).
    pub attachments: Vec<AttachmentRef>,
}

impl Account {
    /// True for folder placeholders (`http://group`), which are skipped.
    pub fn is_group(&self) -> bool {
        self.url.trim() == GROUP_URL
    }

    /// True for secure notes.
    pub fn is_secure_note(&self) -> bool {
        self.secure_note || self.url.trim() == SECURE_NOTE_URL
    }

    /// The keeper record (see the crate docs for the mapping). `number`
    /// names an untitled entry (`Missing Title N`).
    pub fn to_record(&self, default_type: &str, number: u64) -> ImportRecord {
        let title = if self.name.trim().is_empty() {
            format!("Missing Title {number}")
        } else {
            self.name.trim().to_owned()
        };
        let mut record = ImportRecord::new(title, default_type);
        if !self.id.is_empty() {
            record.uid = Some(self.id.clone());
        }
        let note = if self.is_secure_note() {
            parse_note(&self.notes)
        } else {
            None
        };
        let typed = match note {
            Some(note) => apply_note(&mut record, note),
            None => false,
        };
        if !typed && self.is_secure_note() {
            if self.username.is_empty() && self.password.is_empty() {
                record.record_type = "encryptedNotes".to_owned();
                if !self.notes.is_empty() {
                    record.fields.push(Field::new("note", self.notes.clone()));
                }
            } else if !self.notes.is_empty() {
                record.notes = Some(self.notes.clone());
            }
        } else if !self.is_secure_note() && !self.notes.is_empty() {
            record.notes = Some(self.notes.clone());
        }
        // The entry's own login fields (secure notes usually have none).
        let url = self.url.trim();
        let url = if url == SECURE_NOTE_URL || url == "http://" {
            ""
        } else {
            url
        };
        for (kind, value) in [
            ("login", self.username.as_str()),
            ("password", &self.password),
            ("url", url),
        ] {
            if value.is_empty() {
                continue;
            }
            if record.fields.iter().any(|f| f.kind == kind) {
                record.custom.push(Field::custom("text", kind, value));
            } else {
                record.fields.push(Field::new(kind, value));
            }
        }
        if let Some(code) = one_time_code(&self.totp) {
            record.fields.push(Field::new("oneTimeCode", code));
        }
        for field in &self.custom {
            if field.value.is_empty() {
                continue;
            }
            let (kind, value) = match field.kind.as_str() {
                "password" => ("secret", field.value.clone()),
                "email" => ("email", field.value.clone()),
                "textarea" => ("multiline", field.value.clone()),
                "tel" => ("phone", json!({ "number": field.value }).to_string()),
                _ => ("text", field.value.clone()),
            };
            record
                .custom
                .push(Field::custom(kind, field.name.clone(), value));
        }
        if let Some(location) = self.location() {
            record.locations.push(location);
        }
        record
    }

    /// Where the record goes: the shared folder (with the group as the
    /// sub-folder), or the group as a personal folder; `(none)` and empty
    /// groups are the import folder's root.
    pub fn location(&self) -> Option<Location> {
        let group = self.group.trim().trim_matches('\\');
        let folder = (!group.is_empty() && group != "(none)").then(|| group.to_owned());
        match &self.shared_folder {
            Some(shared) => Some(Location::shared(shared.clone(), folder)),
            None => folder.map(Location::folder),
        }
    }
}

/// A TOTP value as an `otpauth://` URI: kept when it already is one, a bare
/// secret wrapped as `otpauth://totp/?secret=<SECRET>`; `None` when empty.
pub fn one_time_code(totp: &str) -> Option<String> {
    let totp = totp.trim();
    if totp.is_empty() {
        return None;
    }
    if totp
        .get(..10)
        .is_some_and(|s| s.eq_ignore_ascii_case("otpauth://"))
    {
        return Some(totp.to_owned());
    }
    let secret: String = totp
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Some(format!("otpauth://totp/?secret={secret}"))
}

/// Splits a CSV `grouping` into (shared folder, folder): a first component
/// starting with `Shared-` is a LastPass shared folder.
///
/// ```
/// use keeper_plugin_lastpass::account::split_grouping;
///
/// assert_eq!(split_grouping(r"Shared-Ops\DB"), (Some("Shared-Ops".into()), "DB".into()));
/// assert_eq!(split_grouping(r"Home\Bills"), (None, r"Home\Bills".into()));
/// ```
pub fn split_grouping(grouping: &str) -> (Option<String>, String) {
    let grouping = grouping.trim();
    if grouping.starts_with("Shared-") {
        let (share, rest) = grouping.split_once('\\').unwrap_or((grouping, ""));
        return (Some(share.trim().to_owned()), rest.trim().to_owned());
    }
    (None, grouping.to_owned())
}
