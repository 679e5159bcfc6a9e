//! keeper's first-party SSH key rotator.
//!
//! The record (typically `sshKeys`) holds the current key pair in its
//! `keyPair` field (`privateKey` in OpenSSH or PEM form, unencrypted, and
//! `publicKey` as an OpenSSH line), the remote `login` and the `host`.
//!
//! - **prepare**: generates a new ed25519 key pair inside the sandbox
//!   (randomness from `wasi:random`) and returns it as a `keyPair` field;
//!   the host stores it in the pending rotation before anything touches the
//!   target and writes it into the record when the rotation finishes.
//! - **rotate**: logs in with the *old* key, reads `~/.ssh/authorized_keys`,
//!   removes the old key's line, appends the new public key and writes the
//!   file back atomically (`cat > tmp && mv tmp authorized_keys`, umask 077).
//!   The file content travels on standard input; the command line is
//!   constant. Other lines (options, comments, other keys) are kept as they
//!   are.
//! - **verify**: logs in with the *new* key (from the prepared material) and
//!   runs `true`; without prepared material (the host checking whether the
//!   record's current credentials still work) it logs in with the record's
//!   key.
//! - **revert**: logs in with the new key and puts the old line back in
//!   place of the new one.
//!
//! The rotated password field is not used as a passphrase: the private key
//! is kept unencrypted inside the (encrypted) vault, and an encrypted old
//! key is not supported.
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-sshkey`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use keeper_plugin_sdk::ssh::{Credential, Session, SshError};
use keeper_plugin_sdk::{Field, PluginError, PluginInfo, Rotation, Rotator, Secret};
use zeroize::Zeroizing;

/// The SSH key rotator.
pub struct SshKey;

/// The record field holding the key pair.
const KEY_PAIR: &str = "keyPair";

impl Rotator for SshKey {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "sshkey",
            "Rotates SSH keys: a new ed25519 key in authorized_keys, the old one removed",
        )
        .default_port(22)
        .required_params(["host", "login"])
    }

    fn prepare(req: &Rotation) -> Result<Vec<Field>, PluginError> {
        check_login(req.login())?;
        let seed = Zeroizing::new(random_seed()?);
        let pair = generate(&seed, &format!("keeper-{}", req.login()));
        Ok(vec![pair.to_field()])
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        let old = current_pair(req)?;
        let new = prepared_pair(req)?;
        let session = connect(req.login(), &old)?;
        replace_line(&session, &old.public, &new.public)
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        let pair = if has_prepared(req) {
            prepared_pair(req)?
        } else {
            current_pair(req)?
        };
        let session = connect(req.login(), &pair)?;
        let out = session.exec("true", b"")?;
        if out.success() {
            Ok(())
        } else {
            Err(PluginError::Rejected(format!(
                "logged in with the key, but `true` exited with {:?}",
                out.exit_status
            )))
        }
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        let old = current_pair(req)?;
        let new = prepared_pair(req)?;
        let session = connect(req.login(), &new)?;
        replace_line(&session, &new.public, &old.public)
    }
}

/// A key pair as the vault stores it.
struct KeyPair {
    /// The private key (OpenSSH or PEM text).
    private: Secret,
    /// The public key, `type base64 [comment]`.
    public: String,
}

impl KeyPair {
    /// Parses a `keyPair` value (JSON text `{"privateKey": ..., "publicKey": ...}`).
    fn parse(text: &str, whose: &str) -> Result<Self, PluginError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| {
            PluginError::InvalidConfig(format!("the {whose} keyPair value is not valid JSON"))
        })?;
        let get = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or("");
        let private = get("privateKey");
        let public = get("publicKey").trim();
        if private.trim().is_empty() {
            return Err(PluginError::InvalidConfig(format!(
                "the {whose} keyPair has no private key"
            )));
        }
        if key_blob(public).is_none() {
            return Err(PluginError::InvalidConfig(format!(
                "the {whose} keyPair has no OpenSSH public key (`ssh-ed25519 AAAA...`); \
                 it is needed to find the key's line in authorized_keys"
            )));
        }
        Ok(Self {
            private: Secret::new(private),
            public: public.to_owned(),
        })
    }

    /// The pair as a `keyPair` field.
    fn to_field(&self) -> Field {
        let value = serde_json::json!({
            "privateKey": self.private.expose(),
            "publicKey": self.public,
        });
        Field {
            kind: KEY_PAIR.into(),
            label: None,
            values: vec![value.to_string()],
        }
    }
}

/// The first `keyPair` value among `fields`.
fn key_pair_value(fields: &[Field]) -> Option<&str> {
    fields
        .iter()
        .find(|f| f.kind == KEY_PAIR)
        .and_then(|f| f.values.first())
        .map(String::as_str)
}

fn has_prepared(req: &Rotation) -> bool {
    key_pair_value(req.prepared()).is_some()
}

/// The record's current key pair.
fn current_pair(req: &Rotation) -> Result<KeyPair, PluginError> {
    check_login(req.login())?;
    let text = key_pair_value(&req.record().fields).ok_or_else(|| {
        PluginError::InvalidConfig("the record has no keyPair field with the current key".into())
    })?;
    KeyPair::parse(text, "record's")
}

/// The new key pair from `prepare`.
fn prepared_pair(req: &Rotation) -> Result<KeyPair, PluginError> {
    let text = key_pair_value(req.prepared())
        .ok_or_else(|| PluginError::Internal("the host passed no prepared key pair".into()))?;
    KeyPair::parse(text, "new")
}

/// Refuses logins other than `[A-Za-z0-9._-]+` not starting with `-`.
fn check_login(login: &str) -> Result<(), PluginError> {
    let ok = !login.is_empty()
        && !login.starts_with('-')
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(PluginError::InvalidConfig(format!(
            "login {login:?} is not a Unix user name (only letters, digits, `.`, `_` and `-` are allowed)"
        )))
    }
}

/// Logs in with `pair`'s private key. A refused or changed host key and a
/// session failing while being set up change nothing on the target, and
/// say so (invalid configuration / unreachable), like the ssh plugin.
fn connect(login: &str, pair: &KeyPair) -> Result<Session, PluginError> {
    Session::connect(login, Credential::private_key(pair.private.clone(), None)).map_err(
        |e| match e {
            SshError::HostKey(_) => PluginError::InvalidConfig(e.to_string()),
            SshError::Channel(_) => PluginError::Unreachable(e.to_string()),
            other => other.into(),
        },
    )
}

/// `(type, base64)` of an OpenSSH public key line, if it is one.
fn key_blob(line: &str) -> Option<(&str, &str)> {
    let mut parts = line.split_whitespace();
    let kind = parts.next()?;
    let blob = parts.next()?;
    (kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-"))
        .then_some((kind, blob))
}

/// Whether an authorized_keys `line` (possibly with options) holds `key`.
fn holds(line: &str, key: (&str, &str)) -> bool {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    tokens.windows(2).any(|w| w[0] == key.0 && w[1] == key.1)
}

/// The new authorized_keys content: lines holding `remove` dropped, `add`
/// appended once.
fn edit(content: &str, remove: &str, add: &str) -> Result<String, PluginError> {
    let remove = key_blob(remove)
        .ok_or_else(|| PluginError::InvalidConfig("not an OpenSSH public key".into()))?;
    let add_key = key_blob(add)
        .ok_or_else(|| PluginError::InvalidConfig("not an OpenSSH public key".into()))?;
    let mut out = String::new();
    for line in content.lines() {
        if holds(line, remove) || holds(line, add_key) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(add.trim());
    out.push('\n');
    Ok(out)
}

/// Replaces the `remove` key's line with `add` in `~/.ssh/authorized_keys`.
fn replace_line(session: &Session, remove: &str, add: &str) -> Result<(), PluginError> {
    let current = session.exec("cat .ssh/authorized_keys", b"")?;
    if !current.success() {
        return Err(PluginError::Rejected(format!(
            "cannot read ~/.ssh/authorized_keys: {}",
            String::from_utf8_lossy(&current.stderr).trim()
        )));
    }
    let content = edit(&String::from_utf8_lossy(&current.stdout), remove, add)?;
    let written = session.exec(
        "umask 077 && cat > .ssh/authorized_keys.keeper-new && mv -f .ssh/authorized_keys.keeper-new .ssh/authorized_keys",
        content.as_bytes(),
    )?;
    if written.success() {
        Ok(())
    } else {
        Err(PluginError::Rejected(format!(
            "cannot write ~/.ssh/authorized_keys: {}",
            String::from_utf8_lossy(&written.stderr).trim()
        )))
    }
}

/// 32 random bytes from the host (`wasi:random`).
fn random_seed() -> Result<[u8; 32], PluginError> {
    let bytes = Zeroizing::new(wasip2::random::random::get_random_bytes(32));
    let mut seed = [0u8; 32];
    if bytes.len() != 32 {
        return Err(PluginError::Internal(
            "the host returned too few random bytes".into(),
        ));
    }
    seed.copy_from_slice(&bytes);
    Ok(seed)
}

/// Appends an SSH `string` (u32 length, bytes).
fn put_string(out: &mut Vec<u8>, data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
}

/// The ed25519 key pair with this `seed`, as an unencrypted OpenSSH private
/// key and an OpenSSH public key line.
fn generate(seed: &[u8; 32], comment: &str) -> KeyPair {
    use sha2::{Digest, Sha512};
    let hash: Zeroizing<[u8; 64]> = Zeroizing::new(Sha512::digest(seed).into());
    let mut scalar = Zeroizing::new([0u8; 32]);
    scalar.copy_from_slice(&hash[..32]);
    let public = curve25519_dalek::EdwardsPoint::mul_base_clamped(*scalar)
        .compress()
        .to_bytes();

    let mut blob = Vec::new();
    put_string(&mut blob, b"ssh-ed25519");
    put_string(&mut blob, &public);

    // Private section: check ints, key, comment, padding to 8 bytes.
    let check = u32::from_be_bytes([seed[0] ^ seed[31], seed[7], seed[13], seed[21]]);
    let mut private = Zeroizing::new(Vec::new());
    private.extend_from_slice(&check.to_be_bytes());
    private.extend_from_slice(&check.to_be_bytes());
    put_string(&mut private, b"ssh-ed25519");
    put_string(&mut private, &public);
    let mut secret = Zeroizing::new(Vec::with_capacity(64));
    secret.extend_from_slice(seed);
    secret.extend_from_slice(&public);
    put_string(&mut private, &secret);
    put_string(&mut private, comment.as_bytes());
    let mut pad = 1u8;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }

    let mut body = Zeroizing::new(Vec::new());
    body.extend_from_slice(b"openssh-key-v1\0");
    put_string(&mut body, b"none");
    put_string(&mut body, b"none");
    put_string(&mut body, b"");
    body.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut body, &blob);
    put_string(&mut body, &private);

    let encoded = Zeroizing::new(BASE64.encode(&*body));
    let mut pem = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for chunk in encoded.as_bytes().chunks(70) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END OPENSSH PRIVATE KEY-----\n");
    KeyPair {
        private: Secret::new(pem),
        public: format!("ssh-ed25519 {} {comment}", BASE64.encode(&blob)),
    }
}

keeper_plugin_sdk::register_rotator!(SshKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_sshkey() {
        let info = SshKey::describe();
        assert_eq!(info.name, "sshkey");
        assert_eq!(info.default_port, Some(22));
        assert_eq!(info.required_params, ["host", "login"]);
    }

    /// RFC 8032 test vector 1: the public key of this seed is known.
    #[test]
    fn generates_the_rfc8032_public_key_and_a_valid_openssh_key() {
        let seed: [u8; 32] = [
            0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec,
            0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03,
            0x1c, 0xae, 0x7f, 0x60,
        ];
        let pair = generate(&seed, "test");
        let (_, blob) = key_blob(&pair.public).expect("a public key line");
        let blob = BASE64.decode(blob).expect("base64");
        let public = &blob[blob.len() - 32..];
        let expected = [
            0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64,
            0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68,
            0xf7, 0x07, 0x51, 0x1a,
        ];
        assert_eq!(public, expected);
        let pem = pair.private.expose();
        assert!(pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(pem.ends_with("-----END OPENSSH PRIVATE KEY-----\n"));

        // ssh-keygen, when present, derives the same public key from it.
        let dir = std::env::temp_dir().join(format!("keeper-sshkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("id");
        std::fs::write(&path, pem).expect("write key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        if let Ok(out) = std::process::Command::new("ssh-keygen")
            .args(["-y", "-f"])
            .arg(&path)
            .output()
        {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let derived = String::from_utf8_lossy(&out.stdout);
            assert_eq!(key_blob(&derived), key_blob(&pair.public));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn edits_authorized_keys_keeping_other_lines() {
        let old = "ssh-ed25519 AAAAold old@x";
        let new = "ssh-ed25519 AAAAnew keeper-app";
        let content =
            "# comment\nssh-rsa AAAAother other\nfrom=\"10.0.0.1\" ssh-ed25519 AAAAold old@x\n\n";
        let edited = edit(content, old, new).expect("edit");
        assert_eq!(
            edited,
            "# comment\nssh-rsa AAAAother other\n\nssh-ed25519 AAAAnew keeper-app\n"
        );
        // Idempotent: the new key is never doubled.
        assert_eq!(edit(&edited, old, new).expect("edit"), edited);
        assert!(edit(content, "garbage", new).is_err());
    }

    #[test]
    fn key_pairs_need_both_halves() {
        let ok = r#"{"privateKey":"-----BEGIN...","publicKey":"ssh-ed25519 AAAA c"}"#;
        assert!(KeyPair::parse(ok, "record's").is_ok());
        for bad in [
            r#"{"privateKey":"","publicKey":"ssh-ed25519 AAAA"}"#,
            r#"{"privateKey":"k","publicKey":""}"#,
            "not json",
        ] {
            assert!(
                matches!(
                    KeyPair::parse(bad, "record's"),
                    Err(PluginError::InvalidConfig(_))
                ),
                "{bad}"
            );
        }
        let req = Rotation::new("app", "", "new");
        assert!(matches!(
            SshKey::rotate(&req),
            Err(PluginError::InvalidConfig(m)) if m.contains("keyPair")
        ));
        let req = Rotation::new("a:b", "", "new");
        assert!(matches!(
            SshKey::prepare(&req),
            Err(PluginError::InvalidConfig(_))
        ));
    }
}
