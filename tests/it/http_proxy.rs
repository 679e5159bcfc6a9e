//! Plugins' HTTP through the host's reqwest client and the configured
//! proxy: real plugins, a real HTTP forward proxy and a real SOCKS5 proxy,
//! both small ones started by the test on loopback, so each test can see
//! what went through them.
//!
//! The runtime-level tests drive the hostile rotator's `http` attack (a
//! GET through the SDK) with a per-test client; the binary tests import
//! from the LastPass stand-in of [`crate::import_lastpass`] with `--proxy`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use keeper::testing::config::Proxy;
use keeper::testing::runtime::capability::origin::Origin;
use keeper::testing::runtime::{CallContext, Error, HttpClient, PluginError, Runtime, Step};
use keeper_tests::net::{closed_port, http_proxy, origin_server, socks5_proxy};

use crate::plugins;
use crate::sandbox::{request, runtime};

fn proxy(url: &str) -> Option<Proxy> {
    Some(Proxy::parse(url).expect("proxy URL"))
}

/// The hostile rotator's `http` attack: a GET of `url`, with `allowed`
/// as the call's only origin. `Ok` when an answer came back.
async fn get(rt: &Runtime, url: &str, allowed: &str) -> Result<(), Error> {
    let plugin = rt
        .load(&plugins::hostile_rotator().package())
        .expect("hostile rotator loads");
    let call = CallContext {
        http_origins: Some(vec![Origin::parse(allowed).expect("origin")]),
        ..Default::default()
    };
    plugin
        .rotation_step(Step::Rotate, call, &request("http", &[("url", url)]))
        .await
        .map(drop)
}

#[tokio::test]
async fn a_plugin_request_goes_through_the_http_proxy() {
    let (addr, _, origin_saw) = origin_server();
    let (proxy_url, proxy_saw) = http_proxy();
    let (rt, _c) = runtime();
    let rt = rt.with_http_client(HttpClient::with_no_proxy(proxy(&proxy_url), ""));
    let origin = format!("http://{addr}");
    get(&rt, &format!("{origin}/through?x=1"), &origin)
        .await
        .expect("the request goes through the proxy");
    assert_eq!(
        *proxy_saw.lock().expect("log"),
        [format!("GET {origin}/through?x=1 HTTP/1.1")],
        "the proxy saw the plugin's request in absolute form"
    );
    assert_eq!(
        *origin_saw.lock().expect("log"),
        ["GET /through?x=1 HTTP/1.1"]
    );
}

#[tokio::test]
async fn a_plugin_request_goes_through_a_socks5h_proxy() {
    let (addr, _, origin_saw) = origin_server();
    let (proxy_url, proxy_saw) = socks5_proxy();
    let (rt, _c) = runtime();
    let rt = rt.with_http_client(HttpClient::with_no_proxy(proxy(&proxy_url), ""));
    let origin = format!("http://{addr}");
    get(&rt, &format!("{origin}/socks"), &origin)
        .await
        .expect("the request goes through the SOCKS proxy");
    assert_eq!(*proxy_saw.lock().expect("log"), [format!("CONNECT {addr}")]);
    assert_eq!(*origin_saw.lock().expect("log"), ["GET /socks HTTP/1.1"]);
}

#[tokio::test]
async fn a_denied_origin_is_still_denied_with_a_proxy() {
    let (addr, connections, _) = origin_server();
    let (proxy_url, proxy_saw) = http_proxy();
    let (rt, _c) = runtime();
    let rt = rt.with_http_client(HttpClient::with_no_proxy(proxy(&proxy_url), ""));
    let err = get(
        &rt,
        &format!("http://{addr}/steal"),
        "http://granted.invalid",
    )
    .await
    .expect_err("denied");
    match &err {
        Error::Plugin {
            error: PluginError::Rejected(msg),
            ..
        } => assert!(
            msg.contains("denied") && msg.contains("is not a granted origin"),
            "{msg}"
        ),
        other => panic!("expected the plugin to see a denial, got {other:?}"),
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        proxy_saw.lock().expect("log").is_empty(),
        "the proxy saw it"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0, "the origin saw it");
}

#[tokio::test]
async fn a_proxy_that_is_down_gives_a_clear_error() {
    let (addr, connections, _) = origin_server();
    let port = closed_port();
    let (rt, _c) = runtime();
    let rt = rt.with_http_client(HttpClient::with_no_proxy(
        proxy(&format!("http://u:proxy-pw@127.0.0.1:{port}")),
        "",
    ));
    let origin = format!("http://{addr}");
    let err = get(&rt, &format!("{origin}/x"), &origin)
        .await
        .expect_err("the proxy is down");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "the proxy http://u:****@127.0.0.1:{port} could not be reached"
        )),
        "{text}"
    );
    assert!(
        !text.contains("proxy-pw"),
        "the proxy's password shows: {text}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn no_proxy_hosts_are_reached_directly() {
    let (addr, _, origin_saw) = origin_server();
    let (rt, _c) = runtime();
    let down = format!("http://127.0.0.1:{}", closed_port());
    let rt = rt.with_http_client(HttpClient::with_no_proxy(
        proxy(&down),
        "localhost,127.0.0.0/8",
    ));
    let origin = format!("http://{addr}");
    get(&rt, &format!("{origin}/direct"), &origin)
        .await
        .expect("exempt from the (dead) proxy");
    assert_eq!(*origin_saw.lock().expect("log"), ["GET /direct HTTP/1.1"]);
}

#[tokio::test]
async fn connections_are_reused_across_calls() {
    let (addr, connections, origin_saw) = origin_server();
    let (rt, _c) = runtime();
    let rt = rt.with_http_client(HttpClient::with_no_proxy(None, ""));
    let origin = format!("http://{addr}");
    for _ in 0..3 {
        get(&rt, &format!("{origin}/again"), &origin)
            .await
            .expect("answered");
    }
    assert_eq!(origin_saw.lock().expect("log").len(), 3);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "three calls, each in a fresh sandbox, share one connection"
    );
}

/// `keeper import --format lastpass` with the given extra global options
/// and environment.
fn import_via(server: &str, global: &[&str], env: &[(&str, &str)]) -> crate::support::Run {
    let k = crate::vault::vault();
    let mut args: Vec<&str> = global.to_vec();
    args.extend([
        "import",
        "--format",
        "lastpass",
        crate::import_lastpass::EMAIL,
        "--lastpass-server",
        server,
    ]);
    let mut cmd = k.cmd(&args);
    cmd.env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("KEEPER_PASSWORD", crate::vault::PW)
        .env("KEEPER_LASTPASS_PASSWORD", crate::import_lastpass::PASSWORD);
    for (k, v) in env {
        cmd.env(k, v);
    }
    crate::support::Run(cmd.output().expect("run keeper"))
}

#[test]
fn the_binary_sends_plugin_requests_through_proxy() {
    let (server, server_saw) = crate::import_lastpass::stand_in();
    let (proxy_url, proxy_saw) = http_proxy();
    let run = import_via(&server, &["--proxy", &proxy_url], &[]);
    let out = run.ok();
    assert!(
        out.contains("2 records imported"),
        "{out}\n{}",
        run.stderr()
    );
    let through = proxy_saw.lock().expect("log").clone();
    assert!(
        through.contains(&format!("POST {server}/iterations.php HTTP/1.1")),
        "{through:?}"
    );
    assert!(
        through
            .iter()
            .any(|r| r.starts_with(&format!("GET {server}/getaccts.php"))),
        "{through:?}"
    );
    assert_eq!(
        through.len(),
        server_saw.lock().expect("log").len(),
        "every request the server saw came through the proxy"
    );
}

#[test]
fn the_binary_honours_no_proxy() {
    let (server, server_saw) = crate::import_lastpass::stand_in();
    let (proxy_url, proxy_saw) = http_proxy();
    let run = import_via(
        &server,
        &["--proxy", &proxy_url],
        &[("NO_PROXY", "127.0.0.1")],
    );
    run.ok();
    assert!(proxy_saw.lock().expect("log").is_empty());
    assert!(!server_saw.lock().expect("log").is_empty());
}

#[test]
fn the_binary_says_when_the_proxy_is_down() {
    let (server, server_saw) = crate::import_lastpass::stand_in();
    let port = closed_port();
    let proxy_url = format!("socks5://127.0.0.1:{port}");
    let run = import_via(&server, &["--proxy", &proxy_url], &[]);
    let err = run.fails();
    assert!(
        err.contains(&format!("the proxy {proxy_url} could not be reached")),
        "{err}"
    );
    assert!(server_saw.lock().expect("log").is_empty());
}
