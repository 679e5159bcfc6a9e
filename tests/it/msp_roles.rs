//! Roles with enforcements, msp-copy-role and msp-convert-node through the
//! binary, on both stores: roles listed (table and JSON) with each
//! enforcement type, copied to companies (ambiguity, absence, a company
//! with two roles of the name, a second run "in sync", enforcement
//! updates and removals), and nodes converted into companies (the root
//! refused, every blocking link listed with nothing written, the seats
//! rule, an existing company reused), with the raw rows checked: what
//! moved opens with the company's tree key and no longer with the MSP's.

use serde_json::{Value, json};

use keeper::testing::enterprise::sealed_name;
use keeper::testing::vault::SecretString;

use crate::msp::{fixture, location, msp_vault, other_backend, raw_rows};
use crate::support::{Keeper, Run};
use crate::vault::{PW, add_user, run_as};

pub(crate) const ALICE: &str = "alice@example.com";

/// Runs `keeper ARGS` as alice, the MSP admin.
pub(crate) fn alice(k: &Keeper, args: &[&str]) -> Run {
    run_as(k, Some(ALICE), PW, args)
}

/// The roles of the MSP (`mc` = `None`) or of a company, as JSON.
pub(crate) fn roles(k: &Keeper, mc: Option<&str>) -> Vec<Value> {
    let mut args = vec!["enterprise-role", "--format", "json"];
    if let Some(mc) = mc {
        args.extend(["--mc", mc]);
    }
    alice(k, &args).json().as_array().expect("array").clone()
}

/// The one role named `name` in `list`.
pub(crate) fn named<'a>(list: &'a [Value], name: &str) -> &'a Value {
    let found: Vec<&Value> = list.iter().filter(|r| r["name"] == name).collect();
    assert_eq!(found.len(), 1, "{name} in {list:?}");
    found[0]
}

/// A company's enterprise id and tenant.
pub(crate) fn company(k: &Keeper, name: &str) -> (i64, String) {
    let info = alice(k, &["msp-info", "--format", "json"]).json();
    let id = info["managed_companies"]
        .as_array()
        .expect("companies")
        .iter()
        .find(|c| c["company_name"] == name)
        .and_then(|c| c["company_id"].as_i64())
        .unwrap_or_else(|| panic!("no company {name}: {info}"));
    let tenant = raw_rows(
        k,
        &format!("SELECT tenant_uid FROM {{t}}enterprises WHERE enterprise_id = {id}"),
    );
    (id, tenant[0].clone())
}

/// The MSP's tenant.
pub(crate) fn msp_tenant(k: &Keeper) -> String {
    raw_rows(
        k,
        "SELECT tenant_uid FROM {t}enterprises WHERE kind = 'msp'",
    )[0]
    .clone()
}

/// `(tenant, sealed bytes)` of a raw node or role row.
fn raw_sealed(k: &Keeper, role: bool, id: i64) -> (String, Vec<u8>) {
    let sql = if role {
        format!("SELECT tenant_uid, data FROM {{t}}enterprise_roles WHERE role_id = {id}")
    } else {
        format!("SELECT tenant_uid, data FROM {{t}}enterprise_nodes WHERE node_id = {id}")
    };
    let row = raw_rows(k, &sql);
    let (tenant, data) = row[0].split_once('|').expect("two columns");
    let data = hex::decode(data.trim_start_matches("\\x")).expect("hex");
    (tenant.to_string(), data)
}

/// What a raw node or role row opens to with the MSP's key (`mc` = `None`)
/// or a company's, under `tenant`'s AD.
fn opens(k: &Keeper, mc: Option<&str>, role: bool, tenant: &str, id: i64) -> Option<String> {
    let (_, data) = raw_sealed(k, role, id);
    sealed_name(
        &location(k),
        ALICE,
        &SecretString::from(PW),
        mc,
        role,
        tenant,
        id,
        &data,
    )
    .expect("reach the keys")
}

const ENFORCEMENTS: [&str; 8] = [
    "master_password_minimum_length:12",
    "restrict_import:true",
    "keeper_fill_auto_suggest:disable",
    "two_factor_duration_desktop:24_hours",
    "restrict_ip_addresses:10.0.0.0/8",
    r#"restrict_record_types:{"std": ["login", "bankCard"]}"#,
    r#"generated_password_complexity:[{"domains": ["*"], "length": 20}]"#,
    "require_account_share:12345",
];

/// The MSP role "Desktop Users" with one enforcement of each type.
fn desktop_users(k: &Keeper) {
    let mut args = vec!["enterprise-role", "--add", "Desktop Users", "-nu", "on"];
    for e in ENFORCEMENTS {
        args.extend(["--enforcement", e]);
    }
    let out = alice(k, &args).ok();
    assert!(out.contains("Role \"Desktop Users\" added. ID="), "{out}");
}

#[test]
fn roles_are_listed_with_their_enforcements_typed() {
    let k = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    add_user(&k, "bob@example.com", "bob-pw");
    desktop_users(&k);
    alice(
        &k,
        &[
            "er",
            "Desktop Users",
            "-au",
            "bob@example.com",
            "-vb",
            "off",
        ],
    )
    .ok();
    let list = roles(&k, None);
    let role = named(&list, "Desktop Users");
    assert_eq!(role["node"], "My MSP");
    assert_eq!(
        (&role["visible_below"], &role["new_user_inherit"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(role["users"], json!(["bob@example.com"]));
    assert_eq!(
        role["enforcements"],
        json!({
            "master_password_minimum_length": 12,
            "restrict_import": true,
            "keeper_fill_auto_suggest": "disable",
            "two_factor_duration_desktop": "24_hours",
            "restrict_ip_addresses": "10.0.0.0/8",
            "restrict_record_types": {"std": ["login", "bankCard"]},
            "generated_password_complexity": [{"domains": ["*"], "length": 20}],
            "require_account_share": 12345,
        })
    );
    let table = alice(&k, &["enterprise-role"]).ok();
    for text in [
        "Role Name",
        "Enforcements",
        "Desktop Users",
        "master_password_minimum_length=12",
        "restrict_import",
        "bob@example.com",
    ] {
        assert!(table.contains(text), "{text} in\n{table}");
    }

    // Wrong types and unknown names are refused, nothing changed.
    let before = roles(&k, None);
    for (arg, says) in [
        (
            "master_password_minimum_length:twelve",
            "expects an integer",
        ),
        ("restrict_import:maybe", "expects true or false"),
        ("restrict_record_types:[1]", "expects a JSON object"),
        ("generated_password_complexity:{}", "expects a JSON array"),
        ("no_such_enforcement:1", "Unknown enforcement"),
    ] {
        let err = alice(&k, &["er", "Desktop Users", "--enforcement", arg]).fails();
        assert!(err.contains(says), "{arg}: {err}");
    }
    let err = alice(
        &k,
        &["er", "Nobody", "--enforcement", "restrict_import:true"],
    )
    .fails();
    assert!(err.contains("Role \"Nobody\" not found"), "{err}");
    assert_eq!(roles(&k, None), before);

    // `KEY:` and a boolean set to false remove.
    alice(
        &k,
        &[
            "er",
            "Desktop Users",
            "--enforcement",
            "restrict_import:false",
            "--enforcement",
            "restrict_ip_addresses:",
        ],
    )
    .ok();
    let after = roles(&k, None);
    let e = &named(&after, "Desktop Users")["enforcements"];
    assert!(e.get("restrict_import").is_none() && e.get("restrict_ip_addresses").is_none());
    assert_eq!(e.as_object().map(serde_json::Map::len), Some(6));

    // The name is sealed under the MSP's tree key.
    let id = role["role_id"].as_i64().expect("id");
    let (tenant, data) = raw_sealed(&k, true, id);
    assert_eq!(tenant, msp_tenant(&k));
    assert!(!String::from_utf8_lossy(&data).contains("Desktop"));
    assert_eq!(
        opens(&k, None, true, &tenant, id).as_deref(),
        Some("Desktop Users")
    );
}

#[test]
fn copy_role_makes_company_roles_equal_and_is_idempotent() {
    let k = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    desktop_users(&k);
    for name in ["SmithCoMC", "Other"] {
        alice(&k, &["msp-add", "-p", "business", "-s", "1", name]).ok();
    }
    let (smith, smith_tenant) = company(&k, "SmithCoMC");
    let (other, _) = company(&k, "Other");

    // The seed's line, as written.
    let out = alice(&k, &["msp-copy-role", "SmithCoMC", "--role=Desktop Users"]).ok();
    assert!(
        out.contains(&format!(
            "MC {smith}: role \"Desktop Users\" added (ID={}",
            (smith << 32) + (1 << 16) + 1
        )),
        "{out}"
    );
    assert!(out.contains("7 added, 0 updated, 0 removed"), "{out}");
    let source = named(&roles(&k, None), "Desktop Users").clone();
    let theirs = roles(&k, Some("SmithCoMC"));
    let copy = named(&theirs, "Desktop Users");
    assert_eq!(copy["node"], "root", "under the company's root");
    assert_eq!(copy["new_user_inherit"], true);
    assert_eq!(copy["visible_below"], source["visible_below"]);
    let mut want = source["enforcements"].clone();
    want.as_object_mut()
        .expect("object")
        .remove("require_account_share");
    assert_eq!(copy["enforcements"], want, "all but account_share");
    // Sealed under the company's key: the MSP's does not open it.
    let id = copy["role_id"].as_i64().expect("id");
    let (tenant, _) = raw_sealed(&k, true, id);
    assert_eq!(tenant, smith_tenant);
    assert_eq!(
        opens(&k, Some("SmithCoMC"), true, &tenant, id).as_deref(),
        Some("Desktop Users")
    );
    assert_eq!(opens(&k, None, true, &tenant, id), None);
    assert_eq!(opens(&k, Some("Other"), true, &tenant, id), None);
    let root = (smith << 32) + 1;
    assert_eq!(
        opens(&k, Some("SmithCoMC"), false, &tenant, root).as_deref(),
        Some("root")
    );

    // A second run changes nothing.
    let rows = raw_rows(
        &k,
        "SELECT role_id, key, value_type, value FROM {t}role_enforcements ORDER BY role_id, key",
    );
    let out = alice(&k, &["msp-copy-role", "-r", "Desktop Users", "SmithCoMC"]).ok();
    assert_eq!(out.trim(), format!("MC {smith}: Roles are in sync"));
    assert_eq!(
        raw_rows(
            &k,
            "SELECT role_id, key, value_type, value FROM {t}role_enforcements ORDER BY role_id, key"
        ),
        rows
    );

    // The company's role drifts; the MSP's changes: one of each sync.
    alice(
        &k,
        &[
            "er",
            "--mc",
            "SmithCoMC",
            "Desktop Users",
            "--enforcement",
            "logout_timer_desktop:30",
            "--enforcement",
            "require_account_share:999",
        ],
    )
    .ok();
    alice(
        &k,
        &[
            "er",
            "Desktop Users",
            "--enforcement",
            "master_password_minimum_length:16",
            "--enforcement",
            "restrict_import:false",
            "--enforcement",
            "restrict_export:true",
        ],
    )
    .ok();
    let out = alice(&k, &["msp-copy-role", "-r", "Desktop Users", "SmithCoMC"]).ok();
    assert!(out.contains("1 added, 1 updated, 2 removed"), "{out}");
    let copy = named(&roles(&k, Some("SmithCoMC")), "Desktop Users").clone();
    let mut want = named(&roles(&k, None), "Desktop Users")["enforcements"].clone();
    assert_eq!(
        want.as_object_mut()
            .expect("object")
            .remove("require_account_share"),
        Some(json!(12345))
    );
    let mut got = copy["enforcements"].clone();
    assert_eq!(
        got.as_object_mut()
            .expect("object")
            .remove("require_account_share"),
        Some(json!(999)),
        "the company's own account_share is left alone"
    );
    assert_eq!(got, want);
    assert_eq!(got["master_password_minimum_length"], 16);

    // Absent, ambiguous and unknown: refused, nothing written.
    alice(&k, &["er", "--add", "Dup"]).ok();
    let twin = alice(&k, &["er", "--add", "Dup"]);
    twin.ok();
    assert!(
        twin.stderr()
            .contains("a role named \"Dup\" exists already"),
        "{}",
        twin.stderr()
    );
    let role_rows = |k: &Keeper| {
        raw_rows(
            k,
            "SELECT role_id, tenant_uid FROM {t}enterprise_roles ORDER BY role_id",
        )
    };
    let before = role_rows(&k);
    let err = alice(&k, &["msp-copy-role", "-r", "Nope", "SmithCoMC"]).fails();
    assert!(err.contains("Role \"Nope\" not found"), "{err}");
    let err = alice(&k, &["msp-copy-role", "-r", "dup", "SmithCoMC"]).fails();
    assert!(err.contains("Role name \"dup\" is not unique"), "{err}");
    let err = alice(
        &k,
        &["msp-copy-role", "-r", "Desktop Users", "Other", "NoSuchMC"],
    )
    .fails();
    assert!(
        err.contains("Managed Company \"NoSuchMC\" not found"),
        "{err}"
    );
    assert_eq!(role_rows(&k), before, "nothing written");
    let dup_ids: Vec<i64> = roles(&k, None)
        .iter()
        .filter(|r| r["name"] == "Dup")
        .map(|r| r["role_id"].as_i64().expect("id"))
        .collect();
    let by_id = dup_ids[1].to_string();
    // Two sources of one name (by id; any case) would make two roles of
    // that name in each company: refused, nothing written.
    alice(&k, &["er", "--add", "DUP"]).ok();
    let upper = roles(&k, None)
        .iter()
        .find(|r| r["name"] == "DUP")
        .and_then(|r| r["role_id"].as_i64())
        .expect("DUP")
        .to_string();
    let before = role_rows(&k);
    for pair in [
        [dup_ids[0].to_string(), by_id.clone()],
        [by_id.clone(), upper.clone()],
    ] {
        let err = alice(
            &k,
            &["msp-copy-role", "-r", &pair[0], "-r", &pair[1], "SmithCoMC"],
        )
        .fails();
        assert!(err.contains("are both named"), "{err}");
    }
    assert_eq!(role_rows(&k), before, "nothing written");

    // A company with two roles of the name is skipped with a warning;
    // several roles and companies in one run.
    for _ in 0..2 {
        alice(&k, &["er", "--mc", "Other", "--add", "Desktop Users"]).ok();
    }
    let both = [
        "msp-copy-role",
        "-r",
        "Desktop Users",
        "-r",
        &by_id,
        "SmithCoMC",
        "Other",
    ];
    let run = alice(&k, &both);
    let out = run.ok();
    assert!(
        run.stderr().contains(&format!(
            "MC {other}: more than one role \"Desktop Users\": skipped"
        )),
        "{}",
        run.stderr()
    );
    assert!(
        out.contains(&format!("MC {smith}: role \"Dup\" added")),
        "{out}"
    );
    assert!(
        out.contains(&format!("MC {other}: role \"Dup\" added")),
        "{out}"
    );
    let others = roles(&k, Some("Other"));
    assert_eq!(
        others
            .iter()
            .filter(|r| r["name"] == "Desktop Users")
            .count(),
        2
    );
    assert!(
        others
            .iter()
            .filter(|r| r["name"] == "Desktop Users")
            .all(|r| r["enforcements"] == json!({})),
        "the skipped roles are untouched"
    );
    let out = alice(&k, &both).ok();
    assert!(
        out.contains(&format!("MC {smith}: Roles are in sync")),
        "{out}"
    );
    assert!(
        out.contains(&format!("MC {other}: Roles are in sync")),
        "{out}"
    );

    // store migrate carries the roles to the other backend.
    let (ours, smiths) = (roles(&k, None), roles(&k, Some("SmithCoMC")));
    let (to, _guard) = other_backend(&k);
    let out = alice(&k, &["store", "migrate", "--to", &to, "--format", "json"]).json();
    let count = |sql: &str| raw_rows(&k, sql)[0].parse::<i64>().expect("count");
    for table in ["enterprise_roles", "role_enforcements", "role_users"] {
        assert_eq!(
            out["tables"][table].as_i64(),
            Some(count(&format!("SELECT count(*) FROM {{t}}{table}"))),
            "{table}: {out}"
        );
    }
    let there = |mc: Option<&str>| {
        let mut args = vec![
            "--store",
            to.as_str(),
            "enterprise-role",
            "--format",
            "json",
        ];
        if let Some(mc) = mc {
            args.extend(["--mc", mc]);
        }
        alice(&k, &args).json()
    };
    assert_eq!(there(None), json!(ours));
    assert_eq!(there(Some("SmithCoMC")), json!(smiths));
}

/// An MSP with the nodes Acme (Acme Sales below it), Beta, Gamma, Delta,
/// Blocked (Blocked Child below it); ids 5498 << 32 + 2 … + 8.
pub(crate) const TREE: &str = r#"
id = 5498
[[pool]]
plan = "business"
total = 20
stash = 0
[[pool]]
plan = "enterprise"
total = 10
stash = 0
[[nodes]]
name = "Acme"
[[nodes]]
name = "Acme Sales"
parent = "Acme"
[[nodes]]
name = "Beta"
[[nodes]]
name = "Gamma"
[[nodes]]
name = "Delta"
[[nodes]]
name = "Blocked"
[[nodes]]
name = "Blocked Child"
parent = "Blocked"
"#;

pub(crate) const NODE: i64 = 5498 << 32;

/// Every row convert-node may change, as raw text.
pub(crate) fn movable_rows(k: &Keeper) -> Vec<String> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT node_id, tenant_uid, parent_id FROM {t}enterprise_nodes ORDER BY node_id",
        "SELECT role_id, tenant_uid, node_id FROM {t}enterprise_roles ORDER BY role_id",
        "SELECT uid, tenant_uid FROM {t}users ORDER BY uid",
        "SELECT uid, tenant_uid FROM {t}records ORDER BY uid",
        "SELECT tenant_uid FROM {t}enterprises ORDER BY tenant_uid",
    ] {
        rows.extend(raw_rows(k, sql));
    }
    rows
}

#[test]
fn convert_node_refuses_the_root_and_lists_every_blocking_link() {
    let k = msp_vault(TREE);
    for user in ["dave@example.com", "erin@example.com"] {
        add_user(&k, user, "pw-of-them");
    }
    let err = alice(&k, &["msp-convert-node", "My MSP"]).fails();
    assert!(err.contains("\"My MSP\" is the root node"), "{err}");
    let err = alice(&k, &["msp-convert-node", "Nowhere"]).fails();
    assert!(err.contains("Node \"Nowhere\" is not found"), "{err}");

    alice(
        &k,
        &[
            "msp-add",
            "-p",
            "business",
            "--node",
            "Blocked Child",
            "Inside",
        ],
    )
    .ok();
    for (user, node) in [("dave@example.com", "Blocked"), (ALICE, "Blocked Child")] {
        let out = alice(&k, &["enterprise-user", user, "--node", node]).ok();
        assert!(out.contains("is on node \"My MSP\\Blocked"), "{out}");
    }
    alice(
        &k,
        &["er", "--add", "Outside Role", "-au", "dave@example.com"],
    )
    .ok();
    alice(
        &k,
        &[
            "er",
            "--add",
            "Inside Role",
            "--node",
            "Blocked",
            "-au",
            "erin@example.com",
        ],
    )
    .ok();
    alice(&k, &["team", "add", "Ops", "-m", "dave@example.com"]).ok();
    let dave = |args: &[&str]| run_as(&k, Some("dave@example.com"), "pw-of-them", args);
    dave(&["add", "-t", "Dave's", "password=d"]).ok();
    dave(&["share-record", "-e", "erin@example.com", "Dave's"]).ok();

    let before = movable_rows(&k);
    let err = alice(&k, &["msp-convert-node", "Blocked"]).fails();
    for says in [
        "Node \"Blocked\" cannot be converted to a managed company:",
        "managed company \"Inside\"",
        "user alice@example.com is an MSP admin",
        "user dave@example.com is a member of role \"Outside Role\"",
        "user erin@example.com is a member of role \"Inside Role\"",
        "user dave@example.com is a member of team \"Ops\"",
        "is shared across the node's boundary",
    ] {
        assert!(err.contains(says), "{says} in\n{err}");
    }
    assert_eq!(movable_rows(&k), before, "nothing written");
}

#[test]
fn convert_node_moves_the_subtree_under_the_companys_key() {
    let k = msp_vault(TREE);
    add_user(&k, "bob@example.com", "bob-pw");
    add_user(&k, "carol@example.com", "carol-pw");
    let msp = msp_tenant(&k);
    alice(
        &k,
        &["enterprise-user", "bob@example.com", "--node", "Acme"],
    )
    .ok();
    alice(
        &k,
        &[
            "enterprise-user",
            "carol@example.com",
            "--node",
            "Acme Sales",
        ],
    )
    .ok();
    alice(
        &k,
        &[
            "er",
            "--add",
            "Acme Admins",
            "--node",
            "Acme",
            "-au",
            "bob@example.com",
            "--enforcement",
            "logout_timer_desktop:15",
        ],
    )
    .ok();
    alice(
        &k,
        &[
            "er",
            "--add",
            "Sales",
            "--node",
            "Acme Sales",
            "-au",
            "carol@example.com",
            "--enforcement",
            "restrict_export:true",
        ],
    )
    .ok();
    alice(&k, &["er", "--add", "Everyone"]).ok();
    let bob = |args: &[&str]| run_as(&k, Some("bob@example.com"), "bob-pw", args);
    bob(&["add", "-t", "Bob's", "password=b"]).ok();
    let role_ids: Vec<(String, i64)> = roles(&k, None)
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_string(),
                r["role_id"].as_i64().expect("id"),
            )
        })
        .collect();

    // Seats = max(-s 1, 2 users moved, 1); plan business by default.
    let out = alice(&k, &["msp-convert-node", "Acme", "-s", "1"]).ok();
    assert!(
        out.contains("converted to new managed company \"Acme\"")
            && out.contains("seats 2): 2 node(s), 2 role(s), 2 user(s) moved"),
        "{out}"
    );
    let (acme, acme_tenant) = company(&k, "Acme");
    let info = alice(&k, &["msp-info", "-mc", "Acme", "--format", "json"]).json();
    let mc = &info["managed_companies"][0];
    assert_eq!(
        (&mc["plan"], &mc["allocated"], &mc["active"], &mc["node"]),
        (&json!("business"), &json!(2), &json!(0), &json!("My MSP")),
        "nobody has moved yet: each user moves at their next unlock"
    );

    // Raw rows: each moved node and role is the company's, opens with its
    // key to its own name, and no longer with the MSP's (under either AD).
    let mc_root = (acme << 32) + 1;
    for (id, name, parent) in [
        (NODE + 2, "Acme", mc_root.to_string()),
        (NODE + 3, "Acme Sales", (NODE + 2).to_string()),
    ] {
        let row = raw_rows(
            &k,
            &format!(
                "SELECT tenant_uid, parent_id FROM {{t}}enterprise_nodes WHERE node_id = {id}"
            ),
        );
        assert_eq!(row, [format!("{acme_tenant}|{parent}")]);
        assert_eq!(
            opens(&k, Some("Acme"), false, &acme_tenant, id).as_deref(),
            Some(name)
        );
        assert_eq!(opens(&k, None, false, &acme_tenant, id), None);
        assert_eq!(opens(&k, None, false, &msp, id), None);
    }
    for (name, id) in &role_ids {
        let (tenant, _) = raw_sealed(&k, true, *id);
        if name == "Everyone" {
            assert_eq!(tenant, msp, "a role outside the node stays");
            assert_eq!(
                opens(&k, None, true, &msp, *id).as_deref(),
                Some("Everyone")
            );
            continue;
        }
        assert_eq!(tenant, acme_tenant);
        assert_eq!(
            opens(&k, Some("Acme"), true, &acme_tenant, *id).as_deref(),
            Some(name.as_str()),
            "each role keeps its own name (not the first role's)"
        );
        assert_eq!(opens(&k, None, true, &acme_tenant, *id), None);
        assert_eq!(opens(&k, None, true, &msp, *id), None);
    }
    // The users are recorded as moving; each moves with what they own at
    // their next password unlock, which re-wraps their data key.
    let users = |k: &Keeper| raw_rows(k, "SELECT email, tenant_uid FROM {t}users ORDER BY email");
    let placed = raw_rows(&k, "SELECT tenant_uid FROM {t}enterprise_users");
    assert_eq!(placed, [acme_tenant.clone(), acme_tenant.clone()]);
    assert!(users(&k).contains(&format!("bob@example.com|{msp}")));
    let listed = bob(&["ls", "--format", "json"]).json();
    assert!(
        listed.to_string().contains("Bob's"),
        "bob still opens it: {listed}"
    );
    let now = users(&k);
    assert!(
        now.contains(&format!("bob@example.com|{acme_tenant}")),
        "{now:?}"
    );
    assert!(now.contains(&format!("carol@example.com|{msp}")), "{now:?}");
    assert!(now.contains(&format!("{ALICE}|{msp}")), "{now:?}");
    let records = raw_rows(&k, "SELECT tenant_uid FROM {t}records");
    assert_eq!(
        records,
        [acme_tenant.clone()],
        "bob's record moved with him"
    );
    let listed = bob(&["ls", "--format", "json"]).json();
    assert!(listed.to_string().contains("Bob's"), "and again: {listed}");
    run_as(&k, Some("carol@example.com"), "carol-pw", &["ls"]).ok();
    assert!(users(&k).contains(&format!("carol@example.com|{acme_tenant}")));
    let info = alice(&k, &["msp-info", "-mc", "Acme", "--format", "json"]).json();
    assert_eq!(info["managed_companies"][0]["active"], 2);

    let theirs = roles(&k, Some("Acme"));
    assert_eq!(
        named(&theirs, "Acme Admins")["enforcements"],
        json!({"logout_timer_desktop": 15})
    );
    assert_eq!(
        named(&theirs, "Sales")["users"],
        json!(["carol@example.com"])
    );
    assert_eq!(named(&theirs, "Sales")["node"], "root\\Acme\\Acme Sales");
    let ours = roles(&k, None);
    assert_eq!(ours.len(), 1, "{ours:?}");
    let err = alice(&k, &["enterprise-user", ALICE, "--node", "Acme Sales"]).fails();
    assert!(
        err.contains("Node \"Acme Sales\" is not found"),
        "no longer the MSP's: {err}"
    );

    // Seats and plan: -s above the users (none here), -p.
    let out = alice(
        &k,
        &["msp-convert-node", "Gamma", "-s", "4", "-p", "enterprise"],
    )
    .ok();
    assert!(out.contains("new managed company \"Gamma\""), "{out}");
    assert!(
        out.contains("seats 4): 1 node(s), 0 role(s), 0 user(s) moved"),
        "{out}"
    );
    let info = alice(&k, &["msp-info", "-mc", "Gamma", "--format", "json"]).json();
    assert_eq!(info["managed_companies"][0]["plan"], "enterprise");
    let out = alice(&k, &["msp-convert-node", &(NODE + 6).to_string()]).ok();
    assert!(
        out.contains("\"Delta\"") && out.contains("seats 1)"),
        "{out}"
    );

    // A company of the node's name is reused.
    alice(&k, &["msp-add", "-p", "business", "-s", "3", "beta"]).ok();
    let (beta, beta_tenant) = company(&k, "beta");
    let count = |k: &Keeper| raw_rows(k, "SELECT count(*) FROM {t}managed_companies");
    let companies = count(&k);
    let out = alice(&k, &["msp-convert-node", "Beta", "-s", "2"]).ok();
    assert!(
        out.contains(&format!(
            "converted to existing managed company \"beta\" (ID={beta}, seats 3)"
        )),
        "{out}"
    );
    assert_eq!(count(&k), companies, "no new company");
    let (tenant, _) = raw_sealed(&k, false, NODE + 4);
    assert_eq!(tenant, beta_tenant);
    assert_eq!(
        opens(&k, Some("beta"), false, &beta_tenant, NODE + 4).as_deref(),
        Some("Beta")
    );
}

/// Runs `sql` on the raw store (`{t}`: the schema prefix on PostgreSQL).
pub(crate) fn raw_exec(k: &Keeper, sql: &str) {
    if k.on_postgres() {
        k.sql_rows(&sql.replace("{t}", "keeper."));
        return;
    }
    rusqlite::Connection::open(k.data_dir().join("vault.db"))
        .expect("open the vault file")
        .execute_batch(&sql.replace("{t}", ""))
        .expect("write");
}

/// A blob literal of the raw store.
fn blob(k: &Keeper) -> &'static str {
    if k.on_postgres() {
        "'\\x00'::bytea"
    } else {
        "X'00'"
    }
}

#[test]
fn an_unlock_moves_a_user_only_into_a_company_of_their_own_msp() {
    let k = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    add_user(&k, "bob@example.com", "bob-pw");
    alice(&k, &["msp-add", "-p", "business", "-s", "1", "Other"]).ok();
    let (other_id, other) = company(&k, "Other");
    let other_root = (other_id << 32) + 1;
    let msp = msp_tenant(&k);
    let uid_of = |k: &Keeper, email: &str| {
        raw_rows(
            k,
            &format!("SELECT uid FROM {{t}}users WHERE email = '{email}'"),
        )[0]
        .clone()
    };
    let bob_uid = uid_of(&k, "bob@example.com");
    let alice_uid = uid_of(&k, ALICE);
    let tenant_of = |k: &Keeper, email: &str| {
        raw_rows(
            k,
            &format!("SELECT tenant_uid FROM {{t}}users WHERE email = '{email}'"),
        )[0]
        .clone()
    };
    let place = |k: &Keeper, uid: &str, tenant: &str, node: i64| {
        raw_exec(
            k,
            &format!(
                "DELETE FROM {{t}}enterprise_users WHERE user_uid = '{uid}'; \
                 INSERT INTO {{t}}enterprise_users (user_uid, tenant_uid, node_id) \
                 VALUES ('{uid}', '{tenant}', {node});"
            ),
        );
    };
    let bob = |k: &Keeper| run_as(k, Some("bob@example.com"), "bob-pw", &["ls"]);
    let b = blob(&k);
    // Rows written straight into the store (Other's root node as
    // convert-node would write it; its sealed name is never read here): a
    // tenant that is no
    // enterprise, a fake company row (an enterprises row naming bob's MSP
    // with no managed_companies row), a company of another MSP.
    raw_exec(
        &k,
        &format!(
            "INSERT INTO {{t}}tenants (uid, name, parent_uid, created) VALUES ('elsewhere', 'x', NULL, 0); \
             INSERT INTO {{t}}tenants (uid, name, parent_uid, created) VALUES ('fake', 'Fake', '{msp}', 0); \
             INSERT INTO {{t}}enterprises (tenant_uid, enterprise_id, kind, parent_uid, created) \
             VALUES ('fake', 7001, 'mc', '{msp}', 0); \
             INSERT INTO {{t}}tenants (uid, name, parent_uid, created) VALUES ('msp2', 'MSP 2', NULL, 0); \
             INSERT INTO {{t}}enterprises (tenant_uid, enterprise_id, kind, parent_uid, created) \
             VALUES ('msp2', 7002, 'msp', NULL, 0); \
             INSERT INTO {{t}}tenants (uid, name, parent_uid, created) VALUES ('mc2', 'MC 2', 'msp2', 0); \
             INSERT INTO {{t}}enterprises (tenant_uid, enterprise_id, kind, parent_uid, created) \
             VALUES ('mc2', 7003, 'mc', 'msp2', 0); \
             INSERT INTO {{t}}managed_companies (tenant_uid, msp_uid, node_id, plan, seats, file_plan, \
             paused, wrapped_tree_key, data) VALUES ('mc2', 'msp2', 1, 'business', 5, NULL, false, {b}, {b}); \
             INSERT INTO {{t}}enterprise_nodes (node_id, tenant_uid, parent_id, data) \
             VALUES ({n2}, 'mc2', NULL, {b}); \
             INSERT INTO {{t}}enterprise_nodes (node_id, tenant_uid, parent_id, data) \
             VALUES ({nf}, 'fake', NULL, {b}); \
             INSERT INTO {{t}}enterprise_nodes (node_id, tenant_uid, parent_id, data) \
             VALUES ({other_root}, '{other}', NULL, {b});",
            n2 = (7003_i64 << 32) + 1,
            nf = (7001_i64 << 32) + 1,
        ),
    );
    for (tenant, node) in [
        ("elsewhere", 1),
        ("fake", (7001_i64 << 32) + 1),
        ("mc2", (7003_i64 << 32) + 1),
        (other.as_str(), 1),
    ] {
        place(&k, &bob_uid, tenant, node);
        let run = bob(&k);
        run.ok();
        assert_eq!(
            tenant_of(&k, "bob@example.com"),
            msp,
            "not moved into {tenant}"
        );
        assert!(
            run.stderr().contains("a recorded move was not made"),
            "{}",
            run.stderr()
        );
    }
    // The MSP admin is never moved, even into a company of her own MSP
    // onto its root node; she still runs the MSP's commands.
    place(&k, &alice_uid, &other, other_root);
    let run = alice(&k, &["ls"]);
    assert!(
        run.stderr().contains("an enterprise admin never moves"),
        "{}",
        run.stderr()
    );
    assert_eq!(tenant_of(&k, ALICE), msp, "the admin stays");
    alice(&k, &["msp-info"]).ok();
    // An application name the company already has: the unlock goes on,
    // warns, and bob stays until the clash is gone.
    run_as(
        &k,
        Some("bob@example.com"),
        "bob-pw",
        &["secrets-manager", "app", "create", "CI"],
    )
    .ok();
    raw_exec(
        &k,
        &format!(
            "INSERT INTO {{t}}apps (uid, tenant_uid, owner_uid, name, wrapped_key, created) \
             VALUES ('theirs', '{other}', 'nobody', 'CI', {b}, 0);"
        ),
    );
    place(&k, &bob_uid, &other, other_root);
    let run = bob(&k);
    run.ok();
    assert!(
        run.stderr()
            .contains("already has an application named \"CI\""),
        "{}",
        run.stderr()
    );
    assert_eq!(tenant_of(&k, "bob@example.com"), msp);
    raw_exec(&k, "DELETE FROM {t}apps WHERE uid = 'theirs';");
    // Into a company of his own MSP, onto one of its nodes, the move is
    // honoured and said.
    let run = bob(&k);
    run.ok();
    assert!(
        run.stderr().contains("moved to company \"Other\" of MSP"),
        "{}",
        run.stderr()
    );
    assert_eq!(tenant_of(&k, "bob@example.com"), other);
    let again = bob(&k);
    again.ok();
    assert!(!again.stderr().contains("moved"), "{}", again.stderr());
}
