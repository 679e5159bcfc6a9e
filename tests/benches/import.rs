//! Import benchmark: a 100 000-row LastPass CSV export into a fresh vault.
//!
//! Run: `cargo bench -p keeper-tests --bench import` (`-- --rows N` for
//! another size, `-- --notes-bytes N` to give every row N bytes of notes,
//! e.g. `--rows 100000 --notes-bytes 10000` for a 1 GB source). Each variant
//! runs in its own child process so that its peak memory (VmHWM) is its
//! own:
//!
//! 1. **plugin**: what `keeper import --format lastpass FILE` does — the
//!    host streams the file into the sandboxed lastpass plugin, converts
//!    its batches, and the vault's import engine encrypts and inserts them
//!    (one transaction per part of up to `PART_RECORDS` records, as the
//!    command does);
//! 2. **native baseline**: the same lastpass parser crate called directly
//!    (no sandbox, no WIT boundary), the same conversion, the same engine,
//!    the same parts.
//!
//! Both start from a fresh vault made with cheap test KDF parameters (the
//! KDF is not what is measured). Both read and parse ahead on a second
//! thread while the engine writes, as the command does. "write" is the
//! time spent in the engine; "parse" is the rest of the total: the time the
//! engine waited for parsed records, and the last part's reading.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use keeper::testing::import::bridge::pipeline;
use keeper::testing::import::engine::{ImportOptions, Importer, record_size};
use keeper::testing::import::{Collected, PART_BYTES, PART_RECORDS, Request, convert, stream};
use keeper::testing::runtime::plugin::{Field, ImportRecord as WitRecord, Location};
use keeper::testing::vault::crypto::KdfParams;
use keeper::testing::vault::{NewRecord, SecretString, Vault};
use keeper_plugin_lastpass::LastPassImport;
use keeper_plugin_sdk::{ImportItem, Options};

const DEFAULT_ROWS: usize = 100_000;

/// Writes a LastPass CSV export with `rows` logins in 50 folders, each
/// with about `notes_bytes` of notes.
fn write_csv(path: &Path, rows: usize, notes_bytes: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create csv"));
    writeln!(out, "url,username,password,totp,extra,name,grouping,fav").expect("write");
    let filler = "lorem ipsum ".repeat(notes_bytes / 12);
    for i in 0..rows {
        writeln!(
            out,
            "https://site{i}.example/login,user{i}@example.com,Pw-{i}-x9!Qz,,note for entry {i} {filler},Site {i},Folder {},0",
            i % 50
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

/// Writes records part by part, as `keeper import` does, timing the engine.
struct PartWriter {
    vault: Vault,
    importer: Importer,
    pending: Vec<NewRecord>,
    bytes: usize,
    write: Duration,
    added: usize,
    /// Records per part: `PART_RECORDS`, or `KEEPER_BENCH_PART` to compare.
    part: usize,
}

impl PartWriter {
    fn take(&mut self, part: Collected) {
        for r in part.records {
            self.bytes += record_size(&r);
            self.pending.push(r);
            if self.pending.len() >= self.part || self.bytes >= PART_BYTES {
                self.flush(false);
            }
        }
    }

    /// Writes the pending records (`last`: durably, as the last part).
    fn flush(&mut self, last: bool) {
        let started = Instant::now();
        let summary = if last {
            self.importer.write(&mut self.vault, &[], &self.pending)
        } else {
            self.importer
                .write_early(&mut self.vault, &[], &self.pending)
        }
        .expect("write");
        self.added += summary.added;
        self.pending.clear();
        self.bytes = 0;
        self.write += started.elapsed();
    }
}

fn fresh_vault(dir: &Path) -> Vault {
    Vault::create(
        &dir.join("vault.db"),
        "bench@example.com",
        &SecretString::from("bench".to_string()),
        &KdfParams::insecure_fast(),
    )
    .expect("create vault")
}

/// The native baseline's conversion of an SDK record into the host's
/// plugin record type (what the WIT boundary does), then the host's.
fn sdk_to_wit(r: keeper_plugin_sdk::ImportRecord) -> WitRecord {
    let field = |f: keeper_plugin_sdk::Field| Field {
        kind: f.kind,
        label: f.label,
        values: f.values,
    };
    WitRecord {
        uid: r.uid,
        title: r.title,
        record_type: r.record_type,
        fields: r.fields.into_iter().map(field).collect(),
        custom: r.custom.into_iter().map(field).collect(),
        notes: r.notes,
        locations: r
            .locations
            .into_iter()
            .map(|l| Location {
                shared_folder: l.shared_folder,
                folder: l.folder,
                can_edit: l.can_edit,
                can_share: l.can_share,
            })
            .collect(),
        attachments: Vec::new(),
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// One variant, in this (child) process; prints `parse_ms write_ms records peak_kib`.
fn child(variant: &str, csv: &Path, work: &Path) {
    let vault = fresh_vault(work);
    let importer = Importer::new(&vault, ImportOptions::default()).expect("importer");
    let mut writer = PartWriter {
        vault,
        importer,
        pending: Vec::new(),
        bytes: 0,
        write: Duration::ZERO,
        added: 0,
        part: std::env::var("KEEPER_BENCH_PART")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(PART_RECORDS),
    };
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    // Both variants read ahead on a second thread while the engine writes,
    // as `keeper import` does (`keeper::import::bridge::pipeline`).
    let run_plugin = |path: &Path, sink: &mut dyn FnMut(Collected)| {
        let source = path.to_str().expect("utf8 path").to_string();
        let request = Request {
            format: "lastpass",
            source: &source,
            ..Request::default()
        };
        pipeline(
            |send| {
                tokio.block_on(stream(
                    &work.join("plugins"),
                    &work.join("cache"),
                    &request,
                    send,
                ))
            },
            |part| {
                sink(part);
                Ok(())
            },
        )
        .expect("plugin import");
    };
    if variant == "plugin" {
        // Compile the component into the on-disk cache first, as any
        // `keeper import` after the first one finds it.
        let warm = work.join("warm.csv");
        write_csv(&warm, 1, 0);
        run_plugin(&warm, &mut |_| {});
    }
    let started = Instant::now();
    match variant {
        "plugin" => run_plugin(csv, &mut |part| writer.take(part)),
        _ => pipeline(
            |send| {
                let file = std::fs::File::open(csv).expect("open csv");
                let mut import =
                    LastPassImport::csv(std::io::BufReader::new(file), &Options::default());
                while let Some(batch) = import.next_batch().expect("parse") {
                    let mut part = Collected::default();
                    for item in batch {
                        if let ImportItem::Record(r) = item {
                            part.records.push(convert(sdk_to_wit(r), None));
                        }
                    }
                    send(part)?;
                }
                Ok(())
            },
            |part| {
                writer.take(part);
                Ok(())
            },
        )
        .expect("native import"),
    }
    writer.flush(true);
    let total = started.elapsed();
    println!(
        "{} {} {} {}",
        (total - writer.write).as_millis(),
        writer.write.as_millis(),
        writer.added,
        peak_rss_kib()
    );
}

struct Result {
    parse: Duration,
    write: Duration,
    records: usize,
    peak_mib: f64,
}

fn run_child(variant: &str, csv: &Path, work: &Path) -> Result {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .args(["--child", variant])
        .arg(csv)
        .arg(work)
        .output()
        .expect("run child");
    assert!(
        out.status.success(),
        "{variant} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    Result {
        parse: Duration::from_millis(v[0]),
        write: Duration::from_millis(v[1]),
        records: usize::try_from(v[2]).expect("count"),
        peak_mib: v[3] as f64 / 1024.0,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(
            &args[i + 1],
            Path::new(&args[i + 2]),
            Path::new(&args[i + 3]),
        );
        return;
    }
    let rows = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_ROWS);
    let notes_bytes = args
        .iter()
        .position(|a| a == "--notes-bytes")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("lastpass.csv");
    write_csv(&csv, rows, notes_bytes);
    let size = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    println!(
        "import benchmark: {rows} LastPass CSV rows ({:.1} MiB) into a fresh vault",
        size as f64 / 1_048_576.0
    );
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>12} {:>10}",
        "variant", "parse s", "write s", "total s", "records/s", "peak MiB"
    );
    let mut totals = Vec::new();
    for variant in ["native", "plugin"] {
        let work = dir.path().join(variant);
        std::fs::create_dir_all(&work).expect("work dir");
        let r = run_child(variant, &csv, &work);
        assert_eq!(r.records, rows, "{variant} imported every row");
        let total = r.parse + r.write;
        println!(
            "{:<16} {:>9.2} {:>9.2} {:>9.2} {:>12.0} {:>10.1}",
            variant,
            r.parse.as_secs_f64(),
            r.write.as_secs_f64(),
            total.as_secs_f64(),
            rows as f64 / total.as_secs_f64(),
            r.peak_mib
        );
        totals.push(total);
    }
    println!(
        "plugin / native: {:.2}x",
        totals[1].as_secs_f64() / totals[0].as_secs_f64()
    );
}
