//! Fuzzes the LastPass blob parser and field decryption with a fixed key:
//! framing, items, ciphers, shared folders and notes must never panic.
#![no_main]

use keeper_plugin_lastpass::LastPassImport;
use libfuzzer_sys::fuzz_target;

/// The fixed vault key (what `testkit` seeds use in the corpus).
const KEY: [u8; 32] = [3; 32];

fuzz_target!(|data: &[u8]| {
    let Ok(mut import) = LastPassImport::<&[u8]>::from_blob(data.to_vec(), KEY, None, "login")
    else {
        return;
    };
    while let Ok(Some(_batch)) = import.next_batch() {}
});
