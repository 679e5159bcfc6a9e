//! A rotator that attacks the sandbox, for keeper's hostile-plugin tests.
//!
//! `describe` is ordinary; `rotate` performs the attack named by the
//! parameter `attack` (`prepare` and `verify` only take part in
//! `same-sandbox` and `fail-rotate`). It returns `Ok(())` when the attack **succeeded** (the
//! sandbox failed) and `Err(PluginError::Rejected("<attack>: <detail>"))`
//! when it was stopped by an error the plugin could observe. Attacks the
//! host must stop from outside (a trap, a timeout) never return.
//!
//! | attack | params | on success / when stopped |
//! |---|---|---|
//! | `ok` | | `Ok` (control) |
//! | `loop` | | never returns (CPU limit) |
//! | `memory` | | touches 1 MiB chunks forever; `Rejected` if an allocation fails without a trap |
//! | `recursion` | | never returns (stack overflow trap) |
//! | `connect` | `address` (ip:port) | `Ok` if it connected and wrote a byte |
//! | `connect-target` | | `Ok` if the target answered `ping` with `pong` |
//! | `dns` | `name` (default `localhost`) | `Ok` if the name resolved |
//! | `http` | `url` (default `http://allowed.invalid/`), `count` (default 1) | `Ok` if `count` GETs each got a response |
//! | `read-file` | `path` (default `/etc/passwd`) | `Ok` if the file was read |
//! | `env` | `var` (optional) | `Ok` if any variable (or `var`) is visible |
//! | `log-flood` | | logs 1 KiB lines forever |
//! | `stdout-flood` | | prints 64 KiB chunks forever; `Rejected` if a write fails |
//! | `panic` | | panics with `hostile panic` |
//! | `huge-result` | `bytes` (default 16 MiB) | returns `Internal("x" * bytes)` |
//! | `huge-log-line` | | logs one 10 MiB line, then `Ok` |
//! | `target-stream` | `timeout_ms` (optional) | the SDK's `TargetStream`: `Ok` if the target answered `ping` with `pong`; connection errors as they come (`Unreachable`) |
//! | `same-sandbox` | | `prepare` marks the sandbox; `rotate` and `verify` are `Ok` only in a marked one (shows the host ran them in one sandbox) |
//! | `remember` | | `Rejected("remember: call N")`: how many calls this sandbox has served (what a sandbox keeps between calls) |
//! | `show` | | `Rejected("show: kind[:label]=value, ...")`: every record field it is shown, and `notes` if it sees notes |
//! | `leak` | | `Rejected("leak: ...")` holding both passwords and every value it is shown, as they are, upper and lower case, hex, base64 (standard and URL-safe, padded or not) and in a Basic auth header; logs the same |
//! | `hash` | `rounds` (default: forever) | SHA-256 of the last digest `rounds` times (one compression each), then `Ok`: a CPU workload for the budget's benchmark |
//! | `escapes` | | logs [`ESCAPES`] and returns `InvalidConfig("escapes: " + ESCAPES)` |
//! | `fail-rotate` | `accepts_length` (optional) | `rotate` fails (`Internal`) yet `verify` passes: for any password, or only for passwords of `accepts_length` characters (then the record's old one fails, the new one passes); revert is unsupported |
//!
//! Any other value of `attack` is an `InvalidConfig` error.
//!
//! `prepare` returns what the parameter `prepare` names: `password`,
//! `login`, `host`, `url`, `cmdr` (a `cmdr:host` field), `undeclared` (a
//! `secret` field its manifest does not own), `owned` (a `keyPair`, which
//! it owns), `flood` (600 000 empty fields); nothing without it.
//!
//! Its describe summary carries [`ESCAPES`].
//!
//! Built by the host's tests; by hand:
//! `cargo build --target wasm32-wasip2 --profile plugin -p hostile-rotator`.

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use keeper_plugin_sdk::net::TargetStream;
use keeper_plugin_sdk::{Field, PluginError, PluginInfo, Rotation, Rotator, http, log};

/// Clear screen, OSC 52 (clipboard), alternate screen, window title, a
/// carriage return over the line, a forged log line, BEL and C1 CSI.
pub const ESCAPES: &str = "\u{1b}[2J\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[?1049h\u{1b}]0;owned\u{7}\rforged\nINFO forged line\u{7}\u{9b}31m";

/// Set by `prepare` for the `same-sandbox` attack.
static PREPARED_HERE: AtomicBool = AtomicBool::new(false);

/// For `same-sandbox`: whether `prepare` ran in this sandbox.
fn same_sandbox(step: &str) -> Result<(), PluginError> {
    if PREPARED_HERE.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err(PluginError::Rejected(format!(
            "same-sandbox: {step} ran in a sandbox where prepare did not"
        )))
    }
}

/// The plugin.
pub struct Hostile;

impl Rotator for Hostile {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "hostile-rotator",
            format!("Attacks the sandbox (tests only){ESCAPES}"),
        )
    }

    fn prepare(req: &Rotation) -> Result<Vec<Field>, PluginError> {
        if req.param("attack") == Some("same-sandbox") {
            PREPARED_HERE.store(true, Ordering::Relaxed);
        }
        let field = |kind: &str, value: &str| Field {
            kind: kind.into(),
            label: None,
            values: vec![value.into()],
        };
        Ok(match req.param("prepare") {
            None => Vec::new(),
            Some("password") => vec![field("password", "Chosen-by-plugin-1")],
            Some("login") => vec![field("login", "root")],
            Some("host") => vec![field("host", r#"{"hostName":"127.0.0.2","port":"3306"}"#)],
            Some("url") => vec![field("url", "mysql://127.0.0.2:3306")],
            Some("cmdr") => vec![Field {
                label: Some("cmdr:host".into()),
                ..field("text", "127.0.0.2")
            }],
            Some("undeclared") => vec![field("secret", "plugin-made")],
            Some("owned") => vec![field(
                "keyPair",
                r#"{"privateKey":"NEW-PRIVATE","publicKey":"ssh-ed25519 AAAA new"}"#,
            )],
            Some("flood") => vec![
                Field {
                    kind: String::new(),
                    label: None,
                    values: Vec::new(),
                };
                600_000
            ],
            Some(other) => {
                return Err(PluginError::InvalidConfig(format!(
                    "unknown prepare `{other}`"
                )));
            }
        })
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        match req.param("attack") {
            Some("same-sandbox") => same_sandbox("verify"),
            Some("fail-rotate") => match req.param("accepts_length") {
                Some(n) if n != req.new_password().expose().chars().count().to_string() => Err(
                    PluginError::AuthFailed("fail-rotate: this password does not log in".into()),
                ),
                _ => Ok(()),
            },
            _ => Err(PluginError::Unsupported(
                "hostile-rotator verifies only for `same-sandbox`".into(),
            )),
        }
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        let attack = req
            .param("attack")
            .ok_or_else(|| PluginError::InvalidConfig("parameter `attack` is missing".into()))?;
        let stopped = |detail: String| PluginError::Rejected(format!("{attack}: {detail}"));
        match attack {
            "ok" => Ok(()),
            "loop" => spin(),
            "memory" => exhaust_memory().map_err(stopped),
            "recursion" => {
                black_box(recurse(0));
                Ok(())
            }
            "connect" => {
                let address = req.require_param("address")?;
                // The address is echoed so tests can check the host redacts secrets.
                let mut stream =
                    TcpStream::connect(address).map_err(|e| stopped(format!("{address}: {e}")))?;
                stream
                    .write_all(b"x")
                    .map_err(|e| stopped(format!("{address}: {e}")))
            }
            "connect-target" => ping_target(req).map_err(stopped),
            "same-sandbox" => same_sandbox("rotate"),
            "fail-rotate" => Err(PluginError::Internal(
                "fail-rotate: the change failed".into(),
            )),
            "target-stream" => {
                let mut stream = TargetStream::connect(req.target()?)?;
                if let Some(ms) = req.param("timeout_ms") {
                    let ms = ms.parse().map_err(|_| {
                        PluginError::InvalidConfig(format!("`timeout_ms` is not a number: {ms}"))
                    })?;
                    stream.set_read_timeout(Some(std::time::Duration::from_millis(ms)));
                }
                stream.send(b"ping")?;
                let reply = stream.recv_exact(4).map_err(|e| stopped(e.to_string()))?;
                if reply == b"pong" {
                    Ok(())
                } else {
                    Err(stopped(format!("unexpected reply {reply:?}")))
                }
            }
            "dns" => {
                let name = req.param("name").unwrap_or("localhost");
                let mut addrs = (name, 0)
                    .to_socket_addrs()
                    .map_err(|e| stopped(e.to_string()))?;
                match addrs.next() {
                    Some(_) => Ok(()),
                    None => Err(stopped(format!("{name} resolved to no address"))),
                }
            }
            "http" => {
                let url = req.param("url").unwrap_or("http://allowed.invalid/");
                let count = req.param("count").and_then(|c| c.parse().ok()).unwrap_or(1);
                for _ in 0..count {
                    http::get(url).map_err(|e| stopped(e.to_string()))?;
                }
                Ok(())
            }
            "read-file" => {
                let path = req.param("path").unwrap_or("/etc/passwd");
                std::fs::read(path)
                    .map(drop)
                    .map_err(|e| stopped(e.to_string()))
            }
            "env" => {
                let any = std::env::vars().next().is_some();
                let named = req
                    .param("var")
                    .is_some_and(|v| std::env::var_os(v).is_some());
                if any || named {
                    Ok(())
                } else {
                    Err(stopped("no environment variable is visible".into()))
                }
            }
            "log-flood" => {
                let line = "x".repeat(1024);
                loop {
                    log::info(black_box(&line));
                }
            }
            "stdout-flood" => {
                let chunk = vec![b'x'; 64 * 1024];
                let mut out = std::io::stdout();
                loop {
                    out.write_all(black_box(&chunk))
                        .map_err(|e| stopped(e.to_string()))?;
                }
            }
            "panic" => panic!("hostile panic"),
            "remember" => {
                static CALLS: AtomicU32 = AtomicU32::new(0);
                let n = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
                Err(stopped(format!("call {n}")))
            }
            "huge-result" => {
                let bytes = match req.param("bytes") {
                    Some(n) => n.parse().map_err(|_| {
                        PluginError::InvalidConfig(format!(
                            "parameter `bytes` is not a number: {n}"
                        ))
                    })?,
                    None => 16 * 1024 * 1024,
                };
                Err(PluginError::Internal("x".repeat(bytes)))
            }
            "huge-log-line" => {
                log::info(&"x".repeat(10 * 1024 * 1024));
                Ok(())
            }
            "show" => Err(stopped(show(req))),
            "hash" => {
                use sha2::Digest as _;
                let rounds: u64 = match req.param("rounds") {
                    Some(n) => n.parse().map_err(|_| {
                        PluginError::InvalidConfig(format!("`rounds` is not a number: {n}"))
                    })?,
                    None => u64::MAX,
                };
                let mut digest = [0u8; 32];
                for _ in 0..rounds {
                    digest = sha2::Sha256::digest(black_box(digest)).into();
                }
                black_box(digest);
                Ok(())
            }
            "leak" => {
                let text = leak(req);
                log::info(&text);
                Err(stopped(text))
            }
            "escapes" => {
                log::info(ESCAPES);
                // A configuration error: the engine knows the target was not
                // touched and clears the pending state.
                Err(PluginError::InvalidConfig(format!("escapes: {ESCAPES}")))
            }
            other => Err(PluginError::InvalidConfig(format!(
                "unknown attack `{other}`"
            ))),
        }
    }
}

/// Every record field the plugin is shown, as `kind[:label]=value`.
fn show(req: &Rotation) -> String {
    let record = req.record();
    let mut seen: Vec<String> = record
        .fields
        .iter()
        .chain(&record.custom)
        .map(|f| match &f.label {
            Some(label) => format!("{}:{label}={}", f.kind, f.values.join("|")),
            None => format!("{}={}", f.kind, f.values.join("|")),
        })
        .collect();
    if record.notes.is_some() {
        seen.push("notes".into());
    }
    seen.join(", ")
}

/// Both passwords and every value the plugin is shown, in many forms.
fn leak(req: &Rotation) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let record = req.record();
    let mut secrets = vec![
        req.old_password().expose().to_string(),
        req.new_password().expose().to_string(),
    ];
    for field in record.fields.iter().chain(&record.custom) {
        secrets.extend(field.values.iter().cloned());
    }
    let mut out = Vec::new();
    for s in &secrets {
        let b = s.as_bytes();
        out.extend([
            s.clone(),
            s.to_uppercase(),
            s.to_lowercase(),
            hex::encode(b),
            hex::encode_upper(b),
            STANDARD.encode(b),
            STANDARD_NO_PAD.encode(b),
            URL_SAFE.encode(b),
            URL_SAFE_NO_PAD.encode(b),
            format!("Basic {}", STANDARD.encode(format!("{}:{s}", req.login()))),
        ]);
    }
    out.join(" ; ")
}

/// Burns CPU forever.
fn spin() -> ! {
    let mut n = 0u64;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Allocates and touches 1 MiB chunks until an allocation fails.
fn exhaust_memory() -> Result<(), String> {
    const CHUNK: usize = 1024 * 1024;
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = Vec::new();
        if chunk.try_reserve_exact(CHUNK).is_err() {
            return Err(format!("allocation failed after {} MiB", kept.len()));
        }
        chunk.resize(CHUNK, 1);
        kept.push(black_box(chunk));
    }
}

/// Recurses without end; the frame is kept live so it is not a tail call.
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 32]);
    if black_box(true) {
        recurse(depth + 1).wrapping_add(frame[31])
    } else {
        frame[0]
    }
}

/// Connects to the pinned target, sends `ping`, expects `pong`.
fn ping_target(req: &Rotation) -> Result<(), String> {
    let target = req.target().map_err(|e| e.to_string())?;
    let mut stream = TcpStream::connect(target.address.as_str()).map_err(|e| e.to_string())?;
    stream.write_all(b"ping").map_err(|e| e.to_string())?;
    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).map_err(|e| e.to_string())?;
    if &reply == b"pong" {
        Ok(())
    } else {
        Err(format!(
            "unexpected reply {:?}",
            String::from_utf8_lossy(&reply)
        ))
    }
}

keeper_plugin_sdk::register_rotator!(Hostile);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(attack: &str) -> Result<(), PluginError> {
        Hostile::rotate(&Rotation::new("u", "o", "n").with_param("attack", attack))
    }

    #[test]
    fn control_and_argument_errors() {
        assert_eq!(run("ok"), Ok(()));
        assert!(matches!(run("nope"), Err(PluginError::InvalidConfig(m)) if m.contains("nope")));
        assert!(matches!(
            Hostile::rotate(&Rotation::new("u", "o", "n")),
            Err(PluginError::InvalidConfig(_))
        ));
    }

    #[test]
    fn huge_result_has_the_requested_size() {
        let req = Rotation::new("u", "o", "n")
            .with_param("attack", "huge-result")
            .with_param("bytes", "1000");
        assert!(matches!(Hostile::rotate(&req), Err(PluginError::Internal(m)) if m.len() == 1000));
    }

    #[test]
    fn connect_target_needs_a_target() {
        assert!(matches!(
            run("connect-target"),
            Err(PluginError::Rejected(m)) if m.starts_with("connect-target: ")
        ));
    }
}
