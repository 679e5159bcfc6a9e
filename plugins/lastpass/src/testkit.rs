//! Test support: builds an encrypted LastPass vault blob, and the values a
//! stand-in LastPass server must check and send, from plain account data.
//! Not used by the plugin itself.
//!
//! ```
//! use keeper_plugin_lastpass::testkit::{PlainAccount, PlainVault, TestRng, server_fixture};
//!
//! let vault = PlainVault {
//!     accounts: vec![PlainAccount::login("1", "GitHub", "https://github.com", "octocat", "pw")],
//!     ..PlainVault::default()
//! };
//! let fx = server_fixture("me@example.com", "master", 5000, &vault, &mut TestRng::new(1));
//! // The stand-in server answers iterations.php with `fx.iterations`,
//! // accepts login.php when `hash == fx.login_hash`, and serves
//! // `fx.blob_base64` from getaccts.php.
//! assert_eq!(fx.login_hash.len(), 64);
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs8::EncodePrivateKey;
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::cipher;
use crate::kdf;

/// An attachment's metadata (`ATTA`).
#[derive(Debug, Clone, Default)]
pub struct PlainAttachment {
    /// Attachment id.
    pub id: String,
    /// MIME type.
    pub mime: String,
    /// Size in bytes, as text (empty: the size of the encrypted download).
    pub size: String,
    /// File name (encrypted with the account's attachment key).
    pub filename: String,
    /// The file's content, served by `getattach.php`.
    pub content: Vec<u8>,
    /// The storage key (empty: `storage-<id>`).
    pub storage_key: String,
}

impl PlainAttachment {
    /// The storage key `getattach.php` is asked for.
    pub fn storage_key(&self) -> String {
        if self.storage_key.is_empty() {
            format!("storage-{}", self.id)
        } else {
            self.storage_key.clone()
        }
    }
}

/// The attachment key the testkit gives an account.
fn attach_key_of(account_id: &str) -> [u8; 32] {
    Sha256::digest(account_id.as_bytes()).into()
}

/// What `getattach.php` serves for `att` of account `account_id`: the
/// content in base64, encrypted with the account's attachment key in
/// LastPass's text form (CBC, IV derived from the attachment id).
pub fn attachment_body(account_id: &str, att: &PlainAttachment) -> Vec<u8> {
    let digest = Sha256::digest(att.id.as_bytes());
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&digest[..16]);
    cipher::encrypt_base64(
        STANDARD.encode(&att.content).as_bytes(),
        &attach_key_of(account_id),
        &iv,
    )
}

/// One account in plain text.
#[derive(Debug, Clone, Default)]
pub struct PlainAccount {
    /// Id.
    pub id: String,
    /// Title.
    pub name: String,
    /// Folder path inside its scope.
    pub group: String,
    /// Url (`http://sn` for notes).
    pub url: String,
    /// Notes (`NoteType:` text for typed notes).
    pub notes: String,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// True for secure notes.
    pub secure_note: bool,
    /// TOTP secret.
    pub totp: String,
    /// Custom fields: (name, type, value).
    pub custom: Vec<(String, String, String)>,
    /// Attachments (the account gets an attachment key when non-empty).
    pub attachments: Vec<PlainAttachment>,
}

impl PlainAccount {
    /// A login account.
    pub fn login(id: &str, name: &str, url: &str, username: &str, password: &str) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            url: url.into(),
            username: username.into(),
            password: password.into(),
            ..Self::default()
        }
    }

    /// A secure note.
    pub fn note(id: &str, name: &str, text: &str) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            url: "http://sn".into(),
            notes: text.into(),
            secure_note: true,
            ..Self::default()
        }
    }
}

/// How a shared folder's key is delivered.
#[derive(Debug, Clone)]
pub enum ShareKeyWrap {
    /// AES-encrypted with the user's key (hex text).
    Aes,
    /// RSA-OAEP-SHA1-encrypted with the user's public key.
    Rsa(RsaPublicKey),
}

/// A shared folder and its accounts.
#[derive(Debug, Clone)]
pub struct PlainShare {
    /// Id.
    pub id: String,
    /// Name (e.g. `Shared-Ops`).
    pub name: String,
    /// The share key.
    pub key: [u8; 32],
    /// How the key is delivered.
    pub wrap: ShareKeyWrap,
    /// Accounts in it.
    pub accounts: Vec<PlainAccount>,
}

/// A vault in plain text.
#[derive(Debug, Clone, Default)]
pub struct PlainVault {
    /// The user's own accounts.
    pub accounts: Vec<PlainAccount>,
    /// Shared folders, after the user's accounts.
    pub shares: Vec<PlainShare>,
    /// The user's RSA key, written as a `PRIK` chunk when set.
    pub private_key: Option<RsaPrivateKey>,
}

/// What a stand-in server needs.
#[derive(Debug, Clone)]
pub struct ServerFixture {
    /// What `iterations.php` answers.
    pub iterations: u32,
    /// The `hash` form field `login.php` must receive.
    pub login_hash: String,
    /// The vault key.
    pub key: [u8; 32],
    /// The blob.
    pub blob: Vec<u8>,
    /// The blob as `getaccts.php?b64=1` serves it.
    pub blob_base64: String,
    /// What `getattach.php` serves: (storage key, body).
    pub attachments: Vec<(String, Vec<u8>)>,
}

/// Builds the blob of `vault` and the server's values for `email` /
/// `password` at `iterations`.
pub fn server_fixture(
    email: &str,
    password: &str,
    iterations: u32,
    vault: &PlainVault,
    rng: &mut TestRng,
) -> ServerFixture {
    let key = kdf::derive_key(email, password, iterations);
    let login_hash = kdf::login_hash(&key, password, iterations);
    let blob = build_blob(vault, &key, rng);
    let blob_base64 = STANDARD.encode(&blob);
    let accounts = vault
        .accounts
        .iter()
        .chain(vault.shares.iter().flat_map(|s| &s.accounts));
    let attachments = accounts
        .flat_map(|a| {
            a.attachments
                .iter()
                .map(|att| (att.storage_key(), attachment_body(&a.id, att)))
        })
        .collect();
    ServerFixture {
        iterations,
        login_hash,
        key,
        blob,
        blob_base64,
        attachments,
    }
}

/// Builds an encrypted blob of `vault` with the user `key`.
pub fn build_blob(vault: &PlainVault, key: &[u8; 32], rng: &mut TestRng) -> Vec<u8> {
    let mut out = Vec::new();
    chunk(&mut out, b"LPAV", b"198");
    if let Some(private_key) = &vault.private_key {
        let der = private_key
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        let text = format!("LastPassPrivateKey<{}>LastPassPrivateKey", hex::encode(der));
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&key[..16]);
        let ct = cipher::cbc_encrypt(text.as_bytes(), key, &iv);
        chunk(&mut out, b"PRIK", hex::encode(ct).as_bytes());
    }
    for account in &vault.accounts {
        write_account(&mut out, account, key, rng);
    }
    for share in &vault.shares {
        let (rsa_hex, aes) = match &share.wrap {
            ShareKeyWrap::Aes => (
                Vec::new(),
                cipher::encrypt_binary(hex::encode(share.key).as_bytes(), key, &rng.iv()),
            ),
            ShareKeyWrap::Rsa(public) => {
                let ct = public
                    .encrypt(
                        rng,
                        Oaep::new::<sha1::Sha1>(),
                        hex::encode(share.key).as_bytes(),
                    )
                    .unwrap_or_default();
                (hex::encode(ct).into_bytes(), Vec::new())
            }
        };
        let name = cipher::encrypt_base64(share.name.as_bytes(), &share.key, &rng.iv());
        let items: [&[u8]; 6] = [share.id.as_bytes(), &rsa_hex, &name, b"0", b"1", &aes];
        chunk(&mut out, b"SHAR", &itemise(&items));
        for account in &share.accounts {
            write_account(&mut out, account, &share.key, rng);
        }
    }
    chunk(&mut out, b"ENDM", b"OK");
    out
}

fn write_account(out: &mut Vec<u8>, a: &PlainAccount, key: &[u8; 32], rng: &mut TestRng) {
    let mut enc = |s: &str| cipher::encrypt_binary(s.as_bytes(), key, &rng.iv());
    let attach_key = attach_key_of(&a.id);
    let mut items: Vec<Vec<u8>> = vec![Vec::new(); 40];
    items[0] = a.id.as_bytes().to_vec();
    items[1] = enc(&a.name);
    items[2] = enc(&a.group);
    items[3] = hex::encode(&a.url).into_bytes();
    items[4] = enc(&a.notes);
    items[5] = b"0".to_vec();
    items[7] = enc(&a.username);
    items[8] = enc(&a.password);
    items[11] = if a.secure_note {
        b"1".to_vec()
    } else {
        b"0".to_vec()
    };
    if !a.attachments.is_empty() {
        items[26] = enc(&hex::encode(attach_key));
        items[27] = b"1".to_vec();
    }
    items[39] = enc(&a.totp);
    let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    chunk(out, b"ACCT", &itemise(&refs));
    for (name, kind, value) in &a.custom {
        let value = if matches!(
            kind.as_str(),
            "email" | "tel" | "text" | "password" | "textarea"
        ) {
            cipher::encrypt_binary(value.as_bytes(), key, &rng.iv())
        } else {
            value.as_bytes().to_vec()
        };
        let items: [&[u8]; 4] = [name.as_bytes(), kind.as_bytes(), &value, b"0"];
        chunk(out, b"ACFL", &itemise(&items));
    }
    for att in &a.attachments {
        let filename = cipher::encrypt_base64(att.filename.as_bytes(), &attach_key, &rng.iv());
        let size = if att.size.is_empty() {
            attachment_body(&a.id, att).len().to_string()
        } else {
            att.size.clone()
        };
        let storage_key = att.storage_key();
        let items: [&[u8]; 6] = [
            att.id.as_bytes(),
            a.id.as_bytes(),
            att.mime.as_bytes(),
            storage_key.as_bytes(),
            size.as_bytes(),
            &filename,
        ];
        chunk(out, b"ATTA", &itemise(&items));
    }
}

/// Appends a chunk `[id][u32 BE size][payload]`.
pub fn chunk(out: &mut Vec<u8>, id: &[u8; 4], payload: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(payload);
}

/// Items `[u32 BE size][bytes]…`.
pub fn itemise(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        out.extend_from_slice(&u32::try_from(item.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// A deterministic random generator (SHA-256 in counter mode) for IVs, RSA
/// padding and test key generation. Not for real secrets.
#[derive(Debug, Clone)]
pub struct TestRng {
    seed: u64,
    counter: u64,
}

impl TestRng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed, counter: 0 }
    }

    /// The next 16-byte IV.
    pub fn iv(&mut self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        self.fill_bytes(&mut iv);
        iv
    }
}

impl RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for block in dest.chunks_mut(32) {
            let mut h = Sha256::new();
            h.update(self.seed.to_le_bytes());
            h.update(self.counter.to_le_bytes());
            self.counter += 1;
            let out = h.finalize();
            block.copy_from_slice(&out[..block.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for TestRng {}
