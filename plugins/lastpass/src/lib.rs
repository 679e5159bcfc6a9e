//! keeper's first-party LastPass importer (skeleton: only `describe` is real).
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-lastpass`.
//!
//! It will read either a LastPass CSV export streamed by the host or, with
//! the `source` option naming an account, the online vault at
//! `https://lastpass.com` (the manifest's only HTTP origin). For now it
//! declares `reads_input` so the host streams the export.

use keeper_plugin_sdk::{ImportItem, Importer, ImporterInfo, Options, PluginError};

/// The LastPass importer.
pub struct LastPass;

impl Importer for LastPass {
    fn describe() -> ImporterInfo {
        ImporterInfo::new(
            "lastpass",
            "LastPass vaults: a CSV export, or the online account",
        )
        .reads_input(true)
    }

    fn new(_options: Options) -> Result<Self, PluginError> {
        Ok(Self)
    }

    fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        Err(PluginError::Unsupported(
            "lastpass: import is not implemented yet".into(),
        ))
    }
}

keeper_plugin_sdk::register_importer!(LastPass);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_lastpass() {
        let info = LastPass::describe();
        assert_eq!(info.name, "lastpass");
        assert!(info.reads_input);
    }

    #[test]
    fn import_says_it_is_not_implemented() {
        let mut session = LastPass::new(Options::default());
        assert!(matches!(
            session.as_mut().map(|s| s.next_batch()),
            Ok(Err(PluginError::Unsupported(m))) if m == "lastpass: import is not implemented yet"
        ));
    }
}
