//! The LastPass online protocol over the SDK's `http` helper: iterations,
//! login, vault blob, shared-folder members, attachments, logout. The
//! request builders and reply parsers are pure functions so they are tested
//! natively; [`login`] and [`Session`] send them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keeper_plugin_sdk::PluginError;
use keeper_plugin_sdk::http::{self, Method, Request, Response};

use crate::account::AttachmentRef;
use crate::kdf;

/// The iteration count used when the server's answer is unreadable (as
/// Commander does).
pub const DEFAULT_ITERATIONS: u32 = 100_100;

/// The largest blob accepted (base64 text).
pub const MAX_BLOB_BYTES: usize = 64 * 1024 * 1024;

/// The query of the blob request.
pub const BLOB_QUERY: &str = "mobile=1&b64=1&hash=0.0&hasplugin=3.0.23&requestsrc=cli";

/// The login reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginReply {
    /// `<ok sessionid=".." privatekeyenc="..">`.
    Ok {
        /// The session id (the `PHPSESSID` cookie).
        session_id: String,
        /// The encrypted RSA private key (hex), if sent.
        private_key_enc: Option<String>,
    },
    /// `<error cause=".." message=".." [iterations=".."]/>`.
    Error {
        /// The cause, e.g. `unknownpassword`.
        cause: String,
        /// LastPass's message.
        message: String,
        /// The iteration count to retry with, if the server says.
        iterations: Option<u32>,
    },
}

/// A logged-in LastPass session.
pub struct Session {
    server: String,
    cookie: String,
    /// The vault key.
    pub key: zeroize::Zeroizing<[u8; 32]>,
    /// `privatekeyenc` of the login reply (hex), if any.
    pub private_key_enc: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// A shared folder member as `getSharedFolderMembers.php` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user's e-mail or the group's name.
    pub name: String,
    /// A group (a Keeper team) rather than a user.
    pub group: bool,
    /// `can_administer == "1"`: may manage users.
    pub manage_users: bool,
    /// `readonly == "0"`: may manage records.
    pub manage_records: bool,
}

/// Logs in (steps 1 to 3 of the crate docs).
///
/// Fails with [`PluginError::AuthFailed`] for a wrong e-mail, password or
/// one-time code (or when LastPass asks for one), and
/// [`PluginError::Rejected`] / [`PluginError::Unreachable`] for other
/// server or transport failures.
pub fn login(
    server: &str,
    username: &str,
    password: &str,
    otp: Option<&str>,
) -> Result<Session, PluginError> {
    let server = server.trim_end_matches('/');
    let username = username.trim().to_lowercase();
    let resp = send(post(
        &format!("{server}/iterations.php"),
        &[("email", username.as_str())],
    ))?;
    let mut iterations = if resp.status == 200 {
        parse_iterations(&resp.text())
    } else {
        DEFAULT_ITERATIONS
    };
    let mut retried = false;
    let (session_id, private_key_enc, key) = loop {
        let key = kdf::derive_key(&username, password, iterations);
        let hash = kdf::login_hash(&key, password, iterations);
        let body = login_form(&username, &hash, iterations, otp);
        let resp = send(
            Request::new(Method::Post, format!("{server}/login.php"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )?;
        match parse_login_reply(&resp.text())? {
            LoginReply::Ok {
                session_id,
                private_key_enc,
            } => break (session_id, private_key_enc, key),
            LoginReply::Error {
                iterations: Some(n),
                ..
            } if !retried && n != iterations && n > 0 => {
                iterations = n;
                retried = true;
            }
            LoginReply::Error { cause, message, .. } => return Err(login_error(&cause, &message)),
        }
    };
    Ok(Session {
        server: server.to_owned(),
        cookie: format!("PHPSESSID={}", form_encode(&session_id)),
        key: key.into(),
        private_key_enc,
    })
}

impl Session {
    /// Downloads and decodes the vault blob (step 4).
    ///
    /// Fails with [`PluginError::Rejected`] when the server refuses, or
    /// [`PluginError::MalformedInput`] when the answer is not base64.
    pub fn blob(&self) -> Result<Vec<u8>, PluginError> {
        let resp = send(
            Request::new(
                Method::Get,
                format!("{}/getaccts.php?{BLOB_QUERY}", self.server),
            )
            .header("cookie", self.cookie.clone())
            .max_body(MAX_BLOB_BYTES),
        )?;
        if resp.status != 200 {
            return Err(PluginError::Rejected(format!(
                "LastPass refused the vault download (HTTP {})",
                resp.status
            )));
        }
        decode_blob(&resp.body)
    }

    /// The members of a shared folder:
    /// `GET SERVER/getSharedFolderMembers.php?shareid=<id>` with the
    /// session cookie (LastPass answers only to the folder's admins).
    ///
    /// Fails with [`PluginError::Rejected`] when LastPass refuses
    /// (`not_allowed`) or answers something unreadable.
    pub fn members(&self, share_id: &str) -> Result<Vec<Member>, PluginError> {
        let resp = send(
            Request::new(
                Method::Get,
                format!(
                    "{}/getSharedFolderMembers.php?shareid={}",
                    self.server,
                    form_encode(share_id)
                ),
            )
            .header("cookie", self.cookie.clone()),
        )?;
        if resp.status != 200 {
            return Err(PluginError::Rejected(format!("HTTP {}", resp.status)));
        }
        parse_members(&resp.text()).map_err(PluginError::Rejected)
    }

    /// Downloads an attachment and decrypts it (step 6 of the crate docs).
    /// The request carries the host's cache header, so with
    /// `import --file-cache` the encrypted answer is kept and reused;
    /// `refresh` bypasses a cached copy.
    ///
    /// Fails with the reason when LastPass refuses, the answer is larger
    /// than [`MAX_ATTACHMENT_DOWNLOAD`], or it does not decrypt.
    pub fn attachment(&self, a: &AttachmentRef, refresh: bool) -> Result<Vec<u8>, AttachmentError> {
        let mut form = vec![("getattach", a.storage_key.as_str())];
        if let Some(share) = &a.share_id {
            form.push(("sharedfolderid", share.as_str()));
        }
        let mut request = post(&format!("{}/getattach.php", self.server), &form)
            .header("cookie", self.cookie.clone())
            .header(CACHE_KEY_HEADER, a.storage_key.clone())
            .max_body(MAX_ATTACHMENT_DOWNLOAD);
        if refresh {
            request = request.header("cache-control", "no-cache");
        }
        let failed = |why: String| AttachmentError {
            why,
            undecryptable: false,
        };
        let resp = http::send(&request).map_err(|e| failed(format!("download failed: {e}")))?;
        if resp.status != 200 {
            return Err(failed(format!(
                "LastPass refused the download (HTTP {})",
                resp.status
            )));
        }
        decrypt_attachment(&resp.body, &a.key).map_err(|why| AttachmentError {
            why,
            undecryptable: true,
        })
    }

    /// Ends the session (best effort).
    pub fn logout(self) {
        let _ = http::send(
            &Request::new(
                Method::Get,
                format!("{}/logout.php?mobile=1&noredirect=1", self.server),
            )
            .header("cookie", self.cookie),
        );
    }
}

/// Reads `getSharedFolderMembers.php`'s JSON:
/// `{"users":[{"username","readonly":"0|1","can_administer":"0|1"}],"groups":[{"name",...}]}`
/// or `{"error":"not_allowed"}`. Commander's mapping: manage records =
/// `readonly == "0"`, manage users = `can_administer == "1"`.
///
/// Fails with the reason when the answer is an error or not that shape.
pub fn parse_members(body: &str) -> Result<Vec<Member>, String> {
    let v: serde_json::Value =
        serde_json::from_str(body.trim()).map_err(|_| "the member list is not JSON".to_owned())?;
    if let Some(e) = v.get("error") {
        let e = e.as_str().unwrap_or("error");
        return Err(if e == "not_allowed" {
            "LastPass lists members only to the folder's administrators (not_allowed)".to_owned()
        } else {
            format!("LastPass refused the member list ({e})")
        });
    }
    let flag = |m: &serde_json::Value, k: &str, on: &str| {
        m.get(k)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .is_some_and(|v| v == on)
    };
    let mut out = Vec::new();
    for (list, key, group) in [("users", "username", false), ("groups", "name", true)] {
        for m in v.get(list).and_then(|l| l.as_array()).into_iter().flatten() {
            let Some(name) = m
                .get(key)
                .and_then(|n| n.as_str())
                .filter(|n| !n.is_empty())
            else {
                continue;
            };
            out.push(Member {
                name: name.to_owned(),
                group,
                manage_users: flag(m, "can_administer", "1"),
                manage_records: flag(m, "readonly", "0"),
            });
        }
    }
    Ok(out)
}

/// Why an attachment was not downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentError {
    /// The reason.
    pub why: String,
    /// The answer came but did not decrypt (a damaged cached copy can be
    /// the cause: worth one retry past the cache).
    pub undecryptable: bool,
}

/// The request header that asks the host to cache an answer (keeper's
/// `--file-cache`); the host never sends it on.
pub const CACHE_KEY_HEADER: &str = "x-keeper-cache-key";

/// The largest attachment download accepted (the encrypted, base64 body).
pub const MAX_ATTACHMENT_DOWNLOAD: usize = 64 * 1024 * 1024;

/// Decrypts a `getattach.php` answer: the account's attachment key over
/// LastPass's text form (`!` + base64 IV + `|` + base64 ciphertext for CBC,
/// else base64 ECB), whose plaintext is the file in base64. The answer may
/// come JSON-quoted, with escaped characters (as lastpass-cli handles it).
///
/// Fails with the reason.
pub fn decrypt_attachment(body: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, String> {
    let mut text: Vec<u8> = body.trim_ascii().to_vec();
    if text.first() == Some(&b'"') && text.last() == Some(&b'"') && text.len() >= 2 {
        text = text[1..text.len() - 1]
            .iter()
            .copied()
            .filter(|&b| b != b'\\')
            .collect();
    }
    let plain = zeroize::Zeroizing::new(
        crate::cipher::decrypt_base64(&text, key)
            .map_err(|e| format!("it does not decrypt ({e})"))?,
    );
    STANDARD
        .decode(plain.trim_ascii())
        .map_err(|_| "its decrypted content is not base64".to_owned())
}

fn send(req: Request) -> Result<Response, PluginError> {
    http::send(&req).map_err(PluginError::from)
}

fn post(url: &str, form: &[(&str, &str)]) -> Request {
    Request::new(Method::Post, url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode_form(form))
}

/// The body of `login.php`.
pub fn login_form(username: &str, hash: &str, iterations: u32, otp: Option<&str>) -> Vec<u8> {
    let iterations = iterations.to_string();
    let mut form = vec![
        ("method", "cli"),
        ("xml", "2"),
        ("username", username),
        ("hash", hash),
        ("iterations", iterations.as_str()),
        ("includeprivatekeyenc", "1"),
    ];
    if let Some(otp) = otp.map(str::trim).filter(|o| !o.is_empty()) {
        form.push(("otp", otp));
    }
    encode_form(&form)
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
pub fn encode_form(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// Percent-encodes a form value (space as `+`).
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The iteration count from `iterations.php`; [`DEFAULT_ITERATIONS`] when
/// unreadable or not positive.
pub fn parse_iterations(body: &str) -> u32 {
    body.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_ITERATIONS)
}

/// Reads the XML reply of `login.php`.
///
/// Fails with [`PluginError::Rejected`] when it is neither `<ok>` nor
/// `<error>`.
pub fn parse_login_reply(body: &str) -> Result<LoginReply, PluginError> {
    if let Some(attrs) = tag_attributes(body, "ok") {
        let get = |name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if let Some(session_id) = get("sessionid").filter(|s| !s.is_empty()) {
            return Ok(LoginReply::Ok {
                session_id,
                private_key_enc: get("privatekeyenc").filter(|s| !s.is_empty()),
            });
        }
    }
    if let Some(attrs) = tag_attributes(body, "error") {
        let get = |name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        return Ok(LoginReply::Error {
            cause: get("cause").unwrap_or_default(),
            message: get("message").unwrap_or_default(),
            iterations: get("iterations").and_then(|n| n.trim().parse().ok()),
        });
    }
    Err(PluginError::Rejected(
        "LastPass sent an unexpected login reply".into(),
    ))
}

/// The error for a login failure `cause`.
pub fn login_error(cause: &str, message: &str) -> PluginError {
    match cause {
        "unknownemail" => PluginError::AuthFailed("LastPass does not know this e-mail address".into()),
        "unknownpassword" => PluginError::AuthFailed("LastPass refused the master password".into()),
        "googleauthrequired" | "otprequired" | "microsoftauthrequired" | "yubikeyrequired" => {
            PluginError::AuthFailed("LastPass asks for a one-time code: pass --otp".into())
        }
        "googleauthfailed" | "otpfailed" | "microsoftauthfailed" => {
            PluginError::AuthFailed("LastPass refused the one-time code".into())
        }
        "outofbandrequired" => PluginError::AuthFailed(
            "LastPass asks for out-of-band approval (push or phone), which keeper does not support: pass a one-time code with --otp".into(),
        ),
        "yubikeyrestricted" => PluginError::AuthFailed("LastPass requires a YubiKey, which keeper does not support".into()),
        _ if message.starts_with("Try again OR look for an email") => PluginError::AuthFailed(format!(
            "{message} (LastPass wants to verify this device: approve the e-mail it sent, then retry)"
        )),
        _ => PluginError::AuthFailed(format!("LastPass login failed ({cause}): {message}")),
    }
}

/// Decodes the base64 blob body (whitespace ignored).
///
/// Fails with [`PluginError::MalformedInput`] when it is not base64.
pub fn decode_blob(body: &[u8]) -> Result<Vec<u8>, PluginError> {
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(&text)
        .map_err(|e| PluginError::MalformedInput(format!("LastPass vault blob is not base64: {e}")))
}

/// The attributes of the first `<name ...>` tag in `xml`, entities decoded.
fn tag_attributes(xml: &str, name: &str) -> Option<Vec<(String, String)>> {
    let open = format!("<{name}");
    let mut from = 0;
    let start = loop {
        let i = from + xml.get(from..)?.find(&open)?;
        let after = xml.get(i + open.len()..)?.chars().next()?;
        if after.is_whitespace() || after == '>' || after == '/' {
            break i + open.len();
        }
        from = i + open.len();
    };
    let mut rest = xml.get(start..)?;
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('>') || rest.starts_with("/>") {
            return Some(attrs);
        }
        let eq = rest.find('=')?;
        let key = rest.get(..eq)?.trim().to_owned();
        rest = rest.get(eq + 1..)?.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let body = rest.get(1..)?;
        let end = body.find(quote)?;
        attrs.push((key, xml_unescape(body.get(..end)?)));
        rest = body.get(end + 1..)?;
    }
}

fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or(""));
        let tail = rest.get(i..).unwrap_or("");
        let Some(semi) = tail.find(';').filter(|n| *n <= 10) else {
            out.push('&');
            rest = tail.get(1..).unwrap_or("");
            continue;
        };
        let entity = tail.get(1..semi).unwrap_or("");
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = tail.get(semi + 1..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = tail.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_form_is_encoded() {
        let body = login_form("me+x@example.com", "abc", 600000, Some(" 123456 "));
        assert_eq!(
            String::from_utf8_lossy(&body),
            "method=cli&xml=2&username=me%2Bx%40example.com&hash=abc&iterations=600000&includeprivatekeyenc=1&otp=123456"
        );
        let body = login_form("a@b", "h", 1, None);
        assert!(!String::from_utf8_lossy(&body).contains("otp"));
    }

    #[test]
    fn login_replies_are_read() {
        assert_eq!(
            parse_login_reply(
                r#"<?xml version="1.0"?><ok uid="1" sessionid="S&amp;1" privatekeyenc="ab12" />"#
            ),
            Ok(LoginReply::Ok {
                session_id: "S&1".into(),
                private_key_enc: Some("ab12".into())
            })
        );
        assert_eq!(
            parse_login_reply(
                r#"<response><error message="Invalid password" cause="unknownpassword" iterations='5000'/></response>"#
            ),
            Ok(LoginReply::Error {
                cause: "unknownpassword".into(),
                message: "Invalid password".into(),
                iterations: Some(5000)
            })
        );
        assert!(parse_login_reply("<html>nope</html>").is_err());
        assert!(parse_login_reply("<ok sessionid=").is_err());
        assert!(parse_login_reply("<okay sessionid=\"x\"/>").is_err());
    }

    #[test]
    fn causes_map_to_auth_failures() {
        assert_eq!(
            login_error("googleauthrequired", ""),
            PluginError::AuthFailed("LastPass asks for a one-time code: pass --otp".into())
        );
        assert!(matches!(
            login_error("unknownemail", ""),
            PluginError::AuthFailed(_)
        ));
        assert!(
            matches!(login_error("weird", "msg"), PluginError::AuthFailed(m) if m.contains("msg"))
        );
    }

    #[test]
    fn member_lists_are_read() {
        let members = parse_members(
            r#"{"users":[{"username":"a@x.com","readonly":"0","can_administer":"1"},
                        {"username":"b@x.com","readonly":"1","can_administer":"0"}],
               "groups":[{"name":"Ops","readonly":"0","can_administer":"0"}]}"#,
        )
        .expect("parses");
        assert_eq!(
            members,
            [
                Member {
                    name: "a@x.com".into(),
                    group: false,
                    manage_users: true,
                    manage_records: true
                },
                Member {
                    name: "b@x.com".into(),
                    group: false,
                    manage_users: false,
                    manage_records: false
                },
                Member {
                    name: "Ops".into(),
                    group: true,
                    manage_users: false,
                    manage_records: true
                },
            ]
        );
        assert!(
            parse_members(r#"{"error":"not_allowed"}"#)
                .is_err_and(|e| e.contains("administrators"))
        );
        assert!(parse_members("<html>").is_err());
    }

    #[test]
    fn iterations_and_blob_decoding() {
        assert_eq!(parse_iterations(" 600000\n"), 600_000);
        assert_eq!(parse_iterations("0"), DEFAULT_ITERATIONS);
        assert_eq!(parse_iterations("x"), DEFAULT_ITERATIONS);
        assert_eq!(decode_blob(b"T0s=\n"), Ok(b"OK".to_vec()));
        assert!(decode_blob(b"%%").is_err());
    }
}
