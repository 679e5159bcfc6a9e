//! Vault benchmark (not a test): unlock, `ls` and `search` on a vault of
//! 100 000 records, against a raw SQLite scan baseline measured in the same
//! run. Run with `cargo bench -p keeper --bench vault` (release profile);
//! `KEEPER_BENCH_RECORDS=N` changes the size. Results go to stdout as a
//! Markdown table for docs/BENCHMARKS.md.

use std::time::{Duration, Instant};

use keeper::testing::vault::crypto::KdfParams;
use keeper::testing::vault::store::sqlite::SqliteStore;
use keeper::testing::vault::{
    Action, Batch, Field, FolderSpec, NewRecord, RecordData, SearchPattern, SecretString, Vault,
};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    (median(times), last.expect("at least one run"))
}

/// CPU time (user + system, all threads) of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Median wall time and mean CPU time per run.
fn time_cpu<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let cpu0 = cpu_time();
    let (wall, out) = time(runs, &mut f);
    (wall, (cpu_time() - cpu0) / runs as u32, out)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .map(|kib| format!("{:.1} GiB RAM", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    format!(
        "{cpu}, {cores} cores, {mem}, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn record(i: usize) -> RecordData {
    let mut d = RecordData::new("login", &format!("Service {i:06} account"));
    let now = 1_700_000_000_000;
    d.set_field(
        false,
        "login",
        None,
        vec![format!("user{i}@example.com").into()],
        now,
    );
    d.set_field(
        false,
        "password",
        None,
        vec![format!("pw-{i:08}-Xy!9zQ").into()],
        now,
    );
    d.set_field(
        false,
        "url",
        None,
        vec![format!("https://app{}.example.com/login", i % 5000).into()],
        now,
    );
    d.notes = format!("Account number {i}; created by the benchmark. Rotate quarterly.").into();
    d.custom.push(Field::new(
        "text",
        Some("department"),
        format!("dept-{}", i % 37).into(),
    ));
    d
}

fn main() {
    let n: usize = std::env::var("KEEPER_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vault.db");
    let password = SecretString::from("benchmark master password".to_string());
    let params = KdfParams::calibrated(Duration::from_millis(750));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "# keeper vault benchmark\n\nMachine: {}; load average at start: {}\n",
        machine(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("Records: {n}; KDF: {params:?}\n");

    let mut vault = Vault::create(&path, "bench@example.com", &password, &params).expect("create");
    let folders: Vec<String> = (0..100)
        .map(|i| {
            let path = format!("Team {}\\Project {i}", i % 10);
            vault.mkdir(&path, None).expect("mkdir");
            path
        })
        .collect();
    let start = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let records = chunk
            .iter()
            .map(|&i| {
                let mut r = NewRecord::new(record(i));
                if i % 2 == 0 {
                    r.folders.push(FolderSpec {
                        folder: Some(folders[i % folders.len()].clone()),
                        ..FolderSpec::default()
                    });
                }
                (Action::Add, r)
            })
            .collect();
        vault
            .apply(&Batch {
                shared_folders: Vec::new(),
                records,
            })
            .expect("insert");
    }
    let insert = start.elapsed();
    drop(vault);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    // Baselines: raw SQLite scans without decryption.
    let store = SqliteStore::open(&path).expect("open");
    let (scan, bytes) = time(5, || {
        let conn = store.connection();
        let mut st = conn
            .prepare("SELECT uid, data FROM records")
            .expect("prepare");
        let mut rows = st.query([]).expect("query");
        let mut total = 0usize;
        while let Some(row) = rows.next().expect("row") {
            total += row.get_ref(1).expect("data").as_blob().expect("blob").len();
        }
        total
    });
    let (scan_join, _) = time(5, || {
        let conn = store.connection();
        let mut st = conn
            .prepare("SELECT r.uid, r.data, k.wrapped_key FROM record_keys k JOIN records r ON r.uid = k.record_uid")
            .expect("prepare");
        let mut rows = st.query([]).expect("query");
        let mut total = 0usize;
        while let Some(row) = rows.next().expect("row") {
            total += row.get_ref(1).expect("data").as_blob().expect("blob").len();
        }
        total
    });
    let (scan_like, _) = time(5, || {
        let conn = store.connection();
        conn.query_row(
            "SELECT count(*) FROM records WHERE instr(data, X'4142') > 0",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count")
    });
    drop(store);

    let (open, _) = time(5, || Vault::open(&path).expect("open"));
    let (kdf, _) = time(3, || params.derive(&password).expect("derive"));
    let (unlock, vault) = time(3, || {
        Vault::open(&path)
            .expect("open")
            .unlock(None, &password)
            .expect("unlock")
    });
    let holders = vec![vault.user().uid];
    let (query, _) = time(5, || {
        use keeper::testing::vault::store::StoreRead as _;
        SqliteStore::open(&path)
            .expect("open")
            .keyed_records(&holders)
            .expect("rows")
            .len()
    });
    let (decrypt_all, records) = time(5, || vault.records().expect("records"));
    assert_eq!(records.len(), n);
    let (ls_root, listed) = time(5, || {
        let tree = vault.folder_tree().expect("tree");
        let records = vault.records().expect("records");
        let here: std::collections::HashSet<&str> = tree
            .records_in(tree.root())
            .iter()
            .map(String::as_str)
            .collect();
        let mut rows: Vec<_> = records
            .iter()
            .filter(|r| here.contains(r.uid.as_str()))
            .map(|r| r.summary())
            .collect();
        rows.sort_by(|a, b| a.title.cmp(&b.title));
        rows.len() + tree.children(None).len()
    });
    let rare = SearchPattern::new("service 0424.. account").expect("re");
    let (search_rare, search_cpu, found) =
        time_cpu(5, || vault.search(&rare).expect("search").len());
    let common = SearchPattern::new("example").expect("re");
    let (search_common, found_common) = time(5, || vault.search(&common).expect("search").len());
    let (find_title, _) = time(5, || {
        vault
            .find_record("Service 050000 account")
            .map(|r| r.uid)
            .ok()
    });

    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let ratio = |d: Duration| format!("{:.1}×", d.as_secs_f64() / scan.as_secs_f64());
    println!("| operation | median | vs raw scan |");
    println!("|---|---:|---:|");
    println!(
        "| baseline: raw SQLite scan of {n} record blobs ({:.1} MB, no decryption) | {} | 1.0× |",
        bytes as f64 / 1e6,
        ms(scan)
    );
    println!(
        "| baseline: raw scan joined with record keys | {} | {} |",
        ms(scan_join),
        ratio(scan_join)
    );
    println!(
        "| baseline: SQL `instr()` over ciphertext (what a plaintext DB search would cost) | {} | {} |",
        ms(scan_like),
        ratio(scan_like)
    );
    println!(
        "| open file (header checks + `PRAGMA quick_check`) | {} | {} |",
        ms(open),
        ratio(open)
    );
    println!(
        "| Argon2id alone ({params:?}) | {} | {} |",
        ms(kdf),
        ratio(kdf)
    );
    println!(
        "| unlock (open + Argon2id + key unwrapping) | {} | {} |",
        ms(unlock),
        ratio(unlock)
    );
    println!(
        "| load the user's sealed records (key scan + record scan, incl. open) | {} | {} |",
        ms(query),
        ratio(query)
    );
    println!(
        "| decrypt every record (`Vault::records`) | {} | {} |",
        ms(decrypt_all),
        ratio(decrypt_all)
    );
    println!(
        "| `ls` of the root ({listed} entries) | {} | {} |",
        ms(ls_root),
        ratio(ls_root)
    );
    println!(
        "| `search` rare regex ({found} hits) | {} | {} |",
        ms(search_rare),
        ratio(search_rare)
    );
    println!(
        "| `search` rare regex: CPU time of all threads per run | {} | {} |",
        ms(search_cpu),
        ratio(search_cpu)
    );
    println!(
        "| `search` common regex ({found_common} hits) | {} | {} |",
        ms(search_common),
        ratio(search_common)
    );
    println!(
        "| `get` by title (`find_record`) | {} | {} |",
        ms(find_title),
        ratio(find_title)
    );
    // Where the decryption time goes (single thread, same record shape).
    let key = keeper::testing::vault::crypto::Key::generate();
    let json: Vec<Vec<u8>> = (0..n)
        .map(|i| serde_json::to_vec(&record(i)).expect("json"))
        .collect();
    let sealed: Vec<Vec<u8>> = json
        .iter()
        .map(|j| key.seal(j, b"keeper/v1/record|uid|1"))
        .collect();
    let wrapped: Vec<Vec<u8>> = (0..n)
        .map(|_| key.wrap(&key, b"keeper/v1/record-key|uid|holder"))
        .collect();
    let (t_unwrap, _) = time(3, || {
        wrapped
            .iter()
            .filter(|w| {
                key.unwrap_key(w, b"keeper/v1/record-key|uid|holder")
                    .is_ok()
            })
            .count()
    });
    let (t_open, _) = time(3, || {
        sealed
            .iter()
            .filter(|b| key.open(b, b"keeper/v1/record|uid|1").is_ok())
            .count()
    });
    let (t_parse, _) = time(3, || {
        json.iter()
            .filter(|j| serde_json::from_slice::<RecordData>(j).is_ok())
            .count()
    });
    println!(
        "| micro: unwrap {n} record keys, one thread | {} | {} |",
        ms(t_unwrap),
        ratio(t_unwrap)
    );
    println!(
        "| micro: open {n} sealed records, one thread | {} | {} |",
        ms(t_open),
        ratio(t_open)
    );
    println!(
        "| micro: parse {n} record JSONs, one thread | {} | {} |",
        ms(t_parse),
        ratio(t_parse)
    );
    println!(
        "\nInsert of {n} records in batches of 10 000: {} ({:.0} records/s); file size {:.1} MB.",
        ms(insert),
        n as f64 / insert.as_secs_f64(),
        size as f64 / 1e6
    );
}
