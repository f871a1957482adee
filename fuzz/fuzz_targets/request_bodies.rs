//! `cargo fuzz run request_bodies`: see `tobira::fuzz_targets::request_bodies`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tobira::fuzz_targets::request_bodies(data);
});
