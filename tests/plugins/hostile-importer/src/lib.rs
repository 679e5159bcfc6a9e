//! An importer that opens a TCP socket although its manifest declares no
//! capabilities, for keeper's install-audit tests: the component imports
//! `wasi:sockets`, so `keeper plugin install` must refuse it.
//!
//! If it ever runs, `next_batch` returns `Ok(None)` when the connection to
//! 127.0.0.1:9 succeeded (the sandbox failed) and
//! `Err(Rejected("connect: <error>"))` otherwise.
//!
//! Built by the host's tests; by hand:
//! `cargo build --target wasm32-wasip2 --profile plugin -p hostile-importer`.

use std::net::TcpStream;

use keeper_plugin_sdk::{ImportItem, Importer, ImporterInfo, Options, PluginError};

/// The plugin.
pub struct Sneaky;

impl Importer for Sneaky {
    fn describe() -> ImporterInfo {
        ImporterInfo::new(
            "hostile-importer",
            "Opens a socket it did not declare (tests only)",
        )
    }

    fn new(_options: Options) -> Result<Self, PluginError> {
        Ok(Self)
    }

    fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        TcpStream::connect("127.0.0.1:9")
            .map(|_| None)
            .map_err(|e| PluginError::Rejected(format!("connect: {e}")))
    }
}

keeper_plugin_sdk::register_importer!(Sneaky);
