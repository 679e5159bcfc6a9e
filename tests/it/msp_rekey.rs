//! `enterprise-rekey` through the binary, on both stores: an MSP admin a
//! distributor provisioned is refused everything but the re-key until
//! they run it; after it the distributor's password no longer unlocks,
//! and a copy of the admin's old key header (raw rows read before, opened
//! with the password the distributor chose) opens neither the MSP's tree
//! key nor its node names nor its companies' wrapped keys nor records
//! written afterwards; a re-key killed anywhere (injected faults and
//! SIGKILL at increasing delays) leaves exactly one of the two passwords
//! working and every record; companies made before it keep working;
//! `store migrate` carries the flag.

use std::process::{Command, Stdio};
use std::time::Duration;

use keeper::testing::vault::crypto::Key;
use keeper::testing::vault::{KeptHeader, SecretString, company_key, opens_node};

use crate::automation::keeper;
use crate::msp::{other_backend, raw_rows};
use crate::msp_distributor::{FIRST_PW, MSP_PW, provisioned};
use crate::secrets_manager::removal::vault_bytes;
use crate::support::{Keeper, Run};

const BOB: &str = "bob@msp.example";

/// `keeper enterprise-rekey` as `email`, from master password `old` to `new`.
fn rekey_cmd(k: &Keeper, email: &str, old: &str, new: &str) -> Command {
    let mut cmd = keeper(k, &["enterprise-rekey"]);
    cmd.env("KEEPER_USER", email)
        .env("KEEPER_PASSWORD", old)
        .env("KEEPER_NEW_MASTER_PASSWORD", new);
    cmd
}

/// Runs `keeper enterprise-rekey` as `email`, from `old` to `new`.
pub(crate) fn rekey(k: &Keeper, email: &str, old: &str, new: &str) -> Run {
    Run(rekey_cmd(k, email, old, new).output().expect("run keeper"))
}

/// `keeper ARGS` as `email` with `password`.
fn as_user(k: &Keeper, email: &str, password: &str, args: &[&str]) -> Run {
    Run(keeper(k, args)
        .env("KEEPER_USER", email)
        .env("KEEPER_PASSWORD", password)
        .output()
        .expect("run keeper"))
}

/// A raw blob as `raw_rows` prints it (SQLite: hex; psql: `\x` hex).
fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text.trim_start_matches("\\x")).expect("hex")
}

/// Whether bob must re-key, from the raw row.
fn flagged(k: &Keeper) -> String {
    raw_rows(
        k,
        "SELECT CASE WHEN must_rekey THEN 1 ELSE 0 END FROM {t}users WHERE email = 'bob@msp.example'",
    )
    .concat()
}

#[test]
fn a_provisioned_admin_is_refused_everything_but_the_rekey() {
    let k = provisioned();
    assert_eq!(flagged(&k), "1");
    let before = raw_rows(&k, "SELECT * FROM {t}users ORDER BY uid");
    for args in [&["msp-info"][..], &["ls"], &["add", "-t", "x", "login=y"]] {
        let err = as_user(&k, BOB, FIRST_PW, args).fails();
        assert!(
            err.contains("bob@msp.example must be re-keyed before use")
                && err.contains("Run `keeper enterprise-rekey` as bob@msp.example"),
            "{args:?}: {err}"
        );
    }
    // A wrong password is still just that.
    let err = as_user(&k, BOB, "guess", &["ls"]).fails();
    assert!(err.contains("wrong master password"), "{err}");
    // The distributor's own admin is not flagged.
    as_user(&k, "alice@example.com", crate::vault::PW, &["distributor"]).ok();
    // The same password again is refused, nothing written.
    let err = rekey(&k, BOB, FIRST_PW, FIRST_PW).fails();
    assert!(err.contains("must differ from the current one"), "{err}");
    assert_eq!(raw_rows(&k, "SELECT * FROM {t}users ORDER BY uid"), before);

    let out = rekey(&k, BOB, FIRST_PW, MSP_PW).ok();
    assert!(
        out.contains("MSP \"Bob's MSP\" (ID=3456) re-keyed: bob@msp.example has a new data key"),
        "{out}"
    );
    assert!(out.contains("2 company tree keys"), "{out}");
    assert!(
        out.contains(
            "The 2 companies that existed before this re-key (Acme, A company whose name is longer \
             than forty characters) keep their own tree keys, only re-wrapped"
        ),
        "{out}"
    );
    assert_eq!(flagged(&k), "0");
    let err = as_user(&k, BOB, FIRST_PW, &["msp-info"]).fails();
    assert!(err.contains("wrong master password"), "{err}");
    let info = as_user(&k, BOB, MSP_PW, &["msp-info", "--format", "json"]).json();
    assert_eq!(info["managed_companies"].as_array().map(Vec::len), Some(2));
    // An MSP without companies says nothing about them.
    let carol = rekey(&k, "carol@mymsp.example", FIRST_PW, "carol-own").ok();
    assert!(carol.contains("0 company tree keys"), "{carol}");
    assert!(!carol.contains("keep their own tree keys"), "{carol}");
    // Re-keying again later is allowed (a voluntary re-key).
    rekey(&k, BOB, MSP_PW, "bob-later").ok();
    as_user(&k, BOB, "bob-later", &["msp-down"]).ok();
}

/// The distributor kept bob's user row and admin row from before the
/// re-key and knows the password it chose: afterwards those open nothing
/// of the MSP the store holds.
#[test]
fn a_kept_copy_of_the_old_header_opens_nothing_after_the_rekey() {
    let k = provisioned();
    let header = |k: &Keeper| -> Vec<String> {
        raw_rows(
            k,
            "SELECT u.tenant_uid, u.uid, u.kdf, u.wrapped_data_key, u.wrapped_private_key, \
             a.wrapped_tree_key FROM {t}users u JOIN {t}enterprise_admins a \
             ON a.user_uid = u.uid AND a.tenant_uid = u.tenant_uid WHERE u.email = 'bob@msp.example'",
        )
        .concat()
        .split('|')
        .map(str::to_string)
        .collect()
    };
    let kept_row = header(&k);
    let (tenant, uid) = (kept_row[0].clone(), kept_row[1].clone());
    let first = SecretString::from(FIRST_PW.to_string());
    let open = |row: &[String], pw: &SecretString| {
        KeptHeader::open(
            &row[0],
            &row[1],
            &unhex(&row[2]),
            &unhex(&row[3]),
            &unhex(&row[4]),
            pw,
        )
    };
    let kept = open(&kept_row, &first).expect("the distributor's password opens the header");
    let old_tree = kept
        .tree_key(&tenant, &uid, &unhex(&kept_row[5]))
        .expect("and the MSP's tree key");
    let nodes = |k: &Keeper| -> Vec<(i64, Vec<u8>)> {
        raw_rows(
            k,
            &format!(
                "SELECT node_id, data FROM {{t}}enterprise_nodes WHERE tenant_uid = '{tenant}'"
            ),
        )
        .iter()
        .map(|r| {
            let (id, data) = r.split_once('|').expect("row");
            (id.parse().expect("id"), unhex(data))
        })
        .collect()
    };
    let companies = |k: &Keeper| -> Vec<(String, Vec<u8>)> {
        raw_rows(
            k,
            &format!(
                "SELECT tenant_uid, wrapped_tree_key FROM {{t}}managed_companies \
                 WHERE msp_uid = '{tenant}' ORDER BY tenant_uid"
            ),
        )
        .iter()
        .map(|r| {
            let (mc, key) = r.split_once('|').expect("row");
            (mc.to_string(), unhex(key))
        })
        .collect()
    };
    // Before: the kept keys open every node name and company key (so the
    // checks below can fail).
    let before_nodes = nodes(&k);
    assert!(!before_nodes.is_empty());
    assert!(
        before_nodes
            .iter()
            .all(|(id, data)| opens_node(&old_tree, &tenant, *id, data))
    );
    let company_keys: Vec<Key> = companies(&k)
        .iter()
        .map(|(mc, w)| company_key(&old_tree, mc, &tenant, w).expect("opens before"))
        .collect();
    assert_eq!(company_keys.len(), 2);

    rekey(&k, BOB, FIRST_PW, MSP_PW).ok();
    let record = as_user(&k, BOB, MSP_PW, &["add", "-t", "After", "login=bob"])
        .ok()
        .trim()
        .to_string();
    as_user(
        &k,
        BOB,
        MSP_PW,
        &["msp-add", "-p", "business", "-s", "1", "Later"],
    )
    .ok();

    let now_row = header(&k);
    assert_eq!((&now_row[0], &now_row[1]), (&tenant, &uid), "the same user");
    assert!(
        open(&now_row, &first).is_none(),
        "the distributor's password opens the new header"
    );
    assert!(
        kept.tree_key(&tenant, &uid, &unhex(&now_row[5])).is_none(),
        "the kept data key opens the new tree key row"
    );
    for (id, data) in nodes(&k) {
        assert!(
            !opens_node(&old_tree, &tenant, id, &data),
            "the old tree key opens node {id}"
        );
    }
    let after = companies(&k);
    assert_eq!(after.len(), 3);
    for (mc, wrapped) in &after {
        assert!(
            company_key(&old_tree, mc, &tenant, wrapped).is_none(),
            "the old tree key opens company {mc}'s key row"
        );
    }
    let keys = raw_rows(
        &k,
        &format!(
            "SELECT holder_uid, wrapped_key FROM {{t}}record_keys WHERE record_uid = '{record}'"
        ),
    );
    assert_eq!(keys.len(), 1, "{keys:?}");
    for row in keys {
        let (holder, wrapped) = row.split_once('|').expect("row");
        assert!(
            !kept.opens_record_key(&record, holder, None, &unhex(wrapped)),
            "the kept keys open the new record's key"
        );
    }
}

/// One step of the crash loop: `keeper enterprise-rekey` from `from` to
/// `to`, aborted at a fault point or killed with SIGKILL after `delay`.
fn crashed_rekey(k: &Keeper, from: &str, to: &str, fault: Option<&str>, delay: Duration) {
    let mut cmd = rekey_cmd(k, BOB, from, to);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    if let Some(point) = fault {
        cmd.env("KEEPER_FAULT", point);
        let status = cmd.status().expect("run keeper");
        assert!(!status.success(), "{point}: the fault must kill it");
        return;
    }
    let mut child = cmd.spawn().expect("spawn keeper");
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// A re-key killed anywhere leaves the vault opening with exactly one of
/// the two passwords, every record and folder there, and the MSP (its
/// tree key, node names and companies) whole.
#[test]
fn a_rekey_killed_anywhere_leaves_one_password_and_every_record() {
    let k = provisioned();
    rekey(&k, BOB, FIRST_PW, MSP_PW).ok();
    for i in 0..3 {
        as_user(&k, BOB, MSP_PW, &["add", "-t", &format!("R{i}"), "login=x"]).ok();
    }
    as_user(&k, BOB, MSP_PW, &["mkdir", "Kept"]).ok();
    as_user(
        &k,
        BOB,
        MSP_PW,
        &["add", "-t", "In folder", "--folder", "Kept", "login=x"],
    )
    .ok();
    let titles = |pw: &str| -> Option<Vec<String>> {
        let run = as_user(&k, BOB, pw, &["search", ".", "--format", "json"]);
        if !run.0.status.success() {
            assert!(
                run.stderr().contains("wrong master password"),
                "{}",
                run.stderr()
            );
            return None;
        }
        let mut t: Vec<String> = run
            .json()
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["title"].as_str().expect("title").to_string())
            .collect();
        t.sort();
        Some(t)
    };
    let all = titles(MSP_PW).expect("records");
    assert_eq!(all.len(), 4, "{all:?}");

    let mut steps: Vec<(Option<&str>, u64)> = vec![
        (Some("rekey-midway"), 0),
        (Some("rekey-before-commit"), 0),
        (Some("rekey-after-commit"), 0),
    ];
    steps.extend((0..12).map(|i| (None, i * 6)));
    let mut current = MSP_PW.to_string();
    let (mut old_kept, mut new_taken) = (0, 0);
    for (n, (fault, delay)) in steps.into_iter().enumerate() {
        let next = format!("pw-{n}");
        crashed_rekey(&k, &current, &next, fault, Duration::from_millis(delay));
        let (old, new) = (titles(&current), titles(&next));
        let step = format!("{fault:?}/{delay} ms");
        match (old, new) {
            (Some(t), None) => {
                assert_eq!(t, all, "{step}: records lost");
                old_kept += 1;
                assert_ne!(fault, Some("rekey-after-commit"), "{step}: committed");
            }
            (None, Some(t)) => {
                assert_eq!(t, all, "{step}: records lost");
                new_taken += 1;
                assert!(
                    !matches!(fault, Some("rekey-midway" | "rekey-before-commit")),
                    "{step}: not committed, yet the new password opens"
                );
                current = next;
            }
            (old, new) => panic!("{step}: old opens: {old:?}, new opens: {new:?}"),
        }
        let info = as_user(&k, BOB, &current, &["msp-info", "--format", "json"]).json();
        assert_eq!(
            info["managed_companies"].as_array().map(Vec::len),
            Some(2),
            "{step}"
        );
        let tree = as_user(&k, BOB, &current, &["ls", "Kept"]).ok();
        assert!(tree.contains("In folder"), "{step}: {tree}");
    }
    // SIGKILL while the re-key is provably inside its open transaction
    // (held at a point, as rotation tests hold theirs): the old password
    // only, every record.
    for point in ["rekey-midway", "rekey-before-commit"] {
        let hold = k.data_dir().join(format!("hold-{point}"));
        std::fs::write(&hold, "").expect("hold file");
        let mut child = rekey_cmd(&k, BOB, &current, "held-pw")
            .env("KEEPER_HOLD", point)
            .env("KEEPER_HOLD_FILE", &hold)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn keeper");
        let reached = hold.with_file_name(format!("hold-{point}.reached"));
        let start = std::time::Instant::now();
        while !reached.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{point} never reached"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        std::fs::remove_file(&hold).expect("release");
        assert_eq!(
            titles(&current),
            Some(all.clone()),
            "{point}: the old keys stay"
        );
        assert_eq!(
            titles("held-pw"),
            None,
            "{point}: the new password opens nothing"
        );
    }
    eprintln!("killed re-keys: {old_kept} left the old keys, {new_taken} the new ones");
    assert!(old_kept >= 2 && new_taken >= 1, "{old_kept} / {new_taken}");
    // And it still re-keys normally.
    rekey(&k, BOB, &current, "final").ok();
    assert_eq!(titles("final"), Some(all));
}

/// Companies made before a re-key keep working: their records, roles and
/// nodes, through switch-to-mc; a company added afterwards too.
#[test]
fn companies_made_before_a_rekey_keep_working() {
    let k = provisioned();
    rekey(&k, BOB, FIRST_PW, MSP_PW).ok();
    let batch = |pw: &str, lines: &str| -> Run {
        let file = k.data_dir().join("lines.txt");
        std::fs::write(&file, lines).expect("write batch");
        as_user(&k, BOB, pw, &[file.to_str().expect("path")])
    };
    batch(
        MSP_PW,
        "switch-to-mc Acme\nadd -t \"Acme secret\" login=acme password=s3cret\n",
    )
    .ok();
    as_user(&k, BOB, MSP_PW, &["enterprise-role", "--add", "Helpdesk"]).ok();
    as_user(&k, BOB, MSP_PW, &["add", "-t", "MSP note", "login=msp"]).ok();

    let out = rekey(&k, BOB, MSP_PW, "bob-new").ok();
    assert!(out.contains("2 company tree keys"), "{out}");

    let acme = batch(
        "bob-new",
        "switch-to-mc Acme\nget \"Acme secret\" --unmask\n",
    )
    .ok();
    assert!(acme.contains("s3cret"), "{acme}");
    let roles = as_user(&k, BOB, "bob-new", &["enterprise-role"]).ok();
    assert!(roles.contains("Helpdesk"), "{roles}");
    let info = as_user(&k, BOB, "bob-new", &["msp-info", "--details"]).ok();
    assert!(info.contains("Bob's MSP"), "node names open: {info}");
    as_user(
        &k,
        BOB,
        "bob-new",
        &["msp-add", "-p", "business", "-s", "1", "Later"],
    )
    .ok();
    let later = batch(
        "bob-new",
        "switch-to-mc Later\nadd -t \"Later secret\" login=l\nls -l\n",
    )
    .ok();
    assert!(later.contains("Later secret"), "{later}");
    let own = as_user(&k, BOB, "bob-new", &["ls", "-l"]).ok();
    assert!(own.contains("MSP note"), "{own}");
}

/// `store migrate` carries who must re-key: on the copy too, the admin
/// is refused until they do.
#[test]
fn store_migrate_carries_must_rekey() {
    let k = provisioned();
    let (to, _keep) = other_backend(&k);
    as_user(
        &k,
        "alice@example.com",
        crate::vault::PW,
        &["store", "migrate", "--to", &to],
    )
    .ok();
    let err = as_user(&k, BOB, FIRST_PW, &["--store", &to, "msp-info"]).fails();
    assert!(err.contains("must be re-keyed before use"), "{err}");
    let mut cmd = keeper(&k, &["--store", &to, "enterprise-rekey"]);
    cmd.env("KEEPER_USER", BOB)
        .env("KEEPER_PASSWORD", FIRST_PW)
        .env("KEEPER_NEW_MASTER_PASSWORD", MSP_PW);
    Run(cmd.output().expect("run")).ok();
    as_user(&k, BOB, MSP_PW, &["--store", &to, "msp-info"]).ok();
    // The original is untouched.
    assert_eq!(flagged(&k), "1");
}

/// After the re-key, none of the old wrapped keys and sealed names is left
/// anywhere in the SQLite file or its log (`secure_delete`, then the log
/// truncated, while another process holds the file open): not the admin's
/// old header, nor the MSP's old tree key row,
/// nor its nodes' or companies' old rows.
#[test]
fn the_old_rows_leave_no_copy_in_the_sqlite_file() {
    let k = provisioned();
    if !k.has_vault_file() {
        return;
    }
    let blobs = |k: &Keeper| -> Vec<Vec<u8>> {
        [
            "SELECT wrapped_data_key FROM {t}users WHERE email = 'bob@msp.example'",
            "SELECT wrapped_private_key FROM {t}users WHERE email = 'bob@msp.example'",
            "SELECT a.wrapped_tree_key FROM {t}enterprise_admins a JOIN {t}users u \
             ON u.uid = a.user_uid WHERE u.email = 'bob@msp.example'",
            "SELECT n.data FROM {t}enterprise_nodes n JOIN {t}users u \
             ON u.tenant_uid = n.tenant_uid WHERE u.email = 'bob@msp.example'",
            "SELECT m.wrapped_tree_key FROM {t}managed_companies m JOIN {t}users u \
             ON u.tenant_uid = m.msp_uid WHERE u.email = 'bob@msp.example'",
        ]
        .iter()
        .flat_map(|sql| raw_rows(k, sql))
        .map(|h| unhex(&h))
        .collect()
    };
    let old = blobs(&k);
    assert_eq!(
        old.len(),
        6,
        "header, key pair, tree key, root node, 2 companies"
    );
    let bytes = vault_bytes(&k);
    assert!(
        old.iter()
            .all(|b| bytes.windows(b.len()).any(|w| w == b.as_slice())),
        "the blobs are found before (the search works)"
    );
    // Another process keeps the vault open (its log is not removed when
    // keeper exits): only the re-key's own truncation empties it.
    let other = rusqlite::Connection::open(k.data_dir().join("vault.db")).expect("open");
    other
        .query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))
        .expect("read");
    rekey(&k, BOB, FIRST_PW, MSP_PW).ok();
    let now = blobs(&k);
    assert!(old.iter().all(|b| !now.contains(b)), "every row replaced");
    let bytes = vault_bytes(&k);
    drop(other);
    for (i, blob) in old.iter().enumerate() {
        assert!(
            !bytes.windows(blob.len()).any(|w| w == blob.as_slice()),
            "old blob {i} is still in the file or its log"
        );
    }
}

/// A `keeper shell` that unlocked before another process re-keyed the
/// admin writes nothing more: neither a record (it would be wrapped under
/// the old data key) nor a password change (it would store the old data
/// key beside the new key pair, an account nothing opens); every raw row
/// stays as the re-key left it and the new password opens everything.
#[test]
fn a_shell_unlocked_before_a_rekey_writes_nothing() {
    use std::io::{BufRead as _, BufReader, Write as _};

    let k = provisioned();
    rekey(&k, BOB, FIRST_PW, MSP_PW).ok();
    let mut shell = keeper(&k, &["shell"])
        .env("KEEPER_USER", BOB)
        .env("KEEPER_PASSWORD", MSP_PW)
        .env("KEEPER_NEW_MASTER_PASSWORD", "bob-third")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the shell");
    let mut stdin = shell.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(shell.stdout.take().expect("stdout"));
    writeln!(stdin, "add -t Before login=b").expect("write");
    let mut uid = String::new();
    stdout.read_line(&mut uid).expect("the first add's uid");
    assert!(!uid.trim().is_empty(), "the shell unlocked and added");

    rekey(&k, BOB, MSP_PW, "bob-new").ok();
    let rows = |k: &Keeper| {
        [
            "SELECT uid, kdf, wrapped_data_key, wrapped_private_key, public_key FROM {t}users",
            "SELECT uid, tenant_uid, owner_uid FROM {t}records ORDER BY uid",
            "SELECT record_uid, holder_uid, wrapped_key FROM {t}record_keys ORDER BY record_uid, holder_uid",
        ]
        .iter()
        .flat_map(|sql| raw_rows(k, sql))
        .collect::<Vec<_>>()
    };
    let before = rows(&k);
    writeln!(stdin, "change-master-password").expect("write");
    writeln!(stdin, "add -t Stale login=s").expect("write");
    drop(stdin);
    let out = shell.wait_with_output().expect("the shell ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "the keys of bob@msp.example (enterprise-rekey or change-master-password in another \
             process) changed since this session unlocked; log in again (nothing was written)"
        ),
        "{stderr}"
    );
    assert_eq!(rows(&k), before, "no raw row changed");

    for wrong in [MSP_PW, "bob-third"] {
        let run = as_user(&k, BOB, wrong, &["ls"]);
        assert!(
            run.stderr().contains("wrong master password"),
            "{}",
            run.stderr()
        );
    }
    let listed = as_user(&k, BOB, "bob-new", &["ls", "-l"]).ok();
    assert!(
        listed.contains("Before") && !listed.contains("Stale"),
        "{listed}"
    );
    as_user(&k, BOB, "bob-new", &["msp-info", "--details"]).ok();
}

/// The MSP's and its companies' names come from the distributor's file:
/// the re-key's warning about the distributor prints them escaped, so a
/// name cannot rewrite the warning on the admin's terminal.
#[test]
fn the_rekey_prints_distributor_chosen_names_escaped() {
    let k = crate::automation::vault();
    let file = k.data_dir().join("d.toml");
    std::fs::write(
        &file,
        "[[msps]]\nname = \"Eve\\u001b[2K\\rMSP\"\nadmin = \"eve@msp.example\"\n\
         [[msps.pool]]\nplan = \"business\"\ntotal = 5\n\
         [[msps.companies]]\nname = \"x\\u001b[2K\\u001b[1A\\rCo\"\nplan = \"business\"\nseats = 1\n",
    )
    .expect("write the file");
    Run(keeper(
        &k,
        &[
            "enterprise-init",
            "--distributor",
            "D",
            "--licences",
            file.to_str().expect("path"),
        ],
    )
    .env("KEEPER_PASSWORD", crate::vault::PW)
    .env("KEEPER_NEW_USER_PASSWORD", FIRST_PW)
    .output()
    .expect("run"))
    .ok();
    let out = rekey(&k, "eve@msp.example", FIRST_PW, MSP_PW).ok();
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    assert!(out.contains("Eve\\u{1b}[2K\\rMSP"), "{out}");
    assert!(out.contains("x\\u{1b}[2K\\u{1b}[1A\\rCo"), "{out}");
}

/// Another process holding a read transaction open keeps SQLite from
/// truncating its log: the re-key still succeeds, and warns that the
/// old wrapped keys may remain in the log, naming it.
#[test]
fn a_reader_holding_a_snapshot_gets_a_warning_not_a_silent_copy() {
    let k = provisioned();
    if !k.has_vault_file() {
        return;
    }
    let other = rusqlite::Connection::open(k.data_dir().join("vault.db")).expect("open");
    other
        .execute_batch("BEGIN; SELECT count(*) FROM users;")
        .expect("a read transaction");
    let run = rekey(&k, BOB, FIRST_PW, MSP_PW);
    run.ok();
    other.execute_batch("COMMIT").expect("commit");
    assert!(
        run.stderr().contains(
            "warning: re-keyed, but another process was reading the vault, so the old wrapped keys \
             may remain in"
        ) && run.stderr().contains("vault.db-wal"),
        "{}",
        run.stderr()
    );
    as_user(&k, BOB, MSP_PW, &["msp-info"]).ok();
}
