//! What each command does. One module per command group; functions here
//! return `anyhow::Result` and print through [`crate::output`].

mod automation;
mod distributor;
mod login;
mod msp;
mod msp_reports;
mod plugin;
mod profile_setup;
mod profiles;
mod roles;
mod rotate;
mod vault;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

use crate::cli::Command;
use crate::cli::automation::AutomationCommand;
use crate::context::Context;

/// Runs this invocation: the config's `commands`, then `command` (a
/// command, a batch file, stdin, a quoted line, the shell, or nothing).
///
/// # Errors
///
/// Any failure of the command, with context for the user.
pub async fn run(ctx: Context, command: Option<Command>) -> anyhow::Result<ExitCode> {
    automation::start(ctx, command).await
}

/// Runs one parsed command in `ctx` (boxed: `run-batch` runs commands).
pub(crate) fn dispatch(
    ctx: &Context,
    command: Command,
) -> Pin<Box<dyn Future<Output = anyhow::Result<ExitCode>> + '_>> {
    Box::pin(async move {
        match command {
            Command::Plugin(ns) => plugin::run(ctx, ns.command).await,
            Command::Rotate(args) => rotate::run(ctx, args).await,
            Command::AuditLog(args) => rotate::audit_log(ctx, args),
            Command::Vault(cmd) => vault::run(ctx, cmd),
            Command::SecretsManager(ns) => vault::secrets_manager(ctx, ns.command),
            Command::Profile(ns) => profiles::profile(ctx, ns.command),
            Command::Secret(ns) => profiles::secret(ctx, ns.command),
            Command::Exec(args) => profiles::exec(ctx, args).await,
            Command::Automation(cmd) => match cmd {
                AutomationCommand::RunBatch(args) => automation::run_batch(ctx, &args).await,
                AutomationCommand::Sleep { seconds } => automation::sleep(seconds).await,
                AutomationCommand::Set { name, value } => {
                    automation::set(ctx, name.as_deref(), value.as_deref())
                }
                AutomationCommand::Login { email } => login::login(ctx, email.as_deref()),
                AutomationCommand::Logout => login::logout(ctx),
                AutomationCommand::Whoami { format } => login::whoami(ctx, format),
                AutomationCommand::ThisDevice(args) => login::this_device(ctx, &args),
                AutomationCommand::ChangeMasterPassword => login::change_master_password(ctx),
                AutomationCommand::Shell => anyhow::bail!("`shell` cannot run here"),
            },
            Command::Msp(cmd) => msp::run(ctx, cmd),
            Command::Distributor(ns) => distributor::run(ctx, ns),
            Command::Roles(cmd) => roles::run(ctx, cmd),
            Command::MspReports(cmd) => msp_reports::run(ctx, cmd),
            Command::External(args) => {
                let name = args.first().map(|a| a.to_string_lossy().into_owned());
                anyhow::bail!("unknown command {:?}", name.unwrap_or_default())
            }
        }
    })
}

/// Prints an error as `main` does (`error: ...: cause`).
pub fn print_error(err: &anyhow::Error) {
    eprintln!("error: {err:#}");
}
