//! Scripted in-memory servers for what the real servers here cannot show:
//! impostor servers (a wrong SCRAM signature, AuthenticationOk without
//! one), methods keeper refuses (cleartext unless allowed, SCRAM with
//! channel binding only, GSSAPI), malformed messages, and that every
//! message goes out in one write. The SCRAM server side is implemented
//! from RFC 5802 here, independently of the client's code paths.
#![allow(clippy::unwrap_used)]

use std::io::{self, Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use keeper_postgres_protocol::auth::{md5_response, salted_password};
use keeper_postgres_protocol::{AuthMethod, Conn, ConnectOptions, PgError};
use sha2::{Digest, Sha256};

/// A fake socket: every `write` is recorded and handed to the server
/// closure, whose reply is what the client reads next.
struct Fake<F> {
    server: F,
    pending: io::Cursor<Vec<u8>>,
    writes: Vec<Vec<u8>>,
}

impl<F: FnMut(&[u8]) -> Vec<u8>> Fake<F> {
    fn new(server: F) -> Self {
        Self {
            server,
            pending: io::Cursor::new(Vec::new()),
            writes: Vec::new(),
        }
    }
}

impl<F> Read for Fake<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Small pieces exercise reassembly.
        let n = buf.len().min(5);
        self.pending.read(&mut buf[..n])
    }
}

impl<F: FnMut(&[u8]) -> Vec<u8>> Write for Fake<F> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.writes.push(b.to_vec());
        let mut rest = self.pending.get_ref()[self.pending.position() as usize..].to_vec();
        rest.extend((self.server)(b));
        self.pending = io::Cursor::new(rest);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn auth(code: i32, extra: &[u8]) -> Vec<u8> {
    let mut body = code.to_be_bytes().to_vec();
    body.extend_from_slice(extra);
    msg(b'R', &body)
}

fn ready() -> Vec<u8> {
    [
        msg(b'S', b"server_version\x0015.4 (Debian)\0"),
        msg(b'K', &[0, 0, 0, 1, 0, 0, 0, 2]),
        msg(b'Z', b"I"),
    ]
    .concat()
}

fn error(code: &str, message: &str) -> Vec<u8> {
    msg(b'E', format!("SFATAL\0C{code}\0M{message}\0\0").as_bytes())
}

/// The body of a frontend message (after type byte and length).
fn body(frame: &[u8]) -> &[u8] {
    &frame[5..]
}

type HmacSha256 = Hmac<Sha256>;
fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// How the scripted SCRAM server misbehaves.
#[derive(Clone, Copy, PartialEq)]
enum Scram {
    Honest,
    WrongSignature,
    SkipsFinal,
}

/// A SCRAM-SHA-256 server that knows `password`'s verifier (salt
/// "saltsaltsaltsalt", 4096 iterations) and checks the client's proof.
fn scram_server(password: &'static str, mode: Scram) -> impl FnMut(&[u8]) -> Vec<u8> {
    let salt = b"saltsaltsaltsalt".to_vec();
    let salted = salted_password(password, &salt, 4096);
    let stored_key = Sha256::digest(hmac(salted.as_ref(), b"Client Key")).to_vec();
    let server_key = hmac(salted.as_ref(), b"Server Key");
    let mut step = 0;
    let mut client_first_bare = String::new();
    let mut server_first = String::new();
    move |frame| {
        step += 1;
        match step {
            1 => auth(10, b"SCRAM-SHA-256\0\0"),
            2 => {
                // SASLInitialResponse: mechanism, length, client-first.
                let b = body(frame);
                let mech_end = b.iter().position(|c| *c == 0).unwrap();
                assert_eq!(&b[..mech_end], b"SCRAM-SHA-256");
                let first = std::str::from_utf8(&b[mech_end + 5..]).unwrap();
                client_first_bare = first.strip_prefix("n,,").unwrap().to_string();
                let nonce = client_first_bare.split("r=").nth(1).unwrap();
                server_first = format!("r={nonce}SERVERNONCE,s={},i=4096", B64.encode(&salt));
                auth(11, server_first.as_bytes())
            }
            3 => {
                let last = std::str::from_utf8(body(frame)).unwrap();
                let (without_proof, proof) = last.rsplit_once(",p=").unwrap();
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let signature = hmac(&stored_key, auth_message.as_bytes());
                let client_key: Vec<u8> = B64
                    .decode(proof)
                    .unwrap()
                    .iter()
                    .zip(&signature)
                    .map(|(p, s)| p ^ s)
                    .collect();
                if Sha256::digest(&client_key).as_slice() != stored_key.as_slice() {
                    return error("28P01", "password authentication failed for user \"app\"");
                }
                let mut server_signature = hmac(&server_key, auth_message.as_bytes());
                if mode == Scram::WrongSignature {
                    server_signature[0] ^= 1;
                }
                let final_msg = auth(12, format!("v={}", B64.encode(server_signature)).as_bytes());
                if mode == Scram::SkipsFinal {
                    [auth(0, b""), ready()].concat()
                } else {
                    [final_msg, auth(0, b""), ready()].concat()
                }
            }
            _ => {
                // Queries: one row, then ready.
                if frame[0] == b'Q' {
                    [
                        msg(
                            b'T',
                            b"\0\x01one\0\0\0\0\0\0\0\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0",
                        ),
                        msg(b'D', b"\0\x01\0\0\0\x011"),
                        msg(b'C', b"SELECT 1\0"),
                        msg(b'Z', b"I"),
                    ]
                    .concat()
                } else {
                    Vec::new()
                }
            }
        }
    }
}

#[test]
fn scram_login_checks_the_server_and_sends_each_message_in_one_write() {
    let mut fake = Fake::new(scram_server("pencil", Scram::Honest));
    let mut conn = Conn::connect(&mut fake, &ConnectOptions::new("app", "pencil")).unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::ScramSha256);
    assert_eq!(conn.server_version_num(), Some(150004));
    let r = conn.query("SELECT 1").unwrap();
    assert_eq!(r.columns, ["one"]);
    assert_eq!(r.rows, [[Some("1".to_string())]]);
    assert_eq!(r.tag, "SELECT 1");
    conn.close().unwrap();
    // startup, SASLInitialResponse, SASLResponse, Query, Terminate.
    assert_eq!(fake.writes.len(), 5);
    assert!(
        fake.writes
            .iter()
            .all(|w| !w.windows(6).any(|x| x == b"pencil"))
    );
    assert_eq!(fake.writes[4], b"X\0\0\0\x04");
}

#[test]
fn a_wrong_password_is_an_auth_error() {
    let mut fake = Fake::new(scram_server("pencil", Scram::Honest));
    let err = Conn::connect(&mut fake, &ConnectOptions::new("app", "crayon")).unwrap_err();
    assert!(
        matches!(&err, PgError::Auth { code, .. } if code == "28P01"),
        "{err}"
    );
}

#[test]
fn impostor_servers_are_refused() {
    for mode in [Scram::WrongSignature, Scram::SkipsFinal] {
        let mut fake = Fake::new(scram_server("pencil", mode));
        let err = Conn::connect(&mut fake, &ConnectOptions::new("app", "pencil")).unwrap_err();
        assert!(
            matches!(&err, PgError::Auth { message, .. } if message.contains("impostor")),
            "{err}"
        );
    }
}

#[test]
fn md5_login_answers_the_salted_challenge() {
    let mut step = 0;
    let mut fake = Fake::new(move |frame: &[u8]| {
        step += 1;
        match step {
            1 => auth(5, &[9, 8, 7, 6]),
            2 => {
                let expected = md5_response("s3cret", "app", [9, 8, 7, 6]);
                assert_eq!(body(frame), [expected.as_bytes(), b"\0"].concat());
                [auth(0, b""), ready()].concat()
            }
            _ => Vec::new(),
        }
    });
    let conn = Conn::connect(&mut fake, &ConnectOptions::new("app", "s3cret")).unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::Md5);
}

#[test]
fn cleartext_is_refused_unless_allowed_and_then_sent_once() {
    let server = || {
        let mut step = 0;
        move |frame: &[u8]| {
            step += 1;
            match step {
                1 => auth(3, b""),
                2 => {
                    assert_eq!(body(frame), b"plain-pw\0");
                    [auth(0, b""), ready()].concat()
                }
                _ => Vec::new(),
            }
        }
    };
    let mut fake = Fake::new(server());
    let err = Conn::connect(&mut fake, &ConnectOptions::new("app", "plain-pw")).unwrap_err();
    assert!(matches!(err, PgError::Unsupported(m) if m.contains("clear text")));
    assert_eq!(fake.writes.len(), 1, "only the startup message was sent");
    let mut fake = Fake::new(server());
    let conn = Conn::connect(
        &mut fake,
        &ConnectOptions::new("app", "plain-pw").allow_cleartext(true),
    )
    .unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::Cleartext);
}

#[test]
fn unsupported_methods_are_named() {
    for (reply, what) in [
        (auth(10, b"SCRAM-SHA-256-PLUS\0\0"), "channel binding"),
        (auth(7, b""), "GSSAPI"),
        (auth(9, b""), "SSPI"),
        (auth(2, b""), "Kerberos"),
    ] {
        let mut fake = Fake::new(move |_: &[u8]| reply.clone());
        let err = Conn::connect(&mut fake, &ConnectOptions::new("app", "pw")).unwrap_err();
        assert!(
            matches!(&err, PgError::Unsupported(m) if m.contains(what)),
            "{what}: {err}"
        );
    }
}

#[test]
fn the_startup_message_names_role_and_database() {
    let mut fake = Fake::new(|_: &[u8]| [auth(0, b""), ready()].concat());
    let conn = Conn::connect(
        &mut fake,
        &ConnectOptions::new("Ro\"le", "pw").database("db 1"),
    )
    .unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::Trust);
    drop(conn);
    let startup = &fake.writes[0];
    assert_eq!(&startup[4..8], &196_608i32.to_be_bytes());
    let text = String::from_utf8_lossy(&startup[8..]);
    assert!(
        text.starts_with("user\0Ro\"le\0database\0db 1\0"),
        "{text:?}"
    );
    assert!(text.ends_with("\0\0"));
}

#[test]
fn nul_in_names_or_passwords_is_refused_before_sending() {
    for options in [
        ConnectOptions::new("a\0b", "pw"),
        ConnectOptions::new("app", "p\0w"),
        ConnectOptions::new("app", "pw").database("d\0b"),
    ] {
        let mut fake = Fake::new(|_: &[u8]| Vec::new());
        assert!(matches!(
            Conn::connect(&mut fake, &options),
            Err(PgError::InvalidInput(_))
        ));
        assert!(fake.writes.is_empty());
    }
}

#[test]
fn a_failed_statement_leaves_the_connection_usable() {
    let mut step = 0;
    let mut fake = Fake::new(move |_: &[u8]| {
        step += 1;
        match step {
            1 => [auth(0, b""), ready()].concat(),
            2 => [
                msg(b'N', b"SNOTICE\0C00000\0Mhello\0\0"),
                error("42501", "permission denied to alter role"),
                msg(b'Z', b"I"),
            ]
            .concat(),
            3 => [msg(b'C', b"ALTER ROLE\0"), msg(b'Z', b"I")].concat(),
            _ => Vec::new(),
        }
    });
    let mut conn = Conn::connect(&mut fake, &ConnectOptions::new("app", "pw")).unwrap();
    let err = conn.query("ALTER ROLE x PASSWORD 'y'").unwrap_err();
    assert!(
        matches!(&err, PgError::Server { code, .. } if code == "42501"),
        "{err}"
    );
    assert_eq!(
        conn.query("ALTER ROLE x PASSWORD 'y'").unwrap().tag,
        "ALTER ROLE"
    );
}

#[test]
fn malformed_servers_are_protocol_errors_not_panics() {
    let cases: Vec<Vec<u8>> = vec![
        msg(b'R', b"\0\0"),            // truncated auth code
        auth(5, &[1, 2]),              // truncated md5 salt
        auth(10, b"SCRAM-SHA-256"),    // unterminated list
        msg(b'Q', b""),                // unexpected type
        b"R\x7f\xff\xff\xff".to_vec(), // absurd length
        auth(11, b"r=x,s=y,i=1"),      // SASLContinue without SASL
        [auth(0, b""), msg(b'S', b"no-terminator")].concat(),
    ];
    for reply in cases {
        let r = reply.clone();
        let mut fake = Fake::new(move |_: &[u8]| r.clone());
        let err = Conn::connect(&mut fake, &ConnectOptions::new("app", "pw")).unwrap_err();
        assert!(
            matches!(err, PgError::Protocol(_) | PgError::Io(_)),
            "{reply:?}: {err}"
        );
    }
}
