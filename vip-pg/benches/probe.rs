//! Probe round trip and memory, against the shell-script method, in the same run.
//!
//! `cargo bench -p vip-pg --features harness --bench probe` (root; uses vip_pg::harness).
//!
//! - vip: `PostgresProbe` / `RepmgrProbe` over their kept connection (prepared statements).
//! - script: `psql -t -c "SELECT active||type FROM repmgr.nodes WHERE node_name='node1'"` run as
//!   a subprocess once per check, as keepalived `vrrp_script`s and repmgr helper scripts do.
//!
//! Samples are taken in interleaved rounds so that load changes hit both sides alike; the figure
//! is the ratio of medians. Memory: VmRSS of this process before building the probes and after
//! building them and running them many times.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use vip_core::{Role, RoleProbe};
use vip_pg::harness::{ClusterBuilder, HarnessError};
use vip_pg::{NodeSelector, PostgresProbe, ProbeConfig, RepmgrProbe};

const ROUNDS: usize = 10;
const PROBES_PER_ROUND: usize = 300;
const PSQL_PER_ROUND: usize = 20;
const TIMEOUT: Duration = Duration::from_secs(2);

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo bench/test discovery
    }
    let cluster = match ClusterBuilder::primary_only().start() {
        Ok(c) => c,
        Err(HarnessError::Skip(reason)) => {
            println!("probe bench skipped: {reason}");
            return;
        }
        Err(e) => panic!("cluster: {e}"),
    };
    let node = cluster.primary().clone();
    println!("cluster bring-up: {:?}", cluster.bring_up_time());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let rss_before = vm_rss_kib();
    let settings = ProbeConfig::new(node.repmgr_conninfo()).timeout(TIMEOUT);
    // Build, connect and prepare (warm-up), one probe at a time, to see each one's cost.
    let pg = PostgresProbe::new(settings.clone()).unwrap();
    for _ in 0..100 {
        assert_eq!(rt.block_on(pg.probe(TIMEOUT)).role, Role::Primary);
    }
    let rss_pg = vm_rss_kib();
    let rm = RepmgrProbe::new(settings, NodeSelector::Name(node.name.clone())).unwrap();
    for _ in 0..100 {
        assert_eq!(rt.block_on(rm.probe(TIMEOUT)).role, Role::Primary);
    }
    let rss_connected = vm_rss_kib();

    let query = format!(
        "SELECT active||type FROM repmgr.nodes WHERE node_name='{}'",
        node.name
    );
    let (host, port) = (node.host.to_string(), node.port.to_string());
    let psql = || {
        let out = Command::new("psql")
            .args([
                "-h", &host, "-p", &port, "-U", "repmgr", "-d", "repmgr", "-t", "-c", &query,
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "trueprimary");
    };
    psql();

    let (mut pg_t, mut rm_t, mut psql_t) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for _ in 0..PROBES_PER_ROUND {
            let t0 = Instant::now();
            let r = rt.block_on(pg.probe(TIMEOUT));
            pg_t.push(t0.elapsed());
            assert_eq!(r.role, Role::Primary);
            let t0 = Instant::now();
            let r = rt.block_on(rm.probe(TIMEOUT));
            rm_t.push(t0.elapsed());
            assert_eq!(r.role, Role::Primary);
        }
        for _ in 0..PSQL_PER_ROUND {
            let t0 = Instant::now();
            psql();
            psql_t.push(t0.elapsed());
        }
    }
    let rss_after = vm_rss_kib();

    let (m_pg, m_rm, m_psql) = (median(&mut pg_t), median(&mut rm_t), median(&mut psql_t));
    println!(
        "samples: {} PostgresProbe, {} RepmgrProbe, {} psql",
        pg_t.len(),
        rm_t.len(),
        psql_t.len()
    );
    println!(
        "median PostgresProbe round trip (kept connection): {:9.1} us",
        micros(m_pg)
    );
    println!(
        "median RepmgrProbe round trip   (kept connection): {:9.1} us",
        micros(m_rm)
    );
    println!(
        "median psql -t -c subprocess per check:            {:9.1} us",
        micros(m_psql)
    );
    println!(
        "ratio PostgresProbe / psql: {:.4}",
        m_pg.as_secs_f64() / m_psql.as_secs_f64()
    );
    println!(
        "ratio RepmgrProbe   / psql: {:.4}",
        m_rm.as_secs_f64() / m_psql.as_secs_f64()
    );
    println!(
        "VmRSS: {rss_before} KiB before; +{} KiB after building and connecting PostgresProbe; +{} KiB \
         more for RepmgrProbe; {rss_after} KiB after {} probes in all: {} KiB for both probes",
        rss_pg.saturating_sub(rss_before),
        rss_connected.saturating_sub(rss_pg),
        2 * (ROUNDS * PROBES_PER_ROUND + 100),
        rss_after.saturating_sub(rss_before)
    );
    // For scale: the peak RSS of one psql check process (GNU time's %M, KiB).
    if std::path::Path::new("/usr/bin/time").exists() {
        let mut peaks: Vec<u64> = (0..5)
            .filter_map(|_| {
                let out = Command::new("/usr/bin/time")
                    .args([
                        "-f", "%M", "psql", "-h", &host, "-p", &port, "-U", "repmgr", "-d",
                        "repmgr", "-t", "-c", &query,
                    ])
                    .output()
                    .ok()?;
                String::from_utf8_lossy(&out.stderr)
                    .trim()
                    .lines()
                    .last()?
                    .trim()
                    .parse()
                    .ok()
            })
            .collect();
        peaks.sort_unstable();
        if let Some(p) = peaks.get(peaks.len() / 2) {
            println!("peak RSS of one psql check process: {p} KiB (spawned every check)");
        }
    }
    drop(cluster);
}
