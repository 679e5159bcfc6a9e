//! Bulk rotation under real network latency: PostgreSQL roles and MariaDB
//! accounts behind 5 ms of added round-trip time.
//!
//! Run: `cargo bench -p keeper-tests --bench latency` (needs MariaDB on
//! 127.0.0.1:3306 as root without password, and PostgreSQL's server
//! binaries: a private cluster with SCRAM-SHA-256 password authentication
//! is started for the run). `KEEPER_BENCH_ACCOUNTS=N` (default 1000) per
//! set, `KEEPER_BENCH_RTT_MS` (default 5) the added round trip.
//!
//! **The delay.** A relay on 127.0.0.1 started here sits between every
//! client and its server. Each chunk it reads in either direction is
//! written on after half the round trip, and nothing is forwarded before
//! one round trip after the connection was accepted, which stands in for
//! the TCP handshake's round trip (the kernel completes a loopback
//! handshake at once): a client's `connect` + first message costs
//! 1.5 RTT, as over a real link. Chunks are delayed independently, so
//! pipelined messages stay pipelined. The added round trip is measured
//! through the relay against an echo server and printed.
//!
//! **The work**, per account, the same for every way: log in with the
//! current password, change it, log in afresh with the new one and run a
//! query. PostgreSQL: SCRAM-SHA-256 logins, `ALTER ROLE ... PASSWORD
//! '<SCRAM verifier>'`. MariaDB: `mysql_native_password`, `SET PASSWORD`.
//!
//! **The ways**, per database, each over its own set of accounts:
//! 1. native: plain Rust with the same protocol crate, one account after
//!    another (the sequential native floor);
//! 2. keeper: the rotation engine behind `keeper rotate --match`
//!    (`Engine::rotate_all`: password generation, pending state, the
//!    sandboxed plugin's prepare/rotate/verify, the final vault
//!    transaction and audit) with `--parallel 1`, `8` and `16`, rotating
//!    the same set three times (the vault tracks its passwords).
//!
//! 3. with `KEEPER_BENCH_COMMANDER=<python with keepercommander>`:
//!    Commander's own mysql plugin, sequentially (`benches/commander_mysql.py`;
//!    its accounts get the CREATE USER privilege, without which its
//!    `ALTER USER` fails on MariaDB).
//!
//! Reported: wall time per way, per-account time, and ratios to native.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use keeper::testing::rotation::{Engine, Options, Outcome};
use keeper::testing::vault::Vault;
use keeper::testing::vault::crypto::KdfParams;
use keeper_postgres_protocol::auth::scram_verifier;
use keeper_postgres_protocol::testkit::Cluster;

mod common;

/// Starts a delaying relay to `upstream`; returns its address. Threads
/// run until the process exits.
fn relay(upstream: SocketAddr, rtt: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
    let addr = listener.local_addr().expect("relay addr");
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let accepted = Instant::now();
            std::thread::spawn(move || {
                let Ok(server) = TcpStream::connect(upstream) else {
                    return;
                };
                for s in [&client, &server] {
                    let _ = s.set_nodelay(true);
                }
                let (c2, s2) = match (client.try_clone(), server.try_clone()) {
                    (Ok(c), Ok(s)) => (c, s),
                    _ => return,
                };
                pump(client, server, accepted, rtt);
                pump(s2, c2, accepted, rtt);
            });
        }
    });
    addr
}

/// Forwards `from` → `to`, each chunk after half the round trip (and not
/// before one round trip after `accepted`).
fn pump(mut from: TcpStream, mut to: TcpStream, accepted: Instant, rtt: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due = Instant::now().max(accepted + rtt) + rtt / 2;
                    if tx.send((due, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (due, chunk) in rx {
            let wait = due.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// The median round trip through a relay to a local echo server, minus
/// the same round trip without it.
fn measured_rtt(rtt: Duration) -> Duration {
    let echo = TcpListener::bind("127.0.0.1:0").expect("echo");
    let echo_addr = echo.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut s in echo.incoming().flatten() {
            std::thread::spawn(move || {
                let mut b = [0u8; 64];
                while let Ok(n) = s.read(&mut b) {
                    if n == 0 || s.write_all(&b[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let round_trips = |addr: SocketAddr| {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let mut times = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            s.write_all(b"ping").expect("write");
            let mut b = [0u8; 4];
            s.read_exact(&mut b).expect("read");
            times.push(t.elapsed());
        }
        times.sort();
        times[times.len() / 2]
    };
    let direct = round_trips(echo_addr);
    let relayed = round_trips(relay(echo_addr, rtt));
    relayed.saturating_sub(direct)
}

/// One way's accounts: user names and current passwords.
struct Set {
    users: Vec<String>,
    passwords: Vec<String>,
}

impl Set {
    fn new(prefix: &str, n: usize) -> Self {
        Self {
            users: (0..n).map(|i| format!("{prefix}{i}")).collect(),
            passwords: (0..n).map(|i| format!("Start-pass-{i}")).collect(),
        }
    }
}

/// The databases under test.
#[derive(Clone, Copy, PartialEq)]
enum Db {
    Postgres,
    Mariadb,
}

impl Db {
    fn name(self) -> &'static str {
        match self {
            Db::Postgres => "PostgreSQL",
            Db::Mariadb => "MariaDB",
        }
    }

    fn plugin(self) -> &'static str {
        match self {
            Db::Postgres => "postgresql",
            Db::Mariadb => "mysql",
        }
    }

    /// One account's rotation and verification, natively.
    fn rotate_native(self, addr: SocketAddr, user: &str, old: &str, new: &str) {
        match self {
            Db::Postgres => {
                use keeper_postgres_protocol::{Conn, ConnectOptions, change_password};
                let mut c =
                    Conn::connect_tcp(addr, &ConnectOptions::new(user, old).database("postgres"))
                        .expect("pg login");
                change_password(&mut c, user, new, None).expect("pg change");
                c.close().expect("close");
                let mut c =
                    Conn::connect_tcp(addr, &ConnectOptions::new(user, new).database("postgres"))
                        .expect("pg verify login");
                c.query("SELECT 1").expect("select");
                c.close().expect("close");
            }
            Db::Mariadb => {
                use keeper_mysql_protocol::{Conn, ConnectOptions, change_password};
                let mut c =
                    Conn::connect_tcp(addr, &ConnectOptions::new(user, old)).expect("mysql login");
                change_password(&mut c, user, Some("%"), new).expect("mysql change");
                c.close().expect("close");
                let mut c = Conn::connect_tcp(addr, &ConnectOptions::new(user, new))
                    .expect("mysql verify login");
                c.query("SELECT 1").expect("select");
                c.close().expect("close");
            }
        }
    }
}

fn create_postgres(cluster: &Cluster, set: &Set) {
    let mut admin = cluster.admin();
    for chunk in set
        .users
        .iter()
        .zip(&set.passwords)
        .collect::<Vec<_>>()
        .chunks(100)
    {
        let sql: String = chunk
            .iter()
            .map(|(u, p)| {
                let salt: [u8; 16] = *b"bench-salt-16byt";
                format!(
                    "CREATE ROLE \"{u}\" LOGIN PASSWORD '{}';",
                    scram_verifier(p, &salt, 4096).as_str()
                )
            })
            .collect();
        admin.query(&sql).expect("create roles");
    }
}

fn drop_postgres(cluster: &Cluster, set: &Set) {
    let mut admin = cluster.admin();
    for chunk in set.users.chunks(200) {
        let sql: String = chunk
            .iter()
            .map(|u| format!("DROP ROLE IF EXISTS \"{u}\";"))
            .collect();
        let _ = admin.query(&sql);
    }
}

fn mariadb_root() -> keeper_mysql_protocol::Conn<TcpStream> {
    keeper_mysql_protocol::Conn::connect_tcp(
        "127.0.0.1:3306",
        &keeper_mysql_protocol::ConnectOptions::new("root", ""),
    )
    .expect("root connects to MariaDB on 127.0.0.1:3306")
}

fn create_mariadb(set: &Set) {
    let mut admin = mariadb_root();
    for (u, p) in set.users.iter().zip(&set.passwords) {
        admin
            .execute(&format!("CREATE USER '{u}'@'%' IDENTIFIED BY '{p}'"))
            .expect("create user");
    }
}

fn drop_mariadb(set: &Set) {
    let mut admin = mariadb_root();
    for u in &set.users {
        let _ = admin.execute(&format!("DROP USER IF EXISTS '{u}'@'%'"));
    }
}

/// CPU time (user + system) this process has used, in ms (Linux
/// `/proc/self/stat`, 10 ms ticks). Includes the relay's threads, which
/// every way goes through alike.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(end) = stat.rfind(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = stat[end + 2..].split(' ').collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) * 10.0
}

/// The 1-, 5- and 15-minute load averages (other work on the machine).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// With `KEEPER_BENCH_COMMANDER=<python>` (a Python with `keepercommander`
/// and `pymysql` installed): one more MariaDB set, for Commander's plugin.
fn mariadb_commander_set(plans: &[Plan], n: usize, tag: u32) -> Option<Set> {
    std::env::var_os("KEEPER_BENCH_COMMANDER")?;
    let _ = plans;
    let set = Set::new(&format!("kl{tag}mysqlc"), n);
    create_mariadb(&set);
    // Commander's plugin uses ALTER USER, which MariaDB allows only with
    // the CREATE USER privilege, even for one's own password.
    let mut admin = mariadb_root();
    for u in &set.users {
        admin
            .execute(&format!("GRANT CREATE USER ON *.* TO '{u}'@'%'"))
            .expect("grant");
    }
    Some(set)
}

/// Commander's own mysql plugin (`keepercommander.plugins.mysql`,
/// `Rotator.rotate`, then a fresh pymysql login with the new password, as
/// the other ways verify) over the same relay, one account after another,
/// timed inside the Python process (imports excluded).
fn commander_mysql(
    plans: &[Plan],
    set: &Option<Set>,
    n: usize,
) -> Option<(&'static str, String, Duration, Duration, f64)> {
    let set = set.as_ref()?;
    let python = std::env::var_os("KEEPER_BENCH_COMMANDER")?;
    let (_, relay, ..) = plans.iter().find(|p| p.0 == Db::Mariadb)?;
    let floor = FLOOR.get().copied()?;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/commander_mysql.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .arg(relay.port().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run Commander's plugin");
    let accounts: String = set
        .users
        .iter()
        .zip(&set.passwords)
        .map(|(u, p)| format!("{u}\t{p}\n"))
        .collect();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(accounts.as_bytes())
        .expect("write accounts");
    let out = child.wait_with_output().expect("wait");
    drop_mariadb(set);
    let seconds: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("Commander's run prints its seconds");
    assert!(out.status.success());
    let _ = n;
    Some((
        "MariaDB",
        "Commander's mysql plugin (Python, pymysql), sequential".to_string(),
        Duration::from_secs_f64(seconds),
        floor,
        f64::NAN,
    ))
}

/// The MariaDB native floor, for the Commander row.
static FLOOR: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

type Plan = (
    Db,
    SocketAddr,
    Set,
    Set,
    Vec<(String, Option<String>)>,
    Set,
    Vec<(String, Option<String>)>,
);

fn main() {
    let n: usize = std::env::var("KEEPER_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rtt = Duration::from_secs_f64(
        std::env::var("KEEPER_BENCH_RTT_MS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(5.0)
            / 1e3,
    );
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    println!(
        "added round trip: {:.2} ms configured, {:.2} ms measured (median, echo through the relay)",
        rtt.as_secs_f64() * 1e3,
        measured_rtt(rtt).as_secs_f64() * 1e3
    );

    let cluster = Cluster::start().expect("private PostgreSQL cluster");
    let tag = std::process::id();
    let dir = tempfile::tempdir().expect("data dir");
    let mut vault = Vault::create(
        &dir.path().join("vault.db"),
        "bench@example.com",
        &secrecy::SecretString::from("bench master password"),
        &KdfParams::insecure_fast(),
    )
    .expect("vault");

    let mut plans: Vec<Plan> = Vec::new();
    for db in [Db::Postgres, Db::Mariadb] {
        let upstream: SocketAddr = match db {
            Db::Postgres => cluster.addr,
            Db::Mariadb => "127.0.0.1:3306".parse().expect("addr"),
        };
        let native = Set::new(&format!("kl{tag}{}n", db.plugin()), n);
        let keeper = Set::new(&format!("kl{tag}{}k", db.plugin()), n);
        let warm = Set::new(&format!("kl{tag}{}w", db.plugin()), 4);
        for set in [&native, &keeper, &warm] {
            match db {
                Db::Postgres => create_postgres(&cluster, set),
                Db::Mariadb => create_mariadb(set),
            }
        }
        let relay = relay(upstream, rtt);
        let targets = common::rotation_records(
            &mut vault,
            db.plugin(),
            &keeper.users,
            &keeper.passwords,
            db.plugin(),
            relay.port(),
        );
        let warm_targets = common::rotation_records(
            &mut vault,
            &format!("warm-up {}", db.plugin()),
            &warm.users,
            &warm.passwords,
            db.plugin(),
            relay.port(),
        );
        plans.push((db, relay, native, keeper, targets, warm, warm_targets));
    }
    let engine = Arc::new(
        Engine::new(
            vault,
            dir.path().join("plugins"),
            dir.path().join("cache"),
            dir.path().join("known_hosts"),
        )
        .expect("engine"),
    );

    let mut rows = Vec::new();
    println!("load average before: {}", load_average());
    for (db, relay, native, _keeper, targets, _, warm_targets) in &mut plans {
        // Warm-up (not measured): compile and cache the plugin, open the vault.
        let reports =
            tokio.block_on(engine.rotate_all(warm_targets.clone(), &Options::default(), 4, |_| {}));
        assert!(
            reports.iter().all(|r| r.outcome == Outcome::Rotated),
            "{reports:?}"
        );
        // Native floor: one account after another.
        let cpu = cpu_ms();
        let started = Instant::now();
        for i in 0..native.users.len() {
            let new = format!("Native-{i}-x");
            db.rotate_native(*relay, &native.users[i], &native.passwords[i], &new);
            native.passwords[i] = new;
        }
        let floor = started.elapsed();
        if *db == Db::Mariadb {
            let _ = FLOOR.set(floor);
        }
        rows.push((
            db.name(),
            "native client, sequential".to_string(),
            floor,
            floor,
            cpu_ms() - cpu,
        ));
        for parallel in [1, 8, 16] {
            let cpu = cpu_ms();
            let started = Instant::now();
            let reports = tokio.block_on(engine.rotate_all(
                targets.clone(),
                &Options::default(),
                parallel,
                |_| {},
            ));
            let elapsed = started.elapsed();
            for r in &reports {
                assert_eq!(r.outcome, Outcome::Rotated, "{r:?}");
            }
            rows.push((
                db.name(),
                format!("keeper rotate --parallel {parallel}"),
                elapsed,
                floor,
                cpu_ms() - cpu,
            ));
        }
    }
    let commander = commander_mysql(&plans, &mariadb_commander_set(&plans, n, tag), n);
    println!("load average after: {}", load_average());
    for (db, _, native, keeper, _, warm, _) in &plans {
        for set in [native, keeper, warm] {
            match db {
                Db::Postgres => drop_postgres(&cluster, set),
                Db::Mariadb => drop_mariadb(set),
            }
        }
    }

    if let Some(row) = commander {
        rows.push(row);
    }
    println!(
        "\n{n} accounts per set, {:.1} ms added round trip\n",
        rtt.as_secs_f64() * 1e3
    );
    println!(
        "| database | way | wall time | per account | vs native floor | CPU of this process per account |"
    );
    println!("|---|---|---|---|---|---|");
    for (db, way, elapsed, floor, cpu) in rows {
        let ratio = floor.as_secs_f64() / elapsed.as_secs_f64();
        let cpu = if cpu.is_nan() {
            "(another process)".to_string()
        } else {
            format!("{:.2} ms", cpu / n as f64)
        };
        println!(
            "| {db} | {way} | {:.1} s | {:.2} ms | {} | {cpu} |",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e3 / n as f64,
            if (ratio - 1.0).abs() < 1e-9 {
                "1.00× (baseline)".to_string()
            } else if ratio >= 1.0 {
                format!("{ratio:.2}× faster")
            } else {
                format!("{:.2}× slower", 1.0 / ratio)
            }
        );
    }
}
