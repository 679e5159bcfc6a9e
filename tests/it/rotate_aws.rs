//! `keeper rotate` end to end with the awspswd plugin (the real
//! wasm32-wasip2 component embedded in keeper) against a local AWS IAM
//! stand-in: moto's server (PyPI `moto[server]`), started per test on a
//! loopback port, with request authentication on, so every call the plugin
//! makes must carry a valid SigV4 signature from a key moto issued and a
//! policy allowing it. AWS itself cannot be reached from here; moto is the
//! labelled stand-in. The stored password is read from moto's own state
//! (`/moto-api/data.json`), never through the plugin.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::crash::crash_at_every_stage;
use crate::support::Keeper;
use crate::vault::{add, kp, vault, vault_password};

/// Setup calls moto lets through unauthenticated before it checks every
/// request: the admin, its key and policy, one user and its console
/// password, and user `nopass` without one. Each test starts its own server.
const UNAUTHENTICATED_SETUP: usize = 6;

/// A private moto server.
struct Moto {
    child: Child,
    addr: SocketAddr,
    /// The administrator's access key id and secret.
    admin: (String, String),
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto on a free loopback port and creates an administrator
    /// (iam:* allowed) and IAM user `user` with console password `password`.
    fn start(user: &str, password: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env(
                "INITIAL_NO_AUTH_ACTION_COUNT",
                UNAUTHENTICATED_SETUP.to_string(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server (scripts/lib.sh ensure_moto installs moto[server])");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut moto = Self {
            child,
            addr,
            admin: (String::new(), String::new()),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start (is moto[server] installed?)"
            );
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto exited at start: {status} (pip install 'moto[server]')");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        moto.iam(&[("Action", "CreateUser"), ("UserName", "admin")]);
        let key = moto.iam(&[("Action", "CreateAccessKey"), ("UserName", "admin")]);
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
        moto.iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "admin"),
            ("PolicyName", "all-iam"),
            ("PolicyDocument", policy),
        ]);
        moto.iam(&[("Action", "CreateUser"), ("UserName", user)]);
        moto.iam(&[
            ("Action", "CreateLoginProfile"),
            ("UserName", user),
            ("Password", password),
        ]);
        moto.iam(&[("Action", "CreateUser"), ("UserName", "nopass")]);
        moto.admin = (
            element(&key, "AccessKeyId"),
            element(&key, "SecretAccessKey"),
        );
        moto
    }

    /// `http://127.0.0.1:PORT`.
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One of the unauthenticated setup calls (moto still wants to see an
    /// IAM credential scope to route it); the response body.
    fn iam(&self, params: &[(&str, &str)]) -> String {
        let mut body = String::from("Version=2010-05-08");
        for (k, v) in params {
            body.push_str(&format!("&{k}={}", form(v)));
        }
        let (status, text) = self.http(
            "POST",
            &body,
            "Authorization: AWS4-HMAC-SHA256 Credential=SETUP/20260101/us-east-1/iam/aws4_request, \
             SignedHeaders=host, Signature=0\r\n",
        );
        assert_eq!(status, 200, "{params:?}: {text}");
        text
    }

    /// The console password moto holds for `user`.
    fn password(&self, user: &str) -> Option<String> {
        let (status, text) = self.http_get("/moto-api/data.json");
        assert_eq!(status, 200, "{text}");
        let state: Value = serde_json::from_str(&text).expect("moto state JSON");
        state["iam"]["User"]
            .as_array()?
            .iter()
            .find(|u| u["name"] == user)?["password"]
            .as_str()
            .map(str::to_string)
    }

    fn http_get(&self, path: &str) -> (u16, String) {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        ))
    }

    fn http(&self, method: &str, body: &str, headers: &str) -> (u16, String) {
        self.request(&format!(
            "{method} / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{headers}\r\n{body}",
            self.addr,
            body.len()
        ))
    }

    fn request(&self, raw: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).expect("connect to moto");
        stream.write_all(raw.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

fn form(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn element(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).expect(name) + open.len();
    let end = start + xml[start..].find('<').expect("close");
    xml[start..end].to_string()
}

/// A record rotated by awspswd against `moto`, with the admin's key.
fn aws_record(k: &Keeper, title: &str, moto: &Moto, user: &str, password: &str) -> String {
    aws_record_with(k, title, moto, user, password, &moto.admin.1)
}

fn aws_record_with(
    k: &Keeper,
    title: &str,
    moto: &Moto,
    user: &str,
    password: &str,
    secret: &str,
) -> String {
    add(
        k,
        &[
            "-t",
            title,
            &format!("login={user}"),
            &format!("password={password}"),
            "c.text.cmdr:plugin=awspswd",
            &format!("c.text.cmdr:endpoint_url={}", moto.url()),
            &format!("c.text.cmdr:aws_access_key_id={}", moto.admin.0),
            &format!("c.secret.cmdr:aws_secret_access_key={secret}"),
        ],
    )
}

#[test]
fn awspswd_rotates_a_console_password_through_signed_calls() {
    let old = "Old-aws-pass-1!";
    let moto = Moto::start("alice", old);
    let k = vault();
    let uid = aws_record(&k, "aws alice", &moto, "alice", old);

    let run = kp(&k, &["rotate", &uid]);
    assert!(run.ok().contains("rotated"), "{}", run.stdout());
    let new = vault_password(&k, &uid);
    assert_ne!(new, old);
    assert_eq!(moto.password("alice").as_deref(), Some(new.as_str()));
    let printed = run.stdout() + &run.stderr();
    assert!(
        !printed.contains(&new) && !printed.contains(&moto.admin.1),
        "{printed}"
    );
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]);
    assert!(!audit.stdout().contains(&moto.admin.1));
    let audit = audit.json();
    assert_eq!(audit[0]["outcome"], "rotated");
    assert_eq!(audit[0]["plugin"], "awspswd");

    // A user without a console password gets one (as Commander does).
    assert_eq!(moto.password("nopass"), None);
    let nopass = aws_record(&k, "aws nopass", &moto, "nopass", "unused-1");
    kp(&k, &["rotate", &nopass]).ok();
    assert_eq!(moto.password("nopass"), Some(vault_password(&k, &nopass)));
}

#[test]
fn awspswd_a_wrong_key_or_user_fails_clearly_and_changes_nothing() {
    let old = "Real-aws-pass-2!";
    let moto = Moto::start("bob", old);
    let k = vault();
    // A wrong secret: moto's signature check refuses it.
    let bad_key = aws_record_with(&k, "bad key", &moto, "bob", old, "not-the-secret");
    let run = kp(&k, &["rotate", &bad_key]);
    run.fails();
    let err = run.stdout() + &run.stderr();
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");
    assert!(
        !err.contains("not-the-secret"),
        "the secret is never shown: {err}"
    );
    assert_eq!(vault_password(&k, &bad_key), old, "vault unchanged");
    assert_eq!(moto.password("bob").as_deref(), Some(old), "IAM unchanged");

    // A user IAM does not know: refused before any change.
    let ghost = aws_record(&k, "ghost", &moto, "ghost", old);
    let run = kp(&k, &["rotate", &ghost]);
    run.fails();
    let err = run.stdout() + &run.stderr();
    assert!(err.contains("NoSuchEntity"), "{err}");
    assert_eq!(vault_password(&k, &ghost), old);

    // A user name IAM could not have: refused in the sandbox.
    let hostile = aws_record(&k, "hostile user", &moto, "bob&Action=DeleteUser", old);
    let run = kp(&k, &["rotate", &hostile]);
    run.fails();
    let err = run.stdout() + &run.stderr();
    assert!(err.contains("not an IAM user name"), "{err}");
    assert_eq!(moto.password("bob").as_deref(), Some(old), "bob untouched");
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));
}

#[test]
fn awspswd_hostile_passwords_arrive_intact_and_only_the_granted_origin_opens() {
    let old = "Start-aws-pass-3!";
    let moto = Moto::start("carol", old);
    let k = vault();
    let uid = aws_record(&k, "carol", &moto, "carol", old);
    let new = "N'e\"w\\p;a--s s&Action=DeleteUser%00`1$$ é✓";
    kp(&k, &["rotate", &uid, "--password", new]).ok();
    assert_eq!(vault_password(&k, &uid), new);
    assert_eq!(moto.password("carol").as_deref(), Some(new));

    // An endpoint that is not an origin is a clear error before any call.
    let bad = add(
        &k,
        &[
            "-t",
            "bad endpoint",
            "login=carol",
            "password=x",
            "c.text.cmdr:plugin=awspswd",
            "c.text.cmdr:endpoint_url=http://127.0.0.1:1/path",
            "c.text.cmdr:aws_access_key_id=AKID",
            "c.secret.cmdr:aws_secret_access_key=s",
        ],
    );
    let run = kp(&k, &["rotate", &bad]);
    run.fails();
    let err = run.stdout() + &run.stderr();
    assert!(
        err.contains("cmdr:endpoint_url") && err.contains("origin"),
        "{err}"
    );
    assert_eq!(moto.password("carol").as_deref(), Some(new), "untouched");
}

#[test]
fn awspswd_a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    let old = "Crash-aws-pass-4!";
    crash_at_every_stage(
        |_| {
            let moto = Moto::start("crashy", old);
            let k = vault();
            let uid = aws_record(&k, "crashy", &moto, "crashy", old);
            (k, uid, moto)
        },
        |moto, password| moto.password("crashy").as_deref() == Some(password),
    );
}
