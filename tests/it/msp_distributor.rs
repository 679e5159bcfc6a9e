//! The distributor and who may run what, through the binary on both
//! stores: `enterprise-init --distributor` from a file of MSPs (each a new
//! tenant with a new admin), `distributor info` / `msp-info` / `license`
//! in table, JSON and CSV with Commander's columns (PAM seats in the PAM
//! column), MSP selection by id, name and glob, edits without a selection
//! warned about and ignored, refusals that change nothing, a permit change
//! obeyed by the MSP's msp-add / msp-update, distributor commands refused
//! to everyone but a distributor's admin, a managed company's user seeing
//! only its company, and the limits on who may run `enterprise-init`.

use std::path::PathBuf;

use serde_json::Value;

use crate::automation::{keeper, kp, vault};
use crate::msp::{batch, enterprise_rows, fixture, msp_vault, other_backend, raw_rows};
use crate::secrets_manager::raw_execute;
use crate::support::{Keeper, Run, run_with_input};
use crate::vault::PW;

/// The master password the distributor chose for the MSP admins its
/// file makes.
pub(crate) const FIRST_PW: &str = "msp-admin-pw";
/// The master password each MSP admin chose when they re-keyed.
pub(crate) const MSP_PW: &str = "msp-admin-own-pw";

/// The sample distributor file (`tests/fixtures/msp/distributor.toml`).
fn distributor_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/msp/distributor.toml")
}

/// `keeper ARGS` as `email` with `password`.
fn as_user(k: &Keeper, email: &str, password: &str, args: &[&str]) -> Run {
    Run(keeper(k, args)
        .env("KEEPER_USER", email)
        .env("KEEPER_PASSWORD", password)
        .output()
        .expect("run keeper"))
}

/// As alice, the distributor's admin.
fn alice(k: &Keeper, args: &[&str]) -> Run {
    as_user(k, "alice@example.com", PW, args)
}

/// As bob, the admin of "Bob's MSP" (id 3456).
fn bob(k: &Keeper, args: &[&str]) -> Run {
    as_user(k, "bob@msp.example", MSP_PW, args)
}

/// alice's vault made the distributor "Dist" (id 3000) from the
/// fixture, and its MSP admins bob and carol re-keyed (their master
/// password now `MSP_PW`).
fn distributor_vault() -> Keeper {
    let k = provisioned();
    for admin in ["bob@msp.example", "carol@mymsp.example"] {
        crate::msp_rekey::rekey(&k, admin, FIRST_PW, MSP_PW).ok();
    }
    k
}

/// alice's vault made the distributor "Dist" (id 3000) from the fixture;
/// its MSP admins' master password is `FIRST_PW`, not re-keyed yet.
pub(crate) fn provisioned() -> Keeper {
    let k = vault();
    let file = distributor_fixture();
    let run = Run(distributor_init(&k, "Dist", &file)
        .env("KEEPER_NEW_USER_PASSWORD", FIRST_PW)
        .output()
        .expect("run"));
    let out = run.ok();
    // The distributor is told that it can open the MSPs it made until
    // their admins re-key.
    assert!(
        run.stderr().contains(
            "warning: you chose the master password of each new MSP admin: until they re-key, you (or \
             anyone who knows it) can log in as them and open their MSP"
        ),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr()
            .contains("Each must run `keeper enterprise-rekey`"),
        "{}",
        run.stderr()
    );
    assert!(
        out.contains("Distributor \"Dist\" created. ID=3000; admin: alice@example.com; 2 MSPs"),
        "{out}"
    );
    assert!(
        out.contains("MSP \"Bob's MSP\" created. ID=3456; admin: bob@msp.example"),
        "{out}"
    );
    assert!(
        out.contains("MSP \"My MSP\" created. ID=4000; admin: carol@mymsp.example"),
        "{out}"
    );
    k
}

/// The permits row of MSP `id`:
/// restricted|allow_unlimited|products|addons|max_file_plan.
fn permits(k: &Keeper, id: i64) -> String {
    raw_rows(
        k,
        &format!(
            "SELECT CASE WHEN p.restricted THEN 1 ELSE 0 END, \
             CASE WHEN p.allow_unlimited THEN 1 ELSE 0 END, p.allowed_products, p.allowed_addons, \
             p.max_file_plan FROM {{t}}msp_permits p JOIN {{t}}enterprises e \
             ON e.tenant_uid = p.msp_uid WHERE e.enterprise_id = {id}"
        ),
    )
    .join(";")
}

/// The MSP `id` of `distributor info --format json`.
fn msp_json(k: &Keeper, id: i64) -> Value {
    let all = alice(k, &["distributor", "info", "--format", "json"]).json();
    all.as_array()
        .expect("a list of MSPs")
        .iter()
        .find(|m| m["enterprise_id"] == id)
        .cloned()
        .expect("the MSP is listed")
}

#[test]
fn provisioning_makes_the_msps_with_their_admins() {
    let k = distributor_vault();
    // The model: a distributor, two MSPs it manages (their tenants are its
    // children), two companies of Bob's MSP.
    let kinds = raw_rows(
        &k,
        "SELECT e.enterprise_id, e.kind, t.name, p.name FROM {t}enterprises e \
         JOIN {t}tenants t ON t.uid = e.tenant_uid \
         LEFT JOIN {t}tenants p ON p.uid = e.parent_uid ORDER BY e.enterprise_id",
    );
    assert_eq!(
        kinds,
        [
            "3000|distributor|Dist|",
            "3456|msp|Bob's MSP|Dist",
            "3457|mc|Acme|Bob's MSP",
            "3458|mc|A company whose name is longer than forty characters|Bob's MSP",
            "4000|msp|My MSP|Dist",
        ]
    );
    let tenants = raw_rows(
        &k,
        "SELECT t.name, p.name FROM {t}tenants t LEFT JOIN {t}tenants p ON p.uid = t.parent_uid \
         WHERE t.name IN ('Bob''s MSP', 'My MSP') ORDER BY t.name",
    );
    assert_eq!(tenants, ["Bob's MSP|Dist", "My MSP|Dist"]);
    assert_eq!(
        permits(&k, 3456),
        "1|1|business,enterprise|chat,connection_manager,privileged_access_manager,secrets_manager|STORAGE_1TB"
    );
    assert_eq!(permits(&k, 4000), "0|1|||", "no [permits]: no restrictions");

    // bob logs in with his own password and runs his MSP.
    let info = bob(&k, &["msp-info", "--format", "json"]).json();
    let names: Vec<&str> = info["managed_companies"]
        .as_array()
        .expect("companies")
        .iter()
        .map(|c| c["company_name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "A company whose name is longer than forty characters",
            "Acme"
        ]
    );
    let carol = as_user(&k, "carol@mymsp.example", MSP_PW, &["msp-info", "-r"]).ok();
    assert!(carol.contains("MSP has no restrictions"), "{carol}");
    // alice is the distributor's admin, not an MSP's.
    let err = alice(&k, &["msp-info"]).fails();
    assert!(
        err.contains("alice@example.com is not an MSP admin"),
        "{err}"
    );
}

#[test]
fn a_distributor_file_that_cannot_be_used_writes_nothing() {
    let k = vault();
    let file = k.data_dir().join("d.toml");
    let (before, users_before) = (enterprise_rows(&k), users(&k));
    for (text, message) in [
        (
            "[[msps]]\nname = \"A\"\nadmin = \"not-an-email\"\n",
            "MSP \"A\": \"not-an-email\" cannot be its admin: an MSP admin is a new user, an e-mail \
             address no user of this store has",
        ),
        (
            "[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\n[[msps]]\nname = \"a\"\nadmin = \"b@x.example\"\n",
            "MSP \"a\" is listed twice",
        ),
        (
            "[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\n[[msps.pool]]\nplan = \"gold\"\ntotal = 1\n",
            "MSP \"A\": unknown plan \"gold\"",
        ),
        (
            "[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\ncolour = \"red\"\n",
            "unknown field `colour`",
        ),
        (
            "[[msps]]\nname = \"A\"\nadmin = \"alice@example.com\"\n",
            "MSP \"A\": \"alice@example.com\" cannot be its admin: an MSP admin is a new user, an e-mail \
             address no user of this store has",
        ),
        (
            "[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\n[[msps.companies]]\nname = \"C\"\nplan = \"business\"\nseats = 3\n",
            "MSP \"A\": company \"C\": not enough \"business\" licences",
        ),
        // The first MSP is written inside the transaction, then the
        // second is refused: the first is rolled back with it.
        (
            "[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\nid = 5000\n\
             [[msps]]\nname = \"B\"\nadmin = \"b@x.example\"\nid = 5000\n",
            "MSP \"B\": enterprise id 5000 is taken",
        ),
        (
            "[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\n\
             [[msps.nodes]]\nname = \"N\"\nid = 77\n\
             [[msps]]\nname = \"B\"\nadmin = \"b@x.example\"\n\
             [[msps.nodes]]\nname = \"M\"\nid = 77\n",
            "MSP \"B\": node id 77 is taken by another enterprise",
        ),
        // A bad price table for the MSPs: named once, without an MSP.
        (
            "[[prices]]\ncode = \"gold\"\ncategory = \"products\"\namount = 1\ncurrency = \"USD\"\n\
             unit = \"month\"\n[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\n",
            "d.toml: prices entry 1 (\"gold\"): not a plan, add-on or file plan code",
        ),
        (
            "[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\n[[msps.prices]]\ncode = \"chat\"\n\
             category = \"products\"\namount = 1\ncurrency = \"USD\"\nunit = \"month\"\n",
            "MSP \"A\": prices entry 1 (\"chat\"): it belongs to Addons, not products",
        ),
        // The distributor's own id, taken by an MSP of its file.
        (
            "id = 5000\n[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\nid = 5000\n",
            "MSP \"A\": enterprise id 5000 is taken",
        ),
    ] {
        std::fs::write(&file, text).expect("write");
        let mut cmd = distributor_init(&k, "D", &file);
        cmd.env("KEEPER_NEW_USER_PASSWORD", FIRST_PW);
        let err = Run(cmd.output().expect("run")).fails();
        assert!(err.contains(message), "{text}: {err}");
        assert_eq!(enterprise_rows(&k), before, "{text}: nothing written");
        assert_eq!(users(&k), users_before, "{text}: no admin made");
    }
}

/// `enterprise-init --distributor NAME --licences FILE` as alice.
fn distributor_init(k: &Keeper, name: &str, file: &std::path::Path) -> std::process::Command {
    let mut cmd = keeper(
        k,
        &[
            "enterprise-init",
            "--distributor",
            name,
            "--licences",
            file.to_str().expect("path"),
        ],
    );
    cmd.env("KEEPER_PASSWORD", PW);
    cmd
}

/// Every user row: uid, tenant, e-mail.
fn users(k: &Keeper) -> Vec<String> {
    raw_rows(
        k,
        "SELECT uid, tenant_uid, email FROM {t}users ORDER BY uid",
    )
}

/// An MSP admin's master password may not be empty (asked for on stdin:
/// an empty line); nothing is written.
#[test]
fn an_empty_msp_admin_password_is_refused() {
    let k = vault();
    let (before, users_before) = (enterprise_rows(&k), users(&k));
    let mut cmd = distributor_init(&k, "Dist", &distributor_fixture());
    cmd.env("KEEPER_NEW_USER_PASSWORD", "");
    let err = run_with_input(cmd, "\n\n").fails();
    assert!(
        err.contains("bob@msp.example needs a master password: an empty one is refused"),
        "{err}"
    );
    assert_eq!(enterprise_rows(&k), before, "nothing written");
    assert_eq!(users(&k), users_before, "no admin made");
}

#[test]
fn distributor_info_and_msp_info_in_table_json_and_csv() {
    let k = distributor_vault();
    let bob_msp = msp_json(&k, 3456);
    assert_eq!(bob_msp["distributor_name"], "Dist");
    assert_eq!(bob_msp["enterprise_name"], "Bob's MSP");
    assert_eq!(bob_msp["allocated_licenses"], 5);
    assert_eq!(bob_msp["allow_unlimited_licenses"], true);
    assert_eq!(bob_msp["max_file_plan_type"], "STORAGE_1TB");
    assert_eq!(
        bob_msp["allowed_mc_products"],
        serde_json::json!(["business", "enterprise"])
    );
    let acme = &bob_msp["managed_companies"][0];
    assert_eq!(acme["mc_enterprise_id"], 3457);
    assert_eq!(acme["mc_enterprise_name"], "Acme");
    assert_eq!(acme["number_of_seats"], 4);
    assert_eq!(acme["number_of_users"], 0);
    assert_eq!(acme["product_id"], "business");
    assert_eq!(acme["file_plan_type"], "STORAGE_100GB");
    assert_eq!(acme["msp_node_id"], (3456_i64 << 32) | 1);
    let addons: Vec<(String, i64)> = acme["add_ons"]
        .as_array()
        .expect("add-ons")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().expect("name").to_string(),
                a["seats"].as_i64().expect("seats"),
            )
        })
        .collect();
    assert_eq!(
        addons,
        [
            ("chat".to_string(), 0),
            ("secrets_manager".to_string(), 0),
            ("connection_manager".to_string(), 5),
            ("privileged_access_manager".to_string(), 3),
        ]
    );
    let mine = msp_json(&k, 4000);
    assert_eq!(mine["managed_companies"], serde_json::json!([]));
    assert_eq!(mine["restricted"], false);
    assert_eq!(
        mine["allowed_mc_products"].as_array().map(Vec::len),
        Some(5),
        "unrestricted: every plan"
    );

    // The table: Commander's columns, numbered in a first '#' column;
    // KCM and PAM each in their own column (not Commander's bug writing
    // PAM seats under KCM).
    let table = alice(&k, &["distributor"]).ok();
    for text in [
        "│ # ┆ ID ",
        "MSP Name",
        "# MC's",
        "Unlimited allowed",
        "Allowed Addons",
        "Licenses used",
        "KSM",
        "KCM",
        "PAM",
        "Bob's MSP",
        "My MSP",
        "Allowed",
    ] {
        assert!(table.contains(text), "{text} in {table}");
    }
    // CSV: the titles and the data, no '#' column (as msp-info's).
    let csv = alice(&k, &["ds", "info", "--format", "csv"]).ok();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "ID,MSP Name,# MC's,Unlimited allowed,Allowed Addons,Licenses used,KSM,KCM,PAM,Addons,\
         Above Permits"
    );
    // A list is one cell, a line per item.
    assert!(
        csv.contains(
            "\n3456,Bob's MSP,2,Allowed,\"Chat\nKCM\nPAM\nKSM\",5,enabled,5 seats,3 seats,Chat,0\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains("\n4000,My MSP,0,Allowed,\"Chat\nARAM\n"),
        "{csv}"
    );
    assert!(
        csv.ends_with("KEPM\",0,disabled,disabled,disabled,,0\n"),
        "{csv}"
    );

    // --mc-details: a row per company under its MSP's; names cut at 40
    // characters unless -v.
    let csv = alice(
        &k,
        &["distributor", "info", "--mc-details", "--format", "csv"],
    )
    .ok();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "ID,MSP Name,# MC's,MC Name,Plan,Storage,Total Licenses,Licenses used,KSM,KCM,PAM,Addons,\
         Above Permits"
    );
    assert_eq!(
        lines[2],
        "3457,Bob's MSP,,Acme,Business,100GB,4,0,enabled,5 seats,3 seats,Chat,"
    );
    assert_eq!(
        lines[3],
        "3458,Bob's MSP,,A company whose name is longer than f...,Enterprise,100GB,1,0,disabled,disabled,disabled,,"
    );
    let verbose = alice(&k, &["ds", "i", "--mc-details", "-v", "--format", "csv"]).ok();
    assert!(
        verbose.contains("A company whose name is longer than forty characters"),
        "{verbose}"
    );

    // msp-info: by name (any case) or id.
    let table = alice(&k, &["distributor", "msp-info", "bob's msp"]).ok();
    for text in [
        "│ # ┆ ID ",
        "MC Name",
        "Node ID",
        "Allocated",
        "Active",
        "Acme",
        "Business",
    ] {
        assert!(table.contains(text), "{text} in {table}");
    }
    let csv = alice(&k, &["ds", "mi", "3456", "-v", "--format", "csv"]).ok();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "ID,MC Name,Node ID,Plan,Storage,Addons,Allocated,Active,Above Permits"
    );
    let node = (3456_i64 << 32) | 1;
    let acme = format!("\n3457,Acme,{node},Business,100GB,\"Chat\nKCM (5)\nKSM\nPAM (3)\",4,0,\n");
    assert!(csv.contains(&acme), "{csv}");
    let json = alice(&k, &["distributor", "msp-info", "3456", "--format", "json"]).json();
    assert_eq!(json["enterprise_id"], 3456);
    assert_eq!(json["managed_companies"].as_array().map(Vec::len), Some(2));
    let err = alice(&k, &["distributor", "msp-info", "Nobody"]).fails();
    assert!(err.contains("MSP \"Nobody\" not found."), "{err}");

    // --output writes the report, in any format, to a file readable by
    // its owner only, and prints nothing.
    for (format, start) in [
        ("csv", "ID,MSP Name,# MC's,MC Name"),
        ("json", "[\n"),
        ("table", "┌"),
    ] {
        let out = k.data_dir().join(format!("msp-report.{format}"));
        let printed = alice(
            &k,
            &[
                "distributor",
                "info",
                "--mc-details",
                "--format",
                format,
                "--output",
                out.to_str().expect("path"),
            ],
        )
        .ok();
        assert_eq!(printed, "", "{format}: nothing on stdout");
        let written = std::fs::read_to_string(&out).expect("report written");
        assert!(written.starts_with(start), "{format}: {written}");
        assert!(written.contains("Acme"), "{format}: {written}");
        assert_eq!(
            written.contains("│ # ┆ ID "),
            format == "table",
            "{format}: '#' only in a table: {written}"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&out).expect("metadata").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{format}");
    }
    let out = k.data_dir().join("mi.csv");
    alice(
        &k,
        &[
            "ds",
            "mi",
            "3456",
            "--format",
            "csv",
            "--output",
            out.to_str().expect("path"),
        ],
    )
    .ok();
    let written = std::fs::read_to_string(&out).expect("report written");
    assert!(written.starts_with("ID,MC Name,"), "{written}");
    output_replaces_the_file_whole(&k);
}

/// `--output` over what is already at the path: an existing file ends
/// 0600 with the new report, a link is replaced (its target untouched), and
/// a write that fails midway leaves the old file whole.
fn output_replaces_the_file_whole(k: &Keeper) {
    use std::os::unix::fs::PermissionsExt as _;
    let out = k.data_dir().join("existing.csv");
    let report = |out: &std::path::Path| {
        let path = out.to_str().expect("path").to_string();
        let args = ["ds", "info", "--format", "csv", "--output", &path];
        alice(k, &args).ok();
    };
    std::fs::write(&out, "old").expect("write");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    report(&out);
    let mode = std::fs::metadata(&out)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "an existing 0644 file ends 0600");
    let written = std::fs::read_to_string(&out).expect("read");
    assert!(written.starts_with("ID,MSP Name,"), "{written}");

    let victim = k.data_dir().join("victim");
    std::fs::write(&victim, "keep me").expect("write");
    std::fs::remove_file(&out).expect("remove");
    std::os::unix::fs::symlink(&victim, &out).expect("symlink");
    report(&out);
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep me");
    assert!(
        std::fs::symlink_metadata(&out).expect("metadata").is_file(),
        "the link is replaced by the report, not followed"
    );

    // A file size limit of 1 KiB kills keeper (SIGXFSZ) while it writes a
    // longer report: the old file must still be there, whole.
    let old = "old\n".repeat(16 * 1024);
    std::fs::write(&out, &old).expect("write");
    let path = out.to_str().expect("path").to_string();
    let args = [
        "ds",
        "info",
        "--mc-details",
        "--format",
        "json",
        "--output",
        &path,
    ];
    let shown = alice(k, &args[..5]).ok();
    assert!(shown.len() > 1024, "the report is over the limit: {shown}");
    let inner = keeper(k, &args);
    let mut limited = std::process::Command::new("sh");
    limited
        .arg("-c")
        .arg("ulimit -f 1 && exec \"$0\" \"$@\"")
        .arg(inner.get_program())
        .args(inner.get_args());
    if let Some(dir) = inner.get_current_dir() {
        limited.current_dir(dir);
    }
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => limited.env(name, value),
            None => limited.env_remove(name),
        };
    }
    limited
        .env("KEEPER_USER", "alice@example.com")
        .env("KEEPER_PASSWORD", PW);
    let status = limited.status().expect("run keeper");
    assert!(!status.success(), "keeper cannot write past the limit");
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        old,
        "the old file is whole"
    );
}

#[test]
fn license_selects_by_id_name_and_glob_and_ignores_edits_without_one() {
    let k = distributor_vault();
    let bob_before = permits(&k, 3456);
    let mine_before = permits(&k, 4000);

    // No selection: every MSP listed; edits ignored with a warning.
    let run = alice(
        &k,
        &["distributor", "license", "--add-product", "businessPlus"],
    );
    let out = run.ok();
    assert!(out.contains("Bob's MSP") && out.contains("My MSP"), "{out}");
    assert!(
        run.stderr()
            .contains("Changes to MSP configuration will be ignored.")
            && run
                .stderr()
                .contains("Pass MSP ID, name, or name search pattern."),
        "{}",
        run.stderr()
    );
    assert_eq!(permits(&k, 3456), bob_before);
    assert_eq!(permits(&k, 4000), mine_before);
    let json = alice(&k, &["ds", "l", "--format", "json"]).json();
    assert_eq!(json.as_array().map(Vec::len), Some(2));

    // By exact name.
    let out = alice(
        &k,
        &[
            "distributor",
            "license",
            "Bob's MSP",
            "--add-product",
            "businessPlus",
        ],
    )
    .ok();
    assert!(out.contains("businessPlus (Business Plus)"), "{out}");
    assert!(!out.contains("My MSP"), "only the selected MSP: {out}");
    assert!(permits(&k, 3456).starts_with("1|1|business,businessPlus,enterprise|"));
    assert_eq!(permits(&k, 4000), mine_before);

    // By id, JSON.
    let json = alice(
        &k,
        &[
            "ds",
            "license",
            "3456",
            "--remove-product",
            "enterprise",
            "--remove-addon",
            "chat",
            "--format",
            "json",
        ],
    )
    .json();
    assert_eq!(json[0]["changed"], true);
    assert_eq!(
        json[0]["allowed_mc_products"],
        serde_json::json!(["business", "businessPlus"])
    );
    assert_eq!(
        permits(&k, 3456),
        "1|1|business,businessPlus|secrets_manager,connection_manager,privileged_access_manager|STORAGE_1TB"
    );

    // By a glob, any case: an unrestricted MSP becomes restricted, from
    // everything allowed.
    alice(
        &k,
        &["distributor", "license", "--allocate-unlimited=off", "*"],
    )
    .ok();
    assert!(
        permits(&k, 3456).starts_with("1|0|"),
        "{}",
        permits(&k, 3456)
    );
    assert_eq!(
        permits(&k, 4000),
        "1|0|business,businessPlus,businessStarter,enterprise,enterprisePlus|\
         chat,enterprise_audit_and_reporting,professional_services_silver_add_on,\
         gold_professional_services_add_on,platinum_professional_services_add_on,\
         msp_service_and_support,consumer_breach_watch,enterprise_breach_watch,compliance_report,\
         secrets_manager,connection_manager,password_rotation,remote_browser_isolation,\
         privileged_access_manager,keeper_endpoint_privilege_manager|"
    );
    alice(
        &k,
        &["distributor", "license", "MY*", "--max-file-plan", "100GB"],
    )
    .ok();
    assert!(permits(&k, 4000).ends_with("|STORAGE_100GB"));
    assert!(
        permits(&k, 3456).ends_with("|STORAGE_1TB"),
        "not matched by MY*"
    );
    let table = alice(&k, &["distributor", "license", "my msp"]).ok();
    for text in [
        "MSP ID",
        "Unlimited Allowed",
        "Allowed Products",
        "Allowed Addons",
        "Max File Plan",
        "100GB",
        "false",
    ] {
        assert!(table.contains(text), "{text} in {table}");
    }

    // Refusals change nothing.
    let before = enterprise_rows(&k);
    for (args, message) in [
        (
            &[
                "distributor",
                "license",
                "Nobody",
                "--add-product",
                "business",
            ][..],
            "MSP \"Nobody\" not found.",
        ),
        (
            &[
                "distributor",
                "license",
                "3456",
                "nobody*",
                "--add-product",
                "business",
            ],
            "MSP \"nobody*\" not found.",
        ),
        (
            &["distributor", "license", "3456", "--add-product", "gold"],
            "Unknown Product: gold",
        ),
        (
            &["distributor", "license", "3456", "--remove-product", "gold"],
            "Unknown Product: gold",
        ),
        (
            &["distributor", "license", "3456", "--add-addon", "KCM"],
            "Unknown Add On: KCM",
        ),
        (
            &["distributor", "license", "3456", "--max-file-plan", "2TB"],
            "Unknown File Plan: 2TB",
        ),
        (
            &[
                "distributor",
                "license",
                "3456",
                "--allocate-unlimited",
                "maybe",
            ],
            "invalid value 'maybe'",
        ),
        (&["distributor", "msp-info"], "<MSP>"),
    ] {
        let err = alice(&k, args).fails();
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(enterprise_rows(&k), before, "{args:?} changed the store");
    }
}

#[test]
fn a_permit_change_is_what_msp_add_and_msp_update_obey() {
    let k = distributor_vault();
    bob(&k, &["msp-add", "-p", "enterprise", "-s", "1", "Beta"]).ok();
    bob(&k, &["msp-update", "Beta", "-f", "1tb"]).ok();

    alice(
        &k,
        &[
            "distributor",
            "license",
            "3456",
            "--remove-product",
            "enterprise",
        ],
    )
    .ok();
    let err = bob(&k, &["msp-add", "-p", "enterprise", "-s", "1", "Gamma"]).fails();
    assert!(
        err.contains("Managed Company plan \"enterprise\" is not allowed"),
        "{err}"
    );
    let err = bob(&k, &["msp-update", "Acme", "-p", "enterprise"]).fails();
    assert!(
        err.contains("Managed Company plan \"enterprise\" is not allowed"),
        "{err}"
    );

    bob(&k, &["msp-update", "Acme", "-s", "-1"]).ok();
    alice(
        &k,
        &[
            "distributor",
            "license",
            "Bob's MSP",
            "--allocate-unlimited",
            "off",
        ],
    )
    .ok();
    let err = bob(&k, &["msp-update", "Beta", "-s", "-1"]).fails();
    assert!(
        err.contains("Managed Company unlimited licences are not allowed"),
        "{err}"
    );
    let err = bob(&k, &["msp-add", "-p", "business", "-s", "-1", "Delta"]).fails();
    assert!(err.contains("unlimited licences are not allowed"), "{err}");

    alice(
        &k,
        &[
            "distributor",
            "license",
            "bob*",
            "--remove-addon",
            "chat",
            "--max-file-plan",
            "100GB",
        ],
    )
    .ok();
    let err = bob(&k, &["msp-add", "-p", "business", "-a", "chat", "Delta"]).fails();
    assert!(
        err.contains("Managed Company add-on \"chat\" is not allowed"),
        "{err}"
    );
    let err = bob(&k, &["msp-update", "Beta", "-f", "1tb"]).fails();
    assert!(
        err.contains("Managed Company file storage \"1TB\" is not allowed"),
        "{err}"
    );
    // Beta's 1TB, carried to another plan, is checked like a new one.
    let err = bob(&k, &["msp-update", "Beta", "-p", "business"]).fails();
    assert!(
        err.contains("Managed Company file storage \"1TB\" is not allowed"),
        "{err}"
    );
    assert_eq!(
        raw_rows(&k, "SELECT count(*) FROM {t}enterprises WHERE kind = 'mc'"),
        ["3"],
        "nothing added while refused"
    );

    // Given back, allowed again.
    alice(
        &k,
        &[
            "ds",
            "l",
            "3456",
            "--add-product",
            "enterprise",
            "--allocate-unlimited",
            "on",
            "--add-addon",
            "chat",
        ],
    )
    .ok();
    bob(
        &k,
        &[
            "msp-add",
            "-p",
            "enterprise",
            "-s",
            "-1",
            "-a",
            "chat",
            "Gamma",
        ],
    )
    .ok();
    bob(&k, &["msp-update", "Beta", "-s", "-1"]).ok();

    // Allowing what an unrestricted MSP has changes nothing: it stays
    // unrestricted.
    alice(&k, &["ds", "l", "4000", "--add-product", "business"]).ok();
    assert_eq!(permits(&k, 4000), "0|1|||");
}

#[test]
fn only_a_distributors_admin_runs_distributor() {
    // A vault that is no enterprise.
    let plain = vault();
    let err = kp(&plain, &["distributor", "info"]).fails();
    assert!(
        err.contains("alice@example.com is not a distributor admin: this command is only available for Distributors"),
        "{err}"
    );
    assert!(
        err.contains("enterprise-init --distributor"),
        "says what to do: {err}"
    );
    // An MSP's admin.
    let msp = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    for args in [
        &["distributor"][..],
        &["ds", "license", "*", "--allocate-unlimited", "on"],
    ] {
        let err = kp(&msp, args).fails();
        assert!(err.contains("is not a distributor admin"), "{err}");
    }
    // An MSP admin under the distributor, and a second user of the
    // distributor's own tenant.
    let k = distributor_vault();
    let mut add = keeper(&k, &["user", "add", "dave@example.com"]);
    add.env("KEEPER_USER", "alice@example.com")
        .env("KEEPER_PASSWORD", PW)
        .env("KEEPER_NEW_USER_PASSWORD", "dave-pw");
    assert!(add.output().expect("run").status.success());
    let before = enterprise_rows(&k);
    for args in [
        &["distributor", "info"][..],
        &["distributor", "msp-info", "3456"],
        &["distributor", "license", "*", "--allocate-unlimited", "off"],
    ] {
        let err = bob(&k, args).fails();
        assert!(
            err.contains("bob@msp.example is not a distributor admin"),
            "{err}"
        );
        let err = as_user(&k, "dave@example.com", "dave-pw", args).fails();
        assert!(
            err.contains("dave@example.com is not a distributor admin"),
            "{err}"
        );
    }
    assert_eq!(enterprise_rows(&k), before);
}

#[test]
fn a_managed_companys_user_sees_only_its_company() {
    let k = msp_vault(&std::fs::read_to_string(fixture()).expect("fixture"));
    kp(&k, &["msp-add", "-p", "business", "-s", "2", "Acme"]).ok();
    kp(&k, &["msp-add", "-p", "business", "-s", "2", "Beta"]).ok();
    kp(&k, &["add", "-t", "MSP note", "login=msp"]).ok();
    batch(&k, "switch-to-mc Beta\nadd -t \"Beta secret\" login=beta\n").ok();
    // erin becomes a user (an admin) of Acme's tenant, from inside it.
    let file = k.data_dir().join("acme.txt");
    std::fs::write(
        &file,
        "switch-to-mc Acme\nadd -t \"Acme secret\" login=acme\nuser add erin@acme.example\n",
    )
    .expect("write");
    let mut cmd = keeper(&k, &[file.to_str().expect("path")]);
    cmd.env("KEEPER_PASSWORD", PW)
        .env("KEEPER_NEW_USER_PASSWORD", "erin-pw");
    Run(cmd.output().expect("run")).ok();
    let erin = |args: &[&str]| as_user(&k, "erin@acme.example", "erin-pw", args);

    // Her vault is in Acme's tenant: her records, its users; nothing of
    // the MSP or of Beta (nor the records of Acme's identity, which are
    // not shared with her).
    erin(&["add", "-t", "Erin note", "login=erin"]).ok();
    assert_eq!(
        raw_rows(
            &k,
            "SELECT e.enterprise_id FROM {t}records r JOIN {t}enterprises e \
             ON e.tenant_uid = r.tenant_uid JOIN {t}users u ON u.tenant_uid = r.tenant_uid \
             WHERE u.email = 'erin@acme.example' GROUP BY e.enterprise_id"
        ),
        ["5499"],
        "her tenant's records are Acme's"
    );
    let ls = erin(&["ls", "-l"]).ok();
    assert!(ls.contains("Erin note"), "{ls}");
    assert!(
        !ls.contains("MSP note") && !ls.contains("Beta secret"),
        "{ls}"
    );
    let search = erin(&["search", "secret"]).ok();
    assert!(!search.contains("Beta secret"), "{search}");
    let users = erin(&["user", "list"]).ok();
    assert!(users.contains("erin@acme.example"), "{users}");
    assert!(!users.contains("alice@example.com"), "{users}");

    // msp and distributor commands refused, naming her company.
    let before = enterprise_rows(&k);
    let licences = fixture();
    for args in [
        &["msp-info"][..],
        &["mi", "-mc", "Beta"],
        &["msp-down"],
        &["msp-add", "-p", "business", "Mine"],
        &["msp-update", "Beta", "-s", "1"],
        &["msp-remove", "-f", "Beta"],
        &["switch-to-mc", "Beta"],
        &["distributor"],
        &["distributor", "license", "*", "--allocate-unlimited", "on"],
        &[
            "enterprise-init",
            "--msp",
            "Mine",
            "--licences",
            licences.to_str().expect("path"),
        ],
    ] {
        let err = erin(args).fails();
        assert!(
            err.contains("erin@acme.example belongs to managed company \"Acme\" (ID=5499), which sees only itself"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(enterprise_rows(&k), before, "nothing changed");
}

#[test]
fn enterprise_init_is_for_the_first_user_of_a_top_level_tenant() {
    let k = vault();
    let licences = fixture();
    let licences = licences.to_str().expect("path");
    let mut add = keeper(&k, &["user", "add", "dave@example.com"]);
    add.env("KEEPER_PASSWORD", PW)
        .env("KEEPER_NEW_USER_PASSWORD", "dave-pw");
    assert!(add.output().expect("run").status.success());
    // dave's row back-dated (a member whose clock is wrong, or who wrote
    // the row with SQL): the tenant's maker is on its row, so no clock
    // makes dave "first".
    raw_execute(
        &k,
        "UPDATE {t}users SET created = 0 WHERE email = 'dave@example.com'",
    );
    let dist = distributor_fixture();
    let dist = dist.to_str().expect("path");

    // dave joined alice's tenant: he may not make it an enterprise.
    for args in [
        &["enterprise-init", "--msp", "Dave's", "--licences", licences][..],
        &[
            "enterprise-init",
            "--distributor",
            "Dave's",
            "--licences",
            dist,
        ],
    ] {
        let err = as_user(&k, "dave@example.com", "dave-pw", args).fails();
        assert!(
            err.contains("only the tenant's first user (alice@example.com) may make it an enterprise, not dave@example.com"),
            "{err}"
        );
    }
    assert_eq!(raw_rows(&k, "SELECT count(*) FROM {t}enterprises"), ["0"]);

    // alice may; then nobody else takes the store over: not an MSP admin
    // she made (their tenant is an enterprise, managed by hers), not
    // alice again, not a company's user.
    let mut init = keeper(
        &k,
        &[
            "enterprise-init",
            "--distributor",
            "Dist",
            "--licences",
            dist,
        ],
    );
    init.env("KEEPER_USER", "alice@example.com")
        .env("KEEPER_PASSWORD", PW)
        .env("KEEPER_NEW_USER_PASSWORD", FIRST_PW);
    Run(init.output().expect("run")).ok();
    crate::msp_rekey::rekey(&k, "bob@msp.example", FIRST_PW, MSP_PW).ok();
    let before = enterprise_rows(&k);
    for (args, alices) in [
        (
            &["enterprise-init", "--msp", "Mine", "--licences", licences][..],
            "this tenant is already an enterprise (distributor 3000)",
        ),
        (
            &[
                "enterprise-init",
                "--distributor",
                "Mine",
                "--licences",
                dist,
            ],
            "this tenant is the distributor \"Dist\" (ID=3000); to add MSPs to it, name it",
        ),
    ] {
        let err = bob(&k, args).fails();
        assert!(
            err.contains("this tenant is already an enterprise (msp 3456)"),
            "{err}"
        );
        let err = alice(&k, args).fails();
        assert!(err.contains(alices), "{err}");
    }
    assert_eq!(enterprise_rows(&k), before, "nothing changed");
    let mut add = keeper(
        &k,
        &[batch_file(&k, "switch-to-mc Acme\nuser add frank@acme.example\n").as_str()],
    );
    add.env("KEEPER_USER", "bob@msp.example")
        .env("KEEPER_PASSWORD", MSP_PW)
        .env("KEEPER_NEW_USER_PASSWORD", "frank-pw");
    Run(add.output().expect("run")).ok();
    let before_frank = enterprise_rows(&k);
    let err = as_user(
        &k,
        "frank@acme.example",
        "frank-pw",
        &["enterprise-init", "--msp", "Mine", "--licences", licences],
    )
    .fails();
    assert!(
        err.contains("belongs to managed company \"Acme\" (ID=3457)"),
        "{err}"
    );
    assert_eq!(enterprise_rows(&k), before_frank, "nothing changed");
}

/// Writes `lines` as a batch file; returns its path.
fn batch_file(k: &Keeper, lines: &str) -> String {
    let file = k.data_dir().join("lines.txt");
    std::fs::write(&file, lines).expect("write batch");
    file.to_str().expect("path").to_string()
}

/// The seed's distributor lines as written, on the fixture's distributor
/// (whose MSPs are "Bob's MSP", id 3456, and "My MSP").
#[test]
fn the_seeds_distributor_examples_run_as_written() {
    let k = distributor_vault();
    let lines = [
        "distributor info",
        "distributor info --mc-details --format csv --output msp-report.csv",
        "distributor msp-info \"Bob's msp\"",
        "distributor license \"Bob's MSP\" --add-product business",
        "distributor license \"My MSP\" 3456 --max-file-plan 1TB",
        "distributor license --allocate-unlimited=off *",
    ];
    let mut cmd = keeper(&k, &[batch_file(&k, &(lines.join("\n") + "\n")).as_str()]);
    cmd.env("KEEPER_USER", "alice@example.com")
        .env("KEEPER_PASSWORD", PW);
    let out = Run(cmd.output().expect("run")).ok();
    assert!(out.contains("Acme"), "{out}");
    let report = std::fs::read_to_string(k.data_dir().join("msp-report.csv")).expect("report");
    assert!(report.contains("Bob's MSP"), "{report}");
    assert!(
        permits(&k, 4000).ends_with("|STORAGE_1TB"),
        "{}",
        permits(&k, 4000)
    );
    assert!(permits(&k, 3456).ends_with("|STORAGE_1TB"));
    assert!(
        permits(&k, 3456).starts_with("1|0|business,enterprise|"),
        "{}",
        permits(&k, 3456)
    );
    assert!(
        permits(&k, 4000).starts_with("1|0|"),
        "{}",
        permits(&k, 4000)
    );
}

/// The distributor's admin adds MSPs by running a file again: the MSPs it
/// has are skipped, the others made; nobody else can.
#[test]
fn a_distributor_adds_msps_by_running_its_file_again() {
    let k = distributor_vault();
    let more = k.data_dir().join("more.toml");
    let text = std::fs::read_to_string(distributor_fixture()).expect("fixture")
        + "\n[[msps]]\nname = \"New MSP\"\nadmin = \"dan@new.example\"\n\
           [[msps.pool]]\nplan = \"business\"\ntotal = 3\n";
    std::fs::write(&more, text).expect("write");
    let more = more.to_str().expect("path");
    let run = |email: &str, pw: &str, name: &str| {
        Run(keeper(
            &k,
            &["enterprise-init", "--distributor", name, "--licences", more],
        )
        .env("KEEPER_USER", email)
        .env("KEEPER_PASSWORD", pw)
        .env("KEEPER_NEW_USER_PASSWORD", "dan-pw")
        .output()
        .expect("run"))
    };
    // bob's own price table, which the file's must not replace.
    bob_prices_business_in_pounds(&k);
    let bob_before = bob(&k, &["msp-info", "--format", "json"]).json();
    let bob_prices = prices(&k, "bob@msp.example", "json").json();

    // Not its admin, or not its name: refused, nothing written.
    let before = enterprise_rows(&k);
    let err = run("bob@msp.example", MSP_PW, "Dist").fails();
    assert!(err.contains("already an enterprise (msp 3456)"), "{err}");
    let err = run("alice@example.com", PW, "Other").fails();
    assert!(
        err.contains("this tenant is the distributor \"Dist\" (ID=3000)"),
        "{err}"
    );
    assert_eq!(enterprise_rows(&k), before);

    let out = run("alice@example.com", PW, "dist").ok();
    assert!(
        out.contains("Distributor \"Dist\" (ID=3000): 1 MSPs added"),
        "{out}"
    );
    assert!(
        out.contains("MSP \"Bob's MSP\" already exists: Skipping"),
        "{out}"
    );
    assert!(
        out.contains("MSP \"My MSP\" already exists: Skipping"),
        "{out}"
    );
    assert!(
        out.contains("MSP \"New MSP\" created. ID=4001; admin: dan@new.example"),
        "{out}"
    );
    let all = alice(&k, &["distributor", "info", "--format", "json"]).json();
    assert_eq!(all.as_array().map(Vec::len), Some(3));
    assert_eq!(
        bob(&k, &["msp-info", "--format", "json"]).json(),
        bob_before,
        "bob's MSP as it was"
    );
    assert_eq!(
        prices(&k, "bob@msp.example", "json").json(),
        bob_prices,
        "a skipped MSP keeps its own price table"
    );
    // dan, made by the distributor, must re-key first.
    let err = as_user(&k, "dan@new.example", "dan-pw", &["msp-info"]).fails();
    assert!(
        err.contains("dan@new.example must be re-keyed before use"),
        "{err}"
    );
    crate::msp_rekey::rekey(&k, "dan@new.example", "dan-pw", "dan-own-pw").ok();
    let dan = as_user(
        &k,
        "dan@new.example",
        "dan-own-pw",
        &["msp-info", "--format", "json"],
    )
    .json();
    assert_eq!(dan["licenses"][0]["total_licenses"], 3);
    // The file's price table is the new MSP's.
    let dan_prices = as_user(
        &k,
        "dan@new.example",
        "dan-own-pw",
        &["msp-info", "-p", "--format", "csv"],
    )
    .ok();
    assert!(
        dan_prices.contains("Products,Business,business,$3.75/user/month"),
        "{dan_prices}"
    );

    // Again: everything skipped, nothing written.
    let before = enterprise_rows(&k);
    let out = run("alice@example.com", PW, "Dist").ok();
    assert!(out.contains("0 MSPs added"), "{out}");
    assert_eq!(enterprise_rows(&k), before);
}

#[test]
fn store_migrate_carries_the_distributor_and_its_msps() {
    let k = distributor_vault();
    alice(
        &k,
        &[
            "distributor",
            "license",
            "3456",
            "--remove-product",
            "enterprise",
        ],
    )
    .ok();
    let before = alice(&k, &["distributor", "info", "--format", "json"]).json();
    let (to, _keep) = other_backend(&k);
    let out = alice(&k, &["store", "migrate", "--to", &to, "--format", "json"]).json();
    assert_eq!(out["tables"]["enterprises"], 5, "{out}");
    let copy = alice(
        &k,
        &["--store", &to, "distributor", "info", "--format", "json"],
    )
    .json();
    assert_eq!(copy, before);
    let prices = bob(&k, &["msp-info", "-p", "--format", "json"]).json();
    assert_eq!(
        bob(&k, &["--store", &to, "msp-info", "-p", "--format", "json"]).json(),
        prices,
        "the price table the distributor's file gave"
    );
    let err = bob(&k, &["--store", &to, "msp-add", "-p", "enterprise", "X"]).fails();
    assert!(
        err.contains("Managed Company plan \"enterprise\" is not allowed"),
        "{err}"
    );
}

/// Two processes of the tenant's first user run `enterprise-init --msp`
/// at once, three rounds: one makes the MSP, the other is refused with
/// the same words as a later run (the checks run again inside the write
/// transaction), never a storage error, and one enterprise exists.
#[test]
fn two_racing_enterprise_inits_make_one_msp() {
    let licences = fixture();
    let licences = licences.to_str().expect("path");
    for round in 0..3 {
        let k = vault();
        let children: Vec<_> = (0..2)
            .map(|_| {
                keeper(
                    &k,
                    &["enterprise-init", "--msp", "Mine", "--licences", licences],
                )
                .env("KEEPER_PASSWORD", PW)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
            })
            .collect();
        let runs: Vec<Run> = children
            .into_iter()
            .map(|c| Run(c.wait_with_output().expect("wait")))
            .collect();
        let won = runs.iter().filter(|r| r.0.status.success()).count();
        assert_eq!(won, 1, "round {round}: one wins");
        let lost = runs
            .iter()
            .find(|r| !r.0.status.success())
            .expect("a loser")
            .stderr();
        assert!(
            lost.contains("this tenant is already an enterprise (msp 5498)"),
            "round {round}: {lost}"
        );
        assert_eq!(
            raw_rows(&k, "SELECT count(*) FROM {t}enterprises"),
            ["1"],
            "round {round}"
        );
    }
}

/// `msp-info -p` of the MSP admin `email` in `format`.
fn prices(k: &Keeper, email: &str, format: &str) -> Run {
    as_user(k, email, MSP_PW, &["msp-info", "-p", "--format", format])
}

/// The `above_permits` of company `id` in a `distributor msp-info` JSON.
fn above_permits(msp: &Value, id: i64) -> Value {
    msp["managed_companies"]
        .as_array()
        .expect("companies")
        .iter()
        .find(|c| c["mc_enterprise_id"] == id)
        .expect("listed")["above_permits"]
        .clone()
}

/// bob replaces his MSP's price table with `msp-prices`: business at
/// £4.00/user/month.
fn bob_prices_business_in_pounds(k: &Keeper) {
    let file = k.data_dir().join("prices.toml");
    std::fs::write(
        &file,
        "[[prices]]\ncode = \"business\"\ncategory = \"products\"\namount = 4\n\
         currency = \"GBP\"\nunit = \"user/month\"\n",
    )
    .expect("write");
    bob(k, &["msp-prices", file.to_str().expect("path")]).ok();
}

/// The distributor's file gives each MSP it makes a price table: the
/// file's `[[prices]]`, or the MSP's own `[[msps.prices]]`; the MSP's
/// admin replaces it with `msp-prices`, and its reports use it.
#[test]
fn the_distributors_file_prices_the_msps_it_makes() {
    let k = distributor_vault();
    let bob_prices = prices(&k, "bob@msp.example", "json").json();
    assert_eq!(
        bob_prices,
        serde_json::json!([
            {"category": "Products", "name": "Business", "code": "business",
             "price": "$3.75/user/month"},
            {"category": "Products", "name": "Enterprise", "code": "enterprise",
             "price": "$5.00/user/month"},
        ])
    );
    let csv = prices(&k, "bob@msp.example", "csv").ok();
    assert_eq!(
        csv,
        "category,name,code,price\n\
         Products,Business,business,$3.75/user/month\n\
         Products,Enterprise,enterprise,$5.00/user/month\n"
    );
    let table = prices(&k, "carol@mymsp.example", "table").ok();
    assert!(
        table.contains("Business Plus") && table.contains("€4.50/user/month"),
        "My MSP's own table: {table}"
    );
    assert!(!table.contains("$3.75"), "not the file's: {table}");
    // The legacy report prices Acme's 4 business seats with it.
    let mlr = bob(&k, &["mlr", "--format", "json"]).json();
    assert!(
        mlr.as_array()
            .expect("events")
            .iter()
            .any(|e| e["company_name"] == "Acme"
                && e["plan"] == "Business"
                && e["price_estimate"] == "$15.00/month"),
        "the rate of the file's table: {mlr}"
    );

    // The MSP's admin replaces it.
    bob_prices_business_in_pounds(&k);
    assert_eq!(
        prices(&k, "bob@msp.example", "json").json(),
        serde_json::json!([{"category": "Products", "name": "Business", "code": "business",
                            "price": "£4.00/user/month"}])
    );
    assert!(
        prices(&k, "carol@mymsp.example", "csv")
            .ok()
            .contains("Products,Business Plus,businessPlus,€4.50/user/month"),
        "another MSP's table is its own"
    );
}

/// `distributor info` and `msp-info` flag what a company has that the
/// distributor has since disallowed: plan, unlimited seats, a file plan
/// above the maximum, add-ons, in table, JSON and CSV.
#[test]
fn info_flags_companies_above_their_permits() {
    let k = distributor_vault();
    bob(
        &k,
        &[
            "msp-add",
            "-p",
            "enterprise",
            "-s",
            "-1",
            "-f",
            "1tb",
            "-a",
            "chat",
            "Wide",
        ],
    )
    .ok();
    let wide_id = bob(&k, &["msp-info", "--format", "json"]).json()["managed_companies"]
        .as_array()
        .expect("companies")
        .iter()
        .find(|c| c["company_name"] == "Wide")
        .expect("Wide")["company_id"]
        .as_i64()
        .expect("id");
    // Before: nothing above the permits.
    let msp = msp_json(&k, 3456);
    assert_eq!(msp["companies_above_permits"], 0);
    for mc in msp["managed_companies"].as_array().expect("companies") {
        assert_eq!(mc["above_permits"], serde_json::json!([]), "{mc}");
    }

    alice(
        &k,
        &[
            "ds",
            "l",
            "3456",
            "--remove-product",
            "enterprise",
            "--remove-addon",
            "chat",
            "--allocate-unlimited",
            "off",
            "--max-file-plan",
            "100GB",
        ],
    )
    .ok();
    let msp = msp_json(&k, 3456);
    assert_eq!(msp["companies_above_permits"], 3);
    let above = |id: i64| above_permits(&msp, id);
    assert_eq!(
        above(3457),
        serde_json::json!([{"permit": "add_on", "code": "chat"}]),
        "Acme: business is allowed, chat no more"
    );
    assert_eq!(
        above(3458),
        serde_json::json!([{"permit": "plan", "code": "enterprise"}])
    );
    assert_eq!(
        above(wide_id),
        serde_json::json!([
            {"permit": "plan", "code": "enterprise"},
            {"permit": "unlimited_seats"},
            {"permit": "file_plan", "code": "STORAGE_1TB"},
            {"permit": "add_on", "code": "chat"},
        ])
    );
    assert_eq!(msp_json(&k, 4000)["companies_above_permits"], 0);

    // Table and CSV: the MSP's count, each company's list.
    let table = alice(&k, &["distributor", "info"]).ok();
    assert!(table.contains("Above Permits"), "{table}");
    let csv = alice(&k, &["ds", "i", "--format", "csv"]).ok();
    assert!(
        csv.contains(
            "\n3456,Bob's MSP,3,Not Allowed,\"KSM\nKCM\nPAM\",5,enabled,5 seats,3 seats,Chat,3\n"
        ),
        "{csv}"
    );
    let csv = alice(&k, &["ds", "i", "--mc-details", "--format", "csv"]).ok();
    assert!(
        csv.contains(&format!(
            "\n{wide_id},Bob's MSP,,Wide,Enterprise,1TB,Unlimited,0,disabled,disabled,disabled,Chat,\
             \"Plan: Enterprise\nUnlimited seats\nStorage: 1TB\nAdd-on: Chat\"\n"
        )),
        "{csv}"
    );
    assert!(csv.contains(",Chat,Add-on: Chat\n"), "Acme: {csv}");
    let table = alice(&k, &["ds", "i", "--mc-details"]).ok();
    assert!(
        table.contains("Unlimited seats") && table.contains("Plan: Enterprise"),
        "{table}"
    );
    let csv = alice(&k, &["ds", "mi", "3456", "--format", "csv"]).ok();
    assert!(
        csv.contains(&format!(
            ",Unlimited,0,\"Plan: Enterprise\nUnlimited seats\nStorage: 1TB\nAdd-on: Chat\"\n"
        )),
        "{csv}"
    );
    let json = alice(&k, &["ds", "mi", "3456", "--format", "json"]).json();
    assert_eq!(json["companies_above_permits"], 3);

    // Given back, nothing is above them.
    alice(&k, &["ds", "l", "3456", "--lift-restrictions"]).ok();
    assert_eq!(msp_json(&k, 3456)["companies_above_permits"], 0);

    // Unlimited add-on seats are not a permit (as in Commander): never
    // flagged, even once unlimited seats are not allowed.
    alice(&k, &["ds", "l", "3456", "--allocate-unlimited", "off"]).ok();
    bob(
        &k,
        &[
            "msp-add",
            "-p",
            "business",
            "-s",
            "2",
            "-a",
            "connection_manager:2147483647",
            "Addons",
        ],
    )
    .ok();
    let msp = msp_json(&k, 3456);
    let above = |id: i64| above_permits(&msp, id);
    let addons_id = msp["managed_companies"]
        .as_array()
        .expect("companies")
        .iter()
        .find(|c| c["mc_enterprise_name"] == "Addons")
        .expect("Addons")["mc_enterprise_id"]
        .as_i64()
        .expect("id");
    assert_eq!(above(addons_id), serde_json::json!([]), "add-on seats");
    assert_eq!(
        above(wide_id),
        serde_json::json!([{"permit": "unlimited_seats"}]),
        "the company's own unlimited seats are"
    );
}

/// `distributor license --max-file-plan none` clears the limit and
/// `--lift-restrictions` makes an MSP unrestricted again (Commander has
/// neither); the MSP's commands obey.
#[test]
fn license_clears_the_file_plan_limit_and_lifts_restrictions() {
    let k = distributor_vault();
    let err = bob(&k, &["msp-update", "Acme", "-f", "10tb"]).fails();
    assert!(
        err.contains("Managed Company file storage \"10TB\" is not allowed"),
        "{err}"
    );
    let json = alice(
        &k,
        &[
            "ds",
            "l",
            "3456",
            "--max-file-plan",
            "none",
            "--format",
            "json",
        ],
    )
    .json();
    assert_eq!(json[0]["changed"], true);
    assert_eq!(json[0]["max_file_plan_type"], serde_json::Value::Null);
    assert_eq!(json[0]["restricted"], true);
    assert_eq!(
        permits(&k, 3456),
        "1|1|business,enterprise|chat,secrets_manager,connection_manager,privileged_access_manager|",
        "only the limit is gone"
    );
    bob(&k, &["msp-update", "Acme", "-f", "10tb"]).ok();
    // On an unrestricted MSP it changes nothing: it stays unrestricted.
    let csv = alice(
        &k,
        &[
            "ds",
            "l",
            "4000",
            "--max-file-plan",
            "NONE",
            "--format",
            "csv",
        ],
    )
    .ok();
    assert!(csv.starts_with("MSP ID,MSP Name,"), "{csv}");
    assert_eq!(permits(&k, 4000), "0|1|||");

    // Refused: with another change, or unknown; nothing changed.
    let before = enterprise_rows(&k);
    for (args, message) in [
        (
            &[
                "ds",
                "l",
                "3456",
                "--lift-restrictions",
                "--add-product",
                "business",
            ][..],
            "lifting restrictions allows everything: it takes no other change; nothing was changed",
        ),
        (
            &[
                "ds",
                "l",
                "3456",
                "--lift-restrictions",
                "--max-file-plan",
                "none",
            ],
            "lifting restrictions allows everything",
        ),
        (
            &["ds", "l", "3456", "--max-file-plan", "nothing"],
            "Unknown File Plan: nothing",
        ),
    ] {
        let err = alice(&k, args).fails();
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(enterprise_rows(&k), before, "{args:?} changed the store");
    }

    alice(&k, &["ds", "l", "bob*", "--allocate-unlimited", "off"]).ok();
    let err = bob(&k, &["msp-add", "-p", "businessPlus", "-s", "1", "Plus"]).fails();
    assert!(
        err.contains("plan \"businessPlus\" is not allowed"),
        "{err}"
    );
    let json = alice(
        &k,
        &["ds", "l", "3456", "--lift-restrictions", "--format", "json"],
    )
    .json();
    assert_eq!(json[0]["changed"], true);
    assert_eq!(json[0]["restricted"], false);
    assert_eq!(json[0]["allow_unlimited_licenses"], true);
    assert_eq!(
        json[0]["allowed_mc_products"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(permits(&k, 3456), "0|1|||");
    let restrictions = bob(&k, &["msp-info", "-r"]).ok();
    assert!(
        restrictions.contains("MSP has no restrictions"),
        "{restrictions}"
    );
    bob(&k, &["msp-update", "Acme", "-s", "-1"]).ok();
    let table = alice(&k, &["ds", "l", "3456", "--lift-restrictions"]).ok();
    assert!(table.contains("Bob's MSP"), "{table}");
    assert_eq!(
        alice(
            &k,
            &["ds", "l", "3456", "--lift-restrictions", "--format", "json"]
        )
        .json()[0]["changed"],
        false,
        "lifted already"
    );
    // A no-op edit leaves it unrestricted; an MSP restricted to
    // everything is still restricted, and lifting that is a change.
    alice(&k, &["ds", "l", "3456", "--add-product", "business"]).ok();
    assert_eq!(permits(&k, 3456), "0|1|||");
    alice(&k, &["ds", "l", "3456", "--remove-addon", "chat"]).ok();
    alice(&k, &["ds", "l", "3456", "--add-addon", "chat"]).ok();
    assert!(
        permits(&k, 3456).starts_with("1|1|"),
        "{}",
        permits(&k, 3456)
    );
    let json = alice(
        &k,
        &["ds", "l", "3456", "--lift-restrictions", "--format", "json"],
    )
    .json();
    assert_eq!(json[0]["changed"], true);
    assert_eq!(permits(&k, 3456), "0|1|||");
}
