//! Fuzzes the LastPass CSV export reader and note parser. The input is
//! prefixed with a valid header half of the time so rows get mapped.
#![no_main]

use keeper_plugin_lastpass::LastPassImport;
use keeper_plugin_sdk::Options;
use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] = b"url,username,password,totp,extra,name,grouping,fav\n";

fuzz_target!(|data: &[u8]| {
    let input: Vec<u8> = match data.split_first() {
        Some((flag, rest)) if flag % 2 == 0 => [HEADER, rest].concat(),
        _ => data.to_vec(),
    };
    let mut import = LastPassImport::csv(input.as_slice(), &Options::default());
    while let Ok(Some(_batch)) = import.next_batch() {}
});
