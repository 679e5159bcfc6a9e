//! MSP commands, with Commander's names, aliases and flags: msp-info (mi),
//! msp-down (md), msp-add (ma), msp-remove (mrm), msp-update (mu),
//! switch-to-mc, switch-to-msp, `enterprise-init`, which provisions an
//! MSP in the embedded vault, and `enterprise-rekey`, which replaces the
//! MSP admin's keys and the MSP's tree key.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Format;

/// The MSP commands (flattened into the top-level command list).
#[derive(Debug, Subcommand)]
pub enum MspCommand {
    /// Make this vault's tenant an MSP or a distributor, with you as its admin, from a licences file.
    EnterpriseInit(EnterpriseInitArgs),
    /// Replace your keys and master password and the MSP's tree key (an MSP admin a distributor
    /// provisioned must run it before anything else); the new password comes from
    /// KEEPER_NEW_MASTER_PASSWORD or a prompt.
    EnterpriseRekey,
    /// Display MSP details: licences and managed companies.
    #[command(name = "msp-info", visible_alias = "mi")]
    MspInfo(MspInfoArgs),
    /// Refresh the MSP data (re-read from the vault; there is no cloud).
    #[command(name = "msp-down", visible_alias = "md")]
    MspDown,
    /// Add a managed company.
    #[command(name = "msp-add", visible_alias = "ma")]
    MspAdd(MspAddArgs),
    /// Remove a managed company and everything in it.
    #[command(name = "msp-remove", visible_alias = "mrm")]
    MspRemove(MspRemoveArgs),
    /// Modify a managed company's licence.
    #[command(name = "msp-update", visible_alias = "mu")]
    MspUpdate(MspUpdateArgs),
    /// Act inside a managed company for the rest of this batch or shell.
    SwitchToMc {
        /// Managed company id (or name).
        mc: String,
    },
    /// Back to the MSP after switch-to-mc.
    SwitchToMsp,
}

/// `keeper enterprise-init`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["msp", "distributor"])))]
pub struct EnterpriseInitArgs {
    /// Make it the MSP NAME.
    #[arg(long, value_name = "NAME")]
    pub msp: Option<String>,
    /// Make it the distributor NAME, with the MSPs its file lists.
    #[arg(long, value_name = "NAME")]
    pub distributor: Option<String>,
    /// An MSP's licence pool, permits, nodes and existing companies, or a
    /// distributor's MSPs (TOML, or JSON by extension).
    #[arg(long, value_name = "FILE")]
    pub licences: PathBuf,
}

/// `keeper msp-info`.
#[derive(Debug, Args)]
pub struct MspInfoArgs {
    /// Display the MSP's price table (provisioned with the MSP; `msp-prices` replaces it).
    #[arg(short, long)]
    pub pricing: bool,
    /// Display the MSP's restrictions (permits).
    #[arg(short, long)]
    pub restriction: bool,
    /// Print details: node ids and names, plan codes, add-ons with seats
    /// (also `-v` / `--verbose` after `msp-info`, as Commander's).
    #[arg(long)]
    pub details: bool,
    /// Only this managed company (name or id); also `-mc`.
    #[arg(long, value_name = "NAME|ID")]
    pub managed_company: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write the listing to this file instead of the screen.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `keeper msp-add`.
#[derive(Debug, Args)]
pub struct MspAddArgs {
    /// Node name or id (default: the first root node).
    #[arg(long)]
    pub node: Option<String>,
    /// Maximum licences allowed; -1: unlimited.
    #[arg(short, long, allow_negative_numbers = true)]
    pub seats: Option<i64>,
    /// Licence plan: business, businessPlus, businessStarter, enterprise, enterprisePlus.
    #[arg(short, long, required = true)]
    pub plan: String,
    /// File storage plan: 100gb, 1tb, 10tb.
    #[arg(short, long)]
    pub file_plan: Option<String>,
    /// Add-on, ADDON[:SEATS] (seats for connection_manager, privileged_access_manager,
    /// keeper_endpoint_privilege_manager); repeatable.
    #[arg(short = 'a', long = "addon", value_name = "ADDON[:SEATS]")]
    pub addons: Vec<String>,
    /// Managed company name.
    pub name: String,
}

/// `keeper msp-remove`.
#[derive(Debug, Args)]
pub struct MspRemoveArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Managed company name or id.
    pub mc: String,
}

/// `keeper msp-update`.
#[derive(Debug, Args)]
pub struct MspUpdateArgs {
    /// Node name or id.
    #[arg(long)]
    pub node: Option<String>,
    /// New managed company name.
    #[arg(short, long)]
    pub name: Option<String>,
    /// Licence plan (also `--add-product`, as in Commander's documentation).
    #[arg(short, long, alias = "add-product")]
    pub plan: Option<String>,
    /// Maximum licences allowed; -1: unlimited.
    #[arg(short, long, allow_negative_numbers = true)]
    pub seats: Option<i64>,
    /// File storage plan: 100gb, 1tb, 10tb.
    #[arg(short, long)]
    pub file_plan: Option<String>,
    /// Add or replace an add-on, ADDON[:SEATS]; also `-aa`; repeatable.
    #[arg(long = "add-addon", value_name = "ADDON[:SEATS]")]
    pub add_addons: Vec<String>,
    /// Remove an add-on; also `-ra`; repeatable.
    #[arg(long = "remove-addon", value_name = "ADDON")]
    pub remove_addons: Vec<String>,
    /// Managed company name or id.
    pub mc: String,
}
