//! `keeper shell` driven through a pseudo-terminal: completion of a record
//! title, history recall, `\` continuation, `help CMD`, Ctrl-C and Ctrl-D.

use rexpect::session::PtySession;

use crate::automation::{keeper, kp, vault};
use crate::vault::PW;

fn shell(k: &crate::support::Keeper) -> PtySession {
    let mut cmd = keeper(k, &["shell"]);
    cmd.env("KEEPER_PASSWORD", PW).env("TERM", "xterm");
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
    p.send("get Sec").expect("type");
    p.send("\t").expect("tab");
    p.send("--format json\r").expect("enter");
    p.exp_string("\"title\": \"Secret Record\"")
        .expect("completed title");
    p.exp_string("My Vault> ").expect("prompt");
    // Up arrow recalls it.
    p.send("\x1b[A").expect("up");
    p.send("\r").expect("enter");
    p.exp_string("\"title\": \"Secret Record\"")
        .expect("recalled from history");
    p.exp_string("My Vault> ").expect("prompt");
    // Commands and flags complete too.
    p.send("this-dev").expect("type");
    p.send("\t").expect("tab");
    p.send("--form").expect("type");
    p.send("\t").expect("tab");
    p.send("json\r").expect("enter");
    p.exp_string("\"device_name\"")
        .expect("completed command and flag");
    p.exp_string("My Vault> ").expect("prompt");
    // A line ending in \ continues on the next.
    p.send("ls \\\r").expect("continue");
    p.send("--format json\r").expect("enter");
    p.exp_string("Team Folder").expect("continued line ran");
    p.exp_string("My Vault> ").expect("prompt");
    p.send("help get\r").expect("help");
    p.exp_string("Show a record").expect("help text");
    p.exp_string("My Vault> ").expect("prompt");
    // Ctrl-C abandons the line; a failing command does not end the shell.
    p.send("rm --force \"Secret Record\"").expect("type");
    p.send_control('c').expect("ctrl-c");
    p.exp_string("My Vault> ").expect("prompt after ctrl-c");
    p.send("get Missing\r").expect("enter");
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
