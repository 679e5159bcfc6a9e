//! `share-record` (grant, revoke, owner, cancel, -w/-s, -R, --dry-run,
//! --expire-at/--expire-in) and `record-permission`, through the binary,
//! as several users of one vault (on both stores of the test matrix).

use crate::support::Keeper;
use crate::vault::{PW, add_user, run_as, vault};

const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";

/// A vault with alice (the first user), bob and carol.
fn three_users() -> Keeper {
    let k = vault();
    add_user(&k, BOB, "bob-pw");
    add_user(&k, CAROL, "carol-pw");
    k
}

fn alice<'k>(k: &'k Keeper) -> impl Fn(&[&str]) -> crate::support::Run + 'k {
    move |args| run_as(k, Some("alice@example.com"), PW, args)
}

fn bob<'k>(k: &'k Keeper) -> impl Fn(&[&str]) -> crate::support::Run + 'k {
    move |args| run_as(k, Some(BOB), "bob-pw", args)
}

fn carol<'k>(k: &'k Keeper) -> impl Fn(&[&str]) -> crate::support::Run + 'k {
    move |args| run_as(k, Some(CAROL), "carol-pw", args)
}

/// Adds a record as alice and returns its uid.
fn add_as_alice(k: &Keeper, title: &str, folder: Option<&str>, password: &str) -> String {
    let pw = format!("password={password}");
    let mut args = vec!["add", "-t", title, pw.as_str()];
    if let Some(f) = folder {
        args.extend(["--folder", f]);
    }
    alice(k)(&args).ok().trim().to_string()
}

#[test]
fn share_record_grants_adds_rights_and_revokes_them() {
    let k = three_users();
    let (alice, bob) = (alice(&k), bob(&k));
    add_as_alice(&k, "Web", None, "web-pw");
    assert!(bob(&["get", "Web"]).fails().contains("not found"));

    // Read-only first: bob reads, may not edit or re-share.
    let out = alice(&["share-record", "-e", BOB, "Web"]).ok();
    assert!(
        out.contains("has been granted to user 'bob@example.com' (Read Only)"),
        "{out}"
    );
    assert!(bob(&["get", "Web", "--unmask"]).ok().contains("web-pw"));
    assert!(
        bob(&["edit", "-r", "Web", "password=bob"])
            .fails()
            .contains("permission denied")
    );
    assert!(
        bob(&["share-record", "-e", CAROL, "Web"])
            .fails()
            .contains("without re-share permission")
    );

    // A grant adds rights (as Commander): -w, then -s keeps -w.
    alice(&["share-record", "-e", BOB, "-w", "Web"]).ok();
    let out = alice(&["share-record", "-e", BOB, "-s", "Web"]).ok();
    assert!(
        out.contains("changed for user 'bob@example.com' (Can Edit & Share)"),
        "{out}"
    );
    bob(&["edit", "-r", "Web", "password=by-bob"]).ok();
    assert!(alice(&["get", "Web", "--unmask"]).ok().contains("by-bob"));
    bob(&["share-record", "-e", CAROL, "Web"]).ok();
    assert!(carol(&k)(&["get", "Web"]).ok().contains("Web"));

    // Revoke with -w takes only that right away.
    alice(&["share-record", "-a", "revoke", "-w", "-e", BOB, "Web"]).ok();
    assert!(
        bob(&["edit", "-r", "Web", "password=again"])
            .fails()
            .contains("permission denied")
    );
    assert!(bob(&["get", "Web"]).ok().contains("Web"));

    // Revoke: bob no longer sees it; a second revoke has nothing to do.
    let out = alice(&["share-record", "-a", "revoke", "-e", BOB, "Web"]).ok();
    assert!(out.contains("revoked from user 'bob@example.com'"), "{out}");
    assert!(bob(&["get", "Web"]).fails().contains("not found"));
    // As Commander, that is not a failure.
    let again = alice(&["share-record", "-a", "revoke", "-e", BOB, "Web"]);
    assert!(again.ok().contains("Nothing to do"), "{}", again.stdout());
    let err = again.stderr();
    assert!(
        err.contains("not shared with bob@example.com directly"),
        "{err}"
    );

    // Bad input: yourself, an unknown user, expiry on a revoke.
    assert!(
        alice(&["share-record", "-e", "alice@example.com", "Web"])
            .fails()
            .contains("yourself")
    );
    assert!(
        alice(&["share-record", "-e", "nobody@example.com", "Web"])
            .fails()
            .contains("nobody@example.com")
    );
    assert!(
        alice(&[
            "share-record",
            "-a",
            "revoke",
            "--expire-in",
            "1h",
            "-e",
            BOB,
            "Web"
        ])
        .fails()
        .contains("-a grant")
    );
}

#[test]
fn share_record_on_a_folder_with_recursive_and_dry_run() {
    let k = three_users();
    let (alice, carol) = (alice(&k), carol(&k));
    alice(&["mkdir", r"Team\Sub"]).ok();
    add_as_alice(&k, "Top", Some("Team"), "t");
    add_as_alice(&k, "Deep", Some(r"Team\Sub"), "d");
    add_as_alice(&k, "Elsewhere", None, "e");

    // --dry-run: Commander's table, nothing changed.
    let out = alice(&["share-record", "-e", CAROL, "-R", "-w", "--dry-run", "Team"]).ok();
    for word in [
        "Username",
        "Record UID",
        "Share Action",
        "Expiration",
        "Top",
        "Deep",
        "Can Edit",
    ] {
        assert!(out.contains(word), "{word} missing:\n{out}");
    }
    assert!(!out.contains("Elsewhere"), "{out}");
    assert!(carol(&["get", "Top"]).fails().contains("not found"));

    // Without -R: the folder's own records only.
    alice(&["share-record", "-e", CAROL, "Team"]).ok();
    assert!(carol(&["get", "Top"]).ok().contains("Top"));
    assert!(carol(&["get", "Deep"]).fails().contains("not found"));
    // With -R: and below.
    let out = alice(&["share-record", "-e", CAROL, "--recursive", "Team"]).ok();
    assert_eq!(
        out.matches("access permissions has been").count(),
        2,
        "{out}"
    );
    assert!(carol(&["get", "Deep"]).ok().contains("Deep"));
    assert!(carol(&["get", "Elsewhere"]).fails().contains("not found"));

    // An empty folder says so.
    alice(&["mkdir", "Empty"]).ok();
    assert!(
        alice(&["share-record", "-e", CAROL, "-R", "Empty"])
            .fails()
            .contains("no records to share")
    );
    // Revoke over the tree.
    alice(&["share-record", "-a", "revoke", "-e", CAROL, "-R", "Team"]).ok();
    assert!(carol(&["get", "Top"]).fails().contains("not found"));
    assert!(carol(&["get", "Deep"]).fails().contains("not found"));
}

#[test]
fn shares_expire() {
    let k = three_users();
    let (alice, bob) = (alice(&k), bob(&k));
    add_as_alice(&k, "Temp", None, "temp-pw");

    // Periods and times that are not.
    let bad = alice(&["share-record", "-e", BOB, "--expire-in", "5m", "Temp"]).fails();
    assert!(bad.contains("ambiguous"), "{bad}");
    let bad = alice(&[
        "share-record",
        "-e",
        BOB,
        "--expire-at",
        "2001-01-01",
        "Temp",
    ])
    .fails();
    assert!(bad.contains("in the past"), "{bad}");
    let bad = alice(&["share-record", "-e", BOB, "--expire-at", "soon", "Temp"]).fails();
    assert!(bad.contains("not a time"), "{bad}");
    assert!(
        alice(&[
            "share-record",
            "-e",
            BOB,
            "--expire-at",
            "2030-01-01",
            "--expire-in",
            "1d",
            "Temp"
        ])
        .fails()
        .contains("cannot be used with")
    );

    // --expire-in: shown in --dry-run and in the result.
    let out = alice(&[
        "share-record",
        "-e",
        BOB,
        "--expire-in",
        "30d",
        "--dry-run",
        "Temp",
    ])
    .ok();
    assert!(out.contains(" UTC"), "{out}");
    let out = alice(&["share-record", "-e", BOB, "--expire-in", "1h", "Temp"]).ok();
    assert!(out.contains("until "), "{out}");
    assert!(bob(&["get", "Temp"]).ok().contains("Temp"));
    // `never` removes the end.
    let out = alice(&["share-record", "-e", BOB, "--expire-at", "never", "Temp"]).ok();
    assert!(!out.contains("until"), "{out}");

    // A share that ends a few seconds from now: usable, then not.
    alice(&["share-record", "-a", "revoke", "-e", BOB, "Temp"]).ok();
    // `at` has whole seconds: the share ends between `end` and a second later.
    let end = keeper::testing::vault::now_ms() + 8_000;
    let at = keeper::testing::vault::model::fields::format_time(end + 1_000);
    alice(&["share-record", "-e", BOB, "--expire-at", &at, "Temp"]).ok();
    assert!(bob(&["get", "Temp", "--unmask"]).ok().contains("temp-pw"));
    let wait = end + 1_500 - keeper::testing::vault::now_ms();
    std::thread::sleep(std::time::Duration::from_millis(
        u64::try_from(wait.max(0)).unwrap_or(0),
    ));
    assert!(bob(&["get", "Temp"]).fails().contains("not found"));
    assert!(
        !bob(&["search", "."]).ok().contains("Temp"),
        "an expired share is not listed"
    );
    // Granting again starts a new share (the expired one is not extended).
    let out = alice(&["share-record", "-e", BOB, "Temp"]).ok();
    assert!(out.contains("granted to"), "{out}");
    assert!(bob(&["get", "Temp"]).ok().contains("Temp"));
}

#[test]
fn ownership_transfer_and_cancel() {
    let k = three_users();
    let (alice, bob, carol) = (alice(&k), bob(&k), carol(&k));
    let uid = add_as_alice(&k, "Handover", None, "h");
    add_as_alice(&k, "Mine", None, "m");
    add_as_alice(&k, "Also mine", None, "a");

    assert!(
        alice(&[
            "share-record",
            "-a",
            "owner",
            "-e",
            BOB,
            "-e",
            CAROL,
            "Handover"
        ])
        .fails()
        .contains("single user")
    );
    let out = alice(&[
        "share-record",
        "-a",
        "owner",
        "-e",
        BOB,
        "--dry-run",
        "Handover",
    ])
    .ok();
    assert!(out.contains("Transfer Ownership"), "{out}");
    let out = alice(&["share-record", "-a", "owner", "-e", BOB, "Handover"]).ok();
    assert!(
        out.contains("ownership has been transferred to user 'bob@example.com'"),
        "{out}"
    );

    // Bob owns it: he edits, and decides about alice, who kept access.
    bob(&["edit", "-r", &uid, "password=bobs"]).ok();
    assert!(
        alice(&["get", "Handover", "--unmask"])
            .ok()
            .contains("bobs")
    );
    assert!(
        alice(&["rm", "--force", "Handover"])
            .fails()
            .contains("owner")
    );
    assert!(
        alice(&["share-record", "-a", "owner", "-e", CAROL, "Handover"])
            .fails()
            .contains("only the owner")
    );
    bob(&[
        "share-record",
        "-a",
        "revoke",
        "-e",
        "alice@example.com",
        &uid,
    ])
    .ok();
    assert!(alice(&["get", "Handover"]).fails().contains("not found"));

    // cancel: every share of alice's records with carol, after asking.
    alice(&["share-record", "-e", CAROL, "Mine"]).ok();
    alice(&["share-record", "-e", CAROL, "-w", "Also mine"]).ok();
    assert!(
        alice(&["share-record", "-a", "cancel", "-e", CAROL])
            .fails()
            .contains("--force")
    );
    assert!(carol(&["get", "Mine"]).ok().contains("Mine"));
    assert!(
        alice(&["share-record", "-a", "cancel", "-e", CAROL, "Mine"])
            .fails()
            .contains("give no record")
    );
    let out = alice(&["share-record", "-a", "cancel", "-e", CAROL, "--force"]).ok();
    assert_eq!(
        out.matches("revoked from user 'carol@example.com'").count(),
        2,
        "{out}"
    );
    assert!(carol(&["get", "Mine"]).fails().contains("not found"));
    assert!(carol(&["get", "Also mine"]).fails().contains("not found"));
    assert!(
        alice(&["share-record", "-a", "cancel", "-e", CAROL, "--force"])
            .ok()
            .contains("Nothing to do")
    );
    assert!(
        alice(&["share-record", "-a", "cancel", "-e", CAROL, "--force"])
            .stderr()
            .contains("no record of yours is shared with carol@example.com")
    );
}

#[test]
fn record_permission_changes_shared_folder_and_direct_share_rights() {
    let k = three_users();
    let (alice, bob) = (alice(&k), bob(&k));
    // Imported records are "Can View" in their shared folder (the seed).
    let sf = alice(&["mkdir", "--sf", "--quiet", "Imported"])
        .ok()
        .trim()
        .to_string();
    alice(&["mkdir", r"Imported\Servers"]).ok();
    add_as_alice(&k, "Top", Some("Imported"), "t");
    add_as_alice(&k, "Deep", Some(r"Imported\Servers"), "d");
    alice(&["share-folder", "Imported", "-e", BOB]).ok();
    let denied = |title: &str| {
        bob(&["edit", "-r", title, "password=x"])
            .fails()
            .contains("permission denied")
    };
    assert!(denied("Top") && denied("Deep"));

    // Flags are required; the folder must exist.
    assert!(
        alice(&["record-permission", "-a", "grant", "Imported"])
            .fails()
            .contains("--can-edit")
    );
    assert!(
        alice(&["record-permission", "-a", "grant", "--can-edit", "Nowhere"])
            .fails()
            .contains("not found")
    );

    // --dry-run: the table, nothing changed; without -R, the folder only.
    let out = alice(&[
        "record-permission",
        "-a",
        "grant",
        "--can-edit",
        "--dry-run",
        "Imported",
    ])
    .ok();
    assert!(
        out.contains("Request to GRANT \"Can Edit\" permission(s) in \"Imported\" folder only"),
        "{out}"
    );
    assert!(
        out.contains("GRANT Shared Folder Record Share permission(s)"),
        "{out}"
    );
    assert!(out.contains("Top") && !out.contains("Deep"), "{out}");
    assert!(denied("Top"));

    // Bob may not manage the folder's records: skipped, and said so.
    let out = bob(&[
        "record-permission",
        "-a",
        "grant",
        "--can-edit",
        "-R",
        "--dry-run",
        "Imported",
    ])
    .ok();
    assert!(
        out.contains("SKIP Shared Folder Record Share permission(s). Not permitted"),
        "{out}"
    );
    let err = bob(&[
        "record-permission",
        "-a",
        "grant",
        "--can-edit",
        "-R",
        "Imported",
    ])
    .fails();
    assert!(err.contains("not permitted"), "{err}");
    assert!(denied("Top"));

    // The seed line, as written.
    let out = alice(&[
        "record-permission",
        "-a",
        "grant",
        "--can-edit",
        "--recursive",
        "Imported",
    ])
    .ok();
    assert!(
        out.contains("Changed 0 direct record share(s) and 2 shared folder record permission(s)"),
        "{out}"
    );
    bob(&["edit", "-r", "Top", "password=bob1"]).ok();
    bob(&["edit", "-r", "Deep", "password=bob2"]).ok();
    // Again: nothing to change, not an error.
    let out = alice(&[
        "record-permission",
        "-a",
        "grant",
        "--can-edit",
        "-R",
        "Imported",
    ])
    .ok();
    assert!(out.contains("Nothing to change"), "{out}");
    // Revoke, naming the folder by uid; --force shows no tables.
    let out = alice(&[
        "record-permission",
        "-a",
        "revoke",
        "--can-edit",
        "-R",
        "--force",
        &sf,
    ])
    .ok();
    assert!(
        !out.contains("Request to") && !out.contains("Record Title"),
        "{out}"
    );
    assert!(
        out.contains("and 2 shared folder record permission(s)"),
        "{out}"
    );
    assert!(denied("Top") && denied("Deep"));

    // A personal folder: only direct shares count.
    alice(&["mkdir", "Personal"]).ok();
    add_as_alice(&k, "Mine", Some("Personal"), "m");
    let err = alice(&["record-permission", "-a", "grant", "--can-edit", "Personal"]).fails();
    assert!(err.contains("is not a shared folder"), "{err}");
    alice(&["share-record", "-e", BOB, "Personal\\Mine"]).ok();
    assert!(denied("Mine"));
    let out = alice(&["record-permission", "-a", "grant", "-d", "-s", "Personal"]).ok();
    assert!(
        out.contains("GRANT Direct Record Share permission(s)"),
        "{out}"
    );
    assert!(out.contains("bob@example.com"), "{out}");
    bob(&["edit", "-r", "Mine", "password=mine2"]).ok();
    // --share-folder leaves direct shares alone.
    let err = alice(&[
        "record-permission",
        "-a",
        "revoke",
        "-d",
        "--share-folder",
        "Personal",
    ])
    .fails();
    assert!(err.contains("is not a shared folder"), "{err}");
    bob(&["edit", "-r", "Mine", "password=mine3"]).ok();
}

#[test]
fn ln_and_mv_into_a_shared_folder_share_no_more_than_the_mover_holds() {
    let k = three_users();
    let (alice, bob, carol) = (alice(&k), bob(&k), carol(&k));
    let uid = add_as_alice(&k, "Lent", None, "lent-pw");
    // Bob's own shared folder, every right by default, with carol in it.
    bob(&["mkdir", "--sf", "--all", "Mine"]).ok();
    bob(&["share-folder", "Mine", "-e", CAROL]).ok();

    // Read-only without the share right: bob may not put it in his folder.
    alice(&["share-record", "-e", BOB, "Lent"]).ok();
    for verb in ["ln", "mv"] {
        let err = bob(&[verb, &uid, "Mine"]).fails();
        assert!(err.contains("can-share"), "{verb}: {err}");
    }
    assert!(carol(&["get", &uid]).fails().contains("not found"));

    // With the share right but read-only and ending soon: carol gets it
    // through the folder read-only, and only until bob's share ends.
    alice(&["share-record", "-a", "revoke", "-e", BOB, "Lent"]).ok();
    let end = keeper::testing::vault::now_ms() + 8_000;
    let at = keeper::testing::vault::model::fields::format_time(end + 1_000);
    alice(&["share-record", "-e", BOB, "-s", "--expire-at", &at, "Lent"]).ok();
    bob(&["ln", &uid, "Mine"]).ok();
    assert!(carol(&["get", &uid, "--unmask"]).ok().contains("lent-pw"));
    assert!(
        carol(&["edit", "-r", &uid, "password=carol"])
            .fails()
            .contains("permission denied"),
        "the folder's row is capped at bob's read-only"
    );
    let wait = end + 1_500 - keeper::testing::vault::now_ms();
    std::thread::sleep(std::time::Duration::from_millis(
        u64::try_from(wait.max(0)).unwrap_or(0),
    ));
    assert!(
        carol(&["get", &uid]).fails().contains("not found"),
        "bob's end carried over to the folder"
    );
    assert!(bob(&["get", &uid]).fails().contains("not found"));
    assert!(alice(&["get", &uid, "--unmask"]).ok().contains("lent-pw"));
}

#[test]
fn a_revoke_refused_for_every_record_is_a_failure() {
    let k = three_users();
    let (alice, bob) = (alice(&k), bob(&k));
    // A shared folder bob is in, whose records he may not re-share.
    alice(&["mkdir", "--sf", "Team"]).ok();
    add_as_alice(&k, "One", Some("Team"), "1");
    add_as_alice(&k, "Two", Some("Team"), "2");
    alice(&["share-folder", "Team", "-e", BOB]).ok();
    alice(&["share-record", "-e", CAROL, "-R", "Team"]).ok();
    assert!(bob(&["get", "One"]).ok().contains("One"));
    let out = bob(&["share-record", "-a", "revoke", "-e", CAROL, "-R", "Team"]);
    let err = out.fails();
    assert!(err.contains("nothing changed"), "{err}");
}
