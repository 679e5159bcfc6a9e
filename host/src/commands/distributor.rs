//! `distributor` (`ds`): info, msp-info, license, with Commander's columns
//! (without its bug that writes PAM seats into the KCM column), and
//! `enterprise-init --distributor`. They parse, call
//! `crate::enterprise::distributor` and print; only a distributor's admin
//! gets past [`Distributor::of`].

use std::process::ExitCode;

use serde::Serialize;

use super::vault::{new_kdf_params, new_user_password, unlock};
use crate::cli::distributor::{
    DistributorCommand, DistributorInfoArgs, DistributorLicenseArgs, DistributorMspInfoArgs,
    DistributorNamespace, OnOff, ReportArgs,
};
use crate::cli::msp::EnterpriseInitArgs;
use crate::context::Context;
use crate::enterprise::distributor::Distributor;
use crate::enterprise::distributor::permits::{MaxFilePlan, PermitEdits};
use crate::enterprise::distributor::provision::{self, DistributorPlan};
use crate::enterprise::distributor::view::{
    AbovePermit, AddonView, McView, MspView, addon_column, cut, file_plan_display, other_addons,
    plan_display, seats_column, short,
};
use crate::enterprise::model;
use crate::output::report::Report;

/// Runs one `distributor` command.
///
/// # Errors
///
/// Refusals (not a distributor's admin, an unknown MSP, product, add-on
/// or file plan); nothing is changed then.
pub(crate) fn run(ctx: &Context, ns: DistributorNamespace) -> anyhow::Result<ExitCode> {
    match ns.command {
        None => info(ctx, &ns.info)?,
        Some(DistributorCommand::Info(a)) => info(ctx, &a)?,
        Some(DistributorCommand::MspInfo(a)) => msp_info(ctx, &a)?,
        Some(DistributorCommand::License(a)) => license(ctx, &a)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `enterprise-init --distributor NAME --licences FILE`.
pub(crate) fn init(ctx: &Context, a: &EnterpriseInitArgs) -> anyhow::Result<ExitCode> {
    let name = a.distributor.as_deref().unwrap_or_default();
    let plan = DistributorPlan::read(&a.licences)?;
    let mut vault = unlock(ctx)?;
    // Refused before any password is asked for.
    let prepared = provision::prepare(&vault, name, &plan)?;
    let passwords = prepared
        .admins()
        .iter()
        .map(|email| new_user_password(ctx, email))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let made = provision::init(&mut vault, &prepared, &passwords, &new_kdf_params())?;
    if made.existed {
        println!(
            "Distributor \"{}\" (ID={}): {} MSPs added",
            made.name,
            made.id,
            made.msps.len()
        );
    } else {
        println!(
            "Distributor \"{}\" created. ID={}; admin: {}; {} MSPs",
            made.name,
            made.id,
            made.admin,
            made.msps.len()
        );
    }
    for skipped in &prepared.skipped {
        println!("MSP \"{skipped}\" already exists: Skipping");
    }
    for (id, name, admin) in &made.msps {
        println!("MSP \"{name}\" created. ID={id}; admin: {admin}");
    }
    if !made.msps.is_empty() {
        eprintln!(
            "warning: you chose the master password of each new MSP admin: until they re-key, you (or \
             anyone who knows it) can log in as them and open their MSP and every company it runs. \
             Each must run `keeper enterprise-rekey` (every other command refuses them until they \
             do): it gives them new keys and a new master password and the MSP a new tree key, so \
             what you know or kept opens nothing of the MSP afterwards, except the companies made \
             before it (listed in this file), whose own keys can only be re-wrapped; see docs/msp.md, \
             \"Re-key an MSP\"."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints `rows` under `titles` as Commander's `dump_report_data` with
/// `row_number=True`: a table numbers its rows in a first `#` column, CSV
/// and JSON carry the data only; `--output` writes the report to a file
/// (0600) and prints nothing, as `msp-info` does.
fn report<T: Serialize>(
    args: &ReportArgs,
    titles: &[&str],
    rows: &[Vec<String>],
    json: &T,
) -> anyhow::Result<()> {
    Report {
        title: None,
        titles,
        // Commander's CSV headers are the table's titles.
        fields: titles,
        rows,
        json,
        row_numbers: true,
    }
    .emit(args.format, args.output.as_deref())
}

fn info(ctx: &Context, a: &DistributorInfoArgs) -> anyhow::Result<()> {
    let vault = unlock(ctx)?;
    let distributor = Distributor::of(&vault)?;
    let msps = distributor.msps(&vault)?;
    let mut headers = vec!["ID", "MSP Name", "# MC's"];
    if a.mc_details {
        headers.extend(["MC Name", "Plan", "Storage", "Total Licenses"]);
    } else {
        headers.extend(["Unlimited allowed", "Allowed Addons"]);
    }
    headers.extend([
        "Licenses used",
        "KSM",
        "KCM",
        "PAM",
        "Addons",
        ABOVE_PERMITS,
    ]);
    let mut rows = Vec::new();
    for msp in &msps {
        let name = cut(&msp.enterprise_name, a.report.details);
        let mut row = vec![
            msp.enterprise_id.to_string(),
            name.clone(),
            msp.managed_companies.len().to_string(),
        ];
        if a.mc_details {
            row.extend([String::new(), String::new(), String::new(), String::new()]);
        } else {
            row.push(
                if msp.allow_unlimited_licenses {
                    "Allowed"
                } else {
                    "Not Allowed"
                }
                .into(),
            );
            let allowed: Vec<String> = msp.allowed_add_ons.iter().map(|c| short(c)).collect();
            row.push(allowed.join("\n"));
        }
        row.extend(addon_columns(
            msp.allocated_licenses.to_string(),
            &msp.add_ons,
        ));
        row.push(msp.companies_above_permits.to_string());
        rows.push(row);
        if a.mc_details {
            for mc in &msp.managed_companies {
                let mut row = vec![
                    mc.mc_enterprise_id.to_string(),
                    name.clone(),
                    String::new(),
                    cut(&mc.mc_enterprise_name, a.report.details),
                    plan_display(&mc.product_id),
                    file_plan_display(mc.file_plan_type.as_deref()),
                    seats_column(mc.number_of_seats),
                ];
                row.extend(addon_columns(used(mc), &mc.add_ons));
                row.push(above_permits(mc));
                rows.push(row);
            }
        }
    }
    report(&a.report, &headers, &rows, &msps)
}

/// `Licenses used`, then the KSM, KCM, PAM and other add-on columns.
fn addon_columns(used: String, addons: &[AddonView]) -> [String; 5] {
    [
        used,
        addon_column(addons, "secrets_manager"),
        addon_column(addons, model::CONNECTION_MANAGER),
        addon_column(addons, "privileged_access_manager"),
        other_addons(addons).join("\n"),
    ]
}

/// keeper's own column: on an MSP's row the number of its companies that
/// have something its permits do not allow, on a company's row what.
const ABOVE_PERMITS: &str = "Above Permits";

/// What a company has that its MSP's permits do not allow, a line each.
fn above_permits(mc: &McView) -> String {
    let lines: Vec<String> = mc.above_permits.iter().map(AbovePermit::text).collect();
    lines.join("\n")
}

/// A company's users, `-` when it is paused (expired).
fn used(mc: &McView) -> String {
    if mc.is_expired {
        "-".into()
    } else {
        mc.number_of_users.to_string()
    }
}

fn msp_info(ctx: &Context, a: &DistributorMspInfoArgs) -> anyhow::Result<()> {
    let vault = unlock(ctx)?;
    let distributor = Distributor::of(&vault)?;
    let msp = distributor.msp(&vault, &a.msp)?;
    let headers = [
        "ID",
        "MC Name",
        "Node ID",
        "Plan",
        "Storage",
        "Addons",
        "Allocated",
        "Active",
        ABOVE_PERMITS,
    ];
    let rows: Vec<Vec<String>> = msp
        .managed_companies
        .iter()
        .map(|mc| {
            let addons = if a.report.details {
                let mut list: Vec<String> = mc
                    .add_ons
                    .iter()
                    .map(|x| {
                        let name = short(&x.name);
                        if x.seats > 0 {
                            format!("{name} ({})", seats_column(x.seats))
                        } else {
                            name
                        }
                    })
                    .collect();
                list.sort();
                list.join("\n")
            } else {
                mc.add_ons.len().to_string()
            };
            vec![
                mc.mc_enterprise_id.to_string(),
                cut(&mc.mc_enterprise_name, a.report.details),
                mc.msp_node_id.to_string(),
                plan_display(&mc.product_id),
                file_plan_display(mc.file_plan_type.as_deref()),
                addons,
                seats_column(mc.number_of_seats),
                used(mc),
                above_permits(mc),
            ]
        })
        .collect();
    report(&a.report, &headers, &rows, &msp)
}

fn license(ctx: &Context, a: &DistributorLicenseArgs) -> anyhow::Result<()> {
    let mut vault = unlock(ctx)?;
    let distributor = Distributor::of(&vault)?;
    let edits = PermitEdits {
        add_products: a.add_product.clone(),
        remove_products: a.remove_product.clone(),
        add_addons: a.add_addon.clone(),
        remove_addons: a.remove_addon.clone(),
        max_file_plan: a.max_file_plan.as_deref().map(MaxFilePlan::parse),
        allocate_unlimited: a.allocate_unlimited.map(|o| o == OnOff::On),
        lift_restrictions: a.lift_restrictions,
    };
    let done = distributor.license(&mut vault, &a.msp, &edits)?;
    if done.ignored {
        eprintln!(
            "warning: Changes to MSP configuration will be ignored.\nPass MSP ID, name, or name search pattern."
        );
    }
    let msps: Vec<MspView> = distributor
        .msps(&vault)?
        .into_iter()
        .filter(|m| done.selected.is_empty() || done.selected.contains(&m.enterprise_id))
        .collect();
    let headers = [
        "MSP ID",
        "MSP Name",
        "Unlimited Allowed",
        "Allowed Products",
        "Allowed Addons",
        "Max File Plan",
    ];
    let rows: Vec<Vec<String>> = msps
        .iter()
        .map(|m| {
            let products: Vec<String> = m
                .allowed_mc_products
                .iter()
                .map(|c| format!("{c} ({})", plan_display(c)))
                .collect();
            let addons: Vec<String> = m
                .allowed_add_ons
                .iter()
                .map(|c| format!("{c} ({})", short(c)))
                .collect();
            vec![
                m.enterprise_id.to_string(),
                m.enterprise_name.clone(),
                m.allow_unlimited_licenses.to_string(),
                products.join("\n"),
                addons.join("\n"),
                file_plan_display(m.max_file_plan_type.as_deref()),
            ]
        })
        .collect();
    let json: Vec<serde_json::Value> = msps
        .iter()
        .map(|m| {
            serde_json::json!({
                "enterprise_id": m.enterprise_id,
                "enterprise_name": m.enterprise_name,
                "allow_unlimited_licenses": m.allow_unlimited_licenses,
                "allowed_mc_products": m.allowed_mc_products,
                "allowed_add_ons": m.allowed_add_ons,
                "max_file_plan_type": m.max_file_plan_type,
                "restricted": m.restricted,
                "changed": done.changed.contains(&m.enterprise_id),
            })
        })
        .collect();
    crate::output::print_listing(a.format, &headers, &rows, &json)
}
