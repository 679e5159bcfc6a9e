//! `keeper rotate` end to end with the azureadpwd plugin (the real
//! wasm32-wasip2 component embedded in keeper) against a **local stand-in**
//! for Microsoft Entra ID's token endpoint and Microsoft Graph's users API:
//! Microsoft's services cannot run here. The stand-in speaks the same
//! HTTP: the client-credentials grant at `/{tenant}/oauth2/v2.0/token`
//! with Entra's error bodies (`invalid_client`, AADSTS codes), and
//! `GET`/`PATCH /v1.0/users/{id or UPN}` with Graph's error envelope,
//! bearer-token checks, the "Authorization_RequestDenied" of an app
//! without a password-reset role, and Entra's password complexity rule
//! (8 to 256 characters, three of: lower, upper, digit, symbol).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::crash::crash_at_every_stage;
use crate::support::Keeper;
use crate::vault::{add, kp, vault, vault_password};

const TENANT: &str = "contoso.onmicrosoft.com";
const CLIENT_ID: &str = "0f5c1e5e-1111-4a4a-9b9b-123456789abc";
const SECRET: &str = "kq8Q~client.secret-value";

/// The directory the stand-in serves.
#[derive(Default)]
struct Directory {
    /// UPN → (object id, password).
    users: BTreeMap<String, (String, String)>,
    /// Bearer tokens issued.
    tokens: Vec<String>,
    /// Whether the app holds a role that may reset passwords.
    may_reset: bool,
    /// Every request, `METHOD path`.
    log: Vec<String>,
}

/// A stand-in Entra ID + Graph on a loopback port.
struct Entra {
    addr: SocketAddr,
    dir: Arc<Mutex<Directory>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Entra {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

impl Entra {
    fn start(users: &[(&str, &str)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let dir = Arc::new(Mutex::new(Directory {
            may_reset: true,
            ..Default::default()
        }));
        for (i, (upn, password)) in users.iter().enumerate() {
            dir.lock().unwrap().users.insert(
                (*upn).to_string(),
                (
                    format!("00000000-0000-4000-8000-{i:012}"),
                    (*password).to_string(),
                ),
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (d, s) = (dir.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let d = d.clone();
                    std::thread::spawn(move || serve(stream, &d));
                }
            }
        });
        Self { addr, dir, stop }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn password(&self, upn: &str) -> String {
        self.dir.lock().unwrap().users[upn].1.clone()
    }

    fn patches(&self) -> usize {
        let dir = self.dir.lock().unwrap();
        dir.log.iter().filter(|l| l.starts_with("PATCH")).count()
    }
}

/// One request per connection (`Connection: close`).
fn serve(stream: TcpStream, dir: &Mutex<Directory>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).is_err() {
                break;
            }
            let size =
                usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            if size == 0 || reader.read_exact(&mut chunk).is_err() {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
        body
    } else {
        let len: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        body
    };
    let (status, reply) = route(dir, &method, &path, &headers, &body);
    let text = reply.map(|v| v.to_string()).unwrap_or_default();
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Error",
    };
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn graph_error(status: u16, code: &str, message: &str) -> (u16, Option<Value>) {
    (
        status,
        Some(
            json!({"error": {"code": code, "message": message, "innerError": {"request-id": "x"}}}),
        ),
    )
}

fn route(
    dir: &Mutex<Directory>,
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> (u16, Option<Value>) {
    let mut dir = dir.lock().unwrap();
    dir.log.push(format!("{method} {path}"));
    if method == "POST" && path.ends_with("/oauth2/v2.0/token") {
        let tenant = decode(path.trim_start_matches('/').split('/').next().unwrap_or(""));
        let form: BTreeMap<String, String> = String::from_utf8_lossy(body)
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect();
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        let aad = |status, error: &str, description: &str| {
            (
                status,
                Some(
                    json!({"error": error, "error_description": format!("{description}\r\nTrace ID: 1\r\nTimestamp: 2026-12-06"), "error_codes": [1]}),
                ),
            )
        };
        if tenant != TENANT {
            return aad(
                400,
                "invalid_request",
                &format!("AADSTS90002: Tenant '{tenant}' not found."),
            );
        }
        if field("grant_type") != "client_credentials" {
            return aad(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            );
        }
        if field("client_id") != CLIENT_ID {
            return aad(
                400,
                "unauthorized_client",
                "AADSTS700016: Application was not found in the directory.",
            );
        }
        if field("client_secret") != SECRET {
            return aad(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided.",
            );
        }
        let host = headers.get("host").cloned().unwrap_or_default();
        if field("scope") != format!("http://{host}/.default") {
            return aad(
                400,
                "invalid_scope",
                "AADSTS70011: The provided value for scope is not valid.",
            );
        }
        let token = format!("eyJ0eXAi.standin.{}", dir.tokens.len());
        dir.tokens.push(token.clone());
        return (
            200,
            Some(
                json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}),
            ),
        );
    }
    let Some(user) = path.strip_prefix("/v1.0/users/").map(decode) else {
        return graph_error(404, "UnknownError", "no such route");
    };
    let bearer = headers
        .get("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("");
    if !dir.tokens.iter().any(|t| t == bearer) {
        return graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        );
    }
    let Some(upn) = dir
        .users
        .iter()
        .find(|(upn, (id, _))| **upn == user || *id == user)
        .map(|(upn, _)| upn.clone())
    else {
        return graph_error(
            404,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{user}' does not exist or one of its queried reference-property objects are not present."
            ),
        );
    };
    match method {
        "GET" => {
            let id = dir.users[&upn].0.clone();
            (
                200,
                Some(json!({"id": id, "userPrincipalName": upn, "displayName": upn})),
            )
        }
        "PATCH" => {
            if !dir.may_reset {
                return graph_error(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                );
            }
            let Ok(patch) = serde_json::from_slice::<Value>(body) else {
                return graph_error(400, "BadRequest", "Unable to read JSON request payload.");
            };
            let Some(password) = patch["passwordProfile"]["password"].as_str() else {
                return graph_error(
                    400,
                    "Request_BadRequest",
                    "Invalid value specified for property 'passwordProfile'.",
                );
            };
            let classes = [
                password.chars().any(|c| c.is_lowercase()),
                password.chars().any(|c| c.is_uppercase()),
                password.chars().any(|c| c.is_ascii_digit()),
                password.chars().any(|c| !c.is_alphanumeric()),
            ];
            let length = password.chars().count();
            if !(8..=256).contains(&length) || classes.iter().filter(|c| **c).count() < 3 {
                return graph_error(
                    400,
                    "Request_BadRequest",
                    "The specified password does not comply with password complexity requirements. Please provide a different password.",
                );
            }
            dir.users.get_mut(&upn).expect("user").1 = password.to_string();
            (204, None)
        }
        _ => graph_error(405, "Request_BadRequest", "Unsupported method."),
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A record rotated by azureadpwd against `entra` with `secret`.
fn azure_record(
    k: &Keeper,
    title: &str,
    entra: &Entra,
    upn: &str,
    password: &str,
    secret: &str,
) -> String {
    add(
        k,
        &[
            "-t",
            title,
            &format!("login={upn}"),
            &format!("password={password}"),
            "c.text.cmdr:plugin=azureadpwd",
            &format!("c.text.cmdr:endpoint_url={}", entra.url()),
            &format!("c.text.cmdr:azure_tenant_id={TENANT}"),
            &format!("c.text.cmdr:azure_client_id={CLIENT_ID}"),
            &format!("c.secret.cmdr:azure_secret={secret}"),
        ],
    )
}

#[test]
fn azureadpwd_resets_a_password_through_graph() {
    let old = "Old-azure-pass-1";
    let guest = "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com";
    let entra = Entra::start(&[("alice@contoso.onmicrosoft.com", old), (guest, old)]);
    let k = vault();
    let uid = azure_record(
        &k,
        "azure alice",
        &entra,
        "alice@contoso.onmicrosoft.com",
        old,
        SECRET,
    );
    let run = kp(&k, &["rotate", &uid]);
    assert!(run.ok().contains("rotated"), "{}", run.stdout());
    let new = vault_password(&k, &uid);
    assert_ne!(new, old);
    assert_eq!(entra.password("alice@contoso.onmicrosoft.com"), new);
    let printed = run.stdout() + &run.stderr();
    assert!(
        !printed.contains(&new) && !printed.contains(SECRET),
        "{printed}"
    );
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]);
    assert!(!audit.stdout().contains(SECRET));
    assert_eq!(audit.json()[0]["plugin"], "azureadpwd");

    // A guest UPN (`#EXT#`) stays one path segment, and hostile characters
    // arrive intact in the JSON body.
    let hostile = "N'e\"w\\p;a--s s{}\u{e9}\u{2713}1A";
    let g = azure_record(&k, "guest", &entra, guest, old, SECRET);
    kp(&k, &["rotate", &g, "--password", hostile]).ok();
    assert_eq!(entra.password(guest), hostile);
    assert_eq!(vault_password(&k, &g), hostile);
    assert_eq!(
        entra.password("alice@contoso.onmicrosoft.com"),
        new,
        "alice untouched"
    );
}

#[test]
fn azureadpwd_refusals_change_nothing() {
    let old = "Real-azure-pass-2";
    let entra = Entra::start(&[("bob@contoso.onmicrosoft.com", old)]);
    let k = vault();
    let failure = |uid: &str| {
        let run = kp(&k, &["rotate", uid]);
        run.fails();
        run.stdout() + &run.stderr()
    };

    let wrong = azure_record(
        &k,
        "wrong secret",
        &entra,
        "bob@contoso.onmicrosoft.com",
        old,
        "not-it",
    );
    let err = failure(&wrong);
    assert!(
        err.contains("invalid_client") && err.contains("AADSTS7000215"),
        "{err}"
    );
    assert!(!err.contains("not-it"), "the secret is never shown: {err}");

    let ghost = azure_record(
        &k,
        "ghost",
        &entra,
        "ghost@contoso.onmicrosoft.com",
        old,
        SECRET,
    );
    let err = failure(&ghost);
    assert!(err.contains("Request_ResourceNotFound"), "{err}");
    assert_eq!(
        entra.patches(),
        0,
        "refused before any password change was sent"
    );

    entra.dir.lock().unwrap().may_reset = false;
    let bob = azure_record(
        &k,
        "bob",
        &entra,
        "bob@contoso.onmicrosoft.com",
        old,
        SECRET,
    );
    let err = failure(&bob);
    assert!(
        err.contains("Authorization_RequestDenied") && err.contains("Helpdesk Administrator"),
        "{err}"
    );
    entra.dir.lock().unwrap().may_reset = true;

    // Entra's complexity rule refuses a password: reported, nothing changed.
    let err = {
        let run = kp(&k, &["rotate", &bob, "--password", "alllowercase"]);
        run.fails();
        run.stdout() + &run.stderr()
    };
    assert!(err.contains("complexity"), "{err}");
    for uid in [&wrong, &ghost, &bob] {
        assert_eq!(vault_password(&k, uid), old, "vault unchanged");
    }
    assert_eq!(
        entra.password("bob@contoso.onmicrosoft.com"),
        old,
        "directory unchanged"
    );
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));
}

#[test]
fn azureadpwd_a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    let old = "Crash-azure-pass-3";
    crash_at_every_stage(
        |_| {
            let entra = Entra::start(&[("crashy@contoso.onmicrosoft.com", old)]);
            let k = vault();
            let uid = azure_record(
                &k,
                "crashy",
                &entra,
                "crashy@contoso.onmicrosoft.com",
                old,
                SECRET,
            );
            (k, uid, entra)
        },
        |entra, password| entra.password("crashy@contoso.onmicrosoft.com") == password,
    );
}
