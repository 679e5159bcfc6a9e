//! `msp-copy-role`: copies MSP roles to managed companies, Commander's
//! way. Each source role is found by id or name (absent or ambiguous:
//! refused before anything is written); in each company the role of the
//! same name is found (two of them: skipped with a warning) or made under
//! the company's root node, its name sealed under the company's tree key
//! and `visible_below` / `new_user_inherit` copied; then its enforcements
//! are made equal to the source's (`account_share` ones name a role of
//! their own enterprise and are left out on both sides). One transaction.

use super::Msp;
use super::error::{EnterpriseError, Result};
use super::ops::refusable;
use super::roles::{Role, find};
use crate::vault::Vault;
use crate::vault::store::enterprise::ManagedCompanyRow;
use crate::vault::store::roles::EnforcementRow;

/// What copying did, line by line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CopyReport {
    /// What changed, per company (`MC <id>: Roles are in sync` when nothing).
    pub lines: Vec<String>,
    /// Roles skipped because the company has two of that name.
    pub warnings: Vec<String>,
}

/// The enforcements copying compares (all but `account_share`).
fn copied(e: &EnforcementRow) -> bool {
    e.value_type != "account_share"
}

impl Msp {
    /// Copies `roles` (ids or names) to companies `mcs` (names or ids).
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::Rejected`] for a role that is not found or whose
    /// name is not unique, [`EnterpriseError::NoCompany`]; nothing is
    /// written then.
    pub(crate) fn copy_roles(
        &self,
        vault: &mut Vault,
        roles: &[String],
        mcs: &[String],
    ) -> Result<CopyReport> {
        refusable(vault, |tx| {
            let own = self.scope(&*tx, None)?;
            let all = own.roles(&*tx)?;
            let mut sources: Vec<&Role> = Vec::new();
            for text in roles {
                let role = find(&all, text)?;
                if let Some(twin) = sources.iter().find(|r| {
                    r.row.role_id != role.row.role_id && r.name.eq_ignore_ascii_case(&role.name)
                }) {
                    return Err(EnterpriseError::Rejected(format!(
                        "Roles {} and {} are both named \"{}\": copy one of them at a time",
                        twin.row.role_id, role.row.role_id, role.name
                    )));
                }
                if !sources.iter().any(|r| r.row.role_id == role.row.role_id) {
                    sources.push(role);
                }
            }
            let state = self.state_in(&*tx)?;
            let mut companies = Vec::new();
            for text in mcs {
                let mc = state
                    .company(text)
                    .ok_or_else(|| EnterpriseError::NoCompany(text.clone()))?;
                if !companies
                    .iter()
                    .any(|c: &&ManagedCompanyRow| c.tenant_uid == mc.tenant_uid)
                {
                    companies.push(mc);
                }
            }
            let mut report = CopyReport::default();
            for mc in companies {
                let scope = self.company_scope(mc)?;
                let theirs = scope.roles(&*tx)?;
                let id = mc.enterprise_id;
                let before = report.lines.len();
                for source in &sources {
                    let same: Vec<&Role> = theirs
                        .iter()
                        .filter(|r| r.name.eq_ignore_ascii_case(&source.name))
                        .collect();
                    let (mut row, made) = match same.as_slice() {
                        [] => {
                            let root = scope.root(tx)?;
                            let row = scope.add_role(tx, &source.name, root, Some(&source.row))?;
                            (row, true)
                        }
                        [one] => (one.row.clone(), false),
                        _ => {
                            report.warnings.push(format!(
                                "MC {id}: more than one role \"{}\": skipped",
                                source.name
                            ));
                            continue;
                        }
                    };
                    let want: Vec<&EnforcementRow> = source
                        .row
                        .enforcements
                        .iter()
                        .filter(|e| copied(e))
                        .collect();
                    let (mut added, mut updated, mut removed) = (0, 0, 0);
                    for e in &want {
                        match row.enforcements.iter().find(|x| x.key == e.key) {
                            None => added += 1,
                            Some(x) if x != *e => updated += 1,
                            Some(_) => {}
                        }
                    }
                    for x in row.enforcements.iter().filter(|x| copied(x)) {
                        if !want.iter().any(|e| e.key == x.key) {
                            removed += 1;
                        }
                    }
                    if !made && added + updated + removed == 0 {
                        continue;
                    }
                    row.enforcements.retain(|x| !copied(x));
                    row.enforcements.extend(want.into_iter().cloned());
                    row.enforcements.sort_by(|a, b| a.key.cmp(&b.key));
                    tx.put_role(&row)?;
                    let what = if made {
                        format!("role \"{}\" added (ID={})", source.name, row.role_id)
                    } else {
                        format!("role \"{}\" (ID={})", source.name, row.role_id)
                    };
                    report.lines.push(format!(
                        "MC {id}: {what}: enforcements {added} added, {updated} updated, \
                         {removed} removed"
                    ));
                }
                if report.lines.len() == before {
                    report.lines.push(format!("MC {id}: Roles are in sync"));
                }
            }
            Ok(report)
        })
    }
}
