//! MSP billing commands: msp-billing-report, msp-legacy-report,
//! msp-prices, and msp-info --pricing. They read the ledger and the price
//! table through `crate::enterprise` and print with
//! [`crate::output::report`]; only an MSP admin gets past [`Msp::of`].

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use serde_json::json;

use super::vault::unlock;
use crate::automation::Unlocked;
use crate::cli::Format;
use crate::cli::msp_reports::{BillingReportArgs, LegacyReportArgs, MspReportCommand};
use crate::context::Context;
use crate::enterprise::billing::{self, Breakdown, Month};
use crate::enterprise::clock;
use crate::enterprise::legacy;
use crate::enterprise::pricing::{self, PriceTable};
use crate::enterprise::{Msp, state::MspState};
use crate::output::report::Report;
use crate::vault::Vault;

/// Runs one billing command.
///
/// # Errors
///
/// Refusals (bad month or range, not an MSP admin); nothing is changed.
pub(crate) fn run(ctx: &Context, cmd: MspReportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        MspReportCommand::MspBillingReport(a) => billing_report(ctx, &a)?,
        MspReportCommand::MspLegacyReport(a) => legacy_report(ctx, &a)?,
        MspReportCommand::MspPrices { file } => {
            let table = pricing::read_file(&file)?;
            let mut vault = unlock(ctx)?;
            let msp = Msp::of(&vault)?;
            msp.set_prices(&mut vault, &table)?;
            println!(
                "MSP \"{}\": price table replaced ({} prices)",
                msp.name,
                table.prices.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Current company names by id (for ledger events written without one).
fn names(state: &MspState) -> HashMap<i64, String> {
    state
        .companies
        .iter()
        .map(|c| (c.enterprise_id, c.name.clone()))
        .collect()
}

/// The MSP, its state and its prices.
fn open(ctx: &Context) -> anyhow::Result<(Unlocked<'_>, Msp, MspState, Option<PriceTable>)> {
    let vault = unlock(ctx)?;
    let msp = Msp::of(&vault)?;
    let state = msp.state(&vault)?;
    let prices = msp.prices(&vault)?;
    Ok((vault, msp, state, prices))
}

fn billing_report(ctx: &Context, a: &BillingReportArgs) -> anyhow::Result<()> {
    let now = clock::now_ms();
    let month = match &a.month {
        Some(text) => Month::parse(text).map_err(anyhow::Error::msg)?,
        None => Month::previous(now),
    };
    let (vault, msp, state, prices) = open(ctx)?;
    let ledger = vault
        .store_read()
        .billing_events_in(&msp.uid, i64::MIN, month.end())?;
    let breakdown = Breakdown {
        by_date: a.show_date,
        by_company: a.show_company,
    };
    let report = billing::report(
        &ledger,
        month,
        now,
        breakdown,
        prices.as_ref(),
        &names(&state),
    )
    .map_err(anyhow::Error::msg)?;
    let mut fields: Vec<&str> = Vec::new();
    let mut titles: Vec<&str> = Vec::new();
    let mut column = |field, title| {
        fields.push(field);
        titles.push(title);
    };
    if a.show_date {
        column("date", "Date");
    }
    if a.show_company {
        column("company", "Company");
        column("company_id", "Company ID");
    }
    column("product", "Product");
    column("licenses", "Licenses");
    column("rate", "Rate");
    if !a.show_date {
        column("avg_per_day", "Avg Per Day");
        column("initial_licenses", "Initial Licenses");
        column("final_licenses", "Final Licenses");
        column("max_licenses", "Max Licenses");
    }
    let rows: Vec<Vec<String>> = report
        .lines
        .iter()
        .map(|l| {
            let mut row = Vec::new();
            row.extend(l.date.clone());
            if a.show_company {
                row.push(l.company.clone().unwrap_or_default());
                row.push(l.company_id.map_or_else(String::new, |i| i.to_string()));
            }
            row.extend([l.product.clone(), l.licenses.to_string(), l.rate.clone()]);
            if let Some(avg) = l.avg_per_day {
                row.extend([
                    format!("{avg:.2}"),
                    l.initial_licenses.unwrap_or(0).to_string(),
                    l.final_licenses.unwrap_or(0).to_string(),
                    l.max_licenses.unwrap_or(0).to_string(),
                ]);
            }
            row
        })
        .collect();
    Report {
        title: Some(&report.title),
        titles: &titles,
        fields: &fields,
        rows: &rows,
        json: &report.lines,
        row_numbers: false,
    }
    .emit(a.format, a.output.as_deref())
}

fn legacy_report(ctx: &Context, a: &LegacyReportArgs) -> anyhow::Result<()> {
    let now = clock::now_ms();
    let span = match (&a.range, &a.from, &a.to) {
        (_, Some(from), Some(to)) => legacy::between(from, to),
        (range, _, _) => legacy::range(range.as_deref().unwrap_or("last_30_days"), now),
    }
    .map_err(anyhow::Error::msg)?;
    let (vault, msp, state, prices) = open(ctx)?;
    let ledger = vault
        .store_read()
        .billing_events_in(&msp.uid, span.from, span.to)?;
    let rows = legacy::adjustments(&ledger, prices.as_ref(), &names(&state));
    let fields = [
        "id",
        "time",
        "company_id",
        "company_name",
        "status",
        "number_of_allocations",
        "plan",
        "transaction_notes",
        "price_estimate",
    ];
    let titles = [
        "ID",
        "Time",
        "Company ID",
        "Company Name",
        "Status",
        "Number Of Allocations",
        "Plan",
        "Transaction Notes",
        "Price Estimate",
    ];
    let text: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.time.clone(),
                r.company_id.to_string(),
                r.company_name.clone(),
                r.status.clone(),
                r.number_of_allocations.to_string(),
                r.plan.clone(),
                r.transaction_notes.clone(),
                r.price_estimate.clone(),
            ]
        })
        .collect();
    Report {
        title: Some("MSP Legacy Report"),
        titles: &titles,
        fields: &fields,
        rows: &text,
        json: &rows,
        row_numbers: false,
    }
    .emit(a.format, a.output.as_deref())
}

/// `msp-info -p`: the price table, or a message that there is none.
pub(crate) fn pricing(
    vault: &Vault,
    msp: &Msp,
    format: Format,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let Some(table) = msp.prices(vault)? else {
        bail!(
            "MSP \"{}\" has no price table: provision one with `[[prices]]` in the licences file \
             of enterprise-init, or `keeper msp-prices FILE` (see docs/msp.md)",
            msp.name
        );
    };
    let rows: Vec<Vec<String>> = table
        .prices
        .iter()
        .map(|p| {
            vec![
                p.category.title().to_string(),
                p.name().to_string(),
                p.code.clone(),
                p.text(),
            ]
        })
        .collect();
    let json: Vec<serde_json::Value> = table
        .prices
        .iter()
        .map(|p| {
            json!({"category": p.category.title(), "name": p.name(), "code": p.code,
                   "price": p.text()})
        })
        .collect();
    Report {
        title: Some("MSP Pricing"),
        titles: &["Category", "Name", "Code", "Price"],
        fields: &["category", "name", "code", "price"],
        rows: &rows,
        json: &json,
        row_numbers: true,
    }
    .emit(format, output)
}
