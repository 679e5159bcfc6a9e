//! Secrets Manager applications and device profiles through the binary:
//! alice creates an application, shares a folder with it and issues a
//! one-time token; a second data directory (its own home, working folder
//! and keeper.ini, no master password anywhere) initialises a profile from
//! the token and reads exactly the application's records, until the client
//! is removed. Both stores (`KEEPER_TEST_STORE=postgres`). Removal and
//! re-keying are `removal.rs`, ownership and access ends `access.rs`,
//! racing token redemptions `race.rs`.

mod access;
mod race;
pub(crate) mod removal;

use keeper::testing::profiles::open_device;
use keeper::testing::vault::{Location, SecretString, Vault, holders_opening};

use crate::machine::{Machine, app_sharing, config_init, location, token, value_after};
use crate::support::{Keeper, Run};
use crate::vault::{PW, add, kp, vault};

/// What these tests do on a client device.
impl Machine {
    /// `profile init` with `token` for the vault at `store`.
    fn init(&self, store: &str, token: &str, extra: &[&str]) -> Run {
        let mut args = vec!["--store", store, "profile", "init", "--token", token];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

/// `keeper secrets-manager ARGS` as alice.
fn sm(k: &Keeper, args: &[&str]) -> Run {
    let mut all = vec!["secrets-manager"];
    all.extend_from_slice(args);
    kp(k, &all)
}

/// The keys a profile's JSON holds (`profile export`, `--config-init`).
const PROFILE_JSON_KEYS: [&str; 4] = ["check", "clientId", "privateKey", "store"];

/// The top-level keys of a JSON object, sorted.
fn json_keys(text: &str) -> Vec<String> {
    let value: serde_json::Value =
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {text}"))
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

/// Every `section.key` of an INI text (`[section]` lines and `key =
/// value` lines), sorted.
fn ini_keys(text: &str) -> Vec<String> {
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else {
            let (key, _) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not a key line: {line:?} in {text}"));
            keys.push(format!("{section}.{}", key.trim()));
        }
    }
    keys.sort_unstable();
    keys
}

/// The JSON configuration `client add --config-init json` printed.
fn config_json(out: &str) -> &str {
    out.split_once("Initialized Config:")
        .and_then(|(_, rest)| rest.split_once("\nClient ID:"))
        .map(|(json, _)| json.trim())
        .unwrap_or_else(|| panic!("no configuration in {out}"))
}

/// Standard base64 text decoded to UTF-8.
fn unbase64(text: &str) -> String {
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.trim())
        .unwrap_or_else(|e| panic!("not base64 ({e}): {text}"));
    String::from_utf8(bytes).expect("UTF-8")
}

/// One number from the store's raw tables (`{t}`: `keeper.` on PostgreSQL).
fn raw_number(k: &Keeper, sql: &str) -> i64 {
    if k.on_postgres() {
        let sql = sql.replace("{t}", "keeper.");
        return k
            .sql(&sql)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no number from {sql}"));
    }
    let conn = rusqlite::Connection::open_with_flags(
        k.data_dir().join("vault.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the vault file");
    conn.query_row(&sql.replace("{t}", ""), [], |r| r.get(0))
        .expect("query")
}

/// Runs one statement on the store's raw tables.
pub(crate) fn raw_execute(k: &Keeper, sql: &str) {
    if k.on_postgres() {
        k.sql_rows(&sql.replace("{t}", "keeper."));
        return;
    }
    let conn = rusqlite::Connection::open(k.data_dir().join("vault.db")).expect("open the vault");
    conn.execute(&sql.replace("{t}", ""), [])
        .expect("statement");
}

/// A vault with folder Infra (two records) and one record outside it,
/// shared (the folder) with application CI. Returns (db uid, api uid,
/// outside uid).
fn shared_app() -> (Keeper, String, String, String) {
    let k = vault();
    kp(&k, &["mkdir", "Infra"]).ok();
    let db = add(
        &k,
        &[
            "-t",
            "Prod DB",
            "--folder",
            "Infra",
            "login=app",
            "password=Db-pass-1!",
            "c.text.Region=eu-1",
        ],
    );
    let api = add(
        &k,
        &["-t", "API", "--folder", "Infra", "password=Api-pass-2!"],
    );
    let outside = add(&k, &["-t", "Outside", "password=Not-for-ci-3!"]);
    let out = app_sharing(&k, "Infra");
    assert!(out.contains("Shared 2 record(s)"), "{out}");
    (k, db, api, outside)
}

#[test]
fn a_device_reads_only_its_application_until_removed() {
    let (k, db, api, outside) = shared_app();
    let store = location(&k);
    let listed = kp(&k, &["secrets-manager", "app", "list", "--format", "json"]).json();
    assert_eq!(listed[0]["name"], "CI");
    assert_eq!(listed[0]["records"], 2);
    let (token, client) = token(&k, "CI", &[]);
    assert_eq!(
        raw_number(
            &k,
            "SELECT count(*) FROM {t}app_clients WHERE public_key IS NULL AND token_key IS NOT NULL"
        ),
        1,
        "issued, waiting for its token"
    );

    let dev = Machine::device();
    let out = dev.init(&store, &token, &[]).ok();
    assert!(out.contains("Added profile default"), "{out}");
    let ini = std::fs::read_to_string(dev.ini()).expect("keeper.ini in the working folder");
    assert_eq!(
        ini_keys(&ini),
        [
            "_default.active_profile",
            "default.check",
            "default.clientid",
            "default.privatekey",
            "default.store",
        ],
        "keeper.ini holds exactly these: {ini}"
    );
    assert!(!ini.contains(PW), "no master password in keeper.ini");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dev.ini())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        raw_number(
            &k,
            "SELECT count(*) FROM {t}app_clients WHERE public_key IS NOT NULL AND token_key IS NULL"
        ),
        1,
        "bound: the token's wrapped key is gone"
    );

    let list = dev.run(&["secret", "list", "--format", "json"]).json();
    let mut titles: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["title"].as_str())
        .collect();
    titles.sort_unstable();
    assert_eq!(titles, ["API", "Prod DB"]);
    assert_eq!(
        dev.run(&["secret", "get", &db, "--field", "password"])
            .ok()
            .trim(),
        "Db-pass-1!"
    );
    assert_eq!(
        dev.run(&["secret", "get", "API", "--field", "password"])
            .ok()
            .trim(),
        "Api-pass-2!"
    );
    let got = dev.run(&["secret", "get", "Prod DB", "--json"]).json();
    assert_eq!(got["uid"], db.as_str());
    assert!(got.to_string().contains("eu-1"), "{got}");
    let notation = format!("keeper://{db}/field/password");
    assert_eq!(
        dev.run(&["secret", "notation", &notation]).ok().trim(),
        "Db-pass-1!"
    );
    let region = format!("keeper://{db}/custom_field/Region");
    assert_eq!(
        dev.run(&["secret", "notation", &region]).ok().trim(),
        "eu-1"
    );
    let exec = dev
        .cmd(&[
            "exec",
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$DB_PW\" \"$PLAIN\"",
        ])
        .env("DB_PW", &notation)
        .env("PLAIN", "left alone")
        .output()
        .expect("exec");
    assert!(exec.status.success(), "{exec:?}");
    assert_eq!(
        String::from_utf8_lossy(&exec.stdout),
        "Db-pass-1!|left alone"
    );
    let status = dev
        .cmd(&["exec", "--", "sh", "-c", "exit 3"])
        .status()
        .expect("exec");
    assert_eq!(status.code(), Some(3), "exec exits as its command does");

    // A record outside the application is invisible, and none of its raw
    // key rows opens with the device's keys.
    let err = dev.run(&["secret", "get", &outside]).fails();
    assert!(err.contains("not found"), "{err}");
    let err = dev
        .run(&[
            "secret",
            "notation",
            &format!("keeper://{outside}/field/password"),
        ])
        .fails();
    assert!(err.contains("not found"), "{err}");
    let device = open_device(Some(&dev.ini()), None).expect("the device opens");
    assert!(device.holders_opening(&outside).expect("rows").is_empty());
    assert_eq!(
        device.holders_opening(&db).expect("rows"),
        [device.app_uid()]
    );
    drop(device);
    // alice's own view is unchanged: the app's row is one more holder.
    let v = Vault::open_at(&Location::parse(&store).expect("location"))
        .expect("open")
        .unlock(None, &SecretString::from(PW.to_string()))
        .expect("unlock");
    assert_eq!(
        holders_opening(&v, &api).expect("rows").len(),
        1,
        "alice's own row"
    );
    drop(v);

    // Unshare one record: gone for the device.
    kp(
        &k,
        &[
            "secrets-manager",
            "app",
            "unshare",
            "--app",
            "CI",
            "--secret",
            "API",
        ],
    )
    .ok();
    let err = dev.run(&["secret", "get", "API"]).fails();
    assert!(err.contains("not found"), "{err}");

    // Removed: refused, with a clear message.
    let clients = kp(
        &k,
        &["secrets-manager", "client", "list", "--format", "json"],
    )
    .json();
    assert_eq!(clients[0]["client_id"], client.as_str());
    assert!(clients[0]["bound"].is_i64(), "{clients}");
    kp(
        &k,
        &[
            "secrets-manager",
            "client",
            "remove",
            "--app",
            "CI",
            "--client",
            &client,
        ],
    )
    .ok();
    let err = dev.run(&["secret", "list"]).fails();
    assert!(err.contains("was removed"), "{err}");
    let err = dev
        .run(&["secret", "get", &db, "--field", "password"])
        .fails();
    assert!(
        err.contains("was removed") && !err.contains("Db-pass"),
        "{err}"
    );
}

#[test]
fn used_expired_and_foreign_tokens_change_nothing() {
    let (k, _, _, _) = shared_app();
    let store = location(&k);
    let (first, _) = token(&k, "CI", &[]);
    let dev = Machine::device();
    // KEEPER_CLI_TOKEN instead of --token, into a named profile and file.
    let out = Run(dev
        .cmd(&[
            "--store",
            &store,
            "profile",
            "init",
            "--ini-file",
            "custom.ini",
            "-p",
            "ci",
        ])
        .env("KEEPER_CLI_TOKEN", &first)
        .output()
        .expect("init"))
    .ok();
    assert!(out.contains("Added profile ci"), "{out}");
    let bound = |k: &Keeper| {
        raw_number(
            k,
            "SELECT count(*) FROM {t}app_clients WHERE public_key IS NOT NULL",
        )
    };
    assert_eq!(bound(&k), 1);

    // Used twice: refused; the second device gets no file.
    let other = Machine::device();
    let err = other.init(&store, &first, &[]).fails();
    assert!(err.contains("already used"), "{err}");
    assert!(!other.ini().exists());
    assert_eq!(bound(&k), 1);
    assert!(
        dev.run(&["secret", "list", "--ini-file", "custom.ini"])
            .ok()
            .contains("Prod DB"),
        "the first device still reads"
    );

    // Expired: the deadline moved back in the raw row (a stand-in for
    // waiting an hour); refused before anything is opened or written.
    let (late, late_id) = token(&k, "CI", &["--first-access-expires-in-min", "5"]);
    raw_execute(
        &k,
        &format!("UPDATE {{t}}app_clients SET token_expires = 1 WHERE uid = '{late_id}'"),
    );
    let err = other.init(&store, &late, &[]).fails();
    assert!(err.contains("expired"), "{err}");
    assert!(!other.ini().exists());
    assert_eq!(
        raw_number(
            &k,
            &format!(
                "SELECT count(*) FROM {{t}}app_clients WHERE uid = '{late_id}' AND token_key IS NOT NULL AND public_key IS NULL"
            )
        ),
        1,
        "nothing changed"
    );

    // Not a token, an unknown token, no token.
    let err = other.init(&store, "not-a-token", &[]).fails();
    assert!(err.contains("not a one-time token"), "{err}");
    let unknown = "A".repeat(43);
    let err = other.init(&store, &unknown, &[]).fails();
    assert!(err.contains("not known to the vault"), "{err}");
    let err = other.run(&["--store", &store, "profile", "init"]).fails();
    assert!(err.contains("KEEPER_CLI_TOKEN"), "{err}");
    assert!(!other.ini().exists());
    assert_eq!(bound(&k), 1);

    // A device whose access ended is refused; clearing the end in the
    // store does not revive it (the end is in the sealed key's AD).
    let (limited, limited_id) = token(&k, "CI", &["--access-expire-in-min", "30"]);
    other.init(&store, &limited, &[]).ok();
    assert!(other.run(&["secret", "list"]).ok().contains("Prod DB"));
    raw_execute(
        &k,
        &format!("UPDATE {{t}}app_clients SET access_expires = 1 WHERE uid = '{limited_id}'"),
    );
    let err = other.run(&["secret", "list"]).fails();
    assert!(err.contains("access ended"), "{err}");
    raw_execute(
        &k,
        &format!("UPDATE {{t}}app_clients SET access_expires = NULL WHERE uid = '{limited_id}'"),
    );
    let err = other.run(&["secret", "list"]).fails();
    assert!(
        err.contains("tampered") || err.contains("does not open"),
        "{err}"
    );
}

/// A vault path INI could break (`=`, `;`, `#`, a newline, quotes)
/// survives keeper.ini, `profile export --file-format ini` and
/// `profile import` through the binary. SQLite only: a PostgreSQL URL
/// cannot hold these (the INI code is the same for both stores).
#[test]
fn an_awkward_vault_path_survives_ini_export_and_import() {
    let (k, db, _, _) = shared_app();
    if k.on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    // (Not surrounding spaces: `--store` is trimmed before keeper.ini
    // sees it; the unit tests cover those.)
    let awkward = dir.path().join("a=b;c #d\ne \"q\"");
    #[cfg(unix)]
    std::os::unix::fs::symlink(k.data_dir().join("vault.db"), &awkward).expect("link");
    let awkward = awkward.to_str().expect("UTF-8").to_string();
    let (t, _) = token(&k, "CI", &[]);
    let dev = Machine::device();
    dev.init(&awkward, &t, &[]).ok();
    let read = |d: &Machine, ini: &str| {
        d.run(&[
            "secret",
            "get",
            &db,
            "--field",
            "password",
            "--ini-file",
            ini,
        ])
        .ok()
        .trim()
        .to_string()
    };
    let ini = dev.ini().to_str().expect("UTF-8").to_string();
    assert_eq!(read(&dev, &ini), "Db-pass-1!", "keeper.ini keeps the path");
    for plain in [true, false] {
        let mut args = vec!["profile", "export", "--file-format", "ini"];
        if plain {
            args.push("--plain");
        }
        let text = dev.run(&args).ok();
        let other = Machine::device();
        other
            .run(&[
                "profile",
                "import",
                "--output-file",
                "x.ini",
                text.trim_end_matches('\n'),
            ])
            .ok();
        let json = other
            .run(&["profile", "export", "--plain", "--ini-file", "x.ini"])
            .json();
        assert_eq!(json["store"], awkward.as_str(), "plain {plain}: {text}");
        assert_eq!(read(&other, "x.ini"), "Db-pass-1!", "plain {plain}");
    }
}

#[test]
fn profiles_round_trip_and_refuse_tampering() {
    let (k, db, _, _) = shared_app();
    let store = location(&k);
    let dev = Machine::device();
    let (t1, _) = token(&k, "CI", &[]);
    let (t2, _) = token(&k, "CI", &[]);
    dev.init(&store, &t1, &["-p", "prod"]).ok();
    dev.init(&store, &t2, &["-p", "staging"]).ok();
    let list = dev.run(&["profile", "list"]).ok();
    let active: Vec<&str> = list.lines().filter(|l| l.contains('*')).collect();
    assert!(active.len() == 1 && active[0].contains("staging"), "{list}");
    let out = dev.run(&["profile", "active", "prod"]).ok();
    assert!(out.contains("prod is now the active profile"), "{out}");
    let list = dev.run(&["profile", "list", "--format", "json"]).json();
    assert_eq!(list[0]["profile"], "prod");
    assert_eq!(list[0]["active"], true);
    assert_eq!(list[1]["active"], false);

    // Export (base64) → import elsewhere, under KEEPER_INI_DIR.
    let exported = dev.run(&["profile", "export", "prod"]).ok();
    let decoded = unbase64(&exported);
    assert_eq!(json_keys(&decoded), PROFILE_JSON_KEYS, "{decoded}");
    assert!(!decoded.contains(PW), "no master password: {decoded}");
    let plain = dev.run(&["profile", "export", "--plain"]).ok();
    assert_eq!(json_keys(&plain), PROFILE_JSON_KEYS, "{plain}");
    assert!(!plain.contains(PW), "no master password: {plain}");
    assert!(!exported.contains(PW), "no master password: {exported}");
    let elsewhere = Machine::device();
    let conf_dir = elsewhere.home().join("conf");
    let import = Run(elsewhere
        .cmd(&["profile", "import", exported.trim()])
        .env("KEEPER_INI_DIR", &conf_dir)
        .output()
        .expect("import"))
    .ok();
    assert!(import.contains("Imported profile default"), "{import}");
    let read = elsewhere
        .cmd(&["secret", "get", &db, "--field", "password"])
        .env("KEEPER_INI_DIR", &conf_dir)
        .output()
        .expect("get");
    assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "Db-pass-1!");
    // INI format, plain, into a named file.
    let ini_text = dev
        .run(&[
            "profile",
            "export",
            "--plain",
            "--file-format",
            "ini",
            "staging",
        ])
        .ok();
    assert!(ini_text.starts_with("[staging]"), "{ini_text}");
    assert_eq!(
        ini_keys(&ini_text),
        [
            "staging.check",
            "staging.clientid",
            "staging.privatekey",
            "staging.store",
        ],
        "{ini_text}"
    );
    assert!(!ini_text.contains(PW), "no master password: {ini_text}");
    elsewhere
        .run(&[
            "profile",
            "import",
            "--output-file",
            "second.ini",
            &ini_text,
        ])
        .ok();
    let second = elsewhere.home().join("second.ini");
    let listed = elsewhere
        .run(&[
            "profile",
            "list",
            "--ini-file",
            second.to_str().expect("utf-8"),
        ])
        .ok();
    assert!(listed.contains("staging"), "{listed}");

    // A tampered export: refused, keeper.ini untouched.
    let before = std::fs::read(dev.ini()).expect("ini");
    let forged = decoded.replace(&store, "/tmp/elsewhere.db");
    assert_ne!(forged, decoded);
    let forged64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &forged);
    for bad in [forged.as_str(), forged64.as_str()] {
        let err = dev.run(&["profile", "import", "-p", "forged", bad]).fails();
        assert!(err.contains("tampered"), "{err}");
    }
    let err = dev.run(&["profile", "import", "-p", "junk", "%%%"]).fails();
    assert!(err.contains("neither JSON"), "{err}");
    assert_eq!(
        std::fs::read(dev.ini()).expect("ini"),
        before,
        "nothing changed"
    );

    // A hand-edited keeper.ini (another client id) is refused too.
    let text = String::from_utf8(before.clone()).expect("utf-8");
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with("clientid") {
                format!("{l}x\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(edited.trim(), text.trim());
    std::fs::write(dev.ini(), &edited).expect("edit");
    let err = dev.run(&["secret", "list"]).fails();
    assert!(err.contains("tampered"), "{err}");

    // A malformed keeper.ini: a clear error; nothing written, and a token
    // given to `profile init` meanwhile is not spent.
    let malformed = "[prod\nstore = x\n";
    std::fs::write(dev.ini(), malformed).expect("break");
    let err = dev.run(&["secret", "list"]).fails();
    assert!(err.contains("keeper.ini") && err.contains("line"), "{err}");
    let (t3, _) = token(&k, "CI", &[]);
    let err = dev.init(&store, &t3, &["-p", "third"]).fails();
    assert!(err.contains("keeper.ini"), "{err}");
    assert_eq!(std::fs::read_to_string(dev.ini()).expect("ini"), malformed);
    let fresh = Machine::device();
    fresh.init(&store, &t3, &[]).ok();
    std::fs::write(dev.ini(), "[_default]\nactive_profile = gone\n").expect("write");
    let err = dev.run(&["profile", "list"]).fails();
    assert!(err.contains("not in the file"), "{err}");
}

#[test]
fn config_init_binds_at_once() {
    let (k, db, _, _) = shared_app();
    let out = config_init(&k, "CI", "b64");
    let config = value_after(&out, "Initialized Config:");
    assert!(!out.contains("One-Time Access Token"), "{out}");
    let dev = Machine::device();
    dev.run(&["profile", "import", &config]).ok();
    assert_eq!(
        dev.run(&["secret", "get", &db, "--field", "login"])
            .ok()
            .trim(),
        "app"
    );
    let k8s = config_init(&k, "CI", "k8s");
    assert!(
        k8s.contains("kind: Secret") && k8s.contains("  config: "),
        "{k8s}"
    );
    // Each form holds exactly a profile's keys (nothing of the admin's).
    let json = config_init(&k, "CI", "json");
    for (form, text) in [
        ("b64", unbase64(&config)),
        ("k8s", unbase64(&value_after(&k8s, "  config:"))),
        ("json", config_json(&json).to_string()),
    ] {
        assert_eq!(json_keys(&text), PROFILE_JSON_KEYS, "{form}: {text}");
        assert!(!text.contains(PW), "{form}: no master password: {text}");
    }
    if let Some(url) = k.store_url() {
        // The admin connects with a database password (the test server
        // trusts loopback, so any password is accepted): the device's
        // configuration names the vault without it.
        const DB_PW: &str = "Admin-DB-pw-77";
        let with_pw = url.replacen('@', &format!(":{DB_PW}@"), 1);
        let out = kp(
            &k,
            &[
                "--store",
                &with_pw,
                "secrets-manager",
                "client",
                "add",
                "--app",
                "CI",
                "--config-init",
                "json",
            ],
        )
        .ok();
        assert!(
            !out.contains(DB_PW),
            "the admin's database password reached the device: {out}"
        );
        let config = config_json(&out);
        assert!(
            config.contains(&format!("\"{url}\"")),
            "the device is told the vault's URL: {config}"
        );
        let dev = Machine::device();
        dev.run(&["profile", "import", config]).ok();
        assert_eq!(
            dev.run(&["secret", "get", &db, "--field", "login"])
                .ok()
                .trim(),
            "app"
        );
    }
    // Only the application's owner manages it.
    let err = kp(&k, &["secrets-manager", "client", "add", "--app", "nope"]).fails();
    assert!(err.contains("application not found"), "{err}");
    let err = kp(&k, &["secrets-manager", "app", "create", "CI"]).fails();
    assert!(err.contains("already exists"), "{err}");
}

/// A user who holds a record read-only and until a time shares it with
/// their application: the application's key row is read-only (even with
/// `--editable`) and ends when theirs does.
#[test]
fn an_application_gets_no_more_than_its_sharer_holds() {
    let k = vault();
    crate::vault::add_user(&k, "bob@example.com", "bob-pw");
    let alice = |args: &[&str]| crate::vault::run_as(&k, Some("alice@example.com"), PW, args);
    let rec = alice(&["add", "-t", "Limited", "password=Lim-pass-4!"])
        .ok()
        .trim()
        .to_string();
    alice(&[
        "share-record",
        "-e",
        "bob@example.com",
        "-s",
        "--expire-in",
        "1h",
        &rec,
    ])
    .ok();
    let bob = |args: &[&str]| crate::vault::run_as(&k, Some("bob@example.com"), "bob-pw", args);
    bob(&["secrets-manager", "app", "create", "BobApp"]).ok();
    bob(&[
        "secrets-manager",
        "app",
        "share",
        "--app",
        "BobApp",
        "--secret",
        &rec,
        "--editable",
    ])
    .ok();
    let app_row = format!(
        "FROM {{t}}record_keys WHERE record_uid = '{rec}' AND holder_uid = \
         (SELECT uid FROM {{t}}apps WHERE name = 'BobApp')"
    );
    assert_eq!(raw_number(&k, &format!("SELECT count(*) {app_row}")), 1);
    assert_eq!(
        raw_number(
            &k,
            &format!("SELECT count(*) {app_row} AND can_edit = false")
        ),
        1,
        "--editable does not give the application more than bob's read-only share"
    );
    let bob_end = raw_number(
        &k,
        &format!(
            "SELECT expires FROM {{t}}record_keys WHERE record_uid = '{rec}' AND holder_uid = \
             (SELECT uid FROM {{t}}users WHERE email = 'bob@example.com')"
        ),
    );
    assert_eq!(
        raw_number(&k, &format!("SELECT expires {app_row}")),
        bob_end,
        "the application's share ends when bob's does"
    );
    // A device of bob's application still opens it (the end is in the AD).
    let out = bob(&["secrets-manager", "client", "add", "--app", "BobApp"]).ok();
    let token = value_after(&out, "One-Time Access Token:");
    let dev = Machine::device();
    dev.init(&location(&k), &token, &[]).ok();
    assert!(
        dev.run(&["secret", "get", &rec, "--field", "password"])
            .ok()
            .contains("Lim-pass-4!")
    );
}
