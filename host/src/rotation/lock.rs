//! The engine's side of the per-record rotation lock (`vault::rotation_lock`):
//! taking it (at once, or waiting a bounded time for a busy record), keeping
//! it alive with a heartbeat thread while the record is worked on, also
//! while a plugin call blocks, and letting go when the record is done.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::vault::rotation_lock::HEARTBEAT;
use crate::vault::{RotationLock, Vault, VaultError};

/// How often a waiting `rotate --wait` asks again for a busy record.
const RETRY: Duration = Duration::from_millis(200);

/// The locks this process holds, and the thread that keeps them alive.
pub(crate) struct Locks {
    vault: Arc<Mutex<Vault>>,
    held: Arc<Mutex<HashMap<u64, Arc<RotationLock>>>>,
    next: AtomicU64,
    heartbeat: Mutex<Option<Heartbeat>>,
    /// How often the heartbeat beats ([`HEARTBEAT`]; tests go faster).
    interval: Duration,
}

/// The heartbeat thread; it stops when this is dropped.
struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A held lock; dropping it lets go (a short vault write).
pub(crate) struct Guard<'a> {
    locks: &'a Locks,
    id: u64,
    lock: Arc<RotationLock>,
}

impl Guard<'_> {
    /// The lock, for the vault writes made on its strength.
    pub(crate) fn lock(&self) -> &Arc<RotationLock> {
        &self.lock
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.locks
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
        let released = with(&self.locks.vault, |v| v.release_rotation_lock(&self.lock));
        if let Err(e) = released {
            // Left behind, the row is taken over once this process is gone.
            tracing::warn!(
                record = self.lock.uid(),
                "could not let go of the rotation lock: {e}"
            );
        }
    }
}

fn with<R>(vault: &Mutex<Vault>, f: impl FnOnce(&mut Vault) -> R) -> R {
    f(&mut vault
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner))
}

impl Locks {
    /// No locks yet over `vault`; the heartbeat starts with the first.
    pub(crate) fn new(vault: Arc<Mutex<Vault>>) -> Self {
        Self {
            vault,
            held: Arc::default(),
            next: AtomicU64::new(0),
            heartbeat: Mutex::new(None),
            interval: HEARTBEAT,
        }
    }

    /// Takes the rotation lock of `uid`; while another live process holds
    /// it, asks again until `wait` has passed (`None`: fails at once).
    ///
    /// # Errors
    ///
    /// [`VaultError::RotationBusy`] (naming the holder) when the wait ran
    /// out; other vault errors at once.
    pub(crate) async fn acquire(
        &self,
        uid: &str,
        wait: Option<Duration>,
    ) -> Result<Guard<'_>, VaultError> {
        let deadline = wait.map(|w| Instant::now() + w);
        let lock = loop {
            match with(&self.vault, |v| v.lock_rotation(uid)) {
                Ok(lock) => break lock,
                Err(VaultError::RotationBusy { .. })
                    if deadline.is_some_and(|d| Instant::now() + RETRY <= d) =>
                {
                    tokio::time::sleep(RETRY).await;
                }
                Err(e) => return Err(e),
            }
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let lock = Arc::new(lock);
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, lock.clone());
        self.start_heartbeat();
        Ok(Guard {
            locks: self,
            id,
            lock,
        })
    }

    /// Starts the heartbeat thread once: every [`HEARTBEAT`] it refreshes
    /// every held lock in one short transaction (no wait for the disk).
    fn start_heartbeat(&self) {
        let mut heartbeat = self
            .heartbeat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if heartbeat.is_some() {
            return;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let (vault, held, interval) = (self.vault.clone(), self.held.clone(), self.interval);
        let thread = std::thread::Builder::new()
            .name("rotation-lock-heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    beat(&vault, &held);
                }
            });
        match thread {
            Ok(thread) => {
                *heartbeat = Some(Heartbeat {
                    stop: Some(stop),
                    thread: Some(thread),
                });
            }
            // Without a heartbeat only holders on other machines could
            // misjudge this one, and only after the lease.
            Err(e) => tracing::warn!("cannot start the rotation lock heartbeat: {e}"),
        }
    }
}

/// Refreshes every held lock once.
fn beat(vault: &Mutex<Vault>, held: &Mutex<HashMap<u64, Arc<RotationLock>>>) {
    let locks: Vec<Arc<RotationLock>> = held
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .values()
        .cloned()
        .collect();
    let refs: Vec<&RotationLock> = locks.iter().map(Arc::as_ref).collect();
    match with(vault, |v| v.touch_rotation_locks(&refs)) {
        Ok(still) => {
            for (lock, held) in refs.iter().zip(still) {
                if !held {
                    tracing::warn!(
                        record = lock.uid(),
                        "the rotation lock was taken over by another keeper process"
                    );
                }
            }
        }
        Err(e) => tracing::warn!("cannot refresh the rotation lock heartbeat: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::crypto::KdfParams;
    use crate::vault::model::RecordData;

    /// While a lock is held its heartbeat moves on, with nothing else
    /// happening (the thread beats even while the holder is blocked, as in
    /// a plugin call); a busy record is refused after the wait; letting go
    /// frees it.
    #[test]
    fn the_heartbeat_beats_while_held_and_waiting_is_bounded() {
        let dir = tempfile::tempdir().expect("dir");
        let mut vault = Vault::create(
            &dir.path().join("v.db"),
            "a@b.c",
            &secrecy::SecretString::from("pw"),
            &KdfParams::insecure_fast(),
        )
        .expect("vault");
        let uid = vault
            .add_record(RecordData::new("login", "r"), None)
            .expect("add");
        let vault = Arc::new(Mutex::new(vault));
        let locks = Locks {
            interval: Duration::from_millis(20),
            ..Locks::new(vault.clone())
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio");
        let heartbeat = || {
            with(&vault, |v| v.rotation_lock_holder(&uid))
                .expect("read")
                .map(|h| h.heartbeat)
        };
        let guard = runtime.block_on(locks.acquire(&uid, None)).expect("lock");
        let first = heartbeat().expect("held");
        // Blocked, as in a plugin call: the heartbeat goes on regardless.
        std::thread::sleep(Duration::from_millis(300));
        assert!(heartbeat().expect("held") > first, "the heartbeat moved");

        let started = Instant::now();
        let busy = runtime.block_on(locks.acquire(&uid, Some(Duration::from_millis(500))));
        assert!(matches!(busy, Err(VaultError::RotationBusy { .. })));
        assert!(started.elapsed() >= Duration::from_millis(300), "it waited");
        assert!(started.elapsed() < Duration::from_secs(5), "not forever");

        drop(guard);
        assert_eq!(heartbeat(), None, "let go");
        let again = runtime.block_on(locks.acquire(&uid, None));
        assert!(again.is_ok());
    }
}
