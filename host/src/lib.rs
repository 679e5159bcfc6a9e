//! keeper: an encrypted vault host whose rotation and importer backends are
//! sandboxed WebAssembly components.
//!
//! # Brief overview
//!
//! - `cli`: clap definitions, one file per command group.
//! - `commands`: what each command does (anyhow at this layer only).
//! - `runtime`: the plugin sandbox: manifests, policy, limits, cache.
//! - `rotation`: password generation and the staged rotation protocol.
//! - `enterprise`: MSPs and their managed companies, licences, the billing ledger.
//! - `import`: Keeper JSON, importer plugins, matching and part-by-part runs.
//! - `ssh`: the pure-Rust SSH client behind the plugins' `ssh` capability.
//! - `vault`: the encrypted vault: storage, keys, records, folders, users.
//! - `context`: data directory, configuration and the process's login.
//! - `config`: `config.json` (Commander's keys), found, checked, written 0600.
//! - `automation`: batch files, stdin, the shell, `run-batch`, variables.
//! - `login`: persistent login and `this-device`.
//! - `output`: table / JSON / CSV printing.
//! - `profiles`: Secrets Manager device profiles (keeper.ini), notation.
//!
//! Every module is private to the crate: the binary's one entry point is
//! [`main`]. keeper's own end-to-end tests and benchmarks reach what they
//! need through the hidden `testing` module. `docs/ARCHITECTURE.md` shows
//! the layers and how data flows through them.

#![deny(missing_docs)]

pub(crate) mod automation;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod enterprise;
pub(crate) mod import;
pub(crate) mod login;
pub(crate) mod output;
pub(crate) mod profiles;
pub(crate) mod rotation;
pub(crate) mod runtime;
pub(crate) mod ssh;
pub(crate) mod vault;

#[doc(hidden)]
pub mod testing;

use std::process::ExitCode;

use clap::Parser;

/// Runs the `keeper` command line and returns its exit code.
///
/// Exit code 0 only on success; errors are printed with their causes.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse_from(cli::commander_args(std::env::args_os()));
    let ctx = match context::Context::from_args(&cli.global) {
        Ok(ctx) => ctx,
        Err(err) => {
            init_logging(cli.global.verbose);
            commands::print_error(&err);
            return ExitCode::FAILURE;
        }
    };
    init_logging(if ctx.options.debug {
        cli.global.verbose.max(2)
    } else {
        cli.global.verbose
    });
    for warning in &ctx.config_warnings {
        eprintln!("warning: {warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::run(ctx, cli.command));
    // A native plugin call that overran its limit cannot be stopped and is
    // abandoned on its thread; dropping the runtime would wait for it
    // forever, so keeper waits only briefly for what is left.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`keeper plugin list | head`) is not an error.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            commands::print_error(&err);
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,keeper=debug",
        _ => "debug,keeper=trace,cranelift_codegen=info,wasmtime=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEEPER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: a log file or pipe gets plain lines.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
