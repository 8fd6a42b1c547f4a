//! The overlap checker: which lab namespaces hold a VIP, from the kernel's own address events,
//! for every lab test.
//!
//! One thread opens one netlink route socket inside each namespace (entering each in turn with
//! `setns`, so every socket stays in its namespace), reads the namespaces' current addresses,
//! then reads every address event of every namespace and stamps it with one clock
//! ([`Instant`]). It counts any copy of a VIP: IPv4 or IPv6, on any interface, with any prefix
//! length or label, whoever added it (vipd, keepalived, a fencer, the test). A read error or an
//! overflow of a socket fails the record, and when the record ends the tracked state is
//! compared with a fresh dump of every namespace: a difference is a gap, and fails it too.
//!
//! Resolution: events that the thread reads in one wake-up (from several namespaces, while it
//! waited to be scheduled) cannot be ordered among each other; they are applied together, and
//! such a batch in which one namespace gave up a VIP while another took it is counted in
//! [`Timeline::ambiguous`]. An overlap shorter than that wake-up latency can be missed; any
//! overlap longer than it is seen.

use std::collections::HashSet;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::addr_events::{AddrKey, AddrMsg, AddrSocket};
use super::{LabError, Ns, guard};

const FIRST_DUMP: u32 = 1;
const LAST_DUMP: u32 = 2;

/// One change of who holds the VIPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// When (since the checker started), on the checker's clock.
    pub at: Duration,
    /// `copies[v][n]`: how many copies of VIP `v` namespace `n` holds from then on.
    pub copies: Vec<Vec<u32>>,
}

/// A time two namespaces held the same VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The VIP.
    pub vip: IpAddr,
    /// From when (since the checker started).
    pub from: Duration,
    /// Until when.
    pub to: Duration,
    /// The namespaces (indices) that held it at its start.
    pub holders: Vec<usize>,
}

/// The record of one checker run.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The namespaces, in the order given.
    pub namespaces: Vec<String>,
    /// The VIPs, in the order given.
    pub vips: Vec<IpAddr>,
    /// The state at start (at 0), then every change, in order.
    pub changes: Vec<Change>,
    /// When the record ended.
    pub end: Duration,
    /// Batches that could hide a handover's order (see the module docs): their times.
    pub ambiguous: Vec<Duration>,
}

impl Timeline {
    /// For each change: its time, and whether each namespace held any copy of any VIP. The
    /// first entry is the state at 0, the last the state at the end.
    pub fn samples(&self) -> Vec<(Duration, Vec<bool>)> {
        let held = |c: &Change| {
            (0..self.namespaces.len())
                .map(|n| c.copies.iter().any(|v| v.get(n).is_some_and(|k| *k > 0)))
                .collect::<Vec<bool>>()
        };
        let mut out: Vec<(Duration, Vec<bool>)> =
            self.changes.iter().map(|c| (c.at, held(c))).collect();
        if let Some(last) = self.changes.last() {
            out.push((self.end.max(last.at), held(last)));
        }
        out
    }

    /// Every time two or more namespaces held the same VIP.
    pub fn overlaps(&self) -> Vec<Overlap> {
        let mut out = Vec::new();
        for (v, vip) in self.vips.iter().enumerate() {
            let mut open: Option<(Duration, Vec<usize>)> = None;
            for c in &self.changes {
                let holders: Vec<usize> = c
                    .copies
                    .get(v)
                    .map(|k| (0..k.len()).filter(|n| k[*n] > 0).collect())
                    .unwrap_or_default();
                match (&open, holders.len() > 1) {
                    (None, true) => open = Some((c.at, holders)),
                    (Some((from, h)), false) => {
                        out.push(Overlap {
                            vip: *vip,
                            from: *from,
                            to: c.at,
                            holders: h.clone(),
                        });
                        open = None;
                    }
                    _ => {}
                }
            }
            if let Some((from, holders)) = open {
                out.push(Overlap {
                    vip: *vip,
                    from,
                    to: self.end,
                    holders,
                });
            }
        }
        out.sort_by_key(|o| o.from);
        out
    }

    /// The total time two namespaces held the same VIP.
    pub fn two_holder_time(&self) -> Duration {
        self.overlaps().iter().map(|o| o.to - o.from).sum()
    }

    /// Panics, listing the overlaps and every change, if two namespaces ever held the same VIP.
    ///
    /// # Panics
    /// On any overlap: that is what a lab test asserts.
    pub fn assert_never_two_holders(&self) {
        let overlaps = self.overlaps();
        if !overlaps.is_empty() {
            let names = |h: &[usize]| {
                h.iter()
                    .filter_map(|n| self.namespaces.get(*n).cloned())
                    .collect::<Vec<_>>()
            };
            let list: Vec<String> = overlaps
                .iter()
                .map(|o| {
                    format!(
                        "{} held by {:?} from {:?} to {:?}",
                        o.vip,
                        names(&o.holders),
                        o.from,
                        o.to
                    )
                })
                .collect();
            panic!(
                "two holders ({} in all): {}; changes: {:?}",
                format_duration(self.two_holder_time()),
                list.join("; "),
                self.changes
            );
        }
    }
}

fn format_duration(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Watches which of a lab's namespaces hold the given VIPs until [`OverlapChecker::finish`].
#[derive(Debug)]
pub struct OverlapChecker {
    start: Instant,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Timeline, String>>>,
}

impl OverlapChecker {
    /// Starts watching `namespaces` (of a lab) for `vips`. Returns once every namespace's
    /// current addresses are known, so that anything the test does next is recorded.
    ///
    /// # Errors
    /// [`LabError::Io`] if a namespace cannot be entered or its socket opened or read, and
    /// [`LabError::Refused`] for the host's own namespace.
    pub fn start(namespaces: &[&Ns], vips: &[IpAddr]) -> Result<OverlapChecker, LabError> {
        let mut files = Vec::new();
        for ns in namespaces {
            guard::check_namespace(ns.name())?;
            let path = format!("/var/run/netns/{}", ns.name());
            let file = std::fs::File::open(&path).map_err(|source| LabError::Io {
                context: format!("opening {path}"),
                source,
            })?;
            files.push(file);
        }
        let names: Vec<String> = namespaces.iter().map(|n| n.name().to_owned()).collect();
        let vips = vips.to_vec();
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let (ready_tx, ready_rx) = mpsc::channel();
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut sockets = Vec::new();
            for (file, name) in files.iter().zip(&names) {
                let opened = nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)
                    .and_then(|()| AddrSocket::open())
                    .and_then(|s| s.request_dump(FIRST_DUMP).map(|()| s));
                match opened {
                    Ok(s) => sockets.push(s),
                    Err(e) => {
                        let msg = format!("opening the address socket in {name}: {e}");
                        let _ = ready_tx.send(Err(msg.clone()));
                        return Err(msg);
                    }
                }
            }
            let mut watch = Watch::new(names, vips, sockets, start);
            let ready = watch.initial();
            let failed = ready.as_ref().err().cloned();
            let _ = ready_tx.send(ready);
            if let Some(e) = failed {
                return Err(e);
            }
            watch.run(&stop2)
        });
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(OverlapChecker {
                start,
                stop,
                thread: Some(thread),
            }),
            Ok(Err(msg)) => Err(io_error(msg)),
            Err(_) => Err(io_error("the checker thread ended early".into())),
        }
    }

    /// Time since the checker started, on its clock.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Stops watching and returns the record.
    ///
    /// # Errors
    /// [`LabError::Io`] on a read error, an overflow, or a gap found by the final comparison
    /// with the kernel's addresses.
    pub fn finish(mut self) -> Result<Timeline, LabError> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(t))) => Ok(t),
            Some(Ok(Err(msg))) => Err(io_error(msg)),
            _ => Err(io_error("the checker thread panicked".into())),
        }
    }
}

impl Drop for OverlapChecker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn io_error(msg: String) -> LabError {
    LabError::Io {
        context: format!("overlap checker: {msg}"),
        source: std::io::Error::other("address record incomplete"),
    }
}

/// The checker thread's state.
struct Watch {
    names: Vec<String>,
    vips: Vec<IpAddr>,
    sockets: Vec<AddrSocket>,
    start: Instant,
    state: Vec<HashSet<AddrKey>>,
    changes: Vec<Change>,
    ambiguous: Vec<Duration>,
}

impl Watch {
    fn new(
        names: Vec<String>,
        vips: Vec<IpAddr>,
        sockets: Vec<AddrSocket>,
        start: Instant,
    ) -> Self {
        let state = vec![HashSet::new(); sockets.len()];
        Watch {
            names,
            vips,
            sockets,
            start,
            state,
            changes: Vec::new(),
            ambiguous: Vec::new(),
        }
    }

    fn copies(&self) -> Vec<Vec<u32>> {
        self.vips
            .iter()
            .map(|v| {
                self.state
                    .iter()
                    .map(|s| s.iter().filter(|k| k.addr == *v).count() as u32)
                    .collect()
            })
            .collect()
    }

    /// Reads every socket until the first dump is complete; events seen meanwhile apply too.
    fn initial(&mut self) -> Result<(), String> {
        let mut done = vec![false; self.sockets.len()];
        let limit = Instant::now() + Duration::from_secs(10);
        while done.iter().any(|d| !d) {
            if Instant::now() > limit {
                return Err("no complete address dump within 10 s".into());
            }
            self.wait(Duration::from_millis(50))?;
            for (i, done) in done.iter_mut().enumerate() {
                for m in self.read(i)? {
                    match m {
                        AddrMsg::Done { seq: FIRST_DUMP } => *done = true,
                        other => self.apply(i, other),
                    }
                }
            }
        }
        self.changes.push(Change {
            at: Duration::ZERO,
            copies: self.copies(),
        });
        Ok(())
    }

    fn wait(&self, timeout: Duration) -> Result<(), String> {
        let mut fds: Vec<PollFd> = self
            .sockets
            .iter()
            .map(|s| PollFd::new(s.fd().as_fd(), PollFlags::POLLIN))
            .collect();
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(format!("poll: {e}")),
        }
    }

    fn read(&self, i: usize) -> Result<Vec<AddrMsg>, String> {
        let mut out = Vec::new();
        self.sockets[i]
            .drain(&mut out)
            .map_err(|e| format!("reading the address events of {}: {e}", self.names[i]))?;
        Ok(out)
    }

    fn apply(&mut self, i: usize, m: AddrMsg) {
        match m {
            AddrMsg::New { key, .. } => {
                self.state[i].insert(key);
            }
            AddrMsg::Del { key } => {
                self.state[i].remove(&key);
            }
            AddrMsg::Done { .. } => {}
        }
    }

    fn run(mut self, stop: &AtomicBool) -> Result<Timeline, String> {
        loop {
            let stopping = stop.load(Ordering::Relaxed);
            self.wait(Duration::from_millis(20))?;
            let at = self.start.elapsed();
            let before = self.copies();
            for i in 0..self.sockets.len() {
                for m in self.read(i)? {
                    self.apply(i, m);
                }
            }
            let after = self.copies();
            if after != before {
                let gained =
                    |v: usize| (0..self.names.len()).any(|n| before[v][n] == 0 && after[v][n] > 0);
                let lost =
                    |v: usize| (0..self.names.len()).any(|n| before[v][n] > 0 && after[v][n] == 0);
                if (0..self.vips.len()).any(|v| gained(v) && lost(v)) {
                    self.ambiguous.push(at);
                }
                self.changes.push(Change { at, copies: after });
            }
            if stopping {
                break;
            }
        }
        let end = self.start.elapsed();
        self.verify()?;
        Ok(Timeline {
            namespaces: self.names,
            vips: self.vips,
            changes: self.changes,
            end,
            ambiguous: self.ambiguous,
        })
    }

    /// Compares the tracked VIP copies with a fresh dump of every namespace.
    fn verify(&mut self) -> Result<(), String> {
        for s in &self.sockets {
            s.request_dump(LAST_DUMP)
                .map_err(|e| format!("requesting the final dump: {e}"))?;
        }
        let mut dumped = vec![HashSet::new(); self.sockets.len()];
        let mut done = vec![false; self.sockets.len()];
        let limit = Instant::now() + Duration::from_secs(10);
        while done.iter().any(|d| !d) {
            if Instant::now() > limit {
                return Err("no complete final address dump within 10 s".into());
            }
            self.wait(Duration::from_millis(50))?;
            for i in 0..self.sockets.len() {
                for m in self.read(i)? {
                    match m {
                        AddrMsg::Done { seq: LAST_DUMP } => done[i] = true,
                        AddrMsg::New {
                            seq: LAST_DUMP,
                            key,
                        } => {
                            dumped[i].insert(key);
                        }
                        // Changes after the end of the record: not part of it, but the
                        // dump may already show them.
                        other @ (AddrMsg::New { seq: 0, .. } | AddrMsg::Del { .. }) => {
                            self.apply(i, other);
                        }
                        _ => {}
                    }
                }
            }
        }
        for (i, d) in dumped.iter().enumerate() {
            let vip_keys = |s: &HashSet<AddrKey>| {
                let mut k: Vec<AddrKey> = s
                    .iter()
                    .filter(|k| self.vips.contains(&k.addr))
                    .copied()
                    .collect();
                k.sort_by_key(|k| (k.ifindex, k.addr, k.prefix_len));
                k
            };
            let (tracked, kernel) = (vip_keys(&self.state[i]), vip_keys(d));
            if tracked != kernel {
                return Err(format!(
                    "gap in the record of {}: tracked {tracked:?}, the kernel has {kernel:?}",
                    self.names[i]
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn change(at: u64, copies: &[&[u32]]) -> Change {
        Change {
            at: ms(at),
            copies: copies.iter().map(|c| c.to_vec()).collect(),
        }
    }

    fn timeline(changes: Vec<Change>, end: u64) -> Timeline {
        Timeline {
            namespaces: vec!["a".into(), "b".into(), "c".into()],
            vips: vec![
                "198.51.100.100".parse().unwrap(),
                "2001:db8::100".parse().unwrap(),
            ],
            changes,
            end: ms(end),
            ambiguous: Vec::new(),
        }
    }

    #[test]
    fn overlaps_per_vip_any_copy_and_open_at_the_end() {
        let t = timeline(
            vec![
                change(0, &[&[1, 0, 0], &[0, 0, 0]]),
                // Two copies on a: still one holder.
                change(10, &[&[2, 0, 0], &[0, 0, 1]]),
                // b takes the IPv4 VIP while a still has it: overlap 20..35.
                change(20, &[&[1, 1, 0], &[0, 0, 1]]),
                change(35, &[&[0, 1, 0], &[0, 0, 1]]),
                // The IPv6 VIP on b and c from 50 to the end (80).
                change(50, &[&[0, 1, 0], &[0, 1, 1]]),
            ],
            80,
        );
        let o = t.overlaps();
        assert_eq!(o.len(), 2, "{o:?}");
        assert_eq!(
            (o[0].from, o[0].to, o[0].holders.clone()),
            (ms(20), ms(35), vec![0, 1])
        );
        assert_eq!(
            (o[1].from, o[1].to, o[1].holders.clone()),
            (ms(50), ms(80), vec![1, 2])
        );
        assert_eq!(t.two_holder_time(), ms(45));
        let s = t.samples();
        assert_eq!(
            s.first().map(|x| x.1.clone()),
            Some(vec![true, false, false])
        );
        assert_eq!(
            s.last().map(|x| (x.0, x.1.clone())),
            Some((ms(80), vec![false, true, true]))
        );
        assert!(std::panic::catch_unwind(|| t.assert_never_two_holders()).is_err());
    }

    #[test]
    fn one_holder_at_a_time_passes() {
        let t = timeline(
            vec![
                change(0, &[&[1, 0, 0], &[0, 0, 0]]),
                change(5, &[&[0, 0, 0], &[0, 0, 0]]),
                change(9, &[&[0, 1, 0], &[0, 1, 0]]),
            ],
            20,
        );
        assert!(t.overlaps().is_empty());
        assert_eq!(t.two_holder_time(), Duration::ZERO);
        t.assert_never_two_holders();
    }
}
