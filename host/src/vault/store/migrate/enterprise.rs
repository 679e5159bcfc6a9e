//! `store migrate` for the enterprise tables: read, counted, hashed and
//! written like the vault's own rows (see the parent module).

use crate::vault::error::Result;
use crate::vault::store::enterprise::{
    BillingEventRow, EnterpriseAdminRow, EnterpriseKind, EnterpriseRow, ManagedCompanyRow,
    MspLicencesRow, NodeRow, PricesRow,
};
use crate::vault::store::{StoreRead, StoreTx};

/// Every enterprise row of a vault.
#[derive(Default)]
pub(super) struct Enterprises {
    enterprises: Vec<EnterpriseRow>,
    admins: Vec<EnterpriseAdminRow>,
    nodes: Vec<NodeRow>,
    licences: Vec<MspLicencesRow>,
    companies: Vec<ManagedCompanyRow>,
    ledger: Vec<BillingEventRow>,
    prices: Vec<PricesRow>,
}

impl Enterprises {
    /// Reads them, in a canonical order.
    pub(super) fn read(store: &dyn StoreRead) -> Result<Self> {
        let mut s = Enterprises {
            enterprises: store.enterprises()?,
            ..Enterprises::default()
        };
        for e in &s.enterprises {
            s.admins.extend(store.enterprise_admins(&e.tenant_uid)?);
            s.nodes.extend(store.enterprise_nodes(&e.tenant_uid)?);
            if e.kind == EnterpriseKind::Msp {
                s.licences.extend(store.msp_licences(&e.tenant_uid)?);
                s.companies.extend(store.managed_companies(&e.tenant_uid)?);
                s.ledger.extend(store.billing_events(&e.tenant_uid)?);
                s.prices.extend(store.msp_prices(&e.tenant_uid)?);
            }
        }
        s.companies.sort_by_key(|c| c.enterprise_id);
        for l in &mut s.licences {
            l.pools.sort_by(|a, b| a.plan.cmp(&b.plan));
        }
        Ok(s)
    }

    /// Rows per table, in [`crate::vault::store::TABLES`] order (after
    /// the vault's own).
    pub(super) fn counts(&self) -> Vec<(&'static str, i64)> {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            ("enterprises", n(self.enterprises.len())),
            ("enterprise_admins", n(self.admins.len())),
            ("enterprise_nodes", n(self.nodes.len())),
            ("msp_permits", n(self.licences.len())),
            (
                "msp_pools",
                n(self.licences.iter().map(|l| l.pools.len()).sum()),
            ),
            ("managed_companies", n(self.companies.len())),
            (
                "mc_addons",
                n(self.companies.iter().map(|c| c.addons.len()).sum()),
            ),
            ("billing_events", n(self.ledger.len())),
            ("msp_prices", n(self.prices.len())),
        ]
    }

    /// Feeds every row to `put` (the parent's checksum).
    pub(super) fn hash(&self, put: &mut dyn FnMut(&[&[u8]])) {
        let i = |v: i64| v.to_le_bytes();
        let o = |v: &Option<String>| {
            v.as_deref()
                .map_or(b"\xff".to_vec(), |s| s.as_bytes().to_vec())
        };
        for e in &self.enterprises {
            put(&[
                b"enterprise",
                e.tenant_uid.as_bytes(),
                &i(e.enterprise_id),
                e.kind.as_str().as_bytes(),
                &o(&e.parent_uid),
                &i(e.created),
            ]);
        }
        for a in &self.admins {
            put(&[
                b"admin",
                a.tenant_uid.as_bytes(),
                a.user_uid.as_bytes(),
                &a.wrapped_tree_key,
            ]);
        }
        for n in &self.nodes {
            put(&[
                b"node",
                &i(n.node_id),
                n.tenant_uid.as_bytes(),
                &n.parent_id.map_or(b"\xff".to_vec(), |p| i(p).to_vec()),
                &n.data,
            ]);
        }
        for l in &self.licences {
            let p = &l.permits;
            put(&[
                b"permits",
                l.msp_uid.as_bytes(),
                &[u8::from(p.restricted), u8::from(p.allow_unlimited)],
                p.allowed_products.join(",").as_bytes(),
                p.allowed_addons.join(",").as_bytes(),
                &o(&p.max_file_plan),
            ]);
            for pool in &l.pools {
                put(&[
                    b"pool",
                    l.msp_uid.as_bytes(),
                    pool.plan.as_bytes(),
                    &i(pool.total),
                    &i(pool.stash),
                ]);
            }
        }
        for c in &self.companies {
            put(&[
                b"company",
                c.tenant_uid.as_bytes(),
                c.msp_uid.as_bytes(),
                &i(c.node_id),
                c.plan.as_bytes(),
                &i(c.seats),
                &o(&c.file_plan),
                &[u8::from(c.paused)],
                &c.wrapped_tree_key,
                &c.data,
            ]);
            for a in &c.addons {
                put(&[
                    b"addon",
                    c.tenant_uid.as_bytes(),
                    a.addon.as_bytes(),
                    &i(a.seats),
                ]);
            }
        }
        for b in &self.ledger {
            put(&[
                b"billing",
                b.msp_uid.as_bytes(),
                &i(b.mc_id),
                &i(b.at),
                b.change.as_bytes(),
                b.product.as_bytes(),
                &i(b.licences),
                b.company.as_bytes(),
            ]);
        }
        for p in &self.prices {
            put(&[b"prices", p.msp_uid.as_bytes(), p.prices.as_bytes()]);
        }
    }

    /// Writes them (after the tenants and users they belong to).
    pub(super) fn write(&self, tx: &mut dyn StoreTx) -> Result<()> {
        for e in &self.enterprises {
            tx.insert_enterprise(e)?;
        }
        for a in &self.admins {
            tx.put_enterprise_admin(a)?;
        }
        for n in &self.nodes {
            tx.insert_enterprise_node(n)?;
        }
        for l in &self.licences {
            tx.put_msp_licences(l)?;
        }
        for c in &self.companies {
            tx.put_managed_company(c)?;
        }
        for b in &self.ledger {
            tx.insert_billing_event(b)?;
        }
        for p in &self.prices {
            tx.put_msp_prices(p)?;
        }
        Ok(())
    }
}
