//! HTTP for plugins (`wasi:http`): only to origins the manifest declares, the
//! user granted, and the host allows for this call.
//!
//! Every request is checked here before anything is sent: it must carry an
//! absolute `scheme://host[:port]` authority without user info (the Spin
//! CVE-2024-32980 shape), and scheme, host and port must equal an allowed
//! origin. wasi:http never follows redirects itself, so each hop comes back
//! through this check. Requests per call are capped and the default 600 s
//! timeouts are clamped. What passes is sent by the shared
//! [`HttpClient`] (reqwest, the configuration's proxy, pooled connections);
//! a request it cannot send fails with wasi:http's error code, and the
//! reason (e.g. "the proxy … could not be reached") is added to the
//! plugin's error and logged.
//!
//! # The file cache (`import --file-cache DIR`)
//!
//! A plugin marks a request as cacheable with the header
//! [`CACHE_KEY_HEADER`], whose value names the item (the lastpass plugin
//! uses an attachment's storage key). The host never sends that header.
//! Without a cache directory the request is sent as usual. With one, a
//! successful (200) answer of at most [`MAX_CACHED_BODY`] is kept in `DIR`
//! (created 0700) as a file (0600) named by the SHA-256 of the plugin's
//! id, the method, the origin and the key — so one plugin can neither read
//! nor plant another's entries — written to a temporary file, synced, then
//! renamed, so a crash never leaves half a file under the real name. A
//! later request with the same plugin, method, origin and key, in this run
//! or another, is answered from that file without touching the network,
//! unless it says `cache-control: no-cache` (then it is fetched and the
//! file replaced). The files hold the bodies as the server sent them: the
//! lastpass plugin caches only attachment downloads, which LastPass serves
//! encrypted with each account's attachment key, so its entries hold no
//! plaintext. Nothing is ever deleted from `DIR`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt as _;
use sha2::{Digest as _, Sha256};

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use super::http_client::{CONNECT_TIMEOUT, HttpClient, Timeouts};
use super::origin::Origin;

/// Most requests one call may send.
pub const MAX_REQUESTS_PER_CALL: u32 = 64;
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);
const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(30);

/// The request header that marks an answer as cacheable (see the module
/// documentation); its value names the cached item.
pub const CACHE_KEY_HEADER: &str = "x-keeper-cache-key";

/// The largest answer kept in the file cache (held in host memory while
/// it is read).
pub const MAX_CACHED_BODY: usize = 64 * 1024 * 1024;

/// The HTTP policy of one call; implements wasmtime's request hook.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    allowed: Vec<Origin>,
    sent: u32,
    denials: Arc<Mutex<Vec<String>>>,
    /// Admitted requests that could not be sent, and why.
    failures: Arc<Mutex<Vec<String>>>,
    /// The cache directory and the plugin's id.
    cache: Option<(PathBuf, String)>,
    client: HttpClient,
}

impl HttpPolicy {
    /// Allows requests to `allowed` only, sent by the process's client.
    pub fn new(allowed: Vec<Origin>) -> Self {
        Self {
            allowed,
            sent: 0,
            denials: Arc::default(),
            failures: Arc::default(),
            cache: None,
            client: HttpClient::for_process(),
        }
    }

    /// Sends admitted requests with `client`.
    #[must_use]
    pub fn with_client(mut self, client: HttpClient) -> Self {
        self.client = client;
        self
    }

    /// Keeps plugin `id`'s cacheable answers in `dir` (see the module
    /// documentation).
    #[must_use]
    pub fn with_cache(mut self, dir: Option<PathBuf>, id: &str) -> Self {
        self.cache = dir.map(|d| (d, id.to_string()));
        self
    }

    /// Starts a new call: its requests are counted afresh, and its errors
    /// name only its own refusals.
    pub fn new_call(&mut self) {
        self.sent = 0;
        for list in [&self.denials, &self.failures] {
            if let Ok(mut list) = list.lock() {
                list.clear();
            }
        }
    }

    /// Decides whether a request to `uri` may be sent, counting it.
    ///
    /// # Errors
    ///
    /// Why it may not.
    pub fn admit(&mut self, uri: &http::Uri) -> Result<Origin, String> {
        let origin = Origin::from_uri(uri)?;
        if !self.allowed.contains(&origin) {
            return Err(format!("{origin} is not a granted origin"));
        }
        if self.sent >= MAX_REQUESTS_PER_CALL {
            return Err(format!(
                "more than {MAX_REQUESTS_PER_CALL} requests in one call"
            ));
        }
        self.sent += 1;
        Ok(origin)
    }

    /// The requests refused so far (origin and reason).
    pub fn denials(&self) -> Vec<String> {
        self.denials.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// The admitted requests of this call that could not be sent, and why.
    pub fn failures(&self) -> Vec<String> {
        self.failures.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> ResponseFuture {
        _ = fut;
        let (mut parts, body) = request.into_parts();
        let cache_key = parts
            .headers
            .remove(CACHE_KEY_HEADER)
            .and_then(|v| v.to_str().ok().map(str::to_owned));
        let refresh = parts
            .headers
            .get(http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("no-cache"));
        let request = http::Request::from_parts(parts, body);
        let cached = match (&self.cache, cache_key) {
            (Some((dir, id)), Some(key)) => Origin::from_uri(request.uri())
                .ok()
                .map(|origin| cache_file(dir, id, request.method(), &origin, &key)),
            _ => None,
        };
        if let Some(path) = cached.as_ref().filter(|_| !refresh)
            && self
                .allowed
                .iter()
                .any(|o| Origin::from_uri(request.uri()).as_ref() == Ok(o))
            && let Ok(bytes) = std::fs::read(path)
        {
            tracing::debug!(target: "keeper::sandbox", "answered a plugin HTTP request from the file cache");
            // The plugin writes its request body after sending the request:
            // take it (and drop it) before answering, or its write fails.
            let body = request.into_body();
            return Box::new(async move {
                let _ = http_body_util::Limited::new(body, 1024 * 1024)
                    .collect()
                    .await;
                Ok((full_response(bytes.into()), done()))
            });
        }
        if let Err(reason) = self.admit(request.uri()) {
            // Logged, redacted, when the call returns (`plugin::guarded`).
            if let Ok(mut denials) = self.denials.lock() {
                denials.push(reason);
            }
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let clamp = |asked: Option<Duration>, max: Duration| asked.map_or(max, |d| d.min(max));
        let options = options.unwrap_or_default();
        let timeouts = Timeouts {
            connect: clamp(options.connect_timeout, CONNECT_TIMEOUT),
            first_byte: clamp(options.first_byte_timeout, FIRST_BYTE_TIMEOUT),
            between_bytes: clamp(options.between_bytes_timeout, BETWEEN_BYTES_TIMEOUT),
        };
        let client = self.client.clone();
        let failures = self.failures.clone();
        Box::new(async move {
            let response = match client.send(request, timeouts).await {
                Ok(response) => response,
                Err(failure) => {
                    // Logged, redacted, when the call returns, and added to
                    // the plugin's error.
                    if let Ok(mut list) = failures.lock() {
                        list.push(failure.reason);
                    }
                    return Err(failure.code);
                }
            };
            let Some(path) = cached else {
                return Ok((response, done()));
            };
            // Cacheable: read the whole answer (driving the connection
            // meanwhile), keep it if it is a success, hand it on.
            let (parts, body) = response.into_parts();
            let limited = http_body_util::Limited::new(body, MAX_CACHED_BODY);
            let bytes = limited
                .collect()
                .await
                .map_err(|_| {
                    wasmtime_wasi_http::Error::HttpResponseBodySize(Some(MAX_CACHED_BODY as u64))
                })?
                .to_bytes();
            if parts.status == http::StatusCode::OK
                && let Err(e) = store(&path, &bytes)
            {
                tracing::warn!(target: "keeper::sandbox", "cannot write the file cache: {e}");
            }
            let mut response = full_response(bytes);
            *response.status_mut() = parts.status;
            *response.headers_mut() = parts.headers;
            Ok((response, done()))
        })
    }
}

/// The cache file of plugin `id`'s `method` request for `key` at `origin`.
fn cache_file(
    dir: &std::path::Path,
    id: &str,
    method: &http::Method,
    origin: &Origin,
    key: &str,
) -> PathBuf {
    let mut hash = Sha256::new();
    for part in [id, method.as_str(), &origin.to_string(), key] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    dir.join(hex::encode(hash.finalize()))
}

/// Writes a cache file (0600, synced, renamed into place) in a 0700
/// directory.
fn store(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    crate::runtime::files::write_private(path, bytes)
}

/// A 200 answer with `bytes` as its body.
fn full_response(bytes: bytes::Bytes) -> http::Response<WasiBody> {
    let body = http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
    http::Response::new(body)
}

/// A finished connection.
fn done() -> Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send> {
    Box::new(async { Ok(()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> http::Uri {
        s.parse().expect("uri")
    }

    #[test]
    fn cache_entries_are_per_plugin_method_origin_and_key() {
        let dir = std::path::Path::new("/c");
        let o = Origin::parse("https://lastpass.com").expect("origin");
        let other = Origin::parse("https://lastpass.eu").expect("origin");
        let base = cache_file(dir, "lastpass", &http::Method::POST, &o, "k1");
        assert_eq!(base.parent(), Some(dir));
        for (id, method, origin, key) in [
            ("evil", http::Method::POST, &o, "k1"),
            ("lastpass", http::Method::GET, &o, "k1"),
            ("lastpass", http::Method::POST, &other, "k1"),
            ("lastpass", http::Method::POST, &o, "k2"),
            ("lastpas", http::Method::POST, &o, "sk1"),
        ] {
            assert_ne!(base, cache_file(dir, id, &method, origin, key));
        }
        let traversal = cache_file(dir, "x", &http::Method::GET, &o, "../../etc/passwd");
        assert_eq!(traversal.parent(), Some(dir), "keys never name paths");
    }

    #[test]
    fn the_request_cap_is_per_call() {
        let mut policy = HttpPolicy::new(vec![Origin::parse("https://a.example").expect("origin")]);
        let u = uri("https://a.example/x");
        for _ in 0..MAX_REQUESTS_PER_CALL {
            assert!(policy.admit(&u).is_ok());
        }
        assert!(policy.admit(&u).is_err(), "capped within a call");
        policy.new_call();
        assert!(policy.admit(&u).is_ok(), "a new call starts afresh");
    }

    #[test]
    fn admits_only_granted_origins_scheme_host_and_port() {
        let mut policy =
            HttpPolicy::new(vec![Origin::parse("https://lastpass.com").expect("origin")]);
        assert!(
            policy
                .admit(&uri("https://lastpass.com/iterations.php"))
                .is_ok()
        );
        assert!(
            policy.admit(&uri("https://LASTPASS.com./x")).is_ok(),
            "case and trailing dot"
        );
        assert!(
            policy.admit(&uri("http://lastpass.com/x")).is_err(),
            "scheme"
        );
        assert!(
            policy.admit(&uri("https://lastpass.com:8443/x")).is_err(),
            "port"
        );
        assert!(
            policy
                .admit(&uri("https://lastpass.com.evil.example/x"))
                .is_err(),
            "suffix"
        );
        assert!(
            policy
                .admit(&uri("https://lastpass.com@evil.example/x"))
                .is_err(),
            "user info"
        );
        assert!(policy.admit(&uri("/relative")).is_err(), "no authority");
    }

    #[test]
    fn caps_requests_per_call() {
        let mut policy = HttpPolicy::new(vec![Origin::parse("https://a.example").expect("origin")]);
        for _ in 0..MAX_REQUESTS_PER_CALL {
            assert!(policy.admit(&uri("https://a.example/")).is_ok());
        }
        assert!(policy.admit(&uri("https://a.example/")).is_err());
    }
}
