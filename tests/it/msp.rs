//! MSP commands through the binary, on both stores: `enterprise-init`
//! from a licences file, msp-info (table, JSON, -v, -mc, -r), msp-down,
//! msp-add / msp-update / msp-remove with Commander's validation messages
//! (each refusal leaves the raw rows as they were), seat-pool accounting
//! seen in the raw rows, the billing ledger, `${last_mc_id}`, who may run
//! them, and the seed's MSP examples as written.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;

use keeper::testing::enterprise::company_vault;
use keeper::testing::vault::{Location, SecretString, Vault, holders_opening};

use crate::automation::{keeper, kp, vault};
use crate::support::Keeper;
use crate::vault::PW;

/// The sample licences file (`tests/fixtures/msp/licences.toml`).
pub(crate) fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/msp/licences.toml")
}

/// A vault whose tenant is the MSP "My MSP" made from `licences` (TOML).
pub(crate) fn msp_vault(licences: &str) -> Keeper {
    let k = vault();
    let file = k.data_dir().join("licences.toml");
    std::fs::write(&file, licences).expect("write licences");
    let out = kp(
        &k,
        &[
            "enterprise-init",
            "--msp",
            "My MSP",
            "--licences",
            file.to_str().expect("path"),
        ],
    )
    .ok();
    assert!(out.contains("MSP \"My MSP\" created."), "{out}");
    k
}

/// Every row of `sql`, columns joined by `|`, from the raw store (`{t}`:
/// the schema prefix, `keeper.` on PostgreSQL).
pub(crate) fn raw_rows(k: &Keeper, sql: &str) -> Vec<String> {
    if k.on_postgres() {
        return k.sql_rows(&sql.replace("{t}", "keeper."));
    }
    let conn = rusqlite::Connection::open_with_flags(
        k.data_dir().join("vault.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the vault file");
    let mut st = conn.prepare(&sql.replace("{t}", "")).expect("prepare");
    let n = st.column_count();
    st.query_map([], |r| {
        let cols: Vec<String> = (0..n)
            .map(|i| match r.get_ref(i).expect("column") {
                rusqlite::types::ValueRef::Null => String::new(),
                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                rusqlite::types::ValueRef::Real(v) => v.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Blob(b) => hex::encode(b),
            })
            .collect();
        Ok(cols.join("|"))
    })
    .expect("query")
    .map(|r| r.expect("row"))
    .collect()
}

/// Everything the MSP commands write, as raw rows (billing times left out).
pub(crate) fn enterprise_rows(k: &Keeper) -> Vec<String> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT uid, name, parent_uid FROM {t}tenants ORDER BY uid",
        "SELECT tenant_uid, enterprise_id, kind, parent_uid FROM {t}enterprises ORDER BY tenant_uid",
        "SELECT tenant_uid, user_uid FROM {t}enterprise_admins ORDER BY tenant_uid",
        "SELECT node_id, tenant_uid, parent_id FROM {t}enterprise_nodes ORDER BY node_id",
        "SELECT msp_uid, restricted, allow_unlimited, allowed_products, allowed_addons, max_file_plan \
         FROM {t}msp_permits",
        "SELECT msp_uid, plan, total, stash FROM {t}msp_pools ORDER BY plan",
        "SELECT tenant_uid, node_id, plan, seats, file_plan, paused FROM {t}managed_companies \
         ORDER BY tenant_uid",
        "SELECT mc_uid, addon, seats FROM {t}mc_addons ORDER BY mc_uid, addon",
        "SELECT mc_id, change, product, licences FROM {t}billing_events ORDER BY id",
    ] {
        rows.push(format!("-- {sql}"));
        rows.extend(raw_rows(k, sql));
    }
    rows
}

/// `msp-info --format json`.
fn info(k: &Keeper) -> Value {
    kp(k, &["msp-info", "--format", "json"]).json()
}

/// Available licences of `plan`, from msp-info.
fn available(k: &Keeper, plan: &str) -> i64 {
    info(k)["licenses"]
        .as_array()
        .expect("licenses")
        .iter()
        .find(|p| p["plan_id"] == plan)
        .and_then(|p| p["available_licenses"].as_i64())
        .expect("plan in the pool")
}

/// Seats of a company in the raw rows.
fn raw_seats(k: &Keeper, mc_id: i64) -> String {
    raw_rows(
        k,
        &format!(
            "SELECT m.plan, m.seats FROM {{t}}managed_companies m JOIN {{t}}enterprises e \
             ON e.tenant_uid = m.tenant_uid WHERE e.enterprise_id = {mc_id}"
        ),
    )
    .join(";")
}

#[test]
fn provision_add_list_update_and_remove() {
    let k = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    let out = kp(&k, &["msp-info"]).ok();
    assert!(out.contains("MSP Plans and Licenses"), "{out}");
    assert!(out.contains("No Managed Companies"), "{out}");
    assert_eq!(available(&k, "business"), 10);

    let out = kp(
        &k,
        &[
            "msp-add",
            "-p",
            "business",
            "-s",
            "4",
            "-f",
            "1tb",
            "-a",
            "chat",
            "-a",
            "connection_manager:5",
            "--node",
            "Clients",
            "Acme Corp",
        ],
    )
    .ok();
    assert_eq!(out.trim(), "Managed company \"Acme Corp\" added. ID=5499");
    let out = kp(&k, &["ma", "-p", "enterprise", "--seats=3", "beta"]).ok();
    assert!(out.contains("ID=5500"), "{out}");

    let v = info(&k);
    let mcs = v["managed_companies"].as_array().expect("companies");
    assert_eq!(mcs.len(), 2);
    let acme = &mcs[0];
    assert_eq!(acme["company_id"], 5499);
    assert_eq!(acme["company_name"], "Acme Corp");
    assert_eq!(acme["node"], "My MSP\\Clients");
    assert_eq!(acme["node_id"], 23_613_730_193_410_i64);
    assert_eq!(acme["plan"], "business");
    assert_eq!(acme["storage"], "1TB");
    assert_eq!(acme["file_plan"], "STORAGE_1TB");
    assert_eq!(
        acme["addons"],
        serde_json::json!(["chat", "connection_manager:5"])
    );
    assert_eq!(acme["allocated"], 4);
    assert_eq!(acme["active"], 0);
    assert_eq!(mcs[1]["storage"], "100GB", "the plan's own file plan");
    assert_eq!(available(&k, "business"), 6);
    assert_eq!(available(&k, "enterprise"), 7);

    let table = kp(&k, &["msp-info"]).ok();
    for text in [
        "Company ID",
        "Company Name",
        "Allocated",
        "Acme Corp",
        "My MSP\\Clients",
        "Business",
        "1TB",
    ] {
        assert!(table.contains(text), "{text} in {table}");
    }
    let verbose = kp(&k, &["mi", "-v", "-mc", "5499"]).ok();
    assert!(
        verbose.contains("Node Name") && verbose.contains("chat, connection_manager:5"),
        "{verbose}"
    );
    assert!(!verbose.contains("beta"), "-mc filters: {verbose}");
    let csv = kp(&k, &["msp-info", "--format", "csv"]).ok();
    assert!(
        csv.starts_with("company_id,company_name,node,plan,storage,addons,allocated,active\n"),
        "{csv}"
    );

    let out = kp(
        &k,
        &[
            "mu",
            "acme corp",
            "-n",
            "Acme",
            "-s",
            "6",
            "-aa",
            "privileged_access_manager:2",
            "-ra",
            "chat",
        ],
    )
    .ok();
    assert_eq!(out.trim(), "Successfully updated 'Acme' id=5499");
    assert_eq!(raw_seats(&k, 5499), "business|6");
    assert_eq!(available(&k, "business"), 4);
    let acme = &info(&k)["managed_companies"][0];
    assert_eq!(acme["company_name"], "Acme");
    assert_eq!(
        acme["addons"],
        serde_json::json!(["connection_manager:5", "privileged_access_manager:2"])
    );
    assert_eq!(acme["storage"], "1TB", "the file plan stays");

    let out = kp(&k, &["msp-remove", "-f", "Acme"]).ok();
    assert_eq!(out.trim(), "Managed company \"Acme\" removed. ID=5499");
    assert_eq!(available(&k, "business"), 10);
    assert_eq!(raw_seats(&k, 5499), "");
    assert!(raw_rows(&k, "SELECT uid FROM {t}tenants WHERE name = 'Acme'").is_empty());
    let ledger = raw_rows(
        &k,
        "SELECT mc_id, change, product, licences FROM {t}billing_events ORDER BY id",
    );
    assert_eq!(
        ledger,
        [
            "5499|added|STORAGE_1TB|1",
            "5499|added|business|4",
            "5499|added|chat|0",
            "5499|added|connection_manager|5",
            "5500|added|enterprise|3",
            "5499|seats|business|6",
            "5499|addon_disabled|chat|0",
            "5499|addon_enabled|privileged_access_manager|2",
            "5499|removed|STORAGE_1TB|0",
            "5499|removed|business|0",
            "5499|removed|connection_manager|0",
            "5499|removed|privileged_access_manager|0",
        ]
    );
    let times = raw_rows(
        &k,
        "SELECT count(*) FROM {t}billing_events WHERE at > 1700000000000",
    );
    assert_eq!(times, ["12"], "every event has its time");
}

#[test]
fn restrictions_table_json_and_none() {
    let k = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    let out = kp(&k, &["msp-info", "-r"]).ok();
    for text in [
        "Permit Name",
        "Allow Unlimited Licenses",
        "false",
        "business (Business)",
        "connection_manager (KCM)",
        "Max File Storage plan",
        "1TB",
    ] {
        assert!(out.contains(text), "{text} in {out}");
    }
    let v = kp(&k, &["msp-info", "-r", "--format", "json"]).json();
    assert_eq!(v["max_file_plan_type"], "STORAGE_1TB");
    assert_eq!(v["allow_unlimited_licenses"], false);

    let free = msp_vault("[[pool]]\nplan = \"business\"\ntotal = 3\n");
    assert_eq!(
        kp(&free, &["msp-info", "-r"]).ok().trim(),
        "MSP has no restrictions"
    );
    let out = kp(
        &free,
        &["msp-add", "-p", "enterprise", "-s", "-1", "Unlimited Co"],
    )
    .ok();
    assert!(out.contains("ID=2"), "{out}");
    let mc = &info(&free)["managed_companies"][0];
    assert_eq!(mc["allocated"], -1);
    assert!(kp(&free, &["msp-info"]).ok().contains("Unlimited"));
    assert_eq!(raw_seats(&free, 2), "enterprise|2147483647");
}

#[test]
fn every_refusal_has_commanders_message_and_changes_nothing() {
    let k = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    kp(&k, &["msp-add", "-p", "business", "-s", "8", "Acme"]).ok();
    let before = enterprise_rows(&k);
    let cases: &[(&[&str], &str)] = &[
        (
            &["msp-add", "--node", "Nowhere", "-p", "business", "X"],
            "Node \"Nowhere\" is not found",
        ),
        (
            &["msp-add", "-p", "businessStarter", "X"],
            "Managed Company plan \"businessStarter\" is not allowed",
        ),
        (
            &["msp-add", "-p", "gold", "X"],
            "Managed Company plan \"gold\" is not allowed",
        ),
        (
            &["msp-add", "-p", "business", "-s", "-1", "X"],
            "Managed Company unlimited licences are not allowed",
        ),
        (
            &["msp-add", "-p", "business", "-s", "2147483647", "X"],
            "Managed Company unlimited licences are not allowed",
        ),
        (
            &["msp-add", "-p", "business", "ACME"],
            "Managed company 'ACME' already exists: Skipping",
        ),
        (
            &["msp-add", "-p", "business", "-f", "2tb", "X"],
            "File plan \"2tb\" is not found",
        ),
        (
            &["msp-add", "-p", "business", "-f", "10TB", "X"],
            "Managed Company file storage \"10TB\" is not allowed",
        ),
        (
            &["msp-add", "-p", "business", "-a", "nope", "X"],
            "Addon \"nope\" is not found",
        ),
        (
            &["msp-add", "-p", "business", "-a", "password_rotation", "X"],
            "Managed Company add-on \"password_rotation\" is not allowed",
        ),
        (
            &[
                "msp-add",
                "-p",
                "business",
                "-a",
                "connection_manager:many",
                "X",
            ],
            "Addon \"connection_manager\". Number of seats \"many\" is not integer",
        ),
        (
            &[
                "msp-add",
                "-p",
                "business",
                "-a",
                "keeper_endpoint_privilege_manager:7",
                "X",
            ],
            "Addon \"keeper_endpoint_privilege_manager\". Invalid seat value \"7\". Valid values are: \
             1, 25, 50, 100, 500, 1000, 5000, 10000, -1 (for unlimited)",
        ),
        (
            &[
                "msp-add",
                "-p",
                "business",
                "-a",
                "remote_browser_isolation",
                "X",
            ],
            "Addon \"remote_browser_isolation\" requires \"connection_manager\" to be selected",
        ),
        (
            &[
                "msp-add",
                "-p",
                "business",
                "-a",
                "remote_browser_isolation",
                "-a",
                "connection_manager",
                "X",
            ],
            "Addon \"remote_browser_isolation\" requires \"connection_manager\" to have seats specified \
             (e.g., connection_manager:N)",
        ),
        (
            &["msp-add", "-p", "business", "-s", "3", "X"],
            "not enough \"business\" licences: 2 available, 3 requested (the MSP's pool has 10)",
        ),
        (
            &["msp-update", "Nobody", "-s", "1"],
            "Managed Company \"Nobody\" not found",
        ),
        (
            &["msp-update", "Acme", "--node", "Nowhere"],
            "Node \"Nowhere\" is not found",
        ),
        (
            &["msp-update", "Acme", "-p", "gold"],
            "Managed Company plan \"gold\" is not found",
        ),
        (
            &["msp-update", "Acme", "-p", "businessStarter"],
            "Managed Company plan \"businessStarter\" is not allowed",
        ),
        (
            &["msp-update", "Acme", "-s", "-1"],
            "Managed Company unlimited licences are not allowed",
        ),
        (
            &["msp-update", "Acme", "-s", "11"],
            "not enough \"business\" licences: 10 available, 11 requested",
        ),
        (
            &["msp-update", "Acme", "-f", "10tb"],
            "Managed Company file storage \"10TB\" is not allowed",
        ),
        (
            &["msp-update", "Acme", "-aa", "nope"],
            "Addon \"nope\" is not found",
        ),
        (
            &["msp-update", "Acme", "-ra", "nope"],
            "Addon \"nope\" is not found",
        ),
        (
            &["msp-update", "Acme", "-aa", "remote_browser_isolation"],
            "Addon \"remote_browser_isolation\" requires \"connection_manager\" to be selected",
        ),
        (
            &["msp-remove", "Nobody"],
            "Managed Company \"Nobody\" not found",
        ),
        (
            &["msp-remove", "Acme"],
            "Refusing without a terminal to confirm; pass --force",
        ),
        (
            &["msp-info", "-mc", "Nobody"],
            "Managed Company \"Nobody\" not found",
        ),
    ];
    for (args, message) in cases {
        let err = kp(&k, args).fails();
        assert!(
            err.contains(message),
            "{args:?}: expected {message:?} in {err:?}"
        );
        assert_eq!(enterprise_rows(&k), before, "{args:?} changed the store");
    }
}

#[test]
fn only_an_msp_admin_runs_msp_commands() {
    let plain = vault();
    let err = kp(&plain, &["msp-info"]).fails();
    assert!(
        err.contains("alice@example.com is not an MSP admin"),
        "{err}"
    );
    assert!(err.contains("enterprise-init"), "says what to do: {err}");

    let k = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    let mut add = keeper(&k, &["user", "add", "bob@example.com"]);
    add.env("KEEPER_PASSWORD", PW)
        .env("KEEPER_NEW_USER_PASSWORD", "bob-pw");
    assert!(add.output().expect("run").status.success());
    let before = enterprise_rows(&k);
    for args in [
        &["msp-info"][..],
        &["msp-add", "-p", "business", "X"],
        &["msp-remove", "-f", "X"],
    ] {
        let out = keeper(&k, args)
            .env("KEEPER_USER", "bob@example.com")
            .env("KEEPER_PASSWORD", "bob-pw")
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains("bob@example.com is not an MSP admin"), "{err}");
    }
    assert_eq!(enterprise_rows(&k), before);

    let file = k.data_dir().join("licences.toml");
    let again = keeper(
        &k,
        &[
            "enterprise-init",
            "--msp",
            "Again",
            "--licences",
            file.to_str().expect("path"),
        ],
    )
    .env("KEEPER_USER", "alice@example.com")
    .env("KEEPER_PASSWORD", PW)
    .output()
    .expect("run");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "{err}");
    assert!(err.contains("already an enterprise"), "{err}");
    let bad = k.data_dir().join("bad.toml");
    std::fs::write(&bad, "[[pool]]\nplan = \"gold\"\ntotal = 1\n").expect("write");
    let other = vault();
    let err = kp(
        &other,
        &[
            "enterprise-init",
            "--msp",
            "X",
            "--licences",
            bad.to_str().expect("path"),
        ],
    )
    .fails();
    assert!(err.contains("unknown plan \"gold\""), "{err}");
    assert_eq!(
        raw_rows(&other, "SELECT count(*) FROM {t}enterprises"),
        ["0"],
        "nothing written"
    );
    assert_eq!(raw_rows(&other, "SELECT name FROM {t}tenants"), ["default"]);
}

#[test]
fn last_mc_id_names_the_new_company_in_a_batch() {
    let k = msp_vault("[[pool]]\nplan = \"business\"\ntotal = 5\n");
    let batch = k.data_dir().join("batch.txt");
    std::fs::write(
        &batch,
        "msp-add -p business -s 2 \"Batch Co\"\nmsp-update ${last_mc_id} -s 3\n",
    )
    .expect("write");
    kp(&k, &[batch.to_str().expect("path")]).ok();
    // The MSP took id 1 (the store's first enterprise), the company 2.
    assert_eq!(raw_seats(&k, 2), "business|3");
}

/// The seed's MSP examples as written, on one MSP set up to match the
/// seed's msp-info output (its pool and six companies, whose allocations
/// give exactly its available licences). Between the lines, set-up steps
/// (marked) make each line meaningful: `msp-remove 23456` removes the
/// company `msp-add` just made (the MSP's id is 23455), the node
/// 23613730193410 exists, and so on.
#[test]
fn the_seed_examples_run_as_written() {
    let k = msp_vault(SEED_MSP);
    // msp-info: the seed's figures.
    let table = kp(&k, &["msp-info"]).ok();
    for name in ["Company 1", "Company 6", "businessPlus", "enterprisePlus"] {
        assert!(table.contains(name), "{name} in {table}");
    }
    let v = info(&k);
    let pool: Vec<String> = v["licenses"]
        .as_array()
        .expect("pool")
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {}",
                p["plan_id"], p["available_licenses"], p["total_licenses"], p["stash"]
            )
        })
        .collect();
    assert_eq!(
        pool,
        [
            "\"business\" 6 10 10",
            "\"businessPlus\" 8 10 10",
            "\"enterprise\" 2 10 10",
            "\"enterprisePlus\" 6 10 10"
        ]
    );
    let companies: Vec<String> = v["managed_companies"]
        .as_array()
        .expect("companies")
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["company_id"], c["company_name"], c["plan"], c["allocated"]
            )
        })
        .collect();
    assert_eq!(
        companies,
        [
            "3861 \"Company 1\" \"businessPlus\" 2",
            "3862 \"Company 2\" \"enterprise\" 0",
            "3900 \"Company 3\" \"business\" 2",
            "3877 \"Company 4\" \"enterprisePlus\" 4",
            "3863 \"Company 5\" \"enterprise\" 8",
            "3875 \"Company 6\" \"business\" 2",
            "3987 \"Company 7\" \"business\" 0",
        ]
    );
    // msp-down
    assert!(kp(&k, &["msp-down"]).ok().contains("7 managed companies"));
    // (set-up: free the enterprise licences Company 5 holds)
    kp(&k, &["msp-remove", "-f", "Company 5"]).ok();
    // msp-add --seats=10 --plan=enterprise "MC Name"
    let out = kp(
        &k,
        &["msp-add", "--seats=10", "--plan=enterprise", "MC Name"],
    )
    .ok();
    assert!(
        out.contains("Managed company \"MC Name\" added. ID=23456"),
        "{out}"
    );
    // msp-remove 23456 (answering the confirmation on a terminal)
    remove_on_terminal(&k, "23456", "MC Name");
    // (set-up: add it again)
    kp(
        &k,
        &["msp-add", "--seats=10", "--plan=enterprise", "MC Name"],
    )
    .ok();
    // msp-remove "MC Name"
    remove_on_terminal(&k, "MC Name", "MC Name");
    assert_eq!(available(&k, "enterprise"), 10);
    // (set-up: a company called mc2)
    kp(&k, &["msp-add", "-p", "businessPlus", "mc2"]).ok();
    // msp-update mc2 --add-product business
    kp(&k, &["msp-update", "mc2", "--add-product", "business"]).ok();
    // msp-update --node 23613730193410 mc2
    kp(&k, &["msp-update", "--node", "23613730193410", "mc2"]).ok();
    let v = kp(&k, &["msp-info", "-mc", "mc2", "--format", "json"]).json();
    let mc2 = &v["managed_companies"][0];
    assert_eq!(mc2["plan"], "business");
    assert_eq!(mc2["node_id"], 23_613_730_193_410_i64);
    assert_eq!(mc2["node"], "My MSP\\Clients");
    // switch-to-mc 3987, then switch-to-msp (switching lasts for one
    // batch, so both lines are one).
    let out = batch(&k, "switch-to-mc 3987 \nswitch-to-msp\n").ok();
    assert!(
        out.contains("Switched to MC 'Company 7' (ID=3987)"),
        "{out}"
    );
    assert!(out.contains("Switched back to MSP"), "{out}");
}

/// `msp-remove WHAT` on a pseudo-terminal, answering `y` to the alert
/// that names `name`.
fn remove_on_terminal(k: &Keeper, what: &str, name: &str) {
    let mut cmd = keeper(k, &["msp-remove", what]);
    cmd.env("KEEPER_PASSWORD", PW)
        .env("TERM", "xterm")
        .stdin(Stdio::inherit());
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn");
    p.exp_string("ALERT!").expect("the alert");
    p.exp_string(&format!("Managed Company Name: \"{name}\""))
        .expect("names the company");
    p.exp_string("[y/N]").expect("asks");
    p.send_line("y").expect("answer");
    p.exp_string(&format!("Managed company \"{name}\" removed."))
        .expect("removed");
    p.exp_eof().expect("exits");
}

/// The seed's MSP: its pool and companies (and 3987, which its
/// switch-to-mc example names, with no seats); id 23455 so that the first
/// new company is 23456; the node its msp-update example names.
const SEED_MSP: &str = r#"
id = 23455
[[pool]]
plan = "business"
total = 10
stash = 10
[[pool]]
plan = "businessPlus"
total = 10
stash = 10
[[pool]]
plan = "enterprise"
total = 10
stash = 10
[[pool]]
plan = "enterprisePlus"
total = 10
stash = 10
[[nodes]]
name = "Clients"
id = 23613730193410
[[companies]]
id = 3861
name = "Company 1"
plan = "businessPlus"
seats = 2
[[companies]]
id = 3862
name = "Company 2"
plan = "enterprise"
seats = 0
[[companies]]
id = 3900
name = "Company 3"
plan = "business"
seats = 2
[[companies]]
id = 3877
name = "Company 4"
plan = "enterprisePlus"
seats = 4
[[companies]]
id = 3863
name = "Company 5"
plan = "enterprise"
seats = 8
[[companies]]
id = 3875
name = "Company 6"
plan = "business"
seats = 2
[[companies]]
id = 3987
name = "Company 7"
plan = "business"
seats = 0
"#;

/// The store's location: the PostgreSQL URL or the vault file.
pub(crate) fn location(k: &Keeper) -> Location {
    let at = k
        .store_url()
        .unwrap_or_else(|| k.data_dir().join("vault.db").display().to_string());
    Location::parse(&at).expect("location")
}

/// Runs the command lines `lines` as one batch file.
pub(crate) fn batch(k: &Keeper, lines: &str) -> crate::support::Run {
    let file = k.data_dir().join("batch.txt");
    std::fs::write(&file, lines).expect("write batch");
    kp(k, &[file.to_str().expect("path")])
}

#[test]
fn switch_to_mc_keeps_each_companys_records_to_itself() {
    let k = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    kp(&k, &["msp-add", "-p", "business", "-s", "2", "Acme"]).ok();
    kp(&k, &["msp-add", "-p", "business", "-s", "2", "Beta"]).ok();
    kp(&k, &["add", "-t", "MSP note", "login=msp"]).ok();

    let out = batch(
        &k,
        "switch-to-mc 5499\nadd -t \"Acme secret\" login=acme password=s3cret\nls -l\n",
    )
    .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Switched to MC 'Acme' (ID=5499)");
    let uid = lines[1].trim().to_string();
    assert!(
        out.contains("Acme secret") && !out.contains("MSP note"),
        "{out}"
    );

    let msp = kp(&k, &["ls", "-l"]).ok();
    assert!(
        msp.contains("MSP note") && !msp.contains("Acme secret"),
        "{msp}"
    );
    let beta = batch(&k, "switch-to-mc Beta\nls -l\n").ok();
    assert!(
        !beta.contains("Acme secret") && !beta.contains("MSP note"),
        "{beta}"
    );
    let back = batch(&k, "switch-to-mc 5499\nswitch-to-msp\nls -l\n").ok();
    assert!(
        back.contains("Switched back to MSP") && back.contains("MSP note"),
        "{back}"
    );
    assert!(!back.contains("Acme secret"), "{back}");

    // The record is Acme's: in its tenant, its key rows opened by Acme's
    // keys only (not Beta's, not the MSP admin's).
    let acme_tenant = raw_rows(
        &k,
        "SELECT tenant_uid FROM {t}enterprises WHERE enterprise_id = 5499",
    );
    let record_tenant = raw_rows(
        &k,
        &format!("SELECT tenant_uid FROM {{t}}records WHERE uid = '{uid}'"),
    );
    assert_eq!(record_tenant, acme_tenant);
    let pw = SecretString::from(PW.to_string());
    let at = location(&k);
    let opened = |mc: &str| {
        let v = company_vault(&at, "alice@example.com", &pw, mc).expect("company vault");
        holders_opening(&v, &uid).expect("key rows")
    };
    assert_eq!(opened("5499").len(), 1, "Acme's identity opens it");
    assert!(
        opened("5500").is_empty(),
        "Beta's keys open none of its key rows"
    );
    let admin = Vault::open_at(&at)
        .expect("open")
        .unlock(Some("alice@example.com"), &pw)
        .expect("unlock");
    assert!(
        holders_opening(&admin, &uid).expect("key rows").is_empty(),
        "the MSP's keys open none"
    );
    let info = info(&k);
    assert_eq!(
        info["managed_companies"][0]["active"], 0,
        "an identity is not a user"
    );

    for (lines, message) in [
        (
            "switch-to-mc 5499\nswitch-to-mc 5500\n",
            "already switched to a managed company",
        ),
        ("switch-to-mc 5499\nmsp-info\n", "run switch-to-msp first"),
        ("switch-to-msp\n", "Already MSP"),
        ("switch-to-mc 42\n", "Managed Company \"42\" not found"),
    ] {
        let err = batch(&k, lines).fails();
        assert!(err.contains(message), "{lines:?}: {err}");
    }
}

/// A new, empty store on the backend `k` is not on, to migrate to: its
/// location, and what must live as long as it is used.
pub(crate) fn other_backend(k: &Keeper) -> (String, Box<dyn std::any::Any>) {
    if k.on_postgres() {
        let dir = tempfile::tempdir().expect("dir");
        let to = dir.path().join("copy.db").display().to_string();
        (to, Box::new(dir))
    } else {
        let db = crate::support::TestDb::new();
        (db.url.to_url_string(), Box::new(db))
    }
}

#[test]
fn store_migrate_carries_the_msp_and_its_companies() {
    let k = msp_vault(SEED_MSP);
    kp(
        &k,
        &[
            "msp-update",
            "Company 1",
            "-aa",
            "connection_manager:4",
            "-f",
            "10tb",
        ],
    )
    .ok();
    let out = batch(&k, "switch-to-mc 3861\nadd -t \"C1 secret\" login=c1\n").ok();
    assert!(out.contains("Switched to MC"), "{out}");
    let before = info(&k);
    let ledger = raw_rows(&k, "SELECT count(*) FROM {t}billing_events");

    // To the other backend and read from there.
    let (to, _keep) = other_backend(&k);
    let out = kp(&k, &["store", "migrate", "--to", &to, "--format", "json"]).json();
    assert_eq!(out["tables"]["managed_companies"], 7, "{out}");
    assert_eq!(
        out["tables"]["billing_events"].to_string(),
        ledger[0],
        "{out}"
    );
    let copy = kp(&k, &["--store", &to, "msp-info", "--format", "json"]).json();
    assert_eq!(copy, before);
    let file = k.data_dir().join("copy-batch.txt");
    std::fs::write(&file, "switch-to-mc 3861\nls -l\n").expect("write");
    let listed = kp(&k, &["--store", &to, file.to_str().expect("path")]).ok();
    assert!(listed.contains("C1 secret"), "{listed}");
}

#[test]
fn a_licences_file_with_a_refused_company_writes_nothing() {
    let k = vault();
    let file = k.data_dir().join("licences.toml");
    std::fs::write(
        &file,
        "[[pool]]\nplan = \"business\"\ntotal = 3\n\
         [[companies]]\nname = \"Twice\"\nplan = \"business\"\nseats = 1\n\
         [[companies]]\nname = \"twice\"\nplan = \"business\"\nseats = 1\n",
    )
    .expect("write");
    let err = kp(
        &k,
        &[
            "enterprise-init",
            "--msp",
            "M",
            "--licences",
            file.to_str().expect("path"),
        ],
    )
    .fails();
    assert!(
        err.contains("company \"twice\": Managed company 'twice' already exists: Skipping"),
        "{err}"
    );
    assert_eq!(raw_rows(&k, "SELECT count(*) FROM {t}enterprises"), ["0"]);
    assert_eq!(raw_rows(&k, "SELECT count(*) FROM {t}tenants"), ["1"]);
    assert_eq!(
        raw_rows(&k, "SELECT count(*) FROM {t}billing_events"),
        ["0"]
    );
}
