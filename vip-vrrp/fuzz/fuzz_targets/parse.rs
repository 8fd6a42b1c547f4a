//! Fuzz target: arbitrary bytes through `Packet::new_checked` / `Repr::parse` under a receive
//! context chosen by the first input bytes; whatever parses must re-emit and re-parse to the
//! same `Repr`. The body is shared with the `wire_props` property tests (stable toolchain).
#![no_main]

#[path = "../../tests/support/fuzz_body.rs"]
mod fuzz_body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_body::run(data);
});
