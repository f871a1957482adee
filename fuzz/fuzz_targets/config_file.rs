//! `cargo fuzz run config_file`: see `tobira::fuzz_targets::config_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tobira::fuzz_targets::config_file(data);
});
