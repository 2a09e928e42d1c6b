//! See `ipc::fuzz::manager_requests`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipc::fuzz::manager_requests(data));
