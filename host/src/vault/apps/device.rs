//! Reading as a client device: redeeming a one-time token (the device's
//! key pair is bound to its client row and the token's wrapped key erased,
//! in one transaction) and opening the vault with the device's key to read
//! the records shared with its application. No master password and no
//! Argon2 on this path: the device's X25519 key opens the application's
//! key, which opens the shared record keys.

use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretString};

use crate::vault::crypto::{self, Key, KeyPair};
use crate::vault::model::Record;
use crate::vault::records;
use crate::vault::store::{self, AppClientRow, Location, Store};
use crate::vault::{Result, VaultError, ad, now_ms};

/// What a device keeps to read as its client (a profile holds it).
pub struct DeviceCredentials {
    /// The client id.
    pub client_uid: String,
    /// The device's X25519 secret key.
    pub private_key: Key,
}

impl std::fmt::Debug for DeviceCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCredentials")
            .field("client_uid", &self.client_uid)
            .finish_non_exhaustive()
    }
}

/// A new one-time token: its text and its 32 secret bytes. Neither the
/// token nor the client id it names begins with `-`, which a command line
/// would read as an option (as [`crypto::new_uid`]; < 1 bit of entropy).
pub(super) fn token_parts() -> (SecretString, Key) {
    loop {
        let secret = Key::generate();
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret.expose());
        if !text.starts_with('-') && !client_uid(&secret).starts_with('-') {
            return (SecretString::from(text), secret);
        }
    }
}

/// The client id a token's secret names.
pub(super) fn client_uid(secret: &Key) -> String {
    let digest = crypto::sha256(&[b"keeper/v1/client-id", secret.expose()]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The key a token's secret derives, which wraps the application's key
/// until first use.
pub(super) fn token_key(secret: &Key) -> Key {
    crypto::derive_key(secret.expose(), b"keeper/v1/client-token-key")
}

/// Reads a token's text back into its secret.
fn parse_token(token: &SecretString) -> Result<Key> {
    let text = token.expose_secret().trim();
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| not_a_token())?,
    );
    Key::from_slice(&bytes).map_err(|_| not_a_token())
}

fn not_a_token() -> VaultError {
    VaultError::Invalid(
        "that is not a one-time token from `keeper secrets-manager client add` (43 characters of \
         URL-safe base64)"
            .into(),
    )
}

fn when(ms: i64) -> String {
    crate::vault::model::fields::format_time(ms) + " UTC"
}

/// The vault as one client device sees it: the records shared with its
/// application, nothing else.
pub struct DeviceVault {
    store: Box<dyn Store>,
    app_uid: String,
    app_key: Key,
    pair: KeyPair,
}

impl std::fmt::Debug for DeviceVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceVault")
            .field("app_uid", &self.app_uid)
            .finish_non_exhaustive()
    }
}

impl DeviceVault {
    /// Redeems a one-time token at `location`: generates the device's key
    /// pair, binds its public key to the client and erases the token's
    /// wrapped key, in one transaction. Nothing is written when it fails.
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for text that is not a token;
    /// [`VaultError::Denied`] for a token that is unknown (never issued
    /// here, or its client removed), already used, or expired;
    /// [`VaultError::Corrupted`] when the stored key does not open;
    /// storage and connection errors.
    pub fn redeem(location: &Location, token: &SecretString) -> Result<DeviceCredentials> {
        let creds = Self::prepare(token)?;
        Self::bind(location, token, &creds)?;
        Ok(creds)
    }

    /// The first half of a redeem that survives a crash: the device's new
    /// key pair for the client `token` names, touching no vault (keep it
    /// somewhere private, then [`DeviceVault::bind`] it).
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for text that is not a token.
    pub fn prepare(token: &SecretString) -> Result<DeviceCredentials> {
        let secret = parse_token(token)?;
        Ok(DeviceCredentials {
            client_uid: client_uid(&secret),
            private_key: KeyPair::generate().secret(),
        })
    }

    /// The second half: binds `creds`' public key to the client `token`
    /// names, as [`DeviceVault::redeem`]. A client already bound to that
    /// very key (this bind committed, then the process died before the
    /// profile was saved) is accepted as done.
    ///
    /// # Errors
    ///
    /// As [`DeviceVault::redeem`]; [`VaultError::Invalid`] when `creds`
    /// name another client than the token.
    pub fn bind(
        location: &Location,
        token: &SecretString,
        creds: &DeviceCredentials,
    ) -> Result<()> {
        let secret = parse_token(token)?;
        let uid = client_uid(&secret);
        if uid != creds.client_uid {
            return Err(VaultError::Invalid(format!(
                "the device key prepared is for client {}, the token is for client {uid}",
                creds.client_uid
            )));
        }
        let pair = KeyPair::from_secret(&creds.private_key);
        let mut store = store::open(location)?;
        let now = now_ms();
        store.write(&mut |tx| {
            let mut row = tx.app_client(&uid)?.ok_or_else(|| {
                VaultError::Denied(format!(
                    "this one-time token is not known to the vault at {location}: it was never \
                     issued there, or its client device was removed"
                ))
            })?;
            let used = || {
                VaultError::Denied(format!(
                    "this one-time token was already used (client {uid} is bound to a device); \
                     ask for a new one (`keeper secrets-manager client add`)"
                ))
            };
            match &row.public_key {
                Some(bound) if bound.as_slice() == pair.public().as_slice() => return Ok(()),
                Some(_) => return Err(used()),
                None => {}
            }
            // Checked before the key copy: an expired token's copy may
            // have been erased already.
            if now >= row.token_expires {
                return Err(VaultError::Denied(format!(
                    "this one-time token expired at {}; ask for a new one \
                     (`keeper secrets-manager client add`)",
                    when(row.token_expires)
                )));
            }
            let wrapped = row.token_key.take().ok_or_else(used)?;
            let app_key = token_key(&secret)
                .unwrap_key(
                    &wrapped,
                    &ad::client_token(&uid, &row.app_uid, row.token_expires, row.access_minutes),
                )
                .map_err(|_| {
                    VaultError::Corrupted(format!("the key stored for client {uid} does not open"))
                })?;
            // `--access-expire-in-min` counts from this first use.
            if let Some(minutes) = row.access_minutes {
                row.access_expires = Some(now.saturating_add(minutes.saturating_mul(60_000)));
            }
            let ad = ad::client_app_key(&uid, &row.app_uid, row.access_expires);
            row.owner_token_key = None;
            row.public_key = Some(pair.public().to_vec());
            row.wrapped_app_key = Some(crypto::seal_key_to(&pair.public(), &app_key, &ad));
            row.bound = Some(now);
            tx.put_app_client(&row)
        })
    }

    /// Opens the vault at `location` as the client device `creds` names.
    ///
    /// # Errors
    ///
    /// [`VaultError::Denied`] when the client was removed, its access
    /// ended, or the key is not the one bound to it; storage and
    /// connection errors.
    pub fn open(location: &Location, creds: &DeviceCredentials) -> Result<DeviceVault> {
        let store = store::open(location)?;
        let uid = &creds.client_uid;
        let row = store.app_client(uid)?.ok_or_else(|| {
            VaultError::Denied(format!(
                "client device {uid} was removed from its application, or its application was \
                 removed (or it never existed in the vault at {location}); ask the application's \
                 owner for a new token"
            ))
        })?;
        let app_key = open_app_key(&row, creds)?;
        Ok(DeviceVault {
            store,
            app_uid: row.app_uid,
            app_key,
            pair: KeyPair::from_secret(&creds.private_key),
        })
    }

    /// Every record shared with the application, by title.
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] when a row fails authentication; storage
    /// errors.
    pub fn records(&self) -> Result<Vec<Record>> {
        let holders = [self.app_uid.clone()];
        let mut out = Vec::new();
        for row in self.store.keyed_records(&holders)? {
            let uid = &row.record.uid;
            let ad = ad::record_key_until(uid, &self.app_uid, row.key.expires);
            let key = self
                .app_key
                .unwrap_key(&row.key.wrapped_key, &ad)
                .map_err(|_| {
                    VaultError::Corrupted(format!("record {uid}: its key does not open"))
                })?;
            let data = records::open_record_data(&key, &row.record)?;
            out.push(records::record_of(&row, data));
        }
        out.sort_by(|a, b| a.data.title.cmp(&b.data.title).then(a.uid.cmp(&b.uid)));
        Ok(out)
    }

    /// For tests: the holders of record `record_uid`'s raw key rows (every
    /// row in the store, whatever keeper's reads hand out) that this
    /// device's keys open — its application key or its private key, under
    /// the row's own associated data or the application's.
    #[doc(hidden)]
    pub fn holders_opening(&self, record_uid: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for key in self.store.record_keys(record_uid)? {
            let ads = [
                ad::record_key_until(record_uid, &key.holder_uid, key.expires),
                ad::record_key(record_uid, &self.app_uid),
            ];
            let opens = ads.iter().any(|ad| {
                self.app_key.try_open(&key.wrapped_key, ad).is_some()
                    || self.pair.open_sealed(&key.wrapped_key, ad).is_ok()
            });
            if opens {
                out.push(key.holder_uid);
            }
        }
        Ok(out)
    }

    /// The application this device reads for.
    pub fn app_uid(&self) -> &str {
        &self.app_uid
    }

    /// The record `query` names: its uid, else its title (exactly one).
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`] (also for records not shared with the
    /// application), [`VaultError::Ambiguous`] for a title several carry.
    pub fn record(&self, query: &str) -> Result<Record> {
        let mut all = self.records()?;
        if let Some(i) = all.iter().position(|r| r.uid == query) {
            return Ok(all.swap_remove(i));
        }
        let mut titled: Vec<Record> = all.into_iter().filter(|r| r.data.title == query).collect();
        match titled.len() {
            1 => Ok(titled.remove(0)),
            0 => Err(VaultError::NotFound {
                kind: "record",
                name: format!("{query} (among the records shared with this device's application)"),
            }),
            count => Err(VaultError::Ambiguous {
                kind: "record",
                name: query.to_string(),
                count,
            }),
        }
    }
}

/// The application's key from a client row, for the device `creds`.
fn open_app_key(row: &AppClientRow, creds: &DeviceCredentials) -> Result<Key> {
    let uid = &row.uid;
    if let Some(end) = row.access_expires
        && now_ms() >= end
    {
        return Err(VaultError::Denied(format!(
            "client device {uid}'s access ended at {}; ask the application's owner for a new token",
            when(end)
        )));
    }
    let pair = KeyPair::from_secret(&creds.private_key);
    let (Some(public), Some(wrapped)) = (&row.public_key, &row.wrapped_app_key) else {
        return Err(VaultError::Denied(format!(
            "client device {uid} is not bound to a device yet; initialise it with its one-time token"
        )));
    };
    if public.as_slice() != pair.public().as_slice() {
        return Err(VaultError::Denied(format!(
            "this profile's key is not the one bound to client device {uid}"
        )));
    }
    pair.open_sealed_key(
        wrapped,
        &ad::client_app_key(uid, &row.app_uid, row.access_expires),
    )
    .map_err(|_| {
        VaultError::Corrupted(format!(
            "the application key stored for client device {uid} does not open"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_token_or_client_id_begins_with_a_hyphen() {
        // Without the redraw one in 64 of each would: 2 000 draws would
        // all but surely meet one.
        for _ in 0..2_000 {
            let (text, secret) = token_parts();
            assert!(!text.expose_secret().starts_with('-'));
            assert!(!client_uid(&secret).starts_with('-'));
            assert_eq!(
                parse_token(&text).expect("parses").expose(),
                secret.expose()
            );
        }
    }
}
