//! Keeper's typed (v3) record model: the decrypted record ([`Record`]), its
//! payload ([`RecordData`]: type, title, notes, fields, custom fields,
//! password history, attachment metadata) and the list view without secrets
//! ([`RecordSummary`]).
//!
//! Field values keep Keeper's JSON shapes (`host` is `{hostName, port}`,
//! dates are epoch milliseconds…); [`fields`] knows every field type's shape,
//! parses Commander's text forms and masks secrets.

pub mod fields;
pub mod types;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

/// One typed field: `{type, label?, value: [...]}`.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Field {
    /// Field type (`login`, `password`, `host`, `text`…).
    #[serde(rename = "type")]
    pub kind: String,
    /// Optional label; custom fields are identified by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Values in the field type's shape (secret: a password, a private
    /// key…), overwritten when dropped.
    #[serde(default)]
    pub value: Zeroizing<FieldValues>,
    /// Whether the record type requires it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
}

impl Field {
    /// A field with one value.
    pub fn new(kind: &str, label: Option<&str>, value: Value) -> Self {
        Self {
            kind: kind.to_string(),
            label: label.map(str::to_string),
            value: Zeroizing::new(vec![value].into()),
            required: false,
        }
    }

    /// An empty field (a record type's slot).
    pub fn empty(kind: &str, label: Option<&str>, required: bool) -> Self {
        Self {
            kind: kind.to_string(),
            label: label.map(str::to_string),
            value: Zeroizing::default(),
            required,
        }
    }

    /// The first value as text, if it is a string.
    pub fn text(&self) -> Option<&str> {
        self.value.first().and_then(Value::as_str)
    }

    /// Whether this field has no non-empty value.
    pub fn is_empty(&self) -> bool {
        self.value.iter().all(fields::value_is_empty)
    }

    /// `type` or `type.label`, as Commander's field syntax names it.
    pub fn name(&self) -> String {
        match &self.label {
            Some(label) if !label.is_empty() => format!("{}.{label}", self.kind),
            _ => self.kind.clone(),
        }
    }

    /// Whether this field matches `kind` and (when given) `label`.
    pub fn matches(&self, kind: &str, label: Option<&str>) -> bool {
        self.kind.eq_ignore_ascii_case(kind)
            && label.is_none_or(|l| self.label.as_deref() == Some(l))
    }
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("kind", &self.kind)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// A field's values, in the field type's JSON shape. Held as
/// `Zeroizing<FieldValues>`: every string in them, however deeply nested,
/// is overwritten when they are dropped. `Debug` shows only how many.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldValues(Vec<Value>);

impl Zeroize for FieldValues {
    fn zeroize(&mut self) {
        self.0.iter_mut().for_each(zeroize_value);
        self.0.clear();
    }
}

impl FromIterator<Value> for FieldValues {
    fn from_iter<I: IntoIterator<Item = Value>>(values: I) -> Self {
        Self(values.into_iter().collect())
    }
}

impl From<Vec<Value>> for FieldValues {
    fn from(values: Vec<Value>) -> Self {
        Self(values)
    }
}

impl std::ops::Deref for FieldValues {
    type Target = Vec<Value>;

    fn deref(&self) -> &Vec<Value> {
        &self.0
    }
}

impl std::ops::DerefMut for FieldValues {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.0
    }
}

impl std::fmt::Debug for FieldValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{} value(s)]", self.0.len())
    }
}

/// Overwrites the strings inside a JSON value.
fn zeroize_value(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(zeroize_value),
        Value::Object(map) => map.values_mut().for_each(zeroize_value),
        _ => {}
    }
}

/// A previous password and when it stopped being current.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct PasswordChange {
    /// The old password.
    pub password: Zeroizing<String>,
    /// When it was replaced, epoch ms.
    pub replaced: i64,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange")
            .field("replaced", &self.replaced)
            .finish_non_exhaustive()
    }
}

/// Metadata of an attachment; the content is stored separately, sealed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttachmentMeta {
    /// File uid.
    pub uid: String,
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type.
    #[serde(default)]
    pub mime: String,
}

/// The decrypted record payload (sealed as JSON under the record key).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RecordData {
    /// Record type (`login`, `serverCredentials`…).
    #[serde(rename = "type")]
    pub record_type: String,
    /// Title.
    pub title: String,
    /// Notes.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub notes: Zeroizing<String>,
    /// Typed fields (the record type's slots, in order).
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Custom fields, identified by label (`cmdr:*` rotation settings live here).
    #[serde(default)]
    pub custom: Vec<Field>,
    /// Every previous password, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub password_history: Vec<PasswordChange>,
    /// Attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentMeta>,
}

fn is_empty(text: &Zeroizing<String>) -> bool {
    text.is_empty()
}

impl std::fmt::Debug for RecordData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordData")
            .field("record_type", &self.record_type)
            .field("fields", &self.fields)
            .field("custom", &self.custom)
            .finish_non_exhaustive()
    }
}

impl RecordData {
    /// A record of `record_type` with the type's empty field slots.
    pub fn new(record_type: &str, title: &str) -> Self {
        let fields = types::find(record_type)
            .map(|t| {
                t.fields
                    .iter()
                    .map(|f| Field::empty(f.kind, f.label, f.required))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            record_type: record_type.to_string(),
            title: title.to_string(),
            notes: Zeroizing::default(),
            fields,
            custom: Vec::new(),
            password_history: Vec::new(),
            attachments: Vec::new(),
        }
    }

    /// First typed field of `kind` (any label).
    pub fn field(&self, kind: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.matches(kind, None))
    }

    /// First value of the first typed field of `kind`, as text.
    pub fn field_text(&self, kind: &str) -> Option<&str> {
        self.fields
            .iter()
            .filter(|f| f.matches(kind, None))
            .find_map(Field::text)
    }

    /// The login.
    pub fn login(&self) -> Option<&str> {
        self.field_text("login")
    }

    /// The current password.
    pub fn password(&self) -> Option<&str> {
        self.field_text("password")
    }

    /// The URL.
    pub fn url(&self) -> Option<&str> {
        self.field_text("url")
    }

    /// The first custom field with this label (case-sensitive, like Commander).
    pub fn custom_field(&self, label: &str) -> Option<&Field> {
        self.custom
            .iter()
            .find(|f| f.label.as_deref() == Some(label))
    }

    /// The text value of the custom field with this label (`cmdr:plugin`…).
    pub fn custom_text(&self, label: &str) -> Option<&str> {
        self.custom_field(label).and_then(Field::text)
    }

    /// Sets (replacing) or, with an empty `value`, removes a field.
    ///
    /// Typed fields: the first field of that type (and label, when given)
    /// gets the value; an unknown one is appended. Custom fields are keyed by
    /// label (or type when unlabelled). Setting the `password` field records
    /// the previous one in the history with `now` (epoch ms).
    pub fn set_field(
        &mut self,
        custom: bool,
        kind: &str,
        label: Option<&str>,
        value: Vec<Value>,
        now: i64,
    ) {
        if !custom && kind == "password" {
            self.note_password_change(value.first().and_then(Value::as_str), now);
        }
        let list = if custom {
            &mut self.custom
        } else {
            &mut self.fields
        };
        let pos = if custom && label.is_some() {
            list.iter().position(|f| f.label.as_deref() == label)
        } else {
            list.iter()
                .position(|f| f.matches(kind, label))
                .or_else(|| {
                    if label.is_some() {
                        None
                    } else {
                        list.iter().position(|f| f.matches(kind, None))
                    }
                })
        };
        match (pos, value.is_empty()) {
            (Some(i), true) => {
                if !custom && list[i].required
                    || (!custom && types::is_slot(&self.record_type, kind))
                {
                    list[i].value.clear();
                } else {
                    list.remove(i);
                }
            }
            (Some(i), false) => {
                list[i].kind = kind.to_string();
                list[i].value = Zeroizing::new(value.into());
            }
            (None, true) => {}
            (None, false) => list.push(Field {
                kind: kind.to_string(),
                label: label.map(str::to_string),
                value: Zeroizing::new(value.into()),
                required: false,
            }),
        }
    }

    /// Sets the password field, keeping the old password in the history.
    pub fn set_password(&mut self, password: &str, now: i64) {
        self.set_field(
            false,
            "password",
            None,
            vec![Value::String(password.to_string())],
            now,
        );
    }

    fn note_password_change(&mut self, new: Option<&str>, now: i64) {
        if let Some(old) = self.password()
            && !old.is_empty()
            && Some(old) != new
        {
            let old = Zeroizing::new(old.to_string());
            self.password_history.push(PasswordChange {
                password: old,
                replaced: now,
            });
        }
    }
}

/// A decrypted record: the "view" of the three record views.
#[derive(Debug, Clone)]
pub struct Record {
    /// Uid.
    pub uid: String,
    /// Revision (bumped by every update).
    pub revision: i64,
    /// Owner user uid.
    pub owner_uid: String,
    /// Creation time, epoch ms.
    pub created: i64,
    /// Last modification, epoch ms.
    pub modified: i64,
    /// Whether the current user may edit it.
    pub can_edit: bool,
    /// Whether the current user may share it.
    pub can_share: bool,
    /// The payload.
    pub data: RecordData,
}

impl Record {
    /// The list view (no secrets).
    pub fn summary(&self) -> RecordSummary {
        RecordSummary {
            uid: self.uid.clone(),
            revision: self.revision,
            modified: self.modified,
            record_type: self.data.record_type.clone(),
            title: self.data.title.clone(),
            login: self.data.login().unwrap_or_default().to_string(),
            url: self.data.url().unwrap_or_default().to_string(),
        }
    }
}

/// The list view of a record: what `ls`/`search` print; no password, no
/// secret field, no notes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecordSummary {
    /// Uid.
    pub uid: String,
    /// Revision.
    pub revision: i64,
    /// Last modification, epoch ms.
    pub modified: i64,
    /// Record type.
    #[serde(rename = "type")]
    pub record_type: String,
    /// Title.
    pub title: String,
    /// Login (not secret in Keeper's listings).
    pub login: String,
    /// URL.
    pub url: String,
}

/// A rotation in progress, stored sealed on the record before the target is
/// touched (see DESIGN.md "Rotation").
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct PendingRotation {
    /// The new password being set.
    pub new_password: Zeroizing<String>,
    /// The password before the rotation.
    pub old_password: Zeroizing<String>,
    /// Plugin name (and version).
    pub plugin: String,
    /// Target (host:port…).
    pub target: String,
    /// When the rotation started, epoch ms.
    pub started: i64,
    /// Credential material the plugin's `prepare` generated (e.g. the new
    /// SSH key pair of the `sshkey` plugin), written into the record with
    /// the new password at finish. Empty for password-only plugins (and in
    /// states stored before this field existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prepared: Vec<PreparedField>,
    /// The rotated credentials are the material alone (a plugin whose
    /// manifest says `sets-password = false`, e.g. awskey): finishing
    /// writes the material and leaves the record's password as it is; the
    /// new password only names this rotation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keeps_password: bool,
}

/// One field of prepared credential material (the WIT `field` shape:
/// structured values such as a keyPair are JSON text).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct PreparedField {
    /// Field type, e.g. `keyPair`.
    pub kind: String,
    /// Field label, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Values as text (secret: a private key, say).
    pub values: Zeroizing<Vec<String>>,
}

impl PreparedField {
    /// Whether it names a field only the host sets (password, login, host,
    /// url, `cmdr:*`): such material is never applied to a record.
    pub fn is_reserved(&self) -> bool {
        crate::runtime::fields::is_reserved(&self.kind, self.label.as_deref())
    }

    /// The values as vault JSON: JSON objects/arrays stay structured, any
    /// other text stays a string.
    pub fn json_values(&self) -> Vec<Value> {
        self.values
            .iter()
            .map(|v| match serde_json::from_str::<Value>(v) {
                Ok(parsed @ (Value::Object(_) | Value::Array(_))) => parsed,
                _ => Value::String(v.clone()),
            })
            .collect()
    }
}

impl std::fmt::Debug for PendingRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRotation")
            .field("plugin", &self.plugin)
            .field("target", &self.target)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

/// Current time in epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_record_has_type_slots() {
        let r = RecordData::new("login", "x");
        let kinds: Vec<_> = r.fields.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["login", "password", "url", "fileRef", "oneTimeCode"]
        );
    }

    #[test]
    fn password_history_is_kept() {
        let mut r = RecordData::new("login", "x");
        r.set_password("one", 1);
        r.set_password("two", 2);
        r.set_password("two", 3);
        assert_eq!(r.password(), Some("two"));
        assert_eq!(r.password_history.len(), 1);
        assert_eq!(r.password_history[0].password.as_str(), "one");
        assert_eq!(r.password_history[0].replaced, 2);
    }

    #[test]
    fn custom_fields_by_label_set_and_remove() {
        let mut r = RecordData::new("login", "x");
        r.set_field(
            true,
            "text",
            Some("cmdr:plugin"),
            vec![Value::from("mysql")],
            0,
        );
        assert_eq!(r.custom_text("cmdr:plugin"), Some("mysql"));
        r.set_field(
            true,
            "text",
            Some("cmdr:plugin"),
            vec![Value::from("ssh")],
            0,
        );
        assert_eq!(r.custom.len(), 1);
        r.set_field(true, "text", Some("cmdr:plugin"), vec![], 0);
        assert!(r.custom.is_empty());
        // Removing a type slot keeps the (empty) slot.
        r.set_field(false, "login", None, vec![Value::from("u")], 0);
        r.set_field(false, "login", None, vec![], 0);
        assert!(r.field("login").is_some_and(Field::is_empty));
    }

    /// Notes and old passwords are `Zeroizing` in memory and plain
    /// strings in the sealed JSON, as before.
    #[test]
    fn secret_strings_keep_the_stored_format() {
        let stored = r#"{"type":"login","title":"x","notes":"n","fields":[],"custom":[],"password_history":[{"password":"old","replaced":1}]}"#;
        let d: RecordData = serde_json::from_str(stored).expect("parses");
        assert_eq!(d.notes.as_str(), "n");
        assert_eq!(d.password_history[0].password.as_str(), "old");
        assert_eq!(serde_json::to_string(&d).expect("json"), stored);
        let empty = RecordData::new("x", "t");
        assert!(
            !serde_json::to_string(&empty)
                .expect("json")
                .contains("notes")
        );
    }

    #[test]
    fn field_values_overwrite_every_nested_string_and_keep_the_stored_shape() {
        let json = r#"[{"privateKey":"k1","publicKey":"p"},["a",["b"]],"c",7]"#;
        let mut values: FieldValues = serde_json::from_str(json).expect("parses");
        assert_eq!(serde_json::to_string(&values).expect("json"), json);
        assert_eq!(format!("{values:?}"), "[4 value(s)]");
        let mut inner = values.to_vec();
        inner.iter_mut().for_each(zeroize_value);
        assert_eq!(
            Value::Array(inner),
            serde_json::json!([{"privateKey":"","publicKey":""},["",[""]],"",7])
        );
        values.zeroize();
        assert!(values.is_empty());
    }

    #[test]
    fn debug_hides_values() {
        let mut r = RecordData::new("login", "x");
        r.set_password("hunter2", 0);
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}

#[cfg(test)]
mod prepared_tests {
    use super::*;

    #[test]
    fn prepared_values_keep_structure_and_old_states_still_load() {
        let f = PreparedField {
            kind: "keyPair".into(),
            label: None,
            values: Zeroizing::new(vec![
                r#"{"privateKey":"k","publicKey":"p"}"#.into(),
                "plain".into(),
                "42".into(),
            ]),
        };
        let v = f.json_values();
        assert_eq!(v[0]["publicKey"], "p");
        assert_eq!(v[1], Value::from("plain"));
        assert_eq!(v[2], Value::from("42"), "numbers stay text");
        // A pending state stored before `prepared` existed.
        let old: PendingRotation = serde_json::from_str(
            r#"{"new_password":"n","old_password":"o","plugin":"mysql","target":"t","started":1}"#,
        )
        .expect("old pending state");
        assert!(old.prepared.is_empty());
        assert!(
            !serde_json::to_string(&old)
                .expect("json")
                .contains("prepared"),
            "unchanged format for password-only plugins"
        );
    }
}
