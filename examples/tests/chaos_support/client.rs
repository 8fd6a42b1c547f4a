//! The client's view of the VIP: a client namespace on the switch asks who has the VIP (ARP
//! requests every [`INTERVAL`], Thomas Habets' `arping`), and a reader thread stamps each
//! reply with the checker's clock as it reads it (so a reply's time is late by the reader's
//! poll, a few milliseconds; the figures are loose, as every lab timing).

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vip_core::lab::{LabProcess, Ns};

/// Time between two ARP requests.
pub const INTERVAL: Duration = Duration::from_millis(20);
/// A gap between replies longer than this is an outage (three requests unanswered).
pub const OUTAGE_GAP: Duration = Duration::from_millis(3 * 20 + 10);

/// One reply: when it was read (checker clock), arping's reply counter, the MAC that answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub at: Duration,
    pub index: u64,
    pub mac: String,
}

/// A running client probe.
pub struct ClientProbe {
    arping: LabProcess,
    stop: Arc<AtomicBool>,
    reader: JoinHandle<Vec<Reply>>,
}

/// What the client saw.
#[derive(Debug, Clone, Default)]
pub struct ClientView {
    /// Replies read.
    pub replies: usize,
    /// The longest gap between two replies (once the first came), if longer than
    /// [`OUTAGE_GAP`].
    pub longest_outage: Duration,
    /// The sum of such gaps.
    pub total_outage: Duration,
    /// Requests answered by two MACs (two replies from different MACs read within half an
    /// interval).
    pub two_mac_requests: usize,
    /// When those happened (checker clock).
    pub two_mac_at: Vec<Duration>,
    /// Distinct MACs seen.
    pub macs: Vec<String>,
}

impl ClientProbe {
    /// Starts asking for `vip` from `ns` (its `eth0` must be up with an address); `t0` is the
    /// instant of the checker clock's zero.
    pub fn start(ns: &Ns, vip: &str, log: &Path, t0: Instant) -> ClientProbe {
        let interval = format!("{}", INTERVAL.as_secs_f64());
        let _ = std::fs::remove_file(log);
        let arping = ns
            .spawn(
                &[
                    "stdbuf", "-oL", "arping", "-i", "eth0", "-W", &interval, vip,
                ],
                Some(log),
            )
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, path) = (stop.clone(), log.to_path_buf());
        let reader = std::thread::spawn(move || read_replies(&path, &flag, t0));
        ClientProbe {
            arping,
            stop,
            reader,
        }
    }

    /// Stops the probe and sums up what it saw.
    pub fn finish(mut self) -> ClientView {
        self.arping.stop(Duration::from_secs(1));
        self.stop.store(true, Ordering::Relaxed);
        let replies = self.reader.join().unwrap();
        view(&replies)
    }
}

/// Follows the arping log until `stop`, parsing `60 bytes from MAC (IP): index=N time=...`.
fn read_replies(path: &PathBuf, stop: &AtomicBool, t0: Instant) -> Vec<Reply> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    let mut partial = String::new();
    loop {
        let done = stop.load(Ordering::Relaxed);
        if let Ok(mut f) = std::fs::File::open(path)
            && f.seek(SeekFrom::Start(pos)).is_ok()
        {
            let mut r = BufReader::new(f);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                pos += line.len() as u64;
                if !line.ends_with('\n') {
                    partial.push_str(&line);
                    line.clear();
                    continue;
                }
                partial.push_str(&line);
                if let Some((index, mac)) = parse(&partial) {
                    out.push(Reply {
                        at: t0.elapsed(),
                        index,
                        mac,
                    });
                }
                partial.clear();
                line.clear();
            }
        }
        if done {
            return out;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn parse(line: &str) -> Option<(u64, String)> {
    let rest = line.split_once(" bytes from ")?.1;
    let mac = rest.split_whitespace().next()?.to_string();
    let index = rest
        .split_once("index=")?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((index, mac))
}

fn view(replies: &[Reply]) -> ClientView {
    let mut v = ClientView {
        replies: replies.len(),
        ..ClientView::default()
    };
    for w in replies.windows(2) {
        let gap = w[1].at.saturating_sub(w[0].at);
        if gap > OUTAGE_GAP {
            v.longest_outage = v.longest_outage.max(gap);
            v.total_outage += gap;
        }
    }
    // Two hosts answering one request: replies from two MACs read within half an interval of
    // each other (one request's answers arrive together; the next request is an interval later).
    for w in replies.windows(2) {
        if w[1].mac != w[0].mac && w[1].at.saturating_sub(w[0].at) < INTERVAL / 2 {
            v.two_mac_requests += 1;
            v.two_mac_at.push(w[0].at);
        }
    }
    for r in replies {
        if !v.macs.contains(&r.mac) {
            v.macs.push(r.mac.clone());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(ms: u64, mac: &str) -> Reply {
        Reply {
            at: Duration::from_millis(ms),
            index: 0,
            mac: mac.into(),
        }
    }

    #[test]
    fn two_macs_answering_one_request_are_counted_and_a_handover_is_not() {
        let r = [
            reply(0, "a"),
            reply(20, "a"),
            reply(40, "a"),
            reply(41, "b"),
            reply(60, "b"),
            reply(200, "b"),
        ];
        let v = view(&r);
        assert_eq!(v.two_mac_requests, 1);
        assert_eq!(v.macs, ["a", "b"]);
        assert_eq!(v.longest_outage, Duration::from_millis(140));
        assert_eq!(v.total_outage, Duration::from_millis(140));
    }

    #[test]
    fn parses_a_reply_line() {
        let l = "60 bytes from 02:00:00:00:00:01 (198.51.100.100): index=17 time=1.2 msec\n";
        assert_eq!(parse(l), Some((17, "02:00:00:00:00:01".into())));
        assert_eq!(parse("Timeout\n"), None);
    }
}
