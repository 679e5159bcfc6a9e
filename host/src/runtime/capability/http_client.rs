//! The one HTTP client that sends plugins' requests: reqwest over rustls
//! (webpki roots), through the configuration's `proxy` unless `NO_PROXY`
//! exempts the host, with connections kept and reused across calls.
//!
//! [`super::http`] decides *whether* a request may go; this file only
//! sends what it admitted. The client never follows redirects (each hop
//! comes back through the policy), never adds cookies, never reads the
//! environment's `HTTP_PROXY`/`HTTPS_PROXY` (only keeper's own `proxy`
//! setting or `--proxy`), and is built on first use, so commands that send
//! nothing pay nothing for it.
//!
//! The `keeper` process has one client: [`HttpClient::configure`] sets it
//! from `--proxy` and the configuration when the command line is read,
//! and every [`crate::runtime::Runtime`] created afterwards shares it (and
//! its connection pool; the process runs one tokio runtime). Tests and
//! benchmarks give a runtime their own with
//! [`crate::runtime::Runtime::with_http_client`].

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use wasmtime_wasi_http::WasiBody;

use crate::config::Proxy;

/// Most time to open a connection (to the proxy or the origin).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections idle longer than this are closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The error code a plugin sees, and the sentence keeper logs and adds to
/// the plugin's error (never holding the request's path or query, which
/// may carry a token, nor the proxy's password).
#[derive(Debug)]
pub struct SendFailure {
    /// What the plugin's `wasi:http` call returns.
    pub code: wasmtime_wasi_http::Error,
    /// Why, for a person.
    pub reason: String,
}

/// How long one request may wait, as the plugin asked, clamped by the
/// policy.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Until the connection is open (at most [`CONNECT_TIMEOUT`]).
    pub connect: Duration,
    /// From the open connection to the answer's head.
    pub first_byte: Duration,
    /// Between two pieces of the answer's body.
    pub between_bytes: Duration,
}

/// The shared plugin HTTP client (cheap to clone: clones share the pool).
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    proxy: Option<Proxy>,
    no_proxy: NoProxy,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("proxy", &self.inner.proxy)
            .field("no_proxy", &self.inner.no_proxy)
            .finish_non_exhaustive()
    }
}

/// The process's client, as [`HttpClient::configure`] last set it.
static PROCESS: RwLock<Option<HttpClient>> = RwLock::new(None);

impl HttpClient {
    /// A client sending through `proxy` (none: directly), exempting the
    /// hosts the environment's `NO_PROXY` (or `no_proxy`) lists.
    pub fn new(proxy: Option<Proxy>) -> Self {
        let list = std::env::var("NO_PROXY")
            .or_else(|_| std::env::var("no_proxy"))
            .unwrap_or_default();
        Self::with_no_proxy(proxy, &list)
    }

    /// As [`HttpClient::new`] with an explicit `NO_PROXY` list: host names
    /// (matching themselves and their subdomains; a leading `.` or `*.` is
    /// ignored), IP addresses, CIDR blocks, or `*` for every host.
    pub fn with_no_proxy(proxy: Option<Proxy>, no_proxy: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                proxy,
                no_proxy: NoProxy::parse(no_proxy),
                client: OnceLock::new(),
            }),
        }
    }

    /// Sets the process's client from `--proxy` / the configuration's
    /// `proxy`, keeping the current one (and its open connections) when the
    /// setting did not change.
    pub fn configure(proxy: Option<Proxy>) {
        let mut process = PROCESS.write().unwrap_or_else(|p| p.into_inner());
        if process.as_ref().is_some_and(|c| c.inner.proxy == proxy) {
            return;
        }
        *process = Some(Self::new(proxy));
    }

    /// The process's client; until [`HttpClient::configure`] is called, a
    /// new direct client each time (a client's pooled connections belong to
    /// the tokio runtime that opened them, and a process that never
    /// configured one, such as a test binary, may run several runtimes).
    pub fn for_process() -> Self {
        let process = PROCESS.read().unwrap_or_else(|p| p.into_inner());
        process.clone().unwrap_or_else(|| Self::new(None))
    }

    /// The proxy requests go through (unless `NO_PROXY` exempts them).
    pub fn proxy(&self) -> Option<&Proxy> {
        self.inner.proxy.as_ref()
    }

    /// The proxy a request to `host` goes through, if any.
    fn proxy_for(&self, host: &str) -> Option<&Proxy> {
        self.inner
            .proxy
            .as_ref()
            .filter(|_| !self.inner.no_proxy.exempts(host))
    }

    /// The reqwest client, built on first use.
    fn client(&self) -> Result<&reqwest::Client, String> {
        self.inner
            .client
            .get_or_init(|| {
                let mut builder = reqwest::Client::builder()
                    // Only keeper's own setting, never HTTP_PROXY & co.
                    .no_proxy()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(CONNECT_TIMEOUT)
                    .pool_idle_timeout(IDLE_TIMEOUT)
                    .tcp_nodelay(true)
                    .use_rustls_tls();
                if let Some(proxy) = &self.inner.proxy {
                    let url = proxy.as_str().to_string();
                    let no_proxy = self.inner.no_proxy.clone();
                    builder = builder.proxy(reqwest::Proxy::custom(move |target| {
                        let host = target.host_str().unwrap_or_default();
                        (!no_proxy.exempts(host)).then(|| url.clone())
                    }));
                }
                builder
                    .build()
                    .map_err(|e| format!("cannot start the HTTP client: {}", chain(&e)))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Sends `request` (an absolute URI the policy admitted) and returns
    /// the answer's head, its body streaming behind it.
    ///
    /// # Errors
    ///
    /// A [`SendFailure`]: the connection (to the proxy or the origin)
    /// failed or timed out, the proxy refused the request, or the peer
    /// broke the protocol.
    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        timeouts: Timeouts,
    ) -> Result<http::Response<WasiBody>, SendFailure> {
        // What a failure names (origin, proxy) is only worked out when one
        // happens: a request that succeeds pays for none of it.
        let uri = request.uri().clone();
        let client = self.client().map_err(|reason| SendFailure {
            code: wasmtime_wasi_http::Error::ConfigurationError,
            reason,
        })?;
        let request = reqwest::Request::try_from(
            request.map(|body| reqwest::Body::wrap(SyncBody(Mutex::new(body)))),
        )
        .map_err(|e| SendFailure {
            code: wasmtime_wasi_http::Error::HttpRequestUriInvalid,
            reason: format!("{}: {}", self.origin_of(&uri), chain(&e.without_url())),
        })?;
        let wait = timeouts.connect + timeouts.first_byte;
        let response = match tokio::time::timeout(wait, client.execute(request)).await {
            Ok(Ok(response)) => response,
            Err(_) => {
                return Err(SendFailure {
                    code: wasmtime_wasi_http::Error::ConnectionReadTimeout,
                    reason: format!(
                        "{}{}: no answer within {} s",
                        self.origin_of(&uri),
                        self.via(&uri),
                        wait.as_secs()
                    ),
                });
            }
            Ok(Err(e)) => return Err(self.failure(&uri, &e.without_url())),
        };
        let limit = timeouts.between_bytes;
        Ok(http::Response::from(response).map(|inner| {
            Idle {
                inner,
                limit,
                timer: None,
                armed: false,
            }
            .boxed_unsync()
        }))
    }

    /// `scheme://host[:port]` of `uri`, for a message (never its path or
    /// query, which may carry a token).
    fn origin_of(&self, uri: &http::Uri) -> String {
        super::origin::Origin::from_uri(uri).map_or_else(
            |_| uri.host().unwrap_or_default().to_string(),
            |o| o.to_string(),
        )
    }

    /// ` through the proxy …` when a request to `uri` goes through one.
    fn via(&self, uri: &http::Uri) -> String {
        self.proxy_for(uri.host().unwrap_or_default())
            .map(|p| format!(" through the proxy {p}"))
            .unwrap_or_default()
    }

    /// Why sending a request to `uri` failed with `e`.
    fn failure(&self, uri: &http::Uri, e: &reqwest::Error) -> SendFailure {
        let (code, what) = classify(e);
        let origin = self.origin_of(uri);
        let reason = match self.proxy_for(uri.host().unwrap_or_default()) {
            Some(proxy) if e.is_connect() => format!(
                "{origin}: the proxy {proxy} could not be reached or refused the \
                 connection ({what}: {})",
                chain(e)
            ),
            _ => format!("{origin}{}: {what}: {}", self.via(uri), chain(e)),
        };
        SendFailure { code, reason }
    }
}

/// The code a plugin sees for a reqwest failure, and a short name for it.
fn classify(e: &reqwest::Error) -> (wasmtime_wasi_http::Error, &'static str) {
    use wasmtime_wasi_http::Error as E;
    let refused = io_kind(e) == Some(std::io::ErrorKind::ConnectionRefused);
    if e.is_timeout() {
        (E::ConnectionTimeout, "timed out")
    } else if e.is_connect() && refused {
        (E::ConnectionRefused, "connection refused")
    } else if e.is_connect() {
        (E::DestinationUnavailable, "cannot connect")
    } else if e.is_body() || e.is_request() {
        (E::HttpProtocolError, "the request failed")
    } else {
        (E::InternalError(None), "failed")
    }
}

/// The I/O error kind at the root of `e`, if any.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// `e` and its causes, `: `-separated, without repeats.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}

/// The plugin's request body, made `Sync` for reqwest (it is only ever
/// polled through `&mut`, so the lock is never contended).
struct SyncBody(Mutex<WasiBody>);

impl Body for SyncBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let body = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(|p| p.into_inner());
        Pin::new(body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.lock().is_ok_and(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.0.lock().map(|b| b.size_hint()).unwrap_or_default()
    }
}

/// An answer body that fails when no byte arrives for `limit`. The timer
/// starts when the body first has to wait, so an answer that is already
/// here (most small ones) never registers one.
struct Idle {
    inner: reqwest::Body,
    limit: Duration,
    /// Made at the first wait and re-armed at each later one.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether the timer counts the current wait.
    armed: bool,
}

impl Body for Idle {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                // The next wait starts afresh.
                this.armed = false;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                let code = if e.is_timeout() {
                    wasmtime_wasi_http::Error::ConnectionReadTimeout
                } else {
                    wasmtime_wasi_http::Error::HttpResponseIncomplete
                };
                Poll::Ready(Some(Err(code)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let deadline = tokio::time::Instant::now() + this.limit;
                let armed = std::mem::replace(&mut this.armed, true);
                let timer = match &mut this.timer {
                    Some(timer) => {
                        if !armed {
                            timer.as_mut().reset(deadline);
                        }
                        timer
                    }
                    empty @ None => empty.insert(Box::pin(tokio::time::sleep_until(deadline))),
                };
                ready!(timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(wasmtime_wasi_http::Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A `NO_PROXY` list.
#[derive(Debug, Clone, Default)]
struct NoProxy {
    all: bool,
    domains: Vec<String>,
    networks: Vec<(IpAddr, u8)>,
}

impl NoProxy {
    fn parse(list: &str) -> Self {
        let mut parsed = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                parsed.all = true;
            } else if let Some((ip, bits)) = entry.split_once('/')
                && let (Ok(ip), Ok(bits)) = (ip.parse::<IpAddr>(), bits.parse::<u8>())
            {
                parsed.networks.push((ip, bits));
            } else if let Ok(ip) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
                parsed
                    .networks
                    .push((ip, if ip.is_ipv4() { 32 } else { 128 }));
            } else {
                let domain = entry.trim_start_matches("*.").trim_start_matches('.');
                // `host:port` entries name the host.
                let domain = domain.rsplit_once(':').map_or(domain, |(h, _)| h);
                parsed
                    .domains
                    .push(domain.trim_end_matches('.').to_ascii_lowercase());
            }
        }
        parsed
    }

    /// Whether requests to `host` go directly.
    fn exempts(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_matches(['[', ']']).trim_end_matches('.');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self
                .networks
                .iter()
                .any(|(net, bits)| contains(*net, *bits, ip));
        }
        let host = host.to_ascii_lowercase();
        self.domains.iter().any(|d| {
            host == *d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

/// Whether `ip` is in `net/bits`.
fn contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    let (net, ip, width): (u128, u128, u32) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u128::from(n.to_bits()), u128::from(i.to_bits()), 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (n.to_bits(), i.to_bits(), 128),
        _ => return false,
    };
    let bits = u32::from(bits).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (net >> shift) == (ip >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_hosts_subdomains_addresses_and_blocks() {
        let list =
            NoProxy::parse(" Example.com, .internal ,10.0.0.0/8, 127.0.0.1,[::1], host:8080");
        for direct in [
            "example.com",
            "api.example.com",
            "a.b.internal",
            "internal",
            "10.1.2.3",
            "127.0.0.1",
            "[::1]",
            "host",
            "EXAMPLE.COM.",
        ] {
            assert!(list.exempts(direct), "{direct} should go directly");
        }
        for proxied in [
            "notexample.com",
            "example.com.evil",
            "11.0.0.1",
            "127.0.0.2",
            "::2",
            "lastpass.com",
        ] {
            assert!(!list.exempts(proxied), "{proxied} should use the proxy");
        }
        assert!(NoProxy::parse("*").exempts("anything.example"));
        assert!(!NoProxy::parse("").exempts("anything.example"));
    }

    #[test]
    fn the_proxy_applies_unless_no_proxy_exempts_the_host() {
        let proxy = Proxy::parse("http://u:pw@127.0.0.1:3128").expect("proxy");
        let client = HttpClient::with_no_proxy(Some(proxy), "direct.example");
        assert!(client.proxy_for("lastpass.com").is_some());
        assert!(client.proxy_for("direct.example").is_none());
        assert!(HttpClient::with_no_proxy(None, "").proxy_for("x").is_none());
        assert!(!format!("{client:?}").contains("pw@"), "{client:?}");
    }

    /// A body that sends `frames`, each after its delay.
    struct Paced {
        frames: std::collections::VecDeque<(Duration, &'static [u8])>,
        wait: Option<Pin<Box<tokio::time::Sleep>>>,
    }

    impl Body for Paced {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            let this = self.get_mut();
            let Some(&(delay, bytes)) = this.frames.front() else {
                return Poll::Ready(None);
            };
            let wait = this
                .wait
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            ready!(wait.as_mut().poll(cx));
            this.wait = None;
            this.frames.pop_front();
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(bytes)))))
        }
    }

    /// Reads an answer body through [`Idle`] with `limit` between bytes.
    fn read_idle(
        frames: &[(u64, &'static [u8])],
        limit: Duration,
    ) -> Result<Vec<u8>, wasmtime_wasi_http::Error> {
        let paced = Paced {
            frames: frames
                .iter()
                .map(|&(ms, b)| (Duration::from_millis(ms), b))
                .collect(),
            wait: None,
        };
        let body = Idle {
            inner: reqwest::Body::wrap(paced),
            limit,
            timer: None,
            armed: false,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio");
        runtime.block_on(async { body.collect().await.map(|b| b.to_bytes().to_vec()) })
    }

    #[test]
    fn an_answer_may_take_longer_than_the_limit_while_bytes_keep_coming() {
        // Four pauses of 40 ms under a 150 ms limit: 160 ms in all.
        let frames = [
            (0, &b"a"[..]),
            (40, b"b"),
            (40, b"c"),
            (40, b"d"),
            (40, b"e"),
        ];
        let body = read_idle(&frames, Duration::from_millis(150)).expect("no pause is too long");
        assert_eq!(body, b"abcde");
    }

    #[test]
    fn an_answer_that_stops_sending_fails_after_the_limit() {
        for frames in [
            // Stalls after its first byte: the timer restarts at each frame.
            &[(0, &b"a"[..]), (40, b"b"), (1_000, b"c")][..],
            // Never sends a byte.
            &[(1_000, &b"a"[..])][..],
        ] {
            let err = read_idle(frames, Duration::from_millis(150)).expect_err("stalled");
            assert!(
                matches!(err, wasmtime_wasi_http::Error::ConnectionReadTimeout),
                "{err:?}"
            );
        }
    }

    #[test]
    fn configure_keeps_the_client_while_the_setting_is_unchanged() {
        let proxy = Proxy::parse("socks5h://127.0.0.1:1080").expect("proxy");
        HttpClient::configure(Some(proxy.clone()));
        let first = HttpClient::for_process();
        HttpClient::configure(Some(proxy));
        assert!(Arc::ptr_eq(&first.inner, &HttpClient::for_process().inner));
        HttpClient::configure(None);
        assert!(HttpClient::for_process().proxy().is_none());
    }
}
