//! Authentication plugins: `mysql_native_password` and `caching_sha2_password`
//! scrambles, and the RSA-OAEP password encryption used by caching_sha2's full
//! authentication over an unencrypted connection.

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Oaep, RsaPublicKey};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::MysqlError;

/// Name of the SHA1-based legacy plugin (MariaDB default, MySQL < 8.0).
pub const MYSQL_NATIVE_PASSWORD: &str = "mysql_native_password";
/// Name of the SHA256-based plugin (MySQL 8.0+ default).
pub const CACHING_SHA2_PASSWORD: &str = "caching_sha2_password";

/// `mysql_native_password` response:
/// `SHA1(pw) XOR SHA1(scramble || SHA1(SHA1(pw)))`. Empty password → empty.
pub fn scramble_native(password: &[u8], scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1: Zeroizing<[u8; 20]> = Zeroizing::new(Sha1::digest(password).into());
    let stage2 = Sha1::digest(stage1.as_slice());
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(stage2);
    let mask = h.finalize();
    stage1.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect()
}

/// `caching_sha2_password` fast-path response:
/// `SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) || scramble)`. Empty password → empty.
pub fn scramble_caching_sha2(password: &[u8], scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1: Zeroizing<[u8; 32]> = Zeroizing::new(Sha256::digest(password).into());
    let stage2 = Sha256::digest(stage1.as_slice());
    let mut h = Sha256::new();
    h.update(stage2);
    h.update(scramble);
    let mask = h.finalize();
    stage1.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect()
}

/// `(password || NUL) XOR scramble` (scramble repeated cyclically): the
/// plaintext that caching_sha2 full authentication RSA-encrypts.
pub fn xor_password_with_scramble(password: &[u8], scramble: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(password.len() + 1));
    buf.extend_from_slice(password);
    buf.push(0);
    if !scramble.is_empty() {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= scramble[i % scramble.len()];
        }
    }
    buf
}

/// Parse a server RSA public key in PEM form: SubjectPublicKeyInfo
/// (`BEGIN PUBLIC KEY`, what MySQL sends) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
pub fn parse_public_key_pem(pem: &str) -> Result<RsaPublicKey, MysqlError> {
    let pem = pem.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|_| MysqlError::protocol("server RSA public key is not a valid PEM RSA key"))
}

/// RSA-OAEP(SHA1, MGF1-SHA1) encrypt `(password || NUL) XOR scramble` with the
/// server's public key, as caching_sha2_password full authentication expects
/// on a connection without TLS.
pub fn encrypt_password_rsa(
    password: &[u8],
    scramble: &[u8],
    key: &RsaPublicKey,
) -> Result<Vec<u8>, MysqlError> {
    let plain = xor_password_with_scramble(password, scramble);
    let mut rng = rand_core::OsRng;
    key.encrypt(&mut rng, Oaep::new::<Sha1>(), &plain)
        // The rsa error only describes sizes/RNG failures; never the plaintext.
        .map_err(|e| {
            MysqlError::protocol(format_args!("RSA encryption of the password failed: {e}"))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rsa::RsaPrivateKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn native_scramble_matches_definition() {
        let scramble = b"abcdefghijklmnopqrst";
        let pw = b"secret";
        let got = scramble_native(pw, scramble);
        let s1 = Sha1::digest(pw);
        let s2 = Sha1::digest(s1);
        let mut h = Sha1::new();
        h.update(scramble);
        h.update(s2);
        let m = h.finalize();
        let want: Vec<u8> = s1.iter().zip(m.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 20);
        // Property the server checks: SHA1(got XOR SHA1(scramble||stored)) == stored,
        // with stored = SHA1(SHA1(pw)).
        let mut h = Sha1::new();
        h.update(scramble);
        h.update(s2);
        let m = h.finalize();
        let recovered: Vec<u8> = got.iter().zip(m.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha1::digest(&recovered), s2);
        assert!(scramble_native(b"", scramble).is_empty());
    }

    #[test]
    fn native_scramble_known_vector() {
        // PASSWORD('secret') in MySQL is '*14E65567ABDB5135D0CFD9A70B3032C179A49EE7',
        // i.e. SHA1(SHA1('secret')); check the stage-2 hash our scramble is built on.
        assert_eq!(
            hex(&Sha1::digest(Sha1::digest(b"secret"))).to_uppercase(),
            "14E65567ABDB5135D0CFD9A70B3032C179A49EE7"
        );
    }

    #[test]
    fn caching_sha2_scramble_matches_server_check() {
        let scramble = b"0123456789ABCDEFGHIJ";
        let pw = "pässwörd".as_bytes();
        let got = scramble_caching_sha2(pw, scramble);
        assert_eq!(got.len(), 32);
        // Server side: stored = SHA256(SHA256(pw)); m = SHA256(stored || scramble);
        // candidate = got XOR m; accept iff SHA256(candidate) == stored.
        let stored = Sha256::digest(Sha256::digest(pw));
        let mut h = Sha256::new();
        h.update(stored);
        h.update(scramble);
        let m = h.finalize();
        let cand: Vec<u8> = got.iter().zip(m.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha256::digest(&cand), stored);
        assert!(scramble_caching_sha2(b"", scramble).is_empty());
    }

    #[test]
    fn xor_wraps_scramble() {
        let scramble = [1u8, 2, 3];
        let x = xor_password_with_scramble(b"abcd", &scramble);
        assert_eq!(
            x.as_slice(),
            &[b'a' ^ 1, b'b' ^ 2, b'c' ^ 3, b'd' ^ 1, 2] // last: NUL ^ 2
        );
    }

    #[test]
    fn rsa_encryption_decrypts_to_password_xor_scramble() {
        let mut rng = rand_core::OsRng;
        let private = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let key = parse_public_key_pem(&pem).unwrap();
        let scramble = b"abcdefghijklmnopqrst";
        let pw = "hunter2 'quoted' ünïcode".as_bytes();
        let ct = encrypt_password_rsa(pw, scramble, &key).unwrap();
        assert_eq!(ct.len(), 256);
        let plain = private.decrypt(Oaep::new::<Sha1>(), &ct).unwrap();
        assert_eq!(plain, xor_password_with_scramble(pw, scramble).as_slice());
        // Unmask to get back password || NUL.
        let unmasked: Vec<u8> = plain
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ scramble[i % scramble.len()])
            .collect();
        assert_eq!(&unmasked[..pw.len()], pw);
        assert_eq!(unmasked[pw.len()], 0);
    }

    #[test]
    fn pkcs1_pem_and_garbage() {
        use rsa::pkcs1::EncodeRsaPublicKey;
        let mut rng = rand_core::OsRng;
        let private = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let pem = private
            .to_public_key()
            .to_pkcs1_pem(LineEnding::LF)
            .unwrap();
        assert!(parse_public_key_pem(&pem).is_ok());
        assert!(matches!(
            parse_public_key_pem("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"),
            Err(MysqlError::Protocol(_))
        ));
    }
}
