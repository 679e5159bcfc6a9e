//! `secrets-manager app …` and `secrets-manager client …`: parse, call
//! the vault (`vault/apps/`), print. Tokens and `--config-init`
//! configurations go to stdout only.

use std::process::ExitCode;

use anyhow::bail;
use secrecy::ExposeSecret as _;

use super::sharing::share_targets;
use super::{confirm, unlock};
use crate::cli::secrets_manager::{
    AppCommand, AppShareArgs, ClientAddArgs, ClientCommand, ConfigInit, SecretsManagerCommand,
};
use crate::context::Context;
use crate::output::print_listing;
use crate::profiles::ProfileConfig;
use crate::vault::Vault;
use crate::vault::apps::{ClientInfo, ClientOptions};
use crate::vault::model::fields::format_time;

/// Runs one `secrets-manager` command.
pub(super) fn run(ctx: &Context, cmd: SecretsManagerCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SecretsManagerCommand::App { command } => app(ctx, command),
        SecretsManagerCommand::Client { command } => client(ctx, command),
    }
}

fn app(ctx: &Context, cmd: AppCommand) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    match cmd {
        AppCommand::Create { name } => {
            let app = vault.create_app(&name)?;
            println!("Application \"{}\" created ({}).", app.name, app.uid);
        }
        AppCommand::List { format } => {
            let apps = vault.apps()?;
            let rows: Vec<Vec<String>> = apps
                .iter()
                .map(|a| {
                    vec![
                        a.name.clone(),
                        a.uid.clone(),
                        a.records.to_string(),
                        a.editable.to_string(),
                        a.clients.to_string(),
                        format_time(a.created),
                    ]
                })
                .collect();
            let json: Vec<_> = apps
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "name": a.name, "uid": a.uid, "records": a.records,
                        "editable": a.editable, "clients": a.clients, "created": a.created,
                    })
                })
                .collect();
            print_listing(
                format,
                &[
                    "App Name", "App UID", "Records", "Editable", "Devices", "Created",
                ],
                &rows,
                &json,
            )?;
        }
        AppCommand::Share(args) => share(&mut vault, &args, true)?,
        AppCommand::Unshare(args) => share(&mut vault, &args, false)?,
        AppCommand::Remove { app, force } => {
            let question = format!(
                "Application \"{app}\" will be removed with its client devices and shares; \
                 its devices will no longer read anything."
            );
            if !confirm(&question, force)? {
                println!("Nothing removed.");
                return Ok(ExitCode::SUCCESS);
            }
            let removed = vault.remove_app(&app)?;
            println!(
                "Application \"{}\" removed ({} record share(s), {} client device(s)).",
                removed.name, removed.records, removed.clients
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `app share` / `app unshare`: every named record, or every record in a
/// named folder and below it.
fn share(vault: &mut Vault, args: &AppShareArgs, grant: bool) -> anyhow::Result<()> {
    if !grant && args.editable {
        bail!("--editable goes with `app share`");
    }
    let mut records: Vec<String> = Vec::new();
    for target in &args.secret {
        for uid in share_targets(vault, target, true)? {
            if !records.contains(&uid) {
                records.push(uid);
            }
        }
    }
    let outcome = if grant {
        vault.share_with_app(&args.app, &records, args.editable)?
    } else {
        vault.unshare_from_app(&args.app, &records)?
    };
    let (verb, prep) = if grant {
        ("Shared", "with")
    } else {
        ("Unshared", "from")
    };
    let rights = if grant && args.editable {
        " (editable)"
    } else {
        ""
    };
    println!(
        "{verb} {} record(s) {prep} application \"{}\"{rights}.",
        outcome.changed.len(),
        args.app
    );
    if !outcome.unchanged.is_empty() {
        let why = if grant {
            "already shared so"
        } else {
            "not shared with it"
        };
        println!(
            "{} record(s) left as they were ({why}).",
            outcome.unchanged.len()
        );
    }
    Ok(())
}

fn client(ctx: &Context, cmd: ClientCommand) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    match cmd {
        ClientCommand::Add(args) => add_clients(&mut vault, &args)?,
        ClientCommand::List { app, format } => {
            let clients = vault.app_clients(app.as_deref())?;
            let rows: Vec<Vec<String>> = clients.iter().map(client_row).collect();
            let json: Vec<_> = clients
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "app": c.app, "client_id": c.uid, "created": c.created,
                        "token_expires": c.token_expires, "access_expires": c.access_expires,
                        "access_minutes": c.access_minutes,
                        "ip_lock": !c.unlock_ip, "bound": c.bound,
                    })
                })
                .collect();
            print_listing(
                format,
                &[
                    "App",
                    "Client ID",
                    "Created",
                    "Device",
                    "Token Expires",
                    "Access Expires",
                    "IP Lock",
                ],
                &rows,
                &json,
            )?;
        }
        ClientCommand::Remove { app, client } => {
            for c in &client {
                let removed = vault.remove_client(&app, c)?;
                let r = removed.rekeyed;
                println!(
                    "Client device {} removed from application \"{}\"; the application has a new \
                     key ({} record key(s), {} device(s), {} waiting token(s) re-wrapped).",
                    removed.info.uid, removed.info.app, r.records, r.devices, r.tokens
                );
                if r.ended > 0 {
                    println!(
                        "{} device(s) whose access had ended were removed (no copy of the new key).",
                        r.ended
                    );
                }
                if r.revoked > 0 {
                    println!(
                        "{} unused token(s) issued before this keeper version were revoked (their \
                         key could not be re-wrapped); issue new ones with `client add`.",
                        r.revoked
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn client_row(c: &ClientInfo) -> Vec<String> {
    vec![
        c.app.clone(),
        c.uid.clone(),
        format_time(c.created),
        c.bound.map_or_else(
            || "waiting for its token".to_string(),
            |t| format!("bound {}", format_time(t)),
        ),
        format_time(c.token_expires),
        access_end(c),
        if c.unlock_ip { "Disabled" } else { "Enabled" }.to_string(),
    ]
}

/// When a client's access ends: a time once fixed, else minutes after
/// its first access, else never.
fn access_end(c: &ClientInfo) -> String {
    match (c.access_expires, c.access_minutes) {
        (Some(t), _) => format!("{} UTC", format_time(t)),
        (None, Some(m)) => format!("{m} minutes after first access"),
        (None, None) => "Never".into(),
    }
}

/// `client add`: `--count` tokens, or bound configurations with `--config-init`.
fn add_clients(vault: &mut Vault, args: &ClientAddArgs) -> anyhow::Result<()> {
    if args.count == 0 || args.count > 100 {
        bail!("--count must be between 1 and 100");
    }
    let options = ClientOptions {
        first_access_minutes: args.first_access_expires_in_min,
        access_minutes: args.access_expire_in_min,
        unlock_ip: args.unlock_ip,
    };
    let location = vault.location().clone();
    for _ in 0..args.count {
        let issued = vault.add_client(&args.app, &options, args.config_init.is_some())?;
        let info = &issued.info;
        println!("\nSuccessfully generated Client Device\n====================================\n");
        match (&issued.token, &issued.bound, args.config_init) {
            (_, Some(creds), Some(format)) => {
                let config = ProfileConfig::new(location.shared_config_value(), creds, None);
                println!(
                    "Initialized Config: {}",
                    config_text(&config, format).as_str()
                );
            }
            (Some(token), _, _) => {
                println!("One-Time Access Token: {}", token.expose_secret());
            }
            _ => bail!("the client was issued without a token or a configuration"),
        }
        println!("Client ID: {}", info.uid);
        println!(
            "IP Lock: {}",
            if info.unlock_ip {
                "Disabled"
            } else {
                "Enabled"
            }
        );
        if issued.token.is_some() {
            println!("Token Expires On: {} UTC", format_time(info.token_expires));
        }
        println!("App Access Expires on: {}", access_end(info));
    }
    if args.config_init.is_none() {
        let store = format!(" --store '{location}'");
        eprintln!(
            "\nOn the device: keeper{store} profile init --token TOKEN (or KEEPER_CLI_TOKEN=TOKEN keeper{store} profile init)"
        );
    }
    Ok(())
}

/// A `--config-init` configuration in its format.
fn config_text(config: &ProfileConfig, format: ConfigInit) -> zeroize::Zeroizing<String> {
    match format {
        ConfigInit::Json => config.to_json(),
        ConfigInit::B64 => config.to_base64(),
        ConfigInit::K8s => zeroize::Zeroizing::new(format!(
            "\napiVersion: v1\ndata:\n  config: {}\nkind: Secret\nmetadata:\n  name: keeper-config\n  namespace: default\ntype: Opaque",
            config.to_base64().as_str()
        )),
    }
}
