//! Native (unsandboxed) plugins through the binary: `examples/native-rotator`
//! built as a shared library by `tests/build.rs` (as shipped, with another
//! ABI version, without the version symbol). Refused without
//! `--i-understand-unsandboxed` and while the configuration's
//! `native_plugins` is off (at install and at load); once installed, marked
//! "native, unsandboxed" in `plugin list`, `plugin info`, `rotate --dry-run`,
//! reports and audit entries; it rotates a password kept in a file; its
//! answers are still checked (escaped); a wrong ABI is refused.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::Keeper;
use crate::vault::{add, kp, vault, vault_password};

const LIBRARY: &str = env!("KEEPER_TEST_NATIVE_DEFAULT");
const WRONG_ABI: &str = env!("KEEPER_TEST_NATIVE_WRONG_ABI");
const NO_ABI_VERSION: &str = env!("KEEPER_TEST_NATIVE_NO_ABI_VERSION");

/// A folder to install from: the example's plugin.toml and `library`
/// under the name the manifest gives.
fn package(library: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/native-rotator");
    std::fs::copy(example.join("plugin.toml"), dir.path().join("plugin.toml")).expect("copy");
    std::fs::copy(library, dir.path().join("libnative_rotator.so")).expect("copy");
    dir
}

/// Sets the configuration's `native_plugins`, keeping its other keys.
fn allow_native(k: &Keeper, allowed: bool) {
    let path = k.data_dir().join("config.json");
    let mut config: serde_json::Map<String, Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    config.insert("native_plugins".into(), Value::Bool(allowed));
    std::fs::write(&path, Value::Object(config).to_string()).expect("write config");
}

fn install(k: &Keeper, dir: &Path, flags: &[&str]) -> crate::support::Run {
    let mut args = vec!["plugin", "install"];
    args.extend_from_slice(flags);
    args.push(dir.to_str().expect("utf8"));
    kp(k, &args)
}

fn installed(k: &Keeper) -> PathBuf {
    k.data_dir().join("plugins").join("native-file")
}

/// A record whose password lives in `<files>/<login>`.
fn account(k: &Keeper, files: &Path, login: &str, password: &str) -> String {
    std::fs::write(files.join(login), format!("{password}\n")).expect("write account");
    add(
        k,
        &[
            "-t",
            &format!("Native {login}"),
            &format!("login={login}"),
            &format!("password={password}"),
            "c.text.cmdr:plugin=native-file",
            &format!("c.text.cmdr:dir={}", files.display()),
        ],
    )
}

/// `rotate` of `uid` as JSON, whatever its exit code.
fn rotate(k: &Keeper, uid: &str) -> Value {
    let run = kp(k, &["rotate", uid, "--format", "json"]);
    serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", run.stdout(), run.stderr()))
}

/// Asserts that the report's only record failed with `expected` in its message.
#[track_caller]
fn assert_failed(report: &Value, expected: &str) {
    assert_eq!(report[0]["outcome"], "failed", "{report}");
    let message = report[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(expected), "{report}");
}

fn file_password(files: &Path, login: &str) -> String {
    std::fs::read_to_string(files.join(login))
        .expect("read account")
        .trim_end()
        .to_string()
}

#[test]
fn installing_a_native_plugin_needs_the_setting_and_both_flags() {
    let k = vault();
    let dir = package(LIBRARY);

    // Off by default (no configuration says otherwise): refused, naming
    // the setting, even with both flags.
    let refused = install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).fails();
    assert!(refused.contains("\"native_plugins\": true"), "{refused}");
    assert!(!installed(&k).exists(), "nothing installed");

    allow_native(&k, true);
    // Without --i-understand-unsandboxed.
    let refused = install(&k, dir.path(), &["--native"]).fails();
    assert!(refused.contains("--i-understand-unsandboxed"), "{refused}");
    assert!(refused.contains("UNSANDBOXED"), "{refused}");
    // Without --native: a native folder is not installed as a component.
    let refused = install(&k, dir.path(), &["--grant"]).fails();
    assert!(refused.contains("--native"), "{refused}");
    // --i-understand-unsandboxed alone is not a way in either.
    let refused = install(&k, dir.path(), &["--i-understand-unsandboxed"]).fails();
    assert!(refused.contains("--native"), "{refused}");
    assert!(!installed(&k).exists(), "nothing installed");
    let list = kp(&k, &["plugin", "list", "--format", "json"]).json();
    assert!(
        !list.to_string().contains("native-file"),
        "not listed: {list}"
    );
    // A component is not installed with --native.
    let wasm = tempfile::tempdir().expect("dir");
    crate::plugins::minimal_rotator().package_into(wasm.path());
    let refused = install(&k, wasm.path(), &["--native", "--i-understand-unsandboxed"]).fails();
    assert!(refused.contains("not a native plugin"), "{refused}");
}

#[test]
fn a_native_rotator_is_marked_unsandboxed_everywhere_and_rotates() {
    let k = vault();
    allow_native(&k, true);
    let dir = package(LIBRARY);
    let out = install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).ok();
    assert!(out.contains("native, unsandboxed"), "{out}");
    let grant = std::fs::read_to_string(installed(&k).join("grant.toml")).expect("grant");
    assert!(grant.contains("unsandboxed = true"), "{grant}");

    // plugin list: JSON and table.
    let list = kp(&k, &["plugin", "list", "--format", "json"]).json();
    let row = list
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == "native-file")
        .cloned()
        .expect("listed");
    assert_eq!(row["native"], true, "{row}");
    assert!(
        list.as_array()
            .expect("array")
            .iter()
            .filter(|p| p["name"] != "native-file")
            .all(|p| p.get("native").is_none()),
        "only the native plugin is marked: {list}"
    );
    let table = kp(&k, &["plugin", "list"]).ok();
    let line = table
        .lines()
        .find(|l| l.contains("native-file"))
        .expect("a row");
    assert!(line.contains("native, unsandboxed"), "{table}");
    // plugin info.
    let info = kp(&k, &["plugin", "info", "native-file"]).ok();
    assert!(info.contains("native, unsandboxed"), "{info}");
    assert!(info.contains("<cmdr:dir>/<login>"), "described: {info}");

    // rotate --dry-run, then the rotation.
    let files = tempfile::tempdir().expect("dir");
    let uid = account(&k, files.path(), "alice", "Before-native-1");
    let plan = kp(&k, &["rotate", &uid, "--dry-run", "--format", "json"]).json();
    assert_eq!(
        plan[0]["plugin"], "native-file (native, unsandboxed)",
        "{plan}"
    );
    assert_eq!(plan[0]["status"], "ready", "{plan}");
    assert_eq!(file_password(files.path(), "alice"), "Before-native-1");

    let report = kp(&k, &["rotate", &uid, "--format", "json"]).json();
    assert_eq!(report[0]["outcome"], "rotated", "{report}");
    assert_eq!(report[0]["native"], true, "{report}");
    let new = vault_password(&k, &uid);
    assert_ne!(new, "Before-native-1");
    assert_eq!(
        file_password(files.path(), "alice"),
        new,
        "the target has the vault's new password"
    );
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]).json();
    assert_eq!(audit[0]["outcome"], "rotated", "{audit}");
    assert_eq!(
        audit[0]["plugin"], "native-file (native, unsandboxed)",
        "{audit}"
    );
    assert!(!audit.to_string().contains(&new), "no secret in the audit");

    // A wrong current password: the plugin's own error, nothing changed.
    let bob = account(&k, files.path(), "bob", "Before-native-2");
    std::fs::write(files.path().join("bob"), "Someone-else-set-this\n").expect("write");
    assert_failed(&rotate(&k, &bob), "does not match");
    assert_eq!(vault_password(&k, &bob), "Before-native-2");
    assert_eq!(file_password(files.path(), "bob"), "Someone-else-set-this");

    // Its text is escaped like a sandboxed plugin's: a login with a
    // terminal escape comes back in the error as text.
    let evil = add(
        &k,
        &[
            "-t",
            "Native escape",
            "login=../\u{1b}[2Jx",
            "password=Before-native-3",
            "c.text.cmdr:plugin=native-file",
            &format!("c.text.cmdr:dir={}", files.path().display()),
        ],
    );
    let run = kp(&k, &["rotate", &evil]);
    let text = format!("{}{}", run.stdout(), run.stderr());
    assert!(text.contains("not a plain file name"), "{text}");
    assert!(!text.contains('\u{1b}'), "no raw escape: {text:?}");
    assert!(text.contains("\\u{1b}[2J"), "shown escaped: {text}");

    // Turned off again: loading is refused too, naming the setting, and
    // the file and the vault keep their password.
    allow_native(&k, false);
    let before = file_password(files.path(), "alice");
    assert_failed(&rotate(&k, &uid), "\"native_plugins\": true");
    assert_eq!(file_password(files.path(), "alice"), before);
    assert_eq!(vault_password(&k, &uid), before);
    let refused = kp(&k, &["plugin", "info", "native-file"]).fails();
    assert!(refused.contains("native_plugins"), "{refused}");
    let table = kp(&k, &["plugin", "list"]).ok();
    assert!(table.contains("off:"), "listed as off: {table}");
}

#[test]
fn a_native_library_of_another_abi_is_refused() {
    let k = vault();
    allow_native(&k, true);
    for (library, expected) in [
        (WRONG_ABI, "ABI version 999, keeper speaks version 1"),
        (
            NO_ABI_VERSION,
            "does not export `keeper_native_abi_version`",
        ),
    ] {
        let dir = package(library);
        let refused = install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).fails();
        assert!(refused.contains(expected), "{refused}");
        assert!(!installed(&k).exists(), "nothing installed");
    }

    // Installed, then its library replaced by one of another ABI with a
    // matching grant (as a re-install by hand would): refused at load.
    let dir = package(LIBRARY);
    install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).ok();
    let library = installed(&k).join("libnative_rotator.so");
    std::fs::copy(WRONG_ABI, &library).expect("replace");
    let bytes = std::fs::read(&library).expect("read");
    let hash = keeper::testing::runtime::registry::sha256_hex(&bytes);
    for file in ["plugin.toml", "grant.toml"] {
        let path = installed(&k).join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("sha256") {
                    format!("sha256 = \"{hash}\"")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&path, text).expect("write");
    }
    let files = tempfile::tempdir().expect("dir");
    let uid = account(&k, files.path(), "carol", "Before-native-4");
    assert_failed(&rotate(&k, &uid), "ABI version 999");
    assert_eq!(file_password(files.path(), "carol"), "Before-native-4");
    assert_eq!(vault_password(&k, &uid), "Before-native-4");
}
