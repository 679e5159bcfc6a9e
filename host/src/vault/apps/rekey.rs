//! Re-keying an application when one of its client devices is removed:
//! a new application key replaces the old one everywhere the store holds
//! it, inside the caller's transaction, so that the removed device's keys
//! (its X25519 secret, and the old application key it could open with
//! it) open nothing the store holds afterwards.
//!
//! ```text
//! owner's data key  ─wraps→ new app key          (apps.wrapped_key)
//! new app key       ─wraps→ every record key it holds (record_keys rows
//!                           of the application, ended shares included)
//! remaining device  ←seals─ new app key          (app_clients.wrapped_app_key)
//! waiting token key ─wraps→ new app key          (app_clients.token_key; the
//!                           token key itself comes from owner_token_key)
//! ```
//!
//! A token issued before schema 6 has no owner's copy of its key, so the
//! new application key cannot be wrapped for it: it is revoked (its row
//! deleted) and counted. A device whose access has ended gets no copy
//! either: its row is deleted (it is refused from then on) and counted.

use super::RecordKeyRow;
use crate::vault::crypto::{self, Key};
use crate::vault::store::{AppRow, StoreTx};
use crate::vault::{Result, Session, VaultError, ad};

/// What re-keying changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Record key rows re-wrapped under the new key.
    pub records: usize,
    /// Bound devices whose copy was sealed anew.
    pub devices: usize,
    /// Waiting tokens whose copy was wrapped anew.
    pub tokens: usize,
    /// Waiting tokens from before schema 6, revoked (no owner's copy of
    /// their key to wrap the new application key with).
    pub revoked: usize,
    /// Bound devices whose access had ended, removed instead of re-sealed.
    pub ended: usize,
}

fn does_not_open(what: String) -> VaultError {
    VaultError::Corrupted(format!("{what}: its key does not open"))
}

/// Gives application `app` (whose current key is `old_key`; the session
/// owns it) a new key, in `tx`; `now` (epoch ms) decides whose access has
/// ended.
///
/// # Errors
///
/// [`VaultError::Corrupted`] when a stored key does not open with the
/// key it should; storage errors.
pub(super) fn rekey(
    tx: &mut dyn StoreTx,
    s: &Session,
    app: &AppRow,
    old_key: &Key,
    now: i64,
) -> Result<Rekeyed> {
    let mut done = Rekeyed::default();
    let new_key = Key::generate();
    let app_ad = ad::app_key(&app.uid, &app.owner_uid);
    tx.update_app_key(&app.uid, &s.ring.data_key.wrap(&new_key, &app_ad))?;
    for row in tx.app_record_keys(&app.uid)? {
        let ad = ad::record_key_until(&row.record_uid, &app.uid, row.expires);
        let record_key = old_key
            .unwrap_key(&row.wrapped_key, &ad)
            .map_err(|_| does_not_open(format!("record {}", row.record_uid)))?;
        tx.put_record_key(&RecordKeyRow {
            wrapped_key: new_key.wrap(&record_key, &ad),
            ..row
        })?;
        done.records += 1;
    }
    let clients: Vec<_> = tx
        .app_clients(&s.tenant_uid)?
        .into_iter()
        .filter(|c| c.app_uid == app.uid)
        .collect();
    for mut c in clients {
        if c.public_key.is_some() && c.access_expires.is_some_and(|end| end <= now) {
            tx.delete_app_client(&c.uid)?;
            done.ended += 1;
            continue;
        }
        if let Some(public) = &c.public_key {
            let public: [u8; 32] = public
                .as_slice()
                .try_into()
                .map_err(|_| does_not_open(format!("client device {}", c.uid)))?;
            let ad = ad::client_app_key(&c.uid, &app.uid, c.access_expires);
            c.wrapped_app_key = Some(crypto::seal_key_to(&public, &new_key, &ad));
            done.devices += 1;
        } else if let Some(owner_copy) = &c.owner_token_key {
            let owner_ad = ad::client_token_key(&c.uid, &app.uid, &app.owner_uid);
            let token_key = s
                .ring
                .data_key
                .unwrap_key(owner_copy, &owner_ad)
                .map_err(|_| does_not_open(format!("the token of client {}", c.uid)))?;
            let ad = ad::client_token(&c.uid, &app.uid, c.token_expires, c.access_minutes);
            c.token_key = Some(token_key.wrap(&new_key, &ad));
            done.tokens += 1;
        } else {
            if c.token_key.is_some() {
                tx.delete_app_client(&c.uid)?;
                done.revoked += 1;
            }
            continue;
        }
        tx.put_app_client(&c)?;
    }
    Ok(done)
}
