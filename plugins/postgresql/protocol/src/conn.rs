//! Connection: startup, authentication and simple queries.

use std::fmt;
use std::io::{Read, Write};

use zeroize::Zeroizing;

use crate::auth::{SCRAM_SHA_256, ScramClient, md5_response, random_nonce};
use crate::error::{PgError, check_no_nul};
use crate::message::{Body, Frame, Message, PROTOCOL_VERSION, Reader, error_fields};

/// Refuse result sets wider than this (hostile-server allocation guard).
const MAX_COLUMNS: usize = 4096;

/// How to log in. The password is zeroed on drop and redacted from `Debug`.
#[non_exhaustive]
pub struct ConnectOptions {
    /// The role to log in as.
    pub user: String,
    /// Its password.
    pub password: Zeroizing<String>,
    /// The database to connect to (`None`: the server's default, the
    /// role's name).
    pub database: Option<String>,
    /// Answer a server that asks for the password in clear text (the
    /// `password` method in `pg_hba.conf`). Off by default: without TLS
    /// anyone on the path, or an impostor server, would read it.
    pub allow_cleartext: bool,
}

impl ConnectOptions {
    /// Options for `user` / `password`, the default database, no cleartext.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: Zeroizing::new(password.into()),
            database: None,
            allow_cleartext: false,
        }
    }

    /// Sets the database.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Allows answering a cleartext password request.
    pub fn allow_cleartext(mut self, allow: bool) -> Self {
        self.allow_cleartext = allow;
        self
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .field("database", &self.database)
            .field("allow_cleartext", &self.allow_cleartext)
            .finish()
    }
}

/// How the server checked the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// No password was asked for (`trust`, `peer`...): the login proves
    /// nothing about the password.
    Trust,
    /// The password was sent in clear text.
    Cleartext,
    /// md5 challenge and response.
    Md5,
    /// SCRAM-SHA-256, the server's signature checked.
    ScramSha256,
}

/// What a query returned: the last result set and the last command tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows in text format; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// The last CommandComplete tag, e.g. `ALTER ROLE`.
    pub tag: String,
}

/// A logged-in connection.
pub struct Conn<S> {
    stream: S,
    reader: Reader,
    params: Vec<(String, String)>,
    method: AuthMethod,
}

impl<S> fmt::Debug for Conn<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("server_version", &self.parameter("server_version"))
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl<S> Conn<S> {
    /// How the server checked this login.
    pub fn auth_method(&self) -> AuthMethod {
        self.method
    }

    /// A parameter the server reported (`server_version`, `server_encoding`,
    /// `standard_conforming_strings`, ...).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The server's version as `server_version_num` spells it (150020 for
    /// 15.20, 90624 for 9.6.24), if it reported one.
    pub fn server_version_num(&self) -> Option<u32> {
        let version = self.parameter("server_version")?;
        let numeric: String = version
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = numeric.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        if major >= 10 {
            Some(major * 10_000 + minor)
        } else {
            let patch = parts.next().flatten().unwrap_or(0);
            Some(major * 10_000 + minor * 100 + patch)
        }
    }
}

impl Conn<std::net::TcpStream> {
    /// Connects over TCP (with `TCP_NODELAY`) and logs in.
    ///
    /// Fails as [`Conn::connect`] does, or with [`PgError::Io`] if the
    /// connection cannot be made.
    pub fn connect_tcp(
        addr: impl std::net::ToSocketAddrs,
        options: &ConnectOptions,
    ) -> Result<Self, PgError> {
        let tcp = std::net::TcpStream::connect(addr)?;
        tcp.set_nodelay(true)?;
        Self::connect(tcp, options)
    }
}

impl<S: Read + Write> Conn<S> {
    /// Logs in over `stream` (startup message, authentication, server
    /// parameters) and waits until the server is ready for queries.
    ///
    /// Fails with [`PgError::Auth`] if the server refuses the credentials
    /// or, during SCRAM, cannot prove it knows them; with
    /// [`PgError::Unsupported`] for authentication methods this client
    /// does not speak (Kerberos, GSSAPI, SSPI, SCRAM with channel binding
    /// only, cleartext unless allowed); with [`PgError::InvalidInput`] for
    /// names or a password containing NUL.
    pub fn connect(mut stream: S, options: &ConnectOptions) -> Result<Self, PgError> {
        check_no_nul("the role name", &options.user)?;
        check_no_nul("the password", &options.password)?;
        let mut startup = Frame::new(None);
        startup
            .i32(PROTOCOL_VERSION)
            .cstr("user")
            .cstr(&options.user);
        if let Some(db) = &options.database {
            check_no_nul("the database name", db)?;
            startup.cstr("database").cstr(db);
        }
        startup
            .cstr("application_name")
            .cstr("keeper")
            .cstr("client_encoding")
            .cstr("UTF8")
            .bytes(&[0]);
        stream.write_all(&startup.finish())?;
        let mut conn = Self {
            stream,
            reader: Reader::new(),
            params: Vec::new(),
            method: AuthMethod::Trust,
        };
        conn.authenticate(options)?;
        conn.wait_ready()?;
        Ok(conn)
    }

    fn next(&mut self) -> Result<Message, PgError> {
        self.reader.next(&mut self.stream)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), PgError> {
        self.stream.write_all(bytes)?;
        self.stream.flush()?;
        Ok(())
    }

    /// Sends a PasswordMessage-type ('p') message and zeroes the buffer.
    fn send_password_message(&mut self, frame: Frame) -> Result<(), PgError> {
        let bytes = Zeroizing::new(frame.finish());
        self.send(&bytes)
    }

    /// Runs the authentication exchange up to AuthenticationOk.
    fn authenticate(&mut self, options: &ConnectOptions) -> Result<(), PgError> {
        let mut scram: Option<ScramClient> = None;
        let mut scram_done = false;
        loop {
            let msg = self.next()?;
            match msg.kind {
                b'R' => {}
                b'E' => {
                    let (code, message) = error_fields(&msg.body)?;
                    return Err(if scram.is_some() {
                        PgError::Auth { code, message }
                    } else {
                        PgError::from_server(code, message)
                    });
                }
                // NoticeResponse, NegotiateProtocolVersion: nothing to do.
                b'N' | b'v' => continue,
                other => {
                    return Err(PgError::protocol(format!(
                        "unexpected '{}' message during authentication",
                        other as char
                    )));
                }
            }
            let mut body = Body::new(&msg.body);
            match body.i32()? {
                0 => {
                    if scram.is_some() && !scram_done {
                        return Err(PgError::Auth {
                            code: "28000".into(),
                            message: "the server ended SCRAM without proving it knows the \
                                      password (an impostor?)"
                                .into(),
                        });
                    }
                    return Ok(());
                }
                3 => {
                    if !options.allow_cleartext {
                        return Err(PgError::Unsupported(
                            "the server asks for the password in clear text (pg_hba.conf method \
                             `password`); allow it explicitly, or use scram-sha-256"
                                .into(),
                        ));
                    }
                    let mut frame = Frame::new(Some(b'p'));
                    frame.cstr(&options.password);
                    self.send_password_message(frame)?;
                    self.method = AuthMethod::Cleartext;
                }
                5 => {
                    let s = body.bytes(4)?;
                    let salt = [s[0], s[1], s[2], s[3]];
                    let response = md5_response(&options.password, &options.user, salt);
                    let mut frame = Frame::new(Some(b'p'));
                    frame.cstr(&response);
                    self.send_password_message(frame)?;
                    self.method = AuthMethod::Md5;
                }
                10 => {
                    let mut mechanisms = Vec::new();
                    loop {
                        let m = body.cstr()?;
                        if m.is_empty() {
                            break;
                        }
                        mechanisms.push(m);
                    }
                    if !mechanisms.iter().any(|m| m == SCRAM_SHA_256) {
                        return Err(PgError::Unsupported(format!(
                            "the server offers only SASL mechanisms {mechanisms:?} \
                             (channel binding needs TLS, which this client does not speak)"
                        )));
                    }
                    let client = ScramClient::new("", &options.password, random_nonce()?);
                    let first = client.client_first();
                    let mut frame = Frame::new(Some(b'p'));
                    frame
                        .cstr(SCRAM_SHA_256)
                        .i32(i32::try_from(first.len()).unwrap_or(i32::MAX))
                        .bytes(first.as_bytes());
                    self.send_password_message(frame)?;
                    scram = Some(client);
                    self.method = AuthMethod::ScramSha256;
                }
                11 => {
                    let client = scram
                        .as_mut()
                        .ok_or_else(|| PgError::protocol("SASLContinue without SASL"))?;
                    let server_first = String::from_utf8_lossy(body.rest()).into_owned();
                    let last = client.client_final(&server_first)?;
                    let mut frame = Frame::new(Some(b'p'));
                    frame.bytes(last.as_bytes());
                    self.send_password_message(frame)?;
                }
                12 => {
                    let client = scram
                        .as_ref()
                        .ok_or_else(|| PgError::protocol("SASLFinal without SASL"))?;
                    client.check_server_final(&String::from_utf8_lossy(body.rest()))?;
                    scram_done = true;
                }
                2 => return Err(PgError::Unsupported("Kerberos V5 authentication".into())),
                7 | 8 => return Err(PgError::Unsupported("GSSAPI authentication".into())),
                9 => return Err(PgError::Unsupported("SSPI authentication".into())),
                other => {
                    return Err(PgError::Unsupported(format!(
                        "authentication request type {other}"
                    )));
                }
            }
        }
    }

    /// Reads parameter statuses and backend key data until ReadyForQuery.
    fn wait_ready(&mut self) -> Result<(), PgError> {
        loop {
            let msg = self.next()?;
            match msg.kind {
                b'S' => {
                    let mut body = Body::new(&msg.body);
                    let name = body.cstr()?;
                    let value = body.cstr()?;
                    self.params.retain(|(n, _)| *n != name);
                    self.params.push((name, value));
                }
                b'K' | b'N' => {}
                b'Z' => return Ok(()),
                b'E' => {
                    let (code, message) = error_fields(&msg.body)?;
                    return Err(PgError::from_server(code, message));
                }
                other => {
                    return Err(PgError::protocol(format!(
                        "unexpected '{}' message after authentication",
                        other as char
                    )));
                }
            }
        }
    }

    /// Runs `sql` with the simple query protocol (one or more statements in
    /// one message) and returns the last result set and command tag.
    ///
    /// Fails with [`PgError::Server`] if any statement fails (the server
    /// then skips the rest), after reading up to ReadyForQuery so the
    /// connection stays usable.
    pub fn query(&mut self, sql: &str) -> Result<QueryResult, PgError> {
        check_no_nul("the statement", sql)?;
        let mut frame = Frame::new(Some(b'Q'));
        frame.cstr(sql);
        let bytes = Zeroizing::new(frame.finish());
        self.send(&bytes)?;
        let mut result = QueryResult::default();
        let mut error = None;
        loop {
            let msg = self.next()?;
            let mut body = Body::new(&msg.body);
            match msg.kind {
                b'T' => {
                    let n = usize::try_from(body.i16()?).unwrap_or(0);
                    if n > MAX_COLUMNS {
                        return Err(PgError::protocol(format!("{n} columns")));
                    }
                    result.columns.clear();
                    result.rows.clear();
                    for _ in 0..n {
                        result.columns.push(body.cstr()?);
                        body.bytes(18)?;
                    }
                }
                b'D' => {
                    let n = usize::try_from(body.i16()?).unwrap_or(0);
                    if n != result.columns.len() {
                        return Err(PgError::protocol("a row does not match its columns"));
                    }
                    let mut row = Vec::with_capacity(n);
                    for _ in 0..n {
                        let len = body.i32()?;
                        row.push(match usize::try_from(len) {
                            Ok(len) => Some(String::from_utf8_lossy(body.bytes(len)?).into_owned()),
                            Err(_) => None,
                        });
                    }
                    result.rows.push(row);
                }
                b'C' => result.tag = body.cstr()?,
                b'E' => {
                    let (code, message) = error_fields(&msg.body)?;
                    error = Some(PgError::from_server(code, message));
                }
                b'S' => {
                    let name = body.cstr()?;
                    let value = body.cstr()?;
                    self.params.retain(|(n, _)| *n != name);
                    self.params.push((name, value));
                }
                b'I' | b'N' | b'A' => {}
                b'Z' => {
                    return match error {
                        Some(e) => Err(e),
                        None => Ok(result),
                    };
                }
                other => {
                    return Err(PgError::protocol(format!(
                        "unexpected '{}' message in a query's response",
                        other as char
                    )));
                }
            }
        }
    }

    /// Says goodbye (Terminate) and closes the connection.
    ///
    /// Fails only if the message cannot be sent.
    pub fn close(mut self) -> Result<(), PgError> {
        self.send(&Frame::new(Some(b'X')).finish())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn options_debug_redacts_the_password() {
        let o = ConnectOptions::new("app", "hunter2").database("db");
        let shown = format!("{o:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("[redacted]"),
            "{shown}"
        );
    }
}
