//! HTTP for plugins (`wasi:http`): only to origins the manifest declares, the
//! user granted, and the host allows for this call.
//!
//! Every request is checked here before anything is sent: it must carry an
//! absolute `scheme://host[:port]` authority without user info (the Spin
//! CVE-2024-32980 shape), and scheme, host and port must equal an allowed
//! origin. wasi:http never follows redirects itself, so each hop comes back
//! through this check. Requests per call are capped and the default 600 s
//! timeouts are clamped.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// An HTTP origin: scheme, lower-case host, port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Lower-case host without a trailing dot.
    pub host: String,
    /// Explicit or default port.
    pub port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]` (a trailing `/` is tolerated; a path,
    /// query, fragment or user info is not).
    ///
    /// # Errors
    ///
    /// A message saying what is wrong with the origin.
    pub fn parse(text: &str) -> Result<Self, String> {
        let uri: http::Uri = text
            .parse()
            .map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        if uri
            .path_and_query()
            .is_some_and(|pq| pq.as_str() != "/" && !pq.as_str().is_empty())
        {
            return Err(format!(
                "{text:?} must be an origin (scheme://host[:port]) without a path"
            ));
        }
        Self::from_uri(&uri).map_err(|e| format!("{text:?}: {e}"))
    }

    /// The origin a request URI targets.
    ///
    /// # Errors
    ///
    /// When the URI has no scheme or authority, has user info, or uses a
    /// scheme other than http/https.
    pub fn from_uri(uri: &http::Uri) -> Result<Self, String> {
        let scheme = uri.scheme_str().ok_or("no scheme")?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            other => return Err(format!("scheme {other} is not http or https")),
        };
        let authority = uri.authority().ok_or("no host")?;
        if authority.as_str().contains('@') {
            return Err("user info in the authority is not allowed".to_string());
        }
        let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return Err("empty host".to_string());
        }
        Ok(Self {
            scheme,
            host,
            port: authority.port_u16().unwrap_or(default_port),
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Most requests one call may send.
pub const MAX_REQUESTS_PER_CALL: u32 = 64;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);
const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP policy of one call; implements wasmtime's request hook.
#[derive(Debug, Clone, Default)]
pub struct HttpPolicy {
    allowed: Vec<Origin>,
    sent: u32,
    denials: Arc<Mutex<Vec<String>>>,
}

impl HttpPolicy {
    /// Allows requests to `allowed` only.
    pub fn new(allowed: Vec<Origin>) -> Self {
        Self {
            allowed,
            sent: 0,
            denials: Arc::default(),
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
        if let Err(reason) = self.admit(request.uri()) {
            tracing::warn!(target: "keeper::sandbox", "denied plugin HTTP request: {reason}");
            if let Ok(mut denials) = self.denials.lock() {
                denials.push(reason);
            }
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let clamp =
            |asked: Option<Duration>, max: Duration| Some(asked.map_or(max, |d| d.min(max)));
        let options = options.unwrap_or_default();
        let options = RequestOptions {
            connect_timeout: clamp(options.connect_timeout, CONNECT_TIMEOUT),
            first_byte_timeout: clamp(options.first_byte_timeout, FIRST_BYTE_TIMEOUT),
            between_bytes_timeout: clamp(options.between_bytes_timeout, BETWEEN_BYTES_TIMEOUT),
        };
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> http::Uri {
        s.parse().expect("uri")
    }

    #[test]
    fn parses_origins() {
        let o = Origin::parse("https://LastPass.com.").expect("origin");
        assert_eq!(
            o,
            Origin {
                scheme: "https".into(),
                host: "lastpass.com".into(),
                port: 443
            }
        );
        assert_eq!(
            Origin::parse("http://127.0.0.1:8080/")
                .expect("origin")
                .port,
            8080
        );
        for bad in [
            "lastpass.com",
            "ftp://x.example",
            "https://x.example/login.php",
            "https://u:p@x.example",
            "https://x.example?q=1",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad} should be refused");
        }
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
