//! `keeper download-membership` and `keeper apply-membership`.

use std::process::ExitCode;

use anyhow::Context as _;

use super::transfer::{lastpass_online_options, report_membership};
use super::unlock;
use crate::cli::membership::{
    ApplyMembershipArgs, DownloadMembershipArgs, MembershipSource, SubFolderArg,
};
use crate::context::Context;
use crate::vault::membership::{Membership, SubFolder};

/// `keeper download-membership`.
pub(super) fn download(ctx: &Context, args: &DownloadMembershipArgs) -> anyhow::Result<ExitCode> {
    // Read the existing file first: a malformed one stops us before any work.
    let old: Option<Membership> = match std::fs::read_to_string(&args.name) {
        Ok(text) => Some(serde_json::from_str(&text).with_context(|| {
            format!(
                "{} exists but is not a membership file; move it away or name another file",
                args.name.display()
            )
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", args.name.display())),
    };
    let mut m = match args.source {
        MembershipSource::Keeper => unlock(ctx)?.membership(!args.folders_only)?,
        MembershipSource::Lastpass => lastpass(ctx, args)?,
    };
    m.nest(match args.sub_folder {
        SubFolderArg::Ignore => SubFolder::Ignore,
        SubFolderArg::Flatten => SubFolder::Flatten,
    });
    if let Some(folder) = args.folder.as_deref().filter(|f| !f.trim().is_empty()) {
        m.prefix(folder);
    }
    if let Some(p) = args.permissions {
        m.force(p.users, p.records, true);
    }
    if let Some(r) = args.restrictions {
        m.force(r.users, r.records, false);
    }
    if let (Some(old_domain), Some(new_domain)) = (&args.old_domain, &args.new_domain) {
        m.rewrite_domains(old_domain, new_domain);
    }
    let (folders, teams) = (m.shared_folders.len(), m.teams.len());
    if folders + teams == 0 {
        eprintln!("No folder memberships downloaded.");
        return Ok(ExitCode::SUCCESS);
    }
    let merged = match old {
        Some(old) => m.merge_into(old),
        None => m,
    };
    let text = serde_json::to_string_pretty(&merged)? + "\n";
    // Write beside the target and rename: a failure never leaves half a file.
    let tmp = args.name.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.name)
        .with_context(|| format!("cannot write {}", args.name.display()))?;
    println!("{folders} shared folder memberships added.");
    if teams > 0 {
        println!("{teams} team memberships added.");
    }
    Ok(ExitCode::SUCCESS)
}

/// A LastPass account's shared folders and their members, through the
/// lastpass plugin (`membership` option) and its one granted origin.
fn lastpass(ctx: &Context, args: &DownloadMembershipArgs) -> anyhow::Result<Membership> {
    let user = args
        .lastpass_user
        .as_deref()
        .context("--source lastpass needs --lastpass-user EMAIL")?;
    let mut options = lastpass_online_options(user, args.otp.as_deref())?;
    options.push(("membership".to_string(), "true".to_string()));
    let request = crate::import::Request {
        format: "lastpass",
        source: user,
        record_type: None,
        server: args.lastpass_server.as_deref(),
        options,
        file_cache: None,
        dry_run: false,
        match_uids: false,
        native_plugins: ctx.config.native_plugins,
        on_native: Some(crate::import::OnNative(&|id: &str| {
            eprintln!(
                "Importing with {}: it runs with all of keeper's rights.",
                crate::rotation::native_label(id)
            );
        })),
    };
    let collected =
        crate::import::bridge::collect_blocking(&ctx.plugin_dir(), &ctx.cache_dir(), &request)?;
    for reason in &collected.skipped {
        eprintln!("skipped: {reason}");
    }
    Ok(Membership {
        shared_folders: collected.shared,
        teams: Vec::new(),
    })
}

/// `keeper apply-membership`.
pub(super) fn apply(ctx: &Context, args: &ApplyMembershipArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.name)
        .with_context(|| format!("cannot read {}", args.name.display()))?;
    let m: Membership = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a membership file (shared_folders, teams)",
            args.name.display()
        )
    })?;
    let mut vault = unlock(ctx)?;
    let summary = vault.apply_membership(&m, args.full_sync)?;
    report_membership(&summary);
    if !summary.changed() {
        println!("Nothing to change.");
    }
    Ok(ExitCode::SUCCESS)
}
