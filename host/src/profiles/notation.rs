//! Keeper notation: `keeper://<uid or title>/<selector>`, as the Secrets
//! Manager SDKs read it. Selectors: `field/<type>`, `custom_field/<label>`
//! (either may end in `[N]` for the N-th value, or `[]` for all as JSON),
//! `title`, `type`, `notes`.

use serde_json::Value;

use super::ProfileError;
use crate::vault::model::{Field, Record, fields};

/// The scheme every notation starts with.
pub const SCHEME: &str = "keeper://";

/// A parsed notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notation {
    /// The record: uid or title.
    pub record: String,
    /// What of it.
    pub selector: Selector,
}

/// What a notation selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The title.
    Title,
    /// The record type.
    Type,
    /// The notes.
    Notes,
    /// A standard field by type (`custom: false`) or a custom field by
    /// label (else type); `index`: one value (`Some(Some(n))`), all
    /// (`Some(None)`), or the first (`None`).
    Field {
        /// `custom_field/…`.
        custom: bool,
        /// Type or label.
        name: String,
        /// Which values.
        index: Option<Option<usize>>,
    },
}

impl Notation {
    /// Parses `keeper://…`.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Invalid`] saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, ProfileError> {
        let bad = |why: &str| ProfileError::Invalid(format!("notation {text:?}: {why}"));
        let rest = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad("it does not start with keeper://"))?;
        let (record, selector) = rest
            .split_once('/')
            .ok_or_else(|| bad("use keeper://<uid or title>/field/<type>"))?;
        if record.is_empty() {
            return Err(bad("no record uid or title"));
        }
        let selector = match selector.split_once('/') {
            None => match selector {
                "title" => Selector::Title,
                "type" => Selector::Type,
                "notes" => Selector::Notes,
                other => return Err(bad(&format!("unknown selector {other:?}"))),
            },
            Some((kind @ ("field" | "custom_field"), name)) => {
                let (name, index) = match name.strip_suffix(']').and_then(|n| n.rsplit_once('[')) {
                    Some((n, "")) => (n, Some(None)),
                    Some((n, i)) => (
                        n,
                        Some(Some(
                            i.parse().map_err(|_| bad("the index is not a number"))?,
                        )),
                    ),
                    None => (name, None),
                };
                if name.is_empty() {
                    return Err(bad("no field name"));
                }
                Selector::Field {
                    custom: kind == "custom_field",
                    name: name.to_string(),
                    index,
                }
            }
            Some((other, _)) => {
                return Err(bad(&format!(
                    "unknown selector {other:?} (field, custom_field, title, type, notes)"
                )));
            }
        };
        Ok(Self {
            record: record.to_string(),
            selector,
        })
    }

    /// The value this notation names in `record`, as text.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Invalid`] when the record has no such field or value.
    pub fn resolve(&self, record: &Record) -> Result<zeroize::Zeroizing<String>, ProfileError> {
        let d = &record.data;
        let missing =
            |what: &str| ProfileError::Invalid(format!("record {} has no {what}", record.uid));
        Ok(zeroize::Zeroizing::new(match &self.selector {
            Selector::Title => d.title.clone(),
            Selector::Type => d.record_type.clone(),
            Selector::Notes if d.notes.is_empty() => return Err(missing("notes")),
            Selector::Notes => d.notes.to_string(),
            Selector::Field {
                custom,
                name,
                index,
            } => {
                let field = find_field(&d.fields, &d.custom, *custom, name)
                    .ok_or_else(|| missing(&format!("field {name}")))?;
                match index {
                    None => value_text(field, field.value.first())
                        .ok_or_else(|| missing(&format!("value in field {name}")))?,
                    Some(Some(i)) => value_text(field, field.value.get(*i))
                        .ok_or_else(|| missing(&format!("value {i} in field {name}")))?,
                    Some(None) => Value::Array(field.value.to_vec()).to_string(),
                }
            }
        }))
    }
}

/// A field by type (standard fields, then custom ones) or, for custom
/// fields, by label first.
pub(super) fn find_field<'a>(
    standard: &'a [Field],
    custom: &'a [Field],
    custom_only: bool,
    name: &str,
) -> Option<&'a Field> {
    let by_label = |f: &&Field| f.label.as_deref() == Some(name);
    let by_type = |f: &&Field| f.kind.eq_ignore_ascii_case(name);
    if custom_only {
        return custom
            .iter()
            .find(by_label)
            .or_else(|| custom.iter().find(by_type));
    }
    standard
        .iter()
        .find(|f| by_type(f) && !f.is_empty())
        .or_else(|| standard.iter().find(by_label))
        .or_else(|| custom.iter().find(by_label))
        .or_else(|| custom.iter().find(by_type))
}

/// One value as text, unmasked (structured values as keeper shows them).
fn value_text(field: &Field, value: Option<&Value>) -> Option<String> {
    value.map(|v| fields::display(&field.kind, v, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notations_parse() {
        let n = Notation::parse("keeper://abc/field/password").expect("parse");
        assert_eq!(n.record, "abc");
        assert_eq!(
            n.selector,
            Selector::Field {
                custom: false,
                name: "password".into(),
                index: None
            }
        );
        let n = Notation::parse("keeper://My DB/custom_field/API Key[1]").expect("parse");
        assert_eq!(
            n.selector,
            Selector::Field {
                custom: true,
                name: "API Key".into(),
                index: Some(Some(1))
            }
        );
        assert_eq!(
            Notation::parse("keeper://x/notes").expect("notes").selector,
            Selector::Notes
        );
        for bad in [
            "http://x/field/password",
            "keeper://x",
            "keeper:///field/password",
            "keeper://x/field/",
            "keeper://x/field/password[a]",
            "keeper://x/file/f",
        ] {
            assert!(Notation::parse(bad).is_err(), "{bad}");
        }
    }
}
