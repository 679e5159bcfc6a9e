//! Commander's MSP constants: plans, file plans, add-ons, the unlimited
//! seat count and KEPM's valid seat counts, with case-insensitive lookups.

/// Seats meaning "unlimited" (Commander's 2147483647).
pub(crate) const UNLIMITED: i64 = 2_147_483_647;

/// The seat counts a KEPM add-on may have (plus -1: unlimited).
pub(crate) const KEPM_VALID_SEATS: [i64; 8] = [1, 25, 50, 100, 500, 1000, 5000, 10000];

/// The KEPM add-on.
pub(crate) const KEPM: &str = "keeper_endpoint_privilege_manager";
/// Remote browser isolation, which needs KCM with seats.
pub(crate) const REMOTE_BROWSER_ISOLATION: &str = "remote_browser_isolation";
/// Keeper Connection Manager.
pub(crate) const CONNECTION_MANAGER: &str = "connection_manager";

/// A product an MC can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Keeper's id.
    pub id: i64,
    /// Code (`businessPlus`).
    pub code: &'static str,
    /// Display name.
    pub display: &'static str,
    /// The file plan id the plan includes (0: none).
    pub file_plan: i64,
}

/// Commander's `MSP_PLANS`.
pub(crate) const PLANS: [Plan; 5] = [
    Plan {
        id: 1,
        code: "business",
        display: "Business",
        file_plan: 4,
    },
    Plan {
        id: 2,
        code: "businessPlus",
        display: "Business Plus",
        file_plan: 7,
    },
    Plan {
        id: 3,
        code: "businessStarter",
        display: "Business Starter",
        file_plan: 0,
    },
    Plan {
        id: 10,
        code: "enterprise",
        display: "Enterprise",
        file_plan: 4,
    },
    Plan {
        id: 11,
        code: "enterprisePlus",
        display: "Enterprise Plus",
        file_plan: 7,
    },
];

/// A file storage plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FilePlan {
    /// Keeper's id (bigger is more storage).
    pub id: i64,
    /// Code (`STORAGE_1TB`).
    pub code: &'static str,
    /// Display name (`1TB`).
    pub display: &'static str,
}

/// Commander's `MSP_FILE_PLANS`.
pub(crate) const FILE_PLANS: [FilePlan; 3] = [
    FilePlan {
        id: 4,
        code: "STORAGE_100GB",
        display: "100GB",
    },
    FilePlan {
        id: 7,
        code: "STORAGE_1TB",
        display: "1TB",
    },
    FilePlan {
        id: 8,
        code: "STORAGE_10TB",
        display: "10TB",
    },
];

/// An add-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Addon {
    /// Code.
    pub code: &'static str,
    /// Display name.
    pub display: &'static str,
    /// Whether it takes seats.
    pub seats: bool,
    /// Short name.
    pub short: &'static str,
}

const fn addon(
    code: &'static str,
    display: &'static str,
    seats: bool,
    short: &'static str,
) -> Addon {
    Addon {
        code,
        display,
        seats,
        short,
    }
}

/// Commander's `MSP_ADDONS`, in its order (listings sort by it).
pub(crate) const ADDONS: [Addon; 15] = [
    addon("chat", "KeeperChat", false, "Chat"),
    addon(
        "enterprise_audit_and_reporting",
        "Advanced Reporting & Alerts Module",
        false,
        "ARAM",
    ),
    addon(
        "professional_services_silver_add_on",
        "Professional Services & Support Silver Plan",
        false,
        "Silver Support",
    ),
    addon(
        "gold_professional_services_add_on",
        "Professional Services & Support Gold Plan",
        false,
        "Gold Support",
    ),
    addon(
        "platinum_professional_services_add_on",
        "Professional Services & Support Platinum Plan",
        false,
        "Platinum Support",
    ),
    addon(
        "msp_service_and_support",
        "MSP Dedicated Service & Support",
        false,
        "MSP Support",
    ),
    addon(
        "consumer_breach_watch",
        "Consumer BreachWatch",
        false,
        "Consumer BW",
    ),
    addon(
        "enterprise_breach_watch",
        "Enterprise BreachWatch",
        false,
        "Enterprise BW",
    ),
    addon(
        "compliance_report",
        "Compliance Reporting",
        false,
        "Compliance",
    ),
    addon(
        "secrets_manager",
        "Keeper Secrets Manager (KSM)",
        false,
        "KSM",
    ),
    addon(
        CONNECTION_MANAGER,
        "Keeper Connection Manager (KCM)",
        true,
        "KCM",
    ),
    addon("password_rotation", "Password Rotation", false, "Rotation"),
    addon(
        REMOTE_BROWSER_ISOLATION,
        "Remote Browser Isolation",
        false,
        "Browser Isolation",
    ),
    addon(
        "privileged_access_manager",
        "Privileged Access Manager (PAM)",
        true,
        "PAM",
    ),
    addon(
        KEPM,
        "Keeper Endpoint Privilege Manager (KEPM)",
        true,
        "KEPM",
    ),
];

/// A plan by code, any case.
pub(crate) fn plan(code: &str) -> Option<&'static Plan> {
    PLANS.iter().find(|p| p.code.eq_ignore_ascii_case(code))
}

/// A file plan by code or display name, any case (`1tb`, `STORAGE_1TB`).
pub(crate) fn file_plan(text: &str) -> Option<&'static FilePlan> {
    FILE_PLANS
        .iter()
        .find(|f| f.code.eq_ignore_ascii_case(text) || f.display.eq_ignore_ascii_case(text))
}

/// A file plan by id.
pub(crate) fn file_plan_by_id(id: i64) -> Option<&'static FilePlan> {
    FILE_PLANS.iter().find(|f| f.id == id)
}

/// An add-on by code, any case.
pub(crate) fn addon_by_code(code: &str) -> Option<&'static Addon> {
    ADDONS.iter().find(|a| a.code.eq_ignore_ascii_case(code))
}

/// Where an add-on sorts in listings.
pub(crate) fn addon_order(code: &str) -> usize {
    ADDONS
        .iter()
        .position(|a| a.code == code)
        .unwrap_or(ADDONS.len())
}

/// Seats as people read them: `Unlimited` or the number.
pub(crate) fn seats_text(seats: i64) -> String {
    if seats >= UNLIMITED {
        "Unlimited".to_string()
    } else {
        seats.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_and_take_either_file_plan_name() {
        assert_eq!(plan("BUSINESSPLUS").map(|p| p.id), Some(2));
        assert_eq!(plan("gold"), None);
        assert_eq!(file_plan("1tb").map(|f| f.code), Some("STORAGE_1TB"));
        assert_eq!(file_plan("storage_10tb").map(|f| f.id), Some(8));
        assert_eq!(file_plan("2TB"), None);
        assert_eq!(addon_by_code("KCM"), None, "short names are not codes");
        assert!(addon_by_code("Connection_Manager").is_some_and(|a| a.seats));
        assert_eq!(seats_text(UNLIMITED), "Unlimited");
        assert_eq!(seats_text(7), "7");
    }
}
