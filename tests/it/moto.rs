//! A private moto server (PyPI `moto[server]`), the labelled local stand-in
//! for AWS IAM that the awspswd and awskey tests run against: started per
//! test on a loopback port with request authentication on, so every call
//! must carry a valid SigV4 signature from a key moto issued and a policy
//! allowing it. AWS itself cannot be reached from here. The tests read its
//! state from `/moto-api/data.json` (which keeps deleted objects too) and
//! through calls they sign themselves, never through the plugin under test.

use std::cell::Cell;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keeper_aws_iam::iam::form_encode;
use keeper_aws_iam::sigv4::{Signer, Unsigned, amz_date, sign};
use serde_json::Value;

/// A private moto server.
pub struct Moto {
    child: Child,
    addr: SocketAddr,
    /// Setup calls still to make before moto checks every request.
    unauthenticated: Cell<usize>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto on a free loopback port, letting the first
    /// `unauthenticated` calls (the setup, through [`Moto::setup`])
    /// through without a signature; every later request is checked.
    pub fn launch(unauthenticated: usize) -> Self {
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
            .env("INITIAL_NO_AUTH_ACTION_COUNT", unauthenticated.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server (scripts/lib.sh ensure_moto installs moto[server])");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut moto = Self {
            child,
            addr,
            unauthenticated: Cell::new(unauthenticated),
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
        moto
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One of the unauthenticated setup calls (moto still wants to see an
    /// IAM credential scope to route it); the response body.
    pub fn setup(&self, params: &[(&str, &str)]) -> String {
        let left = self.unauthenticated.get();
        assert!(
            left > 0,
            "more setup calls than moto lets through: {params:?}"
        );
        self.unauthenticated.set(left - 1);
        let (status, text) = self.http(
            &body(params),
            "Authorization: AWS4-HMAC-SHA256 Credential=SETUP/20260101/us-east-1/iam/aws4_request, \
             SignedHeaders=host, Signature=0\r\n",
        );
        assert_eq!(status, 200, "{params:?}: {text}");
        text
    }

    /// An IAM call signed with `(key id, secret)`, as an AWS SDK sends it:
    /// the status and body.
    pub fn signed(&self, key: (&str, &str), params: &[(&str, &str)]) -> (u16, String) {
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        self.signed_call(key, "iam", &[("content-type", content_type)], &body(params))
    }

    /// A call to `service` (`iam`, `sts`, `secretsmanager`…) signed with
    /// `(key id, secret)`, with `headers` (lower-case, signed) and `body`:
    /// the status and body.
    pub fn signed_call(
        &self,
        (id, secret): (&str, &str),
        service: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        assert_eq!(
            self.unauthenticated.get(),
            0,
            "the setup must be over before signed calls are checked"
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let date = amz_date(now);
        let authority = self.addr.to_string();
        let auth = sign(
            &Unsigned {
                method: "POST",
                authority: &authority,
                path: "/",
                query: "",
                headers,
                body: body.as_bytes(),
            },
            &Signer {
                access_key_id: id,
                secret_access_key: secret,
                region: "us-east-1",
                service,
                amz_date: &date,
            },
        );
        let extra: String = headers
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .chain(auth.into_iter())
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        self.http(body, &extra)
    }

    /// moto's whole state.
    pub fn state(&self) -> Value {
        let (status, text) = self.request(&format!(
            "GET /moto-api/data.json HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        ));
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).expect("moto state JSON")
    }

    /// The console password moto holds for `user`.
    pub fn password(&self, user: &str) -> Option<String> {
        self.state()["iam"]["User"]
            .as_array()?
            .iter()
            .find(|u| u["name"] == user)?["password"]
            .as_str()
            .map(str::to_string)
    }

    /// `user`'s access keys as IAM lists them to `signer` (an
    /// administrator): `(id, status)`, in order. (moto's `data.json` also
    /// lists objects that were deleted, so keys are not read from it.)
    pub fn keys(&self, signer: (&str, &str), user: &str) -> Vec<(String, String)> {
        let (status, body) =
            self.signed(signer, &[("Action", "ListAccessKeys"), ("UserName", user)]);
        assert_eq!(status, 200, "{body}");
        keeper_aws_iam::iam::members(&body, "AccessKeyMetadata")
            .into_iter()
            .map(|k| (element(k, "AccessKeyId"), element(k, "Status")))
            .collect()
    }

    /// Whether `(key id, secret)` signs a request moto accepts (a
    /// `ListAccessKeys` of `user`).
    pub fn key_works(&self, key: (&str, &str), user: &str) -> bool {
        self.signed(key, &[("Action", "ListAccessKeys"), ("UserName", user)])
            .0
            == 200
    }

    fn http(&self, body: &str, headers: &str) -> (u16, String) {
        let headers = if headers.to_ascii_lowercase().contains("content-type") {
            headers.to_string()
        } else {
            format!("Content-Type: application/x-www-form-urlencoded\r\n{headers}")
        };
        self.request(&format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n{headers}\r\n{body}",
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

/// moto and the access key a test set it up with (an administrator's, or
/// the key of the user whose key is rotated).
pub struct Keyed {
    /// The server.
    pub moto: Moto,
    /// The key: id and secret.
    pub key: (String, String),
}

impl std::ops::Deref for Keyed {
    type Target = Moto;
    fn deref(&self) -> &Moto {
        &self.moto
    }
}

impl Keyed {
    /// The key as `(id, secret)`.
    pub fn pair(&self) -> (&str, &str) {
        (&self.key.0, &self.key.1)
    }

    /// Takes the key from a `CreateAccessKey` answer.
    pub fn new(moto: Moto, created: &str) -> Self {
        let key = (
            element(created, "AccessKeyId"),
            element(created, "SecretAccessKey"),
        );
        Self { moto, key }
    }
}

/// The form body of an IAM call (`Version` first).
fn body(params: &[(&str, &str)]) -> String {
    let mut body = String::from("Version=2010-05-08");
    for (k, v) in params {
        body.push_str(&format!("&{}={}", form_encode(k), form_encode(v)));
    }
    body
}

/// The text of the first `<name>` element of `xml`.
pub fn element(xml: &str, name: &str) -> String {
    keeper_aws_iam::iam::element(xml, name).unwrap_or_else(|| panic!("no <{name}> in {xml}"))
}
