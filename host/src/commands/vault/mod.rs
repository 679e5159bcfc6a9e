//! Vault commands: unlocking (password sources, user choice, KDF choice for
//! new vaults), confirmations, and dispatch to one file per command group.

mod folders;
mod membership;
mod records;
mod search;
mod transfer;
mod users;

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret as _, SecretString};

use crate::cli::vault::VaultCommand;
use crate::context::Context;
use crate::vault::crypto::{FAST_KDF_ENV, KdfParams};
use crate::vault::{self, Vault};

/// Environment variable holding the master password.
pub const PASSWORD_ENV: &str = "KEEPER_PASSWORD";
/// Environment variable choosing the user to unlock as (else the config's `user`).
pub const USER_ENV: &str = "KEEPER_USER";

/// Runs one vault command.
///
/// # Errors
///
/// Whatever the command reports; messages never contain secrets.
pub(crate) fn run(ctx: &Context, cmd: VaultCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        VaultCommand::Init(a) => users::init(ctx, &a),
        VaultCommand::User(ns) => users::user(ctx, ns.command),
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
        VaultCommand::Search(a) => search::search(ctx, &a),
        VaultCommand::FindDuplicate(a) => search::find_duplicate(ctx, &a),
        VaultCommand::Export(a) => transfer::export(ctx, &a),
        VaultCommand::Import(a) => transfer::import(ctx, &a),
        VaultCommand::DownloadMembership(a) => membership::download(ctx, &a),
        VaultCommand::ApplyMembership(a) => membership::apply(ctx, &a),
    }
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

/// Reads a secret: a terminal prompt (twice when `confirm`), else one line of stdin.
fn read_secret(prompt: &str, confirm: bool) -> anyhow::Result<SecretString> {
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
    read_secret("Master password: ", confirm)
}

/// Key-derivation parameters for a new vault or user: tuned to about 0.75 s
/// on this machine, or cheap ones (with a warning) under `KEEPER_TEST_FAST_KDF=1`.
fn new_kdf_params() -> KdfParams {
    if std::env::var(FAST_KDF_ENV).is_ok_and(|v| v == "1") {
        eprintln!(
            "warning: {FAST_KDF_ENV}=1: using test-only key-derivation parameters; this vault's master \
             password is easy to brute-force. Never use this for real secrets."
        );
        return KdfParams::insecure_fast();
    }
    KdfParams::calibrated(Duration::from_millis(750))
}

/// Opens and unlocks the vault in the data directory.
pub(crate) fn unlock(ctx: &Context) -> anyhow::Result<Vault> {
    let path = vault::default_path(&ctx.data_dir);
    let locked = Vault::open(&path)?;
    let user = std::env::var(USER_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| ctx.config.user.clone());
    let password = master_password(ctx, false)?;
    let vault = locked.unlock(user.as_deref(), &password)?;
    if vault.has_weak_kdf() {
        eprintln!(
            "warning: this vault's key derivation uses test-only parameters (made with {FAST_KDF_ENV}); \
             its master password is easy to brute-force"
        );
    }
    Ok(vault)
}

/// Asks "proceed? [y/N]" on a terminal; without one, requires `--force`.
fn confirm(question: &str, force: bool) -> anyhow::Result<bool> {
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
