//! The enterprise tables: distributors, MSPs and their managed companies
//! (each a tenant), MSP admins and tree keys, nodes, licence pools and
//! permits, add-ons, and the billing ledger.
//!
//! What a backend stores, as rows; the rules (which plans, seats and
//! add-ons are allowed, pool accounting) live in `crate::enterprise`.
//! Plans, seats, add-ons and the ledger are in the clear, as Keeper's
//! server sees them (billing needs no key); node names and an MC's own
//! data are sealed under the tree key of the enterprise they belong to.

use crate::vault::error::Result;

/// What an enterprise is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterpriseKind {
    /// Manages MSPs.
    Distributor,
    /// A managed service provider: manages companies.
    Msp,
    /// A managed company.
    ManagedCompany,
}

impl EnterpriseKind {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Distributor => "distributor",
            Self::Msp => "msp",
            Self::ManagedCompany => "mc",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "distributor" => Some(Self::Distributor),
            "msp" => Some(Self::Msp),
            "mc" => Some(Self::ManagedCompany),
            _ => None,
        }
    }
}

/// An enterprise: a tenant with a numeric id and a place in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseRow {
    /// The tenant it is.
    pub tenant_uid: String,
    /// Keeper's numeric enterprise id (unique in the store).
    pub enterprise_id: i64,
    /// Distributor, MSP or MC.
    pub kind: EnterpriseKind,
    /// The managing enterprise's tenant (an MSP's distributor, an MC's MSP).
    pub parent_uid: Option<String>,
    /// Creation time, epoch ms.
    pub created: i64,
}

/// An enterprise admin: the enterprise's tree key, wrapped under the
/// admin's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseAdminRow {
    /// The enterprise's tenant.
    pub tenant_uid: String,
    /// The admin user.
    pub user_uid: String,
    /// The tree key sealed under the user's data key.
    pub wrapped_tree_key: Vec<u8>,
}

/// A node of an enterprise's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// Node id (unique in the store).
    pub node_id: i64,
    /// The enterprise's tenant.
    pub tenant_uid: String,
    /// Parent node; `None` for the root.
    pub parent_id: Option<i64>,
    /// The node's name, sealed under the enterprise's tree key.
    pub data: Vec<u8>,
}

/// One plan of an MSP's licence pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRow {
    /// Plan code (`business`, …).
    pub plan: String,
    /// Licences bought.
    pub total: i64,
    /// Licences held back.
    pub stash: i64,
}

/// What an MSP may offer (Commander's `msp_permits`); `restricted =
/// false` means no restrictions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitsRow {
    /// Whether the permits apply at all.
    pub restricted: bool,
    /// May allocate unlimited seats.
    pub allow_unlimited: bool,
    /// Plan codes MCs may have.
    pub allowed_products: Vec<String>,
    /// Add-on codes MCs may have.
    pub allowed_addons: Vec<String>,
    /// The largest file plan code (`STORAGE_1TB`, …), if limited.
    pub max_file_plan: Option<String>,
}

impl PermitsRow {
    /// No restrictions: the row of an MSP its distributor lets give
    /// everything.
    pub fn unrestricted() -> Self {
        Self {
            restricted: false,
            allow_unlimited: true,
            allowed_products: Vec::new(),
            allowed_addons: Vec::new(),
            max_file_plan: None,
        }
    }
}

/// An MSP's licences: its pool and its permits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MspLicencesRow {
    /// The MSP's tenant.
    pub msp_uid: String,
    /// Pool, one row per plan.
    pub pools: Vec<PoolRow>,
    /// Permits.
    pub permits: PermitsRow,
}

/// An add-on of a managed company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddonRow {
    /// Add-on code.
    pub addon: String,
    /// Seats (0 where the add-on takes none).
    pub seats: i64,
}

/// A managed company: its licence and its tree key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedCompanyRow {
    /// The MC's tenant.
    pub tenant_uid: String,
    /// The managing MSP's tenant.
    pub msp_uid: String,
    /// Its enterprise id (from `enterprises`, read only).
    pub enterprise_id: i64,
    /// Its name (the tenant's; written with `rename_tenant`).
    pub name: String,
    /// The MSP node it sits under.
    pub node_id: i64,
    /// Plan code.
    pub plan: String,
    /// Seats; 2147483647 = unlimited.
    pub seats: i64,
    /// File plan code (`STORAGE_1TB`, …) when above the plan's own.
    pub file_plan: Option<String>,
    /// Paused (expired).
    pub paused: bool,
    /// The MC's tree key sealed under the MSP's tree key.
    pub wrapped_tree_key: Vec<u8>,
    /// The MC's own data (root node and admin role names) sealed under
    /// its tree key.
    pub data: Vec<u8>,
    /// Add-ons.
    pub addons: Vec<AddonRow>,
    /// Users in the MC's tenant (read only), not counting its identity
    /// (`…@….keeper.invalid`, the user `switch-to-mc` unlocks as).
    pub active_users: i64,
}

/// One entry of the billing ledger: after `change`, the MC holds
/// `licences` of `product` (0: none any more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingEventRow {
    /// The store's sequence number (ignored when writing: 0 will do).
    pub id: i64,
    /// The MSP's tenant.
    pub msp_uid: String,
    /// The MC's enterprise id (kept after the MC is removed).
    pub mc_id: i64,
    /// When, epoch ms.
    pub at: i64,
    /// What changed: `added`, `removed`, `seats`, `plan`, `file_plan`, `addon`.
    pub change: String,
    /// A plan, file plan or add-on code.
    pub product: String,
    /// Licences of `product` from then on.
    pub licences: i64,
    /// The company's name then (`''` in events written before vault
    /// format 6 / PostgreSQL migration 5).
    pub company: String,
}

/// An MSP's price table (`[[prices]]`), as the JSON document
/// `crate::enterprise::pricing` writes; in the clear, as Keeper's server
/// holds its price list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricesRow {
    /// The MSP's tenant.
    pub msp_uid: String,
    /// The table, JSON.
    pub prices: String,
}

/// Reads of the enterprise tables.
pub trait EnterpriseRead {
    /// The enterprise a tenant is, if any.
    fn enterprise(&self, tenant_uid: &str) -> Result<Option<EnterpriseRow>>;
    /// Every enterprise (store migrate).
    fn enterprises(&self) -> Result<Vec<EnterpriseRow>>;
    /// An enterprise id no enterprise has or had (above every id in
    /// `enterprises` and the billing ledger).
    fn next_enterprise_id(&self) -> Result<i64>;
    /// Every admin row of an enterprise.
    fn enterprise_admins(&self, tenant_uid: &str) -> Result<Vec<EnterpriseAdminRow>>;
    /// The nodes of an enterprise.
    fn enterprise_nodes(&self, tenant_uid: &str) -> Result<Vec<NodeRow>>;
    /// An MSP's pool and permits.
    fn msp_licences(&self, msp_uid: &str) -> Result<Option<MspLicencesRow>>;
    /// An MSP's managed companies, by enterprise id.
    fn managed_companies(&self, msp_uid: &str) -> Result<Vec<ManagedCompanyRow>>;
    /// An MSP's billing ledger, in the order written.
    fn billing_events(&self, msp_uid: &str) -> Result<Vec<BillingEventRow>>;
    /// The events of an MSP's ledger with `from <= at < to`, in the order
    /// written.
    fn billing_events_in(&self, msp_uid: &str, from: i64, to: i64) -> Result<Vec<BillingEventRow>>;
    /// An MSP's price table, if one was provisioned.
    fn msp_prices(&self, msp_uid: &str) -> Result<Option<PricesRow>>;
}

/// Writes of the enterprise tables, inside one store transaction.
pub trait EnterpriseTx {
    /// Adds an enterprise; [`crate::vault::VaultError::Exists`] when the
    /// tenant is one already or the id is taken.
    fn insert_enterprise(&mut self, row: &EnterpriseRow) -> Result<()>;
    /// Adds or replaces an admin's tree key.
    fn put_enterprise_admin(&mut self, row: &EnterpriseAdminRow) -> Result<()>;
    /// Adds a node; [`crate::vault::VaultError::Exists`] when its id is
    /// taken (node ids are store-wide: never another tenant's row).
    fn insert_enterprise_node(&mut self, row: &NodeRow) -> Result<()>;
    /// Sets an MSP's pool and permits (replacing them).
    fn put_msp_licences(&mut self, row: &MspLicencesRow) -> Result<()>;
    /// Adds or replaces a managed company and its add-ons (not its name,
    /// id or user count).
    fn put_managed_company(&mut self, row: &ManagedCompanyRow) -> Result<()>;
    /// Renames a tenant.
    fn rename_tenant(&mut self, tenant_uid: &str, name: &str) -> Result<()>;
    /// Deletes a managed company with its tenant and everything in it
    /// (users, teams, folders, records and their keys, history,
    /// attachments, rotation state, audit), its nodes and admins; the
    /// billing ledger stays.
    fn delete_managed_company(&mut self, tenant_uid: &str) -> Result<()>;
    /// Appends to the billing ledger.
    fn insert_billing_event(&mut self, row: &BillingEventRow) -> Result<()>;
    /// Sets (replaces) an MSP's price table.
    fn put_msp_prices(&mut self, row: &PricesRow) -> Result<()>;
}

/// The ledger's columns, as both backends write them (and read them,
/// followed by `id`).
pub const BILLING_COLS: &str = "msp_uid, mc_id, at, change, product, licences, company";

/// The query behind [`EnterpriseRead::next_enterprise_id`] (both backends).
pub const NEXT_ENTERPRISE_ID: &str = "SELECT COALESCE(max(id), 0) + 1 FROM \
     (SELECT max(enterprise_id) AS id FROM enterprises UNION ALL SELECT max(mc_id) FROM billing_events) AS ids";

/// The statements that delete a tenant's rows, `$1` = the tenant uid, in
/// an order that leaves nothing pointing at a deleted row (dependants
/// first). Valid SQL for both backends (SQLite reads `$1` as its one
/// parameter).
pub const DELETE_TENANT: &[&str] = &[
    "DELETE FROM rotation_locks WHERE record_uid IN (SELECT uid FROM records WHERE tenant_uid = $1)",
    "DELETE FROM pending_rotations WHERE record_uid IN (SELECT uid FROM records WHERE tenant_uid = $1)",
    "DELETE FROM attachments WHERE record_uid IN (SELECT uid FROM records WHERE tenant_uid = $1)",
    "DELETE FROM record_keys WHERE record_uid IN (SELECT uid FROM records WHERE tenant_uid = $1)",
    "DELETE FROM folder_records WHERE record_uid IN (SELECT uid FROM records WHERE tenant_uid = $1)",
    "DELETE FROM record_history WHERE tenant_uid = $1",
    "DELETE FROM records WHERE tenant_uid = $1",
    "DELETE FROM shares WHERE shared_folder_uid IN (SELECT uid FROM folders WHERE tenant_uid = $1)",
    "DELETE FROM folders WHERE tenant_uid = $1",
    "DELETE FROM team_members WHERE team_uid IN (SELECT uid FROM teams WHERE tenant_uid = $1)",
    "DELETE FROM teams WHERE tenant_uid = $1",
    "DELETE FROM audit WHERE tenant_uid = $1",
    "DELETE FROM enterprise_admins WHERE tenant_uid = $1",
    "DELETE FROM enterprise_nodes WHERE tenant_uid = $1",
    "DELETE FROM role_enforcements WHERE role_id IN (SELECT role_id FROM enterprise_roles WHERE tenant_uid = $1)",
    "DELETE FROM role_users WHERE role_id IN (SELECT role_id FROM enterprise_roles WHERE tenant_uid = $1)",
    "DELETE FROM enterprise_roles WHERE tenant_uid = $1",
    "DELETE FROM enterprise_users WHERE tenant_uid = $1",
    "DELETE FROM mc_addons WHERE mc_uid = $1",
    "DELETE FROM msp_prices WHERE msp_uid = $1",
    "DELETE FROM managed_companies WHERE tenant_uid = $1",
    "DELETE FROM enterprises WHERE tenant_uid = $1",
    "DELETE FROM app_clients WHERE tenant_uid = $1",
    "DELETE FROM apps WHERE tenant_uid = $1",
    "DELETE FROM users WHERE tenant_uid = $1",
    "DELETE FROM tenants WHERE uid = $1",
];

/// Joins a list column (codes never contain a comma).
pub fn join_list(items: &[String]) -> String {
    items.join(",")
}

/// Splits a list column.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Checks both backends' tests run on their own store.
#[cfg(test)]
pub(crate) mod checks {
    use super::*;
    use crate::vault::store::{AppClientRow, AppRow, Store, TenantRow, UserRow};

    fn tenant(uid: &str, parent: Option<&str>) -> TenantRow {
        TenantRow {
            uid: uid.into(),
            name: format!("name of {uid}"),
            parent_uid: parent.map(str::to_string),
            created: 1,
            creator_uid: None,
        }
    }

    /// The SQL that takes a vault back to before the enterprise tables
    /// (for upgrade tests).
    pub const DROP_ENTERPRISE_TABLES: &str = "DROP TABLE enterprises; DROP TABLE enterprise_admins; \
         DROP TABLE enterprise_nodes; DROP TABLE msp_permits; DROP TABLE msp_pools; \
         DROP TABLE managed_companies; DROP TABLE mc_addons; DROP TABLE billing_events; \
         DROP TABLE IF EXISTS msp_prices;";

    /// After an upgrade from before the ledger's company names, with one
    /// event of MSP `m` written then: it has no name; an event written now
    /// keeps its name, and a price table is written and read back.
    pub fn company_names_and_prices_after_upgrade(store: &mut dyn Store) {
        let old = store.billing_events("m").expect("ledger");
        assert_eq!((old.len(), old[0].company.as_str()), (1, ""));
        let mut new = old[0].clone();
        new.company = "Acme".into();
        let prices = PricesRow {
            msp_uid: "m".into(),
            prices: "[]".into(),
        };
        store
            .write(&mut |tx| {
                tx.insert_billing_event(&new)?;
                tx.put_msp_prices(&prices)
            })
            .expect("write");
        let ledger = store.billing_events("m").expect("ledger");
        assert_eq!(ledger[1].company, "Acme");
        assert!(ledger[1].id > ledger[0].id);
        assert_eq!(store.msp_prices("m").expect("prices"), Some(prices));
    }

    /// An MSP (`msp`) with one company (`mc`, which has a user), read
    /// back as written; deleting the company removes its tenant, user,
    /// rows and add-ons, and keeps the MSP and the ledger.
    pub fn enterprise_rows_round_trip(store: &mut dyn Store) {
        let mc = ManagedCompanyRow {
            tenant_uid: "mc".into(),
            msp_uid: "msp".into(),
            enterprise_id: 11,
            name: "name of mc".into(),
            node_id: 7,
            plan: "business".into(),
            seats: 5,
            file_plan: Some("STORAGE_1TB".into()),
            paused: false,
            wrapped_tree_key: vec![1, 2],
            data: vec![3],
            addons: vec![AddonRow {
                addon: "connection_manager".into(),
                seats: 3,
            }],
            active_users: 1,
        };
        let licences = MspLicencesRow {
            msp_uid: "msp".into(),
            pools: vec![PoolRow {
                plan: "business".into(),
                total: 10,
                stash: 2,
            }],
            permits: PermitsRow {
                restricted: true,
                allow_unlimited: false,
                allowed_products: vec!["business".into(), "enterprise".into()],
                allowed_addons: vec!["chat".into()],
                max_file_plan: Some("STORAGE_1TB".into()),
            },
        };
        let event = BillingEventRow {
            id: 1,
            msp_uid: "msp".into(),
            mc_id: 11,
            at: 5,
            change: "added".into(),
            product: "business".into(),
            licences: 5,
            company: "name of mc".into(),
        };
        let prices = PricesRow {
            msp_uid: "msp".into(),
            prices: "[]".into(),
        };
        let user = UserRow {
            uid: "mcu".into(),
            tenant_uid: "mc".into(),
            email: "a@mc".into(),
            kdf: vec![0],
            wrapped_data_key: vec![0],
            public_key: vec![0],
            wrapped_private_key: vec![0],
            checksum: vec![0],
            created: 1,
            must_rekey: false,
        };
        let app = AppRow {
            uid: "mcapp".into(),
            tenant_uid: "mc".into(),
            owner_uid: "mcu".into(),
            name: "app of mc".into(),
            wrapped_key: vec![4],
            created: 1,
        };
        let client = AppClientRow {
            uid: "mcclient".into(),
            app_uid: "mcapp".into(),
            tenant_uid: "mc".into(),
            created: 1,
            token_expires: 2,
            access_expires: None,
            unlock_ip: false,
            token_key: None,
            public_key: Some(vec![5]),
            wrapped_app_key: Some(vec![6]),
            bound: Some(1),
            access_minutes: None,
            owner_token_key: None,
        };
        store
            .write(&mut |tx| {
                tx.insert_tenant(&tenant("msp", None))?;
                tx.insert_tenant(&tenant("mc", Some("msp")))?;
                tx.insert_user(&user)?;
                for (t, id, kind) in [
                    ("msp", 10, EnterpriseKind::Msp),
                    ("mc", 11, EnterpriseKind::ManagedCompany),
                ] {
                    tx.insert_enterprise(&EnterpriseRow {
                        tenant_uid: t.into(),
                        enterprise_id: id,
                        kind,
                        parent_uid: (t == "mc").then(|| "msp".into()),
                        created: 1,
                    })?;
                }
                tx.put_enterprise_admin(&EnterpriseAdminRow {
                    tenant_uid: "msp".into(),
                    user_uid: "u1".into(),
                    wrapped_tree_key: vec![9],
                })?;
                tx.insert_enterprise_node(&NodeRow {
                    node_id: 7,
                    tenant_uid: "msp".into(),
                    parent_id: None,
                    data: vec![8],
                })?;
                tx.put_msp_licences(&licences)?;
                tx.put_managed_company(&mc)?;
                tx.insert_app(&app)?;
                tx.put_app_client(&client)?;
                tx.put_msp_prices(&prices)?;
                tx.insert_billing_event(&event)
            })
            .expect("write");
        assert!(
            store
                .write(&mut |tx| tx.insert_enterprise(&EnterpriseRow {
                    tenant_uid: "other".into(),
                    enterprise_id: 11,
                    kind: EnterpriseKind::Msp,
                    parent_uid: None,
                    created: 1,
                }))
                .is_err(),
            "an enterprise id is unique"
        );
        assert_eq!(
            store
                .enterprise("mc")
                .expect("read")
                .map(|e| e.enterprise_id),
            Some(11)
        );
        assert_eq!(store.enterprises().expect("all").len(), 2);
        assert_eq!(store.enterprise_admins("msp").expect("admins").len(), 1);
        assert_eq!(store.enterprise_nodes("msp").expect("nodes").len(), 1);
        assert_eq!(store.msp_licences("msp").expect("licences"), Some(licences));
        assert_eq!(
            store.managed_companies("msp").expect("mcs"),
            vec![mc.clone()]
        );
        assert_eq!(
            store.billing_events("msp").expect("ledger"),
            vec![event.clone()]
        );
        assert_eq!(
            store.billing_events_in("msp", 5, 6).expect("ledger"),
            vec![event]
        );
        assert!(
            store
                .billing_events_in("msp", 0, 5)
                .expect("ledger")
                .is_empty()
        );
        assert_eq!(store.msp_prices("msp").expect("prices"), Some(prices));

        store
            .write(&mut |tx| tx.rename_tenant("mc", "renamed"))
            .expect("rename");
        assert_eq!(
            store.managed_companies("msp").expect("mcs")[0].name,
            "renamed"
        );
        store
            .write(&mut |tx| tx.delete_managed_company("mc"))
            .expect("delete");
        assert!(store.managed_companies("msp").expect("mcs").is_empty());
        assert!(store.enterprise("mc").expect("read").is_none());
        assert!(store.users("mc").expect("users").is_empty());
        assert_eq!(store.tenants().expect("tenants").len(), 1, "the MSP stays");
        assert_eq!(
            store.billing_events("msp").expect("ledger").len(),
            1,
            "the ledger stays"
        );
        let counts: std::collections::HashMap<_, _> =
            store.row_counts().expect("counts").into_iter().collect();
        assert_eq!(counts["mc_addons"], 0);
        assert_eq!(counts["apps"], 0, "the company's application is gone");
        assert_eq!(counts["app_clients"], 0, "its devices are gone");
        assert!(store.app_client("mcclient").expect("client").is_none());
        assert_eq!(counts["enterprises"], 1);
        assert_eq!(counts["msp_prices"], 1, "the MSP's prices stay");
    }
}
