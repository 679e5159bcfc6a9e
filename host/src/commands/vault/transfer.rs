//! `keeper export --format json|csv` and `keeper import --format json`.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;

use super::unlock;
use crate::cli::vault::{ExportArgs, ExportFormat, ImportArgs};
use crate::context::Context;
use crate::import::Collected;
use crate::import::shape::Shape;
use crate::vault::import_engine::{
    FolderSpec, ImportOptions, ImportRecord, ImportSummary, Importer, Outcome,
};
use crate::vault::keeper_json;
use crate::vault::membership::{ApplySummary, Membership, SharedFolderEntry, TeamEntry};
use crate::vault::{SharedFolderDefaults, Vault, path};

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
/// through its importer plugin, streamed), shape it with the layout options
/// and write it with the vault's import engine: in one transaction, or in
/// parts for a large source (see [`crate::import`]); with `--users`, grant
/// the shared-folder members the source lists that exist in the vault
/// instead (and import no records).
pub(super) fn import(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let options = ImportOptions {
        update: args.update,
        no_shortcuts: args.no_shortcuts,
    };
    let mut vault;
    let mut run;
    if args.format.eq_ignore_ascii_case("json") {
        let collected = read_keeper_json(args)?;
        vault = unlock(ctx)?;
        run = ImportRun::new(&vault, args, options)?;
        run.take(&mut vault, collected)
            .map_err(|e| run.explain(e))?;
    } else {
        let source = args.name.to_string_lossy().into_owned();
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
        };
        // Unlock first, so that a wrong master password fails before any work.
        vault = unlock(ctx)?;
        run = ImportRun::new(&vault, args, options)?;
        stream_importer(ctx, &request, |part| run.take(&mut vault, part))
            .map_err(|e| run.explain(e))?;
    }
    run.finish(&mut vault).map_err(|e| run.explain(e))?;
    run.report();
    Ok(ExitCode::SUCCESS)
}

/// One `keeper import` run: the source's parts arrive, are shaped, and are
/// written (or planned) [`crate::import::PART_RECORDS`] records at a time.
struct ImportRun<'a> {
    args: &'a ImportArgs,
    shape: Shape,
    importer: Importer,
    /// Shared folders seen so far, one entry per path (the source's own
    /// entry replaces a blank one made for a record), with members.
    shared: Vec<SharedFolderEntry>,
    teams: Vec<TeamEntry>,
    /// Records not written yet, and their size.
    pending: Vec<ImportRecord>,
    pending_bytes: usize,
    skipped: usize,
    summary: ImportSummary,
    /// Parts written in their own transaction.
    parts: usize,
    /// `--dry-run`: the plan's rows and outcomes.
    plan: Vec<(Vec<String>, Outcome)>,
}

impl<'a> ImportRun<'a> {
    fn new(vault: &Vault, args: &'a ImportArgs, options: ImportOptions) -> anyhow::Result<Self> {
        Ok(Self {
            args,
            shape: Shape {
                filter_folder: args.filter_folder.clone(),
                shared: args.shared,
                folder: args.folder.clone(),
                permissions: args.permissions.unwrap_or_default(),
                domain: args.old_domain.clone().zip(args.new_domain.clone()),
            },
            importer: Importer::new(vault, options)?,
            shared: Vec::new(),
            teams: Vec::new(),
            pending: Vec::new(),
            pending_bytes: 0,
            skipped: 0,
            summary: ImportSummary::default(),
            parts: 0,
            plan: Vec::new(),
        })
    }

    /// Takes one part of the source; writes a full part.
    fn take(&mut self, vault: &mut Vault, mut part: Collected) -> anyhow::Result<()> {
        self.shape.apply(&mut part);
        if self.args.show_skipped {
            for reason in &part.skipped {
                eprintln!("skipped: {reason}");
            }
        }
        self.skipped += part.skipped.len();
        for sf in part.shared {
            let key = path::join(&path::components(&sf.path));
            match self
                .shared
                .iter_mut()
                .find(|e| path::join(&path::components(&e.path)) == key)
            {
                None => self.shared.push(sf),
                // The source's own entry (members, defaults) replaces the
                // blank one `Shape` made for a record of an earlier batch.
                Some(e)
                    if e.permissions.is_empty()
                        && (!sf.permissions.is_empty() || sf.defaults() != e.defaults()) =>
                {
                    *e = sf;
                }
                Some(_) => {}
            }
        }
        self.teams.extend(part.teams);
        if self.args.users && !self.args.dry_run {
            return Ok(());
        }
        for r in part.records {
            self.pending_bytes += r.size();
            self.pending.push(r);
            if self.pending.len() >= crate::import::PART_RECORDS
                || self.pending_bytes >= crate::import::PART_BYTES
            {
                self.flush(vault)?;
            }
        }
        Ok(())
    }

    /// Writes (or plans) the pending records.
    fn flush(&mut self, vault: &mut Vault) -> anyhow::Result<()> {
        let records = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        if records.is_empty() {
            return Ok(());
        }
        if self.args.dry_run {
            let outcomes = self.importer.plan(&records)?;
            self.plan.extend(records.iter().map(plan_row).zip(outcomes));
            return Ok(());
        }
        if self.parts == 0 {
            // Only `take` flushes before the end: the source is larger than one part.
            eprintln!(
                "A large source: writing it in parts of up to {} records or {} MiB, one \
                 transaction each; if the import stops, run the same command again to resume it.",
                crate::import::PART_RECORDS,
                crate::import::PART_BYTES >> 20
            );
        }
        // Not the last part: its commit need not wait for the disk (the
        // last one's makes it durable; see `Importer::write_early`).
        let part = self
            .importer
            .write_early(vault, &self.shared_defaults(), &records)?;
        self.summary.add(&part);
        self.parts += 1;
        Ok(())
    }

    fn shared_defaults(&self) -> Vec<(String, SharedFolderDefaults)> {
        self.shared
            .iter()
            .map(|sf| (sf.path.clone(), sf.defaults()))
            .collect()
    }

    /// Writes the rest: in one transaction with everything, when the source
    /// fitted in one part.
    fn finish(&mut self, vault: &mut Vault) -> anyhow::Result<()> {
        if self.args.users && !self.args.dry_run {
            let membership = Membership {
                shared_folders: self.shared.clone(),
                teams: self.teams.clone(),
            };
            let applied = vault.apply_membership(&membership, false)?;
            report_membership(&applied);
            return Ok(());
        }
        let records = std::mem::take(&mut self.pending);
        if self.args.dry_run {
            let outcomes = self.importer.plan(&records)?;
            self.plan.extend(records.iter().map(plan_row).zip(outcomes));
            return Ok(());
        }
        let part = self
            .importer
            .write(vault, &self.shared_defaults(), &records)?;
        self.summary.add(&part);
        Ok(())
    }

    /// Says what a failure leaves behind.
    fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        if self.parts == 0 {
            e.context("nothing was imported")
        } else {
            let s = &self.summary;
            e.context(format!(
                "the import stopped after {} part(s) ({} records added, {} updated, {} already \
                 present); run the same command again to resume it (records already imported \
                 are skipped)",
                self.parts, s.added, s.updated, s.skipped
            ))
        }
    }

    fn report(&self) {
        if self.args.dry_run {
            print_plan(&self.plan, self.skipped);
            return;
        }
        if self.args.users {
            return;
        }
        let summary = &self.summary;
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
            self.skipped,
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
        let listed: usize = self.shared.iter().map(|sf| sf.permissions.len()).sum();
        if listed > 0 {
            eprintln!(
                "{listed} shared-folder member(s) listed in the source were not granted; \
                 run the same import with --users to grant those that exist in this vault"
            );
        }
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

/// A dry run's table row: where the record goes, title, login, type.
fn plan_row(r: &ImportRecord) -> Vec<String> {
    vec![
        r.folders
            .first()
            .map(FolderSpec::full_path)
            .unwrap_or_default(),
        r.data.title.clone(),
        r.data.login().unwrap_or_default().to_string(),
        r.data.record_type.clone(),
    ]
}

/// The dry run's table: each record, where it goes and what the engine
/// would do with it; nothing written.
fn print_plan(plan: &[(Vec<String>, Outcome)], skipped: usize) {
    let rows: Vec<Vec<String>> = plan
        .iter()
        .map(|(row, outcome)| {
            let mut row = row.clone();
            row.push(match outcome {
                Outcome::Add => "add".to_string(),
                Outcome::Update(uid) => format!("update {uid}"),
                Outcome::Skip(uid) => format!("skip: identical to {uid}"),
            });
            row
        })
        .collect();
    println!(
        "{}",
        crate::output::table(&["Folder", "Title", "Login", "Type", "Action"], &rows)
    );
    let count = |f: fn(&Outcome) -> bool| plan.iter().filter(|(_, o)| f(o)).count();
    println!(
        "{} records would be imported ({} added, {} updated); {} identical skipped; \
         {} skipped from the source; nothing was written",
        count(|o| !matches!(o, Outcome::Skip(_))),
        count(|o| matches!(o, Outcome::Add)),
        count(|o| matches!(o, Outcome::Update(_))),
        count(|o| matches!(o, Outcome::Skip(_))),
        skipped
    );
}

/// Runs an importer plugin to the end (from synchronous command code).
pub(super) fn run_importer(
    ctx: &Context,
    request: &crate::import::Request<'_>,
) -> anyhow::Result<Collected> {
    let mut all = Collected::default();
    stream_importer(ctx, request, |part| {
        all.extend(part);
        Ok(())
    })?;
    Ok(all)
}

/// Runs an importer plugin, handing each batch to `sink` (from synchronous
/// command code). The plugin reads ahead on another thread while `sink`
/// works ([`crate::import::pipeline`]).
fn stream_importer(
    ctx: &Context,
    request: &crate::import::Request<'_>,
    sink: impl FnMut(Collected) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Handle::current();
    let (plugin_dir, cache_dir) = (ctx.plugin_dir(), ctx.cache_dir());
    tokio::task::block_in_place(|| {
        crate::import::pipeline(
            |send| {
                runtime.block_on(crate::import::stream(
                    &plugin_dir,
                    &cache_dir,
                    request,
                    send,
                ))
            },
            sink,
        )
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
