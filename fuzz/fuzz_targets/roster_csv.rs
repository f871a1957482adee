//! `cargo fuzz run roster_csv`: see `tobira::fuzz_targets::roster_csv`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tobira::fuzz_targets::roster_csv(data);
});
