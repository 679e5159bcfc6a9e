//! Test fixture: a private OpenSSH server on a loopback port, and
//! throw-away local accounts to log in to it.
//!
//! Each [`Sshd`] has its own temp dir (config, ed25519 host key, pid file,
//! log), listens on `127.0.0.1:<free port>` and runs `sshd -D -e` as a
//! child that is killed on drop. Each [`Account`] is a fresh local user
//! `kp_<random>` (created with `useradd -m`, password set with `chpasswd`)
//! removed with `userdel -r` on drop. Needs root; when `/usr/sbin/sshd` is
//! missing the tests say so loudly and skip (`scripts/lib.sh ensure_sshd`
//! installs it).
//!
//! Most SSH tests start with [`SshBox::start`] (a server and an account on
//! it) and check logins with [`logs_in`] / [`can_login`] (keeper's own
//! client, host key pinned) or [`trusting`] (the server's key in a
//! known_hosts file).
#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use keeper::testing::ssh::{Credential, HostKeyPolicy, PinnedHostKey, SshClient, SshError};

/// The OpenSSH server binary.
pub const SSHD: &str = "/usr/sbin/sshd";

/// `useradd`/`userdel`/`chpasswd` lock `/etc/passwd`; run them one at a time.
pub static ACCOUNTS: Mutex<()> = Mutex::new(());

/// What most SSH tests start with: a private sshd and a fresh account on
/// it.
pub struct SshBox {
    /// The server.
    pub sshd: Sshd,
    /// An account to log in as (password: `account.password`).
    pub account: Account,
}

impl SshBox {
    /// Starts the server and creates the account; `None` when the test is
    /// skipped (see [`Sshd::start`]).
    pub fn start() -> Option<Self> {
        let sshd = Sshd::start()?;
        Some(Self {
            sshd,
            account: Account::create(),
        })
    }
}

/// Generous bound for one SSH operation on loopback.
const T: Duration = Duration::from_secs(30);

/// Whether `credential` logs in to `sshd` as `user` (host key pinned) and
/// runs `true`; false when the server refuses the credential.
pub fn logs_in(sshd: &Sshd, user: &str, credential: &Credential) -> bool {
    let policy = HostKeyPolicy {
        known_hosts: None,
        accept_new: false,
        pinned: Some(PinnedHostKey::parse(&sshd.host_key).expect("pin the host key")),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome: Result<(), SshError> = runtime.block_on(async {
        let session =
            SshClient::connect(sshd.addr, "127.0.0.1", user, credential, &policy, T).await?;
        let out = session.exec("true", &[], T).await?;
        session.close(T).await;
        assert_eq!(out.exit_status, Some(0));
        Ok(())
    });
    match outcome {
        Ok(()) => true,
        Err(SshError::AuthFailed(_)) => false,
        Err(e) => panic!("unexpected SSH failure: {e:?}\nsshd log:\n{}", sshd.log()),
    }
}

/// Whether `password` logs in to `sshd` as `user`.
pub fn can_login(sshd: &Sshd, user: &str, password: &str) -> bool {
    logs_in(
        sshd,
        user,
        &Credential::Password(password.to_string().into()),
    )
}

/// A policy that trusts exactly this server's key via known_hosts.
pub fn trusting(sshd: &Sshd) -> HostKeyPolicy {
    let path = sshd.dir().join("trusted_known_hosts");
    std::fs::write(
        &path,
        format!("[127.0.0.1]:{} {}\n", sshd.addr.port(), sshd.host_key),
    )
    .expect("write known_hosts");
    HostKeyPolicy {
        known_hosts: Some(path),
        ..HostKeyPolicy::default()
    }
}

/// A running private sshd.
pub struct Sshd {
    dir: tempfile::TempDir,
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its host public key, `ssh-ed25519 AAAA...` (no comment).
    pub host_key: String,
}

impl Sshd {
    /// Starts a private sshd, or `None` (after a loud message) when OpenSSH
    /// server is not installed. Under `scripts/test` (which installs it and
    /// sets `KEEPER_REQUIRE_SSHD=1`) a missing sshd fails the test instead.
    pub fn start() -> Option<Self> {
        if !Path::new(SSHD).exists() {
            assert!(
                std::env::var_os("KEEPER_REQUIRE_SSHD").is_none(),
                "{SSHD} is not installed, and KEEPER_REQUIRE_SSHD is set"
            );
            eprintln!(
                "\n*** SKIPPING SSH TEST: {SSHD} is not installed \
                 (apt-get install openssh-server, or scripts/lib.sh ensure_sshd) ***\n"
            );
            return None;
        }
        // sshd refuses to start without its privilege-separation directory.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("host_ed25519");
        keygen(&key, "ed25519", "", &[]);
        let host_key = public_key(&key);
        // A port picked from the kernel can be taken again before sshd
        // binds it: retry with another.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\n\
                     ListenAddress 127.0.0.1\n\
                     HostKey {key}\n\
                     PidFile {pid}\n\
                     UsePAM no\n\
                     PasswordAuthentication yes\n\
                     KbdInteractiveAuthentication no\n\
                     PubkeyAuthentication yes\n\
                     PermitRootLogin no\n\
                     StrictModes no\n\
                     MaxStartups 50\n\
                     LogLevel VERBOSE\n",
                    key = key.display(),
                    pid = dir.path().join("sshd.pid").display(),
                ),
            )
            .expect("write sshd_config");
            let log_path = dir.path().join(format!("sshd-{port}.log"));
            let log = std::fs::File::create(&log_path).expect("create sshd log");
            let mut child = Command::new(SSHD)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn sshd");
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let started = Instant::now();
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(addr).is_ok() {
                    return Some(Self {
                        dir,
                        child,
                        addr,
                        host_key,
                    });
                }
                if started.elapsed() > Duration::from_secs(20) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("sshd did not start; last log:\n{last_log}");
    }

    /// The temp dir of this server (free for the test's own files too).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What sshd logged so far (for failure messages).
    pub fn log(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().ends_with(".log") {
                    out.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throw-away local account.
pub struct Account {
    /// Its login name.
    pub name: String,
    /// Its password.
    pub password: String,
    /// Its home directory.
    pub home: PathBuf,
}

impl Account {
    /// Creates `kp_<random>` with a random password.
    pub fn create() -> Self {
        let name = format!("kp_{}", unique());
        let password = format!("Pw-{}-x9!", unique());
        {
            let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
            run_retrying(Command::new("useradd").args(["-m", "-s", "/bin/sh", &name]));
        }
        let account = Self {
            home: PathBuf::from(format!("/home/{name}")),
            name,
            password,
        };
        account.set_password(&account.password.clone());
        account
    }

    /// Sets the account's password (as root, with `chpasswd`).
    pub fn set_password(&self, password: &str) {
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        for attempt in 0.. {
            let mut child = Command::new("chpasswd")
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn chpasswd");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(format!("{}:{password}\n", self.name).as_bytes())
                .expect("write chpasswd");
            let out = child.wait_with_output().expect("wait chpasswd");
            if out.status.success() {
                return;
            }
            assert!(
                attempt < 20,
                "chpasswd failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Adds `public_key` (an OpenSSH line) to `~/.ssh/authorized_keys`.
    pub fn authorize(&self, public_key: &str) {
        let ssh = self.home.join(".ssh");
        std::fs::create_dir_all(&ssh).expect("mkdir .ssh");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(ssh.join("authorized_keys"))
            .expect("open authorized_keys");
        writeln!(file, "{}", public_key.trim()).expect("write authorized_keys");
        let owner = format!("{0}:{0}", self.name);
        run(Command::new("chown").args(["-R", &owner]).arg(&ssh));
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        // -f: even if a test left a process of the account running.
        for _ in 0..20 {
            let ok = Command::new("userdel")
                .args(["-r", "-f", &self.name])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success() || s.code() == Some(6) || s.code() == Some(12));
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("warning: could not delete test account {}", self.name);
    }
}

/// Generates a key pair at `path` (`path.pub` for the public half).
pub fn keygen(path: &Path, kind: &str, passphrase: &str, extra: &[&str]) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", "keeper-test"])
        .args(extra)
        .arg("-f")
        .arg(path));
}

/// The public key of the pair at `path`, `type base64` without comment.
pub fn public_key(path: &Path) -> String {
    let text = std::fs::read_to_string(format!("{}.pub", path.display())).expect("read public key");
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// A string unique within this machine for a while.
fn unique() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:x}{:x}{:x}",
        std::process::id() & 0xffff,
        nanos & 0xfffff,
        n
    )
}

#[track_caller]
fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a command that may fail while another process holds the passwd lock.
#[track_caller]
fn run_retrying(cmd: &mut Command) {
    for attempt in 0.. {
        let out = cmd.output().expect("run command");
        if out.status.success() {
            return;
        }
        assert!(
            attempt < 20,
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
