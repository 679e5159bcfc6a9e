//! Reports as Commander prints them (`--format table|csv|json`,
//! `--output FILE`): a table gets the title above it, titled headers and,
//! when asked, a `#` row-number column; CSV and JSON carry the field names
//! and the data only (no `#`). With `--output` the report goes to the
//! file (created readable by its owner only) and nothing to stdout.

use std::path::Path;

use serde::Serialize;

use super::table;
use crate::cli::Format;

/// A report to print.
#[derive(Debug)]
pub struct Report<'a, T: Serialize> {
    /// Printed above a table.
    pub title: Option<&'a str>,
    /// Table headers (`Company ID`).
    pub titles: &'a [&'a str],
    /// CSV headers, one per title (`company_id`).
    pub fields: &'a [&'a str],
    /// The rows, as text.
    pub rows: &'a [Vec<String>],
    /// What JSON prints.
    pub json: &'a T,
    /// A table numbers its rows in a first `#` column.
    pub row_numbers: bool,
}

impl<T: Serialize> Report<'_, T> {
    /// The report as text in `format`.
    ///
    /// # Errors
    ///
    /// Encoding failures.
    pub fn render(&self, format: Format) -> anyhow::Result<String> {
        Ok(match format {
            Format::Table => {
                let mut out = String::new();
                if let Some(title) = self.title {
                    out.push_str(title);
                    out.push('\n');
                }
                let (titles, rows) = if self.row_numbers {
                    let mut titles = vec!["#"];
                    titles.extend_from_slice(self.titles);
                    let rows: Vec<Vec<String>> = self
                        .rows
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            let mut row = vec![(i + 1).to_string()];
                            row.extend(r.iter().cloned());
                            row
                        })
                        .collect();
                    (titles, rows)
                } else {
                    (self.titles.to_vec(), self.rows.to_vec())
                };
                out.push_str(&table(&titles, &rows).to_string());
                out.push('\n');
                out
            }
            Format::Json => {
                let mut out = serde_json::to_string_pretty(self.json)?;
                out.push('\n');
                out
            }
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(Vec::new());
                writer.write_record(self.fields)?;
                for row in self.rows {
                    writer.write_record(row)?;
                }
                String::from_utf8(writer.into_inner()?)?
            }
        })
    }

    /// Prints the report in `format`, or writes it to `output`.
    ///
    /// # Errors
    ///
    /// Encoding failures; a file that cannot be written.
    pub fn emit(&self, format: Format, output: Option<&Path>) -> anyhow::Result<()> {
        let text = self.render(format)?;
        match output {
            Some(path) => write_private(path, text.as_bytes()),
            None => {
                print!("{text}");
                Ok(())
            }
        }
    }
}

/// Writes `bytes` to `path` through [`crate::runtime::files::write_private`]:
/// a temp file beside it, mode 0600, renamed over `path`, so an existing
/// file ends 0600 too, a link at `path` is replaced rather than followed, and
/// a write that fails leaves the old file whole.
///
/// # Errors
///
/// The file cannot be written (named in the error).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::runtime::files::write_private(path, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_table_numbers_its_rows() {
        let rows = vec![vec!["a".to_string(), "1".to_string()]];
        let json = serde_json::json!([{"name": "a", "n": 1}]);
        let report = Report {
            title: Some("Title"),
            titles: &["Name", "N"],
            fields: &["name", "n"],
            rows: &rows,
            json: &json,
            row_numbers: true,
        };
        let table = report.render(Format::Table).expect("table");
        assert!(table.starts_with("Title\n"), "{table}");
        assert!(table.contains('#'), "{table}");
        assert_eq!(report.render(Format::Csv).expect("csv"), "name,n\na,1\n");
        assert!(!report.render(Format::Json).expect("json").contains('#'));
    }
}
