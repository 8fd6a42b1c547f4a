//! The VRRP wire format: VRRPv2 (RFC 3768) and VRRPv3 (RFC 9568) over IPv4 and IPv6.
//!
//! Two layers, as in smoltcp's wire module:
//! - [`Packet`]: a view over a buffer (`T: AsRef<[u8]>`) with raw field getters and, for
//!   `T: AsMut<[u8]>`, setters. It checks lengths ([`Packet::new_checked`]) but nothing else.
//! - [`Repr`]: the validated, high-level content of an advertisement.
//!   [`Repr::parse`] applies the receive checks of RFC 9568 section 7.1 against an
//!   [`RxContext`] (what the IP layer and the configuration know), and [`Repr::emit`] writes a
//!   packet and its checksum for a [`TxContext`].
//!
//! Addresses live in an [`AddressList`], owned by the `Repr`: up to [`AddressList::INLINE`]
//! addresses inline (one 16-byte slot each), spilling to the heap only beyond that. Parsing a
//! typical advert therefore never allocates, and a `Repr` does not borrow the packet.
//!
//! # Checksums
//! - v2: over the VRRP message only.
//! - v3 over IPv6: with the IPv6 pseudo-header.
//! - v3 over IPv4: [`ChecksumMode::PseudoHeader`] (keepalived 2.2.7's form, the default) or
//!   [`ChecksumMode::MessageOnly`] (RFC 9568 section 5.2.8) when sending; both are accepted
//!   when receiving.

mod addresses;
mod advert;
mod auth;
mod checksum;
mod context;
mod error;
mod packet;
mod repr;
mod vrid;

pub use addresses::{AddressFamily, AddressList, Addresses};
pub use auth::Auth;
pub use context::{ChecksumMode, RxContext, TxContext};
pub use error::WireError;
pub use packet::{Packet, field};
pub use repr::{Repr, VRRP_PROTOCOL, VRRP_TTL, VRRP_TYPE_ADVERTISEMENT};
pub use vrid::VridSet;
