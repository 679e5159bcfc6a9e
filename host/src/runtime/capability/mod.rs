//! Host capabilities and the policy that gates them, one file per capability.
//!
//! A call gets exactly: the manifest's capabilities ∩ what the user granted
//! at install ∩ what the current call allows (the record's pinned target,
//! the origins the host chose). `LoadedPlugin` holds the first intersection
//! (`effective`); [`CallContext`] carries the per-call part.

pub mod http;
pub mod http_client;
pub mod log;
pub mod net;
pub mod process;
pub mod ssh;

use std::collections::HashMap;
use std::path::PathBuf;

pub use net::PinnedTarget;

pub use super::redact::Redactor;

/// What one plugin call may reach beyond the plugin's effective capabilities.
#[derive(Default)]
pub struct CallContext {
    /// The record's target, resolved and pinned by the host. TCP and SSH go
    /// only here; without one, TCP and SSH are denied.
    pub target: Option<PinnedTarget>,
    /// Secrets of this call (passwords...): redacted from everything the
    /// plugin logs, prints or returns as an error message.
    pub secrets: Vec<zeroize::Zeroizing<String>>,
    /// Replaces the granted HTTP origins for this call (e.g. `--lastpass-server`).
    /// The host decides this, never the plugin.
    pub http_origins: Option<Vec<http::Origin>>,
    /// Explicit locations of granted programs (e.g. `cmdr:pspasswd_path`).
    pub program_paths: HashMap<String, PathBuf>,
    /// Host-key checking for SSH sessions (known_hosts, accept-new, pin).
    pub ssh: ssh::SshSettings,
    /// Where cacheable HTTP answers are kept (`import --file-cache`); see
    /// [`http`]. The host decides this, never the plugin.
    pub http_cache: Option<PathBuf>,
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("target", &self.target)
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("http_origins", &self.http_origins)
            .field("program_paths", &self.program_paths)
            .field("ssh", &self.ssh)
            .field("http_cache", &self.http_cache)
            .finish()
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes cut]", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h… [5 bytes cut]");
        assert_eq!(truncate("short", 10), "short");
    }
}
