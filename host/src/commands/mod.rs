//! What each command does. One module per command group; functions here
//! return `anyhow::Result` and print through [`crate::output`].

mod plugin;
mod rotate;
mod vault;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::context::Context;

/// Runs one parsed command line.
///
/// # Errors
///
/// Any failure of the command, with context for the user.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Context::from_args(&cli.global)?;
    match cli.command {
        Command::Plugin(ns) => plugin::run(&ctx, ns.command).await,
        Command::Rotate(args) => rotate::run(&ctx, args).await,
        Command::AuditLog(args) => rotate::audit_log(&ctx, args),
        Command::Vault(cmd) => vault::run(&ctx, cmd),
    }
}
