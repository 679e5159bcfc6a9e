//! Helpers shared by the lastpass plugin's integration tests.

use keeper_plugin_sdk::{Field, ImportItem, ImportRecord};

/// The record titled `title` among `items` (panics, listing them, if none).
pub fn record<'a>(items: &'a [ImportItem], title: &str) -> &'a ImportRecord {
    items
        .iter()
        .find_map(|i| match i {
            ImportItem::Record(r) if r.title == title => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no record {title:?} in {items:#?}"))
}

/// The first value of the first field of type `kind`.
pub fn value<'a>(fields: &'a [Field], kind: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.kind == kind)
        .and_then(Field::value)
}
