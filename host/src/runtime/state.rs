//! The per-call store state: an empty WASI context plus keeper's gates.
//!
//! Built fresh for every call, or for the steps of one record's rotation
//! (see [`super::plugin`]): no preopened
//! directories, no environment, no arguments, no inherited stdio (stdout
//! and stderr go to small in-memory pipes), secure random only, TCP and
//! HTTP only as the call's policy allows.

use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::capability::http::HttpPolicy;
use super::capability::http_client::HttpClient;
use super::capability::log::LogSink;
use super::capability::net::TcpPolicy;
use super::capability::process::ProcessGate;
use super::capability::ssh::SshGate;
use super::capability::{CallContext, Redactor};
use super::input::InputSource;
use super::limits::{Limits, MemoryLimiter};
use super::manifest::Capabilities;

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
                .filter_map(|o| super::capability::http::Origin::parse(o).ok())
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
