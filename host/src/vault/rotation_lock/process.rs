//! Who this process is, who holds a lock, and whether another process
//! still runs: what the rotation lock's stale rule needs to never take a
//! live holder's lock.
//!
//! A pid means something only on the machine (and in the pid namespace)
//! where it was taken, and only together with the process's start time,
//! since pids are reused. On Linux the *machine* is the kernel's boot id
//! plus the pid namespace (`/proc/self/ns/pid`): two containers on one
//! kernel, or one host before and after a reboot, are different machines.
//! Elsewhere the machine is unknown and only the lease applies.

use std::sync::OnceLock;

/// This process, as a lock holder describes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessIdentity {
    /// Process id.
    pub pid: i64,
    /// Host name (for messages only: two hosts may share one).
    pub host: String,
    /// Boot id and pid namespace; empty when unknown.
    pub machine: String,
    /// Start time in clock ticks since boot; 0 when unknown.
    pub start: i64,
}

/// Who holds a record's rotation lock, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The holder's process id.
    pub pid: i64,
    /// Its host name.
    pub host: String,
    /// When it took the lock, epoch ms.
    pub acquired: i64,
    /// Its last heartbeat, epoch ms.
    pub heartbeat: i64,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} since {} UTC",
            self.pid,
            self.host,
            crate::vault::model::fields::format_time(self.acquired)
        )
    }
}

/// Whether a process still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// It runs (or cannot be shown not to: a process of another user whose
    /// details are hidden counts as running).
    Alive,
    /// It has exited (or is a zombie), or its pid now belongs to a process
    /// started at another time.
    Gone,
}

/// This process's identity (computed once).
pub fn current() -> &'static ProcessIdentity {
    static ME: OnceLock<ProcessIdentity> = OnceLock::new();
    ME.get_or_init(|| ProcessIdentity {
        pid: i64::from(std::process::id()),
        host: host_name(),
        machine: machine(),
        start: stat(std::process::id().into()).map_or(0, |s| s.start),
    })
}

/// Whether process `pid`, started at `start` (0: unknown), runs on this
/// machine. Only meaningful for a holder whose `machine` is this one's.
pub fn liveness(pid: i64, start: i64) -> Liveness {
    if pid <= 0 || i32::try_from(pid).is_err() {
        return Liveness::Gone;
    }
    if pid == current().pid {
        return if start == current().start || start == 0 {
            Liveness::Alive
        } else {
            Liveness::Gone
        };
    }
    if !exists(pid) {
        return Liveness::Gone;
    }
    match stat(pid) {
        Some(s) if s.zombie => Liveness::Gone,
        Some(s) if start != 0 && s.start != start => Liveness::Gone,
        // Exists, and either matches or its details are hidden from us.
        _ => Liveness::Alive,
    }
}

/// Whether a process `pid` (positive, fits an i32) exists: signal 0
/// checks without sending anything (EPERM: it exists, another user's).
#[cfg(unix)]
fn exists(pid: i64) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    rustix::process::test_kill_process(pid) != Err(rustix::io::Errno::SRCH)
}

/// Elsewhere the machine is unknown and this is never asked; if it were,
/// "exists" never takes a live holder's lock.
#[cfg(not(unix))]
fn exists(_pid: i64) -> bool {
    true
}

/// What `/proc/<pid>/stat` says about a process.
struct Stat {
    /// Field 22: start time in clock ticks after boot.
    start: i64,
    /// State `Z` (zombie) or `X` (dead): exited, not yet reaped.
    zombie: bool,
}

/// Reads `/proc/<pid>/stat` (Linux; `None` elsewhere or when hidden).
fn stat(pid: i64) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces
    // or parentheses itself: the fields that follow start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?; // field 3
    // Fields 4..=21 come before the start time (field 22).
    let start = fields.nth(18)?.parse().ok()?;
    Some(Stat {
        start,
        zombie: matches!(state, "Z" | "X"),
    })
}

/// Boot id and pid namespace, or empty when either is unknown.
fn machine() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id");
    let namespace = std::fs::read_link("/proc/self/ns/pid");
    match (boot, namespace) {
        (Ok(boot), Ok(ns)) if !boot.trim().is_empty() => {
            format!("{}/{}", boot.trim(), ns.display())
        }
        _ => String::new(),
    }
}

/// The host name, for messages.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not_it() {
        let me = current();
        assert_eq!(liveness(me.pid, me.start), Liveness::Alive);
        if cfg!(target_os = "linux") {
            assert!(!me.machine.is_empty(), "Linux knows its boot id");
            assert!(me.start > 0, "and the start time");
            assert_eq!(liveness(me.pid, me.start + 1), Liveness::Gone);
        }
    }

    /// A child that exited is gone, whether or not it was reaped yet; a
    /// running one is alive; a pid that never existed is gone.
    #[cfg(target_os = "linux")]
    #[test]
    fn exited_and_zombie_children_are_gone() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = i64::from(child.id());
        let start = stat(pid).expect("stat").start;
        assert_eq!(liveness(pid, start), Liveness::Alive);
        child.kill().expect("kill");
        // Not reaped yet: a zombie.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !stat(pid).is_some_and(|s| s.zombie) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(liveness(pid, start), Liveness::Gone, "zombie");
        child.wait().expect("reap");
        assert_eq!(liveness(pid, start), Liveness::Gone, "reaped");
        assert_eq!(liveness(i64::from(i32::MAX), 0), Liveness::Gone);
        assert_eq!(liveness(-1, 0), Liveness::Gone);
    }
}
