//! Which record fields a rotator sees, and which it may return from
//! `prepare`: the plugin-facing half of the rotation contract.
//!
//! A rotator is shown the record's `login`, `host` and `url` fields, its
//! first `password` field (the password being rotated), its `cmdr:*`
//! parameters, and the fields its manifest asks for in `[fields] needs`,
//! by type (`keyPair`) or type and label (`text:passphrase`). Nothing else:
//! not the notes, not other secrets, not the other custom fields.
//!
//! `prepare` may return only fields its manifest declares in
//! `[fields] owns` (e.g. sshkey's `keyPair`), never `password`, `login`,
//! `host` or `url` fields nor anything labelled `cmdr:` ([`is_reserved`]):
//! the host alone chooses the password it stores and the target the next
//! rotation is pinned to. Everything else is refused, by name, before the
//! vault or the target is touched; at most [`MAX_PREPARED_FIELDS`] fields
//! with [`MAX_PREPARED_VALUES`] values in all.
//!
//! Every value of a field the plugin is shown (other than login, host, url
//! and plain-text `cmdr:` parameters) counts as a secret of the call and is
//! redacted from what the plugin says ([`secrets_of`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::plugin::{Field, RecordView, Rotation};

/// Field types a plugin can never return from `prepare`.
pub const RESERVED_KINDS: [&str; 4] = ["password", "login", "host", "url"];

/// Most fields `prepare` may return.
pub const MAX_PREPARED_FIELDS: usize = 16;

/// Most values, over all fields, `prepare` may return.
pub const MAX_PREPARED_VALUES: usize = 64;

/// Field types that are shown to every rotator and are not secrets.
const PLAIN_KINDS: [&str; 3] = ["login", "host", "url"];

/// Field types whose values are secrets even in a `cmdr:` parameter.
const SECRET_KINDS: [&str; 7] = [
    "password",
    "secret",
    "pinCode",
    "oneTimeCode",
    "keyPair",
    "note",
    "securityQuestion",
];

/// Whether a field of this type and label is one the host alone sets.
pub fn is_reserved(kind: &str, label: Option<&str>) -> bool {
    RESERVED_KINDS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(kind.trim()))
        || label.is_some_and(is_cmdr)
}

fn is_cmdr(label: &str) -> bool {
    label
        .trim_start()
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("cmdr:"))
}

/// A manifest entry naming fields: `kind` or `kind:label`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FieldRule {
    kind: String,
    label: Option<String>,
}

impl FieldRule {
    /// Whether `field` is one this rule names (type exactly, label ignoring
    /// ASCII case).
    pub fn matches(&self, field: &Field) -> bool {
        field.kind == self.kind
            && match &self.label {
                None => true,
                Some(label) => field
                    .label
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case(label)),
            }
    }

    /// Whether it names fields the host alone sets.
    fn is_reserved(&self) -> bool {
        is_reserved(&self.kind, self.label.as_deref())
    }
}

impl TryFrom<String> for FieldRule {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let (kind, label) = match text.split_once(':') {
            Some((kind, label)) => (kind, Some(label)),
            None => (text.as_str(), None),
        };
        if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!(
                "{text:?} is not a field type (letters and digits), optionally with `:label`"
            ));
        }
        if label.is_some_and(|l| l.trim().is_empty() || l.chars().any(char::is_control)) {
            return Err(format!("{text:?} has an empty or unprintable label"));
        }
        Ok(Self {
            kind: kind.to_string(),
            label: label.map(str::to_string),
        })
    }
}

impl From<FieldRule> for String {
    fn from(rule: FieldRule) -> Self {
        rule.to_string()
    }
}

impl fmt::Display for FieldRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.label {
            Some(label) => write!(f, "{}:{label}", self.kind),
            None => f.write_str(&self.kind),
        }
    }
}

/// A manifest's `[fields]`: what a rotator is shown and what it owns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldAccess {
    /// Record fields the plugin is shown besides the ones every rotator sees.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<FieldRule>,
    /// Fields `prepare` may return.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owns: Vec<FieldRule>,
}

impl FieldAccess {
    /// True when the manifest has no `[fields]`.
    pub fn is_empty(&self) -> bool {
        self.needs.is_empty() && self.owns.is_empty()
    }

    /// Checks the section itself.
    ///
    /// # Errors
    ///
    /// The reason, when `owns` names a reserved field.
    pub fn validate(&self) -> Result<(), String> {
        match self.owns.iter().find(|r| r.is_reserved()) {
            Some(rule) => Err(format!(
                "fields.owns: a plugin can never set `{rule}` fields (password, login, host, url and cmdr: fields belong to the host)"
            )),
            None => Ok(()),
        }
    }

    /// The record as this plugin may see it (see the module docs).
    pub fn shown(&self, record: &RecordView) -> RecordView {
        let mut first_password = true;
        let mut keep = |f: &Field| {
            if f.kind == "password" && f.label.as_deref().is_none_or(|l| !is_cmdr(l)) {
                // Only the rotated one: the first password field.
                return std::mem::replace(&mut first_password, false);
            }
            PLAIN_KINDS.contains(&f.kind.as_str())
                || f.label.as_deref().is_some_and(is_cmdr)
                || self.needs.iter().any(|rule| rule.matches(f))
        };
        let fields = record.fields.iter().filter(|f| keep(f)).cloned().collect();
        let custom = record.custom.iter().filter(|f| keep(f)).cloned().collect();
        RecordView {
            uid: record.uid.clone(),
            title: record.title.clone(),
            record_type: record.record_type.clone(),
            fields,
            custom,
            notes: None,
        }
    }

    /// How a 1.1 rotator's own declaration (`plugin-info.needs`/`owns`)
    /// differs from this section, if it does: rules that are not valid
    /// field rules, or that one side names and the other does not (in any
    /// order). The manifest's section, as granted, stays what is enforced.
    pub fn disagreement(&self, needs: &[String], owns: &[String]) -> Option<String> {
        let mut problems = Vec::new();
        for (what, declared, manifest) in
            [("needs", needs, &self.needs), ("owns", owns, &self.owns)]
        {
            let mut rules = Vec::new();
            for text in declared {
                match FieldRule::try_from(text.clone()) {
                    Ok(rule) => rules.push(rule),
                    Err(why) => problems.push(format!("{what}: {why}")),
                }
            }
            let only_plugin: Vec<String> = rules
                .iter()
                .filter(|r| !manifest.contains(r))
                .map(ToString::to_string)
                .collect();
            let only_manifest: Vec<String> = manifest
                .iter()
                .filter(|r| !rules.contains(r))
                .map(ToString::to_string)
                .collect();
            if !only_plugin.is_empty() {
                problems.push(format!(
                    "it {what} {} but its manifest's [fields] {what} does not list it",
                    only_plugin.join(", ")
                ));
            }
            if !only_manifest.is_empty() {
                problems.push(format!(
                    "its manifest's [fields] {what} lists {} but the plugin does not declare it",
                    only_manifest.join(", ")
                ));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// Checks what `prepare` returned.
    ///
    /// # Errors
    ///
    /// The first field it may not return, and why.
    pub fn check_prepared(&self, fields: &[Field]) -> Result<(), Refusal> {
        if fields.len() > MAX_PREPARED_FIELDS {
            return Err(Refusal::TooMany {
                what: "fields",
                count: fields.len(),
                limit: MAX_PREPARED_FIELDS,
            });
        }
        let values: usize = fields.iter().map(|f| f.values.len()).sum();
        if values > MAX_PREPARED_VALUES {
            return Err(Refusal::TooMany {
                what: "values",
                count: values,
                limit: MAX_PREPARED_VALUES,
            });
        }
        for field in fields {
            let name = match &field.label {
                Some(label) => format!("{}:{label}", field.kind),
                None => field.kind.clone(),
            };
            if is_reserved(&field.kind, field.label.as_deref()) {
                return Err(Refusal::Reserved { field: name });
            }
            if !self.owns.iter().any(|rule| rule.matches(field)) {
                return Err(Refusal::NotOwned { field: name });
            }
        }
        Ok(())
    }
}

/// Why `prepare`'s result was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// More fields or values than allowed.
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    /// A field only the host sets.
    Reserved { field: String },
    /// A field the manifest does not declare in `[fields] owns`.
    NotOwned { field: String },
}

impl Refusal {
    /// The field it names, for redaction and escaping by the caller.
    pub fn field_mut(&mut self) -> Option<&mut String> {
        match self {
            Refusal::Reserved { field } | Refusal::NotOwned { field } => Some(field),
            Refusal::TooMany { .. } => None,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TooMany { what, count, limit } => {
                write!(f, "{count} {what}, over the limit of {limit}")
            }
            Refusal::Reserved { field } => write!(
                f,
                "a `{field}` field, which only keeper sets (password, login, host, url and cmdr: fields)"
            ),
            Refusal::NotOwned { field } => write!(
                f,
                "a `{field}` field, which its manifest does not declare in [fields] owns"
            ),
        }
    }
}

/// Every secret a rotation request shows the plugin: both passwords, the
/// values of the record fields it is shown that are secrets
/// ([`secret_values`]) and of the prepared material. JSON values (a
/// `keyPair`) count whole and by each of their strings.
pub fn secrets_of(request: &Rotation) -> Vec<Zeroizing<String>> {
    let mut secrets = vec![
        Zeroizing::new(request.old_password.clone()),
        Zeroizing::new(request.new_password.clone()),
    ];
    let record = &request.record;
    let shown = record.fields.iter().chain(&record.custom);
    push_values(
        &mut secrets,
        shown.filter(|f| is_secret(f)).chain(&request.prepared),
    );
    secrets
}

/// The secrets among `fields` (a record's, shown to a plugin or returned
/// by one): the values of every field but login, host, url and plain
/// `cmdr:` parameters, JSON values whole and by each of their strings.
pub fn secret_values<'a>(fields: impl IntoIterator<Item = &'a Field>) -> Vec<Zeroizing<String>> {
    let mut secrets = Vec::new();
    push_values(&mut secrets, fields.into_iter().filter(|f| is_secret(f)));
    secrets
}

/// Every value of material a plugin returned (`prepare`'s, what `rotate`
/// generated: all of it secret, as in [`secrets_of`]), JSON values whole
/// and by each of their strings.
pub fn material_values<'a>(fields: impl IntoIterator<Item = &'a Field>) -> Vec<Zeroizing<String>> {
    let mut secrets = Vec::new();
    push_values(&mut secrets, fields.into_iter());
    secrets
}

/// Whether a field's values are secrets.
fn is_secret(field: &Field) -> bool {
    if field.label.as_deref().is_some_and(is_cmdr) {
        SECRET_KINDS.contains(&field.kind.as_str())
    } else {
        !PLAIN_KINDS.contains(&field.kind.as_str())
    }
}

/// Adds the values of `fields` to `secrets`, a JSON object's strings too.
fn push_values<'a>(secrets: &mut Vec<Zeroizing<String>>, fields: impl Iterator<Item = &'a Field>) {
    for field in fields {
        for value in &field.values {
            secrets.push(Zeroizing::new(value.clone()));
            if value.starts_with('{')
                && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(value)
            {
                secrets.extend(
                    map.values()
                        .filter_map(serde_json::Value::as_str)
                        .map(|s| Zeroizing::new(s.to_string())),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declaration_must_name_the_manifests_fields() {
        let access = access(&["keyPair", "text:passphrase"], &["keyPair"]);
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(
            access.disagreement(
                &strings(&["text:passphrase", "keyPair"]),
                &strings(&["keyPair"])
            ),
            None,
            "any order"
        );
        let why = access
            .disagreement(&strings(&["keyPair"]), &strings(&["keyPair", "secret"]))
            .expect("disagrees");
        assert!(
            why.contains("[fields] needs lists text:passphrase"),
            "{why}"
        );
        assert!(why.contains("it owns secret but"), "{why}");
        let why = access
            .disagreement(&strings(&["key pair"]), &[])
            .expect("disagrees");
        assert!(
            why.contains("needs: \"key pair\" is not a field type"),
            "{why}"
        );
        assert!(FieldAccess::default().disagreement(&[], &[]).is_none());
    }

    fn field(kind: &str, label: Option<&str>, value: &str) -> Field {
        Field {
            kind: kind.into(),
            label: label.map(str::to_string),
            values: vec![value.into()],
        }
    }

    fn access(needs: &[&str], owns: &[&str]) -> FieldAccess {
        let rules = |list: &[&str]| {
            list.iter()
                .map(|s| FieldRule::try_from(s.to_string()).expect("rule"))
                .collect()
        };
        FieldAccess {
            needs: rules(needs),
            owns: rules(owns),
        }
    }

    fn record() -> RecordView {
        RecordView {
            uid: "u".into(),
            title: "t".into(),
            record_type: "sshKeys".into(),
            fields: vec![
                field("login", None, "admin"),
                field("password", None, "Old-pass-1"),
                field("password", None, "second-password"),
                field("host", None, r#"{"hostName":"db1","port":"22"}"#),
                field(
                    "keyPair",
                    None,
                    r#"{"privateKey":"PRIV","publicKey":"PUB"}"#,
                ),
                field("pinCode", None, "1234"),
                field("oneTimeCode", None, "otpauth://totp/x?secret=SEED"),
            ],
            custom: vec![
                field("text", Some("cmdr:plugin"), "sshkey"),
                field("secret", Some("cmdr:admin_password"), "Admin-pass-1"),
                field("secret", Some("api token"), "TOKEN-123"),
                field("text", Some("Passphrase"), "kept phrase"),
                field("url", None, "https://x"),
            ],
            notes: Some("private notes".into()),
        }
    }

    fn kinds(view: &RecordView) -> Vec<String> {
        view.fields
            .iter()
            .chain(&view.custom)
            .map(|f| match &f.label {
                Some(l) => format!("{}:{l}", f.kind),
                None => f.kind.clone(),
            })
            .collect()
    }

    #[test]
    fn a_rotator_sees_only_what_every_rotator_needs() {
        let view = access(&[], &[]).shown(&record());
        assert_eq!(
            kinds(&view),
            [
                "login",
                "password",
                "host",
                "text:cmdr:plugin",
                "secret:cmdr:admin_password",
                "url"
            ]
        );
        assert_eq!(
            view.fields[1].values,
            ["Old-pass-1"],
            "the first password only"
        );
        assert_eq!(view.notes, None);
    }

    #[test]
    fn a_rotator_sees_the_fields_its_manifest_needs() {
        let view = access(&["keyPair", "text:passphrase"], &[]).shown(&record());
        let kinds = kinds(&view);
        assert!(kinds.contains(&"keyPair".to_string()), "{kinds:?}");
        assert!(kinds.contains(&"text:Passphrase".to_string()), "{kinds:?}");
        assert!(
            !kinds
                .iter()
                .any(|k| k.contains("pinCode") || k.contains("api token"))
        );
    }

    #[test]
    fn the_secrets_of_a_request_cover_what_it_shows() {
        let access = access(&["keyPair", "pinCode"], &[]);
        let request = Rotation {
            record: access.shown(&record()),
            target: None,
            params: vec![],
            login: "admin".into(),
            old_password: "Old-pass-1".into(),
            new_password: "New-pass-2".into(),
            prepared: vec![field("keyPair", None, r#"{"privateKey":"NEWPRIV"}"#)],
        };
        let secrets: Vec<String> = secrets_of(&request).iter().map(|s| s.to_string()).collect();
        for expected in [
            "Old-pass-1",
            "New-pass-2",
            "PRIV",
            "1234",
            "Admin-pass-1",
            "NEWPRIV",
        ] {
            assert!(
                secrets.iter().any(|s| s == expected),
                "{expected} in {secrets:?}"
            );
        }
        for plain in ["admin", "sshkey", "https://x"] {
            assert!(!secrets.iter().any(|s| s == plain), "{plain} is no secret");
        }
    }

    #[test]
    fn prepare_may_return_only_owned_fields() {
        let access = access(&[], &["keyPair"]);
        assert_eq!(
            access.check_prepared(&[field("keyPair", None, "{}")]),
            Ok(())
        );
        for (kind, label) in [
            ("password", None),
            ("Password", None),
            ("login", None),
            ("host", None),
            ("url", None),
            ("keyPair", Some("cmdr:host")),
            ("text", Some("CMDR:plugin")),
        ] {
            assert!(
                matches!(
                    access.check_prepared(&[field(kind, label, "x")]),
                    Err(Refusal::Reserved { .. })
                ),
                "{kind} {label:?}"
            );
        }
        assert!(matches!(
            access.check_prepared(&[field("secret", None, "x")]),
            Err(Refusal::NotOwned { field }) if field == "secret"
        ));
        let many = vec![field("keyPair", None, ""); MAX_PREPARED_FIELDS + 1];
        assert!(matches!(
            access.check_prepared(&many),
            Err(Refusal::TooMany { what: "fields", .. })
        ));
        let values = Field {
            kind: "keyPair".into(),
            label: None,
            values: vec![String::new(); MAX_PREPARED_VALUES + 1],
        };
        assert!(matches!(
            access.check_prepared(&[values]),
            Err(Refusal::TooMany { what: "values", .. })
        ));
    }

    #[test]
    fn a_manifest_cannot_own_reserved_fields() {
        assert!(
            access(&[], &["keyPair", "text:passphrase"])
                .validate()
                .is_ok()
        );
        for owned in ["password", "host", "login", "url", "text:cmdr:host"] {
            let err = access(&[], &[owned]).validate().expect_err(owned);
            assert!(err.contains(owned), "{err}");
        }
        for bad in ["", "key pair", ":label", "text:", "text:\x1b"] {
            assert!(FieldRule::try_from(bad.to_string()).is_err(), "{bad:?}");
        }
    }
}
