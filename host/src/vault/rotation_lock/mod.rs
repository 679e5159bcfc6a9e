//! Per-record rotation locks: at most one keeper process at a time works on
//! a record's target and its pending rotation.
//!
//! The lock is a row in the vault ([`RotationLockRow`]) naming its holder:
//! pid, host name, *machine* (boot id and pid namespace, see
//! `process.rs`), the process's start time, a random token, when it was
//! taken and the holder's last heartbeat. Every write of the record's
//! pending state checks the token in the same transaction, so a pending
//! state is only ever stored, finished or cleared by the lock's holder.
//!
//! **When a holder is gone** (its lock may be taken over):
//! - on the same machine, only when its process is: the pid does not
//!   exist, is a zombie, or belongs to a process started at another time.
//!   A live holder is never taken over, however long it works;
//! - from another machine (or where the machine is unknown), only after
//!   its heartbeat is older than [`LEASE`]. The holder refreshes it every
//!   [`HEARTBEAT`] from a thread of its own, also while a plugin call
//!   blocks. Clocks of hosts sharing a vault must agree to well within the
//!   lease; a holder that cannot write its heartbeat for a whole lease
//!   (suspended, cut off from the vault) is presumed gone, and if it wakes
//!   up it finds its lock lost and writes nothing more.

mod process;

use std::time::Duration;

pub use process::{Liveness, LockHolder, ProcessIdentity};

use super::Vault;
use super::error::{Result, VaultError};
use super::model::now_ms;
use super::store::{RotationLockRow, StoreRead};

/// How often a holder refreshes its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// How long a holder on another machine may stay silent before its lock
/// may be taken over (twelve missed heartbeats).
pub const LEASE: Duration = Duration::from_secs(60);

/// Proof of holding a record's rotation lock; every write of the record's
/// pending state checks it. Letting go is explicit
/// ([`Vault::release_rotation_lock`]); a holder that dies leaves the row
/// behind, for the stale rule.
pub struct RotationLock {
    uid: String,
    token: String,
}

impl RotationLock {
    /// The locked record.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// A lock on `uid` that was never taken (tests of what a non-holder
    /// may do).
    #[cfg(test)]
    pub(crate) fn never_taken(uid: &str) -> Self {
        Self {
            uid: uid.to_string(),
            token: "never taken".into(),
        }
    }
}

impl std::fmt::Debug for RotationLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotationLock")
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}

impl From<&RotationLockRow> for LockHolder {
    fn from(row: &RotationLockRow) -> Self {
        Self {
            pid: row.pid,
            host: row.host.clone(),
            acquired: row.acquired,
            heartbeat: row.heartbeat,
        }
    }
}

/// Whether the holder of `row` is gone, seen by `me` at `now` (epoch ms);
/// `alive` checks a pid and start time on this machine.
fn holder_gone(
    row: &RotationLockRow,
    me: &ProcessIdentity,
    now: i64,
    alive: &dyn Fn(i64, i64) -> Liveness,
) -> bool {
    if !row.machine.is_empty() && row.machine == me.machine {
        return alive(row.pid, row.process_start) == Liveness::Gone;
    }
    let lease = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
    now.saturating_sub(row.heartbeat) > lease
}

/// The live holder of `uid`'s lock, if any.
fn live_holder(store: &dyn StoreRead, uid: &str) -> Result<Option<RotationLockRow>> {
    Ok(store
        .rotation_lock(uid)?
        .filter(|row| !holder_gone(row, process::current(), now_ms(), &process::liveness)))
}

/// Fails with [`VaultError::LockLost`] unless `lock` still holds its
/// record's lock (inside the transaction that writes on its strength).
pub(crate) fn check_held(store: &dyn StoreRead, lock: &RotationLock) -> Result<()> {
    match store.rotation_lock(&lock.uid)? {
        Some(row) if row.token == lock.token => Ok(()),
        _ => Err(VaultError::LockLost(lock.uid.clone())),
    }
}

/// Fails with [`VaultError::RotationBusy`] while a live holder rotates `uid`.
pub(crate) fn refuse_if_busy(store: &dyn StoreRead, uid: &str) -> Result<()> {
    match live_holder(store, uid)? {
        Some(row) => Err(VaultError::RotationBusy {
            uid: uid.to_string(),
            holder: LockHolder::from(&row),
        }),
        None => Ok(()),
    }
}

impl Vault {
    /// Takes the rotation lock of record `uid` for this process, taking it
    /// over from a holder that is gone (see the module docs). Writes
    /// nothing when it fails. The commit does not wait for the disk: the
    /// pending state stored next does, and carries it along.
    ///
    /// # Errors
    ///
    /// [`VaultError::RotationBusy`] naming the live holder;
    /// [`VaultError::NotFound`]; storage errors.
    pub fn lock_rotation(&mut self, uid: &str) -> Result<RotationLock> {
        let me = process::current();
        let token = hex::encode(rand::random::<[u8; 16]>());
        self.write_deferred(|tx, s| {
            s.keyed_row(tx, uid)?;
            let now = now_ms();
            let held = tx.rotation_lock(uid)?;
            let replacing = match &held {
                None => None,
                Some(row) if holder_gone(row, me, now, &process::liveness) => {
                    Some(row.token.as_str())
                }
                Some(row) => {
                    return Err(VaultError::RotationBusy {
                        uid: uid.to_string(),
                        holder: LockHolder::from(row),
                    });
                }
            };
            let row = RotationLockRow {
                record_uid: uid.to_string(),
                token: token.clone(),
                pid: me.pid,
                host: me.host.clone(),
                machine: me.machine.clone(),
                process_start: me.start,
                acquired: now,
                heartbeat: now,
            };
            if tx.take_rotation_lock(&row, replacing)? {
                Ok(())
            } else {
                // Another process got in between (a backend whose reads
                // are not isolated): it holds the lock now.
                Err(refuse_if_busy(tx, uid).err().unwrap_or_else(|| {
                    VaultError::Conflict(format!("the rotation lock of record {uid}"))
                }))
            }
        })?;
        Ok(RotationLock {
            uid: uid.to_string(),
            token,
        })
    }

    /// Refreshes the heartbeat of each of `locks` in one transaction (not
    /// waiting for the disk); for each, whether it is still held.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn touch_rotation_locks(&mut self, locks: &[&RotationLock]) -> Result<Vec<bool>> {
        if locks.is_empty() {
            return Ok(Vec::new());
        }
        self.write_deferred(|tx, _| {
            let now = now_ms();
            locks
                .iter()
                .map(|lock| tx.touch_rotation_lock(&lock.uid, &lock.token, now))
                .collect()
        })
    }

    /// Whether `lock` still holds its record's lock.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn holds_rotation_lock(&self, lock: &RotationLock) -> Result<bool> {
        match check_held(self.store.as_ref(), lock) {
            Ok(()) => Ok(true),
            Err(VaultError::LockLost(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Lets go of `lock` (nothing when it was taken over meanwhile).
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn release_rotation_lock(&mut self, lock: &RotationLock) -> Result<()> {
        self.write_deferred(|tx, _| tx.release_rotation_lock(&lock.uid, &lock.token).map(drop))
    }

    /// Who rotates record `uid` right now, if a live holder does.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn rotation_lock_holder(&self, uid: &str) -> Result<Option<LockHolder>> {
        Ok(live_holder(self.store.as_ref(), uid)?
            .as_ref()
            .map(LockHolder::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::crypto::KdfParams;
    use crate::vault::model::{PendingRotation, RecordData};
    use crate::vault::store::AuditRow;

    fn vault_with_record() -> (tempfile::TempDir, Vault, String) {
        let dir = tempfile::tempdir().expect("dir");
        let mut v = Vault::create(
            &dir.path().join("v.db"),
            "a@b.c",
            &secrecy::SecretString::from("pw"),
            &KdfParams::insecure_fast(),
        )
        .expect("vault");
        let uid = v
            .add_record(RecordData::new("login", "r"), None)
            .expect("add");
        (dir, v, uid)
    }

    fn pending(new: &str) -> PendingRotation {
        PendingRotation {
            new_password: zeroize::Zeroizing::new(new.into()),
            old_password: zeroize::Zeroizing::new("old".into()),
            plugin: "noop".into(),
            target: String::new(),
            started: 1,
            prepared: Vec::new(),
            keeps_password: false,
        }
    }

    fn audit(uid: &str) -> AuditRow {
        AuditRow {
            tenant_uid: String::new(),
            record_uid: uid.into(),
            plugin: "noop".into(),
            target: String::new(),
            outcome: "rotated".into(),
            duration_ms: 1,
            at: 1,
        }
    }

    /// Rewrites who holds `lock` (what another process's row would say).
    fn pretend_holder(v: &mut Vault, lock: &RotationLock, edit: impl Fn(&mut RotationLockRow)) {
        let mut row = v
            .store
            .rotation_lock(&lock.uid)
            .expect("read")
            .expect("held");
        edit(&mut row);
        v.write(|tx, _| tx.take_rotation_lock(&row, Some(lock.token.as_str())))
            .map(|taken| assert!(taken))
            .expect("rewrite");
    }

    /// A second taker of a live holder's lock is refused with the holder's
    /// pid, host and time, and writes nothing; a pending state is written,
    /// finished or cleared only by the holder.
    #[test]
    fn a_live_holder_keeps_its_lock_and_only_it_writes_the_pending_state() {
        let (_dir, mut v, uid) = vault_with_record();
        let held = v.lock_rotation(&uid).expect("lock");
        let before = v.store.rotation_lock(&uid).expect("read");
        let busy = v.lock_rotation(&uid).expect_err("busy");
        match &busy {
            VaultError::RotationBusy { holder, .. } => {
                assert_eq!(holder.pid, i64::from(std::process::id()));
            }
            other => panic!("{other:?}"),
        }
        let text = busy.to_string();
        assert!(
            text.contains(&format!("being rotated by pid {}", std::process::id()))
                && text.contains(" since ")
                && text.contains("nothing was changed"),
            "{text}"
        );
        assert_eq!(v.store.rotation_lock(&uid).expect("read"), before);
        assert!(matches!(
            v.delete_record(&uid),
            Err(VaultError::RotationBusy { .. })
        ));

        // A live holder on another machine with a fresh heartbeat, too.
        pretend_holder(&mut v, &held, |row| row.machine = "elsewhere".into());
        assert!(matches!(
            v.lock_rotation(&uid),
            Err(VaultError::RotationBusy { .. })
        ));

        let stranger = RotationLock::never_taken(&uid);
        let state = pending("new");
        assert!(matches!(
            v.set_pending_rotation(&stranger, &state),
            Err(VaultError::LockLost(_))
        ));
        v.set_pending_rotation(&held, &state)
            .expect("holder stores");
        assert!(matches!(
            v.complete_rotation(&stranger, "new", &audit(&uid)),
            Err(VaultError::LockLost(_))
        ));
        assert!(matches!(
            v.clear_pending_rotation(&stranger, "new", None),
            Err(VaultError::LockLost(_))
        ));
        assert!(v.pending_rotation(&uid).expect("read").is_some());
        v.complete_rotation(&held, "new", &audit(&uid))
            .expect("holder finishes");
        v.release_rotation_lock(&held).expect("release");
        assert!(v.store.rotation_lock(&uid).expect("read").is_none());
        v.lock_rotation(&uid).expect("free again");
    }

    /// A holder whose process is gone (same machine), or whose lease ran
    /// out (another machine), is taken over; it then writes nothing more.
    #[test]
    fn a_gone_holder_is_taken_over_and_can_no_longer_write() {
        let (_dir, mut v, uid) = vault_with_record();
        let dead = {
            let mut child = std::process::Command::new("true").spawn().expect("spawn");
            child.wait().expect("wait");
            i64::from(child.id())
        };
        let first = v.lock_rotation(&uid).expect("lock");
        v.set_pending_rotation(&first, &pending("first"))
            .expect("pending");
        pretend_holder(&mut v, &first, |row| {
            row.pid = dead;
            row.process_start = 1;
        });
        let second = v.lock_rotation(&uid).expect("taken over from a dead pid");
        assert!(!v.holds_rotation_lock(&first).expect("read"));
        assert!(matches!(
            v.clear_pending_rotation(&first, "first", None),
            Err(VaultError::LockLost(_))
        ));
        assert!(matches!(
            v.complete_rotation(&first, "first", &audit(&uid)),
            Err(VaultError::LockLost(_))
        ));
        assert_eq!(
            v.touch_rotation_locks(&[&first, &second]).expect("touch"),
            [false, true]
        );
        v.release_rotation_lock(&first).expect("a no-op");
        assert!(v.holds_rotation_lock(&second).expect("read"));
        // The abandoned pending state is the new holder's to resolve.
        v.clear_pending_rotation(&second, "first", None)
            .expect("new holder resolves it");

        let lease = i64::try_from(LEASE.as_millis()).expect("ms");
        pretend_holder(&mut v, &second, |row| {
            row.machine = "elsewhere".into();
            row.heartbeat = now_ms() - lease - 1_000;
        });
        let third = v.lock_rotation(&uid).expect("taken over after the lease");
        assert!(v.holds_rotation_lock(&third).expect("read"));
        assert!(!v.holds_rotation_lock(&second).expect("read"));
    }

    fn row(machine: &str, heartbeat: i64) -> RotationLockRow {
        RotationLockRow {
            record_uid: "r".into(),
            token: "t".into(),
            pid: 42,
            host: "h".into(),
            machine: machine.into(),
            process_start: 7,
            acquired: 0,
            heartbeat,
        }
    }

    fn me(machine: &str) -> ProcessIdentity {
        ProcessIdentity {
            pid: 1,
            host: "h".into(),
            machine: machine.into(),
            start: 1,
        }
    }

    const LEASE_MS: i64 = LEASE.as_millis() as i64;

    /// On the holder's machine only its process decides, however old the
    /// heartbeat; elsewhere only the lease does.
    #[test]
    fn the_stale_rule_never_fires_for_a_live_holder_on_its_machine() {
        let alive = |_: i64, _: i64| Liveness::Alive;
        let gone = |_: i64, _: i64| Liveness::Gone;
        let ancient = row("boot/ns", 0);
        let later = 100 * LEASE_MS;
        assert!(!holder_gone(&ancient, &me("boot/ns"), later, &alive));
        assert!(holder_gone(&ancient, &me("boot/ns"), 0, &gone));

        let fresh = row("other/ns", 1_000);
        assert!(!holder_gone(
            &fresh,
            &me("boot/ns"),
            1_000 + LEASE_MS,
            &gone
        ));
        assert!(holder_gone(
            &fresh,
            &me("boot/ns"),
            1_001 + LEASE_MS,
            &alive
        ));
        // Unknown machines (non-Linux) rely on the lease too.
        assert!(!holder_gone(
            &row("", 1_000),
            &me(""),
            1_000 + LEASE_MS,
            &gone
        ));
        assert!(holder_gone(
            &row("", 1_000),
            &me(""),
            1_001 + LEASE_MS,
            &alive
        ));
    }

    #[test]
    fn a_holder_is_named_by_pid_host_and_time() {
        let holder = LockHolder {
            pid: 4242,
            host: "db-admin".into(),
            acquired: 1_700_000_000_000,
            heartbeat: 1_700_000_000_000,
        };
        assert_eq!(
            holder.to_string(),
            "pid 4242 on db-admin since 2023-11-14 22:13:20 UTC"
        );
    }
}
