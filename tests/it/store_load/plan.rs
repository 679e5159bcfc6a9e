//! The load test's batches: the lines each process runs (one `run-batch`
//! file per process, drawn from a seed), and what its log says became of
//! each line.
// The test and the store benchmark each use part of this module.
#![allow(dead_code)]

use std::collections::HashMap;

pub use crate::support::Rng;

/// Records every process edits and rotates; never deleted.
pub const SEEDS: usize = 16;
/// Records every process edits and rotates while the alice processes
/// delete the first half of them, one by one.
pub const POOL: usize = 96;
/// Processes in all; the first [`ALICES`] unlock as alice, the rest as bob.
pub const PROCESSES: usize = 8;
/// Processes unlocking as alice.
pub const ALICES: usize = 6;
/// The first user (the seeds' and the pool's owner).
pub const ALICE: &str = "alice@example.com";
/// The second user: a member of [`FOLDER`] who may edit and add records.
pub const BOB: &str = "bob@example.com";
/// The shared folder holding the seeds, the pool and half of the adds.
pub const FOLDER: &str = "Team";

/// The user whose membership of [`FOLDER`] alice process `p` switches.
pub fn carol(p: usize) -> String {
    format!("carol{p}@example.com")
}

/// The user process `p` unlocks as.
pub fn user_of(p: usize) -> &'static str {
    if p < ALICES { ALICE } else { BOB }
}

/// Title of own record `j` of process `p`.
pub fn own_title(p: usize, j: usize) -> String {
    format!("L{p}-{j}")
}

/// Which record a line works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Seed `i` (uid known before the run).
    Seed(usize),
    /// Pool record `i` (uid known before the run).
    Pool(usize),
    /// The process's own record `j` (`${rJ}`, bound after its `add`).
    Own(usize),
}

/// What a line does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `add` own record `j`, in [`FOLDER`] or the root.
    Add { j: usize },
    /// `set rJ ${last_record_uid}` after that `add`.
    Bind,
    /// `edit` setting custom text field `label` to `value`.
    Edit {
        target: Target,
        label: String,
        value: u64,
    },
    /// `share-record` own record `j` with the other user (or revoke).
    Share { j: usize, grant: bool },
    /// `share-record POOL -e carolQ -w` (while alice deletes pool records).
    SharePool { i: usize, carol: usize },
    /// `share-folder FOLDER -r SEED -s on|off`.
    Permission { seed: usize, on: bool },
    /// `share-folder FOLDER -e carolP -a grant|remove`.
    Member { grant: bool },
    /// `rotate --plugin noop`.
    Rotate { target: Target },
    /// `rm -f`.
    Rm { target: Target },
}

impl Op {
    /// The record this line works on, if one.
    pub fn target(&self) -> Option<Target> {
        match self {
            Op::Add { j } | Op::Share { j, .. } => Some(Target::Own(*j)),
            Op::Edit { target, .. } | Op::Rotate { target } | Op::Rm { target } => Some(*target),
            Op::Permission { seed, .. } => Some(Target::Seed(*seed)),
            Op::SharePool { i, .. } => Some(Target::Pool(*i)),
            Op::Bind | Op::Member { .. } => None,
        }
    }
}

/// One batch line and what it does.
#[derive(Debug, Clone)]
pub struct Step {
    pub op: Op,
    pub line: String,
}

/// Uids of the records that exist before the run.
pub struct Known<'a> {
    pub seeds: &'a [String],
    pub pool: &'a [String],
}

impl Known<'_> {
    /// How a line names `target`.
    fn name(&self, target: Target) -> String {
        match target {
            Target::Seed(i) => self.seeds[i].clone(),
            Target::Pool(i) => self.pool[i].clone(),
            Target::Own(j) => format!("${{r{j}}}"),
        }
    }
}

/// The batch of process `p`: `ops` vault operations (plus a `set` after
/// each `add`). Each process edits its own field (`pP`) of the shared
/// records, with increasing values, so a lost update shows as a field
/// that went back.
pub fn plan(p: usize, ops: usize, known: &Known<'_>, rng: &mut Rng) -> Vec<Step> {
    let alice = p < ALICES;
    let other = if alice { BOB } else { ALICE };
    let mut steps = Vec::with_capacity(ops + ops / 4);
    let mut live: Vec<usize> = Vec::new();
    let mut shared: HashMap<usize, bool> = HashMap::new();
    let mut next_own = 0;
    let mut member = false;
    // Pool records in the first half are deleted by alice process i % ALICES.
    let mut doomed: Vec<usize> = (0..POOL / 2).filter(|i| alice && i % ALICES == p).collect();
    let push = |steps: &mut Vec<Step>, op: Op, line: String| steps.push(Step { op, line });
    for n in 0..ops {
        let value = n as u64 + 1;
        let draw = rng.index(100);
        let own = (!live.is_empty()).then(|| live[rng.index(live.len())]);
        let seed = rng.index(SEEDS);
        let pooled = rng.index(POOL);
        let seed_edit = Op::Edit {
            target: Target::Seed(seed),
            label: format!("p{p}"),
            value,
        };
        let op = match (draw, own) {
            (18..28, Some(j)) => Op::Edit {
                target: Target::Own(j),
                label: "v".into(),
                value,
            },
            (50..56, _) => Op::Edit {
                target: Target::Pool(pooled),
                label: format!("p{p}"),
                value,
            },
            (56..60, Some(j)) => Op::Share {
                j,
                grant: !shared.get(&j).copied().unwrap_or(false),
            },
            (60..62, _) => Op::SharePool {
                i: pooled,
                carol: p % ALICES,
            },
            (62..65, _) if alice => Op::Permission {
                seed,
                on: rng.index(2) == 0,
            },
            (65..67, _) if alice => Op::Member { grant: !member },
            (67..75, _) => Op::Rotate {
                target: Target::Seed(seed),
            },
            (75..78, Some(j)) => Op::Rotate {
                target: Target::Own(j),
            },
            (78..80, _) => Op::Rotate {
                target: Target::Pool(pooled),
            },
            (80..94, Some(j)) => Op::Rm {
                target: Target::Own(j),
            },
            (94..96, _) if !doomed.is_empty() => Op::Rm {
                target: Target::Pool(doomed.swap_remove(rng.index(doomed.len()))),
            },
            (94..96, _) if !alice => Op::Edit {
                target: Target::Pool(pooled),
                label: format!("p{p}"),
                value,
            },
            (0..18, _) | (18..28, None) | (56..60, None) | (75..78, None) | (80..94, None) => {
                let j = next_own;
                next_own += 1;
                Op::Add { j }
            }
            _ => seed_edit,
        };
        let line = match &op {
            Op::Add { j } => {
                let folder = if !alice || j % 2 == 0 {
                    format!("--folder {FOLDER} ")
                } else {
                    String::new()
                };
                format!(
                    "add -f {folder}-t {} login=u{p}-{j} password=Pw-{p}-{j}-load",
                    own_title(p, *j)
                )
            }
            Op::Edit {
                target,
                label,
                value,
            } => format!("edit -r {} c.text.{label}={value}", known.name(*target)),
            Op::Share { j, grant: true } => {
                format!("share-record ${{r{j}}} -e {other} -w")
            }
            Op::Share { j, grant: false } => {
                format!("share-record ${{r{j}}} -e {other} -a revoke")
            }
            Op::SharePool { i, carol: q } => {
                format!("share-record {} -e {} -w", known.pool[*i], carol(*q))
            }
            Op::Permission { seed, on } => format!(
                "share-folder {FOLDER} -r {} -s {}",
                known.seeds[*seed],
                if *on { "on" } else { "off" }
            ),
            Op::Member { grant } => format!(
                "share-folder {FOLDER} -e {} -a {}",
                carol(p),
                if *grant { "grant" } else { "remove" }
            ),
            Op::Rotate { target } => {
                format!("rotate {} --plugin noop --format json", known.name(*target))
            }
            Op::Rm { target } => format!("rm -f {}", known.name(*target)),
            Op::Bind => unreachable!("bound below"),
        };
        match &op {
            Op::Add { j } => live.push(*j),
            Op::Share { j, grant } => {
                shared.insert(*j, *grant);
            }
            Op::Member { grant } => member = *grant,
            Op::Rm {
                target: Target::Own(j),
            } => live.retain(|l| l != j),
            _ => {}
        }
        let bind = match &op {
            Op::Add { j } => Some(format!("set r{j} ${{last_record_uid}}")),
            _ => None,
        };
        push(&mut steps, op, line);
        if let Some(bind) = bind {
            push(&mut steps, Op::Bind, bind);
        }
    }
    steps
}

/// What became of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Finished without an error: acknowledged.
    Done,
    /// Reported an error (or, for `rotate`, a failed outcome).
    Failed,
    /// Was running when the process was killed: may or may not have
    /// taken effect.
    Unknown,
}

/// One line's fate, with what it printed.
#[derive(Debug, Clone)]
pub struct Ran {
    pub outcome: Outcome,
    pub output: String,
    /// For `rotate`: its outcome ("rotated", "busy", ...).
    pub rotation: Option<String>,
}

/// Reads a `run-batch` log (stdout and stderr in one file, so in order):
/// each line's block starts with its echo (`> LINE`). `finished`: the
/// process exited by itself (else it was killed, and its last block is
/// [`Outcome::Unknown`]). Lines without a block never ran.
pub fn read_log(log: &str, steps: &[Step], finished: bool) -> Vec<Ran> {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in log.lines() {
        if line.starts_with("> ") {
            blocks.push(Vec::new());
        } else if let Some(block) = blocks.last_mut() {
            block.push(line);
        }
    }
    if finished {
        // run-batch's own summary, after the last line's output.
        if let Some(last) = blocks.last_mut()
            && last
                .last()
                .is_some_and(|l| l.starts_with("error: ") && l.contains("in the batch failed"))
        {
            last.pop();
        }
        assert_eq!(
            blocks.len(),
            steps.len(),
            "a finished process ran every line"
        );
    }
    assert!(blocks.len() <= steps.len(), "more blocks than lines");
    let count = blocks.len();
    blocks
        .into_iter()
        .zip(steps)
        .enumerate()
        .map(|(i, (block, step))| {
            let output = block.join("\n");
            let rotation = matches!(step.op, Op::Rotate { .. })
                .then(|| {
                    block.iter().find_map(|l| {
                        l.trim()
                            .strip_prefix("\"outcome\": \"")
                            .and_then(|r| r.split('"').next())
                            .map(str::to_string)
                    })
                })
                .flatten();
            let errored = block.iter().any(|l| l.starts_with("error:"))
                || rotation
                    .as_deref()
                    .is_some_and(|o| !matches!(o, "rotated" | "completed" | "rolled-back"));
            let outcome = if i + 1 == count && !finished {
                Outcome::Unknown
            } else if errored || (matches!(step.op, Op::Rotate { .. }) && rotation.is_none()) {
                Outcome::Failed
            } else {
                Outcome::Done
            };
            Ran {
                outcome,
                output,
                rotation,
            }
        })
        .collect()
}
