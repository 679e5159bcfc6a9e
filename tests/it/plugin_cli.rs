//! `keeper plugin ...` through the binary: listing the built-in plugins,
//! packaging, installing (with grants), refusing bad packages, removing.

use crate::plugins;
use crate::support::Keeper;

/// What a fresh install lists: the engine's `noop`, then the embedded components.
const BUILTIN: [&str; 14] = [
    "noop",
    "mysql",
    "ssh",
    "sshkey",
    "pspasswd",
    "postgresql",
    "unixpasswd",
    "windows",
    "ldap",
    "awspswd",
    "awskey",
    "azureadpwd",
    "lastpass",
    "csv",
];

#[test]
fn a_fresh_install_lists_the_first_party_plugins() {
    let keeper = Keeper::new();
    let list = keeper.run(&["plugin", "list", "--format", "json"]).json();
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, BUILTIN);
    for p in list.as_array().expect("array") {
        assert_eq!(p["source"], "builtin");
    }
    for p in &list.as_array().expect("array")[1..] {
        // awskey hands back the key AWS generates: contract 1.1.
        let api = if p["name"] == "awskey" {
            "1.1.0"
        } else {
            "1.0.0"
        };
        assert_eq!(p["api_version"], api, "{p}");
    }
    let noop = &list[0];
    assert_eq!(noop["kind"], "rotator");
    assert!(
        noop["description"]
            .as_str()
            .is_some_and(|d| d.contains("vault only"))
    );
    assert_eq!(
        noop["capabilities"], list[13]["capabilities"],
        "none, like the csv importer"
    );
    let mysql = &list[1];
    assert_eq!(mysql["kind"], "rotator");
    assert_eq!(mysql["capabilities"]["tcp"], true);
    assert_eq!(list[5]["capabilities"]["tcp"], true, "postgresql");
    assert_eq!(
        list[6]["capabilities"]["process"],
        serde_json::json!(["passwd", "chpasswd", "unix_chkpwd"]),
        "unixpasswd"
    );
    assert_eq!(
        list[7]["capabilities"]["process"],
        serde_json::json!(["net"]),
        "windows"
    );
    assert_eq!(list[8]["capabilities"]["tcp"], true, "ldap");
    assert_eq!(
        list[9]["capabilities"]["http"][0], "https://iam.amazonaws.com",
        "awspswd"
    );
    assert_eq!(
        list[10]["capabilities"]["http"][0], "https://iam.amazonaws.com",
        "awskey"
    );
    assert_eq!(
        list[11]["capabilities"]["http"][1], "https://graph.microsoft.com",
        "azureadpwd"
    );
    assert_eq!(list[12]["capabilities"]["http"][0], "https://lastpass.com");
    let table = keeper.run(&["plugin", "list"]).ok();
    for name in BUILTIN {
        assert!(table.contains(name), "{table}");
    }
    assert!(table.contains("built-in"), "{table}");
}

#[test]
fn info_describes_a_builtin_plugin() {
    let keeper = Keeper::new();
    let info = keeper
        .run(&["plugin", "info", "mysql", "--format", "json"])
        .json();
    assert_eq!(info["name"], "mysql");
    assert_eq!(info["default_port"], 3306);
    assert_eq!(info["memory_mib"].as_u64().map(|m| m > 0), Some(true));
    let text = keeper.run(&["plugin", "info", "csv"]).ok();
    assert!(text.contains("importer"), "{text}");
    let noop = keeper
        .run(&["plugin", "info", "noop", "--format", "json"])
        .json();
    assert_eq!(noop["name"], "noop");
    assert!(
        keeper
            .run(&["plugin", "info", "noop"])
            .ok()
            .contains("vault only")
    );
    let pg = keeper
        .run(&["plugin", "info", "postgresql", "--format", "json"])
        .json();
    assert_eq!(pg["default_port"], 5432);
    let err = keeper.run(&["plugin", "info", "nope"]).fails();
    assert!(err.contains("no plugin named \"nope\""), "{err}");
}

#[test]
fn package_install_list_info_remove_an_example_plugin() {
    let keeper = Keeper::new();
    let pkg = tempfile::tempdir().expect("dir");
    let example = plugins::minimal_rotator();
    let out = keeper
        .run(&[
            "plugin",
            "package",
            "--wasm",
            example.wasm.to_str().expect("utf8"),
            "--manifest",
            example.dir.join("plugin.toml").to_str().expect("utf8"),
            "--out",
            pkg.path().to_str().expect("utf8"),
        ])
        .ok();
    assert!(out.contains("Packaged minimal-rotator"), "{out}");
    let out = keeper
        .run(&["plugin", "install", pkg.path().to_str().expect("utf8")])
        .ok();
    assert!(out.contains("requests no capabilities"), "{out}");
    assert!(
        keeper
            .data_dir()
            .join("plugins/minimal-rotator/grant.toml")
            .is_file()
    );

    let list = keeper.run(&["plugin", "list", "--format", "json"]).json();
    let entry = list
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == "minimal-rotator")
        .expect("listed");
    assert_eq!(entry["source"], "installed");
    let info = keeper
        .run(&["plugin", "info", "minimal-rotator", "--format", "json"])
        .json();
    assert_eq!(info["kind"], "rotator");

    let again = keeper
        .run(&["plugin", "install", pkg.path().to_str().expect("utf8")])
        .fails();
    assert!(again.contains("already installed"), "{again}");
    keeper
        .run(&[
            "plugin",
            "install",
            "--force",
            pkg.path().to_str().expect("utf8"),
        ])
        .ok();

    keeper.run(&["plugin", "remove", "minimal-rotator"]).ok();
    let list = keeper.run(&["plugin", "list", "--format", "json"]).json();
    assert!(
        list.as_array()
            .expect("array")
            .iter()
            .all(|p| p["name"] != "minimal-rotator")
    );
    let err = keeper.run(&["plugin", "remove", "mysql"]).fails();
    assert!(err.contains("built into keeper"), "{err}");
}

#[test]
fn capabilities_need_a_grant() {
    let keeper = Keeper::new();
    let pkg = tempfile::tempdir().expect("dir");
    plugins::hostile_rotator().package_into(pkg.path());
    let path = pkg.path().to_str().expect("utf8");
    // No terminal and no --grant: nothing is installed.
    let run = keeper.run(&["plugin", "install", path]);
    let err = run.fails();
    assert!(
        run.stdout().contains("tcp: connect to the target"),
        "{}",
        run.stdout()
    );
    assert!(err.contains("not granted"), "{err}");
    assert!(!keeper.data_dir().join("plugins/hostile-rotator").exists());
    // With --grant the grant is recorded.
    keeper.run(&["plugin", "install", "--grant", path]).ok();
    let grant =
        std::fs::read_to_string(keeper.data_dir().join("plugins/hostile-rotator/grant.toml"))
            .expect("grant");
    assert!(grant.contains("tcp = true"), "{grant}");
    let info = keeper
        .run(&["plugin", "info", "hostile-rotator", "--format", "json"])
        .json();
    assert_eq!(info["granted"]["tcp"], true);
}

#[test]
fn bad_packages_are_refused_with_a_clear_error() {
    let keeper = Keeper::new();

    let tampered = tempfile::tempdir().expect("dir");
    plugins::minimal_rotator().package_into(tampered.path());
    let toml = tampered.path().join("plugin.toml");
    let text = std::fs::read_to_string(&toml).expect("read");
    let forged = text.lines().map(|l| {
        if l.starts_with("sha256") {
            format!("sha256 = \"{}\"", "0".repeat(64))
        } else {
            l.to_string()
        }
    });
    std::fs::write(&toml, forged.collect::<Vec<_>>().join("\n")).expect("write");
    let err = keeper
        .run(&[
            "plugin",
            "install",
            "--grant",
            tampered.path().to_str().expect("utf8"),
        ])
        .fails();
    assert!(err.contains("does not match the manifest"), "{err}");

    let future = tempfile::tempdir().expect("dir");
    plugins::future_api().package_into(future.path());
    let err = keeper
        .run(&[
            "plugin",
            "install",
            "--grant",
            future.path().to_str().expect("utf8"),
        ])
        .fails();
    assert!(err.contains("needs plugin API 2.0.0"), "{err}");

    let sneaky = tempfile::tempdir().expect("dir");
    plugins::hostile_importer().package_into(sneaky.path());
    let err = keeper
        .run(&[
            "plugin",
            "install",
            "--grant",
            sneaky.path().to_str().expect("utf8"),
        ])
        .fails();
    assert!(
        err.contains("imports `wasi:sockets/") && err.contains("`tcp` capability"),
        "{err}"
    );

    let garbage = tempfile::tempdir().expect("dir");
    plugins::minimal_rotator().package_into(garbage.path());
    std::fs::write(garbage.path().join("plugin.toml"), "name = [").expect("write");
    let err = keeper
        .run(&["plugin", "install", garbage.path().to_str().expect("utf8")])
        .fails();
    assert!(err.contains("invalid plugin manifest"), "{err}");

    let list = keeper.run(&["plugin", "list", "--format", "json"]).json();
    assert_eq!(
        list.as_array().expect("array").len(),
        BUILTIN.len(),
        "nothing was installed"
    );
}

#[test]
fn a_dropped_in_plugin_is_listed_but_granted_nothing() {
    let keeper = Keeper::new();
    let dir = keeper.data_dir().join("plugins/bitwarden");
    plugins::bitwarden_importer().package_into(&dir);
    let list = keeper.run(&["plugin", "list", "--format", "json"]).json();
    let entry = list
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == "bitwarden")
        .expect("listed");
    assert_eq!(entry["source"], "dropped-in");
    assert_eq!(entry["kind"], "importer");
    // A broken folder is reported, not fatal.
    std::fs::create_dir_all(keeper.data_dir().join("plugins/broken")).expect("mkdir");
    let run = keeper.run(&["plugin", "list"]);
    run.ok();
    assert!(run.stderr().contains("ignoring"), "{}", run.stderr());
}
