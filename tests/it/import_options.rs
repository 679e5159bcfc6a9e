//! `keeper import` layout and matching options through the binary, with the
//! real csv plugin and the built-in Keeper JSON reader: `--filter-folder`,
//! `-s/--shared`, `-p/--permissions`, `--update`, `--no-shortcuts`,
//! `-od/-nd`, `--users`, and records over 5 MB.

use serde_json::{Value, json};

use crate::support::Keeper;
use crate::vault::{PW, add_user, kp, run_as, vault};

fn fixture(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn export(k: &Keeper) -> Value {
    kp(k, &["export", "--format", "json"]).json()
}

fn records(k: &Keeper) -> Vec<Value> {
    export(k)["records"].as_array().cloned().unwrap_or_default()
}

fn find<'a>(records: &'a [Value], title: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["title"] == title)
        .unwrap_or_else(|| panic!("no record {title} in {records:?}"))
}

/// Writes `text` into the data directory and returns its path.
fn write(k: &Keeper, name: &str, text: &str) -> String {
    let path = k.data_dir().join(name);
    std::fs::write(&path, text).expect("write source");
    path.to_str().expect("utf8").to_string()
}

#[test]
fn filter_folder_shared_and_permission_letters() {
    let k = vault();
    let csv = fixture("plugins/csv/tests/fixtures/keeper.csv");
    let bad = kp(&k, &["import", "--format", "csv", &csv, "-s", "-p", "EX"]).fails();
    assert!(bad.contains("unknown permission 'X'"), "{bad}");
    assert!(records(&k).is_empty(), "a bad flag imports nothing");

    let out = kp(
        &k,
        &[
            "import",
            "--format",
            "csv",
            &csv,
            "--filter-folder",
            "work",
            "-s",
            "-p",
            "es",
        ],
    )
    .ok();
    assert!(out.contains("1 records imported"), "{out}");
    let doc = export(&k);
    let all = doc["records"].as_array().expect("records");
    assert_eq!(all.len(), 1, "only the Work folder's record: {all:?}");
    let github = find(all, "GitHub");
    assert_eq!(
        github["folders"],
        json!([{"shared_folder": "Work", "folder": "Dev", "can_edit": true, "can_share": true}])
    );
    let sf = &doc["shared_folders"][0];
    assert_eq!(sf["path"], "Work");
    assert_eq!(
        (
            &sf["can_edit"],
            &sf["can_share"],
            &sf["manage_users"],
            &sf["manage_records"]
        ),
        (&json!(true), &json!(true), &json!(false), &json!(false)),
        "{sf}"
    );
}

#[test]
fn update_replaces_matching_records_and_keeps_the_old_password() {
    let k = vault();
    let v1 = write(
        &k,
        "v1.csv",
        "Mail,Webmail,me@example.com,old-pw,https://mail.example.com,,\n",
    );
    let v2 = write(
        &k,
        "v2.csv",
        "Mail,Webmail,me@example.com,new-pw,https://mail.example.com,now with notes,\n",
    );
    kp(&k, &["import", "--format", "csv", &v1]).ok();
    let uid = records(&k)[0]["uid"].as_str().expect("uid").to_string();
    let dry = kp(
        &k,
        &["import", "--format", "csv", &v2, "--update", "--dry-run"],
    )
    .ok();
    assert!(
        dry.contains(&format!("update {uid}"))
            && dry.contains("1 records would be imported (0 added, 1 updated)"),
        "{dry}"
    );
    let dry = kp(&k, &["import", "--format", "csv", &v1, "--dry-run"]).ok();
    assert!(dry.contains(&format!("skip: identical to {uid}")), "{dry}");
    assert_eq!(
        records(&k)[0]["password"],
        "old-pw",
        "dry runs write nothing"
    );
    let run = kp(&k, &["import", "--format", "csv", &v2, "--update"]);
    assert!(run.ok().contains("1 records imported"), "{}", run.stdout());
    assert!(
        run.stderr().contains("added 0, updated 1"),
        "{}",
        run.stderr()
    );
    let all = records(&k);
    assert_eq!(all.len(), 1, "--update replaced, not added: {all:?}");
    assert_eq!(all[0]["password"], "new-pw");
    assert_eq!(all[0]["notes"], "now with notes");
    assert_eq!(all[0]["uid"], uid.as_str(), "the same record, updated");
    let history = kp(&k, &["history", &uid, "--format", "json"]).json();
    assert_eq!(history.as_array().map(Vec::len), Some(2), "{history}");

    // Again: identical now, so nothing changes.
    let again = kp(&k, &["import", "--format", "csv", &v2, "--update"]);
    assert!(
        again.stderr().contains("added 0, updated 0, skipped 1"),
        "{}",
        again.stderr()
    );

    // Without --update a changed record is a new one (Commander's rule),
    // and a record in another folder never matches.
    let v3 = write(
        &k,
        "v3.csv",
        "Home,Webmail,me@example.com,third-pw,https://mail.example.com,,\n",
    );
    kp(&k, &["import", "--format", "csv", &v3, "--update"]).ok();
    kp(&k, &["import", "--format", "csv", &v1]).ok();
    assert_eq!(records(&k).len(), 3);
}

fn router_elsewhere_doc() -> String {
    json!({"records": [{"title": "Router", "login": "admin", "password": "pw-1",
        "folders": [{"folder": "Elsewhere"}]}]})
    .to_string()
}

fn two_folder_doc() -> String {
    json!({"records": [{"title": "Router", "login": "admin", "password": "pw-1",
        "folders": [{"folder": "Net"}, {"folder": "Home\\Devices"}]}]})
    .to_string()
}

#[test]
fn shortcuts_and_no_shortcuts() {
    let k = vault();
    let doc = write(&k, "two.json", &two_folder_doc());
    kp(&k, &["import", "--format", "json", &doc]).ok();
    assert_eq!(
        find(&records(&k), "Router")["folders"],
        json!([{"folder": "Home\\Devices"}, {"folder": "Net"}]),
        "one record, linked into both folders"
    );
    // An identical record from another folder is linked, not duplicated.
    let other = write(&k, "other.json", &router_elsewhere_doc());
    let run = kp(&k, &["import", "--format", "json", &other]);
    assert!(
        run.stderr().contains("skipped 1 identical"),
        "{}",
        run.stderr()
    );
    assert_eq!(records(&k).len(), 1);

    let k = vault();
    let doc = write(&k, "two.json", &two_folder_doc());
    kp(&k, &["import", "--format", "json", &doc, "--no-shortcuts"]).ok();
    assert_eq!(
        find(&records(&k), "Router")["folders"],
        json!([{"folder": "Net"}]),
        "--no-shortcuts: the first folder only"
    );
    let other = write(&k, "other.json", &router_elsewhere_doc());
    kp(
        &k,
        &["import", "--format", "json", &other, "--no-shortcuts"],
    )
    .ok();
    assert_eq!(records(&k).len(), 2, "no link across folders: a new record");
    // Still no duplicates within a folder.
    kp(
        &k,
        &["import", "--format", "json", &other, "--no-shortcuts"],
    )
    .ok();
    assert_eq!(records(&k).len(), 2);
}

/// A vault for alice with bob@new.example as a second user and a team.
fn team_vault() -> Keeper {
    let k = vault();
    add_user(&k, "bob@new.example", "bob-pw");
    k
}

fn alice(k: &Keeper, args: &[&str]) -> crate::support::Run {
    run_as(k, Some("alice@example.com"), PW, args)
}

fn shared_doc() -> String {
    json!({
        "shared_folders": [{"path": "Team", "manage_users": false, "manage_records": true,
            "can_edit": true, "can_share": false,
            "permissions": [{"name": "bob@old.example", "manage_users": false, "manage_records": true},
                            {"name": "nobody@old.example", "manage_users": true, "manage_records": true}]}],
        "records": [{"title": "Team DB", "login": "db", "password": "db-pw",
            "folders": [{"shared_folder": "Team", "can_edit": true}]}]
    })
    .to_string()
}

#[test]
fn old_and_new_domain_rewrite_member_emails() {
    let k = team_vault();
    let doc = write(&k, "shared.json", &shared_doc());
    // A normal import grants nobody: it says what it left.
    let run = alice(&k, &["import", "--format", "json", &doc]);
    run.ok();
    assert!(
        run.stderr()
            .contains("2 shared-folder member(s) listed in the source were not granted"),
        "{}",
        run.stderr()
    );
    let bob = run_as(&k, Some("bob@new.example"), "bob-pw", &["get", "Team DB"]);
    assert!(
        !bob.0.status.success(),
        "bob sees nothing before --users: {}",
        bob.stdout()
    );
    let run = alice(&k, &["import", "--format", "json", &doc, "--users"]);
    run.ok();
    assert!(
        run.stderr().contains("not applied: user bob@old.example"),
        "{}",
        run.stderr()
    );
    let run = alice(
        &k,
        &[
            "import",
            "--format",
            "json",
            &doc,
            "--users",
            "-od",
            "old.example",
            "-nd",
            "new.example",
        ],
    );
    run.ok();
    assert!(run.stderr().contains("1 added"), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("not applied: user nobody@new.example"),
        "{}",
        run.stderr()
    );
    let shared = alice(&k, &["export", "--format", "json"]).json()["shared_folders"].clone();
    let members = &shared[0]["permissions"];
    assert!(
        members
            .as_array()
            .is_some_and(|m| m.iter().any(|p| p["name"] == "bob@new.example"
                && p["manage_records"] == true
                && p["manage_users"] == false)),
        "{shared}"
    );
    let bob = run_as(&k, Some("bob@new.example"), "bob-pw", &["get", "Team DB"]);
    assert!(bob.ok().contains("Team DB"));
    assert_eq!(
        alice(&k, &["export", "--format", "json"]).json()["records"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "re-import added no record"
    );
    // -od needs -nd.
    let err = alice(
        &k,
        &["import", "--format", "json", &doc, "-od", "old.example"],
    )
    .fails();
    assert!(err.contains("--new-domain"), "{err}");
}

#[test]
fn users_only_grants_members_and_imports_no_records() {
    let k = team_vault();
    alice(&k, &["mkdir", "--sf", "Team"]).ok();
    let doc = write(&k, "shared.json", &shared_doc());
    let dry = alice(
        &k,
        &["import", "--format", "json", &doc, "--users", "--dry-run"],
    );
    assert!(dry.ok().contains("nothing was written"), "{}", dry.stderr());
    let before = alice(&k, &["export", "--format", "json"]).json();
    assert!(
        !before["shared_folders"][0]["permissions"]
            .to_string()
            .contains("bob@"),
        "a dry run grants nothing: {before}"
    );
    let run = alice(
        &k,
        &[
            "import",
            "--format",
            "json",
            &doc,
            "--users",
            "--old-domain",
            "old.example",
            "--new-domain",
            "new.example",
        ],
    );
    run.ok();
    assert!(run.stderr().contains("1 added"), "{}", run.stderr());
    let doc = alice(&k, &["export", "--format", "json"]).json();
    assert!(doc["records"].as_array().is_none_or(Vec::is_empty), "{doc}");
    assert!(
        doc["shared_folders"][0]["permissions"]
            .to_string()
            .contains("bob@new.example")
    );
}

#[test]
fn records_over_five_megabytes_move_fields_into_attachments() {
    let k = vault();
    let notes = "n".repeat(3 * 1024 * 1024);
    let big_field = "k".repeat(4 * 1024 * 1024);
    let doc = write(
        &k,
        "big.json",
        &json!({"records": [{"title": "Huge", "login": "me", "password": "pw",
            "notes": notes,
            "custom_fields": {"$multiline:Key dump": big_field, "Small": "kept"}}]})
        .to_string(),
    );
    let run = kp(&k, &["import", "--format", "json", &doc]);
    assert!(run.ok().contains("1 records imported"), "{}", run.stdout());
    assert!(
        run.stderr().contains("1 field(s) of records over 5 MB"),
        "{}",
        run.stderr()
    );
    let all = records(&k);
    let huge = find(&all, "Huge");
    assert_eq!(huge["password"], "pw");
    // The largest field went; moving it was enough, so the notes stayed.
    assert_eq!(huge["notes"].as_str().map(str::len), Some(notes.len()));
    assert_eq!(huge["custom_fields"]["Small"], "kept");
    assert!(
        huge["custom_fields"]["$multiline:Key dump:1"]
            .as_str()
            .is_some_and(|v| v.contains("\"Huge_multiline_field.txt\"")),
        "{}",
        huge["custom_fields"]
    );
    let out = k.data_dir().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    kp(
        &k,
        &[
            "download-attachment",
            "Huge",
            "--out-dir",
            out.to_str().expect("utf8"),
        ],
    )
    .ok();
    let field = std::fs::read_to_string(out.join("Huge_multiline_field.txt")).expect("field file");
    assert!(field == big_field, "the field's text, intact");

    // Importing it again changes nothing: same record, no second copy.
    let again = kp(&k, &["import", "--format", "json", &doc]);
    assert!(
        again.stderr().contains("skipped 1 identical") && again.stderr().contains("stored 0"),
        "{}",
        again.stderr()
    );
    assert_eq!(records(&k).len(), 1);
}

/// Shared-folder paths and member names from a source are printed
/// escaped wherever keeper shows them: `import --users` saying what it did
/// not apply, and `tree` showing an imported shared folder's name.
#[test]
fn hostile_folder_paths_and_member_names_are_printed_escaped() {
    let k = team_vault();
    let evil = "Evil\u{1b}]52;c;aGk=\u{7}\u{1b}[2J\u{202e}";
    let shown = "Evil\\u{1b}]52;c;aGk=\\u{7}\\u{1b}[2J\\u{202e}";
    let doc = json!({
        "shared_folders": [
            {"path": format!("Shared{evil}"), "manage_users": false, "manage_records": true,
             "permissions": [{"name": format!("{evil}@old.example"),
                              "manage_users": false, "manage_records": true},
                             {"name": format!("Team{evil}")}]}],
        "records": [{"title": "Team DB", "login": "db", "password": "db-pw",
            "folders": [{"shared_folder": format!("Shared{evil}"), "can_edit": true}]}]
    });
    let doc = write(&k, "hostile.json", &doc.to_string());
    // Before the folder exists: its path is what is not applied.
    let run = alice(&k, &["import", "--format", "json", &doc, "--users"]);
    run.ok();
    let err = run.stderr();
    assert!(
        err.contains(&format!("not applied: shared folder Shared{shown}")),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
    alice(&k, &["import", "--format", "json", &doc]).ok();
    // Then its members, a user and a team that do not exist here.
    let run = alice(&k, &["import", "--format", "json", &doc, "--users"]);
    run.ok();
    let err = run.stderr();
    assert!(
        err.contains(&format!("not applied: user {shown}@old.example")),
        "{err}"
    );
    assert!(
        err.contains(&format!("not applied: team Team{shown}")),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
    let tree = alice(&k, &["tree"]).ok();
    assert!(tree.contains(&format!("Shared{shown} [shared]")), "{tree}");
    assert!(
        !tree.contains('\u{1b}') && !tree.contains('\u{7}'),
        "{tree:?}"
    );
    // Stored as the source wrote it.
    let exported = alice(&k, &["export", "--format", "json"]).json();
    assert!(
        exported["shared_folders"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["path"] == format!("Shared{evil}"))),
        "{exported}"
    );
}
