//! See `ipc::fuzz::shareable_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipc::fuzz::shareable_list(data));
