//! Fuzzes the CSV importer: any bytes, read to the end, must yield items or
//! a clean error, never a panic.
#![no_main]

use keeper_plugin_csv::CsvImport;
use keeper_plugin_sdk::Options;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut import = CsvImport::new(data, &Options::default());
    while let Ok(Some(_batch)) = import.next_batch() {}
});
