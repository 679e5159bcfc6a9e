//! MSP commands: enterprise-init, enterprise-rekey, msp-info, msp-down,
//! msp-add, msp-remove, msp-update, switch-to-mc, switch-to-msp. They parse, call
//! `crate::enterprise` and print; only an MSP admin gets past [`Msp::of`].

use std::process::ExitCode;

use anyhow::bail;
use secrecy::ExposeSecret as _;
use serde_json::json;

use super::vault::{confirm, new_kdf_params, read_new_password, unlock, unlock_to_rekey};
use crate::automation::variables::LAST_MC_ID;
use crate::cli::Format;
use crate::cli::msp::{MspAddArgs, MspCommand, MspInfoArgs, MspRemoveArgs, MspUpdateArgs};
use crate::context::Context;
use crate::enterprise::model::{self, seats_text};
use crate::enterprise::ops::{AddRequest, Removal, UpdateRequest};
use crate::enterprise::state::{CompanyView, MspState};
use crate::enterprise::{Msp, licences, rekey};
use crate::output::report::{Report, write_private};
use crate::runtime::text::escaped;
use crate::vault::Vault;

/// Runs one MSP command.
///
/// # Errors
///
/// Refusals with Commander's messages; nothing is changed then.
pub(crate) fn run(ctx: &Context, cmd: MspCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        MspCommand::EnterpriseInit(a) => {
            let Some(name) = &a.msp else {
                return super::distributor::init(ctx, &a);
            };
            let mut vault = unlock(ctx)?;
            let made = licences::init(&mut vault, name, &a.licences)?;
            println!(
                "MSP \"{}\" created. ID={}; admin: {}; {} managed companies",
                made.name, made.id, made.admin, made.companies
            );
        }
        MspCommand::EnterpriseRekey => enterprise_rekey(ctx)?,
        MspCommand::MspInfo(a) => info(ctx, &a)?,
        MspCommand::MspDown => {
            let vault = unlock(ctx)?;
            let msp = Msp::of(&vault)?;
            let state = msp.state(&vault)?;
            println!(
                "MSP \"{}\" (ID={}): {} managed companies",
                msp.name,
                msp.id,
                state.companies.len()
            );
        }
        MspCommand::MspAdd(a) => add(ctx, &a)?,
        MspCommand::MspRemove(a) => remove(ctx, &a)?,
        MspCommand::MspUpdate(a) => update(ctx, &a)?,
        MspCommand::SwitchToMc { mc } => switch_to_mc(ctx, &mc)?,
        MspCommand::SwitchToMsp => {
            if !unlock(ctx)?.is_key_held()? {
                bail!("Already MSP");
            }
            ctx.session.forget();
            drop(unlock(ctx)?);
            println!("Switched back to MSP");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `enterprise-rekey`: the MSP admin's new keys and master password and
/// a new MSP tree key, in one transaction; then every session of this
/// process and device made with the old keys is let go.
fn enterprise_rekey(ctx: &Context) -> anyhow::Result<()> {
    ctx.session.forget();
    let (mut vault, current) = unlock_to_rekey(ctx)?;
    let password = read_new_password(ctx)?;
    if password.expose_secret() == current.expose_secret() {
        bail!(
            "the new master password must differ from the current one (whoever chose or knows the \
             current one would still log in); nothing was changed"
        );
    }
    let email = vault.user().email;
    let done = rekey::rekey(&mut vault, &password, &new_kdf_params())?;
    drop(vault);
    ctx.session.forget();
    let u = &done.user;
    println!(
        "MSP \"{}\" (ID={}) re-keyed: {email} has a new data key, key pair and master password, and \
         the MSP a new tree key.",
        escaped(&done.msp),
        done.id
    );
    println!(
        "Re-wrapped under the new keys: {} record keys, {} folder names, {} team and shared-folder \
         keys, {} application keys, {} node names, {} role names, {} company tree keys.",
        u.records,
        u.folders,
        u.memberships,
        u.apps,
        done.nodes,
        done.roles,
        done.companies.len()
    );
    if !done.companies.is_empty() {
        println!(
            "The {} companies that existed before this re-key ({}) keep their own tree keys, only \
             re-wrapped under the new MSP tree key: whoever held the old MSP keys (such as the \
             distributor that chose your first master password) can still open their data. Companies \
             added from now on are out of their reach.",
            done.companies.len(),
            done.companies
                .iter()
                .map(|name| escaped(name))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for warning in &u.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "Persistent login sessions made with the old keys have ended, and processes unlocked \
         with them write nothing more; log in with the new master password."
    );
    Ok(())
}

/// `switch-to-mc`: from now on in this process, vault commands run as the
/// company's identity (its own records, its own keys).
fn switch_to_mc(ctx: &Context, mc: &str) -> anyhow::Result<()> {
    let mut vault = unlock(ctx)?;
    if vault.is_key_held()? {
        bail!("already switched to a managed company; run switch-to-msp first");
    }
    let msp = Msp::of(&vault)?;
    let entered = msp.enter(&mut vault, mc)?;
    drop(vault);
    let inside =
        Vault::open_at(&ctx.vault_location()?)?.unlock_key_held(&entered.email, &entered.key)?;
    ctx.session.forget();
    drop(ctx.session.start(inside)?);
    println!("Switched to MC '{}' (ID={})", entered.name, entered.id);
    Ok(())
}

fn add(ctx: &Context, a: &MspAddArgs) -> anyhow::Result<()> {
    let mut vault = unlock(ctx)?;
    let msp = Msp::of(&vault)?;
    let mc = msp.add(
        &mut vault,
        &AddRequest {
            name: a.name.clone(),
            plan: a.plan.clone(),
            seats: a.seats,
            file_plan: a.file_plan.clone(),
            addons: a.addons.clone(),
            node: a.node.clone(),
            id: None,
        },
    )?;
    ctx.variables()
        .set(LAST_MC_ID, &mc.company_id.to_string())?;
    println!(
        "Managed company \"{}\" added. ID={}",
        mc.company_name, mc.company_id
    );
    Ok(())
}

fn update(ctx: &Context, a: &MspUpdateArgs) -> anyhow::Result<()> {
    let mut vault = unlock(ctx)?;
    let msp = Msp::of(&vault)?;
    let mc = msp.update(
        &mut vault,
        &a.mc,
        &UpdateRequest {
            node: a.node.clone(),
            name: a.name.clone(),
            plan: a.plan.clone(),
            seats: a.seats,
            file_plan: a.file_plan.clone(),
            add_addons: a.add_addons.clone(),
            remove_addons: a.remove_addons.clone(),
        },
    )?;
    println!(
        "Successfully updated '{}' id={}",
        mc.company_name, mc.company_id
    );
    Ok(())
}

fn remove(ctx: &Context, a: &MspRemoveArgs) -> anyhow::Result<()> {
    let mut vault = unlock(ctx)?;
    let msp = Msp::of(&vault)?;
    let state = msp.state(&vault)?;
    let Some(mc) = state.company(&a.mc) else {
        return Err(crate::enterprise::EnterpriseError::NoCompany(a.mc.clone()).into());
    };
    let id = mc.enterprise_id.to_string();
    let removal = msp.removal(&vault, &id)?;
    let impact = removal_text(&removal);
    let question = format!(
        "ALERT!\nRemove Managed Company.\n\nRemoving will expire the licences for the managed company \
         and your admin access for the account.\nManaged Company Name: \"{}\", Licences: {}\n{impact}\n\
         I want to remove these licences managed vault folder and my access to the admin console \
         from my MSP account.",
        escaped(&mc.name),
        seats_text(mc.seats)
    );
    if a.force {
        print!("{impact}");
    } else if !confirm(&question, a.force)? {
        bail!("cancelled; nothing was removed");
    }
    let gone = msp.remove(&mut vault, &id, &removal)?;
    println!(
        "Managed company \"{}\" removed. ID={}",
        gone.company_name, gone.company_id
    );
    Ok(())
}

/// What `msp-remove`'s confirmation (and `-f`) says a removal deletes
/// beyond the company's own rows: its users who log in with a password,
/// with the records and applications (with their devices) they own, and
/// whose move it cancels; every line ends
/// with a line break, and e-mails are escaped for the terminal.
fn removal_text(removal: &Removal) -> String {
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let mut text = String::new();
    if !removal.users.is_empty() {
        let records: usize = removal.users.iter().map(|u| u.records).sum();
        text.push_str(&format!(
            "It also deletes {} of the company, who log in with their own master password, \
             and {} they own:\n",
            plural(removal.users.len(), "user"),
            plural(records, "record")
        ));
        for u in &removal.users {
            let mut owns = plural(u.records, "record");
            if u.apps > 0 {
                owns.push_str(&format!(
                    ", {} with {}",
                    plural(u.apps, "application"),
                    plural(u.devices, "device")
                ));
            }
            text.push_str(&format!("  {} ({owns})\n", escaped(&u.email)));
        }
    }
    if !removal.moving.is_empty() {
        text.push_str(&format!(
            "{} recorded as moving into it will stay with the MSP (their move is cancelled):\n",
            plural(removal.moving.len(), "user")
        ));
        for email in &removal.moving {
            text.push_str(&format!("  {}\n", escaped(email)));
        }
    }
    text
}

fn info(ctx: &Context, a: &MspInfoArgs) -> anyhow::Result<()> {
    let vault = unlock(ctx)?;
    let msp = Msp::of(&vault)?;
    if a.pricing {
        return super::msp_reports::pricing(&vault, &msp, a.format, a.output.as_deref());
    }
    let state = msp.state(&vault)?;
    let text = if a.restriction {
        restrictions(&state, a.format)?
    } else {
        listing(&state, a)?
    };
    match &a.output {
        Some(path) => write_private(path, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// `msp-info`'s pool and companies as text in `a.format`.
fn listing(state: &MspState, a: &MspInfoArgs) -> anyhow::Result<String> {
    let mut companies: Vec<CompanyView> = state
        .companies
        .iter()
        .map(|c| CompanyView::of(state, c))
        .collect();
    if let Some(wanted) = &a.managed_company {
        let Some(mc) = state.company(wanted) else {
            return Err(crate::enterprise::EnterpriseError::NoCompany(wanted.clone()).into());
        };
        companies.retain(|c| c.company_id == mc.enterprise_id);
    }
    companies.sort_by_key(|c| c.company_name.to_lowercase());
    let pool = state.pool();
    if a.format == Format::Json {
        let json = json!({"licenses": pool, "managed_companies": companies});
        return Ok(format!("{}\n", serde_json::to_string_pretty(&json)?));
    }
    let mut text = String::new();
    if a.format == Format::Table && a.managed_company.is_none() {
        let rows: Vec<Vec<String>> = pool
            .iter()
            .map(|p| {
                vec![
                    p.plan_id.clone(),
                    p.available_licenses.to_string(),
                    p.total_licenses.to_string(),
                    p.stash.to_string(),
                ]
            })
            .collect();
        text.push_str(
            &Report {
                title: Some("MSP Plans and Licenses"),
                titles: &["Plan Id", "Available Licenses", "Total Licenses", "Stash"],
                fields: &["plan_id", "available_licenses", "total_licenses", "stash"],
                rows: &rows,
                json: &pool,
                row_numbers: true,
            }
            .render(Format::Table)?,
        );
        if companies.is_empty() {
            text.push_str("No Managed Companies\n");
            return Ok(text);
        }
    }
    let mut titles = vec![
        "Company ID",
        "Company Name",
        "Node",
        "Plan",
        "Storage",
        "Addons",
        "Allocated",
        "Active",
    ];
    let mut fields = vec![
        "company_id",
        "company_name",
        "node",
        "plan",
        "storage",
        "addons",
        "allocated",
        "active",
    ];
    if a.details {
        titles.insert(3, "Node Name");
        fields.insert(3, "node_name");
    }
    let rows: Vec<Vec<String>> = companies
        .iter()
        .map(|c| {
            let mut row = vec![c.company_id.to_string(), c.company_name.clone()];
            if a.details {
                row.extend([
                    c.node_id.to_string(),
                    c.node_name.clone(),
                    c.plan.clone(),
                    c.storage.clone(),
                    c.addons.join(", "),
                ]);
            } else {
                row.extend([
                    c.node.clone(),
                    c.plan_name.clone(),
                    c.storage.clone(),
                    c.addons.len().to_string(),
                ]);
            }
            let allocated = if c.allocated < 0 {
                "Unlimited".to_string()
            } else {
                c.allocated.to_string()
            };
            row.extend([allocated, c.active.to_string()]);
            row
        })
        .collect();
    text.push_str(
        &Report {
            title: None,
            titles: &titles,
            fields: &fields,
            rows: &rows,
            json: &companies,
            row_numbers: true,
        }
        .render(a.format)?,
    );
    Ok(text)
}

/// `msp-info -r`: the permits, or "MSP has no restrictions".
fn restrictions(state: &MspState, format: Format) -> anyhow::Result<String> {
    let Some(p) = state.permits() else {
        return Ok(if format == Format::Json {
            format!("{}\n", json!({"restricted": false}))
        } else {
            "MSP has no restrictions\n".to_string()
        });
    };
    let products: Vec<String> = p
        .allowed_products
        .iter()
        .map(|c| format!("{c} ({})", model::plan(c).map_or("", |m| m.display)))
        .collect();
    let addons: Vec<String> = p
        .allowed_addons
        .iter()
        .map(|c| format!("{c} ({})", model::addon_by_code(c).map_or("", |m| m.short)))
        .collect();
    let max = p
        .max_file_plan
        .as_deref()
        .and_then(model::file_plan)
        .map_or_else(String::new, |f| f.display.to_string());
    let json = json!({
        "restricted": true,
        "allow_unlimited_licenses": p.allow_unlimited,
        "allowed_mc_products": p.allowed_products,
        "allowed_add_ons": p.allowed_addons,
        "max_file_plan_type": p.max_file_plan,
    });
    let rows = vec![
        vec![
            "Allow Unlimited Licenses".to_string(),
            p.allow_unlimited.to_string(),
        ],
        vec!["Allowed Products".to_string(), products.join("\n")],
        vec!["Allowed Add-Ons".to_string(), addons.join("\n")],
        vec!["Max File Storage plan".to_string(), max],
    ];
    Report {
        title: None,
        titles: &["Permit Name", "Value"],
        fields: &["permit_name", "value"],
        rows: &rows,
        json: &json,
        row_numbers: false,
    }
    .render(format)
}
