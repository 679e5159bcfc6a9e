//! `keeper shell` driven through a pseudo-terminal: completion of a record
//! title, history recall, `\` continuation, `help CMD`, Ctrl-C and Ctrl-D.

use rexpect::session::PtySession;

use crate::automation::{keeper, kp, vault};
use crate::vault::PW;

/// Sends keys and gives the line editor a moment, as a person typing would
/// (rustyline reads a burst of typeahead after Tab differently).
fn keys(p: &mut PtySession, text: &str) {
    p.send(text).expect("send keys");
    p.flush().expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(300));
}

fn shell(k: &crate::support::Keeper) -> PtySession {
    let mut cmd = keeper(k, &["shell"]);
    // The pseudo-terminal is the shell's stdin (the fixture's default is /dev/null).
    cmd.env("KEEPER_PASSWORD", PW)
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::inherit());
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn keeper shell");
    p.exp_string("My Vault> ").expect("prompt");
    p
}

#[test]
fn completion_history_continuation_and_keys() {
    let k = vault();
    kp(&k, &["add", "-t", "Secret Record", "login=me"]).ok();
    kp(&k, &["mkdir", "Team Folder"]).ok();
    let mut p = shell(&k);
    // "Sec" + Tab completes the title (quoted); "Sec" alone names no record.
    keys(&mut p, "get Sec");
    keys(&mut p, "\t");
    keys(&mut p, "--format json\r");
    p.exp_string("\"title\": \"Secret Record\"")
        .expect("completed title");
    p.exp_string("My Vault> ").expect("prompt");
    // Up arrow recalls it.
    keys(&mut p, "\x1b[A");
    keys(&mut p, "\r");
    p.exp_string("\"title\": \"Secret Record\"")
        .expect("recalled from history");
    p.exp_string("My Vault> ").expect("prompt");
    // Commands and flags complete too.
    keys(&mut p, "this-dev");
    keys(&mut p, "\t");
    keys(&mut p, "--form");
    keys(&mut p, "\t");
    keys(&mut p, "json\r");
    p.exp_string("\"device_name\"")
        .expect("completed command and flag");
    p.exp_string("My Vault> ").expect("prompt");
    // A line ending in \ continues on the next.
    keys(&mut p, "ls \\\r");
    keys(&mut p, "--format json\r");
    p.exp_string("Team Folder").expect("continued line ran");
    p.exp_string("My Vault> ").expect("prompt");
    keys(&mut p, "help get\r");
    p.exp_string("Show a record").expect("help text");
    p.exp_string("My Vault> ").expect("prompt");
    // Ctrl-C abandons the line; a failing command does not end the shell.
    keys(&mut p, "rm --force \"Secret Record\"");
    p.send_control('c').expect("ctrl-c");
    p.exp_string("My Vault> ").expect("prompt after ctrl-c");
    keys(&mut p, "get Missing\r");
    p.exp_string("My Vault> ").expect("still running");
    // Ctrl-D quits.
    p.send_control('d').expect("ctrl-d");
    p.exp_eof().expect("shell ended");
    assert!(
        kp(&k, &["get", "Secret Record"])
            .ok()
            .contains("Secret Record")
    );
}
