//! See `ipc::fuzz::handshake`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipc::fuzz::handshake(data));
