//! The enterprise tables in the SQLite backend (`store/enterprise.rs`).

use rusqlite::{OptionalExtension, Row, params};

use super::SqliteStore;
use super::reads::{Reads, reads};
use super::writes::SqliteTx;
use crate::vault::error::{Result, VaultError};
use crate::vault::store::enterprise::{
    AddonRow, BILLING_COLS, BillingEventRow, DELETE_TENANT, EnterpriseAdminRow, EnterpriseKind,
    EnterpriseRead, EnterpriseRow, EnterpriseTx, ManagedCompanyRow, MspLicencesRow,
    NEXT_ENTERPRISE_ID, NodeRow, PermitsRow, PoolRow, PricesRow, join_list, split_list,
};

const ENTERPRISE_COLS: &str = "tenant_uid, enterprise_id, kind, parent_uid, created";

fn enterprise_row(r: &Row<'_>) -> rusqlite::Result<EnterpriseRow> {
    let kind: String = r.get(2)?;
    Ok(EnterpriseRow {
        tenant_uid: r.get(0)?,
        enterprise_id: r.get(1)?,
        kind: EnterpriseKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown enterprise kind {kind:?}").into(),
            )
        })?,
        parent_uid: r.get(3)?,
        created: r.get(4)?,
    })
}

impl EnterpriseRead for Reads<'_> {
    fn enterprise(&self, tenant_uid: &str) -> Result<Option<EnterpriseRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {ENTERPRISE_COLS} FROM enterprises WHERE tenant_uid = ?1"
        ))?;
        Ok(st.query_row([tenant_uid], enterprise_row).optional()?)
    }

    fn enterprises(&self) -> Result<Vec<EnterpriseRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {ENTERPRISE_COLS} FROM enterprises ORDER BY enterprise_id"
        ))?;
        let rows = st.query_map([], enterprise_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn next_enterprise_id(&self) -> Result<i64> {
        Ok(self
            .0
            .prepare_cached(NEXT_ENTERPRISE_ID)?
            .query_row([], |r| r.get(0))?)
    }

    fn enterprise_admins(&self, tenant_uid: &str) -> Result<Vec<EnterpriseAdminRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT tenant_uid, user_uid, wrapped_tree_key FROM enterprise_admins \
             WHERE tenant_uid = ?1 ORDER BY user_uid",
        )?;
        let rows = st.query_map([tenant_uid], |r| {
            Ok(EnterpriseAdminRow {
                tenant_uid: r.get(0)?,
                user_uid: r.get(1)?,
                wrapped_tree_key: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn enterprise_nodes(&self, tenant_uid: &str) -> Result<Vec<NodeRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT node_id, tenant_uid, parent_id, data FROM enterprise_nodes \
             WHERE tenant_uid = ?1 ORDER BY node_id",
        )?;
        let rows = st.query_map([tenant_uid], |r| {
            Ok(NodeRow {
                node_id: r.get(0)?,
                tenant_uid: r.get(1)?,
                parent_id: r.get(2)?,
                data: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn msp_licences(&self, msp_uid: &str) -> Result<Option<MspLicencesRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT restricted, allow_unlimited, allowed_products, allowed_addons, max_file_plan \
             FROM msp_permits WHERE msp_uid = ?1",
        )?;
        let Some(permits) = st
            .query_row([msp_uid], |r| {
                Ok(PermitsRow {
                    restricted: r.get::<_, i64>(0)? != 0,
                    allow_unlimited: r.get::<_, i64>(1)? != 0,
                    allowed_products: split_list(&r.get::<_, String>(2)?),
                    allowed_addons: split_list(&r.get::<_, String>(3)?),
                    max_file_plan: r.get(4)?,
                })
            })
            .optional()?
        else {
            return Ok(None);
        };
        let mut st = self.0.prepare_cached(
            "SELECT plan, total, stash FROM msp_pools WHERE msp_uid = ?1 ORDER BY plan",
        )?;
        let pools = st
            .query_map([msp_uid], |r| {
                Ok(PoolRow {
                    plan: r.get(0)?,
                    total: r.get(1)?,
                    stash: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(MspLicencesRow {
            msp_uid: msp_uid.to_string(),
            pools,
            permits,
        }))
    }

    fn managed_companies(&self, msp_uid: &str) -> Result<Vec<ManagedCompanyRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT m.tenant_uid, m.msp_uid, e.enterprise_id, t.name, m.node_id, m.plan, m.seats, \
             m.file_plan, m.paused, m.wrapped_tree_key, m.data, \
             (SELECT count(*) FROM users u WHERE u.tenant_uid = m.tenant_uid \
             AND u.email NOT LIKE '%.keeper.invalid') \
             FROM managed_companies m JOIN enterprises e ON e.tenant_uid = m.tenant_uid \
             JOIN tenants t ON t.uid = m.tenant_uid WHERE m.msp_uid = ?1 ORDER BY e.enterprise_id",
        )?;
        let mut companies = st
            .query_map([msp_uid], |r| {
                Ok(ManagedCompanyRow {
                    tenant_uid: r.get(0)?,
                    msp_uid: r.get(1)?,
                    enterprise_id: r.get(2)?,
                    name: r.get(3)?,
                    node_id: r.get(4)?,
                    plan: r.get(5)?,
                    seats: r.get(6)?,
                    file_plan: r.get(7)?,
                    paused: r.get::<_, i64>(8)? != 0,
                    wrapped_tree_key: r.get(9)?,
                    data: r.get(10)?,
                    addons: Vec::new(),
                    active_users: r.get(11)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut st = self.0.prepare_cached(
            "SELECT a.mc_uid, a.addon, a.seats FROM mc_addons a \
             JOIN managed_companies m ON m.tenant_uid = a.mc_uid WHERE m.msp_uid = ?1 \
             ORDER BY a.mc_uid, a.addon",
        )?;
        let addons = st.query_map([msp_uid], |r| {
            Ok((
                r.get::<_, String>(0)?,
                AddonRow {
                    addon: r.get(1)?,
                    seats: r.get(2)?,
                },
            ))
        })?;
        let mut by_mc: std::collections::HashMap<String, Vec<AddonRow>> =
            std::collections::HashMap::new();
        for a in addons {
            let (mc, addon) = a?;
            by_mc.entry(mc).or_default().push(addon);
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
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {BILLING_COLS}, id FROM billing_events \
             WHERE msp_uid = ?1 AND at >= ?2 AND at < ?3 ORDER BY id"
        ))?;
        let rows = st.query_map(params![msp_uid, from, to], |r| {
            Ok(BillingEventRow {
                msp_uid: r.get(0)?,
                mc_id: r.get(1)?,
                at: r.get(2)?,
                change: r.get(3)?,
                product: r.get(4)?,
                licences: r.get(5)?,
                company: r.get(6)?,
                id: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn msp_prices(&self, msp_uid: &str) -> Result<Option<PricesRow>> {
        Ok(self
            .0
            .prepare_cached("SELECT msp_uid, prices FROM msp_prices WHERE msp_uid = ?1")?
            .query_row([msp_uid], |r| {
                Ok(PricesRow {
                    msp_uid: r.get(0)?,
                    prices: r.get(1)?,
                })
            })
            .optional()?)
    }
}

/// Forwards every [`EnterpriseRead`] method to [`Reads`] over the connection.
macro_rules! forward_enterprise_reads {
    ($ty:ty) => {
        impl EnterpriseRead for $ty {
            fn enterprise(&self, t: &str) -> Result<Option<EnterpriseRow>> {
                reads(&self.conn).enterprise(t)
            }
            fn enterprises(&self) -> Result<Vec<EnterpriseRow>> {
                reads(&self.conn).enterprises()
            }
            fn next_enterprise_id(&self) -> Result<i64> {
                reads(&self.conn).next_enterprise_id()
            }
            fn enterprise_admins(&self, t: &str) -> Result<Vec<EnterpriseAdminRow>> {
                reads(&self.conn).enterprise_admins(t)
            }
            fn enterprise_nodes(&self, t: &str) -> Result<Vec<NodeRow>> {
                reads(&self.conn).enterprise_nodes(t)
            }
            fn msp_licences(&self, m: &str) -> Result<Option<MspLicencesRow>> {
                reads(&self.conn).msp_licences(m)
            }
            fn managed_companies(&self, m: &str) -> Result<Vec<ManagedCompanyRow>> {
                reads(&self.conn).managed_companies(m)
            }
            fn billing_events(&self, m: &str) -> Result<Vec<BillingEventRow>> {
                reads(&self.conn).billing_events(m)
            }
            fn billing_events_in(&self, m: &str, f: i64, t: i64) -> Result<Vec<BillingEventRow>> {
                reads(&self.conn).billing_events_in(m, f, t)
            }
            fn msp_prices(&self, m: &str) -> Result<Option<PricesRow>> {
                reads(&self.conn).msp_prices(m)
            }
        }
    };
}

forward_enterprise_reads!(SqliteStore);
forward_enterprise_reads!(SqliteTx<'_>);

impl EnterpriseTx for SqliteTx<'_> {
    fn insert_enterprise(&mut self, row: &EnterpriseRow) -> Result<()> {
        let n = self
            .conn
            .prepare_cached(&format!(
                "INSERT OR IGNORE INTO enterprises ({ENTERPRISE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5)"
            ))?
            .execute(params![
                row.tenant_uid,
                row.enterprise_id,
                row.kind.as_str(),
                row.parent_uid,
                row.created
            ])?;
        if n == 0 {
            return Err(VaultError::Exists(format!(
                "enterprise {} (or its tenant)",
                row.enterprise_id
            )));
        }
        Ok(())
    }

    fn put_enterprise_admin(&mut self, row: &EnterpriseAdminRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO enterprise_admins (tenant_uid, user_uid, wrapped_tree_key) \
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![row.tenant_uid, row.user_uid, row.wrapped_tree_key])?;
        Ok(())
    }

    fn insert_enterprise_node(&mut self, row: &NodeRow) -> Result<()> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO enterprise_nodes (node_id, tenant_uid, parent_id, data) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                row.node_id,
                row.tenant_uid,
                row.parent_id,
                row.data
            ])?;
        if n == 0 {
            return Err(VaultError::Exists(format!("node {}", row.node_id)));
        }
        Ok(())
    }

    fn put_msp_licences(&mut self, row: &MspLicencesRow) -> Result<()> {
        let p = &row.permits;
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO msp_permits (msp_uid, restricted, allow_unlimited, \
                 allowed_products, allowed_addons, max_file_plan) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                row.msp_uid,
                i64::from(p.restricted),
                i64::from(p.allow_unlimited),
                join_list(&p.allowed_products),
                join_list(&p.allowed_addons),
                p.max_file_plan
            ])?;
        self.conn
            .prepare_cached("DELETE FROM msp_pools WHERE msp_uid = ?1")?
            .execute([&row.msp_uid])?;
        let mut st = self.conn.prepare_cached(
            "INSERT INTO msp_pools (msp_uid, plan, total, stash) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for pool in &row.pools {
            st.execute(params![row.msp_uid, pool.plan, pool.total, pool.stash])?;
        }
        Ok(())
    }

    fn put_managed_company(&mut self, row: &ManagedCompanyRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO managed_companies (tenant_uid, msp_uid, node_id, plan, seats, \
                 file_plan, paused, wrapped_tree_key, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                row.tenant_uid,
                row.msp_uid,
                row.node_id,
                row.plan,
                row.seats,
                row.file_plan,
                i64::from(row.paused),
                row.wrapped_tree_key,
                row.data
            ])?;
        self.conn
            .prepare_cached("DELETE FROM mc_addons WHERE mc_uid = ?1")?
            .execute([&row.tenant_uid])?;
        let mut st = self
            .conn
            .prepare_cached("INSERT INTO mc_addons (mc_uid, addon, seats) VALUES (?1, ?2, ?3)")?;
        for a in &row.addons {
            st.execute(params![row.tenant_uid, a.addon, a.seats])?;
        }
        Ok(())
    }

    fn rename_tenant(&mut self, tenant_uid: &str, name: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE tenants SET name = ?2 WHERE uid = ?1")?
            .execute(params![tenant_uid, name])?;
        Ok(())
    }

    fn delete_managed_company(&mut self, tenant_uid: &str) -> Result<()> {
        for sql in DELETE_TENANT {
            self.conn.prepare_cached(sql)?.execute([tenant_uid])?;
        }
        Ok(())
    }

    fn insert_billing_event(&mut self, row: &BillingEventRow) -> Result<()> {
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO billing_events ({BILLING_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?
            .execute(params![
                row.msp_uid,
                row.mc_id,
                row.at,
                row.change,
                row.product,
                row.licences,
                row.company
            ])?;
        Ok(())
    }

    fn put_msp_prices(&mut self, row: &PricesRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO msp_prices (msp_uid, prices) VALUES (?1, ?2) \
                 ON CONFLICT (msp_uid) DO UPDATE SET prices = excluded.prices",
            )?
            .execute(params![row.msp_uid, row.prices])?;
        Ok(())
    }
}
