//! keeper's first-party LDAP rotator (OpenLDAP and every server that
//! implements RFC 3062).
//!
//! Speaks LDAPv3 itself (`keeper-ldap-protocol`, with its own BER codec)
//! over the one TCP connection the sandbox allows: to the record's pinned
//! target.
//!
//! - **rotate**: simple bind as the account's DN with the old password,
//!   then the RFC 3062 password modify extended operation naming the DN,
//!   the old password and the new one. The server hashes and stores the
//!   password under its own policy (`password-hash`, ppolicy); an
//!   ordinary account changes its own password, no privilege is needed.
//! - **verify**: a fresh simple bind with the new password.
//! - **revert**: bind with the new password and set the old one back.
//!
//! Parameters: `host`, `login`, `password` (required); `cmdr:userdn`, the
//! account's DN (Commander's name for it; without it the login must be a
//! DN such as `uid=app,ou=people,dc=example,dc=com`); `cmdr:port`
//! (default 389).
//!
//! **No TLS.** The SDK's `tcp` capability is plain TCP and the sandbox
//! carries no TLS stack yet, so neither LDAPS (636) nor StartTLS is
//! available and a simple bind sends the password in clear text. The
//! plugin therefore refuses, before connecting, any target that is not a
//! loopback address unless the record says `cmdr:allow_cleartext=true`,
//! and refuses `cmdr:use_ssl=true`, `cmdr:start_tls=true` and port 636
//! outright (rather than silently downgrade). An empty password is never
//! sent: RFC 4513 makes it an unauthenticated bind that servers accept.
//!
//! Every character is safe in a password (LDAP carries it as an octet
//! string; nothing is quoted), except NUL, which the host refuses.
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-ldap`.

use keeper_ldap_protocol::{Conn, LdapError};
use keeper_plugin_sdk::net::TargetStream;
use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator};

/// The LDAP rotator.
pub struct Ldap;

/// LDAPS, which the sandbox cannot speak.
const LDAPS_PORT: u16 = 636;

impl Rotator for Ldap {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "ldap",
            "Rotates LDAP passwords with the RFC 3062 password modify operation (OpenLDAP)",
        )
        .default_port(389)
        .required_params(["host", "login", "password"])
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        set(
            req,
            req.old_password().expose(),
            req.new_password().expose(),
        )
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        let dn = user_dn(req)?;
        let mut conn = connect(req)?;
        conn.simple_bind(&dn, req.new_password().expose().as_bytes())
            .map_err(map_error)?;
        conn.unbind().map_err(map_error)
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        set(
            req,
            req.new_password().expose(),
            req.old_password().expose(),
        )
    }
}

/// Binds with `from` and changes the password to `to`.
fn set(req: &Rotation, from: &str, to: &str) -> Result<(), PluginError> {
    let dn = user_dn(req)?;
    let mut conn = connect(req)?;
    conn.simple_bind(&dn, from.as_bytes()).map_err(map_error)?;
    // Once the request is sent, a lost connection may or may not have
    // changed the password: the host must check rather than assume.
    conn.password_modify(Some(&dn), Some(from.as_bytes()), to.as_bytes())
        .map_err(|e| map_error(e).target_may_have_changed())?;
    // The change is done; a failing unbind changes nothing.
    let _ = conn.unbind();
    Ok(())
}

/// The account's DN: `cmdr:userdn`, else the login when it is a DN.
fn user_dn(req: &Rotation) -> Result<String, PluginError> {
    if let Some(dn) = req.param("userdn").map(str::trim).filter(|d| !d.is_empty()) {
        return Ok(dn.to_string());
    }
    let login = req.login().trim();
    if login.contains('=') {
        Ok(login.to_string())
    } else {
        Err(PluginError::InvalidConfig(format!(
            "login `{login}` is not a DN: set the custom field cmdr:userdn to the account's DN \
             (e.g. uid={login},ou=people,dc=example,dc=com)"
        )))
    }
}

fn flag(req: &Rotation, name: &str) -> bool {
    req.param(name)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Connects to the pinned target after refusing what would leak the
/// password or silently drop the TLS the record asks for.
fn connect(req: &Rotation) -> Result<Conn<TargetStream>, PluginError> {
    let target = req.target()?;
    if flag(req, "use_ssl") || flag(req, "start_tls") || target.port == LDAPS_PORT {
        return Err(PluginError::Unsupported(
            "LDAPS and StartTLS are not available in keeper's sandbox yet (no TLS over the tcp \
             capability); nothing was sent"
                .into(),
        ));
    }
    let loopback = target.socket_addr()?.ip().is_loopback();
    if !loopback && !flag(req, "allow_cleartext") {
        return Err(PluginError::InvalidConfig(format!(
            "{} is not a loopback address and this plugin has no TLS: a simple bind would send \
             the password in clear text; set cmdr:allow_cleartext=true to accept that",
            target.host
        )));
    }
    Ok(Conn::new(TargetStream::connect(target)?))
}

/// Maps protocol errors to plugin errors, keeping the server's message.
fn map_error(error: LdapError) -> PluginError {
    let text = format!("LDAP {error}");
    match error {
        // invalidCredentials, inappropriateAuthentication
        LdapError::Result { code: 49 | 48, .. } => PluginError::AuthFailed(text),
        LdapError::Result { .. } => PluginError::Rejected(text),
        LdapError::Io(_) | LdapError::Disconnected(_) => PluginError::Unreachable(text),
        LdapError::InvalidInput(_) => PluginError::InvalidConfig(text),
        _ => PluginError::Internal(text),
    }
}

keeper_plugin_sdk::register_rotator!(Ldap);

#[cfg(test)]
mod tests {
    use super::*;
    use keeper_plugin_sdk::Target;

    fn target(address: &str, port: u16) -> Target {
        Target {
            host: "dir.example".into(),
            port,
            address: address.into(),
        }
    }

    #[test]
    fn describes_ldap() {
        let info = Ldap::describe();
        assert_eq!(info.name, "ldap");
        assert_eq!(info.default_port, Some(389));
        assert!(
            info.disallowed_chars.is_empty(),
            "octet strings carry anything"
        );
    }

    #[test]
    fn the_dn_is_cmdr_userdn_or_a_login_that_is_one() {
        let req = Rotation::new("uid=a,dc=x", "o", "n");
        assert_eq!(user_dn(&req).ok().as_deref(), Some("uid=a,dc=x"));
        let req = Rotation::new("a", "o", "n").with_param("userdn", "cn=a,dc=x");
        assert_eq!(user_dn(&req).ok().as_deref(), Some("cn=a,dc=x"));
        let req = Rotation::new("a", "o", "n");
        assert!(
            matches!(user_dn(&req), Err(PluginError::InvalidConfig(m)) if m.contains("cmdr:userdn"))
        );
    }

    #[test]
    fn cleartext_off_loopback_and_tls_requests_are_refused_before_connecting() {
        let remote =
            Rotation::new("uid=a,dc=x", "o", "n").with_target(target("192.0.2.7:389", 389));
        assert!(
            matches!(connect(&remote), Err(PluginError::InvalidConfig(m)) if m.contains("allow_cleartext"))
        );
        let ldaps = Rotation::new("uid=a,dc=x", "o", "n").with_target(target("127.0.0.1:636", 636));
        assert!(matches!(connect(&ldaps), Err(PluginError::Unsupported(_))));
        let tls = Rotation::new("uid=a,dc=x", "o", "n")
            .with_target(target("127.0.0.1:389", 389))
            .with_param("start_tls", "true");
        assert!(matches!(connect(&tls), Err(PluginError::Unsupported(_))));
    }

    #[test]
    fn errors_keep_the_result_code_and_category() {
        let e = map_error(LdapError::Result {
            operation: "bind",
            code: 49,
            message: String::new(),
        });
        assert!(matches!(e, PluginError::AuthFailed(m) if m.contains("invalidCredentials (49)")));
        let e = map_error(LdapError::Result {
            operation: "password modify",
            code: 19,
            message: "password in history".into(),
        });
        assert!(matches!(e, PluginError::Rejected(m) if m.contains("password in history")));
    }
}
