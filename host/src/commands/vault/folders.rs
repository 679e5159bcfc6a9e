//! Folder commands: `ls`, `tree`, `mkdir`, `mv`, `ln`, `rmdir`, `share-folder`.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::bail;
use serde_json::json;

use super::{confirm, unlock};
use crate::cli::Format;
use crate::cli::vault::{
    LnArgs, LsArgs, MkdirArgs, MvArgs, RmdirArgs, ShareAction, ShareFolderArgs, TreeArgs,
};
use crate::context::Context;
use crate::output::print_listing;
use crate::runtime::text::escape_controls;
use crate::vault::{FolderKind, FolderTree, Grantee, Record, SharedFolderDefaults, Vault, path};

fn kind_label(k: FolderKind) -> &'static str {
    match k {
        FolderKind::User => "folder",
        FolderKind::Shared => "shared folder",
        FolderKind::SharedSub => "folder",
    }
}

/// Resolves an optional folder argument (default: root).
/// The records directly in `folder`, by title (case-insensitive).
fn records_in<'r>(
    tree: &FolderTree,
    records: &'r HashMap<String, Record>,
    folder: &str,
) -> Vec<&'r Record> {
    let mut here: Vec<&Record> = tree
        .records_in(folder)
        .iter()
        .filter_map(|u| records.get(u))
        .collect();
    here.sort_by_cached_key(|r| r.data.title.to_lowercase());
    here
}

fn folder_arg<'t>(tree: &'t FolderTree, folder: Option<&str>) -> anyhow::Result<&'t str> {
    Ok(match folder {
        Some(f) => tree.resolve(f)?,
        None => tree.root(),
    })
}

/// `keeper ls`.
pub(super) fn ls(ctx: &Context, args: &LsArgs) -> anyhow::Result<ExitCode> {
    let vault = unlock(ctx)?;
    let tree = vault.folder_tree()?;
    let start = folder_arg(&tree, args.folder.as_deref())?.to_string();
    let show_folders = !args.records_only;
    let show_records = !args.folders_only;
    let records: HashMap<String, Record> = if show_records {
        vault
            .records()?
            .into_iter()
            .map(|r| (r.uid.clone(), r))
            .collect()
    } else {
        HashMap::new()
    };
    let folders: Vec<String> = if args.recursive {
        tree.subtree(&start)
    } else {
        vec![start.clone()]
    };
    let headers: &[&str] = if args.long {
        &["Kind", "Name", "UID", "Type", "Login", "URL", "Folder"]
    } else {
        &["Kind", "Name", "UID"]
    };
    let mut rows = Vec::new();
    let mut json_rows = Vec::new();
    for folder in &folders {
        let folder_path = if *folder == tree.root() {
            String::new()
        } else {
            tree.path_of(folder)
        };
        if show_folders && (!args.recursive || folder == &start) {
            for f in tree.children(Some(folder)) {
                let kind = kind_label(f.kind);
                let mut row = vec![kind.to_string(), f.name.clone(), f.uid.clone()];
                if args.long {
                    row.extend([
                        String::new(),
                        String::new(),
                        String::new(),
                        folder_path.clone(),
                    ]);
                }
                rows.push(row);
                json_rows.push(
                    json!({"kind": kind, "name": f.name, "uid": f.uid, "folder": folder_path}),
                );
            }
        }
        if show_records {
            for r in records_in(&tree, &records, folder) {
                let s = r.summary();
                let mut row = vec!["record".to_string(), s.title.clone(), s.uid.clone()];
                if args.long {
                    row.extend([
                        s.record_type.clone(),
                        s.login.clone(),
                        s.url.clone(),
                        folder_path.clone(),
                    ]);
                }
                rows.push(row);
                json_rows.push(
                    json!({"kind": "record", "name": s.title, "uid": s.uid, "type": s.record_type,
                                      "login": s.login, "url": s.url, "folder": folder_path}),
                );
            }
        }
    }
    print_listing(args.format, headers, &rows, &json_rows)?;
    Ok(ExitCode::SUCCESS)
}

/// `keeper tree`.
pub(super) fn tree(ctx: &Context, args: &TreeArgs) -> anyhow::Result<ExitCode> {
    let vault = unlock(ctx)?;
    let tree = vault.folder_tree()?;
    let start = folder_arg(&tree, args.folder.as_deref())?.to_string();
    let records: HashMap<String, Record> = if args.records {
        vault
            .records()?
            .into_iter()
            .map(|r| (r.uid.clone(), r))
            .collect()
    } else {
        HashMap::new()
    };
    let mut lines: Vec<(usize, String, String, String)> = Vec::new(); // depth, label, uid, path
    walk(&tree, &records, &start, 0, args.records, &mut lines);
    match args.format {
        Format::Table => {
            let root = if start == tree.root() {
                "My Vault".to_string()
            } else {
                tree.path_of(&start)
            };
            // Folder names and titles as they were created or imported.
            println!("{}", escape_controls(&root));
            for (depth, label, _, _) in &lines {
                println!("{}{}", "  ".repeat(depth + 1), escape_controls(label));
            }
        }
        _ => {
            let rows: Vec<Vec<String>> = lines
                .iter()
                .map(|(d, l, u, p)| vec![d.to_string(), l.clone(), u.clone(), p.clone()])
                .collect();
            let json: Vec<_> = lines
                .iter()
                .map(|(d, l, u, p)| json!({"depth": d, "name": l, "uid": u, "path": p}))
                .collect();
            print_listing(args.format, &["Depth", "Name", "UID", "Path"], &rows, &json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn walk(
    tree: &FolderTree,
    records: &HashMap<String, Record>,
    folder: &str,
    depth: usize,
    with_records: bool,
    out: &mut Vec<(usize, String, String, String)>,
) {
    for f in tree.children(Some(folder)) {
        let label = match f.kind {
            FolderKind::Shared => format!("{} [shared]", f.name),
            _ => f.name.clone(),
        };
        out.push((depth, label, f.uid.clone(), tree.path_of(&f.uid)));
        walk(tree, records, &f.uid, depth + 1, with_records, out);
    }
    if with_records {
        for r in records_in(tree, records, folder) {
            let p = if folder == tree.root() {
                String::new()
            } else {
                tree.path_of(folder)
            };
            out.push((depth, format!("* {}", r.data.title), r.uid.clone(), p));
        }
    }
}

/// `keeper mkdir`.
pub(super) fn mkdir(ctx: &Context, args: &MkdirArgs) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let shared = args.shared_folder.then_some(SharedFolderDefaults {
        manage_users: args.all || args.manage_users,
        manage_records: args.all || args.manage_records,
        can_edit: args.all || args.can_edit,
        can_share: args.all || args.can_share,
    });
    let is_shared = shared.is_some();
    let uid = vault.mkdir(&args.folder, shared)?;
    let vars = ctx.variables();
    vars.set(crate::automation::variables::LAST_FOLDER_UID, &uid)?;
    if is_shared {
        vars.set(crate::automation::variables::LAST_SHARED_FOLDER_UID, &uid)?;
    }
    println!("{uid}");
    Ok(ExitCode::SUCCESS)
}

/// A record argument: `(record uid, folder uid it was addressed in)`.
fn record_arg(
    vault: &Vault,
    tree: &FolderTree,
    arg: &str,
) -> anyhow::Result<(String, Option<String>)> {
    let record = vault.find_record(arg)?;
    let names = path::components(arg);
    let from = (names.len() > 1)
        .then(|| tree.walk(&names[..names.len() - 1]).map(str::to_string))
        .flatten();
    Ok((record.uid, from))
}

/// `keeper mv`.
pub(super) fn mv(ctx: &Context, args: &MvArgs) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let tree = vault.folder_tree()?;
    let dst = tree.resolve(&args.dst)?.to_string();
    if let Ok(folder) = tree.resolve(&args.src)
        && folder != tree.root()
    {
        let folder = folder.to_string();
        vault.move_folder(&folder, &dst)?;
        println!(
            "Moved folder {} to {}",
            args.src,
            display_folder(&tree, &dst)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (uid, from) = record_arg(&vault, &tree, &args.src)?;
    vault.move_record(&uid, from.as_deref(), &dst)?;
    println!("Moved record {uid} to {}", display_folder(&tree, &dst));
    Ok(ExitCode::SUCCESS)
}

fn display_folder(tree: &FolderTree, uid: &str) -> String {
    if uid == tree.root() {
        "\\".to_string()
    } else {
        tree.path_of(uid)
    }
}

/// `keeper ln`.
pub(super) fn ln(ctx: &Context, args: &LnArgs) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let tree = vault.folder_tree()?;
    let dst = tree.resolve(&args.dst)?.to_string();
    let (uid, _) = record_arg(&vault, &tree, &args.src)?;
    vault.link_record(&uid, &dst)?;
    println!("Linked record {uid} into {}", display_folder(&tree, &dst));
    Ok(ExitCode::SUCCESS)
}

/// `keeper rmdir`.
pub(super) fn rmdir(ctx: &Context, args: &RmdirArgs) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let tree = vault.folder_tree()?;
    let mut targets = Vec::new();
    for f in &args.folders {
        let uid = tree.resolve(f)?;
        if uid == tree.root() {
            bail!("the root folder cannot be removed");
        }
        targets.push(uid.to_string());
    }
    let names: Vec<String> = targets.iter().map(|t| tree.path_of(t)).collect();
    if !confirm(
        &format!(
            "Remove folder(s) {} and everything only they contain?",
            names.join(", ")
        ),
        args.force,
    )? {
        bail!("cancelled");
    }
    for t in &targets {
        let done = vault.remove_folder(t)?;
        println!(
            "Removed {} folder(s); deleted {} record(s), kept {} linked elsewhere",
            done.folders, done.records_deleted, done.records_kept
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `keeper share-folder`.
pub(super) fn share_folder(ctx: &Context, args: &ShareFolderArgs) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let tree = vault.folder_tree()?;
    let folder = tree.resolve(&args.folder)?.to_string();
    if args.email.is_empty() && args.record.is_empty() {
        let members = vault.folder_members(&folder)?;
        let rows: Vec<Vec<String>> = members
            .iter()
            .map(|m| {
                vec![
                    m.name.clone(),
                    m.kind.to_string(),
                    m.manage_users.to_string(),
                    m.manage_records.to_string(),
                ]
            })
            .collect();
        print_listing(
            args.format,
            &["Member", "Kind", "Manage users", "Manage records"],
            &rows,
            &members,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    for who in &args.email {
        let grantee = if who.contains('@') {
            Grantee::User(who.clone())
        } else {
            Grantee::Team(who.clone())
        };
        match args.action {
            ShareAction::Grant => {
                vault.share_folder(
                    &folder,
                    &grantee,
                    args.manage_users.map(|o| o.on()),
                    args.manage_records.map(|o| o.on()),
                )?;
                println!("Granted {who} access to {}", tree.path_of(&folder));
            }
            ShareAction::Remove => {
                vault.unshare_folder(&folder, &grantee)?;
                println!("Removed {who} from {}", tree.path_of(&folder));
            }
        }
    }
    for r in &args.record {
        let record = if r == "*" {
            None
        } else {
            Some(vault.find_record(r)?.uid)
        };
        let n = vault.set_record_permissions(
            &folder,
            record.as_deref(),
            args.can_edit.map(|o| o.on()),
            args.can_share.map(|o| o.on()),
        )?;
        println!("Updated permissions of {n} record(s)");
    }
    Ok(ExitCode::SUCCESS)
}
