//! Plugin HTTP benchmark: what a GET costs through the sandbox's HTTP
//! capability (wasi:http → policy → the host's reqwest client) against the
//! same GET sent with reqwest directly, with and without an HTTP proxy, to
//! a keep-alive origin on loopback, with no delay and with 2 ms of server
//! latency.
//!
//! Run: `cargo bench -p keeper-tests --bench http` (release build). Uses
//! the hostile test rotator's `http` attack with `count` GETs per call, so
//! the sandbox's own cost (instantiation, one call) is amortised and also
//! measured alone (`count` 0). Prints Markdown for docs/BENCHMARKS.md;
//! ratios are against reqwest directly, measured in the same process over
//! the same origin and proxy.

use std::time::{Duration, Instant};

use common::request;
use keeper::testing::config::Proxy;
use keeper::testing::runtime::capability::origin::Origin;
use keeper::testing::runtime::{
    ArtifactCache, CallContext, HttpClient, LoadedPlugin, Runtime, Step,
};
use keeper_tests::net::{http_proxy, origin_server_with_delay};

mod common;

/// GETs per plugin call (the policy allows 64).
const PER_CALL: usize = 50;
/// Calls per measurement.
const CALLS: usize = 20;

fn package() -> keeper::testing::runtime::PluginPackage {
    common::package(
        env!("KEEPER_TEST_DIR_HOSTILE_ROTATOR"),
        env!("KEEPER_TEST_WASM_HOSTILE_ROTATOR"),
    )
}

/// Mean time of one call of the plugin doing `count` GETs of `url`.
async fn through_plugin(plugin: &LoadedPlugin, origin: &str, url: &str, count: usize) -> Duration {
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
    run().await; // warm: connection open, sandbox pool primed
    let start = Instant::now();
    for _ in 0..CALLS {
        run().await;
    }
    start.elapsed() / CALLS as u32
}

/// Mean time of one GET with reqwest directly (same client settings).
async fn direct(client: &reqwest::Client, url: &str) -> Duration {
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
    get().await;
    let n = CALLS * PER_CALL;
    let start = Instant::now();
    for _ in 0..n {
        get().await;
    }
    start.elapsed() / n as u32
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

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let cache = tempfile::tempdir().expect("cache");
    println!(
        "| origin latency | proxy | reqwest directly (per GET) | through the capability (per GET) | ratio |"
    );
    println!("|---|---|---|---|---|");
    let mut sandbox_only = Duration::ZERO;
    for delay in [Duration::ZERO, Duration::from_millis(2)] {
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
            let (reqwest_get, call, empty) = tokio.block_on(async {
                let reqwest_get = direct(&reqwest_client(proxy), &url).await;
                let call = through_plugin(&plugin, &origin, &url, PER_CALL).await;
                let empty = through_plugin(&plugin, &origin, &url, 0).await;
                (reqwest_get, call, empty)
            });
            sandbox_only = empty;
            let per_get = call.saturating_sub(empty) / PER_CALL as u32;
            println!(
                "| {} ms | {} | {} | {} | {:.2}× |",
                delay.as_millis(),
                if with_proxy {
                    "HTTP proxy (loopback)"
                } else {
                    "none"
                },
                micros(reqwest_get),
                micros(per_get),
                per_get.as_secs_f64() / reqwest_get.as_secs_f64()
            );
        }
    }
    println!(
        "\nA plugin call without a request (fresh sandbox, one call): {}; \
         {PER_CALL} GETs per call, {CALLS} calls per row.",
        micros(sandbox_only)
    );
}
