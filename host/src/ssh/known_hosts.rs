//! Host-key checking: OpenSSH `known_hosts` files and keys pinned in records.
//!
//! The file is `<data dir>/known_hosts` in OpenSSH format: one
//! `hosts key-type base64 [comment]` line per key, where `hosts` is a
//! comma-separated list of names or patterns (`*`, `?`, `!negation`),
//! `[host]:port` for ports other than 22, or a hashed `|1|salt|hash` entry.
//! `@revoked` lines refuse a key; `@cert-authority` lines are ignored
//! (host certificates are not accepted).
//!
//! Decision, in order (see [`HostKeyPolicy::check`]):
//! 1. a key pinned in the record (`cmdr:host_key`) decides alone: it must
//!    match, whatever `known_hosts` says;
//! 2. a revoked key is refused;
//! 3. a key listed for the host is accepted;
//! 4. a host listed with *other* keys has **changed** its key: refused,
//!    even with accept-new, naming both fingerprints;
//! 5. an unknown host is refused with its fingerprint and how to accept it,
//!    unless the policy accepts new hosts: then it is appended to the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use russh::keys::{HashAlg, PublicKey};

use super::SshError;

/// How the server's host key is checked.
///
/// The default has no `known_hosts` file and no pin: every host is unknown
/// and refused.
#[derive(Debug, Clone, Default)]
pub struct HostKeyPolicy {
    /// The `known_hosts` file to check (and append to with `accept_new`).
    /// A file that does not exist yet is an empty list.
    pub known_hosts: Option<PathBuf>,
    /// Accept (and record) the key of a host that `known_hosts` does not
    /// list yet. A *changed* key is refused regardless.
    pub accept_new: bool,
    /// The key pinned in the record; when set it alone decides.
    pub pinned: Option<PinnedHostKey>,
}

/// A host key pinned in a record (custom field `cmdr:host_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinnedHostKey {
    /// A whole public key, `ssh-ed25519 AAAA...` (a trailing comment is allowed).
    Key(PublicKey),
    /// A SHA-256 fingerprint, `SHA256:...` as `ssh-keygen -l` prints it
    /// (base64 without padding).
    Fingerprint(String),
}

impl PinnedHostKey {
    /// Parses a pin: `SHA256:<base64>` or an OpenSSH public key line.
    ///
    /// # Errors
    ///
    /// [`SshError::HostKey`] when the text is neither form.
    pub fn parse(text: &str) -> Result<Self, SshError> {
        let text = text.trim();
        if let Some(fp) = text.strip_prefix("SHA256:") {
            let fp = fp.trim_end_matches('=');
            let valid = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(fp)
                .is_ok_and(|raw| raw.len() == 32);
            if !valid {
                return Err(SshError::HostKey(format!(
                    "the pinned host key `SHA256:{fp}` is not a valid SHA-256 fingerprint"
                )));
            }
            return Ok(Self::Fingerprint(format!("SHA256:{fp}")));
        }
        PublicKey::from_openssh(text).map(Self::Key).map_err(|e| {
            SshError::HostKey(format!(
                "the pinned host key is neither `SHA256:<fingerprint>` nor an \
                 OpenSSH public key such as `ssh-ed25519 AAAA...`: {e}"
            ))
        })
    }

    /// Whether `key` is the pinned key.
    pub fn matches(&self, key: &PublicKey) -> bool {
        match self {
            Self::Key(pinned) => pinned.key_data() == key.key_data(),
            Self::Fingerprint(fp) => *fp == fingerprint(key),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Key(key) => fingerprint(key),
            Self::Fingerprint(fp) => fp.clone(),
        }
    }
}

/// The SHA-256 fingerprint of a key as OpenSSH prints it (`SHA256:...`).
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The host field OpenSSH writes for `host` on `port`: `host`, or
/// `[host]:port` when the port is not 22.
pub fn host_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// What a successful check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// The key is the one pinned in the record.
    Pinned,
    /// `known_hosts` lists the key for this host.
    Known,
    /// The host was new and its key was appended to `known_hosts`.
    Added,
}

impl HostKeyPolicy {
    /// Decides whether `key`, presented by `host` on `port`, is trusted.
    ///
    /// `host` is the name the user gave for the target (what `known_hosts`
    /// lines are written for); the address's IP is not consulted.
    ///
    /// # Errors
    ///
    /// [`SshError::HostKey`] when the key is refused (unknown, changed,
    /// revoked, not the pinned one) or `known_hosts` cannot be read or
    /// appended to.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> Result<Accepted, SshError> {
        let target = host_pattern(host, port);
        let presented = fingerprint(key);
        if let Some(pin) = &self.pinned {
            return if pin.matches(key) {
                Ok(Accepted::Pinned)
            } else {
                Err(SshError::HostKey(format!(
                    "HOST KEY MISMATCH for {target}: the record pins {pinned} (cmdr:host_key) \
                     but the server presented {alg} key {presented}. Someone may be \
                     intercepting the connection, or the server was reinstalled; check \
                     with the server's administrator and update cmdr:host_key only if the \
                     new key is genuine. The session was refused.",
                    pinned = pin.describe(),
                    alg = key.algorithm().as_str(),
                )))
            };
        }

        let entries = match &self.known_hosts {
            Some(path) => read_entries(path)?,
            None => Vec::new(),
        };
        let file = self
            .known_hosts
            .as_deref()
            .map_or_else(|| "known_hosts".to_string(), |p| p.display().to_string());
        let for_host: Vec<&Entry> = entries.iter().filter(|e| e.hosts_match(&target)).collect();
        if let Some(revoked) = entries
            .iter()
            .find(|e| e.marker == Marker::Revoked && e.key.key_data() == key.key_data())
        {
            return Err(SshError::HostKey(format!(
                "the host key {presented} of {target} is marked @revoked in {file} (line {}); \
                 the session was refused",
                revoked.line
            )));
        }
        let plain: Vec<&&Entry> = for_host
            .iter()
            .filter(|e| e.marker == Marker::None)
            .collect();
        if plain.iter().any(|e| e.key.key_data() == key.key_data()) {
            return Ok(Accepted::Known);
        }
        if !plain.is_empty() {
            let old: Vec<String> = plain
                .iter()
                .map(|e| {
                    format!(
                        "{} {} (line {})",
                        e.key.algorithm().as_str(),
                        fingerprint(&e.key),
                        e.line
                    )
                })
                .collect();
            return Err(SshError::HostKey(format!(
                "WARNING: THE HOST KEY OF {target} HAS CHANGED. {file} holds {old} but the \
                 server presented {alg} key {presented}. Someone may be intercepting the \
                 connection (man-in-the-middle), or the server was reinstalled. The session \
                 was refused; --accept-host-key does not override this. If the new key is \
                 genuine, remove the old line(s) from {file} or pin the new key in the \
                 record's cmdr:host_key field.",
                old = old.join(", "),
                alg = key.algorithm().as_str(),
            )));
        }
        match (&self.known_hosts, self.accept_new) {
            (Some(path), true) => {
                append(path, &target, key)?;
                tracing::info!(
                    target: "keeper::ssh",
                    "added host key {presented} for {target} to {}",
                    path.display()
                );
                Ok(Accepted::Added)
            }
            _ => Err(SshError::HostKey(format!(
                "the host key of {target} is unknown: {alg} key {presented}. Check this \
                 fingerprint with the server's administrator, then accept it with \
                 --accept-host-key (it is then saved in {file}) or pin it in the record's \
                 custom field cmdr:host_key (`{presented}` or the whole public key). \
                 The session was refused.",
                alg = key.algorithm().as_str(),
            ))),
        }
    }
}

/// A line's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// One parsed `known_hosts` line.
#[derive(Debug, Clone)]
struct Entry {
    /// 1-based line number, for messages.
    line: usize,
    marker: Marker,
    hosts: Hosts,
    key: PublicKey,
}

/// The host field of a line.
#[derive(Debug, Clone)]
enum Hosts {
    /// Comma-separated names or patterns.
    Patterns(Vec<String>),
    /// `|1|base64(salt)|base64(HMAC-SHA1(salt, host))`.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

impl Entry {
    /// Parses one line; `None` for blank lines, comments and lines that
    /// are not valid (OpenSSH skips those too).
    fn parse(line_no: usize, line: &str) -> Option<Self> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next()?;
        let marker = match first {
            "@revoked" => Marker::Revoked,
            "@cert-authority" => Marker::CertAuthority,
            m if m.starts_with('@') => return None,
            _ => Marker::None,
        };
        if marker != Marker::None {
            first = fields.next()?;
        }
        let key_type = fields.next()?;
        let key_b64 = fields.next()?;
        let key = PublicKey::from_openssh(&format!("{key_type} {key_b64}")).ok()?;
        let hosts = if let Some(rest) = first.strip_prefix("|1|") {
            let (salt, hash) = rest.split_once('|')?;
            Hosts::Hashed {
                salt: STANDARD.decode(salt).ok()?,
                hash: STANDARD.decode(hash).ok()?,
            }
        } else {
            Hosts::Patterns(first.split(',').map(str::to_string).collect())
        };
        Some(Self {
            line: line_no,
            marker,
            hosts,
            key,
        })
    }

    /// Whether this line is for `target` (`host` or `[host]:port`).
    fn hosts_match(&self, target: &str) -> bool {
        match &self.hosts {
            Hosts::Hashed { salt, hash } => {
                let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(salt) else {
                    return false;
                };
                mac.update(target.as_bytes());
                mac.verify_slice(hash).is_ok()
            }
            Hosts::Patterns(patterns) => {
                let target = target.to_ascii_lowercase();
                let mut matched = false;
                for pattern in patterns {
                    let pattern = pattern.to_ascii_lowercase();
                    if let Some(negated) = pattern.strip_prefix('!') {
                        if glob(negated.as_bytes(), target.as_bytes()) {
                            return false;
                        }
                    } else if glob(pattern.as_bytes(), target.as_bytes()) {
                        matched = true;
                    }
                }
                matched
            }
        }
    }
}

/// OpenSSH-style wildcard match: `*` any run, `?` any one character.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// Reads every valid line of `path`; a missing file is empty.
fn read_entries(path: &Path) -> Result<Vec<Entry>, SshError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(SshError::HostKey(format!(
                "cannot read {}: {e}; the session was refused",
                path.display()
            )));
        }
    };
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let entry = Entry::parse(i + 1, line);
            if entry.is_none() && !line.trim().is_empty() && !line.trim_start().starts_with('#')
            {
                tracing::debug!(target: "keeper::ssh", "{}:{}: line ignored", path.display(), i + 1);
            }
            entry
        })
        .filter(|e| e.marker != Marker::CertAuthority)
        .collect())
}

/// Appends `target key-type base64` to `path`, creating it (and its
/// directory) if needed.
///
/// # Errors
///
/// [`SshError::HostKey`] when the file cannot be written.
pub fn append(path: &Path, target: &str, key: &PublicKey) -> Result<(), SshError> {
    let fail = |e: &dyn std::fmt::Display| {
        SshError::HostKey(format!(
            "cannot record the host key of {target} in {}: {e}; the session was refused",
            path.display()
        ))
    };
    let mut bare = key.clone();
    bare.set_comment("");
    let openssh = bare.to_openssh().map_err(|e| fail(&e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    }
    // Start on a fresh line if the file does not end with one.
    let needs_newline = std::fs::read(path)
        .map(|bytes| bytes.last().is_some_and(|b| *b != b'\n'))
        .unwrap_or(false);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| fail(&e))?;
    let line = format!(
        "{}{target} {}\n",
        if needs_newline { "\n" } else { "" },
        openssh.trim()
    );
    file.write_all(line.as_bytes()).map_err(|e| fail(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK/fMCJR+Xdr+ylRAuPEccuYYCkJC7vFbOGoOibkj3tg";
    const ED_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH9DJwe7JtU9jYkL6dCQ4p3oGpcoPiOPHjkzFWlN9SRH";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).expect("test key")
    }

    fn policy_with(contents: &str, accept_new: bool) -> (tempfile::TempDir, HostKeyPolicy) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, contents).expect("write");
        let policy = HostKeyPolicy {
            known_hosts: Some(path),
            accept_new,
            pinned: None,
        };
        (dir, policy)
    }

    #[test]
    fn host_patterns_follow_openssh() {
        assert_eq!(host_pattern("example.com", 22), "example.com");
        assert_eq!(host_pattern("example.com", 2222), "[example.com]:2222");
        assert_eq!(host_pattern("127.0.0.1", 2222), "[127.0.0.1]:2222");
    }

    #[test]
    fn known_key_is_accepted_on_its_port_only() {
        let (_d, policy) = policy_with(
            &format!("# comment\n\n[h.example]:2222 {ED_A} me@x\n"),
            false,
        );
        assert_eq!(
            policy.check("h.example", 2222, &key(ED_A)),
            Ok(Accepted::Known)
        );
        // Same host on port 22 is another entry: unknown.
        let err = policy
            .check("h.example", 22, &key(ED_A))
            .expect_err("must be refused");
        assert!(
            matches!(&err, SshError::HostKey(m) if m.contains("unknown")),
            "{err}"
        );
    }

    #[test]
    fn lists_wildcards_negation_and_case() {
        let (_d, policy) = policy_with(&format!("a.example,*.lan,!bad.lan {ED_A}\n"), false);
        assert!(policy.check("A.EXAMPLE", 22, &key(ED_A)).is_ok());
        assert!(policy.check("db.lan", 22, &key(ED_A)).is_ok());
        assert!(policy.check("bad.lan", 22, &key(ED_A)).is_err());
        assert!(policy.check("other", 22, &key(ED_A)).is_err());
        assert!(glob(b"h?st*", b"host-1"));
        assert!(!glob(b"h?st", b"hst"));
    }

    #[test]
    fn hashed_entries_match() {
        // `ssh-keygen -H` style: |1|base64(salt)|base64(HMAC-SHA1(salt, host)).
        let salt = [7u8; 20];
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&salt).expect("hmac");
        mac.update(b"[10.0.0.5]:2200");
        let hash = mac.finalize().into_bytes();
        let line = format!(
            "|1|{}|{} {ED_A}\n",
            STANDARD.encode(salt),
            STANDARD.encode(hash)
        );
        let (_d, policy) = policy_with(&line, false);
        assert!(policy.check("10.0.0.5", 2200, &key(ED_A)).is_ok());
        assert!(policy.check("10.0.0.5", 22, &key(ED_A)).is_err());
    }

    #[test]
    fn changed_key_is_refused_loudly_even_with_accept_new() {
        let (_d, policy) = policy_with(&format!("srv {ED_A}\n"), true);
        let err = policy
            .check("srv", 22, &key(ED_B))
            .expect_err("must be refused");
        let SshError::HostKey(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(msg.contains("HAS CHANGED"), "{msg}");
        assert!(msg.contains(&fingerprint(&key(ED_A))), "{msg}");
        assert!(msg.contains(&fingerprint(&key(ED_B))), "{msg}");
        // Nothing was appended.
        let text =
            std::fs::read_to_string(policy.known_hosts.as_ref().expect("path")).expect("read");
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn unknown_host_is_refused_with_fingerprint_and_advice() {
        let policy = HostKeyPolicy::default();
        let err = policy
            .check("srv", 22, &key(ED_A))
            .expect_err("must be refused");
        let SshError::HostKey(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(msg.contains(&fingerprint(&key(ED_A))), "{msg}");
        assert!(msg.contains("--accept-host-key"), "{msg}");
        assert!(msg.contains("cmdr:host_key"), "{msg}");
    }

    #[test]
    fn accept_new_appends_then_knows() {
        let (dir, policy) = policy_with("srv-other ssh-ed25519 AAAA-not-a-key", true);
        assert_eq!(policy.check("srv", 2022, &key(ED_A)), Ok(Accepted::Added));
        let text = std::fs::read_to_string(dir.path().join("known_hosts")).expect("read");
        assert!(
            text.ends_with(&format!("\n[srv]:2022 {ED_A}\n")),
            "{text:?}"
        );
        let strict = HostKeyPolicy {
            accept_new: false,
            ..policy
        };
        assert_eq!(strict.check("srv", 2022, &key(ED_A)), Ok(Accepted::Known));
    }

    #[test]
    fn accept_new_creates_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("known_hosts");
        let policy = HostKeyPolicy {
            known_hosts: Some(path.clone()),
            accept_new: true,
            pinned: None,
        };
        assert_eq!(policy.check("srv", 22, &key(ED_A)), Ok(Accepted::Added));
        assert_eq!(
            std::fs::read_to_string(path).expect("read"),
            format!("srv {ED_A}\n")
        );
    }

    #[test]
    fn revoked_key_is_refused() {
        let (_d, policy) = policy_with(&format!("@revoked * {ED_A}\nsrv {ED_A}\n"), true);
        let err = policy
            .check("srv", 22, &key(ED_A))
            .expect_err("must be refused");
        assert!(
            matches!(&err, SshError::HostKey(m) if m.contains("@revoked")),
            "{err}"
        );
    }

    #[test]
    fn pins_decide_alone() {
        let fp = fingerprint(&key(ED_A));
        for pin in [format!("{ED_A} comment"), fp.clone(), format!("{fp}=")] {
            let pin = PinnedHostKey::parse(&pin).expect("pin");
            // Pinned key wins over a known_hosts line holding another key.
            let (_d, mut policy) = policy_with(&format!("srv {ED_B}\n"), false);
            policy.pinned = Some(pin);
            assert_eq!(policy.check("srv", 22, &key(ED_A)), Ok(Accepted::Pinned));
            let err = policy
                .check("srv", 22, &key(ED_B))
                .expect_err("must be refused");
            assert!(
                matches!(&err, SshError::HostKey(m) if m.contains("MISMATCH")),
                "{err}"
            );
        }
        assert!(PinnedHostKey::parse("SHA256:short").is_err());
        assert!(PinnedHostKey::parse("ssh-ed25519 nope").is_err());
    }
}
