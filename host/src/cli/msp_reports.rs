//! MSP billing commands, with Commander's names, aliases and flags:
//! msp-billing-report (mbr), msp-legacy-report (mlr), and keeper's
//! msp-prices, which replaces the price table `msp-info -p` shows.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Format;

/// The billing commands (flattened into the top-level command list).
#[derive(Debug, Subcommand)]
pub enum MspReportCommand {
    /// Generate the MSP's consumption billing report for a month.
    #[command(name = "msp-billing-report", visible_alias = "mbr")]
    MspBillingReport(BillingReportArgs),
    /// Generate the MSP's legacy report: licence adjustments in a time range.
    #[command(name = "msp-legacy-report", visible_alias = "mlr")]
    MspLegacyReport(LegacyReportArgs),
    /// Replace the MSP's price table with a file's `[[prices]]` (TOML, or JSON by extension).
    #[command(name = "msp-prices")]
    MspPrices {
        /// The file.
        file: PathBuf,
    },
}

/// `keeper msp-billing-report`.
#[derive(Debug, Args)]
pub struct BillingReportArgs {
    /// Month for the billing report, YYYY-MM (default: the previous month).
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// Breakdown report by date.
    #[arg(short = 'd', long)]
    pub show_date: bool,
    /// Breakdown report by managed company.
    #[arg(short = 'c', long)]
    pub show_company: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write the report to this file instead of the screen.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `keeper msp-legacy-report`.
#[derive(Debug, Args)]
pub struct LegacyReportArgs {
    /// Pre-defined date range: today, yesterday, last_7_days, last_30_days (default),
    /// month_to_date, last_month, year_to_date, last_year.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub range: Option<String>,
    /// Start date, YYYY-MM-DD or a unix timestamp (with --to).
    #[arg(long, value_name = "DATE", requires = "to")]
    pub from: Option<String>,
    /// End date, YYYY-MM-DD (through 23:59:59) or a unix timestamp (with --from).
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write the report to this file instead of the screen.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}
