//! The instance task's deadline timer: tokio's timer wheel, or a Linux timerfd.
//!
//! # Why a timerfd
//!
//! A lone master wakes once per advert interval, so what a wake-up costs is most of its idle
//! CPU. tokio's wheel costs more than one wake-up per deadline:
//!
//! - a deadline in another 64 ms block than now sits in a coarser level of the wheel, and the
//!   driver wakes at that block's start to move it down, then again at the deadline (a 10 cs
//!   advert interval always crosses a block: two wake-ups per advert);
//! - re-arming a timer that has fired wakes the driver through its eventfd (a write and an
//!   extra `epoll_wait`), because the driver cannot know it is not parked on another thread.
//!
//! A timerfd registered with the I/O driver wakes the task exactly at its deadline, like
//! keepalived's timerfd. It follows the real monotonic clock, so it is not for tests with
//! paused tokio time; [`super::Runtime::kernel_timers`] opts in, and the instance falls back
//! to tokio's timer if the timerfd cannot be made.

use std::pin::Pin;

use tokio::time::{Instant, Sleep};

/// A one-shot timer that can be moved. `wait` is cancel-safe.
pub(crate) enum DeadlineTimer {
    /// tokio's timer wheel (follows paused time).
    Tokio(Pin<Box<Sleep>>),
    /// A timerfd on the I/O driver (real time only).
    #[cfg(target_os = "linux")]
    Kernel(kernel::KernelTimer),
}

impl DeadlineTimer {
    /// A timer, not armed yet: a timerfd when `kernel` is asked for and can be made, else
    /// tokio's.
    pub(crate) fn new(kernel: bool) -> DeadlineTimer {
        #[cfg(target_os = "linux")]
        if kernel {
            match kernel::KernelTimer::new() {
                Ok(timer) => return DeadlineTimer::Kernel(timer),
                Err(e) => {
                    tracing::warn!(error = %e, "no timerfd; using tokio's timer");
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = kernel;
        DeadlineTimer::Tokio(Box::pin(tokio::time::sleep_until(Instant::now())))
    }

    /// Arms the timer for `at` (replacing any earlier arming).
    pub(crate) fn reset(&mut self, at: Instant) {
        match self {
            DeadlineTimer::Tokio(sleep) => sleep.as_mut().reset(at),
            #[cfg(target_os = "linux")]
            DeadlineTimer::Kernel(timer) => {
                if let Err(e) = timer.arm(at) {
                    // Keep the deadline on tokio's timer rather than miss it.
                    tracing::warn!(error = %e, "arming the timerfd failed; using tokio's timer");
                    *self = DeadlineTimer::Tokio(Box::pin(tokio::time::sleep_until(at)));
                }
            }
        }
    }

    /// Waits until the armed deadline has passed. Call it only when armed.
    pub(crate) async fn wait(&mut self) {
        match self {
            DeadlineTimer::Tokio(sleep) => sleep.as_mut().await,
            #[cfg(target_os = "linux")]
            DeadlineTimer::Kernel(timer) => {
                if let Err(e) = timer.expired().await {
                    // Only a broken descriptor gets here: wake now (the caller re-arms, and the
                    // machine ignores a timer input before its deadline).
                    tracing::warn!(error = %e, "waiting on the timerfd failed");
                }
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod kernel {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, RawFd};
    use std::task::{Context, Poll, ready};
    use std::time::Duration;

    use nix::errno::Errno;
    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;
    use tokio::time::Instant;

    /// A non-blocking `CLOCK_MONOTONIC` timerfd (the clock of `std::time::Instant`).
    struct Fd(TimerFd);

    impl AsRawFd for Fd {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_fd().as_raw_fd()
        }
    }

    pub(crate) struct KernelTimer(AsyncFd<Fd>);

    impl KernelTimer {
        pub(super) fn new() -> io::Result<KernelTimer> {
            let fd = TimerFd::new(
                ClockId::CLOCK_MONOTONIC,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )?;
            // `with_interest` is deprecated because an arbitrary `AsRawFd` may close or swap its
            // descriptor while registered; `Fd` owns its timerfd (a private `OwnedFd`) until
            // the AsyncFd drops it, so the registration stays right. (The unsafe
            // `register_with_interest` says the same, and this crate denies unsafe code.)
            #[allow(deprecated)]
            let registered = AsyncFd::with_interest(Fd(fd), Interest::READABLE)?;
            Ok(KernelTimer(registered))
        }

        /// Arms it to expire at `at` (relative to now: never before `at`).
        pub(super) fn arm(&self, at: Instant) -> io::Result<()> {
            // A zero value would disarm it: an instant already past expires in 1 ns.
            let after = at
                .saturating_duration_since(Instant::now())
                .max(Duration::from_nanos(1));
            self.0.get_ref().0.set(
                Expiration::OneShot(TimeSpec::from_duration(after)),
                TimerSetTimeFlags::empty(),
            )?;
            Ok(())
        }

        /// Waits for the expiry (reading it, so that the next arming starts clean).
        pub(super) async fn expired(&self) -> io::Result<()> {
            std::future::poll_fn(|cx| self.poll_expired(cx)).await
        }

        /// Polls for the expiry through the descriptor's one read-readiness slot (the
        /// instance task is its only reader): unlike a `readable()` future, nothing is linked
        /// into and out of the driver's waiter list on every turn of the task's loop.
        fn poll_expired(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            loop {
                let mut ready = ready!(self.0.poll_read_ready(cx))?;
                match ready.try_io(|fd| match fd.get_ref().0.wait() {
                    Ok(()) => Ok(()),
                    Err(Errno::EAGAIN) => Err(io::ErrorKind::WouldBlock.into()),
                    Err(e) => Err(io::Error::from(e)),
                }) {
                    Ok(result) => {
                        // Read (one-shot, so disarmed): nothing more until it is re-armed and
                        // expires again, which the driver reports afresh. Without this the next
                        // wait would try a read that finds nothing.
                        ready.clear_ready();
                        return Poll::Ready(result);
                    }
                    // Not expired (an old readiness, or re-armed since): wait again.
                    Err(_would_block) => {}
                }
            }
        }
    }
}
