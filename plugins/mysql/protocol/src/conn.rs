//! Connection: handshake, authentication and text-protocol commands.

use std::fmt;
use std::io::{Read, Write};

use rsa::RsaPublicKey;
use zeroize::Zeroizing;

use crate::auth::{
    CACHING_SHA2_PASSWORD, MYSQL_NATIVE_PASSWORD, encrypt_password_rsa, parse_public_key_pem,
    scramble_caching_sha2, scramble_native,
};
use crate::error::MysqlError;
use crate::packet::{Cursor, PacketStream, put_lenenc_bytes};
use crate::quote::quote_string;

/// Capability flags (see the MySQL client/server protocol documentation).
pub mod caps {
    /// New, more secure password hashing (always set by modern clients).
    pub const LONG_PASSWORD: u32 = 0x0000_0001;
    /// A default database may be given in the handshake response.
    pub const CONNECT_WITH_DB: u32 = 0x0000_0008;
    /// 4.1 protocol: SQL states in ERR packets, warnings in OK/EOF.
    pub const PROTOCOL_41: u32 = 0x0000_0200;
    /// Server reports transaction status in status flags.
    pub const TRANSACTIONS: u32 = 0x0000_2000;
    /// 4.1 authentication (length-prefixed auth response).
    pub const SECURE_CONNECTION: u32 = 0x0000_8000;
    /// Client can handle multiple result sets (needed for `CALL`).
    pub const MULTI_RESULTS: u32 = 0x0002_0000;
    /// Pluggable authentication.
    pub const PLUGIN_AUTH: u32 = 0x0008_0000;
    /// Auth response in the handshake response is length-encoded.
    pub const PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 0x0020_0000;
    /// Server sends OK instead of EOF packets (NOT requested by this client).
    pub const DEPRECATE_EOF: u32 = 0x0100_0000;
}

/// Server status flags carried by OK/EOF packets and the handshake.
pub mod status {
    /// A transaction is active.
    pub const IN_TRANS: u16 = 0x0001;
    /// Autocommit is enabled.
    pub const AUTOCOMMIT: u16 = 0x0002;
    /// Another result set follows.
    pub const MORE_RESULTS_EXISTS: u16 = 0x0008;
    /// `sql_mode` contains `NO_BACKSLASH_ESCAPES`.
    pub const NO_BACKSLASH_ESCAPES: u16 = 0x0200;
}

/// `utf8mb4_general_ci`: understood by MySQL 5.5+ and every MariaDB.
const CHARSET_UTF8MB4_GENERAL_CI: u8 = 45;
const COM_QUIT: u8 = 0x01;
const COM_QUERY: u8 = 0x03;
const COM_PING: u8 = 0x0E;
/// Refuse result sets wider than this (hostile-server allocation guard).
const MAX_COLUMNS: u64 = 4096;

/// How to log in. The password is zeroed on drop and redacted from `Debug`.
#[non_exhaustive]
pub struct ConnectOptions {
    /// Login user name.
    pub user: String,
    /// Password (empty → empty auth response).
    pub password: Zeroizing<String>,
    /// Optional default database (`CLIENT_CONNECT_WITH_DB`).
    pub database: Option<String>,
    /// Pinned server RSA public key (PEM) for caching_sha2_password full
    /// authentication without TLS.
    pub server_public_key_pem: Option<String>,
    /// Allow asking the server for its RSA public key when none is pinned.
    /// Off by default: over plain TCP a man in the middle could hand out its
    /// own key and learn the password.
    pub allow_public_key_retrieval: bool,
}

impl ConnectOptions {
    /// Options for `user` / `password`, no database, no key retrieval.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        ConnectOptions {
            user: user.into(),
            password: Zeroizing::new(password.into()),
            database: None,
            server_public_key_pem: None,
            allow_public_key_retrieval: false,
        }
    }

    /// Select a default database at login.
    pub fn database(mut self, db: impl Into<String>) -> Self {
        self.database = Some(db.into());
        self
    }

    /// Pin the server's RSA public key (PEM, SPKI or PKCS#1).
    pub fn server_public_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.server_public_key_pem = Some(pem.into());
        self
    }

    /// Allow requesting the RSA public key from the server (see field docs).
    pub fn allow_public_key_retrieval(mut self, allow: bool) -> Self {
        self.allow_public_key_retrieval = allow;
        self
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("database", &self.database)
            .field(
                "server_public_key_pem",
                &self.server_public_key_pem.is_some(),
            )
            .field(
                "allow_public_key_retrieval",
                &self.allow_public_key_retrieval,
            )
            .finish()
    }
}

/// Parsed initial handshake (protocol version 10).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Handshake {
    /// Server version string exactly as sent (MariaDB 10.x prefixes `5.5.5-`).
    pub server_version: String,
    /// Server thread id of this connection.
    pub connection_id: u32,
    /// Auth plugin data (scramble), part 1 + part 2 without trailing NUL.
    pub scramble: Vec<u8>,
    /// Server capability flags (lower and upper 16 bits).
    pub capabilities: u32,
    /// Server default collation id.
    pub charset: u8,
    /// Server status flags.
    pub status: u16,
    /// Default auth plugin name (empty if the server did not send one).
    pub auth_plugin: String,
}

impl Handshake {
    /// Parse a HandshakeV10 payload. An ERR payload yields the server error.
    pub fn parse(payload: &[u8]) -> Result<Self, MysqlError> {
        let mut c = Cursor::new(payload);
        let proto = c.u8()?;
        if proto == 0xFF {
            return Err(parse_err(payload));
        }
        if proto != 10 {
            return Err(MysqlError::Unsupported(format!(
                "handshake protocol version {proto}"
            )));
        }
        let server_version = String::from_utf8_lossy(c.null_str()).into_owned();
        let connection_id = c.u32()?;
        let mut scramble = c.take(8)?.to_vec();
        c.u8()?; // filler
        let mut capabilities = u32::from(c.u16()?);
        let (mut charset, mut status, mut auth_plugin) = (0, 0, String::new());
        if !c.is_empty() {
            charset = c.u8()?;
            status = c.u16()?;
            capabilities |= u32::from(c.u16()?) << 16;
            let data_len = c.u8()?;
            c.take(10)?; // reserved (MariaDB: extended capabilities)
            if capabilities & caps::SECURE_CONNECTION != 0 {
                let n = usize::from(data_len).saturating_sub(8).max(13);
                let n = n.min(c.remaining());
                let part2 = c.take(n)?;
                // Part 2 is NUL-terminated; the scramble proper is 20 bytes.
                let part2 = part2.strip_suffix(&[0]).unwrap_or(part2);
                scramble.extend_from_slice(part2);
            }
            if capabilities & caps::PLUGIN_AUTH != 0 {
                auth_plugin = String::from_utf8_lossy(c.null_str()).into_owned();
            }
        }
        Ok(Handshake {
            server_version,
            connection_id,
            scramble,
            capabilities,
            charset,
            status,
            auth_plugin,
        })
    }
}

/// An OK packet: the result of a statement without a result set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OkPacket {
    /// Rows changed/inserted/deleted.
    pub affected_rows: u64,
    /// Last `AUTO_INCREMENT` id.
    pub last_insert_id: u64,
    /// Server status flags after the statement.
    pub status: u16,
    /// Number of warnings.
    pub warnings: u16,
    /// Human-readable info (e.g. "Rows matched: 1  Changed: 1  Warnings: 0").
    pub info: String,
}

impl OkPacket {
    /// Parse an OK payload (header 0x00, or 0xFE when used as EOF).
    pub fn parse(payload: &[u8]) -> Result<Self, MysqlError> {
        let mut c = Cursor::new(payload);
        let header = c.u8()?;
        if header != 0x00 && header != 0xFE {
            return Err(MysqlError::protocol("expected OK packet"));
        }
        let affected_rows = c.lenenc_u64()?;
        let last_insert_id = c.lenenc_u64()?;
        let (mut status, mut warnings) = (0, 0);
        if c.remaining() >= 4 {
            status = c.u16()?;
            warnings = c.u16()?;
        }
        let info = String::from_utf8_lossy(c.rest()).into_owned();
        Ok(OkPacket {
            affected_rows,
            last_insert_id,
            status,
            warnings,
            info,
        })
    }
}

/// Result of [`Conn::query`]. For statements without a result set `columns`
/// and `rows` are empty and the OK fields are filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryResult {
    /// Column names (aliases) of the first result set.
    pub columns: Vec<String>,
    /// Rows of the first result set; `None` is SQL NULL. Values are decoded
    /// as UTF-8 (invalid sequences replaced by U+FFFD).
    pub rows: Vec<Vec<Option<String>>>,
    /// Affected rows (OK packet only).
    pub affected_rows: u64,
    /// Last insert id (OK packet only).
    pub last_insert_id: u64,
    /// Warnings count.
    pub warnings: u16,
    /// Info string (OK packet only).
    pub info: String,
}

/// Decode an ERR payload into a [`MysqlError`] (access denied → `Auth`).
pub(crate) fn parse_err(payload: &[u8]) -> MysqlError {
    let mut c = Cursor::new(payload);
    let parsed = (|| -> Result<MysqlError, MysqlError> {
        if c.u8()? != 0xFF {
            return Err(MysqlError::protocol("expected ERR packet"));
        }
        let code = c.u16()?;
        let mut sql_state = String::new();
        if c.peek() == Some(b'#') {
            c.u8()?;
            sql_state = String::from_utf8_lossy(c.take(5)?).into_owned();
        }
        let message = String::from_utf8_lossy(c.rest()).into_owned();
        Ok(MysqlError::from_server(code, sql_state, message))
    })();
    parsed.unwrap_or_else(|e| e)
}

fn is_eof(payload: &[u8]) -> bool {
    payload.first() == Some(&0xFE) && payload.len() < 9
}

/// An authenticated connection speaking the MySQL text protocol over `S`.
///
/// Dropping the connection sends `COM_QUIT` (errors ignored); call
/// [`Conn::close`] to observe errors.
pub struct Conn<S: Read + Write> {
    ps: PacketStream<S>,
    handshake: Handshake,
    capabilities: u32,
    status: u16,
    auth_plugin: String,
    broken: bool,
    closed: bool,
}

impl<S: Read + Write> fmt::Debug for Conn<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("server_version", &self.handshake.server_version)
            .field("connection_id", &self.handshake.connection_id)
            .field("auth_plugin", &self.auth_plugin)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[cfg(not(target_os = "wasi"))]
impl Conn<std::net::TcpStream> {
    /// Native convenience: open a TCP connection (with `TCP_NODELAY`) and log in.
    /// Connection failures (refused, unreachable) are [`MysqlError::Io`].
    pub fn connect_tcp(
        addr: impl std::net::ToSocketAddrs,
        opts: &ConnectOptions,
    ) -> Result<Self, MysqlError> {
        let tcp = std::net::TcpStream::connect(addr)?;
        tcp.set_nodelay(true)?;
        Conn::connect(tcp, opts)
    }
}

impl<S: Read + Write> Conn<S> {
    /// Perform the handshake and authenticate on an already connected stream.
    pub fn connect(stream: S, opts: &ConnectOptions) -> Result<Self, MysqlError> {
        let mut ps = PacketStream::new(stream);
        let hs = Handshake::parse(&ps.read_packet()?)?;
        let required = caps::PROTOCOL_41 | caps::SECURE_CONNECTION;
        if hs.capabilities & required != required {
            return Err(MysqlError::Unsupported(
                "server lacks CLIENT_PROTOCOL_41 / CLIENT_SECURE_CONNECTION".into(),
            ));
        }
        let mut wanted = caps::LONG_PASSWORD
            | caps::PROTOCOL_41
            | caps::SECURE_CONNECTION
            | caps::TRANSACTIONS
            | caps::MULTI_RESULTS
            | caps::PLUGIN_AUTH
            | caps::PLUGIN_AUTH_LENENC_CLIENT_DATA;
        if opts.database.is_some() {
            if hs.capabilities & caps::CONNECT_WITH_DB == 0 {
                return Err(MysqlError::Unsupported(
                    "server does not accept a database in the handshake".into(),
                ));
            }
            wanted |= caps::CONNECT_WITH_DB;
        }
        let capabilities = wanted & hs.capabilities;

        // Answer with the server's default plugin when we know it, otherwise
        // with mysql_native_password and let the server switch us.
        let plugin = match hs.auth_plugin.as_str() {
            CACHING_SHA2_PASSWORD => CACHING_SHA2_PASSWORD,
            _ => MYSQL_NATIVE_PASSWORD,
        };
        let auth = auth_response(plugin, opts.password.as_bytes(), &hs.scramble)?;

        let mut p = Vec::with_capacity(128);
        p.extend_from_slice(&capabilities.to_le_bytes());
        p.extend_from_slice(&(16u32 * 1024 * 1024).to_le_bytes()); // max packet
        p.push(CHARSET_UTF8MB4_GENERAL_CI);
        p.extend_from_slice(&[0u8; 23]);
        push_null_terminated(&mut p, "user name", &opts.user)?;
        if capabilities & caps::PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
            put_lenenc_bytes(&mut p, &auth);
        } else {
            let len = u8::try_from(auth.len())
                .map_err(|_| MysqlError::protocol("auth response too long"))?;
            p.push(len);
            p.extend_from_slice(&auth);
        }
        if let Some(db) = &opts.database {
            push_null_terminated(&mut p, "database", db)?;
        }
        if capabilities & caps::PLUGIN_AUTH != 0 {
            push_null_terminated(&mut p, "plugin", plugin)?;
        }
        ps.write_packet(&p)?;

        let mut conn = Conn {
            ps,
            status: hs.status,
            handshake: hs,
            capabilities,
            auth_plugin: plugin.to_string(),
            broken: false,
            closed: false,
        };
        if let Err(e) = conn.authenticate(opts) {
            // Mid-authentication: a COM_QUIT would be out of sequence.
            conn.broken = true;
            return Err(e);
        }
        Ok(conn)
    }

    fn authenticate(&mut self, opts: &ConnectOptions) -> Result<(), MysqlError> {
        let password = opts.password.as_bytes();
        let mut scramble = self.handshake.scramble.clone();
        let mut switches = 0;
        loop {
            let pkt = self.ps.read_packet()?;
            match pkt.first().copied() {
                Some(0x00) => {
                    let ok = OkPacket::parse(&pkt)?;
                    self.status = ok.status;
                    return Ok(());
                }
                Some(0xFF) => return Err(parse_err(&pkt)),
                Some(0xFE) => {
                    // AuthSwitchRequest
                    switches += 1;
                    if switches > 2 {
                        return Err(MysqlError::protocol("too many auth switch requests"));
                    }
                    if pkt.len() == 1 {
                        return Err(MysqlError::Unsupported(
                            "old (pre-4.1) password authentication".into(),
                        ));
                    }
                    let mut c = Cursor::new(&pkt[1..]);
                    let name = String::from_utf8_lossy(c.null_str()).into_owned();
                    let data = c.rest();
                    scramble = data.strip_suffix(&[0]).unwrap_or(data).to_vec();
                    let resp = auth_response(&name, password, &scramble)?;
                    self.auth_plugin = name;
                    self.ps.write_packet(&resp)?;
                }
                Some(0x01) if self.auth_plugin == CACHING_SHA2_PASSWORD => {
                    match pkt.get(1..) {
                        Some([0x03]) => {} // fast auth succeeded; OK follows
                        Some([0x04]) => self.caching_sha2_full_auth(opts, &scramble)?,
                        _ => {
                            return Err(MysqlError::protocol(
                                "unexpected caching_sha2_password AuthMoreData",
                            ));
                        }
                    }
                }
                Some(b) => {
                    return Err(MysqlError::protocol(format_args!(
                        "unexpected packet 0x{b:02x} during authentication"
                    )));
                }
                None => return Err(MysqlError::protocol("empty packet during authentication")),
            }
        }
    }

    /// caching_sha2 "perform full authentication" without TLS: RSA-encrypt
    /// the password with a pinned or (if allowed) server-provided key.
    fn caching_sha2_full_auth(
        &mut self,
        opts: &ConnectOptions,
        scramble: &[u8],
    ) -> Result<(), MysqlError> {
        let key: RsaPublicKey = if let Some(pem) = &opts.server_public_key_pem {
            parse_public_key_pem(pem)?
        } else if opts.allow_public_key_retrieval {
            self.ps.write_packet(&[0x02])?;
            let pkt = self.ps.read_packet()?;
            match pkt.first() {
                Some(0x01) => {
                    let pem = std::str::from_utf8(&pkt[1..])
                        .map_err(|_| MysqlError::protocol("server public key is not UTF-8"))?;
                    parse_public_key_pem(pem)?
                }
                Some(0xFF) => return Err(parse_err(&pkt)),
                _ => return Err(MysqlError::protocol("expected server public key")),
            }
        } else {
            return Err(MysqlError::Unsupported(
                "caching_sha2_password full authentication over a non-TLS connection needs \
                 the server RSA public key: pin it or allow public key retrieval"
                    .into(),
            ));
        };
        let enc = encrypt_password_rsa(opts.password.as_bytes(), scramble, &key)?;
        self.ps.write_packet(&enc)
    }

    /// The parsed initial handshake.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// Server version string as sent in the handshake.
    pub fn server_version(&self) -> &str {
        &self.handshake.server_version
    }

    /// Server connection (thread) id.
    pub fn connection_id(&self) -> u32 {
        self.handshake.connection_id
    }

    /// Negotiated capability flags.
    pub fn capabilities(&self) -> u32 {
        self.capabilities
    }

    /// Auth plugin that completed the login.
    pub fn auth_plugin(&self) -> &str {
        &self.auth_plugin
    }

    /// Server status flags from the most recent OK/EOF packet.
    pub fn status_flags(&self) -> u16 {
        self.status
    }

    /// Whether the session's `sql_mode` has `NO_BACKSLASH_ESCAPES` (from the
    /// last status flags). Pass this to [`quote_string`].
    pub fn no_backslash_escapes(&self) -> bool {
        self.status & status::NO_BACKSLASH_ESCAPES != 0
    }

    /// Quote `s` as a string literal for the current session's sql_mode.
    pub fn quote(&self, s: &str) -> String {
        quote_string(s, self.no_backslash_escapes())
    }

    fn check_usable(&self) -> Result<(), MysqlError> {
        if self.broken || self.closed {
            Err(MysqlError::protocol("connection is no longer usable"))
        } else {
            Ok(())
        }
    }

    /// Run `sql` with `COM_QUERY` and collect the (first) text result set.
    /// Additional result sets (e.g. from `CALL`) are read and discarded.
    pub fn query(&mut self, sql: &str) -> Result<QueryResult, MysqlError> {
        self.check_usable()?;
        let mut payload = Vec::with_capacity(sql.len() + 1);
        payload.push(COM_QUERY);
        payload.extend_from_slice(sql.as_bytes());
        let res = self
            .ps
            .write_command(&payload)
            .and_then(|()| self.read_results());
        if let Err(e) = &res
            && !matches!(e, MysqlError::Server { .. } | MysqlError::Auth { .. })
        {
            self.broken = true;
        }
        res
    }

    /// Run a statement that returns no rows; returns its OK packet.
    pub fn execute(&mut self, sql: &str) -> Result<OkPacket, MysqlError> {
        let r = self.query(sql)?;
        Ok(OkPacket {
            affected_rows: r.affected_rows,
            last_insert_id: r.last_insert_id,
            status: self.status,
            warnings: r.warnings,
            info: r.info,
        })
    }

    fn read_results(&mut self) -> Result<QueryResult, MysqlError> {
        let first = self.read_one_result()?;
        while self.status & status::MORE_RESULTS_EXISTS != 0 {
            self.read_one_result()?;
        }
        Ok(first)
    }

    fn read_one_result(&mut self) -> Result<QueryResult, MysqlError> {
        let pkt = self.ps.read_packet()?;
        match pkt.first().copied() {
            Some(0x00) => {
                let ok = OkPacket::parse(&pkt)?;
                self.status = ok.status;
                return Ok(QueryResult {
                    affected_rows: ok.affected_rows,
                    last_insert_id: ok.last_insert_id,
                    warnings: ok.warnings,
                    info: ok.info,
                    ..QueryResult::default()
                });
            }
            Some(0xFF) => {
                // ERR ends the command; further results are not sent.
                self.status &= !status::MORE_RESULTS_EXISTS;
                return Err(parse_err(&pkt));
            }
            Some(0xFB) => {
                // LOCAL INFILE request: we never asked for it. Decline by
                // sending an empty packet, then consume the server's verdict.
                self.ps.write_packet(&[])?;
                let reply = self.ps.read_packet()?;
                if let Some(0x00) = reply.first() {
                    self.status = OkPacket::parse(&reply)?.status;
                }
                return Err(MysqlError::Unsupported("LOAD DATA LOCAL INFILE".into()));
            }
            None => return Err(MysqlError::protocol("empty response packet")),
            Some(_) => {}
        }
        let ncols = Cursor::new(&pkt).lenenc_u64()?;
        if ncols == 0 || ncols > MAX_COLUMNS {
            return Err(MysqlError::protocol(format_args!(
                "unreasonable column count {ncols}"
            )));
        }
        let ncols = ncols as usize; // <= MAX_COLUMNS
        let mut columns = Vec::with_capacity(ncols);
        for _ in 0..ncols {
            let def = self.ps.read_packet()?;
            let mut c = Cursor::new(&def);
            for _ in 0..4 {
                c.lenenc_bytes()?; // catalog, schema, table, org_table
            }
            let name = c
                .lenenc_bytes()?
                .ok_or_else(|| MysqlError::protocol("NULL column name"))?;
            columns.push(String::from_utf8_lossy(name).into_owned());
        }
        // Without CLIENT_DEPRECATE_EOF the column definitions end with EOF.
        let eof = self.ps.read_packet()?;
        if !is_eof(&eof) {
            return Err(MysqlError::protocol(
                "expected EOF after column definitions",
            ));
        }
        let mut rows = Vec::new();
        let warnings;
        loop {
            let row = self.ps.read_packet()?;
            if is_eof(&row) {
                let mut c = Cursor::new(&row[1..]);
                warnings = if c.remaining() >= 4 { c.u16()? } else { 0 };
                if c.remaining() >= 2 {
                    self.status = c.u16()?;
                }
                break;
            }
            if row.first() == Some(&0xFF) {
                self.status &= !status::MORE_RESULTS_EXISTS;
                return Err(parse_err(&row));
            }
            let mut c = Cursor::new(&row);
            let mut values = Vec::with_capacity(ncols);
            for _ in 0..ncols {
                values.push(
                    c.lenenc_bytes()?
                        .map(|v| String::from_utf8_lossy(v).into_owned()),
                );
            }
            if !c.is_empty() {
                return Err(MysqlError::protocol("trailing bytes in row"));
            }
            rows.push(values);
        }
        Ok(QueryResult {
            columns,
            rows,
            warnings,
            ..QueryResult::default()
        })
    }

    /// `COM_PING`: check the connection is alive.
    pub fn ping(&mut self) -> Result<(), MysqlError> {
        self.check_usable()?;
        self.ps.write_command(&[COM_PING])?;
        let pkt = self.ps.read_packet()?;
        match pkt.first() {
            Some(0x00) => {
                self.status = OkPacket::parse(&pkt)?.status;
                Ok(())
            }
            Some(0xFF) => Err(parse_err(&pkt)),
            _ => Err(MysqlError::protocol("unexpected reply to COM_PING")),
        }
    }

    /// Send `COM_QUIT` and drop the connection.
    pub fn close(mut self) -> Result<(), MysqlError> {
        self.quit()
    }

    fn quit(&mut self) -> Result<(), MysqlError> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        if self.broken {
            return Ok(());
        }
        // The server just closes the socket; there is no reply to read.
        self.ps.write_command(&[COM_QUIT])
    }
}

impl<S: Read + Write> Drop for Conn<S> {
    fn drop(&mut self) {
        let _ = self.quit();
    }
}

fn auth_response(plugin: &str, password: &[u8], scramble: &[u8]) -> Result<Vec<u8>, MysqlError> {
    match plugin {
        MYSQL_NATIVE_PASSWORD => Ok(scramble_native(password, scramble)),
        CACHING_SHA2_PASSWORD => Ok(scramble_caching_sha2(password, scramble)),
        other => Err(MysqlError::Unsupported(format!("auth plugin {other:?}"))),
    }
}

fn push_null_terminated(buf: &mut Vec<u8>, what: &str, s: &str) -> Result<(), MysqlError> {
    crate::quote::check_no_nul(what, s)?;
    buf.extend_from_slice(s.as_bytes());
    buf.push(0);
    Ok(())
}
