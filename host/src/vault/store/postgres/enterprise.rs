//! The enterprise tables in the PostgreSQL backend (`store/enterprise.rs`).

use std::collections::HashMap;

use tokio_postgres::Row;

use super::PgStore;
use super::conn::Db;
use crate::vault::error::{Result, VaultError};
use crate::vault::store::enterprise::{
    AddonRow, BILLING_COLS, BillingEventRow, DELETE_TENANT, EnterpriseAdminRow, EnterpriseKind,
    EnterpriseRead, EnterpriseRow, EnterpriseTx, ManagedCompanyRow, MspLicencesRow,
    NEXT_ENTERPRISE_ID, NodeRow, PermitsRow, PoolRow, PricesRow, join_list, split_list,
};

const ENTERPRISE_COLS: &str = "tenant_uid, enterprise_id, kind, parent_uid, created";

fn enterprise_row(r: &Row) -> Result<EnterpriseRow> {
    let kind: String = r.get(2);
    Ok(EnterpriseRow {
        tenant_uid: r.get(0),
        enterprise_id: r.get(1),
        kind: EnterpriseKind::parse(&kind)
            .ok_or_else(|| VaultError::Corrupted(format!("unknown enterprise kind {kind:?}")))?,
        parent_uid: r.get(3),
        created: r.get(4),
    })
}

impl EnterpriseRead for Db<'_, '_> {
    fn enterprise(&self, tenant_uid: &str) -> Result<Option<EnterpriseRow>> {
        self.query_opt(
            &format!("SELECT {ENTERPRISE_COLS} FROM enterprises WHERE tenant_uid = $1"),
            &[&tenant_uid],
        )?
        .as_ref()
        .map(enterprise_row)
        .transpose()
    }

    fn enterprises(&self) -> Result<Vec<EnterpriseRow>> {
        self.query(
            &format!("SELECT {ENTERPRISE_COLS} FROM enterprises ORDER BY enterprise_id"),
            &[],
        )?
        .iter()
        .map(enterprise_row)
        .collect()
    }

    fn next_enterprise_id(&self) -> Result<i64> {
        Ok(self
            .query_opt(NEXT_ENTERPRISE_ID, &[])?
            .map_or(1, |r| r.get(0)))
    }

    fn enterprise_admins(&self, tenant_uid: &str) -> Result<Vec<EnterpriseAdminRow>> {
        Ok(self
            .query(
                "SELECT tenant_uid, user_uid, wrapped_tree_key FROM enterprise_admins \
                 WHERE tenant_uid = $1 ORDER BY user_uid",
                &[&tenant_uid],
            )?
            .iter()
            .map(|r| EnterpriseAdminRow {
                tenant_uid: r.get(0),
                user_uid: r.get(1),
                wrapped_tree_key: r.get(2),
            })
            .collect())
    }

    fn enterprise_nodes(&self, tenant_uid: &str) -> Result<Vec<NodeRow>> {
        Ok(self
            .query(
                "SELECT node_id, tenant_uid, parent_id, data FROM enterprise_nodes \
                 WHERE tenant_uid = $1 ORDER BY node_id",
                &[&tenant_uid],
            )?
            .iter()
            .map(|r| NodeRow {
                node_id: r.get(0),
                tenant_uid: r.get(1),
                parent_id: r.get(2),
                data: r.get(3),
            })
            .collect())
    }

    fn msp_licences(&self, msp_uid: &str) -> Result<Option<MspLicencesRow>> {
        let Some(p) = self.query_opt(
            "SELECT restricted, allow_unlimited, allowed_products, allowed_addons, max_file_plan \
             FROM msp_permits WHERE msp_uid = $1",
            &[&msp_uid],
        )?
        else {
            return Ok(None);
        };
        let permits = PermitsRow {
            restricted: p.get(0),
            allow_unlimited: p.get(1),
            allowed_products: split_list(p.get(2)),
            allowed_addons: split_list(p.get(3)),
            max_file_plan: p.get(4),
        };
        let pools = self
            .query(
                "SELECT plan, total, stash FROM msp_pools WHERE msp_uid = $1 ORDER BY plan",
                &[&msp_uid],
            )?
            .iter()
            .map(|r| PoolRow {
                plan: r.get(0),
                total: r.get(1),
                stash: r.get(2),
            })
            .collect();
        Ok(Some(MspLicencesRow {
            msp_uid: msp_uid.to_string(),
            pools,
            permits,
        }))
    }

    fn managed_companies(&self, msp_uid: &str) -> Result<Vec<ManagedCompanyRow>> {
        let mut companies: Vec<ManagedCompanyRow> = self
            .query(
                "SELECT m.tenant_uid, m.msp_uid, e.enterprise_id, t.name, m.node_id, m.plan, m.seats, \
                 m.file_plan, m.paused, m.wrapped_tree_key, m.data, \
                 (SELECT count(*) FROM users u WHERE u.tenant_uid = m.tenant_uid \
             AND u.email NOT LIKE '%.keeper.invalid') \
                 FROM managed_companies m JOIN enterprises e ON e.tenant_uid = m.tenant_uid \
                 JOIN tenants t ON t.uid = m.tenant_uid WHERE m.msp_uid = $1 ORDER BY e.enterprise_id",
                &[&msp_uid],
            )?
            .iter()
            .map(|r| ManagedCompanyRow {
                tenant_uid: r.get(0),
                msp_uid: r.get(1),
                enterprise_id: r.get(2),
                name: r.get(3),
                node_id: r.get(4),
                plan: r.get(5),
                seats: r.get(6),
                file_plan: r.get(7),
                paused: r.get(8),
                wrapped_tree_key: r.get(9),
                data: r.get(10),
                addons: Vec::new(),
                active_users: r.get(11),
            })
            .collect();
        let mut by_mc: HashMap<String, Vec<AddonRow>> = HashMap::new();
        for r in self.query(
            "SELECT a.mc_uid, a.addon, a.seats FROM mc_addons a \
             JOIN managed_companies m ON m.tenant_uid = a.mc_uid WHERE m.msp_uid = $1 \
             ORDER BY a.mc_uid, a.addon",
            &[&msp_uid],
        )? {
            by_mc.entry(r.get(0)).or_default().push(AddonRow {
                addon: r.get(1),
                seats: r.get(2),
            });
        }
        for mc in &mut companies {
            mc.addons = by_mc.remove(&mc.tenant_uid).unwrap_or_default();
        }
        Ok(companies)
    }

    fn billing_events(&self, msp_uid: &str) -> Result<Vec<BillingEventRow>> {
        self.billing_events_in(msp_uid, i64::MIN, i64::MAX)
    }

    fn billing_events_in(&self, msp_uid: &str, from: i64, to: i64) -> Result<Vec<BillingEventRow>> {
        Ok(self
            .query(
                &format!(
                    "SELECT {BILLING_COLS}, id FROM billing_events \
                     WHERE msp_uid = $1 AND at >= $2 AND at < $3 ORDER BY id"
                ),
                &[&msp_uid, &from, &to],
            )?
            .iter()
            .map(|r| BillingEventRow {
                msp_uid: r.get(0),
                mc_id: r.get(1),
                at: r.get(2),
                change: r.get(3),
                product: r.get(4),
                licences: r.get(5),
                company: r.get(6),
                id: r.get(7),
            })
            .collect())
    }

    fn msp_prices(&self, msp_uid: &str) -> Result<Option<PricesRow>> {
        Ok(self
            .query_opt(
                "SELECT msp_uid, prices FROM msp_prices WHERE msp_uid = $1",
                &[&msp_uid],
            )?
            .map(|r| PricesRow {
                msp_uid: r.get(0),
                prices: r.get(1),
            }))
    }
}

impl EnterpriseRead for PgStore {
    fn enterprise(&self, t: &str) -> Result<Option<EnterpriseRow>> {
        self.read(|db| db.enterprise(t))
    }
    fn enterprises(&self) -> Result<Vec<EnterpriseRow>> {
        self.read(|db| db.enterprises())
    }
    fn next_enterprise_id(&self) -> Result<i64> {
        self.read(|db| db.next_enterprise_id())
    }
    fn enterprise_admins(&self, t: &str) -> Result<Vec<EnterpriseAdminRow>> {
        self.read(|db| db.enterprise_admins(t))
    }
    fn enterprise_nodes(&self, t: &str) -> Result<Vec<NodeRow>> {
        self.read(|db| db.enterprise_nodes(t))
    }
    fn msp_licences(&self, m: &str) -> Result<Option<MspLicencesRow>> {
        self.read(|db| db.msp_licences(m))
    }
    fn managed_companies(&self, m: &str) -> Result<Vec<ManagedCompanyRow>> {
        self.read(|db| db.managed_companies(m))
    }
    fn billing_events(&self, m: &str) -> Result<Vec<BillingEventRow>> {
        self.read(|db| db.billing_events(m))
    }
    fn billing_events_in(&self, m: &str, f: i64, t: i64) -> Result<Vec<BillingEventRow>> {
        self.read(|db| db.billing_events_in(m, f, t))
    }
    fn msp_prices(&self, m: &str) -> Result<Option<PricesRow>> {
        self.read(|db| db.msp_prices(m))
    }
}

impl EnterpriseTx for Db<'_, '_> {
    fn insert_enterprise(&mut self, row: &EnterpriseRow) -> Result<()> {
        let n = self.execute(
            &format!(
                "INSERT INTO enterprises ({ENTERPRISE_COLS}) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &row.tenant_uid,
                &row.enterprise_id,
                &row.kind.as_str(),
                &row.parent_uid,
                &row.created,
            ],
        )?;
        if n == 0 {
            return Err(VaultError::Exists(format!(
                "enterprise {} (or its tenant)",
                row.enterprise_id
            )));
        }
        Ok(())
    }

    fn put_enterprise_admin(&mut self, row: &EnterpriseAdminRow) -> Result<()> {
        self.execute(
            "INSERT INTO enterprise_admins (tenant_uid, user_uid, wrapped_tree_key) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_uid, user_uid) DO UPDATE SET wrapped_tree_key = EXCLUDED.wrapped_tree_key",
            &[&row.tenant_uid, &row.user_uid, &row.wrapped_tree_key],
        )?;
        Ok(())
    }

    fn insert_enterprise_node(&mut self, row: &NodeRow) -> Result<()> {
        let n = self.execute(
            "INSERT INTO enterprise_nodes (node_id, tenant_uid, parent_id, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (node_id) DO NOTHING",
            &[&row.node_id, &row.tenant_uid, &row.parent_id, &row.data],
        )?;
        if n == 0 {
            return Err(VaultError::Exists(format!("node {}", row.node_id)));
        }
        Ok(())
    }

    fn put_msp_licences(&mut self, row: &MspLicencesRow) -> Result<()> {
        let p = &row.permits;
        self.execute(
            "INSERT INTO msp_permits (msp_uid, restricted, allow_unlimited, allowed_products, \
             allowed_addons, max_file_plan) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (msp_uid) DO UPDATE SET restricted = EXCLUDED.restricted, \
             allow_unlimited = EXCLUDED.allow_unlimited, allowed_products = EXCLUDED.allowed_products, \
             allowed_addons = EXCLUDED.allowed_addons, max_file_plan = EXCLUDED.max_file_plan",
            &[
                &row.msp_uid,
                &p.restricted,
                &p.allow_unlimited,
                &join_list(&p.allowed_products),
                &join_list(&p.allowed_addons),
                &p.max_file_plan,
            ],
        )?;
        self.execute("DELETE FROM msp_pools WHERE msp_uid = $1", &[&row.msp_uid])?;
        for pool in &row.pools {
            self.execute(
                "INSERT INTO msp_pools (msp_uid, plan, total, stash) VALUES ($1, $2, $3, $4)",
                &[&row.msp_uid, &pool.plan, &pool.total, &pool.stash],
            )?;
        }
        Ok(())
    }

    fn put_managed_company(&mut self, row: &ManagedCompanyRow) -> Result<()> {
        self.execute(
            "INSERT INTO managed_companies (tenant_uid, msp_uid, node_id, plan, seats, file_plan, paused, \
             wrapped_tree_key, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (tenant_uid) DO UPDATE SET msp_uid = EXCLUDED.msp_uid, node_id = EXCLUDED.node_id, \
             plan = EXCLUDED.plan, seats = EXCLUDED.seats, file_plan = EXCLUDED.file_plan, \
             paused = EXCLUDED.paused, wrapped_tree_key = EXCLUDED.wrapped_tree_key, data = EXCLUDED.data",
            &[
                &row.tenant_uid,
                &row.msp_uid,
                &row.node_id,
                &row.plan,
                &row.seats,
                &row.file_plan,
                &row.paused,
                &row.wrapped_tree_key,
                &row.data,
            ],
        )?;
        self.execute(
            "DELETE FROM mc_addons WHERE mc_uid = $1",
            &[&row.tenant_uid],
        )?;
        for a in &row.addons {
            self.execute(
                "INSERT INTO mc_addons (mc_uid, addon, seats) VALUES ($1, $2, $3)",
                &[&row.tenant_uid, &a.addon, &a.seats],
            )?;
        }
        Ok(())
    }

    fn rename_tenant(&mut self, tenant_uid: &str, name: &str) -> Result<()> {
        self.execute(
            "UPDATE tenants SET name = $2 WHERE uid = $1",
            &[&tenant_uid, &name],
        )?;
        Ok(())
    }

    fn delete_managed_company(&mut self, tenant_uid: &str) -> Result<()> {
        for sql in DELETE_TENANT {
            self.execute(sql, &[&tenant_uid])?;
        }
        Ok(())
    }

    fn insert_billing_event(&mut self, row: &BillingEventRow) -> Result<()> {
        self.execute(
            &format!(
                "INSERT INTO billing_events ({BILLING_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &[
                &row.msp_uid,
                &row.mc_id,
                &row.at,
                &row.change,
                &row.product,
                &row.licences,
                &row.company,
            ],
        )?;
        Ok(())
    }

    fn put_msp_prices(&mut self, row: &PricesRow) -> Result<()> {
        self.execute(
            "INSERT INTO msp_prices (msp_uid, prices) VALUES ($1, $2) \
             ON CONFLICT (msp_uid) DO UPDATE SET prices = excluded.prices",
            &[&row.msp_uid, &row.prices],
        )?;
        Ok(())
    }
}
