//! Secrets Manager applications, vault side: `secrets-manager app create |
//! list | share | unshare`. An application is a holder of record keys for
//! machines: its key (wrapped under its owner's data key) wraps the keys
//! of exactly the records shared with it, one `record_keys` row per record
//! whose holder is the application's uid. Client devices (one-time tokens,
//! binding, removal) are `clients.rs`; re-keying on removal is `rekey.rs`;
//! reading as a device is `device.rs`.
//!
//! ```text
//! owner's data key ─opens→ app key        (AD: app | owner)
//! app key ─opens→ record keys shared with the app (AD: record | app)
//! token secret ─HKDF→ token key ─opens→ app key, once (AD: client | app | token end)
//! device X25519 secret ─opens→ app key    (AD: client | app | access end)
//! ```

mod clients;
mod device;
mod rekey;

pub use clients::{ClientInfo, ClientOptions};
pub use device::{DeviceCredentials, DeviceVault};

use super::crypto::{self, Key};
use super::store::{AppRow, RecordKeyRow, StoreRead};
use super::{Result, Session, Vault, VaultError, ad, now_ms};

/// An application as `app list` shows it.
#[derive(Debug, Clone)]
pub struct AppInfo {
    /// Application uid.
    pub uid: String,
    /// Name.
    pub name: String,
    /// Created, epoch ms.
    pub created: i64,
    /// Records shared with it.
    pub records: usize,
    /// Of those, how many it may edit.
    pub editable: usize,
    /// Client devices (bound or waiting for their token).
    pub clients: usize,
}

/// What `app share` / `app unshare` changed.
#[derive(Debug, Clone, Default)]
pub struct AppShareOutcome {
    /// Records newly shared, changed (edit right) or unshared.
    pub changed: Vec<String>,
    /// Records left as they were (already so), with why.
    pub unchanged: Vec<String>,
}

/// The application `name` (its name or uid) of the current user, with its key.
fn own_app(store: &dyn StoreRead, s: &Session, name: &str) -> Result<(AppRow, Key)> {
    let wanted = name.trim();
    let app = store
        .apps(&s.tenant_uid)?
        .into_iter()
        .find(|a| a.uid == wanted || a.name == wanted)
        .ok_or_else(|| VaultError::NotFound {
            kind: "application",
            name: wanted.to_string(),
        })?;
    if app.owner_uid != s.user_uid {
        return Err(VaultError::Denied(format!(
            "application {} belongs to another user; only its owner manages it",
            app.name
        )));
    }
    let key = s
        .ring
        .data_key
        .unwrap_key(&app.wrapped_key, &ad::app_key(&app.uid, &app.owner_uid))?;
    Ok((app, key))
}

impl Vault {
    /// Creates a Secrets Manager application owned by the current user.
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for an empty name, or the name of an
    /// application of a user moving into the tenant; [`VaultError::Exists`]
    /// when the tenant has an application of that name; storage errors.
    pub fn create_app(&mut self, name: &str) -> Result<AppInfo> {
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(VaultError::Invalid(
                "an application needs a name (no control characters)".into(),
            ));
        }
        let uid = crypto::new_uid();
        let key = Key::generate();
        let row = AppRow {
            wrapped_key: self
                .s
                .ring
                .data_key
                .wrap(&key, &ad::app_key(&uid, &self.s.user_uid)),
            uid,
            tenant_uid: self.s.tenant_uid.clone(),
            owner_uid: self.s.user_uid.clone(),
            name: name.to_string(),
            created: now_ms(),
        };
        self.write(|tx, s| {
            // A user moving into this tenant (a managed company) with an
            // application of that name would be kept from moving.
            for mover in crate::vault::tenant_move::moving_into(&*tx, &s.tenant_uid)? {
                if tx
                    .apps(&mover.tenant_uid)?
                    .iter()
                    .any(|a| a.owner_uid == mover.uid && a.name == row.name)
                {
                    return Err(VaultError::Invalid(format!(
                        "{} is moving into this company (msp-convert-node) with an application \
                         named \"{}\"; another of that name cannot be added",
                        crate::runtime::text::escaped(&mover.email),
                        crate::runtime::text::escaped(&row.name)
                    )));
                }
            }
            tx.erase_expired_tokens(&s.tenant_uid, row.created)?;
            tx.insert_app(&row)
        })?;
        Ok(AppInfo {
            uid: row.uid,
            name: row.name,
            created: row.created,
            records: 0,
            editable: 0,
            clients: 0,
        })
    }

    /// The current user's applications, by name.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn apps(&self) -> Result<Vec<AppInfo>> {
        let store = self.store.as_ref();
        let clients = store.app_clients(&self.s.tenant_uid)?;
        let mut out = Vec::new();
        for app in store.apps(&self.s.tenant_uid)? {
            if app.owner_uid != self.s.user_uid {
                continue;
            }
            let keys = store.keyed_records(std::slice::from_ref(&app.uid))?;
            out.push(AppInfo {
                records: keys.len(),
                editable: keys.iter().filter(|k| k.key.can_edit).count(),
                clients: clients.iter().filter(|c| c.app_uid == app.uid).count(),
                uid: app.uid,
                name: app.name,
                created: app.created,
            });
        }
        Ok(out)
    }

    /// Shares `records` (uids) with application `app`: each record's key
    /// wrapped under the application's key, with the edit right when
    /// `editable`. Needs the re-share right on each record (or owning it).
    /// One transaction: all or nothing.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] for an unknown application or record;
    /// [`VaultError::Denied`] for someone else's application or a record
    /// the user may not share; storage errors.
    pub fn share_with_app(
        &mut self,
        app: &str,
        records: &[String],
        editable: bool,
    ) -> Result<AppShareOutcome> {
        self.write(|tx, s| {
            tx.erase_expired_tokens(&s.tenant_uid, now_ms())?;
            let (app, app_key) = own_app(&*tx, s, app)?;
            let mut out = AppShareOutcome::default();
            for uid in records {
                let row = s.keyed_row(&*tx, uid)?;
                if row.record.owner_uid != s.user_uid && !row.key.can_share {
                    return Err(VaultError::Denied(format!(
                        "you may not share record {uid} (it was shared with you without re-share permission)"
                    )));
                }
                let current = tx
                    .record_keys(uid)?
                    .into_iter()
                    .find(|k| k.holder_uid == app.uid);
                // The application gets no more than the sharer holds: edit
                // only when they may edit, and their share's end.
                let owner = row.record.owner_uid == s.user_uid;
                let can_edit = editable && (owner || row.key.can_edit);
                let expires = row.key.expires;
                if current
                    .as_ref()
                    .is_some_and(|k| k.can_edit == can_edit && k.expires == expires)
                {
                    out.unchanged.push(uid.clone());
                    continue;
                }
                let key = super::records::record_key(s, &row)?;
                tx.put_record_key(&RecordKeyRow {
                    record_uid: uid.clone(),
                    holder_uid: app.uid.clone(),
                    wrapped_key: app_key.wrap(&key, &ad::record_key_until(uid, &app.uid, expires)),
                    can_edit,
                    can_share: false,
                    expires,
                })?;
                out.changed.push(uid.clone());
            }
            Ok(out)
        })
    }

    /// Stops sharing `records` (uids) with application `app`: their key
    /// rows for it are deleted. Records it does not hold are reported as
    /// unchanged.
    ///
    /// # Errors
    ///
    /// As [`Vault::share_with_app`].
    pub fn unshare_from_app(&mut self, app: &str, records: &[String]) -> Result<AppShareOutcome> {
        let out = self.write(|tx, s| {
            tx.erase_expired_tokens(&s.tenant_uid, now_ms())?;
            let (app, _) = own_app(&*tx, s, app)?;
            let mut out = AppShareOutcome::default();
            for uid in records {
                let held = tx.record_keys(uid)?.iter().any(|k| k.holder_uid == app.uid);
                if held {
                    tx.delete_record_key(uid, &app.uid)?;
                    out.changed.push(uid.clone());
                } else {
                    out.unchanged.push(uid.clone());
                }
            }
            Ok(out)
        })?;
        self.store.erase_freed()?;
        Ok(out)
    }

    /// Removes application `app` (its name or uid) with its client devices
    /// and its record key rows, in one transaction: its devices are
    /// refused from then on and its tokens open nothing.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] / [`VaultError::Denied`] for an unknown
    /// or foreign application; storage errors.
    pub fn remove_app(&mut self, app: &str) -> Result<AppInfo> {
        let removed = self.write(|tx, s| {
            tx.erase_expired_tokens(&s.tenant_uid, now_ms())?;
            let (app, _) = own_app(&*tx, s, app)?;
            let keys = tx.app_record_keys(&app.uid)?;
            let clients = tx
                .app_clients(&s.tenant_uid)?
                .iter()
                .filter(|c| c.app_uid == app.uid)
                .count();
            tx.delete_app(&app.uid)?;
            Ok(AppInfo {
                records: keys.len(),
                editable: keys.iter().filter(|k| k.can_edit).count(),
                clients,
                uid: app.uid,
                name: app.name,
                created: app.created,
            })
        })?;
        self.store.erase_freed()?;
        Ok(removed)
    }
}
