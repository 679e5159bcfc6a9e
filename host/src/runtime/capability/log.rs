//! `keeper:plugin/log`: plugin messages into keeper's log, redacted, escaped
//! (one line each, no terminal controls) and capped.
//!
//! Each message is cut to [`MAX_MESSAGE_BYTES`]; a call that writes more than
//! its log budget in total is stopped with a typed "flooded its log" error,
//! so a hostile plugin cannot fill the disk or the terminal.

use super::PluginState;
use crate::runtime::bindings::latest::rotator::keeper::plugin::log::{Host, Level};
use crate::runtime::bindings::latest::rotator::keeper::plugin::types;
use crate::runtime::text::escaped;

/// Longest single message kept; longer ones are cut.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;

/// Log accounting for one call.
#[derive(Debug)]
pub struct LogSink {
    plugin: String,
    written: usize,
    limit: usize,
    exceeded: bool,
    panic: Option<String>,
}

impl LogSink {
    /// A sink for `plugin` with a budget of `limit` bytes.
    pub fn new(plugin: String, limit: usize) -> Self {
        Self {
            plugin,
            written: 0,
            limit,
            exceeded: false,
            panic: None,
        }
    }

    /// Whether the plugin went over its budget.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// The panic message the plugin reported (the SDK's panic hook logs it
    /// at error level just before the instance traps), redacted.
    pub fn panic_message(&self) -> Option<&str> {
        self.panic.as_deref()
    }

    /// The budget in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Accounts for `bytes` more; false once the budget is spent.
    fn charge(&mut self, bytes: usize) -> bool {
        self.written = self.written.saturating_add(bytes);
        if self.written > self.limit {
            self.exceeded = true;
        }
        !self.exceeded
    }
}

impl types::Host for PluginState {}

impl Host for PluginState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        if !self.log.charge(message.len()) {
            wasmtime::bail!("log budget exceeded");
        }
        // Redacted, then escaped: a message is one line and cannot steer
        // the terminal.
        let message = super::truncate(&escaped(&self.redactor.redact(&message)), MAX_MESSAGE_BYTES);
        if level == Level::Error && message.contains("panicked") {
            self.log.panic = Some(message.clone());
        }
        let plugin = self.log.plugin.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "keeper::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "keeper::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "keeper::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "keeper::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "keeper::plugin", plugin, "{message}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_enforced() {
        let mut sink = LogSink::new("p".into(), 10);
        assert!(sink.charge(6));
        assert!(!sink.exceeded());
        assert!(!sink.charge(6));
        assert!(sink.exceeded());
    }
}
