//! `keeper export --format json|csv` and `keeper import --format json`.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;

use super::unlock;
use crate::cli::vault::{ExportArgs, ExportFormat, ImportArgs};
use crate::context::Context;
use crate::import::Collected;
use crate::import::bridge::stream_blocking;
use crate::import::engine::ImportOptions;
use crate::import::keeper_json;
use crate::import::run::{Finished, Notice, Planned, Run, RunOptions};
use crate::import::shape::Shape;
use crate::rotation::native_label;
use crate::vault::Action;
use crate::vault::membership::ApplySummary;

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
/// through its importer plugin, streamed), and hand it to an import run
/// ([`crate::import::run`]): written in one transaction, or in parts for a
/// large source; with `--users`, the shared-folder members the source lists
/// that exist in the vault are granted instead (and no records imported).
pub(super) fn import(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let options = RunOptions {
        engine: ImportOptions {
            update: args.update,
            no_shortcuts: args.no_shortcuts,
        },
        shape: Shape {
            filter_folder: args.filter_folder.clone(),
            shared: args.shared,
            folder: args.folder.clone(),
            permissions: args.permissions.unwrap_or_default(),
            domain: args.old_domain.clone().zip(args.new_domain.clone()),
        },
        dry_run: args.dry_run,
        users: args.users,
    };
    let show_skipped = args.show_skipped;
    let notify = move |notice: Notice<'_>| match notice {
        Notice::Skipped(reason) if show_skipped => eprintln!("skipped: {reason}"),
        Notice::Skipped(_) => {}
        Notice::WritingInParts => eprintln!(
            "A large source: writing it in parts of up to {} records or {} MiB, one \
             transaction each; if the import stops, run the same command again to resume it.",
            crate::import::PART_RECORDS,
            crate::import::PART_BYTES >> 20
        ),
    };
    let mut vault;
    let mut run;
    // A native importer is said to be one once it is loaded, before it
    // runs, and in the report and the audit log.
    let native = std::sync::OnceLock::<String>::new();
    let on_native = |id: &str| {
        let label = native_label(id);
        eprintln!("Importing with {label}: it runs with all of keeper's rights.");
        let _ = native.set(label);
    };
    let started = std::time::Instant::now();
    let source = args.name.to_string_lossy().into_owned();
    let read = if args.format.eq_ignore_ascii_case("json") {
        let collected = read_keeper_json(args)?;
        vault = unlock(ctx)?;
        run = Run::new(&vault, options, notify)?;
        run.take(&mut vault, collected).map_err(anyhow::Error::from)
    } else {
        let online = if args.format == "lastpass" && source.contains('@') && !args.name.is_file() {
            lastpass_online_options(&source, args.otp.as_deref())?
        } else {
            Vec::new()
        };
        let request = crate::import::Request {
            format: &args.format,
            source: &source,
            record_type: args.record_type.as_deref(),
            server: args.lastpass_server.as_deref(),
            options: online,
            file_cache: args.file_cache.clone(),
            // `--users` imports no records: nothing to download either.
            dry_run: args.dry_run || args.users,
            match_uids: args.match_uids,
            native_plugins: ctx.config.native_plugins,
            on_native: Some(crate::import::OnNative(&on_native)),
        };
        // Unlock first, so that a wrong master password fails before any work.
        vault = unlock(ctx)?;
        run = Run::new(&vault, options, notify)?;
        stream_blocking(&ctx.plugin_dir(), &ctx.cache_dir(), &request, |part| {
            Ok(run.take(&mut vault, part)?)
        })
        .map_err(anyhow::Error::from)
    };
    let finished = read
        .and_then(|()| Ok(run.finish(&mut vault)?))
        .map_err(|e| explain(&run, e));
    if let Some(plugin) = native.get() {
        let outcome = match &finished {
            Err(_) => "failed",
            Ok(Finished::Planned { .. }) => "dry run",
            Ok(_) => "success",
        };
        audit_native_import(&mut vault, plugin, &source, outcome, started);
    }
    report(&finished?);
    if let Some(plugin) = native.get() {
        println!("Importer: {plugin}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The audit entry of an import a native (unsandboxed) importer did (or
/// tried, or ran dry): no record of its own (`record_uid` empty), the
/// importer, "import" and the source as its target. A failure to write
/// it is said, and does not undo the import.
fn audit_native_import(
    vault: &mut crate::vault::Vault,
    plugin: &str,
    source: &str,
    outcome: &str,
    started: std::time::Instant,
) {
    let entry = crate::vault::store::AuditRow {
        tenant_uid: String::new(),
        record_uid: String::new(),
        plugin: plugin.to_string(),
        target: format!("import {source}"),
        outcome: outcome.to_string(),
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        at: crate::vault::model::now_ms(),
    };
    if let Err(e) = vault.append_audit(&entry) {
        eprintln!("warning: the audit entry of this import was not written: {e}");
    }
}

/// Says what a failed import leaves behind.
fn explain(run: &Run<'_>, e: anyhow::Error) -> anyhow::Error {
    match run.written() {
        None => e.context("nothing was imported"),
        Some((parts, s)) => e.context(format!(
            "the import stopped after {parts} part(s) ({} records added, {} updated, {} already \
             present); run the same command again to resume it (records already imported \
             are skipped)",
            s.added, s.updated, s.skipped
        )),
    }
}

/// Prints what an import did.
fn report(finished: &Finished) {
    let (summary, skipped, listed) = match finished {
        Finished::Planned { records, skipped } => return print_plan(records, *skipped),
        Finished::Membership(applied) => return report_membership(applied),
        Finished::Imported {
            summary,
            skipped,
            members_listed,
        } => (summary, skipped, *members_listed),
    };
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
        skipped,
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
    if listed > 0 {
        eprintln!(
            "{listed} shared-folder member(s) listed in the source were not granted; \
             run the same import with --users to grant those that exist in this vault"
        );
    }
}

/// Prints what `apply-membership` (or an import) granted.
pub(super) fn report_membership(s: &ApplySummary) {
    eprintln!(
        "shared folder members: {} added, {} updated, {} removed; {} folder default(s) updated; \
         {} team member(s) added, {} removed",
        s.added,
        s.updated,
        s.removed,
        s.defaults_updated,
        s.team_members_added,
        s.team_members_removed
    );
    for what in &s.not_applied {
        // Folder paths and member names as the source wrote them.
        eprintln!(
            "not applied: {}",
            crate::runtime::text::escape_controls(what)
        );
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
fn print_plan(plan: &[Planned], skipped: usize) {
    let rows: Vec<Vec<String>> = plan
        .iter()
        .map(|p| {
            // The source's text, stored as it came, shown as text.
            let shown = |text: &str| crate::runtime::text::escaped(text);
            vec![
                shown(&p.folder),
                shown(&p.title),
                shown(&p.login),
                shown(&p.record_type),
                match &p.action {
                    Action::Add => "add".to_string(),
                    Action::Replace(uid) => format!("update {uid}"),
                    Action::Link(uid) => format!("skip: identical to {uid}"),
                },
            ]
        })
        .collect();
    println!(
        "{}",
        crate::output::table(&["Folder", "Title", "Login", "Type", "Action"], &rows)
    );
    let count = |f: fn(&Action) -> bool| plan.iter().filter(|p| f(&p.action)).count();
    println!(
        "{} records would be imported ({} added, {} updated); {} identical skipped; \
         {} skipped from the source; nothing was written",
        count(|a| !matches!(a, Action::Link(_))),
        count(|a| matches!(a, Action::Add)),
        count(|a| matches!(a, Action::Replace(_))),
        count(|a| matches!(a, Action::Link(_))),
        skipped
    );
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
