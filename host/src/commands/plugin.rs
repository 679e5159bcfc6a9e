//! `keeper plugin ...` (being written).
use crate::cli::PluginCommand;
use crate::context::Context;
use std::process::ExitCode;
pub(crate) async fn run(_ctx: &Context, _cmd: PluginCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("plugin commands are being written")
}
