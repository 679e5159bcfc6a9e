//! The hostile-plugin suite: real wasm32-wasip2 components that try to
//! escape or exhaust the sandbox. Each attempt must fail with its specific
//! error, reach nothing it may not reach, and leave the host working.
//!
//! The hostile rotator (tests/plugins/hostile-rotator) runs the attack named
//! by its `attack` parameter and returns Ok only if the attack succeeded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use keeper::testing::runtime::plugin::{RecordView, Rotation};
use keeper::testing::runtime::{
    ArtifactCache, CallContext, Error, LoadedPlugin, PinnedTarget, PluginError, Runtime, Step,
};

use crate::plugins;

pub(crate) fn runtime() -> (Runtime, tempfile::TempDir) {
    let cache = tempfile::tempdir().expect("cache dir");
    (
        Runtime::new(ArtifactCache::new(cache.path().to_path_buf())).expect("runtime"),
        cache,
    )
}

fn hostile(runtime: &Runtime) -> LoadedPlugin {
    runtime
        .load(&plugins::hostile_rotator().package())
        .expect("hostile rotator loads")
}

pub(crate) fn request(attack: &str, params: &[(&str, &str)]) -> Rotation {
    let mut all = vec![("attack".to_string(), attack.to_string())];
    all.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Rotation {
        record: RecordView {
            uid: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            title: "hostile".into(),
            record_type: "login".into(),
            fields: vec![],
            custom: vec![],
            notes: None,
        },
        target: None,
        params: all,
        login: "victim".into(),
        old_password: "old-Secret-1".into(),
        new_password: "new-Secret-2".into(),
        prepared: vec![],
    }
}

fn target(addr: SocketAddr) -> PinnedTarget {
    PinnedTarget {
        host: addr.ip().to_string(),
        port: addr.port(),
        address: addr,
    }
}

async fn attack(
    plugin: &LoadedPlugin,
    name: &str,
    params: &[(&str, &str)],
    pinned: Option<PinnedTarget>,
) -> Result<(), Error> {
    let mut req = request(name, params);
    req.target = pinned
        .as_ref()
        .map(|t| keeper::testing::runtime::plugin::Target {
            host: t.host.clone(),
            port: t.port,
            address: t.address.to_string(),
        });
    let call = CallContext {
        target: pinned,
        secrets: vec![
            req.old_password.clone().into(),
            req.new_password.clone().into(),
        ],
        ..Default::default()
    };
    plugin
        .rotation_step(Step::Rotate, call, &req)
        .await
        .map(drop)
}

/// The host still works: the same loaded plugin serves a normal call.
async fn still_works(plugin: &LoadedPlugin) {
    attack(plugin, "ok", &[], None)
        .await
        .expect("a well-behaved call after the attack succeeds");
}

#[track_caller]
fn assert_stopped<T: std::fmt::Debug>(result: Result<T, Error>, attack: &str) -> String {
    match result {
        Err(Error::Plugin {
            error: PluginError::Rejected(msg),
            ..
        }) => {
            assert!(
                msg.starts_with(attack),
                "{attack}: unexpected message {msg:?}"
            );
            msg
        }
        other => {
            panic!("{attack}: expected the sandbox to stop it (plugin saw an error), got {other:?}")
        }
    }
}

/// A listener that counts connections it accepts.
pub(crate) fn counting_listener() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (addr, count)
}

#[tokio::test]
async fn infinite_loop_runs_out_of_cpu() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    let err = attack(&plugin, "loop", &[], None)
        .await
        .expect_err("must be stopped");
    assert!(matches!(err, Error::CpuLimit { .. }), "{err:?}");
    assert!(err.to_string().contains("CPU budget"), "{err}");
    still_works(&plugin).await;
}

#[tokio::test]
async fn infinite_loop_hits_the_wall_clock_when_fuel_is_plentiful() {
    let (rt, _c) = runtime();
    let mut limits = hostile(&rt).limits().clone();
    limits.fuel = u64::MAX / 2;
    limits.timeout = Duration::from_millis(300);
    let plugin = hostile(&rt).with_limits(limits);
    let err = attack(&plugin, "loop", &[], None)
        .await
        .expect_err("must be stopped");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    still_works(&plugin).await;
}

#[tokio::test]
async fn memory_bomb_hits_the_memory_cap() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    let err = attack(&plugin, "memory", &[], None)
        .await
        .expect_err("must be stopped");
    assert!(matches!(err, Error::MemoryLimit { mib: 64, .. }), "{err:?}");
    still_works(&plugin).await;
}

#[tokio::test]
async fn runaway_recursion_overflows_the_stack_safely() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    let err = attack(&plugin, "recursion", &[], None)
        .await
        .expect_err("must be stopped");
    // Either wasm's own stack (1 MiB) or Rust's shadow stack in linear memory
    // overflows first, depending on frame layout; both are caught as such.
    match &err {
        Error::StackOverflow { .. } => {}
        Error::Crashed { detail, .. } => {
            assert!(detail.contains("stack may have overflowed"), "{detail}")
        }
        other => panic!("expected a stack overflow, got {other:?}"),
    }
    still_works(&plugin).await;
}

#[tokio::test]
async fn tcp_reaches_the_pinned_target_only() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);

    // The record's target answers ping with pong: allowed.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target_addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 4];
            if stream.read_exact(&mut buf).is_ok() && &buf == b"ping" {
                let _ = stream.write_all(b"pong");
            }
        }
    });
    attack(&plugin, "connect-target", &[], Some(target(target_addr)))
        .await
        .expect("the pinned target is reachable");

    // Another port on the same host, and another address: refused before
    // any packet leaves (the listeners never see a connection).
    let (other_port, other_port_hits) = counting_listener();
    let result = attack(
        &plugin,
        "connect",
        &[("address", &other_port.to_string())],
        Some(target(target_addr)),
    )
    .await;
    assert_stopped(result, "connect");
    let (other_host, other_host_hits) = counting_listener();
    let elsewhere = SocketAddr::new("127.0.0.2".parse().expect("ip"), other_host.port());
    let result = attack(
        &plugin,
        "connect",
        &[("address", &elsewhere.to_string())],
        Some(target(target_addr)),
    )
    .await;
    assert_stopped(result, "connect");
    // Without a target there is no network at all.
    let result = attack(
        &plugin,
        "connect",
        &[("address", &target_addr.to_string())],
        None,
    )
    .await;
    assert_stopped(result, "connect");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        other_port_hits.load(Ordering::SeqCst),
        0,
        "the other port saw a connection"
    );
    assert_eq!(
        other_host_hits.load(Ordering::SeqCst),
        0,
        "the other address saw a connection"
    );
    still_works(&plugin).await;
}

#[tokio::test]
async fn name_lookup_is_off() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    let (addr, _) = counting_listener();
    let result = attack(&plugin, "dns", &[("name", "localhost")], Some(target(addr))).await;
    assert_stopped(result, "dns");
    still_works(&plugin).await;
}

#[tokio::test]
async fn http_to_an_undeclared_origin_is_denied() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    let (addr, hits) = counting_listener();
    let url = format!("http://{addr}/steal");
    let msg = assert_stopped(
        attack(&plugin, "http", &[("url", &url)], Some(target(addr))).await,
        "http",
    );
    assert!(msg.to_lowercase().contains("denied"), "{msg}");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the undeclared origin saw a connection"
    );
    still_works(&plugin).await;
}

#[tokio::test]
async fn the_filesystem_is_empty() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    for path in [
        "/etc/passwd",
        "/proc/self/environ",
        ".",
        "../../../../etc/shadow",
    ] {
        let msg = assert_stopped(
            attack(&plugin, "read-file", &[("path", path)], None).await,
            "read-file",
        );
        assert!(!msg.contains("root:"), "file content leaked: {msg}");
    }
    still_works(&plugin).await;
}

#[tokio::test]
async fn the_environment_is_empty() {
    // The host process has PATH and HOME; the plugin must see neither (nor anything else).
    assert!(std::env::var_os("PATH").is_some());
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    assert_stopped(attack(&plugin, "env", &[], None).await, "env");
    assert_stopped(
        attack(&plugin, "env", &[("var", "PATH")], None).await,
        "env",
    );
    assert_stopped(
        attack(&plugin, "env", &[("var", "HOME")], None).await,
        "env",
    );
    still_works(&plugin).await;
}

#[tokio::test]
async fn log_and_stdout_floods_are_cut_off() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    for (name, stream) in [
        ("log-flood", "log"),
        ("huge-log-line", "log"),
        ("stdout-flood", "stdout"),
    ] {
        let err = attack(&plugin, name, &[], None)
            .await
            .expect_err("must be stopped");
        match &err {
            Error::OutputLimit { stream: s, .. } => assert_eq!(*s, stream, "{name}"),
            other => panic!("{name}: expected an output limit error, got {other:?}"),
        }
    }
    still_works(&plugin).await;
}

#[tokio::test]
async fn a_panic_is_a_crash_with_its_message() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    let err = attack(&plugin, "panic", &[], None)
        .await
        .expect_err("must fail");
    match &err {
        Error::Crashed { detail, .. } => assert!(detail.contains("hostile panic"), "{detail}"),
        other => panic!("expected a crash, got {other:?}"),
    }
    still_works(&plugin).await;
}

#[tokio::test]
async fn an_enormous_result_is_refused() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    let err = attack(&plugin, "huge-result", &[("bytes", "8388608")], None)
        .await
        .expect_err("must fail");
    assert!(
        matches!(
            err,
            Error::ResultTooLarge {
                bytes: 8_388_608,
                ..
            }
        ),
        "{err:?}"
    );
    still_works(&plugin).await;
}

#[tokio::test]
async fn secrets_never_come_back_in_errors() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    // The connect attack echoes the address it was given in its error; give
    // it the password and the host must redact it.
    let result = attack(&plugin, "connect", &[("address", "new-Secret-2")], None).await;
    let msg = assert_stopped(result, "connect");
    assert!(!msg.contains("new-Secret-2"), "{msg}");
    assert!(
        msg.contains("[redacted]"),
        "the plugin echoed the address, so the host must have redacted it: {msg}"
    );
}

/// One record's rotation steps share a sandbox (`RotationSession`); every
/// other call, and every other session, starts from a fresh one.
#[tokio::test]
async fn a_rotation_session_keeps_one_sandbox_and_sessions_share_nothing() {
    let (runtime, _cache) = runtime();
    let plugin = hostile(&runtime);
    let req = request("remember", &[]);
    let mut session = plugin
        .rotation_session(CallContext::default())
        .await
        .expect("sandbox");
    for n in 1..=3 {
        let msg = assert_stopped(session.step(Step::Rotate, &req).await, "remember");
        assert_eq!(msg, format!("remember: call {n}"), "the same sandbox");
    }
    let mut other = plugin
        .rotation_session(CallContext::default())
        .await
        .expect("sandbox");
    let msg = assert_stopped(other.step(Step::Rotate, &req).await, "remember");
    assert_eq!(msg, "remember: call 1", "a new session starts fresh");
    for _ in 0..2 {
        let msg = assert_stopped(attack(&plugin, "remember", &[], None).await, "remember");
        assert_eq!(msg, "remember: call 1", "a single call starts fresh");
    }
}

/// The SDK's `TargetStream` (raw `wasi:sockets`): talks to the pinned
/// target, honours a read timeout, and reports a refused connection.
#[tokio::test]
async fn the_sdk_target_stream_talks_times_out_and_reports_refusals() {
    let (rt, _c) = runtime();
    let plugin = hostile(&rt);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        // First connection: ping → pong. Second: read, then say nothing.
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4];
            if stream.read_exact(&mut buf).is_ok() && &buf == b"ping" && i == 0 {
                let _ = stream.write_all(b"pong");
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    });
    attack(&plugin, "target-stream", &[], Some(target(addr)))
        .await
        .expect("ping, pong");
    let silent = attack(
        &plugin,
        "target-stream",
        &[("timeout_ms", "100")],
        Some(target(addr)),
    )
    .await;
    let msg = assert_stopped(silent, "target-stream");
    assert!(msg.contains("within 100ms"), "{msg}");

    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_addr = closed.local_addr().expect("addr");
    drop(closed);
    let refused = attack(&plugin, "target-stream", &[], Some(target(closed_addr))).await;
    assert!(
        matches!(&refused, Err(Error::Plugin { error: PluginError::Unreachable(m), .. })
            if m.contains(&closed_addr.to_string())),
        "{refused:?}"
    );
}

/// The rotation engine runs a record's `prepare`, `rotate` and `verify` in
/// one sandbox: the hostile rotator's `same-sandbox` fails its `rotate` and
/// `verify` in any sandbox where `prepare` did not run, as a lone call shows.
#[tokio::test]
async fn the_engine_runs_a_records_steps_in_one_sandbox() {
    use keeper::testing::rotation::{Engine, Options, Outcome};
    use keeper::testing::vault::Vault;
    use keeper::testing::vault::crypto::KdfParams;
    use keeper::testing::vault::model::RecordData;
    use serde_json::json;

    let dir = tempfile::tempdir().expect("dir");
    let plugin_dir = dir.path().join("plugins");
    plugins::hostile_rotator().package_into(&plugin_dir.join("hostile-rotator"));
    let mut vault = Vault::create(
        &dir.path().join("vault.db"),
        "a@example.com",
        &secrecy::SecretString::from("master password"),
        &KdfParams::insecure_fast(),
    )
    .expect("vault");
    let mut data = RecordData::new("login", "one sandbox");
    data.set_field(false, "password", None, vec![json!("Old-pass-1")], 0);
    for (label, value) in [
        ("cmdr:plugin", "hostile-rotator"),
        ("cmdr:attack", "same-sandbox"),
    ] {
        data.set_field(true, "text", Some(label), vec![json!(value)], 0);
    }
    let uid = vault.add_record(data, None).expect("record");
    let engine = Engine::new(
        vault,
        plugin_dir,
        dir.path().join("cache"),
        dir.path().join("known_hosts"),
    )
    .expect("engine");
    let report = engine.rotate(&uid, None, &Options::default()).await;
    assert_eq!(report.outcome, Outcome::Rotated, "{report:?}");

    let (rt, _c) = runtime();
    let lone = attack(&hostile(&rt), "same-sandbox", &[], None).await;
    let msg = assert_stopped(lone, "same-sandbox");
    assert!(msg.contains("prepare did not"), "{msg}");
}

/// An error of a session's step names what the sandbox refused during that
/// step, not during an earlier one.
#[tokio::test]
async fn a_session_step_names_only_its_own_refusals() {
    let (runtime, _cache) = runtime();
    let plugin = hostile(&runtime);
    let (allowed, _) = counting_listener();
    let (elsewhere, hits) = counting_listener();
    let call = CallContext {
        target: Some(target(allowed)),
        ..Default::default()
    };
    let mut session = plugin.rotation_session(call).await.expect("sandbox");
    let address = elsewhere.to_string();
    let refused = session
        .step(Step::Rotate, &request("connect", &[("address", &address)]))
        .await;
    let msg = assert_stopped(refused, "connect");
    assert!(msg.contains("keeper denied: TCP connect"), "{msg}");
    let next = session.step(Step::Rotate, &request("remember", &[])).await;
    let msg = assert_stopped(next, "remember");
    assert_eq!(msg, "remember: call 1", "no refusal from the earlier step");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

/// A session whose step trapped refuses further steps with an error (the
/// engine then uses fresh sandboxes), and the plugin still serves others.
#[tokio::test]
async fn a_trapped_session_refuses_further_steps() {
    let (runtime, _cache) = runtime();
    let plugin = hostile(&runtime);
    let mut session = plugin
        .rotation_session(CallContext::default())
        .await
        .expect("sandbox");
    let crashed = session.step(Step::Rotate, &request("panic", &[])).await;
    assert!(matches!(crashed, Err(Error::Crashed { .. })), "{crashed:?}");
    let again = session.step(Step::Rotate, &request("ok", &[])).await;
    assert!(
        matches!(&again, Err(Error::Crashed { detail, .. }) if detail.contains("earlier step failed")),
        "a trapped sandbox is not entered again: {again:?}"
    );
    still_works(&plugin).await;
}

#[test]
fn api_version_2_is_refused() {
    let (rt, _c) = runtime();
    let err = rt
        .load(&plugins::future_api().package())
        .expect_err("must be refused");
    assert!(
        matches!(err, Error::UnsupportedApiVersion { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("needs plugin API 2.0.0"), "{err}");
    // Even when the manifest lies about the version, the component's own
    // export names give it away.
    let mut lying = plugins::future_api().package();
    lying.manifest.api_version = semver::Version::new(1, 0, 0);
    let err = rt.load(&lying).expect_err("must be refused");
    assert!(
        matches!(err, Error::UnsupportedApiVersion { ref requested, .. } if requested.major == 2),
        "{err:?}"
    );
}

#[test]
fn an_undeclared_import_is_refused() {
    let (rt, _c) = runtime();
    let err = rt
        .load(&plugins::hostile_importer().package())
        .expect_err("must be refused");
    match &err {
        Error::UndeclaredImport {
            import, capability, ..
        } => {
            assert!(import.starts_with("wasi:sockets/"), "{import}");
            assert_eq!(capability, "tcp");
        }
        other => panic!("expected an undeclared import error, got {other:?}"),
    }
}

#[test]
fn a_wrong_kind_is_refused() {
    let (rt, _c) = runtime();
    let mut package = plugins::minimal_rotator().package();
    package.manifest.kind = keeper::testing::runtime::Kind::Importer;
    let err = rt.load(&package).expect_err("must be refused");
    assert!(matches!(err, Error::WrongKind { .. }), "{err:?}");
}

#[test]
fn a_tampered_component_is_refused() {
    let out = tempfile::tempdir().expect("dir");
    plugins::minimal_rotator().package_into(out.path());
    keeper::testing::runtime::registry::read_dir(out.path()).expect("a faithful package reads");
    let wasm = out.path().join("plugin.wasm");
    let mut bytes = std::fs::read(&wasm).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&wasm, bytes).expect("write");
    let err =
        keeper::testing::runtime::registry::read_dir(out.path()).expect_err("must be refused");
    assert!(matches!(err, Error::Sha256Mismatch { .. }), "{err:?}");
}

#[test]
fn compiled_artifacts_are_cached_and_corruption_is_recompiled() {
    use keeper::testing::runtime::cache::Origin;
    let (rt, _c) = runtime();
    let package = plugins::minimal_rotator().package();
    assert_eq!(rt.load_traced(&package).expect("load").1, Origin::Compiled);
    assert_eq!(rt.load_traced(&package).expect("load").1, Origin::Cached);
    let artifact = rt
        .cache()
        .artifact_path(rt.engine(), &package.sha256)
        .expect("cache path");
    let mut bytes = std::fs::read(&artifact).expect("artifact");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&artifact, bytes).expect("corrupt");
    let (plugin, origin) = rt.load_traced(&package).expect("load after corruption");
    assert_eq!(origin, Origin::Recompiled);
    assert_eq!(
        rt.load_traced(&package).expect("load").1,
        Origin::Cached,
        "the fresh artifact is cached again"
    );
    let info =
        futures_lite_block_on(plugin.describe_rotator()).expect("the recompiled plugin works");
    assert_eq!(info.name, "minimal-rotator");
}

fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt")
        .block_on(f)
}
