//! The BER subset LDAP uses (RFC 4511 §5.1): single-byte tags, definite
//! lengths, integers, octet strings and constructed values.

use std::io::Read;

use crate::LdapError;

/// Universal SEQUENCE (constructed).
pub(crate) const SEQUENCE: u8 = 0x30;
/// Universal INTEGER.
pub(crate) const INTEGER: u8 = 0x02;
/// Universal OCTET STRING.
pub(crate) const OCTET_STRING: u8 = 0x04;
/// Universal ENUMERATED.
pub(crate) const ENUMERATED: u8 = 0x0a;

/// `tag`, the definite length of `content`, then `content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// An integer (or enumerated) value in its shortest two's-complement form.
pub(crate) fn integer(tag: u8, value: i64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    tlv(tag, &bytes[start..])
}

/// The concatenation of already encoded elements.
pub(crate) fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// One decoded element: its tag and content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The content as an integer (at most 8 bytes).
    pub(crate) fn integer(&self) -> Result<i64, LdapError> {
        let c = self.content;
        if c.is_empty() || c.len() > 8 {
            return Err(LdapError::Protocol(format!(
                "an integer of {} bytes",
                c.len()
            )));
        }
        let mut value: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
        for b in c {
            value = (value << 8) | i64::from(*b);
        }
        Ok(value)
    }

    /// The content as text (invalid UTF-8 replaced: only for messages).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(self.content).into_owned()
    }

    /// A reader over the elements inside a constructed value.
    pub(crate) fn children(&self) -> Reader<'a> {
        Reader::new(self.content)
    }
}

/// Reads elements one after another from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// The next element.
    pub(crate) fn next(&mut self) -> Result<Tlv<'a>, LdapError> {
        let (tag, header, len) =
            header(self.data)?.ok_or_else(|| LdapError::Protocol("a truncated element".into()))?;
        let end = header
            .checked_add(len)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| LdapError::Protocol("an element longer than its container".into()))?;
        let content = &self.data[header..end];
        self.data = &self.data[end..];
        Ok(Tlv { tag, content })
    }

    /// The next element, which must carry `tag`.
    pub(crate) fn expect(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>, LdapError> {
        let tlv = self.next()?;
        if tlv.tag != tag {
            return Err(LdapError::Protocol(format!(
                "expected {what} (tag {tag:#04x}), got tag {:#04x}",
                tlv.tag
            )));
        }
        Ok(tlv)
    }
}

/// Parses an element header: `(tag, header length, content length)`, or
/// `None` when `data` is too short to hold the header.
fn header(data: &[u8]) -> Result<Option<(u8, usize, usize)>, LdapError> {
    let (Some(&tag), Some(&first)) = (data.first(), data.get(1)) else {
        return Ok(None);
    };
    if tag & 0x1f == 0x1f {
        return Err(LdapError::Protocol("a multi-byte tag".into()));
    }
    if first < 0x80 {
        return Ok(Some((tag, 2, usize::from(first))));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return Err(LdapError::Protocol(
            "an indefinite or oversized length".into(),
        ));
    }
    let Some(bytes) = data.get(2..2 + n) else {
        return Ok(None);
    };
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Ok(Some((tag, 2 + n, len)))
}

/// Reads one whole element (an LDAP message) from `stream`, refusing one
/// longer than `max` bytes before reading its content.
pub(crate) fn read_element<R: Read>(stream: &mut R, max: usize) -> Result<Vec<u8>, LdapError> {
    let mut buf = vec![0u8; 2];
    stream.read_exact(&mut buf)?;
    if buf[1] & 0x80 != 0 {
        let n = usize::from(buf[1] & 0x7f);
        if n == 0 || n > 4 {
            return Err(LdapError::Protocol(
                "an indefinite or oversized length".into(),
            ));
        }
        let mut more = vec![0u8; n];
        stream.read_exact(&mut more)?;
        buf.extend_from_slice(&more);
    }
    let Some((_, header_len, len)) = header(&buf)? else {
        return Err(LdapError::Protocol("a truncated header".into()));
    };
    if len > max {
        return Err(LdapError::Protocol(format!(
            "a message of {len} bytes (more than {max})"
        )));
    }
    let mut content = vec![0u8; len];
    stream.read_exact(&mut content)?;
    let mut out = buf;
    out.truncate(header_len);
    out.extend_from_slice(&content);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_short_and_long_forms() {
        assert_eq!(tlv(0x04, b"ab"), [0x04, 2, b'a', b'b']);
        let long = tlv(0x04, &[7; 300]);
        assert_eq!(&long[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
        let mut r = Reader::new(&long);
        assert_eq!(r.next().map(|t| t.content.len()).ok(), Some(300));
    }

    #[test]
    fn integers_are_minimal_twos_complement_and_round_trip() {
        // X.690 examples.
        assert_eq!(integer(INTEGER, 0), [2, 1, 0]);
        assert_eq!(integer(INTEGER, 127), [2, 1, 0x7f]);
        assert_eq!(integer(INTEGER, 128), [2, 2, 0, 0x80]);
        assert_eq!(integer(INTEGER, -128), [2, 1, 0x80]);
        assert_eq!(integer(INTEGER, -129), [2, 2, 0xff, 0x7f]);
        for v in [
            0,
            1,
            127,
            128,
            255,
            256,
            65535,
            i64::from(i32::MAX),
            -1,
            -129,
        ] {
            let enc = integer(INTEGER, v);
            assert_eq!(
                Reader::new(&enc).next().and_then(|t| t.integer()).ok(),
                Some(v)
            );
        }
    }

    #[test]
    fn truncated_and_overlong_elements_are_errors_not_panics() {
        assert!(Reader::new(&[0x04, 5, 1, 2]).next().is_err());
        assert!(Reader::new(&[0x04]).next().is_err());
        assert!(Reader::new(&[0x04, 0x85, 1, 1, 1, 1, 1]).next().is_err());
        assert!(Reader::new(&[0x04, 0x80]).next().is_err());
        assert!(Reader::new(&[0x1f, 1, 0]).next().is_err());
    }

    #[test]
    fn read_element_bounds_the_message_before_reading_it() {
        let msg = tlv(SEQUENCE, &[1; 200]);
        let mut src: &[u8] = &msg;
        assert_eq!(read_element(&mut src, 1024).ok(), Some(msg.clone()));
        let mut src: &[u8] = &msg;
        assert!(matches!(
            read_element(&mut src, 100),
            Err(LdapError::Protocol(_))
        ));
        let mut short: &[u8] = &msg[..50];
        assert!(matches!(
            read_element(&mut short, 1024),
            Err(LdapError::Io(_))
        ));
    }
}
