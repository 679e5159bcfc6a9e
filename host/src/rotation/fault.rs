//! Test-only fault injection: abort the process, or hold it, at a stage of
//! the protocol.
//!
//! With `KEEPER_FAULT=<point>` a debug build of keeper aborts (like `kill
//! -9`: no destructors, no flush) when rotation reaches that point, so the
//! tests can prove that resuming after a crash anywhere loses no password.
//! With `KEEPER_HOLD=<point>` and `KEEPER_HOLD_FILE=<path>` it creates
//! `<path>.reached` there and waits (at most a minute) while `<path>`
//! exists, so the tests can keep a record's rotation lock held, and kill
//! or race its holder, at a known stage. Release builds ignore all three.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The points, in protocol order. One more, `before-material`, is reached
/// only by a plugin whose `rotate` returns material (API 1.1), after it
/// returned and before keeper stored it.
pub const POINTS: [&str; 4] = ["after-pending", "after-set", "after-verify", "after-finish"];

/// Aborts or holds here if `KEEPER_FAULT` or `KEEPER_HOLD` names this
/// point (debug builds only).
pub fn point(name: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    if std::env::var("KEEPER_FAULT").is_ok_and(|p| p == name) {
        eprintln!("keeper: injected fault at {name}");
        std::process::abort();
    }
    let file = std::env::var_os("KEEPER_HOLD_FILE").map(PathBuf::from);
    if let Some(file) = file.filter(|_| std::env::var("KEEPER_HOLD").is_ok_and(|p| p == name)) {
        hold(name, &file);
    }
}

/// Waits while `file` exists, after saying so in `<file>.reached`.
fn hold(name: &str, file: &std::path::Path) {
    let mut reached = file.as_os_str().to_owned();
    reached.push(".reached");
    let _ = std::fs::write(&reached, std::process::id().to_string());
    eprintln!("keeper: holding at {name}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}
