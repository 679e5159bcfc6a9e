//! Logging to the host's log (every plugin may log).
//!
//! The host redacts the call's secrets from messages, caps their size and
//! count, and ends a call that floods the log. Never log secrets anyway:
//! [`Secret`](crate::Secret) prints as `[redacted]`, so formatting one by
//! accident is harmless.
//!
//! ```
//! use keeper_plugin_sdk::{log, log_info};
//!
//! # fn demo(host: &str) {
//! log::debug("connecting");
//! log_info!("connected to {host}");
//! # }
//! ```

use crate::bindings::rotator::keeper::plugin::log::{Level, log};

/// Logs `message` at trace level (shown with `-vv`).
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Logs `message` at debug level (shown with `-v`).
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs `message` at info level (normal progress).
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs `message` at warn level (something odd that did not stop the call).
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs `message` at error level (something failed).
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Logs a formatted message at trace level: `log_trace!("read {n} bytes")`.
#[macro_export]
macro_rules! log_trace {
    ($($arg:tt)*) => { $crate::log::trace(&::std::format!($($arg)*)) };
}

/// Logs a formatted message at debug level: `log_debug!("read {n} bytes")`.
#[macro_export]
macro_rules! log_debug {
    ($($arg:tt)*) => { $crate::log::debug(&::std::format!($($arg)*)) };
}

/// Logs a formatted message at info level: `log_info!("connected to {host}")`.
#[macro_export]
macro_rules! log_info {
    ($($arg:tt)*) => { $crate::log::info(&::std::format!($($arg)*)) };
}

/// Logs a formatted message at warn level: `log_warn!("retrying {host}")`.
#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)*) => { $crate::log::warn(&::std::format!($($arg)*)) };
}

/// Logs a formatted message at error level: `log_error!("{err}")`.
#[macro_export]
macro_rules! log_error {
    ($($arg:tt)*) => { $crate::log::error(&::std::format!($($arg)*)) };
}
