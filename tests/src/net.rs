//! Loopback network peers for the tests and benchmarks: an HTTP forward
//! proxy, a SOCKS5 proxy and a keep-alive origin server, each started on
//! 127.0.0.1 and recording what it saw.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a peer saw, one line per request or tunnel.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// Reads a request head (request line and header lines) from `reader`.
fn read_head(reader: &mut impl BufRead) -> Option<Vec<String>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            return Some(head);
        }
        head.push(line);
    }
}

/// Copies bytes both ways between `a` and `b` until either side closes.
fn pipe(a: TcpStream, b: TcpStream) {
    let (mut a2, mut b2) = (
        a.try_clone().expect("clone stream"),
        b.try_clone().expect("clone stream"),
    );
    let (mut a, mut b) = (a, b);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a2, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a);
    let _ = a.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

/// An HTTP forward proxy: absolute-form requests are passed on in origin
/// form, `CONNECT` opens a tunnel. Returns its URL and the request lines
/// it saw.
pub fn http_proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Seen::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().expect("clone"));
                let Some(head) = read_head(&mut reader) else {
                    return;
                };
                log.lock().expect("log").push(head[0].clone());
                let mut parts = head[0].split_whitespace();
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let mut client = client;
                if method == "CONNECT" {
                    let Ok(upstream) = TcpStream::connect(target) else {
                        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                        return;
                    };
                    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                    pipe(client, upstream);
                    return;
                }
                let rest = target.strip_prefix("http://").unwrap_or(target);
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let Ok(mut upstream) = TcpStream::connect(authority) else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                    return;
                };
                let mut out = format!(
                    "{method} {} HTTP/1.1\r\n",
                    if path.is_empty() { "/" } else { path }
                );
                for line in &head[1..] {
                    if !line.to_ascii_lowercase().starts_with("proxy-") {
                        out.push_str(line);
                        out.push_str("\r\n");
                    }
                }
                out.push_str("\r\n");
                let buffered = reader.buffer().to_vec();
                if upstream.write_all(out.as_bytes()).is_err()
                    || upstream.write_all(&buffered).is_err()
                {
                    return;
                }
                pipe(client, upstream);
            });
        }
    });
    (url, seen)
}

/// A SOCKS5 proxy without authentication; records `CONNECT host:port`.
pub fn socks5_proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("socks5h://{}", listener.local_addr().expect("addr"));
    let seen = Seen::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut client in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut greeting = [0u8; 2];
                if client.read_exact(&mut greeting).is_err() || greeting[0] != 5 {
                    return;
                }
                let mut methods = vec![0u8; usize::from(greeting[1])];
                let _ = client.read_exact(&mut methods);
                let _ = client.write_all(&[5, 0]);
                let mut req = [0u8; 4];
                if client.read_exact(&mut req).is_err() || req[1] != 1 {
                    return;
                }
                let host = match req[3] {
                    1 => {
                        let mut ip = [0u8; 4];
                        let _ = client.read_exact(&mut ip);
                        std::net::Ipv4Addr::from(ip).to_string()
                    }
                    3 => {
                        let mut len = [0u8; 1];
                        let _ = client.read_exact(&mut len);
                        let mut name = vec![0u8; usize::from(len[0])];
                        let _ = client.read_exact(&mut name);
                        String::from_utf8_lossy(&name).into_owned()
                    }
                    _ => return,
                };
                let mut port = [0u8; 2];
                let _ = client.read_exact(&mut port);
                let target = format!("{host}:{}", u16::from_be_bytes(port));
                log.lock().expect("log").push(format!("CONNECT {target}"));
                let Ok(upstream) = TcpStream::connect(&target) else {
                    let _ = client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
                    return;
                };
                let _ = client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
                pipe(client, upstream);
            });
        }
    });
    (url, seen)
}

/// An origin server that keeps connections open and answers every request
/// with `pong`; returns its address, the connections it accepted and the
/// request lines it saw.
pub fn origin_server() -> (SocketAddr, Arc<AtomicUsize>, Seen) {
    origin_server_with_delay(Duration::ZERO)
}

/// As [`origin_server`], waiting `delay` before each answer (a stand-in
/// for a remote service's latency).
pub fn origin_server_with_delay(delay: Duration) -> (SocketAddr, Arc<AtomicUsize>, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = Seen::default();
    let (count, log) = (connections.clone(), seen.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut stream = stream;
                while let Some(head) = read_head(&mut reader) {
                    let length = head
                        .iter()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    log.lock().expect("log").push(head[0].clone());
                    if !delay.is_zero() {
                        std::thread::sleep(delay);
                    }
                    if stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, connections, seen)
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
