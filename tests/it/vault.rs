//! End-to-end tests of the vault commands through the `keeper` binary:
//! init/unlock, add/get/edit/rm, ls/tree, folders, search, history,
//! find-duplicate, sharing with users and teams, export/import, attachments.

use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{Keeper, Run};

/// Master password used by these tests.
pub const PW: &str = "correct horse battery staple";

/// Runs keeper with the test master password and cheap KDF parameters.
pub fn kp(k: &Keeper, args: &[&str]) -> Run {
    run_as(k, None, PW, args)
}

/// Runs keeper as a given user and password.
pub fn run_as(k: &Keeper, user: Option<&str>, password: &str, args: &[&str]) -> Run {
    let out: Output = command_as(k, user, password, args)
        .output()
        .expect("run keeper");
    Run(out)
}

/// The command [`kp`] runs, to spawn it.
pub fn kp_command(k: &Keeper, args: &[&str]) -> Command {
    command_as(k, None, PW, args)
}

fn command_as(k: &Keeper, user: Option<&str>, password: &str, args: &[&str]) -> Command {
    let mut cmd = k.cmd(args);
    cmd.env("KEEPER_PASSWORD", password)
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env_remove("KEEPER_USER");
    if let Some(u) = user {
        cmd.env("KEEPER_USER", u);
    }
    cmd
}

/// alice's vault, opened and unlocked in this process (to read what the
/// binary stored, as `rotate --resume` would).
pub fn unlocked(k: &Keeper) -> keeper::testing::vault::Vault {
    use keeper::testing::vault::{Location, SecretString, Vault};
    let store = k.store_url().unwrap_or_else(|| {
        k.data_dir()
            .join("vault.db")
            .to_str()
            .expect("utf8")
            .to_string()
    });
    Vault::open_at(&Location::parse(&store).expect("location"))
        .expect("open")
        .unlock(
            Some("alice@example.com"),
            &SecretString::from(PW.to_string()),
        )
        .expect("unlock")
}

/// A keeper with an initialised vault for alice@example.com.
pub fn vault() -> Keeper {
    let k = Keeper::new();
    kp(&k, &["init", "--user", "alice@example.com"]).ok();
    k
}

/// Adds a user with their own master password, as alice (the first user).
pub fn add_user(k: &Keeper, email: &str, password: &str) {
    let mut cmd = k.cmd(&["user", "add", email]);
    cmd.env("KEEPER_PASSWORD", PW)
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_USER", "alice@example.com")
        .env("KEEPER_NEW_USER_PASSWORD", password);
    Run(cmd.output().expect("run")).ok();
}

/// Adds a record and returns its uid.
pub fn add(k: &Keeper, args: &[&str]) -> String {
    let mut all = vec!["add"];
    all.extend_from_slice(args);
    kp(k, &all).ok().trim().to_string()
}

/// Runs `keeper ARGS` unlocked, aborting it at the rotation fault `point`
/// (`KEEPER_FAULT`, debug builds): what a crash there leaves behind.
pub fn crash_at(k: &Keeper, args: &[&str], point: &str) -> std::process::Output {
    k.cmd(args)
        .env("KEEPER_PASSWORD", PW)
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_FAULT", point)
        .output()
        .expect("run keeper")
}

/// The record's current password, unmasked (typed fields first; record
/// types without a password field, such as sshKeys, keep it custom).
pub fn vault_password(k: &Keeper, uid: &str) -> String {
    let json = kp(k, &["get", uid, "--format", "json", "--unmask"]).json();
    ["fields", "custom"]
        .iter()
        .filter_map(|part| json[part].as_array())
        .flatten()
        .find(|f| f["type"] == "password")
        .and_then(|f| f["value"][0].as_str())
        .unwrap_or_else(|| panic!("a password field in {json}"))
        .to_string()
}

fn titles(k: &Keeper, args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let v = kp(k, &all).json();
    let mut t: Vec<String> = v
        .as_array()
        .expect("array")
        .iter()
        .filter(|r| r.get("kind").is_none_or(|k| k == "record"))
        .map(|r| {
            r.get("title")
                .or(r.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    t.sort();
    t
}

#[test]
fn init_refuses_existing_vault_and_fast_kdf_warns() {
    let k = Keeper::new();
    let out = kp(&k, &["init", "--user", "alice@example.com"]);
    out.ok();
    assert!(
        out.stderr().contains("KEEPER_TEST_FAST_KDF"),
        "no warning: {}",
        out.stderr()
    );
    let err = kp(&k, &["init", "--user", "bob@example.com"]).fails();
    assert!(err.contains("already exists"), "{err}");
    // Every unlock of a weak vault warns too.
    assert!(kp(&k, &["ls"]).stderr().contains("test-only"));
}

#[test]
fn no_vault_is_a_clear_error() {
    let k = Keeper::new();
    let err = kp(&k, &["ls"]).fails();
    assert!(err.contains("keeper init"), "{err}");
}

#[test]
fn wrong_password_fails_and_writes_nothing() {
    let k = vault();
    add(&k, &["-t", "Web", "login=alice", "password=pw1"]);
    kp(&k, &["ls"]).ok();
    let db = k.data_dir().join("vault.db");
    // The whole file, or on PostgreSQL a digest of every row.
    let snapshot = || match k.on_postgres() {
        false => std::fs::read(&db).expect("read vault"),
        true => k
            .sql(
                "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM \
                 (SELECT * FROM keeper.records) t",
            )
            .unwrap_or_default()
            .into_bytes(),
    };
    let before = snapshot();
    let run = run_as(
        &k,
        None,
        "wrong password",
        &["add", "-t", "Other", "login=x"],
    );
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("wrong master password"),
        "{}",
        run.stderr()
    );
    assert!(
        !run.stderr().contains("wrong password"),
        "the password leaked into the error"
    );
    assert_eq!(snapshot(), before, "the vault file changed");
    assert_eq!(titles(&k, &["search", "."]), ["Web"]);
}

#[test]
fn password_from_config_file_and_stdin() {
    let k = vault();
    let config = k.data_dir().join("config.json");
    std::fs::write(
        &config,
        format!(r#"{{"user": "alice@example.com", "password": "{PW}"}}"#),
    )
    .expect("config");
    let mut cmd = k.cmd(&["add", "-t", "FromConfig", "login=x"]);
    let out = cmd.env("KEEPER_TEST_FAST_KDF", "1").output().expect("run");
    Run(out).ok();
    std::fs::remove_file(&config).expect("rm config");
    let out = k.run_with_stdin(&["ls", "--format", "json"], &format!("{PW}\n"));
    assert!(out.ok().contains("FromConfig"));
}

#[test]
fn add_and_get_mask_secrets_unless_unmasked() {
    let k = vault();
    let uid = add(
        &k,
        &[
            "-t",
            "Prod DB",
            "--rt",
            "serverCredentials",
            "-n",
            "line one\nline two",
            "host=db.example.com:3306",
            "login=root",
            "password=$GEN:rand,32",
            "c.text.cmdr:plugin=mysql",
            "c.secret.api key=s3cr3t-value",
        ],
    );
    assert_eq!(uid.len(), 22, "uid {uid:?}");
    let table = kp(&k, &["get", &uid]).ok();
    assert!(table.contains("********"));
    assert!(!table.contains("s3cr3t-value"));
    assert!(table.contains("db.example.com:3306"));
    assert!(table.contains("cmdr:plugin: mysql"), "{table}");

    let json = kp(&k, &["get", "Prod DB", "--format", "json"]).json();
    assert_eq!(json["type"], "serverCredentials");
    assert_eq!(json["title"], "Prod DB");
    assert_eq!(json["notes"], "line one\nline two");
    let field = |list: &str, kind: &str| -> Value {
        json[list]
            .as_array()
            .expect("list")
            .iter()
            .find(|f| f["type"] == kind)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        field("fields", "host")["value"][0]["hostName"],
        "db.example.com"
    );
    assert_eq!(field("fields", "host")["value"][0]["port"], "3306");
    assert_eq!(field("fields", "password")["value"][0], "********");
    assert_eq!(field("custom", "text")["label"], "cmdr:plugin");

    let unmasked = kp(&k, &["get", &uid, "--format", "json", "--unmask"]).json();
    let pw = unmasked["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["type"] == "password")
        .expect("pw")["value"][0]
        .as_str()
        .expect("str")
        .to_string();
    assert_eq!(pw.len(), 32);
    assert!(
        kp(&k, &["get", &uid, "--unmask"])
            .ok()
            .contains("s3cr3t-value")
    );
}

#[test]
fn add_rejects_bad_input() {
    let k = vault();
    assert!(
        kp(&k, &["add", "-t", "X", "--rt", "nope"])
            .fails()
            .contains("unknown record type")
    );
    assert!(
        kp(&k, &["add", "-t", "X", "bogus=1"])
            .fails()
            .contains("unknown field type")
    );
    assert!(
        kp(
            &k,
            &[
                "add",
                "-t",
                "X",
                "--rt",
                "serverCredentials",
                "host=h:notaport"
            ]
        )
        .fails()
        .contains("port")
    );
    add(&k, &["-t", "Same"]);
    assert!(kp(&k, &["add", "-t", "Same"]).fails().contains("--force"));
    add(&k, &["-t", "Same", "--force"]);
    assert!(kp(&k, &["get", "Same"]).fails().contains("matches 2"));
}

#[test]
fn record_types_and_field_shapes() {
    let k = vault();
    let cases: &[&[&str]] = &[
        &[
            "--rt",
            "bankCard",
            "paymentCard=4111111111111111 06/2030 123",
            "text.cardholderName=A B",
        ],
        &[
            "--rt",
            "contact",
            "name=Doe, John",
            "email=j@d.com",
            "phone=Mobile: US 5551234",
        ],
        &[
            "--rt",
            "address",
            "address=1 Main St, Springfield, IL 62701, US",
        ],
        &[
            "--rt",
            "sshKeys",
            "login=me",
            r#"keyPair=$JSON:{"publicKey":"ssh-ed25519 AAA","privateKey":"KEY"}"#,
        ],
        &[
            "--rt",
            "bankAccount",
            "bankAccount=Checking 123 456",
            "name=John Doe",
        ],
        &["--rt", "encryptedNotes", "note=hello", "date=2024-02-29"],
        &["--rt", "wifiCredentials", "text.SSID=home", "password=pw"],
        &[
            "--rt",
            "driverLicense",
            "accountNumber.dlNumber=D123",
            "expirationDate=2030-01-01",
        ],
        &["--rt", "passport", "accountNumber.passportNumber=P1"],
        &["--rt", "ssnCard", "accountNumber.identityNumber=1"],
        &["--rt", "healthInsurance", "accountNumber=H1"],
        &["--rt", "membership", "accountNumber=M1"],
        &["--rt", "softwareLicense", "licenseNumber=L1"],
        &["--rt", "general", "login=g", "securityQuestion=Pet? Rex"],
        &[
            "--rt",
            "databaseCredentials",
            "text.type=mysql",
            "host=db:3306",
        ],
        &["--rt", "file"],
    ];
    for (i, case) in cases.iter().enumerate() {
        let title = format!("R{i}");
        let mut args = vec!["-t", title.as_str()];
        args.extend_from_slice(case);
        add(&k, &args);
        let json = kp(&k, &["get", &title, "--format", "json", "--unmask"]).json();
        assert_eq!(json["type"], case[1], "{case:?}");
    }
    let card = kp(&k, &["get", "R0", "--format", "json", "--unmask"]).json();
    assert_eq!(
        card["fields"][0]["value"][0]["cardExpirationDate"],
        "06/2030"
    );
    let note = kp(&k, &["get", "R5", "--format", "json"]).json();
    assert_eq!(note["fields"][1]["value"][0], 1_709_164_800_000_i64);
}

#[test]
fn folders_paths_and_moves() {
    let k = vault();
    kp(&k, &["mkdir", r"Ops\Data\\Base"]).ok();
    kp(&k, &["mkdir", "--sf", "-e", "Team Share"]).ok();
    assert!(
        kp(&k, &["mkdir", r"Ops\Data\\Base"])
            .fails()
            .contains("already exists")
    );
    assert!(
        kp(&k, &["mkdir", "--sf", r"Team Share\Inner"])
            .fails()
            .contains("inside another shared folder")
    );
    kp(&k, &["mkdir", r"Team Share\Sub"]).ok();
    let uid = add(&k, &["-t", "Rec", "--folder", r"Ops\Data\\Base", "login=a"]);
    // The folder name holds a literal backslash.
    let tree = kp(&k, &["tree", "-r"]).ok();
    assert!(tree.contains(r"Data\Base"), "{tree}");
    assert!(tree.contains("Team Share [shared]"), "{tree}");
    assert_eq!(titles(&k, &["ls", r"Ops\Data\\Base"]), ["Rec"]);
    assert!(kp(&k, &["get", r"Ops\Data\\Base\Rec"]).ok().contains(&uid));

    // ln: one record in two folders.
    kp(&k, &["ln", &uid, r"Team Share\Sub"]).ok();
    let folders = kp(&k, &["get", &uid, "--format", "json"]).json()["folders"].clone();
    assert_eq!(folders.as_array().map(Vec::len), Some(2), "{folders}");
    // mv from one folder to the root.
    kp(&k, &["mv", r"Ops\Data\\Base\Rec", r"\"]).ok();
    assert!(titles(&k, &["ls", r"Ops\Data\\Base"]).is_empty());
    assert_eq!(titles(&k, &["ls"]), ["Rec"]);
    assert_eq!(titles(&k, &["ls", r"Team Share\Sub"]), ["Rec"]);
    // mv a folder.
    kp(&k, &["mv", "Ops", r"Team Share"]).fails();
    kp(&k, &["mkdir", "Archive"]).ok();
    kp(&k, &["mv", "Ops", "Archive"]).ok();
    let tree = kp(&k, &["tree", "--format", "json"]).json();
    assert!(
        tree.as_array()
            .expect("rows")
            .iter()
            .any(|r| r["path"] == r"Archive\Ops\Data\\Base"),
        "{tree}"
    );
    // ls -R and csv.
    let csv = kp(&k, &["ls", "-R", "-l", "--format", "csv"]).ok();
    assert!(
        csv.starts_with("Kind,Name,UID,Type,Login,URL,Folder"),
        "{csv}"
    );
    // rmdir: the record stays because it is linked elsewhere; a record only there is deleted.
    add(&k, &["-t", "OnlyInSub", "--folder", r"Team Share\Sub"]);
    assert!(
        kp(&k, &["rmdir", r"Team Share"])
            .fails()
            .contains("--force")
    );
    kp(&k, &["rmdir", "--force", r"Team Share"]).ok();
    assert_eq!(titles(&k, &["search", "."]), ["Rec"]);
}

#[test]
fn edit_history_and_password_history() {
    let k = vault();
    let uid = add(
        &k,
        &[
            "-t",
            "Web",
            "login=alice",
            "password=first",
            "url=https://a.example",
            "c.text.env=prod",
        ],
    );
    kp(
        &k,
        &[
            "edit",
            "-r",
            "Web",
            "password=second",
            "c.text.env=",
            "c.text.cmdr:rules=20,2,2,2,2",
        ],
    )
    .ok();
    kp(
        &k,
        &[
            "record-update",
            "-r",
            &uid,
            "-t",
            "Web 2",
            "-n",
            "+appended",
            "password=third",
            "url=",
        ],
    )
    .ok();
    let json = kp(&k, &["get", &uid, "--format", "json", "--unmask"]).json();
    assert_eq!(json["title"], "Web 2");
    assert_eq!(json["notes"], "appended");
    assert_eq!(json["revision"], 3);
    let custom: Vec<&str> = json["custom"]
        .as_array()
        .expect("custom")
        .iter()
        .filter_map(|f| f["label"].as_str())
        .collect();
    assert_eq!(custom, ["cmdr:rules"]);
    let url = json["fields"]
        .as_array()
        .expect("f")
        .iter()
        .find(|f| f["type"] == "url")
        .expect("url slot")
        .clone();
    assert_eq!(url["value"], serde_json::json!([]));

    let hist = kp(&k, &["history", &uid, "--format", "json"]).json();
    assert_eq!(hist.as_array().map(Vec::len), Some(3));
    assert_eq!(hist[0]["revision"], 3);
    let passwords = kp(
        &k,
        &[
            "history", &uid, "-a", "password", "--format", "json", "--unmask",
        ],
    )
    .json();
    let olds: Vec<&str> = passwords
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["password"].as_str())
        .collect();
    assert_eq!(olds, ["second", "first"]);
    assert!(
        kp(&k, &["history", &uid, "-a", "password"])
            .ok()
            .contains("********")
    );
    let v1 = kp(
        &k,
        &[
            "history", &uid, "-a", "view", "-r", "1", "--format", "json", "--unmask",
        ],
    )
    .json();
    assert_eq!(v1["title"], "Web");
}

#[test]
fn search_is_regex_over_non_secret_fields() {
    let k = vault();
    add(
        &k,
        &[
            "-t",
            "GitHub",
            "login=octo",
            "url=https://github.com",
            "password=hunter2",
        ],
    );
    add(
        &k,
        &[
            "-t",
            "Mail",
            "login=me@mail.example",
            "-n",
            "recovery codes inside",
        ],
    );
    add(
        &k,
        &[
            "-t",
            "Server",
            "--rt",
            "serverCredentials",
            "host=web01.internal:22",
        ],
    );
    assert_eq!(titles(&k, &["search", "git"]), ["GitHub"]);
    assert_eq!(titles(&k, &["search", "^MAIL$"]), ["Mail"]);
    assert_eq!(titles(&k, &["search", "RECOVERY"]), ["Mail"]);
    assert_eq!(titles(&k, &["search", r"web\d+"]), ["Server"]);
    assert!(
        titles(&k, &["search", "hunter2"]).is_empty(),
        "passwords must not be searchable"
    );
    assert!(
        kp(&k, &["search", "("])
            .fails()
            .contains("invalid regular expression")
    );
    let csv = kp(&k, &["search", "git", "--format", "csv"]).ok();
    assert!(csv.lines().count() == 2 && csv.contains("GitHub"), "{csv}");
}

#[test]
fn find_duplicate_and_merge() {
    let k = vault();
    add(&k, &["-t", "Dup", "login=a", "password=p"]);
    add(&k, &["-t", "dup", "login=A", "password=p", "--force"]);
    add(
        &k,
        &[
            "-t",
            "Dup",
            "login=a",
            "password=p",
            "url=https://x",
            "--force",
        ],
    );
    add(&k, &["-t", "Unique", "login=u", "password=p"]);
    let groups = kp(&k, &["find-duplicate", "--format", "json"]).json();
    assert_eq!(groups.as_array().map(Vec::len), Some(3), "{groups}");
    let by_url = kp(
        &k,
        &["find-duplicate", "--title", "--url", "--format", "json"],
    )
    .json();
    assert_eq!(by_url.as_array().map(Vec::len), Some(2), "{by_url}");
    assert!(
        kp(&k, &["find-duplicate", "--merge"])
            .fails()
            .contains("--force")
    );
    kp(&k, &["find-duplicate", "--merge", "--dry-run"]).ok();
    assert_eq!(titles(&k, &["search", "."]).len(), 4);
    kp(
        &k,
        &[
            "find-duplicate",
            "--title",
            "--login",
            "--password",
            "--merge",
            "--force",
        ],
    )
    .ok();
    // --merge implies --full: "dup" (same lower-cased title/login) merges, the one with a URL stays.
    assert_eq!(titles(&k, &["search", "."]).len(), 3);
}

#[test]
fn rm_deletes_records() {
    let k = vault();
    let a = add(&k, &["-t", "A"]);
    add(&k, &["-t", "B"]);
    assert!(kp(&k, &["rm", &a]).fails().contains("--force"));
    kp(&k, &["rm", "--force", &a, "B"]).ok();
    assert!(titles(&k, &["search", "."]).is_empty());
    assert!(kp(&k, &["get", &a]).fails().contains("not found"));
}

#[test]
fn users_teams_and_shared_folders() {
    let k = vault();
    let mut cmd = k.cmd(&["user", "add", "bob@example.com"]);
    cmd.env("KEEPER_PASSWORD", PW)
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_NEW_USER_PASSWORD", "bob-pw");
    Run(cmd.output().expect("run")).ok();
    let mut cmd = k.cmd(&["user", "add", "carol@example.com"]);
    cmd.env("KEEPER_PASSWORD", PW)
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_USER", "alice@example.com")
        .env("KEEPER_NEW_USER_PASSWORD", "carol-pw");
    Run(cmd.output().expect("run")).ok();
    // Several users: keeper must be told which one.
    assert!(kp(&k, &["ls"]).fails().contains("KEEPER_USER"));
    let alice = |args: &[&str]| run_as(&k, Some("alice@example.com"), PW, args);
    let bob = |args: &[&str]| run_as(&k, Some("bob@example.com"), "bob-pw", args);
    let carol = |args: &[&str]| run_as(&k, Some("carol@example.com"), "carol-pw", args);
    assert!(
        run_as(&k, Some("bob@example.com"), PW, &["ls"])
            .fails()
            .contains("wrong master password")
    );

    let users = alice(&["user", "list", "--format", "json"]).json();
    assert_eq!(users.as_array().map(Vec::len), Some(3));
    alice(&["mkdir", "--sf", "-e", "Shared"]).ok();
    alice(&[
        "add",
        "-t",
        "Shared Secret",
        "--folder",
        "Shared",
        "password=s",
    ])
    .ok();
    alice(&["add", "-t", "Private", "password=p"]).ok();
    assert!(
        bob(&["search", "."])
            .ok()
            .lines()
            .all(|l| !l.contains("Secret"))
    );

    alice(&["share-folder", "Shared", "-e", "bob@example.com"]).ok();
    let seen = bob(&["ls", "Shared", "--format", "json"]).json();
    assert_eq!(seen[0]["name"], "Shared Secret", "{seen}");
    assert!(bob(&["get", "Private"]).fails().contains("not found"));
    assert!(
        bob(&["get", "Shared Secret", "--unmask"])
            .ok()
            .contains(": s")
    );

    // Teams: carol gets access through a team.
    alice(&["team", "add", "Ops", "-m", "carol@example.com"]).ok();
    let teams = alice(&["team", "list", "--format", "json"]).json();
    assert_eq!(
        teams[0]["members"],
        serde_json::json!(["alice@example.com", "carol@example.com"])
    );
    assert!(
        carol(&["get", "Shared Secret"])
            .fails()
            .contains("not found")
    );
    alice(&["share-folder", "Shared", "-e", "Ops", "-p", "on"]).ok();
    assert!(
        carol(&["get", "Shared Secret"])
            .ok()
            .contains("Shared Secret")
    );
    // Record permissions: read-only for members.
    alice(&["share-folder", "Shared", "-r", "*", "-d", "off"]).ok();
    assert!(
        bob(&["edit", "-r", "Shared Secret", "password=x"])
            .fails()
            .contains("permission denied")
    );
    // Remove bob.
    alice(&[
        "share-folder",
        "Shared",
        "-a",
        "remove",
        "-e",
        "bob@example.com",
    ])
    .ok();
    assert!(bob(&["get", "Shared Secret"]).fails().contains("not found"));
}

#[test]
fn export_import_round_trip_is_lossless() {
    let a = vault();
    kp(&a, &["mkdir", "--sf", "-u", "-e", r"Clients\Acme"]).ok();
    kp(&a, &["mkdir", r"Clients\Acme\Servers"]).ok();
    kp(&a, &["mkdir", r"Personal\Back\\slash"]).ok();
    add(
        &a,
        &[
            "-t",
            "Acme web",
            "--rt",
            "serverCredentials",
            "--folder",
            r"Clients\Acme\Servers",
            "host=web:22",
            "login=root",
            "password=pw",
            "c.text.cmdr:plugin=ssh",
            "c.host.jump=bastion:2222",
        ],
    );
    add(
        &a,
        &[
            "-t",
            "Bank",
            "--rt",
            "bankCard",
            "--folder",
            r"Personal\Back\\slash",
            "paymentCard=4111111111111111 06/2030 123",
            "text.cardholderName=Alice",
            "pinCode=1234",
            "-n",
            "multi\nline",
        ],
    );
    add(
        &a,
        &[
            "-t",
            "Root login",
            "login=me",
            "password=p",
            "url=https://a",
            "url=https://b",
            "oneTimeCode=otpauth://totp/x?secret=ABC",
        ],
    );
    let uid = add(
        &a,
        &[
            "-t",
            "Both",
            "login=both",
            "--folder",
            r"Personal\Back\\slash",
        ],
    );
    kp(&a, &["ln", &uid, r"Clients\Acme"]).ok();
    let export = kp(&a, &["export", "--format", "json"]).json();

    let b = vault();
    let file = b.data_dir().join("export.json");
    std::fs::write(&file, serde_json::to_string(&export).expect("json")).expect("write");
    let out = kp(
        &b,
        &["import", "--format", "json", file.to_str().expect("utf-8")],
    )
    .ok();
    assert!(out.contains("4 records imported successfully"), "{out}");
    let again = kp(&b, &["export", "--format", "json"]).json();
    let strip_uids = |mut v: Value| {
        for sf in v["shared_folders"].as_array_mut().expect("sfs") {
            sf.as_object_mut().expect("obj").remove("uid");
        }
        v
    };
    assert_eq!(again["records"], export["records"]);
    assert_eq!(strip_uids(again.clone()), strip_uids(export.clone()));

    // Importing the same file again adds nothing: the same uids with the
    // same content are reported as skipped, not updated.
    let run = kp(
        &b,
        &["import", "--format", "json", file.to_str().expect("utf-8")],
    );
    assert!(
        run.ok().contains("0 records imported successfully"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stderr()
            .contains("added 0, updated 0, skipped 4 identical"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        kp(&b, &["export", "--format", "json"]).json()["records"],
        export["records"]
    );

    // Keeper CSV export: 7 fixed columns then key/value pairs.
    let csv = kp(&a, &["export", "--format", "csv"]).ok();
    assert!(
        csv.contains("Servers,Acme web,root,pw,,,Clients\\Acme"),
        "{csv}"
    );
    assert!(csv.contains("$record_uid"));
    // Malformed input writes nothing.
    std::fs::write(
        &file,
        r#"{"records": [{"title": "ok"}, {"notes": "no title"}]}"#,
    )
    .expect("write");
    assert!(
        kp(
            &b,
            &["import", "--format", "json", file.to_str().expect("utf-8")]
        )
        .fails()
        .contains("record #2")
    );
    assert!(!kp(&b, &["search", "^ok$"]).ok().contains("ok"));
}

#[test]
fn import_commander_sample() {
    let k = vault();
    let file = k.data_dir().join("sample.json");
    std::fs::write(
        &file,
        r#"{"shared_folders": [{"path": "Social Media\\Customer1", "manage_users": true, "manage_records": false,
              "can_edit": true, "can_share": false}],
            "records": [
             {"title": "Facebook", "$type": "login", "login": "craig@gmail.com", "password": "pw",
              "login_url": "https://facebook.com", "notes": "multi\nline", "last_modified": 1762428779,
              "custom_fields": {"2FA Phone Number": "+19165551212", "$oneTimeCode": "otpauth://totp/x?secret=A",
                                "$text:SSID": "cozy", "$host": {"hostName": "web01", "port": "22"},
                                "$url": ["https://a", "https://b"]},
              "folders": [{"folder": "Business"},
                          {"shared_folder": "Social Media\\Customer2", "folder": "Subfolder2", "can_edit": true}]},
             {"title": "Card", "$type": "bankCard",
              "custom_fields": {"$paymentCard": {"cardNumber": "4111", "cardExpirationDate": "06/2030", "cardSecurityCode": "1"}}}
            ]}"#,
    )
    .expect("write");
    kp(
        &k,
        &["import", "--format", "json", file.to_str().expect("utf-8")],
    )
    .ok();
    let fb = kp(&k, &["get", "Facebook", "--format", "json", "--unmask"]).json();
    assert_eq!(fb["notes"], "multi\nline");
    let labels: Vec<&str> = fb["custom"]
        .as_array()
        .expect("custom")
        .iter()
        .filter_map(|f| f["label"].as_str())
        .collect();
    assert!(
        labels.contains(&"2FA Phone Number") && labels.contains(&"SSID"),
        "{labels:?}"
    );
    assert_eq!(fb["folders"].as_array().map(Vec::len), Some(2), "{fb}");
    let tree = kp(&k, &["tree", "--format", "json"]).json();
    let paths: Vec<&str> = tree
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    for p in [
        "Business",
        "Social Media",
        r"Social Media\Customer1",
        r"Social Media\Customer2\Subfolder2",
    ] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
    let card = kp(&k, &["get", "Card", "--format", "json", "--unmask"]).json();
    assert_eq!(card["fields"][0]["value"][0]["cardNumber"], "4111");
}

#[test]
fn attachments_round_trip() {
    let k = vault();
    let src = k.data_dir().join("report.bin");
    let bytes: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &bytes).expect("write");
    let spec = format!("file=@{}", src.display());
    let uid = add(&k, &["-t", "With file", "login=x", &spec]);
    let json = kp(&k, &["get", &uid, "--format", "json"]).json();
    assert_eq!(json["attachments"][0]["name"], "report.bin");
    assert_eq!(json["attachments"][0]["size"], 70_000);
    let out = k.data_dir().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    kp(
        &k,
        &[
            "download-attachment",
            &uid,
            "--out-dir",
            out.to_str().expect("utf-8"),
        ],
    )
    .ok();
    assert_eq!(std::fs::read(out.join("report.bin")).expect("read"), bytes);
    // The vault file (or database) does not hold the plaintext.
    let db = match k.on_postgres() {
        false => std::fs::read(k.data_dir().join("vault.db")).expect("read"),
        true => hex::decode(
            k.sql("SELECT encode(string_agg(data, ''::bytea), 'hex') FROM keeper.attachments")
                .expect("an attachment row"),
        )
        .expect("hex"),
    };
    assert!(!db.is_empty());
    assert!(!db.windows(64).any(|w| w == &bytes[1000..1064]));
    let second = k.data_dir().join("notes.txt");
    std::fs::write(&second, "hello").expect("write");
    kp(
        &k,
        &[
            "upload-attachment",
            &uid,
            "--file",
            second.to_str().expect("utf-8"),
        ],
    )
    .ok();
    assert_eq!(
        kp(&k, &["get", &uid, "--format", "json"]).json()["attachments"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}
