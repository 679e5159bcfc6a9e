//! keeper's first-party CSV importer (skeleton: only `describe` is real).
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-csv`.
//!
//! It will read Commander's CSV import format from the source the host
//! streams; it needs no capabilities.

use keeper_plugin_sdk::{ImportItem, Importer, ImporterInfo, Options, PluginError};

/// The CSV importer.
pub struct Csv;

impl Importer for Csv {
    fn describe() -> ImporterInfo {
        ImporterInfo::new(
            "csv",
            "Commander-style CSV: folder, title, login, password, url, notes, shared folder, custom fields",
        )
    }

    fn new(_options: Options) -> Result<Self, PluginError> {
        Ok(Self)
    }

    fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        Err(PluginError::Unsupported(
            "csv: import is not implemented yet".into(),
        ))
    }
}

keeper_plugin_sdk::register_importer!(Csv);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_csv() {
        let info = Csv::describe();
        assert_eq!(info.name, "csv");
        assert!(info.reads_input);
    }

    #[test]
    fn import_says_it_is_not_implemented() {
        let mut session = Csv::new(Options::default());
        assert!(matches!(
            session.as_mut().map(|s| s.next_batch()),
            Ok(Err(PluginError::Unsupported(m))) if m == "csv: import is not implemented yet"
        ));
    }
}
