//! Wire format: frontend messages built whole (each sent with one write)
//! and backend messages read from a buffered stream and parsed.

use std::io::Read;

use crate::error::PgError;

/// Protocol version 3.0, as sent in the startup message.
pub const PROTOCOL_VERSION: i32 = 196_608;
/// Refuse backend messages longer than this (hostile-server allocation guard).
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// A frontend message under construction: type byte, length, body.
pub struct Frame {
    buf: Vec<u8>,
    start: usize,
}

impl Frame {
    /// A message with type byte `kind` (`None`: the startup message, which
    /// has no type byte).
    pub fn new(kind: Option<u8>) -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend(kind);
        let start = buf.len();
        buf.extend_from_slice(&[0; 4]);
        Self { buf, start }
    }

    /// Appends a NUL-terminated string (the caller checked it has no NUL).
    pub fn cstr(&mut self, s: &str) -> &mut Self {
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self
    }

    /// Appends a big-endian i32.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// Fills in the length and returns the bytes (zeroed by the caller if
    /// they hold a secret).
    pub fn finish(mut self) -> Vec<u8> {
        let len = i32::try_from(self.buf.len() - self.start).unwrap_or(i32::MAX);
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_be_bytes());
        std::mem::take(&mut self.buf)
    }
}

/// One backend message: its type byte and body.
#[derive(Debug)]
pub struct Message {
    /// Type byte, e.g. `b'R'` for Authentication.
    pub kind: u8,
    /// Body after the length.
    pub body: Vec<u8>,
}

/// Reads whole backend messages through an internal buffer (one `read` of
/// the stream usually yields several messages).
#[derive(Debug)]
pub struct Reader {
    buf: Vec<u8>,
    pos: usize,
}

impl Reader {
    pub fn new() -> Self {
        Self {
            buf: Vec::with_capacity(8192),
            pos: 0,
        }
    }

    /// Reads the next message.
    ///
    /// Fails on I/O errors, an early end of stream or a bad length.
    pub fn next<S: Read>(&mut self, stream: &mut S) -> Result<Message, PgError> {
        self.fill(stream, 5)?;
        let kind = self.buf[self.pos];
        let len = i32::from_be_bytes([
            self.buf[self.pos + 1],
            self.buf[self.pos + 2],
            self.buf[self.pos + 3],
            self.buf[self.pos + 4],
        ]);
        let len = usize::try_from(len)
            .ok()
            .filter(|l| (4..=MAX_MESSAGE).contains(l))
            .ok_or_else(|| {
                PgError::protocol(format!("bad length {len} of a '{}' message", kind as char))
            })?;
        self.fill(stream, 1 + len)?;
        let body = self.buf[self.pos + 5..self.pos + 1 + len].to_vec();
        self.pos += 1 + len;
        Ok(Message { kind, body })
    }

    /// Makes sure `n` unread bytes are buffered.
    fn fill<S: Read>(&mut self, stream: &mut S, n: usize) -> Result<(), PgError> {
        if self.buf.len() - self.pos >= n {
            return Ok(());
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        let mut chunk = [0u8; 8192];
        while self.buf.len() < n {
            let got = match stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(PgError::Io(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    )));
                }
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(PgError::Io(e)),
            };
            self.buf.extend_from_slice(&chunk[..got]);
        }
        Ok(())
    }
}

/// Reads fields out of a message body.
#[derive(Debug)]
pub struct Body<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Body<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PgError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| PgError::protocol("a message ended early"))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, PgError> {
        Ok(self.take(1)?[0])
    }

    pub fn i16(&mut self) -> Result<i16, PgError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    pub fn i32(&mut self) -> Result<i32, PgError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], PgError> {
        self.take(n)
    }

    /// The rest of the body.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.data[self.pos..];
        self.pos = self.data.len();
        out
    }

    /// A NUL-terminated string (invalid UTF-8 replaced).
    pub fn cstr(&mut self) -> Result<String, PgError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| PgError::protocol("a string is not terminated"))?;
        self.pos += end + 1;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
}

/// The fields of an ErrorResponse or NoticeResponse: (SQLSTATE, message).
pub fn error_fields(body: &[u8]) -> Result<(String, String), PgError> {
    let mut b = Body::new(body);
    let (mut code, mut message, mut detail) = (String::new(), String::new(), String::new());
    while !b.is_empty() {
        let field = b.u8()?;
        if field == 0 {
            break;
        }
        let value = b.cstr()?;
        match field {
            b'C' => code = value,
            b'M' => message = value,
            b'D' => detail = value,
            _ => {}
        }
    }
    if !detail.is_empty() {
        message = format!("{message} ({detail})");
    }
    Ok((code, message))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn frames_carry_their_length() {
        let mut f = Frame::new(Some(b'Q'));
        f.cstr("SELECT 1");
        assert_eq!(f.finish(), b"Q\0\0\0\x0dSELECT 1\0");
        let mut f = Frame::new(None);
        f.i32(PROTOCOL_VERSION).cstr("user").cstr("a").bytes(&[0]);
        assert_eq!(f.finish(), b"\0\0\0\x10\0\x03\0\0user\0a\0\0");
    }

    #[test]
    fn reader_splits_and_joins_messages() {
        struct Dribble(std::io::Cursor<Vec<u8>>);
        impl Read for Dribble {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(3);
                self.0.read(&mut buf[..n])
            }
        }
        let mut s = Dribble(std::io::Cursor::new(
            b"Z\0\0\0\x05IC\0\0\0\x0bSELECT\0".to_vec(),
        ));
        let mut r = Reader::new();
        let m = r.next(&mut s).unwrap();
        assert_eq!((m.kind, m.body.as_slice()), (b'Z', &b"I"[..]));
        let m = r.next(&mut s).unwrap();
        assert_eq!((m.kind, m.body.as_slice()), (b'C', &b"SELECT\0"[..]));
        assert!(matches!(r.next(&mut s), Err(PgError::Io(_))));
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocating() {
        for header in [
            &b"R\0\0\0\x03"[..],
            b"R\x7f\xff\xff\xff",
            b"R\xff\xff\xff\xff",
        ] {
            let mut s = std::io::Cursor::new(header.to_vec());
            assert!(matches!(
                Reader::new().next(&mut s),
                Err(PgError::Protocol(_))
            ));
        }
    }

    #[test]
    fn error_fields_keep_code_message_and_detail() {
        let body = b"SFATAL\0C28P01\0Mpassword authentication failed for user \"a\"\0\0";
        assert_eq!(
            error_fields(body).unwrap(),
            (
                "28P01".into(),
                "password authentication failed for user \"a\"".into()
            )
        );
        let body = b"C42501\0Mpermission denied\0Dneeds CREATEROLE\0\0";
        assert_eq!(
            error_fields(body).unwrap().1,
            "permission denied (needs CREATEROLE)"
        );
        assert!(error_fields(b"Cabc").is_err());
    }
}
