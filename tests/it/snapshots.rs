//! What the CLI prints, under snapshot tests: every table and JSON shape of
//! the listing commands, the rotation and import reports, as transcripts
//! (`$ keeper ARGS`, then what it printed) of one fixed vault.
//!
//! Values that change from run to run are replaced by insta filters: uids
//! (`[UID]`), times (`[TIME]`, `[EPOCH-MS]`, `[EPOCH-S]`), durations,
//! plugin hashes and the closed port the failed rotation tried. Anything
//! else that changes is a change of output: review it, then accept it with
//! `INSTA_UPDATE=always cargo test -p keeper-tests --test e2e -- snapshots::`
//! (or `cargo insta review`) and commit the `.snap` files.

use crate::sshd::free_port;
use crate::support::Keeper;
use crate::vault::{PW, add, add_user, kp, run_as, vault};

/// The insta filters for run-to-run values (regex, replacement), applied
/// in order. Tables are written without their padding (runs of spaces and
/// of border characters become one), so that a value of another width
/// (a uid replaced by `[UID]`, a duration) does not move every border.
fn filters(k: &Keeper, port: u16) -> Vec<(String, &'static str)> {
    let data_dir = regex_escape(&k.data_dir().to_string_lossy());
    vec![
        (data_dir, "[DATA-DIR]"),
        (format!(r"\b{port}\b"), "[PORT]"),
        // Uids: 22 characters of base64url, standing alone.
        (
            r"(^|[^A-Za-z0-9_-])[A-Za-z0-9_-]{22}([^A-Za-z0-9_-]|$)".into(),
            "$1[UID]$2",
        ),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?".into(), "[TIME]"),
        (r"\d{4}-\d{2}-\d{2}".into(), "[DATE]"),
        (r"\b1\d{12}\b".into(), "[EPOCH-MS]"),
        (r"\b1\d{9}\b".into(), "[EPOCH-S]"),
        (r"\b[0-9a-f]{64}\b".into(), "[SHA-256]"),
        (r#""duration_ms": \d+"#.into(), r#""duration_ms": [MS]"#),
        // Table padding.
        (r"(\S) {2,}".into(), "$1 "),
        ("─{2,}".into(), "─"),
        ("═{2,}".into(), "═"),
        // A rotation's milliseconds, after its outcome, in tables.
        (r"(┆ [a-z][a-z :]* ┆) \d+ (┆|│)".into(), "$1 [MS] $2"),
    ]
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = "\\.+*?()|[]{}^$#&-~".contains(c);
            escape.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

/// Runs each command and writes the transcript: the command line, its
/// stdout, its stderr (without the test-only KDF warnings) and a non-zero
/// exit code.
fn transcript(k: &Keeper, commands: &[&[&str]]) -> String {
    let mut out = String::new();
    for args in commands {
        let run = alice(k, args);
        out.push_str(&format!("$ keeper {}\n", args.join(" ")));
        out.push_str(&run.stdout());
        let stderr: Vec<String> = run
            .stderr()
            .lines()
            .filter(|l| !l.contains("KEEPER_TEST_FAST_KDF") && !l.contains("test-only"))
            .map(|l| format!("stderr: {l}\n"))
            .collect();
        out.push_str(&stderr.concat());
        if run.code() != Some(0) {
            out.push_str(&format!("exit code: {:?}\n", run.code()));
        }
        out.push('\n');
    }
    out
}

/// Runs keeper as alice (the vault has two users).
fn alice(k: &Keeper, args: &[&str]) -> crate::support::Run {
    run_as(k, Some("alice@example.com"), PW, args)
}

/// Checks `name`'s transcript against its snapshot, with the filters.
fn check((k, port): &(Keeper, u16), name: &str, commands: &[&[&str]]) {
    let text = transcript(k, commands);
    let mut settings = insta::Settings::clone_current();
    for (regex, replacement) in filters(k, *port) {
        settings.add_filter(&regex, replacement);
    }
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// One vault with a shared folder, folders, records (one with a password
/// history, two duplicates, one rotation endpoint that cannot be reached),
/// a second user and a team; and the closed port of that endpoint.
fn fixture() -> (Keeper, u16) {
    let k = vault();
    kp(&k, &["mkdir", "--sf", "-u", "-e", r"Clients\Acme"]).ok();
    kp(&k, &["mkdir", "Personal"]).ok();
    let port = free_port();
    add(
        &k,
        &[
            "-t",
            "Acme db",
            "--rt",
            "databaseCredentials",
            "--folder",
            r"Clients\Acme",
            &format!("host=127.0.0.1:{port}"),
            "login=app",
            "password=Old-pass-1",
            "c.text.cmdr:plugin=mysql",
        ],
    );
    let mail = add(
        &k,
        &[
            "-t",
            "Mail",
            "login=me@example.com",
            "password=first-Pass-1",
            "url=https://mail.example.com",
            "-n",
            "the team inbox",
            "--folder",
            "Personal",
        ],
    );
    kp(&k, &["edit", "-r", &mail, "password=second-Pass-2"]).ok();
    for _ in 0..2 {
        add(
            &k,
            &["-t", "Wiki", "login=ops", "password=same-Pass-3", "--force"],
        );
    }
    add_user(&k, "bob@example.com", "bobs-Pass-4");
    alice(&k, &["team", "add", "Ops", "--member", "bob@example.com"]).ok();
    (k, port)
}

#[test]
fn listings() {
    let k = fixture();
    check(
        &k,
        "folders",
        &[
            &["ls"],
            &["ls", "-l", r"Clients\Acme"],
            &["ls", "--format", "json", "Personal"],
            &["ls", "--format", "csv", "Personal"],
            &["tree"],
            &["tree", "--format", "json"],
        ],
    );
    check(
        &k,
        "records",
        &[
            &["get", "Mail"],
            &["get", "Mail", "--format", "json"],
            &["search", "mail"],
            &["search", "mail", "--format", "json"],
            &["history", "Mail"],
            &["history", "Mail", "--format", "json"],
            &["history", "Mail", "-a", "password"],
            &["history", "Mail", "-a", "password", "--format", "json"],
            &["find-duplicate"],
            &["find-duplicate", "--format", "json"],
        ],
    );
    check(
        &k,
        "users",
        &[
            &["user", "list"],
            &["user", "list", "--format", "json"],
            &["team", "list"],
            &["team", "list", "--format", "json"],
        ],
    );
    check(
        &k,
        "plugins",
        &[
            &["plugin", "list"],
            &["plugin", "list", "--format", "json"],
            &["plugin", "info", "mysql"],
            &["plugin", "info", "mysql", "--format", "json"],
        ],
    );
}

#[test]
fn rotation_reports() {
    let k = fixture();
    check(
        &k,
        "rotation",
        &[
            &["rotate"],
            &["rotate", "--format", "json"],
            &["rotate", "Acme db", "--dry-run"],
            &["rotate", "Acme db", "--dry-run", "--format", "json"],
            // The target is a closed port: a failure report.
            &["rotate", "Acme db"],
            &["rotate", "Acme db", "--format", "json"],
            &["audit-log"],
            &["audit-log", "--format", "json"],
        ],
    );
}

#[test]
fn import_reports() {
    let k = fixture();
    let source = k.0.data_dir().join("source.json");
    std::fs::write(
        &source,
        serde_json::json!({"records": [
            // Identical to a record of the vault: skipped.
            {"title": "Wiki", "$type": "login", "login": "ops", "password": "same-Pass-3"},
            {"title": "Router", "$type": "login", "login": "admin", "password": "Router-pass-5",
             "folders": [{"shared_folder": r"Clients\Acme", "can_edit": true}]},
        ]})
        .to_string(),
    )
    .expect("write the source");
    let source = source.to_string_lossy();
    check(
        &k,
        "import",
        &[
            &["import", "--format", "json", &source, "--dry-run"],
            &["import", "--format", "json", &source],
            &["import", "--format", "json", &source],
            &["export", "--format", "json"],
            &["export", "--format", "csv"],
        ],
    );
}
