//! Example: log in and rotate your own password.
//!
//! ```text
//! cargo run -p keeper-postgres-protocol --example rotate -- 127.0.0.1:5432 app old-pw new-pw
//! ```

use keeper_postgres_protocol::{Conn, ConnectOptions, PgError, change_password};

fn main() -> Result<(), PgError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, user, old, new] = args.as_slice() else {
        eprintln!("usage: rotate <host:port> <role> <old-password> <new-password>");
        std::process::exit(2);
    };
    let options = ConnectOptions::new(user.as_str(), old.as_str()).database("postgres");
    let mut conn = Conn::connect_tcp(addr.as_str(), &options)?;
    println!(
        "connected to PostgreSQL {:?} as {user} ({:?})",
        conn.parameter("server_version"),
        conn.auth_method()
    );
    change_password(&mut conn, user, new, None)?;
    conn.close()?;
    // Prove it: log in again with the new password.
    let options = ConnectOptions::new(user.as_str(), new.as_str()).database("postgres");
    Conn::connect_tcp(addr.as_str(), &options)?.close()?;
    println!("password rotated");
    Ok(())
}
