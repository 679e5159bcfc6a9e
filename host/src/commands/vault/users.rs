//! `keeper init`, `keeper user …`, `keeper team …`.

use std::process::ExitCode;

use anyhow::Context as _;

use super::{master_password, new_kdf_params, new_user_password, unlock};
use crate::cli::vault::{InitArgs, TeamCommand, UserCommand};
use crate::config;
use crate::context::Context;
use crate::output::print_listing;
use crate::vault::Vault;

/// `keeper init --user EMAIL [--store URL]`: creates the vault (never over
/// an existing file or database vault). With `--store`, the location is
/// saved as the config's `store` so that later commands find it.
pub(super) fn init(ctx: &Context, args: &InitArgs) -> anyhow::Result<ExitCode> {
    let location = ctx.vault_location()?;
    if let Some(path) = location.file()
        && path.exists()
    {
        anyhow::bail!(
            "{} already exists; refusing to overwrite it",
            path.display()
        );
    }
    std::fs::create_dir_all(&ctx.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            ctx.data_dir.display()
        )
    })?;
    restrict_dir(&ctx.data_dir);
    let password = master_password(ctx, true)?;
    let params = new_kdf_params();
    let vault = Vault::create_at(&location, &args.user, &password, &params)?;
    if let Some(path) = location.file() {
        restrict_file(path);
    }
    if ctx.store_from_args {
        let saved = location.config_value();
        config::update(&ctx.config_path, |m| {
            m.insert("store".into(), saved.into());
        })
        .with_context(|| {
            format!(
                "the vault was created at {location}, but {} could not record it; pass --store \
                 or set KEEPER_STORE to use it",
                ctx.config_path.display()
            )
        })?;
    }
    println!("Created vault {location} for {}", vault.user().email);
    Ok(ExitCode::SUCCESS)
}

#[cfg(unix)]
fn restrict_dir(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

#[cfg(unix)]
pub(super) fn restrict_file(file: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict_dir(_: &std::path::Path) {}

#[cfg(not(unix))]
pub(super) fn restrict_file(_: &std::path::Path) {}

/// `keeper user list|add`.
pub(super) fn user(ctx: &Context, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    match cmd {
        UserCommand::List { format } => {
            let users = vault.users()?;
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| vec![u.email.clone(), u.uid.clone()])
                .collect();
            print_listing(format, &["Email", "UID"], &rows, &users)?;
        }
        UserCommand::Add { email } => {
            let password = new_user_password(ctx, &email)?;
            let user = vault.add_user(&email, &password, &new_kdf_params())?;
            println!("Added user {} ({})", user.email, user.uid);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `keeper team list|add|add-member`.
pub(super) fn team(ctx: &Context, cmd: TeamCommand) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    match cmd {
        TeamCommand::List { format } => {
            let teams = vault.teams()?;
            let rows: Vec<Vec<String>> = teams
                .iter()
                .map(|t| vec![t.name.clone(), t.uid.clone(), t.members.join(", ")])
                .collect();
            print_listing(format, &["Name", "UID", "Members"], &rows, &teams)?;
        }
        TeamCommand::Add { name, member } => {
            let members: Vec<&str> = member.iter().map(String::as_str).collect();
            let team = vault.add_team(&name, &members)?;
            println!("Added team {} ({})", team.name, team.uid);
        }
        TeamCommand::AddMember { team, email } => {
            vault.add_team_member(&team, &email)?;
            println!("Added {email} to team {team}");
        }
        TeamCommand::RemoveMember { team, email } => {
            vault.remove_team_member(&team, &email)?;
            println!("Removed {email} from team {team}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
