//! What the benchmarks share: a test plugin as an installed package with
//! everything it asks for granted, a rotation request, vault records that
//! rotate accounts, a tokio runtime, medians, and `keeper` run as whole,
//! timed processes.

// Each bench uses part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use keeper::testing::runtime::plugin::{RecordView, Rotation};
use keeper::testing::runtime::registry::sha256_hex;
use keeper::testing::runtime::{Manifest, PluginPackage, Source};
use keeper::testing::vault::Vault;
use keeper::testing::vault::model::RecordData;
use serde_json::json;

/// The plugin whose `plugin.toml` is in `dir` and component at `wasm`.
pub fn package(dir: &str, wasm: &str) -> PluginPackage {
    let dir = std::path::Path::new(dir);
    let manifest =
        Manifest::parse(&std::fs::read_to_string(dir.join("plugin.toml")).expect("manifest"))
            .expect("valid");
    let wasm = std::fs::read(wasm).expect("component");
    PluginPackage {
        granted: manifest.capabilities.clone(),
        granted_limits: manifest.limits.clone(),
        granted_fields: manifest.fields.clone(),
        sha256: sha256_hex(&wasm),
        manifest,
        wasm: wasm.into(),
        source: Source::Installed,
        dir: None,
        native: None,
    }
}

/// A request for an empty record with `params`.
pub fn request(params: &[(&str, &str)]) -> Rotation {
    Rotation {
        record: RecordView {
            uid: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            title: "bench".into(),
            record_type: "login".into(),
            fields: vec![],
            custom: vec![],
            notes: None,
        },
        target: None,
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        login: "user".into(),
        old_password: "old-password".into(),
        new_password: "new-password".into(),
        prepared: vec![],
    }
}

/// Adds a `login` record per account (`<title> 0000`, ...) rotated by
/// `plugin` at 127.0.0.1:`port`; returns the targets for `rotate_all`.
pub fn rotation_records(
    vault: &mut Vault,
    title: &str,
    users: &[String],
    passwords: &[String],
    plugin: &str,
    port: u16,
) -> Vec<(String, Option<String>)> {
    let port = port.to_string();
    users
        .iter()
        .zip(passwords)
        .enumerate()
        .map(|(i, (user, password))| {
            let mut data = RecordData::new("login", &format!("{title} {i:04}"));
            data.set_field(false, "login", None, vec![json!(user)], 0);
            data.set_field(false, "password", None, vec![json!(password)], 0);
            for (label, value) in [
                ("cmdr:plugin", plugin),
                ("cmdr:host", "127.0.0.1"),
                ("cmdr:port", port.as_str()),
            ] {
                data.set_field(true, "text", Some(label), vec![json!(value)], 0);
            }
            (vault.add_record(data, None).expect("add record"), None)
        })
        .collect()
}

/// The tokio runtime a benchmark runs on: one worker per core, as `keeper`
/// has, unless `KEEPER_BENCH_WORKERS=N` asks for N.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = std::env::var("KEEPER_BENCH_WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        builder.worker_threads(n);
    }
    builder.enable_all().build().expect("tokio")
}

/// The median of `values` (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median of `runs` wall times taken by `time` (the upper one of an
/// even count).
pub fn median_time(runs: usize, mut time: impl FnMut() -> Duration) -> Duration {
    Duration::from_secs_f64(median((0..runs).map(|_| time().as_secs_f64()).collect()))
}

/// The `keeper` binary timed as whole processes on a data directory of its
/// own (also their working folder).
pub struct Processes {
    pub bin: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Processes {
    /// `bin` (which must be built) on a new, empty data directory.
    pub fn new(bin: PathBuf) -> Self {
        assert!(bin.is_file(), "{} not built", bin.display());
        Self {
            bin,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// `keeper ARGS` on the data directory, its configuration in a file,
    /// none of the caller's password, key derivation, store, clock,
    /// configuration file or user; standard input empty, standard output
    /// discarded, standard error kept.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("KEEPER_DATA_DIR", self.dir.path())
            .env("KEEPER_CONFIG_STORAGE", "file")
            .env_remove("KEEPER_PASSWORD")
            .env_remove("KEEPER_TEST_FAST_KDF")
            .env_remove("KEEPER_STORE")
            .env_remove("KEEPER_NOW")
            .env_remove("KEEPER_CONFIG_FILE")
            .env_remove("KEEPER_USER")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }
}

/// Runs `cmd`, checks that it succeeded, and returns its wall time and
/// output.
pub fn timed(cmd: &mut Command) -> (Duration, Output) {
    let start = Instant::now();
    let out = cmd.output().expect("run keeper");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "keeper {:?} failed: {}",
        cmd.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, out)
}
