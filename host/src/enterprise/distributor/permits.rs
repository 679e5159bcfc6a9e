//! `distributor license`: selecting MSPs (numeric id, exact name, or a
//! case-insensitive glob such as `*` or `bob*`) and changing their permits
//! (allowed products and add-ons, max file plan or none, unlimited seats),
//! or lifting them (keeper's own: Commander has no way back to "no
//! restrictions"), all in one transaction. What the permits then say is
//! what the MSP's `msp-add` / `msp-update` obey.

use super::Distributor;
use super::view::{MspView, effective};
use crate::enterprise::error::{EnterpriseError, Result};
use crate::enterprise::model;
use crate::enterprise::ops::refusable;
use crate::vault::Vault;
use crate::vault::store::enterprise::PermitsRow;

/// The edits of one `distributor license` command.
#[derive(Debug, Clone, Default)]
pub(crate) struct PermitEdits {
    /// Plans to allow.
    pub add_products: Vec<String>,
    /// Plans to disallow.
    pub remove_products: Vec<String>,
    /// Add-ons to allow.
    pub add_addons: Vec<String>,
    /// Add-ons to disallow.
    pub remove_addons: Vec<String>,
    /// The largest file plan.
    pub max_file_plan: Option<MaxFilePlan>,
    /// Whether unlimited seats may be given.
    pub allocate_unlimited: Option<bool>,
    /// Lift every restriction (nothing else may be edited with it).
    pub lift_restrictions: bool,
}

/// A new largest file plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MaxFilePlan {
    /// No limit (`--max-file-plan none`).
    NoLimit,
    /// A file plan as given (`100GB`, `1TB`, `10TB`, any case).
    Plan(String),
}

impl MaxFilePlan {
    /// `none` (any case) is no limit; anything else names a file plan,
    /// checked when the edits are.
    pub(crate) fn parse(text: &str) -> Self {
        if text.trim().eq_ignore_ascii_case("none") {
            Self::NoLimit
        } else {
            Self::Plan(text.to_string())
        }
    }
}

impl PermitEdits {
    /// Whether it changes nothing.
    pub(crate) fn is_empty(&self) -> bool {
        !self.lift_restrictions && !self.edits_permits()
    }

    /// Whether it changes a permit (rather than lifting them all).
    fn edits_permits(&self) -> bool {
        !(self.add_products.is_empty()
            && self.remove_products.is_empty()
            && self.add_addons.is_empty()
            && self.remove_addons.is_empty()
            && self.max_file_plan.is_none()
            && self.allocate_unlimited.is_none())
    }

    /// Checks every code, with Commander's messages.
    fn check(&self) -> Result<()> {
        let refuse = |m: String| Err(EnterpriseError::Rejected(m));
        for p in self.add_products.iter().chain(&self.remove_products) {
            if model::plan(p).is_none() {
                return refuse(format!("Unknown Product: {}", p.to_lowercase()));
            }
        }
        for a in self.add_addons.iter().chain(&self.remove_addons) {
            if model::addon_by_code(a).is_none() {
                return refuse(format!("Unknown Add On: {a}"));
            }
        }
        if let Some(MaxFilePlan::Plan(f)) = &self.max_file_plan
            && !model::FILE_PLANS
                .iter()
                .any(|p| p.display.eq_ignore_ascii_case(f))
        {
            return refuse(format!("Unknown File Plan: {f}"));
        }
        if self.lift_restrictions && self.edits_permits() {
            return refuse(
                "lifting restrictions allows everything: it takes no other change; nothing was \
                 changed"
                    .into(),
            );
        }
        Ok(())
    }

    /// `permits` after these edits (they then restrict the MSP, unless
    /// they lift its restrictions).
    fn apply(&self, permits: &PermitsRow) -> PermitsRow {
        if self.lift_restrictions {
            return PermitsRow::unrestricted();
        }
        let mut out = effective(permits);
        out.restricted = true;
        let plan = |c: &String| model::plan(c).map(|p| p.code.to_string());
        let addon = |c: &String| model::addon_by_code(c).map(|a| a.code.to_string());
        for p in self.add_products.iter().filter_map(plan) {
            if !out.allowed_products.contains(&p) {
                out.allowed_products.push(p);
            }
        }
        let removed: Vec<String> = self.remove_products.iter().filter_map(plan).collect();
        out.allowed_products.retain(|p| !removed.contains(p));
        for a in self.add_addons.iter().filter_map(addon) {
            if !out.allowed_addons.contains(&a) {
                out.allowed_addons.push(a);
            }
        }
        let removed: Vec<String> = self.remove_addons.iter().filter_map(addon).collect();
        out.allowed_addons.retain(|a| !removed.contains(a));
        out.allowed_products
            .sort_by_key(|c| model::PLANS.iter().position(|p| p.code == c));
        out.allowed_addons.sort_by_key(|c| model::addon_order(c));
        match &self.max_file_plan {
            Some(MaxFilePlan::NoLimit) => out.max_file_plan = None,
            Some(MaxFilePlan::Plan(f)) => {
                if let Some(f) = model::file_plan(f) {
                    out.max_file_plan = Some(f.code.to_string());
                }
            }
            None => {}
        }
        if let Some(on) = self.allocate_unlimited {
            out.allow_unlimited = on;
        }
        out
    }
}

/// What `permits` allow, lists sorted: two rows that allow the same are
/// equal whatever their order and whether one is "unrestricted".
fn allowed(permits: &PermitsRow) -> (bool, Vec<String>, Vec<String>, Option<String>) {
    let mut e = effective(permits);
    e.allowed_products.sort();
    e.allowed_addons.sort();
    (
        e.allow_unlimited,
        e.allowed_products,
        e.allowed_addons,
        e.max_file_plan,
    )
}

/// What `distributor license` did.
#[derive(Debug, Clone, Default)]
pub(crate) struct Licensed {
    /// The MSPs selected, by id (empty: none named, all are listed).
    pub selected: Vec<i64>,
    /// Those whose permits changed.
    pub changed: Vec<i64>,
    /// Edits were given without an MSP: ignored.
    pub ignored: bool,
}

/// The MSPs `selectors` name: each a numeric id (only ever an id), or a
/// name pattern (`fnmatch`: `*`, `?`, `[…]`; an exact name matches
/// itself), any case (Unicode: `É` is `é`).
///
/// # Errors
///
/// [`EnterpriseError::Rejected`] naming the selectors that match no MSP.
pub(crate) fn select(msps: &[MspView], selectors: &[String]) -> Result<Vec<i64>> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: false,
        require_literal_leading_dot: false,
    };
    let mut ids: Vec<i64> = Vec::new();
    let mut unmatched: Vec<&str> = Vec::new();
    for s in selectors {
        let id = s.trim().parse::<i64>().ok();
        // Both sides folded alike: glob's own folding is ASCII only.
        let wanted = s.to_lowercase();
        let pattern = glob::Pattern::new(&wanted).ok();
        let hits: Vec<i64> = msps
            .iter()
            .filter(|m| match id {
                Some(id) => m.enterprise_id == id,
                None => {
                    let name = m.enterprise_name.to_lowercase();
                    name == wanted
                        || pattern
                            .as_ref()
                            .is_some_and(|p| p.matches_with(&name, options))
                }
            })
            .map(|m| m.enterprise_id)
            .collect();
        if hits.is_empty() {
            unmatched.push(s);
        }
        for id in hits {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if !unmatched.is_empty() {
        return Err(EnterpriseError::Rejected(format!(
            "MSP \"{}\" not found. Pass MSP ID, name, or name search pattern; nothing was changed",
            unmatched.join(", ")
        )));
    }
    ids.sort_unstable();
    Ok(ids)
}

impl Distributor {
    /// `distributor license SELECTORS EDITS`: applies `edits` to the
    /// selected MSPs' permits in one transaction (unchanged permits are
    /// not written). Edits without a selection are ignored
    /// ([`Licensed::ignored`]), as Commander's.
    ///
    /// # Errors
    ///
    /// An unknown product, add-on or file plan, or a selector matching no
    /// MSP ([`EnterpriseError::Rejected`]); nothing is changed then.
    pub(crate) fn license(
        &self,
        vault: &mut Vault,
        selectors: &[String],
        edits: &PermitEdits,
    ) -> Result<Licensed> {
        edits.check()?;
        let msps = self.msps(vault)?;
        let selected = select(&msps, selectors)?;
        if selected.is_empty() || edits.is_empty() {
            return Ok(Licensed {
                ignored: selected.is_empty() && !edits.is_empty(),
                selected,
                changed: Vec::new(),
            });
        }
        let targets: Vec<&MspView> = msps
            .iter()
            .filter(|m| selected.contains(&m.enterprise_id))
            .collect();
        let changed = refusable(vault, |tx| {
            let mut changed = Vec::new();
            for msp in &targets {
                // Read again inside the transaction: an msp-add of the
                // MSP's admin may have run since.
                let Some(mut licences) = tx.msp_licences(&msp.tenant_uid)? else {
                    continue;
                };
                let permits = edits.apply(&licences.permits);
                if allowed(&permits) == allowed(&licences.permits)
                    && (permits.restricted || !licences.permits.restricted)
                {
                    // A no-op edit leaves an unrestricted MSP unrestricted;
                    // lifting restrictions that allow everything changes
                    // what `msp-info -r` says.
                    continue;
                }
                licences.permits = permits;
                tx.put_msp_licences(&licences)?;
                changed.push(msp.enterprise_id);
            }
            Ok(changed)
        })?;
        Ok(Licensed {
            selected,
            changed,
            ignored: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msp(id: i64, name: &str) -> MspView {
        MspView {
            distributor_name: "D".into(),
            enterprise_id: id,
            enterprise_name: name.into(),
            allocated_licenses: 0,
            allowed_mc_products: Vec::new(),
            allowed_add_ons: Vec::new(),
            max_file_plan_type: None,
            allow_unlimited_licenses: true,
            restricted: false,
            managed_companies: Vec::new(),
            add_ons: Vec::new(),
            companies_above_permits: 0,
            tenant_uid: format!("t{id}"),
        }
    }

    fn pick(msps: &[MspView], selectors: &[&str]) -> Result<Vec<i64>> {
        select(
            msps,
            &selectors.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn selection_by_id_exact_name_and_case_insensitive_glob() {
        let msps = [
            msp(3456, "Bob's MSP"),
            msp(3457, "My MSP"),
            msp(12, "Other [x]"),
        ];
        let s = |sel: &[&str]| pick(&msps, sel);
        assert_eq!(s(&["3456"]).expect("id"), [3456]);
        assert_eq!(s(&["bob's msp"]).expect("name"), [3456]);
        assert_eq!(s(&["*"]).expect("all"), [12, 3456, 3457]);
        assert_eq!(s(&["*msp"]).expect("glob"), [3456, 3457]);
        assert_eq!(s(&["My MSP", "3456"]).expect("both"), [3456, 3457]);
        assert_eq!(s(&["other [x]"]).expect("exact name with brackets"), [12]);
        let err = s(&["3456", "nobody*"]).expect_err("unmatched");
        assert!(
            err.to_string().contains("MSP \"nobody*\" not found."),
            "{err}"
        );
        assert!(s(&[]).expect("none").is_empty());
        // A number is an id only, never a name; names fold beyond ASCII.
        let msps = [msp(12, "Zwölf"), msp(13, "12"), msp(14, "ÉCOLE MSP")];
        let s = |sel: &[&str]| pick(&msps, sel);
        assert_eq!(s(&["12"]).expect("id"), [12]);
        assert_eq!(s(&["école msp"]).expect("Unicode name"), [14]);
        assert_eq!(s(&["éc*"]).expect("Unicode glob"), [14]);
        assert_eq!(s(&["ZWÖLF"]).expect("Unicode name"), [12]);
    }

    #[test]
    fn edits_start_from_what_applies_and_then_restrict() {
        let open = PermitsRow {
            restricted: false,
            allow_unlimited: true,
            allowed_products: Vec::new(),
            allowed_addons: Vec::new(),
            max_file_plan: None,
        };
        let edits = PermitEdits {
            remove_products: vec!["Enterprise".into()],
            remove_addons: vec!["chat".into()],
            max_file_plan: Some(MaxFilePlan::parse("1tb")),
            allocate_unlimited: Some(false),
            ..PermitEdits::default()
        };
        let after = edits.apply(&open);
        assert!(after.restricted && !after.allow_unlimited);
        assert_eq!(
            after.allowed_products,
            [
                "business",
                "businessPlus",
                "businessStarter",
                "enterprisePlus"
            ]
        );
        assert!(!after.allowed_addons.contains(&"chat".to_string()));
        assert_eq!(after.allowed_addons.len(), model::ADDONS.len() - 1);
        assert_eq!(after.max_file_plan.as_deref(), Some("STORAGE_1TB"));
        // Allowing what is allowed already changes nothing, in any order.
        let noop = PermitEdits {
            add_products: vec!["business".into()],
            ..PermitEdits::default()
        };
        assert_eq!(allowed(&noop.apply(&open)), allowed(&open));
        let mut reordered = after.clone();
        reordered.allowed_products.reverse();
        assert_eq!(allowed(&reordered), allowed(&after));
        for (bad, message) in [
            (
                PermitEdits {
                    add_products: vec!["gold".into()],
                    ..PermitEdits::default()
                },
                "Unknown Product: gold",
            ),
            (
                PermitEdits {
                    remove_addons: vec!["KCM".into()],
                    ..PermitEdits::default()
                },
                "Unknown Add On: KCM",
            ),
            (
                PermitEdits {
                    max_file_plan: Some(MaxFilePlan::parse("2TB")),
                    ..PermitEdits::default()
                },
                "Unknown File Plan: 2TB",
            ),
            (
                PermitEdits {
                    lift_restrictions: true,
                    add_products: vec!["business".into()],
                    ..PermitEdits::default()
                },
                "lifting restrictions allows everything: it takes no other change; nothing was \
                 changed",
            ),
        ] {
            let err = bad.check().expect_err("refused");
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn the_file_plan_limit_clears_and_restrictions_lift() {
        let limited = PermitsRow {
            restricted: true,
            allow_unlimited: false,
            allowed_products: vec!["business".into()],
            allowed_addons: Vec::new(),
            max_file_plan: Some("STORAGE_100GB".into()),
        };
        let cleared = PermitEdits {
            max_file_plan: Some(MaxFilePlan::parse(" NONE ")),
            ..PermitEdits::default()
        };
        cleared.check().expect("none is no limit");
        let after = cleared.apply(&limited);
        assert_eq!(after.max_file_plan, None);
        assert!(after.restricted, "only the file plan limit is gone");
        assert_eq!(after.allowed_products, ["business"]);

        let lift = PermitEdits {
            lift_restrictions: true,
            ..PermitEdits::default()
        };
        lift.check().expect("alone");
        assert!(!lift.is_empty());
        assert_eq!(lift.apply(&limited), PermitsRow::unrestricted());
    }
}
