//! `download-membership --source keeper` and `apply-membership` through the
//! binary: Commander's file format, the -p/-r/--folder/--folders-only/-od/-nd
//! options, merging into an existing file, add-only and `--full-sync`
//! application, idempotence, and clear errors for bad files.

use serde_json::{Value, json};

use crate::support::{Keeper, Run};
use crate::vault::{PW, add_user, run_as, vault};

fn alice(k: &Keeper, args: &[&str]) -> Run {
    run_as(k, Some("alice@example.com"), PW, args)
}

/// alice with bob and carol, a shared folder `Projects\Apollo` shared with
/// bob (manage records) and team Ops (carol).
fn setup() -> (Keeper, String) {
    let k = vault();
    add_user(&k, "bob@example.com", "bob-pw");
    add_user(&k, "carol@example.com", "carol-pw");
    alice(&k, &["mkdir", "--sf", "-e", r"Projects\Apollo"]).ok();
    alice(
        &k,
        &[
            "add",
            "-t",
            "Launch code",
            "--folder",
            r"Projects\Apollo",
            "password=42",
        ],
    )
    .ok();
    alice(&k, &["team", "add", "Ops", "-m", "carol@example.com"]).ok();
    alice(
        &k,
        &[
            "share-folder",
            r"Projects\Apollo",
            "-e",
            "bob@example.com",
            "-p",
            "on",
        ],
    )
    .ok();
    alice(&k, &["share-folder", r"Projects\Apollo", "-e", "Ops"]).ok();
    let file = k.data_dir().join("shared_folder_membership.json");
    (k, file.to_str().expect("utf8").to_string())
}

fn read(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(file).expect("file")).expect("JSON")
}

fn members(doc: &Value) -> Vec<(String, bool, bool)> {
    doc["shared_folders"][0]["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                p["manage_users"] == true,
                p["manage_records"] == true,
            )
        })
        .collect()
}

#[test]
fn download_writes_commanders_format() {
    let (k, file) = setup();
    let out = alice(&k, &["download-membership", "--source", "keeper", &file]).ok();
    assert!(out.contains("1 shared folder memberships added."), "{out}");
    assert!(out.contains("1 team memberships added."), "{out}");
    let doc = read(&file);
    let sf = &doc["shared_folders"][0];
    assert_eq!(sf["path"], r"Projects\Apollo");
    assert_eq!(
        (&sf["can_edit"], &sf["manage_users"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        members(&doc),
        [
            ("Ops".to_string(), false, false),
            ("alice@example.com".to_string(), true, true),
            ("bob@example.com".to_string(), false, true),
        ]
    );
    let ops = sf["permissions"][0].clone();
    assert!(
        ops["uid"].as_str().is_some_and(|u| !u.is_empty()),
        "teams carry their uid: {ops}"
    );
    assert_eq!(doc["teams"][0]["name"], "Ops");
    assert_eq!(
        doc["teams"][0]["members"],
        json!(["alice@example.com", "carol@example.com"])
    );

    // Options: -p/-r force rights, --folder prefixes, --folders-only, -od/-nd.
    let other = k.data_dir().join("other.json");
    let other = other.to_str().expect("utf8");
    alice(
        &k,
        &[
            "download-membership",
            "--source",
            "keeper",
            "-p",
            "u",
            "-r",
            "r",
            "--folder",
            "From Keeper",
            "--folders-only",
            "-od",
            "example.com",
            "-nd",
            "example.org",
            other,
        ],
    )
    .ok();
    let doc = read(other);
    assert_eq!(
        doc["shared_folders"][0]["path"],
        r"From Keeper\Projects\Apollo"
    );
    assert!(
        doc.get("teams")
            .is_none_or(|t| t.as_array().is_some_and(Vec::is_empty))
    );
    assert_eq!(
        members(&doc),
        [
            ("Ops".to_string(), true, false),
            ("alice@example.org".to_string(), true, false),
            ("bob@example.org".to_string(), true, false),
        ]
    );
    let bad = alice(
        &k,
        &[
            "download-membership",
            "--source",
            "keeper",
            "-p",
            "x",
            other,
        ],
    )
    .fails();
    assert!(bad.contains("use u (manage users)"), "{bad}");

    // Merging: downloading again replaces entries with the same uid, keeps
    // other uids, drops entries without one.
    let mut doc = read(&file);
    let list = doc["shared_folders"].as_array_mut().expect("list");
    list.push(json!({"uid": "KeptFromElsewhere", "path": "Elsewhere", "permissions": []}));
    list.push(json!({"path": "No uid", "permissions": []}));
    std::fs::write(&file, doc.to_string()).expect("write");
    alice(&k, &["download-membership", "--source", "keeper", &file]).ok();
    let paths: Vec<String> = read(&file)["shared_folders"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["path"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(paths, ["Elsewhere", r"Projects\Apollo"]);

    std::fs::write(&file, "not json").expect("write");
    let err = alice(&k, &["download-membership", "--source", "keeper", &file]).fails();
    assert!(err.contains("is not a membership file"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), "not json");
}

#[test]
fn apply_adds_then_changes_nothing_and_full_sync_reconciles() {
    let (k, file) = setup();
    alice(&k, &["download-membership", "--source", "keeper", &file]).ok();
    // bob may not manage the folder's users: nothing is applied for him.
    // (He sees the shared folder at his root: Projects is alice's folder.)
    let mut doc = read(&file);
    doc["shared_folders"][0]["path"] = json!("Apollo");
    let bob_file = k.data_dir().join("bob.json");
    std::fs::write(&bob_file, doc.to_string()).expect("write");
    let denied = run_as(
        &k,
        Some("bob@example.com"),
        "bob-pw",
        &[
            "apply-membership",
            "--full-sync",
            bob_file.to_str().expect("utf8"),
        ],
    );
    assert!(
        denied.ok().contains("Nothing to change"),
        "{}",
        denied.stderr()
    );
    assert!(
        denied
            .stderr()
            .contains("not applied: Apollo: you may not manage users of Apollo"),
        "{}",
        denied.stderr()
    );
    // bob loses access; applying the file gives it back, once.
    alice(
        &k,
        &[
            "share-folder",
            r"Projects\Apollo",
            "-a",
            "remove",
            "-e",
            "bob@example.com",
        ],
    )
    .ok();
    let bob = |args: &[&str]| run_as(&k, Some("bob@example.com"), "bob-pw", args);
    assert!(bob(&["get", "Launch code"]).fails().contains("not found"));
    let run = alice(&k, &["apply-membership", &file]);
    run.ok();
    assert!(
        run.stderr().contains("1 added, 0 updated, 0 removed"),
        "{}",
        run.stderr()
    );
    assert!(bob(&["get", "Launch code"]).ok().contains("Launch code"));
    let again = alice(&k, &["apply-membership", &file]);
    assert!(
        again.ok().contains("Nothing to change"),
        "{}",
        again.stderr()
    );
    assert!(
        again.stderr().contains("0 added, 0 updated, 0 removed"),
        "{}",
        again.stderr()
    );

    // Add-only never changes existing rights; --full-sync does, and removes
    // members the file does not list (the team here), never alice.
    let mut doc = read(&file);
    let sf = &mut doc["shared_folders"][0];
    sf["can_share"] = json!(true);
    let perms = sf["permissions"].as_array_mut().expect("perms");
    perms.retain(|p| p["name"] != "Ops" && p["name"] != "alice@example.com");
    perms[0]["manage_users"] = json!(true);
    std::fs::write(&file, doc.to_string()).expect("write");
    let add_only = alice(&k, &["apply-membership", &file]);
    assert!(
        add_only.ok().contains("Nothing to change"),
        "{}",
        add_only.stderr()
    );
    let sync = alice(&k, &["apply-membership", "--full-sync", &file]);
    sync.ok();
    assert!(
        sync.stderr()
            .contains("0 added, 1 updated, 1 removed; 1 folder default(s) updated"),
        "{}",
        sync.stderr()
    );
    let now = alice(&k, &["export", "--format", "json"]).json();
    let sf = &now["shared_folders"][0];
    assert_eq!(sf["can_share"], true);
    let names: Vec<&str> = sf["permissions"]
        .as_array()
        .expect("perms")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["alice@example.com", "bob@example.com"]);
    let carol = run_as(
        &k,
        Some("carol@example.com"),
        "carol-pw",
        &["get", "Launch code"],
    );
    assert!(carol.fails().contains("not found"));
    let twice = alice(&k, &["apply-membership", "--full-sync", &file]);
    assert!(
        twice.ok().contains("Nothing to change"),
        "{}",
        twice.stderr()
    );

    // Teams: missing members are added, unknown users reported.
    let team_file = k.data_dir().join("teams.json");
    std::fs::write(
        &team_file,
        json!({"shared_folders": [], "teams": [{"name": "Ops",
            "members": ["bob@example.com", "nobody@example.com"]}]})
        .to_string(),
    )
    .expect("write");
    let run = alice(&k, &["apply-membership", team_file.to_str().expect("utf8")]);
    run.ok();
    assert!(
        run.stderr().contains("1 team member(s) added"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr()
            .contains("not applied: user nobody@example.com"),
        "{}",
        run.stderr()
    );

    // --full-sync also removes team members the file does not list
    // (carol), never the current user (alice), and only when the list
    // matched someone.
    let ops_members = || -> Vec<String> {
        let teams = alice(&k, &["team", "list", "--format", "json"]).json();
        teams
            .as_array()
            .expect("teams")
            .iter()
            .find(|t| t["name"] == "Ops")
            .expect("Ops")["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| m.as_str().expect("email").to_string())
            .collect()
    };
    assert_eq!(
        ops_members(),
        ["alice@example.com", "bob@example.com", "carol@example.com"]
    );
    let unknown_only = k.data_dir().join("unknown.json");
    std::fs::write(
        &unknown_only,
        json!({"teams": [{"name": "Ops", "members": ["nobody@example.com"]}]}).to_string(),
    )
    .expect("write");
    alice(
        &k,
        &[
            "apply-membership",
            "--full-sync",
            unknown_only.to_str().expect("utf8"),
        ],
    )
    .ok();
    assert_eq!(ops_members().len(), 3, "an all-unknown list removes nobody");
    let run = alice(
        &k,
        &[
            "apply-membership",
            "--full-sync",
            team_file.to_str().expect("utf8"),
        ],
    );
    run.ok();
    assert!(
        run.stderr().contains("0 team member(s) added, 1 removed"),
        "{}",
        run.stderr()
    );
    assert_eq!(ops_members(), ["alice@example.com", "bob@example.com"]);
    let err = alice(&k, &["team", "remove-member", "Ops", "alice@example.com"]).fails();
    assert!(err.contains("cannot remove yourself"), "{err}");
    alice(&k, &["team", "remove-member", "Ops", "bob@example.com"]).ok();
    assert_eq!(ops_members(), ["alice@example.com"]);

    // A bad file is a clear error and changes nothing.
    std::fs::write(&team_file, "{\"shared_folders\": 3}").expect("write");
    let err = alice(&k, &["apply-membership", team_file.to_str().expect("utf8")]).fails();
    assert!(err.contains("is not a membership file"), "{err}");
}
