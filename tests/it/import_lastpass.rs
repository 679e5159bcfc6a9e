//! `import --format lastpass EMAIL` against a local stand-in for LastPass's
//! servers (the real ones cannot be reached from here). The stand-in speaks
//! the protocol the plugin documents — iterations.php, login.php with the
//! PBKDF2 login hash, getaccts.php with the session cookie, logout.php — and
//! serves a vault blob this test encrypts itself with the plugin's testkit,
//! and getattach.php the attachments, encrypted the same way.
//! `--lastpass-server` makes it the one origin the sandbox lets through.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use keeper_plugin_lastpass::testkit::{
    PlainAccount, PlainAttachment, PlainShare, PlainVault, ShareKeyWrap, TestRng, server_fixture,
};

use crate::vault::{kp, vault};

pub(crate) const EMAIL: &str = "user@example.com";
pub(crate) const PASSWORD: &str = "lastpass master password";

/// Serves the LastPass protocol for the default fixture.
pub(crate) fn stand_in() -> (String, Arc<Mutex<Vec<String>>>) {
    stand_in_with(PlainVault {
        accounts: vec![
            PlainAccount::login("1", "Forum", "https://forum.example", "bob", "forum-pw"),
            PlainAccount::note("2", "Door code", "1234"),
        ],
        ..Default::default()
    })
}

/// What `getSharedFolderMembers.php` answers for a share id.
fn members_of(share_id: &str) -> &'static str {
    match share_id {
        "101" => {
            r#"{"users":[{"username":"alice@example.com","readonly":"0","can_administer":"1"},
                        {"username":"bob@old.example","readonly":"0","can_administer":"0"},
                        {"username":"ghost@old.example","readonly":"1","can_administer":"0"}],
               "groups":[{"name":"Ops","readonly":"1","can_administer":"0"}]}"#
        }
        _ => r#"{"error":"not_allowed"}"#,
    }
}

/// Serves the LastPass protocol for `vault`; returns the base URL and the
/// request lines it saw.
fn stand_in_with(vault: PlainVault) -> (String, Arc<Mutex<Vec<String>>>) {
    stand_in_at(5000, vault)
}

/// As [`stand_in_with`], with the account's PBKDF2 `iterations`.
fn stand_in_at(iterations: u32, vault: PlainVault) -> (String, Arc<Mutex<Vec<String>>>) {
    let fixture = server_fixture(EMAIL, PASSWORD, iterations, &vault, &mut TestRng::new(7));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0;
            let mut chunked = false;
            let mut cookie = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                    chunked = true;
                }
                if lower.starts_with("cookie:") {
                    cookie = line.trim().to_string();
                }
                if lower.starts_with("x-keeper-cache-key") {
                    log.lock()
                        .expect("log")
                        .push("LEAKED the host's cache header".to_string());
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            while chunked {
                let mut size = String::new();
                if reader.read_line(&mut size).is_err() {
                    break;
                }
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                if reader.read_exact(&mut chunk).is_err() {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
                chunked = n > 0;
            }
            let body = String::from_utf8_lossy(&body).into_owned();
            log.lock()
                .expect("log")
                .push(request_line.trim().to_string());
            let path = request_line.split_whitespace().nth(1).unwrap_or("");
            let answer = if path.starts_with("/iterations.php") {
                fixture.iterations.to_string()
            } else if path.starts_with("/login.php") {
                if body.contains(&format!("hash={}", fixture.login_hash)) {
                    r#"<ok sessionid="S3SS10N" />"#.to_string()
                } else {
                    r#"<response><error cause="unknownpassword" message="Invalid password" /></response>"#.to_string()
                }
            } else if path.starts_with("/getaccts.php") && cookie.contains("PHPSESSID=S3SS10N") {
                fixture.blob_base64.clone()
            } else if path.starts_with("/getattach.php") && cookie.contains("PHPSESSID=S3SS10N") {
                let key = body.strip_prefix("getattach=").unwrap_or("");
                let key = key.split('&').next().unwrap_or("");
                fixture
                    .attachments
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, b)| String::from_utf8(b.clone()).expect("base64 text"))
                    .unwrap_or_default()
            } else if let Some(id) = path
                .strip_prefix("/getSharedFolderMembers.php?shareid=")
                .filter(|_| cookie.contains("PHPSESSID=S3SS10N"))
            {
                members_of(id).to_string()
            } else {
                String::new()
            };
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (base, seen)
}

#[test]
fn online_import_through_the_granted_origin_only() {
    let (server, seen) = stand_in();
    let k = vault();
    let run = import_online(&k, &server, &[]);
    let out = run.ok();
    assert!(
        out.contains("2 records imported"),
        "{out}\n{}",
        run.stderr()
    );
    let export = kp(&k, &["export", "--format", "json"]).json();
    let records = export["records"].as_array().expect("records");
    let forum = records
        .iter()
        .find(|r| r["title"] == "Forum")
        .expect("Forum imported");
    assert_eq!(forum["login"], "bob");
    assert_eq!(forum["password"], "forum-pw");
    let requests = seen.lock().expect("log").clone();
    assert!(
        requests[0].starts_with("POST /iterations.php"),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.starts_with("GET /getaccts.php")),
        "{requests:?}"
    );
    assert!(
        !run.stderr().contains(PASSWORD),
        "the master password never shows"
    );
}

/// LastPass accounts use 600 000 PBKDF2 iterations: 1.1e10 fuel in the
/// sandbox, over the default CPU budget of 1e10 (measured by the sandbox
/// benchmark). The lastpass plugin asks for, and as a built-in is granted,
/// enough to log in.
#[test]
fn an_account_with_600_000_iterations_logs_in_within_the_cpu_budget() {
    let (server, _) = stand_in_at(
        600_000,
        PlainVault {
            accounts: vec![PlainAccount::login(
                "1",
                "Forum",
                "https://forum.example",
                "bob",
                "forum-pw",
            )],
            ..Default::default()
        },
    );
    let k = vault();
    let run = import_online(&k, &server, &[]);
    assert!(
        run.ok().contains("1 records imported"),
        "{}\n{}",
        run.stdout(),
        run.stderr()
    );
}

/// Runs `keeper import --format lastpass` against the stand-in with `extra` flags.
fn import_online(k: &crate::support::Keeper, server: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "import",
        "--format",
        "lastpass",
        EMAIL,
        "--lastpass-server",
        server,
    ];
    args.extend_from_slice(extra);
    crate::support::Run(
        k.cmd(&args)
            .env("KEEPER_PASSWORD", crate::vault::PW)
            .env("KEEPER_LASTPASS_PASSWORD", PASSWORD)
            .output()
            .expect("run keeper"),
    )
}

#[test]
fn attachments_are_downloaded_decrypted_and_kept_in_the_file_cache() {
    let content: Vec<u8> = b"%PDF-1.4 recovery codes\n\x00\x01\xff binary tail"
        .iter()
        .copied()
        .cycle()
        .take(50_000)
        .collect();
    let mut github = PlainAccount::login("1", "GitHub", "https://github.com", "octocat", "pw");
    github.attachments = vec![PlainAttachment {
        id: "a1".into(),
        mime: "application/pdf".into(),
        filename: "codes.pdf".into(),
        content: content.clone(),
        ..PlainAttachment::default()
    }];
    let (server, seen) = stand_in_with(PlainVault {
        accounts: vec![github],
        ..Default::default()
    });
    let downloads = || {
        seen.lock()
            .expect("log")
            .iter()
            .filter(|r| r.starts_with("POST /getattach.php"))
            .count()
    };
    let k = vault();
    let cache = k.data_dir().join("lastpass-cache");
    let cache_arg = cache.to_str().expect("utf8");

    // A dry run downloads nothing (as in Commander).
    let dry = import_online(&k, &server, &["--dry-run", "--file-cache", cache_arg]);
    assert!(dry.ok().contains("nothing was written"), "{}", dry.stderr());
    assert_eq!(downloads(), 0);

    let run = import_online(&k, &server, &["--file-cache", cache_arg]);
    assert!(run.ok().contains("1 records imported"), "{}", run.stderr());
    assert!(
        run.stderr().contains("stored 1 attachment(s)"),
        "{}",
        run.stderr()
    );
    assert_eq!(downloads(), 1);
    let out = k.data_dir().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    kp(
        &k,
        &[
            "download-attachment",
            "GitHub",
            "--out-dir",
            out.to_str().expect("utf8"),
        ],
    )
    .ok();
    assert!(
        std::fs::read(out.join("codes.pdf")).expect("downloaded") == content,
        "the attachment arrives decrypted and intact"
    );

    // The cache holds the download as LastPass served it: encrypted.
    let files: Vec<_> = std::fs::read_dir(&cache)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
        };
        assert_eq!(mode(&files[0]), 0o600, "cache files are private");
        assert_eq!(mode(&cache), 0o700, "so is the cache directory");
    }
    let cached = std::fs::read(&files[0]).expect("cache file");
    assert!(
        !cached.windows(23).any(|w| w == &content[..23]),
        "no plaintext in the cache"
    );

    // Another vault, the same cache: the attachment comes from the cache.
    let k2 = vault();
    let again = import_online(&k2, &server, &["--file-cache", cache_arg]);
    assert!(
        again.ok().contains("1 records imported"),
        "{}",
        again.stderr()
    );
    assert!(
        again.stderr().contains("stored 1 attachment(s)"),
        "{}",
        again.stderr()
    );
    assert_eq!(downloads(), 1, "served from the file cache");

    // A damaged cache file is fetched again, not imported damaged.
    std::fs::write(&files[0], b"!garbage|garbage").expect("damage");
    let k3 = vault();
    let third = import_online(&k3, &server, &["--file-cache", cache_arg]);
    assert!(
        third.stderr().contains("stored 1 attachment(s)"),
        "{}",
        third.stderr()
    );
    assert_eq!(downloads(), 2, "refetched past the damaged copy");

    // Without --file-cache nothing is cached and the download happens again.
    let k4 = vault();
    let plain = import_online(&k4, &server, &[]);
    assert!(
        plain.stderr().contains("stored 1 attachment(s)"),
        "{}",
        plain.stderr()
    );
    assert_eq!(downloads(), 3);
    assert!(
        !seen
            .lock()
            .expect("log")
            .iter()
            .any(|r| r.starts_with("LEAKED")),
        "the host's cache header never reaches the server"
    );
}

#[test]
fn more_attachments_than_one_call_may_request_all_arrive() {
    // 35 entries with 2 attachments each: 70 downloads, more than the 64
    // requests the host allows one call, spread over batches.
    let accounts: Vec<PlainAccount> = (0..35)
        .map(|i| {
            let mut a = PlainAccount::login(
                &format!("{}", 100 + i),
                &format!("Entry {i}"),
                "https://x.example",
                "me",
                "pw",
            );
            a.attachments = (0..2)
                .map(|j| PlainAttachment {
                    id: format!("a{i}-{j}"),
                    mime: "text/plain".into(),
                    filename: format!("file{j}.txt"),
                    content: format!("attachment {j} of entry {i}").into_bytes(),
                    ..PlainAttachment::default()
                })
                .collect();
            a
        })
        .collect();
    let (server, seen) = stand_in_with(PlainVault {
        accounts,
        ..Default::default()
    });
    let k = vault();
    let run = import_online(&k, &server, &["--show-skipped"]);
    assert!(run.ok().contains("35 records imported"), "{}", run.stderr());
    assert!(
        run.stderr().contains("stored 70 attachment(s)") && !run.stderr().contains("skipped:"),
        "{}",
        run.stderr()
    );
    let requests = seen.lock().expect("log").clone();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("POST /getattach.php"))
            .count(),
        70
    );
    assert!(
        requests
            .last()
            .is_some_and(|r| r.starts_with("GET /logout.php")),
        "logged out at the end: {requests:?}"
    );
}

#[test]
fn a_wrong_lastpass_password_imports_nothing() {
    let (server, _) = stand_in();
    let k = vault();
    let run = k
        .cmd(&[
            "import",
            "--format",
            "lastpass",
            EMAIL,
            "--lastpass-server",
            &server,
        ])
        .env("KEEPER_PASSWORD", crate::vault::PW)
        .env("KEEPER_LASTPASS_PASSWORD", "not the password")
        .output()
        .expect("run keeper");
    let run = crate::support::Run(run);
    let err = run.fails();
    assert!(
        err.to_lowercase().contains("authentication failed"),
        "{err}"
    );
    assert!(!err.contains("not the password"));
    let export = kp(&k, &["export", "--format", "json"]).json();
    assert!(
        export["records"].as_array().is_none_or(Vec::is_empty),
        "nothing imported"
    );
}

#[test]
fn download_membership_from_lastpass_then_apply_it() {
    let share = |id: &str, name: &str, key: u8| PlainShare {
        id: id.into(),
        name: name.into(),
        key: [key; 32],
        wrap: ShareKeyWrap::Aes,
        accounts: vec![PlainAccount::login(
            &format!("{id}1"),
            &format!("{name} login"),
            "https://x.example",
            "u",
            "p",
        )],
    };
    let (server, seen) = stand_in_with(PlainVault {
        accounts: vec![PlainAccount::login(
            "1",
            "Mine",
            "https://m.example",
            "me",
            "pw",
        )],
        shares: vec![
            share("101", "Shared-Ops", 9),
            share("202", "Shared-Secret", 8),
        ],
        ..Default::default()
    });
    let k = vault();
    crate::vault::add_user(&k, "bob@new.example", "bob-pw");
    let alice =
        |args: &[&str]| crate::vault::run_as(&k, Some("alice@example.com"), crate::vault::PW, args);
    alice(&["team", "add", "Ops"]).ok();
    let file = k.data_dir().join("shared_folder_membership.json");
    let file_arg = file.to_str().expect("utf8");
    let mut cmd = k.cmd(&[
        "download-membership",
        "--source",
        "lastpass",
        "--lastpass-user",
        EMAIL,
        "--lastpass-server",
        &server,
        "-od",
        "old.example",
        "-nd",
        "new.example",
        file_arg,
    ]);
    cmd.env("KEEPER_PASSWORD", crate::vault::PW)
        .env("KEEPER_USER", "alice@example.com")
        .env("KEEPER_LASTPASS_PASSWORD", PASSWORD);
    let run = crate::support::Run(cmd.output().expect("run keeper"));
    let out = run.ok();
    assert!(
        out.contains("1 shared folder memberships added"),
        "{out}\n{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("Shared-Secret: members not listed")
            && run.stderr().contains("not_allowed"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains(PASSWORD));
    let requests = seen.lock().expect("log").clone();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("getSharedFolderMembers.php?shareid=101")),
        "{requests:?}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("file written")).expect("JSON");
    let sf = &doc["shared_folders"][0];
    assert_eq!(sf["path"], "Shared-Ops");
    assert_eq!(
        sf["permissions"],
        serde_json::json!([
            {"name": "alice@example.com", "manage_users": true, "manage_records": true},
            {"name": "bob@new.example", "manage_users": false, "manage_records": true},
            {"name": "ghost@new.example", "manage_users": false, "manage_records": false},
            {"name": "Ops", "manage_users": false, "manage_records": false}
        ])
    );

    // Import the account (its shared folders come along), then apply.
    let mut cmd = k.cmd(&[
        "import",
        "--format",
        "lastpass",
        EMAIL,
        "--lastpass-server",
        &server,
    ]);
    cmd.env("KEEPER_PASSWORD", crate::vault::PW)
        .env("KEEPER_USER", "alice@example.com")
        .env("KEEPER_LASTPASS_PASSWORD", PASSWORD);
    crate::support::Run(cmd.output().expect("run keeper")).ok();
    let run = alice(&["apply-membership", file_arg]);
    run.ok();
    assert!(
        run.stderr().contains("2 added")
            && run.stderr().contains("not applied: user ghost@new.example"),
        "{}",
        run.stderr()
    );
    let bob = crate::vault::run_as(
        &k,
        Some("bob@new.example"),
        "bob-pw",
        &["get", "Shared-Ops login"],
    );
    assert!(bob.ok().contains("Shared-Ops login"));
    let again = alice(&["apply-membership", file_arg]);
    assert!(
        again.ok().contains("Nothing to change"),
        "{}",
        again.stderr()
    );
}
