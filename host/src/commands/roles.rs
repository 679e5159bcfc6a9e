//! Role commands: enterprise-role, enterprise-user --node, msp-copy-role,
//! msp-convert-node. They parse, call `crate::enterprise` and print; only
//! an MSP admin gets past [`Msp::of`].

use std::process::ExitCode;

use crate::cli::Format;
use crate::cli::roles::{EnterpriseRoleArgs, RolesCommand};
use crate::commands::vault::unlock;
use crate::context::Context;
use crate::enterprise::Msp;
use crate::enterprise::convert::ConvertRequest;
use crate::enterprise::roles::{RoleEdit, RoleView};
use crate::output::print_listing;
use crate::runtime::text::escaped;

/// Runs one role command.
///
/// # Errors
///
/// Refusals (unknown or ambiguous roles, nodes, users, companies; a node
/// that cannot be converted, with every reason); nothing is changed then.
pub(crate) fn run(ctx: &Context, cmd: RolesCommand) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let msp = Msp::of(&vault)?;
    match cmd {
        RolesCommand::EnterpriseRole(a) => role(&msp, &mut vault, &a)?,
        RolesCommand::EnterpriseUser(a) => {
            let (path, cancelled) = msp.place_user(&mut vault, &a.email, &a.node)?;
            println!("User {} is on node \"{path}\"", escaped(a.email.trim()));
            if let Some(company) = cancelled {
                println!(
                    "The move to managed company \"{}\" is cancelled.",
                    escaped(&company)
                );
            }
        }
        RolesCommand::MspCopyRole(a) => {
            let report = msp.copy_roles(&mut vault, &a.roles, &a.mcs)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            for line in &report.lines {
                println!("{line}");
            }
        }
        RolesCommand::MspConvertNode(a) => {
            let done = msp.convert_node(
                &mut vault,
                &ConvertRequest {
                    node: a.node.clone(),
                    seats: a.seats,
                    plan: a.plan.clone(),
                },
            )?;
            let company = if done.reused {
                "existing managed company"
            } else {
                "new managed company"
            };
            let raised = done
                .raised_from
                .map_or_else(String::new, |n| format!(", raised from {n}"));
            println!(
                "Node \"{}\" converted to {company} \"{}\" (ID={}, seats {}{raised}): {} node(s), \
                 {} role(s), {} user(s) moved",
                a.node.trim(),
                done.mc_name,
                done.mc_id,
                done.seats,
                done.nodes,
                done.roles,
                done.users
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `enterprise-role`: lists roles, or adds / changes one and shows it.
fn role(msp: &Msp, vault: &mut crate::vault::Vault, a: &EnterpriseRoleArgs) -> anyhow::Result<()> {
    let changes = a.add
        || a.visible_below.is_some()
        || a.new_user.is_some()
        || !a.add_users.is_empty()
        || !a.remove_users.is_empty()
        || !a.enforcements.is_empty();
    let views = match &a.role {
        Some(role) if changes => {
            let (view, warning) = msp.edit_role(
                vault,
                a.mc.as_deref(),
                &RoleEdit {
                    add: a.add,
                    role: role.clone(),
                    node: a.node.clone(),
                    visible_below: a.visible_below,
                    new_user_inherit: a.new_user,
                    enforcements: a.enforcements.clone(),
                    add_users: a.add_users.clone(),
                    remove_users: a.remove_users.clone(),
                },
            )?;
            if let Some(w) = warning {
                eprintln!("warning: {w}");
            }
            if a.add && a.format == Format::Table {
                println!("Role \"{}\" added. ID={}", view.name, view.role_id);
            }
            vec![view]
        }
        Some(role) => {
            let all = msp.list_roles(vault, a.mc.as_deref())?;
            let wanted = role.trim();
            let picked: Vec<RoleView> = all
                .iter()
                .filter(|r| wanted.parse() == Ok(r.role_id))
                .chain(all.iter().filter(|r| r.name.eq_ignore_ascii_case(wanted)))
                .cloned()
                .collect();
            if picked.is_empty() {
                anyhow::bail!("Role \"{wanted}\" not found");
            }
            picked
        }
        None if changes => anyhow::bail!("enterprise-role: name the role to add or change"),
        None => msp.list_roles(vault, a.mc.as_deref())?,
    };
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|r| {
            let enforcements: Vec<String> = r
                .enforcements
                .iter()
                .map(|(k, v)| match v {
                    serde_json::Value::Bool(true) => k.clone(),
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            vec![
                r.role_id.to_string(),
                r.name.clone(),
                r.node.clone(),
                r.visible_below.to_string(),
                r.new_user_inherit.to_string(),
                r.users.join("\n"),
                enforcements.join("\n"),
            ]
        })
        .collect();
    let headers = [
        "Role ID",
        "Role Name",
        "Node",
        "Visible Below",
        "New User Inherit",
        "Users",
        "Enforcements",
    ];
    print_listing(a.format, &headers, &rows, &views)
}
