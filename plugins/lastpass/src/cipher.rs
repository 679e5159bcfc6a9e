//! LastPass field ciphers: AES-256 in CBC or ECB mode with PKCS#7 padding,
//! in a binary and a base64 text form, plus the RSA-wrapped share keys.
//!
//! * binary: `!` ‖ 16-byte IV ‖ CBC ciphertext when the length is at least
//!   33, one more than a multiple of 16, and the first byte is `!`; any
//!   other non-empty value is ECB ciphertext;
//! * text: `!` ‖ base64(IV) ‖ `|` ‖ base64(ciphertext) is CBC, any other
//!   base64 is ECB.
//!
//! Empty input decrypts to empty output.

use aes::Aes256;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Why a value could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CipherError {
    /// The ciphertext length is not a whole number of blocks.
    Length,
    /// The padding is wrong (wrong key or corrupted data).
    Padding,
    /// The base64 text form is malformed.
    Base64,
    /// The plaintext is not UTF-8.
    Utf8,
    /// RSA decryption of a share key failed.
    Rsa,
}

impl std::fmt::Display for CipherError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Length => "ciphertext is not a whole number of AES blocks",
            Self::Padding => "bad padding (wrong key or corrupted data)",
            Self::Base64 => "malformed base64",
            Self::Utf8 => "plaintext is not UTF-8",
            Self::Rsa => "RSA decryption failed",
        })
    }
}

impl std::error::Error for CipherError {}

type CbcDec = cbc::Decryptor<Aes256>;
type CbcEnc = cbc::Encryptor<Aes256>;
type EcbDec = ecb::Decryptor<Aes256>;

/// Decrypts the binary form.
pub fn decrypt_binary(data: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, CipherError> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    match data {
        [b'!', rest @ ..] if data.len() >= 33 && data.len() % 16 == 1 => {
            let (iv, ct) = rest.split_at(16);
            cbc(ct, key, iv)
        }
        _ => ecb(data, key),
    }
}

/// Decrypts the base64 text form.
pub fn decrypt_base64(data: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, CipherError> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(rest) = data.strip_prefix(b"!") {
        let bar = rest
            .iter()
            .position(|&b| b == b'|')
            .ok_or(CipherError::Base64)?;
        let (iv, ct) = (rest.get(..bar), rest.get(bar + 1..));
        let iv = STANDARD
            .decode(iv.ok_or(CipherError::Base64)?)
            .map_err(|_| CipherError::Base64)?;
        let ct = STANDARD
            .decode(ct.ok_or(CipherError::Base64)?)
            .map_err(|_| CipherError::Base64)?;
        if iv.len() != 16 {
            return Err(CipherError::Base64);
        }
        return cbc(&ct, key, &iv);
    }
    let ct = STANDARD.decode(data).map_err(|_| CipherError::Base64)?;
    ecb(&ct, key)
}

/// Decrypts either form: the text form when the value is `!`, 24 base64
/// characters and `|`; the binary form otherwise.
pub fn decrypt_any(data: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, CipherError> {
    if data.first() == Some(&b'!') && data.get(25) == Some(&b'|') && data.is_ascii() {
        decrypt_base64(data, key)
    } else {
        decrypt_binary(data, key)
    }
}

/// [`decrypt_any`], as UTF-8 text.
pub fn decrypt_text(data: &[u8], key: &[u8; 32]) -> Result<String, CipherError> {
    String::from_utf8(decrypt_any(data, key)?).map_err(|_| CipherError::Utf8)
}

fn cbc(ct: &[u8], key: &[u8; 32], iv: &[u8]) -> Result<Vec<u8>, CipherError> {
    if ct.is_empty() || !ct.len().is_multiple_of(16) {
        return Err(CipherError::Length);
    }
    let dec = CbcDec::new_from_slices(key, iv).map_err(|_| CipherError::Length)?;
    let mut buf = ct.to_vec();
    let n = dec
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
        .map_err(|_| CipherError::Padding)?
        .len();
    buf.truncate(n);
    Ok(buf)
}

fn ecb(ct: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, CipherError> {
    if ct.is_empty() || !ct.len().is_multiple_of(16) {
        return Err(CipherError::Length);
    }
    let dec = EcbDec::new(key.into());
    let mut buf = ct.to_vec();
    let n = dec
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
        .map_err(|_| CipherError::Padding)?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// AES-256-CBC with PKCS#7 (no prefix): the private-key (`PRIK`) layer and
/// the building block of [`encrypt_binary`].
pub fn cbc_encrypt(plain: &[u8], key: &[u8; 32], iv: &[u8; 16]) -> Vec<u8> {
    let enc = CbcEnc::new(key.into(), iv.into());
    let mut buf = vec![0u8; plain.len() + 16];
    buf[..plain.len()].copy_from_slice(plain);
    let n = enc
        .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
        .map_or(0, |ct| ct.len());
    buf.truncate(n);
    buf
}

/// AES-256-CBC decryption with an explicit IV (the `PRIK` layer).
pub fn cbc_decrypt(ct: &[u8], key: &[u8; 32], iv: &[u8; 16]) -> Result<Vec<u8>, CipherError> {
    cbc(ct, key, iv)
}

/// Encrypts to the binary form `!` ‖ IV ‖ CBC (what LastPass writes).
pub fn encrypt_binary(plain: &[u8], key: &[u8; 32], iv: &[u8; 16]) -> Vec<u8> {
    if plain.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(plain.len() + 33);
    out.push(b'!');
    out.extend_from_slice(iv);
    out.extend_from_slice(&cbc_encrypt(plain, key, iv));
    out
}

/// Encrypts to the text form `!` ‖ base64(IV) ‖ `|` ‖ base64(CBC).
pub fn encrypt_base64(plain: &[u8], key: &[u8; 32], iv: &[u8; 16]) -> Vec<u8> {
    if plain.is_empty() {
        return Vec::new();
    }
    format!(
        "!{}|{}",
        STANDARD.encode(iv),
        STANDARD.encode(cbc_encrypt(plain, key, iv))
    )
    .into_bytes()
}

/// Encrypts with AES-256-ECB (older LastPass values).
pub fn encrypt_ecb(plain: &[u8], key: &[u8; 32]) -> Vec<u8> {
    let enc = ecb::Encryptor::<Aes256>::new(key.into());
    let mut buf = vec![0u8; plain.len() + 16];
    buf[..plain.len()].copy_from_slice(plain);
    let n = enc
        .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
        .map_or(0, |ct| ct.len());
    buf.truncate(n);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const IV: [u8; 16] = [9; 16];

    #[test]
    fn binary_cbc_and_ecb_round_trip() {
        for plain in [
            &b"x"[..],
            b"exactly sixteen!",
            b"a longer value with several blocks",
        ] {
            let cbc = encrypt_binary(plain, &KEY, &IV);
            assert_eq!(cbc.len() % 16, 1);
            assert_eq!(decrypt_binary(&cbc, &KEY).ok().as_deref(), Some(plain));
            assert_eq!(decrypt_any(&cbc, &KEY).ok().as_deref(), Some(plain));
            let ecb = encrypt_ecb(plain, &KEY);
            assert_eq!(decrypt_binary(&ecb, &KEY).ok().as_deref(), Some(plain));
        }
        assert_eq!(decrypt_binary(b"", &KEY), Ok(Vec::new()));
    }

    #[test]
    fn base64_forms_round_trip() {
        let text = encrypt_base64(b"share name", &KEY, &IV);
        assert_eq!(text.get(25), Some(&b'|'));
        assert_eq!(
            decrypt_base64(&text, &KEY).ok().as_deref(),
            Some(&b"share name"[..])
        );
        assert_eq!(
            decrypt_text(&text, &KEY).ok().as_deref(),
            Some("share name")
        );
        let ecb = STANDARD.encode(encrypt_ecb(b"old", &KEY));
        assert_eq!(
            decrypt_base64(ecb.as_bytes(), &KEY).ok().as_deref(),
            Some(&b"old"[..])
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(decrypt_binary(b"short", &KEY), Err(CipherError::Length));
        assert_eq!(decrypt_binary(&[0u8; 16], &KEY), Err(CipherError::Padding));
        assert_eq!(decrypt_base64(b"!|", &KEY), Err(CipherError::Base64));
        assert_eq!(decrypt_base64(b"!abc", &KEY), Err(CipherError::Base64));
        assert_eq!(decrypt_base64(b"%%%", &KEY), Err(CipherError::Base64));
        let wrong = encrypt_binary(b"secret", &[1; 32], &IV);
        assert!(decrypt_binary(&wrong, &KEY).is_err());
    }
}
