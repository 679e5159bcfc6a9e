//! TCP for plugins: only to the pinned target of the record being processed.
//!
//! The host resolves the record's `host:port` once and pins the address; the
//! plugin gets it in `target.address` and name lookup stays off, so a plugin
//! can neither reach another address nor exfiltrate data through DNS.
//! wasi-libc binds `0.0.0.0:0` (or `[::]:0`) before every connect, so that
//! one bind is allowed; listening, accepting and UDP are not.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use wasmtime_wasi::sockets::SocketAddrUse;

/// A record's network target, resolved and pinned by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedTarget {
    /// The host name as the record writes it.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The address the host resolved; the only one a plugin may reach.
    pub address: SocketAddr,
}

impl PinnedTarget {
    /// Resolves `host:port` once and pins the first address.
    ///
    /// # Errors
    ///
    /// When the name does not resolve.
    pub async fn resolve(host: &str, port: u16) -> std::io::Result<Self> {
        let mut addrs = tokio::net::lookup_host((host, port)).await?;
        let address = addrs.next().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{host} resolves to no address"),
            )
        })?;
        Ok(Self {
            host: host.to_string(),
            port,
            address,
        })
    }
}

/// One attempt the policy refused, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The address the plugin tried.
    pub address: SocketAddr,
    /// What it tried to do with it.
    pub action: &'static str,
}

/// The TCP policy of one call.
#[derive(Debug, Clone, Default)]
pub struct TcpPolicy {
    allowed: Option<SocketAddr>,
    denials: Arc<Mutex<Vec<Denial>>>,
}

impl TcpPolicy {
    /// Allows connecting to `target` only (nothing when `None`).
    pub fn new(target: Option<SocketAddr>) -> Self {
        Self {
            allowed: target,
            denials: Arc::default(),
        }
    }

    /// Whether TCP should be enabled at all for this call.
    pub fn enabled(&self) -> bool {
        self.allowed.is_some()
    }

    /// Decides one socket use, recording refusals.
    pub fn check(&self, addr: SocketAddr, usage: SocketAddrUse) -> bool {
        let (allowed, action) = match usage {
            SocketAddrUse::TcpBind => (addr.ip().is_unspecified() && addr.port() == 0, "bind"),
            SocketAddrUse::TcpConnect => (Some(addr) == self.allowed, "connect"),
            SocketAddrUse::TcpListen => (false, "listen"),
            SocketAddrUse::TcpAccept => (false, "accept"),
            _ => (false, "udp"),
        };
        if !allowed {
            tracing::warn!(target: "keeper::sandbox", "denied plugin TCP {action} to {addr}");
            if let Ok(mut denials) = self.denials.lock() {
                denials.push(Denial {
                    address: addr,
                    action,
                });
            }
        }
        allowed
    }

    /// Starts a new call (a sandbox can serve several): forgets earlier
    /// refusals, so that a call's error names only its own.
    pub fn new_call(&self) {
        if let Ok(mut denials) = self.denials.lock() {
            denials.clear();
        }
    }

    /// The attempts refused so far in this call.
    pub fn denials(&self) -> Vec<Denial> {
        self.denials.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// Installs this policy on a WASI context builder.
    pub fn install(&self, builder: &mut wasmtime_wasi::WasiCtxBuilder) {
        builder
            .allow_ip_name_lookup(false)
            .allow_udp(false)
            .allow_tcp(self.enabled());
        let policy = self.clone();
        builder.socket_addr_check(move |addr, usage| {
            let allowed = policy.check(addr, usage);
            Box::pin(async move { allowed })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    #[test]
    fn only_the_pinned_target_is_reachable() {
        let policy = TcpPolicy::new(Some(addr("127.0.0.1:3306")));
        assert!(policy.check(addr("127.0.0.1:3306"), SocketAddrUse::TcpConnect));
        assert!(
            !policy.check(addr("127.0.0.1:3307"), SocketAddrUse::TcpConnect),
            "other port"
        );
        assert!(
            !policy.check(addr("127.0.0.2:3306"), SocketAddrUse::TcpConnect),
            "other address"
        );
        assert!(
            !policy.check(addr("[::ffff:127.0.0.1]:3306"), SocketAddrUse::TcpConnect),
            "mapped v6 form"
        );
        assert!(
            policy.check(addr("0.0.0.0:0"), SocketAddrUse::TcpBind),
            "wasi-libc's implicit bind"
        );
        assert!(policy.check(addr("[::]:0"), SocketAddrUse::TcpBind));
        assert!(
            !policy.check(addr("0.0.0.0:8080"), SocketAddrUse::TcpBind),
            "binding a port"
        );
        assert!(!policy.check(addr("127.0.0.1:0"), SocketAddrUse::TcpBind));
        assert!(!policy.check(addr("0.0.0.0:0"), SocketAddrUse::TcpListen));
        assert!(!policy.check(addr("127.0.0.1:3306"), SocketAddrUse::UdpBind));
        assert_eq!(policy.denials().len(), 7);
        policy.new_call();
        assert!(policy.denials().is_empty(), "a new call starts clean");
    }

    #[test]
    fn no_target_means_no_tcp() {
        let policy = TcpPolicy::new(None);
        assert!(!policy.enabled());
        assert!(!policy.check(addr("127.0.0.1:3306"), SocketAddrUse::TcpConnect));
    }
}
