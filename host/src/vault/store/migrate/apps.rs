//! `store migrate` for Secrets Manager applications and their client
//! devices: read, counted, hashed and written like the vault's own rows
//! (see the parent module).

use crate::vault::error::Result;
use crate::vault::store::{AppClientRow, AppRow, StoreRead, StoreTx, TenantRow};

/// Every application and client row of a vault.
#[derive(Default)]
pub(super) struct Apps {
    apps: Vec<AppRow>,
    clients: Vec<AppClientRow>,
}

impl Apps {
    /// Reads them for `tenants`, in a canonical order.
    pub(super) fn read(store: &dyn StoreRead, tenants: &[TenantRow]) -> Result<Self> {
        let mut s = Apps::default();
        for t in tenants {
            s.apps.extend(store.apps(&t.uid)?);
            s.clients.extend(store.app_clients(&t.uid)?);
        }
        s.apps.sort_by(|a, b| a.uid.cmp(&b.uid));
        s.clients.sort_by(|a, b| a.uid.cmp(&b.uid));
        Ok(s)
    }

    /// Rows per table, in [`crate::vault::store::TABLES`] order (last).
    pub(super) fn counts(&self) -> Vec<(&'static str, i64)> {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            ("apps", n(self.apps.len())),
            ("app_clients", n(self.clients.len())),
        ]
    }

    /// Feeds every row to `put` (the parent's checksum).
    pub(super) fn hash(&self, put: &mut dyn FnMut(&[&[u8]])) {
        let i = |v: i64| v.to_le_bytes().to_vec();
        let oi = |v: Option<i64>| v.map_or(b"\xff".to_vec(), i);
        let ob = |v: &Option<Vec<u8>>| v.clone().unwrap_or_else(|| b"\xff".to_vec());
        for a in &self.apps {
            put(&[
                b"app",
                a.uid.as_bytes(),
                a.tenant_uid.as_bytes(),
                a.owner_uid.as_bytes(),
                a.name.as_bytes(),
                &a.wrapped_key,
                &i(a.created),
            ]);
        }
        for c in &self.clients {
            put(&[
                b"app_client",
                c.uid.as_bytes(),
                c.app_uid.as_bytes(),
                c.tenant_uid.as_bytes(),
                &i(c.created),
                &i(c.token_expires),
                &oi(c.access_expires),
                &[u8::from(c.unlock_ip)],
                &ob(&c.token_key),
                &ob(&c.public_key),
                &ob(&c.wrapped_app_key),
                &oi(c.bound),
                &oi(c.access_minutes),
                &ob(&c.owner_token_key),
            ]);
        }
    }

    /// Writes every row into the new vault.
    pub(super) fn write(&self, tx: &mut dyn StoreTx) -> Result<()> {
        for a in &self.apps {
            tx.insert_app(a)?;
        }
        for c in &self.clients {
            tx.put_app_client(c)?;
        }
        Ok(())
    }
}
