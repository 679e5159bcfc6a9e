//! `profile …`, `secret …` and `exec`: device profiles in keeper.ini and
//! reading as a client device. Nothing here asks for a master password or
//! runs Argon2: a profile's device key opens its application's key.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret as _, SecretString};

use super::profile_setup::{AUTO_TOKEN_ENV, KSM_TOKEN_ENV, TOKEN_ENV, initialise};
use crate::cli::Format;
use crate::cli::profiles::{
    DeviceArgs, ExecArgs, FileFormat, ProfileCommand, ProfileInitArgs, SecretCommand,
};
use crate::context::Context;
use crate::output::{print_listing, table};
use crate::profiles::notation::{Notation, SCHEME, Selector};
use crate::profiles::storage::Kind;
use crate::profiles::{IniFile, Profile, ProfileConfig, keeper_ini, open_device};
use crate::vault::apps::DeviceVault;
use crate::vault::model::Record;
use crate::vault::model::fields::display;

/// Runs one `profile` command.
pub(crate) fn profile(ctx: &Context, cmd: ProfileCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ProfileCommand::Init(args) => init(ctx, &args)?,
        ProfileCommand::Setup(args) => super::profile_setup::setup(&args)?,
        ProfileCommand::List { ini_file, format } => {
            let file = IniFile::load(&keeper_ini::locate(ini_file.as_deref()))?;
            let names = file.names();
            let rows: Vec<Vec<String>> = names
                .iter()
                .map(|(n, active)| vec![if *active { "*" } else { "" }.to_string(), n.clone()])
                .collect();
            let json: Vec<_> = names
                .iter()
                .map(|(n, a)| serde_json::json!({"profile": n, "active": a}))
                .collect();
            print_listing(format, &["Active", "Profile"], &rows, &json)?;
        }
        ProfileCommand::Export {
            name,
            plain,
            file_format,
            ini_file,
        } => {
            let file = IniFile::load(&keeper_ini::locate(ini_file.as_deref()))?;
            let (name, profile) = file.get(name.as_deref())?;
            let config = match profile {
                Profile::Config(c) => c,
                Profile::External(s) => bail!(
                    "profile {name} keeps its configuration in {}: it is not exported (it can be read from there)",
                    s.describe()
                ),
            };
            println!(
                "{}",
                config
                    .export(name, file_format == FileFormat::Ini, plain)
                    .as_str()
            );
        }
        ProfileCommand::Import {
            configuration,
            output_file,
            profile_name,
        } => {
            let (exported, config) = ProfileConfig::parse(configuration.expose_secret())?;
            let path = keeper_ini::locate(output_file.as_deref());
            let _lock = keeper_ini::lock(&path)?;
            let mut file = IniFile::load(&path)?;
            let name = profile_name
                .or(exported)
                .unwrap_or_else(|| "default".into());
            file.put(&name, config)?;
            if file.names().iter().all(|(_, active)| !active) {
                file.set_active(&name)?;
            }
            file.save()?;
            println!("Imported profile {name} into {}.", path.display());
        }
        ProfileCommand::Active { name, ini_file } => {
            let path = keeper_ini::locate(ini_file.as_deref());
            let _lock = keeper_ini::lock(&path)?;
            let mut file = IniFile::load(&path)?;
            file.set_active(&name)?;
            file.save()?;
            println!("{name} is now the active profile.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `profile init`: redeem the token at the vault `--store` names (else the
/// data directory's), then save the profile and make it the active one.
fn init(ctx: &Context, args: &ProfileInitArgs) -> anyhow::Result<()> {
    let token = match &args.token {
        Some(t) => t.clone(),
        None => match [TOKEN_ENV, KSM_TOKEN_ENV]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|t| !t.trim().is_empty()))
        {
            Some(t) => SecretString::from(t),
            None => bail!("give the one-time token with --token or {TOKEN_ENV}"),
        },
    };
    let path = keeper_ini::locate(args.ini_file.as_deref());
    let hostname = args.hostname.map(|h| h.code().to_string());
    let client = initialise(ctx, &token, &path, &args.profile_name, hostname)?;
    println!(
        "Added profile {} to {} (client {client}); it is the active profile.",
        args.profile_name,
        path.display()
    );
    Ok(())
}

fn device(ctx: &Context, args: &DeviceArgs) -> anyhow::Result<DeviceVault> {
    super::profile_setup::auto_init(ctx, args.ini_file.as_deref(), args.profile.as_deref())?;
    Ok(open_device(
        args.ini_file.as_deref(),
        args.profile.as_deref(),
    )?)
}

/// Runs one `secret` command.
pub(crate) fn secret(ctx: &Context, cmd: SecretCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SecretCommand::List { device: d, format } => {
            let records = device(ctx, &d)?.records()?;
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|r| {
                    vec![
                        r.uid.clone(),
                        r.data.record_type.clone(),
                        r.data.title.clone(),
                    ]
                })
                .collect();
            let json: Vec<_> = records
                .iter()
                .map(|r| {
                    serde_json::json!({"uid": r.uid, "type": r.data.record_type, "title": r.data.title})
                })
                .collect();
            print_listing(format, &["UID", "Record Type", "Title"], &rows, &json)?;
        }
        SecretCommand::Get {
            record,
            field,
            json,
            device: d,
        } => {
            let record = device(ctx, &d)?.record(&record)?;
            match field {
                Some(name) => {
                    let notation = Notation {
                        record: record.uid.clone(),
                        selector: Selector::Field {
                            custom: false,
                            name,
                            index: json.then_some(None),
                        },
                    };
                    println!("{}", notation.resolve(&record)?.as_str());
                }
                None => print_record(&record, if json { Format::Json } else { Format::Table })?,
            }
        }
        SecretCommand::Notation {
            notation,
            device: d,
        } => {
            let notation = Notation::parse(&notation)?;
            let record = device(ctx, &d)?.record(&notation.record)?;
            println!("{}", notation.resolve(&record)?.as_str());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A record as the device reads it: every value in the clear.
fn print_record(r: &Record, format: Format) -> anyhow::Result<()> {
    let d = &r.data;
    if format == Format::Json {
        let value = serde_json::json!({
            "uid": r.uid, "title": d.title, "type": d.record_type,
            "fields": d.fields, "custom": d.custom, "notes": d.notes.as_str(),
        });
        println!(
            "{}",
            zeroize::Zeroizing::new(serde_json::to_string_pretty(&value)?).as_str()
        );
        return Ok(());
    }
    println!(
        "Record: {}\nTitle: {}\nRecord Type: {}\n",
        r.uid, d.title, d.record_type
    );
    let rows: Vec<Vec<String>> = d
        .fields
        .iter()
        .chain(&d.custom)
        .filter(|f| !f.is_empty())
        .map(|f| {
            let values: Vec<String> = f.value.iter().map(|v| display(&f.kind, v, true)).collect();
            vec![f.name(), values.join(", ")]
        })
        .collect();
    println!("{}", table(&["Field", "Value"], &rows));
    if !d.notes.is_empty() {
        println!("\nNotes: {}", d.notes.as_str());
    }
    Ok(())
}

/// The variables `exec`'s child never sees: every name a one-time token
/// is read from, `KSM_CONFIG`, and the variable the profile's
/// configuration is in when it is an env profile.
fn device_secret_variables(args: &DeviceArgs) -> Vec<String> {
    let mut names: Vec<String> = [TOKEN_ENV, KSM_TOKEN_ENV]
        .into_iter()
        .chain(AUTO_TOKEN_ENV)
        .chain(Kind::Env.default_secret())
        .map(str::to_string)
        .collect();
    let file = IniFile::load(&keeper_ini::locate(args.ini_file.as_deref()));
    if let Ok(file) = file
        && let Ok((_, Profile::External(s))) = file.get(args.profile.as_deref())
        && s.kind == Kind::Env
    {
        names.push(s.secret.clone());
    }
    names
}

/// `exec -- CMD`: runs CMD with every environment variable whose value is
/// a keeper:// notation replaced by the value it names, and without the
/// device's secrets ([`device_secret_variables`]); exits as CMD does.
pub(crate) async fn exec(ctx: &Context, args: ExecArgs) -> anyhow::Result<ExitCode> {
    let references: Vec<(String, Notation)> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let (k, v) = (k.into_string().ok()?, v.into_string().ok()?);
            v.starts_with(SCHEME).then_some((k, v))
        })
        .map(|(k, v)| {
            Notation::parse(&v)
                .map(|n| (k.clone(), n))
                .with_context(|| format!("environment variable {k}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let (program, rest) = args
        .command
        .split_first()
        .context("name the command to run after --")?;
    let mut command = tokio::process::Command::new(program);
    command.args(rest);
    for name in device_secret_variables(&args.device) {
        command.env_remove(name);
    }
    if !references.is_empty() {
        let vault = device(ctx, &args.device)?;
        let records = vault.records()?;
        for (name, notation) in &references {
            let record = records
                .iter()
                .find(|r| r.uid == notation.record)
                .or_else(|| records.iter().find(|r| r.data.title == notation.record))
                .with_context(|| {
                    format!(
                        "environment variable {name}: record {} is not shared with this device's application",
                        notation.record
                    )
                })?;
            let value = notation
                .resolve(record)
                .with_context(|| format!("environment variable {name}"))?;
            command.env(name, value.as_str());
        }
    }
    let status = command
        .status()
        .await
        .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
