//! Test-only fault injection: abort the process at a stage of the protocol.
//!
//! With `KEEPER_FAULT=<point>` a debug build of keeper aborts (like `kill
//! -9`: no destructors, no flush) when rotation reaches that point, so the
//! tests can prove that resuming after a crash anywhere loses no password.
//! Release builds ignore the variable.

/// The points, in protocol order.
pub const POINTS: [&str; 4] = ["after-pending", "after-set", "after-verify", "after-finish"];

/// Aborts here if `KEEPER_FAULT` names this point (debug builds only).
pub fn point(name: &str) {
    if cfg!(debug_assertions) && std::env::var("KEEPER_FAULT").is_ok_and(|p| p == name) {
        eprintln!("keeper: injected fault at {name}");
        std::process::abort();
    }
}
