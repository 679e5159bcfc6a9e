//! HTTP(S) requests to the origins the manifest declares (capability `http`).
//!
//! Requests go out through `wasi:http`; the host sends them itself, only to
//! origins (`scheme://host[:port]`) the manifest lists under
//! `[capabilities] http` and the user granted, through the user's proxy, and
//! with its own size, redirect and request-count caps. A request to any
//! other origin fails with [`HttpError::Denied`].
//!
//! ```no_run
//! use keeper_plugin_sdk::http;
//!
//! # fn demo() -> Result<(), keeper_plugin_sdk::PluginError> {
//! let resp = http::get("https://api.example.com/v1/status")?;
//! if resp.status != 200 {
//!     return Err(keeper_plugin_sdk::PluginError::Rejected(format!("status {}", resp.status)));
//! }
//! let body = resp.text();
//! # Ok(()) }
//! ```

use std::fmt;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingResponse, Method as WasiMethod, OutgoingBody, OutgoingRequest,
    Scheme,
};
use wasip2::io::streams::StreamError;

use crate::PluginError;

/// The default cap on a response body: 16 MiB.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL or a header is malformed.
    Invalid(String),
    /// The sandbox refused the request (origin not declared or not granted).
    Denied(String),
    /// The request failed on the way (DNS, connection, TLS, protocol...).
    Failed(String),
    /// The response body is larger than the request's cap.
    TooLarge(usize),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(m) => write!(f, "invalid HTTP request: {m}"),
            Self::Denied(m) => write!(f, "HTTP request denied: {m}"),
            Self::Failed(m) => write!(f, "HTTP request failed: {m}"),
            Self::TooLarge(cap) => write!(f, "HTTP response body exceeds {cap} bytes"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Invalid and denied become invalid configuration, transport failures
/// unreachable, an oversized body a rejection.
impl From<HttpError> for PluginError {
    fn from(err: HttpError) -> Self {
        let text = err.to_string();
        match err {
            HttpError::Invalid(_) | HttpError::Denied(_) => Self::InvalidConfig(text),
            HttpError::Failed(_) => Self::Unreachable(text),
            HttpError::TooLarge(_) => Self::Rejected(text),
        }
    }
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// PATCH
    Patch,
}

impl Method {
    fn to_wasi(self) -> WasiMethod {
        match self {
            Self::Get => WasiMethod::Get,
            Self::Head => WasiMethod::Head,
            Self::Post => WasiMethod::Post,
            Self::Put => WasiMethod::Put,
            Self::Delete => WasiMethod::Delete,
            Self::Patch => WasiMethod::Patch,
        }
    }
}

/// A request to send with [`send`].
///
/// ```
/// use keeper_plugin_sdk::http::{Method, Request};
///
/// let req = Request::new(Method::Post, "https://lastpass.com/login.php")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body(b"username=me".to_vec())
///     .max_body(1 << 20);
/// ```
#[derive(Clone)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    max_body: usize,
}

impl Request {
    /// A request without headers or body; the response body is capped at
    /// [`DEFAULT_MAX_BODY`].
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the largest response body accepted.
    pub fn max_body(mut self, max: usize) -> Self {
        self.max_body = max;
        self
    }
}

/// The body may hold credentials, so `Debug` shows its size only.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers.len())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-case as the host delivers them.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (compared case-insensitively) as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Percent-encodes `text` as RFC 3986 asks of a URI component: every
/// byte but the unreserved `A-Z a-z 0-9 - _ . ~` and the bytes in `keep`
/// becomes `%XX` (upper-case hex, UTF-8 bytes). What SigV4 signs
/// (`keep` empty) and what a path segment or query value needs
/// (`keep = b"@"` for a user principal name).
///
/// ```
/// use keeper_plugin_sdk::http::percent_encode;
///
/// assert_eq!(percent_encode("a b/c~+%é", b""), "a%20b%2Fc~%2B%25%C3%A9");
/// assert_eq!(percent_encode("me@x.com", b"@"), "me@x.com");
/// ```
pub fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends a GET request to `url`.
///
/// Fails as [`send`] does.
pub fn get(url: &str) -> Result<Response, HttpError> {
    send(&Request::new(Method::Get, url))
}

/// Sends `request` and reads the whole response.
///
/// Fails with [`HttpError::Invalid`] for a malformed URL or header,
/// [`HttpError::Denied`] when the origin is not granted,
/// [`HttpError::Failed`] when the request fails on the way and
/// [`HttpError::TooLarge`] when the body exceeds the request's cap. A
/// response with an error status is not an error: check
/// [`Response::status`].
pub fn send(request: &Request) -> Result<Response, HttpError> {
    let url = Url::parse(&request.url)?;
    let headers = Fields::from_list(&request.headers)
        .map_err(|e| HttpError::Invalid(format!("headers: {e:?}")))?;
    let outgoing = OutgoingRequest::new(headers);
    let invalid = |what: &str| HttpError::Invalid(format!("{what} of {}", url.text));
    outgoing
        .set_method(&request.method.to_wasi())
        .map_err(|()| invalid("method"))?;
    outgoing
        .set_scheme(Some(&url.scheme))
        .map_err(|()| invalid("scheme"))?;
    outgoing
        .set_authority(Some(url.authority))
        .map_err(|()| invalid("authority"))?;
    outgoing
        .set_path_with_query(Some(&url.path_with_query))
        .map_err(|()| invalid("path"))?;
    let body = outgoing
        .body()
        .map_err(|()| HttpError::Failed("request body unavailable".into()))?;

    let future = outgoing_handler::handle(outgoing, None).map_err(error_code)?;
    write_body(body, &request.body)?;

    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(error_code(code)),
        Some(Err(())) => return Err(HttpError::Failed("response already taken".into())),
        None => return Err(HttpError::Failed("response not ready".into())),
    };
    read_response(response, request.max_body)
}

fn write_body(body: OutgoingBody, data: &[u8]) -> Result<(), HttpError> {
    {
        let stream = body
            .write()
            .map_err(|()| HttpError::Failed("request body stream unavailable".into()))?;
        // `blocking-write-and-flush` takes at most 4096 bytes per call.
        for chunk in data.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(stream_error)?;
        }
        // The stream must be dropped before its body is finished.
    }
    OutgoingBody::finish(body, None).map_err(error_code)
}

fn read_response(response: IncomingResponse, max_body: usize) -> Result<Response, HttpError> {
    let status = response.status();
    let headers = response.headers().entries();
    let incoming = response
        .consume()
        .map_err(|()| HttpError::Failed("response body unavailable".into()))?;
    let mut body = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| HttpError::Failed("response body stream unavailable".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    if body.len() + chunk.len() > max_body {
                        return Err(HttpError::TooLarge(max_body));
                    }
                    body.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(e) => return Err(stream_error(e)),
            }
        }
        // The stream is dropped here, before its body.
    }
    drop(incoming);
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn error_code(code: ErrorCode) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied("origin not granted".into()),
        other => HttpError::Failed(other.to_string()),
    }
}

fn stream_error(err: StreamError) -> HttpError {
    match err {
        StreamError::LastOperationFailed(e) => HttpError::Failed(e.to_debug_string()),
        StreamError::Closed => HttpError::Failed("stream closed".into()),
    }
}

/// The parts of an `http(s)://authority/path?query` URL that wasi:http needs.
struct Url<'a> {
    text: &'a str,
    scheme: Scheme,
    authority: &'a str,
    path_with_query: String,
}

impl<'a> Url<'a> {
    fn parse(text: &'a str) -> Result<Self, HttpError> {
        let bad = |why: &str| HttpError::Invalid(format!("URL `{text}`: {why}"));
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(bad("scheme must be http or https")),
        };
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("missing host, or credentials in the URL"));
        }
        let path_with_query = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Ok(Self {
            text,
            scheme,
            authority,
            path_with_query,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_splits_into_scheme_authority_and_path() {
        let u = Url::parse("https://lastpass.com:443/login.php?x=1#frag").ok();
        let u = u.as_ref();
        assert!(matches!(u.map(|u| &u.scheme), Some(Scheme::Https)));
        assert_eq!(u.map(|u| u.authority), Some("lastpass.com:443"));
        assert_eq!(
            u.map(|u| u.path_with_query.as_str()),
            Some("/login.php?x=1")
        );
        let bare = Url::parse("http://example.com").ok();
        assert_eq!(bare.as_ref().map(|u| u.path_with_query.as_str()), Some("/"));
        let query = Url::parse("http://example.com?q").ok();
        assert_eq!(query.as_ref().map(|u| u.authority), Some("example.com"));
        assert_eq!(
            query.as_ref().map(|u| u.path_with_query.as_str()),
            Some("/?q")
        );
    }

    #[test]
    fn url_rejects_other_schemes_and_missing_hosts() {
        assert!(Url::parse("ftp://example.com/").is_err());
        assert!(Url::parse("example.com/").is_err());
        assert!(Url::parse("https:///path").is_err());
        assert!(Url::parse("https://user:pw@example.com/").is_err());
    }

    #[test]
    fn errors_map_to_plugin_errors() {
        assert!(matches!(
            PluginError::from(HttpError::Denied("x".into())),
            PluginError::InvalidConfig(_)
        ));
        assert!(matches!(
            PluginError::from(HttpError::Failed("x".into())),
            PluginError::Unreachable(_)
        ));
    }
}
