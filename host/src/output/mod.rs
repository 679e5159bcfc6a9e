//! Printing listings as a table, JSON or CSV (`--format`).

pub mod report;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

use crate::cli::Format;

/// Prints `rows` under `headers` in `format`. For JSON, `json` is printed
/// instead (usually the same data with typed values).
///
/// # Errors
///
/// Fails only if writing CSV fails.
pub fn print_listing<T: Serialize>(
    format: Format,
    headers: &[&str],
    rows: &[Vec<String>],
    json: &T,
) -> anyhow::Result<()> {
    match format {
        Format::Table => println!("{}", table(headers, rows)),
        Format::Json => println!("{}", serde_json::to_string_pretty(json)?),
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(std::io::stdout());
            writer.write_record(headers)?;
            for row in rows {
                writer.write_record(row)?;
            }
            writer.flush()?;
        }
    }
    Ok(())
}

/// Renders a table for a terminal: each cell's text escaped
/// (`runtime::text::escaped_lines`), its line breaks kept, since a cell
/// may hold what a source or a plugin wrote (a title, a folder's name).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.iter().copied());
    for row in rows {
        table.add_row(
            row.iter()
                .map(|cell| crate::runtime::text::escaped_lines(cell)),
        );
    }
    table
}
