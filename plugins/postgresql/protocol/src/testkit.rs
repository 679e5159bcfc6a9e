//! Test support (native builds only, never in the plugin): a private PostgreSQL
//! cluster with password authentication, for tests and benchmarks.
//!
//! The shared server on 127.0.0.1:5432 trusts every local login, so no
//! password is ever checked there. [`Cluster::start`] runs `initdb` into a
//! temp dir and starts its own `postgres` on a free loopback port, with
//! `log_statement = all` (tests read the log) and this `pg_hba.conf`:
//!
//! | database | role | method |
//! |---|---|---|
//! | all | the superuser [`Cluster::SUPERUSER`] | trust |
//! | `cleartext` | all | password (clear text) |
//! | all | all | md5 (which PostgreSQL upgrades to SCRAM-SHA-256 for roles whose stored password is a SCRAM verifier) |
//!
//! So a role created with `SET password_encryption = 'md5'` logs in with
//! md5, any other with SCRAM-SHA-256. As root the server runs as the
//! `postgres` user (it refuses root). It is stopped (fast shutdown) and its
//! directory removed on drop, and killed if the process that started it
//! dies (`setpriv --pdeathsig`).
//!
//! Binaries: `$KEEPER_PG_BINDIR`, else the newest
//! `/usr/lib/postgresql/<version>/bin`, else `PATH`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Conn, ConnectOptions};

/// A running private PostgreSQL server.
pub struct Cluster {
    child: Child,
    dir: tempfile::TempDir,
    /// Where it listens (127.0.0.1 and a free port).
    pub addr: SocketAddr,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("addr", &self.addr).finish()
    }
}

/// The directory holding `initdb` and `postgres`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KEEPER_PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.join("initdb").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// `program args` as the server's user (`postgres` when we are root),
/// killed with SIGTERM if the spawning thread dies first.
fn as_server_user(program: &Path, root: bool) -> Command {
    let mut cmd = Command::new("setpriv");
    if root {
        cmd.args(["--reuid=postgres", "--regid=postgres", "--clear-groups"]);
    }
    cmd.args(["--pdeathsig=TERM", "--"]).arg(program);
    cmd.env("LC_ALL", "C");
    cmd
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Cluster {
    /// The superuser, trusted from 127.0.0.1 without a password.
    pub const SUPERUSER: &'static str = "kpadmin";

    /// Creates and starts a private cluster.
    ///
    /// Fails with a readable message when PostgreSQL's server binaries are
    /// missing (Debian: `apt-get install postgresql`), `initdb` fails, or
    /// the server does not come up within 30 s.
    pub fn start() -> Result<Self, String> {
        let bin = bin_dir().ok_or(
            "PostgreSQL server binaries (initdb, postgres) not found: \
             apt-get install postgresql, or set KEEPER_PG_BINDIR",
        )?;
        let root = is_root();
        let dir = tempfile::Builder::new()
            .prefix("keeper-pg-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        if root {
            let chown = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !chown.success() {
                return Err("chown of the cluster directory to postgres failed".into());
            }
        }
        let data = dir.path().join("data");
        let initdb = as_server_user(&bin.join("initdb"), root)
            .arg("-D")
            .arg(&data)
            .args(["-U", Self::SUPERUSER, "-A", "trust", "-E", "UTF8"])
            .args(["--locale=C", "--no-sync", "--no-instructions"])
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&initdb.stdout),
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        std::fs::write(
            data.join("pg_hba.conf"),
            format!(
                "local all all trust\n\
                 host all {su} 127.0.0.1/32 trust\n\
                 host cleartext all 127.0.0.1/32 password\n\
                 host all all 127.0.0.1/32 md5\n",
                su = Self::SUPERUSER
            ),
        )
        .map_err(|e| format!("writing pg_hba.conf: {e}"))?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port().map_err(|e| format!("free port: {e}"))?;
            let log_path = dir.path().join(format!("postgres-{port}.log"));
            let log = std::fs::File::create(&log_path).map_err(|e| format!("log: {e}"))?;
            if root {
                let _ = Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&log_path)
                    .status();
            }
            let mut child = as_server_user(&bin.join("postgres"), root)
                .arg("-D")
                .arg(&data)
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(dir.path())
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args(["-c", "log_statement=all"])
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off", "-c", "shared_buffers=32MB"])
                .args(["-c", "max_connections=60"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| format!("starting postgres: {e}"))?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let started = Instant::now();
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(addr).is_ok() {
                    let cluster = Self { child, dir, addr };
                    // Listening is not ready: wait for a login to work.
                    while started.elapsed() < Duration::from_secs(30) {
                        if Conn::connect_tcp(
                            addr,
                            &ConnectOptions::new(Self::SUPERUSER, "").database("postgres"),
                        )
                        .is_ok()
                        {
                            return Ok(cluster);
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    return Err(format!(
                        "postgres never accepted a login:\n{}",
                        cluster.log()
                    ));
                }
                if started.elapsed() > Duration::from_secs(30) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            last = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        Err(format!("postgres did not start; last log:\n{last}"))
    }

    /// A superuser connection to database `postgres`.
    ///
    /// # Panics
    ///
    /// If the server refuses it (it is trusted, so only if it died).
    pub fn admin(&self) -> Conn<TcpStream> {
        Conn::connect_tcp(
            self.addr,
            &ConnectOptions::new(Self::SUPERUSER, "").database("postgres"),
        )
        .unwrap_or_else(|e| {
            panic!(
                "superuser login to the private cluster: {e}\n{}",
                self.log()
            )
        })
    }

    /// Everything the server logged so far (every statement: `log_statement = all`).
    pub fn log(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_name().to_string_lossy().ends_with(".log") {
                out.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Fast shutdown: disconnect clients, stop cleanly (no stale shared memory).
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
