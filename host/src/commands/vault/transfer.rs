//! `keeper export --format json|csv` and `keeper import --format json`.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;

use super::unlock;
use crate::cli::vault::{ExportArgs, ExportFormat, ImportArgs};
use crate::context::Context;
use crate::import::Collected;
use crate::import::shape::Shape;
use crate::vault::Vault;
use crate::vault::import_engine::{self, FolderSpec, ImportOptions, Outcome};
use crate::vault::keeper_json;
use crate::vault::membership::{ApplySummary, Membership};

/// `keeper export`.
pub(super) fn export(ctx: &Context, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let vault = unlock(ctx)?;
    let text = zeroize::Zeroizing::new(match args.format {
        ExportFormat::Json => serde_json::to_string_pretty(&keeper_json::export(&vault)?)? + "\n",
        ExportFormat::Csv => keeper_json::export_csv(&vault)?,
    });
    match &args.name {
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(text.as_bytes())?;
        }
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true);
            if args.force {
                options.create(true).truncate(true);
            } else {
                options.create_new(true);
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            let mut file = options.open(path).with_context(|| {
                format!(
                    "cannot create {} (pass --force to overwrite)",
                    path.display()
                )
            })?;
            std::io::Write::write_all(&mut file, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("Exported to {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `keeper import`: read the source (Keeper JSON here, anything else
/// through its importer plugin), shape it with the layout options and write
/// it with the vault's import engine in one transaction; with `--users`,
/// grant the shared-folder members the source lists that exist in the vault
/// instead (and import no records).
pub(super) fn import(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let shape = Shape {
        filter_folder: args.filter_folder.clone(),
        shared: args.shared,
        folder: args.folder.clone(),
        permissions: args.permissions.unwrap_or_default(),
        domain: args.old_domain.clone().zip(args.new_domain.clone()),
    };
    let (mut vault, mut collected) = if args.format.eq_ignore_ascii_case("json") {
        let collected = read_keeper_json(args)?;
        (unlock(ctx)?, collected)
    } else {
        collect_with_plugin(ctx, args)?
    };
    shape.apply(&mut collected);
    if args.show_skipped {
        for reason in &collected.skipped {
            eprintln!("skipped: {reason}");
        }
    }
    let membership = Membership {
        shared_folders: collected.shared.clone(),
        teams: if args.users {
            collected.teams.clone()
        } else {
            Vec::new()
        },
    };
    let options = ImportOptions {
        update: args.update,
        no_shortcuts: args.no_shortcuts,
    };
    if args.dry_run {
        let outcomes = import_engine::plan(&vault, &collected.records, options)?;
        print_plan(&collected, &outcomes);
        return Ok(ExitCode::SUCCESS);
    }
    if args.users {
        let applied = vault.apply_membership(&membership, false)?;
        report_membership(&applied);
        return Ok(ExitCode::SUCCESS);
    }
    let shared: Vec<_> = collected
        .shared
        .iter()
        .map(|sf| (sf.path.clone(), sf.defaults()))
        .collect();
    let summary = import_engine::import_records(&mut vault, &shared, &collected.records, options)?;
    println!(
        "{} records imported successfully",
        summary.added + summary.updated
    );
    eprintln!(
        "added {}, updated {}, skipped {} identical, {} skipped from the source, created {} folder(s), \
         stored {} attachment(s)",
        summary.added,
        summary.updated,
        summary.skipped,
        collected.skipped.len(),
        summary.folders_created,
        summary.attachments,
    );
    if summary.fields_moved > 0 {
        eprintln!(
            "{} field(s) of records over 5 MB were moved into attachments",
            summary.fields_moved
        );
    }
    // Members the source lists are granted only on request (`--users`, as
    // in Commander, or `apply-membership`): matched by path, a grant would
    // open every record of an existing shared folder of the same name.
    let listed: usize = membership
        .shared_folders
        .iter()
        .map(|sf| sf.permissions.len())
        .sum();
    if listed > 0 {
        eprintln!(
            "{listed} shared-folder member(s) listed in the source were not granted; \
             run the same import with --users to grant those that exist in this vault"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what `apply-membership` (or an import) granted.
pub(super) fn report_membership(s: &ApplySummary) {
    eprintln!(
        "shared folder members: {} added, {} updated, {} removed; {} folder default(s) updated; \
         {} team member(s) added",
        s.added, s.updated, s.removed, s.defaults_updated, s.team_members_added
    );
    for what in &s.not_applied {
        eprintln!("not applied: {what}");
    }
}

/// Reads a Keeper JSON source (file or `-`).
fn read_keeper_json(args: &ImportArgs) -> anyhow::Result<Collected> {
    let text = zeroize::Zeroizing::new(if args.name.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read stdin")?;
        s
    } else {
        std::fs::read_to_string(&args.name)
            .with_context(|| format!("cannot read {}", args.name.display()))?
    });
    let doc: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", args.name.display()))?;
    Ok(Collected::from(keeper_json::parse(&doc)?))
}

/// The dry run's table: each record, where it goes and what the engine
/// would do with it; nothing written.
fn print_plan(collected: &Collected, outcomes: &[Outcome]) {
    let rows: Vec<Vec<String>> = collected
        .records
        .iter()
        .zip(outcomes)
        .map(|(r, outcome)| {
            vec![
                r.folders
                    .first()
                    .map(FolderSpec::full_path)
                    .unwrap_or_default(),
                r.data.title.clone(),
                r.data.login().unwrap_or_default().to_string(),
                r.data.record_type.clone(),
                match outcome {
                    Outcome::Add => "add".to_string(),
                    Outcome::Update(uid) => format!("update {uid}"),
                    Outcome::Skip(uid) => format!("skip: identical to {uid}"),
                },
            ]
        })
        .collect();
    println!(
        "{}",
        crate::output::table(&["Folder", "Title", "Login", "Type", "Action"], &rows)
    );
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    println!(
        "{} records would be imported ({} added, {} updated); {} identical skipped; \
         {} skipped from the source; nothing was written",
        count(|o| !matches!(o, Outcome::Skip(_))),
        count(|o| matches!(o, Outcome::Add)),
        count(|o| matches!(o, Outcome::Update(_))),
        count(|o| matches!(o, Outcome::Skip(_))),
        collected.skipped.len()
    );
}

/// Runs an importer plugin over the source; unlocks the vault first so a
/// wrong master password fails before any work.
fn collect_with_plugin(ctx: &Context, args: &ImportArgs) -> anyhow::Result<(Vault, Collected)> {
    let source = args.name.to_string_lossy().into_owned();
    let options = if args.format == "lastpass" && source.contains('@') && !args.name.is_file() {
        lastpass_online_options(&source, args.otp.as_deref())?
    } else {
        Vec::new()
    };
    let request = crate::import::Request {
        format: &args.format,
        source: &source,
        record_type: args.record_type.as_deref(),
        server: args.lastpass_server.as_deref(),
        options,
    };
    let vault = unlock(ctx)?;
    Ok((vault, run_importer(ctx, &request)?))
}

/// Runs an importer plugin to the end (from synchronous command code).
pub(super) fn run_importer(
    ctx: &Context,
    request: &crate::import::Request<'_>,
) -> anyhow::Result<Collected> {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        runtime.block_on(crate::import::collect(
            &ctx.plugin_dir(),
            &ctx.cache_dir(),
            request,
        ))
    })
}

/// Options for the lastpass plugin's online mode: the master password from
/// `KEEPER_LASTPASS_PASSWORD` or a prompt, and the one-time code.
pub(super) fn lastpass_online_options(
    account: &str,
    otp: Option<&str>,
) -> anyhow::Result<Vec<(String, String)>> {
    let password = match std::env::var("KEEPER_LASTPASS_PASSWORD") {
        Ok(p) => p,
        Err(_) => rpassword::prompt_password(format!("LastPass master password for {account}: "))
            .context(
            "cannot read the LastPass master password (set KEEPER_LASTPASS_PASSWORD)",
        )?,
    };
    let mut options = vec![
        ("mode".to_string(), "online".to_string()),
        ("password".to_string(), password),
    ];
    if let Some(otp) = otp {
        options.push(("otp".to_string(), otp.to_string()));
    }
    Ok(options)
}
