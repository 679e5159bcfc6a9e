//! Scripted in-memory server conversations (packets built byte-by-byte from
//! the protocol documentation) for paths the local MariaDB cannot exercise:
//! caching_sha2_password fast path, full authentication with RSA (fetched
//! and pinned key), auth switch, handshake errors and malformed input.
#![allow(clippy::unwrap_used)]

use std::io::{self, Read, Write};

use keeper_mysql_protocol::auth::{
    scramble_caching_sha2, scramble_native, xor_password_with_scramble,
};
use keeper_mysql_protocol::{Conn, ConnectOptions, MysqlError, caps};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::{Oaep, RsaPrivateKey};

const SCRAMBLE: &[u8; 20] = b"\x01\x02\x03\x04\x05\x06\x07\x08abcdefghijkl";

/// Fake socket: serves canned bytes, records every `write` call separately.
struct Script {
    input: io::Cursor<Vec<u8>>,
    writes: Vec<Vec<u8>>,
}

impl Script {
    fn new(server_packets: &[Vec<u8>]) -> Self {
        Script {
            input: io::Cursor::new(server_packets.concat()),
            writes: Vec::new(),
        }
    }
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Deliver in small pieces to exercise reassembly.
        let n = buf.len().min(7);
        self.input.read(&mut buf[..n])
    }
}

impl Write for Script {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.writes.push(b.to_vec());
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Shares the script so the test can inspect it after `Conn` consumed it.
struct Shared(std::rc::Rc<std::cell::RefCell<Script>>);
impl Read for Shared {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(b)
    }
}
impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut v = vec![len[0], len[1], len[2], seq];
    v.extend_from_slice(payload);
    v
}

fn handshake(plugin: &str) -> Vec<u8> {
    let capabilities: u32 = caps::LONG_PASSWORD
        | caps::CONNECT_WITH_DB
        | caps::PROTOCOL_41
        | caps::TRANSACTIONS
        | caps::SECURE_CONNECTION
        | caps::MULTI_RESULTS
        | caps::PLUGIN_AUTH
        | caps::PLUGIN_AUTH_LENENC_CLIENT_DATA
        | caps::DEPRECATE_EOF;
    let c = capabilities.to_le_bytes();
    let mut p = vec![10];
    p.extend_from_slice(b"8.0.36\0");
    p.extend_from_slice(&42u32.to_le_bytes());
    p.extend_from_slice(&SCRAMBLE[..8]);
    p.push(0); // filler
    p.extend_from_slice(&c[..2]);
    p.push(255); // utf8mb4_0900_ai_ci
    p.extend_from_slice(&0x0002u16.to_le_bytes()); // autocommit
    p.extend_from_slice(&c[2..]);
    p.push(21); // auth plugin data length
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(&SCRAMBLE[8..]);
    p.push(0);
    p.extend_from_slice(plugin.as_bytes());
    p.push(0);
    packet(0, &p)
}

fn ok(seq: u8) -> Vec<u8> {
    packet(seq, &[0x00, 0, 0, 0x02, 0x00, 0, 0])
}

/// Split everything the client wrote into (seq, payload) packets, asserting
/// that every `write` call carried exactly one whole packet.
fn client_packets(s: &Script) -> Sent {
    s.writes
        .iter()
        .map(|w| {
            assert!(w.len() >= 4);
            let len = usize::from(w[0]) | usize::from(w[1]) << 8 | usize::from(w[2]) << 16;
            assert_eq!(w.len(), len + 4, "write call is not exactly one packet");
            (w[3], w[4..].to_vec())
        })
        .collect()
}

/// Extract (user, auth response, plugin) from a HandshakeResponse41.
fn parse_response(p: &[u8]) -> (u32, String, Vec<u8>, String) {
    let caps = u32::from_le_bytes(p[0..4].try_into().unwrap());
    assert_eq!(p[8], 45, "utf8mb4_general_ci");
    assert!(p[9..32].iter().all(|&b| b == 0));
    let rest = &p[32..];
    let nul = rest.iter().position(|&b| b == 0).unwrap();
    let user = String::from_utf8(rest[..nul].to_vec()).unwrap();
    let rest = &rest[nul + 1..];
    let alen = usize::from(rest[0]); // < 251 here
    let auth = rest[1..1 + alen].to_vec();
    let rest = &rest[1 + alen..];
    let nul = rest.iter().position(|&b| b == 0).unwrap();
    let plugin = String::from_utf8(rest[..nul].to_vec()).unwrap();
    (caps, user, auth, plugin)
}

/// Client packets as (sequence id, payload).
type Sent = Vec<(u8, Vec<u8>)>;

fn run(server: &[Vec<u8>], opts: &ConnectOptions) -> (Result<(), MysqlError>, Sent) {
    let script = std::rc::Rc::new(std::cell::RefCell::new(Script::new(server)));
    let res = Conn::connect(Shared(script.clone()), opts).map(|c| {
        // Dropping sends COM_QUIT; keep it out of the auth transcript.
        std::mem::forget(c);
    });
    let pk = client_packets(&script.borrow());
    (res, pk)
}

#[test]
fn caching_sha2_fast_path() {
    let server = [
        handshake("caching_sha2_password"),
        packet(2, &[0x01, 0x03]),
        ok(3),
    ];
    let (res, pk) = run(&server, &ConnectOptions::new("app", "s3cret"));
    res.unwrap();
    assert_eq!(pk.len(), 1);
    assert_eq!(pk[0].0, 1);
    let (caps_sent, user, auth, plugin) = parse_response(&pk[0].1);
    assert_eq!(user, "app");
    assert_eq!(plugin, "caching_sha2_password");
    assert_eq!(auth, scramble_caching_sha2(b"s3cret", SCRAMBLE));
    assert_eq!(
        caps_sent & caps::DEPRECATE_EOF,
        0,
        "client must not request DEPRECATE_EOF"
    );
    assert_ne!(caps_sent & caps::PLUGIN_AUTH_LENENC_CLIENT_DATA, 0);
    assert_eq!(caps_sent & caps::CONNECT_WITH_DB, 0);
}

fn test_key() -> (RsaPrivateKey, String) {
    let mut rng = rand_core::OsRng;
    let private = RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (private, pem)
}

fn assert_rsa_password(private: &RsaPrivateKey, ct: &[u8], password: &str) {
    assert_eq!(ct.len(), 256);
    let plain = private.decrypt(Oaep::new::<sha1::Sha1>(), ct).unwrap();
    assert_eq!(
        plain,
        xor_password_with_scramble(password.as_bytes(), SCRAMBLE).as_slice()
    );
}

#[test]
fn caching_sha2_full_auth_fetches_server_key() {
    let (private, pem) = test_key();
    let mut key_pkt = vec![0x01];
    key_pkt.extend_from_slice(pem.as_bytes());
    let server = [
        handshake("caching_sha2_password"),
        packet(2, &[0x01, 0x04]), // perform full authentication
        packet(4, &key_pkt),      // AuthMoreData: PEM public key
        ok(6),
    ];
    let pw = "p'w\"; --ż";
    let opts = ConnectOptions::new("app", pw).allow_public_key_retrieval(true);
    let (res, pk) = run(&server, &opts);
    res.unwrap();
    assert_eq!(pk.len(), 3);
    assert_eq!(
        (pk[1].0, pk[1].1.as_slice()),
        (3, &[0x02][..]),
        "public key request"
    );
    assert_eq!(pk[2].0, 5);
    assert_rsa_password(&private, &pk[2].1, pw);
}

#[test]
fn caching_sha2_full_auth_with_pinned_key() {
    let (private, pem) = test_key();
    let server = [
        handshake("caching_sha2_password"),
        packet(2, &[0x01, 0x04]),
        ok(4),
    ];
    let opts = ConnectOptions::new("app", "pinned-pw").server_public_key_pem(pem);
    let (res, pk) = run(&server, &opts);
    res.unwrap();
    assert_eq!(pk.len(), 2, "no key request when pinned");
    assert_eq!(pk[1].0, 3);
    assert_rsa_password(&private, &pk[1].1, "pinned-pw");
}

#[test]
fn caching_sha2_full_auth_refused_without_key() {
    let server = [handshake("caching_sha2_password"), packet(2, &[0x01, 0x04])];
    let (res, pk) = run(&server, &ConnectOptions::new("app", "pw"));
    assert!(matches!(res, Err(MysqlError::Unsupported(_))), "{res:?}");
    assert_eq!(pk.len(), 1, "password must not be sent anywhere");
}

#[test]
fn auth_switch_to_native_password() {
    let new_scramble = b"ZYXWVUTSRQPONMLKJIHG";
    let mut switch = vec![0xFE];
    switch.extend_from_slice(b"mysql_native_password\0");
    switch.extend_from_slice(new_scramble);
    switch.push(0);
    let server = [
        handshake("caching_sha2_password"),
        packet(2, &switch),
        ok(4),
    ];
    let (res, pk) = run(&server, &ConnectOptions::new("app", "pw"));
    res.unwrap();
    assert_eq!(pk.len(), 2);
    assert_eq!(pk[1].0, 3);
    assert_eq!(pk[1].1, scramble_native(b"pw", new_scramble));
}

#[test]
fn auth_switch_to_caching_sha2_from_unknown_default() {
    let mut switch = vec![0xFE];
    switch.extend_from_slice(b"caching_sha2_password\0");
    switch.extend_from_slice(SCRAMBLE);
    switch.push(0);
    let server = [
        handshake("some_future_plugin"),
        packet(2, &switch),
        packet(4, &[0x01, 0x03]),
        ok(5),
    ];
    let (res, pk) = run(&server, &ConnectOptions::new("app", "pw"));
    res.unwrap();
    let (_, _, auth, plugin) = parse_response(&pk[0].1);
    assert_eq!(plugin, "mysql_native_password");
    assert_eq!(auth, scramble_native(b"pw", SCRAMBLE));
    assert_eq!(pk[1].1, scramble_caching_sha2(b"pw", SCRAMBLE));
}

#[test]
fn auth_switch_to_unknown_plugin_is_unsupported() {
    let server = [
        handshake("mysql_native_password"),
        packet(2, b"\xFEmysql_clear_password\0"),
    ];
    let (res, pk) = run(&server, &ConnectOptions::new("app", "cleartext-never"));
    assert!(matches!(res, Err(MysqlError::Unsupported(_))), "{res:?}");
    assert_eq!(pk.len(), 1);
}

#[test]
fn empty_password_sends_empty_auth_response() {
    let server = [handshake("mysql_native_password"), ok(2)];
    let (res, pk) = run(&server, &ConnectOptions::new("root", ""));
    res.unwrap();
    let (_, user, auth, plugin) = parse_response(&pk[0].1);
    assert_eq!(
        (user.as_str(), plugin.as_str()),
        ("root", "mysql_native_password")
    );
    assert!(auth.is_empty());
}

#[test]
fn access_denied_maps_to_auth_error() {
    let mut err = vec![0xFF];
    err.extend_from_slice(&1045u16.to_le_bytes());
    err.extend_from_slice(b"#28000Access denied for user 'app'@'h' (using password: YES)");
    let server = [handshake("mysql_native_password"), packet(2, &err)];
    let (res, _) = run(&server, &ConnectOptions::new("app", "hunter2"));
    match res {
        Err(e @ MysqlError::Auth { code: 1045, .. }) => assert!(!e.to_string().contains("hunter2")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn error_instead_of_handshake() {
    // Pre-handshake ERR (e.g. "Too many connections") has no SQL state.
    let mut err = vec![0xFF];
    err.extend_from_slice(&1040u16.to_le_bytes());
    err.extend_from_slice(b"Too many connections");
    let (res, _) = run(&[packet(0, &err)], &ConnectOptions::new("a", "b"));
    match res {
        Err(MysqlError::Server {
            code: 1040,
            sql_state,
            message,
        }) => {
            assert!(sql_state.is_empty());
            assert_eq!(message, "Too many connections");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    let hs = handshake("mysql_native_password");
    // Truncate the handshake at every length: never panic.
    for cut in 0..hs.len() {
        let mut p = hs[..cut].to_vec();
        if cut >= 4 {
            let len = (cut - 4) as u32;
            p[..3].copy_from_slice(&len.to_le_bytes()[..3]);
        }
        let (res, _) = run(&[p], &ConnectOptions::new("a", "b"));
        assert!(res.is_err());
    }
    // Wrong protocol version / wrong sequence id.
    let mut bad = hs.clone();
    bad[4] = 9;
    assert!(matches!(
        run(&[bad], &ConnectOptions::new("a", "b")).0,
        Err(MysqlError::Unsupported(_))
    ));
    let mut bad = hs.clone();
    bad[3] = 5;
    assert!(matches!(
        run(&[bad], &ConnectOptions::new("a", "b")).0,
        Err(MysqlError::Protocol(_))
    ));
    // Garbage after handshake response.
    let r = run(&[hs, packet(2, &[0x42])], &ConnectOptions::new("a", "b")).0;
    assert!(matches!(r, Err(MysqlError::Protocol(_))));
}

/// Column definition 41 payload for a VARCHAR column named `name`.
fn column_def(name: &str) -> Vec<u8> {
    let mut p = Vec::new();
    for s in ["def", "", "", ""] {
        p.push(s.len() as u8);
        p.extend_from_slice(s.as_bytes());
    }
    for s in [name, name] {
        p.push(s.len() as u8);
        p.extend_from_slice(s.as_bytes());
    }
    p.push(0x0c);
    p.extend_from_slice(&45u16.to_le_bytes());
    p.extend_from_slice(&255u32.to_le_bytes());
    p.push(0xFD); // VAR_STRING
    p.extend_from_slice(&[0, 0, 0, 0, 0]);
    p
}

#[test]
fn query_result_set_with_eof_packets() {
    let eof = [0xFE, 0, 0, 0x02, 0];
    let server = [
        handshake("mysql_native_password"),
        ok(2),
        packet(1, &[2]),
        packet(2, &column_def("a")),
        packet(3, &column_def("b")),
        packet(4, &eof),
        packet(5, b"\x01x\xFB"),
        packet(6, b"\x00\x03\xC5\xBC\xC3"), // "" and "ż" + a stray UTF-8 lead byte (decoded lossily)
        packet(7, &eof),
    ];
    let script = std::rc::Rc::new(std::cell::RefCell::new(Script::new(&server)));
    let mut c = Conn::connect(Shared(script.clone()), &ConnectOptions::new("a", "")).unwrap();
    let r = c.query("SELECT a, b FROM t").unwrap();
    assert_eq!(r.columns, vec!["a", "b"]);
    assert_eq!(r.rows[0], vec![Some("x".to_string()), None]);
    assert_eq!(r.rows[1][0], Some(String::new()));
    assert_eq!(r.rows[1][1].as_deref(), Some("ż\u{FFFD}"));
    drop(c); // sends COM_QUIT
    let pk = client_packets(&script.borrow());
    assert_eq!(pk[1], (0, b"\x03SELECT a, b FROM t".to_vec()));
    assert_eq!(pk[2], (0, vec![0x01]), "COM_QUIT on drop");
}
