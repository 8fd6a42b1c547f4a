//! The [`AdvertSource`] trait: how an instance task reads received VRRP adverts itself.

use std::task::{Context, Poll};

use crate::Error;
use crate::election::Advert;

/// Received, validated adverts for one instance, polled by the instance task itself
/// ([`super::InstanceSpec::advert_source`]).
///
/// The alternative is a receive task that passes each advert through
/// [`super::InstanceHandle::advert`]: that costs a second task wake-up and a channel hop per
/// advert, which is most of a backup's idle CPU at 10 cs. With a source, a backup wakes once per
/// advert, reads it, feeds the machine and re-arms its timer in the same poll.
///
/// The transport (vip-vrrp) implements it over its socket. An implementation must not block:
/// it reads what is ready and otherwise registers `cx`'s waker and returns `Pending`. It drops
/// and counts what is not a valid advert for this instance (those never reach the runtime), and
/// it must be cancel-safe: the instance task polls it between its other inputs.
pub trait AdvertSource: Send + Sync {
    /// The next valid advert. `Ready(Err(_))` means the source is broken for good (for example
    /// its socket was closed): the instance then releases its VIPs and stops, and its
    /// supervisor decides whether to build a new one.
    fn poll_advert(&self, cx: &mut Context<'_>) -> Poll<Result<Advert, Error>>;
}
