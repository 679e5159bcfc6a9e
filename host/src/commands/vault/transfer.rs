//! `keeper export --format json|csv` and `keeper import --format json`.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;

use super::unlock;
use crate::cli::vault::{ExportArgs, ExportFormat, ImportArgs};
use crate::context::Context;
use crate::vault::keeper_json;

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

/// `keeper import`.
pub(super) fn import(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    if !args.format.eq_ignore_ascii_case("json") {
        return import_with_plugin(ctx, args);
    }
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
    let mut vault = unlock(ctx)?;
    let summary = keeper_json::import(&mut vault, &doc)?;
    println!(
        "{} records imported successfully",
        summary.added + summary.updated
    );
    eprintln!(
        "added {}, updated {}, skipped {} identical, created {} folder(s)",
        summary.added, summary.updated, summary.skipped, summary.folders_created
    );
    Ok(ExitCode::SUCCESS)
}

/// `import --format <importer plugin>`: the plugin parses, the vault's
/// import engine writes everything in one transaction.
fn import_with_plugin(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let source = args.name.to_string_lossy().into_owned();
    let mut options = Vec::new();
    // Online LastPass: its master password, from the environment or a prompt.
    if args.format == "lastpass" && source.contains('@') && !args.name.is_file() {
        let password = match std::env::var("KEEPER_LASTPASS_PASSWORD") {
            Ok(p) => p,
            Err(_) => {
                rpassword::prompt_password(format!("LastPass master password for {source}: "))
                    .context(
                        "cannot read the LastPass master password (set KEEPER_LASTPASS_PASSWORD)",
                    )?
            }
        };
        options.push(("mode".to_string(), "online".to_string()));
        options.push(("password".to_string(), password));
        if let Some(otp) = &args.otp {
            options.push(("otp".to_string(), otp.clone()));
        }
    }
    let request = crate::import::Request {
        format: &args.format,
        source: &source,
        folder: args.folder.as_deref(),
        record_type: args.record_type.as_deref(),
        server: args.lastpass_server.as_deref(),
        options,
    };
    // Unlock first: a wrong master password should fail before any work.
    let mut vault = unlock(ctx)?;
    let runtime = tokio::runtime::Handle::current();
    let collected = tokio::task::block_in_place(|| {
        runtime.block_on(crate::import::collect(
            &ctx.plugin_dir(),
            &ctx.cache_dir(),
            &request,
        ))
    })?;
    if args.show_skipped {
        for reason in &collected.skipped {
            eprintln!("skipped: {reason}");
        }
    }
    if args.dry_run {
        let rows: Vec<Vec<String>> = collected
            .records
            .iter()
            .map(|r| {
                let place = r.folders.first().map(|f| {
                    [f.shared_folder.as_deref(), f.folder.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("\\")
                });
                vec![
                    r.data.title.clone(),
                    r.data.record_type.clone(),
                    place.unwrap_or_default(),
                ]
            })
            .collect();
        println!(
            "{}",
            crate::output::table(&["Title", "Type", "Folder"], &rows)
        );
        println!(
            "{} records would be imported; {} skipped; nothing was written",
            collected.records.len(),
            collected.skipped.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let summary = keeper_json::import_records(&mut vault, &collected.shared, &collected.records)?;
    println!(
        "{} records imported successfully",
        summary.added + summary.updated
    );
    eprintln!(
        "added {}, updated {}, skipped {} identical, {} skipped from the source, created {} folder(s)",
        summary.added,
        summary.updated,
        summary.skipped,
        collected.skipped.len(),
        summary.folders_created
    );
    Ok(ExitCode::SUCCESS)
}
