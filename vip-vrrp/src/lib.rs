//! vip-vrrp: the VRRP v2/v3 wire codec and validation, and the raw-socket transport.
//!
//! - [`wire`]: a zero-copy [`wire::Packet`] view over a VRRP message and a validated
//!   [`wire::Repr`] (modelled on smoltcp's wire module). Parsing validates per RFC 9568 section
//!   7.1 (and RFC 3768 section 7.1 for v2) and returns a distinct [`wire::WireError`] per
//!   rejection, so that drops can be counted. Parsing never panics and, for up to
//!   [`wire::AddressList::INLINE`] addresses, never allocates.
//! - [`socket`]: the raw IP protocol 112 transport (IPv4/IPv6, multicast/unicast) built on it.
//!
//! # Fuzzing
//!
//! The crate ships a cargo-fuzz target in `vip-vrrp/fuzz` (not a workspace member). It feeds
//! arbitrary bytes through `Packet::new_checked` and `Repr::parse` with contexts derived from the
//! input, and re-emits whatever parses. Run it with a nightly toolchain:
//!
//! ```text
//! cargo install cargo-fuzz
//! cd vip-vrrp/fuzz && cargo +nightly fuzz run parse -- -max_total_time=60
//! ```
//!
//! The same body (`tests/support/fuzz_body.rs`) runs on stable in the
//! `arbitrary_bytes_never_panic` and `mutated_valid_packets_never_panic` properties of
//! `tests/wire_props.rs`. See `vip-vrrp/fuzz/README.md`.

pub mod socket;
pub mod wire;
