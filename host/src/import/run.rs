//! One `keeper import` run: the source's parts arrive ([`Run::take`]), are
//! shaped ([`super::shape`]) and written (or, for a dry run, planned) by
//! the engine [`PART_RECORDS`] records (or [`PART_BYTES`]) at a time; what
//! is left is written at the end ([`Run::finish`]), in one transaction with
//! everything when the source fitted in one part.

use crate::vault::membership::{ApplySummary, Membership, SharedFolderEntry, TeamEntry};
use crate::vault::{Action, NewRecord, Result, SharedFolderDefaults, Vault, path};

use super::engine::{ImportOptions, ImportSummary, Importer, record_size};
use super::shape::Shape;
use super::{Collected, PART_BYTES, PART_RECORDS};

/// What the user asked a run to do.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// How existing records are matched.
    pub engine: ImportOptions,
    /// The layout options.
    pub shape: Shape,
    /// `--dry-run`: plan, write nothing.
    pub dry_run: bool,
    /// `--users`: grant the shared-folder members the source lists (that
    /// exist in the vault) instead of importing records.
    pub users: bool,
}

/// What a run says while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice<'a> {
    /// The source skipped an item (a malformed row...), with its reason.
    Skipped(&'a str),
    /// The source is larger than one part: it is written in parts of
    /// [`PART_RECORDS`] records or [`PART_BYTES`], one transaction each
    /// (said once, before the first part is written).
    WritingInParts,
}

/// One record of a dry run's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Where the record goes (its first placement's path).
    pub folder: String,
    /// Title.
    pub title: String,
    /// Login.
    pub login: String,
    /// Record type.
    pub record_type: String,
    /// What the engine would do with it.
    pub action: Action,
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// Records were written.
    Imported {
        /// What was written.
        summary: ImportSummary,
        /// Items the source skipped.
        skipped: usize,
        /// Shared-folder members the source lists (granted only with
        /// `--users`).
        members_listed: usize,
    },
    /// A dry run: what would be written.
    Planned {
        /// Each record, in order.
        records: Vec<Planned>,
        /// Items the source skipped.
        skipped: usize,
    },
    /// `--users`: what was granted.
    Membership(ApplySummary),
}

/// One `keeper import` run (see the module documentation).
pub struct Run<'n> {
    options: RunOptions,
    importer: Importer,
    notify: Box<dyn FnMut(Notice<'_>) + 'n>,
    /// Shared folders seen so far, one entry per path (the source's own
    /// entry replaces a blank one made for a record), with members.
    shared: Vec<SharedFolderEntry>,
    teams: Vec<TeamEntry>,
    /// Records not written yet, and their size.
    pending: Vec<NewRecord>,
    pending_bytes: usize,
    skipped: usize,
    summary: ImportSummary,
    /// Parts written in their own transaction.
    parts: usize,
    /// `--dry-run`: the plan so far.
    plan: Vec<Planned>,
}

impl<'n> Run<'n> {
    /// Starts a run: reads what matching needs of the vault's records.
    /// `notify` hears what the run says while it works.
    ///
    /// # Errors
    ///
    /// As [`Importer::new`].
    pub fn new(
        vault: &Vault,
        options: RunOptions,
        notify: impl FnMut(Notice<'_>) + 'n,
    ) -> Result<Self> {
        Ok(Self {
            importer: Importer::new(vault, options.engine)?,
            options,
            notify: Box::new(notify),
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

    /// The parts written so far and what they did; `None` while nothing
    /// is written (what a failure leaves behind).
    pub fn written(&self) -> Option<(usize, &ImportSummary)> {
        (self.parts > 0).then_some((self.parts, &self.summary))
    }

    fn grants_only(&self) -> bool {
        self.options.users && !self.options.dry_run
    }

    /// Takes one part of the source; writes a full part.
    ///
    /// # Errors
    ///
    /// As [`Importer::write`]; the parts written before stay.
    pub fn take(&mut self, vault: &mut Vault, mut part: Collected) -> Result<()> {
        self.options.shape.apply(&mut part);
        for reason in &part.skipped {
            (self.notify)(Notice::Skipped(reason));
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
        if self.grants_only() {
            return Ok(());
        }
        for r in part.records {
            self.pending_bytes += record_size(&r);
            self.pending.push(r);
            if self.pending.len() >= PART_RECORDS || self.pending_bytes >= PART_BYTES {
                self.flush(vault)?;
            }
        }
        Ok(())
    }

    /// Writes (or plans) the pending records as a part that is not the last.
    fn flush(&mut self, vault: &mut Vault) -> Result<()> {
        let records = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        if records.is_empty() {
            return Ok(());
        }
        if self.options.dry_run {
            return self.plan(&records);
        }
        if self.parts == 0 {
            // Only `take` flushes before the end: the source is larger than one part.
            (self.notify)(Notice::WritingInParts);
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

    fn plan(&mut self, records: &[NewRecord]) -> Result<()> {
        let actions = self.importer.plan(records)?;
        self.plan
            .extend(records.iter().zip(actions).map(|(r, action)| {
                Planned {
                    folder: r
                        .folders
                        .first()
                        .map(crate::vault::FolderSpec::full_path)
                        .unwrap_or_default(),
                    title: r.data.title.clone(),
                    login: r.data.login().unwrap_or_default().to_string(),
                    record_type: r.data.record_type.clone(),
                    action,
                }
            }));
        Ok(())
    }

    fn shared_defaults(&self) -> Vec<(String, SharedFolderDefaults)> {
        self.shared
            .iter()
            .map(|sf| (sf.path.clone(), sf.defaults()))
            .collect()
    }

    /// Writes the rest (in one transaction with everything, when the source
    /// fitted in one part), or grants the members with `--users`.
    ///
    /// # Errors
    ///
    /// As [`Importer::write`] and [`Vault::apply_membership`].
    pub fn finish(&mut self, vault: &mut Vault) -> Result<Finished> {
        if self.grants_only() {
            let membership = Membership {
                shared_folders: self.shared.clone(),
                teams: self.teams.clone(),
            };
            return Ok(Finished::Membership(
                vault.apply_membership(&membership, false)?,
            ));
        }
        let records = std::mem::take(&mut self.pending);
        if self.options.dry_run {
            self.plan(&records)?;
            return Ok(Finished::Planned {
                records: std::mem::take(&mut self.plan),
                skipped: self.skipped,
            });
        }
        let part = self
            .importer
            .write(vault, &self.shared_defaults(), &records)?;
        self.summary.add(&part);
        Ok(Finished::Imported {
            summary: self.summary.clone(),
            skipped: self.skipped,
            members_listed: self.shared.iter().map(|sf| sf.permissions.len()).sum(),
        })
    }
}
