//! `keeper search` and `keeper find-duplicate`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::{confirm, unlock};
use crate::cli::vault::{FindDuplicateArgs, SearchArgs};
use crate::context::Context;
use crate::output::print_listing;
use crate::vault::SearchPattern;
use crate::vault::duplicates::{self, Criteria};

/// `keeper search PATTERN`.
pub(super) fn search(ctx: &Context, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let pattern = SearchPattern::new(&args.pattern)
        .with_context(|| format!("invalid regular expression {:?}", args.pattern))?;
    let vault = unlock(ctx)?;
    let mut found: Vec<_> = vault
        .search(&pattern)?
        .into_iter()
        .map(|r| r.summary())
        .collect();
    found.sort_by(|a, b| {
        a.title
            .to_lowercase()
            .cmp(&b.title.to_lowercase())
            .then(a.uid.cmp(&b.uid))
    });
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|s| {
            vec![
                s.uid.clone(),
                s.record_type.clone(),
                s.title.clone(),
                s.login.clone(),
                s.url.clone(),
            ]
        })
        .collect();
    print_listing(
        args.format,
        &["UID", "Type", "Title", "Login", "URL"],
        &rows,
        &found,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `keeper find-duplicate`.
pub(super) fn find_duplicate(ctx: &Context, args: &FindDuplicateArgs) -> anyhow::Result<ExitCode> {
    let criteria = Criteria {
        title: args.title,
        login: args.login,
        password: args.password,
        url: args.url,
        full: args.full || args.merge,
    };
    let mut vault = unlock(ctx)?;
    let records = vault.records()?;
    let groups = duplicates::find(&records, criteria);
    let mut rows = Vec::new();
    let mut json_rows = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        for (j, r) in group.iter().enumerate() {
            let s = r.summary();
            let keep = if j == 0 { "keep" } else { "duplicate" };
            rows.push(vec![
                (i + 1).to_string(),
                s.title.clone(),
                s.login.clone(),
                s.url.clone(),
                s.uid.clone(),
                keep.into(),
            ]);
            json_rows.push(
                json!({"group": i + 1, "title": s.title, "login": s.login, "url": s.url,
                                  "uid": s.uid, "status": keep}),
            );
        }
    }
    if !args.merge || args.dry_run || groups.is_empty() {
        print_listing(
            args.format,
            &["Group", "Title", "Login", "URL", "UID", "Status"],
            &rows,
            &json_rows,
        )?;
        if args.merge && args.dry_run {
            let n: usize = groups.iter().map(|g| g.len() - 1).sum();
            eprintln!("dry run: {n} duplicate record(s) would be deleted");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let doomed: Vec<String> = groups
        .iter()
        .flat_map(|g| g.iter().skip(1).map(|r| r.uid.clone()))
        .collect();
    if !confirm(
        &format!(
            "Delete {} duplicate record(s), keeping the oldest of each group?",
            doomed.len()
        ),
        args.force,
    )? {
        bail!("cancelled");
    }
    drop(groups);
    for uid in &doomed {
        vault.delete_record(uid)?;
    }
    println!("Deleted {} duplicate record(s)", doomed.len());
    Ok(ExitCode::SUCCESS)
}
