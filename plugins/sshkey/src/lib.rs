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
//! **Passphrases.** The record has one when it has a field labelled
//! `passphrase` (Keeper's `sshKeys` type: `text:passphrase`) with a value,
//! or when its current private key is encrypted; then, as in Commander, the
//! `password` field is the passphrase and it is rotated with the key. The
//! old key is decrypted with the old passphrase (by the host's SSH client,
//! never in the plugin), and the new key is encrypted (bcrypt-pbkdf and
//! aes256-ctr, as `ssh-keygen -N` does) with the `passphrase` field, which
//! stays as it is, or with the new password. A record with an unencrypted
//! key and no `passphrase` field gets an unencrypted key, as before.
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-sshkey`.

use keeper_plugin_sdk::ssh::{Credential, Session, check_unix_login};
use keeper_plugin_sdk::{Field, PluginError, PluginInfo, Rotation, Rotator, Secret};
use ssh_key::{LineEnding, PrivateKey};
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
        check_unix_login(req.login())?;
        let source = passphrase_source(req)?;
        let seed = random_seed();
        let pair = generate(
            &seed,
            &format!("keeper-{}", req.login()),
            source.of_new_key(req),
            &mut HostRandom,
        )?;
        Ok(vec![pair.to_field()])
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        let source = passphrase_source(req)?;
        let old = current_pair(req)?;
        let new = prepared_pair(req)?;
        let session = connect(req.login(), &old, source.of_old_key(req))?;
        replace_line(&session, &old.public, &new.public)
            .map_err(PluginError::target_may_have_changed)
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        let source = passphrase_source(req)?;
        let session = if has_prepared(req) {
            connect(req.login(), &prepared_pair(req)?, source.of_new_key(req))?
        } else {
            connect(req.login(), &current_pair(req)?, source.of_old_key(req))?
        };
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
        let source = passphrase_source(req)?;
        let old = current_pair(req)?;
        let new = prepared_pair(req)?;
        let session = connect(req.login(), &new, source.of_new_key(req))?;
        replace_line(&session, &new.public, &old.public)
            .map_err(PluginError::target_may_have_changed)
    }
}

/// Where the record keeps its private key's passphrase.
enum PassphraseSource<'a> {
    /// No passphrase: the keys are stored unencrypted.
    None,
    /// A field labelled `passphrase`; it is kept across rotations.
    Field(&'a str),
    /// The `password` field (the current key is encrypted with it); the
    /// new key is encrypted with the new password.
    Password,
}

impl<'a> PassphraseSource<'a> {
    /// The passphrase of the record's current key.
    fn of_old_key(&self, req: &'a Rotation) -> Option<&'a str> {
        match self {
            Self::None => None,
            Self::Field(p) => Some(p),
            Self::Password => Some(req.old_password().expose()),
        }
    }

    /// The passphrase of the new key.
    fn of_new_key(&self, req: &'a Rotation) -> Option<&'a str> {
        match self {
            Self::None => None,
            Self::Field(p) => Some(p),
            Self::Password => Some(req.new_password().expose()),
        }
    }
}

/// The record's passphrase source (see the module docs).
fn passphrase_source(req: &Rotation) -> Result<PassphraseSource<'_>, PluginError> {
    let record = req.record();
    let field = record
        .fields
        .iter()
        .chain(&record.custom)
        .filter(|f| {
            // A `password:passphrase` field is the rotated password field.
            f.kind != "password"
                && f.label
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case("passphrase"))
        })
        .find_map(|f| f.values.first().filter(|v| !v.is_empty()));
    if let Some(passphrase) = field {
        return Ok(PassphraseSource::Field(passphrase));
    }
    let Some(text) = key_pair_value(&req.record().fields) else {
        return Ok(PassphraseSource::None);
    };
    let pair = KeyPair::parse(text, "record's")?;
    if is_encrypted(pair.private.expose()) {
        if req.old_password().expose().is_empty() {
            return Err(PluginError::InvalidConfig(
                "the record's private key is encrypted, but the record has no passphrase \
                 (a `passphrase` field, or the password field)"
                    .into(),
            ));
        }
        Ok(PassphraseSource::Password)
    } else {
        Ok(PassphraseSource::None)
    }
}

/// Whether a private key (OpenSSH or PEM text) is encrypted.
fn is_encrypted(private: &str) -> bool {
    if private.contains("BEGIN OPENSSH PRIVATE KEY") {
        PrivateKey::from_openssh(private).is_ok_and(|k| k.is_encrypted())
    } else {
        private.contains("ENCRYPTED")
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
    check_unix_login(req.login())?;
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

/// Logs in with `pair`'s private key, decrypted with `passphrase`; a
/// failure says the target was not touched ([`Session::login`]).
fn connect(login: &str, pair: &KeyPair, passphrase: Option<&str>) -> Result<Session, PluginError> {
    let credential = Credential::private_key(pair.private.clone(), passphrase.map(Secret::new));
    Session::login(login, credential)
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
    // Rewriting a file with bytes that are not UTF-8 would mangle them.
    let text = std::str::from_utf8(&current.stdout).map_err(|_| {
        PluginError::Rejected(
            "~/.ssh/authorized_keys is not UTF-8 text; it was left as it is".into(),
        )
    })?;
    let content = edit(text, remove, add)?;
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

/// `wasi:random` as a cryptographic RNG for key generation and the
/// encryption salt.
struct HostRandom;

impl rand_core::TryRng for HostRandom {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(wasip2::random::random::get_random_u64() as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(wasip2::random::random::get_random_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        let len = u64::try_from(dst.len()).unwrap_or(u64::MAX);
        let bytes = Zeroizing::new(wasip2::random::random::get_random_bytes(len));
        dst.copy_from_slice(&bytes[..dst.len()]);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for HostRandom {}

/// 32 random bytes from the host (`wasi:random`).
fn random_seed() -> Zeroizing<[u8; 32]> {
    let mut seed = Zeroizing::new([0u8; 32]);
    let Ok(()) = rand_core::TryRng::try_fill_bytes(&mut HostRandom, &mut *seed);
    seed
}

/// The ed25519 key pair with this `seed`: an OpenSSH private key, encrypted
/// (bcrypt-pbkdf + aes256-ctr, as `ssh-keygen -N` does) when a `passphrase`
/// is given, and an OpenSSH public key line.
fn generate(
    seed: &[u8; 32],
    comment: &str,
    passphrase: Option<&str>,
    rng: &mut impl rand_core::TryCryptoRng,
) -> Result<KeyPair, PluginError> {
    let failed =
        |e: ssh_key::Error| PluginError::Internal(format!("generating the key failed: {e}"));
    let keypair = ssh_key::private::Ed25519Keypair::from_seed(seed);
    let mut key = PrivateKey::new(keypair.into(), comment).map_err(failed)?;
    let public = key.public_key().to_openssh().map_err(failed)?;
    if let Some(passphrase) = passphrase {
        key = key.encrypt(rng, passphrase).map_err(failed)?;
    }
    let private = key.to_openssh(LineEnding::LF).map_err(failed)?;
    Ok(KeyPair {
        private: Secret::new(private.as_str()),
        public,
    })
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

    /// A deterministic RNG for the encryption salt in tests.
    struct Counter(u8);

    impl rand_core::TryRng for Counter {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            self.0 = self.0.wrapping_add(1);
            Ok(u32::from(self.0))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(u64::from(self.try_next_u32()?))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for b in dst {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
            Ok(())
        }
    }

    impl rand_core::TryCryptoRng for Counter {}

    /// RFC 8032 test vector 1: the secret key.
    const SEED: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];

    /// Its public key (RFC 8032).
    const PUBLIC: [u8; 32] = [
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07,
        0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07,
        0x51, 0x1a,
    ];

    /// `ssh-keygen -y` on `pem` (with `passphrase`), when ssh-keygen is
    /// present: the public key line it derives.
    fn ssh_keygen_public(pem: &str, passphrase: &str) -> Option<String> {
        let dir = std::env::temp_dir().join(format!(
            "keeper-sshkey-{}-{}",
            std::process::id(),
            passphrase.len()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("id");
        std::fs::write(&path, pem).expect("write key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let out = std::process::Command::new("ssh-keygen")
            .args(["-y", "-P", passphrase, "-f"])
            .arg(&path)
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        let out = out.ok()?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    #[test]
    fn generates_the_rfc8032_public_key_and_a_valid_openssh_key() {
        let pair = generate(&SEED, "test", None, &mut Counter(0)).expect("generate");
        let parsed = ssh_key::PublicKey::from_openssh(&pair.public).expect("a public key line");
        assert_eq!(
            parsed.key_data().ed25519().expect("ed25519").as_ref(),
            &PUBLIC
        );
        assert!(pair.public.ends_with(" test"), "{}", pair.public);
        let pem = pair.private.expose();
        assert!(pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(pem.ends_with("-----END OPENSSH PRIVATE KEY-----\n"));
        assert!(!is_encrypted(pem));
        if let Some(derived) = ssh_keygen_public(pem, "") {
            assert_eq!(key_blob(&derived), key_blob(&pair.public));
        }
    }

    #[test]
    fn encrypts_the_new_key_with_the_passphrase() {
        let pair = generate(&SEED, "test", Some("s3cret pass"), &mut Counter(0)).expect("generate");
        let pem = pair.private.expose();
        assert!(is_encrypted(pem));
        let key = PrivateKey::from_openssh(pem).expect("parse");
        assert!(key.decrypt("wrong").is_err(), "a wrong passphrase fails");
        let plain = key.decrypt("s3cret pass").expect("decrypt");
        assert_eq!(
            plain
                .public_key()
                .key_data()
                .ed25519()
                .expect("ed25519")
                .as_ref(),
            &PUBLIC
        );
        // OpenSSH itself reads it with the passphrase.
        if let Some(derived) = ssh_keygen_public(pem, "s3cret pass") {
            assert_eq!(key_blob(&derived), key_blob(&pair.public));
        }
    }

    /// A record for the passphrase rules, with this private key.
    fn record_with(private: &str, extra: Option<Field>, old: &str, new: &str) -> Rotation {
        let pair = serde_json::json!({"privateKey": private, "publicKey": "ssh-ed25519 AAAA c"});
        let mut fields = vec![Field {
            kind: KEY_PAIR.into(),
            label: None,
            values: vec![pair.to_string()],
        }];
        fields.extend(extra);
        let record = keeper_plugin_sdk::RecordView {
            fields,
            ..Default::default()
        };
        Rotation::new("app", old, new).with_record(record)
    }

    #[test]
    fn the_passphrase_comes_from_the_passphrase_field_or_an_encrypted_keys_password() {
        let plain = generate(&SEED, "c", None, &mut Counter(0)).expect("generate");
        let encrypted = generate(&SEED, "c", Some("old"), &mut Counter(0)).expect("generate");
        let plain = plain.private.expose();
        let encrypted = encrypted.private.expose();

        // Unencrypted key, no passphrase field: stays unencrypted.
        let req = record_with(plain, None, "old", "new");
        let source = passphrase_source(&req).expect("source");
        assert_eq!(
            (source.of_old_key(&req), source.of_new_key(&req)),
            (None, None)
        );

        // Encrypted key: the password field is the passphrase, rotated.
        let req = record_with(encrypted, None, "old", "new");
        let source = passphrase_source(&req).expect("source");
        assert_eq!(
            (source.of_old_key(&req), source.of_new_key(&req)),
            (Some("old"), Some("new"))
        );

        // A passphrase field wins and is kept.
        let field = Field {
            kind: "text".into(),
            label: Some("passphrase".into()),
            values: vec!["kept".into()],
        };
        let req = record_with(encrypted, Some(field), "old", "new");
        let source = passphrase_source(&req).expect("source");
        assert_eq!(
            (source.of_old_key(&req), source.of_new_key(&req)),
            (Some("kept"), Some("kept"))
        );

        // A password field labelled `passphrase` is the rotated password.
        let field = Field {
            kind: "password".into(),
            label: Some("passphrase".into()),
            values: vec!["old".into()],
        };
        let req = record_with(encrypted, Some(field), "old", "new");
        let source = passphrase_source(&req).expect("source");
        assert_eq!(
            (source.of_old_key(&req), source.of_new_key(&req)),
            (Some("old"), Some("new"))
        );

        // An encrypted key without any passphrase is a configuration error.
        let req = record_with(encrypted, None, "", "new");
        assert!(matches!(
            passphrase_source(&req),
            Err(PluginError::InvalidConfig(m)) if m.contains("passphrase")
        ));
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
