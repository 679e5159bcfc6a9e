//! `share-record` and `record-permission`: parse, plan in the vault, print
//! Commander's tables, apply.

use std::process::ExitCode;

use anyhow::{anyhow, bail};

use super::{confirm, unlock};
use crate::cli::sharing::{
    PermissionAction, RecordPermissionArgs, RecordShareAction, ShareRecordArgs,
};
use crate::context::Context;
use crate::output::table;
use crate::vault::model::fields;
use crate::vault::{
    Expiry, FolderTree, PermissionChange, PermissionRequest, ShareAction, ShareChangeKind,
    SharePlan, ShareRequest, Vault, crypto, now_ms,
};

/// `keeper share-record`.
pub(super) fn share_record(ctx: &Context, args: &ShareRecordArgs) -> anyhow::Result<ExitCode> {
    let expiry = expiry(args)?;
    let action = match args.action {
        RecordShareAction::Grant => Some(ShareAction::Grant),
        RecordShareAction::Revoke => Some(ShareAction::Revoke),
        RecordShareAction::Owner => Some(ShareAction::Owner),
        RecordShareAction::Cancel => None,
    };
    if expiry != Expiry::Unchanged && action != Some(ShareAction::Grant) {
        bail!("--expire-at / --expire-in go with -a grant");
    }
    let mut vault = unlock(ctx)?;
    let plan = match (action, &args.record) {
        (None, Some(_)) => bail!("-a cancel stops every share with the users: give no record"),
        (None, None) => vault.plan_cancel_shares(&args.email)?,
        (Some(_), None) => bail!("name the record (uid, title or path) or folder to share"),
        (Some(action), Some(target)) => {
            let records = share_targets(&vault, target, args.recursive)?;
            let request = ShareRequest {
                action,
                can_edit: args.write,
                can_share: args.share,
                expiry,
            };
            vault.plan_record_shares(&records, &args.email, &request)?
        }
    };
    for why in &plan.skipped {
        eprintln!("warning: {why}");
    }
    if plan.changes.is_empty() {
        if plan.refused > 0 {
            bail!(
                "nothing changed: you may not change the shares of {} record(s) (see the warnings)",
                plan.refused
            );
        }
        // As Commander: revoking what is not shared is not a failure.
        if matches!(action, None | Some(ShareAction::Revoke)) {
            println!("Nothing to do: no such share.");
            return Ok(ExitCode::SUCCESS);
        }
        bail!("nothing to do");
    }
    if args.dry_run {
        print_share_plan(&plan);
        return Ok(ExitCode::SUCCESS);
    }
    if action.is_none() {
        let emails = args.email.join(", ");
        let question = format!(
            "This cannot be undone. Cancel all {} share(s) of your records with {emails}?",
            plan.changes.len()
        );
        if !confirm(&question, args.force)? {
            println!("Nothing changed.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    vault.apply_record_shares(&plan)?;
    for c in &plan.changes {
        let (uid, email) = (&c.record_uid, &c.email);
        let until = c.expires.map_or_else(String::new, |t| {
            format!(" until {} UTC", fields::format_time(t))
        });
        match c.change {
            ShareChangeKind::Add => println!(
                "Record \"{uid}\" access permissions has been granted to user '{email}' ({}){until}",
                c.action_label()
            ),
            ShareChangeKind::Update => println!(
                "Record \"{uid}\" access permissions has been changed for user '{email}' ({}){until}",
                c.action_label()
            ),
            ShareChangeKind::Remove => {
                println!(
                    "Record \"{uid}\" access permissions has been revoked from user '{email}'"
                );
            }
            ShareChangeKind::Transfer => {
                println!("Record \"{uid}\" ownership has been transferred to user '{email}'");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--expire-at` / `--expire-in`.
fn expiry(args: &ShareRecordArgs) -> anyhow::Result<Expiry> {
    let never = |v: &str| v.trim().eq_ignore_ascii_case("never");
    Ok(match (&args.expire_at, &args.expire_in) {
        (Some(v), _) | (_, Some(v)) if never(v) => Expiry::Never,
        (Some(at), _) => Expiry::At(fields::parse_date_time(at).ok_or_else(|| {
            anyhow!(
                "--expire-at {at:?} is not a time: use e.g. 2030-01-31, \"2030-01-31 18:00\" (UTC) \
                 or 2030-01-31T18:00:00+02:00, or never"
            )
        })?),
        (None, Some(period)) => Expiry::At(now_ms().saturating_add(
            fields::parse_period(period).map_err(|e| anyhow!("--expire-in: {e}"))?,
        )),
        (None, None) => Expiry::Unchanged,
    })
}

/// The records `target` names: a record (uid, title or path), or the
/// records in a folder (uid or path; with `recursive`, and below it).
pub(super) fn share_targets(
    vault: &Vault,
    target: &str,
    recursive: bool,
) -> anyhow::Result<Vec<String>> {
    if crypto::is_uid(target)
        && let Ok(r) = vault.record(target)
    {
        return Ok(vec![r.uid]);
    }
    let tree = vault.folder_tree()?;
    let folder = tree
        .resolve(target)
        .ok()
        .filter(|f| *f != tree.root() && !target.trim().is_empty());
    let Some(folder) = folder else {
        return Ok(vec![vault.find_record(target)?.uid]);
    };
    let scope = if recursive {
        tree.subtree(folder)
    } else {
        vec![folder.to_string()]
    };
    let mut records: Vec<String> = Vec::new();
    for f in &scope {
        for r in tree.records_in(f) {
            if !records.contains(r) {
                records.push(r.clone());
            }
        }
    }
    if records.is_empty() {
        bail!(
            "there are no records to share in {}{}",
            tree.path_of(folder),
            if recursive {
                ""
            } else {
                " (-R includes the folders below it)"
            }
        );
    }
    Ok(records)
}

/// Commander's `--dry-run` table.
fn print_share_plan(plan: &SharePlan) {
    let rows: Vec<Vec<String>> = plan
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                (i + 1).to_string(),
                c.email.clone(),
                c.record_uid.clone(),
                c.title.clone(),
                c.action_label().to_string(),
                c.expires
                    .map_or_else(String::new, |t| format!("{} UTC", fields::format_time(t))),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "#",
                "Username",
                "Record UID",
                "Title",
                "Share Action",
                "Expiration"
            ],
            &rows
        )
    );
}

/// `keeper record-permission`.
pub(super) fn record_permission(
    ctx: &Context,
    args: &RecordPermissionArgs,
) -> anyhow::Result<ExitCode> {
    if !args.can_edit && !args.can_share {
        bail!("choose at least one of the options --can-edit, --can-share");
    }
    let grant = args.action == PermissionAction::Grant;
    let both = !args.share_record && !args.share_folder;
    let request = PermissionRequest {
        grant,
        can_edit: args.can_edit,
        can_share: args.can_share,
        direct: both || args.share_record,
        shared_folders: both || args.share_folder,
    };
    let mut vault = unlock(ctx)?;
    let tree = vault.folder_tree()?;
    let folder = match &args.folder {
        Some(f) => tree
            .resolve(f)
            .map_err(|_| anyhow!("folder {f} not found"))?
            .to_string(),
        None => tree.root().to_string(),
    };
    let plan = vault.plan_record_permissions(&tree, &folder, args.recursive, &request)?;
    let verb = if grant { "GRANT" } else { "REVOKE" };
    let what = match (args.can_edit, args.can_share) {
        (true, true) => "\"Can Edit\" & \"Can Share\"",
        (true, false) => "\"Can Edit\"",
        _ => "\"Can Share\"",
    };
    let shown = !args.force || args.dry_run;
    if shown {
        println!(
            "Request to {verb} {what} permission(s) in \"{}\" folder {}",
            folder_name(&tree, &folder),
            if args.recursive {
                "recursively"
            } else {
                "only"
            }
        );
        let columns = PermissionColumns { args, grant };
        if args.dry_run {
            columns.print_skipped(&plan.direct_skipped, &plan.folders_skipped, &tree);
        }
        columns.print(verb, &plan.direct, &plan.folders, &tree);
    }
    let skipped = plan.direct_skipped.len() + plan.folders_skipped.len();
    if plan.is_empty() && skipped > 0 && !args.dry_run {
        bail!(
            "not permitted: {skipped} record permission(s) need a change you may not make \
             (manage-records on the shared folder, or re-share rights on the record); \
             --dry-run lists them"
        );
    }
    if skipped > 0 && !args.dry_run {
        eprintln!(
            "warning: {skipped} record permission(s) you may not change are left as they are"
        );
    }
    if plan.is_empty() {
        println!(
            "Nothing to change: every record in scope already has the permission(s) asked for."
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    vault.apply_record_permissions(&plan)?;
    println!(
        "Changed {} direct record share(s) and {} shared folder record permission(s)",
        plan.direct.len(),
        plan.folders.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn folder_name(tree: &FolderTree, uid: &str) -> String {
    tree.get(uid)
        .map_or_else(|| "My Vault".into(), |f| f.name.clone())
}

/// Commander's `record-permission` tables.
struct PermissionColumns<'a> {
    args: &'a RecordPermissionArgs,
    grant: bool,
}

impl PermissionColumns<'_> {
    fn print(
        &self,
        verb: &str,
        direct: &[PermissionChange],
        folders: &[PermissionChange],
        tree: &FolderTree,
    ) {
        let title = format!("{verb} Direct Record Share permission(s)");
        let rows = direct
            .iter()
            .map(|c| vec![c.record_uid.clone(), short(&c.title), c.holder.clone()])
            .collect();
        self.emit(&title, vec!["Record UID", "Title", "Email"], rows, true);
        let title = format!("{verb} Shared Folder Record Share permission(s)");
        self.emit(
            &title,
            FOLDER_HEADERS.to_vec(),
            folder_rows(folders, tree),
            true,
        );
    }

    fn print_skipped(
        &self,
        direct: &[PermissionChange],
        folders: &[PermissionChange],
        tree: &FolderTree,
    ) {
        let rows = direct
            .iter()
            .map(|c| {
                let who = [c.owner.clone(), c.holder.clone()];
                [c.record_uid.clone(), short(&c.title)]
                    .into_iter()
                    .chain(who)
                    .collect()
            })
            .collect();
        self.emit(
            "SKIP Direct Record Share permission(s). Not permitted",
            vec!["Record UID", "Title", "Owner", "Email"],
            rows,
            false,
        );
        self.emit(
            "SKIP Shared Folder Record Share permission(s). Not permitted",
            FOLDER_HEADERS.to_vec(),
            folder_rows(folders, tree),
            false,
        );
    }

    /// Prints a numbered table (nothing when empty), with a Y/N column for
    /// each permission changed when `with_flags`.
    fn emit(
        &self,
        title: &str,
        mut headers: Vec<&'static str>,
        mut rows: Vec<Vec<String>>,
        with_flags: bool,
    ) {
        if rows.is_empty() {
            return;
        }
        let cell = if self.grant { "Y" } else { "N" };
        let flags = [
            (self.args.can_edit, "Can Edit"),
            (self.args.can_share, "Can Share"),
        ];
        for (_, name) in flags.into_iter().filter(|(on, _)| with_flags && *on) {
            headers.push(name);
            for row in &mut rows {
                row.push(cell.into());
            }
        }
        headers.insert(0, "#");
        for (i, row) in rows.iter_mut().enumerate() {
            row.insert(0, (i + 1).to_string());
        }
        println!("\n{title}\n{}", table(&headers, &rows));
    }
}

const FOLDER_HEADERS: [&str; 4] = [
    "Shared Folder UID",
    "Shared Folder Name",
    "Record UID",
    "Record Title",
];

/// Rows of a shared-folder table: as Commander, a folder is named on its
/// first row only.
fn folder_rows(changes: &[PermissionChange], tree: &FolderTree) -> Vec<Vec<String>> {
    let mut last = None;
    changes
        .iter()
        .map(|c| {
            let first = last != Some(&c.holder_uid);
            last = Some(&c.holder_uid);
            let (uid, name) = if first {
                (
                    c.holder_uid.clone(),
                    short(&folder_name(tree, &c.holder_uid)),
                )
            } else {
                (String::new(), String::new())
            };
            vec![uid, name, c.record_uid.clone(), short(&c.title)]
        })
        .collect()
}

/// Titles cut to 32 characters, as Commander's tables.
fn short(title: &str) -> String {
    title.chars().take(32).collect()
}
