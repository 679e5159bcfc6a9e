//! What the command line asks of a rotation ([`Options`]).

use std::time::Duration;

use secrecy::SecretString;

use super::params::{Overrides, Resolved};

/// What the command line asks for.
#[derive(Clone, Default)]
pub struct Options {
    /// `--plugin`, `--host`, `--port`.
    pub overrides: Overrides,
    /// `--rules` (overrides `cmdr:rules`).
    pub rules: Option<String>,
    /// `--length` (overrides `cmdr:length` and the rules' length).
    pub length: Option<usize>,
    /// `--password`: use this instead of generating one.
    pub password: Option<SecretString>,
    /// `--accept-host-key`: trust an SSH host seen for the first time.
    pub accept_host_key: bool,
    /// `--resume`: only resolve a pending rotation, never start one.
    pub resume_only: bool,
    /// `--wait`: how long to wait for a record another process is
    /// rotating; `None` reports it busy at once.
    pub wait: Option<Duration>,
    /// The shortest new password accepted (`--min-length`, the config's
    /// `rotation_min_length`); `None` is [`super::password::MIN_LENGTH`].
    pub min_length: Option<usize>,
}

/// The length asked for (`--length`, else the record's `cmdr:length`),
/// with where it came from.
pub(super) fn requested_length(
    options: &Options,
    resolved: &Resolved,
) -> Option<(usize, &'static str)> {
    options
        .length
        .map(|n| (n, "--length"))
        .or(resolved.length.map(|n| (n, "the record's cmdr:length")))
}
