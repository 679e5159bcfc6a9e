//! Users moving into a managed company (`msp-convert-node`, finished at
//! each user's next password unlock) through the binary, on both stores:
//! what others may not do while a move is pending, `msp-remove` naming the
//! users it deletes, a reused company's seats, `account_share` across the
//! boundary, the clash blocker, a second conversion, a master password
//! changed mid-move, `store migrate` of an unfinished move, and MOVE_USER
//! checked against the schema itself so that a new table cannot be
//! forgotten.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use keeper::testing::vault::store::roles::MOVE_USER;

use crate::msp::{msp_vault, other_backend, raw_rows};
use crate::msp_roles::{
    ALICE, NODE, TREE, alice, company, movable_rows, msp_tenant, named, raw_exec, roles,
};
use crate::support::{Keeper, Run};
use crate::vault::{PW, add_user, run_as};

const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const DAVE: &str = "dave@example.com";

/// Runs `keeper ARGS` as `email`, whose password is `<name>-pw`.
fn user(k: &Keeper, email: &str, args: &[&str]) -> Run {
    let name = email.split('@').next().expect("local part");
    run_as(k, Some(email), &format!("{name}-pw"), args)
}

/// The MSP of [`TREE`] with `users` added (password `<name>-pw`), each
/// placed on the node given with it.
fn msp_with(users: &[(&str, &str)]) -> Keeper {
    let k = msp_vault(TREE);
    for (email, node) in users {
        let name = email.split('@').next().expect("local part");
        add_user(&k, email, &format!("{name}-pw"));
        if !node.is_empty() {
            alice(&k, &["enterprise-user", email, "--node", node]).ok();
        }
    }
    k
}

/// The tenant a user belongs to.
fn tenant_of(k: &Keeper, email: &str) -> String {
    raw_rows(
        k,
        &format!("SELECT tenant_uid FROM {{t}}users WHERE email = '{email}'"),
    )
    .join(",")
}

/// Every `(table, column)` of the raw store, in column order, keeper's
/// own tables only.
fn schema(k: &Keeper) -> Vec<(String, String)> {
    let sql = if k.on_postgres() {
        "SELECT table_name, column_name FROM information_schema.columns \
         WHERE table_schema = 'keeper' ORDER BY table_name, ordinal_position"
    } else {
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
    };
    raw_rows(k, sql)
        .iter()
        .map(|r| {
            let (t, c) = r.split_once('|').expect("two columns");
            (t.to_string(), c.to_string())
        })
        .filter(|(t, _)| t != "vault_meta" && t != "migrations")
        .collect()
}

/// The columns of each table, in order.
fn columns(k: &Keeper) -> BTreeMap<String, Vec<String>> {
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (t, c) in schema(k) {
        tables.entry(t).or_default().push(c);
    }
    tables
}

/// Every row of every table, sorted: what "nothing written" compares.
fn every_row(k: &Keeper) -> Vec<String> {
    let mut all = Vec::new();
    for table in columns(k).keys() {
        let mut rows = raw_rows(k, &format!("SELECT * FROM {{t}}{table}"));
        rows.sort();
        all.push(format!("-- {table}"));
        all.extend(rows);
    }
    all
}

/// The sealed-record uid of the record titled `title`, as `email` lists it.
fn record_uid(k: &Keeper, email: &str, title: &str) -> String {
    let listed = user(k, email, &["ls", "--format", "json"]).json();
    listed
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["name"] == title)
        .and_then(|r| r["uid"].as_str())
        .unwrap_or_else(|| panic!("no {title} in {listed}"))
        .to_string()
}

#[test]
fn a_moving_user_is_refused_by_what_would_link_them_to_the_msp() {
    let k = msp_with(&[(BOB, "Acme"), (CAROL, "Acme Sales"), (DAVE, "")]);
    alice(
        &k,
        &["er", "--add", "Acme Admins", "--node", "Acme", "-au", BOB],
    )
    .ok();
    alice(&k, &["er", "--add", "Everyone"]).ok();
    let dave = |args: &[&str]| user(&k, DAVE, args);
    dave(&["add", "-t", "Dave's", "password=d"]).ok();
    dave(&["mkdir", "--sf", "-e", "Dave SF"]).ok();
    dave(&["team", "add", "Ops"]).ok();
    user(&k, BOB, &["secrets-manager", "app", "create", "CI"]).ok();
    let out = alice(&k, &["msp-convert-node", "Acme"]).ok();
    assert!(out.contains("2 user(s) moved"), "{out}");
    let (_, acme) = company(&k, "Acme");
    let msp = msp_tenant(&k);

    // Before bob's next login, the company lists him by e-mail in the
    // roles that moved with him, and may change them.
    let listed = roles(&k, Some("Acme"));
    assert_eq!(named(&listed, "Acme Admins")["users"], json!([BOB]));
    alice(&k, &["er", "--mc", "Acme", "Acme Admins", "-ru", BOB]).ok();
    alice(
        &k,
        &[
            "er",
            "--mc",
            "Acme",
            "Acme Admins",
            "-au",
            BOB,
            "-au",
            CAROL,
        ],
    )
    .ok();
    assert_eq!(
        named(&roles(&k, Some("Acme")), "Acme Admins")["users"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Whatever would link bob to the MSP is refused, nothing written.
    let before = every_row(&k);
    let says = format!("{BOB} is moving to managed company \"Acme\"");
    for (who, args) in [
        (DAVE, vec!["share-record", "-e", BOB, "Dave's"]),
        (
            DAVE,
            vec!["share-record", "-a", "owner", "-e", BOB, "Dave's"],
        ),
        (DAVE, vec!["share-folder", "Dave SF", "-e", BOB]),
        (DAVE, vec!["team", "add", "Ops 2", "-m", BOB]),
        (DAVE, vec!["team", "add-member", "Ops", BOB]),
        (ALICE, vec!["er", "Everyone", "-au", BOB]),
    ] {
        let run = if who == ALICE {
            alice(&k, &args)
        } else {
            user(&k, who, &args)
        };
        let err = run.fails();
        assert!(err.contains(&says), "{args:?}: {err}");
    }
    // A revoke only removes a link: it goes on (here: nothing to revoke).
    dave(&["share-record", "-a", "revoke", "-e", BOB, "Dave's"]).ok();
    assert_eq!(every_row(&k), before, "nothing written");
    assert_eq!(tenant_of(&k, BOB), msp);

    // In the company, a second user of bob's e-mail, or an application
    // of the name of his, is refused (either would keep him from moving).
    as_company(&k, "Acme", "ls").ok();
    let before = every_row(&k);
    for (line, says) in [
        (
            format!("user add {BOB}"),
            format!("{BOB} is moving into this company"),
        ),
        (
            "secrets-manager app create CI".to_string(),
            format!(
                "{BOB} is moving into this company (msp-convert-node) with an application named \"CI\""
            ),
        ),
    ] {
        let err = as_company(&k, "Acme", &line).fails();
        assert!(err.contains(&says), "{line}: {err}");
    }
    assert_eq!(every_row(&k), before, "nothing written");

    // bob's login finishes the move; the company's roles keep him.
    let run = user(&k, BOB, &["ls"]);
    run.ok();
    assert!(
        run.stderr().contains("moved to company \"Acme\""),
        "{}",
        run.stderr()
    );
    assert_eq!(tenant_of(&k, BOB), acme);
    assert!(
        named(&roles(&k, Some("Acme")), "Acme Admins")["users"]
            .to_string()
            .contains(BOB)
    );
}

/// Runs `line` as alice switched into company `mc` (a batch; a new user
/// gets the password `other-pw`).
fn as_company(k: &Keeper, mc: &str, line: &str) -> Run {
    let file = k.data_dir().join("in-company.txt");
    std::fs::write(&file, format!("switch-to-mc {mc}\n{line}\n")).expect("write");
    let mut cmd = k.cmd(&[file.to_str().expect("path")]);
    cmd.env("KEEPER_PASSWORD", PW)
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_USER", ALICE)
        .env("KEEPER_NEW_USER_PASSWORD", "other-pw");
    Run(cmd.output().expect("run"))
}

#[test]
fn msp_remove_names_the_users_and_records_it_deletes() {
    // eve's e-mail carries a terminal escape (an e-mail only refuses
    // whitespace): it is shown escaped.
    const EVE: &str = "eve\u{1b}[2J@example.com";
    let k = msp_with(&[
        (BOB, "Acme"),
        (CAROL, "Acme Sales"),
        (DAVE, "Acme"),
        (EVE, "Acme"),
    ]);
    user(&k, BOB, &["add", "-t", "One", "password=1"]).ok();
    user(&k, BOB, &["add", "-t", "Two", "password=2"]).ok();
    user(&k, BOB, &["secrets-manager", "app", "create", "CI"]).ok();
    user(
        &k,
        BOB,
        &["secrets-manager", "client", "add", "--app", "CI"],
    )
    .ok();
    alice(&k, &["msp-convert-node", "Acme"]).ok();
    let (_, acme) = company(&k, "Acme");
    for who in [BOB, CAROL] {
        user(&k, who, &["ls"]).ok();
        assert_eq!(tenant_of(&k, who), acme);
    }
    let msp = msp_tenant(&k);
    assert_eq!(tenant_of(&k, DAVE), msp, "dave has not logged in yet");
    // Refusing a link to eve, still moving, shows her e-mail escaped.
    alice(&k, &["er", "--add", "Everyone"]).ok();
    let err = alice(&k, &["er", "Everyone", "-au", EVE]).fails();
    assert!(
        err.contains("eve\\u{1b}[2j@example.com is moving") && !err.contains('\u{1b}'),
        "escaped: {err}"
    );

    // Without a terminal the confirmation is refused, and says it all.
    let err = alice(&k, &["msp-remove", "Acme"]).fails();
    for says in [
        "It also deletes 2 users of the company, who log in with their own master password, \
         and 2 records they own:",
        &format!("  {BOB} (2 records, 1 application with 1 device)"),
        &format!("  {CAROL} (0 records)"),
        "2 users recorded as moving into it will stay with the MSP (their move is cancelled):",
        &format!("  {DAVE}"),
        "  eve\\u{1b}[2j@example.com",
        "Refusing without a terminal",
    ] {
        assert!(err.contains(says), "{says} in\n{err}");
    }
    assert!(!err.contains('\u{1b}'), "escaped: {err}");
    assert_eq!(tenant_of(&k, BOB), acme, "nothing removed");

    // -f says the same on its output, then removes.
    let out = alice(&k, &["msp-remove", "-f", "Acme"]).ok();
    assert!(
        out.contains(&format!("  {BOB} (2 records, 1 application with 1 device)"))
            && out.contains(&format!("  {DAVE}")),
        "{out}"
    );
    assert!(out.contains("Managed company \"Acme\" removed."), "{out}");
    assert!(
        out.contains("  eve\\u{1b}[2j@example.com") && !out.contains('\u{1b}'),
        "escaped: {out}"
    );
    assert_eq!(tenant_of(&k, BOB), "", "bob went with the company");
    assert_eq!(tenant_of(&k, CAROL), "");
    assert_eq!(tenant_of(&k, DAVE), msp, "dave stays with the MSP");
    assert!(
        raw_rows(&k, "SELECT user_uid FROM {t}enterprise_users").is_empty(),
        "dave sits on the MSP's root again"
    );
    user(&k, DAVE, &["ls"]).ok();
    assert_eq!(tenant_of(&k, DAVE), msp);

    // A company without such users says nothing more.
    alice(&k, &["msp-add", "-p", "business", "-s", "1", "Plain"]).ok();
    let out = alice(&k, &["msp-remove", "-f", "Plain"]).ok();
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn a_reused_company_gets_the_seats_of_the_users_it_will_hold() {
    let k = msp_with(&[(BOB, "Beta"), (CAROL, "Beta")]);
    alice(&k, &["msp-add", "-p", "business", "-s", "1", "beta"]).ok();
    let (beta, _) = company(&k, "beta");
    let seats = |k: &Keeper| {
        let info = alice(k, &["msp-info", "-mc", "beta", "--format", "json"]).json();
        info["managed_companies"][0]["allocated"].clone()
    };

    // Another plan is refused (msp-update changes it), nothing written.
    let before = every_row(&k);
    let err = alice(&k, &["msp-convert-node", "Beta", "-p", "enterprise"]).fails();
    assert!(err.contains("exists with plan business"), "{err}");
    // More seats than the pool holds: refused, nothing written.
    let err = alice(&k, &["msp-convert-node", "Beta", "-s", "100"]).fails();
    assert!(err.contains("100"), "{err}");
    assert_eq!(every_row(&k), before, "nothing written");

    let out = alice(&k, &["msp-convert-node", "Beta", "-p", "business"]).ok();
    assert!(
        out.contains(&format!(
            "converted to existing managed company \"beta\" (ID={beta}, seats 2, raised from 1)"
        )),
        "{out}"
    );
    assert_eq!(seats(&k), 2);
    let ledger = raw_rows(
        &k,
        &format!(
            "SELECT change, product, licences FROM {{t}}billing_events WHERE mc_id = {beta} \
             ORDER BY id"
        ),
    );
    assert_eq!(ledger, ["added|business|1", "seats|business|2"]);
}

#[test]
fn account_share_across_the_boundary_refuses_and_within_it_is_carried() {
    let k = msp_with(&[]);
    let id = |k: &Keeper, name: &str| {
        named(&roles(k, None), name)["role_id"]
            .as_i64()
            .expect("id")
            .to_string()
    };
    alice(&k, &["er", "--add", "Target", "--node", "Acme"]).ok();
    let target = id(&k, "Target");
    let share = format!("require_account_share:{target}");
    alice(
        &k,
        &[
            "er",
            "--add",
            "Sharer",
            "--node",
            "Acme Sales",
            "--enforcement",
            &share,
        ],
    )
    .ok();
    alice(&k, &["er", "--add", "Outside", "--enforcement", &share]).ok();
    let before = every_row(&k);
    let err = alice(&k, &["msp-convert-node", "Acme"]).fails();
    assert!(
        err.contains(&format!(
            "role \"Outside\" (ID={}), outside the node, has require_account_share naming role \
             \"Target\" (ID={target}), which is not",
            id(&k, "Outside")
        )),
        "{err}"
    );
    assert!(!err.contains("\"Sharer\""), "{err}");
    assert_eq!(every_row(&k), before, "nothing written");

    alice(
        &k,
        &["er", "Outside", "--enforcement", "require_account_share:"],
    )
    .ok();
    alice(&k, &["msp-convert-node", "Acme"]).ok();
    let theirs = roles(&k, Some("Acme"));
    assert_eq!(
        named(&theirs, "Sharer")["enforcements"]["require_account_share"].to_string(),
        target,
        "carried: the role it names moved with it, under the same id"
    );
    assert_eq!(named(&theirs, "Target")["role_id"].to_string(), target);
}

#[test]
fn convert_node_refuses_a_clash_and_a_second_run_writing_nothing() {
    let k = msp_with(&[(BOB, "Gamma"), (CAROL, "Acme")]);
    alice(&k, &["msp-add", "-p", "business", "-s", "2", "Gamma"]).ok();
    // The company has a user of bob's e-mail already.
    as_company(&k, "Gamma", &format!("user add {BOB}")).ok();
    let before = every_row(&k);
    let err = alice(&k, &["msp-convert-node", "Gamma"]).fails();
    assert!(
        err.contains(&format!(
            "user {BOB}: the company already has a user with that e-mail"
        )),
        "{err}"
    );
    assert_eq!(every_row(&k), before, "nothing written");

    // A node converted once is the company's: a second run (by name or
    // id, before or after its users' logins) finds no such node.
    alice(&k, &["msp-convert-node", "Acme"]).ok();
    for when in ["before carol's login", "after it"] {
        let rows = movable_rows(&k);
        let before = every_row(&k);
        for node in ["Acme".to_string(), (NODE + 2).to_string()] {
            let err = alice(&k, &["msp-convert-node", &node]).fails();
            assert!(
                err.contains(&format!("Node \"{node}\" is not found")),
                "{when}: {err}"
            );
        }
        assert_eq!(movable_rows(&k), rows, "{when}");
        assert_eq!(every_row(&k), before, "{when}: nothing written");
        user(&k, CAROL, &["ls"]).ok();
    }
    let (_, acme) = company(&k, "Acme");
    assert_eq!(tenant_of(&k, CAROL), acme);
}

/// Runs `keeper ARGS` as `email` on a config of their own
/// (`<name>.json`), with `password` when given; without it their
/// persistent-login device session ([`persistent_session`]) opens the
/// vault, which never finishes a move. A new master password is
/// `<name>-new-pw`.
fn in_session(k: &Keeper, email: &str, args: &[&str], password: Option<&str>) -> Run {
    let name = email.split('@').next().expect("local part");
    let config = k.data_dir().join(format!("{name}.json"));
    let mut all = vec!["--config", config.to_str().expect("path")];
    all.extend_from_slice(args);
    let mut cmd = k.cmd(&all);
    cmd.env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_USER", email)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keeper-test-bus",
        )
        .env("KEEPER_NEW_MASTER_PASSWORD", format!("{name}-new-pw"));
    if let Some(p) = password {
        cmd.env("KEEPER_PASSWORD", p);
    }
    Run(cmd.output().expect("run"))
}

/// Registers `email`'s device with persistent login (password
/// `<name>-pw`), for [`in_session`] without a password.
fn persistent_session(k: &Keeper, email: &str) {
    let name = email.split('@').next().expect("local part");
    for args in [
        ["this-device", "register"].as_slice(),
        &["this-device", "persistent-login", "on"],
        &["this-device", "ip-auto-approve", "on"],
        &["this-device", "timeout", "1h"],
    ] {
        in_session(k, email, args, Some(&format!("{name}-pw"))).ok();
    }
}

#[test]
fn a_moving_user_s_own_links_are_refused_and_one_made_meanwhile_keeps_them_in_the_msp() {
    let k = msp_with(&[(BOB, "Acme"), (DAVE, "")]);
    user(&k, BOB, &["add", "-t", "Bob's", "password=b"]).ok();
    user(&k, BOB, &["mkdir", "--sf", "-e", "Bob SF"]).ok();
    persistent_session(&k, BOB);
    alice(&k, &["msp-convert-node", "Acme"]).ok();
    let msp = msp_tenant(&k);

    // Through his session (no password: the move waits), every link bob
    // would make to the MSP is refused, nothing written.
    let before = every_row(&k);
    let says = format!("{BOB} is moving to managed company \"Acme\"");
    for args in [
        ["share-record", "-e", DAVE, "Bob's"].as_slice(),
        &["share-record", "-a", "owner", "-e", DAVE, "Bob's"],
        &["share-folder", "Bob SF", "-e", DAVE],
        &["team", "add", "Ops 2", "-m", DAVE],
    ] {
        let err = in_session(&k, BOB, args, None).fails();
        assert!(err.contains(&says), "{args:?}: {err}");
    }
    assert_eq!(every_row(&k), before, "nothing written");

    // A link made meanwhile anyway (here by a raw insert: dave holds a
    // key of bob's record) keeps bob in the MSP at his next login, and
    // the notice names the record.
    let listed = in_session(&k, BOB, &["ls", "--format", "json"], None).json();
    let record = listed
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == "Bob's"))
        .and_then(|r| r["uid"].as_str())
        .unwrap_or_else(|| panic!("no Bob's in {listed}"))
        .to_string();
    let dave = raw_rows(
        &k,
        &format!("SELECT uid FROM {{t}}users WHERE email = '{DAVE}'"),
    )
    .join("");
    raw_exec(
        &k,
        &format!(
            "INSERT INTO {{t}}record_keys (record_uid, holder_uid, wrapped_key, can_edit, can_share) \
             SELECT record_uid, '{dave}', wrapped_key, can_edit, can_share FROM {{t}}record_keys \
             WHERE record_uid = '{record}'"
        ),
    );
    let run = user(&k, BOB, &["ls"]);
    run.ok();
    assert!(
        run.stderr().contains("a recorded move was not made")
            && run
                .stderr()
                .contains(&format!("record {record} is shared across")),
        "{}",
        run.stderr()
    );
    assert_eq!(tenant_of(&k, BOB), msp);

    // A move that cannot be made is cancelled by placing bob on a node
    // of the MSP again; he then links to the MSP as anyone there.
    let out = alice(&k, &["enterprise-user", BOB, "--node", "Beta"]).ok();
    assert!(
        out.contains("The move to managed company \"Acme\" is cancelled."),
        "{out}"
    );
    let run = user(&k, BOB, &["team", "add", "Ops 3", "-m", DAVE]);
    run.ok();
    assert!(!run.stderr().contains("recorded move"), "{}", run.stderr());
    assert_eq!(tenant_of(&k, BOB), msp);
}

#[test]
fn a_cancelled_move_takes_the_user_out_of_the_company_s_roles() {
    let k = msp_with(&[(BOB, "Acme")]);
    alice(
        &k,
        &["er", "--add", "Acme Admins", "--node", "Acme", "-au", BOB],
    )
    .ok();
    alice(&k, &["msp-convert-node", "Acme"]).ok();
    assert_eq!(
        named(&roles(&k, Some("Acme")), "Acme Admins")["users"],
        json!([BOB])
    );
    let out = alice(&k, &["enterprise-user", BOB, "--node", "Beta"]).ok();
    assert!(out.contains("is cancelled"), "{out}");
    assert_eq!(
        named(&roles(&k, Some("Acme")), "Acme Admins")["users"],
        json!([])
    );
    let run = user(&k, BOB, &["ls"]);
    run.ok();
    assert!(!run.stderr().contains("move"), "{}", run.stderr());
    assert_eq!(tenant_of(&k, BOB), msp_tenant(&k));
}

#[test]
fn apply_membership_lists_a_moving_team_member_as_not_applied() {
    let k = msp_with(&[(BOB, "Acme"), (CAROL, ""), (DAVE, "")]);
    let dave = |args: &[&str]| user(&k, DAVE, args);
    dave(&["mkdir", "--sf", "-e", "Dave SF"]).ok();
    dave(&["team", "add", "Ops"]).ok();
    alice(&k, &["msp-convert-node", "Acme"]).ok();
    let file = k.data_dir().join("membership.json");
    std::fs::write(
        &file,
        json!({
            "shared_folders": [{"path": "Dave SF", "permissions": [
                {"name": CAROL, "manage_users": false, "manage_records": false}]}],
            "teams": [{"name": "Ops", "members": [BOB, CAROL]}]
        })
        .to_string(),
    )
    .expect("write");
    let run = dave(&["apply-membership", file.to_str().expect("path")]);
    run.ok();
    assert!(
        run.stderr().contains(&format!(
            "not applied: team Ops: {BOB} is moving to managed company"
        )),
        "{}",
        run.stderr()
    );
    // carol is granted and joins the team; bob is in no team.
    let bob_uid = raw_rows(
        &k,
        &format!("SELECT uid FROM {{t}}users WHERE email = '{BOB}'"),
    )
    .join("");
    let carol_uid = raw_rows(
        &k,
        &format!("SELECT uid FROM {{t}}users WHERE email = '{CAROL}'"),
    )
    .join("");
    let in_teams = raw_rows(&k, "SELECT user_uid FROM {t}team_members");
    assert!(!in_teams.contains(&bob_uid), "{in_teams:?}");
    assert!(in_teams.contains(&carol_uid), "{in_teams:?}");
    let shares = raw_rows(&k, "SELECT holder_uid FROM {t}shares");
    assert!(shares.contains(&carol_uid), "{shares:?}");
}

#[test]
fn a_master_password_changed_mid_move_moves_with_the_new_one() {
    let k = msp_with(&[(BOB, "Acme"), (CAROL, "Acme")]);
    for who in [BOB, CAROL] {
        user(&k, who, &["add", "-t", &format!("{who}'s"), "password=x"]).ok();
    }
    // bob keeps a persistent-login session on a config of his own.
    persistent_session(&k, BOB);
    alice(&k, &["msp-convert-node", "Acme"]).ok();
    let (_, acme) = company(&k, "Acme");
    let msp = msp_tenant(&k);

    // Through his session (no password: the move waits), bob changes his
    // master password: his key header changes while he is still the MSP's.
    in_session(&k, BOB, &["change-master-password"], None).ok();
    assert_eq!(tenant_of(&k, BOB), msp, "no password, no move");
    assert!(
        user(&k, BOB, &["ls"])
            .fails()
            .contains("wrong master password")
    );
    // His next login, with the new password, moves him with it.
    let run = run_as(&k, Some(BOB), "bob-new-pw", &["ls", "--format", "json"]);
    assert!(
        run.stderr().contains("moved to company \"Acme\""),
        "{}",
        run.stderr()
    );
    assert!(run.json().to_string().contains("bob@example.com's"));
    assert_eq!(tenant_of(&k, BOB), acme);
    let again = run_as(&k, Some(BOB), "bob-new-pw", &["ls", "--format", "json"]).json();
    assert!(again.to_string().contains("bob@example.com's"), "{again}");

    // carol changes hers as her first command with the password: that
    // login moves her first, and the new password opens her in the company.
    let changed = Run(k
        .cmd(&["change-master-password"])
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_USER", CAROL)
        .env("KEEPER_PASSWORD", "carol-pw")
        .env("KEEPER_NEW_MASTER_PASSWORD", "carol-new-pw")
        .output()
        .expect("run"));
    changed.ok();
    assert_eq!(tenant_of(&k, CAROL), acme);
    let listed = run_as(&k, Some(CAROL), "carol-new-pw", &["ls", "--format", "json"]).json();
    assert!(
        listed.to_string().contains("carol@example.com's"),
        "{listed}"
    );
}

#[test]
fn store_migrate_carries_an_unfinished_move_finished_on_the_new_store() {
    let k = msp_with(&[(BOB, "Acme")]);
    user(&k, BOB, &["add", "-t", "Bob's", "password=b"]).ok();
    alice(&k, &["msp-convert-node", "Acme"]).ok();
    let msp = msp_tenant(&k);
    let (to, _guard) = other_backend(&k);
    let out = alice(&k, &["store", "migrate", "--to", &to, "--format", "json"]).json();
    assert_eq!(out["tables"]["enterprise_users"], 1, "{out}");

    let there = |args: &[&str]| {
        let mut all = vec!["--store", to.as_str()];
        all.extend_from_slice(args);
        user(&k, BOB, &all)
    };
    let run = there(&["ls", "--format", "json"]);
    assert!(
        run.stderr().contains("moved to company \"Acme\""),
        "{}",
        run.stderr()
    );
    assert!(run.json().to_string().contains("Bob's"));
    let info = alice(
        &k,
        &[
            "--store", &to, "msp-info", "-mc", "Acme", "--format", "json",
        ],
    )
    .json();
    assert_eq!(info["managed_companies"][0]["active"], 1, "{info}");
    assert_eq!(tenant_of(&k, BOB), msp, "the source is only read");
    let again = there(&["ls", "--format", "json"]);
    assert!(!again.stderr().contains("moved"), "{}", again.stderr());
    assert!(again.json().to_string().contains("Bob's"));
}

/// How a user's move treats a table of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Treat {
    /// MOVE_USER moves the user's rows of it.
    Moved,
    /// Nothing to move, and why.
    Stays(&'static str),
}

/// Every table of the schema (but `vault_meta` and `migrations`), and how
/// a move treats it. A new table, whatever its columns are named, fails
/// `move_user_moves_every_table_holding_a_user_or_a_tenant` until it is
/// listed here (and, when it holds a user's rows, moved by MOVE_USER).
const TREATED: &[(&str, Treat)] = &[
    ("users", Treat::Moved),
    ("records", Treat::Moved),
    ("record_history", Treat::Moved),
    ("audit", Treat::Moved),
    ("folders", Treat::Moved),
    ("apps", Treat::Moved),
    ("app_clients", Treat::Moved),
    ("enterprise_users", Treat::Moved),
    (
        "teams",
        Treat::Stays("teams stay with the MSP: convert refuses a user in one"),
    ),
    (
        "team_members",
        Treat::Stays("no tenant; convert refuses a user in a team"),
    ),
    (
        "shares",
        Treat::Stays("no tenant: follows its folder; convert refuses one across the boundary"),
    ),
    (
        "record_keys",
        Treat::Stays("no tenant: follows its record; convert refuses one across the boundary"),
    ),
    (
        "role_users",
        Treat::Stays("no tenant: follows its role, which convert moves"),
    ),
    (
        "enterprise_roles",
        Treat::Stays("convert moves the node's roles itself"),
    ),
    (
        "enterprise_nodes",
        Treat::Stays("convert moves the nodes itself"),
    ),
    (
        "enterprise_admins",
        Treat::Stays("an enterprise admin never moves"),
    ),
    (
        "tenants",
        Treat::Stays("creator_uid: a tenant's maker is its admin, who never moves"),
    ),
    ("enterprises", Treat::Stays("the enterprise's own")),
    ("managed_companies", Treat::Stays("the enterprise's own")),
    ("msp_permits", Treat::Stays("the enterprise's own")),
    ("msp_pools", Treat::Stays("the enterprise's own")),
    ("mc_addons", Treat::Stays("the enterprise's own")),
    ("billing_events", Treat::Stays("the enterprise's own")),
    ("msp_prices", Treat::Stays("the enterprise's own")),
    ("attachments", Treat::Stays("no tenant: follows its record")),
    (
        "folder_records",
        Treat::Stays("no tenant: follows its folder and its record"),
    ),
    (
        "pending_rotations",
        Treat::Stays("no tenant: follows its record"),
    ),
    (
        "rotation_locks",
        Treat::Stays("no tenant: follows its record"),
    ),
    (
        "role_enforcements",
        Treat::Stays("no tenant: follows its role, which convert moves"),
    ),
];

const TENANT_COLUMNS: [&str; 3] = ["tenant_uid", "msp_uid", "mc_uid"];

#[test]
fn move_user_moves_every_table_holding_a_user_or_a_tenant() {
    let k = msp_with(&[(BOB, "Acme")]);
    let tables = columns(&k);

    // Every table of the schema is listed (whatever its columns are
    // named), and MOVE_USER updates exactly the Moved ones.
    let all: BTreeSet<&str> = tables.keys().map(String::as_str).collect();
    let listed: BTreeSet<&str> = TREATED.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        all, listed,
        "a new table: say in TREATED how a user's move treats it \
         (and move it in MOVE_USER when it holds a user's rows)"
    );
    let moved: BTreeSet<&str> = TREATED
        .iter()
        .filter(|(_, how)| *how == Treat::Moved)
        .map(|(t, _)| *t)
        .collect();
    let updated: BTreeSet<&str> = MOVE_USER
        .iter()
        .filter_map(|sql| sql.strip_prefix("UPDATE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert_eq!(updated, moved, "MOVE_USER and TREATED disagree");

    // bob holds a row of every Moved table.
    let bob = |args: &[&str]| user(&k, BOB, args);
    bob(&["add", "-t", "Bob's", "password=b"]).ok();
    bob(&["edit", "-r", "Bob's", "password=b2"]).ok();
    bob(&["mkdir", "--sf", "-e", "Bob SF"]).ok();
    bob(&["mkdir", r"Bob SF\Sub"]).ok();
    bob(&["mkdir", "Bob's own"]).ok();
    bob(&["add", "-t", "In SF", "--folder", r"Bob SF\Sub", "login=x"]).ok();
    bob(&["secrets-manager", "app", "create", "CI"]).ok();
    bob(&["secrets-manager", "client", "add", "--app", "CI"]).ok();
    let msp = msp_tenant(&k);
    let record = record_uid(&k, BOB, "Bob's");
    // No plugin runs here: an audit entry of bob's record, as one leaves it.
    raw_exec(
        &k,
        &format!(
            "INSERT INTO {{t}}audit (tenant_uid, record_uid, plugin, target, outcome, \
             duration_ms, at) VALUES ('{msp}', '{record}', 'test 1.0', 'x', 'success', 0, 0);"
        ),
    );

    // bob's rows: those naming bob or anything of his (by uid), found
    // until nothing new turns up.
    let rows_of = |k: &Keeper, table: &str| -> Vec<Vec<String>> {
        raw_rows(k, &format!("SELECT * FROM {{t}}{table}"))
            .iter()
            .map(|r| r.split('|').map(str::to_string).collect())
            .collect()
    };
    let bob_uid = raw_rows(
        &k,
        &format!("SELECT uid FROM {{t}}users WHERE email = '{BOB}'"),
    )[0]
    .clone();
    let mut his: BTreeSet<String> = BTreeSet::from([bob_uid]);
    loop {
        let before = his.len();
        for (table, cols) in &tables {
            let Some(uid) = cols.iter().position(|c| c == "uid") else {
                continue;
            };
            for row in rows_of(&k, table) {
                if row.iter().any(|v| his.contains(v)) {
                    his.insert(row[uid].clone());
                }
            }
        }
        if his.len() == before {
            break;
        }
    }
    // Where each table's rows of bob's are, by its tenant column.
    let placement = |k: &Keeper| -> BTreeMap<String, Vec<String>> {
        let mut at = BTreeMap::new();
        for (table, cols) in &tables {
            let Some(tenant) = cols
                .iter()
                .position(|c| TENANT_COLUMNS.contains(&c.as_str()))
            else {
                continue;
            };
            let mut where_: Vec<String> = rows_of(k, table)
                .into_iter()
                .filter(|row| row.iter().any(|v| his.contains(v)))
                .map(|row| row[tenant].clone())
                .collect();
            where_.sort();
            if !where_.is_empty() {
                at.insert(table.clone(), where_);
            }
        }
        at
    };
    let was = placement(&k);
    for table in &moved {
        assert!(
            was.get(*table).is_some_and(|t| t.iter().all(|w| *w == msp)),
            "bob holds rows of {table} in the MSP before the move: {was:?}"
        );
    }

    alice(&k, &["msp-convert-node", "Acme"]).ok();
    let (_, acme) = company(&k, "Acme");
    let run = bob(&["ls", "--format", "json"]);
    assert!(
        run.stderr().contains("moved to company"),
        "{}",
        run.stderr()
    );
    assert!(run.json().to_string().contains("Bob's"));
    assert!(bob(&["get", "In SF"]).ok().contains("In SF"));

    // Every row of bob's that names a tenant names the company now.
    let now = placement(&k);
    for (table, tenants) in &now {
        assert!(
            tenants.iter().all(|t| *t == acme),
            "{table}: rows of bob's left outside the company: {tenants:?}"
        );
    }
    for table in &moved {
        assert_eq!(
            now.get(*table).map(Vec::len),
            was.get(*table).map(Vec::len),
            "{table}: every row moved"
        );
    }
}
