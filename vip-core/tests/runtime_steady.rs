//! The steady loop (`InstanceSpec::steady_loop`): an idle master's adverts and an idle backup's
//! receptions run under leases on the steady loop's thread, and the machine stays the one
//! that decides. A fake wire stands in for the transport: it is the instance's advert source
//! when no lease runs, and the steady loop's socket when one does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use runtime_support::*;
use vip_core::election::{Advert, State, StopMode};
use vip_core::runtime::steady::{
    LEASE_MAX, Lease, LeaseControl, LeaseEnd, LeaseEndReason, LeaseReport, LeaseWork, SteadyLoop,
};
use vip_core::runtime::{AdvertSource, InstanceHandle, InstanceSpec, Runtime};
use vip_core::{Error, Priority};

/// Adverts "on the wire" for the instance, and what its steady loop did.
#[derive(Default)]
struct Wire {
    queue: Mutex<VecDeque<Advert>>,
    arrived: Condvar,
    waker: Mutex<Option<Waker>>,
    interrupted: AtomicBool,
    /// Due times of the adverts the loop sent.
    sent: Mutex<Vec<Instant>>,
    absorbed: AtomicUsize,
    leases: AtomicUsize,
    running: AtomicBool,
    panic_next: AtomicBool,
    /// Itself, for the lease threads.
    me: Mutex<Weak<Wire>>,
}

impl Wire {
    fn deliver(&self, advert: Advert) {
        self.queue.lock().unwrap().push_back(advert);
        self.arrived.notify_all();
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
}

impl AdvertSource for Wire {
    fn poll_advert(&self, cx: &mut Context<'_>) -> Poll<Result<Advert, Error>> {
        assert!(
            !self.running.load(Ordering::SeqCst),
            "the instance must not read the socket while a lease runs"
        );
        let mut waker = self.waker.lock().unwrap();
        match self.queue.lock().unwrap().pop_front() {
            Some(a) => Poll::Ready(Ok(a)),
            None => {
                *waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl SteadyLoop for Wire {
    /// Runs the lease on a thread of its own (a panic there drops the report unreported).
    fn start(&self, lease: Lease, control: Arc<LeaseControl>, report: LeaseReport) {
        let wire = self
            .me
            .lock()
            .unwrap()
            .upgrade()
            .expect("the wire is alive");
        std::thread::spawn(move || report.end(wire.run(&lease, &control)));
    }

    fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        let _guard = self.queue.lock().unwrap();
        self.arrived.notify_all();
    }
}

impl Wire {
    fn new() -> Arc<Wire> {
        let wire = Arc::new(Wire::default());
        *wire.me.lock().unwrap() = Arc::downgrade(&wire);
        wire
    }

    /// The loop of one lease, blocking.
    fn run(&self, lease: &Lease, control: &LeaseControl) -> LeaseEnd {
        assert!(
            !self.running.swap(true, Ordering::SeqCst),
            "one lease at a time"
        );
        self.leases.fetch_add(1, Ordering::SeqCst);
        if self.panic_next.swap(false, Ordering::SeqCst) {
            self.running.store(false, Ordering::SeqCst);
            panic!("a broken steady loop");
        }
        let mut last = None;
        let mut deadline = match lease.work {
            LeaseWork::Master { first, .. } => first,
            LeaseWork::Backup { deadline, .. } => deadline,
        };
        let reason = loop {
            if control.revoked() {
                break LeaseEndReason::Stopped;
            }
            let now = Instant::now();
            if now >= deadline {
                match lease.work {
                    LeaseWork::Master { interval, .. } => {
                        self.sent.lock().unwrap().push(deadline);
                        last = Some(deadline);
                        deadline += interval;
                        continue;
                    }
                    LeaseWork::Backup { .. } => break LeaseEndReason::Deadline,
                }
            }
            let until = control.until();
            if now >= until {
                break LeaseEndReason::Stopped;
            }
            let mut queue = self.queue.lock().unwrap();
            if let Some(advert) = queue.pop_front() {
                let at = Instant::now();
                match lease.work {
                    LeaseWork::Backup {
                        reference, window, ..
                    } if advert == reference => {
                        self.absorbed.fetch_add(1, Ordering::SeqCst);
                        last = Some(at);
                        deadline = at + window;
                        continue;
                    }
                    _ => break LeaseEndReason::Advert { advert, at },
                }
            }
            if self.interrupted.swap(false, Ordering::SeqCst) {
                continue;
            }
            let wait = deadline.min(until).saturating_duration_since(now);
            drop(self.arrived.wait_timeout(queue, wait).unwrap());
        };
        self.running.store(false, Ordering::SeqCst);
        LeaseEnd { last, reason }
    }
}

fn spec(log: &Log, wire: &Arc<Wire>, local: &str, priority: u8) -> InstanceSpec {
    let mut config = fast_config(44, local, vec![vip("198.51.100.10", "eth0")]);
    config.priority = Priority::new(priority);
    InstanceSpec::new(
        "steady",
        config,
        Arc::new(FakeAddresses::new(log.clone())),
        Arc::new(FakeSink { log: log.clone() }),
    )
    .advert_source(wire.clone())
    .steady_loop(wire.clone())
}

/// A lone instance with the fake wire, once it is master (no adverts reach it).
async fn lone_master() -> (Runtime, Log, Arc<Wire>, InstanceHandle) {
    let rt = Runtime::new().kernel_timers(true);
    let log = Log::new(rt.clock());
    let wire = Wire::new();
    let handle = rt.spawn(spec(&log, &wire, "198.51.100.1", 100)).unwrap();
    wait_status(&handle, Duration::from_secs(10), |s| {
        s.state == State::Master
    })
    .await;
    (rt, log, wire, handle)
}

async fn until(limit: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < end {
        if pred() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pred()
}

/// Every advert of a steady master goes out under one lease, on the 10 cs grid, for longer
/// than LEASE_MAX (the instance extends it); a better advert ends the lease and the machine
/// steps down.
#[tokio::test]
async fn idle_master_adverts_run_under_leases_and_a_better_advert_ends_them() {
    let (rt, log, wire, handle) = lone_master().await;
    assert!(
        until(Duration::from_secs(5), || wire
            .leases
            .load(Ordering::SeqCst)
            >= 1)
        .await
    );
    tokio::time::sleep(LEASE_MAX * 2 + Duration::from_millis(500)).await;
    // Without extending, 4.5 s of 2 s leases would take at least three; one extension that
    // came too late on a loaded machine may cost one more.
    assert!(
        wire.leases.load(Ordering::SeqCst) <= 2,
        "extended while the instance lives, not handed back and forth: {} leases",
        wire.leases.load(Ordering::SeqCst)
    );
    // Every advert once, on the 10 cs grid: the loop's and the runtime's (between leases)
    // together, neither twice nor missing.
    let clock = rt.clock();
    let first_lease = wire.sent.lock().unwrap()[0];
    let mut all: Vec<Duration> = wire
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|i| {
            clock
                .timestamp(tokio::time::Instant::from_std(*i))
                .since_epoch()
        })
        .collect();
    let from = clock.timestamp(tokio::time::Instant::from_std(first_lease));
    all.extend(
        log.entries()
            .into_iter()
            .filter(|(at, what)| what == "advert 100" && *at >= from)
            .map(|(at, _)| at.since_epoch()),
    );
    all.sort();
    assert!(all.len() >= 25, "adverts sent: {}", all.len());
    for pair in all.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(90) && gap <= Duration::from_millis(150),
            "one advert per 10 cs: gap {gap:?} in {all:?}"
        );
    }
    // A better master: the lease ends with its advert and the machine follows it.
    wire.deliver(advert("198.51.100.2", 200));
    wait_status(&handle, Duration::from_secs(5), |s| {
        s.state == State::Backup
    })
    .await;
    let (after, runtime_sends) = (wire.sent.lock().unwrap().len(), log.count("advert 100"));
    // Less than Master_Down_Interval (361 ms): the better master sent only one advert.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        wire.sent.lock().unwrap().len(),
        after,
        "a backup sends no adverts"
    );
    assert_eq!(
        log.count("advert 100"),
        runtime_sends,
        "nor does its runtime"
    );
    handle.stop(StopMode::Release).await;
}

/// A steady backup absorbs its master's adverts under leases; when they stop, the deadline
/// comes back to the machine, which takes over within Master_Down_Interval.
#[tokio::test]
async fn idle_backup_absorbs_repeats_and_takes_over_when_they_stop() {
    let rt = Runtime::new().kernel_timers(true);
    let log = Log::new(rt.clock());
    let wire = Wire::new();
    let handle = rt.spawn(spec(&log, &wire, "198.51.100.1", 100)).unwrap();
    let feeding = Arc::new(AtomicBool::new(true));
    let (w, f) = (wire.clone(), feeding.clone());
    let master = std::thread::spawn(move || {
        while f.load(Ordering::SeqCst) {
            w.deliver(advert("198.51.100.2", 200));
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    wait_status(&handle, Duration::from_secs(5), |s| s.master.is_some()).await;
    assert!(
        until(Duration::from_secs(5), || wire
            .absorbed
            .load(Ordering::SeqCst)
            >= 20)
        .await
    );
    assert_eq!(handle.status().state, State::Backup);
    assert_eq!(
        wire.leases.load(Ordering::SeqCst),
        1,
        "one lease absorbs them all (a backup's lease is not handed back to be renewed)"
    );
    assert!(
        log.count("add") == 0,
        "a backup never adds the VIPs: {:?}",
        log.names()
    );
    let stopped = tokio::time::Instant::now();
    feeding.store(false, Ordering::SeqCst);
    master.join().unwrap();
    wait_status(&handle, Duration::from_secs(5), |s| {
        s.state == State::Master
    })
    .await;
    let took = stopped.elapsed();
    // Master_Down_Interval at priority 100 and 10 cs is about 361 ms; the claim adds a little.
    assert!(
        took >= Duration::from_millis(250),
        "not before the master is down: {took:?}"
    );
    assert!(took < Duration::from_secs(2), "took over in {took:?}");
    handle.stop(StopMode::Release).await;
}

/// A command revokes the running lease at once: a release stops a steady master promptly
/// (VIPs removed, then priority 0), and the loop sends nothing more.
#[tokio::test]
async fn a_stop_revokes_the_lease_and_releases() {
    let (_rt, log, wire, handle) = lone_master().await;
    assert!(
        until(Duration::from_secs(5), || wire.sent.lock().unwrap().len()
            >= 3)
        .await
    );
    let asked = Instant::now();
    let last = handle.stop(StopMode::Release).await;
    assert!(asked.elapsed() < Duration::from_secs(1), "revoked promptly");
    assert!(!last.holds_vips);
    assert!(!wire.running.load(Ordering::SeqCst));
    let names = log.names();
    let removed = log.index("remove done").expect("VIPs removed");
    let released = log.index("advert 0").expect("priority 0 sent");
    assert!(removed < released, "remove before priority 0: {names:?}");
    let sent = wire.sent.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(wire.sent.lock().unwrap().len(), sent);
}

/// A steady loop that panics is a broken source: the instance releases and stops.
#[tokio::test]
async fn a_panicking_loop_releases_and_stops() {
    let rt = Runtime::new().kernel_timers(true);
    let log = Log::new(rt.clock());
    let wire = Wire::new();
    wire.panic_next.store(true, Ordering::SeqCst);
    let handle = rt.spawn(spec(&log, &wire, "198.51.100.1", 100)).unwrap();
    tokio::time::timeout(Duration::from_secs(10), handle.stopped())
        .await
        .expect("the instance stopped");
    let status = handle.status();
    assert!(!status.holds_vips, "{status:#?}");
}

/// A hung async runtime stops extending the lease: the loop stops advertising within
/// LEASE_MAX, as a hung daemon without the loop would, so that the peer takes over.
#[test]
fn a_hung_runtime_stops_the_adverts_within_lease_max() {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let wire = Wire::new();
    let hung_at = tokio_rt.block_on(async {
        let rt = Runtime::new().kernel_timers(true);
        let log = Log::new(rt.clock());
        let handle = rt.spawn(spec(&log, &wire, "198.51.100.1", 100)).unwrap();
        wait_status(&handle, Duration::from_secs(10), |s| {
            s.state == State::Master
        })
        .await;
        assert!(
            until(Duration::from_secs(5), || wire.sent.lock().unwrap().len()
                >= 5)
            .await
        );
        std::mem::forget(handle);
        // Block the runtime's only thread: nothing on it runs any more.
        let hung_at = Instant::now();
        std::thread::sleep(LEASE_MAX + Duration::from_secs(1));
        hung_at
    });
    let sent = wire.sent.lock().unwrap().clone();
    let last = *sent.last().unwrap();
    assert!(
        last <= hung_at + LEASE_MAX + Duration::from_millis(100),
        "adverts went on {:?} after the runtime hung",
        last - hung_at
    );
    assert!(
        last >= hung_at,
        "adverts went on while the runtime was still extending the lease"
    );
    drop(tokio_rt);
}
