//! Native (unsandboxed) plugins through the binary: `examples/native-rotator`
//! built as a shared library by `tests/build.rs` (as shipped, with another
//! ABI version, without the version symbol, with a rotate that never
//! answers). Refused without
//! `--i-understand-unsandboxed` and while the configuration's
//! `native_plugins` is off (at install and at load); once installed, marked
//! "native, unsandboxed" in `plugin list`, `plugin info`, `rotate --dry-run`,
//! reports and audit entries; it rotates a password kept in a file; its
//! answers are still checked (escaped); a wrong ABI is refused, and so
//! is a library swapped after install or one dropped in without a grant;
//! a call that never answers is abandoned without a revert, left pending,
//! and keeper exits; a library with a `DT_RUNPATH` is refused at install
//! and at load; one whose initialiser hangs, killed, has written nothing;
//! `plugin info` lists the libraries it needs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Keeper;
use crate::vault::{add, kp, kp_command, unlocked, vault, vault_password};

const LIBRARY: &str = env!("KEEPER_TEST_NATIVE_DEFAULT");
const WRONG_ABI: &str = env!("KEEPER_TEST_NATIVE_WRONG_ABI");
const NO_ABI_VERSION: &str = env!("KEEPER_TEST_NATIVE_NO_ABI_VERSION");
const HANG: &str = env!("KEEPER_TEST_NATIVE_HANG");
const MISBEHAVE: &str = env!("KEEPER_TEST_NATIVE_MISBEHAVE");

/// A folder to install from: the example's plugin.toml and `library`
/// under the name the manifest gives.
fn package(library: &str) -> tempfile::TempDir {
    package_of("native-rotator", library)
}

/// A folder to install from: `examples/<example>`'s plugin.toml and
/// `library`, under the name it gives (lib<example>.so).
pub(crate) fn package_of(example: &str, library: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(example);
    std::fs::copy(folder.join("plugin.toml"), dir.path().join("plugin.toml")).expect("copy");
    let file = format!("lib{}.so", example.replace('-', "_"));
    std::fs::copy(library, dir.path().join(file)).expect("copy");
    dir
}

/// [`package_of`], its manifest asking for a 2 s wall clock per call.
pub(crate) fn package_of_2s(example: &str, library: &str) -> tempfile::TempDir {
    let dir = package_of(example, library);
    let manifest = dir.path().join("plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("read") + "\n[limits]\ntimeout-secs = 2\n";
    std::fs::write(&manifest, text).expect("write");
    dir
}

/// Sets the configuration's `native_plugins`, keeping its other keys.
pub(crate) fn allow_native(k: &Keeper, allowed: bool) {
    let path = k.data_dir().join("config.json");
    let mut config: serde_json::Map<String, Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    config.insert("native_plugins".into(), Value::Bool(allowed));
    std::fs::write(&path, Value::Object(config).to_string()).expect("write config");
}

pub(crate) fn install(k: &Keeper, dir: &Path, flags: &[&str]) -> crate::support::Run {
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

/// Rewrites the `sha256` line of an installed plugin.toml or grant.toml.
fn set_sha256(path: &Path, hash: &str) {
    let text = std::fs::read_to_string(path).expect("read");
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
    std::fs::write(path, text).expect("write");
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
    assert!(out.contains("with all of keeper's rights"), "{out}");
    assert!(!out.contains("requests no capabilities"), "{out}");
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
    assert!(row.get("capabilities").is_none(), "none apply: {row}");
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
    let json = kp(&k, &["plugin", "info", "native-file", "--format", "json"]).json();
    assert!(
        json.get("memory_mib").is_none() && json.get("cpu_fuel").is_none(),
        "no sandbox limits: {json}"
    );
    assert_eq!(json["timeout_secs"], 60, "{json}");
    let needed = json["needed_libraries"].as_array().expect("listed");
    assert!(
        needed
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.starts_with("libc.so"))),
        "{json}"
    );
    let info = kp(&k, &["plugin", "info", "native-file"]).ok();
    assert!(info.contains("native, unsandboxed"), "{info}");
    assert!(info.contains("not hashed"), "{info}");
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

    let run = kp(&k, &["rotate", &uid, "--format", "json"]);
    let report = run.json();
    assert_eq!(report[0]["outcome"], "rotated", "{report}");
    assert_eq!(report[0]["native"], true, "{report}");
    let new = vault_password(&k, &uid);
    assert!(
        !run.stdout().contains(&new) && !run.stderr().contains(&new),
        "the JSON report and the logs hold no secret"
    );
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
    let audit_text = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]).stdout();
    assert!(
        audit_text.contains(&uid) && !audit_text.contains(&new),
        "the audit names the record, not its secret: {audit_text}"
    );

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
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]).json();
    let last = &audit.as_array().expect("array").last().expect("an entry");
    assert_eq!(last["outcome"], "failed", "{audit}");
    assert_eq!(
        last["plugin"], "native-file (native, unsandboxed)",
        "refused at load, still labelled: {audit}"
    );
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
        set_sha256(&installed(&k).join(file), &hash);
    }
    let files = tempfile::tempdir().expect("dir");
    let uid = account(&k, files.path(), "carol", "Before-native-4");
    assert_failed(&rotate(&k, &uid), "ABI version 999");
    assert_eq!(file_password(files.path(), "carol"), "Before-native-4");
    assert_eq!(vault_password(&k, &uid), "Before-native-4");
}

/// A keeper ABI 1 rotator in C whose every call fails, with `more` C
/// code, linked with `flags`, built in `dir` as `lib<name>.so`.
fn c_rotator(dir: &Path, name: &str, more: &str, flags: &[&str]) -> PathBuf {
    let source = dir.join(format!("{name}.c"));
    std::fs::write(
        &source,
        r#"#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
uint32_t keeper_native_abi_version(void) { return 1; }
uint8_t *keeper_native_call(const uint8_t *m, size_t ml, const uint8_t *r, size_t rl, size_t *n) {
    const char *a = "{\"error\": {\"kind\": \"internal\", \"message\": \"a stub\"}}";
    uint8_t *b = malloc(strlen(a));
    if (!b) return NULL;
    memcpy(b, a, strlen(a));
    *n = strlen(a);
    return b;
}
void keeper_native_free(uint8_t *b, size_t n) { (void)n; free(b); }
"#
        .to_string()
            + more,
    )
    .expect("write the C source");
    let library = dir.join(format!("lib{name}.so"));
    let status = std::process::Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .args(flags)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "cc failed");
    library
}

/// Replaces the installed native-file's library by `library`, its
/// hashes in the manifest and the grant updated to match (as a library
/// installed before a check keeper makes now would be).
fn installed_instead(k: &Keeper, library: &Path) {
    std::fs::copy(library, installed(k).join("libnative_rotator.so")).expect("replace");
    let hash =
        keeper::testing::runtime::registry::sha256_hex(&std::fs::read(library).expect("read"));
    for file in ["plugin.toml", "grant.toml"] {
        set_sha256(&installed(k).join(file), &hash);
    }
}

/// A library whose dynamic section adds a folder to the loader's search
/// (a `DT_RUNPATH`) would have the libraries it needs loaded, unhashed,
/// from there: refused at install, nothing installed; and at load when
/// it was installed before keeper checked (its hashes matching): never
/// called, nothing changed.
#[test]
fn a_native_library_with_a_runpath_is_refused_at_install_and_at_load() {
    let k = vault();
    allow_native(&k, true);
    let build = tempfile::tempdir().expect("dir");
    let runpath = c_rotator(
        build.path(),
        "runpath",
        "",
        &["-Wl,--enable-new-dtags,-rpath,$ORIGIN/vendor"],
    );
    let dir = package(runpath.to_str().expect("UTF-8"));
    let refused = install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).fails();
    assert!(
        refused.contains("its dynamic section sets DT_RUNPATH \"$ORIGIN/vendor\""),
        "{refused}"
    );
    assert!(refused.contains("relink it without -rpath"), "{refused}");
    assert!(!installed(&k).exists(), "nothing installed");

    let dir = package(LIBRARY);
    install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).ok();
    installed_instead(&k, &runpath);
    let files = tempfile::tempdir().expect("dir");
    let uid = account(&k, files.path(), "frank", "Before-native-9");
    let report = rotate(&k, &uid);
    assert_failed(&report, "DT_RUNPATH");
    assert!(!report.to_string().contains("a stub"), "called: {report}");
    assert_eq!(file_password(files.path(), "frank"), "Before-native-9");
    assert_eq!(vault_password(&k, &uid), "Before-native-9");
    let refused = kp(&k, &["plugin", "info", "native-file"]).fails();
    assert!(refused.contains("DT_RUNPATH"), "{refused}");
}

/// A library naming a filter library (`DT_AUXILIARY`, from `-Wl,-f`) by
/// a path, which the loader would open from there unhashed: refused at
/// install, nothing installed.
#[test]
fn a_native_library_filtered_through_a_path_is_refused_at_install() {
    let k = vault();
    allow_native(&k, true);
    let build = tempfile::tempdir().expect("dir");
    let by_path = c_rotator(
        build.path(),
        "by-path",
        "",
        &["-Wl,-f,./libkeeper-aux.so.1"],
    );
    let dir = package(by_path.to_str().expect("UTF-8"));
    let refused = install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).fails();
    assert!(
        refused.contains("it needs \"./libkeeper-aux.so.1\", a path"),
        "{refused}"
    );
    assert!(!installed(&k).exists(), "nothing installed");
}

/// The environment variable naming the file a test library creates just
/// before it hangs (the C constructor here, the importer's `hang` build).
const HANG_MARKER: &str = "KEEPER_TEST_HANG_MARKER";

/// Starts keeper as `command`, waits (up to two minutes) until the library
/// it loads has created the marker file it makes just before hanging,
/// checks that keeper has not exited, and kills it (SIGKILL): what is
/// asserted after is what a kill at the hang leaves, not one before it.
pub(crate) fn killed_at_the_hang(mut command: std::process::Command) {
    let dir = tempfile::tempdir().expect("dir");
    let marker = dir.path().join("hanging");
    let mut child = command
        .env(HANG_MARKER, &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run keeper");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !marker.exists()
        && child.try_wait().expect("wait").is_none()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let reached = marker.exists();
    let running = child.try_wait().expect("wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(reached, "keeper never reached the hang");
    assert!(running, "keeper exited: it was not stuck at the hang");
}

/// A library whose initialiser never returns hangs keeper where it opens
/// it: initialisers run inside the dynamic loader, under its lock, so no
/// thread or timeout can bound them safely (even exiting takes that
/// lock). It is opened before anything is written: killed there, `plugin
/// install` has installed nothing, and `rotate` has changed nothing and
/// left nothing pending.
#[test]
fn a_native_library_whose_initialiser_hangs_is_killed_with_nothing_written() {
    let k = vault();
    allow_native(&k, true);
    let build = tempfile::tempdir().expect("dir");
    let hanging = c_rotator(
        build.path(),
        "hanging",
        "#include <stdio.h>\n\
         __attribute__((constructor)) static void hang(void) {\n\
           const char *marker = getenv(\"KEEPER_TEST_HANG_MARKER\");\n\
           FILE *f = marker ? fopen(marker, \"w\") : NULL;\n\
           if (f) fclose(f);\n\
           for (;;) sleep(1000);\n\
         }\n",
        &[],
    );
    let dir = package(hanging.to_str().expect("UTF-8"));
    let folder = dir.path().to_str().expect("UTF-8");
    let flags = ["--native", "--i-understand-unsandboxed", "--grant"];
    let mut args = vec!["plugin", "install"];
    args.extend(flags);
    args.push(folder);
    killed_at_the_hang(kp_command(&k, &args));
    assert!(!installed(&k).exists(), "nothing installed");

    let dir = package(LIBRARY);
    install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).ok();
    installed_instead(&k, &hanging);
    let files = tempfile::tempdir().expect("dir");
    let uid = account(&k, files.path(), "gina", "Before-native-10");
    killed_at_the_hang(kp_command(&k, &["rotate", &uid, "--format", "json"]));
    assert_eq!(file_password(files.path(), "gina"), "Before-native-10");
    assert_eq!(vault_password(&k, &uid), "Before-native-10");
    assert!(
        unlocked(&k).pending_rotation(&uid).expect("read").is_none(),
        "nothing pending"
    );
}

/// A library swapped after install is refused at load, its hashes left
/// as they were (the manifest's) or the manifest's edited to match (the
/// grant's), and so is a native plugin whose grant is missing (a
/// folder dropped in, never installed with `--i-understand-unsandboxed`):
/// neither is called.
#[test]
fn a_swapped_or_ungranted_native_library_is_not_loaded() {
    let k = vault();
    allow_native(&k, true);
    let dir = package(LIBRARY);
    install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).ok();
    let files = tempfile::tempdir().expect("dir");
    let uid = account(&k, files.path(), "erin", "Before-native-6");

    let library = installed(&k).join("libnative_rotator.so");
    let shipped = std::fs::read(&library).expect("read");
    // A valid library of the right ABI, other bytes.
    std::fs::copy(HANG, &library).expect("swap");
    let report = rotate(&k, &uid);
    assert_failed(&report, "library sha256");
    assert_failed(&report, "does not match the manifest's");
    assert!(!report.to_string().contains("component"), "{report}");
    assert_eq!(file_password(files.path(), "erin"), "Before-native-6");
    assert_eq!(vault_password(&k, &uid), "Before-native-6");
    // The manifest's hash edited to match, the grant's not: the grant
    // still holds what the user consented to.
    let hash = keeper::testing::runtime::registry::sha256_hex(&std::fs::read(HANG).expect("read"));
    set_sha256(&installed(&k).join("plugin.toml"), &hash);
    let report = rotate(&k, &uid);
    assert_failed(&report, "the library changed since");
    assert!(!report.to_string().contains("component"), "{report}");
    assert_eq!(file_password(files.path(), "erin"), "Before-native-6");
    assert_eq!(vault_password(&k, &uid), "Before-native-6");

    set_sha256(
        &installed(&k).join("plugin.toml"),
        &keeper::testing::runtime::registry::sha256_hex(&shipped),
    );
    std::fs::write(&library, shipped).expect("restore");
    std::fs::remove_file(installed(&k).join("grant.toml")).expect("drop the grant");
    assert_failed(&rotate(&k, &uid), "not installed as one");
    assert_eq!(file_password(files.path(), "erin"), "Before-native-6");
    assert_eq!(vault_password(&k, &uid), "Before-native-6");
}

/// Runs keeper as `command` and waits for it to exit; how long it took.
/// A keeper that never exits fails the test (and is killed) instead of
/// hanging it.
pub(crate) fn run_until_exit(
    mut command: std::process::Command,
) -> (crate::support::Run, Duration) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run keeper");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("keeper did not exit after a native call overran its limit");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = started.elapsed();
    (
        crate::support::Run(child.wait_with_output().expect("output")),
        took,
    )
}

/// The `hang` build's rotate sets the new password and never answers.
/// With a 2 s wall clock (the one `[limits]` a native plugin may ask for)
/// keeper gives up on it, reverts nothing (the abandoned call may still
/// land, so a revert could lock the account out), keeps both passwords
/// pending, and exits within seconds of the limit; `rotate --resume`
/// then settles it.
#[test]
fn a_native_call_that_never_answers_is_left_pending_and_keeper_exits() {
    let k = vault();
    allow_native(&k, true);
    let dir = package_of_2s("native-rotator", HANG);
    let out = install(
        &k,
        dir.path(),
        &["--native", "--i-understand-unsandboxed", "--grant"],
    )
    .ok();
    assert!(out.contains("limits: 2 s per call"), "{out}");
    let files = tempfile::tempdir().expect("dir");
    let uid = account(&k, files.path(), "dora", "Before-native-5");

    let (run, took) = run_until_exit(kp_command(&k, &["rotate", &uid, "--format", "json"]));
    assert!(took < Duration::from_secs(15), "exited after {took:?}");
    let report: Value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", run.stdout(), run.stderr()));
    assert_eq!(report[0]["outcome"], "needs-attention", "{report}");
    let message = report[0]["message"].to_string();
    assert!(message.contains("within 2 s"), "{report}");

    // The rotate did land: nothing put the old password back, and the
    // vault holds both, pending.
    let new = file_password(files.path(), "dora");
    assert_ne!(new, "Before-native-5", "the hung rotate set it");
    assert_eq!(vault_password(&k, &uid), "Before-native-5");
    let pending = unlocked(&k)
        .pending_rotation(&uid)
        .expect("read")
        .expect("still pending");
    assert_eq!(pending.old_password.as_str(), "Before-native-5");
    assert_eq!(pending.new_password.as_str(), new);

    let resumed = kp(&k, &["rotate", "--resume", "--format", "json"]).json();
    assert_eq!(resumed[0]["outcome"], "completed", "{resumed}");
    assert_eq!(vault_password(&k, &uid), new);
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));
}

/// A native rotator's answers are checked as a component's are: a field
/// outside its `[fields] owns` (the example owns none) is refused before
/// anything is stored or changed, and an error quoting the old and new
/// passwords reaches no output, report or audit entry unredacted (the
/// `misbehave` build: `grabby`'s prepare, `echo`'s rotate).
#[test]
fn a_native_rotators_fields_and_errors_are_checked() {
    let k = vault();
    allow_native(&k, true);
    let dir = package(MISBEHAVE);
    install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).ok();
    let files = tempfile::tempdir().expect("dir");

    let grabby = account(&k, files.path(), "grabby", "Before-native-7");
    let report = rotate(&k, &grabby);
    assert_failed(&report, "prepare returned");
    assert_failed(&report, "refused before anything was stored or changed");
    assert_eq!(file_password(files.path(), "grabby"), "Before-native-7");
    assert_eq!(vault_password(&k, &grabby), "Before-native-7");
    let record = kp(&k, &["get", &grabby, "--format", "json", "--unmask"]).stdout();
    assert!(
        !record.contains("loot") && !record.contains("stolen"),
        "nothing stored: {record}"
    );
    assert!(
        unlocked(&k)
            .pending_rotation(&grabby)
            .expect("read")
            .is_none(),
        "nothing pending"
    );

    let echo = account(&k, files.path(), "echo", "Before-native-8");
    for format in ["json", "table"] {
        let run = kp(&k, &["rotate", &echo, "--format", format]);
        let seen = std::fs::read_to_string(files.path().join("echo.seen")).expect("echoed");
        let mut passwords = seen.lines();
        let (old, new) = (
            passwords.next().expect("old"),
            passwords.next().expect("new"),
        );
        assert_eq!(old, "Before-native-8");
        let output = format!("{}{}", run.stdout(), run.stderr());
        assert!(output.contains("the target refused to change"), "{output}");
        assert!(output.contains("[redacted]"), "{output}");
        assert!(
            !output.contains(old) && !output.contains(new),
            "{format}: a password in the output: {output}"
        );
        for audit_format in ["json", "table"] {
            let audit = kp(
                &k,
                &["audit-log", "--record", &echo, "--format", audit_format],
            )
            .ok();
            if audit_format == "json" {
                assert!(audit.contains(&echo), "the entry is there: {audit}");
            }
            assert!(
                !audit.contains(old) && !audit.contains(new),
                "a password in the audit: {audit}"
            );
        }
    }
    let report = rotate(&k, &echo);
    let message = report[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("[redacted] to [redacted]"),
        "the report's message: {report}"
    );
    assert_eq!(vault_password(&k, &echo), "Before-native-8");
}

/// The library keeper loads is the one whose hash it checked: a file
/// swapped between the hash and the load (the window `read_dir` → `load`)
/// is not what gets loaded. Here the swap is made exactly in that window
/// (a library of another ABI, which would be refused if it were loaded),
/// so the test needs no timing: with the old hash-then-dlopen-by-path
/// code the load fails with "ABI version 999".
#[test]
fn a_library_swapped_between_hash_and_load_is_not_the_one_loaded() {
    use keeper::testing::runtime::{ArtifactCache, Runtime, registry};
    let k = vault();
    allow_native(&k, true);
    let dir = package(LIBRARY);
    install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).ok();
    let package = registry::read_dir(&installed(&k)).expect("hashed and granted");

    let library = installed(&k).join("libnative_rotator.so");
    let swapped = installed(&k).join("swapped.so");
    std::fs::copy(WRONG_ABI, &swapped).expect("copy");
    std::fs::rename(&swapped, &library).expect("swap");

    let cache = tempfile::tempdir().expect("dir");
    let runtime = Runtime::new(ArtifactCache::new(cache.path().to_path_buf()))
        .expect("runtime")
        .with_native_plugins(true);
    let plugin = runtime
        .load(&package)
        .unwrap_or_else(|e| panic!("the hashed library is loaded, not the swapped one: {e}"));
    let info = tokio::runtime::Runtime::new()
        .expect("tokio")
        .block_on(plugin.describe_rotator())
        .expect("describe");
    assert_eq!(info.name, "native-file");
    // And the next read of the folder refuses the swapped file.
    let refused = registry::read_dir(&installed(&k)).expect_err("swapped");
    assert!(refused.to_string().contains("library sha256"), "{refused}");
}
