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
//! # Example
//!
//! ```
//! use std::net::IpAddr;
//!
//! use vip_core::election::Version;
//! use vip_core::{Interval, Priority};
//! use vip_vrrp::wire::{
//!     AddressFamily, AddressList, Auth, Packet, Repr, RxContext, TxContext, VridSet, WireError,
//! };
//!
//! let src: IpAddr = "198.51.100.11".parse()?;
//! let dst: IpAddr = "224.0.0.18".parse()?;
//! let repr = Repr {
//!     version: Version::V3,
//!     vrid: 51,
//!     priority: Priority::new(150),
//!     max_advert_interval: Interval::from_centis(100),
//!     addresses: AddressList::new(AddressFamily::Ipv4, &["198.51.100.100".parse()?])?,
//!     auth: Auth::None,
//! };
//! let mut buf = vec![0u8; repr.buffer_len()];
//! repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &TxContext::new(src, dst))?;
//!
//! // On receipt the IP layer supplies source, destination and TTL / hop limit.
//! let ctx = RxContext::new(Version::V3, VridSet::single(51)).packet(src, dst, 255);
//! assert_eq!(Repr::parse(&Packet::new_checked(&buf[..])?, &ctx)?, repr);
//!
//! // Every rejection is typed, with a stable label for metrics.
//! let routed = ctx.packet(src, dst, 64);
//! let err = Repr::parse(&Packet::new_checked(&buf[..])?, &routed).unwrap_err();
//! assert_eq!((err, err.as_str()), (WireError::BadTtl, "bad_ttl"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
