//! Example: log in and rotate your own password.
//!
//! ```text
//! cargo run -p keeper-mysql-protocol --example rotate -- 127.0.0.1:3306 app old-pw new-pw
//! ```

use keeper_mysql_protocol::{Conn, ConnectOptions, MysqlError, change_password};

fn main() -> Result<(), MysqlError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, user, old, new] = args.as_slice() else {
        eprintln!("usage: rotate <host:port> <user> <old-password> <new-password>");
        std::process::exit(2);
    };
    let mut conn = Conn::connect_tcp(
        addr.as_str(),
        &ConnectOptions::new(user.as_str(), old.as_str()),
    )?;
    println!("connected to {} as {}", conn.server_version(), user);
    let who = conn.query("SELECT CURRENT_USER()")?;
    println!("CURRENT_USER() = {:?}", who.rows.first());
    change_password(&mut conn, user, None, new)?;
    conn.close()?;
    // Prove it: log in again with the new password.
    Conn::connect_tcp(
        addr.as_str(),
        &ConnectOptions::new(user.as_str(), new.as_str()),
    )?
    .close()?;
    println!("password rotated");
    Ok(())
}
