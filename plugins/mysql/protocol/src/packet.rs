//! Low-level packet framing and payload (de)serialisation helpers.

use std::io::{Read, Write};

use crate::error::MysqlError;

/// Largest payload a single physical packet can carry.
pub(crate) const MAX_PAYLOAD: usize = 0x00FF_FFFF;

/// Upper bound on a logical packet we are willing to buffer (64 MiB). Guards
/// against a hostile server making us allocate without bound.
pub(crate) const MAX_LOGICAL_PACKET: usize = 64 * 1024 * 1024;

/// Frames packets on top of a byte stream, tracking the sequence id.
///
/// Reads go through a small internal buffer (fewer `read` calls); every
/// logical packet is written with exactly one `write_all` call.
pub(crate) struct PacketStream<S> {
    pub(crate) stream: S,
    pub(crate) seq: u8,
    rbuf: Vec<u8>,
    rpos: usize,
    rend: usize,
}

impl<S: Read + Write> PacketStream<S> {
    pub(crate) fn new(stream: S) -> Self {
        PacketStream {
            stream,
            seq: 0,
            rbuf: vec![0; 16 * 1024],
            rpos: 0,
            rend: 0,
        }
    }

    fn read_exact_buffered(&mut self, out: &mut [u8]) -> Result<(), MysqlError> {
        let mut filled = 0;
        while filled < out.len() {
            if self.rpos == self.rend {
                let want = out.len() - filled;
                if want >= self.rbuf.len() {
                    // Large remainder: read straight into the destination.
                    self.stream.read_exact(&mut out[filled..])?;
                    return Ok(());
                }
                let n = loop {
                    match self.stream.read(&mut self.rbuf) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e.into()),
                    }
                };
                if n == 0 {
                    return Err(MysqlError::Io(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    )));
                }
                self.rpos = 0;
                self.rend = n;
            }
            let take = (self.rend - self.rpos).min(out.len() - filled);
            out[filled..filled + take].copy_from_slice(&self.rbuf[self.rpos..self.rpos + take]);
            self.rpos += take;
            filled += take;
        }
        Ok(())
    }

    /// Read one logical packet (joining 16 MiB continuation packets) and check
    /// its sequence id.
    pub(crate) fn read_packet(&mut self) -> Result<Vec<u8>, MysqlError> {
        let mut payload = Vec::new();
        loop {
            let mut header = [0u8; 4];
            self.read_exact_buffered(&mut header)?;
            let len = usize::from(header[0])
                | (usize::from(header[1]) << 8)
                | (usize::from(header[2]) << 16);
            if header[3] != self.seq {
                return Err(MysqlError::protocol(format_args!(
                    "packet out of order: expected sequence id {}, got {}",
                    self.seq, header[3]
                )));
            }
            self.seq = self.seq.wrapping_add(1);
            if payload.len() + len > MAX_LOGICAL_PACKET {
                return Err(MysqlError::protocol("packet too large"));
            }
            let start = payload.len();
            payload.resize(start + len, 0);
            self.read_exact_buffered(&mut payload[start..])?;
            if len < MAX_PAYLOAD {
                return Ok(payload);
            }
        }
    }

    /// Frame `payload` (splitting at 16 MiB) into one buffer and send it with a
    /// single `write_all`, then flush once.
    pub(crate) fn write_packet(&mut self, payload: &[u8]) -> Result<(), MysqlError> {
        let chunks = payload.len() / MAX_PAYLOAD + 1;
        let mut buf = Vec::with_capacity(payload.len() + 4 * chunks);
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_PAYLOAD);
            // n <= 0xFFFFFF, so the three low bytes carry the whole length.
            let len = (n as u32).to_le_bytes();
            buf.extend_from_slice(&[len[0], len[1], len[2], self.seq]);
            self.seq = self.seq.wrapping_add(1);
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            // A payload that is an exact multiple of MAX_PAYLOAD ends with an
            // empty packet, hence the `n < MAX_PAYLOAD` test rather than
            // `rest.is_empty()`.
            if n < MAX_PAYLOAD {
                break;
            }
        }
        self.stream.write_all(&buf)?;
        self.stream.flush()?;
        Ok(())
    }

    /// Start a new command: reset the sequence id and send `payload`.
    pub(crate) fn write_command(&mut self, payload: &[u8]) -> Result<(), MysqlError> {
        self.seq = 0;
        self.write_packet(payload)
    }
}

/// Cursor over a packet payload. Every accessor fails with
/// [`MysqlError::Protocol`] instead of panicking on short input.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], MysqlError> {
        if self.remaining() < n {
            return Err(MysqlError::protocol("truncated packet"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    pub(crate) fn u8(&mut self) -> Result<u8, MysqlError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, MysqlError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, MysqlError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// NUL-terminated string; if no NUL is present the rest of the packet is
    /// taken (some servers omit the final terminator).
    pub(crate) fn null_str(&mut self) -> &'a [u8] {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|&b| b == 0) {
            Some(i) => {
                self.pos += i + 1;
                &rest[..i]
            }
            None => {
                self.pos = self.buf.len();
                rest
            }
        }
    }

    /// Length-encoded integer. `None` for the NULL marker (0xFB).
    pub(crate) fn lenenc_int(&mut self) -> Result<Option<u64>, MysqlError> {
        let first = self.u8()?;
        Ok(Some(match first {
            0..=0xFA => u64::from(first),
            0xFB => return Ok(None),
            0xFC => u64::from(self.u16()?),
            0xFD => {
                let b = self.take(3)?;
                u64::from(b[0]) | (u64::from(b[1]) << 8) | (u64::from(b[2]) << 16)
            }
            0xFE => {
                let b = self.take(8)?;
                u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            0xFF => return Err(MysqlError::protocol("invalid length-encoded integer 0xFF")),
        }))
    }

    /// Length-encoded integer where NULL is not allowed.
    pub(crate) fn lenenc_u64(&mut self) -> Result<u64, MysqlError> {
        self.lenenc_int()?
            .ok_or_else(|| MysqlError::protocol("unexpected NULL length"))
    }

    /// Length-encoded string. `None` for SQL NULL.
    pub(crate) fn lenenc_bytes(&mut self) -> Result<Option<&'a [u8]>, MysqlError> {
        match self.lenenc_int()? {
            None => Ok(None),
            Some(n) => {
                let n = usize::try_from(n)
                    .map_err(|_| MysqlError::protocol("length-encoded string too long"))?;
                Ok(Some(self.take(n)?))
            }
        }
    }
}

/// Append a length-encoded integer.
pub(crate) fn put_lenenc_int(buf: &mut Vec<u8>, v: u64) {
    if v < 0xFB {
        buf.push(v as u8);
    } else if v <= 0xFFFF {
        buf.push(0xFC);
        buf.extend_from_slice(&(v as u16).to_le_bytes());
    } else if v <= 0xFF_FFFF {
        buf.push(0xFD);
        buf.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
    } else {
        buf.push(0xFE);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// Append a length-encoded string.
pub(crate) fn put_lenenc_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lenenc_roundtrip() {
        for v in [
            0u64,
            1,
            250,
            251,
            0xFFFF,
            0x1_0000,
            0xFF_FFFF,
            0x100_0000,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_lenenc_int(&mut b, v);
            let mut c = Cursor::new(&b);
            assert_eq!(c.lenenc_int().unwrap(), Some(v));
            assert!(c.is_empty());
        }
        assert_eq!(Cursor::new(&[0xFB]).lenenc_int().unwrap(), None);
        assert!(Cursor::new(&[0xFC, 1]).lenenc_int().is_err());
        assert!(Cursor::new(&[0xFF]).lenenc_int().is_err());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut c = Cursor::new(&[1, 2]);
        assert!(c.u32().is_err());
        assert!(Cursor::new(&[5, b'a']).lenenc_bytes().is_err());
    }

    /// Counts `write` calls to prove each packet goes out in one write.
    struct Recorder {
        writes: Vec<Vec<u8>>,
    }
    impl Read for Recorder {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Ok(0)
        }
    }
    impl Write for Recorder {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.writes.push(b.to_vec());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn packet_is_written_in_one_call() {
        let mut ps = PacketStream::new(Recorder { writes: vec![] });
        ps.write_command(b"\x03SELECT 1").unwrap();
        assert_eq!(ps.stream.writes.len(), 1);
        assert_eq!(ps.stream.writes[0], b"\x09\x00\x00\x00\x03SELECT 1");
        assert_eq!(ps.seq, 1);
    }

    #[test]
    fn huge_packet_is_split_but_still_one_write() {
        let mut ps = PacketStream::new(Recorder { writes: vec![] });
        let payload = vec![7u8; MAX_PAYLOAD];
        ps.write_command(&payload).unwrap();
        assert_eq!(ps.stream.writes.len(), 1);
        let w = &ps.stream.writes[0];
        // one full packet + one empty terminator packet
        assert_eq!(w.len(), MAX_PAYLOAD + 8);
        assert_eq!(&w[..4], &[0xFF, 0xFF, 0xFF, 0]);
        assert_eq!(&w[w.len() - 4..], &[0, 0, 0, 1]);
    }
}
