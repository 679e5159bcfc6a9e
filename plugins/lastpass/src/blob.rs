//! The LastPass vault blob (`getaccts.php`): chunk framing, decryption of
//! accounts, shared folders, custom fields and attachment metadata.
//!
//! The blob is a sequence of chunks `[4-byte ASCII id][u32 BE size][payload]`
//! ending with `ENDM` (payload `OK`). Itemised chunks hold items
//! `[u32 BE size][bytes]`. The framing of the whole blob is checked before
//! anything is yielded ([`BlobParser::new`]); chunks are then decrypted one
//! at a time ([`BlobParser::next_event`]) so an import spreads the work (RSA
//! share keys in particular) over its batches.
//!
//! Chunks read: `ACCT` (field order below), `ACFL`/`ACOF` (custom fields of
//! the preceding account), `SHAR` (a shared folder; the accounts after it
//! belong to it and are encrypted with its key), `ATTA` (attachment
//! metadata: id, parent account id, mimetype, storage key, size, file name
//! encrypted with the parent's attachment key; read before the walk, since
//! LastPass puts them after the accounts, and handed to the parent's
//! [`Account::attachments`]; those whose account is not imported are
//! reported at the end), `PRIK` (the user's RSA private key), `ENDM`.
//! Others are ignored.
//!
//! `ACCT` items by index: 0 id, 1 name, 2 group, 3 url (hex, or encrypted),
//! 4 notes, 7 username, 8 password, 11 secure-note flag (`1`), 26 attachment
//! key (encrypted hex), 39 TOTP secret; missing trailing items are empty.

use std::collections::HashMap;

use keeper_plugin_sdk::PluginError;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Oaep, RsaPrivateKey};

use crate::account::{Account, AttachmentRef, CustomField};
use crate::cipher::{self, CipherError};

/// What the parser yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A shared folder, before the accounts in it.
    SharedFolder {
        /// LastPass's share id.
        id: String,
        /// Its name.
        name: String,
    },
    /// An account with its custom fields.
    Account(Box<Account>),
    /// Something that could not be imported, with the reason.
    Skipped(String),
}

/// A chunk's id and payload position in the blob.
#[derive(Debug, Clone, Copy)]
struct ChunkRef {
    id: [u8; 4],
    start: usize,
    end: usize,
}

/// The key of the accounts being read.
#[derive(Debug, Clone)]
enum Scope {
    /// The user's own accounts.
    User,
    /// A shared folder's accounts.
    Shared {
        id: String,
        name: String,
        key: [u8; 32],
    },
    /// A shared folder whose key could not be decrypted.
    Broken { id: String },
}

/// Walks a blob chunk by chunk.
pub struct BlobParser {
    blob: Vec<u8>,
    chunks: Vec<ChunkRef>,
    next: usize,
    key: [u8; 32],
    private_key: Option<RsaPrivateKey>,
    private_key_error: Option<String>,
    scope: Scope,
    /// Account id → its `ATTA` chunks, read before the walk (LastPass puts
    /// them after the accounts) and handed to their account.
    attachments: HashMap<String, Vec<RawAttachment>>,
    /// Events to return before reading on.
    queued: std::collections::VecDeque<Event>,
}

/// An `ATTA` chunk: id, parent (account) id, mimetype, storage key, size,
/// file name (encrypted with the parent's attachment key).
struct RawAttachment {
    id: String,
    mime: String,
    storage_key: String,
    size: u64,
    filename: Vec<u8>,
}

impl Drop for BlobParser {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

impl std::fmt::Debug for BlobParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobParser")
            .field("bytes", &self.blob.len())
            .field("chunks", &self.chunks.len())
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

fn malformed(msg: impl std::fmt::Display) -> PluginError {
    PluginError::MalformedInput(format!("LastPass vault blob: {msg}"))
}

impl BlobParser {
    /// Checks the framing of `blob` and prepares to decrypt it with `key`
    /// (the user's vault key). `private_key_enc` is the `privatekeyenc` of
    /// the login reply (hex), preferred over the blob's `PRIK` chunk.
    ///
    /// Fails with [`PluginError::MalformedInput`] when a chunk runs past the
    /// end or the blob does not end with `ENDM` `OK` (truncated).
    pub fn new(
        blob: Vec<u8>,
        key: [u8; 32],
        private_key_enc: Option<&str>,
    ) -> Result<Self, PluginError> {
        let chunks = frame(&blob)?;
        let mut attachments: HashMap<String, Vec<RawAttachment>> = HashMap::new();
        for chunk in chunks.iter().filter(|c| &c.id == b"ATTA") {
            let payload = blob.get(chunk.start..chunk.end).unwrap_or_default();
            let all = Items::new(payload).take_all()?;
            let item = |i: usize| {
                String::from_utf8_lossy(all.get(i).copied().unwrap_or_default()).into_owned()
            };
            attachments.entry(item(1)).or_default().push(RawAttachment {
                id: item(0),
                mime: item(2),
                storage_key: item(3),
                size: item(4).trim().parse().unwrap_or(0),
                filename: all.get(5).copied().unwrap_or_default().to_vec(),
            });
        }
        let mut parser = Self {
            blob,
            chunks,
            next: 0,
            key,
            private_key: None,
            private_key_error: None,
            scope: Scope::User,
            attachments,
            queued: std::collections::VecDeque::new(),
        };
        if let Some(hex) = private_key_enc.filter(|h| !h.is_empty()) {
            parser.load_private_key(hex.as_bytes());
        }
        Ok(parser)
    }

    /// The next event, `None` at `ENDM`.
    ///
    /// Fails with [`PluginError::MalformedInput`] when an itemised chunk is
    /// malformed; an account or shared folder that does not decrypt is a
    /// [`Event::Skipped`] instead.
    pub fn next_event(&mut self) -> Result<Option<Event>, PluginError> {
        if let Some(event) = self.queued.pop_front() {
            return Ok(Some(event));
        }
        while let Some(chunk) = self.chunks.get(self.next).copied() {
            self.next += 1;
            let payload = self.blob.get(chunk.start..chunk.end).unwrap_or_default();
            let event = match &chunk.id {
                b"ENDM" => {
                    // Attachments whose account was not imported.
                    let mut left: Vec<_> = self.attachments.drain().collect();
                    left.sort_by(|a, b| a.0.cmp(&b.0));
                    for (parent, list) in left {
                        for a in list {
                            self.queued.push_back(Event::Skipped(format!(
                                "LastPass attachment {} ({} bytes) of account {parent}: \
                                 its account was not imported",
                                a.id, a.size
                            )));
                        }
                    }
                    self.next = self.chunks.len();
                    return Ok(self.queued.pop_front());
                }
                b"ACCT" => {
                    let payload = payload.to_vec();
                    Some(self.account(&payload)?)
                }
                b"SHAR" => {
                    let payload = payload.to_vec();
                    Some(self.share(&payload)?)
                }
                // Read by `new` and handed to their accounts.
                b"ATTA" => None,
                b"PRIK" => {
                    if self.private_key.is_none() {
                        let payload = payload.to_vec();
                        self.load_private_key(&payload);
                    }
                    None
                }
                _ => None,
            };
            if event.is_some() {
                return Ok(event);
            }
        }
        Ok(None)
    }

    fn load_private_key(&mut self, hex_text: &[u8]) {
        match decrypt_private_key(hex_text, &self.key) {
            Ok(key) => {
                self.private_key = Some(key);
                self.private_key_error = None;
            }
            Err(e) => self.private_key_error = Some(e),
        }
    }

    fn scope_key(&self) -> Result<([u8; 32], Option<String>), String> {
        match &self.scope {
            Scope::User => Ok((self.key, None)),
            Scope::Shared { name, key, .. } => Ok((*key, Some(name.clone()))),
            Scope::Broken { id } => Err(format!(
                "it is in shared folder {id}, whose key could not be decrypted"
            )),
        }
    }

    fn account(&mut self, payload: &[u8]) -> Result<Event, PluginError> {
        let mut items = Items::new(payload);
        let all = items.take_all()?;
        let item = |i: usize| all.get(i).copied().unwrap_or_default();
        let id = String::from_utf8_lossy(item(0)).into_owned();
        let custom = self.custom_fields()?;
        let (key, shared_folder) = match self.scope_key() {
            Ok(k) => k,
            Err(why) => return Ok(Event::Skipped(format!("LastPass account {id}: {why}"))),
        };
        let text = |i: usize, what: &str| {
            cipher::decrypt_text(item(i), &key)
                .map_err(|e| format!("LastPass account {id}: cannot decrypt its {what}: {e}"))
        };
        let parsed = (|| -> Result<Account, String> {
            let url = url_item(item(3), &key)
                .map_err(|e| format!("LastPass account {id}: cannot read its url: {e}"))?;
            Ok(Account {
                id: id.clone(),
                name: text(1, "name")?,
                group: text(2, "group")?,
                url,
                notes: text(4, "notes")?,
                username: text(7, "username")?,
                password: text(8, "password")?,
                secure_note: item(11) == b"1",
                // A TOTP secret that does not decrypt is dropped, not fatal.
                totp: cipher::decrypt_text(item(39), &key).unwrap_or_default(),
                shared_folder,
                custom: Vec::new(),
                attachments: Vec::new(),
            })
        })();
        let mut account = match parsed {
            Ok(a) => a,
            Err(why) => return Ok(Event::Skipped(why)),
        };
        let mut decrypted = Vec::new();
        for (name, kind, value) in custom {
            let value = if matches!(
                kind.as_str(),
                "email" | "tel" | "text" | "password" | "textarea"
            ) {
                match cipher::decrypt_text(&value, &key) {
                    Ok(v) => v,
                    Err(e) => {
                        return Ok(Event::Skipped(format!(
                            "LastPass account {id}: cannot decrypt custom field {name:?}: {e}"
                        )));
                    }
                }
            } else {
                String::from_utf8_lossy(&value).into_owned()
            };
            decrypted.push(CustomField { name, kind, value });
        }
        account.custom = decrypted;
        if let Some(raw) = self.attachments.remove(&id) {
            let attach_key = cipher::decrypt_any(item(26), &key)
                .ok()
                .and_then(|hex_key| hex::decode(hex_key.trim_ascii()).ok())
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
                .map(zeroize::Zeroizing::new);
            let share_id = match &self.scope {
                Scope::Shared { id, .. } => Some(id.clone()),
                _ => None,
            };
            for a in raw {
                let name = attach_key
                    .as_ref()
                    .and_then(|k| cipher::decrypt_text(&a.filename, k).ok())
                    .filter(|n| !n.is_empty());
                match (&attach_key, name) {
                    (Some(k), Some(name)) => account.attachments.push(AttachmentRef {
                        id: a.id,
                        name,
                        mime: a.mime,
                        storage_key: a.storage_key,
                        size: a.size,
                        key: k.clone(),
                        share_id: share_id.clone(),
                    }),
                    (k, _) => self.queued.push_back(Event::Skipped(format!(
                        "LastPass attachment {} of {:?}: {}; not imported",
                        a.id,
                        account.name,
                        if k.is_none() {
                            "its account's attachment key does not decrypt"
                        } else {
                            "its file name does not decrypt"
                        }
                    ))),
                }
            }
        }
        Ok(Event::Account(Box::new(account)))
    }

    /// The `ACFL` / `ACOF` chunks right after an account: (name, type, raw value).
    fn custom_fields(&mut self) -> Result<Vec<(String, String, Vec<u8>)>, PluginError> {
        let mut fields = Vec::new();
        while let Some(chunk) = self.chunks.get(self.next).copied() {
            if &chunk.id != b"ACFL" && &chunk.id != b"ACOF" {
                break;
            }
            self.next += 1;
            let payload = self.blob.get(chunk.start..chunk.end).unwrap_or_default();
            let all = Items::new(payload).take_all()?;
            let item = |i: usize| all.get(i).copied().unwrap_or_default();
            fields.push((
                String::from_utf8_lossy(item(0)).into_owned(),
                String::from_utf8_lossy(item(1)).into_owned(),
                item(2).to_vec(),
            ));
        }
        Ok(fields)
    }

    fn share(&mut self, payload: &[u8]) -> Result<Event, PluginError> {
        let all = Items::new(payload).take_all()?;
        let item = |i: usize| all.get(i).copied().unwrap_or_default();
        let id = String::from_utf8_lossy(item(0)).into_owned();
        let key = if item(5).is_empty() {
            self.rsa_share_key(item(1))
        } else {
            cipher::decrypt_any(item(5), &self.key)
                .map_err(|e| e.to_string())
                .and_then(|hex_key| hex_key_32(&hex_key))
        };
        let named = key.and_then(|key| {
            cipher::decrypt_text(item(2), &key)
                .map(|name| (name, key))
                .map_err(|e| format!("cannot decrypt its name: {e}"))
        });
        match named {
            Ok((name, key)) => {
                let name = name.trim().to_owned();
                self.scope = Scope::Shared {
                    id: id.clone(),
                    name: name.clone(),
                    key,
                };
                Ok(Event::SharedFolder { id, name })
            }
            Err(why) => {
                self.scope = Scope::Broken { id: id.clone() };
                Ok(Event::Skipped(format!(
                    "LastPass shared folder {id}: {why}; its entries are skipped"
                )))
            }
        }
    }

    fn rsa_share_key(&self, hex_ct: &[u8]) -> Result<[u8; 32], String> {
        let Some(private_key) = &self.private_key else {
            return Err(match &self.private_key_error {
                Some(e) => format!(
                    "its key is RSA-encrypted and the account's private key is unusable ({e})"
                ),
                None => "its key is RSA-encrypted and the account has no private key".to_owned(),
            });
        };
        let ct = hex::decode(hex_ct.trim_ascii())
            .map_err(|_| "its RSA-encrypted key is not hex".to_owned())?;
        let plain = private_key
            .decrypt(Oaep::new::<sha1::Sha1>(), &ct)
            .map_err(|_| CipherError::Rsa.to_string())?;
        hex_key_32(&plain)
    }
}

/// Checks the chunk framing and returns the chunks.
fn frame(blob: &[u8]) -> Result<Vec<ChunkRef>, PluginError> {
    let mut chunks = Vec::new();
    let mut pos = 0usize;
    while pos < blob.len() {
        let header = blob
            .get(pos..pos + 8)
            .ok_or_else(|| malformed(format!("truncated chunk header at byte {pos}")))?;
        let mut id = [0u8; 4];
        id.copy_from_slice(header.get(..4).unwrap_or(&[0; 4]));
        let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let start = pos + 8;
        let end = start
            .checked_add(size)
            .filter(|end| *end <= blob.len())
            .ok_or_else(|| {
                malformed(format!(
                    "chunk {} at byte {pos} claims {size} bytes, only {} remain (truncated?)",
                    String::from_utf8_lossy(&id),
                    blob.len() - start
                ))
            })?;
        chunks.push(ChunkRef { id, start, end });
        pos = end;
        if &id == b"ENDM" {
            break;
        }
    }
    match chunks.last() {
        Some(last) if &last.id == b"ENDM" && blob.get(last.start..last.end) == Some(b"OK") => {
            Ok(chunks)
        }
        _ => Err(malformed(
            "the blob is truncated (it does not end with ENDM OK)",
        )),
    }
}

/// The items of an itemised chunk.
struct Items<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Items<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Every item; fails when one runs past the chunk's end.
    fn take_all(&mut self) -> Result<Vec<&'a [u8]>, PluginError> {
        let mut out = Vec::new();
        while self.pos < self.data.len() {
            let size = self
                .data
                .get(self.pos..self.pos + 4)
                .ok_or_else(|| malformed("truncated item size inside a chunk"))?;
            let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
            let start = self.pos + 4;
            let item = start
                .checked_add(size)
                .and_then(|end| self.data.get(start..end))
                .ok_or_else(|| {
                    malformed(format!("an item claims {size} bytes beyond its chunk"))
                })?;
            out.push(item);
            self.pos = start + size;
        }
        Ok(out)
    }
}

/// An account url: hex text (older blobs), else an encrypted value.
fn url_item(raw: &[u8], key: &[u8; 32]) -> Result<String, CipherError> {
    if raw.len().is_multiple_of(2)
        && raw.iter().all(u8::is_ascii_hexdigit)
        && let Ok(bytes) = hex::decode(raw)
    {
        return String::from_utf8(bytes).map_err(|_| CipherError::Utf8);
    }
    cipher::decrypt_text(raw, key)
}

/// A 32-byte key from its hex text.
fn hex_key_32(text: &[u8]) -> Result<[u8; 32], String> {
    let bytes =
        hex::decode(text.trim_ascii()).map_err(|_| "its decrypted key is not hex".to_owned())?;
    <[u8; 32]>::try_from(bytes).map_err(|_| "its decrypted key is not 32 bytes".to_owned())
}

/// The user's RSA key from its encrypted hex form: AES-256-CBC with IV =
/// key[..16], plaintext `LastPassPrivateKey<hex DER>LastPassPrivateKey`.
pub fn decrypt_private_key(hex_text: &[u8], key: &[u8; 32]) -> Result<RsaPrivateKey, String> {
    let ct = hex::decode(hex_text.trim_ascii()).map_err(|_| "not hex".to_owned())?;
    let mut iv = [0u8; 16];
    iv.copy_from_slice(key.get(..16).unwrap_or(&[0; 16]));
    let plain = cipher::cbc_decrypt(&ct, key, &iv).map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&plain).map_err(|_| "not text".to_owned())?;
    let inner = text
        .strip_prefix("LastPassPrivateKey<")
        .and_then(|t| t.strip_suffix(">LastPassPrivateKey"))
        .ok_or_else(|| "not a LastPassPrivateKey envelope".to_owned())?;
    let der = hex::decode(inner).map_err(|_| "the key is not hex".to_owned())?;
    RsaPrivateKey::from_pkcs8_der(&der)
        .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
        .map_err(|_| "not a PKCS#8 or PKCS#1 RSA key".to_owned())
}
