//! Test support (native builds only, never in the plugin): a private
//! OpenLDAP `slapd` on a free loopback port.
//!
//! [`Slapd::start`] writes a `slapd.conf` into a temp dir (schemas core,
//! cosine, inetorgperson; an mdb database for `dc=example,dc=com` with
//! [`Slapd::ADMIN_DN`] as its root DN) and runs `slapd -d 0` in the
//! foreground, killed on drop. Access rules: a user may write its own
//! `userPassword`, anyone may bind with it, nobody else may read it.
//!
//! Entries are added and checked with OpenLDAP's own command-line tools
//! (`ldapadd`, `ldapwhoami`, `ldapsearch` from `ldap-utils`), never with
//! this crate, so the tests do not check the plugin's client with itself.
//!
//! Binaries: `$KEEPER_SLAPD`, else `/usr/sbin/slapd`; the tools from `PATH`.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running private `slapd`.
pub struct Slapd {
    child: Child,
    dir: tempfile::TempDir,
    /// Where it listens (127.0.0.1 and a free port).
    pub addr: SocketAddr,
}

impl std::fmt::Debug for Slapd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slapd").field("addr", &self.addr).finish()
    }
}

impl Slapd {
    /// The directory suffix.
    pub const SUFFIX: &'static str = "dc=example,dc=com";
    /// The root DN (every right, password [`Slapd::ADMIN_PASSWORD`]).
    pub const ADMIN_DN: &'static str = "cn=admin,dc=example,dc=com";
    /// The root DN's password.
    pub const ADMIN_PASSWORD: &'static str = "testkit-admin-pw";

    /// Starts a private server with an empty `dc=example,dc=com`.
    ///
    /// Fails with a message naming the problem when `slapd` is missing
    /// (scripts/lib.sh installs it) or does not come up within 20 s.
    pub fn start() -> Result<Self, String> {
        let slapd = std::env::var_os("KEEPER_SLAPD")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/sbin/slapd"));
        if !slapd.is_file() {
            return Err(format!(
                "{} not found: install the Debian packages slapd and ldap-utils",
                slapd.display()
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(|e| format!("data dir: {e}"))?;
        let conf = dir.path().join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 pidfile {pid}\n\
                 database mdb\n\
                 maxsize 16777216\n\
                 suffix \"{suffix}\"\n\
                 rootdn \"{admin}\"\n\
                 rootpw {admin_pw}\n\
                 directory {data}\n\
                 access to attrs=userPassword\n  by self write\n  by anonymous auth\n  by * none\n\
                 access to * by * read\n",
                pid = dir.path().join("slapd.pid").display(),
                suffix = Self::SUFFIX,
                admin = Self::ADMIN_DN,
                admin_pw = Self::ADMIN_PASSWORD,
                data = data.display(),
            ),
        )
        .map_err(|e| format!("slapd.conf: {e}"))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("a free port: {e}"))?
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(&slapd)
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(format!("ldap://{addr}/"))
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("slapd.log"))
                    .map_err(|e| format!("slapd.log: {e}"))?,
            ))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", slapd.display()))?;
        let mut server = Self { child, dir, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("slapd exited ({status}): {}", server.log()));
            }
            if Instant::now() > deadline {
                return Err(format!("slapd did not listen on {addr}: {}", server.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        server.ldapadd(&format!(
            "dn: {}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n",
            Self::SUFFIX
        ))?;
        Ok(server)
    }

    /// `ldap://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }

    /// What slapd wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// Adds a person `cn=<cn>,dc=example,dc=com` whose `userPassword` is
    /// `password` (stored as given) and returns its DN. `cn` is escaped
    /// as RFC 4514 asks, so any text works.
    pub fn add_person(&self, cn: &str, password: &str) -> Result<String, String> {
        let dn = format!("cn={},{}", escape_dn_value(cn), Self::SUFFIX);
        self.ldapadd(&format!(
            "dn:: {}\nobjectClass: inetOrgPerson\ncn:: {}\nsn: Test\nuserPassword:: {}\n",
            b64(dn.as_bytes()),
            b64(cn.as_bytes()),
            b64(password.as_bytes())
        ))?;
        Ok(dn)
    }

    /// Whether `password` binds as `dn` (`ldapwhoami`, a fresh connection).
    ///
    /// # Panics
    ///
    /// When `ldapwhoami` fails for another reason than the credentials.
    pub fn can_bind(&self, dn: &str, password: &str) -> bool {
        let out = self.tool("ldapwhoami", &["-D", dn, "-y"], Some(password));
        if out.status.success() {
            return true;
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("(49)"), "ldapwhoami failed: {err}");
        false
    }

    /// The entry's stored `userPassword` values as the server holds them
    /// (read as the root DN; hashed or not), LDIF-encoded.
    pub fn stored_password(&self, dn: &str) -> String {
        let out = self.tool(
            "ldapsearch",
            &[
                "-LLL",
                "-D",
                Self::ADMIN_DN,
                "-y",
                "-b",
                dn,
                "-s",
                "base",
                "userPassword",
            ],
            Some(Self::ADMIN_PASSWORD),
        );
        assert!(
            out.status.success(),
            "ldapsearch: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("userPassword"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn ldapadd(&self, ldif: &str) -> Result<(), String> {
        let path = self.dir.path().join("add.ldif");
        std::fs::write(&path, ldif).map_err(|e| format!("ldif: {e}"))?;
        let file = path.to_string_lossy().into_owned();
        let out = self.tool(
            "ldapadd",
            &["-D", Self::ADMIN_DN, "-y", "-f", &file],
            Some(Self::ADMIN_PASSWORD),
        );
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "ldapadd: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Runs an OpenLDAP tool against this server; `-y` (password file)
    /// gets a file holding `password`, so no password is in an argument.
    fn tool(&self, name: &str, args: &[&str], password: Option<&str>) -> Output {
        let pw_file = self.dir.path().join(format!("pw-{}", std::process::id()));
        let pw_path = pw_file.to_string_lossy().into_owned();
        if let Some(password) = password {
            let mut f = std::fs::File::create(&pw_file).expect("password file");
            f.write_all(password.as_bytes())
                .expect("write password file");
        }
        let args: Vec<&str> = args
            .iter()
            .flat_map(|a| {
                if *a == "-y" {
                    vec!["-y", pw_path.as_str()]
                } else {
                    vec![*a]
                }
            })
            .collect();
        let out = Command::new(name)
            .args(["-x", "-H", &self.url()])
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {name} (Debian package ldap-utils): {e}"));
        let _ = std::fs::remove_file(&pw_file);
        out
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Escapes an attribute value for a DN (RFC 4514 §2.4).
pub fn escape_dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i == last && c == ' ');
        if matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=') || edge {
            out.push('\\');
            out.push(c);
        } else if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

/// Standard base64 (for LDIF `::` values).
fn b64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64(input.as_bytes()), want);
        }
    }

    #[test]
    fn dn_values_escape_specials_and_edges() {
        assert_eq!(escape_dn_value("a,b"), "a\\,b");
        assert_eq!(escape_dn_value(" #x "), "\\ #x\\ ");
        assert_eq!(escape_dn_value("#x"), "\\#x");
        assert_eq!(escape_dn_value("q\"\\;+<>="), "q\\\"\\\\\\;\\+\\<\\>\\=");
    }
}
