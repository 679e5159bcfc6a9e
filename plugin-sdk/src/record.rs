//! Vault record types a plugin sees: [`Field`], [`RecordView`], [`Target`].

use std::fmt;
use std::net::SocketAddr;

use crate::PluginError;
use crate::bindings::rotator::keeper::plugin::types as wit;

/// One field of a vault record, in Keeper's typed-record (v3) shape.
///
/// Plain types (`login`, `password`, `text`, `url`...) hold plain strings.
/// Structured types hold JSON objects as text: a `host` value is
/// `{"hostName":"db1","port":"3306"}`, a `keyPair` value is
/// `{"publicKey":"ssh-ed25519 ...","privateKey":"-----BEGIN..."}`. Dates are
/// epoch milliseconds as decimal text.
///
/// ```
/// use keeper_plugin_sdk::Field;
///
/// let f = Field::new("login", "admin");
/// assert_eq!(f.value(), Some("admin"));
/// let c = Field::custom("text", "Department", "IT");
/// assert_eq!(c.label.as_deref(), Some("Department"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Field {
    /// Keeper field type, e.g. `login`, `password`, `host`, `url`, `text`,
    /// `keyPair`, `oneTimeCode`. Custom fields are usually `text` or `secret`.
    pub kind: String,
    /// Optional label. Custom fields are identified by it.
    pub label: Option<String>,
    /// The values (see the type's documentation for their shape).
    pub values: Vec<String>,
}

impl Field {
    /// A field of type `kind` with one value and no label.
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            label: None,
            values: vec![value.into()],
        }
    }

    /// A field of type `kind` with the given values and no label.
    pub fn with_values<I, S>(kind: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            kind: kind.into(),
            label: None,
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    /// A labelled field (the usual shape of custom fields) with one value.
    pub fn custom(
        kind: impl Into<String>,
        label: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            label: Some(label.into()),
            values: vec![value.into()],
        }
    }

    /// Sets the label.
    pub fn labelled(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The first value, if any.
    pub fn value(&self) -> Option<&str> {
        self.values.first().map(String::as_str)
    }
}

/// Field values may be secrets (a `password` field), so `Debug` shows the
/// type, the label and the number of values only.
impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Field")
            .field("kind", &self.kind)
            .field("label", &self.label)
            .field("values", &format_args!("[{} redacted]", self.values.len()))
            .finish()
    }
}

impl From<wit::Field> for Field {
    fn from(f: wit::Field) -> Self {
        Self {
            kind: f.kind,
            label: f.label,
            values: f.values,
        }
    }
}

impl From<Field> for wit::Field {
    fn from(f: Field) -> Self {
        Self {
            kind: f.kind,
            label: f.label,
            values: f.values,
        }
    }
}

/// A record's unique id (22 characters, URL-safe base64).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordUid(String);

impl RecordUid {
    /// Wraps a uid.
    pub fn new(uid: impl Into<String>) -> Self {
        Self(uid.into())
    }

    /// The uid as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The vault record being processed, as a plugin sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordView {
    /// The record's unique id.
    pub uid: RecordUid,
    /// The record's title.
    pub title: String,
    /// Keeper record type, e.g. `login`, `databaseCredentials`.
    pub record_type: String,
    /// Typed fields in record order.
    pub fields: Vec<Field>,
    /// Custom fields in record order.
    pub custom: Vec<Field>,
    /// Free-text notes, if any.
    pub notes: Option<String>,
}

impl RecordView {
    /// The first typed field of type `kind` (e.g. `"host"`).
    pub fn field(&self, kind: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.kind == kind)
    }

    /// The first value of the first typed field of type `kind`.
    pub fn field_value(&self, kind: &str) -> Option<&str> {
        self.field(kind).and_then(Field::value)
    }

    /// The first custom field labelled `label` (e.g. `"cmdr:plugin"`).
    pub fn custom(&self, label: &str) -> Option<&Field> {
        self.custom
            .iter()
            .find(|f| f.label.as_deref() == Some(label))
    }

    /// The first value of the first custom field labelled `label`.
    pub fn custom_value(&self, label: &str) -> Option<&str> {
        self.custom(label).and_then(Field::value)
    }
}

impl From<wit::RecordView> for RecordView {
    fn from(r: wit::RecordView) -> Self {
        Self {
            uid: RecordUid(r.uid),
            title: r.title,
            record_type: r.record_type,
            fields: r.fields.into_iter().map(Field::from).collect(),
            custom: r.custom.into_iter().map(Field::from).collect(),
            notes: r.notes,
        }
    }
}

/// The network target of the record being processed.
///
/// The host resolved `host` and pinned the result in `address`: it is the
/// only address a TCP connection (or SSH session) may reach. Connect to
/// `address` (see [`crate::net::TargetStream`]); never resolve `host`
/// yourself: name lookup is off in the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// Host name as written in the record, for messages and TLS server names.
    pub host: String,
    /// Port on the target.
    pub port: u16,
    /// Resolved socket address `ip:port` (IPv6 as `[ip]:port`).
    pub address: String,
}

impl Target {
    /// The pinned address, parsed.
    ///
    /// Fails with [`PluginError::InvalidConfig`] if the host handed over
    /// something that is not an `ip:port` socket address.
    pub fn socket_addr(&self) -> Result<SocketAddr, PluginError> {
        self.address.parse().map_err(|_| {
            PluginError::InvalidConfig(format!(
                "target {}: pinned address `{}` is not an ip:port socket address",
                self.host, self.address
            ))
        })
    }
}

impl From<wit::Target> for Target {
    fn from(t: wit::Target) -> Self {
        Self {
            host: t.host,
            port: t.port,
            address: t.address,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wit_field(kind: &str, label: Option<&str>, value: &str) -> wit::Field {
        wit::Field {
            kind: kind.into(),
            label: label.map(Into::into),
            values: vec![value.into()],
        }
    }

    #[test]
    fn record_view_converts_and_looks_up_fields() {
        let record = RecordView::from(wit::RecordView {
            uid: "abc".into(),
            title: "db1".into(),
            record_type: "databaseCredentials".into(),
            fields: vec![
                wit_field("login", None, "app"),
                wit_field("host", None, r#"{"hostName":"db1","port":"3306"}"#),
            ],
            custom: vec![
                wit_field("text", Some("cmdr:plugin"), "mysql"),
                wit_field("text", Some("cmdr:user_host"), "%"),
            ],
            notes: Some("n".into()),
        });
        assert_eq!(record.uid.as_str(), "abc");
        assert_eq!(record.field_value("login"), Some("app"));
        assert!(record.field("password").is_none());
        assert_eq!(record.custom_value("cmdr:user_host"), Some("%"));
        assert!(record.custom("cmdr:missing").is_none());
        assert_eq!(record.notes.as_deref(), Some("n"));
    }

    #[test]
    fn field_debug_hides_values() {
        let f = Field::new("password", "s3cret");
        let shown = format!("{f:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("password"));
    }

    #[test]
    fn field_round_trips_through_wit() {
        let f = Field::custom("text", "Dept", "IT");
        assert_eq!(Field::from(wit::Field::from(f.clone())), f);
    }

    #[test]
    fn target_parses_ipv4_and_ipv6_and_rejects_names() {
        let mut t = Target {
            host: "db1".into(),
            port: 3306,
            address: "10.0.0.5:3306".into(),
        };
        assert_eq!(t.socket_addr().map(|a| a.port()), Ok(3306));
        t.address = "[::1]:22".into();
        assert!(t.socket_addr().is_ok_and(|a| a.is_ipv6()));
        t.address = "db1:3306".into();
        assert!(matches!(
            t.socket_addr(),
            Err(PluginError::InvalidConfig(_))
        ));
    }
}
