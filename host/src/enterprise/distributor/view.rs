//! What a distributor sees of its MSPs (Commander's
//! `get_distributor_info`): per MSP its permits, allocated licences and
//! managed companies, each with plan, seats, users, file plan and
//! add-ons, and what each company has that its MSP's permits no longer
//! allow. Read from rows in the clear; JSON keeps Commander's names.

use serde::Serialize;

use crate::enterprise::error::Result;
use crate::enterprise::model::{self, UNLIMITED};
use crate::vault::store::StoreRead;
use crate::vault::store::enterprise::{AddonRow, EnterpriseKind, ManagedCompanyRow, PermitsRow};

/// An add-on of a company (or, summed over its companies, of an MSP).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct AddonView {
    /// Add-on code.
    pub name: String,
    /// Seats (0: none; 2147483647: unlimited).
    pub seats: i64,
    /// Always true: keeper stores only enabled add-ons.
    pub enabled: bool,
    /// Always false: a plan's own add-ons are not stored.
    pub included_in_product: bool,
}

/// A managed company as its distributor sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct McView {
    /// Enterprise id.
    pub mc_enterprise_id: i64,
    /// Name.
    pub mc_enterprise_name: String,
    /// The MSP node it sits under.
    pub msp_node_id: i64,
    /// Seats (2147483647: unlimited).
    pub number_of_seats: i64,
    /// Users in the company.
    pub number_of_users: i64,
    /// Plan code.
    pub product_id: String,
    /// Paused.
    pub is_expired: bool,
    /// File plan code (the plan's own when none above it was chosen).
    pub file_plan_type: Option<String>,
    /// Add-ons, in Commander's order.
    pub add_ons: Vec<AddonView>,
    /// What it has that its MSP's permits do not allow (keeper's own:
    /// the distributor disallowed it after the company got it).
    pub above_permits: Vec<AbovePermit>,
}

/// Something a company has that its MSP's permits do not allow. JSON:
/// `{"permit": "plan", "code": "enterprise"}`, `{"permit": "add_on",
/// "code": "chat"}`, `{"permit": "file_plan", "code": "STORAGE_10TB"}`,
/// `{"permit": "unlimited_seats"}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "permit", content = "code", rename_all = "snake_case")]
pub(crate) enum AbovePermit {
    /// Its plan (code) is not an allowed product.
    Plan(String),
    /// Unlimited seats, which the MSP may not give.
    UnlimitedSeats,
    /// Its file plan (code) is above the largest allowed.
    FilePlan(String),
    /// An add-on (code) that is not allowed.
    AddOn(String),
}

impl AbovePermit {
    /// As a table shows it: `Plan: Enterprise`, `Unlimited seats`,
    /// `Storage: 10TB`, `Add-on: Chat`.
    pub(crate) fn text(&self) -> String {
        match self {
            Self::Plan(code) => format!("Plan: {}", plan_display(code)),
            Self::UnlimitedSeats => "Unlimited seats".into(),
            Self::FilePlan(code) => format!("Storage: {}", file_plan_display(Some(code))),
            Self::AddOn(code) => format!("Add-on: {}", short(code)),
        }
    }
}

/// An MSP as its distributor sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct MspView {
    /// The distributor's name.
    pub distributor_name: String,
    /// Enterprise id.
    pub enterprise_id: i64,
    /// Name.
    pub enterprise_name: String,
    /// Seats allocated to its companies (unlimited ones count none).
    pub allocated_licenses: i64,
    /// Plans its companies may have.
    pub allowed_mc_products: Vec<String>,
    /// Add-ons its companies may have.
    pub allowed_add_ons: Vec<String>,
    /// The largest file plan it may give (code), if limited.
    pub max_file_plan_type: Option<String>,
    /// May give unlimited seats.
    pub allow_unlimited_licenses: bool,
    /// Whether permits apply at all (false: none set, everything allowed).
    pub restricted: bool,
    /// Its companies, by id.
    pub managed_companies: Vec<McView>,
    /// What its companies have, summed per add-on (keeper's MSPs have no
    /// add-ons of their own).
    pub add_ons: Vec<AddonView>,
    /// How many of its companies have something its permits do not
    /// allow (keeper's own).
    pub companies_above_permits: usize,
    /// Its tenant.
    #[serde(skip)]
    pub tenant_uid: String,
}

/// The permits that apply: with none set, every plan and add-on, no
/// file-plan limit, unlimited seats allowed.
pub(crate) fn effective(permits: &PermitsRow) -> PermitsRow {
    if permits.restricted {
        return permits.clone();
    }
    PermitsRow {
        restricted: false,
        allow_unlimited: true,
        allowed_products: model::PLANS.iter().map(|p| p.code.to_string()).collect(),
        allowed_addons: model::ADDONS.iter().map(|a| a.code.to_string()).collect(),
        max_file_plan: None,
    }
}

/// Every MSP the distributor `distributor_uid` (named `distributor_name`)
/// manages.
pub(super) fn msps(
    store: &dyn StoreRead,
    distributor_uid: &str,
    distributor_name: &str,
) -> Result<Vec<MspView>> {
    let tenants = store.tenants()?;
    let mut out = Vec::new();
    for e in store.enterprises()? {
        if e.kind != EnterpriseKind::Msp || e.parent_uid.as_deref() != Some(distributor_uid) {
            continue;
        }
        let Some(licences) = store.msp_licences(&e.tenant_uid)? else {
            continue;
        };
        let permits = effective(&licences.permits);
        let companies: Vec<McView> = store
            .managed_companies(&e.tenant_uid)?
            .iter()
            .map(|mc| company(mc, &licences.permits))
            .collect();
        out.push(MspView {
            distributor_name: distributor_name.to_string(),
            enterprise_id: e.enterprise_id,
            enterprise_name: tenants
                .iter()
                .find(|t| t.uid == e.tenant_uid)
                .map_or_else(String::new, |t| t.name.clone()),
            allocated_licenses: companies
                .iter()
                .filter(|c| c.number_of_seats < UNLIMITED)
                .map(|c| c.number_of_seats)
                .sum(),
            allowed_mc_products: permits.allowed_products,
            allowed_add_ons: permits.allowed_addons,
            max_file_plan_type: permits.max_file_plan,
            allow_unlimited_licenses: permits.allow_unlimited,
            restricted: permits.restricted,
            add_ons: summed(&companies),
            companies_above_permits: companies
                .iter()
                .filter(|c| !c.above_permits.is_empty())
                .count(),
            managed_companies: companies,
            tenant_uid: e.tenant_uid,
        });
    }
    out.sort_by_key(|m| m.enterprise_id);
    Ok(out)
}

fn addon_view(a: &AddonRow) -> AddonView {
    AddonView {
        name: a.addon.clone(),
        seats: a.seats,
        enabled: true,
        included_in_product: false,
    }
}

fn company(mc: &ManagedCompanyRow, permits: &PermitsRow) -> McView {
    let mut addons: Vec<AddonView> = mc.addons.iter().map(addon_view).collect();
    addons.sort_by_key(|a| model::addon_order(&a.name));
    let above_permits = above_permits(mc, &addons, permits);
    let own = model::plan(&mc.plan)
        .and_then(|p| model::file_plan_by_id(p.file_plan))
        .map(|f| f.code.to_string());
    McView {
        mc_enterprise_id: mc.enterprise_id,
        mc_enterprise_name: mc.name.clone(),
        msp_node_id: mc.node_id,
        number_of_seats: mc.seats,
        number_of_users: mc.active_users,
        product_id: mc.plan.clone(),
        is_expired: mc.paused,
        file_plan_type: mc.file_plan.clone().or(own),
        add_ons: addons,
        above_permits,
    }
}

/// What `mc` (whose add-ons, in order, are `addons`) has that `permits`
/// do not allow, by the rules `msp-add` / `msp-update` check (none when
/// unrestricted): its plan, unlimited seats, a file plan chosen above the
/// largest allowed (the plan's own storage is part of the plan), add-ons.
fn above_permits(
    mc: &ManagedCompanyRow,
    addons: &[AddonView],
    permits: &PermitsRow,
) -> Vec<AbovePermit> {
    if !permits.restricted {
        return Vec::new();
    }
    let allows = |list: &[String], code: &str| list.iter().any(|c| c.eq_ignore_ascii_case(code));
    let mut out = Vec::new();
    if !allows(&permits.allowed_products, &mc.plan) {
        out.push(AbovePermit::Plan(mc.plan.clone()));
    }
    if mc.seats >= UNLIMITED && !permits.allow_unlimited {
        out.push(AbovePermit::UnlimitedSeats);
    }
    let max = permits.max_file_plan.as_deref().and_then(model::file_plan);
    if let (Some(max), Some(chosen)) = (max, mc.file_plan.as_deref().and_then(model::file_plan))
        && chosen.id > max.id
    {
        out.push(AbovePermit::FilePlan(chosen.code.to_string()));
    }
    out.extend(
        addons
            .iter()
            .filter(|a| !allows(&permits.allowed_addons, &a.name))
            .map(|a| AbovePermit::AddOn(a.name.clone())),
    );
    out
}

/// The companies' add-ons summed per add-on, in Commander's order.
fn summed(companies: &[McView]) -> Vec<AddonView> {
    let mut out: Vec<AddonView> = Vec::new();
    for a in companies.iter().flat_map(|c| &c.add_ons) {
        match out.iter_mut().find(|o| o.name == a.name) {
            Some(o) => o.seats = o.seats.saturating_add(a.seats).min(UNLIMITED),
            None => out.push(a.clone()),
        }
    }
    out.sort_by_key(|a| model::addon_order(&a.name));
    out
}

/// An add-on's column text (Commander's KSM / KCM / PAM columns): `N
/// seats` (unlimited too, as Commander: `2147483647 seats`), `enabled` or
/// `disabled`.
pub(crate) fn addon_column(addons: &[AddonView], code: &str) -> String {
    match addons.iter().find(|a| a.name == code) {
        Some(a) if a.seats > 0 => format!("{} seats", a.seats),
        Some(_) => "enabled".into(),
        None => "disabled".into(),
    }
}

/// The short names of the add-ons the KSM, KCM and PAM columns do not show.
pub(crate) fn other_addons(addons: &[AddonView]) -> Vec<String> {
    const OWN_COLUMNS: [&str; 3] = [
        "secrets_manager",
        model::CONNECTION_MANAGER,
        "privileged_access_manager",
    ];
    addons
        .iter()
        .filter(|a| !OWN_COLUMNS.contains(&a.name.as_str()))
        .map(|a| short(&a.name))
        .collect()
}

/// An add-on's short name (its code when unknown).
pub(crate) fn short(code: &str) -> String {
    model::addon_by_code(code).map_or_else(|| code.to_string(), |a| a.short.to_string())
}

/// A plan's display name (its code when unknown).
pub(crate) fn plan_display(code: &str) -> String {
    model::plan(code).map_or_else(|| code.to_string(), |p| p.display.to_string())
}

/// A file plan's display name (`1TB`); empty for none.
pub(crate) fn file_plan_display(code: Option<&str>) -> String {
    code.and_then(model::file_plan)
        .map_or_else(String::new, |f| f.display.to_string())
}

/// Seats as the distributor shows them: `Unlimited` above 2,000,000,000.
pub(crate) fn seats_column(seats: i64) -> String {
    if seats > 2_000_000_000 {
        "Unlimited".into()
    } else {
        seats.to_string()
    }
}

/// Cuts a name to 40 characters (37 and `...`) unless `verbose`.
pub(crate) fn cut(name: &str, verbose: bool) -> String {
    if verbose || name.chars().count() <= 40 {
        return name.to_string();
    }
    let head: String = name.chars().take(37).collect();
    format!("{head}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a company has beyond permits changed after it got it, in
    /// order; nothing for an unrestricted MSP or within the permits.
    #[test]
    fn companies_above_their_permits_are_named() {
        let mc = ManagedCompanyRow {
            tenant_uid: "mc".into(),
            msp_uid: "msp".into(),
            enterprise_id: 7,
            name: "Wide".into(),
            node_id: 1,
            plan: "enterprise".into(),
            seats: UNLIMITED,
            file_plan: Some("STORAGE_10TB".into()),
            paused: false,
            wrapped_tree_key: Vec::new(),
            data: Vec::new(),
            addons: vec![
                AddonRow {
                    addon: "secrets_manager".into(),
                    seats: 0,
                },
                AddonRow {
                    addon: "chat".into(),
                    seats: 0,
                },
            ],
            active_users: 0,
        };
        let permits = PermitsRow {
            restricted: true,
            allow_unlimited: false,
            allowed_products: vec!["business".into()],
            allowed_addons: vec!["secrets_manager".into()],
            max_file_plan: Some("STORAGE_1TB".into()),
        };
        let view = company(&mc, &permits);
        assert_eq!(
            view.above_permits,
            [
                AbovePermit::Plan("enterprise".into()),
                AbovePermit::UnlimitedSeats,
                AbovePermit::FilePlan("STORAGE_10TB".into()),
                AbovePermit::AddOn("chat".into()),
            ]
        );
        let texts: Vec<String> = view.above_permits.iter().map(AbovePermit::text).collect();
        assert_eq!(
            texts,
            [
                "Plan: Enterprise",
                "Unlimited seats",
                "Storage: 10TB",
                "Add-on: Chat"
            ]
        );
        assert_eq!(
            serde_json::to_value(&view.above_permits).expect("json"),
            serde_json::json!([
                {"permit": "plan", "code": "enterprise"},
                {"permit": "unlimited_seats"},
                {"permit": "file_plan", "code": "STORAGE_10TB"},
                {"permit": "add_on", "code": "chat"},
            ])
        );
        assert!(
            company(&mc, &PermitsRow::unrestricted())
                .above_permits
                .is_empty()
        );
        let roomy = PermitsRow {
            allow_unlimited: true,
            allowed_products: vec!["Enterprise".into()],
            allowed_addons: vec!["chat".into(), "secrets_manager".into()],
            max_file_plan: Some("STORAGE_10TB".into()),
            ..permits
        };
        assert!(company(&mc, &roomy).above_permits.is_empty());

        // A plan's own storage (businessPlus: 1TB) is part of the plan,
        // never flagged, even above the maximum; a chosen file plan equal
        // to the maximum is not above it.
        let plus = ManagedCompanyRow {
            plan: "businessPlus".into(),
            seats: 5,
            file_plan: None,
            addons: Vec::new(),
            ..mc.clone()
        };
        let small = PermitsRow {
            allow_unlimited: true,
            allowed_products: vec!["businessPlus".into()],
            max_file_plan: Some("STORAGE_100GB".into()),
            ..roomy.clone()
        };
        assert!(company(&plus, &small).above_permits.is_empty());
        let at_max = ManagedCompanyRow {
            file_plan: Some("STORAGE_1TB".into()),
            ..plus
        };
        let max = PermitsRow {
            max_file_plan: Some("STORAGE_1TB".into()),
            ..small
        };
        assert!(company(&at_max, &max).above_permits.is_empty());
    }

    /// Commander's `N seats`, unlimited included; `enabled` without seats.
    #[test]
    fn addon_columns_show_seats_as_commander() {
        let addon = |name: &str, seats: i64| AddonView {
            name: name.into(),
            seats,
            enabled: true,
            included_in_product: false,
        };
        let addons = [
            addon("connection_manager", UNLIMITED),
            addon("privileged_access_manager", 5),
            addon("secrets_manager", 0),
        ];
        assert_eq!(
            addon_column(&addons, "connection_manager"),
            "2147483647 seats"
        );
        assert_eq!(
            addon_column(&addons, "privileged_access_manager"),
            "5 seats"
        );
        assert_eq!(addon_column(&addons, "secrets_manager"), "enabled");
        assert_eq!(addon_column(&addons, "chat"), "disabled");
    }
}
