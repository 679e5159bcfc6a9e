//! The record as a plugin sees it: vault fields → WIT `record-view`.
//!
//! Plain values become strings, structured ones (host, name, keyPair...)
//! JSON text, numbers (dates) decimal text — the shape `types.wit`
//! documents.

use serde_json::Value;

use crate::runtime::plugin::{Field, RecordView};
use crate::vault::model::{Field as VaultField, Record};

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn field(f: &VaultField) -> Field {
    Field {
        kind: f.kind.clone(),
        label: f.label.clone(),
        values: f.value.iter().map(value_text).collect(),
    }
}

/// The plugin's view of `record`.
pub fn record_view(record: &Record) -> RecordView {
    let d = &record.data;
    RecordView {
        uid: record.uid.clone(),
        title: d.title.clone(),
        record_type: d.record_type.clone(),
        fields: d.fields.iter().map(field).collect(),
        custom: d.custom.iter().map(field).collect(),
        notes: (!d.notes.is_empty()).then(|| d.notes.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_values_become_json_text() {
        let f = VaultField::new(
            "host",
            None,
            serde_json::json!({"hostName": "db1", "port": "3306"}),
        );
        let v = field(&f);
        assert_eq!(v.kind, "host");
        let parsed: Value = serde_json::from_str(&v.values[0]).expect("json");
        assert_eq!(parsed["hostName"], "db1");
        assert_eq!(
            value_text(&Value::from(1_700_000_000_000_i64)),
            "1700000000000"
        );
        assert_eq!(value_text(&Value::from("plain")), "plain");
    }
}
