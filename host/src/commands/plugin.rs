//! `keeper plugin ...` (being written).
use std::process::ExitCode;
use crate::cli::PluginCommand;
use crate::context::Context;
pub(crate) async fn run(_ctx: &Context, _cmd: PluginCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("plugin commands are being written")
}
