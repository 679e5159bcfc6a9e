//! `keeper enterprise-init --distributor NAME --licences FILE`: makes the
//! logged-in user's tenant a distributor (they become its admin) and
//! creates the MSPs its file lists, each a new tenant managed by it with a
//! new user as the MSP's admin (their password is asked for, or taken
//! from `KEEPER_NEW_USER_PASSWORD`), and the MSP's pool, permits, nodes,
//! companies and price table as an MSP's own licences file gives them
//! (the file's top-level `[[prices]]` is each new MSP's table unless the
//! MSP lists its own). One transaction: a refused MSP or company leaves
//! everything as it was. Each new admin must re-key before anything else
//! (`users.must_rekey`, `enterprise/rekey.rs`): the distributor chose
//! their password.
//!
//! Its admin adds MSPs later by running a file again (with the
//! distributor's name): the MSPs it has (by name) are skipped, the others
//! made. A distributor never attaches an MSP that exists elsewhere: on a
//! shared store that would let one tenant take another's MSP over.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::Distributor;
use crate::enterprise::access;
use crate::enterprise::error::{EnterpriseError, Result};
use crate::enterprise::licences::{
    self, CompanyEntry, LicencesFile, NewMsp, NodeEntry, Permits, PoolEntry,
};
use crate::enterprise::ops::refusable;
use crate::enterprise::pricing::{PriceEntry, PriceTable};
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
    /// The price table of each MSP the file makes (unless the MSP has its
    /// own `[[msps.prices]]`); none: no prices.
    prices: Option<Vec<PriceEntry>>,
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
    /// Its own price table, instead of the file's.
    prices: Option<Vec<PriceEntry>>,
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
    /// Whether it was a distributor already (the file's new MSPs added).
    pub existed: bool,
    /// Its admin.
    pub admin: String,
    /// The MSPs made: id, name, admin.
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
        // First checked here, so that an error names no MSP (each MSP's
        // copy is checked again, harmlessly, by licences::check).
        if let Some(prices) = &file.prices {
            PriceTable::check(prices).map_err(bad)?;
        }
        let mut msps: Vec<PlannedMsp> = Vec::new();
        for m in file.msps {
            let name = m.name.trim().to_string();
            let admin = m.admin.trim().to_lowercase();
            if name.is_empty() {
                return Err(bad("an MSP needs a name".into()));
            }
            if admin.is_empty() || !admin.contains('@') || admin.chars().any(char::is_whitespace) {
                return Err(unusable_admin(&name, &m.admin));
            }
            if msps
                .iter()
                .any(|p| p.name.to_lowercase() == name.to_lowercase())
            {
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
                // Its admin may replace them later (`msp-prices`).
                prices: m.prices.or_else(|| file.prices.clone()),
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
}

/// A distributor's file checked against the vault: the MSPs it adds.
#[derive(Debug)]
pub(crate) struct Prepared<'p> {
    plan: &'p DistributorPlan,
    name: String,
    /// The distributor there already, whose admin runs the file again.
    existing: Option<Distributor>,
    /// The file's MSPs to make.
    new: Vec<&'p PlannedMsp>,
    /// The file's MSPs the distributor has already (skipped).
    pub skipped: Vec<String>,
}

impl Prepared<'_> {
    /// The admins of the MSPs to make, in file order (each needs a
    /// master password).
    pub(crate) fn admins(&self) -> Vec<String> {
        self.new.iter().map(|m| m.admin.clone()).collect()
    }
}

/// Checks that the logged-in user may run `plan` as the distributor
/// `name`: either they may make their tenant an enterprise
/// ([`access::may_init`]), or it is that distributor already and they are
/// its admin, when the file's MSPs it does not have (by name, any case)
/// are added and the others skipped.
///
/// # Errors
///
/// [`access::may_init`]'s refusals (or, for a distributor, not being its
/// admin); [`EnterpriseError::Rejected`] for an empty or other name, an
/// id that is not the distributor's, or an admin e-mail some user of the
/// store has.
pub(crate) fn prepare<'p>(
    vault: &Vault,
    name: &str,
    plan: &'p DistributorPlan,
) -> Result<Prepared<'p>> {
    let name = name.trim();
    if name.is_empty() {
        return Err(EnterpriseError::Rejected(
            "the distributor needs a name".into(),
        ));
    }
    let tenant = vault.user().tenant_uid;
    let store = vault.store_read();
    let mut prepared = Prepared {
        plan,
        name: name.to_string(),
        existing: None,
        new: plan.msps.iter().collect(),
        skipped: Vec::new(),
    };
    match store.enterprise(&tenant)? {
        Some(e) if e.kind == EnterpriseKind::Distributor => {
            let d = Distributor::of(vault)?;
            if d.name.to_lowercase() != name.to_lowercase() {
                return Err(EnterpriseError::Rejected(format!(
                    "this tenant is the distributor \"{}\" (ID={}); to add MSPs to it, name it: \
                     enterprise-init --distributor \"{}\"; nothing was changed",
                    d.name, d.id, d.name
                )));
            }
            if plan.id.is_some_and(|id| id != d.id) {
                return Err(EnterpriseError::Rejected(format!(
                    "the file's id is not the distributor's ({}); nothing was changed",
                    d.id
                )));
            }
            let have: Vec<String> = d
                .msps(vault)?
                .into_iter()
                .map(|m| m.enterprise_name.to_lowercase())
                .collect();
            let (skipped, new): (Vec<&PlannedMsp>, Vec<&PlannedMsp>) = plan
                .msps
                .iter()
                .partition(|m| have.contains(&m.name.to_lowercase()));
            prepared.skipped = skipped.into_iter().map(|m| m.name.clone()).collect();
            prepared.new = new;
            prepared.existing = Some(d);
        }
        _ => access::may_init(vault)?,
    }
    let users = store.all_users()?;
    if let Some(taken) = prepared
        .new
        .iter()
        .find(|m| users.iter().any(|u| u.email == m.admin))
    {
        return Err(unusable_admin(&taken.name, &taken.admin));
    }
    Ok(prepared)
}

/// The one refusal for an admin e-mail that cannot be used, whether it is
/// no address or one some user of the store has (the same words either
/// way).
fn unusable_admin(msp: &str, admin: &str) -> EnterpriseError {
    EnterpriseError::Rejected(format!(
        "MSP {msp:?}: {admin:?} cannot be its admin: an MSP admin is a new user, an e-mail \
         address no user of this store has; nothing was changed"
    ))
}

/// Makes the logged-in user's tenant the distributor `prepared` names
/// (unless it is already) and the MSPs it adds; `passwords[i]` is the
/// master password of `prepared.admins()[i]`.
///
/// # Errors
///
/// [`EnterpriseError::Rejected`] for a missing or empty password;
/// [`EnterpriseError::Licences`] for a taken id or node, or a company
/// `msp-add` would refuse. Nothing is written then.
pub(crate) fn init(
    vault: &mut Vault,
    prepared: &Prepared<'_>,
    passwords: &[SecretString],
    params: &KdfParams,
) -> Result<DistributorMade> {
    if passwords.len() != prepared.new.len() {
        return Err(EnterpriseError::Rejected(
            "every MSP admin needs a master password".into(),
        ));
    }
    if let Some((m, _)) = prepared
        .new
        .iter()
        .zip(passwords)
        .find(|(_, p)| p.expose_secret().is_empty())
    {
        return Err(EnterpriseError::Rejected(format!(
            "{} needs a master password: an empty one is refused; nothing was changed",
            m.admin
        )));
    }
    let (plan, name) = (prepared.plan, prepared.name.as_str());
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
    for (m, password) in prepared.new.iter().zip(passwords) {
        let mut msp_tenant = TenantRow {
            uid: crypto::new_uid(),
            name: m.name.clone(),
            parent_uid: Some(tenant.clone()),
            created: now_ms(),
            creator_uid: None,
        };
        let (mut row, data_key, _) = new_user_row(&msp_tenant.uid, &m.admin, password, params)?;
        // The distributor chose this password: the admin's keys (and the
        // MSP's) must be replaced before anything else (`enterprise-rekey`).
        row.must_rekey = true;
        msp_tenant.creator_uid = Some(row.uid.clone());
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
        let id = match (&prepared.existing, plan.id) {
            (Some(d), _) => d.id,
            (None, Some(id)) => id,
            (None, None) => tx.next_enterprise_id()?,
        };
        // The checks of `prepare` again, inside the transaction: another
        // process may have changed the store since.
        match &prepared.existing {
            None => access::may_init_in(&*tx, &user)?,
            Some(d) => {
                if !tx.enterprise(&tenant)?.is_some_and(|e| {
                    e.kind == EnterpriseKind::Distributor && e.enterprise_id == d.id
                }) {
                    return Err(EnterpriseError::Rejected(format!(
                        "the distributor \"{}\" changed while this ran; nothing was changed",
                        d.name
                    )));
                }
            }
        }
        let users = tx.all_users()?;
        if let Some((_, row, _, m)) = made
            .iter()
            .find(|(_, row, _, _)| users.iter().any(|u| u.email == row.email))
        {
            return Err(unusable_admin(&m.name, &row.email));
        }
        if prepared.existing.is_none() {
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
        }
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
        name: prepared
            .existing
            .as_ref()
            .map_or_else(|| name.to_string(), |d| d.name.clone()),
        existed: prepared.existing.is_some(),
        admin: user.email,
        msps: made
            .iter()
            .zip(ids)
            .map(|((_, _, _, m), msp_id)| (msp_id, m.name.clone(), m.admin.clone()))
            .collect(),
    })
}
