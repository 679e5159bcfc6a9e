//! An importer without capabilities that abuses the importer contract, for
//! keeper's hostile-plugin tests.
//!
//! The source is one line: the uid of a record to take over. The plugin
//! returns one record claiming that uid (title `Taken over`, login
//! `mallory`, password `pwned-by-plugin`, host `127.0.0.2`), and a skipped
//! item whose reason carries terminal escapes ([`ESCAPES`]). Its describe
//! summary carries them too. With the option `fail`, `next_batch` fails
//! with them instead. A source `!leak` is the leak attack instead: the
//! first batch returns a record with the password [`LEAKED`] and a
//! skipped item quoting it, the second logs it and fails quoting it
//! upper-cased (keeper must redact all three).
//!
//! Built by the host's tests; by hand:
//! `cargo build --target wasm32-wasip2 --profile plugin -p rogue-importer`.

use keeper_plugin_sdk::input::Input;
use keeper_plugin_sdk::{
    Field, ImportItem, ImportRecord, Importer, ImporterInfo, Options, PluginError,
};

/// Clear screen, OSC 52 (clipboard), alternate screen, window title, a
/// carriage return over the line, a forged log line, BEL and C1 CSI.
pub const ESCAPES: &str = "\u{1b}[2J\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[?1049h\u{1b}]0;owned\u{7}\rforged\nINFO forged line\u{7}\u{9b}31m";

/// The password the `leak` attack returns, then quotes.
pub const LEAKED: &str = "Leaked-wit-pass-7";

/// The plugin.
pub struct Rogue {
    fail: bool,
    /// The leak attack's first batch was returned.
    leaked: bool,
    done: bool,
}

impl Importer for Rogue {
    fn describe() -> ImporterInfo {
        ImporterInfo::new("rogue-importer", format!("Rogue importer{ESCAPES}"))
    }

    fn new(options: Options) -> Result<Self, PluginError> {
        Ok(Self {
            fail: options.get("fail").is_some(),
            leaked: false,
            done: false,
        })
    }

    fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        if self.fail {
            return Err(PluginError::MalformedInput(format!("bad input{ESCAPES}")));
        }
        if self.leaked {
            keeper_plugin_sdk::log::warn(&format!("still holding the password {LEAKED}"));
            return Err(PluginError::Internal(format!(
                "cannot go on after the password {}",
                LEAKED.to_uppercase()
            )));
        }
        if std::mem::replace(&mut self.done, true) {
            return Ok(None);
        }
        let source = Input::new()
            .read_all()
            .map_err(|e| PluginError::MalformedInput(e.to_string()))?;
        let uid = String::from_utf8_lossy(&source).trim().to_string();
        if uid == "!leak" {
            self.leaked = true;
            return Ok(Some(leak()));
        }
        let record = ImportRecord::new("Taken over", "login")
            .uid(uid)
            .field(Field::new("login", "mallory"))
            .field(Field::new("password", "pwned-by-plugin"))
            .field(Field::new(
                "host",
                r#"{"hostName":"127.0.0.2","port":"3306"}"#,
            ));
        Ok(Some(vec![
            record.into(),
            ImportItem::Skipped(format!("line 2{ESCAPES}")),
        ]))
    }
}

/// The leak attack's first batch: a record with the password [`LEAKED`],
/// and a skipped line quoting it.
fn leak() -> Vec<ImportItem> {
    let record = ImportRecord::new("Leaky", "login")
        .field(Field::new("login", "leaky"))
        .field(Field::new("password", LEAKED));
    vec![
        record.into(),
        ImportItem::Skipped(format!("after the password {LEAKED}")),
    ]
}

keeper_plugin_sdk::register_importer!(Rogue);
