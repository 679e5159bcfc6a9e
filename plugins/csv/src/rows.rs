//! Rows to records: Keeper's positional layout and the pieces generic
//! (header-mapped) rows share with it.

use keeper_plugin_sdk::{Field, ImportItem, ImportRecord, Location};

use crate::fields::{Key, parse_key, typed_field};

/// The fewest cells a Keeper-layout row may have (folder … notes).
pub const MIN_KEEPER_COLUMNS: usize = 6;

/// Maps one row of Keeper's layout (see the crate docs) to an item.
///
/// `line` is the row's first line in the file; `default_type` the record
/// type of rows without `$type`.
pub fn keeper_row(cells: &[String], line: u64, default_type: &str) -> ImportItem {
    if cells.len() < MIN_KEEPER_COLUMNS {
        return ImportItem::Skipped(format!(
            "line {line}: {} column{}, expected at least {MIN_KEEPER_COLUMNS} \
             (folder, title, login, password, url, notes)",
            cells.len(),
            if cells.len() == 1 { "" } else { "s" }
        ));
    }
    let cell = |i: usize| cells.get(i).map(String::as_str).unwrap_or("");
    let mut builder = RecordBuilder::new(default_type);
    builder.title = cell(1).trim().to_owned();
    builder.text_field("login", cell(2));
    builder.text_field("password", cell(3));
    builder.text_field("url", cell(4));
    builder.notes(cell(5));
    builder.folder = cell(0).trim().to_owned();
    builder.shared_folder = cell(6).trim().to_owned();
    let mut pairs = cells.get(7..).unwrap_or_default().chunks_exact(2);
    for pair in &mut pairs {
        if let [key, value] = pair {
            builder.pair(key, value);
        }
    }
    // A key without a value (an odd cell at the end) is ignored, as Commander does.
    builder.finish(line)
}

/// Collects one row's parts, then checks and builds the record.
#[derive(Debug, Default)]
pub struct RecordBuilder {
    /// The title (required).
    pub title: String,
    /// The personal folder, or the sub-folder inside `shared_folder`.
    pub folder: String,
    /// The shared-folder cell, `#edit` / `#reshare` flags included.
    pub shared_folder: String,
    record: ImportRecord,
}

impl RecordBuilder {
    /// An empty record of `default_type`.
    pub fn new(default_type: &str) -> Self {
        Self {
            record: ImportRecord::new("", default_type),
            ..Self::default()
        }
    }

    /// Adds a typed plain-text field (`login`, `password`, `url`) if `value`
    /// is not blank.
    pub fn text_field(&mut self, kind: &str, value: &str) {
        if !value.trim().is_empty() {
            self.record.fields.push(Field::new(kind, value));
        }
    }

    /// Adds a one-time-code field (a bare secret is wrapped), or keeps the
    /// text as a custom field labelled `label` when it is not a code.
    pub fn one_time_code(&mut self, label: &str, value: &str) {
        if value.trim().is_empty() {
            return;
        }
        match typed_field("oneTimeCode", None, value) {
            Some(field) => self.record.fields.push(field),
            None => self.record.custom.push(Field::custom("text", label, value)),
        }
    }

    /// Sets the notes if `notes` is not blank (appends if already set).
    pub fn notes(&mut self, notes: &str) {
        if notes.trim().is_empty() {
            return;
        }
        match &mut self.record.notes {
            Some(existing) => {
                existing.push('\n');
                existing.push_str(notes);
            }
            None => self.record.notes = Some(notes.to_owned()),
        }
    }

    /// Sets the record type if `value` is not blank.
    pub fn record_type(&mut self, value: &str) {
        if !value.trim().is_empty() {
            self.record.record_type = value.trim().to_owned();
        }
    }

    /// Sets the source uid if `value` is not blank.
    pub fn uid(&mut self, value: &str) {
        if !value.trim().is_empty() {
            self.record.uid = Some(value.trim().to_owned());
        }
    }

    /// Adds a custom text field if `value` is not blank.
    pub fn custom(&mut self, label: &str, value: &str) {
        if !value.trim().is_empty() {
            self.record
                .custom
                .push(Field::custom("text", label.trim(), value));
        }
    }

    /// Applies one key/value pair (see [`parse_key`]); pairs with a blank
    /// key or value are skipped. A typed value that cannot be read as its
    /// type is kept as a custom text field labelled with the key.
    pub fn pair(&mut self, key: &str, value: &str) {
        if key.trim().is_empty() || value.trim().is_empty() {
            return;
        }
        match parse_key(key) {
            Key::Uid => self.uid(value),
            Key::RecordType => self.record_type(value),
            Key::Typed { kind, label } => match typed_field(&kind, label.as_deref(), value) {
                Some(field) => self.record.fields.push(field),
                None => self.custom(key, value),
            },
            Key::Custom(label) => self.custom(&label, value),
        }
    }

    /// The record, or a skipped item when it has no title.
    pub fn finish(mut self, line: u64) -> ImportItem {
        if self.title.is_empty() {
            return ImportItem::Skipped(format!("line {line}: the record has no title"));
        }
        self.record.title = self.title;
        if let Some(location) = location(&self.folder, &self.shared_folder) {
            self.record.locations.push(location);
        }
        ImportItem::Record(self.record)
    }
}

/// Where a record goes from its folder and shared-folder cells; `None` for
/// the import folder's root.
///
/// The shared-folder cell may end with `#edit` and/or `#reshare` (any
/// order, repeatable, case-insensitive): the record's rights inside the
/// shared folder. Paths are kept as written (`\` separated, `\\` a literal
/// backslash), trimmed.
///
/// ```
/// use keeper_plugin_csv::rows::location;
///
/// let loc = location("Cards", r"Team\Finance#edit#reshare").unwrap_or_default();
/// assert_eq!(loc.shared_folder.as_deref(), Some(r"Team\Finance"));
/// assert_eq!(loc.folder.as_deref(), Some("Cards"));
/// assert!(loc.can_edit && loc.can_share);
/// ```
pub fn location(folder: &str, shared_folder: &str) -> Option<Location> {
    let folder = folder.trim();
    let mut shared = shared_folder.trim();
    let (mut can_edit, mut can_share) = (false, false);
    loop {
        if let Some(rest) = strip_suffix_ci(shared, "#edit") {
            can_edit = true;
            shared = rest;
        } else if let Some(rest) = strip_suffix_ci(shared, "#reshare") {
            can_share = true;
            shared = rest;
        } else {
            break;
        }
    }
    let shared = shared.trim();
    let folder = (!folder.is_empty()).then(|| folder.to_owned());
    if shared.is_empty() {
        return folder.map(Location::folder);
    }
    let mut location = Location::shared(shared, folder);
    location.can_edit = can_edit;
    location.can_share = can_share;
    Some(location)
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix)
        .then(|| s.get(..cut))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(row: &[&str]) -> Vec<String> {
        row.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn short_rows_are_skipped_with_their_line() {
        let item = keeper_row(&cells(&["a", "b", "c"]), 7, "login");
        assert_eq!(
            item,
            ImportItem::Skipped(
                "line 7: 3 columns, expected at least 6 (folder, title, login, password, url, notes)"
                    .into()
            )
        );
    }

    #[test]
    fn untitled_rows_are_skipped() {
        let item = keeper_row(&cells(&["", "", "me", "", "", ""]), 2, "login");
        assert_eq!(
            item,
            ImportItem::Skipped("line 2: the record has no title".into())
        );
    }

    #[test]
    fn flags_in_any_order() {
        let loc = location("", "SF#reshare#EDIT").unwrap_or_default();
        assert_eq!(loc.shared_folder.as_deref(), Some("SF"));
        assert_eq!(loc.folder, None);
        assert!(loc.can_edit && loc.can_share);
        assert_eq!(location("", ""), None);
        assert_eq!(location(" ", "#edit"), None);
        assert_eq!(
            location(r"A\\B\C", "").and_then(|l| l.folder),
            Some(r"A\\B\C".to_owned())
        );
    }
}
