//! LastPass CSV exports, read row by row and mapped by the header
//! (`url,username,password,totp,extra,name,grouping,fav`, with or without
//! `totp`, in any order).

use std::io::Read;

use keeper_plugin_sdk::PluginError;
use keeper_plugin_sdk::input::{RowLimit, RowMark, RowTooLarge};

use crate::account::{Account, split_grouping};

/// The largest row (in bytes of the file) accepted.
pub use keeper_plugin_sdk::input::MAX_ROW_BYTES;

/// One row's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// An entry and the line it starts on.
    Account(u64, Box<Account>),
    /// A row that could not be read: `line N: reason`.
    Skipped(String),
}

/// Column positions found in the header.
#[derive(Debug, Default, Clone)]
struct Columns {
    count: usize,
    url: Option<usize>,
    username: Option<usize>,
    password: Option<usize>,
    totp: Option<usize>,
    extra: Option<usize>,
    name: Option<usize>,
    grouping: Option<usize>,
}

/// A LastPass CSV export over any reader.
pub struct CsvExport<R: Read> {
    reader: csv::Reader<RowLimit<R>>,
    row_mark: RowMark,
    columns: Option<Columns>,
    done: bool,
}

impl<R: Read> CsvExport<R> {
    /// Starts reading `source`.
    pub fn new(source: R) -> Self {
        let (limited, row_mark) = RowLimit::new(source, MAX_ROW_BYTES);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(limited);
        Self {
            reader,
            row_mark,
            columns: None,
            done: false,
        }
    }

    /// The next row, `None` at the end.
    ///
    /// Fails with [`PluginError::MalformedInput`] when the first row is not a
    /// LastPass header, the source cannot be read, or a row exceeds
    /// [`MAX_ROW_BYTES`].
    pub fn next_row(&mut self) -> Result<Option<Row>, PluginError> {
        let mut record = csv::ByteRecord::new();
        loop {
            if self.done {
                return Ok(None);
            }
            let more = self.reader.read_byte_record(&mut record);
            self.row_mark.row_done();
            match more {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(e) => {
                    self.done = true;
                    let line = self.reader.position().line();
                    let too_large = match e.kind() {
                        csv::ErrorKind::Io(io) => RowTooLarge::find(io),
                        _ => None,
                    };
                    return Err(PluginError::MalformedInput(
                        if let Some(too_large) = too_large {
                            format!("line {line}: {too_large}")
                        } else {
                            format!("near line {line}: reading the CSV failed: {e}")
                        },
                    ));
                }
            }
            let line = record.position().map_or(0, csv::Position::line);
            let mut cells = Vec::with_capacity(record.len());
            let last = record.len().saturating_sub(1);
            let mut bad_utf8 = None;
            for (i, cell) in record.iter().enumerate() {
                let cell = match cell {
                    [rest @ .., b'\r'] if i == last => rest,
                    _ => cell,
                };
                match std::str::from_utf8(cell) {
                    Ok(text) => cells.push(text.to_owned()),
                    Err(_) => {
                        bad_utf8 = Some(i + 1);
                        break;
                    }
                }
            }
            let Some(columns) = &self.columns else {
                self.columns = Some(header(&cells, line)?);
                continue;
            };
            if let Some(col) = bad_utf8 {
                return Ok(Some(Row::Skipped(format!(
                    "line {line}: column {col} is not valid UTF-8"
                ))));
            }
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if cells.len() != columns.count {
                return Ok(Some(Row::Skipped(format!(
                    "line {line}: {} columns, the header has {}",
                    cells.len(),
                    columns.count
                ))));
            }
            let get = |col: Option<usize>| {
                col.and_then(|i| cells.get(i))
                    .map(|c| html_unescape(c))
                    .unwrap_or_default()
            };
            let (shared_folder, group) = split_grouping(&get(columns.grouping));
            let account = Account {
                url: get(columns.url),
                username: get(columns.username),
                password: get(columns.password),
                totp: get(columns.totp),
                notes: get(columns.extra),
                name: get(columns.name),
                group,
                shared_folder,
                ..Account::default()
            };
            return Ok(Some(Row::Account(line, Box::new(account))));
        }
    }
}

/// Reads the header row.
fn header(cells: &[String], line: u64) -> Result<Columns, PluginError> {
    let mut columns = Columns {
        count: cells.len(),
        ..Columns::default()
    };
    for (i, cell) in cells.iter().enumerate() {
        let slot = match cell.trim().to_ascii_lowercase().as_str() {
            "url" => &mut columns.url,
            "username" => &mut columns.username,
            "password" => &mut columns.password,
            "totp" => &mut columns.totp,
            "extra" => &mut columns.extra,
            "name" => &mut columns.name,
            "grouping" | "group" => &mut columns.grouping,
            _ => continue,
        };
        slot.get_or_insert(i);
    }
    if columns.name.is_none() || columns.url.is_none() {
        return Err(PluginError::MalformedInput(format!(
            "line {line}: not a LastPass CSV export: the first row must be a header naming \
             url, username, password, extra, name and grouping (totp and fav optional)"
        )));
    }
    Ok(columns)
}

/// Undoes the HTML escaping of browser-extension exports: `&amp;`, `&lt;`,
/// `&gt;`, `&quot;`, `&#39;` / `&#x27;` / `&apos;`. Other `&` are kept.
///
/// ```
/// use keeper_plugin_lastpass::csv_export::html_unescape;
///
/// assert_eq!(html_unescape("a&amp;b &lt;c&gt; &quot;d&#39; & e"), "a&b <c> \"d' & e");
/// ```
pub fn html_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    const ENTITIES: [(&str, char); 7] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&#39;", '\''),
        ("&#x27;", '\''),
        ("&apos;", '\''),
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or(""));
        let tail = rest.get(i..).unwrap_or("");
        match ENTITIES.iter().find(|(e, _)| tail.starts_with(e)) {
            Some((e, c)) => {
                out.push(*c);
                rest = tail.get(e.len()..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = tail.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}
