//! Password authentication and stored-password formats: SCRAM-SHA-256
//! (RFC 5802 / RFC 7677, without channel binding), PostgreSQL's md5, and
//! the verifiers `ALTER ROLE ... PASSWORD` accepts pre-hashed.
//!
//! Passwords are normalised with SASLprep (RFC 4013) the way PostgreSQL
//! does it: an ASCII password is used as is, any other is normalised, and
//! one that SASLprep refuses is used as raw bytes.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::PgError;

/// The SASL mechanism this client speaks.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
/// PostgreSQL's default iteration count for new SCRAM verifiers.
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// Refuse a server asking for more PBKDF2 iterations than this (a hostile
/// server could otherwise burn the client's CPU budget).
pub const MAX_ITERATIONS: u32 = 1 << 20;
/// Salt length of new SCRAM verifiers (PostgreSQL's).
pub const SALT_LEN: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// The password as SCRAM hashes it (PostgreSQL's `pg_saslprep` rules).
pub fn saslprep(password: &str) -> Cow<'_, str> {
    if password.is_ascii() {
        return Cow::Borrowed(password);
    }
    stringprep::saslprep(password).unwrap_or(Cow::Borrowed(password))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `Hi(Normalize(password), salt, iterations)`: PBKDF2-HMAC-SHA-256.
pub fn salted_password(password: &str, salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(
        saslprep(password).as_bytes(),
        salt,
        iterations,
        out.as_mut(),
    );
    out
}

/// A stored SCRAM-SHA-256 verifier as PostgreSQL keeps it in `pg_authid`:
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64).
/// It lets the server check a login without knowing the password.
pub fn scram_verifier(password: &str, salt: &[u8], iterations: u32) -> Zeroizing<String> {
    let salted = salted_password(password, salt, iterations);
    let client_key = Zeroizing::new(hmac(salted.as_ref(), b"Client Key"));
    let stored_key: [u8; 32] = Sha256::digest(client_key.as_ref()).into();
    let server_key = hmac(salted.as_ref(), b"Server Key");
    Zeroizing::new(format!(
        "{SCRAM_SHA_256}${iterations}:{}${}:{}",
        B64.encode(salt),
        B64.encode(stored_key),
        B64.encode(server_key)
    ))
}

/// A stored md5 password: `md5` + hex(md5(password ‖ user)). Weaker than
/// SCRAM: with md5 authentication the hash itself logs in.
pub fn md5_verifier(password: &str, user: &str) -> Zeroizing<String> {
    let mut input = Zeroizing::new(Vec::with_capacity(password.len() + user.len()));
    input.extend_from_slice(password.as_bytes());
    input.extend_from_slice(user.as_bytes());
    Zeroizing::new(format!("md5{:x}", md5::compute(input.as_slice())))
}

/// The md5 authentication response: `md5` + hex(md5(hex(md5(password ‖
/// user)) ‖ salt)).
pub fn md5_response(password: &str, user: &str, salt: [u8; 4]) -> Zeroizing<String> {
    let inner = md5_verifier(password, user);
    let mut input = Zeroizing::new(Vec::with_capacity(36));
    input.extend_from_slice(&inner.as_bytes()[3..]);
    input.extend_from_slice(&salt);
    Zeroizing::new(format!("md5{:x}", md5::compute(input.as_slice())))
}

/// `n` random bytes from the operating system (WASI `random` in the sandbox).
pub fn random_bytes(n: usize) -> Result<Vec<u8>, PgError> {
    use rand_core::RngCore as _;
    let mut out = vec![0u8; n];
    rand_core::OsRng
        .try_fill_bytes(&mut out)
        .map_err(|e| PgError::Io(std::io::Error::other(format!("no randomness: {e}"))))?;
    Ok(out)
}

/// A fresh client nonce: 18 random bytes, base64 (as libpq makes them).
pub fn random_nonce() -> Result<String, PgError> {
    Ok(B64.encode(random_bytes(18)?))
}

/// The client side of one SCRAM-SHA-256 exchange.
///
/// ```
/// use keeper_postgres_protocol::auth::ScramClient;
///
/// // RFC 7677's example conversation.
/// let mut scram = ScramClient::new("user", "pencil", "rOprNGfwEbeRWgbNEkqO".into());
/// assert_eq!(scram.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
/// let last = scram
///     .client_final(
///         "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
///          s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
///     )
///     .unwrap();
/// assert_eq!(
///     last.as_str(),
///     "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
///      p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
/// );
/// scram.check_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap();
/// ```
pub struct ScramClient {
    password: Zeroizing<String>,
    nonce: String,
    client_first_bare: String,
    server_signature: Option<[u8; 32]>,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

impl ScramClient {
    /// Starts an exchange. PostgreSQL ignores the SCRAM user name (the
    /// startup message names the role), so its clients send an empty one.
    pub fn new(user: &str, password: &str, nonce: String) -> Self {
        let user = user.replace('=', "=3D").replace(',', "=2C");
        Self {
            password: Zeroizing::new(password.to_owned()),
            client_first_bare: format!("n={user},r={nonce}"),
            nonce,
            server_signature: None,
        }
    }

    /// The client-first-message (no channel binding: `n,,`).
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// Checks the server-first-message and returns the client-final-message
    /// with the proof.
    ///
    /// Fails if the server's nonce does not extend ours, the salt or the
    /// iteration count is missing or malformed, or the count is above
    /// [`MAX_ITERATIONS`].
    pub fn client_final(&mut self, server_first: &str) -> Result<Zeroizing<String>, PgError> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for part in server_first.split(',') {
            match part.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("m", _)) => {
                    return Err(PgError::Unsupported(
                        "the server asks for a SCRAM extension".into(),
                    ));
                }
                _ => {}
            }
        }
        let bad = |what: &str| PgError::protocol(format!("SCRAM server-first-message: {what}"));
        let nonce = nonce.ok_or_else(|| bad("no nonce"))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(bad("the server's nonce does not extend the client's"));
        }
        let salt = B64
            .decode(salt.ok_or_else(|| bad("no salt"))?)
            .map_err(|_| bad("the salt is not base64"))?;
        let iterations: u32 = iterations
            .ok_or_else(|| bad("no iteration count"))?
            .parse()
            .map_err(|_| bad("the iteration count is not a number"))?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(bad(&format!(
                "iteration count {iterations} is outside 1..={MAX_ITERATIONS}"
            )));
        }
        let salted = salted_password(&self.password, &salt, iterations);
        let client_key = Zeroizing::new(hmac(salted.as_ref(), b"Client Key"));
        let stored_key: [u8; 32] = Sha256::digest(client_key.as_ref()).into();
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hmac(salted.as_ref(), b"Server Key");
        self.server_signature = Some(hmac(&server_key, auth_message.as_bytes()));
        Ok(Zeroizing::new(format!(
            "{without_proof},p={}",
            B64.encode(proof)
        )))
    }

    /// Checks the server-final-message: the server must prove it knows the
    /// password's verifier (a server that does not is an impostor).
    pub fn check_server_final(&self, server_final: &str) -> Result<(), PgError> {
        let expected = self
            .server_signature
            .ok_or_else(|| PgError::protocol("SCRAM server-final-message before server-first"))?;
        if let Some(error) = server_final.strip_prefix("e=") {
            return Err(PgError::Auth {
                code: "28P01".into(),
                message: format!("SCRAM authentication failed: {error}"),
            });
        }
        let signature = server_final
            .split(',')
            .find_map(|p| p.strip_prefix("v="))
            .and_then(|v| B64.decode(v).ok())
            .ok_or_else(|| PgError::protocol("SCRAM server-final-message without a signature"))?;
        if signature.as_slice() != expected.as_slice() {
            return Err(PgError::Auth {
                code: "28000".into(),
                message: "the server's SCRAM signature is wrong: it does not know this \
                          password (an impostor?)"
                    .into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc7677_verifier_keys() {
        // RFC 7677 §3: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096.
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = scram_verifier("pencil", &salt, 4096);
        assert!(v.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"));
        // ServerKey is checked indirectly: the RFC's server signature must come out.
        let mut c = ScramClient::new("user", "pencil", "rOprNGfwEbeRWgbNEkqO".into());
        c.client_final(
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        )
        .unwrap();
        assert!(
            c.check_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .is_ok()
        );
        assert!(matches!(
            c.check_server_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            Err(PgError::Auth { .. })
        ));
        assert!(matches!(
            c.check_server_final("e=invalid-proof"),
            Err(PgError::Auth { .. })
        ));
    }

    #[test]
    fn server_first_is_checked() {
        let mut c = ScramClient::new("", "pw", "abc".into());
        for bad in [
            "r=xyz123,s=AAAA,i=4096",     // does not extend our nonce
            "r=abc,s=AAAA,i=4096",        // adds nothing
            "r=abcdef,s=%%%,i=4096",      // salt not base64
            "r=abcdef,s=AAAA,i=0",        // no iterations
            "r=abcdef,s=AAAA,i=99999999", // too many
            "r=abcdef,i=4096",            // no salt
        ] {
            assert!(c.client_final(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            c.client_final("m=ext,r=abcdef,s=AAAA,i=1"),
            Err(PgError::Unsupported(_))
        ));
        assert!(c.client_final("r=abcdef,s=AAAA,i=1").is_ok());
    }

    #[test]
    fn saslprep_follows_postgres() {
        assert_eq!(
            saslprep("plain ASCII\x01"),
            "plain ASCII\x01",
            "ASCII: as is"
        );
        assert_eq!(saslprep("a\u{00A0}b"), "a b", "non-ASCII space → space");
        assert_eq!(saslprep("\u{2168}"), "IX", "NFKC");
        assert_eq!(saslprep("a\u{00AD}b"), "ab", "mapped to nothing");
        assert_eq!(saslprep("a\u{0007}é"), "a\u{0007}é", "prohibited: raw");
    }

    #[test]
    fn md5_formats() {
        // Values from Python's hashlib: md5(b"secretalice"), then md5 of its
        // hex digest followed by the salt bytes 01 02 03 04.
        assert_eq!(
            md5_verifier("secret", "alice").as_str(),
            "md54a0a68b43b6cd5cf266fa02f196e2371"
        );
        assert_eq!(
            md5_response("secret", "alice", [1, 2, 3, 4]).as_str(),
            "md598a0412b9c31436fc53776e863350083"
        );
    }

    #[test]
    fn nonces_are_fresh_and_printable() {
        let a = random_nonce().unwrap();
        assert_ne!(a, random_nonce().unwrap());
        assert_eq!(a.len(), 24);
        assert!(!a.contains(','));
    }

    #[test]
    fn user_names_are_escaped_in_the_bare_message() {
        let c = ScramClient::new("a,b=c", "pw", "n".into());
        assert_eq!(c.client_first(), "n,,n=a=2Cb=3Dc,r=n");
    }
}
