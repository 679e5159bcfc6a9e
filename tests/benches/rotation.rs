//! Rotation benchmark: rotate real MariaDB accounts five ways.
//!
//! Run: `cargo bench -p keeper-tests --bench rotation` (needs MariaDB on
//! 127.0.0.1:3306, root without password). Five sets of 200 accounts, one
//! per way, and every round rotates each set once, interleaved, so that
//! load from other processes hits all five alike:
//!
//! 1. **native baseline**: plain Rust with the same protocol crate doing the
//!    same SQL work per account — connect with the old password, change it,
//!    reconnect with the new one to verify;
//! 2. **plugin only**: the same work through the sandboxed mysql plugin
//!    (`rotate` + `verify` calls in one sandbox per account, as `keeper
//!    rotate` makes them), no vault, in a task on the runtime's workers;
//!    and the same with a fresh sandbox per call, as keeper did before;
//! 3. **keeper end to end**: the rotation engine behind `keeper rotate
//!    --match` (`Engine::rotate_all`: password generation, pending state,
//!    plugin calls, the final vault transaction and audit), sequentially and
//!    with `--parallel 8`;
//! 4. **the rotation lock alone**: taking and letting go of each record's
//!    rotation lock (two short vault transactions, no target), the part of
//!    the end-to-end figure that the lock adds.
//!
//! Reported: the median per-account time of each way over the rounds, the
//! median of the per-round ratios to the native run of the same round, and
//! the CPU time this process spent per account (Linux `/proc/self/stat`,
//! 10 ms ticks, so ±0.05 ms per account; the MariaDB server's is not in it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use keeper::testing::rotation::{Engine, Options, Outcome};
use keeper::testing::runtime::plugin::{RecordView, Rotation, Target};
use keeper::testing::runtime::{
    ArtifactCache, CallContext, LoadedPlugin, PinnedTarget, Runtime, Step, registry,
};
use keeper::testing::vault::Vault;
use keeper::testing::vault::crypto::KdfParams;
use keeper_mysql_protocol::{Conn, ConnectOptions, change_password};

mod common;

/// Accounts per way.
const ACCOUNTS: usize = 200;
/// Rounds; each rotates every set once.
const ROUNDS: usize = 5;
const ADDR: &str = "127.0.0.1:3306";

fn root() -> Conn<std::net::TcpStream> {
    Conn::connect_tcp(ADDR, &ConnectOptions::new("root", ""))
        .expect("root connects to MariaDB on 127.0.0.1:3306")
}

/// A set of accounts and their current passwords.
#[derive(Default)]
struct Accounts {
    users: Vec<String>,
    passwords: Vec<String>,
}

impl Accounts {
    fn create(admin: &mut Conn<std::net::TcpStream>, prefix: &str) -> Self {
        let users: Vec<String> = (0..ACCOUNTS).map(|i| format!("{prefix}{i}")).collect();
        let passwords: Vec<String> = (0..ACCOUNTS).map(|i| format!("Start-pass-{i}")).collect();
        for (user, pw) in users.iter().zip(&passwords) {
            admin
                .execute(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{pw}'"))
                .expect("create user");
        }
        Self { users, passwords }
    }

    fn drop_all(&self, admin: &mut Conn<std::net::TcpStream>) {
        for user in &self.users {
            let _ = admin.execute(&format!("DROP USER IF EXISTS '{user}'@'%'"));
        }
    }
}

/// Native: connect, change, reconnect and query, for every account.
fn native(set: &mut Accounts, round: usize) -> Duration {
    let started = Instant::now();
    for (i, user) in set.users.iter().enumerate() {
        let new = format!("Native-{round}-{i}");
        let mut conn = Conn::connect_tcp(
            ADDR,
            &ConnectOptions::new(user.as_str(), set.passwords[i].as_str()),
        )
        .expect("login");
        change_password(&mut conn, user, Some("%"), &new).expect("change");
        conn.close().expect("close");
        let mut check = Conn::connect_tcp(ADDR, &ConnectOptions::new(user.as_str(), new.as_str()))
            .expect("verify login");
        check.query("SELECT 1").expect("select");
        check.close().expect("close");
        set.passwords[i] = new;
    }
    started.elapsed()
}

/// The plugin's rotate and verify for every account, in a worker task: in
/// one sandbox per account, or (`fresh_sandboxes`) in one per call.
async fn plugin_only(
    plugin: Arc<LoadedPlugin>,
    mut set: Accounts,
    round: usize,
    fresh_sandboxes: bool,
) -> (Accounts, Duration) {
    let pinned = PinnedTarget {
        host: "127.0.0.1".into(),
        port: 3306,
        address: ADDR.parse().expect("addr"),
    };
    let started = Instant::now();
    for (i, user) in set.users.iter().enumerate() {
        let new = format!("Plugin-{round}-{i}");
        let req = Rotation {
            record: RecordView {
                uid: format!("u{i}"),
                title: user.clone(),
                record_type: "login".into(),
                fields: vec![],
                custom: vec![],
                notes: None,
            },
            target: Some(Target {
                host: "127.0.0.1".into(),
                port: 3306,
                address: ADDR.into(),
            }),
            params: vec![("user_host".into(), "%".into())],
            login: user.clone(),
            old_password: set.passwords[i].clone(),
            new_password: new.clone(),
            prepared: vec![],
        };
        let call = || CallContext {
            target: Some(pinned.clone()),
            ..Default::default()
        };
        if fresh_sandboxes {
            plugin
                .rotation_step(Step::Rotate, call(), &req)
                .await
                .expect("plugin rotate");
            plugin
                .rotation_step(Step::Verify, call(), &req)
                .await
                .expect("plugin verify");
        } else {
            let mut session = plugin.rotation_session(call()).await.expect("sandbox");
            let rotated = session.step(Step::Rotate, &req).await;
            rotated.expect("plugin rotate");
            let verified = session.step(Step::Verify, &req).await;
            verified.expect("plugin verify");
        }
        set.passwords[i] = new;
    }
    let elapsed = started.elapsed();
    (set, elapsed)
}

fn records(vault: &mut Vault, set: &Accounts, tag: &str) -> Vec<(String, Option<String>)> {
    common::rotation_records(
        vault,
        &format!("bench {tag}"),
        &set.users,
        &set.passwords,
        "mysql",
        3306,
    )
}

/// CPU time (user + system) this process has used, in ms.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name, which is in parentheses: utime and
    // stime are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
    let fields: Vec<&str> = stat[stat.rfind(')').expect("stat") + 2..]
        .split(' ')
        .collect();
    let ticks = |i: usize| fields[i].parse::<f64>().expect("ticks");
    (ticks(11) + ticks(12)) * 10.0
}

fn main() {
    // `KEEPER_BENCH_WORKERS=N` runs the same benchmark on N tokio workers.
    let tokio = common::tokio_runtime();
    let prefix = format!("kbench{}_", std::process::id());
    let mut admin = root();
    let mut native_set = Accounts::create(&mut admin, &format!("{prefix}n"));
    let mut plugin_set = Accounts::create(&mut admin, &format!("{prefix}p"));
    let mut fresh_set = Accounts::create(&mut admin, &format!("{prefix}f"));
    let seq_set = Accounts::create(&mut admin, &format!("{prefix}s"));
    let par_set = Accounts::create(&mut admin, &format!("{prefix}q"));

    let runtime = Runtime::new(ArtifactCache::disabled()).expect("runtime");
    let package = registry::builtin()
        .expect("builtins")
        .into_iter()
        .find(|p| p.manifest.name == "mysql")
        .expect("mysql plugin");
    let plugin = Arc::new(runtime.load(&package).expect("load mysql"));

    let dir = tempfile::tempdir().expect("data dir");
    let secret = secrecy::SecretString::from("bench master password");
    let mut vault = Vault::create(
        &dir.path().join("vault.db"),
        "bench@example.com",
        &secret,
        &KdfParams::insecure_fast(),
    )
    .expect("vault");
    let seq_targets = records(&mut vault, &seq_set, "s");
    let par_targets = records(&mut vault, &par_set, "q");
    let engine = Arc::new(
        Engine::new(
            vault,
            dir.path().join("plugins"),
            dir.path().join("cache"),
            dir.path().join("known_hosts"),
        )
        .expect("engine"),
    );
    let run = |targets: &[(String, Option<String>)], parallel: usize| -> Duration {
        let started = Instant::now();
        let reports = tokio.block_on(engine.rotate_all(
            targets.to_vec(),
            &Options::default(),
            parallel,
            |_| {},
        ));
        for report in &reports {
            assert_eq!(report.outcome, Outcome::Rotated, "{report:?}");
        }
        started.elapsed()
    };

    // Warm-up: compile and cache the plugin, warm the vault and the server.
    let _ = run(&par_targets, 8);
    const WAYS: usize = 6;
    let mut times: [Vec<f64>; WAYS] = Default::default();
    let mut cpu: [Vec<f64>; WAYS] = Default::default();
    for round in 0..ROUNDS {
        let mut measure = |way: usize, f: &mut dyn FnMut() -> Duration| {
            let before = cpu_ms();
            let elapsed = f();
            cpu[way].push((cpu_ms() - before) / ACCOUNTS as f64);
            times[way].push(elapsed.as_secs_f64() * 1e3 / ACCOUNTS as f64);
        };
        measure(0, &mut || native(&mut native_set, round));
        for (way, fresh, set) in [(1, false, &mut plugin_set), (2, true, &mut fresh_set)] {
            measure(way, &mut || {
                let task = plugin_only(plugin.clone(), std::mem::take(set), round, fresh);
                let (back, elapsed) = tokio.block_on(tokio.spawn(task)).expect("plugin task");
                *set = back;
                elapsed
            });
        }
        measure(3, &mut || run(&seq_targets, 1));
        measure(4, &mut || run(&par_targets, 8));
        measure(5, &mut || {
            let started = Instant::now();
            engine.with_vault(|v| {
                for (uid, _) in &seq_targets {
                    let lock = v.lock_rotation(uid).expect("lock");
                    v.release_rotation_lock(&lock).expect("let go");
                }
            });
            started.elapsed()
        });
    }
    for set in [&native_set, &plugin_set, &fresh_set, &seq_set, &par_set] {
        set.drop_all(&mut admin);
    }

    let ratio = |i: usize| {
        common::median(
            times[i]
                .iter()
                .zip(&times[0])
                .map(|(t, native)| t / native)
                .collect(),
        )
    };
    println!("{ROUNDS} rounds of {ACCOUNTS} accounts per way; medians over the rounds\n");
    println!(
        "| way | per account | vs native (median of per-round ratios) | CPU of this process per account |"
    );
    println!("|---|---|---|---|");
    for (i, name) in [
        "native baseline (connect, change, reconnect to verify)",
        "mysql plugin only (rotate + verify in one sandbox, no vault)",
        "mysql plugin only, a fresh sandbox per call",
        "keeper rotate, sequential (`--parallel 1`)",
        "keeper rotate, `--parallel 8`",
        "rotation lock alone: take + let go (vault only)",
    ]
    .iter()
    .enumerate()
    {
        println!(
            "| {name} | {:.2} ms | {:.2}× | {:.2} ms |",
            common::median(times[i].clone()),
            ratio(i),
            common::median(cpu[i].clone())
        );
    }
    println!(
        "\nplugin-call overhead over native: {:.1} %",
        (ratio(1) - 1.0) * 100.0
    );
    let share = |way: usize| {
        common::median(
            times[5]
                .iter()
                .zip(&times[way])
                .map(|(lock, rotate)| lock / rotate * 100.0)
                .collect(),
        )
    };
    println!(
        "rotation lock share of a rotation: {:.1} % sequential, {:.1} % with --parallel 8",
        share(3),
        share(4)
    );
}
