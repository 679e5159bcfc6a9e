//! `import --format lastpass EMAIL` against a local stand-in for LastPass's
//! servers (the real ones cannot be reached from here). The stand-in speaks
//! the protocol the plugin documents — iterations.php, login.php with the
//! PBKDF2 login hash, getaccts.php with the session cookie, logout.php — and
//! serves a vault blob this test encrypts itself with the plugin's testkit.
//! `--lastpass-server` makes it the one origin the sandbox lets through.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use keeper_plugin_lastpass::testkit::{PlainAccount, PlainVault, TestRng, server_fixture};

use crate::vault::{kp, vault};

const EMAIL: &str = "user@example.com";
const PASSWORD: &str = "lastpass master password";

/// Serves the LastPass protocol for one fixture; returns the base URL and
/// the request lines it saw.
fn stand_in() -> (String, Arc<Mutex<Vec<String>>>) {
    let vault = PlainVault {
        accounts: vec![
            PlainAccount::login("1", "Forum", "https://forum.example", "bob", "forum-pw"),
            PlainAccount::note("2", "Door code", "1234"),
        ],
        ..Default::default()
    };
    let fixture = server_fixture(EMAIL, PASSWORD, 5000, &vault, &mut TestRng::new(7));
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
        .env("KEEPER_LASTPASS_PASSWORD", PASSWORD)
        .output()
        .expect("run keeper");
    let run = crate::support::Run(run);
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
