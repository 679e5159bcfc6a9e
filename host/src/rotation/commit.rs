//! The vault as the record rotations running at once share it: short,
//! synchronous critical sections under one mutex, and the group commit
//! that makes each rotation's pending state durable before its target is
//! touched.

use std::sync::{Arc, Mutex};

use super::error::RotationError;
use crate::vault::model::{PendingRotation, PreparedField};
use crate::vault::{Flush, RotationLock, Vault, VaultError};

/// The vault shared by an engine's rotations.
pub(super) struct SharedVault {
    vault: Arc<Mutex<Vault>>,
    /// Pending states waiting for the next group commit.
    queued: Mutex<Vec<QueuedPending>>,
}

/// A pending state waiting to be written, and who waits for it.
struct QueuedPending {
    lock: Arc<RotationLock>,
    state: PendingRotation,
    done: tokio::sync::oneshot::Sender<Result<(), RotationError>>,
}

impl SharedVault {
    /// Shares `vault`.
    pub(super) fn new(vault: Arc<Mutex<Vault>>) -> Self {
        Self {
            vault,
            queued: Mutex::default(),
        }
    }

    /// Runs `f` on the vault (short, synchronous critical sections only).
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> R {
        let mut guard = self
            .vault
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Durably stores a rotation's pending state (DESIGN: before the target
    /// is touched), by group commit: concurrent rotations (`--parallel`)
    /// queue their states, and whoever gets the vault next writes all the
    /// queued ones in one transaction, so they share one wait for the disk.
    /// On a multi-threaded runtime the wait happens outside the async
    /// workers, which go on running the other rotations meanwhile.
    pub(super) async fn store_pending(
        &self,
        lock: &Arc<RotationLock>,
        state: PendingRotation,
    ) -> Result<(), RotationError> {
        let (done, written) = tokio::sync::oneshot::channel();
        self.queued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(QueuedPending {
                lock: lock.clone(),
                state,
                done,
            });
        let commit = || {
            let (batch, written) = self.with(|vault| {
                let batch = std::mem::take(
                    &mut *self
                        .queued
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                let written = write_pending(vault, &batch);
                (batch, written)
            });
            // The wait for the disk happens after letting go of the vault,
            // so the records being rotated meanwhile can finish.
            tell_pending_waiters(batch, written);
        };
        off_the_workers(commit);
        written
            .await
            .unwrap_or(Err(RotationError::PendingNotWritten))
    }

    /// Durably adds material `rotate` returned to a rotation's pending
    /// state ([`Vault::stage_pending_material`]; rare, so not grouped),
    /// waiting for the disk after letting go of the vault.
    pub(super) fn store_material(
        &self,
        lock: &RotationLock,
        expected_new: &str,
        material: &[PreparedField],
    ) -> Result<(), VaultError> {
        let flush = self.with(|v| v.stage_pending_material(lock, expected_new, material))?;
        off_the_workers(|| flush.wait())
    }
}

/// Runs a blocking `f` (a wait for the disk) outside the async workers on a
/// multi-threaded runtime, which go on running the other rotations.
fn off_the_workers<R>(f: impl FnOnce() -> R) -> R {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// Writes a batch of queued pending states in one transaction; if the batch
/// fails (one record deleted meanwhile, say), each is written alone so one
/// record's failure is not the others'. Returns each one's result, not yet
/// durable.
fn write_pending(vault: &mut Vault, batch: &[QueuedPending]) -> Vec<Result<Flush, VaultError>> {
    if batch.is_empty() {
        return Vec::new();
    }
    let items: Vec<(&RotationLock, &PendingRotation)> =
        batch.iter().map(|q| (q.lock.as_ref(), &q.state)).collect();
    match vault.stage_pending_rotations(&items) {
        Ok(flush) => {
            let mut results: Vec<Result<Flush, VaultError>> =
                batch.iter().map(|_| Ok(Flush::Done)).collect();
            results[0] = Ok(flush);
            results
        }
        Err(_) => items
            .iter()
            .map(|item| vault.stage_pending_rotations(std::slice::from_ref(item)))
            .collect(),
    }
}

/// Waits for the disk, then tells each waiter whether its pending state is
/// durable (only then may it touch its target).
fn tell_pending_waiters(batch: Vec<QueuedPending>, written: Vec<Result<Flush, VaultError>>) {
    // One sync covers the whole batch, so a failed one fails all of it.
    let mut unsynced: Option<Arc<VaultError>> = None;
    let mut results = Vec::with_capacity(written.len());
    for w in written {
        results.push(w.map(|flush| {
            if let Err(e) = flush.wait() {
                unsynced = Some(Arc::new(e));
            }
        }));
    }
    for (q, result) in batch.into_iter().zip(results) {
        let result = match (result, &unsynced) {
            (Err(e), _) => Err(RotationError::Vault(e)),
            (Ok(()), Some(e)) => Err(RotationError::NotDurable(e.clone())),
            (Ok(()), None) => Ok(()),
        };
        let _ = q.done.send(result);
    }
}
