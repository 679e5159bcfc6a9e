//! Cryptographic primitives of the vault format: Argon2id key derivation,
//! XChaCha20-Poly1305 sealing with associated data, X25519 sealed boxes and
//! Keeper-style uids.
//!
//! Every ciphertext blob is `version (1 byte) || nonce (24) || ciphertext+tag`.
//! Keys live in [`Key`], which zeroizes itself on drop and never prints.

use std::time::{Duration, Instant};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use zeroize::{Zeroize, Zeroizing};

use super::error::VaultError;

/// Blob format version written as the first byte of every sealed blob.
const BLOB_V1: u8 = 1;
/// XChaCha20 nonce length.
const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
const TAG_LEN: usize = 16;
/// Length of every symmetric key.
pub const KEY_LEN: usize = 32;

/// A 256-bit symmetric key. Zeroized on drop; `Debug` prints nothing secret.
#[derive(Clone)]
pub struct Key(Zeroizing<[u8; KEY_LEN]>);

impl Key {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(key.as_mut());
        Self(key)
    }

    /// Wraps key bytes (the caller's copy should be zeroized).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Builds a key from a decrypted slice.
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] when the slice is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, VaultError> {
        let array: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| VaultError::Corrupted("a wrapped key has the wrong length".into()))?;
        Ok(Self::from_bytes(array))
    }

    /// The raw key bytes.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// seal[key](plaintext, ad): encrypts with a random 192-bit nonce.
    pub fn seal(&self, plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        // Encryption with a valid key and nonce cannot fail except for
        // plaintexts over 256 GiB, which the vault never produces.
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: ad,
                },
            )
            .unwrap_or_default();
        let mut blob = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        blob.push(BLOB_V1);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        blob
    }

    /// open[key](blob, ad): decrypts and authenticates a blob made by [`Key::seal`].
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] when the blob is malformed, was sealed with
    /// another key or associated data, or was modified.
    pub fn open(&self, blob: &[u8], ad: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        self.try_open(blob, ad)
            .ok_or_else(|| VaultError::Corrupted("a ciphertext failed authentication".into()))
    }

    /// Like [`Key::open`] but returns `None` on any failure (used where a
    /// failure means "wrong password" rather than "corrupted").
    pub fn try_open(&self, blob: &[u8], ad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if blob.len() < 1 + NONCE_LEN + TAG_LEN || blob[0] != BLOB_V1 {
            return None;
        }
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let nonce = XNonce::from_slice(&blob[1..1 + NONCE_LEN]);
        cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &blob[1 + NONCE_LEN..],
                    aad: ad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    /// Wraps another key under this one.
    pub fn wrap(&self, key: &Key, ad: &[u8]) -> Vec<u8> {
        self.seal(key.expose(), ad)
    }

    /// Unwraps a key made by [`Key::wrap`].
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] as for [`Key::open`].
    pub fn unwrap_key(&self, blob: &[u8], ad: &[u8]) -> Result<Key, VaultError> {
        let bytes = self.open(blob, ad)?;
        Key::from_slice(&bytes)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// Fills `buf` from the operating system's random generator.
pub fn fill_random(buf: &mut [u8]) {
    // The OS generator failing is unrecoverable for a password manager; fall
    // back to the thread generator (itself seeded from the OS) rather than
    // emitting zeros.
    if OsRng.try_fill_bytes(buf).is_err() {
        rand::RngCore::fill_bytes(&mut rand::rng(), buf);
    }
}

/// A new Keeper-style uid: 16 random bytes as 22 characters of unpadded
/// URL-safe base64.
pub fn new_uid() -> String {
    use base64::Engine as _;
    loop {
        let mut bytes = [0u8; 16];
        fill_random(&mut bytes);
        let uid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        // A uid starting with `-` would read as an option on the command
        // line (`keeper get -x...`); draw again (costs < 1 bit of entropy).
        if !uid.starts_with('-') {
            return uid;
        }
    }
}

/// Whether `s` looks like a uid made by [`new_uid`].
pub fn is_uid(s: &str) -> bool {
    s.len() == 22
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

// ---------------------------------------------------------------------------
// Argon2id
// ---------------------------------------------------------------------------

/// Magic prefix of an encoded [`KdfParams`].
const KDF_MAGIC: &[u8; 4] = b"KA2i";
/// Largest memory cost accepted when opening a vault (1 GiB, in KiB).
pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
/// Largest time cost accepted when opening a vault.
pub const MAX_ITERATIONS: u32 = 64;
/// Largest parallelism accepted when opening a vault.
pub const MAX_PARALLELISM: u32 = 16;
/// Below this memory cost (19 MiB, OWASP's minimum) parameters are "weak".
pub const WEAK_MEMORY_KIB: u32 = 19 * 1024;
/// Default memory cost for new vaults (64 MiB).
pub const DEFAULT_MEMORY_KIB: u32 = 64 * 1024;
/// Environment variable selecting cheap KDF parameters for *new* vaults
/// (test suites only).
pub const FAST_KDF_ENV: &str = "KEEPER_TEST_FAST_KDF";

/// Argon2id parameters, stored in the clear with each user's key header and
/// authenticated as associated data of the wrapped data key.
#[derive(Clone, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Random salt.
    pub salt: [u8; 16],
}

impl std::fmt::Debug for KdfParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Argon2id(m={} KiB, t={}, p={})",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
}

impl KdfParams {
    /// Cheap parameters for tests (256 KiB, 1 pass). Never use for real vaults.
    pub fn insecure_fast() -> Self {
        Self::with_costs(256, 1, 1)
    }

    /// Parameters with the given costs and a fresh salt.
    pub fn with_costs(memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        let mut salt = [0u8; 16];
        fill_random(&mut salt);
        Self {
            memory_kib,
            iterations,
            parallelism,
            salt,
        }
    }

    /// Parameters tuned on this machine so that one derivation takes about
    /// `target` (64 MiB memory, 2..=20 passes), like rage's scrypt tuning.
    pub fn calibrated(target: Duration) -> Self {
        let probe = Self::with_costs(DEFAULT_MEMORY_KIB, 1, 1);
        let started = Instant::now();
        let _ = probe.derive(&SecretString::from("calibration"));
        let one_pass = started.elapsed().max(Duration::from_millis(1));
        let passes = (target.as_secs_f64() / one_pass.as_secs_f64()).round() as u32;
        Self::with_costs(DEFAULT_MEMORY_KIB, passes.clamp(2, 20), 1)
    }

    /// Whether these parameters are below the recommended minimum.
    pub fn is_weak(&self) -> bool {
        self.memory_kib < WEAK_MEMORY_KIB || self.iterations < 2
    }

    /// Encodes the parameters (fixed 32-byte layout).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        out.extend_from_slice(KDF_MAGIC);
        out.extend_from_slice(&self.memory_kib.to_le_bytes());
        out.extend_from_slice(&self.iterations.to_le_bytes());
        out.extend_from_slice(&self.parallelism.to_le_bytes());
        out.extend_from_slice(&self.salt);
        out
    }

    /// Decodes and range-checks parameters read from a vault file.
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] when malformed, [`VaultError::ExcessiveWork`]
    /// when the costs exceed the caps (a hostile file must not make us
    /// allocate unbounded memory or spin forever).
    pub fn decode(bytes: &[u8]) -> Result<Self, VaultError> {
        let bad = || VaultError::Corrupted("the key-derivation header is malformed".into());
        if bytes.len() != 32 || &bytes[..4] != KDF_MAGIC {
            return Err(bad());
        }
        let word =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&bytes[16..32]);
        let params = Self {
            memory_kib: word(4),
            iterations: word(8),
            parallelism: word(12),
            salt,
        };
        if params.parallelism == 0
            || params.iterations == 0
            || params.memory_kib < 8 * params.parallelism
        {
            return Err(bad());
        }
        if params.memory_kib > MAX_MEMORY_KIB
            || params.iterations > MAX_ITERATIONS
            || params.parallelism > MAX_PARALLELISM
        {
            return Err(VaultError::ExcessiveWork(format!("{params:?}")));
        }
        Ok(params)
    }

    /// derive[params](password) → 256-bit key-encryption key.
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] when argon2 rejects the parameters.
    pub fn derive(&self, password: &SecretString) -> Result<Key, VaultError> {
        let params = argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(KEY_LEN),
        )
        .map_err(|e| VaultError::Corrupted(format!("invalid key-derivation parameters: {e}")))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; KEY_LEN];
        argon
            .hash_password_into(password.expose_secret().as_bytes(), &self.salt, &mut out)
            .map_err(|e| VaultError::Corrupted(format!("key derivation failed: {e}")))?;
        let key = Key::from_bytes(out);
        out.zeroize();
        Ok(key)
    }
}

// ---------------------------------------------------------------------------
// X25519 key pairs and sealed boxes
// ---------------------------------------------------------------------------

/// An X25519 key pair (users and the public half of share targets).
pub struct KeyPair {
    secret: x25519_dalek::StaticSecret,
    public: x25519_dalek::PublicKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPair(<redacted>)")
    }
}

impl KeyPair {
    /// A fresh random key pair.
    pub fn generate() -> Self {
        let key = Key::generate();
        Self::from_secret(&key)
    }

    /// Rebuilds the pair from its 32-byte secret.
    pub fn from_secret(secret: &Key) -> Self {
        let secret = x25519_dalek::StaticSecret::from(*secret.expose());
        let public = x25519_dalek::PublicKey::from(&secret);
        Self { secret, public }
    }

    /// The secret half as a [`Key`] (to be wrapped under a data key).
    pub fn secret(&self) -> Key {
        Key::from_bytes(self.secret.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> [u8; 32] {
        self.public.to_bytes()
    }

    /// Opens a box made by [`seal_to`] for this key pair's public key.
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] when the box is malformed or was modified.
    pub fn open_sealed(&self, sealed: &[u8], ad: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if sealed.len() < 32 {
            return Err(VaultError::Corrupted("a sealed key is truncated".into()));
        }
        let mut epk = [0u8; 32];
        epk.copy_from_slice(&sealed[..32]);
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(epk));
        let key = box_key(shared.as_bytes(), &epk, &self.public.to_bytes());
        key.open(&sealed[32..], ad)
    }

    /// Unwraps a key sealed with [`seal_key_to`].
    ///
    /// # Errors
    ///
    /// As [`KeyPair::open_sealed`].
    pub fn open_sealed_key(&self, sealed: &[u8], ad: &[u8]) -> Result<Key, VaultError> {
        Key::from_slice(&self.open_sealed(sealed, ad)?)
    }
}

/// seal_to[public](plaintext, ad): anonymous sealed box. An ephemeral X25519
/// key agrees with `public`; HKDF-SHA256 turns the shared secret (bound to
/// both public keys) into an XChaCha20-Poly1305 key.
pub fn seal_to(public: &[u8; 32], plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
    let ephemeral = KeyPair::generate();
    let shared = ephemeral
        .secret
        .diffie_hellman(&x25519_dalek::PublicKey::from(*public));
    let epk = ephemeral.public();
    let key = box_key(shared.as_bytes(), &epk, public);
    let mut out = epk.to_vec();
    out.extend_from_slice(&key.seal(plaintext, ad));
    out
}

/// Seals a key to a public key.
pub fn seal_key_to(public: &[u8; 32], key: &Key, ad: &[u8]) -> Vec<u8> {
    seal_to(public, key.expose(), ad)
}

fn box_key(shared: &[u8; 32], epk: &[u8; 32], recipient: &[u8; 32]) -> Key {
    let mut info = Vec::with_capacity(14 + 64);
    info.extend_from_slice(b"keeper/box/v1/");
    info.extend_from_slice(epk);
    info.extend_from_slice(recipient);
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, shared);
    let mut out = [0u8; KEY_LEN];
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hk.expand(&info, &mut out);
    let key = Key::from_bytes(out);
    out.zeroize();
    key
}

/// A key derived from high-entropy secret bytes (a one-time token's
/// secret) with HKDF-SHA256 and a purpose string.
pub fn derive_key(secret: &[u8], purpose: &[u8]) -> Key {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, secret);
    let mut out = [0u8; KEY_LEN];
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hk.expand(purpose, &mut out);
    let key = Key::from_bytes(out);
    out.zeroize();
    key
}

/// SHA-256 of the concatenation of `parts` (integrity checksums, not secrets).
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_never_look_like_options() {
        for _ in 0..5000 {
            let uid = new_uid();
            assert!(!uid.starts_with('-'), "{uid}");
            assert_eq!(uid.len(), 22);
        }
    }

    #[test]
    fn seal_open_round_trip() {
        let key = Key::generate();
        let blob = key.seal(b"hello", b"ad");
        assert_eq!(&key.open(&blob, b"ad").expect("opens")[..], b"hello");
    }

    #[test]
    fn wrong_ad_or_flipped_byte_fails() {
        let key = Key::generate();
        let blob = key.seal(b"hello", b"uid|1");
        assert!(key.open(&blob, b"uid|2").is_err());
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            assert!(
                key.open(&bad, b"uid|1").is_err(),
                "flip at {i} not detected"
            );
        }
        assert!(key.open(&blob[..blob.len() - 1], b"uid|1").is_err());
        assert!(Key::generate().open(&blob, b"uid|1").is_err());
    }

    #[test]
    fn key_wrap_round_trip() {
        let kek = Key::generate();
        let dk = Key::generate();
        let wrapped = kek.wrap(&dk, b"x");
        assert_eq!(
            kek.unwrap_key(&wrapped, b"x").expect("unwraps").expose(),
            dk.expose()
        );
    }

    #[test]
    fn kdf_is_deterministic_and_params_round_trip() {
        let params = KdfParams::insecure_fast();
        let a = params.derive(&SecretString::from("pw")).expect("derive");
        let b = params.derive(&SecretString::from("pw")).expect("derive");
        let c = params.derive(&SecretString::from("pw2")).expect("derive");
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.expose(), c.expose());
        assert_eq!(KdfParams::decode(&params.encode()).expect("decode"), params);
        assert!(params.is_weak());
    }

    #[test]
    fn hostile_kdf_params_are_capped() {
        let mut params = KdfParams::insecure_fast();
        params.memory_kib = 100 * 1024 * 1024; // 100 GiB
        assert!(matches!(
            KdfParams::decode(&params.encode()),
            Err(VaultError::ExcessiveWork(_))
        ));
        params.memory_kib = 1024;
        params.iterations = 1_000_000;
        assert!(matches!(
            KdfParams::decode(&params.encode()),
            Err(VaultError::ExcessiveWork(_))
        ));
        assert!(KdfParams::decode(b"short").is_err());
    }

    #[test]
    fn sealed_box_round_trip_and_tamper() {
        let pair = KeyPair::generate();
        let sealed = seal_to(&pair.public(), b"secret", b"ad");
        assert_eq!(
            &pair.open_sealed(&sealed, b"ad").expect("opens")[..],
            b"secret"
        );
        let mut bad = sealed.clone();
        bad[5] ^= 1;
        assert!(pair.open_sealed(&bad, b"ad").is_err());
        assert!(KeyPair::generate().open_sealed(&sealed, b"ad").is_err());
        let rebuilt = KeyPair::from_secret(&pair.secret());
        assert_eq!(rebuilt.public(), pair.public());
    }

    #[test]
    fn uids_are_keeper_style() {
        let uid = new_uid();
        assert_eq!(uid.len(), 22);
        assert!(is_uid(&uid));
        assert_ne!(uid, new_uid());
    }

    #[test]
    fn debug_never_prints_key_material() {
        let key = Key::from_bytes([0xAB; 32]);
        assert_eq!(format!("{key:?}"), "Key(<redacted>)");
    }
}
