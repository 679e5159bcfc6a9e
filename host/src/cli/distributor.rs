//! `distributor` (`ds`), Commander's group for a distributor's admin:
//! `info` (`i`, the default), `msp-info` (`mi`) and `license` (`l`).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::Format;

/// `keeper distributor [info|msp-info|license]`; alone, `info`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DistributorNamespace {
    /// The subcommand (default: info).
    #[command(subcommand)]
    pub command: Option<DistributorCommand>,
    /// `info`'s options, for `distributor` alone.
    #[command(flatten)]
    pub info: DistributorInfoArgs,
}

/// The distributor subcommands.
#[derive(Debug, Subcommand)]
pub enum DistributorCommand {
    /// List the MSPs (and with --mc-details their managed companies).
    #[command(visible_alias = "i")]
    Info(DistributorInfoArgs),
    /// One MSP's managed companies.
    #[command(name = "msp-info", visible_alias = "mi")]
    MspInfo(DistributorMspInfoArgs),
    /// Show or change what MSPs may give: products, add-ons, file plan, unlimited seats.
    #[command(visible_alias = "l")]
    License(DistributorLicenseArgs),
}

/// `distributor info`.
#[derive(Debug, Args)]
pub struct DistributorInfoArgs {
    /// A row per managed company under its MSP's.
    #[arg(long)]
    pub mc_details: bool,
    /// Options of every report.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `distributor msp-info`.
#[derive(Debug, Args)]
pub struct DistributorMspInfoArgs {
    /// Options of every report.
    #[command(flatten)]
    pub report: ReportArgs,
    /// MSP name or id.
    pub msp: String,
}

/// The options `info` and `msp-info` share.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Re-read the MSPs (they are always read from the vault).
    #[arg(long)]
    pub reload: bool,
    /// Names in full, add-ons with seats (also `-v` / `--verbose` after `distributor`).
    #[arg(long)]
    pub details: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write the report to FILE (created readable by its owner only) instead of the screen.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `on` / `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Allowed.
    On,
    /// Not allowed.
    Off,
}

/// `distributor license`.
#[derive(Debug, Args)]
pub struct DistributorLicenseArgs {
    /// Allow MSPs to give a product (plan); repeatable.
    #[arg(long, value_name = "PRODUCT")]
    pub add_product: Vec<String>,
    /// Stop MSPs giving a product; repeatable.
    #[arg(long, value_name = "PRODUCT")]
    pub remove_product: Vec<String>,
    /// Allow MSPs to give an add-on; repeatable.
    #[arg(long, value_name = "ADDON")]
    pub add_addon: Vec<String>,
    /// Stop MSPs giving an add-on; repeatable.
    #[arg(long, value_name = "ADDON")]
    pub remove_addon: Vec<String>,
    /// The largest file plan MSPs may give: 100GB, 1TB, 10TB, or none (no limit).
    #[arg(long, value_name = "PLAN")]
    pub max_file_plan: Option<String>,
    /// Whether MSPs may give unlimited licences.
    #[arg(long, value_enum)]
    pub allocate_unlimited: Option<OnOff>,
    /// Lift every restriction: MSPs may give every product, add-on and file plan, and
    /// unlimited licences (their `msp-info -r`: no restrictions). Takes no other change.
    #[arg(long)]
    pub lift_restrictions: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// MSPs: id, name, or name pattern (`*`, `?`, `[…]`; any case).
    pub msp: Vec<String>,
}
