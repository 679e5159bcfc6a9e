//! The rotation hooks of an unlocked [`Vault`]: a record's pending rotation
//! (stored before the target is touched, completed or cleared after),
//! every write under the record's rotation lock, and the audit log.

use zeroize::Zeroizing;

use super::model::{PendingRotation, PreparedField, Record, now_ms};
use super::records::{editable_row, record_key, update_record_tx};
use super::rotation_lock::{RotationLock, check_held};
use super::store::{AuditRow, PendingRow, StoreTx};
use super::{Flush, Result, Session, Vault, VaultError, ad};

/// The pending state of `uid`, if its new password is `expected_new`.
fn expected_pending(
    tx: &dyn StoreTx,
    s: &Session,
    uid: &str,
    expected_new: &str,
) -> Result<PendingRotation> {
    let pending = tx.pending(uid)?.ok_or_else(|| VaultError::NotFound {
        kind: "pending rotation of record",
        name: uid.to_string(),
    })?;
    let row = s.keyed_row(tx, uid)?;
    let key = record_key(s, &row)?;
    let json = key.open(&pending.data, &ad::pending(uid))?;
    let state: PendingRotation = serde_json::from_slice(&json)
        .map_err(|e| VaultError::Corrupted(format!("pending rotation of {uid}: {e}")))?;
    if state.new_password.as_bytes() != expected_new.as_bytes() {
        return Err(VaultError::Conflict(format!(
            "the pending rotation of record {uid} changed meanwhile (another keeper process?)"
        )));
    }
    Ok(state)
}

impl Vault {
    /// Durably stores a pending rotation on the record `lock` holds
    /// (sealed under the record key) before the target is touched.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`], [`VaultError::Denied`] (no edit right),
    /// [`VaultError::LockLost`].
    pub fn set_pending_rotation(
        &mut self,
        lock: &RotationLock,
        pending: &PendingRotation,
    ) -> Result<()> {
        self.set_pending_rotations(&[(lock, pending)])
    }

    /// [`Vault::set_pending_rotation`] for several records in one
    /// transaction (one wait for the disk): all are stored, or none.
    ///
    /// # Errors
    ///
    /// As [`Vault::set_pending_rotation`], for the first record that fails;
    /// [`VaultError::Conflict`] when a record already has a pending state
    /// (nothing is overwritten).
    pub fn set_pending_rotations(
        &mut self,
        items: &[(&RotationLock, &PendingRotation)],
    ) -> Result<()> {
        self.stage_pending_rotations(items)?.wait()
    }

    /// [`Vault::set_pending_rotations`], committed but not yet durable: the
    /// caller lets go of the vault, then waits with [`Flush::wait`] before
    /// touching any target, so that the wait for the disk does not hold up
    /// other work on the vault (the rotation engine's finishing writes).
    ///
    /// # Errors
    ///
    /// As [`Vault::set_pending_rotations`].
    pub fn stage_pending_rotations(
        &mut self,
        items: &[(&RotationLock, &PendingRotation)],
    ) -> Result<Flush> {
        self.write_then_flush(|tx, s| {
            for &(lock, pending) in items {
                let uid = lock.uid();
                check_held(tx, lock)?;
                if tx.pending(uid)?.is_some() {
                    return Err(VaultError::Conflict(format!(
                        "record {uid} already has a rotation in progress; \
                         `keeper rotate --resume` resolves it"
                    )));
                }
                let row = editable_row(tx, s, uid)?;
                let key = record_key(s, &row)?;
                let json = Zeroizing::new(
                    serde_json::to_vec(pending).map_err(|e| VaultError::Invalid(e.to_string()))?,
                );
                tx.put_pending(&PendingRow {
                    record_uid: uid.to_string(),
                    started: pending.started,
                    data: key.seal(&json, &ad::pending(uid)),
                })?;
            }
            Ok(())
        })
        .map(|((), flush)| flush)
    }

    /// Adds material a rotator's `rotate` returned (credentials the target
    /// generated) to the pending rotation whose new password is
    /// `expected_new`, on the record `lock` holds: a field of the same type
    /// and label replaces the one there, the others are added. Committed
    /// but not yet durable: the caller lets go of the vault, then waits
    /// with [`Flush::wait`] before anything else touches the target.
    ///
    /// # Errors
    ///
    /// As [`Vault::complete_rotation`].
    pub fn stage_pending_material(
        &mut self,
        lock: &RotationLock,
        expected_new: &str,
        material: &[PreparedField],
    ) -> Result<Flush> {
        let uid = lock.uid();
        self.write_then_flush(|tx, s| {
            check_held(tx, lock)?;
            let mut state = expected_pending(tx, s, uid, expected_new)?;
            for field in material {
                state
                    .prepared
                    .retain(|p| p.kind != field.kind || p.label != field.label);
                state.prepared.push(field.clone());
            }
            let row = editable_row(tx, s, uid)?;
            let key = record_key(s, &row)?;
            let json = Zeroizing::new(
                serde_json::to_vec(&state).map_err(|e| VaultError::Invalid(e.to_string()))?,
            );
            tx.put_pending(&PendingRow {
                record_uid: uid.to_string(),
                started: state.started,
                data: key.seal(&json, &ad::pending(uid)),
            })
        })
        .map(|((), flush)| flush)
    }

    /// The pending rotation of a record, if any.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`], [`VaultError::Corrupted`].
    pub fn pending_rotation(&self, uid: &str) -> Result<Option<PendingRotation>> {
        let Some(pending) = self.store.pending(uid)? else {
            return Ok(None);
        };
        let row = self.s.keyed_row(self.store.as_ref(), uid)?;
        let key = record_key(&self.s, &row)?;
        let json = key.open(&pending.data, &ad::pending(uid))?;
        serde_json::from_slice(&json)
            .map(Some)
            .map_err(|e| VaultError::Corrupted(format!("pending rotation of {uid}: {e}")))
    }

    /// Every pending rotation the user can open: `(record uid, state)`.
    ///
    /// # Errors
    ///
    /// As [`Vault::pending_rotation`].
    pub fn pending_rotations(&self) -> Result<Vec<(String, PendingRotation)>> {
        let mut out = Vec::new();
        for row in self.store.pendings(&self.s.tenant_uid)? {
            if let Ok(Some(p)) = self.pending_rotation(&row.record_uid) {
                out.push((row.record_uid, p));
            }
        }
        Ok(out)
    }

    /// Finishes the rotation of the record `lock` holds in one
    /// transaction: the pending new password
    /// becomes current (old one to the history), prepared fields (a new key
    /// pair...) are written, the pending state is cleared and `audit` is
    /// appended.
    ///
    /// The commit does not wait for the disk: the pending state it
    /// replaces was durable, so a power loss that undoes this transaction
    /// leaves the rotation pending, and `rotate --resume` finishes it. One
    /// fsync per rotation instead of two.
    ///
    /// # Errors
    ///
    /// `expected_new` is the new password of the pending state the caller
    /// stored or resumed: a state that changed meanwhile (another process
    /// resolved it and started its own) is left alone.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] when there is no pending rotation,
    /// [`VaultError::Conflict`] when it is not the expected one,
    /// [`VaultError::LockLost`]; as [`Vault::update_record`].
    pub fn complete_rotation(
        &mut self,
        lock: &RotationLock,
        expected_new: &str,
        audit: &AuditRow,
    ) -> Result<Record> {
        let uid = lock.uid();
        self.write_deferred(|tx, s| {
            check_held(tx, lock)?;
            let state = expected_pending(tx, s, uid, expected_new)?;
            let now = now_ms();
            let record = update_record_tx(tx, s, uid, &mut |d| {
                // Prepared material (e.g. a new key pair) replaces the
                // record's field of that type, or is added; never a field
                // only the host sets (a state stored before the rotation
                // contract refused them is not trusted either).
                for field in state.prepared.iter().filter(|f| !f.is_reserved()) {
                    // In place: a labelled custom field (awskey's
                    // `aws_access_key_id`) stays custom, unless a typed
                    // field of that type and label comes first.
                    let (kind, label) = (field.kind.as_str(), field.label.as_deref());
                    let custom = label.is_some()
                        && !d.fields.iter().any(|f| f.matches(kind, label))
                        && d.custom.iter().any(|f| f.matches(kind, label));
                    d.set_field(
                        custom,
                        &field.kind,
                        field.label.as_deref(),
                        field.json_values(),
                        now,
                    );
                }
                // Last, so that nothing a plugin returned picks the password;
                // not at all when the material is what was rotated.
                if !state.keeps_password {
                    d.set_password(&state.new_password, now);
                }
                Ok(())
            })?;
            tx.delete_pending(uid)?;
            tx.insert_audit(&AuditRow {
                tenant_uid: s.tenant_uid.clone(),
                record_uid: uid.to_string(),
                ..audit.clone()
            })?;
            Ok(record)
        })
    }

    /// Clears a pending rotation without changing the password (the old
    /// password was restored), appending `audit` in the same transaction.
    /// Like [`Vault::complete_rotation`], it does not wait for the disk and
    /// only clears the state whose new password is `expected_new`.
    ///
    /// # Errors
    ///
    /// As [`Vault::complete_rotation`].
    pub fn clear_pending_rotation(
        &mut self,
        lock: &RotationLock,
        expected_new: &str,
        audit: Option<&AuditRow>,
    ) -> Result<()> {
        let uid = lock.uid();
        self.write_deferred(|tx, s| {
            check_held(tx, lock)?;
            expected_pending(tx, s, uid, expected_new)?;
            tx.delete_pending(uid)?;
            if let Some(a) = audit {
                tx.insert_audit(&AuditRow {
                    tenant_uid: s.tenant_uid.clone(),
                    record_uid: uid.to_string(),
                    ..a.clone()
                })?;
            }
            Ok(())
        })
    }

    /// Appends an audit entry (never put a secret in it).
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn append_audit(&mut self, entry: &AuditRow) -> Result<()> {
        self.write(|tx, s| {
            tx.insert_audit(&AuditRow {
                tenant_uid: s.tenant_uid.clone(),
                ..entry.clone()
            })
        })
    }

    /// The tenant's audit log, oldest first.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn audit_log(&self) -> Result<Vec<AuditRow>> {
        self.store.audit(&self.s.tenant_uid)
    }
}
