//! Plugin HTTP benchmark: what a GET costs through the sandbox's HTTP
//! capability (wasi:http → policy → the host's reqwest client) against the
//! same GET sent with reqwest directly, with and without an HTTP proxy, to
//! a keep-alive origin on loopback, with no delay and with 2 ms of server
//! latency.
//!
//! Run: `cargo bench -p keeper-tests --bench http` (release build). Uses
//! the hostile test rotator's `http` attack with `count` GETs per call, so
//! the sandbox's own cost (instantiation, one call) is amortised and also
//! measured alone (`count` 0) and subtracted. Direct GETs, GETs through
//! the capability and calls without a GET are measured in turn, round
//! after round, so load from other processes falls on all three alike;
//! each row gives the medians over the rounds and the median of the
//! per-round ratios, and the client side's CPU time per GET (the measured
//! loop's thread and tokio's workers, not the loopback origin's or
//! proxy's threads), which load barely moves. Prints Markdown for
//! docs/BENCHMARKS.md; ratios are against reqwest directly, measured in
//! the same process over the same origin and proxy.

use std::time::{Duration, Instant};

use common::{median, request};
use keeper::testing::config::Proxy;
use keeper::testing::runtime::capability::origin::Origin;
use keeper::testing::runtime::{
    ArtifactCache, CallContext, HttpClient, LoadedPlugin, Runtime, Step,
};
use keeper_tests::net::{http_proxy, origin_server_with_delay};

mod common;

/// GETs per plugin call (the policy allows 64).
const PER_CALL: usize = 50;
/// Plugin calls per round against the origin that answers at once.
const CALLS_FAST: usize = 8;
/// Plugin calls per round against the origin with 2 ms of latency.
const CALLS_SLOW: usize = 1;
/// Rounds per row: direct GETs, then the same number through the
/// capability, then as many calls without a GET, in turn, so that load
/// from other processes falls on all three alike.
const ROUNDS: usize = 15;

fn package() -> keeper::testing::runtime::PluginPackage {
    common::package(
        env!("KEEPER_TEST_DIR_HOSTILE_ROTATOR"),
        env!("KEEPER_TEST_WASM_HOSTILE_ROTATOR"),
    )
}

/// `calls` calls of the plugin, each doing `count` GETs of `url`.
async fn through_plugin(
    plugin: &LoadedPlugin,
    origin: &str,
    url: &str,
    count: usize,
    calls: usize,
) {
    let count = count.to_string();
    let run = || async {
        let call = CallContext {
            http_origins: Some(vec![Origin::parse(origin).expect("origin")]),
            ..Default::default()
        };
        plugin
            .rotation_step(
                Step::Rotate,
                call,
                &request(&[("attack", "http"), ("url", url), ("count", &count)]),
            )
            .await
            .expect("the plugin's GETs succeed");
    };
    for _ in 0..calls {
        run().await;
    }
}

/// `n` GETs of `url` with reqwest directly (same client settings).
async fn direct(client: &reqwest::Client, url: &str, n: usize) {
    let get = || async {
        let body = client
            .get(url)
            .send()
            .await
            .expect("sent")
            .bytes()
            .await
            .expect("body");
        assert_eq!(&body[..], b"pong");
    };
    for _ in 0..n {
        get().await;
    }
}

fn reqwest_client(proxy: Option<&str>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true);
    if let Some(p) = proxy {
        builder = builder.proxy(reqwest::Proxy::all(p).expect("proxy"));
    }
    builder.build().expect("client")
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// CPU time the client side of this process has used: the main thread
/// (where `block_on` runs the measured loop) and tokio's workers (where
/// reqwest's connections and the capability's request tasks run), not
/// the loopback origin's and proxy's threads. From the scheduler's own
/// count (`/proc/self/task/*/schedstat`, nanoseconds).
fn client_cpu() -> Duration {
    let me = std::process::id().to_string();
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .flatten()
    {
        let tid = task.file_name().to_string_lossy().into_owned();
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        // tokio names its threads `tokio-rt-worker` (`tokio-runtime-w…`
        // before 1.44).
        if tid != me && !comm.starts_with("tokio-r") {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Duration::from_nanos(total)
}

/// Wall and client CPU time of `work`.
async fn timed<F: Future<Output = ()>>(work: F) -> (Duration, Duration) {
    let (cpu, start) = (client_cpu(), Instant::now());
    work.await;
    (start.elapsed(), client_cpu().saturating_sub(cpu))
}

/// One row's measurements, per GET, over the rounds.
#[derive(Default)]
struct Row {
    direct: Vec<f64>,
    plugin: Vec<f64>,
    ratio: Vec<f64>,
    direct_cpu: Duration,
    plugin_cpu: Duration,
    gets: u32,
}

/// A row: `ROUNDS` rounds of direct GETs, GETs through the capability and
/// calls without a GET; also the time of a call without a GET, per round.
async fn measure(
    plugin: LoadedPlugin,
    client: reqwest::Client,
    origin: String,
    url: String,
    calls: usize,
) -> (Row, Vec<f64>) {
    let gets = u32::try_from(calls * PER_CALL).expect("small");
    let mut row = Row::default();
    let mut empty = Vec::new();
    // Warm: connections open, sandbox pool primed.
    direct(&client, &url, 1).await;
    through_plugin(&plugin, &origin, &url, PER_CALL, 1).await;
    for _ in 0..ROUNDS {
        let (direct_wall, direct_cpu) = timed(direct(&client, &url, calls * PER_CALL)).await;
        let (call_wall, call_cpu) =
            timed(through_plugin(&plugin, &origin, &url, PER_CALL, calls)).await;
        let (empty_wall, empty_cpu) = timed(through_plugin(&plugin, &origin, &url, 0, calls)).await;
        let per_get = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(gets);
        let direct = per_get(direct_wall);
        let through = per_get(call_wall.saturating_sub(empty_wall));
        row.direct.push(direct);
        row.plugin.push(through);
        row.ratio.push(through / direct);
        row.direct_cpu += direct_cpu;
        row.plugin_cpu += call_cpu.saturating_sub(empty_cpu);
        row.gets += gets;
        empty.push(empty_wall.as_secs_f64() * 1e6 / calls as f64);
    }
    (row, empty)
}

fn main() {
    // `KEEPER_BENCH_WORKERS=N` runs the same benchmark on N tokio workers.
    let tokio = common::tokio_runtime();
    let cache = tempfile::tempdir().expect("cache");
    println!(
        "| origin latency | proxy | reqwest directly (median per GET) | through the capability \
         (median per GET) | ratio (median, range) | client CPU per GET: direct / capability (ratio) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut sandbox_only = Vec::new();
    for (delay, calls) in [
        (Duration::ZERO, CALLS_FAST),
        (Duration::from_millis(2), CALLS_SLOW),
    ] {
        let (addr, _, _) = origin_server_with_delay(delay);
        let origin = format!("http://{addr}");
        let url = format!("{origin}/bench");
        for with_proxy in [false, true] {
            let (proxy_url, _) = http_proxy();
            let proxy = with_proxy.then_some(proxy_url.as_str());
            let runtime = Runtime::new(ArtifactCache::new(cache.path().to_path_buf()))
                .expect("runtime")
                .with_http_client(HttpClient::with_no_proxy(
                    proxy.map(|p| Proxy::parse(p).expect("proxy")),
                    "",
                ));
            let plugin = runtime.load(&package()).expect("load");
            let client = reqwest_client(proxy);
            let measured = measure(plugin, client, origin.clone(), url.clone(), calls);
            let (row, empty) = if std::env::var_os("KEEPER_BENCH_ON_MAIN").is_some() {
                tokio.block_on(measured)
            } else {
                // On a worker, as `keeper rotate` runs its plugin calls
                // (`Engine::rotate_all` spawns them on a JoinSet).
                tokio.block_on(async { tokio::spawn(measured).await.expect("measured") })
            };
            sandbox_only.extend(empty);
            let (low, high) = row
                .ratio
                .iter()
                .fold((f64::MAX, 0f64), |(l, h), r| (l.min(*r), h.max(*r)));
            let cpu_direct = row.direct_cpu / row.gets;
            let cpu_plugin = row.plugin_cpu / row.gets;
            println!(
                "| {} ms | {} | {:.1} µs | {:.1} µs | {:.2}× ({low:.2}–{high:.2}) | {} / {} ({:.2}×) |",
                delay.as_millis(),
                if with_proxy {
                    "HTTP proxy (loopback)"
                } else {
                    "none"
                },
                median(row.direct.clone()),
                median(row.plugin.clone()),
                median(row.ratio.clone()),
                micros(cpu_direct),
                micros(cpu_plugin),
                cpu_plugin.as_secs_f64() / cpu_direct.as_secs_f64(),
            );
        }
    }
    println!(
        "\nA plugin call without a request (fresh sandbox, one call): {:.1} µs (median); \
         {PER_CALL} GETs per call, {CALLS_FAST} calls per round (2 ms rows: {CALLS_SLOW}), \
         {ROUNDS} interleaved rounds per row.",
        median(sandbox_only)
    );
}
