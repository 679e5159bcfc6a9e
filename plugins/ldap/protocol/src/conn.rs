//! An LDAP session: requests out, one response in, result codes checked.

use std::io::{Read, Write};

use zeroize::Zeroizing;

use crate::LdapError;
use crate::ber::{
    ENUMERATED, INTEGER, OCTET_STRING, Reader, SEQUENCE, Tlv, concat, integer, read_element, tlv,
};

/// The largest response accepted: far above what a password change gets.
pub const MAX_MESSAGE: usize = 1 << 20;

/// RFC 3062's password modify extended operation.
pub const PASSWORD_MODIFY_OID: &str = "1.3.6.1.4.1.4203.1.11.1";

// Protocol operation tags (RFC 4511 §4.2-4.12; APPLICATION class).
const BIND_REQUEST: u8 = 0x60;
const BIND_RESPONSE: u8 = 0x61;
const UNBIND_REQUEST: u8 = 0x42;
const EXTENDED_REQUEST: u8 = 0x77;
const EXTENDED_RESPONSE: u8 = 0x78;
/// `AuthenticationChoice.simple [0]`.
const SIMPLE_AUTH: u8 = 0x80;
/// `ExtendedRequest.requestName [0]` / `requestValue [1]`.
const REQUEST_NAME: u8 = 0x80;
const REQUEST_VALUE: u8 = 0x81;
/// `PasswdModifyRequestValue` fields `[0]`, `[1]`, `[2]`.
const USER_IDENTITY: u8 = 0x80;
const OLD_PASSWD: u8 = 0x81;
const NEW_PASSWD: u8 = 0x82;
/// The notice of disconnection (RFC 4511 §4.4.1).
const NOTICE_OF_DISCONNECTION: &str = "1.3.6.1.4.1.1466.20036";

/// An LDAPv3 session over `S`.
pub struct Conn<S> {
    stream: S,
    next_id: i64,
}

impl<S> std::fmt::Debug for Conn<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

impl<S: Read + Write> Conn<S> {
    /// A session over a connected stream (nothing is sent yet).
    pub fn new(stream: S) -> Self {
        Self { stream, next_id: 1 }
    }

    /// Binds as `dn` with `password` (LDAPv3 simple authentication).
    ///
    /// Refuses an empty DN or password with [`LdapError::InvalidInput`]
    /// before sending anything: RFC 4513 §5.1.2 makes either an
    /// unauthenticated bind that many servers accept, which would make a
    /// wrong password look right. Fails with [`LdapError::Result`] (49,
    /// invalidCredentials, for a wrong password) when the server refuses.
    pub fn simple_bind(&mut self, dn: &str, password: &[u8]) -> Result<(), LdapError> {
        if dn.trim().is_empty() {
            return Err(LdapError::InvalidInput(
                "an empty DN would bind anonymously".into(),
            ));
        }
        if password.is_empty() {
            return Err(LdapError::InvalidInput(
                "an empty password would be an unauthenticated bind".into(),
            ));
        }
        let op = Zeroizing::new(tlv(
            BIND_REQUEST,
            &concat(&[
                &integer(INTEGER, 3),
                &tlv(OCTET_STRING, dn.as_bytes()),
                &Zeroizing::new(tlv(SIMPLE_AUTH, password)),
            ]),
        ));
        self.request(&op, BIND_RESPONSE, "bind").map(drop)
    }

    /// Changes a password with the RFC 3062 extended operation: `user`'s
    /// (the bound identity's when `None`), checking `old` when given.
    ///
    /// Fails with [`LdapError::Result`] when the server refuses (e.g.
    /// 53 unwillingToPerform when OpenLDAP finds `old` wrong, 19
    /// constraintViolation for a password policy).
    pub fn password_modify(
        &mut self,
        user: Option<&str>,
        old: Option<&[u8]>,
        new: &[u8],
    ) -> Result<(), LdapError> {
        let mut value = Zeroizing::new(Vec::new());
        if let Some(user) = user {
            value.extend_from_slice(&tlv(USER_IDENTITY, user.as_bytes()));
        }
        if let Some(old) = old {
            value.extend_from_slice(&Zeroizing::new(tlv(OLD_PASSWD, old)));
        }
        value.extend_from_slice(&Zeroizing::new(tlv(NEW_PASSWD, new)));
        let value = Zeroizing::new(tlv(SEQUENCE, &value));
        let op = Zeroizing::new(tlv(
            EXTENDED_REQUEST,
            &concat(&[
                &tlv(REQUEST_NAME, PASSWORD_MODIFY_OID.as_bytes()),
                &Zeroizing::new(tlv(REQUEST_VALUE, &value)),
            ]),
        ));
        self.request(&op, EXTENDED_RESPONSE, "password modify")
            .map(drop)
    }

    /// Ends the session politely (no response is expected).
    ///
    /// Fails only when the stream does.
    pub fn unbind(mut self) -> Result<(), LdapError> {
        let message = self.envelope(&[UNBIND_REQUEST, 0]);
        self.stream.write_all(&message)?;
        self.stream.flush()?;
        Ok(())
    }

    /// `LDAPMessage { messageID, protocolOp }` for the next id.
    fn envelope(&mut self, op: &[u8]) -> Zeroizing<Vec<u8>> {
        let id = self.next_id;
        self.next_id += 1;
        Zeroizing::new(tlv(SEQUENCE, &concat(&[&integer(INTEGER, id), op])))
    }

    /// Sends `op` in one write, reads its response (which must be
    /// `response`) and checks its result code.
    fn request(
        &mut self,
        op: &[u8],
        response: u8,
        operation: &'static str,
    ) -> Result<(), LdapError> {
        let id = self.next_id;
        let message = self.envelope(op);
        self.stream.write_all(&message)?;
        self.stream.flush()?;
        let reply = read_element(&mut self.stream, MAX_MESSAGE)?;
        let mut outer = Reader::new(&reply);
        let message = outer.expect(SEQUENCE, "an LDAPMessage")?;
        let mut fields = message.children();
        let got_id = fields.expect(INTEGER, "a message id")?.integer()?;
        let op = fields.next()?;
        if got_id == 0 && op.tag == EXTENDED_RESPONSE {
            return Err(disconnection(op));
        }
        if got_id != id {
            return Err(LdapError::Protocol(format!(
                "a response to message {got_id} while waiting for {id}"
            )));
        }
        if op.tag != response {
            return Err(LdapError::Protocol(format!(
                "{operation}: unexpected response (tag {:#04x})",
                op.tag
            )));
        }
        let (code, message) = ldap_result(op)?;
        if code == 0 {
            Ok(())
        } else {
            Err(LdapError::Result {
                operation,
                code,
                message,
            })
        }
    }
}

/// The result code and diagnostic message of an `LDAPResult`.
fn ldap_result(op: Tlv<'_>) -> Result<(u32, String), LdapError> {
    let mut r = op.children();
    let code = r.expect(ENUMERATED, "a result code")?.integer()?;
    let _matched = r.expect(OCTET_STRING, "a matched DN")?;
    let message = r.expect(OCTET_STRING, "a diagnostic message")?.text();
    let code = u32::try_from(code)
        .map_err(|_| LdapError::Protocol(format!("a negative result code {code}")))?;
    Ok((code, message))
}

/// The error for an unsolicited notification (message id 0).
fn disconnection(op: Tlv<'_>) -> LdapError {
    let (code, message) = ldap_result(op).unwrap_or((0, String::new()));
    let mut r = op.children();
    let mut oid = String::new();
    while r.peek_tag().is_some() {
        match r.next() {
            Ok(t) if t.tag == 0x8a => oid = t.text(),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let what = if oid == NOTICE_OF_DISCONNECTION {
        "notice of disconnection"
    } else {
        "unsolicited notification"
    };
    LdapError::Disconnected(format!(
        "{what}: {} ({code}) {message}",
        crate::result_name(code)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// ModifyResponse, a response of the wrong kind for a bind.
    const MODIFY_RESPONSE: u8 = 0x67;

    /// A stream that records what is written and replays canned responses.
    struct Scripted {
        written: Vec<u8>,
        replies: Cursor<Vec<u8>>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.replies.read(buf)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn response(id: i64, tag: u8, code: i64, message: &str) -> Vec<u8> {
        tlv(
            SEQUENCE,
            &concat(&[
                &integer(INTEGER, id),
                &tlv(
                    tag,
                    &concat(&[
                        &integer(ENUMERATED, code),
                        &tlv(OCTET_STRING, b""),
                        &tlv(OCTET_STRING, message.as_bytes()),
                    ]),
                ),
            ]),
        )
    }

    fn conn(replies: Vec<u8>) -> Conn<Scripted> {
        Conn::new(Scripted {
            written: Vec::new(),
            replies: Cursor::new(replies),
        })
    }

    #[test]
    fn a_simple_bind_is_encoded_as_rfc_4511_says() {
        let mut c = conn(response(1, BIND_RESPONSE, 0, ""));
        c.simple_bind("cn=a", b"pw").expect("bind");
        // LDAPMessage { 1, BindRequest { 3, "cn=a", simple "pw" } }
        assert_eq!(
            c.stream.written,
            [
                0x30, 0x12, 0x02, 0x01, 0x01, 0x60, 0x0d, 0x02, 0x01, 0x03, 0x04, 0x04, b'c', b'n',
                b'=', b'a', 0x80, 0x02, b'p', b'w'
            ]
        );
    }

    #[test]
    fn a_password_modify_request_carries_the_oid_and_the_three_fields() {
        let mut c = conn(response(1, EXTENDED_RESPONSE, 0, ""));
        c.password_modify(Some("u"), Some(b"o"), b"n")
            .expect("modify");
        let w = &c.stream.written;
        let value = [0x30, 0x09, 0x80, 1, b'u', 0x81, 1, b'o', 0x82, 1, b'n'];
        assert!(
            w.windows(PASSWORD_MODIFY_OID.len())
                .any(|x| x == PASSWORD_MODIFY_OID.as_bytes())
        );
        assert!(w.ends_with(&value), "{w:02x?}");
        assert_eq!(w[w.len() - value.len() - 2..][..2], [0x81, 11]);
    }

    #[test]
    fn refusals_carry_the_code_and_diagnostic_and_ids_are_checked() {
        let mut c = conn(response(1, BIND_RESPONSE, 49, "bad"));
        let e = c.simple_bind("cn=a", b"pw").expect_err("refused");
        assert_eq!(e.code(), Some(49));
        assert!(e.to_string().contains("invalidCredentials"), "{e}");

        let mut c = conn(response(7, BIND_RESPONSE, 0, ""));
        assert!(matches!(
            c.simple_bind("cn=a", b"pw"),
            Err(LdapError::Protocol(_))
        ));
        let mut c = conn(response(1, MODIFY_RESPONSE, 0, ""));
        assert!(matches!(
            c.simple_bind("cn=a", b"pw"),
            Err(LdapError::Protocol(_))
        ));
    }

    #[test]
    fn a_notice_of_disconnection_is_reported_as_such() {
        let mut c = conn(response(0, EXTENDED_RESPONSE, 52, "shutting down"));
        let e = c.simple_bind("cn=a", b"pw").expect_err("disconnected");
        assert!(
            matches!(&e, LdapError::Disconnected(m) if m.contains("unavailable") && m.contains("shutting down")),
            "{e}"
        );
    }

    #[test]
    fn empty_credentials_are_refused_before_anything_is_sent() {
        let mut c = conn(Vec::new());
        assert!(matches!(
            c.simple_bind("cn=a", b""),
            Err(LdapError::InvalidInput(_))
        ));
        assert!(matches!(
            c.simple_bind(" ", b"pw"),
            Err(LdapError::InvalidInput(_))
        ));
        assert!(c.stream.written.is_empty());
    }
}
