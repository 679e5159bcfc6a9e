//! Vault commands: unlocking (password sources, user choice, KDF choice for
//! new vaults), confirmations, and dispatch to one file per command group.

mod apps;
mod folders;
mod membership;
mod records;
mod search;
mod sharing;
mod store;
mod transfer;
mod users;

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret as _, SecretString};

use crate::automation::Unlocked;
use crate::cli::vault::VaultCommand;
use crate::context::Context;
use crate::login::Resumed;
use crate::vault::Vault;
use crate::vault::crypto::{FAST_KDF_ENV, KdfParams};

/// Environment variable holding the master password.
pub const PASSWORD_ENV: &str = "KEEPER_PASSWORD";
/// Environment variable choosing the user to unlock as (else the config's `user`).
pub const USER_ENV: &str = "KEEPER_USER";
/// Environment variable holding the new master password for
/// `change-master-password`.
pub const NEW_PASSWORD_ENV: &str = "KEEPER_NEW_MASTER_PASSWORD";

/// Runs one vault command.
///
/// # Errors
///
/// Whatever the command reports; messages never contain secrets.
pub(crate) fn run(ctx: &Context, cmd: VaultCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        VaultCommand::Init(a) => users::init(ctx, &a),
        VaultCommand::User(ns) => users::user(ctx, ns.command),
        VaultCommand::Store(ns) => store::store(ctx, ns.command),
        VaultCommand::Team(ns) => users::team(ctx, ns.command),
        VaultCommand::Add(a) => records::add(ctx, &a),
        VaultCommand::Get(a) => records::get(ctx, &a),
        VaultCommand::Edit(a) => records::edit(ctx, &a),
        VaultCommand::Rm(a) => records::rm(ctx, &a),
        VaultCommand::History(a) => records::history(ctx, &a),
        VaultCommand::UploadAttachment(a) => records::upload(ctx, &a),
        VaultCommand::DownloadAttachment(a) => records::download(ctx, &a),
        VaultCommand::Ls(a) => folders::ls(ctx, &a),
        VaultCommand::Tree(a) => folders::tree(ctx, &a),
        VaultCommand::Mkdir(a) => folders::mkdir(ctx, &a),
        VaultCommand::Mv(a) => folders::mv(ctx, &a),
        VaultCommand::Ln(a) => folders::ln(ctx, &a),
        VaultCommand::Rmdir(a) => folders::rmdir(ctx, &a),
        VaultCommand::ShareFolder(a) => folders::share_folder(ctx, &a),
        VaultCommand::ShareRecord(a) => sharing::share_record(ctx, &a),
        VaultCommand::RecordPermission(a) => sharing::record_permission(ctx, &a),
        VaultCommand::Search(a) => search::search(ctx, &a),
        VaultCommand::FindDuplicate(a) => search::find_duplicate(ctx, &a),
        VaultCommand::Export(a) => transfer::export(ctx, &a),
        VaultCommand::Import(a) => transfer::import(ctx, &a),
        VaultCommand::DownloadMembership(a) => membership::download(ctx, &a),
        VaultCommand::ApplyMembership(a) => membership::apply(ctx, &a),
    }
}

/// Runs one `secrets-manager` command.
///
/// # Errors
///
/// Whatever the command reports; a token is printed only on stdout.
pub(crate) fn secrets_manager(
    ctx: &Context,
    cmd: crate::cli::secrets_manager::SecretsManagerCommand,
) -> anyhow::Result<ExitCode> {
    apps::run(ctx, cmd)
}

/// Reads one line from stdin (for passwords piped in scripts).
fn read_stdin_line() -> anyhow::Result<Option<String>> {
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read stdin")?;
    if n == 0 {
        return Ok(None);
    }
    while line.ends_with('\n') || line.ends_with('\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// Reads a secret: a terminal prompt (twice when `confirm`), else one line
/// of stdin (unless stdin carries the commands: then the controlling
/// terminal, if there is one).
fn read_secret(ctx: &Context, prompt: &str, confirm: bool) -> anyhow::Result<SecretString> {
    if ctx.options.stdin_is_commands {
        return rpassword::prompt_password(prompt)
            .map(SecretString::from)
            .map_err(|_| {
                anyhow::anyhow!(
                    "no master password: stdin carries the commands and there is no terminal to ask on; \
                     set {PASSWORD_ENV}, put \"password\" in the config file, or turn on persistent login \
                     (`keeper this-device persistent-login on`)"
                )
            });
    }
    if std::io::stdin().is_terminal() {
        let first = SecretString::from(
            rpassword::prompt_password(prompt).context("cannot read the password")?,
        );
        if confirm {
            let second = SecretString::from(
                rpassword::prompt_password("Repeat: ").context("cannot read the password")?,
            );
            if first.expose_secret() != second.expose_secret() {
                bail!("the passwords do not match");
            }
        }
        return Ok(first);
    }
    match read_stdin_line()? {
        Some(line) => Ok(SecretString::from(line)),
        None => bail!(
            "no master password: set {PASSWORD_ENV}, put \"password\" in the config file, or run on a terminal"
        ),
    }
}

/// The master password: `KEEPER_PASSWORD`, the config file's `password`,
/// a prompt, or a line of stdin.
fn master_password(ctx: &Context, confirm: bool) -> anyhow::Result<SecretString> {
    if let Ok(p) = std::env::var(PASSWORD_ENV)
        && !p.is_empty()
    {
        return Ok(SecretString::from(p));
    }
    if let Some(p) = ctx
        .config
        .password
        .as_ref()
        .filter(|p| !p.expose_secret().is_empty())
    {
        return Ok(p.clone());
    }
    read_secret(ctx, "Master password: ", confirm)
}

/// A new master password: `KEEPER_NEW_MASTER_PASSWORD`, a prompt (twice),
/// or a line of stdin.
pub(crate) fn read_new_password(ctx: &Context) -> anyhow::Result<SecretString> {
    if let Ok(p) = std::env::var(NEW_PASSWORD_ENV)
        && !p.is_empty()
    {
        return Ok(SecretString::from(p));
    }
    read_secret(ctx, "New master password: ", true)
}

/// A new user's master password: `KEEPER_NEW_USER_PASSWORD`, a prompt
/// (twice), or a line of stdin.
/// An empty one is refused.
pub(crate) fn new_user_password(ctx: &Context, email: &str) -> anyhow::Result<SecretString> {
    let password = match std::env::var("KEEPER_NEW_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => SecretString::from(p),
        _ => read_secret(ctx, &format!("Master password for {email}: "), true)?,
    };
    if password.expose_secret().is_empty() {
        bail!("{email} needs a master password: an empty one is refused");
    }
    Ok(password)
}

/// Key-derivation parameters for a new vault or user: tuned to about 0.75 s
/// on this machine, or cheap ones (with a warning) under `KEEPER_TEST_FAST_KDF=1`.
pub(crate) fn new_kdf_params() -> KdfParams {
    if std::env::var(FAST_KDF_ENV).is_ok_and(|v| v == "1") {
        eprintln!(
            "warning: {FAST_KDF_ENV}=1: using test-only key-derivation parameters; this vault's master \
             password is easy to brute-force. Never use this for real secrets."
        );
        return KdfParams::insecure_fast();
    }
    KdfParams::calibrated(Duration::from_millis(750))
}

/// The vault in the data directory, unlocked: the one this process already
/// unlocked, else with this device's persistent login session (unless
/// `--new-login`), else with the master password (which, with persistent
/// login on, starts a new session).
pub(crate) fn unlock(ctx: &Context) -> anyhow::Result<Unlocked<'_>> {
    let location = ctx.vault_location()?;
    if let Some(held) = ctx.session.resume(&location)? {
        return Ok(held);
    }
    let user = requested_user(ctx);
    let exists = location.file().is_none_or(std::path::Path::exists);
    if !ctx.options.new_login && exists {
        match ctx.device().resume(&location, user.as_deref()) {
            Ok(Resumed::Unlocked(vault)) => return Ok(ctx.session.start(*vault)?),
            Ok(Resumed::Ended(why) | Resumed::Unavailable(why)) => {
                eprintln!("warning: {why}; the master password is needed");
            }
            Ok(Resumed::Absent) => {}
            Err(e) => eprintln!("warning: persistent login not used: {e}"),
        }
    }
    let vault = password_unlock(ctx, user)?;
    match ctx.device().start_session(&vault) {
        Ok(warnings) => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
        }
        Err(e) => eprintln!("warning: no persistent login session was saved: {e}"),
    }
    Ok(ctx.session.start(vault)?)
}

/// [`unlock`], owning the vault (the next command reopens it).
pub(crate) fn unlock_owned(ctx: &Context) -> anyhow::Result<Vault> {
    unlock(ctx)?
        .into_owned()
        .context("the unlocked vault was already taken")
}

/// `KEEPER_USER`, else the config's `user`.
fn requested_user(ctx: &Context) -> Option<String> {
    std::env::var(USER_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| ctx.config.user.clone())
}

/// Opens the vault and unlocks it as `user` (else `KEEPER_USER`, the
/// config's `user`, or the only user) with the master password.
pub(crate) fn password_unlock(ctx: &Context, user: Option<String>) -> anyhow::Result<Vault> {
    Ok(unlock_with_password(ctx, user, false)?.0)
}

/// [`password_unlock`] for `enterprise-rekey`: a user who must be
/// re-keyed is let in, and the master password comes back too (the new
/// one must differ from it).
pub(crate) fn unlock_to_rekey(ctx: &Context) -> anyhow::Result<(Vault, SecretString)> {
    unlock_with_password(ctx, None, true)
}

fn unlock_with_password(
    ctx: &Context,
    user: Option<String>,
    rekey: bool,
) -> anyhow::Result<(Vault, SecretString)> {
    let mut locked = Vault::open_at(&ctx.vault_location()?)?;
    if rekey {
        locked = locked.for_rekey();
    }
    let user = user.or_else(|| requested_user(ctx));
    let password = master_password(ctx, false)?;
    let vault = locked.unlock(user.as_deref(), &password)?;
    for notice in vault.unlock_notices() {
        eprintln!("{notice}");
    }
    if vault.has_weak_kdf() {
        eprintln!(
            "warning: this vault's key derivation uses test-only parameters (made with {FAST_KDF_ENV}); \
             its master password is easy to brute-force"
        );
    }
    Ok((vault, password))
}

/// Asks "proceed? [y/N]" on a terminal; without one, requires `--force`.
pub(crate) fn confirm(question: &str, force: bool) -> anyhow::Result<bool> {
    if force {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question} Refusing without a terminal to confirm; pass --force");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let answer = read_stdin_line()?.unwrap_or_default();
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}
