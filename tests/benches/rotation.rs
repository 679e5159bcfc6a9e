//! Rotation benchmark: rotate 200 real MariaDB accounts.
//!
//! Run: `cargo bench -p keeper-tests --bench rotation` (needs MariaDB on
//! 127.0.0.1:3306, root without password). In one process it measures:
//!
//! 1. **native baseline**: plain Rust with the same protocol crate doing the
//!    same SQL work per account — connect with the old password, change it,
//!    reconnect with the new one to verify;
//! 2. **plugin only**: the same work through the sandboxed mysql plugin
//!    (`rotate` + `verify` calls, fresh sandbox each), no vault;
//! 3. **keeper end to end**: the rotation engine behind `keeper rotate
//!    --match` (password generation, pending state, plugin calls, the final
//!    vault transaction and audit), sequentially and with `--parallel 8`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keeper::rotation::{Engine, Options, Outcome};
use keeper::runtime::plugin::{RecordView, Rotation, Target};
use keeper::runtime::{ArtifactCache, CallContext, PinnedTarget, Runtime, Step, registry};
use keeper::vault::Vault;
use keeper::vault::crypto::KdfParams;
use keeper::vault::model::RecordData;
use keeper_mysql_protocol::{Conn, ConnectOptions, change_password};
use serde_json::json;

const ACCOUNTS: usize = 200;
const ADDR: &str = "127.0.0.1:3306";

fn root() -> Conn<std::net::TcpStream> {
    Conn::connect_tcp(ADDR, &ConnectOptions::new("root", ""))
        .expect("root connects to MariaDB on 127.0.0.1:3306")
}

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let prefix = format!("kbench{}_", std::process::id());
    let mut admin = root();
    let mut passwords: Vec<String> = (0..ACCOUNTS).map(|i| format!("Start-pass-{i}")).collect();
    let users: Vec<String> = (0..ACCOUNTS).map(|i| format!("{prefix}{i}")).collect();
    for (user, pw) in users.iter().zip(&passwords) {
        admin
            .execute(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{pw}'"))
            .expect("create user");
    }

    // 1. Native baseline.
    let started = Instant::now();
    for (i, user) in users.iter().enumerate() {
        let new = format!("Native-pass-{i}");
        let mut conn = Conn::connect_tcp(
            ADDR,
            &ConnectOptions::new(user.as_str(), passwords[i].as_str()),
        )
        .expect("login");
        change_password(&mut conn, user, Some("%"), &new).expect("change");
        conn.close().expect("close");
        let mut check = Conn::connect_tcp(ADDR, &ConnectOptions::new(user.as_str(), new.as_str()))
            .expect("verify login");
        check.query("SELECT 1").expect("select");
        check.close().expect("close");
        passwords[i] = new;
    }
    let native = started.elapsed();

    // 2. The sandboxed plugin alone.
    let runtime = Runtime::new(ArtifactCache::disabled()).expect("runtime");
    let package = registry::builtin()
        .expect("builtins")
        .into_iter()
        .find(|p| p.manifest.name == "mysql")
        .expect("mysql plugin");
    let plugin = runtime.load(&package).expect("load mysql");
    let pinned = PinnedTarget {
        host: "127.0.0.1".into(),
        port: 3306,
        address: ADDR.parse().expect("addr"),
    };
    // Like `keeper rotate`, the calls run in a task on the runtime's
    // workers (not in `block_on` on the main thread, which would add a
    // cross-thread wake-up to every network read).
    let plugin = Arc::new(plugin);
    let started = Instant::now();
    passwords = tokio
        .block_on(tokio.spawn({
            let (plugin, users) = (plugin.clone(), users.clone());
            async move {
                let mut passwords = passwords;
                for (i, user) in users.iter().enumerate() {
                    let new = format!("Plugin-pass-{i}");
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
                        old_password: passwords[i].clone(),
                        new_password: new.clone(),
                        prepared: vec![],
                    };
                    let call = || CallContext {
                        target: Some(pinned.clone()),
                        ..Default::default()
                    };
                    plugin
                        .rotation_step(Step::Rotate, call(), &req)
                        .await
                        .expect("plugin rotate");
                    plugin
                        .rotation_step(Step::Verify, call(), &req)
                        .await
                        .expect("plugin verify");
                    passwords[i] = new;
                }
                passwords
            }
        }))
        .expect("plugin task");
    let plugin_only = started.elapsed();

    // 3. The engine, end to end, on a vault holding the 200 records.
    let dir = tempfile::tempdir().expect("data dir");
    let secret = secrecy::SecretString::from("bench master password");
    let mut vault = Vault::create(
        &dir.path().join("vault.db"),
        "bench@example.com",
        &secret,
        &KdfParams::insecure_fast(),
    )
    .expect("vault");
    let mut uids = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let mut data = RecordData::new("login", &format!("bench {i:03}"));
        data.set_field(false, "login", None, vec![json!(user)], 0);
        data.set_field(false, "password", None, vec![json!(passwords[i])], 0);
        for (label, value) in [
            ("cmdr:plugin", "mysql"),
            ("cmdr:host", "127.0.0.1"),
            ("cmdr:port", "3306"),
        ] {
            data.set_field(true, "text", Some(label), vec![json!(value)], 0);
        }
        uids.push(vault.add_record(data, None).expect("add record"));
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
    let run = |parallel: usize| -> Duration {
        let started = Instant::now();
        tokio.block_on(async {
            let limit = Arc::new(tokio::sync::Semaphore::new(parallel));
            let mut tasks = tokio::task::JoinSet::new();
            for uid in &uids {
                let (engine, limit, uid) = (engine.clone(), limit.clone(), uid.clone());
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    engine.rotate(&uid, None, &Options::default()).await
                });
            }
            while let Some(report) = tasks.join_next().await {
                let report = report.expect("task");
                assert_eq!(report.outcome, Outcome::Rotated, "{report:?}");
            }
        });
        started.elapsed()
    };
    let _warm = run(8); // compile and cache the plugin, warm the vault
    let sequential = run(1);
    let parallel = run(8);

    for user in &users {
        let _ = admin.execute(&format!("DROP USER IF EXISTS '{user}'@'%'"));
    }

    let per = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3 / ACCOUNTS as f64);
    let ratio = |d: Duration| format!("{:.2}×", d.as_secs_f64() / native.as_secs_f64());
    println!("| run ({ACCOUNTS} accounts) | total | per account | vs native |");
    println!("|---|---|---|---|");
    println!(
        "| native baseline (connect, change, reconnect to verify) | {:.2} s | {} | 1.00× |",
        native.as_secs_f64(),
        per(native)
    );
    println!(
        "| mysql plugin only (sandboxed rotate + verify, no vault) | {:.2} s | {} | {} |",
        plugin_only.as_secs_f64(),
        per(plugin_only),
        ratio(plugin_only)
    );
    println!(
        "| keeper rotate, sequential (`--parallel 1`) | {:.2} s | {} | {} |",
        sequential.as_secs_f64(),
        per(sequential),
        ratio(sequential)
    );
    println!(
        "| keeper rotate, `--parallel 8` | {:.2} s | {} | {} |",
        parallel.as_secs_f64(),
        per(parallel),
        ratio(parallel)
    );
    println!(
        "\nplugin-call overhead over native: {:.1} %",
        (plugin_only.as_secs_f64() / native.as_secs_f64() - 1.0) * 100.0
    );
}
