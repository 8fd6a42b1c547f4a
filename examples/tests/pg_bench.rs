//! Issue 7 figures (run by `scripts/bench-pg-failover`, ignored in CI): vipd against today's
//! keepalived + `vrrp_script` setup, same lab, same run.
//!
//! - failover: primary stopped (fast), `repmgr standby promote`; time from promote returning to
//!   the VIP on the new primary, and to the client's first successful query through the VIP;
//! - hung primary: keepalived/vipd and postgres of the primary SIGSTOPped, standby promoted, thaw
//!   after a fixed hang: how long both nodes held the VIP.
//!
//! Two keepalived setups run as controls. The one issue 7 describes: both nodes `state BACKUP`,
//! priority 100, a `vrrp_script` running `psql -t -c "SELECT active||type FROM repmgr.nodes
//! WHERE node_name='...'"` every 2 s that adds weight 4 while it says `trueprimary`, same
//! advert interval as vipd (10 cs, VRRPv3). And the same check every 200 ms, vipd's probe
//! interval, so that the ratio measures the daemons rather than the check interval: keepalived
//! 2.2.7's `vrrp_script` interval is whole seconds (at least 1), so a loop in the node's
//! namespace runs the check every 200 ms and writes 1 or 0 to a `track_file` with weight 4
//! (keepalived reads it on change, through inotify).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pg_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use pg_support::{PgLab, Sample, VIP, wait_until};
use vip_core::lab::{Keepalived, LabProcess};
use vip_pg::harness::{StopMode, pg_bin};

/// How long the primary stays hung in the hung-primary scenario.
const HANG: Duration = Duration::from_secs(4);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Setup {
    Vipd,
    /// `vrrp_script` every 2 s.
    Keepalived,
    /// The same check every 200 ms, through a `track_file`.
    KeepalivedFast,
}

/// The setups, in report order.
const SETUPS: [Setup; 3] = [Setup::Vipd, Setup::Keepalived, Setup::KeepalivedFast];

/// The fast control's check interval (vipd's default probe interval in the bench).
const FAST_CHECK: &str = "0.2";

fn keepalived_conf(lab: &PgLab, i: usize, fast: bool) -> String {
    let node = &lab.nodes[i];
    let psql = pg_bin("psql");
    let script = lab.dir.join(format!("chk-{}.sh", node.name));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{} -X -t -h {} -U repmgr -d repmgr -c \"SELECT active||type FROM repmgr.nodes WHERE node_name='{}'\" | grep -q trueprimary\n",
            psql.display(),
            node.addr,
            node.name
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("0755")
        .arg(&script)
        .status()
        .unwrap();
    let tracker = if fast {
        format!(
            "track_file chk_primary {{\n    file \"{}\"\n    weight 4\n    init_file 0 overwrite\n}}",
            track_file(lab, i).display()
        )
    } else {
        format!(
            "vrrp_script chk_primary {{\n    script \"{}\"\n    interval 2\n    weight 4\n    fall 1\n    rise 1\n}}",
            script.display()
        )
    };
    let track = if fast { "track_file" } else { "track_script" };
    format!(
        r#"global_defs {{
    script_user root
    vrrp_version 3
}}
{tracker}
vrrp_instance pg {{
    state BACKUP
    interface eth0
    virtual_router_id 62
    priority 100
    advert_int 0.1
    virtual_ipaddress {{
        {VIP}/32
    }}
    {track} {{
        chk_primary
    }}
}}
"#
    )
}

/// The fast control's track file of node `i`.
fn track_file(lab: &PgLab, i: usize) -> std::path::PathBuf {
    lab.dir.join(format!("chk-{}.state", lab.nodes[i].name))
}

/// The fast control's check loop for node `i`, in its namespace: the check script every 200 ms,
/// its verdict (1 or 0) written to the track file.
fn check_loop(lab: &PgLab, i: usize) -> LabProcess {
    let script = lab.dir.join(format!("chk-{}.sh", lab.nodes[i].name));
    let file = track_file(lab, i);
    let body = format!(
        "while :; do if {}; then echo 1 > {f}; else echo 0 > {f}; fi; sleep {FAST_CHECK}; done",
        script.display(),
        f = file.display()
    );
    lab.nodes[i].ns.spawn(&["sh", "-c", &body], None).unwrap()
}

/// Node processes of one setup (keepalived and the fast control's check loops kept alive by
/// the struct).
struct Running {
    keepalived: Vec<Keepalived>,
    loops: Vec<LabProcess>,
}

fn start(lab: &mut PgLab, setup: Setup) -> Running {
    match setup {
        Setup::Vipd => {
            lab.start_all_expect(0);
            Running {
                keepalived: Vec::new(),
                loops: Vec::new(),
            }
        }
        Setup::Keepalived | Setup::KeepalivedFast => {
            let fast = setup == Setup::KeepalivedFast;
            let k: Vec<Keepalived> = (0..2)
                .map(|i| {
                    let conf = keepalived_conf(lab, i, fast);
                    Keepalived::start(&lab.nodes[i].ns, &format!("pgb{i}"), &conf).unwrap()
                })
                .collect();
            // The primary's script passes (104 against 100): it ends up master.
            let loops = if fast {
                (0..2).map(|i| check_loop(lab, i)).collect()
            } else {
                Vec::new()
            };
            lab.wait_sole_holder(0, Duration::from_secs(20));
            Running {
                keepalived: k,
                loops,
            }
        }
    }
}

fn pids(lab: &PgLab, run: &Running, setup: Setup, i: usize) -> Vec<i32> {
    match setup {
        Setup::Vipd => vec![lab.nodes[i].vipd.as_ref().unwrap().pid() as i32],
        Setup::Keepalived | Setup::KeepalivedFast => {
            let k = &run.keepalived[i];
            let mut v = vec![k.pid() as i32];
            v.extend(k.vrrp_child_pid().map(|p| p as i32));
            // The hung node's check loop hangs with it.
            v.extend(run.loops.get(i).map(|l| l.pid() as i32));
            v
        }
    }
}

fn signal_all(pids: &[i32], sig: Signal) {
    for p in pids {
        let _ = kill(Pid::from_raw(*p), sig);
    }
}

/// A client in the client namespace: connects through the VIP (100 ms bound per attempt) and
/// runs `select pg_is_in_recovery()` until the new primary answers `f`. Returns when that
/// first happened, on the shared clock.
fn client_loop(
    lab: &PgLab,
    clock: Instant,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Option<Duration>> {
    let ns = lab.client.name().to_owned();
    std::thread::spawn(move || {
        let path = format!("/var/run/netns/{ns}");
        let f = std::fs::File::open(path).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let conninfo = format!("host={VIP} port=5432 user=repmgr dbname=repmgr");
            while !stop.load(Ordering::Relaxed) {
                let attempt = async {
                    let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
                        .await
                        .ok()?;
                    tokio::spawn(conn);
                    let row = client
                        .query_one(
                            "SELECT current_setting('cluster_name'), pg_is_in_recovery()",
                            &[],
                        )
                        .await
                        .ok()?;
                    let host: String = row.get(0);
                    let rec: bool = row.get(1);
                    (host == "node2" && !rec).then_some(())
                };
                if let Ok(Some(())) =
                    tokio::time::timeout(Duration::from_millis(100), attempt).await
                {
                    return Some(clock.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            None
        })
    })
}

/// Watches node2's server directly (kept connection from the client namespace, polled every
/// 2 ms) and returns when it first answered `pg_is_in_recovery() = f`: the moment a new
/// primary exists, whoever promoted it.
fn left_recovery(
    lab: &PgLab,
    clock: Instant,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Option<Duration>> {
    let ns = lab.client.name().to_owned();
    std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/var/run/netns/{ns}")).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(
                "host=198.51.100.2 port=5432 user=repmgr dbname=repmgr",
                tokio_postgres::NoTls,
            )
            .await
            .ok()?;
            tokio::spawn(conn);
            while !stop.load(Ordering::Relaxed) {
                let row = client
                    .query_one("SELECT pg_is_in_recovery()", &[])
                    .await
                    .ok()?;
                if !row.get::<_, bool>(0) {
                    return Some(clock.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            None
        })
    })
}

struct Failover {
    promote: Duration,
    /// VIP on the new primary, after its server left recovery.
    vip_after_primary: f64,
    vip_after_return: f64,
    query_after_return: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn failover(setup: Setup, round: usize) -> Option<Failover> {
    let mut lab = PgLab::new(&format!("vipbench-fo{round}{}", setup as u8))?;
    if setup != Setup::Vipd {
        lab.measure_only();
    }
    let run = start(&mut lab, setup);
    let sampler = lab.sampler();
    let stop = Arc::new(AtomicBool::new(false));
    let clock = Instant::now();
    lab.db().stop(0, StopMode::Fast).unwrap();
    let client = client_loop(&lab, clock, stop.clone());
    let primary = left_recovery(&lab, clock, stop.clone());
    let p0 = clock.elapsed();
    lab.db().promote(1).unwrap();
    let p1 = clock.elapsed();
    let offset = sampler.elapsed().saturating_sub(clock.elapsed());
    assert!(
        wait_until(Duration::from_secs(20), || lab.holds(1)),
        "{setup:?}: VIP never reached the new primary"
    );
    let query = wait_until(Duration::from_secs(20), || client.is_finished());
    stop.store(true, Ordering::Relaxed);
    let q = client.join().unwrap();
    let became = primary.join().unwrap()?;
    let samples = sampler.finish();
    drop(run);
    let vip = samples
        .iter()
        .find(|(t, h)| h[1] && *t >= offset + p0)
        .map(|(t, _)| t.saturating_sub(offset))?;
    let q = q.filter(|_| query)?;
    Some(Failover {
        promote: p1 - p0,
        vip_after_primary: ms(vip) - ms(became),
        vip_after_return: ms(vip) - ms(p1),
        query_after_return: ms(q) - ms(p1),
    })
}

/// Total sampled time during which both nodes held the VIP.
fn overlap(samples: &[Sample]) -> Duration {
    samples
        .windows(2)
        .filter(|w| w[0].1[0] && w[0].1[1])
        .map(|w| w[1].0 - w[0].0)
        .sum()
}

fn hung(setup: Setup, round: usize) -> Option<(Duration, Duration)> {
    let mut lab = PgLab::new(&format!("vipbench-hg{round}{}", setup as u8))?;
    if setup != Setup::Vipd {
        lab.measure_only();
    }
    let run = start(&mut lab, setup);
    let frozen = pids(&lab, &run, setup, 0);
    let sampler = lab.sampler();
    let t0 = Instant::now();
    signal_all(&frozen, Signal::SIGSTOP);
    lab.db().freeze(0).unwrap();
    lab.db().promote(1).unwrap();
    std::thread::sleep(HANG);
    lab.db().thaw(0).unwrap();
    signal_all(&frozen, Signal::SIGCONT);
    let hang = t0.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let samples = sampler.finish();
    drop(run);
    Some((overlap(&samples), hang))
}

/// Runs one measurement; a round whose cluster misbehaves (for example a server crashing under
/// load during `repmgr standby promote`) is reported and run again, at most three times.
fn retry<T>(f: impl Fn(usize) -> Option<T> + std::panic::RefUnwindSafe) -> Option<T> {
    for attempt in 0..3 {
        match std::panic::catch_unwind(|| f(attempt)) {
            Ok(r) => return r,
            Err(_) => eprintln!("(round failed, see above; running it again)"),
        }
    }
    panic!("three attempts failed")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run by scripts/bench-pg-failover (root, release vipd)"]
fn bench_pg_failover() {
    if !Keepalived::available() {
        println!("skipping: keepalived not installed");
        return;
    }
    let rounds: usize = std::env::var("VIP_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let mut report = String::new();
    let mut vip_ms = [Vec::new(), Vec::new(), Vec::new()];
    let mut react_ms = [Vec::new(), Vec::new(), Vec::new()];
    let mut query_ms = [Vec::new(), Vec::new(), Vec::new()];
    let mut both_ms = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..rounds {
        for (k, setup) in SETUPS.into_iter().enumerate() {
            let Some(f) = retry(|attempt| failover(setup, round * 10 + attempt)) else {
                return;
            };
            let line = format!(
                "failover {setup:?} round {round}: promote took {:.0} ms; VIP on new primary {:+.1} ms \
                 after its server left recovery, {:+.1} ms after promote returned; first client \
                 query {:+.1} ms after promote returned\n",
                ms(f.promote),
                f.vip_after_primary,
                f.vip_after_return,
                f.query_after_return
            );
            print!("{line}");
            report.push_str(&line);
            vip_ms[k].push(f.vip_after_return);
            react_ms[k].push(f.vip_after_primary);
            query_ms[k].push(f.query_after_return);
            let Some((o, hang)) = retry(|attempt| hung(setup, round * 10 + attempt)) else {
                return;
            };
            let line = format!(
                "hung primary {setup:?} round {round}: both held the VIP for {:.1} ms (primary \
                 frozen for {:.0} ms: promote + {HANG:?})\n",
                ms(o),
                ms(hang)
            );
            print!("{line}");
            report.push_str(&line);
            both_ms[k].push(ms(o));
        }
    }
    let med = |v: &[Vec<f64>; 3]| v.clone().map(median);
    let (v, q, b, r) = (med(&vip_ms), med(&query_ms), med(&both_ms), med(&react_ms));
    // Against each control: vipd / keepalived (a negative vipd figure, there before promote
    // returned, is clamped at 0).
    let ratios = |m: [f64; 3], clamp: bool| {
        let x = if clamp { m[0].max(0.0) } else { m[0] };
        format!("ratio {:.3} / {:.3}", x / m[1], x / m[2])
    };
    let summary = format!(
        "\nmedians over {rounds} rounds (ms after `repmgr standby promote` returned); \
         keepalived with its check every 2 s / every {FAST_CHECK} s:\n\
         VIP on new primary:   vipd {:.1}   keepalived {:.1} / {:.1}   {} (negative = there \
         before promote returned; ratio clamps it at 0)\n\
         VIP after the new server left recovery: vipd {:.1}   keepalived {:.1} / {:.1}   {}\n\
         first client query:   vipd {:.1}   keepalived {:.1} / {:.1}   {}\n\
         hung primary, both holding (ms): vipd {:.1}   keepalived {:.1} / {:.1}\n",
        v[0],
        v[1],
        v[2],
        ratios(v, true),
        r[0],
        r[1],
        r[2],
        ratios(r, false),
        q[0],
        q[1],
        q[2],
        ratios(q, true),
        b[0],
        b[1],
        b[2]
    );
    print!("{summary}");
    if let Ok(path) = std::env::var("VIP_BENCH_REPORT") {
        std::fs::write(path, format!("{report}{summary}")).unwrap();
    }
}
