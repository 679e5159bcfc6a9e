//! Native (unsandboxed) importers through the binary:
//! `examples/native-importer` (tab-separated lines, ABI 2) built as a
//! shared library by `tests/build.rs` (as shipped, with another ABI
//! version, breaking the answer rules). Installed with `--native`, marked
//! "native, unsandboxed" in `plugin list`, `plugin info` and `import`'s
//! output; it imports what the host reads it; its titles are stored as
//! given and printed escaped, and its answers size-capped and parsed
//! strictly, as a WIT importer's are; a
//! source that cannot be read reaches it through the error channel; a
//! wrong ABI is refused; a failed import writes nothing; the passwords of
//! the records it returned are redacted from its words; and a batch that
//! never answers times out, writing nothing, and keeper exits.

use serde_json::Value;

use crate::native_plugins::{
    allow_native, install, killed_at_the_hang, package_of, package_of_2s, run_until_exit,
};
use crate::support::Keeper;
use crate::vault::{kp, vault};

const IMPORTER: &str = env!("KEEPER_TEST_NATIVE_IMPORTER_DEFAULT");
const WRONG_ABI: &str = env!("KEEPER_TEST_NATIVE_IMPORTER_WRONG_ABI");
const MISBEHAVE: &str = env!("KEEPER_TEST_NATIVE_IMPORTER_MISBEHAVE");
const HANG: &str = env!("KEEPER_TEST_NATIVE_IMPORTER_HANG");
/// The native rotator (ABI 1): not an importer.
const ROTATOR: &str = env!("KEEPER_TEST_NATIVE_DEFAULT");

/// A folder to install from: the example's plugin.toml and `library`.
fn package(library: &str) -> tempfile::TempDir {
    package_of("native-importer", library)
}

/// A vault allowing native plugins, with `library` installed as native-tsv.
fn installed(library: &str) -> Keeper {
    let k = vault();
    allow_native(&k, true);
    let dir = package(library);
    install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).ok();
    k
}

/// The vault's records, as Keeper JSON exports them.
fn records(k: &Keeper) -> Vec<Value> {
    kp(k, &["export", "--format", "json"]).json()["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Writes `lines` to a source file in the vault's data folder.
fn source(k: &Keeper, lines: &[&str]) -> String {
    let path = k.data_dir().join("source.tsv");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write source");
    path.to_str().expect("utf8").to_string()
}

fn import(k: &Keeper, file: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["import", "--format", "native-tsv", file];
    args.extend_from_slice(extra);
    kp(k, &args)
}

#[test]
fn a_native_importer_is_marked_unsandboxed_and_imports_what_keeper_reads_it() {
    let k = vault();
    allow_native(&k, true);
    let dir = package(IMPORTER);
    let out = install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).ok();
    assert!(out.contains("native, unsandboxed"), "{out}");
    assert!(out.contains("importer"), "{out}");

    let list = kp(&k, &["plugin", "list", "--format", "json"]).json();
    let row = list
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == "native-tsv")
        .cloned()
        .expect("listed");
    assert_eq!(row["native"], true, "{row}");
    assert_eq!(row["kind"], "importer", "{row}");
    let table = kp(&k, &["plugin", "list"]).ok();
    let line = table
        .lines()
        .find(|l| l.contains("native-tsv"))
        .expect("a row");
    assert!(line.contains("native, unsandboxed"), "{table}");
    let info = kp(&k, &["plugin", "info", "native-tsv"]).ok();
    assert!(info.contains("native, unsandboxed"), "{info}");
    assert!(info.contains("Tab-separated lines"), "described: {info}");

    let file = source(
        &k,
        &[
            "# title\tlogin\tpassword\turl\tfolder",
            "Mail\talice@example.com\tNative-import-1\thttps://mail.example.com\tWork",
            "Bank\talice\tNative-import-2",
            "only two\tcolumns",
            "Forum\tal\tNative-import-3\t\tPlay",
        ],
    );
    let dry = import(&k, &file, &["--dry-run", "--show-skipped"]);
    let out = dry.ok();
    assert!(out.contains("Mail") && out.contains("Forum"), "{out}");
    assert!(out.contains("nothing was written"), "{out}");
    assert!(
        out.contains("Importer: native-tsv 0.1.0 (native, unsandboxed)"),
        "{out}"
    );
    assert!(
        dry.stderr().contains("native, unsandboxed"),
        "{}",
        dry.stderr()
    );
    assert!(records(&k).is_empty(), "a dry run writes nothing");

    let run = import(&k, &file, &["--show-skipped"]);
    let out = run.ok();
    assert!(out.contains("3 records imported"), "{out}");
    assert!(
        out.contains("Importer: native-tsv 0.1.0 (native, unsandboxed)"),
        "{out}"
    );
    assert!(
        run.stderr()
            .contains("line 4: 2 column(s), expected at least 3"),
        "{}",
        run.stderr()
    );
    let all = records(&k);
    assert_eq!(all.len(), 3, "{all:?}");
    let mail = all.iter().find(|r| r["title"] == "Mail").expect("Mail");
    assert_eq!(mail["login"], "alice@example.com", "{mail}");
    assert_eq!(mail["password"], "Native-import-1", "{mail}");
    assert_eq!(mail["login_url"], "https://mail.example.com", "{mail}");
    let tree = kp(&k, &["tree"]).ok();
    assert!(tree.contains("Work") && tree.contains("Play"), "{tree}");

    // The same source again: nothing new (identical records recognised).
    import(&k, &file, &[]).ok();
    assert_eq!(records(&k).len(), 3);

    // Turned off: refused, naming the setting, nothing written.
    allow_native(&k, false);
    let other = source(&k, &["Other	bob	Native-import-9"]);
    let refused = import(&k, &other, &[]).fails();
    assert!(refused.contains("\"native_plugins\": true"), "{refused}");
    assert!(
        !refused.contains("all of keeper's rights"),
        "said to run, then refused: {refused}"
    );
    assert_eq!(records(&k).len(), 3);
}

/// The audit entries of `k` left by the native importer.
fn native_audit(k: &Keeper) -> Vec<Value> {
    kp(k, &["audit-log", "--format", "json"])
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["plugin"] == "native-tsv 0.1.0 (native, unsandboxed)")
        .collect()
}

/// An import by a native importer leaves an audit entry saying so (no
/// record of its own; the importer as "native, unsandboxed", "import"
/// and the source, the outcome), a dry run too; nothing of the source's
/// data is in it; a WIT importer's import adds none.
#[test]
fn a_native_import_is_audited() {
    let k = installed(IMPORTER);
    let file = source(&k, &["Mail\talice\tNative-import-7"]);
    import(&k, &file, &["--dry-run"]).ok();
    import(&k, &file, &[]).ok();
    let entries = native_audit(&k);
    let outcomes: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["dry run", "success"], "{entries:?}");
    for entry in &entries {
        assert_eq!(entry["record_uid"], "", "{entry}");
        assert_eq!(entry["target"], format!("import {file}"), "{entry}");
    }
    let log = kp(&k, &["audit-log"]).ok();
    assert!(log.contains("native, unsandboxed"), "{log}");
    assert!(
        !log.contains("Native-import-7") && !log.contains("alice"),
        "{log}"
    );
    let all = kp(&k, &["audit-log", "--format", "json"]).json();
    let csv = k.data_dir().join("plain.csv");
    std::fs::write(&csv, "Work,Plain,bob,Csv-pw-1,,\n").expect("write");
    kp(
        &k,
        &["import", "--format", "csv", csv.to_str().expect("utf8")],
    )
    .ok();
    assert_eq!(kp(&k, &["audit-log", "--format", "json"]).json(), all);
}

/// A title with terminal escapes (OSC 52 clipboard, clear screen) and a
/// tab is stored exactly as the importer gave it, as a WIT importer's is,
/// and escaped where it is printed: the dry run's plan and `ls -l`.
#[test]
fn a_native_importers_hostile_title_is_stored_as_given_and_printed_escaped() {
    let k = installed(IMPORTER);
    let file = source(
        &k,
        &["\u{1b}]52;c;aGk=\u{7}Evil\u{1b}[2J\u{200f}\tmallory\tNative-import-4"],
    );
    let dry = import(&k, &file, &["--dry-run"]);
    let out = format!("{}{}", dry.ok(), dry.stderr());
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("\\u{1b}]52;c;aGk=\\u{7}Evil"), "{out}");
    import(&k, &file, &[]).ok();
    let all = records(&k);
    assert_eq!(all.len(), 1, "{all:?}");
    let title = all[0]["title"].as_str().expect("a title");
    assert_eq!(title, "\u{1b}]52;c;aGk=\u{7}Evil\u{1b}[2J\u{200f}");
    let uid = all[0]["uid"].as_str().expect("a uid").to_string();
    let got = kp(&k, &["get", &uid, "--format", "json"]).json();
    assert_eq!(got["title"], title, "{got}");
    let list = kp(&k, &["ls", "-l"]).ok();
    assert!(
        list.contains("\\u{1b}]52;c;aGk=\\u{7}Evil\\u{1b}[2J\\u{200f}")
            && !list.contains('\u{1b}')
            && !list.contains('\u{200f}'),
        "{list:?}"
    );
}

/// Answers that break the ABI fail the import, and nothing of it is
/// written, not even the good records of the same batch: a cut-short
/// answer (not JSON), and one over the limit (129 MiB; not even copied).
#[test]
fn a_native_importers_malformed_or_oversize_answer_writes_nothing() {
    let k = installed(MISBEHAVE);
    for (title, expected) in [
        ("!malformed", "its answer is not valid JSON"),
        (
            "!oversize",
            "returned an answer of 135266304 bytes, over the",
        ),
    ] {
        let file = source(
            &k,
            &[
                "Good one\tgood\tNative-import-5",
                &format!("{title}\tbad\tNative-import-6"),
            ],
        );
        let refused = import(&k, &file, &[]).fails();
        assert!(refused.contains("native-tsv"), "{refused}");
        assert!(refused.contains(expected), "{title}: {refused}");
        assert!(refused.contains("nothing was imported"), "{refused}");
        for password in ["Native-import-5", "Native-import-6"] {
            assert!(
                !refused.contains(password),
                "no source data in the error: {refused}"
            );
        }
        assert!(records(&k).is_empty(), "{title}: nothing written");
    }
    // Each failed import is audited as failed.
    let entries = native_audit(&k);
    let outcomes: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["failed", "failed"], "{entries:?}");
    // The same build imports a well-formed source.
    let file = source(&k, &["Good one\tgood\tNative-import-5"]);
    import(&k, &file, &[]).ok();
    assert_eq!(records(&k).len(), 1);
}

/// The passwords of the records a native importer returned are secrets
/// of the import (as a rotator's request's are): a skipped line's reason
/// and a later error quoting one (the `misbehave` build's `!leak` line:
/// the record before it, in an earlier batch for the error, upper-cased
/// there) are redacted wherever they are shown; nothing is written.
#[test]
fn a_native_importers_words_are_redacted_of_the_passwords_it_returned() {
    let k = installed(MISBEHAVE);
    let file = source(&k, &["Mail	alice	Leaked-pass-9", "!leak	x	y"]);
    let run = import(&k, &file, &["--show-skipped"]);
    let shown = run.fails();
    assert!(
        shown.contains("skipped: after the password [redacted]"),
        "{shown}"
    );
    assert!(
        shown.contains("cannot go on after the password [redacted]"),
        "{shown}"
    );
    assert!(shown.contains("nothing was imported"), "{shown}");
    let everything = format!("{}{shown}", run.stdout()).to_lowercase();
    assert!(!everything.contains("leaked-pass-9"), "{everything}");
    assert!(records(&k).is_empty());
    let log = kp(&k, &["audit-log", "--format", "json"]).stdout();
    assert!(!log.to_lowercase().contains("leaked-pass-9"), "{log}");
    assert_eq!(native_audit(&k).len(), 1, "audited as failed");
}

/// A native importer whose batch never answers (the `hang` build, on a
/// `!hang` line after a first batch of 500 records): keeper killed while
/// it hangs has written nothing; left to run, with a 2 s wall clock,
/// keeper gives up on it, says so, writes nothing (not the first batch
/// either: a source this small is written in one transaction at the
/// end), audits the import as failed, and exits within seconds of the
/// limit, the abandoned call still running on its thread.
#[test]
fn a_native_import_that_never_answers_times_out_and_writes_nothing() {
    use std::time::Duration;
    let k = vault();
    allow_native(&k, true);
    let dir = package_of_2s("native-importer", HANG);
    install(
        &k,
        dir.path(),
        &["--native", "--i-understand-unsandboxed", "--grant"],
    )
    .ok();
    let mut lines: Vec<String> = (0..600)
        .map(|i| format!("Record {i}\tuser{i}\tNative-hang-{i}"))
        .collect();
    lines.push("!hang\tx\ty".into());
    let file = source(&k, &lines.iter().map(String::as_str).collect::<Vec<_>>());

    // Killed while the batch hangs (before its limit): nothing written.
    killed_at_the_hang(crate::vault::kp_command(
        &k,
        &["import", "--format", "native-tsv", &file],
    ));
    assert!(records(&k).is_empty(), "nothing written");

    let (run, took) = run_until_exit(crate::vault::kp_command(
        &k,
        &["import", "--format", "native-tsv", &file],
    ));
    let refused = run.fails();
    assert!(took < Duration::from_secs(15), "exited after {took:?}");
    assert!(refused.contains("did not answer within 2 s"), "{refused}");
    assert!(refused.contains("nothing was imported"), "{refused}");
    assert!(records(&k).is_empty(), "nothing written");
    let outcomes: Vec<Value> = native_audit(&k)
        .iter()
        .map(|e| e["outcome"].clone())
        .collect();
    assert_eq!(outcomes, ["failed"]);
}

/// A source keeper cannot read reaches the importer through the input
/// error channel (as a WIT 1.1 importer's `try-read`): it reports it with
/// its line, and nothing is written. Standard input that is a folder
/// fails on the first read (EISDIR).
#[test]
fn a_source_that_cannot_be_read_reaches_the_native_importer_as_an_error() {
    let k = installed(IMPORTER);
    let folder = std::fs::File::open(k.data_dir()).expect("open the data folder");
    let mut cmd = crate::vault::kp_command(&k, &["import", "--format", "native-tsv", "-"]);
    let out = cmd.stdin(folder).output().expect("run keeper");
    let run = crate::support::Run(out);
    let refused = run.fails();
    assert!(
        refused.contains("line 1: reading the import source failed after 0 bytes"),
        "{refused}"
    );
    assert!(refused.contains("nothing was imported"), "{refused}");
    assert!(records(&k).is_empty());
}

/// An importer of another ABI is refused at install, nothing installed:
/// one saying a version keeper does not speak, and a rotator's library
/// (ABI 1, no `keeper_native_import`) under an importer's manifest.
#[test]
fn a_native_importer_of_another_abi_is_refused() {
    let k = vault();
    allow_native(&k, true);
    for (library, expected) in [
        (WRONG_ABI, "ABI version 999"),
        (ROTATOR, "ABI version 1, keeper speaks"),
    ] {
        let dir = package(library);
        let refused = install(&k, dir.path(), &["--native", "--i-understand-unsandboxed"]).fails();
        assert!(refused.contains(expected), "{refused}");
        assert!(refused.contains("2 for an importer"), "{refused}");
        assert!(
            !k.data_dir().join("plugins/native-tsv").exists(),
            "nothing installed"
        );
    }
    let list = kp(&k, &["plugin", "list", "--format", "json"]).json();
    assert!(!list.to_string().contains("native-tsv"), "{list}");
}
