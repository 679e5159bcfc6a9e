//! `keeper export --format json|csv` and `keeper import --format json`.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};

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
        bail!(
            "import format {:?} is not supported here; use --format json (Keeper JSON)",
            args.format
        );
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
