//! Commander's checks of `msp-add` / `msp-update` input, each with its
//! message: node, plan, seats, file plan, add-ons (and the rule that
//! remote browser isolation needs KCM with seats), and the pool.

use super::error::{EnterpriseError, Result};
use super::model::{self, Plan, UNLIMITED};
use super::state::MspState;
use crate::vault::store::enterprise::AddonRow;

fn rejected(message: String) -> EnterpriseError {
    EnterpriseError::Rejected(message)
}

/// The node `text` names (exactly one), or the first root node.
pub(crate) fn node(state: &MspState, text: Option<&str>) -> Result<i64> {
    let Some(text) = text else {
        return state.root_node().map(|n| n.id).ok_or_else(|| {
            rejected("No root nodes were detected. Specify --node parameter".into())
        });
    };
    match state.resolve_nodes(text).as_slice() {
        [] => Err(rejected(format!("Node \"{text}\" is not found"))),
        [one] => Ok(one.id),
        _ => Err(rejected(format!(
            "More than one nodes \"{text}\" are found"
        ))),
    }
}

/// Which check comes first: `msp-add` asks "allowed?" before "known?",
/// `msp-update` the other way round (as Commander).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlanOrder {
    /// Permits first.
    AllowedFirst,
    /// Known plans first.
    KnownFirst,
}

/// A plan the MSP may give.
pub(crate) fn plan(state: &MspState, text: &str, order: PlanOrder) -> Result<&'static Plan> {
    let allowed = || {
        state.permits().is_none_or(|p| {
            p.allowed_products
                .iter()
                .any(|a| a.eq_ignore_ascii_case(text))
        })
    };
    let not_allowed = || rejected(format!("Managed Company plan \"{text}\" is not allowed"));
    let not_found = || {
        rejected(format!(
            "Managed Company plan \"{}\" is not found",
            text.to_lowercase()
        ))
    };
    if order == PlanOrder::AllowedFirst && !allowed() {
        return Err(not_allowed());
    }
    let plan = model::plan(text).ok_or_else(not_found)?;
    if !allowed() {
        return Err(not_allowed());
    }
    Ok(plan)
}

/// Seats as stored: -1 means unlimited (if permitted), and so does any
/// count at or above [`UNLIMITED`] (its encoding): such a count passes
/// the same permit check, never around it.
pub(crate) fn seats(state: &MspState, seats: i64) -> Result<i64> {
    if seats < 0 || seats >= UNLIMITED {
        if state.permits().is_some_and(|p| !p.allow_unlimited) {
            return Err(rejected(
                "Managed Company unlimited licences are not allowed".into(),
            ));
        }
        if seats < -1 {
            return Err(rejected(format!(
                "Managed Company seats \"{seats}\" are not valid: -1 (unlimited), or 0 and more"
            )));
        }
        return Ok(UNLIMITED);
    }
    Ok(seats)
}

/// The licences `seats` draws from the pool: unlimited draws none.
pub(crate) fn draw(seats: i64) -> i64 {
    if seats >= UNLIMITED { 0 } else { seats.max(0) }
}

/// The file plan code to store for `text` on `plan`: `None` when the plan
/// includes as much already.
pub(crate) fn file_plan(state: &MspState, plan: &Plan, text: &str) -> Result<Option<String>> {
    let wanted = model::file_plan(text).ok_or_else(|| {
        rejected(format!(
            "File plan \"{}\" is not found",
            text.to_lowercase()
        ))
    })?;
    if let Some(max) = state
        .permits()
        .and_then(|p| p.max_file_plan.as_deref())
        .and_then(model::file_plan)
        && max.id < wanted.id
    {
        return Err(rejected(format!(
            "Managed Company file storage \"{}\" is not allowed",
            wanted.display
        )));
    }
    Ok((plan.file_plan < wanted.id).then(|| wanted.code.to_string()))
}

/// One `ADDON[:SEATS]` argument: the add-on, checked against the
/// permits when `adding`, and its seats (0 where it takes none).
pub(crate) fn addon(state: &MspState, arg: &str, adding: bool) -> Result<AddonRow> {
    let (name, seats) = match arg.split_once(':') {
        Some((n, s)) => (n, Some(s)),
        None => (arg, None),
    };
    let name = name.to_lowercase();
    let addon = model::addon_by_code(&name)
        .ok_or_else(|| rejected(format!("Addon \"{name}\" is not found")))?;
    if adding
        && state.permits().is_some_and(|p| {
            !p.allowed_addons
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&name))
        })
    {
        return Err(rejected(format!(
            "Managed Company add-on \"{name}\" is not allowed"
        )));
    }
    let mut count = 0;
    if let Some(text) = seats.filter(|_| addon.seats && adding) {
        count = if addon.code == model::KEPM && text.trim() == "-1" {
            UNLIMITED
        } else {
            text.trim().parse::<i64>().map_err(|_| {
                rejected(format!(
                    "Addon \"{name}\". Number of seats \"{text}\" is not integer"
                ))
            })?
        };
        if addon.code == model::KEPM
            && !model::KEPM_VALID_SEATS.contains(&count)
            && count != UNLIMITED
        {
            let valid: Vec<String> = model::KEPM_VALID_SEATS.iter().map(i64::to_string).collect();
            return Err(rejected(format!(
                "Addon \"{name}\". Invalid seat value \"{text}\". Valid values are: {}, -1 (for unlimited)",
                valid.join(", ")
            )));
        }
        if count < 0 {
            return Err(rejected(format!(
                "Addon \"{name}\". Number of seats \"{text}\" is not valid: 0 and more"
            )));
        }
    }
    Ok(AddonRow {
        addon: addon.code.to_string(),
        seats: count,
    })
}

/// Remote browser isolation needs KCM, with seats.
pub(crate) fn addon_rules(addons: &[AddonRow]) -> Result<()> {
    if !addons
        .iter()
        .any(|a| a.addon == model::REMOTE_BROWSER_ISOLATION)
    {
        return Ok(());
    }
    let (rbi, kcm) = (model::REMOTE_BROWSER_ISOLATION, model::CONNECTION_MANAGER);
    match addons.iter().find(|a| a.addon == kcm) {
        None => Err(rejected(format!(
            "Addon \"{rbi}\" requires \"{kcm}\" to be selected"
        ))),
        Some(a) if a.seats == 0 => Err(rejected(format!(
            "Addon \"{rbi}\" requires \"{kcm}\" to have seats specified (e.g., {kcm}:N)"
        ))),
        Some(_) => Ok(()),
    }
}

/// The pool has `seats` of `plan` for company `mc` (not yet counting
/// what `mc` holds now). Unlimited seats draw nothing; a plan the pool
/// does not list has no licences.
pub(crate) fn pool(state: &MspState, plan: &str, seats: i64, mc: Option<&str>) -> Result<()> {
    if seats >= UNLIMITED || seats == 0 {
        return Ok(());
    }
    let total = state
        .licences
        .pools
        .iter()
        .find(|p| p.plan == plan)
        .map_or(0, |p| p.total);
    let available = total - state.allocated(plan, mc);
    if seats > available {
        return Err(EnterpriseError::Pool {
            plan: plan.to_string(),
            available: available.max(0),
            requested: seats,
            total,
        });
    }
    Ok(())
}
