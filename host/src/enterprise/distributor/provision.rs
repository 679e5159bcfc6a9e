//! `keeper enterprise-init --distributor NAME --licences FILE`: makes the
//! logged-in user's tenant a distributor (they become its admin) and
//! creates the MSPs its file lists, each a new tenant managed by it with a
//! new user as the MSP's admin (their password is asked for, or taken
//! from `KEEPER_NEW_USER_PASSWORD`), and the MSP's pool, permits, nodes
//! and companies as an MSP's own licences file gives them. One
//! transaction: a refused MSP or company leaves everything as it was.
//!
//! A distributor never attaches an MSP that exists: on a shared store
//! that would let any tenant take another's MSP over.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use crate::enterprise::access;
use crate::enterprise::error::{EnterpriseError, Result};
use crate::enterprise::licences::{
    self, CompanyEntry, LicencesFile, NewMsp, NodeEntry, Permits, PoolEntry,
};
use crate::enterprise::ops::refusable;
use crate::vault::crypto::{self, KdfParams, Key};
use crate::vault::store::TenantRow;
use crate::vault::store::enterprise::{EnterpriseAdminRow, EnterpriseKind, EnterpriseRow};
use crate::vault::{Vault, ad, new_user_row, now_ms};

/// A distributor's file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DistributorFile {
    /// The distributor's enterprise id (default: the next free one).
    id: Option<i64>,
    /// Its MSPs.
    #[serde(default)]
    msps: Vec<MspEntry>,
}

/// One MSP of a distributor's file: its name, its admin, and what an
/// MSP's own licences file holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MspEntry {
    name: String,
    /// The MSP admin's e-mail: a new user of the MSP's tenant.
    admin: String,
    id: Option<i64>,
    #[serde(default)]
    pool: Vec<PoolEntry>,
    permits: Option<Permits>,
    #[serde(default)]
    nodes: Vec<NodeEntry>,
    #[serde(default)]
    companies: Vec<CompanyEntry>,
}

/// One MSP to make: name, admin, licences.
#[derive(Debug)]
struct PlannedMsp {
    name: String,
    admin: String,
    licences: LicencesFile,
}

/// A checked distributor file.
#[derive(Debug)]
pub(crate) struct DistributorPlan {
    path: PathBuf,
    id: Option<i64>,
    msps: Vec<PlannedMsp>,
}

/// What was made.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct DistributorMade {
    /// The distributor's enterprise id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its admin.
    pub admin: String,
    /// Its MSPs: id, name, admin.
    pub msps: Vec<(i64, String, String)>,
}

impl DistributorPlan {
    /// Reads and checks a distributor's file (TOML, or JSON by extension).
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::Licences`] naming what is wrong.
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let file: DistributorFile = licences::parse(path)?;
        let bad = |reason: String| EnterpriseError::Licences {
            path: path.display().to_string(),
            reason,
        };
        let mut msps: Vec<PlannedMsp> = Vec::new();
        for m in file.msps {
            let name = m.name.trim().to_string();
            let admin = m.admin.trim().to_lowercase();
            if name.is_empty() {
                return Err(bad("an MSP needs a name".into()));
            }
            if admin.is_empty() || !admin.contains('@') || admin.chars().any(char::is_whitespace) {
                return Err(bad(format!(
                    "MSP {name:?}: admin {:?} is not an e-mail address",
                    m.admin
                )));
            }
            if msps.iter().any(|p| p.name.eq_ignore_ascii_case(&name)) {
                return Err(bad(format!("MSP {name:?} is listed twice")));
            }
            if msps.iter().any(|p| p.admin == admin) {
                return Err(bad(format!("{admin} administers two MSPs of the file")));
            }
            let licences = LicencesFile {
                id: m.id,
                pool: m.pool,
                permits: m.permits,
                nodes: m.nodes,
                companies: m.companies,
            };
            licences::check(&licences, &|reason| bad(format!("MSP {name:?}: {reason}")))?;
            msps.push(PlannedMsp {
                name,
                admin,
                licences,
            });
        }
        if file
            .id
            .is_some_and(|id| !(1..licences::ID_LIMIT).contains(&id))
        {
            return Err(bad(format!(
                "the distributor's id must be 1 to {}",
                licences::ID_LIMIT - 1
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            id: file.id,
            msps,
        })
    }

    /// The MSP admins to make, in file order (each needs a password).
    pub(crate) fn admins(&self) -> Vec<String> {
        self.msps.iter().map(|m| m.admin.clone()).collect()
    }
}

/// Makes the logged-in user's tenant the distributor `name` with the MSPs
/// of `plan`; `passwords[i]` is the master password of `plan.admins()[i]`.
///
/// # Errors
///
/// [`access::may_init`]'s refusals; [`EnterpriseError::Rejected`] for an
/// empty name, a missing password or an admin e-mail some user of the
/// store has; [`EnterpriseError::Licences`] for a taken id or node, or a
/// company `msp-add` would refuse. Nothing is written then.
pub(crate) fn init(
    vault: &mut Vault,
    name: &str,
    plan: &DistributorPlan,
    passwords: &[SecretString],
    params: &KdfParams,
) -> Result<DistributorMade> {
    let name = name.trim();
    if name.is_empty() {
        return Err(EnterpriseError::Rejected(
            "the distributor needs a name".into(),
        ));
    }
    access::may_init(vault)?;
    if passwords.len() != plan.msps.len() {
        return Err(EnterpriseError::Rejected(
            "every MSP admin needs a master password".into(),
        ));
    }
    let users = vault.store_read().all_users()?;
    if let Some(taken) = plan
        .msps
        .iter()
        .find(|m| users.iter().any(|u| u.email == m.admin))
    {
        return Err(EnterpriseError::Rejected(format!(
            "{} is a user of this store already: an MSP admin is a new user of the MSP's tenant; \
             nothing was changed",
            taken.admin
        )));
    }
    let user = vault.user();
    let tenant = user.tenant_uid.clone();
    let tree_key = Key::generate();
    let admin = EnterpriseAdminRow {
        tenant_uid: tenant.clone(),
        user_uid: user.uid.clone(),
        wrapped_tree_key: vault.wrap_for_user(&tree_key, &ad::tree_key(&tenant, &user.uid)),
    };
    // Keys and password hashes first: the transaction may run twice.
    let mut made = Vec::new();
    for (m, password) in plan.msps.iter().zip(passwords) {
        let msp_tenant = TenantRow {
            uid: crypto::new_uid(),
            name: m.name.clone(),
            parent_uid: Some(tenant.clone()),
            created: now_ms(),
        };
        let (row, data_key, _) = new_user_row(&msp_tenant.uid, &m.admin, password, params)?;
        let msp_key = Key::generate();
        let new = NewMsp {
            admin: EnterpriseAdminRow {
                tenant_uid: msp_tenant.uid.clone(),
                user_uid: row.uid.clone(),
                wrapped_tree_key: data_key.wrap(&msp_key, &ad::tree_key(&msp_tenant.uid, &row.uid)),
            },
            tenant: msp_tenant.uid.clone(),
            name: m.name.clone(),
            tree_key: msp_key,
            parent: Some(tenant.clone()),
        };
        made.push((msp_tenant, row, new, m));
    }
    let path = plan.path.as_path();
    let (id, ids) = refusable(vault, |tx| {
        let id = match plan.id {
            Some(id) => id,
            None => tx.next_enterprise_id()?,
        };
        if tx.enterprises()?.iter().any(|e| e.enterprise_id == id) {
            return Err(EnterpriseError::Licences {
                path: path.display().to_string(),
                reason: format!("enterprise id {id} is taken"),
            });
        }
        tx.rename_tenant(&tenant, name)?;
        tx.insert_enterprise(&EnterpriseRow {
            tenant_uid: tenant.clone(),
            enterprise_id: id,
            kind: EnterpriseKind::Distributor,
            parent_uid: None,
            created: now_ms(),
        })?;
        tx.put_enterprise_admin(&admin)?;
        let mut ids = Vec::new();
        for (msp_tenant, row, new, m) in &made {
            tx.insert_tenant(msp_tenant)?;
            tx.insert_user(row)?;
            let msp_id =
                licences::provision_in(tx, new, &m.licences, path).map_err(|e| match e {
                    EnterpriseError::Licences { path, reason } => EnterpriseError::Licences {
                        path,
                        reason: format!("MSP {:?}: {reason}", m.name),
                    },
                    e => e,
                })?;
            ids.push(msp_id);
        }
        Ok((id, ids))
    })?;
    Ok(DistributorMade {
        id,
        name: name.to_string(),
        admin: user.email,
        msps: made
            .iter()
            .zip(ids)
            .map(|((_, _, _, m), msp_id)| (msp_id, m.name.clone(), m.admin.clone()))
            .collect(),
    })
}
