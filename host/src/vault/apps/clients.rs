//! Client devices of an application, vault side: `secrets-manager client
//! add | list | remove`. A client is issued as a one-time token: 32 random
//! bytes whose hash names the client row and whose HKDF-derived key wraps
//! the application's key until the device's first use (`device.rs`), when
//! the device's own key pair replaces it. `--config-init` binds a fresh key
//! pair at once and hands back the whole device configuration instead.
//! Removing a client re-keys the application (`rekey.rs`).

use secrecy::SecretString;

use super::device::{DeviceCredentials, token_key, token_parts};
use super::own_app;
use crate::vault::crypto::{self, KeyPair};
use crate::vault::store::AppClientRow;
use crate::vault::{Result, Vault, VaultError, ad, now_ms};

/// How long a token may wait for its first use by default (Commander: 60 min).
pub const DEFAULT_FIRST_ACCESS_MINUTES: i64 = 60;

/// `client add`'s options.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Minutes the token may wait for its first use.
    pub first_access_minutes: i64,
    /// Minutes the device may read, counted from its first use (when its
    /// token is redeemed; at once with `--config-init`); `None`: no end.
    pub access_minutes: Option<i64>,
    /// Commander's `--unlock-ip` (recorded and shown).
    pub unlock_ip: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            first_access_minutes: DEFAULT_FIRST_ACCESS_MINUTES,
            access_minutes: None,
            unlock_ip: false,
        }
    }
}

/// A client just issued.
pub struct IssuedClient {
    /// Its row as stored.
    pub info: ClientInfo,
    /// The one-time token (`None` when the client was bound at once).
    pub token: Option<SecretString>,
    /// The device's credentials when bound at once (`--config-init`).
    pub bound: Option<DeviceCredentials>,
}

impl std::fmt::Debug for IssuedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedClient")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// What `client remove` did.
#[derive(Debug, Clone)]
pub struct RemovedClient {
    /// The client removed.
    pub info: ClientInfo,
    /// What re-keying the application changed.
    pub rekeyed: super::rekey::Rekeyed,
}

/// A client device as `client list` shows it (nothing secret).
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// Client id.
    pub uid: String,
    /// Its application's name.
    pub app: String,
    /// Issued, epoch ms.
    pub created: i64,
    /// The token's deadline for first use, epoch ms.
    pub token_expires: i64,
    /// When the device's access ends, epoch ms (`None`: never, or not
    /// fixed until first use: see `access_minutes`).
    pub access_expires: Option<i64>,
    /// Minutes of access counted from first use (`--access-expire-in-min`).
    pub access_minutes: Option<i64>,
    /// `--unlock-ip`.
    pub unlock_ip: bool,
    /// When a device bound it (first use of the token).
    pub bound: Option<i64>,
}

impl ClientInfo {
    fn of(row: &AppClientRow, app: &str) -> Self {
        Self {
            uid: row.uid.clone(),
            app: app.to_string(),
            created: row.created,
            token_expires: row.token_expires,
            access_expires: row.access_expires,
            access_minutes: row.access_minutes,
            unlock_ip: row.unlock_ip,
            bound: row.bound,
        }
    }
}

/// Minutes from now as epoch ms, refusing nonsense.
fn minutes_from(now: i64, minutes: i64, what: &str) -> Result<i64> {
    if minutes <= 0 || minutes > 60 * 24 * 365 * 100 {
        return Err(VaultError::Invalid(format!(
            "{what} must be a positive number of minutes (at most 100 years), not {minutes}"
        )));
    }
    Ok(now.saturating_add(minutes.saturating_mul(60_000)))
}

impl Vault {
    /// Issues a client device of application `app`: a one-time token, or
    /// with `bind_now` a device key pair bound at once (`--config-init`).
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for bad durations; [`VaultError::NotFound`] /
    /// [`VaultError::Denied`] for an unknown or foreign application;
    /// storage errors.
    pub fn add_client(
        &mut self,
        app: &str,
        options: &ClientOptions,
        bind_now: bool,
    ) -> Result<IssuedClient> {
        let now = now_ms();
        let token_expires = minutes_from(now, options.first_access_minutes, "the first access")?;
        // Counted from the device's first use (Commander's meaning): fixed
        // now only when the device is bound now.
        let access_minutes = options.access_minutes;
        let bound_end = access_minutes
            .map(|m| minutes_from(now, m, "the access time"))
            .transpose()?;
        let (token, secret) = token_parts();
        let uid = super::device::client_uid(&secret);
        let pair = bind_now.then(KeyPair::generate);
        self.write(|tx, s| {
            tx.erase_expired_tokens(&s.tenant_uid, now)?;
            let (app, app_key) = own_app(&*tx, s, app)?;
            let mut row = AppClientRow {
                uid: uid.clone(),
                app_uid: app.uid.clone(),
                tenant_uid: s.tenant_uid.clone(),
                created: now,
                token_expires,
                access_expires: None,
                access_minutes,
                unlock_ip: options.unlock_ip,
                token_key: None,
                owner_token_key: None,
                public_key: None,
                wrapped_app_key: None,
                bound: None,
            };
            match &pair {
                Some(pair) => {
                    let ad = ad::client_app_key(&uid, &app.uid, bound_end);
                    row.access_expires = bound_end;
                    row.public_key = Some(pair.public().to_vec());
                    row.wrapped_app_key = Some(crypto::seal_key_to(&pair.public(), &app_key, &ad));
                    row.bound = Some(now);
                }
                None => {
                    let ad = ad::client_token(&uid, &app.uid, token_expires, access_minutes);
                    let key = token_key(&secret);
                    row.token_key = Some(key.wrap(&app_key, &ad));
                    let owner_ad = ad::client_token_key(&uid, &app.uid, &app.owner_uid);
                    row.owner_token_key = Some(s.ring.data_key.wrap(&key, &owner_ad));
                }
            }
            tx.put_app_client(&row)?;
            Ok(IssuedClient {
                info: ClientInfo::of(&row, &app.name),
                token: None,
                bound: None,
            })
        })
        .map(|mut issued| {
            match pair {
                Some(pair) => {
                    issued.bound = Some(DeviceCredentials {
                        client_uid: uid.clone(),
                        private_key: pair.secret(),
                    });
                }
                None => issued.token = Some(token),
            }
            issued
        })
    }

    /// Client devices of the current user's applications (of `app` only,
    /// when given), oldest first.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] / [`VaultError::Denied`] for `app`;
    /// storage errors.
    pub fn app_clients(&self, app: Option<&str>) -> Result<Vec<ClientInfo>> {
        let store = self.store.as_ref();
        let only = app.map(|a| own_app(store, &self.s, a)).transpose()?;
        let apps: Vec<_> = store
            .apps(&self.s.tenant_uid)?
            .into_iter()
            .filter(|a| a.owner_uid == self.s.user_uid)
            .filter(|a| only.as_ref().is_none_or(|(o, _)| o.uid == a.uid))
            .collect();
        Ok(store
            .app_clients(&self.s.tenant_uid)?
            .iter()
            .filter_map(|c| {
                let app = apps.iter().find(|a| a.uid == c.app_uid)?;
                Some(ClientInfo::of(c, &app.name))
            })
            .collect())
    }

    /// Removes client device `client` (its id, or a unique prefix of at
    /// least 8 characters) of application `app` and re-keys the
    /// application, in one transaction: a new application key wraps the
    /// shared record keys (the old wrapped rows replaced) and is sealed to
    /// each remaining device and wrapped for each waiting token, so the
    /// removed device's keys open nothing in the store any more.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] / [`VaultError::Ambiguous`] for the client;
    /// [`VaultError::Denied`] for someone else's application;
    /// [`VaultError::Corrupted`] when a stored key does not open; storage
    /// errors.
    pub fn remove_client(&mut self, app: &str, client: &str) -> Result<RemovedClient> {
        let client = client.trim();
        let now = now_ms();
        let removed = self.write(|tx, s| {
            tx.erase_expired_tokens(&s.tenant_uid, now)?;
            let (app, old_key) = own_app(&*tx, s, app)?;
            let mut matching: Vec<AppClientRow> = tx
                .app_clients(&s.tenant_uid)?
                .into_iter()
                .filter(|c| c.app_uid == app.uid)
                .filter(|c| c.uid == client || (client.len() >= 8 && c.uid.starts_with(client)))
                .collect();
            let row = match matching.len() {
                0 => {
                    return Err(VaultError::NotFound {
                        kind: "client device",
                        name: format!("{client} of application {}", app.name),
                    });
                }
                1 => matching.remove(0),
                count => {
                    return Err(VaultError::Ambiguous {
                        kind: "client device",
                        name: client.to_string(),
                        count,
                    });
                }
            };
            tx.delete_app_client(&row.uid)?;
            let rekeyed = super::rekey::rekey(tx, s, &app, &old_key, now)?;
            Ok(RemovedClient {
                info: ClientInfo::of(&row, &app.name),
                rekeyed,
            })
        })?;
        self.store.erase_freed()?;
        Ok(removed)
    }
}
