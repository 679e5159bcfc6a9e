//! The client against a real OpenLDAP `slapd` (testkit): bind, RFC 3062
//! password change, refusals with their result codes.

use std::net::TcpStream;

use keeper_ldap_protocol::testkit::Slapd;
use keeper_ldap_protocol::{Conn, LdapError};

fn session(server: &Slapd) -> Conn<TcpStream> {
    Conn::new(TcpStream::connect(server.addr).expect("connect"))
}

#[test]
fn binds_and_changes_its_own_password_with_rfc_3062() {
    let server = Slapd::start().expect("slapd (scripts/lib.sh installs it)");
    let dn = server.add_person("app, Inc.", "Old-ldap-1").expect("add");
    let mut conn = session(&server);
    conn.simple_bind(&dn, b"Old-ldap-1").expect("bind");
    let new = "N'e\"w\\p;a--s s`1 é";
    conn.password_modify(Some(&dn), Some(b"Old-ldap-1"), new.as_bytes())
        .expect("password modify");
    conn.unbind().expect("unbind");
    assert!(server.can_bind(&dn, new));
    assert!(!server.can_bind(&dn, "Old-ldap-1"));
}

#[test]
fn refusals_carry_the_server_result_code() {
    let server = Slapd::start().expect("slapd");
    let dn = server.add_person("bob", "Bob-pw-1").expect("add");
    let err = session(&server)
        .simple_bind(&dn, b"wrong")
        .expect_err("wrong password");
    assert_eq!(err.code(), Some(49), "{err}");

    // Bound as bob, a wrong old password in the request is refused.
    let mut conn = session(&server);
    conn.simple_bind(&dn, b"Bob-pw-1").expect("bind");
    let err = conn
        .password_modify(Some(&dn), Some(b"wrong"), b"Never-set-1")
        .expect_err("wrong old password");
    assert!(matches!(err, LdapError::Result { .. }), "{err}");
    assert!(server.can_bind(&dn, "Bob-pw-1"));

    // Another user's password is not bob's to change.
    let other = server.add_person("carol", "Carol-pw-1").expect("add");
    let err = conn
        .password_modify(Some(&other), None, b"Stolen-1")
        .expect_err("not allowed");
    assert!(err.code().is_some(), "{err}");
    assert!(server.can_bind(&other, "Carol-pw-1"));
}

#[test]
fn an_empty_password_never_reaches_the_server_as_an_anonymous_bind() {
    let server = Slapd::start().expect("slapd");
    let dn = server.add_person("dave", "Dave-pw-1").expect("add");
    assert!(matches!(
        session(&server).simple_bind(&dn, b""),
        Err(LdapError::InvalidInput(_))
    ));
}
