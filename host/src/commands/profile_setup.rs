//! `profile setup --type keyring|env|file|aws` (a profile whose
//! configuration stays outside keeper.ini) and the container start-up of
//! the Secrets Manager CLI: with no keeper.ini anywhere and a one-time
//! token in `KEEPER_CLI_TOKEN` or `KSM_TOKEN`, the first reading command
//! initialises the profile itself.

use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::cli::profiles::{AwsCredentials, ProfileSetupArgs, StorageType};
use crate::context::Context;
use crate::profiles::storage::{AwsSpec, Kind, Provider};
use crate::profiles::{IniFile, ProfileConfig, Storage, StorageError, keeper_ini};
use crate::vault::apps::DeviceVault;

/// Environment variable holding a one-time token for `profile init`.
pub(super) const TOKEN_ENV: &str = "KEEPER_CLI_TOKEN";
/// The Secrets Manager CLI's name for it (ours wins when both are set).
pub(super) const KSM_TOKEN_ENV: &str = "KSM_CLI_TOKEN";
/// The variables a container's token may be in, ours first.
pub(super) const AUTO_TOKEN_ENV: [&str; 2] = [TOKEN_ENV, "KSM_TOKEN"];

/// `profile setup`: check that the storage holds a valid configuration
/// (the keyring's is taken from standard input when it has none), then
/// save the profile (pointing there) and make it the active one. Nothing
/// is written when the check fails.
pub(crate) fn setup(args: &ProfileSetupArgs) -> anyhow::Result<()> {
    let kind = match args.kind {
        StorageType::Keyring => Kind::Keyring,
        StorageType::Env => Kind::Env,
        StorageType::File => Kind::File,
        StorageType::Aws => Kind::Aws,
    };
    let aws = aws_spec(args, kind)?;
    // A relative file path is kept absolute: later uses run elsewhere.
    let secret = match (&args.secret, kind) {
        (Some(p), Kind::File) if !p.trim().is_empty() => Some(
            std::path::absolute(p)
                .with_context(|| format!("--secret {p}"))?
                .to_string_lossy()
                .into_owned(),
        ),
        (s, _) => s.clone(),
    };
    let storage = Storage::new(kind, secret, aws)?;
    let path = keeper_ini::locate(args.ini_file.as_deref());
    // Held from reading to writing: a profile another process adds
    // meanwhile is kept.
    let _lock = keeper_ini::lock(&path)?;
    // Read (and check) the file first: a malformed one is left alone.
    let mut file = IniFile::load(&path)?;
    let config = match storage.load() {
        Ok(c) => c,
        Err(StorageError::Missing(why)) if kind == Kind::Keyring => {
            let text = read_configuration(&why)?;
            let config = storage.parse(&text)?;
            storage.store_in_keyring(&text)?;
            config
        }
        Err(e) => return Err(e.into()),
    };
    file.put(&args.profile_name, storage.clone())?;
    file.set_active(&args.profile_name)?;
    file.save()?;
    println!(
        "Added profile {} to {} (client {}); its configuration is read from {} at each use; it is the active profile.",
        args.profile_name,
        path.display(),
        config.client_id,
        storage.describe()
    );
    Ok(())
}

/// The AWS part of `setup`'s flags (refused for the other kinds).
fn aws_spec(args: &ProfileSetupArgs, kind: Kind) -> anyhow::Result<Option<AwsSpec>> {
    let aws_flag = [
        args.credentials.is_some().then_some("--credentials"),
        args.credentials_profile
            .as_ref()
            .map(|_| "--credentials-profile"),
        args.aws_access_key_id
            .as_ref()
            .map(|_| "--aws-access-key-id"),
        args.aws_secret_access_key
            .as_ref()
            .map(|_| "--aws-secret-access-key"),
        args.region.as_ref().map(|_| "--region"),
        args.fallback.then_some("--fallback"),
    ]
    .into_iter()
    .flatten()
    .next();
    if kind != Kind::Aws {
        if let Some(flag) = aws_flag {
            bail!("{flag} goes with --type aws");
        }
        return Ok(None);
    }
    let keys_given = args.aws_access_key_id.is_some() || args.aws_secret_access_key.is_some();
    let provider = match args.credentials {
        None if keys_given || args.credentials_profile.is_some() => bail!(
            "--credentials-profile goes with --credentials profile, the access key flags with --credentials keys"
        ),
        None => Provider::Ec2Instance,
        Some(AwsCredentials::Profile) => {
            if keys_given {
                bail!("the access key flags go with --credentials keys");
            }
            Provider::Profile(
                args.credentials_profile
                    .clone()
                    .unwrap_or_else(|| "default".into()),
            )
        }
        Some(AwsCredentials::Keys) => {
            if args.credentials_profile.is_some() {
                bail!("--credentials-profile goes with --credentials profile");
            }
            let Some(id) = &args.aws_access_key_id else {
                bail!("--credentials keys needs --aws-access-key-id");
            };
            let secret_access_key = match &args.aws_secret_access_key {
                Some(secret) => secret.clone(),
                None => aws_secret_key()?,
            };
            Provider::Keys {
                access_key_id: id.clone(),
                secret_access_key,
            }
        }
    };
    if let Some(region) = &args.region {
        crate::profiles::storage::aws::check_region(region)?;
    }
    Ok(Some(AwsSpec {
        provider,
        region: args.region.clone(),
        fallback: args.fallback,
    }))
}

/// The AWS secret access key when `--aws-secret-access-key` is omitted:
/// `AWS_SECRET_ACCESS_KEY`, else a hidden prompt on a terminal, else the
/// first line of standard input.
fn aws_secret_key() -> anyhow::Result<SecretString> {
    if let Some(key) = std::env::var("AWS_SECRET_ACCESS_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        return Ok(SecretString::from(key.trim()));
    }
    let text = if std::io::stdin().is_terminal() {
        Zeroizing::new(rpassword::prompt_password("AWS secret access key: ")?)
    } else {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().read_line(&mut line)?;
        line
    };
    if text.trim().is_empty() {
        bail!(
            "--credentials keys needs the secret access key: --aws-secret-access-key, AWS_SECRET_ACCESS_KEY or standard input"
        );
    }
    Ok(SecretString::from(text.trim()))
}

/// The configuration to put in the keyring: a hidden prompt on a
/// terminal, else standard input.
fn read_configuration(missing: &str) -> anyhow::Result<Zeroizing<String>> {
    let text = if std::io::stdin().is_terminal() {
        Zeroizing::new(rpassword::prompt_password(
            "Device configuration (base64, from `secrets-manager client add --config-init b64`): ",
        )?)
    } else {
        let mut text = Zeroizing::new(String::new());
        std::io::stdin().read_to_string(&mut text)?;
        text
    };
    if text.trim().is_empty() {
        bail!("{missing}; give the configuration on standard input to store it there");
    }
    Ok(text)
}

/// Before a reading command: when keeper.ini (at `ini`, else the one
/// found) does not exist and a one-time token is in the environment,
/// initialise profile `name` (default "default") from it at the vault the
/// context names, and write keeper.ini where a new one goes. Once the file
/// exists the token is never looked at again.
pub(crate) fn auto_init(
    ctx: &Context,
    ini: Option<&Path>,
    name: Option<&str>,
) -> anyhow::Result<()> {
    let path = keeper_ini::locate(ini);
    if path.exists() {
        return Ok(());
    }
    let Some((var, token)) = AUTO_TOKEN_ENV.iter().find_map(|var| {
        std::env::var(var)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(|t| (*var, SecretString::from(t)))
    }) else {
        return Ok(());
    };
    let name = name.unwrap_or("default");
    // Processes starting together: one redeems the token and writes the
    // file while the others wait here, then read through that file.
    let _lock = keeper_ini::lock(&path)?;
    if path.exists() {
        return Ok(());
    }
    eprintln!(
        "No keeper.ini was found; initialising profile {name} in {} from the one-time token in {var}.",
        path.display()
    );
    let client = redeem_into(ctx, &token, &path, name, None)?;
    eprintln!("Added profile {name} (client {client}); it is the active profile.");
    Ok(())
}

/// Redeems `token` at the context's vault into profile `name` of the
/// keeper.ini at `path`, made the active one, holding keeper.ini's lock;
/// the new client's id.
pub(super) fn initialise(
    ctx: &Context,
    token: &SecretString,
    path: &Path,
    name: &str,
    hostname: Option<String>,
) -> anyhow::Result<String> {
    let _lock = keeper_ini::lock(path)?;
    redeem_into(ctx, token, path, name, hostname)
}

/// [`initialise`] with the lock already held, in two phases so a crash
/// loses no device: the new key pair is first saved (0600) as the only
/// profile of `keeper.ini.pending` beside keeper.ini, then bound at the
/// vault, then moved into keeper.ini. A rerun with the same token after a
/// crash between the bind and the save finds the pending profile, whose
/// key the vault already holds, and completes.
fn redeem_into(
    ctx: &Context,
    token: &SecretString,
    path: &Path,
    name: &str,
    hostname: Option<String>,
) -> anyhow::Result<String> {
    // Read (and check) the file before the token is spent.
    let mut file = IniFile::load(path)?;
    let location = ctx.vault_location()?;
    let fresh = DeviceVault::prepare(token)?;
    let pending_path = pending_path(path);
    let kept = IniFile::load(&pending_path)
        .ok()
        .and_then(|p| p.get(None).ok()?.1.config().ok()?.credentials().ok())
        .filter(|c| c.client_uid == fresh.client_uid);
    let creds = match kept {
        Some(creds) => {
            eprintln!(
                "Completing the earlier initialisation of client {} kept in {}.",
                creds.client_uid,
                pending_path.display()
            );
            creds
        }
        None => {
            // Another token's leftover (its device was never bound, or
            // is given up for this new token): replaced.
            match std::fs::remove_file(&pending_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("cannot replace {}", pending_path.display())));
                }
                _ => {}
            }
            let mut pending = IniFile::load(&pending_path)?;
            pending.put(
                name,
                ProfileConfig::new(location.config_value(), &fresh, None),
            )?;
            pending.save()?;
            fresh
        }
    };
    DeviceVault::bind(&location, token, &creds)?;
    crate::rotation::fault::point("after-bind");
    let config = ProfileConfig::new(location.config_value(), &creds, None).with_hostname(hostname);
    file.put(name, config)?;
    file.set_active(name)?;
    file.save().with_context(|| {
        format!(
            "the token was used, but the profile could not be saved; it is kept in {} (rerun with the same token to finish) (client {})",
            pending_path.display(),
            creds.client_uid
        )
    })?;
    let _ = std::fs::remove_file(&pending_path);
    Ok(creds.client_uid)
}

/// Where a redeem in progress keeps the device's key: `keeper.ini.pending`.
fn pending_path(path: &Path) -> std::path::PathBuf {
    let mut name = path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_else(|| keeper_ini::DEFAULT_NAME.into());
    name.push(".pending");
    path.with_file_name(name)
}
