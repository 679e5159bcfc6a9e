//! Host capabilities and the policy that gates them, one file per capability
//! (`input` is the importers' source), and the per-call store state that
//! holds them.
//!
//! A call gets exactly: the manifest's capabilities ∩ what the user granted
//! at install ∩ what the current call allows (the record's pinned target,
//! the origins the host chose). `LoadedPlugin` holds the first intersection
//! (`effective`); [`CallContext`] carries the per-call part.
//!
//! [`PluginState`] is what a call's `Store` holds: an empty WASI context
//! plus keeper's gates. It is built fresh for every call, or for the steps
//! of one record's rotation (see [`super::plugin`]): no preopened
//! directories, no environment, no arguments, no inherited stdio (stdout
//! and stderr go to small in-memory pipes), secure random only, TCP and
//! HTTP only as the call's policy allows. Each capability's file
//! implements its WIT interface on it.

pub mod http;
pub mod http_client;
pub mod input;
pub mod log;
pub mod net;
pub mod origin;
pub mod process;
pub mod ssh;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use http::HttpPolicy;
use http_client::HttpClient;
use input::InputSource;
use log::LogSink;
pub use net::PinnedTarget;
use net::TcpPolicy;
use process::ProcessGate;
use ssh::SshGate;

use super::limits::{Limits, MemoryLimiter};
use super::manifest::Capabilities;
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
    pub http_origins: Option<Vec<origin::Origin>>,
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

/// Everything a plugin call's `Store` holds.
pub struct PluginState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) http_ctx: WasiHttpCtx,
    pub(crate) http: HttpPolicy,
    pub(crate) tcp: TcpPolicy,
    pub(crate) ssh: SshGate,
    pub(crate) process: ProcessGate,
    pub(crate) log: LogSink,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) stdout: MemoryOutputPipe,
    pub(crate) stderr: MemoryOutputPipe,
    pub(crate) redactor: Redactor,
    pub(crate) input: Option<InputSource>,
    pub(crate) deadline: Instant,
}

impl PluginState {
    /// The state for one call of plugin `id` with `effective` capabilities.
    pub(crate) fn new(
        id: &str,
        effective: &Capabilities,
        limits: &Limits,
        call: CallContext,
        input: Option<InputSource>,
        http_client: &HttpClient,
    ) -> Self {
        let target = call.target.as_ref().map(|t| t.address);
        let ssh = SshGate::new(effective.ssh, target)
            .with_host_keys(call.target.as_ref().map(|t| t.host.clone()), call.ssh);
        let tcp = TcpPolicy::new(if effective.tcp { target } else { None });
        let origins = match call.http_origins {
            Some(origins) => origins,
            None => effective
                .http
                .iter()
                .filter_map(|o| origin::Origin::parse(o).ok())
                .collect(),
        };
        let http = HttpPolicy::new(if effective.http.is_empty() {
            Vec::new()
        } else {
            origins
        })
        .with_cache(call.http_cache, id)
        .with_client(http_client.clone());
        let stdout = MemoryOutputPipe::new(limits.output_bytes);
        let stderr = MemoryOutputPipe::new(limits.output_bytes);

        let mut builder = WasiCtxBuilder::new();
        builder.stdout(stdout.clone()).stderr(stderr.clone());
        tcp.install(&mut builder);

        Self {
            wasi: builder.build(),
            table: ResourceTable::new(),
            http_ctx: WasiHttpCtx::new(),
            http,
            tcp,
            ssh,
            process: ProcessGate::new(effective.process.clone(), call.program_paths),
            log: LogSink::new(id.to_string(), limits.log_bytes),
            limiter: MemoryLimiter::new(limits.memory_bytes),
            stdout,
            stderr,
            redactor: Redactor::new(&call.secrets),
            input,
            deadline: Instant::now() + limits.timeout,
        }
    }

    /// Time left before the call's deadline.
    pub(crate) fn remaining(&self) -> std::time::Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http_ctx,
            table: &mut self.table,
            hooks: &mut self.http,
        }
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
