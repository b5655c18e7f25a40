//! Fuzzes the pdf cleaner: any input must give a working copy or an error, never a panic, a
//! hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use witness_drop::review::clean::{clean_bytes, Kind};

fuzz_target!(|data: &[u8]| {
    let _ = clean_bytes(Kind::Pdf, data);
});
