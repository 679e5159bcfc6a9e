//! keeper's first-party CSV importer: Keeper's own CSV layout (what
//! Commander and `keeper export --format csv` write) and generic CSVs with a
//! header row.
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-csv`.
//! It needs no capabilities: the host streams the file through `input`.
//!
//! # Keeper's layout
//!
//! No header row. Each row is one record; cells are RFC 4180 CSV (comma
//! separated, cells quoted with `"` when they hold `,`, `"` or line breaks,
//! quotes doubled; quoted cells may span lines). A UTF-8 byte-order mark is
//! ignored.
//!
//! | column | content |
//! |---|---|
//! | 1 | folder: a personal folder path, or the sub-folder inside the shared folder of column 7 |
//! | 2 | title (required) |
//! | 3 | login → typed `login` field |
//! | 4 | password → typed `password` field |
//! | 5 | website address → typed `url` field |
//! | 6 | notes (may span lines) |
//! | 7 | shared folder path, optionally followed by `#edit` and/or `#reshare` (any order): the record may be edited / re-shared inside it |
//! | 8, 9, … | key/value pairs: `key1,value1,key2,value2,…` |
//!
//! Paths separate folders with `\`; `\\` is a literal backslash in a name.
//! Empty login, password and url cells make no field. Keys of the pairs:
//!
//! | key | meaning |
//! |---|---|
//! | `$record_uid` | the record's uid (for `--update` matching) |
//! | `$type` | the record type (default: the `record-type` option, else `login`) |
//! | `$<fieldType>` / `$<fieldType>:<label>` | a typed field, e.g. `$oneTimeCode`, `$host` (`hostName:port`), `$text:SSID`; a trailing `:<n>` index is dropped; text forms of structured types are listed at [`fields::field_value`] |
//! | `TFC:Keeper` | a `oneTimeCode` field |
//! | anything else | a custom `text` field labelled with the key |
//!
//! Pairs with a blank key or value are ignored, as is a final key without a
//! value. A typed value that cannot be read as its type (a date that is not
//! epoch milliseconds, say) is kept as a custom text field labelled with the
//! key, so nothing is lost. Typed-key fields go to the record's typed
//! fields; plain-label fields to its custom fields.
//!
//! Example (the second row puts a database record into shared folder
//! `Ops\DB` with edit rights):
//!
//! ```text
//! Work\Dev,GitHub,octocat,s3cret,https://github.com,"two
//! lines",,$oneTimeCode,otpauth://totp/GitHub?secret=JBSWY3DPEHPK3PXP,Department,IT
//! Prod,orders-db,app,pw,,,Ops\DB#edit,$type,databaseCredentials,$host,db1.example.com:5432
//! ```
//!
//! # Generic CSVs
//!
//! When the first row looks like a header (at least two known column names,
//! one of them a title, login, password or url name, and known names are at
//! least half of its non-empty cells), rows are mapped by the header instead.
//! Names are compared case-insensitively, ignoring spaces, `_`, `-` and `.`:
//!
//! | role | header names |
//! |---|---|
//! | title | title, name, account, account name, item, item name, entry, record title |
//! | login | login, username, user, login name, user id, email, email address, login_username |
//! | password | password, pass, passwd, pwd, login_password |
//! | url | url, uri, website, website address, web address, site, login url, login_uri, link |
//! | notes | notes, note, comment(s), extra, description |
//! | folder | folder, folder path, group, grouping, category, path |
//! | shared folder | shared folder, shared folder path |
//! | one-time code | totp, otp, one-time code, otpauth, 2fa, mfa, login_totp |
//! | record type | type, record type, $type |
//! | uid | uid, record uid, $record_uid |
//!
//! Only the first column of each role counts; a repeated one, and every
//! unknown column, becomes a custom text field labelled with its header (a
//! `$fieldType[:label]` header makes a typed field, as a key does above).
//! A row without a title takes its url, else its login, as title. A header
//! naming Keeper's own seven columns in order (`Folder, Title, Login,
//! Password, Website Address, Notes, Shared Folder…`) is skipped and the
//! rows are read as Keeper's layout.
//!
//! # Errors and skipped rows
//!
//! A malformed row does not stop the import: it is reported as an
//! [`ImportItem::Skipped`] item `line N: reason` (N is the row's first
//! line) and the import goes on. Rows are skipped when they have fewer than
//! six cells (Keeper's layout), no title, or a cell that is not UTF-8.
//! Blank rows are ignored. The import fails with
//! [`PluginError::MalformedInput`] only when the source cannot be read, or
//! when one row grows beyond [`MAX_ROW_BYTES`] (usually a quote that is
//! never closed), since everything after it would be garbage.
//!
//! # Memory
//!
//! The file is read row by row; a batch holds at most [`BATCH_ITEMS`] items
//! and about [`BATCH_BYTES`] bytes of text.

pub mod fields;
pub mod generic;
pub mod rows;

use std::io::Read;

use keeper_plugin_sdk::input::{Input, RowLimit, RowMark, RowTooLarge};
use keeper_plugin_sdk::{ImportItem, Importer, ImporterInfo, Options, PluginError};

use crate::generic::Header;
use crate::rows::keeper_row;

/// The most items per batch.
pub const BATCH_ITEMS: usize = 500;

/// A batch is closed once its items hold about this many bytes of text.
pub const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The largest row (in bytes of the file) accepted.
pub use keeper_plugin_sdk::input::MAX_ROW_BYTES;

/// The record type of rows that name none, unless `record-type` is given.
pub const DEFAULT_RECORD_TYPE: &str = "login";

/// The plugin: a CSV import run over the host's streamed source.
pub struct Csv(CsvImport<Input>);

impl Importer for Csv {
    fn describe() -> ImporterInfo {
        ImporterInfo::new(
            "csv",
            "Keeper CSV (folder, title, login, password, url, notes, shared folder, key/value pairs) or a CSV with a header row",
        )
    }

    fn new(options: Options) -> Result<Self, PluginError> {
        Ok(Self(CsvImport::new(Input::new(), &options)))
    }

    fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        self.0.next_batch()
    }
}

keeper_plugin_sdk::register_importer!(Csv);

/// How the rows are read, decided by the first row.
#[derive(Debug)]
enum Layout {
    /// Not decided yet.
    Unknown,
    /// Keeper's positional layout.
    Keeper,
    /// Mapped by a header row.
    Generic(Header),
}

/// A CSV import over any reader; the plugin runs it over the host's
/// [`Input`], tests and fuzzers over bytes in memory.
///
/// ```
/// use keeper_plugin_csv::CsvImport;
/// use keeper_plugin_sdk::{ImportItem, Options};
///
/// let csv = "Work,GitHub,octocat,pw,https://github.com,,\n";
/// let mut import = CsvImport::new(csv.as_bytes(), &Options::default());
/// let batch = import.next_batch().ok().flatten().unwrap_or_default();
/// assert!(matches!(&batch[..], [ImportItem::Record(r)] if r.title == "GitHub"));
/// assert_eq!(import.next_batch(), Ok(None));
/// ```
pub struct CsvImport<R: Read> {
    reader: csv::Reader<RowLimit<R>>,
    /// Ends each row for the reader's row limit.
    row_mark: RowMark,
    layout: Layout,
    default_type: String,
    done: bool,
}

impl<R: Read> CsvImport<R> {
    /// Starts reading `source`. Options read: `record-type` (the record
    /// type of rows without `$type`; default `login`).
    pub fn new(source: R, options: &Options) -> Self {
        let (limited, row_mark) = RowLimit::new(source, MAX_ROW_BYTES);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            // Rows end at `\n` (a `\r` before it is trimmed in `row`): with
            // the default CRLF terminator the csv crate's line numbers lag
            // behind on CRLF files.
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(limited);
        let default_type = options
            .get("record-type")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_RECORD_TYPE)
            .to_owned();
        Self {
            reader,
            row_mark,
            layout: Layout::Unknown,
            default_type,
            done: false,
        }
    }

    /// The next batch of items, `None` at the end of the source.
    ///
    /// Fails with [`PluginError::MalformedInput`] when the source cannot be
    /// read or a row exceeds [`MAX_ROW_BYTES`]; the run is over then.
    pub fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        if self.done {
            return Ok(None);
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut row = csv::ByteRecord::new();
        while batch.len() < BATCH_ITEMS && bytes < BATCH_BYTES {
            let more = self.reader.read_byte_record(&mut row);
            self.row_mark.row_done();
            match more {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    let line = self.reader.position().line();
                    return Err(PluginError::MalformedInput(read_error(&e, line)));
                }
            }
            let line = row.position().map_or(0, csv::Position::line);
            if let Some(item) = self.row(&row, line) {
                bytes += item_bytes(&item);
                batch.push(item);
            }
        }
        if batch.is_empty() && self.done {
            return Ok(None);
        }
        Ok(Some(batch))
    }

    /// Maps one row; `None` for rows that yield nothing (blank rows, the header).
    fn row(&mut self, row: &csv::ByteRecord, line: u64) -> Option<ImportItem> {
        let mut cells = Vec::with_capacity(row.len());
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            let cell = match cell {
                [rest @ .., b'\r'] if i == last => rest,
                _ => cell,
            };
            match std::str::from_utf8(cell) {
                Ok(text) => cells.push(text.to_owned()),
                Err(_) => {
                    return Some(ImportItem::Skipped(format!(
                        "line {line}: column {} is not valid UTF-8",
                        i + 1
                    )));
                }
            }
        }
        if cells.iter().all(|c| c.trim().is_empty()) {
            return None;
        }
        if matches!(self.layout, Layout::Unknown) {
            match Header::detect(&cells) {
                Some(header) if header.is_keeper_layout() => {
                    self.layout = Layout::Keeper;
                    return None;
                }
                Some(header) => {
                    self.layout = Layout::Generic(header);
                    return None;
                }
                None => self.layout = Layout::Keeper,
            }
        }
        match &self.layout {
            Layout::Generic(header) => header.map_row(&cells, line, &self.default_type),
            Layout::Keeper | Layout::Unknown => Some(keeper_row(&cells, line, &self.default_type)),
        }
    }
}

/// The text of a read failure.
fn read_error(err: &csv::Error, line: u64) -> String {
    if let csv::ErrorKind::Io(io) = err.kind()
        && let Some(too_large) = RowTooLarge::find(io)
    {
        return format!("line {line}: {too_large}");
    }
    format!("near line {line}: reading the CSV failed: {err}")
}

/// About how many bytes of text an item holds.
fn item_bytes(item: &ImportItem) -> usize {
    match item {
        ImportItem::Record(r) => {
            let fields: usize = r
                .fields
                .iter()
                .chain(&r.custom)
                .map(|f| {
                    f.kind.len()
                        + f.label.as_ref().map_or(0, String::len)
                        + f.values.iter().map(String::len).sum::<usize>()
                })
                .sum();
            r.title.len() + r.notes.as_ref().map_or(0, String::len) + fields + 64
        }
        ImportItem::Skipped(s) => s.len(),
        ImportItem::SharedFolder(f) => f.path.len() + 16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_csv() {
        let info = Csv::describe();
        assert_eq!(info.name, "csv");
        assert!(info.reads_input);
    }
}
