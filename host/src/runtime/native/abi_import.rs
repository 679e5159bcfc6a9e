//! The importer half of the native C ABI, version 2 (`abi.rs` has the
//! rest): the WIT 1.1 importer (`wit/since_v1.1.0/importer.wit` and
//! `input.wit`) as JSON over one C function, the source read through
//! functions keeper hands each call (`input.rs`).
//!
//! ```c
//! typedef struct keeper_input {
//!     void *ctx;
//!     /* Reads up to max bytes of the source into buf: returns how many,
//!      * 0 at its end; -1 when reading failed, why (no source data) in
//!      * why[0..*why_len], cut to why_cap. After a failure every read
//!      * fails. */
//!     int64_t (*read)(void *ctx, uint8_t *buf, size_t max,
//!                     uint8_t *why, size_t why_cap, size_t *why_len);
//!     /* The source's size in bytes, -1 when unknown (progress only). */
//!     int64_t (*size)(void *ctx);
//! } keeper_input;
//!
//! /* Runs `method` ("describe", "start", "next_batch") on a JSON request;
//!  * `input` is valid during this call only. Answers as keeper_native_call. */
//! uint8_t *keeper_native_import(const uint8_t *method, size_t method_len,
//!                               const uint8_t *request, size_t request_len,
//!                               const keeper_input *input, size_t *out_len);
//! ```
//!
//! `describe` gets `{}` and answers an [`ImporterInfoJson`]; `start`
//! gets a [`StartRequest`] (the user's options) and answers `null`;
//! `next_batch` gets `{}` and answers a list of [`ItemJson`], or `null`
//! when the source is done. Errors as in `abi.rs` (`malformed-input` for
//! a source it cannot parse or read). One import runs at a time in a
//! library: `start` begins it, the `next_batch` calls that follow read it.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::abi::FieldJson;

/// An importer's method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMethod {
    /// What the importer is.
    Describe,
    /// Starts an import with the user's options.
    Start,
    /// The next batch of items.
    NextBatch,
}

impl ImportMethod {
    /// The name sent to `keeper_native_import`.
    pub fn name(self) -> &'static str {
        match self {
            ImportMethod::Describe => "describe",
            ImportMethod::Start => "start",
            ImportMethod::NextBatch => "next_batch",
        }
    }
}

/// `start`'s request: `{"options": [["source", "file.txt"], ...]}`.
#[derive(Serialize)]
pub struct StartRequest<'a> {
    /// The user's options, as the WIT constructor's.
    pub options: &'a [(String, String)],
}

/// `describe`'s answer, as the WIT `importer-info`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImporterInfoJson {
    /// The `import --format` name.
    pub name: String,
    /// One line on what it reads.
    #[serde(default)]
    pub summary: String,
    /// Whether it reads the streamed source.
    #[serde(default = "yes")]
    pub reads_input: bool,
}

fn yes() -> bool {
    true
}

/// One item of a batch: `{"record": ...}`, `{"shared_folder": ...}` or
/// `{"skipped": "line 3: ..."}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ItemJson {
    /// A shared folder, before the records that go into it.
    SharedFolder(SharedFolderJson),
    /// A record.
    Record(RecordJson),
    /// A part of the source skipped, and why.
    Skipped(String),
}

/// The WIT `shared-folder`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedFolderJson {
    path: String,
    #[serde(default)]
    manage_users: bool,
    #[serde(default)]
    manage_records: bool,
    #[serde(default)]
    can_edit: bool,
    #[serde(default)]
    can_share: bool,
    #[serde(default)]
    permissions: Vec<PermissionJson>,
}

/// The WIT `permission`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionJson {
    name: String,
    #[serde(default)]
    team: bool,
    #[serde(default)]
    manage_users: bool,
    #[serde(default)]
    manage_records: bool,
}

/// The WIT `import-record`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordJson {
    #[serde(default)]
    uid: Option<String>,
    title: String,
    #[serde(default)]
    record_type: String,
    #[serde(default)]
    fields: Vec<FieldJson>,
    #[serde(default)]
    custom: Vec<FieldJson>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    locations: Vec<LocationJson>,
    #[serde(default)]
    attachments: Vec<AttachmentJson>,
}

/// The WIT `location`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationJson {
    #[serde(default)]
    shared_folder: Option<String>,
    #[serde(default)]
    folder: Option<String>,
    #[serde(default)]
    can_edit: bool,
    #[serde(default)]
    can_share: bool,
}

/// The WIT `attachment`, its content in standard base64.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentJson {
    name: String,
    #[serde(default)]
    mime: Option<String>,
    #[serde(deserialize_with = "base64_data")]
    data: Vec<u8>,
}

/// Why an answer is refused when an attachment's data is not base64:
/// keeper's own words, which `NativePlugin::call` may show (serde's
/// other messages may quote the answer).
pub(crate) const NOT_BASE64: &str = "an attachment's data is not base64";

/// An attachment's content, decoded from standard base64.
fn base64_data<'de, D: serde::Deserializer<'de>>(data: D) -> Result<Vec<u8>, D::Error> {
    let text = Zeroizing::new(String::deserialize(data)?);
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|_| serde::de::Error::custom(NOT_BASE64))
}

// The WIT types from these, by the mapping a 1.0 component's also take.
crate::runtime::bindings::into_newest_importer_types!(
    ImporterInfoJson,
    PermissionJson,
    SharedFolderJson,
    LocationJson,
    AttachmentJson,
    RecordJson,
    ItemJson,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::plugin::ImportItem;

    fn items(json: &str) -> Result<Vec<ItemJson>, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The three kinds of item, with what may be left out left out.
    #[test]
    fn items_parse_into_the_wit_shapes() {
        let parsed = items(
            r#"[{"record": {"title": "T", "fields": [{"kind": "login", "values": ["a"]}],
                 "attachments": [{"name": "f.txt", "data": "aGk="}]}},
                {"shared_folder": {"path": "S", "permissions": [{"name": "t", "team": true}]}},
                {"skipped": "line 3: bad"}]"#,
        )
        .expect("valid");
        let converted: Vec<ImportItem> = parsed.into_iter().map(Into::into).collect();
        match &converted[0] {
            ImportItem::Record(r) => {
                assert_eq!(r.title, "T");
                assert_eq!(r.fields[0].values, ["a"]);
                assert_eq!(r.attachments[0].data, b"hi");
                assert!(r.uid.is_none() && r.locations.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&converted[1], ImportItem::SharedFolder(f) if f.permissions[0].team));
        assert!(matches!(&converted[2], ImportItem::Skipped(s) if s == "line 3: bad"));
    }

    /// Strict: unknown keys and item kinds are refused, a record needs a
    /// title, attachment data must be base64.
    #[test]
    fn what_is_not_the_shape_is_refused() {
        for bad in [
            r#"[{"record": {"title": "T", "password": "x"}}]"#,
            r#"[{"folder": {"path": "x"}}]"#,
            r#"[{"record": {"fields": []}}]"#,
            r#"[{"record": {"title": "T"}, "skipped": "x"}]"#,
        ] {
            assert!(items(bad).is_err(), "{bad}");
        }
        let error =
            items(r#"[{"record": {"title": "T", "attachments": [{"name": "a", "data": "%%"}]}}]"#)
                .expect_err("not base64");
        assert!(error.to_string().starts_with(NOT_BASE64), "{error}");
    }
}
