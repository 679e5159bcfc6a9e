//! `keeper rotate` and `keeper audit-log`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use crate::cli::Format;
use crate::cli::rotate::{AuditLogArgs, RotateArgs};
use crate::context::Context;
use crate::output::print_listing;
use crate::rotation::{Engine, Options, Report, params, view};
use crate::vault::Vault;

/// Runs `keeper rotate`.
pub(crate) async fn run(ctx: &Context, args: RotateArgs) -> anyhow::Result<ExitCode> {
    let vault = super::vault::unlock_owned(ctx)?;
    if args.name.is_none() && args.r#match.is_none() && !args.resume {
        return list_endpoints(&vault, args.format);
    }
    let targets = select(&vault, &args)?;
    let engine = Arc::new(
        Engine::new(
            vault,
            ctx.plugin_dir(),
            ctx.cache_dir(),
            ctx.data_dir.join("known_hosts"),
        )?
        .with_native_plugins(ctx.config.native_plugins),
    );
    let options = Options {
        overrides: params::Overrides {
            plugin: args.plugin.clone(),
            host: args.host.clone(),
            port: args.port,
        },
        rules: args.rules.clone(),
        length: args.length,
        password: args.password.clone(),
        accept_host_key: args.accept_host_key,
        resume_only: args.resume,
        wait: args.wait,
        min_length: args.min_length.or(ctx.config.rotation_min_length),
    };
    if targets.is_empty() {
        println!(
            "{}",
            if args.resume {
                "No pending rotations."
            } else {
                "No records to rotate."
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        let mut plans = Vec::new();
        for (uid, endpoint) in &targets {
            plans.push(engine.plan(uid, endpoint.as_deref(), &options).await);
        }
        let rows: Vec<Vec<String>> = plans
            .iter()
            .map(|p| {
                vec![
                    p.uid.clone(),
                    p.title.clone(),
                    p.plugin.clone(),
                    p.target.clone(),
                    p.rules.clone(),
                    p.status.clone(),
                ]
            })
            .collect();
        print_listing(
            args.format,
            &["Record", "Title", "Plugin", "Target", "Rules", "Status"],
            &rows,
            &plans,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let reports = run_all(&engine, targets, &options, args.parallel.max(1)).await;
    print_reports(&reports, args.format, args.print)?;
    Ok(if reports.iter().any(|r| r.outcome.is_failure()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Rotates `targets`, at most `parallel` at once, with a progress bar on a terminal.
async fn run_all(
    engine: &Arc<Engine>,
    targets: Vec<(String, Option<String>)>,
    options: &Options,
    parallel: usize,
) -> Vec<Report> {
    let bar = (targets.len() > 1 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(targets.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rotated {msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    let progress = bar.clone();
    let reports = engine
        .rotate_all(targets, options, parallel, move |_| {
            if let Some(bar) = &progress {
                bar.inc(1);
            }
        })
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    reports
}

fn print_reports(reports: &[Report], format: Format, print: bool) -> anyhow::Result<()> {
    let reports: Vec<Report> = reports
        .iter()
        .cloned()
        .map(|mut r| {
            if print {
                r.password = r.new_password.clone();
            }
            r
        })
        .collect();
    let mut headers = vec![
        "Record", "Title", "Plugin", "Target", "Outcome", "ms", "Message",
    ];
    if print {
        headers.push("Password");
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let outcome = serde_json::to_value(r.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let mut row = vec![
                r.uid.clone(),
                r.title.clone(),
                if r.native {
                    crate::rotation::native_label(&r.plugin)
                } else {
                    r.plugin.clone()
                },
                r.target.clone(),
                outcome,
                r.duration_ms.to_string(),
                r.message.clone().unwrap_or_default(),
            ];
            if print {
                row.push(r.password.as_deref().cloned().unwrap_or_default());
            }
            row
        })
        .collect();
    print_listing(format, &headers, &rows, &reports)?;
    if format == Format::Table && reports.len() > 1 {
        let failed = reports.iter().filter(|r| r.outcome.is_failure()).count();
        println!(
            "{} rotated or resolved, {failed} failed",
            reports.len() - failed
        );
    }
    Ok(())
}

/// The records (and endpoint names) a command line selects.
fn select(vault: &Vault, args: &RotateArgs) -> anyhow::Result<Vec<(String, Option<String>)>> {
    if let Some(pattern) = &args.r#match {
        let regex = crate::vault::SearchPattern::new(pattern).context("invalid --match pattern")?;
        let records = vault.search(&regex)?;
        let interactive = std::io::stdin().is_terminal();
        if !args.force && !args.dry_run && !args.resume && !interactive {
            bail!(
                "--match rotates {} record(s); pass --force to rotate them without asking",
                records.len()
            );
        }
        let mut selected = Vec::new();
        for record in records {
            if args.force
                || args.dry_run
                || args.resume
                || confirm(&format!(
                    "Rotate password for record {}?",
                    record.data.title
                ))?
            {
                selected.push((record.uid.clone(), None));
            }
        }
        return Ok(selected);
    }
    let Some(name) = &args.name else {
        // `--resume` alone: every pending rotation.
        return Ok(vault
            .pending_rotations()?
            .into_iter()
            .map(|(uid, _)| (uid, None))
            .collect());
    };
    if let Ok(record) = vault.record(name) {
        return Ok(vec![(record.uid, None)]);
    }
    // Title or endpoint name, case-insensitive.
    let mut matches = Vec::new();
    for record in vault.records()? {
        let endpoints = params::endpoints(&view::record_view(&record));
        if record.data.title.eq_ignore_ascii_case(name) {
            matches.push((record.uid.clone(), None));
        } else if let Some(e) = endpoints
            .iter()
            .find(|e| !e.name.is_empty() && e.name.eq_ignore_ascii_case(name))
        {
            matches.push((record.uid.clone(), Some(e.name.clone())));
        }
    }
    match matches.len() {
        1 => return Ok(matches),
        n if n > 1 => bail!("{n} records are named {name:?}; use the record uid"),
        _ => {}
    }
    // A folder path: every record in it (and below) that has an endpoint.
    let tree = vault.folder_tree()?;
    if let Ok(folder) = tree.resolve(name) {
        let mut selected = Vec::new();
        for folder in tree.subtree(folder) {
            for uid in tree.records_in(&folder) {
                if let Ok(record) = vault.record(uid) {
                    if !params::endpoints(&view::record_view(&record)).is_empty() {
                        selected.push((uid.clone(), None));
                    }
                }
            }
        }
        return Ok(selected);
    }
    bail!("rotate {name}: no record, endpoint or folder of that name")
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, Write};
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Lists rotation endpoints (Commander's table, plus pending state).
fn list_endpoints(vault: &Vault, format: Format) -> anyhow::Result<ExitCode> {
    #[derive(serde::Serialize)]
    struct Row {
        name: String,
        plugin: String,
        record_uid: String,
        record_title: String,
        folder: String,
        pending: bool,
    }
    let tree = vault.folder_tree()?;
    let pending: Vec<String> = vault
        .pending_rotations()?
        .into_iter()
        .map(|(uid, _)| uid)
        .collect();
    let mut rows = Vec::new();
    for record in vault.records()? {
        for e in params::endpoints(&view::record_view(&record)) {
            let folder = tree
                .folders_of(&record.uid)
                .first()
                .map(|f| tree.path_of(f))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/".into());
            rows.push(Row {
                name: e.name,
                plugin: e.plugin,
                record_uid: record.uid.clone(),
                record_title: record.data.title.clone(),
                folder,
                pending: pending.contains(&record.uid),
            });
        }
    }
    rows.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.record_title.cmp(&b.record_title))
    });
    let table: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let title = if r.record_title.chars().count() > 23 {
                format!("{}...", r.record_title.chars().take(20).collect::<String>())
            } else {
                r.record_title.clone()
            };
            vec![
                (i + 1).to_string(),
                r.name.clone(),
                r.plugin.clone(),
                r.record_uid.clone(),
                title,
                r.folder.clone(),
                if r.pending {
                    "pending".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    print_listing(
        format,
        &[
            "#",
            "Name",
            "Type",
            "Record UID",
            "Record Title",
            "Folder(s)",
            "State",
        ],
        &table,
        &rows,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `keeper audit-log`.
pub(crate) fn audit_log(ctx: &Context, args: AuditLogArgs) -> anyhow::Result<ExitCode> {
    let vault = super::vault::unlock(ctx)?;
    let only = match &args.record {
        Some(name) => Some(vault.find_record(name)?.uid),
        None => None,
    };
    let entries: Vec<_> = vault
        .audit_log()?
        .into_iter()
        .filter(|e| only.as_ref().is_none_or(|u| &e.record_uid == u))
        .collect();
    #[derive(serde::Serialize)]
    struct Row<'a> {
        at: i64,
        record_uid: &'a str,
        plugin: &'a str,
        target: &'a str,
        outcome: &'a str,
        duration_ms: i64,
    }
    let json: Vec<Row<'_>> = entries
        .iter()
        .map(|e| Row {
            at: e.at,
            record_uid: &e.record_uid,
            plugin: &e.plugin,
            target: &e.target,
            outcome: &e.outcome,
            duration_ms: e.duration_ms,
        })
        .collect();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                crate::vault::model::fields::format_date(e.at),
                e.record_uid.clone(),
                e.plugin.clone(),
                e.target.clone(),
                e.outcome.clone(),
                e.duration_ms.to_string(),
            ]
        })
        .collect();
    print_listing(
        args.format,
        &["When", "Record", "Plugin", "Target", "Outcome", "ms"],
        &rows,
        &json,
    )?;
    Ok(ExitCode::SUCCESS)
}
